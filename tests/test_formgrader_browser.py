"""The human half of grading in a real browser (issue 17, "Done when"): nbgrader's
formgrader and Validate button in JupyterLab, driven in headless Chromium.

A course folder is built in a temporary directory for the fixture assignment
``tests/fixtures/written`` (``triple`` for 2 points, a written answer for 3) and its
sample submissions (``reference``, ``partial``, ``blank``) are graded with
:func:`autograder.pipeline.grade_batch`, as ``make grade`` does. Two more submissions are
then put in ``submitted/<student>/written/`` by hand (nbgrader's usual workflow): copies of
the ``reference`` and ``blank`` samples, never graded by the pipeline under those names.

The instructor's JupyterLab serves that course folder (its root holds
``nbgrader_config.py``) with the project's settings (``tools/jupyter``, as
``make formgrader``) and nbgrader's server extensions; the student's JupyterLab serves a
folder holding the student release and a solved copy, with the same settings.

1. **A person grades a written answer**: Nbgrader > Formgrader > Manual Grading >
   written > written > the ``reference`` submission; points and a comment typed into
   the written answer's inputs are saved (the gradebook holds them, the submission list
   shows the new totals); ``python -m autograder export`` puts them in ``all.csv`` and
   ``written.csv`` (``manual_score``, ``score``, ``written``), and
   ``python -m autograder feedback written`` writes a feedback page showing the comment
   (and neither the rubric nor the hidden tests), opened in the browser.
2. **Autograde on a hand-placed submission**: formgrader's Manage Submissions page, the
   Autograde button of each hand-placed student: nbgrader reports success, the row shows
   the score the pipeline gave the same notebook, the gradebook stores it, and the
   results come from the sandbox (``results/written/<student>.json``). The row's
   Generate Feedback button then writes that student's feedback page.
3. **The student's Validate button**: on the solved notebook nbgrader reports success;
   on the untouched release it names the failing test (its code and
   ``NotImplementedError``) and the unanswered written question. The Nbgrader menu offers
   no Assignment List or Course List (the course's ``page_config.json`` disables them:
   there is no exchange) and none of their errors is on the page.

Screenshots of each step go to a temporary directory and are copied to
``out/screenshots/formgrader/`` (ignored by git). Debian's ``chromium`` and ``playwright``
come from ``browser_support`` (skipped only where apt cannot be used at all).
"""

from __future__ import annotations

import csv
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

if importlib.util.find_spec("jupyterlab") is None:     # not imported: the server is a process
    pytest.skip("the browser test needs JupyterLab (the 'grader' extra)",
                allow_module_level=True)
pytest.importorskip("nbgrader", reason="formgrader needs the 'grader' extra")

from browser_support import (  # noqa: E402
    JupyterLab,
    NotebookPage,
    ensure_chromium,
    ensure_playwright,
    launch_chromium,
)

from autograder import course as course_mod  # noqa: E402
from autograder import pipeline, samples  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "written"
ASSIGNMENT = "written"
WRITTEN_ID = "written_stack"          # the written answer's grade_id in the fixture
TEST_ID = "test_triple"
LIMITS = {"call_timeout": 10.0, "submission_timeout": 30.0, "memory_bytes": 1536 * 1024**2}
# Hand-placed submissions (student id -> the sample whose notebook they hold).
BY_HAND = {"late_ada": "reference", "late_ben": "blank"}
POINTS, COMMENT = 2.5, "Right counts (27 C^2 against 49 C^2); say why depth helps."
SCREENSHOTS_OUT = ROOT / "out" / "screenshots" / "formgrader"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def say(request, line: str) -> None:
    """A line in pytest's output even when output is captured."""
    plugins = request.config.pluginmanager
    reporter, capture = plugins.getplugin("terminalreporter"), plugins.getplugin("capturemanager")
    if reporter is None or capture is None:
        print(f"[formgrader] {line}")
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line(f"[formgrader] {line}")


class CourseLab(JupyterLab):
    """JupyterLab with ``AUTOGRADER_ASSIGNMENTS`` pointing at the test's assignment
    sources (the course configuration the grader reads inside the server)."""

    def __init__(self, root: Path, state: Path, assignments: Path):
        super().__init__(root, state)
        self.assignments = assignments

    def environment(self) -> dict:
        env = super().environment()
        env["AUTOGRADER_ASSIGNMENTS"] = str(self.assignments)
        return env


