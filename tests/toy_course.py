"""The toy assignment (tests/fixtures/toy) built into a course, with its sample
submissions: the fixture the autograder tests share."""

import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest

from autograder import course as course_mod
from autograder import samples

FIXTURES = Path(__file__).parent / "fixtures"


@contextmanager
def toy_course(root: Path, submissions: str = "submissions"):
    """Build the toy assignment's course under ``root`` and write the sample students
    (reference, blank, partial) to ``root / submissions``.

    Yields a dict: ``root``, ``course``, ``subs`` (the submissions folder),
    ``assignments`` (the sources' folder) and ``mp``, the MonkeyPatch that points
    ``autograder.course.ASSIGNMENTS_DIR`` at that folder until the context ends.
    """
    assignments = root / "assignments"
    shutil.copytree(FIXTURES / "toy", assignments / "toy")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(course_mod, "ASSIGNMENTS_DIR", assignments)
        course = root / "course"
        course_mod.build(course, ["toy"])
        subs = samples.write_samples(course, root / submissions)
        yield {"root": root, "course": course, "subs": subs, "assignments": assignments,
               "mp": mp}
