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


def inert_line(text: str, limit: int = 500) -> str:
    """One line for a CSV cell or a terminal: inert, newlines as spaces, at most
    ``limit`` characters (the cut marked)."""
    text = inert_text(text).replace("\n", " ").replace("\t", " ")
    return text if len(text) <= limit else text[:limit - 15] + " ... [cut]"
