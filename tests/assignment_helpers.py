"""Shared machinery for the assignment tests (``tests/test_assignment_<name>.py``).

An assignment is a jupytext "percent" file ``assignments/<name>/<name>.py`` with
nbgrader metadata in its cell headers (see ``/work/notes/assignment_conventions.md``).
This module lets each assignment's test file check it end to end, without the
lead's build or grading code:

* :func:`read_source` / :func:`cells_by_kind`: the source as a notebook, its cells
  classified as ``markdown``, ``setup``, ``answer``, ``test`` or ``other``;
* :func:`structure_problems`: the static rules (unique grade_ids, points on every
  test cell, solution and hidden-test markers, no ``convnets`` outside hidden
  blocks, setup cells that call no student function, two to four written questions
  each made of a locked question cell and a markdown answer cell that a person grades,
  with a model answer and a rubric: see :func:`written_problems`);
* :func:`run_assignment`: executes the instructor version with nbclient, generates
  the student release with nbgrader (in a temporary course directory), executes it
  allowing errors, and runs ``nbgrader validate`` on the source and
  ``nbgrader validate --invert`` on the release. Returns an :class:`AssignmentRun`
  with everything a test wants to assert on.

Typical use in a test file::

    from assignment_helpers import run_assignment, structure_problems

    @pytest.fixture(scope="module")
    def run(tmp_path_factory):
        return run_assignment("conv_naive", tmp_path_factory.mktemp("conv_naive"))

    def test_instructor_version_passes(run):
        assert not run.instructor_errors, run.instructor_errors

Kernels are ipykernel in the interpreter running the tests (so the hidden tests'
``import convnets`` finds this checkout's reference package), connection files go
to a temporary runtime directory and every notebook runs with its working directory
in a temporary copy of the assignment folder, next to ``checks.py``.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import jupytext
import nbformat
from notebook_kernel import ANSI, environment, execute
from text_notebooks import in_jupytext_form

from autograder.course import (
    HIDDEN,  # the hidden blocks, as the course build strips them
    copy_assignment_files,  # the files shipped next to a notebook
)

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENTS = ROOT / "assignments"
CELL_TIMEOUT = 60
WRITTEN_QUESTIONS = (2, 4)      # written questions per assignment, at least and at most
WRITTEN_POINTS = (2, 4)         # points of one written question, at least and at most
# A written answer's solution: nbgrader's markers around the model answer and a rubric.
WRITTEN_ANSWER = re.compile(r"\A### BEGIN SOLUTION\n(?P<answer>.+?)\n+### BEGIN RUBRIC\n"
                            r"(?P<rubric>.+?)\n### END RUBRIC\n### END SOLUTION\Z", re.S)


# --------------------------------------------------------------------------------------
# Reading and classifying cells
# --------------------------------------------------------------------------------------

def source_path(name: str) -> Path:
    return ASSIGNMENTS / name / f"{name}.py"


def read_source(name: str) -> nbformat.NotebookNode:
    """The instructor source of assignment ``name`` as a notebook."""
    return jupytext.read(source_path(name), fmt="py:percent")


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def cell_kind(cell) -> str:
    """``markdown``, ``written``, ``test`` (grade), ``answer`` (solution), ``setup`` or
    ``other``.

    ``written`` is a markdown cell a person grades (nbgrader's manually graded answer:
    grade and solution set); every other markdown cell, the locked question cells
    included, is ``markdown``.

    ``setup`` is a locked code cell whose grade_id starts with ``setup`` or ``given``
    (imports, or code handed to the students, e.g. last assignment's naive layer): it
    must run in the student version too. ``other`` is any other code cell (demos that
    call student functions, plain cells).
    """
    meta = nbgrader_meta(cell)
    if cell.cell_type != "code":
        return "written" if meta.get("grade") and meta.get("solution") else "markdown"
    if meta.get("grade"):
        return "test"
    if meta.get("solution"):
        return "answer"
    if meta.get("locked") and str(meta.get("grade_id", "")).startswith(("setup", "given")):
        return "setup"
    return "other"


def cells_by_kind(notebook, kind: str) -> list:
    return [c for c in notebook.cells if cell_kind(c) == kind]


def grade_id(cell) -> str:
    return str(nbgrader_meta(cell).get("grade_id", "?"))


def points(notebook) -> dict[str, float]:
    """``{grade_id: points}`` of the test cells, in notebook order."""
    return {grade_id(c): float(nbgrader_meta(c).get("points", 0))
            for c in cells_by_kind(notebook, "test")}


def written_points(notebook) -> dict[str, float]:
    """``{grade_id: points}`` of the written answer cells, in notebook order."""
    return {grade_id(c): float(nbgrader_meta(c).get("points", 0))
            for c in cells_by_kind(notebook, "written")}


def max_score(notebook) -> float:
    """The assignment's maximum: the test cells' points and the written answers'."""
    return sum(points(notebook).values()) + sum(written_points(notebook).values())


def written_problems(notebook) -> list[str]:
    """The rules of written questions; an empty list when all hold.

    Two to four per assignment. Each is a locked markdown cell ``question_<topic>``
    (no points; its text says the points) followed by the answer cell
    ``written_<topic>``: markdown, unlocked, 2-4 points, whose source is the model
    answer (with numbers) and a rubric (``Full (N): ...``, ``Partial (k): ...``,
    ``Zero: ...``) between nbgrader's solution markers, so that the release gets an
    empty answer and the course build strips the rubric from the self-study solutions.
    """
    problems = []
    cells = notebook.cells
    written = [i for i, c in enumerate(cells) if cell_kind(c) == "written"]
    low, high = WRITTEN_QUESTIONS
    if not low <= len(written) <= high:
        problems.append(f"{len(written)} written questions, not {low} to {high}")
    for cell in cells:
        meta, gid = nbgrader_meta(cell), grade_id(cell)
        if gid.startswith("question_") and (cell.cell_type != "markdown" or meta.get("grade")
                                            or meta.get("solution") or not meta.get("locked")):
            problems.append(f"{gid}: a question cell is locked markdown without points")
        if cell.cell_type == "code" and gid.startswith("written_"):
            problems.append(f"{gid}: a written answer cell must be markdown")
        if cell.cell_type != "code" and bool(meta.get("grade")) != bool(meta.get("solution")):
            problems.append(f"{gid}: a graded markdown cell must be a solution cell too")
    for i in written:
        cell, meta, gid = cells[i], nbgrader_meta(cells[i]), grade_id(cells[i])
        topic = gid.removeprefix("written_")
        if not gid.startswith("written_") or not topic:
            problems.append(f"{gid}: a written answer's grade_id is written_<topic>")
        if meta.get("locked"):
            problems.append(f"{gid}: written answer cell locked")
        pts = float(meta.get("points") or 0)
        if not WRITTEN_POINTS[0] <= pts <= WRITTEN_POINTS[1]:
            problems.append(f"{gid}: {pts:g} points, not {WRITTEN_POINTS[0]} to "
                            f"{WRITTEN_POINTS[1]}")
        question = cells[i - 1] if i > 0 else None
        if question is None or grade_id(question) != f"question_{topic}":
            problems.append(f"{gid}: not preceded by its question cell question_{topic}")
        elif f"({pts:g} points)" not in question.source:
            problems.append(f"question_{topic}: does not say '({pts:g} points)'")
        match = WRITTEN_ANSWER.match(cell.source.strip("\n"))
        if not match:
            problems.append(f"{gid}: not '### BEGIN SOLUTION', the model answer, '### BEGIN "
                            f"RUBRIC' ... '### END RUBRIC', '### END SOLUTION'")
            continue
        answer, rubric = match["answer"], match["rubric"]
        if not re.search(r"\d", answer):
            problems.append(f"{gid}: the model answer gives no numbers")
        if "RUBRIC" in answer or "SOLUTION" in answer:
            problems.append(f"{gid}: markers inside the model answer")
        lines = rubric.splitlines()
        starts = [line.split(":")[0] for line in lines if re.match(r"(Full|Partial|Zero)\b", line)]
        if not (starts and starts[0] == f"Full ({pts:g})" and starts[-1] == "Zero"
                and any(s.startswith("Partial (") for s in starts)):
            problems.append(f"{gid}: the rubric needs 'Full ({pts:g}): ...', "
                            f"'Partial (k): ...' and 'Zero: ...', in that order")
    return problems


def visible_part(source: str) -> str:
    """A test cell's source without its hidden block."""
    return HIDDEN.sub("", source)


def defined_functions(notebook) -> set[str]:
    """Names of the top-level functions and classes the answer cells define."""
    names = set()
    for cell in cells_by_kind(notebook, "answer"):
        names.update(re.findall(r"^(?:def|class) (\w+)\b", cell.source, re.M))
    return names


def structure_problems(name: str) -> list[str]:
    """Static rules every assignment source follows; an empty list when all hold."""
    nb = read_source(name)
    problems = []
    text = source_path(name).read_text(encoding="utf-8")
    if not text.startswith("# ---\n# jupyter:\n"):
        problems.append("no jupytext header")
    if nb.metadata.get("kernelspec", {}).get("name") != "python3":
        problems.append("kernelspec is not python3")
    ids = [grade_id(c) for c in nb.cells if nbgrader_meta(c)]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        problems.append(f"duplicate grade_ids: {dupes}")
    for gid in ids:
        if not re.fullmatch(r"[a-z0-9_]+", gid):
            problems.append(f"grade_id {gid!r} is not lowercase_with_underscores")
    students = defined_functions(nb)
    for cell in nb.cells:
        kind, gid, meta = cell_kind(cell), grade_id(cell), nbgrader_meta(cell)
        if meta and meta.get("schema_version") != 3:
            problems.append(f"{gid}: schema_version is not 3")
        if kind == "test":
            if not meta.get("locked"):
                problems.append(f"{gid}: test cell not locked")
            if not float(meta.get("points", 0)) > 0:
                problems.append(f"{gid}: test cell without points")
            if "### BEGIN HIDDEN TESTS" not in cell.source:
                problems.append(f"{gid}: no hidden tests")
            visible = visible_part(cell.source)
            if "convnets" in visible:
                problems.append(f"{gid}: the visible part mentions convnets")
            if not any(re.search(rf"\b{f}\b", visible) for f in students):
                problems.append(f"{gid}: the visible part calls no student function")
        elif kind == "answer":
            if "### BEGIN SOLUTION" not in cell.source or "### END SOLUTION" not in cell.source:
                problems.append(f"{gid}: answer cell without solution markers")
        elif kind == "setup":
            called = [f for f in students if re.search(rf"\b{f}\(", cell.source)]
            if called:
                problems.append(f"{gid}: setup cell calls student functions {called}")
        if cell.cell_type == "code" and kind != "test" and "convnets" in cell.source:
            problems.append(f"{gid}: a {kind} cell mentions convnets")
    if not cells_by_kind(nb, "setup"):
        problems.append("no setup cell")
    problems += written_problems(nb)
    # Stored as jupytext writes it (apart from the version stamps jupytext adds), so that
    # opening and saving the file in JupyterLab does not rewrite the cells.
    if not in_jupytext_form(text):
        problems.append("not in jupytext's canonical percent format")
    return problems


# --------------------------------------------------------------------------------------
# Executing notebooks
# --------------------------------------------------------------------------------------

def copy_assignment_folder(name: str, dest: Path) -> Path:
    """The files the course build puts next to the notebook, in ``dest``: the assignment
    folder's files without its ``.py`` source and build script, ``checks.py``, and what
    the build script generates (conv_fast's expected arrays)."""
    copy_assignment_files(name, dest)
    return dest


def _environment(runtime: Path):
    """Environment for kernels and nbgrader: runtime dir, matplotlib's inline backend (the
    picture cells' figures become outputs, as in Jupyter), the venv's bin on PATH
    (nbgrader runs `alembic`, installed next to this interpreter, to open a gradebook)."""
    runtime.mkdir(parents=True, exist_ok=True)
    return environment(
        JUPYTER_RUNTIME_DIR=str(runtime), MPLBACKEND="module://matplotlib_inline.backend_inline",
        PYDEVD_DISABLE_FILE_VALIDATION="1",
        PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))


