"""The layer classes of a network: each wraps one pair of functions of :mod:`convnets.layers`.

A layer object holds its hyperparameters, knows the shape of its output and of its
parameters (:class:`~convnets.nn.layer.Layer`), and calls the functional layer in
``forward`` and ``backward``. Sizing follows the notes (strict by default) or a
framework's rounding per layer (``fit='floor'`` or ``'ceil'``, see
:func:`convnets.shapes.fit_window`).
"""

from __future__ import annotations

import math

import numpy as np

from ..checks import check_int
from ..layers.affine import affine_backward, affine_forward
from ..layers.conv_fast import conv_backward_fast, conv_forward_fast
from ..layers.normalization import (
    batchnorm_backward,
    batchnorm_forward,
    lrn_backward,
    lrn_forward,
    spatial_batchnorm_backward,
    spatial_batchnorm_forward,
)
from ..layers.pooling import (
    avg_pool_backward,
    avg_pool_forward,
    l2_pool_backward,
    l2_pool_forward,
    max_pool_backward_fast,
    max_pool_forward_fast,
)
from ..layers.relu import relu_backward, relu_forward
from ..shapes import check_fit, effective_filter_size, fit_window, pool_output_shape
from .layer import Layer, he_normal, pad_or_crop, undo_pad_or_crop, window_size

__all__ = [
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
]


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
    skips_input_grad = True
    regularized = ("w",)
    weight_names = ("w",)
    bias_names = ("b",)

    def __init__(self, filters: int, size, stride: int = 1, pad: int = 0, dilation: int = 1,
                 bias: bool = True, fit: str = "strict", hint: str | None = None,
                 warn_padding: bool = True, name: str | None = None):
        super().__init__(name)
        self.filters = check_int(filters, "filters", minimum=1)
        self.size = window_size(size, "size")
        self.stride = check_int(stride, "stride", minimum=1)
        self.pad = check_int(pad, "pad", minimum=0)
        self.dilation = check_int(dilation, "dilation", minimum=1)
        self.bias = bool(bias)
        self.fit = check_fit(fit)
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
            rows = fit_window(H, self.size[0], self.stride, self.pad, self.dilation, self.fit,
                             "height")
            cols = fit_window(W, self.size[1], self.stride, self.pad, self.dilation, self.fit,
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
        params = {self.key("w"): he_normal(shape, math.prod(shape[1:]), rng, dtype)}
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
        out, cache = conv_forward_fast(pad_or_crop(x, *plan), w, b, conv_param)
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
        return undo_pad_or_crop(dx, plan)


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
        self.fit = check_fit(fit)

    @property
    def kind(self) -> str:
        return f"POOL{self.size}"

    def _plans(self, in_shape):
        _, H, W = in_shape
        try:
            rows = fit_window(H, self.size, self.stride, self.pad, 1, self.fit, "height", True)
            cols = fit_window(W, self.size, self.stride, self.pad, 1, self.fit, "width", True)
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
        out, cache = max_pool_forward_fast(pad_or_crop(x, *plan, value=-np.inf), pool_param)
        return out, (cache, plan)

    def backward(self, dout, cache, grads):
        core_cache, plan = cache
        dx = max_pool_backward_fast(dout, core_cache)
        return dx if plan is None else undo_pad_or_crop(dx, plan)


class _PlainPool(Layer):
    """Average or L2-norm pooling, strict sizing (no padding)."""

    _forward = _backward = None

    def __init__(self, size: int = 2, stride: int | None = None, name: str | None = None):
        super().__init__(name)
        self.size = check_int(size, "size", minimum=1)
        self.stride = self.size if stride is None else check_int(stride, "stride", minimum=1)

    @property
    def kind(self) -> str:
        return f"{self.base_name.upper()}{self.size}"

    def output_shape(self, in_shape):
        C, H, W = in_shape
        try:
            return (C, *pool_output_shape(H, W, self.size, self.size, self.stride))
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


class L2Pool(_PlainPool):
    """L2-norm pooling, ``size x size`` windows at ``stride``. Kind ``L2POOL<size>``."""

    base_name = "l2pool"
    _forward = staticmethod(l2_pool_forward)
    _backward = staticmethod(l2_pool_backward)


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
        return {self.key("w"): he_normal((D, self.units), D, rng, dtype),
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
