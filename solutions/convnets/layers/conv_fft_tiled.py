"""Convolution in the Fourier domain, tile by tile: the FFT strategy for small batches.

The whole-plane FFT (:mod:`convnets.layers.conv_fft`) transforms every filter on a grid
as large as the padded input: at convnet-benchmarks' L2 (128 x 64 filters of 9x9 on
64x64 planes) that is 8192 spectra of 64 x 33 complex numbers, 138 MB for a batch of
two images, and the layer waits on memory. Here the stride-1 output is cut into tiles
of ``Mh x Mw`` positions; each tile needs an input patch of ``Th x Tw`` =
``(Mh + KH - 1) x (Mw + KW - 1)`` points (``KH``, ``KW``: the dilated filter's extent),
on which a circular correlation of size ``Th x Tw`` equals the linear one
("overlap-save"). The filters are transformed on the small ``Th x Tw`` grid only
(``Th * (Tw//2 + 1)`` frequencies, 144 for a 16 x 16 tile), and every frequency is one
complex matrix product summing over the channels:
``Y[k] (tiles, F) = X[k] (tiles, C) @ conj(W[k]) (C, F)``.

The transforms are small dense DFTs, done as matrix products with the DFT matrices
(``e^{-2 pi i k j / T}``) restricted to the points that are not zero (a 9 x 9 filter
in a 16 x 16 tile: 9 of 16 columns) or that are needed (the ``Mh x Mw`` valid outputs
of each tile). On small tiles a GEMM does this faster than an FFT library, all on
NumPy's BLAS. The tile size is chosen per layer (:func:`fft_tile_shape`) to balance
the products per frequency (more tiles) against the transforms and the size of the
filters' spectra (larger tiles).

Multiplications: about ``8 * Th*(Tw//2+1) / (Mh*Mw)`` real multiply-adds per output
and channel pair, against ``HH*WW`` for the direct correlation: a 9x9 filter with
16 x 16 tiles needs 18 instead of 81 (4.5x fewer); a 3x3 filter with 16 x 16 tiles
about 5.9 instead of 9.

Backward: ``dout`` is cut into the same tiles (each one ``Mh x Mw``, zero-padded to
the tile grid), so that ``dw[f, c] = sum over tiles of corr(x tile, dout tile)`` and
``dx`` is the sum of each tile's full convolution with the filters, added back where
the tiles overlap ("overlap-add"); both reuse the spectra kept by the forward pass.

Stride and dilation are supported (the dilated filter's taps pick the DFT matrix's
columns; the stride-1 output is subsampled), so that the strategy applies to every
layer; it pays off at stride 1.

Shapes and conventions are those of :mod:`convnets.layers.conv_naive`.
"""

from __future__ import annotations

import functools

import numpy as np

from ..checks import check_dout
from ..shapes import conv_output_shape
from .conv_tiles import TileGrid, dout_blocks, input_patches, output_to_nchw, overlap_add
from .im2col import check_conv_layer

__all__ = ["conv_forward_fft_tiled", "conv_backward_fft_tiled", "fft_tile_shape",
           "tile_grid", "fft_tiled_multiplications"]

# Tile sizes tried by fft_tile_shape: at most this many points per side (a DFT of T
# points as a matrix product costs T per point; past 32 a larger tile saves little).
MAX_TILE = 32
# What a byte of spectrum moved costs against a real multiply-add (2 flops), for the
# tile choice only: about 100 GFLOP/s of GEMM against 4-8 GB/s of memory here.
_BYTE_COST = 12.0


def _complex_dtype(dtype) -> np.dtype:
    """complex128 for float64, else complex64 (float16 is computed in float32)."""
    return np.dtype(np.complex128) if np.dtype(dtype) == np.float64 else np.dtype(np.complex64)


