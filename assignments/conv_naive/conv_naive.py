# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Assignment 1: the convolutional layer, naive
#
# In this assignment you write a convolutional layer with plain loops: zero padding, the
# output-size rule, the forward pass, the backward pass, the worked example from the
# notes, and dilated filters. Speed does not matter here (assignment 2 makes it fast);
# being right does, and every step is checked against a numerical gradient.
#
# **Conventions used in every assignment**
#
# - Arrays are **NCHW**: a batch `x` has shape `(N, C, H, W)` (images, channels, rows,
#   columns); a filter bank `w` has shape `(F, C, HH, WW)` (filters, channels, filter
#   height, filter width); biases `b` have shape `(F,)`.
# - The layer computes a **cross-correlation** (the filter is not flipped), as every
#   deep-learning library does:
#   `out[n, f, i, j] = b[f] + sum over c, kh, kw of w[f, c, kh, kw] * xpad[n, c, i*S + kh*D, j*S + kw*D]`
#   where `xpad` is `x` with `P` zeros on every side, `S` the stride and `D` the dilation.
# - `conv_param` is a dict `{'stride': S, 'pad': P}` with an optional `'dilation': D`
#   (default 1 = an ordinary, contiguous filter).
# - A forward pass returns `(out, cache)`; the backward pass takes `(dout, cache)`, where
#   `dout` is the gradient of the loss with respect to `out`, and returns the gradients
#   with respect to the inputs. What you put in `cache` is up to you.
# - A setting that does not fit raises `ValueError` with a message that shows the rule
#   and the numbers, e.g. `(W - F + 2P)/S + 1 = (10 - 3 + 0)/2 + 1 = 4.5 is not an integer`.
#
# Fill in the code between the comments `YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line). Use NumPy only. Run each test cell after the cell
# above it; the tests you see are part of the grade, and hidden tests with random
# shapes, strides and paddings check the same functions more thoroughly.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import numpy as np
from checks import (
    check_close,
    check_equal,
    check_gradient,
    check_gradients,
    check_raises,
    check_shape,
    eval_numerical_gradient_array,
    hidden_checks,
    hidden_rng,
)

np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## 1. Zero padding
#
# Padding surrounds each image with `P` rows and columns of zeros on every side. It lets
# the filter be centred on the border pixels too; with stride 1 and `P = (F - 1)/2` the
# output has the same height and width as the input. Only the two spatial axes are
# padded, never the batch or the channel axis.

# %% nbgrader={"grade": false, "grade_id": "answer_zero_pad", "locked": false, "schema_version": 3, "solution": true, "task": false}
def zero_pad(x, pad):
    """Add `pad` zeros on each side of both spatial axes of a batch of images.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    pad : int
        Number of zero rows (columns) added above and below (left and right), >= 0.

    Returns
    -------
    x_padded : ndarray, shape (N, C, H + 2*pad, W + 2*pad), same dtype as x
        `x_padded[:, :, pad:pad+H, pad:pad+W]` is `x`; everything else is 0.

    Raises
    ------
    ValueError
        If `pad < 0` (the message names pad and its value).
    """
    ### BEGIN SOLUTION
    if pad < 0:
        raise ValueError(f"pad must be >= 0, got pad = {pad}")
    N, C, H, W = x.shape
    x_padded = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=x.dtype)
    x_padded[:, :, pad:pad + H, pad:pad + W] = x
    return x_padded
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_zero_pad", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
x = np.arange(2 * 3 * 4 * 5, dtype=np.float64).reshape(2, 3, 4, 5) + 1
x_padded = zero_pad(x, 2)
check_shape(x_padded, (2, 3, 8, 9), "zero_pad(x, 2)")
check_close(x_padded[:, :, 2:6, 2:7], x, "the middle of zero_pad(x, 2)")
border = x_padded.copy()
border[:, :, 2:6, 2:7] = 0
check_close(border, np.zeros_like(border), "the border of zero_pad(x, 2)")
check_close(zero_pad(x, 0), x, "zero_pad(x, 0)")
check_equal(str(zero_pad(x.astype(np.float32), 1).dtype), "float32", "dtype of zero_pad(float32)")
check_raises(ValueError, zero_pad, x, -1, what="zero_pad(x, -1)")
### BEGIN HIDDEN TESTS
with hidden_checks("test_zero_pad") as rng:
    for _ in range(5):
        shape = tuple(int(s) for s in rng.integers(1, 6, size=4))
        pad = int(rng.integers(0, 4))
        x = rng.standard_normal(shape)
        expected = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
        check_close(zero_pad(x, pad), expected, f"zero_pad of shape {shape} with pad={pad}")
### END HIDDEN TESTS

# %% [markdown]
# ## 2. How many outputs fit?
#
# Along one axis, a filter of size `F` slid with stride `S` over an input of size `W`
# padded with `P` zeros on each side fits at `(W - F + 2P)/S + 1` positions. The notes'
# examples: a 7x7 input and a 3x3 filter give a 5x5 output with stride 1 and 3x3 with
# stride 2; AlexNet's first layer takes 227x227 inputs with `F = 11, S = 4, P = 0` to
# 55x55.
#
# When the formula does not give a whole number the filter positions do not tile the
# padded input evenly, and the setting is invalid: `W = 10, F = 3, S = 2, P = 0` gives
# `(10 - 3 + 0)/2 + 1 = 4.5`. A library could silently crop or pad; ours raises a
# `ValueError` whose message shows the formula with the numbers and ends with
# `is not an integer`, so that whoever chose the setting sees why it fails.
#
# **Dilation.** A dilated filter leaves gaps between its taps: with dilation `D` the taps
# are `D` pixels apart, so a filter of size `F` spans `D*(F - 1) + 1` input pixels.
# Use that span in place of `F` in the formula (and in the error message). `D = 1` is
# the ordinary filter. Careful: the notes count the *gap* instead, so their
# "dilation 1" (`w[0]*x[0] + w[1]*x[2] + w[2]*x[4]`) is `dilation=2` here.
#
# Also raise `ValueError` when the (dilated) filter is larger than the padded input.

