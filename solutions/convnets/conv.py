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
  matrix multiplies and :func:`col2im`, the adjoint of ``im2col``.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

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
    >>> x = np.arange(5.0).reshape(1, 1, 1, 5)          # the notes' 1-D example
    >>> w = np.array([1.0, 0.0, -1.0]).reshape(1, 1, 1, 3)
    >>> out, _ = conv_forward_naive(x, w, np.zeros(1), {'stride': 2, 'pad': 1})
    >>> out.ravel()                 # positions -1..1, 1..3, 3..5 of the padded row
    array([-1., -2.,  3.])
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

# Columns of X_col built and multiplied at a time on the stride-1 path: enough for an
# efficient GEMM, small enough that the block stays in cache between copy and multiply.
_BLOCK_BYTES = 1 << 21
_MIN_BLOCK_COLUMNS = 256
# The stride-1 path computes outputs on the whole padded grid; it is used while that
# grid is at most this many times the number of real outputs.
_MAX_GRID_WASTE = 1.5
# From this many input channels on, the stride-1 dw is one GEMM per filter tap.
_PER_TAP_DW_MIN_CHANNELS = 32
# Form of the stride-1 dx computation: None chooses from the shapes (tests force each).
_DX_FORM: str | None = None


def conv_forward_fast(x, w, b, conv_param):
    """Forward pass of a convolutional layer as one matrix multiply (im2col + GEMM).

    Fast: the receptive fields are stretched into the columns of
    ``X_col = im2col(x)`` of shape (C*HH*WW, N*H'*W'), the filters into the rows of
    ``W_row = w.reshape(F, C*HH*WW)``, and ``W_row @ X_col`` (one BLAS GEMM, F x
    N*H'*W' dot products of length C*HH*WW) gives every output at once. Costs memory:
    ``X_col`` has C*HH*WW*N*H'*W' entries, about HH*WW/S**2 times the input (the
    stride-1 path below avoids holding it). Same contract and results as the slow
    but straightforward :func:`conv_forward_naive`.

    Two ways of building ``X_col`` are used, chosen from the shapes (same result):

    * stride 1: with the padded input stored channels first and flattened to
      ``(C, N*Hp*Wp)``, tap ``(kh, kw)`` of every receptive field is the same row
      shifted by ``kh*D*Wp + kw*D`` positions, so each row of ``X_col`` is one
      contiguous slice. Outputs are computed for every position of the padded grid
      (the ``(Hp - H') * Wp + ...`` positions that are not real outputs are dropped
      afterwards), and ``X_col`` is built and multiplied in blocks of columns that
      stay in cache, so it never exists in full.
    * any stride: ``X_col`` is copied from a strided view of the padded input (see
      :func:`im2col`, columns in (n, i, j) order) and kept for the backward pass.

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
        ``'method'`` ('shifted' or 'im2col'), ``'x_shape'``, the three input dtypes,
        ``'w'``, ``'stride'``, ``'pad'``, ``'dilation'``, and the input data the
        backward pass needs: ``'x_padded'`` (C, N*Hp*Wp) for 'shifted', ``'x_cols'``
        (C*HH*WW, N*H'*W') for 'im2col'.

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
    w_row = w.reshape(F, K).astype(dtype, copy=False)
    cache = {"x_shape": x.shape, "x_dtype": x.dtype, "w_dtype": w.dtype, "b_dtype": b.dtype,
             "w": w.astype(dtype, copy=False), "stride": S, "pad": P, "dilation": D}
    padded = _pad_channels_first(x, P, dtype)

    if S == 1 and Hp * Wp <= _MAX_GRID_WASTE * H_out * W_out:
        cache["method"] = "shifted"
        grid = padded.reshape(C, N * Hp * Wp)
        out_grid = np.empty((F, N * Hp * Wp), dtype=dtype)
        offsets = _tap_offsets(HH, WW, D, Wp)
        n_valid = N * Hp * Wp - offsets[-1]  # the last real output is at n_valid - 1
        block = _block_columns(C * HH * WW, dtype, n_valid)
        cols = np.empty(K * block, dtype=dtype)
        for start in range(0, n_valid, block):
            stop = min(start + block, n_valid)
            x_col = _shifted_columns(grid, offsets, start, stop, cols)
            np.matmul(w_row, x_col, out=out_grid[:, start:stop])
        out_grid = out_grid.reshape(F, N, Hp, Wp)[:, :, :H_out, :W_out]
        cache["x_padded"] = grid
    else:
        cache["method"] = "im2col"
        fields = _receptive_fields(padded, HH, WW, S, D, H_out, W_out)
        x_cols = np.ascontiguousarray(fields).reshape(C * HH * WW, N * H_out * W_out)
        out_grid = (w_row @ x_cols).reshape(F, N, H_out, W_out)
        cache["x_cols"] = x_cols

    out = np.empty((N, F, H_out, W_out), dtype=dtype)
    np.add(out_grid.transpose(1, 0, 2, 3), b.astype(dtype)[:, None, None], out=out)
    return out, cache


def conv_backward_fast(dout, cache):
    """Backward pass of a convolutional layer as matrix multiplies (GEMM + col2im).

    Fast: with ``dout_row = dout`` reshaped to (F, N*H'*W'),

    * ``dw = dout_row @ X_col.T`` (one GEMM), reshaped to (F, C, HH, WW);
    * ``dx = col2im(W_row.T @ dout_row)`` (one GEMM, then :func:`col2im` adds each
      column back onto the pixels it was copied from);
    * ``db = dout.sum(axis=(0, 2, 3))``.

    On the stride-1 path (``cache['method'] == 'shifted'``) the same products are
    computed on the padded grid, block by block, without a full ``X_col``: dw as
    one GEMM per filter tap on the shifted input (many channels) or per block of
    rebuilt columns (few channels); dx either as the notes' "convolution with
    spatially flipped filters" (``dout`` zero-padded and correlated with ``w``
    flipped in both spatial axes, F and C swapped: a GEMM and no scatter-add, used
    when F <= C) or as ``W_row.T @ dout`` followed by one shifted add per tap.

    Same contract and results as the slow but straightforward
    :func:`conv_backward_naive`.

    Parameters
    ----------
    dout : ndarray, shape (N, F, H', W')
        Upstream gradient, any strides.
    cache : dict
        From :func:`conv_forward_fast`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
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

    if cache["method"] == "shifted":
        dx_padded, dw_row = _shifted_backward(dout, cache["x_padded"], w, P, D, H, W)
    else:
        dout_row = dout.transpose(1, 0, 2, 3).reshape(F, N * H_out * W_out)
        dw_row = dout_row @ cache["x_cols"].T
        d_cols = w.reshape(F, K).T @ dout_row
        dx_padded = _col2im_channels_first(d_cols, C, N, Hp, Wp, HH, WW, S, D,
                                           H_out, W_out)

    dx = np.empty((N, C, H, W), dtype=cache["x_dtype"])
    dx[...] = dx_padded[:, :, P:P + H, P:P + W].transpose(1, 0, 2, 3)
    dw = dw_row.reshape(F, C, HH, WW).astype(cache["w_dtype"], copy=False)
    return dx, dw, db.astype(cache["b_dtype"], copy=False)


