"""Teaching aids for the lessons in ``course/``: exercises with self-checks, the
convolution demo as an animation that plays without a kernel, and a small trained
network.

Not imported by ``import convnets`` (the layers do not need it); a lesson imports it as
``from convnets.teach import Exercises``. Only ``pretrained`` depends on the rest of the
package (the network and its checkpoint loader).

==================  ======================================================================
``exercises``       ``Exercises``: questions with ``answer`` (right / wrong / how far
                    off, never the solution), ``hint`` and ``show_solution``
``animation``       ``conv_demo_animation``: the demo's steps as a self-contained
                    HTML/JavaScript player (plays in exported HTML, no kernel needed)
``pretrained``      ``digits_net``: the trained digits network lesson 7 slides over a page
                    (weights in ``digits_net.npz``, made by ``tools/make_digits_net.py``)
==================  ======================================================================
"""

from .animation import ConvDemoAnimation, conv_demo_animation, conv_demo_steps
from .exercises import RIGHT, UNANSWERED, WRONG, Exercise, Exercises

__all__ = ["ConvDemoAnimation", "conv_demo_animation", "conv_demo_steps", "RIGHT",
           "UNANSWERED", "WRONG", "Exercise", "Exercises"]
