"""The fully-connected (affine) layer: the "FC" of the notes.

Every output neuron is connected to every input, ``out = x @ w + b`` after flattening
each example to a vector. With ReLU (:mod:`convnets.layers.relu`) it makes the
``[FC -> RELU]*K -> FC`` tail of the notes' layer pattern.
"""

from __future__ import annotations

import numpy as np

from ..checks import check_array, check_bias, check_dout

__all__ = ["affine_forward", "affine_backward"]

# A small batch through a large weight matrix (a network's first FC layers at batch 2:
# 25088 x 4096 weights for 2 examples) reads every weight for a couple of
# multiply-adds: one product over the whole matrix runs at about half the memory's
# speed, a product per block of rows that fits in cache at about its full speed
# (measured with w 25088 x 4096, float32, batch 2: dout @ w.T 57 ms whole, 29 ms in
# blocks of 512 KB; x @ w 40 and 37; with w 4096 x 4096: 8.4 and 3.5, 5.8 and 4.3).
STREAM_BATCH = 16                # at most this many examples
STREAM_MIN_BYTES = 4 << 20       # and weights of at least this size
STREAM_BLOCK_BYTES = 512 << 10   # rows of w per product
# With one or two examples, a vector-matrix product per example (BLAS gemv, which
# streams w at full speed) beats the blocks, although it reads w once per example
# (measured, float32, batch 2: x @ w 16 -> 13 ms with w 9216 x 4096, 5.8 -> 3.3 with
# 4096 x 4096; dout @ w.T likewise; from batch 3 or 4 on the blocks win).
VECTOR_BATCH = 2


def _streams(N: int, w: np.ndarray) -> bool:
    """Whether a batch of N through ``w`` reads the weights in pieces (small batch,
    large and row-contiguous weights) rather than in one product."""
    return N <= STREAM_BATCH and w.nbytes >= STREAM_MIN_BYTES and w.strides[1] == w.itemsize


def _per_example(N: int, w: np.ndarray) -> bool:
    """Whether the products run one example at a time (vector-matrix products)."""
    return N <= VECTOR_BATCH and _streams(N, w)


def _row_blocks(N: int, w: np.ndarray):
    """Slices of ``w``'s rows to multiply one at a time, or None for a single product."""
    if not _streams(N, w):
        return None
    rows = max(1, STREAM_BLOCK_BYTES // (w.shape[1] * w.itemsize))
    return [slice(i, i + rows) for i in range(0, w.shape[0], rows)]


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
    x2 = x.reshape(N, D)
    if _per_example(N, w):
        product = np.empty((N, w.shape[1]), dtype=np.result_type(x2, w))
        for n in range(N):
            np.matmul(x2[n], w, out=product[n])
        out = product + b
    elif (blocks := _row_blocks(N, w)) is None:
        out = x2 @ w + b
    else:
        product = np.zeros((N, w.shape[1]), dtype=np.result_type(x2, w))
        for rows in blocks:
            product += x2[:, rows] @ w[rows]
        out = product + b
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
    per_example = _per_example(N, w)
    blocks = None if per_example else _row_blocks(N, w)
    if not per_example and blocks is None:
        # (w @ dout.T).T: the same product, up to 1.3x faster in OpenBLAS than
        # dout @ w.T (measured on batches of 20-200 through 100-4096 outputs), copied
        # back to rows
        dx = np.ascontiguousarray((w @ dout.T).T).reshape(x.shape)
    else:
        dx = np.empty((N, w.shape[0]), dtype=np.result_type(dout, w))
        if per_example:
            for n in range(N):
                np.matmul(w, dout[n], out=dx[n])
        else:
            for rows in blocks:
                np.matmul(dout, w[rows].T, out=dx[:, rows])
        dx = dx.reshape(x.shape)
    if N == 1:
        # the same products: a matrix product over a single example runs outside
        # OpenBLAS's fast path, 3x slower (w 9216 x 4096: 118 ms against 37)
        dw = np.multiply(x.reshape(1, -1).T, dout)
    else:
        dw = x.reshape(N, -1).T @ dout
    db = dout.sum(axis=0)
    return (dx.astype(x.dtype, copy=False), dw.astype(w.dtype, copy=False),
            db.astype(b.dtype, copy=False))