def run_cli(args: list[str], assignments: Path, timeout: float = 300) -> str:
    """``python -m autograder <args>`` as the instructor runs it; its stdout."""
    env = {**os.environ, "AUTOGRADER_ASSIGNMENTS": str(assignments)}
    cmd = [sys.executable, "-m", "autograder", *args]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, (f"`{' '.join(cmd)}` exited {proc.returncode}:\n"
                                  f"{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def csv_rows(path: Path) -> dict[str, dict]:
    with open(path, newline="") as f:
        return {r["student_id"]: r for r in csv.DictReader(f)}


def gradebook_written(course: Path, student: str):
    """(manual_score, needs_manual_grade, manual_comment) of the written answer."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="convnets") as gb:
        grade = gb.find_grade(WRITTEN_ID, ASSIGNMENT, ASSIGNMENT, student)
        comment = gb.find_comment(WRITTEN_ID, ASSIGNMENT, ASSIGNMENT, student)
        return grade.manual_score, grade.needs_manual_grade, comment.manual_comment


def shown_score(score: float, max_score: float) -> str:
    """A score as formgrader's tables show it (``roundToPrecision(x, 2)`` in JS)."""
    def js(x: float) -> str:
        x = round(x, 2)
        return str(int(x)) if x == int(x) else repr(x)
    return f"{js(score)} / {js(max_score)}"


def server_errors(lab: JupyterLab, since: int) -> list[str]:
    """Tracebacks and ERROR lines the server logged after byte ``since`` of its log."""
    text = lab.log_path.read_text(errors="replace")[since:]
    return [line for line in text.splitlines()
            if "Traceback" in line or re.search(r"\[E |\bERROR\b", line)]


def log_size(lab: JupyterLab) -> int:
    return len(lab.log_path.read_text(errors="replace")) if lab.log_path.exists() else 0


# ---------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The course folder: built, the samples graded by the pipeline, two submissions
    placed by hand; and the student's work folder."""
    tmp = tmp_path_factory.mktemp("formgrader")
    assignments = tmp / "assignments"
    shutil.copytree(FIXTURE, assignments / ASSIGNMENT)
    course = tmp / "course"
    t0 = time.monotonic()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(course_mod, "ASSIGNMENTS_DIR", assignments)
        course_mod.build(course, [ASSIGNMENT])
        subs = samples.write_samples(course, tmp / "subs")
        batch = pipeline.grade_batch(course, ASSIGNMENT, subs, workers=2, limits=LIMITS,
                                     progress=False)
    rows = {r["student_id"]: r for r in batch.rows}
    assert {r["status"] for r in rows.values()} == {"graded"}, rows
    for student, sample in BY_HAND.items():
        dest = course / "submitted" / student / ASSIGNMENT
        dest.mkdir(parents=True)
        shutil.copy2(subs / sample / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", dest)

    # The student's folder: the release as handed out (untouched: the blank copy), and
    # the same folder with the reference answers.
    work = tmp / "student"
    release = course / "release" / ASSIGNMENT
    shutil.copytree(release, work / ASSIGNMENT)
    shutil.copytree(release, work / "solved")
    shutil.copy2(subs / "reference" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                 work / "solved" / f"{ASSIGNMENT}.ipynb")
    return {"tmp": tmp, "course": course, "subs": subs, "assignments": assignments,
            "rows": rows, "work": work, "built_in": time.monotonic() - t0}


@pytest.fixture(scope="module")
def browser(request, built):
    """Chromium (Playwright's persistent context) and a folder of screenshots; the
    screenshots are copied to out/ at the end."""
    ensure_chromium()
    sync_api = ensure_playwright()
    shots = built["tmp"] / "screenshots"
    shots.mkdir()
    playwright = context = None
    try:
        playwright = sync_api.sync_playwright().start()
        context = launch_chromium(playwright, built["tmp"] / "chromium-profile")
        yield {"context": context, "shots": shots}
    finally:
        if context is not None:
            context.close()
        if playwright is not None:
            playwright.stop()
        if any(shots.glob("*.png")):
            SCREENSHOTS_OUT.mkdir(parents=True, exist_ok=True)
            for old in SCREENSHOTS_OUT.glob("*.png"):      # this run's screenshots only
                old.unlink()
            for png in shots.glob("*.png"):
                shutil.copy2(png, SCREENSHOTS_OUT / png.name)
            say(request, f"screenshots copied to {SCREENSHOTS_OUT}")


@pytest.fixture(scope="module")
def instructor(request, built, browser):
    """JupyterLab on the course folder, with nbgrader's formgrader server extension."""
    lab = CourseLab(built["course"], built["tmp"] / "jupyter-instructor", built["assignments"])
    listed = subprocess.run([sys.executable, "-m", "jupyter", "server", "extension", "list"],
                            env=lab.environment(), cwd=built["course"], capture_output=True,
                            text=True, timeout=120)
    extensions = ANSI.sub("", listed.stdout + listed.stderr)
    for name in ("nbgrader.server_extensions.formgrader",
                 "nbgrader.server_extensions.validate_assignment"):
        assert re.search(rf"{re.escape(name)}\s+enabled", extensions), \
            f"{name} is not enabled in this environment:\n{extensions}"
    t0 = time.monotonic()
    try:
        lab.start()
        say(request, f"course built and samples graded in {built['built_in']:.1f} s; "
                     f"instructor's JupyterLab up in {time.monotonic() - t0:.1f} s on port "
                     f"{lab.port} (root {built['course']}; log {lab.log_path})")
        log = lab.log_path.read_text(errors="replace")
        assert "formgrader" in log and "nbgrader" in log, \
            f"the server did not load nbgrader's formgrader extension:\n{lab.log_tail()}"
        yield lab
    finally:
        lab.stop()


@pytest.fixture(scope="module")
def student(request, built, browser):
    """JupyterLab on the student's folder, with the course's settings."""
    lab = CourseLab(built["work"], built["tmp"] / "jupyter-student", built["assignments"])
    t0 = time.monotonic()
    try:
        lab.start()
        say(request, f"student's JupyterLab up in {time.monotonic() - t0:.1f} s on port "
                     f"{lab.port} (log {lab.log_path})")
        yield lab
    finally:
        lab.stop()


class FormgraderPage(NotebookPage):
    """A JupyterLab tab with nbgrader's Formgrader panel (an iframe) open."""

    def __init__(self, context, lab, workspace: str, shots: Path):
        super().__init__(context, lab, "", workspace, shots)

    def open(self) -> None:
        """JupyterLab, then Nbgrader > Formgrader, as the instructor does."""
        self.page.goto(self.lab.url(f"lab/workspaces/{self.workspace}"),
                       wait_until="domcontentloaded", timeout=120_000)
        self.menu("Nbgrader", "Formgrader")
        self.frame.locator("h1", has_text="Manage Assignments").wait_for(timeout=60_000)

    @property
    def frame(self):
        return self.page.frame_locator("#formgrader-iframe iframe")

    def wait_at(self, path: str, timeout: float = 60) -> None:
        """Wait until the formgrader frame has navigated to ``/formgrader/<path>`` (a
        regular expression), so that the next click is on the new page."""
        pattern = re.compile(rf"/formgrader/{path}/?(\?.*)?$")
        deadline = time.monotonic() + timeout
        while not any(pattern.search(f.url) for f in self.page.frames):
            if time.monotonic() > deadline:
                raise self.fail(f"formgrader did not open /formgrader/{path}; frames: "
                                f"{[f.url for f in self.page.frames]}", "not-navigated")
            self.page.wait_for_timeout(200)     # (Playwright's sync API sees events only then)

    def text(self) -> str:
        return self.frame.locator("body").inner_text()

    def table_row(self, student: str, link_class: str = "name-shown"):
        """The row of ``#main-table`` whose student link (or cell) names ``student``."""
        exact = re.compile(f"^{re.escape(student)}$")
        if link_class:
            return self.frame.locator("#main-table tr", has=self.frame.locator(
                f"a.{link_class}", has_text=exact))
        return self.frame.locator("#main-table tr", has=self.frame.locator(
            "td.student-id", has_text=exact))


def wait_until(get, ok, timeout: float, what: str, page: NotebookPage, shot: str):
    """Poll ``get()`` until ``ok(value)``; return the value, or fail with a screenshot
    and the last value seen."""
    deadline = time.monotonic() + timeout
    while True:
        value = get()
        if ok(value):
            return value
        if time.monotonic() > deadline:
            raise page.fail(f"{what} (after {timeout:.0f} s: {value!r})", shot)
        page.page.wait_for_timeout(500)


# ---------------------------------------------------------------------------- tests

def test_a_person_grades_a_written_answer_in_formgrader(built, browser, instructor, request):
    course, assignments = built["course"], built["assignments"]
    auto = built["rows"]["reference"]["auto_score"]
    max_score = built["rows"]["reference"]["max_score"]
    assert gradebook_written(course, "reference") == (None, True, None)

    t0 = time.monotonic()
    fg = FormgraderPage(browser["context"], instructor, "grading", browser["shots"])
    try:
        with fg.guard("grading-error"):
            fg.open()
            fg.frame.get_by_role("link", name="Manual Grading").click()
            fg.wait_at("gradebook")
            fg.frame.locator("#main-table a", has_text=re.compile(f"^{ASSIGNMENT}$")).click()
            fg.wait_at(f"gradebook/{ASSIGNMENT}")
            # The assignment's notebooks, then the notebook's submissions.
            fg.frame.locator("#main-table a", has_text=re.compile(f"^{ASSIGNMENT}$")).click()
            fg.wait_at(f"gradebook/{ASSIGNMENT}/{ASSIGNMENT}")
            row = fg.table_row("reference")
            row.wait_for()
            fg.screenshot("a1-submissions-before")
            before = row.inner_text()
            fg.expect(shown_score(auto, max_score) in before and "0 / 3" in before,
                      f"the reference submission's row should show "
                      f"{shown_score(auto, max_score)} overall and 0 / 3 written: {before!r}",
                      "a1-row-before")
            row.locator(".glyphicon-eye-open").click()        # show the student's id
            row.locator("a.name-shown").click()
            fg.wait_at("submissions/[0-9a-f]+")

            score = fg.frame.locator(f"input.score#{WRITTEN_ID}")
            comment = fg.frame.locator(f"textarea#{WRITTEN_ID}-comment")
            score.wait_for()
            answer = fg.frame.locator(".nbgrader_cell", has=score)
            fg.expect("27 C^2" in answer.inner_text(),
                      f"the written answer shown is not the reference's: "
                      f"{answer.inner_text()!r}", "a2-answer")
            fg.expect("RUBRIC" not in fg.text() and "Partial (1-2)" not in fg.text(),
                      "formgrader shows the rubric inside the student's answer", "a2-rubric")
            score.scroll_into_view_if_needed()
            score.click()
            score.fill(str(POINTS))
            fg.page.keyboard.press("Tab")       # to the next input: formgrader saves the points
            comment.click()
            comment.fill(COMMENT)
            fg.page.keyboard.press("Tab")       # and the comment
            saved = wait_until(
                lambda: gradebook_written(course, "reference"),
                lambda got: got == (POINTS, False, COMMENT), 30,
                "the points and comment typed in formgrader did not reach the gradebook",
                fg, "a3-not-saved")
            fg.page.wait_for_timeout(300)
            fg.screenshot("a3-written-answer-graded")

            # Back to the list: the new totals.
            fg.frame.locator(".breadcrumb a").nth(2).click()
            fg.wait_at(f"gradebook/{ASSIGNMENT}/{ASSIGNMENT}")
            row = fg.table_row("reference")
            row.wait_for()
            total = shown_score(auto + POINTS, max_score)
            wait_until(row.inner_text, lambda text: total in text, 20,
                       f"the submission list does not show {total}", fg, "a4-list-after")
            fg.expect("2.5 / 3" in row.inner_text(),
                      f"the row should show 2.5 / 3 written: {row.inner_text()!r}",
                      "a4-list-after")
            fg.screenshot("a4-submissions-after")
            t_browser = time.monotonic()
    finally:
        fg.close()
    assert saved

    # The instructor's commands, as they are run after grading by hand.
    out = run_cli(["--course", str(course), "export"], assignments)
    all_csv = course / "grades" / "all.csv"
    assert str(all_csv) in out, out
    row = csv_rows(all_csv)["reference"]
    assert float(row["manual_score"]) == POINTS, row
    assert float(row["auto_score"]) == auto, row
    assert float(row["score"]) == auto + POINTS and float(row["max_score"]) == max_score, row
    assert row["written"] == "graded by a person", row
    assert float(csv_rows(course / "grades" / f"{ASSIGNMENT}.csv")["reference"]["score"]) \
        == auto + POINTS
    # The others are untouched: the weak answer still waits for a person.
    assert csv_rows(all_csv)["partial"]["written"].startswith("to be graded by a person")

    run_cli(["--course", str(course), "feedback", ASSIGNMENT], assignments)
    html = course / "feedback" / "reference" / ASSIGNMENT / f"{ASSIGNMENT}.html"
    text = html.read_text(encoding="utf-8")
    assert "say why depth helps" in text, "the person's comment is not in the feedback"
    for secret in ("RUBRIC", "Partial (1-2)", "hidden_rng", "BEGIN HIDDEN TESTS"):
        assert secret not in text, f"the feedback shows {secret!r}"

    # The page the student receives, as it shows in a browser.
    page = browser["context"].new_page()
    try:
        page.goto(html.as_uri())
        body = page.locator("body").inner_text()
        page.get_by_text("say why depth helps").first.scroll_into_view_if_needed()
        page.screenshot(path=str(browser["shots"] / "a5-feedback-page.png"))
        assert COMMENT.split(";")[0] in body and "say why depth helps" in body, body[-2000:]
        assert re.search(r"4\.5\s*/\s*5", body), "the feedback page does not show 4.5 / 5"
    finally:
        page.close()
    say(request, f"(a) graded {WRITTEN_ID} of 'reference' in formgrader "
                 f"({t_browser - t0:.1f} s in the browser): CSV score {row['score']}, "
                 f"manual {row['manual_score']}; comment in {html}")


def test_formgrader_autograde_on_hand_placed_submissions(built, browser, instructor, request):
    course, rows = built["course"], built["rows"]
    t0 = time.monotonic()
    fg = FormgraderPage(browser["context"], instructor, "autograde", browser["shots"])
    since = log_size(instructor)
    shown = {}
    try:
        with fg.guard("autograde-error"):
            fg.open()
            # Manage Assignments > # Submissions of the assignment.
            fg.frame.locator("#main-table tr", has_text=ASSIGNMENT).locator(
                "td.num-submissions a").click()
            fg.wait_at(f"manage_submissions/{ASSIGNMENT}")
            for student in BY_HAND:
                row = fg.table_row(student, link_class="")
                row.wait_for()
                fg.expect("needs autograding" in row.inner_text(),
                          f"{student} should be listed as needing autograding: "
                          f"{row.inner_text()!r}", "b1-not-waiting")
            fg.screenshot("b1-manage-submissions-before")

            for student, sample in BY_HAND.items():
                row = fg.table_row(student, link_class="")
                row.locator("td.autograde a").click()
                message = modal_text(fg, f"b2-autograde-{student}", 240)
                fg.expect("Successfully autograded" in message,
                          f"formgrader's Autograde failed for {student}:\n{message}\n"
                          f"server log errors: {server_errors(instructor, since)}",
                          f"b2-autograde-{student}-failed")
                # nbgrader recorded the sandbox's results: its own Execute step (student
                # code in a kernel of nbgrader's) did not run.
                fg.expect("Applying preprocessor: ReplayResults" in message
                          and "Applying preprocessor: Execute" not in message
                          and "Executing notebook with kernel" not in message,
                          f"Autograde of {student} did not go through ReplayResults:\n"
                          f"{message}", f"b2-autograde-{student}-executed")
                expected = shown_score(rows[sample]["score"], rows[sample]["max_score"])
                wait_until(row.inner_text, lambda text, e=expected: e in text, 30,
                           f"{student}'s row does not show the pipeline's {expected}", fg,
                           f"b3-score-{student}")
                shown[student] = row.locator("td.score").inner_text().strip()
            fg.screenshot("b3-manage-submissions-after")

            # Generate Feedback, from the same row.
            row = fg.table_row("late_ada", link_class="")
            row.locator("td.generate-feedback a").click()
            message = modal_text(fg, "b4-generate-feedback", 120)
            fg.expect("Successfully generated feedback" in message,
                      f"formgrader's Generate Feedback failed:\n{message}", "b4-feedback-failed")
            t_browser = time.monotonic()
    finally:
        fg.close()

    scores = pipeline.gradebook_scores(course, ASSIGNMENT)
    for student, sample in BY_HAND.items():
        assert scores[student] == rows[sample]["score"], (student, scores, rows[sample])
        assert shown[student] == shown_score(rows[sample]["score"], rows[sample]["max_score"])
        result = json.loads((course / "results" / ASSIGNMENT / f"{student}.json").read_text())
        batch = json.loads((course / "results" / ASSIGNMENT / f"{sample}.json").read_text())
        # Graded as make grade graded the same notebook: same sandbox, same outcomes.
        assert result["status"] == batch["status"] == "graded", result
        assert result["sandbox"] == batch["sandbox"] and result["sandbox"], result
        assert {t: r["passed"] for t, r in result["tests"].items()} == \
            {t: r["passed"] for t, r in batch["tests"].items()}
        assert result["score"] == batch["score"]
        assert result["notebook_sha256"] == pipeline.notebook_digest(
            course / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
        assert (course / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()
    feedback = (course / "feedback" / "late_ada" / ASSIGNMENT / f"{ASSIGNMENT}.html")
    page = feedback.read_text(encoding="utf-8")
    assert "hidden_rng" not in page and "RUBRIC" not in page
    assert re.search(r"ok: triple\(\[0, 1, 2\]\) matches", page)
    errors = server_errors(instructor, since)
    assert not errors, "the server logged errors:\n" + "\n".join(errors[:20])
    say(request, f"(b) formgrader's Autograde on {', '.join(BY_HAND)}: shown {shown}, "
                 f"gradebook {[scores[s] for s in BY_HAND]}, as the pipeline's "
                 f"{[rows[s]['score'] for s in BY_HAND.values()]}; "
                 f"{t_browser - t0:.1f} s in the browser")


def modal_text(fg: FormgraderPage, shot: str, timeout: float) -> str:
    """Wait for formgrader's Success/Error dialog; its text (with nbgrader's log), after
    a screenshot; then close it with its OK button."""
    modal = fg.frame.locator(".modal.in .modal-dialog", has=fg.frame.locator(
        ".modal-title", has_text=re.compile("^(Success|Error)$")))
    modal.wait_for(timeout=timeout * 1000)
    fg.page.wait_for_timeout(400)                  # the fade-in, for the screenshot
    text = modal.inner_text()
    fg.screenshot(shot)
    modal.locator(".modal-footer button").click()
    fg.frame.locator(".modal").wait_for(state="detached")
    fg.frame.locator(".modal-backdrop").wait_for(state="detached")
    return text


def validate(page: NotebookPage, shot: str) -> tuple[str, str]:
    """Click the notebook's Validate button; the results dialog's classes and text."""
    page.page.locator(".validate-button").click()
    message = page.page.locator(".jp-Dialog #validation-message")
    message.wait_for(timeout=180_000)
    classes = message.get_attribute("class") or ""
    text = message.inner_text()
    page.screenshot(shot)
    page.page.locator(".jp-Dialog .jp-Dialog-button", has_text="Ok").click()
    page.page.locator(".jp-Dialog").wait_for(state="hidden")
    return classes, text


def test_student_validates_in_jupyterlab(built, browser, student, request):
    t0 = time.monotonic()
    results = {}
    for folder, name in (("solved", "solved"), (ASSIGNMENT, "blank")):
        page = NotebookPage(browser["context"], student, f"{folder}/{ASSIGNMENT}.ipynb",
                            f"student-{name}", browser["shots"])
        try:
            with page.guard(f"c-{name}-error"):
                page.open()
                page.page.locator(".validate-button").wait_for()
                results[name] = validate(page, f"c1-validate-{name}")
                if name == "blank":
                    # The course's settings: no Assignment List or Course List panel, so
                    # none of their errors (there is no exchange).
                    config = json.loads(page.page.locator("#jupyter-config-data")
                                        .text_content())
                    disabled = config.get("disabledExtensions")
                    page.page.locator(".lm-MenuBar-itemLabel",
                                      has_text=re.compile("^Nbgrader$")).click()
                    items = page.page.locator(".lm-Menu-itemLabel").all_text_contents()
                    page.screenshot("c2-nbgrader-menu")
                    page.page.keyboard.press("Escape")
                    body = page.page.locator("body").inner_text()
        finally:
            page.close()

    classes, text = results["solved"]
    assert "validation-success" in classes, text
    assert "Success! Your notebook passes all the tests." in text

    classes, text = results["blank"]
    assert "validation-failed" in classes, (classes, text)
    failures = text.count("The following cell failed:")
    assert failures == 2, text
    assert 'check_close(triple(np.arange(3.0)), [0.0, 3.0, 6.0], "triple([0, 1, 2])")' \
        in text, text
    assert "NotImplementedError" in text, text
    assert "You did not provide a response." in text, text           # the written answer
    assert "hidden_rng" not in text

    assert disabled and {"@jupyter/nbgrader:assignment-list",
                         "@jupyter/nbgrader:course-list"} <= set(disabled), disabled
    assert "Formgrader" in items, items
    assert not {"Assignment List", "Course List"} & set(items), items
    for error in ("Error fetching courses", "exchange directory", "Assignment List"):
        assert error not in body, f"the student's JupyterLab shows {error!r}"
    say(request, f"(c) Validate: solved -> success; blank -> {failures} failing cells "
                 f"({TEST_ID} with NotImplementedError, the written answer); "
                 f"{time.monotonic() - t0:.1f} s")
