"""Machinery for the real-browser test (``tests/test_browser.py``).

* :func:`ensure_chromium` / :func:`ensure_playwright`: Debian's ``chromium`` (installed
  with apt when missing) and the ``playwright`` Python package (pip-installed when
  missing). A test tool's own browser download does not work on these machines, so
  Playwright always drives ``/usr/bin/chromium``; ``playwright install`` is never run.
* :class:`JupyterLab`: a JupyterLab server on 127.0.0.1, a free port and a random token,
  isolated from the user's Jupyter configuration, settings, workspaces and kernels;
  started with retries and stopped without leaving a process behind.
* :func:`launch_chromium`: headless Chromium with the flags these machines need and a
  fresh profile directory.
* :class:`NotebookPage`: what a person does in JupyterLab (open a notebook, wait for the
  kernel, Run > Run All Cells, type into a cell) and what they see (prompts, outputs),
  read from the page's DOM; plus screenshots.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# Without the networking flags Chromium keeps trying to reach Google's hosts, which this
# machine's closed network refuses; the profile is a fresh directory per launch.
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SERVER_START_TIMEOUT = 90      # seconds for one attempt to start JupyterLab
SERVER_START_ATTEMPTS = 3
APT_TIMEOUT = 900              # seconds for apt-get install chromium (about 100 s seen)

# The JupyterLab settings ``make lab`` uses (JUPYTER_CONFIG_PATH): lessons (``.py`` in
# jupytext's percent format) open as notebooks on a double click; no news pop-up.
LAB_CONFIG = Path(__file__).resolve().parent.parent / "tools" / "jupyter"


# ---------------------------------------------------------------------------- install

def _run_tail(cmd: list[str], timeout: float, env: dict | None = None) -> tuple[int, str]:
    """Run a command; its exit status and the last lines of its output."""
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return -1, f"{' '.join(cmd)}: timed out after {timeout:.0f} s"
    except OSError as err:
        return -1, f"{' '.join(cmd)}: {err}"
    tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
    return proc.returncode, tail


def ensure_chromium() -> Path:
    """``/usr/bin/chromium``, installed from Debian's package when missing.

    Skips the test only when apt cannot be used at all (no ``apt-get``, or neither root
    nor password-less sudo); fails, with apt's own words, when apt is there but the
    install does not work.
    """
    if CHROMIUM.exists():
        return CHROMIUM
    if shutil.which("apt-get") is None:
        pytest.skip(f"{CHROMIUM} is missing and apt-get is not available to install "
                    "Debian's chromium package")
    prefix: list[str] = []
    if os.geteuid() != 0:
        if shutil.which("sudo") is None or subprocess.run(
                ["sudo", "-n", "true"], capture_output=True).returncode != 0:
            pytest.skip(f"{CHROMIUM} is missing and apt-get needs root: run "
                        "`sudo apt-get install -y chromium` once")
        prefix = ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [*prefix, "apt-get", "install", "-y", "-q", "-o", "DPkg::Lock::Timeout=300",
               "chromium"]
    rc, out = _run_tail(install, APT_TIMEOUT, env)
    if rc != 0:            # stale or missing package lists: update once and retry
        _run_tail([*prefix, "apt-get", "update", "-q"], APT_TIMEOUT, env)
        rc, out = _run_tail(install, APT_TIMEOUT, env)
    if rc != 0 or not CHROMIUM.exists():
        pytest.fail(f"could not install Debian's chromium with `{' '.join(install)}` "
                    f"(exit {rc}):\n{out}", pytrace=False)
    return CHROMIUM


def ensure_playwright():
    """The ``playwright`` package's sync API, pip-installed into this interpreter when
    missing (it is in the ``dev`` extra; this is the fallback for a bare pytest run)."""
    try:
        return importlib.import_module("playwright.sync_api")
    except ImportError:
        pass
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "playwright"]
    rc, out = _run_tail(cmd, 600)
    if rc != 0:
        pytest.fail(f"playwright is not installed and `{' '.join(cmd)}` failed "
                    f"(exit {rc}):\n{out}", pytrace=False)
    importlib.invalidate_caches()
    return importlib.import_module("playwright.sync_api")


def launch_chromium(playwright, profile: Path, viewport=(1400, 1000), attempts: int = 2):
    """A persistent context of headless Debian Chromium on a new, empty profile dir
    (``profile``, ``profile-2``... one per attempt)."""
    errors = []
    for attempt in range(1, attempts + 1):
        directory = profile if attempt == 1 else profile.with_name(f"{profile.name}-{attempt}")
        directory.mkdir(parents=True, exist_ok=False)
        try:
            return playwright.chromium.launch_persistent_context(
                str(directory), executable_path=str(CHROMIUM), headless=True,
                args=CHROMIUM_FLAGS, viewport={"width": viewport[0], "height": viewport[1]},
                timeout=120_000)
        except Exception as err:  # noqa: BLE001 (reported below)
            errors.append(f"attempt {attempt}: {type(err).__name__}: {err}")
    raise RuntimeError(f"could not start {CHROMIUM} with {' '.join(CHROMIUM_FLAGS)}:\n"
                       + "\n".join(errors))


# ---------------------------------------------------------------------------- server

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _descendants(pid: int) -> list:
    """Processes started by ``pid`` (kernels run in sessions of their own, so killing
    the server's process group would miss them)."""
    psutil = importlib.import_module("psutil")
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


class JupyterLab:
    """A JupyterLab server for one test session, serving ``root``.

    Everything that could leak in from (or out to) the user's own Jupyter set-up points
    into ``state``: config, data (kernel specs), runtime, lab settings and workspaces,
    IPython's profile. The project's own settings come from :data:`LAB_CONFIG`, as in
    ``make lab``. Kernels are ipykernel in
    this interpreter (the venv's ``python3`` spec), so they import this checkout's
    ``convnets``.
    """

    def __init__(self, root: Path, state: Path):
        self.root, self.state = root, state
        self.token = secrets.token_hex(16)
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self.log_path = state / "jupyterlab.log"
        self._log = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}?token={self.token}"

    def environment(self) -> dict:
        env = {k: v for k, v in os.environ.items()
               if k not in ("MPLBACKEND", "JUPYTER_PATH", "PYTHONSTARTUP")}
        env["JUPYTER_CONFIG_PATH"] = str(LAB_CONFIG)
        dirs = {"JUPYTER_CONFIG_DIR": "config", "JUPYTER_DATA_DIR": "data",
                "JUPYTER_RUNTIME_DIR": "runtime", "JUPYTERLAB_SETTINGS_DIR": "settings",
                "JUPYTERLAB_WORKSPACES_DIR": "workspaces", "IPYTHONDIR": "ipython"}
        for var, name in dirs.items():
            (self.state / name).mkdir(parents=True, exist_ok=True)
            env[var] = str(self.state / name)
        # After an error, the kernel aborts the requests already queued; one that reaches
        # it later still runs. Run All sends every cell at once, but on a loaded machine
        # a request can arrive late: once a cell after the failing one ran (CI, 2
        # workers). Give the abort a window (ipykernel's own remedy for slow delivery).
        profile = self.state / "ipython" / "profile_default"
        profile.mkdir(parents=True, exist_ok=True)
        (profile / "ipython_kernel_config.py").write_text(
            "c.IPythonKernel.stop_on_error_timeout = 3.0\n")
        # The kernel's `python` is this interpreter; its scripts (nbgrader's alembic...)
        # come first on PATH.
        env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
        env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
        return env

    def command(self) -> list[str]:
        return [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
                "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
                "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
                f"--ServerApp.root_dir={self.root}",
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                "--LabApp.extension_manager=readonly"]

    def api(self, method: str, path: str, timeout: float = 10):
        req = urllib.request.Request(f"{self.base_url}/api/{path}", method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def start(self) -> None:
        """Start the server; up to :data:`SERVER_START_ATTEMPTS` tries on fresh ports."""
        env = self.environment()
        errors = []
        for attempt in range(1, SERVER_START_ATTEMPTS + 1):
            self.port = free_port()
            self._log = open(self.log_path, "a")   # noqa: SIM115 (closed in stop)
            self._log.write(f"--- attempt {attempt}: {' '.join(self.command())}\n")
            self._log.flush()
            self.proc = subprocess.Popen(self.command(), cwd=self.root, env=env,
                                         stdout=self._log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
            reason = self._wait_ready()
            if reason is None:
                return
            errors.append(f"attempt {attempt} on port {self.port}: {reason}")
            self.stop()
        raise RuntimeError("JupyterLab did not start:\n" + "\n".join(errors)
                           + f"\nlast lines of {self.log_path}:\n{self.log_tail()}")

    def _wait_ready(self) -> str | None:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return f"exited with status {self.proc.returncode}"
            try:
                self.api("GET", "status", timeout=5)
                # The lab page (and its settings) answers too, not only the REST API.
                with urllib.request.urlopen(self.url("lab"), timeout=10) as resp:
                    if resp.status == 200:
                        return None
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.5)
        return f"not answering after {SERVER_START_TIMEOUT} s"

    def stop(self) -> None:
        """Shut the kernels and the server down; kill whatever is left."""
        if self.proc is None:
            return
        children = _descendants(self.proc.pid)
        if self.proc.poll() is None:
            with contextlib.suppress(Exception):
                for kernel in self.api("GET", "kernels"):
                    self.api("DELETE", f"kernels/{kernel['id']}", timeout=20)
            with contextlib.suppress(Exception):
                self.api("POST", "shutdown", timeout=10)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        for child in children + _descendants(self.proc.pid):
            with contextlib.suppress(Exception):
                child.kill()
        self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None


# ---------------------------------------------------------------------------- page

PROMPT_DONE = re.compile(r"^\[\d+\]:$")
ERROR_NAME = re.compile(r"\b[A-Z]\w*(Error|Exception)\b")


class PageFailure(AssertionError):
    """A step in the browser failed; the message names the screenshot of that moment."""


class NotebookPage:
    """One JupyterLab browser tab showing one notebook, in its own workspace."""

    def __init__(self, context, lab: JupyterLab, path: str, workspace: str, shots: Path):
        self.context, self.lab, self.path, self.shots = context, lab, path, shots
        self.workspace = workspace
        self.page = context.new_page()
        self.page.set_default_timeout(60_000)
        self.console_errors: list[str] = []
        self.page.on("console", lambda m: self.console_errors.append(m.text)
                     if m.type == "error" else None)

    def open(self) -> None:
        """Load JupyterLab (in this page's own workspace) and open the notebook as a
        person does, double-clicking through the file browser (a lesson's .py opens as
        a notebook only with the default-viewer setting of LAB_CONFIG)."""
        self.page.goto(self.lab.url(f"lab/workspaces/{self.workspace}"),
                       wait_until="domcontentloaded", timeout=120_000)
        for part in self.path.split("/"):
            item = self.page.locator(".jp-DirListing-item",
                                     has=self.page.locator(".jp-DirListing-itemText",
                                                           has_text=re.compile(
                                                               f"^{re.escape(part)}$")))
            item.wait_for(timeout=120_000)
            item.dblclick()
        try:
            self.page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.wait_for(
                timeout=120_000)
        except Exception as err:
            raise self.fail(f"{self.path} did not open as a notebook from the file browser "
                            f"({type(err).__name__})", "not-a-notebook") from err

    @contextlib.contextmanager
    def guard(self, name: str = "error"):
        """Turn any error inside (a Playwright timeout...) into a :class:`PageFailure`
        with a screenshot of that moment."""
        try:
            yield self
        except PageFailure:
            raise
        except Exception as err:
            raise self.fail(f"{type(err).__name__}: {err}", name) from err

    # ---------- looking
    def screenshot(self, name: str) -> Path:
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path

    def fail(self, message: str, name: str = "failure") -> PageFailure:
        try:
            where = f"screenshot: {self.screenshot(name)}"
        except Exception as err:  # noqa: BLE001 (the page may be gone)
            where = f"(no screenshot: {err})"
        console = ""
        if self.console_errors:
            console = "\nbrowser console errors (last 5):\n  " + "\n  ".join(
                e[:300] for e in self.console_errors[-5:])
        return PageFailure(f"{message}\n{where}\nserver log: {self.lab.log_path}{console}")

    def expect(self, condition, message: str, name: str) -> None:
        """Fail with ``message`` and a screenshot named ``name`` unless ``condition``."""
        if not condition:
            raise self.fail(message, name)

    def cell(self, index: int):
        return self.page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").nth(index)

    def prompts(self) -> list[str]:
        """The execution prompts of the code cells, ``[ ]:``, ``[*]:`` or ``[N]:``
        (read from the DOM: offscreen cells are not laid out but are in the page)."""
        return [t.strip() for t in self.page.eval_on_selector_all(
            ".jp-NotebookPanel .jp-CodeCell .jp-InputPrompt",
            "els => els.map(e => e.textContent)")]

    def kernel_status(self) -> str:
        """What the status bar says of the notebook's kernel: 'Python 3 (ipykernel) |
        Idle' gives 'Idle' (or Connecting, Starting, Busy...)."""
        for text in self.page.eval_on_selector_all(
                ".jp-StatusBar-Widget .jp-StatusBar-TextItem",
                "els => els.map(e => e.textContent)"):
            m = re.search(r"\|\s*(\w+)\s*$", text)
            if m:
                return m.group(1)
        return "unknown"

    def wait_cells(self, n_code: int, timeout: float = 60) -> None:
        """Wait until the notebook shows ``n_code`` code cells (it renders them
        progressively after the first)."""
        deadline = time.monotonic() + timeout
        while len(self.prompts()) < n_code and time.monotonic() < deadline:
            time.sleep(0.25)
        if len(self.prompts()) != n_code:
            raise self.fail(f"{self.path} shows {len(self.prompts())} code cells, "
                            f"expected {n_code}", "cells-missing")

    def outputs(self, index: int | None = None) -> list[dict]:
        """The outputs shown, each ``{cell, mime, text, images}``, of one cell or all."""
        return self.page.evaluate("""(index) => {
            const cells = Array.from(document.querySelectorAll(
                '.jp-NotebookPanel .jp-Notebook .jp-Cell'));
            const out = [];
            cells.forEach((cell, i) => {
                if (index !== null && i !== index) return;
                cell.querySelectorAll('.jp-OutputArea-output').forEach(o => out.push({
                    cell: i,
                    mime: o.getAttribute('data-mime-type'),
                    text: o.textContent,
                    images: Array.from(o.querySelectorAll('img')).map(
                        img => [img.naturalWidth, img.naturalHeight,
                                img.src.slice(0, 22)]),
                }));
            });
            return out;
        }""", index)

    def cell_text(self, index: int) -> str:
        """The source shown in a cell's editor, one CodeMirror line per line."""
        return "\n".join(self.cell(index).locator(".cm-content .cm-line").all_text_contents())

    # ---------- doing
    def wait_kernel_idle(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        status = "unknown"
        while time.monotonic() < deadline:
            status = self.kernel_status()
            if status == "Idle":
                return
            time.sleep(0.25)
        raise self.fail(f"the kernel of {self.path} is not idle after {timeout:.0f} s "
                        f"(status bar says {status!r})", "kernel-not-idle")

    def menu(self, menu: str, item: str) -> None:
        self.page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{menu}$")).click()
        self.page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{item}$")).click()

    def run_all(self) -> None:
        """Run > Run All Cells, as a person would."""
        self.cell(0).click()            # the notebook has the focus, in command mode
        self.page.keyboard.press("Escape")
        self.menu("Run", "Run All Cells")

    def wait_executed(self, what: str, timeout: float = 300) -> list[str]:
        """Wait until a run is over: some cell has an execution count, none is queued
        (``[*]``; after an error JupyterLab clears the cells it will not run) and the
        kernel is idle, twice in a row; return the prompts."""
        deadline = time.monotonic() + timeout
        prompts: list[str] = []
        settled = 0
        while time.monotonic() < deadline:
            prompts = self.prompts()
            over = (any(PROMPT_DONE.match(p) for p in prompts) and "[*]:" not in prompts
                    and self.kernel_status() == "Idle")
            settled = settled + 1 if over else 0
            if settled == 2:
                return prompts
            time.sleep(0.5)
        raise self.fail(f"{self.path}: {what} not done after {timeout:.0f} s; "
                        f"prompts {prompts}, kernel {self.kernel_status()!r}",
                        "not-finished")

    def replace_cell_source(self, index: int, source: str) -> None:
        """Click into a cell's editor, select everything, and insert ``source`` as typed
        text (one input event, so the editor's auto-indent and bracket closing do not
        rewrite it)."""
        editor = self.cell(index).locator(".cm-content")
        editor.scroll_into_view_if_needed()
        editor.click()
        self.page.keyboard.press("Control+A")
        self.page.keyboard.press("Delete")
        self.page.keyboard.insert_text(source)
        shown = self.cell_text(index)
        if shown.strip() != source.strip():
            raise self.fail(f"cell {index} shows other text than was typed:\n{shown}",
                            "typing")
        self.page.keyboard.press("Escape")

    def scroll_to_cell(self, index: int) -> None:
        self.cell(index).scroll_into_view_if_needed()
        self.page.wait_for_timeout(300)       # let the outputs paint before a screenshot

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.page.close()
