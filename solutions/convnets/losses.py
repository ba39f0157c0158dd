"""The old path ``convnets.losses``, kept for lessons, assignments and outside code.

The code is in convnets/layers/losses.py.
"""

from .layers.losses import softmax_loss, svm_loss

__all__ = ["softmax_loss", "svm_loss"]
