"""A corpus of hostile and broken submissions of the toy assignment, and what the grader
must make of each.

The toy assignment (``tests/fixtures/toy``) has two answers: ``double(x)`` (test
``test_double``, 2 points) and the class ``Scaler`` (``test_scaler``, 3 points). Every
case starts from the reference solution and changes it; :attr:`Case.score` and
:attr:`Case.status` are what grading must give.

Many cases are *oracles*: the cell that attacks also defines ``double``, which returns
the right answer only if the attack worked (it read a file it must not see, imported
the reference package, wrote outside its scratch folder...). Such a case scores 3 when
the grader holds and 5 when it does not, so a score says which.

Processes a submission starts carry ``HOSTILE_CORPUS=<marker>`` in their environment;
:func:`leftover_processes` finds any that outlived grading.

Run as a script to write the corpus to a folder laid out like ``submitted/``::

    python tests/hostile_corpus.py OUT_DIR [--course COURSE_DIR]
"""

from __future__ import annotations

import copy
import json
import os
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

GRADED, TIMED_OUT, CRASHED = "graded", "timed out", "crashed"
INVALID = "invalid notebook"

WRONG_DOUBLE = '''
def double(x):
    import numpy as _np
    return _np.asarray(x)          # wrong: the tests want 2 * x
'''

# Right only when the attack before it set _attack_succeeded.
ORACLE_DOUBLE = '''
def double(x):
    import numpy as _np
    return 2 * _np.asarray(x) if _attack_succeeded else _np.asarray(x)
'''

RIGHT_DOUBLE = '''
def double(x):
    import numpy as _np
    return 2 * _np.asarray(x)
'''


@dataclass
class Context:
    """What an attacker may know: absolute paths of the course (they are in the public
    grader's defaults), a marker for the processes it starts, and a secret planted in
    another student's submission."""

    course: Path
    submissions: Path
    repo: Path
    victim: str = "victim"
    marker: str = field(default_factory=lambda: f"hostile-{uuid.uuid4().hex[:10]}")
    secret: str = field(default_factory=lambda: f"VICTIM-SECRET-{uuid.uuid4().hex[:10]}")
    assignment: str = "toy"
    oracle: Oracle | None = None   # a real assignment's first answer, in double's role

    @property
    def forbidden_files(self) -> list[str]:
        """Files no submission may read during grading."""
        c, s, r, a = self.course, self.submissions, self.repo, self.assignment
        source = r / "tests" / "fixtures" / a if a in ("toy", "guarded") else r / "assignments" / a
        return [str(p) for p in (
            c / "source" / a / f"{a}.ipynb", c / "gradebook.db",
            c / "submitted" / self.victim / a / f"{a}.ipynb",
            s / self.victim / a / f"{a}.ipynb", c / "nbgrader_config.py",
            r / "solutions" / "convnets" / "__init__.py", r / "solutions" / "convnets" / "conv.py",
            r / "assignments" / "checks.py", source / f"{a}.py",
            r / "autograder" / "execute.py", r / "pyproject.toml",
            Path("/etc/shadow"), Path("/etc/passwd"), Path("/root/.bashrc"))]

    @property
    def forbidden_dirs(self) -> list[str]:
        """Folders no submission may write into."""
        return [str(p) for p in (
            self.course, self.course / "source" / self.assignment, self.course / "submitted",
            self.submissions, self.submissions / self.victim / self.assignment, self.repo,
            self.repo / "solutions" / "convnets", Path("/"), Path("/etc"), Path("/usr"),
            Path("/root"), Path("/home"), Path("/var/tmp"), Path("/work"),
            Path(sys.prefix), Path(sys.base_prefix))]


@dataclass
class Case:
    student: str
    group: str             # fool, access, contain, flood, protocol, broken, honest
    what: str
    score: float           # expected score (out of 5)
    status: str | tuple    # expected status (or the statuses allowed, for races)
    build: object = None   # f(reference_nb, ctx) -> notebook dict
    write: object = None   # f(folder, reference_nb, ctx): writes odd files itself
    words: str = ""        # expected in the CSV message
    assignment: str = "toy"

    def materialize(self, submissions: Path, reference_nb: dict, ctx: Context) -> Path:
        folder = submissions / self.student / self.assignment
        folder.mkdir(parents=True, exist_ok=True)
        if self.write is not None:
            self.write(folder, reference_nb, ctx)
        else:
            nb = self.build(copy.deepcopy(reference_nb), ctx)
            (folder / f"{self.assignment}.ipynb").write_text(json.dumps(nb))
        return folder


# ---------------------------------------------------------------------------------------
# Notebook surgery
# ---------------------------------------------------------------------------------------

def _meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def _cell(nb, grade_id):
    return next(c for c in nb["cells"] if _meta(c).get("grade_id") == grade_id)


def _code(source, nbgrader=None):
    cell = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
            "source": source}
    if nbgrader is not None:
        cell["metadata"]["nbgrader"] = nbgrader
    return cell


def answer(grade_id, code):
    """Replace the code of an answer cell (on a real assignment, ``answer_double`` is
    its first answer: see :class:`Oracle`)."""
    def build(nb, ctx):
        text = code(ctx) if callable(code) else code
        if ctx.oracle is not None and grade_id == "answer_double":
            _cell(nb, ctx.oracle.grade_id)["source"] = ctx.oracle.translate(text)
        else:
            _cell(nb, grade_id)["source"] = text
        return nb
    return build


def append(code, *more):
    """Add code cells at the end (after both answers)."""
    def build(nb, ctx):
        for c in (code, *more):
            nb["cells"].append(_code(c(ctx) if callable(c) else c))
        return nb
    return build


def chain(*builders):
    def build(nb, ctx):
        for b in builders:
            nb = b(nb, ctx)
        return nb
    return build


def marked(code):
    """Code whose child processes carry the corpus marker in their environment."""
    return lambda ctx: f"import os\nos.environ['HOSTILE_CORPUS'] = {ctx.marker!r}\n" + code


