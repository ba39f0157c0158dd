"""Hostile and broken submissions (tests/hostile_corpus.py) graded through the real
pipeline: each gets the score and status the corpus says, the others' grades and the
course survive, nothing a submission started outlives grading."""

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder import course as course_mod
from autograder import pipeline

sys.path.insert(0, str(Path(__file__).parent))
import hostile_corpus as hc  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
LIMITS = {"call_timeout": 5.0, "submission_timeout": 20.0, "memory_bytes": 1536 * 1024**2}
CASES = hc.toy_cases()
GUARDED = hc.guarded_cases()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    assignments, course = hc.built_course(tmp_path_factory)
    subs = tmp_path_factory.mktemp("hostile") / "submissions"
    ctx = hc.Context(course=course, submissions=subs, repo=REPO)
    reference = json.loads((course / "solutions" / "toy" / "toy.ipynb").read_text())
    cases = hc.write_corpus(subs, reference, ctx, CASES)
    # The course's files and the submissions must come out byte for byte; the project's
    # own files (others may be editing them meanwhile) must still exist.
    protected = {p: Path(p).read_bytes() for p in ctx.forbidden_files
                 if Path(p).is_file() and p.startswith((str(course), str(subs)))}
    project = [p for p in ctx.forbidden_files if p.startswith(str(REPO)) and Path(p).is_file()]
    started = time.monotonic()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(course_mod, "ASSIGNMENTS_DIR", assignments)
        path = pipeline.grade_assignment(course, "toy", subs, workers=2, limits=LIMITS,
                                         progress=False, feedback=False)
    elapsed = time.monotonic() - started
    with open(path, newline="") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    return {"rows": rows, "ctx": ctx, "course": course, "cases": cases, "subs": subs,
            "protected": protected, "project": project, "elapsed": elapsed,
            "assignments": assignments}


@pytest.mark.parametrize("case", CASES, ids=[c.student for c in CASES])
def test_case_gets_its_score_and_status(corpus, case):
    row = corpus["rows"][case.student]
    statuses = case.status if isinstance(case.status, tuple) else (case.status,)
    assert float(row["score"]) == case.score and row["status"] in statuses, \
        f"{case.what}: {row}"
    assert float(row["max_score"]) == 5
    assert case.words.lower() in row["message"].lower(), row["message"]


def test_every_student_is_in_the_csv_once(corpus):
    assert set(corpus["rows"]) == {c.student for c in corpus["cases"]}


def test_other_students_grades_survive(corpus):
    """The victim and every honest student keep full marks, in the CSV and in the
    gradebook, although some submissions tried to delete or overwrite it all."""
    scores = pipeline.gradebook_scores(corpus["course"], "toy")
    for case in corpus["cases"]:
        row = corpus["rows"][case.student]
        if row["status"] != hc.INVALID:
            assert scores[case.student] == float(row["score"]), case.student
    assert corpus["rows"]["victim"]["score"] == "5.0"


def test_course_and_sources_are_untouched(corpus):
    for path, content in corpus["protected"].items():
        if path.endswith("gradebook.db"):
            assert Path(path).is_file()         # rewritten by nbgrader only
        else:
            assert Path(path).read_bytes() == content, path
    assert len(corpus["protected"]) >= 3 and len(corpus["project"]) >= 5
    assert all(Path(p).is_file() for p in corpus["project"])
    for folder in corpus["ctx"].forbidden_dirs:
        assert not (Path(folder) / "pwned-by-student.txt").exists(), folder
    victim = corpus["subs"] / "victim" / "toy" / "toy.ipynb"
    assert corpus["ctx"].secret in victim.read_text()


def test_nothing_a_submission_started_is_still_running(corpus):
    assert hc.leftover_processes(corpus["ctx"].marker) == []


def test_time_per_submission_is_bounded(corpus):
    budget = LIMITS["submission_timeout"]
    for case in corpus["cases"]:
        path = corpus["course"] / "results" / "toy" / f"{case.student}.json"
        if path.is_file():
            result = json.loads(path.read_text())
            # The budget, plus starting and killing sandboxes and the grader's own work.
            assert result["seconds"] < budget + 8, (case.student, result["seconds"])


