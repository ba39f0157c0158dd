"""Pooling layers: max (naive and fast), average and L2-norm pooling.

A pooling layer slides a ``HH x WW`` window with stride ``S`` over every depth
slice of an ``(N, C, H, W)`` volume, independently per channel, and replaces each
window by one number. It has no parameters. The output has

    H' = (H - HH)/S + 1,   W' = (W - WW)/S + 1,   C' = C,

and the setting is only valid when both are whole numbers (checked by
:func:`convnets.shapes.pool_output_size`). The common settings are ``F=2, S=2``
(each output summarises 4 inputs, so 75% of the activations are discarded) and
the overlapping ``F=3, S=2``.

Max pooling and its switches
----------------------------
The backward pass of ``max`` sends the whole upstream gradient to the input that
won, and nothing to the others. The forward pass therefore remembers, for every
window, *which* input won: the **switch**, stored as the flat index
``r * WW + s`` of the winner inside its window (row ``r``, column ``s``), an
integer array of shape ``(N, C, H', W')``. Ties are broken by one rule shared by
the naive and the fast versions: **the first maximum in row-major window order**
wins (the rule of ``np.argmax``). When windows overlap (``S < HH`` or
``S < WW``) an input can win several windows; its gradients add up.

Both max-pooling versions produce and accept the same cache, so
``max_pool_backward_fast(dout, cache_from_naive)`` works and vice versa.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..checks import check_array, check_dout, check_pool_param
from ..shapes import pool_output_shape

__all__ = [
    "max_pool_forward_naive",
    "max_pool_backward_naive",
    "max_pool_forward_fast",
    "max_pool_backward_fast",
    "avg_pool_forward",
    "avg_pool_backward",
    "l2_pool_forward",
    "l2_pool_backward",
]


# --------------------------------------------------------------------------------------
# Shared checks
# --------------------------------------------------------------------------------------

_DOUT_DOC = "(N, C, H', W')"

def _check_pool_inputs(x, pool_param):
    """Validate ``x`` and ``pool_param``; return ``x, (HH, WW, S), (H_out, W_out)``."""
    x = check_array(x, "x", 4, "(N, C, H, W)")
    HH, WW, S = check_pool_param(pool_param)
    H_out, W_out = pool_output_shape(x.shape[2], x.shape[3], HH, WW, S)
    return x, (HH, WW, S), (H_out, W_out)




def _window_slice(offset: int, stride: int, count: int) -> slice:
    """Positions ``offset, offset + S, ..., offset + (count-1)*S`` as a slice.

    For a fixed offset ``(r, s)`` inside the window, ``x[:, :, rows, cols]`` with
    these slices is the input each of the ``H' x W'`` windows sees at that offset.
    """
    return slice(offset, offset + stride * (count - 1) + 1, stride)


def _windows(x: np.ndarray, HH: int, WW: int, S: int) -> np.ndarray:
    """A read-only strided *view* of all windows, shape ``(N, C, H', W', HH, WW)``.

    ``windows[n, c, i, j]`` is ``x[n, c, i*S:i*S+HH, j*S:j*S+WW]``; no data is copied
    (works for non-contiguous ``x`` too).
    """
    return sliding_window_view(x, (HH, WW), axis=(2, 3))[:, :, ::S, ::S]


# --------------------------------------------------------------------------------------
# Max pooling: naive (loops) and fast (vectorised), same cache, same tie rule
# --------------------------------------------------------------------------------------

def max_pool_forward_naive(x, pool_param):
    """Max pooling with explicit loops over examples, channels and windows.

    Slow but straightforward; :func:`max_pool_forward_fast` computes exactly the
    same output and switches without Python loops.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
        Input volume.
    pool_param : dict
        ``'pool_height'`` (HH), ``'pool_width'`` (WW) and ``'stride'`` (S).

    Returns
    -------
    out : ndarray, shape (N, C, H', W'), dtype of ``x``
        ``out[n, c, i, j] = max(x[n, c, i*S:i*S+HH, j*S:j*S+WW])`` with
        ``H' = (H - HH)/S + 1`` and ``W' = (W - WW)/S + 1``.
    cache : tuple
        ``(switches, x_shape, x_dtype, (HH, WW, S))`` where ``switches`` is an int64
        array of shape (N, C, H', W') holding the flat index ``r*WW + s`` of the
        winning input inside each window (first maximum in row-major order on ties).

    Raises
    ------
    ValueError
        If ``x`` is not 4-D, a key of ``pool_param`` is missing, the stride or a
        window size is < 1, a window is larger than the input, or the windows do not
        tile the input (``(W - F)/S + 1`` is not an integer).
    TypeError
        If ``x`` does not hold real numbers or a hyperparameter is not an integer.
    """
    x, (HH, WW, S), (H_out, W_out) = _check_pool_inputs(x, pool_param)
    N, C = x.shape[:2]
    out = np.empty((N, C, H_out, W_out), dtype=x.dtype)
    switches = np.empty((N, C, H_out, W_out), dtype=np.int64)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    window = x[n, c, i * S:i * S + HH, j * S:j * S + WW]
                    # np.argmax scans the window row by row and returns the first maximum.
                    k = int(np.argmax(window))
                    switches[n, c, i, j] = k
                    out[n, c, i, j] = window[k // WW, k % WW]
    return out, (switches, x.shape, x.dtype, (HH, WW, S))


def max_pool_backward_naive(dout, cache):
    """Backward pass of max pooling with explicit loops: route each gradient to its switch.

    Slow but straightforward; :func:`max_pool_backward_fast` is the vectorised twin.
    Accepts the cache of either max-pooling forward.

    Parameters
    ----------
    dout : ndarray, shape (N, C, H', W')
        Upstream gradient.
    cache : tuple
        ``(switches, x_shape, x_dtype, (HH, WW, S))`` from a max-pooling forward.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W), dtype of the forward input
        ``dx[n, c, i*S + r, j*S + s] += dout[n, c, i, j]`` where ``r*WW + s`` is the
        switch of window ``(i, j)``; zero for inputs that won no window. Inputs that
        won several overlapping windows receive the sum.

    Raises
    ------
    ValueError
        If ``dout`` does not have the shape of the forward output.
    """
    switches, x_shape, dtype, (HH, WW, S) = cache
    dout = check_dout(dout, switches.shape, "max pooling", shape_doc=_DOUT_DOC)
    N, C, H_out, W_out = switches.shape
    dx = np.zeros(x_shape, dtype=dtype)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    r, s = divmod(int(switches[n, c, i, j]), WW)
                    dx[n, c, i * S + r, j * S + s] += dout[n, c, i, j]
    return dx


def _offset_views(x: np.ndarray, HH: int, WW: int, S: int, H_out: int, W_out: int):
    """The ``HH*WW`` strided views ``x[:, :, r::S, s::S]`` (cut to H' x W'), in
    row-major window order: view ``r*WW + s`` holds what every window sees at offset
    ``(r, s)``. No data is copied."""
    return [x[:, :, _window_slice(r, S, H_out), _window_slice(s, S, W_out)]
            for r in range(HH) for s in range(WW)]


# Windows of at most this many positions are pooled by a running maximum over their
# offsets (one vectorised step per offset); larger ones (global pooling, say) by one
# np.argmax over each flattened window, which is then faster.
_RUNNING_MAX_TAPS = 49


def max_pool_forward_fast(x, pool_param):
    """Max pooling without Python loops over windows; same output, switches and cache
    as the naive one.

    Two strategies, chosen from the window size:

    * **running maximum** (windows of up to 7x7 positions, the usual 2x2 and 3x3): the
      loop is over the ``HH*WW`` offsets inside the window (4 for 2x2): the inputs every
      window sees at offset ``(r, s)`` form the strided slice ``x[:, :, r::S, s::S]``.
      These slices are copied side by side into one contiguous ``(HH*WW, N, C, H',
      W')`` array (1x the input's memory for ``F=2, S=2``), then a running maximum goes
      through them in row-major window order, each step vectorised over all windows.
      The switch of a window changes only when an offset is *strictly* greater than
      the maximum so far, so on ties the first maximum wins, as in
      :func:`max_pool_forward_naive` (``np.argmax``'s rule). Overlapping windows
      (``F=3, S=1`` or ``2``) are done a row at a time instead, with the same switches
      (:func:`_separable_running_max`). Windows containing a NaN are redone with
      ``np.argmax``, which also picks the first NaN.
    * **argmax** (larger windows): every window flattened in row-major order (a
      strided view, copied), and ``np.argmax`` over each.

    Parameters, returns and raises are those of :func:`max_pool_forward_naive`.
    """
    x, (HH, WW, S), (H_out, W_out) = _check_pool_inputs(x, pool_param)
    if HH * WW > _RUNNING_MAX_TAPS:
        N, C = x.shape[:2]
        flat = _windows(x, HH, WW, S).reshape(N, C, H_out, W_out, HH * WW)
        switches = np.argmax(flat, axis=-1)
        out = np.take_along_axis(flat, switches[..., None], axis=-1)[..., 0]
        return out, (switches.astype(np.int64, copy=False), x.shape, x.dtype, (HH, WW, S))
    if S < HH or S < WW:
        out, switches = _separable_running_max(x, HH, WW, S, H_out, W_out)
    else:
        out, switches = _running_max(np.stack(_offset_views(x, HH, WW, S, H_out, W_out)))
    switches = switches.astype(np.int64)
    if np.issubdtype(out.dtype, np.inexact) and np.isnan(out).any():
        # np.maximum spreads NaN to `out`, but `greater` is False against NaN: pick
        # the first NaN of those windows, as np.argmax does.
        where_nan = np.isnan(out)
        taps = np.stack(_offset_views(x, HH, WW, S, H_out, W_out))
        switches[where_nan] = np.argmax(np.isnan(taps[:, where_nan]), axis=0)
    return out, (switches, x.shape, x.dtype, (HH, WW, S))


def _running_max(views, codes=None):
    """The elementwise maximum of ``views`` (arrays of one shape) and, for every
    element, ``codes[k]`` of the first view ``k`` that holds it (default: ``k``), as
    int8: the running maximum changes its winner only on a *strictly* greater value."""
    out = views[0].copy()
    winner = (np.zeros(out.shape, dtype=np.int8) if codes is None
              else codes[0].astype(np.int8, copy=True))
    better = np.empty(out.shape, dtype=bool)
    for k in range(1, len(views)):
        np.greater(views[k], out, out=better)
        np.maximum(out, views[k], out=out)
        # winner = where(better, code, winner), as integer arithmetic (faster than where)
        step = (np.int8(k) if codes is None else codes[k]) - winner
        step *= better
        winner += step
    return out, winner


def _separable_running_max(x, HH, WW, S, H_out, W_out):
    """Overlapping windows, a row at a time: first the maximum over each window's
    ``WW`` columns in every input row (and the column ``s`` that holds it), then over
    each window's ``HH`` rows of those (switch ``r*WW + s``). The first maximum of a
    row, then the first row holding the window's maximum, is the window's first
    maximum in row-major order: the same switches as one running maximum over the
    ``HH*WW`` offsets, for ``HH + WW`` steps instead of ``HH*WW`` and no copy of the
    offsets side by side (3x3 windows at stride 1, GoogLeNet's: 2x faster)."""
    columns = [x[:, :, :, _window_slice(s, S, W_out)] for s in range(WW)]
    row_max, row_arg = _running_max(columns)                 # (N, C, H, W')
    rows = [row_max[:, :, _window_slice(r, S, H_out)] for r in range(HH)]
    codes = [row_arg[:, :, _window_slice(r, S, H_out)] + np.int8(r * WW) for r in range(HH)]
    return _running_max(rows, codes)


def max_pool_backward_fast(dout, cache):
    """Vectorised backward pass of max pooling; equals :func:`max_pool_backward_naive`.

    Accepts the cache of either max-pooling forward. Every window sends its gradient to
    the one input that won it: the flat index of that input, computed from the window's
    corner and its switch, and one scatter of ``dout`` there. When windows overlap, an
    input can win several of them and the gradients add up (``np.add.at``, in the naive
    loop's order); when they don't, each input is written at most once. Nothing is
    multiplied by a mask, so an infinite or NaN gradient reaches its winner only.

    Measured against one masked multiply per offset: 4-9x faster on GoogLeNet's 3x3
    pools, 1.3-1.6x on 2x2 ones.

    Parameters, returns and raises are those of :func:`max_pool_backward_naive`.
    """
    switches, x_shape, dtype, (HH, WW, S) = cache
    dout = check_dout(dout, switches.shape, "max pooling", shape_doc=_DOUT_DOC)
    N, C, H_out, W_out = switches.shape
    H, W = x_shape[2:]
    dout = dout.astype(dtype, copy=False)
    offsets = np.array([r * W + s for r in range(HH) for s in range(WW)], dtype=np.intp)
    corners = (np.arange(N * C, dtype=np.intp).reshape(N, C, 1, 1) * (H * W)
               + (np.arange(H_out, dtype=np.intp) * (S * W))[:, None]
               + np.arange(W_out, dtype=np.intp) * S)
    winners = (corners + offsets[switches]).reshape(-1)
    dx = np.zeros(N * C * H * W, dtype=dtype)
    if S < HH or S < WW:
        np.add.at(dx, winners, dout.reshape(-1))
    else:
        dx[winners] = dout.reshape(-1)
    return dx.reshape(x_shape)


# --------------------------------------------------------------------------------------
# Average pooling
# --------------------------------------------------------------------------------------

def avg_pool_forward(x, pool_param):
    """Average pooling (vectorised): the mean of each ``HH x WW`` window.

    Equivalent to a convolution of each channel with a constant ``1/(HH*WW)`` filter
    at stride ``S``.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    pool_param : dict
        ``'pool_height'`` (HH), ``'pool_width'`` (WW), ``'stride'`` (S).

    Returns
    -------
    out : ndarray, shape (N, C, H', W'), dtype of ``x``
        ``out[n, c, i, j] = mean(x[n, c, i*S:i*S+HH, j*S:j*S+WW])``,
        ``H' = (H - HH)/S + 1``, ``W' = (W - WW)/S + 1``.
    cache : tuple
        ``(x_shape, x_dtype, (HH, WW, S))``: the gradient does not depend on ``x``.

    Raises
    ------
    ValueError, TypeError
        As :func:`max_pool_forward_naive`.
    """
    x, (HH, WW, S), _ = _check_pool_inputs(x, pool_param)
    out = _windows(x, HH, WW, S).mean(axis=(-2, -1), dtype=x.dtype)
    return out, (x.shape, x.dtype, (HH, WW, S))


def avg_pool_backward(dout, cache):
    """Backward pass of average pooling: every input of a window gets ``dout / (HH*WW)``.

    Parameters
    ----------
    dout : ndarray, shape (N, C, H', W')
    cache : tuple
        ``(x_shape, x_dtype, (HH, WW, S))`` from :func:`avg_pool_forward`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W), dtype of the forward input
        ``dx[n, c, p, q] = sum over windows (i, j) containing (p, q) of
        dout[n, c, i, j] / (HH*WW)``.

    Raises
    ------
    ValueError
        If ``dout`` does not have the shape of the forward output.
    """
    x_shape, dtype, (HH, WW, S) = cache
    N, C, H, W = x_shape
    H_out, W_out = pool_output_shape(H, W, HH, WW, S)
    dout = check_dout(dout, (N, C, H_out, W_out), "average pooling", shape_doc=_DOUT_DOC)
    share = (dout / (HH * WW)).astype(dtype, copy=False)
    dx = np.zeros(x_shape, dtype=dtype)
    for target in _offset_views(dx, HH, WW, S, H_out, W_out):
        target += share
    return dx


# --------------------------------------------------------------------------------------
# L2-norm pooling
# --------------------------------------------------------------------------------------

def l2_pool_forward(x, pool_param):
    """L2-norm pooling (vectorised): the Euclidean norm of each window.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    pool_param : dict
        ``'pool_height'`` (HH), ``'pool_width'`` (WW), ``'stride'`` (S).

    Returns
    -------
    out : ndarray, shape (N, C, H', W'), dtype of ``x``
        ``out[n, c, i, j] = sqrt(sum(x[n, c, i*S:i*S+HH, j*S:j*S+WW] ** 2))``.
    cache : tuple
        ``(x, out, (HH, WW, S))``.

    Raises
    ------
    ValueError, TypeError
        As :func:`max_pool_forward_naive`.
    """
    x, (HH, WW, S), _ = _check_pool_inputs(x, pool_param)
    win = _windows(x, HH, WW, S)
    out = np.sqrt(np.einsum("ncijrs,ncijrs->ncij", win, win))
    return out, (x, out, (HH, WW, S))


def l2_pool_backward(dout, cache):
    """Backward pass of L2-norm pooling.

    For a window with norm ``y = sqrt(sum x_p^2) > 0``, ``dy/dx_p = x_p / y``. At an
    all-zero window the norm has a kink (no derivative); we use the subgradient 0,
    so such windows pass no gradient and the result never contains NaN.

    Parameters
    ----------
    dout : ndarray, shape (N, C, H', W')
    cache : tuple
        ``(x, out, (HH, WW, S))`` from :func:`l2_pool_forward`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W), dtype of ``x``
        ``dx[n, c, p, q] = sum over windows (i, j) containing (p, q) of
        dout[n, c, i, j] * x[n, c, p, q] / out[n, c, i, j]`` (0 where ``out == 0``).

    Raises
    ------
    ValueError
        If ``dout`` does not have the shape of the forward output.
    """
    x, out, (HH, WW, S) = cache
    dout = check_dout(dout, out.shape, "L2 pooling", shape_doc=_DOUT_DOC)
    H_out, W_out = out.shape[2:]
    # dout / out where the window is not all zero, 0 where it is.
    ratio = np.zeros(out.shape, dtype=x.dtype)
    np.divide(dout, out, out=ratio, where=out > 0, casting="unsafe")
    dx = np.zeros_like(x)
    for target, seen in zip(_offset_views(dx, HH, WW, S, H_out, W_out),
                            _offset_views(x, HH, WW, S, H_out, W_out), strict=True):
        target += ratio * seen
    return dx