def patched_runner(op_test: str, evil: str):
    """A cell that rewrites the sandbox's runner so that requests matching ``op_test``
    (an expression of ``header``) get the reply ``evil`` builds (code using ``self``,
    ``header``, ``P`` the protocol module, ``struct``). Everything else is answered
    honestly. The student's functions are right: only the channel is attacked."""
    return (RIGHT_DOUBLE + '''
import sys, struct
_R = sys.modules["__main__"].Runner
P = sys.modules["protocol"]
def _evil_handle(self, header, blobs, _orig=_R.handle):
    if ''' + op_test + ''':
''' + "\n".join("        " + line for line in evil.strip().splitlines()) + '''
        return
    return _orig(self, header, blobs)
_R.handle = _evil_handle
''')


CALL_DOUBLE = 'header.get("op") == "call" and header.get("name") == "double"'


# ---------------------------------------------------------------------------------------
# The cases
# ---------------------------------------------------------------------------------------

def _walk_code(find: str) -> str:
    """Code walking the visible file system that sets _attack_succeeded when ``find``
    (an expression of ``path``) is true for a file. It skips /proc, /sys, /usr and the
    interpreter's own folders (200,000 files: too slow to read in a test; what matters
    there, the reference package and the grader, other cases look for by name)."""
    return f'''
import os, sys
_attack_succeeded = False
_skip = {{"/proc", "/sys", "/usr", sys.prefix, sys.base_prefix, os.path.realpath(sys.prefix),
         os.path.realpath(sys.base_prefix)}}
for _root, _dirs, _files in os.walk("/"):
    _dirs[:] = [d for d in _dirs if os.path.join(_root, d) not in _skip]
    for _f in _files:
        path = os.path.join(_root, _f)
        if os.path.islink(path) or not os.path.isfile(path):
            continue                       # /dev/zero would never end
        try:
            if {find}:
                _attack_succeeded = True
        except Exception:
            pass
'''


def _read_any(ctx) -> str:
    return f'''
_attack_succeeded = False
for _p in {ctx.forbidden_files!r}:
    try:
        with open(_p, "rb") as _f:
            _f.read(16)
        if _p not in ("/etc/passwd",):
            _attack_succeeded = True
    except Exception:
        pass
''' + ORACLE_DOUBLE


def _write_any(ctx) -> str:
    return f'''
import os
_attack_succeeded = False
for _d in {ctx.forbidden_dirs!r}:
    try:
        with open(os.path.join(_d, "pwned-by-student.txt"), "w") as _f:
            _f.write("pwned")
        _attack_succeeded = True
    except Exception:
        pass
''' + ORACLE_DOUBLE


def _destroy(ctx) -> str:
    targets = [str(ctx.course / "gradebook.db"), str(ctx.course), str(ctx.submissions),
               str(ctx.course / "submitted"), str(ctx.repo)]
    return f'''
import os, shutil
for _t in {targets!r}:
    try:
        os.remove(_t)
    except Exception:
        pass
    shutil.rmtree(_t, ignore_errors=True)
    try:
        with open(_t, "w") as _f:
            _f.write("")
    except Exception:
        pass
for _root, _dirs, _files in os.walk("/"):
    # Everything writable it can see (read-only mounts are pruned: nothing to delete).
    _dirs[:] = [d for d in _dirs if not os.statvfs(os.path.join(_root, d)).f_flag & 1
                and os.path.join(_root, d) not in ("/proc", "/sys")]
    for _f in _files:
        try:
            os.remove(os.path.join(_root, _f))
        except Exception:
            pass
'''


def _network() -> str:
    return '''
import socket
_attack_succeeded = False
for _addr in [("127.0.0.1", 8786), ("127.0.0.1", 22), ("127.0.0.1", 80), ("8.8.8.8", 53),
              ("1.1.1.1", 443)]:
    try:
        socket.create_connection(_addr, timeout=0.5).close()
        _attack_succeeded = True
    except Exception:
        pass
try:
    socket.getaddrinfo("pypi.org", 443)
    _attack_succeeded = True
except Exception:
    pass
''' + ORACLE_DOUBLE


def _no_op(nb, ctx):
    return nb


def _nb_name(folder: Path) -> str:
    """The expected notebook name: the assignment folder's (toy/toy.ipynb)."""
    return f"{folder.name}.ipynb"


def _write_text(text, name=None):
    def write(folder, nb, ctx):
        (folder / (name or _nb_name(folder))).write_bytes(
            text if isinstance(text, bytes) else text.encode())
    return write


def _write_symlink_to_source(folder, nb, ctx):
    (folder / _nb_name(folder)).symlink_to(ctx.course / "source" / folder.name /
                                           _nb_name(folder))


def _write_symlinked_folder(folder, nb, ctx):
    folder.rmdir()
    folder.symlink_to(ctx.course / "source" / folder.name, target_is_directory=True)


def _write_fifo(folder, nb, ctx):
    os.mkfifo(folder / _nb_name(folder))


def _write_directory(folder, nb, ctx):
    (folder / _nb_name(folder)).mkdir()


def _write_huge(folder, nb, ctx):
    nb = copy.deepcopy(nb)
    nb["cells"].append({"cell_type": "markdown", "metadata": {},
                        "source": "x" * (21 * 1024 * 1024)})
    (folder / _nb_name(folder)).write_text(json.dumps(nb))


def _with_files(double_code, files):
    def write(folder, nb, ctx):
        nb = copy.deepcopy(nb)
        _cell(nb, "answer_double")["source"] = double_code
        (folder / "toy.ipynb").write_text(json.dumps(nb))
        for name, text in files.items():
            (folder / name).write_text(text)
    return write


def _with_timestamp(make):
    def write(folder, nb, ctx):
        (folder / _nb_name(folder)).write_text(json.dumps(nb))
        make(folder / "timestamp.txt")
    return write


