"""The course in a real browser: JupyterLab on localhost, driven in headless Chromium.

What a reader and a student do, checked on what the page shows:

1. the first lesson (``course/01_*.py``, double-clicked in the file browser, opens as a
   notebook through jupytext with the settings ``make lab`` uses, ``tools/jupyter``)
   runs with Run > Run All Cells: every code cell gets an
   execution count, the printed numbers and the figures appear, nothing shows an error;
2. an assignment's student notebook (the release built by ``python -m autograder
   build``): a correct solution typed into the first answer cell makes its visible test
   print its ``ok: ...`` lines, while the next, unsolved, test shows
   ``NotImplementedError``.

Debian's ``chromium`` is installed with apt if missing, ``playwright`` with pip (see
``browser_support``); the test is skipped only where apt cannot be used. Screenshots go
to a temporary directory (their paths are printed) and the latest are copied to
``out/screenshots/`` (ignored by git). The JupyterLab server, its kernels and the
browser are stopped at the end.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

if importlib.util.find_spec("jupyterlab") is None:     # not imported: the server is a process
    pytest.skip("the browser test needs JupyterLab (the 'grader' extra)",
                allow_module_level=True)
jupytext = pytest.importorskip("jupytext", reason="the lessons need the 'course' extra")
nbformat = pytest.importorskip("nbformat", reason="the lessons need the 'course' extra")

from browser_support import (  # noqa: E402
    ERROR_NAME,
    PROMPT_DONE,
    JupyterLab,
    NotebookPage,
    ensure_chromium,
    ensure_playwright,
    launch_chromium,
)

ROOT = Path(__file__).resolve().parent.parent
LESSON = sorted((ROOT / "course").glob("01_*.py"))
ASSIGNMENT = "conv_naive"
SCREENSHOTS_OUT = ROOT / "out" / "screenshots"


def say(request, line: str) -> None:
    """A line in pytest's output even when output is captured."""
    plugins = request.config.pluginmanager
    reporter, capture = plugins.getplugin("terminalreporter"), plugins.getplugin("capturemanager")
    if reporter is None or capture is None:
        print(f"[browser] {line}")
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line(f"[browser] {line}")


def assignment_to_use() -> tuple[str, Path]:
    """``conv_naive`` from assignments/, or the toy fixture if that does not exist yet:
    its name and the folder of its sources (for ``AUTOGRADER_ASSIGNMENTS``)."""
    if (ROOT / "assignments" / ASSIGNMENT / f"{ASSIGNMENT}.py").is_file():
        return ASSIGNMENT, ROOT / "assignments"
    return "toy", ROOT / "tests" / "fixtures"


def build_release(name: str, sources: Path, course: Path) -> Path:
    """The student release of one assignment, through the real build command."""
    env = {**os.environ, "AUTOGRADER_ASSIGNMENTS": str(sources)}
    cmd = [sys.executable, "-m", "autograder", "--course", str(course), "build", name]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, (f"`{' '.join(cmd)}` failed:\n{proc.stdout}\n"
                                  f"{proc.stderr}")
    release = course / "release" / name
    assert (release / f"{name}.ipynb").is_file(), f"no student notebook in {release}"
    return release


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def answer_and_tests(release_nb) -> dict:
    """Indices (in the student notebook) of the first answer cell, the first test cell
    after it, the next answer cell and the first test cell after that one."""
    kinds = []
    for i, cell in enumerate(release_nb.cells):
        meta = nbgrader_meta(cell)
        if meta.get("solution") and not meta.get("grade"):
            kinds.append(("answer", i, meta["grade_id"]))
        elif meta.get("grade") and not meta.get("solution") and cell.cell_type == "code":
            kinds.append(("test", i, meta["grade_id"]))
    picked, want = {}, ["answer", "test", "answer", "test"]
    keys = ["solved", "solved_test", "unsolved", "unsolved_test"]
    for kind, index, grade_id in kinds:
        if len(picked) < 4 and kind == want[len(picked)]:
            picked[keys[len(picked)]] = (index, grade_id)
    assert len(picked) == 4, f"the student notebook needs two answer/test pairs: {kinds}"
    return picked


def solution_source(sources: Path, name: str, grade_id: str) -> str:
    """The instructor's code of an answer cell, without nbgrader's solution markers."""
    notebook = jupytext.read(sources / name / f"{name}.py")
    for cell in notebook.cells:
        if nbgrader_meta(cell).get("grade_id") == grade_id:
            return "\n".join(line for line in cell.source.splitlines()
                             if not re.match(r"^\s*### (BEGIN|END) SOLUTION", line))
    raise AssertionError(f"no cell {grade_id!r} in the source of {name}")


