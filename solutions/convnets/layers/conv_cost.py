"""The cost model behind ``conv_forward_fast(..., method='auto')``: which strategy is
fastest for a layer, predicted from this machine's measured throughput.

Nothing here is a hand-made table of layers. A short calibration (about 1 s, up to
2.5 s on a busy machine, the first time ``auto`` runs on a machine) measures what the
strategies spend their time on:

* GEMM throughput (GFLOP/s) in float32 and float64, as a function of the smallest
  dimension of the product (a 256 x s @ s x 256 product is far less efficient at
  s = 4 than at s = 256);
* memory copy throughput (GB/s, read + write);
* ``scipy.fft.rfft2`` throughput, in ``2.5 n log2 n`` operations per real transform of
  ``n`` points;
* the fixed cost of one call into NumPy and of one matrix of a stacked ``matmul``;
* each strategy's forward and backward on one small reference layer
  (:data:`REFERENCE_LAYER`), divided by what the rates above predict for it: a factor
  per strategy for what the count of flops and bytes misses (temporaries, transposes,
  NumPy's loops), measured rather than guessed.

:meth:`ConvCostModel.predict` adds up, for each strategy, the work it does on the
layer (forward plus backward with ``dx``: flops of each GEMM at the rate of its
smallest dimension, bytes copied, transforms, calls) divided by those rates, times
the strategy's factor; ``auto`` runs the strategy with the least predicted time among
those that apply to the layer and keep the dtype's accuracy (:func:`auto_candidates`:
in float32 and float16, only strategies whose float32 error bound is at most
:data:`AUTO_FLOAT32_BOUND`, so never Winograd F(4x4, 3x3); in float64, the dtype of
gradient checks, only the GEMM strategies).

The measured model is kept for the process and stored as JSON in the user's cache
directory (``$XDG_CACHE_HOME/convnets/`` or ``~/.cache/convnets/``, one file per
machine, NumPy version and thread count), so that the choices stay the same from one
run to the next; when that directory cannot be written, the model lives only in the
process. A calibration disturbed by other work is kept too: delete the file
(:func:`cost_model_path`) to measure again. ``conv_forward_fast(...,
cost_model=model)`` and :func:`choose_conv_method` take any other model (tests inject
one instead of timing).
"""

from __future__ import annotations

import functools
import json
import math
import os
import platform
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import scipy.fft

from ..shapes import conv_output_shape
from .conv_winograd import WINOGRAD4_FLOAT32_BOUND

__all__ = ["ConvCostModel", "FLOAT32_ERROR_BOUNDS", "AUTO_FLOAT32_BOUND", "EXACT_STRATEGIES",
           "auto_candidates",
           "measure_conv_cost_model", "conv_cost_model", "choose_conv_method",
           "cost_model_path"]

# Each strategy's float32 error bound, as its docstring states and
# tests/test_conv_strategies.py checks: the largest absolute error of out, dx and dw
# against float64, relative to the largest float64 value.
FLOAT32_ERROR_BOUNDS = {"im2col": 1e-5, "im2col-grid": 1e-5, "shifted-gemm": 1e-5,
                        "winograd": 1e-5, "winograd4": WINOGRAD4_FLOAT32_BOUND, "fft": 1e-5}
# In float32 and float16, 'auto' considers only strategies at least this accurate.
AUTO_FLOAT32_BOUND = 1e-5
# In float64, 'auto' considers only the strategies without a transform (see
# auto_candidates).
EXACT_STRATEGIES = ("im2col", "im2col-grid", "shifted-gemm")
# Smallest GEMM dimensions at which the throughput is measured.
GEMM_SIZES = (1, 4, 16, 64, 256)
# The layer on which each strategy's factor is measured: every strategy applies to it
# (3x3, stride 1), float32. ((N, C, H, W), (F, C, HH, WW), conv_param)
REFERENCE_LAYER = ((2, 32, 16, 16), (32, 32, 3, 3), {"stride": 1, "pad": 1})
# Bytes per block of the stride-1 strategies (conv_strategies.BLOCK_BYTES), for the
# number of calls they make.
_BLOCK_BYTES = 1 << 21


