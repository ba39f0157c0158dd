"""Train the small digits network of ``convnets.teach.pretrained`` and store its weights.

    python tools/make_digits_net.py            # rewrites solutions/convnets/teach/digits_net.npz

Lesson 7 converts this network to convolutions and slides it over a canvas of several
digits. A network that only knows the ten digits answers one of them everywhere, also
on blank paper or half a digit; so this one has an eleventh class, "no digit here",
and learns from 8x8 windows cut out of random canvases:

- a window whose top-left corner is within two pixels of a digit's (in both directions)
  is labelled with that digit (nine of the 25 such windows per digit, at random): the
  converted network moves two pixels per step of its map, so every digit, wherever it
  is, has at least one map position within one pixel and a few within two;
- a window at least four pixels away from every digit (blank, or parts of digits) is
  labelled "no digit";
- the windows in between (three pixels off) are left out: they are neither.

The digits are scikit-learn's 8x8 digits, pixels in [0, 1] with no mean subtracted (a
blank canvas is 0, like the convolution's zero padding); the canvases of the training,
validation and test windows are made from the digits of the same split. The same seed
gives the same weights. Prints the accuracies it stores with them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from convnets import Sequential, Solver
from convnets.data import load_digits
from convnets.teach.pretrained import DIGITS_NET_FILE, NO_DIGIT, digits_net_layers
from convnets.train.solver import save_checkpoint

CANVAS = 24          # side of the random canvases, pixels
PER_CANVAS = 3       # digits on each


def canvas_windows(X, y, rng, copies: int = 3):
    """Windows cut from random canvases, each digit of ``X`` used ``copies`` times.

    Returns (windows (N, 1, 8, 8), labels (N,)), as many "no digit" windows as digit
    windows.
    """
    order = np.concatenate([rng.permutation(len(X)) for _ in range(copies)])
    windows, labels, background = [], [], []
    for start in range(0, len(order) - PER_CANVAS + 1, PER_CANVAS):
        canvas = np.zeros((CANVAS, CANVAS))
        corners = []
        for index in order[start:start + PER_CANVAS]:
            for _ in range(50):           # a place that overlaps no digit already there
                r, c = rng.integers(0, CANVAS - 8 + 1, size=2)
                if all(max(abs(r - r0), abs(c - c0)) >= 8 for r0, c0, _ in corners):
                    break
            else:
                continue
            canvas[r:r + 8, c:c + 8] = X[index, 0]
            corners.append((r, c, y[index]))
        for r0, c0, digit in corners:
            near = [(r, c) for r in range(max(0, r0 - 2), min(CANVAS - 8, r0 + 2) + 1)
                    for c in range(max(0, c0 - 2), min(CANVAS - 8, c0 + 2) + 1)]
            for k in rng.choice(len(near), size=min(9, len(near)), replace=False):
                r, c = near[k]
                windows.append(canvas[r:r + 8, c:c + 8])
                labels.append(digit)
        for r in range(CANVAS - 8 + 1):
            for c in range(CANVAS - 8 + 1):
                if min(max(abs(r - r0), abs(c - c0)) for r0, c0, _ in corners) >= 4:
                    background.append(canvas[r:r + 8, c:c + 8])
    keep = rng.choice(len(background), size=min(len(windows), len(background)),
                      replace=False)
    windows += [background[i] for i in keep]
    labels += [NO_DIGIT] * len(keep)
    shuffle = rng.permutation(len(windows))
    return (np.asarray(windows)[shuffle, None].astype(X.dtype),
            np.asarray(labels, dtype=np.int64)[shuffle])


def accuracy(model, X, y) -> float:
    return float(np.mean(np.argmax(model.forward(X), axis=1) == y))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/make_digits_net.py",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DIGITS_NET_FILE)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    digits = load_digits(seed=args.seed, subtract_mean=False)
    data = {}
    for part, copies in (("train", 1), ("val", 1), ("test", 1)):
        data[f"X_{part}"], data[f"y_{part}"] = canvas_windows(
            digits[f"X_{part}"], digits[f"y_{part}"], rng, copies)
        print(f"{part}: {len(data[f'y_{part}'])} windows, "
              f"{np.mean(data[f'y_{part}'] == NO_DIGIT):.0%} without a digit")
    model = Sequential(digits_net_layers(), (1, 8, 8), reg=1e-4, seed=args.seed,
                       name="digits net")
    solver = Solver(model, data, update_rule="adam", optim_config={"learning_rate": 2e-3},
                    lr_decay=0.9, batch_size=64, num_epochs=args.epochs, seed=args.seed,
                    verbose=False, progress=False)
    solver.train()
    val, test = (accuracy(model, data["X_val"], data["y_val"]),
                 accuracy(model, data["X_test"], data["y_test"]))
    plain = accuracy(model, digits["X_test"], digits["y_test"])
    save_checkpoint(model, args.out, val_acc=val, test_acc=test, digits_test_acc=plain,
                    epochs=args.epochs, seed=args.seed)
    print(f"windows: validation accuracy {val:.3f}, test accuracy {test:.3f}; "
          f"the centred test digits: {plain:.3f} -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
