"""Grade one submitted notebook: student cells in the sandbox, tests in the grader.

The instructor's source notebook (with solutions and hidden tests) is the only source of
test code, points and cell roles. The submission contributes only the code of its
non-test cells (:func:`student_cells`), which runs in a
:class:`~autograder.sandbox.Session`; its nbgrader metadata is trusted for nothing
(:func:`trusted_notebook` keeps a cell's role only where the source agrees). Then, in
this process:

1. the source's setup cells (grade_id starting with ``setup``) run in a fresh namespace,
   so test cells find ``np`` and the checks helpers, the grader's own copies; so do the
   source's *given definitions* (locked cells that only define functions, classes and
   constants, such as a naive layer the tests compare with);
2. the names the source's own non-test cells define (what the student is asked to
   write) are looked up in the student's process and added as proxies (functions,
   objects) or as plain data (numbers, arrays); whatever else the student defined,
   such as a ``check_close``, ``isinstance`` or ``np`` of their own, is not visible
   to the tests;
3. each test cell of the source runs in that namespace; it passes when it raises
   nothing. Its printed output and the failure message become the cell's outputs.

The result is plain data (a dict), ready to cross a process boundary, be written as
JSON and be replayed into nbgrader's autograde step.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import dataclasses
import hashlib
import io
import json
import os
import stat
import sys
import time
import zlib
from pathlib import Path

from .sandbox import RemoteFunction, SandboxConfig, SandboxDied, Session, utf8

OUTPUT_LIMIT = 20_000              # characters of a test cell's printed output kept
MAX_NOTEBOOK_BYTES = 20 * 1024**2  # a submitted notebook larger than this is refused
MAX_CELLS = 10_000                 # a notebook with more cells is refused
MAX_CODE_CELLS = 1000              # student code cells run
CELL_OUTPUT_BUDGET = 1024**2       # characters of student-cell output kept per submission

GRADED, TIMED_OUT, CRASHED = "graded", "timed out", "crashed"
INVALID, MISSING, ERROR = "invalid notebook", "missing notebook", "grader error"
FEEDBACK_FAILED = "feedback failed"   # graded and recorded; its feedback page could not be made


# ---------------------------------------------------------------------------------------
# Reading notebooks
# ---------------------------------------------------------------------------------------

def load_notebook_json(path: Path, max_bytes: int = MAX_NOTEBOOK_BYTES) -> dict:
    """Read a notebook as JSON, checking the structure this grader relies on.

    Raises ``ValueError`` (with a message for the student) for anything that is not a
    regular file of at most ``max_bytes`` holding a notebook of at most MAX_CELLS cells:
    a symbolic link (to the instructor's source, say), a folder or a FIFO, invalid JSON
    (also JSON nested too deeply to parse), or JSON that is not a notebook. Text that
    UTF-8 cannot encode (lone surrogates) is replaced.
    """
    path = Path(path)
    for level in (path, path.parent, path.parent.parent):
        if level.is_symlink():
            raise ValueError(f"{level.name} is a symbolic link, not a submitted file")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as err:
        raise ValueError(f"cannot open the notebook ({err.strerror})") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise ValueError("the notebook is not a regular file")
    with os.fdopen(fd, "rb") as f:
        if info.st_size > max_bytes:
            raise ValueError(f"the notebook is too large ({info.st_size / 1024**2:.1f} MB; "
                             f"the limit is {max_bytes / 1024**2:.0f} MB)")
        data = f.read(min(max_bytes, info.st_size) + 1)
    if len(data) > max_bytes:
        raise ValueError("the notebook is too large")
    try:
        nb = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise ValueError(f"the notebook is not UTF-8 text ({err.reason})") from None
    except RecursionError:
        raise ValueError("the notebook's JSON is nested too deeply") from None
    except ValueError as err:
        raise ValueError(f"the notebook is not valid JSON ({err})") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise ValueError("not a Jupyter notebook (no list of cells)")
    if len(nb["cells"]) > MAX_CELLS:
        raise ValueError(f"the notebook has too many cells ({len(nb['cells'])}; the limit "
                         f"is {MAX_CELLS})")
    text = json.dumps(nb, ensure_ascii=False)
    if utf8(text) is not text:      # lone surrogates ("\ud800" escapes): replaced
        nb = json.loads(utf8(text))
    for cell in nb["cells"]:
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            raise ValueError("a cell is not a valid notebook cell")
        source = cell.get("source", "")
        if not (isinstance(source, str) or (isinstance(source, list)
                                            and all(isinstance(s, str) for s in source))):
            raise ValueError("a cell's source is not text")
        if not isinstance(cell.get("metadata", {}), dict):
            raise ValueError("a cell's metadata is not a dictionary")
    return nb


def notebook_digest(path: Path) -> str:
    """SHA-256 of a notebook file's bytes ("" when it cannot be read): what ties a
    grading result to the very notebook it was computed from."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""


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


def is_given_cell(cell: dict) -> bool:
    """A locked code cell of the source that is neither a solution, a test nor setup:
    code the students are given (a reference layer, a demo)."""
    meta = nbgrader_meta(cell)
    return (cell.get("cell_type") == "code" and bool(meta.get("locked"))
            and not meta.get("solution") and not meta.get("grade") and not is_setup_cell(cell))


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


# ---------------------------------------------------------------------------------------
# The submission, with the roles of its cells taken from the source
# ---------------------------------------------------------------------------------------

def trusted_notebook(submission_nb: dict, source_nb: dict) -> dict:
    """A clean nbformat-4 copy of the submission whose nbgrader metadata comes from the
    source.

    A cell keeps an nbgrader role only when its grade_id is one of the source's, is
    claimed for the first time, and the cell has the source cell's type; its metadata
    is then the source cell's (points, grade, locked, ...), and a locked cell's code is
    the source's (as nbgrader restores it). Every other claim is dropped: a student
    cell posing as a test or setup cell becomes a plain student cell, and a second
    copy of a test cell is removed. Source cells missing from the submission are put
    back (an empty answer; a locked cell's or test's own code). The student's markdown
    is made inert (:func:`inert_markdown`). Outputs, ids and all other metadata of the
    submission are dropped, so that the result is valid and consistent for nbgrader
    (no unknown, duplicated, missing or newer-schema metadata that would make
    ``autograde`` fail).
    """
    by_id, order = {}, []
    for cell in source_nb["cells"]:
        gid = nbgrader_meta(cell).get("grade_id")
        if isinstance(gid, str) and gid not in by_id:
            by_id[gid] = cell
            order.append(gid)
    test_ids = {gid for gid, cell in by_id.items() if is_test_cell(cell)}
    cells, claimed = [], {}
    for cell in submission_nb["cells"]:
        kind = cell["cell_type"]
        gid = nbgrader_meta(cell).get("grade_id")
        original = by_id.get(gid) if isinstance(gid, str) else None
        if original is not None and gid not in claimed and original.get("cell_type") == kind:
            new = _trusted_cell(original, cell_source(cell))
            claimed[gid] = new
        elif isinstance(gid, str) and gid in test_ids:
            continue              # a second copy of a test cell, or a re-pointed one
        else:
            new = _plain_cell(kind, cell_source(cell))
        cells.append(new)
    # Cells of the source the student deleted come back, after the cell that precedes
    # them in the source (nbgrader's own repair fails when that one is missing too):
    # an empty answer, or the source's code for locked cells and tests.
    previous = None
    for gid in order:
        if gid not in claimed:
            claimed[gid] = _trusted_cell(by_id[gid], "")
            at = 0 if previous is None else next(
                i + 1 for i, c in enumerate(cells) if c is claimed[previous])
            cells.insert(at, claimed[gid])
        previous = gid
    for index, cell in enumerate(cells):
        cell["id"] = f"c{index:05d}"
    return {"nbformat": 4, "nbformat_minor": 5, "cells": cells,
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                        "language": "python"},
                         "language_info": {"name": "python"}}}


