"""The nbgrader course directory: building it from the sources, running nbgrader in it.

Layout (``--course``, default ``out/course``; nothing in it is tracked by git)::

    nbgrader_config.py        written by :func:`write_config`
    source/<a>/<a>.ipynb      generated from assignments/<a>/<a>.py (jupytext) + its files
    release/<a>/              the student version (nbgrader generate_assignment)
    solutions/<a>/<a>.ipynb   the instructor's solutions without hidden tests, for self-study
    submitted/<s>/<a>/        collected submissions, one notebook each, normalised
    results/<a>/<s>.json      what the sandboxed grading found (autograder.execute)
    autograded/, feedback/    nbgrader's
    gradebook.db              nbgrader's gradebook (written by nbgrader only)
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# AUTOGRADER_ASSIGNMENTS points the grader at another folder of assignment sources.
ASSIGNMENTS_DIR = Path(os.environ.get("AUTOGRADER_ASSIGNMENTS", REPO / "assignments")).resolve()
DEFAULT_COURSE = REPO / "out" / "course"
CHECKS = REPO / "assignments" / "checks.py"


class CourseError(Exception):
    """A problem the instructor can fix (unknown assignment, nbgrader failure...)."""


def assignment_names() -> list[str]:
    """Assignments in ``assignments/``: folders holding ``<name>/<name>.py``."""
    return sorted(p.name for p in ASSIGNMENTS_DIR.iterdir()
                  if p.is_dir() and (p / f"{p.name}.py").is_file())


def course_config() -> Path:
    """The course configuration (due dates, late-work rules): ``course.toml`` next to the
    assignments' folders."""
    return ASSIGNMENTS_DIR / "course.toml"


def set_due_dates(course: Path, names: list[str]) -> None:
    """Write each assignment's due date from the course configuration into the gradebook
    (nbgrader computes how late a submission is from it)."""
    from .late import read_rules

    rules = read_rules(course_config())
    with open_gradebook(course) as gb:
        for name in names:
            rule = rules.get(name)
            gb.update_or_create_assignment(name, duedate=rule.due if rule else None)


def check_assignment(name: str) -> str:
    names = assignment_names()
    if name not in names:
        raise CourseError(f"unknown assignment {name!r}; the assignments are: "
                          f"{', '.join(names)}")
    return name


def write_config(course: Path) -> None:
    """nbgrader_config.py: our ReplayResults in place of nbgrader's Execute, hidden
    tests removed from feedback, missing test cells put back."""
    course.mkdir(parents=True, exist_ok=True)
    (course / "exchange").mkdir(exist_ok=True)
    (course / "nbgrader_config.py").write_text(f'''\
# Written by autograder.course; edit autograder/course.py instead.
from nbgrader.preprocessors import (
    AssignLatePenalties, CheckCellMetadata, GetGrades, LimitOutput, SaveAutoGrades)
from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from autograder.replay import ClearHiddenTestCode, ReplayResults, SealedHTMLExporter

c = get_config()
c.CourseDirectory.root = {str(course)!r}
c.CourseDirectory.course_id = "convnets"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]
# No shared exchange: submissions arrive as folders or an LMS zip. A course-local one
# keeps formgrader's pages free of "the exchange directory does not exist" errors.
c.Exchange.root = {str(course / "exchange")!r}
# Tests are run by autograder.execute, sandboxed; nbgrader only records the results.
c.Autograde.autograde_preprocessors = [
    ReplayResults, ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades,
    AssignLatePenalties, CheckCellMetadata]
c.ReplayResults.results_dir = {str(course / "results")!r}
c.OverwriteCells.add_missing_cells = True
# Late work: the rule of the course configuration (assignments/course.toml).
c.AssignLatePenalties.plugin_class = "autograder.late.LatePenalty"
# Hidden tests cleared from the test cells only: a student's text holding the marker
# must not stop the feedback (nbgrader's ClearHiddenTests parses every cell).
c.GenerateFeedback.preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor, ClearHiddenTestCode]
# Every feedback page carries a Content-Security-Policy, formgrader's included.
c.GenerateFeedback.exporter_class = SealedHTMLExporter
''')


