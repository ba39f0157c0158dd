"""Grading on a real Dask cluster on loopback: a scheduler and two workers started as
subprocesses (``dask scheduler``, ``dask worker``); the results equal local grading,
and the tasks carry their files, so workers need no shared file system."""

import csv
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from autograder import course as course_mod
from autograder import distributed, pipeline

sys.path.insert(0, str(Path(__file__).parent))
import hostile_corpus as hc  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
LIMITS = {"call_timeout": 5.0, "submission_timeout": 20.0, "memory_bytes": 1536 * 1024**2}
PICKED = ["fool_patch_numpy", "crash_segfault", "proto_wrong_id", "fool_read_sources",
          "broken_json_list", "honest_threads_processes"]


def _dask_command(*args):
    script = Path(sys.executable).parent / "dask"
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "dask", *args]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    from dask.distributed import Client

    tmp = tmp_path_factory.mktemp("dask")
    scheduler_file = tmp / "scheduler.json"
    log = open(tmp / "cluster.log", "w")
    procs = [subprocess.Popen(_dask_command(
        "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
        "--scheduler-file", str(scheduler_file)), stdout=log, stderr=log)]
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(scheduler_file.read_text())["address"]
        for i in range(2):
            procs.append(subprocess.Popen(_dask_command(
                "worker", address, "--nthreads", "1", "--nworkers", "1", "--no-dashboard",
                "--name", f"worker-{i}", "--local-directory", str(tmp / f"worker-{i}")),
                stdout=log, stderr=log))
        with Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        family = [psutil.Process(p.pid) for p in procs if p.poll() is None]
        family += [c for p in family for c in p.children(recursive=True)]
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()
        # Nothing of the cluster (workers, nannies, their sandboxes) outlives it.
        gone, alive = psutil.wait_procs(family, timeout=20)
        for proc in alive:
            proc.kill()
        assert not alive, [p.pid for p in alive]


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    assignments, course = hc.built_course(tmp_path_factory)
    subs = tmp_path_factory.mktemp("dist") / "submissions"
    ctx = hc.Context(course=course, submissions=subs, repo=REPO)
    solution = json.loads((course / "solutions" / "toy" / "toy.ipynb").read_text())
    cases = hc.write_corpus(subs, solution, ctx,
                            [c for c in hc.toy_cases() if c.student in PICKED])
    return {"assignments": assignments, "course": course, "subs": subs, "cases": cases}


def _tasks(toy):
    source = toy["course"] / "source" / "toy" / "toy.ipynb"
    return [{"source": str(source), "assignment_dir": str(source.parent), "assignment": "toy",
             "hide": [], "limits": LIMITS, "student_id": c.student,
             "notebook": str(toy["subs"] / c.student / "toy" / "toy.ipynb")}
            for c in toy["cases"] if c.status != hc.INVALID]


def comparable(results):
    # What a run measures (time, the worker's memory) differs from run to run.
    return [{k: v for k, v in r.items() if k not in ("seconds", "grader_peak_bytes")}
            for r in results]


def test_cluster_results_equal_local_results(cluster, toy):
    tasks = _tasks(toy)
    local = pipeline.grade_all(tasks, workers=2, progress=False)
    remote = pipeline.grade_all(tasks, workers=1, progress=False, scheduler=cluster)
    assert comparable(remote) == comparable(local)
    assert {r["status"] for r in remote} == {"graded", "crashed"}


def test_grade_assignment_on_the_cluster(cluster, toy):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(course_mod, "ASSIGNMENTS_DIR", toy["assignments"])
        path = pipeline.grade_assignment(toy["course"], "toy", toy["subs"], limits=LIMITS,
                                         progress=False, feedback=False, scheduler=cluster)
    with open(path, newline="") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    for case in toy["cases"]:
        assert (float(rows[case.student]["score"]), rows[case.student]["status"]) == \
            (case.score, case.status), rows[case.student]


def test_tasks_carry_their_files(toy, tmp_path):
    """A packed task grades the same after the course and the submission are gone:
    workers need no access to the instructor's machine."""
    task = _tasks(toy)[0]
    copy = tmp_path / "copy"
    shutil.copytree(Path(task["assignment_dir"]), copy / "source")
    shutil.copy(task["notebook"], copy / "submission.ipynb")
    task = {**task, "source": str(copy / "source" / "toy.ipynb"),
            "assignment_dir": str(copy / "source"), "notebook": str(copy / "submission.ipynb")}
    expected = pipeline._grade_task(task)
    packed, files = distributed.pack_task(task)
    shutil.rmtree(copy)
    result = distributed.run_packed(pipeline._grade_task, files, packed)
    assert comparable([result]) == comparable([expected])
    assert result["score"] == 3.0


def test_an_unreachable_scheduler_is_a_clear_error(toy):
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}), \
            pytest.raises(course_mod.CourseError, match="cannot reach the Dask scheduler"):
        pipeline.grade_all(_tasks(toy)[:1], workers=1, progress=False,
                           scheduler="tcp://127.0.0.1:9")


def test_packed_tasks_keep_support_folders(tmp_path):
    source = tmp_path / "source"
    (source / "data" / "deep").mkdir(parents=True)
    (source / "hw.ipynb").write_text("{}")
    (source / "checks.py").write_text("pass")
    (source / "data" / "deep" / "x.txt").write_text("x")
    task = {"source": str(source / "hw.ipynb"), "assignment_dir": str(source),
            "assignment": "hw", "student_id": "s", "notebook": None, "hide": [],
            "limits": {}}
    packed, files = distributed.pack_task(task)
    assert sorted(files["support"]) == ["checks.py", "data/deep/x.txt"]
    files["support"]["../escape.txt"] = b"no"            # never written outside

    def look(task):
        folder = Path(task["assignment_dir"])
        return sorted(str(p.relative_to(folder.parent)) for p in folder.parent.rglob("*"))

    seen = distributed.run_packed(look, files, packed)
    assert seen == ["hw", "hw/checks.py", "hw/data", "hw/data/deep", "hw/data/deep/x.txt",
                    "hw/hw.ipynb"]
