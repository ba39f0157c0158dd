"""soumith/convnet-benchmarks' five layers as a section of ``make bench``.

The layers exactly as the original defines them (stride 1, no padding; its batch is
128, ours is :data:`BATCH` so that the section runs in seconds here):

====  ===============  ==============
L1    3 x 128 x 128    96 of 11 x 11
L2    64 x 64 x 64     128 of 9 x 9
L3    128 x 32 x 32    128 of 9 x 9
L4    128 x 16 x 16    128 of 7 x 7
L5    384 x 13 x 13    384 of 3 x 3
====  ===============  ==============

For each layer, in float32, every strategy that applies to it
(:data:`convnets.CONV_STRATEGIES`; ``auto`` marks the one ``method='auto'`` picks;
``--quick``: only im2col, Winograd and auto's choice, at batch 1) and
``torch.nn.functional.conv2d`` when PyTorch is installed (never a dependency), timed
in turns in the same run: forward, backward to the input, backward to the weights,
total. Our backward computes both gradients in one call; "backward to the weights"
is ``conv_backward_fast(..., compute_dx=False)`` and "backward to the input" the full
backward minus that. GFLOP/s counts the direct convolution's ``2*N*F*C*HH*WW*H'*W'``
multiply-adds per pass, three passes for the total (the original's convention: FFT
and Winograd do fewer and so can exceed the machine's SGEMM rate); "of SGEMM" divides
that by the float32 GEMM throughput measured in the same run (:func:`sgemm_gflops`).

Printed as a table in the original's style and written to ``convnet_benchmarks.csv``
and ``.json`` in ``out/bench/`` (or the directory given). Speed is measured, never
asserted in tests.
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import numpy as np

from ..layers.conv_fast import (
    CONV_STRATEGIES,
    conv_backward_fast,
    conv_forward_fast,
    conv_strategy_applies,
)
from .report import Row, best_time, best_times

__all__ = ["CONVNET_BENCHMARK_LAYERS", "BATCH", "QUICK_BATCH", "QUICK_METHODS", "OUT_DIR",
           "sgemm_gflops", "convnet_benchmarks", "section_convnet_benchmarks"]

# name -> (input (C, H, W), filters (F, C, HH, WW)); stride 1, no padding.
CONVNET_BENCHMARK_LAYERS = {
    "L1": ((3, 128, 128), (96, 3, 11, 11)),
    "L2": ((64, 64, 64), (128, 64, 9, 9)),
    "L3": ((128, 32, 32), (128, 128, 9, 9)),
    "L4": ((128, 16, 16), (128, 128, 7, 7)),
    "L5": ((384, 13, 13), (384, 384, 3, 3)),
}
BATCH = 2
QUICK_BATCH = 1
# --quick leaves out the FFT: at these small batches its filter transforms (F*C planes
# of the padded input's size) take seconds per call on L2, L3 and L5.
QUICK_METHODS = ("im2col", "winograd")
OUT_DIR = Path("out") / "bench"
CONV_PARAM = {"stride": 1, "pad": 0}


def sgemm_gflops(n: int = 1024, repeat: int = 5) -> float:
    """The machine's float32 GEMM throughput: an (n, n) @ (n, n) product, best of
    ``repeat``, in GFLOP/s (2*n**3 flops)."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((n, n)).astype(np.float32) for _ in range(2))
    return 2 * n ** 3 / best_time(lambda: a @ b, repeat=repeat) / 1e9


def _direct_flops(N, x_chw, w_shape) -> int:
    """Multiply-adds (x2) of the direct convolution's forward pass, stride 1, no pad."""
    C, H, W = x_chw
    F, _, HH, WW = w_shape
    return 2 * N * F * C * HH * WW * (H - HH + 1) * (W - WW + 1)


def _ours(x, w, b, dout, method):
    def forward():
        return conv_forward_fast(x, w, b, CONV_PARAM, method=method)

    _, cache = forward()
    return {"forward": forward,
            "backward": lambda: conv_backward_fast(dout, cache),
            "backward weights": lambda: conv_backward_fast(dout, cache, compute_dx=False)}


def _torch(x, w, b, dout):
    import torch
    import torch.nn.functional as tf

    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    tdout = torch.tensor(dout)

    def forward():
        return tf.conv2d(tx, tw, tb)

    def input_grad():
        torch.autograd.grad(forward(), tx, tdout)

    def weight_grad():
        torch.autograd.grad(forward(), (tw, tb), tdout)

    # torch's backward needs its forward graph: both gradients are timed with a forward,
    # which is subtracted below.
    return {"forward": forward, "forward+input": input_grad, "forward+weights": weight_grad}