def toy_cases() -> list[Case]:
    """Every case of the corpus (the toy assignment's maximum is 5)."""
    C = Case
    cases = [
        # --- fooling the tests ------------------------------------------------------
        C("fool_patch_numpy", "fool", "monkeypatches np.allclose, np.testing.*, math.isclose, "
          "np.array_equal in its own process", 3, GRADED, answer("answer_double", '''
import math
import numpy as np
np.allclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
np.isclose = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
np.testing.assert_array_equal = lambda *a, **k: None
np.testing.assert_array_almost_equal = lambda *a, **k: None
math.isclose = lambda *a, **k: True
np.abs = lambda x: 0 * x
''' + WRONG_DOUBLE)),
        C("fool_patch_checks", "fool", "monkeypatches the checks helpers", 3, GRADED,
          answer("answer_double", '''
import sys, checks
for _name in dir(checks):
    if _name.startswith("check_"):
        setattr(checks, _name, lambda *a, **k: None)
checks.rel_error = lambda *a, **k: 0.0
sys.modules["checks"] = checks
''' + WRONG_DOUBLE)),
        C("fool_patch_builtins", "fool", "monkeypatches builtins (isinstance, "
          "AssertionError) in its process, which breaks its own runner", 3, CRASHED,
          answer("answer_double", WRONG_DOUBLE + '''
import builtins
builtins.AssertionError = type("AssertionError", (Exception,), {})
builtins.isinstance = lambda *a: True
''')),
        C("fool_equal_to_anything", "fool", "returns an object equal to anything, with "
          "__array__ giving the visible answer", 3, GRADED, answer("answer_double", '''
import numpy as np
class Anything:
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __array__(self, *a, **k): return np.array([0.0, 2.0, 4.0])
    def __getattr__(self, name): return lambda *a, **k: True
    def __len__(self): return 3
    def __float__(self): return 0.0
def double(x):
    return Anything()
''')),
        C("fool_ndarray_subclass", "fool", "returns an ndarray subclass overriding __eq__, "
          "__array_ufunc__, __array_function__", 3, GRADED, answer("answer_double", '''
import numpy as np
class Liar(np.ndarray):
    def __eq__(self, other): return np.ones(np.shape(other), bool)
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return np.zeros(np.broadcast(*[np.asarray(i) for i in inputs]).shape)
    def __array_function__(self, func, types, args, kwargs):
        return True
    def __sub__(self, other): return np.zeros(np.shape(other))
    __rsub__ = __sub__
def double(x):
    return np.zeros(np.shape(x)).view(Liar)
''')),
        C("fool_builtin_subclasses", "fool", "returns list/float/int subclasses equal to "
          "anything", 3, GRADED, answer("answer_double", '''
class F(float):
    def __eq__(self, other): return True
    def __sub__(self, other): return 0.0
    __rsub__ = __sub__
class L(list):
    def __eq__(self, other): return True
def double(x):
    return L([F(0.0)] * len(x))
''')),
        C("fool_fake_reference_dict", "fool", "returns dicts that look like the wire format "
          "({'$ref': 1}, {'$array': 0})", 3, GRADED, answer("answer_double", '''
def double(x):
    return {"$ref": 1, "$array": 0}
''')),
        C("fool_import_convnets", "fool", "imports the reference package `convnets` "
          "(any way it can) to use the instructor's code", 3, GRADED,
          answer("answer_double", lambda ctx: f'''
_attack_succeeded = False
try:
    import convnets
    _attack_succeeded = True
except Exception:
    pass
import importlib.util, sys
for _p in [{str(ctx.repo / "solutions")!r}, {str(ctx.repo)!r}]:
    sys.path.insert(0, _p)
try:
    import convnets, autograder
    _attack_succeeded = True
except Exception:
    pass
_spec = importlib.util.spec_from_file_location(
    "ref", {str(ctx.repo / "solutions" / "convnets" / "__init__.py")!r})
try:
    _m = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_m)
    _attack_succeeded = True
except Exception:
    pass
''' + ORACLE_DOUBLE)),
        C("fool_read_sources", "fool", "reads the instructor's source notebook, the "
          "reference package, the grader, the gradebook by absolute path", 3, GRADED,
          answer("answer_double", _read_any)),
        C("fool_find_hidden_tests", "fool", "walks the file system for any notebook, "
          "gradebook or file holding the hidden tests (its own notebook included)",
          3, GRADED, answer("answer_double", lambda ctx: _walk_code(
              'path.endswith((".ipynb", ".db", ".sqlite")) or "convnets" in path or '
              '(os.path.getsize(path) < 2000000 and ("double on a random" + " array") '
              'in open(path, errors="ignore").read())') + ORACLE_DOUBLE)),
        C("fool_fake_setup_cell", "fool", "poses as a setup cell (grade_id setup_...) whose "
          "code patches the checks, hoping it runs in the grader", 3, GRADED,
          lambda nb, ctx: _fake_setup(nb, "setup_patch")),
        C("fool_claims_setup_id", "fool", "gives its own cell the source's setup id with "
          "patching code", 3, GRADED, lambda nb, ctx: _fake_setup(nb, "setup")),
        C("fool_own_checks_file", "fool", "puts its own checks.py and numpy.py next to its "
          "notebook (no-op checks)", 3, GRADED, write=_with_files(WRONG_DOUBLE, {
              "checks.py": "def check_close(*a, **k):\n    pass\n"
                           "def check_raises(*a, **k):\n    pass\n",
              "numpy.py": "raise SystemExit('fake numpy')\n"})),
        C("fool_repoint_tests", "fool", "re-points test_double to a `pass` cell, adds a "
          "100-point test, a markdown cell posing as a test, deletes test_scaler",
          3, GRADED, _repoint),
        C("fool_shadow_names", "fool", "defines names that shadow the grader's: "
          "check_close, hidden_rng, np, isinstance, AssertionError, print", 3, GRADED,
          answer("answer_double", WRONG_DOUBLE + '''
check_close = lambda *a, **k: None
check_raises = lambda *a, **k: None
check_equal = lambda *a, **k: None
hidden_rng = lambda *a, **k: None
isinstance = lambda *a: True
len = lambda *a: 0
print = lambda *a, **k: None
AssertionError = KeyError
Exception = KeyError
float = lambda *a: 0.0
rng = None
x = [0.0, 1.0, 2.0]
''')),
        C("fool_grading_seed", "fool", "sets the grading seed in its own process and "
          "hard-codes the visible case", 3, GRADED, answer("answer_double", '''
import os
os.environ["CONVNETS_GRADING_SEED"] = "0"
import numpy as np
def double(x):
    x = np.asarray(x)
    if x.shape == (3,):
        return np.array([0.0, 2.0, 4.0])
    return x
''')),
        # --- no access to what is not theirs -------------------------------------------
        C("access_write_outside", "access", "writes files into the course, the "
          "submissions, the project, /, /etc, the interpreter's folders", 3, GRADED,
          answer("answer_double", _write_any)),
        C("access_destroy", "access", "deletes the gradebook, the course and every "
          "submission by absolute path and by walking from /", 5, GRADED,
          append(_destroy)),
        C("access_other_student", "access", "looks for another student's notebook and its "
          "secret", 3, GRADED, answer("answer_double", lambda ctx: _walk_code(
              f'os.path.getsize(path) < 2000000 and '
              f'{ctx.secret[:7]!r} + {ctx.secret[7:]!r} in open(path, errors="ignore").read()')
              + ORACLE_DOUBLE)),
        C("access_network", "access", "opens network connections (the Dask scheduler, the "
          "internet, DNS)", 3, GRADED, answer("answer_double", _network())),
        C("access_kill_everyone", "access", "sends SIGKILL to every process it can name",
          5, GRADED, append('''
import os, signal
try:
    os.kill(-1, signal.SIGKILL)
except Exception:
    pass
for _pid in range(1, 70000):
    if _pid != os.getpid():
        try:
            os.kill(_pid, signal.SIGKILL)
        except Exception:
            pass
''')),
        C("access_proc_snoop", "access", "reads the environment, open files, memory and "
          "root folder of every other process it can see in /proc", 3, GRADED,
          answer("answer_double", '''
import os
_attack_succeeded = False
for _pid in os.listdir("/proc"):
    if not _pid.isdigit() or int(_pid) == os.getpid():
        continue
    for _what in ("environ", "mem", "fd", "root/etc", "cwd"):
        try:
            if _what in ("fd", "root/etc", "cwd"):
                os.listdir(f"/proc/{_pid}/{_what}")
            else:
                open(f"/proc/{_pid}/{_what}", "rb").read(1)
            _attack_succeeded = True
        except Exception:
            pass
''' + ORACLE_DOUBLE)),
        # --- crashes, hangs, limits -------------------------------------------------
        C("crash_os_exit", "contain", "os._exit in a cell after the answers", 5, CRASHED,
          append("import os\nos._exit(3)"), words="exited with code 3"),
        C("crash_segfault", "contain", "a segfault (ctypes) in a cell", 5, CRASHED,
          append("import ctypes\nctypes.string_at(0)"), words="SIGSEGV"),
        C("crash_segfault_in_function", "contain", "double segfaults when called",
          3, CRASHED, answer("answer_double", '''
def double(x):
    import ctypes
    return ctypes.string_at(0)
''')),
        C("exit_sys_exit", "contain", "sys.exit, SystemExit and KeyboardInterrupt raised in "
          "cells", 5, GRADED, append("import sys\nsys.exit(0)", "raise SystemExit(1)",
                                      "raise KeyboardInterrupt")),
        C("exit_in_functions", "contain", "double raises SystemExit, Scaler.__call__ "
          "KeyboardInterrupt", 0, GRADED, chain(
              answer("answer_double", "def double(x):\n    raise SystemExit(0)\n"),
              append('''
_Scaler = Scaler
class Scaler(_Scaler):
    def __call__(self, x):
        raise KeyboardInterrupt
'''))),
        C("hang_cell", "contain", "an infinite loop in a cell", 5, TIMED_OUT,
          append("while True:\n    pass"), words="no answer within"),
        C("hang_in_function", "contain", "double never returns", 3, TIMED_OUT,
          answer("answer_double", "def double(x):\n    while True:\n        pass\n")),
        C("hang_ignoring_signals", "contain", "a loop that ignores SIGINT and SIGTERM",
          5, TIMED_OUT, append('''
import signal, time
for _s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGALRM):
    signal.signal(_s, signal.SIG_IGN)
while True:
    try:
        time.sleep(0.01)
    except BaseException:
        pass
''')),
        C("hang_slow_cells", "contain", "many cells, each just under the per-call timeout "
          "(the total budget must stop them)", 5, TIMED_OUT,
          append(*["import time\ntime.sleep(4)"] * 8), words="half of the time budget"),
        C("memory_bomb_cell", "contain", "touches 400 MB, then allocates until the limit",
          5, CRASHED, append('''
import numpy as np
_hog = [np.ones(50_000_000)]
while True:
    _hog.append(np.empty(100_000_000))
'''), words="out of memory"),
        C("memory_bomb_in_function", "contain", "double asks for 8 TB", 3, CRASHED,
          answer("answer_double", "def double(x):\n    return bytearray(8 * 1024**4)\n"),
          words="out of memory"),
        C("fork_bomb", "contain", "a fork bomb", 5, TIMED_OUT, append(marked('''
while True:
    try:
        os.fork()
    except OSError:
        pass
'''))),
        C("thread_bomb", "contain", "starts threads until it cannot", 5, GRADED,
          append(marked('''
import threading, time
try:
    while True:
        threading.Thread(target=time.sleep, args=(1000,), daemon=True).start()
except RuntimeError:
    pass
'''))),
        C("background_processes", "contain", "subprocess.Popen('sleep 1000'), a "
          "double-forked daemon, nohup, a daemon thread", 5, GRADED, append(marked('''
import subprocess, threading, time
subprocess.Popen(["sleep", "1000"])
os.system("nohup sleep 1001 >/dev/null 2>&1 &")
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv("/bin/sleep", ["sleep", "1002"])
    os._exit(0)
threading.Thread(target=lambda: [time.sleep(0.01) for _ in iter(int, 1)], daemon=True).start()
'''))),
        # --- floods -------------------------------------------------------------------
        C("flood_print", "flood", "prints 50 MB (in one print, and in 300,000 lines)", 5,
          GRADED, append('print("x" * 50_000_000)', 'for _i in range(300_000):\n    print(_i)')),
        C("flood_fd", "flood", "writes 50 MB to file descriptors 1 and 2", 5, GRADED,
          append('import os\nfor _i in range(50):\n    os.write(1, b"x" * 1_000_000)\n'
                 '    os.write(2, b"y" * 1_000_000)')),
        C("flood_in_function", "flood", "double prints 20 MB every call", 5, GRADED,
          answer("answer_double", 'def double(x):\n    print("z" * 20_000_000)\n'
                 '    import numpy as np\n    return 2 * np.asarray(x)\n')),
        C("flood_disk", "flood", "fills its scratch folder and writes a 1 GB file",
          5, GRADED, append('''
try:
    with open("big.bin", "wb") as _f:
        for _i in range(1000):
            _f.write(b"0" * 1_000_000)
except OSError:
    pass
try:
    with open("/dev/shm/big.bin", "wb") as _f:
        for _i in range(1000):
            _f.write(b"0" * 1_000_000)
except OSError:
    pass
''')),
        C("flood_cells", "flood", "3000 cells, each printing 10 kB", 5, GRADED,
          append(*['print("c" * 10_000)'] * 3000)),
        # --- attacks on the grader's channel (the runner rewritten by student code) ------
        C("proto_huge_header", "protocol", "answers a call with a 2 GB header length",
          3, CRASHED, answer("answer_double", patched_runner(CALL_DOUBLE, '''
self.out.write(struct.pack("<I", 2**31) + b"{}")
''')), words="protocol"),
        C("proto_huge_blob", "protocol", "announces a 1 TB array", 3, CRASHED,
          answer("answer_double", patched_runner(CALL_DOUBLE, '''
head = b'{"ok": true, "id": %d, "nblobs": 1, "value": {"$array": 0}}' % header["id"]
self.out.write(struct.pack("<I", len(head)) + head + struct.pack("<Q", 2**40))
''')), words="protocol"),
        C("proto_not_json", "protocol", "answers with a header that is not JSON, nested "
          "100000 deep", 3, CRASHED, answer("answer_double", patched_runner(CALL_DOUBLE, '''
head = b'{"a": ' + b"[" * 100000 + b"]" * 100000 + b"}"
self.out.write(struct.pack("<I", len(head)) + head)
''')), words="protocol"),
        C("proto_wrong_id", "protocol", "answers with the id of another request", 3, CRASHED,
          answer("answer_double", patched_runner(CALL_DOUBLE, '''
P.write_message(self.out, {"ok": True, "id": header["id"] + 1, "value": 1})
''')), words="another request"),
        C("proto_two_replies", "protocol", "answers twice (the second reply is meant for "
          "the next request, Scaler's)", 0, CRASHED, answer("answer_double", patched_runner(
              CALL_DOUBLE, '''
P.write_message(self.out, {"ok": False, "id": header["id"], "error": "no"})
P.write_message(self.out, {"ok": True, "id": header["id"] + 1, "value": 7})
'''))),
        C("proto_deep_value", "protocol", "a value nested 40 deep (the limit is 32)",
          3, GRADED, answer("answer_double", patched_runner(CALL_DOUBLE, '''
value = 1
for _ in range(40):
    value = {"$list": [value]}
P.write_message(self.out, {"ok": True, "id": header["id"], "value": value})
'''))),
        C("proto_lying_array", "protocol", "an .npy header claiming 10^12 elements",
          3, GRADED, answer("answer_double", patched_runner(
              CALL_DOUBLE, '''
import io, numpy as np
buf = io.BytesIO()
np.save(buf, np.zeros(3))
blob = buf.getvalue().replace(b"(3,)", b"(1000000000000,)")
P.write_message(self.out, {"ok": True, "id": header["id"],
                           "value": {"$array": 0, "scalar": False}}, [blob])
'''))),
        C("proto_pickle_array", "protocol", "an object-dtype array (a pickle)", 3, GRADED,
          answer("answer_double", patched_runner(CALL_DOUBLE, '''
import io, numpy as np
buf = io.BytesIO()
np.save(buf, np.array([0.0, 2.0, 4.0], dtype=object), allow_pickle=True)
P.write_message(self.out, {"ok": True, "id": header["id"],
                           "value": {"$array": 0, "scalar": False}}, [buf.getvalue()])
'''))),
        C("proto_forged_ref", "protocol", "a reference to an object that does not exist, "
          "malformed errors", 0, GRADED, chain(
              answer("answer_double", patched_runner(CALL_DOUBLE, '''
P.write_message(self.out, {"ok": True, "id": header["id"], "value": {"$ref": 999999}})
''')), append(patched_runner('header.get("op") in ("call", "getattr", "setattr") '
                             'and header.get("name") != "double"', '''
P.write_message(self.out, {"ok": False, "id": header["id"],
                           "error": [{"ename": "x" * 10_000_000}, 5]})
''')))),
        C("proto_garbage_names", "protocol", "answers the list of names with garbage",
          0, CRASHED, append(patched_runner('header.get("op") == "names"', '''
P.write_message(self.out, {"ok": True, "id": header["id"], "names": {"double": "callable"}})
''')), words="malformed"),
        C("proto_huge_output", "protocol", "a cell reply carrying 15 MB of stdout and "
          "stderr", 5, GRADED, append(patched_runner('header.get("op") == "exec"', '''
P.write_message(self.out, {"ok": True, "id": header["id"], "stdout": "o" * 7_000_000,
                           "stderr": "e" * 7_000_000, "error": None})
'''), "pass")),
        C("proto_close_channel", "protocol", "closes its end of the channel", 5, CRASHED,
          append("import sys\nsys.modules['__main__'].Runner  # the channel's owner\n"
                 "import os\nos.close(int(sys.argv[2]))")),
        C("proto_steal_requests", "protocol", "a thread that reads the grader's requests",
          0, (TIMED_OUT, CRASHED), append('''
import os, sys, threading
_fd = int(sys.argv[1])
def _steal():
    while True:
        os.read(_fd, 1)
threading.Thread(target=_steal, daemon=True).start()
''')),
        C("proto_attribute_loops", "protocol", "an object whose __setattr__ and "
          "__getattr__ never return", 2, TIMED_OUT, answer("answer_scaled", '''
import numpy as np
class Scaler:
    def __init__(self, factor):
        if factor <= 0:
            raise ValueError(f"factor must be > 0, got {factor}")
        object.__setattr__(self, "factor", factor)
    def __call__(self, x):
        return self.factor * np.asarray(x)
    def __setattr__(self, name, value):
        while True:
            pass
    def __getattr__(self, name):
        while True:
            pass
''')),
        C("proto_str_raises", "protocol", "exceptions whose __str__ raises or loops",
          0, TIMED_OUT, chain(answer("answer_double", '''
class Weird(Exception):
    def __str__(self):
        raise Weird()
def double(x):
    raise Weird()
'''), answer("answer_scaled", '''
class Loops(ValueError):
    def __str__(self):
        while True:
            pass
class Scaler:
    def __init__(self, factor):
        raise Loops()
'''))),
        # --- broken notebooks -------------------------------------------------------
        C("broken_binary", "broken", "binary garbage, not UTF-8", 0, INVALID,
          write=_write_text(b"\xff\xfe\x00garbage\x00" * 100), words="not UTF-8"),
        C("broken_json_list", "broken", "valid JSON, not a notebook (a list)", 0, INVALID,
          write=_write_text("[1, 2, 3]"), words="not a Jupyter notebook"),
        C("broken_cells_not_list", "broken", "valid JSON whose cells are a string",
          0, INVALID, write=_write_text('{"cells": "nope", "nbformat": 4}')),
        C("broken_cell_source", "broken", "a cell whose source is a number", 0, INVALID,
          write=_write_text('{"cells": [{"cell_type": "code", "source": 5, "metadata": {}}]}'),
          words="source is not text"),
        C("broken_metadata", "broken", "cell metadata that is a list", 0, INVALID,
          write=_write_text('{"cells": [{"cell_type": "code", "source": "1", '
                            '"metadata": [1]}]}')),
        C("broken_deep_json", "broken", "JSON nested 200000 deep", 0, INVALID,
          write=_write_text('{"cells": ' + "[" * 200_000 + "]" * 200_000 + "}"),
          words="nested too deeply"),
        C("broken_huge", "broken", "a 21 MB notebook", 0, INVALID, write=_write_huge,
          words="too large"),
        C("broken_many_cells", "broken", "200,000 empty cells (nbgrader would take an hour)",
          0, INVALID, write=_write_text(json.dumps({"cells": [
              {"cell_type": "raw", "metadata": {}, "source": ""}] * 200_000})),
          words="too many cells"),
        C("broken_symlink", "broken", "a symbolic link to the instructor's source notebook",
          0, INVALID, write=_write_symlink_to_source, words="symbolic link"),
        C("broken_symlinked_folder", "broken", "its assignment folder is a link to the "
          "instructor's source folder", 0, INVALID, write=_write_symlinked_folder,
          words="symbolic link"),
        C("broken_fifo", "broken", "toy.ipynb is a FIFO (reading it would block)", 0,
          INVALID, write=_write_fifo, words="not a regular file"),
        C("broken_directory", "broken", "toy.ipynb is a folder", 0, INVALID,
          write=_write_directory),
        C("broken_empty_notebook", "broken", "a valid notebook without cells", 0, GRADED,
          write=_write_text('{"cells": [], "metadata": {}, "nbformat": 4, '
                            '"nbformat_minor": 5}')),
        C("broken_timestamp", "broken", "a timestamp.txt that is not a date (nbgrader "
          "would fail the whole class on it)", 5, GRADED,
          write=_with_timestamp(lambda f: f.write_text("yesterday, honest \x00"))),
        C("broken_timestamp_link", "broken", "timestamp.txt is a link to /etc/shadow",
          5, GRADED, write=_with_timestamp(lambda f: f.symlink_to("/etc/shadow"))),
        C("text_surrogates", "flood", "lone surrogates in its source, its output and its "
          "errors (they cannot be written as UTF-8)", 5, GRADED,
          lambda nb, ctx: append('print("\ud800")\nimport sys\nprint("\udfff", file=sys.stderr)',
                                 'raise ValueError("\ud800")', "# \udbff in a comment")(nb, ctx)),
        C("text_control_chars", "flood", "NUL, escape sequences and bells in its output",
          5, GRADED, append('print("\x00\x01\x1b[2J\x1b]0;pwned\x07 end")')),
        C("feedback_script", "access", "markdown with <script>, an onerror image and a "
          "javascript: link, for whoever opens its feedback", 5, GRADED,
          lambda nb, ctx: {**nb, "cells": nb["cells"] + [{
              "cell_type": "markdown", "metadata": {},
              "source": "<script>alert('xss')</script><img src=x onerror=alert(1)>"
                        "[click](javascript:alert(2))"}]}),
        # --- honest students are never hurt -------------------------------------------
        C("honest_plots_and_magics", "honest", "matplotlib, %matplotlib inline, !pip, "
          "plt.show()", 5, GRADED, append('''
%matplotlib inline
!pip list
import matplotlib.pyplot as plt
plt.plot([1, 2, 3])
plt.show()
''')),
        C("honest_threads_processes", "honest", "double uses a thread pool and a "
          "multiprocessing pool", 5, GRADED, answer("answer_double", '''
import numpy as np
from concurrent.futures import ThreadPoolExecutor
import multiprocessing
with multiprocessing.Pool(2) as _pool:
    assert _pool.map(abs, [-1, -2]) == [1, 2]
def double(x):
    with ThreadPoolExecutor(4) as pool:
        return np.array(list(pool.map(lambda v: 2 * v, np.asarray(x).ravel()))).reshape(
            np.shape(x))
''')),
        C("honest_files_and_helpers", "honest", "writes and reads scratch files, reads "
          "checks.py, uses helpers and globals of its own", 5, GRADED,
          answer("answer_double", '''
import numpy as np
np.save("scratch.npy", np.arange(3))
assert np.load("scratch.npy").sum() == 3
assert "def check_close" in open("checks.py").read()
FACTOR = 2
def _times(x, k):
    return k * np.asarray(x)
def double(x):
    return _times(x, FACTOR)
''')),
        C("honest_errors_and_unicode", "honest", "a failing cell before the answers, "
          "non-ASCII text, a 1 MB print", 5, GRADED, chain(
              lambda nb, ctx: {**nb, "cells": nb["cells"][:2] + [
                  _code("résultat = undefined_name  # ünïcødé ✓")] + nb["cells"][2:]},
              append('print("é" * 1_000_000)'))),
        C("honest_jupyter_features", "honest", "display(), get_ipython(), %%writefile of a "
          "helper module it imports, %%time, %%bash, an indented magic", 5, GRADED,
          chain(answer("answer_double", '''%%writefile helper.py
import numpy as np
def times(x, k):
    return k * np.asarray(x)
'''), lambda nb, ctx: {**nb, "cells": nb["cells"][:3] + [_code('''%%time
from helper import times
def double(x):
    if False:
        %debug
    return times(x, 2)
display(double([1, 2]), "shown")
get_ipython().run_line_magic("matplotlib", "inline")
'''), _code("%%bash\necho this is not python")] + nb["cells"][3:]})),
        C("honest_old_nbformat", "honest", "nbformat 4.4 without cell ids", 5, GRADED,
          lambda nb, ctx: {**nb, "nbformat_minor": 4,
                           "cells": [{k: v for k, v in c.items() if k != "id"}
                                     for c in nb["cells"]]}),
    ]
    return cases


