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
# # Lesson 11: training a small ConvNet on real handwriting
#
# Every network so far had random weights. This lesson trains one. The data are the
# 1,797 handwritten digits bundled with scikit-learn (8x8 grey images written by 43
# people, no download needed); the network is the smallest complete ConvNet,
# `INPUT -> CONV -> RELU -> POOL -> FC -> RELU -> FC`, and the training loop is
# minibatch gradient descent with Adam. We follow the usual routine: check the loss
# and the gradients before training, check that the network can overfit a handful of
# examples, train, and then look inside: the loss curve, the learned filters, and the
# activations of every layer for one digit. An optional section at the end ("Going
# further") takes one training step on CIFAR-sized images apart, to see where the time
# goes.

# %%
import os
import time

import matplotlib.pyplot as plt
import numpy as np
from convnets import (
    Solver,
    ThreeLayerConvNet,
    assert_close,
    eval_numerical_gradient,
    rel_error,
)
from convnets.data import load_digits
from convnets.visualize import filter_grid, plot_history, show_activations, signed_map
from IPython.display import display

# %% [markdown]
# ## 1. The data
#
# `load_digits` splits the images three ways (stratified: every digit keeps its share
# in every split), scales the pixels to `[0, 1]` and subtracts the training set's mean
# image, as is usual for ConvNets. Each image is a `(1, 8, 8)` volume: one channel.

# %%
data = load_digits(seed=0)
for part in ("train", "val", "test"):
    print(f"X_{part} {data[f'X_{part}'].shape}, y_{part} {data[f'y_{part}'].shape}")
assert data["X_train"].shape == (1257, 1, 8, 8)
assert len(data["X_val"]) == 180 and len(data["X_test"]) == 360
assert np.allclose(data["X_train"].mean(axis=0), 0, atol=1e-6)

fig, axes = plt.subplots(2, 10, figsize=(10, 2.4))
for ax, image, label in zip(axes.ravel(), data["X_train"], data["y_train"], strict=False):
    ax.imshow((image + data["mean_image"])[0], cmap="gray_r", vmin=0, vmax=1)
    ax.set_title(str(label), fontsize=9)
    ax.set_axis_off()
fig.suptitle("Training images and their labels (the mean image added back)")
plt.show()

# %% [markdown]
# ## 2. The network, and two checks before training
#
# `ThreeLayerConvNet`: 16 filters of 3x3 with padding 1 (the size stays 8x8), ReLU, a
# 2x2 max pool (4x4), a hidden FC layer of 100 units with ReLU, and an FC layer with
# the 10 class scores, followed by the softmax loss. Small random weights (standard
# deviation 0.05) and a little L2 regularization.

# %%
settings = dict(input_dim=(1, 8, 8), num_filters=16, filter_size=3, hidden_dim=100,
                weight_scale=5e-2, reg=1e-3)
model = ThreeLayerConvNet(**settings, seed=0)
for name, value in model.params.items():
    print(f"{name}: {value.shape}")
n_params = sum(v.size for v in model.params.values())
print(f"{n_params:,} parameters")
assert n_params == 16 * 9 + 16 + 16 * 4 * 4 * 100 + 100 + 100 * 10 + 10 == 26_870

# %% [markdown]
# **The initial loss.** With small random weights all ten scores are nearly equal, so
# the softmax gives each class about `1/10` and the loss should be about
# `-ln(1/10) = 2.303`. A very different value would point to a bug.

# %%
initial_loss, _ = model.loss(data["X_train"][:100], data["y_train"][:100])
print(f"initial loss {initial_loss:.4f}, ln(10) = {np.log(10):.4f}")
assert abs(initial_loss - np.log(10)) < 0.05

# %% [markdown]
# **The gradients.** On a smaller copy of the network in float64 (2 filters, 8 hidden
# units, 5 images), every gradient of the backward pass against centred finite
# differences of the loss. We report the error of each gradient as a whole,
# `||numeric - analytic|| / ||numeric + analytic||`, and also the largest error of a
# single entry, which is noisier: an entry that is almost zero has an unreliable ratio.

# %%
check = ThreeLayerConvNet(**dict(settings, num_filters=2, hidden_dim=8), dtype=np.float64,
                          seed=0)
