"""summarize: the notes' VGG-16 table row by row, totals, memory, warnings, receptive fields."""

import math
import re
import warnings

import numpy as np
import pytest
from convnets import (
    Affine,
    Conv,
    MaxPool,
    ReLU,
    Sequential,
    SizingWarning,
    basic_block,
    format_bytes,
    parse_bytes,
    receptive_field,
    summarize,
    zoo,
)

# The assignments whose functions these tests cover (pyproject.toml lists the markers).
pytestmark = [pytest.mark.architectures, pytest.mark.fcconv_case_studies]

# The notes' table, verbatim (section "VGGNet in detail").
NOTES_VGG_TABLE = """\
INPUT: [224x224x3]        memory:  224*224*3=150K   weights: 0
CONV3-64: [224x224x64]  memory:  224*224*64=3.2M   weights: (3*3*3)*64 = 1,728
CONV3-64: [224x224x64]  memory:  224*224*64=3.2M   weights: (3*3*64)*64 = 36,864
POOL2: [112x112x64]  memory:  112*112*64=800K   weights: 0
CONV3-128: [112x112x128]  memory:  112*112*128=1.6M   weights: (3*3*64)*128 = 73,728
CONV3-128: [112x112x128]  memory:  112*112*128=1.6M   weights: (3*3*128)*128 = 147,456
POOL2: [56x56x128]  memory:  56*56*128=400K   weights: 0
CONV3-256: [56x56x256]  memory:  56*56*256=800K   weights: (3*3*128)*256 = 294,912
CONV3-256: [56x56x256]  memory:  56*56*256=800K   weights: (3*3*256)*256 = 589,824
CONV3-256: [56x56x256]  memory:  56*56*256=800K   weights: (3*3*256)*256 = 589,824
POOL2: [28x28x256]  memory:  28*28*256=200K   weights: 0
CONV3-512: [28x28x512]  memory:  28*28*512=400K   weights: (3*3*256)*512 = 1,179,648
CONV3-512: [28x28x512]  memory:  28*28*512=400K   weights: (3*3*512)*512 = 2,359,296
CONV3-512: [28x28x512]  memory:  28*28*512=400K   weights: (3*3*512)*512 = 2,359,296
POOL2: [14x14x512]  memory:  14*14*512=100K   weights: 0
CONV3-512: [14x14x512]  memory:  14*14*512=100K   weights: (3*3*512)*512 = 2,359,296
CONV3-512: [14x14x512]  memory:  14*14*512=100K   weights: (3*3*512)*512 = 2,359,296
CONV3-512: [14x14x512]  memory:  14*14*512=100K   weights: (3*3*512)*512 = 2,359,296
POOL2: [7x7x512]  memory:  7*7*512=25K  weights: 0
FC: [1x1x4096]  memory:  4096  weights: 7*7*512*4096 = 102,760,448
FC: [1x1x4096]  memory:  4096  weights: 4096*4096 = 16,777,216
FC: [1x1x1000]  memory:  1000 weights: 4096*1000 = 4,096,000
"""

ROW = re.compile(r"^(?P<name>[\w-]+): \[(?P<h>\d+)x(?P<w>\d+)x(?P<c>\d+)\]\s+memory:\s+"
                 r"(?P<memory>[\d*]+)(=\S+)?\s+weights: (?:(?P<formula>\S+) = )?"
                 r"(?P<weights>[\d,]+)$")


def notes_rows():
    rows = []
    for line in NOTES_VGG_TABLE.splitlines():
        m = ROW.match(line)
        assert m, line
        rows.append({
            "name": m["name"], "shape": (int(m["c"]), int(m["h"]), int(m["w"])),
            "activations": math.prod(int(f) for f in m["memory"].split("*")),
            "formula": m["formula"], "weights": int(m["weights"].replace(",", ""))})
    return rows


@pytest.fixture(scope="module")
def vgg16():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # VGG-16 follows every rule of thumb
        return summarize(zoo.get("vgg16"))


def test_vgg16_reproduces_every_row_of_the_notes_table(vgg16):
    expected = notes_rows()
    assert len(vgg16.rows) == len(expected) == 22
    for row, want in zip(vgg16.rows, expected, strict=True):
        assert row.name == want["name"]
        assert row.output_shape == want["shape"]
        assert row.activations == want["activations"]
        assert row.weights == want["weights"]
        if want["formula"]:
            assert row.weights_formula == want["formula"]