@dataclass(frozen=True)
class ConvCostModel:
    """Throughputs of one machine, and the predicted time of each strategy on a layer.

    Attributes
    ----------
    gemm_gflops : tuple of (dtype name, ((s, GFLOP/s), ...))
        GEMM throughput per dtype ('float32', 'float64') at smallest dimension ``s``
        (interpolated in log-log between the measured sizes, constant beyond them).
    copy_gbytes : float
        Memory copy throughput, GB/s (bytes read plus bytes written).
    fft_gflops : tuple of (dtype name, G-operations/s)
        ``rfft2`` throughput, counting ``2.5 n log2 n`` per real transform of n points.
    call_us : float
        Microseconds of one NumPy call (small arrays).
    matmul_item_us : float
        Microseconds per matrix of a stacked ``np.matmul`` of tiny matrices.
    strategy_factors : tuple of (method, factor)
        Measured time over predicted time of each strategy on :data:`REFERENCE_LAYER`
        (a strategy missing here has factor 1).
    source : str
        Where the figures come from ('measured ...' or anything a caller says).
    """

    gemm_gflops: tuple
    copy_gbytes: float
    fft_gflops: tuple
    call_us: float
    matmul_item_us: float
    strategy_factors: tuple = ()
    source: str = "given"

    # -- throughputs ------------------------------------------------------------------

    def _rate(self, table, dtype) -> object:
        name = "float64" if np.dtype(dtype) == np.float64 else "float32"
        return dict(table)[name]

    def gemm_seconds(self, m: int, k: int, n: int, dtype, count: int = 1) -> float:
        """Seconds of ``count`` products (m, k) @ (k, n) (2*m*k*n flops each), at the
        throughput measured for their smallest dimension, plus a call each."""
        points = self._rate(self.gemm_gflops, dtype)
        s = max(1, min(m, k, n))
        sizes = [p[0] for p in points]
        rates = [p[1] for p in points]
        if s <= sizes[0]:
            rate = rates[0]
        elif s >= sizes[-1]:
            rate = rates[-1]
        else:
            rate = float(np.exp(np.interp(np.log(s), np.log(sizes), np.log(rates))))
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
        and ``conv_param``, computed in ``dtype``: the work counted by
        :meth:`work_seconds` times the strategy's measured factor. The strategy must
        apply to the layer (see
        :func:`~convnets.layers.conv_fast.conv_strategy_applies`)."""
        factor = dict(self.strategy_factors).get(method, 1.0)
        return factor * self.work_seconds(method, x_shape, w_shape, conv_param, dtype)

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
        if method == "im2col":
            # X_col copied, dX_col written and added back (col2im, one add per tap).
            return (3 * self.gemm_seconds(F, K, NP, dtype)
                    + self.copy_seconds(5 * K * NP * it)
                    + self.calls_seconds(30 + 2 * T))
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
            # Transforms: V and dV (C planes), M and dM (F planes), a*a values per
            # tile, each read and written a few times; the 6x6 matrices of F(4x4)
            # take about twice the passes of F(2x2)'s additions.
            passes = 6 if m == 2 else 12
            transform = self.copy_seconds(passes * a * a * tiles * (C + F) * it)
            scatter = self.calls_seconds(4 if m == 2 else a * a) + self.copy_seconds(
                2 * a * a * tiles * C * it)
            return gemms + transform + scatter + self.calls_seconds(60)
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
        raise ValueError(f"method must be a strategy's name, got {method!r}")


def auto_candidates(dtype) -> tuple[str, ...]:
    """The strategies ``auto`` may choose for a computation dtype.

    float32 and float16 (where speed matters): those whose float32 error bound is at
    most :data:`AUTO_FLOAT32_BOUND`, so Winograd F(4x4, 3x3) is left out.

    float64 (the dtype of gradient checks): the GEMM strategies only
    (:data:`EXACT_STRATEGIES`), where every output is its own dot product. Winograd
    and the FFT are accurate to about 1e-13 of the largest value, but they spread
    that rounding over every entry, and a numerical gradient check of a small entry
    sees it (measured: 1e-3 relative error on a near-zero filter gradient of an
    Inception block, against the 1e-7 the checks ask). Named, they run in float64.
    """
    if np.dtype(dtype) == np.float64:
        return EXACT_STRATEGIES
    return tuple(m for m, bound in FLOAT32_ERROR_BOUNDS.items() if bound <= AUTO_FLOAT32_BOUND)


def choose_conv_method(x_shape, w_shape, conv_param, dtype, model: ConvCostModel,
                       applies=None) -> tuple[str, dict[str, float]]:
    """The strategy ``auto`` runs on a layer, and the predicted seconds of every
    candidate that applies: ``(name, {name: seconds})``.

    ``model``: e.g. this machine's,
    :func:`~convnets.layers.conv_fast.machine_cost_model`. ``applies(method, w_shape,
    conv_param, dtype)``
    returns None when the strategy applies to the layer (``conv_fast`` passes its
    :func:`conv_strategy_applies`). Ties go to the earlier strategy of
    :data:`FLOAT32_ERROR_BOUNDS`' order (im2col first).
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
    best = min(predicted, key=predicted.get)
    return best, predicted


