"""Output-size arithmetic and the input checks every layer shares.

The notes' rule: a layer with input size ``W``, filter size ``F``, stride ``S``
and zero-padding ``P`` has ``(W - F + 2P)/S + 1`` outputs along that axis, and
the hyperparameters are only valid when that is a whole number. A dilated filter
(``dilation=D``, 1 = contiguous) covers ``D*(F - 1) + 1`` input pixels, so the
same formula holds with that effective size in place of ``F``.

Every check raises ``ValueError`` (wrong value) or ``TypeError`` (wrong kind of
object) with a message naming the argument, the rule and the numbers, so that a
student sees *why* a setting is invalid instead of a traceback from inside NumPy.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["conv_output_size", "pool_output_size", "effective_filter_size"]


def effective_filter_size(F: int, dilation: int = 1) -> int:
    """Input pixels spanned by a filter of size ``F`` with the given dilation.

    ``dilation=1`` is a contiguous filter (the notes call this "dilation 0");
    ``dilation=2`` leaves a gap of one pixel between taps (the notes' "dilation 1").
    """
    return dilation * (F - 1) + 1


def conv_output_size(W: int, F: int, S: int = 1, P: int = 0, dilation: int = 1,
                     axis: str = "width") -> int:
    """Number of positions a filter fits along one axis: ``(W - F + 2P)/S + 1``.

    Parameters
    ----------
    W : int
        Input size along the axis.
    F : int
        Filter size (before dilation).
    S : int
        Stride, >= 1.
    P : int
        Zero-padding added on each side, >= 0.
    dilation : int
        1 for a contiguous filter; the filter then spans ``dilation*(F-1)+1`` pixels.
    axis : str
        Name of the axis, used in error messages ("width", "height").

    Raises
    ------
    ValueError
        If the filter is larger than the padded input, or the filter positions do
        not tile the padded input evenly (the result is not an integer).

    Examples
    --------
    >>> conv_output_size(7, 3, S=1), conv_output_size(7, 3, S=2)
    (5, 3)
    >>> conv_output_size(227, 11, S=4)
    55
    """
    S = check_int(S, "stride", minimum=1)
    P = check_int(P, "pad", minimum=0)
    dilation = check_int(dilation, "dilation", minimum=1)
    F_eff = effective_filter_size(F, dilation)
    eff = "" if dilation == 1 else f" (F is the dilated filter size {dilation}*({F}-1)+1)"
    if F_eff > W + 2 * P:
        raise ValueError(
            f"filter larger than the padded input along the {axis}: "
            f"F = {F_eff} > W + 2P = {W} + 2*{P} = {W + 2 * P}{eff}"
        )
    span = W - F_eff + 2 * P
    if span % S != 0:
        raise ValueError(
            f"the filter does not fit along the {axis}: "
            f"(W - F + 2P)/S + 1 = ({W} - {F_eff} + {2 * P})/{S} + 1 = "
            f"{_fmt(span / S + 1)} is not an integer{eff}"
        )
    return span // S + 1


def pool_output_size(W: int, F: int, S: int, axis: str = "width") -> int:
    """Number of pooling windows along one axis: ``(W - F)/S + 1``.

    Raises ``ValueError`` when the windows do not tile the input (for example a
    7x7 input with F=2, S=2) or a window is larger than the input.

    >>> pool_output_size(224, 2, 2)
    112
    """
    S = check_int(S, "stride", minimum=1)
    if F > W:
        raise ValueError(f"pooling window larger than the input along the {axis}: "
                         f"F = {F} > W = {W}")
    span = W - F
    if span % S != 0:
        raise ValueError(
            f"the pooling windows do not tile the input along the {axis}: "
            f"(W - F)/S + 1 = ({W} - {F})/{S} + 1 = {_fmt(span / S + 1)} is not an integer"
        )
    return span // S + 1


def _fmt(value: float) -> str:
    """4.5 -> '4.5', 54.25 -> '54.25', 3.3333333 -> '3.333'."""
    return f"{value:.4g}"


# --------------------------------------------------------------------------------------
# Checks shared by the layers (not part of the public API, but used by every module).
# --------------------------------------------------------------------------------------

def check_int(value, name: str, minimum: int | None = None) -> int:
    """Return ``value`` as an int, or raise naming the argument and the rule."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise TypeError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {name} = {value}")
    return value


