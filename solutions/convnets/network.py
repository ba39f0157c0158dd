"""Networks built from the core's layers: layer objects, blocks and a model class.

The core layers are pairs of functions, ``*_forward(...) -> (out, cache)`` and
``*_backward(dout, cache)``. The classes here only *compose* them: a layer object
holds its hyperparameters, knows the shape of its output and of its parameters,
and calls the core functions in ``forward`` and ``backward``. A network is

* a :class:`Sequential` list of layers (every architecture of the notes), in which
* a layer may be a small graph, a :class:`Block` of parallel branches joined at the
  end: :class:`Inception` (branches concatenated along the channels, GoogLeNet) and
  :class:`Residual` (a main path added to a skip connection, ResNet).

Model interface (the same as CS231n's models, which the :class:`~convnets.Solver`
relies on): ``model.params`` (name -> trainable array), ``model.buffers`` (name ->
non-trainable state, the batch-norm running statistics), ``model.forward(x)``
(test mode scores), ``model.loss(X, y=None)`` (scores, or ``(loss, grads)`` in
train mode with a softmax loss and ``0.5 * reg * sum(w**2)`` over the weights),
``model.activations(x)`` (every layer's output) and ``model.dtype``.

Parameters are named ``"<layer path>.<name>"``, e.g. ``"conv1.w"``, ``"conv1.b"``,
``"res2a.main.bn1.gamma"``. They are **allocated lazily**, on the first access to
``params``/``buffers`` or the first forward pass: building VGG-16 (138M
parameters) and summarizing it costs no memory, since the sizes follow from the
shapes alone.

Sizing: strict by default, as the notes recommend
-------------------------------------------------
A convolution or pooling whose windows do not tile the input,
``(W - F + 2P)/S + 1`` not an integer, raises ``ValueError`` naming the layer and
the formula. The notes list two other ways a library could respond ("zero pad the
rest to make it fit, or crop the input to make it fit"); real architectures rely
on them (ResNet's 7x7 stride-2 conv on 224 gives 112.5, frameworks round down).
A layer opts in explicitly with ``fit``:

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
from collections.abc import Iterator, Sequence

import numpy as np

from .conv import conv_backward_fast, conv_forward_fast
from .layers import affine_backward, affine_forward, relu_backward, relu_forward
from .losses import softmax_loss
from .normalization import (
    batchnorm_backward,
    batchnorm_forward,
    lrn_backward,
    lrn_forward,
    spatial_batchnorm_backward,
    spatial_batchnorm_forward,
)
from .pooling import (
    avg_pool_backward,
    avg_pool_forward,
    l2_pool_backward,
    l2_pool_forward,
    max_pool_backward_fast,
    max_pool_forward_fast,
)
from .shapes import (
    check_array,
    check_int,
    conv_output_size,
    effective_filter_size,
    pool_output_size,
)

__all__ = [
    "Layer",
    "Conv",
    "ReLU",
    "MaxPool",
    "AvgPool",
    "GlobalAvgPool",
    "L2Pool",
    "Affine",
    "FC",
    "Flatten",
    "LRN",
    "SpatialBatchNorm",
    "Block",
    "Inception",
    "Residual",
    "basic_block",
    "bottleneck_block",
    "inception_module",
    "Sequential",
]

FITS = ("strict", "floor", "ceil")


# --------------------------------------------------------------------------------------
# Fitting windows to an input: strict, floor (crop) or ceil (pad)
# --------------------------------------------------------------------------------------

def _fit_axis(W: int, F: int, S: int, P: int, D: int, fit: str, axis: str,
              pooling: bool = False) -> tuple[int, int, int]:
    """Output size along one axis, and how to pad the input so windows tile it exactly.

    Returns ``(out, before, after)``: pad ``before`` pixels at the start and ``after``
    at the end (``after < 0`` means crop ``-after`` trailing pixels), after which a
    window of ``F`` (dilated: ``D*(F-1)+1``) at stride ``S`` with no padding gives
    exactly ``out`` outputs.
    """
    F_eff = effective_filter_size(F, D)
    if fit == "strict":
        if pooling and P == 0:
            out = pool_output_size(W, F, S, axis=axis)
        else:
            out = conv_output_size(W, F, S, P, dilation=D, axis=axis)
    else:
        span = W + 2 * P - F_eff
        if span < 0:
            raise ValueError(f"filter larger than the padded input along the {axis}: "
                             f"F = {F_eff} > W + 2P = {W} + 2*{P} = {W + 2 * P}")
        if fit == "floor":
            out = span // S + 1
        else:  # ceil: the last window must start inside the input or its left padding
            out = -(-span // S) + 1
            if (out - 1) * S >= W + P:
                out -= 1
    needed = (out - 1) * S + F_eff
    return out, P, needed - W - P


def _pad_or_crop(x: np.ndarray, top: int, bottom: int, left: int, right: int,
                 value: float = 0.0) -> np.ndarray:
    """Pad (positive amounts) or crop (negative amounts) the two spatial axes of x."""
    H, W = x.shape[2], x.shape[3]
    x = x[:, :, max(0, -top):H - max(0, -bottom), max(0, -left):W - max(0, -right)]
    pads = ((0, 0), (0, 0), (max(0, top), max(0, bottom)), (max(0, left), max(0, right)))
    if any(p for pair in pads for p in pair):
        x = np.pad(x, pads, mode="constant", constant_values=value)
    return x


def _undo_pad_or_crop(dx: np.ndarray, plan: tuple[int, int, int, int]) -> np.ndarray:
    """Backward of :func:`_pad_or_crop`: crop what was padded, zero-fill what was cropped."""
    top, bottom, left, right = plan
    return _pad_or_crop(dx, -top, -bottom, -left, -right, 0.0)


def _check_fit(fit) -> str:
    if fit not in FITS:
        raise ValueError(f"fit must be one of {FITS}, got fit = {fit!r}")
    return fit


def _pair(size, name: str) -> tuple[int, int]:
    """An int F means a square F x F window; a pair (HH, WW) a rectangular one."""
    if isinstance(size, (tuple, list)):
        if len(size) != 2:
            raise ValueError(f"{name} must be an int or a pair (height, width), got {size!r}")
        return check_int(size[0], f"{name}[0]", 1), check_int(size[1], f"{name}[1]", 1)
    size = check_int(size, name, 1)
    return size, size


def _fmt_shape(shape) -> str:
    """(C, H, W) -> 'HxWxC', the notes' way of writing a volume."""
    C, H, W = shape
    return f"{H}x{W}x{C}"


