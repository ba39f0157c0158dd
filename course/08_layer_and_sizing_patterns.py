# ---
# jupyter:
#   jupytext:
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 8: layer patterns and sizing rules
#
# Most ConvNets are stacks of three layer types, CONV, POOL and FC, with a RELU after
# every CONV and every hidden FC. The notes write the common arrangements in a compact
# notation and give rules of thumb for the sizes: the input, the filters, the padding
# and the pooling. This lesson turns the notation into running networks, checks why
# small filters stacked beat one large filter, tests the rules of thumb on real
# networks (and sees what our library says when a network breaks them), and counts
# the memory that the rules cost.

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
from convnets import (
    GENERAL_PATTERN,
    NOTES_PATTERNS,
    Conv,
    ReLU,
    Sequential,
    SizingWarning,
    assert_close,
    avg_pool_forward,
    format_bytes,
    from_pattern,
    parse_pattern,
    receptive_field,
    summarize,
    zoo,
)
from scipy.signal import convolve2d
from sklearn.datasets import load_sample_image

rng = np.random.default_rng(8)


def sizing_warnings(function, *args, **kwargs):
    """(result, messages of the SizingWarnings that function(*args, **kwargs) emitted)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = function(*args, **kwargs)
    return result, [str(w.message) for w in caught if issubclass(w.category, SizingWarning)]


def value_error(function, *args, **kwargs):
    """The message of the ValueError that function(*args, **kwargs) raises, or None."""
    try:
        function(*args, **kwargs)
    except ValueError as err:
        return str(err)
    return None


# %% [markdown]
# ## 1. The pattern `INPUT -> [[CONV -> RELU]*N -> POOL?]*M -> [FC -> RELU]*K -> FC`
#
# `->` chains layers, `[...]*N` repeats a group `N` times and `POOL?` is an optional
# pooling layer. So the most common ConvNet is: `M` stages, each of `N` CONV-RELU pairs
# optionally followed by a pool; then `K` hidden FC layers; then the FC layer that gives
# the class scores. `parse_pattern` expands the notation (letters are given values),
# and `from_pattern` builds the network, following the sizing rules of section 3:
# 3x3 convs at stride 1 with padding 1, 2x2 max pools at stride 2.

# %%
print(GENERAL_PATTERN)
for values in ({"N": 2, "M": 3, "K": 2}, {"N": 1, "M": 0, "K": 1}, {"N": 3, "M": 0, "K": 0}):
    layers = parse_pattern(GENERAL_PATTERN, values)
    print(f"  {values}: {len(layers):2d} layers  {' -> '.join(layers)}")
expanded = parse_pattern(GENERAL_PATTERN, {"N": 2, "M": 3, "K": 2})
assert expanded == (["CONV", "RELU"] * 2 + ["POOL?"]) * 3 + ["FC", "RELU"] * 2 + ["FC"]
assert parse_pattern(GENERAL_PATTERN, {"N": 3, "M": 0, "K": 0}) == ["FC"]    # a linear classifier

# %% [markdown]
# The notes' four examples, built and run. The input is a batch of two real images, the
# two photographs bundled with scikit-learn reduced to CIFAR-10's `[32x32x3]` (a crop
# averaged over 13x13 blocks, as in lesson 1). Each network has 8 filters per CONV and
# 32 units per hidden FC, and random weights: we run the forward pass (scores for 10
# classes) and the training loss with its gradients, and print every volume's shape.

# %%
photos = [load_sample_image(name).astype(np.float64) / 255.0
          for name in ("china.jpg", "flower.jpg")]
crops = np.stack([p[5:5 + 416, 150:150 + 416].transpose(2, 0, 1) for p in photos])
images, _ = avg_pool_forward(crops, {"pool_height": 13, "pool_width": 13, "stride": 13})
images = images - images.mean(axis=(0, 2, 3), keepdims=True)
labels = np.array([3, 7])
print("input batch", images.shape)


def shape_trace(model):
    """'[32x32x3] -> CONV3-8 [32x32x8] -> ...' from the model's own shape tracing."""
    parts = [f"[{model.input_shape[2]}x{model.input_shape[1]}x{model.input_shape[0]}]"]
    for layer, _, (C, H, W) in model.trace():
        parts.append(f"{layer.kind} [{W}x{H}x{C}]")
    return " -> ".join(parts)