# --- measuring the model ---------------------------------------------------------------

def _best(fn, repeat=7, min_seconds=2e-4) -> float:
    """Seconds of one call of ``fn``: the best of ``repeat`` turns, each of enough
    calls to last ``min_seconds`` (the least disturbed turn on a shared machine)."""
    fn()
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-7)
    inner = max(1, int(min_seconds / once))
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(inner):
            fn()
        best = min(best, (time.perf_counter() - start) / inner)
    return best


def measure_conv_cost_model(run_strategy) -> ConvCostModel:
    """Measure this machine's throughputs and each strategy's factor (about 1 s; 2.5 s
    on a busy machine) into a :class:`ConvCostModel`. ``run_strategy(method, x, w, b,
    conv_param)`` runs one strategy's forward and backward
    (:func:`convnets.layers.conv_fast.run_conv_strategy`; passed in because
    ``conv_fast`` imports this module)."""
    rng = np.random.default_rng(0)
    gemm = []
    for dtype in (np.float32, np.float64):
        points = []
        for s in GEMM_SIZES:
            big = 512 if s == GEMM_SIZES[-1] else 256
            a = rng.standard_normal((big, s)).astype(dtype)
            b = rng.standard_normal((s, big)).astype(dtype)
            seconds = _best(lambda a=a, b=b: a @ b)
            points.append((s, 2.0 * big * s * big / seconds / 1e9))
        gemm.append((np.dtype(dtype).name, tuple(points)))
    src = rng.standard_normal(1 << 21).astype(np.float32)      # 8 MB, past the caches
    dst = np.empty_like(src)
    copy = 2 * src.nbytes / _best(lambda: np.copyto(dst, src)) / 1e9
    fft = []
    for dtype in (np.float32, np.float64):
        planes = rng.standard_normal((32, 64, 64)).astype(dtype)
        seconds = _best(lambda planes=planes: scipy.fft.rfft2(planes))
        fft.append((np.dtype(dtype).name, 32 * 2.5 * 4096 * 12 / seconds / 1e9))
    tiny = np.ones(4)
    call = _best(lambda: [np.add(tiny, tiny) for _ in range(200)]) / 200 * 1e6
    stack = np.ones((2000, 2, 2))
    item = _best(lambda: np.matmul(stack, stack)) / 2000 * 1e6
    # A larger product is never slower per flop than a smaller one: the running
    # maximum drops measurements disturbed by other work on a shared machine.
    gemm = [(name, tuple((s, max(r for _, r in points[:i + 1]))
                         for i, (s, _) in enumerate(points))) for name, points in gemm]
    rates = ConvCostModel(gemm_gflops=tuple(gemm), copy_gbytes=copy, fft_gflops=tuple(fft),
                          call_us=call, matmul_item_us=item)
    return ConvCostModel(gemm_gflops=tuple(gemm), copy_gbytes=copy, fft_gflops=tuple(fft),
                         call_us=call, matmul_item_us=item,
                         strategy_factors=_strategy_factors(rates, run_strategy),
                         source=f"measured {time.strftime('%Y-%m-%d %H:%M:%S')} on "
                                f"{platform.node()}")


