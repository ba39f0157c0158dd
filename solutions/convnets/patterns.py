"""The old path ``convnets.patterns``, kept for lessons, assignments and outside code.

The code is in convnets/nn/patterns.py.
"""

from .nn.patterns import GENERAL_PATTERN, LAYER_NAMES, NOTES_PATTERNS, from_pattern, parse_pattern

__all__ = ["GENERAL_PATTERN", "LAYER_NAMES", "NOTES_PATTERNS", "from_pattern", "parse_pattern"]
