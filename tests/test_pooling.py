"""Pooling layers: hand-worked cases, gradient checks, fast == naive, errors, dtypes."""

import numpy as np
import pytest
from convnets.gradcheck import assert_close, check_layer_gradients
from convnets.layers.pooling import (
    avg_pool_backward,
    avg_pool_forward,
    l2_pool_backward,
    l2_pool_forward,
    max_pool_backward_fast,
    max_pool_backward_naive,
    max_pool_forward_fast,
    max_pool_forward_naive,
)
from convnets.shapes import pool_output_size
from twins import Case, Twins, check_twins, check_twins_raise_alike

# The assignments whose functions these tests cover (pyproject.toml lists the markers).
pytestmark = [pytest.mark.pooling_layers]

MAX_PAIRS = [
    pytest.param(max_pool_forward_naive, max_pool_backward_naive, id="max-naive"),
    pytest.param(max_pool_forward_fast, max_pool_backward_fast, id="max-fast"),
]
ALL_PAIRS = MAX_PAIRS + [
    pytest.param(avg_pool_forward, avg_pool_backward, id="avg"),
    pytest.param(l2_pool_forward, l2_pool_backward, id="l2"),
]
FORWARDS = [max_pool_forward_naive, max_pool_forward_fast, avg_pool_forward, l2_pool_forward]
# The two versions of max pooling, compared by tests/twins.py.
MAX_POOL = Twins("max pool", max_pool_forward_naive, max_pool_backward_naive,
                 max_pool_forward_fast, max_pool_backward_fast)


def pp(HH, WW=None, S=None):
    """pool_param for an HH x WW window (square if WW is None), stride S (= HH if None)."""
    WW = HH if WW is None else WW
    return {"pool_height": HH, "pool_width": WW, "stride": HH if S is None else S}


def distinct_input(shape, seed=0):
    """Float64 input whose entries are all distinct and at least 1/size apart (a scaled
    random permutation), so a finite difference of 1e-5 never changes a max-pool switch."""
    size = int(np.prod(shape))
    perm = np.random.default_rng(seed).permutation(size)
    return (perm.reshape(shape) - size / 2) / size


# The figure in the notes: a 4x4 depth slice, 2x2 max pooling with stride 2.
NOTES_SLICE = np.array([[1, 1, 2, 4],
                        [5, 6, 7, 8],
                        [3, 2, 1, 0],
                        [1, 2, 3, 4]], dtype=np.float64)[None, None]


# ---------------------------------------------------------------------- hand-worked cases

def test_notes_224x224x64_to_112x112x64_discards_75_percent():
    x = np.random.default_rng(0).standard_normal((1, 64, 224, 224)).astype(np.float32)
    out, _ = max_pool_forward_fast(x, pp(2))
    assert out.shape == (1, 64, 112, 112)
    assert out.dtype == np.float32
    assert 1 - out.size / x.size == 0.75
    assert pool_output_size(224, 2, 2) == 112


@pytest.mark.parametrize("forward", [max_pool_forward_naive, max_pool_forward_fast])
def test_max_pool_hand_example_with_switches(forward):
    out, cache = forward(NOTES_SLICE, pp(2))
    # Windows [[1,1],[5,6]], [[2,4],[7,8]], [[3,2],[1,2]], [[1,0],[3,4]].
    assert out[0, 0].tolist() == [[6, 8], [3, 4]]
    switches = cache[0]
    # Flat index r*2 + s of the winner inside its window: 6 at (1,1), 8 at (1,1),
    # 3 at (0,0), 4 at (1,1).
    assert switches.dtype == np.int64
    assert switches[0, 0].tolist() == [[3, 3], [0, 3]]