def guarded_cases() -> list[Case]:
    """Cases of the second fixture assignment, ``guarded`` (maximum 5): tests that use
    builtins, given code and many calls. ``square`` is worth 2 + 1 points (test_square,
    test_square_many), ``count_positive`` 2."""
    def G(student, what, score, status, build, words=""):
        return Case(student, "fool" if score < 5 else "honest", what, score, status, build,
                    words=words, assignment="guarded")

    wrong_square = "def square(x):\n    import numpy as _np\n    return _np.asarray(x, float)\n"
    return [
        G("g_reference", "the instructor's solution", 5, GRADED, _no_op),
        G("g_shadow_builtins", "wrong answers, and its own isinstance, all, len, abs, sum, "
          "sorted, range, print, AssertionError, slow_square, check_close, np", 0, GRADED,
          chain(answer("answer_square", wrong_square), answer("answer_count", '''
def count_positive(values):
    return -1
isinstance = all = lambda *a, **k: True
len = abs = sum = lambda *a, **k: 0
sorted = lambda *a, **k: [0, -1]
range = lambda *a: []
print = lambda *a, **k: None
AssertionError = KeyError
slow_square = square
check_close = lambda *a, **k: None
np = None
'''))),
        G("g_edit_given_code", "edits the locked given cell so that the reference loop "
          "agrees with its wrong square", 2, GRADED, chain(
              answer("answer_square", "def square(x):\n    return 0 * np.asarray(x)\n"),
              answer("given_reference", "def slow_square(x):\n    return 0 * np.asarray(x)\n"))),
        G("g_rebind_given_name", "rebinds the given slow_square to its own wrong square in "
          "a later cell", 2, GRADED, chain(answer("answer_square", wrong_square),
                                           append("slow_square = square"))),
        G("g_slow_calls", "square takes 0.5 s a call: the 40 calls of one test exceed the "
          "submission's budget, though each call is far below the per-call limit", 4,
          TIMED_OUT, answer("answer_square", '''
import time
def square(x):
    time.sleep(0.5)
    return np.asarray(x, dtype=float) ** 2
'''), words="budget"),
    ]


