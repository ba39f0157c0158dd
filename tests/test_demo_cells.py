"""The grader leaves out the source's demonstration cells (locked, ungraded, grade_id
``demo_*``: a photo through the student's convolution, a speed comparison): they only
show something to the student. Only the instructor's code is ever left out."""

from autograder.execute import student_cells


def _cell(source, **nbgrader):
    meta = {"nbgrader": {"schema_version": 3, **nbgrader}} if nbgrader else {}
    return {"cell_type": "code", "execution_count": None, "metadata": meta, "outputs": [],
            "source": source}


def _nb(*cells):
    return {"cells": list(cells), "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


DEMO = dict(grade=False, solution=False, locked=True, grade_id="demo_photo")
SOURCE = _nb(_cell("import numpy as np", grade=False, solution=False, locked=True,
                   grade_id="setup"),
             _cell("def f(x):\n    return x", grade=False, solution=True, locked=False,
                   grade_id="answer_f"),
             _cell("show(f(photo))", **DEMO),
             _cell("assert f(1) == 1", grade=True, solution=False, locked=True,
                   grade_id="test_f", points=1))


def codes(submission):
    return [code for _, code in student_cells(submission, {"test_f"}, SOURCE)]


def test_the_sources_demo_cell_is_not_run():
    assert codes(SOURCE) == ["import numpy as np", "def f(x):\n    return x"]


def test_a_student_cannot_make_their_own_code_skipped():
    # Posing as the demo cell: it gets the source's code (then left out), and the
    # student's code in the real demo cell, now a plain cell, runs.
    forged = _nb(SOURCE["cells"][0], SOURCE["cells"][1],
                 _cell("steal()", **DEMO), _cell("show(f(photo)); cheat()", **DEMO))
    assert codes(forged) == ["import numpy as np", "def f(x):\n    return x",
                             "show(f(photo)); cheat()"]
    # A demo_* grade_id the source does not have is no role at all.
    other = _nb(*SOURCE["cells"][:2], _cell("mine()", **{**DEMO, "grade_id": "demo_mine"}))
    assert codes(other)[-1] == "mine()"
    # An answer renamed demo_photo is a locked cell's claim: it gets the source's code
    # (as any cell posing as a locked one does), and the answer comes back empty.
    answer = _nb(SOURCE["cells"][0], _cell("def f(x):\n    return 2 * x", grade=False,
                                           solution=True, locked=True, grade_id="demo_photo"))
    assert codes(answer) == ["import numpy as np", ""]


def test_without_a_source_every_cell_runs():
    assert "show(f(photo))" in [c for _, c in student_cells(SOURCE, {"test_f"})]
