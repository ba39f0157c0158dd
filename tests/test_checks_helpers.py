"""assignments/checks.py (shipped to students, NumPy only) agrees with convnets.gradcheck
and its checks fail with messages that say what was expected and what came."""

import importlib.util
from pathlib import Path

import convnets
import numpy as np
import pytest

spec = importlib.util.spec_from_file_location(
    "checks", Path(__file__).resolve().parents[1] / "assignments" / "checks.py")
checks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(checks)


def test_same_gradients_as_the_package():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4))
    df = rng.standard_normal((3, 4))
    f = np.tanh
    assert np.array_equal(checks.eval_numerical_gradient_array(f, x.copy(), df),
                          convnets.eval_numerical_gradient_array(f, x.copy(), df))
    g = lambda v: float(np.sum(v ** 3))  # noqa: E731
    assert np.array_equal(checks.eval_numerical_gradient(g, x.copy()),
                          convnets.eval_numerical_gradient(g, x.copy()))
    y = x + 1e-6
    assert checks.rel_error(x, y) == convnets.rel_error(x, y)


def test_check_close_message_names_expected_got_and_error():
    with pytest.raises(AssertionError, match=r"conv out: values differ \(worst relative error"
                                             r".*expected 1, got 2"):
        checks.check_close(np.array([2.0]), np.array([1.0]), "conv out")
    with pytest.raises(AssertionError, match=r"expected shape \(2,\), got \(3,\)"):
        checks.check_close(np.zeros(3), np.zeros(2))
    with pytest.raises(AssertionError, match="expected an array of numbers"):
        checks.check_close(object(), np.zeros(2))


def test_check_raises_and_gradient_messages():
    with pytest.raises(AssertionError, match="expected ValueError, but nothing was raised"):
        checks.check_raises(ValueError, lambda: None, what="f")
    with pytest.raises(AssertionError, match="expected ValueError, got TypeError: boom"):
        checks.check_raises(ValueError, lambda: (_ for _ in ()).throw(TypeError("boom")))
    with pytest.raises(AssertionError, match="does not mention '4.5'"):
        checks.check_raises(ValueError, lambda: (_ for _ in ()).throw(ValueError("bad")),
                            match="4.5")
    with pytest.raises(AssertionError, match=r"relative error .* \(should be below 1e-07\)"):
        checks.check_gradient(np.ones(3), np.ones(3) * 1.1, "dx")
    checks.check_gradient(np.ones(3), np.ones(3), "dx")


def test_hidden_rng_depends_on_the_seed_and_the_name(monkeypatch):
    a = checks.hidden_rng("t").random()
    monkeypatch.setenv("CONVNETS_GRADING_SEED", "7")
    b = checks.hidden_rng("t").random()
    c = checks.hidden_rng("u").random()
    assert len({a, b, c}) == 3
    assert checks.hidden_rng("t").random() == b
