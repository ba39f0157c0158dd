"""Command line: ``python -m autograder <command>`` (see ``--help``)."""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import time
from pathlib import Path

from . import course as course_mod
from . import pipeline


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m autograder",
        description="Build the student release, grade submissions with nbgrader and a "
                    "sandbox, write feedback and export grades.")
    parser.add_argument("--course", type=Path, default=course_mod.DEFAULT_COURSE,
                        help="nbgrader course directory (default: %(default)s)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("build", help="generate the source notebooks, the student release "
                                     "and the self-study solutions")
    p.add_argument("assignments", nargs="*", help="default: all")

    p = sub.add_parser("grade", help="grade every student of a submissions folder",
                       epilog=GRADE_EXIT_CODES,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("assignment")
    p.add_argument("submissions", type=Path,
                   help="folder <student>/<assignment>/<notebook>.ipynb, or an LMS .zip")
    p.add_argument("--workers", type=int, default=None,
                   help="submissions graded at once (default: every core)")
    p.add_argument("--scheduler", default=None,
                   help="address of a Dask scheduler (tcp://host:8786) to grade on a cluster")
    p.add_argument("--timeout", type=float, default=60.0,
                   help="seconds allowed for one student cell or one call (default: 60)")
    p.add_argument("--budget", type=float, default=600.0,
                   help="seconds allowed for one whole submission (default: 600)")
    p.add_argument("--memory", type=int, default=3072,
                   help="memory limit per submission in MB (default: 3072)")
    p.add_argument("--no-feedback", action="store_true", help="skip the HTML feedback")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--student", action="append", default=None, metavar="ID",
                   help="grade only this student (repeatable); the others keep their "
                        "rows, feedback and gradebook entries")

    p = sub.add_parser("feedback", help="(re)write the HTML feedback of an assignment")
    p.add_argument("assignment")

    sub.add_parser("export", help="the CSVs of every assignment and all.csv, rebuilt from "
                                  "the gradebook (a person's points included)")

    p = sub.add_parser("roster", help="fill the gradebook's students from an LMS class "
                                      "list (id, first name, last name, email)")
    p.add_argument("csv", type=Path, help="the class list, as the LMS exports it (CSV)")

    p = sub.add_parser(
        "validate", help="for students: run the visible tests of a notebook",
        description="Run a notebook from top to bottom in its own folder (nbgrader\n"
                    "validate) and report its visible tests: 'Success!' when they all\n"
                    "pass, else each failing test cell with its error. Hidden tests run\n"
                    "only at grading time: passing here does not promise full marks.",
        epilog=VALIDATE_EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("notebook", type=Path, help="the .ipynb file to check")

    p = sub.add_parser("samples", help="write the sample submissions (reference, blank, "
                                       "partial) of every assignment")
    p.add_argument("--out", type=Path, default=course_mod.REPO / "out" / "samples")

    p = sub.add_parser("demo", help="the instructor's job end to end on the sample "
                                    "submissions")
    p.add_argument("--workers", type=int, default=None)

    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except course_mod.CourseError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def cmd_build(args) -> int:
    names = course_mod.build(args.course.resolve(), args.assignments or None)
    print(f"built {', '.join(names)}: release in {args.course / 'release'}, "
          f"solutions in {args.course / 'solutions'}")
    return 0


GRADE_EXIT_CODES = """\
exit status:
  0  every student of the batch was graded (status "graded")
  1  every student has a CSV row, and some have another status (timed out, crashed,
     invalid notebook, missing notebook, grader error, feedback failed)
  2  no submission could be graded (one "error:" line on stderr says why)
"""


def cmd_grade(args) -> int:
    limits = {"call_timeout": args.timeout, "memory_bytes": args.memory * 1024**2,
              "submission_timeout": args.budget}
    start = time.monotonic()
    batch = pipeline.grade_batch(args.course, args.assignment, args.submissions,
                                 workers=args.workers, limits=limits,
                                 progress=not args.no_progress,
                                 feedback=not args.no_feedback, scheduler=args.scheduler,
                                 students=args.student)
    if batch.exit_status == 2:
        statuses = sorted({r["status"] for r in batch.rows})
        print(f"error: no submission of {args.assignment} could be graded "
              f"({len(batch.rows)} students: {', '.join(statuses)}; see {batch.csv})",
              file=sys.stderr)
        return 2
    print(pipeline.gradebook_table(batch.csv))
    print(f"graded in {time.monotonic() - start:.1f} s")
    print(f"grades: {batch.csv}")
    return batch.exit_status


def cmd_feedback(args) -> int:
    course_mod.check_assignment(args.assignment)
    course = args.course.resolve()
    failed = pipeline.write_feedback(course, args.assignment)
    for student, why in failed.items():
        print(f"{student}: no feedback: {why}", file=sys.stderr)
    print(f"feedback: {course / 'feedback'}")
    return 1 if failed else 0


def cmd_export(args) -> int:
    path = pipeline.export_all(args.course.resolve())
    print(pipeline.gradebook_table(path))
    print(f"grades: {path}")
    return 0


def cmd_roster(args) -> int:
    from . import roster

    count, skipped = roster.load_roster(args.course.resolve(), args.csv)
    for line in skipped:
        print(f"skipped {line}: not a valid student id", file=sys.stderr)
    print(f"roster: {count} students in {args.course / 'gradebook.db'}")
    return 0


VALIDATE_EXIT_CODES = """\
exit status:
  0  every visible test passes ("Success!")
  1  the notebook ran but is not ready: a test cell failed (each one is shown with
     its error), or a test cell's code or a cell's type was changed
  2  nothing was validated: no such file, not a Jupyter notebook, or nbgrader
     itself failed (the reason is printed on stderr)
"""
VALIDATE_SUCCESS = "Success! Your notebook passes all the tests."


def cmd_validate(args) -> int:
    """nbgrader validate on one notebook; the exit status says whether it passed (see
    VALIDATE_EXIT_CODES), since nbgrader's own is 0 whether the tests pass or fail."""
    import glob

    from .execute import load_notebook_json

    path = args.notebook.resolve()
    if not path.exists():
        raise course_mod.CourseError(f"no such file: {args.notebook}")
    if path.is_dir():
        raise course_mod.CourseError(f"{args.notebook} is a folder; give the notebook "
                                     f"(.ipynb) inside it")
    hint = "" if path.suffix == ".ipynb" else " (a notebook is a .ipynb file)"
    try:
        load_notebook_json(path)
    except ValueError as err:
        raise course_mod.CourseError(f"cannot read {args.notebook} as a Jupyter "
                                     f"notebook{hint}: {err}") from None
    # nbgrader expands its arguments as glob patterns ("[" in a name would match nothing).
    proc = course_mod.nbgrader(path.parent, "validate", glob.escape(str(path)), check=False)
    if proc.returncode != 0:
        raise course_mod.CourseError(f"nbgrader could not validate {args.notebook}: "
                                     f"{_last_error(proc.stderr)}")
    print(proc.stdout, end="")
    return 0 if VALIDATE_SUCCESS in proc.stdout else 1


def _last_error(log: str) -> str:
    """The exception at the end of nbgrader's log (``Name: message``), else its last line."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    errors = [line for line in lines
              if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Exit)\b:?", line)]
    return (errors or lines or ["no message"])[-1][:2000]


def cmd_samples(args) -> int:
    from . import samples

    course = args.course.resolve()
    course_mod.build(course)
    out = samples.write_samples(course, args.out.resolve())
    print(f"samples: {out}")
    return 0


def cmd_demo(args) -> int:
    from . import samples

    start = time.monotonic()
    course = args.course.resolve()
    try:
        names = course_mod.build(course)
    except course_mod.CourseError as err:
        # nbgrader refuses to change an assignment's graded cells once students are in
        # its gradebook (it would lose their grades). A folder that holds only this
        # demo's sample students loses nothing by starting afresh; any other student
        # keeps the folder as it is, and the error says why.
        if course_mod.GRADED_ALREADY not in str(err) or \
                not _only_demo_students(course, samples.STUDENTS):
            raise
        print(f"the assignments changed since the last demo in {course}, which holds only "
              f"the sample students: starting it afresh")
        shutil.rmtree(course)
        names = course_mod.build(course)
    print(f"built the release of {len(names)} assignments")
    subs = samples.write_samples(course, course_mod.REPO / "out" / "samples")
    for name in names:
        print(f"\n== {name}")
        pipeline.grade_assignment(course, name, subs, workers=args.workers)
    path = pipeline.export_all(course)
    print()
    print(pipeline.gradebook_table(path))
    print(f"\nfeedback: {course / 'feedback'}")
    print(f"demo finished in {time.monotonic() - start:.0f} s")
    print(f"grades: {path}")
    return 0


def _only_demo_students(course: Path, demo: tuple[str, ...]) -> bool:
    """Whether every student the course knows (gradebook, submitted, autograded,
    feedback folders) is one of the demo's sample students."""
    found = set()
    for stage in ("submitted", "autograded", "feedback"):
        folder = course / stage
        if folder.is_dir():
            found |= {p.name for p in folder.iterdir()}
    if (course / "gradebook.db").is_file():
        with course_mod.open_gradebook(course) as gb:
            found |= {s.id for s in gb.students}
    return found <= set(demo)


COMMANDS = {"build": cmd_build, "grade": cmd_grade, "feedback": cmd_feedback,
            "export": cmd_export, "validate": cmd_validate, "samples": cmd_samples,
            "demo": cmd_demo, "roster": cmd_roster}
