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
# # Lesson 10: computational considerations, how much memory a ConvNet needs
#
# When a ConvNet is built, memory is usually the bottleneck: a GPU has a few gigabytes
# (the notes mention 3, 4 and 6 GB, and 12 GB for the best cards of their time), and
# training needs to hold far more than the weights. The notes list three sources:
#
# * the **activations** of every layer, kept for the backward pass, and their
#   gradients (of the same size);
# * the **parameters**, their gradients, and usually a step cache for momentum,
#   Adagrad or RMSProp: the parameter memory times "at least 3 or so";
# * **miscellaneous** memory: the batch of images, augmented copies, scratch space.
#
# Then: count the values, multiply by 4 bytes (float32) or 8 (float64), and divide by
# 1024 once for KB, twice for MB, three times for GB. This lesson builds that
# calculator, checks it against real arrays, and applies it to every network of the
# zoo: how much memory each needs, and which batch size fits a given GPU.

# %%
import matplotlib.pyplot as plt
import numpy as np
from convnets import PARAM_COPIES, format_bytes, optim, parse_bytes, summarize, zoo

rng = np.random.default_rng(10)

# %% [markdown]
# ## 1. The calculator, by hand and by `Summary.memory`
#
# `summarize` counts a network's activations (the input and every layer's output
# volume; ReLUs work in place and add none) and parameters from the shapes alone.
# For training with a batch of `N` images, the values to hold are
# `2 * activations * N` (values and gradients) plus `3 * parameters` (values,
# gradients, step cache). VGG-16, one image, float32, by hand:

# %%
s_vgg = summarize(zoo.get("vgg16"))
activations, parameters = s_vgg.total_activations, s_vgg.total_params
values = 2 * activations * 1 + 3 * parameters
for itemsize, dtype in [(4, "float32"), (8, "float64")]:
    size = values * itemsize
    kb, mb, gb = size / 1024, size / 1024**2, size / 1024**3
    print(f"{dtype}: {values:,} values x {itemsize} bytes = {size:,} bytes = {kb:,.0f} KB "
          f"= {mb:,.1f} MB = {gb:.2f} GB;  Summary.memory: "
          f"{format_bytes(s_vgg.memory(dtype, training=True))}")
    assert s_vgg.memory(dtype, training=True, batch_size=1) == size
    assert format_bytes(size) == f"{gb:.2f} GB"
assert values == 2 * 15_237_608 + 3 * 138_357_544

# %% [markdown]
# For VGG-16 a single image's activations are small next to the parameters, times
# three: 1.66 GB in float32, twice that in float64. But the activations are per image
# and the parameters are not: with a batch of 64 the balance flips.

# %%
for N in (1, 8, 64, 128):
    act_bytes = 2 * activations * N * 4
    param_bytes = 3 * parameters * 4
    total = s_vgg.memory("float32", training=True, batch_size=N)
    print(f"batch {N:3d}: activations {format_bytes(act_bytes):>10}, parameters x3 "
          f"{format_bytes(param_bytes)}, total {format_bytes(total):>9} "
          f"({act_bytes / total:.0%} activations)")
    assert total == act_bytes + param_bytes

# %% [markdown]
# ## 2. Checked against real arrays
#
# The calculator only counts. Are those the arrays a network really holds? We run a
# small VGG-16 (1/16 of the width: the same layers with 4 to 32 channels) on one
# 224x224 image (random numbers: only the sizes matter), add up the bytes of the input,
# of every output volume that is not computed in place and of the parameters; then
# compute the gradients, take one step of each update rule and count its step cache.

# %%
small = zoo.get("vgg16", width=1 / 16, num_classes=10, seed=10)            # float32
s_small = summarize(small)
x = rng.standard_normal((1, 3, 224, 224)).astype(np.float32)
outputs = small.activations(x)
in_place = {layer.path for layer in small.layers if layer.in_place}
activation_bytes = x.nbytes + sum(a.nbytes for name, a in outputs if name not in in_place)
param_bytes = sum(p.nbytes for p in small.params.values())
print(f"activations: {activation_bytes:,} bytes measured, "
      f"{s_small.total_activations * 4:,} counted")
print(f"parameters:  {param_bytes:,} bytes measured, {s_small.total_params * 4:,} counted")
assert activation_bytes == s_small.total_activations * 4
assert param_bytes == s_small.total_params * 4
assert activation_bytes + param_bytes == s_small.memory("float32", training=False)

