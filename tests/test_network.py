"""Layer objects, blocks and the Sequential model: shapes, fit modes, gradients, interface."""

import numpy as np
import pytest
from convnets import (
    FC,
    LRN,
    Affine,
    AvgPool,
    Conv,
    Flatten,
    GlobalAvgPool,
    Inception,
    L2Pool,
    MaxPool,
    ReLU,
    Residual,
    Sequential,
    SpatialBatchNorm,
    assert_close,
    basic_block,
    bottleneck_block,
    check_layer_gradients,
    conv_forward_naive,
    eval_numerical_gradient,
    eval_numerical_gradient_array,
    inception_module,
    max_pool_forward_naive,
)
from convnets.nn.chain import chain_backward, chain_forward

# The assignments whose functions these tests cover (pyproject.toml lists the markers).
pytestmark = [pytest.mark.architectures, pytest.mark.fcconv_case_studies]

TOL = 1e-7


def assert_gradient(numeric, analytic, what=""):
    """Numerical vs analytic gradient: relative error < 1e-7 per entry (CS231n's metric).

    Entries a thousand times smaller than the largest are limited by roundoff, not
    by the analytic formula: through a deep network or train-mode batch norm the
    centered difference has an absolute error near 1e-9, i.e. a relative error up to
    ~1e-6 on an entry of 1e-4. Those entries must agree to 1e-5 relative and 1e-8 of
    the largest entry in absolute terms; a wrong formula misses both by far.
    """
    numeric, analytic = np.asarray(numeric), np.asarray(analytic)
    scale = np.max(np.abs(analytic))
    err = np.abs(numeric - analytic) / np.maximum(1e-8, np.abs(numeric) + np.abs(analytic))
    tiny = np.abs(analytic) < 1e-3 * scale
    assert np.all(err[~tiny] < TOL), (what, err[~tiny].max())
    assert np.all(err[tiny] < 1e-5), (what, err[tiny].max())
    assert np.max(np.abs(numeric - analytic)) <= 1e-8 * scale + 1e-12, what


def layer_gradient_errors(layer, in_shape, N=2, train=True, seed=0, x=None):
    """Check a layer object's backward (input and every parameter) numerically.

    The layer is put in a one-layer Sequential (which names it and creates its
    parameters), then its forward/backward are wrapped for check_layer_gradients.
    """
    rng = np.random.default_rng(seed)
    net = Sequential([layer], in_shape, dtype=np.float64, seed=seed)
    names = list(net.params)
    params = {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in net.params.items()}
    buffers = net.buffers

    def forward(x, *values):
        return layer.forward(x, dict(zip(names, values, strict=True)), dict(buffers), train)

    def backward(dout, cache):
        grads = {}
        dx = layer.backward(dout, cache, grads)
        assert sorted(grads) == sorted(names)
        return (dx, *(grads[k] for k in names))

    if x is None:
        x = rng.standard_normal((N, *in_shape))
    return check_layer_gradients(forward, backward, {"x": x, **params}, seed=seed)


# --------------------------------------------------------------------------------------
# Gradient checks of every layer object
# --------------------------------------------------------------------------------------

LAYER_CASES = {
    "conv": (lambda: Conv(3, 3, pad=1), (2, 5, 5)),
    "conv stride 2": (lambda: Conv(3, 3, stride=2, pad=1), (2, 7, 7)),
    "conv dilated": (lambda: Conv(2, 3, pad=2, dilation=2), (2, 6, 6)),
    "conv no bias": (lambda: Conv(3, 1, bias=False), (2, 4, 4)),
    "conv rectangular": (lambda: Conv(2, (3, 2)), (2, 5, 4)),
    "conv floor": (lambda: Conv(2, 3, stride=2, pad=1, fit="floor"), (2, 8, 8)),
    "conv ceil": (lambda: Conv(2, 3, stride=2, fit="ceil"), (2, 8, 8)),
    "relu": (ReLU, (2, 4, 4)),
    "max pool": (lambda: MaxPool(2), (2, 4, 4)),
    "max pool overlapping": (lambda: MaxPool(3, 2), (2, 7, 7)),
    "max pool pad floor": (lambda: MaxPool(3, 2, pad=1, fit="floor"), (2, 8, 8)),
    "max pool ceil": (lambda: MaxPool(3, 2, fit="ceil"), (2, 8, 8)),
    "avg pool": (lambda: AvgPool(2), (2, 4, 4)),
    "l2 pool": (lambda: L2Pool(2), (2, 4, 4)),
    "global avg pool": (GlobalAvgPool, (3, 3, 3)),
    "affine": (lambda: Affine(4), (2, 3, 3)),
    "flatten": (Flatten, (2, 3, 3)),
    "lrn": (lambda: LRN(3), (5, 3, 3)),
    "batch norm": (SpatialBatchNorm, (3, 3, 3)),
}