def _fake_setup(nb, grade_id):
    cell = _cell(nb, "answer_double")
    cell["source"] = WRONG_DOUBLE + '''
import checks, builtins
checks.check_close = lambda *a, **k: None
builtins.check_close = lambda *a, **k: None
check_close = lambda *a, **k: None
'''
    cell["metadata"]["nbgrader"] = {"grade": False, "grade_id": grade_id, "locked": True,
                                    "schema_version": 3, "solution": False, "task": False}
    return nb


def _repoint(nb, ctx):
    _cell(nb, "answer_double")["source"] = WRONG_DOUBLE
    test = _cell(nb, "test_double")
    fake = _code("pass", {**_meta(test), "points": 100})
    nb["cells"].insert(1, fake)
    test["metadata"]["nbgrader"]["grade_id"] = "test_double_old"
    test["source"] = "pass"
    nb["cells"].append(_code("pass", {"grade": True, "grade_id": "test_bonus", "points": 100,
                                      "locked": True, "schema_version": 3,
                                      "solution": False, "task": False}))
    nb["cells"].append({"cell_type": "markdown", "metadata": {"nbgrader": {
        "grade": True, "grade_id": "test_scaler", "points": 50, "solution": True,
        "locked": False, "schema_version": 3, "task": False}}, "source": "I am a test"})
    nb["cells"] = [c for c in nb["cells"] if not (
        c["cell_type"] == "code" and _meta(c).get("grade_id") == "test_scaler")]
    return nb


