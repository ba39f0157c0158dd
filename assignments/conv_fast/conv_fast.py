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
# # Assignment 2: the convolutional layer as one matrix multiply
#
# A convolution is a large number of dot products between the filters and the receptive
# fields of the input. Assignment 1 computed them one position at a time. Here you
# rearrange the input so that **all of them are one matrix multiply**, which NumPy hands
# to an optimised BLAS library:
#
# 1. **im2col** stretches every receptive field into a column of a matrix `X_col`;
# 2. the filters, flattened, are the rows of `W_row`;
# 3. `W_row @ X_col` holds every filter's response at every position; a reshape gives
#    the output volume.
#
# The backward pass is two more matrix multiplies and **col2im**, which adds each column
# back onto the pixels it was copied from. At the end you time the matrix multiply
# against the same dot products done one by one in Python, and look at 1x1 convolutions.
#
# Conventions as in assignment 1: NCHW arrays (`x` is `(N, C, H, W)`, `w` is
# `(F, C, HH, WW)`, `b` is `(F,)`), cross-correlation, `conv_param = {'stride': S,
# 'pad': P, 'dilation': D}` (dilation optional, 1 = contiguous), forward passes return
# `(out, cache)` and backward passes take `(dout, cache)`, and a setting that does not fit
# raises `ValueError` with a message ending in `is not an integer`. NumPy only.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import time

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

# What a correct convolution gives on a few fixed inputs: arrays stored in
# conv_fast_expected.npz (next to this notebook) when the course was built. The tests
# compare your fast layer with them.
with np.load("conv_fast_expected.npz") as stored:
    stored_arrays = {key: stored[key] for key in stored.files}


def stored_case(case):
    """One stored case as a dict: its inputs `x`, `w`, `b`, its `conv_param`, and the
    expected `out` (plus `dout` and the expected `dx`, `dw`, `db` for backward cases)."""
    found = {key[len(case) + 1:]: value for key, value in stored_arrays.items()
             if key.startswith(case + "_")}
    S, P, D = (int(v) for v in found.pop("param"))
    found["conv_param"] = {"stride": S, "pad": P}
    if D != 1:
        found["conv_param"]["dilation"] = D
    return found


# %% [markdown]
# ## 1. im2col
#
# `im2col(x, HH, WW, stride, pad, dilation)` returns the matrix `X_col` of shape
# `(C*HH*WW, N*H'*W')` with **one column per receptive field** and **one row per filter
# tap**, in this exact layout (the tests rely on it):
#
# - row `c*HH*WW + kh*WW + kw` holds tap `(kh, kw)` of channel `c`: the same order as
#   `w[f].ravel()`, so a flattened filter lines up with a column;
# - column `n*H'*W' + i*W' + j` is the receptive field of output `(i, j)` of image `n`;
# - so `X_col[c*HH*WW + kh*WW + kw, n*H'*W' + i*W' + j] = xpad[n, c, i*S + kh*D, j*S + kw*D]`.
#
# The notes' example: a 227x227x3 image and 11x11x3 filters at stride 4 give 55x55 =
# 3025 positions and 11\*11\*3 = 363 numbers per field, so `X_col` is 363 x 3025.
#
# *Hint.* Loop over the taps `(kh, kw)`, not over the positions: for a fixed tap, the
# pixels it sees at all `H' x W'` positions form one strided slice of the padded input,
# `xpad[:, :, kh*D : kh*D + S*(H'-1) + 1 : S, kw*D : kw*D + S*(W'-1) + 1 : S]`. That is
# `HH*WW` slice copies instead of `N*H'*W'` small ones.
#
# **The output size, from assignment 1.** im2col needs `H'` and `W'`: along one axis, a
# filter of `F` taps with dilation `D` spans `D*(F - 1) + 1` pixels, and fits at
# `(W - F + 2P)/S + 1` positions of an input of size `W` padded with `P` zeros, `F` being
# that span; a setting where this is not a whole number, or where the filter is wider
# than the padded input, raises `ValueError` (the first with a message ending in `is
# not an integer`). Copy your `conv_output_size` from assignment 1 to the top of the
# cell below (or write it again): every function of this assignment calls it.
#
# Nothing in this notebook uses assignment 1's layer: the tests compare yours with
# outputs and gradients of a correct convolution on fixed inputs, stored as arrays by the
# course (the setup cell loads them; `stored_case` picks one case).

# %% nbgrader={"grade": false, "grade_id": "answer_im2col", "locked": false, "schema_version": 3, "solution": true, "task": false}
def conv_output_size(W, F, S, P, dilation=1):
    """Number of filter positions along one axis, `(W - F + 2P)/S + 1`, F the filter span
    `dilation*(F - 1) + 1`.

    Raises
    ------
    ValueError
        If the filter is larger than the padded input, or if the result is not a whole
        number (the message then ends with `is not an integer`).
    """
    ### BEGIN SOLUTION
    span = dilation * (F - 1) + 1
    if span > W + 2 * P:
        raise ValueError(f"the filter spans F = {span} pixels, more than the padded input "
                         f"W + 2P = {W} + 2*{P} = {W + 2 * P}")
    room = W - span + 2 * P
    if room % S != 0:
        raise ValueError(f"(W - F + 2P)/S + 1 = ({W} - {span} + {2 * P})/{S} + 1 = "
                         f"{room / S + 1:.4g} is not an integer")
    return room // S + 1
    ### END SOLUTION