def cell_error(cell) -> str | None:
    """``"Name: message"`` of the error a code cell raised, or None."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return f"{output.get('ename')}: {ANSI.sub('', str(output.get('evalue')))}"
    return None


def cell_stderr(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name") == "stderr")


def printed_by_grade_id(notebook) -> dict[str, str]:
    """The text every code cell of an executed notebook printed, by grade_id."""
    return {grade_id(c): "".join(o.get("text", "") for o in c.get("outputs", []))
            for c in notebook.cells if c.cell_type == "code"}


def figures_by_grade_id(notebook) -> dict[str, int]:
    """How many images (PNG outputs) each code cell of an executed notebook drew, for the
    cells that drew any, by grade_id."""
    counts = {grade_id(c): sum("image/png" in o.get("data", {}) for o in c.get("outputs", []))
              for c in notebook.cells if c.cell_type == "code"}
    return {gid: n for gid, n in counts.items() if n}


def run_quietly(code: str, namespace: dict) -> None:
    """``exec(code, namespace)`` with its printed lines discarded."""
    with contextlib.redirect_stdout(io.StringIO()):
        exec(code, namespace)


# --------------------------------------------------------------------------------------
# The whole check: instructor run, release, student run, nbgrader validate
# --------------------------------------------------------------------------------------

@dataclass
class AssignmentRun:
    name: str
    source: nbformat.NotebookNode               # the instructor notebook, executed
    release: nbformat.NotebookNode              # the generated student notebook, executed
    release_path: Path
    validate_source: dict                       # nbgrader validate results ({} = success)
    validate_release: dict                      # nbgrader validate --invert results
    seconds: dict = field(default_factory=dict)

    @property
    def instructor_errors(self) -> list[str]:
        """``grade_id: error`` for every instructor cell that raised or wrote to stderr."""
        problems = []
        for cell in self.source.cells:
            if cell.cell_type != "code":
                continue
            err = cell_error(cell)
            if err:
                problems.append(f"{grade_id(cell)}: {err}")
            elif cell_kind(cell) == "test" and cell_stderr(cell):
                problems.append(f"{grade_id(cell)}: wrote to stderr: {cell_stderr(cell)[:300]}")
        return problems

    def release_errors(self, kind: str) -> dict[str, str | None]:
        """``{grade_id: error or None}`` for the release's cells of one kind."""
        return {grade_id(c): cell_error(c) for c in cells_by_kind(self.release, kind)}


