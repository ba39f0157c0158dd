"""Assignment 5 (FC->CONV and case studies): the source runs, the release fails,
nbgrader validates.

End to end through ``assignment_helpers`` (instructor run, nbgrader release, student
run, ``nbgrader validate`` and ``validate --invert``), plus in-process checks that the
notebook's given code (compact layers, ``SMALL_NET``) agrees with the reference
package and that the instructor solutions reproduce the notes' figures and the
reference's FC->CONV conversion.
"""

from __future__ import annotations

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
    grade_id,
    points,
    printed_by_grade_id,
    read_source,
    run_assignment,
    run_quietly,
    structure_problems,
    visible_part,
)

NAME = "fcconv_case_studies"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_assignment(NAME, tmp_path_factory.mktemp(NAME))


@pytest.fixture(scope="module")
def source():
    return read_source(NAME)


@pytest.fixture(scope="module")
def ns(source):
    """The given cells and the instructor's answers, executed in one namespace."""
    namespace = {}
    exec("import math\nimport time\nimport numpy as np\n"
         "from numpy.lib.stride_tricks import sliding_window_view", namespace)
    for cell in source.cells:
        if cell.cell_type == "code" and grade_id(cell).startswith(("setup_", "answer_")):
            exec(cell.source, namespace)
    return namespace


def small_net_reference(params):
    """SMALL_NET as a reference Sequential, with the notebook's parameters."""
    c1, c2, c3 = (params[f"conv{i}_w"].shape[0] for i in (1, 2, 3))
    h1, h2, k = params["fc1_w"].shape[1], params["fc2_w"].shape[1], params["fc3_w"].shape[1]
    model = ref.Sequential([
        ref.Conv(c1, 5), ref.ReLU(), ref.MaxPool(2), ref.Conv(c2, 3), ref.ReLU(), ref.MaxPool(2),
        ref.Conv(c3, 3), ref.ReLU(), ref.MaxPool(2), ref.Affine(h1), ref.ReLU(), ref.Affine(h2),
        ref.ReLU(), ref.Affine(k)], (3, 32, 32), dtype=np.float64)
    model.params = {key.replace("_", "."): value for key, value in params.items()}
    return model


# --------------------------------------------------------------------------------------
# Static structure and given code
# --------------------------------------------------------------------------------------

def test_structure():
    assert structure_problems(NAME) == []


def test_points_and_cells(source):
    table = points(source)
    assert 8 <= len(table) <= 15, table
    assert 30 <= sum(table.values()) <= 45, table
    assert table["test_residual_block_backward"] >= 5
    for cell in cells_by_kind(source, "test"):
        assert "convnets" in cell.source.split("### BEGIN HIDDEN TESTS")[1], grade_id(cell)


def test_given_layers_match_the_reference(ns):
    rng = np.random.default_rng(0)
    for _ in range(15):
        C, H, W = int(rng.integers(1, 4)), int(rng.integers(4, 10)), int(rng.integers(4, 10))
        F, HH, WW = int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(1, 4))
        S, P = int(rng.integers(1, 3)), int(rng.integers(0, 2))
        if (H - HH + 2 * P) % S or (W - WW + 2 * P) % S:
            continue
        x, w = rng.standard_normal((2, C, H, W)), rng.standard_normal((F, C, HH, WW))
        b = rng.standard_normal(F)
        conv_param = {"stride": S, "pad": P}
        out, cache = ns["conv_forward"](x, w, b, conv_param)
        ref_out, ref_cache = ref.conv_forward_naive(x, w, b, conv_param)
        ref.assert_close(out, ref_out, rtol=1e-12)
        dout = rng.standard_normal(out.shape)
        for got, want in zip(ns["conv_backward"](dout, cache),
                             ref.conv_backward_naive(dout, ref_cache), strict=True):
            ref.assert_close(got, want, rtol=1e-12)
    for W, F, S, P in [(227, 11, 4, 0), (224, 11, 4, 0), (10, 3, 2, 0), (7, 3, 2, 1), (3, 5, 1, 0)]:
        try:
            expected = ref.conv_output_size(W, F, S, P)
        except ValueError:
            with pytest.raises(ValueError):
                ns["conv_output_size"](W, F, S, P)
        else:
            assert ns["conv_output_size"](W, F, S, P) == expected


def test_small_net_matches_the_reference(ns):
    params = ns["init_small_net"]((3, 4, 5, 6, 7), num_classes=4, seed=3)
    x = np.random.default_rng(1).standard_normal((3, 3, 32, 32))
    model = small_net_reference(params)
    ref.assert_close(ns["small_net_forward"](x, params), model.forward(x), rtol=1e-10)
    assert ref.summarize(model, warn=False).total_stride == 8


def test_solutions_agree_with_fc_to_conv(ns):
    params = ns["init_small_net"]((4, 5, 6, 7, 8), num_classes=5, seed=7)
    model = small_net_reference(params)
    converted = ref.fc_to_conv(model)
    mine = ns["convert_small_net"](params)
    for key, value in converted.params.items():
        ref.assert_close(mine[key.replace(".", "_")], value, rtol=0)
    image = np.random.default_rng(2).standard_normal((3, 56, 40))
    score_map = ns["fully_conv_forward"](image[None], mine)
    assert score_map.shape == (1, 5, 4, 2)
    ref.assert_close(score_map, converted.forward(image[None]), rtol=1e-10)
    ref.assert_close(ns["crop_scores"](image, params), ref.crop_scores(model, image, 32, 8),
                     rtol=1e-10)
    # exact: the map is the crops' scores to rounding (no zero-padding in SMALL_NET)
    ref.assert_close(score_map[0], ns["crop_scores"](image, params), rtol=1e-10)


