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
# # Lesson 9: case studies, from LeNet to ResNet
#
# The architectures that have names, built layer by layer in `convnets.zoo`: LeNet-5,
# AlexNet, ZFNet, GoogLeNet, VGG-16 and ResNet. For each we read off what made it
# different, with numbers computed from the network itself by `summarize`, which
# walks a network with nothing but shapes (so the full-size networks cost no memory
# here: their 138 million weights are never created). The notes' VGG-16 table is
# recomputed row by row, and two of the notes' figures turn out to be loose (GoogLeNet's
# "4M") or wrong (VGG-16's total memory). The lesson ends with all of them side by
# side.

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
from convnets import (
    Affine,
    Block,
    Conv,
    GlobalAvgPool,
    Inception,
    Residual,
    Sequential,
    SizingWarning,
    SpatialBatchNorm,
    assert_close,
    basic_block,
    check_layer_gradients,
    format_bytes,
    summarize,
    zoo,
)
from sklearn.datasets import load_digits

rng = np.random.default_rng(9)


def summary_and_warnings(model, input_shape=None):
    """summarize(model), and the messages of the SizingWarnings it emitted."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        summary = summarize(model, input_shape)
    return summary, [str(w.message) for w in caught if issubclass(w.category, SizingWarning)]


def all_layers(model):
    """Every layer of a network, including the layers inside blocks."""
    return [sub for layer in model.layers for sub in layer.sublayers()]


# %% [markdown]
# ## 1. LeNet-5 (1998)
#
# The first successful ConvNets read zip codes and digits. LeNet-5 takes a 32x32 grey
# image through two CONV-POOL stages (5x5 filters, 2x2 average pooling), a 5x5 CONV
# that covers its whole 5x5 input (so it acts like an FC layer) and two FC layers. Our
# copy uses ReLU instead of the original scaled tanh and connects its third layer to
# all the maps before it (the paper connects it to chosen subsets).

# %%
lenet = zoo.get("lenet5")
s_lenet, lenet_warnings = summary_and_warnings(lenet)
print(s_lenet)
for message in lenet_warnings:
    print("SizingWarning:", message)
assert s_lenet.total_params == 61_706
assert [r.output_shape for r in s_lenet.rows[1:6]] == [
    (6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 5, 5), (120, 1, 1)]
assert len(lenet_warnings) == 2 and all("P = 0" in m for m in lenet_warnings)

# %% [markdown]
# LeNet predates the rule of padding by `(F - 1)/2` (lesson 8): its unpadded 5x5 convs
# shrink 32 -> 28 and 14 -> 10, and `summarize` says so. It still runs, of course; here
# on a real handwritten digit from scikit-learn, enlarged from 8x8 to 32x32 (random
# weights: the shapes are the point).

# %%
digit = load_digits().images[0] / 16.0                       # an 8x8 "0"
x_digit = np.kron(digit, np.ones((4, 4)))[None, None]         # (1, 1, 32, 32)
for name, act in lenet.activations(x_digit):
    print(f"{name:9s} {act.shape}")
assert lenet.forward(x_digit).shape == (1, 10)

# %% [markdown]
# ## 2. AlexNet (2012)
#
# The network that made ConvNets the default in computer vision: deeper and wider than
# LeNet, with CONV layers stacked directly on each other, ReLU, local response
# normalization and overlapping pools. Its first layer (lessons 2 and 3) has 96
# filters of 11x11 at stride 4 on a 227x227 image.

# %%
alexnet = zoo.get("alexnet")
s_alex, alex_warnings = summary_and_warnings(alexnet)
conv1 = alexnet.layers[0]
print(f"first layer {conv1.kind}: size {conv1.size}, stride {conv1.stride}, pad {conv1.pad} "
      f"-> {s_alex.rows[1].output_shape}")
print("spatial sizes of CONV and POOL layers:",
      [r.output_shape[1] for r in s_alex.rows if r.name.startswith(("CONV", "POOL"))])
assert conv1.size == (11, 11) and conv1.stride == 4
assert s_alex.rows[1].output_shape == (96, 55, 55)
print("SizingWarning:", alex_warnings[0])
assert len(alex_warnings) == 1 and "227x227" in alex_warnings[0]

# %% [markdown]
# The paper says 224x224, which does not fit this layer (`(224 - 11)/4 + 1 = 54.25`).
# Our AlexNet refuses it with an error that explains the discrepancy:

# %%
try:
    zoo.get("alexnet", input_shape=(3, 224, 224))
    alex_224 = None
except ValueError as err:
    alex_224 = str(err)
print("ValueError:", alex_224)
assert alex_224 is not None and "54.25" in alex_224 and "224 + 3 = 227" in alex_224

# %% [markdown]
# Its parameters: 62.4 million in our single-tower version. The paper's "60 million"
# comes from its two GPUs: conv2, conv4 and conv5 each saw only the half of the
# channels on their own GPU, which halves their weights.

# %%
convs = [r for r in s_alex.rows if r.name.startswith("CONV")]
grouped = s_alex.total_params - sum(convs[i].weights for i in (1, 3, 4)) // 2
fc_params = sum(r.params for r in s_alex.rows if r.name == "FC")
print(f"AlexNet, one tower: {s_alex.total_params:,} parameters; with the paper's two groups: "
      f"{grouped:,}; in the three FC layers: {fc_params:,} "
      f"({fc_params / s_alex.total_params:.0%})")
assert s_alex.total_params == 62_378_344 and grouped == 60_965_224
assert fc_params / s_alex.total_params > 0.9

# %% [markdown]
# ## 3. ZFNet (2013)
#
# Zeiler and Fergus tuned AlexNet's hyperparameters: in particular a smaller first
# layer, 7x7 filters at stride 2 instead of 11x11 at stride 4, which keeps more detail
# (a 110x110 first volume instead of 55x55).

# %%
zfnet = zoo.get("zfnet")
s_zf = summarize(zfnet)
zf_conv1 = zfnet.layers[0]
print(f"first layer {zf_conv1.kind}: size {zf_conv1.size}, stride {zf_conv1.stride} -> "
      f"{s_zf.rows[1].output_shape}")
print("spatial sizes of CONV and POOL layers:",
      [r.output_shape[1] for r in s_zf.rows if r.name.startswith(("CONV", "POOL"))])
assert zf_conv1.size == (7, 7) and zf_conv1.stride == 2
assert s_zf.rows[1].output_shape == (96, 110, 110)
assert s_zf.total_params == 62_357_608

# %% [markdown]
# **Summary.** AlexNet's first layer is 11x11 at stride 4 (on 227x227, not the paper's
# 224), ZFNet's 7x7 at stride 2; both keep about 62 million parameters, over 90% of them
# in the FC layers.

# %% [markdown]
# ## 4. GoogLeNet (2014) and the Inception module
#
# GoogLeNet's building block runs four branches side by side on the same input and
# concatenates their outputs along the depth: a 1x1 conv; a 1x1 "reduce" conv then a
# 3x3; a 1x1 reduce then a 5x5; a 3x3 max pool then a 1x1 projection. The 1x1 reduce
# convs are what make it cheap: they shrink the depth before the expensive filters.
# Its first module, `inception3a`, on a `[28x28x192]` volume:

# %%
googlenet = zoo.get("googlenet")
inception3a = [layer for layer in googlenet if isinstance(layer, Inception)][0]
for branch, layers in inception3a.branches.items():
    print(f"  branch {branch}: {' -> '.join(layer.kind for layer in layers)}")
s_module = summarize(Sequential([inception3a], (192, 28, 28)))
depths = [[layer for layer in layers if isinstance(layer, Conv)][-1].filters
          for layers in inception3a.branches.values()]
print("output:", s_module.rows[-1].output_shape, "depth", " + ".join(map(str, depths)))
assert s_module.rows[-1].output_shape == (sum(depths), 28, 28) == (64 + 128 + 32 + 32, 28, 28)

# What the 1x1 reduction saves on the 5x5 branch: 192 -> 16 -> 32 channels, against a
# direct 5x5 conv from 192 to 32 channels.
reduced = summarize(Sequential([Conv(16, 1), Conv(32, 5, pad=2)], (192, 28, 28)))
direct = summarize(Sequential([Conv(32, 5, pad=2)], (192, 28, 28)))
print(f"5x5 branch: with the 1x1 reduce {reduced.total_weights:,} weights, "
      f"direct {direct.total_weights:,} ({direct.total_weights / reduced.total_weights:.1f} "
      f"times more)")
assert reduced.total_weights == 192 * 16 + 5 * 5 * 16 * 32 == 15_872
assert direct.total_weights == 5 * 5 * 192 * 32 == 153_600

# %% [markdown]
# The notes credit GoogLeNet with "4M" parameters against AlexNet's "60M". We count:

# %%
s_google = summarize(googlenet)
s_google_tv = summarize(zoo.get("googlenet", variant="torchvision"))
classifier = [r for r in s_google.rows if r.name == "FC"]
print(f"GoogLeNet (the paper's layers):        {s_google.total_params:>10,}")
print(f"  of which its only FC layer:          {classifier[0].params:>10,}")
print(f"  without it:                          {s_google.total_params - classifier[0].params:>10,}")
print(f"torchvision's GoogLeNet (BN, no aux):  {s_google_tv.total_params:>10,}")
ratio = s_alex.total_params / s_google.total_params
print(f"AlexNet / GoogLeNet:                   {ratio:>10.1f}")
assert s_google.total_params == 6_998_552 and classifier[0].params == 1_025_000
assert s_google.total_params - classifier[0].params == 5_973_552
assert s_google_tv.total_params == 6_624_904
assert ratio > 8
assert len(classifier) == 1 and isinstance(googlenet.layers[-2], GlobalAvgPool)

# %% [markdown]
# No count reproduces "4M". The paper's network has 7.0 million parameters here (its
# own Table 1 adds up to about 6.8 million; its text says "12 times fewer parameters
# than AlexNet", about 5 million); even without the classifier it has 6.0 million; the
# torchvision version 6.6 million. What holds is the order of magnitude: about 9
# times fewer than AlexNet. Where does the saving come from? Mostly from the top:
# AlexNet spends 58.6 million parameters on its three FC layers, GoogLeNet averages
# its last `[7x7x1024]` volume down to `[1x1x1024]` (global average pooling) and has a
# single FC layer of 1,025,000 parameters.

# %% [markdown]
# ## 5. VGG-16 (2014), row by row
#
# VGG showed that depth matters, with the plainest possible design: 3x3 convs at stride
# 1 and pad 1, 2x2 max pools at stride 2, thirteen CONV and three FC layers. The notes
# write out its table; here are its rows, with the notes' arithmetic, checked one by one
# against `summarize` (the output volume, the number of activations and the weights).

# %%
# The notes' table, one row per layer: name, output volume [W x H x D], activations
# ("memory") and weights, with the notes' own arithmetic.
NOTES_VGG16 = [
    ("INPUT", (224, 224, 3), 224*224*3, 0),
    ("CONV3-64", (224, 224, 64), 224*224*64, (3*3*3)*64),
    ("CONV3-64", (224, 224, 64), 224*224*64, (3*3*64)*64),
    ("POOL2", (112, 112, 64), 112*112*64, 0),
    ("CONV3-128", (112, 112, 128), 112*112*128, (3*3*64)*128),
    ("CONV3-128", (112, 112, 128), 112*112*128, (3*3*128)*128),
    ("POOL2", (56, 56, 128), 56*56*128, 0),
    ("CONV3-256", (56, 56, 256), 56*56*256, (3*3*128)*256),
    ("CONV3-256", (56, 56, 256), 56*56*256, (3*3*256)*256),
    ("CONV3-256", (56, 56, 256), 56*56*256, (3*3*256)*256),
    ("POOL2", (28, 28, 256), 28*28*256, 0),
    ("CONV3-512", (28, 28, 512), 28*28*512, (3*3*256)*512),
    ("CONV3-512", (28, 28, 512), 28*28*512, (3*3*512)*512),
    ("CONV3-512", (28, 28, 512), 28*28*512, (3*3*512)*512),
    ("POOL2", (14, 14, 512), 14*14*512, 0),
    ("CONV3-512", (14, 14, 512), 14*14*512, (3*3*512)*512),
    ("CONV3-512", (14, 14, 512), 14*14*512, (3*3*512)*512),
    ("CONV3-512", (14, 14, 512), 14*14*512, (3*3*512)*512),
    ("POOL2", (7, 7, 512), 7*7*512, 0),
    ("FC", (1, 1, 4096), 4096, 7*7*512*4096),
    ("FC", (1, 1, 4096), 4096, 4096*4096),
    ("FC", (1, 1, 1000), 1000, 4096*1000),
]

vgg = zoo.get("vgg16")
s_vgg, vgg_warnings = summary_and_warnings(vgg)
print(f"{'the notes':36s}  {'summarize':>30s}")
for (name, (w, h, d), activations, weights), row in zip(NOTES_VGG16, s_vgg.rows, strict=True):
    print(f"{name:9s} [{w}x{h}x{d}]".ljust(26) + f"{activations:>10,} {weights:>12,}   |   "
          f"{row.name:9s} {row.output_shape} {row.activations:>10,} {row.weights:>12,}")
    assert row.name == name and row.output_shape == (d, h, w)
    assert row.activations == activations and row.weights == weights
assert len(s_vgg.rows) == 22 and vgg_warnings == []       # VGG-16 follows every rule of thumb

# %% [markdown]
# Every row agrees: output volume, activations and the weights. (The project's tests also
# read the notes' table as text, and check `summarize`'s formula of every row against
# the one the notes write, e.g. `(3*3*64)*128`.)
# The totals, and the notes' remark that the first FC layer holds "100M" of "140M":

# %%
first_fc = [r for r in s_vgg.rows if r.name == "FC"][0]
print(f"weights {s_vgg.total_weights:,}; with the {s_vgg.total_biases:,} biases "
      f"{s_vgg.total_params:,}")
print(f"first FC layer: {first_fc.weights:,} weights, "
      f"{first_fc.weights / s_vgg.total_weights:.1%} of all weights")
assert s_vgg.total_weights == 138_344_128
assert s_vgg.total_params == 138_357_544 and s_vgg.total_biases == 13_416
assert first_fc.weights == 7 * 7 * 512 * 4096 == 102_760_448
assert round(s_vgg.total_params / 1e6) == 138 and round(first_fc.weights / 1e8) == 1

# %% [markdown]
# 138 million (the notes' "TOTAL params: 138M"; the prose rounds to "140M"), and the
# first FC layer alone has 102.8 million, three quarters of them.
#
# **Erratum: the total memory.** The notes' table ends with "TOTAL memory: 24M * 4
# bytes ~= 93MB / image (only forward! ~*2 for bwd)". The table's own rows add up to
# something else:

# %%
table_sum = sum(row.activations for row in s_vgg.rows)
print(f"sum of the table's activations: {table_sum:,} = total_activations "
      f"{s_vgg.total_activations:,}")
print(f"float32, forward: {table_sum * 4:,} bytes = {format_bytes(table_sum * 4)}; "
      f"with the gradients (x2): {format_bytes(2 * table_sum * 4)}")
print(f"the notes' 24M x 4 bytes = {24e6 * 4:,.0f} bytes = {format_bytes(24e6 * 4)}")
assert table_sum == s_vgg.total_activations == 15_237_608
assert format_bytes(table_sum * 4) == "58.13 MB"
assert round(table_sum / 1e6) == 15 != 24
assert format_bytes(24e6 * 4) == "91.55 MB"          # not even 93

# %% [markdown]
# The 22 rows hold 15,237,608 activations, 15.2 million, not 24 million: 58.13 MB per
# image in float32 (1 MB = 1024^2 bytes), about 116 MB with the gradients, not 93 MB
# and 186 MB. (Even as written, 24M times 4 bytes is 91.6 MB, not 93.) The notes' point
# survives: most of the memory sits in the first layers, most of the parameters in the
# FC layers.

# %%
names = [r.name for r in s_vgg.rows]
acts = np.array([r.activations for r in s_vgg.rows])
weights = np.array([r.weights for r in s_vgg.rows])
early = acts[:5].sum() / acts.sum()
fc_share = weights[-3:].sum() / weights.sum()
print(f"input + first two CONV layers + first pool: {early:.0%} of the activations; "
      f"the three FC layers: {fc_share:.0%} of the weights")
assert early > 0.5 and fc_share > 0.85

fig, (ax_a, ax_w) = plt.subplots(2, 1, figsize=(11, 5.5), sharex=True)
ax_a.bar(range(22), acts / 1e6, color="C0")
ax_a.set_ylabel("activations (M)")
ax_a.set_title(f"VGG-16: {acts.sum():,} activations per image (not 24M)")
ax_w.bar(range(22), weights / 1e6, color="C1")
ax_w.set_ylabel("weights (M)")
ax_w.set_title(f"{weights.sum():,} weights")
ax_w.set_xticks(range(22), names, rotation=70, fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# **Summary.** `summarize` reproduces every row of the notes' VGG-16 table. The totals:
# 138,344,128 weights (138,357,544 with biases), 102,760,448 of them in the first FC
# layer. The activations add up to 15,237,608 per image, 58 MB in float32: the notes'
# "24M, 93MB" is an error.

# %% [markdown]
# ## 6. ResNet (2015): skip connections and batch normalization
#
# A residual block computes `relu(F(x) + x)`: a few layers `F` (CONV, batch norm, ReLU,
# CONV, batch norm) whose output is *added* to the block's input. The addition lets the
# signal, and its gradient, pass through a deep stack unchanged when `F` has nothing
# useful to add. To see the skip connection at work, we zero the scale and shift of the
# block's last batch norm: `F` then outputs zeros and the block passes its input through
# (after the final ReLU).

# %%
block_net = Sequential([basic_block(4, 4)], (4, 6, 6), dtype=np.float64, seed=1)
x_block = rng.standard_normal((2, 4, 6, 6))
print("parameters of the block:", sorted(block_net.params))
params = dict(block_net.params)
params["res1.main.bn2.gamma"] = np.zeros(4)
params["res1.main.bn2.beta"] = np.zeros(4)
block_net.params = params
assert_close(block_net.forward(x_block), np.maximum(x_block, 0), rtol=0, atol=1e-12)
print("with F = 0 the block computes relu(x): the skip connection carries the input")

# %% [markdown]
# Its backward pass sends the gradient down both paths and adds them. We check it
# against numerical derivatives, for the input and every parameter, on a block with an
# identity skip connection and on one that halves the size and doubles the depth (its
# shortcut is then a strided 1x1 conv with batch norm, a *projection*). Batch norm is in
# training mode (batch statistics).

# %%
def block_gradient_errors(block, in_shape, seed=0):
    """Relative errors of a block's backward pass against numerical gradients."""
    block_rng = np.random.default_rng(seed)
    net = Sequential([block], in_shape, dtype=np.float64, seed=seed)
    names = list(net.params)
    values = {k: v + 0.1 * block_rng.standard_normal(v.shape) for k, v in net.params.items()}

    def forward(x, *params):
        return block.forward(x, dict(zip(names, params, strict=True)), dict(net.buffers), True)

    def backward(dout, cache):
        grads = {}
        dx = block.backward(dout, cache, grads)
        return (dx, *(grads[k] for k in names))

    x = block_rng.standard_normal((4, *in_shape))
    return check_layer_gradients(forward, backward, {"x": x, **values}, seed=seed)


