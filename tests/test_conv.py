"""The conv layer: gradient checks, fast == naive on a seeded sweep, im2col/col2im,
an independent reference (scipy.signal.correlate), dtypes and bad input."""

from __future__ import annotations

import re

import numpy as np
import pytest
import scipy.signal
from convnets.gradcheck import assert_close, check_layer_gradients
from convnets.layers import conv_strategies
from convnets.layers.conv_fast import (
    conv_backward_fast,
    conv_forward_fast,
    conv_strategy_applies,
)
from convnets.layers.conv_naive import conv_backward_naive, conv_forward_naive
from convnets.layers.im2col import col2im, im2col
from convnets.shapes import conv_output_size, effective_filter_size
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twins import (
    Case,
    Twins,
    check_twins,
    check_twins_raise_alike,
    check_twins_reject_bad_dout,
)

# The assignments whose functions these tests cover (pyproject.toml lists the markers).
pytestmark = [pytest.mark.conv_naive, pytest.mark.conv_fast]

# The fast layer's strategies, chosen by name (``method=``): "auto" (chosen by the cost
# model), "im2col", "im2col-grid" and "shifted-gemm" (the last two exist for stride 1
# only: at stride > 1 these tests ask for "im2col"), and "tiny-..." the same with blocks
# of 5 columns (``block_columns=5``: many blocks, most of them partial at some boundary).
# Nothing is monkeypatched.
PATHS = ["auto", "im2col", "im2col-grid", "shifted-gemm", "tiny-im2col-grid",
         "tiny-shifted-gemm"]


def expected_method(path: str, stride: int) -> str | None:
    """The strategy a path runs at this stride; None for 'auto' (chosen by the model)."""
    if path == "auto":
        return None
    if stride > 1:
        return "im2col"
    return path.removeprefix("tiny-")


def fast_forward(path: str):
    """conv_forward_fast with the path's strategy asked for by name."""
    columns = 5 if path.startswith("tiny-") else None

    def forward(x, w, b, conv_param):
        method = expected_method(path, conv_param.get("stride", 1)) or "auto"
        return conv_forward_fast(x, w, b, conv_param, method=method, block_columns=columns)

    return forward


# The two versions, compared by tests/twins.py.
CONV = Twins("conv", conv_forward_naive, conv_backward_naive, conv_forward_fast,
             conv_backward_fast, grad_names=("dx", "dw", "db"))


def conv_twins(path: str) -> Twins:
    return Twins(f"conv[{path}]", conv_forward_naive, conv_backward_naive, fast_forward(path),
                 conv_backward_fast, grad_names=("dx", "dw", "db"))


def make_arrays(rng, x_shape, w_shape, dtype=np.float64):
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    return x, w, b


# --------------------------------------------------------------------------------------
# Numerical gradient checks
# --------------------------------------------------------------------------------------

# (x shape, w shape, stride, pad, dilation): every configuration is valid.
GRAD_CASES = [
    pytest.param((2, 3, 5, 5), (3, 3, 3, 3), 1, 1, 1, id="3x3-s1-p1"),
    pytest.param((2, 3, 7, 7), (2, 3, 3, 3), 2, 1, 1, id="3x3-s2-p1"),
    pytest.param((1, 2, 7, 6), (2, 2, 3, 2), 1, 2, 2, id="rect-3x2-d2-p2"),
    pytest.param((2, 2, 6, 8), (3, 2, 2, 4), 2, 0, 1, id="rect-2x4-s2"),
    pytest.param((1, 2, 9, 7), (2, 2, 3, 3), 2, 1, 2, id="s2-p1-d2"),
    pytest.param((2, 1, 4, 6), (2, 1, 1, 1), 1, 0, 1, id="1x1"),
]


