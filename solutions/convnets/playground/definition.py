"""The playground's network definition: text in, a checked network and its summary out.

Two ways of writing a network are accepted.

**One layer per line** (or per ``->``), a kind followed by ``name=value`` pairs::

    INPUT
    CONV filters=8 size=3 stride=1 pad=1
    RELU
    POOL size=2 stride=2
    FC units=10

``INPUT`` is optional; blank lines and ``#`` comments are ignored. The kinds and their
hyperparameters (defaults in brackets):

========  ==============================================================================
CONV      ``filters`` [8], ``size`` [3], ``stride`` [1], ``pad`` [0], ``dilation`` [1]
RELU      none
POOL      max pooling: ``size`` [2], ``stride`` [= size]
AVGPOOL   average pooling: ``size`` [2], ``stride`` [= size]
L2POOL    L2-norm pooling: ``size`` [2], ``stride`` [= size]
BN        batch normalization, one mean and variance per channel; none
LRN       local response normalization across ``size`` [5] channels (AlexNet's)
FC        ``units``; the last layer must be an FC giving one score per class, and its
          ``units`` may be left out (it is then the number of classes)
========  ==============================================================================

**The notes' pattern notation**, on the first line, e.g.
``INPUT -> [CONV -> RELU -> POOL]*2 -> FC``, optionally followed by lines
``filters = 8, 16``, ``filter_size = 3``, ``hidden = 32``, ``pool_size = 2``,
``pool_stride = 2`` (passed to :func:`convnets.nn.patterns.from_pattern`, which pads every
CONV by ``(F - 1)/2`` and gives the last FC the class scores).

:func:`build_network` parses the text, builds the :class:`~convnets.Sequential` and
summarizes it with :func:`convnets.summarize` before anything is allocated or trained.
A definition that cannot work raises ``ValueError``: a syntax mistake names the line and
the rule; a layer that does not fit its input raises the core's own sizing error
(``layer 'pool2' (POOL2) on input 3x3x8: ... (W - F)/S + 1 = (3 - 2)/2 + 1 = 1.5 is not an
integer``).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field

import numpy as np

from ..nn.layers import LRN, Affine, AvgPool, Conv, L2Pool, MaxPool, ReLU, SpatialBatchNorm
from ..nn.patterns import from_pattern
from ..nn.sequential import Sequential
from ..nn.summary import SizingWarning, Summary, summarize

__all__ = ["Definition", "build_network", "DEFAULT_DEFINITION", "LAYER_KINDS"]

DEFAULT_DEFINITION = """\
INPUT
CONV filters=8 size=3 stride=1 pad=1
RELU
POOL size=2 stride=2
FC"""
"""The notes' smallest ConvNet, ``INPUT -> CONV -> RELU -> POOL -> FC``, sized for digits."""

# kind -> (layer class, hyperparameters in the order the constructor takes them, defaults)
LAYER_KINDS = {
    "CONV": (Conv, {"filters": 8, "size": 3, "stride": 1, "pad": 0, "dilation": 1}),
    "RELU": (ReLU, {}),
    "POOL": (MaxPool, {"size": 2, "stride": None}),
    "AVGPOOL": (AvgPool, {"size": 2, "stride": None}),
    "L2POOL": (L2Pool, {"size": 2, "stride": None}),
    "BN": (SpatialBatchNorm, {}),
    "LRN": (LRN, {"size": 5}),
    "FC": (Affine, {"units": None}),
}

PATTERN_OPTIONS = ("filters", "filter_size", "hidden", "pool_size", "pool_stride")

_PAIR = re.compile(r"^([A-Za-z_]\w*)=(-?\d+)$")


@dataclass
class Definition:
    """A checked definition: the text, the network it builds, and its summary.

    Attributes
    ----------
    text : str
    model : Sequential
        Built but not allocated (parameters are created on first use, from ``seed``).
    summary : Summary
        :func:`convnets.summarize` of the network on its input.
    warnings : list of str
        The notes' rules of thumb the network breaks (:class:`~convnets.SizingWarning`).
    """

    text: str
    model: Sequential
    summary: Summary
    warnings: list[str] = field(default_factory=list)

    def rebuild(self, seed: int) -> Sequential:
        """A new network from the same text, initialized from ``seed``."""
        return build_network(self.text, self.model.input_shape, self.model.num_classes,
                             seed=seed, dtype=self.model.dtype).model


