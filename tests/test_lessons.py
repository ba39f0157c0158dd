"""Every lesson in ``course/`` runs from a clean kernel without an error or a failed assert.

The lessons are stored as text (jupytext "percent" format, ``course/NN_name.py``) and
without outputs. Each test converts one lesson to a notebook with jupytext and executes
it with nbclient in a fresh kernel, the way a reader's "Restart and run all" would. A
failing cell fails the test with the lesson's name, the cell's source and the error.

No global state: the kernel is ipykernel in the interpreter running the tests (so
``.venv/bin/python -m pytest`` runs the lessons against this checkout's ``convnets``
whatever kernels are installed elsewhere), its connection files go to a temporary
runtime directory, its working directory is a temporary directory (nothing a lesson
might write lands in the repository), and matplotlib uses the Agg backend. Each lesson is
executed once per session (``lesson_runs.run_lesson``), shared with test_figure_style.py.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext", reason="the lessons need the 'course' extra")
nbclient = pytest.importorskip("nbclient", reason="the lessons need the 'course' extra")
nbformat = pytest.importorskip("nbformat", reason="the lessons need the 'course' extra")

from lesson_runs import (  # noqa: E402
    EXERCISE_AUDIT,
    LessonFailed,
    execute_lesson,
    read_lesson,
    run_lesson,
    stream_text,
)
from text_notebooks import NO_VERSION_FILTER, in_jupytext_form  # noqa: E402

COURSE = Path(__file__).resolve().parent.parent / "course"
LESSONS = sorted(COURSE.glob("[0-9][0-9]_*.py"))


@pytest.fixture
def clean_environment(tmp_path, monkeypatch):
    """Agg backend, connection files and working directory in tmp_path."""
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    work = tmp_path / "work"
    work.mkdir()
    return work


def test_there_are_lessons():
    assert len(LESSONS) >= 6, f"expected the lessons in {COURSE}, found {LESSONS}"


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_runs_from_a_clean_kernel(path):
    start = time.perf_counter()
    try:
        run = run_lesson(path, extra_cells=(EXERCISE_AUDIT,))
    except LessonFailed as err:
        pytest.fail(str(err), pytrace=False)
    print(f"{path.name}: {time.perf_counter() - start:.1f} s")
    # The exercises: checked right and wrong answers in the audit cell; in the lesson,
    # run unanswered, each said "not answered yet", and no solution was printed.
    notebook, (audit,) = run.notebook, run.extra
    solutions = json.loads(stream_text(audit).strip().splitlines()[-1])
    printed = "".join(stream_text(cell) for cell in notebook.cells)
    assert printed.count("not answered yet") == len(solutions), path.name
    assert not [s for s in solutions if s in printed], f"{path.name} prints a solution"
    # Every code cell ran, and the lesson wrote nothing into the course folder.
    code_cells = [c for c in notebook.cells if c.cell_type == "code" and c.source.strip()]
    assert code_cells, f"{path.name} has no code cells"
    assert all(c.get("execution_count") for c in code_cells)
    assert not run.wrote_into_course, f"{path.name} wrote into {COURSE}"


BROKEN_LESSON = """\
# %% [markdown]
# # A lesson with a wrong claim

# %%
import sys

import convnets

assert sys.executable == {executable!r}, sys.executable
assert convnets.__file__.startswith({package!r}), convnets.__file__
value = 3

