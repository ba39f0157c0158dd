"""The sandbox on its own: what student code can see, write and start; limits,
interrupts, restarts and the time budget; the proxies that stand for student objects."""

import gc
import os
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

from autograder.sandbox import (
    Limits,
    RemoteFunction,
    RemoteObject,
    Sandbox,
    SandboxConfig,
    Session,
    StudentError,
    default_hidden_paths,
)

REPO = Path(__file__).resolve().parents[1]
FAST = Limits(call_timeout=2.0, submission_timeout=30.0, memory_bytes=1024**3)


def session(tmp_path=None, **limits):
    files = []
    if tmp_path is not None:
        (tmp_path / "given.txt").write_text("given data")
        files = [str(tmp_path / "given.txt")]
    limits = Limits(**{**FAST.__dict__, **limits})
    return Session(SandboxConfig(limits=limits, hide=default_hidden_paths(tmp_path),
                                 files=files))


def run(s, code):
    out = s.run_cell("<test>", code)
    assert out["ok"], out
    return out["stdout"]


def _env_entries_in_tmp() -> set[str]:
    """Folders that lead to a Python environment living under /tmp (a CI clone there):
    they appear in the sandbox's /tmp as mount points of the environment."""
    parts = [Path(p).resolve().parts for p in (sys.prefix, sys.base_prefix)]
    return {p[2] for p in parts if len(p) > 2 and p[1] == "tmp"}