def test_vgg16_totals(vgg16):
    assert vgg16.total_weights == 138_344_128
    assert vgg16.total_params == 138_357_544
    assert vgg16.total_biases == 138_357_544 - 138_344_128
    first_fc = next(r for r in vgg16.rows if r.name == "FC")
    assert first_fc.weights == 102_760_448
    assert first_fc.weights / vgg16.total_weights > 0.74  # "100M of 140M"


def test_vgg16_total_activations_erratum(vgg16):
    """The notes say "TOTAL memory: 24M * 4 bytes ~= 93MB": the table's own rows add up
    to 15.2M values, 58 MB in float32 (1 MB = 1024^2 bytes)."""
    table_sum = sum(r["activations"] for r in notes_rows())
    assert vgg16.total_activations == table_sum == 15_237_608
    assert vgg16.total_activations != 24_000_000
    assert vgg16.memory("float32", training=False, batch_size=1) == (
        (15_237_608 + 138_357_544) * 4)
    activations_mb = 15_237_608 * 4 / 1024**2
    assert activations_mb == pytest.approx(58.13, abs=0.01)
    assert "58.13 MB" in str(vgg16)


def test_vgg16_receptive_fields(vgg16):
    fields = [r.receptive_field for r in vgg16.rows]
    assert fields[:5] == [1, 3, 5, 6, 10]
    pool5 = [r for r in vgg16.rows if r.name == "POOL2"][-1]
    assert pool5.receptive_field == 212  # the published figure for VGG-16's pool5
    assert vgg16.total_stride == 32  # 224/2/2/2/2/2 = 7


def test_vgg16_prints_like_the_notes(vgg16):
    text = str(vgg16)
    assert text.splitlines()[1].startswith("INPUT: [224x224x3]  memory:  224*224*3=")
    assert "CONV3-64: [224x224x64]  memory:  224*224*64=3.2M   weights: (3*3*3)*64 = 1,728" in text
    assert "FC: [1x1x4096]  memory:  4096   weights: 7*7*512*4096 = 102,760,448" in text
    assert "TOTAL params: 138,357,544 (138,344,128 weights + 13,416 biases)" in text
    assert "1 KB = 1024 bytes" in text
    assert "float32" in text and "float64" in text


def test_summarize_works_from_shapes_alone():
    model = zoo.get("vgg16")
    summary = summarize(model)
    assert not model.allocated  # 138M parameters never created
    assert summary.total_params == model.num_params()


def test_memory_accounting():
    s = summarize(Sequential([Conv(2, 3, pad=1), ReLU(), Affine(3)], (1, 4, 4)))
    acts = 16 + 32 + 3  # input, conv output, FC output (ReLU in place)
    params = 2 * 9 + 2 + 32 * 3 + 3
    assert (s.total_activations, s.total_params) == (acts, params)
    assert s.memory("float32") == (acts + params) * 4
    assert s.memory("float64", training=True) == (2 * acts + 3 * params) * 8
    assert s.memory("float32", training=True, batch_size=10) == (20 * acts + 3 * params) * 4
    for rule, copies in (("sgd", 2), ("sgd_momentum", 3), ("rmsprop", 3), ("adam", 4)):
        assert s.memory("float32", True, 10, update_rule=rule) == (20 * acts
                                                                  + copies * params) * 4
    with pytest.raises(ValueError, match=r"update_rule must be one of .*'adam'.* got 'lbfgs'"):
        s.memory(training=True, update_rule="lbfgs")
    adam_budget = s.memory("float32", training=True, batch_size=7, update_rule="adam")
    assert s.max_batch_size(adam_budget, update_rule="adam") == 7
    assert s.max_batch_size(adam_budget) >= 7
    budget = s.memory("float32", training=True, batch_size=7) + 5
    assert s.max_batch_size(budget) == 7
    assert s.max_batch_size(s.memory("float32", training=True, batch_size=0) - 1) == 0
    with pytest.raises(ValueError, match="batch_size"):
        s.memory(batch_size=-1)


def test_max_batch_size_for_a_gpu_budget():
    """The notes' "make it fit" heuristic: VGG-16 training in float32 on a 12 GB GPU."""
    s = summarize(zoo.get("vgg16"))
    n = s.max_batch_size("12GB", "float32", training=True)
    assert s.memory("float32", True, n) <= 12 * 1024**3 < s.memory("float32", True, n + 1)
    assert n == (12 * 1024**3 - 3 * 138_357_544 * 4) // (2 * 15_237_608 * 4)


def test_bytes_helpers():
    assert parse_bytes("12GB") == 12 * 1024**3
    assert parse_bytes("3.5 MB") == int(3.5 * 1024**2)
    assert parse_bytes(1000) == 1000
    assert format_bytes(60_950_432) == "58.13 MB"
    assert format_bytes(512) == "512 bytes"
    with pytest.raises(ValueError, match="12 gigs"):
        parse_bytes("12 gigs")


