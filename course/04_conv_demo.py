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
# # Lesson 4: a convolution, one output at a time
#
# The notes illustrate the CONV layer with an animation. This lesson rebuilds it from
# the layer's own numbers: an input volume of `5 x 5 x 3` (width, height, depth), a
# layer with `K = 2` filters of size `F = 3`, stride `S = 2` and zero-padding `P = 1`.
# The output is `(5 - 3 + 2)/2 + 1 = 3` wide and high and 2 deep: 18 numbers.
#
# Each output is one dot product: the 3x3x3 block of the padded input under the filter,
# multiplied elementwise by the filter's 27 weights, summed, plus the filter's bias.
# Below you can step through the 18 of them with a slider (in a running notebook), watch
# them play as an animation (anywhere, even in the HTML page without a kernel), or read
# the static figures and the printed trace. Where no code runs at all, such as this
# lesson's text on GitHub, the same 18 steps play as an animated image:
# `docs/img/conv_demo.gif` in the repository (drawn from this lesson's numbers by
# `tools/make_conv_demo_gif.py`; the README shows it).

# %%
import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from convnets import conv_forward_fast, conv_forward_naive, conv_output_size
from convnets.teach import Exercises, conv_demo_animation
from IPython.display import display
from matplotlib.patches import Rectangle

rng = np.random.default_rng(4)

# %% [markdown]
# ## 1. The example and the layer's answer
#
# Like the notes' demo we use small integers: input values 0, 1, 2, weights -1, 0, 1,
# biases 1 and 0. With integers every product and sum is exact, so the layer's output
# must equal the hand computation *exactly*.

# %%
x = rng.integers(0, 3, size=(1, 3, 5, 5)).astype(np.float64)    # N=1, D=3, H=W=5
w = rng.integers(-1, 2, size=(2, 3, 3, 3)).astype(np.float64)   # K=2 filters 3x3x3
b = np.array([1.0, 0.0])
S, P = 2, 1

out, _ = conv_forward_naive(x, w, b, {"stride": S, "pad": P})
out_fast, _ = conv_forward_fast(x, w, b, {"stride": S, "pad": P})
size = conv_output_size(5, 3, S=S, P=P)
print(f"(5 - 3 + 2*{P})/{S} + 1 = {size};  output (N, K, H, W) = {out.shape}")
assert size == 3 and out.shape == (1, 2, 3, 3) and out.size == 18
assert np.array_equal(out, out_fast)
print(out[0])

# %% [markdown]
# ## 2. The same 18 numbers by hand
#
# Now without the layer: plain Python loops over the filter's 27 taps, reading a zero
# wherever the filter hangs over the border (that is what zero-padding means). For
# output `(k, i, j)` the window's top-left corner is at row `i*S - P`, column `j*S - P`
# of the unpadded input. We keep every step's three per-channel sums for the trace.

# %%
def output_by_hand(k, i, j):
    """Output (k, i, j) as explicit products; returns (value, per-channel sums)."""
    channel_sums = []
    for c in range(3):
        total = 0.0
        for r in range(3):
            for s in range(3):
                row, col = i * S - P + r, j * S - P + s
                if 0 <= row < 5 and 0 <= col < 5:      # outside: a padding zero
                    total += x[0, c, row, col] * w[k, c, r, s]
        channel_sums.append(total)
    return sum(channel_sums) + b[k], channel_sums


steps = [(k, i, j) for k in range(2) for i in range(3) for j in range(3)]
for step, (k, i, j) in enumerate(steps):
    value, sums = output_by_hand(k, i, j)
    terms = " + ".join(f"{v:+3.0f}" for v in sums)
    print(f"step {step + 1:2d}: out[{k},{i},{j}] = {terms} (channels 0,1,2) "
          f"{b[k]:+.0f} (bias) = {value:+3.0f}   layer: {out[0, k, i, j]:+3.0f}")
    assert out[0, k, i, j] == value
assert len(steps) == 18

# %% [markdown]
# **Summary.** All 18 outputs of the layer equal the hand computation exactly. The next
# sections draw each step.

# %% [markdown]
# ## 3. Drawing one step
#
# The picture follows the notes' demo: the padded input volume on the left, one depth
# slice per row (padding in grey, the window under the filter highlighted), the filter
# in the middle, the output volume on the right with the current entry highlighted and
# the entries computed so far filled in. The labels use the notes' `[x, y, depth]`
# indexing: `x[:, :, c]` is our `x[0, c]` and `o[i, j, k]` is our `out[0, k, i, j]`.

# %%
x_padded = np.pad(x[0], ((0, 0), (P, P), (P, P)))              # (3, 7, 7)


