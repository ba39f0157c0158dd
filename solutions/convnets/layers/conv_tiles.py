"""Cutting a layer into tiles, and back: what the tiled strategies share.

The tiled FFT (:mod:`convnets.layers.conv_fft_tiled`) and Winograd
(:mod:`convnets.layers.conv_winograd`) compute each block of ``Mh x Mw`` outputs from
a ``Th x Tw`` patch of the zero-padded input (``Th = Mh + KH - 1``: the patch a block's
receptive fields cover), in a transformed domain where every "frequency" of the patch
is one matrix product over the channels. Both need the same moves between NCHW arrays
and the tiles, with the position inside the tile first, so that a transform is a
matrix product over the leading axes:

* :func:`input_patches`: the input's overlapping patches, ``(Th, Tw, tiles*C)``;
* :func:`dout_blocks`: ``dout`` spread on the stride-1 output grid and cut into the
  tiles' blocks, ``(Mh, Mw, tiles*F)``;
* :func:`output_to_nchw`: each tile's ``Mh x Mw`` outputs, ``(Mh, Mw, F*tiles)``, put
  back in NCHW order with the bias added;
* :func:`overlap_add`: each tile's ``Th x Tw`` input gradient added back where the
  patches overlap.

Tiles are numbered ``(n, i, j)`` (image, tile row, tile column), ``tiles = N*th*tw``.
The arrays keep the channels last, except the output, kept ``(F, tiles)``: moving
between NCHW and the tiles copies every value with a stride, and these orders moved
fastest (measured on convnet-benchmarks' layers, a VGG 3x3 and a CIFAR 7x7 layer:
the other orders cost up to 15 ms more on L1's 79).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

__all__ = ["TileGrid", "input_patches", "dout_blocks", "output_to_nchw", "overlap_add"]


class TileGrid:
    """The tiling of a layer: tile ``Th x Tw``, valid outputs ``Mh x Mw`` per tile,
    ``th x tw`` tiles per image covering the stride-1 output (``H1 x W1``), ``B =
    N*th*tw`` tiles in all, the dilated filter's extent ``KH x KW`` and its taps'
    positions on the tile."""

    def __init__(self, N, H, W, HH, WW, P, D, Th, Tw):
        self.N = N
        self.KH, self.KW = D * (HH - 1) + 1, D * (WW - 1) + 1
        self.H1, self.W1 = H + 2 * P - self.KH + 1, W + 2 * P - self.KW + 1
        self.Th, self.Tw = Th, Tw
        self.Mh, self.Mw = Th - self.KH + 1, Tw - self.KW + 1
        self.th, self.tw = -(-self.H1 // self.Mh), -(-self.W1 // self.Mw)
        self.B = N * self.th * self.tw
        self.tap_rows = tuple(range(0, self.KH, D))
        self.tap_cols = tuple(range(0, self.KW, D))


def input_patches(x, g: TileGrid, P: int, dtype):
    """The ``Th x Tw`` patches of ``x`` (N, C, H, W) zero-padded by P, patch (i, j) of
    image n from padded position ``(i*Mh, j*Mw)``: (Th, Tw, B*C) of ``dtype``, tiles
    ``(n, i, j)`` then channels."""
    N, C, H, W = x.shape
    grid = np.zeros((N, g.th * g.Mh + g.KH - 1, g.tw * g.Mw + g.KW - 1, C), dtype=dtype)
    grid[:, P:P + H, P:P + W] = x.transpose(0, 2, 3, 1)
    s = grid.strides
    view = as_strided(grid, (N, g.th, g.tw, g.Th, g.Tw, C),
                      (s[0], s[1] * g.Mh, s[2] * g.Mw, s[1], s[2], s[3]), writeable=False)
    return np.ascontiguousarray(view.transpose(3, 4, 0, 1, 2, 5)).reshape(g.Th, g.Tw, -1)


def dout_blocks(dout, g: TileGrid, S: int, dtype):
    """``dout`` (N, F, H', W') placed at every S-th position of the stride-1 output
    grid (zeros elsewhere and past its end), cut into the tiles' ``Mh x Mw`` blocks:
    (Mh, Mw, B*F) of ``dtype``, tiles then filters."""
    N, F, H_out, W_out = dout.shape
    dense = np.zeros((N, g.th * g.Mh, g.tw * g.Mw, F), dtype=dtype)
    dense[:, :(H_out - 1) * S + 1:S, :(W_out - 1) * S + 1:S] = dout.transpose(0, 2, 3, 1)
    blocks = dense.reshape(N, g.th, g.Mh, g.tw, g.Mw, F).transpose(2, 4, 0, 1, 3, 5)
    return np.ascontiguousarray(blocks).reshape(g.Mh, g.Mw, -1)


# output_to_nchw copies one position of the tiles at a time when a row of tiles is at
# least this many times longer than a tile's row: NumPy's copy then runs along rows of
# tw tiles instead of rows of Mw outputs. Measured (float32): Winograd F(2x2) on the
# VGG 3x3 case (tw = 28, Mw = 2) 5.9 -> 1.4 ms, F(4x4) (14, 4) 3.3 -> 2.5 ms; the tiled
# FFT's tiles (Mw = 12-20, tw = 2-6) and L5's F(4x4) (4, 3) ran 1.5-6x faster the
# other way, and so did tw = Mw = 15.
TILE_POSITION_ROWS = 2


def output_to_nchw(y, g: TileGrid, b, S: int, H_out: int, W_out: int, dtype):
    """The output (N, F, H', W') of ``dtype``: each tile's outputs ``y`` (Mh, Mw,
    F*B), filters then tiles, put in place (every S-th of the stride-1 outputs), plus
    the bias ``b`` (F,)."""
    F = b.shape[0]
    y = y.reshape(g.Mh, g.Mw, F, g.N, g.th, g.tw)
    bias = b.astype(dtype)[:, None, None]
    if S == 1 and g.tw >= TILE_POSITION_ROWS * g.Mw:
        out = np.empty((g.N, F, H_out, W_out), dtype=dtype)
        for p in range(min(g.Mh, H_out)):
            for q in range(min(g.Mw, W_out)):
                block = out[:, :, p::g.Mh, q::g.Mw]     # outputs at (p, q) of their tile
                rows, cols = block.shape[2:]
                np.add(y[p, q, :, :, :rows, :cols].transpose(1, 0, 2, 3), bias, out=block)
        return out
    y = y.transpose(3, 2, 4, 0, 5, 1)
    if S == 1 and (g.th * g.Mh, g.tw * g.Mw) == (H_out, W_out):
        out = np.empty((g.N, F, H_out, W_out), dtype=dtype)
        np.add(y, bias[..., None, None], out=out.reshape(y.shape))
        return out
    y = y.reshape(g.N, F, g.th * g.Mh, g.tw * g.Mw)
    return np.add(y[:, :, :(H_out - 1) * S + 1:S, :(W_out - 1) * S + 1:S], bias,
                  dtype=dtype)


def overlap_add(patches, g: TileGrid, P: int, H: int, W: int, dtype):
    """The input gradient (N, C, H, W) of ``dtype`` from each tile's ``Th x Tw`` patch
    of it, ``patches`` (Th, Tw, B*C): patch (i, j) added at padded position
    ``(i*Mh, j*Mw)`` (one slice-add per ``Mh x Mw`` block of a patch), the padding
    ``P`` cut off."""
    Th, Tw = patches.shape[:2]
    patches = patches.reshape(Th, Tw, g.N, g.th, g.tw, -1)
    C = patches.shape[-1]
    rh, rw = -(-Th // g.Mh), -(-Tw // g.Mw)
    total = np.empty((g.N, g.th + rh - 1, g.Mh, g.tw + rw - 1, g.Mw, C), dtype=patches.dtype)
    # The first block of every patch is copied, not added: only the last row and column
    # of blocks, which it does not reach, start at zero.
    total[:, g.th:] = 0
    total[:, :g.th, :, g.tw:] = 0
    for p in range(rh):
        for q in range(rw):
            part = patches[p * g.Mh:(p + 1) * g.Mh, q * g.Mw:(q + 1) * g.Mw]
            hp, wq = part.shape[:2]
            # (hp, wq, N, th, tw, C) -> (N, th, hp, tw, wq, C)
            block = total[:, p:p + g.th, :hp, q:q + g.tw, :wq]
            if p == q == 0:
                block[...] = part.transpose(2, 3, 0, 4, 1, 5)
            else:
                block += part.transpose(2, 3, 0, 4, 1, 5)
    grid = total.reshape(g.N, (g.th + rh - 1) * g.Mh, (g.tw + rw - 1) * g.Mw, C)
    return np.ascontiguousarray(grid[:, P:P + H, P:P + W].transpose(0, 3, 1, 2), dtype=dtype)
