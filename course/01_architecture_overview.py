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
# # Lesson 1: the architecture of a ConvNet
#
# A convolutional network is an ordinary neural network, a chain of differentiable
# layers from pixels to class scores, with one assumption built in: **the input is an
# image**. This lesson shows why that assumption is worth building in (fully-connected
# layers do not scale to images), how a ConvNet arranges its numbers (3-D volumes), and
# runs a complete small network, `INPUT -> CONV -> RELU -> POOL -> FC`, so that every
# shape is read off a real forward pass rather than written down by hand.
#
# Every number in this lesson is computed by the code below and checked by an `assert`
# in the same cell: if a claim were wrong, the notebook would stop there.
#
# **Conventions.** Arrays are NCHW, `(N, C, H, W)`: a batch of `N` images with `C`
# channels (the *depth*) of `H x W` pixels. The notes write a volume as
# `[width x height x depth]`, so their `[32x32x3]` is our `(1, 3, 32, 32)` for one image.

# %%
import matplotlib.pyplot as plt
import numpy as np
from convnets import (
    affine_forward,
    avg_pool_forward,
    conv_forward_fast,
    max_pool_forward_fast,
    relu_forward,
)
from convnets.data import CIFAR10_CLASSES
from convnets.visualize import signed_map
from sklearn.datasets import load_sample_image


def notes_shape(volume):
    """The notes' notation for one image's volume: (1, C, H, W) -> '[WxHxC]'."""
    _, C, H, W = volume.shape
    return f"[{W}x{H}x{C}]"


rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. Fully-connected layers do not scale to images
#
# In a regular network every neuron of a hidden layer is connected to *every* input.
# An image enters as one long vector of all its pixel values, so a single neuron needs
# one weight per pixel per colour channel. We build that neuron as a real
# fully-connected (affine) layer with one output and count its weights. The layer
# flattens each image itself, so the weight matrix must have exactly one row per input
# number, or the layer refuses to run.

# %%
def one_fc_neuron(height, width, depth=3):
    """A fully-connected layer with one neuron, applied to one image; its weights."""
    image = rng.random((1, depth, height, width))
    w = rng.standard_normal((image[0].size, 1)) * 0.01   # one column: one neuron
    b = np.zeros(1)
    score, _ = affine_forward(image, w, b)
    assert score.shape == (1, 1)                           # one image, one output
    return w


w_cifar = one_fc_neuron(32, 32)           # a CIFAR-10 image, [32x32x3]
w_large = one_fc_neuron(200, 200)         # a modest photograph, [200x200x3]
print(f"one neuron on [32x32x3]:   {w_cifar.size:>9,} weights")
print(f"one neuron on [200x200x3]: {w_large.size:>9,} weights")
assert w_cifar.size == 32 * 32 * 3 == 3072
assert w_large.size == 200 * 200 * 3 == 120_000

# %% [markdown]
# A hidden layer has many such neurons, and the count multiplies. Compare a hidden
# layer of 100 fully-connected neurons with a convolutional layer of 100 filters of
# size 5x5 (introduced in lesson 2), whose weights do not depend on the image size at
# all:

# %%
for side in (32, 200, 1000):
    fc_weights = 100 * side * side * 3
    conv_weights = 100 * 5 * 5 * 3
    print(f"[{side}x{side}x3]: 100 FC neurons {fc_weights:>13,} weights, "
          f"100 5x5 conv filters {conv_weights:,}")
assert 100 * 200 * 200 * 3 == 100 * w_large.size == 12_000_000
assert 100 * 5 * 5 * 3 == 7_500

# %% [markdown]
# **Summary.** One fully-connected neuron needs `W*H*D` weights: 3,072 on a CIFAR-10
# image, 120,000 on a 200x200 photograph, and a layer of them quickly needs millions.
# That is slow and, worse, invites overfitting. ConvNets replace this full connectivity
# with small filters that are reused across the image.

# %% [markdown]
# ## 2. Layers transform 3-D volumes
#
# A ConvNet keeps the spatial layout of its input. Every layer takes a 3-D **volume**
# of numbers (width, height, depth) and returns another volume. For the input image the
# depth is the 3 colour channels; after a convolutional layer the depth is the number
# of filters, each depth slice holding one filter's response at every position.
#
# We need a real image. scikit-learn ships two photographs (427x640 pixels, no
# download). To make a CIFAR-sized `[32x32x3]` input we crop a square and shrink it
# by averaging 13x13 blocks of pixels, which is exactly what an average-pooling layer
# with a 13x13 window and stride 13 computes (lesson 6).

# %%
photo = load_sample_image("china.jpg").astype(np.float64) / 255.0   # (427, 640, 3)
crop = photo[5:5 + 416, 150:150 + 416]                              # (416, 416, 3)
volume = crop.transpose(2, 0, 1)[None]                              # (1, 3, 416, 416)
image, _ = avg_pool_forward(volume, {"pool_height": 13, "pool_width": 13, "stride": 13})
print("photo", photo.shape, "-> crop as NCHW", volume.shape, "-> image", image.shape,
      "=", notes_shape(image))
