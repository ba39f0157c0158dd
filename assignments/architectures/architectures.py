# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Assignment 4: ConvNet architectures
#
# The earlier assignments built the layers one at a time. This one is about putting them
# together, and about knowing what a network costs before running it:
#
# 1. **Layer patterns**: expand the shorthand `INPUT -> [[CONV -> RELU]*2 -> POOL]*3 -> FC`
#    into the list of layers it stands for.
# 2. **Sizing**: the shape of every volume in a network, and an error (not a silently wrong
#    shape) when the hyperparameters do not fit.
# 3. **Parameters and memory**: the number of activations, weights and biases of every
#    layer; the VGG-16 table (and the mistake in its "TOTAL memory" line); memory in bytes.
# 4. **Receptive fields**: why three 3x3 convolutions beat one 7x7.
# 5. **A three-layer ConvNet**: `conv - relu - 2x2 max pool - affine - relu - affine -
#    softmax`, its loss and gradients.
# 6. **Training it** on real handwritten digits to at least 90% validation accuracy.
#
# Write your code in the answer cells, in place of the `raise NotImplementedError()` lines,
# keeping the names and signatures of the functions. Use NumPy only. Each test
# cell checks your work with visible tests; more (hidden) tests with random inputs run when
# the assignment is graded, so make your functions correct in general, not just for the
# examples shown.
#
# Conventions: volumes are `(C, H, W)` (channels first) and batches `(N, C, H, W)`.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from checks import (
    check_close,
    check_equal,
    check_gradient,
    check_gradients,
    check_raises,
    check_shape,
    eval_numerical_gradient,
    hidden_checks,
    hidden_rng,
)


def as_shape(value):
    """A shape as a tuple of Python ints (so that lists and NumPy ints compare equal)."""
    return tuple(int(v) for v in value)


# %% [markdown]
# ## 1. Layer patterns
#
# A common way to describe a ConvNet is a one-line pattern such as
#
#     INPUT -> [[CONV -> RELU]*N -> POOL?]*M -> [FC -> RELU]*K -> FC
#
# * `->` chains layers, `[ ... ]` groups a sub-sequence;
# * `*n` after a layer name or a group repeats it `n` times (`*0` removes it). The count is
#   a non-negative integer, or a single letter whose value is given in a dictionary
#   `repeats` (e.g. `{"N": 2, "M": 3, "K": 1}`). Several counts may follow each other:
#   `[CONV]*2*3` is six CONV layers;
# * the layer names are `CONV`, `RELU`, `POOL`, `POOL?` (an optional pool) and `FC`;
# * the pattern starts with `INPUT`, which is not a layer itself;
# * whitespace between the pieces does not matter: `INPUT->[CONV->RELU]*2` is fine.
#
# Write `expand_pattern(pattern, repeats=None)`, returning the flat list of layer names.
# Anything malformed raises `ValueError` with a message saying what is wrong: a pattern
# that does not start with `INPUT`, an unknown layer name, a bracket that is never closed
# or never opened, an empty group `[]`, a missing layer (`-> ->`, a trailing `->`), a `*`
# without a count, or a letter count missing from `repeats`.
#
# *Hint*: split the text into tokens first (a regular expression such as
# `r"->|\[|\]|\*|\d+|[A-Za-z_]\w*\??|\S"` does it), then read them with a small recursive
# function: a *sequence* is items separated by `->`; an *item* is a name or a bracketed
# sequence, followed by any number of `*count`.

# %% nbgrader={"grade": false, "grade_id": "answer_expand_pattern", "locked": false, "schema_version": 3, "solution": true, "task": false}
def expand_pattern(pattern, repeats=None):
    """The layers a pattern describes, with every repetition expanded.

    Parameters
    ----------
    pattern : str
        e.g. ``"INPUT -> [CONV -> RELU -> POOL]*2 -> FC -> RELU -> FC"``.
    repeats : dict, optional
        Values of letter counts, e.g. ``{"N": 2}``.

    Returns
    -------
    list of str
        The layer names in order, ``INPUT`` left out, e.g.
        ``['CONV', 'RELU', 'POOL', 'CONV', 'RELU', 'POOL', 'FC', 'RELU', 'FC']``.

    Raises
    ------
    ValueError
        If the pattern is malformed (see above).
    """
    ### BEGIN SOLUTION
    import re

    names = {"CONV", "RELU", "POOL", "POOL?", "FC"}
    repeats = dict(repeats or {})
    tokens = re.findall(r"->|\[|\]|\*|\d+|[A-Za-z_]\w*\??|\S", pattern)
    position = [0]

    def peek():
        return tokens[position[0]] if position[0] < len(tokens) else None

    def take():
        token = peek()
        position[0] += 1
        return token

    def sequence():
        layers = item()
        while peek() == "->":
            take()
            layers = layers + item()
        return layers

    def item():
        token = take()
        if token == "[":
            layers = sequence()
            closing = take()
            if closing != "]":
                raise ValueError(f"expected ']' to close a group, got {closing!r} in {pattern!r}")
        elif token in names:
            layers = [token]
        else:
            raise ValueError(f"expected a layer name or '[', got {token!r} in {pattern!r}; "
                             f"known layers: {sorted(names)}")
        while peek() == "*":
            take()
            count = take()
            if count is not None and count.isdigit():
                times = int(count)
            elif count in repeats:
                times = int(repeats[count])
            else:
                raise ValueError(f"'*' must be followed by a number or a letter given in "
                                 f"repeats, got {count!r} in {pattern!r}")
            layers = layers * times
        return layers

    if take() != "INPUT":
        raise ValueError(f"a pattern starts with INPUT: {pattern!r}")
    if peek() is None:
        return []
    if take() != "->":
        raise ValueError(f"expected '->' after INPUT in {pattern!r}")
    layers = sequence()
    if peek() is not None:
        raise ValueError(f"unexpected {peek()!r} in {pattern!r}")
    return layers
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_expand_pattern", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
# The notes' four examples and the general pattern.
check_equal(expand_pattern("INPUT -> FC"), ["FC"], "INPUT -> FC")
check_equal(expand_pattern("INPUT -> CONV -> RELU -> FC"), ["CONV", "RELU", "FC"],
            "INPUT -> CONV -> RELU -> FC")
check_equal(expand_pattern("INPUT -> [CONV -> RELU -> POOL]*2 -> FC -> RELU -> FC"),
            ["CONV", "RELU", "POOL"] * 2 + ["FC", "RELU", "FC"], "two CONV-RELU-POOL groups")
check_equal(
    expand_pattern("INPUT -> [CONV -> RELU -> CONV -> RELU -> POOL]*3 -> [FC -> RELU]*2 -> FC"),
    ["CONV", "RELU", "CONV", "RELU", "POOL"] * 3 + ["FC", "RELU"] * 2 + ["FC"],
    "three double-CONV groups")
general = "INPUT -> [[CONV -> RELU]*N -> POOL?]*M -> [FC -> RELU]*K -> FC"
check_equal(expand_pattern(general, {"N": 2, "M": 3, "K": 1}),
            (["CONV", "RELU"] * 2 + ["POOL?"]) * 3 + ["FC", "RELU", "FC"], "N=2, M=3, K=1")
check_equal(expand_pattern(general, {"N": 0, "M": 0, "K": 0}), ["FC"],
            "N=M=K=0 (a linear classifier)")
check_equal(expand_pattern("INPUT->[CONV->RELU]*2->POOL"), ["CONV", "RELU"] * 2 + ["POOL"],
            "without spaces")
check_equal(expand_pattern("INPUT -> CONV*2*3 -> [POOL]*0 -> FC"), ["CONV"] * 6 + ["FC"],
            "repeated counts and *0")
check_equal(expand_pattern("INPUT"), [], "INPUT alone")
### BEGIN HIDDEN TESTS
import convnets as ref  # noqa: E402

