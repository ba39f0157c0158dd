"""The old path ``convnets.pooling``, kept for lessons, assignments and outside code.

The code is in convnets/layers/pooling.py.
"""

from .layers.pooling import (
    avg_pool_backward,
    avg_pool_forward,
    l2_pool_backward,
    l2_pool_forward,
    max_pool_backward_fast,
    max_pool_backward_naive,
    max_pool_forward_fast,
    max_pool_forward_naive,
)

__all__ = [
    "avg_pool_backward", "avg_pool_forward", "l2_pool_backward", "l2_pool_forward",
    "max_pool_backward_fast", "max_pool_backward_naive", "max_pool_forward_fast",
    "max_pool_forward_naive",
]