assert image.shape == (1, 3, 32, 32) and notes_shape(image) == "[32x32x3]"
# Average pooling of the crop is the block mean, computed here a second way.
block_means = crop.reshape(32, 13, 32, 13, 3).mean(axis=(1, 3)).transpose(2, 0, 1)
assert np.allclose(image[0], block_means)

# %%
fig, axes = plt.subplots(1, 4, figsize=(10, 2.8))
axes[0].imshow(image[0].transpose(1, 2, 0))
axes[0].set_title("input [32x32x3]")
for c, (ax, name) in enumerate(zip(axes[1:], ["red", "green", "blue"], strict=True)):
    ax.imshow(image[0, c], cmap="gray", vmin=0, vmax=1)
    ax.set_title(f"depth slice {c} ({name})")
for ax in axes:
    ax.set_axis_off()
fig.suptitle("A volume is a stack of depth slices")
plt.show()

# %% [markdown]
# **Summary.** A layer's input and output are volumes `(C, H, W)` per image; the depth
# `C` is 3 for an RGB image and the number of filters after a convolution. The
# receptive fields and shapes below all refer to these three axes.

# %% [markdown]
# ## 3. A complete small ConvNet: INPUT -> CONV -> RELU -> POOL -> FC
#
# The smallest useful ConvNet for CIFAR-10 has one layer of each kind:
#
# * **CONV** with 12 filters. Each filter is small in space (here 3x3) and spans the
#   full depth of its input (3). Zero-padding of 1 keeps the 32x32 size.
# * **RELU**, `max(0, x)` elementwise: the size does not change.
# * **POOL**, max over 2x2 windows with stride 2: halves width and height.
# * **FC**, a fully-connected layer from everything that is left to the 10 class
#   scores.
#
# We give the network hand-made filters so that its activation maps mean something:
# four edge detectors on brightness (vertical, horizontal and the two diagonals), the
# same four with the opposite sign (after the ReLU each keeps only one polarity of
# edge), three colour-contrast detectors and one local brightness average. The FC
# weights are random: this network is not trained (lesson 11 trains one), it is here
# to show what each layer does to the shape of the data.
#
# Each layer is one function of `convnets` (`conv_forward_fast`, `relu_forward`,
# `max_pool_forward_fast`, `affine_forward`). Here they are black boxes; the next
# lessons open them one by one: lessons 2-4 the convolution (lesson 4 computes one by
# hand), lesson 5 how the `_fast` convolution is made fast, lesson 6 the pooling.

# %%
def make_filters():
    """12 hand-made 3x3x3 filters: edges, reversed edges, colour contrasts, brightness."""
    sobel = np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]]) / 4
    diagonal = np.array([[0.0, 1.0, 2.0], [-1.0, 0.0, 1.0], [-2.0, -1.0, 0.0]]) / 4
    edges = [sobel, sobel.T, diagonal, diagonal[:, ::-1]]
    filters = []
    for kernel in edges + [-k for k in edges]:
        filters.append(np.stack([kernel, kernel, kernel]) / 3)   # same on R, G, B
    for c in range(3):                      # this colour minus the other two, centre only
        f = np.zeros((3, 3, 3))
        f[:, 1, 1] = -0.5
        f[c, 1, 1] = 1.0
        filters.append(f)
    filters.append(np.full((3, 3, 3), 1.0 / 27))                 # local brightness
    return np.stack(filters)


names = ["vertical edge", "horizontal edge", "diagonal /", "diagonal \\",
         "vertical edge (-)", "horizontal edge (-)", "diagonal / (-)", "diagonal \\ (-)",
         "red", "green", "blue", "brightness"]
w_conv = make_filters()
b_conv = np.zeros(12)
w_fc = rng.standard_normal((12 * 16 * 16, 10)) * 0.01
b_fc = np.zeros(10)
print("conv filters", w_conv.shape, " FC weights", w_fc.shape)

# %%
conv_out, _ = conv_forward_fast(image, w_conv, b_conv, {"stride": 1, "pad": 1})
relu_out, _ = relu_forward(conv_out)
pool_out, _ = max_pool_forward_fast(relu_out, {"pool_height": 2, "pool_width": 2, "stride": 2})
scores, _ = affine_forward(pool_out, w_fc, b_fc)
score_volume = scores.reshape(1, 10, 1, 1)      # the 10 scores as a [1x1x10] volume

stages = [("INPUT", image), ("CONV", conv_out), ("RELU", relu_out), ("POOL", pool_out),
          ("FC", score_volume)]
for name, volume in stages:
    print(f"{name:6s} {notes_shape(volume):12s} NCHW {volume.shape}")
shapes = [notes_shape(volume) for _, volume in stages]
assert shapes == ["[32x32x3]", "[32x32x12]", "[32x32x12]", "[16x16x12]", "[1x1x10]"]
assert np.all(relu_out >= 0) and np.array_equal(relu_out, np.maximum(conv_out, 0))

