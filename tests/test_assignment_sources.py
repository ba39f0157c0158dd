"""Assignments 1-3 (conv_naive, conv_fast, pooling_layers): the instructor version passes,
the student version fails.

Runs ``assignments/<name>/<name>.py`` end to end (see ``assignment_helpers``): the
instructor notebook executes with every test cell passing (hidden tests included, against
the reference package), nbgrader generates the student release, in which every test cell
fails and no setup or answer cell does, and ``nbgrader validate`` / ``validate --invert``
agree. (architectures and fcconv_case_studies have test files of their own, with extra
checks.)
"""

from __future__ import annotations

import pytest

pytest.importorskip("nbgrader", reason="the assignment tests need the 'grader' extra")
pytest.importorskip("jupytext", reason="the assignment tests need the 'course' extra")

import assignment_helpers as ah  # noqa: E402

# name -> (the graded test cells, the functions students write)
EXPECTED = {
    "conv_naive": (
        {"test_zero_pad", "test_conv_output_size", "test_conv_forward_naive_shapes",
         "test_conv_forward_naive_values", "test_conv_backward_naive",
         "test_notes_example_volume", "test_dilation"},
        {"zero_pad", "conv_output_size", "conv_forward_naive", "conv_backward_naive",
         "notes_example_volume"},
    ),
    "conv_fast": (
        {"test_im2col", "test_col2im", "test_conv_forward_fast", "test_conv_backward_fast",
         "test_fast_invalid_sizes", "test_conv_1x1"},
        {"im2col", "col2im", "conv_forward_fast", "conv_backward_fast", "conv_1x1"},
    ),
    "pooling_layers": (
        {"test_pool_output_size", "test_max_pool_forward", "test_max_pool_backward",
         "test_avg_pool", "test_l2_pool", "test_relu", "test_affine", "test_softmax_loss",
         "test_spatial_batchnorm_forward", "test_spatial_batchnorm_backward"},
        {"pool_output_size", "max_pool_forward_naive", "max_pool_backward_naive",
         "avg_pool_forward", "avg_pool_backward", "l2_pool_forward", "l2_pool_backward",
         "relu_forward", "relu_backward", "affine_forward", "affine_backward", "softmax_loss",
         "spatial_batchnorm_forward", "spatial_batchnorm_backward",
         "lrn_forward", "lrn_backward"},  # LRN is optional, not graded
    ),
}


@pytest.fixture(scope="module", params=sorted(EXPECTED))
def run(request, tmp_path_factory):
    name = request.param
    result = ah.run_assignment(name, tmp_path_factory.mktemp(name))
    print(f"{name}: " + ", ".join(f"{k} {v:.1f} s" for k, v in result.seconds.items()))
    return result


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_source_follows_the_conventions(name):
    tests, functions = EXPECTED[name]
    assert ah.structure_problems(name) == []
    nb = ah.read_source(name)
    assert set(ah.points(nb)) == tests
    assert ah.defined_functions(nb) == functions
    total = sum(ah.points(nb).values())
    assert 20 <= total <= 40, total


def test_instructor_version_passes_every_test(run):
    ah.assert_instructor_passes(run)


def test_student_version_fails_every_test_and_no_setup(run):
    ah.assert_release_fails_every_test(run)
    ah.assert_release_is_stubbed(run)


def test_nbgrader_validate(run):
    ah.assert_nbgrader_validates(run)
