"""Grading on a Dask cluster: the same per-submission tasks, sent to remote workers.

:func:`grade_on_cluster` is what ``python -m autograder grade --scheduler ADDRESS`` (and
:func:`autograder.pipeline.grade_all`) uses. Each task is made self-contained before it
leaves this machine (:func:`pack_task`): the instructor's source notebook, the
assignment's support files and the student's notebook travel *in* the task, as bytes,
so workers need no shared file system, only this package and the course's Python
environment (NumPy, SciPy, ...) and ``bwrap``. On a worker, :func:`run_packed` writes
them to a private temporary folder, grades there, with the student's code in the
worker's own sandbox, and returns the plain result dict; the folder is removed.

One grading runs at a time in a worker process (the grader changes directory, swaps
``sys.stdout`` and sets an environment variable while it runs the tests): start workers
with ``--nthreads 1`` and as many processes as cores (``--nworkers``); a lock enforces it
if a worker has more threads.

A submission that kills its worker (it cannot, from inside its sandbox, but a machine
can fail) is retried once on another worker; if that fails too it gets the status
"grader error" and the others are graded.

Requires the optional extra ``distributed`` (``dask[distributed]``).
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
from pathlib import Path

from .execute import error_result, support_files

_ONE_AT_A_TIME = threading.Lock()


def pack_task(task: dict, files: dict | None = None) -> tuple[dict, dict]:
    """Split a path-based task into (the task with its notebook's bytes, the assignment's
    files: source notebook and support files, as bytes). ``files`` caches the second
    part by source path."""
    files = {} if files is None else files
    source = Path(task["source"])
    if str(source) not in files:
        support = {}
        for shown in map(Path, support_files(Path(task["assignment_dir"]))):
            for path in [shown] if shown.is_file() else sorted(shown.rglob("*")):
                if path.is_file() and not path.is_symlink():
                    support[str(path.relative_to(shown.parent))] = path.read_bytes()
        files[str(source)] = {"source": source.read_bytes(), "support": support}
    packed = {k: v for k, v in task.items()
              if k not in ("source", "assignment_dir", "notebook", "hide")}
    packed["notebook_bytes"] = (Path(task["notebook"]).read_bytes()
                                if task.get("notebook") else None)
    return packed, files[str(source)]


def run_packed(func, assignment_files: dict, packed: dict) -> dict:
    """On a worker: write the packed files to a temporary folder, run ``func`` (the
    pipeline's per-task function) on the path-based task, return its result."""
    with _ONE_AT_A_TIME, tempfile.TemporaryDirectory(prefix="autograder-task-") as tmp:
        name = packed["assignment"]
        adir = Path(tmp) / "source" / name
        adir.mkdir(parents=True)
        (adir / f"{name}.ipynb").write_bytes(assignment_files["source"])
        for relative, content in assignment_files["support"].items():
            target = (adir / relative).resolve()
            if adir.resolve() not in target.parents:
                continue                  # never outside the task's folder
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        notebook = None
        if packed.get("notebook_bytes") is not None:
            folder = Path(tmp) / "submitted" / "student" / name
            folder.mkdir(parents=True)
            notebook = folder / f"{name}.ipynb"
            notebook.write_bytes(packed["notebook_bytes"])
        task = {k: v for k, v in packed.items() if k != "notebook_bytes"}
        task.update(source=str(adir / f"{name}.ipynb"), assignment_dir=str(adir),
                    notebook=str(notebook) if notebook else None, hide=[])
        return func(task)


def grade_on_cluster(func, tasks: list[dict], address: str, *,
                     connect_timeout: float | None = None):
    """Grade ``tasks`` on the Dask scheduler at ``address``; yields ``(index, result)``
    as results arrive (in any order). ``connect_timeout`` defaults to Dask's
    ``distributed.comm.timeouts.connect`` (30 s)."""
    from .course import CourseError

    try:
        from dask.distributed import Client, as_completed
    except ImportError as err:  # pragma: no cover - depends on the installation
        raise CourseError("grading on a cluster needs dask.distributed: "
                          "pip install 'convnets[distributed]'") from err

    files: dict = {}
    packed = [pack_task(t, files)[0] for t in tasks]
    try:
        options = {} if connect_timeout is None else {"timeout": connect_timeout}
        client = Client(address, **options)
    except (OSError, TimeoutError, ValueError) as err:
        raise CourseError(f"cannot reach the Dask scheduler at {address}: {err}") from None
    with client:
        # The assignment's files go to the workers once, not with every task.
        shared = {src: client.scatter([content], broadcast=True, hash=False)[0]
                  for src, content in files.items()}
        futures = {}
        for i, (task, item) in enumerate(zip(tasks, packed, strict=True)):
            key = "grade-" + hashlib.sha1(
                f"{i}/{task['assignment']}/{task['student_id']}/{id(tasks)}".encode()
            ).hexdigest()[:16]
            future = client.submit(run_packed, func, shared[task["source"]], item,
                                   key=key, pure=False, retries=1)
            futures[future.key] = (i, future)
        for future in as_completed([f for _, f in futures.values()]):
            i = futures[future.key][0]
            try:
                result = future.result()
            except Exception as err:  # noqa: BLE001 - this submission only
                result = error_result(tasks[i], f"the cluster could not grade this "
                                                f"submission: {type(err).__name__}: {err}")
            future.release()
            yield i, result


__all__ = ["grade_on_cluster", "pack_task", "run_packed"]
