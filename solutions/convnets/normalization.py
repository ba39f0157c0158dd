"""The old path ``convnets.normalization``, kept for lessons, assignments and outside code.

The code is in convnets/layers/normalization.py.
"""

from .layers.normalization import (
    batchnorm_backward,
    batchnorm_forward,
    lrn_backward,
    lrn_forward,
    spatial_batchnorm_backward,
    spatial_batchnorm_forward,
)

__all__ = [
    "batchnorm_backward", "batchnorm_forward", "lrn_backward", "lrn_forward",
    "spatial_batchnorm_backward", "spatial_batchnorm_forward",
]