def inert_markdown(text: str) -> str:
    """Student markdown that can neither run code nor load anything where the
    autograded notebook or the feedback is shown as HTML (formgrader, the feedback
    page). See :func:`autograder.inert.inert_markdown`."""
    from .inert import inert_markdown as inert

    return inert(text)


MAX_MARKDOWN_CHARS = 100_000     # of one student markdown cell kept for nbgrader's pages


def _plain_cell(kind: str, source: str) -> dict:
    if kind == "markdown":
        if len(source) > MAX_MARKDOWN_CHARS:   # rendering time grows faster than the size
            source = source[:MAX_MARKDOWN_CHARS] + (
                f"\n\n... [cut: this cell holds more than {MAX_MARKDOWN_CHARS:,} characters]")
        source = inert_markdown(source)
    cell = {"cell_type": kind, "id": "", "metadata": {}, "source": source}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def _trusted_cell(original: dict, source: str) -> dict:
    """A cell with the source cell's role: its metadata, and its code when locked."""
    cell = _plain_cell(original["cell_type"], source)
    meta = copy.deepcopy(nbgrader_meta(original))
    cell["metadata"]["nbgrader"] = meta
    if meta.get("locked") and not meta.get("solution"):
        cell["source"] = cell_source(original)
    return cell


# Locked cells whose grade_id starts with this only show something to the student (a
# photo filtered by their convolution, a speed comparison, a filter view): the grader
# needs nothing from them and does not run them. Their code is the source's (locked
# cells are restored from it), so a student cannot mark their own code as skippable.
DEMO_PREFIX = "demo_"