def im2col(x, HH, WW, stride=1, pad=0, dilation=1):
    """Stretch every receptive field of `x` into a column.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    HH, WW : int
        Filter height and width (number of taps).
    stride, pad, dilation : int
        As in conv_param.

    Returns
    -------
    X_col : ndarray, shape (C*HH*WW, N*H'*W'), dtype of x
        `X_col[c*HH*WW + kh*WW + kw, n*H'*W' + i*W' + j]
         = xpad[n, c, i*stride + kh*dilation, j*stride + kw*dilation]`,
        where xpad is x with `pad` zeros on each side of both spatial axes.

    Raises
    ------
    ValueError
        If the geometry does not fit (see conv_output_size).
    """
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    S, P, D = stride, pad, dilation
    H_out = conv_output_size(H, HH, S, P, D)
    W_out = conv_output_size(W, WW, S, P, D)
    xp = np.pad(x, ((0, 0), (0, 0), (P, P), (P, P)))
    taps = np.empty((C, HH, WW, N, H_out, W_out), dtype=x.dtype)
    for kh in range(HH):
        rows = slice(kh * D, kh * D + S * (H_out - 1) + 1, S)
        for kw in range(WW):
            cols = slice(kw * D, kw * D + S * (W_out - 1) + 1, S)
            # this tap, at every position of every image: (N, C, H', W') -> (C, N, H', W')
            taps[:, kh, kw] = xp[:, :, rows, cols].transpose(1, 0, 2, 3)
    return taps.reshape(C * HH * WW, N * H_out * W_out)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_im2col", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
# The notes' example: [227x227x3], 11x11x3 filters, stride 4.
X_col = im2col(np.zeros((1, 3, 227, 227)), 11, 11, stride=4)
check_shape(X_col, (363, 3025), "X_col for a 227x227x3 image, 11x11 filters, stride 4")
W_row = np.zeros((96, 3, 11, 11)).reshape(96, -1)
check_shape(W_row, (96, 363), "W_row")
check_shape(W_row @ X_col, (96, 3025), "W_row @ X_col")

# The layout, on two small images of two channels: column n*H'*W' + i*W' + j is the
# receptive field of output (i, j) of image n, flattened like a filter (c, kh, kw).
x = np.arange(2 * 2 * 3 * 4, dtype=np.float64).reshape(2, 2, 3, 4)
X_col = im2col(x, 2, 3, stride=1, pad=0)
check_shape(X_col, (2 * 2 * 3, 2 * 2 * 2), "im2col of (2, 2, 3, 4) with 2x3 filters")
for n in range(2):
    for i in range(2):
        for j in range(2):
            check_close(X_col[:, n * 4 + i * 2 + j], x[n, :, i:i + 2, j:j + 3].ravel(),
                        f"column of image {n}, output ({i}, {j})")
# Padding, stride and dilation: compare with the formula entry by entry.
x = np.arange(1 * 2 * 5 * 5, dtype=np.float64).reshape(1, 2, 5, 5) + 1
xpad = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
X_col = im2col(x, 3, 2, stride=2, pad=1, dilation=2)
check_shape(X_col, (2 * 3 * 2, 1 * 2 * 3), "im2col with stride 2, pad 1, dilation 2")
expected = np.array([[xpad[0, c, i * 2 + kh * 2, j * 2 + kw * 2]
                      for i in range(2) for j in range(3)]
                     for c in range(2) for kh in range(3) for kw in range(2)])
check_close(X_col, expected, "im2col with stride 2, pad 1, dilation 2")
### BEGIN HIDDEN TESTS
import convnets as ref

with hidden_checks("test_im2col") as rng:
    for _ in range(12):
        while True:
            N, C = (int(v) for v in rng.integers(1, 4, size=2))
            HH, WW = (int(v) for v in rng.integers(1, 5, size=2))
            S, P, D = int(rng.integers(1, 4)), int(rng.integers(0, 3)), int(rng.integers(1, 3))
            H_out, W_out = (int(v) for v in rng.integers(1, 5, size=2))
            H = (H_out - 1) * S + D * (HH - 1) + 1 - 2 * P
            W = (W_out - 1) * S + D * (WW - 1) + 1 - 2 * P
            if H >= 1 and W >= 1:
                break
        x = rng.standard_normal((N, C, H, W))
        check_close(im2col(x, HH, WW, stride=S, pad=P, dilation=D),
                    ref.im2col(x, HH, WW, stride=S, pad=P, dilation=D),
                    f"im2col of {x.shape}, filter {HH}x{WW}, stride {S}, pad {P}, dilation {D}")
    x = rng.standard_normal((2, 3, 6, 5)).astype(np.float32)
    check_equal(str(im2col(x, 3, 3, 1, 1).dtype), "float32", "im2col keeps float32")
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "question_im2col_memory", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Question (3 points).** For the notes' example (a 227x227x3 image, 11x11x3 filters,
# stride 4), how many numbers does `X_col` hold, and how many does the image hold?
# Explain the ratio: in how many columns can one pixel appear, and why? What does the
# layer gain in exchange for this memory?
#
# Answer in the cell below, in a few sentences, with the numbers.

