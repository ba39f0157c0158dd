"""The human half of grading (issue 17) on a fixture assignment with a written question
(``tests/fixtures/written``: ``triple`` for 2 points, a written answer for 3): one
gradebook, one truth for the CSVs; a person's points and comments survive reruns,
resubmissions and later batches; formgrader's Autograde grades a hand-placed
submission through the sandbox; the roster; late work."""

import csv
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import zipfile
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pytest

from autograder import course as course_mod
from autograder import pipeline, samples
from autograder.inert import FEEDBACK_CSP
from autograder.late import ConfigError, LateRule, read_rules

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
LIMITS = {"call_timeout": 10.0, "submission_timeout": 30.0, "memory_bytes": 1536 * 1024**2}


@contextmanager
def written_course(root: Path, config: str | None = None):
    assignments = root / "assignments"
    shutil.copytree(FIXTURES / "written", assignments / "written")
    if config is not None:
        (assignments / "course.toml").write_text(config)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(course_mod, "ASSIGNMENTS_DIR", assignments)
        course = root / "course"
        course_mod.build(course, ["written"])
        subs = samples.write_samples(course, root / "subs")
        yield {"course": course, "subs": subs, "assignments": assignments, "root": root}


def _grade(built, subs=None, **kw):
    return pipeline.grade_batch(built["course"], "written", subs or built["subs"],
                                workers=2, limits=LIMITS, progress=False, **kw)


def _rows(path):
    with open(path, newline="") as f:
        return {r["student_id"]: r for r in csv.DictReader(f)}