def test_student_code_sees_only_the_system_python_and_its_scratch(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("the hidden tests")
    with session(tmp_path) as s:
        out = run(s, f'''
import os, sys
print(sorted(os.listdir("/")))
print(sorted(os.listdir("/tmp")))
print(open("/tmp/given.txt").read())
for path in [{str(secret)!r}, {str(REPO / "pyproject.toml")!r}, "/etc/passwd", "/etc/shadow",
             {str(REPO / "solutions" / "convnets" / "__init__.py")!r}, "/root/.bashrc"]:
    try:
        open(path).read()
        print("READ", path)
    except OSError:
        pass
for module in ("convnets", "autograder"):
    try:
        __import__(module)
        print("IMPORTED", module)
    except ImportError:
        pass
print(os.getuid(), os.getcwd())
''')
    lines = out.splitlines()
    # The Python environment is bound at its own path, wherever the clone lives (CI may
    # put it under /tmp or /builds): the folders leading to it appear, empty but for it.
    env_parts = {Path(p).resolve().parts[1:3] for p in (sys.prefix, sys.base_prefix)}
    allowed_root = {"bin", "dev", "etc", "lib", "lib32", "lib64", "libx32", "proc", "sbin",
                    "tmp", "usr"} | {parts[0] for parts in env_parts}
    assert set(eval(lines[0])) <= allowed_root
    assert set(eval(lines[1])) - _env_entries_in_tmp() == {".grader", "given.txt"}
    assert lines[2] == "given data"
    assert "READ" not in out and "IMPORTED" not in out
    uid, cwd = lines[-1].split()
    assert cwd == "/tmp"
    if os.getuid() == 0:
        assert int(uid) >= 200_000          # root gave way to an unprivileged user id


def test_only_scratch_is_writable_and_it_is_bounded(tmp_path):
    with session(tmp_path, scratch_bytes=8 * 1024**2, file_bytes=4 * 1024**2) as s:
        out = run(s, f'''
import os
for folder in ["/", "/etc", "/usr", "/root", {str(tmp_path)!r}, {str(REPO)!r}, "/var/tmp",
               "{sys.prefix}"]:
    try:
        open(os.path.join(folder, "x"), "w").write("x")
        print("WROTE", folder)
    except OSError:
        pass
open("/tmp/ok", "w").write("ok")
open("/dev/shm/ok", "w").write("ok")
try:
    open("/tmp/big", "wb").write(b"0" * 6 * 1024**2)
except OSError as err:
    print("too big:", err.errno)
''')
    assert "WROTE" not in out and "too big" in out
    assert not (tmp_path / "x").exists()


def test_no_network_and_no_capabilities():
    with session() as s:
        out = run(s, '''
import socket
try:
    socket.create_connection(("127.0.0.1", 22), timeout=1)
    print("CONNECTED")
except OSError:
    pass
print([l.split()[1] for l in open("/proc/self/status") if l.startswith(("CapEff", "NoNewPrivs"))])
''')
    assert "CONNECTED" not in out
    assert "['0000000000000000', '1']" in out


def test_processes_are_capped_and_die_with_the_sandbox():
    with session(max_processes=16) as s:
        out = run(s, '''
import os, subprocess, time
children = []
try:
    for _ in range(40):
        children.append(subprocess.Popen(["sleep", "321"]))
except OSError as err:
    print("capped after", len(children))
''')
        assert "capped after" in out and int(out.split()[-1]) < 16
        sleepers = [p for p in psutil.process_iter(["cmdline"])
                    if p.info["cmdline"] == ["sleep", "321"]]
        assert sleepers
    gone, alive = psutil.wait_procs(sleepers, timeout=10)
    assert not alive


def test_a_timeout_interrupts_and_keeps_the_namespace():
    with session() as s:
        run(s, "x = 41")
        out = s.run_cell("<slow>", "import time\ntime.sleep(60)")
        assert not out["ok"] and s.restarts == 0
        assert s.events[-1].kind == "timeout" and "interrupted" in s.events[-1].detail
        assert run(s, "print(x + 1)").strip() == "42"


def test_a_hang_that_ignores_interrupts_is_killed_and_good_cells_replayed():
    with session() as s:
        run(s, "x = 41")
        start = time.monotonic()
        out = s.run_cell("<hang>", "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)"
                                   "\nwhile True:\n    pass")
        assert not out["ok"] and time.monotonic() - start < 5
        assert run(s, "print(x + 1)").strip() == "42" and s.restarts == 1


def test_crashes_restart_until_the_limit():
    with session() as s:
        run(s, "import os\ndef boom():\n    os._exit(1)")
        boom = RemoteFunction(s, "boom")
        for _ in range(s.max_restarts + 1):       # the first process and its restarts
            with pytest.raises(RuntimeError, match="crashed"):
                boom()
        with pytest.raises(RuntimeError, match="not run"):
            boom()
        assert s.restarts == s.max_restarts and "too many" in s.dead
        start = time.monotonic()
        with pytest.raises(RuntimeError, match="not run"):
            boom()
        assert time.monotonic() - start < 0.1


def test_the_budget_covers_everything():
    with session(call_timeout=1.0, submission_timeout=3.0) as s:
        run(s, "import time\ndef nap():\n    time.sleep(0.4)\n    return 1")
        nap = RemoteFunction(s, "nap")
        start = time.monotonic()
        calls = 0
        with pytest.raises(TimeoutError, match="budget"):
            for _ in range(100):
                nap()
                calls += 1
        assert 3 <= calls < 8 and time.monotonic() - start < 4
        out = s.run_cell("<late>", "print(1)")
        assert not out["ok"] and "not run" in out["error"]["evalue"]


def test_memory_limit_is_an_event_and_frees_the_process():
    with session(memory_bytes=512 * 1024**2) as s:
        run(s, "keep = 1")
        out = s.run_cell("<hog>", "hog = bytearray(1024**3)")
        assert out["error"]["ename"] == "MemoryError"
        assert s.events[-1].kind == "memory" and "512 MB" in s.events[-1].detail
        assert run(s, "print(keep, 'hog' in globals())").split() == ["1", "False"]


def test_exceptions_cross_as_builtin_types_or_student_errors():
    with session() as s:
        run(s, '''
class Mine(Exception):
    pass
def bad_value(x):
    raise ValueError(f"bad {x}")
def mine():
    raise Mine("custom")
def leave():
    raise SystemExit(3)
''')
        with pytest.raises(ValueError, match="bad 3") as info:
            RemoteFunction(s, "bad_value")(3)
        assert "raise ValueError" in info.value.student_traceback
        with pytest.raises(Exception, match="Mine: custom") as info:   # its builtin base
            RemoteFunction(s, "mine")()
        assert type(info.value) is Exception
        with pytest.raises(StudentError, match="SystemExit"):
            RemoteFunction(s, "leave")()


def test_remote_objects_work_and_are_released():
    with session() as s:
        run(s, '''
import gc
class Model:
    def __init__(self):
        self.params = {"W": [1.0, 2.0]}
        self.items = [3, 4, 5]
    def __getitem__(self, i):
        return self.items[i]
    def __setitem__(self, i, v):
        self.items[i] = v
    def __iter__(self):
        return iter(self.items)
    def loss(self, x):
        return float(sum(x))
def make():
    return Model()
def held():
    runner = [o for o in gc.get_objects() if type(o).__name__ == "Runner"][0]
    return len(runner.objects)
''')
        model = RemoteFunction(s, "make")()
        assert isinstance(model, RemoteObject)
        assert model.params == {"W": [1.0, 2.0]} and model.loss(np.ones(3)) == 3.0
        model.items = [7, 8]
        model[0] = 9
        assert list(model) == [9, 8] and model[1] == 8
        assert RemoteFunction(s, "held")() == 1
        del model
        gc.collect()
        RemoteFunction(s, "held")()                      # carries the release
        assert RemoteFunction(s, "held")() == 0


def test_a_restart_invalidates_old_objects():
    with session() as s:
        run(s, "import os\nclass A:\n    x = 1\ndef make():\n    return A()\n"
               "def die():\n    os._exit(1)")
        a = RemoteFunction(s, "make")()
        assert a.x == 1
        with pytest.raises(RuntimeError):
            RemoteFunction(s, "die")()
        with pytest.raises(RuntimeError, match="lost"):
            a.x  # noqa: B018


def test_replies_larger_than_the_limit_crash_the_call():
    with session(message_bytes=1024**2) as s:
        run(s, "import numpy as np\ndef big():\n    return np.zeros(10**6)")
        with pytest.raises(RuntimeError, match="too large"):
            RemoteFunction(s, "big")()
        assert s.events[-1].kind == "crash"


def test_without_bubblewrap_limits_and_the_process_boundary_still_hold():
    config = SandboxConfig(limits=FAST, use_bwrap=False)
    with Session(config) as s:
        assert not s.sandboxed
        out = s.run_cell("<a>", "import os\nprint(os.getcwd(), os.getuid())")
        assert out["ok"]
        cwd, uid = out["stdout"].split()
        assert "autograder-" in cwd
        # Root is given up only if everyone may run the interpreter where it is.
        assert (int(uid) >= 200_000) == Sandbox(config)._drop_root()
        out = s.run_cell("<b>", "import time\ntime.sleep(60)")
        assert not out["ok"] and s.restarts == 0


def test_hidden_packages_inside_the_environment_are_masked():
    """The reference package installed *inside* the interpreter's folders (a normal
    install) is masked: here nbformat stands in for it."""
    import nbformat

    package = str(Path(nbformat.__file__).parent)
    config = SandboxConfig(limits=FAST, hide=[package])
    with Session(config) as s:
        out = run(s, f'''
import os
print(os.listdir({package!r}))
try:
    import nbformat
    print("IMPORTED")
except ImportError:
    print("masked")
''')
    assert out.split() == ["['__init__.py']", "masked"]


def test_an_unusable_bubblewrap_is_detected_and_said(monkeypatch, capsys):
    from autograder import sandbox

    monkeypatch.setattr(sandbox, "_BWRAP", None)
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    assert sandbox.bwrap_available() is False
    assert "WITHOUT the sandbox" in capsys.readouterr().err
    assert not Session(SandboxConfig()).sandboxed
    monkeypatch.undo()
    # A bwrap older than 0.7 (no --size) still sandboxes, with unbounded scratch.
    monkeypatch.setattr(sandbox, "_BWRAP", None)
    monkeypatch.setattr(sandbox, "_runs", lambda cmd: "--size" not in cmd)
    assert sandbox.bwrap_available() is True and "older than 0.7" in capsys.readouterr().err
    assert "--size" not in sandbox.Sandbox(SandboxConfig())._command(3, 4)
    monkeypatch.undo()
    assert sandbox.bwrap_available() is True


def test_a_forking_memory_bomb_is_bounded_for_the_whole_submission():
    """Three children touching 250 MB each under a 400 MB limit: with a cgroup (root with
    writable cgroups, as on the grading machines) the limit holds for the sandbox as a
    whole and the kernel kills some; without one it holds per process only."""
    with session(memory_bytes=400 * 1024**2, max_processes=16, call_timeout=30.0) as s:
        run(s, "pass")
        cgroup = s.sandbox.cgroup
        folders = list(cgroup.dirs) if cgroup is not None else []
        result = s.run_cell("<bomb>", '''
import os, numpy as np
kids = []
for _ in range(3):
    pid = os.fork()
    if pid == 0:
        block = np.ones(250 * 1024**2 // 8)
        os._exit(0)
    kids.append(pid)
print(sorted(os.waitstatus_to_exitcode(os.waitpid(k, 0)[1]) for k in kids))
''')
        if cgroup is not None:
            # The kernel killed a child (or the runner itself: then the cell crashed).
            assert (result["ok"] and eval(result["stdout"])[0] == -9) or \
                "SIGKILL" in result["error"]["evalue"], result
        else:
            assert result["ok"] and eval(result["stdout"]) == [0, 0, 0], result
    assert not any(folder.exists() for folder in folders)    # removed with the sandbox


def test_support_folders_are_shown_read_only_but_never_notebooks(tmp_path):
    from autograder.execute import support_files

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "numbers.txt").write_text("1 2 3")
    (tmp_path / "answers").mkdir()
    (tmp_path / "answers" / "solution.ipynb").write_text("{}")
    (tmp_path / "hw.ipynb").write_text("{}")
    (tmp_path / "helpers.py").write_text("X = 1")
    shown = support_files(tmp_path)
    assert [Path(p).name for p in shown] == ["data", "helpers.py"]
    config = SandboxConfig(limits=FAST, files=shown)
    with Session(config) as s:
        out = run(s, '''
import os
from helpers import X
print(sorted(os.listdir(".")), open("data/numbers.txt").read(), X)
try:
    open("data/new.txt", "w")
except OSError:
    print("read-only")
''')
    listing, rest = out.split("\n")[0].split("]", 1)
    assert set(eval(listing + "]")) - _env_entries_in_tmp() == {".grader", "data", "helpers.py"}
    assert rest == " 1 2 3 1"
    assert "read-only" in out
