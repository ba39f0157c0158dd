"""Collect, grade, record, give feedback, export: the instructor's workflow end to end.

``grade_batch`` is what ``make grade`` runs, each student on their own, so that a stage
failing for one student is that student's status and never the class's:

1. collect: every ``<submissions>/<student>/<assignment>/*.ipynb`` is checked (valid
   JSON notebook? the expected name, or the only notebook there?) and staged into the
   course's ``submitted/`` folder, the roles of its cells taken from the source
   (:func:`stage`), after what an earlier run left for that student is removed; the
   others get a status at once;
2. grade: each collected notebook is graded by :func:`autograder.execute.grade_submission`
   (student code sandboxed; one submission per worker process, ``workers`` at a time);
3. record: nbgrader's autograde replays the results into the student's autograded
   notebook and the gradebook, one student per call, in this process;
4. feedback: nbgrader's generate_feedback for that student (hidden tests cleared from
   the test cells); a failure here is the status ``feedback failed``;
5. the CSV of ``student_id, assignment, score, max_score, status, message``: this
   batch's rows, and the earlier rows of the students not in it.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import os
import re
import shutil
import sys
import zipfile
import zlib
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from . import course as course_mod
from .execute import (
    CRASHED,
    ERROR,
    FEEDBACK_FAILED,
    GRADED,
    INVALID,
    MAX_NOTEBOOK_BYTES,
    MISSING,
    TIMED_OUT,
    cell_source,
    grade_submission,
    is_test_cell,
    load_notebook_json,
    nbgrader_meta,
    notebook_digest,
    trusted_notebook,
)
from .inert import inert_line, seal_html, shown_id
from .sandbox import Limits, SandboxConfig, default_hidden_paths

CSV_FIELDS = ["student_id", "assignment", "score", "max_score", "status", "message",
              "auto_score", "manual_score", "written", "first_name", "last_name",
              "timestamp", "hours_late", "late_penalty"]
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S UTC"
# The written part's state in the CSV.
WRITTEN_PENDING, WRITTEN_GRADED = "to be graded by a person", "graded by a person"
WRITTEN_BLANK = "not answered (0 points)"
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,99}$")


@dataclass
class Submission:
    student_id: str
    notebook: Path | None          # the notebook to grade, None when missing/invalid
    status: str = GRADED
    message: str = ""


# ---------------------------------------------------------------------------------------
# 1. collect
# ---------------------------------------------------------------------------------------

def extract_zip(archive: Path, dest: Path, assignment: str) -> tuple[Path, dict[str, str]]:
    """Unpack an LMS download into ``<dest>/<student>/<assignment>/``; returns the folder
    and, for every student whose entries could not be unpacked, why.

    Two layouts are understood: the folder layout zipped as it is
    (``<student>/<assignment>/<nb>.ipynb``, or ``<student>/<nb>.ipynb``, optionally under
    one top folder), and the flat layout of LMS downloads, where the student is the part
    of the file name before the first underscore (``<student>_<anything>.ipynb``, as
    Canvas and Moodle name them). An entry that cannot be read (encrypted, corrupt, a
    bomb, an owner that cannot name a folder) costs its owner only: they get a row with
    the reason, the others are unpacked.
    """
    dest.mkdir(parents=True, exist_ok=True)
    rejected: dict[str, str] = {}
    unpacked: set[str] = set()
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as err:
        raise course_mod.CourseError(f"{archive} cannot be read as a zip file: {err}") from None
    with zf:
        for info in zf.infolist():
            if info.is_dir() or not info.filename.endswith(".ipynb"):
                continue
            owner, name = _zip_owner(info.filename, assignment)
            if owner is None:
                continue
            why = None
            if not STUDENT_ID.match(owner):
                why = f"the student id {owner!r} in the zip is not a valid id"
            elif info.file_size > MAX_NOTEBOOK_BYTES:
                why = (f"{info.filename!r} in the zip is larger than "
                       f"{MAX_NOTEBOOK_BYTES // 2**20} MB unpacked")
            else:
                target = dest / owner / assignment
                target.mkdir(parents=True, exist_ok=True)
                why = _unpack(zf, info, target / Path(name).name)
                if why is None:
                    _zip_timestamp(target / "timestamp.txt", info)
                    unpacked.add(owner)
            if why and owner not in unpacked:
                rejected.setdefault(owner, why)
    return dest, {k: v for k, v in rejected.items() if k not in unpacked}


def _zip_owner(filename: str, assignment: str) -> tuple[str | None, str]:
    """Whose entry this is, and the notebook's name (see :func:`extract_zip`)."""
    parts = [p for p in filename.split("/") if p not in ("", ".", "..")]
    if not parts:
        return None, ""
    name = parts[-1]
    if len(parts) >= 3 and parts[-2] == assignment:
        return parts[-3], name
    if "_" in name and name != f"{assignment}.ipynb":
        return name.split("_", 1)[0], f"{assignment}.ipynb"
    if len(parts) >= 2:
        return parts[-2], name
    return None, name


