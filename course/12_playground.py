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
# # Lesson 12: the ConvNet playground
#
# The notes point their readers to a browser demo where one can "play with ConvNet
# architectures and see the results and computations in real time". This lesson opens
# the course's own version of that place, built on the layers of the earlier lessons:
# a widget where you type a network, see its sizes before anything runs, press *train*,
# and watch the loss fall, the filters form and the activations change.
#
# We walk through the notes' smallest complete ConvNet,
# `INPUT -> CONV -> RELU -> POOL -> FC`, on the handwritten digits of lesson 11. Each
# step below is done from code, so that the lesson runs unattended; every button and
# slider it presses is also on the widget for you to press yourself.

# %%
import numpy as np
from convnets.playground import DEFAULT_DEFINITION, Playground, build_network
from IPython.display import display

playground = Playground(data="digits", seed=0)
display(playground)

# %% [markdown]
# ## 1. The network as text, checked before it runs
#
# The box on the left holds the definition, one layer per line with its
# hyperparameters. Under it, the table that `convnets.summarize` computes from the
# shapes alone: each layer's output volume, its parameters and its receptive field. The
# network below is the notes' pattern with 8 filters of 3x3, padded by
# `P = (F - 1)/2 = 1` so that the 8x8 image keeps its size, a 2x2 max pool that halves
# it, and an FC layer with one score per digit. The other kinds are `AVGPOOL` and
# `L2POOL` (the notes' other pooling), `BN` (batch normalization) and `LRN` (AlexNet's
# normalization); `help(convnets.playground.definition)` lists every hyperparameter.

# %%
print(DEFAULT_DEFINITION)
summary = playground.definition.summary
for row in summary.rows:
    print(f"{row.path:7s} {row.name:8s} {row.output_shape}  params {row.params:,}")
assert [row.output_shape for row in summary.rows] == [
    (1, 8, 8), (8, 8, 8), (8, 8, 8), (8, 4, 4), (10, 1, 1)]
assert summary.rows[1].params == 8 * (3 * 3 * 1) + 8 == 80      # weights + biases
assert summary.rows[-1].params == (4 * 4 * 8) * 10 + 10 == 1290

# %% [markdown]
# Every definition you type is checked as you type. One that breaks a sizing rule
# shows the rule and its numbers, the same `ValueError` the layers raise, and the
# *build* button is disabled: the running network is never replaced by one that cannot
# work. Here, a 3x3 convolution without padding shrinks 8x8 to 6x6, a pool makes it
# 3x3, and a second 2x2 pool at stride 2 does not fit 3x3.

# %%
running = playground.trainer.model
playground.editor.value = """INPUT
CONV filters=8 size=3 stride=1 pad=0
RELU
POOL size=2 stride=2
POOL size=2 stride=2
FC"""
try:
    build_network(playground.editor.value, (1, 8, 8), 10)
except ValueError as error:
    print(error)
assert "(3 - 2)/2 + 1 = 1.5 is not an integer" in playground.summary.value
assert playground.build_button.disabled and playground.trainer.model is running
playground.editor.value = DEFAULT_DEFINITION   # back to the valid network
assert not playground.build_button.disabled

# %% [markdown]
# ## 2. Training, live
#
# *train* starts a background thread that takes minibatch steps until *pause*; *one
# step* takes one. The notebook stays usable meanwhile: the buttons only leave a note
# for the thread, which reads it between two steps, so the network is never changed
# halfway through a step. The views are redrawn on a clock (the curves a few times a
# second, the pictures once a second), not after every step, which keeps them cheap:
# `python -m convnets.playground.bench` measures the playground against the `Solver`
# on the same network and data.
#
# Here we take 40 steps of 32 images. Before training the loss is about `ln(10) = 2.3`
# (ten equally likely classes, lesson 11); it falls quickly.

# %%
playground.step(40)
trainer = playground.trainer
losses = [loss for _, loss in trainer.history.loss]
print(f"examples seen: {trainer.examples_seen}, first loss {losses[0]:.3f}, "
      f"mean of the last five {np.mean(losses[-5:]):.3f}")
assert trainer.examples_seen == 40 * 32
assert abs(losses[0] - np.log(10)) < 0.6
assert np.mean(losses[-5:]) < losses[0]

# %% [markdown]
# The *training* tab shows the loss and the accuracies against the number of examples
# seen, and the time of each layer's forward and backward pass (the whole step's time
# split by layer; the backward pass of the first conv skips the gradient of the image,
# as in lesson 11). The *layers* tab lists each layer's output volume, filter size,
# stride, parameters and the range of its activations and their gradients, then shows
# the activation maps of one validation image, every channel, next to their gradients
# (blue negative, red positive), and the first layer's filters.

# %%
for layer in trainer.layers:
    print(f"{layer.name:6s} {layer.kind:8s} forward {layer.forward_ms:6.3f} ms  "
          f"backward {layer.backward_ms:6.3f} ms  activations "
          f"[{layer.act_min:.2f}, {layer.act_max:.2f}]")
assert [layer.name for layer in trainer.layers] == ["conv1", "relu1", "pool1", "fc1"]
assert trainer.layers[1].act_min >= 0  # a ReLU's output is never negative
assert len(playground.maps_box.children) == 4

