"""The README's picture of a lesson page: lesson 2's exercises in its executed HTML.

Builds lesson 2's page with ``tools/build_html.py`` (as ``make html`` does, into a
temporary folder) unless ``--html`` names a page already built, opens it in headless
Debian Chromium (driven with Playwright as the browser tests drive it, see
``tests/browser_support.py``), types a right answer to exercise 1 and a wrong one to
exercise 2, presses *check* on both, opens exercise 2's hint and saves the part of the
page from the "Exercises" heading to the answer cell's output::

    .venv/bin/python tools/screenshot_lesson_exercise.py     # docs/img/lesson_exercise.png
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LESSON = ROOT / "course" / "02_conv_layer_geometry.py"
DEFAULT_OUT = ROOT / "docs" / "img" / "lesson_exercise.png"
ANSWERS = ((0, "31"), (1, "2"))        # exercise 1 right, exercise 2 wrong
WIDTH = 1000


def build_page(folder: Path) -> Path:
    """Lesson 2's executed HTML page, built into ``folder``."""
    subprocess.run([sys.executable, str(ROOT / "tools" / "build_html.py"), "--out",
                    str(folder), str(LESSON)], check=True)
    return folder / f"{LESSON.stem}.html"


def screenshot(page_file: Path, out: Path, profile: Path) -> dict:
    """Answer, check, open a hint, and save the exercises' part of the page; returns the
    verdicts the page gave."""
    sys.path.insert(0, str(ROOT / "tests"))
    from browser_support import ensure_chromium, launch_chromium
    from playwright.sync_api import sync_playwright

    ensure_chromium()
    verdicts = {}
    with sync_playwright() as playwright:
        context = launch_chromium(playwright, profile, viewport=(WIDTH, 900))
        try:
            page = context.new_page()
            page.goto(page_file.resolve().as_uri())
            items = page.locator(".exercises li")
            for index, text in ANSWERS:
                item = items.nth(index)
                item.locator(".exercise-answer").fill(text)
                item.locator(".exercise-check").click()
                verdicts[index + 1] = item.locator(".exercise-verdict").inner_text()
            items.nth(1).locator("summary", has_text="hint").click()
            scroll = page.evaluate("window.scrollY")
            heading = page.locator("h2", has_text="Exercises").first.bounding_box()
            answers = page.locator(".exercises").bounding_box()
            top = heading["y"] + scroll - 12
            bottom = answers["y"] + answers["height"] + scroll + 12
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out), full_page=True,
                            clip={"x": 0, "y": top, "width": WIDTH, "height": bottom - top})
        finally:
            context.close()
    return verdicts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", type=Path, help="lesson 2's page, already built")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        page_file = args.html or build_page(Path(tmp) / "html")
        verdicts = screenshot(page_file, args.out, Path(tmp) / "profile")
    print(f"{args.out}: {args.out.stat().st_size / 1024:.0f} kB; verdicts {verdicts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
