"""Numerical gradient checking and one comparison helper for all tests.

Centered differences, ``(f(x + h) - f(x - h)) / 2h``, on float64 inputs: the
truncation error is O(h^2), so with ``h=1e-5`` an analytic gradient that is right
agrees to a relative error of about 1e-8 or better.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = [
    "rel_error",
    "eval_numerical_gradient",
    "eval_numerical_gradient_array",
    "check_layer_gradients",
    "assert_close",
]


def rel_error(x, y) -> float:
    """Largest relative error, ``max |x - y| / max(1e-8, |x| + |y|)`` (CS231n's definition)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def eval_numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray,
                            h: float = 1e-5, verbose: bool = False) -> np.ndarray:
    """Gradient of a scalar function ``f`` at ``x`` by centered differences.

    ``x`` is modified in place while evaluating and restored afterwards.
    """
    grad = np.zeros_like(x, dtype=np.float64)
    for ix, fxph, fxmh in _centered_differences(f, x, h):
        grad[ix] = (fxph - fxmh) / (2 * h)
        if verbose:
            print(ix, grad[ix])
    return grad


def eval_numerical_gradient_array(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray,
                                  df: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Gradient of ``sum(f(x) * df)`` with respect to ``x``: a backward pass checked
    against the upstream gradient ``df``."""
    grad = np.zeros_like(x, dtype=np.float64)

    def f_copy(v):
        return np.array(f(v), dtype=np.float64, copy=True)

    for ix, pos, neg in _centered_differences(f_copy, x, h):
        grad[ix] = np.sum((pos - neg) * df) / (2 * h)
    return grad


def _centered_differences(f, x: np.ndarray, h: float):
    """``(index, f(x + h e_i), f(x - h e_i))`` for every entry ``i`` of ``x``, nudging ``x``
    in place and restoring each entry before moving on."""
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        plus = f(x)
        x[ix] = old - h
        minus = f(x)
        x[ix] = old
        yield ix, plus, minus
        it.iternext()


def check_layer_gradients(forward: Callable, backward: Callable, inputs: dict,
                          *args, h: float = 1e-5, seed: int = 0,
                          **kwargs) -> dict[str, float]:
    """Check every input and parameter of a layer at once.

    Parameters
    ----------
    forward : callable
        ``forward(*inputs.values(), *args, **kwargs) -> (out, cache)``.
    backward : callable
        ``backward(dout, cache)`` returning one gradient per entry of ``inputs``
        (a tuple in the same order, or a single array for a one-input layer), each
        of the shape of its input.
    inputs : dict
        Name -> float64 array, in the order ``forward`` takes them, e.g.
        ``{'x': x, 'w': w, 'b': b}``.
    *args, **kwargs
        Passed to ``forward`` after the inputs (e.g. ``conv_param``).

    Returns
    -------
    dict
        Name -> relative error of the analytic gradient, plus ``'worst'``.

    Raises
    ------
    ValueError
        If ``backward`` returns the wrong number of gradients, or a gradient whose
        shape differs from its input's.

    Examples
    --------
    >>> errs = check_layer_gradients(conv_forward_naive, conv_backward_naive,
    ...                              {'x': x, 'w': w, 'b': b}, conv_param)  # doctest: +SKIP
    >>> errs['worst'] < 1e-7  # doctest: +SKIP
    True
    """
    names = list(inputs)
    values = [np.array(inputs[n], dtype=np.float64) for n in names]

    def run(*vals):
        return forward(*vals, *args, **kwargs)[0]

    out, cache = forward(*values, *args, **kwargs)
    dout = np.random.default_rng(seed).standard_normal(np.shape(out))
    grads = backward(dout, cache)
    if isinstance(grads, list):
        grads = tuple(grads)
    if not isinstance(grads, tuple):
        grads = (grads,)
    if len(grads) != len(names):
        raise ValueError(f"backward returned {len(grads)} gradients for inputs {names}")
    for name, value, grad in zip(names, values, grads, strict=True):
        # rel_error broadcasts, so a gradient of shape (1, M) for a bias of shape (M,)
        # would otherwise pass unnoticed.
        if np.shape(grad) != value.shape:
            raise ValueError(f"the gradient of {name!r} has shape {np.shape(grad)} but "
                             f"{name} has shape {value.shape}")

    errors = {}
    for i, name in enumerate(names):
        def f(v, i=i):
            vals = list(values)
            vals[i] = v
            return run(*vals)
        numeric = eval_numerical_gradient_array(f, values[i], dout, h=h)
        errors[name] = rel_error(numeric, grads[i])
    errors["worst"] = max(errors.values())
    return errors


def assert_close(actual, expected, rtol: float = 1e-7, atol: float = 0.0,
                 what: str = "result", **config) -> None:
    """Assert two arrays agree; on failure say what was compared, the configuration,
    the shapes and dtypes, and the largest absolute and relative errors."""
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    setting = ", ".join(f"{k}={v}" for k, v in config.items())
    where = f" [{setting}]" if setting else ""
    if actual.shape != expected.shape:
        raise AssertionError(f"{what}{where}: shape {actual.shape} != expected {expected.shape}")
    if actual.size == 0:
        return
    diff = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
    if not np.all(np.isfinite(actual)) and np.all(np.isfinite(expected)):
        raise AssertionError(f"{what}{where}: contains NaN or inf")
    bound = atol + rtol * np.abs(expected.astype(np.float64))
    if np.all(diff <= bound):
        return
    worst = np.unravel_index(np.argmax(diff - bound), diff.shape)
    raise AssertionError(
        f"{what}{where}: not close (rtol={rtol}, atol={atol}); "
        f"shape {actual.shape}, dtypes {actual.dtype}/{expected.dtype}; "
        f"max abs error {diff.max():.3e}, rel error {rel_error(actual, expected):.3e}; "
        f"worst at {tuple(int(i) for i in worst)}: {actual[worst]!r} vs {expected[worst]!r}"
    )