# %%
_, grads = small.loss(x, np.array([1]))
grad_bytes = sum(g.nbytes for g in grads.values())
for rule in ("sgd", "sgd_momentum", "rmsprop", "adam"):
    update = optim.get_update_rule(rule)
    cache_bytes = 0
    for key, w in small.params.items():
        _, config = update(w, grads[key], {})
        cache_bytes += sum(v.nbytes for v in config.values() if isinstance(v, np.ndarray))
    factor = (param_bytes + grad_bytes + cache_bytes) / param_bytes
    print(f"{rule:13s} values + gradients + step cache = {factor:.0f} x the parameters")
    assert factor == PARAM_COPIES[rule]
    training_bytes = s_small.memory("float32", training=True, update_rule=rule)
    assert training_bytes == (2 * activation_bytes + factor * param_bytes)

# %% [markdown]
# The counts are exact: the calculator's activations and parameters are the bytes the
# arrays occupy. The factor 3 is right for momentum and RMSProp, which keep one cache
# array per parameter; plain SGD needs 2, and Adam, which keeps two running averages,
# needs 4 (the notes' "at least 3 or so"). `Summary.memory` uses 3 by default, like the
# notes, and counts the right number for `update_rule='adam'` (or `'sgd'`), as checked
# in the loop above. Not counted at all: the "miscellaneous" memory, and
# the temporary arrays of the layers themselves (im2col's columns, lesson 5, are 7 times
# the input of AlexNet's first layer).

# %% [markdown]
# ## 3. The whole zoo
#
# Per image, in float32: the memory for inference (activations and parameters, once)
# and for training (activations x2, parameters x3), and the training memory in float64.

# %%
models = {name: summarize(zoo.get(name), warn=False) for name in zoo.names()}
print(f"{'network':10s} {'activations':>12s} {'parameters':>12s} {'inference':>11s} "
      f"{'training':>11s} {'training f64':>13s}")
for name, s in models.items():
    inference = s.memory("float32")
    training = s.memory("float32", training=True)
    training64 = s.memory("float64", training=True)
    print(f"{name:10s} {s.total_activations:12,} {s.total_params:12,} "
          f"{format_bytes(inference):>11s} {format_bytes(training):>11s} "
          f"{format_bytes(training64):>13s}")
    assert inference == (s.total_activations + s.total_params + s.total_buffers) * 4
    assert training == (2 * s.total_activations + 3 * s.total_params
                        + s.total_buffers) * 4
    assert training64 == 2 * training

# %% [markdown]
# (`buffers` are the running means and variances of batch norm, in GoogLeNet's
# torchvision variant and the ResNets: state, not trained, so counted once.)
#
# ## 4. The batch size that fits
#
# The notes' heuristic: if the network does not fit, decrease the batch size, since the
# activations (which grow with it) take most of the memory. `max_batch_size` solves
# `memory(N) <= budget` for `N`. For each network and a GPU of 3, 4, 6 or 12 GB,
# training in float32:

# %%
budgets = ["3GB", "4GB", "6GB", "12GB"]
fits = {name: [s.max_batch_size(b, "float32") for b in budgets] for name, s in models.items()}
print(f"{'network':10s}" + "".join(f"{b:>9s}" for b in budgets))
for name, sizes in fits.items():
    print(f"{name:10s}" + "".join(f"{n:9,}" for n in sizes))
for name, s in models.items():
    for budget, N in zip(budgets, fits[name], strict=True):
        limit = parse_bytes(budget)
        assert s.memory("float32", True, N) <= limit < s.memory("float32", True, N + 1)
        per_image = 2 * s.total_activations * 4
        fixed = (3 * s.total_params + s.total_buffers) * 4
        assert N == (limit - fixed) // per_image
assert fits["vgg16"][-1] == (12 * 1024**3 - 3 * 138_357_544 * 4) // (2 * 15_237_608 * 4)

# %%
fig, ax = plt.subplots(figsize=(11, 4))
width = 0.2
positions = np.arange(len(fits))
for i, budget in enumerate(budgets):
    ax.bar(positions + (i - 1.5) * width, [fits[n][i] for n in fits], width, label=budget)
ax.set_xticks(positions, list(fits))
ax.set_yscale("log")
ax.set_ylabel("largest batch (training, float32)")
ax.set_title("Images per batch that fit in the GPU memory (activations x2, parameters x3)")
ax.legend(title="GPU memory")
fig.tight_layout()
plt.show()

# %% [markdown]
# Memory grows linearly with the batch: a fixed part (the parameters, x3) plus a part
# per image (the activations, x2). The lines cross the GPU sizes at the batch sizes in
# the table.