X5 = data["X_train"][:5].astype(np.float64)
y5 = data["y_train"][:5]
_, grads = check.loss(X5, y5)
for name, value in check.params.items():
    numeric = eval_numerical_gradient(lambda _: check.loss(X5, y5)[0], value)
    whole = np.linalg.norm(numeric - grads[name]) / np.linalg.norm(numeric + grads[name])
    print(f"{name}: {value.size:4d} entries, error {whole:.1e} (largest single entry "
          f"{rel_error(numeric, grads[name]):.1e})")
    assert whole < 1e-7

# %% [markdown]
# **Overfitting a few examples.** A network that cannot learn 50 training images by
# heart will not learn 1,257. With a larger learning rate and no regularization it
# should reach 100% training accuracy in a few epochs (the validation accuracy stays
# low: 50 images do not generalize).

# %%
tiny = {"X_train": data["X_train"][:50], "y_train": data["y_train"][:50],
        "X_val": data["X_val"], "y_val": data["y_val"]}
overfit = Solver(ThreeLayerConvNet(**dict(settings, reg=0.0), seed=0), tiny,
                 update_rule="adam", optim_config={"learning_rate": 1e-2}, batch_size=10,
                 num_epochs=10, verbose=False, progress=False, seed=0)
overfit.train()
print("training accuracy per epoch:", overfit.train_acc_history)
print(f"validation accuracy: {overfit.val_acc_history[-1]:.2f}")
assert overfit.train_acc_history[-1] == 1.0

# %% [markdown]
# ## 3. Training
#
# The `Solver` runs minibatch gradient descent: 8 epochs (passes over the training
# set) of minibatches of 32 images, Adam with learning rate 0.002, decayed by 5% after
# each epoch. After every epoch it measures the accuracy on the training and validation
# sets and keeps the parameters with the best validation accuracy.

# %%
start = time.perf_counter()
solver = Solver(model, data, update_rule="adam", optim_config={"learning_rate": 2e-3},
                lr_decay=0.95, batch_size=32, num_epochs=8, print_every=None,
                progress=False, seed=0)
solver.train()
seconds = time.perf_counter() - start
test_acc = solver.check_accuracy(data["X_test"], data["y_test"])
print(f"{len(solver.loss_history)} iterations in {seconds:.1f} s; best validation accuracy "
      f"{solver.best_val_acc:.3f} (epoch {solver.best_epoch}); test accuracy {test_acc:.3f}")
assert solver.best_val_acc >= 0.9 and test_acc >= 0.9
assert solver.loss_history[-1] < solver.loss_history[0] / 4

# %% [markdown]
# The loss falls from 2.3 (chance) to about 0.5 within two epochs (80 iterations) and
# keeps creeping down; the validation accuracy follows the training accuracy closely:
# with 26,870 parameters and 1,257 images, a little regularization is enough to keep
# the network from memorizing.

# %%
display(plot_history(solver))

# %% [markdown]
# ## 4. What the network learned
#
# **The filters.** The 16 first-layer filters, each 3x3, before and after training, on
# one colour scale (blue = negative, white = 0, red = positive), so that the two banks
# compare. Training moves them far from their random start (by more than 4 times their
# initial size): the faint random patterns become strong ones. Many end with a red side
# against a blue side: edge detectors, vertical, horizontal or diagonal, which respond
# where a stroke begins or ends; one or two are blue all over, responding to the
# absence of ink. (3x3 filters on 8x8 digits are small; the 7x7 filters that
# `python -m convnets train --dataset cifar10` learns on photographs are easier to read.)

# %%
initial_W1 = ThreeLayerConvNet(**settings, seed=0).params["W1"]    # the same initialization
change = np.linalg.norm(model.params["W1"] - initial_W1) / np.linalg.norm(initial_W1)
print(f"the filters moved by {change:.0%} of their initial size")
assert change > 1
# Before and after side by side, on one colour scale (blue negative, red positive).
limit = max(np.abs(initial_W1).max(), np.abs(model.params["W1"]).max())
fig, axes = plt.subplots(1, 2, figsize=(8, 3.8), layout="constrained")
for ax, weights, when in [(axes[0], initial_W1, "before"),
                          (axes[1], model.params["W1"], "after")]:
    shown = signed_map(ax, filter_grid(weights, normalize=False), limit=limit,
                       colorbar=False, missing="0.35")
    ax.set_title(f"16 filters, 3x3, {when} training")
    ax.set_axis_off()
