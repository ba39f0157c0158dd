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
# # Lesson 2: the convolutional layer I, local connectivity and spatial arrangement
#
# A convolutional (CONV) layer holds a set of small filters. Each filter is slid over
# the width and height of its input volume, and at every position it computes a dot
# product with the block of input under it; the results form one 2-D activation map
# per filter, stacked along the depth of the output volume.
#
# This lesson is about the *geometry* of that layer: which inputs one output neuron
# sees (local connectivity), and how many neurons fit along each axis (depth, stride,
# zero-padding and the output-size formula). It ends with the layer everybody quotes,
# the first layer of AlexNet, and the mystery of its input size.
#
# Layout: NCHW, `x (N, C, H, W)`, filters `w (F, C, HH, WW)`, biases `b (F,)`, and
# `conv_param = {'stride': S, 'pad': P}`.

# %%
import matplotlib.pyplot as plt
import numpy as np
from convnets import (
    conv_backward_naive,
    conv_forward_fast,
    conv_forward_naive,
    conv_output_size,
)
from matplotlib.patches import Rectangle

rng = np.random.default_rng(2)

# %% [markdown]
# ## 1. Local connectivity
#
# A neuron of a fully-connected layer sees the whole image. A neuron of a CONV layer
# sees only a small region of it, its **receptive field** (the filter size, `F x F`),
# but always **through the full depth** of the input. So a 5x5 filter on a `[32x32x3]`
# image has 5x5x3 weights: local in space, full in depth.
#
# We can *measure* which inputs a neuron is connected to instead of trusting a
# formula: the gradient of one output with respect to the input is nonzero exactly on
# the inputs that output depends on. The backward pass of the layer computes it (here
# the plain loops of `conv_backward_naive`; lesson 5 makes them fast).

# %%
def connections(input_shape, filter_size, position, filter_index=0, pad=0):
    """The inputs one output neuron is connected to, from the layer's backward pass.

    Returns a boolean mask of the input's shape (C, H, W) and the layer's filters.
    """
    C = input_shape[0]
    x = rng.standard_normal((1, *input_shape))
    w = rng.standard_normal((4, C, filter_size, filter_size))   # 4 filters, nonzero weights
    b = rng.standard_normal(4)
    out, cache = conv_forward_naive(x, w, b, {"stride": 1, "pad": pad})
    one_neuron = np.zeros(out.shape)
    one_neuron[(0, filter_index, *position)] = 1.0
    dx, _, _ = conv_backward_naive(one_neuron, cache)
    return dx[0] != 0, w


# Example 1: a 5x5 receptive field on a [32x32x3] input.
mask, w = connections((3, 32, 32), 5, position=(10, 20))
print("weights per filter:", w[0].size, "+ 1 bias;  inputs the neuron is connected to:",
      mask.sum(), "spanning depth", np.flatnonzero(mask.any(axis=(1, 2))).tolist())
assert w[0].size == 5 * 5 * 3 == 75 and mask.sum() == 75
assert mask.any(axis=(1, 2)).all()                                 # every channel

# %%
# Example 2: a 3x3 receptive field on a [16x16x20] input.
mask2, w2 = connections((20, 16, 16), 3, position=(7, 7))
print("connections:", mask2.sum(), "  weights per filter:", w2[0].size)
assert mask2.sum() == 3 * 3 * 20 == 180 == w2[0].size

# %% [markdown]
# All the neurons at the same spatial position, one per filter, look at the same
# region: they form a **depth column** (or *fibre*). Only their weights differ.

# %%
masks = [connections((3, 32, 32), 5, (10, 20), filter_index=f)[0] for f in range(4)]
assert all(np.array_equal(m, masks[0]) for m in masks)
rows, cols = np.nonzero(masks[0].any(axis=0))
print("the depth column at (10, 20) sees rows", rows.min(), "to", rows.max(),
      "and columns", cols.min(), "to", cols.max(), "of the input")
assert (rows.min(), rows.max(), cols.min(), cols.max()) == (10, 14, 20, 24)

# %%
fig, axes = plt.subplots(1, 3, figsize=(10, 3.4))
for ax, position in zip(axes, [(0, 0), (10, 20), (27, 5)], strict=True):
    m, _ = connections((3, 32, 32), 5, position)
    ax.imshow(m.sum(axis=0), cmap="Blues", vmin=0, vmax=3)
    ax.set_title(f"output ({position[0]}, {position[1]}): {m.sum()} inputs", fontsize=9)
    ax.set_xticks([0, 15, 31])
    ax.set_yticks([0, 15, 31])
fig.suptitle("The input pixels one neuron of a 5x5 CONV layer depends on "
             "(all 3 channels each)")
plt.show()