# %%
assert value == 4, "the notes say 4"
"""


def test_a_failing_cell_fails_the_lesson_with_its_source_and_error(tmp_path,
                                                                    clean_environment):
    # The machinery itself: the kernel is this interpreter with this checkout's
    # convnets (the first cell passes), and a failed assert is reported with the cell.
    convnets = pytest.importorskip("convnets")
    package = str(Path(convnets.__file__).parent)
    path = tmp_path / "99_broken.py"
    path.write_text(BROKEN_LESSON.format(executable=sys.executable, package=package))
    with pytest.raises(LessonFailed) as failure:
        execute_lesson(path, clean_environment)
    message = str(failure.value)
    assert message.startswith("99_broken.py failed:")
    assert 'assert value == 4, "the notes say 4"' in message
    assert "AssertionError: the notes say 4" in message
    assert "\x1b[" not in message
    assert "sys.executable" not in message.split("------------------")[1]


def test_lessons_are_stored_without_outputs():
    # The lessons are text; a notebook copy next to them (e.g. saved from JupyterLab)
    # must not carry outputs into the repository.
    for notebook_path in COURSE.rglob("*.ipynb"):
        if ".ipynb_checkpoints" in notebook_path.parts:
            continue
        notebook = json.loads(notebook_path.read_text(encoding="utf-8"))
        for cell in notebook.get("cells", []):
            assert not cell.get("outputs"), f"{notebook_path} is stored with outputs"
            assert cell.get("execution_count") is None, \
                f"{notebook_path} is stored with execution counts"


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_opens_as_a_notebook(path):
    # The jupytext header names the format and a Python kernel, so JupyterLab (with
    # jupytext) opens the file as a notebook; the lesson starts with a title.
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# ---\n# jupyter:\n"), f"{path.name}: no jupytext header"
    notebook = read_lesson(path)
    assert notebook.metadata["jupytext"]["text_representation"]["format_name"] == "percent"
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    first = notebook.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# "), \
        f"{path.name}: the first cell should be a markdown title"
    # Stored as jupytext writes it, so saving from JupyterLab changes no cell; the header
    # asks jupytext not to stamp its own version, so a new release changes no line either.
    assert in_jupytext_form(text), \
        f"{path.name} is not in jupytext's canonical form (run jupytext --to py:percent)"
    assert notebook.metadata["jupytext"].get("notebook_metadata_filter") == NO_VERSION_FILTER, \
        f"{path.name}: the header should say notebook_metadata_filter: {NO_VERSION_FILTER}"
    assert not re.search(r"^#\s+jupytext_version:", text, re.M), \
        f"{path.name} stores jupytext's version in its header"


def test_a_version_stamp_from_another_jupytext_is_not_a_difference():
    # A lesson saved by an older or newer jupytext carries that version's stamp (or none):
    # still the same lesson. A changed cell is a difference.
    text = LESSONS[0].read_text(encoding="utf-8")
    stamped = text.replace("#       format_version: '1.3'\n",
                           "#       format_version: '1.3'\n#       jupytext_version: 1.16.0\n")
    assert stamped != text and in_jupytext_form(stamped)
    # Two cells run together (no blank line between them): jupytext would rewrite that.
    squeezed = text.replace("\n\n# %%", "\n# %%", 1)
    assert squeezed != text and not in_jupytext_form(squeezed)


@pytest.mark.parametrize("path", LESSONS[:2], ids=[p.stem for p in LESSONS[:2]])
def test_saving_from_jupyterlab_rewrites_nothing(path, tmp_path):
    # JupyterLab with jupytext saves the notebook it holds back to the paired text file:
    # through .ipynb and back, the file comes out byte for byte the same.
    nbformat = pytest.importorskip("nbformat")
    notebook = read_lesson(path)
    nbformat.write(notebook, tmp_path / "lesson.ipynb")
    reopened = jupytext.read(tmp_path / "lesson.ipynb")
    assert jupytext.writes(reopened, fmt="py:percent") == path.read_text(encoding="utf-8")


def test_readme_indexes_every_lesson():
    index = (COURSE / "README.md").read_text(encoding="utf-8")
    for path in LESSONS:
        assert path.name in index, f"course/README.md does not list {path.name}"


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_every_lesson_ends_with_two_to_four_exercises(path):
    # Read from the source: a set-up cell (collapsed in JupyterLab) registers 2-4
    # exercises, numbered 1, 2, ...; a later cell answers each with None.
    notebook = read_lesson(path)
    sources = [cell.source for cell in notebook.cells]
    setup = [i for i, cell in enumerate(notebook.cells) if "exercises.add(" in cell.source]
    assert len(setup) == 1, f"{path.name}: expected one cell setting up the exercises"
    numbers = [int(n) for n in re.findall(r"exercises\.add\((\d+),", sources[setup[0]])]
    assert 2 <= len(numbers) <= 4 and numbers == list(range(1, len(numbers) + 1)), numbers
    assert notebook.cells[setup[0]].metadata.get("jupyter", {}).get("source_hidden"), \
        f"{path.name}: the exercises' set-up cell (with the solutions) should be collapsed"
    answered = re.findall(r"^exercises\.answer\((\d+), None\)", "\n".join(sources[setup[0]:]),
                          flags=re.M)
    assert [int(n) for n in answered] == numbers, f"{path.name}: answer cells {answered}"
    assert "## Exercises" in "\n".join(sources[:setup[0]]), path.name


# The lesson that teaches each of these functions; no lesson's code uses one before.
# (conv_forward_fast and max_pool_forward_fast are the exceptions: lesson 1 introduces
# them as the layers' forward passes, black boxes until lessons 2-6 open them.)
TAUGHT_IN = {"im2col": 5, "col2im": 5, "conv_backward_fast": 5,
             "max_pool_backward_fast": 6, "lrn_forward": 6, "spatial_batchnorm_forward": 6,
             "fc_to_conv": 7, "dense_scores": 7, "Solver": 11, "ThreeLayerConvNet": 11}


def test_no_lesson_uses_a_function_before_the_lesson_that_teaches_it():
    early = []
    for path in LESSONS:
        number = int(path.name[:2])
        code = "\n".join(cell.source for cell in read_lesson(path).cells
                         if cell.cell_type == "code")
        early += [f"{path.name} uses {name} (taught in lesson {lesson})"
                  for name, lesson in TAUGHT_IN.items()
                  if number < lesson and re.search(rf"\b{name}\b", code)]
    assert not early, early


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_every_lesson_ends_with_a_summary_then_its_exercises(path):
    # After the teaching sections (and an optional "Going further"), a "## Summary"
    # cell, then "## Exercises" and nothing but the exercises.
    cells = read_lesson(path).cells
    headings = [i for i, cell in enumerate(cells) if cell.cell_type == "markdown"
                and cell.source.startswith("## ")]
    exercises = [i for i in headings if cells[i].source.startswith("## Exercises")]
    assert len(exercises) == 1 and exercises[0] == headings[-1], \
        f"{path.name}: '## Exercises' should be the last section"
    before = [c for c in cells[:exercises[0]] if c.cell_type == "markdown"][-1]
    assert before.source.startswith("## Summary"), \
        f"{path.name}: the cell before the exercises should be '## Summary'"
    going_further = [i for i in headings if cells[i].source.startswith("## Going further")]
    assert all(i > max(j for j in headings if re.match(r"## \d+\.", cells[j].source))
               for i in going_further), f"{path.name}: 'Going further' comes after the lesson"
