"""The grading pipeline end to end on a toy assignment: collect, sandboxed grading,
nbgrader's gradebook and feedback, the CSV and its statuses, the command line."""

import csv
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from toy_course import toy_course

from autograder import course as course_mod
from autograder import pipeline

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """A built course with the toy assignment, and a submissions folder."""
    with toy_course(tmp_path_factory.mktemp("toy")) as built:
        yield built


def _notebook(toy, student):
    return toy["subs"] / student / "toy" / "toy.ipynb"


def _add_student(toy, student, nb=None, name="toy.ipynb", text=None):
    folder = toy["subs"] / student / "toy"
    folder.mkdir(parents=True, exist_ok=True)
    if text is not None:
        (folder / name).write_text(text)
    elif nb is not None:
        nbformat.write(nb, folder / name)
    return folder


def _reference(toy):
    return nbformat.read(_notebook(toy, "reference"), as_version=4)


def _answer_cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


@pytest.fixture(scope="module")
def graded(toy):
    """Grade a class with honest, broken and edge-case submissions once."""
    ref = _reference(toy)

    # Honest students are never hurt: warnings, stderr, extra and reordered cells.
    noisy = nbformat.from_dict(ref)
    noisy.cells.insert(2, nbformat.v4.new_code_cell(
        "import sys, warnings\nwarnings.warn('careful')\nprint('to stderr', file=sys.stderr)\n"
        "import numpy as np\nnp.log(np.zeros(1))\n"))
    noisy.cells.append(nbformat.v4.new_code_cell("print('my own extra cell')"))
    _add_student(toy, "noisy", noisy)

    reordered = nbformat.from_dict(ref)
    reordered.cells = list(reversed(reordered.cells))
    _add_student(toy, "reordered", reordered)

    renamed = _add_student(toy, "renamed", ref, name="toy-Copy1.ipynb")
    assert renamed.is_dir()
    _add_student(toy, "broken_json", text='{"cells": [ this is not json')
    (toy["subs"] / "missing" / "toy").mkdir(parents=True)
    _add_student(toy, "two_notebooks", ref, name="a.ipynb")
    _add_student(toy, "two_notebooks", ref, name="b.ipynb")

    # Editing, deleting or duplicating test cells earns nothing.
    cheat = nbformat.from_dict(_reference(toy))
    _answer_cell(cheat, "answer_double").source = "def double(x):\n    return x\n"
    test = _answer_cell(cheat, "test_double")
    test.source = "pass"
    test.metadata["nbgrader"]["points"] = 100
    copy = nbformat.from_dict(test)
    copy.id = "pasted-test-cell"          # Jupyter gives a pasted cell a new id
    cheat.cells.append(copy)
    cheat.cells = [c for c in cheat.cells
                   if c.metadata.get("nbgrader", {}).get("grade_id") != "test_scaler"]
    _add_student(toy, "cheat", cheat)

    # Monkeypatching the test helpers in the student's process changes nothing.
    patcher = nbformat.from_dict(_reference(toy))
    _answer_cell(patcher, "answer_double").source = (
        "import numpy as np, checks\n"
        "np.allclose = lambda *a, **k: True\n"
        "checks.check_close = lambda *a, **k: None\n"
        "class Anything:\n    def __eq__(self, other):\n        return True\n"
        "def double(x):\n    return Anything()\n")
    _add_student(toy, "patcher", patcher)

    path = pipeline.grade_assignment(toy["course"], "toy", toy["subs"], workers=2,
                                     progress=False)
    with open(path, newline="") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    return path, rows


def test_csv_has_the_contract_columns(graded):
    path, rows = graded
    with open(path, newline="") as f:
        header = next(csv.reader(f))
    assert header[:5] == ["student_id", "assignment", "score", "max_score", "status"]
    assert all(r["assignment"] == "toy" and float(r["max_score"]) == 5 for r in rows.values())


