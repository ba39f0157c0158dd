"""soumith/convnet-benchmarks' five layers and four ImageNet networks as a section of
``make bench``.

The layers exactly as the original defines them (stride 1, no padding; its batch is
128, ours is :data:`BATCH`, 8, so that the section runs in about a minute here):

====  ===============  ==============
L1    3 x 128 x 128    96 of 11 x 11
L2    64 x 64 x 64     128 of 9 x 9
L3    128 x 32 x 32    128 of 9 x 9
L4    128 x 16 x 16    128 of 7 x 7
L5    384 x 13 x 13    384 of 3 x 3
====  ===============  ==============

For each layer, in float32, every strategy that applies to it
(:data:`convnets.CONV_STRATEGIES`, the whole-plane FFT on filters of 5x5 and more;
``auto`` marks the one ``method='auto'`` picks; ``--quick``: only im2col, Winograd, the
tiled FFT and auto's choice, at batch 1) and
``torch.nn.functional.conv2d`` when PyTorch is installed (never a dependency), timed
in turns in the same run (an untimed call of each, then turns of a timed call of each,
at least two and more while the layer's turns took less than :data:`LAYER_BUDGET`
seconds, with a pause at each switch to or from PyTorch, see
:mod:`convnets.bench.report`; the best call counts): forward, backward to the input,
backward to the weights, total.
Our backward computes both gradients in one call; "backward to the weights" is
``conv_backward_fast(..., compute_dx=False)`` and "backward to the input" the full
backward minus that. GFLOP/s counts the direct convolution's ``2*N*F*C*HH*WW*H'*W'``
multiply-adds per pass, three passes for the total (the original's convention: FFT
and Winograd do fewer and so can exceed the machine's SGEMM rate); "of SGEMM" divides
that by the float32 GEMM throughput measured in the same run (:func:`sgemm_gflops`).
"peak MB" is the peak of NumPy's allocations during one forward+backward of the
strategy (``tracemalloc``, in a separate untimed run), "of X_col" that peak over the
size of the layer's full im2col matrix ``C*HH*WW x N*H'*W'``; PyTorch's allocations
are not traced ("-").
"predicted ms" is the time the cost model of ``method='auto'``
(:mod:`convnets.layers.conv_cost`, this machine's unless another is given) predicts for
the strategy's forward + backward on the layer, and "pred / meas" that prediction over
the measured total: the model's error, visible per layer and strategy (the model
need only rank the strategies right, but a strategy whose ratio differs much from the
others' on a layer is one the model mis-ranks there). The section's summary rows give,
per layer, auto's time over torch's (the issue's target, at most 1.0: what
``conv_forward_fast`` runs by default), auto's time over the fastest strategy auto may
run in float32 (:func:`~convnets.layers.conv_cost.auto_candidates`; target: at most
1.2) and, for information, the fastest strategy's time over torch's (Winograd F(4x4)
or the whole-plane FFT included).

Then the four networks of its ``imagenet_winners`` (:data:`NETWORKS`), built with the
zoo (:mod:`convnets.nn.zoo`) in float32: forward (test mode) and forward+backward
(``Sequential.loss``: softmax loss, every parameter's gradient), at batch
:data:`NETWORK_BATCH`, the second call of each (the first is the warm-up), against
the very same networks with the same weights in PyTorch
(:func:`convnets.bench.torch_mirror.torch_mirror`; forward under
``torch.no_grad()``, then ``cross_entropy(...).backward()``). The zoo's networks
differ from the Torch scripts of convnet-benchmarks in two places, said in the table:
AlexNet is the paper's single tower (96-256-384-384-256 filters, LRN, 227x227) where the
scripts run two towers of half the width side by side (224x224, pad 2, no LRN), and
GoogLeNet is the paper's (padded branches, LRN, 5x5) where the scripts leave out the
padding and LRN. OverFeat[fast] and VGG-A have the scripts' layer shapes exactly.

Printed as tables in the original's style and written to ``convnet_benchmarks.csv``
and ``.json`` in ``out/bench/`` (or the directory given). ``--quick`` (or the
environment variable ``CONVNETS_BENCH_QUICK=1``) runs batch 1, fewer strategies and
turns. Speed is measured, never asserted in tests.
"""

