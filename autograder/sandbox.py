"""Run student code in a separate, confined process and talk to it with plain data.

:class:`Sandbox` starts :mod:`autograder.runner` under bubblewrap (``bwrap``) in a view
of the machine built from nothing: the system's ``/usr`` (and its ``/bin``, ``/lib``
links), a few files of ``/etc`` that the dynamic loader needs, the Python interpreter
and its packages, all read-only; a fresh ``/proc`` and a minimal ``/dev``; and two
small private tmpfs folders, ``/tmp`` (the working directory, holding read-only copies
of the assignment's support files) and ``/dev/shm``, the only writable places. Nothing
else exists in there: not the course folder, the instructor's sources, the hidden
tests, the submissions, the gradebook, home folders or the notebook being graded; and
the reference package and the grader are masked even inside the interpreter's
packages. No network; own PID, IPC and UTS namespaces, so nothing it starts outlives
it; no capabilities and ``no_new_privs``. When the grader runs as root, the runner
switches to an unprivileged user id of its own before it reads any student code, so
that ``RLIMIT_NPROC`` bounds a fork bomb (it does not bind root). Resource limits:
address space (memory), CPU time, file size, processes; a wall-clock limit per cell
or call and a total budget per submission.

:class:`Session` adds what grading needs on top: timeouts, the per-submission budget,
and restarting a sandbox that died or hung, replaying the cells that had run fine, so
that one bad function costs the tests that use it and not the whole submission.
Everything the student's process sends is checked: replies must carry the (random) id
of their request, have the expected fields and types, and decode to plain data. A cell
or call that runs out of time is first interrupted (SIGINT, a ``KeyboardInterrupt`` in
the student's code, as Jupyter does), and the process killed only if that fails.

Names the student defined appear in the grader as :class:`RemoteFunction` (callables)
and :class:`RemoteObject` (anything that is not plain data).
"""

from __future__ import annotations

import builtins
import itertools
import os
import resource
import secrets
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

# The few files of /etc a Python process may need (shared-library lookup, time zone,
# the `alternatives` links of /usr/bin). Never passwd, shadow, hosts or the like.
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "alternatives")

MAX_EVENTS = 20            # crash/timeout events kept per submission
MASKED_INIT = b"raise ImportError('not available while grading')\n"
TEXT_LIMIT = 64 * 1024     # characters of a reply's stdout/stderr kept


class SandboxDied(Exception):
    """The student's process ended (crash, os._exit, memory limit, signal)."""


class SandboxTimeout(Exception):
    """The student's code did not answer in time. Either it was interrupted (a
    ``KeyboardInterrupt`` in the student's code, the process and its namespace live on:
    ``interrupted`` is true) or the process was killed."""

    interrupted = False


class BudgetExhausted(SandboxTimeout):
    """The submission's total time budget is used up."""


class StudentError(Exception):
    """An exception raised by student code whose type is not a builtin one."""


@dataclass
class Limits:
    """Resource limits of one submission's sandboxed process."""

    memory_bytes: int = 3 * 1024**3       # address space of each process
    cpu_seconds: int = 600                # CPU time of each process
    file_bytes: int = 16 * 1024**2        # largest file it may write
    scratch_bytes: int = 64 * 1024**2     # size of each tmpfs (/tmp, /dev/shm)
    max_processes: int = 64               # processes and threads (RLIMIT_NPROC)
    # Largest reply, arrays included. The largest legitimate one in the assignments is
    # about 9 MB (im2col of a 227x227 image: 363 x 3025 float64); what a reply costs
    # the grader grows with it, so it is kept a few times above that.
    message_bytes: int = 64 * 1024**2
    call_timeout: float = 60.0            # seconds for one cell or one call
    submission_timeout: float = 600.0     # seconds for everything of one submission
    start_timeout: float = 30.0


@dataclass
class SandboxConfig:
    limits: Limits = field(default_factory=Limits)
    hide: list[str] = field(default_factory=list)      # paths masked if visible at all
    files: list[str] = field(default_factory=list)     # files and folders shown read-only
                                                        # in the working folder
    python: str = sys.executable
    use_bwrap: bool | None = None                       # None: use it when available
    drop_root: bool | None = None                       # None: when the grader is root


