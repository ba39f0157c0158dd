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
# # Lesson 3: the convolutional layer II, parameter sharing
#
# Lesson 2 fixed *where* each neuron of a CONV layer looks. This lesson is about its
# *weights*: all the neurons of one depth slice use the same filter. That single
# assumption divides AlexNet's first layer's parameters by 3,025, makes the layer a
# convolution, and is what a **locally-connected** layer gives up.
#
# We then compute the notes' hand-written numpy example entry by entry with our layer,
# and finish with the layer's summary, every part of it read off the layer itself.

# %%
import matplotlib.pyplot as plt
import numpy as np
from convnets import (
    assert_close,
    conv_backward_naive,
    conv_forward_fast,
    conv_forward_naive,
    locally_connected_backward,
    locally_connected_forward,
    locally_connected_shapes,
)
from convnets.visualize import signed_map
from scipy.signal import correlate2d
from sklearn.datasets import load_sample_image

rng = np.random.default_rng(3)

# %% [markdown]
# ## 1. Parameter sharing
#
# AlexNet's first CONV layer (lesson 2) maps `[227x227x3]` to `[55x55x96]` with
# 11x11x3 filters. If every neuron of that output volume had its own weights, each
# would carry 11x11x3 weights and a bias.

# %%
x_alex = rng.standard_normal((1, 3, 227, 227))
w_alex = rng.standard_normal((96, 3, 11, 11)) * 0.01
b_alex = np.zeros(96)
out_alex, _ = conv_forward_fast(x_alex, w_alex, b_alex, {"stride": 4, "pad": 0})

neurons = out_alex[0].size
per_neuron = w_alex[0].size + 1
unshared = neurons * per_neuron
print(f"neurons {out_alex.shape[1:]} = {neurons:,}, each with {per_neuron} parameters "
      f"-> {unshared:,} parameters")
# The same count from the shapes of a locally-connected layer (nothing allocated).
w_shape, b_shape = locally_connected_shapes(x_alex.shape, 96, 11, 11, {"stride": 4, "pad": 0})
print("locally-connected weights", w_shape, "biases", b_shape)
assert neurons == 55 * 55 * 96 == 290_400 and per_neuron == 364
assert unshared == 105_705_600 == np.prod(w_shape) + np.prod(b_shape)

# %% [markdown]
# Parameter sharing assumes that a feature worth detecting at one place (an edge, a
# colour blob) is worth detecting everywhere. Then all 55x55 neurons of a depth slice
# can share one filter and one bias, and the layer needs one filter per depth slice.

# %%
shared = w_alex.size + b_alex.size
print(f"shared: {w_alex.shape} = {w_alex.size:,} weights + {b_alex.size} biases "
      f"= {shared:,} parameters; {unshared // shared:,} times fewer")
assert w_alex.size == 96 * 11 * 11 * 3 == 34_848
assert shared == 34_944 and unshared // shared == 55 * 55

# %% [markdown]
# Sharing has a visible consequence: move the input by one stride and every activation
# map moves by one position, unchanged. The layer responds to *what* is in a window,
# wherever the window is.

# %%
x_shifted = np.roll(x_alex, shift=-4, axis=3)          # content moves 4 pixels left
out_shifted, _ = conv_forward_fast(x_shifted, w_alex, b_alex, {"stride": 4, "pad": 0})
# Away from the wrapped-around border, output column j+1 of x is column j of x_shifted.
assert_close(out_shifted[..., :-3], out_alex[..., 1:-2], rtol=1e-12, atol=1e-12,
             what="shifted output")
print("shifting the input by the stride shifts every depth slice by one column")

# %% [markdown]
# **Summary.** Without sharing, AlexNet's first layer would need 290,400 x 364 =
# 105,705,600 parameters; with one filter per depth slice it needs 96 x 11 x 11 x 3 =
# 34,848 weights + 96 biases = 34,944. During training, every neuron of a slice
# contributes a gradient to the one shared filter, and the contributions add up
# (checked in section 4).

