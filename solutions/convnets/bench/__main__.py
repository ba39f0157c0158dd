"""``python -m convnets.bench``: see :mod:`convnets.bench.run`."""

import sys

from .run import main

sys.exit(main())
