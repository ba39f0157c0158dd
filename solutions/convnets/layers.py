"""The fully-connected (affine) layer and the ReLU non-linearity.

An affine layer is the "FC" of the notes: every output neuron is connected to
every input, ``out = x @ w + b`` after flattening each example to a vector. ReLU
thresholds at zero elementwise and keeps the shape. Together they make the
``[FC -> RELU]*K -> FC`` tail of the notes' layer pattern.
"""

from __future__ import annotations

import numpy as np

from .shapes import check_array

__all__ = ["affine_forward", "affine_backward", "relu_forward", "relu_backward"]


def _check_dout(dout, expected_shape, layer: str) -> np.ndarray:
    dout = check_array(dout, "dout")
    if dout.shape != tuple(expected_shape):
        raise ValueError(
            f"dout has shape {dout.shape} but the output of {layer} had shape "
            f"{tuple(expected_shape)}"
        )
    return dout


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
    if b.shape[0] != w.shape[1]:
        raise ValueError(
            f"bias length mismatch: b has {b.shape[0]} entries but w of shape {w.shape} "
            f"has M = {w.shape[1]} outputs; b must be (M,)"
        )
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
    dout = _check_dout(dout, (N, w.shape[1]), "the affine layer")
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(N, -1).T @ dout
    db = dout.sum(axis=0)
    return (dx.astype(x.dtype, copy=False), dw.astype(w.dtype, copy=False),
            db.astype(b.dtype, copy=False))


def relu_forward(x):
    """Rectified linear unit, ``max(0, x)`` elementwise.

    Parameters
    ----------
    x : ndarray, any shape

    Returns
    -------
    out : ndarray, same shape and dtype as ``x``
        ``max(0, x)``.
    cache : ndarray
        ``x``.

    Raises
    ------
    TypeError
        If ``x`` does not hold real numbers.
    """
    x = check_array(x, "x")
    return np.maximum(x, 0), x


def relu_backward(dout, cache):
    """Backward pass of ReLU: the gradient passes where ``x > 0`` and is 0 elsewhere.

    At ``x == 0`` exactly, ReLU has a kink; we use the subgradient 0 (as every
    framework does).

    Parameters
    ----------
    dout : ndarray, same shape as ``x``
    cache : ndarray
        ``x`` from :func:`relu_forward`.

    Returns
    -------
    dx : ndarray, shape and dtype of ``x``
        ``dout * (x > 0)``.

    Raises
    ------
    ValueError
        If ``dout`` and ``x`` differ in shape.
    """
    x = cache
    dout = _check_dout(dout, x.shape, "ReLU")
    return np.where(x > 0, dout, 0).astype(x.dtype, copy=False)