def victim_case() -> Case:
    """An honest student whose notebook holds a secret the others hunt for."""
    def build(nb, ctx):
        nb["cells"].append({"cell_type": "markdown", "metadata": {}, "source": ctx.secret})
        return nb
    return Case("victim", "honest", "an honest student others try to spy on or harm",
                5, GRADED, build)


# ---------------------------------------------------------------------------------------
# The corpus on the real assignments
# ---------------------------------------------------------------------------------------

@dataclass
class Oracle:
    """A real assignment's first answer in the role the toy's ``double`` plays: a case
    that writes ``double`` writes this function instead. :meth:`translate` keeps the
    release's stub of the whole cell (so the cell defines every name it should, wrong)
    and puts the case's code after it: nothing where the case has ``RIGHT_DOUBLE`` (an
    attack on the channel), the reference code run only when the attack worked where it has
    ``ORACLE_DOUBLE``, and its own wrong ``double`` as this function. A case's toy score
    3 (``double`` wrong) is then the score of :func:`control_case` on that assignment."""

    grade_id: str
    function: str
    right: str
    wrong: str

    @classmethod
    def from_course(cls, course: Path, assignment: str) -> Oracle:
        def first_answer(folder):
            nb = json.loads((course / folder / assignment / f"{assignment}.ipynb").read_text())
            return next(c for c in nb["cells"] if c["cell_type"] == "code"
                        and _meta(c).get("solution"))
        right, wrong = first_answer("solutions"), first_answer("release")
        src = "".join(right["source"]) if isinstance(right["source"], list) else right["source"]
        function = next(line.split("(")[0][4:] for line in src.splitlines()
                        if line.startswith("def "))
        return cls(_meta(right)["grade_id"], function, src,
                   "".join(wrong["source"]) if isinstance(wrong["source"], list)
                   else wrong["source"])

    def translate(self, code: str) -> str:
        code = code.replace(ORACLE_DOUBLE, f"\nif _attack_succeeded:\n"
                                           f"    exec({self.right!r}, globals())\n")
        # The right double only comes with attacks on the channel: the function stays
        # wrong in the student's process, the direct calls get the attack's replies.
        code = code.replace(RIGHT_DOUBLE, "\n").replace(WRONG_DOUBLE, "\n")
        code = code.replace("def double(x):", f"def {self.function}(x, *_args, **_kwargs):")
        code = code.replace(CALL_DOUBLE, CALL_DOUBLE.replace('"double"', repr(self.function)))
        return self.wrong + "\n" + code


