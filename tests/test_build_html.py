"""``tools/build_html.py``: the lessons as static, self-contained HTML pages.

The tool runs as a command (as ``make html`` runs it) on the first lesson, and on a
broken lesson to check that a failure is reported and the index still written.
"""

from __future__ import annotations

import base64
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

# The tool runs in a subprocess: check that its packages are there without importing them.
_missing = [m for m in ("nbconvert", "jupytext", "nbclient", "ipykernel")
            if importlib.util.find_spec(m) is None]
if _missing:
    pytest.skip(f"the HTML build needs {', '.join(_missing)} (the 'course' and 'grader' "
                "extras)", allow_module_level=True)

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "tools" / "build_html.py"
LESSON = sorted((ROOT / "course").glob("01_*.py"))
IMG = re.compile(r"<img\b[^>]*\bsrc=\"([^\"]*)\"")


def run_tool(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    # MPLBACKEND=Agg (as tests set it) would leave the pages without figures: the tool
    # must give its kernels the inline backend whatever the environment says.
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, str(TOOL), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def test_a_lesson_page_embeds_its_figures_and_outputs(tmp_path):
    assert LESSON, "no course/01_*.py lesson"
    lesson = LESSON[0]
    out = tmp_path / "html"
    proc = run_tool(str(lesson), "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    assert last == f"html: {out / 'index.html'}", proc.stdout

    page = (out / f"{lesson.stem}.html").read_text(encoding="utf-8")
    sources = IMG.findall(page)
    n_figures = lesson.read_text(encoding="utf-8").count("plt.show()")
    assert n_figures >= 1
    # Every image is inline (a data: URI), one per figure the lesson shows, and is a
    # real PNG of a real figure, not a placeholder.
    assert len(sources) >= n_figures, f"{len(sources)} <img> for {n_figures} figures"
    for src in sources:
        assert src.startswith("data:image/png;base64,"), f"not embedded: {src[:80]}"
        png = base64.b64decode(src.split(",", 1)[1])
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
        assert width > 200 and height > 100, (width, height)
    # The printed output of the executed cells is on the page (lesson 1's claim 1),
    # with execution counts, and no error.
    assert "3,072 weights" in page
    assert re.search(r"In\s*\[\s*1\s*\]", page)
    assert "Traceback" not in page

    index = (out / "index.html").read_text(encoding="utf-8")
    assert f'href="{lesson.stem}.html"' in index
    assert "Lesson 1" in index


BROKEN = """\
# %% [markdown]
# # Lesson 99: a broken one

# %%
value = 3
assert value == 4, "the notes say 4"
"""


def test_a_failing_lesson_is_reported_and_the_index_still_written(tmp_path):
    broken = tmp_path / "99_broken.py"
    broken.write_text(BROKEN, encoding="utf-8")
    out = tmp_path / "html"
    proc = run_tool(str(broken), "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAILED 99_broken.py" in proc.stdout
    assert "AssertionError: the notes say 4" in proc.stdout
    assert "0 of 1 lessons built" in proc.stdout and "failed: 99_broken.py" in proc.stdout
    assert not (out / "99_broken.html").exists()
    assert "99_broken.py" in (out / "index.html").read_text(encoding="utf-8")


def test_unknown_lesson_is_a_usage_error(tmp_path):
    proc = run_tool(str(tmp_path / "nope.py"), "--out", str(tmp_path / "html"), cwd=tmp_path)
    assert proc.returncode == 2
    assert "no such lesson" in proc.stderr


def test_lesson_4_page_plays_the_demo_and_hides_the_exercise_solutions(tmp_path):
    # The convolution demo's animation is in the page with the numbers of all 18 steps
    # (it needs no kernel), and the collapsed cell that sets the exercises up shows
    # only its output: questions with hints and solutions folded in <details>.
    import html
    import json

    lesson = sorted((ROOT / "course").glob("04_*.py"))[0]
    out = tmp_path / "html"
    proc = run_tool(str(lesson), "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    page = (out / f"{lesson.stem}.html").read_text(encoding="utf-8")
    # (nbconvert may rewrite the attribute's quotes: either kind is read.)
    found = re.findall(r"""class="conv-demo" data-steps=(?:"([^"]*)"|'([^']*)')""", page)
    assert len(found) == 1, "the animation is not on the page"
    data = json.loads(html.unescape("".join(found[0])))
    steps = data["steps"]
    assert len(steps) == 18
    assert [(s["k"], s["i"], s["j"]) for s in steps] == [
        (k, i, j) for k in range(2) for i in range(3) for j in range(3)]
    assert all(sum(s["sums"]) + data["b"][s["k"]] == s["value"] for s in steps)
    assert "setInterval" in page                      # it plays by itself
    assert page.count("<details><summary>solution</summary>") == 3
    assert "exercises.add(" not in page               # the set-up's source is hidden
    assert len(re.findall(r"Exercise \d: not answered yet", page)) == 3
    assert "'unanswered'" not in page                 # no Out[] value under the answers
    # The slider needs a kernel: the page says so instead of leaving an empty space.
    assert "widget-view+json" not in page and 'class="widget-note"' in page


TINY = """\
# %% [markdown]
# # Lesson {n}: tiny {n}

# %% [markdown]
# ## 1. The first part of {n}

# %%
print("lesson {n} ran")

# %% [markdown]
# ## Summary
"""


def test_pages_link_to_their_neighbours_and_the_contents_page(tmp_path):
    # Three built lessons and one that fails: every page has previous/next links (to
    # the neighbours that were built) and a link to the contents, at its top and bottom;
    # the contents page lists each lesson with its sections.
    lessons = []
    for n in (1, 2, 3):
        path = tmp_path / f"0{n}_tiny.py"
        path.write_text(TINY.format(n=n), encoding="utf-8")
        lessons.append(path)
    broken = tmp_path / "025_broken.py"
    broken.write_text(BROKEN, encoding="utf-8")
    out = tmp_path / "html"
    proc = run_tool(str(lessons[0]), str(lessons[1]), str(broken), str(lessons[2]),
                    "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 1 and "3 of 4 lessons built" in proc.stdout, proc.stdout

    def links(page, rel):
        return re.findall(rf'<a href="([^"]+)" rel="{rel}">', page)

    pages = {n: (out / f"0{n}_tiny.html").read_text(encoding="utf-8") for n in (1, 2, 3)}
    assert links(pages[1], "prev") == [] and links(pages[1], "next") == ["02_tiny.html"] * 2
    assert links(pages[2], "prev") == ["01_tiny.html"] * 2
    assert links(pages[2], "next") == ["03_tiny.html"] * 2          # the broken one skipped
    assert links(pages[3], "prev") == ["02_tiny.html"] * 2 and links(pages[3], "next") == []
    for n, page in pages.items():
        assert page.count('<a href="index.html">Contents</a>') == 2
        top, bottom = page.index('class="lesson-nav top"'), page.index('lesson-nav bottom')
        assert top < page.index(f"lesson {n} ran") < bottom
    assert "Lesson 1: tiny 1 &rarr;" not in pages[2] and "Lesson 3: tiny 3 &rarr;" in pages[2]

    contents = (out / "index.html").read_text(encoding="utf-8")
    order = [contents.index(f'href="0{n}_tiny.html"') for n in (1, 2, 3)]
    assert order == sorted(order)
    for n in (1, 2, 3):    # each section linked to its heading on the lesson's page
        assert (f'<li><a href="0{n}_tiny.html#1.-The-first-part-of-{n}">1. The first part of '
                f'{n}</a></li><li><a href="0{n}_tiny.html#Summary">Summary</a></li>') in contents
        assert f'id="1.-The-first-part-of-{n}"' in pages[n]
    assert "<h2>Not built</h2>" in contents and "025_broken.py" in contents
