"""Generated classes of submissions for the five real assignments (issue 12, item 5), and
the invariants every grading run of them must keep.

A *class* is a few unmutated students (the reference solution, the blank release, the
half-solved sample) and several *mutants*: the real release or solution notebook of an
assignment changed at random by a seeded mutator (:data:`MUTATIONS`): nbgrader's marker
strings anywhere, ANSI escapes and control characters in printed output and in errors,
cells retyped, moved, duplicated, deleted and merged, cell ids and grade_ids removed,
duplicated and colliding, nbformat 4.0-4.5 and v3, no kernelspec, bytes that are not
UTF-8, NUL, lone surrogates, 10 MB strings, deeply nested JSON, attachments, extra,
renamed and doubled notebooks, odd student ids; the class is written as folders or as an
LMS zip (``../`` and absolute paths, symbolic links, duplicate names, zip bombs).

A mutation is *preserving* when it cannot change what the tests see (a marker in a
comment, an ANSI escape in a print, a markdown attachment, a missing kernelspec...): a
mutant made only of those must get exactly the row of its unmutated base (score and
status ``graded``).

:func:`check_class` returns the invariants a run broke (an empty list when it held):

- every student the grader can name (a student folder, a zip entry's owner) has
  exactly one CSV row, every row has a known status and a score within the maximum;
- the unmutated students' rows, and those of preserving mutants, are those of a clean
  run (score, max_score, status);
- the course folder changes only under the students' own subfolders (``submitted/<s>``,
  ``autograded/<s>``, ``feedback/<s>``, ``results/<a>/<s>.json``), ``grades/``,
  ``downloaded/`` and ``gradebook.db``; the submissions are not modified; nothing is
  written next to them, in the working directory or where a zip entry points;
- no process started by the grading (or by a submission) survives it;
- every submission stays within its time budget, and the run within the class's;
- the command ends with ``grades: <csv>`` (exit status 0 when every row is ``graded``,
  else 1) since at least one student can always be graded; no feedback page shows the
  hidden tests' code.

Run as a script for a long run and its table (``make fuzz``)::

    python tests/submission_fuzzer.py --classes 300 --assignments all
"""

from __future__ import annotations

import base64
import copy
import csv
import hashlib
import html
import json
import os
import random
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
import unicodedata
import uuid
import zipfile
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
import attack_corpus  # noqa: E402
from hostile_corpus import leftover_processes  # noqa: E402

from autograder.inert import shown_id  # noqa: E402

ASSIGNMENTS = ["conv_naive", "conv_fast", "pooling_layers", "architectures",
               "fcconv_case_studies"]
GRADED = "graded"
KNOWN_STATUSES = {"graded", "timed out", "crashed", "invalid notebook", "missing notebook",
                  "grader error", "feedback failed"}
CLEAN_KINDS = ("reference", "blank", "partial")
# Limits of the generated runs: generous (honest cells of `architectures` train a net).
LIMITS = {"call_timeout": 30.0, "submission_timeout": 120.0, "memory_bytes": 2048 * 1024**2}
SLACK = 15.0            # seconds over a submission's budget: sandbox start and teardown

MARKERS = [
    "### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS",
    "### END HIDDEN TESTS", "# YOUR CODE HERE", "YOUR ANSWER HERE",
    "raise NotImplementedError()", "BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS",
    "END HIDDEN TESTS", "### BEGIN", "### END", "### BEGIN MARK SCHEME", "### END MARK SCHEME",
    "### BEGIN HIDDEN TESTS\n### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS\n### BEGIN SOLUTION",
    "    ### BEGIN SOLUTION   ", "## BEGIN SOLUTION", "### begin hidden tests",
    "{{ BEGIN SOLUTION }}", "<!-- ### BEGIN HIDDEN TESTS -->",
]
ANSI = [
    "\x1b[38m", "\x1b[38m\x1b[0m", "\x1b[31mred\x1b[0m", "\x1b[38;5;300m", "\x1b[38;2;1;2m",
    "\x1b[48;5m", "\x1b[999999999999m", "\x1b[2J\x1b[H", "\x1b]0;pwned\x07", "\x1b]8;;http://x\x1b\\",
    "\x1b[", "\x1b", "\x1b[?1049h", "\x1bP1;2|x\x1b\\", "\x9b31m", "\x07\x08\x0b\x0c\x7f",
    "\x00", "\x01\x02\x03\x04\x05\x06", "\r\rover\r", "\u202etxt.exe", "\ufeff\u200b\u2028\u2029",
    "\x1b[1;31;42;5;7;8;9m", "\x1b[0;38;5;0;48;5;255m", "\x1b(0lqk\x1b(B",
]
NASTY_IDS = [
    "source", "release", "submitted", "autograded", "feedback", "gradebook.db",
    "nbgrader_config.py", "name with spaces", "ünïcødé", "学生", "new\nline", "tab\tid",
    "-rf", "--student", "a'b\"c;$(touch pwned)", "BEGIN HIDDEN TESTS", "x" * 200, "CON",
    " lead", "trail ", "e\u0301", "\u00e9", "\x1b[38m", "100%", "back\\slash", "*", "[ab]",
]
OWN = re.compile(r"^(submitted|autograded|feedback)$")
HIDDEN_BLOCK = re.compile(r"### BEGIN HIDDEN TESTS(.*?)### END HIDDEN TESTS", re.DOTALL)


# ---------------------------------------------------------------------------------------
# The built course and the assignments' notebooks
# ---------------------------------------------------------------------------------------

_PRISTINE: dict[str, Path] = {}


def built_course(root: Path, names: list[str] | None = None) -> Path:
    """The five real assignments built once per process under ``root`` (release,
    solutions, source); returns that pristine course. Copy it before grading in it."""
    names = list(names or ASSIGNMENTS)
    key = ",".join(names)
    if key not in _PRISTINE:
        from autograder import course as course_mod

        course = Path(root) / "pristine-course"
        course_mod.build(course, names)
        _PRISTINE[key] = course
    return _PRISTINE[key]


def copy_course(pristine: Path, dest: Path) -> Path:
    """A fresh copy of a built course (nbgrader_config.py names its own root)."""
    shutil.copytree(pristine, dest, symlinks=True)
    config = dest / "nbgrader_config.py"
    config.write_text(config.read_text().replace(str(pristine), str(dest)))
    return dest


def _src(cell) -> str:
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else str(s)


def _nbmeta(cell) -> dict:
    m = cell.get("metadata", {})
    m = m.get("nbgrader", {}) if isinstance(m, dict) else {}
    return m if isinstance(m, dict) else {}


@dataclass
class Material:
    """What the generator derives students from: the real notebooks of one assignment."""

    name: str
    release: dict
    solution: dict
    release_bytes: bytes
    solution_bytes: bytes
    hidden_lines: list[str]

    @classmethod
    def load(cls, course: Path, name: str) -> Material:
        rel = (course / "release" / name / f"{name}.ipynb").read_bytes()
        sol = (course / "solutions" / name / f"{name}.ipynb").read_bytes()
        source = json.loads((course / "source" / name / f"{name}.ipynb").read_text())
        release, solution = json.loads(rel), json.loads(sol)
        shown = "\n".join(_src(c) for nb in (release, solution) for c in nb["cells"])
        hidden = []     # lines of the hidden tests that students never see elsewhere
        for cell in source["cells"]:
            for block in HIDDEN_BLOCK.findall(_src(cell)):
                hidden += [ln.strip() for ln in block.splitlines()
                           if len(ln.strip()) >= 25 and "(" in ln and ln.strip() not in shown]
        return cls(name, release, solution, rel, sol, hidden)

    def base(self, kind: str) -> dict:
        if kind == "reference":
            return copy.deepcopy(self.solution)
        if kind == "blank":
            return copy.deepcopy(self.release)
        return self.partial()

    def base_bytes(self, kind: str) -> bytes:
        if kind == "reference":
            return self.solution_bytes
        if kind == "blank":
            return self.release_bytes
        return json.dumps(self.partial(), indent=1).encode()

    def partial(self) -> dict:
        """Every second answer cell solved (as autograder.samples does)."""
        released = {_nbmeta(c).get("grade_id"): c for c in self.release["cells"]}
        nb = copy.deepcopy(self.solution)
        answers = [c for c in nb["cells"] if _nbmeta(c).get("solution")
                   and c["cell_type"] == "code"]
        for i, cell in enumerate(answers):
            gid = _nbmeta(cell).get("grade_id")
            if i % 2 == 1 and gid in released:
                cell["source"] = copy.deepcopy(released[gid]["source"])
        return nb


# ---------------------------------------------------------------------------------------
# One student being generated
# ---------------------------------------------------------------------------------------

@dataclass
class Symlink:
    target: str