_BWRAP: dict | None = None     # what the installed bwrap can do here (probed once)


def _bwrap_features() -> dict:
    global _BWRAP
    if _BWRAP is None:
        _BWRAP = {"works": False, "size": False}
        if shutil.which("bwrap"):
            base = ["bwrap", "--unshare-pid", "--unshare-net", "--unshare-ipc",
                    "--die-with-parent", "--ro-bind", "/", "/"]
            if os.getuid() != 0:
                base.insert(1, "--unshare-user")
            tmpfs = ["--perms", "1777", "--tmpfs", "/tmp"]
            sized = ["--perms", "1777", "--size", "1000000", "--tmpfs", "/tmp"]
            _BWRAP["size"] = _runs(base + sized + ["true"])
            _BWRAP["works"] = _BWRAP["size"] or _runs(base + tmpfs + ["true"])
        if not _BWRAP["works"]:
            print("autograder: bubblewrap (bwrap) is missing or cannot create namespaces "
                  "here: student code runs WITHOUT the sandbox", file=sys.stderr)
        elif not _BWRAP["size"]:
            print("autograder: this bubblewrap is older than 0.7 (no --size): the sandbox's "
                  "scratch folders are not size-limited", file=sys.stderr)
    return _BWRAP


def _runs(cmd: list[str]) -> bool:
    try:
        return subprocess.run(cmd, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def bwrap_available() -> bool:
    """``bwrap`` is installed and can make the namespaces the sandbox needs here (user
    namespaces may be disabled for unprivileged users). Checked once per process; when
    it fails, grading runs without the sandbox and says so (``"sandbox"`` in results,
    and a warning on stderr)."""
    return _bwrap_features()["works"]


def default_hidden_paths(*extra) -> list[str]:
    """Paths that must never be visible to student code even where the sandbox shows
    the interpreter's packages: this project, the reference package and the grader
    wherever they are installed, and the given course/submission folders. (The sandbox
    shows nothing outside its read-only system and Python folders anyway; this list is
    what gets masked *inside* those.)"""
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


_uid_counter = itertools.count()


def _sandbox_uid() -> int:
    """An unprivileged user id for one sandbox, distinct from the other sandboxes
    running at the same time (RLIMIT_NPROC counts the processes of a user id)."""
    return 200_000 + (os.getpid() % 40_000) * 64 + next(_uid_counter) % 64


class _Cgroup:
    """A memory and process limit for one sandbox and everything it starts, when this
    process may create cgroups: root with a writable cgroup v1 hierarchy, or a cgroup
    v2 subtree delegated with the memory and pids controllers. Without one, the limits
    are per process (``RLIMIT_AS``) and per user id (``RLIMIT_NPROC``)."""

    def __init__(self, dirs: list[Path]):
        self.dirs = dirs

    @classmethod
    def create(cls, limits: Limits) -> _Cgroup | None:
        try:
            own = {}
            with open("/proc/self/cgroup") as f:
                for line in f:
                    _, controllers, path = line.rstrip("\n").split(":", 2)
                    for controller in controllers.split(","):
                        own[controller] = path
        except (OSError, ValueError):
            return None
        name = f"autograder-{os.getpid()}-{secrets.token_hex(4)}"
        memory, nproc = str(limits.memory_bytes), str(limits.max_processes)
        root = Path("/sys/fs/cgroup")
        if "memory" in own and "pids" in own and (root / "memory").is_dir():      # v1
            plan = [(root / "memory" / own["memory"].lstrip("/") / name,
                     {"memory.limit_in_bytes": memory, "memory.memsw.limit_in_bytes": memory}),
                    (root / "pids" / own["pids"].lstrip("/") / name, {"pids.max": nproc})]
        elif "" in own and (root / "cgroup.controllers").is_file():               # v2
            base = root / own[""].lstrip("/")
            try:
                delegated = (base / "cgroup.subtree_control").read_text().split()
            except OSError:
                return None
            if not {"memory", "pids"} <= set(delegated):
                return None
            plan = [(base / name, {"memory.max": memory, "memory.swap.max": "0",
                                   "pids.max": nproc})]
        else:
            return None
        made = []
        try:
            for folder, settings in plan:
                _remove_stale_cgroups(folder.parent)
                folder.mkdir()
                made.append(folder)
                for key, value in settings.items():
                    if (folder / key).exists() or "memsw" not in key and "swap" not in key:
                        (folder / key).write_text(value)
        except OSError:
            cls(made).remove()
            return None
        return cls(made)

    def join(self):
        """Move the calling process into the cgroup (from the child, before exec)."""
        for folder in self.dirs:
            with open(folder / "cgroup.procs", "w") as f:
                f.write(str(os.getpid()))

    def remove(self):
        """Remove the cgroups, killing whatever is still in them (they hold only the
        sandbox's processes, which are being killed anyway)."""
        for folder in self.dirs:
            for attempt in range(250):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if attempt % 25 == 24:
                        self._kill_members(folder)
                    time.sleep(0.02)

    @staticmethod
    def _kill_members(folder: Path):
        try:
            pids = (folder / "cgroup.procs").read_text().split()
        except OSError:
            return
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (OSError, ValueError):
                pass


def _remove_stale_cgroups(parent: Path) -> None:
    """Remove the (empty) cgroups of grading processes that died without cleaning up."""
    try:
        entries = list(parent.glob("autograder-*-*"))
    except OSError:
        return
    for folder in entries:
        try:
            os.kill(int(folder.name.split("-")[1]), 0)
        except ProcessLookupError:
            try:
                folder.rmdir()
            except OSError:
                pass
        except (ValueError, OSError):
            continue


class Sandbox:
    """One confined Python process running :mod:`autograder.runner`."""

    def __init__(self, config: SandboxConfig):
        self.config = config
        self.proc = None
        self.cgroup: _Cgroup | None = None
        self._data_fds: list[int] = []

    # ------------------------------------------------------------------ lifecycle
    def start(self, timeout: float | None = None):
        limits = self.config.limits
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        self._data_fds = []
        cmd = self._command(to_child_r, from_child_w)

        self.cgroup = _Cgroup.create(limits) if self._use_bwrap() else None
        cgroup = self.cgroup

        def confine():  # runs in the child between fork and exec
            os.setsid()
            if cgroup is not None:
                cgroup.join()
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            for res, value in ((resource.RLIMIT_AS, limits.memory_bytes),
                               (resource.RLIMIT_CPU, limits.cpu_seconds),
                               (resource.RLIMIT_FSIZE, limits.file_bytes),
                               (resource.RLIMIT_CORE, 0)):
                resource.setrlimit(res, (value, value))

        env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8", "USER": "student",
               "LOGNAME": "student", "TMPDIR": "/tmp",
               "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "MPLBACKEND": "Agg", "AUTOGRADER_NPROC": str(limits.max_processes)}
        if self._drop_root():
            env["AUTOGRADER_UID"] = str(_sandbox_uid())
        cwd = "/"
        if not self._use_bwrap():
            # No namespaces: a private working folder with copies of the given files.
            import tempfile
            self._workdir = tempfile.TemporaryDirectory(prefix="autograder-")
            os.chmod(self._workdir.name, 0o1777)
            cwd = env["HOME"] = env["TMPDIR"] = self._workdir.name
            for path in self.config.files:
                if os.path.isdir(path):
                    shutil.copytree(path, os.path.join(cwd, os.path.basename(path)))
                else:
                    shutil.copy2(path, cwd)
        debug = os.environ.get("AUTOGRADER_DEBUG")
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=None if debug else subprocess.DEVNULL,
            pass_fds=(to_child_r, from_child_w, *self._data_fds),
            preexec_fn=confine, env=env, cwd=cwd,
        )
        for fd in (to_child_r, from_child_w, *self._data_fds):
            os.close(fd)
        self.to_child = os.fdopen(to_child_w, "wb", buffering=0)
        self.from_child = os.fdopen(from_child_r, "rb", buffering=0)
        start_timeout = limits.start_timeout if timeout is None else min(
            timeout, limits.start_timeout)
        header, _ = self._receive(start_timeout, None)
        if not header.get("ready"):
            raise SandboxDied("the sandbox did not start")

    def _data_fd(self, content: bytes) -> int:
        """A pipe holding ``content``, for bwrap's ``--ro-bind-data``."""
        read_end, write_end = os.pipe()
        os.write(write_end, content)
        os.close(write_end)
        self._data_fds.append(read_end)
        return read_end

    def _use_bwrap(self) -> bool:
        if self.config.use_bwrap is None:
            return bwrap_available()
        return self.config.use_bwrap

    def _drop_root(self) -> bool:
        if self.config.drop_root is None:
            # Without bwrap the interpreter is used where it is: an unprivileged user id
            # can only run it if its folders are open to everyone.
            return os.getuid() == 0 and (self._use_bwrap() or all(
                _open_to_all(p) for p in python_folders(self.config.python)))
        return self.config.drop_root

    def _command(self, in_fd: int, out_fd: int) -> list[str]:
        # -I ignores PYTHON* variables: -B (no bytecode in the scratch folder) and
        # -W default (warnings shown, as in Jupyter) are given as options.
        runner = [self.config.python, "-I", "-B", "-W", "default", "-X", "faulthandler"]
        if not self._use_bwrap():
            # Without bubblewrap only the resource limits, the user id (when started as
            # root) and the process boundary hold: not a safe way to grade strangers.
            return runner + [str(RUNNER_DIR / "runner.py"), str(in_fd), str(out_fd)]
        limits = self.config.limits
        cmd = ["bwrap", "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
               "--unshare-cgroup-try", "--die-with-parent", "--new-session",
               "--cap-drop", "ALL"]
        if self._drop_root():
            # No user namespace: the runner needs these two to switch to its own user id
            # (then it has no capability left at all).
            cmd += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        else:
            cmd += ["--unshare-user"]
        mounts = _Mounts(cmd)
        mounts.bind("/usr")
        for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            path = "/" + name
            if os.path.islink(path):
                cmd += ["--symlink", os.readlink(path), path]
                mounts.made.add(path)
            elif os.path.isdir(path):
                mounts.bind(path)
        for name in ETC_FILES:
            mounts.bind(f"/etc/{name}", must_exist=False)
        cmd += ["--proc", "/proc", "--dev", "/dev"]
        mounts.made |= {"/proc", "/dev"}
        sized = ["--size", str(limits.scratch_bytes)] if _bwrap_features()["size"] else []
        for path in ("/tmp", "/dev/shm"):
            cmd += ["--perms", "1777", *sized, "--tmpfs", path]
            mounts.made.add(path)
        shown = python_folders(self.config.python)
        for path in shown:
            mounts.bind(path)
        # The reference package and the grader may live inside the interpreter's
        # folders (an editable or a normal install): masked by empty read-only folders.
        inside = [p for p in self.config.hide + default_hidden_paths()
                  if any(_under(p, s) and p != s for s in shown) and os.path.isdir(p)]
        for path in _outermost(inside):
            # Empty, and not importable even as a namespace package.
            cmd += ["--perms", "0555", "--tmpfs", path,
                    "--perms", "0444", "--ro-bind-data", str(self._data_fd(MASKED_INIT)),
                    f"{path}/__init__.py",
                    "--remount-ro", path]
        for path in self.config.files:
            mounts.bind(str(Path(path).resolve()), f"/tmp/{Path(path).name}")
        mounts.bind(str(RUNNER_DIR / "runner.py"), "/tmp/.grader/runner.py")
        mounts.bind(str(RUNNER_DIR / "protocol.py"), "/tmp/.grader/protocol.py")
        cmd += ["--chdir", "/tmp"]
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
            except (ProcessLookupError, PermissionError):
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None
        workdir = getattr(self, "_workdir", None)
        if workdir is not None:
            # Without bwrap the runner's processes have no PID namespace to die with.
            workdir.cleanup()
            self._workdir = None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # ------------------------------------------------------------------ messages
    def request(self, header: dict, blobs=None, timeout: float | None = None):
        timeout = self.config.limits.call_timeout if timeout is None else timeout
        # Unpredictable ids: a reply sent ahead for a later request is caught too.
        request_id = secrets.randbits(52)
        try:
            protocol.write_message(self.to_child, {**header, "id": request_id}, blobs)
        except (BrokenPipeError, OSError, ValueError) as err:
            reason = self._death_reason()
            self.close()
            raise SandboxDied(reason) from err
        return self._receive(timeout, request_id)

    def _receive(self, timeout: float, request_id, interrupt: bool = True):
        deadline = time.monotonic() + max(timeout, 0.0)
        buffer = _DeadlineReader(self.from_child, deadline)
        try:
            header, blobs = protocol.read_message(buffer, self.config.limits.message_bytes)
            if header.get("id") != request_id:
                raise protocol.ProtocolError("a reply to another request")
            return header, blobs
        except TimeoutError:
            err = SandboxTimeout(f"no answer within {timeout:.3g} s")
            if interrupt and request_id is not None and not buffer.got \
                    and self._interrupt(request_id):
                err.interrupted = True
                raise err from None
            self.close()
            raise err from None
        except protocol.ProtocolError as err:
            self.close()
            raise SandboxDied(f"the student's process broke the protocol ({err})") from None
        except (EOFError, OSError, ValueError) as err:
            reason = self._death_reason()
            self.close()
            raise SandboxDied(reason) from err

    def _interrupt(self, request_id, grace: float = 1.0) -> bool:
        """Send SIGINT to the runner, as Jupyter's "interrupt the kernel" does, and wait
        ``grace`` seconds for its answer to ``request_id``. Only when the runner is the
        sandbox's only process (a fork bomb or a stray child means a kill instead)."""
        if self.proc is None:
            return False
        tree = _descendants(self.proc.pid)
        if not self._use_bwrap():
            if tree:
                return False
            runner = self.proc.pid
        elif len(tree) == 2:            # bwrap's init and the runner, nothing else
            parents = _process_parents()
            runner = next(pid for pid in tree if parents.get(pid) in tree)
        else:
            return False
        try:
            os.kill(runner, signal.SIGINT)
            self._receive(grace, request_id, interrupt=False)
        except (SandboxTimeout, SandboxDied, OSError):
            return False
        return self.alive

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
        if code > 128 and code - 128 in signal.Signals._value2member_map_:
            # bwrap reports its child's death by a signal as 128 + the signal number.
            name = signal.Signals(code - 128).name
            hint = {"SIGXCPU": " (CPU time limit)", "SIGSEGV": " (segmentation fault)",
                    "SIGKILL": " (killed, possibly the memory limit)",
                    "SIGABRT": " (aborted)"}.get(name, "")
            return f"the student's process was killed by {name}{hint}"
        return f"the student's process exited with code {code}"