def check_array(x, name: str, ndim: int | None = None, shape_doc: str = "") -> np.ndarray:
    """Return ``x`` as a floating-point ndarray, checking its number of dimensions.

    Integer arrays are converted to float64 (a convolution of integers is rarely
    what anyone wants, and it would overflow silently); float32 stays float32.
    """
    if not isinstance(x, np.ndarray):
        try:
            x = np.asarray(x)
        except Exception as err:  # ragged lists and the like
            raise TypeError(f"{name} must be an array, got {type(x).__name__}") from err
    if x.dtype == object or not np.issubdtype(x.dtype, np.number):
        raise TypeError(f"{name} must hold numbers, got dtype {x.dtype}")
    if np.iscomplexobj(x):
        raise TypeError(f"{name} must be real, got dtype {x.dtype}")
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    if ndim is not None and x.ndim != ndim:
        doc = f" {shape_doc}" if shape_doc else ""
        raise ValueError(f"{name} must be {ndim}-D{doc}, got shape {x.shape} ({x.ndim}-D)")
    return x


def check_key(params: dict, key: str, name: str, default=None):
    """Look up a hyperparameter, with a clear error when it is missing."""
    if not isinstance(params, dict):
        raise TypeError(f"{name} must be a dict, got {type(params).__name__}")
    if key in params:
        return params[key]
    if default is not None:
        return default
    raise ValueError(f"{name} is missing the key {key!r} (got keys {sorted(params)})")


def check_conv_param(conv_param: dict) -> tuple[int, int, int]:
    """Return ``(stride, pad, dilation)`` from a ``conv_param`` dict, validated."""
    S = check_int(check_key(conv_param, "stride", "conv_param"), "conv_param['stride']",
                  minimum=1)
    P = check_int(check_key(conv_param, "pad", "conv_param"), "conv_param['pad']", minimum=0)
    D = check_int(conv_param.get("dilation", 1) if isinstance(conv_param, dict) else 1,
                  "conv_param['dilation']", minimum=1)
    return S, P, D


def check_pool_param(pool_param: dict) -> tuple[int, int, int]:
    """Return ``(pool_height, pool_width, stride)`` from a ``pool_param`` dict, validated."""
    HH = check_int(check_key(pool_param, "pool_height", "pool_param"),
                   "pool_param['pool_height']", minimum=1)
    WW = check_int(check_key(pool_param, "pool_width", "pool_param"),
                   "pool_param['pool_width']", minimum=1)
    S = check_int(check_key(pool_param, "stride", "pool_param"), "pool_param['stride']",
                  minimum=1)
    return HH, WW, S


def check_conv_inputs(x, w, b):
    """Validate the arrays of a conv layer: x (N, C, H, W), w (F, C, HH, WW), b (F,)."""
    x = check_array(x, "x", 4, "(N, C, H, W)")
    w = check_array(w, "w", 4, "(F, C, HH, WW)")
    b = check_array(b, "b", 1, "(F,)")
    if x.shape[1] != w.shape[1]:
        raise ValueError(
            f"channel mismatch: x has C = {x.shape[1]} channels (shape {x.shape}) but the "
            f"filters w expect C = {w.shape[1]} (shape {w.shape}); w must be (F, C, HH, WW)"
        )
    if b.shape[0] != w.shape[0]:
        raise ValueError(
            f"bias length mismatch: b has {b.shape[0]} entries but there are "
            f"F = {w.shape[0]} filters (w shape {w.shape}); b must be (F,)"
        )
    return x, w, b
