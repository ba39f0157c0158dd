"""No public name lost: what ``import convnets`` offered before the package was split
into rooms (layers/, nn/, train/, bench/) is still there, under the same old paths.

``public_api_before_move.json`` was captured from the flat package before the move:
``dir(convnets)`` without the underscore names, and for every old module
(``convnets.conv``, ``convnets.network``, ...) the public names it defined or
re-exported. Lessons, assignments and outside code use both.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import convnets
import pytest

BEFORE = json.loads((Path(__file__).with_name("public_api_before_move.json")).read_text())


def test_no_public_name_of_convnets_is_lost():
    now = {name for name in dir(convnets) if not name.startswith("_")}
    lost = sorted(set(BEFORE["convnets"]) - now)
    assert not lost, f"public names of convnets lost: {lost}"


@pytest.mark.parametrize("module", sorted(BEFORE["modules"]))
def test_old_module_path_still_offers_its_names(module):
    mod = importlib.import_module(f"convnets.{module}")
    lost = sorted(name for name in BEFORE["modules"][module] if not hasattr(mod, name))
    assert not lost, f"convnets.{module} no longer offers {lost}"


def test_convnets_layers_is_the_functional_layers_package():
    # The networks' room also has a module named layers (convnets.nn.layers): it must
    # not shadow convnets.layers, or ``import convnets.layers.x as m`` fails.
    import convnets.layers.conv_fast as conv_fast

    assert convnets.layers.__name__ == "convnets.layers"
    assert convnets.layers.conv_fast is conv_fast
    assert convnets.nn.layers.__name__ == "convnets.nn.layers"
    assert convnets.Conv is convnets.nn.layers.Conv
