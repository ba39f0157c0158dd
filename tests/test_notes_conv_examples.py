"""The notes' hand-worked convolution examples, computed by the layers themselves.

The notes write volumes as (width, height, depth) and index them ``X[x, y, d]``
with ``x`` the first axis; the layers use NCHW. The conversion used throughout:
``X[a, b, d] == x[0, d, a, b]``, i.e. ``x = X.transpose(2, 0, 1)[None]`` and back
``V = out[0].transpose(1, 2, 0)``.
"""

from __future__ import annotations

import numpy as np
import pytest
from convnets.conv import (
    conv_backward_fast,
    conv_backward_naive,
    conv_forward_fast,
    conv_forward_naive,
    im2col,
)
from convnets.gradcheck import assert_close
from convnets.layers.locally_connected import locally_connected_shapes
from convnets.shapes import conv_output_size

# The assignments whose functions these tests cover (pyproject.toml lists the markers).
pytestmark = [pytest.mark.conv_naive]

LAYERS = pytest.mark.parametrize(
    "forward, backward",
    [(conv_forward_naive, conv_backward_naive), (conv_forward_fast, conv_backward_fast)],
    ids=["naive", "fast"])


def to_nchw(X):
    """Notes' (x, y, depth) volume -> a batch of one NCHW image."""
    return X.transpose(2, 0, 1)[None]


# --------------------------------------------------------------------------------------
# The numpy example: X (11, 11, 4), F = 5, S = 2, P = 0 -> V of spatial size 4
# --------------------------------------------------------------------------------------

# (V index, the slice of X the notes multiply with the filter of that depth)
NOTES_V_ENTRIES = [
    ((0, 0, 0), np.s_[:5, :5, :]),
    ((1, 0, 0), np.s_[2:7, :5, :]),
    ((2, 0, 0), np.s_[4:9, :5, :]),
    ((3, 0, 0), np.s_[6:11, :5, :]),
    ((0, 0, 1), np.s_[:5, :5, :]),
    ((1, 0, 1), np.s_[2:7, :5, :]),
    ((2, 0, 1), np.s_[4:9, :5, :]),
    ((3, 0, 1), np.s_[6:11, :5, :]),
    ((0, 1, 1), np.s_[:5, 2:7, :]),     # going along y
    ((2, 3, 1), np.s_[4:9, 6:11, :]),   # along both
]


@LAYERS
def test_numpy_example_entries(forward, backward):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((11, 11, 4))
    W0, W1 = rng.standard_normal((5, 5, 4)), rng.standard_normal((5, 5, 4))
    b0, b1 = rng.standard_normal(2)
    assert conv_output_size(11, 5, S=2, P=0) == (11 - 5) // 2 + 1 == 4

    w = np.stack([W0, W1]).transpose(0, 3, 1, 2)          # (F=2, C=4, 5, 5)
    out, _ = forward(to_nchw(X), w, np.array([b0, b1]), {"stride": 2, "pad": 0})
    assert out.shape == (1, 2, 4, 4)
    V = out[0].transpose(1, 2, 0)                          # back to (x, y, depth)
    assert V.shape == (4, 4, 2)
    filters, biases = (W0, W1), (b0, b1)
    for (vx, vy, d), window in NOTES_V_ENTRIES:
        expected = np.sum(X[window] * filters[d]) + biases[d]
        assert np.isclose(V[vx, vy, d], expected, rtol=1e-12), (vx, vy, d)


# --------------------------------------------------------------------------------------
# The convolution demo: 5x5x3 input, K = 2 filters 3x3, S = 2, P = 1 -> 3x3x2
# --------------------------------------------------------------------------------------

def demo_by_hand(X, Ws, bs, S, P):
    """Each output as an explicit sum of 27 products; reads outside the input are the
    zero padding. Plain Python, no array slicing: an independent computation."""
    size, _, depth = X.shape
    F = Ws[0].shape[0]
    out_size = (size - F + 2 * P) // S + 1
    V = {}
    for k in range(len(Ws)):
        for ox in range(out_size):
            for oy in range(out_size):
                total = float(bs[k])
                for fx in range(F):
                    for fy in range(F):
                        for d in range(depth):
                            px, py = ox * S + fx - P, oy * S + fy - P
                            if 0 <= px < size and 0 <= py < size:
                                total += float(X[px, py, d]) * float(Ws[k][fx, fy, d])
                V[ox, oy, k] = total
    return V


