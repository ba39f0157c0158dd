"""The locally-connected layer: a convolution without parameter sharing.

Each output neuron still looks at one small receptive field (local connectivity),
but every output position ``(i, j)`` has its *own* filters instead of sharing one
filter bank across the image. The notes suggest this when inputs have a fixed,
centred structure (aligned faces), where different features belong at different
places:

    out[n, f, i, j] = b[i, j, f] + sum_{c, kh, kw} w[i, j, f, c, kh, kw]
                                   * xpad[n, c, i*S + kh*D, j*S + kw*D]

Shapes:

    x    (N, C, H, W)
    w    (H', W', F, C, HH, WW)   one (F, C, HH, WW) filter bank per output position
    b    (H', W', F)
    out  (N, F, H', W')           H', W' from the conv formula (:mod:`convnets.layers.conv_naive`)

It costs ``H'*W'`` times the parameters of the conv layer: AlexNet's first layer
would have 55*55*96*(11*11*3 + 1) = 105,705,600 of them instead of 34,944
(:func:`locally_connected_shapes` gives the shapes without allocating anything).
When every position holds the same filters, the layer *is* the conv layer, and
the gradient of the shared filters is the sum over positions of the unshared ones.
"""

from __future__ import annotations

import numpy as np

from ..checks import check_array, check_conv_param, check_dout, check_int, check_shape_arg
from ..shapes import conv_output_shape
from .im2col import col2im_padded, pad_channels_first, receptive_fields

__all__ = [
    "locally_connected_forward",
    "locally_connected_backward",
    "locally_connected_shapes",
]

_W_DOC = "(H_out, W_out, F, C, HH, WW)"


def locally_connected_shapes(x_shape, num_filters, HH, WW, conv_param):
    """Shapes of the weights and biases of a locally-connected layer, without allocating.

    Parameters
    ----------
    x_shape : tuple of 4 ints
        ``(N, C, H, W)``.
    num_filters : int
        F, the number of filters at each output position.
    HH, WW : int
        Filter height and width.
    conv_param : dict
        ``'stride'``, ``'pad'`` and optionally ``'dilation'``, as for the conv layer.

    Returns
    -------
    w_shape : tuple
        ``(H', W', F, C, HH, WW)``.
    b_shape : tuple
        ``(H', W', F)``.

    Raises
    ------
    ValueError, TypeError
        For an invalid geometry, as the conv layer.

    Examples
    --------
    >>> w_shape, b_shape = locally_connected_shapes((1, 3, 227, 227), 96, 11, 11,
    ...                                             {'stride': 4, 'pad': 0})
    >>> w_shape, b_shape
    ((55, 55, 96, 3, 11, 11), (55, 55, 96))
    >>> int(np.prod(w_shape) + np.prod(b_shape))
    105705600
    """
    _, C, H, W = check_shape_arg(x_shape)
    F = check_int(num_filters, "num_filters", minimum=1)
    HH = check_int(HH, "HH", minimum=1)
    WW = check_int(WW, "WW", minimum=1)
    S, P, D = check_conv_param(conv_param)
    H_out, W_out = conv_output_shape(H, W, HH, WW, S, P, D)
    return (H_out, W_out, F, C, HH, WW), (H_out, W_out, F)


def _setup(x, w, b, conv_param):
    x = check_array(x, "x", 4, "(N, C, H, W)")
    w = check_array(w, "w", 6, _W_DOC)
    b = check_array(b, "b", 3, "(H_out, W_out, F)")
    S, P, D = check_conv_param(conv_param)
    N, C, H, W = x.shape
    _, _, F, Cw, HH, WW = w.shape
    if C != Cw:
        raise ValueError(
            f"channel mismatch: x has C = {C} channels (shape {x.shape}) but the filters "
            f"w expect C = {Cw} (shape {w.shape}); w must be {_W_DOC}"
        )
    if HH < 1 or WW < 1 or F < 1:
        raise ValueError(f"w must be {_W_DOC} with F, HH, WW >= 1, got shape {w.shape}")
    H_out, W_out = conv_output_shape(H, W, HH, WW, S, P, D)
    if w.shape[:2] != (H_out, W_out):
        raise ValueError(
            f"w must have one filter bank per output position, {_W_DOC} with "
            f"(H_out, W_out) = ({H_out}, {W_out}) for this input and conv_param "
            f"(stride {S}, pad {P}, dilation {D}), got w shape {w.shape}"
        )
    if b.shape != (H_out, W_out, F):
        raise ValueError(
            f"b must have shape (H_out, W_out, F) = {(H_out, W_out, F)}, got {b.shape}"
        )
    return x, w, b, S, P, D, H_out, W_out