class _Mounts:
    """Read-only binds into an empty root, creating the folders above each one with
    mode 0755 (bwrap would make them 0700, closed to the unprivileged user id)."""

    def __init__(self, cmd: list):
        self.cmd, self.made = cmd, {"/"}

    def bind(self, source: str, dest: str | None = None, must_exist: bool = True):
        dest = dest or source
        if not must_exist and not os.path.exists(source):
            return
        for parent in reversed(Path(dest).parents):
            parent = str(parent)
            if parent not in self.made:
                self.cmd += ["--perms", "0755", "--dir", parent]
                self.made.add(parent)
        self.cmd += ["--ro-bind", source, dest]
        self.made.add(dest)


def python_folders(python: str) -> list[str]:
    """The folders the interpreter ``python`` needs: its installation and, for a virtual
    environment, the environment (never ``/`` itself)."""
    exe = Path(python)
    folders = {exe.resolve().parents[1], exe.absolute().parents[1]}
    if os.path.realpath(python) == os.path.realpath(sys.executable):
        folders |= {Path(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix,
                                      sys.base_exec_prefix)}
    shown = set()
    for folder in folders:
        for path in {str(folder), os.path.realpath(folder)}:
            if len(Path(path).parts) > 1 and not _under(path, "/usr") and os.path.isdir(path):
                shown.add(path)
    return _outermost(shown)


