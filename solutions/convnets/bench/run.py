"""Speed benchmarks: ``python -m convnets.bench [--quick] [--only NAMES] [--recalibrate]``
(``make bench`` runs it with ``--recalibrate``).

Speed is measured here, never asserted in tests: timings depend on the machine and
on what else runs on it. Every figure in the table is measured in the same run,
side by side, as the best of several repetitions (the least disturbed one), and
printed next to its target. The sections are in :mod:`convnets.bench.layers`
(naive vs fast, fast vs GEMM, fast vs PyTorch, memory, FC->CONV) and
:mod:`convnets.bench.training` (training throughput), :mod:`convnets.bench.convnet_benchmarks`
and :mod:`convnets.playground.bench` (the playground against the Solver); add one by
appending to ``SECTIONS``.

``--recalibrate`` measures the cost model of ``method='auto'`` again before the first
section (and stores it, :func:`convnets.layers.conv_cost.load_or_measure`): a model
calibrated while the machine was busy (a test suite on two workers, say) is kept for
later runs, and auto's rows would then show that model's choices, not the ones a quiet
calibration makes (one measured under load picked Winograd for the VGG 3x3 case, 1.2x
slower than im2col).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from ..layers.conv_cost import load_or_measure
from ..layers.conv_fast import run_conv_strategy
from ..train.allocator import keep_freed_memory
from .convnet_benchmarks import section_convnet_benchmarks
from .layers import (
    section_fc_to_conv,
    section_gemm_fraction,
    section_memory,
    section_naive_vs_fast,
    section_torch,
)
from .report import Row, blas_info, format_table
from .training import section_training

__all__ = ["SECTIONS", "main", "section_playground"]


def section_playground(quick: bool = False) -> list[Row]:
    """The playground's training speed against the Solver's (imported only when run: it
    needs the course extra's ipywidgets)."""
    from ..playground.bench import section_playground as playground_rows
    return playground_rows(quick)


SECTIONS: list[tuple[str, Callable[[bool], list[Row]]]] = [
    ("naive", section_naive_vs_fast),
    ("gemm", section_gemm_fraction),
    ("torch", section_torch),
    ("memory", section_memory),
    ("fc-to-conv", section_fc_to_conv),
    ("training", section_training),
    ("convnet-benchmarks", section_convnet_benchmarks),
    ("playground", section_playground),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m convnets.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="smaller batches and fewer repetitions (a few seconds)")
    parser.add_argument("--recalibrate", action="store_true",
                        help="measure auto's cost model again first (and store it)")
    parser.add_argument("--only", metavar="NAMES", default="",
                        help="comma-separated sections to run: "
                             + ", ".join(name for name, _ in SECTIONS))
    args = parser.parse_args(argv)
    chosen = [s for s in args.only.split(",") if s]
    unknown = set(chosen) - {name for name, _ in SECTIONS}
    if unknown:
        parser.error(f"unknown section(s) {sorted(unknown)}")

    # Every section with glibc's malloc keeping freed memory (the training section set
    # it before, so sections after it ran with it and those before without: a fast
    # conv step of the naive section took 12-14 ms with fresh pages, 8-10 ms without)
    kept = keep_freed_memory()
    print(blas_info() + f"; freed memory kept for reuse (keep_freed_memory): "
          f"{'yes' if kept else 'no (not glibc)'}")
    if args.quick:
        print("--quick: smaller batches, fewer repetitions; ratios are indicative only")
    if args.recalibrate:
        model = load_or_measure(run_conv_strategy, remeasure=True)
        print(f"auto's cost model measured again (--recalibrate): {model.source}"
              + (f", disturbed: {model.disturbed}" if model.disturbed else ""))
    rows: list[Row] = []
    took = []
    for name, section in SECTIONS:
        if chosen and name not in chosen:
            continue
        start = time.perf_counter()
        rows += section(args.quick)
        took.append(f"{name} {time.perf_counter() - start:.1f} s")
    print(format_table(rows))
    missed = [r for r in rows if r.met is False]
    print(f"\n{sum(r.met is True for r in rows)} targets met, {len(missed)} missed "
          f"(sections took: {', '.join(took)})")
    return 0
