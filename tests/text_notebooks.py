"""Notebooks stored as text: is a file in the form jupytext itself would write?

Lessons and assignment sources are jupytext "percent" files. Saving one from JupyterLab
rewrites it in jupytext's canonical form, so the tests keep the files in that form. What
is compared is the cells and the metadata, never the stamps jupytext writes about itself
(``jupytext_version`` changes with every release, ``format_version`` with the format's
revision): a new jupytext release must not turn the suite red.
"""

from __future__ import annotations

import re

import jupytext

VERSION_STAMPS = re.compile(r"^#\s+(format_version|jupytext_version):.*\n", re.M)

# The header line that keeps jupytext from writing its own version into the file.
NO_VERSION_FILTER = "-jupytext.text_representation.jupytext_version"


def without_version_stamps(text: str) -> str:
    return VERSION_STAMPS.sub("", text)


def in_jupytext_form(text: str, fmt: str = "py:percent") -> bool:
    """True when jupytext would write ``text`` back unchanged, version stamps aside."""
    notebook = jupytext.reads(text, fmt=fmt)
    return without_version_stamps(jupytext.writes(notebook, fmt=fmt)) == \
        without_version_stamps(text)