from __future__ import annotations

import csv
import json
import os
import time
import tracemalloc
from pathlib import Path

import numpy as np

from ..layers.conv_cost import auto_candidates
from ..layers.conv_fast import (
    CONV_STRATEGIES,
    conv_backward_fast,
    conv_forward_fast,
    conv_strategy_applies,
    machine_cost_model,
)
from ..nn import zoo
from ..nn.blocks import Block
from ..nn.layers import Conv
from .report import SWITCH_PAUSE, Row, best_time, best_times

__all__ = ["CONVNET_BENCHMARK_LAYERS", "BATCH", "QUICK_BATCH", "QUICK_METHODS", "OUT_DIR",
           "NETWORKS", "NETWORK_BATCH", "sgemm_gflops", "peak_bytes", "convnet_benchmarks",
           "convnet_benchmark_networks", "auto_choices", "write_networks", "quick_run",
           "timed_turns", "FFT_MIN_FILTER", "LAYER_BUDGET", "MAX_TURNS",
           "section_convnet_benchmarks", "summary_rows"]

# name -> (input (C, H, W), filters (F, C, HH, WW)); stride 1, no padding.
CONVNET_BENCHMARK_LAYERS = {
    "L1": ((3, 128, 128), (96, 3, 11, 11)),
    "L2": ((64, 64, 64), (128, 64, 9, 9)),
    "L3": ((128, 32, 32), (128, 128, 9, 9)),
    "L4": ((128, 16, 16), (128, 128, 7, 7)),
    "L5": ((384, 13, 13), (384, 384, 3, 3)),
}
# The layers' batch: 8, a sixteenth of the original's 128, so that the section runs in
# about a minute here. (It was 2 until session 12: there the per-call costs that the
# original's batch spreads over 128 images, the filters' transforms of the tiled FFT
# and Winograd above all, weighed 4 times as much as at 8. At batch 2, L4 ran at 1.7x
# torch's time, at batch 8 the tiled FFT ran it at 0.86.)
BATCH = 8
QUICK_BATCH = 1
# --quick leaves out the whole-plane FFT: at these small batches its filter transforms
# (F*C planes of the padded input's size) take seconds per call on L2, L3 and L5.
QUICK_METHODS = ("im2col", "winograd", "fft-tiled")
OUT_DIR = Path("out") / "bench"
CONV_PARAM = {"stride": 1, "pad": 0}
# convnet-benchmarks' name -> (zoo name, how the zoo's network differs from its script).
NETWORKS = {
    "AlexNet": ("alexnet", "paper's single tower, LRN, 227x227 (script: 2 half towers)"),
    "OverFeat[fast]": ("overfeat_fast", "as the script"),
    "VGG-A": ("vgg_a", "as the script"),
    "GoogLeNet": ("googlenet", "paper's (padded, LRN, 5x5; script: no pad, no LRN)"),
}
NETWORK_BATCH = 2   # the original: 128 (VGG-A: 64)


# Each layer's turns go on until they took this many seconds (at least `repeat`
# turns, at most MAX_TURNS): a small layer's calls take a few milliseconds, and the
# best of two turns of them moved by 2x between runs on this noisy 2-core machine.
LAYER_BUDGET = 3.0
MAX_TURNS = 20

# The FFT is timed on filters of this size and more (L1-L4): on L5's 3x3 one step took
# 6.4 s (84x torch) in a trial run, a tenth of the section's time for a known answer.
FFT_MIN_FILTER = 5