# %% [markdown] nbgrader={"grade": true, "grade_id": "written_im2col_memory", "locked": false, "points": 3, "schema_version": 3, "solution": true, "task": false}
# ### BEGIN SOLUTION
# `X_col` is 363 x 3025: 1,098,075 numbers, against 227\*227\*3 = 154,587 in the image,
# about 7.1 times more (4.19 MiB instead of 604 KiB in float32).
#
# The windows are 11 pixels wide but only 4 apart, so they overlap: along one axis a
# pixel lies in up to 3 windows (11/4 rounded up), so in up to 3 x 3 = 9 columns; pixels
# near the border appear in fewer (a corner in 1), and on average each pixel is copied
# 7.1 times. In exchange the whole forward pass is one matrix multiply, `W_row (96 x
# 363) @ X_col (363 x 3025)`, which an optimised BLAS routine computes far faster than
# millions of small dot products in loops.
#
# ### BEGIN RUBRIC
# Full (3): 1,098,075 against 154,587 (about 7.1x); overlapping windows (F = 11 > S = 4)
# with up to 9 copies of a pixel; the payoff: one large matrix multiply (GEMM/BLAS).
# Counts from `convnets.im2col(np.zeros((1, 3, 227, 227)), 11, 11, stride=4)`.
# Partial (1-2): the counts right without the overlap explained, or the overlap and the
# GEMM payoff explained without the counts.
# Zero: no correct count and no reason.
# ### END RUBRIC
# ### END SOLUTION

# %% [markdown]
# ## 2. col2im
#
# `col2im(cols, x_shape, HH, WW, stride, pad, dilation)` goes the other way: it adds every
# entry of `cols` (same layout as `X_col`) onto the input pixel it was copied from, and
# drops the padding. Where receptive fields overlap, a pixel appears in several columns,
# and it receives **the sum** of all of them. So `col2im(im2col(x))` is not `x` in
# general; col2im is the *transpose* (adjoint) of im2col, which is exactly what the
# backward pass needs: `<im2col(x), c> = <x, col2im(c)>` for any `x` and `c`.
#
# *Hint.* The same loop over taps as in im2col, with `+=` into a zero array of the padded
# shape.

# %% nbgrader={"grade": false, "grade_id": "answer_col2im", "locked": false, "schema_version": 3, "solution": true, "task": false}
def col2im(cols, x_shape, HH, WW, stride=1, pad=0, dilation=1):
    """Add the columns of an im2col matrix back onto the pixels they came from.

    Parameters
    ----------
    cols : ndarray, shape (C*HH*WW, N*H'*W')
        In im2col's layout.
    x_shape : tuple (N, C, H, W)
        Shape of the array im2col was applied to.
    HH, WW, stride, pad, dilation : int
        The same geometry as for im2col.

    Returns
    -------
    x : ndarray, shape (N, C, H, W), dtype of cols
        `x[n, c, p, q]` is the sum of every entry of `cols` that im2col copied from pixel
        `(p, q)` of channel `c` of image `n` (entries from the padding are dropped).

    Raises
    ------
    ValueError
        If the geometry does not fit (see conv_output_size).
    """
    ### BEGIN SOLUTION
    N, C, H, W = x_shape
    S, P, D = stride, pad, dilation
    H_out = conv_output_size(H, HH, S, P, D)
    W_out = conv_output_size(W, WW, S, P, D)
    taps = cols.reshape(C, HH, WW, N, H_out, W_out)
    xp = np.zeros((N, C, H + 2 * P, W + 2 * P), dtype=cols.dtype)
    for kh in range(HH):
        rows = slice(kh * D, kh * D + S * (H_out - 1) + 1, S)
        for kw in range(WW):
            columns = slice(kw * D, kw * D + S * (W_out - 1) + 1, S)
            xp[:, :, rows, columns] += taps[:, kh, kw].transpose(1, 0, 2, 3)
    return xp[:, :, P:P + H, P:P + W]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_col2im", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
# Fields that tile the image exactly (stride = filter size, no padding): col2im undoes im2col.
x = np.random.default_rng(2).standard_normal((2, 3, 4, 6))
check_close(col2im(im2col(x, 2, 2, stride=2, pad=0), x.shape, 2, 2, stride=2, pad=0), x,
            "col2im(im2col(x)) for non-overlapping 2x2 fields")
# Overlapping fields: col2im of all-ones columns counts how many fields cover each pixel.
counts = col2im(np.ones((1 * 3 * 3, 2 * 2)), (1, 1, 4, 4), 3, 3, stride=1, pad=0)
check_close(counts[0, 0], [[1, 2, 2, 1], [2, 4, 4, 2], [2, 4, 4, 2], [1, 2, 2, 1]],
            "how often each pixel of a 4x4 image is in a 3x3 field")
# col2im is the adjoint of im2col: <im2col(x), c> == <x, col2im(c)>.
rng_visible = np.random.default_rng(3)
for shape, HH, WW, S, P, D in [((2, 3, 5, 5), 3, 3, 1, 1, 1), ((1, 2, 7, 6), 3, 2, 2, 1, 1),
                               ((2, 2, 6, 7), 2, 3, 1, 0, 2)]:
    x = rng_visible.standard_normal(shape)
    X_col = im2col(x, HH, WW, S, P, D)
    H_out = (shape[2] + 2 * P - D * (HH - 1) - 1) // S + 1
    W_out = (shape[3] + 2 * P - D * (WW - 1) - 1) // S + 1
    check_shape(X_col, (shape[1] * HH * WW, shape[0] * H_out * W_out), f"im2col of {shape}")
    c = rng_visible.standard_normal(X_col.shape)
    back = col2im(c, shape, HH, WW, S, P, D)
    check_shape(back, shape, f"col2im to {shape}")
    check_close(np.sum(back * x), np.sum(X_col * c),
                f"<x, col2im(c)> == <im2col(x), c> for {shape}, {HH}x{WW}, S={S}, P={P}, D={D}")
