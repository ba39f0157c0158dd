"""The locally-connected layer: equal to conv when the weights are tied, gradient
check, an explicit-loop reference, dtypes and bad shapes."""

from __future__ import annotations

import numpy as np
import pytest
from convnets.gradcheck import assert_close, check_layer_gradients
from convnets.layers.conv_naive import conv_backward_naive, conv_forward_naive
from convnets.layers.locally_connected import (
    locally_connected_backward,
    locally_connected_forward,
    locally_connected_shapes,
)

# The assignments whose functions these tests cover (pyproject.toml lists the markers).
pytestmark = [pytest.mark.pooling_layers]

CASES = [
    pytest.param((2, 3, 6, 6), 4, 3, 3, {"stride": 1, "pad": 1}, id="3x3-s1-p1"),
    pytest.param((2, 2, 7, 8), 3, 3, 2, {"stride": 2, "pad": 1}, id="rect-s2"),
    pytest.param((1, 2, 7, 6), 2, 2, 3, {"stride": 1, "pad": 1, "dilation": 2}, id="d2"),
]


def random_layer(rng, x_shape, F, HH, WW, conv_param):
    w_shape, b_shape = locally_connected_shapes(x_shape, F, HH, WW, conv_param)
    return (rng.standard_normal(x_shape), rng.standard_normal(w_shape),
            rng.standard_normal(b_shape))


@pytest.mark.parametrize("x_shape, F, HH, WW, conv_param", CASES)
def test_tied_weights_equal_the_conv_layer(x_shape, F, HH, WW, conv_param):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal((F, x_shape[1], HH, WW))
    b = rng.standard_normal(F)
    out, cache = conv_forward_naive(x, w, b, conv_param)
    w_shape, b_shape = locally_connected_shapes(x_shape, F, HH, WW, conv_param)
    assert w_shape == (*out.shape[2:], F, x_shape[1], HH, WW) and b_shape == (*out.shape[2:], F)
    # Every output position gets a copy of the same filter bank.
    w_tied = np.broadcast_to(w, w_shape).copy()
    b_tied = np.broadcast_to(b, b_shape).copy()
    out_lc, cache_lc = locally_connected_forward(x, w_tied, b_tied, conv_param)
    assert_close(out_lc, out, rtol=1e-10, atol=1e-12, what="out")

    dout = rng.standard_normal(out.shape)
    dx, dw, db = conv_backward_naive(dout, cache)
    dx_lc, dw_lc, db_lc = locally_connected_backward(dout, cache_lc)
    assert_close(dx_lc, dx, rtol=1e-10, atol=1e-12, what="dx")
    # Parameter sharing: the gradient of a shared filter is the sum of the gradients
    # of its copies over all output positions.
    assert_close(dw_lc.sum(axis=(0, 1)), dw, rtol=1e-10, atol=1e-12, what="dw")
    assert_close(db_lc.sum(axis=(0, 1)), db, rtol=1e-10, atol=1e-12, what="db")


def loops_reference(x, w, b, S, P, D):
    """The definition, one output at a time."""
    N, C, H, W = x.shape
    H_out, W_out, F, _, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (P, P), (P, P)))
    out = np.empty((N, F, H_out, W_out))
    for n in range(N):
        for i in range(H_out):
            for j in range(W_out):
                field = xp[n, :, i * S:i * S + D * (HH - 1) + 1:D, j * S:j * S + D * (WW - 1) + 1:D]
                for f in range(F):
                    out[n, f, i, j] = np.sum(field * w[i, j, f]) + b[i, j, f]
    return out


