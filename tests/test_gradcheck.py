"""The gradient-checking helpers that every other test relies on."""

import numpy as np
import pytest
from convnets.gradcheck import (
    assert_close,
    check_layer_gradients,
    eval_numerical_gradient,
    eval_numerical_gradient_array,
    rel_error,
)

# The assignments whose functions these tests cover (pyproject.toml lists the markers).
pytestmark = [pytest.mark.conv_naive, pytest.mark.conv_fast]

# ---------------------------------------------------------------------- rel_error


def test_rel_error_definition():
    assert rel_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    # |1 - 3| / (1 + 3) = 0.5 is the worst entry.
    assert rel_error([1.0, 2.0], [3.0, 2.0]) == pytest.approx(0.5)
    # Near zero the denominator is floored at 1e-8: |1e-9 - 0| / 1e-8 = 0.1.
    assert rel_error([1e-9], [0.0]) == pytest.approx(0.1)
    assert rel_error(0.0, 0.0) == 0.0


def test_rel_error_is_symmetric_and_scale_free():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(10), rng.standard_normal(10)
    assert rel_error(a, b) == rel_error(b, a)
    assert rel_error(1e3 * a, 1e3 * b) == pytest.approx(rel_error(a, b), rel=1e-12)


# ---------------------------------------------------------------------- numerical gradients


def test_eval_numerical_gradient_of_a_cubic():
    x = np.random.default_rng(1).standard_normal((3, 4))
    before = x.copy()
    grad = eval_numerical_gradient(lambda v: np.sum(v ** 3), x)
    assert rel_error(grad, 3 * before ** 2) < 1e-7
    # Centered differences of a cubic are exact up to h^2: ((x+h)^3 - (x-h)^3)/2h = 3x^2 + h^2.
    assert_close(grad, 3 * before ** 2 + 1e-10, rtol=0, atol=1e-9)
    assert np.array_equal(x, before), "x must be restored after the evaluation"
    assert grad.dtype == np.float64 and grad.shape == x.shape


def test_eval_numerical_gradient_verbose_prints_each_entry(capsys):
    eval_numerical_gradient(lambda v: float(v @ v), np.array([1.0, 2.0]), verbose=True)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0].startswith("(0,)")


def test_eval_numerical_gradient_array_matches_the_chain_rule():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3))
    df = rng.standard_normal((2, 3))
    grad = eval_numerical_gradient_array(np.sin, x, df)
    assert rel_error(grad, np.cos(x) * df) < 1e-8


def test_eval_numerical_gradient_array_copes_with_views_of_x():
    # f returns x itself (a view): the helper must copy f(x+h) before computing f(x-h).
    x = np.array([[1.0, -2.0, 3.0]])
    df = np.array([[0.5, 1.5, -1.0]])
    grad = eval_numerical_gradient_array(lambda v: v, x, df)
    assert rel_error(grad, df) < 1e-9
    grad = eval_numerical_gradient_array(lambda v: v.reshape(3, 1), x, df.reshape(3, 1))
    assert rel_error(grad, df) < 1e-9


# ---------------------------------------------------------------------- check_layer_gradients


def _scale_forward(x, w, factor=1.0):
    """out = factor * x * w (elementwise), a tiny two-input layer."""
    return factor * x * w, (x, w, factor)


def _scale_backward(dout, cache):
    x, w, factor = cache
    return factor * dout * w, factor * dout * x


def test_check_layer_gradients_accepts_a_correct_layer():
    rng = np.random.default_rng(3)
    inputs = {"x": rng.standard_normal((2, 3)), "w": rng.standard_normal((2, 3))}
    errors = check_layer_gradients(_scale_forward, _scale_backward, inputs, 2.5)
    assert set(errors) == {"x", "w", "worst"}
    assert errors["worst"] == max(errors["x"], errors["w"]) < 1e-9


def test_check_layer_gradients_passes_keyword_arguments():
    rng = np.random.default_rng(4)
    inputs = {"x": rng.standard_normal(4), "w": rng.standard_normal(4)}
    errors = check_layer_gradients(_scale_forward, _scale_backward, inputs, factor=-3.0)
    assert errors["worst"] < 1e-9


