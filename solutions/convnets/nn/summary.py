"""Size and memory accounting of a network, layer by layer, from the shapes alone.

:func:`summarize` walks a network with nothing but shapes (no forward pass, no
parameters allocated: summarizing VGG-16 is instant) and returns a
:class:`Summary` that prints like the notes' VGG table::

    CONV3-64: [224x224x64]  memory:  224*224*64=3.2M   weights: (3*3*3)*64 = 1,728

Conventions (those of the notes' table):

* **activations** of a row: the size of its output volume, ``C*H*W``.
* **total activations**: the input volume plus every layer's output volume, except
  layers that work in place (ReLU, and Flatten which is a reshape): their output
  is not a new volume. Batch norm and LRN outputs *are* counted (frameworks store
  them for the backward pass). Inside a block every inner layer counts, and the
  join (the residual sum, the Inception concatenation) is a volume of its own.
* **weights** and **biases**: conv and FC weights and biases; batch norm's gamma is
  counted with the weights and its beta with the biases (the published parameter
  counts of ResNet include both). Running statistics are buffers, not parameters.
* **receptive field**: the side length, in input pixels, of the region that one
  output neuron of the row depends on, dilation included:
  ``r_out = r_in + (F_eff - 1) * j_in`` and ``j_out = j_in * S``, where ``j`` is the
  distance in input pixels between neighbouring neurons of a layer. It may exceed
  the input: part of the region then falls on padding.

Memory (the notes' "computational considerations"), per image unless a batch
size is given, in bytes; printed in KB/MB/GB with **1 KB = 1024 bytes**:

* inference: activations + parameters (+ buffers);
* training: activations and their gradients (x2) + parameters x3 (values,
  gradients and a step cache for momentum/RMSProp/Adam) (+ buffers).

Everything the notes call "miscellaneous" (data batches, augmentation, im2col
scratch space) is left out.

Warnings (:class:`SizingWarning`) for the notes' rules of thumb: an input not
divisible by the network's total stride (so it cannot be halved evenly all the way
down: the notes ask for sizes "divisible by 2 many times"), and a stride-1 conv
whose padding is not ``(F-1)/2`` (it does not preserve the spatial size).
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass

import numpy as np

from ..checks import check_input_shape
from .blocks import Block
from .chain import bind_chain
from .layer import Layer
from .layers import Affine, Conv, GlobalAvgPool

__all__ = ["SizingWarning", "SummaryRow", "Summary", "summarize", "receptive_field",
           "format_bytes", "parse_bytes", "PARAM_COPIES"]

PARAM_COPIES = {"sgd": 2, "sgd_momentum": 3, "rmsprop": 3, "adam": 4}
"""Arrays of the size of the parameters that training keeps, per update rule of
:mod:`convnets.optim`: the values, their gradients, and the rule's running state (none
for SGD, a velocity for momentum, a squared-gradient cache for RMSProp, two moments for
Adam)."""


class SizingWarning(UserWarning):
    """A network breaks one of the notes' sizing rules of thumb (it still works)."""


@dataclass
class SummaryRow:
    """One row of a summary: a layer, or the input (``name == 'INPUT'``).

    ``name`` is the kind the notes' table uses (``CONV3-64``, ``POOL2``, ``FC``,
    ``RELU``, ``BN``, ``LRN``, ``AVGPOOL``, ``INCEPTION``, ``RESIDUAL``...); ``path``
    is the layer's name in the network (``conv1``, ``res2a.main.conv1``).
    """

    name: str
    path: str
    output_shape: tuple[int, int, int]
    activations: int
    weights: int
    biases: int
    receptive_field: int | tuple[int, int]
    weights_formula: str = "0"
    in_place: bool = False
    depth: int = 0

    @property
    def params(self) -> int:
        return self.weights + self.biases


_UNITS = ("bytes", "KB", "MB", "GB", "TB")


def format_bytes(n: float) -> str:
    """``60950432 -> '58.13 MB'``, dividing by 1024 for each unit (1 KB = 1024 bytes)."""
    value, unit = float(n), 0
    while value >= 1024 and unit < len(_UNITS) - 1:
        value /= 1024
        unit += 1
    return f"{int(value)} bytes" if unit == 0 else f"{value:.2f} {_UNITS[unit]}"


def parse_bytes(budget) -> int:
    """A number of bytes, or a string like ``'12GB'``, ``'3.5 GB'``, ``'512 MB'`` (1024-based)."""
    if isinstance(budget, str):
        match = re.fullmatch(r"\s*([0-9.]+)\s*(bytes|B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)?\s*",
                             budget, flags=re.IGNORECASE)
        if not match:
            raise ValueError(f"cannot read a memory size from {budget!r}; write e.g. '12GB'")
        unit = (match.group(2) or "bytes").upper().replace("IB", "B")
        power = {"BYTES": 0, "B": 0, "KB": 1, "MB": 2, "GB": 3, "TB": 4}[unit]
        return int(float(match.group(1)) * 1024 ** power)
    if isinstance(budget, bool) or not isinstance(budget, (int, float, np.integer, np.floating)):
        raise TypeError(f"budget must be a number of bytes or a string like '12GB', got "
                        f"{budget!r}")
    return int(budget)


