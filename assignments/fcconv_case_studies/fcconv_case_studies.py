# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Assignment 5: FC -> CONV, and case studies
#
# 1. **FC layers as CONV layers**: an FC layer computes dot products of its weights with
#    the whole input volume, exactly what a convolution does when its filter is as large as
#    the volume. Reshape FC weights into filters and check that the outputs agree.
# 2. **Sliding a network over a larger image in one pass**: convert a small network's FC
#    layers, run it once on an image larger than its input, and get the scores of every crop
#    at once (the notes' 384x384 image and its 36 crops of 224x224, here at a smaller scale).
# 3. **A residual block with batch normalization** (ResNet): forward and backward.
# 4. **AlexNet's first layer**: why the input has to be 227x227 and not the paper's 224x224,
#    and how much parameter sharing saves.
#
# Write your code in the answer cells, in place of the `raise NotImplementedError()` lines,
# keeping the names and signatures of the functions. Use NumPy only. Visible tests check
# your work as you go; hidden tests with random inputs run when the assignment is graded.
#
# Conventions: volumes are `(C, H, W)`, batches `(N, C, H, W)`; convolution means
# cross-correlation, as in every framework.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import math
import time

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from checks import (
    check_close,
    check_equal,
    check_gradient,
    check_gradients,
    check_raises,
    check_shape,
    eval_numerical_gradient_array,
    hidden_checks,
    hidden_rng,
)


def as_shape(value):
    """A shape as a tuple of Python ints (so that lists and NumPy ints compare equal)."""
    return tuple(int(v) for v in value)


# %% [markdown]
# The layers you wrote in the previous assignments, given here in compact form:
# `conv_output_size`, `conv_forward`/`conv_backward` (stride and zero-padding),
# `max_pool_forward`/`max_pool_backward`, `affine_forward`/`affine_backward` and
# `relu_forward`/`relu_backward`. Each forward returns `(out, cache)`.

# %% nbgrader={"grade": false, "grade_id": "setup_layers", "locked": true, "schema_version": 3, "solution": false, "task": false}
def conv_output_size(W, F, S=1, P=0):
    """``(W - F + 2P)/S + 1``, or ValueError when it is not a positive whole number."""
    span = W - F + 2 * P
    if span < 0 or span % S:
        raise ValueError(f"the window does not fit: (W - F + 2P)/S + 1 = ({W} - {F} + 2*{P})/{S}"
                         f" + 1 = {span / S + 1:g} is not a positive integer")
    return span // S + 1


def _windows(x, HH, WW, S, H_out, W_out):
    """(N, C, H_out, W_out, HH, WW) view of the HHxWW windows of x at stride S."""
    return sliding_window_view(x, (HH, WW), axis=(2, 3))[:, :, ::S, ::S][:, :, :H_out, :W_out]


def conv_forward(x, w, b, conv_param):
    """Convolution of x (N, C, H, W) with filters w (F, C, HH, WW), biases b (F,).

    conv_param: {"stride": S, "pad": P}. Returns (out (N, F, H', W'), cache).
    """
    S, P = conv_param.get("stride", 1), conv_param.get("pad", 0)
    HH, WW = w.shape[2:]
    H_out = conv_output_size(x.shape[2], HH, S, P)
    W_out = conv_output_size(x.shape[3], WW, S, P)
    xp = np.pad(x, ((0, 0), (0, 0), (P, P), (P, P)))
    windows = _windows(xp, HH, WW, S, H_out, W_out)
    out = np.tensordot(windows, w, axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2)
    return out + b[None, :, None, None], (x, w, conv_param)


def conv_backward(dout, cache):
    """Gradients (dx, dw, db) of conv_forward."""
    x, w, conv_param = cache
    S, P = conv_param.get("stride", 1), conv_param.get("pad", 0)
    HH, WW = w.shape[2:]
    H_out, W_out = dout.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (P, P), (P, P)))
    dw = np.tensordot(dout, _windows(xp, HH, WW, S, H_out, W_out), axes=([0, 2, 3], [0, 2, 3]))
    dxp = np.zeros_like(xp)
    for i in range(HH):
        for j in range(WW):
            dxp[:, :, i:i + S * H_out:S, j:j + S * W_out:S] += np.tensordot(
                dout, w[:, :, i, j], axes=([1], [0])).transpose(0, 3, 1, 2)
    return dxp[:, :, P:P + x.shape[2], P:P + x.shape[3]], dw, dout.sum(axis=(0, 2, 3))


def max_pool_forward(x, pool_param):
    """Max pooling. pool_param: {"pool_height", "pool_width", "stride"}. (out, cache)."""
    HH, WW, S = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    H_out = conv_output_size(x.shape[2], HH, S)
    W_out = conv_output_size(x.shape[3], WW, S)
    flat = _windows(x, HH, WW, S, H_out, W_out).reshape(x.shape[:2] + (H_out, W_out, HH * WW))
    switches = flat.argmax(axis=-1)
    out = np.take_along_axis(flat, switches[..., None], axis=-1)[..., 0]
    return out, (x.shape, switches, HH, WW, S)


def max_pool_backward(dout, cache):
    """Gradient dx of max pooling: each upstream gradient goes to the max of its window."""
    x_shape, switches, HH, WW, S = cache
    H_out, W_out = dout.shape[2:]
    dx = np.zeros(x_shape, dtype=dout.dtype)
    for i in range(HH):
        for j in range(WW):
            dx[:, :, i:i + S * H_out:S, j:j + S * W_out:S] += dout * (switches == i * WW + j)
    return dx


def affine_forward(x, w, b):
    """x (N, d_1, ..., d_k) flattened to (N, D), times w (D, M), plus b (M,). (out, cache)."""
    return x.reshape(x.shape[0], -1) @ w + b, (x, w)


def affine_backward(dout, cache):
    """Gradients (dx, dw, db) of affine_forward."""
    x, w = cache
    dx = (dout @ w.T).reshape(x.shape)
    return dx, x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)


def relu_forward(x):
    return np.maximum(x, 0), x


def relu_backward(dout, cache):
    return dout * (cache > 0)


# %% [markdown]
# ## 1. FC layers are convolutions
#
# An FC layer with `M` outputs looking at a volume `(C, H, W)` flattens the volume (in
# row-major order: channel, then row, then column) to `D = C*H*W` numbers and multiplies by
# a weight matrix `w` of shape `(D, M)`. Output `m` is the dot product of column `m` of `w`
# with the whole volume. A convolution with `M` filters of size `(C, H, W)`, stride 1 and no
# padding fits exactly once in that volume, and its output `m` is the dot product of filter
# `m` with the volume: the same thing, once column `m` is reshaped into a `(C, H, W)` filter.
#
# Write `fc_to_conv_weights(w, volume_shape)`, returning the `(M, C, H, W)` filters; it
# raises `ValueError` when `D != C*H*W`. The biases stay as they are.
#
# In VGG-16 the first FC layer looks at `7x7x512` volumes, `(7*7*512, 4096)` weights: 4096
# filters of `512x7x7` (`F = 7`). The next FC layers look at `1x1x4096` volumes: `F = 1`.

