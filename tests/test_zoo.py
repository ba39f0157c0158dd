"""The zoo: parameter counts against the published figures, shapes, small-width runs."""

import warnings

import numpy as np
import pytest
from convnets import (
    LRN,
    Affine,
    Conv,
    GlobalAvgPool,
    Inception,
    MaxPool,
    Residual,
    Sequential,
    SpatialBatchNorm,
    summarize,
    zoo,
)

# The assignments whose functions these tests cover (pyproject.toml lists the markers).
pytestmark = [pytest.mark.fcconv_case_studies]


def count(name, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # AlexNet's 227 and LeNet's padding break the rules
        return summarize(zoo.get(name, **options))


def all_layers(model):
    return [sub for layer in model.layers for sub in layer.sublayers()]


def test_names():
    assert zoo.names() == ["lenet5", "alexnet", "zfnet", "vgg16", "googlenet", "resnet18",
                           "resnet34", "resnet50"]
    with pytest.raises(ValueError, match="unknown architecture 'vgg19'"):
        zoo.get("vgg19")
    with pytest.raises(ValueError, match="width must be a positive number"):
        zoo.get("vgg16", width=0)


@pytest.mark.parametrize(("name", "options", "expected"), [
    ("resnet18", {}, 11_689_512),         # torchvision
    ("resnet34", {}, 21_797_672),         # torchvision
    ("resnet50", {}, 25_557_032),         # torchvision
    ("googlenet", {"variant": "torchvision"}, 6_624_904),  # torchvision, no aux heads
    ("vgg16", {}, 138_357_544),           # the notes' table with biases
    ("lenet5", {}, 61_706),               # LeNet-5 with a fully connected C3
])
def test_published_parameter_counts(name, options, expected):
    assert count(name, **options).total_params == expected


def test_alexnet_parameters_and_the_papers_60m():
    """One tower: 62,378,344. The paper's two GPUs split conv2, conv4 and conv5 into two
    groups that each see half of the input channels, halving their weights: ~61.0M,
    the paper's "60 million"."""
    s = count("alexnet")
    assert s.total_params == 62_378_344
    convs = [r for r in s.rows if r.name.startswith("CONV")]
    grouped = sum(convs[i].weights for i in (1, 3, 4)) // 2
    assert s.total_params - grouped == 60_965_224
    assert 60e6 < s.total_params - grouped < 61e6


def test_googlenet_parameters_against_the_notes_4m():
    """The paper's network (biases, no BN, 5x5 branch) has 7.0M parameters here; its
    Table 1 lists about 6.8M; the notes' "4M" matches neither, but holds as "an order of
    magnitude fewer than AlexNet"."""
    paper = count("googlenet")
    assert paper.total_params == 6_998_552
    classifier = [r for r in paper.rows if r.name == "FC"]
    assert len(classifier) == 1 and classifier[0].params == 1_025_000
    assert paper.total_params - classifier[0].params == 5_973_552
    assert abs(paper.total_params - 6.8e6) / 6.8e6 < 0.03
    assert paper.total_params > 4e6
    assert count("alexnet").total_params / paper.total_params > 8


def test_zfnet_and_alexnet_first_layers():
    zf = count("zfnet")
    assert zf.total_params == 62_357_608
    assert zf.rows[1].name == "CONV7-96" and zf.rows[1].output_shape == (96, 110, 110)
    # The paper's figure: 110 -> 55 -> 26 -> 13 -> 13 -> 13 -> 13 -> 6
    sizes = [r.output_shape[1] for r in zf.rows if r.name.startswith(("CONV", "POOL"))]
    assert sizes == [110, 55, 26, 13, 13, 13, 13, 6]
    alex = count("alexnet")
    assert alex.rows[1].name == "CONV11-96" and alex.rows[1].output_shape == (96, 55, 55)
    sizes = [r.output_shape[1] for r in alex.rows if r.name.startswith(("CONV", "POOL"))]
    assert sizes == [55, 27, 27, 13, 13, 13, 13, 6]


def test_alexnet_conv1_forward_on_227():
    first = zoo.alexnet()[0][0]  # the full-width first layer
    out = Sequential([first], (3, 227, 227)).forward(np.zeros((1, 3, 227, 227)))
    assert out.shape == (1, 96, 55, 55)


def test_alexnet_on_224_raises_with_the_explanation():
    with pytest.raises(ValueError) as info:
        zoo.get("alexnet", input_shape=(3, 224, 224))
    message = str(info.value)
    for part in ("54.25", "227", "224", "3 pixels", "no symmetric zero-padding"):
        assert part in message
    model = zoo.get("alexnet", width=1 / 16)
    with pytest.raises(ValueError, match="54.25"):
        model.forward(np.zeros((1, 3, 224, 224), dtype=np.float32))


def test_vgg16_is_homogeneous():
    model = zoo.get("vgg16")
    convs = [layer for layer in model if isinstance(layer, Conv)]
    pools = [layer for layer in model if isinstance(layer, MaxPool)]
    assert len(convs) == 13 and len(pools) == 5
    assert all(c.size == (3, 3) and c.stride == 1 and c.pad == 1 for c in convs)
    assert all(p.size == 2 and p.stride == 2 for p in pools)
    assert sum(isinstance(layer, Affine) for layer in model) == 3


def test_googlenet_structure():
    s = count("googlenet")
    blocks = [r for r in s.rows if r.name == "INCEPTION"]
    # Output channels of 3a ... 5b (Szegedy et al., Table 1)
    assert [r.output_shape[0] for r in blocks] == [256, 480, 512, 512, 512, 528, 832, 832, 1024]
    assert [r.output_shape[1] for r in blocks] == [28, 28, 14, 14, 14, 14, 14, 7, 7]
    model = zoo.get("googlenet")
    assert sum(isinstance(layer, LRN) for layer in model) == 2
    assert sum(isinstance(layer, Affine) for layer in model) == 1  # average pooling, no FC stack
    assert isinstance(model.layers[-2], GlobalAvgPool)
    tv = zoo.get("googlenet", variant="torchvision")
    assert not any(isinstance(layer, LRN) for layer in tv)
    assert any(isinstance(sub, SpatialBatchNorm) for sub in all_layers(tv))
    with pytest.raises(ValueError, match="variant"):
        zoo.get("googlenet", variant="v3")


@pytest.mark.parametrize(("name", "blocks", "bottleneck"), [
    ("resnet18", 8, False), ("resnet34", 16, False), ("resnet50", 16, True)])
def test_resnet_structure(name, blocks, bottleneck):
    model = zoo.get(name)
    residual = [layer for layer in model if isinstance(layer, Residual)]
    assert len(residual) == blocks
    assert residual[0].path == "res2a"
    assert residual[-1].path == ("res5b" if name == "resnet18" else "res5c")
    assert (len(residual[0].branches["main"]) == 8) == bottleneck  # 3 convs + 3 BN + 2 ReLU
    assert sum(isinstance(layer, Affine) for layer in model) == 1  # no FC stack
    assert isinstance(model.layers[-2], GlobalAvgPool)
    assert sum(isinstance(sub, SpatialBatchNorm) for sub in all_layers(model)) > blocks
    s = count(name)
    sizes = [r.output_shape[1] for r in s.rows if r.name == "RESIDUAL"]
    assert sizes[0] == 56 and sizes[-1] == 7
    assert s.rows[1].output_shape[1:] == (112, 112)  # 7x7/2, pad 3: 112.5 -> 112
    assert s.rows[-2].output_shape[0] == (2048 if bottleneck else 512)


# --------------------------------------------------------------------------------------
# Small versions run: forward scores and a loss/gradient call
# --------------------------------------------------------------------------------------

SMALL = {
    "lenet5": (1.0, None),
    "alexnet": (1 / 16, None),
    "zfnet": (1 / 16, None),
    "vgg16": (1 / 32, None),
    "googlenet": (1 / 16, (3, 64, 64)),
    "resnet18": (1 / 16, (3, 64, 64)),
    "resnet34": (1 / 16, (3, 64, 64)),
    "resnet50": (1 / 16, (3, 64, 64)),
}


@pytest.mark.parametrize("name", zoo.names())
def test_small_models_forward_and_train(name):
    width, shape = SMALL[name]
    model = zoo.get(name, num_classes=7, width=width, input_shape=shape, seed=1)
    N = 2
    x = np.random.default_rng(0).standard_normal((N, *model.input_shape)).astype(np.float32)
    scores = model.forward(x)
    assert scores.shape == (N, 7) and scores.dtype == np.float32
    assert np.all(np.isfinite(scores))
    loss, grads = model.loss(x, np.array([0, 6]))
    assert np.isfinite(loss)
    assert sorted(grads) == sorted(model.params)
    assert all(np.all(np.isfinite(g)) and g.shape == model.params[k].shape
               for k, g in grads.items())


def test_default_inputs_and_classes():
    shapes = {name: zoo.get(name).input_shape for name in zoo.names()}
    assert shapes["alexnet"] == (3, 227, 227)
    assert shapes["lenet5"] == (1, 32, 32)
    assert all(shapes[n] == (3, 224, 224) for n in zoo.names() if n not in ("alexnet", "lenet5"))
    assert zoo.get("lenet5").num_classes == 10
    assert zoo.get("resnet50").num_classes == 1000


def test_width_scales_channels_and_hidden_units():
    half = count("vgg16", width=0.5)
    assert half.rows[1].output_shape == (32, 224, 224)
    assert [r.output_shape[0] for r in half.rows if r.name == "FC"] == [2048, 2048, 1000]
    small = zoo.get("resnet50", width=1 / 16)
    assert summarize(small).rows[1].output_shape[0] == 4
    inception = next(layer for layer in zoo.get("googlenet", width=0.5)
                     if isinstance(layer, Inception))
    assert Sequential([inception], (96, 28, 28)).output_shape() == (128, 28, 28)


def test_seed_reproducible_and_dtype():
    a = zoo.get("resnet18", width=1 / 16, seed=3)
    b = zoo.get("resnet18", width=1 / 16, seed=3)
    c = zoo.get("resnet18", width=1 / 16, seed=4)
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
    assert not np.array_equal(a.params["conv1.w"], c.params["conv1.w"])
    d = zoo.get("lenet5", dtype=np.float64)
    assert all(v.dtype == np.float64 for v in d.params.values())