examples = {}
for pattern in NOTES_PATTERNS:
    model = from_pattern(pattern, (3, 32, 32), 10, filters=8, hidden=32, dtype=np.float64)
    scores = model.forward(images)
    loss, grads = model.loss(images, labels)
    examples[pattern] = model
    print(f"{pattern}\n    {shape_trace(model)}\n    {model.num_params():,} parameters, "
          f"scores {scores.shape}, loss {loss:.3f}")
    assert scores.shape == (2, 10) and np.isfinite(loss)
    assert sorted(grads) == sorted(model.params)
    assert all(grads[k].shape == v.shape for k, v in model.params.items())
kinds = [[layer.kind for layer in m] for m in examples.values()]
assert kinds[0] == ["FC"]                                  # N = M = K = 0
assert kinds[1] == ["CONV3-8", "RELU", "FC"]
assert kinds[2] == ["CONV3-8", "RELU", "POOL2"] * 2 + ["FC", "RELU", "FC"]
assert kinds[3] == (["CONV3-8", "RELU"] * 2 + ["POOL2"]) * 3 + ["FC", "RELU"] * 2 + ["FC"]

# %% [markdown]
# Are the gradients those of the loss? A spot check on the last example: nudge a few
# weights of each layer by `+-h` and compare the change of the loss with the gradient.

# %%
model = examples[NOTES_PATTERNS[3]]
_, grads = model.loss(images, labels)
h = 1e-6
for key in ("conv1.w", "conv6.w", "fc1.w", "fc3.b"):
    value = model.params[key]
    for index in [tuple(int(rng.integers(0, s)) for s in value.shape) for _ in range(2)]:
        old = value[index]
        value[index] = old + h
        plus = model.loss(images, labels)[0]
        value[index] = old - h
        minus = model.loss(images, labels)[0]
        value[index] = old
        numeric = (plus - minus) / (2 * h)
        print(f"{key:8s} {index}: finite difference {numeric: .8f}, "
              f"backward pass {grads[key][index]: .8f}")
        assert abs(numeric - grads[key][index]) <= 1e-6 * max(
            1e-3, abs(numeric) + abs(grads[key][index]))

# %%
fig, ax = plt.subplots(figsize=(10, 3.6))
for pattern, model in examples.items():
    sizes = [np.prod(model.input_shape)] + [np.prod(out) for _, _, out in model.trace()]
    ax.plot(range(len(sizes)), sizes, "o-", label=pattern.replace("INPUT -> ", ""))
ax.set_yscale("log")
ax.set_xlabel("layer (0 = input)")
ax.set_ylabel("numbers in the volume")
ax.set_title("The volume after each layer: CONV keeps the size, POOL divides it by 4")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# **Summary.** The notation describes a network completely enough to build it: the four
# examples (a linear classifier, one CONV layer, two CONV-POOL stages, three
# CONV-CONV-POOL stages with two hidden FC layers) all run on real images and give
# scores, a loss and gradients of the right shapes.

# %% [markdown]
# ## 2. Three 3x3 layers instead of one 7x7
#
# A neuron of a 3x3 CONV layer sees a 3x3 patch of its input; stack a second layer and
# its neurons see 5x5 of the original input, a third 7x7: the receptive field of one
# 7x7 layer. Which is better? We build both on `C = 64` channels and read their
# receptive fields and weights from the layers.

# %%
C = 64
stack = Sequential([Conv(C, 3, pad=1), ReLU(), Conv(C, 3, pad=1), ReLU(),
                    Conv(C, 3, pad=1), ReLU()], (C, 32, 32), dtype=np.float64)
single = Sequential([Conv(C, 7, pad=3), ReLU()], (C, 32, 32), dtype=np.float64)
s_stack, s_single = summarize(stack), summarize(single)
fields = [r.receptive_field for r in s_stack.rows[1:]]
print("receptive fields of the stack:", fields, "  of the single layer:",
      s_single.rows[1].receptive_field)
print(f"weights: stack {s_stack.total_weights:,} = {s_stack.total_weights // C**2} C^2, "
      f"single {s_single.total_weights:,} = {s_single.total_weights // C**2} C^2")
