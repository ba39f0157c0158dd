"""Speed benchmarks of the conv layer and of FC->CONV (run by ``python -m convnets.bench``).

Speed is measured here, never asserted in tests: timings depend on the machine and
on what else runs on it. Every figure in the table is measured in the same run,
side by side, as the best of several repetitions (the least disturbed one).

Sections (each a function returning table rows; :mod:`convnets.bench.run` lists
them in ``SECTIONS``):

* naive vs fast: the loops against im2col + GEMM on the CS231n speed case.
* fast vs the machine's GEMM: the fast layer's forward+backward time against the
  three plain matrix multiplies of the same shapes (forward ``W_row @ X_col``,
  ``dw = dout_row @ X_col.T``, ``dX_col = W_row.T @ dout_row``), i.e. the fraction of
  the BLAS throughput the whole layer achieves.
* fast vs PyTorch: ``torch.nn.functional.conv2d`` forward+backward on the same
  shapes and dtype, when PyTorch is installed (never a dependency).
* memory: the peak memory of the fast layer (``tracemalloc`` sees NumPy's
  allocations) next to the size of a full im2col matrix.
* fc -> conv: the time one pass of a converted network saves against evaluating
  the crops it replaces (VGG-16, 384x384 image, 36 crops of 224).
* training: images per second of a whole training step of ThreeLayerConvNet
  (forward, backward, Adam), against the same network in PyTorch when installed
  (:mod:`convnets.bench.training`).
"""

from __future__ import annotations

import math
import tracemalloc
from collections.abc import Callable

import numpy as np

from ..layers.conv_fast import conv_backward_fast, conv_forward_fast
from ..layers.conv_naive import conv_backward_naive, conv_forward_naive
from ..nn import zoo
from ..nn.convert import time_fc_to_conv
from ..shapes import conv_output_shape
from .report import Row, best_time, best_times

__all__ = ["GEMM_CASE", "TORCH_CASES", "MEMORY_CASES", "gemm_reference", "section_naive_vs_fast",
           "section_gemm_fraction", "section_torch", "section_memory", "section_fc_to_conv"]


