"""Softmax and SVM losses: hand-computed cases, numerical gradients, stability, errors."""

import numpy as np
import pytest
from convnets.gradcheck import assert_close, eval_numerical_gradient, rel_error
from convnets.layers.losses import softmax_loss, svm_loss

# The assignments whose functions these tests cover (pyproject.toml lists the markers).
pytestmark = [pytest.mark.pooling_layers]

LOSSES = [softmax_loss, svm_loss]


def test_svm_hand_example():
    # The classic cat/car/frog scores; the correct class is cat (0):
    # max(0, 5.1 - 3.2 + 1) + max(0, -1.7 - 3.2 + 1) = 2.9 + 0 = 2.9.
    x = np.array([[3.2, 5.1, -1.7]])
    loss, dx = svm_loss(x, np.array([0]))
    assert loss == pytest.approx(2.9, rel=1e-12)
    # One positive margin (car): +1 on car, -1 on the correct class.
    assert dx.tolist() == [[-1.0, 1.0, 0.0]]


def test_svm_hand_example_averages_over_the_batch():
    x = np.array([[3.2, 5.1, -1.7],   # y = 0: 2.9 (see above)
                  [1.0, 4.0, 3.5]])   # y = 1: max(0, 1-4+1) + max(0, 3.5-4+1) = 0 + 0.5
    loss, dx = svm_loss(x, np.array([0, 1]))
    assert loss == pytest.approx((2.9 + 0.5) / 2, rel=1e-12)
    assert_close(dx, np.array([[-1.0, 1.0, 0.0], [0.0, -1.0, 1.0]]) / 2, rtol=0)


def test_svm_loss_is_zero_when_the_correct_class_wins_by_more_than_one():
    loss, dx = svm_loss(np.array([[5.0, 1.0, 3.9]]), np.array([0]))
    assert loss == 0 and not dx.any()


def test_softmax_hand_example():
    # exp(scores) = [1, 2, 3]: probabilities 1/6, 2/6, 3/6; correct class 2: -log(1/2).
    x = np.log(np.array([[1.0, 2.0, 3.0]]))
    loss, dx = softmax_loss(x, np.array([2]))
    assert loss == pytest.approx(np.log(2), rel=1e-12)
    assert_close(dx, np.array([[1 / 6, 2 / 6, 3 / 6 - 1]]), rtol=1e-12)


@pytest.mark.parametrize("C", [1, 2, 3, 10, 1000])
def test_softmax_of_equal_scores_is_log_C(C):
    N = 4
    x = np.full((N, C), 7.25)
    y = np.arange(N) % C
    loss, dx = softmax_loss(x, y)
    assert loss == pytest.approx(np.log(C), rel=1e-12, abs=1e-15)
    expected = np.full((N, C), 1 / C)
    expected[np.arange(N), y] -= 1
    assert_close(dx, expected / N, rtol=1e-12, atol=1e-15)


def test_softmax_is_stable_for_huge_scores():
    x = np.array([[1000.0, 1000.0 + np.log(2), 0.0], [-1e4, 1e4, 3e4]])
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # underflow is harmless
        loss, dx = softmax_loss(x, np.array([0, 2]))
    # Row 0: probabilities about 1/3, 2/3, 0 -> -log(1/3); row 1: the correct class wins.
    assert loss == pytest.approx(np.log(3) / 2, rel=1e-12)
    assert np.all(np.isfinite(dx))


def test_softmax_equals_the_naive_formula_on_moderate_scores():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 5))
    y = rng.integers(0, 5, size=6)
    p = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    loss, _ = softmax_loss(x, y)
    assert loss == pytest.approx(-np.mean(np.log(p[np.arange(6), y])), rel=1e-12)


@pytest.mark.parametrize("loss_fn", LOSSES)
def test_numerical_gradient(loss_fn):
    rng = np.random.default_rng(1)
    N, C = 7, 5
    x = rng.standard_normal((N, C))
    y = rng.integers(0, C, size=N)
    if loss_fn is svm_loss:
        margins = x - x[np.arange(N), y][:, None] + 1
        assert np.min(np.abs(margins)) > 1e-3  # no hinge kink within the finite difference
    _, dx = loss_fn(x, y)
    numeric = eval_numerical_gradient(lambda v: loss_fn(v, y)[0], x)
    assert rel_error(numeric, dx) < 1e-7


@pytest.mark.parametrize("loss_fn", LOSSES)
def test_float32_in_float32_out(loss_fn):
    x = np.random.default_rng(2).standard_normal((3, 4)).astype(np.float32)
    loss, dx = loss_fn(x, np.array([0, 3, 1]))
    assert dx.dtype == np.float32 and np.asarray(loss).dtype == np.float32


@pytest.mark.parametrize("loss_fn", LOSSES)
def test_accepts_any_integer_label_dtype_and_lists(loss_fn):
    x = np.random.default_rng(3).standard_normal((3, 4))
    reference = loss_fn(x, np.array([0, 3, 1]))[0]
    assert loss_fn(x, np.array([0, 3, 1], dtype=np.uint8))[0] == reference
    assert loss_fn(x, [0, 3, 1])[0] == reference


@pytest.mark.parametrize("loss_fn", LOSSES)
@pytest.mark.parametrize("y, message", [
    (np.array([0, 4, 1]), r"labels must lie in \[0, C\) = \[0, 4\) .*; y\[1\] = 4"),
    (np.array([0, 1, -1]), r"labels must lie in \[0, C\) = \[0, 4\) .*; y\[2\] = -1"),
    (np.array([0, 1]), r"y must have shape \(N,\) = \(3,\), .*got shape \(2,\)"),
    (np.array([[0, 1, 2]]), r"y must have shape \(N,\) = \(3,\), .*got shape \(1, 3\)"),
])
def test_bad_labels_raise_value_error(loss_fn, y, message):
    x = np.zeros((3, 4))
    with pytest.raises(ValueError, match=message):
        loss_fn(x, y)


@pytest.mark.parametrize("loss_fn", LOSSES)
@pytest.mark.parametrize("y", [np.array([0.0, 1.0, 2.0]), np.array([True, False, True])],
                         ids=["float", "bool"])
def test_non_integer_labels_raise_type_error(loss_fn, y):
    with pytest.raises(TypeError, match=rf"y must hold integer class labels, got dtype "
                                        rf"{y.dtype}"):
        loss_fn(np.zeros((3, 4)), y)


@pytest.mark.parametrize("loss_fn", LOSSES)
def test_bad_scores_raise(loss_fn):
    with pytest.raises(ValueError, match=r"x must be 2-D \(N, C\) of class scores, got shape "
                                         r"\(4,\)"):
        loss_fn(np.zeros(4), np.array([0]))
    with pytest.raises(ValueError, match=r"at least one example .* got shape \(0, 4\)"):
        loss_fn(np.zeros((0, 4)), np.array([], dtype=int))