def generate_release(name: str, course: Path) -> Path:
    """``nbgrader generate_assignment name --force`` in a fresh course dir; the release."""
    import nbgrader.api
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    # Every new gradebook asks the `alembic` command for the schema version (a subprocess
    # that takes seconds on a busy machine); the answer is fixed by the installed
    # nbgrader, so ask once per test session.
    if not hasattr(nbgrader.api.get_alembic_version, "cache_info"):
        nbgrader.api.get_alembic_version = functools.lru_cache(maxsize=1)(
            nbgrader.api.get_alembic_version)
    source_dir = copy_assignment_folder(name, course / "source" / name)
    nbformat.write(read_source(name), source_dir / f"{name}.ipynb")
    (course / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.root = {str(course)!r}\n", encoding="utf-8")
    api = NbGraderAPI(coursedir=CourseDirectory(root=str(course)))
    result = api.generate_assignment(name, force=True)
    release = course / "release" / name / f"{name}.ipynb"
    if not result.get("success") or not release.exists():
        raise RuntimeError(f"nbgrader generate_assignment {name} failed:\n"
                           f"{result.get('log', '')}\n{result.get('error', '')}")
    return release


def nbgrader_validate(path: Path, invert: bool = False) -> dict:
    """``nbgrader validate [--invert] path``: ``{}`` on success, else nbgrader's findings."""
    from nbgrader.validator import Validator

    return Validator(invert=invert).validate(str(path))


def run_assignment(name: str, tmp: Path) -> AssignmentRun:
    """Everything :class:`AssignmentRun` holds, for assignment ``name``, under ``tmp``."""
    seconds = {}
    with _environment(tmp / "runtime"):
        start = time.perf_counter()
        source = read_source(name)
        execute(source, copy_assignment_folder(name, tmp / "instructor"), allow_errors=True,
                timeout=CELL_TIMEOUT)
        seconds["instructor"] = time.perf_counter() - start

        start = time.perf_counter()
        release_path = generate_release(name, tmp / "course")
        seconds["generate"] = time.perf_counter() - start

        start = time.perf_counter()
        release = nbformat.read(release_path, as_version=4)
        student_dir = tmp / "student"
        shutil.copytree(release_path.parent, student_dir)
        execute(release, student_dir, allow_errors=True, timeout=CELL_TIMEOUT)
        seconds["student"] = time.perf_counter() - start

        start = time.perf_counter()
        validate_source = nbgrader_validate(tmp / "course" / "source" / name / f"{name}.ipynb")
        validate_release = nbgrader_validate(release_path, invert=True)
        seconds["validate"] = time.perf_counter() - start
    return AssignmentRun(name, source, release, release_path, validate_source,
                         validate_release, seconds)


def describe(results: dict) -> str:
    """nbgrader validate results, readable in an assertion message: for each cell the
    first line of its source and the last lines of its error."""
    lines = []
    for verdict, cells in results.items():
        for item in cells:
            first = item.get("source", "").strip().splitlines()[:1]
            lines.append(f"{verdict}: {first[0] if first else '(empty cell)'}")
            error = ANSI.sub("", item.get("raw_error", "")).strip().splitlines()
            lines.extend("    " + e for e in error[-3:])
    return "\n".join(lines) if lines else json.dumps(results)


# --------------------------------------------------------------------------------------
# The standard assertions (each test file calls them from its own test functions)
# --------------------------------------------------------------------------------------

def assert_instructor_passes(run: AssignmentRun) -> None:
    """Every instructor cell ran, without an error and (test cells) without stderr."""
    problems = run.instructor_errors
    assert not problems, f"{run.name} (instructor) failed:\n" + "\n".join(problems)
    unexecuted = [grade_id(c) for c in run.source.cells
                  if c.cell_type == "code" and c.source.strip() and not c.get("execution_count")]
    assert not unexecuted, f"{run.name}: cells not executed: {unexecuted}"


def assert_release_fails_every_test(run: AssignmentRun) -> None:
    """In the student version every test cell fails and no setup or answer cell does."""
    tests = run.release_errors("test")
    assert tests, f"{run.name}: the release has no test cells"
    passing = [gid for gid, err in tests.items() if err is None]
    assert not passing, f"{run.name} (student version): test cells pass: {passing}"
    allowed = ("NotImplementedError", "AssertionError")
    odd = {gid: err for gid, err in tests.items() if not err.startswith(allowed)}
    assert not odd, f"{run.name} (student version): tests fail for another reason: {odd}"
    for kind in ("setup", "answer"):
        failed = {gid: err for gid, err in run.release_errors(kind).items() if err}
        assert not failed, f"{run.name} (student version): {kind} cells fail: {failed}"


def assert_release_is_stubbed(run: AssignmentRun) -> None:
    """The release keeps the answer cells' signatures but none of the solution code."""
    source = read_source(run.name)
    release_answers = cells_by_kind(run.release, "answer")
    assert len(release_answers) == len(cells_by_kind(source, "answer"))
    for cell in release_answers:
        assert "BEGIN SOLUTION" not in cell.source, f"{grade_id(cell)}: solution left in"
        assert "raise NotImplementedError" in cell.source, f"{grade_id(cell)}: no stub"
    assert defined_functions(run.release) == defined_functions(source)
    for cell in cells_by_kind(run.release, "test"):
        assert "BEGIN HIDDEN TESTS" not in cell.source, f"{grade_id(cell)}: hidden tests left in"
        assert "convnets" not in cell.source, f"{grade_id(cell)}: mentions convnets"
    assert points(run.release) == points(source)
    assert_written_answers_released_empty(run.release, source)


def assert_written_answers_released_empty(release, source) -> None:
    """The release keeps every written question and answer cell (points included), each
    answer emptied by nbgrader ("YOUR ANSWER HERE"): no model answer, no rubric."""
    assert written_points(release) == written_points(source)
    questions = {grade_id(c): c.source for c in source.cells
                 if grade_id(c).startswith("question_")}
    assert {grade_id(c): c.source for c in release.cells
            if grade_id(c).startswith("question_")} == questions
    for cell in cells_by_kind(release, "written"):
        assert cell.source.strip() == "YOUR ANSWER HERE", (grade_id(cell), cell.source[:200])
    text = json.dumps(release)
    assert "RUBRIC" not in text and "Partial (" not in text


def assert_nbgrader_validates(run: AssignmentRun) -> None:
    """``nbgrader validate`` passes on the source and ``validate --invert`` on the release."""
    assert run.validate_source == {}, \
        f"nbgrader validate {run.name} (source):\n{describe(run.validate_source)}"
    assert run.validate_release == {}, \
        f"nbgrader validate --invert {run.name} (release):\n{describe(run.validate_release)}"
