"""The old path ``convnets.optim``, kept for lessons, assignments and outside code.

The code is in convnets/train/optim.py.
"""

from .train.optim import UPDATE_RULES, adam, get_update_rule, rmsprop, sgd, sgd_momentum

__all__ = ["UPDATE_RULES", "adam", "get_update_rule", "rmsprop", "sgd", "sgd_momentum"]
