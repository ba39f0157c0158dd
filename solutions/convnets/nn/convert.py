"""FC -> CONV conversion: slide a trained network over a larger image in one pass.

An FC layer computes dot products of its weights with the whole input volume, so
it *is* a convolution whose filter covers the whole volume. For VGG-16 on 224x224:

* the first FC looks at a 7x7x512 volume (224/2/2/2/2/2 = 7): its weight matrix
  ``(7*7*512, 4096)`` becomes 4096 filters of 7x7x512 (``F = 7, P = 0, S = 1``);
* the next FCs look at 1x1x4096 volumes: they become ``F = 1`` convolutions.

:func:`fc_to_conv` does exactly this reshaping (``w.T.reshape(K, C, F, F)``, the
same row-major order in which the FC layer flattened its input). The converted
network gives the same scores at 224x224; on a 384x384 image the last pool gives
12x12x512 (384/32) and the F=7 conv (12 - 7)/1 + 1 = 6 positions: a 6x6 map of
scores, one for each of the 36 crops of 224x224 at stride 32 (:func:`crop_scores`),
at a fraction of the cost, since overlapping crops share their convolutions.

When is the map *identical* to the crops? (an erratum to the notes)
-------------------------------------------------------------------
The notes say "identical". That is exact only when the layers before the FC
layers use **no zero-padding** (valid convolutions; pools that crop, ``fit='floor'``,
are fine, since crops at multiples of the total stride stay on the pooling grid).
With padding, a crop's border pixels are convolved with zeros, while in the large
image the same pixels have real neighbours. In VGG-16 every 3x3 conv pads by 1 and
a first-FC neuron's receptive field is 404 pixels, wider than the 224 crop, so
*every* score of the map differs from the crop's (the network sees more context).
The tests check both facts: exact equality (to 1e-12) for a VGG-style network with
valid convolutions, and a difference for the padded VGG-16.

Stride 16 and the notes' "two passes"
-------------------------------------
The converted network moves 32 input pixels per output position (its total stride).
For a finer stride of 16, the notes suggest combining two passes, the second on
the image shifted by 16 pixels along both width and height. On 384x384 the crops at
stride 16 form an 11x11 grid (121 positions). The unshifted pass gives the 6x6
positions whose offsets are both multiples of 32 (36), the (16, 16) shifted pass the
5x5 positions whose offsets are both 16 mod 32 (25): 61 of 121. Positions with one
offset a multiple of 32 and the other not need the shifts (0, 16) and (16, 0):
**four passes** fill the whole grid. :func:`dense_scores` assembles the map from
any set of shifts and reports which positions it filled.
"""

from __future__ import annotations

import copy
import time

import numpy as np

from ..checks import check_array, check_int
from ..shapes import fit_window
from .layers import Affine, Conv, Flatten
from .sequential import Sequential
from .summary import summarize

__all__ = ["fc_to_conv", "crop_scores", "dense_scores", "time_fc_to_conv"]


def fc_to_conv(model: Sequential, input_shape=None) -> Sequential:
    """The fully convolutional equivalent of ``model`` (same parameters, reshaped).

    Every FC layer becomes a conv whose filter covers its input volume: on input
    ``(C, H, W)``, ``FC(K)`` with ``w`` of shape ``(C*H*W, K)`` becomes ``Conv(K, (H, W))``
    with filters ``w.T.reshape(K, C, H, W)`` (``F = 7`` after VGG's last pool, ``F = 1``
    after another FC); Flatten layers are dropped; every other layer (and its
    parameters and buffers) is kept. The converted layers keep their names.

    Parameters
    ----------
    model : Sequential
    input_shape : (C, H, W), optional
        The input the FC layers were built for (default ``model.input_shape``).

    Returns
    -------
    Sequential
        On ``input_shape`` it gives the same scores as ``model``; on a larger image
        its forward pass returns a map of scores ``(N, K, H', W')``.
    """
    if not isinstance(model, Sequential):
        raise TypeError(f"model must be a Sequential, got {type(model).__name__}")
    shape = model.resolve_input_shape(input_shape)
    params = model.params
    layers, new_params = [], {}
    in_shape = shape  # the volume as the converted network sees it (never flattened)
    for layer in model.layers:
        if isinstance(layer, Flatten):
            continue
        if isinstance(layer, Affine):
            C, H, W = in_shape
            conv = Conv(layer.units, (H, W), name=layer.name, warn_padding=False)
            w = params[layer.key("w")]
            new_params[layer.key("w")] = np.ascontiguousarray(w.T.reshape(layer.units, C, H, W))
            new_params[layer.key("b")] = params[layer.key("b")]
            layers.append(conv)
        else:
            layers.append(copy.deepcopy(layer))
            for key in layer.param_shapes(in_shape):
                new_params[key] = params[key]
        in_shape = layer.output_shape(in_shape)
    converted = Sequential(layers, shape, reg=model.reg, dtype=model.dtype, seed=model.seed,
                           name=f"{model.name} (fully convolutional)")
    converted.params = new_params
    converted.buffers = dict(model.buffers)
    return converted