def _unpack(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path) -> str | None:
    """Copy one entry, never more than the notebook limit whatever its header says;
    None when done, else why not (the partial file is removed)."""
    written = 0
    try:
        with zf.open(info) as src, open(path, "wb") as out:
            while chunk := src.read(1 << 20):
                written += len(chunk)
                if written > MAX_NOTEBOOK_BYTES:
                    raise ValueError(f"more than {MAX_NOTEBOOK_BYTES // 2**20} MB unpacked")
                out.write(chunk)
        return None
    except (RuntimeError, ValueError, OSError, EOFError, zipfile.BadZipFile,
            NotImplementedError, zlib.error) as err:
        path.unlink(missing_ok=True)
        return f"{info.filename!r} in the zip could not be unpacked: {err}"


def _zip_timestamp(path: Path, info: zipfile.ZipInfo) -> None:
    """The submission time an LMS zip records for the entry (its modification time; zip
    stores no time zone: read as UTC), kept as nbgrader's ``timestamp.txt``; the
    latest entry of a student wins."""
    try:
        when = dt.datetime(*info.date_time)
    except ValueError:
        return
    if path.is_file():
        try:
            if dt.datetime.strptime(path.read_text().strip(), TIMESTAMP_FORMAT) >= when:
                return
        except ValueError:
            pass
    path.write_text(when.strftime(TIMESTAMP_FORMAT))


def find_submissions(submissions: Path, assignment: str,
                     rejected: dict[str, str] | None = None) -> list[Submission]:
    """One entry per student folder, with the notebook to grade or why there is none;
    and one per student of ``rejected`` (the zip entries that could not be unpacked)."""
    if not submissions.is_dir():
        raise course_mod.CourseError(f"no submissions folder at {submissions}")
    found = [Submission(student, None, INVALID, why)
             for student, why in sorted((rejected or {}).items())]
    for student_dir in sorted(p for p in submissions.iterdir() if p.is_dir()):
        student = student_dir.name
        if student.startswith(".") or student in (rejected or {}):
            continue
        if not STUDENT_ID.match(student):
            found.append(Submission(student, None, INVALID,
                                    f"student folder name {student!r} is not a valid id"))
            continue
        adir = student_dir / assignment
        notebooks = sorted(adir.glob("*.ipynb")) if adir.is_dir() else []
        exact = adir / f"{assignment}.ipynb"
        if exact in notebooks:
            found.append(Submission(student, exact))
        elif len(notebooks) == 1:
            found.append(Submission(student, notebooks[0], GRADED,
                                    f"graded {notebooks[0].name} (the only notebook) as "
                                    f"{assignment}.ipynb"))
        elif not notebooks:
            found.append(Submission(student, None, MISSING,
                                    f"no notebook in {assignment}/ (expected "
                                    f"{assignment}.ipynb)"))
        else:
            names = ", ".join(n.name for n in notebooks)
            found.append(Submission(student, None, MISSING,
                                    f"{assignment}.ipynb not found and several other "
                                    f"notebooks are there ({names}): which one to grade?"))
    return found