@pytest.mark.parametrize("case", sorted(LAYER_CASES))
def test_layer_object_gradients(case):
    make, in_shape = LAYER_CASES[case]
    errors = layer_gradient_errors(make(), in_shape)
    assert errors["worst"] < TOL, (case, errors)


def test_batch_norm_test_mode_gradients():
    errors = layer_gradient_errors(SpatialBatchNorm(), (3, 3, 3), train=False)
    assert errors["worst"] < TOL, errors


def test_batch_norm_after_fc_gradients():
    """On (N, D) input (after an FC layer) batch norm normalizes each feature."""
    layer = SpatialBatchNorm()
    net = Sequential([Affine(4), layer], (2, 2, 2), dtype=np.float64)
    x = np.random.default_rng(1).standard_normal((5, 4))
    names = [k for k in net.params if k.startswith("bn")]

    def forward(x, *values):
        return layer.forward(x, dict(zip(names, values, strict=True)), dict(net.buffers), True)

    def backward(dout, cache):
        grads = {}
        dx = layer.backward(dout, cache, grads)
        return (dx, *(grads[k] for k in names))

    params = {k: net.params[k] for k in names}
    assert check_layer_gradients(forward, backward, {"x": x, **params})["worst"] < TOL


BLOCK_CASES = {
    "inception": (lambda: inception_module(2, 2, 3, 1, 2, 2), (3, 4, 4)),
    "inception bn": (lambda: inception_module(2, 1, 2, 1, 2, 1, batch_norm=True, bias=False,
                                              c5_size=3), (2, 4, 4)),
    "basic identity": (lambda: basic_block(3, 3), (3, 4, 4)),
    "basic projection": (lambda: basic_block(2, 3, stride=2), (2, 6, 6)),
    "bottleneck projection": (lambda: bottleneck_block(3, 2, stride=2), (3, 6, 6)),
    # (with 1 channel the 1x1 conv before BN would be scale-invariant: zero gradient)
    "bottleneck identity": (lambda: bottleneck_block(8, 2), (8, 3, 3)),
}


@pytest.mark.parametrize("case", sorted(BLOCK_CASES))
def test_block_gradients(case):
    """Blocks as single layers, batch norm in train mode (batch statistics)."""
    make, in_shape = BLOCK_CASES[case]
    layer = make()
    net = Sequential([layer], in_shape, dtype=np.float64)
    rng = np.random.default_rng(1)
    params = {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in net.params.items()}
    x = rng.standard_normal((3, *in_shape))

    def run(x, params):
        return layer.forward(x, params, dict(net.buffers), True)

    out, cache = run(x, params)
    dout = rng.standard_normal(out.shape)
    grads = {}
    dx = layer.backward(dout, cache, grads)
    assert sorted(grads) == sorted(params)
    assert_gradient(eval_numerical_gradient_array(lambda v: run(v, params)[0], x, dout), dx,
                    "x")
    for key, value in params.items():
        numeric = eval_numerical_gradient_array(lambda _: run(x, params)[0], value, dout)
        assert_gradient(numeric, grads[key], key)


# --------------------------------------------------------------------------------------
# Gradient checks of small whole networks (model.loss)
# --------------------------------------------------------------------------------------

