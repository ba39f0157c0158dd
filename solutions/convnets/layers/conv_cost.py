"""The cost model behind ``conv_forward_fast(..., method='auto')``: which strategy is
fastest for a layer, predicted from this machine's measured throughput.

Nothing here is a hand-made table of layers. A short calibration, the first time
``auto`` runs on a machine (measured on the shared 2-core machine under a load of 10:
2.5 s to 10 s per attempt, two attempts when the first is disturbed; less on a quiet
machine), measures what the strategies spend their time on:

* GEMM throughput (GFLOP/s) in float32 and float64, as a function of the product's
  inner dimension (a 256 x s @ s x 256 product is far less efficient at s = 4 than at
  s = 256), and of its smaller outer one (s x 256 @ 256 x 256, less hurt by a small
  s);
* memory copy throughput (GB/s, read + write);
* ``scipy.fft.rfft2`` throughput, in ``2.5 n log2 n`` operations per real transform of
  ``n`` points;
* the fixed cost of one call into NumPy and of one matrix of a stacked ``matmul``;
* each strategy's forward and backward on the four layers of
  :data:`CALIBRATION_LAYERS` (a small one, a 3x3 one with many channels, a 7x7 one
  whose ``C*HH*WW`` columns do not fit the strategies' cached blocks, a larger 3x3
  one), against what the rates above count for it: per strategy a fixed ``overhead``
  and a ``factor`` on the counted work, fitted so that ``overhead + factor * work``
  matches the measured times (relative least squares, both non-negative). The small layer fixes
  the overhead, the large ones the factor, so that a large layer is predicted from
  large layers' behaviour (one small reference layer, as before, gave every strategy
  a single ratio measured where fixed costs dominate: ``auto`` then chose
  'im2col-grid' on convnet-benchmarks' L2 and L3, 2-3.5x slower than 'im2col').

:meth:`ConvCostModel.predict` adds up, for each strategy, the work it does on the
layer (forward plus backward with ``dx``: flops of each GEMM at the rate of its
smallest dimension, bytes copied, transforms, calls) divided by those rates, times
the strategy's factor, plus its overhead; ``auto`` runs the strategy with the least
predicted time among those that apply to the layer and keep the dtype's accuracy
(:func:`auto_candidates`: in float32 and float16, only strategies whose float32 error
bound is at most :data:`AUTO_FLOAT32_BOUND`, so never Winograd F(4x4, 3x3); in
float64, the dtype of gradient checks, only the GEMM strategies), or 'im2col' when
predicted within :data:`AUTO_MARGIN` (20%) of it (:func:`preferred`: on a near-tie,
the reference strategy). ``make bench``'s convnet-benchmarks section prints
the prediction next to the measured time of every strategy on every layer, so the
model's error is visible.

A calibration on a shared machine is disturbed by other work. Each figure is timed in
:data:`TURNS` turns (every figure of a group once per turn, so that a disturbance hits
one turn of each rather than all turns of one) and the fastest turn is kept. A figure
whose second-fastest turn is more than :data:`SPREAD_LIMIT` times the fastest (the
turns disagree: no two of them were quiet) is timed again, alone, up to
:data:`RETIMES` more rounds of turns. The calibration counts as disturbed when, for
any figure, the turns still disagree, or when a strategy's fitted factor differs from
the median of all strategies' factors by more than :data:`FACTOR_LIMIT` times (a
strategy disturbed in every turn: once, under a load of 8 on 2 cores, im2col got a
factor of 95 against 2 to 3 for the others). A disturbed calibration is measured
again, up to :data:`ATTEMPTS` times in all, each attempt's turns added to the earlier
ones'; when the last attempt is still disturbed, its model is stored all the same,
with what disturbed it (``disturbed`` in the file): the choices it makes are still
correct convolutions, while measuring again in every new process (a grading worker, a
lesson's kernel) would cost each of them seconds under exactly the load that
disturbed it.
Delete the file, or call :func:`load_or_measure` with ``remeasure=True``, to measure
again on a quiet machine.

The model is stored as JSON in the cache directory (``$CONVNETS_CACHE_DIR``,
else ``$XDG_CACHE_HOME/convnets/``, else ``~/.cache/convnets/``; :func:`cost_model_path`),
with :data:`FORMAT_VERSION` and the machine's identity (:func:`machine_identity`: host,
CPU model, core count, NumPy, SciPy and BLAS versions, thread setting), so that the
choices stay the same from one run to the next. A file of another format version or
another machine identity is ignored (measured again and replaced). When the directory
cannot be written, the model lives only in the process. Delete the file to measure
again when the machine's load was unusual during the calibration (e.g. ``make bench``'s
prediction column shows one strategy off by far more than the others), after changing
the BLAS library or its thread count through a route the identity does not see
(e.g. CPU affinity), or after moving the cache directory between machines of the same
name. ``conv_forward_fast(..., cost_model=model)`` and :func:`choose_conv_method` take
any other model (tests inject one instead of timing).
What the model does not see: the cost of synchronising BLAS's threads on every GEMM
call when other work holds the cores. 'im2col' makes three large GEMM calls, while
'im2col-grid' makes one per block (28 forward on L2 at batch 2); with one BLAS
thread its forward on L2 took 94 ms against im2col's 145, with two threads on the
loaded 2-core machine 218 against 144. The calibration keeps each figure's fastest
turn, where no such stall happened, so on a busy machine the model favours
many-call strategies; where the two are close (L2), ``auto``'s choice between them
can change from one calibration to the next.
"""

from __future__ import annotations

import functools
import json
import math
import os
import platform
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import scipy.fft

from ..shapes import conv_output_shape
from .conv_fft_tiled import tile_grid
from .conv_strategies import (
    SCIPY_BLAS_STRATEGIES,
    conv_strategy_applies,
    dx_by_convolution_applies,
    pointwise_applies,
)
from .conv_winograd import WINOGRAD4_FLOAT32_BOUND