def timed_turns(fns: dict, turns: int, warmup: bool = True, budget: float = 0.0,
                max_turns: int = MAX_TURNS, pause: float = SWITCH_PAUSE) -> dict:
    """Best seconds of each function: an untimed call of each first (unless
    ``warmup`` is False), then turns calling every function once, timed, so that a
    disturbance from other work on the machine hits all of them alike: ``turns`` of
    them, and more (up to ``max_turns``) while the turns so far took less than
    ``budget`` seconds, so that short calls get more chances at an undisturbed run.
    Going between NumPy and PyTorch (keys ``("torch", ...)``), a turn waits ``pause``
    seconds first, until OpenBLAS's threads stop spinning
    (:data:`~convnets.bench.report.SWITCH_PAUSE`). The turns are
    :func:`~convnets.bench.report.best_times`' with one timed call each."""
    if warmup:
        for fn in fns.values():
            fn()
    return best_times(fns, repeat=turns, inner=1, untimed=0, budget=budget,
                      max_turns=max_turns, pause=pause)


def peak_bytes(fn) -> int:
    """Peak bytes NumPy allocates while ``fn()`` runs, above what was held before
    (``tracemalloc``, which NumPy reports its array buffers to)."""
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        fn()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


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
    del cache["auto_predicted"]
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

    # torch's backward needs its forward graph: one forward, kept, and each gradient
    # timed on its own (subtracting a separately timed forward from a forward+backward
    # gave 0 ms in noisy runs)
    graph = forward()

    def input_grad():
        torch.autograd.grad(graph, tx, tdout, retain_graph=True)

    def weight_grad():
        torch.autograd.grad(graph, (tw, tb), tdout, retain_graph=True)

    return {"forward": forward, "backward": input_grad, "backward weights": weight_grad}


