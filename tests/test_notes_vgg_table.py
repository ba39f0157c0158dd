"""The notes' VGG-16 table, read as the notes print it, agrees with ``summarize``.

Lesson 9 compares its rows, typed as numbers, with ``summarize``. This test reads the
table's text itself (the layout of the notes, with a regular expression) so that a row
typed into the lesson differently from the notes would not go unnoticed, and checks the
weight formula of each row (``(3*3*64)*128``) against ``summarize``'s.
"""

from __future__ import annotations

import re

import numpy as np
from convnets import summarize, zoo

NOTES_TABLE = """\
INPUT: [224x224x3]        memory:  224*224*3=150K   weights: 0
CONV3-64: [224x224x64]  memory:  224*224*64=3.2M   weights: (3*3*3)*64 = 1,728
CONV3-64: [224x224x64]  memory:  224*224*64=3.2M   weights: (3*3*64)*64 = 36,864
POOL2: [112x112x64]  memory:  112*112*64=800K   weights: 0
CONV3-128: [112x112x128]  memory:  112*112*128=1.6M   weights: (3*3*64)*128 = 73,728
CONV3-128: [112x112x128]  memory:  112*112*128=1.6M   weights: (3*3*128)*128 = 147,456
POOL2: [56x56x128]  memory:  56*56*128=400K   weights: 0
CONV3-256: [56x56x256]  memory:  56*56*256=800K   weights: (3*3*128)*256 = 294,912
CONV3-256: [56x56x256]  memory:  56*56*256=800K   weights: (3*3*256)*256 = 589,824
CONV3-256: [56x56x256]  memory:  56*56*256=800K   weights: (3*3*256)*256 = 589,824
POOL2: [28x28x256]  memory:  28*28*256=200K   weights: 0
CONV3-512: [28x28x512]  memory:  28*28*512=400K   weights: (3*3*256)*512 = 1,179,648
CONV3-512: [28x28x512]  memory:  28*28*512=400K   weights: (3*3*512)*512 = 2,359,296
CONV3-512: [28x28x512]  memory:  28*28*512=400K   weights: (3*3*512)*512 = 2,359,296
POOL2: [14x14x512]  memory:  14*14*512=100K   weights: 0
CONV3-512: [14x14x512]  memory:  14*14*512=100K   weights: (3*3*512)*512 = 2,359,296
CONV3-512: [14x14x512]  memory:  14*14*512=100K   weights: (3*3*512)*512 = 2,359,296
CONV3-512: [14x14x512]  memory:  14*14*512=100K   weights: (3*3*512)*512 = 2,359,296
POOL2: [7x7x512]  memory:  7*7*512=25K  weights: 0
FC: [1x1x4096]  memory:  4096  weights: 7*7*512*4096 = 102,760,448
FC: [1x1x4096]  memory:  4096  weights: 4096*4096 = 16,777,216
FC: [1x1x1000]  memory:  1000 weights: 4096*1000 = 4,096,000
"""

ROW = re.compile(r"(?P<name>[\w-]+): \[(?P<w>\d+)x(?P<h>\d+)x(?P<c>\d+)\]\s+memory:\s+"
                 r"(?P<memory>[\d*]+)\S*\s+weights: (?:(?P<formula>\S+) = )?(?P<weights>[\d,]+)")


def test_every_row_of_the_notes_vgg16_table_is_what_summarize_computes():
    rows = summarize(zoo.get("vgg16")).rows
    lines = NOTES_TABLE.splitlines()
    assert len(lines) == len(rows) == 22
    for line, row in zip(lines, rows, strict=True):
        notes = ROW.match(line)
        assert notes, line
        assert row.name == notes["name"], line
        assert row.output_shape == (int(notes["c"]), int(notes["h"]), int(notes["w"])), line
        activations = int(np.prod([int(f) for f in notes["memory"].split("*")]))
        assert row.activations == activations, line
        assert row.weights == int(notes["weights"].replace(",", "")), line
        assert notes["formula"] is None or row.weights_formula == notes["formula"], line


def test_the_lesson_types_the_same_rows():
    # The lesson's NOTES_VGG16 (arithmetic as the notes write it) equals the text's rows.
    from pathlib import Path

    lesson = (Path(__file__).resolve().parents[1] / "course" / "09_case_studies.py").read_text()
    start = lesson.index("NOTES_VGG16 = [")
    source = lesson[start:lesson.index("\n]\n", start) + 3]
    namespace: dict = {}
    exec(compile(source, "lesson 9", "exec"), namespace)    # numbers and * only
    typed = namespace["NOTES_VGG16"]
    for line, (name, (w, h, d), activations, weights) in zip(
            NOTES_TABLE.splitlines(), typed, strict=True):
        notes = ROW.match(line)
        assert (name, w, h, d) == (notes["name"], int(notes["w"]), int(notes["h"]),
                                   int(notes["c"])), line
        assert activations == int(np.prod([int(f) for f in notes["memory"].split("*")])), line
        assert weights == int(notes["weights"].replace(",", "")), line
