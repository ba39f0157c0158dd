"""The notes' case studies as networks: LeNet-5, AlexNet, ZFNet, VGG-16, GoogLeNet, ResNets.

``convnets.zoo.get(name, num_classes=None, width=1.0, seed=0, dtype=np.float32)``
returns a :class:`~convnets.Sequential` with random (He-normal) weights, allocated
only when first used, so that summarizing the full-size networks is instant.
``width`` scales every channel count and hidden layer (``width=1/16`` gives a small
copy of the same architecture that runs in milliseconds); ``seed`` makes the
initialization reproducible. Each model knows its input (``model.input_shape``);
``input_shape=`` builds it for another size where the architecture allows
(GoogLeNet and ResNet end with global average pooling, so any size works).

Parameter counts at ``width=1`` and 1000 classes (``summarize(model).total_params``),
all asserted by the tests:

==============  ============  ======================================================
model           parameters    published figure and why it differs
==============  ============  ======================================================
lenet5          61,706        LeCun et al. 1998 with a fully connected C3 (the paper
                              connects C3 to subsets of S2's maps: 60,000 "trainable
                              parameters"); 10 classes
alexnet         62,378,344    single tower, no grouped convs; the paper's ~60M used
                              two GPUs, conv2/4/5 each seeing half of the channels
                              (60,965,224 with those groups)
zfnet           62,357,608    Zeiler & Fergus 2013, same FC stack as AlexNet
vgg16           138,357,544   Simonyan & Zisserman: 138M; the notes' table exactly
googlenet       6,998,552     paper variant (biases, LRN, 5x5 convs, no BN); see below
 (torchvision)  6,624,904     ``variant='torchvision'``: torchvision's googlenet without
                              the auxiliary classifiers (BN, no conv biases, and 3x3
                              instead of 5x5 in the third branch, a known quirk)
resnet18        11,689,512    torchvision's count (BN gamma and beta included)
resnet34        21,797,672    torchvision
resnet50        25,557,032    torchvision
==============  ============  ======================================================

About the notes' "GoogLeNet 4M": no count of the network reproduces it. The paper's
Table 1 adds up to about 6.8M (its 1000-way classifier alone is 1,025,000), its
text says "12 times fewer parameters than AlexNet" (60M / 12 = 5M), and without the
classifier the convolutional part has 5,973,552 parameters here. "4M" is best read
as "a few million, an order of magnitude fewer than AlexNet's 60M", which holds.

Sizes that do not divide evenly are handled explicitly (see :mod:`convnets.nn.layer`):
ResNet's and GoogLeNet's strided layers round down (``fit='floor'``), GoogLeNet's
pooling rounds up (``fit='ceil'``, Caffe's and torchvision's ``ceil_mode``), ResNet's
first max pool pads by 1. AlexNet stays strict: it takes the notes' 227x227 input,
and 224x224 raises an error that explains the paper's 224.

Two more networks serve the benchmarks (``names(benchmarks=True)``): the
``overfeat_fast`` and ``vgg_a`` of soumith/convnet-benchmarks' ImageNet winners, with
the layer shapes of its Torch definitions (145,920,872 and 132,863,336 parameters).

Dropout (AlexNet, VGG, GoogLeNet) is left out: it has no parameters and does not
change any shape; the auxiliary classifiers of GoogLeNet are left out too.
"""

from __future__ import annotations

import numpy as np

from .blocks import basic_block, bottleneck_block, inception_module
from .layers import LRN, Affine, AvgPool, Conv, GlobalAvgPool, MaxPool, ReLU, SpatialBatchNorm
from .sequential import Sequential

__all__ = ["get", "names", "lenet5", "alexnet", "zfnet", "vgg16", "googlenet", "resnet18",
           "resnet34", "resnet50", "overfeat_fast", "vgg_a", "ALEXNET_224_EXPLANATION",
           "VGG_A_CONFIG"]

