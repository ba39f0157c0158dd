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
# # Lesson 6: pooling and normalization layers
#
# Between CONV layers, ConvNets usually insert **pooling** layers that shrink the volume
# in width and height, independently in every depth slice, with a fixed function and no
# parameters. This lesson computes the common settings, compares max, average and
# L2-norm pooling, and follows the gradient back through them (max pooling's
# *switches*). It ends with two **normalization** layers: local response normalization
# from AlexNet, and batch normalization, used throughout modern networks.

# %%
import matplotlib.pyplot as plt
import numpy as np
from convnets import (
    assert_close,
    avg_pool_backward,
    avg_pool_forward,
    check_layer_gradients,
    l2_pool_backward,
    l2_pool_forward,
    lrn_backward,
    lrn_forward,
    max_pool_backward_fast,
    max_pool_backward_naive,
    max_pool_forward_fast,
    max_pool_forward_naive,
    pool_output_size,
    spatial_batchnorm_backward,
    spatial_batchnorm_forward,
)
from sklearn.datasets import load_sample_image

rng = np.random.default_rng(6)


def pool(F, S):
    """pool_param for an F x F window with stride S."""
    return {"pool_height": F, "pool_width": F, "stride": S}


# %% [markdown]
# ## 1. The pooling layer and its size
#
# A pooling layer with window `F` and stride `S` maps `W1 x H1 x D1` to `W2 x H2 x D2`
# with `W2 = (W1 - F)/S + 1`, `H2 = (H1 - F)/S + 1` and `D2 = D1`: the conv formula
# without padding, applied to each depth slice separately. The most common setting,
# `F = 2, S = 2`, takes the max over each 2x2 block, so it keeps one activation in
# four. We apply it to a volume the size of the notes' example, `[224x224x64]`.

# %%
x = rng.standard_normal((1, 64, 224, 224))
out, _ = max_pool_forward_fast(x, pool(2, 2))
kept = out.size / x.size
print(f"[224x224x64] -> max pool F=2, S=2 -> {out.shape[1:]} (C, H, W); "
      f"(224 - 2)/2 + 1 = {pool_output_size(224, 2, 2)}")
print(f"kept {out.size:,} of {x.size:,} activations: {1 - kept:.0%} discarded")
assert out.shape[1:] == (64, 112, 112)
assert 1 - kept == 0.75
# Each output is the max of its 2x2 block, in every depth slice.
blocks = x.reshape(1, 64, 112, 2, 112, 2).max(axis=(3, 5))
assert np.array_equal(out, blocks)

# %% [markdown]
# The other common setting, `F = 3, S = 2`, is **overlapping** pooling (AlexNet uses
# it): neighbouring windows share a row or column. On AlexNet's 55x55 maps it gives
# 27x27. How many windows does each input pixel belong to? Average pooling's backward
# pass sends `1/9` of an upstream gradient of ones to every pixel of every window, so
# multiplying it by 9 counts the windows.

# %%
x55 = rng.standard_normal((1, 1, 55, 55))
out27, cache27 = avg_pool_forward(x55, pool(3, 2))
windows_per_pixel = avg_pool_backward(np.ones(out27.shape), cache27)[0, 0] * 9
print("55x55 -> F=3, S=2 ->", out27.shape[2:], "; windows per pixel:",
      np.unique(np.round(windows_per_pixel)).astype(int).tolist())
assert pool_output_size(55, 3, 2) == 27 and out27.shape[2:] == (27, 27)
assert np.isclose(windows_per_pixel.max(), 4)     # shared by 2 windows along each axis

# %%
photo = load_sample_image("china.jpg").astype(np.float64).mean(axis=2) / 255.0
grey = photo[:416, 100:516][None, None]                    # one channel, 416x416
levels = [grey]
for _ in range(3):
    levels.append(max_pool_forward_fast(levels[-1], pool(2, 2))[0])
fig, axes = plt.subplots(1, 4, figsize=(11, 3))
for ax, level in zip(axes, levels, strict=True):
    ax.imshow(level[0, 0], cmap="gray", vmin=0, vmax=1)
    ax.set_title(f"{level.shape[2]}x{level.shape[3]}", fontsize=10)
    ax.set_axis_off()