def test_results_stay_small_whatever_was_printed(corpus):
    for case in corpus["cases"]:
        path = corpus["course"] / "results" / "toy" / f"{case.student}.json"
        if path.is_file():
            assert path.stat().st_size < 3 * 1024**2, case.student


def test_the_command_line_grades_hostile_submissions(corpus, tmp_path, tmp_path_factory):
    """`make grade` runs `python -m autograder grade`: a few of the worst cases through
    it, with feedback, next to an honest student."""
    subs = tmp_path / "subs"
    picked = ["access_destroy", "fork_bomb", "crash_segfault", "broken_deep_json",
              "fool_patch_numpy", "feedback_script", "broken_timestamp", "victim"]
    for student in picked:
        src = corpus["subs"] / student
        dest = subs / student / "toy"
        dest.mkdir(parents=True)
        for item in (src / "toy").iterdir():
            (dest / item.name).write_bytes(item.read_bytes())
    _, course = hc.built_course(tmp_path_factory)
    env = {**os.environ, "AUTOGRADER_ASSIGNMENTS": str(corpus["assignments"])}
    proc = subprocess.run(
        [sys.executable, "-m", "autograder", "--course", str(course), "grade",
         "toy", str(subs), "--workers", "2", "--timeout", "5", "--memory", "1536",
         "--no-progress"], capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    expected = {c.student: (c.score, c.status) for c in corpus["cases"]}
    # Exit status 1: every student has a row, and some have another status than graded.
    assert {expected[s][1] for s in picked} != {"graded"}
    assert proc.returncode == 1, proc.stderr[-3000:]
    last = proc.stdout.strip().splitlines()[-1]
    with open(last[len("grades: "):], newline="") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    for student in picked:
        assert (float(rows[student]["score"]), rows[student]["status"]) == expected[student]
    html = (course / "feedback" / "victim" / "toy" / "toy.html").read_text()
    # The hidden tests' code stays out of the feedback (their messages may show).
    assert "BEGIN HIDDEN" not in html and "hidden_rng" not in html
    # A student's markdown cannot run script where its feedback is opened.
    html = (course / "feedback" / "feedback_script" / "toy" / "toy.html").read_text()
    assert "alert('xss')" in html and "<script>alert" not in html
    assert "onerror=alert" not in html.replace("&lt;img src=x onerror=alert", "")
    assert 'href="javascript:' not in html
    assert hc.leftover_processes(corpus["ctx"].marker) == []


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    """The second fixture assignment: tests that use builtins, given code, many calls."""
    assignments, course = hc.built_course(tmp_path_factory)
    subs = tmp_path_factory.mktemp("guarded") / "submissions"
    ctx = hc.Context(course=course, submissions=subs, repo=REPO)
    reference = json.loads((course / "solutions" / "guarded" / "guarded.ipynb").read_text())
    hc.write_corpus(subs, reference, ctx, GUARDED, victim=False)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(course_mod, "ASSIGNMENTS_DIR", assignments)
        path = pipeline.grade_assignment(course, "guarded", subs, workers=2,
                                         limits={**LIMITS, "submission_timeout": 10.0},
                                         progress=False, feedback=False)
    with open(path, newline="") as f:
        return {r["student_id"]: r for r in csv.DictReader(f)}


@pytest.mark.parametrize("case", GUARDED, ids=[c.student for c in GUARDED])
def test_guarded_case(guarded, case):
    """Tests see only the grader's builtins and given code, and the student names the
    source defines; many slow calls run into the submission's budget."""
    row = guarded[case.student]
    assert (float(row["score"]), row["status"]) == (case.score, case.status), row
    assert case.words in row["message"], row["message"]


# ---------------------------------------------------------------------------------------
# The corpus on the five real assignments (issue 12, item 6)
# ---------------------------------------------------------------------------------------

import submission_fuzzer as fz  # noqa: E402

REAL = fz.ASSIGNMENTS
REAL_LIMITS = {"call_timeout": 10.0, "submission_timeout": 40.0,
               "memory_bytes": 1536 * 1024**2}
# Every adaptable case runs on one of the five assignments (a fixed share each).
REAL_CASES = [(a, c) for i, a in enumerate(REAL) for c in hc.real_cases(a, i, len(REAL))]
_REAL: dict[str, dict] = {}


def _real_corpus(assignment, tmp_path_factory) -> dict:
    """One assignment's share of the corpus, the control and the victim, graded once."""
    import dataclasses

    if assignment in _REAL:
        return _REAL[assignment]
    pristine = fz.built_course(tmp_path_factory.mktemp("real-course"))
    root = tmp_path_factory.mktemp(f"hostile-{assignment}")
    course = fz.copy_course(pristine, root / "course")
    subs = root / "submissions"
    ctx = hc.Context(course=course, submissions=subs, repo=REPO, assignment=assignment,
                     oracle=hc.Oracle.from_course(course, assignment))
    reference = json.loads((course / "solutions" / assignment / f"{assignment}.ipynb")
                           .read_text())
    cases = [c for a, c in REAL_CASES if a == assignment] + [
        hc.control_case(assignment), dataclasses.replace(hc.victim_case(), assignment=assignment)]
    hc.write_corpus(subs, reference, ctx, cases, victim=False)
    protected = {p: Path(p).read_bytes() for p in ctx.forbidden_files
                 if Path(p).is_file() and p.startswith((str(course), str(subs)))
                 and not p.endswith("gradebook.db")}
    path = pipeline.grade_assignment(course, assignment, subs, workers=2, limits=REAL_LIMITS,
                                     progress=False, feedback=False)
    with open(path, newline="") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    _REAL[assignment] = {"rows": rows, "ctx": ctx, "course": course, "cases": cases,
                         "subs": subs, "protected": protected}
    return _REAL[assignment]


def _automatic_points(course: Path, assignment: str) -> float:
    """The points the grader gives by itself: the test cells'. Full marks on a real
    assignment are these; the written answers (the rest of max_score) wait for a person."""
    cells = json.loads(course_mod.source_notebook(course, assignment).read_text())["cells"]
    return float(sum(c["metadata"]["nbgrader"]["points"] for c in cells
                     if c["cell_type"] == "code" and
                     c["metadata"].get("nbgrader", {}).get("grade")))


@pytest.mark.parametrize("assignment,case", REAL_CASES,
                         ids=[f"{a}-{c.student}" for a, c in REAL_CASES])
def test_real_assignment_case(assignment, case, tmp_path_factory):
    """The toy's expectations carried over: every automatic point where the toy gets 5, the
    control's score (first answer wrong) where it gets 3, nothing where it gets 0."""
    corpus = _real_corpus(assignment, tmp_path_factory)
    rows = corpus["rows"]
    full = _automatic_points(corpus["course"], assignment)
    control = float(rows["control_first_wrong"]["score"])
    row = rows[case.student]
    statuses = case.status if isinstance(case.status, tuple) else (case.status,)
    expected = hc.real_score(case.score, full, control)
    assert (float(row["score"]), row["status"] in statuses) == (expected, True), \
        f"{case.what}: expected {expected} {statuses}, got {row}"
    assert case.words.lower() in row["message"].lower(), row["message"]


@pytest.mark.parametrize("assignment", REAL)
def test_real_assignment_class_survives(assignment, tmp_path_factory):
    """Next to the hostile cases, the victim gets full marks and keeps its secret, the
    control is scored as a wrong first answer, every student has one row, the course
    and the other submissions are untouched, nothing is left running."""
    corpus = _real_corpus(assignment, tmp_path_factory)
    rows, ctx = corpus["rows"], corpus["ctx"]
    assert set(rows) == {c.student for c in corpus["cases"]}
    victim, control = rows["victim"], rows["control_first_wrong"]
    full = _automatic_points(corpus["course"], assignment)
    assert (float(victim["score"]), victim["status"]) == (full, "graded"), victim
    assert victim["written"].startswith(pipeline.WRITTEN_PENDING), victim
    assert control["status"] == "graded"
    assert 0 <= float(control["score"]) < float(control["max_score"]), control
    for path, content in corpus["protected"].items():
        assert Path(path).read_bytes() == content, path
    for folder in ctx.forbidden_dirs:
        assert not (Path(folder) / "pwned-by-student.txt").exists(), folder
    assert ctx.secret in (corpus["subs"] / "victim" / assignment /
                          f"{assignment}.ipynb").read_text()
    assert hc.leftover_processes(ctx.marker) == []