def test_solutions_reproduce_the_notes_figures(ns):
    assert ns["score_map_side"](384, 224, 32) ** 2 == 36
    assert ns["conv_layer_shape"]((3, 227, 227), 96, 11, 4, 0) == (96, 55, 55)
    with pytest.raises(ValueError, match="54.25"):
        ns["conv_layer_shape"]((3, 224, 224), 96, 11, 4, 0)
    assert ns["fitting_paddings"](224, 11, 4, max_pad=50) == []
    counts = ns["conv_layer_counts"]((3, 227, 227), 96, 11, 4, 0)
    assert counts == {"neurons": 290400, "params_per_neuron": 364,
                      "params_without_sharing": 105705600, "weights_with_sharing": 34848,
                      "params_with_sharing": 34944}


def test_residual_block_solution_matches_basic_block(ns):
    rng = np.random.default_rng(4)
    C, shape = 3, (2, 3, 4, 5)
    x, dout = rng.standard_normal(shape), rng.standard_normal(shape)
    params = {"w1": rng.standard_normal((C, C, 3, 3)), "w2": rng.standard_normal((C, C, 3, 3)),
              "gamma1": rng.standard_normal(C), "beta1": rng.standard_normal(C),
              "gamma2": rng.standard_normal(C), "beta2": rng.standard_normal(C)}
    model = ref.Sequential([ref.basic_block(C, C)], shape[1:], dtype=np.float64)
    names = {"w1": "conv1.w", "w2": "conv2.w", "gamma1": "bn1.gamma", "beta1": "bn1.beta",
             "gamma2": "bn2.gamma", "beta2": "bn2.beta"}
    model.params = {f"res1.main.{names[k]}": v for k, v in params.items()}
    block = model.layers[0]
    out_ref, cache_ref = block.forward(x, model.params, model.buffers, True)
    grads_ref = {}
    dx_ref = block.backward(dout, cache_ref, grads_ref)
    bn_params = [{"mode": "train"}, {"mode": "train"}]
    out, cache = ns["residual_block_forward"](x, params, bn_params)
    dx, grads = ns["residual_block_backward"](dout, cache)
    ref.assert_close(out, out_ref, rtol=1e-10)
    ref.assert_close(dx, dx_ref, rtol=1e-9, atol=1e-12)
    for key, name in names.items():
        ref.assert_close(grads[key], grads_ref[f"res1.main.{name}"], rtol=1e-9, atol=1e-12)
    # the running statistics move as the reference's do (not gradable across the sandbox)
    for i in (1, 2):
        for stat in ("running_mean", "running_var"):
            ref.assert_close(bn_params[i - 1][stat], model.buffers[f"res1.main.bn{i}.{stat}"],
                             rtol=1e-10)


# --------------------------------------------------------------------------------------
# End to end
# --------------------------------------------------------------------------------------

def test_instructor_version_passes(run):
    assert_instructor_passes(run)


def test_instructor_version_shows_the_figures(run):
    outputs = printed_by_grade_id(run.source)
    assert "== 36" in outputs["test_score_map_side"]
    assert "== 105705600" in outputs["test_alexnet_parameter_counts"]
    assert "== 34944" in outputs["test_alexnet_parameter_counts"]
    assert "54.25" in outputs["test_alexnet_first_layer"]
    assert "one pass == the nine crops" in outputs["test_score_map_equals_crops"]


def test_release_fails_every_test(run):
    assert_release_fails_every_test(run)


def test_release_is_stubbed(run):
    assert_release_is_stubbed(run)


def test_nbgrader_validates(run):
    assert_nbgrader_validates(run)


def test_run_times(run):
    assert run.seconds["instructor"] < 60, run.seconds
    print(run.seconds)


# --------------------------------------------------------------------------------------
# The hidden tests earn their points: mistakes the visible tests let through fail them
# --------------------------------------------------------------------------------------

def _test_cell(source, gid):
    return next(c.source for c in cells_by_kind(source, "test") if grade_id(c) == gid)


@pytest.fixture
def notebook_namespace(source, monkeypatch):
    """Every setup and answer cell of the instructor source, run in order."""
    monkeypatch.syspath_prepend(str(ASSIGNMENTS))
    namespace = {}
    for cell in source.cells:
        if cell.cell_type == "code" and cell_kind(cell) in ("setup", "answer"):
            run_quietly(cell.source, namespace)
    return namespace


def test_hidden_tests_catch_what_the_visible_ones_miss(source, notebook_namespace):
    ns = notebook_namespace
    right_bn = ns["spatial_batchnorm_forward"]

    def bn_with_fixed_eps(x, gamma, beta, bn_param):  # ignores bn_param["eps"]
        return right_bn(x, gamma, beta, {**bn_param, "eps": 1e-5})

    def convert_for_default_widths(params):  # hard-codes SMALL_NET's default widths
        converted = dict(params)
        for name, volume in {"fc1": (16, 2, 2), "fc2": (32, 1, 1), "fc3": (32, 1, 1)}.items():
            converted[f"{name}_w"] = params[f"{name}_w"].T.reshape((-1,) + volume)
        return converted

    for gid, name, wrong in [("test_spatial_batchnorm_forward", "spatial_batchnorm_forward",
                              bn_with_fixed_eps),
                             ("test_convert_small_net", "convert_small_net",
                              convert_for_default_widths)]:
        cell = _test_cell(source, gid)
        run_quietly(cell, dict(ns))                                  # the right answer passes
        wrong_ns = {**ns, name: wrong}
        run_quietly(visible_part(cell), dict(wrong_ns))              # the mistake passes visibly
        with pytest.raises((AssertionError, ValueError)):
            run_quietly(cell, dict(wrong_ns))                        # and fails the hidden tests
