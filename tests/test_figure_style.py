"""Every figure of every lesson, and of ``convnets.visualize``, follows the house style.

The house style (``convnets.visualize``, in convnets/train/plots.py): a map whose sign
matters in a diverging colour map centred at 0 with a colour bar, one scale across
panels that are compared, grey images in grey, text at 8 pt or more, class names on
score axes, figures that fit a laptop screen. What can be checked mechanically is checked
by ``figure_problems``: no text under 8 pt, no figure over 12 x 8 inches, every signed
map diverging, centred and with a colour bar.

The lessons' figures are recorded in the lesson's own kernel while it runs (see
lesson_runs.py; the run is shared with test_lessons.py, so no lesson runs twice).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib", reason="the figures need the 'course' extra")
pytest.importorskip("jupytext", reason="the lessons need the 'course' extra")

from convnets import ThreeLayerConvNet  # noqa: E402
from convnets.visualize import (  # noqa: E402
    figure_problems,
    grey_image,
    show_activations,
    show_filters,
    signed_map,
)
from lesson_runs import EXERCISE_AUDIT, LessonFailed, run_lesson  # noqa: E402

COURSE = Path(__file__).resolve().parent.parent / "course"
LESSONS = sorted(COURSE.glob("[0-9][0-9]_*.py"))


def new_figure(width=6.0, height=3.0):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def signed(seed=0, shape=(6, 6)):
    return np.random.default_rng(seed).standard_normal(shape)


# The checker itself: each rule catches its breach and passes the house style.

def test_a_figure_in_the_house_style_has_no_problems():
    fig = new_figure()
    left, middle, right = fig.subplots(1, 3)
    grey_image(left, np.linspace(0, 1, 36).reshape(6, 6))
    left.set_title("a grey image")
    shared = 3.0
    signed_map(middle, signed(1), limit=shared, colorbar=False)
    signed_map(right, signed(2), limit=shared, label="score")   # one bar for both panels
    middle.set_title("before")
    right.set_title("after")
    assert figure_problems(fig) == []


def test_small_text_is_found_wherever_it_is():
    fig = new_figure()
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], label="a line")
    ax.set_title("fine", fontsize=8)
    ax.legend(fontsize=7)
    ax.text(0.5, 0.5, "note", fontsize=5.5)
    ax.tick_params(axis="x", labelsize=6)
    problems = figure_problems(fig)
    assert any("7 pt" in p and "a line" in p for p in problems), problems
    assert any("5.5 pt" in p and "note" in p for p in problems), problems
    assert any("6 pt" in p for p in problems), problems      # the x tick labels
    assert not any("fine" in p for p in problems), problems


def test_a_large_figure_is_found():
    problems = figure_problems(new_figure(14, 5.4))
    assert problems == ["figure is 14 x 5.4 in, over 12 x 8"]


@pytest.mark.parametrize("cmap, clim, bar, expected", [
    ("viridis", None, True, "not a diverging colour map"),
    ("RdBu_r", (-1, 3), True, "not centred at 0"),
    ("RdBu_r", (-3, 3), False, "has no colour bar"),
    ("gray", None, False, "not a diverging colour map"),
])
def test_a_signed_map_needs_a_centred_diverging_map_and_a_bar(cmap, clim, bar, expected):
    fig = new_figure()
    ax = fig.subplots()
    image = ax.imshow(signed(3), cmap=cmap)
    if clim:
        image.set_clim(*clim)
    if bar:
        fig.colorbar(image, ax=ax)
    ax.set_title("scores")
    problems = figure_problems(fig)
    assert any(expected in p and "'scores'" in p for p in problems), problems


def test_maps_without_negative_values_and_rgb_pictures_need_no_bar():
    fig = new_figure()
    a, b = fig.subplots(1, 2)
    a.imshow(np.abs(signed(4)), cmap="gray")            # a grey picture, no sign
    b.imshow(np.random.default_rng(5).random((4, 4, 3)))  # RGB
    assert figure_problems(fig) == []


def test_one_bar_serves_panels_on_the_same_scale_only():
    fig = new_figure()
    a, b = fig.subplots(1, 2)
    signed_map(a, signed(6), limit=2.0, colorbar=False)
    signed_map(b, signed(7), limit=2.5)                    # another scale: a's bar missing
    a.set_title("left")
    problems = figure_problems(fig)
    assert problems == ["signed map 'left' has no colour bar"], problems


# convnets.visualize: the functions the lessons and `python -m convnets train` use.

@pytest.mark.parametrize("input_dim", [(1, 8, 8), (3, 16, 16)])
def test_show_activations_follows_the_house_style(input_dim):
    model = ThreeLayerConvNet(input_dim=input_dim, num_filters=16, filter_size=3,
                              hidden_dim=100, weight_scale=0.5, seed=0)
    x = np.random.default_rng(8).standard_normal(input_dim)
    fig = show_activations(model, x, max_maps=8, class_names=[f"digit {i}" for i in range(10)])
    assert figure_problems(fig) == []
    scores = fig.axes[-1]
    assert [t.get_text() for t in scores.get_xticklabels()] == [f"digit {i}" for i in range(10)]
    if input_dim[0] == 1:      # a grey input is drawn in grey
        assert fig.axes[0].get_images()[0].get_cmap().name == "gray"


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_show_filters_follows_the_house_style(channels):
    w = np.random.default_rng(9).standard_normal((16, channels, 3, 3))
    fig = show_filters(w, limit=3.0)
    assert figure_problems(fig) == []
    if channels != 3:          # weights on the scale asked for
        assert fig.axes[0].get_images()[0].get_clim() == (-3.0, 3.0)


# The lessons: every figure each one draws.

@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_every_figure_of_the_lesson_follows_the_house_style(path):
    try:
        run = run_lesson(path, extra_cells=(EXERCISE_AUDIT,))
    except LessonFailed as err:
        pytest.fail(f"the lesson did not run, so its figures were not checked:\n{err}",
                    pytrace=False)
    # (A lesson without matplotlib figures, e.g. one made of widgets, passes.)
    broken = [f"figure {f['figure']} ({f['title'] or 'untitled'}): {problem}"
              for f in run.figures for problem in f["problems"]]
    assert not broken, f"{path.name}:\n" + "\n".join(broken)
