"""The animated GIF of lesson 4's demo (``docs/img/conv_demo.gif``), shown where no code
runs (the README and the lesson's text on GitHub), is the demo of the lesson as it
stands: one frame per step, the lesson's numbers and values, and what
``tools/make_conv_demo_gif.py`` draws today.

The GIF's comment records the numbers it was drawn from; they are compared with the
lesson's (taken by running the lesson's first cells) and its values with the layer's
output. The script is run again into a temporary folder: same frame count, frame size,
timing and comment, and frames that differ from the committed ones in at most a few
pixels (matplotlib's text rendering may change slightly between versions, so bytes are
compared only as the first, exact, way to agree).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageChops

pytest.importorskip("jupytext", reason="the script reads lesson 4 with jupytext")

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tools" / "make_conv_demo_gif.py"
COMMITTED = ROOT / "docs" / "img" / "conv_demo.gif"
MAX_BYTES = 1_500_000
MAX_CHANGED_PIXELS = 0.01      # fraction of a frame's pixels allowed to differ


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("make_conv_demo_gif", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def numbers(script):
    return script.lesson_numbers()


def frames_of(path: Path) -> tuple[list[Image.Image], list[int], dict]:
    """Every frame as RGB, each frame's duration, and the GIF's comment as JSON."""
    with Image.open(path) as image:
        comment = json.loads(image.info["comment"])
        frames, durations = [], []
        for n in range(image.n_frames):
            image.seek(n)
            frames.append(image.convert("RGB"))
            durations.append(image.info["duration"])
    return frames, durations, comment


def test_committed_gif_is_the_lessons_demo(script, numbers):
    from convnets import conv_forward_naive

    assert COMMITTED.stat().st_size < MAX_BYTES, f"{COMMITTED} is too large to commit"
    frames, durations, comment = frames_of(COMMITTED)
    # The demo of the notes: 5x5x3 input, two 3x3 filters, stride 2, padding 1.
    assert numbers["x_padded"].shape == (3, 7, 7) and numbers["w"].shape == (2, 3, 3, 3)
    assert (numbers["stride"], numbers["pad"]) == (2, 1)
    assert len(frames) == len(comment["steps"]) == 18
    assert comment == script.describe(numbers), (
        "the GIF was drawn from other numbers than lesson 4's: run "
        "tools/make_conv_demo_gif.py and commit docs/img/conv_demo.gif")
    # Every step's value is the layer's output at that position, in the demo's order.
    pad = numbers["pad"]
    x = numbers["x_padded"][None, :, pad:-pad, pad:-pad]
    out, _ = conv_forward_naive(x, numbers["w"], numbers["b"],
                                {"stride": numbers["stride"], "pad": pad})
    assert [s["value"] for s in comment["steps"]] == out[0].ravel().tolist()
    assert all(d > 0 for d in durations)


def test_script_draws_the_committed_gif(script, numbers, tmp_path):
    fresh = script.write_gif(tmp_path / "conv_demo.gif", numbers)
    if fresh.read_bytes() == COMMITTED.read_bytes():
        return
    new_frames, new_durations, new_comment = frames_of(fresh)
    old_frames, old_durations, old_comment = frames_of(COMMITTED)
    assert len(new_frames) == len(old_frames) == 18
    assert new_durations == old_durations and new_comment == old_comment
    for n, (new, old) in enumerate(zip(new_frames, old_frames, strict=True)):
        assert new.size == old.size, f"frame {n + 1}: {new.size} now, {old.size} committed"
        changed = np.asarray(ImageChops.difference(new, old).convert("L")) > 32
        assert changed.mean() <= MAX_CHANGED_PIXELS, (
            f"frame {n + 1}: {changed.mean():.1%} of the pixels differ from the committed "
            "GIF; run tools/make_conv_demo_gif.py and commit docs/img/conv_demo.gif")


def test_readme_and_lesson_show_the_pictures():
    """The README shows the GIF and the lesson page's picture, both small enough to
    commit; lesson 4's text names the GIF for readers on GitHub."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    budgets = {"docs/img/conv_demo.gif": MAX_BYTES, "docs/img/lesson_exercise.png": 400_000}
    for path, budget in budgets.items():
        assert f"]({path})" in readme, f"the README does not show {path}"
        size = (ROOT / path).stat().st_size
        assert size < budget, f"{path} is {size:,} bytes, over {budget:,}"
    with Image.open(ROOT / "docs/img/lesson_exercise.png") as picture:
        assert picture.format == "PNG" and picture.size[0] >= 800
    lesson = (ROOT / "course" / "04_conv_demo.py").read_text(encoding="utf-8")
    assert "docs/img/conv_demo.gif" in lesson and "tools/make_conv_demo_gif.py" in lesson
