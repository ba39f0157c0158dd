"""What every benchmark shares: the table row, the timers, the BLAS description.

Speed is measured, never asserted in tests: timings depend on the machine and on what
else runs on it. Every figure in a table is measured in the same run, side by side,
as the best of several repetitions (the least disturbed one).

When the timings switch between NumPy and PyTorch, or to or from a strategy that
computes in SciPy's BLAS ('shifted-gemm'), they pause first (:data:`SWITCH_PAUSE`).
OpenBLAS's threads keep spinning for about 0.1 s after each of its matrix products,
waiting for the next one, and on 2 cores they take a core from PyTorch's threads: a
PyTorch conv of L5 (384 3x3 filters on 13x13, batch 2) right after a NumPy product
took 10-37 ms, and 4.3 ms after a pause of 0.15 s or more. (PyTorch's own threads
spin only briefly: NumPy's timings do not change after a pause.) Without it, every
comparison with PyTorch was skewed in NumPy's favour. SciPy's OpenBLAS is a second
thread pool beside NumPy's and does the same to NumPy's products: Winograd on a small
3x3 layer took 1.2-1.4 ms after 'im2col' and 4-22 ms right after 'shifted-gemm', which
had made it look 2-3x slower on convnet-benchmarks' L5 than it is.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..layers.conv_strategies import SCIPY_BLAS_STRATEGIES

__all__ = ["Row", "best_time", "best_times", "blas_info", "blas_threads", "format_table",
           "SWITCH_PAUSE", "library_of", "pause_on_switch"]

# Seconds to wait at each switch between libraries (NumPy, PyTorch, SciPy's BLAS),
# either way (see above; the way back costs nothing, but keeps the rule simple): twice the time
# OpenBLAS's threads were seen spinning.
SWITCH_PAUSE = 0.25


def library_of(key) -> str:
    """Whose threads a call in a dict of timed functions runs on: 'torch' for the key of
    a PyTorch call (``"torch"``, or a tuple starting with it: ``("torch",
    "forward")``), 'scipy-blas' for a strategy of
    :data:`~convnets.layers.conv_strategies.SCIPY_BLAS_STRATEGIES` (SciPy's OpenBLAS
    spins threads of its own), 'numpy' otherwise."""
    first = key[0] if isinstance(key, tuple) and key else key
    if first == "torch":
        return "torch"
    return "scipy-blas" if first in SCIPY_BLAS_STRATEGIES else "numpy"


def pause_on_switch(previous: str | None, key, pause: float = SWITCH_PAUSE) -> str:
    """Sleep ``pause`` seconds when ``key``'s library differs from ``previous`` (the
    library of the call before; None at the start); return ``key``'s library."""
    library = library_of(key)
    if previous is not None and library != previous:
        time.sleep(pause)
    return library


@dataclass
class Row:
    """One line of the table. ``met`` is None when the figure has no target."""

    section: str
    case: str
    dtype: str
    figure: str
    value: str
    target: str = ""
    met: bool | None = None


def best_time(fn: Callable[[], object], repeat: int = 5, warmup: int = 1) -> float:
    """Seconds taken by the fastest of ``repeat`` calls of ``fn`` (after ``warmup`` calls)."""
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def best_times(fns: dict[str, Callable[[], object]], repeat: int = 5,
               inner: int = 2, *, untimed: int = 1, budget: float = 0.0,
               max_turns: int | None = None,
               pause: float = SWITCH_PAUSE) -> dict[str, float]:
    """Best seconds per call of several functions, measured in turns.

    Each turn runs one function ``untimed`` times untimed (its own thread pool wakes up
    and the previous function's pool goes idle) and then ``inner`` times timed; the
    turns go round the functions ``repeat`` times, and more (up to ``max_turns``)
    while they took less than ``budget`` seconds, so that a disturbance from other
    work on the machine affects all of them alike and short calls get more chances at
    an undisturbed run. Going between libraries (:func:`library_of`), a turn first
    waits ``pause`` seconds (:data:`SWITCH_PAUSE`). Returns the fastest call of each.
    """
    best = dict.fromkeys(fns, float("inf"))
    library = None
    started = time.perf_counter()
    done = 0
    max_turns = repeat if max_turns is None else max_turns
    while done < repeat or (done < max_turns and time.perf_counter() - started < budget):
        for name, fn in fns.items():
            library = pause_on_switch(library, name, pause)
            for _ in range(untimed):
                fn()
            for _ in range(inner):
                start = time.perf_counter()
                fn()
                best[name] = min(best[name], time.perf_counter() - start)
        done += 1
    return best


def _blas_pools() -> list[dict] | None:
    """threadpoolctl's description of NumPy's BLAS thread pools; None without it."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    return [p for p in threadpool_info() if p.get("user_api") == "blas"]


_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def blas_threads() -> int | None:
    """Threads NumPy's BLAS uses (threadpoolctl if installed, else the environment)."""
    pools = _blas_pools()
    if pools:
        return int(pools[0]["num_threads"])
    for key in _THREAD_VARIABLES:
        if os.environ.get(key, "").isdigit():
            return int(os.environ[key])
    return None


def blas_info() -> str:
    """Which BLAS NumPy uses, and with how many threads."""
    name = "unknown BLAS"
    try:
        config = np.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]
        name = f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:  # older NumPy: no dict mode
        pass
    pools = _blas_pools()
    if pools is None:
        env = [f"{k}={os.environ[k]}" for k in _THREAD_VARIABLES if k in os.environ]
        threads = ", ".join(env) or "default (threadpoolctl not installed to ask)"
    elif pools:
        threads = ", ".join(f"{p['internal_api']}: {p['num_threads']}" for p in pools)
    else:
        threads = "unknown"
    return f"NumPy {np.__version__}, BLAS: {name}; threads: {threads}; CPUs: {os.cpu_count()}"


def format_table(rows: list[Row]) -> str:
    header = ("section", "case", "dtype", "figure", "value", "target", "met")
    lines = [header]
    for r in rows:
        met = "" if r.met is None else ("yes" if r.met else "NO")
        lines.append((r.section, r.case, r.dtype, r.figure, r.value, r.target, met))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for k, line in enumerate(lines):
        out.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip())
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)