# %% nbgrader={"grade": false, "grade_id": "answer_fc_to_conv_weights", "locked": false, "schema_version": 3, "solution": true, "task": false}
def fc_to_conv_weights(w, volume_shape):
    """The filters of the convolution that computes the same outputs as an FC layer.

    Parameters
    ----------
    w : ndarray, shape (D, M)
        FC weights, for inputs flattened from volumes of ``volume_shape``.
    volume_shape : tuple (C, H, W)
        The volume the FC layer looks at; ``C*H*W`` must equal ``D``.

    Returns
    -------
    ndarray, shape (M, C, H, W)
        ``M`` filters; with stride 1 and no padding, on a ``(C, H, W)`` input, the
        convolution outputs ``(N, M, 1, 1)``, the FC outputs.

    Raises
    ------
    ValueError
        If ``w`` does not have ``C*H*W`` rows.
    """
    ### BEGIN SOLUTION
    C, H, W = volume_shape
    w = np.asarray(w)
    if w.ndim != 2 or w.shape[0] != C * H * W:
        raise ValueError(f"w of shape {w.shape} does not look at a {volume_shape} volume: it "
                         f"needs C*H*W = {C * H * W} rows")
    return w.T.reshape(w.shape[1], C, H, W)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_fc_to_conv_weights", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
rng = np.random.default_rng(0)
x = rng.standard_normal((2, 3, 4, 5))
w = rng.standard_normal((3 * 4 * 5, 7))
b = rng.standard_normal(7)
filters = fc_to_conv_weights(w, (3, 4, 5))
check_shape(filters, (7, 3, 4, 5), "filters")
fc_out, _ = affine_forward(x, w, b)
conv_out, _ = conv_forward(x, np.asarray(filters), b, {"stride": 1, "pad": 0})
check_close(conv_out.reshape(2, 7), fc_out, "conv output == FC output")
# An FC layer after another FC layer looks at a (K, 1, 1) volume: F = 1.
w2 = rng.standard_normal((7, 4))
check_shape(fc_to_conv_weights(w2, (7, 1, 1)), (4, 7, 1, 1), "1x1 filters")
# VGG-16's first FC layer (with 2 outputs instead of 4096, to keep it small): F = 7.
check_shape(fc_to_conv_weights(np.zeros((7 * 7 * 512, 2)), (512, 7, 7)), (2, 512, 7, 7),
            "VGG-16's first FC as filters")
check_raises(ValueError, fc_to_conv_weights, w, (3, 5, 5), what="60 rows for a 3x5x5 volume")
### BEGIN HIDDEN TESTS
import convnets as ref  # noqa: E402

with hidden_checks("test_fc_to_conv_weights") as rng:
    for trial in range(10):
        C, H, W, M = (int(v) for v in rng.integers(1, 7, size=4))
        model = ref.Sequential([ref.Affine(M)], (C, H, W), dtype=np.float64)
        params = {"fc1.w": rng.standard_normal((C * H * W, M)), "fc1.b": rng.standard_normal(M)}
        model.params = params
        converted = ref.fc_to_conv(model)
        got = fc_to_conv_weights(params["fc1.w"], (C, H, W))
        check_close(got, converted.params["fc1.w"], f"filters for an FC({M}) on {(C, H, W)}")
        x = rng.standard_normal((2, C, H, W))
        out, _ = conv_forward(x, np.asarray(got), params["fc1.b"], {"stride": 1, "pad": 0})
        check_close(out.reshape(2, M), model.forward(x), "conv output == FC output")
        bad = (C, H + 1, W)
        check_raises(ValueError, fc_to_conv_weights, params["fc1.w"], bad,
                     what="fc_to_conv_weights with a volume that w does not fit")
### END HIDDEN TESTS

# %% [markdown]
# ## 2. One pass over a larger image instead of many crops
#
# The network below, `SMALL_NET`, classifies 32x32 colour crops into 10 classes:
#
#     INPUT [32x32x3]
#     -> CONV 5x5 (c1 filters, stride 1, no padding) -> RELU -> POOL 2x2/2   [14x14xc1]
#     -> CONV 3x3 (c2 filters, no padding)           -> RELU -> POOL 2x2/2   [6x6xc2]
#     -> CONV 3x3 (c3 filters, no padding)           -> RELU -> POOL 2x2/2   [2x2xc3]
#     -> FC (h1) -> RELU -> FC (h2) -> RELU -> FC (10)
#
# Its parameters are a dictionary: `conv1_w (c1, 3, 5, 5)`, `conv1_b (c1,)`, `conv2_w`,
# `conv2_b`, `conv3_w`, `conv3_b`, `fc1_w (c3*2*2, h1)`, `fc1_b`, `fc2_w (h1, h2)`, `fc2_b`,
# `fc3_w (h2, 10)`, `fc3_b`. The widths `c1, c2, c3, h1, h2` may vary (read them from the
# arrays' shapes). The three pools reduce the size by 8: its *total stride*.
#
# Write
#
# * `convert_small_net(params)`: the parameters of the fully convolutional version: the
#   conv parameters unchanged, and each FC weight matrix replaced by its filters
#   (`fc1_w` looks at the `(c3, 2, 2)` volume, `fc2_w` at `(h1, 1, 1)`, `fc3_w` at
#   `(h2, 1, 1)`); biases unchanged. Return a new dictionary; do not modify `params`.
# * `fully_conv_forward(x, conv_params)`: the converted network on a batch of images of
#   any size that the layers tile, giving a map of scores `(N, 10, H', W')` (`(N, 10, 1, 1)`
#   on 32x32 images). Every FC is now a convolution with stride 1 and no padding.
# * `crop_scores(image, params, crop_size=32, stride=8)`: the slow way. Run the original
#   network (`small_net_forward`, given) on every `crop_size x crop_size` crop of one image
#   `(3, H, W)` whose corner is at a multiple of `stride`; return the scores as
#   `(10, n_h, n_w)`, entry `[:, a, b]` for the crop with top-left corner
#   `(a*stride, b*stride)`.
#
# On a 48x48 image, the converted network's last pool gives a `4x4xc3` volume; the filters
# of `fc1` (2x2) fit at `3x3` positions: a 3x3 map of scores, one for each of the nine
# 32x32 crops at stride 8. Because `SMALL_NET` uses no zero-padding, the map is *exactly*
# the crops' scores. (With padding, as in VGG, a crop's border pixels see zeros where the
# large image has real neighbours, so the two differ a little near the borders: the notes'
# "identical" needs valid convolutions.)

# %% nbgrader={"grade": false, "grade_id": "setup_small_net", "locked": true, "schema_version": 3, "solution": false, "task": false}
def init_small_net(widths=(8, 16, 16, 32, 32), num_classes=10, seed=0):
    """Random parameters of SMALL_NET (He-scaled weights, small random biases)."""
    rng = np.random.default_rng(seed)
    c1, c2, c3, h1, h2 = widths
    shapes = {"conv1": (c1, 3, 5, 5), "conv2": (c2, c1, 3, 3), "conv3": (c3, c2, 3, 3),
              "fc1": (c3 * 2 * 2, h1), "fc2": (h1, h2), "fc3": (h2, num_classes)}
    params = {}
    for name, shape in shapes.items():
        fan_in = math.prod(shape[1:]) if name.startswith("conv") else shape[0]
        params[f"{name}_w"] = rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)
        outputs = shape[0] if name.startswith("conv") else shape[1]
        params[f"{name}_b"] = 0.1 * rng.standard_normal(outputs)
    return params