fig.colorbar(shown, ax=axes, fraction=0.04, label="weight")
plt.show()

# %% [markdown]
# **The activations.** One test digit through every layer (the first test digit the
# network classifies correctly): the input; the activation maps of the CONV layer
# (8x8, the first 8 of 16 shown), each one filter's response at every position, so
# that different maps light up on different parts of the strokes; after the ReLU only
# the positive responses remain; the pool keeps the strongest response in each 2x2
# block (4x4); the 100 hidden units; and the 10 class scores, the highest in red.

# %%
test_scores = model.loss(data["X_test"])
index = int(np.flatnonzero(np.argmax(test_scores, axis=1) == data["y_test"])[0])
x_one, label = data["X_test"][index], data["y_test"][index]
layers = model.activations(x_one)
for name, act in layers:
    print(f"{name:6s} {act.shape}")
scores = layers[-1][1][0]
print(f"test digit {index}: label {label}, predicted {np.argmax(scores)}")
assert [a.shape for _, a in layers] == [(1, 16, 8, 8), (1, 16, 8, 8), (1, 16, 4, 4),
                                        (1, 100), (1, 100), (1, 10)]
assert_close(scores, test_scores[index], rtol=1e-6, atol=1e-6)
display(show_activations(model, x_one, max_maps=8, class_names=data["class_names"]))

# %% [markdown]
# **The mistakes.** The test digits the network gets wrong, with what it answered:

# %%
predicted = np.argmax(test_scores, axis=1)
wrong = np.flatnonzero(predicted != data["y_test"])
print(f"{len(wrong)} of {len(predicted)} test digits wrong")
assert len(wrong) == round((1 - test_acc) * len(predicted))
fig, axes = plt.subplots(1, min(10, len(wrong)), figsize=(10, 1.6), squeeze=False)
for ax, i in zip(axes[0], wrong, strict=False):
    ax.imshow((data["X_test"][i] + data["mean_image"])[0], cmap="gray_r", vmin=0, vmax=1)
    ax.set_title(f"{data['y_test'][i]} -> {predicted[i]}", fontsize=9)
    ax.set_axis_off()
fig.suptitle("Test mistakes: label -> prediction")
plt.show()

# %% [markdown]
# ## Going further: where a training step spends its time
#
# *Optional: this section goes beyond the notes, into what makes the code fast. The
# summary and the exercises of the lesson follow it.*
#
#
# The digits are tiny. On CIFAR-sized images (3x32x32, batches of 50) with the default
# network (32 filters of 7x7, a hidden layer of 100 units) a step takes long enough to
# be worth looking into. Below, one training step is taken apart into its layers, each
# timed on its own (the best of several runs), next to the number of floating-point
# operations (multiply-adds counted as two) it performs. The data are random: only the
# shapes matter here. The times depend on the machine, so they are printed, never
# checked; the operation counts follow from the shapes and are checked.

# %%
from convnets import (  # noqa: E402
    affine_backward,
    affine_forward,
    blas_thread_controls,
    conv_backward_fast,
    conv_forward_fast,
    data_parallel_loss,
    keep_freed_memory,
    max_pool_backward_fast,
    max_pool_forward_fast,
    optim,
    relu_backward,
    relu_forward,
    softmax_loss,
)

keep_freed_memory()      # a training loop reuses the same arrays: keep them mapped
rng = np.random.default_rng(0)
N, C, H, W, F, HH, hidden = 50, 3, 32, 32, 32, 7, 100
cifar_net = ThreeLayerConvNet(input_dim=(C, H, W), num_filters=F, filter_size=HH,
                              hidden_dim=hidden, weight_scale=1e-2, seed=0)
p = cifar_net.params
X = rng.standard_normal((N, C, H, W)).astype(np.float32)
y = rng.integers(0, 10, N)


