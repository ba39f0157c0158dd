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

from nbformat.v4 import new_output
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from .execute import format_failure, is_test_cell, nbgrader_meta


class ReplayResults(NbGraderPreprocessor):
    """Fill test-cell outputs from ``<results_dir>/<assignment>/<student>.json``."""

    results_dir = Unicode("results", help="folder of the grading results (JSON)").tag(config=True)

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        path = Path(self.results_dir) / info["assignment"] / f"{info['student']}.json"
        results = json.loads(path.read_text())
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


def _test_outputs(record: dict | None) -> list:
    if record is None:
        return [new_output("error", ename="NotGraded", evalue="this test was not run",
                           traceback=["NotGraded: this test was not run"])]
    outputs = []
    if record.get("stdout"):
        outputs.append(new_output("stream", name="stdout", text=record["stdout"]))
    if not record.get("passed"):
        failure = record.get("failure") or {}
        text = format_failure(failure)
        outputs.append(new_output("error", ename=str(failure.get("ename", "Error")),
                                  evalue=str(failure.get("evalue", "")),
                                  traceback=text.splitlines()))
    return outputs


def _cell_outputs(record: dict | None) -> list:
    if not record:
        return []
    outputs = []
    if record.get("stdout"):
        outputs.append(new_output("stream", name="stdout", text=record["stdout"]))
    # The student's own stderr (warnings) is shown but cannot cost points: only test
    # cells are scored, and their outputs come from the grader.
    if record.get("stderr"):
        outputs.append(new_output("stream", name="stderr", text=record["stderr"]))
    error = record.get("error")
    if error:
        lines = [str(line).rstrip("\n") for line in error.get("traceback", [])]
        lines.append(f"{error.get('ename', 'Error')}: {error.get('evalue', '')}")
        outputs.append(new_output("error", ename=str(error.get("ename", "Error")),
                                  evalue=str(error.get("evalue", "")), traceback=lines))
    return outputs