# %% [markdown]
# ## 2. Depth slices and depth columns
#
# An output volume can be cut two ways. A **depth slice** (activation map) is one
# filter's response at every position; a **depth column** (fibre) is every filter's
# response at one position. The notes index volumes as `X[x, y, depth]`; in NCHW one
# image's volume is `volume[depth, row, column]`, so:
#
# | | notes | NCHW, one image `v = out[0]` |
# |---|---|---|
# | depth column at `(x, y)` | `X[x, y, :]` | `v[:, x, y]` |
# | depth slice `d` | `X[:, :, d]` | `v[d]` |
#
# To see depth slices that mean something we use a real photograph (227x227 crop) and
# six hand-made 11x11 filters, stripe patterns (Gabor filters) turned by 30 degrees
# from one to the next, with AlexNet's stride 4. The filters and the depth slices have
# both signs, so they are drawn in blue (negative), white (0) and red (positive), the
# six filters on one scale and the six slices on another: a slice is strongly red or
# blue where the picture has stripes or edges of its filter's orientation, and nearly
# white elsewhere.

# %%
photo = load_sample_image("china.jpg").astype(np.float64) / 255.0
crop = photo[0:227, 100:327].transpose(2, 0, 1)[None]           # (1, 3, 227, 227)
crop = crop - crop.mean()


def gabor(angle, size=11, wavelength=8.0, sigma=3.0):
    """An oriented stripe pattern under a Gaussian window, on all three channels."""
    r = np.arange(size) - size // 2
    yy, xx = np.meshgrid(r, r, indexing="ij")
    along = xx * np.cos(angle) + yy * np.sin(angle)
    kernel = np.exp(-(xx**2 + yy**2) / (2 * sigma**2)) * np.cos(2 * np.pi * along / wavelength)
    kernel -= kernel.mean()
    return np.stack([kernel] * 3) / np.abs(kernel).sum()


angles = np.deg2rad([0, 30, 60, 90, 120, 150])
w_gabor = np.stack([gabor(a) for a in angles])                  # (6, 3, 11, 11)
maps, _ = conv_forward_fast(crop, w_gabor, np.zeros(6), {"stride": 4, "pad": 0})
volume = maps[0]                                                # (6, 55, 55)
depth_slice, depth_column = volume[2], volume[:, 30, 20]
print("volume", volume.shape, " depth slice 2:", depth_slice.shape,
      " depth column at (30, 20):", depth_column.shape)
assert depth_slice.shape == (55, 55) and depth_column.shape == (6,)
# Depth slice d is filter d alone applied everywhere.
alone, _ = conv_forward_fast(crop, w_gabor[2:3], np.zeros(1), {"stride": 4, "pad": 0})
assert_close(alone[0, 0], depth_slice, rtol=1e-12, atol=1e-12, what="depth slice 2")

# %%
fig, axes = plt.subplots(2, 7, figsize=(11, 4.4), layout="constrained")
for ax in axes.ravel():
    ax.set_axis_off()
axes[0, 0].imshow(np.clip(crop[0].transpose(1, 2, 0) + photo.mean(), 0, 1))
axes[0, 0].set_title("input 227x227x3")
weight_limit = np.abs(w_gabor[:, 0]).max()            # one scale for the six filters
map_limit = np.abs(volume).max()                      # one scale for the six slices
for d in range(6):
    filter_image = signed_map(axes[0, d + 1], w_gabor[d, 0], limit=weight_limit,
                              colorbar=False)
    axes[0, d + 1].set_title(f"filter {d}, 11x11")
    slice_image = signed_map(axes[1, d + 1], volume[d], limit=map_limit, colorbar=False)
    axes[1, d + 1].set_title(f"depth slice {d}")
fig.colorbar(filter_image, ax=axes[0, 1:], fraction=0.02, pad=0.01, label="weight")
fig.colorbar(slice_image, ax=axes[1, 1:], fraction=0.02, pad=0.01, label="activation")
axes[1, 0].bar(range(6), depth_column)
axes[1, 0].axhline(0, color="k", lw=0.8)
axes[1, 0].set_axis_on()
axes[1, 0].set_xticks(range(6))
axes[1, 0].set_xlabel("filter d")
axes[1, 0].set_title("depth column (30, 20)")
plt.show()

