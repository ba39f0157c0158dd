"""Lesson 4's exported HTML in a real browser: the convolution demo plays without a
kernel.

``tools/build_html.py`` builds lesson 4's page (as ``make html`` does); headless Debian
Chromium (driven with Playwright, see ``browser_support``) opens the file: the player
draws step 1 of 18 with the window on the three padded input slices, advances by itself,
stops when paused, and steps with the arrow buttons through all 18 steps, showing each
step's value as the page's embedded data says; the exercises' boxes check answers in the
page (right, wrong, how far off) with their solutions still folded. A screenshot is
copied to ``out/screenshots/``.
"""

from __future__ import annotations

import html
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

_missing = [m for m in ("nbconvert", "jupytext", "nbclient", "ipykernel")
            if importlib.util.find_spec(m) is None]
if _missing:
    pytest.skip(f"the HTML build needs {', '.join(_missing)}", allow_module_level=True)

from browser_support import ensure_chromium, ensure_playwright, launch_chromium  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LESSON = sorted((ROOT / "course").glob("04_*.py"))
SCREENSHOTS_OUT = ROOT / "out" / "screenshots"


@pytest.fixture(scope="module")
def lesson_page(tmp_path_factory) -> Path:
    assert LESSON, "no course/04_*.py lesson"
    out = tmp_path_factory.mktemp("html")
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "build_html.py"),
                           str(LESSON[0]), "--out", str(out)], cwd=out,
                          env={**os.environ, "MPLBACKEND": "Agg"}, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out / f"{LESSON[0].stem}.html"


def test_the_demo_plays_in_the_exported_page(lesson_page, tmp_path):
    ensure_chromium()
    sync_api = ensure_playwright()
    page_text = lesson_page.read_text(encoding="utf-8")
    found = re.search(r"""class="conv-demo" data-steps=(?:"([^"]*)"|'([^']*)')""", page_text)
    assert found, "no animation in the page"
    steps = json.loads(html.unescape(found.group(1) or found.group(2)))["steps"]
    with sync_api.sync_playwright() as playwright:
        context = launch_chromium(playwright, tmp_path / "profile")
        try:
            page = context.new_page()
            page.goto(lesson_page.as_uri(), wait_until="domcontentloaded", timeout=60_000)
            demo = page.locator(".conv-demo")
            demo.scroll_into_view_if_needed(timeout=30_000)
            label = demo.locator(".label")

            def current() -> int:
                return int(demo.get_attribute("data-current"))

            # It draws a step at once: 3 padded slices with a 3x3 window each, 2 filters'
            # slices, the output grids; then it advances by itself.
            first = current()
            assert re.fullmatch(r"step \d+ of 18", label.inner_text())
            assert demo.locator("td.win").count() == 3 * 9
            assert demo.locator("td.cur").count() == 1
            deadline = time.monotonic() + 15
            while current() == first and time.monotonic() < deadline:
                page.wait_for_timeout(200)
            assert current() != first, "the animation did not advance in 15 s"
            shot = tmp_path / "lesson04_animation.png"
            demo.screenshot(path=str(shot))

            # Paused, it stays; the arrows then step through all 18 with their values.
            demo.locator("button.play").click()
            held = current()
            page.wait_for_timeout(2500)
            assert current() == held and demo.locator("button.play").inner_text() == "play"
            seen = {}
            for _ in range(18):
                demo.locator("button.next").click()
                shown = current()
                value = demo.locator("td.cur").inner_text()
                seen[shown] = value
                assert label.inner_text() == f"step {shown} of 18"
            assert sorted(seen) == list(range(1, 19))
            for number, value in seen.items():
                assert float(value) == steps[number - 1]["value"], (number, value)

            # The exercises check answers in the page too (no kernel): exercise 3's
            # answer is 15 products; exercise 1's is 50 outputs.
            items = page.locator(".exercises li")
            assert items.count() == 3

            def check(index: int, text: str) -> str:
                item = items.nth(index)
                item.locator(".exercise-answer").fill(text)
                item.locator(".exercise-check").click()
                return item.locator(".exercise-verdict").inner_text()

            assert check(2, "15") == "right"
            assert check(2, "30") == "wrong: too large by a factor of about 2.0"
            assert check(2, "14") == "wrong: too small by 7%"
            assert check(2, "") == "not answered yet"
            assert check(0, "50") == "right"
            assert check(0, "2 x 25") == "wrong: expected one number"
            assert not items.nth(0).locator("details").nth(1).evaluate("d => d.open")
        finally:
            context.close()
    SCREENSHOTS_OUT.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, SCREENSHOTS_OUT / shot.name)
    print(f"screenshot: {SCREENSHOTS_OUT / shot.name}")


def test_the_demo_plays_and_the_slider_works_in_jupyterlab(tmp_path):
    # The same lesson run in JupyterLab (Run All Cells): the animation plays in the
    # notebook too, and the ipywidgets slider is drawn (it needs the kernel).
    from browser_support import PROMPT_DONE, JupyterLab, NotebookPage

    ensure_chromium()
    sync_api = ensure_playwright()
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy2(LESSON[0], work / LESSON[0].name)
    shots = tmp_path / "shots"
    shots.mkdir()
    lab = JupyterLab(work, tmp_path / "jupyter")
    playwright = context = None
    try:
        lab.start()
        playwright = sync_api.sync_playwright().start()
        context = launch_chromium(playwright, tmp_path / "profile")
        page = NotebookPage(context, lab, LESSON[0].name, "lesson4", shots)
        with page.guard("lesson4-error"):
            page.open()
            page.wait_kernel_idle()
            page.run_all()
            prompts = page.wait_executed("Run All Cells")
            # (The collapsed cell that sets up the exercises shows no prompt; its output,
            # the questions, shows it ran.)
            page.expect(all(PROMPT_DONE.match(p) for p in prompts if p) and prompts.count("")
                        == 1, f"not every cell ran: {prompts}", "lesson4-not-run")
            page.expect(page.page.locator(".exercises li").count() == 3,
                        "the exercises are not shown", "lesson4-exercises")
            demo = page.page.locator(".conv-demo")
            demo.scroll_into_view_if_needed(timeout=60_000)
            first = int(demo.get_attribute("data-current"))
            deadline = time.monotonic() + 15
            while int(demo.get_attribute("data-current")) == first \
                    and time.monotonic() < deadline:
                page.page.wait_for_timeout(200)
            page.expect(int(demo.get_attribute("data-current")) != first,
                        "the animation does not advance in JupyterLab", "lesson4-still")
            slider = page.page.locator(".widget-slider, .jupyter-widget-slider").first
            slider.scroll_into_view_if_needed(timeout=60_000)
            page.expect(slider.is_visible(), "the slider widget is not drawn",
                        "lesson4-slider")
            page.screenshot("lesson04_jupyterlab")
    finally:
        if context is not None:
            context.close()
        if playwright is not None:
            playwright.stop()
        lab.stop()
    SCREENSHOTS_OUT.mkdir(parents=True, exist_ok=True)
    for png in shots.glob("*.png"):
        shutil.copy2(png, SCREENSHOTS_OUT / png.name)