@pytest.mark.parametrize("x_shape, w_shape, S, P, D", GRAD_CASES)
def test_naive_gradients(x_shape, w_shape, S, P, D):
    rng = np.random.default_rng(1)
    x, w, b = make_arrays(rng, x_shape, w_shape)
    errors = check_layer_gradients(conv_forward_naive, conv_backward_naive,
                                   {"x": x, "w": w, "b": b},
                                   {"stride": S, "pad": P, "dilation": D})
    assert errors["worst"] < 1e-7, errors


@pytest.mark.parametrize("fast_path", PATHS[1:])
@pytest.mark.parametrize("x_shape, w_shape, S, P, D", GRAD_CASES)
def test_fast_gradients(x_shape, w_shape, S, P, D, fast_path):
    rng = np.random.default_rng(2)
    x, w, b = make_arrays(rng, x_shape, w_shape)
    conv_param = {"stride": S, "pad": P, "dilation": D}
    forward = fast_forward(fast_path)
    _, cache = forward(x, w, b, conv_param)
    assert cache["method"] == expected_method(fast_path, S)
    errors = check_layer_gradients(forward, conv_backward_fast,
                                   {"x": x, "w": w, "b": b}, conv_param)
    assert errors["worst"] < 1e-7, errors


@pytest.mark.parametrize("fast_path", PATHS[1:])
@pytest.mark.parametrize("x_shape, w_shape, S, P, D", GRAD_CASES)
def test_backward_without_dx_gives_the_same_dw_and_db(x_shape, w_shape, S, P, D, fast_path):
    # compute_dx=False (a network's first layer) skips dx only: dw and db are the
    # very same numbers as with dx.
    rng = np.random.default_rng(3)
    x, w, b = make_arrays(rng, x_shape, w_shape)
    out, cache = fast_forward(fast_path)(x, w, b, {"stride": S, "pad": P, "dilation": D})
    dout = rng.standard_normal(out.shape)
    dx, dw, db = conv_backward_fast(dout, cache)
    no_dx, dw2, db2 = conv_backward_fast(dout, cache, compute_dx=False)
    assert no_dx is None and dx is not None
    np.testing.assert_array_equal(dw2, dw)
    np.testing.assert_array_equal(db2, db)


@pytest.mark.parametrize("images_per_block", [0.5, 1, 2, 2.5])
def test_im2col_grid_blocks_of_whole_and_partial_images(images_per_block):
    # 'im2col-grid' processes whole images per block when one fits, otherwise pieces
    # of one image; 3 images in blocks of 2 leave a last, smaller group.
    x_shape, w_shape, P, D = (3, 2, 6, 5), (3, 2, 3, 2), 1, 2
    H_out = conv_output_size(6, 3, 1, P, D)
    W_out = conv_output_size(5, 2, 1, P, D)
    positions = conv_strategies.positions_per_image(H_out, W_out, 5 + 2 * P)
    block = max(1, int(images_per_block * positions))
    x, w, b = make_arrays(np.random.default_rng(8), x_shape, w_shape)
    case = Case({"x": x, "w": w, "b": b}, {"stride": 1, "pad": P, "dilation": D})
    twins = Twins("conv[im2col-grid]", conv_forward_naive, conv_backward_naive,
                  lambda *args: conv_forward_fast(*args, method="im2col-grid",
                                                  block_columns=block),
                  conv_backward_fast, grad_names=("dx", "dw", "db"))
    seen = check_twins(twins, [case], seed=8, rtol=1e-12, atol=1e-12, views=False)
    assert seen["caches"][0]["block_columns"] == block
    assert seen["caches"][0]["method"] == "im2col-grid"


# --------------------------------------------------------------------------------------
# Seeded random sweep: fast == naive
# --------------------------------------------------------------------------------------

