"""Training throughput of ThreeLayerConvNet: ``python -m convnets.bench.training``.

One training step is forward + backward + an Adam update of every parameter, on a
minibatch of 50 CIFAR-sized images (3x32x32), float32, with CS231n's default network
(32 filters 7x7, stride 1, pad 3 - relu - 2x2 max pool - affine 100 - relu - affine 10).
When PyTorch is installed (never a dependency), the same network, shapes, dtype and
optimizer run in PyTorch on the CPU in the same process, with the same number of
threads as NumPy's BLAS, and the throughputs are compared: the target is PyTorch's
images per second (issue 15 raised it from half of them).

NumPy's step is timed two ways: the whole batch at once (BLAS's threads work inside
the matrix products only), and in one shard of the batch per BLAS thread, each shard's
forward and backward pass in a thread of its own with BLAS on one thread
(:mod:`convnets.nn.parallel`, what ``Solver(..., workers=2)`` does), which puts every
pass over memory on all the cores, as PyTorch's own threads do. The target row
compares the sharded step (the whole batch's when there is one core, or no OpenBLAS
whose threads can be limited).

The steps are timed in turns (round robin, :func:`convnets.bench.report.best_times`): each
turn runs one step untimed, then times a few steps one by one; the fastest step of each
is kept, so that other work on the machine disturbs both alike. Speed is measured here,
never asserted in tests.

Before timing, :func:`convnets.keep_freed_memory` makes glibc's malloc keep freed
blocks mapped, for both libraries (PyTorch's CPU tensors come from the same malloc): a
step then reuses the previous step's memory instead of faulting in fresh pages.

Both steps do the same work: ``ThreeLayerConvNet.loss`` skips the gradient with
respect to the input images (``conv_backward_fast(..., compute_dx=False)``), as PyTorch
does when the input does not require a gradient.

:func:`section_training` returns the rows in the format of :mod:`convnets.bench.report`
(``Row``); :mod:`convnets.bench.run` lists it in ``SECTIONS``.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from ..nn.classifiers import ThreeLayerConvNet
from ..nn.parallel import blas_thread_controls, data_parallel_loss
from ..train import optim
from ..train.allocator import keep_freed_memory
from .report import Row, best_times, blas_info, blas_threads, format_table

__all__ = ["section_training", "numpy_train_step", "torch_train_step", "shard_workers", "main"]

SECTION = "training throughput"
TARGET_RATIO = 1.0


def _batch(batch_size: int, input_dim=(3, 32, 32), num_classes=10, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((batch_size,) + tuple(input_dim)).astype(np.float32)
    y = rng.integers(0, num_classes, batch_size)
    return X, y


def numpy_train_step(batch_size: int = 50, seed: int = 0, workers: int = 1):
    """A function doing one training step of ThreeLayerConvNet (NumPy, float32, Adam).

    With ``workers`` > 1 the loss and gradients are computed in that many shards of the
    batch, a thread each (:func:`convnets.nn.parallel.data_parallel_loss`, what
    ``Solver(..., workers=...)`` does). Returns ``(step, model)``; ``step()`` returns
    the loss.
    """
    model = ThreeLayerConvNet(weight_scale=1e-2, dtype=np.float32, seed=seed)
    X, y = _batch(batch_size, seed=seed)
    configs = {name: {"learning_rate": 1e-3} for name in model.params}

    def step():
        loss, grads = data_parallel_loss(model, X, y, workers)
        for name, w in model.params.items():
            model.params[name], configs[name] = optim.adam(w, grads[name], configs[name])
        return loss

    return step, model


def torch_train_step(batch_size: int = 50, seed: int = 0, threads: int | None = None,
                     input_grad: bool = False):
    """The same network and step in PyTorch (CPU, float32, Adam), or None without torch.

    ``input_grad=True`` makes the input require a gradient, so that the backward pass
    also computes ``dx`` of the first convolution (more work than a training step
    needs). Returns ``(step, torch_module)`` or None.
    """
    try:
        import torch
    except ImportError:
        return None
    if threads is not None:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    nn = torch.nn
    net = nn.Sequential(
        nn.Conv2d(3, 32, kernel_size=7, stride=1, padding=3), nn.ReLU(),
        nn.MaxPool2d(2, stride=2), nn.Flatten(),
        nn.Linear(32 * 16 * 16, 100), nn.ReLU(), nn.Linear(100, 10))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    X, y = _batch(batch_size, seed=seed)
    tX, ty = torch.from_numpy(X).clone(), torch.from_numpy(y)
    tX.requires_grad_(input_grad)

    def step():
        opt.zero_grad(set_to_none=True)
        tX.grad = None
        loss = nn.functional.cross_entropy(net(tX), ty)
        loss.backward()
        opt.step()
        return float(loss.detach())

    return step, torch


def shard_workers(threads: int | None) -> int:
    """Shards for the data-parallel NumPy step: one per BLAS thread (else per CPU), or 1
    when OpenBLAS's threads cannot be limited (see :mod:`convnets.nn.parallel`)."""
    if not blas_thread_controls():
        return 1
    return max(1, threads or os.cpu_count() or 1)


