"""Local response normalization and batch normalization (plain and spatial)."""

import numpy as np
import pytest
from convnets.gradcheck import assert_close, check_layer_gradients
from convnets.layers.normalization import (
    batchnorm_backward,
    batchnorm_forward,
    lrn_backward,
    lrn_forward,
    spatial_batchnorm_backward,
    spatial_batchnorm_forward,
)

# The assignments whose functions these tests cover (pyproject.toml lists the markers).
pytestmark = [pytest.mark.pooling_layers, pytest.mark.fcconv_case_studies]

# ====================================================================== LRN


def lrn_loop_reference(x, n, alpha, beta, k):
    """The AlexNet formula, one number at a time: channel c is divided by
    (k + alpha * sum of a^2 over channels max(0, c - n//2) .. min(C-1, c + (n-1)//2))^beta."""
    N, C, H, W = x.shape
    out = np.zeros_like(x, dtype=np.float64)
    for i in range(N):
        for c in range(C):
            lo, hi = max(0, c - n // 2), min(C - 1, c + (n - 1) // 2)
            for h in range(H):
                for w in range(W):
                    total = 0.0
                    for cc in range(lo, hi + 1):
                        total += float(x[i, cc, h, w]) ** 2
                    out[i, c, h, w] = x[i, c, h, w] / (k + alpha * total) ** beta
    return out


def lrn_pytorch_formula(x, size, alpha, beta, k):
    """PyTorch's documented algorithm for local_response_norm, transcribed: zero-pad the
    squares with size//2 channels before and (size-1)//2 after, average over `size`
    channels (always dividing by size), then x / (k + alpha * average)^beta."""
    N, C, H, W = x.shape
    sq = np.concatenate([np.zeros((N, size // 2, H, W)), x * x,
                         np.zeros((N, (size - 1) // 2, H, W))], axis=1)
    average = np.stack([sq[:, c:c + size].mean(axis=1) for c in range(C)], axis=1)
    return x / (k + alpha * average) ** beta


LRN_CASES = [
    pytest.param(5, 1e-4, 0.75, 2.0, 8, id="alexnet-n5"),
    pytest.param(5, 0.5, 0.75, 2.0, 8, id="n5-strong"),
    pytest.param(3, 0.3, 0.5, 1.0, 4, id="n3"),
    pytest.param(4, 0.3, 0.75, 1.5, 6, id="n4-even"),
    pytest.param(2, 0.7, 1.0, 1.0, 3, id="n2-even"),
    pytest.param(1, 0.9, 0.75, 2.0, 3, id="n1-self-only"),
    pytest.param(7, 0.2, 0.75, 2.0, 3, id="window-wider-than-C"),
]


@pytest.mark.parametrize("n, alpha, beta, k, C", LRN_CASES)
def test_lrn_equals_the_loop_reference(n, alpha, beta, k, C):
    x = np.random.default_rng(0).standard_normal((2, C, 3, 2)) * 2
    param = {"size": n, "alpha": alpha, "beta": beta, "k": k}
    out, _ = lrn_forward(x, param)
    assert_close(out, lrn_loop_reference(x, n, alpha, beta, k), rtol=1e-12,
                 what="LRN vs loop reference", **param)


@pytest.mark.parametrize("n, alpha, beta, k, C", LRN_CASES)
def test_lrn_alpha_is_pytorch_alpha_times_n(n, alpha, beta, k, C):
    """Our alpha is not divided by n; PyTorch's (and Caffe's) is."""
    x = np.random.default_rng(1).standard_normal((2, C, 2, 3)) * 2
    out, _ = lrn_forward(x, {"size": n, "alpha": alpha, "beta": beta, "k": k})
    assert_close(out, lrn_pytorch_formula(x, n, alpha * n, beta, k), rtol=1e-12,
                 what="LRN vs PyTorch's formula with alpha*n", n=n)


def test_lrn_hand_example():
    # One pixel, 3 channels a = [1, 2, 3], n = 3, alpha = 1, beta = 1, k = 1:
    # windows {0,1}, {0,1,2}, {1,2}: sums of squares 5, 14, 13.
    x = np.array([1.0, 2.0, 3.0]).reshape(1, 3, 1, 1)
    out, _ = lrn_forward(x, {"size": 3, "alpha": 1.0, "beta": 1.0, "k": 1.0})
    assert_close(out.ravel(), np.array([1 / 6, 2 / 15, 3 / 14]), rtol=1e-15)


def test_lrn_defaults_are_alexnets():
    x = np.random.default_rng(3).standard_normal((1, 6, 2, 2)) * 30
    out_default, _ = lrn_forward(x, {"size": 5})
    out_explicit, _ = lrn_forward(x, {"size": 5, "alpha": 1e-4, "beta": 0.75, "k": 2})
    assert np.array_equal(out_default, out_explicit)
    assert_close(out_default, lrn_loop_reference(x, 5, 1e-4, 0.75, 2.0), rtol=1e-12)


@pytest.mark.parametrize("n, alpha, beta, k, C", LRN_CASES)
def test_lrn_numerical_gradient(n, alpha, beta, k, C):
    x = np.random.default_rng(4).standard_normal((2, C, 2, 2))
    param = {"size": n, "alpha": alpha, "beta": beta, "k": k}
    errors = check_layer_gradients(lrn_forward, lrn_backward, {"x": x}, param)
    assert errors["worst"] < 1e-7, (errors, param)


def test_lrn_float32_in_float32_out():
    x = np.random.default_rng(5).standard_normal((2, 5, 3, 3)).astype(np.float32)
    out, cache = lrn_forward(x, {"size": 3, "alpha": 0.1})
    assert out.dtype == np.float32
    assert lrn_backward(np.ones(x.shape), cache).dtype == np.float32
    expected = lrn_loop_reference(x.astype(np.float64), 3, 0.1, 0.75, 2.0)
    assert_close(out, expected, rtol=1e-5, what="float32 LRN")


@pytest.mark.parametrize("param, error, message", [
    ({"alpha": 1e-4}, ValueError, r"lrn_param is missing the key 'size'"),
    ({"size": 0}, ValueError, r"lrn_param\['size'\] must be >= 1, got lrn_param\['size'\] = 0"),
    ({"size": 2.5}, TypeError, r"lrn_param\['size'\] must be an integer, got 2\.5"),
    ({"size": 5, "k": 0}, ValueError, r"lrn_param\['k'\] must be > 0 .* got k = 0\.0"),
    ({"size": 5, "k": -1.5}, ValueError, r"got k = -1\.5"),
    ({"size": 5, "alpha": -0.1}, ValueError, r"lrn_param\['alpha'\] must be >= 0, got "
                                             r"alpha = -0\.1"),
    ({"size": 5, "beta": "0.75"}, TypeError, r"lrn_param\['beta'\] must be a real number, "
                                             r"got '0\.75'"),
    ({"size": 5, "beta": float("nan")}, ValueError, r"lrn_param\['beta'\] must be finite"),
    ([5], TypeError, r"lrn_param must be a dict, got list"),
])
def test_lrn_bad_params(param, error, message):
    with pytest.raises(error, match=message):
        lrn_forward(np.ones((1, 3, 2, 2)), param)


def test_lrn_bad_arrays():
    with pytest.raises(ValueError, match=r"x must be 4-D \(N, C, H, W\), got shape \(3, 2, 2\)"):
        lrn_forward(np.ones((3, 2, 2)), {"size": 3})
    _, cache = lrn_forward(np.ones((1, 3, 2, 2)), {"size": 3})
    with pytest.raises(ValueError, match=r"dout has shape \(1, 3, 2\) but the output of local "
                                         r"response normalization had shape \(1, 3, 2, 2\)"):
        lrn_backward(np.ones((1, 3, 2)), cache)


# ====================================================================== batch norm


def _bn_inputs(shape, D, seed=0):
    rng = np.random.default_rng(seed)
    x = 3 * rng.standard_normal(shape) + 5
    return x, rng.standard_normal(D), rng.standard_normal(D)


def test_batchnorm_train_normalises_each_feature():
    x, _, _ = _bn_inputs((200, 4), 4)
    gamma, beta = np.array([1.0, 2.0, 0.5, 3.0]), np.array([0.0, -1.0, 4.0, 0.25])
    out, _ = batchnorm_forward(x, gamma, beta, {"mode": "train"})
    assert_close(out.mean(axis=0), beta, rtol=1e-12, atol=1e-12, what="means after BN")
    # std of gamma * x_hat is gamma * sqrt(var / (var + eps)).
    expected_std = gamma * np.sqrt(x.var(axis=0) / (x.var(axis=0) + 1e-5))
    assert_close(out.std(axis=0), expected_std, rtol=1e-12, what="stds after BN")


def test_batchnorm_running_statistics_follow_the_momentum_rule():
    x, gamma, beta = _bn_inputs((10, 3), 3)
    bn_param = {"mode": "train", "momentum": 0.8}
    batchnorm_forward(x, gamma, beta, bn_param)
    # Created as zeros (mean) and ones (variance), then one update.
    assert_close(bn_param["running_mean"], 0.2 * x.mean(axis=0), rtol=1e-14)
    assert_close(bn_param["running_var"], 0.8 * 1 + 0.2 * x.var(axis=0), rtol=1e-14)
    x2 = x[::-1] * 2 - 1
    batchnorm_forward(x2, gamma, beta, bn_param)
    assert_close(bn_param["running_mean"],
                 0.8 * 0.2 * x.mean(axis=0) + 0.2 * x2.mean(axis=0), rtol=1e-14)


def test_batchnorm_test_mode_uses_running_statistics():
    x, gamma, beta = _bn_inputs((6, 3), 3)
    bn_param = {"mode": "test", "eps": 1e-3, "running_mean": np.array([1.0, 2.0, 3.0]),
                "running_var": np.array([4.0, 0.25, 1.0])}
    out, _ = batchnorm_forward(x, gamma, beta, bn_param)
    expected = gamma * (x - [1.0, 2.0, 3.0]) / np.sqrt(np.array([4.0, 0.25, 1.0]) + 1e-3) + beta
    assert_close(out, expected, rtol=1e-13)
    # Test mode does not touch the running statistics.
    assert bn_param["running_mean"].tolist() == [1.0, 2.0, 3.0]


def test_batchnorm_test_mode_before_training_is_nearly_identity():
    x, _, _ = _bn_inputs((5, 3), 3)
    bn_param = {"mode": "test"}
    out, _ = batchnorm_forward(x, np.ones(3), np.zeros(3), bn_param)
    assert_close(out, x / np.sqrt(1 + 1e-5), rtol=1e-14)
    assert bn_param["running_mean"].tolist() == [0.0, 0.0, 0.0]
    assert bn_param["running_var"].tolist() == [1.0, 1.0, 1.0]


def test_batchnorm_train_then_test_on_the_same_batch_agree_after_many_steps():
    x, gamma, beta = _bn_inputs((50, 4), 4)
    bn_param = {"mode": "train", "momentum": 0.5}
    for _ in range(60):
        out_train, _ = batchnorm_forward(x, gamma, beta, bn_param)
    bn_param["mode"] = "test"
    out_test, _ = batchnorm_forward(x, gamma, beta, bn_param)
    assert_close(out_test, out_train, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("mode", ["train", "test"])
def test_batchnorm_numerical_gradient(mode):
    x, gamma, beta = _bn_inputs((6, 4), 4, seed=1)
    bn_param = {"mode": mode, "running_mean": np.array([0.5, 4.0, 5.0, 6.0]),
                "running_var": np.array([9.0, 2.0, 8.0, 0.5])}
    errors = check_layer_gradients(batchnorm_forward, batchnorm_backward,
                                   {"x": x, "gamma": gamma, "beta": beta}, bn_param)
    assert errors["worst"] < 1e-7, errors


@pytest.mark.parametrize("mode", ["train", "test"])
def test_spatial_batchnorm_numerical_gradient(mode):
    x, gamma, beta = _bn_inputs((2, 3, 3, 2), 3, seed=2)
    bn_param = {"mode": mode, "running_mean": np.array([4.0, 5.0, 6.0]),
                "running_var": np.array([9.0, 2.0, 8.0])}
    errors = check_layer_gradients(spatial_batchnorm_forward, spatial_batchnorm_backward,
                                   {"x": x, "gamma": gamma, "beta": beta}, bn_param)
    assert errors["worst"] < 1e-7, errors


def test_spatial_batchnorm_uses_one_statistic_per_channel():
    x, gamma, beta = _bn_inputs((3, 2, 4, 5), 2, seed=3)
    bn_param = {"mode": "train", "momentum": 0.0}
    out, _ = spatial_batchnorm_forward(x, gamma, beta, bn_param)
    for c in range(2):
        values = x[:, c]  # every example and every pixel of channel c
        mu, var = values.mean(), values.var()
        expected = gamma[c] * (values - mu) / np.sqrt(var + 1e-5) + beta[c]
        assert_close(out[:, c], expected, rtol=1e-12, what="spatial BN", channel=c)
        assert bn_param["running_mean"][c] == pytest.approx(mu, rel=1e-14)
        assert bn_param["running_var"][c] == pytest.approx(var, rel=1e-14)


@pytest.mark.parametrize("spatial", [False, True], ids=["bn", "spatial-bn"])
@pytest.mark.parametrize("mode", ["train", "test"])
def test_batchnorm_float32_in_float32_out(spatial, mode):
    shape = (4, 3, 2, 2) if spatial else (4, 3)
    x, gamma, beta = (a.astype(np.float32) for a in _bn_inputs(shape, 3))
    forward, backward = ((spatial_batchnorm_forward, spatial_batchnorm_backward) if spatial
                         else (batchnorm_forward, batchnorm_backward))
    bn_param = {"mode": mode}
    out, cache = forward(x, gamma, beta, bn_param)
    assert out.dtype == np.float32
    assert bn_param["running_mean"].dtype == np.float32
    assert bn_param["running_var"].dtype == np.float32
    grads = backward(np.ones(shape), cache)
    assert [g.dtype for g in grads] == [np.float32] * 3


@pytest.mark.parametrize("bad_mode", ["eval", "Train", None])
def test_batchnorm_bad_mode_names_the_values(bad_mode):
    with pytest.raises(ValueError, match=rf"bn_param\['mode'\] must be 'train' or 'test', got "
                                         rf"{bad_mode!r}"):
        batchnorm_forward(np.ones((2, 3)), np.ones(3), np.zeros(3), {"mode": bad_mode})


@pytest.mark.parametrize("bn_param, error, message", [
    ({}, ValueError, r"bn_param is missing the key 'mode'"),
    ({"mode": "train", "eps": 0}, ValueError, r"bn_param\['eps'\] must be > 0, got eps = 0"),
    ({"mode": "train", "momentum": 1.5}, ValueError, r"must be in \[0, 1\], got momentum = 1\.5"),
    ({"mode": "train", "running_mean": np.zeros(4)}, ValueError,
     r"bn_param\['running_mean'\] has 4 entries but x has D = 3 features"),
    ({"mode": "test", "running_var": np.ones((3, 1))}, ValueError,
     r"bn_param\['running_var'\] must be 1-D \(D,\), got shape \(3, 1\)"),
    ("train", TypeError, r"bn_param must be a dict, got str"),
])
def test_batchnorm_bad_params(bn_param, error, message):
    with pytest.raises(error, match=message):
        batchnorm_forward(np.ones((2, 3)), np.ones(3), np.zeros(3), bn_param)


def test_batchnorm_bad_arrays():
    with pytest.raises(ValueError, match=r"gamma has 4 entries but x of shape \(2, 3\) has "
                                         r"D = 3 features"):
        batchnorm_forward(np.ones((2, 3)), np.ones(4), np.zeros(3), {"mode": "train"})
    with pytest.raises(ValueError, match=r"beta has 2 entries"):
        batchnorm_forward(np.ones((2, 3)), np.ones(3), np.zeros(2), {"mode": "train"})
    with pytest.raises(ValueError, match=r"x must be 2-D \(N, D\), got shape \(2, 3, 1\)"):
        batchnorm_forward(np.ones((2, 3, 1)), np.ones(3), np.zeros(3), {"mode": "train"})
    with pytest.raises(ValueError, match=r"x must be 4-D \(N, C, H, W\), got shape \(2, 3\)"):
        spatial_batchnorm_forward(np.ones((2, 3)), np.ones(3), np.zeros(3), {"mode": "train"})
    with pytest.raises(ValueError, match=r"gamma has 2 entries but x of shape \(8, 3\) has "
                                         r"D = 3"):
        spatial_batchnorm_forward(np.ones((2, 3, 2, 2)), np.ones(2), np.zeros(3),
                                  {"mode": "train"})
    _, cache = spatial_batchnorm_forward(np.ones((2, 3, 2, 2)), np.ones(3), np.zeros(3),
                                         {"mode": "train"})
    with pytest.raises(ValueError, match=r"dout has shape \(2, 3, 2\) but the output of spatial "
                                         r"batch normalization had shape \(2, 3, 2, 2\)"):
        spatial_batchnorm_backward(np.ones((2, 3, 2)), cache)
