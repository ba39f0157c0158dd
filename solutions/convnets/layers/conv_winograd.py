"""Convolution by Winograd minimal filtering, F(2x2, 3x3) (Lavin & Gray 2015).

For 3x3 filters at stride 1 and dilation 1 (any padding). The padded input is cut into
overlapping 4x4 tiles at stride 2; each tile gives a 2x2 block of outputs. In the
transformed domain a 2x2 block of a 3x3 correlation costs 16 multiplications instead
of 36 (2.25x fewer):

    Y = A^T [ (G g G^T) * (B^T d B) ] A

with ``d`` a 4x4 input tile, ``g`` a 3x3 filter, ``*`` the elementwise product, and

    B^T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]
    G   = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]]
    A^T = [[1, 1, 1, 0], [0, 1, -1, -1]]

Summed over the channels, the elementwise products become 16 matrix multiplies, one
per transformed position ``(xi, nu)``: ``M[xi, nu] = U[xi, nu] (F, C) @ V[xi, nu]
(C, tiles)``; those 16 GEMMs do all the multiplications. The backward pass runs the
same transforms transposed: ``dM = A dY A^T``, ``dU = dM @ V^T`` (then ``dw = G^T dU
G``) and ``dV = U^T @ dM`` (then ``dd = B dV B^T``, added back onto the overlapping
tiles).

Shapes and conventions are those of :mod:`convnets.layers.conv_naive`.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..checks import check_dout
from .im2col import check_conv_layer

__all__ = ["conv_forward_winograd", "conv_backward_winograd", "winograd_applies"]

# G for F(2x2, 3x3): the filter transform U = G g G^T (4x3). B^T and A^T are applied
# below as additions (their entries are 0 and +-1).
_G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])


def winograd_applies(w_shape, S: int, D: int) -> str | None:
    """None when F(2x2, 3x3) applies to filters of ``w_shape`` (F, C, HH, WW) at stride
    ``S`` and dilation ``D``; otherwise the rule it breaks, with the values."""
    HH, WW = w_shape[2], w_shape[3]
    broken = []
    if (HH, WW) != (3, 3):
        broken.append(f"filters must be 3x3, got HH x WW = {HH}x{WW}")
    if S != 1:
        broken.append(f"stride must be 1, got {S}")
    if D != 1:
        broken.append(f"dilation must be 1, got {D}")
    return "; ".join(broken) or None


def _input_transform(d):
    """B^T d B on the last two axes of ``d`` (..., 4, 4), as additions."""
    t = np.stack([d[..., 0, :] - d[..., 2, :], d[..., 1, :] + d[..., 2, :],
                  d[..., 2, :] - d[..., 1, :], d[..., 1, :] - d[..., 3, :]], axis=-2)
    return np.stack([t[..., 0] - t[..., 2], t[..., 1] + t[..., 2],
                     t[..., 2] - t[..., 1], t[..., 1] - t[..., 3]], axis=-1)


def _input_transform_adjoint(v):
    """B v B^T on the last two axes of ``v`` (..., 4, 4): the adjoint of B^T d B."""
    t = np.stack([v[..., 0, :], v[..., 1, :] - v[..., 2, :] + v[..., 3, :],
                  -v[..., 0, :] + v[..., 1, :] + v[..., 2, :], -v[..., 3, :]], axis=-2)
    return np.stack([t[..., 0], t[..., 1] - t[..., 2] + t[..., 3],
                     -t[..., 0] + t[..., 1] + t[..., 2], -t[..., 3]], axis=-1)


def _output_transform(m):
    """A^T m A on the first two axes of ``m`` (4, 4, ...) -> (2, 2, ...)."""
    t = np.stack([m[0] + m[1] + m[2], m[1] - m[2] - m[3]])
    return np.stack([t[:, 0] + t[:, 1] + t[:, 2], t[:, 1] - t[:, 2] - t[:, 3]], axis=1)


def _output_transform_adjoint(y):
    """A y A^T on the first two axes of ``y`` (2, 2, ...) -> (4, 4, ...)."""
    t = np.stack([y[0], y[0] + y[1], y[0] - y[1], -y[1]])
    return np.stack([t[:, 0], t[:, 0] + t[:, 1], t[:, 0] - t[:, 1], -t[:, 1]], axis=1)


def _tiles(x, P, th, tw, dtype):
    """The 4x4 input tiles at stride 2 of ``x`` (N, C, H, W) zero-padded by P (and on the
    bottom/right up to 2*th+2 x 2*tw+2): a contiguous (C, N, th, tw, 4, 4) array."""
    N, C, H, W = x.shape
    padded = np.zeros((C, N, 2 * th + 2, 2 * tw + 2), dtype=dtype)
    rows, cols = min(H, 2 * th + 2 - P), min(W, 2 * tw + 2 - P)
    padded[:, :, P:P + rows, P:P + cols] = x[:, :, :rows, :cols].transpose(1, 0, 2, 3)
    sc, sn, sh, sw = padded.strides
    return as_strided(padded, shape=(C, N, th, tw, 4, 4),
                      strides=(sc, sn, 2 * sh, 2 * sw, sh, sw), writeable=False)


def conv_forward_winograd(x, w, b, conv_param):
    """Forward pass of a 3x3, stride-1 convolutional layer by Winograd F(2x2, 3x3).

    The same contract and results as :func:`conv_forward_naive` (slow but
    straightforward) for the layers it applies to, with 16 multiplications per 2x2
    block of outputs and channel instead of 36: the 16 GEMMs
    ``U[xi, nu] (F, C) @ V[xi, nu] (C, N*th*tw)``, ``th = ceil(H'/2)``,
    ``tw = ceil(W'/2)`` (see the module docstring for the transforms).

    Error: the transforms only add, subtract and halve, so float64 agrees with the
    naive layer to about 1e-13 relative. In float32, the largest absolute error of the
    output, the input gradient and the filter gradient against float64 is below
    ``1e-5`` times the largest absolute value of the float64 result, on unit-normal
    inputs with filters scaled by ``1/sqrt(C*9)`` (tested by
    ``tests/test_conv_strategies.py``; measured 2e-7 to 7e-7).

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
        Input batch; any strides.
    w : ndarray, shape (F, C, 3, 3)
        Filters.
    b : ndarray, shape (F,)
        Biases.
    conv_param : dict
        ``'stride'`` (must be 1), ``'pad'`` P (any) and optionally ``'dilation'``
        (must be 1).

    Returns
    -------
    out : ndarray, shape (N, F, H', W')
        ``H' = H + 2P - 2``, ``W' = W + 2P - 2``; dtype NumPy's promotion of ``x`` and
        ``w``.
    cache : dict
        ``'method'`` = ``'winograd'``, ``'x_shape'``, the input dtypes ``'x_dtype'``,
        ``'w_dtype'``, ``'b_dtype'``, ``'w'`` (in the computation dtype), ``'stride'``,
        ``'pad'``, ``'dilation'``, the transformed filters ``'U'`` (16, F, C) and the
        transformed input tiles ``'V'`` (16, C, N*th*tw).

    Raises
    ------
    ValueError, TypeError
        As :func:`conv_forward_naive`; and ValueError when the filters are not 3x3 or
        the stride or the dilation is not 1.
    """
    x, w, b, S, P, D, H_out, W_out = check_conv_layer(x, w, b, conv_param)
    broken = winograd_applies(w.shape, S, D)
    if broken:
        raise ValueError(f"method='winograd' (F(2x2, 3x3)) does not apply: {broken}")
    N, C, H, W = x.shape
    F = w.shape[0]
    dtype = np.result_type(x.dtype, w.dtype)
    w = np.ascontiguousarray(w, dtype=dtype)
    th, tw = -(-H_out // 2), -(-W_out // 2)
    G = _G.astype(dtype)
    U = np.einsum("ik,fckl,jl->ijfc", G, w, G).reshape(16, F, C)
    V = _input_transform(_tiles(x, P, th, tw, dtype))          # (C, N, th, tw, 4, 4)
    V = np.ascontiguousarray(V.transpose(4, 5, 0, 1, 2, 3)).reshape(16, C, N * th * tw)
    M = np.matmul(U, V).reshape(4, 4, F, N, th, tw)
    Y = _output_transform(M)                                     # (2, 2, F, N, th, tw)
    out = np.empty((N, F, H_out, W_out), dtype=dtype)
    blocks = Y.transpose(3, 2, 4, 0, 5, 1).reshape(N, F, 2 * th, 2 * tw)
    np.add(blocks[:, :, :H_out, :W_out], b.astype(dtype)[:, None, None], out=out)
    cache = {"method": "winograd", "x_shape": x.shape, "x_dtype": x.dtype,
             "w_dtype": w.dtype, "b_dtype": b.dtype, "w": w, "stride": S, "pad": P,
             "dilation": D, "U": U, "V": V}
    return out, cache


def conv_backward_winograd(dout, cache, *, compute_dx=True):
    """Backward pass of :func:`conv_forward_winograd`.

    With ``dM = A dY A^T`` per 2x2 block of ``dout`` (zero beyond H' x W'):
    ``dw = G^T (dM @ V^T) G`` and ``dx`` = ``B (U^T @ dM) B^T`` per tile, added back
    onto the overlapping 4x4 tiles of the padded input and cut to H x W. Error bounds
    as in :func:`conv_forward_winograd`.

    Parameters
    ----------
    dout : ndarray, shape (N, F, H', W')
        Upstream gradient, any strides.
    cache : dict
        From :func:`conv_forward_winograd`.
    compute_dx : bool, keyword-only, default True
        False skips ``dx`` (returned as None).

    Returns
    -------
    dx : ndarray, shape (N, C, H, W), or None when ``compute_dx`` is False
    dw : ndarray, shape (F, C, 3, 3)
    db : ndarray, shape (F,)
        Each in the dtype of ``x``, ``w`` and ``b`` respectively.

    Raises
    ------
    ValueError
        If ``dout`` does not have the shape of the forward output.
    """
    N, C, H, W = cache["x_shape"]
    w, P = cache["w"], cache["pad"]
    F = w.shape[0]
    H_out, W_out = H + 2 * P - 2, W + 2 * P - 2
    dout = check_dout(dout, (N, F, H_out, W_out), "conv", same_ndim=True)
    dtype = w.dtype
    dout = dout.astype(dtype, copy=False)
    th, tw = -(-H_out // 2), -(-W_out // 2)
    db = dout.sum(axis=(0, 2, 3))

    blocks = np.zeros((N, F, 2 * th, 2 * tw), dtype=dtype)
    blocks[:, :, :H_out, :W_out] = dout
    dY = blocks.reshape(N, F, th, 2, tw, 2).transpose(3, 5, 1, 0, 2, 4)  # (2, 2, F, N, th, tw)
    dM = _output_transform_adjoint(dY).reshape(16, F, N * th * tw)
    G = _G.astype(dtype)
    dU = np.matmul(dM, cache["V"].transpose(0, 2, 1)).reshape(4, 4, F, C)
    dw = np.einsum("ik,ijfc,jl->fckl", G, dU, G)
    dx = None
    if compute_dx:
        dV = np.matmul(cache["U"].transpose(0, 2, 1), dM).reshape(4, 4, C, N, th, tw)
        dd = _input_transform_adjoint(dV.transpose(2, 3, 4, 5, 0, 1))  # (C, N, th, tw, 4, 4)
        dpadded = np.zeros((C, N, 2 * th + 2, 2 * tw + 2), dtype=dtype)
        for a in (0, 1):
            for c in (0, 1):
                piece = dd[..., 2 * a:2 * a + 2, 2 * c:2 * c + 2]     # (C, N, th, tw, 2, 2)
                dpadded[:, :, 2 * a:2 * a + 2 * th, 2 * c:2 * c + 2 * tw] += (
                    piece.transpose(0, 1, 2, 4, 3, 5).reshape(C, N, 2 * th, 2 * tw))
        dx = np.zeros((N, C, H, W), dtype=cache["x_dtype"])
        rows, cols = min(H, 2 * th + 2 - P), min(W, 2 * tw + 2 - P)
        dx[:, :, :rows, :cols] = dpadded[:, :, P:P + rows, P:P + cols].transpose(1, 0, 2, 3)
    return (dx, np.ascontiguousarray(dw, dtype=cache["w_dtype"]),
            db.astype(cache["b_dtype"], copy=False))
