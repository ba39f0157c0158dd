"""Run student code in a separate, confined process and talk to it with plain data.

:class:`Sandbox` starts :mod:`autograder.runner` under bubblewrap (``bwrap``): a
read-only view of the machine in which the course folder, the instructor's sources,
the reference package, the submissions and the gradebook are replaced by empty
folders; no network; no capabilities; its own PID namespace, so nothing it starts
outlives it; a small writable tmpfs as its only scratch space; and resource limits
(address space, CPU time, file size). The grader talks to it over two pipes.

:class:`Session` adds what grading needs on top: per-call timeouts, and restarting a
sandbox that died or hung, replaying the cells that had run fine, so that one bad
function costs the tests that use it and not the whole submission.

Names the student defined appear in the grader as :class:`RemoteFunction` (callables)
and :class:`RemoteObject` (anything that is not plain data).
"""

from __future__ import annotations

import builtins
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import protocol

RUNNER_DIR = Path(__file__).resolve().parent


class SandboxDied(Exception):
    """The student's process ended (crash, os._exit, memory limit, signal)."""


class SandboxTimeout(Exception):
    """The student's code did not answer in time; the process was killed."""


class StudentError(Exception):
    """An exception raised by student code whose type is not a builtin one."""


@dataclass
class Limits:
    """Resource limits of one sandboxed process."""

    memory_bytes: int = 3 * 1024**3       # address space
    cpu_seconds: int = 600                # CPU time of the whole process
    file_bytes: int = 16 * 1024**2        # largest file it may write
    scratch_bytes: int = 64 * 1024**2     # size of its tmpfs scratch folder
    call_timeout: float = 60.0            # seconds for one cell or one call
    start_timeout: float = 30.0


@dataclass
class SandboxConfig:
    limits: Limits = field(default_factory=Limits)
    hide: list[str] = field(default_factory=list)      # paths replaced by empty folders
    files: list[str] = field(default_factory=list)     # shown read-only in the working dir
    python: str = sys.executable
    use_bwrap: bool | None = None                       # None: use it when available


def bwrap_available() -> bool:
    return shutil.which("bwrap") is not None


def default_hidden_paths(*extra) -> list[str]:
    """Folders the student's process must not see: this project (instructor sources,
    solutions, hidden tests, the course folder and gradebook live under it), the reference
    package wherever it is installed, temporary folders and home directories."""
    paths = [str(RUNNER_DIR.parent), "/tmp", "/var/tmp", "/root", "/home", "/dev/shm"]
    for module in ("convnets", "autograder"):
        try:
            import importlib.util
            spec = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            spec = None
        for location in (spec.submodule_search_locations or []) if spec else []:
            paths.append(str(Path(location).resolve()))
    paths += [str(Path(p).resolve()) for p in extra if p]
    return sorted({p for p in paths if os.path.exists(p)})


