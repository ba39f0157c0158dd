"""Grade one submitted notebook: student cells in the sandbox, tests in the grader.

The instructor's source notebook (with solutions and hidden tests) is the only source of
test code and points. The submission contributes only its non-test code cells, which
run in a :class:`~autograder.sandbox.Session`. Then, in this process:

1. the source's setup cells (grade_id starting with ``setup``) run in a fresh namespace,
   so test cells find ``np`` and the checks helpers, the grader's own copies;
2. every other name the student defined is added as a proxy (functions, objects) or as
   plain data (numbers, arrays);
3. each test cell of the source runs in that namespace; it passes when it raises
   nothing. Its printed output and the failure message become the cell's outputs.

The result is plain data (a dict), ready to cross a process boundary, be written as
JSON and be replayed into nbgrader's autograde step.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import sys
import time
import zlib
from pathlib import Path

from .sandbox import RemoteFunction, SandboxConfig, SandboxDied, Session

OUTPUT_LIMIT = 20_000      # characters of a test cell's printed output kept

GRADED, TIMED_OUT, CRASHED = "graded", "timed out", "crashed"
INVALID, MISSING, ERROR = "invalid notebook", "missing notebook", "grader error"


def load_notebook_json(path: Path) -> dict:
    """Read a notebook as JSON, checking only the structure this grader relies on."""
    with open(path, encoding="utf-8") as f:
        nb = json.load(f)
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise ValueError("not a Jupyter notebook (no list of cells)")
    for cell in nb["cells"]:
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            raise ValueError("a cell is not a valid notebook cell")
    return nb


def cell_source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def nbgrader_meta(cell: dict) -> dict:
    meta = cell.get("metadata", {})
    meta = meta.get("nbgrader", {}) if isinstance(meta, dict) else {}
    return meta if isinstance(meta, dict) else {}


def is_test_cell(cell: dict) -> bool:
    meta = nbgrader_meta(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and \
        not meta.get("solution")


def is_setup_cell(cell: dict) -> bool:
    meta = nbgrader_meta(cell)
    return cell.get("cell_type") == "code" and str(meta.get("grade_id", "")).startswith("setup") \
        and not meta.get("solution") and not meta.get("grade")


def test_cells(source_nb: dict) -> list[dict]:
    """The source's test cells as ``{grade_id, points, code}``, in notebook order."""
    tests = []
    for cell in source_nb["cells"]:
        if is_test_cell(cell):
            meta = nbgrader_meta(cell)
            tests.append({"grade_id": str(meta["grade_id"]),
                          "points": float(meta.get("points", 0)),
                          "code": cell_source(cell)})
    return tests


def student_cells(submission_nb: dict, test_ids: set[str]) -> list[tuple[str, str]]:
    """The submission's code cells that are not tests, as (label, code)."""
    cells = []
    for index, cell in enumerate(submission_nb["cells"]):
        if cell.get("cell_type") != "code":
            continue
        meta = nbgrader_meta(cell)
        if is_test_cell(cell) or str(meta.get("grade_id", "")) in test_ids:
            continue
        code = cell_source(cell)
        # IPython magics and shell escapes have no meaning outside Jupyter.
        code = "\n".join("pass  # " + line if line.lstrip().startswith(("%", "!")) else line
                         for line in code.splitlines())
        cells.append((f"<cell {index + 1}>", code))
    return cells


def grading_seed(student_id: str, assignment: str, salt: str = "") -> int:
    """Seed for the hidden tests' random inputs: fixed per student and assignment, so a
    parallel run grades exactly as a serial one."""
    return zlib.crc32(f"{salt}/{assignment}/{student_id}".encode())


