"""Data parallelism on the CPU's cores: a minibatch's loss computed in shards, a thread each.

Much of a training step is passes over memory that run on one core: im2col's copies,
pooling, ReLU, the bias adds, the moves between layouts. BLAS's own threads help only
inside the matrix products. On ThreeLayerConvNet with 50 CIFAR-sized images (2 cores),
the loss and its gradients took 35 ms with OpenBLAS on 2 threads and 36-38 ms on 1.

:func:`data_parallel_loss` cuts the batch into one shard per worker instead. Each
shard's whole forward and backward pass runs in its own thread, with BLAS limited to
one thread (:func:`limit_blas_threads`). NumPy releases the GIL in its loops and in
BLAS, so every pass then runs on all the cores: 21-27 ms for the same loss and
gradients (the machine's load varied between the measurements).

The loss of a batch is the mean of its examples' losses plus terms that do not depend
on the batch (the L2 regularization). So it is the shards' losses weighted by their
share of the batch, and so is every gradient: the same numbers up to rounding.
Models with batch statistics are the exception: batch normalization in training mode
normalizes each shard by its own mean. Such models keep them in ``model.buffers``, and
:func:`data_parallel_loss` refuses them.

The model's ``loss`` runs in several threads at once, so it must only read the model
(``params``), as ThreeLayerConvNet and :class:`~convnets.nn.sequential.Sequential`
without batch normalization do. :class:`convnets.Solver` uses this with
``Solver(..., workers=2)``.

OpenBLAS is the BLAS that NumPy's and SciPy's wheels ship. Its thread count is set at
run time through its own functions, found in the libraries the process has loaded.
With another BLAS (MKL, Accelerate), or where they cannot be found (not Linux),
:func:`data_parallel_loss` computes the whole batch at once: threads that each call a
multi-threaded BLAS would only fight over the cores.
"""

from __future__ import annotations

import ctypes
import functools
import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager

import numpy as np

from ..checks import check_int
from ..layers.conv_fast import FIXED_METHOD_ENV, machine_cost_model

__all__ = ["blas_thread_controls", "limit_blas_threads", "shard_slices",
           "check_shardable", "data_parallel_loss"]

# (set, get) function names of OpenBLAS builds: plain, 64-bit integers, and the
# scipy-openblas builds in NumPy's and SciPy's wheels.
_OPENBLAS_FUNCTIONS = (
    ("openblas_set_num_threads", "openblas_get_num_threads"),
    ("openblas_set_num_threads64_", "openblas_get_num_threads64_"),
    ("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_"),
    ("scipy_openblas_set_num_threads", "scipy_openblas_get_num_threads"),
)


def _loaded_libraries() -> list[str]:
    """Paths of the shared libraries this process has mapped (Linux; else empty)."""
    try:
        with open("/proc/self/maps") as maps:
            lines = maps.read().splitlines()
    except OSError:
        return []
    fields = (line.split(maxsplit=5) for line in lines if ".so" in line)
    return sorted({f[5] for f in fields if len(f) == 6})


@functools.cache
def blas_thread_controls() -> tuple[tuple[str, object, object], ...]:
    """``(library path, set_num_threads, get_num_threads)`` for every OpenBLAS loaded
    in the process (NumPy's and SciPy's have one each); empty when none is found."""
    controls = []
    for path in _loaded_libraries():
        if "openblas" not in os.path.basename(path).lower():
            continue
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for set_name, get_name in _OPENBLAS_FUNCTIONS:
            setter = getattr(library, set_name, None)
            getter = getattr(library, get_name, None)
            if setter is not None and getter is not None:
                setter.argtypes, setter.restype = (ctypes.c_int,), None
                getter.argtypes, getter.restype = (), ctypes.c_int
                controls.append((path, setter, getter))
                break
    return tuple(controls)


# One data-parallel section at a time: the BLAS thread count is process-wide.
_SECTION_LOCK = threading.Lock()


@contextmanager
def limit_blas_threads(threads: int):
    """Run the block with every OpenBLAS of the process on at most ``threads``
    threads, restored afterwards (also on an exception). Yields True when the limit
    is in force, False when no OpenBLAS was found (then nothing changes)."""
    threads = check_int(threads, "threads", minimum=1)
    controls = blas_thread_controls()
    before = [getter() for _, _, getter in controls]
    try:
        for (_, setter, _), count in zip(controls, before, strict=True):
            if count > threads:
                setter(threads)
        yield bool(controls)
    finally:
        for (_, setter, getter), count in zip(controls, before, strict=True):
            if getter() != count:
                setter(count)


