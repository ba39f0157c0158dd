"""The convolutional layer: a naive version to read and a fast version to use.

Both versions compute the same thing, a cross-correlation (as in every deep-learning
framework, the filter is *not* flipped) of a batch of images with a bank of filters:

    out[n, f, i, j] = b[f] + sum_{c, kh, kw} w[f, c, kh, kw]
                             * xpad[n, c, i*S + kh*D, j*S + kw*D]

where ``xpad`` is ``x`` with ``P`` zeros added on each side of both spatial axes,
``S`` is the stride and ``D`` the dilation. Shapes, in NCHW layout:

    x    (N, C, H, W)       N images, C channels, H x W pixels
    w    (F, C, HH, WW)     F filters, each spanning all C channels
    b    (F,)               one bias per filter
    out  (N, F, H', W')     H' = 1 + (H + 2P - (D*(HH-1) + 1)) / S
                            W' = 1 + (W + 2P - (D*(WW-1) + 1)) / S

Conventions:

* ``conv_param = {'stride': S, 'pad': P, 'dilation': D}``; ``dilation`` is optional.
  ``dilation=1`` (the default) is a contiguous filter. The notes count the *gap*
  between taps instead, so the notes' "dilation 1" (``w[0]*x[0] + w[1]*x[2] +
  w[2]*x[4]``) is ``dilation=2`` here.
* Invalid hyperparameters raise instead of silently cropping: ``W=10, F=3, S=2, P=0``
  gives ``(W - F + 2P)/S + 1 = (10 - 3 + 0)/2 + 1 = 4.5 is not an integer``.
* The output dtype follows NumPy's promotion of ``x`` and ``w`` (float32 in, float32
  out); each gradient has the dtype of the array it belongs to.

The two implementations:

* :func:`conv_forward_naive` / :func:`conv_backward_naive`: slow but straightforward,
  four nested loops over (image, filter, row, column), one dot product per output.
* :func:`conv_forward_fast` / :func:`conv_backward_fast`: the notes' "implementation
  as matrix multiplication": stretch every receptive field into a column
  (:func:`im2col`) and compute all dot products with one BLAS matrix multiply,
  ``W_row (F, C*HH*WW) @ X_col (C*HH*WW, N*H'*W')``. The backward pass is two more
  matrix multiplies and :func:`col2im`, the adjoint of ``im2col``. For stride 1 the
  same products are organised so that ``X_col`` never exists in full (see
  :func:`conv_forward_fast`); speed is measured by ``python -m convnets.bench``.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided
from scipy.linalg import get_blas_funcs

from .shapes import (
    check_array,
    check_conv_inputs,
    check_conv_param,
    check_int,
    conv_output_size,
    effective_filter_size,
)

__all__ = [
    "conv_forward_naive",
    "conv_backward_naive",
    "conv_forward_fast",
    "conv_backward_fast",
    "im2col",
    "col2im",
]


# --------------------------------------------------------------------------------------
# Shared set-up
# --------------------------------------------------------------------------------------

def _conv_setup(x, w, b, conv_param):
    """Validate a conv layer's inputs; return arrays, hyperparameters and output size."""
    x, w, b = check_conv_inputs(x, w, b)
    S, P, D = check_conv_param(conv_param)
    _, _, H, W = x.shape
    _, _, HH, WW = w.shape
    if HH < 1 or WW < 1:
        raise ValueError(f"filters must be at least 1x1, got w shape {w.shape} (F, C, HH, WW)")
    H_out = conv_output_size(H, HH, S, P, D, axis="height")
    W_out = conv_output_size(W, WW, S, P, D, axis="width")
    return x, w, b, S, P, D, H_out, W_out


def _check_dout(dout, expected_shape, layer: str) -> np.ndarray:
    """The upstream gradient must have exactly the shape of the forward output."""
    dout = check_array(dout, "dout", len(expected_shape))
    if dout.shape != tuple(expected_shape):
        raise ValueError(
            f"dout must have the shape of the {layer} output {tuple(expected_shape)}, "
            f"got {dout.shape}"
        )
    return dout


# --------------------------------------------------------------------------------------
# Naive: loops
# --------------------------------------------------------------------------------------