def locally_connected_forward(x, w, b, conv_param):
    """Forward pass of a locally-connected layer (unshared weights).

    Vectorised: the receptive fields are gathered once (as for ``im2col``), arranged
    as ``(H'*W', N, C*HH*WW)``, and each output position multiplies its own
    ``(C*HH*WW, F)`` weight matrix: one batched matrix multiply over the ``H'*W'``
    positions.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
        Input batch, any strides.
    w : ndarray, shape (H', W', F, C, HH, WW)
        One filter bank per output position. ``H'`` and ``W'`` must equal the output
        size the conv formula gives for this input and ``conv_param``:
        ``H' = 1 + (H + 2P - (D*(HH-1) + 1)) / S``, likewise ``W'``.
    b : ndarray, shape (H', W', F)
        One bias per output position and filter.
    conv_param : dict
        ``'stride'`` S, ``'pad'`` P, optional ``'dilation'`` D (1 = contiguous).

    Returns
    -------
    out : ndarray, shape (N, F, H', W')
        Dtype: NumPy's promotion of ``x`` and ``w``.
    cache : tuple
        ``(x_shape, (x_dtype, w_dtype, b_dtype), (S, P, D), w, patches)``: ``w`` in
        the computation dtype and ``patches`` the gathered receptive fields, shape
        (H'*W', N, C*HH*WW).

    Raises
    ------
    ValueError
        Wrong numbers of dimensions, channel mismatch, ``w.shape[:2]`` different from
        the computed output size ``(H', W')``, ``b`` not (H', W', F), or an invalid
        geometry (non-integer output size, filter larger than the padded input,
        stride < 1, pad < 0, dilation < 1).
    TypeError
        Non-integer hyperparameters or non-numeric arrays.
    """
    x, w, b, S, P, D, H_out, W_out = _setup(x, w, b, conv_param)
    N, C, H, W = x.shape
    _, _, F, _, HH, WW = w.shape
    K = C * HH * WW
    dtype = np.result_type(x.dtype, w.dtype)
    padded = pad_channels_first(x, P, dtype)
    fields = receptive_fields(padded, HH, WW, S, D, H_out, W_out)  # (C,HH,WW,N,H',W')
    patches = np.ascontiguousarray(
        fields.transpose(4, 5, 3, 0, 1, 2)).reshape(H_out * W_out, N, K)
    w_mat = w.reshape(H_out * W_out, F, K).astype(dtype, copy=False)
    out_pos = np.matmul(patches, w_mat.transpose(0, 2, 1))           # (H'*W', N, F)
    out_pos += b.reshape(H_out * W_out, 1, F)
    out = np.ascontiguousarray(out_pos.reshape(H_out, W_out, N, F).transpose(2, 3, 0, 1))
    cache = (x.shape, (x.dtype, w.dtype, b.dtype), (S, P, D), w.astype(dtype, copy=False),
             patches)
    return out, cache


def locally_connected_backward(dout, cache):
    """Backward pass of a locally-connected layer.

    Per output position ``p``: ``dw[p] = dout[p].T @ patches[p]``, ``db[p] = sum over
    the batch of dout[p]`` and ``dpatches[p] = dout[p] @ w[p]``; the receptive-field
    gradients are added back onto the input pixels with ``col2im`` (overlaps sum).

    Parameters
    ----------
    dout : ndarray, shape (N, F, H', W')
        Upstream gradient.
    cache : tuple
        From :func:`locally_connected_forward`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    dw : ndarray, shape (H', W', F, C, HH, WW)
    db : ndarray, shape (H', W', F)
        Each in the dtype of ``x``, ``w`` and ``b`` respectively.

    Raises
    ------
    ValueError
        If ``dout`` does not have the shape of the forward output.
    """
    x_shape, (x_dtype, w_dtype, b_dtype), (S, P, D), w, patches = cache
    N, C, H, W = x_shape
    H_out, W_out, F, _, HH, WW = w.shape
    K = C * HH * WW
    dout = check_dout(dout, (N, F, H_out, W_out), "locally-connected",
                      same_ndim=True)
    dout_pos = np.ascontiguousarray(
        dout.astype(w.dtype, copy=False).transpose(2, 3, 0, 1)).reshape(H_out * W_out, N, F)
    dw = np.matmul(dout_pos.transpose(0, 2, 1), patches)               # (H'*W', F, K)
    db = dout_pos.sum(axis=1)                                          # (H'*W', F)
    dpatches = np.matmul(dout_pos, w.reshape(H_out * W_out, F, K))     # (H'*W', N, K)
    # To im2col's column layout (C*HH*WW, N*H'*W'), then add back onto the pixels.
    d_cols = np.ascontiguousarray(
        dpatches.reshape(H_out, W_out, N, K).transpose(3, 2, 0, 1)).reshape(K, -1)
    dx_padded = col2im_padded(d_cols, C, N, H + 2 * P, W + 2 * P, HH, WW, S, D,
                                       H_out, W_out)
    dx = np.ascontiguousarray(dx_padded[:, :, P:P + H, P:P + W].transpose(1, 0, 2, 3))
    return (dx.astype(x_dtype, copy=False), dw.reshape(w.shape).astype(w_dtype, copy=False),
            db.reshape(H_out, W_out, F).astype(b_dtype, copy=False))