def random_geometry(rng):
    """A valid random conv geometry, built from the output size backwards."""
    N, C, F = (int(v) for v in rng.integers(1, 4, size=3))
    HH, WW = (int(v) for v in rng.integers(1, 5, size=2))
    S, D = (int(v) for v in rng.integers(1, 4, size=2))
    P = int(rng.integers(0, 3))
    H_out, W_out = (int(v) for v in rng.integers(1, 5, size=2))

    def input_size(out, k):
        # The smallest input of at least one pixel that gives `out` outputs or more.
        size = (out - 1) * S + effective_filter_size(k, D) - 2 * P
        while size < 1:
            size += S
        return size

    H, W = input_size(H_out, HH), input_size(W_out, WW)
    return (N, C, H, W), (F, C, HH, WW), S, P, D


SWEEP = 60


def sweep_cases(rng, count):
    for _ in range(count):
        x_shape, w_shape, S, P, D = random_geometry(rng)
        x, w, b = make_arrays(rng, x_shape, w_shape)
        yield Case({"x": x, "w": w, "b": b}, {"stride": S, "pad": P, "dilation": D},
                   {"S": S, "P": P, "D": D})


@pytest.mark.parametrize("fast_path", PATHS)
def test_fast_matches_naive_random_sweep(fast_path):
    seen = check_twins(conv_twins(fast_path), sweep_cases(np.random.default_rng(231), SWEEP),
                       seed=231)
    methods = [cache["method"] for cache in seen["caches"]]
    strides = [cache["stride"] for cache in seen["caches"]]
    if fast_path.startswith("tiny-"):
        assert {cache["block_columns"] for cache in seen["caches"]} == {5}
    for method, S in zip(methods, strides, strict=True):
        if expected_method(fast_path, S) is not None:
            assert method == expected_method(fast_path, S), (fast_path, S)
    # The sweep really covered strides > 1 (im2col) and the forced stride-1 path, on
    # contiguous arrays and on strided views; auto ran strategies valid for each layer.
    if fast_path == "auto":
        for cache in seen["caches"]:
            assert conv_strategy_applies(cache["method"], cache["w"].shape, cache) is None
    else:
        assert "im2col" in methods
    if fast_path not in ("auto", "im2col"):
        assert fast_path.removeprefix("tiny-") in methods
    assert len(seen["layouts"]) >= 4


# --------------------------------------------------------------------------------------
# Hypothesis: output shapes and fast == naive on arbitrary small geometries
# --------------------------------------------------------------------------------------

@st.composite
def geometries(draw):
    S = draw(st.integers(1, 3))
    P = draw(st.integers(0, 2))
    D = draw(st.integers(1, 3))
    HH = draw(st.integers(1, 4))
    WW = draw(st.integers(1, 4))
    # At least one filter position, then grown until the positions tile the input.
    H = max(1, effective_filter_size(HH, D) - 2 * P) + draw(st.integers(0, 6))
    W = max(1, effective_filter_size(WW, D) - 2 * P) + draw(st.integers(0, 6))
    while (H + 2 * P - effective_filter_size(HH, D)) % S:
        H += 1
    while (W + 2 * P - effective_filter_size(WW, D)) % S:
        W += 1
    N = draw(st.integers(1, 2))
    C = draw(st.integers(1, 3))
    F = draw(st.integers(1, 3))
    step = draw(st.integers(1, 2))
    return (N, C, H, W), (F, C, HH, WW), S, P, D, step


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(geometries())
def test_output_shape_property(geometry):
    x_shape, w_shape, S, P, D, step = geometry
    N, C, H, W = x_shape
    F, _, HH, WW = w_shape
    H_out = (H + 2 * P - (D * (HH - 1) + 1)) // S + 1
    W_out = (W + 2 * P - (D * (WW - 1) + 1)) // S + 1
    rng = np.random.default_rng(0)
    # A strided view: every `step`-th element of a bigger array along the width.
    big = rng.standard_normal((N, C, H, W * step))
    x = big[..., ::step]
    w = rng.standard_normal(w_shape)
    b = rng.standard_normal(F)
    conv_param = {"stride": S, "pad": P, "dilation": D}
    out, _ = conv_forward_fast(x, w, b, conv_param)
    out_naive, _ = conv_forward_naive(x, w, b, conv_param)
    assert out.shape == out_naive.shape == (N, F, H_out, W_out)
    assert im2col(x, HH, WW, S, P, D).shape == (C * HH * WW, N * H_out * W_out)
    assert_close(out, out_naive, rtol=1e-9, atol=1e-11, geometry=geometry)


