"""The old path ``convnets.visualize``, kept for lessons, assignments and outside code.

The code is in convnets/train/plots.py (the figures and the course's house style).
"""

from .train.plots import (
    MAX_FIGURE_INCHES,
    MIN_FONT_PT,
    SIGNED_CMAP,
    figure_problems,
    filter_grid,
    grey_image,
    plot_history,
    show_activations,
    show_filters,
    signed_map,
)

__all__ = ["filter_grid", "plot_history", "show_activations", "show_filters", "signed_map",
           "grey_image", "figure_problems", "MIN_FONT_PT", "MAX_FIGURE_INCHES", "SIGNED_CMAP"]
