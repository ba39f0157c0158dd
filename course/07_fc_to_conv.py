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
# # Lesson 7: converting fully-connected layers to convolutions
#
# An FC layer and a CONV layer compute the same thing, dot products of weights with
# input values; the CONV layer only restricts each dot product to a small window and
# reuses the weights across positions. So an FC layer can be *rewritten* as a
# convolution whose filter covers its whole input. This lesson does the rewriting on
# real layers, then uses it for what it is good for: sliding a whole trained network
# over a larger image in one forward pass, and getting a map of class scores instead
# of a single vector.
#
# Along the way we check the notes' statement that this pass gives "an identical
# result" to evaluating the network on 36 crops. It does for some networks and not
# for others (VGG among them), and we show why. We also check their recipe for a
# stride of 16 pixels (two passes give only half of the positions) and count the
# work the trick saves; an optional last section times it.

# %%
import matplotlib.pyplot as plt
import numpy as np
from convnets import (
    Affine,
    Conv,
    Flatten,
    MaxPool,
    ReLU,
    Sequential,
    affine_forward,
    assert_close,
    conv_forward_fast,
    crop_scores,
    dense_scores,
    fc_to_conv,
    summarize,
    time_fc_to_conv,
    zoo,
)
from convnets.data import load_digits
from convnets.teach.pretrained import NO_DIGIT, digits_net
from convnets.visualize import grey_image, signed_map
from sklearn.datasets import load_sample_image

rng = np.random.default_rng(7)

# A 384x384 crop of a photograph, channels centred on 0, as NCHW (3, 384, 384).
photo = load_sample_image("china.jpg").astype(np.float64) / 255.0        # (427, 640, 3)
image = photo[20:404, 128:512].transpose(2, 0, 1)
image = image - image.mean(axis=(1, 2), keepdims=True)
print("image", image.shape)

# %% [markdown]
# ## 1. An FC layer is a convolution with a filter as large as its input
#
# The notes' example: an FC layer with `K = 4096` neurons looking at a `[7x7x512]`
# volume (VGG-16's last pooled volume). Each neuron has one weight per input number,
# `7*7*512 = 25,088`, so its weights *can be arranged* as a `7x7x512` filter. A CONV
# layer with `K = 4096` such filters, `F = 7, P = 0, S = 1`, fits exactly once on the
# input, so its output is `[1x1x4096]`: one number per filter, the same dot products.
#
# First at full size, from the shapes alone (our networks allocate their weights only
# when they are first used, so nothing below creates the 102 million weights):

# %%
volume = (512, 7, 7)                                    # NCHW for the notes' [7x7x512]
pairs = [("FC 4096 on [7x7x512]", Affine(4096), Conv(4096, 7), volume),
         ("FC 4096 on [1x1x4096]", Affine(4096), Conv(4096, 1), (4096, 1, 1)),
         ("FC 1000 on [1x1x4096]", Affine(1000), Conv(1000, 1), (4096, 1, 1))]
for label, fc, conv, shape in pairs:
    as_fc = summarize(Sequential([fc], shape)).rows[1]
    as_conv = summarize(Sequential([conv], shape)).rows[1]
    print(f"{label:22s} FC -> {as_fc.output_shape} with {as_fc.weights:>11,} weights;  "
          f"{as_conv.name} -> {as_conv.output_shape} with {as_conv.weights:>11,} weights")
    assert as_fc.output_shape == as_conv.output_shape == (fc.units, 1, 1)
    assert as_fc.weights == as_conv.weights and as_fc.biases == as_conv.biases
    assert conv.stride == 1 and conv.pad == 0
assert summarize(Sequential([Conv(4096, 7)], volume)).total_weights == 7 * 7 * 512 * 4096

# %% [markdown]
# Now with numbers, on a random `[7x7x512]` input volume (a batch of two) and 256
# neurons (the 4096 of the notes would only make the cell slower). The FC layer
# flattens each input volume in the order channel, row, column, and column `k` of its
# weight matrix `w` (shape `(25088, K)`) holds neuron `k`'s weights in that same order.
# So `w.T.reshape(K, 512, 7, 7)` turns the matrix into `K` filters of `7x7x512`, with
# every weight facing the input value it multiplied before.