@dataclass
class Draft:
    """A mutant under construction: the notebook, the other files of its folder (paths
    relative to the student's folder), byte-level edits applied after serialization."""

    assignment: str
    nb: dict
    marker: str
    notebook_path: str = ""
    files: dict = field(default_factory=dict)
    raw: list = field(default_factory=list)          # (placeholder bytes, replacement)
    v3: bool = False
    no_notebook: bool = False

    def __post_init__(self):
        self.notebook_path = self.notebook_path or f"{self.assignment}/{self.assignment}.ipynb"

    def cells(self, kind=None, role=None) -> list[int]:
        """Indices of cells of a type and nbgrader role (answer, test, setup, given, plain)."""
        out = []
        for i, c in enumerate(self.nb["cells"]):
            if not isinstance(c, dict):
                continue
            if kind and c.get("cell_type") != kind:
                continue
            if role and _role(c) != role:
                continue
            out.append(i)
        return out

    def serialize(self) -> bytes:
        nb = self.nb
        if self.v3:
            import warnings

            import nbformat

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                v4 = nbformat.reads(json.dumps(nb), as_version=4)
                data = nbformat.writes(nbformat.convert(v4, 3), version=3).encode()
        else:
            data = json.dumps(nb, indent=1).encode()
        for placeholder, replacement in self.raw:
            data = data.replace(placeholder, replacement)
        return data


def _role(cell) -> str:
    m = _nbmeta(cell)
    if m.get("solution"):
        return "answer"
    if m.get("grade"):
        return "test"
    gid = str(m.get("grade_id", ""))
    if gid.startswith("setup"):
        return "setup"
    if m.get("locked"):
        return "given"
    return "plain"


def _cell_id(source) -> str:
    """A cell id derived from the cell's text (the generator stays deterministic)."""
    return hashlib.sha1(repr(source).encode("utf-8", "surrogatepass")).hexdigest()[:8]


def _code(source, **meta) -> dict:
    return {"cell_type": "code", "execution_count": None, "id": _cell_id(source),
            "metadata": meta, "outputs": [], "source": source}


def _md(source, **extra) -> dict:
    return {"cell_type": "markdown", "id": _cell_id(source), "metadata": {},
            "source": source, **extra}


def _defined_functions(code: str) -> list[str]:
    import ast

    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    return [n.name for n in tree.body if isinstance(n, ast.FunctionDef)
            and not n.name.startswith("_")]


def _pick(rng: random.Random, seq):
    return seq[rng.randrange(len(seq))] if seq else None


def _text(rng: random.Random, pool=None) -> str:
    pool = pool or (MARKERS + ANSI)
    sep = rng.choice(["", " ", "\n"])
    return sep.join(_pick(rng, pool) for _ in range(rng.randint(1, 3)))


# ---------------------------------------------------------------------------------------
# Mutations: each returns a short description, or None when it does not apply
# ---------------------------------------------------------------------------------------

def m_marker_answer_comment(rng, d):
    i = _pick(rng, d.cells("code", "answer"))
    if i is None:
        return None
    # `### BEGIN ...` stays a bare line (a comment already); other text gets a "# ".
    text = "\n".join(ln if ln.lstrip().startswith("#") else "# " + ln
                     for ln in _text(rng, MARKERS).splitlines())
    cell = d.nb["cells"][i]
    lines = _src(cell).splitlines(keepends=True)
    at = rng.randrange(len(lines) + 1)
    if at < len(lines):           # keep the indentation of the line it goes before
        indent = re.match(r"[ \t]*", lines[at]).group(0)
        text = "\n".join(indent + ln.strip() for ln in text.splitlines())
    cell["source"] = "".join(lines[:at]) + text + "\n" + "".join(lines[at:])
    return f"comment {text!r} in {_nbmeta(cell).get('grade_id')}"


def m_marker_answer_string(rng, d):
    i = _pick(rng, d.cells("code", "answer"))
    if i is None:
        return None
    text = _text(rng, MARKERS)
    cell = d.nb["cells"][i]
    form = rng.choice(["assign", "docstring-like", "print"])
    if form == "assign":
        add = f"_fz_note = {text!r}\n"
    elif form == "docstring-like":
        add = '_fz_doc = """\n' + text.replace("\\", "\\\\").replace('"""', "'''") + '\n"""\n'
    else:
        add = f"print({text!r})\n"
    cell["source"] = _src(cell) + "\n" + add
    return f"{form} {text!r} in {_nbmeta(cell).get('grade_id')}"


def _wrap_calls(d, i, body: str) -> str | None:
    cell = d.nb["cells"][i]
    names = _defined_functions(_src(cell))
    if not names:
        return None
    cell["source"] = _src(cell) + f'''

import functools as _fz_functools
def _fz_wrap(_fz_f):
    @_fz_functools.wraps(_fz_f)
    def _fz_call(*args, **kwargs):
{body}
        return _fz_f(*args, **kwargs)
    return _fz_call
for _fz_name in {names!r}:
    globals()[_fz_name] = _fz_wrap(globals()[_fz_name])
'''
    return ",".join(names)


def m_print_in_calls(rng, d):
    i = _pick(rng, d.cells("code", "answer"))
    if i is None:
        return None
    text = _text(rng)
    body = (f"        print({text!r})\n        import sys as _fz_sys\n"
            f"        print({_text(rng)!r}, file=_fz_sys.stderr)")
    names = _wrap_calls(d, i, body)
    return names and f"{names} print {text!r} on every call"


def m_raise_in_calls(rng, d):
    i = _pick(rng, d.cells("code", "answer"))
    if i is None:
        return None
    text = _text(rng)
    exc = rng.choice(["ValueError", "RuntimeError", "AssertionError", "KeyError"])
    names = _wrap_calls(d, i, f"        raise {exc}({text!r})")
    return names and f"{names} raise {exc}({text!r})"


def m_print_cell(rng, d):
    text = _text(rng)
    code = f"import sys\nprint({text!r})\nprint({_text(rng)!r}, file=sys.stderr)\n" \
           f"print({text!r} * 50, end='')"
    at = rng.randrange(1, len(d.nb["cells"]) + 1)
    d.nb["cells"].insert(at, _code(code))
    return f"a cell prints {text!r}"


def m_error_cell(rng, d):
    text = _text(rng)
    exc = rng.choice(["ValueError", "RuntimeError", "Exception", "SyntaxError"])
    code = rng.choice([f"raise {exc}({text!r})", f"assert False, {text!r}",
                       f"undefined_name  # {text!r}"])
    at = rng.randrange(1, len(d.nb["cells"]) + 1)
    d.nb["cells"].insert(at, _code(code))
    return f"a cell fails: {code!r}"


def m_marker_markdown(rng, d):
    text = _text(rng, MARKERS + ["```python\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n```"])
    mds = d.cells("markdown")
    if mds and rng.random() < 0.5:
        cell = d.nb["cells"][_pick(rng, mds)]
        cell["source"] = _src(cell) + "\n\n" + text
        return f"markdown + {text!r}"
    d.nb["cells"].insert(rng.randrange(len(d.nb["cells"]) + 1), _md(text))
    return f"new markdown {text!r}"


def m_marker_raw(rng, d):
    text = _text(rng, MARKERS)
    d.nb["cells"].insert(rng.randrange(len(d.nb["cells"]) + 1),
                         {"cell_type": "raw", "id": _cell_id(text), "metadata": {},
                          "source": text})
    return f"raw cell {text!r}"


def _outputs(rng, text):
    kinds = [
        {"output_type": "stream", "name": rng.choice(["stdout", "stderr"]), "text": text},
        {"output_type": "execute_result", "execution_count": 3, "metadata": {},
         "data": {"text/plain": text, "text/html": f"<pre>{text}</pre><script>alert(1)</script>"}},
        {"output_type": "display_data", "metadata": {text: text},
         "data": {"text/markdown": text, "application/javascript": "alert(1)"}},
        {"output_type": "error", "ename": text, "evalue": text, "traceback": [text, text]},
    ]
    return rng.sample(kinds, rng.randint(1, len(kinds)))


def m_marker_outputs(rng, d):
    i = _pick(rng, d.cells("code"))
    if i is None:
        return None
    text = _text(rng)
    d.nb["cells"][i]["outputs"] = _outputs(rng, text)
    d.nb["cells"][i]["execution_count"] = rng.choice([1, None, 10**6])
    return f"outputs of {_role(d.nb['cells'][i])} cell hold {text!r}"


def m_marker_cell_metadata(rng, d):
    i = _pick(rng, d.cells())
    text = _text(rng)
    meta = d.nb["cells"][i].setdefault("metadata", {})
    meta[text] = text
    meta.setdefault("tags", []).append(text)
    meta["jupyter"] = {"source_hidden": True, "outputs_hidden": True}
    return f"cell metadata of {_role(d.nb['cells'][i])} cell holds {text!r}"


def m_marker_nb_metadata(rng, d):
    text = _text(rng)
    d.nb.setdefault("metadata", {})[text] = {"nbgrader": text, "x": [text]}
    d.nb["metadata"]["title"] = text
    return f"notebook metadata holds {text!r}"


def m_marker_test_cell(rng, d):
    i = _pick(rng, d.cells("code", "test"))
    if i is None:
        return None
    text = _text(rng, MARKERS)
    cell = d.nb["cells"][i]
    cell["source"] = _src(cell) + "\n" + "\n".join("# " + t for t in text.splitlines()) + \
        f"\nprint({text!r})\n"
    return f"visible test {_nbmeta(cell).get('grade_id')} edited with {text!r}"


