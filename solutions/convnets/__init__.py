"""convnets: convolutional networks from the inside.

The reference layers of the course, written with NumPy (and SciPy) only. Every
layer is a pair of functions, ``*_forward(...) -> (out, cache)`` and
``*_backward(dout, cache) -> gradients``, on arrays in NCHW layout
``(N, C, H, W)``. "Convolution" means cross-correlation, as in every framework.
The naive versions are explicit loops written to be read; the fast versions
compute the same thing with one matrix multiply and are tested against them.
"""

from .conv import *
from .gradcheck import *
from .layers import *
from .locally_connected import *
from .losses import *
from .normalization import *
from .pooling import *
from .shapes import *

__version__ = "0.1.0"