def best_ms(fn, repeat=7):
    """Milliseconds taken by the fastest of `repeat` calls of fn (after one warm-up)."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * min(times)


# One step, layer by layer (the pool comes before the first ReLU: they commute, and the
# ReLU then touches a quarter of the numbers; see ThreeLayerConvNet).
conv_param, pool_param = {"stride": 1, "pad": (HH - 1) // 2}, {"pool_height": 2,
                                                               "pool_width": 2, "stride": 2}
conv, conv_cache = conv_forward_fast(X, p["W1"], p["b1"], conv_param)
pool, pool_cache = max_pool_forward_fast(conv, pool_param)
relu1, relu1_cache = relu_forward(pool)
fc2, fc2_cache = affine_forward(relu1, p["W2"], p["b2"])
relu2, relu2_cache = relu_forward(fc2)
scores, fc3_cache = affine_forward(relu2, p["W3"], p["b3"])
loss, dscores = softmax_loss(scores, y)
drelu2, dW3, _ = affine_backward(dscores, fc3_cache)
dfc2 = relu_backward(drelu2, relu2_cache)
drelu1, dW2, _ = affine_backward(dfc2, fc2_cache)
dpool = relu_backward(drelu1, relu1_cache)
dconv = max_pool_backward_fast(dpool, pool_cache)
grads = cifar_net.loss(X, y)[1]
adam_configs = {k: optim.adam(p[k], grads[k], {})[1] for k in p}   # after one step

conv_flops = 2 * N * F * C * HH * HH * H * W          # every output: C*HH*HH multiply-adds
fc2_flops = 2 * N * relu1[0].size * hidden
fc3_flops = 2 * N * hidden * 10
stages = [  # (name, function, floating-point operations)
    ("conv forward", lambda: conv_forward_fast(X, p["W1"], p["b1"], conv_param), conv_flops),
    ("max pool forward", lambda: max_pool_forward_fast(conv, pool_param), 0),
    ("relu forward (x2)", lambda: (relu_forward(pool), relu_forward(fc2)), 0),
    ("fc forward (x2)", lambda: (affine_forward(relu1, p["W2"], p["b2"]),
                                 affine_forward(relu2, p["W3"], p["b3"])),
     fc2_flops + fc3_flops),
    ("softmax loss", lambda: softmax_loss(scores, y), 0),
    ("fc backward (x2)", lambda: (affine_backward(dscores, fc3_cache),
                                  affine_backward(dfc2, fc2_cache)),
     2 * (fc2_flops + fc3_flops)),
    ("relu backward (x2)", lambda: (relu_backward(drelu2, relu2_cache),
                                    relu_backward(drelu1, relu1_cache)), 0),
    ("max pool backward", lambda: max_pool_backward_fast(dpool, pool_cache), 0),
    ("conv backward (dw, db)", lambda: conv_backward_fast(dconv, conv_cache,
                                                          compute_dx=False), conv_flops),
    ("adam update", lambda: [optim.adam(p[k], grads[k], dict(adam_configs[k])) for k in p], 0),
]
times = {name: best_ms(fn) for name, fn, _ in stages}
total = sum(times.values())
all_flops = sum(flops for _, _, flops in stages)
print(f"{'stage':24s} {'time':>8s} {'share':>6s} {'GFLOP':>7s} {'share':>6s}")
for name, _, flops in stages:
    print(f"{name:24s} {times[name]:6.2f} ms {times[name] / total:6.1%} "
          f"{flops / 1e9:7.3f} {flops / all_flops:6.1%}")
step_ms = best_ms(lambda: cifar_net.loss(X, y))
print(f"one step, the sum of the stages: {total:.1f} ms = {N / total * 1e3:.0f} images/s")
print(f"ThreeLayerConvNet.loss (forward and backward, no update) in one call: {step_ms:.1f} ms")
cores = os.cpu_count() or 1
if cores > 1 and blas_thread_controls():   # one shard of the batch per core (OpenBLAS)
    shards_ms = best_ms(lambda: data_parallel_loss(cifar_net, X, y, workers=cores))
    print(f"the same in {cores} shards, a thread each (Solver(..., workers={cores})): "
          f"{shards_ms:.1f} ms")
assert conv_flops == 481_689_600                      # 2 * 50*32*32*32 outputs * 147 taps
assert fc2_flops == 2 * 50 * (32 * 16 * 16) * 100 == 81_920_000
assert round(2 * conv_flops / all_flops, 2) == 0.80  # the conv layer does most of the work

fig, ax = plt.subplots(figsize=(7, 3.2))
names = [name for name, _, _ in stages][::-1]
ax.barh(names, [times[name] for name in names], color="tab:blue")
ax.set_xlabel("milliseconds (best of 7)")
ax.set_title(f"One training step, batch of {N} images of {C}x{H}x{W}")
plt.tight_layout()
plt.show()

# %% [markdown]
# The convolution performs 80% of the arithmetic and takes the largest share of the
# time: its forward pass and its weight gradient are each
# one big matrix multiply (lessons 4 and 5), the kind of work a CPU does best, while
# pooling, ReLU and Adam do almost no arithmetic and spend their time moving numbers
# through memory. Four details keep the step short, all visible in the code above:
#
# - **No gradient for the images.** The first layer's input is the data, which is
#   never updated, so `conv_backward_fast(..., compute_dx=False)` skips `dx`, about
#   as much work as `dw` (PyTorch skips it too, unless asked).
# - **Pool, then ReLU.** Max pooling and ReLU commute, so the ReLU runs on the pooled
#   volume, a quarter of the size.
# - **Max pooling by offsets.** The fast max pool loops over the 4 positions inside a
#   2x2 window (each step a vectorised comparison over all windows at once), not over
#   the windows.
# - **Every core busy.** BLAS spreads a matrix multiply over the cores, but pooling,
#   ReLU, Adam and im2col's copies run on one. `data_parallel_loss` (what
#   `Solver(..., workers=2)` uses) cuts the batch into one shard per core and runs each
#   shard's whole forward and backward pass in a thread of its own, with BLAS on one
#   thread; the loss is a mean over the examples, so the shards' results weighted by
#   their sizes are the same loss and gradients, up to rounding.
#
# `python -m convnets.bench_training` times the same step against the same network in
# PyTorch, when it is installed.

# %% [markdown]
# ## Summary
#
# A ConvNet with one CONV layer of 16 3x3 filters, trained for 8 epochs
# (a few seconds), classifies more than 90% of held-out handwritten digits correctly.
# Before training, the loss was `ln(10)` as expected, the gradients matched finite
# differences and the network could memorize 50 images; after training, its
# activations show the digit being turned, layer by layer, into ten class scores. The
# same code trains on MNIST or CIFAR-10 (`python -m convnets train --dataset ...`), only
# longer.

# %% [markdown]
# ## Exercises
#
# 1. Before training, a classifier for 100 classes with small random weights: what
#    softmax loss do you expect?
# 2. How many iterations does the `Solver` run per epoch with these 1,257 training
#    images and batches of 32?
# 3. With 32 filters instead of 16 (everything else as above), how many parameters
#    does `ThreeLayerConvNet` have?
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

exercises = Exercises("Lesson 11")
exercises.add(1, "Initial loss with 100 classes", expected=np.log(100),
              hint="Equal scores give every class probability 1/100; the loss is "
                   "-log of the correct class's probability.",
              solution="-ln(1/100) = ln(100) = 4.605.")
exercises.add(2, "Iterations per epoch", expected=solver.iterations_per_epoch,
              hint="Only full batches count.",
              solution="1,257 // 32 = 39 iterations (8 epochs: 312).")
exercises.add(3, "Parameters with 32 filters",
              expected=sum(v.size for v in
                           ThreeLayerConvNet(**dict(settings, num_filters=32)).params.values()),
              hint="Count conv weights and biases, the FC layer on the pooled 4x4x32 "
                   "volume, and the last FC layer.",
              solution="32*9 + 32 + 32*4*4*100 + 100 + 100*10 + 10 = 288 + 32 + 51,200 + "
                       "100 + 1,010 = 52,630.")
display(exercises)

# %%
exercises.answer(1, None)   # your answer to exercise 1
exercises.answer(2, None)   # your answer to exercise 2
exercises.answer(3, None)   # your answer to exercise 3