def m_marker_in_grade_id(rng, d):
    i = _pick(rng, d.cells("code", "answer") + d.cells("code", "test"))
    if i is None:
        return None
    text = _pick(rng, MARKERS)
    d.nb["cells"][i]["metadata"]["nbgrader"]["grade_id"] = text
    return f"grade_id of a {_role(d.nb['cells'][i])} cell set to {text!r}"


def m_ansi_markdown(rng, d):
    text = _text(rng, ANSI)
    d.nb["cells"].insert(rng.randrange(len(d.nb["cells"]) + 1), _md("control " + text))
    return f"markdown with {text!r}"


def m_cell_type(rng, d):
    i = _pick(rng, d.cells())
    cell = d.nb["cells"][i]
    old = cell.get("cell_type")
    new = rng.choice([k for k in ("code", "markdown", "raw") if k != old])
    role = _role(cell)
    cell["cell_type"] = new
    if new == "code":
        cell.setdefault("outputs", [])
        cell.setdefault("execution_count", None)
    else:
        cell.pop("outputs", None)
        cell.pop("execution_count", None)
    return f"{role} {old} cell -> {new}"


def m_move(rng, d):
    cells = d.nb["cells"]
    i = rng.randrange(len(cells))
    cell = cells.pop(i)
    j = rng.randrange(len(cells) + 1)
    cells.insert(j, cell)
    return f"{_role(cell)} cell {i} moved to {j}"


def m_duplicate_adjacent(rng, d):
    i = rng.randrange(len(d.nb["cells"]))
    cell = d.nb["cells"][i]
    if _nbmeta(cell).get("grade_id") == "answer_train_digits":
        return None                               # trains twice: slow, nothing new
    d.nb["cells"].insert(i + 1, copy.deepcopy(cell))
    return f"{_role(cell)} cell {i} duplicated in place (same id and metadata)"


def m_duplicate_elsewhere(rng, d):
    i = rng.randrange(len(d.nb["cells"]))
    cell = copy.deepcopy(d.nb["cells"][i])
    j = rng.randrange(len(d.nb["cells"]) + 1)
    d.nb["cells"].insert(j, cell)
    return f"{_role(cell)} cell {i} copied to {j}"


def m_delete_tests(rng, d):
    tests = d.cells("code", "test")
    if not tests:
        return None
    gone = rng.sample(tests, rng.randint(1, len(tests)))
    d.nb["cells"] = [c for k, c in enumerate(d.nb["cells"]) if k not in gone]
    return f"{len(gone)} test cells deleted"


def m_delete_markdown(rng, d):
    mds = d.cells("markdown")
    if not mds:
        return None
    gone = set(rng.sample(mds, rng.randint(1, len(mds))))
    d.nb["cells"] = [c for k, c in enumerate(d.nb["cells"]) if k not in gone]
    return f"{len(gone)} markdown cells deleted"


def m_delete_any(rng, d):
    i = rng.randrange(len(d.nb["cells"]))
    cell = d.nb["cells"].pop(i)
    return f"{_role(cell)} cell {i} ({_nbmeta(cell).get('grade_id')}) deleted"


def m_merge(rng, d):
    cells = d.nb["cells"]
    if len(cells) < 2:
        return None
    i = rng.randrange(len(cells) - 1)
    a, b = cells[i], cells.pop(i + 1)
    a["source"] = _src(a) + "\n" + _src(b)
    return f"{_role(a)} cell {i} merged with the {_role(b)} cell after it"


def m_merge_markdown(rng, d):
    cells = d.nb["cells"]
    pairs = [i for i in range(len(cells) - 1) if cells[i].get("cell_type") == "markdown"
             and cells[i + 1].get("cell_type") == "markdown" and _role(cells[i]) == "plain"
             and _role(cells[i + 1]) == "plain"]
    if not pairs:
        # make a pair: split the first markdown cell
        mds = [i for i in d.cells("markdown") if _role(cells[i]) == "plain"]
        if not mds:
            return None
        i = mds[0]
        cells.insert(i + 1, _md("(continued)"))
        pairs = [i]
    i = _pick(rng, pairs)
    cells[i]["source"] = _src(cells[i]) + "\n\n" + _src(cells.pop(i + 1))
    return f"markdown cells {i} and {i + 1} merged"


def m_source_lines(rng, d):
    """Sources stored the other way (a list of lines <-> one string)."""
    for cell in d.nb["cells"]:
        src = cell.get("source", "")
        cell["source"] = "".join(src) if isinstance(src, list) else \
            src.splitlines(keepends=True)
    return "every source stored the other way (list of lines / one string)"


def m_remove_ids(rng, d):
    for cell in d.nb["cells"]:
        cell.pop("id", None)
    return "no cell ids (nbformat 4.5)"


def m_duplicate_ids(rng, d):
    ids = [c.get("id") for c in d.nb["cells"] if c.get("id")]
    same = rng.choice(ids) if ids else "x"
    for k in rng.sample(range(len(d.nb["cells"])), min(len(d.nb["cells"]), rng.randint(2, 6))):
        d.nb["cells"][k]["id"] = same
    return f"several cells share the id {same!r}"


def m_bad_ids(rng, d):
    bad = rng.choice(["", "has space", "x" * 300, "../../etc", "é", 42, None, ["a"],
                      "### BEGIN SOLUTION"])
    for k in rng.sample(range(len(d.nb["cells"])), min(3, len(d.nb["cells"]))):
        d.nb["cells"][k]["id"] = bad
    return f"cell ids {bad!r}"


def m_remove_grade_id(rng, d):
    i = _pick(rng, [k for k in d.cells() if _nbmeta(d.nb["cells"][k])])
    if i is None:
        return None
    cell = d.nb["cells"][i]
    old = cell["metadata"]["nbgrader"].pop("grade_id", None)
    if rng.random() < 0.5:
        cell["metadata"].pop("nbgrader")
    return f"nbgrader metadata of {old} removed"


def m_duplicate_grade_id(rng, d):
    i = _pick(rng, [k for k in d.cells() if _nbmeta(d.nb["cells"][k])])
    if i is None:
        return None
    meta = copy.deepcopy(d.nb["cells"][i]["metadata"]["nbgrader"])
    new = rng.choice([_md("a claim"), _code("pass  # a claim"),
                      _code(_src(d.nb["cells"][i]))])
    new["metadata"]["nbgrader"] = meta
    d.nb["cells"].insert(rng.randrange(len(d.nb["cells"]) + 1), new)
    return f"a {new['cell_type']} cell also claims {meta.get('grade_id')}"


def m_collide_grade_id(rng, d):
    ids = [k for k in d.cells() if _nbmeta(d.nb["cells"][k]).get("grade_id")]
    if len(ids) < 2:
        return None
    a, b = rng.sample(ids, 2)
    gid = _nbmeta(d.nb["cells"][b])["grade_id"]
    d.nb["cells"][a]["metadata"]["nbgrader"]["grade_id"] = gid
    return f"{_role(d.nb['cells'][a])} cell takes the grade_id {gid}"


def m_garbage_nbgrader(rng, d):
    i = _pick(rng, d.cells())
    junk = rng.choice([{"grade": "yes", "points": "ten", "grade_id": 5},
                       {"grade": True, "points": 1e308, "grade_id": "test_bonus",
                        "solution": False, "locked": True},
                       {"grade_id": None, "schema_version": 99},
                       {"points": -100, "grade": True, "grade_id": "neg"}, "nbgrader", [1, 2]])
    d.nb["cells"][i].setdefault("metadata", {})["nbgrader"] = junk
    return f"nbgrader metadata {junk!r}"


def m_minor(rng, d):
    minor = rng.randrange(0, 6)
    keep_ids = rng.random() < 0.3
    d.nb["nbformat"], d.nb["nbformat_minor"] = 4, minor
    if minor < 5 and not keep_ids:
        for cell in d.nb["cells"]:
            cell.pop("id", None)
    return f"nbformat 4.{minor}" + (" with ids" if keep_ids and minor < 5 else "")


def m_v3(rng, d):
    d.v3 = True
    return "nbformat 3 (worksheets)"


def m_odd_nbformat(rng, d):
    value = rng.choice([5, 3, "4", None, 4.5, -1])
    if value is None:
        d.nb.pop("nbformat", None)
    else:
        d.nb["nbformat"] = value
    return f"nbformat {value!r}"


def m_no_kernelspec(rng, d):
    meta = d.nb.setdefault("metadata", {})
    what = rng.choice(["no kernelspec", "R kernelspec", "no metadata", "kernelspec null"])
    if what == "no kernelspec":
        meta.pop("kernelspec", None)
        meta.pop("language_info", None)
    elif what == "R kernelspec":
        meta["kernelspec"] = {"name": "ir", "display_name": "R", "language": "R"}
        meta["language_info"] = {"name": "R"}
    elif what == "no metadata":
        d.nb.pop("metadata", None)
    else:
        meta["kernelspec"] = None
    return what


def m_non_utf8(rng, d):
    bad = rng.choice([b"\xff\xfe", b"caf\xe9", b"\xc0\x80", b"\xed\xa0\x80", b"\x80" * 10])
    d.nb["cells"].insert(rng.randrange(len(d.nb["cells"]) + 1), _md("FZ_RAW_BYTES"))
    d.raw.append((b"FZ_RAW_BYTES", bad))
    return f"bytes {bad!r} (not UTF-8) in a markdown cell"


