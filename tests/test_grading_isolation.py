"""One student's failure is that student's status, never the class's (issue 12).

On the toy assignment, through the real pipeline and the command line: nbgrader's own
marker text and terminal escapes in a submission, a stage failing for one student, a
course folder poisoned by an earlier run, reruns, regrading one student, a second batch,
and the documented exit statuses of ``python -m autograder grade``.
"""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from toy_course import toy_course

from autograder import course as course_mod
from autograder import pipeline

REPO = Path(__file__).resolve().parents[1]
LIMITS = {"call_timeout": 10.0, "submission_timeout": 30.0, "memory_bytes": 1536 * 1024**2}
MARKERS = ["### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS",
           "### END HIDDEN TESTS", "# YOUR CODE HERE", "raise NotImplementedError()"]


def _reference(built):
    return nbformat.read(built["subs"] / "reference" / "toy" / "toy.ipynb", as_version=4)


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _write(subs, student, nb):
    folder = subs / student / "toy"
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / "toy.ipynb")


def _rows(path):
    with open(path, newline="") as f:
        return {r["student_id"]: r for r in csv.DictReader(f)}


def _grade_cli(built, subs, *extra):
    env = {**os.environ, "AUTOGRADER_ASSIGNMENTS": str(built["assignments"])}
    return subprocess.run(
        [sys.executable, "-m", "autograder", "--course", str(built["course"]), "grade",
         "toy", str(subs), "--workers", "2", "--timeout", "10", "--memory", "1536",
         "--no-progress", *extra], capture_output=True, text=True, env=env, cwd=REPO,
        timeout=600)


def _marker_students(built):
    """Submissions whose text holds what nbgrader parses, or what a terminal obeys."""
    ref = _reference(built)
    students = {}
    unbalanced = nbformat.from_dict(ref)
    _cell(unbalanced, "answer_double").source = (
        "# BEGIN HIDDEN TESTS  (my notes: no END here)\n"
        "NOTE = '### BEGIN SOLUTION'\n" + _cell(ref, "answer_double").source)
    students["marker_answer"] = unbalanced
    everywhere = nbformat.from_dict(ref)
    everywhere.cells.insert(1, nbformat.v4.new_markdown_cell(
        "My notes\n" + "\n".join(MARKERS) + "\nBEGIN HIDDEN TESTS"))
    everywhere.cells.append(nbformat.v4.new_code_cell(
        "print('BEGIN HIDDEN TESTS')\nprint('### BEGIN SOLUTION')"))
    everywhere.metadata["nbgrader"] = {"note": "### BEGIN HIDDEN TESTS"}
    for cell in everywhere.cells:
        cell.metadata.setdefault("tags", []).append("BEGIN HIDDEN TESTS")
    students["marker_everywhere"] = everywhere
    ansi = nbformat.from_dict(ref)
    _cell(ansi, "answer_double").source += (
        "\nprint('\\x1b[38m\\x1b]0;title\\x07\\x1b[2J\\r\\x00\\x9b31m')\n")
    ansi.cells.append(nbformat.v4.new_code_cell(
        "raise ValueError('\\x1b[38m bad \\x1b[999;999H')"))
    students["ansi"] = ansi
    return students


@pytest.fixture(scope="module")
def marked(tmp_path_factory):
    """A class with the marker and escape submissions, graded once by the CLI."""
    with toy_course(tmp_path_factory.mktemp("marked")) as built:
        for student, nb in _marker_students(built).items():
            _write(built["subs"], student, nb)
        proc = _grade_cli(built, built["subs"])
        yield {**built, "proc": proc}


def test_marker_text_and_escapes_do_not_stop_the_class(marked):
    proc = marked["proc"]
    assert proc.returncode == 0, proc.stderr[-3000:]
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith("grades: ")
    rows = _rows(last[len("grades: "):])
    assert set(rows) == {"reference", "blank", "partial", "marker_answer",
                         "marker_everywhere", "ansi"}
    for student in ("reference", "marker_answer", "marker_everywhere", "ansi"):
        assert (rows[student]["status"], float(rows[student]["score"])) == ("graded", 5.0), \
            rows[student]
        page = marked["course"] / "feedback" / student / "toy" / "toy.html"
        assert page.is_file(), student