@LAYERS
def test_conv_demo_all_18_outputs(forward, backward):
    # Small integers as in the demo: pixels 0..2, weights -1..1, biases 1 and 0.
    rng = np.random.default_rng(16)
    X = rng.integers(0, 3, size=(5, 5, 3)).astype(float)
    W0, W1 = rng.integers(-1, 2, size=(2, 3, 3, 3)).astype(float)
    bs = (1.0, 0.0)
    assert conv_output_size(5, 3, S=2, P=1) == (5 - 3 + 2) // 2 + 1 == 3

    w = np.stack([W0, W1]).transpose(0, 3, 1, 2)
    out, _ = forward(to_nchw(X), w, np.array(bs), {"stride": 2, "pad": 1})
    V = out[0].transpose(1, 2, 0)
    assert V.shape == (3, 3, 2)
    by_hand = demo_by_hand(X, (W0, W1), bs, S=2, P=1)
    assert len(by_hand) == 18
    for index, value in by_hand.items():
        assert V[index] == value, index        # integers: exact in float64


# --------------------------------------------------------------------------------------
# Spatial arrangement: the 1-D example, output sizes, zero-padding, invalid strides
# --------------------------------------------------------------------------------------

def conv_1d(signal, weights, S, forward=conv_forward_naive, pad=0, dilation=1):
    """A 1-D convolution through the 2-D layer: one row, one channel, one filter.
    Zero-padding is applied to the row only (the layer would also pad the height)."""
    row = np.pad(np.asarray(signal, dtype=float), pad)
    out, _ = forward(row.reshape(1, 1, 1, -1), np.asarray(weights, float).reshape(1, 1, 1, -1),
                     np.zeros(1), {"stride": S, "pad": 0, "dilation": dilation})
    return out.ravel()


@LAYERS
def test_notes_1d_example(forward, backward):
    # W = 5, F = 3, P = 1; weights [1, 0, -1], bias 0.
    assert conv_output_size(5, 3, S=1, P=1) == 5
    assert conv_output_size(5, 3, S=2, P=1) == 3
    with pytest.raises(ValueError, match=r"\(5 - 3 \+ 2\)/3 \+ 1 = 2.333 is not an integer"):
        conv_output_size(5, 3, S=3, P=1)
    # The same sizes and error from the layer on a 5x5 image with 3x3 filters, pad 1.
    x, w, b = np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 3, 3)), np.zeros(1)
    assert forward(x, w, b, {"stride": 1, "pad": 1})[0].shape[2:] == (5, 5)
    assert forward(x, w, b, {"stride": 2, "pad": 1})[0].shape[2:] == (3, 3)
    with pytest.raises(ValueError, match=r"\(5 - 3 \+ 2\)/3 \+ 1 = 2.333 is not an integer"):
        forward(x, w, b, {"stride": 3, "pad": 1})

    # Input [1, 2, -1, 1, -3], padded to [0, 1, 2, -1, 1, -3, 0]. Each output is
    # 1*left + 0*middle + (-1)*right:
    #   0-2 = -2,  1-(-1) = 2,  2-1 = 1,  -1-(-3) = 2,  1-0 = 1
    signal, weights = [1, 2, -1, 1, -3], [1, 0, -1]
    np.testing.assert_array_equal(conv_1d(signal, weights, 1, forward, pad=1),
                                  [-2, 2, 1, 2, 1])
    # Stride 2 keeps every other one of those: positions 0, 2, 4.
    np.testing.assert_array_equal(conv_1d(signal, weights, 2, forward, pad=1), [-2, 1, 1])


@LAYERS
def test_output_size_examples_7x7(forward, backward):
    x, w, b = np.zeros((1, 1, 7, 7)), np.zeros((1, 1, 3, 3)), np.zeros(1)
    assert forward(x, w, b, {"stride": 1, "pad": 0})[0].shape[2:] == (5, 5)
    assert forward(x, w, b, {"stride": 2, "pad": 0})[0].shape[2:] == (3, 3)


@LAYERS
@pytest.mark.parametrize("F", [1, 3, 5, 7])
def test_same_padding_keeps_the_size(forward, backward, F):
    P = (F - 1) // 2
    x, w, b = np.zeros((1, 2, 9, 11)), np.zeros((1, 2, F, F)), np.zeros(1)
    assert forward(x, w, b, {"stride": 1, "pad": P})[0].shape[2:] == (9, 11)


@LAYERS
def test_notes_invalid_stride_4_5(forward, backward):
    x, w, b = np.zeros((1, 1, 10, 10)), np.zeros((1, 1, 3, 3)), np.zeros(1)
    with pytest.raises(ValueError, match=r"\(W - F \+ 2P\)/S \+ 1 = \(10 - 3 \+ 0\)/2 \+ 1 = "
                                         r"4.5 is not an integer"):
        forward(x, w, b, {"stride": 2, "pad": 0})


