"""Training throughput of ThreeLayerConvNet: ``python -m convnets.bench.training``.

One training step is forward + backward + an Adam update of every parameter, on a
minibatch of 50 CIFAR-sized images (3x32x32), float32, with CS231n's default network
(32 filters 7x7, stride 1, pad 3 - relu - 2x2 max pool - affine 100 - relu - affine 10).
When PyTorch is installed (never a dependency), the same network, shapes, dtype and
optimizer run in PyTorch on the CPU in the same process, with the same number of
threads as NumPy's BLAS, and the throughputs are compared: the target is PyTorch's
images per second (issue 15 raised it from half of them).

The two steps are timed in turns (round robin, :func:`convnets.bench.report.best_times`): each
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
import sys

import numpy as np

from ..nn.classifiers import ThreeLayerConvNet
from ..train import optim
from ..train.allocator import keep_freed_memory
from .report import Row, best_times, blas_info, blas_threads, format_table

__all__ = ["section_training", "numpy_train_step", "torch_train_step", "main"]

SECTION = "training throughput"
TARGET_RATIO = 1.0


def _batch(batch_size: int, input_dim=(3, 32, 32), num_classes=10, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((batch_size,) + tuple(input_dim)).astype(np.float32)
    y = rng.integers(0, num_classes, batch_size)
    return X, y


def numpy_train_step(batch_size: int = 50, seed: int = 0):
    """A function doing one training step of ThreeLayerConvNet (NumPy, float32, Adam).

    Returns ``(step, model)``; ``step()`` returns the loss.
    """
    model = ThreeLayerConvNet(weight_scale=1e-2, dtype=np.float32, seed=seed)
    X, y = _batch(batch_size, seed=seed)
    configs = {name: {"learning_rate": 1e-3} for name in model.params}

    def step():
        loss, grads = model.loss(X, y)
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


def section_training(quick: bool = False, batch_size: int = 50,
                     with_torch: bool = True) -> list[Row]:
    """Rows for :mod:`convnets.bench`: images/s of a training step, NumPy and PyTorch
    (PyTorch only when installed and ``with_torch``)."""
    # Many short turns (about 10 s in all) rather than a few long ones: the fastest step
    # of each side then comes from a quiet moment even when the machine is slow for
    # seconds.
    inner = 2 if quick else 3
    repeat = 3 if quick else 20
    case = f"ThreeLayerConvNet x({batch_size}, 3, 32, 32) fwd+bwd+adam"
    # Both NumPy and PyTorch allocate through glibc's malloc: keep freed memory mapped
    # for both (see convnets.allocator), so neither pays page faults on every step.
    kept = keep_freed_memory()
    numpy_step, _ = numpy_train_step(batch_size)
    threads = blas_threads()
    torch_step = torch_train_step(batch_size, threads=threads) if with_torch else None

    steps = {"numpy": numpy_step}
    if torch_step is not None:
        steps["torch"] = torch_step[0]
        for step in steps.values():  # first calls pick kernels and allocate: not timed
            for _ in range(3):
                step()
    per_step = best_times(steps, repeat=repeat, inner=inner)
    rate = {k: batch_size / v for k, v in per_step.items()}
    rows = [Row(SECTION, case, "float32", "NumPy (convnets) step",
                f"{per_step['numpy'] * 1e3:.1f} ms = {rate['numpy']:.0f} images/s")]
    if torch_step is None:
        why = "PyTorch not installed" if with_torch else "PyTorch not requested"
        rows.append(Row(SECTION, case, "float32", f"{why}: no comparison", "-"))
        return rows + [_allocator_row(kept)]
    torch = torch_step[1]
    ratio = rate["numpy"] / rate["torch"]
    rows += [
        Row(SECTION, case, "float32", "PyTorch CPU step (same network, same work)",
            f"{per_step['torch'] * 1e3:.1f} ms = {rate['torch']:.0f} images/s"),
        Row(SECTION, case, "float32", "throughput NumPy / PyTorch",
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
