"""The base of every network layer: :class:`Layer`, and the helpers its subclasses share.

The core layers are pairs of functions, ``*_forward(...) -> (out, cache)`` and
``*_backward(dout, cache)``. The classes here only *compose* them: a layer object
holds its hyperparameters, knows the shape of its output and of its parameters,
and calls the core functions in ``forward`` and ``backward``. A network is

* a :class:`~convnets.nn.sequential.Sequential` list of layers (every architecture of
  the notes; the layer classes are in :mod:`convnets.nn.layers`), in which
* a layer may be a small graph, a :class:`~convnets.nn.blocks.Block` of parallel
  branches joined at the end: ``Inception`` (branches concatenated along the
  channels, GoogLeNet) and ``Residual`` (a main path added to a skip connection,
  ResNet).

The model interface and the naming of parameters are described in
:mod:`convnets.nn.sequential`.

Sizing: strict by default, as the notes recommend
-------------------------------------------------
A convolution or pooling whose windows do not tile the input,
``(W - F + 2P)/S + 1`` not an integer, raises ``ValueError`` naming the layer and
the formula. The notes list two other ways a library could respond ("zero pad the
rest to make it fit, or crop the input to make it fit"); real architectures rely
on them (ResNet's 7x7 stride-2 conv on 224 gives 112.5, frameworks round down).
A layer opts in explicitly with ``fit`` (the rule is
:func:`convnets.shapes.fit_window`):

* ``fit='floor'``: crop the input to make it fit. The trailing rows and columns that
  no window reaches are dropped, so ``out = floor((W - F + 2P)/S) + 1``
  (PyTorch's and Caffe's convolution, PyTorch's pooling by default).
* ``fit='ceil'``: zero pad the rest to make it fit (``-inf`` for max pooling, so the
  padding never wins), ``out = ceil((W - F + 2P)/S) + 1``, except that the last
  window must start inside the input or its left padding (PyTorch's
  ``ceil_mode=True``, used by GoogLeNet).

Either way the layer pads (and crops) explicitly and then calls the core with
``pad=0``; the backward pass applies the inverse (crop the padding, zero-fill
what was cropped).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from ..checks import check_int

__all__ = ["Layer"]


def pad_or_crop(x: np.ndarray, top: int, bottom: int, left: int, right: int,
                 value: float = 0.0) -> np.ndarray:
    """Pad (positive amounts) or crop (negative amounts) the two spatial axes of x."""
    H, W = x.shape[2], x.shape[3]
    x = x[:, :, max(0, -top):H - max(0, -bottom), max(0, -left):W - max(0, -right)]
    pads = ((0, 0), (0, 0), (max(0, top), max(0, bottom)), (max(0, left), max(0, right)))
    if any(p for pair in pads for p in pair):
        x = np.pad(x, pads, mode="constant", constant_values=value)
    return x


def undo_pad_or_crop(dx: np.ndarray, plan: tuple[int, int, int, int]) -> np.ndarray:
    """Backward of :func:`pad_or_crop`: crop what was padded, zero-fill what was cropped."""
    top, bottom, left, right = plan
    return pad_or_crop(dx, -top, -bottom, -left, -right, 0.0)


def window_size(size, name: str) -> tuple[int, int]:
    """An int F means a square F x F window; a pair (HH, WW) a rectangular one."""
    if isinstance(size, (tuple, list)):
        if len(size) != 2:
            raise ValueError(f"{name} must be an int or a pair (height, width), got {size!r}")
        return check_int(size[0], f"{name}[0]", 1), check_int(size[1], f"{name}[1]", 1)
    size = check_int(size, name, 1)
    return size, size


def format_volume(shape) -> str:
    """(C, H, W) -> 'HxWxC', the notes' way of writing a volume."""
    C, H, W = shape
    return f"{H}x{W}x{C}"


def he_normal(shape, fan_in: int, rng: np.random.Generator, dtype) -> np.ndarray:
    """He et al. (2015) initialization for ReLU networks: N(0, 2/fan_in)."""
    w = rng.standard_normal(shape, dtype=np.float64) * math.sqrt(2.0 / fan_in)
    return w.astype(dtype, copy=False)


# --------------------------------------------------------------------------------------
# The base class
# --------------------------------------------------------------------------------------