# --------------------------------------------------------------------------------------
# An independent reference: scipy.signal.correlate
# --------------------------------------------------------------------------------------

def dilate_filter(k, D):
    """Insert D-1 zeros between the taps of a 2-D filter."""
    HH, WW = k.shape
    out = np.zeros((effective_filter_size(HH, D), effective_filter_size(WW, D)))
    out[::D, ::D] = k
    return out


@pytest.mark.parametrize("x_shape, w_shape, P, D", [
    ((2, 3, 6, 7), (4, 3, 3, 3), 0, 1),
    ((1, 2, 8, 5), (3, 2, 5, 2), 2, 1),
    ((2, 2, 7, 7), (2, 2, 3, 3), 2, 2),
    ((1, 1, 9, 9), (1, 1, 1, 1), 0, 1),
])
@pytest.mark.parametrize("layer", [conv_forward_naive, conv_forward_fast],
                         ids=["naive", "fast"])
def test_stride_one_equals_scipy_correlate(x_shape, w_shape, P, D, layer):
    rng = np.random.default_rng(5)
    x, w, b = make_arrays(rng, x_shape, w_shape)
    out, _ = layer(x, w, b, {"stride": 1, "pad": P, "dilation": D})
    x_padded = np.pad(x, ((0, 0), (0, 0), (P, P), (P, P)))
    N, C = x.shape[:2]
    F = w.shape[0]
    expected = np.empty_like(out)
    for n in range(N):
        for f in range(F):
            expected[n, f] = b[f] + sum(
                scipy.signal.correlate(x_padded[n, c], dilate_filter(w[f, c], D), mode="valid")
                for c in range(C))
    assert_close(out, expected, rtol=1e-10, atol=1e-12, x=x_shape, w=w_shape, P=P, D=D)


# --------------------------------------------------------------------------------------
# Dtypes
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("fast_path", PATHS[1:4])
@pytest.mark.parametrize("S", [1, 2])
def test_float32_stays_float32_and_matches_float64(fast_path, S):
    rng = np.random.default_rng(7)
    x, w, b = make_arrays(rng, (2, 4, 9, 9), (5, 4, 3, 3))
    conv_param = {"stride": S, "pad": 1}
    forward = fast_forward(fast_path)
    out64, cache64 = forward(x, w, b, conv_param)
    dout = rng.standard_normal(out64.shape)
    grads64 = conv_backward_fast(dout, cache64)

    x32, w32, b32, dout32 = (a.astype(np.float32) for a in (x, w, b, dout))
    out32, cache32 = forward(x32, w32, b32, conv_param)
    assert cache32["method"] == cache64["method"] == expected_method(fast_path, S)
    grads32 = conv_backward_fast(dout32, cache32)
    assert out32.dtype == np.float32
    assert [g.dtype for g in grads32] == [np.float32] * 3
    for name, a32, a64 in zip(("out", "dx", "dw", "db"), (out32, *grads32),
                              (out64, *grads64), strict=True):
        scale = float(np.max(np.abs(a64)))
        assert_close(a32, a64, rtol=1e-5, atol=1e-5 * scale, what=name, S=S, path=fast_path)


@pytest.mark.parametrize("forward, backward", [
    (conv_forward_naive, conv_backward_naive), (conv_forward_fast, conv_backward_fast)],
    ids=["naive", "fast"])