assert fields == [3, 5, 7] == receptive_field([3, 3, 3])
assert s_single.rows[1].receptive_field == 7
assert s_stack.total_weights == 3 * (C * (3 * 3 * C)) == 27 * C**2
assert s_single.total_weights == C * (7 * 7 * C) == 49 * C**2

# %% [markdown]
# Fewer parameters (27 against 49 per `C^2`) for the same view of the input. The other
# advantage is the non-linearities between the small layers. Without them, three 3x3
# convolutions would collapse into *one* 7x7 convolution: composing cross-correlations
# with filters `a`, `b`, `c` is a cross-correlation with the full convolution
# `a * b * c`, a 7x7 filter. One channel is enough to see it:

# %%
x1 = rng.standard_normal((1, 1, 20, 20))
a, b, c = (rng.standard_normal((1, 1, 3, 3)) for _ in range(3))
linear_stack = Sequential([Conv(1, 3, bias=False), Conv(1, 3, bias=False),
                           Conv(1, 3, bias=False)], (1, 20, 20), dtype=np.float64)
linear_stack.params = {"conv1.w": a, "conv2.w": b, "conv3.w": c}
combined = convolve2d(convolve2d(a[0, 0], b[0, 0]), c[0, 0])              # (7, 7)
one_layer = Sequential([Conv(1, 7, bias=False)], (1, 20, 20), dtype=np.float64)
one_layer.params = {"conv1.w": combined[None, None]}
print("three 3x3 filters without ReLU = one filter of shape", combined.shape)
assert_close(linear_stack.forward(x1), one_layer.forward(x1), rtol=1e-10, atol=1e-12)

# With the ReLUs the stack is not linear: f(x + y) != f(x) + f(y).
y1 = rng.standard_normal((1, 1, 20, 20))
relu_stack = Sequential([Conv(1, 3), ReLU(), Conv(1, 3), ReLU(), Conv(1, 3)], (1, 20, 20),
                        dtype=np.float64)
relu_stack.params = {"conv1.w": a, "conv1.b": np.zeros(1), "conv2.w": b,
                     "conv2.b": np.zeros(1), "conv3.w": c, "conv3.b": np.zeros(1)}
gap = np.abs(relu_stack.forward(x1 + y1) - relu_stack.forward(x1) - relu_stack.forward(y1))
print(f"with ReLUs: largest |f(x + y) - f(x) - f(y)| = {gap.max():.2f}")
assert gap.max() > 0.1

# %% [markdown]
# The price is memory: the stack keeps three intermediate volumes for backpropagation,
# the single layer one.

# %%
kept_stack = s_stack.total_activations - s_stack.rows[0].activations   # input left out
kept_single = s_single.total_activations - s_single.rows[0].activations
print(f"volumes kept per image on a [32x32x64] input: stack {kept_stack:,}, "
      f"single {kept_single:,}")
assert kept_stack == 3 * C * 32 * 32 == 3 * kept_single

# %% [markdown]
# **Summary.** Three stacked 3x3 CONV layers see 3, 5 and then 7 pixels wide, like one
# 7x7 layer, with `27 C^2` weights instead of `49 C^2` and two non-linearities in
# between (without them the stack would be a single 7x7 convolution). They need three
# times the activation memory.

# %% [markdown]
# ## 3. The sizing rules of thumb, checked
#
# **The input should be divisible by 2 many times.** The common sizes, and how many
# times each can be halved exactly:

# %%
def halvings(n):
    """How many times n can be halved exactly."""
    count = 0
    while n % 2 == 0:
        n, count = n // 2, count + 1
    return count


common = [32, 64, 96, 224, 384, 512]
print({n: halvings(n) for n in common})
assert all(halvings(n) >= 5 for n in common)          # five 2x2 pools fit
assert [halvings(n) for n in (100, 227, 300)] == [2, 0, 2]

# %% [markdown]
# Why it matters: a network with five 2x2 pools halves the input five times (a total
# stride of 32). With our layers' strict sizing, an input that cannot be halved that
# often is refused, with the layer and the arithmetic in the message. Networks that
# round instead (ResNet's layers crop the leftover rows, `fit='floor'`, like PyTorch)
# build on any size, and `summarize` warns with a `SizingWarning` that the volumes
# cannot be halved evenly all the way down.

