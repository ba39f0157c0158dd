"""The checks of the attack corpus (tests/attack_corpus.py) catch what they look for: each
expected outcome is tried on artefacts that keep it and on artefacts that break it, so
that a green fuzz run means the attacks failed, not that the checks were blind."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import attack_corpus as ac  # noqa: E402

from autograder.inert import FEEDBACK_CSP, seal_html  # noqa: E402

SOLUTION = {"cells": [
    {"cell_type": "code", "metadata": {"nbgrader": {"grade": True, "grade_id": gid,
                                                    "points": pts}}, "source": ""}
    for gid, pts in [("test_conv_forward_naive_values", 5), ("test_conv_backward_naive", 7),
                     ("test_dilation", 5), ("test_zero_pad", 2)]]}
CLEAN_PAGE = seal_html("<html><head><title>feedback</title></head><body>"
                       "<p>[x](javascript&amp;#58;alert(1))</p><p>!\\[a](http://h/x.png)</p>"
                       "<a href=\"#cell-1\">cell</a></body></html>")


def graded(tmp_path, *, score=28.0, status="graded", page=CLEAN_PAGE, results="ok [cut: x]",
           sizes=None, feedback=True) -> ac.Graded:
    g = ac.Graded("conv_naive", "s1", {"score": str(score), "status": status, "message": ""},
                  {"score": "28.0", "status": "graded"}, tmp_path, SOLUTION, feedback)
    paths = g.artefacts()
    for what, path in paths.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text({"results": results, "feedback": page or ""}.get(what, "{}"))
    if page is None:
        paths["feedback"].unlink()
    for what, size in (sizes or {}).items():
        with open(paths[what], "ab") as f:
            f.truncate(size)
    return g


def test_score_expectations(tmp_path):
    assert ac.expect_zero(graded(tmp_path, score=0)) == []
    assert "expected 0" in ac.expect_zero(graded(tmp_path, score=2))[0]
    # The backward tests of conv_naive are worth 7 + 5 of the reference's 28.
    assert ac.expect_no_backward_points(graded(tmp_path, score=16)) == []
    broken = ac.expect_no_backward_points(graded(tmp_path, score=21))
    assert "= 16" in broken[0], broken
    assert "status 'crashed'" in ac.expect_zero(graded(tmp_path, score=0, status="crashed"))[0]


def test_bool_reply_must_cost_points_end_with_a_known_status_and_little_memory(tmp_path):
    cheap = json.dumps({"grader_peak_bytes": 40 * 1024**2})
    assert ac.expect_bounded_status(graded(tmp_path, score=6, results=cheap)) == []
    assert ac.expect_bounded_status(graded(tmp_path, score=0, status="timed out",
                                           results=cheap)) == []
    assert "lost nothing" in ac.expect_bounded_status(graded(tmp_path, score=28,
                                                             results=cheap))[0]
    assert ac.expect_bounded_status(graded(tmp_path, score=6, status="feedback failed",
                                           results=cheap))
    costly = json.dumps({"grader_peak_bytes": 6 * 1024**3})
    assert "cost the grader 6144 MB" in ac.expect_bounded_status(
        graded(tmp_path, score=6, results=costly))[0]
    if sys.platform == "linux":
        assert "grader_peak_bytes" in ac.expect_bounded_status(
            graded(tmp_path, score=6, results="{}"))[0]


def test_control_characters_in_the_page_are_caught(tmp_path):
    assert ac.expect_ansi_harmless(graded(tmp_path)) == []
    dirty = CLEAN_PAGE.replace("cell</a>", "cell\x1b[38m</a>")
    assert "raw control" in ac.expect_ansi_harmless(graded(tmp_path, page=dirty))[0]
    assert ac.expect_ansi_harmless(graded(tmp_path, page=None)) == ["no feedback page"]
    # Without feedback there is no page to ask for.
    assert ac.expect_ansi_harmless(graded(tmp_path, page=None, feedback=False)) == []


def test_artefact_bounds_are_measured(tmp_path):
    assert ac.expect_bounded_artefacts(graded(tmp_path)) == []
    big = graded(tmp_path, sizes={"autograded notebook": ac.ARTEFACT_BYTES + 1})
    assert "autograded notebook is 8.0 MB" in ac.expect_bounded_artefacts(big)[0]
    uncut = ac.expect_bounded_artefacts(graded(tmp_path, results="all of it"))
    assert uncut == ["the results do not say that output was cut"]


@pytest.mark.parametrize("link", [
    '<a href="javascript:alert(1)">x</a>',
    '<a href="&#106;avascript:alert(1)">x</a>',
    "<a href='java&#x09;script:alert(1)'>x</a>",
    '<a href=" JaVaScRiPt:alert(1)">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    '<form action="javascript:alert(1)"></form>',
])
def test_a_link_that_acts_is_caught(tmp_path, link):
    page = CLEAN_PAGE.replace("</body>", link + "</body>")
    assert any("that acts" in v for v in ac.expect_inert_links(graded(tmp_path, page=page)))


@pytest.mark.parametrize("markup", [
    '<img src="http://127.0.0.1:9/x.png">',
    '<img src="//example.invalid/x.png">',
    '<img srcset="https://example.invalid/x.png 1x">',
    '<div style="background:url(http://127.0.0.1:9/s.png)">x</div>',
    "<style>@import 'http://127.0.0.1:9/i.css';</style>",
    '<iframe src="about:blank"></iframe>',
    '<link rel=stylesheet href="x.css">',
])
def test_something_that_loads_is_caught(tmp_path, markup):
    page = CLEAN_PAGE.replace("</body>", markup + "</body>")
    assert ac.expect_nothing_loads(graded(tmp_path, page=page)), markup


def test_a_page_without_the_policy_is_caught(tmp_path):
    bare = CLEAN_PAGE.replace(FEEDBACK_CSP, "")
    assert ac.expect_nothing_loads(graded(tmp_path)) == []
    assert ac.expect_inert_links(graded(tmp_path)) == []
    for expect in (ac.expect_nothing_loads, ac.expect_inert_links):
        assert "no Content-Security-Policy" in " ".join(expect(graded(tmp_path, page=bare)))


def test_the_template_names_no_outside_script():
    """nbconvert's template loads MathJax from a CDN; the sealed page does not name it."""
    page = seal_html('<html><head><script src="https://cdnjs.cloudflare.com/mathjax.js">'
                     '</script><script>var inline = 1;</script></head><body></body></html>')
    assert "cdnjs" not in page and "var inline = 1;" in page
    assert seal_html(page) == page


def test_attacks_build_from_a_notebook():
    nb = {"cells": [{"cell_type": "code", "id": "a", "metadata": {"nbgrader": {
        "solution": True, "grade_id": "answer_double"}}, "outputs": [],
        "source": "def double(x):\n    return 2 * x\n"}], "metadata": {},
        "nbformat": 4, "nbformat_minor": 5}
    nothing = json.loads(ac.submission("attack/nothing-implemented", nb, "toy"))
    assert "return _np.zeros(1)" in nothing["cells"][0]["source"]
    payload = json.loads(ac.submission("attack/payload", nb, "toy"))
    assert len(payload["cells"]) == 1 + ac.PAYLOAD_CELLS
    ansi = json.loads(ac.submission("attack/ansi-print", nb, "toy"))
    assert "double = _ansi_errors(double)" in ansi["cells"][-1]["source"]
    assert nb["cells"][0]["source"].startswith("def double")      # the input is untouched