def check_loss_gradients(model, N=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, *model.input_shape))
    y = rng.integers(0, model.num_classes, size=N)
    for value in model.params.values():  # non-trivial gamma, beta and biases
        value += 0.1 * rng.standard_normal(value.shape)
    _, grads = model.loss(x, y)
    assert sorted(grads) == sorted(model.params)
    for key, value in model.params.items():
        numeric = eval_numerical_gradient(lambda _: model.loss(x, y)[0], value)
        assert_gradient(numeric, grads[key], key)


NETWORK_CASES = {
    "conv-relu-pool-fc": lambda: Sequential(
        [Conv(3, 3, pad=1), ReLU(), MaxPool(2), Affine(5), ReLU(), Affine(3)], (2, 4, 4),
        reg=0.3),
    "inception net": lambda: Sequential(
        [Conv(2, 3, pad=1), ReLU(), inception_module(2, 1, 2, 1, 2, 1), GlobalAvgPool(),
         Affine(3)], (2, 3, 3), reg=0.1),
    "basic residual net with bn": lambda: Sequential(
        [Conv(2, 3, pad=1, bias=False), SpatialBatchNorm(), ReLU(), basic_block(2, 2),
         basic_block(2, 3, stride=2), GlobalAvgPool(), Affine(3)], (2, 4, 4), reg=0.1),
    "bottleneck residual net with bn": lambda: Sequential(
        [Conv(4, 3, stride=2, pad=1, bias=False, fit="floor"), SpatialBatchNorm(), ReLU(),
         bottleneck_block(4, 2, stride=2), GlobalAvgPool(), Affine(3)], (2, 6, 6)),
}


@pytest.mark.parametrize("case", sorted(NETWORK_CASES))
def test_network_loss_gradients(case):
    model = NETWORK_CASES[case]()
    model.dtype = np.dtype(np.float64)
    check_loss_gradients(model)


def test_network_gradient_with_respect_to_the_input():
    model = NETWORK_CASES["basic residual net with bn"]()
    model.dtype = np.dtype(np.float64)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 2, 4, 4))
    y = np.array([0, 1, 2])
    layers = model.layers
    out, caches = chain_forward(layers, x, model.params, dict(model.buffers), True)
    dout = rng.standard_normal(out.shape)
    dx = chain_backward(layers, dout, caches, {})

    def f(v):
        return np.sum(chain_forward(layers, v, model.params, dict(model.buffers), True)[0] * dout)

    assert_gradient(eval_numerical_gradient(f, x), dx, "x")
    assert model.loss(x, y)[0] > 0


@pytest.mark.parametrize("case", ["basic residual net with bn",
                                  "bottleneck residual net with bn"])
def test_network_backward_skips_only_the_input_gradient(case):
    # model.loss stops at the first conv's weights (input_grad=False): the same
    # parameter gradients as the full backward pass, and no gradient for the images.
    # The bottleneck net's first conv crops its input (fit='floor').
    model = NETWORK_CASES[case]()
    model.dtype = np.dtype(np.float64)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2,) + model.input_shape)
    out, caches = chain_forward(model.layers, x, model.params, dict(model.buffers), True)
    dout = rng.standard_normal(out.shape)
    full, skipped = {}, {}
    dx = chain_backward(model.layers, dout, caches, full)
    assert dx.shape == x.shape
    assert chain_backward(model.layers, dout, caches, skipped, input_grad=False) is None
    assert full.keys() == skipped.keys() == model.params.keys()
    for key in full:
        np.testing.assert_array_equal(skipped[key], full[key], err_msg=key)


# --------------------------------------------------------------------------------------
# Sizing: strict by default, floor (crop) and ceil (pad) when asked
# --------------------------------------------------------------------------------------

def test_strict_sizing_raises_naming_layer_and_formula():
    net = Sequential([Conv(4, 3, stride=2)], (3, 10, 10))
    with pytest.raises(ValueError, match=r"conv1.*CONV3-4.*\(10 - 3 \+ 0\)/2 \+ 1 = 4\.5"):
        net.output_shape()
    with pytest.raises(ValueError, match="4.5 is not an integer"):
        net.forward(np.zeros((1, 3, 10, 10)))
    with pytest.raises(ValueError, match=r"pool1.*POOL2.*\(7 - 2\)/2 \+ 1 = 3\.5"):
        Sequential([MaxPool(2)], (1, 7, 7)).output_shape()


