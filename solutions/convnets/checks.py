"""The argument checks, written once: every layer, network and trainer uses these.

Each check returns the value in the form the caller needs (an ``int``, a float
ndarray, the validated hyperparameters) or raises ``TypeError`` (the wrong kind of
object) or ``ValueError`` (a wrong value) with a message naming the argument, the
rule and the numbers, so that a student sees *why* an input is refused instead of
a traceback from inside NumPy. The sizing rules themselves (``(W - F + 2P)/S + 1``
and its variants) are in :mod:`convnets.shapes`.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__: list[str] = []  # used inside the package; the old path convnets.shapes re-exports them


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


def check_real(value, name: str) -> float:
    """Return ``value`` as a finite float, or raise naming the argument."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {name} = {value}")
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


def check_dout(dout, expected_shape, layer: str, *, shape_doc: str = "",
               same_ndim: bool = False) -> np.ndarray:
    """The upstream gradient of every backward pass: exactly the shape of the forward output.

    Parameters
    ----------
    dout : array_like
        The upstream gradient, checked as :func:`check_array` (real numbers).
    expected_shape : tuple of int
        The shape of the forward output.
    layer : str
        How the message names the layer ("the affine layer", "conv", ...).
    shape_doc : str
        The symbolic shape, appended as ``; dout must be <shape_doc>`` (pooling).
    same_ndim : bool
        Check the number of dimensions first (``dout must be 4-D ...``) and word the
        shape error as ``dout must have the shape of the <layer> output ...`` (the
        convolutions); otherwise ``dout has shape ... but the output of <layer> had
        shape ...``. The two wordings are those the layers always used.

    Raises
    ------
    ValueError
        If ``dout`` does not have the shape of the forward output.
    TypeError
        If ``dout`` does not hold real numbers.
    """
    expected = tuple(expected_shape)
    dout = check_array(dout, "dout", len(expected) if same_ndim else None)
    if dout.shape == expected:
        return dout
    if same_ndim:
        raise ValueError(f"dout must have the shape of the {layer} output {expected}, "
                         f"got {dout.shape}")
    doc = f"; dout must be {shape_doc}" if shape_doc else ""
    raise ValueError(f"dout has shape {dout.shape} but the output of {layer} had shape "
                     f"{expected}{doc}")


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
    check_bias(b, w.shape[0], f"there are F = {w.shape[0]} filters (w shape {w.shape})",
               "(F,)")
    return x, w, b


def check_bias(b: np.ndarray, outputs: int, what: str, shape_doc: str) -> None:
    """``len(b)`` must equal the number of outputs (filters or units), which ``what`` names."""
    if b.shape[0] != outputs:
        raise ValueError(f"bias length mismatch: b has {b.shape[0]} entries but {what}; "
                         f"b must be {shape_doc}")


def check_shape_arg(shape, name: str = "x_shape") -> tuple[int, int, int, int]:
    """A shape argument ``(N, C, H, W)``: four positive integers."""
    if not (isinstance(shape, tuple | list) and len(shape) == 4):
        raise ValueError(f"{name} must be a tuple (N, C, H, W), got {shape!r}")
    return tuple(check_int(s, f"{name} entries", minimum=1) for s in shape)


def check_input_shape(shape, default=None) -> tuple[int, int, int]:
    """A network's input volume ``(C, H, W)``: ``shape``, or ``default`` when it is None."""
    if shape is None:
        shape = default
    if shape is None:
        raise ValueError("the network has no input_shape yet: pass input_shape=(C, H, W) "
                         "when building it, or run a batch through it first")
    if len(tuple(shape)) != 3:
        raise ValueError(f"input_shape must be (C, H, W), got {shape!r}")
    return tuple(check_int(s, "input_shape entry", minimum=1) for s in shape)