def nbgrader(course: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run an nbgrader command in the course directory, with this environment's tools
    on PATH (nbgrader calls ``alembic`` as a program)."""
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
           "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                          capture_output=True, text=True)
    if check and proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
        raise CourseError(f"nbgrader {' '.join(args)} failed:\n{tail}")
    return proc


def source_notebook(course: Path, name: str) -> Path:
    return course / "source" / name / f"{name}.ipynb"


# An assignment's instructor-only build step: ``assignments/<a>/build.py`` defining
# ``write_files(dest)``, run by the build with the reference package importable, writes
# generated files (expected outputs as arrays, data) into the source folder, from where
# they reach the release, the self-study solutions and the grader. The script itself is
# never copied.
BUILD_SCRIPT = "build.py"


def copy_assignment_files(name: str, dest: Path) -> list[Path]:
    """The files an assignment ships next to its notebook, in ``dest``: its folder's files
    (not the jupytext source, not the build script), ``checks.py``, and what its build
    script writes. Returns the paths written."""
    src_dir = ASSIGNMENTS_DIR / name
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for item in src_dir.iterdir():
        if item.name in (f"{name}.py", BUILD_SCRIPT) or item.name.startswith((".", "__pycache__")):
            continue
        if item.is_file():
            written.append(Path(shutil.copy2(item, dest / item.name)))
    written.append(Path(shutil.copy2(CHECKS, dest / "checks.py")))
    written += run_build_script(name, dest)
    return written


def run_build_script(name: str, dest: Path) -> list[Path]:
    """Run ``assignments/<name>/build.py``'s ``write_files(dest)`` when there is one; the
    files it wrote."""
    import runpy

    script = ASSIGNMENTS_DIR / name / BUILD_SCRIPT
    if not script.is_file():
        return []
    functions = runpy.run_path(str(script), run_name=f"build_{name}")
    if "write_files" not in functions:
        raise CourseError(f"{script} defines no write_files(dest)")
    try:
        files = functions["write_files"](dest)
    except Exception as err:  # noqa: BLE001 - reported as a build error with its cause
        raise CourseError(f"{script}: write_files failed: {type(err).__name__}: {err}") from err
    return [Path(f) for f in files]


def build_source(course: Path, name: str) -> Path:
    """source/<a>/: the notebook converted from jupytext, plus checks.py, the
    assignment's other files and the files its build script generates."""
    import jupytext

    check_assignment(name)
    src_dir = ASSIGNMENTS_DIR / name
    dest = course / "source" / name
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    copy_assignment_files(name, dest)
    notebook = jupytext.read(src_dir / f"{name}.py")
    notebook.metadata.pop("jupytext", None)
    jupytext.write(notebook, dest / f"{name}.ipynb", fmt="ipynb")
    return dest / f"{name}.ipynb"


# nbgrader's words when an assignment's cells change after students were graded.
GRADED_ALREADY = "submissions associated with"


def build(course: Path, names: list[str] | None = None) -> list[str]:
    """Sources, student releases and self-study solutions of the given assignments."""
    names = names or assignment_names()
    write_config(course)
    for name in names:
        build_source(course, name)
        try:
            nbgrader(course, "generate_assignment", name, "--force")
        except CourseError as err:
            if GRADED_ALREADY in str(err):
                raise CourseError(
                    f"{err}\n{name}'s graded cells changed since students were graded in "
                    f"{course}; nbgrader refuses to change them so that no grade is lost. "
                    f"Build the new version in another course folder (--course DIR), or "
                    f"restore the version those students were graded on.") from None
            raise
        write_solution_notebook(course, name)
    set_due_dates(course, names)
    return names


HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS[ \t]*\n?",
                    re.DOTALL | re.MULTILINE)


# In a written answer's solution: the rubric (for the person grading; never shown to
# students) and nbgrader's solution markers.
RUBRIC = re.compile(r"^[ \t]*### BEGIN RUBRIC.*?### END RUBRIC[ \t]*\n?", re.DOTALL | re.MULTILINE)
SOLUTION_LINE = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.MULTILINE)


