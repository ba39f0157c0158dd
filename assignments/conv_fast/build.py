"""Instructor-only build step of assignment 2 (run by ``python -m autograder build``,
never copied to students).

Writes ``conv_fast_expected.npz`` next to the notebook: fixed inputs and what the
reference package's naive layer computes on them (outputs and gradients). The visible
tests compare the student's fast layer with these arrays, so the release holds numbers,
not a naive layer: assignment 1's answers stay out of assignment 2.

Every case is stored under ``<case>_<array>`` keys: ``x``, ``w``, ``b``, ``param`` (the
integers stride, pad, dilation) and the results (``out``; ``dout``, ``dx``, ``dw``,
``db`` for the backward cases).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

FILE = "conv_fast_expected.npz"
SEED = 20260

# case -> (x shape, w shape, (stride, pad, dilation), with gradients?)
CASES = {
    "forward0": ((2, 3, 5, 5), (4, 3, 3, 3), (1, 1, 1), False),
    "forward1": ((1, 2, 7, 6), (3, 2, 3, 2), (2, 1, 1), False),
    "forward2": ((2, 2, 8, 7), (2, 2, 2, 3), (1, 0, 2), False),
    "forward3": ((3, 1, 4, 4), (2, 1, 4, 4), (1, 0, 1), False),
    "backward0": ((2, 3, 5, 5), (3, 3, 3, 3), (1, 1, 1), True),
    "backward1": ((1, 2, 7, 6), (2, 2, 3, 2), (2, 1, 1), True),
    "backward2": ((1, 2, 7, 7), (2, 2, 3, 3), (1, 0, 2), True),
    "conv1x1": ((2, 3, 3, 5), (5, 3, 1, 1), (1, 0, 1), False),
}


def expected_arrays(seed: int = SEED) -> dict[str, np.ndarray]:
    """Every case's inputs and the reference naive layer's results, by key."""
    from convnets import conv_backward_naive, conv_forward_naive

    rng = np.random.default_rng(seed)
    arrays = {}
    for case, (x_shape, w_shape, (S, P, D), gradients) in CASES.items():
        x = rng.standard_normal(x_shape)
        w = rng.standard_normal(w_shape)
        b = rng.standard_normal(w_shape[0])
        out, cache = conv_forward_naive(x, w, b, {"stride": S, "pad": P, "dilation": D})
        found = {"x": x, "w": w, "b": b, "param": np.array([S, P, D]), "out": out}
        if gradients:
            dout = rng.standard_normal(out.shape)
            found["dout"] = dout
            found["dx"], found["dw"], found["db"] = conv_backward_naive(dout, cache)
        arrays.update({f"{case}_{key}": value for key, value in found.items()})
    return arrays


def write_files(dest: Path) -> list[Path]:
    """Write the expected arrays into the assignment's folder ``dest``."""
    path = Path(dest) / FILE
    np.savez_compressed(path, **expected_arrays())
    return [path]