class Layer:
    """Base class: one step of a network, ``(N, C, H, W) -> (N, C', H', W')``.

    Subclasses set the hyperparameters in ``__init__`` and override what applies:

    * ``output_shape(in_shape)``: ``(C, H, W) -> (C', H', W')`` without data;
      raises ``ValueError`` naming the layer when the sizes do not fit.
    * ``param_shapes(in_shape)`` / ``buffer_shapes(in_shape)``: full name -> shape.
    * ``init_params(in_shape, rng, dtype)`` and ``init_buffers(in_shape, dtype)``:
      name -> new array.
    * ``forward(x, params, buffers, train) -> (out, cache)`` and
      ``backward(dout, cache, grads) -> dx`` (parameter gradients are stored in
      ``grads`` under the parameters' names).
    * ``geometry(in_shape) -> (Fh, Fw, Sh, Sw)``: the window (dilation included) and
      stride, for receptive fields.

    ``kind`` is the name the notes' tables use (``CONV3-64``, ``POOL2``, ``FC``...).
    ``in_place`` marks elementwise layers whose output does not count as a new volume
    of activations (ReLU; Flatten is a reshape).
    """

    base_name = "layer"
    in_place = False
    # Whether backward(..., compute_dx=False) may skip the input gradient (Conv): the
    # first layer of a network, whose input is the data, needs none.
    skips_input_grad = False
    regularized: tuple[str, ...] = ()  # local names of the L2-regularized parameters
    weight_names: tuple[str, ...] = ()  # counted as "weights" in summaries
    bias_names: tuple[str, ...] = ()  # counted as "biases"

    def __init__(self, name: str | None = None):
        self.name = name
        self.path = name

    # naming -------------------------------------------------------------------------
    @property
    def kind(self) -> str:
        return self.base_name.upper()

    def key(self, local: str) -> str:
        """Full parameter name, e.g. ``key('w') == 'conv1.w'``."""
        if self.path is None:
            raise ValueError(f"{type(self).__name__} layer has no name yet: add it to a "
                             f"Sequential (which names its layers) before using it")
        return f"{self.path}.{local}"

    def bind(self, path: str, seen: set[int] | None = None) -> None:
        """Give the layer its full name inside a network (``seen``: the ids of the layers
        bound so far, which blocks pass on to check their own layers)."""
        self.path = path

    def _error(self, in_shape, message: str) -> ValueError:
        where = f"layer '{self.path}'" if self.path else "layer"
        return ValueError(f"{where} ({self.kind}) on input {format_volume(in_shape)}: {message}")

    # shapes -------------------------------------------------------------------------
    def output_shape(self, in_shape: tuple[int, int, int]) -> tuple[int, int, int]:
        return tuple(in_shape)

    def local_param_shapes(self, in_shape) -> dict[str, tuple[int, ...]]:
        return {}

    def param_shapes(self, in_shape) -> dict[str, tuple[int, ...]]:
        return {self.key(k): s for k, s in self.local_param_shapes(in_shape).items()}

    def buffer_shapes(self, in_shape) -> dict[str, tuple[int, ...]]:
        return {}

    def counts(self, in_shape) -> tuple[int, int]:
        """(number of weights, number of biases), from the shapes alone."""
        shapes = self.local_param_shapes(in_shape)
        weights = sum(math.prod(shapes[k]) for k in self.weight_names if k in shapes)
        biases = sum(math.prod(shapes[k]) for k in self.bias_names if k in shapes)
        return weights, biases

    def weights_formula(self, in_shape) -> str:
        return str(self.counts(in_shape)[0])

    def geometry(self, in_shape) -> tuple[int, int, int, int]:
        return 1, 1, 1, 1

    def init_params(self, in_shape, rng, dtype) -> dict[str, np.ndarray]:
        return {}

    def init_buffers(self, in_shape, dtype) -> dict[str, np.ndarray]:
        return {}

    def regularized_keys(self) -> list[str]:
        return [self.key(k) for k in self.regularized]

    def sublayers(self) -> Iterator[Layer]:
        """This layer and, for blocks, every layer inside it."""
        yield self

    # computation --------------------------------------------------------------------
    def forward(self, x, params, buffers, train: bool):
        raise NotImplementedError

    def backward(self, dout, cache, grads: dict):
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path or ''}: {self.kind})"