def small_net_forward(x, params):
    """Scores (N, num_classes) of SMALL_NET, with its FC layers, on 32x32 images."""
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    out = x
    for name in ("conv1", "conv2", "conv3"):
        out, _ = conv_forward(out, params[f"{name}_w"], params[f"{name}_b"],
                              {"stride": 1, "pad": 0})
        out, _ = relu_forward(out)
        out, _ = max_pool_forward(out, pool_param)
    out, _ = affine_forward(out, params["fc1_w"], params["fc1_b"])
    out, _ = relu_forward(out)
    out, _ = affine_forward(out, params["fc2_w"], params["fc2_b"])
    out, _ = relu_forward(out)
    scores, _ = affine_forward(out, params["fc3_w"], params["fc3_b"])
    return scores


small_params = init_small_net()
image = np.random.default_rng(1).standard_normal((3, 48, 48))

# %% nbgrader={"grade": false, "grade_id": "answer_fully_conv", "locked": false, "schema_version": 3, "solution": true, "task": false}
def convert_small_net(params):
    """The parameters of SMALL_NET's fully convolutional version (a new dict)."""
    ### BEGIN SOLUTION
    converted = dict(params)
    c3 = params["conv3_w"].shape[0]
    volumes = {"fc1": (c3, 2, 2), "fc2": (params["fc1_w"].shape[1], 1, 1),
               "fc3": (params["fc2_w"].shape[1], 1, 1)}
    for name, volume in volumes.items():
        converted[f"{name}_w"] = fc_to_conv_weights(params[f"{name}_w"], volume)
    return converted
    ### END SOLUTION


def fully_conv_forward(x, conv_params):
    """The converted SMALL_NET on images of any size it tiles: scores (N, 10, H', W')."""
    ### BEGIN SOLUTION
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    valid = {"stride": 1, "pad": 0}
    out = x
    for name in ("conv1", "conv2", "conv3"):
        out, _ = conv_forward(out, conv_params[f"{name}_w"], conv_params[f"{name}_b"], valid)
        out, _ = relu_forward(out)
        out, _ = max_pool_forward(out, pool_param)
    for name in ("fc1", "fc2"):
        out, _ = conv_forward(out, conv_params[f"{name}_w"], conv_params[f"{name}_b"], valid)
        out, _ = relu_forward(out)
    scores, _ = conv_forward(out, conv_params["fc3_w"], conv_params["fc3_b"], valid)
    return scores
    ### END SOLUTION


def crop_scores(image, params, crop_size=32, stride=8):
    """SMALL_NET (with its FC layers) on every crop at ``stride``: scores (10, n_h, n_w)."""
    ### BEGIN SOLUTION
    _, H, W = image.shape
    n_h = (H - crop_size) // stride + 1
    n_w = (W - crop_size) // stride + 1
    crops = np.stack([image[:, a * stride:a * stride + crop_size, b * stride:b * stride + crop_size]
                      for a in range(n_h) for b in range(n_w)])
    scores = small_net_forward(crops, params)
    return scores.T.reshape(scores.shape[1], n_h, n_w)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_convert_small_net", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
conv_params = convert_small_net(small_params)
expected_shapes = {"conv1_w": (8, 3, 5, 5), "conv3_w": (16, 16, 3, 3), "fc1_w": (32, 16, 2, 2),
                   "fc1_b": (32,), "fc2_w": (32, 32, 1, 1), "fc3_w": (10, 32, 1, 1), "fc3_b": (10,)}
for key, shape in expected_shapes.items():
    check_shape(conv_params[key], shape, f"conv_params['{key}']")
check_shape(small_params["fc1_w"], (64, 32), "small_params['fc1_w'] (left unchanged)")
crops = np.random.default_rng(2).standard_normal((4, 3, 32, 32))
scores = fully_conv_forward(crops, conv_params)
check_shape(scores, (4, 10, 1, 1), "fully convolutional scores on 32x32 crops")
check_close(np.asarray(scores).reshape(4, 10), small_net_forward(crops, small_params),
            "fully convolutional scores == original scores on 32x32 crops")
### BEGIN HIDDEN TESTS
import convnets as ref  # noqa: E402

with hidden_checks("test_convert_small_net") as rng:
    def ref_small_net(params):
        c1, c2, c3 = (params[f"conv{i}_w"].shape[0] for i in (1, 2, 3))
        h1, h2, k = params["fc1_w"].shape[1], params["fc2_w"].shape[1], params["fc3_w"].shape[1]
        model = ref.Sequential([
            ref.Conv(c1, 5), ref.ReLU(), ref.MaxPool(2), ref.Conv(c2, 3), ref.ReLU(), ref.MaxPool(2),
            ref.Conv(c3, 3), ref.ReLU(), ref.MaxPool(2), ref.Affine(h1), ref.ReLU(), ref.Affine(h2),
            ref.ReLU(), ref.Affine(k)], (3, 32, 32), dtype=np.float64)
        model.params = {key.replace("_", "."): value for key, value in params.items()}
        return model


    for trial in range(3):
        widths = tuple(int(v) for v in rng.integers(1, 9, size=5))
        params = init_small_net(widths, num_classes=int(rng.integers(2, 12)),
                                seed=int(rng.integers(1 << 30)))
        converted = ref.fc_to_conv(ref_small_net(params))
        got = convert_small_net(params)
        check_equal(sorted(got), sorted(params), "keys of the converted parameters")
        for key, value in converted.params.items():
            check_close(got[key.replace(".", "_")], value, f"converted {key} for widths {widths}")
        x = rng.standard_normal((2, 3, 32, 32))
        k = params["fc3_w"].shape[1]
        check_close(np.asarray(fully_conv_forward(x, got)).reshape(2, k), converted.forward(x),
                    f"fully convolutional scores for widths {widths}")
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_score_map_equals_crops", "locked": true, "points": 5, "schema_version": 3, "solution": false, "task": false}
conv_params = convert_small_net(small_params)
score_map = fully_conv_forward(image[None], conv_params)
check_shape(score_map, (1, 10, 3, 3), "the map of scores on a 48x48 image")
slow = crop_scores(image, small_params)
check_shape(slow, (10, 3, 3), "the scores of the nine 32x32 crops at stride 8")
check_close(np.asarray(score_map)[0], slow, "one pass == the nine crops")
wide = np.random.default_rng(3).standard_normal((3, 40, 64))
check_close(np.asarray(fully_conv_forward(wide[None], conv_params))[0],
            crop_scores(wide, small_params), "one pass == the crops on a 40x64 image")
check_shape(crop_scores(wide, small_params, stride=16), (10, 1, 3), "crops at stride 16")
### BEGIN HIDDEN TESTS
import convnets as ref  # noqa: E402

with hidden_checks("test_score_map_equals_crops") as rng:
    def ref_small_net(params):
        c1, c2, c3 = (params[f"conv{i}_w"].shape[0] for i in (1, 2, 3))
        h1, h2, k = params["fc1_w"].shape[1], params["fc2_w"].shape[1], params["fc3_w"].shape[1]
        model = ref.Sequential([
            ref.Conv(c1, 5), ref.ReLU(), ref.MaxPool(2), ref.Conv(c2, 3), ref.ReLU(), ref.MaxPool(2),
            ref.Conv(c3, 3), ref.ReLU(), ref.MaxPool(2), ref.Affine(h1), ref.ReLU(), ref.Affine(h2),
            ref.ReLU(), ref.Affine(k)], (3, 32, 32), dtype=np.float64)
        model.params = {key.replace("_", "."): value for key, value in params.items()}
        return model


    for trial in range(3):
        widths = tuple(int(v) for v in rng.integers(1, 9, size=5))
        k = int(rng.integers(2, 12))
        params = init_small_net(widths, num_classes=k, seed=int(rng.integers(1 << 30)))
        model = ref_small_net(params)
        H, W = 32 + 8 * int(rng.integers(1, 4)), 32 + 8 * int(rng.integers(0, 4))
        picture = rng.standard_normal((3, H, W))
        expected = ref.fc_to_conv(model).forward(picture[None])
        n_h, n_w = (H - 32) // 8 + 1, (W - 32) // 8 + 1
        expected = np.asarray(expected).reshape(1, k, n_h, n_w)
        got = fully_conv_forward(picture[None], convert_small_net(params))
        check_close(got, expected, f"the map of scores on a {H}x{W} image, widths {widths}")
        stride = int(rng.choice([4, 8, 16]))
        check_close(crop_scores(picture, params, 32, stride),
                    ref.crop_scores(model, picture, 32, stride),
                    f"crop scores on a {H}x{W} image at stride {stride}")