class Sandbox:
    """One confined Python process running :mod:`autograder.runner`."""

    def __init__(self, config: SandboxConfig):
        self.config = config
        self.proc = None

    # ------------------------------------------------------------------ lifecycle
    def start(self):
        limits = self.config.limits
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        cmd = self._command(to_child_r, from_child_w)

        def confine():  # runs in the child between fork and exec
            os.setsid()
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            for res, value in ((resource.RLIMIT_AS, limits.memory_bytes),
                               (resource.RLIMIT_CPU, limits.cpu_seconds),
                               (resource.RLIMIT_FSIZE, limits.file_bytes),
                               (resource.RLIMIT_CORE, 0)):
                resource.setrlimit(res, (value, value))

        env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8",
               "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1",
               "PYTHONWARNINGS": "default"}
        cwd = "/"
        if not self._use_bwrap():
            # No namespaces: a private working folder with copies of the given files.
            import tempfile
            self._workdir = tempfile.TemporaryDirectory(prefix="autograder-")
            cwd = env["HOME"] = self._workdir.name
            for path in self.config.files:
                shutil.copy2(path, cwd)
        debug = os.environ.get("AUTOGRADER_DEBUG")
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=None if debug else subprocess.DEVNULL, pass_fds=(to_child_r, from_child_w),
            preexec_fn=confine, env=env, cwd=cwd,
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self.to_child = os.fdopen(to_child_w, "wb", buffering=0)
        self.from_child = os.fdopen(from_child_r, "rb", buffering=0)
        header, _ = self._receive(limits.start_timeout)
        if not header.get("ready"):
            raise SandboxDied("the sandbox did not start")

    def _use_bwrap(self) -> bool:
        if self.config.use_bwrap is None:
            return bwrap_available()
        return self.config.use_bwrap

    def _command(self, in_fd: int, out_fd: int) -> list[str]:
        runner = [self.config.python, "-I", "-X", "faulthandler"]
        if not self._use_bwrap():
            # Without bubblewrap only the resource limits and the process boundary hold.
            return runner + [str(RUNNER_DIR / "runner.py"), str(in_fd), str(out_fd)]
        cmd = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
               "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
               # The only writable place: a small tmpfs, also the working directory.
               "--size", str(self.config.limits.scratch_bytes), "--tmpfs", "/tmp"]
        hidden = _outermost(p for p in self.config.hide if not _under(p, "/tmp"))
        for path in hidden:
            cmd += ["--tmpfs", path]
        # The interpreter and its packages stay visible even if they live under a
        # hidden folder (a virtual environment inside the project)...
        python_home = str(Path(self.config.python).resolve().parents[1])
        venv_home = str(Path(self.config.python).parents[1])
        for keep in sorted({python_home, venv_home}):
            if any(_under(keep, h) for h in [*hidden, "/tmp"]):
                cmd += ["--ro-bind", keep, keep]
                # ...but never the reference package or the grader inside them.
                for path in self.config.hide:
                    if _under(path, keep) and path != keep:
                        cmd += ["--tmpfs", path, "--remount-ro", path]
        for path in hidden:      # empty and read-only (after the binds made inside them)
            cmd += ["--remount-ro", path]
        for path in self.config.files:
            cmd += ["--ro-bind", str(Path(path).resolve()), f"/tmp/{Path(path).name}"]
        cmd += ["--ro-bind", str(RUNNER_DIR / "runner.py"), "/tmp/.grader/runner.py",
                "--ro-bind", str(RUNNER_DIR / "protocol.py"), "/tmp/.grader/protocol.py",
                "--chdir", "/tmp"]
        return cmd + runner + ["/tmp/.grader/runner.py", str(in_fd), str(out_fd)]

    def close(self):
        """Kill the process and everything it started (its own session / PID namespace)."""
        if self.proc is None:
            return
        for stream in ("to_child", "from_child"):
            try:
                getattr(self, stream).close()
            except Exception:  # noqa: BLE001
                pass
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.proc = None
        workdir = getattr(self, "_workdir", None)
        if workdir is not None:
            workdir.cleanup()
            self._workdir = None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # ------------------------------------------------------------------ messages
    def request(self, header: dict, blobs=None, timeout: float | None = None):
        timeout = self.config.limits.call_timeout if timeout is None else timeout
        try:
            protocol.write_message(self.to_child, header, blobs)
        except (BrokenPipeError, OSError) as err:
            raise SandboxDied(self._death_reason()) from err
        return self._receive(timeout)

    def _receive(self, timeout: float):
        deadline = time.monotonic() + timeout
        buffer = _DeadlineReader(self.from_child, deadline)
        try:
            return protocol.read_message(buffer)
        except TimeoutError:
            self.close()
            raise SandboxTimeout(f"no answer within {timeout:.0f} s") from None
        except (EOFError, protocol.ProtocolError, OSError) as err:
            reason = self._death_reason()
            self.close()
            raise SandboxDied(reason) from err

    def _death_reason(self) -> str:
        if self.proc is None:
            return "the sandbox was closed"
        try:
            code = self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return "the student's process stopped answering"
        if code < 0:
            name = signal.Signals(-code).name
            hint = {"SIGXCPU": " (CPU time limit)", "SIGSEGV": " (segmentation fault)",
                    "SIGKILL": " (killed, possibly the memory limit)"}.get(name, "")
            return f"the student's process was killed by {name}{hint}"
        return f"the student's process exited with code {code}"


def _under(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip(os.sep) + os.sep)


def _outermost(paths) -> list[str]:
    """Drop paths that lie inside another path of the list."""
    paths = sorted(set(paths))
    return [p for p in paths if not any(_under(p, q) and p != q for q in paths)]


