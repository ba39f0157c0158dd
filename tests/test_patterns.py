"""The notes' layer-pattern notation: parsing, building, running, and errors with positions."""

import numpy as np
import pytest
from convnets import (
    GENERAL_PATTERN,
    NOTES_PATTERNS,
    Affine,
    Conv,
    MaxPool,
    eval_numerical_gradient,
    from_pattern,
    parse_pattern,
    rel_error,
)

# The assignments whose functions these tests cover (pyproject.toml lists the markers).
pytestmark = [pytest.mark.architectures]


@pytest.mark.parametrize("pattern", NOTES_PATTERNS)
def test_the_notes_four_examples_build_and_run(pattern):
    model = from_pattern(pattern, (3, 32, 32), 10, filters=4, hidden=8)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 3, 32, 32))
    scores = model.forward(x)
    assert scores.shape == (3, 10)
    loss, grads = model.loss(x, np.array([1, 5, 9]))
    assert np.isfinite(loss) and sorted(grads) == sorted(model.params)


def test_the_examples_layers():
    kinds = [[layer.kind for layer in from_pattern(p, (3, 32, 32), 10, filters=4, hidden=8)]
             for p in NOTES_PATTERNS]
    assert kinds[0] == ["FC"]  # a linear classifier: N = M = K = 0
    assert kinds[1] == ["CONV3-4", "RELU", "FC"]
    assert kinds[2] == ["CONV3-4", "RELU", "POOL2"] * 2 + ["FC", "RELU", "FC"]
    assert kinds[3] == (["CONV3-4", "RELU", "CONV3-4", "RELU", "POOL2"] * 3
                        + ["FC", "RELU", "FC", "RELU", "FC"])


def test_the_overview_example_shapes():
    """Notes: INPUT [32x32x3] -> CONV with 12 filters [32x32x12] -> RELU -> POOL [16x16x12]
    -> FC [1x1x10], from a real forward pass."""
    model = from_pattern("INPUT -> CONV -> RELU -> POOL -> FC", (3, 32, 32), 10, filters=12)
    acts = model.activations(np.zeros((1, 3, 32, 32)))
    assert [a.shape[1:] for _, a in acts] == [(12, 32, 32), (12, 32, 32), (12, 16, 16), (10,)]


def test_parse_expands_nested_repetitions():
    assert parse_pattern("INPUT -> [[CONV -> RELU]*2 -> POOL]*3 -> [FC -> RELU]*2 -> FC") == (
        (["CONV", "RELU"] * 2 + ["POOL"]) * 3 + ["FC", "RELU"] * 2 + ["FC"])
    assert parse_pattern("INPUT") == []
    assert parse_pattern("INPUT -> [CONV]*0 -> FC") == ["FC"]
    assert parse_pattern("INPUT->CONV*2*3->FC") == ["CONV"] * 6 + ["FC"]


def test_general_pattern_with_letters_and_optional_pool():
    repeats = {"N": 2, "M": 3, "K": 2}
    assert parse_pattern(GENERAL_PATTERN, repeats).count("POOL?") == 3
    model = from_pattern(GENERAL_PATTERN, (3, 32, 32), 10, repeats=repeats,
                         filters=[4, 4, 8, 8, 16, 16], hidden=[32, 16])
    kinds = [layer.kind for layer in model]
    assert kinds.count("POOL2") == 3 and kinds.count("FC") == 3
    assert model.output_shape() == (10, 1, 1)
    assert [layer.units for layer in model if isinstance(layer, Affine)] == [32, 16, 10]
    assert [layer.filters for layer in model if isinstance(layer, Conv)] == [4, 4, 8, 8, 16, 16]
    # POOL? switched off everywhere, or per occurrence
    no_pool = from_pattern(GENERAL_PATTERN, (3, 8, 8), 10, repeats=repeats, pool=False)
    assert not any(isinstance(layer, MaxPool) for layer in no_pool)
    some = from_pattern(GENERAL_PATTERN, (3, 8, 8), 10, repeats=repeats,
                        pool=[True, False, True])
    assert sum(isinstance(layer, MaxPool) for layer in some) == 2
    assert some.output_shape() == (10, 1, 1)
    # M = 0 and K = 0 leave a linear classifier
    linear = from_pattern(GENERAL_PATTERN, (3, 8, 8), 10, repeats={"N": 2, "M": 0, "K": 0})
    assert [layer.kind for layer in linear] == ["FC"]


