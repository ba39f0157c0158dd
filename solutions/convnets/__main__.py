"""``python -m convnets train``: the command line is in convnets/train/cli.py."""

import sys

from .train.cli import DEFAULTS, build_parser, main, train

__all__ = ['DEFAULTS', 'build_parser', 'main', 'train']

if __name__ == "__main__":
    sys.exit(main())