def _he_normal(shape, fan_in: int, rng: np.random.Generator, dtype) -> np.ndarray:
    """He et al. (2015) initialization for ReLU networks: N(0, 2/fan_in)."""
    w = rng.standard_normal(shape, dtype=np.float64) * math.sqrt(2.0 / fan_in)
    return w.astype(dtype, copy=False)


# --------------------------------------------------------------------------------------
# Layer objects
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

    def bind(self, path: str) -> None:
        """Give the layer its full name inside a network."""
        self.path = path

    def _error(self, in_shape, message: str) -> ValueError:
        where = f"layer '{self.path}'" if self.path else "layer"
        return ValueError(f"{where} ({self.kind}) on input {_fmt_shape(in_shape)}: {message}")

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


class Conv(Layer):
    """Convolutional layer: ``filters`` filters of ``size x size`` over all input channels.

    Parameters
    ----------
    filters : int
        K, the number of filters (the depth of the output volume).
    size : int or (int, int)
        F, the spatial extent of each filter (``(HH, WW)`` for a rectangular one).
    stride, pad, dilation : int
        S, P (zeros on each side) and the dilation (1 = contiguous).
    bias : bool
        False for convolutions followed by batch norm (its beta is the bias).
    fit : {'strict', 'floor', 'ceil'}
        What to do when the filters do not tile the input (see the module docstring).
    hint : str, optional
        Appended to the sizing error, to explain an architecture's expected input.
    warn_padding : bool
        Whether :func:`~convnets.summarize` may warn that ``P != (F-1)/2`` at stride 1.

    Shapes: ``(C, H, W) -> (K, H', W')`` with ``H' = (H - F + 2P)/S + 1``; weights
    ``w`` (K, C, HH, WW) and biases ``b`` (K,), ``(F*F*C)*K`` weights and ``K`` biases.
    """

    base_name = "conv"
    regularized = ("w",)
    weight_names = ("w",)
    bias_names = ("b",)

    def __init__(self, filters: int, size, stride: int = 1, pad: int = 0, dilation: int = 1,
                 bias: bool = True, fit: str = "strict", hint: str | None = None,
                 warn_padding: bool = True, name: str | None = None):
        super().__init__(name)
        self.filters = check_int(filters, "filters", minimum=1)
        self.size = _pair(size, "size")
        self.stride = check_int(stride, "stride", minimum=1)
        self.pad = check_int(pad, "pad", minimum=0)
        self.dilation = check_int(dilation, "dilation", minimum=1)
        self.bias = bool(bias)
        self.fit = _check_fit(fit)
        self.hint = hint
        self.warn_padding = warn_padding

    @property
    def kind(self) -> str:
        HH, WW = self.size
        size = f"{HH}" if HH == WW else f"{HH}x{WW}"
        dil = f"/d{self.dilation}" if self.dilation > 1 else ""
        return f"CONV{size}-{self.filters}{dil}"

    def _plans(self, in_shape):
        _, H, W = in_shape
        try:
            rows = _fit_axis(H, self.size[0], self.stride, self.pad, self.dilation, self.fit,
                             "height")
            cols = _fit_axis(W, self.size[1], self.stride, self.pad, self.dilation, self.fit,
                             "width")
        except ValueError as err:
            hint = f". {self.hint}" if self.hint else ""
            raise self._error(in_shape, f"{err}{hint}") from None
        return rows, cols

    def output_shape(self, in_shape):
        (H_out, _, _), (W_out, _, _) = self._plans(in_shape)
        return self.filters, H_out, W_out

    def local_param_shapes(self, in_shape):
        shapes = {"w": (self.filters, in_shape[0]) + self.size}
        if self.bias:
            shapes["b"] = (self.filters,)
        return shapes

    def weights_formula(self, in_shape) -> str:
        HH, WW = self.size
        return f"({HH}*{WW}*{in_shape[0]})*{self.filters}"

    def geometry(self, in_shape):
        HH, WW = self.size
        return (effective_filter_size(HH, self.dilation), effective_filter_size(WW, self.dilation),
                self.stride, self.stride)

    def init_params(self, in_shape, rng, dtype):
        shape = self.local_param_shapes(in_shape)["w"]
        params = {self.key("w"): _he_normal(shape, math.prod(shape[1:]), rng, dtype)}
        if self.bias:
            params[self.key("b")] = np.zeros(self.filters, dtype=dtype)
        return params

    def forward(self, x, params, buffers, train):
        (_, top, bottom), (_, left, right) = self._plans(x.shape[1:])
        w = params[self.key("w")]
        b = params[self.key("b")] if self.bias else np.zeros(self.filters, dtype=w.dtype)
        if self.fit == "strict":  # the core pads with P zeros itself
            conv_param = {"stride": self.stride, "pad": self.pad, "dilation": self.dilation}
            out, cache = conv_forward_fast(x, w, b, conv_param)
            return out, (cache, None)
        plan = (top, bottom, left, right)
        conv_param = {"stride": self.stride, "pad": 0, "dilation": self.dilation}
        out, cache = conv_forward_fast(_pad_or_crop(x, *plan), w, b, conv_param)
        return out, (cache, plan)

    def backward(self, dout, cache, grads, compute_dx=True):
        """Store dw (and db) in ``grads``; return dx, or None with ``compute_dx=False``
        (a network's first layer: see :func:`convnets.conv_backward_fast`)."""
        core_cache, plan = cache
        dx, dw, db = conv_backward_fast(dout, core_cache, compute_dx=compute_dx)
        grads[self.key("w")] = dw
        if self.bias:
            grads[self.key("b")] = db
        if dx is None or plan is None:
            return dx
        return _undo_pad_or_crop(dx, plan)