# %%
x = rng.standard_normal((2, 512, 7, 7))
K = 256
w_fc = rng.standard_normal((7 * 7 * 512, K)) / np.sqrt(7 * 7 * 512)
b_fc = rng.standard_normal(K)

fc_out, _ = affine_forward(x, w_fc, b_fc)                          # (2, K)
filters = w_fc.T.reshape(K, 512, 7, 7)                             # (K, C, F, F)
conv_out, _ = conv_forward_fast(x, filters, b_fc, {"stride": 1, "pad": 0})
print("FC output", fc_out.shape, "   CONV F=7 output", conv_out.shape)
assert conv_out.shape == (2, K, 1, 1)
assert_close(conv_out.reshape(2, K), fc_out, rtol=1e-10, atol=1e-12, what="F=7 conv")

# The next FC layer sees a [1x1xK] volume: it becomes a conv with F = 1.
w_fc2 = rng.standard_normal((K, 100)) / np.sqrt(K)
b_fc2 = rng.standard_normal(100)
fc2_out, _ = affine_forward(fc_out, w_fc2, b_fc2)
conv2_out, _ = conv_forward_fast(conv_out, w_fc2.T.reshape(100, K, 1, 1), b_fc2,
                                 {"stride": 1, "pad": 0})
print("next FC", fc2_out.shape, "   CONV F=1 output", conv2_out.shape)
assert conv2_out.shape == (2, 100, 1, 1)
assert_close(conv2_out.reshape(2, 100), fc2_out, rtol=1e-10, atol=1e-12, what="F=1 conv")

# %% [markdown]
# `convnets.fc_to_conv` does this for a whole network: every FC layer becomes a conv
# whose filter covers the volume it sees, Flatten layers disappear, every other layer
# (and every parameter) is kept. On VGG-16 (here at 1/32 of its width, so that it runs
# in a fraction of a second: the same layers with 2 to 16 channels and 128 hidden
# units) the three FC layers become `CONV7`, `CONV1` and `CONV1`, and on a 224x224
# crop the converted network gives the same scores as the original.

# %%
vgg = zoo.get("vgg16", width=1 / 32, num_classes=10, dtype=np.float64, seed=7)
vgg_conv = fc_to_conv(vgg)
print("original: ", [layer.kind for layer in vgg.layers[-6:]])
print("converted:", [layer.kind for layer in vgg_conv.layers[-6:]])
assert [layer.kind for layer in vgg_conv.layers[-5:]] == [
    "CONV7-128", "RELU", "CONV1-128", "RELU", "CONV1-10"]
assert_close(vgg_conv.params["fc1.w"], vgg.params["fc1.w"].T.reshape(128, 16, 7, 7), rtol=0)
assert summarize(vgg_conv, warn=False).total_params == summarize(vgg).total_params

crop = image[None, :, 80:304, 80:304]                                   # one 224x224 crop
print("scores, original: ", np.round(vgg.forward(crop)[0], 4))
print("scores, converted:", np.round(vgg_conv.forward(crop)[0], 4))
assert_close(vgg_conv.forward(crop), vgg.forward(crop), rtol=1e-10, atol=1e-12)

# %% [markdown]
# **Summary.** An FC layer with `K` neurons on a `C x H x W` volume is a CONV layer with
# `K` filters of `H x W x C`, `P = 0`, `S = 1`: the weight matrix `(C*H*W, K)` is
# transposed and reshaped to `(K, C, H, W)`. After VGG's last pool that is `F = 7`;
# the FC layers after it see `1x1` volumes and become `F = 1` convolutions. Same
# weights, same outputs.

# %% [markdown]
# ## 2. A larger image gives a map of scores
#
# VGG-16 halves the image five times (five 2x2 pools), so a 224x224 image reaches the
# FC layers as `224/2/2/2/2/2 = 7`, a `[7x7x512]` volume: a reduction by 32. (The
# notes attribute this to AlexNet; AlexNet actually reaches `[6x6x256]` from its
# 227x227 input, through a stride-4 conv and overlapping pools. VGG-16 is the network
# with five halvings, as the notes' own table later shows.)
#
# The converted network has no layer that insists on a 7x7 input any more. On a
# 384x384 image the last pool gives `384/32 = 12`, the `F = 7` conv fits
# `(12 - 7)/1 + 1 = 6` times along each axis, and the last layer outputs a `[6x6x1000]`
# volume: 36 score vectors. First the full-size network, from shapes:

