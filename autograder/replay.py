"""nbgrader preprocessor that puts the sandboxed grading results into the notebook.

nbgrader's own ``Execute`` step would run the tests in the student's kernel. In our
course directory it is replaced by :class:`ReplayResults`, which executes nothing: it
reads the results that :mod:`autograder.execute` computed (in the grader's process,
before nbgrader runs) and writes them as cell outputs. nbgrader's ``SaveAutoGrades``
then scores each test cell the usual way (an error output scores 0), stores the grades
in the gradebook, and ``generate_feedback`` renders them.
"""

from __future__ import annotations

import json
from pathlib import Path

from nbconvert.exporters import HTMLExporter
from nbformat.v4 import new_output
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from .execute import format_failure, is_test_cell, nbgrader_meta, notebook_digest
from .inert import inert_text, seal_html

BEGIN_HIDDEN, END_HIDDEN = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"


class ReplayResults(NbGraderPreprocessor):
    """Fill test-cell outputs from ``<results_dir>/<assignment>/<student>.json``."""

    results_dir = Unicode("results", help="folder of the grading results (JSON)").tag(config=True)

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        results = results_for(Path(self.results_dir), info["assignment"], info["student"],
                              info.get("notebook") or info["assignment"])
        if not results.get("staged"):
            nb = _staged(nb, Path(self.results_dir).resolve().parent, info["assignment"])
        tests = results.get("tests", {})
        student_outputs = iter(results.get("cells", []))
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            if is_test_cell(cell):
                record = tests.get(str(nbgrader_meta(cell).get("grade_id")))
                cell.outputs = _test_outputs(record)
            else:
                cell.outputs = _cell_outputs(next(student_outputs, None))
            cell.execution_count = None
        return nb, resources


class SealedHTMLExporter(HTMLExporter):
    """nbconvert's HTML exporter whose pages carry the feedback's Content-Security-Policy
    (no script, no request to any host): every feedback page nbgrader writes, from
    ``make grade`` or from formgrader's Generate Feedback button."""

    def from_notebook_node(self, nb, resources=None, **kw):
        html, resources = super().from_notebook_node(nb, resources, **kw)
        return seal_html(html), resources


class ClearHiddenTestCode(NbGraderPreprocessor):
    """Remove the hidden tests from the instructor's test cells, and touch nothing else.

    Used for feedback instead of nbgrader's ``ClearHiddenTests``, which parses every
    cell and raises on a student's answer or markdown that merely contains the marker
    text (one such submission stopped the whole class's feedback). Test cells hold the
    source's code (nbgrader restores them); should one hold an unmatched marker, all of
    the cell after it is removed: a hidden test is never shown.
    """

    def preprocess_cell(self, cell, resources, index):
        if is_test_cell(cell):
            cell.source = without_hidden_tests(cell.source)
        return cell, resources


def _staged(nb, course: Path, assignment: str):
    """A notebook nbgrader read as it was put in ``submitted/`` by hand (not staged by
    ``make grade``), made what staging makes it: cell roles from the source, student
    markdown inert, outputs, attachments and other metadata dropped
    (:func:`autograder.execute.trusted_notebook`). Without it a student's HTML would run
    as script in formgrader, on the instructor's Jupyter origin. The checksums nbgrader
    just put on the answer cells (how it recognises an unanswered one) are kept."""
    import nbformat

    from .execute import load_notebook_json, trusted_notebook

    source = load_notebook_json(course / "source" / assignment / f"{assignment}.ipynb",
                                max_bytes=1 << 40)
    checksums = {nbgrader_meta(c).get("grade_id"): nbgrader_meta(c).get("checksum")
                 for c in nb.cells if nbgrader_meta(c).get("checksum")}
    clean = nbformat.from_dict(trusted_notebook(json.loads(nbformat.writes(nb)), source))
    for cell in clean.cells:
        meta = nbgrader_meta(cell)
        if meta.get("grade_id") in checksums:
            meta["checksum"] = checksums[meta["grade_id"]]
    return clean


def results_for(results_dir: Path, assignment: str, student: str, notebook: str) -> dict:
    """The grading results of the student's submitted notebook: those ``make grade``
    wrote when they are for this very notebook (same bytes), else graded now, through
    the same sandbox, and written for next time.

    So formgrader's Autograde button works on any submission in ``submitted/`` (placed
    there by hand, by ``nbgrader collect``, or changed since ``make grade``): nbgrader
    never runs student code in its own kernel here, and the score is the pipeline's.
    """
    course = results_dir.resolve().parent
    submitted = course / "submitted" / student / assignment / f"{notebook}.ipynb"
    path = results_dir / assignment / f"{student}.json"
    digest = notebook_digest(submitted)
    try:
        results = json.loads(path.read_text())
        if results.get("notebook_sha256") == digest:
            return results
    except (OSError, ValueError):
        pass
    from .pipeline import grade_one

    results = grade_one(course, assignment, student, submitted)
    results["staged"] = False            # graded as found: nbgrader must stage it too
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results))
    return results


def without_hidden_tests(source: str) -> str:
    kept, hidden = [], False
    for line in source.split("\n"):
        if BEGIN_HIDDEN in line:
            hidden = True
        elif END_HIDDEN in line and hidden:
            hidden = False
        elif not hidden:
            kept.append(line)
    return "\n".join(kept)


def _stream(name: str, text: str):
    return new_output("stream", name=name, text=inert_text(text))


def _error(ename, evalue, lines) -> object:
    return new_output("error", ename=inert_text(str(ename)), evalue=inert_text(str(evalue)),
                      traceback=[inert_text(str(line)) for line in lines])


def _test_outputs(record: dict | None) -> list:
    if record is None:
        return [_error("NotGraded", "this test was not run",
                       ["NotGraded: this test was not run"])]
    outputs = []
    if record.get("stdout"):
        outputs.append(_stream("stdout", record["stdout"]))
    if not record.get("passed"):
        failure = record.get("failure") or {}
        outputs.append(_error(failure.get("ename", "Error"), failure.get("evalue", ""),
                              format_failure(failure).splitlines()))
    return outputs


def _cell_outputs(record: dict | None) -> list:
    if not record:
        return []
    outputs = []
    if record.get("stdout"):
        outputs.append(_stream("stdout", record["stdout"]))
    # The student's own stderr (warnings) is shown but cannot cost points: only test
    # cells are scored, and their outputs come from the grader.
    if record.get("stderr"):
        outputs.append(_stream("stderr", record["stderr"]))
    error = record.get("error")
    if error:
        lines = [str(line).rstrip("\n") for line in error.get("traceback", [])]
        lines.append(f"{error.get('ename', 'Error')}: {error.get('evalue', '')}")
        outputs.append(_error(error.get("ename", "Error"), error.get("evalue", ""), lines))
    return outputs
