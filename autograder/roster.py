"""The class list: ``python -m autograder roster students.csv`` fills the gradebook's
students (id, first name, last name, email), so formgrader and the CSVs show names.

LMS exports name their columns differently; each field is found by the first of its
usual headers that the file has (case and spacing ignored): Canvas (``SIS User ID``,
``Student`` as "Last, First"), Moodle (``ID number``, ``First name``, ``Surname``,
``Email address``), Blackboard (``Username``, ``First Name``, ``Last Name``, ``Email``)
or plain ``id, first_name, last_name, email``.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from . import course as course_mod
from .inert import inert_line

HEADERS = {
    # In order of preference: an LMS's own numeric "ID" is the last resort.
    "id": ("student_id", "student id", "sis user id", "sis login id", "username",
           "user name", "login", "id number", "idnumber", "id"),
    "first_name": ("first_name", "first name", "firstname", "given name", "given_name"),
    "last_name": ("last_name", "last name", "lastname", "surname", "family name"),
    "email": ("email", "e-mail", "email address", "mail"),
    "full_name": ("student", "name", "full name"),
}
MAX_ROSTER_BYTES = 10 * 1024**2


def _key(header: str) -> str:
    return re.sub(r"[\s_]+", " ", header.strip().lower()).replace(" ", "_")


def read_roster(path: Path) -> tuple[list[dict], list[str]]:
    """The students of an LMS export, as dicts with id, first_name, last_name, email."""
    from .pipeline import STUDENT_ID

    if not path.is_file():
        raise course_mod.CourseError(f"no roster file at {path}")
    if path.stat().st_size > MAX_ROSTER_BYTES:
        raise course_mod.CourseError(f"{path} is larger than {MAX_ROSTER_BYTES} bytes")
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    reader = csv.DictReader(io.StringIO(text))
    columns = {}
    headers = {_key(h): h for h in reversed(reader.fieldnames or [])}
    for field, names in HEADERS.items():
        found = [headers[_key(n)] for n in names if _key(n) in headers]
        if found:
            columns[field] = found[0]
    if "id" not in columns:
        raise course_mod.CourseError(
            f"{path}: no student id column (one of: {', '.join(HEADERS['id'])}); "
            f"the columns are: {', '.join(reader.fieldnames or [])}")
    students, skipped = [], []
    for number, row in enumerate(reader, start=2):
        sid = (row.get(columns["id"]) or "").strip()
        if not STUDENT_ID.match(sid):
            skipped.append(f"line {number}: {inert_line(sid, 60)!r}")
            continue
        first = (row.get(columns.get("first_name", "")) or "").strip()
        last = (row.get(columns.get("last_name", "")) or "").strip()
        full = (row.get(columns.get("full_name", "")) or "").strip()
        if full and not (first or last):
            last, _, first = (p.strip() for p in full.partition(",")) if "," in full \
                else ("", "", full)
        students.append({"id": sid, "first_name": inert_line(first, 100),
                         "last_name": inert_line(last, 100),
                         "email": inert_line((row.get(columns.get("email", "")) or "")
                                             .strip(), 200)})
    if skipped and not students:
        raise course_mod.CourseError(f"{path}: no valid student id ({'; '.join(skipped[:5])})")
    return students, skipped


def load_roster(course: Path, path: Path) -> tuple[int, list[str]]:
    """Add or update every student of the roster in the gradebook; returns how many,
    and the lines skipped (ids that cannot name a student folder)."""
    students, skipped = read_roster(path)
    course.mkdir(parents=True, exist_ok=True)
    with course_mod.open_gradebook(course) as gb:
        for s in students:
            gb.update_or_create_student(s["id"], first_name=s["first_name"] or None,
                                        last_name=s["last_name"] or None,
                                        email=s["email"] or None)
    return len(students), skipped