# %% [markdown]
# **Summary.** A CONV neuron is connected to an `F x F` region of its input, through the
# input's full depth `D`: `F*F*D` weights and one bias (75 + 1 for 5x5 on `[32x32x3]`,
# 180 connections for 3x3 on `[16x16x20]`, measured above from gradients). The neurons
# of one depth column share the region but not the weights.

# %% [markdown]
# ## 2. Depth, stride, zero-padding and the output size
#
# Three hyperparameters fix the size of the output volume:
#
# * the **depth** `K`: the number of filters, one depth slice of output each;
# * the **stride** `S`: how many pixels the filter jumps between positions;
# * the **zero-padding** `P`: zeros added around the border of the input.
#
# Along one axis an input of size `W` padded to `W + 2P` holds the first filter
# position at 0, the next at `S`, and so on while the filter of size `F` still fits;
# that is `(W - F + 2P)/S + 1` positions, *if* this is a whole number. Our library
# computes it with `conv_output_size`, and the layer itself uses the same rule.

# %%
x7 = rng.standard_normal((1, 1, 7, 7))
w3 = rng.standard_normal((1, 1, 3, 3))
sizes = {}
for S in (1, 2):
    out, _ = conv_forward_fast(x7, w3, np.zeros(1), {"stride": S, "pad": 0})
    sizes[S] = out.shape[2:]
    print(f"7x7 input, 3x3 filter, stride {S}: formula {conv_output_size(7, 3, S=S)}, "
          f"layer output {out.shape[2]}x{out.shape[3]}")
assert sizes == {1: (5, 5), 2: (3, 3)}
assert (conv_output_size(7, 3, S=1), conv_output_size(7, 3, S=2)) == (5, 3)

# %% [markdown]
# ### The 1-D example
#
# With one spatial axis everything fits on a line. Input size `W = 5`, one neuron with
# receptive field `F = 3`, zero-padding `P = 1`, weights `[1, 0, -1]` and bias 0. The
# input values are ours to choose; we take `[1, 2, -1, 1, -3]`.
#
# Our layer is 2-D and pads all four sides, so a 1-D signal is passed as an image of
# height 1 with the zero-padding applied to the row beforehand.

# %%
signal = [1.0, 2.0, -1.0, 1.0, -3.0]
weights = [1.0, 0.0, -1.0]


def conv_1d(signal, weights, stride, pad):
    """A 1-D convolution computed by the 2-D conv layer: one row, one channel, one filter."""
    row = np.pad(np.asarray(signal), pad).reshape(1, 1, 1, -1)
    w = np.asarray(weights).reshape(1, 1, 1, -1)
    out, _ = conv_forward_naive(row, w, np.zeros(1), {"stride": stride, "pad": 0})
    return out.ravel()


def conv_1d_by_hand(signal, weights, stride, pad):
    """The same, as plain Python arithmetic: position after position."""
    padded = [0.0] * pad + list(signal) + [0.0] * pad
    F = len(weights)
    return [sum(weights[k] * padded[start + k] for k in range(F))
            for start in range(0, len(padded) - F + 1, stride)]


for S in (1, 2):
    out = conv_1d(signal, weights, S, pad=1)
    print(f"S = {S}: size (5 - 3 + 2)/{S} + 1 = {conv_output_size(5, 3, S=S, P=1)}, "
          f"outputs {out.tolist()}")
    assert out.tolist() == conv_1d_by_hand(signal, weights, S, pad=1)
assert conv_1d(signal, weights, 1, pad=1).size == 5
assert conv_1d(signal, weights, 2, pad=1).size == 3
# Stride 2 keeps every other output of stride 1.
assert conv_1d(signal, weights, 2, pad=1).tolist() == conv_1d(signal, weights, 1, 1)[::2].tolist()

# %% [markdown]
# Stride 3 does not fit: `(5 - 3 + 2)/3 + 1` is not a whole number, so some inputs
# would be left over on one side. A library could silently crop or pad to make it fit;
# ours refuses, with the formula and the numbers in the message.

# %%
def value_error(function, *args, **kwargs):
    """The message of the ValueError that function(*args, **kwargs) raises, or None."""
    try:
        function(*args, **kwargs)
    except ValueError as err:
        return str(err)
    return None


size_error = value_error(conv_output_size, 5, 3, S=3, P=1)
print("conv_output_size(5, 3, S=3, P=1) raised ValueError:", size_error)
# The layer itself, on a 5x5 image with 3x3 filters and P = 1:
layer_error = value_error(conv_forward_fast, np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 3, 3)),
                          np.zeros(1), {"stride": 3, "pad": 1})