# %% [markdown]
# ## 3. Hyperparameters, resets and a trained network
#
# The learning rate, momentum, batch size, weight decay and update rule change while
# the network trains, without starting over. *reset (same seed)* goes back to the very
# same initial weights (and minibatch order: the same run again); *reset (new weights)*
# draws new ones. *load trained digits net* loads a copy of this network trained for a
# few seconds, and the *test set* tab then shows twenty test digits with the network's
# three best guesses (green for the right digit, red for wrong ones) and the confusion
# matrix.

# %%
playground.learning_rate.value = 0.01
playground.step(1)
assert trainer.learning_rate == 0.01 and trainer.examples_seen == 41 * 32
playground.pretrained_button.click()
assert playground.wait_idle(30)
print(f"test accuracy of the trained network: {playground.test_accuracy:.1%}")
assert playground.test_accuracy > 0.9
confusion = playground.confusion
print("most confused pair (true, predicted):",
      np.unravel_index(np.argmax(confusion - np.diag(np.diag(confusion))), confusion.shape))

# %% [markdown]
# ## 4. Your own digit
#
# The *your input* tab has a canvas: draw a digit with the mouse and the network's
# three best guesses and every layer's activations for it appear. The training digits
# were drawn on 32x32 grids and counted in 4x4 blocks; the canvas does the same, after
# scaling your strokes to fill the grid as the training digits do. Here a vertical
# stroke stands in for a hand-drawn one.

# %%
cells = np.zeros((32, 32), dtype=int)
cells[4:28, 14:18] = 1
playground.canvas.pixels = cells.ravel().tolist()
assert playground.wait_idle(30)
guess = playground.class_names[int(np.argmax(playground.drawing_probabilities))]
print(f"the network reads the stroke as a {guess} "
      f"({playground.drawing_probabilities.max():.0%})")
assert guess == "1"

# %% [markdown]
# ## 5. The notes' pattern notation
#
# The definition box also takes the notes' notation, with options for the sizes:
# every CONV is then padded by `(F - 1)/2` and the last FC gives the class scores.
# Two CONV-RELU-POOL stages take the 8x8 digits down to 2x2.

# %%
playground.editor.value = "INPUT -> [CONV -> RELU -> POOL]*2 -> FC\nfilters = 8, 16"
playground.build_button.click()
playground.step(5)
kinds = [layer.kind for layer in playground.trainer.model.layers]
print(kinds)
assert kinds == ["CONV3-8", "RELU", "POOL2", "CONV3-16", "RELU", "POOL2", "FC"]
assert playground.trainer.model.output_shape() == (10, 1, 1)
assert playground.trainer.layers[5].output_shape == (16, 2, 2)

# %% [markdown]
# `make playground` opens the same widget as a page of its own (with Voila), without
# the notebook around it: for a projector in a lecture hall. When you are done here,
# `playground.close()` stops its thread.

# %% [markdown]
# ## Summary
#
# - The playground checks a network's sizes as you type it, with the core's own error
#   and numbers, before anything trains; a definition that breaks a rule never
#   replaces the running network.
# - It trains in a background thread while you change the hyperparameters, and shows
#   the loss, the time of every layer, the activations, the filters and the mistakes
#   as they change, on the same NumPy layers as every lesson.
# - The notes' pattern notation (`INPUT -> [CONV -> RELU -> POOL]*2 -> FC`) is a
#   definition too.

# %% [markdown]
# ## Exercises
#
# 1. How many parameters does a `CONV filters=16 size=3` layer have on the 8x8x1
#    digits?
# 2. With 16 filters in the first layer of the default network (and everything else
#    the same), how many parameters does the last FC layer have?
# 3. `CONV filters=8 size=3 stride=2 pad=0` on the 8x8 digits: what value does
#    `(W - F + 2P)/S + 1` give? Does the playground accept the layer?
#
# Put your answers in place of `None` below and run the cell: `exercises.answer` says
# right, wrong, or how far off, without giving the answer away. `exercises.hint(n)`
# gives a hint and `exercises.show_solution(n)` the worked solution; the collapsed cell
# below sets the exercises up (and holds the solutions: peek only when done). Type the
# definitions into the playground to check your answers.

# %% jupyter={"source_hidden": true}
from convnets.teach import Exercises  # noqa: E402

exercises = Exercises("Lesson 12")
exercises.add(1, "Parameters of a CONV layer",
              expected=build_network("CONV filters=16 size=3\nRELU\nFC", (1, 8, 8), 10)
              .summary.rows[1].params,
              hint="Each filter has F*F*C weights and one bias.",
              solution="16 * (3*3*1) + 16 = 144 + 16 = 160.")
exercises.add(2, "Parameters of the last FC layer",
              expected=build_network(DEFAULT_DEFINITION.replace("filters=8", "filters=16"),
                                     (1, 8, 8), 10).summary.rows[-1].params,
              hint="The pool leaves a 4x4x16 volume; every unit sees all of it.",
              solution="(4*4*16) * 10 + 10 = 2,560 + 10 = 2,570.")
exercises.add(3, "A strided conv that does not fit", expected=(8 - 3 + 0) / 2 + 1,
              hint="W = 8, F = 3, P = 0, S = 2.",
              solution="(8 - 3 + 0)/2 + 1 = 3.5, not an integer: the playground shows this "
                       "sizing error and keeps the running network. Padding P = 1 would give "
                       "(8 - 3 + 2)/2 + 1 = 4.5, no better; stride 1 fits.")
display(exercises)

# %%
exercises.answer(1, None)   # your answer to exercise 1
exercises.answer(2, None)   # your answer to exercise 2
exercises.answer(3, None)   # your answer to exercise 3