fig.suptitle("Max pooling F=2, S=2, applied three times: each step keeps a quarter")
plt.show()
assert [level.shape[2] for level in levels] == [416, 208, 104, 52]

# %% [markdown]
# **Summary.** Pooling shrinks width and height and keeps the depth: `F = 2, S = 2`
# turns `[224x224x64]` into `[112x112x64]` and discards 75% of the activations;
# `F = 3, S = 2` overlaps, with pixels shared by up to 4 windows.

# %% [markdown]
# ## 2. Max, average and L2-norm pooling, by hand
#
# The window can be summarised in different ways: its maximum (the usual choice), its
# mean (common in older networks), or its Euclidean norm `sqrt(sum of squares)`.
# A 4x4 example with `F = 2, S = 2`, computed by hand and by the three layers:

# %%
x4 = np.array([[1.0, 3.0, 2.0, 0.0],
               [4.0, 2.0, 1.0, 1.0],
               [0.0, -1.0, 5.0, 2.0],
               [2.0, 1.0, -3.0, 4.0]])[None, None]
windows = {(i, j): [x4[0, 0, 2 * i + r, 2 * j + s] for r in range(2) for s in range(2)]
           for i in range(2) for j in range(2)}
by_hand = {
    "max": [[max(windows[i, j]) for j in range(2)] for i in range(2)],
    "average": [[sum(windows[i, j]) / 4 for j in range(2)] for i in range(2)],
    "L2": [[sum(v * v for v in windows[i, j]) ** 0.5 for j in range(2)] for i in range(2)],
}
layers = {
    "max": max_pool_forward_naive(x4, pool(2, 2))[0][0, 0],
    "average": avg_pool_forward(x4, pool(2, 2))[0][0, 0],
    "L2": l2_pool_forward(x4, pool(2, 2))[0][0, 0],
}
for name in by_hand:
    print(f"{name:8s} by hand {np.round(by_hand[name], 3).tolist()}  "
          f"layer {np.round(layers[name], 3).tolist()}")
    assert np.allclose(layers[name], by_hand[name], rtol=1e-12, atol=0)
assert by_hand["max"] == [[4.0, 2.0], [2.0, 5.0]]

# %% [markdown]
# **Summary.** All three poolings summarise each window with a fixed function (max 4, 2,
# 2, 5 here; mean; norm) and have no parameters.

# %% [markdown]
# ## 3. The backward pass: switches
#
# `max(a, b, c, d)` depends only on its largest argument, so its gradient goes entirely
# to that input and the others get zero. The forward pass records which input won each
# window, the **switch**, as the index `r*F + s` of the winner inside the window; the
# backward pass uses it to route each upstream gradient.

# %%
out4, cache4 = max_pool_forward_naive(x4, pool(2, 2))
switches = cache4[0][0, 0]
dout4 = np.array([[10.0, 20.0], [30.0, 40.0]])[None, None]
dx4 = max_pool_backward_naive(dout4, cache4)
print("switches (index inside each 2x2 window):\n", switches)
print("dx:\n", dx4[0, 0])
for (i, j), values in windows.items():
    r, s = divmod(int(switches[i, j]), 2)
    assert values[switches[i, j]] == max(values)
    assert dx4[0, 0, 2 * i + r, 2 * j + s] == dout4[0, 0, i, j]
assert np.count_nonzero(dx4) == 4 and dx4.sum() == dout4.sum()
assert np.array_equal(max_pool_backward_fast(dout4, cache4), dx4)

# %% [markdown]
# With overlapping windows a pixel can win more than one window, and then it receives
# the sum of their gradients. Average pooling shares each gradient equally among the
# window; L2 pooling gives input `x_p` the share `x_p / norm`.

# %%
x5 = np.array([[0.0, 1.0, 0.0, 1.0, 0.0],
               [1.0, 2.0, 9.0, 2.0, 1.0],
               [0.0, 1.0, 0.0, 1.0, 0.0]])[None, None]
out5, cache5 = max_pool_forward_fast(x5, pool(3, 2))          # two windows share column 2
dx5 = max_pool_backward_fast(np.array([[[[1.0, 1.0]]]]), cache5)
print("F=3, S=2 on a 3x5 input: outputs", out5.ravel(), "; dx:\n", dx5[0, 0])
assert dx5[0, 0, 1, 2] == 2.0 and np.count_nonzero(dx5) == 1