def is_demo_cell(cell: dict) -> bool:
    meta = nbgrader_meta(cell)
    return bool(meta.get("locked")) and not meta.get("grade") and not meta.get("solution") \
        and str(meta.get("grade_id", "")).startswith(DEMO_PREFIX)


def student_cells(submission_nb: dict, test_ids: set[str],
                  source_nb: dict | None = None) -> list[tuple[str, str]]:
    """The submission's code cells that are not tests, as (label, code).

    With ``source_nb``, cell roles come from the source (:func:`trusted_notebook`), and
    the source's demonstration cells (:data:`DEMO_PREFIX`) are left out.
    """
    if source_nb is not None:
        submission_nb = trusted_notebook(submission_nb, source_nb)
    cells = []
    for index, cell in enumerate(submission_nb["cells"]):
        if cell.get("cell_type") != "code":
            continue
        meta = nbgrader_meta(cell)
        if is_test_cell(cell) or str(meta.get("grade_id", "")) in test_ids:
            continue
        if source_nb is not None and is_demo_cell(cell):
            continue
        cells.append((f"<cell {index + 1}>", plain_python(cell_source(cell))))
    return cells


_RUN_BODY = {"time", "timeit", "capture", "prun", "debug"}


def plain_python(code: str) -> str:
    """A code cell as plain Python: ``%%writefile`` writes its file, ``%%time`` and the
    like run their body, other cell magics (``%%bash``, ``%%html``...) are skipped, and
    line magics and shell escapes (``%matplotlib``, ``!pip``) become ``pass``."""
    lines = code.splitlines()
    first = lines[0].strip() if lines else ""
    if first.startswith("%%"):
        name, _, arg = first[2:].partition(" ")
        body = "\n".join(lines[1:]) + "\n"
        if name == "writefile":
            args = arg.split()
            paths = [a for a in args if not a.startswith("-")]
            mode = "a" if {"-a", "--append"} & set(args) else "w"
            if not paths:
                return "pass"
            return f"with open({paths[-1]!r}, {mode!r}) as _f:\n    _f.write({body!r})\n"
        if name not in _RUN_BODY:
            return f"pass  # a %%{name} cell is not Python"
        lines = lines[1:]
    out = []
    for line in lines:
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")):
            line = line[:len(line) - len(stripped)] + "pass  # " + stripped
        out.append(line)
    return "\n".join(out)


def defined_names(code: str) -> set[str]:
    """Names a cell binds at its top level (functions, classes, assignments, imports,
    loop and ``with`` targets), not those inside function or class bodies."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    names = set()

    def visit(node):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            return
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp,
                             ast.GeneratorExp)):
            return
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name != "*":
                    names.add((alias.asname or alias.name).split(".")[0])
            return
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return names


def _only_definitions(code: str) -> bool:
    """True when a cell only defines functions, classes, imports and literal constants
    (running it has no effect beyond binding those names)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                             ast.Import, ast.ImportFrom)):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            try:
                ast.literal_eval(node.value)
                continue
            except (ValueError, TypeError, SyntaxError, RecursionError):
                return False
        return False
    return True


def grading_seed(student_id: str, assignment: str, salt: str = "",
                 submission: bytes = b"") -> int:
    """Seed for the hidden tests' random inputs: fixed per student, assignment and
    submitted bytes, so a parallel run or a regrade of the same notebook grades exactly
    as before, while a resubmission (any byte changed) meets new hidden cases: answers
    learnt from one round's feedback do not carry over. The grader salts it with a
    digest of the instructor's source notebook, which students do not have: they cannot
    predict their hidden inputs."""
    digest = hashlib.sha256(submission).hexdigest()[:16]
    return zlib.crc32(f"{salt}/{assignment}/{student_id}/{digest}".encode())