# %% nbgrader={"grade": false, "grade_id": "answer_conv_output_size", "locked": false, "schema_version": 3, "solution": true, "task": false}
def conv_output_size(W, F, S, P, dilation=1):
    """Number of filter positions along one axis, `(W - F + 2P)/S + 1`.

    Parameters
    ----------
    W : int
        Input size along the axis.
    F : int
        Filter size along the axis (number of taps).
    S : int
        Stride, >= 1.
    P : int
        Zeros added on each side, >= 0.
    dilation : int
        Distance between taps (1 = contiguous). The filter spans `dilation*(F-1) + 1`
        pixels, which replaces `F` in the formula.

    Returns
    -------
    size : int

    Raises
    ------
    ValueError
        If the filter span is larger than `W + 2P`, or if `(W - F + 2P)/S + 1` is not a
        whole number; the message then reads like
        `(W - F + 2P)/S + 1 = (10 - 3 + 0)/2 + 1 = 4.5 is not an integer`.
    """
    ### BEGIN SOLUTION
    span = dilation * (F - 1) + 1
    if span > W + 2 * P:
        raise ValueError(
            f"the filter spans F = {span} pixels, more than the padded input "
            f"W + 2P = {W} + 2*{P} = {W + 2 * P}"
        )
    room = W - span + 2 * P
    if room % S != 0:
        raise ValueError(
            f"(W - F + 2P)/S + 1 = ({W} - {span} + {2 * P})/{S} + 1 = {room / S + 1:.4g} "
            f"is not an integer"
        )
    return room // S + 1
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_conv_output_size", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
# The notes' examples.
check_equal(conv_output_size(7, 3, 1, 0), 5, "7x7 input, 3x3 filter, stride 1")
check_equal(conv_output_size(7, 3, 2, 0), 3, "7x7 input, 3x3 filter, stride 2")
check_equal(conv_output_size(5, 3, 1, 1), 5, "W=5, F=3, S=1, P=1")
check_equal(conv_output_size(5, 3, 2, 1), 3, "W=5, F=3, S=2, P=1")
check_equal(conv_output_size(227, 11, 4, 0), 55, "AlexNet's first layer")
for F in (1, 3, 5, 7):
    check_equal(conv_output_size(32, F, 1, (F - 1) // 2), 32, f"P=(F-1)/2 keeps the size, F={F}")
size = conv_output_size(7, 3, 1, 0)
check_equal(isinstance(size, (int, np.integer)), True, "conv_output_size returns an int")
# Settings that do not fit.
check_raises(ValueError, conv_output_size, 10, 3, 2, 0, match="is not an integer",
             what="W=10, F=3, S=2, P=0")
check_raises(ValueError, conv_output_size, 10, 3, 2, 0, match="4.5", what="W=10, F=3, S=2, P=0")
check_raises(ValueError, conv_output_size, 5, 3, 3, 1, match="is not an integer",
             what="W=5, F=3, S=3, P=1")
check_raises(ValueError, conv_output_size, 224, 11, 4, 0, match="54.25",
             what="AlexNet with the paper's 224")
check_raises(ValueError, conv_output_size, 3, 5, 1, 0, what="a 5-wide filter on 3 pixels")
# Dilation: 3 taps two pixels apart span 5 pixels.
check_equal(conv_output_size(7, 3, 1, 0, dilation=2), 3, "W=7, F=3, dilation=2")
check_equal(conv_output_size(7, 3, 1, 0, dilation=1), 5, "W=7, F=3, dilation=1")
### BEGIN HIDDEN TESTS
import convnets as ref

with hidden_checks("test_conv_output_size") as rng:
    for _ in range(60):
        W, F = int(rng.integers(1, 40)), int(rng.integers(1, 8))
        S, P, D = int(rng.integers(1, 5)), int(rng.integers(0, 4)), int(rng.integers(1, 4))
        # The labels say what kind of case failed, never its numbers and answer.
        kind = "a dilated filter" if D > 1 else "an ordinary filter"
        try:
            expected = ref.conv_output_size(W, F, S, P, D)
        except ValueError as err:
            match = "is not an integer" if "is not an integer" in str(err) else None
            what = (f"a random setting where (W - F + 2P)/S + 1 is not an integer ({kind})"
                    if match else f"a random filter wider than the padded input ({kind})")
            check_raises(ValueError, conv_output_size, W, F, S, P, dilation=D, match=match,
                         what=what)
            if match:
                value = f"{(W - D * (F - 1) - 1 + 2 * P) / S + 1:.4g}"
                check_raises(ValueError, conv_output_size, W, F, S, P, dilation=D, match=value,
                             what=what)
        else:
            check_equal(conv_output_size(W, F, S, P, dilation=D), expected,
                        f"a random setting that fits ({kind})")
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "question_padding", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Question (2 points).** The notes recommend zero-padding `P = (F - 1)/2` with stride
# 1. Stack five 3x3 CONV layers with stride 1 on a 32x32 input. What spatial size comes
# out with `P = 0`, and with `P = 1`? In how many receptive fields of the first layer
# does a corner pixel of the input lie with `P = 0`, with `P = 1`, and a pixel far from
# the border? Use these numbers to say what the notes mean when they say that without
# padding the information at the borders is "washed away".
#
# Answer in the cell below, in a few sentences, with the numbers.

# %% [markdown] nbgrader={"grade": true, "grade_id": "written_padding", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# ### BEGIN SOLUTION
# Without padding each layer gives `(W - 3)/1 + 1 = W - 2` outputs per axis, so the size
# goes 32, 30, 28, 26, 24, 22: the fifth layer is 22x22. With `P = 1` it gives `(W - 3 +
# 2)/1 + 1 = W`, so all five layers stay 32x32 and only pooling shrinks the volume.
#
# A pixel far from the border lies in 3 x 3 = 9 receptive fields. A corner pixel lies in
# only 1 without padding and in 2 x 2 = 4 with `P = 1` (a pixel on an edge in 6). So
# without padding the border pixels feed far fewer outputs in every layer (and get fewer
# gradient contributions in `dx`), and a strip of the image disappears from the volume
# at each layer: after a few layers the borders have almost no say.
#
# ### BEGIN RUBRIC
# Full (2): 22x22 against 32x32, and the counts 1 (no padding) and 4 (`P = 1`) for the
# corner against 9 inside, tied to the border losing its influence as layers stack.
# Partial (1): the sizes right but no receptive-field counts (or the counts without the
# sizes), or the washing-away explained without numbers.
# Zero: wrong sizes and no correct reason.
# ### END RUBRIC
# ### END SOLUTION

# %% [markdown]
# ## 3. The forward pass
#
# Write the layer with loops over output positions. For output `(i, j)` of image `n`,
# the receptive field is the `(C, HH, WW)` block of the padded input whose top-left
# corner is at `(i*S, j*S)`, taking every `D`-th pixel; output `(n, f, i, j)` is the sum
# of that block times filter `w[f]`, plus `b[f]`. (Looping over `n` and `f` too is fine;
# so is computing all `F` filters of one position with a single `np.tensordot`.)
#
# Use your `zero_pad` and `conv_output_size`, so that a setting that does not fit raises
# the same `ValueError`. The output dtype is NumPy's promotion of `x` and `w`
# (`np.result_type(x, w)`): float32 inputs give a float32 output.

# %% nbgrader={"grade": false, "grade_id": "answer_conv_forward_naive", "locked": false, "schema_version": 3, "solution": true, "task": false}
def conv_forward_naive(x, w, b, conv_param):
    """Forward pass of a convolutional layer, with loops.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
        Input batch.
    w : ndarray, shape (F, C, HH, WW)
        Filters (HH and WW may differ).
    b : ndarray, shape (F,)
        Biases.
    conv_param : dict
        'stride': S >= 1, 'pad': P >= 0, optional 'dilation': D >= 1 (default 1).

    Returns
    -------
    out : ndarray, shape (N, F, H', W')
        `H' = (H - (D*(HH-1) + 1) + 2P)/S + 1`, `W' = (W - (D*(WW-1) + 1) + 2P)/S + 1`;
        dtype `np.result_type(x, w)`.
    cache : anything
        What your backward pass needs (for example `(x, w, b, conv_param)`).

    Raises
    ------
    ValueError
        If H' or W' is not a whole number or the filter does not fit (from
        conv_output_size).
    """
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    S, P = conv_param["stride"], conv_param["pad"]
    D = conv_param.get("dilation", 1)
    H_out = conv_output_size(H, HH, S, P, D)
    W_out = conv_output_size(W, WW, S, P, D)
    x_padded = zero_pad(x, P)
    out = np.zeros((N, F, H_out, W_out), dtype=np.result_type(x, w))
    for i in range(H_out):
        rows = slice(i * S, i * S + D * (HH - 1) + 1, D)
        for j in range(W_out):
            cols = slice(j * S, j * S + D * (WW - 1) + 1, D)
            fields = x_padded[:, :, rows, cols]                  # (N, C, HH, WW)
            # one dot product per (image, filter) pair: contract C, HH and WW
            out[:, :, i, j] = np.tensordot(fields, w, axes=([1, 2, 3], [1, 2, 3])) + b
    cache = (x, w, b, {"stride": S, "pad": P, "dilation": D})
    return out, cache
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_conv_forward_naive_shapes", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def conv_shape(x_shape, w_shape, conv_param):
    x = np.ones(x_shape)
    w = np.ones(w_shape)
    out, _ = conv_forward_naive(x, w, np.zeros(w_shape[0]), conv_param)
    return out


check_shape(conv_shape((2, 3, 7, 7), (4, 3, 3, 3), {"stride": 1, "pad": 0}), (2, 4, 5, 5),
            "7x7 input, 3x3 filters, S=1, P=0")
check_shape(conv_shape((2, 3, 7, 7), (4, 3, 3, 3), {"stride": 2, "pad": 0}), (2, 4, 3, 3),
            "7x7 input, 3x3 filters, S=2, P=0")
check_shape(conv_shape((2, 3, 7, 7), (4, 3, 3, 3), {"stride": 1, "pad": 1}), (2, 4, 7, 7),
            "7x7 input, 3x3 filters, S=1, P=1")
# The notes' demo: a 5x5x3 input, K=2 filters of 3x3, S=2, P=1 -> 3x3x2.
check_shape(conv_shape((1, 3, 5, 5), (2, 3, 3, 3), {"stride": 2, "pad": 1}), (1, 2, 3, 3),
            "the notes' demo")
check_shape(conv_shape((2, 3, 6, 8), (4, 3, 3, 5), {"stride": 1, "pad": 0}), (2, 4, 4, 4),
            "a non-square input and filter")
check_raises(ValueError, conv_forward_naive, np.ones((1, 1, 10, 10)), np.ones((1, 1, 3, 3)),
             np.zeros(1), {"stride": 2, "pad": 0}, match="is not an integer",
             what="conv_forward_naive with W=10, F=3, S=2, P=0")
### BEGIN HIDDEN TESTS
import convnets as ref

with hidden_checks("test_conv_forward_naive_shapes") as rng:
    for _ in range(12):
        N, C, F = (int(v) for v in rng.integers(1, 4, size=3))
        H, W = (int(v) for v in rng.integers(2, 12, size=2))
        HH, WW = (int(v) for v in rng.integers(1, 5, size=2))
        p = {"stride": int(rng.integers(1, 4)), "pad": int(rng.integers(0, 3))}
        x, w = np.ones((N, C, H, W)), np.ones((F, C, HH, WW))
        what = f"conv_forward_naive on x {x.shape}, w {w.shape}, {p}"
        try:
            expected = ref.conv_forward_naive(x, w, np.zeros(F), p)[0].shape
        except ValueError:
            check_raises(ValueError, conv_forward_naive, x, w, np.zeros(F), p,
                         what="conv_forward_naive on a random setting that does not fit")
        else:
            check_shape(conv_forward_naive(x, w, np.zeros(F), p)[0], expected, what)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_conv_forward_naive_values", "locked": true, "points": 5, "schema_version": 3, "solution": false, "task": false}
# The notes' 1-D example (their figure of the spatial arrangement): the input
# [1, 2, -1, 1, -3], W=5, F=3, P=1, weights [1, 0, -1], bias 0. As a 2-D layer the
# padding applies to both axes, so the row becomes 3 rows (zeros above and below) and the
# filter is 3x3 with [1, 0, -1] in its middle row.
x = np.array([1.0, 2.0, -1.0, 1.0, -3.0]).reshape(1, 1, 1, 5)
w = np.zeros((1, 1, 3, 3))
w[0, 0, 1] = [1.0, 0.0, -1.0]
zero_bias = np.zeros(1)
# padded row 0 1 2 -1 1 -3 0: each output is (left neighbour) - (right neighbour):
# 0 - 2, 1 - (-1), 2 - 1, -1 - (-3), 1 - 0; the figure's outputs.
out, _ = conv_forward_naive(x, w, zero_bias, {"stride": 1, "pad": 1})
check_close(out.ravel(), [-2.0, 2.0, 1.0, 2.0, 1.0], "the notes' 1-D example, S=1")
# Stride 2 keeps every other one of those (positions 0, 2, 4).
out, _ = conv_forward_naive(x, w, zero_bias, {"stride": 2, "pad": 1})
check_close(out.ravel(), [-2.0, 1.0, 1.0], "the notes' 1-D example, S=2")

# 2x2 filter of ones, stride 2 on a 4x4 image: sums of the 2x2 blocks, plus the bias 1.
x = np.arange(16.0).reshape(1, 1, 4, 4)
out, _ = conv_forward_naive(x, np.ones((1, 1, 2, 2)), np.ones(1), {"stride": 2, "pad": 0})
check_close(out, np.array([[[[11.0, 19.0], [43.0, 51.0]]]]), "2x2 block sums plus 1")

# Two channels, two filters: filter 0 adds the channels, filter 1 subtracts them.
x = np.stack([np.arange(9.0).reshape(3, 3), np.ones((3, 3))])[None]      # (1, 2, 3, 3)
w = np.zeros((2, 2, 1, 1))
w[0, :, 0, 0] = [1.0, 1.0]
w[1, :, 0, 0] = [1.0, -1.0]
out, _ = conv_forward_naive(x, w, np.array([0.0, 10.0]), {"stride": 1, "pad": 0})
check_close(out[0, 0], np.arange(9.0).reshape(3, 3) + 1, "filter 0 (channel sum)")
check_close(out[0, 1], np.arange(9.0).reshape(3, 3) - 1 + 10, "filter 1 (difference + bias)")

# Padding is zeros: a 3x3 filter of ones on a 3x3 image of ones counts the real pixels.
out, _ = conv_forward_naive(np.ones((1, 1, 3, 3)), np.ones((1, 1, 3, 3)), np.zeros(1),
                            {"stride": 1, "pad": 1})
check_close(out[0, 0], [[4.0, 6.0, 4.0], [6.0, 9.0, 6.0], [4.0, 6.0, 4.0]], "zero padding")

# float32 in, float32 out.
x32 = np.ones((1, 2, 4, 4), dtype=np.float32)
w32 = np.ones((3, 2, 3, 3), dtype=np.float32)
out, _ = conv_forward_naive(x32, w32, np.zeros(3, dtype=np.float32), {"stride": 1, "pad": 0})
check_equal(str(out.dtype), "float32", "dtype of the output for float32 inputs")
### BEGIN HIDDEN TESTS
import convnets as ref

with hidden_checks("test_conv_forward_naive_values") as rng:
    def random_conv_case(rng, max_dilation=1, dtype=np.float64):
        """Random valid shapes: strides 1-3, pads 0-2, non-square inputs and filters."""
        while True:
            N, C, F = (int(v) for v in rng.integers(1, 4, size=3))
            HH, WW = (int(v) for v in rng.integers(1, 5, size=2))
            S, P = int(rng.integers(1, 4)), int(rng.integers(0, 3))
            D = int(rng.integers(1, max_dilation + 1))
            H_out, W_out = (int(v) for v in rng.integers(1, 5, size=2))
            H = (H_out - 1) * S + D * (HH - 1) + 1 - 2 * P
            W = (W_out - 1) * S + D * (WW - 1) + 1 - 2 * P
            if H >= 1 and W >= 1:
                break
        x = rng.standard_normal((N, C, H, W)).astype(dtype)
        w = rng.standard_normal((F, C, HH, WW)).astype(dtype)
        b = rng.standard_normal(F).astype(dtype)
        return x, w, b, {"stride": S, "pad": P, "dilation": D}


    for _ in range(10):
        x, w, b, p = random_conv_case(rng)
        del p["dilation"]
        expected = ref.conv_forward_naive(x, w, b, p)[0]
        check_close(conv_forward_naive(x, w, b, p)[0], expected,
                    f"conv_forward_naive on x {x.shape}, w {w.shape}, {p}")
    x, w, b, p = random_conv_case(rng, dtype=np.float32)
    out = conv_forward_naive(x, w, b, p)[0]
    check_equal(str(out.dtype), "float32", "dtype of the output for float32 inputs")
    check_close(out, ref.conv_forward_naive(x, w, b, p)[0], "float32 output", rtol=1e-4, atol=1e-5)
### END HIDDEN TESTS

# %% [markdown]
# ### Your layer on a photo
#
# The cell below (not graded) runs your `conv_forward_naive` on a real picture, the photo
# of Grace Hopper that ships with matplotlib (every fourth pixel, so 150x128), with
# filters chosen by hand:
#
# - **grey**: a 1x1 convolution whose single filter weighs the red, green and blue values
#   of each pixel (0.299, 0.587, 0.114): a conv layer mixes channels;
# - **blur**: a 5x5 Gaussian whose weights are positive and add up to 1, so every output
#   is a weighted average of its neighbourhood;
# - **edges**: two 3x3 Sobel filters in one bank (two output channels). The layer does
#   not flip its filters, so `[-1, 0, 1]` along a row gives *right minus left*: red
#   where the picture gets brighter to the right, blue where it gets darker, white where
#   it does not change (one colour scale for both maps; the strongest responses are
#   clipped to it). The second filter is the first one transposed: top to bottom.
#
# No padding is used, so each output is smaller than its input by the filter size minus
# one (the printed shapes), and no frame of zeros shows up as a false edge. The figure
# needs only your forward pass: it appears once the tests above pass.

# %% nbgrader={"grade": false, "grade_id": "demo_photo", "locked": true, "schema_version": 3, "solution": false, "task": false}
import matplotlib.pyplot as plt
from matplotlib import cbook

photo = plt.imread(cbook.get_sample_data("grace_hopper.jpg"))[::4, ::4] / 255.0
x_rgb = photo.transpose(2, 0, 1)[None]                 # NCHW: (1, 3, 150, 128)
no_pad = {"stride": 1, "pad": 0}

w_grey = np.array([0.299, 0.587, 0.114]).reshape(1, 3, 1, 1)
grey, _ = conv_forward_naive(x_rgb, w_grey, np.zeros(1), no_pad)

taps = np.exp(-0.5 * np.arange(-2.0, 3.0) ** 2)
w_blur = np.outer(taps, taps) / np.outer(taps, taps).sum()
blurred, _ = conv_forward_naive(grey, w_blur.reshape(1, 1, 5, 5), np.zeros(1), no_pad)

sobel = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
w_edges = np.stack([sobel, sobel.T])[:, None]          # (2, 1, 3, 3)
edges, _ = conv_forward_naive(grey, w_edges, np.zeros(2), no_pad)
for name, volume in (("photo", x_rgb), ("grey", grey), ("blurred", blurred), ("edges", edges)):
    print(f"{name:8s} {volume.shape}")

fig, axes = plt.subplots(1, 5, figsize=(12, 3.2), constrained_layout=True)
axes[0].imshow(photo)
axes[0].set_title("photo (3 channels)", fontsize=10)
for ax, image, title in ((axes[1], grey, "1x1 filter: grey"),
                         (axes[2], blurred, "5x5 Gaussian: blur")):
    ax.imshow(image[0, 0], cmap="gray", vmin=0, vmax=1)
    ax.set_title(title, fontsize=10)
limit = np.percentile(np.abs(edges), 99.5)             # one scale for both edge maps
for ax, k, title in ((axes[3], 0, "Sobel: right minus left"),
                     (axes[4], 1, "Sobel: below minus above")):
    shown = ax.imshow(edges[0, k], cmap="RdBu_r", vmin=-limit, vmax=limit)
    ax.set_title(title, fontsize=10)
fig.colorbar(shown, ax=axes[3:], shrink=0.8, extend="both").set_label("filter response",
                                                                      fontsize=10)
for ax in axes:
    ax.axis("off")
plt.show()

# %% [markdown]
# ## 4. The backward pass
#
# Each output was a dot product of one filter with one receptive field, so its upstream
# gradient `dout[n, f, i, j]`
#
# - adds `dout[n, f, i, j] * (that receptive field)` to `dw[f]`,
# - adds `dout[n, f, i, j] * w[f]` to the receptive field's pixels in `dx` (fields
#   overlap when `S` is smaller than the filter: the contributions add up),
# - adds `dout[n, f, i, j]` to `db[f]`.
#
# Accumulate `dx` on the padded input and cut the border off at the end (the padding
# zeros are constants, not inputs). Return each gradient in the dtype of the array it
# belongs to.
#
# The test compares your gradients with numerical ones (centered differences). All
# arrays are float64 there: with float32 the differences would be swamped by rounding.

# %% nbgrader={"grade": false, "grade_id": "answer_conv_backward_naive", "locked": false, "schema_version": 3, "solution": true, "task": false}
def conv_backward_naive(dout, cache):
    """Backward pass of a convolutional layer, with loops.

    Parameters
    ----------
    dout : ndarray, shape (N, F, H', W')
        Gradient of the loss with respect to the output.
    cache : anything
        What conv_forward_naive returned as its cache.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W), dtype of x
    dw : ndarray, shape (F, C, HH, WW), dtype of w
    db : ndarray, shape (F,), dtype of b
    """
    ### BEGIN SOLUTION
    x, w, b, conv_param = cache
    S, P, D = conv_param["stride"], conv_param["pad"], conv_param["dilation"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    x_padded = zero_pad(x, P)
    dx_padded = np.zeros(x_padded.shape, dtype=np.result_type(x, w, dout))
    dw = np.zeros(w.shape, dtype=np.result_type(x, w, dout))
    for i in range(H_out):
        rows = slice(i * S, i * S + D * (HH - 1) + 1, D)
        for j in range(W_out):
            cols = slice(j * S, j * S + D * (WW - 1) + 1, D)
            g = dout[:, :, i, j]                                   # (N, F)
            dw += np.tensordot(g, x_padded[:, :, rows, cols], axes=([0], [0]))
            dx_padded[:, :, rows, cols] += np.tensordot(g, w, axes=([1], [0]))
    dx = dx_padded[:, :, P:P + H, P:P + W]
    db = dout.sum(axis=(0, 2, 3))
    return dx.astype(x.dtype), dw.astype(w.dtype), db.astype(b.dtype)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_conv_backward_naive", "locked": true, "points": 7, "schema_version": 3, "solution": false, "task": false}
def gradient_check_conv(x, w, b, conv_param, seed=0):
    """Compare conv_backward_naive with numerical gradients of sum(out * dout)."""
    out, cache = conv_forward_naive(x, w, b, conv_param)
    N, _, H, W = x.shape
    F, _, HH, WW = w.shape
    S, P = conv_param["stride"], conv_param["pad"]
    check_shape(out, (N, F, (H + 2 * P - HH) // S + 1, (W + 2 * P - WW) // S + 1),
                f"output for x {x.shape}, w {w.shape}, {conv_param}")
    dout = np.random.default_rng(seed).standard_normal(out.shape)
    dx, dw, db = conv_backward_naive(dout, cache)
    dx_num = eval_numerical_gradient_array(
        lambda v: conv_forward_naive(v, w, b, conv_param)[0], x.copy(), dout)
    dw_num = eval_numerical_gradient_array(
        lambda v: conv_forward_naive(x, v, b, conv_param)[0], w.copy(), dout)
    db_num = eval_numerical_gradient_array(
        lambda v: conv_forward_naive(x, w, v, conv_param)[0], b.copy(), dout)
    label = f"x {x.shape}, w {w.shape}, {conv_param}"
    check_gradient(dx_num, dx, f"dx ({label})")
    check_gradient(dw_num, dw, f"dw ({label})")
    check_gradient(db_num, db, f"db ({label})")


rng_visible = np.random.default_rng(1)
gradient_check_conv(rng_visible.standard_normal((2, 3, 5, 5)),
                    rng_visible.standard_normal((3, 3, 3, 3)),
                    rng_visible.standard_normal(3), {"stride": 1, "pad": 1})
gradient_check_conv(rng_visible.standard_normal((1, 2, 7, 6)),
                    rng_visible.standard_normal((2, 2, 3, 2)),
                    rng_visible.standard_normal(2), {"stride": 2, "pad": 1})
# Each gradient has the dtype of its array.
_, cache = conv_forward_naive(np.ones((1, 2, 4, 4), np.float32), np.ones((3, 2, 3, 3), np.float32),
                              np.zeros(3, np.float32), {"stride": 1, "pad": 1})
dx, dw, db = conv_backward_naive(np.ones((1, 3, 4, 4), np.float32), cache)
for name, grad in (("dx", dx), ("dw", dw), ("db", db)):
    check_equal(str(grad.dtype), "float32", f"dtype of {name} for float32 inputs")
### BEGIN HIDDEN TESTS
import convnets as ref

with hidden_checks("test_conv_backward_naive") as rng:
    def random_conv_case(rng, max_dilation=1, dtype=np.float64):
        """Random valid shapes: strides 1-3, pads 0-2, non-square inputs and filters."""
        while True:
            N, C, F = (int(v) for v in rng.integers(1, 4, size=3))
            HH, WW = (int(v) for v in rng.integers(1, 5, size=2))
            S, P = int(rng.integers(1, 4)), int(rng.integers(0, 3))
            D = int(rng.integers(1, max_dilation + 1))
            H_out, W_out = (int(v) for v in rng.integers(1, 5, size=2))
            H = (H_out - 1) * S + D * (HH - 1) + 1 - 2 * P
            W = (W_out - 1) * S + D * (WW - 1) + 1 - 2 * P
            if H >= 1 and W >= 1:
                break
        x = rng.standard_normal((N, C, H, W)).astype(dtype)
        w = rng.standard_normal((F, C, HH, WW)).astype(dtype)
        b = rng.standard_normal(F).astype(dtype)
        return x, w, b, {"stride": S, "pad": P, "dilation": D}


    # Fresh random inputs and upstream gradients; the student's gradients against the
    # reference package's (number, type, shape and dtype first, then the values).
    for _ in range(10):
        x, w, b, p = random_conv_case(rng)
        del p["dilation"]
        out, ref_cache = ref.conv_forward_naive(x, w, b, p)
        dout = rng.standard_normal(out.shape)
        expected = ref.conv_backward_naive(dout, ref_cache)
        _, cache = conv_forward_naive(x, w, b, p)
        check_gradients(conv_backward_naive(dout, cache), expected,
                        f"x {x.shape}, w {w.shape}, {p}", names=("dx", "dw", "db"))
    x, w, b, p = random_conv_case(rng, dtype=np.float32)
    out, ref_cache = ref.conv_forward_naive(x, w, b, p)
    dout = rng.standard_normal(out.shape).astype(np.float32)
    _, cache = conv_forward_naive(x, w, b, p)
    check_gradients(conv_backward_naive(dout, cache), ref.conv_backward_naive(dout, ref_cache),
                    f"float32, x {x.shape}, w {w.shape}", names=("dx", "dw", "db"),
                    rtol=1e-4, atol=1e-4)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "question_shared_gradient", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Question (3 points).** AlexNet's first layer in the notes: a 227x227x3 input, 96
# filters of 11x11x3, stride 4, no padding. (a) How many parameters would it have if
# every neuron of its output volume had its own weights and bias, and how many does it
# have with parameter sharing? (b) For one image, how many per-position contributions
# does your `conv_backward_naive` add up into each `dw[f]`, and why is their sum the
# right gradient for a shared weight?
#
# Answer in the cell below, in a few sentences, with the numbers.

# %% [markdown] nbgrader={"grade": true, "grade_id": "written_shared_gradient", "locked": false, "points": 3, "schema_version": 3, "solution": true, "task": false}
# ### BEGIN SOLUTION
# The output volume is 55x55x96 (`(227 - 11)/4 + 1 = 55`): 290,400 neurons, each with
# 11\*11\*3 = 363 weights and 1 bias. Without sharing that is 290,400 \* 364 =
# 105,705,600 parameters. With sharing, the 55\*55 neurons of a depth slice use one
# filter: 96 \* 363 = 34,848 weights plus 96 biases, 34,944 parameters (3025 times
# fewer).
#
# In the backward pass every position `(i, j)` of depth slice `f` adds `dout[n, f, i,
# j]` times its receptive field to `dw[f]` (and `dout[n, f, i, j]` to `db[f]`): 55\*55 =
# 3025 contributions per image (N \* 3025 for a batch). The weight is used at all 3025
# positions, so the loss depends on it through all of those outputs, and the chain rule
# sums the gradients along every path: the gradients of the neurons of a slice are added
# up into one update, as the notes say.
#
# ### BEGIN RUBRIC
# Full (3): 105,705,600 without sharing and 34,944 with (34,848 weights + 96 biases);
# 3025 = 55\*55 contributions per image, summed because one weight is used at every
# position (chain rule). Numbers as `conv_layer_counts` in assignment 5 and
# `convnets.Conv(96, 11, stride=4).counts((3, 227, 227))` give them.
# Partial (1-2): one parameter count right; or the 3025 contributions with the reason
# for the sum but wrong counts.
# Zero: no correct count and no reason for adding up the contributions.
# ### END RUBRIC
# ### END SOLUTION

# %% [markdown]
# ## 5. The notes' numpy example
#
# The notes write an input volume as `X` of shape `(11, 11, 4)` indexed `X[x, y, depth]`
# (depth last), use two filters `W0`, `W1` of shape `(5, 5, 4)` with biases `b0`, `b1`,
# `F = 5`, `S = 2`, `P = 0`, and compute some entries of the output volume `V` (shape
# `(4, 4, 2)`, depth last) by hand, for example
#
# - `V[0,0,0] = np.sum(X[:5,:5,:] * W0) + b0`
# - `V[1,0,0] = np.sum(X[2:7,:5,:] * W0) + b0`
# - `V[2,3,1] = np.sum(X[4:9,6:11,:] * W1) + b1`
#
# Compute the whole `V` with **your layer**: move the depth axis to the front (NCHW), run
# `conv_forward_naive`, and move it back. The test checks the entries the notes list.

# %% nbgrader={"grade": false, "grade_id": "answer_notes_example_volume", "locked": false, "schema_version": 3, "solution": true, "task": false}
def notes_example_volume(X, W0, b0, W1, b1):
    """The notes' example, computed with conv_forward_naive.

    Parameters
    ----------
    X : ndarray, shape (11, 11, 4)
        Input volume, depth last (`X[x, y, d]`).
    W0, W1 : ndarray, shape (5, 5, 4)
        The two filters, depth last.
    b0, b1 : float
        Their biases.

    Returns
    -------
    V : ndarray, shape (4, 4, 2)
        The output volume, depth last: `V[x, y, d]`, with `F = 5, S = 2, P = 0`.
    """
    ### BEGIN SOLUTION
    x = X.transpose(2, 0, 1)[None]                     # (1, 4, 11, 11)
    w = np.stack([W0, W1]).transpose(0, 3, 1, 2)       # (2, 4, 5, 5)
    b = np.array([b0, b1], dtype=np.float64)
    out, _ = conv_forward_naive(x, w, b, {"stride": 2, "pad": 0})
    return out[0].transpose(1, 2, 0)                   # (4, 4, 2)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_notes_example_volume", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
rng_visible = np.random.default_rng(11)
X = rng_visible.standard_normal((11, 11, 4))
W0, W1 = rng_visible.standard_normal((2, 5, 5, 4))
b0, b1 = 0.5, -1.5
V = notes_example_volume(X, W0, b0, W1, b1)
check_shape(V, (4, 4, 2), "V")
listed = {
    (0, 0, 0): np.sum(X[:5, :5, :] * W0) + b0,
    (1, 0, 0): np.sum(X[2:7, :5, :] * W0) + b0,
    (2, 0, 0): np.sum(X[4:9, :5, :] * W0) + b0,
    (3, 0, 0): np.sum(X[6:11, :5, :] * W0) + b0,
    (0, 0, 1): np.sum(X[:5, :5, :] * W1) + b1,
    (1, 0, 1): np.sum(X[2:7, :5, :] * W1) + b1,
    (2, 0, 1): np.sum(X[4:9, :5, :] * W1) + b1,
    (3, 0, 1): np.sum(X[6:11, :5, :] * W1) + b1,
    (0, 1, 1): np.sum(X[:5, 2:7, :] * W1) + b1,
    (2, 3, 1): np.sum(X[4:9, 6:11, :] * W1) + b1,
}
for index, value in listed.items():
    check_close(V[index], value, f"V{list(index)}")
### BEGIN HIDDEN TESTS
import convnets as ref

with hidden_checks("test_notes_example_volume") as rng:
    X = rng.standard_normal((11, 11, 4))
    W0, W1 = rng.standard_normal((2, 5, 5, 4))
    b0, b1 = (float(v) for v in rng.standard_normal(2))
    V = notes_example_volume(X, W0, b0, W1, b1)
    expected = ref.conv_forward_naive(X.transpose(2, 0, 1)[None],
                                      np.stack([W0, W1]).transpose(0, 3, 1, 2),
                                      np.array([b0, b1]), {"stride": 2, "pad": 0})[0]
    check_close(V, expected[0].transpose(1, 2, 0), "the whole volume V")
    for i in range(4):
        for j in range(4):
            for d, (Wd, bd) in enumerate(((W0, b0), (W1, b1))):
                check_close(V[i, j, d], np.sum(X[2 * i:2 * i + 5, 2 * j:2 * j + 5, :] * Wd) + bd,
                            f"V[{i},{j},{d}]")
### END HIDDEN TESTS

# %% [markdown]
# ## 6. Dilated filters
#
# Your layer already takes `conv_param['dilation']`. In one dimension, a 3-tap filter
# with `dilation=2` computes `w[0]*x[0] + w[1]*x[2] + w[2]*x[4]`: this is what the
# notes call "dilation 1" (they count the gap of one pixel between taps; we count the
# distance between taps, so that `dilation=1` is the ordinary filter, as in PyTorch).
#
# Why bother? Two stacked 3x3 layers see a 5x5 patch of the input (each output of the
# second layer depends on a 3x3 block of the first, each of which depends on a 3x3 block
# of the input). With dilated filters the patch grows much faster for the same number
# of weights: a 3x3 layer with dilation 2 on top of an ordinary 3x3 layer already sees
# 7x7.
#
# The test checks the 1-D case from the notes and the gradients of a dilated layer.
# There is nothing new to write if your forward and backward passes follow
# `conv_param['dilation']`; if they don't yet, go back and add it.

# %% nbgrader={"grade": true, "grade_id": "test_dilation", "locked": true, "points": 5, "schema_version": 3, "solution": false, "task": false}
x_row = np.array([3.0, -1.0, 4.0, 1.0, -5.0, 9.0, 2.0])
w_taps = np.array([2.0, -3.0, 0.5])
x = x_row.reshape(1, 1, 1, 7)
w = w_taps.reshape(1, 1, 1, 3)
out, _ = conv_forward_naive(x, w, np.zeros(1), {"stride": 1, "pad": 0, "dilation": 2})
check_shape(out, (1, 1, 1, 3), "output of a 3-tap filter with dilation 2 on 7 pixels")
expected = [w_taps @ x_row[k:k + 5:2] for k in range(3)]
check_close(out[0, 0, 0, 0], w_taps[0] * x_row[0] + w_taps[1] * x_row[2] + w_taps[2] * x_row[4],
            "w[0]*x[0] + w[1]*x[2] + w[2]*x[4]")
check_close(out.ravel(), expected, "the three outputs of the dilated filter")
out, _ = conv_forward_naive(x, w, np.zeros(1), {"stride": 1, "pad": 0, "dilation": 1})
check_close(out[0, 0, 0, 0], w_taps @ x_row[:3], "dilation=1 is contiguous")
# A dilated 2-D layer: shape and gradients.
rng_visible = np.random.default_rng(7)
x = rng_visible.standard_normal((2, 2, 7, 6))
w = rng_visible.standard_normal((3, 2, 3, 2))
b = rng_visible.standard_normal(3)
p = {"stride": 1, "pad": 1, "dilation": 2}
out, cache = conv_forward_naive(x, w, b, p)
check_shape(out, (2, 3, 5, 6), "7x6 input, 3x2 filters, dilation 2, pad 1")
dout = rng_visible.standard_normal(out.shape)
dx, dw, db = conv_backward_naive(dout, cache)
check_gradient(eval_numerical_gradient_array(lambda v: conv_forward_naive(v, w, b, p)[0],
                                             x.copy(), dout), dx, "dx with dilation 2")
check_gradient(eval_numerical_gradient_array(lambda v: conv_forward_naive(x, v, b, p)[0],
                                             w.copy(), dout), dw, "dw with dilation 2")
check_raises(ValueError, conv_forward_naive, np.ones((1, 1, 8, 8)), np.ones((1, 1, 3, 3)),
             np.zeros(1), {"stride": 2, "pad": 0, "dilation": 2}, match="is not an integer",
             what="dilation 2 with W=8, F=3, S=2")
### BEGIN HIDDEN TESTS
import convnets as ref

with hidden_checks("test_dilation") as rng:
    def random_conv_case(rng, max_dilation=1, dtype=np.float64):
        """Random valid shapes: strides 1-3, pads 0-2, non-square inputs and filters."""
        while True:
            N, C, F = (int(v) for v in rng.integers(1, 4, size=3))
            HH, WW = (int(v) for v in rng.integers(1, 5, size=2))
            S, P = int(rng.integers(1, 4)), int(rng.integers(0, 3))
            D = int(rng.integers(1, max_dilation + 1))
            H_out, W_out = (int(v) for v in rng.integers(1, 5, size=2))
            H = (H_out - 1) * S + D * (HH - 1) + 1 - 2 * P
            W = (W_out - 1) * S + D * (WW - 1) + 1 - 2 * P
            if H >= 1 and W >= 1:
                break
        x = rng.standard_normal((N, C, H, W)).astype(dtype)
        w = rng.standard_normal((F, C, HH, WW)).astype(dtype)
        b = rng.standard_normal(F).astype(dtype)
        return x, w, b, {"stride": S, "pad": P, "dilation": D}


    for _ in range(10):
        x, w, b, p = random_conv_case(rng, max_dilation=3)
        label = f"x {x.shape}, w {w.shape}, {p}"
        out, ref_cache = ref.conv_forward_naive(x, w, b, p)
        mine, cache = conv_forward_naive(x, w, b, p)
        check_close(mine, out, f"output ({label})")
        dout = rng.standard_normal(out.shape)
        check_gradients(conv_backward_naive(dout, cache), ref.conv_backward_naive(dout, ref_cache),
                        label, names=("dx", "dw", "db"))
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "question_dilation", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Question (3 points).** (a) How many pixels along each axis does a 3x3 filter with
# `dilation=2` span, and how many weights does it have per input channel? (b) What is
# the receptive field (in input pixels) of a neuron at the top of three stacked 3x3 CONV
# layers with stride 1 when all three are contiguous, and when their dilations are 1, 2
# and 4 (our counting: 1 = contiguous)? (c) The notes call our `dilation=2` "dilation
# 1": why?
#
# Answer in the cell below, in a few sentences, with the numbers.

# %% [markdown] nbgrader={"grade": true, "grade_id": "written_dilation", "locked": false, "points": 3, "schema_version": 3, "solution": true, "task": false}
# ### BEGIN SOLUTION
# (a) The taps are 2 pixels apart, so the filter spans `D(F - 1) + 1 = 2*2 + 1 = 5`
# pixels along each axis (a 5x5 patch) but still has 3\*3 = 9 weights per channel: that
# is what makes dilation cheap.
#
# (b) A stride-1 layer adds `D(F - 1)` pixels to the receptive field. Three contiguous
# layers give 3, 5, 7: a 7x7 field. With dilations 1, 2 and 4 they give 3, 3 + 4 = 7, 7
# + 8 = 15: a 15x15 field with exactly the same weights, and the gap grows with every
# further layer (the field grows exponentially with depth instead of linearly).
#
# (c) The notes count the gap between taps (contiguous = dilation 0, one skipped pixel =
# dilation 1); we count the distance between taps, as PyTorch does, so the notes'
# dilation d is our `dilation = d + 1`.
#
# ### BEGIN RUBRIC
# Full (3): 5 pixels with 9 weights per channel; 7x7 against 15x15 (3, 5, 7 and 3, 7,
# 15, as `convnets.receptive_field([(3, 1, 1), (3, 1, 2), (3, 1, 4)])` gives); the
# off-by-one between counting gaps and counting distances.
# Partial (1-2): two of the three parts right.
# Zero: none of the parts right.
# ### END RUBRIC
# ### END SOLUTION

# %% [markdown]
# ## Summary
#
# - Along each axis a conv layer has `(W - F + 2P)/S + 1` outputs; a setting where this
#   is not a whole number is invalid, and raising says so instead of silently cropping.
# - The forward pass is one dot product per output position and filter; the backward
#   pass sends each upstream gradient back along the same connections, into `dw`
#   (weighted by the input) and into `dx` (weighted by the filter), where overlapping
#   receptive fields add up.
# - Dilation spaces the taps out: the filter spans `D*(F - 1) + 1` pixels with the same
#   number of weights.
#
# Next, assignment 2 computes the same layer with one matrix multiply (im2col).