def test_feedback_shows_the_students_own_text_never_the_hidden_tests(marked):
    course = marked["course"]
    hidden = (course / "source" / "toy" / "toy.ipynb").read_text()
    assert "hidden_rng" in hidden or "BEGIN HIDDEN TESTS" in hidden
    for student in ("marker_answer", "marker_everywhere", "ansi", "reference"):
        html = (course / "feedback" / student / "toy" / "toy.html").read_text()
        assert "hidden_rng" not in html, student
    html = (course / "feedback" / "marker_answer" / "toy" / "toy.html").read_text()
    assert "no END here" in html          # their own comment, shown
    html = (course / "feedback" / "marker_everywhere" / "toy" / "toy.html").read_text()
    assert "My notes" in html


def test_escapes_reach_no_program_as_control_characters(marked):
    course = marked["course"]
    html = (course / "feedback" / "ansi" / "toy" / "toy.html").read_text()
    assert "\x1b" not in html and "\x00" not in html and "\x9b" not in html
    assert "\\x1b[38m" in html            # shown, inert
    autograded = (course / "autograded" / "ansi" / "toy" / "toy.ipynb").read_text()
    outputs = json.dumps([c.get("outputs", []) for c in json.loads(autograded)["cells"]],
                         ensure_ascii=False)
    assert "\x1b" not in outputs
    assert "\x1b" not in marked["proc"].stdout and "\x1b" not in marked["proc"].stderr
    rows = _rows(course / "grades" / "toy.csv")
    assert all("\x1b" not in r["message"] for r in rows.values())


def test_exit_status_one_and_two(tmp_path):
    with toy_course(tmp_path) as built:
        subs = built["subs"]
        (subs / "nobody" / "toy").mkdir(parents=True)
        proc = _grade_cli(built, subs)
        assert proc.returncode == 1, proc.stderr[-2000:]
        assert proc.stdout.strip().splitlines()[-1].startswith("grades: ")
        rows = _rows(built["course"] / "grades" / "toy.csv")
        assert rows["nobody"]["status"] == "missing notebook"
        assert rows["reference"]["status"] == "graded"

        empty = tmp_path / "nothing"
        (empty / "ghost" / "toy").mkdir(parents=True)
        (empty / "junk" / "toy").mkdir(parents=True)
        (empty / "junk" / "toy" / "toy.ipynb").write_text("{ not json")
        proc = _grade_cli(built, empty)
        assert proc.returncode == 2
        errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "could be graded" in errors[0], proc.stderr
        assert "grades:" not in proc.stdout


def test_a_failing_stage_fails_one_student(tmp_path, monkeypatch):
    # nbgrader failing on one student's feedback, and on another's record: those two get
    # a status, everyone else is graded and fed back as if they were absent.
    real_feedback = course_mod.NbgraderInProcess.feedback
    real_autograde = course_mod.NbgraderInProcess.autograde

    def feedback(self, assignment, student):
        if student == "partial":
            return "RuntimeError: the renderer broke"
        return real_feedback(self, assignment, student)

    def autograde(self, assignment, student):
        if student == "blank":
            return "RuntimeError: the gradebook refused it"
        return real_autograde(self, assignment, student)

    with toy_course(tmp_path) as built:
        monkeypatch.setattr(course_mod.NbgraderInProcess, "feedback", feedback)
        monkeypatch.setattr(course_mod.NbgraderInProcess, "autograde", autograde)
        batch = pipeline.grade_batch(built["course"], "toy", built["subs"], workers=2,
                                     limits=LIMITS, progress=False)
        rows = {r["student_id"]: r for r in batch.rows}
        assert rows["partial"]["status"] == "feedback failed"
        assert "renderer broke" in rows["partial"]["message"]
        assert float(rows["partial"]["score"]) > 0          # the score stands
        assert rows["blank"]["status"] == "grader error"
        assert "gradebook refused" in rows["blank"]["message"]
        assert rows["reference"]["status"] == "graded"
        assert float(rows["reference"]["score"]) == 5.0
        fb = built["course"] / "feedback"
        assert (fb / "reference" / "toy" / "toy.html").is_file()
        assert not (fb / "partial" / "toy").exists()
        assert batch.exit_status == 1