### END HIDDEN TESTS

# %% [markdown]
# How much does the single pass save? (Not graded; the crops repeat most of the work,
# since neighbouring crops overlap.)

# %%
big = np.random.default_rng(4).standard_normal((3, 96, 96))
conv_params = convert_small_net(small_params)
start = time.perf_counter()
fast = fully_conv_forward(big[None], conv_params)[0]
one_pass = time.perf_counter() - start
start = time.perf_counter()
slow = crop_scores(big, small_params)
many = time.perf_counter() - start
print(f"{slow.shape[1] * slow.shape[2]} crops: {many * 1e3:.1f} ms; one pass: "
      f"{one_pass * 1e3:.1f} ms ({many / one_pass:.1f}x faster); "
      f"largest difference {np.max(np.abs(fast - slow)):.1e}")

# %% [markdown]
# ### The arithmetic at full scale
#
# In VGG-16, five 2x2 pools reduce 224 to 224/2/2/2/2/2 = 7 (a total stride of 32), and its
# convolutions keep the size (padding 1). On a 384x384 image the last pool gives 384/32 = 12,
# and the first FC layer, now a 7x7 convolution, fits at `(12 - 7)/1 + 1 = 6` positions
# along each axis: a 6x6 map of scores, one per 224x224 crop at stride 32.
#
# Write `score_map_side(image_size, crop_size, stride)`: the number of crops along one axis,
# `(image_size - crop_size)/stride + 1`, raising `ValueError` when the crops do not tile
# the image (not a whole number, or a crop larger than the image).