### BEGIN HIDDEN TESTS
import convnets as ref

with hidden_checks("test_col2im") as rng:
    for _ in range(12):
        while True:
            N, C = (int(v) for v in rng.integers(1, 4, size=2))
            HH, WW = (int(v) for v in rng.integers(1, 5, size=2))
            S, P, D = int(rng.integers(1, 4)), int(rng.integers(0, 3)), int(rng.integers(1, 3))
            H_out, W_out = (int(v) for v in rng.integers(1, 5, size=2))
            H = (H_out - 1) * S + D * (HH - 1) + 1 - 2 * P
            W = (W_out - 1) * S + D * (WW - 1) + 1 - 2 * P
            if H >= 1 and W >= 1:
                break
        cols = rng.standard_normal((C * HH * WW, N * H_out * W_out))
        check_close(col2im(cols, (N, C, H, W), HH, WW, stride=S, pad=P, dilation=D),
                    ref.col2im(cols, (N, C, H, W), HH, WW, stride=S, pad=P, dilation=D),
                    f"col2im to {(N, C, H, W)}, filter {HH}x{WW}, stride {S}, pad {P}, "
                    f"dilation {D}")
### END HIDDEN TESTS

# %% [markdown]
# ## 3. The forward pass as one matrix multiply
#
# With `X_col = im2col(x, ...)` of shape `(C*HH*WW, N*H'*W')` and `W_row = w.reshape(F, -1)`
# of shape `(F, C*HH*WW)`, the product `W_row @ X_col` is `(F, N*H'*W')`: row `f`, column
# `n*H'*W' + i*W' + j` is filter `f` at output `(i, j)` of image `n`. Add the biases,
# reshape to `(F, N, H', W')` and move the filter axis to get `(N, F, H', W')`.
#
# Keep `X_col` in the cache: the backward pass needs it for `dw`. (That is the price of
# the method: `X_col` holds `HH*WW/S^2` copies of each input pixel.) The output dtype is
# `np.result_type(x, w)` as before.

# %% nbgrader={"grade": false, "grade_id": "answer_conv_forward_fast", "locked": false, "schema_version": 3, "solution": true, "task": false}
def conv_forward_fast(x, w, b, conv_param):
    """Forward pass of a convolutional layer: im2col and one matrix multiply.

    Same inputs, outputs and errors as conv_forward_naive.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    w : ndarray, shape (F, C, HH, WW)
    b : ndarray, shape (F,)
    conv_param : dict
        'stride', 'pad', optional 'dilation' (default 1).

    Returns
    -------
    out : ndarray, shape (N, F, H', W'), dtype np.result_type(x, w)
    cache : anything
        What conv_backward_fast needs (X_col among it).
    """
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    S, P = conv_param["stride"], conv_param["pad"]
    D = conv_param.get("dilation", 1)
    H_out = conv_output_size(H, HH, S, P, D)
    W_out = conv_output_size(W, WW, S, P, D)
    X_col = im2col(x, HH, WW, S, P, D)                   # (C*HH*WW, N*H'*W')
    W_row = w.reshape(F, C * HH * WW)                    # (F, C*HH*WW)
    scores = W_row @ X_col + b.reshape(F, 1)             # (F, N*H'*W')
    out = scores.reshape(F, N, H_out, W_out).transpose(1, 0, 2, 3)
    out = np.ascontiguousarray(out, dtype=np.result_type(x, w))
    cache = (x.shape, w, b, (S, P, D), X_col)
    return out, cache
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_conv_forward_fast", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
for case in ("forward0", "forward1", "forward2", "forward3"):
    c = stored_case(case)
    check_close(conv_forward_fast(c["x"], c["w"], c["b"], c["conv_param"])[0], c["out"],
                f"conv_forward_fast vs the expected output, x {c['x'].shape}, "
                f"w {c['w'].shape}, {c['conv_param']}")
# The notes' AlexNet layer: [227x227x3] -> 96 filters 11x11, stride 4 -> [55x55x96].
out, _ = conv_forward_fast(np.zeros((1, 3, 227, 227)), np.zeros((96, 3, 11, 11)), np.ones(96),
                           {"stride": 4, "pad": 0})
check_shape(out, (1, 96, 55, 55), "AlexNet's first layer")
check_close(out, np.ones((1, 96, 55, 55)), "AlexNet's first layer on a black image: the biases")
out, _ = conv_forward_fast(np.ones((1, 2, 5, 5), np.float32), np.ones((3, 2, 3, 3), np.float32),
                           np.zeros(3, np.float32), {"stride": 1, "pad": 1})
check_equal(str(out.dtype), "float32", "dtype of the output for float32 inputs")
### BEGIN HIDDEN TESTS
import convnets as ref