# %%
full_layers, _ = zoo.vgg16()                               # full width, nothing allocated
convolutional_part = full_layers[:-5]                      # everything before the FC stack
head = [Conv(4096, 7, warn_padding=False, name="fc1"), ReLU(),
        Conv(4096, 1, name="fc2"), ReLU(), Conv(1000, 1, name="fc3")]
at_224 = summarize(zoo.get("vgg16"))
at_384 = summarize(Sequential(convolutional_part + head, (3, 384, 384)))
pool5_224 = [r for r in at_224.rows if r.path == "pool5"][0]
pool5_384 = [r for r in at_384.rows if r.path == "pool5"][0]
print("224/2/2/2/2/2 =", 224 / 2 / 2 / 2 / 2 / 2, "  total stride:", at_224.total_stride)
print("pool5 on 224x224:", pool5_224.output_shape, "  on 384x384:", pool5_384.output_shape)
print("scores on 384x384:", at_384.rows[-1].output_shape, " (C, H, W)")
assert 224 / 2 / 2 / 2 / 2 / 2 == 7 and at_224.total_stride == 32
assert pool5_224.output_shape == (512, 7, 7)
assert pool5_384.output_shape == (512, 12, 12) and 384 // 32 == 12
assert at_384.rows[-1].output_shape == (1000, 6, 6) and (12 - 7) // 1 + 1 == 6
alexnet_pool5 = summarize(zoo.get("alexnet"), warn=False).rows[-4]
print("AlexNet's last pool:", alexnet_pool5.output_shape)
assert alexnet_pool5.path == "pool3" and alexnet_pool5.output_shape == (256, 6, 6)

# %% [markdown]
# And a real forward pass of the small VGG-16 on our 384x384 photograph:

# %%
acts = dict(vgg_conv.activations(image[None]))
for name in ("pool5", "fc1", "fc2", "fc3"):
    print(f"{name:6s} {acts[name].shape}")
assert acts["pool5"].shape[2:] == (12, 12)
assert acts["fc3"].shape == (1, 10, 6, 6)

# %% [markdown]
# **Summary.** A reduction by 32 turns 224 into 7 and 384 into 12; the `F = 7` conv then
# fits 6 times along each axis, so the converted network maps a 384x384 image to a
# `6x6` grid of score vectors in a single forward pass.

# %% [markdown]
# ## 3. A trained network finds the digits on a page
#
# The map is only as meaningful as the network's weights, and the VGG above has random
# ones. So here is a trained network: a small one for the 8x8 handwritten digits of
# scikit-learn, `CONV3-16 -> RELU -> POOL2 -> FC-64 -> RELU -> FC-11`, bundled with the
# course (lesson 11 trains one like it in front of you). Besides the ten digits it has
# an eleventh class, "no digit": it was trained on 8x8 windows cut out of pages of
# digits, a window labelled with a digit when the digit sits within two pixels of the
# window's corner, "no digit" when every digit is at least four pixels away. Its input
# is the raw page, ink 1 and paper 0, so blank paper looks like the zero padding of its
# convolution.
#
# Converted, its `FC-64` on the `[4x4x16]` pooled volume becomes a `4x4` conv and
# `FC-11` a `1x1` conv. On a page of 20x44 pixels the pool gives `10x22`, and the `4x4`
# conv fits `(10 - 4) + 1 = 7` times down and `(22 - 4) + 1 = 19` times across: a
# `7x19` map of 11 scores, one score vector per 8x8 window, every 2 pixels (the pool's
# stride). We write four test digits (ones the network never trained on) on a blank page
# and run the converted network once.

