"""Every assignment through the real pipeline: the instructor's solutions get full marks,
the untouched release gets zero, a half-solved notebook gets something in between.

This is also the proof that the solution regions agree with the reference package: the
hidden tests compare the student's functions with ``convnets`` on random inputs, so the
reference student only gets full marks when the notebook's solutions match the package.
"""

import csv

import pytest

from autograder import course as course_mod
from autograder import pipeline, samples

ASSIGNMENTS = course_mod.assignment_names()


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    course_dir = root / "course"
    course_mod.build(course_dir, ASSIGNMENTS)
    subs = samples.write_samples(course_dir, root / "samples")
    return course_dir, subs


def test_the_five_assignments_exist():
    assert ASSIGNMENTS == sorted(["conv_naive", "conv_fast", "pooling_layers",
                                  "architectures", "fcconv_case_studies"])


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_reference_full_blank_zero(course, assignment):
    course_dir, subs = course
    path = pipeline.grade_assignment(course_dir, assignment, subs, workers=2, progress=False,
                                     feedback=assignment == ASSIGNMENTS[0])
    with open(path, newline="") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    reference, blank, partial = rows["reference"], rows["blank"], rows["partial"]
    max_score = float(reference["max_score"])
    assert max_score > 0
    assert (reference["status"], float(reference["score"])) == ("graded", max_score), reference
    assert (blank["status"], float(blank["score"])) == ("graded", 0.0), blank
    assert partial["status"] == "graded"
    assert 0 < float(partial["score"]) < max_score, partial


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_nbgrader_validate(course, assignment):
    """``nbgrader validate`` passes on the source and ``--invert`` on the release."""
    course_dir, _ = course
    source = course_dir / "source" / assignment / f"{assignment}.ipynb"
    release = course_dir / "release" / assignment / f"{assignment}.ipynb"
    proc = course_mod.nbgrader(source.parent, "validate", str(source), check=False)
    assert "Success!" in proc.stdout, proc.stdout[-3000:]
    proc = course_mod.nbgrader(release.parent, "validate", "--invert", str(release),
                               check=False)
    assert "Success!" in proc.stdout, proc.stdout[-3000:]