@pytest.mark.parametrize("forward, backward", MAX_PAIRS)
def test_max_pool_backward_routes_to_switches_by_hand(forward, backward):
    _, cache = forward(NOTES_SLICE, pp(2))
    dout = np.array([[10.0, 20.0], [30.0, 40.0]])[None, None]
    dx = backward(dout, cache)
    expected = np.zeros((4, 4))
    expected[1, 1] = 10  # the 6
    expected[1, 3] = 20  # the 8
    expected[2, 0] = 30  # the 3
    expected[3, 3] = 40  # the 4
    assert dx[0, 0].tolist() == expected.tolist()


def test_avg_pool_hand_example():
    out, cache = avg_pool_forward(NOTES_SLICE, pp(2))
    # (1+1+5+6)/4, (2+4+7+8)/4, (3+2+1+2)/4, (1+0+3+4)/4
    assert out[0, 0].tolist() == [[3.25, 5.25], [2.0, 2.0]]
    dx = avg_pool_backward(np.array([[4.0, 8.0], [12.0, 16.0]])[None, None], cache)
    assert dx[0, 0].tolist() == [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]


def test_l2_pool_hand_example():
    out, cache = l2_pool_forward(NOTES_SLICE, pp(2))
    # sqrt(1+1+25+36), sqrt(4+16+49+64), sqrt(9+4+1+4), sqrt(1+0+9+16)
    expected = np.sqrt([[63.0, 133.0], [18.0, 26.0]])
    assert_close(out[0, 0], expected, rtol=1e-15, what="L2 pooling")
    # d out / d x = x / out: with dout = out, dx = x (each input is in one window).
    dx = l2_pool_backward(out, cache)
    assert_close(dx, NOTES_SLICE, rtol=1e-14, what="L2 pooling backward")


def test_l2_pool_all_zero_window_has_zero_gradient_not_nan():
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 2:, 2:] = [[3.0, 0.0], [0.0, 4.0]]  # only the last window is non-zero
    out, cache = l2_pool_forward(x, pp(2))
    assert out[0, 0].tolist() == [[0.0, 0.0], [0.0, 5.0]]
    with np.errstate(all="raise"):
        dx = l2_pool_backward(np.ones_like(out), cache)
    assert np.all(np.isfinite(dx))
    expected = np.zeros((4, 4))
    expected[2:, 2:] = [[3 / 5, 0.0], [0.0, 4 / 5]]
    assert_close(dx[0, 0], expected, rtol=1e-15, what="L2 pooling backward at zero windows")


@pytest.mark.parametrize("forward, backward", MAX_PAIRS)
def test_overlapping_max_pool_gradients_add_up(forward, backward):
    # 5x5 with F=3, S=2: four overlapping windows all contain the centre (2, 2).
    x = np.zeros((1, 1, 5, 5))
    x[0, 0, 2, 2] = 9.0
    out, cache = forward(x, pp(3, S=2))
    assert out[0, 0].tolist() == [[9, 9], [9, 9]]
    dout = np.array([[1.0, 2.0], [3.0, 4.0]])[None, None]
    dx = backward(dout, cache)
    expected = np.zeros((5, 5))
    expected[2, 2] = 1 + 2 + 3 + 4
    assert dx[0, 0].tolist() == expected.tolist()


@pytest.mark.parametrize("forward, backward", MAX_PAIRS)
def test_ties_go_to_the_first_max_in_row_major_order(forward, backward):
    x = np.zeros((1, 2, 2, 4))
    x[0, 0] = [[7, 7, 1, 5], [7, 7, 5, 2]]  # all equal; two 5s: (0,1) comes first
    x[0, 1] = [[0, 0, 3, 0], [0, 0, 0, 3]]  # all zero; two 3s: (0,0) comes first
    out, cache = forward(x, pp(2))
    assert out[0].tolist() == [[[7, 5]], [[0, 3]]]
    assert cache[0][0].tolist() == [[[0, 1]], [[0, 0]]]
    dx = backward(np.ones((1, 2, 1, 2)), cache)
    assert dx[0, 0].tolist() == [[1, 0, 0, 1], [0, 0, 0, 0]]
    assert dx[0, 1].tolist() == [[1, 0, 1, 0], [0, 0, 0, 0]]


