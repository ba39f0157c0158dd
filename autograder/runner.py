"""The process that runs a student's code, inside the sandbox.

Started by :mod:`autograder.sandbox` as ``python -I runner.py IN_FD OUT_FD``. Before
anything else it gives up what it does not need (:func:`confine`): when started as root
it switches to an unprivileged user id of its own, and it caps the number of processes
it may start (``RLIMIT_NPROC``, which only binds a non-root user). It then executes the
student's cells one by one in a fresh namespace, and serves requests from the grader:
list the names the student defined, fetch a value, call a function, get or set an
attribute or item of an object, iterate it. Values go back as plain data
(:mod:`protocol`); objects that are not plain data stay here and the grader gets a
reference to them. Every reply repeats the ``id`` of its request.

Nothing here is trusted by the grader: student code runs in this process and can change
anything in it. The grader's safety comes from the sandbox around this process and from
its own strict decoder, not from this file.
"""

import builtins
import io
import itertools
import linecache
import os
import sys
import traceback


def confine():
    """Drop root (to ``AUTOGRADER_UID``) and cap processes (``AUTOGRADER_NPROC``)."""
    import resource

    uid = os.environ.pop("AUTOGRADER_UID", "")
    nproc = os.environ.pop("AUTOGRADER_NPROC", "")
    try:  # no setuid program may give privileges back (bwrap sets this too)
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(38, 1, 0, 0, 0)   # PR_SET_NO_NEW_PRIVS
    except Exception:  # noqa: BLE001 - best effort
        pass
    if uid and os.getuid() == 0:
        os.setgroups([])
        os.setgid(int(uid))
        os.setuid(int(uid))
        if os.getuid() == 0 or os.geteuid() == 0:
            raise SystemExit("could not drop root")
    if nproc:
        resource.setrlimit(resource.RLIMIT_NPROC, (int(nproc), int(nproc)))


if __name__ == "__main__":
    confine()

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I leaves it out
import protocol  # noqa: E402

MAX_ITEMS = 1_000_000      # items one "iter" request may return
MAX_NAMES = 10_000         # names listed
OUTPUT_LIMIT = 64 * 1024   # characters of stdout/stderr kept per cell or call


class BoundedWriter(io.TextIOBase):
    """A text stream that keeps the first OUTPUT_LIMIT characters and counts the rest."""

    def __init__(self):
        self.parts, self.size, self.dropped = [], 0, 0

    def writable(self):
        return True

    def write(self, text):
        text = str(text)
        room = OUTPUT_LIMIT - self.size
        if room > 0:
            self.parts.append(text[:room])
            self.size += min(len(text), room)
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def getvalue(self):
        text = "".join(self.parts)
        if self.dropped:
            text += f"\n... [{self.dropped} more characters of output not shown]\n"
        return text


