"""The old path ``convnets.solver``, kept for lessons, assignments and outside code.

The code is in convnets/train/solver.py (plot_history: train/plots.py).
"""

from .train.plots import plot_history
from .train.solver import Solver, load_checkpoint, save_checkpoint

__all__ = ["Solver", "load_checkpoint", "plot_history", "save_checkpoint"]