def test_a_poisoned_course_recovers_and_reruns_are_idempotent(tmp_path):
    with toy_course(tmp_path) as built:
        course, subs = built["course"], built["subs"]
        first = pipeline.grade_batch(course, "toy", subs, workers=2, limits=LIMITS,
                                     progress=False)
        # What a crashed or poisoned run could leave: a broken autograded notebook, an
        # autograded copy with an unmatched hidden-test marker in a test cell, a stray
        # half-written result and a read-only feedback folder.
        (course / "autograded" / "blank" / "toy" / "toy.ipynb").chmod(0o644)
        (course / "autograded" / "blank" / "toy" / "toy.ipynb").write_text("{ truncated")
        poisoned = course / "autograded" / "partial" / "toy" / "toy.ipynb"
        poisoned.chmod(0o644)
        nb = json.loads(poisoned.read_text())
        for cell in nb["cells"]:
            if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "test_double":
                cell["source"] = "### BEGIN HIDDEN TESTS\nassert False\n"
        poisoned.write_text(json.dumps(nb))
        (course / "results" / "toy" / "reference.json").write_text('{"half": ')
        (course / "feedback" / "reference" / "toy").chmod(0o555)
        second = pipeline.grade_batch(course, "toy", subs, workers=2, limits=LIMITS,
                                      progress=False)
        assert second.exit_status == first.exit_status == 0
        assert [(r["student_id"], r["score"], r["status"]) for r in second.rows] == \
            [(r["student_id"], r["score"], r["status"]) for r in first.rows]
        for student in ("reference", "blank", "partial"):
            assert (course / "feedback" / student / "toy" / "toy.html").is_file()
        html = (course / "feedback" / "partial" / "toy" / "toy.html").read_text()
        assert "hidden_rng" not in html
        # A third run on the same submissions changes no row.
        third = pipeline.grade_batch(course, "toy", subs, workers=2, limits=LIMITS,
                                     progress=False)
        assert third.rows == second.rows
        assert _rows(third.csv) == _rows(second.csv)


def test_regrade_one_student_and_a_second_batch_keep_the_others(tmp_path):
    with toy_course(tmp_path) as built:
        course, subs = built["course"], built["subs"]
        pipeline.grade_batch(course, "toy", subs, workers=2, limits=LIMITS, progress=False)
        before = _rows(course / "grades" / "toy.csv")
        kept = {s: (course / "feedback" / s / "toy" / "toy.html").read_bytes()
                for s in ("reference", "partial")}
        scores_before = pipeline.gradebook_scores(course, "toy")

        # The blank student resubmits a full solution; regrade only them.
        _write(subs, "blank", _reference(built))
        proc = _grade_cli(built, subs, "--student", "blank")
        assert proc.returncode == 0, proc.stderr[-2000:]
        after = _rows(course / "grades" / "toy.csv")
        assert after["blank"]["score"] == "5.0" and before["blank"]["score"] == "0.0"
        assert {s: after[s] for s in ("reference", "partial")} == \
            {s: before[s] for s in ("reference", "partial")}
        for student, page in kept.items():
            assert (course / "feedback" / student / "toy" / "toy.html").read_bytes() == page
        scores = pipeline.gradebook_scores(course, "toy")
        assert scores["blank"] == 5.0
        assert {s: scores[s] for s in ("reference", "partial")} == \
            {s: scores_before[s] for s in ("reference", "partial")}

        # An unknown student is an error naming them; nothing is graded.
        proc = _grade_cli(built, subs, "--student", "nobody")
        assert proc.returncode == 2 and "'nobody'" in proc.stderr

        # A second batch (late work of one new student) keeps the earlier students.
        late = tmp_path / "late"
        _write(late, "latecomer", _reference(built))
        batch = pipeline.grade_batch(course, "toy", late, workers=1, limits=LIMITS,
                                     progress=False)
        assert [r["student_id"] for r in batch.rows] == ["latecomer"]
        rows = _rows(batch.csv)
        assert set(rows) == {"reference", "blank", "partial", "latecomer"}
        for student in ("reference", "blank", "partial"):
            assert (course / "submitted" / student / "toy" / "toy.ipynb").is_file()
            assert (course / "feedback" / student / "toy" / "toy.html").is_file()
        assert set(pipeline.gradebook_scores(course, "toy")) >= set(rows)


