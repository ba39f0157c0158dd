"""Normalization layers: local response normalization (AlexNet) and batch normalization.

* **Local response normalization** (LRN, from AlexNet and cuda-convnet) divides
  each activation by a power of the summed squares of its neighbours *across
  channels* at the same pixel. It has fallen out of use; it is here because the
  classic architectures used it.
* **Batch normalization** (used throughout ResNet) standardises each feature over
  the minibatch, then scales and shifts it by learned ``gamma`` and ``beta``.
  :func:`batchnorm_forward` works on ``(N, D)`` features;
  :func:`spatial_batchnorm_forward` on ``(N, C, H, W)`` volumes, with one mean and
  variance per channel taken over ``N``, ``H`` and ``W``.
"""

from __future__ import annotations

import numpy as np

from ..checks import check_array, check_dout, check_int, check_key, check_real

__all__ = [
    "lrn_forward",
    "lrn_backward",
    "batchnorm_forward",
    "batchnorm_backward",
    "spatial_batchnorm_forward",
    "spatial_batchnorm_backward",
]

# AlexNet's hyperparameters (Krizhevsky et al., 2012), used when a key is missing.
_LRN_DEFAULTS = {"alpha": 1e-4, "beta": 0.75, "k": 2.0}






# --------------------------------------------------------------------------------------
# Local response normalization
# --------------------------------------------------------------------------------------

def _check_lrn_param(lrn_param) -> tuple[int, float, float, float]:
    n = check_int(check_key(lrn_param, "size", "lrn_param"), "lrn_param['size']", minimum=1)
    alpha = check_real(lrn_param.get("alpha", _LRN_DEFAULTS["alpha"]), "lrn_param['alpha']")
    beta = check_real(lrn_param.get("beta", _LRN_DEFAULTS["beta"]), "lrn_param['beta']")
    k = check_real(lrn_param.get("k", _LRN_DEFAULTS["k"]), "lrn_param['k']")
    if k <= 0:
        raise ValueError(
            f"lrn_param['k'] must be > 0 so that the denominator k + alpha*sum(a^2) stays "
            f"positive, got k = {k}"
        )
    if alpha < 0:
        raise ValueError(f"lrn_param['alpha'] must be >= 0, got alpha = {alpha}")
    return n, alpha, beta, k


def _channel_window_sum(a: np.ndarray, before: int, after: int) -> np.ndarray:
    """``out[:, c] = sum(a[:, c - before : c + after + 1])`` over axis 1, clipped to the
    channels that exist (a loop over the ``before + after + 1`` offsets, exact)."""
    C = a.shape[1]
    padded = np.zeros((a.shape[0], C + before + after) + a.shape[2:], dtype=a.dtype)
    padded[:, before:before + C] = a
    out = np.zeros_like(a)
    for offset in range(before + after + 1):
        out += padded[:, offset:offset + C]
    return out