_, cache_avg = avg_pool_forward(x4, pool(2, 2))
_, cache_l2 = l2_pool_forward(x4, pool(2, 2))
dx_avg = avg_pool_backward(dout4, cache_avg)
dx_l2 = l2_pool_backward(dout4, cache_l2)
assert np.allclose(dx_avg[0, 0], np.kron(dout4[0, 0], np.ones((2, 2))) / 4)
norms = np.kron(layers["L2"], np.ones((2, 2)))
assert np.allclose(dx_l2[0, 0], np.kron(dout4[0, 0], np.ones((2, 2))) * x4[0, 0] / norms)

# %% [markdown]
# Each backward pass is checked against numerical derivatives (centred differences) on a
# random volume. Random real numbers have no ties, so max pooling is differentiable
# there.

# %%
x_check = rng.standard_normal((2, 3, 6, 6))
for name, forward, backward, F, S in [
    ("max naive", max_pool_forward_naive, max_pool_backward_naive, 2, 2),
    ("max fast", max_pool_forward_fast, max_pool_backward_fast, 2, 2),
    ("max fast, overlapping", max_pool_forward_fast, max_pool_backward_fast, 3, 2),
    ("average", avg_pool_forward, avg_pool_backward, 2, 2),
    ("L2", l2_pool_forward, l2_pool_backward, 2, 2),
]:
    x_in = x_check if F == 2 else x_check[:, :, :5, :5]
    errors = check_layer_gradients(forward, backward, {"x": x_in}, pool(F, S))
    print(f"{name:22s} F={F} S={S}: relative error of dx {errors['x']:.1e}")
    assert errors["x"] < 1e-7

# %% [markdown]
# **Summary.** Max pooling's backward pass sends each gradient to the input that won
# the window (its switch) and zero elsewhere, summing where overlapping windows share a
# winner; average pooling spreads it evenly; L2 pooling in proportion to each input.
# All three agree with numerical gradients.

# %% [markdown]
# ## 4. Local response normalization (AlexNet)
#
# AlexNet divides each activation by a power of the summed squares of its neighbours
# **across channels** at the same pixel:
# `b_c = a_c / (k + alpha * sum of a_c'^2 over the n channels around c) ** beta`, with
# `n = 5, k = 2, alpha = 1e-4, beta = 0.75`. A channel with a strong response damps its
# neighbours, a form of competition between feature maps. (Our `alpha` is the paper's;
# PyTorch and Caffe divide it by `n`, so their layer with `alpha` is ours with
# `alpha / n`.) The layer has since fallen out of use; it is here because the classic
# architectures have it.
#
# A depth column of 8 channels, all responding at 10 except one at 200:

# %%
lrn_param = {"size": 5, "alpha": 1e-4, "beta": 0.75, "k": 2.0}
a = np.full((1, 8, 1, 1), 10.0)
a[0, 3] = 200.0
b_lrn, cache_lrn = lrn_forward(a, lrn_param)