def _si(n: int) -> str:
    """Short count like the notes' table: 150528 -> '151K', 3211264 -> '3.2M'."""
    if n < 1000:
        return str(n)
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "K")):
        if n >= div:
            value = n / div
            return f"{value:.0f}{suffix}" if value >= 100 else f"{value:.1f}{suffix}"
    return str(n)  # pragma: no cover


def _volume(shape) -> str:
    C, H, W = shape
    return f"[{H}x{W}x{C}]"


class Summary:
    """Layer-by-layer sizes of a network, totals and memory estimates.

    Attributes
    ----------
    rows : list of SummaryRow
        The input, then the layers (in-place layers only if asked for).
    input_shape : (C, H, W)
    total_weights, total_biases, total_params : int
        ``total_params = total_weights + total_biases``.
    total_buffers : int
        Non-trainable state (batch-norm running mean and variance).
    total_activations : int
        Input volume plus every layer's output volume, in-place layers excluded.
    total_stride : int
        Distance in input pixels between neighbouring neurons of the last spatial layer
        (the product of the strides, 32 for VGG-16).
    """

    def __init__(self, rows, input_shape, total_activations, total_weights, total_biases,
                 total_buffers, total_stride, name=""):
        self.rows = rows
        self.input_shape = input_shape
        self.total_activations = total_activations
        self.total_weights = total_weights
        self.total_biases = total_biases
        self.total_params = total_weights + total_biases
        self.total_buffers = total_buffers
        self.total_stride = total_stride
        self.name = name

    def memory(self, dtype="float32", training: bool = False, batch_size: int = 1,
               update_rule: str = "sgd_momentum") -> int:
        """Bytes needed for ``batch_size`` images.

        Inference: ``(activations * batch_size + params + buffers) * itemsize``.
        Training: ``(2 * activations * batch_size + k * params + buffers) * itemsize``
        (activations and their gradients; parameters, their gradients and the update
        rule's running state): ``k`` is :data:`PARAM_COPIES` of ``update_rule``, 3 for
        the default momentum (and RMSProp), as in the notes; 2 for plain SGD, 4 for Adam.
        """
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size < 0:
            raise ValueError(f"batch_size must be an integer >= 0, got {batch_size!r}")
        if update_rule not in PARAM_COPIES:
            raise ValueError(f"update_rule must be one of {sorted(PARAM_COPIES)}, got "
                             f"{update_rule!r}")
        itemsize = np.dtype(dtype).itemsize
        if training:
            values = (2 * self.total_activations * batch_size
                      + PARAM_COPIES[update_rule] * self.total_params)
        else:
            values = self.total_activations * batch_size + self.total_params
        return (values + self.total_buffers) * itemsize

    def max_batch_size(self, budget, dtype="float32", training: bool = True,
                       update_rule: str = "sgd_momentum") -> int:
        """Largest batch that fits in ``budget`` (bytes, or e.g. ``'12GB'``); 0 if none.

        The notes' heuristic: when a network does not fit, shrink the batch, since the
        activations (which scale with it) use most of the memory. ``update_rule`` as in
        :meth:`memory`.
        """
        budget = parse_bytes(budget)
        fixed = self.memory(dtype, training, batch_size=0, update_rule=update_rule)
        per_image = self.memory(dtype, training, batch_size=1, update_rule=update_rule) - fixed
        if budget < fixed:
            return 0
        return (budget - fixed) // per_image

    def to_string(self) -> str:
        """The table, totals and memory figures (what ``str(summary)`` prints)."""
        lines = []
        if self.name:
            lines.append(f"{self.name} on a {_volume(self.input_shape)} input")
        for row in self.rows:
            indent = "  " * row.depth
            C, H, W = row.output_shape
            if row.name == "INPUT" or H * W > 1:
                memory = f"{H}*{W}*{C}={_si(row.activations)}"
            else:
                memory = f"{row.activations}"
            if row.in_place:
                memory += " (in place)"
            if not row.weights:
                weights = "0"
            elif row.weights_formula == "sum of its layers":
                weights = f"{row.weights:,} (sum of its layers)"
            elif row.weights_formula == str(row.weights):
                weights = f"{row.weights:,}"
            else:
                weights = f"{row.weights_formula} = {row.weights:,}"
            biases = f"   biases: {row.biases:,}" if row.biases else ""
            rf = row.receptive_field
            rf = f"{rf}" if isinstance(rf, int) else f"{rf[0]}x{rf[1]}"
            lines.append(f"{indent}{row.name}: {_volume(row.output_shape)}  memory:  {memory}   "
                         f"weights: {weights}{biases}   rf: {rf}")
        act = self.total_activations
        lines += [
            "",
            f"TOTAL activations: {act:,} per image (the input and every layer's output volume; "
            f"ReLU works in place)",
            f"TOTAL params: {self.total_params:,} ({self.total_weights:,} weights + "
            f"{self.total_biases:,} biases)"
            + (f"; buffers: {self.total_buffers:,}" if self.total_buffers else ""),
            "",
            "Memory per image (1 KB = 1024 bytes)       float32        float64",
        ]
        figures = [
            ("activations only (forward)", act, 1),
            ("inference (activations + params)", None, False),
            ("training (2 x activations + 3 x params)", None, True),
        ]
        for label, count, training in figures:
            if count is not None:
                cells = [format_bytes(count * np.dtype(d).itemsize) for d in ("float32",
                                                                              "float64")]
            else:
                cells = [format_bytes(self.memory(d, training)) for d in ("float32", "float64")]
            lines.append(f"  {label:<40} {cells[0]:>12}   {cells[1]:>12}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_string()

    def __repr__(self) -> str:
        return (f"Summary({self.name or 'network'}: {len(self.rows)} rows, "
                f"{self.total_params:,} params, {self.total_activations:,} activations)")


# --------------------------------------------------------------------------------------
# Walking a network
# --------------------------------------------------------------------------------------

class _Walk:
    """Accumulates rows and totals while tracing shapes and receptive fields."""

    def __init__(self, input_shape, expand: bool, include_in_place: bool, warn: bool):
        self.expand = expand
        self.include_in_place = include_in_place
        self.warn = warn
        self.rows: list[SummaryRow] = []
        self.activations = math.prod(input_shape)
        self.weights = self.biases = self.buffers = 0
        self.max_stride = 1
        self.warnings: list[str] = []

    def chain(self, layers, shape, state, depth, show=True):
        for layer in layers:
            shape, state = self.layer(layer, shape, state, depth, show)
        return shape, state

    def layer(self, layer: Layer, in_shape, state, depth, show):
        out_shape = layer.output_shape(in_shape)  # raises ValueError naming the layer
        if isinstance(layer, Block):
            return out_shape, self.block(layer, in_shape, out_shape, state, depth, show)
        rh, rw, jh, jw = state
        Fh, Fw, Sh, Sw = layer.geometry(in_shape)
        state = (rh + (Fh - 1) * jh, rw + (Fw - 1) * jw, jh * Sh, jw * Sw)
        if not isinstance(layer, (Affine, GlobalAvgPool)):
            self.max_stride = max(self.max_stride, state[2], state[3])
        weights, biases = layer.counts(in_shape)
        self.weights += weights
        self.biases += biases
        self.buffers += sum(math.prod(s) for s in layer.buffer_shapes(in_shape).values())
        if not layer.in_place:
            self.activations += math.prod(out_shape)
        if self.warn and isinstance(layer, Conv):
            self.warnings += _padding_warnings(layer, in_shape)
        if show and (self.include_in_place or not layer.in_place):
            self.rows.append(SummaryRow(
                layer.kind, layer.path, out_shape, math.prod(out_shape), weights, biases,
                _side(state), layer.weights_formula(in_shape) if weights else "0",
                layer.in_place, depth))
        return out_shape, state

    def block(self, block: Block, in_shape, out_shape, state, depth, show):
        ends = []
        for layers in block.branches.values():
            _, end = self.chain(layers, in_shape, state, depth + 1, show and self.expand)
            ends.append(end)
        state = tuple(max(e[i] for e in ends) for i in range(4))
        self.activations += math.prod(out_shape)  # the sum / the concatenation
        if show:
            weights, biases = block.counts(in_shape) if not self.expand else (0, 0)
            formula = "sum of its layers" if weights else "0"
            self.rows.append(SummaryRow(block.kind, block.path, out_shape,
                                        math.prod(out_shape), weights, biases, _side(state),
                                        formula, False, depth))
        return state


def _side(state) -> int | tuple[int, int]:
    rh, rw = state[0], state[1]
    return rh if rh == rw else (rh, rw)


def _padding_warnings(conv: Conv, in_shape) -> list[str]:
    """The notes' rule: stride-1 convs should pad by (F-1)/2 to keep the size."""
    if not conv.warn_padding or conv.stride != 1:
        return []
    Fh, Fw, _, _ = conv.geometry(in_shape)
    if Fh == in_shape[1] + 2 * conv.pad and Fw == in_shape[2] + 2 * conv.pad:
        return []  # the filter covers the whole input: an FC layer written as a conv
    if Fh == Fw and 2 * conv.pad == Fh - 1:
        return []
    want = (Fh - 1) / 2
    want = int(want) if want == int(want) else want
    return [f"layer '{conv.path}' ({conv.kind}) pads P = {conv.pad} at stride 1, but "
            f"P = (F - 1)/2 = {want} keeps the spatial size (the notes' rule of thumb; without "
            f"it the borders are washed away layer after layer)"]


def summarize(model, input_shape=None, *, expand: bool = True, include_in_place: bool = False,
              warn: bool = True) -> Summary:
    """Sizes, parameter counts and memory of ``model`` on ``input_shape``, from shapes alone.

    Parameters
    ----------
    model : Sequential or list of Layer
    input_shape : (C, H, W), optional
        Defaults to ``model.input_shape``.
    expand : bool
        List the layers inside blocks (Inception, Residual), indented, before the
        block's own row. With ``expand=False`` each block is one row whose weights
        and biases are those of all its layers. Totals are the same either way.
    include_in_place : bool
        Also list ReLU and Flatten rows (marked "in place"; never in the totals).
    warn : bool
        Emit :class:`SizingWarning` for the notes' rules of thumb.

    Returns
    -------
    Summary

    Raises
    ------
    ValueError
        If a layer's windows do not fit its input, naming the layer and the formula,
        e.g. ``layer 'conv1' (CONV11-96) on input 224x224x3: the filter does not fit
        along the height: (W - F + 2P)/S + 1 = (224 - 11 + 0)/4 + 1 = 54.25 is not an
        integer``.

    Examples
    --------
    >>> s = summarize(convnets.zoo.get('vgg16'))  # doctest: +SKIP
    >>> s.total_params, s.total_activations  # doctest: +SKIP
    (138357544, 15237608)
    """
    if hasattr(model, "resolve_input_shape"):  # a Sequential
        layers, name = model.layers, model.name
        shape = model.resolve_input_shape(input_shape)
    else:  # a list of layers, named as a Sequential would name them
        layers, name = list(model), ""
        bind_chain(layers, "", set())
        shape = check_input_shape(input_shape)
    walk = _Walk(shape, expand, include_in_place, warn)
    walk.rows.append(SummaryRow("INPUT", "input", tuple(shape), math.prod(shape), 0, 0, 1))
    walk.chain(layers, shape, (1, 1, 1, 1), 0)
    stride = walk.max_stride
    for message in walk.warnings:
        warnings.warn(message, SizingWarning, stacklevel=2)
    if warn and (shape[1] % stride or shape[2] % stride):
        warnings.warn(
            f"the input {shape[1]}x{shape[2]} is not divisible by the network's total stride "
            f"{stride} (the product of its strides), so the volumes cannot be halved evenly all "
            f"the way down; the notes' rule of thumb asks for sizes divisible by 2 many times "
            f"(32, 64, 96, 224, 384, 512)", SizingWarning, stacklevel=2)
    return Summary(walk.rows, tuple(shape), walk.activations, walk.weights, walk.biases,
                   walk.buffers, stride, name)


def receptive_field(layers, input_shape=None) -> list[int]:
    """Receptive field (side length in input pixels) after each layer of a stack.

    ``layers`` holds filter sizes (``3``: a 3x3 conv at stride 1), tuples
    ``(F, S)`` or ``(F, S, dilation)``, or Layer objects (elementwise layers leave
    the receptive field unchanged; an FC layer or global pooling needs
    ``input_shape`` to know how much it covers).

    >>> receptive_field([3, 3, 3])          # three stacked 3x3 convs
    [3, 5, 7]
    >>> receptive_field([(3, 1, 1), (3, 1, 2), (3, 1, 4)])  # dilations 1, 2, 4
    [3, 7, 15]
    """
    r, j = 1, 1
    shape = None if input_shape is None else tuple(input_shape)
    fields = []
    for item in layers:
        if isinstance(item, Layer):
            if isinstance(item, (Affine, GlobalAvgPool, Block)) and shape is None:
                raise ValueError(f"{item.kind} covers its whole input: pass input_shape to "
                                 f"compute its receptive field")
            if isinstance(item, Block):
                sub = summarize([item], shape, warn=False)
                r, j = r + (sub.rows[-1].receptive_field - 1) * j, j * sub.total_stride
            else:
                F, _, S, _ = item.geometry(shape or (1, 1, 1))
                r, j = r + (F - 1) * j, j * S
            if shape is not None:
                shape = item.output_shape(shape)
        else:
            F, S, D = (tuple(item) + (1, 1))[:3] if isinstance(item, (tuple, list)) \
                else (item, 1, 1)
            r, j = r + D * (F - 1) * j, j * S
        fields.append(r)
    return fields