def draw_grid(ax, values, title, facecolor, highlight=None, shown=None, padding=0):
    """A grid of numbers; `highlight` = (top, left, height, width) to outline."""
    rows, cols = values.shape
    for r in range(rows):
        for c in range(cols):
            border = r < padding or c < padding or r >= rows - padding or c >= cols - padding
            ax.add_patch(Rectangle((c, r), 1, 1, edgecolor="0.6",
                                   facecolor="0.88" if border else facecolor))
            if shown is None or shown[r, c]:
                ax.text(c + 0.5, r + 0.5, f"{values[r, c]:g}", ha="center", va="center",
                        fontsize=9)
    if highlight is not None:
        top, left, height, width = highlight
        ax.add_patch(Rectangle((left, top), width, height, fill=False, edgecolor="C3", lw=2.5))
    ax.set_xlim(0, cols)
    ax.set_ylim(rows, 0)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=9)


def draw_step(step):
    """The figure for one step of the demo, counting from 0 (the 18th is step 17)."""
    k, i, j = steps[step]
    value, sums = output_by_hand(k, i, j)
    done = np.zeros((2, 3, 3), dtype=bool)
    for kk, ii, jj in steps[:step + 1]:
        done[kk, ii, jj] = True
    fig, axes = plt.subplots(3, 4, figsize=(10, 6.6),
                             gridspec_kw={"width_ratios": [7, 3, 3, 3]})
    for c in range(3):
        draw_grid(axes[c, 0], x_padded[c], f"x[:, :, {c}] (padded)", "#dbe8f7",
                  highlight=(i * S, j * S, 3, 3), padding=P)
        draw_grid(axes[c, 1], w[k, c], f"w{k}[:, :, {c}]", "#f8d7d3")
        axes[c, 2].set_axis_off()
        axes[c, 2].text(0.0, 0.5, f"sum of products\nin channel {c}:\n{sums[c]:+g}",
                        va="center", fontsize=9)
    for kk in range(2):
        draw_grid(axes[kk, 3], out[0, kk], f"o[:, :, {kk}]", "#d9ead3",
                  highlight=(i, j, 1, 1) if kk == k else None, shown=done[kk])
    axes[2, 3].set_axis_off()
    axes[2, 3].text(0.0, 0.5, f"bias b{k} = {b[k]:g}\n\n"
                              f"o[{i},{j},{k}] =\n{sums[0]:g} + {sums[1]:g} + {sums[2]:g} + "
                              f"{b[k]:g}\n= {value:g}", va="center", fontsize=10)
    fig.suptitle(f"step {step + 1} of 18: output ({i}, {j}) of filter {k}", fontsize=11)
    fig.tight_layout()
    return fig


# %% [markdown]
# ## 4. Step through it (interactive)
#
# Drag the slider, or press play. The widget needs a running kernel; the animation
# and the static figures in the next sections show the same content without one.

# %%
def show_step(step):
    """Draw step `step` of 1-18 (the slider counts from 1, like the figure titles)."""
    fig = draw_step(step - 1)
    plt.show()
    plt.close(fig)


slider = widgets.IntSlider(value=1, min=1, max=len(steps), description="step")
play = widgets.Play(value=1, min=1, max=len(steps), interval=900, description="play")
widgets.jslink((play, "value"), (slider, "value"))
display(widgets.VBox([widgets.HBox([play, slider]),
                      widgets.interactive_output(show_step, {"step": slider})]))
assert (slider.min, slider.max) == (1, 18)

# %% [markdown]
# ## 5. The animation (plays without a kernel)
#
# The same 18 steps as a small player that runs in the page itself (it plays in the
# exported HTML too): each padded input slice with the window in red, the filter, the
# three sums of products, and the output volume filling up. Pause it, or step with the
# arrows and the slider. Its numbers are the hand computation of section 2.

# %%
animation = conv_demo_animation(x_padded, w, b, stride=S, pad=P)
display(animation)
assert len(animation.steps) == 18
for (k, i, j), shown in zip(steps, animation.steps, strict=True):
    value, sums = output_by_hand(k, i, j)
    assert (shown["k"], shown["i"], shown["j"]) == (k, i, j)
    assert shown["value"] == value == out[0, k, i, j] and shown["sums"] == sums

# %% [markdown]
# ## 6. The same, as static figures
#
# First every window position at a glance: for each of the 18 steps, where the
# window sits on the padded 7x7 input (the grey ring is padding) and the output it
# produces. The window jumps 2 pixels at a time, so neighbouring windows overlap in one
# row or column; the padding lets the corner windows hang over the border.

