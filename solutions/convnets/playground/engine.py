"""The playground's training engine: minibatch steps with per-layer timing, no widgets.

:class:`LiveTrainer` trains a :class:`~convnets.Sequential` the way the
:class:`~convnets.Solver` does (random passes over the training set, an update rule of
:mod:`convnets.train.optim` per parameter, the softmax loss plus L2 weight decay), but one
step at a time, so that a person can change the hyperparameters between two steps:

* ``learning_rate``, ``momentum`` (SGD+momentum's, and Adam's ``beta1``), ``batch_size``
  and ``weight_decay`` (the network's L2 strength ``reg``) take effect at the next step
  and keep the update rule's running state; a new ``update_rule`` starts from fresh state.
* Each step times the forward and the backward pass of every layer (exponential moving
  averages in milliseconds), records the loss against the number of examples seen, and,
  when asked, each layer's smallest and largest activation and gradient.
* A step whose loss is not finite, or that raises, changes nothing: the weights are those
  of the last step whose loss was finite (the update that led to a NaN is undone), and
  :class:`StepFailed` says what happened.

The step computes exactly what ``model.loss(X, y)`` computes (a test checks that the
loss and gradients are equal); it runs the layers one by one only to time them.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from ..checks import check_int, check_real
from ..layers.losses import softmax_loss
from ..train import optim
from ..train.solver import load_checkpoint, save_checkpoint

__all__ = ["LiveTrainer", "StepFailed", "LayerStats", "timed_loss", "save_network",
           "read_definition"]

TIME_SMOOTHING = 0.1     # weight of the newest step in the per-layer time averages
MAX_LOSS_POINTS = 20_000  # beyond this, neighbouring loss points are averaged in pairs
EVAL_SHARE = 0.03        # the accuracy measurements take at most this share of the time


def next_due(start: float, took: float, share: float, interval: float = 0.0) -> float:
    """When a recurring piece of work that took ``took`` seconds from ``start`` is due
    again: ``interval`` seconds later, or later still so that it takes at most ``share``
    of the time (the playground's views and accuracy measurements)."""
    return start + max(interval, took / share)


class StepFailed(RuntimeError):
    """A training step failed (a loss that is not finite, or an exception); the weights
    are the last good ones."""


@dataclass
class LayerStats:
    """One layer's figures, as the playground's layer table shows them."""

    name: str
    kind: str
    output_shape: tuple
    params: int
    forward_ms: float = 0.0
    backward_ms: float = 0.0
    act_min: float = math.nan
    act_max: float = math.nan
    grad_min: float = math.nan
    grad_max: float = math.nan


@dataclass
class History:
    """Curves over examples seen: the loss of every step, accuracies when measured."""

    loss: list = field(default_factory=list)   # (examples seen, loss); averaged in pairs
    # when it grows past MAX_LOSS_POINTS, so that drawing it costs the same in a long run
    train_acc: list = field(default_factory=list)      # (examples seen, accuracy)
    val_acc: list = field(default_factory=list)


def _halved(points: list) -> list:
    """Consecutive pairs of ``(x, y)`` points averaged (an odd last point kept)."""
    pairs = zip(points[0:len(points) - 1:2], points[1::2], strict=True)
    halved = [((a[0] + b[0]) / 2, (a[1] + b[1]) / 2) for a, b in pairs]
    if len(points) % 2:
        halved.append(points[-1])
    return halved


def timed_loss(model, X, y, forward_ms=None, backward_ms=None, keep: bool = False):
    """``model.loss(X, y)`` computed layer by layer, timing each layer.

    Parameters
    ----------
    model : Sequential
    X : ndarray, shape (N, C, H, W)
    y : ndarray of int, shape (N,)
    forward_ms, backward_ms : list of float, optional
        Filled with the milliseconds each layer took (one entry per layer).
    keep : bool
        Also return every layer's output and the gradient of the loss with respect to it.

    Returns
    -------
    loss : float
    grads : dict
        Same keys as ``model.params``.
    outputs, output_grads : list of ndarray, or None
        With ``keep=True``: per layer, its output ``(N, C', H', W')`` (``(N, D)`` after FC)
        and the gradient with respect to it (same shape).
    """
    x = np.asarray(X, dtype=model.dtype)
    params, buffers = model.params, model.buffers
    layers = model.layers
    caches, outputs = [], []
    clock = time.perf_counter
    for layer in layers:
        start = clock()
        x, cache = layer.forward(x, params, buffers, True)
        if forward_ms is not None:
            forward_ms.append((clock() - start) * 1e3)
        caches.append(cache)
        if keep:
            outputs.append(x)
    scores = x.reshape(x.shape[0], -1)
    loss, dscores = softmax_loss(scores, y)
    dout = dscores.reshape(x.shape).astype(x.dtype, copy=False)
    grads: dict = {}
    output_grads = [None] * len(layers)
    backward = [0.0] * len(layers)
    for index in range(len(layers) - 1, -1, -1):
        layer, cache = layers[index], caches[index]
        if keep:
            output_grads[index] = dout
        start = clock()
        if index == 0 and layer.skips_input_grad:
            layer.backward(dout, cache, grads, compute_dx=False)
        else:
            dout = layer.backward(dout, cache, grads)
        backward[index] = (clock() - start) * 1e3
    if backward_ms is not None:
        backward_ms.extend(backward)
    loss = float(loss)
    if model.reg > 0:
        for key in model.regularized_keys():
            w = params[key]
            loss += 0.5 * model.reg * float(np.sum(w * w))
            grads[key] = grads[key] + model.reg * w
    return loss, grads, (outputs if keep else None), (output_grads if keep else None)


def save_network(path, model, definition: str, **metadata):
    """Write a network's weights with its definition (``.npz``); see :func:`read_definition`."""
    return save_checkpoint(model, path, definition=definition,
                           input_shape=np.asarray(model.input_shape),
                           num_classes=model.num_classes, **metadata)


def read_definition(path) -> tuple[str, tuple, int, dict]:
    """``(definition text, input_shape, num_classes, other metadata)`` of a saved network.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        A file that is not a saved playground network (no definition in it).
    """
    from pathlib import Path
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no saved network at {path}")
    try:
        with np.load(path, allow_pickle=False) as stored:
            meta = {k[5:]: stored[k] for k in stored.files if k.startswith("meta:")}
    except (OSError, ValueError) as err:
        raise ValueError(f"{path} is not a saved network (.npz): {err}") from None
    if "definition" not in meta:
        raise ValueError(f"{path} holds no network definition: save it from the playground "
                         f"(or with convnets.playground.save_network)")
    rest = {k: v.item() if v.ndim == 0 else v for k, v in meta.items()
            if k not in ("definition", "input_shape", "num_classes")}
    return (str(meta["definition"]), tuple(int(s) for s in meta["input_shape"]),
            int(meta["num_classes"]), rest)


class LiveTrainer:
    """Train a network one minibatch at a time, hyperparameters changeable between steps.

    Parameters
    ----------
    model : Sequential
    data : dict
        ``X_train, y_train, X_val, y_val`` (see :func:`~convnets.playground.resolve_data`).
    update_rule : str
        'sgd', 'sgd_momentum', 'rmsprop' or 'adam'.
    learning_rate, momentum, weight_decay : float
    batch_size : int
    seed : int
        Seed of the minibatch order and the accuracy subsamples.
    eval_every : int
        Measure the training and validation accuracies every this many examples at
        most, and no more often than keeps their cost under ``EVAL_SHARE`` (3%) of the
        training time: a fast network on a small dataset would otherwise spend a fifth
        of its time measuring (the curves are redrawn only a few times a second anyway).
    eval_samples : int
        Examples of each split used for those accuracies (a seeded sample when larger).
    """

    def __init__(self, model, data: dict, *, update_rule: str = "sgd_momentum",
                 learning_rate: float = 1e-2, momentum: float = 0.9, batch_size: int = 32,
                 weight_decay: float = 0.0, seed: int = 0, eval_every: int = 500,
                 eval_samples: int = 300):
        self.data = data
        self.X_train, self.y_train = data["X_train"], data["y_train"]
        self.X_val, self.y_val = data["X_val"], data["y_val"]
        self.eval_every = check_int(eval_every, "eval_every", minimum=1)
        self.eval_samples = check_int(eval_samples, "eval_samples", minimum=1)
        self._update_rule = "sgd_momentum"
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.batch_size = batch_size
        self.update_rule = update_rule
        self.weight_decay = weight_decay
        self.seed = seed
        self.set_model(model)

    # ------------------------------------------------------------ hyperparameters
    @property
    def learning_rate(self) -> float:
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        value = check_real(value, "learning_rate")
        if value <= 0:
            raise ValueError(f"learning_rate must be > 0, got learning_rate = {value}")
        self._learning_rate = value
        self._configure()

    @property
    def momentum(self) -> float:
        return self._momentum

    @momentum.setter
    def momentum(self, value) -> None:
        value = check_real(value, "momentum")
        if not 0 <= value < 1:
            raise ValueError(f"momentum must be in [0, 1), got momentum = {value}")
        self._momentum = value
        self._configure()

    @property
    def batch_size(self) -> int:
        return self._batch_size

    @batch_size.setter
    def batch_size(self, value) -> None:
        self._batch_size = check_int(value, "batch_size", minimum=1)

    @property
    def weight_decay(self) -> float:
        return self._weight_decay

    @weight_decay.setter
    def weight_decay(self, value) -> None:
        value = check_real(value, "weight_decay")
        if value < 0:
            raise ValueError(f"weight_decay must be >= 0, got weight_decay = {value}")
        self._weight_decay = value
        if getattr(self, "model", None) is not None:
            self.model.reg = value

    @property
    def update_rule(self) -> str:
        return self._update_rule

    @update_rule.setter
    def update_rule(self, value) -> None:
        if value not in optim.UPDATE_RULES:
            raise ValueError(f"update_rule must be one of {sorted(optim.UPDATE_RULES)}, got "
                             f"{value!r}")
        changed = value != self._update_rule
        self._update_rule = value
        if changed and getattr(self, "model", None) is not None:
            self.configs = {name: {} for name in self.model.params}
        self._configure()

    def _configure(self) -> None:
        """Write the live hyperparameters into every parameter's config (state kept)."""
        for config in getattr(self, "configs", {}).values():
            config["learning_rate"] = self._learning_rate
            if self._update_rule == "sgd_momentum":
                config["momentum"] = getattr(self, "_momentum", 0.9)
            elif self._update_rule == "adam":
                config["beta1"] = getattr(self, "_momentum", 0.9)

    # ------------------------------------------------------------ model and state
    def set_model(self, model) -> None:
        """Train ``model`` from now on: histories, counters and update state start over."""
        if tuple(model.input_shape) != tuple(self.X_train.shape[1:]):
            raise ValueError(f"the network takes inputs of shape {model.input_shape} but the "
                             f"data's images have shape {self.X_train.shape[1:]}")
        self.model = model
        model.reg = self._weight_decay
        self.configs = {name: {} for name in model.params}
        self._configure()
        self.history = History()
        self.examples_seen = 0
        self.steps = 0
        self._next_eval = 0
        self._next_eval_time = 0.0
        self._rng = np.random.default_rng(self.seed)
        self._order = np.empty(0, dtype=np.intp)
        self._position = 0
        self._good = None
        self.last_grads = {}
        summary = model.summary(include_in_place=True, warn=False)
        self.layers = [LayerStats(layer.path, row.name, row.output_shape, row.params)
                       for layer, row in zip(model.layers, summary.rows[1:], strict=True)]

    def _next_batch(self):
        N = len(self.X_train)
        size = min(self._batch_size, N)
        if self._position + size > len(self._order):
            self._order = self._rng.permutation(N)
            self._position = 0
        idx = np.sort(self._order[self._position:self._position + size])
        self._position += size
        return self.X_train[idx], self.y_train[idx]

    # ------------------------------------------------------------ training
    def step(self, record_stats: bool = False) -> float:
        """One minibatch: forward, backward, update. Returns the loss.

        Raises
        ------
        StepFailed
            The loss was not finite or the step raised; the weights (and the update
            rule's state) are those of the last step whose loss was finite.
        """
        X, y = self._next_batch()
        params = self.model.params
        before = dict(params), {k: dict(c) for k, c in self.configs.items()}
        forward_ms, backward_ms = [], []
        try:
            # overflow on the way to a NaN is reported below (StepFailed), not warned about
            with np.errstate(over="ignore", invalid="ignore"):
                loss, grads, outputs, output_grads = timed_loss(
                    self.model, X, y, forward_ms, backward_ms, keep=record_stats)
        except Exception as err:
            self._restore(*before)
            raise StepFailed(f"step {self.steps + 1} raised {type(err).__name__}: {err}; "
                             f"training stopped, the weights are the last good ones") from err
        if not math.isfinite(loss):
            if self._good is not None:  # undo the update that led here
                self._restore(*self._good)
            raise StepFailed(
                f"the loss became {loss} at step {self.steps + 1} "
                f"({self.examples_seen} examples seen) with learning_rate = "
                f"{self._learning_rate:g}; training stopped and the weights are those of the "
                f"last step whose loss was finite: lower the learning rate and train on")
        try:
            for name, w in params.items():
                params[name], self.configs[name] = self.update_fn(w, grads[name],
                                                                  self.configs[name])
        except Exception as err:
            self._restore(*before)
            raise StepFailed(f"the update of step {self.steps + 1} raised "
                             f"{type(err).__name__}: {err}; the weights are the last good "
                             f"ones") from err
        self._good = before
        self.last_grads = grads
        self.steps += 1
        self.examples_seen += len(X)
        self.history.loss.append((self.examples_seen, loss))
        if len(self.history.loss) > MAX_LOSS_POINTS:  # a long run: keep its whole curve,
            self.history.loss = _halved(self.history.loss)  # at half the resolution
        for stats, f, b in zip(self.layers, forward_ms, backward_ms, strict=True):
            if stats.forward_ms == 0:
                stats.forward_ms, stats.backward_ms = f, b
            else:
                stats.forward_ms += TIME_SMOOTHING * (f - stats.forward_ms)
                stats.backward_ms += TIME_SMOOTHING * (b - stats.backward_ms)
        if record_stats:
            for stats, out, grad in zip(self.layers, outputs, output_grads, strict=True):
                stats.act_min, stats.act_max = float(out.min()), float(out.max())
                stats.grad_min, stats.grad_max = float(grad.min()), float(grad.max())
        if self.examples_seen >= self._next_eval and time.perf_counter() >= self._next_eval_time:
            self.evaluate()
        return loss

    @property
    def update_fn(self):
        return optim.UPDATE_RULES[self._update_rule]

    def _restore(self, params: dict, configs: dict) -> None:
        self.model.params.update(params)
        self.configs = {k: dict(c) for k, c in configs.items()}

    # ------------------------------------------------------------ measuring
    def predict_proba(self, X, batch_size: int = 100) -> np.ndarray:
        """Softmax probabilities ``(N, num_classes)`` in test mode, ``batch_size`` images
        per forward pass (the Solver's accuracy check uses 100 too)."""
        out = []
        for start in range(0, len(X), batch_size):
            scores = self.model.forward(X[start:start + batch_size]).astype(np.float64)
            scores -= scores.max(axis=1, keepdims=True)
            p = np.exp(scores)
            out.append(p / p.sum(axis=1, keepdims=True))
        return np.concatenate(out) if out else np.zeros((0, self.model.num_classes))

    def accuracy(self, X, y, samples: int | None = None) -> float:
        """Fraction of ``X`` classified right (a seeded sample of ``samples`` if smaller)."""
        if samples is not None and samples < len(X):
            idx = np.sort(np.random.default_rng(len(self.history.val_acc)).choice(
                len(X), samples, replace=False))
            X, y = X[idx], y[idx]
        return float(np.mean(self.predict_proba(X).argmax(axis=1) == y))

    def evaluate(self) -> tuple[float, float]:
        """Measure and record the training and validation accuracies now."""
        started = time.perf_counter()
        train = self.accuracy(self.X_train, self.y_train, self.eval_samples)
        val = self.accuracy(self.X_val, self.y_val, self.eval_samples)
        self.history.train_acc.append((self.examples_seen, train))
        self.history.val_acc.append((self.examples_seen, val))
        self._next_eval = self.examples_seen + self.eval_every
        now = time.perf_counter()
        self._next_eval_time = next_due(now, now - started, EVAL_SHARE)
        return train, val

    def inspect(self, x, label: int):
        """One example through the network: each layer's output and its gradient.

        Returns ``(outputs, output_grads, probabilities)``; ``outputs[i]`` has shape
        ``(C', H', W')`` (``(D, 1, 1)`` after an FC layer). The forward pass is the
        training one (as in a step); nothing is updated, not even a batch normalization's
        running statistics (one example must not move them).
        """
        x = np.asarray(x, dtype=self.model.dtype)[None]
        buffers = self.model.buffers
        kept = dict(buffers)        # the layers replace their buffers' arrays, never edit them
        try:
            _, _, outputs, grads = timed_loss(self.model, x, np.array([int(label)]), keep=True)
        finally:
            buffers.clear()
            buffers.update(kept)
        as_volume = [o[0].reshape(o.shape[1], *(o.shape[2:] or (1, 1))) for o in outputs]
        as_grads = [g[0].reshape(g.shape[1], *(g.shape[2:] or (1, 1))) for g in grads]
        scores = outputs[-1].reshape(-1).astype(np.float64)
        p = np.exp(scores - scores.max())
        return as_volume, as_grads, p / p.sum()

    # ------------------------------------------------------------ files
    def save(self, path, definition: str):
        """Write the weights and the definition to ``path`` (``.npz``)."""
        return save_network(path, self.model, definition, examples_seen=self.examples_seen)

    def load_weights(self, path) -> dict:
        """Load saved weights into the current network (same architecture)."""
        return load_checkpoint(path, self.model)
