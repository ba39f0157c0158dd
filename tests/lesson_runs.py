"""Each lesson executed once per test session, with its figures checked in its kernel.

``test_lessons.py`` (the lesson runs, its exercises) and ``test_figure_style.py`` (the
house style of every figure) both need a lesson executed from a clean kernel; executing
eleven lessons twice would double the longest part of the suite, so :func:`run_lesson`
executes each lesson once and keeps the result for the session.

Around the lesson's own cells, the run adds:

- first, ``FIGURE_RECORDER``: every matplotlib figure the lesson creates (with pyplot
  or with ``matplotlib.figure.Figure``, as ``convnets.visualize`` does) is kept;
- after the lesson, the extra cells asked for (``test_lessons``' exercise audit);
- last, ``FIGURE_AUDIT``: each kept figure is checked with
  ``convnets.visualize.figure_problems`` and the result printed as JSON (and each figure
  saved as PNG when the environment names a folder in ``CONVNETS_FIGURE_DIR``: that is
  how the before/after screenshots of a change are made).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import jupytext
import nbformat
from nbclient.exceptions import CellExecutionError, CellTimeoutError
from notebook_kernel import ANSI, environment, execute

CELL_TIMEOUT = 120          # seconds per cell; each lesson runs in a few seconds in all

FIGURE_RECORDER = """\
import matplotlib.figure as _figure_module
_recorded_figures = []
_figure_init = _figure_module.Figure.__init__

def _recording_init(self, *args, **kwargs):
    _figure_init(self, *args, **kwargs)
    _recorded_figures.append(self)

_figure_module.Figure.__init__ = _recording_init
"""

FIGURE_AUDIT = """\
import json as _json, os as _os, pathlib as _pathlib
from convnets.visualize import figure_problems as _figure_problems
_figure_folder = _os.environ.get("CONVNETS_FIGURE_DIR")
_report = []
for _number, _fig in enumerate(_recorded_figures, 1):
    _title = _fig._suptitle.get_text() if _fig._suptitle is not None else ""
    if not _title:
        _title = next((_ax.get_title() for _ax in _fig.axes if _ax.get_title()), "")
    _report.append({"figure": _number, "title": _title.replace("\\n", " "),
                    "inches": [float(v) for v in _fig.get_size_inches()],
                    "problems": _figure_problems(_fig)})
    if _figure_folder:
        _pathlib.Path(_figure_folder).mkdir(parents=True, exist_ok=True)
        _fig.savefig(_pathlib.Path(_figure_folder) / f"{STEM}_fig{_number:02d}.png")
print("FIGURES " + _json.dumps(_report))
"""


# Run after a lesson in its kernel: the lesson's exercises (one ``Exercises`` set, 2-4
# exercises) accept the right answer, tell a wrong one, let an unanswered one pass, and
# print no solution while checking. The last line is the solutions, for the test.
EXERCISE_AUDIT = """\
import contextlib as _contextlib, io as _io, json as _json, re as _re
from convnets.teach import Exercises as _Exercises

def _wrong(expected):
    if isinstance(expected, str):
        return expected + " not"
    if isinstance(expected, (set, frozenset)):
        return set(list(expected)[1:]) | {"not a member"}
    if isinstance(expected, tuple):
        return tuple(e * 2 + 1 for e in expected)
    return expected * 2 + 1

_sets = [v for k, v in list(globals().items())
         if isinstance(v, _Exercises) and not k.startswith("_")]
assert len(_sets) == 1, f"expected one set of exercises, found {len(_sets)}"
_ex = _sets[0]
assert 2 <= len(_ex) <= 4, f"{len(_ex)} exercises"
assert all(v == "unanswered" for v in _ex.verdicts.values()) and len(_ex.verdicts) == len(_ex)
for _n, _item in _ex.items.items():
    _buffer = _io.StringIO()
    with _contextlib.redirect_stdout(_buffer):
        _verdicts = []
        for _given in (_item.expected, _wrong(_item.expected), None):
            _ex.answer(_n, _given)
            _verdicts.append(_ex.verdicts[_n])
        assert _verdicts == ["right", "wrong", "unanswered"], (_n, _verdicts)
    _said = _buffer.getvalue()
    assert "right" in _said and "wrong" in _said and "not answered" in _said, _said
    assert _item.solution not in _said, _said
    if not isinstance(_item.expected, (set, frozenset)):
        _told = _said.split("wrong", 1)[1].split("(hint:")[0]
        assert not _re.search(r"(?<![\\d.])" + _re.escape(str(_item.expected)) + r"(?![\\d.])",
                              _told), _told