# %% [markdown]
# **Summary.** A depth slice is one filter's activation map (`out[0, d]`, 55x55 here);
# a depth column is all filters at one position (`out[0, :, i, j]`, 6 numbers here).

# %% [markdown]
# ## 3. The notes' numpy example, entry by entry
#
# The notes write out part of a CONV layer by hand: an input `X` of shape `(11, 11, 4)`
# (indexed `X[x, y, depth]`), filters of size 5 (`W0`, `W1` of shape `(5, 5, 4)`, biases
# `b0`, `b1`), stride 2 and no padding, so the output `V` is 4x4 in space:
# `(11 - 5)/2 + 1 = 4`. Each listed entry is a sum over a 5x5x4 block of `X`.
#
# We run our layer on the same random numbers and compare every listed entry. The
# conversion between the two layouts: `X[a, b, d]` is `x[0, d, a, b]`, so
# `x = X.transpose(2, 0, 1)[None]`, and back, `V = out[0].transpose(1, 2, 0)`.

# %%
X = rng.standard_normal((11, 11, 4))
W0, W1 = rng.standard_normal((2, 5, 5, 4))
b0, b1 = rng.standard_normal(2)

x = X.transpose(2, 0, 1)[None]                         # (1, 4, 11, 11)
w = np.stack([W0, W1]).transpose(0, 3, 1, 2)           # (2, 4, 5, 5): (F, C, HH, WW)
out, _ = conv_forward_naive(x, w, np.array([b0, b1]), {"stride": 2, "pad": 0})
V = out[0].transpose(1, 2, 0)                          # (4, 4, 2): V[x, y, depth]

# The notes' entries: (V index, the block of X, the filter and bias).
entries = [
    ("V[0,0,0]", (0, 0, 0), "X[:5,:5,:]", np.s_[:5, :5, :], "W0", "b0"),
    ("V[1,0,0]", (1, 0, 0), "X[2:7,:5,:]", np.s_[2:7, :5, :], "W0", "b0"),
    ("V[2,0,0]", (2, 0, 0), "X[4:9,:5,:]", np.s_[4:9, :5, :], "W0", "b0"),
    ("V[3,0,0]", (3, 0, 0), "X[6:11,:5,:]", np.s_[6:11, :5, :], "W0", "b0"),
    ("V[0,0,1]", (0, 0, 1), "X[:5,:5,:]", np.s_[:5, :5, :], "W1", "b1"),
    ("V[1,0,1]", (1, 0, 1), "X[2:7,:5,:]", np.s_[2:7, :5, :], "W1", "b1"),
    ("V[2,0,1]", (2, 0, 1), "X[4:9,:5,:]", np.s_[4:9, :5, :], "W1", "b1"),
    ("V[3,0,1]", (3, 0, 1), "X[6:11,:5,:]", np.s_[6:11, :5, :], "W1", "b1"),
    ("V[0,1,1]", (0, 1, 1), "X[:5,2:7,:]", np.s_[:5, 2:7, :], "W1", "b1"),
    ("V[2,3,1]", (2, 3, 1), "X[4:9,6:11,:]", np.s_[4:9, 6:11, :], "W1", "b1"),
]
params = {"W0": W0, "W1": W1, "b0": b0, "b1": b1}
print(f"V has shape {V.shape}")
print(f"{'entry':9s} {'the notes compute':34s} {'by hand':>11s} {'layer':>11s}")
for label, index, block_text, block, filt, bias in entries:
    by_hand = np.sum(X[block] * params[filt]) + params[bias]
    formula = f"np.sum({block_text} * {filt}) + {bias}"
    print(f"{label:9s} {formula:34s} {by_hand:>11.6f} {V[index]:>11.6f}")
    assert np.isclose(V[index], by_hand, rtol=1e-12, atol=1e-12), label
assert V.shape == (4, 4, 2) and len(entries) == 10

# %% [markdown]
# The first index of `V` moves the window along the first axis of `X` in steps of 2
# (the stride); the last index picks the filter. The layer fills in the other 22 entries
# the notes leave out the same way:

# %%
for vx in range(4):
    for vy in range(4):
        for d, (Wd, bd) in enumerate([(W0, b0), (W1, b1)]):
            block = X[2 * vx:2 * vx + 5, 2 * vy:2 * vy + 5, :]
            assert np.isclose(V[vx, vy, d], np.sum(block * Wd) + bd, rtol=1e-12)