def test_three_3x3_layers_memory_claim():
    """Notes: three 3x3 CONV layers with 64 filters and pad 1 on 224x224x3 make three
    [224x224x64] volumes, "about 10 million activations, or 72MB" with gradients."""
    layers = [Conv(64, 3, pad=1), ReLU(), Conv(64, 3, pad=1), ReLU(), Conv(64, 3, pad=1)]
    s = summarize(Sequential(layers, (3, 224, 224)))
    volumes = s.total_activations - 224 * 224 * 3
    assert volumes == 9_633_792
    with_gradients = 2 * volumes * 4
    assert with_gradients / 1024**2 == pytest.approx(73.5, abs=0.01)  # the notes round to 72
    assert with_gradients / 1e6 == pytest.approx(77.07, abs=0.01)


def test_single_neuron_and_filter_weight_counts():
    """Notes: an FC neuron on 32x32x3 has 3072 weights, on 200x200x3 120,000; a 5x5
    filter on 32x32x3 has 75 weights + 1 bias; a 3x3 one on 16x16x20, 180."""
    assert summarize([Affine(1)], (3, 32, 32)).total_weights == 3072
    assert summarize([Affine(1)], (3, 200, 200)).total_weights == 120_000
    s = summarize([Conv(1, 5, pad=2)], (3, 32, 32))
    assert (s.total_weights, s.total_biases) == (75, 1)
    assert summarize([Conv(1, 3, pad=1)], (20, 16, 16)).total_weights == 180


def test_alexnet_parameter_sharing_claims():
    """Notes: 55*55*96 = 290,400 neurons; without sharing 290,400 * 364 = 105,705,600
    parameters; with sharing 34,848 weights + 96 biases = 34,944."""
    with pytest.warns(SizingWarning):
        conv1 = summarize(zoo.get("alexnet")).rows[1]
    assert conv1.output_shape == (96, 55, 55)
    assert conv1.activations == 290_400
    per_neuron = conv1.weights // 96 + 1
    assert per_neuron == 364
    assert conv1.activations * per_neuron == 105_705_600
    assert (conv1.weights, conv1.params) == (34_848, 34_944)


def test_stacked_3x3_versus_one_7x7():
    """Three 3x3 layers see 7x7 like one 7x7 layer, with 27C^2 instead of 49C^2 weights."""
    C = 8
    stack = summarize([Conv(C, 3, pad=1), ReLU(), Conv(C, 3, pad=1), ReLU(),
                       Conv(C, 3, pad=1)], (C, 16, 16))
    single = summarize([Conv(C, 7, pad=3)], (C, 16, 16))
    assert [r.receptive_field for r in stack.rows[1:]] == [3, 5, 7]
    assert single.rows[1].receptive_field == 7
    assert stack.total_weights == 27 * C * C and single.total_weights == 49 * C * C


def test_receptive_field_helper():
    assert receptive_field([3, 3, 3]) == [3, 5, 7]
    assert receptive_field([(3, 1, 1), (3, 1, 2), (3, 1, 4)]) == [3, 7, 15]  # dilated
    assert receptive_field([(3, 1, 2), (3, 1, 2)]) == [5, 9]  # the notes' "dilation 1"
    assert receptive_field([Conv(4, 3, pad=1), ReLU(), MaxPool(2), Conv(4, 3, pad=1)]) == [
        3, 3, 4, 8]
    assert receptive_field([Conv(4, 3, pad=1), Affine(2)], (1, 8, 8)) == [3, 10]
    with pytest.raises(ValueError, match="input_shape"):
        receptive_field([Affine(2)])


def test_dilated_conv_row_includes_the_dilation():
    s = summarize([Conv(2, 3, pad=2, dilation=2)], (1, 8, 8))
    assert s.rows[1].receptive_field == 5
    assert s.rows[1].output_shape == (2, 8, 8)


def test_size_that_does_not_fit_raises_naming_the_layer():
    with pytest.raises(ValueError, match=r"layer 'conv2' \(CONV3-4\).*\(10 - 3 \+ 0\)/2 \+ 1 "
                                         r"= 4\.5 is not an integer"):
        summarize([Conv(4, 3, pad=1), Conv(4, 3, stride=2)], (3, 10, 10))


def test_alexnet_on_224_explains_the_papers_input():
    model = zoo.get("alexnet")
    with pytest.raises(ValueError) as info:
        summarize(model, (3, 224, 224))
    message = str(info.value)
    for part in ("conv1", "54.25", "227", "3 pixels", "(224 - 11 + 0)/4 + 1"):
        assert part in message


