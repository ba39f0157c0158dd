"""Assignment 3 (pooling_layers): the instructor version passes, the student version fails.

Runs ``assignments/pooling_layers/pooling_layers.py`` end to end (see ``assignment_helpers``):
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

NAME = "pooling_layers"
EXPECTED_TESTS = {
    "test_pool_output_size", "test_max_pool_forward", "test_max_pool_backward", "test_avg_pool",
    "test_l2_pool", "test_relu", "test_affine", "test_softmax_loss",
    "test_spatial_batchnorm_forward", "test_spatial_batchnorm_backward",
}
EXPECTED_FUNCTIONS = {
    "pool_output_size", "max_pool_forward_naive", "max_pool_backward_naive",
    "avg_pool_forward", "avg_pool_backward", "l2_pool_forward", "l2_pool_backward",
    "relu_forward", "relu_backward", "affine_forward", "affine_backward", "softmax_loss",
    "spatial_batchnorm_forward", "spatial_batchnorm_backward",
    "lrn_forward", "lrn_backward",  # optional, not graded
}


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
