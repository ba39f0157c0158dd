"""The old path ``convnets.locally_connected``, kept for lessons, assignments and outside code.

The code is in convnets/layers/locally_connected.py.
"""

from .layers.locally_connected import (
    locally_connected_backward,
    locally_connected_forward,
    locally_connected_shapes,
)

__all__ = ["locally_connected_backward", "locally_connected_forward", "locally_connected_shapes"]
