"""Static HTML of the lessons, for reading without a kernel.

Each lesson (``course/NN_name.py``, jupytext's percent format) is executed from a clean
kernel with nbclient, the way "Restart and run all" would, and exported with
nbconvert's HTML exporter (JupyterLab's look). The figures are embedded in the page
as base64 PNG, so every page is a single self-contained file. A cell collapsed in
JupyterLab (``jupyter.source_hidden``, e.g. the set-up of a lesson's exercises) shows
only its output; a widget, which needs a kernel, is replaced by a note saying so. Every
page has a bar at its top and bottom with links to the previous lesson, the contents and
the next lesson; ``index.html`` is the contents page: every lesson with its title and
links to its sections.

    python tools/build_html.py                    # every lesson -> out/html/
    python tools/build_html.py course/01_*.py --out /tmp/html

A lesson that fails (an error or a failed assert in a cell) is reported with the cell
and the error; the others are still built, and the command exits with status 1. The
last line printed is ``html: <path of index.html>``.

The kernel is ipykernel in the interpreter running this script (so it imports the
``convnets`` installed next to it, whatever kernels are installed elsewhere), with
matplotlib's inline backend, in a temporary working directory.
"""

from __future__ import annotations

import argparse
import html
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COURSE = ROOT / "course"
DEFAULT_OUT = ROOT / "out" / "html"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_NOTE = ('<p class="widget-note"><em>An interactive widget goes here when the '
               "lesson runs in JupyterLab (it needs a running kernel).</em></p>")


class LessonFailed(Exception):
    """A lesson raised in a cell, or a cell ran too long."""


def this_interpreter_kernel():
    """A KernelManager class whose kernel is ipykernel in ``sys.executable``."""
    from ipykernel.kernelspec import RESOURCES, get_kernel_dict
    from jupyter_client.kernelspec import KernelSpec
    from jupyter_client.manager import KernelManager

    class ThisInterpreterKernel(KernelManager):
        @property
        def kernel_spec(self) -> KernelSpec:
            if self._kernel_spec is None:
                self._kernel_spec = KernelSpec(resource_dir=RESOURCES, **get_kernel_dict())
            return self._kernel_spec

    return ThisInterpreterKernel


def kernel_environment(runtime: Path) -> dict:
    """This process's environment, with matplotlib's inline backend (an MPLBACKEND set
    for tests, e.g. Agg, would leave the pages without figures)."""
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    env["JUPYTER_RUNTIME_DIR"] = str(runtime)
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    return env


def execute_lesson(path: Path, workdir: Path, timeout: int = 600):
    """The lesson as a notebook, executed from a clean kernel in ``workdir``."""
    import jupytext
    import nbclient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    notebook = jupytext.read(path, fmt="py:percent")
    client = nbclient.NotebookClient(
        notebook, timeout=timeout, startup_timeout=120, kernel_name="python3",
        kernel_manager_class=this_interpreter_kernel(),
        resources={"metadata": {"path": str(workdir)}}, allow_errors=False)
    try:
        client.execute(env=kernel_environment(workdir / ".runtime"))
    except CellTimeoutError as err:
        raise LessonFailed(f"{path.name}: a cell ran longer than {timeout} s\n{err}") from None
    except CellExecutionError as err:
        raise LessonFailed(f"{path.name} failed:\n{ANSI.sub('', str(err))}") from None
    return notebook


def lesson_title(notebook, fallback: str) -> str:
    """The first markdown heading of the notebook."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return fallback


def export_html(notebook, title: str) -> str:
    """One self-contained HTML page (figures embedded as base64 PNG)."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab", embed_images=True)
    notebook.metadata.pop("jupytext", None)
    for cell in notebook.cells:
        # A cell collapsed in JupyterLab (an exercise set-up, with its solutions) shows
        # only its output on the page.
        if cell.metadata.get("jupyter", {}).get("source_hidden"):
            cell.metadata.setdefault("transient", {})["remove_source"] = True
        # A widget needs a kernel: without one the page would show an empty space.
        for output in cell.get("outputs", []):
            if WIDGET_VIEW in output.get("data", {}):
                output["data"] = {"text/html": WIDGET_NOTE}
    notebook.metadata.pop("widgets", None)
    body, _ = exporter.from_notebook_node(notebook, resources={"metadata": {"name": title}})
    return body


H2 = re.compile(r'<h2 id="([^"]*)">(.*?)<a class="anchor-link"', re.S)


def page_sections(page: str) -> list[tuple[str, str]]:
    """The sections of an exported page, ``(anchor id, heading text)`` in order: its
    ``<h2>`` headings (the lesson's ``## ...`` lines), as nbconvert wrote them."""
    return [(html.unescape(anchor), html.unescape(re.sub(r"<[^>]+>", "", text)).strip())
            for anchor, text in H2.findall(page)]


NAV_STYLE = """<style>
.lesson-nav { display: flex; justify-content: space-between; gap: 1rem;
              font-family: system-ui, sans-serif; font-size: 0.95rem; padding: 0.6rem 1rem;
              margin: 0 auto; max-width: 60rem; border-bottom: 1px solid #ddd; }
.lesson-nav.bottom { border-bottom: none; border-top: 1px solid #ddd; }
.lesson-nav a { text-decoration: none; }
.lesson-nav span { flex: 1; }
.lesson-nav .contents { text-align: center; }
.lesson-nav .next { text-align: right; }
</style>"""