# ---------------------------------------------------------------------------------------
# Grading one notebook
# ---------------------------------------------------------------------------------------

def grade_submission(source_path: str | Path, submission_path: str | Path | None,
                     assignment_dir: str | Path, *, student_id: str, assignment: str,
                     config: SandboxConfig | None = None, salt: str = "") -> dict:
    """Grade one notebook; returns a JSON-able dict (see module docstring).

    ``submission_path=None`` means the notebook is missing. The time the student's code
    may take in all is ``config.limits.submission_timeout`` (cells, calls from the
    tests and restarts after crashes together).
    """
    started = time.monotonic()
    source_nb = load_notebook_json(Path(source_path), max_bytes=1 << 40)
    tests = test_cells(source_nb)
    config = config or SandboxConfig()
    result = {"student_id": student_id, "assignment": assignment, "status": GRADED,
              "message": "", "max_score": sum(t["points"] for t in tests),
              "tests": {}, "cells": [], "events": [],
              "sandbox": "bwrap" if Session(config).sandboxed else "none (not isolated)"}

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

    # The assignment's own files (checks.py, given code, data), never its notebooks.
    config = dataclasses.replace(config, files=support_files(Path(assignment_dir)))
    test_ids = {t["grade_id"] for t in tests}
    output_budget = CELL_OUTPUT_BUDGET
    with Session(config) as session:
        cells = student_cells(submission_nb, test_ids, source_nb)
        if len(cells) > MAX_CODE_CELLS:
            result["events"].append({"kind": "note", "where": f"<cell {MAX_CODE_CELLS + 1}>",
                                     "detail": f"only the first {MAX_CODE_CELLS} of "
                                               f"{len(cells)} code cells were run"})
        try:
            for label, code in cells[:MAX_CODE_CELLS]:
                outcome = session.run_cell(label, code)
                output_budget = _within_budget(outcome, output_budget)
                result["cells"].append({"cell": label, **outcome})
            namespace = _grader_namespace(source_nb, Path(assignment_dir), session)
        except SandboxDied:
            # Not even the names could be listed (the session recorded why): every test
            # fails, and the status says why.
            namespace = None
        salt = salt or hashlib.sha256(Path(source_path).read_bytes()).hexdigest()[:16]
        seed = grading_seed(student_id, assignment, salt, Path(submission_path).read_bytes())
        for t in tests:
            if namespace is None:
                result["tests"][t["grade_id"]] = _test_record(
                    t, False, "", {"ename": "Crash", "evalue": "the student's code could not "
                                   "be loaded (see the status of this submission)"})
                continue
            record = _run_test(t, namespace, seed)
            result["tests"][t["grade_id"]] = record
            if (record.get("failure") or {}).get("ename") == "MemoryError" and \
                    not record["failure"].get("student_traceback"):
                # The grader itself ran out of memory checking what the student returned.
                result["events"].append({"kind": "memory", "where": f"test {t['grade_id']}",
                                         "detail": "checking this answer reached the "
                                                   "grader's memory limit"})
        result["events"] += [e.__dict__ for e in session.events]
        if session.dropped_events:
            result["events"].append({"kind": "note", "where": "submission", "detail":
                                     f"{session.dropped_events} more crashes or timeouts"})

    kinds = {e["kind"] for e in result["events"]}
    if "timeout" in kinds:
        result["status"] = TIMED_OUT
    elif kinds & {"crash", "memory"}:
        result["status"] = CRASHED
    if result["events"]:
        result["message"] = "; ".join(f"{e['where']}: {e['detail']}"
                                      for e in result["events"])[:4000]
    result["score"] = sum(r["score"] for r in result["tests"].values())
    result["seconds"] = round(time.monotonic() - started, 3)
    return result


CUT = "\n... [cut: this submission's output budget is spent]\n"


def _within_budget(outcome: dict, budget: int) -> int:
    """Cut a cell's outcome (stdout, stderr, the error's message and traceback) to what
    is left of the submission's output budget; returns what is left after it. Counted
    across all cells, so that a thousand cells each raising a long error cannot write
    gigabytes of results, autograded notebook and feedback; what is cut says so."""
    def take(text: str) -> str:
        nonlocal budget
        if len(text) <= budget:
            budget -= len(text)
            return text
        kept, budget = text[:max(budget, 0)], 0
        return kept + CUT if text else kept

    for key in ("stdout", "stderr"):
        outcome[key] = take(outcome.get(key) or "")
    error = outcome.get("error")
    if error:
        error["evalue"] = take(str(error.get("evalue", "")))
        lines = []
        for line in error.get("traceback") or []:
            if budget <= 0:
                lines.append(CUT.strip())
                break
            lines.append(take(str(line)))
        error["traceback"] = lines
        error["ename"] = str(error.get("ename", "Error"))[:200]
    return budget