print("all 32 entries of V equal np.sum(block * W) + b")

# %% [markdown]
# **Summary.** Our layer reproduces every entry of the notes' example (and the 22 they
# skip). Mind the layouts: the notes' `X[x, y, d]` is `x[0, d, x, y]` in NCHW.

# %% [markdown]
# ## 4. The locally-connected layer: local connectivity without sharing
#
# Sometimes sharing is the wrong assumption: in centred face images, eyes are always
# near the top and the mouth near the bottom, so different positions deserve different
# filters. A **locally-connected** layer keeps the receptive fields of a CONV layer but
# gives every output position its own filter bank: weights of shape
# `(H', W', F, C, HH, WW)` instead of `(F, C, HH, WW)`.

# %%
x_small = rng.standard_normal((2, 3, 9, 9))
conv_param = {"stride": 2, "pad": 1}
w_conv = rng.standard_normal((4, 3, 3, 3))
b_conv = rng.standard_normal(4)
out_conv, cache_conv = conv_forward_naive(x_small, w_conv, b_conv, conv_param)
H_out, W_out = out_conv.shape[2:]

# Every position holding the same filters: the locally-connected layer is the conv layer.
w_tied = np.broadcast_to(w_conv, (H_out, W_out, *w_conv.shape)).copy()
b_tied = np.broadcast_to(b_conv, (H_out, W_out, 4)).copy()
out_tied, cache_tied = locally_connected_forward(x_small, w_tied, b_tied, conv_param)
assert_close(out_tied, out_conv, rtol=1e-12, atol=1e-12, what="tied locally-connected")

# The shared filter's gradient is the sum of the per-position gradients.
dout = rng.standard_normal(out_conv.shape)
dx_conv, dw_conv, db_conv = conv_backward_naive(dout, cache_conv)
dx_tied, dw_tied, db_tied = locally_connected_backward(dout, cache_tied)
assert_close(dw_tied.sum(axis=(0, 1)), dw_conv, rtol=1e-10, atol=1e-12, what="dw")
assert_close(db_tied.sum(axis=(0, 1)), db_conv, rtol=1e-10, atol=1e-12, what="db")
assert_close(dx_tied, dx_conv, rtol=1e-10, atol=1e-12, what="dx")

lc_params = w_tied.size + b_tied.size
conv_params = w_conv.size + b_conv.size
print(f"output {H_out}x{W_out}: locally-connected {lc_params:,} parameters, "
      f"conv {conv_params:,} ({H_out * W_out} positions x fewer)")
assert lc_params == H_out * W_out * conv_params == 25 * 112

# %% [markdown]
# With its own weights at every position, the layer is no longer a convolution:
# shifting the input no longer shifts the output.

# %%
w_free = rng.standard_normal(w_tied.shape)
out_free, _ = locally_connected_forward(x_small, w_free, b_tied, conv_param)
out_free_shifted, _ = locally_connected_forward(np.roll(x_small, -2, axis=3), w_free,
                                                b_tied, conv_param)
out_conv_shifted, _ = conv_forward_fast(np.roll(x_small, -2, axis=3), w_conv, b_conv,
                                        conv_param)
conv_follows = np.allclose(out_conv_shifted[..., 1:3], out_conv[..., 2:4])
free_follows = np.allclose(out_free_shifted[..., 1:3], out_free[..., 2:4])
print("conv output follows a shift of the input:", conv_follows,
      "| locally-connected output follows it:", free_follows)
assert conv_follows and not free_follows

# %% [markdown]
# **Summary.** A locally-connected layer is a CONV layer without sharing: `H'*W'` times
# the parameters (105,705,600 instead of 34,944 for AlexNet's first layer). With the
# same filters at every position it *is* the conv layer, and the conv layer's gradient
# is the sum of its per-position gradients.