def lrn_by_hand(a, c, n=5, k=2.0, alpha=1e-4, beta=0.75):
    """Channel c of a depth column, normalized by its n neighbouring channels."""
    column = a[0, :, 0, 0]
    window = column[max(0, c - n // 2):min(len(column), c + n // 2 + 1)]
    return column[c] / (k + alpha * np.sum(window**2)) ** beta


for c in range(8):
    print(f"channel {c}: {a[0, c, 0, 0]:6.1f} -> {b_lrn[0, c, 0, 0]:7.3f}")
    assert np.isclose(b_lrn[0, c, 0, 0], lrn_by_hand(a, c), rtol=1e-12)
# Channels 1-5 see the strong channel 3 in their window and are damped harder than
# channels 0, 6 and 7, which do not.
ratio = (b_lrn / a)[0, :, 0, 0]
print("output / input per channel:", np.round(ratio, 3))
assert ratio[[1, 2, 4, 5]].max() < ratio[[0, 6, 7]].min()

errors = check_layer_gradients(lrn_forward, lrn_backward,
                               {"x": rng.standard_normal((2, 7, 3, 3)) * 30}, lrn_param)
print(f"LRN backward: relative error of dx {errors['x']:.1e}")
assert errors["x"] < 1e-7

# %%
fig, (ax_in, ax_gain) = plt.subplots(1, 2, figsize=(10, 3))
ax_in.bar(range(8), a[0, :, 0, 0], color="C0")
ax_in.set_title("input depth column")
ax_gain.bar(range(8), ratio, color="C1")
ax_gain.set_title("output / input after LRN")
for ax in (ax_in, ax_gain):
    ax.set_xlabel("channel")
fig.suptitle("The strong channel 3 damps the channels within 2 of it")
plt.show()

# %% [markdown]
# **Summary.** LRN divides each activation by `(k + alpha * sum of squares of its 5
# neighbouring channels) ** beta`; the strong channel 3 pushes the channels within
# reach (1 to 5) further down than the others. Its backward pass passes the gradient
# check.

# %% [markdown]
# ## 5. Batch normalization
#
# Batch normalization standardises every channel over the batch: during training it
# subtracts the channel's mean and divides by its standard deviation, both taken over
# all images and pixels of the batch, then scales by a learned `gamma` and shifts by a
# learned `beta`. It also keeps running averages of the statistics for test time.
# We apply it to a small batch of activations whose channels have very different
# scales and offsets.

# %%
scales = np.array([0.5, 3.0, 10.0])[None, :, None, None]
offsets = np.array([-2.0, 5.0, 40.0])[None, :, None, None]
acts = rng.standard_normal((8, 3, 6, 6)) * scales + offsets
gamma, beta = np.ones(3), np.zeros(3)
bn_param = {"mode": "train"}
normed, _ = spatial_batchnorm_forward(acts, gamma, beta, bn_param)
print("per channel, before: mean", np.round(acts.mean(axis=(0, 2, 3)), 2),
      "std", np.round(acts.std(axis=(0, 2, 3)), 2))
print("per channel, after:  mean", np.round(normed.mean(axis=(0, 2, 3)), 6) + 0.0,
      "std", np.round(normed.std(axis=(0, 2, 3)), 4))
assert np.allclose(normed.mean(axis=(0, 2, 3)), 0, atol=1e-12)
assert np.allclose(normed.std(axis=(0, 2, 3)), 1, atol=1e-3)

# The learned scale and shift set the new mean and standard deviation.
gamma2, beta2 = np.array([1.0, 2.0, 0.5]), np.array([0.0, -1.0, 3.0])
shifted, _ = spatial_batchnorm_forward(acts, gamma2, beta2, {"mode": "train"})
assert np.allclose(shifted.mean(axis=(0, 2, 3)), beta2, atol=1e-12)
assert np.allclose(shifted.std(axis=(0, 2, 3)), gamma2, atol=1e-3)

# At test time the running averages replace the batch statistics.
test_out, _ = spatial_batchnorm_forward(acts[:1], gamma, beta, dict(bn_param, mode="test"))
expected = (acts[:1] - bn_param["running_mean"][None, :, None, None]) / np.sqrt(
    bn_param["running_var"][None, :, None, None] + 1e-5)
assert_close(test_out, expected, rtol=1e-10, atol=1e-12, what="test mode")

# Numerical derivatives lose precision on inputs of size 40, so the check uses a
# standard-normal batch.
errors = check_layer_gradients(spatial_batchnorm_forward, spatial_batchnorm_backward,
                               {"x": rng.standard_normal((4, 3, 3, 3)), "gamma": gamma2,
                                "beta": beta2}, {"mode": "train"})
print("batch norm backward, relative errors:",
      {k: f"{v:.1e}" for k, v in errors.items()})
assert errors["worst"] < 1e-7

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3))
for c in range(3):
    axes[0].hist(acts[:, c].ravel(), bins=30, alpha=0.6, label=f"channel {c}")
    axes[1].hist(normed[:, c].ravel(), bins=30, alpha=0.6, label=f"channel {c}")
axes[0].set_title("activations per channel, before")
axes[1].set_title("after batch norm (gamma = 1, beta = 0)")
axes[0].legend(fontsize=8)
plt.show()

# %% [markdown]
# **Summary.** Batch norm gives every channel mean `beta` and standard deviation `gamma`
# over the batch (0 and 1 by default), whatever the scale of its input, uses running
# averages at test time, and its backward pass passes the gradient check. LRN
# normalizes across neighbouring channels at one pixel, batch norm across the batch
# for one channel.

