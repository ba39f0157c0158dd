"""The GEMM strategies of :func:`~convnets.layers.conv_fast.conv_forward_fast`.

``'im2col'`` (any stride) holds the notes' ``X_col`` in full, with a row of ones for
the bias. The two stride-1 strategies compute the same products on
the zero-padded input flattened to a grid of ``Hp*Wp`` positions per image, where tap
``(kh, kw)`` of every receptive field is the same row shifted by ``kh*D*Wp + kw*D``:

* ``'im2col-grid'`` (few channels): ``X_col`` of the padded grid, built and
  multiplied in blocks of columns that stay in cache, never in full;
* ``'shifted-gemm'`` (many channels, float32/float64): the grid stored channels
  last, one GEMM per filter tap on shifted views of it, accumulated by BLAS itself.

:mod:`convnets.layers.conv_fast` chooses between them and the ``im2col`` strategy
from the shapes (``method='auto'``), and exposes each as a named pair
(``conv_forward_im2col_grid``, ``conv_forward_shifted_gemm``, ...). The tests choose
each by name, and make many small blocks with ``conv_forward_fast(...,
block_columns=5)`` (every function below takes that count as ``columns``).
"""

from __future__ import annotations

import functools

import numpy as np
from numpy.lib.stride_tricks import as_strided
from scipy.linalg import get_blas_funcs

from .conv_winograd import winograd_applies
from .im2col import col2im_padded, pad_channels_first, receptive_fields

# Every way this package computes a convolution, by name (conv_forward_fast's method=).
CONV_STRATEGIES = ("im2col", "im2col-grid", "shifted-gemm", "winograd", "winograd4", "fft",
                   "fft-tiled")
# The strategies whose products run in SciPy's BLAS: a second OpenBLAS beside NumPy's,
# with a thread pool of its own whose threads spin for about 0.1-0.2 s after each
# product. A NumPy product started meanwhile shares the cores with them: Winograd on a
# small 3x3 layer took 1.2-1.4 ms after 'im2col' and 4-22 ms right after
# 'shifted-gemm'. Whatever times strategies one after another pauses after these.
SCIPY_BLAS_STRATEGIES = ("shifted-gemm",)


def check_conv_method(method, auto: bool) -> None:
    """ValueError naming ``method`` unless it is a strategy's name (or 'auto')."""
    names = (("auto",) if auto else ()) + CONV_STRATEGIES
    if not isinstance(method, str) or method not in names:
        raise ValueError(f"method must be one of {', '.join(map(repr, names))}, "
                         f"got {method!r}")


def conv_strategy_applies(method: str, w_shape, conv_param, dtype=np.float64) -> str | None:
    """None when strategy ``method`` computes a layer with filters of ``w_shape``
    (F, C, HH, WW), ``conv_param`` and computation ``dtype``; otherwise the rule it
    breaks, with the values.

    Raises
    ------
    ValueError
        If ``method`` is not one of :data:`CONV_STRATEGIES`.
    """
    check_conv_method(method, auto=False)
    S, D = conv_param.get("stride", 1), conv_param.get("dilation", 1)
    if method in ("im2col-grid", "shifted-gemm") and S != 1:
        return f"stride must be 1, got {S}"
    if method == "shifted-gemm" and np.dtype(dtype) not in (np.float32, np.float64):
        return f"dtype must be float32 or float64 (BLAS gemm), got {np.dtype(dtype).name}"
    if method in ("winograd", "winograd4"):
        return winograd_applies(w_shape, S, D)
    return None


# Bytes of the block kept in cache: the block of X_col ("im2col-grid") or the block of
# output accumulated over the taps ("shifted-gemm").
BLOCK_BYTES = 1 << 21
MIN_BLOCK_COLUMNS = 256
# The backward pass of "im2col-grid" scatters dX_col back with one slice-add per tap
# and block; its blocks are this many times larger, so that few-channel layers (where
# each add is small) do not spend their time in NumPy's per-call overhead.
DX_BLOCK_FACTOR = 4