def convnet_benchmarks(layers: dict | None = None, batch: int = BATCH, repeat: int = 2,
                       out_dir: Path | str | None = OUT_DIR, with_torch: bool = True,
                       gemm_size: int = 1024,
                       methods: tuple[str, ...] = CONV_STRATEGIES,
                       cost_model=None, budget: float = 0.0) -> tuple[list[dict], str]:
    """Time the strategies of ``methods`` that apply to each layer, plus the one
    ``method='auto'`` picks, and torch; return the records (one dict per layer and
    implementation) and the printed table, and write both files to ``out_dir``
    (None: no file). ``cost_model``: the model auto asks and whose predictions are
    shown (default: this machine's, :func:`~convnets.layers.conv_fast.machine_cost_model`).
    Each layer is timed in at least ``repeat`` turns, and in more while its turns took
    less than ``budget`` seconds (:func:`timed_turns`; ``make bench``:
    :data:`LAYER_BUDGET`)."""
    model = machine_cost_model() if cost_model is None else cost_model
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
        # as a network runs it: this machine's model, or im2col when it is disturbed
        out, auto_cache = conv_forward_fast(x, w, b, CONV_PARAM, cost_model=cost_model)
        dout = rng.standard_normal(out.shape).astype(np.float32)
        timed = [m for m in CONV_STRATEGIES
                 if (m in methods or m == auto_cache["method"])
                 and conv_strategy_applies(m, w_shape, CONV_PARAM, np.float32) is None
                 and (m != "fft" or min(w_shape[2:]) >= FFT_MIN_FILTER
                      or m == auto_cache["method"])]
        fns = {}
        for method in timed:
            for phase, fn in _ours(x, w, b, dout, method).items():
                fns[(method, phase)] = fn
        if torch_version:
            for phase, fn in _torch(x, w, b, dout).items():
                fns[("torch", phase)] = fn
        flops = _direct_flops(batch, x_chw, w_shape)
        x_col_bytes = (np.prod(w_shape[1:]) * batch * (x_chw[1] - w_shape[2] + 1)
                       * (x_chw[2] - w_shape[3] + 1) * x.itemsize)
        peaks = {}
        for method in timed:            # untimed, traced: also the warm-up of our calls
            def step(method=method, x=x, w=w, b=b, dout=dout):
                out, cache = conv_forward_fast(x, w, b, CONV_PARAM, method=method)
                conv_backward_fast(dout, cache)
            peaks[method] = peak_bytes(step)
        for (impl, _), fn in fns.items():
            if impl == "torch":
                fn()
        times = timed_turns(fns, turns=repeat, warmup=False, budget=budget)
        layer_records = []
        for impl in timed + (["torch"] if torch_version else []):
            t = {phase: s for (m, phase), s in times.items() if m == impl}
            if impl == "torch":
                fwd, bwd_in, bwd_w = t["forward"], t["backward"], t["backward weights"]
            else:
                fwd, bwd_w = t["forward"], t["backward weights"]
                bwd_in = max(t["backward"] - bwd_w, 0.0)
            total = fwd + bwd_in + bwd_w
            gflops = 3 * flops / total / 1e9
            predicted = None if impl == "torch" else model.predict(
                impl, (batch, *x_chw), w_shape, CONV_PARAM, np.float32)
            layer_records.append({
                "layer": name, "input": "x".join(map(str, x_chw)),
                "filters": f"{w_shape[0]}x{w_shape[2]}x{w_shape[3]}", "batch": batch,
                "implementation": impl, "auto": impl == auto_cache["method"],
                "forward_ms": fwd * 1e3, "backward_input_ms": bwd_in * 1e3,
                "backward_weights_ms": bwd_w * 1e3, "total_ms": total * 1e3,
                "gflops": gflops, "of_sgemm": gflops / sgemm,
                "peak_mb": peaks[impl] / 1e6 if impl in peaks else None,
                "of_x_col": peaks[impl] / x_col_bytes if impl in peaks else None,
                "predicted_ms": None if predicted is None else predicted * 1e3,
                "predicted_vs_measured": None if predicted is None else predicted / total})
        if torch_version:
            t_torch = layer_records[-1]["total_ms"]
            for r in layer_records:
                r["vs_torch"] = r["total_ms"] / t_torch
        records += layer_records
    source = model.source + (f" (disturbed: {model.disturbed}; auto runs im2col)"
                             if cost_model is None and model.disturbed else "")
    table = _format(records, batch, sgemm, torch_version, source)
    if out_dir is not None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        with open(out_dir / "convnet_benchmarks.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(records[0]) + (
                [] if "vs_torch" in records[0] else ["vs_torch"]))
            writer.writeheader()
            writer.writerows(records)
        meta = {"batch": batch, "sgemm_gflops": sgemm, "torch": torch_version,
                "cost_model": model.source,
                "dtype": "float32", "stride": 1, "pad": 0,
                "date": time.strftime("%Y-%m-%d %H:%M:%S"), "rows": records}
        (out_dir / "convnet_benchmarks.json").write_text(json.dumps(meta, indent=1))
    return records, table


