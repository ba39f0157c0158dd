"""Networks built from the functional layers: layer classes, blocks and models.

=================  =====================================================================
``layer``          the :class:`Layer` base class (shapes, parameters, naming, sizing fits)
``layers``         ``Conv``, ``ReLU``, ``MaxPool``, ``AvgPool``, ``L2Pool``,
                   ``GlobalAvgPool``, ``Affine`` (``FC``), ``Flatten``, ``LRN``,
                   ``SpatialBatchNorm``: each wraps one pair of :mod:`convnets.layers`
``chain``          naming, shapes, forward and backward through a list of layers
``blocks``         ``Block``, ``Inception``, ``Residual`` and their factories
``sequential``     ``Sequential``, the model: layers, a softmax loss, lazy parameters
``summary``        ``summarize``: sizes, parameter counts, memory, receptive fields
``patterns``       the notes' layer patterns as text (``INPUT -> [CONV -> RELU]*2 ...``)
``convert``        FC -> CONV conversion and sliding a network over a larger image
``zoo``            the named architectures (LeNet-5 ... ResNet-50)
``classifiers``    ``ThreeLayerConvNet``, the small network trained in the lessons
``parallel``       ``data_parallel_loss``: a batch's loss in shards, one thread per core
=================  =====================================================================

The classes only compose the functions of :mod:`convnets.layers`; training them is
:mod:`convnets.train`.
"""

# ruff: noqa: F401, F403  (this file re-exports the public names of its modules)

from . import (
    blocks,
    chain,
    classifiers,
    convert,
    layer,
    layers,
    parallel,
    patterns,
    sequential,
    summary,
    zoo,
)
from .blocks import *
from .chain import *
from .classifiers import *
from .convert import *
from .layer import *
from .layers import *
from .parallel import *
from .patterns import *
from .sequential import *
from .summary import *

# The star-imports above also bind the submodules (``layers``, ``classifiers``, ...) as
# attributes of this package; without a list, ``from .nn import *`` in
# ``convnets/__init__.py`` would copy them over ``convnets.layers`` (the functional
# layers), and ``import convnets.layers.conv_fast as m`` would then look in
# ``convnets.nn.layers`` and fail.
__all__ = ["zoo", *blocks.__all__, *chain.__all__, *classifiers.__all__, *convert.__all__,
           *layer.__all__, *layers.__all__, *parallel.__all__, *patterns.__all__,
           *sequential.__all__, *summary.__all__]
