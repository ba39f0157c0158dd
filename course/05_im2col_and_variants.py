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
# # Lesson 5: convolution as matrix multiplication, its backward pass, 1x1 and dilated filters
#
# A CONV layer computes many dot products between filters and receptive fields.
# Computers are very good at one particular pile of dot products: a matrix multiply
# (BLAS GEMM). This lesson turns the convolution into one (**im2col**), shows that the
# backward pass is itself a convolution (with flipped filters), looks at two variants
# of the filter (1x1 and dilated) and measures how fast the receptive field grows when
# layers are stacked. An optional last section times the loop version against the
# matrix version.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
from convnets import (
    assert_close,
    conv_backward_fast,
    conv_backward_naive,
    conv_forward_fast,
    conv_forward_naive,
    effective_filter_size,
    im2col,
    receptive_field,
)
from convnets.visualize import grey_image, signed_map
from sklearn.datasets import load_sample_image

rng = np.random.default_rng(5)

# %% [markdown]
# ## 1. im2col: every receptive field becomes a column
#
# Take every `F x F x D` block of the input that a filter will be applied to, stretch
# it into a column, and put the columns side by side: that is `X_col`. Stretch every
# filter into a row: `W_row`. Then `W_row @ X_col` computes every filter at every
# position at once, and a reshape gives the output volume.
#
# First on a tiny input, to see the matrix: one channel, 5x5 pixels numbered 0 to 24,
# a 3x3 filter at stride 1. There are 3x3 = 9 positions, each a column of 9 numbers.

# %%
tiny = np.arange(25.0).reshape(1, 1, 5, 5)
cols = im2col(tiny, 3, 3, stride=1, pad=0)
print("X_col", cols.shape)
print(cols.astype(int))
assert cols.shape == (9, 9)
# Column 4 is the receptive field of output (1, 1): rows 1-3, columns 1-3 of the input.
assert np.array_equal(cols[:, 4], tiny[0, 0, 1:4, 1:4].ravel())

# %%
def draw_table(ax, values, fill):
    """Draw a matrix as a table of numbers on white, cells coloured by ``fill[r, c]``."""
    for (r, c), v in np.ndenumerate(values):
        ax.add_patch(plt.Rectangle((c - 0.5, r - 0.5), 1, 1, facecolor=fill[r][c],
                                   edgecolor="0.75"))
        ax.text(c, r, f"{v:.0f}", ha="center", va="center", fontsize=10)
    ax.set_xlim(-0.5, values.shape[1] - 0.5)
    ax.set_ylim(values.shape[0] - 0.5, -0.5)
    ax.set_aspect("equal")


# Two outputs and their receptive fields, in the input and as columns of X_col.
highlight = {0: "#fde0c5", 4: "#cfe2f3"}                # output position -> colour
fill_in = [["white"] * 5 for _ in range(5)]
fill_col = [["white"] * 9 for _ in range(9)]
for p, colour in highlight.items():
    i, j = divmod(p, 3)
    for r in range(i, i + 3):
        for c in range(j, j + 3):
            fill_in[r][c] = colour if fill_in[r][c] == "white" else "#d9ead3"   # both
    for r in range(9):
        fill_col[r][p] = colour
fig, (ax_in, ax_col) = plt.subplots(1, 2, figsize=(10, 4.6),
                                    gridspec_kw={"width_ratios": [5, 9]})
draw_table(ax_in, tiny[0, 0], fill_in)
ax_in.set_title("input 5x5 (one channel)")
ax_in.set_xlabel("orange: field of output 0\nblue: of output 4 (green: both)")
draw_table(ax_col, cols, fill_col)
ax_col.set_title("X_col (9 x 9): column p = receptive field of output p")
ax_col.set_xticks(range(9))
ax_col.set_xlabel("output position p (row-major: p = 3 * row + column)")
ax_col.set_yticks(range(9))
ax_col.set_ylabel("filter tap")
ax_in.set_xticks([])
ax_in.set_yticks([])
plt.show()
print("the centre pixel 12 appears in", np.count_nonzero(cols == 12), "columns")
assert np.count_nonzero(cols == 12) == 9

