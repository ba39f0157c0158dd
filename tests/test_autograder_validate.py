"""``python -m autograder validate <notebook>``, the students' command, run as students
run it (a subprocess) on the toy assignment's notebooks, each in a folder holding the
release's ``checks.py`` as a student's copy of the assignment does.

The contract (``validate --help``): exit status 0 when every visible test passes, 1 when
the notebook ran but is not ready (a failing test is shown with its error, an edited
test cell is reported), 2 when nothing could be validated (no such file, not a
notebook, nbgrader itself failed), with one ``error:`` line and no traceback.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from toy_course import toy_course

from autograder import cli

REPO = Path(__file__).resolve().parents[1]
FAILED_DOUBLE = 'check_close(double(np.arange(3.0)), [0.0, 2.0, 4.0], "double([0, 1, 2])")'
FAILED_SCALER = "s = Scaler(3.0)"


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """The toy assignment built (release, solutions) and its sample submissions."""
    with toy_course(tmp_path_factory.mktemp("validate"), "samples") as built:
        return built


def _student_copy(toy, folder: str, nb, name: str = "toy.ipynb") -> Path:
    """``nb`` saved as ``name`` in a fresh folder next to the release's other files."""
    dest = toy["root"] / "students" / folder
    shutil.copytree(toy["course"] / "release" / "toy", dest)
    (dest / "toy.ipynb").unlink()
    nbformat.write(nb, dest / name)
    return dest / name


def _sample(toy, student: str):
    return nbformat.read(toy["subs"] / student / "toy" / "toy.ipynb", as_version=4)


def _cell(nb, grade_id: str):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _validate(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", "validate", str(path)],
                          capture_output=True, text=True, cwd=REPO, timeout=300)


def test_a_solved_notebook_passes(toy):
    """The release with every answer written, as a student hands it in (the release's
    checksums kept). Its name holds glob characters, which nbgrader would expand into
    no file at all and report nothing."""
    nb = _sample(toy, "blank")
    reference = _sample(toy, "reference")
    for grade_id in ("answer_double", "answer_scaled"):
        _cell(nb, grade_id).source = _cell(reference, grade_id).source
    proc = _validate(_student_copy(toy, "solved", nb, name="toy [v2].ipynb"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert cli.VALIDATE_SUCCESS in proc.stdout
    assert "Traceback" not in proc.stderr


def test_the_untouched_release_fails_on_each_test(toy):
    proc = _validate(_student_copy(toy, "blank", _sample(toy, "blank")))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "VALIDATION FAILED ON 2 CELL(S)" in proc.stdout
    assert proc.stdout.count("NotImplementedError") >= 2
    assert FAILED_DOUBLE in proc.stdout and FAILED_SCALER in proc.stdout
    assert "Success!" not in proc.stdout


def test_a_half_solved_notebook_names_only_the_failing_cell(toy):
    """The ``partial`` sample: ``double`` solved, ``Scaler`` as released."""
    proc = _validate(_student_copy(toy, "partial", _sample(toy, "partial")))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "VALIDATION FAILED ON 1 CELL(S)" in proc.stdout
    assert FAILED_SCALER in proc.stdout and "NotImplementedError" in proc.stdout
    assert FAILED_DOUBLE not in proc.stdout


def test_an_edited_test_cell_is_not_a_success(toy):
    """A test cell rewritten to pass: nbgrader reports the change, the exit status is 1."""
    nb = _sample(toy, "blank")
    _cell(nb, "test_double").source = "pass"
    proc = _validate(_student_copy(toy, "edited", nb))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "THE CONTENTS OF 1 TEST CELL(S) HAVE CHANGED" in proc.stdout
    assert "Success!" not in proc.stdout


def _unreadable(tmp_path: Path, kind: str) -> tuple[Path, str]:
    """A path that is not a notebook, and words the error must contain."""
    if kind == "missing":
        return tmp_path / "nope.ipynb", "no such file"
    if kind == "folder":
        return tmp_path, "is a folder"
    if kind == "text":
        path = tmp_path / "toy.ipynb"
        path.write_text("my answers: 42\n")
        return path, "not valid JSON"
    if kind == "script":
        path = tmp_path / "toy.py"
        path.write_text("def double(x):\n    return 2 * x\n")
        return path, "a notebook is a .ipynb file"
    path = tmp_path / "toy.ipynb"
    path.write_text(json.dumps({"double": "2 * x"}))
    return path, "no list of cells"


@pytest.mark.parametrize("kind", ["missing", "folder", "text", "script", "json"])
def test_what_is_not_a_notebook_is_a_clear_error(tmp_path, kind):
    path, words = _unreadable(tmp_path, kind)
    proc = _validate(path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.startswith("error: ") and words in proc.stderr, proc.stderr
    assert str(path) in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.splitlines()) == 1


def test_when_nbgrader_fails_the_reason_is_one_line(toy):
    """A notebook nbgrader refuses (metadata of a newer nbgrader): exit status 2."""
    nb = _sample(toy, "reference")
    for cell in nb.cells:
        if "nbgrader" in cell.metadata:
            cell.metadata["nbgrader"]["schema_version"] = 99
    proc = _validate(_student_copy(toy, "newer", nb))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.startswith("error: nbgrader could not validate ")
    assert "Schema version is too new" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.splitlines()) == 1


def test_help_documents_the_exit_status():
    proc = subprocess.run([sys.executable, "-m", "autograder", "validate", "--help"],
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 0
    assert "exit status:" in proc.stdout
    for code in ("0", "1", "2"):
        assert f"\n  {code}  " in proc.stdout