def _as_image(image, model) -> np.ndarray:
    """One image (C, H, W) or (1, C, H, W) -> (C, H, W) in the model's dtype."""
    image = check_array(image, "image")
    if image.ndim == 4 and image.shape[0] == 1:
        image = image[0]
    if image.ndim != 3:
        raise ValueError(f"image must be (C, H, W) or (1, C, H, W), got shape {image.shape}")
    return image.astype(model.dtype, copy=False)


def _window(model, window) -> tuple[int, int]:
    if window is None:
        return model.resolve_input_shape(None)[1:]
    if isinstance(window, int):
        return window, window
    return tuple(window)


def _positions(size: int, window: int, stride: int, axis: str) -> int:
    if size < window:
        raise ValueError(f"the image {axis} {size} is smaller than the window {window}")
    return fit_window(size, window, stride, 0, 1, "floor", axis)[0]  # crops that fit


def crop_scores(model: Sequential, image, window=None, stride: int = 32,
                batch_size: int = 8) -> np.ndarray:
    """Evaluate ``model`` on every ``window`` crop of ``image`` at ``stride``: the slow way.

    Parameters
    ----------
    model : Sequential
        Any network (typically the original, with FC layers).
    image : ndarray, shape (C, H, W)
    window : int or (int, int), optional
        Crop size; default the model's input size.
    stride : int
        Distance in pixels between neighbouring crops.
    batch_size : int
        Crops forwarded at once (bounds the memory).

    Returns
    -------
    scores : ndarray, shape (K, n_h, n_w)
        ``scores[:, a, b]`` are the scores of the crop with top-left corner
        ``(a*stride, b*stride)``; ``n = (H - window)//stride + 1``.
    """
    image = _as_image(image, model)
    stride = check_int(stride, "stride", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    wh, ww = _window(model, window)
    _, H, W = image.shape
    nh = _positions(H, wh, stride, "height")
    nw = _positions(W, ww, stride, "width")
    corners = [(a, b) for a in range(nh) for b in range(nw)]
    scores = None
    for start in range(0, len(corners), batch_size):
        chunk = corners[start:start + batch_size]
        crops = np.stack([image[:, a * stride:a * stride + wh, b * stride:b * stride + ww]
                          for a, b in chunk])
        out = model.forward(crops)
        if scores is None:
            scores = np.empty((out.shape[1], nh, nw), dtype=out.dtype)
        for (a, b), s in zip(chunk, out, strict=True):
            scores[:, a, b] = s
    return scores


def dense_scores(converted: Sequential, image, window=None, stride: int = 16,
                 shifts=None) -> tuple[np.ndarray, np.ndarray]:
    """Scores at a stride finer than the network's, from passes on shifted images.

    The converted network's positions are ``total_stride`` pixels apart (32 for
    VGG). A pass on the image shifted by ``(dy, dx)`` (its top rows and left columns
    dropped) gives the crops whose corners are ``(dy + 32a, dx + 32b)``; each is placed
    at grid position ``((dy + 32a)/stride, (dx + 32b)/stride)``.

    Parameters
    ----------
    converted : Sequential
        A fully convolutional network (from :func:`fc_to_conv`).
    image : ndarray, shape (C, H, W)
    window : int or (int, int), optional
        The crop size the network stands for; default its input size.
    stride : int
        The stride of the wanted grid; must divide the network's total stride.
    shifts : list of (dy, dx), optional
        Multiples of ``stride`` below the total stride. Default: all of them (four
        passes for 16 and 32), which fills the grid. The notes' two passes are
        ``[(0, 0), (16, 16)]``.

    Returns
    -------
    scores : ndarray, shape (K, n_h, n_w)
        ``n = (H - window)//stride + 1``; NaN where no pass reached.
    filled : ndarray of bool, shape (n_h, n_w)
        The positions the passes computed.
    """

    image = _as_image(image, converted)
    stride = check_int(stride, "stride", minimum=1)
    wh, ww = _window(converted, window)
    C, H, W = image.shape
    net_stride = summarize(converted, (C, wh, ww), warn=False).total_stride
    if net_stride % stride:
        raise ValueError(f"stride {stride} must divide the network's total stride {net_stride}")
    if shifts is None:
        steps = range(0, net_stride, stride)
        shifts = [(dy, dx) for dy in steps for dx in steps]
    nh = _positions(H, wh, stride, "height")
    nw = _positions(W, ww, stride, "width")
    scores, filled = None, np.zeros((nh, nw), dtype=bool)
    for dy, dx in shifts:
        if dy % stride or dx % stride or not 0 <= dy < net_stride or not 0 <= dx < net_stride:
            raise ValueError(f"shift {(dy, dx)} must be multiples of {stride} below {net_stride}")
        if H - dy < wh or W - dx < ww:
            continue
        # The largest shifted region the network tiles exactly: window + k * net_stride.
        Lh = wh + net_stride * ((H - dy - wh) // net_stride)
        Lw = ww + net_stride * ((W - dx - ww) // net_stride)
        out = converted.forward(image[None, :, dy:dy + Lh, dx:dx + Lw])
        if out.ndim == 2:
            out = out[:, :, None, None]
        out = out[0]
        if scores is None:
            scores = np.full((out.shape[0], nh, nw), np.nan, dtype=out.dtype)
        rows = (dy + net_stride * np.arange(out.shape[1])) // stride
        cols = (dx + net_stride * np.arange(out.shape[2])) // stride
        scores[:, rows[:, None], cols[None, :]] = out
        filled[rows[:, None], cols[None, :]] = True
    return scores, filled


def time_fc_to_conv(model: Sequential, image_size: int | None = None, stride: int = 32,
                    batch_size: int = 6, repeats: int = 1, seed: int = 0) -> dict:
    """Time one pass of the converted network against the crops it replaces.

    Parameters
    ----------
    model : Sequential
        A network with FC layers (e.g. ``zoo.get('vgg16', width=1/8)``).
    image_size : int, optional
        Side of the square test image; default the input size + 5 strides (384 for
        224 and 32: 36 crops).
    stride : int
        Stride of the crops (the network's total stride gives one pass).
    batch_size : int
        Crops forwarded at once.
    repeats : int
        Each way is timed this many times; the best time is kept.
    seed : int
        Seed of the random test image.

    Returns
    -------
    dict
        ``image_size``, ``window``, ``crops`` (their number), ``map_shape``,
        ``converted_seconds``, ``crops_seconds``, ``speedup`` (crops / converted) and
        ``max_abs_difference`` between the two maps of scores.
    """
    C, wh, ww = model.resolve_input_shape(None)
    if image_size is None:
        image_size = max(wh, ww) + 5 * stride
    image = np.random.default_rng(seed).standard_normal((C, image_size, image_size))
    image = image.astype(model.dtype)
    converted = fc_to_conv(model)
    model.params, converted.params  # noqa: B018  allocate before timing

    def best(run):
        times, result = [], None
        for _ in range(check_int(repeats, "repeats", minimum=1)):
            start = time.perf_counter()
            result = run()
            times.append(time.perf_counter() - start)
        return min(times), result

    t_conv, (fast, _) = best(lambda: dense_scores(converted, image, stride=stride))
    t_crops, slow = best(lambda: crop_scores(model, image, stride=stride,
                                             batch_size=batch_size))
    return {"image_size": image_size, "window": (wh, ww), "crops": slow.shape[1] * slow.shape[2],
            "map_shape": fast.shape, "converted_seconds": t_conv, "crops_seconds": t_crops,
            "speedup": t_crops / t_conv,
            "max_abs_difference": float(np.max(np.abs(fast - slow)))}