# %% [markdown]
# Receptive fields overlap, so each input value is copied into several columns (pixel
# 12 into all nine). That is the price of the method: memory.
#
# Now the notes' real example: a `[227x227x3]` input (a crop of a photograph), 96
# filters of 11x11x3, stride 4, AlexNet's first layer. Our `im2col` takes the same
# arguments as the layer.

# %%
photo = load_sample_image("china.jpg").astype(np.float64) / 255.0
x = photo[0:227, 100:327].transpose(2, 0, 1)[None]              # (1, 3, 227, 227)
w = rng.standard_normal((96, 3, 11, 11)) * 0.01
b = rng.standard_normal(96)

X_col = im2col(x, 11, 11, stride=4, pad=0)
W_row = w.reshape(96, -1)
result = W_row @ X_col + b[:, None]
volume = result.reshape(96, 55, 55)
print(f"X_col {X_col.shape}, W_row {W_row.shape}, W_row @ X_col {result.shape} "
      f"-> output volume {volume.shape}")
assert X_col.shape == (11 * 11 * 3, 55 * 55) == (363, 3025)
assert W_row.shape == (96, 363) and result.shape == (96, 3025)
assert volume.shape == (96, 55, 55)

out_fast, _ = conv_forward_fast(x, w, b, {"stride": 4, "pad": 0})
out_loops, _ = conv_forward_naive(x, w[:2], b[:2], {"stride": 4, "pad": 0})  # 2 filters
assert_close(volume, out_fast[0], rtol=1e-10, atol=1e-12, what="im2col result")
assert_close(volume[:2], out_loops[0], rtol=1e-10, atol=1e-12, what="naive loops")
print(f"X_col holds {X_col.size:,} numbers for an input of {x.size:,}: "
      f"{X_col.size / x.size:.1f} times the memory")

# %% [markdown]
# **Summary.** With `X_col = im2col(x)` of shape `[363 x 3025]` (one column per output
# position) and `W_row` of shape `[96 x 363]` (one row per filter), a single matrix
# multiply gives `[96 x 3025]`, reshaped to `[55x55x96]`, equal to the layer's output.
# `X_col` costs 7.1 times the input's memory here, because receptive fields overlap.

# %% [markdown]
# ## 2. The backward pass is a convolution with flipped filters
#
# In 1-D with one filter of size 3, `out[i] = w[0] x[i] + w[1] x[i+1] + w[2] x[i+2]`.
# Input `x[p]` appears in `out[p]` (times `w[0]`), `out[p-1]` (times `w[1]`) and
# `out[p-2]` (times `w[2]`), so
# `dx[p] = dout[p] w[0] + dout[p-1] w[1] + dout[p-2] w[2]`: sliding the **flipped**
# filter `[w[2], w[1], w[0]]` over `dout` padded with 2 zeros on each side. We check it
# against the layer's backward pass.

# %%
x1 = rng.standard_normal((1, 1, 1, 7))
w1 = rng.standard_normal((1, 1, 1, 3))
out1, cache1 = conv_forward_naive(x1, w1, np.zeros(1), {"stride": 1, "pad": 0})
dout1 = rng.standard_normal(out1.shape)
dx1, dw1, _ = conv_backward_naive(dout1, cache1)

dout_padded = np.pad(dout1, ((0, 0), (0, 0), (0, 0), (2, 2)))
w_flipped = w1[..., ::-1]
dx_as_conv, _ = conv_forward_naive(dout_padded, w_flipped, np.zeros(1), {"stride": 1, "pad": 0})
print("dx from the backward pass:        ", np.round(dx1.ravel(), 4))
print("dout correlated with flipped w:   ", np.round(dx_as_conv.ravel(), 4))
assert_close(dx_as_conv, dx1, rtol=1e-12, atol=1e-14, what="1-D dx")

# %% [markdown]
# The same holds for a real layer, with two details: the padding is the filter size
# minus one on every side, and the roles of the filter and channel axes swap (the
# gradient of channel `c` collects from every filter `f`). The weight gradient is also
# a convolution: of the input with `dout` used as the filter.