@pytest.mark.parametrize("x_shape, F, HH, WW, conv_param", CASES)
def test_untied_weights_match_the_definition(x_shape, F, HH, WW, conv_param):
    rng = np.random.default_rng(1)
    x, w, b = random_layer(rng, x_shape, F, HH, WW, conv_param)
    # A non-contiguous x: the same values, transposed storage.
    x_view = np.ascontiguousarray(x.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2)
    out, _ = locally_connected_forward(x_view, w, b, conv_param)
    S, P, D = conv_param["stride"], conv_param["pad"], conv_param.get("dilation", 1)
    assert_close(out, loops_reference(x, w, b, S, P, D), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("x_shape, F, HH, WW, conv_param", CASES)
def test_gradients(x_shape, F, HH, WW, conv_param):
    rng = np.random.default_rng(2)
    x, w, b = random_layer(rng, x_shape, F, HH, WW, conv_param)
    errors = check_layer_gradients(locally_connected_forward, locally_connected_backward,
                                   {"x": x, "w": w, "b": b}, conv_param)
    assert errors["worst"] < 1e-7, errors


def test_float32_stays_float32():
    rng = np.random.default_rng(3)
    x, w, b = random_layer(rng, (2, 3, 6, 6), 4, 3, 3, {"stride": 1, "pad": 1})
    out64, cache64 = locally_connected_forward(x, w, b, {"stride": 1, "pad": 1})
    dout = rng.standard_normal(out64.shape)
    grads64 = locally_connected_backward(dout, cache64)
    out32, cache32 = locally_connected_forward(x.astype(np.float32), w.astype(np.float32),
                                               b.astype(np.float32), {"stride": 1, "pad": 1})
    grads32 = locally_connected_backward(dout.astype(np.float32), cache32)
    assert out32.dtype == np.float32 and [g.dtype for g in grads32] == [np.float32] * 3
    for a32, a64 in zip((out32, *grads32), (out64, *grads64), strict=True):
        assert_close(a32, a64, rtol=1e-5, atol=1e-5 * float(np.abs(a64).max()))


def test_parameter_count_is_positions_times_conv():
    # Unshared weights cost H'*W' times the conv layer's parameters.
    w_shape, b_shape = locally_connected_shapes((1, 3, 32, 32), 12, 5, 5, {"stride": 1, "pad": 2})
    assert w_shape == (32, 32, 12, 3, 5, 5) and b_shape == (32, 32, 12)
    conv_params = 12 * 3 * 5 * 5 + 12
    assert int(np.prod(w_shape)) + int(np.prod(b_shape)) == 32 * 32 * conv_params


def good():
    rng = np.random.default_rng(4)
    x, w, b = random_layer(rng, (2, 3, 6, 6), 4, 3, 3, {"stride": 1, "pad": 0})
    return {"x": x, "w": w, "b": b, "conv_param": {"stride": 1, "pad": 0}}


@pytest.mark.parametrize("change, error, message", [
    pytest.param({"w": np.zeros((5, 4, 4, 3, 3, 3))}, ValueError,
                 r"one filter bank per output position, \(H_out, W_out, F, C, HH, WW\) with "
                 r"\(H_out, W_out\) = \(4, 4\) .*got w shape \(5, 4, 4, 3, 3, 3\)",
                 id="w-positions"),
    pytest.param({"conv_param": {"stride": 1, "pad": 1}}, ValueError,
                 r"\(H_out, W_out\) = \(6, 6\) for this input and conv_param \(stride 1, pad 1",
                 id="w-positions-after-padding"),
    pytest.param({"w": np.zeros((4, 4, 4, 2, 3, 3))}, ValueError,
                 r"channel mismatch: x has C = 3 .* expect C = 2", id="channels"),
    pytest.param({"b": np.zeros((4, 4, 5))}, ValueError,
                 r"b must have shape \(H_out, W_out, F\) = \(4, 4, 4\), got \(4, 4, 5\)",
                 id="bias"),
    pytest.param({"b": np.zeros(4)}, ValueError, r"b must be 3-D", id="b-1d"),
    pytest.param({"w": np.zeros((4, 3, 3, 3))}, ValueError,
                 r"w must be 6-D \(H_out, W_out, F, C, HH, WW\)", id="w-4d"),
    pytest.param({"x": np.zeros((3, 6, 6))}, ValueError, r"x must be 4-D", id="x-3d"),
    pytest.param({"conv_param": {"stride": 4, "pad": 0}}, ValueError,
                 r"\(6 - 3 \+ 0\)/4 \+ 1 = 1.75 is not an integer", id="stride-does-not-fit"),
    pytest.param({"conv_param": {"stride": 0, "pad": 0}}, ValueError, r"must be >= 1",
                 id="stride-0"),
    pytest.param({"conv_param": {"stride": 1, "pad": 0, "dilation": 1.5}}, TypeError,
                 r"dilation'\] must be an integer", id="dilation-float"),
])
def test_bad_input_raises(change, error, message):
    args = {**good(), **change}
    with pytest.raises(error, match=message):
        locally_connected_forward(args["x"], args["w"], args["b"], args["conv_param"])


def test_backward_rejects_dout_of_the_wrong_shape():
    args = good()
    out, cache = locally_connected_forward(args["x"], args["w"], args["b"], args["conv_param"])
    with pytest.raises(ValueError, match=r"dout must have the shape of the locally-connected "
                                         r"output \(2, 4, 4, 4\), got \(2, 4, 4, 3\)"):
        locally_connected_backward(np.zeros((2, 4, 4, 3)), cache)


def test_shapes_helper_bad_input():
    with pytest.raises(ValueError, match="x_shape must be a tuple"):
        locally_connected_shapes((3, 32, 32), 4, 3, 3, {"stride": 1, "pad": 0})
    with pytest.raises(ValueError, match="num_filters must be >= 1"):
        locally_connected_shapes((1, 3, 32, 32), 0, 3, 3, {"stride": 1, "pad": 0})
    with pytest.raises(ValueError, match=r"\(32 - 3 \+ 0\)/2 \+ 1 = 15.5 is not an integer"):
        locally_connected_shapes((1, 3, 32, 32), 4, 3, 3, {"stride": 2, "pad": 0})