class ReLU(Layer):
    """``max(0, x)`` elementwise; works in place (no new volume of activations)."""

    base_name = "relu"
    in_place = True

    def forward(self, x, params, buffers, train):
        return relu_forward(x)

    def backward(self, dout, cache, grads):
        return relu_backward(dout, cache)


class MaxPool(Layer):
    """Max pooling over ``size x size`` windows at ``stride`` (default: ``size``).

    ``pad`` adds ``-inf`` around the input (so padding never wins a max); it must be
    at most half the window. ``fit`` as for :class:`Conv`. Kind ``POOL<size>``.
    Shapes: ``(C, H, W) -> (C, (H - F + 2P)/S + 1, ...)``.
    """

    base_name = "pool"

    def __init__(self, size: int = 2, stride: int | None = None, pad: int = 0,
                 fit: str = "strict", name: str | None = None):
        super().__init__(name)
        self.size = check_int(size, "size", minimum=1)
        self.stride = self.size if stride is None else check_int(stride, "stride", minimum=1)
        self.pad = check_int(pad, "pad", minimum=0)
        if 2 * self.pad > self.size:
            raise ValueError(f"pad must be at most half the pooling window, got pad = "
                             f"{self.pad} with size = {self.size}")
        self.fit = _check_fit(fit)

    @property
    def kind(self) -> str:
        return f"POOL{self.size}"

    def _plans(self, in_shape):
        _, H, W = in_shape
        try:
            rows = _fit_axis(H, self.size, self.stride, self.pad, 1, self.fit, "height", True)
            cols = _fit_axis(W, self.size, self.stride, self.pad, 1, self.fit, "width", True)
        except ValueError as err:
            raise self._error(in_shape, str(err)) from None
        return rows, cols

    def output_shape(self, in_shape):
        (H_out, _, _), (W_out, _, _) = self._plans(in_shape)
        return in_shape[0], H_out, W_out

    def geometry(self, in_shape):
        return self.size, self.size, self.stride, self.stride

    def forward(self, x, params, buffers, train):
        (_, top, bottom), (_, left, right) = self._plans(x.shape[1:])
        plan = (top, bottom, left, right)
        pool_param = {"pool_height": self.size, "pool_width": self.size, "stride": self.stride}
        if not any(plan):
            out, cache = max_pool_forward_fast(x, pool_param)
            return out, (cache, None)
        out, cache = max_pool_forward_fast(_pad_or_crop(x, *plan, value=-np.inf), pool_param)
        return out, (cache, plan)

    def backward(self, dout, cache, grads):
        core_cache, plan = cache
        dx = max_pool_backward_fast(dout, core_cache)
        return dx if plan is None else _undo_pad_or_crop(dx, plan)


class _PlainPool(Layer):
    """Average or L2-norm pooling, strict sizing (no padding)."""

    _forward = _backward = None

    def __init__(self, size: int = 2, stride: int | None = None, name: str | None = None):
        super().__init__(name)
        self.size = check_int(size, "size", minimum=1)
        self.stride = self.size if stride is None else check_int(stride, "stride", minimum=1)

    def output_shape(self, in_shape):
        C, H, W = in_shape
        try:
            return (C, pool_output_size(H, self.size, self.stride, axis="height"),
                    pool_output_size(W, self.size, self.stride, axis="width"))
        except ValueError as err:
            raise self._error(in_shape, str(err)) from None

    def geometry(self, in_shape):
        return self.size, self.size, self.stride, self.stride

    def forward(self, x, params, buffers, train):
        self.output_shape(x.shape[1:])
        pool_param = {"pool_height": self.size, "pool_width": self.size, "stride": self.stride}
        return type(self)._forward(x, pool_param)

    def backward(self, dout, cache, grads):
        return type(self)._backward(dout, cache)


class AvgPool(_PlainPool):
    """Average pooling, ``size x size`` windows at ``stride``. Kind ``AVGPOOL<size>``."""

    base_name = "avgpool"
    _forward = staticmethod(avg_pool_forward)
    _backward = staticmethod(avg_pool_backward)

    @property
    def kind(self) -> str:
        return f"AVGPOOL{self.size}"


