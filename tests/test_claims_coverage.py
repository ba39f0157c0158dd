"""Every number the notes state is computed and asserted in some lesson cell.

``shared/claims.md`` numbers the notes' claims 1-39. The lessons do not say which claim
a check proves (such tags pointed readers to a file they do not have); this test keeps
the map instead: ``fixtures/claims_in_lessons.json`` lists, for every claim, the lesson
lines that compute and assert it (``[lesson file, source line]``). The test reads the
lessons as jupytext reads them (so a "cell" is exactly what a reader runs) and checks
that each listed line is still in a code cell of its lesson that asserts something, and
that every claim due has such a line. test_lessons.py executes those cells, so a covered
claim is one whose assertion passes in CI. A line edited in a lesson must be edited in
the map too: the test names the claim and the line it no longer finds.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext", reason="the lessons need the 'course' extra")

HERE = Path(__file__).resolve().parent
COURSE = HERE.parent / "course"
LESSONS = sorted(COURSE.glob("[0-9][0-9]_*.py"))
CLAIMS_IN_LESSONS = json.loads((HERE / "fixtures" / "claims_in_lessons.json").read_text())

ALL_CLAIMS = set(range(1, 40))
# Lessons 01-06 cover the overview, the conv layer, pooling and normalization (claims
# 1-24); lessons 07-11 FC->CONV, the patterns, the case studies and the memory
# calculator (claims 25-39). Every claim is due.
CLAIMS_DUE = ALL_CLAIMS

OLD_TAG = re.compile(r"#\s*claims?\s+\d+", re.IGNORECASE)


def cell_asserts(source: str) -> bool:
    """True if the cell has an ``assert`` statement or calls an ``assert*`` helper
    (``assert_close``, ``np.testing.assert_allclose``)."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert):
            return True
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name.startswith("assert"):
                return True
    return False


def asserting_code_lines(path: Path) -> set[str]:
    """The stripped source lines of the lesson's code cells that contain an assertion."""
    notebook = jupytext.read(path, fmt="py:percent")
    return {line.strip() for cell in notebook.cells
            if cell.cell_type == "code" and cell_asserts(cell.source)
            for line in cell.source.splitlines() if line.strip()}


def test_cell_asserts_sees_every_kind_of_check():
    assert cell_asserts("assert 1 == 1")
    assert cell_asserts("assert_close(a, b)")
    assert cell_asserts("np.testing.assert_allclose(a, b)")
    assert not cell_asserts("print('assert')")


def test_the_map_names_real_claims_and_lessons():
    lessons = {path.name for path in LESSONS}
    for claim, places in CLAIMS_IN_LESSONS.items():
        assert int(claim) in ALL_CLAIMS, f"unknown claim {claim}"
        for lesson, line in places:
            assert lesson in lessons, f"claim {claim}: no lesson {lesson}"
            assert line.strip() == line and line, f"claim {claim}: {line!r}"


def test_every_listed_line_is_in_an_asserting_code_cell():
    # A line edited or deleted in a lesson, or moved to a cell that checks nothing,
    # would count as coverage without this.
    lines = {path.name: asserting_code_lines(path) for path in LESSONS}
    lost = [f"claim {claim}: {lesson} has no asserting cell with the line {line!r}"
            for claim, places in CLAIMS_IN_LESSONS.items()
            for lesson, line in places if line not in lines.get(lesson, set())]
    assert not lost, "\n".join(lost)


def test_every_claim_due_is_computed_and_asserted():
    covered = {int(claim) for claim, places in CLAIMS_IN_LESSONS.items() if places}
    missing = sorted(CLAIMS_DUE - covered)
    assert not missing, f"claims not yet computed and asserted in any lesson: {missing}"


def test_lessons_carry_no_claim_tags():
    # The map lives here; a reader of the lessons has no use for "# claim 27".
    tagged = [f"{path.name}:{number}" for path in LESSONS
              for number, line in enumerate(path.read_text().splitlines(), 1)
              if OLD_TAG.search(line)]
    assert not tagged, tagged
