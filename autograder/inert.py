"""Text from student code made inert before a program that interprets it sees it.

Whatever a submission prints, raises or writes reaches nbgrader, nbconvert (whose
ANSI-to-HTML conversion raises on sequences it does not know), the feedback page, the
CSV and the instructor's terminal. There it must be data: no escape sequence, no control
character, nothing that is not UTF-8. Each such character is shown as its escape
(``\\x1b``), so the student sees what their code printed and nothing interprets it.
"""

from __future__ import annotations

import re

# C0 controls except tab and newline, DEL, and the C1 controls (U+0080-U+009F, which
# some terminals read as escape sequences too); carriage return included: a lone \r
# rewrites a terminal line.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _escape(match: re.Match) -> str:
    return f"\\x{ord(match.group()):02x}"


def inert_text(text: str) -> str:
    """``text`` with control characters shown as ``\\xNN`` and lone surrogates as
    ``\\udNNN``; everything else (tabs, newlines, any printable Unicode) unchanged."""
    if not isinstance(text, str):
        text = str(text)
    text = _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return _CONTROL.sub(_escape, text)


def shown_id(student: str) -> str:
    """A student id as the CSV and the terminal show it: inert, on one line (a tab or a
    newline in a folder name is shown as ``\t`` / ``\n``), so two folders never share
    a row and nothing in a name acts on a terminal."""
    text = inert_text(student.replace("\\", "\\\\"))
    return text.replace("\n", "\\n").replace("\t", "\\t")


def inert_line(text: str, limit: int = 500) -> str:
    """One line for a CSV cell or a terminal: inert, newlines as spaces, at most
    ``limit`` characters (the cut marked)."""
    text = inert_text(text).replace("\n", " ").replace("\t", " ")
    return text if len(text) <= limit else text[:limit - 15] + " ... [cut]"


# A URL scheme that runs code or smuggles content in, however it is spelt out: letters
# may be split by whitespace or control characters, which browsers drop from URLs.
_SCHEME = re.compile(r"(?i)(?:s\W*c\W*r\W*i\W*p\W*t|\bd\W*a\W*t\W*a)(?=\s*:)")
_IMAGE = re.compile(r"!(?=\s*\[)")
# What a renderer would read as a character reference (&#58; &#x3a; &colon;): nbconvert's
# markdown renderer decodes them in link targets, more than once.
_REFERENCE = re.compile(r"&(?=#|[A-Za-z][A-Za-z0-9]*;)")
FULLWIDTH_AMPERSAND = "\uff06"
# nbconvert's markdown parser takes quadratic time on long runs of blanks inside a line
# (20,000 spaces after a heading's first word: 4.5 s; 40,000: 20 s); markdown shows
# a run of blanks as one space anyway.
MAX_BLANK_RUN = 64
_LONG_BLANK = re.compile(rf"[ \t]{{{MAX_BLANK_RUN + 1},}}")


def inert_markdown(text: str) -> str:
    """Markdown from a student, with the formatting kept and nothing that acts:

    * no HTML: ``<`` is escaped, so there are no tags, scripts or event handlers;
    * no character reference: the ``&`` that would start one is shown as a full-width
      ampersand, so ``javascript&#58;`` cannot be decoded into a working link;
    * no ``javascript:``, ``vbscript:`` or ``data:`` URL, however spelt;
    * no image: ``![alt](url)`` becomes ``!\\[alt](url)``, a link that loads nothing
      until it is clicked (an image would be fetched by whoever opens the page);
    * control characters shown as escapes (:func:`inert_text`), runs of more than 64
      blanks cut to 64 (they render as one space; the renderer is quadratic on them).
    """
    text = _LONG_BLANK.sub(lambda m: m.group()[:MAX_BLANK_RUN], inert_text(text))
    text = _REFERENCE.sub(FULLWIDTH_AMPERSAND, text).replace("<", "&lt;")
    text = _IMAGE.sub("!\\\\", text)
    return _SCHEME.sub(lambda m: m.group(0) + "-blocked", text)


# The feedback page may show only itself: no script runs (a javascript: link included),
# nothing is fetched from anywhere (images, fonts, styles from other hosts).
FEEDBACK_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                "font-src data:; base-uri 'none'; form-action 'none'")


# A template's script loaded from another host (nbconvert's MathJax from a CDN): the
# policy would block it anyway; removed so that the page names no outside address.
_REMOTE_SCRIPT = re.compile(r"""<script\b[^>]*\bsrc\s*=\s*["']?(?:https?:)?//[^>]*>\s*</script>""",
                            re.I)


def seal_html(html: str) -> str:
    """``html`` with a Content-Security-Policy as the first element of its head, and
    without scripts from other hosts (the template's; student text has no tags)."""
    html = _REMOTE_SCRIPT.sub("", html)
    meta = f'<meta http-equiv="Content-Security-Policy" content="{FEEDBACK_CSP}">'
    head = re.search(r"<head[^>]*>", html, re.I)
    if head is not None and html[head.end():head.end() + len(meta) + 1].strip() == meta:
        return html                       # sealed already
    match = head
    if match is None:
        return f"<!DOCTYPE html>\n<html><head>{meta}</head><body>{html}</body></html>"
    return html[:match.end()] + "\n" + meta + html[match.end():]