with hidden_checks("test_expand_pattern") as rng:
    LAYER_NAMES = ["CONV", "RELU", "POOL", "POOL?", "FC"]


    def random_sequence(depth):
        items = []
        for _ in range(int(rng.integers(1, 5))):
            if depth < 3 and rng.random() < 0.4:
                item = "[" + random_sequence(depth + 1) + "]"
            else:
                item = str(rng.choice(LAYER_NAMES))
            stars = int(rng.integers(0, 3)) if item.startswith("[") else int(rng.random() < 0.2)
            for _ in range(stars):
                if rng.random() < 0.7:
                    item += "*" + str(int(rng.integers(0, 4)))
                else:
                    item += "*" + str(rng.choice(["N", "M", "K"]))
            items.append(item)
        arrow = " -> " if rng.random() < 0.7 else "->"
        return arrow.join(items)


    for trial in range(30):
        pattern = "INPUT -> " + random_sequence(0)
        repeats = {letter: int(rng.integers(0, 4)) for letter in "NMK"}
        check_equal(expand_pattern(pattern, repeats), ref.parse_pattern(pattern, repeats),
                    f"expand_pattern({pattern!r}, {repeats})")
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_expand_pattern_errors", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
for bad in ["CONV -> RELU", "INPUT -> CONV -> SOFTMAX", "INPUT -> [CONV -> RELU",
            "INPUT -> CONV -> RELU] -> FC", "INPUT -> []", "INPUT -> CONV -> -> FC",
            "INPUT -> CONV ->", "INPUT -> [CONV]* -> FC", "INPUT -> INPUT -> FC"]:
    check_raises(ValueError, expand_pattern, bad, what=f"expand_pattern({bad!r})")
check_raises(ValueError, expand_pattern, "INPUT -> [CONV]*N -> FC", {"M": 2},
             what="expand_pattern with N missing from repeats")
### BEGIN HIDDEN TESTS
import convnets as ref  # noqa: E402

with hidden_checks("test_expand_pattern_errors") as rng:
    good = ["INPUT -> [[CONV -> RELU]*2 -> POOL]*3 -> [FC -> RELU]*2 -> FC",
            "INPUT -> [CONV -> RELU -> POOL?]*2 -> FC", "INPUT -> CONV -> [RELU -> [POOL]*2]*2 -> FC"]
    corruptions = [
        lambda p: p.replace("]", "", 1),                  # a group never closed
        lambda p: p.replace("[", "", 1),                  # a ']' never opened
        lambda p: p.replace("INPUT -> ", "", 1),          # no INPUT
        lambda p: p + " ->",                              # trailing arrow
        lambda p: p.replace("FC", "FC2", 1),              # unknown layer
        lambda p: p.replace("*2", "*", 1),                # '*' without a count
        lambda p: p.replace("*2", "*X", 1),               # a letter not in repeats
        lambda p: p.replace("RELU", "", 1),               # '-> ->' or '[->'
        lambda p: p.replace("CONV", "[]", 1),             # an empty group
    ]
    for trial in range(12):
        # A refusal counts only from a function that accepts the pattern it came from.
        source = str(rng.choice(good))
        check_equal(expand_pattern(source, {"N": 1}), ref.parse_pattern(source, {"N": 1}),
                    "expand_pattern on a well-formed pattern")
        pattern = corruptions[int(rng.integers(len(corruptions)))](source)
        try:
            ref.parse_pattern(pattern, {"N": 1})
        except ValueError:
            check_raises(ValueError, expand_pattern, pattern, {"N": 1},
                         what="expand_pattern on a random malformed pattern")
### END HIDDEN TESTS

# %% [markdown]
# ## 2. Sizing: the volume after every layer
#
# Along one axis, a convolution with filter size `F`, stride `S` and zero-padding `P` on an
# input of size `W` has `(W - F + 2P)/S + 1` outputs; pooling (no padding) has
# `(W - F)/S + 1`. These are only valid when they are whole numbers (and the filter fits in
# the padded input): otherwise the layer cannot tile its input, and the right answer is an
# error, not a rounded number. For example `W = 10, F = 3, S = 2, P = 0` gives 4.5.
#
# A network is written here as a list of layers, each a tuple:
#
# | layer | tuple | output volume |
# |---|---|---|
# | convolution | `("CONV", K, F, S, P)`: `K` filters `F x F`, stride `S`, pad `P` | `(K, H', W')` |
# | max pooling | `("POOL", F, S)` | `(C, H', W')` |
# | ReLU | `("RELU",)` | unchanged |
# | fully connected | `("FC", K)`: `K` outputs, each seeing the whole input | `(K, 1, 1)` |
#
# Write `conv_output_size`, `pool_output_size` (raising `ValueError` with the numbers in the
# message when the size is not a whole number or the window does not fit) and
# `output_shapes(layers, input_shape)`, which returns the output volume `(C, H, W)` of every
# layer (height and width are computed separately: inputs need not be square). An unknown
# layer raises `ValueError` too.

# %% nbgrader={"grade": false, "grade_id": "answer_output_shapes", "locked": false, "schema_version": 3, "solution": true, "task": false}
def conv_output_size(W, F, S=1, P=0):
    """``(W - F + 2P)/S + 1``; ValueError if it is not a whole number or F > W + 2P."""
    ### BEGIN SOLUTION
    span = W - F + 2 * P
    if span < 0:
        raise ValueError(f"filter larger than the padded input: F = {F} > W + 2P = {W + 2 * P}")
    if span % S != 0:
        raise ValueError(f"(W - F + 2P)/S + 1 = ({W} - {F} + 2*{P})/{S} + 1 = "
                         f"{span / S + 1:g} is not an integer")
    return span // S + 1
    ### END SOLUTION


def pool_output_size(W, F, S):
    """``(W - F)/S + 1``; ValueError if it is not a whole number or F > W."""
    ### BEGIN SOLUTION
    return conv_output_size(W, F, S, 0)
    ### END SOLUTION


