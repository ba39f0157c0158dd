"""The old path ``convnets.zoo``, kept for lessons, assignments and outside code.

The code is in convnets/nn/zoo.py.
"""

from .nn.zoo import (
    ALEXNET_224_EXPLANATION,
    GOOGLENET_INCEPTIONS,
    VGG16_CONFIG,
    alexnet,
    get,
    googlenet,
    lenet5,
    names,
    resnet18,
    resnet34,
    resnet50,
    vgg16,
    zfnet,
)

__all__ = [
    "ALEXNET_224_EXPLANATION", "GOOGLENET_INCEPTIONS", "VGG16_CONFIG", "alexnet", "get",
    "googlenet", "lenet5", "names", "resnet18", "resnet34", "resnet50", "vgg16", "zfnet",
]