def test_receptive_field_counts_examples_1_and_2():
    # Example 1: a 5x5 filter on a [32x32x3] input: 5*5*3 = 75 weights and 1 bias.
    w = np.zeros((1, 3, 5, 5))
    assert w[0].size == 75 and np.zeros(1).size == 1
    # Example 2: 3x3 on [16x16x20]: each neuron connects to 3*3*20 = 180 inputs,
    # the length of one column of im2col.
    assert im2col(np.zeros((1, 20, 16, 16)), 3, 3).shape[0] == 180


@LAYERS
def test_conv_summary(forward, backward):
    # W2 = (W1 - F + 2P)/S + 1, H2 likewise, D2 = K, (F*F*D1)*K weights and K biases.
    W1, H1, D1, K, F, S, P = 13, 9, 4, 6, 3, 2, 1
    x, w, b = np.zeros((1, D1, H1, W1)), np.zeros((K, D1, F, F)), np.zeros(K)
    out, _ = forward(x, w, b, {"stride": S, "pad": P})
    assert out.shape[1:] == (K, (H1 - F + 2 * P) // S + 1, (W1 - F + 2 * P) // S + 1) == (6, 5, 7)
    assert w.size == (F * F * D1) * K == 216 and b.size == K


# --------------------------------------------------------------------------------------
# AlexNet's first layer and parameter sharing
# --------------------------------------------------------------------------------------

def test_alexnet_first_layer_and_im2col_shapes():
    rng = np.random.default_rng(227)
    x = rng.standard_normal((1, 3, 227, 227))
    w = rng.standard_normal((96, 3, 11, 11))
    out, _ = conv_forward_fast(x, w, np.zeros(96), {"stride": 4, "pad": 0})
    assert out.shape[1:] == (96, 55, 55)
    # The notes' matrix-multiply view of the same layer.
    X_col = im2col(x, 11, 11, stride=4)
    W_row = w.reshape(96, -1)
    assert X_col.shape == (363, 3025) and W_row.shape == (96, 363)
    result = np.dot(W_row, X_col)
    assert result.shape == (96, 3025)
    assert_close(result.reshape(96, 55, 55), out[0], rtol=1e-10, atol=1e-10)
    # Spot checks against the definition: filter f on the 11x11x3 block at (4i, 4j).
    for f, i, j in [(0, 0, 0), (17, 54, 3), (95, 27, 54)]:
        field = x[0, :, 4 * i:4 * i + 11, 4 * j:4 * j + 11]
        assert np.isclose(out[0, f, i, j], np.sum(field * w[f]), rtol=1e-10)


def test_alexnet_224_does_not_fit():
    with pytest.raises(ValueError, match=r"\(224 - 11 \+ 0\)/4 \+ 1 = 54.25 is not an integer"):
        conv_forward_fast(np.zeros((1, 3, 224, 224)), np.zeros((96, 3, 11, 11)), np.zeros(96),
                          {"stride": 4, "pad": 0})
    # No symmetric padding rescues it (224 - 11 + 2P is always odd) ...
    for P in range(8):
        with pytest.raises(ValueError, match="is not an integer"):
            conv_output_size(224, 11, S=4, P=P)
    # ... but 3 extra pixels (224 + 3 = 227) do.
    assert conv_output_size(224 + 3, 11, S=4, P=0) == 55


def test_alexnet_parameter_counts_with_and_without_sharing():
    x_shape, conv_param = (1, 3, 227, 227), {"stride": 4, "pad": 0}
    w = np.zeros((96, 3, 11, 11))
    b = np.zeros(96)
    out, _ = conv_forward_fast(np.zeros(x_shape), w, b, conv_param)
    neurons = int(np.prod(out.shape[1:]))
    per_neuron = int(np.prod(w.shape[1:])) + 1          # 11*11*3 weights + 1 bias
    assert (neurons, per_neuron) == (290_400, 364)
    assert neurons * per_neuron == 105_705_600
    # The same count from the shapes of a locally-connected layer (never allocated).
    w_shape, b_shape = locally_connected_shapes(x_shape, 96, 11, 11, conv_param)
    assert int(np.prod(w_shape)) + int(np.prod(b_shape)) == 105_705_600
    # With sharing: one filter per depth slice.
    assert w.size == 34_848 and w.size + b.size == 34_944


# --------------------------------------------------------------------------------------
# Backpropagation is a convolution with spatially flipped filters
# --------------------------------------------------------------------------------------

@LAYERS
def test_backward_is_convolution_with_flipped_filters(forward, backward):
    rng = np.random.default_rng(18)
    x = rng.standard_normal((2, 3, 6, 7))
    w = rng.standard_normal((4, 3, 3, 2))
    out, cache = forward(x, w, rng.standard_normal(4), {"stride": 1, "pad": 0})
    dout = rng.standard_normal(out.shape)
    dx, dw, _ = backward(dout, cache)
    HH, WW = w.shape[2:]

    # dx: a "full" convolution of dout (padded by the filter size minus one) with the
    # filters flipped in both spatial axes, their F and C axes swapped.
    w_flipped = w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)           # (C, F, HH, WW)
    dout_full = np.pad(dout, ((0, 0), (0, 0), (HH - 1, HH - 1), (WW - 1, WW - 1)))
    dx_conv, _ = conv_forward_naive(dout_full, w_flipped, np.zeros(3), {"stride": 1, "pad": 0})
    assert_close(dx, dx_conv, rtol=1e-10, atol=1e-12, what="dx")

    # dw: also a convolution, of the input with dout as the filter (batch axis summed
    # like a channel axis).
    dw_conv, _ = conv_forward_naive(x.transpose(1, 0, 2, 3), dout.transpose(1, 0, 2, 3),
                                    np.zeros(4), {"stride": 1, "pad": 0})
    assert_close(dw, dw_conv.transpose(1, 0, 2, 3), rtol=1e-10, atol=1e-12, what="dw")