# %%
digits_fc, about = digits_net()
digits_conv = fc_to_conv(digits_fc)
print("trained network:", [layer.kind for layer in digits_fc.layers])
print("converted:      ", [layer.kind for layer in digits_conv.layers])
print(f"accuracy on the centred test digits: {about['digits_test_acc']:.1%}")
assert [layer.kind for layer in digits_conv.layers][-3:] == ["CONV4-64", "RELU", "CONV1-11"]

digits = load_digits(seed=0, subtract_mean=False, dtype=np.float64)   # pixels in [0, 1]
written = [2, 7, 5, 0]                                     # the digits on the page
corners = [(2, 2), (10, 14), (4, 26), (10, 34)]            # their top-left pixels
page = np.zeros((1, 20, 44))                               # blank paper
for digit, (r, c) in zip(written, corners, strict=True):
    first = int(np.flatnonzero(digits["y_test"] == digit)[0])
    page[:, r:r + 8, c:c + 8] = digits["X_test"][first]

page_scores = digits_conv.forward(page[None])[0]           # (11, 7, 19): one pass
probabilities = np.exp(page_scores - page_scores.max(axis=0))
probabilities /= probabilities.sum(axis=0)                 # softmax at every position
best = probabilities.argmax(axis=0)                        # (7, 19) classes
print("map of scores", page_scores.shape)
assert page_scores.shape == (11, (20 // 2 - 4) + 1, (44 // 2 - 4) + 1) == (11, 7, 19)
for digit, (r, c) in zip(written, corners, strict=True):
    # The map position whose window starts at the digit's corner names the digit...
    assert best[r // 2, c // 2] == digit, (digit, best[r // 2, c // 2])
    # ... with the scores the original network gives that 8x8 window alone (exactly:
    # around the window the page is blank, like the zero padding).
    window = page[None, :, r:r + 8, c:c + 8]
    assert_close(digits_fc.forward(window)[0], page_scores[:, r // 2, c // 2],
                 rtol=1e-10, atol=1e-12)
far = [(a, b) for a in range(7) for b in range(19)
       if min(max(abs(2 * a - r), abs(2 * b - c)) for r, c in corners) >= 4]
blank_said = np.mean([best[a, b] == NO_DIGIT for a, b in far])
print(f"positions 4 or more pixels from every digit that say 'no digit': {blank_said:.0%}")
assert blank_said > 0.9

# %%
fig, (ax_page, ax_map) = plt.subplots(2, 1, figsize=(9, 7.4), layout="constrained")
grey_image(ax_page, page[0], axis_off=False)
ax_page.set_title("the page (20x44 pixels), and the window at the centre of each blob "
                  "of the map")
for cls in sorted(set(best.ravel()) - {NO_DIGIT}):
    a, b = np.round(np.argwhere(best == cls).mean(axis=0)).astype(int)
    ax_page.add_patch(plt.Rectangle((2 * b - 0.5, 2 * a - 0.5), 8, 8, fill=False, lw=2,
                                    color="C1"))
    ax_page.text(2 * b - 0.3, 2 * a - 0.3, f"{cls}", ha="left", va="top", color="C1",
                 fontsize=11, fontweight="bold")
ax_page.set_xticks(range(0, 44, 4))
ax_page.set_yticks(range(0, 20, 4))
digit_here = 1 - probabilities[NO_DIGIT]
shown = ax_map.imshow(digit_here, cmap="gray_r", vmin=0, vmax=1)
for (a, b), cls in np.ndenumerate(best):
    if cls != NO_DIGIT:
        ax_map.text(b, a, str(cls), ha="center", va="center", fontsize=11,
                    color="w" if digit_here[a, b] > 0.5 else "k")
ax_map.set_title("the map, one pass of the converted network: probability of a digit "
                 "(dark)\nand, where that wins, which digit; position (a, b) = window "
                 "at pixel (2a, 2b)")
ax_map.set_xticks(range(19))
ax_map.set_yticks(range(7))
fig.colorbar(shown, ax=ax_map, fraction=0.03, label="1 - p(no digit)")
plt.show()

# %% [markdown]
# **Summary.** Converted to convolutions, a trained classifier of 8x8 windows becomes a
# detector: one pass over the page scores every window, 2 pixels apart, and the map
# names each digit where it is written (a small blob of positions, since the network
# accepts a digit up to two pixels off its window) and says "no digit" on blank paper.
# Each score of the map equals the original network's scores on that window alone.

# %% [markdown]
# ## 4. Is the map the same as 36 crops?
#
# Score `(a, b)` of the map is meant to be the original network's scores on the 224x224
# crop whose top-left corner is at `(32a, 32b)`: stride 32, six positions along each
# axis, 36 crops. The notes say the single pass gives "an identical result".
#
# **Without zero-padding it does, exactly.** We build a VGG-style network whose
# convolutions do not pad: five stages of a 3x3 conv, ReLU and a 2x2 pool (which drops
# an odd last row, `fit='floor'`), then `FC -> RELU -> FC -> RELU -> FC` (16, 16 and 10
# units). Its sizes shrink a little at every conv (224 -> 222 -> 111 -> 109 -> 54 ->
# ... -> 5), so its first FC becomes a `5x5` conv; the total stride is still 32 and the
# map is still `6x6`. `crop_scores` evaluates the original network on every crop, the
# slow way.

# %%
def unpadded_vgg_style(seed=0):
    """Five [3x3 conv (no padding) -> ReLU -> 2x2 pool] stages, then 3 FC layers."""
    layers = []
    for channels in (2, 4, 4, 8, 8):
        layers += [Conv(channels, 3, warn_padding=False), ReLU(), MaxPool(2, fit="floor")]
    layers += [Flatten(), Affine(16), ReLU(), Affine(16), ReLU(), Affine(10)]
    return Sequential(layers, (3, 224, 224), dtype=np.float64, seed=seed, name="unpadded")


plain = unpadded_vgg_style()
plain_conv = fc_to_conv(plain)
print("converted head:", [layer.kind for layer in plain_conv.layers[-5:]])
plain_map = plain_conv.forward(image[None])[0]                     # one pass: (10, 6, 6)
plain_crops = crop_scores(plain, image, stride=32)                 # 36 passes: (10, 6, 6)
difference = np.max(np.abs(plain_map - plain_crops))
print(f"map {plain_map.shape}, crops {plain_crops.shape}, largest difference {difference:.1e}")
assert plain_crops.shape == (10, 6, 6) and plain_crops.shape[1] * plain_crops.shape[2] == 36
assert_close(plain_map, plain_crops, rtol=1e-10, atol=1e-12, what="map vs crops")

# %%
fig, axes = plt.subplots(1, 3, figsize=(12, 4), layout="constrained")
axes[0].imshow(np.clip(photo[20:404, 128:512], 0, 1))
for (a, b), color in zip([(0, 0), (2, 3), (5, 5)], ["C1", "C2", "C3"], strict=True):
    axes[0].add_patch(plt.Rectangle((32 * b, 32 * a), 224, 224, fill=False, lw=2,
                                    color=color, label=f"crop ({a}, {b})"))
axes[0].legend(loc="lower left", fontsize=8)
axes[0].set_title("384x384 image, three of the 36 crops")
limit = np.abs(plain_crops[0]).max()                  # one scale for the two maps
for ax, data, title in [(axes[1], plain_map[0], "one pass of the converted net"),
                        (axes[2], plain_crops[0], "36 crops, one at a time")]:
    shown = signed_map(ax, data, limit=limit, colorbar=False)
    ax.set_title(f"class 0 scores:\n{title}")
    ax.set_xticks(range(6))
    ax.set_yticks(range(6))
fig.colorbar(shown, ax=axes[1:], fraction=0.03, label="class 0 score")
fig.suptitle("Unpadded convolutions: the map equals the crops")
plt.show()

# %% [markdown]
# **With zero-padding it does not: an erratum of the notes.** VGG-16 pads every 3x3
# conv by one pixel. On a 224x224 crop alone, the pixels at the crop's border are
# convolved with those zeros. In the large image the same pixels have real
# neighbours, so the converted network computes something different near every crop
# border, and the difference travels inwards layer after layer. We run the small
# VGG-16 both ways:

# %%
vgg_map = vgg_conv.forward(image[None])[0]
vgg_crops = crop_scores(vgg, image, stride=32)
gap = np.abs(vgg_map - vgg_crops).max(axis=0)                     # per position, (6, 6)
scale = np.abs(vgg_crops).max()
print(f"largest score {scale:.3f}; largest difference map vs crops {gap.max():.3f} "
      f"({gap.max() / scale:.0%}); smallest {gap.min():.3f}")
assert gap.min() > 1e-3 * scale           # every one of the 36 scores differs

# The conversion itself is exact: on each crop alone, converted == original.
for a, b in [(0, 0), (2, 3), (5, 5)]:
    one_crop = image[None, :, 32 * a:32 * a + 224, 32 * b:32 * b + 224]
    assert_close(vgg_conv.forward(one_crop)[0], vgg_crops[:, a, b], rtol=1e-10, atol=1e-12)
print("on each crop alone, the converted network gives the original's scores exactly")

# %% [markdown]
# How far does the influence reach? The **receptive field** of one neuron of the first
# FC layer (lesson 5) is the region of the image it depends on. For the padded VGG-16 it
# is 404 pixels wide, wider than the crop: a score of the map sees context that the
# crop does not contain. For the unpadded network it is 222 pixels, inside the crop.
# An experiment makes it concrete: change only the pixels *outside* crop `(0, 0)` and
# see whether score `(0, 0)` of the map moves.

# %%
rf_vgg = [r for r in summarize(vgg_conv).rows if r.path == "fc1"][0].receptive_field
rf_plain = [r for r in summarize(plain_conv).rows if r.path == "fc1"][0].receptive_field
print("receptive field of a first-FC neuron: padded VGG-16", rf_vgg, " unpadded", rf_plain)
assert rf_vgg == 404 > 224 >= rf_plain == 222

outside = image.copy()
outside[:, 224:, :] = rng.standard_normal(outside[:, 224:, :].shape)  # only outside crop (0, 0)
outside[:, :, 224:] = rng.standard_normal(outside[:, :, 224:].shape)
moved_vgg = np.abs(vgg_conv.forward(outside[None])[0, :, 0, 0] - vgg_map[:, 0, 0]).max()
moved_plain = np.abs(plain_conv.forward(outside[None])[0, :, 0, 0] - plain_map[:, 0, 0]).max()
print(f"score (0, 0) moved by {moved_vgg:.3f} (padded) and {moved_plain:.1e} (unpadded)")
assert moved_vgg > 1e-3 * scale and moved_plain < 1e-12

# %%
fig, axes = plt.subplots(1, 2, figsize=(9, 3.8))
im = axes[0].imshow(gap / scale, cmap="magma", vmin=0)
axes[0].set_title("padded VGG-16: |map - crops|\n(relative to the largest score)")
fig.colorbar(im, ax=axes[0])
axes[1].imshow(np.clip(photo[20:404, 128:512], 0, 1))
centre = 112                                      # centre of crop (0, 0)
for side, color, label in [(224, "C1", "crop (0, 0): 224"), (rf_vgg, "C3", "padded: 404"),
                           (rf_plain, "C2", "unpadded: 222")]:
    axes[1].add_patch(plt.Rectangle((centre - side / 2, centre - side / 2), side, side,
                                    fill=False, lw=2, color=color, label=label))
axes[1].set_xlim(-160, 384)
axes[1].set_ylim(384, -160)
axes[1].legend(loc="lower right", fontsize=8)
axes[1].set_title("receptive field of score (0, 0), roughly centred")
plt.show()

# %% [markdown]
# **Summary (erratum).** One pass of the converted network equals the 36 crops exactly
# only when the layers before the FC layers do not zero-pad (valid convolutions; the
# pools are fine). With VGG's padded convolutions every score of the map differs from
# its crop's, because its receptive field (404 pixels) reaches beyond the crop (224):
# the map sees real pixels where the crop saw zero padding. The conversion itself is
# still exact, crop by crop. In practice the map is used as it is (its scores are
# arguably better, with more context), but "identical" is not the word.

# %% [markdown]
# ## 5. A stride of 16: two passes are not enough
#
# The converted network moves 32 pixels per step of its map. For crops every 16
# pixels, the notes suggest combining two passes: one on the image, one on the image
# shifted by 16 pixels along both width and height. On 384x384 the crops at stride 16
# form an `11x11` grid (`(384 - 224)/16 + 1 = 11`), 121 positions. The unshifted pass
# gives the 36 whose offsets are multiples of 32 in both directions; the pass shifted
# by `(16, 16)` gives the 25 whose offsets are both 16 more than a multiple of 32.
# That is 61 of 121. The positions with one offset a multiple of 32 and the other not
# need the shifts `(0, 16)` and `(16, 0)`: four passes fill the grid. `dense_scores`
# runs the passes it is given and reports which positions they filled; we compare with
# the 121 crops (on the unpadded network, where the equality is exact).

# %%
crops16 = crop_scores(plain, image, stride=16, batch_size=16)          # 121 crops
notes_two, filled_two = dense_scores(plain_conv, image, stride=16, shifts=[(0, 0), (16, 16)])
all_four, filled_four = dense_scores(plain_conv, image, stride=16)    # shifts 0 and 16 each
print(f"stride-16 grid {crops16.shape[1:]}: the notes' two passes fill {filled_two.sum()}, "
      f"four passes fill {filled_four.sum()}")
assert crops16.shape == (10, 11, 11) and (384 - 224) // 16 + 1 == 11
assert filled_two.sum() == 36 + 25 == 61 and filled_four.sum() == 121
assert_close(notes_two[:, filled_two], crops16[:, filled_two], rtol=1e-10, atol=1e-12)
assert np.isnan(notes_two[:, ~filled_two]).all()
assert_close(all_four, crops16, rtol=1e-10, atol=1e-12, what="4 passes vs 121 crops")

# %%
which_pass = np.zeros((11, 11), dtype=int)
for index, shift in enumerate([(0, 0), (16, 16), (0, 16), (16, 0)]):
    _, filled = dense_scores(plain_conv, image, stride=16, shifts=[shift])
    which_pass[filled] = index
fig, axes = plt.subplots(1, 2, figsize=(11, 5.2), layout="constrained")
cmap = plt.matplotlib.colors.ListedColormap(["C0", "C1", "C7", "C8"])
axes[0].imshow(which_pass, cmap=cmap, vmin=-0.5, vmax=3.5)
for (r, c), index in np.ndenumerate(which_pass):
    axes[0].text(c, r, "ABCD"[index], ha="center", va="center", fontsize=9, color="w")
axes[0].set_title("the pass that fills each stride-16 position\n"
                  "A (0,0) and B (16,16): the notes' two passes, 61 of 121;\n"
                  "C (0,16) and D (16,0) fill the rest")
axes[0].set_xlabel("column (offset 16 * column)")
axes[0].set_ylabel("row (offset 16 * row)")
signed_map(axes[1], all_four[0], limit=np.abs(crops16[0]).max(), label="class 0 score")
axes[1].set_title("class 0 scores from the four passes\n(= the 121 crops)")
plt.show()

# %% [markdown]
# **Summary (erratum).** Two passes, unshifted and shifted by `(16, 16)`, give a
# checkerboard: 61 of the 121 stride-16 positions. Shifting by `(0, 16)` and `(16, 0)`
# as well, four passes in all, gives the complete `11x11` map, equal to 121 crops.
# In general a stride of `32/s` needs `s*s` passes.

# %% [markdown]
# ## 6. The work saved
#
# The 36 crops overlap heavily, and evaluated one by one they recompute the same
# convolutions many times. The converted network computes every convolution once on
# the whole image. We count the multiply-adds of the full-size VGG-16 both ways (each
# conv row of a summary does `weights x output height x output width` of them).

# %%
def multiply_adds(summary):
    """Multiply-adds of a network's conv and FC layers (biases left out)."""
    return sum(r.weights * r.output_shape[1] * r.output_shape[2] for r in summary.rows)


crops_work = 36 * multiply_adds(at_224)
pass_work = multiply_adds(at_384)
print(f"36 crops: {crops_work / 1e9:,.0f} G multiply-adds; one pass on 384x384: "
      f"{pass_work / 1e9:,.0f} G; ratio {crops_work / pass_work:.1f}")
assert 10 < crops_work / pass_work < 36 * 224**2 / 384**2 == 12.25

# %% [markdown]
# **Summary.** The converted network does about an eleventh of the work of the 36
# crops: a little less than the ratio of the areas, `36 * 224^2 / 384^2 = 12.25`, since
# its FC layers (now convs) still run at 36 positions. This is why it is common to
# enlarge an image, run the converted network once and average the map of scores.

# %% [markdown]
# ## Going further: the time saved
#
# *Optional: this section goes beyond the notes, into how fast the code runs. The
# summary and the exercises of the lesson follow it.*
#
# Work is not time. We time the 36 crops and the converted pass on the small VGG-16 (in
# float32, as one would run it). The times depend on the machine, so they are printed,
# not checked; the difference in scores is the padding effect of section 4.

# %%
timing = time_fc_to_conv(zoo.get("vgg16", width=1 / 32, num_classes=10, seed=7),
                         batch_size=12)
print(f"{timing['crops']} crops of {timing['window']} on a {timing['image_size']}x"
      f"{timing['image_size']} image -> map {timing['map_shape']}")
print(f"crops one at a time: {timing['crops_seconds']:.2f} s; one converted pass: "
      f"{timing['converted_seconds']:.2f} s; {timing['speedup']:.1f} times faster")
print(f"largest score difference (padding): {timing['max_abs_difference']:.3f}")
assert timing["crops"] == 36 and timing["map_shape"] == (10, 6, 6)

# %% [markdown]
# **Summary.** The time saved is of the same order as the work saved but not the same
# number: it depends on the machine, and the small network spends part of its time
# outside the arithmetic (one call per crop instead of one in all).

# %% [markdown]
# ## Summary
#
# - An FC layer on a `C x H x W` volume is a CONV layer with `H x W x C` filters: the
#   same weights, reshaped; `fc_to_conv` converts a whole network.
# - The converted network slides over a larger image in one pass and returns a map of
#   scores: a trained digits classifier becomes a detector that finds the digits on a
#   page.
# - The map equals the crops exactly only without zero-padding (an erratum of the
#   notes); a stride of 16 needs four shifted passes, not two; one pass does about an
#   eleventh of the crops' work.

# %% [markdown]
# ## Exercises
#
# 1. On the `11x11` grid of stride-16 positions (offset `16*row` down, `16*column`
#    across), how many positions does the single pass shifted by `(0, 16)` fill?
# 2. Which of the notes' two passes, `"0,0"` or `"16,16"`, computes the crop at grid
#    row 3, column 5? Answer `"neither"` if neither does.
# 3. The converted VGG net (one score map entry per 32 pixels, a `7x7` filter in its
#    first converted FC layer) reads a `416x416` image. How wide is its map of scores?
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

exercises = Exercises("Lesson 7")
exercises.add(1, "Positions filled by the (0, 16) pass", expected=6 * 5,
              hint="A pass fills the positions whose two offsets are its shift plus a "
                   "multiple of 32: count the even and the odd grid indices from 0 to 10.",
              solution="One offset a multiple of 32 (indices 0, 2, ..., 10: 6 of them), the "
                       "other 16 more than a multiple of 32 (indices 1, 3, ..., 9: 5): "
                       "6 * 5 = 30 positions.")
exercises.add(2, "The pass that computes row 3, column 5", expected="16,16",
              hint="Row 3 is offset 48 = 16 + 32, column 5 is offset 80 = 16 + 64.",
              solution="Both offsets are 16 more than a multiple of 32, so the pass "
                       "shifted by (16, 16) computes it. Row 4, column 5 would be neither.")
exercises.add(3, "Score map width of the converted VGG on 416x416", expected=416 // 32 - 7 + 1,
              hint="Five 2x2 pools divide 416 by 32; then the 7x7 filter slides over it.",
              solution="416 / 32 = 13, and (13 - 7)/1 + 1 = 7: a 7x7 map of scores.")
display(exercises)

# %%
exercises.answer(1, None)   # your answer to exercise 1
exercises.answer(2, None)   # your answer to exercise 2
exercises.answer(3, None)   # your answer to exercise 3