def test_rule_of_thumb_warnings():
    with pytest.warns(SizingWarning, match=r"227x227 is not divisible by the network's total "
                                           r"stride 32"):
        summarize(zoo.get("alexnet"))
    with pytest.warns(SizingWarning) as record:
        summarize(zoo.get("lenet5"))
    messages = [str(w.message) for w in record]
    assert len(messages) == 2  # C1 and C3; C5 covers its whole 5x5 input
    assert "'conv1' (CONV5-6) pads P = 0 at stride 1, but P = (F - 1)/2 = 2" in messages[0]
    assert "'conv2' (CONV5-16)" in messages[1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        summarize([Conv(4, 3, pad=1), MaxPool(2), Conv(4, 5, pad=2), MaxPool(2)], (3, 32, 32))
        summarize(zoo.get("lenet5"), warn=False)
        # A filter that covers its whole input is an FC layer in disguise: no warning.
        summarize([Conv(4, 4)], (3, 4, 4))


def test_blocks_compact_and_expanded():
    model = Sequential([Conv(4, 3, pad=1), basic_block(4, 8, stride=2), ReLU()], (3, 8, 8))
    full = summarize(model)
    compact = summarize(model, expand=False)
    assert [r.name for r in compact.rows] == ["INPUT", "CONV3-4", "RESIDUAL"]
    assert [r.name for r in full.rows] == ["INPUT", "CONV3-4", "CONV3-8", "BN", "CONV3-8", "BN",
                                           "CONV1-8", "BN", "RESIDUAL"]
    assert [r.depth for r in full.rows] == [0, 0, 1, 1, 1, 1, 1, 1, 0]
    for attr in ("total_params", "total_activations", "total_buffers"):
        assert getattr(full, attr) == getattr(compact, attr)
    assert compact.rows[-1].weights == full.total_weights - full.rows[1].weights
    assert sum(r.params for r in full.rows) == full.total_params
    # every volume: input, conv, six inside the block, and the sum
    assert full.total_activations == 3 * 64 + 4 * 64 + 6 * 8 * 16 + 8 * 16
    assert full.total_buffers == 2 * (8 + 8 + 8)
    assert "sum of its layers" in str(compact)


def test_in_place_rows_are_optional_and_never_counted():
    layers = [Conv(2, 3, pad=1), ReLU(), MaxPool(2)]
    plain = summarize(layers, (1, 4, 4))
    layers = [Conv(2, 3, pad=1), ReLU(), MaxPool(2)]
    shown = summarize(layers, (1, 4, 4), include_in_place=True)
    assert [r.name for r in plain.rows] == ["INPUT", "CONV3-2", "POOL2"]
    assert [(r.name, r.in_place) for r in shown.rows] == [
        ("INPUT", False), ("CONV3-2", False), ("RELU", True), ("POOL2", False)]
    assert plain.total_activations == shown.total_activations == 16 + 32 + 8
    assert "(in place)" in str(shown)


def test_summary_of_a_model_equals_model_summary():
    model = zoo.get("resnet18", width=1 / 16)
    assert model.summary().total_params == summarize(model).total_params
    assert np.isclose(model.summary().total_params, model.num_params())


def test_flatten_then_fc_sees_the_whole_input():
    """A Flatten before an FC layer must not hide the FC's full receptive field."""
    from convnets.network import Affine, Conv, Flatten, MaxPool, Sequential

    def net(flatten):
        layers = [Conv(4, 3), MaxPool(2), Conv(4, 3)]
        return Sequential(layers + ([Flatten()] if flatten else []) + [Affine(10)],
                          input_shape=(3, 12, 12))

    with_flatten = summarize(net(True), (3, 12, 12), warn=False).rows[-1].receptive_field
    without = summarize(net(False), (3, 12, 12), warn=False).rows[-1].receptive_field
    assert with_flatten == without == 12


def test_param_copies_count_the_arrays_each_update_rule_keeps():
    from convnets import optim
    from convnets.summary import PARAM_COPIES

    assert set(PARAM_COPIES) == set(optim.UPDATE_RULES)
    w, dw = np.ones((3, 4)), np.full((3, 4), 0.5)
    for rule, update in optim.UPDATE_RULES.items():
        _, config = update(w, dw, {})
        state = [v for v in config.values() if isinstance(v, np.ndarray)]
        assert all(v.shape == w.shape for v in state)
        assert PARAM_COPIES[rule] == 2 + len(state), rule      # values + gradients + state