def stage(course: Path, assignment: str, sub: Submission,
          source_nb: dict | None = None) -> None:
    """Write a valid notebook into ``submitted/``, as nbgrader's autograde step will read
    it, and point ``sub.notebook`` at it; an invalid one gets its status instead.

    The staged notebook is :func:`autograder.execute.trusted_notebook` of the submission:
    the roles of its cells come from the source notebook (``source_nb``, read from the
    course when not given), so whatever nbgrader metadata a student forged, nbgrader
    reads a consistent notebook. Before that, only the first cell claiming each
    grade_id keeps its claim, and a later cell posing as a test is dropped (the
    source's copy counts). A ``timestamp.txt`` next to the submission is copied when it
    is a small regular file holding a date nbgrader can read.
    """
    try:
        raw = load_notebook_json(sub.notebook)
    except (OSError, ValueError, UnicodeDecodeError) as err:
        sub.status, sub.notebook = INVALID, None
        sub.message = f"the notebook is not valid: {err}"
        return
    if source_nb is None:
        source_nb = load_notebook_json(course_mod.source_notebook(course, assignment),
                                       max_bytes=1 << 40)
    claims, seen = [], set()
    for cell in raw["cells"]:
        new = {"cell_type": cell["cell_type"], "source": cell_source(cell), "metadata": {}}
        meta = nbgrader_meta(cell)
        grade_id = meta.get("grade_id")
        if isinstance(grade_id, str) and grade_id not in seen:
            seen.add(grade_id)
            new["metadata"]["nbgrader"] = meta
        elif is_test_cell(cell):
            continue                 # a duplicated test cell: the source's copy counts
        claims.append(new)
    clean = trusted_notebook({"cells": claims}, source_nb)
    dest = course / "submitted" / sub.student_id / assignment
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    (dest / f"{assignment}.ipynb").write_text(json.dumps(clean, indent=1))
    stamp = sub.notebook.parent / "timestamp.txt"
    # Only a small regular file: never follow a link (to /etc/shadow, to the gradebook).
    if stamp.is_file() and not stamp.is_symlink() and stamp.stat().st_size <= 1024:
        shutil.copyfile(stamp, dest / "timestamp.txt", follow_symlinks=False)
        _check_timestamp(dest / "timestamp.txt")
    sub.notebook = dest / f"{assignment}.ipynb"


def _check_timestamp(path: Path) -> None:
    """Remove a staged timestamp.txt that nbgrader could not read (it would fail the
    whole autograde run): not a small regular file, or not a date."""
    if not os.path.lexists(path):
        return
    try:
        from nbgrader.utils import parse_utc

        if path.is_symlink() or not path.is_file() or path.stat().st_size > 1000:
            raise ValueError("not a small regular file")
        parse_utc(path.read_text(encoding="utf-8").strip())
    except Exception:  # noqa: BLE001 - whatever nbgrader would choke on
        path.unlink()


# ---------------------------------------------------------------------------------------
# 2. grade (one submission per worker)
# ---------------------------------------------------------------------------------------

# The grading worker's own limits while it grades one submission (the student's code has
# its own, in the sandbox): checks on what a student returned run here. The memory is
# what the worker may add to what it holds when the submission's grading starts.
GRADER_MEMORY_BYTES = 2 * 1024**3
GRADER_EXTRA_SECONDS = 120          # beyond the submission's time budget


class GraderTimeout(Exception):
    """Grading one submission took longer than its budget plus the grader's allowance."""


def _memory_bytes(field: str) -> int | None:
    """A memory figure of this process from /proc/self/status, in bytes: ``VmSize``
    (address space), ``VmRSS`` (resident) or ``VmHWM`` (peak resident); None where
    /proc cannot tell."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _reset_peak() -> int | None:
    """Start measuring this process's peak memory afresh (Linux: writing 5 to
    clear_refs resets VmHWM); returns its resident memory now, None where unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return None
    return _memory_bytes("VmRSS")


# The reference package's convolutions in the hidden tests run one fixed strategy:
# the same answers on every machine, and no grading worker pays for calibrating the
# cost model that chooses one (convnets.layers.conv_fast.FIXED_METHOD_ENV).
REFERENCE_ENVIRONMENT = {"CONVNETS_CONV_METHOD": "im2col"}


@contextlib.contextmanager
def environment(**changes: str):
    """``os.environ`` with ``changes`` for the block, each changed key restored (or
    removed) after it."""
    saved = {key: os.environ.get(key) for key in changes}
    os.environ.update(changes)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _grade_task(args: dict) -> dict:
    """Grade one submission in this worker, and record what its checks cost the worker
    in memory (``grader_peak_bytes``: peak resident memory above the start)."""
    start = _reset_peak()
    with environment(**REFERENCE_ENVIRONMENT):
        result = _grade_bounded(args)
    peak = _memory_bytes("VmHWM") if start is not None else None
    if peak is not None:
        result["grader_peak_bytes"] = max(peak - start, 0)
    return result


