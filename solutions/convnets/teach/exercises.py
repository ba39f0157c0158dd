"""Exercises with self-checks, for the lessons.

A lesson sets up its exercises in one (collapsed) cell::

    exercises = Exercises("Lesson 2")
    exercises.add(1, "Output width for W=227, F=11, S=4, P=0", expected=55,
                  hint="(W - F + 2P)/S + 1", solution="(227 - 11 + 0)/4 + 1 = 55")

and the reader answers in the cells after the questions::

    exercises.answer(1, None)      # replace None by your answer
    exercises.hint(1)              # if stuck
    exercises.show_solution(1)     # the worked solution

``answer`` prints whether the answer is right, wrong, or how far off it is; it never
prints the expected value or the solution, and an unanswered exercise (``None``) only
says so: a lesson run top to bottom does not fail on its exercises. ``answer`` records
the verdict (``"right"``, ``"wrong"`` or ``"unanswered"``) in ``exercises.verdicts``.

Kinds of expected answers: a number (compared with a relative tolerance, default
``1e-3``; the message says how far off), a tuple of numbers such as a shape (same
length, entry by entry; the message says which entries are wrong), a set (the message
counts the missing and the extra members, without naming them), or a string (one of
a few choices, compared without case and surrounding spaces).
"""

from __future__ import annotations

import html
import json
import math
import numbers
from dataclasses import dataclass

__all__ = ["Exercise", "Exercises", "RIGHT", "WRONG", "UNANSWERED"]

RIGHT, WRONG, UNANSWERED = "right", "wrong", "unanswered"


@dataclass(frozen=True)
class Exercise:
    """One question: its number, text, expected answer, hint and worked solution."""

    number: int
    question: str
    expected: object
    hint: str
    solution: str
    rel_tol: float = 1e-3

    def judge(self, given) -> tuple[str, str]:
        """``(verdict, message)`` for an answer; the message never states the expected
        answer."""
        if given is None:
            return UNANSWERED, "not answered yet (replace None by your answer)"
        expected = self.expected
        if isinstance(expected, str):
            if not isinstance(given, str):
                return WRONG, f"wrong: expected an answer in words, got {type(given).__name__}"
            ok = given.strip().lower() == expected.strip().lower()
            return (RIGHT, "right") if ok else (WRONG, "wrong")
        if isinstance(expected, (set, frozenset)):
            try:
                given = set(given)
            except TypeError:
                return WRONG, f"wrong: expected a set, got {type(given).__name__}"
            missing, extra = len(expected - given), len(given - expected)
            if not missing and not extra:
                return RIGHT, "right"
            return WRONG, f"wrong: {missing} missing, {extra} that do not belong"
        if isinstance(expected, tuple):
            try:
                given = tuple(given)
            except TypeError:
                return WRONG, f"wrong: expected {len(expected)} numbers, got one"
            if len(given) != len(expected):
                return WRONG, (f"wrong: expected {len(expected)} numbers, "
                               f"got {len(given)}")
            bad = [i for i, (g, e) in enumerate(zip(given, expected, strict=True))
                   if not self.close(g, e)]
            if not bad:
                return RIGHT, "right"
            return WRONG, f"wrong: entries {bad} (counting from 0) are off"
        if not isinstance(given, numbers.Real) or isinstance(given, bool):
            return WRONG, f"wrong: expected a number, got {type(given).__name__}"
        if self.close(given, expected):
            return RIGHT, "right"
        return WRONG, f"wrong: {how_far_off(float(given), float(expected))}"

    def close(self, given, expected) -> bool:
        if not isinstance(given, numbers.Real) or isinstance(given, bool):
            return False
        return math.isclose(float(given), float(expected), rel_tol=self.rel_tol,
                            abs_tol=self.rel_tol if expected == 0 else 0.0)


def how_far_off(given: float, expected: float) -> str:
    """"too large by 12%", "too small by a factor of 4.0", "the wrong sign" (the
    expected value itself is not named)."""
    if expected == 0:
        return f"off by {abs(given):.3g} (absolute)"
    if given == 0 or (given > 0) != (expected > 0):
        return "the wrong sign, or zero" if given != 0 else "zero is not it"
    ratio = given / expected
    direction = "too large" if ratio > 1 else "too small"
    factor = ratio if ratio > 1 else 1 / ratio
    if factor >= 1.5:
        return f"{direction} by a factor of about {factor:.1f}"
    return f"{direction} by {abs(ratio - 1):.0%}"


