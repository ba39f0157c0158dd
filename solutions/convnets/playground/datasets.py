"""What the playground trains on: the ``data=`` argument turned into the usual splits.

``data`` is one of

* ``"digits"`` (the default): scikit-learn's 1,797 8x8 handwritten digits
  (:func:`convnets.train.data.load_digits`);
* ``"mnist:<folder>"`` or ``"cifar10:<folder>"``: the project's loaders on files you have
  (:func:`~convnets.train.data.load_mnist`, :func:`~convnets.train.data.load_cifar10`);
* a dict with ``X_train, y_train, X_val, y_val`` (and optionally ``X_test, y_test``,
  ``class_names``, ``mean_image``), as the loaders return;
* arrays ``(X, y)`` or ``(X, y, class_names)``: ``X`` of shape ``(N, C, H, W)`` or
  ``(N, H, W)`` (one channel), integer labels ``y`` of shape ``(N,)``; split 70/10/20 into
  train, validation and test in a seeded random order, and the training mean image
  subtracted.

Every split comes back as float32 NCHW arrays with int64 labels.
"""

from __future__ import annotations

import numpy as np

from ..train.data import load_cifar10, load_digits, load_mnist

__all__ = ["resolve_data"]


def _from_arrays(X, y, class_names, seed: int) -> dict:
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim == 3:
        X = X[:, None]
    if X.ndim != 4 or not np.issubdtype(X.dtype, np.number):
        raise ValueError(f"data: X must be numbers of shape (N, C, H, W) or (N, H, W), got "
                         f"shape {X.shape} and dtype {X.dtype}")
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer) or y.dtype == bool:
        raise ValueError(f"data: y must be integer labels of shape (N,), got shape {y.shape} "
                         f"and dtype {y.dtype}")
    if len(X) != len(y):
        raise ValueError(f"data: X has {len(X)} examples but y has {len(y)} labels")
    if len(X) < 10:
        raise ValueError(f"data: at least 10 examples are needed to split them into train, "
                         f"validation and test, got {len(X)}")
    if y.min() < 0:
        raise ValueError(f"data: labels must be 0, 1, ..., C-1, got the label {y.min()}")
    num_classes = int(y.max()) + 1
    if class_names is None:
        class_names = [str(k) for k in range(num_classes)]
    class_names = [str(name) for name in class_names]
    if len(class_names) < num_classes:
        raise ValueError(f"data: {len(class_names)} class names for labels up to "
                         f"{num_classes - 1}: give one name per class")
    order = np.random.default_rng(seed).permutation(len(X))
    n_train, n_val = int(0.7 * len(X)), max(int(0.1 * len(X)), 1)
    parts = {"train": order[:n_train], "val": order[n_train:n_train + n_val],
             "test": order[n_train + n_val:]}
    X = X.astype(np.float32)
    mean = X[parts["train"]].mean(axis=0)
    out = {"mean_image": mean, "class_names": class_names}
    for part, idx in parts.items():
        out[f"X_{part}"] = np.ascontiguousarray(X[idx] - mean)
        out[f"y_{part}"] = y[idx].astype(np.int64)
    return out


def resolve_data(data="digits", seed: int = 0) -> dict:
    """The splits for ``data`` (see the module docstring).

    Returns
    -------
    dict
        ``X_train, y_train, X_val, y_val, X_test, y_test`` (float32 ``(N, C, H, W)`` and
        int64 ``(N,)``), ``class_names`` (one per class) and ``mean_image`` ``(C, H, W)``
        (added back to show an image; zeros when no mean was subtracted).

    Raises
    ------
    ValueError
        An unknown data name, or arrays of the wrong shape (naming the shapes).
    FileNotFoundError
        From the MNIST and CIFAR-10 loaders when the files are not in the folder.
    """
    if isinstance(data, str):
        name, _, folder = data.partition(":")
        if name == "digits" and not folder:
            out = load_digits(seed=seed)
        elif name == "mnist" and folder:
            out = load_mnist(folder)
        elif name == "cifar10" and folder:
            out = load_cifar10(folder)
        else:
            raise ValueError(f"data must be 'digits', 'mnist:<folder>', 'cifar10:<folder>', a "
                             f"dict of splits or arrays (X, y); got {data!r}")
    elif isinstance(data, dict):
        missing = [k for k in ("X_train", "y_train", "X_val", "y_val") if k not in data]
        if missing:
            raise ValueError(f"data: the dict must hold X_train, y_train, X_val and y_val; "
                             f"missing {missing}")
        out = dict(data)
    elif isinstance(data, (tuple, list)) and len(data) in (2, 3):
        out = _from_arrays(*data, *([None] if len(data) == 2 else []), seed=seed)
    else:
        raise ValueError(f"data must be 'digits', 'mnist:<folder>', 'cifar10:<folder>', a dict "
                         f"of splits or arrays (X, y) or (X, y, class_names); got "
                         f"{type(data).__name__}")
    for part in ("train", "val", "test"):
        if f"X_{part}" not in out:  # no test split given: test on the validation split
            out[f"X_{part}"], out[f"y_{part}"] = out["X_val"], out["y_val"]
        X = np.asarray(out[f"X_{part}"])
        if X.ndim == 3:
            X = X[:, None]
        out[f"X_{part}"] = np.ascontiguousarray(X, dtype=np.float32)
        out[f"y_{part}"] = np.asarray(out[f"y_{part}"]).astype(np.int64)
    shape = out["X_train"].shape[1:]
    for part in ("val", "test"):
        if out[f"X_{part}"].shape[1:] != shape:
            raise ValueError(f"data: X_{part} has images of shape {out[f'X_{part}'].shape[1:]} "
                             f"but X_train has {shape}")
    num_classes = int(max(out[f"y_{p}"].max() for p in ("train", "val", "test"))) + 1
    names = out.get("class_names") or [str(k) for k in range(num_classes)]
    out["class_names"] = [str(n) for n in names][:max(num_classes, len(names))]
    if "mean_image" not in out:
        out["mean_image"] = np.zeros(shape, dtype=np.float32)
    out["mean_image"] = np.asarray(out["mean_image"], dtype=np.float32)
    return out
