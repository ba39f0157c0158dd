"""The same network in PyTorch: a :class:`~convnets.Sequential` of the zoo translated
layer by layer into ``torch.nn`` modules, with its weights copied, so that the
benchmarks time the very same network in both (PyTorch is never a dependency: it is
imported only here, and only when called).

Translated: ``Conv`` (``nn.Conv2d``; its ``fit`` of the input as ``pad_or_crop``
does, by explicit zero-padding or cropping), ``ReLU``, ``MaxPool`` (``fit='ceil'`` as
``ceil_mode``), ``AvgPool``, ``LRN`` (``nn.LocalResponseNorm`` with ``alpha * size``:
ours does not divide alpha by the window, PyTorch does), ``Affine`` (flatten then
``nn.Linear`` with the transposed weights), ``Flatten``, ``GlobalAvgPool`` and
``Inception`` (branches concatenated along the channels). Anything else raises
ValueError naming the layer.
"""

from __future__ import annotations

__all__ = ["torch_mirror", "verify_mirror"]


def torch_mirror(model, dtype=None):
    """A ``torch.nn.Module`` computing ``model``'s scores, with ``model``'s parameters
    (copied); its attribute ``mirrored`` maps each of our parameter keys to the torch
    Parameter that holds it (an FC weight transposed).

    Parameters
    ----------
    model : convnets.Sequential
        A network built of the layers listed in the module docstring.
    dtype : torch dtype, optional
        Default: torch's dtype of ``model.dtype`` (float32 -> torch.float32).

    Raises
    ------
    ImportError
        When PyTorch is not installed.
    ValueError
        For a layer type that has no translation.
    """
    import numpy as np
    import torch
    from torch import nn

    from ..nn.blocks import Inception
    from ..nn.layers import LRN, Affine, AvgPool, Conv, Flatten, GlobalAvgPool, MaxPool, ReLU

    params = model.params
    if dtype is None:
        dtype = {np.dtype(np.float32): torch.float32,
                 np.dtype(np.float64): torch.float64}[np.dtype(model.dtype)]

    mirrored = {}     # our parameter key -> the torch Parameter holding it

    def tensor(key, transpose=False):
        a = params[key].T if transpose else params[key]
        mirrored[key] = nn.Parameter(torch.from_numpy(np.ascontiguousarray(a)).to(dtype))
        return mirrored[key]

    class Concat(nn.Module):
        def __init__(self, branches):
            super().__init__()
            self.branches = nn.ModuleList(branches)

        def forward(self, x):
            return torch.cat([b(x) for b in self.branches], dim=1)

    class PadOrCrop(nn.Module):
        """Zero-pad (positive) or crop (negative) (top, bottom, left, right)."""

        def __init__(self, plan):
            super().__init__()
            top, bottom, left, right = plan
            self.pad = (left, right, top, bottom)

        def forward(self, x):
            return nn.functional.pad(x, self.pad)

    def chain(layers, in_shape):
        modules = []
        shape = in_shape
        for layer in layers:
            modules.append(translate(layer, shape))
            shape = layer.output_shape(shape)
        return nn.Sequential(*modules)

    def translate(layer, in_shape):
        if isinstance(layer, Conv):
            (_, top, bottom), (_, left, right) = layer._plans(in_shape)
            HH, WW = layer.size
            strict = layer.fit == "strict"
            conv = nn.Conv2d(in_shape[0], layer.filters, (HH, WW), stride=layer.stride,
                             padding=layer.pad if strict else 0, dilation=layer.dilation,
                             bias=layer.bias)
            conv.weight = tensor(layer.key("w"))
            if layer.bias:
                conv.bias = tensor(layer.key("b"))
            if strict:
                return conv
            return nn.Sequential(PadOrCrop((top, bottom, left, right)), conv)
        if isinstance(layer, ReLU):
            return nn.ReLU()
        if isinstance(layer, MaxPool):
            return nn.MaxPool2d(layer.size, layer.stride, padding=layer.pad,
                                ceil_mode=layer.fit == "ceil")
        if isinstance(layer, AvgPool) and not isinstance(layer, GlobalAvgPool):
            return nn.AvgPool2d(layer.size, layer.stride)
        if isinstance(layer, GlobalAvgPool):
            return nn.AdaptiveAvgPool2d(1)
        if isinstance(layer, LRN):
            p = layer.lrn_param
            return nn.LocalResponseNorm(p["size"], alpha=p["alpha"] * p["size"],
                                        beta=p["beta"], k=p["k"])
        if isinstance(layer, Affine):
            w = params[layer.key("w")]
            linear = nn.Linear(w.shape[0], w.shape[1])
            linear.weight = tensor(layer.key("w"), transpose=True)
            linear.bias = tensor(layer.key("b"))
            return nn.Sequential(nn.Flatten(), linear)
        if isinstance(layer, Flatten):
            return nn.Flatten()
        if isinstance(layer, Inception):
            return Concat([chain(branch, in_shape) for branch in layer.branches.values()])
        raise ValueError(f"torch_mirror has no translation for layer {layer!r}")

    net = nn.Sequential(chain(model.layers, model.input_shape), nn.Flatten())
    net.mirrored = mirrored
    return net


def verify_mirror(name: str, width: float = 1 / 16, seed: int = 3) -> None:
    """Check that :func:`torch_mirror` is the same network as the zoo's ``name``: on a
    narrow float64 copy, equal scores, equal loss and equal gradients of every
    parameter (AssertionError naming the network and parameter otherwise). The
    benchmark runs it before timing torch (PyTorch is not installed for the tests)."""
    import numpy as np
    import torch
    import torch.nn.functional as tf

    from ..gradcheck import assert_close
    from ..nn import zoo

    model = zoo.get(name, width=width, num_classes=7, dtype=np.float64, seed=seed)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, *model.input_shape))
    y = rng.integers(0, 7, size=2)
    net = torch_mirror(model)
    assert_close(net(torch.from_numpy(x)).detach().numpy(), model.forward(x), rtol=1e-9,
                 atol=1e-10, network=name)
    loss, grads = model.loss(x, y)
    torch_loss = tf.cross_entropy(net(torch.from_numpy(x)), torch.from_numpy(y))
    torch_loss.backward()
    assert abs(torch_loss.item() - loss) <= 1e-10 * abs(loss), (name, torch_loss.item(), loss)
    assert set(net.mirrored) == set(grads) == set(model.params), name
    fc_weights = {layer.key("w") for layer in model.layers if layer.kind == "FC"}
    for key, grad in grads.items():
        theirs = net.mirrored[key].grad.numpy()
        theirs = theirs.T if key in fc_weights else theirs     # nn.Linear holds w.T
        assert_close(theirs, grad, rtol=1e-7, atol=1e-9 * float(np.abs(grad).max()),
                     network=name, key=key)
