"""convnets: convolutional networks from the inside.

The reference layers of the course, written with NumPy (and SciPy) only. Every
layer is a pair of functions, ``*_forward(...) -> (out, cache)`` and
``*_backward(dout, cache) -> gradients``, on arrays in NCHW layout
``(N, C, H, W)``. "Convolution" means cross-correlation, as in every framework.
The naive versions are explicit loops written to be read; the fast versions
compute the same thing with one matrix multiply and are tested against them.

On top of the layers: networks built from the notes' layer patterns, their
size and memory accounting (``summarize``), the named architectures
(``convnets.zoo``), FC->CONV conversion and a solver for training.
Only NumPy and SciPy are needed to import this package; plotting, progress bars
and the bundled digits data use the optional ``course`` extra.

The rooms (``CONTRIBUTING.md`` says what goes where):

==================  ======================================================================
``layers/``         the functional forward/backward pairs, one module per concept
``nn/``             layer classes, blocks, ``Sequential``, summary, patterns, FC->CONV, zoo
``train/``          solver, update rules, data sets, plots, ``python -m convnets train``
``bench/``          speed benchmarks, ``python -m convnets.bench`` (not imported here)
``checks.py``       every argument check, written once
``shapes.py``       every sizing rule, written once
``gradcheck.py``    numerical gradients and ``assert_close``
==================  ======================================================================

The other modules at the top (``conv``, ``network``, ``solver``, ...) are the old
paths of the flat package, kept as thin re-exports.
"""

# Every public name, from its room. Each module lists its public names in __all__.
from .gradcheck import *
from .layers import *
from .nn import *
from .shapes import *
from .train import *
from .train.plots import plot_history

# The old module paths (convnets.conv, convnets.network, ...), bound as before.
from . import (
    allocator,
    checks,
    classifiers,
    conv,
    convert,
    gradcheck,
    layers,
    locally_connected,
    losses,
    network,
    nn,
    normalization,
    optim,
    patterns,
    pooling,
    shapes,
    solver,
    summary,
    train,
    zoo,
)

__version__ = "0.1.0"
