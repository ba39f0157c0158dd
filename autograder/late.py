"""Due dates and late-work penalties, from the course configuration.

``assignments/course.toml`` names, per assignment, a due date and a penalty rule::

    [assignments.conv_naive]
    due = 2027-01-29T23:59:00Z
    penalty = "10% per day"

Rules: ``"none"`` (lateness is recorded, nothing taken), ``"zero"`` (a late submission
scores 0), ``"P% per day"`` or ``"P% per hour"`` (P percent of the score per started day
or hour, at most all of it). The due date goes into nbgrader's gradebook, which computes
how late each submission is from its ``timestamp.txt``; the penalty is applied by
:class:`LatePenalty`, nbgrader's late-submission plug-in, and again on export, so that
points a person adds later are penalised by the same rule.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from nbgrader.plugins import BasePlugin

RULE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*per\s*(day|hour)\s*$", re.I)
UNIT_SECONDS = {"day": 86400, "hour": 3600}


class ConfigError(ValueError):
    """The course configuration says something this grader cannot follow."""


@dataclass(frozen=True)
class LateRule:
    due: dt.datetime | None = None
    penalty: str = "none"

    def __post_init__(self):
        check_rule(self.penalty)

    def penalty_for(self, score: float, seconds_late: float) -> float:
        """Points taken from ``score`` for a submission ``seconds_late`` late."""
        if seconds_late <= 0 or score <= 0:
            return 0.0
        rule = self.penalty.strip().lower()
        if rule == "none":
            return 0.0
        if rule == "zero":
            return float(score)
        percent, unit = check_rule(self.penalty)
        started = math.ceil(seconds_late / UNIT_SECONDS[unit])
        return float(min(score, score * percent / 100 * started))


def check_rule(rule: str) -> tuple[float, str] | None:
    """The (percent, unit) of a rule, None for "none"/"zero"; a clear error otherwise."""
    if not isinstance(rule, str):
        raise ConfigError(f"penalty must be a text such as \"10% per day\", got {rule!r}")
    if rule.strip().lower() in ("none", "zero"):
        return None
    match = RULE.match(rule)
    if match is None:
        raise ConfigError(f"penalty {rule!r} is not one of: \"none\", \"zero\", "
                          "\"P% per day\", \"P% per hour\"")
    return float(match.group(1)), match.group(2).lower()


def read_rules(path: Path) -> dict[str, LateRule]:
    """Each assignment's LateRule from ``course.toml`` (no file: no rules)."""
    if not path.is_file():
        return {}
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: {err}") from None
    rules = {}
    default = config.get("late", {}).get("penalty", "none")
    for name, table in config.get("assignments", {}).items():
        due = table.get("due")
        if isinstance(due, dt.date) and not isinstance(due, dt.datetime):
            due = dt.datetime.combine(due, dt.time(23, 59, 59))
        if due is not None and not isinstance(due, dt.datetime):
            raise ConfigError(f"{path}: assignments.{name}.due must be a date and time "
                              f"(2027-01-29T23:59:00Z), got {due!r}")
        if due is not None and due.tzinfo is not None:
            due = due.astimezone(dt.UTC).replace(tzinfo=None)  # nbgrader: naive UTC
        try:
            rules[name] = LateRule(due, table.get("penalty", default))
        except ConfigError as err:
            raise ConfigError(f"{path}: assignments.{name}: {err}") from None
    return rules


def rule_for(assignment: str) -> LateRule:
    from .course import course_config

    return read_rules(course_config()).get(assignment, LateRule())


class LatePenalty(BasePlugin):
    """nbgrader's late-submission plug-in, following the course configuration's rule
    for the assignment being autograded."""

    def late_submission_penalty(self, student_id, score, total_seconds_late):
        assignment = getattr(self.parent, "assignment_id", None)
        return rule_for(str(assignment)).penalty_for(score or 0.0, total_seconds_late or 0.0)
