"""The ConvNet playground in a real browser: lesson 12 in JupyterLab, and the page of
``make playground`` (Voila), driven in headless Chromium.

In JupyterLab: the lesson's first cell (Shift+Enter) shows the playground; *train* makes
the examples-seen counter and the loss curve change, *pause* stops them; a definition
that breaks a sizing rule shows the error with its numbers, a valid one changes the
table; then, with JupyterLab's ``commsOverSubshells`` disabled, training goes on through
a kernel interrupt and stops on *pause*. On the page of ``make playground`` (the make
command itself, Voila behind it): the widget shows without any code cell, *train* trains
and *pause* stops it, a stroke drawn on the canvas with the mouse gets the network's
answer, and so does a picture uploaded through the file input.
Screenshots go to ``out/screenshots/playground-*.png`` (ignored by git). The machinery
(Chromium, Playwright, an isolated JupyterLab) is ``browser_support``'s.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

if importlib.util.find_spec("jupyterlab") is None:
    pytest.skip("the browser test needs JupyterLab (the 'grader' extra)",
                allow_module_level=True)
if importlib.util.find_spec("voila") is None or importlib.util.find_spec("ipywidgets") is None:
    pytest.skip("the playground's browser test needs the 'course' extra (voila, ipywidgets)",
                allow_module_level=True)
jupytext = pytest.importorskip("jupytext", reason="the lessons need the 'course' extra")

from browser_support import (  # noqa: E402
    PROMPT_DONE,
    JupyterLab,
    NotebookPage,
    ensure_chromium,
    ensure_playwright,
    free_port,
    launch_chromium,
)

ROOT = Path(__file__).resolve().parent.parent
LESSON = ROOT / "course" / "12_playground.py"
SCREENSHOTS_OUT = ROOT / "out" / "screenshots"
BROKEN = "INPUT\nCONV filters=8 size=3 pad=0\nRELU\nPOOL size=2 stride=2\nPOOL size=2\nFC"
VALID = "INPUT -> [CONV -> RELU -> POOL]*2 -> FC\nfilters = 4, 6"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Chromium with a fresh profile, a screenshots folder; stopped at the end."""
    ensure_chromium()
    sync_api = ensure_playwright()
    tmp = tmp_path_factory.mktemp("playground-browser")
    shots = tmp / "screenshots"
    shots.mkdir()
    playwright = sync_api.sync_playwright().start()
    context = None
    try:
        context = launch_chromium(playwright, tmp / "chromium-profile", viewport=(1400, 1100))
        yield {"context": context, "shots": shots, "tmp": tmp}
    finally:
        if context is not None:
            context.close()
        playwright.stop()
        if any(shots.iterdir()):
            SCREENSHOTS_OUT.mkdir(parents=True, exist_ok=True)
            for png in shots.glob("*.png"):
                shutil.copy2(png, SCREENSHOTS_OUT / f"playground-{png.name}")


def seen(page) -> int:
    """The examples-seen counter of the status line."""
    text = page.locator(".cn-playground .cn-seen").first.inner_text()
    return int(re.sub(r"\D", "", text))


def image_src(page, css_class: str) -> str:
    """The picture of the playground's image widget with ``css_class`` as the page shows
    it (the class sits on the img itself or on a box around it)."""
    return page.locator(f".cn-playground .{css_class} img, .cn-playground img.{css_class}") \
        .first.get_attribute("src") or ""


def loss_src(page) -> str:
    return image_src(page, "cn-loss")


def shown_input(page) -> str:
    """The picture of "your input" (drawn or uploaded)."""
    return image_src(page, "cn-your-input")


def write_digit_picture(path: Path) -> None:
    """A 64x64 PNG of a hand-drawn-looking 7: dark strokes on white paper."""
    from PIL import Image, ImageDraw
    picture = Image.new("L", (64, 64), 255)
    pen = ImageDraw.Draw(picture)
    pen.line([(14, 12), (50, 12), (28, 56)], fill=0, width=7)
    picture.save(path)


def wait_for(condition, timeout: float, what: str, fail) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise fail(f"{what} after {timeout:.0f} s")


def button(page, label: str):
    return page.locator(".cn-playground button", has_text=re.compile(f"^\\s*{label}\\s*$"))