# %% [markdown]
# The activations, laid out as in the notes' figure of an example ConvNet: each row
# is one volume, shown as its depth slices. One colour scale per row, so that the
# slices of a row compare: the CONV outputs have both signs (blue negative, red
# positive, white 0); after the ReLU only the positive part is left, shown in grey
# from black (0) to white, on the same scale for RELU and POOL. The frame that many
# CONV maps have is the zero padding: at the border a filter sees zeros next to real
# pixels, which it reads as an edge or a darker patch. The class scores are
# meaningless (the FC weights are random); they are there to show the shape.

# %%
short_names = ["vert.", "horiz.", "diag. /", "diag. \\", "-vert.", "-horiz.", "-diag. /",
               "-diag. \\", "red", "green", "blue", "bright"]
fig = plt.figure(figsize=(11, 7), layout="constrained")
top, bottom = fig.subfigures(2, 1, height_ratios=[1.5, 3])
ax_input, ax_scores = top.subplots(1, 2, width_ratios=[1, 4])
ax_input.imshow(image[0].transpose(1, 2, 0))
ax_input.set_title("INPUT [32x32x3]")
ax_input.set_axis_off()
ax_scores.bar(range(10), scores[0])
ax_scores.axhline(0, color="k", lw=0.8)
ax_scores.set_xticks(range(10), CIFAR10_CLASSES, rotation=30)
ax_scores.set_ylabel("score")
ax_scores.set_title("FC: the 10 class scores [1x1x10] (random weights, so meaningless)")
conv_limit = np.abs(conv_out).max()                 # one scale for the CONV row
positive_max = relu_out.max()                       # one scale for RELU and POOL
for row, (label, volume) in enumerate([("CONV", conv_out), ("RELU", relu_out),
                                       ("POOL", pool_out)], start=1):
    axes = [bottom.add_subplot(3, 12, 12 * (row - 1) + d + 1) for d in range(12)]
    for d, ax in enumerate(axes):
        if label == "CONV":
            shown = signed_map(ax, volume[0, d], limit=conv_limit, colorbar=False)
            ax.set_title(short_names[d], fontsize=8)
        else:
            shown = ax.imshow(volume[0, d], cmap="gray", vmin=0, vmax=positive_max)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0].set_ylabel(f"{label}\n{notes_shape(volume)}", rotation=0, ha="right",
                       va="center")
    bottom.colorbar(shown, ax=axes, fraction=0.02, pad=0.01)
plt.show()

# %% [markdown]
# Only two of the four layers have parameters. The CONV and FC layers compute their
# output from the input *and* from weights and biases, which training adjusts; RELU and
# POOL are fixed functions with only hyperparameters (the pooling window and stride).

# %%
parameters = {
    "CONV": w_conv.size + b_conv.size,
    "RELU": 0,
    "POOL": 0,
    "FC": w_fc.size + b_fc.size,
}
for name, count in parameters.items():
    print(f"{name:5s} {count:>6,} parameters")
assert parameters["CONV"] == 12 * (3 * 3 * 3) + 12 == 336
assert parameters["FC"] == (16 * 16 * 12) * 10 + 10 == 30_730

# %% [markdown]
# ## Summary
#
# A ConvNet is a list of layers, each turning one volume into another:
# `[32x32x3] -> CONV -> [32x32x12] -> RELU -> [32x32x12] -> POOL -> [16x16x12] -> FC ->
# [1x1x10]`, with every shape above read from the arrays the layers returned. CONV and
# FC have parameters; RELU and POOL do not. The next lessons open up the CONV layer.

# %% [markdown]
# ## Exercises
#
# 1. A fully-connected neuron looks at a whole `64x64x3` image. How many weights does it
#    have (without the bias)?
# 2. A CONV layer with 12 filters of `3x3`, stride 1 and zero-padding 1 reads a
#    `32x32x3` volume. Give the output volume as `(width, height, depth)`.
# 3. A `2x2` max pool with stride 2 follows that layer. How many numbers does its
#    output volume hold?
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

exercises = Exercises("Lesson 1")
exercises.add(1, "Weights of a fully-connected neuron on 64x64x3", expected=64 * 64 * 3,
              hint="One weight per number of the input volume.",
              solution="64 * 64 * 3 = 12,288 weights, four times the 3,072 of a 32x32x3 "
                       "image: the count grows with the image's area.")
exercises.add(2, "Output volume of 12 filters 3x3, S=1, P=1 on 32x32x3",
              expected=(32, 32, 12),
              hint="(W - F + 2P)/S + 1 for width and height; the depth is the number of "
                   "filters.",
              solution="(32 - 3 + 2)/1 + 1 = 32 in width and height, and one depth slice "
                       "per filter: 32 x 32 x 12.")
exercises.add(3, "Numbers after a 2x2 stride-2 max pool", expected=16 * 16 * 12,
              hint="Pooling halves width and height and keeps the depth.",
              solution="16 x 16 x 12 = 3,072 numbers (a quarter of 12,288).")
display(exercises)

# %%
exercises.answer(1, None)   # your answer to exercise 1
exercises.answer(2, None)   # your answer to exercise 2
exercises.answer(3, None)   # your answer to exercise 3