with hidden_checks("test_conv_forward_fast") as rng:
    for k in range(12):
        while True:
            N, C, F = (int(v) for v in rng.integers(1, 4, size=3))
            HH, WW = (int(v) for v in rng.integers(1, 5, size=2))
            S, P, D = int(rng.integers(1, 4)), int(rng.integers(0, 3)), int(rng.integers(1, 3))
            H_out, W_out = (int(v) for v in rng.integers(1, 6, size=2))
            H = (H_out - 1) * S + D * (HH - 1) + 1 - 2 * P
            W = (W_out - 1) * S + D * (WW - 1) + 1 - 2 * P
            if H >= 1 and W >= 1:
                break
        dtype = np.float32 if k == 0 else np.float64
        x = rng.standard_normal((N, C, H, W)).astype(dtype)
        w = rng.standard_normal((F, C, HH, WW)).astype(dtype)
        b = rng.standard_normal(F).astype(dtype)
        p = {"stride": S, "pad": P, "dilation": D}
        out = conv_forward_fast(x, w, b, p)[0]
        expected = ref.conv_forward_fast(x, w, b, p)[0]
        label = f"conv_forward_fast, x {x.shape} {x.dtype}, w {w.shape}, {p}"
        if dtype == np.float32:
            check_equal(str(out.dtype), "float32", f"dtype ({label})")
            check_close(out, expected, label, rtol=1e-4, atol=1e-5)
        else:
            check_close(out, expected, label)
### END HIDDEN TESTS

# %% [markdown]
# ## 4. The backward pass as matrix multiplies
#
# Reshape `dout` to `dout_row` of shape `(F, N*H'*W')`, in the same column order as
# `X_col` (filter axis first). Then
#
# - `dw = dout_row @ X_col.T`, reshaped to `(F, C, HH, WW)`: each filter's gradient is the
#   sum of the receptive fields weighted by its upstream gradients;
# - `dX_col = W_row.T @ dout_row` is the gradient with respect to every column, and
#   `dx = col2im(dX_col, x.shape, ...)` adds the copies of each pixel back together;
# - `db = dout.sum(axis=(0, 2, 3))`.
#
# Return each gradient in the dtype of the array it belongs to.

# %% nbgrader={"grade": false, "grade_id": "answer_conv_backward_fast", "locked": false, "schema_version": 3, "solution": true, "task": false}
def conv_backward_fast(dout, cache):
    """Backward pass of a convolutional layer: two matrix multiplies and col2im.

    Parameters
    ----------
    dout : ndarray, shape (N, F, H', W')
    cache : anything
        From conv_forward_fast.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W), dtype of x
    dw : ndarray, shape (F, C, HH, WW), dtype of w
    db : ndarray, shape (F,), dtype of b
    """
    ### BEGIN SOLUTION
    x_shape, w, b, (S, P, D), X_col = cache
    F, C, HH, WW = w.shape
    dout_row = dout.transpose(1, 0, 2, 3).reshape(F, -1)     # (F, N*H'*W')
    dw = (dout_row @ X_col.T).reshape(w.shape)
    dX_col = w.reshape(F, -1).T @ dout_row                    # (C*HH*WW, N*H'*W')
    dx = col2im(dX_col, x_shape, HH, WW, S, P, D)
    db = dout.sum(axis=(0, 2, 3))
    return dx.astype(X_col.dtype), dw.astype(w.dtype), db.astype(b.dtype)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_conv_backward_fast", "locked": true, "points": 6, "schema_version": 3, "solution": false, "task": false}
def gradient_check_conv_fast(case):
    """Numerical gradients and the stored expected ones against conv_backward_fast."""
    c = stored_case(case)
    x, w, b, conv_param, dout = c["x"], c["w"], c["b"], c["conv_param"], c["dout"]
    out, cache = conv_forward_fast(x, w, b, conv_param)
    check_shape(out, c["out"].shape, f"output for x {x.shape}, w {w.shape}, {conv_param}")
    dx, dw, db = conv_backward_fast(dout, cache)
    label = f"x {x.shape}, w {w.shape}, {conv_param}"
    dx_num = eval_numerical_gradient_array(
        lambda v: conv_forward_fast(v, w, b, conv_param)[0], x.copy(), dout)
    dw_num = eval_numerical_gradient_array(
        lambda v: conv_forward_fast(x, v, b, conv_param)[0], w.copy(), dout)
    db_num = eval_numerical_gradient_array(
        lambda v: conv_forward_fast(x, w, v, conv_param)[0], b.copy(), dout)
    check_gradient(dx_num, dx, f"dx ({label})")
    check_gradient(dw_num, dw, f"dw ({label})")
    check_gradient(db_num, db, f"db ({label})")
    # and the same numbers as the expected gradients
    for name, got in zip(("dx", "dw", "db"), (dx, dw, db)):
        check_close(got, c[name], f"{name} vs the expected gradient ({label})")


for case in ("backward0", "backward1", "backward2"):
    gradient_check_conv_fast(case)
# Each gradient has the dtype of its array.
_, cache = conv_forward_fast(np.ones((1, 2, 4, 4), np.float32), np.ones((3, 2, 3, 3), np.float32),
                             np.zeros(3, np.float32), {"stride": 1, "pad": 1})
dx, dw, db = conv_backward_fast(np.ones((1, 3, 4, 4), np.float32), cache)
for name, grad in (("dx", dx), ("dw", dw), ("db", db)):
    check_equal(str(grad.dtype), "float32", f"dtype of {name} for float32 inputs")
### BEGIN HIDDEN TESTS
import convnets as ref

