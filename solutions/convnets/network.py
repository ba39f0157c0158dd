"""The old path ``convnets.network``, kept for lessons, assignments and outside code.

The code is in convnets/nn/ (layer.py, layers.py, blocks.py, chain.py, sequential.py).
"""

from .nn.blocks import Block, Inception, Residual, basic_block, bottleneck_block, inception_module
from .nn.chain import chain_output_shape
from .nn.layer import Layer
from .nn.layers import (
    FC,
    LRN,
    Affine,
    AvgPool,
    Conv,
    Flatten,
    GlobalAvgPool,
    L2Pool,
    MaxPool,
    ReLU,
    SpatialBatchNorm,
)
from .nn.sequential import Sequential
from .shapes import FITS

__all__ = [
    "Affine", "AvgPool", "Block", "Conv", "FC", "FITS", "Flatten", "GlobalAvgPool", "Inception",
    "L2Pool", "LRN", "Layer", "MaxPool", "ReLU", "Residual", "Sequential", "SpatialBatchNorm",
    "basic_block", "bottleneck_block", "chain_output_shape", "inception_module",
]
