"""The grader is confined too, and what one submission leaves behind is bounded
(issue 19): the grading worker's memory and time limits, and an output budget that
counts every cell's printed text, errors and tracebacks together."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
from toy_course import toy_course

from autograder import pipeline

LIMITS = {"call_timeout": 10.0, "submission_timeout": 60.0, "memory_bytes": 1536 * 1024**2}


def _child(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=120)


def test_grader_memory_limit_stops_a_runaway_check_and_is_lifted_after():
    proc = _child("""
        import numpy as np
        from autograder.pipeline import grader_limits
        try:
            with grader_limits(512 * 1024**2, 60):
                np.ones((28000, 28000))          # 6 GB: what a broadcast blow-up costs
        except MemoryError:
            print("stopped")
        a = np.ones((16000, 16000))              # 2 GB, allowed again afterwards
        print("after", a.nbytes // 2**20)
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["stopped", "after", "1953"]


def test_grader_time_limit():
    proc = _child("""
        import time
        from autograder.pipeline import GraderTimeout, grader_limits
        start = time.monotonic()
        try:
            with grader_limits(1024**3, 0.5):
                time.sleep(5)
        except GraderTimeout:
            print(f"timeout {time.monotonic() - start:.1f}")
        time.sleep(0.6)                          # the alarm is gone
        print("done")
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[0] == "timeout" and float(proc.stdout.split()[1]) < 2
    assert proc.stdout.split()[-1] == "done"


def test_a_submission_hitting_the_graders_limits_gets_a_status(monkeypatch, tmp_path):
    # A check that needs more memory than the grader's allowance: that student is
    # "crashed" with the reason, the others are graded.
    with toy_course(tmp_path) as built:
        real = pipeline.grade_submission

        def greedy(*args, student_id, **kwargs):
            if student_id == "partial":
                import numpy as np
                np.ones((28000, 28000))
            return real(*args, student_id=student_id, **kwargs)

        monkeypatch.setattr(pipeline, "grade_submission", greedy)
        monkeypatch.setattr(pipeline, "GRADER_MEMORY_BYTES", 1024**3)
        batch = pipeline.grade_batch(built["course"], "toy", built["subs"], workers=1,
                                     limits=LIMITS, progress=False, feedback=False)
        rows = {r["student_id"]: r for r in batch.rows}
        assert rows["partial"]["status"] == "crashed"
        assert "grader ran out of memory" in rows["partial"]["message"]
        assert (rows["reference"]["status"], rows["reference"]["score"]) == ("graded", 5.0)


def test_output_budget_counts_every_cell_and_error(tmp_path):
    # ~1000 cells, each raising an exception with a long message (and printing): the
    # results, the autograded notebook and the feedback stay a few MB, and say what
    # was cut; the answers still count.
    with toy_course(tmp_path) as built:
        subs = built["subs"]
        ref = nbformat.read(subs / "reference" / "toy" / "toy.ipynb", as_version=4)
        flood = nbformat.from_dict(ref)
        for i in range(1000):
            flood.cells.append(nbformat.v4.new_code_cell(
                f"print('x' * 5000)\nraise ValueError('{i}' + 'y' * 4000)"))
        (subs / "flood" / "toy").mkdir(parents=True)
        nbformat.write(flood, subs / "flood" / "toy" / "toy.ipynb")
        assert (subs / "flood" / "toy" / "toy.ipynb").stat().st_size < 300_000
        batch = pipeline.grade_batch(built["course"], "toy", subs, workers=2,
                                     limits={**LIMITS, "submission_timeout": 300.0},
                                     progress=False)
        row = {r["student_id"]: r for r in batch.rows}["flood"]
        assert float(row["score"]) == 5.0, row
        course = built["course"]
        results = course / "results" / "toy" / "flood.json"
        autograded = course / "autograded" / "flood" / "toy" / "toy.ipynb"
        feedback = course / "feedback" / "flood" / "toy" / "toy.html"
        for path in (results, autograded, feedback):
            assert path.stat().st_size < 4 * 1024**2, (path, path.stat().st_size)
        assert "output budget is spent" in results.read_text()
        assert "output budget is spent" in feedback.read_text()
        cells = json.loads(results.read_text())["cells"]
        assert len(cells) > 900 and cells[-1]["error"]["ename"] == "ValueError"


def test_results_of_the_reference_are_not_cut(tmp_path):
    with toy_course(tmp_path) as built:
        pipeline.grade_batch(built["course"], "toy", built["subs"], workers=2,
                             limits=LIMITS, progress=False, feedback=False)
        text = (Path(built["course"]) / "results" / "toy" / "reference.json").read_text()
        assert "[cut" not in text
