"""Checks for the assignment notebooks: clear messages instead of a bare AssertionError.

This file is shipped next to every assignment notebook (students get it in the
release), so it depends on NumPy only, never on the reference package. Each check
raises ``AssertionError`` with a message that says what was checked, what was
expected, what came, and the worst relative error.

The gradient helpers are the same as ``convnets.gradcheck`` (a test keeps them equal).
"""

from __future__ import annotations

import os
import zlib

import numpy as np


def rel_error(x, y) -> float:
    """Largest relative error, ``max |x - y| / max(1e-8, |x| + |y|)``."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def eval_numerical_gradient(f, x, h=1e-5):
    """Gradient of a scalar function ``f`` at ``x`` by centered differences."""
    grad = np.zeros_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        fxph = f(x)
        x[ix] = old - h
        fxmh = f(x)
        x[ix] = old
        grad[ix] = (fxph - fxmh) / (2 * h)
        it.iternext()
    return grad


def eval_numerical_gradient_array(f, x, df, h=1e-5):
    """Gradient of ``sum(f(x) * df)`` with respect to ``x``, by centered differences."""
    grad = np.zeros_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        pos = np.array(f(x), dtype=np.float64, copy=True)
        x[ix] = old - h
        neg = np.array(f(x), dtype=np.float64, copy=True)
        x[ix] = old
        grad[ix] = np.sum((pos - neg) * df) / (2 * h)
        it.iternext()
    return grad


def _as_array(value, what):
    try:
        arr = np.asarray(value)
    except Exception as err:  # noqa: BLE001 - anything a student returns
        raise AssertionError(f"{what}: expected an array, got {type(value).__name__}") from err
    if arr.dtype == object:
        raise AssertionError(f"{what}: expected an array of numbers, got {type(value).__name__}")
    return arr


def check_shape(value, expected_shape, what="output"):
    """The array has exactly ``expected_shape``."""
    arr = _as_array(value, what)
    expected_shape = tuple(expected_shape)
    if arr.shape != expected_shape:
        raise AssertionError(f"{what}: expected shape {expected_shape}, got {arr.shape}")
    print(f"ok: {what} has shape {expected_shape}")


def check_close(actual, expected, what="output", rtol=1e-7, atol=1e-10):
    """``actual`` agrees with ``expected``: same shape, and every entry within tolerance."""
    got = _as_array(actual, what)
    want = np.asarray(expected)
    if got.shape != want.shape:
        raise AssertionError(f"{what}: expected shape {want.shape}, got {got.shape}")
    if got.size and not np.all(np.isfinite(got)) and np.all(np.isfinite(want)):
        raise AssertionError(f"{what}: contains NaN or inf")
    got64 = got.astype(np.float64)
    want64 = want.astype(np.float64)
    diff = np.abs(got64 - want64)
    if got.size and np.any(diff > atol + rtol * np.abs(want64)):
        worst = np.unravel_index(np.argmax(diff), diff.shape)
        raise AssertionError(
            f"{what}: values differ (worst relative error {rel_error(got, want):.2e}, "
            f"tolerance {rtol:.0e}); at index {tuple(int(i) for i in worst)} expected "
            f"{want64[worst]:.6g}, got {got64[worst]:.6g}"
        )
    err = rel_error(got, want) if got.size else 0.0
    print(f"ok: {what} matches (relative error {err:.2e})")


def check_gradient(numeric, analytic, what="gradient", tol=1e-7):
    """A numerical and an analytic gradient agree to a relative error below ``tol``."""
    analytic = _as_array(analytic, what)
    numeric = np.asarray(numeric)
    if analytic.shape != numeric.shape:
        raise AssertionError(f"{what}: expected shape {numeric.shape}, got {analytic.shape}")
    err = rel_error(numeric, analytic)
    if not err < tol:
        raise AssertionError(
            f"{what}: relative error {err:.2e} against the numerical gradient "
            f"(should be below {tol:.0e})"
        )
    print(f"ok: {what} (relative error {err:.2e})")


def check_equal(actual, expected, what="value"):
    """Exact equality, for integers, shapes and strings."""
    if isinstance(expected, tuple):
        try:
            actual = tuple(actual)
        except TypeError:
            pass
    if not (type(actual) is type(expected) or _both_numbers(actual, expected)) or \
            actual != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {actual!r}")
    print(f"ok: {what} == {expected!r}")


def _both_numbers(a, b):
    numeric = (int, float, np.integer, np.floating)
    return isinstance(a, numeric) and isinstance(b, numeric) and not isinstance(a, bool)


def check_raises(exception, func, *args, match=None, what=None, **kwargs):
    """``func(*args, **kwargs)`` raises ``exception`` (whose message contains ``match``)."""
    what = what or getattr(func, "__name__", "the call")
    try:
        func(*args, **kwargs)
    except exception as err:
        if match is not None and match not in str(err):
            raise AssertionError(
                f"{what}: raised {type(err).__name__} as expected, but its message "
                f"{str(err)!r} does not mention {match!r}"
            ) from None
        print(f"ok: {what} raised {type(err).__name__}: {err}")
        return
    except Exception as err:  # noqa: BLE001 - report what came instead
        raise AssertionError(
            f"{what}: expected {exception.__name__}, got {type(err).__name__}: {err}"
        ) from None
    raise AssertionError(f"{what}: expected {exception.__name__}, but nothing was raised")


def hidden_rng(name: str) -> np.random.Generator:
    """Random numbers for hidden tests: different per test and per grading run.

    The grader sets ``CONVNETS_GRADING_SEED``; without it (an instructor validating
    the source notebook) the seed is fixed, so runs are reproducible.
    """
    base = int(os.environ.get("CONVNETS_GRADING_SEED", "0"))
    return np.random.default_rng([base, zlib.crc32(name.encode())])