def _format(records, batch, sgemm, torch_version, model_source="") -> str:
    header = ("layer", "input", "filters", "implementation", "fwd ms", "bwd in ms",
              "bwd w ms", "total ms", "GFLOP/s", "of SGEMM", "/ torch", "peak MB", "of X_col",
              "predicted ms", "pred / meas")
    lines = [header]
    for r in records:
        impl = r["implementation"] + (" (auto)" if r["auto"] else "")
        ratio = f"{r['vs_torch']:.2f}" if "vs_torch" in r else "-"
        peak = "-" if r["peak_mb"] is None else f"{r['peak_mb']:.1f}"
        of_x_col = "-" if r["of_x_col"] is None else f"{r['of_x_col']:.2f}"
        pred = "-" if r["predicted_ms"] is None else f"{r['predicted_ms']:.1f}"
        error = ("-" if r["predicted_vs_measured"] is None
                 else f"{r['predicted_vs_measured']:.2f}")
        lines.append((r["layer"], r["input"], r["filters"], impl, f"{r['forward_ms']:.1f}",
                      f"{r['backward_input_ms']:.1f}", f"{r['backward_weights_ms']:.1f}",
                      f"{r['total_ms']:.1f}", f"{r['gflops']:.1f}", f"{r['of_sgemm']:.2f}",
                      ratio, peak, of_x_col, pred, error))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = [f"convnet-benchmarks layers, float32, batch {batch} (the original: 128), "
            f"stride 1, no padding; SGEMM {sgemm:.1f} GFLOP/s; torch: "
            f"{torch_version or 'not installed'}"
            + (f"; auto's cost model: {model_source}" if model_source else "")]
    for k, line in enumerate(lines):
        text.append("  ".join(c.rjust(widths[i]) if i >= 4 else c.ljust(widths[i])
                              for i, c in enumerate(line)).rstrip())
        if k == 0:
            text.append("  ".join("-" * w for w in widths))
    return "\n".join(text)


def quick_run(quick: bool) -> bool:
    """True for ``--quick`` or when the environment sets ``CONVNETS_BENCH_QUICK`` to
    anything but '' or '0' (``make bench`` passes no flag: the variable makes it quick)."""
    return bool(quick) or os.environ.get("CONVNETS_BENCH_QUICK", "") not in ("", "0")


def _conv_layers(layers, shape):
    """Every Conv of a chain of layers (inside blocks too), with the input shape and
    the conv_param its core ``conv_forward_fast`` call gets."""
    for layer in layers:
        if isinstance(layer, Conv):
            (_, top, bottom), (_, left, right) = layer._plans(shape)
            if layer.fit == "strict":
                yield layer, shape, layer.pad
            else:
                yield layer, (shape[0], shape[1] + top + bottom, shape[2] + left + right), 0
        elif isinstance(layer, Block):
            for branch in layer.branches.values():
                yield from _conv_layers(branch, shape)
        shape = layer.output_shape(shape)


def auto_choices(model, batch: int) -> dict[str, int]:
    """How many of the network's conv layers ``method='auto'`` runs with each strategy
    (float32, as conv_forward_fast decides: this machine's cost model, im2col when its
    calibration was disturbed, or the strategy the environment fixes)."""
    from ..layers.conv_fast import auto_method

    counts: dict[str, int] = {}
    for layer, (C, H, W), pad in _conv_layers(model.layers, model.input_shape):
        w_shape = (layer.filters, C, *layer.size)
        param = {"stride": layer.stride, "pad": pad, "dilation": layer.dilation}
        method, _ = auto_method((batch, C, H, W), w_shape, param, model.dtype)
        counts[method] = counts.get(method, 0) + 1
    return counts


_VERIFIED: set = set()


def _torch_network(model, x, y):
    import torch
    import torch.nn.functional as tf

    from .torch_mirror import torch_mirror, verify_mirror

    if model.name not in _VERIFIED:      # the same network, checked before it is timed
        verify_mirror(model.name)
        _VERIFIED.add(model.name)
    net = torch_mirror(model)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)

    def forward():
        with torch.no_grad():
            return net(tx)

    def forward_backward():
        net.zero_grad(set_to_none=True)
        tf.cross_entropy(net(tx), ty).backward()

    return {"forward": forward, "forward+backward": forward_backward}