# %%
x2 = rng.standard_normal((2, 3, 6, 7))
w2 = rng.standard_normal((4, 3, 3, 2))
out2, cache2 = conv_forward_fast(x2, w2, rng.standard_normal(4), {"stride": 1, "pad": 0})
dout2 = rng.standard_normal(out2.shape)
dx2, dw2, _ = conv_backward_fast(dout2, cache2)
HH, WW = w2.shape[2:]

w2_flipped = w2[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)        # (C, F, HH, WW), flipped
dout2_padded = np.pad(dout2, ((0, 0), (0, 0), (HH - 1, HH - 1), (WW - 1, WW - 1)))
dx2_as_conv, _ = conv_forward_fast(dout2_padded, w2_flipped, np.zeros(3),
                                   {"stride": 1, "pad": 0})
dw2_as_conv, _ = conv_forward_fast(x2.transpose(1, 0, 2, 3), dout2.transpose(1, 0, 2, 3),
                                   np.zeros(4), {"stride": 1, "pad": 0})
assert_close(dx2_as_conv, dx2, rtol=1e-10, atol=1e-12, what="dx")
assert_close(dw2_as_conv.transpose(1, 0, 2, 3), dw2, rtol=1e-10, atol=1e-12, what="dw")
print("dx = conv(dout padded by filter-1, flipped filters with F and C swapped): equal")
print("dw = conv(x, dout as the filter, batch axis summed like channels): equal")

# %% [markdown]
# **Summary.** Backpropagating through a convolution is another convolution: `dx` slides
# the spatially flipped filters over the zero-padded upstream gradient; `dw` slides the
# upstream gradient over the input. The notes say both use flipped filters; with the
# cross-correlation every framework computes (and we do), only `dx` needs the flip, as
# the two checks above show. (Our fast backward pass computes `dx` this way for stride 1.)

# %% [markdown]
# ## 3. 1x1 convolutions
#
# A 1x1 filter looks at a single pixel, which sounds useless until you remember that
# filters span the full depth: on a `[32x32x3]` input, each 1x1 filter computes a
# 3-dimensional dot product at every pixel, mixing the channels. A familiar example:
# the grey level `0.299 R + 0.587 G + 0.114 B` is a 1x1 convolution.

# %%
small = photo[::13, 100:516:13][:32, :32].transpose(2, 0, 1)[None]   # [32x32x3]
w_1x1 = np.array([[0.299, 0.587, 0.114],       # grey level
                  [1.0, -1.0, 0.0],            # red minus green
                  [-0.5, -0.5, 1.0]])          # blue minus yellow
out_1x1, _ = conv_forward_fast(small, w_1x1[:, :, None, None], np.zeros(3),
                               {"stride": 1, "pad": 0})
print("input", small.shape, "-> output", out_1x1.shape)
assert small.shape == (1, 3, 32, 32) and out_1x1.shape == (1, 3, 32, 32)
# One output, by hand: at pixel (10, 20) filter 0 is a 3-d dot product with R, G, B.
pixel = small[0, :, 10, 20]
print("R, G, B at (10, 20):", np.round(pixel, 3), "  0.299 R + 0.587 G + 0.114 B =",
      round(float(np.dot(w_1x1[0], pixel)), 4), "  the layer:", round(out_1x1[0, 0, 10, 20], 4))
assert np.isclose(out_1x1[0, 0, 10, 20], np.dot(w_1x1[0], pixel), rtol=1e-12, atol=1e-15)
# And every output: each filter's dot product with the channels at every pixel at once.
assert_close(out_1x1[0], np.einsum("kc,chw->khw", w_1x1, small[0]), rtol=1e-12, atol=1e-15)

