"""What every convolution-like layer shares: the set-up check, the zero-padded input,
the receptive fields as a strided view, ``im2col`` and its adjoint ``col2im``.

The notes' "implementation as matrix multiplication" stretches every receptive field
into a column (:func:`im2col`), so that a convolution is one matrix multiply; the
backward pass adds the columns back onto the pixels they came from (:func:`col2im`).
:func:`conv_forward_fast <convnets.layers.conv_fast.conv_forward_fast>` and the
locally-connected layer are built on the helpers here.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..checks import (
    check_array,
    check_conv_inputs,
    check_conv_param,
    check_int,
    check_shape_arg,
)
from ..shapes import conv_output_shape

__all__ = ["im2col", "col2im"]


def check_conv_layer(x, w, b, conv_param):
    """Validate a conv layer's inputs; return ``x, w, b, S, P, D, H', W'``.

    The checks of :func:`convnets.layers.conv_naive.conv_forward_naive` and
    :func:`convnets.layers.conv_fast.conv_forward_fast`, which must refuse the same
    inputs with the same messages.
    """
    x, w, b = check_conv_inputs(x, w, b)
    S, P, D = check_conv_param(conv_param)
    _, _, H, W = x.shape
    _, _, HH, WW = w.shape
    if HH < 1 or WW < 1:
        raise ValueError(f"filters must be at least 1x1, got w shape {w.shape} (F, C, HH, WW)")
    H_out, W_out = conv_output_shape(H, W, HH, WW, S, P, D)
    return x, w, b, S, P, D, H_out, W_out

def pad_channels_first(x: np.ndarray, P, dtype) -> np.ndarray:
    """Copy ``x`` (N, C, H, W), any strides, into a zero-padded (C, N, H+2Ph, W+2Pw)
    array, ``P`` being an int (Ph = Pw = P) or a pair ``(Ph, Pw)``.

    Channels first, because that makes the column matrix of :func:`im2col` a plain
    copy of rows: row ``(c, kh, kw)`` of ``X_col`` only reads channel ``c``.
    """
    N, C, H, W = x.shape
    Ph, Pw = P if isinstance(P, tuple) else (P, P)
    padded = np.empty((C, N, H + 2 * Ph, W + 2 * Pw), dtype=dtype)
    if Ph:
        padded[:, :, :Ph, :] = 0
        padded[:, :, Ph + H:, :] = 0
    if Pw:
        padded[:, :, Ph:Ph + H, :Pw] = 0
        padded[:, :, Ph:Ph + H, Pw + W:] = 0
    padded[:, :, Ph:Ph + H, Pw:Pw + W] = x.transpose(1, 0, 2, 3)
    return padded

def receptive_fields(padded: np.ndarray, HH: int, WW: int, S: int, D: int,
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
    H_out, W_out = conv_output_shape(H, W, HH, WW, S, P, D)
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
    padded = pad_channels_first(x, P, x.dtype)
    fields = receptive_fields(padded, HH, WW, S, D, H_out, W_out)
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
    x_shape = check_shape_arg(x_shape)
    HH, WW, S, P, D, H_out, W_out = _check_window(x_shape, HH, WW, stride, pad, dilation)
    N, C, H, W = x_shape
    cols = check_array(cols, "cols", 2, "(C*HH*WW, N*H'*W')")
    expected = (C * HH * WW, N * H_out * W_out)
    if cols.shape != expected:
        raise ValueError(
            f"cols must have shape (C*HH*WW, N*H'*W') = ({C}*{HH}*{WW}, {N}*{H_out}*{W_out}) "
            f"= {expected} for x_shape {x_shape}, got {cols.shape}"
        )
    dx_padded = col2im_padded(cols, C, N, H + 2 * P, W + 2 * P, HH, WW, S, D,
                                       H_out, W_out)
    return np.ascontiguousarray(dx_padded[:, :, P:P + H, P:P + W].transpose(1, 0, 2, 3))

def col2im_padded(cols, C, N, Hp, Wp, HH, WW, S, D, H_out, W_out):
    """col2im into a padded, channels-first (C, N, Hp, Wp) array: one slice-add per tap."""
    dx_padded = np.zeros((C, N, Hp, Wp), dtype=cols.dtype)
    taps = cols.reshape(C, HH, WW, N, H_out, W_out)
    for kh in range(HH):
        rows = slice(kh * D, kh * D + S * (H_out - 1) + 1, S)
        for kw in range(WW):
            columns = slice(kw * D, kw * D + S * (W_out - 1) + 1, S)
            dx_padded[:, :, rows, columns] += taps[:, kh, kw]
    return dx_padded