@pytest.mark.parametrize(("layer", "size", "expected"), [
    (lambda: Conv(1, 7, stride=2, pad=3, fit="floor"), 224, 112),   # ResNet/GoogLeNet conv1
    (lambda: MaxPool(3, 2, pad=1, fit="floor"), 112, 56),            # ResNet's max pool
    (lambda: MaxPool(3, 2, fit="ceil"), 112, 56),                    # GoogLeNet's pools
    (lambda: MaxPool(3, 2, fit="floor"), 112, 55),
    (lambda: MaxPool(2, 2, fit="ceil"), 7, 4),
    (lambda: MaxPool(3, 2, fit="ceil"), 13, 6),                      # exact: no extra window
    (lambda: Conv(1, 3, stride=2, pad=1, fit="floor"), 56, 28),
    (lambda: Conv(1, 1, stride=2, fit="floor"), 56, 28),
])
def test_fit_modes_give_the_frameworks_sizes(layer, size, expected):
    assert Sequential([layer()], (1, size, size)).output_shape()[1:] == (expected, expected)


def test_floor_conv_keeps_the_windows_that_fit():
    """Crop to make it fit: a stride-2 conv that rounds down is the stride-1 conv
    (same padding) sampled at every other position, as in PyTorch and Caffe."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 2, 24, 24))
    floor = Sequential([Conv(3, 7, stride=2, pad=3, fit="floor")], (2, 24, 24),
                       dtype=np.float64)
    w, b = floor.params["conv1.w"], floor.params["conv1.b"]
    dense, _ = conv_forward_naive(x, w, b, {"stride": 1, "pad": 3})
    out = floor.forward(x)
    assert out.shape == (1, 3, 12, 12)  # (24 - 7 + 6)/2 + 1 = 12.5 -> 12
    assert_close(out, dense[:, :, ::2, ::2], rtol=1e-12, atol=1e-12)


def test_ceil_max_pool_equals_windows_clipped_to_the_input():
    """Pad the rest to make it fit: the last window covers what is left of the input."""
    rng = np.random.default_rng(1)
    x = -np.abs(rng.standard_normal((2, 3, 8, 8)))  # all negative: zero padding would win
    out = Sequential([MaxPool(3, 2, fit="ceil")], (3, 8, 8), dtype=np.float64).forward(x)
    expected = np.empty((2, 3, 4, 4))
    for i in range(4):
        for j in range(4):
            expected[:, :, i, j] = x[:, :, 2 * i:2 * i + 3, 2 * j:2 * j + 3].max(axis=(2, 3))
    assert_close(out, expected, rtol=0)
    assert np.all(out < 0)


def test_padded_max_pool_never_picks_the_padding():
    rng = np.random.default_rng(2)
    x = -np.abs(rng.standard_normal((1, 2, 6, 6)))
    out = Sequential([MaxPool(3, 2, pad=1, fit="floor")], (2, 6, 6),
                     dtype=np.float64).forward(x)
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    expected, _ = max_pool_forward_naive(padded[:, :, :7, :7],
                                         {"pool_height": 3, "pool_width": 3, "stride": 2})
    assert_close(out, expected, rtol=0)
    assert np.all(np.isfinite(out)) and np.all(out < 0)


def test_bad_hyperparameters_raise():
    with pytest.raises(ValueError, match="fit must be one of"):
        Conv(2, 3, fit="round")
    with pytest.raises(ValueError, match="at most half"):
        MaxPool(2, pad=2)
    with pytest.raises(ValueError, match="filters must be >= 1"):
        Conv(0, 3)
    with pytest.raises(TypeError, match="units must be an integer"):
        Affine(2.5)


# --------------------------------------------------------------------------------------
# Blocks
# --------------------------------------------------------------------------------------

def test_inception_concatenates_the_branches():
    block = inception_module(64, 96, 128, 16, 32, 32)  # GoogLeNet's 3a
    net = Sequential([block], (192, 28, 28))
    assert net.output_shape() == (256, 28, 28)
    small = Sequential([inception_module(1, 1, 2, 1, 3, 4)], (2, 5, 5), dtype=np.float64)
    x = np.random.default_rng(0).standard_normal((2, 2, 5, 5))
    out = small.forward(x)
    assert out.shape == (2, 10, 5, 5)
    # The first channel is branch 1's 1x1 conv followed by ReLU.
    w, b = small.params["inception1.b1.conv1.w"], small.params["inception1.b1.conv1.b"]
    b1 = np.maximum(np.einsum("fc,nchw->nfhw", w[:, :, 0, 0], x) + b[:, None, None], 0)
    assert_close(out[:, :1], b1, rtol=1e-12)


def test_inception_with_mismatched_branches_raises():
    block = Inception([[Conv(2, 1)], [Conv(2, 3)]])
    with pytest.raises(ValueError, match="branches give different spatial sizes"):
        Sequential([block], (2, 5, 5)).output_shape()


def test_residual_adds_the_skip_connection():
    block = basic_block(2, 2)
    net = Sequential([block], (2, 4, 4), dtype=np.float64)
    x = np.random.default_rng(0).standard_normal((3, 2, 4, 4))
    main = Sequential([ReLU()], (2, 4, 4), dtype=np.float64)  # the final ReLU, by hand
    out_main, _ = chain_forward(
        block.branches["main"], x, net.params, dict(net.buffers), False)
    assert_close(net.forward(x), main.forward(out_main + x), rtol=1e-12)


def test_residual_identity_needs_matching_shapes():
    block = Residual([Conv(4, 3, pad=1)])
    with pytest.raises(ValueError, match="projection shortcut"):
        Sequential([block], (2, 5, 5)).output_shape()
    assert basic_block(2, 4).branches["shortcut"]  # channels change: a projection
    assert not basic_block(4, 4).branches["shortcut"]
    assert bottleneck_block(16, 4).branches["shortcut"] == []


# --------------------------------------------------------------------------------------
# The model interface
# --------------------------------------------------------------------------------------

def small_net(**options):
    return Sequential([Conv(4, 3, pad=1), ReLU(), MaxPool(2), Conv(4, 3, pad=1, bias=False),
                       SpatialBatchNorm(), ReLU(), Flatten(), FC(6), ReLU(), FC(3)],
                      (3, 6, 6), **options)


def test_names_params_buffers_and_shapes():
    net = small_net()
    assert [layer.path for layer in net] == ["conv1", "relu1", "pool1", "conv2", "bn1", "relu2",
                                              "flatten1", "fc1", "relu3", "fc2"]
    assert net.param_shapes() == {
        "conv1.w": (4, 3, 3, 3), "conv1.b": (4,), "conv2.w": (4, 4, 3, 3),
        "bn1.gamma": (4,), "bn1.beta": (4,), "fc1.w": (36, 6), "fc1.b": (6,),
        "fc2.w": (6, 3), "fc2.b": (3,)}
    assert not net.allocated
    assert {k: v.shape for k, v in net.params.items()} == net.param_shapes()
    assert net.allocated
    assert sorted(net.buffers) == ["bn1.running_mean", "bn1.running_var"]
    assert net.num_params() == sum(v.size for v in net.params.values())
    assert net.num_classes == 3


def test_seed_makes_initialization_reproducible():
    a, b, c = small_net(seed=5), small_net(seed=5), small_net(seed=6)
    for key in a.params:
        np.testing.assert_array_equal(a.params[key], b.params[key])
    assert not np.array_equal(a.params["conv1.w"], c.params["conv1.w"])


def test_forward_loss_and_activations():
    net = small_net(dtype=np.float32)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 3, 6, 6))
    y = rng.integers(0, 3, size=5)
    scores = net.forward(x)
    assert scores.shape == (5, 3) and scores.dtype == np.float32
    np.testing.assert_array_equal(net.loss(x), scores)
    acts = net.activations(x)  # test mode, before training moves the BN statistics
    assert [name for name, _ in acts] == [layer.path for layer in net]
    assert [a.shape for _, a in acts][:3] == [(5, 4, 6, 6), (5, 4, 6, 6), (5, 4, 3, 3)]
    assert_close(acts[-1][1], scores, rtol=1e-6)
    loss, grads = net.loss(x, y)
    assert np.isfinite(loss) and sorted(grads) == sorted(net.params)
    assert all(grads[k].shape == v.shape and grads[k].dtype == np.float32
               for k, v in net.params.items())


def test_regularization_adds_half_reg_sum_of_squared_weights():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((4, 3, 6, 6)), np.array([0, 1, 2, 0])
    plain, regularized = small_net(dtype=np.float64), small_net(dtype=np.float64, reg=0.7)
    loss0, grads0 = plain.loss(x, y)
    loss1, grads1 = regularized.loss(x, y)
    weights = ["conv1.w", "conv2.w", "fc1.w", "fc2.w"]
    penalty = 0.5 * 0.7 * sum(np.sum(plain.params[k] ** 2) for k in weights)
    assert loss1 == pytest.approx(loss0 + penalty, rel=1e-12)
    assert_close(grads1["fc1.w"], grads0["fc1.w"] + 0.7 * plain.params["fc1.w"], rtol=1e-12)
    assert_close(grads1["bn1.gamma"], grads0["bn1.gamma"], rtol=1e-12)  # not regularized


def test_batch_norm_running_statistics_update_in_train_mode_only():
    net = small_net(dtype=np.float64)
    x = np.random.default_rng(0).standard_normal((4, 3, 6, 6)) + 2
    mean0 = net.buffers["bn1.running_mean"].copy()
    net.forward(x)
    np.testing.assert_array_equal(net.buffers["bn1.running_mean"], mean0)
    net.loss(x, np.array([0, 1, 2, 0]))
    assert not np.allclose(net.buffers["bn1.running_mean"], mean0)


def test_input_shape_from_first_batch_and_errors():
    net = Sequential([Conv(2, 3, pad=1), ReLU(), GlobalAvgPool(), Affine(2)])
    with pytest.raises(ValueError, match="no input_shape yet"):
        net.params  # noqa: B018
    assert net.forward(np.zeros((1, 3, 5, 5))).shape == (1, 2)
    assert net.input_shape == (3, 5, 5)
    with pytest.raises(ValueError, match="x has 2 channels"):
        net.forward(np.zeros((1, 2, 5, 5)))
    fc = Sequential([Affine(2)], (1, 4, 4))
    with pytest.raises(ValueError, match="fc_to_conv"):
        fc.forward(np.zeros((1, 1, 5, 5)))
    with pytest.raises(ValueError, match=r"must be 4-D"):
        fc.forward(np.zeros((4, 4)))


def test_params_assignment_is_checked():
    net, other = small_net(), small_net(seed=3)
    net.params = other.params
    np.testing.assert_array_equal(net.params["conv1.w"], other.params["conv1.w"])
    with pytest.raises(ValueError, match="missing"):
        net.params = {"conv1.w": other.params["conv1.w"]}
    bad = dict(other.params, **{"fc2.b": np.zeros(4)})
    with pytest.raises(ValueError, match=r"fc2\.b.*shape \(3,\)"):
        net.params = bad


def test_layer_objects_are_not_shared():
    conv = Conv(2, 3, pad=1)
    with pytest.raises(ValueError, match="appears twice"):
        Sequential([conv, ReLU(), conv])
    with pytest.raises(ValueError, match="unique"):
        Sequential([Conv(2, 1, name="a"), ReLU(name="a")])
    with pytest.raises(TypeError, match="Layer objects"):
        Sequential([np.zeros(3)])


def test_kinds_are_the_notes_names():
    assert [Conv(64, 3).kind, MaxPool(2).kind, Affine(10).kind, ReLU().kind] == [
        "CONV3-64", "POOL2", "FC", "RELU"]
    assert [LRN().kind, SpatialBatchNorm().kind, AvgPool(7).kind, GlobalAvgPool().kind] == [
        "LRN", "BN", "AVGPOOL7", "AVGPOOL"]
    assert [basic_block(2, 2).kind, inception_module(1, 1, 1, 1, 1, 1).kind] == [
        "RESIDUAL", "INCEPTION"]
    assert Conv(8, 3, dilation=2).kind == "CONV3-8/d2"