def _grade_bounded(args: dict) -> dict:
    config = SandboxConfig(limits=Limits(**args["limits"]), hide=args["hide"])
    seconds = config.limits.submission_timeout + GRADER_EXTRA_SECONDS
    try:
        with grader_limits(GRADER_MEMORY_BYTES, seconds):
            return grade_submission(args["source"], args["notebook"], args["assignment_dir"],
                                    student_id=args["student_id"],
                                    assignment=args["assignment"], config=config)
    except MemoryError:
        return _limit_result(args, CRASHED, "the grader ran out of memory checking this "
                             f"submission (its limit is {GRADER_MEMORY_BYTES // 2**20} MB)")
    except GraderTimeout:
        return _limit_result(args, TIMED_OUT, f"grading it took longer than {seconds:.0f} s")
    except Exception as err:  # noqa: BLE001 - a grader bug must not stop the class
        return _limit_result(args, ERROR, f"{type(err).__name__}: {err}")


def _limit_result(args: dict, status: str, message: str) -> dict:
    return {"student_id": args["student_id"], "assignment": args["assignment"],
            "status": status, "message": message[:4000], "score": 0.0, "max_score": 0.0,
            "tests": {}, "cells": [], "events": []}


@contextlib.contextmanager
def grader_limits(memory_bytes: int, seconds: float):
    """Bound this process's address space (soft RLIMIT_AS: the sandbox below may still
    set its own) and the time of the block (SIGALRM raises GraderTimeout), then restore
    both. Only in the main thread of a process (a thread cannot own a signal, and a
    process-wide limit would bind a threaded Dask worker's other tasks)."""
    import resource
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    # on top of what the process holds now
    limit = (_memory_bytes("VmSize") or 0) + memory_bytes
    for bound in (soft, hard):
        if bound != resource.RLIM_INFINITY:
            limit = min(limit, bound)

    def expire(_signum, _frame):
        raise GraderTimeout

    old_handler = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old_handler)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def grade_one(course: Path, assignment: str, student: str, notebook: Path,
              limits: dict | None = None) -> dict:
    """Grade one notebook already in ``submitted/`` (formgrader's Autograde button, via
    :func:`autograder.replay.results_for`), the way :func:`grade_batch` grades each
    student: sandboxed, in a worker process with the grader's limits."""
    source = course_mod.source_notebook(course, assignment)
    task = {"source": str(source), "assignment_dir": str(source.parent),
            "assignment": assignment, "limits": limits or {},
            "hide": default_hidden_paths(course), "student_id": student,
            "notebook": str(notebook)}
    if not notebook.is_file():
        return _limit_result(task, MISSING, f"no notebook at {notebook}")
    result = grade_all([task], workers=1, progress=False)[0]
    result["notebook_sha256"] = notebook_digest(notebook)
    return result


def grade_all(tasks: list[dict], workers: int, progress: bool = True,
              scheduler: str | None = None) -> list[dict]:
    """Grade every task, ``workers`` at a time, or on the Dask cluster at ``scheduler``;
    results in the order of ``tasks``, the same whichever way they were computed.

    The tasks' notebooks are only read (:func:`stage` wrote them for nbgrader; grading
    takes the roles of cells from the source in any case). Locally, each submission is
    graded in a worker process (its student code in a sandbox below it); a worker
    process that dies costs only its own submission (status "grader error"), the others
    are graded again in a fresh pool. Workers are forked directly when this process has
    no other thread (cheap), from a preloaded fork server otherwise (safe).
    """
    import multiprocessing
    import threading
    from concurrent.futures.process import BrokenProcessPool

    from .execute import error_result

    results: dict[int, dict] = {}
    if scheduler:
        from .distributed import grade_on_cluster
        bar = _progress(len(tasks), progress)
        for i, result in grade_on_cluster(_grade_task, tasks, scheduler):
            results[i] = result
            bar.update(1)
    elif workers <= 1 or len(tasks) <= 1:
        bar = _progress(len(tasks), progress)
        for i, task in enumerate(tasks):
            results[i] = _grade_task(task)
            bar.update(1)
    else:
        bar = None
        pending, rounds = list(range(len(tasks))), 0
        while pending:
            if threading.active_count() == 1 and \
                    "fork" in multiprocessing.get_all_start_methods():
                ctx = multiprocessing.get_context("fork")
            else:
                ctx = multiprocessing.get_context("forkserver")
                ctx.set_forkserver_preload(["autograder.execute"])
            # Round 0: all together; then the survivors of a broken pool again; then
            # one pool per submission, to find the one that breaks its worker.
            size = 1 if rounds >= 2 else min(workers, len(pending))
            batches = [[i] for i in pending] if size == 1 else [pending]
            broken = []
            for batch in batches:
                with ProcessPoolExecutor(max_workers=size, mp_context=ctx) as pool:
                    futures = {pool.submit(_grade_task, tasks[i]): i for i in batch}
                    # The progress bar's thread starts after the workers were forked.
                    if bar is None:
                        bar = _progress(len(tasks), progress)
                    for future in as_completed(futures):
                        i = futures[future]
                        try:
                            results[i] = future.result()
                        except BrokenProcessPool:
                            if rounds >= 2:
                                results[i] = error_result(
                                    tasks[i], "the grading process died (out of memory?)")
                            else:
                                broken.append(i)
                                continue
                        except Exception as err:  # noqa: BLE001 - one submission only
                            results[i] = error_result(tasks[i], f"{type(err).__name__}: {err}")
                        bar.update(1)
            pending, rounds = sorted(broken), rounds + 1
    bar.close()
    return [results[i] for i in range(len(tasks))]


