"""The two classification losses on top of the last FC layer: softmax and SVM.

Both take class scores ``x`` of shape ``(N, C)`` and integer labels ``y`` of shape
``(N,)`` with ``0 <= y[i] < C``, and return the loss averaged over the ``N``
examples together with its gradient with respect to the scores.
"""

from __future__ import annotations

import numpy as np

from ..checks import check_array

__all__ = ["softmax_loss", "svm_loss"]


def _check_scores_and_labels(x, y):
    """Validate scores (N, C) and labels (N,) with integer values in [0, C)."""
    x = check_array(x, "x", 2, "(N, C) of class scores")
    N, C = x.shape
    if N == 0:
        raise ValueError(f"x must hold at least one example to average over, got shape {x.shape}")
    if C == 0:
        raise ValueError(f"x must hold at least one class score per example, got shape {x.shape}")
    y = np.asarray(y)
    if y.dtype == bool or not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"y must hold integer class labels, got dtype {y.dtype}")
    if y.shape != (N,):
        raise ValueError(
            f"y must have shape (N,) = ({N},), one label per row of x (shape {x.shape}); "
            f"got shape {y.shape}"
        )
    bad = np.flatnonzero((y < 0) | (y >= C))
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"labels must lie in [0, C) = [0, {C}) for x of shape {x.shape}; "
            f"y[{i}] = {int(y[i])} ({bad.size} label(s) out of range)"
        )
    return x, y.astype(np.intp, copy=False)


def softmax_loss(x, y):
    """Softmax (cross-entropy) loss and its gradient, computed stably.

    ``p[i] = exp(x[i]) / sum(exp(x[i]))`` and ``loss = -mean_i log p[i, y[i]]``.
    The largest score of each row is subtracted first (this changes nothing
    mathematically) so that ``exp`` never overflows, and ``log p`` is formed as
    ``shifted - log(sum(exp(shifted)))`` so that it never takes ``log(0)``.

    Parameters
    ----------
    x : ndarray, shape (N, C)
        Class scores; ``x[i, j]`` is the score of class ``j`` for example ``i``.
    y : array of int, shape (N,)
        Correct class of each example, ``0 <= y[i] < C``.

    Returns
    -------
    loss : NumPy scalar of ``x``'s dtype
        Mean cross-entropy; ``log(C)`` when all scores of every row are equal.
    dx : ndarray, shape (N, C), dtype of ``x``
        ``(p - onehot(y)) / N``.

    Raises
    ------
    ValueError
        If ``x`` is not 2-D with ``N, C >= 1``, ``y`` is not of shape ``(N,)``, or a
        label is outside ``[0, C)``.
    TypeError
        If ``y`` does not hold integers or ``x`` does not hold real numbers.
    """
    x, y = _check_scores_and_labels(x, y)
    N = x.shape[0]
    rows = np.arange(N)
    shifted = x - x.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    log_probs = shifted - log_norm
    loss = -log_probs[rows, y].mean()
    dx = np.exp(log_probs)
    dx[rows, y] -= 1
    dx /= N
    return x.dtype.type(loss), dx


def svm_loss(x, y):
    """Multiclass SVM (hinge) loss with margin 1, and its gradient.

    ``loss = mean_i sum_{j != y[i]} max(0, x[i, j] - x[i, y[i]] + 1)``.

    Parameters
    ----------
    x : ndarray, shape (N, C)
        Class scores.
    y : array of int, shape (N,)
        Correct class of each example, ``0 <= y[i] < C``.

    Returns
    -------
    loss : NumPy scalar of ``x``'s dtype
        Mean hinge loss.
    dx : ndarray, shape (N, C), dtype of ``x``
        For ``j != y[i]``: ``1/N`` where the margin ``x[i, j] - x[i, y[i]] + 1 > 0``,
        else 0; for ``j == y[i]``: minus ``1/N`` times the number of positive margins
        in row ``i``. A margin of exactly 0 (the hinge's kink) counts as not positive.

    Raises
    ------
    ValueError, TypeError
        As :func:`softmax_loss`.
    """
    x, y = _check_scores_and_labels(x, y)
    N = x.shape[0]
    rows = np.arange(N)
    correct = x[rows, y][:, None]
    margins = np.maximum(0, x - correct + 1)
    margins[rows, y] = 0
    loss = margins.sum() / N
    positive = (margins > 0).astype(x.dtype)
    positive[rows, y] = -positive.sum(axis=1)
    dx = positive / N
    return x.dtype.type(loss), dx.astype(x.dtype, copy=False)
