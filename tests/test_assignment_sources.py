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

import copy
import re

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
        # conv_output_size is the student's own from assignment 1 (copied, not given)
        {"conv_output_size", "im2col", "col2im", "conv_forward_fast", "conv_backward_fast",
         "conv_1x1"},
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


# name -> {written answer: points}; the maximum is the test cells' points plus these.
WRITTEN = {
    "conv_naive": {"written_padding": 2, "written_shared_gradient": 3, "written_dilation": 3},
    "conv_fast": {"written_im2col_memory": 3, "written_flipped_filters": 3,
                  "written_conv_1x1": 2},
    "pooling_layers": {"written_max_pool_routing": 3, "written_pool_parameters": 3,
                       "written_pool_backward_compared": 2},
    "architectures": {"written_vgg_memory_parameters": 4, "written_training_batch": 3,
                      "written_three_3x3": 3},
    "fcconv_case_studies": {"written_crops": 4, "written_no_fc_head": 3},
}
MAX_SCORES = {"conv_naive": 36, "conv_fast": 32, "pooling_layers": 44, "architectures": 48,
              "fcconv_case_studies": 44}


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


# name -> {grade_id: images drawn in the instructor run}: the ungraded picture cells
FIGURES = {"conv_naive": {"demo_photo": 1}, "conv_fast": {}, "pooling_layers": {}}


def test_instructor_version_draws_its_pictures(run):
    assert ah.figures_by_grade_id(run.source) == FIGURES[run.name]
    if run.name == "conv_naive":
        # the student's own layer on the bundled photo: grey (1x1), blur (5x5, no
        # padding), two Sobel edge maps in one bank (3x3, no padding)
        printed = ah.printed_by_grade_id(run.source)["demo_photo"]
        for line in ("photo    (1, 3, 150, 128)", "grey     (1, 1, 150, 128)",
                     "blurred  (1, 1, 146, 124)", "edges    (1, 2, 148, 126)"):
            assert line in printed, printed


@pytest.mark.parametrize("name", sorted(WRITTEN))
def test_written_questions_and_maximum(name):
    """Every assignment asks its written questions (the structure rules hold for them)
    and its maximum is the tests' points plus the written answers'."""
    nb = ah.read_source(name)
    assert ah.written_problems(nb) == []
    assert ah.written_points(nb) == WRITTEN[name]
    assert ah.max_score(nb) == MAX_SCORES[name]
    assert sum(ah.points(nb).values()) == MAX_SCORES[name] - sum(WRITTEN[name].values())


def _written(nb, gid):
    return next(c for c in nb.cells if ah.grade_id(c) == gid)


def _mutated(change):
    nb = copy.deepcopy(ah.read_source("conv_naive"))
    change(nb)
    return ah.written_problems(nb)


def _set_points(nb, gid, value):
    _written(nb, gid).metadata["nbgrader"]["points"] = value


def _drop_written(nb, keep):
    nb.cells = [c for c in nb.cells if not ah.grade_id(c).startswith(("written_", "question_"))
                or ah.grade_id(c).endswith(keep)]


def _as_code(nb, gid):
    _written(nb, gid).cell_type = "code"


WRITTEN_MISTAKES = {
    "rubric missing": (
        lambda nb: setattr(_written(nb, "written_dilation"), "source",
                           "### BEGIN SOLUTION\n7 against 15.\n### END SOLUTION"),
        "written_dilation: not '### BEGIN SOLUTION'"),
    "solution markers missing": (
        lambda nb: setattr(_written(nb, "written_padding"), "source", "22x22 against 32x32."),
        "written_padding: not '### BEGIN SOLUTION'"),
    "no partial credit": (
        lambda nb: setattr(_written(nb, "written_dilation"), "source", _written(
            nb, "written_dilation").source.replace("Partial (1-2)", "Half")),
        "written_dilation: the rubric needs 'Full (3): ...'"),
    "full marks not the cell's points": (
        lambda nb: _set_points(nb, "written_dilation", 4),
        "written_dilation: the rubric needs 'Full (4): ...'"),
    "too many points": (
        lambda nb: _set_points(nb, "written_padding", 10),
        "written_padding: 10 points, not 2 to 4"),
    "answer locked": (
        lambda nb: _written(nb, "written_padding").metadata["nbgrader"].update(locked=True),
        "written_padding: written answer cell locked"),
    "question missing": (
        lambda nb: nb.cells.remove(next(c for c in nb.cells
                                        if ah.grade_id(c) == "question_dilation")),
        "written_dilation: not preceded by its question cell question_dilation"),
    "question silent about points": (
        lambda nb: setattr(_written(nb, "question_dilation"), "source", "Why dilate?"),
        "question_dilation: does not say '(3 points)'"),
    "no numbers in the model answer": (
        lambda nb: setattr(_written(nb, "written_padding"), "source", re.sub(
            r"(?<=### BEGIN SOLUTION\n).*?(?=\n+### BEGIN RUBRIC)", "Padding keeps the size.",
            _written(nb, "written_padding").source, flags=re.S)),
        "written_padding: the model answer gives no numbers"),
    "only one question": (lambda nb: _drop_written(nb, "_dilation"),
                          "1 written questions, not 2 to 4"),
    "written answer as code": (lambda nb: _as_code(nb, "written_padding"),
                               "written_padding: a written answer cell must be markdown"),
}


@pytest.mark.parametrize("mistake", sorted(WRITTEN_MISTAKES))
def test_written_rules_catch_mistakes(mistake):
    change, expected = WRITTEN_MISTAKES[mistake]
    problems = _mutated(change)
    assert any(p.startswith(expected) for p in problems), problems