def nav_bar(previous, following, where: str) -> str:
    """Links to the previous lesson, the contents and the next lesson; each neighbour is
    ``(href, title)`` or None."""
    def link(entry, arrow_before, arrow_after):
        if entry is None:
            return ""
        href, title = entry
        return (f'<a href="{html.escape(href)}" rel="{"prev" if arrow_before else "next"}">'
                f'{arrow_before}{html.escape(title)}{arrow_after}</a>')

    return (f'<nav class="lesson-nav {where}">'
            f'<span class="prev">{link(previous, "&larr; ", "")}</span>'
            f'<span class="contents"><a href="index.html">Contents</a></span>'
            f'<span class="next">{link(following, "", " &rarr;")}</span></nav>')


def with_navigation(page: str, previous, following) -> str:
    """The page with a navigation bar after ``<body ...>`` and before ``</body>``."""
    opening = re.search(r"<body\b[^>]*>", page)
    closing = page.rfind("</body>")
    if opening is None or closing < opening.end():
        raise ValueError("the exported page has no <body> element")
    return (page[:opening.end()] + NAV_STYLE + nav_bar(previous, following, "top")
            + page[opening.end():closing] + nav_bar(previous, following, "bottom")
            + page[closing:])


def index_page(entries: list[tuple[str, str, str, list]], failed: list[str]) -> str:
    """The contents page: one entry per lesson built, with links to its sections, and
    the lessons that failed."""
    def sections(href, names):
        if not names:
            return ""
        return ("\n    <ul class=\"sections\">" + "".join(
            f'<li><a href="{html.escape(href)}#{html.escape(anchor)}">{html.escape(name)}'
            f"</a></li>" for anchor, name in names) + "</ul>\n  ")

    items = "\n".join(f'  <li><a href="{html.escape(href)}">{html.escape(title)}</a> '
                      f'<span class="file">({html.escape(source)})</span>'
                      f'{sections(href, names)}</li>'
                      for href, title, source, names in entries)
    failures = ""
    if failed:
        failures = ("<h2>Not built</h2>\n<ul>\n" + "\n".join(
            f"  <li>{html.escape(name)}</li>" for name in failed) + "\n</ul>\n")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Convolutional networks from the inside: the lessons</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 48rem; margin: 2rem auto;
       line-height: 1.5; padding: 0 1rem; }}
.file {{ color: #666; font-size: 0.9em; }}
.lessons {{ list-style: none; padding-left: 0; }}
.lessons > li {{ margin-bottom: 0.8rem; }}
.sections {{ color: #444; font-size: 0.92em; margin: 0.2rem 0 0 0; }}
</style>
</head>
<body>
<h1>Convolutional networks from the inside: contents</h1>
<p>Each page is a lesson executed from a clean kernel, with its outputs and figures;
every number in it was computed by the code shown and checked by an <code>assert</code>.
To run and change the code, open the lessons in JupyterLab (<code>make lab</code>).</p>
<ul class="lessons">
{items}
</ul>
{failures}</body>
</html>
"""


def build(lessons: list[Path], out: Path, timeout: int = 600, log=print) -> tuple[Path, list]:
    """Execute and export ``lessons`` into ``out``; return (index path, failures)."""
    out.mkdir(parents=True, exist_ok=True)
    entries, pages, failures = [], [], []
    for path in lessons:
        start = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="lesson-") as tmp:
            try:
                notebook = execute_lesson(path, Path(tmp), timeout)
            except LessonFailed as err:
                failures.append((path.name, str(err)))
                log(f"FAILED {path.name}\n{err}")
                continue
        title = lesson_title(notebook, path.stem)
        page = out / f"{path.stem}.html"
        pages.append(export_html(notebook, title))
        entries.append((page.name, title, path.name, page_sections(pages[-1])))
        log(f"{path.name} -> {page} ({len(pages[-1]) / 1e6:.1f} MB, "
            f"{time.perf_counter() - start:.1f} s)")
    # The links go to the neighbours that were built.
    for number, ((href, *_), body) in enumerate(zip(entries, pages, strict=True)):
        previous = entries[number - 1][:2] if number > 0 else None
        following = entries[number + 1][:2] if number + 1 < len(entries) else None
        (out / href).write_text(with_navigation(body, previous, following), encoding="utf-8")
    index = out / "index.html"
    index.write_text(index_page(entries, [name for name, _ in failures]), encoding="utf-8")
    return index, failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python tools/build_html.py",
        description="Execute the lessons and write them as static HTML pages with an index.")
    parser.add_argument("lessons", nargs="*", type=Path,
                        help="lesson files (default: every course/NN_*.py)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="output folder (default: %(default)s)")
    parser.add_argument("--timeout", type=int, default=600,
                        help="seconds allowed for one cell (default: %(default)s)")
    args = parser.parse_args(argv)
    lessons = args.lessons or sorted(COURSE.glob("[0-9][0-9]_*.py"))
    missing = [str(p) for p in lessons if not p.is_file()]
    if not lessons or missing:
        parser.error(f"no such lesson: {', '.join(missing)}" if missing
                     else f"no lessons in {COURSE}")
    start = time.perf_counter()
    index, failures = build([p.resolve() for p in lessons], args.out.resolve(), args.timeout)
    print(f"{len(lessons) - len(failures)} of {len(lessons)} lessons built in "
          f"{time.perf_counter() - start:.1f} s"
          + (f"; failed: {', '.join(name for name, _ in failures)}" if failures else ""))
    print(f"html: {index}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
