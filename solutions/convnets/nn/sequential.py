"""The model: :class:`Sequential`, a chain of layers with a softmax loss on the scores.

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
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..checks import check_array, check_input_shape
from ..layers.losses import softmax_loss
from .chain import (
    bind_chain,
    chain_backward,
    chain_collect,
    chain_forward,
    chain_init,
    chain_output_shape,
)
from .layer import Layer
from .summary import summarize

__all__ = ["Sequential"]


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
        bind_chain(self.layers, "", set())
        self.input_shape = None if input_shape is None else check_input_shape(input_shape)
        self.reg = float(reg)
        self.dtype = np.dtype(dtype)
        self.seed = seed
        self.name = name
        self._params: dict | None = None
        self._buffers: dict | None = None

    # shapes, without allocating anything ----------------------------------------
    def resolve_input_shape(self, input_shape=None) -> tuple[int, int, int]:
        """``input_shape`` checked, or the network's own when it is None."""
        return check_input_shape(input_shape, self.input_shape)

    def output_shape(self, input_shape=None) -> tuple[int, int, int]:
        return chain_output_shape(self.layers, self.resolve_input_shape(input_shape))

    def trace(self, input_shape=None) -> list[tuple[Layer, tuple, tuple]]:
        """``[(layer, in_shape, out_shape), ...]`` for the top-level layers."""
        shape = self.resolve_input_shape(input_shape)
        steps = []
        for layer in self.layers:
            out = layer.output_shape(shape)
            steps.append((layer, shape, out))
            shape = out
        return steps

    def param_shapes(self, input_shape=None) -> dict[str, tuple[int, ...]]:
        return chain_collect(self.layers, self.resolve_input_shape(input_shape), "param_shapes")

    def buffer_shapes(self, input_shape=None) -> dict[str, tuple[int, ...]]:
        return chain_collect(self.layers, self.resolve_input_shape(input_shape), "buffer_shapes")

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
            shape = self.resolve_input_shape(None)
            self._params = chain_init(self.layers, shape, "init_params", rng, self.dtype)
        return self._params

    @params.setter
    def params(self, values: dict) -> None:
        self._params = self._checked(values, self.param_shapes(), "params")

    @property
    def buffers(self) -> dict[str, np.ndarray]:
        if self._buffers is None:
            shape = self.resolve_input_shape(None)
            self._buffers = chain_init(self.layers, shape, "init_buffers", None, self.dtype)
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
        out, _ = chain_forward(self.layers, x, self.params, self.buffers, train=False)
        return self._scores(out)

    def loss(self, X, y=None):
        """Scores (``y is None``, test mode) or ``(loss, grads)`` (train mode).

        The loss is the softmax loss of the scores plus ``0.5 * reg * sum(w**2)`` over
        the conv and FC weights; ``grads`` has the same keys as ``params``.
        """
        if y is None:
            return self.forward(X)
        x = self._prepare(X)
        out, caches = chain_forward(self.layers, x, self.params, self.buffers, train=True)
        scores = self._scores(out)
        if scores.ndim != 2:
            raise ValueError(f"the network outputs a map of scores of shape {out.shape}, not "
                             f"(N, num_classes): train it at its input size {self.input_shape}")
        loss, dscores = softmax_loss(scores, y)
        grads: dict[str, np.ndarray] = {}
        chain_backward(self.layers, dscores.reshape(out.shape).astype(out.dtype), caches, grads,
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
        return summarize(self, input_shape, **options)

    def __iter__(self):
        return iter(self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    def __repr__(self) -> str:
        lines = [f"Sequential '{self.name}' (input {self.input_shape}, dtype {self.dtype}):"]
        lines += [f"  {layer.path:<14} {layer.kind}" for layer in self.layers]
        return "\n".join(lines)