def m_nul(rng, d):
    where = rng.choice(["markdown", "comment", "string"])
    if where == "markdown":
        d.nb["cells"].append(_md("nul \x00 here"))
    else:
        i = _pick(rng, d.cells("code", "answer"))
        if i is None:
            return None
        cell = d.nb["cells"][i]
        add = "# nul \x00 here" if where == "comment" else "_fz_nul = 'a\x00b'"
        cell["source"] = _src(cell) + "\n" + add + "\n"
    return f"NUL in a {where}"


def m_surrogates(rng, d):
    where = rng.choice(["markdown", "comment", "print", "metadata", "output"])
    s = rng.choice(["\ud800", "\udfff", "\udbff\ud7ff", "x\udc80y"])
    if where == "markdown":
        d.nb["cells"].append(_md(f"lone {s} surrogate"))
    elif where == "metadata":
        d.nb.setdefault("metadata", {})["fz"] = s
    elif where == "output":
        i = _pick(rng, d.cells("code"))
        d.nb["cells"][i]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": s}]
    else:
        i = _pick(rng, d.cells("code", "answer"))
        if i is None:
            return None
        cell = d.nb["cells"][i]
        add = f"# {s}" if where == "comment" else f"print('{s}')"
        cell["source"] = _src(cell) + "\n" + add + "\n"
    return f"lone surrogate {s!r} in a {where}"


def m_huge_string(rng, d):
    where = rng.choice(["markdown", "output", "metadata", "comment"])
    big = rng.choice(MARKERS) + rng.choice("x# =") * (10 * 1024 * 1024) + rng.choice(ANSI)
    if where == "markdown":
        d.nb["cells"].append(_md(big))
    elif where == "output":
        i = _pick(rng, d.cells("code"))
        d.nb["cells"][i]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": big}]
    elif where == "metadata":
        d.nb.setdefault("metadata", {})["big"] = big
    else:
        d.nb["cells"].append(_code("# " + big.replace("\n", " ").replace("\x00", "0")))
    return f"a 10 MB string in a {where}"


def m_nested_json(rng, d):
    depth = rng.choice([100, 990, 5000, 200_000])
    where = rng.choice(["cell metadata", "notebook metadata", "output"])
    if where == "cell metadata":
        d.nb["cells"][rng.randrange(len(d.nb["cells"]))].setdefault(
            "metadata", {})["deep"] = "FZ_NESTED"
    elif where == "notebook metadata":
        d.nb.setdefault("metadata", {})["deep"] = "FZ_NESTED"
    else:
        i = _pick(rng, d.cells("code"))
        d.nb["cells"][i]["outputs"] = [{"output_type": "display_data", "metadata": {},
                                        "data": {"application/json": "FZ_NESTED"}}]
    d.raw.append((b'"FZ_NESTED"', b"[" * depth + b"]" * depth))
    return f"JSON nested {depth} deep in {where}"


PNG = base64.b64encode(zlib.compress(b"\x00" * 64)).decode()


def m_attachments(rng, d):
    name = rng.choice(["plot.png", "../../../escape.png", "/etc/passwd", "### BEGIN SOLUTION.png",
                       "a b.png", "x" * 300 + ".png"])
    payload = rng.choice([PNG, "not base64 !!", "A" * 100_000])
    mime = rng.choice(["image/png", "text/html", "application/x-evil"])
    cell = _md(f"![pic](attachment:{name}) <img src='attachment:{name}'>",
               attachments={name: {mime: payload}})
    d.nb["cells"].insert(rng.randrange(len(d.nb["cells"]) + 1), cell)
    if rng.random() < 0.3:     # attachments are not allowed on code cells
        i = _pick(rng, d.cells("code"))
        d.nb["cells"][i]["attachments"] = {name: {mime: payload}}
    return f"attachment {name!r} ({mime})"


def m_extra_notebook(rng, d):
    name = rng.choice(["scratch.ipynb", "notes.ipynb", f"{d.assignment}-Copy1.ipynb",
                       "### END HIDDEN TESTS.ipynb"])
    d.files[f"{d.assignment}/{name}"] = json.dumps(
        {"cells": [_code("print('scratch')")], "metadata": {}, "nbformat": 4,
         "nbformat_minor": 5}).encode()
    return f"an extra notebook {name!r}"


def m_renamed(rng, d):
    name = rng.choice([f"{d.assignment} (1).ipynb", f"Copy of {d.assignment}.ipynb",
                       "submission.ipynb", f"{d.assignment.upper()}.ipynb",
                       "### BEGIN HIDDEN TESTS.ipynb", f"{d.assignment}.ipynb.ipynb",
                       "é名.ipynb"])
    d.notebook_path = f"{d.assignment}/{name}"
    return f"the only notebook is named {name!r}"


def m_two_notebooks(rng, d):
    d.notebook_path = f"{d.assignment}/mine.ipynb"
    d.files[f"{d.assignment}/other.ipynb"] = json.dumps(d.nb).encode()
    return "two notebooks, neither named as the assignment"


def m_checkpoints(rng, d):
    d.files[f"{d.assignment}/.ipynb_checkpoints/{d.assignment}-checkpoint.ipynb"] = \
        b'{"cells": [], "nbformat": 4, "nbformat_minor": 5, "metadata": {}}'
    return "a .ipynb_checkpoints copy"


def m_no_assignment_folder(rng, d):
    d.notebook_path = f"{d.assignment}.ipynb"
    return "the notebook directly in the student's folder"


def m_timestamp(rng, d):
    value = rng.choice([b"yesterday \x00", b"2024-13-45 99:99:99", b"\xff\xfe",
                        b"2024-01-01 10:00:00", b"### BEGIN SOLUTION", b"9" * 5000])
    d.files[f"{d.assignment}/timestamp.txt"] = value
    return f"timestamp.txt {value[:40]!r}"


def m_symlink_notebook(rng, d):
    target = rng.choice(["/etc/passwd", "../../../../source", "/dev/zero"])
    d.files[d.notebook_path] = Symlink(target)
    d.no_notebook = True
    return f"the notebook is a symbolic link to {target}"


def m_spawn(rng, d):
    d.nb["cells"].append(_code(f'''import os, subprocess
os.environ["HOSTILE_CORPUS"] = {d.marker!r}
subprocess.Popen(["sleep", "1000"])
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv("/bin/sleep", ["sleep", "1001"])
    os._exit(0)
'''))
    return "starts `sleep 1000` and a double-forked daemon"


def m_bom(rng, d):
    d.raw.append((b"{", b"\xef\xbb\xbf{"))     # the first "{" only matters; all are fine
    return "a UTF-8 byte-order mark (and more) in the file"


@dataclass
class Mutation:
    kind: str
    fn: object
    preserving: bool
    weight: float = 1.0


MUTATIONS = [
    Mutation("marker/answer-comment", m_marker_answer_comment, True, 3),
    Mutation("marker/answer-string", m_marker_answer_string, True, 2),
    Mutation("marker/markdown", m_marker_markdown, True, 2),
    Mutation("marker/raw-cell", m_marker_raw, True),
    Mutation("marker/outputs", m_marker_outputs, True, 1.5),
    Mutation("marker/cell-metadata", m_marker_cell_metadata, True),
    Mutation("marker/nb-metadata", m_marker_nb_metadata, True),
    Mutation("marker/test-cell", m_marker_test_cell, True),
    Mutation("marker/grade-id", m_marker_in_grade_id, False, 0.5),
    Mutation("output/print-in-calls", m_print_in_calls, True, 2),
    Mutation("output/raise-in-calls", m_raise_in_calls, False, 1.5),
    Mutation("output/print-cell", m_print_cell, True, 2),
    Mutation("output/error-cell", m_error_cell, True, 1.5),
    Mutation("output/ansi-markdown", m_ansi_markdown, True, 0.5),
    Mutation("cells/type-change", m_cell_type, False),
    Mutation("cells/move", m_move, False),
    Mutation("cells/duplicate-in-place", m_duplicate_adjacent, True),
    Mutation("cells/duplicate-elsewhere", m_duplicate_elsewhere, False),
    Mutation("cells/delete-tests", m_delete_tests, True),
    Mutation("cells/delete-markdown", m_delete_markdown, True, 0.5),
    Mutation("cells/delete-any", m_delete_any, False),
    Mutation("cells/merge", m_merge, False),
    Mutation("cells/merge-markdown", m_merge_markdown, True, 0.5),
    Mutation("cells/source-as-lines", m_source_lines, True, 0.5),
    Mutation("ids/no-cell-ids", m_remove_ids, True, 0.5),
    Mutation("ids/duplicate-cell-ids", m_duplicate_ids, True),
    Mutation("ids/bad-cell-ids", m_bad_ids, True),
    Mutation("ids/no-grade-id", m_remove_grade_id, False),
    Mutation("ids/duplicate-grade-id", m_duplicate_grade_id, False),
    Mutation("ids/colliding-grade-id", m_collide_grade_id, False),
    Mutation("ids/garbage-nbgrader-metadata", m_garbage_nbgrader, False),
    Mutation("format/nbformat-4.x", m_minor, True),
    Mutation("format/nbformat-3", m_v3, False, 0.7),
    Mutation("format/odd-nbformat", m_odd_nbformat, False, 0.5),
    Mutation("format/kernelspec", m_no_kernelspec, True),
    Mutation("text/not-utf8", m_non_utf8, False, 0.7),
    Mutation("text/nul", m_nul, False, 0.7),
    Mutation("text/lone-surrogates", m_surrogates, True),
    Mutation("text/10MB-string", m_huge_string, True, 0.4),
    Mutation("text/nested-json", m_nested_json, False, 0.7),
    Mutation("text/attachments", m_attachments, True),
    Mutation("text/bom", m_bom, False, 0.3),
    Mutation("files/extra-notebook", m_extra_notebook, True),
    Mutation("files/renamed-notebook", m_renamed, True),
    Mutation("files/two-notebooks", m_two_notebooks, False, 0.5),
    Mutation("files/checkpoints", m_checkpoints, True, 0.5),
    Mutation("files/no-assignment-folder", m_no_assignment_folder, False, 0.5),
    Mutation("files/timestamp", m_timestamp, True, 0.5),
    Mutation("files/symlinked-notebook", m_symlink_notebook, False, 0.3),
    Mutation("process/spawn", m_spawn, True, 0.5),
]
BY_KIND = {m.kind: m for m in MUTATIONS}
# Mutations that keep the row each on its own but not together: a renamed notebook next
# to an extra one is two notebooks, neither named as the assignment (which one is the
# submission cannot be told: "missing notebook", as for files/two-notebooks).
NOT_PRESERVING_TOGETHER = [{"files/renamed-notebook", "files/extra-notebook"}]
# The mutations that broke a whole class before issue 12: every generated class of the
# make-test sample has them.
FIRST = ("marker/answer-comment", "output/print-cell")


