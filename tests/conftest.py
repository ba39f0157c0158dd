"""What every test module shares: the suite's own cache of auto's cost model.

``make test`` runs on two workers at once, so a cost model that a test calibrates is
measured on a busy machine. It is stored in a directory of the suite's own, never in
the user's ``~/.cache/convnets``, whose model ``method='auto'`` uses in the lessons
and in ``make bench``. (A model calibrated under the suite's load once chose Winograd
for the VGG 3x3 case, 1.2x slower there than im2col.) An explicit
``CONVNETS_CACHE_DIR`` is kept.
"""

from __future__ import annotations

import getpass
import os
import tempfile
from pathlib import Path

os.environ.setdefault("CONVNETS_CACHE_DIR",
                      str(Path(tempfile.gettempdir()) / f"convnets-tests-{getpass.getuser()}"))