def test_check_layer_gradients_catches_a_wrong_gradient():
    def wrong_backward(dout, cache):
        dx, dw = _scale_backward(dout, cache)
        return dx, 2 * dw

    rng = np.random.default_rng(5)
    inputs = {"x": rng.standard_normal((2, 3)), "w": rng.standard_normal((2, 3))}
    errors = check_layer_gradients(_scale_forward, wrong_backward, inputs)
    assert errors["x"] < 1e-9
    assert errors["w"] == pytest.approx(1 / 3, rel=1e-6)  # |g - 2g| / (|g| + |2g|)
    assert errors["worst"] == errors["w"]


def test_check_layer_gradients_single_input_layer():
    x = np.random.default_rng(6).standard_normal(5)
    errors = check_layer_gradients(lambda v: (np.tanh(v), v),
                                   lambda dout, v: dout * (1 - np.tanh(v) ** 2), {"x": x})
    assert errors["worst"] < 1e-8


def test_check_layer_gradients_accepts_a_list_of_gradients():
    rng = np.random.default_rng(7)
    inputs = {"x": rng.standard_normal(3), "w": rng.standard_normal(3)}
    errors = check_layer_gradients(_scale_forward,
                                   lambda dout, cache: list(_scale_backward(dout, cache)), inputs)
    assert errors["worst"] < 1e-9


def test_check_layer_gradients_rejects_the_wrong_number_of_gradients():
    inputs = {"x": np.ones(3), "w": np.ones(3)}
    with pytest.raises(ValueError, match=r"backward returned 1 gradients for inputs \['x', 'w'\]"):
        check_layer_gradients(_scale_forward, lambda dout, cache: dout, inputs)


def test_check_layer_gradients_rejects_a_gradient_of_the_wrong_shape():
    # A bias gradient of shape (1, M) for a bias of shape (M,) broadcasts inside rel_error
    # and would pass the comparison; the shape check catches it.
    def forward(x, b):
        return x + b, None

    def backward(dout, cache):
        return dout, dout.sum(axis=0, keepdims=True)

    rng = np.random.default_rng(8)
    inputs = {"x": rng.standard_normal((4, 3)), "b": rng.standard_normal(3)}
    with pytest.raises(ValueError, match=r"the gradient of 'b' has shape \(1, 3\) but b has "
                                         r"shape \(3,\)"):
        check_layer_gradients(forward, backward, inputs)


def test_check_layer_gradients_does_not_modify_the_callers_arrays():
    x = np.array([1.0, 2.0, 3.0])
    w = np.array([0.5, -1.0, 2.0])
    check_layer_gradients(_scale_forward, _scale_backward, {"x": x, "w": w})
    assert x.tolist() == [1.0, 2.0, 3.0] and w.tolist() == [0.5, -1.0, 2.0]


# ---------------------------------------------------------------------- assert_close


def test_assert_close_passes_within_tolerance():
    assert_close(np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-9]), rtol=1e-8)
    assert_close(np.array([0.0]), np.array([1e-12]), rtol=0, atol=1e-11)
    assert_close(np.zeros((0, 3)), np.zeros((0, 3)))


def test_assert_close_failure_message_names_everything():
    with pytest.raises(AssertionError) as info:
        assert_close(np.array([[1.0, 2.0]]), np.array([[1.0, 2.5]]), rtol=1e-7,
                     what="conv forward", stride=2, pad=1)
    message = str(info.value)
    for part in ["conv forward", "stride=2, pad=1", "shape (1, 2)", "float64/float64",
                 "max abs error 5.000e-01", "worst at (0, 1)"]:
        assert part in message, (part, message)


def test_assert_close_shape_mismatch():
    with pytest.raises(AssertionError, match=r"shape \(2,\) != expected \(1, 2\)"):
        assert_close(np.ones(2), np.ones((1, 2)))


def test_assert_close_reports_nan():
    with pytest.raises(AssertionError, match="contains NaN or inf"):
        assert_close(np.array([1.0, np.nan]), np.array([1.0, 2.0]))