fig, axes = plt.subplots(1, 4, figsize=(11, 2.9), layout="constrained")
axes[0].imshow(small[0].transpose(1, 2, 0))
axes[0].set_title("input [32x32x3]")
grey_image(axes[1], out_1x1[0, 0])                   # a weighted mean of R, G, B: grey
axes[1].set_title("1x1 filter 0: grey")
limit = np.abs(out_1x1[0, 1:]).max()                 # one scale for the two contrasts
for ax, k, name in zip(axes[2:], (1, 2), ["red - green", "blue - yellow"], strict=True):
    shown = signed_map(ax, out_1x1[0, k], limit=limit, colorbar=False)
    ax.set_title(f"1x1 filter {k}: {name}")
fig.colorbar(shown, ax=axes[2:], fraction=0.04)
for ax in axes:
    ax.set_axis_off()
plt.show()

# %% [markdown]
# **Summary.** On a `[32x32x3]` input a 1x1 convolution is a 3-d dot product at every
# pixel (checked at all 32x32 pixels for 3 filters): a per-pixel linear map of the
# channels, which networks use to change the depth cheaply.

# %% [markdown]
# ## 4. Dilated convolutions, and a convention to watch
#
# A dilated filter leaves gaps between its taps. The notes count the **gap**: their
# "dilation 0" is a normal filter, `w[0] x[0] + w[1] x[1] + w[2] x[2]`, and their
# "dilation 1" computes `w[0] x[0] + w[1] x[2] + w[2] x[4]`. Our library (like PyTorch
# and TensorFlow) counts the **step** between taps instead: `dilation=1` is contiguous
# and `dilation=2` is the notes' "dilation 1". A filter of size `F` with dilation `D`
# spans `D*(F - 1) + 1` input pixels.

# %%
signal = np.array([2.0, 3.0, 5.0, 7.0, 11.0, 13.0, 17.0])
taps = np.array([1.0, 10.0, 100.0])


def conv_1d(signal, taps, dilation):
    out, _ = conv_forward_fast(signal.reshape(1, 1, 1, -1), taps.reshape(1, 1, 1, -1),
                               np.zeros(1), {"stride": 1, "pad": 0, "dilation": dilation})
    return out.ravel()


contiguous = conv_1d(signal, taps, dilation=1)      # the notes' "dilation 0"
gapped = conv_1d(signal, taps, dilation=2)          # the notes' "dilation 1"
print("dilation=1 (notes: 0):", contiguous, " first =", "w0*x0 + w1*x1 + w2*x2 =",
      taps[0] * signal[0] + taps[1] * signal[1] + taps[2] * signal[2])
print("dilation=2 (notes: 1):", gapped, " first =", "w0*x0 + w1*x2 + w2*x4 =",
      taps[0] * signal[0] + taps[1] * signal[2] + taps[2] * signal[4])
assert contiguous[0] == taps[0] * signal[0] + taps[1] * signal[1] + taps[2] * signal[2]
assert gapped[0] == taps[0] * signal[0] + taps[1] * signal[2] + taps[2] * signal[4]
assert gapped.tolist() == [taps @ signal[p:p + 5:2] for p in range(3)]
assert effective_filter_size(3, dilation=2) == 5 and gapped.size == 7 - 5 + 1

# %% [markdown]
# **Summary.** The notes' "dilation 1" (`w[0] x[0] + w[1] x[2] + w[2] x[4]`, gap of one)
# is `dilation=2` in our library, which counts the step between taps, as the major
# frameworks do; the filter then spans 5 inputs.

# %% [markdown]
# ## 5. Receptive fields of stacked layers
#
# A neuron in the second of two stacked 3x3 layers sees a 3x3 patch of the first
# layer, and each of those sees 3x3 of the input, so it depends on a 5x5 patch of the
# input: its **effective receptive field**. Rather than argue, we measure it like in
# lesson 2: backpropagate from one output neuron through the stack and see which
# input pixels receive gradient.

