"""The old path ``convnets.summary``, kept for lessons, assignments and outside code.

The code is in convnets/nn/summary.py.
"""

from .nn.summary import (
    PARAM_COPIES,
    SizingWarning,
    Summary,
    SummaryRow,
    format_bytes,
    parse_bytes,
    receptive_field,
    summarize,
)

__all__ = [
    "PARAM_COPIES", "SizingWarning", "Summary", "SummaryRow", "format_bytes", "parse_bytes",
    "receptive_field", "summarize",
]