def test_dtypes_of_mixed_and_integer_inputs(forward, backward):
    rng = np.random.default_rng(8)
    x, w, b = make_arrays(rng, (1, 2, 5, 5), (3, 2, 3, 3))
    # float32 x with float64 w: the output follows NumPy's promotion, each gradient
    # keeps the dtype of its own array.
    out, cache = forward(x.astype(np.float32), w, b.astype(np.float32), {"stride": 1, "pad": 1})
    assert out.dtype == np.float64
    dx, dw, db = backward(np.ones_like(out), cache)
    assert (dx.dtype, dw.dtype, db.dtype) == (np.float32, np.float64, np.float32)
    # Integers are converted to float64 (no silent integer overflow).
    xi = rng.integers(-3, 4, size=(1, 2, 5, 5))
    wi = rng.integers(-3, 4, size=(3, 2, 3, 3))
    out_int, _ = forward(xi, wi, np.zeros(3, dtype=int), {"stride": 1, "pad": 1})
    out_float, _ = forward(xi.astype(float), wi.astype(float), np.zeros(3), {"stride": 1, "pad": 1})
    assert out_int.dtype == np.float64
    np.testing.assert_array_equal(out_int, out_float)


@pytest.mark.parametrize("x_shape, w_shape, S, P, dtype, method", [
    ((1, 16, 12, 12), (16, 16, 3, 3), 1, 1, np.float64, "shifted-gemm"),
    ((1, 16, 12, 12), (16, 16, 3, 3), 1, 1, np.float32, "shifted-gemm"),
    ((1, 3, 12, 12), (16, 3, 3, 3), 1, 1, np.float64, "im2col-grid"),     # few channels
    ((1, 16, 12, 12), (4, 16, 3, 3), 1, 1, np.float64, "im2col-grid"),    # few filters
    ((1, 16, 12, 12), (16, 16, 3, 3), 1, 1, np.float16, "im2col-grid"),   # no BLAS type
    ((1, 16, 8, 8), (16, 16, 3, 3), 1, 1, np.float64, "im2col-grid"),
    # dilation 3, no pad: 3x3 outputs on a 9-wide grid
    ((1, 16, 9, 9), (16, 16, 3, 3), 1, (0, 3), np.float64, "im2col"),
    ((1, 16, 13, 13), (16, 16, 3, 3), 2, 1, np.float64, "im2col"),         # stride 2
    ((1, 16, 13, 13), (16, 16, 3, 3), 2, 1, np.float32, "auto"),
    ((1, 4, 10, 10), (4, 4, 3, 3), 1, 1, np.float16, "auto"),
])
def test_strategy_keeps_the_dtype(x_shape, w_shape, S, P, dtype, method):
    # Each strategy, asked for by name (or the one auto picks), computes in the inputs'
    # dtype and gives each gradient its array's dtype.
    rng = np.random.default_rng(13)
    x, w, b = make_arrays(rng, x_shape, w_shape, dtype)
    P, D = P if isinstance(P, tuple) else (P, 1)
    out, cache = conv_forward_fast(x, w, b, {"stride": S, "pad": P, "dilation": D},
                                   method=method)
    assert method == "auto" or cache["method"] == method
    assert out.dtype == dtype
    grads = conv_backward_fast(np.ones_like(out), cache)
    assert [g.dtype for g in grads] == [dtype] * 3
    expected, _ = conv_forward_naive(x.astype(np.float64), w.astype(np.float64),
                                     b.astype(np.float64), {"stride": S, "pad": P, "dilation": D})
    tolerance = {np.float16: 1e-2, np.float32: 1e-5, np.float64: 1e-12}[dtype]
    assert_close(out, expected, rtol=tolerance, atol=tolerance * float(np.abs(expected).max()))


def test_fast_inputs_are_not_modified():
    rng = np.random.default_rng(9)
    x, w, b = make_arrays(rng, (2, 3, 6, 6), (4, 3, 3, 3))
    copies = [a.copy() for a in (x, w, b)]
    out, cache = conv_forward_fast(x, w, b, {"stride": 1, "pad": 1})
    dout = rng.standard_normal(out.shape)
    dout_copy = dout.copy()
    conv_backward_fast(dout, cache)
    for a, c in zip((x, w, b, dout), (*copies, dout_copy), strict=True):
        np.testing.assert_array_equal(a, c)


