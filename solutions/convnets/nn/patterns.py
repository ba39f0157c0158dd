"""The notes' layer-pattern notation, read into a network.

The notes write the most common ConvNet architecture as

    INPUT -> [[CONV -> RELU]*N -> POOL?]*M -> [FC -> RELU]*K -> FC

where ``->`` chains layers, ``[...]`` groups them, ``*N`` repeats the group (``N``
may be a number, or a letter given in ``repeats={'N': 2}``; ``*0`` removes it) and
``POOL?`` is an optional pooling layer. :func:`from_pattern` parses such a string
and builds the network, following the notes' sizing rules of thumb:

* ``CONV``: ``filter_size`` x ``filter_size`` filters at stride 1 with zero-padding
  ``P = (F - 1)/2``, so the spatial size is preserved (``filter_size`` must be odd);
  ``filters`` per layer (one int for all, or a list with one entry per CONV).
* ``POOL``: max pooling, ``pool_size`` x ``pool_size`` at stride ``pool_stride``
  (default ``pool_size``: 2x2 stride 2 halves the size).
* ``POOL?``: a max pool when ``pool=True`` (the default), left out when
  ``pool=False``; a list of booleans switches each ``POOL?`` separately, in order.
* ``FC``: ``hidden`` units (one int, or one entry per FC but the last); the last FC
  gives the ``num_classes`` scores, so a pattern must end with ``FC``.
* ``RELU``: max(0, x).

A malformed pattern raises ``ValueError`` naming the position (counted from 0) and
pointing at it::

    ValueError: '[' at position 9 is never closed
      INPUT -> [CONV -> RELU
               ^
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from ..checks import check_int
from .layers import Affine, Conv, MaxPool, ReLU
from .sequential import Sequential

__all__ = ["GENERAL_PATTERN", "NOTES_PATTERNS", "parse_pattern", "from_pattern"]

GENERAL_PATTERN = "INPUT -> [[CONV -> RELU]*N -> POOL?]*M -> [FC -> RELU]*K -> FC"

# The notes' four examples.
NOTES_PATTERNS = (
    "INPUT -> FC",
    "INPUT -> CONV -> RELU -> FC",
    "INPUT -> [CONV -> RELU -> POOL]*2 -> FC -> RELU -> FC",
    "INPUT -> [CONV -> RELU -> CONV -> RELU -> POOL]*3 -> [FC -> RELU]*2 -> FC",
)

LAYER_NAMES = ("CONV", "RELU", "POOL", "POOL?", "FC")

_TOKEN = re.compile(r"(?P<arrow>->)|(?P<open>\[)|(?P<close>\])|(?P<star>\*)|(?P<int>\d+)"
                    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*\??)")


def _error(text: str, pos: int, message: str) -> ValueError:
    return ValueError(f"{message}\n  {text}\n  {' ' * pos}^")


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    """``[(kind, value, position), ...]``, ending with ``('end', '', len(text))``."""
    tokens, pos = [], 0
    while pos < len(text):
        if text[pos].isspace():
            pos += 1
            continue
        match = _TOKEN.match(text, pos)
        if not match:
            raise _error(text, pos, f"unexpected character {text[pos]!r} at position {pos}")
        tokens.append((match.lastgroup, match.group(), pos))
        pos = match.end()
    tokens.append(("end", "", len(text)))
    return tokens


class _Parser:
    """Recursive descent over the grammar

        pattern  := 'INPUT' ('->' sequence)?
        sequence := item ('->' item)*
        item     := (NAME | '[' sequence ']') ('*' (INT | LETTER))*
    """

    def __init__(self, text: str, repeats: dict):
        self.text = text
        self.repeats = repeats
        self.tokens = _tokenize(text)
        self.i = 0

    def peek(self):
        return self.tokens[self.i]

    def take(self):
        token = self.tokens[self.i]
        self.i += 1
        return token

    def fail(self, token, message: str) -> ValueError:
        return _error(self.text, token[2], message)

    def describe(self, token) -> str:
        return "the end of the pattern" if token[0] == "end" else repr(token[1])

    def parse(self) -> list[tuple[str, int]]:
        first = self.take()
        if first[:2] != ("name", "INPUT"):
            raise self.fail(first, f"a pattern starts with INPUT, got {self.describe(first)} "
                                   f"at position {first[2]}")
        if self.peek()[0] == "end":
            return []
        arrow = self.take()
        if arrow[0] != "arrow":
            raise self.fail(arrow, f"expected '->' after INPUT, got {self.describe(arrow)} at "
                                   f"position {arrow[2]}")
        layers = self.sequence()
        end = self.peek()
        if end[0] != "end":
            what = "']' without a matching '['" if end[0] == "close" else \
                f"expected '->' or the end, got {self.describe(end)}"
            raise self.fail(end, f"{what} at position {end[2]}")
        return layers

    def sequence(self) -> list[tuple[str, int]]:
        layers = self.item()
        while self.peek()[0] == "arrow":
            self.take()
            layers += self.item()
        return layers

    def item(self) -> list[tuple[str, int]]:
        token = self.take()
        if token[0] == "open":
            layers = self.sequence()
            close = self.take()
            if close[0] != "close":
                if close[0] == "end":
                    raise self.fail(token, f"'[' at position {token[2]} is never closed")
                raise self.fail(close, f"expected '->' or ']', got {self.describe(close)} at "
                                       f"position {close[2]}")
        elif token[0] == "name":
            name = token[1].upper()
            if name == "INPUT":
                raise self.fail(token, f"INPUT may only start the pattern (position {token[2]})")
            if name not in LAYER_NAMES:
                raise self.fail(token, f"unknown layer {token[1]!r} at position {token[2]}; "
                                       f"known layers: {', '.join(LAYER_NAMES)}")
            layers = [(name, token[2])]
        else:
            raise self.fail(token, f"expected a layer name or '[', got {self.describe(token)} "
                                   f"at position {token[2]}")
        while self.peek()[0] == "star":
            star = self.take()
            count = self.take()
            if count[0] == "int":
                times = int(count[1])
            elif count[0] == "name":
                if count[1] not in self.repeats:
                    raise self.fail(count, f"repetition count {count[1]!r} at position "
                                           f"{count[2]} has no value; pass repeats="
                                           f"{{{count[1]!r}: ...}}")
                times = check_int(self.repeats[count[1]], f"repeats[{count[1]!r}]", minimum=0)
            else:
                raise self.fail(count, f"'*' at position {star[2]} must be followed by a count "
                                       f"(a number or a letter), got {self.describe(count)}")
            layers = layers * times
        return layers


def parse_pattern(pattern: str, repeats: dict | None = None) -> list[str]:
    """The layers a pattern describes, repetitions expanded, INPUT left out.

    >>> parse_pattern("INPUT -> [CONV -> RELU -> POOL]*2 -> FC -> RELU -> FC")
    ['CONV', 'RELU', 'POOL', 'CONV', 'RELU', 'POOL', 'FC', 'RELU', 'FC']
    >>> parse_pattern("INPUT -> [[CONV -> RELU]*N -> POOL?]*M -> FC", {'N': 1, 'M': 2})
    ['CONV', 'RELU', 'POOL?', 'CONV', 'RELU', 'POOL?', 'FC']
    """
    if not isinstance(pattern, str):
        raise TypeError(f"pattern must be a string, got {type(pattern).__name__}")
    return [name for name, _ in _Parser(pattern, dict(repeats or {})).parse()]


def _per_layer(value, count: int, name: str, what: str) -> list:
    """An int for every layer, or a list with exactly one entry per layer."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        if len(value) != count:
            raise ValueError(f"{name} has {len(value)} entries but the pattern has {count} "
                             f"{what}; give one per {what.rstrip('s')} or a single value")
        return list(value)
    return [value] * count


