"""The old path ``convnets.visualize``, kept for lessons, assignments and outside code.

The code is in convnets/train/plots.py.
"""

from .train.plots import filter_grid, plot_history, show_activations, show_filters

__all__ = ["filter_grid", "plot_history", "show_activations", "show_filters"]
