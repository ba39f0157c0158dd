"""Speed benchmarks, apart from the package students import: ``python -m convnets.bench``.

=============  ========================================================================
``report``     the table row, the timers (best of turns), the BLAS description
``layers``     the conv layer: naive vs fast, vs the machine's GEMM, vs PyTorch,
               memory; FC->CONV against crops
``convnet_benchmarks``  soumith/convnet-benchmarks' five layers (every strategy vs PyTorch,
               peak memory) and its four ImageNet networks vs the same in PyTorch
``torch_mirror``  a zoo network translated into ``torch.nn`` with the same weights
``training``   a whole training step, NumPy vs PyTorch (``python -m convnets.bench.training``)
``run``        ``SECTIONS`` and the command line (``make bench``)
=============  ========================================================================

``import convnets`` does not import this package. The names of the old module
``convnets.bench`` are importable from here.
"""

# ruff: noqa: F401, F403  (this file re-exports the public names of its modules)

from .convnet_benchmarks import *
from .layers import *
from .report import *
from .run import *
from .training import section_training
