"""The old path ``convnets.allocator``, kept for lessons, assignments and outside code.

The code is in convnets/train/allocator.py.
"""

from .train.allocator import keep_freed_memory

__all__ = ["keep_freed_memory"]
