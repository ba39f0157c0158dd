"""Checks for the assignment notebooks: clear messages instead of a bare AssertionError.

This file is shipped next to every assignment notebook (students get it in the
release), so it depends on NumPy only, never on the reference package. Each check
raises ``AssertionError`` with a message that says what was checked, what was
expected, what came, and the worst relative error.

Every check looks at the type, dtype and shape of the value it is given *before* any
arithmetic on it (no broadcasting of a wrong shape, no conversion of a huge array):
a value of the wrong kind fails at once, with a message that says so.

Inside ``with hidden_checks(name) as rng:`` (the hidden tests) the checks print
nothing when they pass, and a failure says what failed and why without showing the
expected values.

The numerical gradients are computed as ``convnets.gradcheck`` computes them (a test
keeps the numbers equal); here they also refuse function values of the wrong kind.
"""

from __future__ import annotations

import contextlib
import os
import reprlib
import zlib

import numpy as np

# Depth of the ``hidden_checks`` blocks being run: inside one, the checks keep quiet.
_HIDDEN = [0]

_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 160
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 12
_REPR.maxlevel = 4


def _hidden() -> bool:
    return _HIDDEN[0] > 0


def _ok(message: str) -> None:
    if not _hidden():
        print(message)


def _short(value) -> str:
    """A bounded ``repr`` of a value a student returned."""
    try:
        text = _REPR.repr(value)
    except Exception:  # noqa: BLE001 - a value whose repr fails
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 300 else text[:300] + "..."