def conv_forward_naive(x, w, b, conv_param):
    """Forward pass of a convolutional layer, with explicit loops.

    Slow but straightforward: for every image ``n``, filter ``f`` and output
    position ``(i, j)``, take the receptive field (a ``(C, HH, WW)`` block of the
    zero-padded input, every ``D``-th pixel starting at ``(i*S, j*S)``), multiply it
    elementwise with the filter and sum. See :func:`conv_forward_fast` for the same
    layer computed with one matrix multiply.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
        Input batch. Integer arrays are converted to float64.
    w : ndarray, shape (F, C, HH, WW)
        Filters; ``HH`` and ``WW`` may differ.
    b : ndarray, shape (F,)
        Biases.
    conv_param : dict
        ``'stride'`` S >= 1, ``'pad'`` P >= 0 (zeros added on every side), and
        optionally ``'dilation'`` D >= 1 (default 1 = contiguous; the notes'
        "dilation 1", a gap of one pixel, is ``D = 2``).

    Returns
    -------
    out : ndarray, shape (N, F, H', W')
        ``H' = 1 + (H + 2P - (D*(HH-1) + 1)) / S`` and the same for ``W'`` with ``W, WW``.
        Dtype: NumPy's promotion of ``x`` and ``w`` (float32 stays float32).
    cache : tuple
        ``(x, w, b, conv_param)``, the (validated) inputs.

    Raises
    ------
    ValueError
        If an array has the wrong number of dimensions, the channels of ``x`` and
        ``w`` or the lengths of ``b`` and ``w`` disagree, S < 1, P < 0, D < 1, the
        (dilated) filter is larger than the padded input, or H' or W' is not an
        integer (the message shows the formula with the numbers).
    TypeError
        If a hyperparameter is not an integer or an array does not hold real numbers.

    Examples
    --------
    The notes' 1-D example (input [1, 2, -1, 1, -3] zero-padded by hand, because
    ``'pad'`` would pad the height as well), weights [1, 0, -1], stride 2:

    >>> x = np.array([0.0, 1, 2, -1, 1, -3, 0]).reshape(1, 1, 1, 7)
    >>> w = np.array([1.0, 0, -1]).reshape(1, 1, 1, 3)
    >>> out, _ = conv_forward_naive(x, w, np.zeros(1), {'stride': 2, 'pad': 0})
    >>> out.ravel()                 # 0 - 2, 2 - 1, 1 - 0
    array([-2.,  1.,  1.])
    """
    x, w, b, S, P, D, H_out, W_out = _conv_setup(x, w, b, conv_param)
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    span_h = effective_filter_size(HH, D)
    span_w = effective_filter_size(WW, D)
    dtype = np.result_type(x.dtype, w.dtype)

    x_padded = np.pad(x, ((0, 0), (0, 0), (P, P), (P, P)))
    out = np.zeros((N, F, H_out, W_out), dtype=dtype)
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    top, left = i * S, j * S
                    field = x_padded[n, :, top:top + span_h:D, left:left + span_w:D]
                    out[n, f, i, j] = np.sum(field * w[f]) + b[f]
    cache = (x, w, b, {"stride": S, "pad": P, "dilation": D})
    return out, cache