def shard_slices(N: int, workers: int) -> list[slice]:
    """The shards of a batch of N: ``min(workers, N)`` consecutive slices whose sizes
    differ by at most one, larger ones first."""
    N = check_int(N, "N", minimum=1)
    workers = check_int(workers, "workers", minimum=1)
    count = min(workers, N)
    sizes = [N // count + (i < N % count) for i in range(count)]
    starts = np.cumsum([0] + sizes)
    return [slice(int(a), int(b)) for a, b in zip(starts[:-1], starts[1:], strict=True)]


def check_shardable(model) -> None:
    """ValueError unless the model's loss can be computed in shards: a model that keeps
    batch statistics (non-empty ``model.buffers``, batch normalization's running
    mean and variance) computes them per batch, and a shard is another batch."""
    buffers = getattr(model, "buffers", None)
    if isinstance(buffers, dict) and buffers:
        raise ValueError(
            f"a data-parallel loss needs a model without batch statistics, but this "
            f"model keeps buffers {sorted(buffers)} (batch normalization normalizes "
            f"each shard by its own statistics): use workers=1")


_POOL_LOCK = threading.Lock()
_pool: tuple[ThreadPoolExecutor, int] | None = None     # the pool and its thread count


def _executor(workers: int) -> ThreadPoolExecutor:
    """The process's thread pool, with at least ``workers`` threads, kept between
    steps so that a step does not start threads."""
    global _pool
    with _POOL_LOCK:
        if _pool is None or _pool[1] < workers:
            if _pool is not None:
                _pool[0].shutdown(wait=False)
            _pool = (ThreadPoolExecutor(max_workers=workers,
                                        thread_name_prefix="convnets-shard"), workers)
        return _pool[0]


def data_parallel_loss(model, X, y, workers: int = 2):
    """``model.loss(X, y)`` computed in shards of the batch, one thread per shard.

    Parameters
    ----------
    model
        A model with ``params`` and ``loss(X, y) -> (loss, grads)``, whose loss is the
        mean over the batch's examples plus terms that do not depend on the batch,
        and whose ``loss`` only reads the model (it runs in several threads at once).
        See :func:`check_shardable`.
    X : ndarray, shape (N, ...)
    y : ndarray, shape (N,)
    workers : int, default 2
        Shards (and threads) at most; use the number of cores.

    Returns
    -------
    loss : float
        ``sum_i (N_i / N) * loss_i`` over the shards.
    grads : dict
        For every key, ``sum_i (N_i / N) * grads_i[key]``, in the dtype of the shards'
        gradients. Equal to ``model.loss(X, y)`` up to rounding (the sums run in
        another order).

    With one worker, a batch of one, or no OpenBLAS to limit (see the module
    docstring), this is ``model.loss(X, y)`` itself.

    Raises
    ------
    TypeError, ValueError
        If ``workers`` is not a positive integer; ValueError if ``y`` is None or
        ``X`` and ``y`` differ in length, or ``workers`` > 1 and the model keeps
        batch statistics (:func:`check_shardable`).
    """
    workers = check_int(workers, "workers", minimum=1)
    if workers > 1:     # one worker is model.loss itself, which any model may run
        check_shardable(model)
    N = len(X)
    if y is None or len(y) != N:
        raise ValueError(f"X and y must hold the same number of examples, got "
                         f"{N} and {'None' if y is None else len(y)}")
    if workers == 1 or N < 2 or not blas_thread_controls():
        return model.loss(X, y)
    model.params  # noqa: B018  (a lazy model allocates its parameters here, once)
    if not os.environ.get(FIXED_METHOD_ENV):
        # auto's cost model is measured the first time a conv layer asks: not inside
        # the shards, where BLAS runs on one thread and the machine looks slower
        machine_cost_model()
    shards = shard_slices(N, workers)
    pool = _executor(len(shards))
    with _SECTION_LOCK, limit_blas_threads(1):
        futures = [pool.submit(model.loss, X[s], y[s]) for s in shards]
        wait(futures)       # every shard ends before BLAS gets its threads back
    results = [future.result() for future in futures]
    loss = 0.0
    grads = {}
    for shard, (shard_loss, shard_grads) in zip(shards, results, strict=True):
        share = (shard.stop - shard.start) / N
        loss += share * float(shard_loss)
        for key, g in shard_grads.items():
            g = np.asarray(g)
            weight = g.dtype.type(share) if np.issubdtype(g.dtype, np.floating) else share
            if key in grads:
                grads[key] += weight * g
            else:
                grads[key] = weight * g
    return loss, grads
