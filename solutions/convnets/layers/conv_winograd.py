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
float32 digits; see its error bound).

Both run on the tiles of :mod:`convnets.layers.conv_tiles`, as the tiled FFT does:
every transform is one matrix product over all tiles at once. ``B^T d B`` of an a x a
tile is ``kron(B^T, B^T)`` (a*a, a*a) times the tile flattened, so with the tiles as
the columns of an (a*a, tiles*C) array it is a single GEMM with inner dimension a*a
(:meth:`WinogradTransform.kron`), the same code serving any F(m x m, 3x3)
(:data:`WINOGRAD_F2`, :data:`WINOGRAD_F4`). (Written as additions on stacked slices,
F(2x2, 3x3) took 179 ms on a VGG 3x3 layer at batch 8, 3x im2col's time, most of it
copying; as two products, the columns by ``B`` then the rows by ``B^T``, each pass
went over the tiles' memory twice: one product took 0.61 of that time on
convnet-benchmarks' L5 at batch 2, 0.64 on VGG-A's 512-channel 14x14 layer, 0.84-0.96
on VGG's 64-channel 56x56 ones.)

Shapes and conventions are those of :mod:`convnets.layers.conv_naive`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..checks import check_dout
from .conv_tiles import (
    TileGrid,
    dout_blocks,
    input_patches,
    output_to_nchw,
    overlap_add,
)
from .im2col import check_conv_layer

__all__ = ["conv_forward_winograd", "conv_backward_winograd", "conv_forward_winograd4",
           "conv_backward_winograd4", "winograd_applies", "WinogradTransform",
           "WINOGRAD_F2", "WINOGRAD_F4", "WINOGRAD4_FLOAT32_BOUND"]

# G for F(2x2, 3x3): the filter transform U = G g G^T (4x3).
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
        transformed input tiles ``'V'`` (16, N*th*tw, C).

    Raises
    ------
    ValueError, TypeError
        As :func:`conv_forward_naive`; and ValueError when the filters are not 3x3 or
        the stride or the dilation is not 1.
    """
    return _winograd_forward(x, w, b, conv_param, WINOGRAD_F2, "winograd")


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
        If ``dout`` does not have the shape of the forward output, or ``cache`` is not
        a cache of :func:`conv_forward_winograd`.
    """
    return _winograd_backward(dout, cache, WINOGRAD_F2, "winograd", compute_dx)


# --- the transforms of F(m x m, 3x3) as matrices, and the code they share -----------

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

    def kron(self, dtype):
        """The three transforms as single matrices on flattened tiles, in ``dtype``:
        ``A^T Y A`` of an a x a tile is ``kron(A^T, A^T) @ Y.ravel()`` (m*m, a*a), and
        likewise ``G g G^T`` (a*a, 9) and ``B^T d B`` (a*a, a*a). One product over all
        tiles per transform, instead of two passes over the tiles' memory."""
        return tuple(np.kron(X, X).astype(dtype) for X in (self.AT, self.G, self.BT))


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


def _winograd_forward(x, w, b, conv_param, transform: WinogradTransform, name: str):
    x, w, b, S, P, D, H_out, W_out = check_conv_layer(x, w, b, conv_param)
    broken = winograd_applies(w.shape, S, D)
    if broken:
        raise ValueError(f"method={name!r} (F({transform.m}x{transform.m}, 3x3)) does not "
                         f"apply: {broken}")
    N, C, H, W = x.shape
    F = w.shape[0]
    a, m = transform.tile, transform.m
    dtype = np.result_type(x.dtype, w.dtype)
    w = np.ascontiguousarray(w, dtype=dtype)
    kron_A, kron_G, kron_B = transform.kron(dtype)
    g = TileGrid(N, H, W, 3, 3, P, 1, a, a)             # tiles of a x a, m x m outputs each
    V = (kron_B @ input_patches(x, g, P, dtype).reshape(a * a, -1)).reshape(a * a, g.B, C)
    U = (kron_G @ w.reshape(F * C, 9).T).reshape(a * a, F, C)
    M = np.matmul(U, V.transpose(0, 2, 1))                                # (a*a, F, B)
    Y = (kron_A @ M.reshape(a * a, F * g.B)).reshape(m, m, F * g.B)
    out = output_to_nchw(Y, g, b, 1, H_out, W_out, dtype)
    cache = {"method": name, "x_shape": x.shape, "x_dtype": x.dtype, "w_dtype": w.dtype,
             "b_dtype": b.dtype, "w": w, "stride": S, "pad": P, "dilation": D,
             "U": U, "V": V}
    return out, cache


def _winograd_backward(dout, cache, transform: WinogradTransform, name: str,
                       compute_dx: bool):
    if cache.get("method") != name:
        raise ValueError(f"cache['method'] must be {name!r} (a cache of "
                         f"conv_forward_{name}), got {cache.get('method')!r}")
    N, C, H, W = cache["x_shape"]
    w, P = cache["w"], cache["pad"]
    F = w.shape[0]
    a, m = transform.tile, transform.m
    H_out, W_out = H + 2 * P - 2, W + 2 * P - 2
    dout = check_dout(dout, (N, F, H_out, W_out), "conv", same_ndim=True)
    dtype = w.dtype
    kron_A, kron_G, kron_B = transform.kron(dtype)
    dout = dout.astype(dtype, copy=False)
    db = dout.sum(axis=(0, 2, 3))
    g = TileGrid(N, H, W, 3, 3, P, 1, a, a)
    U, V = cache["U"], cache["V"]
    # The transforms transposed: dM = A dY A^T per m x m block of dout (zero beyond it).
    blocks = dout_blocks(dout, g, 1, dtype).reshape(m * m, -1)
    dM = (kron_A.T @ blocks).reshape(a * a, g.B, F)
    dU = np.matmul(dM.transpose(0, 2, 1), V)                              # (a*a, F, C)
    dw = (dU.reshape(a * a, F * C).T @ kron_G).reshape(F, C, 3, 3)        # G^T dU G
    dx = None
    if compute_dx:
        dV = np.matmul(dM, U)                                             # (a*a, B, C)
        dd = (kron_B.T @ dV.reshape(a * a, g.B * C)).reshape(a, a, -1)    # B dV B^T
        dx = overlap_add(dd, g, P, H, W, cache["x_dtype"])
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
        transformed input tiles ``'V'`` (36, N*th*tw, C).

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
    return _winograd_backward(dout, cache, WINOGRAD_F4, "winograd4", compute_dx)