def train_and_pause(page, fail, shot, interrupt=None) -> None:
    """Press train: the counter and the loss curve change; press pause: they stop. With
    ``interrupt``, the kernel is interrupted while training: training goes on."""
    before, curve = seen(page), loss_src(page)
    button(page, "train").click()
    wait_for(lambda: seen(page) > before + 320 and loss_src(page) != curve, 30,
             "the examples-seen counter and the loss curve did not change", fail)
    if interrupt is not None:
        interrupt()
        after = seen(page)
        wait_for(lambda: seen(page) > after + 320, 30,
                 "training stopped when the kernel was interrupted", fail)
    page.wait_for_timeout(400)      # the new pictures painted
    shot("training")
    button(page, "pause").click()
    page.wait_for_timeout(1000)     # the last step and the last refresh
    stopped, curve = seen(page), loss_src(page)
    page.wait_for_timeout(1000)
    if (seen(page), loss_src(page)) != (stopped, curve):
        raise fail(f"training went on after pause: {stopped} then {seen(page)} examples")


def run_first_cell(page) -> None:
    """Run the lesson's first code cell (it opens the playground) with Shift+Enter, as a
    person does; test_lessons.py runs the whole lesson."""
    before = page.prompts()[0]
    page.cell(1).locator(".cm-content").click()
    page.page.keyboard.press("Shift+Enter")
    wait_for(lambda: PROMPT_DONE.match(page.prompts()[0] or "") is not None
             and page.prompts()[0] != before, 120, "the first cell did not run", page.fail)
    widget = page.page.locator(".cn-playground").last
    widget.wait_for(timeout=60_000)
    widget.scroll_into_view_if_needed()


