"""Twins tested as twins: one helper runs any (naive, fast) pair of a layer on the same
inputs and compares everything the contract promises.

In the style of tinygrad's ``helper_test_op`` (one line per case against a trusted
reference, comparing shape, dtype, forward and gradients with stated tolerances):
the naive version is the reference, the fast one is checked against it.

* :func:`check_twins` runs a seeded sweep of configurations: both forwards on the same
  arrays (the fast one, when asked, on non-contiguous views of them), both backwards on
  the same upstream gradient, and compares the outputs and every gradient (shape,
  dtype, values, with the configuration in the failure message).
* :func:`check_twins_raise_alike` gives both forwards the same bad input and checks that
  they refuse it with the same exception type and the same message (and, given a
  pattern, that the message says it).
* :func:`check_twins_reject_bad_dout` checks that both backwards refuse an upstream
  gradient of the wrong shape with the same message.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pytest
from convnets.gradcheck import assert_close


@dataclass(frozen=True)
class Twins:
    """A layer's two implementations with identical signatures:
    ``forward(*arrays, param) -> (out, cache)`` and ``backward(dout, cache) -> grads``."""

    name: str
    naive_forward: Callable
    naive_backward: Callable
    fast_forward: Callable
    fast_backward: Callable
    grad_names: tuple[str, ...] = ("dx",)


@dataclass
class Case:
    """One configuration: the input arrays (in the forward's argument order), the
    hyperparameter dict, and a description shown when a comparison fails."""

    arrays: dict[str, np.ndarray]
    param: dict
    config: dict = field(default_factory=dict)


def strided_view(rng: np.random.Generator, array: np.ndarray) -> tuple[np.ndarray, str]:
    """The same values as ``array``, sometimes as a non-contiguous view; and which layout."""
    layout = str(rng.choice(["contiguous", "transposed", "sliced", "fortran", "reversed"]))
    if array.ndim < 2 and layout in ("transposed", "fortran"):
        layout = "contiguous"
    if layout == "transposed":
        view = np.swapaxes(np.ascontiguousarray(np.swapaxes(array, -1, -2)), -1, -2)
    elif layout == "sliced":
        base = np.zeros(array.shape[:-1] + (2 * array.shape[-1] + 1,), dtype=array.dtype)
        base[..., 1::2] = array
        view = base[..., 1::2]
    elif layout == "fortran":
        view = np.asfortranarray(array)
    elif layout == "reversed":
        view = array[..., ::-1].copy()[..., ::-1]
    else:
        view = array
    np.testing.assert_array_equal(view, array)
    return view, layout


def _as_tuple(grads) -> tuple:
    return grads if isinstance(grads, tuple) else (grads,)


def check_twins(twins: Twins, cases: Iterable[Case], *, seed: int = 0, rtol: float = 1e-9,
                atol: float = 1e-11, views: bool = True,
                compare_caches: Callable | None = None) -> dict:
    """Run both versions of ``twins`` on every case and compare them.

    For each case: ``out, cache = naive_forward(*arrays, param)`` and the same with the
    fast forward (on strided views of the arrays when ``views``); the outputs must agree
    in shape, dtype and values (``assert_close`` with ``rtol``/``atol``). Then one
    upstream gradient ``dout`` (seeded, the output's dtype; a view too when ``views``)
    goes through both backwards, and every gradient (``twins.grad_names``) must agree in
    shape, dtype and values. ``compare_caches(fast_cache, naive_cache, dout, config)``,
    when given, checks what else the pair promises about its caches.

    Returns what the sweep saw, for the caller to assert coverage: ``'cases'`` (the
    number run), ``'layouts'`` (the input layouts used) and ``'caches'`` (the fast
    caches, in order).
    """
    rng = np.random.default_rng(seed)
    seen = {"cases": 0, "layouts": set(), "caches": []}
    for number, case in enumerate(cases):
        config = {"twins": twins.name, "case": number, **case.config,
                  "shapes": {k: v.shape for k, v in case.arrays.items()}}
        arrays = list(case.arrays.values())
        out, cache = twins.naive_forward(*arrays, case.param)
        fast_arrays = arrays
        if views:
            fast_arrays = []
            for array in arrays:
                view, layout = strided_view(rng, array)
                fast_arrays.append(view)
                seen["layouts"].add(layout)
        out_fast, cache_fast = twins.fast_forward(*fast_arrays, case.param)
        assert out_fast.shape == out.shape, ("out shape", out_fast.shape, out.shape, config)
        assert out_fast.dtype == out.dtype, ("out dtype", out_fast.dtype, out.dtype, config)
        assert_close(out_fast, out, rtol=rtol, atol=atol, what="out", **config)

        dout = rng.standard_normal(out.shape).astype(out.dtype)
        grads = _as_tuple(twins.naive_backward(dout, cache))
        grads_fast = _as_tuple(twins.fast_backward(strided_view(rng, dout)[0] if views
                                                   else dout, cache_fast))
        assert len(grads) == len(grads_fast) == len(twins.grad_names), config
        for name, g_fast, g in zip(twins.grad_names, grads_fast, grads, strict=True):
            assert g_fast.shape == g.shape, (name, "shape", g_fast.shape, g.shape, config)
            assert g_fast.dtype == g.dtype, (name, "dtype", g_fast.dtype, g.dtype, config)
            assert_close(g_fast, g, rtol=rtol, atol=atol, what=name, **config)
        if compare_caches is not None:
            compare_caches(cache_fast, cache, dout, config)
        seen["cases"] += 1
        seen["caches"].append(cache_fast)
    assert seen["cases"] > 0, "check_twins was given no case"
    return seen


def _raised(forward, arrays, param) -> tuple[type, str]:
    with pytest.raises((ValueError, TypeError)) as info:
        forward(*arrays, param)
    return info.type, str(info.value)


def check_twins_raise_alike(twins: Twins, arrays: Iterable, param, error: type | None = None,
                            match: str | None = None) -> str:
    """Both forwards refuse ``(arrays, param)`` with the same exception type and message;
    given ``error`` and ``match``, it is that type and the message matches. Returns the
    message."""
    arrays = list(arrays)
    naive = _raised(twins.naive_forward, arrays, param)
    fast = _raised(twins.fast_forward, arrays, param)
    assert naive == fast, f"{twins.name}: naive raised {naive}, fast raised {fast}"
    if error is not None:
        assert naive[0] is error, (naive, error)
    if match is not None:
        assert re.search(match, naive[1]), (match, naive[1])
    return naive[1]


def check_twins_reject_bad_dout(twins: Twins, arrays: Iterable, param, bad_shape,
                                match: str | None = None) -> str:
    """Both backwards refuse a ``dout`` of ``bad_shape`` with the same ``ValueError``
    message (matching ``match`` when given). Returns the message."""
    arrays = list(arrays)
    messages = []
    for forward, backward in ((twins.naive_forward, twins.naive_backward),
                              (twins.fast_forward, twins.fast_backward)):
        _, cache = forward(*arrays, param)
        with pytest.raises(ValueError, match=match) as info:
            backward(np.zeros(bad_shape), cache)
        messages.append(str(info.value))
    assert messages[0] == messages[1], f"{twins.name}: {messages}"
    return messages[0]