# ---------------------------------------------------------------------- gradient checks

GRAD_CONFIGS = [
    pytest.param((2, 3, 4, 6), pp(2), id="2x2-S2-tiles"),
    pytest.param((2, 2, 7, 7), pp(3, S=2), id="3x3-S2-overlap"),
    pytest.param((1, 2, 5, 7), pp(2, 3, S=1), id="2x3-S1-nonsquare"),
    pytest.param((1, 2, 7, 7), pp(2, S=5), id="2x2-S5-gaps"),
    pytest.param((2, 1, 3, 3), pp(3, S=1), id="global"),
]


@pytest.mark.parametrize("forward, backward", ALL_PAIRS)
@pytest.mark.parametrize("shape, param", GRAD_CONFIGS)
def test_numerical_gradient(forward, backward, shape, param):
    x = distinct_input(shape)
    errors = check_layer_gradients(forward, backward, {"x": x}, param)
    assert errors["worst"] < 1e-7, errors


# ---------------------------------------------------------------------- fast == naive

def _random_config(rng):
    HH, WW = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    S = int(rng.integers(1, 5))  # S < F (overlap), S == F, S > F (gaps)
    H_out, W_out = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    H, W = (H_out - 1) * S + HH, (W_out - 1) * S + WW
    N, C = int(rng.integers(1, 3)), int(rng.integers(1, 4))
    return (N, C, H, W), pp(HH, WW, S)


def _same_switches_and_interchangeable_caches(cache_fast, cache_naive, dout, config):
    assert np.array_equal(cache_fast[0], cache_naive[0]), f"switches differ {config}"
    # The caches are interchangeable.
    assert_close(max_pool_backward_fast(dout, cache_naive), max_pool_backward_naive(
        dout, cache_naive), rtol=1e-12, what="fast backward on the naive cache", **config)


def _compare_fast_with_naive(cases, seed):
    return check_twins(MAX_POOL, cases, seed=seed, rtol=1e-12, atol=0.0,
                       compare_caches=_same_switches_and_interchangeable_caches)


def _random_cases(rng, count, ties=False):
    for trial in range(count):
        shape, param = _random_config(rng)
        x = (rng.integers(0, 3, size=shape).astype(np.float64) if ties  # ties nearly everywhere
             else rng.standard_normal(shape))
        yield Case({"x": x}, param, {"trial": trial, "ties": ties, **param})


def test_fast_equals_naive_random_sweep():
    rng = np.random.default_rng(1234)
    cases = list(_random_cases(rng, 120))
    params = [case.param for case in cases]
    seen = _compare_fast_with_naive(cases, seed=1234)
    assert seen["cases"] == 120 and len(seen["layouts"]) >= 4
    assert any(p["stride"] < max(p["pool_height"], p["pool_width"]) for p in params)   # overlap
    assert any(p["stride"] > max(p["pool_height"], p["pool_width"]) for p in params)   # gaps
    assert any(p["pool_height"] == p["pool_width"] == p["stride"] for p in params)     # tiles
    assert any(p["pool_height"] != p["pool_width"] for p in params)                    # non-square


def test_fast_equals_naive_with_many_ties():
    rng = np.random.default_rng(99)
    assert _compare_fast_with_naive(_random_cases(rng, 90, ties=True), seed=99)["cases"] == 90


@pytest.mark.parametrize("shape, param", [
    ((2, 3, 8, 8), pp(2)), ((2, 3, 9, 9), pp(3, S=2)), ((2, 3, 9, 9), pp(2, 3, S=1)),
], ids=["tiles", "overlap", "nonsquare"])
def test_fast_equals_naive_on_notes_settings(shape, param):
    x = np.random.default_rng(5).standard_normal(shape)
    assert _compare_fast_with_naive([Case({"x": x}, param, param)], seed=5)["cases"] == 1


