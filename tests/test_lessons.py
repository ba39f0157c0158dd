"""Every lesson in ``course/`` runs from a clean kernel without an error or a failed assert.

The lessons are stored as text (jupytext "percent" format, ``course/NN_name.py``) and
without outputs. Each test converts one lesson to a notebook with jupytext and executes
it with nbclient in a fresh kernel, the way a reader's "Restart and run all" would. A
failing cell fails the test with the lesson's name, the cell's source and the error.

No global state: the kernel is ipykernel in the interpreter running the tests (so
``.venv/bin/python -m pytest`` runs the lessons against this checkout's ``convnets``
whatever kernels are installed elsewhere), its connection files go to a temporary
runtime directory, its working directory is a temporary directory (nothing a lesson
might write lands in the repository), and matplotlib uses the Agg backend.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext", reason="the lessons need the 'course' extra")
nbclient = pytest.importorskip("nbclient", reason="the lessons need the 'course' extra")

from ipykernel.kernelspec import RESOURCES, get_kernel_dict  # noqa: E402
from jupyter_client.kernelspec import KernelSpec  # noqa: E402
from jupyter_client.manager import KernelManager  # noqa: E402
from nbclient.exceptions import CellExecutionError, CellTimeoutError  # noqa: E402

COURSE = Path(__file__).resolve().parent.parent / "course"
LESSONS = sorted(COURSE.glob("[0-9][0-9]_*.py"))
CELL_TIMEOUT = 120          # seconds per cell; each lesson runs in a few seconds in all
STARTUP_TIMEOUT = 60
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class ThisInterpreterKernel(KernelManager):
    """A kernel manager whose kernel is ipykernel in ``sys.executable``.

    Without it, the kernel named ``python3`` is looked up in the Jupyter data
    directories, where a user-level or system-wide spec could point at another
    Python that has no (or another) ``convnets``.
    """

    @property
    def kernel_spec(self) -> KernelSpec:
        if self._kernel_spec is None:
            self._kernel_spec = KernelSpec(resource_dir=RESOURCES, **get_kernel_dict())
        return self._kernel_spec


def read_lesson(path: Path):
    """A lesson as an nbformat notebook (jupytext's percent format)."""
    return jupytext.read(path, fmt="py:percent")


@pytest.fixture
def clean_environment(tmp_path, monkeypatch):
    """Agg backend, connection files and working directory in tmp_path."""
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    work = tmp_path / "work"
    work.mkdir()
    return work


def test_there_are_lessons():
    assert len(LESSONS) >= 6, f"expected the lessons in {COURSE}, found {LESSONS}"


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_runs_from_a_clean_kernel(path, clean_environment):
    notebook = read_lesson(path)
    code_cells = [c for c in notebook.cells if c.cell_type == "code"]
    assert code_cells, f"{path.name} has no code cells"
    client = nbclient.NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        startup_timeout=STARTUP_TIMEOUT,
        kernel_name="python3",
        kernel_manager_class=ThisInterpreterKernel,
        resources={"metadata": {"path": str(clean_environment)}},
        allow_errors=False,
    )
    before = sorted(COURSE.rglob("*"))
    start = time.perf_counter()
    try:
        client.execute()
    except CellTimeoutError as err:
        pytest.fail(f"{path.name}: a cell ran longer than {CELL_TIMEOUT} s\n{err}",
                    pytrace=False)
    except CellExecutionError as err:
        pytest.fail(f"{path.name} failed:\n{ANSI.sub('', str(err))}", pytrace=False)
    elapsed = time.perf_counter() - start
    print(f"{path.name}: {elapsed:.1f} s")
    # Every code cell ran, and the lesson wrote nothing into the course folder.
    assert all(c.get("execution_count") for c in code_cells if c.source.strip())
    assert sorted(COURSE.rglob("*")) == before, f"{path.name} wrote into {COURSE}"


def test_lessons_are_stored_without_outputs():
    # The lessons are text; a notebook copy next to them (e.g. saved from JupyterLab)
    # must not carry outputs into the repository.
    for notebook_path in COURSE.rglob("*.ipynb"):
        if ".ipynb_checkpoints" in notebook_path.parts:
            continue
        notebook = json.loads(notebook_path.read_text(encoding="utf-8"))
        for cell in notebook.get("cells", []):
            assert not cell.get("outputs"), f"{notebook_path} is stored with outputs"
            assert cell.get("execution_count") is None, \
                f"{notebook_path} is stored with execution counts"


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_opens_as_a_notebook(path):
    # The jupytext header names the format and a Python kernel, so JupyterLab (with
    # jupytext) opens the file as a notebook; the lesson starts with a title.
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# ---\n# jupyter:\n"), f"{path.name}: no jupytext header"
    notebook = read_lesson(path)
    assert notebook.metadata["jupytext"]["text_representation"]["format_name"] == "percent"
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    first = notebook.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# "), \
        f"{path.name}: the first cell should be a markdown title"


def test_readme_indexes_every_lesson():
    index = (COURSE / "README.md").read_text(encoding="utf-8")
    for path in LESSONS:
        assert path.name in index, f"course/README.md does not list {path.name}"
