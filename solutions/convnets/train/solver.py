"""Training a classifier with minibatch gradient descent: the :class:`Solver`.

The solver knows nothing about layers. It trains any model with this interface:

- ``model.params``: dict name -> ndarray, the trainable parameters. The solver
  replaces the arrays in this dict after each update (it never keeps other references).
- ``model.buffers`` (optional): dict name -> ndarray of state that is not trained by
  gradient descent but belongs to the model, such as batch-norm running statistics.
  The model updates them itself; the solver saves and restores them with the params.
- ``model.loss(X, y=None)``: with ``y=None`` returns class scores of shape (N, C)
  (test mode); with labels returns ``(loss, grads)`` where ``grads`` has exactly the
  keys of ``model.params`` and each gradient has its parameter's shape (training mode).

A training run (CS231n's Solver, whose arguments and attributes this class keeps)::

    data = convnets.data.load_digits()
    model = ThreeLayerConvNet(input_dim=(1, 8, 8), ...)
    solver = Solver(model, data, update_rule='adam', optim_config={'learning_rate': 1e-3},
                    lr_decay=0.95, batch_size=50, num_epochs=10, seed=0)
    solver.train()
    solver.best_val_acc, solver.val_acc_history   # the model now holds the best params

Each epoch visits the training set once in a fresh random order (``seed`` makes the
order reproducible); an epoch has ``max(N_train // batch_size, 1)`` iterations. After
every epoch the learning rate of every parameter is multiplied by ``lr_decay``, the
accuracy on (a sample of) the training set and on the validation set is recorded, and
the parameters with the best validation accuracy so far are kept, and written to
``<checkpoint_name>.npz`` when a checkpoint name is given.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

from ..checks import check_int
from ..nn.parallel import check_shardable, data_parallel_loss
from . import optim

__all__ = ["Solver", "save_checkpoint", "load_checkpoint"]

_PARAM = "param:"
_BUFFER = "buffer:"
_META = "meta:"


# --------------------------------------------------------------------------------------
# Model checks and checkpoints
# --------------------------------------------------------------------------------------

def _check_model(model) -> None:
    params = getattr(model, "params", None)
    if not isinstance(params, dict) or not params:
        raise TypeError(f"model.params must be a non-empty dict name -> ndarray, got "
                        f"{type(params).__name__ if params is not None else 'no attribute'}")
    for name, value in params.items():
        if not isinstance(value, np.ndarray) or not np.issubdtype(value.dtype, np.floating):
            raise TypeError(f"model.params[{name!r}] must be a floating-point ndarray, got "
                            f"{type(value).__name__}")
    buffers = getattr(model, "buffers", None)
    if buffers is not None and not isinstance(buffers, dict):
        raise TypeError(f"model.buffers must be a dict name -> ndarray, got "
                        f"{type(buffers).__name__}")
    if not callable(getattr(model, "loss", None)):
        raise TypeError("the model must have a method loss(X, y=None): scores when y is "
                        "None, (loss, grads) otherwise")


def _buffers(model) -> dict:
    buffers = getattr(model, "buffers", None)
    return buffers if isinstance(buffers, dict) else {}


def _snapshot(arrays: dict) -> dict:
    return {k: np.array(v, copy=True) for k, v in arrays.items()}


def save_checkpoint(model, path, **metadata) -> Path:
    """Save ``model.params`` and ``model.buffers`` (if any) to a ``.npz`` file.

    Parameters
    ----------
    model
        Any model with a ``params`` dict (and optionally a ``buffers`` dict).
    path : str or Path
        Destination; ``.npz`` is appended when missing. Parent folders are created.
    **metadata
        Numbers or strings stored alongside (e.g. ``epoch=3, val_acc=0.97``), read back
        by :func:`load_checkpoint`.

    Returns
    -------
    Path
        The file written.
    """
    _check_model(model)
    return _write_checkpoint(path, model.params, _buffers(model), metadata)


def _write_checkpoint(path, params: dict, buffers: dict, metadata: dict) -> Path:
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {_PARAM + k: np.asarray(v) for k, v in params.items()}
    arrays.update({_BUFFER + k: np.asarray(v) for k, v in buffers.items()})
    arrays.update({_META + k: np.asarray(v) for k, v in metadata.items()})
    np.savez(path, **arrays)
    return path


def load_checkpoint(path, model) -> dict:
    """Load parameters and buffers saved by :func:`save_checkpoint` into ``model``.

    Every parameter of the model must be in the file with the same shape (and no
    other parameter may be), so that a checkpoint of a different architecture is
    refused instead of half-loaded. Values are cast to the dtype of the model's current
    arrays. Returns the metadata saved with the checkpoint (e.g. ``epoch``).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the names or shapes do not match the model's.
    """
    _check_model(model)
    path = Path(path)
    with_suffix = path.with_name(path.name + ".npz")
    if not path.is_file() and path.suffix != ".npz" and with_suffix.is_file():
        path = with_suffix
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    with np.load(path, allow_pickle=False) as f:
        stored = {k: f[k] for k in f.files}
    params = {k[len(_PARAM):]: v for k, v in stored.items() if k.startswith(_PARAM)}
    buffers = {k[len(_BUFFER):]: v for k, v in stored.items() if k.startswith(_BUFFER)}
    meta = {k[len(_META):]: v.item() if v.ndim == 0 else v
            for k, v in stored.items() if k.startswith(_META)}
    for kind, saved, current in (("parameters", params, model.params),
                                 ("buffers", buffers, _buffers(model))):
        if set(saved) != set(current):
            raise ValueError(
                f"checkpoint {path} does not fit this model: its {kind} are "
                f"{sorted(saved)}, the model's are {sorted(current)}")
        for name, value in saved.items():
            if value.shape != np.shape(current[name]):
                raise ValueError(
                    f"checkpoint {path} does not fit this model: {kind[:-1]} {name!r} has "
                    f"shape {value.shape} in the file and {np.shape(current[name])} in "
                    f"the model")
    for name, value in params.items():
        model.params[name] = value.astype(model.params[name].dtype, copy=True)
    for name, value in buffers.items():
        model.buffers[name] = value.astype(np.asarray(model.buffers[name]).dtype, copy=True)
    return meta


# --------------------------------------------------------------------------------------
# Data checks
# --------------------------------------------------------------------------------------

def _check_split(data: dict, part: str) -> tuple[np.ndarray, np.ndarray]:
    X_key, y_key = f"X_{part}", f"y_{part}"
    for key in (X_key, y_key):
        if key not in data:
            raise ValueError(f"data is missing {key!r}: it must hold X_train, y_train, "
                             f"X_val and y_val (got keys {sorted(data)})")
    X, y = data[X_key], data[y_key]
    if not isinstance(X, np.ndarray) or not np.issubdtype(X.dtype, np.number):
        kind = f"{type(X).__name__} of dtype {X.dtype}" if hasattr(X, "dtype") else (
            type(X).__name__)
        raise TypeError(f"data[{X_key!r}] must be a numeric ndarray, got {kind}")
    if X.ndim < 2:
        raise ValueError(f"data[{X_key!r}] must have one row per example, shape (N, ...), "
                         f"got shape {X.shape}")
    y = np.asarray(y)
    if y.dtype == bool or not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"data[{y_key!r}] must hold integer class labels, got dtype {y.dtype}")
    if y.ndim != 1:
        raise ValueError(f"data[{y_key!r}] must be 1-D, one label per example, got shape "
                         f"{y.shape}")
    if len(y) != len(X):
        raise ValueError(f"data[{X_key!r}] has {len(X)} examples but data[{y_key!r}] has "
                         f"{len(y)} labels")
    if len(X) == 0:
        raise ValueError(f"data[{X_key!r}] is empty")
    if y.min() < 0:
        raise ValueError(f"data[{y_key!r}] holds a negative label ({y.min()}); labels are "
                         f"class indices 0, 1, ..., C-1")
    return X, y


# --------------------------------------------------------------------------------------
# The solver
# --------------------------------------------------------------------------------------

class Solver:
    """Train a classification model with minibatch SGD, SGD+momentum, RMSProp or Adam.

    Parameters
    ----------
    model
        See the module docstring: ``params``, optional ``buffers``, ``loss(X, y=None)``.
    data : dict
        ``X_train`` (N_train, ...), ``y_train`` (N_train,), ``X_val`` (N_val, ...),
        ``y_val`` (N_val,); integer labels 0..C-1. Other keys are ignored.
    update_rule : str or callable
        A name in :data:`convnets.optim.UPDATE_RULES` ('sgd', 'sgd_momentum', 'rmsprop',
        'adam') or a function ``update(w, dw, config) -> (next_w, config)``. Default 'sgd'.
    optim_config : dict
        Hyperparameters given to the update rule (e.g. ``{'learning_rate': 1e-3}``);
        every parameter gets its own copy, which also holds its running state.
    lr_decay : float
        After each epoch, every learning rate is multiplied by this. Default 1.0.
    batch_size : int
        Examples per minibatch. Default 100.
    num_epochs : int
        Passes over the training set. Default 10.
    num_train_samples : int or None
        Training examples used to measure the training accuracy. Default 1000; None
        uses the whole training set.
    num_val_samples : int or None
        Validation examples used to measure the validation accuracy. Default None (all).
    checkpoint_name : str or Path or None
        When given, the best parameters (and buffers) are written to
        ``<checkpoint_name>.npz`` every time the validation accuracy improves.
    print_every : int or None
        With ``verbose``, print the training loss every this many iterations. Default 10;
        None prints only the accuracies after each epoch.
    verbose : bool
        Print the loss and the accuracies during training. Default True.
    progress : bool
        Show a tqdm progress bar (when tqdm is installed and stderr is a terminal).
        Default True.
    seed : int or None
        Seed of the minibatch order, of the accuracy subsamples and of ``augment``.
        Default None.
    augment : callable or None
        Data augmentation (not in CS231n's Solver): ``augment(X_batch, rng) -> X_batch``
        is applied to every training minibatch (never to the accuracy measurements), with
        the solver's ``numpy.random.Generator``; it must keep the shape. For example
        :func:`convnets.data.random_translate`. Default None.
    workers : int
        Not in CS231n's Solver: compute each minibatch's loss and gradients in this
        many shards, one thread each, with BLAS on one thread
        (:func:`convnets.nn.parallel.data_parallel_loss`; use the number of cores).
        The same numbers up to rounding; on 2 cores ThreeLayerConvNet's training step
        on 50 CIFAR-sized images ran 1.1-1.2x faster. The model's ``loss`` must only
        read the model, and the model must have no batch statistics (no ``buffers``:
        batch normalization). Default 1.

    Attributes
    ----------
    loss_history : list of float
        The minibatch loss at every iteration.
    train_acc_history, val_acc_history : list of float
        Accuracies before training (epoch 0) and after every epoch.
    best_val_acc : float
    best_epoch : int
    best_params, best_buffers : dict
        Copies of the parameters (and buffers) with the best validation accuracy; after
        :meth:`train` the model holds them.
    epoch : int
        Epochs completed.
    optim_configs : dict
        Name -> the update rule's config (hyperparameters and state) of each parameter.
    """

    def __init__(self, model, data, **kwargs):
        _check_model(model)
        if not isinstance(data, dict):
            raise TypeError(f"data must be a dict, got {type(data).__name__}")
        self.model = model
        self.X_train, self.y_train = _check_split(data, "train")
        self.X_val, self.y_val = _check_split(data, "val")
        if self.X_train.shape[1:] != self.X_val.shape[1:]:
            raise ValueError(f"training and validation examples differ in shape: "
                             f"X_train {self.X_train.shape}, X_val {self.X_val.shape}")

        self.update_rule = optim.get_update_rule(kwargs.pop("update_rule", "sgd"))
        optim_config = kwargs.pop("optim_config", {})
        if not isinstance(optim_config, dict):
            raise TypeError(f"optim_config must be a dict, got {type(optim_config).__name__}")
        self.optim_config = dict(optim_config)
        self.lr_decay = float(kwargs.pop("lr_decay", 1.0))
        if not 0 < self.lr_decay <= 1:
            raise ValueError(f"lr_decay must be in (0, 1], got {self.lr_decay}")
        self.batch_size = check_int(kwargs.pop("batch_size", 100), "batch_size", minimum=1)
        self.num_epochs = check_int(kwargs.pop("num_epochs", 10), "num_epochs", minimum=1)
        self.num_train_samples = kwargs.pop("num_train_samples", 1000)
        self.num_val_samples = kwargs.pop("num_val_samples", None)
        for name in ("num_train_samples", "num_val_samples"):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, check_int(value, name, minimum=1))
        self.checkpoint_name = kwargs.pop("checkpoint_name", None)
        self.print_every = kwargs.pop("print_every", 10)
        if self.print_every is not None:
            self.print_every = check_int(self.print_every, "print_every", minimum=1)
        self.verbose = bool(kwargs.pop("verbose", True))
        self.progress = bool(kwargs.pop("progress", True))
        self.seed = kwargs.pop("seed", None)
        self.augment = kwargs.pop("augment", None)
        if self.augment is not None and not callable(self.augment):
            raise TypeError(f"augment must be a function augment(X_batch, rng) -> X_batch, "
                            f"got {type(self.augment).__name__}")
        self.workers = check_int(kwargs.pop("workers", 1), "workers", minimum=1)
        if self.workers > 1:
            try:
                check_shardable(model)
            except ValueError as err:
                raise ValueError(f"workers = {self.workers}: {err}") from None
        if kwargs:
            raise ValueError(f"unrecognized arguments: {', '.join(sorted(kwargs))}; the "
                             f"Solver takes update_rule, optim_config, lr_decay, batch_size, "
                             f"num_epochs, num_train_samples, num_val_samples, "
                             f"checkpoint_name, print_every, verbose, progress, seed, "
                             f"augment, workers")
        self._reset()

    # ------------------------------------------------------------------ bookkeeping

    def _reset(self) -> None:
        """Set up the histories and one optimizer config per parameter."""
        self._rng = np.random.default_rng(self.seed)
        self.epoch = 0
        self.best_val_acc = 0.0
        self.best_epoch = 0
        self.best_params: dict = {}
        self.best_buffers: dict = {}
        self.loss_history: list[float] = []
        self.train_acc_history: list[float] = []
        self.val_acc_history: list[float] = []
        self.optim_configs = {name: dict(self.optim_config) for name in self.model.params}
        self._order = np.empty(0, dtype=np.intp)
        self._position = 0

    @property
    def iterations_per_epoch(self) -> int:
        return max(len(self.X_train) // self.batch_size, 1)

    def _next_batch(self) -> tuple[np.ndarray, np.ndarray]:
        """The next minibatch of a random pass over the training set."""
        N = len(self.X_train)
        size = min(self.batch_size, N)
        if self._position + size > len(self._order):
            self._order = self._rng.permutation(N)
            self._position = 0
        idx = np.sort(self._order[self._position:self._position + size])
        self._position += size
        X_batch = self.X_train[idx]
        if self.augment is not None:
            augmented = self.augment(X_batch, self._rng)
            if np.shape(augmented) != X_batch.shape:
                raise ValueError(f"augment must keep the batch shape {X_batch.shape}, "
                                 f"returned shape {np.shape(augmented)}")
            X_batch = augmented
        return X_batch, self.y_train[idx]

    def _step(self) -> float:
        """One minibatch: forward, backward and an update of every parameter."""
        X_batch, y_batch = self._next_batch()
        if self.workers > 1:
            loss, grads = data_parallel_loss(self.model, X_batch, y_batch, self.workers)
        else:
            loss, grads = self.model.loss(X_batch, y_batch)
        loss = float(loss)
        if not math.isfinite(loss):
            raise FloatingPointError(
                f"the training loss became {loss} at iteration {len(self.loss_history) + 1} "
                f"(epoch {self.epoch + 1}); the learning rate "
                f"({self.optim_config.get('learning_rate', 'the rule default')}) is "
                f"probably too high")
        if not isinstance(grads, dict) or set(grads) != set(self.model.params):
            keys = sorted(grads) if isinstance(grads, dict) else type(grads).__name__
            raise ValueError(f"model.loss must return grads with exactly the keys of "
                             f"model.params {sorted(self.model.params)}, got {keys}")
        self.loss_history.append(loss)
        for name, w in self.model.params.items():
            dw = grads[name]
            if np.shape(dw) != w.shape:
                raise ValueError(f"gradient {name!r} has shape {np.shape(dw)} but the "
                                 f"parameter has shape {w.shape}")
            next_w, self.optim_configs[name] = self.update_rule(w, dw, self.optim_configs[name])
            self.model.params[name] = next_w
        return loss

    def _log(self, message: str, bar) -> None:
        if not self.verbose:
            return
        if bar is not None:
            bar.write(message)
        else:
            print(message)

    def _record_accuracies(self, bar) -> None:
        """Measure train/val accuracy, keep the best parameters, maybe checkpoint."""
        train_acc = self.check_accuracy(self.X_train, self.y_train,
                                        num_samples=self.num_train_samples)
        val_acc = self.check_accuracy(self.X_val, self.y_val, num_samples=self.num_val_samples)
        self.train_acc_history.append(train_acc)
        self.val_acc_history.append(val_acc)
        self._log(f"(Epoch {self.epoch} / {self.num_epochs}) train acc: {train_acc:.4f}; "
                  f"val_acc: {val_acc:.4f}", bar)
        if val_acc > self.best_val_acc or not self.best_params:
            self.best_val_acc = val_acc
            self.best_epoch = self.epoch
            self.best_params = _snapshot(self.model.params)
            self.best_buffers = _snapshot(_buffers(self.model))
            if self.checkpoint_name is not None:
                self.save_checkpoint(self.checkpoint_name)

    # ------------------------------------------------------------------ public API

    def check_accuracy(self, X, y, num_samples=None, batch_size=100) -> float:
        """Fraction of examples whose highest score is the right label.

        Parameters
        ----------
        X : ndarray, shape (N, ...)
        y : ndarray, shape (N,)
        num_samples : int or None
            When given and smaller than N, measure on a random subsample of that size.
        batch_size : int
            Examples per forward pass (bounds the memory used).

        Returns
        -------
        float
        """
        X = np.asarray(X)
        y = np.asarray(y)
        if len(X) != len(y):
            raise ValueError(f"X has {len(X)} examples but y has {len(y)} labels")
        batch_size = check_int(batch_size, "batch_size", minimum=1)
        N = len(X)
        if N == 0:
            raise ValueError("cannot measure the accuracy of zero examples")
        if num_samples is not None and check_int(num_samples, "num_samples", minimum=1) < N:
            idx = np.sort(self._rng.choice(N, num_samples, replace=False))
            X, y, N = X[idx], y[idx], num_samples
        correct = 0
        for start in range(0, N, batch_size):
            scores = self.model.loss(X[start:start + batch_size])
            correct += int(np.sum(np.argmax(scores, axis=1) == y[start:start + batch_size]))
        return correct / N

    def train(self) -> Solver:
        """Run ``num_epochs`` epochs of minibatch updates; the model ends with the best
        parameters (and buffers) found. Returns the solver."""
        num_iterations = self.num_epochs * self.iterations_per_epoch
        bar = None
        if self.progress:
            try:
                from tqdm import tqdm
            except ImportError:  # the bar is a convenience, never a requirement
                tqdm = None
            if tqdm is not None:
                bar = tqdm(total=num_iterations, unit="it", file=sys.stderr, leave=True,
                           disable=None, desc="training")
                if bar.disable:
                    bar = None
        try:
            if not self.train_acc_history:
                self._record_accuracies(bar)
            for t in range(num_iterations):
                loss = self._step()
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(epoch=self.epoch + 1, loss=f"{loss:.4f}", refresh=False)
                if self.print_every is not None and (t + 1) % self.print_every == 0:
                    self._log(f"(Iteration {t + 1} / {num_iterations}) loss: {loss:.6f}", bar)
                if (t + 1) % self.iterations_per_epoch == 0:
                    self.epoch += 1
                    for config in self.optim_configs.values():
                        if "learning_rate" in config:
                            config["learning_rate"] *= self.lr_decay
                    self._record_accuracies(bar)
        finally:
            if bar is not None:
                bar.close()
        self.model.params.update(_snapshot(self.best_params))
        if self.best_buffers:
            self.model.buffers.update(_snapshot(self.best_buffers))
        return self

    def save_checkpoint(self, path) -> Path:
        """Write the best parameters and buffers so far to ``path`` (``.npz``), with the
        epoch and validation accuracy as metadata. Before any evaluation, the current ones."""
        if self.best_params:
            params, buffers = self.best_params, self.best_buffers
        else:
            params, buffers = self.model.params, _buffers(self.model)
        return _write_checkpoint(path, params, buffers,
                                 {"epoch": self.best_epoch, "val_acc": self.best_val_acc})

    load_checkpoint = staticmethod(load_checkpoint)
