"""The old path ``convnets.classifiers``, kept for lessons, assignments and outside code.

The code is in convnets/nn/classifiers.py.
"""

from .nn.classifiers import ThreeLayerConvNet

__all__ = ["ThreeLayerConvNet"]