def convnet_benchmark_networks(networks: dict | None = None, batch: int = NETWORK_BATCH,
                               repeat: int = 2, with_torch: bool = True,
                               width: float = 1.0) -> tuple[list[dict], str]:
    """Time the networks of :data:`NETWORKS` (name -> (zoo name, note)), ours and
    torch's, float32; return the records and the printed table. ``width`` scales the
    networks (tests run them tiny)."""
    networks = NETWORKS if networks is None else networks
    torch_version = _torch_version() if with_torch else None
    records = []
    for title, (zoo_name, note) in networks.items():
        model = zoo.get(zoo_name, width=width, dtype=np.float32, seed=0)
        rng = np.random.default_rng(0)
        x = rng.standard_normal((batch, *model.input_shape)).astype(np.float32)
        y = rng.integers(0, model.num_classes, size=batch)
        fns = {("numpy", "forward"): lambda model=model, x=x: model.forward(x),
               ("numpy", "forward+backward"): lambda model=model, x=x, y=y: model.loss(x, y)}
        if torch_version:
            for phase, fn in _torch_network(model, x, y).items():
                fns[("torch", phase)] = fn
        times = timed_turns(fns, turns=repeat)
        choices = auto_choices(model, batch)
        shape = "x".join(map(str, (batch, *model.input_shape)))
        network_records = []
        for impl in ["numpy"] + (["torch"] if torch_version else []):
            fwd, total = times[(impl, "forward")], times[(impl, "forward+backward")]
            network_records.append({
                "network": title, "zoo": zoo_name, "input": shape, "batch": batch,
                "params": model.num_params(), "note": note, "implementation": impl,
                "conv_strategies": (", ".join(f"{m} x{n}" for m, n in choices.items())
                                    if impl == "numpy" else ""),
                "forward_ms": fwd * 1e3, "backward_ms": max(total - fwd, 0.0) * 1e3,
                "total_ms": total * 1e3})
        if torch_version:
            for r in network_records:
                r["vs_torch"] = r["total_ms"] / network_records[-1]["total_ms"]
        records += network_records
    return records, _format_networks(records, batch, torch_version)


def _torch_version() -> str | None:
    try:
        import torch
    except ImportError:
        return None
    return f"{torch.__version__} ({torch.get_num_threads()} threads)"


def _format_networks(records, batch, torch_version) -> str:
    """The original's imagenet_winners tables: one per network, a row per library."""
    text = [f"convnet-benchmarks imagenet_winners, float32, batch {batch} (the original: "
            f"128), forward + backward of the softmax loss; torch: "
            f"{torch_version or 'not installed'}"]
    for title in dict.fromkeys(r["network"] for r in records):
        rows = [r for r in records if r["network"] == title]
        first = rows[0]
        text.append(f"\n{title}: input {first['input']}, {first['params']:,} parameters, "
                    f"zoo '{first['zoo']}' ({first['note']})")
        lines = [("Library", "Class", "Time (ms)", "forward (ms)", "backward (ms)",
                  "/ torch")]
        for r in rows:
            cls = (f"Sequential.loss, auto: {r['conv_strategies']}" if r["implementation"]
                   == "numpy" else "nn.Module, cross_entropy().backward()")
            lines.append((r["implementation"], cls, f"{r['total_ms']:.0f}",
                          f"{r['forward_ms']:.0f}", f"{r['backward_ms']:.0f}",
                          f"{r['vs_torch']:.2f}" if "vs_torch" in r else "-"))
        widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
        for k, line in enumerate(lines):
            text.append("| " + " | ".join(c.rjust(widths[i]) if i >= 2 else c.ljust(widths[i])
                                          for i, c in enumerate(line)) + " |")
            if k == 0:
                text.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(text)