for label, block, shape in [("identity skip", basic_block(3, 3), (3, 4, 4)),
                            ("projection skip", basic_block(2, 4, stride=2), (2, 6, 6))]:
    errors = block_gradient_errors(block, shape)
    print(f"{label:16s} {len(errors) - 1:2d} gradients, largest relative error "
          f"{errors['worst']:.1e}")
    assert errors["worst"] < 1e-7

# %% [markdown]
# The full networks: ResNet-18 and ResNet-50 stack 8 and 16 such blocks (ResNet-50's
# are "bottlenecks": 1x1, 3x3, 1x1), use batch norm after every conv, and end with
# global average pooling and a single FC layer, with no FC stack.

# %%
for name, expected in [("resnet18", 11_689_512), ("resnet50", 25_557_032)]:
    model = zoo.get(name)
    s = summarize(model)
    layers = all_layers(model)
    blocks = sum(isinstance(layer, Residual) for layer in layers)
    bns = sum(isinstance(layer, SpatialBatchNorm) for layer in layers)
    fcs = sum(isinstance(layer, Affine) for layer in layers)
    print(f"{name}: {s.total_params:,} parameters, {blocks} residual blocks, "
          f"{bns} batch norms, {fcs} FC layer after {model.layers[-2].kind}")
    assert s.total_params == expected
    assert fcs == 1 and isinstance(model.layers[-2], GlobalAvgPool)
    assert blocks == {"resnet18": 8, "resnet50": 16}[name] and bns > blocks