__all__ = ["ConvCostModel", "FLOAT32_ERROR_BOUNDS", "AUTO_FLOAT32_BOUND", "EXACT_STRATEGIES",
           "CALIBRATION_LAYERS", "FORMAT_VERSION", "TURNS", "SPREAD_LIMIT", "SPREAD_FLOOR",
           "FACTOR_LIMIT", "GEMM_SIZES", "ATTEMPTS", "RETIMES", "NOT_FOR_AUTO", "AUTO_MARGIN",
           "auto_candidates",
           "preferred", "fit_strategy_costs",
           "time_turns", "machine_identity", "measure_conv_cost_model", "conv_cost_model",
           "choose_conv_method", "cost_model_path", "load_or_measure"]

# Each strategy's float32 error bound, as its docstring states and
# tests/test_conv_strategies.py checks: the largest absolute error of out, dx and dw
# against float64, relative to the largest float64 value.
FLOAT32_ERROR_BOUNDS = {"im2col": 1e-5, "im2col-grid": 1e-5, "shifted-gemm": 1e-5,
                        "winograd": 1e-5, "winograd4": WINOGRAD4_FLOAT32_BOUND, "fft": 1e-5,
                        "fft-tiled": 1e-5}
# 'auto' runs the earliest strategy predicted within this fraction of the fastest: the
# fraction 'make bench' allows auto's time over the fastest strategy's (1.2).
AUTO_MARGIN = 0.2
# In float32 and float16, 'auto' considers only strategies at least this accurate.
AUTO_FLOAT32_BOUND = 1e-5
# In float64, 'auto' considers only the strategies without a transform (see
# auto_candidates).
EXACT_STRATEGIES = ("im2col", "im2col-grid", "shifted-gemm")
# Named strategies 'auto' never picks, and why. 'shifted-gemm' accumulates its products
# with SciPy's BLAS, a second OpenBLAS with its own thread pool beside NumPy's: right
# after a NumPy GEMM (any other layer of a network) its threads compete with NumPy's
# still-spinning ones, and the same call takes 1.4-2.3x its time alone (measured on
# convnet-benchmarks' L2 forward: 63 ms alone, 148 ms median after a NumPy GEMM). The
# calibration times it alone, so the model predicted it at 0.13-0.74 of what
# make bench then measured on L1-L5, and auto chose it on layers where it was the
# slowest GEMM strategy (L5: 31.8 ms against im2col's 13.9).
# 'fft', the whole-plane FFT, transforms every filter on a grid as large as the input:
# 'fft-tiled' does the same products on small tiles and was faster on every layer
# make bench measured (convnet-benchmarks' L1-L4: 2.6-7.5x; ThreeLayerConvNet's first
# layer), while the model predicted the whole-plane FFT at 0.3-0.4 of its measured
# time there and once chose it for ThreeLayerConvNet, halving its training speed.
NOT_FOR_AUTO = ("shifted-gemm", "fft")
# Winograd's passes between NCHW and its tiles, and its transforms, move bytes at
# about a third of the contiguous copy's rate (see ConvCostModel.work_seconds).
_STRIDED_PASSES = 3.0
# The tiled FFT's moves (the same kind of passes, complex numbers included) cost about
# eight times the contiguous copy of their bytes. Fitted, overhead and factor, on the
# four calibration layers only, the model then predicted 19 layers (the calibration
# layers, convnet-benchmarks' at batches 2 and 8, the CIFAR and VGG cases, VGG-A's,
# GoogLeNet's and OverFeat's 3x3 layers, a 5x5 one, AlexNet's first layer) at
# 0.87-1.37 of their measured times (rms 0.12); with the moves counted once, at
# 0.35-0.78 on the large ones, so that auto ran the tiled FFT on the CIFAR layer
# (1.2x im2col's time) and the VGG case.
_FFT_TILED_MOVES = 8.0
# How the calibration labels a strategy's timing: f"{method}{_ON_LAYER}{i}".
_ON_LAYER = " on calibration layer "
# Smallest GEMM dimensions at which the throughput is measured.
GEMM_SIZES = (1, 4, 16, 64, 256)
# The layers on which each strategy's overhead and factor are fitted, float32:
# ((N, C, H, W), (F, C, HH, WW), conv_param). Small, where fixed costs dominate; 3x3
# with more channels (every strategy applies, Winograd included); 7x7 with
# C*HH*WW = 2352 rows, whose 'im2col-grid' block of 256 columns (2.4 MB) no longer fits
# the 2 MB it keeps in cache, as on convnet-benchmarks' L2-L4; and a larger 3x3 layer
# (a third point for Winograd, whose fixed costs the two small 3x3 layers alone
# folded into its factor: fitted at 2.3-2.7 where large layers measured 1.3-1.9, so
# auto never ran it on VGG-A's and OverFeat's layers, where it is 0.68-0.86 of
# im2col's time). Each forward + backward takes a few milliseconds on a quiet
# machine. Over three calibrations each, auto's choices on 21 layers (convnet-
# benchmarks' at batches 2 and 8, VGG-A's, GoogLeNet's and OverFeat's 3x3 layers, the
# VGG case, the CIFAR layer) took 1.03-1.08 of the fastest strategy's time on
# average, against 1.11-1.13 without the fourth layer. (Larger layers were tried before as
# a fourth and fifth, when Winograd's calibration was timed right after
# 'shifted-gemm' and so came out 3-20x too slow; see SCIPY_BLAS_STRATEGIES.)
CALIBRATION_LAYERS = (((2, 32, 16, 16), (32, 32, 3, 3), {"stride": 1, "pad": 1}),
                      ((1, 64, 16, 16), (64, 64, 3, 3), {"stride": 1, "pad": 1}),
                      ((1, 48, 24, 24), (32, 48, 7, 7), {"stride": 1, "pad": 0}),
                      ((2, 128, 13, 13), (128, 128, 3, 3), {"stride": 1, "pad": 0}))