class _DeadlineReader:
    """File-like reader that raises TimeoutError once a deadline passes."""

    def __init__(self, stream, deadline: float):
        self.stream, self.deadline = stream, deadline

    def read(self, n: int) -> bytes:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        ready, _, _ = select.select([self.stream], [], [], remaining)
        if not ready:
            raise TimeoutError
        return os.read(self.stream.fileno(), min(n, 1 << 20))


# ---------------------------------------------------------------------------------------
# A grading session: cells, calls, restarts
# ---------------------------------------------------------------------------------------

@dataclass
class Event:
    kind: str          # "timeout" or "crash"
    where: str         # which cell or call
    detail: str


class Session:
    """The student's namespace, kept alive across crashes by replaying good cells."""

    def __init__(self, config: SandboxConfig, max_restarts: int = 5):
        self.config = config
        self.max_restarts = max_restarts
        self.sandbox = None
        self.good_cells: list[tuple[str, str]] = []
        self.events: list[Event] = []
        self.generation = 0          # bumps on every restart; old object refs go stale
        self.restarts = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.sandbox is not None:
            self.sandbox.close()
            self.sandbox = None

    def _ensure(self):
        if self.sandbox is not None and self.sandbox.alive:
            return
        if self.sandbox is not None:
            self.sandbox.close()
            if self.restarts >= self.max_restarts:
                raise SandboxDied("too many crashes or timeouts: grading of this "
                                  "submission stopped")
            self.restarts += 1
        self.generation += 1
        self.sandbox = Sandbox(self.config)
        self.sandbox.start()
        for name, code in self.good_cells:
            header, _ = self.sandbox.request({"op": "exec", "code": code, "filename": name})

    def _record(self, kind: str, where: str, err: Exception):
        self.events.append(Event(kind, where, str(err)))
        if self.sandbox is not None:
            self.sandbox.close()

    # ---------------------------------------------------------------- student cells
    def run_cell(self, name: str, code: str) -> dict:
        """Execute one cell; returns {ok, stdout, stderr, error} (error may be a
        timeout or crash description)."""
        try:
            self._ensure()
            header, _ = self.sandbox.request({"op": "exec", "code": code, "filename": name})
        except SandboxTimeout as err:
            self._record("timeout", name, err)
            return _failure("TimeoutError", f"cell {name} did not finish: {err}")
        except SandboxDied as err:
            self._record("crash", name, err)
            return _failure("Crash", f"cell {name} crashed: {err}")
        if header.get("ok"):
            self.good_cells.append((name, code))
        return {"ok": bool(header.get("ok")), "stdout": _text(header.get("stdout")),
                "stderr": _text(header.get("stderr")), "error": header.get("error")}

    def names(self) -> list[tuple[str, str]]:
        self._ensure()
        header, _ = self.sandbox.request({"op": "names"})
        return [(str(n), str(k)) for n, k in header.get("names", [])
                if isinstance(n, str) and n.isidentifier()]

    # ---------------------------------------------------------------- remote access
    def request_value(self, header: dict, where: str, args_blobs=None):
        """Send a request whose answer carries a value; decode it strictly."""
        generation = self.generation
        try:
            self._ensure()
            if generation != self.generation and _mentions_refs(header):
                raise StudentError("this object was lost when the student's process "
                                   "was restarted after a crash or timeout")
            reply, blobs = self.sandbox.request(header, args_blobs)
        except SandboxTimeout as err:
            self._record("timeout", where, err)
            raise TimeoutError(f"{where} did not return within "
                               f"{self.config.limits.call_timeout:.0f} s") from None
        except SandboxDied as err:
            self._record("crash", where, err)
            raise RuntimeError(f"{where} crashed the student's process: {err}") from None
        if not reply.get("ok"):
            raise _rebuild_exception(reply.get("error") or {})
        if "value" not in reply:
            return None
        return protocol.decode(reply["value"], blobs, self._proxy_for_ref)

    def _proxy_for_ref(self, ref_id: int):
        return RemoteObject(self, ref_id, self.generation)

    def encode_args(self, value, blobs):
        def to_ref(obj):
            if isinstance(obj, RemoteObject):
                return protocol.Ref(object.__getattribute__(obj, "_ref"))
            raise TypeError(f"cannot pass a {type(obj).__name__} to student code")
        return _encode_with_remotes(value, blobs, to_ref)