class L2Pool(_PlainPool):
    """L2-norm pooling, ``size x size`` windows at ``stride``. Kind ``L2POOL<size>``."""

    base_name = "l2pool"
    _forward = staticmethod(l2_pool_forward)
    _backward = staticmethod(l2_pool_backward)

    @property
    def kind(self) -> str:
        return f"L2POOL{self.size}"


class GlobalAvgPool(Layer):
    """Average over the whole spatial extent: ``(C, H, W) -> (C, 1, 1)``.

    GoogLeNet and ResNet end with it instead of a stack of FC layers (one window the
    size of the input; it also lets them run on any input size).
    """

    base_name = "avgpool"

    @property
    def kind(self) -> str:
        return "AVGPOOL"

    def output_shape(self, in_shape):
        return in_shape[0], 1, 1

    def geometry(self, in_shape):
        return in_shape[1], in_shape[2], 1, 1

    def forward(self, x, params, buffers, train):
        H, W = x.shape[2], x.shape[3]
        return avg_pool_forward(x, {"pool_height": H, "pool_width": W, "stride": 1})

    def backward(self, dout, cache, grads):
        return avg_pool_backward(dout, cache)


class Affine(Layer):
    """Fully-connected layer with ``units`` outputs, each connected to the whole input.

    Shapes: ``(C, H, W) -> (units, 1, 1)`` (the array is ``(N, units)``); weights
    ``w`` (C*H*W, units), biases ``b`` (units,). Kind ``FC``.
    """

    base_name = "fc"
    regularized = ("w",)
    weight_names = ("w",)
    bias_names = ("b",)

    def __init__(self, units: int, name: str | None = None):
        super().__init__(name)
        self.units = check_int(units, "units", minimum=1)

    @property
    def kind(self) -> str:
        return "FC"

    def output_shape(self, in_shape):
        return self.units, 1, 1

    def local_param_shapes(self, in_shape):
        return {"w": (math.prod(in_shape), self.units), "b": (self.units,)}

    def weights_formula(self, in_shape) -> str:
        C, H, W = in_shape
        inputs = f"{C}" if H == W == 1 else f"{H}*{W}*{C}"
        return f"{inputs}*{self.units}"

    def geometry(self, in_shape):
        return in_shape[1], in_shape[2], 1, 1

    def init_params(self, in_shape, rng, dtype):
        D = math.prod(in_shape)
        return {self.key("w"): _he_normal((D, self.units), D, rng, dtype),
                self.key("b"): np.zeros(self.units, dtype=dtype)}

    def forward(self, x, params, buffers, train):
        w = params[self.key("w")]
        D = math.prod(x.shape[1:])
        if D != w.shape[0]:
            shape = x.shape[1:] if x.ndim == 4 else (D, 1, 1)
            raise self._error(shape, f"this fully-connected layer takes D = {w.shape[0]} "
                              f"inputs but the volume has {D}: an FC layer fixes the input "
                              f"size (use fc_to_conv to slide the network over larger images)")
        return affine_forward(x, w, params[self.key("b")])

    def backward(self, dout, cache, grads):
        dx, grads[self.key("w")], grads[self.key("b")] = affine_backward(dout, cache)
        return dx


FC = Affine  # the notes' name


class Flatten(Layer):
    """``(N, C, H, W) -> (N, C*H*W)``: a reshape, no new volume of activations."""

    base_name = "flatten"
    in_place = True

    def output_shape(self, in_shape):
        return math.prod(in_shape), 1, 1

    def geometry(self, in_shape):
        # The flat vector mixes the whole volume: like a filter covering the input.
        return in_shape[1], in_shape[2], 1, 1

    def forward(self, x, params, buffers, train):
        return x.reshape(x.shape[0], -1), x.shape

    def backward(self, dout, cache, grads):
        return dout.reshape(cache)


class LRN(Layer):
    """Local response normalization across ``size`` channels (AlexNet's constants)."""

    base_name = "lrn"

    def __init__(self, size: int = 5, alpha: float = 1e-4, beta: float = 0.75, k: float = 2.0,
                 name: str | None = None):
        super().__init__(name)
        self.lrn_param = {"size": check_int(size, "size", minimum=1), "alpha": alpha,
                          "beta": beta, "k": k}

    def forward(self, x, params, buffers, train):
        return lrn_forward(x, self.lrn_param)

    def backward(self, dout, cache, grads):
        return lrn_backward(dout, cache)


