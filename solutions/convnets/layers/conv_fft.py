"""Convolution by the FFT (``scipy.fft``): for large filters.

By the convolution theorem, the correlation of one padded input plane with one filter
is ``irfft2(rfft2(x) * conj(rfft2(w)))`` on a grid of at least ``Hp x Wp`` points
(``Hp = H + 2P``): the circular correlation at the valid positions never wraps
around. Summed over the channels, the products become one small complex matrix
multiply per frequency, ``Y[k] (N, F) = X[k] (N, C) @ conj(W[k]) (C, F)``, so the cost
no longer grows with the filter size: about ``N*F*C`` complex multiplications per
frequency plus ``(N*C + F*C + N*F)`` transforms of ``Hf x Wf`` points, against
``N*F*C*H'*W'*HH*WW`` real multiplications for the direct correlation. The larger the
filter, the larger the saving (11x11, 9x9, 7x7 of convnet-benchmarks' L1-L4).

Stride and dilation are supported (the filter is dilated with zeros before its
transform; the stride-1 output is subsampled, ``S**2`` times the work a strided layer
needs), so that the strategy applies to every layer; it pays off at stride 1.

The backward pass uses the same transforms: ``dx`` is the (full) convolution of the
upsampled ``dout`` with the filters, ``irfft2(dY @ W)``, and ``dw`` the correlation
of the input with ``dout``, ``irfft2(conj(dY)^T @ X)``, cut to the filter's taps.

Shapes and conventions are those of :mod:`convnets.layers.conv_naive`.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

from ..checks import check_dout
from ..shapes import conv_output_shape
from .im2col import check_conv_layer

__all__ = ["conv_forward_fft", "conv_backward_fft"]


def _fft_dtype(dtype) -> np.dtype:
    """The real dtype the transforms run in: float32 or float64 (float16 goes up)."""
    return np.dtype(np.float64) if np.dtype(dtype) == np.float64 else np.dtype(np.float32)


def _frequency_matmul(a, b):
    """``out[n, f, k] = sum_c a[n, c, k] * b[c, f, k]`` over the frequencies k of the
    last two axes: one complex GEMM per frequency (frequency as the batch axis)."""
    n, c = a.shape[:2]
    f = b.shape[1]
    spectrum = a.shape[2:]
    a_k = np.ascontiguousarray(a.reshape(n, c, -1).transpose(2, 0, 1))      # (K, n, c)
    b_k = np.ascontiguousarray(b.reshape(c, f, -1).transpose(2, 0, 1))      # (K, c, f)
    out = np.matmul(a_k, b_k)                                               # (K, n, f)
    return out.transpose(1, 2, 0).reshape((n, f) + spectrum)


def conv_forward_fft(x, w, b, conv_param):
    """Forward pass of a convolutional layer through the FFT (``scipy.fft``).

    The same contract and results as :func:`conv_forward_naive` (slow but
    straightforward): ``rfft2`` of the zero-padded input and of the (dilated)
    filters on a ``Hf x Wf`` grid (``scipy.fft.next_fast_len`` of ``Hp``, ``Wp``),
    one complex matrix multiply per frequency summing over the channels, and
    ``irfft2`` of the result cut to the valid positions (every S-th one).

    Error: the transforms spread rounding over the whole plane, so the error scales
    with the largest values rather than with each output. float64 agrees with the
    naive layer to about 1e-13 relative. In float32, the largest absolute error of the
    output, the input gradient and the filter gradient against float64 is below
    ``1e-5`` times the largest absolute value of the float64 result, on unit-normal
    inputs with filters scaled by ``1/sqrt(C*HH*WW)`` (tested by
    ``tests/test_conv_strategies.py``; measured 2e-7 to 3e-7).

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
        Input batch; any strides.
    w : ndarray, shape (F, C, HH, WW)
        Filters.
    b : ndarray, shape (F,)
        Biases.
    conv_param : dict
        ``'stride'`` S, ``'pad'`` P and optionally ``'dilation'`` D (default 1).

    Returns
    -------
    out : ndarray, shape (N, F, H', W')
        ``H' = 1 + (H + 2P - (D*(HH-1) + 1)) / S``, likewise ``W'``; dtype NumPy's
        promotion of ``x`` and ``w`` (float16 is transformed in float32).
    cache : dict
        ``'method'`` = ``'fft'``, ``'x_shape'``, the input dtypes ``'x_dtype'``,
        ``'w_dtype'``, ``'b_dtype'``, ``'w'`` (in the computation dtype),
        ``'stride'``, ``'pad'``, ``'dilation'``, ``'fft_shape'`` (Hf, Wf), and the
        spectra ``'x_hat'`` (N, C, Hf, Wf//2+1) and ``'w_hat'`` (F, C, Hf, Wf//2+1).

    Raises
    ------
    ValueError, TypeError
        Exactly as :func:`conv_forward_naive`.
    """
    x, w, b, S, P, D, H_out, W_out = check_conv_layer(x, w, b, conv_param)
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    dtype = np.result_type(x.dtype, w.dtype)
    real = _fft_dtype(dtype)
    w = np.ascontiguousarray(w, dtype=dtype)
    Hp, Wp = H + 2 * P, W + 2 * P
    shape = (scipy.fft.next_fast_len(Hp, real=True), scipy.fft.next_fast_len(Wp, real=True))
    padded = np.zeros((N, C) + shape, dtype=real)
    padded[:, :, P:P + H, P:P + W] = x
    dilated = np.zeros((F, C) + shape, dtype=real)
    dilated[:, :, :D * (HH - 1) + 1:D, :D * (WW - 1) + 1:D] = w
    x_hat = scipy.fft.rfft2(padded, workers=-1)
    w_hat = scipy.fft.rfft2(dilated, workers=-1)
    y = scipy.fft.irfft2(_frequency_matmul(x_hat, w_hat.transpose(1, 0, 2, 3).conj()),
                         s=shape, workers=-1)
    out = np.empty((N, F, H_out, W_out), dtype=dtype)
    np.add(y[:, :, :(H_out - 1) * S + 1:S, :(W_out - 1) * S + 1:S],
           b.astype(dtype)[:, None, None], out=out)
    cache = {"method": "fft", "x_shape": x.shape, "x_dtype": x.dtype, "w_dtype": w.dtype,
             "b_dtype": b.dtype, "w": w, "stride": S, "pad": P, "dilation": D,
             "fft_shape": shape, "x_hat": x_hat, "w_hat": w_hat}
    return out, cache


def conv_backward_fft(dout, cache, *, compute_dx=True):
    """Backward pass of :func:`conv_forward_fft`.

    ``dout`` is placed at every S-th position of a zero ``Hf x Wf`` grid and
    transformed once (``dY``); then ``dw = irfft2(sum_n conj(dY[n, f]) X[n, c])`` cut to
    the filter's (dilated) taps, and ``dx = irfft2(sum_f dY[n, f] W[f, c])`` cut from
    the padded grid. Error bounds as in :func:`conv_forward_fft`.

    Parameters
    ----------
    dout : ndarray, shape (N, F, H', W')
        Upstream gradient, any strides.
    cache : dict
        From :func:`conv_forward_fft`.
    compute_dx : bool, keyword-only, default True
        False skips ``dx`` (returned as None).

    Returns
    -------
    dx : ndarray, shape (N, C, H, W), or None when ``compute_dx`` is False
    dw : ndarray, shape (F, C, HH, WW)
    db : ndarray, shape (F,)
        Each in the dtype of ``x``, ``w`` and ``b`` respectively.

    Raises
    ------
    ValueError
        If ``dout`` does not have the shape of the forward output.
    """
    N, C, H, W = cache["x_shape"]
    w = cache["w"]
    S, P, D = cache["stride"], cache["pad"], cache["dilation"]
    F, _, HH, WW = w.shape
    H_out, W_out = conv_output_shape(H, W, HH, WW, S, P, D)
    dout = check_dout(dout, (N, F, H_out, W_out), "conv", same_ndim=True)
    dtype = w.dtype
    shape = cache["fft_shape"]
    db = dout.astype(dtype, copy=False).sum(axis=(0, 2, 3))
    grid = np.zeros((N, F) + shape, dtype=_fft_dtype(dtype))
    grid[:, :, :(H_out - 1) * S + 1:S, :(W_out - 1) * S + 1:S] = dout
    dout_hat = scipy.fft.rfft2(grid, workers=-1)
    # dw[f, c] = sum_n corr(x[n, c], dout[n, f]): (F, N) @ (N, C) per frequency.
    dw_hat = _frequency_matmul(dout_hat.transpose(1, 0, 2, 3).conj(), cache["x_hat"])
    dw_full = scipy.fft.irfft2(dw_hat, s=shape, workers=-1)
    dw = np.ascontiguousarray(dw_full[:, :, :D * (HH - 1) + 1:D, :D * (WW - 1) + 1:D],
                              dtype=cache["w_dtype"])
    dx = None
    if compute_dx:
        # dx[n, c] = sum_f conv(dout[n, f], w[f, c]): (N, F) @ (F, C) per frequency.
        dx_full = scipy.fft.irfft2(_frequency_matmul(dout_hat, cache["w_hat"]), s=shape,
                                   workers=-1)
        dx = np.ascontiguousarray(dx_full[:, :, P:P + H, P:P + W], dtype=cache["x_dtype"])
    return dx, dw, db.astype(cache["b_dtype"], copy=False)