# %% nbgrader={"grade": false, "grade_id": "answer_score_map_side", "locked": false, "schema_version": 3, "solution": true, "task": false}
def score_map_side(image_size, crop_size, stride):
    """Crops (scores) along one axis: ``(image_size - crop_size)/stride + 1``."""
    ### BEGIN SOLUTION
    span = image_size - crop_size
    if span < 0 or span % stride:
        raise ValueError(f"crops of {crop_size} at stride {stride} do not tile {image_size}: "
                         f"({image_size} - {crop_size})/{stride} + 1 = {span / stride + 1:g}")
    return span // stride + 1
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_score_map_side", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_equal(224 // 2 // 2 // 2 // 2 // 2, 7, "VGG-16's last volume on 224x224")
check_equal(conv_output_size(384 // 32, 7), 6, "the 7x7 'FC' convolution on a 12x12 volume")
side = score_map_side(384, 224, 32)
check_equal(side, 6, "crops along one axis of a 384x384 image")
check_equal(side * side, 36, "crops of 224x224 at stride 32 in a 384x384 image")
check_equal(score_map_side(48, 32, 8), 3, "crops of 32 in 48 at stride 8")
check_equal(score_map_side(224, 224, 32), 1, "the image itself")
check_raises(ValueError, score_map_side, 100, 32, 8, what="(100 - 32)/8 + 1 = 9.5")
check_raises(ValueError, score_map_side, 200, 224, 32, what="a crop larger than the image")
### BEGIN HIDDEN TESTS
import convnets as ref  # noqa: E402

with hidden_checks("test_score_map_side") as rng:
    for trial in range(30):
        image_size, crop_size = int(rng.integers(1, 500)), int(rng.integers(1, 300))
        stride = int(rng.choice([1, 2, 4, 8, 16, 32, int(rng.integers(1, 50))]))
        # The labels say what kind of case failed, never its numbers and answer.
        try:
            expected = ref.pool_output_size(image_size, crop_size, stride)
        except ValueError:
            check_raises(ValueError, score_map_side, image_size, crop_size, stride,
                         what="score_map_side on a random setting where the crops do not fit")
        else:
            check_equal(score_map_side(image_size, crop_size, stride), expected,
                        "score_map_side on a random setting that fits")
### END HIDDEN TESTS

# %% [markdown]
# *Finer strides.* The converted network's scores are 32 pixels apart (8 for `SMALL_NET`).
# For a finer stride, run it again on the image shifted by a fraction of the total stride
# (drop the first rows and/or columns) and interleave the maps. With a shift along both
# axes at once (the notes' second pass) you get the crops whose offsets are both shifted;
# filling the whole stride-16 grid takes four passes: shifts (0, 0), (0, 16), (16, 0) and
# (16, 16).

# %% [markdown] nbgrader={"grade": false, "grade_id": "question_crops", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Question (4 points).** VGG-16 converted to a fully convolutional network is run once
# on a 384x384 image. What volume does its last pool give, what map of scores comes out,
# and which crops do those scores belong to? Why is this faster than running the
# original network on every crop? Estimate how much work the 36 crops repeat (pixels, or
# multiply-adds), and say when the one pass gives exactly the crops' scores.
#
# Answer in the cell below, in a few sentences, with the numbers.

# %% [markdown] nbgrader={"grade": true, "grade_id": "written_crops", "locked": false, "points": 4, "schema_version": 3, "solution": true, "task": false}
# ### BEGIN SOLUTION
# Five 2x2 pools divide 384 by 32, so the last pool gives 12x12x512; the first FC layer,
# now a 7x7 convolution, fits at `(12 - 7)/1 + 1 = 6` positions per axis, so the output
# is a 6x6x1000 map of scores: one per 224x224 crop with its corner at a multiple of 32,
# 36 crops in all.
#
# Neighbouring crops overlap by 192 of their 224 pixels, so running the network 36 times
# computes the same convolutions over and over: the crops feed `36 * 224^2 = 1,806,336`
# pixels through the network against `384^2 = 147,456` for the one pass (12.25 times
# more). In multiply-adds: one VGG-16 pass at 224 is about 15.5 G, so 36 crops cost 557
# G against 49.6 G for the converted network at 384: about 11 times less work, one pass
# sharing every overlapping computation. The scores are identical only without zero
# padding (as in `SMALL_NET`); with VGG's padding a crop's border sees zeros where the
# large image has real pixels, so the scores differ slightly near the crop borders.
#
# ### BEGIN RUBRIC
# Full (4): 12x12x512, a 6x6 map for the 36 crops at stride 32; the shared computation
# of overlapping crops with a figure (12.25x the pixels, or about 11x the multiply-adds:
# 15.47 G per 224 pass from `convnets.summarize(convnets.zoo.get('vgg16'))` weights
# times positions, 49.55 G for `fc_to_conv` at 384); exact only without padding.
# Partial (1-3): the sizes right and the sharing explained without a figure, or without
# the padding condition.
# Zero: wrong sizes and no reason for the speed.
# ### END RUBRIC
# ### END SOLUTION

# %% [markdown]
# ## 3. A residual block with batch normalization
#
# ResNet's basic block adds its input back to what two convolutions computed:
#
#     x -> CONV 3x3 (pad 1, no bias) -> BN -> RELU -> CONV 3x3 (pad 1, no bias) -> BN
#       -> (+ x) -> RELU
#
# The convolutions keep the size and the channels (`C` filters of `C x 3 x 3`), so the sum
# is defined; they need no bias since batch norm's `beta` shifts each channel anyway.
#
# **Spatial batch normalization** normalizes every channel with one mean and one variance
# over the batch *and* the positions: for `x` of shape `(N, C, H, W)`, channel `c` has
# `N*H*W` samples. In training mode (`bn_param["mode"] == "train"`) it uses the batch's
# mean `mu` and (biased, divide by `N*H*W`) variance `var`, per channel:
#
#     x_hat = (x - mu) / sqrt(var + eps)        out = gamma * x_hat + beta
#
# and updates running averages `running = momentum * running + (1 - momentum) * batch_value`
# in `bn_param` (for the mean and the variance). In test mode it uses
# `bn_param["running_mean"]` and `bn_param["running_var"]` instead of the batch's
# statistics. Defaults: `eps = 1e-5`, `momentum = 0.9`; missing running statistics start as
# zeros (mean) and ones (variance).
#
# The backward pass in training mode must account for `mu` and `var` depending on `x`.
# With `M = N*H*W` and sums over the `M` samples of a channel, `dx_hat = dout * gamma` and
#
#     dx = (1 / M) / sqrt(var + eps) * (M * dx_hat - sum(dx_hat) - x_hat * sum(dx_hat * x_hat))
#
# (in test mode the statistics are constants: `dx = dx_hat / sqrt(running_var + eps)`).
#
# Write `spatial_batchnorm_forward`/`spatial_batchnorm_backward`, then
# `residual_block_forward(x, params, bn_params)` with `params` holding `w1`, `gamma1`,
# `beta1`, `w2`, `gamma2`, `beta2` and `bn_params` a list of the two batch norms'
# `bn_param` dictionaries, and `residual_block_backward(dout, cache)` returning `dx` and a
# dictionary of gradients with the keys of `params`. Remember that `x` reaches the output
# along two paths.

# %% nbgrader={"grade": false, "grade_id": "answer_spatial_batchnorm", "locked": false, "schema_version": 3, "solution": true, "task": false}
def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalization of (N, C, H, W) volumes, one mean and variance per channel.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    gamma, beta : ndarray, shape (C,)
    bn_param : dict
        ``"mode"`` (``"train"`` or ``"test"``), optional ``"eps"``, ``"momentum"``,
        ``"running_mean"``, ``"running_var"`` (shape (C,)); the running statistics are
        updated in place in train mode.

    Returns
    -------
    out : ndarray, shape (N, C, H, W)
    cache : anything ``spatial_batchnorm_backward`` needs
    """
    ### BEGIN SOLUTION
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    C = x.shape[1]
    running_mean = bn_param.get("running_mean", np.zeros(C, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.ones(C, dtype=x.dtype))
    if mode == "train":
        mean = x.mean(axis=(0, 2, 3))
        var = x.var(axis=(0, 2, 3))
        bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mean
        bn_param["running_var"] = momentum * running_var + (1 - momentum) * var
    elif mode == "test":
        mean, var = running_mean, running_var
    else:
        raise ValueError(f"bn_param['mode'] must be 'train' or 'test', got {mode!r}")
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (x - mean[None, :, None, None]) * inv_std[None, :, None, None]
    out = gamma[None, :, None, None] * x_hat + beta[None, :, None, None]
    return out, (x_hat, gamma, inv_std, mode)
    ### END SOLUTION


def spatial_batchnorm_backward(dout, cache):
    """Gradients ``(dx, dgamma, dbeta)`` of spatial batch normalization."""
    ### BEGIN SOLUTION
    x_hat, gamma, inv_std, mode = cache
    axes = (0, 2, 3)
    dbeta = dout.sum(axis=axes)
    dgamma = (dout * x_hat).sum(axis=axes)
    dx_hat = dout * gamma[None, :, None, None]
    scale = inv_std[None, :, None, None]
    if mode == "test":
        return dx_hat * scale, dgamma, dbeta
    M = dout.shape[0] * dout.shape[2] * dout.shape[3]
    dx = scale / M * (M * dx_hat - dx_hat.sum(axis=axes, keepdims=True)
                      - x_hat * (dx_hat * x_hat).sum(axis=axes, keepdims=True))
    return dx, dgamma, dbeta
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_spatial_batchnorm_forward", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
rng = np.random.default_rng(5)
x = 3.0 + 2.0 * rng.standard_normal((4, 3, 5, 6))
gamma, beta = np.array([1.0, 2.0, 0.5]), np.array([0.0, -1.0, 3.0])
out, _ = spatial_batchnorm_forward(x, np.ones(3), np.zeros(3), {"mode": "train"})
check_shape(out, (4, 3, 5, 6), "out")
check_close(np.asarray(out).mean(axis=(0, 2, 3)), np.zeros(3), "per-channel means (train)",
            atol=1e-7)
check_close(np.asarray(out).std(axis=(0, 2, 3)), np.ones(3), "per-channel stds (train)", rtol=1e-5)
out, _ = spatial_batchnorm_forward(x, gamma, beta, {"mode": "train"})
check_close(np.asarray(out).mean(axis=(0, 2, 3)), beta, "per-channel means = beta", atol=1e-7)
check_close(np.asarray(out).std(axis=(0, 2, 3)), gamma, "per-channel stds = gamma", rtol=1e-5)
running_mean, running_var = np.array([3.0, 2.0, 1.0]), np.array([4.0, 1.0, 0.25])
out, _ = spatial_batchnorm_forward(x, gamma, beta, {"mode": "test", "running_mean": running_mean,
                                                    "running_var": running_var})
expected = (gamma[None, :, None, None] * (x - running_mean[None, :, None, None])
            / np.sqrt(running_var[None, :, None, None] + 1e-5) + beta[None, :, None, None])
check_close(out, expected, "test mode uses the running statistics")
### BEGIN HIDDEN TESTS
import convnets as ref  # noqa: E402

with hidden_checks("test_spatial_batchnorm_forward") as rng:
    for trial in range(6):
        N, C, H, W = (int(v) for v in rng.integers(1, 6, size=4))
        if N * H * W < 2:
            N = 2
        x = rng.normal(rng.uniform(-3, 3), rng.uniform(0.5, 3), size=(N, C, H, W))
        gamma, beta = rng.standard_normal(C), rng.standard_normal(C)
        for mode in ("train", "test"):
            param = {"mode": mode, "eps": float(rng.choice([1e-5, 1e-3])), "momentum": 0.8,
                     "running_mean": rng.standard_normal(C), "running_var": rng.uniform(0.5, 2, C)}
            expected, _ = ref.spatial_batchnorm_forward(x, gamma, beta, dict(param))
            got, _ = spatial_batchnorm_forward(x, gamma, beta, dict(param))
            check_close(got, expected, f"{mode} mode on {x.shape}, eps {param['eps']}")
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_spatial_batchnorm_backward", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
rng = np.random.default_rng(6)
x = 2.0 + rng.standard_normal((2, 3, 4, 5))
gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
dout = rng.standard_normal((2, 3, 4, 5))
out, cache = spatial_batchnorm_forward(x, gamma, beta, {"mode": "train"})
dx, dgamma, dbeta = spatial_batchnorm_backward(dout, cache)
numeric = eval_numerical_gradient_array(
    lambda v: spatial_batchnorm_forward(v, gamma, beta, {"mode": "train"})[0], x.copy(), dout)
check_gradient(numeric, dx, "dx (train mode)")
numeric = eval_numerical_gradient_array(
    lambda v: spatial_batchnorm_forward(x, v, beta, {"mode": "train"})[0], gamma.copy(), dout)
check_gradient(numeric, dgamma, "dgamma")
numeric = eval_numerical_gradient_array(
    lambda v: spatial_batchnorm_forward(x, gamma, v, {"mode": "train"})[0], beta.copy(), dout)
check_gradient(numeric, dbeta, "dbeta")
test_param = {"mode": "test", "running_mean": rng.standard_normal(3),
              "running_var": rng.uniform(0.5, 2, 3)}
_, cache = spatial_batchnorm_forward(x, gamma, beta, dict(test_param))
dx, _, _ = spatial_batchnorm_backward(dout, cache)
numeric = eval_numerical_gradient_array(
    lambda v: spatial_batchnorm_forward(v, gamma, beta, dict(test_param))[0], x.copy(), dout)
check_gradient(numeric, dx, "dx (test mode)")
### BEGIN HIDDEN TESTS
import convnets as ref  # noqa: E402

with hidden_checks("test_spatial_batchnorm_backward") as rng:
    for trial in range(6):
        N, C, H, W = (int(v) for v in rng.integers(1, 6, size=4))
        if N * H * W < 2:
            N = 2
        x = rng.normal(rng.uniform(-3, 3), rng.uniform(0.5, 3), size=(N, C, H, W))
        gamma, beta = rng.standard_normal(C), rng.standard_normal(C)
        dout = rng.standard_normal((N, C, H, W))
        for mode in ("train", "test"):
            param = {"mode": mode, "running_mean": rng.standard_normal(C),
                     "running_var": rng.uniform(0.5, 2, C)}
            _, ref_cache = ref.spatial_batchnorm_forward(x, gamma, beta, dict(param))
            _, cache = spatial_batchnorm_forward(x, gamma, beta, dict(param))
            check_gradients(spatial_batchnorm_backward(dout, cache),
                            ref.spatial_batchnorm_backward(dout, ref_cache),
                            f"{mode} mode on {x.shape}", names=("dx", "dgamma", "dbeta"),
                            rtol=1e-6, atol=1e-9)
### END HIDDEN TESTS

# %% nbgrader={"grade": false, "grade_id": "answer_residual_block", "locked": false, "schema_version": 3, "solution": true, "task": false}
def residual_block_forward(x, params, bn_params):
    """ResNet's basic block: ``relu(bn2(conv2(relu(bn1(conv1(x))))) + x)``.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    params : dict
        ``"w1"``, ``"w2"`` of shape (C, C, 3, 3) (no biases); ``"gamma1"``, ``"beta1"``,
        ``"gamma2"``, ``"beta2"`` of shape (C,).
    bn_params : list of two dicts
        The ``bn_param`` of the first and of the second batch normalization.

    Returns
    -------
    out : ndarray, shape (N, C, H, W)
    cache : anything ``residual_block_backward`` needs
    """
    ### BEGIN SOLUTION
    same = {"stride": 1, "pad": 1}
    no_bias = np.zeros(params["w1"].shape[0])
    a, conv1_cache = conv_forward(x, params["w1"], no_bias, same)
    b, bn1_cache = spatial_batchnorm_forward(a, params["gamma1"], params["beta1"], bn_params[0])
    c, relu1_cache = relu_forward(b)
    d, conv2_cache = conv_forward(c, params["w2"], no_bias, same)
    e, bn2_cache = spatial_batchnorm_forward(d, params["gamma2"], params["beta2"], bn_params[1])
    out, relu2_cache = relu_forward(e + x)
    return out, (conv1_cache, bn1_cache, relu1_cache, conv2_cache, bn2_cache, relu2_cache)
    ### END SOLUTION


def residual_block_backward(dout, cache):
    """Gradients: ``dx`` and a dict with the keys of ``params``."""
    ### BEGIN SOLUTION
    conv1_cache, bn1_cache, relu1_cache, conv2_cache, bn2_cache, relu2_cache = cache
    grads = {}
    dsum = relu_backward(dout, relu2_cache)
    dd, grads["gamma2"], grads["beta2"] = spatial_batchnorm_backward(dsum, bn2_cache)
    dc, grads["w2"], _ = conv_backward(dd, conv2_cache)
    db = relu_backward(dc, relu1_cache)
    da, grads["gamma1"], grads["beta1"] = spatial_batchnorm_backward(db, bn1_cache)
    dx, grads["w1"], _ = conv_backward(da, conv1_cache)
    return dx + dsum, grads
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_residual_block_forward", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
rng = np.random.default_rng(7)
C = 3
x = rng.standard_normal((2, C, 5, 4))
params = {"w1": 0.5 * rng.standard_normal((C, C, 3, 3)),
          "w2": 0.5 * rng.standard_normal((C, C, 3, 3)),
          "gamma1": 1 + 0.1 * rng.standard_normal(C), "beta1": 0.1 * rng.standard_normal(C),
          "gamma2": 1 + 0.1 * rng.standard_normal(C), "beta2": 0.1 * rng.standard_normal(C)}
out, _ = residual_block_forward(x, params, [{"mode": "train"}, {"mode": "train"}])
check_shape(out, x.shape, "out")
if np.any(np.asarray(out) < 0):
    raise AssertionError("out: the block ends with a ReLU, but some outputs are negative")
print("ok: out >= 0")
# With gamma2 = beta2 = 0 the main path adds nothing: the block passes relu(x) through.
silent = {**params, "gamma2": np.zeros(C), "beta2": np.zeros(C)}
out, _ = residual_block_forward(x, silent, [{"mode": "train"}, {"mode": "train"}])
check_close(out, np.maximum(x, 0), "block with gamma2 = beta2 = 0")
### BEGIN HIDDEN TESTS
import convnets as ref  # noqa: E402

with hidden_checks("test_residual_block_forward") as rng:
    def ref_block(params, bn_params, shape):
        model = ref.Sequential([ref.basic_block(shape[0], shape[0])], shape, dtype=np.float64)
        names = {"w1": "conv1.w", "w2": "conv2.w", "gamma1": "bn1.gamma", "beta1": "bn1.beta",
                 "gamma2": "bn2.gamma", "beta2": "bn2.beta"}
        ref_params = {f"res1.main.{names[key]}": value for key, value in params.items()}
        buffers = {f"res1.main.bn{i + 1}.{stat}": bn_params[i][stat]
                   for i in range(2) for stat in ("running_mean", "running_var")}
        model.params, model.buffers = ref_params, buffers
        return model.layers[0], model.params, model.buffers


    for trial in range(5):
        N, C, H, W = (int(v) for v in (rng.integers(1, 4), rng.integers(1, 5), rng.integers(2, 7),
                                       rng.integers(2, 7)))
        x = rng.standard_normal((N, C, H, W))
        params = {"w1": rng.standard_normal((C, C, 3, 3)), "w2": rng.standard_normal((C, C, 3, 3)),
                  "gamma1": rng.standard_normal(C), "beta1": rng.standard_normal(C),
                  "gamma2": rng.standard_normal(C), "beta2": rng.standard_normal(C)}
        for mode in ("train", "test"):
            bn_params = [{"mode": mode, "eps": 1e-5, "momentum": 0.9,
                          "running_mean": rng.standard_normal(C),
                          "running_var": rng.uniform(0.5, 2, C)} for _ in range(2)]
            block, ref_params, buffers = ref_block(params, bn_params, (C, H, W))
            expected, _ = block.forward(x, ref_params, buffers, mode == "train")
            got, _ = residual_block_forward(x, params, [dict(p) for p in bn_params])
            check_close(got, expected, f"residual block ({mode} mode) on {x.shape}", rtol=1e-6,
                        atol=1e-9)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_residual_block_backward", "locked": true, "points": 5, "schema_version": 3, "solution": false, "task": false}
rng = np.random.default_rng(8)
C = 2
x = rng.standard_normal((2, C, 3, 4))
params = {"w1": rng.standard_normal((C, C, 3, 3)), "w2": rng.standard_normal((C, C, 3, 3)),
          "gamma1": 1 + 0.5 * rng.standard_normal(C), "beta1": 0.5 * rng.standard_normal(C),
          "gamma2": 1 + 0.5 * rng.standard_normal(C), "beta2": 0.5 * rng.standard_normal(C)}
dout = rng.standard_normal(x.shape)
out, cache = residual_block_forward(x, params, [{"mode": "train"}, {"mode": "train"}])
dx, grads = residual_block_backward(dout, cache)
check_equal(sorted(grads), sorted(params), "keys of grads")


def block_output(x_value, params_value):
    return residual_block_forward(x_value, params_value, [{"mode": "train"}, {"mode": "train"}])[0]


numeric = eval_numerical_gradient_array(lambda v: block_output(v, params), x.copy(), dout)
check_gradient(numeric, dx, "dx")
for key in sorted(params):
    numeric = eval_numerical_gradient_array(lambda v, key=key: block_output(x, {**params, key: v}),
                                            params[key].copy(), dout)
    check_gradient(numeric, grads[key], f"d{key}")
### BEGIN HIDDEN TESTS
import convnets as ref  # noqa: E402

with hidden_checks("test_residual_block_backward") as rng:
    def ref_block(params, bn_params, shape):
        model = ref.Sequential([ref.basic_block(shape[0], shape[0])], shape, dtype=np.float64)
        names = {"w1": "conv1.w", "w2": "conv2.w", "gamma1": "bn1.gamma", "beta1": "bn1.beta",
                 "gamma2": "bn2.gamma", "beta2": "bn2.beta"}
        ref_params = {f"res1.main.{names[key]}": value for key, value in params.items()}
        buffers = {f"res1.main.bn{i + 1}.{stat}": bn_params[i][stat]
                   for i in range(2) for stat in ("running_mean", "running_var")}
        model.params, model.buffers = ref_params, buffers
        return model.layers[0], model.params, model.buffers, names


    for trial in range(5):
        N, C, H, W = (int(v) for v in (rng.integers(1, 4), rng.integers(1, 5), rng.integers(2, 7),
                                       rng.integers(2, 7)))
        x = rng.standard_normal((N, C, H, W))
        params = {"w1": rng.standard_normal((C, C, 3, 3)), "w2": rng.standard_normal((C, C, 3, 3)),
                  "gamma1": rng.standard_normal(C), "beta1": rng.standard_normal(C),
                  "gamma2": rng.standard_normal(C), "beta2": rng.standard_normal(C)}
        dout = rng.standard_normal((N, C, H, W))
        for mode in ("train", "test"):
            bn_params = [{"mode": mode, "eps": 1e-5, "momentum": 0.9,
                          "running_mean": rng.standard_normal(C),
                          "running_var": rng.uniform(0.5, 2, C)} for _ in range(2)]
            block, ref_params, buffers, names = ref_block(params, bn_params, (C, H, W))
            _, ref_cache = block.forward(x, ref_params, buffers, mode == "train")
            ref_grads = {}
            ref_dx = block.backward(dout, ref_cache, ref_grads)
            _, cache = residual_block_forward(x, params, [dict(p) for p in bn_params])
            what = f"({mode} mode) on {x.shape}"
            result = residual_block_backward(dout, cache)
            if type(result) not in (tuple, list) or len(result) != 2:
                raise AssertionError("residual_block_backward: expected a tuple of two values, "
                                     "(dx, grads)")
            dx, grads = result
            expected = {key: ref_grads[f"res1.main.{name}"] for key, name in names.items()}
            check_gradients(dx, ref_dx, f"dx {what}", rtol=1e-6, atol=1e-8)
            check_gradients(grads, expected, f"grads {what}", rtol=1e-6, atol=1e-8)
### END HIDDEN TESTS

# %% [markdown]
# ## 4. AlexNet's first layer
#
# AlexNet's first convolution has 96 filters of 11x11x3 at stride 4, without padding. The
# paper says the input is 224x224x3, but `(224 - 11)/4 + 1 = 54.25`: the filters do not
# tile it. With 227x227 inputs, `(227 - 11)/4 + 1 = 55`: a `55x55x96` output volume. (The
# usual explanation: 3 pixels of padding the paper does not mention.) Could some symmetric
# zero-padding `P` rescue 224? `(213 + 2P)/4` would have to be a whole number, and `213 + 2P`
# is odd for every `P`: no.
#
# Parameter sharing is what makes such a layer affordable. Without it, each of the
# `55*55*96` neurons would have its own `11*11*3` weights and its own bias; with it, the 96
# filters (and 96 biases) are shared by all positions.
#
# Write
#
# * `conv_layer_shape(input_shape, K, F, S, P)`: the output volume `(K, H', W')`, raising
#   `ValueError` when the filters do not fit (`conv_output_size` above is yours to use);
# * `fitting_paddings(W, F, S, max_pad=10)`: the paddings `P` in `0..max_pad` for which the
#   filters tile a `W`-wide input, in increasing order;
# * `conv_layer_counts(input_shape, K, F, S, P)`: a dictionary with `"neurons"` (in the
#   output volume), `"params_per_neuron"` (weights and bias of one neuron),
#   `"params_without_sharing"` (every neuron its own), `"weights_with_sharing"` and
#   `"params_with_sharing"` (weights plus the `K` biases). It raises like
#   `conv_layer_shape`.

# %% nbgrader={"grade": false, "grade_id": "answer_alexnet", "locked": false, "schema_version": 3, "solution": true, "task": false}
def conv_layer_shape(input_shape, K, F, S, P):
    """Output volume ``(K, H', W')`` of ``K`` filters ``F x F``, stride ``S``, padding ``P``."""
    ### BEGIN SOLUTION
    _, H, W = input_shape
    return (K, conv_output_size(H, F, S, P), conv_output_size(W, F, S, P))
    ### END SOLUTION


def fitting_paddings(W, F, S, max_pad=10):
    """The paddings ``P`` in ``0..max_pad`` for which ``(W - F + 2P)/S + 1`` is a whole
    number >= 1 (the filters fit in the padded input and tile it)."""
    ### BEGIN SOLUTION
    fits = []
    for P in range(max_pad + 1):
        span = W - F + 2 * P
        if span >= 0 and span % S == 0:
            fits.append(P)
    return fits
    ### END SOLUTION


def conv_layer_counts(input_shape, K, F, S, P):
    """Neurons and parameters of a convolutional layer, with and without sharing."""
    ### BEGIN SOLUTION
    C = input_shape[0]
    neurons = math.prod(conv_layer_shape(input_shape, K, F, S, P))
    per_neuron = F * F * C + 1
    weights = F * F * C * K
    return {"neurons": neurons, "params_per_neuron": per_neuron,
            "params_without_sharing": neurons * per_neuron,
            "weights_with_sharing": weights, "params_with_sharing": weights + K}
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_alexnet_first_layer", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
check_equal(as_shape(conv_layer_shape((3, 227, 227), 96, 11, 4, 0)), (96, 55, 55),
            "AlexNet's first layer on 227x227x3")
check_raises(ValueError, conv_layer_shape, (3, 224, 224), 96, 11, 4, 0,
             what="AlexNet's first layer on 224x224x3")
check_equal(as_shape(conv_layer_shape((3, 32, 48), 12, 5, 1, 2)), (12, 32, 48),
            "5x5 filters with P=2 keep a 32x48 input's size")
check_equal(as_shape(conv_layer_shape((3, 33, 47), 12, 3, 2, 0)), (12, 16, 23),
            "3x3 filters at stride 2 without padding on 33x47")
# The given convolution agrees: a 227x227 image through 96 filters of 11x11x3 at stride 4.
rng = np.random.default_rng(9)
out, _ = conv_forward(rng.standard_normal((1, 3, 227, 227)), rng.standard_normal((96, 3, 11, 11)),
                      np.zeros(96), {"stride": 4, "pad": 0})
check_equal(as_shape(out.shape[1:]), as_shape(conv_layer_shape((3, 227, 227), 96, 11, 4, 0)),
            "the convolution's output volume")
### BEGIN HIDDEN TESTS
import convnets as ref  # noqa: E402

with hidden_checks("test_alexnet_first_layer") as rng:
    for trial in range(30):
        shape = (int(rng.integers(1, 5)), int(rng.integers(1, 240)), int(rng.integers(1, 240)))
        K, F, S, P = (int(v) for v in (rng.integers(1, 100), rng.integers(1, 12), rng.integers(1, 6),
                                       rng.integers(0, 4)))
        what = "conv_layer_shape on a random layer"
        try:
            expected = ref.Conv(K, F, stride=S, pad=P).output_shape(shape)
        except ValueError:
            check_raises(ValueError, conv_layer_shape, shape, K, F, S, P, what=what)
        else:
            check_equal(as_shape(conv_layer_shape(shape, K, F, S, P)), tuple(expected), what)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_alexnet_paddings", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_equal(list(fitting_paddings(224, 11, 4)), [], "paddings that make 224 work")
check_equal(list(fitting_paddings(227, 11, 4)), [0, 2, 4, 6, 8, 10], "paddings that fit 227")
check_equal(list(fitting_paddings(7, 3, 2, max_pad=3)), [0, 1, 2, 3], "7x7 input, F=3, S=2")
check_equal(list(fitting_paddings(5, 7, 1, max_pad=2)), [1, 2], "a 7-wide filter on 5 pixels")
### BEGIN HIDDEN TESTS
import convnets as ref  # noqa: E402

with hidden_checks("test_alexnet_paddings") as rng:
    for trial in range(20):
        W, F, S = int(rng.integers(1, 300)), int(rng.integers(1, 12)), int(rng.integers(1, 8))
        max_pad = int(rng.integers(0, 12))
        expected = []
        for P in range(max_pad + 1):
            try:
                ref.conv_output_size(W, F, S, P)
            except ValueError:
                continue
            expected.append(P)
        check_equal(list(fitting_paddings(W, F, S, max_pad)), expected,
                    "fitting_paddings on a random setting")
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_alexnet_parameter_counts", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
counts = conv_layer_counts((3, 227, 227), 96, 11, 4, 0)
check_equal(counts["neurons"], 290400, "neurons in the 55x55x96 volume")
check_equal(counts["params_per_neuron"], 364, "weights and bias of one neuron (11*11*3 + 1)")
check_equal(counts["params_without_sharing"], 105705600, "parameters without sharing")
check_equal(counts["weights_with_sharing"], 34848, "weights with sharing (96*11*11*3)")
check_equal(counts["params_with_sharing"], 34944, "parameters with sharing")
print(f"sharing divides the parameters by {105705600 / 34944:.0f}")
check_raises(ValueError, conv_layer_counts, (3, 224, 224), 96, 11, 4, 0,
             what="counts on a 224x224 input")
### BEGIN HIDDEN TESTS
import convnets as ref  # noqa: E402

with hidden_checks("test_alexnet_parameter_counts") as rng:
    for trial in range(20):
        shape = (int(rng.integers(1, 5)), int(rng.integers(5, 100)), int(rng.integers(5, 100)))
        K, F, S, P = (int(v) for v in (rng.integers(1, 100), rng.integers(1, 8), rng.integers(1, 4),
                                       rng.integers(0, 3)))
        layer = ref.Conv(K, F, stride=S, pad=P)
        what = "conv_layer_counts on a random layer"
        try:
            out_shape = layer.output_shape(shape)
        except ValueError:
            check_raises(ValueError, conv_layer_counts, shape, K, F, S, P, what=what)
            continue
        weights, biases = layer.counts(shape)
        neurons = math.prod(out_shape)
        expected = {"neurons": neurons, "params_per_neuron": weights // K + 1,
                    "params_without_sharing": neurons * (weights // K + 1),
                    "weights_with_sharing": weights, "params_with_sharing": weights + biases}
        check_equal(conv_layer_counts(shape, K, F, S, P), expected, what)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "question_no_fc_head", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Question (3 points).** The notes say GoogLeNet has far fewer parameters than AlexNet
# because it uses average pooling instead of fully-connected layers at the top, and that
# VGG's FC layers can be removed without losing accuracy. With the counts of this
# assignment and of assignment 4: what share of AlexNet's parameters (227x227 input) are
# in its three FC layers? If VGG-16's three FC layers (on the 7x7x512 volume) were
# replaced by a global average pool and one FC layer to 1000 classes, how many
# parameters would that head have instead?
#
# Answer in the cell below, in a few sentences, with the numbers.

# %% [markdown] nbgrader={"grade": true, "grade_id": "written_no_fc_head", "locked": false, "points": 3, "schema_version": 3, "solution": true, "task": false}
# ### BEGIN SOLUTION
# AlexNet has 62,378,344 parameters, of which its FC layers hold 37,752,832 + 16,781,312
# + 4,097,000 = 58,631,144: 94%. The convolutions, which do the looking, are about 3.7M.
# GoogLeNet averages its last 7x7x1024 volume down to 1024 numbers (no parameters) and
# has one FC layer to 1000 classes: 1,025,000 parameters on top of about 6.0M in its
# convolutions (about 7.0M in all for the network of the paper, more than the notes'
# "4M", but a ninth of AlexNet's).
#
# For VGG-16, a global average pool turns 7x7x512 into 512 numbers, and a 512 -> 1000 FC
# layer has 512,000 weights + 1000 biases = 513,000 parameters, against 123,642,856 for
# the three FC layers: the network would shrink from 138.4M to about 15.2M parameters.
#
# ### BEGIN RUBRIC
# Full (3): 94% (58,631,144 of 62,378,344) for AlexNet; 513,000 against 123,642,856 for
# VGG's head; average pooling has no parameters. Counts from
# `convnets.summarize(convnets.zoo.get(name))` for 'alexnet', 'googlenet', 'vgg16'.
# Partial (1-2): the idea (the FC layers hold the parameters, pooling has none) with one
# of the two counts.
# Zero: no count and no reason.
# ### END RUBRIC
# ### END SOLUTION
