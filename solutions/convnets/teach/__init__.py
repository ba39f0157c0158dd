"""Teaching aids for the lessons in ``course/``: exercises with self-checks, and the
convolution demo as an animation that plays without a kernel.

Not imported by ``import convnets`` (the layers do not need it); a lesson imports it as
``from convnets.teach import Exercises``. It depends on nothing else in the package.

==================  ======================================================================
``exercises``       ``Exercises``: questions with ``answer`` (right / wrong / how far
                    off, never the solution), ``hint`` and ``show_solution``
``animation``       ``conv_demo_animation``: the demo's steps as a self-contained
                    HTML/JavaScript player (plays in exported HTML, no kernel needed)
==================  ======================================================================
"""

from .animation import ConvDemoAnimation, conv_demo_animation, conv_demo_steps
from .exercises import RIGHT, UNANSWERED, WRONG, Exercise, Exercises

__all__ = ["ConvDemoAnimation", "conv_demo_animation", "conv_demo_steps", "RIGHT",
           "UNANSWERED", "WRONG", "Exercise", "Exercises"]
