"""Every number the notes state is computed and asserted in some lesson cell.

``shared/claims.md`` numbers the notes' claims 1-39. A lesson cell that computes a
claim and asserts it carries a comment ``# claim N`` (or ``# claims N, M``). This
test reads the lessons as jupytext reads them (so a "cell" is exactly what a reader
runs), collects the tags of the code cells that contain an assertion, and checks
that every claim due so far is covered. test_lessons.py executes those cells, so a
covered claim is one whose assertion passes in CI.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext", reason="the lessons need the 'course' extra")

COURSE = Path(__file__).resolve().parent.parent / "course"
LESSONS = sorted(COURSE.glob("[0-9][0-9]_*.py"))

ALL_CLAIMS = set(range(1, 40))
# Lessons 01-06 cover the overview, the conv layer, pooling and normalization (claims
# 1-24); lessons 07-11 FC->CONV, the patterns, the case studies and the memory
# calculator (claims 25-39). Every claim is due.
CLAIMS_DUE = ALL_CLAIMS

TAG = re.compile(r"#\s*claims?\s+(\d+(?:\s*(?:,|and)\s*\d+)*)", re.IGNORECASE)


def cell_tags(source: str) -> set[int]:
    """Claim numbers tagged in a cell: ``# claim 3``, ``# claims 12, 13``."""
    numbers = set()
    for match in TAG.finditer(source):
        numbers.update(int(n) for n in re.findall(r"\d+", match.group(1)))
    return numbers


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


def tagged_cells():
    """(lesson file, cell index, tags, has an assertion) for every tagged code cell."""
    for path in LESSONS:
        notebook = jupytext.read(path, fmt="py:percent")
        for index, cell in enumerate(notebook.cells):
            tags = cell_tags(cell.source)
            if not tags:
                continue
            asserts = cell.cell_type == "code" and cell_asserts(cell.source)
            yield path.name, index, tags, asserts


def covered_claims() -> dict[int, list[str]]:
    """Claim -> the lesson cells that compute and assert it."""
    covered: dict[int, list[str]] = {}
    for name, index, tags, asserts in tagged_cells():
        if asserts:
            for claim in tags:
                covered.setdefault(claim, []).append(f"{name} cell {index}")
    return covered


def test_tag_parser():
    assert cell_tags("x = 1  # claim 3\nassert x") == {3}
    assert cell_tags("# claims 12, 13\n# claim 21") == {12, 13, 21}
    assert cell_tags("# claim 7 and 9") == {7, 9}
    assert cell_tags("# the claim is 3") == set()
    assert cell_asserts("assert 1 == 1")
    assert cell_asserts("assert_close(a, b)")
    assert cell_asserts("np.testing.assert_allclose(a, b)")
    assert not cell_asserts("print('assert')")


def test_tags_name_real_claims_in_asserting_code_cells():
    # A tag with a typo, or on a cell that checks nothing, would count as coverage.
    problems = []
    for name, index, tags, asserts in tagged_cells():
        if not tags <= ALL_CLAIMS:
            problems.append(f"{name} cell {index}: unknown claims {sorted(tags - ALL_CLAIMS)}")
        if not asserts:
            problems.append(f"{name} cell {index}: tags claims {sorted(tags)} "
                            f"but is not a code cell with an assert")
    assert not problems, "\n".join(problems)


def test_every_claim_due_is_computed_and_asserted():
    covered = covered_claims()
    missing = sorted(CLAIMS_DUE - covered.keys())
    assert not missing, f"claims not yet computed and asserted in any lesson: {missing}"
