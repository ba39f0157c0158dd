"""The lessons' exercises and the convolution demo's animation (``convnets.teach``).

The self-check says right, wrong or how far off and never prints the expected answer
or the solution; an unanswered exercise only says so. The animation embeds every step's
numbers, equal to a convolution computed by the reference layer. (Every lesson's own
exercises are checked in its kernel by ``tests/test_lessons.py``.)
"""

from __future__ import annotations

import html
import json
import re

import numpy as np
import pytest
from convnets import conv_forward_naive
from convnets.teach import Exercises, conv_demo_animation


@pytest.fixture
def exercises():
    ex = Exercises("Lesson 0")
    ex.add(1, "Output width", expected=55, hint="(W - F + 2P)/S + 1",
           solution="(227 - 11)/4 + 1 = 55")
    ex.add(2, "Output shape", expected=(55, 55, 96), hint="width, height, depth",
           solution="55 x 55 x 96 (SOLUTION-2)")
    ex.add(3, "Missed positions", expected={(0, 1), (1, 0)}, hint="draw the grid",
           solution="the odd ones (SOLUTION-3)")
    ex.add(4, "Which line is wrong", expected="b", hint="check the gradient",
           solution="line b (SOLUTION-4)")
    ex.add(5, "A small number", expected=0.25, hint="1/4", solution="1/4 (SOLUTION-5)")
    return ex


@pytest.mark.parametrize("number, right", [(1, 55), (1, 55.0), (2, (55, 55, 96)),
                                           (2, [55, 55, 96]), (3, [(1, 0), (0, 1)]),
                                           (4, " B "), (5, 0.25)])
def test_right_answers_are_accepted(exercises, number, right, capsys):
    exercises.answer(number, right)
    assert exercises.verdicts[number] == "right"
    assert capsys.readouterr().out == f"Exercise {number}: right\n"


@pytest.mark.parametrize("number, wrong, says", [
    (1, 56, "too large by 2%"),
    (1, 27.5, "too small by a factor of about 2.0"),
    (1, -55, "wrong sign"),
    (1, "55", "expected a number"),
    (2, (55, 54, 96), "entries [1]"),
    (2, (55, 55), "expected 3 numbers, got 2"),
    (3, [(0, 1), (2, 2)], "1 missing, 1 that do not belong"),
    (4, "a", "wrong"),
    (5, 0.5, "too large by a factor of about 2.0"),
])
def test_wrong_answers_are_told_how_far_off_without_the_answer(exercises, number, wrong,
                                                               says, capsys):
    exercises.answer(number, wrong)
    assert exercises.verdicts[number] == "wrong"
    said = capsys.readouterr().out
    assert said.startswith(f"Exercise {number}: wrong") and says in said, said
    assert f"exercises.hint({number})" in said
    item = exercises.exercise(number)
    assert item.solution not in said and "SOLUTION" not in said
    if number in (1, 5):
        assert str(item.expected) not in said


def test_unanswered_does_not_fail_and_hint_and_solution_print_on_request(exercises,
                                                                         capsys):
    for n in range(1, 6):
        exercises.answer(n, None)
    assert list(exercises.verdicts.values()) == ["unanswered"] * 5
    said = capsys.readouterr().out
    assert said.count("not answered yet") == 5 and "SOLUTION" not in said
    exercises.hint(2)
    assert capsys.readouterr().out == "Hint for exercise 2: width, height, depth\n"
    exercises.show_solution(2)
    assert "55 x 55 x 96 (SOLUTION-2)" in capsys.readouterr().out
    # The notebook's display: hints and solutions folded in <details>; the text form
    # shows none of them.
    page = exercises._repr_html_()
    assert page.count("<details><summary>solution</summary>") == 5
    assert "SOLUTION-2" in page and "SOLUTION" not in repr(exercises)


def test_exercises_are_numbered_in_order_and_have_an_answer(exercises):
    with pytest.raises(ValueError, match="expected 6, got 7"):
        exercises.add(7, "q", expected=1, hint="h", solution="s")
    with pytest.raises(ValueError, match="must not be None"):
        exercises.add(6, "q", expected=None, hint="h", solution="s")
    with pytest.raises(ValueError, match="exercises 1 to 5, not 9"):
        exercises.answer(9, 1)


def test_the_animation_embeds_every_step_of_the_convolution():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, size=(1, 3, 5, 5)).astype(float)
    w = rng.integers(-1, 2, size=(2, 3, 3, 3)).astype(float)
    b = np.array([1.0, 0.0])
    out, _ = conv_forward_naive(x, w, b, {"stride": 2, "pad": 1})
    x_padded = np.pad(x[0], ((0, 0), (1, 1), (1, 1)))
    page = conv_demo_animation(x_padded, w, b, stride=2, pad=1)._repr_html_()
    data = json.loads(html.unescape(re.search(r'data-steps="([^"]*)"', page).group(1)))
    assert len(data["steps"]) == 18
    for step in data["steps"]:
        assert step["value"] == out[0, step["k"], step["i"], step["j"]]
        assert sum(step["sums"]) + b[step["k"]] == step["value"]
    assert np.array_equal(data["x"], x_padded) and np.array_equal(data["w"], w)
    assert "<script>" in page and "setInterval" in page


def test_the_page_can_check_answers_without_a_kernel(exercises):
    # Each question carries what the page's script needs to judge an answer like
    # ``answer`` does (kind, expected, tolerance); ``answer`` itself returns nothing, so a
    # notebook cell ending with it shows no Out[] value.
    page = exercises._repr_html_()
    checks = [json.loads(html.unescape(found))
              for found in re.findall(r'data-check="([^"]*)"', page)]
    assert [c["kind"] for c in checks] == ["number", "tuple", "set", "text", "number"]
    assert checks[0] == {"kind": "number", "expected": 55, "rel_tol": 1e-3}
    assert checks[1]["expected"] == [55, 55, 96]
    assert page.count('class="exercise-check"') == 5 and "<script>" in page
    assert exercises.answer(1, 55) is None