def visible_text(outputs: list[dict]) -> str:
    return "\n".join(o["text"] for o in outputs)


def error_outputs(outputs: list[dict]) -> list[str]:
    """Outputs that show an exception (JupyterLab renders tracebacks as stderr text)."""
    return [o["text"][:500] for o in outputs
            if o["mime"] == "application/vnd.jupyter.stderr"
            and ("Traceback" in o["text"] or ERROR_NAME.search(o["text"]))]


# ---------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def session(request, tmp_path_factory):
    """Chromium, Playwright, a work folder (a lesson and a student release), a running
    JupyterLab and a browser context; all stopped at the end."""
    if not LESSON:
        pytest.fail("no course/01_*.py lesson to open")
    t_install = time.monotonic()
    ensure_chromium()
    sync_api = ensure_playwright()
    t0 = time.monotonic()
    tmp = tmp_path_factory.mktemp("browser")
    shots = tmp / "screenshots"
    shots.mkdir()
    name, sources = assignment_to_use()
    release = build_release(name, sources, tmp / "course")
    work = tmp / "work"
    work.mkdir()
    shutil.copy2(LESSON[0], work / LESSON[0].name)
    shutil.copytree(release, work / name)
    t_built = time.monotonic()

    lab = JupyterLab(work, tmp / "jupyter")
    playwright = context = None
    try:
        lab.start()
        t_lab = time.monotonic()
        playwright = sync_api.sync_playwright().start()
        context = launch_chromium(playwright, tmp / "chromium-profile")
        say(request, f"set-up: chromium and playwright checked (or installed) in "
                     f"{t0 - t_install:.1f} s, release built in {t_built - t0:.1f} s, "
                     f"JupyterLab up in "
                     f"{t_lab - t_built:.1f} s on port {lab.port}, Chromium in "
                     f"{time.monotonic() - t_lab:.1f} s; screenshots in {shots}")
        yield {"lab": lab, "context": context, "shots": shots, "work": work,
               "assignment": name, "sources": sources}
    finally:
        t_stop = time.monotonic()
        if context is not None:
            context.close()
        if playwright is not None:
            playwright.stop()
        lab.stop()
        say(request, f"browser and JupyterLab stopped in {time.monotonic() - t_stop:.1f} s")
        if any(shots.iterdir()):
            SCREENSHOTS_OUT.mkdir(parents=True, exist_ok=True)
            for png in shots.glob("*.png"):
                shutil.copy2(png, SCREENSHOTS_OUT / png.name)
            say(request, f"screenshots copied to {SCREENSHOTS_OUT}")


# ---------------------------------------------------------------------------- tests

def test_lesson_runs_all_cells_in_the_browser(session, request):
    lesson = LESSON[0]
    notebook = jupytext.read(lesson)
    n_code = sum(cell.cell_type == "code" for cell in notebook.cells)
    n_figures = lesson.read_text().count("plt.show()")
    t0 = time.monotonic()
    page = NotebookPage(session["context"], session["lab"], lesson.name, "lesson",
                        session["shots"])
    try:
        with page.guard("lesson-error"):
            page.open()
            # Opened through jupytext as a notebook (not as a text file), all cells shown.
            page.wait_cells(n_code)
            page.wait_kernel_idle()
            t_open = time.monotonic()
            page.run_all()
            prompts = page.wait_executed("Run All Cells")
            t_run = time.monotonic()

            outputs = page.outputs()
            errors = error_outputs(outputs)
            page.expect(not errors, f"{lesson.name} shows errors:\n" + "\n---\n".join(errors),
                        "lesson-errors")
            # A cell whose code is folded (the exercises' set-up) shows no input prompt;
            # it counts as run when every other cell did and no cell shows an error.
            folded = [bool(cell.metadata.get("jupyter", {}).get("source_hidden"))
                      for cell in notebook.cells if cell.cell_type == "code"]
            page.expect(len(prompts) == n_code == len(folded),
                        f"{lesson.name}: {len(prompts)} code cells on the page, {n_code} in the "
                        "file", "lesson-not-run")
            shown = [p for p, hidden in zip(prompts, folded, strict=True) if not hidden]
            page.expect(all(PROMPT_DONE.match(p) for p in shown),
                        f"not every code cell of {lesson.name} ran: {prompts}", "lesson-not-run")
            counts = [int(p[1:-2]) for p in shown]
            page.expect(counts == sorted(counts) and len(set(counts)) == len(shown),
                        f"cells did not run once each, in order: {prompts}", "lesson-order")

            text = visible_text(outputs)
            for expected in ("one neuron on [32x32x3]:", "3,072 weights", "120,000 weights",
                             "[16x16x12]"):
                page.expect(expected in text,
                            f"{expected!r} is not in the printed output of {lesson.name}",
                            "lesson-text")
            images = [img for o in outputs if o["mime"] == "image/png" for img in o["images"]]
            page.expect(len(images) >= n_figures >= 1,
                        f"expected {n_figures} figures (plt.show() calls), the page shows "
                        f"{len(images)}: {images}", "lesson-images")
            for width, height, src in images:
                page.expect(width > 100 and height > 100 and src.startswith("data:image/png"),
                            f"a figure did not render: {width}x{height} {src}", "lesson-images")

            last_image = page.page.locator(".jp-RenderedImage img").last
            last_image.scroll_into_view_if_needed()
            page.page.wait_for_timeout(300)
            shot = page.screenshot("lesson-run-all")
            say(request, f"lesson {lesson.name}: opened in {t_open - t0:.1f} s, ran "
                         f"{n_code} cells in {t_run - t_open:.1f} s, {len(images)} figures; "
                         f"screenshot {shot}")
    finally:
        page.close()


