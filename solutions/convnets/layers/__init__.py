"""The layers as functions: every layer is a pair ``*_forward(...) -> (out, cache)`` and
``*_backward(dout, cache) -> gradients``, on arrays in NCHW layout ``(N, C, H, W)``.

One module per concept; where a layer has a naive and a fast version, they have
identical signatures and are tested as twins (``tests/twins.py``):

============================  ==========================================================
``affine``                    the fully-connected layer (FC)
``relu``                      ReLU
``conv_naive``                convolution with loops: slow but straightforward
``conv_fast``                 convolution as a matrix multiply (im2col + GEMM)
``conv_strategies``           the two stride-1 strategies of ``conv_fast``
``conv_winograd``             convolution by Winograd F(2x2, 3x3) and F(4x4, 3x3)
``conv_fft``                  convolution by the FFT (large filters)
``conv_fft_tiled``            the FFT tile by tile (large filters, small batches)
``conv_tiles``                the tiling the tiled FFT and Winograd share
``conv_cost``                 the measured cost model ``method='auto'`` chooses with
``im2col``                    ``im2col``/``col2im`` and the geometry every conv shares
``pooling``                   max (naive and fast), average and L2-norm pooling
``normalization``             local response normalization, batch normalization
``locally_connected``         a convolution without parameter sharing
``losses``                    softmax and SVM losses
============================  ==========================================================

The networks that compose these functions are in :mod:`convnets.nn`; the argument
checks and sizing rules they share in :mod:`convnets.checks` and :mod:`convnets.shapes`.
"""

# ruff: noqa: F401, F403  (this file re-exports the public names of its modules)

from .affine import *
from .conv_cost import *
from .conv_fast import *
from .conv_fft import *
from .conv_fft_tiled import *
from .conv_naive import *
from .conv_winograd import *
from .im2col import *
from .locally_connected import *
from .losses import *
from .normalization import *
from .pooling import *
from .relu import *