# --------------------------------------------------------------------------------------
# 1x1 convolutions
# --------------------------------------------------------------------------------------

@LAYERS
def test_1x1_convolution_is_a_dot_product_per_pixel(forward, backward):
    rng = np.random.default_rng(19)
    x = rng.standard_normal((1, 3, 32, 32))               # [32x32x3]
    w = rng.standard_normal((4, 3, 1, 1))
    out, _ = forward(x, w, np.zeros(4), {"stride": 1, "pad": 0})
    assert out.shape == (1, 4, 32, 32)
    expected = np.empty_like(out)
    for k in range(4):
        for i in range(32):
            for j in range(32):
                expected[0, k, i, j] = np.dot(w[k, :, 0, 0], x[0, :, i, j])   # 3-d
    assert_close(out, expected, rtol=1e-12, atol=1e-15)


# --------------------------------------------------------------------------------------
# Dilation and effective receptive fields
# --------------------------------------------------------------------------------------

@LAYERS
def test_dilation_notes_example(forward, backward):
    x = [2.0, 3.0, 5.0, 7.0, 11.0]
    w = [1.0, 10.0, 100.0]
    # The notes' "dilation 0" (contiguous, our dilation=1): w0*x0 + w1*x1 + w2*x2, ...
    contiguous = conv_1d(x, w, 1, forward, dilation=1)
    assert contiguous[0] == w[0] * x[0] + w[1] * x[1] + w[2] * x[2]
    # The notes' "dilation 1" (a gap of one) is our dilation=2: w0*x0 + w1*x2 + w2*x4.
    dilated = conv_1d(x, w, 1, forward, dilation=2)
    assert dilated.shape == (1,)
    assert dilated[0] == w[0] * x[0] + w[1] * x[2] + w[2] * x[4] == 1152.0


def receptive_field(dilations, size=21):
    """Side of the input region one output of a stack of 3x3 layers depends on,
    measured from the gradient of that output with respect to the input."""
    x = np.ones((1, 1, size, size))
    caches, h = [], x
    for D in dilations:
        h, cache = conv_forward_fast(h, np.ones((1, 1, 3, 3)), np.zeros(1),
                                     {"stride": 1, "pad": 0, "dilation": D})
        caches.append(cache)
    g = np.zeros(h.shape)
    g[0, 0, h.shape[2] // 2, h.shape[3] // 2] = 1.0          # one output neuron
    for cache in reversed(caches):
        g, _, _ = conv_backward_fast(g, cache)
    rows, cols = np.nonzero(g[0, 0])
    side = rows.max() - rows.min() + 1
    assert side == cols.max() - cols.min() + 1
    assert np.count_nonzero(g) == side * side                 # a full square
    return int(side)


def test_effective_receptive_fields():
    assert receptive_field([1]) == 3
    assert receptive_field([1, 1]) == 5          # two stacked 3x3: a 5x5 patch
    assert receptive_field([1, 1, 1]) == 7
    # Dilated stacks grow faster: dilations 1, 2, 4 (the notes' gaps 0, 1, 3).
    assert receptive_field([1, 2]) == 7
    assert receptive_field([1, 2, 4]) == 15