def test_student_notebook_visible_tests_in_the_browser(session, request):
    name, sources = session["assignment"], session["sources"]
    path = f"{name}/{name}.ipynb"
    release_nb = nbformat.read(session["work"] / path, as_version=4)
    cells = answer_and_tests(release_nb)
    solved, solved_test = cells["solved"], cells["solved_test"]
    unsolved, unsolved_test = cells["unsolved"], cells["unsolved_test"]
    for index, grade_id in (solved, unsolved):
        assert "NotImplementedError" in release_nb.cells[index].source, \
            f"the release's {grade_id} cell is not a stub"
    solution = solution_source(sources, name, solved[1])

    t0 = time.monotonic()
    page = NotebookPage(session["context"], session["lab"], path, "student",
                        session["shots"])
    try:
        with page.guard("student-error"):
            page.open()
            page.wait_cells(sum(c.cell_type == "code" for c in release_nb.cells))
            page.wait_kernel_idle()
            page.replace_cell_source(solved[0], solution)
            page.run_all()
            prompts = page.wait_executed("Run All Cells")
            t_run = time.monotonic()

            ok_out = page.outputs(solved_test[0])
            ok_text = visible_text(ok_out)
            ok_lines = [line for line in ok_text.splitlines() if line.startswith("ok: ")]
            page.scroll_to_cell(solved_test[0])
            shot_ok = page.screenshot("student-visible-test-ok")
            page.expect(ok_lines and not error_outputs(ok_out),
                        f"the visible test {solved_test[1]} did not pass with the instructor's "
                        f"solution of {solved[1]}; it shows:\n{ok_text}", "student-ok-failed")
            page.cell(solved_test[0]).locator(".jp-OutputArea-output",
                                              has_text="ok: ").first.wait_for(state="visible")

            bad_out = page.outputs(unsolved_test[0])
            page.scroll_to_cell(unsolved_test[0])
            shot_bad = page.screenshot("student-unsolved-test")
            page.expect("NotImplementedError" in visible_text(bad_out),
                        f"the test {unsolved_test[1]} of the unsolved {unsolved[1]} should show "
                        f"NotImplementedError; it shows:\n{visible_text(bad_out)}",
                        "student-unsolved-wrong")
            # Run All stops at the first error: the unsolved test is the last cell run, and
            # nothing before it shows an error.
            last_run = max(i for i, p in enumerate(prompts) if PROMPT_DONE.match(p))
            page.expect(last_run == code_index(release_nb, unsolved_test[0]),
                        f"Run All Cells should stop at {unsolved_test[1]} (code cell "
                        f"{code_index(release_nb, unsolved_test[0])}); the last cell run is "
                        f"code cell {last_run}: {prompts}", "student-stopped-elsewhere")
            earlier = [o for o in page.outputs() if o["cell"] < unsolved_test[0]]
            page.expect(not error_outputs(earlier),
                        f"cells before {unsolved_test[1]} show errors: "
                        f"{error_outputs(earlier)}", "student-errors")
            say(request, f"student notebook {path}: {solved[1]} solved -> {solved_test[1]} "
                         f"printed {len(ok_lines)} ok lines; {unsolved_test[1]} -> "
                         f"NotImplementedError; {time.monotonic() - t0:.1f} s "
                         f"(run all {t_run - t0:.1f} s); screenshots {shot_ok}, {shot_bad}")
    finally:
        page.close()


def code_index(notebook, cell_index: int) -> int:
    """The position of a cell among the code cells (the prompts list)."""
    return sum(c.cell_type == "code" for c in notebook.cells[:cell_index])
