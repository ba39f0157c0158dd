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
"""

# The layers: each module lists its public names in __all__.
from .conv import *
from .gradcheck import *
from .layers import *
from .locally_connected import *
from .losses import *
from .normalization import *
from .pooling import *
from .shapes import *

# Networks built from the layers.
from .network import *
from .patterns import *
from .summary import *
from .convert import *
from .classifiers import *
from .solver import *
from .allocator import *
from . import optim, zoo

__version__ = "0.1.0"
