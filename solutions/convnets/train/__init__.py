"""Training: the solver, the update rules, the data sets, the plots, and the command line.

=============  ========================================================================
``solver``     ``Solver`` (minibatch SGD loop, learning-rate decay, checkpoints)
``optim``      the update rules: SGD, SGD with momentum, RMSProp, Adam
``data``       digits (scikit-learn), CIFAR-10 and MNIST from local files, augmentation
``plots``      training history, filters and activation maps (matplotlib, no pyplot)
``allocator``  ``keep_freed_memory``: glibc keeps freed arrays mapped in long loops
``cli``        ``python -m convnets train``
=============  ========================================================================

Only ``solver``, ``optim`` and ``allocator`` are imported with ``convnets``; ``data``
and ``plots`` need the optional ``course`` extra (scikit-learn, matplotlib).
"""

# ruff: noqa: F401, F403  (this file re-exports the public names of its modules)

from . import optim
from .allocator import *
from .solver import *