# %% [markdown]
# **Summary.** A residual block adds its input to what its layers compute (with zeroed
# layers it passes the input through), and its backward pass agrees with numerical
# gradients. ResNet-18 has 11,689,512 parameters and ResNet-50 25,557,032 (the
# published counts), with batch norm throughout and a single FC layer after global
# average pooling.

# %% [markdown]
# ## 7. Side by side
#
# The depth of each network is the number of CONV and FC layers on its longest path
# (inside a block, the longest branch): it gives back every name's number.

# %%
def depth(layers):
    """CONV and FC layers on the longest path through a list of layers."""
    total = 0
    for layer in layers:
        if isinstance(layer, Block):
            total += max(depth(branch) for branch in layer.branches.values())
        elif isinstance(layer, (Conv, Affine)):
            total += 1
    return total


rows = []
for name in zoo.names():
    model = zoo.get(name)
    s = summarize(model, warn=False)
    first = [r for r in s.rows if r.name.startswith("CONV")][0]
    rows.append((name, depth(model.layers), s.input_shape, first.name, s.total_params,
                 s.total_activations, s.memory("float32")))
print(f"{'network':10s} {'depth':>5s} {'input':>14s} {'first layer':>11s} "
      f"{'parameters':>12s} {'activations':>12s} {'inference, float32':>19s}")