def _open_to_all(path: str) -> bool:
    """Every folder from / down to ``path`` can be entered by any user."""
    current = Path(path)
    for folder in [current, *current.parents]:
        try:
            if not os.stat(folder).st_mode & 0o001:
                return False
        except OSError:
            return False
    return True


def _under(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip(os.sep) + os.sep)


def _outermost(paths) -> list[str]:
    """Drop paths that lie inside another path of the list."""
    paths = sorted(set(paths))
    return [p for p in paths if not any(_under(p, q) and p != q for q in paths)]


def _process_parents() -> dict[int, int]:
    """pid -> parent pid of every process (from /proc)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    stat_line = f.read()
                parents[int(entry)] = int(stat_line[stat_line.rindex(b")") + 2:].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    return parents


def _descendants(pid: int) -> set[int]:
    parents = _process_parents()
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, q in parents.items() if q in frontier} - found
        found |= frontier
    return found


class _DeadlineReader:
    """File-like reader that raises TimeoutError once a deadline passes."""

    def __init__(self, stream, deadline: float):
        self.stream, self.deadline = stream, deadline
        self.got = 0

    def read(self, n: int) -> bytes:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        ready, _, _ = select.select([self.stream], [], [], remaining)
        if not ready:
            raise TimeoutError
        data = os.read(self.stream.fileno(), min(n, 1 << 20))
        self.got += len(data)
        return data


# ---------------------------------------------------------------------------------------
# A grading session: cells, calls, restarts, the time budget
# ---------------------------------------------------------------------------------------

@dataclass
class Event:
    kind: str          # "timeout", "crash" or "memory"
    where: str         # which cell or call
    detail: str


class Session:
    """The student's namespace, kept alive across crashes by replaying good cells.

    Every request gets at most ``call_timeout`` seconds, and all of them together (and
    the restarts) at most ``submission_timeout`` seconds from the session's start; once
    that budget is used up, or after ``max_restarts`` restarts, every further request
    fails at once. The student's cells may use only the first half of the budget, so
    that slow cells cannot leave the tests no time at all.
    """

    def __init__(self, config: SandboxConfig, max_restarts: int = 5):
        self.config = config
        self.max_restarts = max_restarts
        self.sandbox = None
        self.good_cells: list[tuple[str, str]] = []
        self.events: list[Event] = []
        self.dropped_events = 0
        self.generation = 0          # bumps on every restart; old object refs go stale
        self.restarts = 0
        started = time.monotonic()
        self.deadline = started + config.limits.submission_timeout
        self.cells_deadline = started + config.limits.submission_timeout / 2
        self.cells_stopped = False
        self.dead: str | None = None  # why no further request is made
        self.pending_release: list[int] = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.sandbox is not None:
            self.sandbox.close()
            self.sandbox = None

    @property
    def sandboxed(self) -> bool:
        return Sandbox(self.config)._use_bwrap()

    def _timeout(self, deadline: float | None = None) -> float:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise BudgetExhausted(f"the time budget of this submission "
                                  f"({self.config.limits.submission_timeout:g} s) is used up")
        if deadline is not None:
            remaining = min(remaining, deadline - time.monotonic())
        return max(min(self.config.limits.call_timeout, remaining), 0.0)

    def _ensure(self):
        if self.dead:
            raise SandboxDied(self.dead)
        if self.sandbox is not None and self.sandbox.alive:
            return
        if self.sandbox is not None:
            self.sandbox.close()
            if self.restarts >= self.max_restarts:
                self.dead = ("too many crashes or timeouts: the student's code was not run "
                             "any further")
                raise SandboxDied(self.dead)
            self.restarts += 1
        self.generation += 1
        self.pending_release.clear()
        self.sandbox = Sandbox(self.config)
        self.sandbox.start(self._timeout())
        for name, code in self.good_cells:
            self.sandbox.request({"op": "exec", "code": code, "filename": name},
                                 timeout=self._timeout())

    def _record(self, kind: str, where: str, err: Exception):
        """Note a crash or timeout (at most MAX_EVENTS are kept) and close the sandbox."""
        if isinstance(err, BudgetExhausted):
            kind, where = "timeout", "submission"
            self.dead = str(err)
        detail = str(err)
        if getattr(err, "interrupted", False):
            detail += " (interrupted)"
        if len(self.events) < MAX_EVENTS:
            self.events.append(Event(kind, where[:200], detail[:1000]))
        else:
            self.dropped_events += 1
        if self.sandbox is not None and not getattr(err, "interrupted", False):
            self.sandbox.close()

    def _request(self, header: dict, blobs=None, deadline: float | None = None):
        self._ensure()
        if self.pending_release:
            header = {**header, "release": self.pending_release[:10_000]}
            del self.pending_release[:10_000]
        timeout = self._timeout(deadline)
        try:
            return self.sandbox.request(header, blobs, timeout=timeout)
        except SandboxTimeout as err:
            if timeout < self.config.limits.call_timeout:
                # Cut short by the budget, not by the limit of one call: say so.
                half = deadline is not None and deadline < self.deadline
                budget = self.config.limits.submission_timeout / (2 if half else 1)
                what = "the cells' half of the time budget" if half else \
                    "the time budget of this submission"
                err.args = (f"{what} ({budget:g} s) ran out",)
            raise

    # ---------------------------------------------------------------- student cells
    def run_cell(self, name: str, code: str) -> dict:
        """Execute one cell; returns {ok, stdout, stderr, error} (error may be a
        timeout or crash description)."""
        if self.dead:
            return _failure("NotRun", f"cell {name} was not run: {self.dead}")
        if time.monotonic() >= self.cells_deadline:
            if not self.cells_stopped:
                self.cells_stopped = True
                self.events.append(Event(
                    "timeout", name[:200], "the notebook's cells used up their half of the "
                    f"time budget ({self.config.limits.submission_timeout / 2:g} s); this "
                    "cell and the ones after it were not run"))
            return _failure("NotRun", f"cell {name} was not run: out of time")
        try:
            header, _ = self._request({"op": "exec", "code": code, "filename": name},
                                      deadline=self.cells_deadline)
        except SandboxTimeout as err:
            self._record("timeout", name, err)
            return _failure("TimeoutError", f"cell {name} did not finish: {err}")
        except SandboxDied as err:
            if str(err) != self.dead:
                self._record("crash", name, err)
            return _failure("Crash", f"cell {name} crashed: {err}")
        ok = header.get("ok") is True
        if ok:
            self.good_cells.append((name, code))
        error = None if ok else clean_error(header.get("error"))
        self._note_memory(error, name)
        return {"ok": ok, "stdout": _text(header.get("stdout")),
                "stderr": _text(header.get("stderr")), "error": error}

    def _note_memory(self, error: dict | None, where: str):
        """A MemoryError is an event; the process is restarted (from the good cells)
        so that what the failed code allocated is freed."""
        if error and error["ename"] == "MemoryError":
            limit = self.config.limits.memory_bytes / 1024**2
            if len(self.events) < MAX_EVENTS:
                self.events.append(Event("memory", where[:200], "ran out of memory "
                                         f"(MemoryError; the limit is {limit:.0f} MB)"))
            if self.sandbox is not None:
                self.sandbox.close()

    def names(self) -> list[tuple[str, str]]:
        """The student's top-level names and their kinds; raises SandboxDied (after
        recording why) when they cannot be listed."""
        where = "listing the student's names"
        try:
            header, _ = self._request({"op": "names"})
        except SandboxTimeout as err:
            self._record("timeout", where, err)
            raise SandboxDied(str(err)) from None
        except SandboxDied as err:
            if str(err) != self.dead:
                self._record("crash", where, err)
            raise
        names = header.get("names")
        if type(names) is not list:
            err = SandboxDied("the student's process sent a malformed list of names")
            self._record("crash", where, err)
            raise err
        return [(n, k) for n, k in (p for p in names if type(p) is list and len(p) == 2)
                if type(n) is str and n.isidentifier() and type(k) is str]

    # ---------------------------------------------------------------- remote access
    def request_value(self, header: dict, where: str, args_blobs=None):
        """Send a request whose answer carries a value; decode it strictly."""
        generation = self.generation
        try:
            self._ensure()
            if generation != self.generation and _mentions_refs(header):
                raise RuntimeError("this object was lost when the student's process "
                                   "was restarted after a crash or timeout")
            reply, blobs = self._request(header, args_blobs)
        except SandboxTimeout as err:
            self._record("timeout", where, err)
            if isinstance(err, BudgetExhausted):
                raise TimeoutError(str(err)) from None
            raise TimeoutError(f"{where} did not return: {err}") from None
        except SandboxDied as err:
            if str(err) == self.dead:
                raise RuntimeError(f"{where} was not run: {err}") from None
            self._record("crash", where, err)
            raise RuntimeError(f"{where} crashed the student's process: {err}") from None
        if reply.get("ok") is not True:
            error = clean_error(reply.get("error"))
            self._note_memory(error, where)
            raise _rebuild_exception(error)
        if "value" not in reply:
            return None
        try:
            return protocol.decode(reply["value"], blobs, self._proxy_for_ref)
        except protocol.ProtocolError as err:
            raise StudentError(f"{where} returned something that could not be read: "
                               f"{err}") from None

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


def utf8(text: str) -> str:
    """``text`` with what UTF-8 cannot encode (lone surrogates) replaced: such strings
    would make writing the notebook or the feedback fail."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")