with hidden_checks("test_conv_backward_fast") as rng:
    for k in range(12):
        while True:
            N, C, F = (int(v) for v in rng.integers(1, 4, size=3))
            HH, WW = (int(v) for v in rng.integers(1, 5, size=2))
            S, P, D = int(rng.integers(1, 4)), int(rng.integers(0, 3)), int(rng.integers(1, 3))
            H_out, W_out = (int(v) for v in rng.integers(1, 6, size=2))
            H = (H_out - 1) * S + D * (HH - 1) + 1 - 2 * P
            W = (W_out - 1) * S + D * (WW - 1) + 1 - 2 * P
            if H >= 1 and W >= 1:
                break
        dtype = np.float32 if k == 0 else np.float64
        x = rng.standard_normal((N, C, H, W)).astype(dtype)
        w = rng.standard_normal((F, C, HH, WW)).astype(dtype)
        b = rng.standard_normal(F).astype(dtype)
        p = {"stride": S, "pad": P, "dilation": D}
        out, ref_cache = ref.conv_forward_fast(x, w, b, p)
        dout = rng.standard_normal(out.shape).astype(dtype)
        expected = ref.conv_backward_fast(dout, ref_cache)
        grads = conv_backward_fast(dout, conv_forward_fast(x, w, b, p)[1])
        label = f"x {x.shape} {x.dtype}, w {w.shape}, {p}"
        tolerance = {"rtol": 1e-4, "atol": 1e-4} if dtype == np.float32 else {}
        check_gradients(grads, expected, label, names=("dx", "dw", "db"), **tolerance)
### END HIDDEN TESTS

# %% [markdown]
# ## 5. Settings that do not fit
#
# im2col, col2im and the fast layer share the output-size rule, so a geometry that does
# not tile the padded input raises the same `ValueError` as assignment 1's layer, with a
# message ending in `is not an integer` (use `conv_output_size` and it does).

# %% nbgrader={"grade": true, "grade_id": "test_fast_invalid_sizes", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_raises(ValueError, im2col, np.ones((1, 1, 10, 10)), 3, 3, 2, 0, match="is not an integer",
             what="im2col with W=10, F=3, S=2, P=0")
check_raises(ValueError, col2im, np.ones((9, 16)), (1, 1, 10, 10), 3, 3, 2, 0,
             match="is not an integer", what="col2im with W=10, F=3, S=2, P=0")
check_raises(ValueError, conv_forward_fast, np.ones((1, 1, 10, 10)), np.ones((1, 1, 3, 3)),
             np.zeros(1), {"stride": 2, "pad": 0}, match="is not an integer",
             what="conv_forward_fast with W=10, F=3, S=2, P=0")
check_raises(ValueError, conv_forward_fast, np.ones((1, 3, 224, 224)), np.ones((2, 3, 11, 11)),
             np.zeros(2), {"stride": 4, "pad": 0}, match="is not an integer",
             what="conv_forward_fast on the paper's 224x224 AlexNet input")
### BEGIN HIDDEN TESTS
import convnets as ref

with hidden_checks("test_fast_invalid_sizes") as rng:
    for _ in range(20):
        H, W = (int(v) for v in rng.integers(3, 14, size=2))
        HH, WW = (int(v) for v in rng.integers(1, 5, size=2))
        S, P, D = int(rng.integers(1, 5)), int(rng.integers(0, 3)), int(rng.integers(1, 3))
        x, w = np.ones((1, 2, H, W)), np.ones((2, 2, HH, WW))
        p = {"stride": S, "pad": P, "dilation": D}
        label = f"conv_forward_fast on x {x.shape}, w {w.shape}, {p}"
        try:
            expected = ref.conv_forward_fast(x, w, np.zeros(2), p)[0]
        except ValueError as err:
            match = "is not an integer" if "is not an integer" in str(err) else None
            check_raises(ValueError, conv_forward_fast, x, w, np.zeros(2), p, match=match,
                         what="conv_forward_fast on a random setting that does not fit")
            check_raises(ValueError, im2col, x, HH, WW, S, P, D, match=match,
                         what="im2col on a random setting that does not fit")
        else:
            check_shape(conv_forward_fast(x, w, np.zeros(2), p)[0], expected.shape, label)
### END HIDDEN TESTS

# %% [markdown]
# ## 6. How much faster?
#
# Assignment 1's layer computed one dot product per (image, filter, output position), in
# Python loops. The cell below does exactly those dot products, one per loop iteration,
# on the columns of your `X_col`, and times them against your fast layer, which does
# them all in one matrix multiply. It is not graded (timings depend on the machine);
# expect the matrix multiply to win by a factor of tens to hundreds, more for larger
# inputs, because the loops move from Python into BLAS. (Your assignment-1 layer also
# slices a receptive field out of the input at every step, so it is slower still: paste
# it into a scratch cell and time it too, if you like.) The cell also shows the price:
# `X_col` is several times larger than `x`.