def _arrays(x_shape, w_shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = (rng.standard_normal(w_shape) / np.sqrt(np.prod(w_shape[1:]))).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    return x, w, b


def _fast_step(x, w, b, conv_param, dout):
    def step():
        out, cache = conv_forward_fast(x, w, b, conv_param)
        conv_backward_fast(dout, cache)
    return step


def _case_name(x_shape, w_shape, conv_param) -> str:
    return (f"x{x_shape} w{w_shape} S={conv_param['stride']} P={conv_param['pad']}"
            .replace(" ", "").replace("S=", " S=").replace("P=", " P="))


# Issue 15's targets (earlier ones: 300x, and float32 at most twice torch's time).
NAIVE_SPEEDUP_TARGET = 1000
FLOAT32_TORCH_TARGET = 1.0


def section_naive_vs_fast(quick: bool) -> list[Row]:
    """The CS231n speed case: x (100, 3, 31, 31), w (25, 3, 3, 3), stride 2, pad 1."""
    N = 10 if quick else 100
    x_shape, w_shape, conv_param = (N, 3, 31, 31), (25, 3, 3, 3), {"stride": 2, "pad": 1}
    x, w, b = _arrays(x_shape, w_shape, np.float64)
    out, cache = conv_forward_naive(x, w, b, conv_param)
    dout = np.random.default_rng(1).standard_normal(out.shape)

    def naive():
        o, c = conv_forward_naive(x, w, b, conv_param)
        conv_backward_naive(dout, c)

    # The fast step is timed before and after the naive run (its best call of both): a
    # few ms each, it is easily caught whole by a disturbance of the machine, which
    # would then decide the ratio; the naive run, seconds long, averages them out.
    fast = _fast_step(x, w, b, conv_param, dout)
    t_fast = best_time(fast, repeat=20)
    t_naive = best_time(naive, repeat=1, warmup=0)
    t_fast = min(t_fast, best_time(fast, repeat=20))
    speedup = t_naive / t_fast
    case = _case_name(x_shape, w_shape, conv_param)
    return [
        Row("naive vs fast", case, "float64", "naive fwd+bwd", f"{t_naive * 1e3:.1f} ms"),
        Row("naive vs fast", case, "float64", "fast fwd+bwd", f"{t_fast * 1e3:.2f} ms"),
        Row("naive vs fast", case, "float64", "speed-up naive/fast", f"{speedup:.0f}x",
            f">= {NAIVE_SPEEDUP_TARGET}x", speedup >= NAIVE_SPEEDUP_TARGET),
    ]


GEMM_CASE = ((8, 64, 56, 56), (64, 64, 3, 3), {"stride": 1, "pad": 1})


def gemm_reference(x_shape, w_shape, conv_param, dtype) -> dict[str, Callable[[], object]]:
    """The three matrix multiplies a conv layer's forward+backward amounts to, on
    contiguous operands of the same shapes: (F,K)@(K,M) for the forward, (F,M)@(M,K)
    for dw and (K,F)@(F,M) for dX_col, with K = C*HH*WW and M = N*H'*W'. dw is timed
    in the orientation the fast layer uses, ``(X_col @ dout_row.T).T``: the faster
    one on this machine's OpenBLAS, so that the reference is not slower than the
    products it stands for."""
    N, C, H, W = x_shape
    F, _, HH, WW = w_shape
    S, P = conv_param["stride"], conv_param["pad"]
    M = N * math.prod(conv_output_shape(H, W, HH, WW, S, P))
    K = C * HH * WW
    rng = np.random.default_rng(0)
    w_row = rng.standard_normal((F, K)).astype(dtype)
    x_col = rng.standard_normal((K, M)).astype(dtype)
    dout_row = rng.standard_normal((F, M)).astype(dtype)
    return {"gemm forward": lambda: np.dot(w_row, x_col),
            "gemm dw": lambda: np.dot(x_col, dout_row.T),
            "gemm dx": lambda: np.dot(w_row.T, dout_row)}


def _fast_and_gemm_times(x_shape, w_shape, conv_param, dtype, repeat, others=None):
    """Best seconds of the fast layer's forward+backward (``'fast'``) and of its three
    GEMMs on ready operands (``'gemms'``, summed: :func:`gemm_reference`), timed in the
    same turns as the functions ``others(x, w, b, dout)`` returns (under their own
    names), all on the same operands in ``dtype``."""
    x, w, b = _arrays(x_shape, w_shape, dtype)
    N, _, H, W = x_shape
    F, _, HH, WW = w_shape
    out_shape = (N, F, *conv_output_shape(H, W, HH, WW, conv_param["stride"],
                                          conv_param["pad"]))
    dout = np.random.default_rng(1).standard_normal(out_shape).astype(dtype)
    fns = gemm_reference(x_shape, w_shape, conv_param, dtype)
    gemms = list(fns)
    if others is not None:
        fns.update(others(x, w, b, dout))
    fns["fast"] = _fast_step(x, w, b, conv_param, dout)
    times = best_times(fns, repeat)
    times["gemms"] = sum(times.pop(name) for name in gemms)
    return times


def section_gemm_fraction(quick: bool) -> list[Row]:
    """Fast forward+backward as a fraction of the machine's GEMM throughput."""
    x_shape, w_shape, conv_param = GEMM_CASE
    if quick:
        x_shape = (2,) + x_shape[1:]
    repeat = 3 if quick else 7
    rows = []
    case = _case_name(x_shape, w_shape, conv_param)
    for dtype in (np.float64, np.float32):
        times = _fast_and_gemm_times(x_shape, w_shape, conv_param, dtype, repeat)
        t_fast, t_gemm = times["fast"], times["gemms"]
        fraction = t_gemm / t_fast
        name = np.dtype(dtype).name
        rows += [
            Row("fast vs GEMM", case, name, "3 GEMMs of the same shapes", f"{t_gemm * 1e3:.1f} ms"),
            Row("fast vs GEMM", case, name, "fast fwd+bwd", f"{t_fast * 1e3:.1f} ms"),
            Row("fast vs GEMM", case, name, "GEMM time / fast time", f"{fraction:.2f}",
                ">= 0.70", fraction >= 0.7),
        ]
    return rows


TORCH_CASES = [
    ((8, 64, 56, 56), (64, 64, 3, 3), {"stride": 1, "pad": 1}),
    ((50, 3, 32, 32), (32, 3, 7, 7), {"stride": 1, "pad": 3}),
]


def section_torch(quick: bool) -> list[Row]:
    """Fast forward+backward against torch.nn.functional.conv2d (CPU), same dtype."""
    try:
        import torch
        import torch.nn.functional as tf
    except ImportError:
        return [Row("fast vs PyTorch", "-", "-", "PyTorch not installed: skipped", "-")]
    repeat = 3 if quick else 7
    rows = []
    for x_shape, w_shape, conv_param in TORCH_CASES:
        if quick:
            x_shape = (max(1, x_shape[0] // 4),) + x_shape[1:]
        case = _case_name(x_shape, w_shape, conv_param)
        for dtype, limit in ((np.float64, 1.0), (np.float32, FLOAT32_TORCH_TARGET)):
            def torch_steps(x, w, b, dout, S=conv_param["stride"], P=conv_param["pad"]):
                tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
                tdout = torch.tensor(dout)

                def torch_step():
                    y = tf.conv2d(tx, tw, tb, stride=S, padding=P)
                    y.backward(tdout)
                    tx.grad = tw.grad = tb.grad = None
                return {"torch": torch_step}

            # The layer's three GEMMs alone, on ready operands, are what im2col cannot go
            # below whatever its copies cost.
            times = _fast_and_gemm_times(x_shape, w_shape, conv_param, dtype, repeat,
                                         torch_steps)
            t_torch, t_fast, t_gemm = times["torch"], times["fast"], times["gemms"]
            ratio = t_fast / t_torch
            name = np.dtype(dtype).name
            rows += [
                Row("fast vs PyTorch", case, name, "torch conv2d fwd+bwd",
                    f"{t_torch * 1e3:.1f} ms"),
                Row("fast vs PyTorch", case, name, "fast fwd+bwd", f"{t_fast * 1e3:.1f} ms"),
                Row("fast vs PyTorch", case, name, "fast time / torch time", f"{ratio:.2f}",
                    f"<= {limit:.1f}", ratio <= limit),
                Row("fast vs PyTorch", case, name, "3 GEMMs of the same shapes / torch time "
                    "(im2col's floor)", f"{t_gemm / t_torch:.2f}"),
            ]
    rows.append(Row("fast vs PyTorch", "", "", f"torch {torch.__version__}, "
                    f"{torch.get_num_threads()} threads", ""))
    return rows


MEMORY_CASES = [GEMM_CASE, TORCH_CASES[1],
                ((100, 3, 31, 31), (25, 3, 3, 3), {"stride": 2, "pad": 1})]


def section_memory(quick: bool) -> list[Row]:
    """Peak memory of fast forward+backward next to the size of a full im2col matrix."""
    rows = []
    for x_shape, w_shape, conv_param in MEMORY_CASES:
        if quick:
            x_shape = (max(1, x_shape[0] // 4),) + x_shape[1:]
        dtype = np.float32
        x, w, b = _arrays(x_shape, w_shape, dtype)
        out, _ = conv_forward_fast(x, w, b, conv_param)
        dout = np.random.default_rng(1).standard_normal(out.shape).astype(dtype)
        N, C, H, W = x_shape
        F, _, HH, WW = w_shape
        S, P = conv_param["stride"], conv_param["pad"]
        M = N * math.prod(conv_output_shape(H, W, HH, WW, S, P))
        im2col_bytes = C * HH * WW * M * np.dtype(dtype).itemsize
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            out, cache = conv_forward_fast(x, w, b, conv_param)
            conv_backward_fast(dout, cache)
            del out, cache
            peak = tracemalloc.get_traced_memory()[1] - base
        finally:
            tracemalloc.stop()
        case = _case_name(x_shape, w_shape, conv_param)
        name = np.dtype(dtype).name
        rows += [
            Row("memory", case, name, "input x", f"{x.nbytes / 2**20:.1f} MiB"),
            Row("memory", case, name, "full im2col matrix C*HH*WW x N*H'*W'",
                f"{im2col_bytes / 2**20:.1f} MiB"),
            Row("memory", case, name, "peak of fast fwd+bwd (tracemalloc)",
                f"{peak / 2**20:.1f} MiB ({peak / im2col_bytes:.2f}x im2col)"),
        ]
    return rows


def section_fc_to_conv(quick: bool) -> list[Row]:
    """One pass of VGG-16 converted to a fully convolutional net on a 384x384 image
    against its 36 crops of 224x224 at stride 32 (see :func:`convnets.time_fc_to_conv`)."""
    width = 1 / 32 if quick else 1 / 8
    model = zoo.get("vgg16", width=width, num_classes=10, seed=0)
    result = time_fc_to_conv(model, batch_size=12, repeats=1 if quick else 3)
    case = (f"VGG-16 (width 1/{round(1 / width)}), {result['image_size']}x"
            f"{result['image_size']} image, {result['crops']} crops")
    return [
        Row("fc -> conv", case, "float32", "36 crops, forward in batches of 12",
            f"{result['crops_seconds'] * 1e3:.0f} ms"),
        Row("fc -> conv", case, "float32", "one pass of the converted network",
            f"{result['converted_seconds'] * 1e3:.0f} ms"),
        Row("fc -> conv", case, "float32", "time saved: crops / converted",
            f"{result['speedup']:.1f}x"),
        Row("fc -> conv", case, "float32", "largest score difference (zero padding at "
            "crop borders, see lesson 07)", f"{result['max_abs_difference']:.3g}"),
    ]