class SpatialBatchNorm(Layer):
    """Batch normalization with one mean and variance per channel (ResNet).

    Parameters ``gamma`` (C,) (counted as weights) and ``beta`` (C,) (counted as
    biases, it plays their role); buffers ``running_mean`` and ``running_var`` (C,),
    updated in train mode with ``momentum``. On ``(N, D)`` input (after an FC
    layer) it normalizes each of the D features. Kind ``BN``.
    """

    base_name = "bn"
    weight_names = ("gamma",)
    bias_names = ("beta",)

    def __init__(self, momentum: float = 0.9, eps: float = 1e-5, name: str | None = None):
        super().__init__(name)
        self.momentum = momentum
        self.eps = eps

    def local_param_shapes(self, in_shape):
        return {"gamma": (in_shape[0],), "beta": (in_shape[0],)}

    def buffer_shapes(self, in_shape):
        return {self.key("running_mean"): (in_shape[0],), self.key("running_var"): (in_shape[0],)}

    def init_params(self, in_shape, rng, dtype):
        C = in_shape[0]
        return {self.key("gamma"): np.ones(C, dtype=dtype),
                self.key("beta"): np.zeros(C, dtype=dtype)}

    def init_buffers(self, in_shape, dtype):
        C = in_shape[0]
        return {self.key("running_mean"): np.zeros(C, dtype=dtype),
                self.key("running_var"): np.ones(C, dtype=dtype)}

    def forward(self, x, params, buffers, train):
        mean_key, var_key = self.key("running_mean"), self.key("running_var")
        bn_param = {"mode": "train" if train else "test", "eps": self.eps,
                    "momentum": self.momentum, "running_mean": buffers[mean_key],
                    "running_var": buffers[var_key]}
        gamma, beta = params[self.key("gamma")], params[self.key("beta")]
        if x.ndim == 2:
            out, cache = batchnorm_forward(x, gamma, beta, bn_param)
        else:
            out, cache = spatial_batchnorm_forward(x, gamma, beta, bn_param)
        if train:  # the core returns the updated running statistics in bn_param
            buffers[mean_key], buffers[var_key] = bn_param["running_mean"], bn_param["running_var"]
        return out, (cache, x.ndim)

    def backward(self, dout, cache, grads):
        core_cache, ndim = cache
        backward = batchnorm_backward if ndim == 2 else spatial_batchnorm_backward
        dx, grads[self.key("gamma")], grads[self.key("beta")] = backward(dout, core_cache)
        return dx


# --------------------------------------------------------------------------------------
# Chains of layers, and blocks of parallel chains
# --------------------------------------------------------------------------------------

def _bind_chain(layers: Sequence[Layer], prefix: str, seen: set[int]) -> None:
    """Name every layer of a chain (``conv1``, ``relu1``, ``conv2``... unless named)."""
    for layer in layers:
        if not isinstance(layer, Layer):
            raise TypeError(f"a network is made of Layer objects, got {type(layer).__name__}")
    used = {layer.name for layer in layers if layer.name is not None}
    counters: dict[str, int] = {}
    for layer in layers:
        if id(layer) in seen:  # blocks check their own layers when they are bound
            raise ValueError(f"the same layer object {layer!r} appears twice in the network; "
                             f"create a new layer for each position")
        seen.add(id(layer))
        if layer.name is None:
            while True:
                counters[layer.base_name] = counters.get(layer.base_name, 0) + 1
                candidate = f"{layer.base_name}{counters[layer.base_name]}"
                if candidate not in used:
                    break
            layer.name = candidate
            used.add(candidate)
        if isinstance(layer, Block):
            layer.bind(prefix + layer.name, seen)
        else:
            layer.bind(prefix + layer.name)
    names = [layer.name for layer in layers]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"layer names must be unique, got {duplicates} more than once")


def chain_output_shape(layers: Sequence[Layer], in_shape) -> tuple[int, int, int]:
    """Shape after a chain of layers (an empty chain is the identity)."""
    shape = tuple(in_shape)
    for layer in layers:
        shape = layer.output_shape(shape)
    return shape


def _chain_forward(layers, x, params, buffers, train):
    caches = []
    for layer in layers:
        x, cache = layer.forward(x, params, buffers, train)
        caches.append(cache)
    return x, caches


def _chain_backward(layers, dout, caches, grads, input_grad: bool = True):
    """Backward through a chain of layers, filling ``grads``; returns the gradient of the
    chain's input. With ``input_grad=False`` (a whole network: its input is the data) a
    first Conv layer skips that gradient, about half of its backward work, and None is
    returned."""
    for index, (layer, cache) in reversed(list(enumerate(zip(layers, caches, strict=True)))):
        if index == 0 and not input_grad and isinstance(layer, Conv):
            return layer.backward(dout, cache, grads, compute_dx=False)
        dout = layer.backward(dout, cache, grads)
    return dout


def _chain_collect(layers, in_shape, method: str) -> dict:
    """Union of ``param_shapes``/``buffer_shapes`` over a chain, tracing the shapes."""
    found: dict = {}
    shape = tuple(in_shape)
    for layer in layers:
        found.update(getattr(layer, method)(shape))
        shape = layer.output_shape(shape)
    return found


def _chain_init(layers, in_shape, method: str, rng, dtype) -> dict:
    """New parameters (``method='init_params'``) or buffers of a chain, in layer order."""
    found: dict = {}
    shape = tuple(in_shape)
    for layer in layers:
        args = (shape, rng, dtype) if method == "init_params" else (shape, dtype)
        found.update(getattr(layer, method)(*args))
        shape = layer.output_shape(shape)
    return found


