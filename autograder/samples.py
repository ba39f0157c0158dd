"""Sample submissions for the demo and the tests, generated from the sources.

- ``reference``: the instructor's solutions (must get full marks);
- ``blank``: the untouched student release (must get zero);
- ``partial``: the solutions with every second answer cell left as released (some
  points, not all), and a weak answer to every written question.

Written questions (markdown answer cells a person grades) get the model answer in
``reference``, a weak one in ``partial`` and none in ``blank`` (nbgrader scores an
unchanged answer 0 by itself), so the demo's gradebook shows each state.

Generated rather than stored, so they never drift from the assignments.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat

from . import course as course_mod
from .execute import nbgrader_meta

STUDENTS = ("reference", "blank", "partial")


def write_samples(course: Path, out: Path) -> Path:
    """``<out>/<student>/<assignment>/<assignment>.ipynb`` for every built assignment."""
    if out.exists():
        shutil.rmtree(out)
    for name in course_mod.assignment_names():
        release = course / "release" / name / f"{name}.ipynb"
        solution = course / "solutions" / name / f"{name}.ipynb"
        if not release.is_file() or not solution.is_file():
            continue
        released = nbformat.read(release, as_version=4)
        solved = nbformat.read(solution, as_version=4)
        _write(out / "reference" / name / f"{name}.ipynb", solved)
        _write(out / "blank" / name / f"{name}.ipynb", released)
        _write(out / "partial" / name / f"{name}.ipynb", _half_solved(solved, released))
    return out


WEAK_ANSWER = ("I think it depends on the layer sizes, but I did not work it out. "
               "(A sample weak answer: a person gives it few or no points.)")


def _half_solved(solved, released):
    by_id = {nbgrader_meta(c).get("grade_id"): c for c in released.cells}
    nb = nbformat.from_dict(solved)
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type == "markdown" and meta.get("solution") and meta.get("grade"):
            cell.source = WEAK_ANSWER
    answers = [c for c in nb.cells if nbgrader_meta(c).get("solution")
               and c.cell_type == "code"]
    for i, cell in enumerate(answers):
        grade_id = nbgrader_meta(cell).get("grade_id")
        if i % 2 == 1 and grade_id in by_id:
            cell.source = by_id[grade_id].source
    return nb


def _write(path: Path, nb) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