class Runner:
    def __init__(self, inp, out):
        self.inp, self.out = inp, out
        self.request_id = None
        self.namespace = {"__name__": "__main__", "__builtins__": builtins,
                          "display": display, "get_ipython": get_ipython}
        self.objects = {}          # ref id -> object kept here for the grader
        self.next_ref = 1

    # ----------------------------------------------------------------------- helpers
    def to_ref(self, obj):
        ref = protocol.Ref(self.next_ref)
        self.objects[ref.id] = obj
        self.next_ref += 1
        return ref

    def from_ref(self, ref_id):
        if ref_id not in self.objects:
            raise KeyError(f"unknown object reference {ref_id}")
        return self.objects[ref_id]

    def reply(self, header, value=None, with_value=False):
        blobs = []
        if with_value:
            try:
                header["value"] = protocol.encode(value, blobs, self.to_ref)
            except BaseException as err:  # noqa: BLE001 - report, don't die
                header = {"ok": False, "error": describe(err)}
                blobs = []
        header["id"] = self.request_id
        protocol.write_message(self.out, header, blobs)

    def captured(self, func):
        """Run ``func()`` with stdout/stderr captured; return (ok, value, out, err, error)."""
        out, err = BoundedWriter(), BoundedWriter()
        old = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = out, err
        try:
            value = func()
            ok, error = True, None
        except BaseException as exc:  # noqa: BLE001 - student code may raise anything
            ok, value, error = False, None, describe(exc)
        finally:
            sys.stdout, sys.stderr = old
        return ok, value, out.getvalue(), err.getvalue(), error

    # ---------------------------------------------------------------------- requests
    def handle(self, header, blobs):
        op = header.get("op")
        for ref_id in header.get("release") or []:
            self.objects.pop(ref_id, None)
        decode = lambda node: protocol.decode(node, blobs, self.from_ref)  # noqa: E731
        if op == "exec":
            code, filename = header["code"], str(header.get("filename", "<cell>"))
            # The cell's lines appear in tracebacks, as in Jupyter.
            linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
            def run():
                exec(compile(code, filename, "exec"), self.namespace)
            ok, _, out, err, error = self.captured(run)
            self.reply({"ok": ok, "stdout": out, "stderr": err, "error": error})
        elif op == "names":
            self.reply({"ok": True, "names": self.list_names()})
        elif op == "get":
            name = header["name"]
            if name not in self.namespace:
                self.reply({"ok": False, "error": {"ename": "NameError", "base": "NameError",
                                                   "evalue": f"name {name!r} is not defined",
                                                   "traceback": []}})
            else:
                self.reply({"ok": True}, self.namespace[name], with_value=True)
        elif op in ("call", "getattr", "setattr", "getitem", "setitem", "iter", "len"):
            target = (self.namespace[header["name"]] if "name" in header
                      else self.from_ref(header["ref"]))
            if op == "call":
                args, kwargs = decode(header["args"]), decode(header["kwargs"])
                action = lambda: target(*args, **kwargs)  # noqa: E731
            elif op == "getattr":
                action = lambda: getattr(target, header["attr"])  # noqa: E731
            elif op == "setattr":
                value = decode(header["value"])
                action = lambda: setattr(target, header["attr"], value)  # noqa: E731
            elif op == "getitem":
                key = decode(header["key"])
                action = lambda: target[key]  # noqa: E731
            elif op == "setitem":
                key, value = decode(header["key"]), decode(header["value"])
                def action():
                    target[key] = value
            elif op == "iter":
                def action():
                    items = list(itertools.islice(iter(target), MAX_ITEMS + 1))
                    if len(items) > MAX_ITEMS:
                        raise ValueError(f"more than {MAX_ITEMS} items to iterate over")
                    return items
            else:
                action = lambda: int(len(target))  # noqa: E731
            ok, value, out, err, error = self.captured(action)
            self.reply({"ok": ok, "stdout": out, "stderr": err, "error": error},
                       value, with_value=ok)
        elif op == "release":
            for ref_id in header.get("ids", []):
                self.objects.pop(ref_id, None)
            self.reply({"ok": True})
        else:
            self.reply({"ok": False, "error": {"ename": "ProtocolError", "base": "RuntimeError",
                                               "evalue": f"unknown op {op!r}", "traceback": []}})

    def list_names(self):
        names = []
        for name, value in list(self.namespace.items()):
            if type(name) is not str or name.startswith("_") or len(names) >= MAX_NAMES:
                continue
            if type(value).__name__ == "module":
                kind = "module"
            elif callable(value):
                kind = "callable"
            else:
                try:
                    protocol.encode(value, [])
                    kind = "data"
                except Exception:  # noqa: BLE001 - not plain data
                    kind = "object"
            names.append([name, kind])
        return names

    def serve(self):
        protocol.write_message(self.out, {"ok": True, "ready": True})
        while True:
            try:
                header, blobs = protocol.read_message(self.inp)
            except EOFError:
                return
            self.request_id = header.get("id")
            try:
                self.handle(header, blobs)
            except BaseException as exc:  # noqa: BLE001 - a bad request, not a crash
                self.reply({"ok": False, "error": describe(exc)})


def display(*objects, **kwargs):
    """Jupyter's ``display``, as text."""
    for obj in objects:
        print(obj if isinstance(obj, str) else repr(obj))


class _Shell:
    """What ``get_ipython()`` returns here: every method does nothing."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def get_ipython():
    return _Shell()


def describe(exc):
    """Name, builtin base class, message and the student's part of the traceback."""
    base = next((k.__name__ for k in type(exc).__mro__
                 if getattr(builtins, k.__name__, None) is k), "Exception")
    frames = traceback.extract_tb(exc.__traceback__)
    # Keep only frames from the student's cells, not this runner's own.
    frames = [f for f in frames if not f.filename.endswith("runner.py")]
    lines = traceback.format_list(frames)
    try:
        evalue = str(exc)
    except Exception:  # noqa: BLE001 - a __str__ that raises
        evalue = "<exception message could not be shown>"
    return {"ename": type(exc).__name__, "base": base, "evalue": evalue[:4000],
            "traceback": lines[-20:]}


def main():
    in_fd, out_fd = int(sys.argv[1]), int(sys.argv[2])
    inp = os.fdopen(in_fd, "rb", buffering=0)
    out = os.fdopen(out_fd, "wb", buffering=0)
    # Students' os.system("...") or print() must not touch the protocol channel.
    sys.stdin = io.StringIO("")
    # As in a Jupyter kernel, modules next to the notebook (checks.py) are importable.
    sys.path.insert(0, os.getcwd())
    Runner(inp, out).serve()


if __name__ == "__main__":
    main()