class Block(Layer):
    """Parallel branches (chains of layers) from one input, joined into one output.

    ``branches`` maps a branch name to its list of layers; an empty list is the
    identity (a skip connection). Subclasses define the join.
    """

    base_name = "block"

    def __init__(self, branches: dict[str, list[Layer]], name: str | None = None):
        super().__init__(name)
        self.branches = {b: list(layers) for b, layers in branches.items()}

    def bind(self, path: str, seen: set[int] | None = None) -> None:
        self.path = path
        seen = set() if seen is None else seen
        for branch, layers in self.branches.items():
            _bind_chain(layers, f"{path}.{branch}.", seen)

    def sublayers(self):
        yield self
        for layers in self.branches.values():
            for layer in layers:
                yield from layer.sublayers()

    def branch_shapes(self, in_shape) -> list[tuple[int, int, int]]:
        return [chain_output_shape(layers, in_shape) for layers in self.branches.values()]

    def param_shapes(self, in_shape):
        found = {}
        for layers in self.branches.values():
            found.update(_chain_collect(layers, in_shape, "param_shapes"))
        return found

    def buffer_shapes(self, in_shape):
        found = {}
        for layers in self.branches.values():
            found.update(_chain_collect(layers, in_shape, "buffer_shapes"))
        return found

    def counts(self, in_shape):
        weights = biases = 0
        for layers in self.branches.values():
            shape = in_shape
            for layer in layers:
                w, b = layer.counts(shape)
                weights, biases = weights + w, biases + b
                shape = layer.output_shape(shape)
        return weights, biases

    def init_params(self, in_shape, rng, dtype):
        return {k: v for layers in self.branches.values()
                for k, v in _chain_init(layers, in_shape, "init_params", rng, dtype).items()}

    def init_buffers(self, in_shape, dtype):
        return {k: v for layers in self.branches.values()
                for k, v in _chain_init(layers, in_shape, "init_buffers", None, dtype).items()}

    def regularized_keys(self):
        return [k for layers in self.branches.values() for layer in layers
                for k in layer.regularized_keys()]

    def forward(self, x, params, buffers, train):
        outs, caches = [], []
        for layers in self.branches.values():
            out, cache = _chain_forward(layers, x, params, buffers, train)
            outs.append(out)
            caches.append(cache)
        out, join_cache = self._join_forward(outs, x.shape[1:])
        return out, (caches, join_cache)

    def backward(self, dout, cache, grads):
        caches, join_cache = cache
        douts = self._join_backward(dout, join_cache)
        dx = None
        for layers, branch_cache, d in zip(self.branches.values(), caches, douts, strict=True):
            d = _chain_backward(layers, d, branch_cache, grads)
            dx = d if dx is None else dx + d
        return dx

    def _join_forward(self, outs, in_shape):
        raise NotImplementedError

    def _join_backward(self, dout, cache):
        raise NotImplementedError


class Inception(Block):
    """GoogLeNet's Inception module: branches concatenated along the channels.

    Every branch must keep the same spatial size; the output has the sum of the
    branches' channels. Kind ``INCEPTION``.
    """

    base_name = "inception"

    def __init__(self, branches: Sequence[list[Layer]], name: str | None = None):
        super().__init__({f"b{i + 1}": list(b) for i, b in enumerate(branches)}, name)

    def output_shape(self, in_shape):
        shapes = self.branch_shapes(in_shape)
        if len({s[1:] for s in shapes}) != 1:
            raise self._error(in_shape, "the branches give different spatial sizes "
                              f"{[_fmt_shape(s) for s in shapes]}; they must agree to be "
                              "concatenated along the channels")
        return sum(s[0] for s in shapes), shapes[0][1], shapes[0][2]

    def _join_forward(self, outs, in_shape):
        self.output_shape(in_shape)
        return np.concatenate(outs, axis=1), [o.shape[1] for o in outs]

    def _join_backward(self, dout, channels):
        return np.split(dout, np.cumsum(channels)[:-1], axis=1)


class Residual(Block):
    """ResNet's residual block: ``relu(main(x) + shortcut(x))``.

    ``shortcut=None`` is the identity skip connection (the shapes must then agree);
    a projection shortcut (a strided 1x1 conv and batch norm) changes the channels
    and the spatial size. Kind ``RESIDUAL``.
    """

    base_name = "res"

    @property
    def kind(self) -> str:
        return "RESIDUAL"

    def __init__(self, main: list[Layer], shortcut: list[Layer] | None = None,
                 name: str | None = None):
        super().__init__({"main": list(main), "shortcut": list(shortcut or [])}, name)

    def output_shape(self, in_shape):
        main, skip = self.branch_shapes(in_shape)
        if main != skip:
            what = ("the identity shortcut keeps the input" if not self.branches["shortcut"]
                    else "the shortcut gives")
            raise self._error(in_shape, f"the main path gives {_fmt_shape(main)} but {what} "
                              f"{_fmt_shape(skip)}; they must agree to be added (use a "
                              f"projection shortcut when the block changes the size)")
        return main

    def _join_forward(self, outs, in_shape):
        self.output_shape(in_shape)
        main, skip = outs
        return relu_forward(main + skip)

    def _join_backward(self, dout, cache):
        d = relu_backward(dout, cache)
        return [d, d]


def _conv_unit(filters, size, stride=1, pad=0, batch_norm=False, bias=True, fit="strict",
               relu=True, name=None):
    """CONV (-> BN) (-> RELU): the usual unit of GoogLeNet and ResNet."""
    layers = [Conv(filters, size, stride=stride, pad=pad, bias=bias, fit=fit, name=name)]
    if batch_norm:
        layers.append(SpatialBatchNorm())
    if relu:
        layers.append(ReLU())
    return layers


def basic_block(in_channels: int, channels: int, stride: int = 1,
                name: str | None = None) -> Residual:
    """ResNet-18/34 block: two 3x3 convs with batch norm, plus the skip connection.

    ``CONV3 (stride) -> BN -> RELU -> CONV3 -> BN``, added to the input; when the
    stride is not 1 or the channels change, the shortcut is a projection
    ``CONV1 (stride) -> BN``. Strided convs round down (``fit='floor'``), as ResNet does.
    """
    fit = "floor" if stride > 1 else "strict"
    main = (_conv_unit(channels, 3, stride, 1, batch_norm=True, bias=False, fit=fit)
            + _conv_unit(channels, 3, 1, 1, batch_norm=True, bias=False, relu=False))
    shortcut = None
    if stride != 1 or in_channels != channels:
        shortcut = _conv_unit(channels, 1, stride, 0, batch_norm=True, bias=False, fit=fit,
                              relu=False)
    return Residual(main, shortcut, name=name)