# %%
fig, ax = plt.subplots(figsize=(9, 4))
batch = np.arange(0, 257)
for name in ("alexnet", "vgg16", "googlenet", "resnet50"):
    s = models[name]
    ax.plot(batch, [s.memory("float32", True, int(n)) / 1024**3 for n in batch], label=name)
for budget in budgets:
    ax.axhline(parse_bytes(budget) / 1024**3, color="grey", lw=0.8, ls="--")
    ax.text(257, parse_bytes(budget) / 1024**3, budget, va="center", fontsize=8)
ax.set_xlabel("batch size")
ax.set_ylabel("training memory, float32 (GB)")
ax.set_ylim(0, 14)
ax.legend()
fig.tight_layout()
plt.show()
vgg_at_12 = s_vgg.memory("float32", True, fits["vgg16"][-1])
share = 2 * activations * fits["vgg16"][-1] * 4 / vgg_at_12
print(f"VGG-16 with a batch of {fits['vgg16'][-1]} on 12 GB: {share:.0%} of it is activations")
assert share > 0.85

# %% [markdown]
# ## 5. Test time needs much less
#
# The activations are kept only because the backward pass needs them. A forward pass
# alone can drop each volume as soon as the next one is computed, so at any moment it
# holds at most two consecutive volumes. For VGG-16:

# %%
rows = s_vgg.rows
peak = max(a.activations + b.activations for a, b in zip(rows, rows[1:], strict=False))
print(f"all activations: {activations:,}; largest two consecutive volumes: {peak:,} "
      f"({activations / peak:.1f} times fewer); {format_bytes(peak * 4)} in float32")
assert peak == 2 * 224 * 224 * 64

# %% [markdown]
# Only 2.4 times fewer here, because VGG-16's first two volumes are most of its
# activations; the deeper the network, the larger the saving (the peak stays the same
# while the total grows with every layer).

# %% [markdown]
# ## Summary
#
# The memory calculator counts activations (x2 for their gradients, per
# image) and parameters (x3: values, gradients, a step cache), multiplies by 4 bytes
# for float32 or 8 for float64, and divides by 1024 per unit. Its counts match the
# bytes of the real arrays exactly; Adam needs a fourth copy of the parameters. VGG-16
# needs 1.66 GB to train on one image and fits a batch of 92 on a 12 GB GPU, where the
# activations take 87% of the memory: hence the advice to shrink the batch when a
# network does not fit. At test time two consecutive volumes are enough.

# %% [markdown]
# ## Exercises
#
# 1. A network with 10 million parameters is trained with Adam in float32. How much
#    memory do the parameters and their copies take, in MiB?
# 2. VGG-16 (138,357,544 parameters) trained with SGD with momentum in float32: the
#    parameters and their copies in MiB?
# 3. Training VGG-16 in float32 (activations x2, parameters x3), what is the largest
#    batch that fits in 2 GB (2 * 1024^3 bytes)?
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

exercises = Exercises("Lesson 10")
exercises.add(1, "Memory of 10M parameters with Adam, float32, MiB",
              expected=10e6 * PARAM_COPIES["adam"] * 4 / 1024**2,
              hint="Adam keeps the parameters, their gradients and two moving averages.",
              solution="10,000,000 * 4 copies * 4 bytes = 160,000,000 bytes = 152.6 MiB.")
exercises.add(2, "VGG-16's parameters with momentum, float32, MiB",
              expected=138_357_544 * 3 * 4 / 1024**2,
              hint="Momentum: parameters, gradients and velocity, 3 copies of 4 bytes.",
              solution="138,357,544 * 3 * 4 = 1,660,290,528 bytes = 1,583.4 MiB.")
exercises.add(3, "Largest VGG-16 batch in 2 GB", expected=s_vgg.max_batch_size("2GB", "float32"),
              hint="Subtract the parameters' part (exercise 2) from 2 GB and divide by "
                   "one image's activations x2 x 4 bytes.",
              solution=f"One image: {s_vgg.total_activations:,} activations x2 x 4 bytes = "
                       f"{s_vgg.total_activations * 8 / 1024**2:.1f} MiB; (2048 - 1583.4) / "
                       f"{s_vgg.total_activations * 8 / 1024**2:.1f} rounded down is "
                       f"{s_vgg.max_batch_size('2GB', 'float32')} images.")
display(exercises)

# %%
exercises.answer(1, None)   # your answer to exercise 1
exercises.answer(2, None)   # your answer to exercise 2
exercises.answer(3, None)   # your answer to exercise 3