def test_conv_layers_preserve_the_spatial_size():
    model = from_pattern("INPUT -> [CONV -> RELU]*3 -> FC", (3, 16, 16), 5,
                         filters=[4, 6, 8], filter_size=[3, 5, 7])
    assert [(c.size[0], c.pad, c.stride) for c in model if isinstance(c, Conv)] == [
        (3, 1, 1), (5, 2, 1), (7, 3, 1)]
    assert model.trace()[-1][1] == (8, 16, 16)


def test_pattern_network_gradients():
    model = from_pattern("INPUT -> [CONV -> RELU -> POOL]*2 -> FC -> RELU -> FC", (2, 8, 8), 3,
                         filters=[2, 3], hidden=4, dtype=np.float64, reg=0.2)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((2, 2, 8, 8)), np.array([0, 2])
    _, grads = model.loss(x, y)
    for key, value in model.params.items():
        numeric = eval_numerical_gradient(lambda _: model.loss(x, y)[0], value)
        assert rel_error(numeric, grads[key]) < 1e-7, key


@pytest.mark.parametrize(("pattern", "message", "position"), [
    ("INPUT -> [CONV -> RELU", "'[' at position 9 is never closed", 9),
    ("INPUT -> CONV] -> FC", "']' without a matching '[' at position 13", 13),
    ("CONV -> FC", "a pattern starts with INPUT, got 'CONV' at position 0", 0),
    ("INPUT -> CONV -> -> FC", "expected a layer name or '[', got '->' at position 17", 17),
    ("INPUT -> CONV*N -> FC", "repetition count 'N' at position 14 has no value", 14),
    ("INPUT -> CONV -> BOB -> FC", "unknown layer 'BOB' at position 17", 17),
    ("INPUT -> CONV * -> FC", "'*' at position 14 must be followed by a count", 16),
    ("INPUT -> CONV & FC", "unexpected character '&' at position 14", 14),
    ("INPUT FC", "expected '->' after INPUT, got 'FC' at position 6", 6),
    ("INPUT -> FC FC", "expected '->' or the end, got 'FC' at position 12", 12),
    ("INPUT -> FC -> INPUT", "INPUT may only start the pattern (position 15)", 15),
    ("INPUT -> [CONV RELU] -> FC", "expected '->' or ']', got 'RELU' at position 15", 15),
    ("INPUT -> [] -> FC", "expected a layer name or '[', got ']' at position 10", 10),
])
def test_malformed_patterns_name_the_position(pattern, message, position):
    with pytest.raises(ValueError) as info:
        parse_pattern(pattern)
    lines = str(info.value).splitlines()
    assert lines[0] == message or lines[0].startswith(message)
    assert lines[1] == "  " + pattern
    assert lines[2] == "  " + " " * position + "^"


def test_hyperparameter_errors():
    with pytest.raises(ValueError, match="must end with FC"):
        from_pattern("INPUT -> CONV -> RELU", (3, 8, 8), 10)
    with pytest.raises(ValueError, match="filters has 2 entries but the pattern has 3 CONV"):
        from_pattern("INPUT -> [CONV -> RELU]*3 -> FC", (3, 8, 8), 10, filters=[4, 4])
    with pytest.raises(ValueError, match="hidden has 1 entries but the pattern has 2 hidden"):
        from_pattern("INPUT -> [FC -> RELU]*2 -> FC", (3, 8, 8), 10, hidden=[4])
    with pytest.raises(ValueError, match="pool has 1 entries but the pattern has 2 POOL"):
        from_pattern("INPUT -> [CONV -> POOL?]*2 -> FC", (3, 8, 8), 10, pool=[True])
    with pytest.raises(ValueError, match="filter_size of CONV number 1 is 4; it must be odd"):
        from_pattern("INPUT -> CONV -> FC", (3, 8, 8), 10, filter_size=4)
    with pytest.raises(ValueError, match=r"pool3' \(POOL2\).*\(5 - 2\)/2 \+ 1 = 2\.5"):
        from_pattern("INPUT -> [CONV -> POOL]*3 -> FC", (3, 20, 20), 10)
    with pytest.raises(TypeError, match="pattern must be a string"):
        parse_pattern(["CONV"])