# %% [markdown]
# ## 5. The CONV layer in one table
#
# For an input `W1 x H1 x D1` and hyperparameters `K` (filters), `F` (size), `S`
# (stride), `P` (padding), the layer produces `W2 x H2 x D2` with
# `W2 = (W1 - F + 2P)/S + 1`, `H2 = (H1 - F + 2P)/S + 1`, `D2 = K`, and has
# `(F*F*D1)*K` weights and `K` biases. Depth slice `d` of the output is filter `d`
# slid over the input with stride `S` (a "valid" correlation of the padded input),
# plus bias `d`. We read all of it off the layer on a non-square input, with the
# parameter counts taken from the gradients the layer's backward pass returns, and
# the depth slices checked against SciPy's 2-D correlation.

# %%
W1, H1, D1, K, F, S, P = 13, 9, 4, 6, 3, 2, 1
x = rng.standard_normal((1, D1, H1, W1))
w = rng.standard_normal((K, D1, F, F))
b = rng.standard_normal(K)
out, cache = conv_forward_naive(x, w, b, {"stride": S, "pad": P})
_, dw, db = conv_backward_naive(np.ones(out.shape), cache)
_, D2, H2, W2 = out.shape
print(f"input {W1}x{H1}x{D1}, K={K} F={F} S={S} P={P} -> output {W2}x{H2}x{D2}; "
      f"{dw.size} weights, {db.size} biases")
assert (W2, H2, D2) == ((W1 - F + 2 * P) // S + 1, (H1 - F + 2 * P) // S + 1, K)
assert (W2, H2) == (7, 5)
assert dw.size == (F * F * D1) * K == 216 and db.size == K

x_padded = np.pad(x[0], ((0, 0), (P, P), (P, P)))
for d in range(K):
    valid = sum(correlate2d(x_padded[c], w[d, c], mode="valid") for c in range(D1))
    assert_close(out[0, d], valid[::S, ::S] + b[d], rtol=1e-10, atol=1e-12,
                 what=f"depth slice {d}")
print("every depth slice = a valid correlation with its filter, stride", S, "+ its bias")

# %% [markdown]
# **Summary.** The CONV layer: `W2 = (W1 - F + 2P)/S + 1`, `H2` likewise, `D2 = K`,
# `(F*F*D1)*K` weights and `K` biases (216 and 6 in the example), each depth slice a
# strided correlation with one filter plus its bias. Lesson 4 steps through a
# convolution one output at a time.

# %% [markdown]
# ## Summary
#
# - Parameter sharing: every neuron of a depth slice uses the same filter, so a CONV
#   layer has `(F*F*D1)*K` weights and `K` biases whatever its output size (AlexNet's
#   first layer: 34,944 parameters instead of 105,705,600).
# - A depth slice is one filter slid over the input (a convolution, in practice a
#   cross-correlation); a depth column is every filter at one position.
# - The locally-connected layer keeps the receptive fields and drops the sharing: one
#   filter bank per position.

# %% [markdown]
# ## Exercises
#
# 1. A CONV layer has `K = 64` filters of `3x3` on an RGB input (depth 3). How many
#    parameters does it have with parameter sharing, biases included?
# 2. Its output is `32x32x64`. Without sharing (a locally-connected layer, one set of
#    weights and a bias per output position), how many parameters?
# 3. How many numbers does one depth slice of that `32x32x64` output hold?
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

exercises = Exercises("Lesson 3")
exercises.add(1, "Parameters of 64 filters 3x3x3 with sharing", expected=64 * (27 + 1),
              hint="Each filter has F*F*D weights and one bias.",
              solution="64 * (3*3*3 + 1) = 64 * 28 = 1,792.")
exercises.add(2, "The same without sharing, output 32x32x64",
              expected=32 * 32 * 64 * (27 + 1),
              hint="Every one of the 32*32 positions gets its own copy of the 1,792.",
              solution="32 * 32 * 1,792 = 1,835,008, 1,024 times more.")
exercises.add(3, "Numbers in one depth slice of 32x32x64", expected=32 * 32,
              hint="A depth slice fixes the depth index (one filter's outputs).",
              solution="32 * 32 = 1,024 (a depth column, the other way, holds 64).")
display(exercises)

# %%
exercises.answer(1, None)   # your answer to exercise 1
exercises.answer(2, None)   # your answer to exercise 2
exercises.answer(3, None)   # your answer to exercise 3