def _progress(total: int, enabled: bool):
    try:
        from tqdm import tqdm
    except ImportError:
        enabled = False
    if not enabled:
        class _Quiet:
            def update(self, n):
                pass

            def close(self):
                pass
        return _Quiet()
    return tqdm(total=total, desc="grading", unit="submission")


# ---------------------------------------------------------------------------------------
# The whole job for one assignment
# ---------------------------------------------------------------------------------------

@dataclass
class Batch:
    """What one ``grade`` run did: the CSV (every student of the assignment graded so
    far) and the rows of this run's students."""

    csv: Path
    rows: list[dict]

    @property
    def exit_status(self) -> int:
        """0 every student of the run graded, 1 some student has another status, 2 no
        submission could be graded at all."""
        if not any(r["status"] in SCORED for r in self.rows):
            return 2
        return 0 if all(r["status"] == GRADED for r in self.rows) else 1


# Statuses of a submission whose code ran and whose score stands.
SCORED = (GRADED, TIMED_OUT, CRASHED, FEEDBACK_FAILED)


def grade_assignment(course: Path, assignment: str, submissions: Path, **options) -> Path:
    """Grade every student in ``submissions``; returns the CSV's path (see
    :func:`grade_batch` for the options)."""
    return grade_batch(course, assignment, submissions, **options).csv


