"""Assignment 4 (architectures): the source runs, the release fails, nbgrader validates.

The end-to-end checks use the shared machinery in ``assignment_helpers``: the
instructor version is executed with nbclient (every cell runs, every test passes),
the student release is generated with nbgrader and executed (every test cell fails,
no setup or answer cell does), and ``nbgrader validate`` / ``validate --invert`` pass.

The given code of the notebook (the compact layers students call, the digits split)
is checked against the reference package here, in-process, so that the locked cells
and ``convnets`` cannot drift apart.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

pytest.importorskip("jupytext", reason="the assignments need the 'course' extra")
pytest.importorskip("nbgrader", reason="the assignments need the 'grader' extra")

import convnets as ref  # noqa: E402
from assignment_helpers import (  # noqa: E402
    ASSIGNMENTS,
    assert_instructor_passes,
    assert_nbgrader_validates,
    assert_release_fails_every_test,
    assert_release_is_stubbed,
    cell_kind,
    cells_by_kind,
    figures_by_grade_id,
    grade_id,
    points,
    printed_by_grade_id,
    read_source,
    run_assignment,
    run_quietly,
    structure_problems,
    visible_part,
)

NAME = "architectures"
CLASS_TESTS = {"test_three_layer_convnet_shapes", "test_three_layer_convnet_gradients"}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_assignment(NAME, tmp_path_factory.mktemp(NAME))


@pytest.fixture(scope="module")
def source():
    return read_source(NAME)


def given_namespace(source, *grade_ids):
    """Execute the locked cells ``grade_ids`` (and the imports they need) in a namespace."""
    cells = {grade_id(c): c.source for c in source.cells if c.cell_type == "code"}
    namespace = {}
    exec("import math\nimport numpy as np\n"
         "from numpy.lib.stride_tricks import sliding_window_view", namespace)
    for gid in grade_ids:
        exec(cells[gid], namespace)
    return namespace


# --------------------------------------------------------------------------------------
# Static structure
# --------------------------------------------------------------------------------------

def test_structure(source):
    # The shared check recognises student *functions* only; the ThreeLayerConvNet test
    # cells call the student's class instead, which is checked here.
    problems = [p for p in structure_problems(NAME)
                if not (p.split(":")[0] in CLASS_TESTS and "calls no student function" in p)]
    assert not problems, problems
    for cell in cells_by_kind(source, "test"):
        if grade_id(cell) in CLASS_TESTS:
            assert "ThreeLayerConvNet(" in visible_part(cell.source), grade_id(cell)


def test_points_and_cells(source):
    table = points(source)
    assert 8 <= len(table) <= 15, table
    assert 30 <= sum(table.values()) <= 45, table
    assert table["test_three_layer_convnet_gradients"] >= 5
    # every hidden block draws its own random numbers and compares with the reference
    for cell in cells_by_kind(source, "test"):
        hidden = cell.source.split("### BEGIN HIDDEN TESTS")[1]
        assert "convnets" in hidden, grade_id(cell)


def test_given_layers_match_the_reference(source):
    ns = given_namespace(source, "setup_layers")
    rng = np.random.default_rng(0)
    for _ in range(20):
        N, C = int(rng.integers(1, 3)), int(rng.integers(1, 4))
        H, W = int(rng.integers(4, 10)), int(rng.integers(4, 10))
        F, HH, WW = int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(1, 4))
        S, P = int(rng.integers(1, 3)), int(rng.integers(0, 2))
        if (H - HH + 2 * P) % S or (W - WW + 2 * P) % S:
            continue
        x, w = rng.standard_normal((N, C, H, W)), rng.standard_normal((F, C, HH, WW))
        b = rng.standard_normal(F)
        conv_param = {"stride": S, "pad": P}
        out, cache = ns["conv_forward"](x, w, b, conv_param)
        ref_out, ref_cache = ref.conv_forward_naive(x, w, b, conv_param)
        ref.assert_close(out, ref_out, rtol=1e-12)
        dout = rng.standard_normal(out.shape)
        for got, want in zip(ns["conv_backward"](dout, cache),
                             ref.conv_backward_naive(dout, ref_cache), strict=True):
            ref.assert_close(got, want, rtol=1e-12)
        pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
        x = rng.standard_normal((N, C, 2 * (H // 2), 2 * (W // 2)))
        out, cache = ns["max_pool_forward"](x, pool_param)
        ref_out, ref_cache = ref.max_pool_forward_naive(x, pool_param)
        ref.assert_close(out, ref_out, rtol=1e-12)
        dout = rng.standard_normal(out.shape)
        ref.assert_close(ns["max_pool_backward"](dout, cache),
                         ref.max_pool_backward_naive(dout, ref_cache), rtol=1e-12)
    x, w, b = rng.standard_normal((3, 2, 2, 2)), rng.standard_normal((8, 4)), rng.standard_normal(4)
    out, cache = ns["affine_forward"](x, w, b)
    ref_out, ref_cache = ref.affine_forward(x, w, b)
    ref.assert_close(out, ref_out, rtol=1e-12)
    dout = rng.standard_normal(out.shape)
    for got, want in zip(ns["affine_backward"](dout, cache), ref.affine_backward(dout, ref_cache),
                         strict=True):
        ref.assert_close(got, want, rtol=1e-12)
    scores, y = rng.standard_normal((5, 4)), np.array([0, 1, 3, 2, 1])
    loss, dscores = ns["softmax_loss"](scores, y)
    ref_loss, ref_dscores = ref.softmax_loss(scores, y)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    ref.assert_close(dscores, ref_dscores, rtol=1e-12)
    with pytest.raises(ValueError, match="not a positive integer"):
        ns["conv_forward"](np.zeros((1, 1, 10, 10)), np.zeros((1, 1, 3, 3)), np.zeros(1),
                           {"stride": 2, "pad": 0})


def test_the_solution_network_matches_the_reference(source):
    """The instructor's ThreeLayerConvNet gives the reference's loss and gradients."""
    ns = given_namespace(source, "setup_layers", "answer_three_layer_convnet")
    rng = np.random.default_rng(1)
    config = dict(input_dim=(2, 6, 4), num_filters=3, filter_size=3, hidden_dim=7,
                  num_classes=5, reg=0.3, dtype=np.float64)
    model = ns["ThreeLayerConvNet"](**config)
    reference = ref.ThreeLayerConvNet(**config, seed=0)
    params = {k: rng.standard_normal(v.shape) for k, v in reference.params.items()}
    model.params, reference.params = dict(params), dict(params)
    X, y = rng.standard_normal((4, 2, 6, 4)), rng.integers(0, 5, 4)
    loss, grads = model.loss(X, y)
    ref_loss, ref_grads = reference.loss(X, y)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    for key in ref_grads:
        ref.assert_close(grads[key], ref_grads[key], rtol=1e-10)


def test_digits_split_matches_the_reference(source):
    """The students' training and validation images are the reference's: the test split
    the hidden test grades on was never given to them."""
    ns = given_namespace(source, "setup_digits")
    data = ns["digits"]
    from convnets.data import load_digits

    reference = load_digits()
    for part in ("train", "val"):
        ref.assert_close(data[f"X_{part}"], reference[f"X_{part}"], rtol=1e-6, atol=1e-6)
        np.testing.assert_array_equal(data[f"y_{part}"], reference[f"y_{part}"])
    assert "X_test" not in data


def test_vgg16_spec_matches_the_zoo(source):
    ns = given_namespace(source, "setup_vgg16")
    zoo_kinds = [layer.kind for layer in ref.zoo.get("vgg16").layers]
    kinds = []
    for layer in ns["VGG16"]:
        kinds.append({"CONV": lambda lay: f"CONV{lay[2]}-{lay[1]}", "RELU": lambda lay: "RELU",
                      "POOL": lambda lay: f"POOL{lay[1]}", "FC": lambda lay: "FC"}[layer[0]](layer))
    assert kinds == zoo_kinds
    assert ns["VGG16_INPUT"] == (3, 224, 224)


# --------------------------------------------------------------------------------------
# End to end (one instructor run, one release, nbgrader validate)
# --------------------------------------------------------------------------------------

def test_instructor_version_passes(run):
    assert_instructor_passes(run)


def test_instructor_version_shows_the_notes_figures(run):
    outputs = printed_by_grade_id(run.source)
    assert "138344128" in outputs["test_network_totals"]
    assert "15237608" in outputs["test_network_totals"]
    assert "58.13 MB" in outputs["test_memory_bytes"]
    assert "[3, 5, 7]" in outputs["test_receptive_fields"]
    accuracy = re.search(r"ok: validation accuracy (0\.\d+)", outputs["test_digits_accuracy"])
    assert accuracy and float(accuracy.group(1)) >= 0.9


def test_instructor_version_shows_the_learned_filters(run):
    # the first-layer filters of the network the notebook trained, and their responses
    # to one digit: two figures, and no error
    assert figures_by_grade_id(run.source) == {"demo_learned_filters": 2}


def test_release_fails_every_test(run):
    assert_release_fails_every_test(run)


def test_release_is_stubbed(run):
    assert_release_is_stubbed(run)
    release_classes = [c for c in cells_by_kind(run.release, "answer")
                       if "class ThreeLayerConvNet" in c.source]
    assert len(release_classes) == 1
    assert release_classes[0].source.count("raise NotImplementedError") == 3


def test_nbgrader_validates(run):
    assert_nbgrader_validates(run)


def test_run_times(run):
    # Generous bounds (a loaded 2-core machine); the figures go in the report.
    assert run.seconds["instructor"] < 60, run.seconds
    print(run.seconds)


# --------------------------------------------------------------------------------------
# The hidden tests earn their points: mistakes the visible tests let through fail them
# --------------------------------------------------------------------------------------

def test_hidden_tests_catch_what_the_visible_ones_miss(source, monkeypatch):
    monkeypatch.syspath_prepend(str(ASSIGNMENTS))
    ns = {}
    for cell in source.cells:
        if cell.cell_type == "code" and cell_kind(cell) in ("setup", "answer"):
            run_quietly(cell.source, ns)
    tests = {grade_id(c): c.source for c in cells_by_kind(source, "test")}

    def pool_without_fit_check(W, F, S):  # a window larger than the input slips through
        if (W - F) % S:
            raise ValueError("does not tile")
        return (W - F) // S + 1

    class FixedScale(ns["ThreeLayerConvNet"]):  # ignores weight_scale
        def __init__(self, *args, weight_scale=1e-3, **kwargs):
            super().__init__(*args, weight_scale=1e-3, **kwargs)

    for gid, name, wrong in [("test_output_sizes", "pool_output_size", pool_without_fit_check),
                             ("test_three_layer_convnet_shapes", "ThreeLayerConvNet", FixedScale)]:
        run_quietly(tests[gid], dict(ns))                          # the right answer passes
        wrong_ns = {**ns, name: wrong}
        run_quietly(visible_part(tests[gid]), dict(wrong_ns))      # the mistake passes visibly
        with pytest.raises(AssertionError):
            run_quietly(tests[gid], dict(wrong_ns))                # and fails the hidden tests