def _grade_by_hand(course, student, points, comment):
    """What formgrader does when a person saves points and a comment."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="convnets") as gb:
        grade = gb.find_grade("written_stack", "written", "written", student)
        grade.manual_score = points
        grade.needs_manual_grade = False          # as formgrader's grade handler does
        comment_row = gb.find_comment("written_stack", "written", "written", student)
        comment_row.manual_comment = comment
        gb.db.commit()


def _manual(course, student):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="convnets") as gb:
        grade = gb.find_grade("written_stack", "written", "written", student)
        comment = gb.find_comment("written_stack", "written", "written", student)
        return grade.manual_score, grade.needs_manual_grade, comment.manual_comment


def test_the_rubric_never_reaches_students(tmp_path):
    with written_course(tmp_path) as built:
        course = built["course"]
        release = (course / "release" / "written" / "written.ipynb").read_text()
        solution = (course / "solutions" / "written" / "written.ipynb").read_text()
        assert "RUBRIC" not in release and "Partial (1-2)" not in release
        assert "RUBRIC" not in solution and "Partial (1-2)" not in solution
        answer = next(c for c in json.loads(solution)["cells"]
                      if c["metadata"].get("nbgrader", {}).get("grade_id") == "written_stack")
        assert "27 C^2" in "".join(answer["source"])
        assert "BEGIN SOLUTION" not in "".join(answer["source"])
        assert "Partial (1-2)" in (course / "source" / "written" / "written.ipynb").read_text()
        _grade(built)
        for student in ("reference", "partial", "blank"):
            page = (course / "feedback" / student / "written" / "written.html").read_text()
            assert "Partial (1-2)" not in page and "RUBRIC" not in page


def test_written_states_and_a_persons_points_reach_export_and_feedback(tmp_path):
    with written_course(tmp_path) as built:
        course = built["course"]
        batch = _grade(built)
        rows = {r["student_id"]: r for r in batch.rows}
        assert (rows["blank"]["score"], rows["blank"]["written"]) == \
            (0.0, "not answered (0 points)")
        for student in ("reference", "partial"):
            assert rows[student]["written"] == "to be graded by a person (3 points)"
            assert rows[student]["max_score"] == 5.0
        assert (rows["reference"]["auto_score"], rows["reference"]["score"]) == (2.0, 2.0)
        assert "written part to be graded by a person" in pipeline.gradebook_table(batch.csv)

        _grade_by_hand(course, "reference", 2.5, "Right counts; say why depth helps.")
        all_csv = pipeline.export_all(course)
        exported = _rows(all_csv)["reference"]
        assert float(exported["score"]) == 4.5 and float(exported["manual_score"]) == 2.5
        assert float(exported["auto_score"]) == 2.0
        assert exported["written"] == "graded by a person"
        assert _rows(course / "grades" / "written.csv")["reference"]["score"] == "4.5"

        assert pipeline.write_feedback(course, "written") == {}
        page = (course / "feedback" / "reference" / "written" / "written.html").read_text()
        assert "Right counts; say why depth helps." in page
        assert "hidden_rng" not in page


def test_reruns_resubmissions_and_batches_keep_a_persons_work(tmp_path):
    with written_course(tmp_path) as built:
        course = built["course"]
        _grade(built)
        _grade_by_hand(course, "reference", 3.0, "Full marks.")
        _grade_by_hand(course, "partial", 0.5, "Too vague.")

        # The same submissions again: points, comments and the reviewed state stay.
        batch = _grade(built)
        rows = {r["student_id"]: r for r in batch.rows}
        assert _manual(course, "reference") == (3.0, False, "Full marks.")
        assert (rows["reference"]["score"], rows["reference"]["written"]) == \
            (5.0, "graded by a person")

        # A resubmission with a changed written answer: the points and comment stay, and
        # the answer is marked for a new review.
        nb = nbformat.read(built["subs"] / "partial" / "written" / "written.ipynb",
                           as_version=4)
        answer = next(c for c in nb.cells
                      if c.metadata.get("nbgrader", {}).get("grade_id") == "written_stack")
        answer.source = "27 C^2 weights against 49 C^2, same receptive field."
        nbformat.write(nb, built["subs"] / "partial" / "written" / "written.ipynb")
        batch = _grade(built, students=["partial"])
        assert _manual(course, "partial") == (0.5, True, "Too vague.")
        assert batch.rows[0]["written"].startswith("to be graded by a person")

        # A later batch of one new student keeps everyone's points.
        late = tmp_path / "late"
        shutil.copytree(built["subs"] / "reference", late / "newcomer")
        _grade(built, subs=late)
        assert _manual(course, "reference") == (3.0, False, "Full marks.")
        rows = _rows(pipeline.export_all(course))
        assert set(rows) == {"reference", "partial", "blank", "newcomer"}
        assert float(rows["reference"]["score"]) == 5.0
        assert float(rows["partial"]["score"]) == 2.5


def test_formgrader_autograde_on_a_hand_placed_submission(tmp_path):
    # nbgrader's usual workflow: a notebook put in submitted/<student>/<assignment>/ by
    # hand, then Autograde (what formgrader's button calls): graded through the sandbox,
    # with the pipeline's score; later edits are graded again, never a stale result.
    with written_course(tmp_path) as built:
        course = built["course"]
        batch = _grade(built)
        expected = {r["student_id"]: r["score"] for r in batch.rows}
        for student, source in (("by_hand", "reference"), ("by_hand_blank", "blank")):
            dest = course / "submitted" / student / "written"
            dest.mkdir(parents=True)
            shutil.copy(built["subs"] / source / "written" / "written.ipynb", dest)
            nbgrader = course_mod.NbgraderInProcess(course)
            assert nbgrader.autograde("written", student) is None
            assert nbgrader.feedback("written", student) is None
            scores = pipeline.gradebook_scores(course, "written")
            assert scores[student] == expected[source], (student, scores)
            result = json.loads((course / "results" / "written" / f"{student}.json")
                                .read_text())
            assert result["sandbox"] and result["status"] == "graded"
        rows = _rows(pipeline.export_all(course))
        assert float(rows["by_hand"]["score"]) == expected["reference"]
        assert rows["by_hand"]["message"] == "graded in formgrader"

        # A hand-placed notebook is staged as make grade stages it: the student's HTML
        # never reaches formgrader's view or the feedback as markup.
        nb = nbformat.read(built["subs"] / "reference" / "written" / "written.ipynb",
                           as_version=4)
        answer = next(c for c in nb.cells
                      if c.metadata.get("nbgrader", {}).get("grade_id") == "written_stack")
        answer.source = "<img src=x onerror=alert(1)> [a](javascript&#58;alert(2))"
        nb.cells.insert(1, nbformat.v4.new_raw_cell("<script>alert(3)</script>",
                                                    metadata={"format": "text/html"}))
        dest = course / "submitted" / "by_hand_evil" / "written"
        dest.mkdir(parents=True)
        nbformat.write(nb, dest / "written.ipynb")
        nbgrader = course_mod.NbgraderInProcess(course)
        assert nbgrader.autograde("written", "by_hand_evil") is None
        assert nbgrader.feedback("written", "by_hand_evil") is None
        autograded = (course / "autograded" / "by_hand_evil" / "written" / "written.ipynb")
        page = course / "feedback" / "by_hand_evil" / "written" / "written.html"
        for text in (autograded.read_text(), page.read_text()):
            assert "<img" not in text
            assert "javascript&#58;" not in text and 'href="javascript:' not in text
        assert "<script>alert(3)" not in page.read_text()
        raw = [c for c in json.loads(autograded.read_text())["cells"] if c["cell_type"] == "raw"]
        assert raw and all(not c["metadata"] for c in raw)      # shown as text, never HTML
        assert FEEDBACK_CSP in page.read_text()
        assert pipeline.gradebook_scores(course, "written")["by_hand_evil"] == 2.0
        # A second Autograde of the same notebook stages it again (results say so).
        assert nbgrader.autograde("written", "by_hand_evil") is None
        assert "<img" not in autograded.read_text()


def test_roster_fills_names(tmp_path):
    with written_course(tmp_path) as built:
        course = built["course"]
        roster = tmp_path / "canvas.csv"
        roster.write_text("Student,ID,SIS User ID,SIS Login ID,Section\n"
                          "\"Lovelace, Ada\",101,reference,ada,A\n"
                          "\"Noether, Emmy\",102,partial,emmy,A\n"
                          "\"Bad, Id\",103,../etc,bad,A\n", encoding="utf-8")
        env = {**os.environ, "AUTOGRADER_ASSIGNMENTS": str(built["assignments"])}
        proc = subprocess.run([sys.executable, "-m", "autograder", "--course", str(course),
                               "roster", str(roster)], capture_output=True, text=True,
                              env=env, cwd=REPO, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert "roster: 2 students" in proc.stdout and "line 4" in proc.stderr
        _grade(built)
        rows = _rows(pipeline.export_all(course))
        assert (rows["reference"]["first_name"], rows["reference"]["last_name"]) == \
            ("Ada", "Lovelace")
        assert rows["partial"]["last_name"] == "Noether"

        moodle = tmp_path / "moodle.csv"
        moodle.write_text("First name,Surname,ID number,Email address\n"
                          "Ada,Byron,reference,ada@example.org\n")
        from autograder.roster import read_roster
        students, skipped = read_roster(moodle)
        assert students == [{"id": "reference", "first_name": "Ada", "last_name": "Byron",
                             "email": "ada@example.org"}] and skipped == []
        with pytest.raises(course_mod.CourseError, match="no student id column"):
            bad = tmp_path / "bad.csv"
            bad.write_text("name,mail\nx,y\n")
            read_roster(bad)


def test_late_work_gets_the_configured_penalty(tmp_path):
    config = ('[late]\npenalty = "10% per day"\n\n[assignments.written]\n'
              'due = 2027-01-29T23:59:00Z\n')
    with written_course(tmp_path, config) as built:
        subs = built["subs"]
        (subs / "reference" / "written" / "timestamp.txt").write_text(
            "2027-01-31 12:00:00 UTC")                       # 36 h late: 2 started days
        (subs / "partial" / "written" / "timestamp.txt").write_text(
            "2027-01-29 20:00:00 UTC")                       # on time
        batch = _grade(built)
        rows = {r["student_id"]: r for r in batch.rows}
        late = rows["reference"]
        assert late["hours_late"] == 36.02 and late["late_penalty"] == pytest.approx(0.4)
        assert late["score"] == pytest.approx(1.6) and late["timestamp"].startswith("2027-01-31")
        assert rows["partial"]["hours_late"] == 0 and rows["partial"]["late_penalty"] == 0
        assert "36.02 h late" in pipeline.gradebook_table(batch.csv)
        # A person's points later are penalised by the same rule on export.
        _grade_by_hand(built["course"], "reference", 3.0, "ok")
        exported = _rows(pipeline.export_all(built["course"]))["reference"]
        assert float(exported["score"]) == pytest.approx(5.0 * 0.8)


def test_lms_zip_keeps_the_submission_time(tmp_path):
    with written_course(tmp_path) as built:
        archive = tmp_path / "canvas.zip"
        with zipfile.ZipFile(archive, "w") as zf:
            info = zipfile.ZipInfo("ada_12345_written.ipynb", date_time=(2027, 1, 30, 8, 0, 0))
            zf.writestr(info, (built["subs"] / "reference" / "written" / "written.ipynb")
                        .read_bytes())
        batch = pipeline.grade_batch(built["course"], "written", archive, workers=1,
                                     limits=LIMITS, progress=False)
        assert batch.rows[0]["student_id"] == "ada"
        assert batch.rows[0]["timestamp"] == "2027-01-30 08:00:00 UTC"


def test_late_rules():
    due = dt.datetime(2027, 1, 29, 23, 59)
    assert LateRule(due, "none").penalty_for(10, 5000) == 0
    assert LateRule(due, "zero").penalty_for(10, 1) == 10
    assert LateRule(due, "10% per day").penalty_for(10, 1) == pytest.approx(1.0)
    assert LateRule(due, "10% per day").penalty_for(10, 86401) == pytest.approx(2.0)
    assert LateRule(due, "2% per hour").penalty_for(10, 3 * 3600) == pytest.approx(0.6)
    assert LateRule(due, "50% per day").penalty_for(10, 10 * 86400) == 10
    assert LateRule(due, "10% per day").penalty_for(10, 0) == 0
    with pytest.raises(ConfigError, match="penalty 'half' is not one of"):
        LateRule(due, "half")


def test_course_configuration_errors_name_the_place(tmp_path):
    path = tmp_path / "course.toml"
    path.write_text('[assignments.conv_naive]\ndue = "soon"\n')
    with pytest.raises(ConfigError, match="assignments.conv_naive.due must be a date"):
        read_rules(path)
    path.write_text('[assignments.conv_naive]\npenalty = "5% per week"\n')
    with pytest.raises(ConfigError, match="assignments.conv_naive: penalty '5% per week'"):
        read_rules(path)
    rules = read_rules(REPO / "assignments" / "course.toml")
    assert set(rules) == set(course_mod.assignment_names())
    assert all(r.due is not None for r in rules.values())