def grade_batch(course: Path, assignment: str, submissions: Path, *,
                workers: int | None = None, limits: dict | None = None,
                progress: bool = True, feedback: bool = True,
                scheduler: str | None = None,
                students: list[str] | None = None) -> Batch:
    """Grade the students of ``submissions`` (only ``students`` when given), each on
    their own: a stage that fails for one student gives that student a status and the
    others go on. Students graded earlier and not in this batch keep their files,
    gradebook entries and CSV rows."""
    course = Path(course).resolve()
    course_mod.check_assignment(assignment)
    source = course_mod.source_notebook(course, assignment)
    if not source.is_file():
        course_mod.build(course, [assignment])
    submissions = Path(submissions).resolve()
    if submissions.suffix == ".zip":
        downloaded = course / "downloaded" / assignment
        if downloaded.exists():
            shutil.rmtree(downloaded)   # the zip is the record; this is its unpacked copy
        submissions, rejected = extract_zip(submissions, downloaded, assignment)
    else:
        rejected = {}
    subs = find_submissions(submissions, assignment, rejected)
    if students:
        subs = _only(subs, students, submissions)
    if not subs:
        raise course_mod.CourseError(f"no student folders in {submissions}")

    reviewed = {}                     # answers a person graded, as they were graded
    for sub in subs:
        if STUDENT_ID.match(sub.student_id):
            reviewed[sub.student_id] = _graded_answers(course, assignment, sub.student_id)
            _forget(course, assignment, sub.student_id)
    source_nb = load_notebook_json(source, max_bytes=1 << 40)
    for sub in subs:
        if sub.notebook is not None:
            stage(course, assignment, sub, source_nb)
    hide = default_hidden_paths(course, submissions)
    base = {"source": str(source), "assignment_dir": str(source.parent),
            "assignment": assignment, "hide": hide, "limits": limits or {}}
    graded = [s for s in subs if s.notebook is not None]
    tasks = [{**base, "student_id": s.student_id, "notebook": str(s.notebook)}
             for s in graded]
    results = grade_all(tasks, workers or os.cpu_count() or 1, progress, scheduler)

    results_dir = course / "results" / assignment
    results_dir.mkdir(parents=True, exist_ok=True)
    for sub, result in zip(graded, results, strict=True):
        if sub.message:
            result["message"] = "; ".join(m for m in (sub.message, result["message"]) if m)
        result["notebook_sha256"] = notebook_digest(sub.notebook)
        result["staged"] = True          # the notebook in submitted/ is stage()'s
        (results_dir / f"{sub.student_id}.json").write_text(json.dumps(result))

    # Record (nbgrader autograde: the gradebook) and feedback, one student at a time.
    failures: dict[str, tuple[str, str]] = {}
    if graded:
        course_mod.set_due_dates(course, [assignment])
        nbgrader = course_mod.NbgraderInProcess(course)
        for sub in graded:
            why = nbgrader.autograde(assignment, sub.student_id)
            if why:
                failures[sub.student_id] = (ERROR, f"nbgrader could not record it: {why}")
                continue
            _keep_reviews(course, assignment, sub.student_id, reviewed.get(sub.student_id))
            if feedback:
                why = nbgrader.feedback(assignment, sub.student_id) or \
                    seal_feedback(course, assignment, sub.student_id)
                if why:
                    failures[sub.student_id] = (FEEDBACK_FAILED,
                                                f"no feedback page could be made: {why}")
    facts = gradebook_facts(course, assignment)
    max_score = _max_score(source_nb)
    result_of = {id(s): r for s, r in zip(graded, results, strict=True)}
    rows = []
    for sub in subs:
        result = result_of.get(id(sub))
        if result is None:
            rows.append(_row(sub.student_id, assignment, 0.0, max_score, sub.status,
                             sub.message))
            continue
        fact = facts.get(sub.student_id)
        status, message = result["status"], result["message"]
        if sub.student_id in failures:
            failed_status, why = failures[sub.student_id]
            if status == GRADED or failed_status == ERROR:
                status = failed_status
            message = "; ".join(m for m in (message, why) if m)
        if fact is None or status == ERROR:
            if status != ERROR:
                status, message = ERROR, "nbgrader did not record this submission; " + message
            rows.append(_row(sub.student_id, assignment, 0.0, max_score, status, message))
            continue
        if abs(fact["auto_score"] - result["score"]) > 1e-9:
            message += (f" (gradebook's automatic points {fact['auto_score']} differ from "
                        f"the grader's {result['score']})")
        rows.append({**_row(sub.student_id, assignment, 0.0, max_score, status, message),
                     **fact})
    path = course / "grades" / f"{assignment}.csv"
    write_csv(path, _merge(path, rows))
    return Batch(path, rows)


def write_feedback(course: Path, assignment: str) -> dict[str, str]:
    """(Re)write the feedback of every autograded student, one at a time; returns the
    students whose feedback could not be made, with why."""
    course = Path(course).resolve()
    students = sorted(p.parent.name for p in (course / "autograded").glob(f"*/{assignment}")
                      if p.is_dir())
    failed = {}
    if students:
        nbgrader = course_mod.NbgraderInProcess(course)
        for student in students:
            why = nbgrader.feedback(assignment, student) or \
                seal_feedback(course, assignment, student)
            if why:
                failed[student] = why
    return failed


def seal_feedback(course: Path, assignment: str, student: str) -> str | None:
    """Give each feedback page of the student a Content-Security-Policy (no script, no
    request to any host), so that whatever slipped through in the student's text stays
    inert where the page is opened. None on success, else why not."""
    pages = sorted((course / "feedback" / student / assignment).glob("*.html"))
    if not pages:
        return "nbgrader wrote no feedback page"
    for page in pages:
        mode = page.stat().st_mode
        page.chmod(0o644)
        page.write_text(seal_html(page.read_text(encoding="utf-8")), encoding="utf-8")
        page.chmod(mode & 0o777)
    return None


