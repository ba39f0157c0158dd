"""The ConvNet playground: design a network as text, train it live and look inside it.

``Playground(data="digits", net=...)`` shows, in JupyterLab (ipywidgets 8), an editable
definition of the network checked as you type against the sizing rules (the table of
:func:`convnets.summarize`), controls to train, pause, step, reset, change the
hyperparameters live, save and load, and live views: loss and accuracy curves, time per
layer, per-layer statistics, activation maps and filters, test predictions, a confusion
matrix and a canvas to draw your own digit. ``make playground`` opens it as a page of its
own (Voila). Not imported by ``import convnets``; it needs the ``course`` extra.

==================  ======================================================================
``definition``      the definition text (one layer per line, or the notes' pattern
                    notation) -> a checked ``Sequential`` and its summary
``datasets``        ``resolve_data``: ``"digits"``, ``"mnist:<folder>"``,
                    ``"cifar10:<folder>"``, a dict of splits or arrays ``(X, y)``
``engine``          ``LiveTrainer``: one step at a time, per-layer times and statistics,
                    live hyperparameters, last good weights kept on NaN; save and load
``render``          PNG and SVG figures drawn from NumPy (no matplotlib in the thread)
``canvas``          ``DrawingCanvas``, a small anywidget to draw a digit
``widget``          ``Playground``: the widgets, the worker thread, the refresh budget
``pretrain``        writes the bundled trained digits network
                    (``python -m convnets.playground.pretrain``)
``page``            the playground as a page of its own, served by Voila
                    (``python -m convnets.playground.page``, ``make playground``)
``bench``           playground training speed against the ``Solver``
                    (``python -m convnets.playground.bench``)
==================  ======================================================================
"""

from .datasets import resolve_data
from .definition import DEFAULT_DEFINITION, Definition, build_network
from .engine import LiveTrainer, StepFailed, read_definition, save_network, timed_loss
from .widget import PRETRAINED_DIGITS, Playground

__all__ = ["Playground", "PRETRAINED_DIGITS", "LiveTrainer", "StepFailed", "Definition",
           "build_network", "DEFAULT_DEFINITION", "resolve_data", "read_definition",
           "save_network", "timed_loss"]