# %%
five_pools = "INPUT -> [CONV -> RELU -> POOL]*5 -> FC"
for n in common + [100, 227, 300]:
    error = value_error(from_pattern, five_pools, (3, n, n), 10, filters=4)
    resnet = zoo.get("resnet18", input_shape=(3, n, n))          # shapes only
    summary, messages = sizing_warnings(summarize, resnet)
    print(f"{n:3d}: five pools {'refused' if error else 'fine   '}; ResNet-18 last volume "
          f"{summary.rows[-3].output_shape}, {len(messages)} warning(s)")
    if n in common:
        assert error is None and messages == []
    else:
        assert "is not an integer" in error
        assert len(messages) == 1 and "not divisible by the network's total stride 32" in (
            messages[0])
print("\n227, five pools:", value_error(from_pattern, five_pools, (3, 227, 227), 10))
print("\n227, ResNet-18:", sizing_warnings(summarize, zoo.get("resnet18",
                                                              input_shape=(3, 227, 227)))[1][0])

# %% [markdown]
# **Small filters, stride 1, and padding `P = (F - 1)/2`.** With that padding a stride-1
# CONV keeps the spatial size, so only the pools shrink the volume. `from_pattern`
# always pads that way (and refuses even filter sizes, for which no such `P` exists);
# `summarize` warns about a layer that does not.

# %%
x32 = rng.standard_normal((1, 3, 32, 32))
for F in (1, 3, 5, 7):
    net = from_pattern("INPUT -> CONV -> RELU -> FC", (3, 32, 32), 10, filters=4,
                       filter_size=F)
    conv = net.layers[0]
    out = net.activations(x32)[0][1]
    print(f"F = {F}: P = {conv.pad}, output {out.shape[2:]}")
    assert conv.pad == (F - 1) // 2 and out.shape[2:] == (32, 32)
print(value_error(from_pattern, "INPUT -> CONV -> FC", (3, 32, 32), 10, filter_size=4))
_, messages = sizing_warnings(summarize, Sequential([Conv(8, 5, pad=1)], (3, 32, 32)))
print("SizingWarning:", messages[0])
assert len(messages) == 1 and "P = (F - 1)/2 = 2" in messages[0]

# %% [markdown]
# **Summary.** 32, 64, 96, 224, 384 and 512 can all be halved at least five times, so
# five 2x2 pools fit them exactly; 100, 227 or 300 cannot, and our library says so
# (an error for strict layers, a `SizingWarning` for layers that round). With
# `P = (F - 1)/2` a stride-1 conv keeps the size, for any odd `F`.

# %% [markdown]
# ## 4. What the rules cost in memory
#
# The notes' example: a 224x224x3 image through three 3x3 CONV layers of 64 filters
# with padding 1 gives three `[224x224x64]` volumes, "about 10 million activations, or
# 72MB of memory (per image, for both activations and gradients)". We count with
# `summarize` (the ReLUs work in place and add no volume; the input is counted
# separately).

# %%
three = Sequential([Conv(64, 3, pad=1), ReLU(), Conv(64, 3, pad=1), ReLU(),
                    Conv(64, 3, pad=1), ReLU()], (3, 224, 224))
s_three = summarize(three)
volumes = s_three.total_activations - s_three.rows[0].activations
with_gradients = 2 * volumes * 4                        # a value and a gradient, float32
print(f"three [224x224x64] volumes: {volumes:,} activations")
print(f"with their gradients in float32: {with_gradients:,} bytes = "
      f"{with_gradients / 1024**2:.1f} MiB = {with_gradients / 1e6:.1f} MB; "
      f"format_bytes: {format_bytes(with_gradients)}")
assert volumes == 3 * 224 * 224 * 64 == 9_633_792
assert round(with_gradients / 1024**2, 1) == 73.5
# The notes' 72MB: 9 million activations (9,633,792 rounded down) x 8 bytes, in 10^6 bytes.
assert volumes // 10**6 * 8 == 72 and round(with_gradients / 1e6, 1) == 77.1

