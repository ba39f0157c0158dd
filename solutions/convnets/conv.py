"""The old path ``convnets.conv``, kept for lessons, assignments and outside code.

The code is in convnets/layers/conv_naive.py, conv_fast.py and im2col.py.
"""

from .layers.conv_fast import conv_backward_fast, conv_forward_fast
from .layers.conv_naive import conv_backward_naive, conv_forward_naive
from .layers.im2col import col2im, im2col

__all__ = [
    "col2im", "conv_backward_fast", "conv_backward_naive", "conv_forward_fast",
    "conv_forward_naive", "im2col",
]
