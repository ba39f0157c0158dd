"""First-order update rules: SGD, SGD with momentum, RMSProp and Adam.

Every rule has the same signature, the one CS231n uses::

    next_w, config = update(w, dw, config=None)

- ``w`` : ndarray, any shape. The current value of one parameter.
- ``dw`` : ndarray, same shape as ``w``. The gradient of the loss with respect to ``w``.
- ``config`` : dict or None. Hyperparameters (learning rate, ...) and the rule's
  running state (velocity, moment estimates, ...). Missing keys are filled in with
  the defaults listed in each docstring; the state is created on the first call.

The rule returns the updated parameter and the config to pass back at the next step
(the same dict, updated). Each parameter keeps its own config, because the state has
that parameter's shape. ``next_w`` has the dtype of ``w``: float32 parameters stay
float32, and so does their state.

The :class:`convnets.Solver` looks rules up here by name (``update_rule='adam'``).
"""

from __future__ import annotations

import numpy as np

from ..checks import check_array

__all__ = ["sgd", "sgd_momentum", "rmsprop", "adam", "get_update_rule", "UPDATE_RULES"]


def _start(w, dw, config):
    """Validate the arrays and return ``(w, dw, config)`` with ``dw`` in ``w``'s dtype."""
    w = check_array(w, "w")
    dw = check_array(dw, "dw")
    if dw.shape != w.shape:
        raise ValueError(f"dw must have the shape of w: w has shape {w.shape}, "
                         f"dw has shape {dw.shape}")
    if config is None:
        config = {}
    elif not isinstance(config, dict):
        raise TypeError(f"config must be a dict or None, got {type(config).__name__}")
    return w, dw.astype(w.dtype, copy=False), config


def _state(config, key, w):
    """The running state ``config[key]`` (zeros like ``w`` on the first call)."""
    value = config.get(key)
    if value is None:
        value = np.zeros_like(w)
    else:
        value = np.asarray(value, dtype=w.dtype)
        if value.shape != w.shape:
            raise ValueError(f"config[{key!r}] must have the shape of w: w has shape "
                             f"{w.shape}, config[{key!r}] has shape {value.shape}")
    return value


def _positive(config, key):
    value = config[key]
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"config[{key!r}] must be a finite number >= 0, got {value!r}")
    return value


def _fraction(config, key):
    value = config[key]
    if not 0 <= value < 1:
        raise ValueError(f"config[{key!r}] must be in [0, 1), got {value!r}")
    return value


def sgd(w, dw, config=None):
    """Vanilla stochastic gradient descent: ``w -= learning_rate * dw``.

    Parameters
    ----------
    w, dw : ndarray, shape (...)
        Parameter and its gradient (same shape).
    config : dict or None
        ``learning_rate`` (default 1e-2).

    Returns
    -------
    next_w : ndarray, shape (...), dtype of ``w``
    config : dict
    """
    w, dw, config = _start(w, dw, config)
    config.setdefault("learning_rate", 1e-2)
    lr = _positive(config, "learning_rate")
    next_w = w - w.dtype.type(lr) * dw
    return next_w, config


def sgd_momentum(w, dw, config=None):
    """SGD with momentum: a velocity that accumulates past gradients.

    ``v = momentum * v - learning_rate * dw``, then ``w += v``. With ``momentum=0``
    this is plain SGD; with 0.9 a gradient that keeps its sign is followed with up to
    ten times the learning rate, while oscillating components cancel out.

    Parameters
    ----------
    w, dw : ndarray, shape (...)
    config : dict or None
        ``learning_rate`` (default 1e-2), ``momentum`` in [0, 1) (default 0.9),
        ``velocity`` (state, shape of ``w``; zeros at the start).

    Returns
    -------
    next_w : ndarray, shape (...), dtype of ``w``
    config : dict
        With the new ``velocity``.
    """
    w, dw, config = _start(w, dw, config)
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    lr = w.dtype.type(_positive(config, "learning_rate"))
    mu = w.dtype.type(_fraction(config, "momentum"))
    v = _state(config, "velocity", w)
    v = mu * v - lr * dw
    config["velocity"] = v
    return w + v, config


