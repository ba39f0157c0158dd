"""ThreeLayerConvNet: shapes, initial loss, numerical gradient checks, activations,
overfitting a small real sample with the Solver."""

import inspect

import numpy as np
import pytest
from convnets import (
    Solver,
    ThreeLayerConvNet,
    affine_backward,
    affine_forward,
    conv_backward_fast,
    conv_forward_fast,
    conv_forward_naive,
    eval_numerical_gradient,
    max_pool_backward_fast,
    max_pool_forward_fast,
    max_pool_forward_naive,
    rel_error,
    relu_backward,
    relu_forward,
    softmax_loss,
)
from convnets.data import load_digits

# The assignments whose functions these tests cover (pyproject.toml lists the markers).
pytestmark = [pytest.mark.architectures]


def small_net(reg=0.0, dtype=np.float64, seed=0, weight_scale=0.3):
    return ThreeLayerConvNet(input_dim=(2, 6, 6), num_filters=3, filter_size=3, hidden_dim=7,
                             num_classes=4, weight_scale=weight_scale, reg=reg, dtype=dtype,
                             seed=seed)


def test_signature_is_cs231n():
    params = inspect.signature(ThreeLayerConvNet).parameters
    defaults = {name: p.default for name, p in params.items()}
    assert list(defaults)[:8] == ["input_dim", "num_filters", "filter_size", "hidden_dim",
                                  "num_classes", "weight_scale", "reg", "dtype"]
    assert defaults["input_dim"] == (3, 32, 32)
    assert (defaults["num_filters"], defaults["filter_size"], defaults["hidden_dim"],
            defaults["num_classes"]) == (32, 7, 100, 10)
    assert (defaults["weight_scale"], defaults["reg"], defaults["dtype"]) == (1e-3, 0.0,
                                                                             np.float32)


def test_parameter_shapes_and_dtype():
    model = ThreeLayerConvNet(seed=0)
    shapes = {k: v.shape for k, v in model.params.items()}
    assert shapes == {"W1": (32, 3, 7, 7), "b1": (32,), "W2": (32 * 16 * 16, 100),
                      "b2": (100,), "W3": (100, 10), "b3": (10,)}
    assert all(v.dtype == np.float32 for v in model.params.values())
    assert np.all(model.params["b1"] == 0)
    assert model.params["W1"].std() == pytest.approx(1e-3, rel=0.1)


def test_initial_loss_is_log_num_classes():
    rng = np.random.default_rng(0)
    model = ThreeLayerConvNet(seed=0)
    X = rng.standard_normal((8, 3, 32, 32))
    y = rng.integers(0, 10, 8)
    loss, grads = model.loss(X, y)
    assert abs(loss - np.log(10)) < 1e-3
    assert set(grads) == set(model.params)
    assert all(grads[k].shape == model.params[k].shape for k in grads)
    assert all(grads[k].dtype == np.float32 for k in grads)
    # Regularization adds exactly 0.5 * reg * sum(W**2) over the three weight arrays.
    model.reg = 0.5
    loss_reg, _ = model.loss(X, y)
    w2 = sum(np.sum(model.params[k].astype(np.float64) ** 2) for k in ("W1", "W2", "W3"))
    assert loss_reg - loss == pytest.approx(0.25 * w2, rel=1e-4)


@pytest.mark.parametrize("reg", [0.0, 0.7])
def test_loss_and_every_gradient_match_numerical_gradients(reg):
    rng = np.random.default_rng(1)
    model = small_net(reg=reg)
    X = rng.standard_normal((3, 2, 6, 6))
    y = rng.integers(0, 4, 3)
    loss, grads = model.loss(X, y)
    for name in sorted(model.params):
        def f(_, name=name):
            return model.loss(X, y)[0]
        numeric = eval_numerical_gradient(f, model.params[name], h=1e-6)
        err = rel_error(numeric, grads[name])
        assert err < 1e-6, (name, reg, err)


def test_scores_match_a_forward_pass_with_the_naive_layers():
    rng = np.random.default_rng(2)
    model = small_net()
    X = rng.standard_normal((4, 2, 6, 6))
    p = model.params
    conv, _ = conv_forward_naive(X, p["W1"], p["b1"], {"stride": 1, "pad": 1})
    pool, _ = max_pool_forward_naive(np.maximum(conv, 0),
                                     {"pool_height": 2, "pool_width": 2, "stride": 2})
    hidden = np.maximum(pool.reshape(4, -1) @ p["W2"] + p["b2"], 0)
    expected = hidden @ p["W3"] + p["b3"]
    np.testing.assert_allclose(model.loss(X), expected, rtol=1e-10, atol=1e-12)