# %% nbgrader={"grade": false, "grade_id": "demo_speed", "locked": true, "schema_version": 3, "solution": false, "task": false}
def best_time(func, *args, repeat=3):
    """The fastest of `repeat` runs, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func(*args)
        times.append(time.perf_counter() - start)
    return min(times)


def dot_products_one_by_one(X_col, w, b):
    """Every filter times every column of X_col, one dot product per loop iteration."""
    W_row = w.reshape(w.shape[0], -1)
    scores = np.empty((W_row.shape[0], X_col.shape[1]))
    for f in range(W_row.shape[0]):
        for k in range(X_col.shape[1]):
            scores[f, k] = W_row[f] @ X_col[:, k] + b[f]
    return scores


rng_demo = np.random.default_rng(0)
x = rng_demo.standard_normal((4, 3, 16, 16))
w = rng_demo.standard_normal((8, 3, 3, 3))
b = rng_demo.standard_normal(8)
p = {"stride": 1, "pad": 1}
X_col = im2col(x, 3, 3, 1, 1)
t_loops = best_time(dot_products_one_by_one, X_col, w, b)
t_fast = best_time(conv_forward_fast, x, w, b, p)
print(f"x {x.shape}, w {w.shape}, {p}: {X_col.shape[1] * w.shape[0]} dot products")
print(f"one by one, in Python:    {1e3 * t_loops:8.2f} ms")
print(f"conv_forward_fast (BLAS): {1e3 * t_fast:8.2f} ms   ({t_loops / t_fast:.0f}x faster)")
scores = dot_products_one_by_one(X_col, w, b)
check_close(scores.reshape(8, 4, 16, 16).transpose(1, 0, 2, 3), conv_forward_fast(x, w, b, p)[0],
            "the same numbers, one by one and in one product")
print(f"x holds {x.size} numbers, X_col {X_col.size} ({X_col.size / x.size:.1f}x)")

# %% [markdown]
# ## 7. The backward pass is a convolution with flipped filters
#
# The notes state that the backward pass of a convolution is again a convolution, with
# the filters flipped in space. For stride 1 you can see it with your own layer: pad
# `dout` by `HH - 1 - P` (the same on both axes for square filters) and correlate it with
# `w` flipped in both spatial axes and with its filter and channel axes swapped. The
# cell below checks that this equals `dx` (not graded).

# %% nbgrader={"grade": false, "grade_id": "demo_flipped_filters", "locked": true, "schema_version": 3, "solution": false, "task": false}
x = rng_demo.standard_normal((2, 3, 6, 6))
w = rng_demo.standard_normal((4, 3, 3, 3))
out, cache = conv_forward_fast(x, w, np.zeros(4), {"stride": 1, "pad": 1})
dout = rng_demo.standard_normal(out.shape)
dx, _, _ = conv_backward_fast(dout, cache)
w_flipped = w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)      # (C, F, HH, WW)
dx_by_conv, _ = conv_forward_fast(dout, w_flipped, np.zeros(3), {"stride": 1, "pad": 3 - 1 - 1})
check_close(dx_by_conv, dx, "dx as a convolution of dout with the flipped filters")

# %% [markdown] nbgrader={"grade": false, "grade_id": "question_flipped_filters", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Question (3 points).** Take one dimension: an input `x` of 5 pixels, a 3-tap filter
# `w`, stride 1, no padding, so `out[i] = w[0] x[i] + w[1] x[i+1] + w[2] x[i+2]` for `i
# = 0, 1, 2`. Write `dx[2]` and `dx[0]` in terms of `dout` and `w`, and use them to
# explain the notes' statement that the backward pass is a convolution with spatially
# flipped filters. Does `dw` need a flipped filter too?
#
# Answer in the cell below, in a few sentences, with the numbers.

# %% [markdown] nbgrader={"grade": true, "grade_id": "written_flipped_filters", "locked": false, "points": 3, "schema_version": 3, "solution": true, "task": false}
# ### BEGIN SOLUTION
# `x[2]` is used by `out[0]` (through `w[2]`), `out[1]` (through `w[1]`) and `out[2]`
# (through `w[0]`), so `dx[2] = dout[0] w[2] + dout[1] w[1] + dout[2] w[0]`; `x[0]` is
# used only by `out[0]`, so `dx[0] = dout[0] w[0]`.
#
# In general `dx[p] = sum over k of dout[p - k] w[k]`: the taps meet `dout` in reverse
# order. So `dx` is `dout`, padded with F - 1 = 2 zeros on each side, correlated with
# the reversed filter `[w[2], w[1], w[0]]` (e.g. `dx[0] = 0 w[2] + 0 w[1] + dout[0]
# w[0]`). The demo cell checks the 2-D version: flip both spatial axes, swap the filter
# and channel axes, pad by `HH - 1 - P`. `dw` needs no flip: `dw[k] = sum over i of
# dout[i] x[i + k]` is a plain correlation of the input with `dout`.
#
# ### BEGIN RUBRIC
# Full (3): both sums right, the reversed filter applied to the zero-padded `dout`, and
# `dw` a plain (unflipped) correlation of `x` with `dout`.
# Partial (1-2): the sums right without the link to a flipped filter, or the link stated
# without working the example; or `dw` also said to need a flip.
# Zero: wrong sums and no flipped filter.
# ### END RUBRIC
# ### END SOLUTION

# %% [markdown]
# ## 8. 1x1 convolutions
#
# A 1x1 filter looks at a single pixel, but through **all** channels: on a [32x32x3]
# input, each output of a 1x1 layer is a 3-dimensional dot product between the filter
# and the pixel's depth column. A 1x1 layer with `F` filters is therefore the same
# `(F, C)` matrix applied to the `C`-vector of every pixel (Network in Network; GoogLeNet
# and ResNet use it to change the number of channels cheaply).
#
# Write `conv_1x1(x, w, b)` for filters of shape `(F, C, 1, 1)` (stride 1, no padding)
# **without** im2col or loops over pixels: one matrix product (or `np.einsum` /
# `np.tensordot`) over the channel axis. It must equal your conv layer with the same
# filters.

# %% nbgrader={"grade": false, "grade_id": "answer_conv_1x1", "locked": false, "schema_version": 3, "solution": true, "task": false}
def conv_1x1(x, w, b):
    """A 1x1 convolution (stride 1, pad 0) as dot products over the channel axis.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    w : ndarray, shape (F, C, 1, 1)
    b : ndarray, shape (F,)

    Returns
    -------
    out : ndarray, shape (N, F, H, W), dtype np.result_type(x, w)
        `out[n, f, i, j] = w[f, :, 0, 0] @ x[n, :, i, j] + b[f]`.
    """
    ### BEGIN SOLUTION
    mixing = w[:, :, 0, 0]                                   # (F, C)
    out = np.einsum("fc,nchw->nfhw", mixing, x) + b.reshape(1, -1, 1, 1)
    return out.astype(np.result_type(x, w), copy=False)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_conv_1x1", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
rng_visible = np.random.default_rng(6)
x = rng_visible.standard_normal((2, 3, 32, 32))        # [32x32x3], two images
w = rng_visible.standard_normal((5, 3, 1, 1))
b = rng_visible.standard_normal(5)
out = conv_1x1(x, w, b)
check_shape(out, (2, 5, 32, 32), "1x1 conv with 5 filters on [32x32x3]")
for n, f, i, j in [(0, 0, 0, 0), (1, 4, 31, 0), (0, 2, 17, 9)]:
    check_close(out[n, f, i, j], w[f, :, 0, 0] @ x[n, :, i, j] + b[f],
                f"output ({n}, {f}, {i}, {j}) is a 3-d dot product")
check_close(out, conv_forward_fast(x, w, b, {"stride": 1, "pad": 0})[0],
            "conv_1x1 vs conv_forward_fast with 1x1 filters")
c = stored_case("conv1x1")
check_close(conv_1x1(c["x"], c["w"], c["b"]), c["out"],
            f"conv_1x1 vs the expected output on x {c['x'].shape}, w {c['w'].shape}")
### BEGIN HIDDEN TESTS
import convnets as ref

with hidden_checks("test_conv_1x1") as rng:
    for k in range(8):
        N, C, F, H, W = (int(v) for v in rng.integers(1, 7, size=5))
        dtype = np.float32 if k == 0 else np.float64
        x = rng.standard_normal((N, C, H, W)).astype(dtype)
        w = rng.standard_normal((F, C, 1, 1)).astype(dtype)
        b = rng.standard_normal(F).astype(dtype)
        out = conv_1x1(x, w, b)
        expected = ref.conv_forward_naive(x, w, b, {"stride": 1, "pad": 0})[0]
        label = f"conv_1x1 on x {x.shape} {x.dtype}, w {w.shape}"
        if dtype == np.float32:
            check_equal(str(out.dtype), "float32", f"dtype ({label})")
            check_close(out, expected, label, rtol=1e-4, atol=1e-5)
        else:
            check_close(out, expected, label)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "question_conv_1x1", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Question (2 points).** A 1x1 CONV layer takes a 56x56x256 volume to 56x56x64. How
# many weights and biases does it have, and what does each output number compute? What
# is its `X_col`, compared with the input? How many weights would a 3x3 layer with the
# same channels have?
#
# Answer in the cell below, in a few sentences, with the numbers.

# %% [markdown] nbgrader={"grade": true, "grade_id": "written_conv_1x1", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# ### BEGIN SOLUTION
# Each of the 64 filters is 1x1x256, so the layer has 64 \* 256 = 16,384 weights and 64
# biases (16,448 parameters). Each output is a 256-dimensional dot product over the
# channels of one pixel: it mixes channels, not positions, which is why a 1x1
# convolution is not mere scaling on a 3-D volume. Its `X_col` is 256 x 3136 (56\*56
# columns): the input itself reshaped, without a single duplicated number, and the layer
# is the matrix multiply (64 x 256) @ (256 x 3136). A 3x3 layer with the same channels
# has 9 times the weights: 147,456.
#
# ### BEGIN RUBRIC
# Full (2): 16,384 weights and 64 biases; a dot product across the channels at each
# position; `X_col` = the input reshaped to 256 x 3136 with no duplication; 147,456 for
# 3x3.
# Partial (1): the counts right without the explanation, or the reverse.
# Zero: wrong counts and no explanation.
# ### END RUBRIC
# ### END SOLUTION

# %% [markdown]
# ## Summary
#
# - im2col turns a convolution into one matrix multiply, `W_row (F, C*HH*WW) @ X_col
#   (C*HH*WW, N*H'*W')`; the notes' AlexNet layer is a 96 x 363 times 363 x 3025 product.
# - The backward pass is two more products, `dout_row @ X_col.T` for the weights and
#   `W_row.T @ dout_row` followed by col2im (the transpose of im2col) for the input.
# - The speed comes from BLAS, the cost is memory: `X_col` repeats every pixel about
#   `HH*WW/S^2` times.
# - A 1x1 convolution is a matrix acting on the channel vector of every pixel.