def _text(value) -> str:
    if type(value) is not str:
        return ""
    if len(value) > TEXT_LIMIT:
        value = value[:TEXT_LIMIT] + "\n... [output truncated]\n"
    return utf8(value)


def clean_error(error) -> dict:
    """An error description from the student's process, reduced to short strings."""
    if type(error) is not dict:
        error = {}

    def short(value, limit, default=""):
        return utf8(value[:limit]) if type(value) is str else default

    trace = error.get("traceback")
    trace = [short(line, 2000) for line in trace[:40]] if type(trace) is list else []
    return {"ename": short(error.get("ename"), 200, "Error") or "Error",
            "base": short(error.get("base"), 200, "Exception") or "Exception",
            "evalue": short(error.get("evalue"), 4000),
            "traceback": trace}


def _failure(ename: str, message: str) -> dict:
    return {"ok": False, "stdout": "", "stderr": "",
            "error": {"ename": ename, "base": "RuntimeError", "evalue": message,
                      "traceback": []}}


def _rebuild_exception(error: dict) -> BaseException:
    """The student's exception, as the nearest builtin type, so that tests checking
    ``ValueError`` for bad input work through the proxy."""
    ename, base, message = error["ename"], error["base"], error["evalue"]
    trace = "".join(error["traceback"])
    cls = getattr(builtins, base, None)
    if not (isinstance(cls, type) and issubclass(cls, Exception)) or base in (
            "SystemExit", "KeyboardInterrupt", "GeneratorExit", "StopIteration",
            "StopAsyncIteration"):
        cls = StudentError
    text = message if ename == base and cls is not StudentError else f"{ename}: {message}"
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
        value = self._session.request_value({"op": "get", "name": self._name}, self._name)
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

    def __iter__(self):
        # One request for all the items (at most a million), not one per item.
        items = self._request({"op": "iter"}, "iterating over a student object")
        if type(items) is not list:
            raise TypeError("a student object could not be iterated over")
        return iter(items)

    def __call__(self, *args, **kwargs):
        blobs = []
        session = object.__getattribute__(self, "_session")
        return self._request({"op": "call", "args": session.encode_args(list(args), blobs),
                              "kwargs": session.encode_args(dict(kwargs), blobs)},
                             "calling a student object", blobs)

    def __del__(self):
        try:
            session = object.__getattribute__(self, "_session")
            if object.__getattribute__(self, "_generation") == session.generation:
                session.pending_release.append(object.__getattribute__(self, "_ref"))
        except Exception:  # noqa: BLE001 - never fail in a finalizer
            pass

    def __repr__(self):
        return "<student object>"