def bottleneck_block(in_channels: int, channels: int, stride: int = 1, expansion: int = 4,
                     name: str | None = None) -> Residual:
    """ResNet-50 block: 1x1 reduce, 3x3, 1x1 expand (to ``expansion * channels``).

    ``CONV1 -> BN -> RELU -> CONV3 (stride) -> BN -> RELU -> CONV1 -> BN``, plus a
    projection shortcut when the size changes. The stride sits on the 3x3 conv (as
    in torchvision; the original paper put it on the first 1x1: same parameters).
    """
    out_channels = expansion * channels
    fit = "floor" if stride > 1 else "strict"
    main = (_conv_unit(channels, 1, batch_norm=True, bias=False)
            + _conv_unit(channels, 3, stride, 1, batch_norm=True, bias=False, fit=fit)
            + _conv_unit(out_channels, 1, batch_norm=True, bias=False, relu=False))
    shortcut = None
    if stride != 1 or in_channels != out_channels:
        shortcut = _conv_unit(out_channels, 1, stride, 0, batch_norm=True, bias=False, fit=fit,
                              relu=False)
    return Residual(main, shortcut, name=name)


def inception_module(c1: int, c3_reduce: int, c3: int, c5_reduce: int, c5: int,
                     pool_proj: int, *, batch_norm: bool = False, bias: bool = True,
                     c5_size: int = 5, name: str | None = None) -> Inception:
    """An Inception module with the four branches of GoogLeNet (Szegedy et al., 2014).

    ``b1``: 1x1 conv (``c1``); ``b2``: 1x1 reduce (``c3_reduce``) then 3x3 (``c3``);
    ``b3``: 1x1 reduce (``c5_reduce``) then ``c5_size`` x ``c5_size`` (``c5``);
    ``b4``: 3x3 max pool (stride 1, pad 1) then 1x1 projection (``pool_proj``).
    Every conv is followed by ReLU (and batch norm first if ``batch_norm``); every
    branch keeps the spatial size. Output channels ``c1 + c3 + c5 + pool_proj``.
    ``c5_size=3`` reproduces torchvision's GoogLeNet, which uses 3x3 there.
    """
    unit = {"batch_norm": batch_norm, "bias": bias}
    return Inception([
        _conv_unit(c1, 1, **unit),
        _conv_unit(c3_reduce, 1, **unit) + _conv_unit(c3, 3, pad=1, **unit),
        _conv_unit(c5_reduce, 1, **unit) + _conv_unit(c5, c5_size, pad=c5_size // 2, **unit),
        [MaxPool(3, stride=1, pad=1)] + _conv_unit(pool_proj, 1, **unit),
    ], name=name)


# --------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------

class Sequential:
    """A network: layers applied in order, with a softmax loss on the final scores.

    Parameters
    ----------
    layers : list of Layer
        Unnamed layers are named ``conv1``, ``relu1``, ``pool1``, ``fc1``... in order.
    input_shape : (C, H, W), optional
        The input volume. If omitted, it is taken from the first batch seen.
    reg : float
        L2 regularization strength on the conv and FC weights (not biases, not BN).
    dtype : numpy dtype
        Parameters and computations (float64 for gradient checks).
    seed : int
        Seed of the random initialization (same seed, same parameters).
    name : str
        Shown in summaries.

    Attributes
    ----------
    params, buffers : dict
        Allocated on first access (He-normal weights, zero biases, BN gamma 1 and beta 0,
        running mean 0 and variance 1). May be assigned a dict of the right names/shapes.
    """

    def __init__(self, layers: Sequence[Layer], input_shape=None, *, reg: float = 0.0,
                 dtype=np.float32, seed: int = 0, name: str = "network"):
        self.layers = list(layers)
        _bind_chain(self.layers, "", set())
        self.input_shape = None if input_shape is None else self._check_shape(input_shape)
        self.reg = float(reg)
        self.dtype = np.dtype(dtype)
        self.seed = seed
        self.name = name
        self._params: dict | None = None
        self._buffers: dict | None = None

    @staticmethod
    def _check_shape(shape) -> tuple[int, int, int]:
        if len(tuple(shape)) != 3:
            raise ValueError(f"input_shape must be (C, H, W), got {shape!r}")
        return tuple(check_int(s, "input_shape entry", minimum=1) for s in shape)

    # shapes, without allocating anything ----------------------------------------
    def _shape_or_default(self, input_shape):
        if input_shape is not None:
            return self._check_shape(input_shape)
        if self.input_shape is None:
            raise ValueError("the network has no input_shape yet: pass input_shape=(C, H, W) "
                             "when building it, or run a batch through it first")
        return self.input_shape

    def output_shape(self, input_shape=None) -> tuple[int, int, int]:
        return chain_output_shape(self.layers, self._shape_or_default(input_shape))

    def trace(self, input_shape=None) -> list[tuple[Layer, tuple, tuple]]:
        """``[(layer, in_shape, out_shape), ...]`` for the top-level layers."""
        shape = self._shape_or_default(input_shape)
        steps = []
        for layer in self.layers:
            out = layer.output_shape(shape)
            steps.append((layer, shape, out))
            shape = out
        return steps

    def param_shapes(self, input_shape=None) -> dict[str, tuple[int, ...]]:
        return _chain_collect(self.layers, self._shape_or_default(input_shape), "param_shapes")

    def buffer_shapes(self, input_shape=None) -> dict[str, tuple[int, ...]]:
        return _chain_collect(self.layers, self._shape_or_default(input_shape), "buffer_shapes")

    def num_params(self, input_shape=None) -> int:
        """Number of trainable parameters, from the shapes (nothing allocated)."""
        return sum(math.prod(s) for s in self.param_shapes(input_shape).values())

    @property
    def num_classes(self) -> int:
        return self.output_shape()[0]

    # parameters -------------------------------------------------------------------
    @property
    def allocated(self) -> bool:
        """Whether the parameters exist yet (they are created on first use)."""
        return self._params is not None

    @property
    def params(self) -> dict[str, np.ndarray]:
        if self._params is None:  # allocated on first use, reproducibly from the seed
            rng = np.random.default_rng(self.seed)
            shape = self._shape_or_default(None)
            self._params = _chain_init(self.layers, shape, "init_params", rng, self.dtype)
        return self._params

    @params.setter
    def params(self, values: dict) -> None:
        self._params = self._checked(values, self.param_shapes(), "params")

    @property
    def buffers(self) -> dict[str, np.ndarray]:
        if self._buffers is None:
            shape = self._shape_or_default(None)
            self._buffers = _chain_init(self.layers, shape, "init_buffers", None, self.dtype)
        return self._buffers

    @buffers.setter
    def buffers(self, values: dict) -> None:
        self._buffers = self._checked(values, self.buffer_shapes(), "buffers")

    def _checked(self, values: dict, shapes: dict, what: str) -> dict:
        if set(values) != set(shapes):
            missing, extra = sorted(set(shapes) - set(values)), sorted(set(values) - set(shapes))
            raise ValueError(f"{what} do not match the network: missing {missing}, "
                             f"unexpected {extra}")
        checked = {}
        for key, shape in shapes.items():
            value = np.asarray(values[key])
            if value.shape != tuple(shape):
                raise ValueError(f"{what}[{key!r}] must have shape {tuple(shape)}, got "
                                 f"{value.shape}")
            checked[key] = value.astype(self.dtype, copy=False)
        return checked

    def regularized_keys(self) -> list[str]:
        return [k for layer in self.layers for k in layer.regularized_keys()]

    # computation ------------------------------------------------------------------
    def _prepare(self, x) -> np.ndarray:
        x = check_array(x, "x", 4, "(N, C, H, W)")
        if self.input_shape is None:
            self.input_shape = tuple(int(s) for s in x.shape[1:])
        elif x.shape[1] != self.input_shape[0]:
            raise ValueError(f"x has {x.shape[1]} channels (shape {x.shape}) but the network "
                             f"takes {self.input_shape[0]} (input_shape {self.input_shape})")
        return x.astype(self.dtype, copy=False)

    @staticmethod
    def _scores(out: np.ndarray) -> np.ndarray:
        """(N, K, 1, 1) -> (N, K); a larger map (N, K, H, W) is returned as it is."""
        if out.ndim == 4 and out.shape[2:] == (1, 1):
            return out.reshape(out.shape[0], out.shape[1])
        return out

    def forward(self, x) -> np.ndarray:
        """Class scores in test mode: ``(N, num_classes)``.

        A fully convolutional network (see :func:`~convnets.fc_to_conv`) given a
        larger image returns its map of scores, ``(N, num_classes, H', W')``.
        """
        x = self._prepare(x)
        out, _ = _chain_forward(self.layers, x, self.params, self.buffers, train=False)
        return self._scores(out)

    def loss(self, X, y=None):
        """Scores (``y is None``, test mode) or ``(loss, grads)`` (train mode).

        The loss is the softmax loss of the scores plus ``0.5 * reg * sum(w**2)`` over
        the conv and FC weights; ``grads`` has the same keys as ``params``.
        """
        if y is None:
            return self.forward(X)
        x = self._prepare(X)
        out, caches = _chain_forward(self.layers, x, self.params, self.buffers, train=True)
        scores = self._scores(out)
        if scores.ndim != 2:
            raise ValueError(f"the network outputs a map of scores of shape {out.shape}, not "
                             f"(N, num_classes): train it at its input size {self.input_shape}")
        loss, dscores = softmax_loss(scores, y)
        grads: dict[str, np.ndarray] = {}
        _chain_backward(self.layers, dscores.reshape(out.shape).astype(out.dtype), caches, grads,
                        input_grad=False)
        if self.reg > 0:
            for key in self.regularized_keys():
                w = self.params[key]
                loss += 0.5 * self.reg * float(np.sum(w * w))
                grads[key] = grads[key] + self.reg * w
        return loss, grads

    def activations(self, x) -> list[tuple[str, np.ndarray]]:
        """``[(layer name, output), ...]`` for every top-level layer, in test mode."""
        x = self._prepare(x)
        params, buffers = self.params, self.buffers
        found = []
        for layer in self.layers:
            x, _ = layer.forward(x, params, buffers, False)
            found.append((layer.path, x))
        return found

    def summary(self, input_shape=None, **options):
        """Shortcut for :func:`convnets.summarize` ``(self, input_shape)``."""
        from .summary import summarize
        return summarize(self, input_shape, **options)

    def __iter__(self):
        return iter(self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    def __repr__(self) -> str:
        lines = [f"Sequential '{self.name}' (input {self.input_shape}, dtype {self.dtype}):"]
        lines += [f"  {layer.path:<14} {layer.kind}" for layer in self.layers]
        return "\n".join(lines)