# %% [markdown]
# ## Summary
#
# - A pooling layer shrinks each depth slice on its own, with no parameters: 2x2 max
#   pooling at stride 2 keeps a quarter of the activations.
# - Its backward pass sends each gradient to the input that won the window (the
#   switches); average and L2 pooling share it out instead.
# - LRN damps a channel next to strong ones; batch normalization standardises each
#   channel over the batch, then scales and shifts it with learned `gamma` and `beta`.

# %% [markdown]
# ## Exercises
#
# 1. AlexNet pools with overlapping windows, `F = 3` and `S = 2`. How wide is the output
#    of such a pool on a `13`-wide input?
# 2. A `2x2` average pool (stride 2) receives an upstream gradient of `1` for one of its
#    outputs. What gradient does each of the four inputs of that window get?
# 3. Find the bug: the max-pool backward pass in the next cell agrees with
#    `max_pool_backward_naive` for `2x2` windows with stride 2, but not for `3x3` windows
#    with stride 2. Which of its lines, `"a"`, `"b"`, `"c"` or `"d"`, is wrong?
#
# Put your answers in place of `None` below and run the cell: `exercises.answer` says
# right, wrong, or how far off, without giving the answer away. `exercises.hint(n)`
# gives a hint and `exercises.show_solution(n)` the worked solution; the collapsed cell
# below sets the exercises up (and holds the solutions: peek only when done).
# On the HTML pages, type an answer into the box under a question and press
# *check* instead.

# %%
def max_pool_backward_broken(dout, x, F, S):
    """Route each upstream gradient to the maximum of its window (with a bug)."""
    dx = np.zeros_like(x)                                              # (a)
    for n, c, i, j in np.ndindex(dout.shape):
        window = x[n, c, i * S:i * S + F, j * S:j * S + F]             # (b)
        r, s = np.unravel_index(np.argmax(window), window.shape)       # (c)
        dx[n, c, i * S + r, j * S + s] = dout[n, c, i, j]              # (d)
    return dx


agreement = {}
for F, S, size in ((2, 2, 8), (3, 2, 7)):              # sizes the windows tile
    x_bug = np.random.default_rng(6).standard_normal((1, 1, size, size))
    pooled, cache_bug = max_pool_forward_naive(x_bug, pool(F, S))
    dout_bug = np.ones_like(pooled)
    agreement[F, S] = np.allclose(max_pool_backward_broken(dout_bug, x_bug, F, S),
                                  max_pool_backward_naive(dout_bug, cache_bug))
    print(f"F = {F}, S = {S}: agrees with max_pool_backward_naive: {agreement[F, S]}")
assert agreement == {(2, 2): True, (3, 2): False}

# %% jupyter={"source_hidden": true}
from convnets.teach import Exercises  # noqa: E402
from IPython.display import display  # noqa: E402

exercises = Exercises("Lesson 6")
exercises.add(1, "Output width of a 3x3 stride-2 pool on 13", expected=pool_output_size(13, 3, 2),
              hint="(W - F)/S + 1 (pooling uses no padding).",
              solution="(13 - 3)/2 + 1 = 6.")
exercises.add(2, "Gradient of each input of a 2x2 average", expected=0.25,
              hint="The output is (a + b + c + d)/4: differentiate with respect to a.",
              solution="Each input contributes 1/4 of the output, so each gets 1/4 of the "
                       "upstream gradient: 0.25.")
exercises.add(3, "The wrong line of max_pool_backward_broken", expected="d",
              hint="With F = 3 and S = 2 neighbouring windows share a row or column, so "
                   "one input can be the maximum of two windows. What happens to its "
                   "gradient then?",
              solution="Line (d) assigns with '=' and so keeps only the last window's "
                       "gradient; an input that is the maximum of two overlapping windows "
                       "must receive the sum of both: 'dx[...] += dout[...]'. With 2x2 "
                       "windows and stride 2 no window overlaps, which hid the bug.")
display(exercises)

# %%
exercises.answer(1, None)   # your answer to exercise 1
exercises.answer(2, None)   # your answer to exercise 2
exercises.answer(3, None)   # your answer to exercise 3
