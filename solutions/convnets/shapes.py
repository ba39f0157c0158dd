"""The sizing rules, written once: how many outputs a window gives along an axis.

The notes' rule: a layer with input size ``W``, filter size ``F``, stride ``S``
and zero-padding ``P`` has ``(W - F + 2P)/S + 1`` outputs along that axis, and
the hyperparameters are only valid when that is a whole number. A dilated filter
(``dilation=D``, 1 = contiguous) covers ``D*(F - 1) + 1`` input pixels, so the
same formula holds with that effective size in place of ``F``.

Networks may opt out of the strict rule per layer (``fit='floor'`` crops the input,
``fit='ceil'`` pads it, as frameworks round): :func:`fit_window` gives the output
size and the padding or cropping that makes the windows tile the input.

Every rule raises ``ValueError`` with a message naming the axis, the formula and the
numbers, so that a student sees *why* a setting is invalid instead of a traceback
from inside NumPy. The argument checks (``check_int``, ``check_array``, ...) are in
:mod:`convnets.checks`; they are importable from here too, their old path.
"""

from __future__ import annotations

from .checks import (  # noqa: F401  (re-exported: the old path of the checks)
    check_array,
    check_conv_inputs,
    check_conv_param,
    check_int,
    check_key,
    check_pool_param,
)

__all__ = ["conv_output_size", "pool_output_size", "effective_filter_size"]

# How a layer may respond when its windows do not tile the input (see fit_window).
FITS = ("strict", "floor", "ceil")


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
    _check_filter_fits(W, F_eff, P, axis, eff)
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


def conv_output_shape(H: int, W: int, HH: int, WW: int, S: int = 1, P: int = 0,
                      dilation: int = 1) -> tuple[int, int]:
    """``(H', W')`` of a convolution: :func:`conv_output_size` along both axes."""
    return (conv_output_size(H, HH, S, P, dilation, axis="height"),
            conv_output_size(W, WW, S, P, dilation, axis="width"))


def pool_output_shape(H: int, W: int, HH: int, WW: int, S: int) -> tuple[int, int]:
    """``(H', W')`` of a pooling layer: :func:`pool_output_size` along both axes."""
    return (pool_output_size(H, HH, S, axis="height"),
            pool_output_size(W, WW, S, axis="width"))


def _check_filter_fits(W: int, F_eff: int, P: int, axis: str, note: str = "") -> None:
    if F_eff > W + 2 * P:
        raise ValueError(
            f"filter larger than the padded input along the {axis}: "
            f"F = {F_eff} > W + 2P = {W} + 2*{P} = {W + 2 * P}{note}"
        )


def check_fit(fit) -> str:
    """``fit`` must be one of :data:`FITS`."""
    if fit not in FITS:
        raise ValueError(f"fit must be one of {FITS}, got fit = {fit!r}")
    return fit


def fit_window(W: int, F: int, S: int, P: int, D: int, fit: str, axis: str,
               pooling: bool = False) -> tuple[int, int, int]:
    """Output size along one axis, and how to pad the input so windows tile it exactly.

    ``fit='strict'`` is the notes' rule (:func:`conv_output_size`, or
    :func:`pool_output_size` for unpadded pooling): raise when the windows do not
    tile the input. ``fit='floor'`` crops the trailing rows no window reaches,
    ``out = floor((W - F + 2P)/S) + 1`` (PyTorch's and Caffe's convolution);
    ``fit='ceil'`` pads the rest, ``out = ceil((W - F + 2P)/S) + 1``, except that the
    last window must start inside the input or its left padding (PyTorch's
    ``ceil_mode=True``).

    Returns ``(out, before, after)``: pad ``before`` pixels at the start and ``after``
    at the end (``after < 0`` means crop ``-after`` trailing pixels), after which a
    window of ``F`` (dilated: ``D*(F-1)+1``) at stride ``S`` with no padding gives
    exactly ``out`` outputs.
    """
    F_eff = effective_filter_size(F, D)
    if fit == "strict":
        if pooling and P == 0:
            out = pool_output_size(W, F, S, axis=axis)
        else:
            out = conv_output_size(W, F, S, P, dilation=D, axis=axis)
    else:
        _check_filter_fits(W, F_eff, P, axis)
        span = W + 2 * P - F_eff
        if fit == "floor":
            out = span // S + 1
        else:  # ceil: the last window must start inside the input or its left padding
            out = -(-span // S) + 1
            if (out - 1) * S >= W + P:
                out -= 1
    needed = (out - 1) * S + F_eff
    return out, P, needed - W - P