print(_json.dumps([_item.solution for _item in _ex.items.values()]))
"""


class LessonFailed(Exception):
    """A lesson raised in one of its cells, or a cell timed out."""


@dataclass
class LessonRun:
    notebook: object          # the executed notebook, the added cells removed
    extra: list               # the executed extra cells, in order
    figures: list             # one dict per figure: number, title, inches, problems
    wrote_into_course: bool   # the course folder changed while the lesson ran


def lesson_environment(runtime: Path):
    """Agg backend and the kernel's connection files in ``runtime``, for the run only."""
    return environment(MPLBACKEND="Agg", JUPYTER_RUNTIME_DIR=str(runtime),
                       PYDEVD_DISABLE_FILE_VALIDATION="1")


def read_lesson(path: Path):
    """A lesson as an nbformat notebook (jupytext's percent format)."""
    return jupytext.read(path, fmt="py:percent")


def execute_lesson(path: Path, workdir: Path, timeout: int = CELL_TIMEOUT,
                   extra_cells: tuple[str, ...] = (), first_cells: tuple[str, ...] = ()):
    """Run a lesson from a fresh kernel in ``workdir``; return the executed notebook.
    ``first_cells`` run before the lesson's cells and ``extra_cells`` after them (sources),
    in the same kernel.

    Raises LessonFailed with the lesson's name, the failing cell's source and the
    error (traceback without terminal colours).
    """
    notebook = read_lesson(path)
    notebook.cells[:0] = [nbformat.v4.new_code_cell(source) for source in first_cells]
    notebook.cells.extend(nbformat.v4.new_code_cell(source) for source in extra_cells)
    try:
        execute(notebook, workdir, allow_errors=False, timeout=timeout)
    except CellTimeoutError as err:
        raise LessonFailed(f"{path.name}: a cell ran longer than {timeout} s\n{err}") from None
    except CellExecutionError as err:
        raise LessonFailed(f"{path.name} failed:\n{ANSI.sub('', str(err))}") from None
    return notebook


_RUNS: dict[tuple[Path, tuple[str, ...]], LessonRun | LessonFailed] = {}


def run_lesson(path: Path, extra_cells: tuple[str, ...] = ()) -> LessonRun:
    """The lesson executed once per session (with these extra cells) in a temporary
    working directory; raises LessonFailed (again, from the cache) if it failed."""
    key = (path, tuple(extra_cells))
    if key not in _RUNS:
        before = sorted(path.parent.rglob("*"))
        with tempfile.TemporaryDirectory(prefix="lesson-") as tmp:
            work = Path(tmp) / "work"
            work.mkdir()
            audit = FIGURE_AUDIT.replace("STEM", repr(path.stem[:2]))
            try:
                with lesson_environment(Path(tmp) / "runtime"):
                    notebook = execute_lesson(path, work, extra_cells=(*extra_cells, audit),
                                              first_cells=(FIGURE_RECORDER,))
            except LessonFailed as err:
                _RUNS[key] = err
            else:
                cells = notebook.cells
                extra = cells[len(cells) - len(extra_cells) - 1:]
                notebook.cells = cells[1:len(cells) - len(extra_cells) - 1]
                _RUNS[key] = LessonRun(notebook, extra[:-1], figure_report(extra[-1]),
                                       sorted(path.parent.rglob("*")) != before)
    run = _RUNS[key]
    if isinstance(run, LessonFailed):
        raise run
    return run


def stream_text(cell) -> str:
    return "".join(out.get("text", "") for out in cell.get("outputs", [])
                   if out.get("output_type") == "stream")


def figure_report(cell) -> list[dict]:
    """The audit cell's JSON: one dict per figure the lesson made."""
    lines = [line for line in stream_text(cell).splitlines() if line.startswith("FIGURES ")]
    assert len(lines) == 1, stream_text(cell)
    return json.loads(lines[0].removeprefix("FIGURES "))