# Toy cases whose outcome does not depend on the toy's two answers: they keep the
# reference (toy score 5: full marks), or attack in place of the first answer and leave
# it wrong unless the attack worked (toy score 3: the control's score), or are not
# notebooks at all (0). Left out: those that break several answers, or the student's own
# later code (numpy or builtins patched), or call the first answer until a per-call
# limit or the restart limit (many tests call it), or write toy-specific files.
REAL_ASSIGNMENT_CASES = (
    "access_destroy", "access_kill_everyone", "crash_os_exit", "crash_segfault",
    "exit_sys_exit", "hang_cell", "hang_ignoring_signals", "hang_slow_cells",
    "memory_bomb_cell", "fork_bomb", "thread_bomb", "background_processes", "flood_print",
    "flood_fd", "flood_disk", "flood_cells", "proto_huge_output", "proto_close_channel",
    "text_surrogates", "text_control_chars", "feedback_script", "honest_plots_and_magics",
    "honest_errors_and_unicode", "honest_old_nbformat", "broken_timestamp",
    "broken_timestamp_link",
    "fool_patch_checks", "fool_equal_to_anything", "fool_ndarray_subclass",
    "fool_builtin_subclasses", "fool_fake_reference_dict", "fool_import_convnets",
    "fool_read_sources", "fool_find_hidden_tests", "fool_grading_seed",
    "access_write_outside", "access_other_student", "access_network", "access_proc_snoop",
    "proto_deep_value", "proto_lying_array", "proto_pickle_array",
    "broken_binary", "broken_json_list", "broken_cells_not_list", "broken_cell_source",
    "broken_metadata", "broken_deep_json", "broken_huge", "broken_many_cells",
    "broken_symlink", "broken_symlinked_folder", "broken_fifo", "broken_directory",
    "broken_empty_notebook",
)