# The version of the stored file's format: a file of another version is ignored (and
# the model measured again). 6: 'im2col''s forward product runs image by image. 7: dw of
# large layers computed as (F, K), not transposed. 8: 'im2col' multiplies the input of
# 1x1 layers in place. 9: 'im2col' computes dx of some stride-1 layers as a convolution.
# 10: Winograd's transforms are one product each (by Kronecker products); a fourth
# calibration layer; the tiled strategies' moves weighed as measured. 11: the GEMM
# throughput for a small outer dimension.
FORMAT_VERSION = 11
# Timed turns per figure of the calibration; the fastest is kept.
TURNS = 5
# A calibration is disturbed when a figure's second-fastest turn exceeds its fastest by
# this ratio, or a strategy's fitted factor differs from the median of the strategies'
# factors by more than FACTOR_LIMIT times (quiet runs: within 2x; a load of 8 on 2 cores
# once gave im2col 95 against 2 to 3 for the others).
SPREAD_LIMIT = 1.5
# Turns closer than this many seconds agree, whatever their ratio: the per-call figures
# ('call', 'matmul item') take 0.1-0.2 ms, where one scheduler tick gives a ratio of 1.6
# on a quiet machine (this flagged a whole calibration as disturbed, and auto then ran
# im2col everywhere), while the fastest turn, which is kept, is still right.
SPREAD_FLOOR = 2e-4
FACTOR_LIMIT = 10.0
# Calibrations tried before a disturbed one is used (in this process only).
ATTEMPTS = 2
# Within an attempt, the figures whose turns disagree are timed again, alone, up to this
# many more rounds of turns (all turns kept). On this 2-core VM a calibration often
# had one such figure (one quiet turn of five) and came out disturbed, making auto
# run im2col on every layer (2-3x slower than the tiled FFT on L2 and L3); timing that
# figure again costs a fraction of a second.
RETIMES = 3
# Bytes per block of the stride-1 strategies (conv_strategies.BLOCK_BYTES), for the
# number of calls they make.
_BLOCK_BYTES = 1 << 21