def _tap_offsets(HH: int, WW: int, D: int, Wp: int) -> list[int]:
    """Shift of tap (kh, kw), in order kh*WW + kw, on a row-major grid of width Wp."""
    return [kh * D * Wp + kw * D for kh in range(HH) for kw in range(WW)]


def _block_columns(rows: int, dtype, total: int) -> int:
    """How many columns of a (rows, total) column matrix to build and multiply at once."""
    block = max(_MIN_BLOCK_COLUMNS, _BLOCK_BYTES // (rows * np.dtype(dtype).itemsize))
    return min(block, total)


def _shifted_columns(grid, offsets, start, stop, buffer):
    """Columns ``start:stop`` of X_col for stride 1, built from shifted slices.

    ``grid`` is (R, L) (channels, flattened padded positions); the result is the
    (R*len(offsets), stop-start) block with row ``r*T + t`` = ``grid[r, start+o_t :
    stop+o_t]``, written into the 1-D ``buffer`` (at least R*T*(stop-start) long).
    """
    width = stop - start
    rows = grid.shape[0]
    block = buffer[:rows * len(offsets) * width].reshape(rows, len(offsets), width)
    for t, offset in enumerate(offsets):
        block[:, t, :] = grid[:, start + offset:stop + offset]
    return block.reshape(rows * len(offsets), width)


def _shifted_backward(dout, grid, w, P, D, H, W):
    """dx (on the padded grid, channels first) and dw_row for the stride-1 path.

    Works on the flattened padded grid like the forward pass, in blocks of columns:

    * dw: with many channels (C >= ``_PER_TAP_DW_MIN_CHANNELS``) one GEMM per tap,
      ``dw[:, :, kh, kw] = dout_grid @ (grid shifted by the tap).T``, reading the
      padded input in place (no copy at all); with few channels, per block,
      ``dw_row += dout_grid[:, block] @ X_col[:, block].T`` with the block of ``X_col``
      rebuilt from shifted slices (cheaper than keeping it in memory);
    * dx in one of two equivalent forms, whichever copies less:
      "gather" (when F <= C): the notes' convolution of ``dout`` with the flipped
      filters, ``dx_grid[:, block] = W_flip_row (C, F*T) @ (shifted slices of the
      zero-padded dout_grid)``; "scatter" (F > C): ``dX_col = W_row.T @ dout_grid``
      and each tap's rows added back at its shift (col2im on the grid).
    """
    N, F, H_out, W_out = dout.shape
    _, C, HH, WW = w.shape
    K, T = C * HH * WW, HH * WW
    dtype = w.dtype
    Hp, Wp = H + 2 * P, W + 2 * P
    size = N * Hp * Wp
    offsets = _tap_offsets(HH, WW, D, Wp)
    reach = offsets[-1]
    n_valid = size - reach
    gather = (_DX_FORM or ("gather" if F <= C else "scatter")) == "gather"
    # dout on the padded output grid (zero where there is no real output); for the
    # gather form preceded by `reach` zeros so that the flipped filters can look back.
    front = reach if gather else 0
    dout_grid = np.empty((F, front + size), dtype=dtype)
    dout_grid[:, :front] = 0
    on_grid = dout_grid[:, front:].reshape(F, N, Hp, Wp)
    on_grid[:, :, H_out:, :] = 0
    on_grid[:, :, :H_out, W_out:] = 0
    on_grid[:, :, :H_out, :W_out] = dout.transpose(1, 0, 2, 3)
    dout_valid = dout_grid[:, front:front + n_valid]
    per_tap_dw = C >= _PER_TAP_DW_MIN_CHANNELS
    if per_tap_dw:
        dw_taps = np.empty((F, C, T), dtype=dtype)
        for t, offset in enumerate(offsets):
            np.matmul(dout_valid, grid[:, offset:offset + n_valid].T, out=dw_taps[:, :, t])
        dw_row = dw_taps.reshape(F, K)
    else:
        dw_row = np.zeros((F, K), dtype=dtype)

    if gather:
        # w_flip_row[c, f*T + t] = w[f, c, HH-1-kh, WW-1-kw] for t = kh*WW + kw.
        w_flip_row = np.ascontiguousarray(
            w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)).reshape(C, F * T)
        block = _block_columns(max(K, F * T), dtype, size)
        dx_grid = np.empty((C, size), dtype=dtype)
        d_buffer = np.empty(F * T * block, dtype=dtype)
        end = size
    else:
        w_col = np.ascontiguousarray(w.reshape(F, K).T)
        block = _block_columns(K, dtype, n_valid)
        dx_grid = np.zeros((C, size), dtype=dtype)
        d_buffer = np.empty(K * block, dtype=dtype)
        end = n_valid
    x_buffer = np.empty(K * block, dtype=dtype)
    first = P * Wp + P           # first and last real input pixels on the grid
    last = size - first
    for start in range(0, end, block):
        stop = min(start + block, end)
        if not per_tap_dw and start < n_valid:
            stop_valid = min(stop, n_valid)
            x_col = _shifted_columns(grid, offsets, start, stop_valid, x_buffer)
            dw_row += dout_valid[:, start:stop_valid] @ x_col.T
        if gather:
            if stop > first and start < last:   # skip blocks of padding only
                d_col = _shifted_columns(dout_grid, offsets, start, stop, d_buffer)
                np.matmul(w_flip_row, d_col, out=dx_grid[:, start:stop])
        else:
            n = stop - start
            d_col = d_buffer[:K * n].reshape(K, n)
            np.matmul(w_col, dout_valid[:, start:stop], out=d_col)
            d_taps = d_col.reshape(C, T, n)
            for t, offset in enumerate(offsets):
                dx_grid[:, start + offset:stop + offset] += d_taps[:, t, :]
    return dx_grid.reshape(C, N, Hp, Wp), dw_row