def _encode_with_remotes(value, blobs, to_ref):
    if isinstance(value, RemoteObject):
        return {"$ref": to_ref(value).id}
    return protocol.encode(value, blobs, to_ref)


def _mentions_refs(header) -> bool:
    return "ref" in header or "$ref" in repr(header)


def _text(value) -> str:
    return value if isinstance(value, str) else ""


def _failure(ename: str, message: str) -> dict:
    return {"ok": False, "stdout": "", "stderr": "",
            "error": {"ename": ename, "base": "RuntimeError", "evalue": message,
                      "traceback": []}}


def _rebuild_exception(error: dict) -> BaseException:
    """The student's exception, as the nearest builtin type, so that tests checking
    ``ValueError`` for bad input work through the proxy."""
    ename = str(error.get("ename", "Exception"))
    base = str(error.get("base", "Exception"))
    message = str(error.get("evalue", ""))
    trace = "".join(str(line) for line in error.get("traceback", []) if isinstance(line, str))
    cls = getattr(builtins, base, None)
    if not (isinstance(cls, type) and issubclass(cls, Exception)) or base in (
            "SystemExit", "KeyboardInterrupt", "GeneratorExit"):
        cls = StudentError
    text = message if ename == base else f"{ename}: {message}"
    try:
        exc = cls(text)
    except Exception:  # noqa: BLE001 - builtins with unusual constructors
        exc = StudentError(text)
    exc.student_traceback = trace
    return exc


class RemoteFunction:
    """A callable the student defined; calling it runs it in the sandbox."""

    def __init__(self, session: Session, name: str):
        self._session, self._name = session, name
        self.__name__ = name

    def __call__(self, *args, **kwargs):
        blobs = []
        header = {"op": "call", "name": self._name,
                  "args": self._session.encode_args(list(args), blobs),
                  "kwargs": self._session.encode_args(dict(kwargs), blobs)}
        return self._session.request_value(header, f"{self._name}()", blobs)

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        # Class attributes and static methods of a student-defined class.
        blobs = []
        value = self._session.request_value(
            {"op": "get", "name": self._name}, self._name, blobs)
        if isinstance(value, RemoteObject):
            return getattr(value, attr)
        raise AttributeError(attr)

    def __repr__(self):
        return f"<student function {self._name}>"


class RemoteObject:
    """An object that lives in the student's process (a cache, a model, ...)."""

    __slots__ = ("_session", "_ref", "_generation")

    def __init__(self, session: Session, ref: int, generation: int):
        object.__setattr__(self, "_session", session)
        object.__setattr__(self, "_ref", ref)
        object.__setattr__(self, "_generation", generation)

    def _request(self, header, where, blobs=None):
        session = object.__getattribute__(self, "_session")
        if object.__getattribute__(self, "_generation") != session.generation:
            raise RuntimeError("this student object was lost when the student's process "
                               "was restarted after a crash or timeout")
        header["ref"] = object.__getattribute__(self, "_ref")
        return session.request_value(header, where, blobs)

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return self._request({"op": "getattr", "attr": attr}, f"attribute .{attr}")

    def __setattr__(self, attr, value):
        blobs = []
        session = object.__getattribute__(self, "_session")
        self._request({"op": "setattr", "attr": attr,
                       "value": session.encode_args(value, blobs)}, f"setting .{attr}", blobs)

    def __getitem__(self, key):
        blobs = []
        session = object.__getattribute__(self, "_session")
        return self._request({"op": "getitem", "key": session.encode_args(key, blobs)},
                             "indexing", blobs)

    def __setitem__(self, key, value):
        blobs = []
        session = object.__getattribute__(self, "_session")
        self._request({"op": "setitem", "key": session.encode_args(key, blobs),
                       "value": session.encode_args(value, blobs)}, "item assignment", blobs)

    def __call__(self, *args, **kwargs):
        blobs = []
        session = object.__getattribute__(self, "_session")
        return self._request({"op": "call", "args": session.encode_args(list(args), blobs),
                              "kwargs": session.encode_args(dict(kwargs), blobs)},
                             "calling a student object", blobs)

    def __repr__(self):
        return "<student object>"
