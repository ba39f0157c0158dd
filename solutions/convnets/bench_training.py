"""The old path ``convnets.bench_training``, kept for lessons, assignments and outside code.

The code is in convnets/bench/training.py.
"""

import sys

from .bench.training import (
    SECTION,
    TARGET_RATIO,
    main,
    numpy_train_step,
    section_training,
    torch_train_step,
)

__all__ = [
    "SECTION", "TARGET_RATIO", "main", "numpy_train_step", "section_training", "torch_train_step",
]


if __name__ == "__main__":
    sys.exit(main())