# %% [markdown]
# The figure is 9,633,792 activations, "about 10 million" indeed; with a gradient each
# in float32 (8 bytes per activation) that is 77,070,336 bytes, **73.5 MiB** in the
# notes' own convention (divide by 1024 for each unit, lesson 10, which is what our
# `format_bytes` prints as "MB"), or 77.1 MB in powers of ten. The notes' "72MB"
# matches neither: it is 9 million (the count rounded *down*) times 8 bytes, divided
# by `10^6`. A small slip in rounding; the point stands.
#
# This is why networks compromise on the first layer. The first volume of VGG-16 (3x3
# filters, stride 1) against ZFNet's (7x7, stride 2) and AlexNet's (11x11, stride 4):

# %%
for name in ("vgg16", "zfnet", "alexnet"):
    row = summarize(zoo.get(name), warn=False).rows[1]
    print(f"{name:8s} {row.name:10s} -> {row.output_shape}: {row.activations:>9,} activations")
first = {n: summarize(zoo.get(n), warn=False).rows[1].activations
         for n in ("vgg16", "zfnet", "alexnet")}
assert first["vgg16"] > 2 * first["zfnet"] > 4 * first["alexnet"]

fig, ax = plt.subplots(figsize=(7, 2.6))
ax.barh(list(first), np.array(list(first.values())) / 1e6, color=["C0", "C1", "C2"])
ax.set_xlabel("activations of the first CONV layer, per image (millions)")
ax.set_title("A large stride in the first layer saves memory")
fig.tight_layout()
plt.show()

# %% [markdown]
# **Summary.** Three 3x3x64 layers on 224x224 make 9,633,792 activations, 73.5 MiB with
# their gradients in float32 (the notes round to "72MB"). A larger filter with a larger
# stride in the first layer, as in ZFNet (7x7, stride 2) and AlexNet (11x11, stride 4),
# shrinks the first volume about 3 and 11 times.

# %% [markdown]
# ## Summary
#
# - Most ConvNets follow `INPUT -> [[CONV -> RELU]*N -> POOL?]*M -> [FC -> RELU]*K -> FC`.
# - Three 3x3 layers see as far as one 7x7 with fewer weights and more
#   non-linearities, at the price of more activations to keep for the backward pass.
# - The rules of thumb (3x3 convs at stride 1 with `P = 1`, 2x2 pools at stride 2,
#   sizes divisible by 2 many times) keep every size whole; breaking them costs memory
#   or drops pixels, and `summarize` warns about it.

# %% [markdown]
# ## Exercises
#
# 1. Three stacked `3x3` CONV layers, each with `C = 32` channels in and out: how many
#    weights do they have together (without biases)?
# 2. What is the receptive field of five stacked `3x3` layers with stride 1?
# 3. Which zero-padding keeps the size of the input with `F = 7` and `S = 1`?
#
# Put your answers in place of `None` below and run the cell: `exercises.answer` says
# right, wrong, or how far off, without giving the answer away. `exercises.hint(n)`
# gives a hint and `exercises.show_solution(n)` the worked solution; the collapsed cell
# below sets the exercises up (and holds the solutions: peek only when done).
# On the HTML pages, type an answer into the box under a question and press
# *check* instead.

# %% jupyter={"source_hidden": true}
from convnets.teach import Exercises  # noqa: E402
from IPython.display import display  # noqa: E402

exercises = Exercises("Lesson 8")
exercises.add(1, "Weights of three 3x3 layers with C = 32", expected=3 * 9 * 32 * 32,
              hint="Each layer has C filters of 3x3xC.",
              solution="3 * (3*3*32) * 32 = 27 * 32^2 = 27,648, against 49 * 32^2 = 50,176 "
                       "for one 7x7 layer.")
exercises.add(2, "Receptive field of five stacked 3x3 layers",
              expected=receptive_field([3] * 5)[-1],
              hint="Each 3x3 layer with stride 1 adds 2 to the receptive field.",
              solution="1 + 5 * 2 = 11 pixels.")
exercises.add(3, "Padding that keeps the size with F = 7", expected=3,
              hint="P = (F - 1)/2.",
              solution="(7 - 1)/2 = 3.")
display(exercises)

# %%
exercises.answer(1, None)   # your answer to exercise 1
exercises.answer(2, None)   # your answer to exercise 2
exercises.answer(3, None)   # your answer to exercise 3