def gradebook_facts(course: Path, assignment: str) -> dict[str, dict]:
    """Per student with a submission in the gradebook, the CSV fields it holds: the
    score of record (``score``: every cell's points, a person's where they gave some,
    minus the late penalty), ``max_score``, ``auto_score`` (the autograded cells, as
    graded), ``manual_score`` (points a person gave), ``written`` (the state of the
    part a person grades), names, the submission time and how late it was."""
    from nbgrader.api import MissingEntry

    facts: dict[str, dict] = {}
    db = course / "gradebook.db"
    if not db.exists():
        return facts
    with course_mod.open_gradebook(course) as gb:
        try:
            found = gb.find_assignment(assignment)
        except MissingEntry:
            return facts
        for sub in found.submissions:
            grades = [g for nb in sub.notebooks for g in nb.grades]
            manual_cells = [g for g in grades if g.cell_type == "markdown" or
                            (g.auto_score is None and g.cell_type == "code")]
            auto = sum(g.auto_score or 0.0 for g in grades if g.cell_type == "code")
            manual = sum(g.manual_score for g in grades if g.manual_score is not None)
            if not manual_cells:
                written = ""
            elif any(g.needs_manual_grade for g in grades):
                pending = sum(g.max_score for g in grades if g.needs_manual_grade)
                written = f"{WRITTEN_PENDING} ({pending:g} points)"
            elif all(g.manual_score is None for g in manual_cells):
                written = WRITTEN_BLANK          # nbgrader scored the blank answers 0
            else:
                written = WRITTEN_GRADED
            penalty = float(sub.late_submission_penalty or 0.0)
            student = sub.student
            facts[student.id] = {
                "score": round(max(float(sub.score) - penalty, 0.0), 4),
                "max_score": float(sub.max_score), "auto_score": round(auto, 4),
                "manual_score": round(manual, 4), "written": written,
                "first_name": inert_line(student.first_name or "", 100),
                "last_name": inert_line(student.last_name or "", 100),
                "timestamp": sub.timestamp.strftime(TIMESTAMP_FORMAT) if sub.timestamp
                else "",
                "hours_late": round(float(sub.total_seconds_late or 0.0) / 3600, 2),
                "late_penalty": round(penalty, 4)}
    return facts


def _row(student, assignment, score, max_score, status, message) -> dict:
    return {"student_id": shown_id(student), "assignment": assignment, "score": score,
            "max_score": max_score, "status": status, "message": inert_line(message, 4000)}


def _only(subs: list[Submission], students: list[str], folder: Path) -> list[Submission]:
    """The submissions of the named students; an unknown name is an error."""
    known = {s.student_id for s in subs}
    unknown = [s for s in students if s not in known]
    if unknown:
        raise course_mod.CourseError(
            f"no submission for {', '.join(map(repr, unknown))} in {folder}")
    return [s for s in subs if s.student_id in set(students)]


def _graded_answers(course: Path, assignment: str, student: str) -> dict[str, str]:
    """The source of each graded cell in the student's previous autograded notebook
    (empty when there is none or it cannot be read)."""
    path = course / "autograded" / student / assignment / f"{assignment}.ipynb"
    try:
        cells = load_notebook_json(path, max_bytes=MAX_NOTEBOOK_BYTES * 4)["cells"]
    except (OSError, ValueError, UnicodeDecodeError):
        return {}
    return {str(nbgrader_meta(c)["grade_id"]): cell_source(c) for c in cells
            if nbgrader_meta(c).get("grade") and nbgrader_meta(c).get("grade_id")}


def _keep_reviews(course: Path, assignment: str, student: str,
                  before: dict[str, str] | None) -> None:
    """A person's grade stays settled when the answer they graded is unchanged.

    nbgrader's autograde marks every cell that has a manual score as needing a new
    review, even when a rerun graded the very same notebook; here a cell whose source
    is what was graded keeps its points and comment *and* its reviewed state. A changed
    answer (a resubmission) keeps the points and comment and is marked for review.
    """
    if not before:
        return

    now = _graded_answers(course, assignment, student)
    with course_mod.open_gradebook(course) as gb:
        sub = gb.find_submission(assignment, student)
        for nb in sub.notebooks:
            for grade in nb.grades:
                if grade.manual_score is not None and grade.needs_manual_grade and \
                        grade.name in now and now[grade.name] == before.get(grade.name):
                    grade.needs_manual_grade = False
        gb.db.commit()


def _forget(course: Path, assignment: str, student: str) -> None:
    """Remove what an earlier run made for this student and assignment (the staged copy,
    nbgrader's autograded notebook and feedback, the results), so that a folder left by
    a crashed run, or one nbgrader fails on, cannot stand in for the new submission.
    The gradebook keeps its entry until nbgrader records the new one."""
    for folder in ("submitted", "autograded", "feedback"):
        path = course / folder / student / assignment
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.exists():
            _rmtree(path)
    result = course / "results" / assignment / f"{student}.json"
    if result.exists() or result.is_symlink():
        result.unlink()


def _rmtree(path: Path) -> None:
    """shutil.rmtree that also removes what nbgrader made read-only."""
    def retry(func, name, _exc):
        os.chmod(os.path.dirname(name), 0o755)
        if os.path.isdir(name) and not os.path.islink(name):
            os.chmod(name, 0o755)
        func(name)
    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=retry)
    else:
        shutil.rmtree(path, onerror=retry)