def tap_offsets(HH: int, WW: int, D: int, Wp: int) -> list[int]:
    """Shift of tap (kh, kw), in order kh*WW + kw, on a row-major grid of width Wp."""
    return [kh * D * Wp + kw * D for kh in range(HH) for kw in range(WW)]


def block_columns(rows: int, dtype, total: int, factor: int = 1,
                  columns: int | None = None) -> int:
    """How many columns of a (rows, total) matrix to process at once: a block of
    ``factor * BLOCK_BYTES`` bytes (in cache for factor 1), or exactly ``columns``
    when given (the ``block_columns`` argument of ``conv_forward_fast``, with which
    tests make many small, partial blocks)."""
    if columns is not None:
        return min(columns, total)
    budget = factor * BLOCK_BYTES
    block = max(MIN_BLOCK_COLUMNS, budget // (rows * np.dtype(dtype).itemsize))
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


def positions_per_image(H_out: int, W_out: int, Wp: int) -> int:
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


# --- "im2col": X_col in full, with the bias trick ----------------------------------

def im2col_forward(x, w, b, S, P, D, H_out, W_out):
    """Forward of 'im2col': returns ``(out (N, F, H', W'), x_cols (K+1, N, H'*W'))``
    (``P`` an int, or a pair: rows, columns).

    ``x_cols`` is the notes' X_col (K = C*HH*WW rows, one column per output position,
    image after image) with a last row of ones, so that ``[W_row | b] @ x_cols`` is the
    output with the bias already added (the bias trick). The product is taken image by
    image (each image's columns are a strided block BLAS reads in place), which writes
    the output in NCHW order: no transpose of the output, no separate bias pass.
    """
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    K, M = C * HH * WW, H_out * W_out
    dtype = w.dtype
    fields = receptive_fields(pad_channels_first(x, P, dtype), HH, WW, S, D, H_out, W_out)
    x_cols = np.empty((K + 1, N, M), dtype=dtype)
    x_cols[:K].reshape(C, HH, WW, N, H_out, W_out)[...] = fields
    x_cols[K] = 1
    w_bias = np.empty((F, K + 1), dtype=dtype)
    w_bias[:, :K] = w.reshape(F, K)
    w_bias[:, K] = b
    out = np.matmul(w_bias, x_cols.transpose(1, 0, 2))
    return out.reshape(N, F, H_out, W_out), x_cols


# 'im2col''s backward takes its products image by image (on dout as it is) when each
# image has at least this many output positions, and otherwise one product over all
# images after a transposed copy of dout: OpenBLAS runs products whose inner dimension
# is H'*W' well only when that is long (dw of the CS231n speed case, H'*W' = 256:
# 0.97 ms by image against 1.6 ms; of convnet-benchmarks' L4, 100: 2.2 against 1.4).
PER_IMAGE_POSITIONS = 256
# ... summing at most this many bytes of per-image dw products at once (all of them
# at once would be 0.7 GB on convnet-benchmarks' L5 at its original batch of 128).
SUM_CHUNK_BYTES = 1 << 23


def im2col_backward(dout, x_cols, w, x_shape, S, P, D, compute_dx=True):
    """``(dx (N, C, H, W) or None, dw (F, C, HH, WW), db (F,))`` of 'im2col', from the
    forward's ``x_cols`` (K+1, N, H'*W').

    With ``dout_row`` = dout as (F, N*H'*W'): ``[dW_row | db].T = X_col @ dout_row.T``
    (the row of ones gives db) and ``dX_col = W_row.T @ dout_row``, as two GEMMs or
    image by image (:data:`PER_IMAGE_POSITIONS`), then dX_col is added back onto the
    pixels it came from (col2im: one strided slice-add per tap, or in float64 one
    ``np.add.at``). dx may be a transposed view. At stride 1, when dout's X_col is not
    much larger than dX_col, dx is instead a convolution of dout with the flipped
    filters (:func:`dx_by_convolution`).
    """
    N, C, H, W = x_shape
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    K, M = C * HH * WW, H_out * W_out
    dtype = w.dtype
    per_image = M >= PER_IMAGE_POSITIONS
    # [dW_row | db] (F, K+1) is computed as its transpose X_col @ dout.T when small
    # (faster in OpenBLAS), and as itself when large (DW_TRANSPOSED_ENTRIES).
    by_columns = dw_by_columns(K + 1, F, DW_TRANSPOSED_ENTRIES_PER_IMAGE if per_image
                               else DW_TRANSPOSED_ENTRIES)
    if per_image:
        # Image by image, on dout as it is (no transposed copy of it).
        dout_rows = dout.reshape(N, F, M)
        dw_bias = _dw_summed_by_image(dout_rows, x_cols.transpose(1, 0, 2), by_columns)
    else:
        dout_row = dout.transpose(1, 0, 2, 3).reshape(F, N * M)
        dw_bias = _dw_product(dout_row, x_cols.reshape(K + 1, N * M), by_columns)
    dw = dw_bias[:, :K].reshape(F, C, HH, WW)
    db = dw_bias[:, K].copy()
    if not compute_dx:
        return None, dw, db
    if dx_by_convolution_applies(x_shape, w.shape, S, H_out, W_out):
        return dx_by_convolution(dout, w, x_shape, P, D), dw, db
    if per_image:
        d_cols = np.empty((K, N * M), dtype=dtype)
        np.matmul(w.reshape(F, K).T, dout_rows, out=d_cols.reshape(K, N, M).transpose(1, 0, 2))
    else:
        d_cols = w.reshape(F, K).T @ dout_row
    if dtype == np.float64 and d_cols.size <= SCATTER_ENTRIES:
        return col2im_by_scatter(d_cols, x_shape, HH, WW, S, P, D, H_out, W_out), dw, db
    dx_padded = col2im_padded(d_cols, C, N, H + 2 * P, W + 2 * P, HH, WW, S, D, H_out, W_out)
    return dx_padded[:, :, P:P + H, P:P + W].transpose(1, 0, 2, 3), dw, db


# --- 'im2col''s dx as a convolution of dout, at stride 1 --------------------------------

# 'im2col' computes dx of a stride-1 layer as a forward convolution of dout when the
# X_col of dout (F*HH*WW x N*H*W) is at most this many times the dX_col that col2im
# would add back (C*HH*WW x N*H'*W'), i.e. F*H*W <= ratio * C*H'*W'. Measured (float32,
# dx alone, against the GEMM and col2im): 0.76 of the time on the VGG 3x3 case
# (F = C = 64: the product's inner dimension is F*9 instead of F), 0.92-0.99 on VGG-A's
# and GoogLeNet's 3x3 layers with F <= 1.33 C, but 1.2-1.8x slower at ratios of 1.4 and
# more (L3, L4, L5, VGG-A's layers that double the channels).
DX_BY_CONVOLUTION_RATIO = 1.35


def dx_by_convolution_applies(x_shape, w_shape, S: int, H_out: int, W_out: int) -> bool:
    """Whether 'im2col''s backward computes dx by :func:`dx_by_convolution`: stride 1,
    and dout's X_col at most :data:`DX_BY_CONVOLUTION_RATIO` times dX_col."""
    _, C, H, W = x_shape
    F = w_shape[0]
    return S == 1 and F * H * W <= DX_BY_CONVOLUTION_RATIO * C * H_out * W_out


def dx_by_convolution(dout, w, x_shape, P: int, D: int):
    """dx (N, C, H, W) of a stride-1 layer as the notes say the backward pass is: a
    convolution of ``dout`` with the filters flipped in both spatial axes, F and C
    swapped, dilation D, and ``dout`` zero-padded by ``D*(HH-1) - P`` rows and
    ``D*(WW-1) - P`` columns on each side (cropped by as many when the padding P is
    wider than the filter: those outputs saw only zeros).

    That is 'im2col''s own forward (:func:`im2col_forward`, no bias) on dout: the X_col
    of dout (F*HH*WW, N, H*W) copied, then one product per image that writes dx in NCHW
    order. It replaces the product ``W_row.T @ dout_row``, whose inner dimension is only
    F, and col2im's slice-adds.
    """
    N, C, H, W = x_shape
    _, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    Qh, Qw = D * (HH - 1) - P, D * (WW - 1) - P
    dout = dout[:, :, max(-Qh, 0):H_out - max(-Qh, 0), max(-Qw, 0):W_out - max(-Qw, 0)]
    w_flipped = w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)
    dx, _ = im2col_forward(dout, w_flipped, np.zeros(C, dtype=w.dtype), 1,
                           (max(Qh, 0), max(Qw, 0)), D, H, W)
    return dx


