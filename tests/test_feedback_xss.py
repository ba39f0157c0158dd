"""Feedback pages are inert (issue 19): a corpus of script-injection and filter-evasion
vectors in a student's markdown, code and output, graded through the pipeline with
feedback, each page opened in headless Chromium. A local listener, the address every
vector points at, must receive no request; no dialog may open; no link may carry a
``javascript:``, ``vbscript:`` or ``data:`` URL; the page carries its
Content-Security-Policy."""

import http.server
import threading
from pathlib import Path

import nbformat
import pytest
from browser_support import ensure_chromium, ensure_playwright, launch_chromium
from toy_course import toy_course

from autograder import pipeline
from autograder.inert import FEEDBACK_CSP, inert_markdown

LIMITS = {"call_timeout": 10.0, "submission_timeout": 30.0, "memory_bytes": 1536 * 1024**2}

# {L} is the listener's address. Markdown cells: what a browser would run or fetch if
# the student's text reached the page as markup.
MARKDOWN_VECTORS = [
    "<script>alert('md-script')</script>",
    "<img src=x onerror=alert('md-onerror')>",
    "<IMG SRC=\"{L}/raw-img\">",
    "<svg onload=alert('svg')>",
    "<iframe src=\"{L}/iframe\"></iframe>",
    "<link rel=stylesheet href=\"{L}/css\">",
    "<style>@import '{L}/import';</style>",
    "<object data=\"{L}/object\"></object>",
    "<a href=\"javascript:alert('raw-a')\">raw a</a>",
    "![pixel]({L}/md-image.png)",
    "![ref image][pic]\n\n[pic]: {L}/ref-image.png",
    "[entity colon](javascript&#58;alert(document.domain))",
    "[entity letter](&#106;avascript:alert('entity-j'))",
    "[hex entity](&#x6A;&#x61;vascript:alert('hex'))",
    "[tab entity](java&#x09;script:alert('tab'))",
    "[mixed case](JaVaScRiPt:alert('case'))",
    "[plain](javascript:alert('plain'))",
    "[spaces](  javascript:alert('spaces'))",
    "[vb](vbscript:msgbox('vb'))",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgnZGF0YScpPC9zY3JpcHQ+)",
    "[reference][evil]\n\n[evil]: javascript:alert('reference')",
    "<javascript:alert('autolink')>",
    "[bracketed](<javascript:alert('angle')>)",
    "$$\\href{{javascript:alert('math')}}{{x}}$$",
    "<details open ontoggle=alert('toggle')>",
    "<meta http-equiv=\"refresh\" content=\"0;url={L}/refresh\">",
    "<base href=\"{L}/base/\">[relative](page)",
    "<form action=\"{L}/form\"><button>go</button></form>",
    "<video><source onerror=\"alert('video')\"></video>",
    "<body background=\"{L}/bg\">",
    "<div style=\"background:url({L}/style-url)\">x</div>",
]

CODE_CELLS = [
    "print(\"<script>alert('stdout')</script><img src='{L}/stdout-img'>\")",
    "import sys\nprint(\"<img src=x onerror=alert('stderr')>\", file=sys.stderr)",
    "# <script>alert('source')</script> <img src='{L}/source-img'>\nx_ = 1",
    "raise ValueError(\"<img src='{L}/error-img' onerror=alert('error')>\")",
]