def rel_error(x, y) -> float:
    """Largest relative error, ``max |x - y| / max(1e-8, |x| + |y|)``.

    ``x`` and ``y`` must have the same shape (nothing is broadcast).
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"rel_error: the shapes {x.shape} and {y.shape} differ")
    if x.size == 0:
        return 0.0
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def _function_value(value, shape, what):
    """``f(x)`` of a numerical gradient as float64, after checking its kind and shape."""
    arr = _numeric_array(value, what)
    if arr.shape != tuple(shape):
        raise AssertionError(f"{what}: expected shape {tuple(shape)}, got {arr.shape}")
    return np.array(arr, dtype=np.float64, copy=True)


def _real_number(value, what) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(
            value, (int, float, np.integer, np.floating, np.ndarray)):
        raise AssertionError(f"{what}: expected a number, got {type(value).__name__}")
    if isinstance(value, np.ndarray):
        if type(value) is not np.ndarray or value.shape != () or value.dtype.kind not in "iuf":
            raise AssertionError(f"{what}: expected a number, got an array of shape "
                                 f"{value.shape} and dtype {value.dtype}")
    return float(value)


def eval_numerical_gradient(f, x, h=1e-5):
    """Gradient of a scalar function ``f`` at ``x`` by centered differences.

    ``f`` must return a number (a Python or NumPy scalar, or a 0-d array).
    """
    grad = np.zeros_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        fxph = _real_number(f(x), "the function's value")
        x[ix] = old - h
        fxmh = _real_number(f(x), "the function's value")
        x[ix] = old
        grad[ix] = (fxph - fxmh) / (2 * h)
        it.iternext()
    return grad


def eval_numerical_gradient_array(f, x, df, h=1e-5):
    """Gradient of ``sum(f(x) * df)`` with respect to ``x``, by centered differences.

    ``f(x)`` must be an array of numbers of the shape of ``df``.
    """
    df = np.asarray(df)
    grad = np.zeros_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        pos = _function_value(f(x), df.shape, "the function's output")
        x[ix] = old - h
        neg = _function_value(f(x), df.shape, "the function's output")
        x[ix] = old
        grad[ix] = np.sum((pos - neg) * df) / (2 * h)
        it.iternext()
    return grad


def _as_array(value, what):
    """``value`` as an array, refusing what is not an array, a number or a (nested) list
    or tuple of numbers, and arrays of objects or strings: nothing is converted that
    could not be compared."""
    if isinstance(value, np.ndarray):
        if type(value) is not np.ndarray:
            raise AssertionError(f"{what}: expected a NumPy array, got a "
                                 f"{type(value).__name__} (an ndarray subclass)")
        arr = value
    elif isinstance(value, (int, float, complex, np.generic)) or type(value) in (list, tuple):
        try:
            arr = np.asarray(value)
        except Exception as err:  # noqa: BLE001 - ragged lists and the like
            raise AssertionError(f"{what}: expected an array of numbers, got a "
                                 f"{type(value).__name__} that is not one") from err
    else:
        raise AssertionError(f"{what}: expected an array of numbers, got "
                             f"{type(value).__name__}")
    if arr.dtype.kind not in "biufc":
        raise AssertionError(f"{what}: expected an array of numbers, got "
                             f"{type(value).__name__} of dtype {arr.dtype}")
    return arr


def _numeric_array(value, what, like=None):
    """An array of numbers (not bool, not complex unless ``like`` is complex)."""
    arr = _as_array(value, what)
    want = "c" if like is not None and like.dtype.kind == "c" else ""
    if like is not None and like.dtype.kind == "b":
        if arr.dtype.kind != "b":
            raise AssertionError(f"{what}: expected an array of bool, got dtype {arr.dtype}")
        return arr
    if arr.dtype.kind == "b":
        raise AssertionError(f"{what}: expected numbers, got an array of bool")
    if arr.dtype.kind not in "iuf" + want:
        raise AssertionError(f"{what}: expected real numbers, got dtype {arr.dtype}")
    return arr


def _wrong_shape(what, expected_shape, got_shape):
    if _hidden():
        return AssertionError(f"{what}: the shape is wrong (got {got_shape})")
    return AssertionError(f"{what}: expected shape {tuple(expected_shape)}, got {got_shape}")


def check_shape(value, expected_shape, what="output"):
    """The array has exactly ``expected_shape``."""
    arr = _as_array(value, what)
    expected_shape = tuple(expected_shape)
    if arr.shape != expected_shape:
        raise _wrong_shape(what, expected_shape, arr.shape)
    _ok(f"ok: {what} has shape {expected_shape}")


def check_close(actual, expected, what="output", rtol=1e-7, atol=1e-10):
    """``actual`` agrees with ``expected``: same shape, and every entry within tolerance.

    ``actual`` must be an array (or number) of numbers with ``expected``'s shape; it is
    checked before anything is computed with it.
    """
    want = np.asarray(expected)
    got = _numeric_array(actual, what, like=want)
    if got.shape != want.shape:
        raise _wrong_shape(what, want.shape, got.shape)
    if got.size and not np.all(np.isfinite(got)) and np.all(np.isfinite(want)):
        raise AssertionError(f"{what}: contains NaN or inf")
    got64 = got.astype(np.float64)
    want64 = want.astype(np.float64)
    diff = np.abs(got64 - want64)
    if got.size and np.any(diff > atol + rtol * np.abs(want64)):
        err = rel_error(got64, want64)
        if _hidden():
            raise AssertionError(f"{what}: values differ (worst relative error {err:.2e}, "
                                 f"tolerance {rtol:.0e})")
        worst = np.unravel_index(np.argmax(diff), diff.shape)
        raise AssertionError(
            f"{what}: values differ (worst relative error {err:.2e}, "
            f"tolerance {rtol:.0e}); at index {tuple(int(i) for i in worst)} expected "
            f"{want64[worst]:.6g}, got {got64[worst]:.6g}"
        )
    err = rel_error(got64, want64)
    _ok(f"ok: {what} matches (relative error {err:.2e})")


def check_array(actual, expected, what="array"):
    """``actual`` is a NumPy array with the shape and dtype of ``expected`` (values are
    not compared: see :func:`check_close`)."""
    want = np.asarray(expected)
    if type(actual) is not np.ndarray:
        kind = "an ndarray subclass " if isinstance(actual, np.ndarray) else ""
        raise AssertionError(f"{what}: expected a NumPy array, got {kind}"
                             f"{type(actual).__name__}")
    if actual.shape != want.shape:
        raise _wrong_shape(what, want.shape, actual.shape)
    if actual.dtype != want.dtype:
        raise AssertionError(f"{what}: expected dtype {want.dtype}, got {actual.dtype}")
    _ok(f"ok: {what} is an array of shape {want.shape} and dtype {want.dtype}")


def check_gradients(actual, expected, what="gradients", names=None, rtol=1e-7, atol=1e-10):
    """What a backward pass returned against the expected gradients.

    ``expected`` is one array (the backward pass returns one array), a tuple of arrays
    (it returns a tuple or list of exactly that many, in that order; ``names`` labels
    them, e.g. ``("dx", "dw", "db")``) or a dict of arrays (a dict with exactly those
    keys). First every gradient's number, type, shape and dtype are checked, then
    their values (:func:`check_close`).
    """
    if isinstance(expected, dict):
        if type(actual) is not dict:
            raise AssertionError(f"{what}: expected a dict of gradients, got "
                                 f"{type(actual).__name__}")
        if sorted(map(str, actual)) != sorted(map(str, expected)):
            raise AssertionError(f"{what}: expected the keys {sorted(expected)}, got "
                                 f"{_short(sorted(map(str, actual)))}")
        pairs = [(f"{key} ({what})", actual[key], expected[key]) for key in expected]
    elif isinstance(expected, (tuple, list)):
        names = tuple(names) if names is not None else tuple(
            f"gradient {i}" for i in range(len(expected)))
        if len(names) != len(expected):
            raise ValueError("check_gradients: one name per expected gradient")
        if type(actual) not in (tuple, list):
            raise AssertionError(f"{what}: expected a tuple of {len(expected)} gradients "
                                 f"({', '.join(names)}), got {type(actual).__name__}")
        if len(actual) != len(expected):
            raise AssertionError(f"{what}: expected {len(expected)} gradients "
                                 f"({', '.join(names)}), got {len(actual)}")
        pairs = [(f"{name} ({what})", got, want)
                 for name, got, want in zip(names, actual, expected, strict=True)]
    else:
        pairs = [(what, actual, expected)]
    for label, got, want in pairs:
        check_array(got, want, label)
    for label, got, want in pairs:
        check_close(got, want, label, rtol=rtol, atol=atol)


def check_gradient(numeric, analytic, what="gradient", tol=1e-7):
    """A numerical and an analytic gradient agree to a relative error below ``tol``."""
    numeric = np.asarray(numeric)
    analytic = _numeric_array(analytic, what, like=numeric)
    if analytic.shape != numeric.shape:
        raise _wrong_shape(what, numeric.shape, analytic.shape)
    err = rel_error(numeric, analytic)
    if not err < tol:
        raise AssertionError(
            f"{what}: relative error {err:.2e} against the numerical gradient "
            f"(should be below {tol:.0e})"
        )
    _ok(f"ok: {what} (relative error {err:.2e})")


_PLAIN = (bool, int, float, complex, str, bytes, type(None), np.generic)


def _same(actual, expected, depth=0) -> bool:
    """``actual == expected`` for plain data (numbers, strings, and lists, tuples and
    dicts of them), without ever asking an array for its truth value."""
    if depth > 20:
        return False
    if _both_numbers(actual, expected):
        return bool(actual == expected)
    if type(actual) is not type(expected):
        return False
    if isinstance(expected, (list, tuple)):
        return len(actual) == len(expected) and all(
            _same(a, e, depth + 1) for a, e in zip(actual, expected, strict=True))
    if isinstance(expected, dict):
        return set(actual) == set(expected) and all(
            _same(actual[k], expected[k], depth + 1) for k in expected)
    if isinstance(expected, _PLAIN):
        return bool(actual == expected)
    return False


def check_equal(actual, expected, what="value"):
    """Exact equality, for integers, shapes, strings and lists or dicts of them."""
    if isinstance(expected, tuple) and (
            type(actual) is list
            or (type(actual) is np.ndarray and actual.ndim == 1
                and actual.size == len(expected))):
        actual = tuple(actual)
    if not _same(actual, expected):
        if _hidden():
            kind = ""
            if not (type(actual) is type(expected) or _both_numbers(actual, expected)):
                kind = f"; expected type {type(expected).__name__}"
            raise AssertionError(f"{what}: wrong answer (got {type(actual).__name__} "
                                 f"{_short(actual)}{kind})")
        raise AssertionError(f"{what}: expected {_short(expected)}, got {_short(actual)}")
    _ok(f"ok: {what} == {_short(expected)}")


def _both_numbers(a, b):
    numeric = (int, float, np.integer, np.floating)
    return (isinstance(a, numeric) and isinstance(b, numeric)
            and not isinstance(a, (bool, np.bool_)))


def check_raises(exception, func, *args, match=None, what=None, **kwargs):
    """``func(*args, **kwargs)`` raises ``exception`` (whose message contains ``match``)."""
    what = what or getattr(func, "__name__", "the call")
    try:
        func(*args, **kwargs)
    except exception as err:
        if match is not None and match not in str(err):
            if _hidden():
                raise AssertionError(
                    f"{what}: raised {type(err).__name__} as expected, but its message "
                    f"{_short(str(err))} does not say what the exercise asks for") from None
            raise AssertionError(
                f"{what}: raised {type(err).__name__} as expected, but its message "
                f"{str(err)!r} does not mention {match!r}"
            ) from None
        _ok(f"ok: {what} raised {type(err).__name__}: {err}")
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


@contextlib.contextmanager
def hidden_checks(name: str):
    """The block of a hidden test: ``with hidden_checks("test_x") as rng:``.

    ``rng`` is ``hidden_rng(name)``. Inside, the checks print nothing when they pass,
    and their failure messages say what failed and why but never the expected
    values, so that feedback does not hand back the hidden cases' answers.
    """
    _HIDDEN[0] += 1
    try:
        yield hidden_rng(name)
    finally:
        _HIDDEN[0] -= 1