# --- 'im2col' on 1x1 layers: the input is already X_col -------------------------------

# A 1x1 filter at stride 1 without padding sees one pixel: each image's (C, H*W) block of
# the input is its block of X_col, with nothing to copy and nothing to add back. 'im2col'
# then multiplies the input as it is, image by image, when each image has at least this
# many positions (GoogLeNet's 1x1 layers, float32, forward + backward, two runs: 1.04-2.7x
# faster at 10x10 and larger; 0.9-1.05x at 7x7, whose per-image products are small).
POINTWISE_POSITIONS = 100


def pointwise_applies(w_shape, S: int, P: int, H_out: int, W_out: int) -> bool:
    """Whether 'im2col' multiplies the input in place (a 1x1 layer, stride 1, no padding,
    :data:`POINTWISE_POSITIONS` or more positions per image)."""
    return (w_shape[2] == w_shape[3] == 1 and S == 1 and P == 0
            and H_out * W_out >= POINTWISE_POSITIONS)


def pointwise_forward(x, w, b):
    """Forward of a 1x1 layer (see :func:`pointwise_applies`): ``(out (N, F, H, W),
    x_images (N, C, H*W))``, ``out[n] = W_row @ x[n] + b``. ``x_images`` is the input
    reshaped (a view when ``x`` is contiguous in the computation dtype)."""
    N, C, H, W = x.shape
    F = w.shape[0]
    x_images = x.reshape(N, C, H * W).astype(w.dtype, copy=False)
    out = np.matmul(w.reshape(F, C), x_images)
    out += b[:, None]
    return out.reshape(N, F, H, W), x_images