def from_pattern(pattern: str, input_shape, num_classes: int, *, filters=32, filter_size=3,
                 pool_size: int = 2, pool_stride: int | None = None, hidden=100, pool=True,
                 repeats: dict | None = None, reg: float = 0.0, dtype=np.float32,
                 seed: int = 0, name: str | None = None) -> Sequential:
    """Build a network from the notes' notation.

    Parameters
    ----------
    pattern : str
        e.g. ``"INPUT -> [[CONV -> RELU]*2 -> POOL]*3 -> [FC -> RELU]*2 -> FC"``.
    input_shape : (C, H, W)
    num_classes : int
        Outputs of the last FC.
    filters : int or list of int
        Filters of each CONV (one value for all, or one per CONV in order).
    filter_size : int or list of int
        Odd filter sizes; each CONV pads by ``(F - 1)/2`` at stride 1.
    pool_size, pool_stride : int
        Max pooling windows (stride defaults to the window size).
    hidden : int or list of int
        Units of every FC but the last (one value, or one per hidden FC).
    pool : bool or list of bool
        Whether each ``POOL?`` is a pooling layer (True) or left out (False).
    repeats : dict
        Values of letter repetition counts, e.g. ``{'N': 2, 'M': 3, 'K': 2}``.
    reg, dtype, seed, name
        Passed to :class:`~convnets.Sequential`.

    Raises
    ------
    ValueError
        If the pattern is malformed (naming the position), does not end with FC, a
        list of hyperparameters has the wrong length, a filter size is even, or the
        sizes do not work out (naming the layer and the formula).

    Examples
    --------
    >>> net = from_pattern("INPUT -> [CONV -> RELU -> POOL]*2 -> FC -> RELU -> FC",
    ...                    (3, 32, 32), 10, filters=[16, 32], hidden=64)
    >>> net.output_shape()
    (10, 1, 1)
    """
    layers = parse_pattern(pattern, repeats)
    if not layers or layers[-1] != "FC":
        last = layers[-1] if layers else "INPUT"
        raise ValueError(f"the pattern must end with FC, the layer that gives the class scores; "
                         f"{pattern!r} ends with {last}")
    n_conv = layers.count("CONV")
    n_fc = layers.count("FC")
    filters = _per_layer(filters, n_conv, "filters", "CONV layers")
    sizes = _per_layer(filter_size, n_conv, "filter_size", "CONV layers")
    hidden = _per_layer(hidden, n_fc - 1, "hidden", "hidden FC layers")
    switches = _per_layer(pool, layers.count("POOL?"), "pool", "POOL? layers")
    for i, F in enumerate(sizes):
        F = check_int(F, "filter_size", minimum=1)
        if F % 2 == 0:
            raise ValueError(f"filter_size of CONV number {i + 1} is {F}; it must be odd so that "
                             f"P = (F - 1)/2 preserves the spatial size")
    built = []
    for kind in layers:
        if kind == "CONV":
            F = sizes.pop(0)
            built.append(Conv(filters.pop(0), F, stride=1, pad=(F - 1) // 2))
        elif kind == "RELU":
            built.append(ReLU())
        elif kind == "POOL" or (kind == "POOL?" and switches.pop(0)):
            built.append(MaxPool(pool_size, pool_stride))
        elif kind == "FC":
            built.append(Affine(hidden.pop(0) if hidden else num_classes))
    model = Sequential(built, input_shape, reg=reg, dtype=dtype, seed=seed,
                       name=name or pattern)
    model.output_shape()  # the sizes must work out: fail now, naming the layer
    return model
