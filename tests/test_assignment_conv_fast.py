"""Assignment 2 (conv_fast): the instructor version passes, the student version fails.

Runs ``assignments/conv_fast/conv_fast.py`` end to end (see ``assignment_helpers``):
the instructor notebook executes with every test cell passing (hidden tests included,
against the reference package), nbgrader generates the student release, in which every
test cell fails and no setup or answer cell does, and ``nbgrader validate`` /
``validate --invert`` agree.
"""

from __future__ import annotations

import pytest

pytest.importorskip("nbgrader", reason="the assignment tests need the 'grader' extra")
pytest.importorskip("jupytext", reason="the assignment tests need the 'course' extra")

import assignment_helpers as ah  # noqa: E402

NAME = "conv_fast"
EXPECTED_TESTS = {
    "test_im2col", "test_col2im", "test_conv_forward_fast", "test_conv_backward_fast",
    "test_fast_invalid_sizes", "test_conv_1x1",
}
EXPECTED_FUNCTIONS = {"im2col", "col2im", "conv_forward_fast", "conv_backward_fast", "conv_1x1"}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    result = ah.run_assignment(NAME, tmp_path_factory.mktemp(NAME))
    print(f"{NAME}: " + ", ".join(f"{k} {v:.1f} s" for k, v in result.seconds.items()))
    return result


def test_source_follows_the_conventions():
    assert ah.structure_problems(NAME) == []
    nb = ah.read_source(NAME)
    assert set(ah.points(nb)) == EXPECTED_TESTS
    assert ah.defined_functions(nb) == EXPECTED_FUNCTIONS
    total = sum(ah.points(nb).values())
    assert 20 <= total <= 40, total


def test_instructor_version_passes_every_test(run):
    ah.assert_instructor_passes(run)


def test_student_version_fails_every_test_and_no_setup(run):
    ah.assert_release_fails_every_test(run)
    ah.assert_release_is_stubbed(run)


def test_nbgrader_validate(run):
    ah.assert_nbgrader_validates(run)