ALEXNET_224_EXPLANATION = (
    "AlexNet's first layer (F = 11, S = 4, P = 0) needs a 227x227 input: (227 - 11)/4 + 1 = "
    "55. The paper says 224x224, but (224 - 11)/4 + 1 = 54.25 is not an integer, and no "
    "symmetric zero-padding P fixes it ((213 + 2P)/4 is never whole, since 213 is odd). The "
    "likely explanation is 3 pixels of padding that the paper does not mention: "
    "224 + 3 = 227. Use input_shape=(3, 227, 227)"
)


def _scaled(channels: int, width: float) -> int:
    """Channel count scaled by ``width``, at least 1."""
    return max(1, int(round(channels * width)))


def _fc_stack(hidden: int, num_classes: int) -> list:
    """FC -> RELU -> FC -> RELU -> FC: the classifier of AlexNet, ZFNet and VGG."""
    return [Affine(hidden), ReLU(), Affine(hidden), ReLU(), Affine(num_classes)]


def lenet5(num_classes: int = 10, width: float = 1.0) -> tuple[list, tuple]:
    """LeNet-5 (LeCun et al., 1998) on 32x32 grey images.

    ``C1: CONV5-6 -> S2: 2x2 avg pool -> C3: CONV5-16 -> S4: 2x2 avg pool ->
    C5: CONV5-120 (covers its whole 5x5 input) -> F6: FC 84 -> FC num_classes``, with
    ReLU instead of the original scaled tanh, plain average pooling instead of the
    trainable subsampling, and C3 connected to all of S2's maps.
    """
    c = lambda n: _scaled(n, width)  # noqa: E731
    layers = [Conv(c(6), 5), ReLU(), AvgPool(2),
              Conv(c(16), 5), ReLU(), AvgPool(2),
              Conv(c(120), 5), ReLU(),
              Affine(c(84)), ReLU(), Affine(num_classes)]
    return layers, (1, 32, 32)


def alexnet(num_classes: int = 1000, width: float = 1.0) -> tuple[list, tuple]:
    """AlexNet (Krizhevsky et al., 2012) as one tower, on the notes' 227x227 input.

    ``CONV11-96 (stride 4) -> RELU -> LRN -> POOL3 (stride 2) -> CONV5-256 (pad 2) ->
    RELU -> LRN -> POOL3/2 -> CONV3-384 -> RELU -> CONV3-384 -> RELU -> CONV3-256 ->
    RELU -> POOL3/2 -> [FC 4096 -> RELU]*2 -> FC``: 55 -> 27 -> 13 -> 6, all exact.
    The overlapping pools (F=3, S=2) and local response normalization are the
    paper's. Strict sizing: a 224x224 input raises, explaining why.
    """
    c = lambda n: _scaled(n, width)  # noqa: E731
    layers = [Conv(c(96), 11, stride=4, hint=ALEXNET_224_EXPLANATION), ReLU(), LRN(5),
              MaxPool(3, 2),
              Conv(c(256), 5, pad=2), ReLU(), LRN(5), MaxPool(3, 2),
              Conv(c(384), 3, pad=1), ReLU(),
              Conv(c(384), 3, pad=1), ReLU(),
              Conv(c(256), 3, pad=1), ReLU(), MaxPool(3, 2)]
    return layers + _fc_stack(c(4096), num_classes), (3, 227, 227)


def zfnet(num_classes: int = 1000, width: float = 1.0) -> tuple[list, tuple]:
    """ZFNet (Zeiler & Fergus, 2013): AlexNet with a 7x7 stride-2 first layer.

    The paper's sizes on 224x224: 110 -> pool 55 -> 26 -> pool 13 -> 13 -> 13 -> 13
    -> pool 6. They do not divide evenly, so conv1 pads by 1 and rounds down
    ((224 - 7 + 2)/2 + 1 = 110.5 -> 110) and the first two pools pad by 1 and round
    down (55.5 -> 55, 13.5 -> 13); conv2 is 5x5 at stride 2 ((55 - 5)/2 + 1 = 26).
    """
    c = lambda n: _scaled(n, width)  # noqa: E731
    layers = [Conv(c(96), 7, stride=2, pad=1, fit="floor"), ReLU(),
              MaxPool(3, 2, pad=1, fit="floor"), LRN(5),
              Conv(c(256), 5, stride=2), ReLU(), MaxPool(3, 2, pad=1, fit="floor"), LRN(5),
              Conv(c(384), 3, pad=1), ReLU(),
              Conv(c(384), 3, pad=1), ReLU(),
              Conv(c(256), 3, pad=1), ReLU(), MaxPool(3, 2)]
    return layers + _fc_stack(c(4096), num_classes), (3, 224, 224)