def section_training(quick: bool = False, batch_size: int = 50,
                     with_torch: bool = True) -> list[Row]:
    """Rows for :mod:`convnets.bench`: images/s of a training step, NumPy (the whole
    batch at once, and in shards a thread each when the machine has several cores) and
    PyTorch (only when installed and ``with_torch``)."""
    # Many short turns (about 10 s in all) rather than a few long ones: the fastest step
    # of each side then comes from a quiet moment even when the machine is slow for
    # seconds.
    inner = 2 if quick else 3
    repeat = 3 if quick else 20
    case = f"ThreeLayerConvNet x({batch_size}, 3, 32, 32) fwd+bwd+adam"
    # Both NumPy and PyTorch allocate through glibc's malloc: keep freed memory mapped
    # for both (see convnets.allocator), so neither pays page faults on every step.
    kept = keep_freed_memory()
    threads = blas_threads()
    workers = min(shard_workers(threads), batch_size)
    steps = {"numpy": numpy_train_step(batch_size)[0]}
    if workers > 1:
        steps["shards"] = numpy_train_step(batch_size, workers=workers)[0]
    torch_step = torch_train_step(batch_size, threads=threads) if with_torch else None
    if torch_step is not None:
        steps["torch"] = torch_step[0]
    for step in steps.values():  # first calls pick kernels and allocate: not timed
        for _ in range(3):
            step()
    per_step = best_times(steps, repeat=repeat, inner=inner)
    rate = {k: batch_size / v for k, v in per_step.items()}
    names = {"numpy": "NumPy (convnets) step",
             "shards": f"NumPy step in {workers} shards, a thread each (Solver workers="
                       f"{workers})"}
    rows = [Row(SECTION, case, "float32", names[k],
                f"{per_step[k] * 1e3:.1f} ms = {rate[k]:.0f} images/s")
            for k in ("numpy", "shards") if k in steps]
    if torch_step is None:
        why = "PyTorch not installed" if with_torch else "PyTorch not requested"
        rows.append(Row(SECTION, case, "float32", f"{why}: no comparison", "-"))
        return rows + [_allocator_row(kept)]
    torch = torch_step[1]
    rows.append(Row(SECTION, case, "float32", "PyTorch CPU step (same network, same work)",
                    f"{per_step['torch'] * 1e3:.1f} ms = {rate['torch']:.0f} images/s"))
    if workers > 1:
        ratio = rate["numpy"] / rate["torch"]
        rows.append(Row(SECTION, case, "float32", "throughput NumPy (whole batch) / PyTorch",
                        f"{ratio:.2f}"))
    best = "shards" if workers > 1 else "numpy"
    ratio = rate[best] / rate["torch"]
    rows += [
        Row(SECTION, case, "float32", "throughput NumPy / PyTorch"
            + (f" ({workers} shards)" if workers > 1 else ""),
            f"{ratio:.2f}", f">= {TARGET_RATIO:.2f}", ratio >= TARGET_RATIO),
        Row(SECTION, "", "", f"torch {torch.__version__}, {torch.get_num_threads()} threads; "
            f"NumPy BLAS threads: {threads if threads is not None else 'default'}", ""),
    ]
    return rows + [_allocator_row(kept)]


def _allocator_row(kept: bool) -> Row:
    return Row(SECTION, "", "", "freed memory kept for reuse (keep_freed_memory): "
               + ("yes" if kept else "no (not glibc)"), "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m convnets.bench.training",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--batch-size", type=int, default=50)
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error(f"--batch-size must be >= 1, got {args.batch_size}")
    print(blas_info())
    rows = section_training(args.quick, args.batch_size)
    print(format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