def test_lesson_playground_trains_pauses_and_checks_definitions_in_jupyterlab(browser,
                                                                             tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy2(LESSON, work / LESSON.name)
    n_code = sum(c.cell_type == "code" for c in jupytext.read(LESSON).cells)
    lab = JupyterLab(work, tmp_path / "jupyter")
    lab.start()
    page = None
    try:
        page = NotebookPage(browser["context"], lab, LESSON.name, "playground",
                            browser["shots"])
        with page.guard("lesson-error"):
            page.open()
            page.wait_cells(n_code)
            page.wait_kernel_idle()
            run_first_cell(page)
            p = page.page
            page.screenshot("lab-ready")
            train_and_pause(p, page.fail, lambda name: page.screenshot(f"lab-{name}"))
            editor = p.locator(".cn-playground .cn-editor textarea").first
            editor.fill(BROKEN)
            wait_for(lambda: "1.5 is not an integer" in
                     p.locator(".cn-playground .cn-summary-box").first.inner_text(), 20,
                     "the sizing error did not show", page.fail)
            text = p.locator(".cn-playground .cn-summary-box").first.inner_text()
            page.expect("(3 - 2)/2 + 1 = 1.5" in text, f"no numbers in {text!r}", "no-numbers")
            page.screenshot("lab-invalid-definition")
            editor.fill(VALID)
            wait_for(lambda: "CONV3-6" in
                     p.locator(".cn-playground .cn-summary-box").first.inner_text(), 20,
                     "the table did not change for a valid definition", page.fail)
            page.screenshot("lab-valid-definition")
            # The same with comm messages kept off the kernel's subshells (JupyterLab's
            # kernels setting commsOverSubshells, default perCommTarget): reload the page
            # with the setting, run the cell again, train, interrupt the kernel (training
            # goes on: it runs in the playground's own thread) and pause.
            settings = (tmp_path / "jupyter" / "settings" / "@jupyterlab" / "apputils-extension"
                        / "kernels-settings.jupyterlab-settings")
            settings.parent.mkdir(parents=True, exist_ok=True)
            settings.write_text('{"commsOverSubshells": "disabled"}')
            request = urllib.request.Request(
                f"{lab.base_url}/lab/api/settings/@jupyterlab/apputils-extension:"
                "kernels-settings", headers={"Authorization": f"token {lab.token}"})
            with urllib.request.urlopen(request, timeout=10) as answer:
                stored = json.loads(answer.read())
            page.expect(stored["settings"].get("commsOverSubshells") == "disabled",
                        f"the setting did not take: {stored['settings']}", "setting")
            page.open()                 # JupyterLab loaded again, with the setting
            page.wait_kernel_idle()
            run_first_cell(page)
            train_and_pause(p, page.fail, lambda name: page.screenshot(f"lab-nosubshells-{name}"),
                            interrupt=lambda: page.menu("Kernel", "Interrupt Kernel"))
    finally:
        if page is not None:
            page.close()
        lab.stop()


def test_make_playground_page_shows_the_widget_alone_and_trains(browser, tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("MPLBACKEND", "JUPYTER_PATH", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    for var, name in {"JUPYTER_CONFIG_DIR": "config", "JUPYTER_DATA_DIR": "data",
                      "JUPYTER_RUNTIME_DIR": "runtime", "IPYTHONDIR": "ipython"}.items():
        (tmp_path / name).mkdir()
        env[var] = str(tmp_path / name)
    log = open(tmp_path / "voila.log", "w")  # noqa: SIM115 (closed below)
    # the command a lecturer types, with the page's notebook in this test's folder
    args = f"--folder {tmp_path / 'page'} --port {port} --no-browser"
    proc = subprocess.Popen(["make", "--no-print-directory", "-C", str(ROOT), "playground",
                             f"PLAYGROUND_ARGS={args}"], env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    page = browser["context"].new_page()
    shots = browser["shots"]
    children = []

    def fail(message):
        page.screenshot(path=str(shots / "voila-failure.png"))
        return AssertionError(f"{message}\nvoila log: {tmp_path / 'voila.log'}")

    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).close()
                break
            time.sleep(0.3)
        page.goto(f"http://127.0.0.1:{port}/", timeout=120_000)
        page.locator(".cn-playground").first.wait_for(timeout=90_000)
        assert page.locator(".jp-CodeCell .jp-InputArea").count() == 0  # no code shown
        page.locator(".cn-playground .cn-loss").first.wait_for(timeout=30_000)
        page.screenshot(path=str(shots / "voila-ready.png"))
        train_and_pause(page, fail,
                        lambda name: page.screenshot(path=str(shots / f"voila-{name}.png")))
        # the other tabs show their pictures
        for tab, shown in (("layers", ".cn-layers"), ("test set", "img")):
            page.locator(".cn-playground .lm-TabBar-tab", has_text=tab).first.click()
            page.wait_for_timeout(300)
            visible = page.locator(f".cn-playground .lm-TabPanel:visible {shown}, "
                                   f".cn-playground .widget-tab-contents {shown}")
            if not visible.count():
                raise fail(f"the {tab} tab shows nothing")
            page.screenshot(path=str(shots / f"voila-{tab.replace(' ', '-')}.png"))
        # draw a stroke on the canvas (the anywidget's JavaScript): the network answers
        page.locator(".cn-playground .lm-TabBar-tab", has_text="your input").first.click()
        canvas = page.locator("canvas.convnets-drawing").first
        canvas.wait_for(timeout=30_000)
        box = canvas.bounding_box()
        x = box["x"] + box["width"] / 2
        page.mouse.move(x, box["y"] + box["height"] * 0.15)
        page.mouse.down()
        for k in range(2, 18):
            page.mouse.move(x, box["y"] + box["height"] * (0.15 + 0.04 * k))
        page.mouse.up()
        wait_for(lambda: "the network says" in
                 page.locator(".cn-playground .cn-message").first.inner_text(), 30,
                 "no prediction for the drawn stroke", fail)
        page.wait_for_timeout(300)
        page.screenshot(path=str(shots / "voila-drawing.png"))
        # upload a picture (dark ink on white, as a photographed digit): the input shown
        # changes to it and the network answers
        drawn = shown_input(page)
        picture = tmp_path / "seven.png"
        write_digit_picture(picture)
        with page.expect_file_chooser(timeout=30_000) as chooser:   # a person's click
            page.locator(".cn-playground .cn-upload").first.click()
        chooser.value.set_files(str(picture))
        wait_for(lambda: shown_input(page) not in ("", drawn) and "the network says" in
                 page.locator(".cn-playground .cn-message").first.inner_text(), 30,
                 "no prediction for the uploaded picture", fail)
        page.wait_for_timeout(300)
        page.screenshot(path=str(shots / "voila-upload.png"))
    finally:
        page.close()
        import psutil
        with contextlib.suppress(psutil.Error):  # the kernel runs in a session of its own
            children = psutil.Process(proc.pid).children(recursive=True)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)     # make, the page command and Voila
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        for child in children:
            with contextlib.suppress(psutil.Error):
                child.kill()
        log.close()
