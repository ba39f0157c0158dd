"""The fully-connected (affine) layer: the "FC" of the notes.

Every output neuron is connected to every input, ``out = x @ w + b`` after flattening
each example to a vector. With ReLU (:mod:`convnets.layers.relu`) it makes the
``[FC -> RELU]*K -> FC`` tail of the notes' layer pattern.
"""

from __future__ import annotations

import numpy as np

from ..checks import check_array, check_bias, check_dout

__all__ = ["affine_forward", "affine_backward"]


def affine_forward(x, w, b):
    """Fully-connected layer: flatten each example, then ``out = x @ w + b``.

    Parameters
    ----------
    x : ndarray, shape (N, d_1, ..., d_k)
        A minibatch of ``N`` examples; each is flattened (row-major) to a vector of
        ``D = d_1 * ... * d_k`` numbers, e.g. an ``(N, C, H, W)`` volume gives
        ``D = C*H*W``.
    w : ndarray, shape (D, M)
        Weights: one column per output neuron.
    b : ndarray, shape (M,)
        Biases.

    Returns
    -------
    out : ndarray, shape (N, M)
        ``out = x.reshape(N, D) @ w + b``. The dtype follows NumPy's promotion of the
        three inputs (all float32 gives float32).
    cache : tuple
        ``(x, w, b)``, the inputs as given (``x`` in its original shape).

    Raises
    ------
    ValueError
        If ``x`` has fewer than 2 dimensions, ``w`` is not 2-D, ``b`` is not 1-D, the
        flattened size ``D`` of ``x`` differs from ``w.shape[0]``, or ``len(b)`` differs
        from ``w.shape[1]``.
    TypeError
        If an input does not hold real numbers.
    """
    x = check_array(x, "x")
    if x.ndim < 2:
        raise ValueError(
            f"x must be (N, d_1, ..., d_k) with at least 2 dimensions, got shape {x.shape} "
            f"({x.ndim}-D); for a single example use x[None]"
        )
    w = check_array(w, "w", 2, "(D, M)")
    b = check_array(b, "b", 1, "(M,)")
    N = x.shape[0]
    D = int(np.prod(x.shape[1:]))
    if D != w.shape[0]:
        raise ValueError(
            f"size mismatch: x of shape {x.shape} flattens to (N, D) = ({N}, {D}) but w "
            f"has shape {w.shape}, which expects D = {w.shape[0]}; w must be (D, M)"
        )
    check_bias(b, w.shape[1], f"w of shape {w.shape} has M = {w.shape[1]} outputs", "(M,)")
    out = x.reshape(N, D) @ w + b
    return out, (x, w, b)


def affine_backward(dout, cache):
    """Backward pass of the affine layer.

    Parameters
    ----------
    dout : ndarray, shape (N, M)
        Upstream gradient.
    cache : tuple
        ``(x, w, b)`` from :func:`affine_forward`.

    Returns
    -------
    dx : ndarray, shape (N, d_1, ..., d_k)
        ``(dout @ w.T)`` reshaped back to the shape of ``x``.
    dw : ndarray, shape (D, M)
        ``x.reshape(N, D).T @ dout``.
    db : ndarray, shape (M,)
        ``dout.sum(axis=0)``.

    Raises
    ------
    ValueError
        If ``dout`` is not ``(N, M)``.
    """
    x, w, b = cache
    N = x.shape[0]
    dout = check_dout(dout, (N, w.shape[1]), "the affine layer")
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(N, -1).T @ dout
    db = dout.sum(axis=0)
    return (dx.astype(x.dtype, copy=False), dw.astype(w.dtype, copy=False),
            db.astype(b.dtype, copy=False))
