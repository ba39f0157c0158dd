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

Two implementations with identical signatures, cache aside:

* here, :func:`conv_forward_naive` / :func:`conv_backward_naive`: slow but
  straightforward, four nested loops over (image, filter, row, column), one dot
  product per output;
* in :mod:`convnets.layers.conv_fast`, ``conv_forward_fast`` / ``conv_backward_fast``:
  the notes' "implementation
  as matrix multiplication": stretch every receptive field into a column
  (``im2col``) and compute all dot products with one BLAS matrix multiply,
  ``W_row (F, C*HH*WW) @ X_col (C*HH*WW, N*H'*W')``. The backward pass is two more
  matrix multiplies and ``col2im``, the adjoint of ``im2col``. For stride 1 the
  same products are organised so that ``X_col`` never exists in full; speed is
  measured by ``python -m convnets.bench``.
"""

from __future__ import annotations

import numpy as np

from ..checks import check_dout
from ..shapes import conv_output_shape, effective_filter_size
from .im2col import check_conv_layer

__all__ = ["conv_forward_naive", "conv_backward_naive"]


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
    x, w, b, S, P, D, H_out, W_out = check_conv_layer(x, w, b, conv_param)
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
    H_out, W_out = conv_output_shape(H, W, HH, WW, S, P, D)
    dout = check_dout(dout, (N, F, H_out, W_out), "conv", same_ndim=True)
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
