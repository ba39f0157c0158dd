"""Convolution by Winograd minimal filtering, F(2x2, 3x3) and F(4x4, 3x3) (Lavin & Gray 2015).

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

F(4x4, 3x3) (``method='winograd4'``, :func:`conv_forward_winograd4`) cuts 6x6 tiles at
stride 4, each giving a 4x4 block of outputs with 36 multiplications instead of 144
(4x fewer), with the 6x6 ``B^T``, 6x3 ``G`` and 4x6 ``A^T`` of Lavin & Gray (their
entries 4, 5, 8, 1/6, 1/24: the transforms scale values up and down, which costs
float32 digits; see its error bound). Its transforms are applied as small matrix
products (:data:`WINOGRAD_F4`), the same code serving any F(m x m, 3x3).

Shapes and conventions are those of :mod:`convnets.layers.conv_naive`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..checks import check_dout
from .im2col import check_conv_layer

__all__ = ["conv_forward_winograd", "conv_backward_winograd", "conv_forward_winograd4",
           "conv_backward_winograd4", "winograd_applies", "WinogradTransform",
           "WINOGRAD_F2", "WINOGRAD_F4", "WINOGRAD4_FLOAT32_BOUND"]

# G for F(2x2, 3x3): the filter transform U = G g G^T (4x3). B^T and A^T are applied
# below as additions (their entries are 0 and +-1).
_G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])


def winograd_applies(w_shape, S: int, D: int) -> str | None:
    """None when F(2x2, 3x3) and F(4x4, 3x3) apply to filters of ``w_shape``
    (F, C, HH, WW) at stride ``S`` and dilation ``D``; otherwise the rule it breaks,
    with the values."""
    HH, WW = w_shape[2], w_shape[3]
    broken = []
    if (HH, WW) != (3, 3):
        broken.append(f"filters must be 3x3, got HH x WW = {HH}x{WW}")
    if S != 1:
        broken.append(f"stride must be 1, got {S}")
    if D != 1:
        broken.append(f"dilation must be 1, got {D}")
    return "; ".join(broken) or None


def _filter_transform(G, w):
    """``G g G^T`` for every filter ``g = w[f, c]`` (3x3): (a*a, F, C), contiguous.

    Entry (i, j) is ``sum_kl G[i, k] G[j, l] g[k, l]``, so all filters at once are one
    GEMM with the Kronecker product: ``w (F*C, 9) @ kron(G, G).T (9, a*a)`` (a
    three-operand einsum, or tensordots over the 3x3 axes, run 20-60x slower here)."""
    F, C = w.shape[:2]
    kron = np.kron(G, G)                                   # (a*a, 9)
    return np.ascontiguousarray((w.reshape(F * C, 9) @ kron.T).T).reshape(-1, F, C)


def _filter_transform_adjoint(G, dU):
    """``G^T dU G`` for every (f, c) of ``dU`` (a*a, F, C): dw (F, C, 3, 3)."""
    F, C = dU.shape[1:]
    kron = np.kron(G, G)
    return (dU.reshape(-1, F * C).T @ kron).reshape(F, C, 3, 3)


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
    U = _filter_transform(G, w)
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
    # Transposed operands copied first: a stacked matmul on transposed views runs
    # outside BLAS (10-100x slower).
    dU = np.matmul(dM, np.ascontiguousarray(cache["V"].transpose(0, 2, 1)))
    dw = _filter_transform_adjoint(G, dU)
    dx = None
    if compute_dx:
        U_t = np.ascontiguousarray(cache["U"].transpose(0, 2, 1))
        dV = np.matmul(U_t, dM).reshape(4, 4, C, N, th, tw)
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


# --- F(m x m, 3x3) with the transforms as matrices: F(4x4, 3x3) ----------------------

@dataclass(frozen=True)
class WinogradTransform:
    """The matrices of F(m x m, r x r): ``Y = A^T [(G g G^T) * (B^T d B)] A`` on tiles
    of ``a = m + r - 1`` pixels at stride ``m``. ``AT`` (m, a), ``G`` (a, r), ``BT``
    (a, a)."""

    m: int
    AT: np.ndarray
    G: np.ndarray
    BT: np.ndarray

    @property
    def tile(self) -> int:
        return self.BT.shape[0]


WINOGRAD_F2 = WinogradTransform(
    m=2, G=_G,
    AT=np.array([[1.0, 1, 1, 0], [0, 1, -1, -1]]),
    BT=np.array([[1.0, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]))

WINOGRAD_F4 = WinogradTransform(
    m=4,
    AT=np.array([[1.0, 1, 1, 1, 1, 0],
                 [0, 1, -1, 2, -2, 0],
                 [0, 1, 1, 4, 4, 0],
                 [0, 1, -1, 8, -8, 1]]),
    G=np.array([[1 / 4, 0, 0],
                [-1 / 6, -1 / 6, -1 / 6],
                [-1 / 6, 1 / 6, -1 / 6],
                [1 / 24, 1 / 12, 1 / 6],
                [1 / 24, -1 / 12, 1 / 6],
                [0, 0, 1]]),
    BT=np.array([[4.0, 0, -5, 0, 1, 0],
                 [0, -4, -4, 1, 1, 0],
                 [0, 4, -4, -1, 1, 0],
                 [0, -2, -1, 2, 1, 0],
                 [0, 2, -1, -2, 1, 0],
                 [0, 4, 0, -5, 0, 1]]))

# The float32 error bound of F(4x4, 3x3), stated in its docstring and tested: ten
# times that of the other strategies (1e-5). method='auto' leaves out, in float32 and
# float16, every strategy whose bound is above 1e-5.
WINOGRAD4_FLOAT32_BOUND = 1e-4


def _tiles_of(x, P, th, tw, dtype, m, a):
    """The a x a input tiles at stride m of ``x`` (N, C, H, W) zero-padded by P (and on
    the bottom/right up to m*th + a - m): a strided view (C, N, th, tw, a, a)."""
    N, C, H, W = x.shape
    Hp, Wp = m * th + a - m, m * tw + a - m
    padded = np.zeros((C, N, Hp, Wp), dtype=dtype)
    rows, cols = min(H, Hp - P), min(W, Wp - P)
    padded[:, :, P:P + rows, P:P + cols] = x[:, :, :rows, :cols].transpose(1, 0, 2, 3)
    sc, sn, sh, sw = padded.strides
    return as_strided(padded, shape=(C, N, th, tw, a, a),
                      strides=(sc, sn, m * sh, m * sw, sh, sw), writeable=False)


def _winograd_forward(x, w, b, conv_param, transform: WinogradTransform, name: str):
    x, w, b, S, P, D, H_out, W_out = check_conv_layer(x, w, b, conv_param)
    broken = winograd_applies(w.shape, S, D)
    if broken:
        raise ValueError(f"method={name!r} (F({transform.m}x{transform.m}, 3x3)) does not "
                         f"apply: {broken}")
    N, C, H, W = x.shape
    F = w.shape[0]
    m, a = transform.m, transform.tile
    dtype = np.result_type(x.dtype, w.dtype)
    w = np.ascontiguousarray(w, dtype=dtype)
    AT, G, BT = (t.astype(dtype) for t in (transform.AT, transform.G, transform.BT))
    th, tw = -(-H_out // m), -(-W_out // m)
    U = _filter_transform(G, w)
    d = _tiles_of(x, P, th, tw, dtype, m, a)                      # (C, N, th, tw, a, a)
    V = np.tensordot(np.tensordot(BT, d, axes=(1, 4)), BT, axes=(5, 1))  # (i, C, N, th, tw, j)
    V = np.ascontiguousarray(V.transpose(0, 5, 1, 2, 3, 4)).reshape(a * a, C, N * th * tw)
    M = np.matmul(U, V).reshape(a, a, F, N, th, tw)
    Y = np.tensordot(np.tensordot(AT, M, axes=(1, 0)), AT, axes=(1, 1))  # (m, F, N, th, tw, m)
    blocks = Y.transpose(2, 1, 3, 0, 4, 5).reshape(N, F, m * th, m * tw)
    out = np.empty((N, F, H_out, W_out), dtype=dtype)
    np.add(blocks[:, :, :H_out, :W_out], b.astype(dtype)[:, None, None], out=out)
    cache = {"method": name, "x_shape": x.shape, "x_dtype": x.dtype, "w_dtype": w.dtype,
             "b_dtype": b.dtype, "w": w, "stride": S, "pad": P, "dilation": D,
             "U": U, "V": V}
    return out, cache


def _winograd_backward(dout, cache, transform: WinogradTransform, compute_dx: bool):
    N, C, H, W = cache["x_shape"]
    w, P = cache["w"], cache["pad"]
    F = w.shape[0]
    m, a = transform.m, transform.tile
    H_out, W_out = H + 2 * P - 2, W + 2 * P - 2
    dout = check_dout(dout, (N, F, H_out, W_out), "conv", same_ndim=True)
    dtype = w.dtype
    AT, G, BT = (t.astype(dtype) for t in (transform.AT, transform.G, transform.BT))
    dout = dout.astype(dtype, copy=False)
    th, tw = -(-H_out // m), -(-W_out // m)
    db = dout.sum(axis=(0, 2, 3))

    blocks = np.zeros((N, F, m * th, m * tw), dtype=dtype)
    blocks[:, :, :H_out, :W_out] = dout
    dY = blocks.reshape(N, F, th, m, tw, m).transpose(3, 5, 1, 0, 2, 4)  # (m, m, F, N, th, tw)
    # dM = A dY A^T per block: (i, F, N, th, tw, j) -> (i*a + j, F, tiles)
    dM = np.tensordot(np.tensordot(AT, dY, axes=(0, 0)), AT, axes=(1, 0))
    dM = np.ascontiguousarray(dM.transpose(0, 5, 1, 2, 3, 4)).reshape(a * a, F, N * th * tw)
    dU = np.matmul(dM, np.ascontiguousarray(cache["V"].transpose(0, 2, 1)))
    dw = _filter_transform_adjoint(G, dU)
    dx = None
    if compute_dx:
        U_t = np.ascontiguousarray(cache["U"].transpose(0, 2, 1))
        dV = np.matmul(U_t, dM).reshape(a, a, C, N, th, tw)
        # dd = B dV B^T per tile: (r, C, N, th, tw, s), added back onto the overlapping
        # tiles (tap (r, s) of tile (t, u) is padded pixel (m*t + r, m*u + s)).
        dd = np.tensordot(np.tensordot(BT, dV, axes=(0, 0)), BT, axes=(1, 0))
        dpadded = np.zeros((C, N, m * th + a - m, m * tw + a - m), dtype=dtype)
        for r in range(a):
            for s in range(a):
                dpadded[:, :, r:r + m * th:m, s:s + m * tw:m] += dd[r, ..., s]
        dx = np.zeros((N, C, H, W), dtype=cache["x_dtype"])
        rows, cols = min(H, dpadded.shape[2] - P), min(W, dpadded.shape[3] - P)
        dx[:, :, :rows, :cols] = dpadded[:, :, P:P + rows, P:P + cols].transpose(1, 0, 2, 3)
    return (dx, np.ascontiguousarray(dw, dtype=cache["w_dtype"]),
            db.astype(cache["b_dtype"], copy=False))


def conv_forward_winograd4(x, w, b, conv_param):
    """Forward pass of a 3x3, stride-1 convolutional layer by Winograd F(4x4, 3x3).

    The same contract and results as :func:`conv_forward_naive` (slow but
    straightforward) for the layers it applies to (3x3 filters, stride 1, dilation 1,
    any padding), and as :func:`conv_forward_winograd` (F(2x2, 3x3)), with 36
    multiplications per 4x4 block of outputs and channel instead of 144: the 36 GEMMs
    ``U[xi, nu] (F, C) @ V[xi, nu] (C, N*th*tw)``, ``th = ceil(H'/4)``,
    ``tw = ceil(W'/4)``, on 6x6 tiles at stride 4 (:data:`WINOGRAD_F4`).

    Error: float64 agrees with the naive layer to about 1e-13 relative. In float32 the
    transforms' large and fractional entries (up to 8 in ``A^T``, 5 in ``B^T``, 1/24 in
    ``G``) cost about one decimal digit against the other strategies: the largest
    absolute error of the output, the input gradient and the filter gradient against
    float64 is below :data:`WINOGRAD4_FLOAT32_BOUND` = ``1e-4`` times the largest
    absolute value of the float64 result, on unit-normal inputs with filters scaled by
    ``1/sqrt(C*9)`` (tested by ``tests/test_conv_strategies.py``; measured 1e-6 to
    4e-6, ten times F(2x2, 3x3)'s). ``method='auto'`` therefore never picks it for
    float32 or float16 (their bound is 1e-5).

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
        ``'method'`` = ``'winograd4'``, ``'x_shape'``, the input dtypes ``'x_dtype'``,
        ``'w_dtype'``, ``'b_dtype'``, ``'w'`` (in the computation dtype), ``'stride'``,
        ``'pad'``, ``'dilation'``, the transformed filters ``'U'`` (36, F, C) and the
        transformed input tiles ``'V'`` (36, C, N*th*tw).

    Raises
    ------
    ValueError, TypeError
        As :func:`conv_forward_naive`; and ValueError when the filters are not 3x3 or
        the stride or the dilation is not 1.
    """
    return _winograd_forward(x, w, b, conv_param, WINOGRAD_F4, "winograd4")


def conv_backward_winograd4(dout, cache, *, compute_dx=True):
    """Backward pass of :func:`conv_forward_winograd4`.

    The transforms transposed, as for F(2x2, 3x3): ``dM = A dY A^T`` per 4x4 block of
    ``dout`` (zero beyond H' x W'), ``dw = G^T (dM @ V^T) G`` and ``dx`` = ``B (U^T @
    dM) B^T`` per 6x6 tile, added back onto the overlapping tiles. Error bound as in
    :func:`conv_forward_winograd4`.

    Parameters
    ----------
    dout : ndarray, shape (N, F, H', W')
        Upstream gradient, any strides.
    cache : dict
        From :func:`conv_forward_winograd4`.
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
        If ``dout`` does not have the shape of the forward output, or ``cache`` is not
        a cache of :func:`conv_forward_winograd4`.
    """
    if cache.get("method") != "winograd4":
        raise ValueError(f"cache['method'] must be 'winograd4' (a cache of "
                         f"conv_forward_winograd4), got {cache.get('method')!r}")
    return _winograd_backward(dout, cache, WINOGRAD_F4, compute_dx)