def output_shapes(layers, input_shape):
    """The output volume of every layer.

    Parameters
    ----------
    layers : list of tuple
        ``("CONV", K, F, S, P)``, ``("POOL", F, S)``, ``("RELU",)`` or ``("FC", K)``.
    input_shape : tuple (C, H, W)

    Returns
    -------
    list of tuple (C, H, W)
        One per layer, in order (an FC layer gives ``(K, 1, 1)``).

    Raises
    ------
    ValueError
        If a layer does not fit its input, or is unknown.
    """
    ### BEGIN SOLUTION
    shape = tuple(input_shape)
    shapes = []
    for layer in layers:
        kind = layer[0]
        C, H, W = shape
        if kind == "CONV":
            K, F, S, P = layer[1:]
            shape = (K, conv_output_size(H, F, S, P), conv_output_size(W, F, S, P))
        elif kind == "POOL":
            F, S = layer[1:]
            shape = (C, pool_output_size(H, F, S), pool_output_size(W, F, S))
        elif kind == "FC":
            shape = (layer[1], 1, 1)
        elif kind != "RELU":
            raise ValueError(f"unknown layer {layer!r}")
        shapes.append(shape)
    return shapes
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_output_sizes", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
check_equal(conv_output_size(7, 3, 1, 0), 5, "7x7 input, 3x3 filter, stride 1")
check_equal(conv_output_size(7, 3, 2, 0), 3, "7x7 input, 3x3 filter, stride 2")
check_equal(conv_output_size(5, 3, 1, 1), 5, "W=5, F=3, P=1, S=1")
check_equal(conv_output_size(5, 3, 2, 1), 3, "W=5, F=3, P=1, S=2")
check_equal(conv_output_size(227, 11, 4, 0), 55, "AlexNet's first layer")
for F in (1, 3, 5, 7):
    check_equal(conv_output_size(32, F, 1, (F - 1) // 2), 32, f"F={F}, P=(F-1)/2 keeps 32")
check_raises(ValueError, conv_output_size, 10, 3, 2, 0, what="W=10, F=3, S=2, P=0 (4.5)")
check_raises(ValueError, conv_output_size, 5, 3, 3, 1, what="W=5, F=3, S=3, P=1")
check_raises(ValueError, conv_output_size, 3, 5, 1, 0, what="a 5x5 filter on a 3x3 input")
check_equal(pool_output_size(224, 2, 2), 112, "2x2 pool, stride 2 on 224")
check_equal(pool_output_size(13, 3, 2), 6, "3x3 pool, stride 2 on 13")
check_raises(ValueError, pool_output_size, 7, 2, 2, what="2x2 pool, stride 2 on 7")
### BEGIN HIDDEN TESTS
import convnets as ref  # noqa: E402

with hidden_checks("test_output_sizes") as rng:
    for trial in range(60):
        W, F, S, P = (int(v) for v in (rng.integers(1, 40), rng.integers(1, 12), rng.integers(1, 5),
                                       rng.integers(0, 4)))
        # The labels say what kind of case failed, never its numbers and answer.
        try:
            expected = ref.conv_output_size(W, F, S, P)
        except ValueError:
            check_raises(ValueError, conv_output_size, W, F, S, P,
                         what="conv_output_size on a random setting that does not fit")
        else:
            check_equal(conv_output_size(W, F, S, P), expected,
                        "conv_output_size on a random setting that fits")
        try:
            expected = ref.pool_output_size(W, F, S)
        except ValueError:
            check_raises(ValueError, pool_output_size, W, F, S,
                         what="pool_output_size on a random setting that does not fit")
        else:
            check_equal(pool_output_size(W, F, S), expected,
                        "pool_output_size on a random setting that fits")
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_output_shapes", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
# The notes' first example: INPUT [32x32x3] -> CONV (12 filters) -> RELU -> POOL -> FC (10).
net = [("CONV", 12, 3, 1, 1), ("RELU",), ("POOL", 2, 2), ("FC", 10)]
shapes = output_shapes(net, (3, 32, 32))
check_equal(len(shapes), 4, "number of shapes")
for got, want in zip(shapes, [(12, 32, 32), (12, 32, 32), (12, 16, 16), (10, 1, 1)]):
    check_equal(as_shape(got), want, "output volume")
# A non-square input, a strided convolution and an overlapping pool.
shapes = output_shapes([("CONV", 4, 3, 2, 1), ("POOL", 3, 2), ("FC", 5)], (2, 13, 17))
check_equal(len(shapes), 3, "number of shapes (non-square)")
for got, want in zip(shapes, [(4, 7, 9), (4, 3, 4), (5, 1, 1)]):
    check_equal(as_shape(got), want, "output volume (non-square)")
check_raises(ValueError, output_shapes, [("CONV", 8, 3, 2, 0)], (3, 10, 10),
             what="a conv that does not fit 10x10")
check_raises(ValueError, output_shapes, [("CONV", 8, 3, 1, 1), ("POOL", 2, 2)], (3, 7, 8),
             what="a 2x2 pool on a 7x8 volume")
check_raises(ValueError, output_shapes, [("SOFTMAX",)], (3, 8, 8), what="an unknown layer")
### BEGIN HIDDEN TESTS
import convnets as ref  # noqa: E402

with hidden_checks("test_output_shapes") as rng:
    def ref_layers(spec):
        built = []
        for layer in spec:
            if layer[0] == "CONV":
                built.append(ref.Conv(layer[1], layer[2], stride=layer[3], pad=layer[4]))
            elif layer[0] == "POOL":
                built.append(ref.MaxPool(layer[1], layer[2]))
            elif layer[0] == "RELU":
                built.append(ref.ReLU())
            else:
                built.append(ref.Affine(layer[1]))
        return built


    def random_layer(rng, shape):
        """A random layer that fits ``shape`` (or None after 50 failed attempts)."""
        _, H, W = shape
        for _ in range(50):
            kind = str(rng.choice(["CONV", "CONV", "POOL", "RELU"]))
            if kind == "RELU":
                return ("RELU",)
            F, S = int(rng.integers(1, 6)), int(rng.integers(1, 4))
            try:
                if kind == "CONV":
                    P = int(rng.integers(0, 3))
                    ref.conv_output_size(H, F, S, P), ref.conv_output_size(W, F, S, P)
                    return ("CONV", int(rng.integers(1, 9)), F, S, P)
                ref.pool_output_size(H, F, S), ref.pool_output_size(W, F, S)
                return ("POOL", F, S)
            except ValueError:
                continue
        return None


    def random_network(rng):
        shape = (int(rng.integers(1, 4)), int(rng.integers(5, 24)), int(rng.integers(5, 24)))
        input_shape, spec = shape, []
        for _ in range(int(rng.integers(1, 7))):
            layer = random_layer(rng, shape)
            if layer is None:
                break
            spec.append(layer)
            shape = ref.summarize(ref_layers(spec), input_shape, warn=False).rows[-1].output_shape
        for _ in range(int(rng.integers(0, 3))):
            spec += [("FC", int(rng.integers(1, 20))), ("RELU",)] if rng.random() < 0.7 else \
                [("FC", int(rng.integers(1, 20)))]
        return spec, input_shape


    for trial in range(15):
        spec, input_shape = random_network(rng)
        summary = ref.summarize(ref_layers(spec), input_shape, include_in_place=True, warn=False)
        got = output_shapes(spec, input_shape)
        check_equal(len(got), len(spec), f"number of shapes for {spec} on {input_shape}")
        for i, (g, row) in enumerate(zip(got, summary.rows[1:], strict=True)):
            check_equal(as_shape(g), tuple(row.output_shape),
                        f"output volume of layer {i} {spec[i]} in {spec} on {input_shape}")
    for trial in range(8):
        spec, input_shape = random_network(rng)
        bad = ("CONV", 3, int(rng.integers(2, 6)), int(rng.integers(2, 5)), 0) if rng.random() < 0.5 \
            else ("POOL", int(rng.integers(2, 6)), int(rng.integers(2, 5)))
        spec = [layer for layer in spec if layer[0] != "FC" and layer != ("RELU",)] + [bad]
        try:
            ref.summarize(ref_layers(spec), input_shape, warn=False)
        except ValueError:
            check_raises(ValueError, output_shapes, spec, input_shape,
                         what="output_shapes on a random network whose last layer does not fit")
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Parameters and memory
#
# For each layer, count
#
# * its **activations**: the number of values in its output volume, `C*H*W`;
# * its **weights**: a CONV layer has `K` filters of `F*F*C_in` weights, an FC layer
#   `(C_in*H_in*W_in) * K`; ReLU and POOL have none;
# * its **biases**: one per filter or output (`K`) for CONV and FC, none otherwise.
#
# For the whole network, the **total activations** are the input volume plus the output
# volume of every layer *except ReLU*: ReLU can work in place, overwriting its input, so it
# needs no new volume. (This is the convention of the notes' VGG table, which has no ReLU
# rows.) The total weights and biases are the sums over the layers; `params` is their sum.
#
# Memory in bytes, per the notes' "computational considerations", with `b` bytes per value
# (4 for float32, 8 for float64) and a batch of `n` images:
#
# * inference (forward pass only): `(n * activations + params) * b`;
# * training: every activation also needs its gradient, and every parameter its gradient
#   and a step cache (momentum, RMSProp, Adam): `(2 * n * activations + 3 * params) * b`.
#
# Write `layer_costs`, `network_totals` and `memory_bytes`.

# %% nbgrader={"grade": false, "grade_id": "answer_costs", "locked": false, "schema_version": 3, "solution": true, "task": false}
def layer_costs(layers, input_shape):
    """Activations, weights and biases of every layer.

    Parameters
    ----------
    layers : list of tuple
        As for ``output_shapes``.
    input_shape : tuple (C, H, W)

    Returns
    -------
    list of dict
        One per layer: ``{"shape": (C, H, W), "activations": int, "weights": int,
        "biases": int}``.

    Raises
    ------
    ValueError
        As ``output_shapes``.
    """
    ### BEGIN SOLUTION
    shapes = output_shapes(layers, input_shape)
    rows = []
    in_shape = tuple(input_shape)
    for layer, shape in zip(layers, shapes):
        weights = biases = 0
        if layer[0] == "CONV":
            K, F = layer[1], layer[2]
            weights, biases = F * F * in_shape[0] * K, K
        elif layer[0] == "FC":
            K = layer[1]
            weights, biases = math.prod(in_shape) * K, K
        rows.append({"shape": tuple(shape), "activations": math.prod(shape),
                     "weights": weights, "biases": biases})
        in_shape = shape
    return rows
    ### END SOLUTION


def network_totals(layers, input_shape):
    """Totals over a network.

    Returns
    -------
    dict
        ``{"activations": int, "weights": int, "biases": int, "params": int}``, where
        ``activations`` counts the input volume and every layer's output volume except
        the ReLU layers', and ``params = weights + biases``.
    """
    ### BEGIN SOLUTION
    rows = layer_costs(layers, input_shape)
    activations = math.prod(input_shape) + sum(
        row["activations"] for layer, row in zip(layers, rows) if layer[0] != "RELU")
    weights = sum(row["weights"] for row in rows)
    biases = sum(row["biases"] for row in rows)
    return {"activations": activations, "weights": weights, "biases": biases,
            "params": weights + biases}
    ### END SOLUTION


def memory_bytes(activations, params, bytes_per_value=4, training=False, batch_size=1):
    """Bytes for ``batch_size`` images: ``(n*act + params)*b``, or ``(2*n*act + 3*params)*b``
    when training."""
    ### BEGIN SOLUTION
    if training:
        return (2 * batch_size * activations + 3 * params) * bytes_per_value
    return (batch_size * activations + params) * bytes_per_value
    ### END SOLUTION


# %% [markdown]
# VGG-16 (Simonyan and Zisserman), as a layer list: thirteen 3x3 convolutions with stride 1
# and padding 1, five 2x2 max pools with stride 2, and three FC layers. With your
# `expand_pattern`, it is `INPUT -> [[CONV -> RELU]*2 -> POOL]*2 -> [[CONV -> RELU]*3 ->
# POOL]*3 -> [FC -> RELU]*2 -> FC` with the filter counts filled in.

# %% nbgrader={"grade": false, "grade_id": "setup_vgg16", "locked": true, "schema_version": 3, "solution": false, "task": false}
VGG16 = []
for channels, convs in [(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)]:
    VGG16 += [("CONV", channels, 3, 1, 1), ("RELU",)] * convs + [("POOL", 2, 2)]
VGG16 += [("FC", 4096), ("RELU",), ("FC", 4096), ("RELU",), ("FC", 1000)]
VGG16_INPUT = (3, 224, 224)

# %% [markdown]
# Your table (compare it with the one in the notes):

# %%
def print_table(layers, input_shape):
    C, H, W = input_shape
    print(f"INPUT: [{H}x{W}x{C}]  activations: {C * H * W:,}")
    for layer, row in zip(layers, layer_costs(layers, input_shape)):
        if layer[0] == "RELU":
            continue
        C, H, W = row["shape"]
        print(f"{layer[0]:<4} [{H}x{W}x{C}]  activations: {row['activations']:>9,}"
              f"   weights: {row['weights']:>11,}")
    totals = network_totals(layers, input_shape)
    print(f"TOTAL activations: {totals['activations']:,}   weights: {totals['weights']:,}"
          f"   params (with biases): {totals['params']:,}")


print_table(VGG16, VGG16_INPUT)

# %% nbgrader={"grade": true, "grade_id": "test_layer_costs", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
rows = layer_costs(VGG16, VGG16_INPUT)
check_equal(len(rows), len(VGG16), "one row per layer")
check_equal(as_shape(rows[0]["shape"]), (64, 224, 224), "first CONV volume")
check_equal(rows[0]["activations"], 224 * 224 * 64, "first CONV activations")
check_equal(rows[0]["weights"], 1728, "first CONV weights (3*3*3)*64")
check_equal(rows[0]["biases"], 64, "first CONV biases")
check_equal(rows[2]["weights"], 36864, "second CONV weights (3*3*64)*64")
check_equal(rows[1]["weights"], 0, "ReLU weights")
check_equal(rows[4]["weights"], 0, "POOL weights")
check_equal(as_shape(rows[4]["shape"]), (64, 112, 112), "first POOL volume")
fc = [row for layer, row in zip(VGG16, rows) if layer[0] == "FC"]
check_equal([row["weights"] for row in fc], [102760448, 16777216, 4096000], "FC weights")
check_equal([row["biases"] for row in fc], [4096, 4096, 1000], "FC biases")
conv_weights = [row["weights"] for layer, row in zip(VGG16, rows) if layer[0] == "CONV"]
check_equal(conv_weights, [1728, 36864, 73728, 147456, 294912, 589824, 589824, 1179648,
                           2359296, 2359296, 2359296, 2359296, 2359296], "the 13 CONV weights")
### BEGIN HIDDEN TESTS
import convnets as ref  # noqa: E402

with hidden_checks("test_layer_costs") as rng:
    def ref_layers(spec):
        built = []
        for layer in spec:
            if layer[0] == "CONV":
                built.append(ref.Conv(layer[1], layer[2], stride=layer[3], pad=layer[4]))
            elif layer[0] == "POOL":
                built.append(ref.MaxPool(layer[1], layer[2]))
            elif layer[0] == "RELU":
                built.append(ref.ReLU())
            else:
                built.append(ref.Affine(layer[1]))
        return built


    def random_network(rng):
        input_shape = (int(rng.integers(1, 5)), int(rng.integers(6, 30)), int(rng.integers(6, 30)))
        spec = []
        for _ in range(int(rng.integers(1, 8))):
            for _attempt in range(50):
                kind = str(rng.choice(["CONV", "CONV", "POOL", "RELU"]))
                if kind == "RELU":
                    layer = ("RELU",)
                elif kind == "CONV":
                    layer = ("CONV", int(rng.integers(1, 17)), int(rng.integers(1, 6)),
                             int(rng.integers(1, 3)), int(rng.integers(0, 3)))
                else:
                    layer = ("POOL", int(rng.integers(1, 4)), int(rng.integers(1, 4)))
                try:
                    ref.summarize(ref_layers(spec + [layer]), input_shape, warn=False)
                except ValueError:
                    continue
                spec.append(layer)
                break
        for _ in range(int(rng.integers(0, 3))):
            spec += [("FC", int(rng.integers(1, 30))), ("RELU",)]
        spec.append(("FC", int(rng.integers(1, 11))))
        return spec, input_shape


    for trial in range(12):
        spec, input_shape = random_network(rng)
        summary = ref.summarize(ref_layers(spec), input_shape, include_in_place=True, warn=False)
        rows = layer_costs(spec, input_shape)
        check_equal(len(rows), len(spec), "one row per layer")
        for i, (row, want) in enumerate(zip(rows, summary.rows[1:], strict=True)):
            what = f"layer {i} {spec[i]} of {spec} on {input_shape}"
            check_equal(as_shape(row["shape"]), tuple(want.output_shape), f"shape of {what}")
            check_equal(row["activations"], want.activations, f"activations of {what}")
            check_equal(row["weights"], want.weights, f"weights of {what}")
            check_equal(row["biases"], want.biases, f"biases of {what}")
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_network_totals", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
totals = network_totals(VGG16, VGG16_INPUT)
check_equal(totals["weights"], 138344128, "VGG-16 weights (the notes' 138M)")
check_equal(totals["biases"], 13416, "VGG-16 biases")
check_equal(totals["params"], 138357544, "VGG-16 parameters, biases included")
check_equal(totals["activations"], 15237608, "VGG-16 activations per image")
share = 102760448 / totals["weights"]
print(f"the first FC layer holds {share:.0%} of the weights")
# The notes' "TOTAL memory: 24M" does not follow from the table's own rows: they add up to
# about 15.2M activations per image.
small = [("CONV", 4, 3, 1, 1), ("RELU",), ("POOL", 2, 2), ("FC", 3)]
check_equal(network_totals(small, (2, 4, 4)),
            {"activations": 32 + 64 + 16 + 3, "weights": 72 + 48, "biases": 7, "params": 127},
            "a small network on (2, 4, 4)")
### BEGIN HIDDEN TESTS
import convnets as ref  # noqa: E402

with hidden_checks("test_network_totals") as rng:
    def ref_layers(spec):
        built = []
        for layer in spec:
            if layer[0] == "CONV":
                built.append(ref.Conv(layer[1], layer[2], stride=layer[3], pad=layer[4]))
            elif layer[0] == "POOL":
                built.append(ref.MaxPool(layer[1], layer[2]))
            elif layer[0] == "RELU":
                built.append(ref.ReLU())
            else:
                built.append(ref.Affine(layer[1]))
        return built


    for trial in range(12):
        input_shape = (int(rng.integers(1, 5)), 8 * int(rng.integers(1, 5)),
                       8 * int(rng.integers(1, 5)))
        repeats = {"N": int(rng.integers(1, 4)), "M": int(rng.integers(0, 4)),
                   "K": int(rng.integers(0, 3))}
        names = ref.parse_pattern("INPUT -> [[CONV -> RELU]*N -> POOL]*M -> [FC -> RELU]*K -> FC",
                                  repeats)
        spec = []
        for name in names:
            if name == "CONV":
                F = int(rng.choice([1, 3, 5]))
                spec.append(("CONV", int(rng.integers(1, 33)), F, 1, (F - 1) // 2))
            elif name == "POOL":
                spec.append(("POOL", 2, 2))
            elif name == "RELU":
                spec.append(("RELU",))
            else:
                spec.append(("FC", int(rng.integers(1, 65))))
        summary = ref.summarize(ref_layers(spec), input_shape, warn=False)
        expected = {"activations": summary.total_activations, "weights": summary.total_weights,
                    "biases": summary.total_biases, "params": summary.total_params}
        check_equal(network_totals(spec, input_shape), expected, f"totals of {spec} on {input_shape}")
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_memory_bytes", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
MiB = 1024 ** 2
act = network_totals(VGG16, VGG16_INPUT)["activations"]
forward_only = memory_bytes(act, 0, 4)
check_equal(forward_only, 60950432, "VGG-16 activations, float32 bytes")
print(f"VGG-16 activations: {forward_only / MiB:.2f} MB per image (not the notes' 93MB)")
check_equal(memory_bytes(act, 0, 8), 121900864, "VGG-16 activations, float64 bytes")
# The notes' sizing example: three 3x3 CONV layers with 64 filters on 224x224x3 make three
# 224x224x64 volumes (about 10M activations, "72MB" with their gradients).
three = 3 * 224 * 224 * 64
check_equal(three, 9633792, "three 224x224x64 volumes")
with_gradients = memory_bytes(three, 0, 4, training=True)
check_equal(with_gradients, 77070336, "activations and their gradients, float32")
print(f"{with_gradients / MiB:.1f} MB (the notes round this to 72MB)")
check_equal(memory_bytes(10, 5, 4, training=True, batch_size=3), (2 * 3 * 10 + 3 * 5) * 4,
            "training, batch of 3")
check_equal(memory_bytes(10, 5, 8, batch_size=2), (2 * 10 + 5) * 8, "inference, batch of 2")
### BEGIN HIDDEN TESTS
import convnets as ref  # noqa: E402

with hidden_checks("test_memory_bytes") as rng:
    for trial in range(10):
        width = float(rng.choice([1 / 16, 1 / 8, 1 / 4]))
        network = ref.zoo.get("vgg16", width=width, num_classes=int(rng.integers(2, 100)))
        summary = ref.summarize(network, warn=False)
        dtype = str(rng.choice(["float32", "float64"]))
        training = bool(rng.random() < 0.5)
        batch = int(rng.integers(1, 64))
        got = memory_bytes(summary.total_activations, summary.total_params,
                           np.dtype(dtype).itemsize, training, batch)
        check_equal(got, summary.memory(dtype, training, batch),
                    f"memory of VGG-16 at width {width}, {dtype}, training={training}, batch {batch}")
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "question_vgg_memory_parameters", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Question (4 points).** Use your `layer_costs` and `network_totals` on `VGG16`. Where
# does VGG-16's memory go, and where do its parameters go? Give the total activations
# and parameters, the share of the activations in the first two CONV layers, and the
# share of the parameters in the three FC layers and in the first FC layer alone. The
# notes' table says "24M" activations: does your table agree?
#
# Answer in the cell below, in a few sentences, with the numbers.

# %% [markdown] nbgrader={"grade": true, "grade_id": "written_vgg_memory_parameters", "locked": false, "points": 4, "schema_version": 3, "solution": true, "task": false}
# ### BEGIN SOLUTION
# VGG-16 holds 15,237,608 activations per image (the input and every layer's output,
# ReLU in place): 58.1 MiB in float32 for the forward pass. The first two CONV layers
# (224x224x64 each) hold 2 \* 3,211,264 = 6,422,528 of them, 42%, and all the CONV
# outputs 89%, while the three FC layers output only 9,192 numbers. Memory goes to the
# early, large-volume layers.
#
# The parameters go the other way: 138,357,544 in all, of which the FC layers hold
# 123,642,856 (89%) and the first FC layer alone 102,764,544 (74%; 102,760,448 weights
# on the 7x7x512 volume), against 14,714,688 for all thirteen CONV layers. The notes'
# "24M" (93MB) is not the sum of their own rows: the rows add up to about 15.2M.
#
# ### BEGIN RUBRIC
# Full (4): 15,237,608 activations and 138,357,544 parameters; about 42% of the
# activations in the first two CONV layers; about 89% of the parameters in the FC layers
# and about 74% in the first one; 15.2M, not 24M. All from
# `convnets.summarize(convnets.zoo.get('vgg16'))`, which prints the same table.
# Partial (1-3): the direction right (memory early, parameters in FC) with some of the
# numbers; one point per correct figure group.
# Zero: the direction wrong or no numbers.
# ### END RUBRIC
# ### END SOLUTION

# %% [markdown] nbgrader={"grade": false, "grade_id": "question_training_batch", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Question (3 points).** With your `memory_bytes`, how much memory does training
# VGG-16 in float32 (with a step cache, so 3 copies of the parameters) take for one
# image, and how much of it does not depend on the batch size? What is the largest batch
# that fits in 12 GB (12 x 1024^3 bytes)? Following the notes' heuristic, which knob do
# you turn when the network does not fit, and why does it work?
#
# Answer in the cell below, in a few sentences, with the numbers.

# %% [markdown] nbgrader={"grade": true, "grade_id": "written_training_batch", "locked": false, "points": 3, "schema_version": 3, "solution": true, "task": false}
# ### BEGIN SOLUTION
# For one image: `(2 * 15,237,608 + 3 * 138,357,544) * 4` = 1,782,191,392 bytes, about
# 1.66 GiB. The parameters, their gradients and the step cache take `3 * 138,357,544 *
# 4` = 1,660,290,528 bytes (1.55 GiB) whatever the batch; each image adds `2 *
# 15,237,608 * 4` = 121,900,864 bytes (116 MiB) of activations and their gradients. In
# 12 GiB: `(12,884,901,888 - 1,660,290,528) / 121,900,864 = 92.08`, so a batch of 92.
# When a network does not fit, the notes' heuristic is to decrease the batch size: the
# activations grow with it and, beyond a handful of images, use most of the memory.
#
# ### BEGIN RUBRIC
# Full (3): about 1.66 GiB for one image, 1.55 GiB of it fixed, 116 MiB per image, 92
# images in 12 GiB
# (`convnets.summarize(convnets.zoo.get('vgg16')).max_batch_size('12GB')` gives 92), and
# the batch size as the knob because the activations scale with it.
# Partial (1-2): the formula applied with an arithmetic slip, or the batch size named
# with the right reason but no numbers.
# Zero: no figure and no reason.
# ### END RUBRIC
# ### END SOLUTION

# %% [markdown]
# ## 4. Receptive fields: three 3x3 layers or one 7x7?
#
# The receptive field of a neuron is the region of the *input image* it depends on. Stack
# layers with filter size `F_l` and stride `S_l`; let `j_l` be the distance, in input
# pixels, between two neighbouring neurons of layer `l` (`j_0 = 1`). Then layer `l` adds
# `(F_l - 1) * j_{l-1}` pixels to the receptive field: `r_l = r_{l-1} + (F_l - 1) j_{l-1}`,
# `r_0 = 1`, and `j_l = j_{l-1} S_l`. A dilated filter with dilation `D` (1 = contiguous,
# taps `D` pixels apart) spans `D (F - 1) + 1` pixels, so it adds `D (F - 1) j_{l-1}`.
#
# Write `receptive_fields(stack)` for a list of `(F, S)` or `(F, S, D)` tuples, returning the
# receptive field side length after each layer. Then see why the notes prefer small filters:
# three 3x3 layers see 7x7 pixels, like one 7x7 layer, but with `C` channels everywhere
# they have `3 * (3*3*C) * C = 27 C^2` weights instead of `49 C^2` (and two more ReLUs).

# %% nbgrader={"grade": false, "grade_id": "answer_receptive_fields", "locked": false, "schema_version": 3, "solution": true, "task": false}
def receptive_fields(stack):
    """Receptive field (side length, in input pixels) after each layer of ``stack``.

    Parameters
    ----------
    stack : list of tuple
        ``(F, S)`` or ``(F, S, D)``: filter size, stride and dilation (default 1).

    Returns
    -------
    list of int
    """
    ### BEGIN SOLUTION
    r, j = 1, 1
    fields = []
    for layer in stack:
        F, S, D = (tuple(layer) + (1,))[:3]
        r += D * (F - 1) * j
        j *= S
        fields.append(r)
    return fields
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_receptive_fields", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
check_equal(receptive_fields([(3, 1)] * 3), [3, 5, 7], "three stacked 3x3 convolutions")
check_equal(receptive_fields([(7, 1)]), [7], "one 7x7 convolution")
check_equal(receptive_fields([(3, 1), (2, 2), (3, 1)]), [3, 4, 8], "conv, 2x2 pool, conv")
check_equal(receptive_fields([(3, 1, 1), (3, 1, 2), (3, 1, 4)]), [3, 7, 15],
            "dilations 1, 2, 4")
C = 64
stacked = network_totals([("CONV", C, 3, 1, 1), ("RELU",)] * 3, (C, 32, 32))["weights"]
single = network_totals([("CONV", C, 7, 1, 3)], (C, 32, 32))["weights"]
check_equal(stacked, 27 * C * C, "weights of three 3x3 layers (27 C^2)")
check_equal(single, 49 * C * C, "weights of one 7x7 layer (49 C^2)")
### BEGIN HIDDEN TESTS
import convnets as ref  # noqa: E402

with hidden_checks("test_receptive_fields") as rng:
    for trial in range(20):
        stack = []
        for _ in range(int(rng.integers(1, 7))):
            layer = (int(rng.integers(1, 8)), int(rng.integers(1, 4)))
            if rng.random() < 0.3:
                layer += (int(rng.integers(1, 5)),)
            stack.append(layer)
        check_equal(receptive_fields(stack), ref.receptive_field(stack), f"receptive_fields({stack})")
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "question_three_3x3", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Question (3 points).** Compare three stacked 3x3 CONV layers (stride 1, padding 1)
# with one 7x7 CONV layer, with `C = 64` channels everywhere on a 224x224 input. Give
# the receptive field of each, their weights, and the number of non-linearities. What do
# the three layers cost that the single layer does not?
#
# Answer in the cell below, in a few sentences, with the numbers.

# %% [markdown] nbgrader={"grade": true, "grade_id": "written_three_3x3", "locked": false, "points": 3, "schema_version": 3, "solution": true, "task": false}
# ### BEGIN SOLUTION
# Both see a 7x7 patch of the input (your `receptive_fields` gives 3, 5, 7 for the
# stack). The stack has `3 * (3*3*64) * 64 = 27 C^2` = 110,592 weights, the single layer
# `(7*7*64) * 64 = 49 C^2` = 200,704: 45% fewer. The stack has three ReLUs instead of
# one, so it computes a non-linear function of the patch where the 7x7 layer computes a
# linear one, which makes its features more expressive.
#
# The price is memory: the stack keeps two extra 224x224x64 volumes for the backward
# pass, 2 \* 3,211,264 = 6,422,528 more activations (about 49 MiB more in float32 with
# their gradients); the three volumes together are the notes' "about 10 million
# activations, 72MB".
#
# ### BEGIN RUBRIC
# Full (3): 7x7 for both; 110,592 against 200,704 weights (27 C^2 against 49 C^2); three
# ReLUs against one; the extra memory for the intermediate volumes (6,422,528
# activations).
# Partial (1-2): the formulas 27 C^2 / 49 C^2 without the numbers, or without the
# non-linearities or the memory cost.
# Zero: the receptive fields or the counts wrong and no reason.
# ### END RUBRIC
# ### END SOLUTION

# %% [markdown]
# ## 5. A three-layer ConvNet
#
# Now a network you can train:
#
#     INPUT -> CONV -> RELU -> POOL -> FC -> RELU -> FC -> softmax
#
# with the interface of the CS231n class `ThreeLayerConvNet`. The convolution has
# `num_filters` filters of `filter_size x filter_size`, stride 1 and padding
# `(filter_size - 1) // 2` (so an odd filter size keeps the spatial size); the pool is 2x2
# with stride 2; the hidden FC layer has `hidden_dim` units. The parameters live in the
# dictionary `self.params`:
#
# | key | shape | initial value |
# |---|---|---|
# | `W1` | `(num_filters, C, filter_size, filter_size)` | normal, std `weight_scale` |
# | `b1` | `(num_filters,)` | zeros |
# | `W2` | `(num_filters * H/2 * W/2, hidden_dim)` | normal, std `weight_scale` |
# | `b2` | `(hidden_dim,)` | zeros |
# | `W3` | `(hidden_dim, num_classes)` | normal, std `weight_scale` |
# | `b3` | `(num_classes,)` | zeros |
#
# all of dtype `dtype` (a NumPy dtype or its name, e.g. `"float64"`). `loss(X)` returns the
# class scores `(N, num_classes)`; `loss(X, y)` returns the softmax loss (averaged over the
# batch) plus the L2 penalty `0.5 * reg * (sum(W1**2) + sum(W2**2) + sum(W3**2))`, and a
# dictionary of gradients with the same keys and shapes as `self.params`. The methods read
# the parameters from `self.params` every time they run (the tests replace the whole
# dictionary).
#
# The layers you wrote in the previous assignments are given below (compact versions).

# %% nbgrader={"grade": false, "grade_id": "setup_layers", "locked": true, "schema_version": 3, "solution": false, "task": false}
def _windows(x, HH, WW, S, H_out, W_out):
    """(N, C, H_out, W_out, HH, WW) view of the HHxWW windows of x at stride S."""
    return sliding_window_view(x, (HH, WW), axis=(2, 3))[:, :, ::S, ::S][:, :, :H_out, :W_out]


def conv_forward(x, w, b, conv_param):
    """Convolution of x (N, C, H, W) with filters w (F, C, HH, WW), biases b (F,).

    conv_param: {"stride": S, "pad": P}. Returns (out (N, F, H', W'), cache).
    """
    S, P = conv_param.get("stride", 1), conv_param.get("pad", 0)
    HH, WW = w.shape[2:]
    H_out = conv_output_size_given(x.shape[2], HH, S, P)
    W_out = conv_output_size_given(x.shape[3], WW, S, P)
    xp = np.pad(x, ((0, 0), (0, 0), (P, P), (P, P)))
    windows = _windows(xp, HH, WW, S, H_out, W_out)
    out = np.tensordot(windows, w, axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2)
    return out + b[None, :, None, None], (x, w, conv_param)


def conv_backward(dout, cache):
    """Gradients (dx, dw, db) of conv_forward."""
    x, w, conv_param = cache
    S, P = conv_param.get("stride", 1), conv_param.get("pad", 0)
    HH, WW = w.shape[2:]
    H_out, W_out = dout.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (P, P), (P, P)))
    dw = np.tensordot(dout, _windows(xp, HH, WW, S, H_out, W_out), axes=([0, 2, 3], [0, 2, 3]))
    dxp = np.zeros_like(xp)
    for i in range(HH):
        for j in range(WW):
            dxp[:, :, i:i + S * H_out:S, j:j + S * W_out:S] += np.tensordot(
                dout, w[:, :, i, j], axes=([1], [0])).transpose(0, 3, 1, 2)
    return dxp[:, :, P:P + x.shape[2], P:P + x.shape[3]], dw, dout.sum(axis=(0, 2, 3))


def conv_output_size_given(W, F, S, P):
    span = W - F + 2 * P
    if span < 0 or span % S:
        raise ValueError(f"the window does not fit: (W - F + 2P)/S + 1 = ({W} - {F} + 2*{P})/{S}"
                         f" + 1 = {span / S + 1:g} is not a positive integer")
    return span // S + 1


def max_pool_forward(x, pool_param):
    """Max pooling. pool_param: {"pool_height", "pool_width", "stride"}. (out, cache)."""
    HH, WW, S = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    H_out = conv_output_size_given(x.shape[2], HH, S, 0)
    W_out = conv_output_size_given(x.shape[3], WW, S, 0)
    flat = _windows(x, HH, WW, S, H_out, W_out).reshape(x.shape[:2] + (H_out, W_out, HH * WW))
    switches = flat.argmax(axis=-1)
    out = np.take_along_axis(flat, switches[..., None], axis=-1)[..., 0]
    return out, (x.shape, switches, HH, WW, S)


def max_pool_backward(dout, cache):
    """Gradient dx of max pooling: each upstream gradient goes to the max of its window."""
    x_shape, switches, HH, WW, S = cache
    H_out, W_out = dout.shape[2:]
    dx = np.zeros(x_shape, dtype=dout.dtype)
    for i in range(HH):
        for j in range(WW):
            dx[:, :, i:i + S * H_out:S, j:j + S * W_out:S] += dout * (switches == i * WW + j)
    return dx


def affine_forward(x, w, b):
    """x (N, d_1, ..., d_k) flattened to (N, D), times w (D, M), plus b (M,). (out, cache)."""
    return x.reshape(x.shape[0], -1) @ w + b, (x, w)


def affine_backward(dout, cache):
    """Gradients (dx, dw, db) of affine_forward."""
    x, w = cache
    dx = (dout @ w.T).reshape(x.shape)
    return dx, x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)


def relu_forward(x):
    return np.maximum(x, 0), x


def relu_backward(dout, cache):
    return dout * (cache > 0)


def softmax_loss(scores, y):
    """Mean cross-entropy of softmax(scores) (N, K) for labels y (N,): (loss, dscores)."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    N = scores.shape[0]
    loss = -log_probs[np.arange(N), y].mean()
    dscores = np.exp(log_probs)
    dscores[np.arange(N), y] -= 1
    return float(loss), dscores / N


# %% nbgrader={"grade": false, "grade_id": "answer_three_layer_convnet", "locked": false, "schema_version": 3, "solution": true, "task": false}
class ThreeLayerConvNet:
    """conv - relu - 2x2 max pool - affine - relu - affine - softmax.

    Parameters
    ----------
    input_dim : tuple (C, H, W)
    num_filters : int
    filter_size : int
        Odd; the convolution pads by ``(filter_size - 1) // 2`` at stride 1.
    hidden_dim : int
    num_classes : int
    weight_scale : float
        Standard deviation of the initial weights (biases start at zero).
    reg : float
        L2 regularization strength.
    dtype : numpy dtype or its name
        Of the parameters and the computation (``"float64"`` for gradient checks).
    """

    def __init__(self, input_dim=(3, 32, 32), num_filters=32, filter_size=7, hidden_dim=100,
                 num_classes=10, weight_scale=1e-3, reg=0.0, dtype=np.float32):
        self.params = {}
        self.reg = reg
        self.dtype = dtype
        ### BEGIN SOLUTION
        C, H, W = input_dim
        pad = (filter_size - 1) // 2
        H_pool = (H + 2 * pad - filter_size + 1) // 2
        W_pool = (W + 2 * pad - filter_size + 1) // 2
        self.params["W1"] = weight_scale * np.random.randn(num_filters, C, filter_size,
                                                           filter_size)
        self.params["b1"] = np.zeros(num_filters)
        self.params["W2"] = weight_scale * np.random.randn(num_filters * H_pool * W_pool,
                                                           hidden_dim)
        self.params["b2"] = np.zeros(hidden_dim)
        self.params["W3"] = weight_scale * np.random.randn(hidden_dim, num_classes)
        self.params["b3"] = np.zeros(num_classes)
        ### END SOLUTION
        for key, value in self.params.items():
            self.params[key] = value.astype(dtype)

    def loss(self, X, y=None):
        """Scores ``(N, num_classes)`` if ``y`` is None, else ``(loss, grads)``."""
        W1, b1 = self.params["W1"], self.params["b1"]
        W2, b2 = self.params["W2"], self.params["b2"]
        W3, b3 = self.params["W3"], self.params["b3"]
        filter_size = W1.shape[2]
        conv_param = {"stride": 1, "pad": (filter_size - 1) // 2}
        pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
        X = np.asarray(X).astype(self.dtype)

        scores = None
        ### BEGIN SOLUTION
        conv, conv_cache = conv_forward(X, W1, b1, conv_param)
        relu1, relu1_cache = relu_forward(conv)
        pool, pool_cache = max_pool_forward(relu1, pool_param)
        hidden, hidden_cache = affine_forward(pool, W2, b2)
        relu2, relu2_cache = relu_forward(hidden)
        scores, scores_cache = affine_forward(relu2, W3, b3)
        ### END SOLUTION
        if y is None:
            return scores

        loss, grads = 0.0, {}
        ### BEGIN SOLUTION
        loss, dscores = softmax_loss(scores, y)
        loss += 0.5 * self.reg * sum(np.sum(W * W) for W in (W1, W2, W3))
        drelu2, grads["W3"], grads["b3"] = affine_backward(dscores, scores_cache)
        dhidden = relu_backward(drelu2, relu2_cache)
        dpool, grads["W2"], grads["b2"] = affine_backward(dhidden, hidden_cache)
        drelu1 = max_pool_backward(dpool, pool_cache)
        dconv = relu_backward(drelu1, relu1_cache)
        _, grads["W1"], grads["b1"] = conv_backward(dconv, conv_cache)
        grads["W1"] = grads["W1"] + self.reg * W1
        grads["W2"] = grads["W2"] + self.reg * W2
        grads["W3"] = grads["W3"] + self.reg * W3
        ### END SOLUTION
        return loss, grads


# %% nbgrader={"grade": true, "grade_id": "test_three_layer_convnet_shapes", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
model = ThreeLayerConvNet()
params = model.params
expected = {"W1": (32, 3, 7, 7), "b1": (32,), "W2": (32 * 16 * 16, 100), "b2": (100,),
            "W3": (100, 10), "b3": (10,)}
check_equal(sorted(params), sorted(expected), "keys of params")
for key, shape in expected.items():
    check_shape(params[key], shape, f"params['{key}']")
    check_equal(str(params[key].dtype), "float32", f"dtype of params['{key}']")
for key in ("b1", "b2", "b3"):
    check_equal(float(np.abs(params[key]).max()), 0.0, f"initial {key}")
std = float(np.std(params["W2"]))
if not 0.8e-3 < std < 1.2e-3:
    raise AssertionError(f"params['W2']: expected a standard deviation near weight_scale = 1e-3, "
                         f"got {std:.3g}")
print(f"ok: W2 has standard deviation {std:.3g}")
scores = model.loss(np.random.default_rng(0).standard_normal((2, 3, 32, 32)))
check_shape(scores, (2, 10), "scores")
### BEGIN HIDDEN TESTS
import convnets as ref  # noqa: E402

with hidden_checks("test_three_layer_convnet_shapes") as rng:
    for trial in range(4):
        C, H, W = int(rng.integers(1, 4)), 2 * int(rng.integers(2, 7)), 2 * int(rng.integers(2, 7))
        config = dict(input_dim=(C, H, W), num_filters=int(rng.integers(1, 9)),
                      filter_size=int(rng.choice([1, 3, 5])), hidden_dim=int(rng.integers(2, 30)),
                      num_classes=int(rng.integers(2, 12)), weight_scale=float(rng.uniform(0.01, 1)),
                      dtype="float64")
        model = ThreeLayerConvNet(**config)
        expected = ref.ThreeLayerConvNet(**config, seed=0).params
        params = model.params
        check_equal(sorted(params), sorted(expected), f"keys of params for {config}")
        for key in expected:
            check_shape(params[key], expected[key].shape, f"params['{key}'] for {config}")
            check_equal(str(params[key].dtype), "float64", f"dtype of params['{key}']")
        N = int(rng.integers(1, 4))
        check_shape(model.loss(rng.standard_normal((N, C, H, W))), (N, config["num_classes"]),
                    f"scores for {config}")
        big = ThreeLayerConvNet(input_dim=(3, 8, 8), num_filters=64, filter_size=3,
                                weight_scale=config["weight_scale"], dtype="float64")
        check_shape(big.params["W1"], (64, 3, 3, 3), "params['W1'] of a 64-filter network")
        std = float(np.std(big.params["W1"]))
        if not 0.85 * config["weight_scale"] < std < 1.15 * config["weight_scale"]:
            raise AssertionError(f"params['W1']: expected a standard deviation near weight_scale = "
                                 f"{config['weight_scale']:.3g}, got {std:.3g}")
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_three_layer_convnet_gradients", "locked": true, "points": 5, "schema_version": 3, "solution": false, "task": false}
# Numerical gradient check on a small network with the parameters set by the test.
rng = np.random.default_rng(0)
model = ThreeLayerConvNet(input_dim=(2, 4, 6), num_filters=3, filter_size=3, hidden_dim=5,
                          num_classes=4, reg=0.1, dtype="float64")
shapes = {key: np.shape(value) for key, value in model.params.items()}
params = {key: 0.3 * rng.standard_normal(shape) for key, shape in shapes.items()}
model.params = params
X = rng.standard_normal((3, 2, 4, 6))
y = np.array([0, 3, 1])
loss, grads = model.loss(X, y)
print(f"loss: {loss:.6f}")
for key in sorted(params):
    def loss_at(value, key=key):
        model.params = {**params, key: value}
        return model.loss(X, y)[0]

    numeric = eval_numerical_gradient(loss_at, params[key].copy(), h=1e-6)
    check_gradient(numeric, grads[key], f"d loss / d {key}", tol=1e-6)
model.params = params
# With zero weights every class gets the same score: the loss is log(4), plus no penalty.
model.params = {key: np.zeros(shape) for key, shape in shapes.items()}
check_close(model.loss(X, y)[0], np.log(4), "loss with all parameters zero")
model.params = params
### BEGIN HIDDEN TESTS
import convnets as ref  # noqa: E402

with hidden_checks("test_three_layer_convnet_gradients") as rng:
    for trial in range(4):
        C, H, W = int(rng.integers(1, 4)), 2 * int(rng.integers(2, 6)), 2 * int(rng.integers(2, 6))
        config = dict(input_dim=(C, H, W), num_filters=int(rng.integers(1, 6)),
                      filter_size=int(rng.choice([1, 3, 5])), hidden_dim=int(rng.integers(2, 12)),
                      num_classes=int(rng.integers(2, 8)),
                      reg=float(rng.choice([0.0, rng.uniform(0, 1)])),
                      dtype="float64")
        model = ThreeLayerConvNet(**config)
        reference = ref.ThreeLayerConvNet(**config, seed=0)
        params = {key: rng.standard_normal(value.shape) for key, value in reference.params.items()}
        model.params = params
        reference.params = params
        N = int(rng.integers(1, 5))
        X = rng.standard_normal((N, C, H, W))
        y = rng.integers(0, config["num_classes"], N)
        check_close(model.loss(X), reference.loss(X), f"scores for {config}")
        loss, grads = model.loss(X, y)
        ref_loss, ref_grads = reference.loss(X, y)
        check_close(loss, ref_loss, f"loss for {config}")
        check_gradients(grads, ref_grads, f"grads for {config}", rtol=1e-6, atol=1e-9)
### END HIDDEN TESTS

# %% [markdown]
# ## 6. Training on handwritten digits
#
# The data: the 1,797 handwritten digits that ship with scikit-learn, 8x8 grey images
# (real handwriting, reduced from 32x32 scans). The setup cell splits them into a training
# set and a validation set (a test set is kept aside for grading) and subtracts the
# training mean image. A small training loop (minibatch Adam) is given too.
#
# Write `train_digits_model(data)`: build a `ThreeLayerConvNet` for `(1, 8, 8)` inputs and
# 10 classes, train it on `data["X_train"], data["y_train"]` (with `train`, or your own
# loop) and return it. Choose the hyperparameters so that it reaches **at least 90%
# accuracy** on the validation set, in well under 20 seconds. (Hints: a few filters of 3x3,
# a hidden layer of 50 to 100 units, `weight_scale` around 0.05, a learning rate around
# 5e-3 and half a dozen epochs are plenty.)

# %% nbgrader={"grade": false, "grade_id": "setup_digits", "locked": true, "schema_version": 3, "solution": false, "task": false}
def load_digit_splits():
    """The training and validation splits of scikit-learn's 8x8 digits (mean subtracted)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    X = digits.images[:, None, :, :] / 16.0
    y = digits.target
    X_rest, _, y_rest, _ = train_test_split(X, y, test_size=0.2, stratify=y, random_state=0)
    X_train, X_val, y_train, y_val = train_test_split(
        X_rest, y_rest, test_size=0.1 / 0.8, stratify=y_rest, random_state=1)
    X_train = X_train.astype(np.float32)
    mean_image = X_train.mean(axis=0)
    return {"X_train": X_train - mean_image, "y_train": y_train,
            "X_val": X_val.astype(np.float32) - mean_image, "y_val": y_val,
            "mean_image": mean_image}


def accuracy(model, X, y, batch_size=200):
    """Fraction of the images in X whose highest score is their label."""
    predictions = [np.argmax(model.loss(X[i:i + batch_size]), axis=1)
                   for i in range(0, len(X), batch_size)]
    return float(np.mean(np.concatenate(predictions) == y))


def train(model, data, epochs=5, batch_size=50, learning_rate=1e-3, seed=0, verbose=True):
    """Minibatch Adam on ``model.params`` using ``model.loss(X, y)``; returns the history."""
    rng = np.random.default_rng(seed)
    X, y = data["X_train"], data["y_train"]
    moments = {key: (np.zeros_like(v), np.zeros_like(v)) for key, v in model.params.items()}
    beta1, beta2, eps, step = 0.9, 0.999, 1e-8, 0
    history = {"loss": [], "train_acc": [], "val_acc": []}
    for epoch in range(epochs):
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch_size):
            batch = order[start:start + batch_size]
            loss, grads = model.loss(X[batch], y[batch])
            history["loss"].append(loss)
            step += 1
            params = model.params
            for key, grad in grads.items():
                m, v = moments[key]
                m = beta1 * m + (1 - beta1) * grad
                v = beta2 * v + (1 - beta2) * grad * grad
                moments[key] = (m, v)
                m_hat, v_hat = m / (1 - beta1 ** step), v / (1 - beta2 ** step)
                update = learning_rate * m_hat / (np.sqrt(v_hat) + eps)
                params[key] = (params[key] - update).astype(params[key].dtype)
            model.params = params
        history["train_acc"].append(accuracy(model, X[:500], y[:500]))
        history["val_acc"].append(accuracy(model, data["X_val"], data["y_val"]))
        if verbose:
            print(f"epoch {epoch + 1}/{epochs}: loss {history['loss'][-1]:.3f}, train accuracy "
                  f"{history['train_acc'][-1]:.3f}, validation accuracy "
                  f"{history['val_acc'][-1]:.3f}")
    return history