def support_files(assignment_dir: Path) -> list[str]:
    """What the student's process sees next to its notebook: the assignment's files
    (``checks.py``, given code, data) and folders, never a notebook (a folder holding
    one is left out: it could be an instructor's version)."""
    shown = []
    for path in sorted(assignment_dir.iterdir()):
        if path.name.startswith((".", "__pycache__")) or path.is_symlink():
            continue
        if path.is_file() and path.suffix != ".ipynb":
            shown.append(str(path))
        elif path.is_dir() and not any(path.rglob("*.ipynb")):
            shown.append(str(path))
    return shown


def error_result(task: dict, message: str) -> dict:
    """The result of a submission the grader itself failed on (status "grader error")."""
    return {"student_id": task["student_id"], "assignment": task["assignment"],
            "status": ERROR, "message": message[:4000], "score": 0.0, "max_score": 0.0,
            "tests": {}, "cells": [], "events": []}


def _grader_namespace(source_nb: dict, assignment_dir: Path, session: Session) -> dict:
    """Setup cells and given definitions from the source, then the names the source's
    non-test cells define, taken from the student's process as proxies or data."""
    namespace = {"__name__": "__grader__"}
    _use_assignment_dir(assignment_dir)
    expected = set()
    with _cwd(assignment_dir), contextlib.redirect_stdout(io.StringIO()):
        for cell in source_nb["cells"]:
            if is_setup_cell(cell):
                exec(compile(cell_source(cell), "<setup>", "exec"), namespace)
            elif is_given_cell(cell) and _only_definitions(cell_source(cell)):
                try:
                    exec(compile(cell_source(cell), "<given>", "exec"), namespace)
                except Exception:  # noqa: BLE001 - then the student's copy is used
                    pass
            if cell.get("cell_type") == "code" and not is_test_cell(cell):
                expected |= defined_names(cell_source(cell))
    for name, kind in session.names():
        if name in namespace or name not in expected or kind == "module":
            continue            # the grader's own numpy, checks helpers, given code
        if kind == "callable":
            namespace[name] = RemoteFunction(session, name)
        else:
            try:
                namespace[name] = session.request_value({"op": "get", "name": name}, name)
            except Exception:  # noqa: BLE001 - a value that can't be fetched is just absent
                continue
    return namespace


_ASSIGNMENT_DIRS: set[str] = set()


def _use_assignment_dir(assignment_dir: Path) -> None:
    """Put the assignment's folder first on ``sys.path`` (its ``checks.py``), and forget
    modules imported from the folder of another assignment graded in this process."""
    current = str(assignment_dir)
    others = _ASSIGNMENT_DIRS - {current}
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None) or ""
        if any(path.startswith(d.rstrip(os.sep) + os.sep) for d in others):
            del sys.modules[name]
    sys.path[:] = [p for p in sys.path if p not in others and p != current]
    sys.path.insert(0, current)
    _ASSIGNMENT_DIRS.add(current)


def _run_test(test: dict, namespace: dict, seed: int) -> dict:
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
    try:
        evalue = str(exc)
    except Exception:  # noqa: BLE001 - defensive: a message that cannot be shown
        evalue = "<no message>"
    if isinstance(exc, NameError):
        evalue += " (is the function defined, and does its cell run without errors?)"
    trace = getattr(exc, "student_traceback", "")
    return {"ename": ename, "evalue": evalue[:4000],
            "student_traceback": trace[:8000] if isinstance(trace, str) else ""}


def _test_record(test: dict, passed: bool, stdout: str, failure: dict | None) -> dict:
    if len(stdout) > OUTPUT_LIMIT:
        stdout = stdout[:OUTPUT_LIMIT] + "\n... [output truncated]\n"
    stdout = utf8(stdout)
    if failure:
        failure = {k: utf8(v) if isinstance(v, str) else v for k, v in failure.items()}
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


__all__ = ["grade_submission", "format_failure", "trusted_notebook", "student_cells",
           "load_notebook_json", "error_result", "GRADED",
           "TIMED_OUT", "CRASHED", "INVALID", "MISSING", "ERROR", "FEEDBACK_FAILED"]