class Listener(http.server.ThreadingHTTPServer):
    """An HTTP server on 127.0.0.1 that records every request it gets."""

    def __init__(self):
        self.requests: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the http.server API
                server.requests.append(self.path)
                self.send_response(200)
                self.end_headers()

            do_POST = do_GET  # noqa: N815

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture(scope="module")
def listener():
    server = Listener()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def pages(tmp_path_factory, listener):
    """Feedback pages of two students carrying the vectors, and an honest one's."""
    with toy_course(tmp_path_factory.mktemp("xss")) as built:
        subs, L = built["subs"], listener.address
        ref = nbformat.read(subs / "reference" / "toy" / "toy.ipynb", as_version=4)
        markdown = nbformat.from_dict(ref)
        for i, vector in enumerate(MARKDOWN_VECTORS):
            markdown.cells.insert(1 + i, nbformat.v4.new_markdown_cell(vector.format(L=L)))
        code = nbformat.from_dict(ref)
        for source in CODE_CELLS:
            code.cells.append(nbformat.v4.new_code_cell(source.format(L=L)))
        for student, nb in (("markdown_xss", markdown), ("code_xss", code)):
            (subs / student / "toy").mkdir(parents=True)
            nbformat.write(nb, subs / student / "toy" / "toy.ipynb")
        batch = pipeline.grade_batch(built["course"], "toy", subs, workers=2,
                                     limits=LIMITS, progress=False)
        rows = {r["student_id"]: r for r in batch.rows}
        feedback = built["course"] / "feedback"
        yield {"rows": rows, "html": {s: feedback / s / "toy" / "toy.html"
                                      for s in ("markdown_xss", "code_xss", "reference")}}


def test_the_vector_students_are_graded(pages):
    for student in ("markdown_xss", "code_xss"):
        assert pages["rows"][student]["status"] == "graded", pages["rows"][student]
        assert float(pages["rows"][student]["score"]) == 5.0


def test_every_page_carries_the_policy(pages):
    for student, path in pages["html"].items():
        html = path.read_text()
        assert FEEDBACK_CSP in html, student
        head = html[:html.lower().index("</head>")]
        assert head.lower().index("content-security-policy") < \
            min(head.lower().find(t) if t in head.lower() else len(head)
                for t in ("<script", "<link", "<style")), student


def test_pages_in_chromium_run_nothing_and_fetch_nothing(pages, listener, tmp_path):
    ensure_chromium()
    sync_api = ensure_playwright()
    dialogs, bad_links = [], []
    with sync_api.sync_playwright() as playwright:
        context = launch_chromium(playwright, tmp_path / "profile")
        try:
            for student, path in pages["html"].items():
                page = context.new_page()
                page.on("dialog", lambda d, s=student: (dialogs.append((s, d.message)),
                                                        d.dismiss()))
                page.goto(Path(path).as_uri(), wait_until="load")
                page.wait_for_timeout(500)
                hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
                for href in hrefs:
                    if href.split(":", 1)[0].lower() in ("javascript", "vbscript", "data"):
                        bad_links.append((student, href))
                # Click every link that does not lead to a host (those are plain links a
                # reader may follow), each on a freshly loaded page: none may run anything.
                for index, href in enumerate(hrefs):
                    if href.startswith(("http://", "https://")):
                        continue
                    page.goto(Path(path).as_uri(), wait_until="load")
                    try:
                        page.locator("a[href]").nth(index).click(timeout=2000,
                                                                 no_wait_after=True)
                    except sync_api.Error:
                        pass            # a link to nowhere: the browser refuses it
                    page.wait_for_timeout(200)
                page.close()
        finally:
            context.close()
    assert dialogs == []
    assert bad_links == []
    assert listener.requests == []
    # The vectors were really in the pages, shown as text.
    html = pages["html"]["markdown_xss"].read_text()
    assert "alert(&#39;md-script&#39;)" in html or "alert('md-script')" in html


def test_markdown_is_made_inert_whatever_the_spelling():
    for vector in MARKDOWN_VECTORS:
        inert = inert_markdown(vector.format(L="http://127.0.0.1:9"))
        lowered = inert.lower()
        assert "javascript:" not in lowered and "vbscript:" not in lowered
        assert "data:" not in lowered
        assert "&#" not in inert.replace("&amp;#", "")
        assert "<" not in inert
        assert not any(inert[i:i + 2] == "![" for i in range(len(inert)))