for name, d, shape, first, params, acts, memory in rows:
    print(f"{name:10s} {d:5d} {str(shape):>14s} {first:>11s} {params:12,} {acts:12,} "
          f"{format_bytes(memory):>19s}")
assert [r[1] for r in rows] == [5, 8, 8, 16, 22, 18, 34, 50]

# %%
fig, ax = plt.subplots(figsize=(8, 4.5))
for name, d, _, _, params, acts, _ in rows:
    ax.scatter(params / 1e6, acts / 1e6, s=20 + 4 * d)
    ax.annotate(f"{name} ({d})", (params / 1e6, acts / 1e6), textcoords="offset points",
                xytext=(-75, 4) if name == "googlenet" else (6, -10 if name == "resnet18" else 4),
                fontsize=8)
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("parameters (millions)")
ax.set_ylabel("activations per image (millions)")
ax.set_title("The case studies: parameters against activations (depth in brackets)")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Summary
#
# From LeNet to ResNet-50 the depth grew from 5 to 50 layers. The
# parameters did not grow with it: AlexNet, ZFNet and VGG-16 carry most of theirs in
# their FC stacks, while GoogLeNet and the ResNets replace the stack with global average
# pooling and one FC layer, and spend their budget on depth. The activations, which
# decide the memory needed for training (lesson 10), grew steadily.