def convnet_benchmarks(layers: dict | None = None, batch: int = BATCH, repeat: int = 2,
                       out_dir: Path | str | None = OUT_DIR, with_torch: bool = True,
                       gemm_size: int = 1024,
                       methods: tuple[str, ...] = CONV_STRATEGIES) -> tuple[list[dict], str]:
    """Time the strategies of ``methods`` that apply to each layer, plus the one
    ``method='auto'`` picks, and torch; return the records (one dict per layer and
    implementation) and the printed table, and write both files to ``out_dir``
    (None: no file)."""
    layers = CONVNET_BENCHMARK_LAYERS if layers is None else layers
    torch_version = None
    if with_torch:
        try:
            import torch
            torch_version = f"{torch.__version__} ({torch.get_num_threads()} threads)"
        except ImportError:
            pass
    sgemm = sgemm_gflops(gemm_size)
    records = []
    for name, (x_chw, w_shape) in layers.items():
        rng = np.random.default_rng(0)
        x = rng.standard_normal((batch, *x_chw)).astype(np.float32)
        w = (rng.standard_normal(w_shape) / np.sqrt(np.prod(w_shape[1:]))).astype(np.float32)
        b = rng.standard_normal(w_shape[0]).astype(np.float32)
        out, auto_cache = conv_forward_fast(x, w, b, CONV_PARAM)
        dout = rng.standard_normal(out.shape).astype(np.float32)
        timed = [m for m in CONV_STRATEGIES
                 if (m in methods or m == auto_cache["method"])
                 and conv_strategy_applies(m, w_shape, CONV_PARAM, np.float32) is None]
        fns = {}
        for method in timed:
            for phase, fn in _ours(x, w, b, dout, method).items():
                fns[(method, phase)] = fn
        if torch_version:
            for phase, fn in _torch(x, w, b, dout).items():
                fns[("torch", phase)] = fn
        times = best_times(fns, repeat=repeat, inner=1)
        flops = _direct_flops(batch, x_chw, w_shape)
        layer_records = []
        for impl in timed + (["torch"] if torch_version else []):
            t = {phase: s for (m, phase), s in times.items() if m == impl}
            if impl == "torch":
                fwd = t["forward"]
                bwd_in = max(t["forward+input"] - fwd, 0.0)
                bwd_w = max(t["forward+weights"] - fwd, 0.0)
            else:
                fwd, bwd_w = t["forward"], t["backward weights"]
                bwd_in = max(t["backward"] - bwd_w, 0.0)
            total = fwd + bwd_in + bwd_w
            gflops = 3 * flops / total / 1e9
            layer_records.append({
                "layer": name, "input": "x".join(map(str, x_chw)),
                "filters": f"{w_shape[0]}x{w_shape[2]}x{w_shape[3]}", "batch": batch,
                "implementation": impl, "auto": impl == auto_cache["method"],
                "forward_ms": fwd * 1e3, "backward_input_ms": bwd_in * 1e3,
                "backward_weights_ms": bwd_w * 1e3, "total_ms": total * 1e3,
                "gflops": gflops, "of_sgemm": gflops / sgemm})
        if torch_version:
            t_torch = layer_records[-1]["total_ms"]
            for r in layer_records:
                r["vs_torch"] = r["total_ms"] / t_torch
        records += layer_records
    table = _format(records, batch, sgemm, torch_version)
    if out_dir is not None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        with open(out_dir / "convnet_benchmarks.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(records[0]) + (
                [] if "vs_torch" in records[0] else ["vs_torch"]))
            writer.writeheader()
            writer.writerows(records)
        meta = {"batch": batch, "sgemm_gflops": sgemm, "torch": torch_version,
                "dtype": "float32", "stride": 1, "pad": 0,
                "date": time.strftime("%Y-%m-%d %H:%M:%S"), "rows": records}
        (out_dir / "convnet_benchmarks.json").write_text(json.dumps(meta, indent=1))
    return records, table


def _format(records, batch, sgemm, torch_version) -> str:
    header = ("layer", "input", "filters", "implementation", "fwd ms", "bwd in ms",
              "bwd w ms", "total ms", "GFLOP/s", "of SGEMM", "/ torch")
    lines = [header]
    for r in records:
        impl = r["implementation"] + (" (auto)" if r["auto"] else "")
        ratio = f"{r['vs_torch']:.2f}" if "vs_torch" in r else "-"
        lines.append((r["layer"], r["input"], r["filters"], impl, f"{r['forward_ms']:.1f}",
                      f"{r['backward_input_ms']:.1f}", f"{r['backward_weights_ms']:.1f}",
                      f"{r['total_ms']:.1f}", f"{r['gflops']:.1f}", f"{r['of_sgemm']:.2f}",
                      ratio))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = [f"convnet-benchmarks layers, float32, batch {batch} (the original: 128), "
            f"stride 1, no padding; SGEMM {sgemm:.1f} GFLOP/s; torch: "
            f"{torch_version or 'not installed'}"]
    for k, line in enumerate(lines):
        text.append("  ".join(c.rjust(widths[i]) if i >= 4 else c.ljust(widths[i])
                              for i, c in enumerate(line)).rstrip())
        if k == 0:
            text.append("  ".join("-" * w for w in widths))
    return "\n".join(text)


def section_convnet_benchmarks(quick: bool) -> list[Row]:
    """The five layers (see the module docstring); prints the detailed table and
    returns, per layer, the fastest strategy's total and its ratio to torch."""
    records, table = convnet_benchmarks(batch=QUICK_BATCH if quick else BATCH,
                                        repeat=1 if quick else 2,
                                        methods=QUICK_METHODS if quick else CONV_STRATEGIES)
    print(table)
    print(f"(written to {OUT_DIR / 'convnet_benchmarks.csv'} and .json)\n")
    rows = []
    for layer in dict.fromkeys(r["layer"] for r in records):
        ours = [r for r in records if r["layer"] == layer and r["implementation"] != "torch"]
        best = min(ours, key=lambda r: r["total_ms"])
        auto = next(r for r in ours if r["auto"])
        case = f"{layer} {best['input']} {best['filters']} N={best['batch']}"
        rows.append(Row("convnet-benchmarks", case, "float32",
                        f"auto ({auto['implementation']}) fwd+bwd",
                        f"{auto['total_ms']:.0f} ms"))
        rows.append(Row("convnet-benchmarks", case, "float32",
                        f"fastest: {best['implementation']} fwd+bwd",
                        f"{best['total_ms']:.0f} ms, {best['gflops']:.0f} GFLOP/s"))
        if "vs_torch" in best:
            rows.append(Row("convnet-benchmarks", case, "float32",
                            "fastest time / torch time", f"{best['vs_torch']:.2f}",
                            "<= 1.0", best["vs_torch"] <= 1.0))
    return rows
