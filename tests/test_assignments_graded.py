"""Every assignment through the real pipeline: the instructor's solutions get every
automatic point, the untouched release gets zero, a half-solved notebook gets something in
between; the written answers (graded by a person) are pending for the reference and
partial students and scored 0 for the blank one, and their rubric never reaches the
release or the self-study solutions.

This is also the proof that the solution regions agree with the reference package: the
hidden tests compare the student's functions with ``convnets`` on random inputs, so the
reference student only gets full marks when the notebook's solutions match the package.
(``nbgrader validate`` on each source and release runs with the assignment's own tests:
tests/assignment_helpers.py, ``assert_nbgrader_validates``.)
"""

import sys
from pathlib import Path

import convnets
import nbformat
import numpy as np
import pytest

from autograder import course as course_mod
from autograder import pipeline, samples

sys.path.insert(0, str(Path(__file__).parent))
import submission_fuzzer as fz  # noqa: E402

ASSIGNMENTS = course_mod.assignment_names()
# The maxima: the test cells' points plus the written answers' (test_assignment_sources
# checks both parts against the sources).
MAX_SCORES = {"conv_naive": 36, "conv_fast": 32, "pooling_layers": 44, "architectures": 48,
              "fcconv_case_studies": 44}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A copy of the five assignments built once for the whole run (the fuzzer's and the
    hostile corpus's course: one build instead of three)."""
    root = tmp_path_factory.mktemp("course")
    course_dir = fz.copy_course(fz.built_course(tmp_path_factory.mktemp("built")),
                                root / "course")
    subs = samples.write_samples(course_dir, root / "samples")
    return course_dir, subs


def _written_cells(path):
    nb = nbformat.read(path, as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: (c, nb.cells[i - 1])
            for i, c in enumerate(nb.cells) if c.cell_type == "markdown"
            and c.metadata.get("nbgrader", {}).get("grade")}


def _written_points(course_dir, assignment):
    source = course_mod.source_notebook(course_dir, assignment)
    return sum(c.metadata["nbgrader"]["points"] for c, _ in _written_cells(source).values())


def test_the_five_assignments_exist():
    assert ASSIGNMENTS == sorted(["conv_naive", "conv_fast", "pooling_layers",
                                  "architectures", "fcconv_case_studies"])


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_no_rubric_reaches_students(course, assignment):
    """The release asks every written question with an empty answer; the self-study
    solutions give the model answer without the rubric or nbgrader's markers; only the
    instructor's source keeps the rubric."""
    course_dir, subs = course
    source = _written_cells(course_mod.source_notebook(course_dir, assignment))
    release_path = course_dir / "release" / assignment / f"{assignment}.ipynb"
    solution_path = course_dir / "solutions" / assignment / f"{assignment}.ipynb"
    release, solution = _written_cells(release_path), _written_cells(solution_path)
    assert 2 <= len(source) <= 4 and set(release) == set(solution) == set(source)
    for gid, (cell, question) in source.items():
        assert "### BEGIN RUBRIC" in cell.source and "Full (" in cell.source, gid
        answer, released_question = release[gid]
        assert answer.source.strip() == "YOUR ANSWER HERE", (gid, answer.source[:200])
        assert released_question.source == question.source
        assert answer.metadata["nbgrader"]["points"] == cell.metadata["nbgrader"]["points"]
        model, _ = solution[gid]
        expected = cell.source.split("### BEGIN SOLUTION\n")[1].split("### BEGIN RUBRIC")[0]
        assert model.source == expected.strip("\n"), gid
    for path in (release_path, solution_path,
                 *(subs / s / assignment / f"{assignment}.ipynb" for s in samples.STUDENTS)):
        text = path.read_text(encoding="utf-8")
        for marker in ("RUBRIC", "Full (", "Partial ("):
            assert marker not in text, (path, marker)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_reference_full_blank_zero(course, assignment):
    course_dir, subs = course
    batch = pipeline.grade_batch(course_dir, assignment, subs, workers=2, progress=False,
                                 feedback=assignment == ASSIGNMENTS[0])
    rows = {r["student_id"]: r for r in batch.rows}
    reference, blank, partial = rows["reference"], rows["blank"], rows["partial"]
    written = _written_points(course_dir, assignment)
    automatic = MAX_SCORES[assignment] - written
    assert {r["max_score"] for r in rows.values()} == {MAX_SCORES[assignment]}, rows
    # The reference gets every automatic point; its written answers wait for a person.
    assert (reference["status"], reference["score"], reference["auto_score"]) == \
        ("graded", automatic, automatic), reference
    pending = f"{pipeline.WRITTEN_PENDING} ({written:g} points)"
    assert reference["written"] == pending == "to be graded by a person " \
        f"({written:g} points)", reference
    assert (blank["status"], blank["score"]) == ("graded", 0.0), blank
    assert blank["written"] == pipeline.WRITTEN_BLANK == "not answered (0 points)", blank
    assert partial["status"] == "graded"
    assert 0 < partial["score"] < automatic, partial
    assert partial["written"] == pending, partial
    table = pipeline.gradebook_table(batch.csv)
    assert f"{automatic:g}/{MAX_SCORES[assignment]:g} (written part to be graded by a " \
        "person)" in table, table
    if assignment == ASSIGNMENTS[0]:
        for student in samples.STUDENTS:
            page = (course_dir / "feedback" / student / assignment /
                    f"{assignment}.html").read_text(encoding="utf-8")
            assert "RUBRIC" not in page and "Partial (" not in page, student


def _functions_with_code(path):
    """Names of the functions a notebook defines with a body other than the release's
    ``raise NotImplementedError()`` stub."""
    import ast

    names = set()
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.FunctionDef) and "NotImplementedError" not in \
                    ast.unparse(node):
                names.add(node.name)
    return names


def test_conv_fast_ships_arrays_not_assignment_1(course):
    """Assignment 2 can be handed out while assignment 1 is open: its release defines
    none of assignment 1's functions (conv_output_size is a stub the student fills in),
    and what its tests compare with is arrays the build computed with the reference
    package (not its build script, not code)."""
    course_dir, _ = course
    release = course_dir / "release" / "conv_fast"
    assert sorted(p.name for p in release.iterdir()) == [
        "checks.py", "conv_fast.ipynb", "conv_fast_expected.npz"]
    first = {"zero_pad", "conv_output_size", "conv_forward_naive", "conv_backward_naive",
             "notes_example_volume"}
    assert first <= _functions_with_code(course_dir / "source" / "conv_naive" / "conv_naive.ipynb")
    assert not first & _functions_with_code(release / "conv_fast.ipynb")
    with np.load(release / "conv_fast_expected.npz") as stored:
        arrays = dict(stored)
    cases = {key.split("_")[0] for key in arrays}
    assert len(cases) == 8, cases
    for case in cases:
        x, w, b = arrays[f"{case}_x"], arrays[f"{case}_w"], arrays[f"{case}_b"]
        S, P, D = (int(v) for v in arrays[f"{case}_param"])
        out, cache = convnets.conv_forward_naive(x, w, b, {"stride": S, "pad": P, "dilation": D})
        np.testing.assert_allclose(arrays[f"{case}_out"], out, rtol=1e-12, atol=1e-12)
        if f"{case}_dout" in arrays:
            grads = convnets.conv_backward_naive(arrays[f"{case}_dout"], cache)
            for name, grad in zip(("dx", "dw", "db"), grads, strict=True):
                np.testing.assert_allclose(arrays[f"{case}_{name}"], grad, rtol=1e-12,
                                           atol=1e-12)