print("conv_forward_fast(..., stride 3, pad 1) raised ValueError:", layer_error)
assert (5 - 3 + 2) % 3 != 0
assert size_error is not None and layer_error is not None
assert "(5 - 3 + 2)/3 + 1 = 2.333 is not an integer" in size_error
assert "(5 - 3 + 2)/3 + 1 = 2.333 is not an integer" in layer_error

# %%
def draw_1d(ax, signal, weights, stride, pad, title):
    """The padded input row, each filter position as a bracket, and the outputs."""
    padded = [0.0] * pad + list(signal) + [0.0] * pad
    outputs = conv_1d(signal, weights, stride, pad)
    F = len(weights)
    levels = -(-F // stride)          # brackets that overlap go on different levels
    for i, v in enumerate(padded):
        zero = i < pad or i >= len(padded) - pad
        ax.add_patch(Rectangle((i, 0), 1, 1, facecolor="0.9" if zero else "#cfe2f3",
                               edgecolor="k"))
        ax.text(i + 0.5, 0.5, f"{v:g}", ha="center", va="center")
    for j, value in enumerate(outputs):
        start = j * stride
        centre = start + F / 2
        top = 1.2 + 0.2 * (j % levels)
        ax.plot([start + 0.1, start + 0.1, start + F - 0.1, start + F - 0.1],
                [1.1, top, top, 1.1], color=f"C{j % levels + 1}")
        ax.plot([centre, centre], [top, 1.9], color=f"C{j % levels + 1}", lw=0.8)
        ax.add_patch(Rectangle((centre - 0.5, 1.9), 1, 1, facecolor="#fff2cc",
                               edgecolor="k", zorder=3))
        ax.text(centre, 2.4, f"{value:g}", ha="center", va="center", zorder=4)
    ax.set_xlim(-0.2, len(padded) + 0.2)
    ax.set_ylim(-0.2, 3.1)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(title, fontsize=10)


fig, axes = plt.subplots(1, 2, figsize=(11, 2.6))
draw_1d(axes[0], signal, weights, 1, 1, "S = 1: 5 outputs")
draw_1d(axes[1], signal, weights, 2, 1, "S = 2: 3 outputs")
fig.suptitle("W = 5, F = 3, P = 1, weights [1, 0, -1]: input (blue, zeros grey) "
             "and outputs (yellow)")
plt.show()

# %% [markdown]
# ### Zero-padding that keeps the size
#
# With stride 1 the formula gives `W - F + 2P + 1`, which equals `W` exactly when
# `P = (F - 1)/2`. So `F = 3` takes `P = 1`, `F = 5` takes `P = 2`, and so on (odd
# filter sizes make `P` whole). We check it with the layer on a non-square input.

# %%
x = rng.standard_normal((1, 2, 9, 11))
for F in (1, 3, 5, 7):
    P = (F - 1) // 2
    out, _ = conv_forward_fast(x, rng.standard_normal((4, 2, F, F)), np.zeros(4),
                               {"stride": 1, "pad": P})
    print(f"F = {F}, P = (F - 1)/2 = {P}: input 9x11 -> output {out.shape[2]}x{out.shape[3]}")
    assert out.shape[2:] == x.shape[2:]

# %% [markdown]
# ### When the hyperparameters do not fit
#
# `W = 10`, no padding, `F = 3`, `S = 2`: the formula gives 4.5 neurons. Such a setting
# is invalid; the layer raises and says why.

# %%
value = (10 - 3 + 2 * 0) / 2 + 1
print("(W - F + 2P)/S + 1 =", value)
message = value_error(conv_forward_fast, np.zeros((1, 1, 10, 10)), np.zeros((1, 1, 3, 3)),
                      np.zeros(1), {"stride": 2, "pad": 0})
print("ValueError:", message)
assert value == 4.5
assert message is not None and "(10 - 3 + 0)/2 + 1 = 4.5 is not an integer" in message

# %% [markdown]
# **Summary.** Along each axis a CONV layer has `(W - F + 2P)/S + 1` neurons: 5 and 3 for
# a 7x7 input with a 3x3 filter at strides 1 and 2; 5 and 3 in the 1-D example, where
# stride 3 does not fit. `P = (F - 1)/2` with stride 1 keeps the size. When the formula
# is not a whole number (4.5 for `W = 10, F = 3, S = 2`) our layer raises `ValueError`
# rather than guessing how to crop.

# %% [markdown]
# ## 3. A real example: the first layer of AlexNet
#
# The network that won ImageNet in 2012 takes `[227x227x3]` images; its first CONV
# layer has `K = 96` filters of size `F = 11`, stride `S = 4` and no padding. We run it
# (random weights: the shapes are the point).

# %%
x_alex = rng.standard_normal((1, 3, 227, 227))
w_alex = rng.standard_normal((96, 3, 11, 11))
out_alex, _ = conv_forward_fast(x_alex, w_alex, np.zeros(96), {"stride": 4, "pad": 0})
print("(227 - 11)/4 + 1 =", (227 - 11) / 4 + 1, "  output volume (C, H, W):",
      out_alex.shape[1:])
assert out_alex.shape[1:] == (96, 55, 55)

# %% [markdown]
# The AlexNet paper says its inputs were 224x224. That cannot be the input of this
# layer: `(224 - 11)/4 + 1` is not a whole number.

# %%
print("(224 - 11)/4 + 1 =", (224 - 11) / 4 + 1)
alex_error = value_error(conv_forward_fast, np.zeros((1, 3, 224, 224)), w_alex,
                         np.zeros(96), {"stride": 4, "pad": 0})
print("ValueError:", alex_error)
assert (224 - 11) / 4 + 1 == 54.25
assert alex_error is not None and "(224 - 11 + 0)/4 + 1 = 54.25 is not an integer" in alex_error

# %% [markdown]
# Could symmetric zero-padding rescue 224? `224 - 11 + 2P` is odd for every `P`
# (an even number minus an odd one plus an even one), so it is never divisible by 4.
# The best guess is 3 extra pixels of padding, added unevenly (say 1 on one side and 2
# on the other): `224 + 3 = 227`.

# %%
for P in range(8):
    print(f"P = {P}: (224 - 11 + {2 * P})/4 + 1 = {(224 - 11 + 2 * P) / 4 + 1}")
assert all(value_error(conv_output_size, 224, 11, S=4, P=P) for P in range(8))
assert all((224 - 11 + 2 * P) % 2 == 1 for P in range(100))

padded = np.pad(np.zeros((1, 3, 224, 224)), ((0, 0), (0, 0), (1, 2), (1, 2)))
out_padded, _ = conv_forward_fast(padded, w_alex, np.zeros(96), {"stride": 4, "pad": 0})
print("224 + 1 + 2 =", padded.shape[2], "-> output", out_padded.shape[1:])
assert conv_output_size(224 + 3, 11, S=4) == 55 and out_padded.shape[1:] == (96, 55, 55)

# %% [markdown]
# **Summary.** AlexNet's first layer turns `[227x227x3]` into `[55x55x96]`, computed by
# our layer. A 224x224 input gives 54.25, which no symmetric padding repairs; 3 extra
# pixels (227) do. Lesson 3 counts this layer's parameters, with and without sharing.

# %% [markdown]
# ## Summary
#
# - A CONV neuron sees an `F x F` region of its input through the input's full depth:
#   `F*F*D` weights and a bias, read off the layer's gradient.
# - Four hyperparameters fix the output: the number of filters `K` (the output depth),
#   `F`, the stride `S` and the zero-padding `P`; along each axis the output has
#   `(W - F + 2P)/S + 1` positions, and that number must be whole.
# - `P = (F - 1)/2` at stride 1 keeps the size; AlexNet's first layer takes
#   `[227x227x3]` to `[55x55x96]`, and its paper's 224 does not fit.

# %% [markdown]
# ## Exercises
#
# 1. An input `63` pixels wide, filters `F = 5`, stride `S = 2`, zero-padding `P = 1`:
#    how wide is the output? (Predict before you check with `conv_output_size`.)
# 2. Which zero-padding `P` keeps a `32`-wide input at width `32` with `F = 7` and
#    `S = 1`?
# 3. A CONV layer with `5x5` filters reads a volume of depth `16`. How many weights
#    does each of its neurons have (without the bias)?
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

exercises = Exercises("Lesson 2")
exercises.add(1, "Output width for W=63, F=5, S=2, P=1",
              expected=conv_output_size(63, 5, S=2, P=1),
              hint="(W - F + 2P)/S + 1, and it has to be a whole number.",
              solution="(63 - 5 + 2)/2 + 1 = 60/2 + 1 = 31.")
exercises.add(2, "Padding that keeps width 32 with F=7, S=1", expected=3,
              hint="With S = 1 the output is W - F + 2P + 1; set it equal to W.",
              solution="32 - 7 + 2P + 1 = 32 gives P = (F - 1)/2 = 3.")
exercises.add(3, "Weights per neuron, 5x5 filters on depth 16", expected=5 * 5 * 16,
              hint="Local in width and height, full along the depth.",
              solution="5 * 5 * 16 = 400 weights (plus one bias).")
display(exercises)

# %%
exercises.answer(1, None)   # your answer to exercise 1
exercises.answer(2, None)   # your answer to exercise 2
exercises.answer(3, None)   # your answer to exercise 3