def _strategy_factors(rates: ConvCostModel, run_strategy) -> tuple:
    """Each strategy's measured time on :data:`REFERENCE_LAYER` (forward + backward,
    float32, best of turns) over the time ``rates`` counts for it."""
    x_shape, w_shape, conv_param = REFERENCE_LAYER
    rng = np.random.default_rng(1)
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = (rng.standard_normal(w_shape) / 17).astype(np.float32)
    b = np.zeros(w_shape[0], dtype=np.float32)
    best = dict.fromkeys(FLOAT32_ERROR_BOUNDS, float("inf"))
    for method in best:
        run_strategy(method, x, w, b, conv_param)                 # warm up
    # In turns, every strategy once per turn, the best turn kept: a disturbance from
    # other work on the machine hits one turn of every strategy, not all of one. Seven
    # turns: with three, a busy machine (load 8 on 2 cores) gave im2col a factor of 95
    # against 2 to 3 in quieter runs.
    for _ in range(7):
        for method in best:
            start = time.perf_counter()
            run_strategy(method, x, w, b, conv_param)
            best[method] = min(best[method], time.perf_counter() - start)
    return tuple((method, seconds / rates.work_seconds(method, x_shape, w_shape,
                                                       conv_param, np.float32))
                 for method, seconds in best.items())


def cost_model_path() -> Path:
    """Where this machine's model is stored: one file per host, CPU count, NumPy
    version and BLAS thread setting, in the user's cache directory."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "convnets"
    threads = os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS") or "-"
    key = f"{platform.node()}-{os.cpu_count()}cpu-numpy{np.__version__}-threads{threads}"
    return base / f"conv_cost_model-{key}.json"


def _from_json(data: dict) -> ConvCostModel:
    return ConvCostModel(
        gemm_gflops=tuple((name, tuple((int(s), float(r)) for s, r in points))
                          for name, points in data["gemm_gflops"]),
        copy_gbytes=float(data["copy_gbytes"]),
        fft_gflops=tuple((name, float(r)) for name, r in data["fft_gflops"]),
        call_us=float(data["call_us"]), matmul_item_us=float(data["matmul_item_us"]),
        strategy_factors=tuple((str(m), float(f)) for m, f in data["strategy_factors"]),
        source=str(data["source"]))


@functools.cache
def conv_cost_model(run_strategy) -> ConvCostModel:
    """This machine's model: read from :func:`cost_model_path` when a valid one is
    there, otherwise measured (:func:`measure_conv_cost_model` with ``run_strategy``)
    and stored there when the directory can be written. Kept for the life of the
    process (:func:`convnets.layers.conv_fast.machine_cost_model` calls it)."""
    try:
        path = cost_model_path()
        return _from_json(json.loads(path.read_text()))
    except (OSError, RuntimeError, ValueError, KeyError, TypeError):
        pass              # no home directory, no file, or not a model: measure
    model = measure_conv_cost_model(run_strategy)
    try:
        path = cost_model_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False,
                                         suffix=".tmp") as f:
            json.dump(asdict(model), f, indent=1)
        os.replace(f.name, path)
    except (OSError, RuntimeError):
        pass              # e.g. a read-only home in the grading sandbox: this process only
    return model
