"""Parallel grading: one submission per worker process gives exactly the results of a
serial run, and a worker process that dies costs nothing (its submissions are graded
again in a fresh pool)."""

import json
import os
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from autograder import pipeline

sys.path.insert(0, str(Path(__file__).parent))
import hostile_corpus as hc  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
LIMITS = {"call_timeout": 5.0, "submission_timeout": 20.0, "memory_bytes": 1536 * 1024**2}
# Quick cases with deterministic outcomes (no timing in their messages).
PICKED = ["fool_patch_numpy", "fool_ndarray_subclass", "crash_segfault", "crash_os_exit",
          "exit_in_functions", "flood_fd", "proto_wrong_id", "memory_bomb_in_function",
          "honest_files_and_helpers", "fool_repoint_tests", "hang_cell"]


@pytest.fixture(scope="module")
def tasks(tmp_path_factory):
    """20 submissions as the pipeline's grading tasks (the same dicts grade_assignment
    builds): the picked hostile cases, honest and partial students."""
    _, course = hc.built_course(tmp_path_factory)
    subs = tmp_path_factory.mktemp("parallel") / "submissions"
    ctx = hc.Context(course=course, submissions=subs, repo=REPO)
    solution = json.loads((course / "solutions" / "toy" / "toy.ipynb").read_text())
    release = json.loads((course / "release" / "toy" / "toy.ipynb").read_text())
    cases = [c for c in hc.toy_cases() if c.student in PICKED]
    hc.write_corpus(subs, solution, ctx, cases)
    for i in range(20 - len(cases) - 1):
        nb = solution if i % 3 else release
        folder = subs / f"student{i:02d}" / "toy"
        folder.mkdir(parents=True)
        (folder / "toy.ipynb").write_text(json.dumps(nb))
    source = course / "source" / "toy" / "toy.ipynb"
    return [{"source": str(source), "assignment_dir": str(source.parent), "assignment": "toy",
             "hide": [], "limits": LIMITS, "student_id": d.name,
             "notebook": str(d / "toy" / "toy.ipynb")} for d in sorted(subs.iterdir())]


def comparable(results):
    # What a run measures (time, the worker's memory) differs from run to run.
    return [{k: v for k, v in r.items() if k not in ("seconds", "grader_peak_bytes")}
            for r in results]


@pytest.fixture(scope="module")
def serial(tasks):
    return pipeline.grade_all(tasks, workers=1, progress=False)


def test_twenty_submissions(tasks, serial):
    assert len(tasks) == 20 and len(serial) == 20
    assert {r["status"] for r in serial} >= {"graded", "crashed", "timed out"}


def test_parallel_results_equal_serial(tasks, serial):
    parallel = pipeline.grade_all(tasks, workers=2, progress=False)
    assert comparable(parallel) == comparable(serial)


def test_a_dying_worker_costs_nothing(tasks, serial):
    """Kill a pool worker in the middle of a submission: every submission still gets
    the result of the serial run."""
    out = {}
    runner = threading.Thread(
        target=lambda: out.setdefault("r", pipeline.grade_all(tasks, 2, progress=False)))
    runner.start()
    killed = None
    deadline = time.monotonic() + 60
    while killed is None and time.monotonic() < deadline and runner.is_alive():
        for proc in psutil.Process(os.getpid()).children(recursive=True):
            try:
                if any(c.name() == "bwrap" for c in proc.children()) and \
                        proc.pid != os.getpid():
                    proc.kill()
                    killed = proc.pid
                    break
            except psutil.Error:
                continue
        time.sleep(0.05)
    runner.join(timeout=300)
    assert killed is not None, "no grading worker was found to kill"
    assert comparable(out["r"]) == comparable(serial)
    # The dead worker's sandbox cgroups (when cgroups are used) were cleaned up later.
    root = Path("/sys/fs/cgroup")
    leftovers = [d for pattern in ("autograder-*", "*/autograder-*", "*/*/*/autograder-*")
                 for d in root.glob(pattern) if not psutil.pid_exists(int(d.name.split("-")[1]))]
    assert leftovers == []