def test_gradients_equal_those_of_conv_relu_pool_in_that_order():
    # The training path pools before the first ReLU; the result must be exactly the
    # textbook order's, gradients included (also for windows whose maximum is <= 0).
    rng = np.random.default_rng(4)
    model = small_net(reg=0.0)
    X = rng.standard_normal((4, 2, 6, 6))
    X[0, :, :2, :2] = 0.0
    model.params["b1"][:] = -0.5  # many windows with a negative maximum
    y = rng.integers(0, 4, 4)
    p = model.params
    pp = {"pool_height": 2, "pool_width": 2, "stride": 2}
    conv, c1 = conv_forward_fast(X, p["W1"], p["b1"], {"stride": 1, "pad": 1})
    relu, c2 = relu_forward(conv)
    pool, c3 = max_pool_forward_fast(relu, pp)
    fc2, c4 = affine_forward(pool, p["W2"], p["b2"])
    relu2, c5 = relu_forward(fc2)
    scores, c6 = affine_forward(relu2, p["W3"], p["b3"])
    loss, dscores = softmax_loss(scores, y)
    drelu2, dW3, db3 = affine_backward(dscores, c6)
    dpool, dW2, db2 = affine_backward(relu_backward(drelu2, c5), c4)
    _, dW1, db1 = conv_backward_fast(relu_backward(max_pool_backward_fast(dpool, c3), c2), c1)
    assert np.any(pool <= 0) and np.any(pool > 0)
    model_loss, grads = model.loss(X, y)
    assert model_loss == loss
    for name, expected in dict(W1=dW1, b1=db1, W2=dW2, b2=db2, W3=dW3, b3=db3).items():
        np.testing.assert_array_equal(grads[name], expected, err_msg=name)


def test_activations_every_layer_in_order():
    rng = np.random.default_rng(3)
    model = small_net()
    X = rng.standard_normal((5, 2, 6, 6))
    acts = model.activations(X)
    assert [name for name, _ in acts] == ["conv1", "relu1", "pool1", "fc2", "relu2", "fc3"]
    assert [a.shape for _, a in acts] == [(5, 3, 6, 6), (5, 3, 6, 6), (5, 3, 3, 3), (5, 7),
                                          (5, 7), (5, 4)]
    np.testing.assert_array_equal(acts[-1][1], model.loss(X))
    np.testing.assert_array_equal(acts[1][1], np.maximum(acts[0][1], 0))
    single = model.activations(X[0])  # one image (C, H, W) is a batch of one
    assert single[0][1].shape == (1, 3, 6, 6)
    np.testing.assert_allclose(single[-1][1][0], acts[-1][1][0])


def test_even_filter_size_and_seed():
    # pad (4-1)//2 = 1 shrinks 8x8 to 7x7: the 2x2 pool cannot tile it.
    with pytest.raises(ValueError, match=r"filter_size 4 \(pad 1\).*7x7.*2x2 pool"):
        ThreeLayerConvNet(input_dim=(1, 8, 8), filter_size=4)
    model = ThreeLayerConvNet(input_dim=(1, 9, 9), filter_size=4, num_filters=2, seed=0)
    assert model.params["W2"].shape == (2 * 4 * 4, 100)
    a, b = ThreeLayerConvNet(seed=5), ThreeLayerConvNet(seed=5)
    np.testing.assert_array_equal(a.params["W1"], b.params["W1"])
    assert not np.array_equal(a.params["W1"], ThreeLayerConvNet(seed=6).params["W1"])


def test_bad_inputs_are_clear_errors():
    model = small_net()
    with pytest.raises(ValueError, match=r"X must be \(N, C, H, W\) = \(N, 2, 6, 6\)"):
        model.loss(np.zeros((1, 3, 6, 6)))
    with pytest.raises(ValueError, match="X must be 4-D"):
        model.loss(np.zeros((2, 6, 6)))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, C\) = \[0, 4\)"):
        model.loss(np.zeros((1, 2, 6, 6)), np.array([4]))
    with pytest.raises(ValueError, match="input_dim must be"):
        ThreeLayerConvNet(input_dim=(32, 32))
    with pytest.raises(TypeError, match="dtype"):
        ThreeLayerConvNet(dtype=np.int64)


def test_overfits_50_real_digits_with_the_solver():
    digits = load_digits()
    small = {"X_train": digits["X_train"][:50], "y_train": digits["y_train"][:50],
             "X_val": digits["X_val"][:50], "y_val": digits["y_val"][:50]}
    model = ThreeLayerConvNet(input_dim=(1, 8, 8), num_filters=8, filter_size=3, hidden_dim=50,
                              weight_scale=1e-1, seed=0)
    solver = Solver(model, small, update_rule="adam", optim_config={"learning_rate": 5e-3},
                    batch_size=25, num_epochs=25, verbose=False, progress=False, seed=0)
    solver.train()
    assert solver.train_acc_history[-1] == 1.0
    assert solver.loss_history[-1] < 0.1 * solver.loss_history[0]


def test_training_benchmark_rows_are_well_formed():
    # Speed is never asserted; this only checks that the benchmark's NumPy side runs and
    # reports (the PyTorch comparison is optional and left to the benchmark itself).
    from convnets.bench_training import numpy_train_step, section_training

    step, model = numpy_train_step(batch_size=2)
    before = model.params["W1"].copy()
    assert np.isfinite(step())
    assert not np.array_equal(before, model.params["W1"])  # the step updates the params
    # The sharded step (Solver workers=2) computes the same step up to rounding.
    whole, _ = numpy_train_step(batch_size=4)
    sharded, _ = numpy_train_step(batch_size=4, workers=2)
    assert sharded() == pytest.approx(whole(), rel=1e-5)
    assert sharded() == pytest.approx(whole(), rel=1e-4)     # after one Adam update each
    rows = section_training(quick=True, batch_size=2, with_torch=False)
    assert rows[0].figure == "NumPy (convnets) step" and "images/s" in rows[0].value
    # On this 2-core machine the step is also timed in 2 shards, a thread each.
    assert rows[1].figure == ("NumPy step in 2 shards, a thread each (Solver workers=2)")
    assert "images/s" in rows[1].value
    assert rows[2].figure == "PyTorch not requested: no comparison"