def grade_submission(source_path: str | Path, submission_path: str | Path | None,
                     assignment_dir: str | Path, *, student_id: str, assignment: str,
                     config: SandboxConfig | None = None, test_timeout: float = 300.0,
                     salt: str = "") -> dict:
    """Grade one notebook; returns a JSON-able dict (see module docstring).

    ``submission_path=None`` means the notebook is missing.
    """
    started = time.monotonic()
    source_nb = load_notebook_json(Path(source_path))
    tests = test_cells(source_nb)
    result = {"student_id": student_id, "assignment": assignment, "status": GRADED,
              "message": "", "max_score": sum(t["points"] for t in tests),
              "tests": {}, "cells": [], "events": []}

    def fail_all(status, message):
        result.update(status=status, message=message)
        for t in tests:
            result["tests"][t["grade_id"]] = _test_record(t, False, "", {
                "ename": "NotGraded", "evalue": message})
        result["score"] = 0.0
        result["seconds"] = round(time.monotonic() - started, 3)
        return result

    if submission_path is None:
        return fail_all(MISSING, "no notebook was submitted for this assignment")
    try:
        submission_nb = load_notebook_json(Path(submission_path))
    except (ValueError, UnicodeDecodeError) as err:
        return fail_all(INVALID, f"the notebook could not be read: {err}")

    config = config or SandboxConfig()
    # The assignment's own files (checks.py, given code, data), never its notebooks.
    support = sorted(str(p) for p in Path(assignment_dir).iterdir()
                     if p.is_file() and p.suffix != ".ipynb")
    config = dataclasses.replace(config, files=support)
    test_ids = {t["grade_id"] for t in tests}
    with Session(config) as session:
        try:
            for label, code in student_cells(submission_nb, test_ids):
                outcome = session.run_cell(label, code)
                result["cells"].append({"cell": label, **outcome})
            namespace = _grader_namespace(source_nb, Path(assignment_dir), session)
        except SandboxDied as err:
            # Not even the namespace could be listed: every test fails, status says why.
            namespace = None
            result["events"].append({"kind": "crash", "where": "setup", "detail": str(err)})
        seed = grading_seed(student_id, assignment, salt)
        for t in tests:
            if namespace is None:
                result["tests"][t["grade_id"]] = _test_record(
                    t, False, "", {"ename": "Crash", "evalue": "the student's code could not "
                                   "be loaded (see the status of this submission)"})
                continue
            result["tests"][t["grade_id"]] = _run_test(t, namespace, seed, test_timeout)
        result["events"] += [e.__dict__ for e in session.events]

    kinds = {e["kind"] for e in result["events"]}
    if "timeout" in kinds:
        result["status"] = TIMED_OUT
    elif "crash" in kinds:
        result["status"] = CRASHED
    if result["events"]:
        result["message"] = "; ".join(f"{e['where']}: {e['detail']}" for e in result["events"])
    result["score"] = sum(r["score"] for r in result["tests"].values())
    result["seconds"] = round(time.monotonic() - started, 3)
    return result


def _grader_namespace(source_nb: dict, assignment_dir: Path, session: Session) -> dict:
    """Setup cells from the source, then the student's names as proxies or data."""
    namespace = {"__name__": "__grader__"}
    if str(assignment_dir) not in sys.path:
        sys.path.insert(0, str(assignment_dir))
    with _cwd(assignment_dir), contextlib.redirect_stdout(io.StringIO()):
        for cell in source_nb["cells"]:
            if is_setup_cell(cell):
                exec(compile(cell_source(cell), "<setup>", "exec"), namespace)
    for name, kind in session.names():
        if name in namespace or kind == "module":
            continue            # the grader's own numpy, checks helpers, given code
        if kind == "callable":
            namespace[name] = RemoteFunction(session, name)
        else:
            try:
                namespace[name] = session.request_value({"op": "get", "name": name}, name)
            except Exception:  # noqa: BLE001 - a value that can't be fetched is just absent
                continue
    return namespace


def _run_test(test: dict, namespace: dict, seed: int, timeout: float) -> dict:
    out = io.StringIO()
    old_seed = os.environ.get("CONVNETS_GRADING_SEED")
    os.environ["CONVNETS_GRADING_SEED"] = str(seed)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            code = compile(test["code"], f"<test {test['grade_id']}>", "exec")
            exec(code, namespace)
        return _test_record(test, True, out.getvalue(), None)
    except BaseException as exc:  # noqa: BLE001 - a test fails on anything it raises
        if isinstance(exc, KeyboardInterrupt):
            raise
        return _test_record(test, False, out.getvalue(), _describe_failure(exc))
    finally:
        if old_seed is None:
            os.environ.pop("CONVNETS_GRADING_SEED", None)
        else:
            os.environ["CONVNETS_GRADING_SEED"] = old_seed


def _describe_failure(exc: BaseException) -> dict:
    """What went wrong, without showing the test's code: the exception and, when it came
    from student code, the student's own traceback."""
    ename = type(exc).__name__
    evalue = str(exc)
    if isinstance(exc, NameError):
        evalue += " (is the function defined, and does its cell run without errors?)"
    return {"ename": ename, "evalue": evalue[:4000],
            "student_traceback": getattr(exc, "student_traceback", "")[:8000]}


def _test_record(test: dict, passed: bool, stdout: str, failure: dict | None) -> dict:
    if len(stdout) > OUTPUT_LIMIT:
        stdout = stdout[:OUTPUT_LIMIT] + "\n... [output truncated]\n"
    return {"grade_id": test["grade_id"], "points": test["points"],
            "score": test["points"] if passed else 0.0, "passed": passed,
            "stdout": stdout, "failure": failure}


@contextlib.contextmanager
def _cwd(path: Path):
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def format_failure(failure: dict) -> str:
    """Human-readable failure text for feedback."""
    text = f"{failure.get('ename', 'Error')}: {failure.get('evalue', '')}"
    if failure.get("student_traceback"):
        text += "\n\nIn your code:\n" + failure["student_traceback"]
    return text


__all__ = ["grade_submission", "format_failure", "GRADED", "TIMED_OUT", "CRASHED",
           "INVALID", "MISSING", "ERROR"]
