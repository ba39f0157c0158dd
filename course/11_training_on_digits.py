# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
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
# activations of every layer for one digit.

# %%
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
from convnets.visualize import plot_history, show_activations, show_filters
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
# **The filters.** The 16 first-layer filters, each 3x3 and scaled to its own range
# (dark = negative, light = positive), before and after training. Training moves them
# far from their random start (by more than 4 times their initial size). Many end with
# a light side against a dark side: edge detectors, vertical, horizontal or diagonal,
# which respond where a stroke begins or ends; one or two are uniformly dark, responding
# to the absence of ink. (3x3 filters on 8x8 digits are small; the 7x7 filters that
# `python -m convnets train --dataset cifar10` learns on photographs are easier to read.)

# %%
initial_W1 = ThreeLayerConvNet(**settings, seed=0).params["W1"]    # the same initialization
change = np.linalg.norm(model.params["W1"] - initial_W1) / np.linalg.norm(initial_W1)
print(f"the filters moved by {change:.0%} of their initial size")
assert change > 1
display(show_filters(initial_W1, title="16 filters, 3x3, before training"))
display(show_filters(model.params["W1"], title="16 filters, 3x3, after training"))

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
# **Summary.** A ConvNet with one CONV layer of 16 3x3 filters, trained for 8 epochs
# (a few seconds), classifies more than 90% of held-out handwritten digits correctly.
# Before training, the loss was `ln(10)` as expected, the gradients matched finite
# differences and the network could memorize 50 images; after training, its
# activations show the digit being turned, layer by layer, into ten class scores. The
# same code trains on MNIST or CIFAR-10 (`python -m convnets train --dataset ...`), only
# longer.
