"""Chains of layers: naming, shapes, forward and backward through a list of layers.

A :class:`~convnets.nn.sequential.Sequential` network is one chain; a
:class:`~convnets.nn.blocks.Block` holds one chain per branch.
"""

from __future__ import annotations

from collections.abc import Sequence

from .layer import Layer

# Used by sequential.py and blocks.py; the old path convnets.network re-exports
# chain_output_shape.
__all__: list[str] = []


def bind_chain(layers: Sequence[Layer], prefix: str, seen: set[int]) -> None:
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
        layer.bind(prefix + layer.name, seen)
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


def chain_forward(layers, x, params, buffers, train):
    """Forward through a chain of layers: ``(output, [cache of each layer])``."""
    caches = []
    for layer in layers:
        x, cache = layer.forward(x, params, buffers, train)
        caches.append(cache)
    return x, caches


def chain_backward(layers, dout, caches, grads, input_grad: bool = True):
    """Backward through a chain of layers, filling ``grads``; returns the gradient of the
    chain's input. With ``input_grad=False`` (a whole network: its input is the data) a
    first layer that can (Conv) skips that gradient, about half of its backward work, and None is
    returned."""
    for index, (layer, cache) in reversed(list(enumerate(zip(layers, caches, strict=True)))):
        if index == 0 and not input_grad and layer.skips_input_grad:
            return layer.backward(dout, cache, grads, compute_dx=False)
        dout = layer.backward(dout, cache, grads)
    return dout


def chain_collect(layers, in_shape, method: str) -> dict:
    """Union of ``param_shapes``/``buffer_shapes`` over a chain, tracing the shapes."""
    found: dict = {}
    shape = tuple(in_shape)
    for layer in layers:
        found.update(getattr(layer, method)(shape))
        shape = layer.output_shape(shape)
    return found


def chain_init(layers, in_shape, method: str, rng, dtype) -> dict:
    """New parameters (``method='init_params'``) or buffers of a chain, in layer order."""
    found: dict = {}
    shape = tuple(in_shape)
    for layer in layers:
        args = (shape, rng, dtype) if method == "init_params" else (shape, dtype)
        found.update(getattr(layer, method)(*args))
        shape = layer.output_shape(shape)
    return found