def write_networks(records, out_dir: Path | str) -> None:
    """The networks' records as ``convnet_benchmarks_networks.csv`` and under the key
    ``'networks'`` of ``convnet_benchmarks.json`` (created when missing)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fields = list(dict.fromkeys(k for r in records for k in r))
    with open(out_dir / "convnet_benchmarks_networks.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(records)
    path = out_dir / "convnet_benchmarks.json"
    meta = json.loads(path.read_text()) if path.exists() else {}
    meta["networks"] = records
    path.write_text(json.dumps(meta, indent=1))


def section_convnet_benchmarks(quick: bool) -> list[Row]:
    """The five layers and the four networks (see the module docstring); prints the
    detailed tables and returns, per layer, the fastest strategy's total and its
    ratio to torch, and per network the ratio to torch."""
    quick = quick_run(quick)
    records, table = convnet_benchmarks(batch=QUICK_BATCH if quick else BATCH,
                                        repeat=1 if quick else 2,
                                        methods=QUICK_METHODS if quick else CONV_STRATEGIES,
                                        budget=0.0 if quick else LAYER_BUDGET)
    print(table)
    # Three timed turns after the warm-up (about 5 s a turn for the four networks here):
    # one turn gave OverFeat 1421 ms where three give 474 ms.
    networks, network_table = convnet_benchmark_networks(
        batch=QUICK_BATCH if quick else NETWORK_BATCH, repeat=1 if quick else 3)
    write_networks(networks, OUT_DIR)
    print(network_table)
    print(f"(written to {OUT_DIR / 'convnet_benchmarks.csv'}, "
          f"{OUT_DIR / 'convnet_benchmarks_networks.csv'} and .json)\n")
    return summary_rows(records, networks)


def summary_rows(records: list[dict], networks: list[dict]) -> list[Row]:
    """The section's rows for ``make bench``'s table, from the layers' records and the
    networks' (as :func:`convnet_benchmarks` and :func:`convnet_benchmark_networks`
    return them): per layer auto's time, the fastest strategy's, auto over the fastest
    of auto's float32 candidates (at most 1.2), auto over torch (at most 1.0) and the
    fastest over torch; per network its time and its time over torch's (at most 1.0)."""
    rows = []
    candidates = auto_candidates(np.float32)
    for layer in dict.fromkeys(r["layer"] for r in records):
        ours = [r for r in records if r["layer"] == layer and r["implementation"] != "torch"]
        best = min(ours, key=lambda r: r["total_ms"])
        # auto is held to the strategies it may run in float32 (not Winograd F(4x4),
        # whose error bound is 1e-4, nor NOT_FOR_AUTO's)
        best_candidate = min((r for r in ours if r["implementation"] in candidates),
                             key=lambda r: r["total_ms"])
        auto = next(r for r in ours if r["auto"])
        case = f"{layer} {best['input']} {best['filters']} N={best['batch']}"
        rows.append(Row("convnet-benchmarks", case, "float32",
                        f"auto ({auto['implementation']}) fwd+bwd",
                        f"{auto['total_ms']:.0f} ms, {auto['gflops']:.0f} GFLOP/s"))
        rows.append(Row("convnet-benchmarks", case, "float32",
                        f"fastest: {best['implementation']} fwd+bwd",
                        f"{best['total_ms']:.0f} ms, {best['gflops']:.0f} GFLOP/s"))
        auto_ratio = auto["total_ms"] / best_candidate["total_ms"]
        rows.append(Row("convnet-benchmarks", case, "float32",
                        f"auto's time / fastest of auto's candidates' "
                        f"({best_candidate['implementation']})", f"{auto_ratio:.2f}",
                        "<= 1.2", auto_ratio <= 1.2))
        if "vs_torch" in auto:
            rows.append(Row("convnet-benchmarks", case, "float32",
                            "auto's time / torch time", f"{auto['vs_torch']:.2f}",
                            "<= 1.0", auto["vs_torch"] <= 1.0))
            rows.append(Row("convnet-benchmarks", case, "float32",
                            "fastest time / torch time", f"{best['vs_torch']:.2f}"))
    for r in networks:
        if r["implementation"] != "numpy":
            continue
        case = f"{r['network']} {r['input']}"
        rows.append(Row("convnet-benchmarks", case, "float32", "fwd+bwd",
                        f"{r['total_ms']:.0f} ms"))
        if "vs_torch" in r:
            rows.append(Row("convnet-benchmarks", case, "float32", "time / torch time",
                            f"{r['vs_torch']:.2f}", "<= 1.0", r["vs_torch"] <= 1.0))
    return rows