# %%
fig, axes = plt.subplots(3, 6, figsize=(12, 6.4))
for step, ax in enumerate(axes.ravel()):
    k, i, j = steps[step]
    grid = np.zeros((7, 7))
    grid[P:-P, P:-P] = 1
    ax.imshow(grid, cmap="Blues", vmin=0, vmax=3)
    ax.add_patch(Rectangle((j * S - 0.5, i * S - 0.5), 3, 3, fill=False, edgecolor="C3",
                           lw=2))
    ax.set_xticks(np.arange(-0.5, 7), minor=True)
    ax.set_yticks(np.arange(-0.5, 7), minor=True)
    ax.grid(which="minor", color="0.75", lw=0.5)
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    ax.set_title(f"{step + 1}: o[{i},{j},{k}] = {out[0, k, i, j]:g}", fontsize=9)
fig.suptitle("The 18 steps: window position on the padded input and the output value")
plt.show()

# %% [markdown]
# And two of the steps in full: the first one (the window over the top-left corner,
# mostly padding) and the 14th, from the second filter.

# %%
for step in (0, 13):
    draw_step(step)
    plt.show()
assert all(out[0][steps[s]] == output_by_hand(*steps[s])[0] for s in (0, 13))

# %% [markdown]
# ## Summary
#
# - The notes' demo, `[5x5x3]` input, two `3x3x3` filters, `S = 2`, `P = 1`, gives a
#   `[3x3x2]` output: 18 dot products of length 27, each a filter with the padded block
#   under it, plus a bias; the layer's answers equal the hand computation exactly.
# - Each one is the sum over the three channels of the elementwise products, which you
#   can check by hand, step by step, in the animation.
# - Lesson 5 computes all 18 with a single matrix multiplication.

# %% [markdown]
# ## Exercises
#
# 1. Keep everything but make the stride `S = 1`. How many numbers does the output
#    volume hold (both filters)?
# 2. Still with `S = 1` (and `P = 1`): compute by hand the first filter's output at row
#    0, column 1 (our `out[0, 0, 0, 1]`, the notes' `o[0, 1, 0]`) from the `x` and `w`
#    printed above. Its window covers padded rows 0-2 and columns 1-3.
# 3. In step 1 (the window over the top-left corner), how many of the 27 products
#    multiply a padding zero?
#
# Put your answers in place of `None` below and run the cell: `exercises.answer` says
# right, wrong, or how far off, without giving the answer away. `exercises.hint(n)`
# gives a hint and `exercises.show_solution(n)` the worked solution; the collapsed cell
# below sets the exercises up (and holds the solutions, so peek only when done).
# On the HTML pages, type an answer into the box under a question and press
# *check* instead.

# %% jupyter={"source_hidden": true}
out_s1, _ = conv_forward_naive(x, w, b, {"stride": 1, "pad": 1})
window_s1 = x_padded[:, 0:3, 1:4]
sums_s1 = (window_s1 * w[0]).sum(axis=(1, 2))
exercises = Exercises("Lesson 4")
exercises.add(1, "Outputs with stride 1", expected=out_s1.size,
              hint="The output size is (W - F + 2P)/S + 1 per side; there are K = 2 slices.",
              solution="(5 - 3 + 2)/1 + 1 = 5, so each filter gives 5 x 5 = 25 outputs, "
                       "and two filters 50.")
exercises.add(2, "out[0, 0, 0, 1] with stride 1, by hand", expected=out_s1[0, 0, 0, 1],
              hint="Multiply x_padded[c, 0:3, 1:4] by w[0, c] entry by entry for each "
                   "channel c, add everything up, then add the bias b[0] = 1.",
              solution="Per-channel sums of products "
                       + " + ".join(f"{v:g}" for v in sums_s1)
                       + f", plus the bias {b[0]:g}: {out_s1[0, 0, 0, 1]:g}.")
exercises.add(3, "Products with a padding zero in step 1", expected=15,
              hint="Draw the 3x3 window at padded rows 0-2, columns 0-2: which of its 9 "
                   "positions lie in the grey ring? Then count the channels.",
              solution="Row 0 and column 0 of the window are padding: 3 + 3 - 1 = 5 of "
                       "the 9 positions, in each of the 3 channels: 15 of 27 products.")
assert sum(sums_s1) + b[0] == out_s1[0, 0, 0, 1]
display(exercises)

# %%
exercises.answer(1, None)   # your answer to exercise 1
exercises.answer(2, None)   # your answer to exercise 2
exercises.answer(3, None)   # your answer to exercise 3
