"""The old path ``convnets.convert``, kept for lessons, assignments and outside code.

The code is in convnets/nn/convert.py.
"""

from .nn.convert import crop_scores, dense_scores, fc_to_conv, time_fc_to_conv

__all__ = ["crop_scores", "dense_scores", "fc_to_conv", "time_fc_to_conv"]