@dataclass(frozen=True)
class ConvCostModel:
    """Throughputs of one machine, and the predicted time of each strategy on a layer.

    Attributes
    ----------
    gemm_gflops : tuple of (dtype name, ((s, GFLOP/s), ...))
        GEMM throughput per dtype ('float32', 'float64') of products whose inner
        dimension is ``s``, the others large (interpolated in log-log between the
        measured sizes, constant beyond them).
    gemm_outer_gflops : tuple of (dtype name, ((s, GFLOP/s), ...))
        The same for products whose smaller outer dimension (rows of the result, or
        columns) is ``s`` and the inner one large; empty: as ``gemm_gflops``.
    copy_gbytes : float
        Memory copy throughput, GB/s (bytes read plus bytes written).
    fft_gflops : tuple of (dtype name, G-operations/s)
        ``rfft2`` throughput, counting ``2.5 n log2 n`` per real transform of n points.
    call_us : float
        Microseconds of one NumPy call (small arrays).
    matmul_item_us : float
        Microseconds per matrix of a stacked ``np.matmul`` of tiny matrices.
    strategy_factors : tuple of (method, factor)
        Each strategy's measured time per second of counted work, fitted on
        :data:`CALIBRATION_LAYERS` (a strategy missing here has factor 1).
    strategy_overheads : tuple of (method, seconds)
        Each strategy's fixed cost per forward + backward beyond the counted work,
        fitted with the factor (a strategy missing here has none).
    source : str
        Where the figures come from ('measured ...' or anything a caller says).
    disturbed : str
        Empty for a calibration that passed the checks of the module docstring,
        otherwise what disturbed it (stored with the model: measure again on a quiet
        machine).
    """

    gemm_gflops: tuple
    copy_gbytes: float
    fft_gflops: tuple
    call_us: float
    matmul_item_us: float
    strategy_factors: tuple = ()
    strategy_overheads: tuple = ()
    source: str = "given"
    disturbed: str = ""
    gemm_outer_gflops: tuple = ()

    # -- throughputs ------------------------------------------------------------------

    def _rate(self, table, dtype) -> object:
        name = "float64" if np.dtype(dtype) == np.float64 else "float32"
        return dict(table)[name]

    def gemm_seconds(self, m: int, k: int, n: int, dtype, count: int = 1) -> float:
        """Seconds of ``count`` products (m, k) @ (k, n) (2*m*k*n flops each), plus a
        call each: at the throughput measured for the inner dimension ``k``, or for the
        smaller outer one, whichever is lower. (A small inner dimension costs more than
        a small outer one: float32, 512 x 64 @ 64 x 512 ran at 71-136 GFLOP/s, 64 x 512
        @ 512 x 512 at 121-156; looked up by the smallest dimension alone, im2col's
        products on the VGG 3x3 case were predicted at 1.2-1.5x their time.)"""
        outer = self.gemm_outer_gflops or self.gemm_gflops
        rate = min(_interpolate(self._rate(self.gemm_gflops, dtype), k),
                   _interpolate(self._rate(outer, dtype), min(m, n)))
        return count * (2.0 * m * k * n / (rate * 1e9) + self.matmul_item_us * 1e-6)

    def copy_seconds(self, nbytes: float) -> float:
        """Seconds to read and write ``nbytes`` (counted once, as the copy measured)."""
        return nbytes / (self.copy_gbytes * 1e9)

    def fft_seconds(self, transforms: int, points: int, dtype) -> float:
        """Seconds of ``transforms`` real 2-D FFTs of ``points`` points each."""
        rate = self._rate(self.fft_gflops, dtype)
        return transforms * 2.5 * points * math.log2(max(points, 2)) / (rate * 1e9)

    def calls_seconds(self, calls: int) -> float:
        return calls * self.call_us * 1e-6

    # -- the strategies ---------------------------------------------------------------

    def predict(self, method: str, x_shape, w_shape, conv_param, dtype) -> float:
        """Predicted seconds of ``method``'s forward plus backward (with ``dx``) on a
        layer with input ``x_shape`` (N, C, H, W), filters ``w_shape`` (F, C, HH, WW)
        and ``conv_param``, computed in ``dtype``: the strategy's fitted overhead plus
        the work counted by :meth:`work_seconds` times its fitted factor. The strategy must
        apply to the layer (see
        :func:`~convnets.layers.conv_fast.conv_strategy_applies`)."""
        factor = dict(self.strategy_factors).get(method, 1.0)
        overhead = dict(self.strategy_overheads).get(method, 0.0)
        return overhead + factor * self.work_seconds(method, x_shape, w_shape, conv_param,
                                                     dtype)

    def work_seconds(self, method: str, x_shape, w_shape, conv_param, dtype) -> float:
        """Seconds of the strategy's GEMMs, copies, transforms and calls on the layer,
        at the measured throughputs (no factor)."""
        N, C, H, W = x_shape
        F, _, HH, WW = w_shape
        S, P, D = conv_param.get("stride", 1), conv_param.get("pad", 0), \
            conv_param.get("dilation", 1)
        H_out, W_out = conv_output_shape(H, W, HH, WW, S, P, D)
        Hp, Wp = H + 2 * P, W + 2 * P
        it = np.dtype(dtype).itemsize
        K, T = C * HH * WW, HH * WW
        NP = N * H_out * W_out
        if method == "im2col" and pointwise_applies(w_shape, S, P, H_out, W_out):
            # A 1x1 layer: the input is X_col. Three products image by image, the bias
            # added to the output, db summed from dout.
            return (3 * self.gemm_seconds(F, C, H_out * W_out, dtype, count=N)
                    + self.copy_seconds(2 * F * NP * it) + self.calls_seconds(30 + 3 * N))
        if method == "im2col":
            # X_col (with its row of ones) copied, the forward product image by image,
            # dw in one product; dX_col in one product and added back (col2im, about 2.5
            # times a copy of it), or at stride 1 dx as a convolution of dout: its X_col
            # copied and a product image by image (dx_by_convolution).
            work = (self.gemm_seconds(F, K + 1, H_out * W_out, dtype, count=N)
                    + self.gemm_seconds(F, K + 1, NP, dtype) + self.calls_seconds(30 + 2 * T))
            if dx_by_convolution_applies(x_shape, w_shape, S, H_out, W_out):
                return (work + self.gemm_seconds(C, F * T, H * W, dtype, count=N)
                        + self.copy_seconds((2.5 * K * NP + F * T * N * H * W) * it))
            return (work + self.gemm_seconds(F, K + 1, NP, dtype)
                    + self.copy_seconds(5 * K * NP * it))
        if method == "im2col-grid":
            L = N * ((H_out - 1) * Wp + W_out)
            blocks = max(1, math.ceil(K * L * it / _BLOCK_BYTES))
            cols = max(1, min(L, _BLOCK_BYTES // (K * it)))
            return (3 * self.gemm_seconds(F, K, cols, dtype, count=1) * L / cols
                    + self.copy_seconds(7 * K * L * it)
                    + self.calls_seconds(40 + 3 * blocks + blocks * T))
        if method == "shifted-gemm":
            G = N * Hp * Wp
            cols = max(1, min(G, _BLOCK_BYTES // (max(C, F) * it)))
            blocks = math.ceil(G / cols)
            taps = (self.gemm_seconds(F, C, cols, dtype) + self.gemm_seconds(C, F, cols, dtype))
            return (T * blocks * taps + self.gemm_seconds(K, cols, F, dtype) * blocks
                    + self.copy_seconds(2 * K * G * it + 6 * (C + F) * G * it)
                    + self.calls_seconds(40 + 3 * blocks))
        if method in ("winograd", "winograd4"):
            m = 2 if method == "winograd" else 4
            a = m + 2
            tiles = N * math.ceil(H_out / m) * math.ceil(W_out / m)
            gemms = (self.gemm_seconds(F, C, tiles, dtype, count=a * a)      # M = U V
                     + self.gemm_seconds(F, tiles, C, dtype, count=a * a)    # dU = dM V^T
                     + self.gemm_seconds(C, F, tiles, dtype, count=a * a))   # dV = U^T dM
            # The transforms (one product each, WinogradTransform.kron, inner dimension
            # a*a at most) run at memory speed, like the moves between NCHW and the
            # tiles: both are counted as passes over memory, in sizes of the
            # transformed input V (a*a per tile and channel), the transformed output M
            # (a*a per tile and filter) and the output O (m*m per tile and filter):
            # patches, V, the output put back, dout cut, dM, dd and dx added back read
            # and write 6 V + 2 M + 6 O. Strided, they move bytes at about a third of
            # the contiguous copy's rate (fitted on 13 3x3 layers, from the calibration
            # layers to VGG-A's and OverFeat's: time = 0.2 ms + 0.99 GEMMs + 3.0
            # passes, each layer within 13%; counted as GEMMs at the rate of their
            # inner dimension, the transforms were fitted a coefficient of 0; the
            # filters' transforms, 2 passes of a*a*C*F, fitted no better).
            V, M, O = (it * tiles * n for n in (a * a * C, a * a * F, m * m * F))
            moves = self.copy_seconds(_STRIDED_PASSES * (6 * V + 2 * M + 6 * O))
            return gemms + moves + self.calls_seconds(40 + 4 * (a // m + 1) ** 2)
        if method == "fft":
            Hf = scipy.fft.next_fast_len(Hp, real=True)
            Wf = scipy.fft.next_fast_len(Wp, real=True)
            freqs = Hf * (Wf // 2 + 1)
            transforms = 2 * (N * C + F * C + N * F)
            # Three complex products per frequency (4 real multiply-adds each), the
            # spectra transposed into frequency-major order and back.
            gemms = 3 * 4 * self.gemm_seconds(N, C, F, dtype, count=freqs)
            moves = self.copy_seconds(6 * 2 * it * freqs * (N * C + C * F + N * F))
            return (self.fft_seconds(transforms, Hf * Wf, dtype) + gemms + moves
                    + self.calls_seconds(40))
        if method == "fft-tiled":
            return self._fft_tiled_seconds(x_shape, w_shape, conv_param, dtype)
        raise ValueError(f"method must be a strategy's name, got {method!r}")

    def _fft_tiled_seconds(self, x_shape, w_shape, conv_param, dtype) -> float:
        """Work of 'fft-tiled' (:mod:`convnets.layers.conv_fft_tiled`) on its tiles:
        every transform is two matrix products (columns, then rows), the products per
        frequency are complex (4 real multiply-adds each), plus the copies between."""
        N, C, H, W = x_shape
        F, _, HH, WW = w_shape
        g = tile_grid(x_shape, w_shape, conv_param)
        Th, Tw, Mh, Mw, B = g.Th, g.Tw, g.Mh, g.Mw, g.B
        H1, W1 = g.H1, g.W1
        Twf = Tw // 2 + 1
        freqs = Th * Twf
        it = np.dtype(dtype).itemsize

        def to_spectrum(rows, cols, R):
            return (self.gemm_seconds(2 * Twf, cols, R, dtype, count=rows)
                    + 4 * self.gemm_seconds(Th, rows, Twf * R, dtype))

        def from_spectrum(rows, cols, R):
            return (4 * self.gemm_seconds(rows, Th, Twf * R, dtype)
                    + 4 * self.gemm_seconds(cols, Twf, R, dtype, count=rows))

        gemms = 3 * 4 * self.gemm_seconds(B, C, F, dtype, count=freqs)
        transforms = (to_spectrum(Th, Tw, B * C) + to_spectrum(HH, WW, C * F)
                      + to_spectrum(Mh, Mw, B * F) + from_spectrum(Mh, Mw, B * F)
                      + from_spectrum(HH, WW, F * C) + from_spectrum(Th, Tw, B * C))
        # Patches gathered and added back, the real halves put together as complex
        # numbers, dout spread on its tiles, the outputs put back in NCHW order: strided
        # and complex, at about an eighth of the contiguous copy's rate
        # (_FFT_TILED_MOVES).
        moved = (5 * Th * Tw * B * C + 4 * freqs * (B * C + C * F + B * F)
                 + 3 * Mh * Mw * B * F + 2 * N * (C * H * W + F * H1 * W1))
        moves = self.copy_seconds(_FFT_TILED_MOVES * it * moved)
        calls = 60 + 2 * math.ceil(Th / Mh) * math.ceil(Tw / Mw)
        return gemms + transforms + moves + self.calls_seconds(calls)


def _interpolate(points, s: int) -> float:
    """The throughput at size ``s`` from measured ``(size, rate)`` points: log-log
    interpolation between them, constant beyond them."""
    s = max(1, s)
    sizes = [p[0] for p in points]
    rates = [p[1] for p in points]
    if s <= sizes[0]:
        return rates[0]
    if s >= sizes[-1]:
        return rates[-1]
    return float(np.exp(np.interp(np.log(s), np.log(sizes), np.log(rates))))


def auto_candidates(dtype) -> tuple[str, ...]:
    """The strategies ``auto`` may choose for a computation dtype.

    float32 and float16 (where speed matters): those whose float32 error bound is at
    most :data:`AUTO_FLOAT32_BOUND`, so Winograd F(4x4, 3x3) is left out.

    Never those of :data:`NOT_FOR_AUTO` ('shifted-gemm': its speed in a network depends
    on the NumPy GEMM before it, which the model cannot see; 'fft': the tiled FFT does
    the same products faster; named, they run).

    float64 (the dtype of gradient checks): the GEMM strategies only
    (:data:`EXACT_STRATEGIES`), where every output is its own dot product. Winograd
    and the FFT are accurate to about 1e-13 of the largest value, but they spread
    that rounding over every entry, and a numerical gradient check of a small entry
    sees it (measured: 1e-3 relative error on a near-zero filter gradient of an
    Inception block, against the 1e-7 the checks ask). Named, they run in float64.
    """
    if np.dtype(dtype) == np.float64:
        return tuple(m for m in EXACT_STRATEGIES if m not in NOT_FOR_AUTO)
    return tuple(m for m, bound in FLOAT32_ERROR_BOUNDS.items()
                 if bound <= AUTO_FLOAT32_BOUND and m not in NOT_FOR_AUTO)


def choose_conv_method(x_shape, w_shape, conv_param, dtype, model: ConvCostModel,
                       applies=None) -> tuple[str, dict[str, float]]:
    """The strategy ``auto`` runs on a layer, and the predicted seconds of every
    candidate that applies: ``(name, {name: seconds})``.

    ``model``: e.g. this machine's,
    :func:`~convnets.layers.conv_fast.machine_cost_model`. ``applies(method, w_shape,
    conv_param, dtype)``
    returns None when the strategy applies to the layer (``conv_fast`` passes its
    :func:`conv_strategy_applies`). Near-ties go to the earlier strategy of
    :data:`FLOAT32_ERROR_BOUNDS`' order (im2col first): see :func:`preferred`.
    """
    return _choice(model, tuple(x_shape), tuple(w_shape),
                   tuple(sorted(conv_param.items())), np.dtype(dtype).name, applies)


@functools.lru_cache(maxsize=4096)
def _choice(model, x_shape, w_shape, param_items, dtype_name, applies):
    conv_param = dict(param_items)
    predicted = {}
    for method in auto_candidates(dtype_name):
        if applies is not None and applies(method, w_shape, conv_param, dtype_name):
            continue
        predicted[method] = model.predict(method, x_shape, w_shape, conv_param, dtype_name)
    return preferred(predicted), predicted


def preferred(predicted: dict) -> str:
    """The strategy ``auto`` runs among candidates with ``predicted`` seconds: 'im2col'
    (the notes' strategy, the reference) when its prediction is within
    :data:`AUTO_MARGIN` of the least, otherwise the strategy predicted fastest (exact
    ties to the earliest of :data:`FLOAT32_ERROR_BOUNDS`' order). The model's
    predictions are off by up to a third either way (``make bench`` prints them
    against the measured times), so on a near-tie with im2col it keeps im2col rather
    than a coin toss: on convnet-benchmarks' L5, 'im2col-grid' was predicted at
    0.85-0.94 of 'im2col' and measured at 1.3-1.4 of it. When the model is right,
    im2col costs at most 20% more.

    Between the other strategies there is no such reference, and the earliest of them
    within the margin (the rule until session 12) went to 'im2col-grid', whose
    calibration is the noisiest, on near-ties with Winograd or the tiled FFT: over six
    calibrations, auto's choices on 21 layers took 1.005-1.10 of the fastest
    strategy's time (worst layer 1.73, the VGG 3x3 case), against 1.014-1.040 (worst
    1.20) with this rule."""
    least = min(predicted.values())
    if "im2col" in predicted and predicted["im2col"] <= least * (1 + AUTO_MARGIN):
        return "im2col"
    order = [m for m in FLOAT32_ERROR_BOUNDS if m in predicted]
    order += [m for m in predicted if m not in order]
    return min(order, key=predicted.__getitem__)


# --- measuring the model ---------------------------------------------------------------

def time_turns(fns: dict, turns: int = TURNS, min_seconds: float = 2e-4) -> dict:
    """Seconds of one call of each function of ``fns`` (label -> function), in each of
    ``turns`` turns: ``{label: [seconds, ...]}``.

    Each function is called once untimed (its time sets how many calls one timing
    averages: as many as last ``min_seconds``); then, in every turn, each function is
    timed once in order, so that a disturbance from other work hits one turn of every
    function, not every turn of one. :func:`measure_conv_cost_model` takes any
    function of this signature (tests pass made-up timings)."""
    inner = {}
    for label, fn in fns.items():
        start = time.perf_counter()
        fn()
        inner[label] = max(1, int(min_seconds / max(time.perf_counter() - start, 1e-7)))
    seconds: dict = {label: [] for label in fns}
    for _ in range(turns):
        for label, fn in fns.items():
            start = time.perf_counter()
            for _ in range(inner[label]):
                fn()
            seconds[label].append((time.perf_counter() - start) / inner[label])
    return seconds


def _spread(turns) -> float:
    """How far a figure's second-fastest turn is from its fastest (1.0: they agree
    exactly, or differ by less than :data:`SPREAD_FLOOR` seconds, or one turn only)."""
    ordered = sorted(turns)
    if len(ordered) > 1 and ordered[0] > 0 and ordered[1] - ordered[0] > SPREAD_FLOOR:
        return ordered[1] / ordered[0]
    return 1.0


def _fastest(seconds: dict, spreads: dict) -> dict:
    """The fastest turn of each label; records in ``spreads`` how far the second
    fastest is from it (:func:`_spread`)."""
    best = {}
    for label, turns in seconds.items():
        best[label] = min(turns)
        spreads[label] = _spread(turns)
    return best


def _timed(timer, fns: dict, history: dict, counts=lambda label: True) -> dict:
    """Every turn of each function of ``fns`` (label -> function): ``timer(fns,
    TURNS)``, then again for the labels whose turns still disagree (spread above
    :data:`SPREAD_LIMIT`) and whose spread ``counts`` (those of strategies auto never
    runs do not), up to :data:`RETIMES` more rounds. The turns are added to
    ``history`` (label -> seconds), which may hold turns of earlier attempts; returns
    all of them for the labels of ``fns``."""
    todo = fns
    for _ in range(1 + RETIMES):
        for label, seconds in timer(todo, TURNS).items():
            history.setdefault(label, []).extend(seconds)
        todo = {label: fn for label, fn in fns.items()
                if counts(label) and _spread(history[label]) > SPREAD_LIMIT}
        if not todo:
            break
    return {label: list(history[label]) for label in fns}


def fit_strategy_costs(work: list[float], seconds: list[float]) -> tuple[float, float]:
    """``(overhead, factor)`` such that ``overhead + factor * work[i]`` matches the
    measured ``seconds[i]``, in relative least squares (each layer's error counted as
    a fraction of its time, so the small layer weighs as much as the large ones), both
    non-negative. (Counted in seconds instead, so that the largest layer sets the
    factor, the fit chose worse: with the larger calibration layers tried in
    :data:`CALIBRATION_LAYERS`' note, auto's choices took 1.08 times the fastest
    strategy's time on average over 12 layers, against 1.05.) With fewer than three
    layers, or when the times do not grow with the work (the fitted factor explains
    less than a thousandth of the largest time), the factor is the median of
    ``seconds / work`` and the overhead 0: two layers fix both parameters exactly,
    their noise included (Winograd, timed on the two 3x3 layers, once got a factor of
    0.12 and an overhead of 0.7 ms, against factors of 0.6-0.9 in other calibrations,
    and the calibration counted as disturbed)."""
    # Imported here, when calibrating only: scipy.optimize takes time to import.
    from scipy.optimize import nnls

    work_a, sec_a = np.asarray(work, float), np.asarray(seconds, float)
    if len(work_a) >= 3:
        a = np.stack([1.0 / sec_a, work_a / sec_a], axis=1)
        (overhead, factor), _ = nnls(a, np.ones(len(work_a)))
        if factor * work_a.max() > 1e-3 * sec_a.max():
            return float(overhead), float(factor)
    return 0.0, float(np.median(sec_a / work_a))


def measure_conv_cost_model(run_strategy, timer=time_turns, history=None) -> ConvCostModel:
    """Measure this machine's throughputs and each strategy's overhead and factor into
    a :class:`ConvCostModel` (one attempt; :func:`load_or_measure` repeats a disturbed
    one). ``run_strategy(method, x, w, b, conv_param)`` runs one strategy's forward
    and backward (:func:`convnets.layers.conv_fast.run_conv_strategy`; passed in
    because ``conv_fast`` imports this module). ``timer(fns, turns)`` times the
    functions of a dict in turns, as :func:`time_turns` does; figures whose turns
    disagree are timed again (:func:`_timed`). ``history`` (label -> seconds), when
    given, holds the turns of earlier attempts, to which this one's are added. The
    model's ``disturbed`` says what disturbed the calibration (empty when nothing
    did)."""
    rng = np.random.default_rng(0)
    spreads: dict = {}
    fns, gemm_flops = {}, {}
    for dtype in (np.float32, np.float64):
        squares = {}        # (big, big) operands of the outer products, one per size
        for s in GEMM_SIZES:
            big = 512 if s == GEMM_SIZES[-1] else 256
            a = rng.standard_normal((big, s)).astype(dtype)
            b = rng.standard_normal((s, big)).astype(dtype)
            label = f"gemm {np.dtype(dtype).name} {s}"
            fns[label] = lambda a=a, b=b: a @ b
            gemm_flops[label] = 2.0 * big * s * big
            # s as the rows of the result instead: (s, big) @ (big, big)
            if big not in squares:
                squares[big] = rng.standard_normal((big, big)).astype(dtype)
            square = squares[big]
            label = f"gemm outer {np.dtype(dtype).name} {s}"
            fns[label] = lambda b=b, square=square: b @ square
            gemm_flops[label] = 2.0 * s * big * big
    src = rng.standard_normal(1 << 21).astype(np.float32)      # 8 MB, past the caches
    dst = np.empty_like(src)
    fns["copy"] = lambda: np.copyto(dst, src)
    for dtype in (np.float32, np.float64):
        planes = rng.standard_normal((32, 64, 64)).astype(dtype)
        fns[f"fft {np.dtype(dtype).name}"] = lambda planes=planes: scipy.fft.rfft2(planes)
    tiny = np.ones(4)
    fns["call"] = lambda: [np.add(tiny, tiny) for _ in range(200)]
    stack = np.ones((2000, 2, 2))
    fns["matmul item"] = lambda: np.matmul(stack, stack)
    history = {} if history is None else history
    best = _fastest(_timed(timer, fns, history), spreads)
    gemm, gemm_outer = [], []
    for dtype in ("float32", "float64"):
        for table, kind in ((gemm, "gemm"), (gemm_outer, "gemm outer")):
            points = [(s, gemm_flops[f"{kind} {dtype} {s}"] / best[f"{kind} {dtype} {s}"]
                       / 1e9) for s in GEMM_SIZES]
            # A larger product is never slower per flop than a smaller one: the running
            # maximum drops measurements disturbed by other work on a shared machine.
            table.append((dtype, tuple((s, max(r for _, r in points[:i + 1]))
                                       for i, (s, _) in enumerate(points))))
    rates = ConvCostModel(
        gemm_gflops=tuple(gemm), gemm_outer_gflops=tuple(gemm_outer),
        copy_gbytes=2 * src.nbytes / best["copy"] / 1e9,
        fft_gflops=tuple((d, 32 * 2.5 * 4096 * 12 / best[f"fft {d}"] / 1e9)
                         for d in ("float32", "float64")),
        call_us=best["call"] / 200 * 1e6, matmul_item_us=best["matmul item"] / 2000 * 1e6)
    overheads, factors = _strategy_costs(rates, run_strategy, timer, spreads, history)
    # What auto never runs cannot disturb its choices: shifted-gemm's turns disagree on
    # a quiet machine too (the second BLAS thread pool, see NOT_FOR_AUTO); their figures
    # are still fitted, for the benchmark's prediction column.
    reasons = [f"{label}: second-fastest turn {spread:.2f}x the fastest"
               for label, spread in spreads.items()
               if spread > SPREAD_LIMIT and _counts_for_auto(label)]
    typical = float(np.median([factor for _, factor in factors]))
    reasons += [f"{method}: factor {factor:.3g}, the strategies' median {typical:.3g}"
                for method, factor in factors if method not in NOT_FOR_AUTO
                and not typical / FACTOR_LIMIT <= factor <= typical * FACTOR_LIMIT]
    return replace(
        rates, strategy_factors=factors, strategy_overheads=overheads,
        source=f"measured {time.strftime('%Y-%m-%d %H:%M:%S')} on {platform.node()}",
        disturbed="; ".join(reasons))


def _counts_for_auto(label: str) -> bool:
    """Whether a figure's spread can disturb the calibration: every figure except the
    timings of the strategies auto never runs (:data:`NOT_FOR_AUTO`)."""
    return label.split(_ON_LAYER)[0] not in NOT_FOR_AUTO


def _strategy_costs(rates: ConvCostModel, run_strategy, timer, spreads, history) -> tuple:
    """Each strategy's ``(overheads, factors)`` fitted (:func:`fit_strategy_costs`) on
    its forward + backward times on the layers of :data:`CALIBRATION_LAYERS` it
    applies to (float32, fastest of the turns) against the work ``rates`` count."""
    rng = np.random.default_rng(1)
    fns, work = {}, {}
    for i, (x_shape, w_shape, conv_param) in enumerate(CALIBRATION_LAYERS):
        x = rng.standard_normal(x_shape).astype(np.float32)
        w = (rng.standard_normal(w_shape) / np.sqrt(np.prod(w_shape[1:]))).astype(np.float32)
        b = np.zeros(w_shape[0], dtype=np.float32)
        for method in FLOAT32_ERROR_BOUNDS:
            if conv_strategy_applies(method, w_shape, conv_param, np.float32):
                continue
            fns[(method, i)] = (lambda method=method, x=x, w=w, b=b, conv_param=conv_param:
                                run_strategy(method, x, w, b, conv_param))
            work[(method, i)] = rates.work_seconds(method, x_shape, w_shape, conv_param,
                                                   np.float32)
    # The strategies computing in SciPy's BLAS are timed after all the others, in turns
    # of their own: its threads spin after each product and slow down a NumPy product
    # right after (Winograd, timed after 'shifted-gemm', came out 3-20x too slow).
    timings = {}
    for scipy_blas in (False, True):
        group = {f"{m}{_ON_LAYER}{i}": fn for (m, i), fn in fns.items()
                 if (m in SCIPY_BLAS_STRATEGIES) == scipy_blas}
        if group:
            timings.update(_timed(timer, group, history, counts=_counts_for_auto))
    best = _fastest(timings, spreads)
    overheads, factors = [], []
    for method in FLOAT32_ERROR_BOUNDS:
        keys = [key for key in fns if key[0] == method]
        overhead, factor = fit_strategy_costs(
            [work[key] for key in keys],
            [best[f"{method}{_ON_LAYER}{i}"] for _, i in keys])
        overheads.append((method, overhead))
        factors.append((method, factor))
    return tuple(overheads), tuple(factors)


def machine_identity() -> dict:
    """What the stored model depends on: host name, CPU model, core count, NumPy,
    SciPy and BLAS versions, and the BLAS thread setting of the environment."""
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f
                        if line.startswith("model name")), cpu)
    except OSError:
        pass
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = f"{blas.get('name')} {blas.get('version')}"
    except Exception:                   # an older NumPy, or a build without the record
        blas = "unknown"
    threads = os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS") or "-"
    return {"host": platform.node(), "cpu": cpu, "cores": os.cpu_count(),
            "numpy": np.__version__, "scipy": scipy.__version__, "blas": blas,
            "threads": threads}


def cost_model_path(cache_dir: str | Path | None = None) -> Path:
    """Where this machine's model is stored: in ``cache_dir`` when given, else
    ``$CONVNETS_CACHE_DIR``, else ``$XDG_CACHE_HOME/convnets``, else
    ``~/.cache/convnets``; one file per host, CPU count, NumPy version and BLAS
    thread setting (the file also records :func:`machine_identity`, checked on
    reading)."""
    if cache_dir is None:
        cache_dir = os.environ.get("CONVNETS_CACHE_DIR") or Path(
            os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "convnets"
    ident = machine_identity()
    key = f"{ident['host']}-{ident['cores']}cpu-numpy{ident['numpy']}-threads{ident['threads']}"
    return Path(cache_dir) / f"conv_cost_model-{key}.json"


def _to_json(model: ConvCostModel) -> dict:
    return {"format_version": FORMAT_VERSION, "machine": machine_identity(), **asdict(model)}


def _from_json(data: dict) -> ConvCostModel:
    """The stored model, or ValueError when the file is of another format version or
    another machine (then it is measured again)."""
    if data.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"format version {data.get('format_version')!r}, "
                         f"not {FORMAT_VERSION}")
    if data.get("machine") != machine_identity():
        raise ValueError(f"measured on {data.get('machine')!r}, not {machine_identity()!r}")
    def rate_table(table):
        return tuple((name, tuple((int(s), float(r)) for s, r in points))
                     for name, points in table)
    return ConvCostModel(
        gemm_gflops=rate_table(data["gemm_gflops"]),
        copy_gbytes=float(data["copy_gbytes"]),
        fft_gflops=tuple((name, float(r)) for name, r in data["fft_gflops"]),
        call_us=float(data["call_us"]), matmul_item_us=float(data["matmul_item_us"]),
        strategy_factors=tuple((str(m), float(f)) for m, f in data["strategy_factors"]),
        strategy_overheads=tuple((str(m), float(s)) for m, s in data["strategy_overheads"]),
        source=str(data["source"]), disturbed=str(data.get("disturbed", "")),
        gemm_outer_gflops=rate_table(data["gemm_outer_gflops"]))


def load_or_measure(run_strategy, cache_dir=None, timer=time_turns, *,
                    remeasure: bool = False) -> ConvCostModel:
    """The model stored in ``cache_dir`` (see :func:`cost_model_path`) when it is of
    this format version and this machine (and ``remeasure`` is false); otherwise
    measured and stored. A disturbed calibration is measured again, up to
    :data:`ATTEMPTS` times in all, each attempt adding its turns to those of the
    attempts before it (the fastest of all turns kept, the spread checked over all of
    them); when the last is still disturbed it is stored with what disturbed it, so
    that the next process does not pay for measuring again."""
    if not remeasure:
        try:
            return _from_json(json.loads(cost_model_path(cache_dir).read_text()))
        except (OSError, RuntimeError, ValueError, KeyError, TypeError):
            pass          # no home directory, no file, another machine or format: measure
    history: dict = {}
    for _ in range(ATTEMPTS):
        model = measure_conv_cost_model(run_strategy, timer, history)
        if not model.disturbed:
            break
    try:
        path = cost_model_path(cache_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False,
                                         suffix=".tmp") as f:
            json.dump(_to_json(model), f, indent=1)
        os.replace(f.name, path)
    except (OSError, RuntimeError):
        pass              # e.g. a read-only home in the grading sandbox: this process only
    return model


@functools.cache
def _process_model(run_strategy) -> ConvCostModel:
    return load_or_measure(run_strategy)


# Layers may run in several threads at once (convnets.nn.parallel): one of them
# calibrates, the others wait for its model instead of timing the machine alongside.
_MODEL_LOCK = threading.Lock()


def conv_cost_model(run_strategy) -> ConvCostModel:
    """This machine's model (:func:`load_or_measure` in the default cache directory),
    kept for the life of the process
    (:func:`convnets.layers.conv_fast.machine_cost_model` calls it). Safe to call from
    several threads: the first call measures, the others wait for it."""
    with _MODEL_LOCK:
        return _process_model(run_strategy)
