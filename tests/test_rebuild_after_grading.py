"""An assignment changed after its students were graded: nbgrader refuses to change the
gradebook, the build says why and what to do, and ``demo`` starts afresh only a folder
that holds nothing but its own sample students."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from toy_course import toy_course  # noqa: E402

from autograder import cli, pipeline, samples  # noqa: E402
from autograder import course as course_mod  # noqa: E402

EXTRA_TEST = (
    '\n\n# %% nbgrader={"grade": true, "grade_id": "test_double_again", "locked": true, '
    '"points": 1, "schema_version": 3, "solution": false, "task": false}\n'
    "assert double(2) == 4\n")


@pytest.fixture(scope="module")
def graded_then_changed(tmp_path_factory):
    with toy_course(tmp_path_factory.mktemp("rebuild")) as toy:
        pipeline.grade_assignment(toy["course"], "toy", toy["subs"], workers=1,
                                  progress=False, feedback=False)
        source = toy["assignments"] / "toy" / "toy.py"
        source.write_text(source.read_text() + EXTRA_TEST)
        with pytest.raises(course_mod.CourseError) as err:
            course_mod.build(toy["course"], ["toy"])
        yield toy, str(err.value)


def test_the_build_refuses_and_says_what_to_do(graded_then_changed):
    toy, message = graded_then_changed
    assert course_mod.GRADED_ALREADY in message
    assert "toy's graded cells changed since students were graded" in message
    assert "--course DIR" in message
    # Nothing was lost: the students are still in the gradebook.
    with course_mod.open_gradebook(toy["course"]) as gb:
        assert {s.id for s in gb.students} == set(samples.STUDENTS)


def test_only_a_folder_of_sample_students_may_start_afresh(graded_then_changed, tmp_path):
    toy, _ = graded_then_changed
    assert cli._only_demo_students(toy["course"], samples.STUDENTS)
    (toy["course"] / "submitted" / "ana").mkdir()
    try:
        assert not cli._only_demo_students(toy["course"], samples.STUDENTS)
    finally:
        (toy["course"] / "submitted" / "ana").rmdir()
    assert not cli._only_demo_students(toy["course"], ("reference", "blank"))
    assert cli._only_demo_students(tmp_path / "nothing-here", samples.STUDENTS)