# ---------------------------------------------------------------------- cross-checks

def _correlate_per_channel(x, kernel, S):
    """Explicit-loop cross-correlation of every channel with one 2-D kernel."""
    N, C, H, W = x.shape
    HH, WW = kernel.shape
    H_out, W_out = (H - HH) // S + 1, (W - WW) // S + 1
    out = np.zeros((N, C, H_out, W_out))
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    total = 0.0
                    for r in range(HH):
                        for s in range(WW):
                            total += kernel[r, s] * x[n, c, i * S + r, j * S + s]
                    out[n, c, i, j] = total
    return out


@pytest.mark.parametrize("shape, param", [
    ((2, 3, 6, 6), pp(2)), ((1, 2, 7, 7), pp(3, S=2)), ((1, 2, 5, 7), pp(2, 3, S=1)),
    ((1, 1, 7, 7), pp(2, S=5)),
])
def test_avg_pool_equals_conv_with_constant_filter(shape, param):
    x = np.random.default_rng(3).standard_normal(shape)
    HH, WW = param["pool_height"], param["pool_width"]
    kernel = np.full((HH, WW), 1.0 / (HH * WW))
    out, _ = avg_pool_forward(x, param)
    assert_close(out, _correlate_per_channel(x, kernel, param["stride"]), rtol=1e-12,
                 atol=1e-15, what="avg pool vs constant-filter conv", **param)


def test_l2_pool_equals_sqrt_of_sum_pool_of_squares():
    x = np.random.default_rng(4).standard_normal((2, 2, 7, 7))
    param = pp(3, S=2)
    out, _ = l2_pool_forward(x, param)
    expected = np.sqrt(_correlate_per_channel(x * x, np.ones((3, 3)), 2))
    assert_close(out, expected, rtol=1e-12, what="L2 pooling")


def test_max_pool_matches_reshape_max_for_2x2():
    x = np.random.default_rng(6).standard_normal((2, 3, 8, 6))
    out, _ = max_pool_forward_fast(x, pp(2))
    assert_close(out, x.reshape(2, 3, 4, 2, 3, 2).max(axis=(3, 5)), rtol=0)


# ---------------------------------------------------------------------- dtypes

@pytest.mark.parametrize("forward, backward", ALL_PAIRS)
@pytest.mark.parametrize("shape, param", [((2, 2, 6, 6), pp(2)), ((2, 2, 7, 7), pp(3, S=2))],
                         ids=["tiles", "overlap"])
def test_float32_in_float32_out(forward, backward, shape, param):
    x = np.random.default_rng(7).standard_normal(shape).astype(np.float32)
    out, cache = forward(x, param)
    assert out.dtype == np.float32
    dx = backward(np.ones(out.shape, dtype=np.float32), cache)
    assert dx.dtype == np.float32 and dx.shape == x.shape
    # float64 upstream gradients still give a float32 dx.
    assert backward(np.ones(out.shape), cache).dtype == np.float32


@pytest.mark.parametrize("forward", FORWARDS)
def test_integer_input_becomes_float64(forward):
    out, _ = forward(np.arange(16).reshape(1, 1, 4, 4), pp(2))
    assert out.dtype == np.float64


# ---------------------------------------------------------------------- errors

def _message(forward, x, param):
    with pytest.raises((ValueError, TypeError)) as info:
        forward(x, param)
    return info.type, str(info.value)


@pytest.mark.parametrize("forward", FORWARDS)
def test_windows_that_do_not_tile_raise_with_the_arithmetic(forward):
    with pytest.raises(ValueError, match=r"\(W - F\)/S \+ 1 = \(7 - 2\)/2 \+ 1 = 3\.5 is not "
                                         r"an integer"):
        forward(np.zeros((1, 1, 7, 7)), pp(2))