def lrn_forward(x, lrn_param):
    """Local response normalization across channels (AlexNet, Section 3.3).

    For every example and pixel, channel ``c`` is divided by a power of the sum of
    squares over a window of ``n`` neighbouring channels:

        b_c = a_c / (k + alpha * sum_{c' in window(c)} a_{c'}^2) ** beta

    with ``window(c) = max(0, c - n//2) .. min(C-1, c + (n-1)//2)``. For odd ``n``
    (AlexNet: 5) that is ``n//2`` channels on each side. For even ``n`` it is ``n/2``
    channels before ``c`` and ``n/2 - 1`` after (``n`` channels in all), the same
    convention as PyTorch. Channels past the edges count as zero.

    **alpha is not divided by n**, as in the AlexNet paper. PyTorch's
    ``local_response_norm`` and Caffe's LRN use ``alpha/n`` instead, so this layer
    with ``alpha`` equals those with ``alpha * n``.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    lrn_param : dict
        ``'size'`` (n, required, >= 1); ``'alpha'``, ``'beta'``, ``'k'`` default to
        AlexNet's ``1e-4``, ``0.75``, ``2``. ``k > 0`` and ``alpha >= 0`` are required.

    Returns
    -------
    out : ndarray, shape (N, C, H, W), dtype of ``x``
    cache : tuple
        ``(x, denom, scale, (n, alpha, beta, k))`` with ``denom = k + alpha * window
        sum of x^2`` and ``scale = denom ** -beta``, both shaped like ``x``.

    Raises
    ------
    ValueError
        If ``x`` is not 4-D, ``'size'`` is missing or < 1, ``k <= 0`` or ``alpha < 0``.
    TypeError
        If ``x`` does not hold real numbers or a hyperparameter has the wrong type.
    """
    x = check_array(x, "x", 4, "(N, C, H, W)")
    n, alpha, beta, k = _check_lrn_param(lrn_param)
    dtype = x.dtype
    window = _channel_window_sum(x * x, n // 2, (n - 1) // 2)
    denom = (k + alpha * window).astype(dtype, copy=False)
    scale = (denom ** -beta).astype(dtype, copy=False)
    out = x * scale
    return out, (x, denom, scale, (n, alpha, beta, k))


def lrn_backward(dout, cache):
    """Backward pass of local response normalization.

    With ``D_c = k + alpha * sum_{c' in window(c)} a_{c'}^2`` and ``b_c = a_c D_c^-beta``:

        dL/da_j = dout_j D_j^-beta
                  - 2 alpha beta a_j * sum_{c : j in window(c)} dout_c a_c D_c^(-beta-1)

    The channels ``c`` whose window contains ``j`` are ``j - (n-1)//2 .. j + n//2``
    (the window reflected), summed with the same loop as the forward pass.

    Parameters
    ----------
    dout : ndarray, shape (N, C, H, W)
    cache : tuple
        From :func:`lrn_forward`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W), dtype of ``x``

    Raises
    ------
    ValueError
        If ``dout`` does not have the shape of ``x``.
    """
    x, denom, scale, (n, alpha, beta, k) = cache
    dout = check_dout(dout, x.shape, "local response normalization")
    t = dout * x * scale / denom  # dout_c a_c D_c^(-beta-1)
    reflected = _channel_window_sum(t, (n - 1) // 2, n // 2)
    dx = dout * scale - (2 * alpha * beta) * x * reflected
    return dx.astype(x.dtype, copy=False)


# --------------------------------------------------------------------------------------
# Batch normalization
# --------------------------------------------------------------------------------------

def _check_bn_param(bn_param, D: int, dtype) -> tuple[str, float, float]:
    """Validate ``bn_param``; create the running statistics if missing."""
    mode = check_key(bn_param, "mode", "bn_param")
    if mode not in ("train", "test"):
        raise ValueError(f"bn_param['mode'] must be 'train' or 'test', got {mode!r}")
    eps = check_real(bn_param.get("eps", 1e-5), "bn_param['eps']")
    if eps <= 0:
        raise ValueError(f"bn_param['eps'] must be > 0, got eps = {eps}")
    momentum = check_real(bn_param.get("momentum", 0.9), "bn_param['momentum']")
    if not 0 <= momentum <= 1:
        raise ValueError(f"bn_param['momentum'] must be in [0, 1], got momentum = {momentum}")
    for key, init in (("running_mean", np.zeros), ("running_var", np.ones)):
        if key not in bn_param:
            bn_param[key] = init(D, dtype=dtype)
        stat = check_array(bn_param[key], f"bn_param[{key!r}]", 1, "(D,)")
        if stat.shape[0] != D:
            raise ValueError(
                f"bn_param[{key!r}] has {stat.shape[0]} entries but x has D = {D} features"
            )
        bn_param[key] = stat
    return mode, eps, momentum


def batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalization of ``(N, D)`` features.

    Train mode normalises with the minibatch's own statistics and updates the
    running averages; test mode uses the running averages:

        mu, var = mean(x, axis=0), var(x, axis=0)         (train; biased variance)
        x_hat   = (x - mu) / sqrt(var + eps)
        out     = gamma * x_hat + beta
        running_mean = momentum * running_mean + (1 - momentum) * mu   (same for var)

    Parameters
    ----------
    x : ndarray, shape (N, D)
    gamma, beta : ndarray, shape (D,)
        Learned scale and shift.
    bn_param : dict, updated in place
        ``'mode'``: ``'train'`` or ``'test'`` (required); ``'eps'`` (default 1e-5);
        ``'momentum'`` (default 0.9, the weight of the *old* running value as in
        CS231n; PyTorch's momentum 0.1 is the same rule written ``1 - 0.9``);
        ``'running_mean'`` and ``'running_var'`` of shape (D,). Missing running
        statistics are created as **zeros (mean) and ones (variance)**, unlike CS231n
        which starts both at zero: with ones, test mode before any training is the
        identity normalization ``(x - 0)/sqrt(1 + eps)`` instead of a division by
        ``sqrt(eps)``. The running variance uses the biased (``/N``) batch variance.

    Returns
    -------
    out : ndarray, shape (N, D)
        Dtype of NumPy's promotion of ``x``, ``gamma``, ``beta`` (float32 stays float32).
    cache : tuple
        ``(x_hat, gamma, inv_std, mode)`` with ``inv_std = 1/sqrt(var + eps)`` of
        shape (D,) (batch variance in train mode, running variance in test mode).

    Raises
    ------
    ValueError
        If ``x`` is not 2-D, ``gamma``/``beta`` are not of shape (D,), ``'mode'`` is
        missing or not ``'train'``/``'test'``, ``eps <= 0``, ``momentum`` is outside
        [0, 1], or a running statistic has the wrong shape.
    """
    x = check_array(x, "x", 2, "(N, D)")
    D = x.shape[1]
    gamma = check_array(gamma, "gamma", 1, "(D,)")
    beta = check_array(beta, "beta", 1, "(D,)")
    for name, value in (("gamma", gamma), ("beta", beta)):
        if value.shape[0] != D:
            raise ValueError(
                f"{name} has {value.shape[0]} entries but x of shape {x.shape} has D = {D} "
                f"features; {name} must be (D,)"
            )
    mode, eps, momentum = _check_bn_param(bn_param, D, x.dtype)
    out_dtype = np.result_type(x, gamma, beta)
    if mode == "train":
        if x.shape[0] == 0:
            raise ValueError(f"train mode needs at least one example, got x of shape {x.shape}")
        mu = x.mean(axis=0)
        var = x.var(axis=0)
        running_mean, running_var = bn_param["running_mean"], bn_param["running_var"]
        bn_param["running_mean"] = (momentum * running_mean + (1 - momentum) * mu).astype(
            running_mean.dtype, copy=False)
        bn_param["running_var"] = (momentum * running_var + (1 - momentum) * var).astype(
            running_var.dtype, copy=False)
    else:
        mu = bn_param["running_mean"]
        var = bn_param["running_var"]
        if np.any(var + eps <= 0):
            raise ValueError("bn_param['running_var'] + eps must be > 0 in test mode")
    inv_std = (1.0 / np.sqrt(var + eps)).astype(x.dtype, copy=False)
    x_hat = ((x - mu) * inv_std).astype(x.dtype, copy=False)
    out = (gamma * x_hat + beta).astype(out_dtype, copy=False)
    return out, (x_hat, gamma, inv_std, mode)


def batchnorm_backward(dout, cache):
    """Backward pass of batch normalization on ``(N, D)`` features.

    Train mode differentiates through the batch mean and variance (every output
    depends on every input of its feature column):

        dx_hat = dout * gamma
        dx     = inv_std / N * (N dx_hat - sum(dx_hat) - x_hat * sum(dx_hat * x_hat))

    Test mode uses fixed statistics, so ``dx = dout * gamma * inv_std``.

    Parameters
    ----------
    dout : ndarray, shape (N, D)
    cache : tuple
        ``(x_hat, gamma, inv_std, mode)`` from :func:`batchnorm_forward`.

    Returns
    -------
    dx : ndarray, shape (N, D), dtype of ``x``
    dgamma : ndarray, shape (D,)
        ``sum(dout * x_hat, axis=0)``.
    dbeta : ndarray, shape (D,)
        ``sum(dout, axis=0)``.

    Raises
    ------
    ValueError
        If ``dout`` does not have the shape of ``x``.
    """
    x_hat, gamma, inv_std, mode = cache
    dout = check_dout(dout, x_hat.shape, "batch normalization")
    N = x_hat.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    if mode == "train":
        dx = inv_std / N * (N * dx_hat - dx_hat.sum(axis=0)
                            - x_hat * (dx_hat * x_hat).sum(axis=0))
    else:
        dx = dx_hat * inv_std
    return (dx.astype(x_hat.dtype, copy=False), dgamma.astype(gamma.dtype, copy=False),
            dbeta.astype(gamma.dtype, copy=False))


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalization of ``(N, C, H, W)`` volumes, one statistic per channel.

    Every pixel of every example is one sample of its channel's feature, so this is
    :func:`batchnorm_forward` on ``x`` rearranged to ``(N*H*W, C)``: the mean and
    variance of channel ``c`` are taken over ``N``, ``H`` and ``W``.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    gamma, beta : ndarray, shape (C,)
    bn_param : dict, updated in place
        As :func:`batchnorm_forward`; the running statistics have shape (C,).

    Returns
    -------
    out : ndarray, shape (N, C, H, W)
    cache : tuple
        ``(bn_cache, x_shape)``, the cache of the ``(N*H*W, C)`` batch norm.

    Raises
    ------
    ValueError
        If ``x`` is not 4-D, or as :func:`batchnorm_forward` (with ``D = C``).
    """
    x = check_array(x, "x", 4, "(N, C, H, W)")
    N, C, H, W = x.shape
    columns = x.transpose(0, 2, 3, 1).reshape(-1, C)
    out, bn_cache = batchnorm_forward(columns, gamma, beta, bn_param)
    return out.reshape(N, H, W, C).transpose(0, 3, 1, 2), (bn_cache, x.shape)


def spatial_batchnorm_backward(dout, cache):
    """Backward pass of spatial batch normalization.

    Parameters
    ----------
    dout : ndarray, shape (N, C, H, W)
    cache : tuple
        ``(bn_cache, x_shape)`` from :func:`spatial_batchnorm_forward`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    dgamma, dbeta : ndarray, shape (C,)

    Raises
    ------
    ValueError
        If ``dout`` does not have the shape of ``x``.
    """
    bn_cache, x_shape = cache
    dout = check_dout(dout, x_shape, "spatial batch normalization")
    N, C, H, W = x_shape
    dx, dgamma, dbeta = batchnorm_backward(dout.transpose(0, 2, 3, 1).reshape(-1, C), bn_cache)
    return dx.reshape(N, H, W, C).transpose(0, 3, 1, 2), dgamma, dbeta
