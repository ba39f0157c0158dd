"""Blocks: parallel branches of layers from one input, joined into one output.

:class:`Inception` concatenates its branches along the channels (GoogLeNet);
:class:`Residual` adds a main path to a skip connection (ResNet). The factories
build the blocks of the named architectures.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..layers.relu import relu_backward, relu_forward
from .chain import (
    bind_chain,
    chain_backward,
    chain_collect,
    chain_forward,
    chain_init,
    chain_output_shape,
)
from .layer import Layer, format_volume
from .layers import Conv, MaxPool, ReLU, SpatialBatchNorm

__all__ = [
    "Block",
    "Inception",
    "Residual",
    "basic_block",
    "bottleneck_block",
    "inception_module",
]


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
            bind_chain(layers, f"{path}.{branch}.", seen)

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
            found.update(chain_collect(layers, in_shape, "param_shapes"))
        return found

    def buffer_shapes(self, in_shape):
        found = {}
        for layers in self.branches.values():
            found.update(chain_collect(layers, in_shape, "buffer_shapes"))
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
                for k, v in chain_init(layers, in_shape, "init_params", rng, dtype).items()}

    def init_buffers(self, in_shape, dtype):
        return {k: v for layers in self.branches.values()
                for k, v in chain_init(layers, in_shape, "init_buffers", None, dtype).items()}

    def regularized_keys(self):
        return [k for layers in self.branches.values() for layer in layers
                for k in layer.regularized_keys()]

    def forward(self, x, params, buffers, train):
        outs, caches = [], []
        for layers in self.branches.values():
            out, cache = chain_forward(layers, x, params, buffers, train)
            outs.append(out)
            caches.append(cache)
        out, join_cache = self._join_forward(outs, x.shape[1:])
        return out, (caches, join_cache)

    def backward(self, dout, cache, grads):
        caches, join_cache = cache
        douts = self._join_backward(dout, join_cache)
        dx = None
        for layers, branch_cache, d in zip(self.branches.values(), caches, douts, strict=True):
            d = chain_backward(layers, d, branch_cache, grads)
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
                              f"{[format_volume(s) for s in shapes]}; they must agree to be "
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
            raise self._error(in_shape, f"the main path gives {format_volume(main)} but {what} "
                              f"{format_volume(skip)}; they must agree to be added (use a "
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