# %% [markdown]
# ## Exercises
#
# 1. VGG-16's first CONV layer gives a `224x224x64` volume. How much memory do these
#    activations take in float32, in MiB (1 MiB = 1024^2 bytes)?
# 2. VGG-16's second layer, `CONV3-64` on that `224x224x64` volume: how many parameters
#    (biases included)?
# 3. VGG-16's first FC layer maps the `7x7x512` volume to 4,096 neurons. How many
#    parameters (biases included)?
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

exercises = Exercises("Lesson 9")
exercises.add(1, "Memory of a 224x224x64 activation volume, float32, MiB",
              expected=224 * 224 * 64 * 4 / 1024**2,
              hint="Count the numbers, multiply by 4 bytes, divide by 1024 twice.",
              solution="224 * 224 * 64 = 3,211,264 numbers, * 4 bytes = 12,845,056 bytes "
                       "= 12.25 MiB (for one image, forward pass only).")
exercises.add(2, "Parameters of CONV3-64 on depth 64", expected=64 * (3 * 3 * 64 + 1),
              hint="64 filters of 3x3x64, one bias each.",
              solution="64 * (3*3*64 + 1) = 64 * 577 = 36,928.")
exercises.add(3, "Parameters of VGG's first FC layer", expected=7 * 7 * 512 * 4096 + 4096,
              hint="One weight per input number for each of the 4,096 neurons, plus biases.",
              solution="7*7*512 = 25,088 inputs; 25,088 * 4,096 + 4,096 = 102,764,544, "
                       "three quarters of VGG-16's 138 million parameters.")
display(exercises)

# %%
exercises.answer(1, None)   # your answer to exercise 1
exercises.answer(2, None)   # your answer to exercise 2
exercises.answer(3, None)   # your answer to exercise 3
