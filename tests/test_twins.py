"""tests/twins.py catches what it is meant to catch: a fast twin whose output, gradient,
dtype or error message differs from the naive one's."""

from __future__ import annotations

import numpy as np
import pytest
from convnets.layers.affine import affine_backward, affine_forward
from twins import Case, Twins, check_twins, check_twins_raise_alike, check_twins_reject_bad_dout


def naive_scale(x, param):
    if param["factor"] < 0:
        raise ValueError(f"factor must be >= 0, got {param['factor']}")
    return x * param["factor"], (x.dtype, param["factor"])


def naive_scale_backward(dout, cache):
    dtype, factor = cache
    if dout.ndim != 2:
        raise ValueError(f"dout must be 2-D, got {dout.ndim}-D")
    return (dout * factor).astype(dtype)


def twins_with(forward=naive_scale, backward=naive_scale_backward):
    return Twins("scale", naive_scale, naive_scale_backward, forward, backward)


def cases():
    rng = np.random.default_rng(0)
    return [Case({"x": rng.standard_normal((3, 4))}, {"factor": f}) for f in (0.5, 2.0, 3.0)]


def test_identical_twins_pass_and_the_sweep_reports_what_it_saw():
    seen = check_twins(twins_with(), cases())
    assert seen["cases"] == 3 and seen["layouts"] and len(seen["caches"]) == 3


def test_a_wrong_output_is_caught():
    def off(x, param):
        out, cache = naive_scale(x, param)
        return out + 1e-6, cache
    with pytest.raises(AssertionError, match="out"):
        check_twins(twins_with(forward=off), cases())


def test_a_wrong_gradient_is_caught():
    with pytest.raises(AssertionError, match="dx"):
        check_twins(twins_with(backward=lambda d, c: naive_scale_backward(d, c) * 1.001),
                    cases())


def test_a_wrong_dtype_is_caught():
    def float32(x, param):
        out, cache = naive_scale(x, param)
        return out.astype(np.float32), cache
    with pytest.raises(AssertionError, match="dtype"):
        check_twins(twins_with(forward=float32), cases(), rtol=1e-3, atol=1e-3)


def test_a_different_error_message_is_caught():
    def other_words(x, param):
        if param["factor"] < 0:
            raise ValueError("bad factor")
        return naive_scale(x, param)
    message = check_twins_raise_alike(twins_with(), [np.ones((2, 2))], {"factor": -1},
                                      ValueError, r"factor must be >= 0, got -1")
    assert message == "factor must be >= 0, got -1"
    with pytest.raises(AssertionError, match="naive raised"):
        check_twins_raise_alike(twins_with(forward=other_words), [np.ones((2, 2))],
                                {"factor": -1})


def test_a_backward_that_accepts_a_bad_dout_is_caught():
    check_twins_reject_bad_dout(twins_with(), [np.ones((2, 2))], {"factor": 1}, (4,),
                                r"dout must be 2-D")
    with pytest.raises(pytest.fail.Exception):
        check_twins_reject_bad_dout(twins_with(backward=lambda d, c: d), [np.ones((2, 2))],
                                    {"factor": 1}, (4,))


def test_the_helper_runs_a_real_layer_against_itself():
    # The affine layer has one version: as its own twin it must pass on views.
    affine = Twins("affine", lambda x, w, b, _: affine_forward(x, w, b), affine_backward,
                   lambda x, w, b, _: affine_forward(x, w, b), affine_backward,
                   grad_names=("dx", "dw", "db"))
    rng = np.random.default_rng(1)
    case = Case({"x": rng.standard_normal((2, 3, 2)), "w": rng.standard_normal((6, 4)),
                 "b": rng.standard_normal(4)}, None)
    assert check_twins(affine, [case], seed=1, rtol=1e-12)["cases"] == 1