def control_case(assignment: str) -> Case:
    """The reference with its first answer left as released: what a case scoring 3 on
    the toy must score on a real assignment."""
    return Case("control_first_wrong", "honest", "the first answer left as released", 3,
                GRADED, answer("answer_double", WRONG_DOUBLE), assignment=assignment)


def real_cases(assignment: str, share: int = 0, shares: int = 1) -> list[Case]:
    """The adaptable toy cases as cases of a real assignment (their ``score`` is still
    the toy's: 5 full marks, 3 the control's score, 0 nothing; see :func:`real_score`).
    ``share`` of ``shares``: a fixed part of them (every case falls in one share), so
    that each assignment of a run takes different cases."""
    import dataclasses

    picked = [c for c in toy_cases() if c.student in REAL_ASSIGNMENT_CASES]
    return [dataclasses.replace(c, assignment=assignment)
            for i, c in enumerate(picked) if i % shares == share]


def real_score(toy_score: float, max_score: float, control_score: float) -> float:
    return {5: max_score, 3: control_score, 0: 0.0}[toy_score]


def write_corpus(submissions: Path, reference_nb: dict, ctx: Context,
                 cases: list[Case] | None = None, victim: bool = True) -> list[Case]:
    """Write every case (and the victim) under ``submissions``; returns the cases."""
    cases = (cases if cases is not None else toy_cases()) + ([victim_case()] if victim else [])
    for case in cases:
        case.materialize(submissions, reference_nb, ctx)
    return cases


def leftover_processes(marker: str) -> list[str]:
    """Processes whose environment carries the corpus marker (started by a submission)."""
    import psutil

    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        try:
            if proc.environ().get("HOSTILE_CORPUS") == marker:
                found.append(f"{proc.pid}: {' '.join(proc.info['cmdline'] or [])}")
        except (psutil.Error, OSError):
            continue
    return found


def _main(argv):
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--course", type=Path, default=Path("out/course"))
    parser.add_argument("--reference", type=Path, default=None,
                        help="the toy reference notebook (default: COURSE/solutions/toy)")
    args = parser.parse_args(argv)
    reference = args.reference or args.course / "solutions" / "toy" / "toy.ipynb"
    ctx = Context(course=args.course.resolve(), submissions=args.out.resolve(),
                  repo=Path(__file__).resolve().parents[1])
    cases = write_corpus(args.out, json.loads(reference.read_text()), ctx)
    print(f"{len(cases)} submissions in {args.out}; process marker {ctx.marker}")





# ---------------------------------------------------------------------------------------
# A built course, shared by the test modules of one pytest run
# ---------------------------------------------------------------------------------------

_BUILT: dict[str, Path] = {}


def built_course(tmp_path_factory, assignments=("guarded", "toy")) -> tuple[Path, Path]:
    """A course with the given fixture assignments built once per test session;
    returns (assignments folder, a fresh copy of the course for the caller)."""
    import shutil

    from autograder import course as course_mod

    key = ",".join(assignments)
    if key not in _BUILT:
        root = tmp_path_factory.mktemp("built-" + "-".join(assignments))
        fixtures = Path(__file__).parent / "fixtures"
        for name in assignments:
            shutil.copytree(fixtures / name, root / "assignments" / name)
        old = course_mod.ASSIGNMENTS_DIR
        course_mod.ASSIGNMENTS_DIR = root / "assignments"
        try:
            course_mod.build(root / "course", list(assignments))
        finally:
            course_mod.ASSIGNMENTS_DIR = old
        _BUILT[key] = root
    root = _BUILT[key]
    copy_to = tmp_path_factory.mktemp("course")
    shutil.copytree(root / "course", copy_to / "course")
    # nbgrader_config.py names the course root: point it at the copy.
    config = copy_to / "course" / "nbgrader_config.py"
    config.write_text(config.read_text().replace(str(root / "course"), str(copy_to / "course")))
    return root / "assignments", copy_to / "course"


__all__ = ["Case", "Context", "toy_cases", "guarded_cases", "victim_case", "write_corpus",
           "leftover_processes", "built_course", "Oracle", "real_cases", "control_case",
           "real_score", "REAL_ASSIGNMENT_CASES"]


if __name__ == "__main__":
    _main(sys.argv[1:])