# --------------------------------------------------------------------------------------
# im2col / col2im
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("x_shape, HH, WW, S, P, D", [
    ((2, 3, 7, 6), 3, 2, 1, 1, 1),
    ((2, 2, 9, 9), 3, 3, 2, 1, 2),
    ((1, 4, 5, 8), 1, 4, 1, 0, 1),
    ((3, 1, 6, 6), 4, 4, 2, 2, 1),
])
def test_im2col_layout_and_col2im_is_its_adjoint(x_shape, HH, WW, S, P, D):
    rng = np.random.default_rng(11)
    x = rng.standard_normal(x_shape)
    N, C, H, W = x_shape
    H_out = conv_output_size(H, HH, S, P, D)
    W_out = conv_output_size(W, WW, S, P, D)
    cols = im2col(x, HH, WW, stride=S, pad=P, dilation=D)
    assert cols.shape == (C * HH * WW, N * H_out * W_out)
    # Column n*H'*W' + i*W' + j is the receptive field of output (i, j) of image n,
    # flattened in the order of w[f].ravel() (channel, row, column).
    x_padded = np.pad(x, ((0, 0), (0, 0), (P, P), (P, P)))
    for n in range(N):
        for i in range(H_out):
            for j in range(W_out):
                field = x_padded[n, :, i * S:i * S + D * (HH - 1) + 1:D,
                                 j * S:j * S + D * (WW - 1) + 1:D]
                np.testing.assert_array_equal(cols[:, n * H_out * W_out + i * W_out + j],
                                              field.ravel())
    # Adjoint: <im2col(x), c> == <x, col2im(c)>.
    c = rng.standard_normal(cols.shape)
    back = col2im(c, x_shape, HH, WW, stride=S, pad=P, dilation=D)
    assert back.shape == x_shape
    assert np.isclose(np.sum(cols * c), np.sum(x * back), rtol=1e-12)


def test_col2im_counts_overlaps():
    # 3x3 windows, stride 1, pad 1 on a 5x5 image: a corner pixel is in 4 windows,
    # an edge pixel in 6, an interior pixel in 9.
    ones = np.ones((1, 1, 5, 5))
    counts = col2im(im2col(ones, 3, 3, 1, 1), ones.shape, 3, 3, 1, 1)[0, 0]
    expected = np.full((5, 5), 9.0)
    expected[0, :] = expected[-1, :] = expected[:, 0] = expected[:, -1] = 6
    expected[0, 0] = expected[0, -1] = expected[-1, 0] = expected[-1, -1] = 4
    np.testing.assert_array_equal(counts, expected)


def test_conv_is_w_row_times_x_col():
    rng = np.random.default_rng(12)
    x, w, b = make_arrays(rng, (2, 3, 9, 7), (4, 3, 2, 3))
    out, _ = conv_forward_naive(x, w, b, {"stride": 2, "pad": 1, "dilation": 2})
    cols = im2col(x, 2, 3, stride=2, pad=1, dilation=2)
    product = w.reshape(4, -1) @ cols + b[:, None]           # (F, N*H'*W')
    N, F, H_out, W_out = out.shape
    assert_close(product.reshape(F, N, H_out, W_out).transpose(1, 0, 2, 3), out, rtol=1e-12)


def test_im2col_keeps_dtype_and_accepts_views():
    x = np.arange(2 * 3 * 5 * 6, dtype=np.float32).reshape(2, 3, 6, 5).transpose(0, 1, 3, 2)
    cols = im2col(x, 3, 3, pad=1)
    assert cols.dtype == np.float32 and cols.flags.c_contiguous
    np.testing.assert_array_equal(cols, im2col(np.ascontiguousarray(x), 3, 3, pad=1))


