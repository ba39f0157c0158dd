"""Write the playground's bundled trained network: ``python -m convnets.playground.pretrain``.

Trains the default definition (``INPUT -> CONV -> RELU -> POOL -> FC``, 8 filters of 3x3)
on the digits' training split with the playground's own :class:`~.engine.LiveTrainer`
(SGD with momentum, seeded: the same file every run on the same machine and libraries),
prints the validation and test accuracies, and writes ``digits_pretrained.npz`` next to
this module (a few kilobytes; the *load trained digits net* button reads it).
"""

from __future__ import annotations

import argparse

import numpy as np

from .datasets import resolve_data
from .definition import DEFAULT_DEFINITION, build_network
from .engine import LiveTrainer
from .widget import PRETRAINED_DIGITS

__all__ = ["pretrain", "main"]


def pretrain(path=PRETRAINED_DIGITS, epochs: int = 30, seed: int = 0):
    """Train the default network on the digits and save it; returns ``(path, trainer)``."""
    data = resolve_data("digits")
    definition = build_network(DEFAULT_DEFINITION, data["X_train"].shape[1:], 10, seed=seed)
    trainer = LiveTrainer(definition.model, data, update_rule="sgd_momentum",
                          learning_rate=0.02, momentum=0.9, batch_size=32,
                          weight_decay=1e-4, seed=seed)
    steps = epochs * (len(data["X_train"]) // trainer.batch_size)
    for _ in range(steps):
        trainer.step()
    trainer.learning_rate = 0.002  # a few epochs more at a tenth of the rate
    for _ in range(steps // 5):
        trainer.step()
    val = trainer.accuracy(data["X_val"], data["y_val"])
    test = trainer.accuracy(data["X_test"], data["y_test"])
    written = trainer.save(path, DEFAULT_DEFINITION)
    return written, trainer, val, test


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m convnets.playground.pretrain",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(PRETRAINED_DIGITS), help="file to write")
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args(argv)
    path, trainer, val, test = pretrain(args.out, args.epochs)
    size = path.stat().st_size
    print(f"{trainer.examples_seen:,} examples seen; validation accuracy {val:.1%}, test "
          f"accuracy {test:.1%}; wrote {path} ({size:,} bytes, "
          f"{sum(v.size for v in trainer.model.params.values()):,} parameters, "
          f"{np.dtype(trainer.model.dtype).name})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