def write_solution_notebook(course: Path, name: str) -> Path:
    """solutions/<a>/: the instructor version with solutions but without hidden tests,
    and the written answers' model answers without their rubric."""
    import nbformat

    nb = nbformat.read(source_notebook(course, name), as_version=4)
    for cell in nb.cells:
        cell.source = HIDDEN.sub("", cell.source)
        if cell.cell_type == "markdown":       # a written answer: the model answer only
            cell.source = SOLUTION_LINE.sub("", RUBRIC.sub("", cell.source)).strip("\n")
    dest = course / "solutions" / name
    dest.mkdir(parents=True, exist_ok=True)
    for item in (course / "source" / name).iterdir():
        if item.suffix != ".ipynb" and item.is_file():
            shutil.copy2(item, dest / item.name)
    nbformat.write(nb, dest / f"{name}.ipynb")
    return dest / f"{name}.ipynb"


class NbgraderInProcess:
    """nbgrader's autograde and generate_feedback for one student at a time, in this
    process (nbgrader's own API, as formgrader uses it).

    One call per student: a notebook nbgrader fails on costs that student only (the
    batch commands stop at the end with an error for the whole class), and no process
    start-up (~3 s per nbgrader command) is paid per student. Each method returns None
    on success, else a one-line reason.
    """

    def __init__(self, course: Path):
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory
        from traitlets.config.loader import PyFileConfigLoader

        course = Path(course).resolve()
        if str(REPO) not in sys.path:
            sys.path.insert(0, str(REPO))  # nbgrader_config.py imports autograder.replay
        config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
        config.CourseDirectory.root = str(course)
        self.api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)

    # Seconds one student's record or feedback may take (a few hundred milliseconds is
    # usual): nbconvert's markdown parser is quadratic on some texts, and one student's
    # notebook must not hold the class.
    stage_seconds = 120.0

    def autograde(self, assignment: str, student: str) -> str | None:
        return self._bounded(lambda: self.api.autograde(assignment, student, force=True,
                                                        create=True))

    def feedback(self, assignment: str, student: str) -> str | None:
        return self._bounded(lambda: self.api.generate_feedback(assignment, student,
                                                                force=True))

    def _bounded(self, call) -> str | None:
        """Run one nbgrader call for one student, at most ``stage_seconds`` (in the main
        thread; elsewhere, e.g. in a server's worker thread, without a bound)."""
        import signal
        import threading

        expired = []
        if threading.current_thread() is not threading.main_thread():
            with _quiet_sqlalchemy():
                return _failure(call())

        def expire(_signum, _frame):
            expired.append(True)
            raise StageTimeout(f"took longer than {self.stage_seconds:g} s")

        old = signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, self.stage_seconds)
        try:
            with _quiet_sqlalchemy():
                outcome = call()
        except StageTimeout:
            outcome = {"success": False}
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
        if expired:
            return f"nbgrader took longer than {self.stage_seconds:g} s on this notebook"
        return _failure(outcome)


class StageTimeout(Exception):
    """One student's nbgrader stage ran out of time."""


@contextlib.contextmanager
def open_gradebook(course: Path):
    """The course's nbgrader gradebook (created when missing), SQLAlchemy's noise off."""
    from nbgrader.api import Gradebook

    with _quiet_sqlalchemy(), Gradebook(f"sqlite:///{Path(course) / 'gradebook.db'}",
                                        course_id="convnets") as gb:
        yield gb


@contextlib.contextmanager
def _quiet_sqlalchemy():
    """nbgrader's gradebook code makes SQLAlchemy warn about its own session use
    (SAWarning); in a separate nbgrader process nobody saw them, here they are noise."""
    from sqlalchemy.exc import SAWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        yield


def _failure(outcome: dict) -> str | None:
    """None when nbgrader succeeded, else the last line of its error, made inert."""
    from .inert import inert_line

    if outcome.get("success"):
        return None
    text = outcome.get("error") or outcome.get("log") or "no message"
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return inert_line(lines[-1] if lines else "no message", limit=300)