def _lines(text: str) -> list[tuple[int, str]]:
    """``(line number from 1, content)`` of the non-empty lines, comments removed."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if line:
            found.append((number, line))
    return found


def _layer_items(text: str) -> list[tuple[int, str]]:
    """One item per layer: the lines split at ``->``, with their line numbers."""
    items = []
    for number, line in _lines(text):
        for part in line.split("->"):
            part = part.strip()
            if not part:
                raise ValueError(f"line {number} ({line!r}): an empty layer between two '->'")
            items.append((number, part))
    if items and items[0][1].upper() == "INPUT":
        items = items[1:]
    return items


def _parse_layer(number: int, item: str):
    """A layer object from ``KIND name=value ...`` on line ``number``."""
    words = item.replace(",", " ").split()
    kind = words[0].upper()
    where = f"line {number} ({item!r})"
    if kind == "INPUT":
        raise ValueError(f"{where}: INPUT may only start the definition")
    if kind not in LAYER_KINDS:
        raise ValueError(f"{where}: unknown layer kind {words[0]!r}; the kinds are "
                         f"{', '.join(LAYER_KINDS)}")
    cls, defaults = LAYER_KINDS[kind]
    values = dict(defaults)
    # "size = 3" and "size=3" both read as one pair
    pairs = re.sub(r"\s*=\s*", "=", " ".join(words[1:])).split()
    for pair in pairs:
        match = _PAIR.match(pair)
        if not match:
            raise ValueError(f"{where}: cannot read {pair!r}; write hyperparameters as "
                             f"name=integer, e.g. {next(iter(defaults), 'size')}=3"
                             if defaults else f"{where}: {kind} takes no hyperparameters, "
                             f"got {pair!r}")
        name, value = match.group(1).lower(), int(match.group(2))
        if name not in defaults:
            known = ", ".join(defaults) or "none"
            raise ValueError(f"{where}: {kind} has no hyperparameter {name!r}; it takes "
                             f"{known}")
        values[name] = value
    try:
        if kind == "FC":
            return kind, values["units"]
        return kind, cls(**values)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{where}: {err}") from None


def _layers_from_lines(text: str, num_classes: int) -> list:
    items = _layer_items(text)
    if not items:
        raise ValueError("the definition has no layers; write one per line, ending with FC, "
                         "e.g. CONV filters=8 size=3 pad=1 / RELU / POOL / FC")
    parsed = [(number, item, *_parse_layer(number, item)) for number, item in items]
    number, item, kind, _ = parsed[-1]
    if kind != "FC":
        raise ValueError(f"line {number} ({item!r}): the last layer must be FC, the layer that "
                         f"gives the {num_classes} class scores; the definition ends with {kind}")
    layers = []
    for index, (number, item, kind, layer) in enumerate(parsed):
        if kind == "FC":
            units = layer
            last = index == len(parsed) - 1
            if units is None:
                if not last:
                    raise ValueError(f"line {number} ({item!r}): a hidden FC layer needs its "
                                     f"number of units, e.g. FC units=32")
                units = num_classes
            if last and units != num_classes:
                raise ValueError(f"line {number} ({item!r}): the last FC gives the class "
                                 f"scores, so units must be the number of classes "
                                 f"{num_classes}, got units = {units}")
            try:
                layer = Affine(units)
            except (TypeError, ValueError) as err:
                raise ValueError(f"line {number} ({item!r}): {err}") from None
        layers.append(layer)
    return layers


def _pattern_options(lines: list[tuple[int, str]]) -> dict:
    options = {}
    for number, line in lines:
        if "=" not in line:
            raise ValueError(f"line {number} ({line!r}): after a pattern, only options "
                             f"name = value are allowed ({', '.join(PATTERN_OPTIONS)})")
        name, _, value = (part.strip() for part in line.partition("="))
        if name not in PATTERN_OPTIONS:
            raise ValueError(f"line {number} ({line!r}): unknown option {name!r}; the options "
                             f"are {', '.join(PATTERN_OPTIONS)}")
        numbers = [v for v in re.split(r"[,\s]+", value) if v]
        if not numbers or not all(re.fullmatch(r"\d+", v) for v in numbers):
            raise ValueError(f"line {number} ({line!r}): {name} must be a positive integer "
                             f"or a list of them separated by commas, got {value!r}")
        values = [int(v) for v in numbers]
        options[name] = values if len(values) > 1 else values[0]
    return options


def is_pattern(text: str) -> bool:
    """Whether the text uses the notes' pattern notation: its first line chains bare
    layer names (``->``, ``[...]``, ``*N``) with no ``name=value``."""
    lines = _lines(text)
    if not lines:
        return False
    first = lines[0][1]
    return "=" not in first and any(mark in first for mark in ("->", "[", "*", "?"))


def build_network(text: str, input_shape, num_classes: int, *, seed: int = 0,
                  dtype=np.float32) -> Definition:
    """Parse a definition, build the network and summarize it (nothing trained).

    Parameters
    ----------
    text : str
        The definition (see the module docstring).
    input_shape : (C, H, W)
    num_classes : int
    seed : int
        Seed of the network's initial weights.
    dtype : numpy dtype

    Returns
    -------
    Definition

    Raises
    ------
    TypeError
        If ``text`` is not a string.
    ValueError
        A syntax mistake (naming the line and the rule) or a layer that does not fit its
        input (the core's sizing error, naming the layer and the formula).
    """
    if not isinstance(text, str):
        raise TypeError(f"the definition must be a string, got {type(text).__name__}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SizingWarning)
        if is_pattern(text):
            lines = _lines(text)
            options = _pattern_options(lines[1:])
            model = from_pattern(lines[0][1], input_shape, num_classes, seed=seed, dtype=dtype,
                                 name="playground", **options)
        else:
            layers = _layers_from_lines(text, num_classes)
            model = Sequential(layers, input_shape, dtype=dtype, seed=seed, name="playground")
        summary = summarize(model, include_in_place=True)
    messages = [str(w.message) for w in caught if issubclass(w.category, SizingWarning)]
    return Definition(text, model, summary, messages)