@pytest.mark.parametrize("student, score", [
    ("reference", 5), ("blank", 0), ("partial", 2), ("noisy", 5), ("reordered", 5),
    ("renamed", 5), ("cheat", 3), ("patcher", 3),
])
def test_scores(graded, student, score):
    row = graded[1][student]
    assert float(row["score"]) == score, row
    assert row["status"] == "graded", row


def test_renamed_notebook_is_graded_and_said_so(graded):
    assert "toy-Copy1.ipynb" in graded[1]["renamed"]["message"]


@pytest.mark.parametrize("student, status, words", [
    ("broken_json", "invalid notebook", "not valid"),
    ("missing", "missing notebook", "no notebook"),
    ("two_notebooks", "missing notebook", "a.ipynb, b.ipynb"),
])
def test_broken_submissions_get_a_status_not_a_silent_zero(graded, student, status, words):
    row = graded[1][student]
    assert row["status"] == status and float(row["score"]) == 0
    assert words in row["message"]


def test_gradebook_agrees_with_the_csv(graded, toy):
    scores = pipeline.gradebook_scores(toy["course"], "toy")
    for student, row in graded[1].items():
        if row["status"] == "graded":
            assert scores[student] == float(row["score"])


def test_feedback_shows_points_and_messages_but_no_hidden_tests(graded, toy):
    html = (toy["course"] / "feedback" / "patcher" / "toy" / "toy.html").read_text()
    assert "double on a random array" not in html or "BEGIN HIDDEN" not in html
    assert "BEGIN HIDDEN" not in html and "hidden_rng" not in html
    assert "AssertionError" in html and "expected an array" in html
    ref_html = (toy["course"] / "feedback" / "reference" / "toy" / "toy.html").read_text()
    assert "ok: double([0, 1, 2]) matches" in ref_html


def test_autograded_results_are_plain_json(graded, toy):
    result = json.loads((toy["course"] / "results" / "toy" / "reference.json").read_text())
    assert result["score"] == 5 and result["status"] == "graded"
    assert set(result["tests"]) == {"test_double", "test_scaler"}


def test_export_and_table(graded, toy):
    path = pipeline.export_all(toy["course"])
    table = pipeline.gradebook_table(path)
    assert "reference" in table and "5/5" in table
    assert "(invalid notebook)" in table


def test_unknown_assignment_and_empty_folder(toy, tmp_path):
    with pytest.raises(course_mod.CourseError, match="unknown assignment 'nope'.*toy"):
        pipeline.grade_assignment(toy["course"], "nope", toy["subs"], progress=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(course_mod.CourseError, match="no student folders"):
        pipeline.grade_assignment(toy["course"], "toy", empty, progress=False)


def test_lms_zip_download(toy, tmp_path):
    archive = tmp_path / "download.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(_notebook(toy, "reference"), "alice_12345_toy.ipynb")
        zf.write(_notebook(toy, "blank"), "bob_67890_toy.ipynb")
    path = pipeline.grade_assignment(toy["course"], "toy", archive, workers=1,
                                     progress=False, feedback=False)
    with open(path, newline="") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    assert float(rows["alice"]["score"]) == 5 and float(rows["bob"]["score"]) == 0


def test_command_line_prints_the_grades_path(toy, tmp_path):
    subs = tmp_path / "subs"
    shutil.copytree(toy["subs"] / "reference", subs / "reference")
    env = {**os.environ, "AUTOGRADER_ASSIGNMENTS": str(toy["assignments"])}
    proc = subprocess.run(
        [sys.executable, "-m", "autograder", "--course", str(toy["course"]), "grade", "toy",
         str(subs), "--workers", "1", "--no-feedback", "--no-progress"],
        capture_output=True, text=True, env=env, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith("grades: ") and Path(last[len("grades: "):]).is_file()


def test_command_line_help_and_errors(toy):
    proc = subprocess.run([sys.executable, "-m", "autograder", "--help"],
                          capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0
    for command in ("build", "grade", "feedback", "export", "validate", "demo"):
        assert command in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", "nope", "."],
                          capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 2 and "unknown assignment 'nope'" in proc.stderr