def test_im2col_col2im_bad_input():
    x = np.zeros((1, 3, 10, 10))
    with pytest.raises(ValueError, match=r"\(10 - 3 \+ 0\)/2 \+ 1 = 4.5 is not an integer"):
        im2col(x, 3, 3, stride=2)
    with pytest.raises(ValueError, match="x must be 4-D"):
        im2col(np.zeros((3, 10, 10)), 3, 3)
    with pytest.raises(ValueError, match="HH must be >= 1"):
        im2col(x, 0, 3)
    with pytest.raises(TypeError, match="stride must be an integer"):
        im2col(x, 3, 3, stride=1.5)
    with pytest.raises(ValueError, match=r"cols must have shape .* = \(27, 64\).* got \(27, 63\)"):
        col2im(np.zeros((27, 63)), (1, 3, 10, 10), 3, 3)
    with pytest.raises(ValueError, match="x_shape must be a tuple"):
        col2im(np.zeros((27, 64)), (3, 10, 10), 3, 3)


# --------------------------------------------------------------------------------------
# Bad input: the same error, with the numbers, from both versions
# --------------------------------------------------------------------------------------

def good_inputs():
    rng = np.random.default_rng(0)
    x, w, b = make_arrays(rng, (2, 3, 10, 10), (4, 3, 3, 3))
    return {"x": x, "w": w, "b": b, "conv_param": {"stride": 1, "pad": 0}}


BAD_INPUTS = [
    pytest.param({"conv_param": {"stride": 2, "pad": 0}}, ValueError,
                 r"\(W - F \+ 2P\)/S \+ 1 = \(10 - 3 \+ 0\)/2 \+ 1 = 4.5 is not an integer",
                 id="notes-4.5"),
    pytest.param({"conv_param": {"stride": 0, "pad": 0}}, ValueError,
                 r"stride'\] must be >= 1, got .* = 0", id="stride-0"),
    pytest.param({"conv_param": {"stride": 1, "pad": -1}}, ValueError,
                 r"pad'\] must be >= 0, got .* = -1", id="pad-negative"),
    pytest.param({"conv_param": {"stride": 1, "pad": 0, "dilation": 0}}, ValueError,
                 r"dilation'\] must be >= 1, got .* = 0", id="dilation-0"),
    pytest.param({"conv_param": {"stride": 1.5, "pad": 0}}, TypeError,
                 r"stride'\] must be an integer, got 1.5", id="stride-float"),
    pytest.param({"conv_param": {"stride": "2", "pad": 0}}, TypeError,
                 r"stride'\] must be an integer, got '2'", id="stride-str"),
    pytest.param({"conv_param": {"stride": 1, "pad": 0.5}}, TypeError,
                 r"pad'\] must be an integer, got 0.5", id="pad-float"),
    pytest.param({"conv_param": {"pad": 0}}, ValueError,
                 r"conv_param is missing the key 'stride'", id="missing-stride"),
    pytest.param({"conv_param": (1, 0)}, TypeError, r"conv_param must be a dict",
                 id="param-not-dict"),
    pytest.param({"w": np.zeros((4, 2, 3, 3))}, ValueError,
                 r"channel mismatch: x has C = 3 .* expect C = 2", id="channels"),
    pytest.param({"b": np.zeros(5)}, ValueError,
                 r"bias length mismatch: b has 5 entries but there are F = 4", id="bias"),
    pytest.param({"x": np.zeros((3, 10, 10))}, ValueError,
                 r"x must be 4-D \(N, C, H, W\), got shape \(3, 10, 10\)", id="x-3d"),
    pytest.param({"w": np.zeros((4, 3, 3))}, ValueError, r"w must be 4-D", id="w-3d"),
    pytest.param({"b": np.zeros((4, 1))}, ValueError, r"b must be 1-D", id="b-2d"),
    pytest.param({"w": np.zeros((4, 3, 13, 3))}, ValueError,
                 r"filter larger than the padded input along the height: "
                 r"F = 13 > W \+ 2P = 10 \+ 2\*0 = 10", id="filter-too-big"),
    pytest.param({"conv_param": {"stride": 1, "pad": 0, "dilation": 6}}, ValueError,
                 r"F = 13 > W \+ 2P = 10 .*dilated filter size 6\*\(3-1\)\+1",
                 id="dilated-too-big"),
    pytest.param({"w": np.zeros((4, 3, 0, 3))}, ValueError, r"at least 1x1", id="empty-filter"),
    pytest.param({"x": np.array([["a"]])}, TypeError, r"x must hold numbers", id="x-strings"),
    pytest.param({"x": np.zeros((2, 3, 10, 10), complex)}, TypeError, r"x must be real",
                 id="x-complex"),
]