digits = load_digit_splits()
print({key: value.shape for key, value in digits.items()})

# %% nbgrader={"grade": false, "grade_id": "answer_train_digits", "locked": false, "schema_version": 3, "solution": true, "task": false}
def train_digits_model(data):
    """A ThreeLayerConvNet for (1, 8, 8) digits, trained on data's training split."""
    ### BEGIN SOLUTION
    np.random.seed(0)
    model = ThreeLayerConvNet(input_dim=(1, 8, 8), num_filters=16, filter_size=3,
                              hidden_dim=64, num_classes=10, weight_scale=5e-2, reg=1e-4)
    train(model, data, epochs=6, batch_size=50, learning_rate=5e-3)
    return model
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_digits_accuracy", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
digits_model = train_digits_model(digits)
val_acc = accuracy(digits_model, digits["X_val"], digits["y_val"])
if not val_acc >= 0.90:
    raise AssertionError(f"validation accuracy: expected at least 0.90, got {val_acc:.3f}")
print(f"ok: validation accuracy {val_acc:.3f}")
### BEGIN HIDDEN TESTS
from convnets.data import load_digits  # noqa: E402

with hidden_checks("test_digits_accuracy"):
    held_out = load_digits()  # the same split; its test images were never shown
    test_acc = accuracy(digits_model, held_out["X_test"], held_out["y_test"])
    if not test_acc >= 0.85:
        raise AssertionError(f"accuracy on the held-out test digits: expected at least 0.85, "
                             f"got {test_acc:.3f}")
