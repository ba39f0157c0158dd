"""A small trained network for the lessons that need one before lesson 11 trains its own.

:func:`digits_net` returns the digits network, ``INPUT -> CONV3-16 -> RELU -> POOL2 ->
FC-64 -> RELU -> FC-10`` on the 8x8 grey digits of scikit-learn, with the weights stored
next to this file (``digits_net.npz``, about 70 kB). ``tools/make_digits_net.py``
trains it again and rewrites the file (a few seconds, the same numbers for the same
seed): the weights are made by that script, never edited by hand.

The inputs are the raw pixels in [0, 1] (no mean subtracted), so that a blank
background is 0, like the zero padding of its convolution: converted to convolutions
(lesson 7), the network can slide over a larger blank canvas holding several digits.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..nn import Affine, Conv, Flatten, MaxPool, ReLU, Sequential
from ..train.solver import load_checkpoint

__all__ = ["DIGITS_NET_FILE", "NO_DIGIT", "DIGITS_NET_CLASSES", "digits_net_layers",
           "digits_net"]

DIGITS_NET_FILE = Path(__file__).with_name("digits_net.npz")
NO_DIGIT = 10
DIGITS_NET_CLASSES = [str(d) for d in range(10)] + ["no digit"]


def digits_net_layers() -> list:
    """The layers of the digits network (new, untrained)."""
    return [Conv(16, 3, pad=1), ReLU(), MaxPool(2), Flatten(), Affine(64), ReLU(),
            Affine(len(DIGITS_NET_CLASSES))]


def digits_net(path=DIGITS_NET_FILE, dtype=np.float64) -> tuple[Sequential, dict]:
    """The trained digits network and what its file says about it.

    Returns
    -------
    (Sequential, dict)
        The network on ``(1, 8, 8)`` inputs (pixels in [0, 1], no mean subtracted), and
        the metadata saved with its weights: ``val_acc`` and ``test_acc`` (on windows
        of canvases, see the script), ``digits_test_acc`` (on the centred test digits),
        ``epochs``, ``seed``.
    """
    model = Sequential(digits_net_layers(), (1, 8, 8), dtype=dtype, name="digits net")
    metadata = load_checkpoint(path, model)
    return model, metadata