@pytest.mark.parametrize("forward", [conv_forward_naive, conv_forward_fast],
                         ids=["naive", "fast"])
@pytest.mark.parametrize("change, error, message", BAD_INPUTS)
def test_bad_input_raises(forward, change, error, message):
    args = {**good_inputs(), **change}
    with pytest.raises(error, match=message):
        forward(args["x"], args["w"], args["b"], args["conv_param"])


@pytest.mark.parametrize("change, error, message", BAD_INPUTS)
def test_naive_and_fast_raise_the_same_error(change, error, message):
    args = {**good_inputs(), **change}
    check_twins_raise_alike(CONV, (args["x"], args["w"], args["b"]), args["conv_param"],
                            error, message)


def test_backward_rejects_dout_of_the_wrong_shape():
    args = good_inputs()
    arrays = (args["x"], args["w"], args["b"])
    assert conv_forward_naive(*arrays, args["conv_param"])[0].shape == (2, 4, 8, 8)
    check_twins_reject_bad_dout(CONV, arrays, args["conv_param"], (2, 4, 8, 7),
                                r"dout must have the shape of the conv output "
                                r"\(2, 4, 8, 8\), got \(2, 4, 8, 7\)")
    check_twins_reject_bad_dout(CONV, arrays, args["conv_param"], (2, 4, 64),
                                r"dout must be 4-D")


# --------------------------------------------------------------------------------------
# The benchmark runs (its figures are timings: printed, never asserted)
# --------------------------------------------------------------------------------------

def test_bench_memory_section_prints_a_table(capsys, monkeypatch):
    from convnets import bench

    monkeypatch.setattr(bench.layers, "MEMORY_CASES", [
        ((4, 16, 12, 12), (16, 16, 3, 3), {"stride": 1, "pad": 1}),
        ((4, 3, 9, 9), (4, 3, 3, 3), {"stride": 2, "pad": 1})])
    assert bench.main(["--quick", "--only", "memory"]) == 0
    printed = capsys.readouterr().out
    assert "BLAS" in printed and "threads" in printed
    assert "full im2col matrix" in printed and "peak of fast fwd+bwd" in printed
    assert [name for name, _ in bench.SECTIONS] == ["naive", "gemm", "torch", "memory",
                                                     "fc-to-conv", "training",
                                                     "convnet-benchmarks", "playground"]


def test_bench_without_pytorch_says_skipped(monkeypatch):
    import sys

    from convnets import bench

    monkeypatch.setitem(sys.modules, "torch", None)      # makes `import torch` fail
    rows = bench.section_torch(quick=True)
    assert [r.figure for r in rows] == ["PyTorch not installed: skipped"]
    assert "PyTorch not installed: skipped" in bench.format_table(rows)


def test_bench_fc_to_conv_section_reports_the_time_saved(capsys):
    from convnets import bench

    assert bench.main(["--quick", "--only", "fc-to-conv"]) == 0
    printed = capsys.readouterr().out
    assert "384x384 image, 36 crops" in printed
    assert "time saved: crops / converted" in printed
    speedup = re.search(r"time saved: crops / converted\s+([\d.]+)x", printed)
    assert speedup is not None and float(speedup.group(1)) > 0