# %%
def measured_receptive_field(dilations, size=33):
    """Side of the input patch one central output of a stack of 3x3 convs depends on."""
    h, caches = np.ones((1, 1, size, size)), []
    for D in dilations:
        h, cache = conv_forward_fast(h, np.ones((1, 1, 3, 3)), np.zeros(1),
                                     {"stride": 1, "pad": 0, "dilation": D})
        caches.append(cache)
    g = np.zeros(h.shape)
    g[0, 0, h.shape[2] // 2, h.shape[3] // 2] = 1.0
    for cache in reversed(caches):
        g, _, _ = conv_backward_fast(g, cache)
    rows, cols = np.nonzero(g[0, 0])
    side = rows.max() - rows.min() + 1
    assert side == cols.max() - cols.min() + 1 and np.count_nonzero(g) == side**2
    return int(side), g[0, 0]


stacks = {"3x3": [1], "3x3, 3x3": [1, 1], "3x3 x3": [1, 1, 1],
          "dilations 1, 2": [1, 2], "dilations 1, 2, 4": [1, 2, 4]}
measured = {}
for name, dilations in stacks.items():
    measured[name], _ = measured_receptive_field(dilations)
    formula = receptive_field([(3, 1, D) for D in dilations])[-1]
    print(f"{name:18s} measured {measured[name]:2d}x{measured[name]:<2d}  "
          f"receptive_field(): {formula}")
    assert measured[name] == formula
assert measured["3x3, 3x3"] == 5 and measured["3x3 x3"] == 7
assert measured["dilations 1, 2"] == 7 and measured["dilations 1, 2, 4"] == 15

# %% [markdown]
# Each 3x3 layer with dilation `D` adds `2D` to the receptive field. With `D = 1`
# everywhere it grows linearly, `2L + 1` after `L` layers; doubling the dilation at each
# layer (1, 2, 4, ...) makes it grow exponentially, `2^(L+1) - 1`, with the same
# number of weights.

# %%
print(" L  contiguous  dilations 1,2,4,...")
for L in range(1, 7):
    plain = receptive_field([3] * L)[-1]
    dilated = receptive_field([(3, 1, 2**i) for i in range(L)])[-1]
    print(f"{L:2d}  {plain:10d}  {dilated:10d}")
    assert plain == 2 * L + 1 and dilated == 2 ** (L + 1) - 1

fig, axes = plt.subplots(1, 3, figsize=(10, 3.5))
for ax, name in zip(axes, ["3x3, 3x3", "3x3 x3", "dilations 1, 2, 4"], strict=True):
    side, g = measured_receptive_field(stacks[name])
    ax.imshow(g, cmap="magma")
    ax.set_title(f"{name}: {side}x{side}", fontsize=10)
    ax.set_axis_off()
fig.suptitle("Gradient of one output neuron on a 33x33 input (number of paths to it)")
plt.show()

# %% [markdown]
# **Summary.** Measured from gradients: two stacked 3x3 layers see 5x5, three see 7x7;
# with dilations 1, 2, 4 three layers see 15x15. Our `receptive_field` helper agrees.

# %% [markdown]
# ## Going further: how much faster is the matrix multiply?
#
# *Optional: this section goes beyond the notes, into what makes the code fast. The
# summary and the exercises of the lesson follow it.*
#
# The naive layer loops in Python over images, filters and output positions; the fast
# one builds `X_col` and calls one GEMM. We time both on a small batch (timings depend
# on the machine and its load, so they are printed, not asserted; the outputs are
# asserted equal).

# %%
def best_time(function, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


xb = rng.standard_normal((2, 3, 32, 32))
wb = rng.standard_normal((16, 3, 3, 3))
bb = rng.standard_normal(16)
param = {"stride": 1, "pad": 1}
t_naive, (out_naive, cache_naive) = best_time(lambda: conv_forward_naive(xb, wb, bb, param), 1)
t_fast, (out_fast, cache_fast) = best_time(lambda: conv_forward_fast(xb, wb, bb, param), 5)
dout = rng.standard_normal(out_naive.shape)
tb_naive, grads_naive = best_time(lambda: conv_backward_naive(dout, cache_naive), 1)
tb_fast, grads_fast = best_time(lambda: conv_backward_fast(dout, cache_fast), 5)
print(f"forward:  naive {t_naive * 1e3:7.1f} ms, fast {t_fast * 1e3:6.2f} ms, "
      f"{t_naive / t_fast:5.0f}x faster")
print(f"backward: naive {tb_naive * 1e3:7.1f} ms, fast {tb_fast * 1e3:6.2f} ms, "
      f"{tb_naive / tb_fast:5.0f}x faster")
assert_close(out_fast, out_naive, rtol=1e-10, atol=1e-12, what="forward")
for name, g_fast, g_naive in zip("dx dw db".split(), grads_fast, grads_naive, strict=True):
    assert_close(g_fast, g_naive, rtol=1e-10, atol=1e-12, what=name)

# %% [markdown]
# **Summary.** Same numbers, computed many times faster by a single matrix multiply
# (the ratio printed above depends on the machine and the sizes; `make bench` measures
# it on larger layers). The cost is the memory for `X_col`.

# %% [markdown]
# ## Going further: seven ways to compute the same layer
#
# *Optional, like the section above. The summary and the exercises follow it.*
#
# im2col is not the only way to turn a convolution into fast matrix work.
# `conv_forward_fast(..., method=name)` runs any of these strategies, all with the
# naive layer's signature and results:
#
# - `im2col`: the full `X_col` and one GEMM (this lesson). The package's version also
#   uses the bias trick of linear classifiers: `X_col` gets a last row of ones and
#   `W_row` a last column holding the biases, so the same product adds the bias, and
#   the last row of the weight gradient's product is `db`;
# - `im2col-grid` and `shifted-gemm` (stride 1): the same products without ever
#   holding all of `X_col`;
# - `winograd` and `winograd4` (3x3, stride 1): Winograd's minimal filtering computes a
#   2x2 (4x4) block of outputs from a 4x4 (6x6) tile with 16 (36) multiplications per
#   channel instead of 36 (144), moving the rest of the work into cheap additions;
# - `fft`: by the convolution theorem, the FFT of the input times the FFT of the
#   filter, whatever the filter's size;
# - `fft-tiled`: the same theorem on small tiles of the plane (overlap-save), so that
#   every filter is transformed on a 16x16-ish grid instead of the whole plane: far
#   less memory for the filters' spectra when the batch is small.
#
# Fewer multiplications do not always mean less time: the transforms cost memory
# traffic, and they cost float32 digits. We put them side by side on two layers of the
# notes, AlexNet's CONV1 (11x11, stride 4) and a VGG 3x3 layer, at batch 1: the
# multiplications each one performs, its time here (forward and backward, the better of
# two runs, one for the slow FFT; measured, so printed and not asserted), its float32
# error against a float64 computation, and the strategy `method="auto"` runs.

# %%
from convnets.layers.conv_cost import (  # noqa: E402
    FLOAT32_ERROR_BOUNDS,
    auto_candidates,
    preferred,
)
from convnets.layers.conv_fast import CONV_STRATEGIES, conv_strategy_applies  # noqa: E402
from convnets.layers.conv_fft_tiled import fft_tiled_multiplications  # noqa: E402

# The layer parameters of the two layers compared below, by filter shape.
param_of = {(96, 3, 11, 11): {"stride": 4, "pad": 0}, (64, 64, 3, 3): {"stride": 1, "pad": 1}}


def multiplications(method, x_shape, w_shape, out_hw):
    """Multiplications in the products of one forward pass (transforms not counted)."""
    N, C = x_shape[:2]
    F, _, HH, WW = w_shape
    H_out, W_out = out_hw
    if method in ("winograd", "winograd4"):
        m = 2 if method == "winograd" else 4
        tiles = N * -(-H_out // m) * -(-W_out // m)
        return F * C * (m + 2) ** 2 * tiles
    if method == "fft":
        return None   # complex products per frequency; the count depends on the FFT size
    if method == "fft-tiled":
        # 4 real multiplications per complex product, one product per frequency of
        # the tile, per tile, channel and filter
        return fft_tiled_multiplications(x_shape, w_shape, param_of[w_shape])
    return N * F * C * HH * WW * H_out * W_out     # the GEMM strategies: one per weight use


def compare_strategies(name, x_shape, w_shape, param):
    x64 = rng.standard_normal(x_shape)
    w64 = rng.standard_normal(w_shape) / np.sqrt(np.prod(w_shape[1:]))
    b64 = np.zeros(w_shape[0])
    x32, w32, b32 = (a.astype(np.float32) for a in (x64, w64, b64))
    reference, _ = conv_forward_fast(x64, w64, b64, param, method="im2col")
    _, auto_cache = conv_forward_fast(x32, w32, b32, param)
    errors = auto_cache["float32_errors"] = {}
    print(f"{name}: x {x_shape}, w {w_shape}, {param}")
    for method in CONV_STRATEGIES:
        if conv_strategy_applies(method, w_shape, param, np.float32):
            continue

        def step(method=method):
            out, cache = conv_forward_fast(x32, w32, b32, param, method=method)
            conv_backward_fast(np.ones_like(out), cache)
            return out

        seconds, out = best_time(step, 1 if method == "fft" else 2)
        error = float(np.abs(out - reference).max() / np.abs(reference).max())
        errors[method] = error
        count = multiplications(method, x_shape, w_shape, reference.shape[2:])
        mults = "-" if count is None else f"{count / 1e6:8.1f} M"
        chosen = "  <- auto" if method == auto_cache["method"] else ""
        print(f"  {method:13s} {mults:>10s} mult.  {seconds * 1e3:8.1f} ms  "
              f"float32 error {error:.1e}{chosen}")
        # Each strategy keeps to the float32 error bound its docstring states.
        assert error < FLOAT32_ERROR_BOUNDS[method], (method, error)
    predicted = auto_cache["auto_predicted"]
    if predicted is None:
        # This machine's calibration was disturbed by other work: auto runs im2col.
        assert auto_cache["method"] == "im2col"
        print("  auto ran im2col: this machine's calibration was disturbed")
        return auto_cache
    # The fastest prediction, or im2col when predicted within 20% of it (the model's
    # predictions are rough; on a near-tie auto keeps the notes' strategy).
    assert auto_cache["method"] == preferred(predicted)
    print("  auto's predicted ms:",
          ", ".join(f"{m} {s * 1e3:.1f}" for m, s in sorted(predicted.items(),
                                                             key=lambda item: item[1])))
    return auto_cache


alexnet_auto = compare_strategies("AlexNet CONV1", (1, 3, 227, 227), (96, 3, 11, 11),
                                  {"stride": 4, "pad": 0})
vgg_auto = compare_strategies("VGG 3x3 layer", (1, 64, 28, 28), (64, 64, 3, 3),
                              {"stride": 1, "pad": 1})


def considered(w_shape, param):
    """The strategies auto weighs in float32 for a layer: those that apply to it and
    keep float32's accuracy."""
    return {m for m in auto_candidates(np.float32)
            if not conv_strategy_applies(m, w_shape, param, np.float32)}


# At stride 4 only im2col and the two FFTs apply (an FFT computes every stride-1 output
# and keeps one in 16); at 3x3 stride 1 all seven do. auto weighs the tiled FFT only:
# the whole-plane one does the same products more slowly (NOT_FOR_AUTO).
assert considered((96, 3, 11, 11), {"stride": 4, "pad": 0}) == {"im2col", "fft-tiled"}
assert {"winograd", "fft-tiled"} <= considered((64, 64, 3, 3), {"stride": 1, "pad": 1})
# Winograd: 2.25 and 4 times fewer multiplications than the direct products (28 = 14
# blocks of 2 = 7 blocks of 4, no partial tile); F(4x4, 3x3) loses more float32 digits,
# and auto never considers it there.
vgg_layer = ((1, 64, 28, 28), (64, 64, 3, 3), (28, 28))
assert multiplications("im2col", *vgg_layer) / multiplications("winograd", *vgg_layer) == 2.25
assert multiplications("im2col", *vgg_layer) / multiplications("winograd4", *vgg_layer) == 4
# The tiled FFT multiplies less than the direct products too, even on 3x3 filters.
assert multiplications("fft-tiled", *vgg_layer) < multiplications("im2col", *vgg_layer)
vgg_errors = vgg_auto["float32_errors"]
assert vgg_errors["winograd4"] > 2 * vgg_errors["winograd"], vgg_errors
assert "winograd4" not in considered((64, 64, 3, 3), {"stride": 1, "pad": 1})
# shifted-gemm is left out too, for a reason of speed, not accuracy (NOT_FOR_AUTO): it
# accumulates with SciPy's copy of OpenBLAS, whose threads fight NumPy's for the cores
# right after any NumPy matrix product, so its time inside a network is not the time
# the calibration measured alone. (The other way round too: a NumPy product right after
# it ran 3-20x slower while SciPy's threads still spun, so the calibration times it
# last, and `make bench` pauses after it.)
assert "shifted-gemm" not in considered((64, 64, 3, 3), {"stride": 1, "pad": 1})

# %% [markdown]
# **Summary.** On the VGG layer Winograd F(2x2) does 2.25 times fewer multiplications
# than im2col and F(4x4) 4 times fewer, but whether that saves time depends on the
# machine: the transforms are memory-bound work on small matrices. The FFT's cost does
# not grow with the filter size, yet at AlexNet's stride 4 it computes 16 times the
# outputs it keeps. The whole-plane FFT transforms every filter on a grid as large as
# the image; the tiled one on a small tile, which is what makes it pay off at small
# batches (convnet-benchmarks' 9x9 layers in `make bench`). F(4x4)'s float32 error is
# several times the others', which is why
# `method="auto"` (a cost model measured on this machine, choosing the fastest predicted
# strategy, or im2col when predicted within 20% of it) leaves it out in float32; it
# leaves out shifted-gemm as well, whose speed in a network depends on what ran before
# it. `make bench` runs the same comparison on
# convnet-benchmarks' layers and networks, against PyTorch.

# %% [markdown]
# ## Summary
#
# - im2col stretches every receptive field into a column, so a whole CONV layer is one
#   matrix multiply, `W_row @ X_col`: fast, at the price of memory (each input value is
#   copied into up to `F*F` columns).
# - The backward pass of a convolution is a convolution too, with the filters flipped
#   and the roles of input and output exchanged.
# - 1x1 convolutions mix channels at each position; dilated ones spread a filter over a
#   wider region with the same weights; stacked layers grow the receptive field.

# %% [markdown]
# ## Exercises
#
# 1. im2col on a `32x32x3` input with `F = 5`, `S = 1`, `P = 2`: what is the shape of
#    `X_col` (rows, columns)?
# 2. With `K = 16` such filters, what is the shape of `W_row`?
# 3. Three `3x3` layers, stride 1, with our dilations `1`, `2` and `4` (the notes'
#    0, 1 and 3): what is the receptive field of one output of the third layer?
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

exercises = Exercises("Lesson 5")
exercises.add(1, "X_col for 32x32x3, F=5, S=1, P=2", expected=(75, 1024),
              hint="One row per filter weight (F*F*C), one column per output position.",
              solution="5*5*3 = 75 rows; the output is (32 - 5 + 4)/1 + 1 = 32 wide and "
                       "high, 32*32 = 1,024 columns.")
exercises.add(2, "W_row for 16 such filters", expected=(16, 75),
              hint="One row per filter, stretched out like a column of X_col.",
              solution="16 rows of 75: W_row @ X_col is then 16 x 1,024.")
exercises.add(3, "Receptive field of 3x3 layers with dilations 1, 2, 4",
              expected=receptive_field([(3, 1, 1), (3, 1, 2), (3, 1, 4)])[-1],
              hint="A 3x3 filter with dilation d spans 2d + 1 pixels and adds 2d to the "
                   "receptive field.",
              solution="1 + 2 + 4 + 8 = 15: the spans are 3, 5 and 9, and each layer adds "
                       "its span minus one.")
display(exercises)

# %%
exercises.answer(1, None)   # your answer to exercise 1
exercises.answer(2, None)   # your answer to exercise 2
exercises.answer(3, None)   # your answer to exercise 3