@pytest.mark.parametrize("forward", FORWARDS)
def test_non_tiling_width_names_the_width(forward):
    with pytest.raises(ValueError, match=r"width: \(W - F\)/S \+ 1 = \(9 - 2\)/2 \+ 1 = 4\.5"):
        forward(np.zeros((1, 1, 8, 9)), pp(2))


@pytest.mark.parametrize("forward", FORWARDS)
@pytest.mark.parametrize("shape", [(4, 4), (1, 4, 4), (1, 1, 1, 4, 4)])
def test_non_4d_input_raises(forward, shape):
    with pytest.raises(ValueError, match=rf"x must be 4-D \(N, C, H, W\), got shape .*"
                                         rf"\({len(shape)}-D\)"):
        forward(np.zeros(shape), pp(2))


@pytest.mark.parametrize("forward", FORWARDS)
def test_window_larger_than_input_raises(forward):
    with pytest.raises(ValueError, match=r"larger than the input along the height: "
                                         r"F = 5 > W = 4"):
        forward(np.zeros((1, 1, 4, 8)), pp(5, 2, S=1))
    with pytest.raises(ValueError, match=r"along the width: F = 9 > W = 8"):
        forward(np.zeros((1, 1, 4, 8)), pp(2, 9, S=1))


@pytest.mark.parametrize("forward", FORWARDS)
@pytest.mark.parametrize("stride", [0, -1])
def test_stride_below_one_raises(forward, stride):
    with pytest.raises(ValueError, match=rf"pool_param\['stride'\] must be >= 1, got "
                                         rf"pool_param\['stride'\] = {stride}"):
        forward(np.zeros((1, 1, 4, 4)), pp(2, S=stride))


@pytest.mark.parametrize("forward", FORWARDS)
def test_bad_pool_param_raises(forward):
    x = np.zeros((1, 1, 4, 4))
    with pytest.raises(ValueError, match=r"pool_param is missing the key 'stride'"):
        forward(x, {"pool_height": 2, "pool_width": 2})
    with pytest.raises(ValueError, match=r"pool_param\['pool_width'\] must be >= 1, got "
                                         r"pool_param\['pool_width'\] = 0"):
        forward(x, pp(2, 0, S=1))
    with pytest.raises(TypeError, match=r"pool_param\['pool_height'\] must be an integer, "
                                        r"got 2\.5"):
        forward(x, pp(2.5, 2, S=2))
    with pytest.raises(TypeError, match=r"pool_param must be a dict"):
        forward(x, (2, 2, 2))
    with pytest.raises(TypeError, match=r"x must hold numbers"):
        forward(np.array([["a"]]), pp(1))


@pytest.mark.parametrize("x, param", [
    (np.zeros((1, 1, 7, 7)), pp(2)),
    (np.zeros((4, 4)), pp(2)),
    (np.zeros((1, 1, 4, 4)), pp(5, S=1)),
    (np.zeros((1, 1, 4, 4)), pp(2, S=0)),
    (np.zeros((1, 1, 4, 4)), {"pool_height": 2}),
])
def test_naive_and_fast_raise_the_same_errors(x, param):
    check_twins_raise_alike(MAX_POOL, [x], param)


@pytest.mark.parametrize("forward, backward", ALL_PAIRS)
def test_backward_rejects_dout_of_the_wrong_shape(forward, backward):
    out, cache = forward(np.ones((1, 2, 4, 4)), pp(2))
    with pytest.raises(ValueError, match=r"dout has shape \(1, 2, 2, 3\) but the output .* had "
                                         r"shape \(1, 2, 2, 2\)"):
        backward(np.ones((1, 2, 2, 3)), cache)


# ------------------------------------------------------- NaN, inf and very large windows

@pytest.mark.parametrize("param", [pp(2), pp(3, S=2), pp(2, 3, S=1)],
                         ids=["tiles", "overlap", "nonsquare"])