# ---------------------------------------------------------------------------------------
# A class
# ---------------------------------------------------------------------------------------

@dataclass
class Student:
    student_id: str
    base: str                       # reference, blank or partial
    mutations: list                 # [(kind, description)]
    files: dict                     # path relative to the student's folder -> bytes | Symlink
    nameable: bool = True           # the grader can name it: it must have one row
    preserving: bool = True         # its row must be its base's clean row
    flat: bool = False              # in a zip: <student>_<name>.ipynb at the top
    duplicate: bytes | None = None  # in a zip: a second entry with its notebook's name
    attack: str = ""                # an attack of attack_corpus: its outcome is checked

    @property
    def clean(self) -> bool:
        return not self.mutations

    @property
    def kinds(self) -> list[str]:
        return [k for k, _ in self.mutations]


@dataclass
class ZipEntry:
    name: str
    data: bytes | None              # None: a symbolic link entry (target in link)
    link: str = ""
    kind: str = ""


@dataclass
class GeneratedClass:
    assignment: str
    seed: int
    marker: str
    students: list
    layout: str = "folders"         # folders | zip
    zip_kinds: list = field(default_factory=list)     # [(kind, description)]
    extra_entries: list = field(default_factory=list)  # ZipEntry not owned by a student
    canaries: list = field(default_factory=list)       # paths that must not exist after
    raw_folders: list = field(default_factory=list)    # bytes names of odd folders

    def describe(self) -> str:
        lines = [f"class {self.assignment} seed={self.seed} layout={self.layout} "
                 f"{' '.join(k for k, _ in self.zip_kinds)}"]
        for s in self.students:
            what = "; ".join(f"{k}: {d}" for k, d in s.mutations) or "unmutated"
            lines.append(f"  {s.student_id!r} [{s.base}] {what}")
        for e in self.extra_entries:
            lines.append(f"  zip entry {e.name!r} ({e.kind})")
        return "\n".join(lines)

    # -- writing ---------------------------------------------------------------------
    def write(self, root: Path) -> Path:
        """Write the class under ``root`` (``subs/`` or ``subs.zip``); returns the path
        to give the grader."""
        if self.layout == "zip":
            return self._write_zip(root / "subs.zip")
        subs = root / "subs"
        subs.mkdir(parents=True)
        for s in self.students:
            folder = subs / s.student_id
            folder.mkdir(exist_ok=True)
            for rel, content in s.files.items():
                path = folder / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                if isinstance(content, Symlink):
                    path.symlink_to(content.target)
                else:
                    path.write_bytes(content)
        for raw in self.raw_folders:
            path = os.path.join(os.fsencode(subs), raw, os.fsencode(self.assignment))
            os.makedirs(path)
            with open(os.path.join(path, os.fsencode(f"{self.assignment}.ipynb")), "wb") as f:
                f.write(b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
        return subs

    def entries(self) -> list[ZipEntry]:
        out = []
        prefix = dict(self.zip_kinds).get("zip/top-folder", "")
        prefix = "export_2024/" if prefix else ""
        for s in self.students:
            for rel, content in s.files.items():
                if isinstance(content, Symlink):
                    out.append(ZipEntry(f"{prefix}{s.student_id}/{rel}", None, content.target,
                                        "symlink"))
                elif s.flat and rel.endswith(".ipynb"):
                    out.append(ZipEntry(f"{prefix}{s.student_id}_{Path(rel).name}", content))
                else:
                    out.append(ZipEntry(f"{prefix}{s.student_id}/{rel}", content))
                    if s.duplicate is not None and rel.endswith(".ipynb"):
                        out.append(ZipEntry(f"{prefix}{s.student_id}/{rel}", s.duplicate,
                                            kind="zip/duplicate-name"))
        return out + list(self.extra_entries)

    def _write_zip(self, path: Path) -> Path:
        import warnings

        path.parent.mkdir(parents=True, exist_ok=True)
        patches = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")          # "Duplicate name" is the point
            with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
                for e in self.entries():
                    info = zipfile.ZipInfo(e.name, date_time=(2024, 1, 1, 0, 0, 0))
                    info.compress_type = zipfile.ZIP_DEFLATED
                    if e.data is None:
                        info.external_attr = (stat.S_IFLNK | 0o777) << 16
                        info.create_system = 3
                        zf.writestr(info, e.link)
                        continue
                    info.external_attr = (stat.S_IFREG | 0o644) << 16
                    zf.writestr(info, e.data)
                    if e.kind in ("zip/lying-size", "zip/encrypted-flag"):
                        patches.append((e.kind, zf.infolist()[-1]))
        if patches:
            data = bytearray(path.read_bytes())
            for kind, info in patches:
                off = info.header_offset
                # The central-directory record of this entry: found by its offset field.
                central = data.find(b"PK\x01\x02")
                while central != -1:
                    if int.from_bytes(data[central + 42:central + 46], "little") == off:
                        break
                    central = data.find(b"PK\x01\x02", central + 4)
                if kind == "zip/lying-size":
                    data[off + 22:off + 26] = (1000).to_bytes(4, "little")
                    data[central + 24:central + 28] = (1000).to_bytes(4, "little")
                else:
                    data[off + 6] |= 1
                    data[central + 8] |= 1
            path.write_bytes(bytes(data))
        return path

    # -- who the grader must name ---------------------------------------------------
    def nameable_ids(self) -> set[str]:
        return {s.student_id for s in self.students if s.nameable}

    def all_ids(self) -> set[str]:
        ids = {s.student_id for s in self.students}
        for e in self.extra_entries:
            parts = [p for p in e.name.split("/") if p not in ("", ".", "..")]
            ids.update(parts)
            if parts and "_" in parts[-1]:
                ids.add(parts[-1].split("_", 1)[0])
        ids.update(os.fsdecode(r) for r in self.raw_folders)
        return ids


def _notebook_files(d: Draft) -> dict:
    files = dict(d.files)
    if not d.no_notebook:
        files[d.notebook_path] = d.serialize()
    return files


def make_student(rng: random.Random, material: Material, student_id: str, marker: str,
                 n_mutations: int, force: tuple = ()) -> Student:
    base = rng.choices(CLEAN_KINDS, weights=(6, 2, 2))[0]
    d = Draft(material.name, material.base(base), marker)
    done = []
    kinds = list(force)
    weights = [m.weight for m in MUTATIONS]
    while len(kinds) < n_mutations:
        kinds.append(rng.choices(MUTATIONS, weights=weights)[0].kind)
    attempts = 0
    for kind in kinds:
        while True:
            attempts += 1
            mutation = BY_KIND[kind]
            before = copy.deepcopy(d.__dict__) if attempts < 50 else None
            try:
                what = mutation.fn(rng, d)
            except (IndexError, ValueError, KeyError, TypeError, AttributeError):
                what = None
            if what:
                done.append((kind, what))
                break
            if before is not None:
                d.__dict__.update(before)
            kind = rng.choices(MUTATIONS, weights=weights)[0].kind
            if attempts > 60:
                break
    if d.v3:
        try:
            d.serialize()
        except Exception:  # noqa: BLE001 - the notebook is too broken for nbformat
            d.v3 = False
            done = [(k, w) for k, w in done if k != "format/nbformat-3"]
    kinds = {k for k, _ in done}
    preserving = all(BY_KIND[k].preserving for k in kinds) and \
        not any(pair <= kinds for pair in NOT_PRESERVING_TOGETHER)
    return Student(student_id, base, done, _notebook_files(d), preserving=preserving)


def clean_student(material: Material, student_id: str, base: str) -> Student:
    path = f"{material.name}/{material.name}.ipynb"
    return Student(student_id, base, [], {path: material.base_bytes(base)})


def attack_student(material: Material, kind: str) -> Student:
    """A student handing in one of the review's attacks (attack_corpus), built on the
    instructor's notebook; its row and artefacts are checked against the attack's
    expected outcome."""
    attack = attack_corpus.BY_KIND[kind]
    path = f"{material.name}/{material.name}.ipynb"
    data = attack_corpus.submission(kind, material.solution, material.name)
    sid = "attack_" + kind.split("/", 1)[1].replace("-", "_")
    return Student(sid, "reference", [(kind, attack.what)], {path: data},
                   preserving=False, attack=kind)


def generate_class(material: Material, seed: int, n_mutants: int = 5, *,
                   layout: str | None = None, force: tuple = FIRST,
                   clean: tuple = CLEAN_KINDS, attacks: tuple = ()) -> GeneratedClass:
    """A seeded class of ``len(clean)`` unmutated students and ``n_mutants`` mutants.
    ``force``: mutation kinds given to the first mutants (one each); ``attacks``: kinds
    of attack_corpus.ATTACKS, one student each (after the mutants, never renamed)."""
    rng = random.Random(f"{material.name}:{seed}")
    marker = f"fuzz-{uuid.UUID(int=rng.getrandbits(128)).hex[:12]}"
    students = [clean_student(material, f"clean_{base}", base) for base in clean]
    layout = layout or rng.choices(["folders", "zip"], weights=(2, 1))[0]
    for k in range(n_mutants):
        sid = f"mutant{k:02d}"
        forced = (force[k],) if k < len(force) else ()
        n = rng.choices([1, 2, 3, 4], weights=(4, 3, 2, 1))[0]
        students.append(make_student(rng, material, sid, marker, max(n, len(forced)), forced))
    gc = GeneratedClass(material.name, seed, marker, students, layout)
    # Odd student ids, on mutants (their rows are only required to exist).
    for s in students[len(clean):]:
        if rng.random() < 0.3:
            new = rng.choice(NASTY_IDS)
            if layout == "zip":
                new = new.replace("/", "_")
            if new not in {x.student_id for x in students}:
                s.mutations.append(("id/odd-student-id", f"student id {new!r}"))
                s.student_id, s.preserving = new, False
    if rng.random() < 0.15 and layout == "folders":
        a = next((s for s in students[len(clean):] if s.student_id.startswith("mutant")),
                 None)
        if a is not None:
            twin_id = unicodedata.normalize("NFD", "Jos\u00e9")
            a.student_id, a.preserving = "Jos\u00e9", False
            a.mutations.append(("id/unicode-twins", "ids 'José' (NFC) and 'José' (NFD)"))
            twin = clean_student(material, twin_id, "blank")
            twin.mutations = [("id/unicode-twins", "the NFD twin")]
            twin.preserving = False
            students.append(twin)
    if layout == "folders" and rng.random() < 0.1:
        gc.raw_folders.append(b"caf\xe9-latin1")
    if layout == "zip":
        _zip_mutations(rng, gc, material)
    students += [attack_student(material, kind) for kind in attacks]
    return gc


def _zip_mutations(rng: random.Random, gc: GeneratedClass, material: Material) -> None:
    a = material.name
    mutants = [s for s in gc.students if s.mutations]
    blank = material.release_bytes
    choices = ["zip/top-folder", "zip/flat", "zip/dotdot", "zip/absolute", "zip/symlink",
               "zip/duplicate-name", "zip/bomb", "zip/lying-size", "zip/encrypted-flag",
               "zip/dot-ids", "zip/dir-entries"]
    for kind in rng.sample(choices, rng.randint(2, 5)):
        if kind == "zip/top-folder":
            gc.zip_kinds.append((kind, "entries under one top folder"))
        elif kind == "zip/flat" and mutants:
            s = rng.choice(mutants)
            if "_" in s.student_id or "/" in s.student_id or not s.student_id.strip():
                continue
            if s.duplicate is not None:
                continue
            s.flat = True
            gc.zip_kinds.append((kind, f"{s.student_id}_<name>.ipynb (LMS naming)"))
        elif kind == "zip/dotdot":
            sid = f"escaper{rng.randrange(100)}"
            name = f"../../{gc.marker}-dotdot/{sid}/{a}/{a}.ipynb"
            gc.extra_entries.append(ZipEntry(name, blank, kind=kind))
            gc.extra_entries.append(ZipEntry(f"{sid}/../../../{gc.marker}-dotdot2.ipynb", blank,
                                             kind=kind))
            gc.canaries += [f"../{gc.marker}-dotdot", f"{gc.marker}-dotdot2.ipynb",
                            f"../../{gc.marker}-dotdot2.ipynb"]
            gc.zip_kinds.append((kind, name))
        elif kind == "zip/absolute":
            name = f"/tmp/{gc.marker}-abs/absolute/{a}/{a}.ipynb"
            gc.extra_entries.append(ZipEntry(name, blank, kind=kind))
            gc.canaries.append(f"/tmp/{gc.marker}-abs")
            gc.zip_kinds.append((kind, name))
        elif kind == "zip/symlink":
            sid = f"linker{rng.randrange(100)}"
            gc.extra_entries.append(ZipEntry(f"{sid}/{a}", None, f"/tmp/{gc.marker}-linkdir",
                                             kind))
            gc.extra_entries.append(ZipEntry(f"{sid}/{a}/{a}.ipynb", None, "/etc/passwd", kind))
            gc.extra_entries.append(ZipEntry(f"{sid}/{a}/{a}.ipynb", blank, kind=kind))
            gc.canaries.append(f"/tmp/{gc.marker}-linkdir")
            gc.students.append(Student(sid, "blank", [(kind, "symlink entries")], {},
                                       nameable=True, preserving=False))
            gc.zip_kinds.append((kind, f"{sid}: a folder link to /tmp, a link to /etc/passwd"))
        elif kind == "zip/duplicate-name" and mutants:
            s = rng.choice(mutants)
            nb = next((k for k in s.files if k.endswith(".ipynb")), None)
            if nb is None or s.flat or s.duplicate is not None:
                continue
            s.duplicate = material.solution_bytes
            s.preserving = False
            s.mutations.append((kind, "its notebook twice in the zip"))
            gc.zip_kinds.append((kind, s.student_id))
        elif kind == "zip/bomb":
            sid = "bomber"
            data = b'{"cells": [], "pad": "' + b" " * (60 * 1024 * 1024) + b'"}'
            gc.extra_entries.append(ZipEntry(f"{sid}/{a}/{a}.ipynb", data, kind=kind))
            gc.students.append(Student(sid, "blank", [(kind, "60 MB of spaces")], {},
                                       nameable=True, preserving=False))
            gc.zip_kinds.append((kind, "a 60 MB entry compressed to ~60 kB"))
        elif kind == "zip/lying-size":
            sid = "liar"
            data = b'{"cells": [], "pad": "' + b" " * (30 * 1024 * 1024) + b'"}'
            gc.extra_entries.append(ZipEntry(f"{sid}/{a}/{a}.ipynb", data, kind=kind))
            gc.students.append(Student(sid, "blank", [(kind, "30 MB entry said to be 1000 B")],
                                       {}, nameable=True, preserving=False))
            gc.zip_kinds.append((kind, "an entry whose header understates its size"))
        elif kind == "zip/encrypted-flag":
            sid = "locked"
            gc.extra_entries.append(ZipEntry(f"{sid}/{a}/{a}.ipynb", blank, kind=kind))
            gc.students.append(Student(sid, "blank", [(kind, "entry flagged as encrypted")],
                                       {}, nameable=True, preserving=False))
            gc.zip_kinds.append((kind, "an entry flagged as encrypted"))
        elif kind == "zip/dot-ids":
            for name in (f"../{a}/{a}.ipynb", f"./{a}/{a}.ipynb", f"/{a}/{a}.ipynb",
                         f"..\\..\\{gc.marker}-backslash.ipynb"):
                gc.extra_entries.append(ZipEntry(name, blank, kind=kind))
            gc.canaries.append(f"../{gc.marker}-backslash.ipynb")
            gc.zip_kinds.append((kind, "student ids '..', '.', '' and backslashes"))
        elif kind == "zip/dir-entries":
            for name in (f"dironly/{a}/", "dironly2/", f"weird/{a}/{a}.ipynb/"):
                gc.extra_entries.append(ZipEntry(name, b"", kind=kind))
            gc.zip_kinds.append((kind, "folder entries, one named like a notebook"))


# ---------------------------------------------------------------------------------------
# Running a class and checking the invariants
# ---------------------------------------------------------------------------------------

def _snapshot(root: Path) -> dict[str, tuple]:
    """path (relative) -> (type, digest) for every entry under root, links not followed."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", "")
            elif stat.S_ISREG(st.st_mode):
                h = hashlib.sha1()
                with open(path, "rb") as f:
                    for chunk in iter(lambda f=f: f.read(1 << 20), b""):
                        h.update(chunk)
                out[rel] = ("file", h.hexdigest())
            else:
                out[rel] = ("other", st.st_mode)
    return out


def _allowed(rel: str, assignment: str, ids: set[str]) -> bool:
    parts = Path(rel).parts
    top = parts[0]
    if top in ("grades", "downloaded") or rel.startswith("gradebook.db"):
        return True
    if OWN.match(top):
        if len(parts) == 1:
            return True
        if parts[1] not in ids:
            return False
        return len(parts) == 2 or parts[2] == assignment
    if top == "results":
        if len(parts) <= 2:
            return len(parts) == 1 or parts[1] == assignment
        return parts[1] == assignment and len(parts) == 3 and parts[2].endswith(".json") \
            and parts[2][:-5] in ids
    return False


def read_rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@dataclass
class Outcome:
    """One generated class graded: its rows, the invariants it broke, what it cost."""

    gc: GeneratedClass
    rows: list
    violations: list
    seconds: float
    returncode: int | None = None
    stdout: str = ""
    stderr: str = ""


def run_class(gc: GeneratedClass, pristine: Path, work: Path, baseline: dict, *,
              route: str = "cli", workers: int = 2, feedback: bool = True,
              limits: dict | None = None, timeout: float | None = None) -> Outcome:
    """Write ``gc`` into ``work`` next to a fresh copy of the course, grade it through
    the command line (``route="cli"``) or ``pipeline.grade_assignment`` (``"api"``), and
    check every invariant. ``baseline``: kind -> the clean run's row."""
    limits = limits or LIMITS
    work.mkdir(parents=True)
    course = copy_course(pristine, work / "course")
    subs = gc.write(work)
    cwd = work / "cwd"
    cwd.mkdir()
    outside = work / "outside"
    outside.mkdir()
    (outside / "canary.txt").write_text("untouched")
    course_before = _snapshot(course)
    subs_before = _snapshot(subs) if subs.is_dir() else {"": ("file", _digest(subs))}
    n = len(gc.students) + len(gc.extra_entries)
    timeout = timeout or 300 + n * (limits["submission_timeout"] + SLACK) / max(workers, 1)
    started = time.monotonic()
    rc, out, err, csv_path, violations = None, "", "", None, []
    if route == "cli":
        cmd = [sys.executable, "-m", "autograder", "--course", str(course), "grade",
               gc.assignment, str(subs), "--workers", str(workers), "--no-progress",
               "--timeout", str(limits["call_timeout"]),
               "--budget", str(limits["submission_timeout"]),
               "--memory", str(limits["memory_bytes"] // 1024**2)]
        if not feedback:
            cmd.append("--no-feedback")
        env = {**os.environ, "HOSTILE_CORPUS": gc.marker, "PYTHONPATH": str(REPO)}
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
        try:
            out_b, err_b = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out_b, err_b = proc.communicate()
            violations.append(f"time: the command ran over {timeout:.0f} s and was killed")
        rc = proc.returncode
        out, err = out_b.decode(errors="replace"), err_b.decode(errors="replace")
        lines = out.strip().splitlines()
        if lines and lines[-1].startswith("grades: "):
            csv_path = Path(lines[-1][len("grades: "):])
        else:
            tail = (err.strip().splitlines() or ["(no stderr)"])[-1][:300]
            violations.append(f"exit: no `grades:` line (exit status {rc}); stderr ends "
                              f"{tail!r}")
        if rc == 2 and len([ln for ln in err.splitlines() if ln.startswith("error:")]) != 1:
            violations.append("exit: status 2 without exactly one `error:` line")
    else:
        from autograder import pipeline

        try:
            csv_path = Path(pipeline.grade_assignment(
                course, gc.assignment, subs, workers=workers, limits=limits,
                progress=False, feedback=feedback))
        except Exception as exc:  # noqa: BLE001 - the invariant is that this never happens
            violations.append(f"exit: grade_assignment raised {type(exc).__name__}: "
                              f"{str(exc).strip().splitlines()[-1][:300] if str(exc) else ''}")
    seconds = time.monotonic() - started
    rows = []
    if csv_path is not None:
        try:
            rows = read_rows(csv_path)
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            violations.append(f"exit: the CSV {csv_path} cannot be read: {exc}")
    violations += check_class(gc, rows, baseline, course, course_before, subs, subs_before,
                              work, rc if route == "cli" else None, seconds, limits, workers,
                              have_csv=csv_path is not None, feedback=feedback)
    return Outcome(gc, rows, violations, seconds, rc, out, err)


def _marker_paths(gc: GeneratedClass, work: Path, course: Path) -> list[str]:
    """Paths named after the class's marker (as its hostile zip entries are) outside
    ``downloaded/``, where extraction may put them."""
    found = [str(p) for p in gc.canaries if p.startswith("/") and os.path.lexists(p)]
    for folder in {Path("/tmp"), work.parent}:
        found += [str(p) for p in folder.glob(f"*{gc.marker}*")]
    for dirpath, dirnames, filenames in os.walk(work):
        if Path(dirpath) == course / "downloaded":
            dirnames[:] = []
            continue
        found += [os.path.join(dirpath, n) for n in dirnames + filenames if gc.marker in n]
    return sorted(set(found))


def _digest(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


def check_class(gc, rows, baseline, course, course_before, subs, subs_before, work, rc,
                seconds, limits, workers, *, have_csv, feedback) -> list[str]:
    v = []
    by_id = defaultdict(list)
    for row in rows:
        by_id[row.get("student_id")].append(row)
    max_score = baseline["reference"]["max_score"]
    by_id = defaultdict(list, by_id)
    for s in gc.students:              # rows name students as the CSV shows ids (inert)
        if shown_id(s.student_id) != s.student_id and shown_id(s.student_id) in by_id:
            by_id[s.student_id] = by_id.pop(shown_id(s.student_id))
    # 1. one row per nameable student; known statuses; scores in range
    if have_csv:
        for s in gc.students:
            if s.nameable and len(by_id.get(s.student_id, [])) != 1:
                v.append(f"rows: {s.student_id!r} ({'; '.join(s.kinds) or 'unmutated'}) has "
                         f"{len(by_id.get(s.student_id, []))} rows")
        for sid, found in by_id.items():
            if len(found) > 1:
                v.append(f"rows: {sid!r} has {len(found)} rows")
        for row in rows:
            status = row.get("status", "")
            if status not in KNOWN_STATUSES:
                v.append(f"rows: {row.get('student_id')!r} has the unknown status {status!r}")
            try:
                score, mx = float(row["score"]), float(row["max_score"])
                if not (0 <= score <= mx) or mx != float(max_score):
                    v.append(f"rows: {row['student_id']!r} score {score}/{mx} (max "
                             f"{max_score})")
            except (KeyError, TypeError, ValueError):
                v.append(f"rows: {row.get('student_id')!r} has no numeric score: {row}")
    # 2. the unmutated and the preserving mutants get their base's clean row
    if have_csv:
        for s in gc.students:
            if not (s.clean or s.preserving) or len(by_id.get(s.student_id, [])) != 1:
                continue
            got, want = by_id[s.student_id][0], baseline[s.base]
            key = ("score", "max_score", "status")
            if tuple(float(got[k]) if k != "status" else got[k] for k in key) != \
                    tuple(float(want[k]) if k != "status" else want[k] for k in key):
                what = "; ".join(f"{k}: {d}" for k, d in s.mutations) or "unmutated"
                v.append(f"clean-row: {s.student_id!r} [{s.base}] ({what}) got "
                         f"{got['score']} {got['status']!r} ({got.get('message', '')[:200]!r}), "
                         f"a clean run gives {want['score']} {want['status']!r}")
    # 2b. each attack gets its expected outcome (attack_corpus)
    if have_csv:
        for s in gc.students:
            if not s.attack or len(by_id.get(s.student_id, [])) != 1:
                continue
            graded = attack_corpus.Graded(gc.assignment, s.student_id, by_id[s.student_id][0],
                                          baseline["reference"], course,
                                          baseline["_solution"], feedback)
            v += [f"attack: {s.student_id!r} ({s.attack}): {text}"
                  for text in attack_corpus.BY_KIND[s.attack].expect(graded)]
    # 3. the course changes only where it may; nothing else is written
    ids = gc.all_ids() | set(by_id)
    after = _snapshot(course)
    changed = {p for p in set(after) | set(course_before)
               if after.get(p) != course_before.get(p)}
    bad = sorted(p for p in changed if not _allowed(p, gc.assignment, ids))
    if bad:
        v.append(f"course: changed outside the students' folders: {bad[:5]}")
    subs_after = _snapshot(subs) if subs.is_dir() else {"": ("file", _digest(subs))}
    if subs_after != subs_before:
        diff = sorted(p for p in set(subs_after) | set(subs_before)
                      if subs_after.get(p) != subs_before.get(p))
        v.append(f"outside: the submissions were modified: {diff[:5]}")
    extra = sorted(set(os.listdir(work)) - {"course", "subs", "subs.zip", "cwd", "outside"})
    if extra:
        v.append(f"outside: written next to the course: {extra}")
    if os.listdir(work / "cwd"):
        v.append(f"outside: written in the working directory: {os.listdir(work / 'cwd')}")
    if (work / "outside" / "canary.txt").read_text() != "untouched" or \
            len(os.listdir(work / "outside")) != 1:
        v.append("outside: the canary folder changed")
    for p in _marker_paths(gc, work, course):
        v.append(f"outside: a zip entry wrote {p}")
    # 4. no process survives
    time.sleep(0.3)
    left = [p for p in leftover_processes(gc.marker) if not p.startswith(f"{os.getpid()}:")]
    if left:
        v.append(f"process: {len(left)} still running: {left[:3]}")
    # 5. time
    results = course / "results" / gc.assignment
    if results.is_dir():
        for f in results.glob("*.json"):
            try:
                secs = json.loads(f.read_text()).get("seconds")
            except (ValueError, OSError):
                continue
            if isinstance(secs, (int, float)) and secs > limits["submission_timeout"] + SLACK:
                v.append(f"time: {f.stem!r} took {secs:.0f} s (budget "
                         f"{limits['submission_timeout']:.0f} s)")
    n = len(gc.students) + len(gc.extra_entries)
    bound = 120 + n * (limits["submission_timeout"] + SLACK) / max(workers, 1)
    if seconds > bound:
        v.append(f"time: the class took {seconds:.0f} s (bound {bound:.0f} s)")
    # 6. exit status
    if rc is not None and have_csv:
        expected = 0 if rows and all(r.get("status") == GRADED for r in rows) else 1
        if rc != expected:
            v.append(f"exit: status {rc}, expected {expected} for these rows")
    # 7. the feedback never shows hidden tests' code; the clean students get one
    hidden = baseline.get("_hidden_lines", [])
    fb = course / "feedback"
    if feedback and fb.is_dir() and hidden:
        for page in fb.glob(f"*/{gc.assignment}/*.html"):
            text = html.unescape(re.sub(r"<[^>]+>", "", page.read_text(errors="replace")))
            leaked = [ln for ln in hidden if ln in text]
            if leaked:
                v.append(f"feedback: {page.parent.parent.name!r}'s page shows hidden test "
                         f"code: {leaked[0]!r}")
    if feedback and have_csv:
        for s in gc.students:
            if s.clean and not (fb / s.student_id / gc.assignment /
                                f"{gc.assignment}.html").is_file():
                v.append(f"feedback: no page for the unmutated {s.student_id!r}")
    return v


def clean_baseline(pristine: Path, material: Material, work: Path,
                   limits: dict | None = None) -> dict:
    """The rows of reference, blank and partial graded alone (a clean run)."""
    from autograder import pipeline

    work.mkdir(parents=True)
    course = copy_course(pristine, work / "course")
    subs = work / "subs"
    for base in CLEAN_KINDS:
        path = subs / base / material.name / f"{material.name}.ipynb"
        path.parent.mkdir(parents=True)
        path.write_bytes(material.base_bytes(base))
    csv_path = pipeline.grade_assignment(course, material.name, subs, workers=2,
                                         limits=limits or LIMITS, progress=False,
                                         feedback=False)
    rows = {r["student_id"]: r for r in read_rows(Path(csv_path))}
    out = {base: rows[base] for base in CLEAN_KINDS}
    out["_hidden_lines"] = material.hidden_lines
    out["_solution"] = material.solution
    return out


def baseline_rows(baseline: dict) -> dict:
    return {k: v for k, v in baseline.items() if not k.startswith("_")}


# ---------------------------------------------------------------------------------------
# The long run (make fuzz) and its table
# ---------------------------------------------------------------------------------------

class Tally:
    def __init__(self):
        self.kinds = defaultdict(Counter)      # kind -> status counts (+ "violations")
        self.classes = Counter()
        self.violations = []                   # (assignment, seed, text)
        self.seconds = defaultdict(float)
        self.students = Counter()

    def add(self, outcome: Outcome):
        gc = outcome.gc
        a = gc.assignment
        self.classes[a] += 1
        self.seconds[a] += outcome.seconds
        by_id = {r.get("student_id"): r for r in outcome.rows}
        for s in gc.students:
            self.students[a] += 1
            status = by_id.get(s.student_id, {}).get("status", "(no row)")
            bad = any(repr(s.student_id) in x for x in outcome.violations)
            for kind in set(s.kinds) or {"(unmutated)"}:
                self.kinds[kind][status] += 1
                self.kinds[kind]["n"] += 1
                if bad:
                    self.kinds[kind]["violations"] += 1
        for kind, _ in gc.zip_kinds:
            self.kinds[kind]["n"] += 1
            self.kinds[kind]["classes with violations"] += bool(outcome.violations)
        for text in outcome.violations:
            self.violations.append((a, gc.seed, text))

    def table(self) -> str:
        statuses = ["graded", "feedback failed", "invalid notebook", "missing notebook",
                    "crashed", "timed out", "grader error", "(no row)"]
        head = ["mutation", "n"] + statuses + ["violations"]
        lines = []
        rows = []
        for kind in sorted(self.kinds):
            c = self.kinds[kind]
            rows.append([kind, str(c["n"])] + [str(c[s] or "") for s in statuses] +
                        [str(c["violations"] or c["classes with violations"] or "")])
        widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
        lines.append("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)))
        lines.append("  ".join("-" * w for w in widths))
        lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
        lines.append("")
        for a in sorted(self.classes):
            lines.append(f"{a}: {self.classes[a]} classes, {self.students[a]} students, "
                         f"{self.seconds[a]:.0f} s")
        kinds = Counter(re.match(r"[a-z-]+", t).group(0) for _, _, t in self.violations)
        lines.append(f"invariant violations: {len(self.violations)} "
                     f"({', '.join(f'{k} {n}' for k, n in kinds.most_common()) or 'none'})")
        return "\n".join(lines)


def _main(argv=None) -> int:
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(description="Grade generated classes of the real "
                                     "assignments and check the invariants (make fuzz).")
    parser.add_argument("--classes", type=int, default=20, help="classes per assignment")
    parser.add_argument("--assignments", default="all")
    parser.add_argument("--students", type=int, default=8, help="mutants per class")
    parser.add_argument("--seed", type=int, default=1000, help="seed of the first class")
    parser.add_argument("--route", choices=["cli", "api", "mixed"], default="mixed",
                        help="mixed: every third class through grade_assignment")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--work", type=Path, default=None,
                        help="folder for the courses (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the classes that broke "
                        "an invariant (under --work)")
    parser.add_argument("--report", type=Path, default=None, help="write a JSON report")
    parser.add_argument("--minutes", type=float, default=None,
                        help="stop starting classes after this many minutes")
    args = parser.parse_args(argv)
    names = ASSIGNMENTS if args.assignments == "all" else args.assignments.split(",")
    work = args.work or Path(tempfile.mkdtemp(prefix="fuzz-grading-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"building the course in {work} ...", flush=True)
    pristine = built_course(work, ASSIGNMENTS)
    tally = Tally()
    report = []
    started = time.monotonic()
    for a in names:
        material = Material.load(pristine, a)
        baseline = _BASELINES[a] = clean_baseline(pristine, material, work / f"baseline-{a}")
        print(f"{a}: clean run " + ", ".join(
            f"{k} {r['score']} {r['status']}" for k, r in baseline_rows(baseline).items()),
            flush=True)
    for i in range(args.classes):
        if args.minutes and time.monotonic() - started > 60 * args.minutes:
            print(f"stopped after {i} rounds: --minutes {args.minutes:g} reached")
            break
        for a in names:
            material = Material.load(pristine, a)
            baseline = _BASELINES[a]
            seed = args.seed + i
            # The first round has every attack of the review; later ones one each, in turn.
            kinds = [a.kind for a in attack_corpus.ATTACKS]
            gc = generate_class(material, seed, args.students,
                                force=FIRST if i == 0 else (),
                                attacks=tuple(kinds) if i == 0 else
                                (kinds[(i + names.index(a)) % len(kinds)],))
            route = args.route if args.route != "mixed" else ("api" if i % 3 == 2 else "cli")
            cwork = work / f"{a}-{seed}"
            outcome = run_class(gc, pristine, cwork, baseline, route=route,
                                workers=args.workers)
            tally.add(outcome)
            report.append({"assignment": a, "seed": seed, "route": route,
                           "seconds": round(outcome.seconds, 1),
                           "violations": outcome.violations,
                           "students": [{"id": s.student_id, "base": s.base,
                                         "mutations": s.mutations} for s in gc.students],
                           "rows": outcome.rows})
            flag = "ok" if not outcome.violations else f"{len(outcome.violations)} VIOLATIONS"
            print(f"[{time.monotonic() - started:6.0f} s] {a} seed {seed} ({route}, "
                  f"{len(gc.students)} students, {outcome.seconds:.0f} s): {flag}", flush=True)
            for text in outcome.violations:
                print(f"    {text[:400]}", flush=True)
            if outcome.violations:
                print("    " + gc.describe().replace("\n", "\n    ")[:3000], flush=True)
            if not (args.keep and outcome.violations):
                shutil.rmtree(cwork, ignore_errors=True)
            if args.report:
                args.report.write_text(json.dumps(report, indent=1, default=str))
    print()
    print(tally.table())
    if args.work is None and not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if tally.violations else 0


_BASELINES: dict[str, dict] = {}


if __name__ == "__main__":
    sys.exit(_main())