def rmsprop(w, dw, config=None):
    """RMSProp: divide each step by a running root mean square of the gradient.

    ``cache = decay_rate * cache + (1 - decay_rate) * dw**2``, then
    ``w -= learning_rate * dw / (sqrt(cache) + epsilon)``. Every coordinate gets its
    own effective step size, so steep and flat directions progress at similar speeds.

    Parameters
    ----------
    w, dw : ndarray, shape (...)
    config : dict or None
        ``learning_rate`` (default 1e-2), ``decay_rate`` in [0, 1) (default 0.99),
        ``epsilon`` (default 1e-8, avoids dividing by zero), ``cache`` (state, shape of
        ``w``; zeros at the start).

    Returns
    -------
    next_w : ndarray, shape (...), dtype of ``w``
    config : dict
        With the new ``cache``.
    """
    w, dw, config = _start(w, dw, config)
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    t = w.dtype.type
    lr = t(_positive(config, "learning_rate"))
    decay = t(_fraction(config, "decay_rate"))
    eps = t(_positive(config, "epsilon"))
    cache = _state(config, "cache", w)
    cache = decay * cache + (1 - decay) * dw * dw
    config["cache"] = cache
    next_w = w - lr * dw / (np.sqrt(cache) + eps)
    return next_w, config


def adam(w, dw, config=None):
    """Adam: momentum on the gradient plus RMSProp's scaling, both bias-corrected.

    At step ``t`` (counted from 1)::

        m = beta1 * m + (1 - beta1) * dw          # first moment (mean)
        v = beta2 * v + (1 - beta2) * dw**2       # second moment (uncentered variance)
        m_hat = m / (1 - beta1**t)                # both start at zero: undo that bias
        v_hat = v / (1 - beta2**t)
        w -= learning_rate * m_hat / (sqrt(v_hat) + epsilon)

    Parameters
    ----------
    w, dw : ndarray, shape (...)
    config : dict or None
        ``learning_rate`` (default 1e-3), ``beta1`` (default 0.9), ``beta2`` (default
        0.999), ``epsilon`` (default 1e-8), and the state: ``m`` and ``v`` (shape of
        ``w``; zeros at the start) and ``t`` (steps taken so far; 0 at the start).

    Returns
    -------
    next_w : ndarray, shape (...), dtype of ``w``
    config : dict
        With the new ``m``, ``v`` and ``t`` (incremented by one).
    """
    w, dw, config = _start(w, dw, config)
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("t", 0)
    tp = w.dtype.type
    lr = _positive(config, "learning_rate")
    beta1 = _fraction(config, "beta1")
    beta2 = _fraction(config, "beta2")
    eps = tp(_positive(config, "epsilon"))
    m = _state(config, "m", w)
    v = _state(config, "v", w)
    t = int(config["t"]) + 1
    # New arrays for m and v (the caller's state is never modified in place), built
    # with in-place steps: each full-size temporary costs as much as the arithmetic.
    m_new = dw * tp(1 - beta1)
    m_new += tp(beta1) * m
    v_new = dw * dw
    v_new *= tp(1 - beta2)
    v_new += tp(beta2) * v
    # The bias corrections folded into two scalars, as the Adam paper suggests (same
    # value): m_hat / (sqrt(v_hat) + eps) = (sqrt(c2) / c1) * m / (sqrt(v) + eps * sqrt(c2))
    # with c1 = 1 - beta1**t and c2 = 1 - beta2**t.
    c1, root_c2 = 1 - beta1 ** t, np.sqrt(1 - beta2 ** t)
    step = np.sqrt(v_new)
    step += eps * tp(root_c2)
    np.divide(m_new, step, out=step)
    step *= tp(lr * root_c2 / c1)
    next_w = w - step
    config["m"], config["v"], config["t"] = m_new, v_new, t
    return next_w, config


UPDATE_RULES = {"sgd": sgd, "sgd_momentum": sgd_momentum, "rmsprop": rmsprop, "adam": adam}
"""Every update rule by name (the names :class:`convnets.Solver` accepts)."""


def get_update_rule(rule):
    """Return the update function for a name in :data:`UPDATE_RULES` or a callable.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the known ones).
    TypeError
        For something that is neither a string nor callable.
    """
    if callable(rule):
        return rule
    if isinstance(rule, str):
        if rule not in UPDATE_RULES:
            raise ValueError(f"unknown update_rule {rule!r}; choose one of "
                             f"{sorted(UPDATE_RULES)} or pass a function "
                             f"update(w, dw, config) -> (next_w, config)")
        return UPDATE_RULES[rule]
    raise TypeError(f"update_rule must be a name or a function, got {type(rule).__name__}")