def test_hidden_cases_follow_the_submitted_bytes():
    # The same bytes regraded meet the same hidden cases; one byte changed, new ones
    # (answers learnt from one round's feedback do not carry over to a resubmission).
    from autograder.execute import grading_seed

    notebook = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
    seed = grading_seed("ana", "conv_naive", "salt", notebook)
    assert grading_seed("ana", "conv_naive", "salt", notebook) == seed
    assert grading_seed("ana", "conv_naive", "salt", notebook + b"\n") != seed
    assert grading_seed("ben", "conv_naive", "salt", notebook) != seed
    assert grading_seed("ana", "conv_naive", "other salt", notebook) != seed


def test_student_ids_and_text_are_shown_inert():
    from autograder.inert import inert_line, inert_text, shown_id

    assert inert_text("ok\tline\n\x1b[38m\x00\x9b\r\udce9") == \
        "ok\tline\n\\x1b[38m\\x00\\x9b\\x0d\\udce9"
    assert inert_line("a\nb\tc" + "x" * 600, 40).startswith("a b c") and \
        inert_line("y" * 600, 40).endswith("[cut]")
    ids = ["ana", "tab\tid", "new\nline", "back\\slash", "\x1b[38m", "caf\udce9", "back\\\\slash"]
    shown = [shown_id(s) for s in ids]
    assert len(set(shown)) == len(ids)                      # two folders never share a row
    assert all(s.isprintable() for s in shown)
    assert shown[:2] == ["ana", "tab\\tid"]


def test_markdown_that_would_stall_the_renderer_is_cut():
    # nbconvert's markdown parser is quadratic on long runs of blanks (a heading, 40,000
    # spaces, a word: 20 s) and slow on 10 MB cells: staging cuts both, and says so.
    from autograder.execute import MAX_MARKDOWN_CHARS, _plain_cell
    from autograder.inert import MAX_BLANK_RUN, inert_markdown

    text = inert_markdown("# heading" + " " * 40_000 + "word\tand" + "\t" * 500 + "tab")
    assert "heading" + " " * MAX_BLANK_RUN + "word" in text
    assert " " * (MAX_BLANK_RUN + 1) not in text and "\t" * (MAX_BLANK_RUN + 1) not in text
    source = _plain_cell("markdown", "### BEGIN HIDDEN TESTS" + "x" * 10_000_000)["source"]
    assert len(source) < MAX_MARKDOWN_CHARS + 200 and "[cut:" in source


def test_one_students_nbgrader_stage_is_bounded_in_time(tmp_path, monkeypatch):
    # A notebook nbgrader would work on forever costs that student a status, not the
    # class its results: the stage is stopped after stage_seconds.
    import time

    with toy_course(tmp_path) as built:
        nbgrader = course_mod.NbgraderInProcess(built["course"])
        nbgrader.stage_seconds = 0.5
        monkeypatch.setattr(nbgrader.api, "generate_feedback",
                            lambda *a, **k: time.sleep(30) or {"success": True})
        started = time.monotonic()
        why = nbgrader.feedback("toy", "reference")
        assert time.monotonic() - started < 5
        assert why == "nbgrader took longer than 0.5 s on this notebook"