def _merge(path: Path, rows: list[dict]) -> list[dict]:
    """This batch's rows, and the earlier rows of every other student, by student id."""
    kept = {}
    if path.is_file():
        with open(path, newline="") as f:
            kept = {r["student_id"]: r for r in csv.DictReader(f)}
    kept.update({r["student_id"]: r for r in rows})
    return [kept[s] for s in sorted(kept)]


def _max_score(source_nb: dict) -> float:
    """Every graded cell's points: the tests and the answers a person grades."""
    cells = source_nb["cells"]
    return float(sum(float(nbgrader_meta(c).get("points") or 0) for c in cells
                     if nbgrader_meta(c).get("grade")))


def gradebook_scores(course: Path, assignment: str) -> dict[str, float]:
    from nbgrader.api import MissingEntry

    scores = {}
    db = course / "gradebook.db"
    if not db.exists():
        return scores
    with course_mod.open_gradebook(course) as gb:
        try:
            assignment_row = gb.find_assignment(assignment)
        except MissingEntry:
            return scores
        for submission in assignment_row.submissions:
            scores[submission.student.id] = float(submission.score)
    return scores


def write_csv(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, "") for k in CSV_FIELDS})
    return path


def export_all(course: Path) -> Path:
    """The CSVs rebuilt from the gradebook, the one truth: per assignment and ``all.csv``.

    Each student's status and message come from the last grading run (``grades/<a>.csv``),
    the points from the gradebook, so that what a person entered in formgrader (points on
    written answers, corrections) is in the export; students graded only through
    formgrader get a row too. Late penalties are recomputed first on the current points.
    """
    course = Path(course).resolve()
    everyone = []
    for name in course_mod.assignment_names():
        path = course / "grades" / f"{name}.csv"
        refresh_late_penalties(course, name)
        facts = gradebook_facts(course, name)
        rows = {}
        if path.is_file():
            with open(path, newline="") as f:
                rows = {r["student_id"]: r for r in csv.DictReader(f)}
        for student, fact in facts.items():
            row = rows.get(student) or _row(student, name, 0.0, fact["max_score"], GRADED,
                                           "graded in formgrader")
            if row["status"] in SCORED:
                row.update(fact)
            rows[student] = row
        if rows:
            ordered = [rows[s] for s in sorted(rows)]
            write_csv(path, ordered)
            everyone += ordered
    everyone.sort(key=lambda r: (r["student_id"], r["assignment"]))
    return write_csv(course / "grades" / "all.csv", everyone)


def refresh_late_penalties(course: Path, assignment: str) -> None:
    """Each late submission's penalty from the course's rule and its current points
    (nbgrader sets it once, at autograde, before a person's points are in)."""
    from nbgrader.api import MissingEntry

    from .late import rule_for

    db = course / "gradebook.db"
    if not db.exists():
        return
    rule = rule_for(assignment)
    with course_mod.open_gradebook(course) as gb:
        try:
            found = gb.find_assignment(assignment)
        except MissingEntry:
            return
        for sub in found.submissions:
            late = float(sub.total_seconds_late or 0.0)
            for nb in sub.notebooks:
                raw = sum(float(g.score or 0.0) for g in nb.grades)
                penalty = rule.penalty_for(raw, late) if late > 0 else 0.0
                nb.late_submission_penalty = penalty or None
        gb.db.commit()


def gradebook_table(csv_path: Path) -> str:
    """Students x assignments, ``score/max`` with the status when it is not 'graded'."""
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    students = sorted({r["student_id"] for r in rows})
    assignments = [a for a in course_mod.assignment_names()
                   if any(r["assignment"] == a for r in rows)]
    cell = {(r["student_id"], r["assignment"]): r for r in rows}

    def fmt(r):
        if r is None:
            return "-"
        text = f"{float(r['score']):g}/{float(r['max_score']):g}"
        notes = [] if r["status"] == GRADED else [r["status"]]
        if (r.get("written") or "").startswith(WRITTEN_PENDING):
            notes.append("written part " + WRITTEN_PENDING)
        if float(r.get("hours_late") or 0) > 0:
            notes.append(f"{float(r['hours_late']):g} h late")
        return f"{text} ({'; '.join(notes)})" if notes else text

    table = [["student"] + assignments]
    for s in students:
        table.append([s] + [fmt(cell.get((s, a))) for a in assignments])
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