def test_nan_windows_pick_the_first_nan_like_argmax(param):
    # np.argmax (the naive rule) returns the first NaN of a window; the fast running
    # maximum must agree, and the output is NaN there.
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 2, 8, 8) if param["stride"] == 2 == param["pool_height"]
                            else (2, 2, 7, 7))
    x[rng.random(x.shape) < 0.15] = np.nan
    out_n, cache_n = max_pool_forward_naive(x, param)
    out_f, cache_f = max_pool_forward_fast(x, param)
    np.testing.assert_array_equal(cache_f[0], cache_n[0])
    np.testing.assert_array_equal(np.isnan(out_f), np.isnan(out_n))
    assert np.isnan(out_f).any() and not np.isnan(out_f).all()
    np.testing.assert_array_equal(out_f[~np.isnan(out_f)], out_n[~np.isnan(out_n)])


@pytest.mark.parametrize("param", [pp(2), pp(3, S=2)], ids=["tiles", "overlap"])
def test_infinite_upstream_gradient_reaches_only_the_switch(param):
    # A mask multiply would turn inf * 0 into NaN at the inputs that lost.
    x = distinct_input((1, 2, 7, 7) if param["stride"] == 2 and param["pool_height"] == 3
                       else (1, 2, 6, 6))
    out, cache = max_pool_forward_fast(x, param)
    dout = np.ones(out.shape)
    dout[0, 0, 0, 0] = np.inf
    dout[0, 1, 1, 1] = -np.inf
    dx_f = max_pool_backward_fast(dout, cache)
    dx_n = max_pool_backward_naive(dout, cache)
    assert not np.isnan(dx_f).any()
    np.testing.assert_array_equal(dx_f, dx_n)


@pytest.mark.parametrize("shape, param", [
    ((2, 2, 24, 24), pp(12)),                 # 144 positions, tiling (as global pooling)
    ((2, 3, 16, 16), pp(8, S=4)),             # 64 positions, overlapping: gradients add
    ((1, 2, 16, 17), pp(10, 5, S=6)),         # 50 positions, non-square, with gaps
], ids=["tiles", "overlap", "gaps"])
def test_large_windows_equal_naive(shape, param):
    # Windows of more than 49 positions take the argmax / scatter path.
    assert param["pool_height"] * param["pool_width"] > 49
    rng = np.random.default_rng(3)
    HH, WW = param["pool_height"], param["pool_width"]
    for data in ("random", "ties", "nan"):
        if data == "ties":
            x = rng.integers(0, 3, size=shape).astype(np.float64)
        else:
            x = rng.standard_normal(shape)
            x[0, 0, HH - 1, WW - 1] = 10.0       # the last position of a window wins
        if data == "nan":
            x[rng.random(shape) < 0.02] = np.nan
        out_n, cache_n = max_pool_forward_naive(x, param)
        out_f, cache_f = max_pool_forward_fast(x, param)
        np.testing.assert_array_equal(cache_f[0], cache_n[0], err_msg=data)
        if data == "random":
            assert cache_f[0].max() == HH * WW - 1       # the last position wins somewhere
        np.testing.assert_array_equal(out_f, out_n, err_msg=data)   # NaN == NaN here
        dout = rng.standard_normal(out_n.shape)
        dout[0, 0, 0, 0] = np.inf
        # (numpy's assert_allclose accepts inf == inf; the other entries must be finite)
        np.testing.assert_allclose(max_pool_backward_fast(dout, cache_f),
                                   max_pool_backward_naive(dout, cache_n), rtol=1e-12,
                                   err_msg=f"dx ({data})")
    errors = check_layer_gradients(max_pool_forward_fast, max_pool_backward_fast,
                                   {"x": distinct_input(shape)}, param)
    assert errors["worst"] < 1e-7, errors
    out32, cache32 = max_pool_forward_fast(x.astype(np.float32), param)
    assert out32.dtype == np.float32
    assert max_pool_backward_fast(np.ones_like(out32), cache32).dtype == np.float32