class Exercises:
    """The exercises of one lesson, numbered from 1."""

    def __init__(self, title: str):
        self.title = title
        self.items: dict[int, Exercise] = {}
        self.verdicts: dict[int, str] = {}

    def add(self, number: int, question: str, expected, hint: str, solution: str,
            rel_tol: float = 1e-3) -> None:
        """Register exercise ``number`` (1, 2, ... in order)."""
        if number != len(self.items) + 1:
            raise ValueError(f"exercise numbers go 1, 2, ...: expected "
                             f"{len(self.items) + 1}, got {number}")
        if expected is None:
            raise ValueError(f"exercise {number}: expected must not be None")
        self.items[number] = Exercise(number, question, expected, hint, solution, rel_tol)

    def __len__(self) -> int:
        return len(self.items)

    def exercise(self, number: int) -> Exercise:
        if number not in self.items:
            raise ValueError(f"{self.title} has exercises 1 to {len(self.items)}, "
                             f"not {number}")
        return self.items[number]

    def answer(self, number: int, given) -> None:
        """Check an answer and print the verdict (never the solution); the verdict is
        kept in ``verdicts[number]`` (nothing is returned, so a notebook cell ending
        with ``answer`` shows only the printed line)."""
        verdict, message = self.exercise(number).judge(given)
        self.verdicts[number] = verdict
        tail = "" if verdict == RIGHT else f"   (hint: exercises.hint({number}))"
        print(f"Exercise {number}: {message}{tail}")

    def hint(self, number: int) -> None:
        print(f"Hint for exercise {number}: {self.exercise(number).hint}")

    def show_solution(self, number: int) -> None:
        """Print the worked solution of exercise ``number``."""
        item = self.exercise(number)
        print(f"Exercise {number}: {item.question}\n\nSolution: {item.solution}")

    def __repr__(self) -> str:
        return (f"{self.title}: {len(self.items)} exercises; answer with "
                f"exercises.answer(n, value)")

    def _repr_html_(self) -> str:
        """The questions, each with a box to check an answer in the page itself (the
        same verdicts as ``answer``, in JavaScript, so the exported HTML checks answers
        without a kernel), and its hint and solution folded away."""
        rows = []
        for item in self.items.values():
            expected = (sorted(item.expected) if isinstance(item.expected, (set, frozenset))
                        else item.expected)
            kind = ("set" if isinstance(item.expected, (set, frozenset)) else
                    "text" if isinstance(item.expected, str) else
                    "tuple" if isinstance(item.expected, tuple) else "number")
            check = html.escape(json.dumps({"kind": kind, "expected": expected,
                                            "rel_tol": item.rel_tol}, default=float))
            rows.append(
                f'<li data-check="{check}"><b>{html.escape(item.question)}</b><br>'
                f'<input class="exercise-answer" size="16" placeholder="your answer"> '
                f'<button class="exercise-check">check</button> '
                f'<span class="exercise-verdict"></span>'
                f"<details><summary>hint</summary>{html.escape(item.hint)}</details>"
                f"<details><summary>solution</summary>"
                f"{html.escape(item.solution)}</details></li>")
        return (f'<div class="exercises"><p>{html.escape(self.title)}: type an answer and '
                f"press <i>check</i>, or run <code>exercises.answer(n, value)</code>.</p>"
                f"<ol>" + "".join(rows) + "</ol></div>" + CHECK_SCRIPT)

    def summary(self) -> None:
        """One line per exercise: right, wrong or not answered yet."""
        for number, item in self.items.items():
            print(f"{number}. {self.verdicts.get(number, UNANSWERED):10s} {item.question}")


# The checks of Exercise.judge in JavaScript, for pages without a kernel; wired once per
# page (a click anywhere on a "check" button of an exercises list).
CHECK_SCRIPT = """<script>
(function () {
  if (window.convnetsExercises) { return; }
  window.convnetsExercises = true;
  function close(g, e, tol) {
    return Math.abs(g - e) <= (e === 0 ? tol : tol * Math.max(Math.abs(g), Math.abs(e)));
  }
  function farOff(g, e) {
    if (e === 0) { return "off by " + Math.abs(g).toPrecision(3) + " (absolute)"; }
    if (g === 0) { return "zero is not it"; }
    if ((g > 0) !== (e > 0)) { return "the wrong sign, or zero"; }
    var ratio = g / e, dir = ratio > 1 ? "too large" : "too small";
    var factor = ratio > 1 ? ratio : 1 / ratio;
    if (factor >= 1.5) { return dir + " by a factor of about " + factor.toFixed(1); }
    return dir + " by " + Math.round(Math.abs(ratio - 1) * 100) + "%";
  }
  function numbers(text) {
    return (text.match(/-?[0-9]*[.]?[0-9]+(?:e-?[0-9]+)?/gi) || []).map(Number);
  }
  function judge(c, text) {
    text = text.trim();
    if (!text) { return "not answered yet"; }
    if (c.kind === "text") {
      return text.toLowerCase() === c.expected.trim().toLowerCase() ? "right" : "wrong";
    }
    var got = numbers(text.replace(/,(?=[0-9]{3}(?![0-9]))/g, ""));
    if (c.kind === "set") { return "check this one with exercises.answer in a notebook"; }
    if (c.kind === "number") {
      if (got.length !== 1) { return "wrong: expected one number"; }
      if (close(got[0], c.expected, c.rel_tol)) { return "right"; }
      return "wrong: " + farOff(got[0], c.expected);
    }
    if (got.length !== c.expected.length) {
      return "wrong: expected " + c.expected.length + " numbers, got " + got.length;
    }
    var bad = [];
    for (var i = 0; i < got.length; i++) {
      if (!close(got[i], c.expected[i], c.rel_tol)) { bad.push(i); }
    }
    return bad.length ? "wrong: entries [" + bad.join(", ") + "] (counting from 0) are off"
                      : "right";
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest(".exercise-check");
    if (!button) { return; }
    var li = button.closest("li");
    var verdict = judge(JSON.parse(li.getAttribute("data-check")),
                        li.querySelector(".exercise-answer").value);
    var span = li.querySelector(".exercise-verdict");
    span.textContent = verdict;
    span.style.color = verdict === "right" ? "#1a7f37" : "#b42318";
  });
})();
</script>"""