VGG16_CONFIG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
                512, 512, 512, "M")


VGG_A_CONFIG = (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M")


def _vgg(config, num_classes: int, width: float) -> list:
    """The layers of a VGG configuration: 3x3 convs (pad 1) with ReLU, 'M' a 2x2 max
    pool, then the FC stack."""
    layers = []
    for item in config:
        if item == "M":
            layers.append(MaxPool(2, 2))
        else:
            layers += [Conv(_scaled(item, width), 3, pad=1), ReLU()]
    return layers + _fc_stack(_scaled(4096, width), num_classes)


def vgg_a(num_classes: int = 1000, width: float = 1.0) -> tuple[list, tuple]:
    """VGG configuration A (Simonyan & Zisserman, 2014; "VGG-11"), as
    convnet-benchmarks times it: eight 3x3 convs (stride 1, pad 1) with ReLU, five 2x2
    max pools, ``[FC 4096 -> RELU]*2 -> FC``; 224 -> 7, the first FC sees 7x7x512.
    """
    return _vgg(VGG_A_CONFIG, num_classes, width), (3, 224, 224)


def overfeat_fast(num_classes: int = 1000, width: float = 1.0) -> tuple[list, tuple]:
    """OverFeat, the "fast" model (Sermanet et al., 2013), as convnet-benchmarks times
    it, on 231x231 images.

    ``CONV11-96 (stride 4) -> RELU -> POOL2 -> CONV5-256 -> RELU -> POOL2 -> CONV3-512
    (pad 1) -> RELU -> CONV3-1024 (pad 1) -> RELU -> CONV3-1024 (pad 1) -> RELU ->
    POOL2 -> FC 3072 -> RELU -> FC 4096 -> RELU -> FC``: 231 -> 56 -> 28 -> 24 -> 12
    -> 12 -> 12 -> 12 -> 6, all exact; the first FC sees 6x6x1024.
    """
    c = lambda n: _scaled(n, width)  # noqa: E731
    layers = [Conv(c(96), 11, stride=4), ReLU(), MaxPool(2, 2),
              Conv(c(256), 5), ReLU(), MaxPool(2, 2),
              Conv(c(512), 3, pad=1), ReLU(),
              Conv(c(1024), 3, pad=1), ReLU(),
              Conv(c(1024), 3, pad=1), ReLU(), MaxPool(2, 2),
              Affine(c(3072)), ReLU(), Affine(c(4096)), ReLU(), Affine(num_classes)]
    return layers, (3, 231, 231)


def vgg16(num_classes: int = 1000, width: float = 1.0) -> tuple[list, tuple]:
    """VGG-16 (Simonyan & Zisserman, 2014), configuration D, as in the notes' table.

    Thirteen 3x3 convs (stride 1, pad 1) with ReLU, five 2x2 max pools (stride 2),
    then ``[FC 4096 -> RELU]*2 -> FC``. 224/2/2/2/2/2 = 7, so the first FC sees
    7x7x512.
    """
    return _vgg(VGG16_CONFIG, num_classes, width), (3, 224, 224)


# (name, c1, c3_reduce, c3, c5_reduce, c5, pool_proj) of Szegedy et al. (2014), Table 1.
GOOGLENET_INCEPTIONS = (
    ("inception3a", 64, 96, 128, 16, 32, 32),
    ("inception3b", 128, 128, 192, 32, 96, 64),
    "pool",
    ("inception4a", 192, 96, 208, 16, 48, 64),
    ("inception4b", 160, 112, 224, 24, 64, 64),
    ("inception4c", 128, 128, 256, 24, 64, 64),
    ("inception4d", 112, 144, 288, 32, 64, 64),
    ("inception4e", 256, 160, 320, 32, 128, 128),
    "pool",
    ("inception5a", 256, 160, 320, 32, 128, 128),
    ("inception5b", 384, 192, 384, 48, 128, 128),
)


def googlenet(num_classes: int = 1000, width: float = 1.0,
              variant: str = "paper") -> tuple[list, tuple]:
    """GoogLeNet (Szegedy et al., 2014): nine Inception modules, average pooling, one FC.

    ``variant='paper'``: convs with biases and ReLU, LRN after the first pool and
    after conv2, 5x5 convs in the third branch of each module. ``variant='torchvision'``:
    every conv without bias and followed by batch norm, no LRN, 3x3 in the third
    branch (reproduces torchvision's 6,624,904 parameters). Both: 7x7 stride-2 conv
    (224 -> 112, rounding down), 3x3 stride-2 max pools rounding up (112 -> 56 -> 28
    -> 14 -> 7), global average pooling, FC. No FC stack: the average pooling replaces
    it, which is where most of the savings against AlexNet come from.
    """
    if variant not in ("paper", "torchvision"):
        raise ValueError(f"variant must be 'paper' or 'torchvision', got {variant!r}")
    tv = variant == "torchvision"
    c = lambda n: _scaled(n, width)  # noqa: E731

    def unit(filters, size, stride=1, pad=0, fit="strict"):
        layers = [Conv(c(filters), size, stride=stride, pad=pad, bias=not tv, fit=fit)]
        return layers + ([SpatialBatchNorm()] if tv else []) + [ReLU()]

    def lrn():
        return [] if tv else [LRN(5)]

    layers = (unit(64, 7, stride=2, pad=3, fit="floor") + [MaxPool(3, 2, fit="ceil")] + lrn()
              + unit(64, 1) + unit(192, 3, pad=1) + lrn() + [MaxPool(3, 2, fit="ceil")])
    for spec in GOOGLENET_INCEPTIONS:
        if spec == "pool":
            layers.append(MaxPool(3, 2, fit="ceil"))
            continue
        name, *channels = spec
        layers.append(inception_module(*(c(n) for n in channels), batch_norm=tv, bias=not tv,
                                       c5_size=3 if tv else 5, name=name))
    layers += [GlobalAvgPool(), Affine(num_classes)]
    return layers, (3, 224, 224)


def _resnet(blocks_per_stage, bottleneck: bool, num_classes: int,
            width: float) -> tuple[list, tuple]:
    """ResNet (He et al., 2015): a 7x7 stem, four stages of residual blocks, GAP, FC.

    Stem: ``CONV7-64 (stride 2, pad 3) -> BN -> RELU -> POOL3 (stride 2, pad 1)``,
    224 -> 112 -> 56 (both rounding down). Stages of 64, 128, 256, 512 channels
    (x4 at the output of bottleneck blocks); the first block of stages 2-4 halves the
    size (56 -> 28 -> 14 -> 7) with a projection shortcut. Blocks are named like
    the paper's Caffe models: ``res2a``, ``res2b``, ..., ``res5c``.
    """
    c = lambda n: _scaled(n, width)  # noqa: E731
    layers = [Conv(c(64), 7, stride=2, pad=3, bias=False, fit="floor"), SpatialBatchNorm(),
              ReLU(), MaxPool(3, 2, pad=1, fit="floor")]
    in_channels = c(64)
    for stage, (count, channels) in enumerate(zip(blocks_per_stage, (64, 128, 256, 512),
                                                  strict=True)):
        for i in range(count):
            stride = 2 if stage > 0 and i == 0 else 1
            name = f"res{stage + 2}{chr(ord('a') + i)}"
            if bottleneck:
                layers.append(bottleneck_block(in_channels, c(channels), stride, name=name))
                in_channels = 4 * c(channels)
            else:
                layers.append(basic_block(in_channels, c(channels), stride, name=name))
                in_channels = c(channels)
    layers += [GlobalAvgPool(), Affine(num_classes)]
    return layers, (3, 224, 224)


def resnet18(num_classes: int = 1000, width: float = 1.0) -> tuple[list, tuple]:
    """ResNet-18: basic blocks [2, 2, 2, 2] (see :func:`_resnet`)."""
    return _resnet((2, 2, 2, 2), False, num_classes, width)


def resnet34(num_classes: int = 1000, width: float = 1.0) -> tuple[list, tuple]:
    """ResNet-34: basic blocks [3, 4, 6, 3]."""
    return _resnet((3, 4, 6, 3), False, num_classes, width)


def resnet50(num_classes: int = 1000, width: float = 1.0) -> tuple[list, tuple]:
    """ResNet-50: bottleneck blocks [3, 4, 6, 3]."""
    return _resnet((3, 4, 6, 3), True, num_classes, width)


_BUILDERS = {"lenet5": lenet5, "alexnet": alexnet, "zfnet": zfnet, "vgg16": vgg16,
             "googlenet": googlenet, "resnet18": resnet18, "resnet34": resnet34,
             "resnet50": resnet50}
# Networks of the benchmarks (soumith/convnet-benchmarks), not case studies of the notes.
_BENCHMARK_BUILDERS = {"overfeat_fast": overfeat_fast, "vgg_a": vgg_a}


def names(benchmarks: bool = False) -> list[str]:
    """The notes' case studies :func:`get` knows; with ``benchmarks=True``, also the
    networks it knows for the benchmarks (``overfeat_fast``, ``vgg_a``)."""
    return list(_BUILDERS) + (list(_BENCHMARK_BUILDERS) if benchmarks else [])


def get(name: str, num_classes: int | None = None, width: float = 1.0, seed: int = 0,
        dtype=np.float32, input_shape=None, reg: float = 0.0, **options) -> Sequential:
    """Build a named architecture with random weights (allocated on first use).

    Parameters
    ----------
    name : str
        One of :func:`names`: lenet5, alexnet, zfnet, vgg16, googlenet, resnet18,
        resnet34, resnet50; or overfeat_fast, vgg_a (``names(benchmarks=True)``).
    num_classes : int, optional
        Size of the last layer; default 10 for lenet5, 1000 (ImageNet) otherwise.
    width : float
        Multiplies every channel count and hidden layer size (rounded, at least 1).
    seed : int
        Seed of the initialization: the same seed gives identical parameters.
    dtype : numpy dtype
        float32 by default; float64 for gradient checks.
    input_shape : (C, H, W), optional
        Defaults to the architecture's own (227x227 for AlexNet, 32x32x1 for LeNet-5,
        224x224 for the others).
    reg : float
        L2 regularization strength of the model's loss.
    **options
        Architecture options, e.g. ``variant='torchvision'`` for googlenet.

    Raises
    ------
    ValueError
        For an unknown name, a bad width, or an input size the architecture cannot take.
    """
    builders = {**_BUILDERS, **_BENCHMARK_BUILDERS}
    if name not in builders:
        raise ValueError(f"unknown architecture {name!r}; choose one of "
                         f"{names(benchmarks=True)}")
    if isinstance(width, bool) or not isinstance(width, (int, float)) or not width > 0:
        raise ValueError(f"width must be a positive number, got width = {width!r}")
    if num_classes is None:
        num_classes = 10 if name == "lenet5" else 1000
    layers, default_shape = builders[name](num_classes=num_classes, width=width, **options)
    model = Sequential(layers, input_shape or default_shape, reg=reg, dtype=dtype, seed=seed,
                       name=name)
    model.output_shape()  # fail now, with the layer's explanation, if the input cannot work
    return model