### END HIDDEN TESTS

# %% [markdown]
# ### What the first layer learned
#
# The cell below (not graded) shows the first-layer filters of the network you just
# trained, `digits_model.params["W1"]`, as little images: red weights add the pixel
# under them, blue ones subtract it, on one colour scale for all filters. Below them,
# what each filter makes of one validation digit, after the ReLU (the volume the pooling
# layer receives), again on one scale. The filters started as random noise of standard
# deviation `weight_scale`; training turned several of them into detectors of strokes
# of one direction or of their ends (each lights up where the digit has that pattern),
# while others may have stayed close to noise, or died (no response at all). Rerun
# `train_digits_model` with another seed or more filters and compare.

# %% nbgrader={"grade": false, "grade_id": "demo_learned_filters", "locked": true, "schema_version": 3, "solution": false, "task": false}
def show_grid(images, title, cmap, vmin, vmax, label, first=None):
    """Images in rows of 8 on one colour scale with a colour bar; `first`, a grey image
    shown in a column of its own on the left."""
    import matplotlib.pyplot as plt

    cols, rows = 8, -(-len(images) // 8)
    lead = first is not None
    fig, axes = plt.subplots(rows, cols + lead, figsize=(9, 1.2 * rows + 0.8),
                             squeeze=False, constrained_layout=True)
    for ax in axes.ravel():
        ax.axis("off")
    if lead:
        axes[0, 0].imshow(first, cmap="gray_r")
        axes[0, 0].set_title("input", fontsize=9)
    for k, image in enumerate(images):
        ax = axes[k // cols, k % cols + lead]
        shown = ax.imshow(image, cmap=cmap, vmin=vmin, vmax=vmax)
        ax.set_title(f"filter {k}", fontsize=8)
    fig.colorbar(shown, ax=axes[:, lead:], shrink=0.9).set_label(label, fontsize=9)
    fig.suptitle(title, fontsize=10)
    plt.show()


if "digits_model" not in globals():
    print("Run the test cell above first: it trains digits_model with your train_digits_model.")
else:
    W1 = np.asarray(digits_model.params["W1"], dtype=np.float64)   # (F, 1, size, size)
    b1 = np.asarray(digits_model.params["b1"], dtype=np.float64)
    limit = np.abs(W1).max()
    show_grid(W1[:, 0], f"the {len(W1)} first-layer filters of digits_model "
              f"({W1.shape[2]}x{W1.shape[3]})", "RdBu_r", -limit, limit, "weight")
    digit = digits["X_val"][:1].astype(np.float64)                 # (1, 1, 8, 8)
    pad = (W1.shape[2] - 1) // 2
    responses = relu_forward(conv_forward(digit, W1, b1, {"stride": 1, "pad": pad})[0])[0]
    show_grid(responses[0], f"their responses to a validation {digits['y_val'][0]}, after "
              "the ReLU", "Reds", 0, max(responses.max(), 1e-12), "response",
              first=digit[0, 0] + digits["mean_image"][0])