def pointwise_backward(dout, x_images, w, compute_dx=True):
    """``(dx (N, C, H, W) or None, dw (F, C, 1, 1), db (F,))`` of a 1x1 layer from
    :func:`pointwise_forward`'s ``x_images``: ``dw = sum_n dout[n] @ x[n].T`` (summed a
    few images at a time, at most :data:`SUM_CHUNK_BYTES` at once), ``dx[n] = W_row.T
    @ dout[n]``, already in NCHW order."""
    N, C, M = x_images.shape
    F = w.shape[0]
    d_images = dout.reshape(N, F, M)
    dw = _dw_summed_by_image(d_images, x_images, by_columns=False)
    db = d_images.sum(axis=(0, 2))
    dx = None
    if compute_dx:
        dx = np.matmul(w.reshape(F, C).T, d_images).reshape(N, C, *dout.shape[2:])
    return dx, dw.reshape(F, C, 1, 1), db


# dw is computed transposed, as (K, F) = X_col @ dout.T, up to this many entries, and
# directly as (F, K) above it. dw must end (F, C, HH, WW) in C order, and NumPy's copy
# of a large transposed matrix is slow: 64 ms for OverFeat's conv5 (K = 9217, F = 1024),
# three times its GEMM. Measured, (K, F) then copy against (F, K), float32: 'im2col' in
# one product and 'im2col-grid' turn at 40-110 thousand entries (convnet-benchmarks' L4,
# 0.8M: 3.0x and 2.1x slower transposed; GoogLeNet's 1x1 480 -> 192, 92 thousand:
# 1.3x and 1.2x slower; the CIFAR 7x7 layer, 5 thousand: 1.8x and 1.2x faster).
DW_TRANSPOSED_ENTRIES = 1 << 16
# ... and 'im2col' image by image, whose products with a long inner dimension favour
# (K, F) further, at about a million (convnet-benchmarks' L2, 0.66M: 1.05x faster
# transposed; VGG-A's 3x3 256 -> 512 at 28x28, 1.2M: 1.3x slower).
DW_TRANSPOSED_ENTRIES_PER_IMAGE = 1 << 20