def conv_backward_naive(dout, cache):
    """Backward pass of a convolutional layer, with explicit loops.

    Slow but straightforward: every output ``out[n, f, i, j]`` was a dot product of
    filter ``f`` with one receptive field, so its upstream gradient
    ``dout[n, f, i, j]`` adds ``dout * field`` to ``dw[f]`` and ``dout * w[f]`` to that
    receptive field of ``dx`` (overlapping fields accumulate), and the biases get
    the sum of ``dout`` over everything but the filter axis. See
    :func:`conv_backward_fast` for the matrix-multiply version.

    Parameters
    ----------
    dout : ndarray, shape (N, F, H', W')
        Upstream gradient, the shape of the forward output.
    cache : tuple
        ``(x, w, b, conv_param)`` from :func:`conv_forward_naive`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    dw : ndarray, shape (F, C, HH, WW)
    db : ndarray, shape (F,)
        Each in the dtype of ``x``, ``w`` and ``b`` respectively.

    Raises
    ------
    ValueError
        If ``dout`` does not have the shape of the forward output.
    """
    x, w, b, conv_param = cache
    S, P, D = conv_param["stride"], conv_param["pad"], conv_param["dilation"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = conv_output_size(H, HH, S, P, D, axis="height")
    W_out = conv_output_size(W, WW, S, P, D, axis="width")
    dout = _check_dout(dout, (N, F, H_out, W_out), "conv")
    span_h = effective_filter_size(HH, D)
    span_w = effective_filter_size(WW, D)
    dtype = np.result_type(x.dtype, w.dtype, dout.dtype)

    x_padded = np.pad(x, ((0, 0), (0, 0), (P, P), (P, P))).astype(dtype, copy=False)
    dx_padded = np.zeros(x_padded.shape, dtype=dtype)
    dw = np.zeros(w.shape, dtype=dtype)
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    top, left = i * S, j * S
                    rows = slice(top, top + span_h, D)
                    cols = slice(left, left + span_w, D)
                    g = dout[n, f, i, j]
                    dw[f] += g * x_padded[n, :, rows, cols]
                    dx_padded[n, :, rows, cols] += g * w[f]
    dx = dx_padded[:, :, P:P + H, P:P + W]
    db = dout.sum(axis=(0, 2, 3))
    return dx.astype(x.dtype), dw.astype(w.dtype), db.astype(b.dtype)


# --------------------------------------------------------------------------------------
# im2col and col2im
# --------------------------------------------------------------------------------------

def _pad_channels_first(x: np.ndarray, P: int, dtype) -> np.ndarray:
    """Copy ``x`` (N, C, H, W), any strides, into a zero-padded (C, N, H+2P, W+2P) array.

    Channels first, because that makes the column matrix of :func:`im2col` a plain
    copy of rows: row ``(c, kh, kw)`` of ``X_col`` only reads channel ``c``.
    """
    N, C, H, W = x.shape
    padded = np.empty((C, N, H + 2 * P, W + 2 * P), dtype=dtype)
    if P:
        padded[:, :, :P, :] = 0
        padded[:, :, -P:, :] = 0
        padded[:, :, P:-P, :P] = 0
        padded[:, :, P:-P, -P:] = 0
    padded[:, :, P:P + H, P:P + W] = x.transpose(1, 0, 2, 3)
    return padded


def _receptive_fields(padded: np.ndarray, HH: int, WW: int, S: int, D: int,
                      H_out: int, W_out: int) -> np.ndarray:
    """A read-only view (C, HH, WW, N, H', W') of every tap of every receptive field.

    ``view[c, kh, kw, n, i, j] = padded[c, n, i*S + kh*D, j*S + kw*D]``: no copy, just
    strides. Reshaping it to (C*HH*WW, N*H'*W') makes the copy that is ``X_col``.
    """
    C, N, _, _ = padded.shape
    sc, sn, sh, sw = padded.strides
    return as_strided(padded, shape=(C, HH, WW, N, H_out, W_out),
                      strides=(sc, D * sh, D * sw, sn, S * sh, S * sw), writeable=False)


def _check_window(x_shape, HH, WW, stride, pad, dilation):
    """Validate the geometry shared by im2col and col2im; return it with the output size."""
    HH = check_int(HH, "HH", minimum=1)
    WW = check_int(WW, "WW", minimum=1)
    S = check_int(stride, "stride", minimum=1)
    P = check_int(pad, "pad", minimum=0)
    D = check_int(dilation, "dilation", minimum=1)
    _, _, H, W = x_shape
    H_out = conv_output_size(H, HH, S, P, D, axis="height")
    W_out = conv_output_size(W, WW, S, P, D, axis="width")
    return HH, WW, S, P, D, H_out, W_out


def im2col(x, HH, WW, stride=1, pad=0, dilation=1):
    """Stretch every receptive field of ``x`` into a column: the matrix ``X_col``.

    With it a convolution is one matrix multiply: ``W_row @ X_col`` where
    ``W_row = w.reshape(F, C*HH*WW)`` (see :func:`conv_forward_fast`).

    Layout: row ``c*HH*WW + kh*WW + kw`` holds tap ``(kh, kw)`` of channel ``c``, the
    same order as ``w[f].ravel()``; column ``n*H'*W' + i*W' + j`` is the receptive
    field of output ``(i, j)`` of image ``n``. For one image this is the notes'
    example: a 227x227x3 input with 11x11 filters at stride 4 gives ``X_col`` of
    shape (363, 3025) (363 = 11*11*3 taps, 3025 = 55*55 positions). Since receptive
    fields overlap, most input pixels are copied into several columns: the matrix
    holds ``C*HH*WW * N*H'*W'`` numbers, ``HH*WW/S**2`` times the input for a
    'same'-padded layer.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
        Input batch (any strides).
    HH, WW : int
        Filter height and width.
    stride, pad, dilation : int
        As in ``conv_param`` (``dilation=1`` is contiguous).

    Returns
    -------
    X_col : ndarray, shape (C*HH*WW, N*H'*W')
        Contiguous, dtype of ``x``. ``H' = 1 + (H + 2*pad - (dilation*(HH-1)+1)) / stride``.

    Raises
    ------
    ValueError, TypeError
        As :func:`conv_forward_naive` for the geometry (non-integer output size,
        filter larger than the padded input, stride < 1, ...), and if ``x`` is not 4-D.

    Examples
    --------
    >>> im2col(np.zeros((1, 3, 227, 227)), 11, 11, stride=4).shape
    (363, 3025)
    """
    x = check_array(x, "x", 4, "(N, C, H, W)")
    HH, WW, S, P, D, H_out, W_out = _check_window(x.shape, HH, WW, stride, pad, dilation)
    N, C, _, _ = x.shape
    padded = _pad_channels_first(x, P, x.dtype)
    fields = _receptive_fields(padded, HH, WW, S, D, H_out, W_out)
    return np.ascontiguousarray(fields).reshape(C * HH * WW, N * H_out * W_out)


def col2im(cols, x_shape, HH, WW, stride=1, pad=0, dilation=1):
    """The adjoint of :func:`im2col`: add every column back onto the pixels it came from.

    Where receptive fields overlap, a pixel receives the sum of all its copies, so
    ``col2im`` is the transpose of the linear map ``im2col`` (``<im2col(x), c> ==
    <x, col2im(c)>``), not its inverse. That is exactly what the backward pass
    needs: ``dx = col2im(W_row.T @ dout_row)``. Implemented as one strided slice-add
    per filter tap (``HH*WW`` of them), never ``np.add.at``.

    Parameters
    ----------
    cols : ndarray, shape (C*HH*WW, N*H'*W')
        Columns in :func:`im2col`'s layout.
    x_shape : tuple of 4 ints
        ``(N, C, H, W)``, the shape of the array ``im2col`` was applied to.
    HH, WW, stride, pad, dilation : int
        The same geometry as for ``im2col``.

    Returns
    -------
    x : ndarray, shape (N, C, H, W)
        Dtype of ``cols``. The padding border is dropped.

    Raises
    ------
    ValueError, TypeError
        For an invalid geometry (as :func:`im2col`), or if ``cols`` does not have the
        shape (C*HH*WW, N*H'*W') that geometry implies.
    """
    if not (isinstance(x_shape, tuple | list) and len(x_shape) == 4):
        raise ValueError(f"x_shape must be a tuple (N, C, H, W), got {x_shape!r}")
    x_shape = tuple(check_int(s, "x_shape entries", minimum=1) for s in x_shape)
    HH, WW, S, P, D, H_out, W_out = _check_window(x_shape, HH, WW, stride, pad, dilation)
    N, C, H, W = x_shape
    cols = check_array(cols, "cols", 2, "(C*HH*WW, N*H'*W')")
    expected = (C * HH * WW, N * H_out * W_out)
    if cols.shape != expected:
        raise ValueError(
            f"cols must have shape (C*HH*WW, N*H'*W') = ({C}*{HH}*{WW}, {N}*{H_out}*{W_out}) "
            f"= {expected} for x_shape {x_shape}, got {cols.shape}"
        )
    dx_padded = _col2im_channels_first(cols, C, N, H + 2 * P, W + 2 * P, HH, WW, S, D,
                                       H_out, W_out)
    return np.ascontiguousarray(dx_padded[:, :, P:P + H, P:P + W].transpose(1, 0, 2, 3))


def _col2im_channels_first(cols, C, N, Hp, Wp, HH, WW, S, D, H_out, W_out):
    """col2im into a padded, channels-first (C, N, Hp, Wp) array: one slice-add per tap."""
    dx_padded = np.zeros((C, N, Hp, Wp), dtype=cols.dtype)
    taps = cols.reshape(C, HH, WW, N, H_out, W_out)
    for kh in range(HH):
        rows = slice(kh * D, kh * D + S * (H_out - 1) + 1, S)
        for kw in range(WW):
            columns = slice(kw * D, kw * D + S * (W_out - 1) + 1, S)
            dx_padded[:, :, rows, columns] += taps[:, kh, kw]
    return dx_padded


# --------------------------------------------------------------------------------------
# Fast: im2col + one matrix multiply
# --------------------------------------------------------------------------------------

# Which of the three equivalent computations conv_forward_fast uses (see its docstring):
#   "im2col"       any stride: the full X_col, one GEMM;
#   "im2col-grid"  stride 1, few channels: X_col of the padded grid, in cached blocks;
#   "shifted-gemm" stride 1, many channels (float32/float64): one GEMM per filter tap
#                  on shifted views of a channels-last grid, accumulated by BLAS.
# Stride 1 computes outputs on the padded grid, more positions than real outputs
# ("shifted-gemm" all Hp*Wp of them, "im2col-grid" those from the first output to the
# last); a path is used while it computes at most this many positions per real output.
_MAX_GRID_WASTE = 1.5
# "shifted-gemm" needs both C and F at least this large (its GEMMs have C or F as
# their inner dimension).
_SHIFTED_GEMM_MIN_CHANNELS = 16
# Bytes of the block kept in cache: the block of X_col ("im2col-grid") or the block of
# output accumulated over the taps ("shifted-gemm").
_BLOCK_BYTES = 1 << 21
_MIN_BLOCK_COLUMNS = 256
# The backward pass of "im2col-grid" scatters dX_col back with one slice-add per tap
# and block; its blocks are this many times larger, so that few-channel layers (where
# each add is small) do not spend their time in NumPy's per-call overhead.
_DX_BLOCK_FACTOR = 4


def conv_forward_fast(x, w, b, conv_param):
    """Forward pass of a convolutional layer as matrix multiplies (im2col + GEMM).

    Fast: the receptive fields are stretched into the columns of
    ``X_col = im2col(x)`` of shape (C*HH*WW, N*H'*W'), the filters into the rows of
    ``W_row = w.reshape(F, C*HH*WW)``, and ``W_row @ X_col`` (one BLAS GEMM, F x
    N*H'*W' dot products of length C*HH*WW) gives every output at once. Costs memory:
    ``X_col`` has C*HH*WW*N*H'*W' entries, about HH*WW/S**2 times the input (the
    stride-1 paths below avoid holding it). Same contract and results as the slow
    but straightforward :func:`conv_forward_naive`.

    Three equivalent computations, chosen from the shapes (``cache['method']``):

    * ``'im2col'`` (any stride): ``X_col`` is copied from a strided view of the
      padded input (see :func:`im2col`) and kept for the backward pass.
    * ``'im2col-grid'`` (stride 1, few channels): outputs are computed at the
      positions of the zero-padded grid, each image flattened to ``Hp*Wp`` numbers
      per channel. There, tap ``(kh, kw)`` of every receptive field is the same row
      shifted by ``kh*D*Wp + kw*D``, so each row of ``X_col`` is a run of contiguous
      slices; ``X_col`` is built and multiplied in blocks of columns that stay in
      cache, never in full. Per image, the positions from the first output to the
      last one are computed (``H'`` rows of ``Wp``, less the last row's tail), the
      ``Wp - W'`` extra ones per row dropped: ``Wp/W'`` times the work of the real
      outputs.
    * ``'shifted-gemm'`` (stride 1, C and F >= 16, float32/float64): the same grid
      stored channels last, ``(N*Hp*Wp, C)``; then the shifted slice for one tap is
      a contiguous ``(positions, C)`` matrix, and the output is the sum over the
      ``HH*WW`` taps of ``slice @ w[:, :, kh, kw].T``: one GEMM per tap, with no copy
      at all, accumulated by BLAS itself (``beta = 1``, through
      ``scipy.linalg.blas``) block by block in cache.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
        Input batch; any strides (transposed or sliced views are fine).
    w : ndarray, shape (F, C, HH, WW)
        Filters.
    b : ndarray, shape (F,)
        Biases.
    conv_param : dict
        ``'stride'`` S, ``'pad'`` P and optionally ``'dilation'`` D (default 1 =
        contiguous; the notes' "dilation 1" is ``D = 2``).

    Returns
    -------
    out : ndarray, shape (N, F, H', W')
        ``H' = 1 + (H + 2P - (D*(HH-1) + 1)) / S``, likewise ``W'``. Contiguous;
        dtype is NumPy's promotion of ``x`` and ``w`` (float32 stays float32).
    cache : dict
        ``'method'`` (above), ``'x_shape'``, the input dtypes ``'x_dtype'``,
        ``'w_dtype'``, ``'b_dtype'``, ``'w'`` (in the computation dtype),
        ``'stride'``, ``'pad'``, ``'dilation'``, and the input as the backward pass
        needs it: ``'x_cols'`` (C*HH*WW, N*H'*W') for 'im2col', ``'x_grid'`` the
        padded input (C, N, Hp*Wp) for 'im2col-grid' or (N*Hp*Wp, C) for
        'shifted-gemm'.

    Raises
    ------
    ValueError, TypeError
        Exactly as :func:`conv_forward_naive`.
    """
    x, w, b, S, P, D, H_out, W_out = _conv_setup(x, w, b, conv_param)
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    dtype = np.result_type(x.dtype, w.dtype)
    Hp, Wp = H + 2 * P, W + 2 * P
    K = C * HH * WW
    w = np.ascontiguousarray(w, dtype=dtype)
    method = _choose_method(S, C, F, dtype, H_out, W_out, Hp, Wp)
    cache = {"method": method, "x_shape": x.shape, "x_dtype": x.dtype, "w_dtype": w.dtype,
             "b_dtype": b.dtype, "w": w, "stride": S, "pad": P, "dilation": D}
    offsets = _tap_offsets(HH, WW, D, Wp)

    if method == "shifted-gemm":
        n_valid = N * Hp * Wp - offsets[-1]   # grid positions up to the last real output
        grid = _pad_channels_last(x, P, dtype).reshape(N * Hp * Wp, C)
        taps = [np.asfortranarray(w[:, :, kh, kw]) for kh in range(HH) for kw in range(WW)]
        out_grid = np.empty((N * Hp * Wp, F), dtype=dtype)
        _sum_of_shifted_products(grid, taps, offsets, out_grid[:n_valid])
        out_nchw = out_grid.reshape(N, Hp, Wp, F)[:, :H_out, :W_out, :].transpose(0, 3, 1, 2)
        cache["x_grid"] = grid
    elif method == "im2col-grid":
        grid = _pad_channels_first(x, P, dtype).reshape(C, N, Hp * Wp)
        L = _positions_per_image(H_out, W_out, Wp)
        out_grid = np.empty((F, N * L), dtype=dtype)
        w_row = w.reshape(F, K)
        block = _block_columns(K, dtype, N * L)
        buffer = np.empty(K * block, dtype=dtype)
        for n0, g, r0, m in _grid_blocks(N, L, block):
            x_col = _shifted_columns(grid, HH, WW, D, Wp, n0, g, r0, m, buffer)
            start = n0 * L + r0
            np.matmul(w_row, x_col, out=out_grid[:, start:start + g * m])
        out_nchw = _real_outputs(out_grid, N, L, H_out, W_out, Wp).transpose(1, 0, 2, 3)
        cache["x_grid"] = grid
    else:
        padded = _pad_channels_first(x, P, dtype)
        fields = _receptive_fields(padded, HH, WW, S, D, H_out, W_out)
        x_cols = np.ascontiguousarray(fields).reshape(K, N * H_out * W_out)
        out_fnhw = (w.reshape(F, K) @ x_cols).reshape(F, N, H_out, W_out)
        out_nchw = out_fnhw.transpose(1, 0, 2, 3)
        cache["x_cols"] = x_cols

    out = np.empty((N, F, H_out, W_out), dtype=dtype)
    np.add(out_nchw, b.astype(dtype)[:, None, None], out=out)
    return out, cache


def conv_backward_fast(dout, cache, *, compute_dx=True):
    """Backward pass of a convolutional layer as matrix multiplies (GEMM + col2im).

    Fast: with ``dout_row = dout`` reshaped to (F, N*H'*W'),

    * ``dw = dout_row @ X_col.T`` (one GEMM), reshaped to (F, C, HH, WW);
    * ``dx = col2im(W_row.T @ dout_row)`` (one GEMM, then :func:`col2im` adds each
      column back onto the pixels it was copied from);
    * ``db = dout.sum(axis=(0, 2, 3))``.

    The stride-1 paths compute the same products on the padded grid without a full
    ``X_col`` (see :func:`conv_forward_fast`): 'im2col-grid' rebuilds the blocks of
    ``X_col`` for dw and adds each tap's rows of ``W_row.T @ dout`` back at its
    shift; 'shifted-gemm' computes dw from blocks of the channels-last ``X_col``
    rebuilt in cache, and dx as the notes' "convolution with spatially flipped
    filters": ``dout``, zero-padded on the grid, correlated with ``w`` flipped in both
    spatial axes and with F and C swapped, again one accumulated GEMM per tap.

    Same contract and results as the slow but straightforward
    :func:`conv_backward_naive`.

    Parameters
    ----------
    dout : ndarray, shape (N, F, H', W')
        Upstream gradient, any strides.
    cache : dict
        From :func:`conv_forward_fast`.
    compute_dx : bool, keyword-only, default True
        False skips the gradient with respect to the input (``dx`` is then None). The
        first layer of a network needs only ``dw`` and ``db``: its input is the data,
        which nothing updates, and ``dx`` costs about as much as ``dw`` (PyTorch
        likewise skips it unless the input requires a gradient).

    Returns
    -------
    dx : ndarray, shape (N, C, H, W), or None when ``compute_dx`` is False
    dw : ndarray, shape (F, C, HH, WW)
    db : ndarray, shape (F,)
        Contiguous, each in the dtype of ``x``, ``w`` and ``b`` respectively.

    Raises
    ------
    ValueError
        If ``dout`` does not have the shape of the forward output.
    """
    N, C, H, W = cache["x_shape"]
    w = cache["w"]
    S, P, D = cache["stride"], cache["pad"], cache["dilation"]
    F, _, HH, WW = w.shape
    H_out = conv_output_size(H, HH, S, P, D, axis="height")
    W_out = conv_output_size(W, WW, S, P, D, axis="width")
    dout = _check_dout(dout, (N, F, H_out, W_out), "conv")
    dtype = w.dtype
    dout = dout.astype(dtype, copy=False)
    Hp, Wp = H + 2 * P, W + 2 * P
    K = C * HH * WW
    db = dout.sum(axis=(0, 2, 3))

    if cache["method"] == "shifted-gemm":
        dx_grid, dw = _shifted_gemm_backward(dout, cache["x_grid"], w, Hp, Wp, D, compute_dx)
        if compute_dx:
            dx_nchw = (dx_grid.reshape(N, Hp, Wp, C)[:, P:P + H, P:P + W, :]
                       .transpose(0, 3, 1, 2))
    elif cache["method"] == "im2col-grid":
        dx_grid, dw_row = _im2col_grid_backward(dout, cache["x_grid"], w, Wp, D,
                                                compute_dx)
        dw = dw_row.reshape(F, C, HH, WW)
        if compute_dx:
            dx_nchw = (dx_grid.reshape(C, N, Hp, Wp)[:, :, P:P + H, P:P + W]
                       .transpose(1, 0, 2, 3))
    else:
        dout_row = dout.transpose(1, 0, 2, 3).reshape(F, N * H_out * W_out)
        dw = (dout_row @ cache["x_cols"].T).reshape(F, C, HH, WW)
        if compute_dx:
            d_cols = w.reshape(F, K).T @ dout_row
            dx_padded = _col2im_channels_first(d_cols, C, N, Hp, Wp, HH, WW, S, D,
                                               H_out, W_out)
            dx_nchw = dx_padded[:, :, P:P + H, P:P + W].transpose(1, 0, 2, 3)

    dx = None
    if compute_dx:
        dx = np.empty((N, C, H, W), dtype=cache["x_dtype"])
        dx[...] = dx_nchw
    return (dx, np.ascontiguousarray(dw, dtype=cache["w_dtype"]),
            db.astype(cache["b_dtype"], copy=False))


def _choose_method(S, C, F, dtype, H_out, W_out, Hp, Wp) -> str:
    """'im2col', 'im2col-grid' or 'shifted-gemm' (see conv_forward_fast and the
    module constants above); all three give the same results."""
    if S != 1:
        return "im2col"
    limit = _MAX_GRID_WASTE * H_out * W_out
    if (min(C, F) >= _SHIFTED_GEMM_MIN_CHANNELS and dtype in (np.float32, np.float64)
            and Hp * Wp <= limit):
        return "shifted-gemm"
    if _positions_per_image(H_out, W_out, Wp) <= limit:
        return "im2col-grid"
    return "im2col"


def _tap_offsets(HH: int, WW: int, D: int, Wp: int) -> list[int]:
    """Shift of tap (kh, kw), in order kh*WW + kw, on a row-major grid of width Wp."""
    return [kh * D * Wp + kw * D for kh in range(HH) for kw in range(WW)]


def _block_columns(rows: int, dtype, total: int, factor: int = 1) -> int:
    """How many columns of a (rows, total) matrix to process at once: a block of
    ``factor * _BLOCK_BYTES`` bytes (in cache for factor 1)."""
    budget = factor * _BLOCK_BYTES
    block = max(_MIN_BLOCK_COLUMNS, budget // (rows * np.dtype(dtype).itemsize))
    return min(block, total)


def _pad_channels_last(x: np.ndarray, P: int, dtype) -> np.ndarray:
    """Copy ``x`` (N, C, H, W), any strides, into a zero-padded (N, H+2P, W+2P, C) array."""
    N, C, H, W = x.shape
    padded = np.empty((N, H + 2 * P, W + 2 * P, C), dtype=dtype)
    if P:
        padded[:, :P] = 0
        padded[:, -P:] = 0
        padded[:, P:-P, :P] = 0
        padded[:, P:-P, -P:] = 0
    padded[:, P:P + H, P:P + W, :] = x.transpose(0, 2, 3, 1)
    return padded


# --- "im2col-grid": X_col of the padded grid, in blocks ------------------------------

def _positions_per_image(H_out: int, W_out: int, Wp: int) -> int:
    """Grid positions computed per image by 'im2col-grid': from the first real output
    (row 0, column 0) to the last one (row H'-1, column W'-1) of the row-major grid
    of width Wp. At stride 1 the receptive fields of these positions stay inside the
    image's own padded grid, so no block ever reads past it."""
    return (H_out - 1) * Wp + W_out


def _grid_blocks(N: int, L: int, block: int):
    """The blocks of columns of 'im2col-grid', as ``(n0, g, r0, m)``: images
    ``n0 .. n0+g-1``, positions ``r0 .. r0+m-1`` of each. Whole images when one fits in
    a block of ``block`` columns (``g*m <= block``), otherwise pieces of one image."""
    if L <= block:
        g = block // L
        for n0 in range(0, N, g):
            yield n0, min(g, N - n0), 0, L
    else:
        for n in range(N):
            for r0 in range(0, L, block):
                yield n, 1, r0, min(block, L - r0)


def _real_outputs(out_grid, N, L, H_out, W_out, Wp):
    """The view (F, N, H', W') of the real outputs in ``out_grid`` (F, N*L): output
    (i, j) of image n is column ``n*L + i*Wp + j``."""
    F = out_grid.shape[0]
    s_f, s = out_grid.strides
    return as_strided(out_grid, shape=(F, N, H_out, W_out), strides=(s_f, L * s, Wp * s, s))


def _shifted_columns(grid, HH, WW, D, Wp, n0, g, r0, m, buffer):
    """One block of X_col for stride 1, copied from the padded grid.

    ``grid`` is (C, N, Hp*Wp) (channels, images, flattened padded positions). Row
    ``(c, kh, kw)`` of the block holds ``grid[c, n, r0 + o : r0 + m + o]`` for the
    images ``n = n0 .. n0+g-1``, with the tap's shift ``o = kh*D*Wp + kw*D``: all of
    them are one strided view of ``grid``, copied in a single call into the 1-D
    ``buffer`` (at least C*HH*WW*g*m long). Returns the (C*HH*WW, g*m) block.
    """
    C = grid.shape[0]
    sc, sn, s = grid.strides
    taps = as_strided(grid[:, n0:, r0:], shape=(C, HH, WW, g, m),
                      strides=(sc, D * Wp * s, D * s, sn, s), writeable=False)
    block = buffer[:C * HH * WW * g * m].reshape(C, HH, WW, g, m)
    np.copyto(block, taps)
    return block.reshape(C * HH * WW, g * m)


def _im2col_grid_backward(dout, grid, w, Wp, D, compute_dx=True):
    """dx on the padded grid (C, N, Hp*Wp) and dw_row (F, C*HH*WW), in blocks of
    columns: ``dw_row.T += X_col_block @ dout_block.T`` with the block of X_col rebuilt
    from shifted slices (the forward's blocks), then, in larger blocks,
    ``dX_col = W_row.T @ dout_block`` whose rows are added back onto the grid at each
    tap's shift (col2im on the grid). dx is None when ``compute_dx`` is False."""
    N, F, H_out, W_out = dout.shape
    _, C, HH, WW = w.shape
    K = C * HH * WW
    dtype = w.dtype
    offsets = _tap_offsets(HH, WW, D, Wp)
    L = _positions_per_image(H_out, W_out, Wp)
    dout_grid = np.zeros((F, N * L), dtype=dtype)    # zero where there is no real output
    _real_outputs(dout_grid, N, L, H_out, W_out, Wp)[...] = dout.transpose(1, 0, 2, 3)
    dw_col = np.zeros((K, F), dtype=dtype)         # dw_row.T
    block = _block_columns(K, dtype, N * L)
    x_buffer = np.empty(K * block, dtype=dtype)
    for n0, g, r0, m in _grid_blocks(N, L, block):
        x_col = _shifted_columns(grid, HH, WW, D, Wp, n0, g, r0, m, x_buffer)
        start = n0 * L + r0
        # This orientation (output K x F) runs about 1.5x faster in OpenBLAS than
        # dout_block @ x_col.T (output F x K) for the few-channel shapes used here.
        dw_col += x_col @ dout_grid[:, start:start + g * m].T
    if not compute_dx:
        return None, dw_col.T

    w_col = np.ascontiguousarray(w.reshape(F, K).T)
    dx_grid = np.zeros(grid.shape, dtype=dtype)
    block = _block_columns(K, dtype, N * L, factor=_DX_BLOCK_FACTOR)
    d_buffer = np.empty(K * block, dtype=dtype)
    for n0, g, r0, m in _grid_blocks(N, L, block):
        start = n0 * L + r0
        d_col = d_buffer[:K * g * m].reshape(K, g * m)
        np.matmul(w_col, dout_grid[:, start:start + g * m], out=d_col)
        d_taps = d_col.reshape(C, len(offsets), g, m)
        for t, offset in enumerate(offsets):
            dx_grid[:, n0:n0 + g, r0 + offset:r0 + offset + m] += d_taps[:, t]
    return dx_grid, dw_col.T


# --- "shifted-gemm": one GEMM per tap on a channels-last grid -------------------------

def _gemm_into(gemm, a, b, c, beta, trans_b=False):
    """``c = a @ op(b) + beta * c`` in place, with a BLAS ``gemm`` from scipy.linalg.blas.

    ``a``, ``b`` and ``c`` must be Fortran-contiguous views of the right dtype (the
    callers pass transposes of C-contiguous blocks); otherwise the f2py wrapper would
    silently work on a copy of ``c``, which this check turns into an error.
    """
    result = gemm(1.0, a, b, beta=beta, c=c, trans_b=trans_b, overwrite_c=True)
    if result.ctypes.data != c.ctypes.data:
        raise RuntimeError("BLAS gemm did not accumulate in place (non-contiguous operand)")


def _sum_of_shifted_products(grid, mats, offsets, out):
    """``out[q] = sum_t mats[t] @ grid[q + offsets[t]]`` for every row q of ``out``.

    ``grid`` is (L, Cin), C-contiguous, so ``grid[a + o:b + o]`` is a contiguous
    (b-a, Cin) matrix: no copy. ``mats[t]`` is (Cout, Cin), Fortran-ordered; ``out``
    is (n, Cout), C-contiguous. In BLAS (column-major) terms, for each block of
    rows, ``out_block.T (Cout, m) = sum_t mats[t] @ grid_block_t.T``: the first tap
    with beta = 0, the others with beta = 1, so BLAS accumulates into the block,
    which stays in cache across the taps.
    """
    gemm = get_blas_funcs("gemm", dtype=grid.dtype)
    n, cout = out.shape
    block = _block_columns(cout, grid.dtype, n)
    for start in range(0, n, block):
        stop = min(start + block, n)
        acc = out[start:stop].T                   # (Cout, m), Fortran-contiguous view
        for t, (mat, offset) in enumerate(zip(mats, offsets, strict=True)):
            _gemm_into(gemm, mat, grid[start + offset:stop + offset].T, acc,
                       beta=0.0 if t == 0 else 1.0)


def _shifted_gemm_backward(dout, grid, w, Hp, Wp, D, compute_dx=True):
    """dx on the channels-last padded grid (N*Hp*Wp, C) (None when ``compute_dx`` is
    False) and dw (F, C, HH, WW)."""
    N, F, H_out, W_out = dout.shape
    _, C, HH, WW = w.shape
    dtype = w.dtype
    size = N * Hp * Wp
    offsets = _tap_offsets(HH, WW, D, Wp)
    reach = offsets[-1]
    n_valid = size - reach
    # dout on the channels-last grid (zero where there is no real output), preceded by
    # `reach` rows of zeros so that the flipped filters can look that far back.
    dout_grid = np.empty((reach + size, F), dtype=dtype)
    dout_grid[:reach] = 0
    on_grid = dout_grid[reach:].reshape(N, Hp, Wp, F)
    on_grid[:, H_out:] = 0
    on_grid[:, :H_out, W_out:] = 0
    on_grid[:, :H_out, :W_out] = dout.transpose(0, 2, 3, 1)
    dout_valid = dout_grid[reach:reach + n_valid]

    # dw: per block of grid rows, the block of the channels-last X_col, (m, T, C) built
    # from the shifted slices, then dw_rows (T*C, F) += X_block.T @ dout_block, again
    # accumulated by BLAS (the same BLAS as the other products: one thread pool).
    gemm = get_blas_funcs("gemm", dtype=dtype)
    T = HH * WW
    dw_rows = np.zeros((T * C, F), dtype=dtype, order="F")
    block = _block_columns(T * C, dtype, n_valid)
    buffer = np.empty(block * T * C, dtype=dtype)
    s = grid.strides[1]
    for start in range(0, n_valid, block):
        stop = min(start + block, n_valid)
        m = stop - start
        # Row q of the block: grid rows q + o_t for every tap t, one strided view.
        taps = as_strided(grid[start:], shape=(m, HH, WW, C),
                          strides=(C * s, D * Wp * C * s, D * C * s, s), writeable=False)
        x_block = buffer[:m * T * C].reshape(m, HH, WW, C)
        np.copyto(x_block, taps)
        _gemm_into(gemm, x_block.reshape(m, T * C).T, dout_valid[start:stop].T,
                   dw_rows, beta=1.0, trans_b=True)
    dw = dw_rows.reshape(HH, WW, C, F).transpose(3, 2, 0, 1)
    if not compute_dx:
        return None, dw

    # dx: correlate the padded dout with the flipped filters, F and C swapped:
    # dx_grid[p] = sum_t w[:, :, HH-1-kh, WW-1-kw].T @ dout_grid[p + offset_t].
    flipped = [np.asfortranarray(w[:, :, HH - 1 - kh, WW - 1 - kw].T)
               for kh in range(HH) for kw in range(WW)]
    dx_grid = np.empty((size, C), dtype=dtype)
    _sum_of_shifted_products(dout_grid, flipped, offsets, dx_grid)
    return dx_grid, dw