@functools.lru_cache(maxsize=256)
def _dft(T: int, points: tuple, sign: int, half: bool, dtype_name: str) -> np.ndarray:
    """Rows: the frequencies k (all T, or T//2+1 when ``half``); columns: the given
    points j; entries ``exp(sign * 2 pi i k j / T)``. Read-only, cached."""
    k = np.arange(T // 2 + 1 if half else T)[:, None]
    j = np.asarray(points)[None, :]
    m = np.exp(sign * 2j * np.pi * ((k * j) % T) / T).astype(dtype_name)
    m.flags.writeable = False
    return m


@functools.lru_cache(maxsize=256)
def _idft(T: int, points: tuple, sign: int, half: bool, scale: float,
          dtype_name: str) -> np.ndarray:
    """Rows: the output points m; columns: the frequencies k; entries
    ``c_k * exp(sign * 2 pi i k m / T) * scale``, where, when ``half``, ``c_k`` is 2 for
    the frequencies whose mirror image is not stored (1 for 0 and T/2): the real part
    of its product with a half spectrum is the inverse real transform."""
    k = np.arange(T // 2 + 1 if half else T)
    m = np.asarray(points)[:, None]
    weight = np.ones(len(k))
    if half:
        weight[1:] = 2.0
        if T % 2 == 0:
            weight[-1] = 1.0
    g = (weight * scale)[None, :] * np.exp(sign * 2j * np.pi * ((m * k[None, :]) % T) / T)
    g = g.astype(dtype_name)
    g.flags.writeable = False
    return g


@functools.lru_cache(maxsize=256)
def _half_dft_parts(T: int, points: tuple, sign: int, dtype_name: str) -> np.ndarray:
    """The real and imaginary parts of ``_dft(T, points, sign, half=True)`` stacked,
    (2*(T//2+1), len(points)), in the real dtype: one real product gives both parts of
    a real signal's half spectrum. Read-only, cached."""
    m = _dft(T, points, sign, True, dtype_name)
    parts = np.concatenate([m.real, m.imag])
    parts.flags.writeable = False
    return parts


def _to_spectrum(planes, Th, Tw, rows, cols, sign, cdtype):
    """The 2-D DFT on a ``Th x Tw`` grid of real ``planes`` (len(rows), len(cols), R),
    whose values sit at grid points ``rows`` x ``cols`` (zero elsewhere): complex
    (Th, Tw//2+1, R), frequency-major so that each frequency is an (R,) row."""
    n_rows, n_cols, R = planes.shape
    Twf = Tw // 2 + 1
    fh = _dft(Th, rows, sign, False, cdtype.name)                    # (Th, rows)
    # Along the columns, real in, complex out: one real product gives both parts.
    both = np.matmul(_half_dft_parts(Tw, cols, sign, cdtype.name), planes)  # (rows, 2Twf, R)
    half = np.empty((n_rows, Twf, R), dtype=cdtype)
    half.real = both[:, :Twf]
    half.imag = both[:, Twf:]
    return (fh @ half.reshape(n_rows, Twf * R)).reshape(Th, Twf, R)


def _from_spectrum(spectrum, Th, Tw, rows, cols, sign, real):
    """The real inverse of :func:`_to_spectrum` at grid points ``rows`` x ``cols``:
    ``spectrum`` (Th, Tw//2+1, R) complex -> (len(rows), len(cols), R) real."""
    _, Twf, R = spectrum.shape
    cdtype = spectrum.dtype
    gh = _idft(Th, rows, sign, False, 1.0, cdtype.name)                     # (rows, Th)
    gw = _idft(Tw, cols, sign, True, 1.0 / (Th * Tw), cdtype.name)          # (cols, Twf)
    part = (gh @ spectrum.reshape(Th, Twf * R)).reshape(len(rows), Twf, R)
    # The real part of a complex product: twice the flops of the real formula, but
    # splitting ``part`` into its real and imaginary planes took longer.
    return np.matmul(gw, part).real


def _tile_cost(g: TileGrid, C: int, F: int) -> float:
    """Relative cost of forward + backward on the tiles of ``g`` (for the choice)."""
    freqs = g.Th * (g.Tw // 2 + 1)
    # Small products run far below the GEMM's peak: weigh them by their smallest side.
    small = min(g.B, C, F)
    gemm = 3 * 8 * freqs * g.B * C * F / min(1.0, (small / 64) ** 0.5)
    transforms = 8 * freqs * (g.B * C * (g.Th + g.Tw) * 2 + C * F * (g.KH + g.KW) * 2
                              + g.B * F * (g.Mh + g.Mw) * 2)
    moved = 8 * 4 * freqs * (2 * g.B * C + 3 * C * F + 2 * g.B * F)
    patches = 4 * 4 * g.B * g.Th * g.Tw * (C + F)
    return gemm + transforms + _BYTE_COST * (moved + patches)


def tile_grid(x_shape, w_shape, conv_param, tile=None) -> TileGrid:
    """The tiles 'fft-tiled' runs a layer on: ``tile`` (Th, Tw) when given, else the
    grid of least estimated cost among ``KH .. max(KH, min(MAX_TILE, Hp))`` rows by the
    same for columns, where ``KH x KW`` is the dilated filter's extent and ``Hp x Wp``
    the padded input. A tile of ``Th`` rows yields ``Th - KH + 1`` output rows."""
    P, D = conv_param.get("pad", 0), conv_param.get("dilation", 1)
    Th, Tw = tile or _best_tile(tuple(x_shape), tuple(w_shape), P, D)
    N, _, H, W = x_shape
    return TileGrid(N, H, W, w_shape[2], w_shape[3], P, D, int(Th), int(Tw))


def fft_tile_shape(x_shape, w_shape, conv_param) -> tuple[int, int]:
    """The tile ``(Th, Tw)`` :func:`tile_grid` chooses for a layer."""
    g = tile_grid(x_shape, w_shape, conv_param)
    return g.Th, g.Tw


@functools.lru_cache(maxsize=1024)
def _best_tile(x_shape, w_shape, P, D) -> tuple[int, int]:
    N, C, H, W = x_shape
    F, _, HH, WW = w_shape
    KH, KW = D * (HH - 1) + 1, D * (WW - 1) + 1
    rows = range(KH, max(KH, min(MAX_TILE, H + 2 * P)) + 1)
    cols = range(KW, max(KW, min(MAX_TILE, W + 2 * P)) + 1)
    return min(((Th, Tw) for Th in rows for Tw in cols),
               key=lambda t: _tile_cost(TileGrid(N, H, W, HH, WW, P, D, *t), C, F))


def fft_tiled_multiplications(x_shape, w_shape, conv_param, tile=None) -> int:
    """Real multiplications in one forward pass's products per frequency (transforms
    not counted): 4 per complex product, ``Th*(Tw//2+1)`` frequencies, each a
    (tiles, C) @ (C, F) product. ``tile``: as in :func:`conv_forward_fft_tiled`."""
    g = tile_grid(x_shape, w_shape, conv_param, tile)
    return 4 * g.Th * (g.Tw // 2 + 1) * g.B * x_shape[1] * w_shape[0]


def _check_tile(tile, KH, KW):
    """ValueError naming ``tile`` unless it is None or two integers (Th, Tw) with
    ``Th >= KH`` and ``Tw >= KW`` (the dilated filter's extent)."""
    if tile is None:
        return
    ok = (isinstance(tile, (tuple, list)) and len(tile) == 2
          and all(isinstance(t, (int, np.integer)) and not isinstance(t, bool) for t in tile))
    if not ok or tile[0] < KH or tile[1] < KW:
        raise ValueError(f"tile must be None or two integers (Th, Tw) with Th >= {KH} and "
                         f"Tw >= {KW} (the dilated filter's extent), got {tile!r}")


def conv_forward_fft_tiled(x, w, b, conv_param, *, tile=None):
    """Forward pass of a convolutional layer in the Fourier domain, tile by tile.

    The same contract and results as :func:`conv_forward_naive` (slow but
    straightforward): the padded input is cut into overlapping ``Th x Tw`` patches
    (:func:`fft_tile_shape`), each patch and each filter is transformed on that grid,
    one complex matrix product per frequency sums over the channels, and the inverse
    transform keeps each tile's ``Mh x Mw`` valid outputs (every S-th one of them is
    the strided layer's output).

    Error: as for the whole-plane FFT, rounding is spread over each tile, so the error
    scales with the largest values. float64 agrees with the naive layer to about 1e-13
    relative. In float32, the largest absolute error of the output, the input
    gradient and the filter gradient against float64 is below ``1e-5`` times the
    largest absolute value of the float64 result, on unit-normal inputs with filters
    scaled by ``1/sqrt(C*HH*WW)`` (tested by ``tests/test_conv_strategies.py``;
    measured 2e-7 to 4e-7).

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
        Input batch; any strides.
    w : ndarray, shape (F, C, HH, WW)
        Filters.
    b : ndarray, shape (F,)
        Biases.
    conv_param : dict
        ``'stride'`` S, ``'pad'`` P and optionally ``'dilation'`` D (default 1).
    tile : (int, int), keyword-only, optional
        The tile grid ``(Th, Tw)``, at least the dilated filter's extent; default
        :func:`fft_tile_shape`'s choice. Results do not depend on it; tests pass small
        tiles to exercise many of them.

    Returns
    -------
    out : ndarray, shape (N, F, H', W')
        ``H' = 1 + (H + 2P - (D*(HH-1) + 1)) / S``, likewise ``W'``; dtype NumPy's
        promotion of ``x`` and ``w`` (float16 is computed in float32).
    cache : dict
        ``'method'`` = ``'fft-tiled'``, ``'x_shape'``, the input dtypes ``'x_dtype'``,
        ``'w_dtype'``, ``'b_dtype'``, ``'w_shape'``, ``'stride'``, ``'pad'``,
        ``'dilation'``, ``'tile'`` (Th, Tw), and the spectra ``'x_hat'``
        (Th*(Tw//2+1), C, tiles) and ``'w_hat'`` (Th*(Tw//2+1), C, F), the latter
        conjugated.

    Raises
    ------
    ValueError, TypeError
        Exactly as :func:`conv_forward_naive`; and ValueError naming ``tile`` when it
        is not two integers at least the dilated filter's extent.
    """
    x, w, b, S, P, D, H_out, W_out = check_conv_layer(x, w, b, conv_param)
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _check_tile(tile, D * (HH - 1) + 1, D * (WW - 1) + 1)
    dtype = np.result_type(x.dtype, w.dtype)
    cdtype = _complex_dtype(dtype)
    real = np.dtype(cdtype.char.lower())
    g = tile_grid(x.shape, w.shape, {"pad": P, "dilation": D}, tile)
    Th, Tw = g.Th, g.Tw
    # Spectra frequency-major, in the orders of conv_tiles: (freqs, B, C) for the
    # input, (freqs, F, B) for the output.
    x_hat = _to_spectrum(input_patches(x, g, P, real), Th, Tw, tuple(range(Th)),
                         tuple(range(Tw)), -1, cdtype).reshape(-1, g.B, C)
    # The filters' spectra, conjugated (correlation): the DFT with the opposite sign.
    taps = np.ascontiguousarray(w.transpose(2, 3, 1, 0), dtype=real)     # (HH, WW, C, F)
    w_hat = _to_spectrum(taps.reshape(HH, WW, C * F), Th, Tw, g.tap_rows, g.tap_cols, 1,
                         cdtype).reshape(-1, C, F)
    y_hat = np.matmul(w_hat.transpose(0, 2, 1), x_hat.transpose(0, 2, 1))  # (freqs, F, B)
    y = _from_spectrum(y_hat.reshape(Th, -1, F * g.B), Th, Tw, tuple(range(g.Mh)),
                       tuple(range(g.Mw)), 1, real)                      # (Mh, Mw, F*B)
    out = output_to_nchw(y, g, b, S, H_out, W_out, dtype)
    cache = {"method": "fft-tiled", "x_shape": x.shape, "x_dtype": x.dtype,
             "w_dtype": w.dtype, "b_dtype": b.dtype, "w_shape": w.shape, "stride": S,
             "pad": P, "dilation": D, "tile": (Th, Tw), "x_hat": x_hat, "w_hat": w_hat}
    return out, cache


def conv_backward_fft_tiled(dout, cache, *, compute_dx=True):
    """Backward pass of :func:`conv_forward_fft_tiled`.

    ``dout`` is spread on the stride-1 output grid (every S-th position) and cut into
    the forward pass's tiles of ``Mh x Mw``, each transformed on the ``Th x Tw`` grid;
    then per frequency ``dw = dY^H @ X`` (tiles summed), inverted at the filter's taps,
    and ``dx = dY @ W^T``, inverted on the whole tile and added back where the tiles'
    patches overlap. Error bounds as in :func:`conv_forward_fft_tiled`.

    Parameters
    ----------
    dout : ndarray, shape (N, F, H', W')
        Upstream gradient, any strides.
    cache : dict
        From :func:`conv_forward_fft_tiled`.
    compute_dx : bool, keyword-only, default True
        False skips ``dx`` (returned as None).

    Returns
    -------
    dx : ndarray, shape (N, C, H, W), or None when ``compute_dx`` is False
    dw : ndarray, shape (F, C, HH, WW)
    db : ndarray, shape (F,)
        Each in the dtype of ``x``, ``w`` and ``b`` respectively.

    Raises
    ------
    ValueError
        If ``dout`` does not have the shape of the forward output.
    """
    N, C, H, W = cache["x_shape"]
    F, _, HH, WW = cache["w_shape"]
    S, P, D = cache["stride"], cache["pad"], cache["dilation"]
    Th, Tw = cache["tile"]
    H_out, W_out = conv_output_shape(H, W, HH, WW, S, P, D)
    dout = check_dout(dout, (N, F, H_out, W_out), "conv", same_ndim=True)
    x_hat, w_hat = cache["x_hat"], cache["w_hat"]
    cdtype = x_hat.dtype
    real = np.dtype(cdtype.char.lower())
    g = TileGrid(N, H, W, HH, WW, P, D, Th, Tw)
    db = dout.astype(np.result_type(real, cache["b_dtype"]), copy=False).sum(axis=(0, 2, 3))
    # The conjugated spectrum of dout (the DFT with the opposite sign; dout is real).
    dout_hat = _to_spectrum(dout_blocks(dout, g, S, real), Th, Tw, tuple(range(g.Mh)),
                            tuple(range(g.Mw)), 1, cdtype).reshape(-1, g.B, F)
    # dw[f, c] = sum over tiles of corr(x, dout): conj(dY)^T @ X per frequency.
    dw_hat = np.matmul(dout_hat.transpose(0, 2, 1), x_hat)             # (freqs, F, C)
    dw = _from_spectrum(dw_hat.reshape(Th, -1, F * C), Th, Tw, g.tap_rows, g.tap_cols, 1,
                        real)                                          # (HH, WW, F*C)
    dw = np.ascontiguousarray(dw.reshape(HH, WW, F, C).transpose(2, 3, 0, 1),
                              dtype=cache["w_dtype"])
    dx = None
    if compute_dx:
        # conj(dX) = conj(dY) @ conj(W)^T per frequency; its inverse with the other sign
        # is dX's: each tile's full convolution, Th x Tw points, added where they overlap.
        dx_hat = np.matmul(dout_hat, w_hat.transpose(0, 2, 1))         # (freqs, B, C)
        patches = _from_spectrum(dx_hat.reshape(Th, -1, g.B * C), Th, Tw, tuple(range(Th)),
                                 tuple(range(Tw)), -1, real)           # (Th, Tw, B*C)
        dx = overlap_add(patches, g, P, H, W, cache["x_dtype"])
    return dx, dw, db.astype(cache["b_dtype"], copy=False)