def dw_by_columns(K: int, F: int, limit: int = DW_TRANSPOSED_ENTRIES) -> bool:
    """Whether a (F, K) weight gradient is computed as its transpose (K, F): when it
    has at most ``limit`` entries."""
    return K * F <= limit


def _dw_product(d, x, by_columns: bool):
    """``d @ x.T`` over the last two axes (d (..., F, m), x (..., K, m)), computed as
    ``(x @ d.T).T`` when ``by_columns`` (:func:`dw_by_columns`): then the result is
    (..., K, F) in memory, and what is returned is its transposed view."""
    if by_columns:
        return np.swapaxes(np.matmul(x, np.swapaxes(d, -1, -2)), -1, -2)
    return np.matmul(d, np.swapaxes(x, -1, -2))


def _dw_summed_by_image(d_images, x_images, by_columns: bool):
    """``sum_n d_images[n] @ x_images[n].T`` (d_images (N, F, M), x_images (N, K, M),
    any strides), a few images' products at a time so that at most
    :data:`SUM_CHUNK_BYTES` of them are held at once: (F, K), a transposed view when
    ``by_columns``."""
    N, F, _ = d_images.shape
    K = x_images.shape[1]
    step = max(1, SUM_CHUNK_BYTES // (K * F * d_images.dtype.itemsize))
    total = np.zeros((K, F) if by_columns else (F, K), dtype=d_images.dtype)
    for n0 in range(0, N, step):
        part = _dw_product(d_images[n0:n0 + step], x_images[n0:n0 + step], by_columns)
        total += (part.transpose(0, 2, 1) if by_columns else part).sum(axis=0)
    return total.T if by_columns else total


# col2im by one scatter (np.add.at) up to this many entries of dX_col (its index: 8 MB
# of intp).
SCATTER_ENTRIES = 1 << 20


def col2im_by_scatter(d_cols, x_shape, HH, WW, S, P, D, H_out, W_out):
    """col2im of ``d_cols`` (C*HH*WW, N*H'*W'), float64, by one ``np.add.at``: each
    entry is added to the pixel it was copied from, whose flat index in dx (N, C, H, W)
    is computed once per geometry (taps in the zero border go to one extra pixel, then
    dropped). Returns dx (N, C, H, W).

    NumPy's slice-add (:func:`~convnets.layers.im2col.col2im_padded`) pays a fixed
    cost per row of W' numbers, which dominates on short rows; the scatter pays per
    number. In float64 it ran 1.1-2.3x faster than the slice-adds on 8 of 9 layers up
    to this size (the CS231n speed case 2.4 -> 1.8 ms; 0.9x on a 5x5 layer over 28x28
    rows), and 1.2-1.6x faster than ``np.bincount`` on all 9, which it replaced. In
    float32 it won only on rows of about 11 numbers or fewer and lost up to 2x on rows
    of 28 or more, so float32 keeps the slice-adds."""
    N, C, H, W = x_shape
    index = _col2im_index(N, C, H, W, HH, WW, S, P, D, H_out, W_out)
    pixels = N * C * H * W
    dx = np.zeros(pixels + 1, dtype=d_cols.dtype)
    np.add.at(dx, index, d_cols.reshape(-1))
    return dx[:pixels].reshape(x_shape)


@functools.lru_cache(maxsize=8)
def _col2im_index(N, C, H, W, HH, WW, S, P, D, H_out, W_out):
    """For the entries of dX_col (C, HH, WW, N, H', W') in order, the flat index in
    dx (N, C, H, W) of the pixel each came from; ``N*C*H*W`` for the zero border.
    Read-only (shared by every call on this geometry)."""
    c, kh, kw, n, i, j = np.ix_(np.arange(C), np.arange(HH), np.arange(WW), np.arange(N),
                                np.arange(H_out), np.arange(W_out))
    y = i * S + kh * D - P
    x = j * S + kw * D - P
    inside = (y >= 0) & (y < H) & (x >= 0) & (x < W)
    index = np.where(inside, ((n * C + c) * H + y) * W + x, N * C * H * W).astype(np.intp)
    index = index.reshape(-1)
    index.flags.writeable = False
    return index


# --- "im2col-grid": X_col of the padded grid, in blocks ------------------------------

def im2col_grid_forward(x, w, P, D, H_out, W_out, columns=None):
    """Forward of 'im2col-grid': returns ``(out (F, N, H', W') view, grid (C, N, Hp*Wp))``."""
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    Hp, Wp = H + 2 * P, W + 2 * P
    K = C * HH * WW
    grid = pad_channels_first(x, P, w.dtype).reshape(C, N, Hp * Wp)
    L = positions_per_image(H_out, W_out, Wp)
    out_grid = np.empty((F, N * L), dtype=w.dtype)
    w_row = w.reshape(F, K)
    block = block_columns(K, w.dtype, N * L, columns=columns)
    buffer = np.empty(K * block, dtype=w.dtype)
    for n0, g, r0, m in _grid_blocks(N, L, block):
        x_col = _shifted_columns(grid, HH, WW, D, Wp, n0, g, r0, m, buffer)
        start = n0 * L + r0
        np.matmul(w_row, x_col, out=out_grid[:, start:start + g * m])
    return _real_outputs(out_grid, N, L, H_out, W_out, Wp), grid


def im2col_grid_backward(dout, grid, w, Wp, D, compute_dx=True, columns=None):
    """dx on the padded grid (C, N, Hp*Wp) and dw_row (F, C*HH*WW), in blocks of
    columns: ``dw_row.T += X_col_block @ dout_block.T`` with the block of X_col rebuilt
    from shifted slices (the forward's blocks), then, in larger blocks,
    ``dX_col = W_row.T @ dout_block`` whose rows are added back onto the grid at each
    tap's shift (col2im on the grid). dx is None when ``compute_dx`` is False."""
    N, F, H_out, W_out = dout.shape
    _, C, HH, WW = w.shape
    K = C * HH * WW
    dtype = w.dtype
    offsets = tap_offsets(HH, WW, D, Wp)
    L = positions_per_image(H_out, W_out, Wp)
    dout_grid = np.zeros((F, N * L), dtype=dtype)    # zero where there is no real output
    _real_outputs(dout_grid, N, L, H_out, W_out, Wp)[...] = dout.transpose(1, 0, 2, 3)
    # Accumulated as dw_row.T (K, F) when small: this orientation runs about 1.5x faster in
    # OpenBLAS for few-channel shapes; as dw_row (F, K) when large (dw_by_columns).
    by_columns = dw_by_columns(K, F)
    dw_row = np.zeros((K, F), dtype=dtype).T if by_columns else np.zeros((F, K), dtype=dtype)
    block = block_columns(K, dtype, N * L, columns=columns)
    x_buffer = np.empty(K * block, dtype=dtype)
    for n0, g, r0, m in _grid_blocks(N, L, block):
        x_col = _shifted_columns(grid, HH, WW, D, Wp, n0, g, r0, m, x_buffer)
        dw_row += _dw_product(dout_grid[:, n0 * L + r0:n0 * L + r0 + g * m], x_col,
                              by_columns)
    if not compute_dx:
        return None, dw_row

    w_col = np.ascontiguousarray(w.reshape(F, K).T)
    dx_grid = np.zeros(grid.shape, dtype=dtype)
    block = block_columns(K, dtype, N * L, factor=DX_BLOCK_FACTOR, columns=columns)
    d_buffer = np.empty(K * block, dtype=dtype)
    for n0, g, r0, m in _grid_blocks(N, L, block):
        start = n0 * L + r0
        d_col = d_buffer[:K * g * m].reshape(K, g * m)
        np.matmul(w_col, dout_grid[:, start:start + g * m], out=d_col)
        d_taps = d_col.reshape(C, len(offsets), g, m)
        for t, offset in enumerate(offsets):
            dx_grid[:, n0:n0 + g, r0 + offset:r0 + offset + m] += d_taps[:, t]
    return dx_grid, dw_row


# --- "shifted-gemm": one GEMM per tap on a channels-last grid -------------------------

def shifted_gemm_forward(x, w, P, D, H_out, W_out, columns=None):
    """Forward of 'shifted-gemm': returns ``(out (N, Hp, Wp, F) cut to (N, H', W', F),
    grid (N*Hp*Wp, C))``."""
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    Hp, Wp = H + 2 * P, W + 2 * P
    offsets = tap_offsets(HH, WW, D, Wp)
    n_valid = N * Hp * Wp - offsets[-1]   # grid positions up to the last real output
    grid = _pad_channels_last(x, P, w.dtype).reshape(N * Hp * Wp, C)
    taps = [np.asfortranarray(w[:, :, kh, kw]) for kh in range(HH) for kw in range(WW)]
    out_grid = np.empty((N * Hp * Wp, F), dtype=w.dtype)
    _sum_of_shifted_products(grid, taps, offsets, out_grid[:n_valid], columns)
    return out_grid.reshape(N, Hp, Wp, F)[:, :H_out, :W_out, :], grid


def _gemm_into(gemm, a, b, c, beta, trans_b=False):
    """``c = a @ op(b) + beta * c`` in place, with a BLAS ``gemm`` from scipy.linalg.blas.

    ``a``, ``b`` and ``c`` must be Fortran-contiguous views of the right dtype (the
    callers pass transposes of C-contiguous blocks); otherwise the f2py wrapper would
    silently work on a copy of ``c``, which this check turns into an error.
    """
    result = gemm(1.0, a, b, beta=beta, c=c, trans_b=trans_b, overwrite_c=True)
    if result.ctypes.data != c.ctypes.data:
        raise RuntimeError("BLAS gemm did not accumulate in place (non-contiguous operand)")


def _sum_of_shifted_products(grid, mats, offsets, out, columns=None):
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
    block = block_columns(cout, grid.dtype, n, columns=columns)
    for start in range(0, n, block):
        stop = min(start + block, n)
        acc = out[start:stop].T                   # (Cout, m), Fortran-contiguous view
        for t, (mat, offset) in enumerate(zip(mats, offsets, strict=True)):
            _gemm_into(gemm, mat, grid[start + offset:stop + offset].T, acc,
                       beta=0.0 if t == 0 else 1.0)


def shifted_gemm_backward(dout, grid, w, Hp, Wp, D, compute_dx=True, columns=None):
    """dx on the channels-last padded grid (N*Hp*Wp, C) (None when ``compute_dx`` is
    False) and dw (F, C, HH, WW)."""
    N, F, H_out, W_out = dout.shape
    _, C, HH, WW = w.shape
    dtype = w.dtype
    size = N * Hp * Wp
    offsets = tap_offsets(HH, WW, D, Wp)
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
    block = block_columns(T * C, dtype, n_valid, columns=columns)
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
    _sum_of_shifted_products(dout_grid, flipped, offsets, dx_grid, columns)
    return dx_grid, dw
