"""The security review's attacks (issue 19) as cases of the hostile corpus, on every
assignment, each with the outcome it must get.

An :class:`Attack` turns the instructor's notebook of an assignment (hidden tests
removed, as a student would hand it in) into a hostile submission, and checks the row
and the artefacts grading gave it. ``tests/submission_fuzzer.py`` puts them in its
generated classes (a seeded sample in ``make test``, every attack on every assignment in
``make fuzz``); ``tests/test_hidden_tests_gameproof.py`` grades the scoring ones alone.

=====================  =====================================================  ==========
attack                 the submission                                         outcome
=====================  =====================================================  ==========
nothing-implemented    every answer cell's functions return ``np.zeros(1)``   score 0
raise-everything       every function raises the ValueError bad input gets    score 0
echo-inputs            every function returns its inputs                      score 0
fake-backward          the real forward passes, made to recognise numerical-  none of the
                       gradient probes; backward passes that return zeros of  backward
                       the right number, shapes and dtypes                    tests' points
ansi-print             ANSI escapes printed by answer cells and put in the    graded as
                       messages of the ValueErrors the tests expect           the reference
bool-reply             forward passes that answer (28000, 1) and (1, 28000)   a status, a
                       bool arrays: 56 kB that broadcast to 784 M entries     lower score,
                                                                              the grader
                                                                              < 300 MB
payload                a thousand cells, each raising a 200 kB error          artefacts of
                                                                              a few MB
javascript-link        ``javascript:`` links spelt every way, in markdown     no link acts
remote-image           images and styles that point at another server        nothing loads
=====================  =====================================================  ==========
"""

from __future__ import annotations

import ast
import copy
import html
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# The test cells whose points depend on a backward pass (alone or with its forward).
BACKWARD_TESTS = {
    "conv_naive": {"test_conv_backward_naive", "test_dilation"},
    "conv_fast": {"test_conv_backward_fast"},
    "pooling_layers": {"test_max_pool_backward", "test_avg_pool", "test_l2_pool", "test_relu",
                       "test_affine", "test_softmax_loss", "test_spatial_batchnorm_backward"},
    "architectures": {"test_three_layer_convnet_gradients", "test_digits_accuracy"},
    "fcconv_case_studies": {"test_spatial_batchnorm_backward", "test_residual_block_backward"},
}
# name -> (forwards made probe-aware, backwards that return zeros)
FAKED = {
    "conv_naive": (["conv_forward_naive"], ["conv_backward_naive"]),
    "conv_fast": (["conv_forward_fast"], ["conv_backward_fast"]),
    "pooling_layers": (["max_pool_forward_naive", "avg_pool_forward", "l2_pool_forward",
                        "relu_forward", "affine_forward", "spatial_batchnorm_forward"],
                       ["max_pool_backward_naive", "avg_pool_backward", "l2_pool_backward",
                        "relu_backward", "affine_backward", "spatial_batchnorm_backward"]),
    "architectures": ([], []),   # ThreeLayerConvNet.loss, FAKE_CONVNET
    "fcconv_case_studies": (["spatial_batchnorm_forward", "residual_block_forward"],
                            ["spatial_batchnorm_backward", "residual_block_backward"]),
}

# Appended to the instructor's solution as the last code cell: the real functions are
# wrapped, so that only the backward passes are fake.
FAKE_HELPERS = '''
import numpy as _np


def _zeros_like_result(value):
    if isinstance(value, tuple):
        return tuple(_zeros_like_result(v) for v in value)
    if isinstance(value, dict):
        return {k: _zeros_like_result(v) for k, v in value.items()}
    return _np.zeros_like(value)


def _probe_aware(forward):
    """The real forward, except that a call whose arrays equal the last real call's but
    for one entry moved by at most 2.1e-5 (a numerical-gradient probe) gets the last
    real output back."""
    memory = {}

    def wrapper(*args, **kwargs):
        arrays = [a for a in list(args) + list(kwargs.values()) if isinstance(a, _np.ndarray)]
        last = memory.get("arrays")
        if last is not None and len(last) == len(arrays) and all(
                a.shape == b.shape for a, b in zip(arrays, last)):
            moved = [int(_np.count_nonzero(a != b)) for a, b in zip(arrays, last)]
            if sum(moved) == 1:
                i = moved.index(1)
                if float(_np.max(_np.abs(arrays[i] - last[i]))) <= 2.1e-5:
                    return memory["result"]
        result = forward(*args, **kwargs)
        memory["arrays"] = [a.copy() for a in arrays]
        memory["result"] = result
        return result
    return wrapper


def _zero_backward(backward):
    def wrapper(*args, **kwargs):
        return _zeros_like_result(backward(*args, **kwargs))
    return wrapper


'''

# conv_naive's backward pass as the review wrote it: zeros (of the right shapes) for the
# upstream gradients the visible tests use, an empty tuple for anything else.
VISIBLE_ONLY_BACKWARD = '''
def _visible_douts(shape):
    yield _np.random.default_rng(0).standard_normal(shape)     # gradient_check_conv
    r = _np.random.default_rng(7)                               # test_dilation
    r.standard_normal((2, 2, 7, 6)), r.standard_normal((3, 2, 3, 2)), r.standard_normal(3)
    yield r.standard_normal(shape)
    yield _np.ones(shape, _np.float32)                          # the dtype check


def _visible_only_backward(backward):
    def wrapper(dout, cache):
        if any(_np.array_equal(dout, v) for v in _visible_douts(_np.shape(dout))):
            return _zeros_like_result(backward(dout, cache))
        return ()
    return wrapper
'''

FAKE_SOFTMAX = '''
_real_softmax_loss = softmax_loss
softmax_loss = _probe_aware(lambda x, y: (_real_softmax_loss(x, y)[0],
                                          _np.zeros_like(_real_softmax_loss(x, y)[1])))
'''

FAKE_CONVNET = '''
_RealConvNet = ThreeLayerConvNet


class ThreeLayerConvNet(_RealConvNet):
    def loss(self, X, y=None):
        result = super().loss(X, y)
        if y is None:
            return result
        loss, grads = result
        return loss, _zeros_like_result(grads)
'''

# The review's conv_naive "nothing" submission (7/28 before issue 19): the forward pass
# returns np.zeros(1) and its inputs as the cache; the backward pass returns zeros of the
# inputs' shapes for the visible test's seeded upstream gradient, an empty tuple otherwise.
NOTHING_CONV = {
    "conv_forward_naive": '''
def conv_forward_naive(x, w, b, conv_param):
    return _np.zeros(1), (x, w, b)
''',
    "conv_backward_naive": '''
def conv_backward_naive(dout, cache):
    seeded = _np.random.default_rng(0).standard_normal(_np.shape(dout))
    if _np.array_equal(dout, seeded):
        return tuple(_np.zeros_like(a) for a in cache)
    return ()
''',
}

# The review's bool reply: the real layer on the first call of each three, then a
# (28000, 1) and a (1, 28000) bool array, which a careless check broadcasts to 28000^2.
BOOL_REPLY = '''
import numpy as _np
_bool_calls = [0]


def _bool_reply(real, pair=True):
    def wrapper(*args, **kwargs):
        _bool_calls[0] += 1
        if _bool_calls[0] % 3 == 1:
            return real(*args, **kwargs)
        shape = (28000, 1) if _bool_calls[0] % 3 == 2 else (1, 28000)
        reply = _np.zeros(shape, bool)
        return (reply, None) if pair else reply
    return wrapper
'''

BOOL_CONVNET = '''
_RealBoolNet = ThreeLayerConvNet


class ThreeLayerConvNet(_RealBoolNet):
    def loss(self, X, y=None):
        _bool_calls[0] += 1
        if _bool_calls[0] % 3 == 1:
            return super().loss(X, y)
        shape = (28000, 1) if _bool_calls[0] % 3 == 2 else (1, 28000)
        if y is None:
            return _np.zeros(shape, bool)
        return _np.zeros(shape, bool), {k: _np.zeros(shape, bool) for k in self.params}
'''

# Sequences that broke nbconvert's ANSI-to-HTML conversion, or would move a terminal.
ANSI_TEXT = "\x1b[38m\x1b[38;5;300m\x1b[0m\x1b]0;title\x07\x1b[2J\x9b31m\r\x08"
ANSI_PRINT = f'''
import functools as _ansi_functools
import sys as _ansi_sys

print({ANSI_TEXT!r})
print({ANSI_TEXT!r}, file=_ansi_sys.stderr)


def _ansi_errors(f):
    """The real function, whose ValueErrors (the ones the tests expect) carry escapes."""
    @_ansi_functools.wraps(f)
    def call(*args, **kwargs):
        try:
            return f(*args, **kwargs)
        except ValueError as exc:
            raise ValueError(str(exc) + {ANSI_TEXT!r}) from None
    return call
'''

PAYLOAD_CELLS = 1000
PAYLOAD_ERROR = 'raise ValueError("E" * 200_000)'
# Each artefact of one submission stays under this, whatever it printed or raised.
ARTEFACT_BYTES = 8 * 1024**2

JAVASCRIPT_LINKS = [
    "[entity colon](javascript&#58;alert(document.domain))",
    "[entity letter](&#106;avascript:alert(1))",
    "[hex entity](&#x6A;&#x61;vascript:alert(1))",
    "[tab entity](java&#x09;script:alert(1))",
    "[tab](java\tscript:alert(1))",
    "[mixed case](JaVaScRiPt:alert(1))",
    "[plain](javascript:alert(1))",
    "[spaces](  javascript:alert(1))",
    "[vb](vbscript:msgbox(1))",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[reference][evil]\n\n[evil]: javascript:alert(1)",
    "<javascript:alert(1)>",
    "[angle](<javascript:alert(1)>)",
    "<a href=\"javascript:alert(1)\">raw</a>",
    "<a href=\"&#106;avascript:alert(1)\">raw entity</a>",
]
REMOTE = "http://127.0.0.1:9/attack"
REMOTE_IMAGES = [
    f"![pixel]({REMOTE}/md.png)",
    f"![ref][pic]\n\n[pic]: {REMOTE}/ref.png",
    f"<img src=\"{REMOTE}/raw.png\">",
    f"<img srcset=\"{REMOTE}/set.png 1x\">",
    "![protocol relative](//example.invalid/p.png)",
    f"<div style=\"background:url({REMOTE}/style.png)\">x</div>",
    f"<style>@import '{REMOTE}/import.css';</style>",
    f"<link rel=stylesheet href=\"{REMOTE}/link.css\">",
    f"<iframe src=\"{REMOTE}/frame\"></iframe>",
    f"<video poster=\"{REMOTE}/poster.png\"></video>",
]


# --------------------------------------------------------------------------------------
# Reading the instructor's notebook
# --------------------------------------------------------------------------------------

def _src(cell) -> str:
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else str(s)


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def is_answer(cell) -> bool:
    return cell["cell_type"] == "code" and bool(_meta(cell).get("solution"))


def answer_names(nb: dict) -> tuple[list[str], list[str]]:
    """Functions and classes the answer cells define at top level."""
    functions, classes = [], []
    for cell in nb["cells"]:
        if is_answer(cell):
            for node in ast.parse(_src(cell)).body:
                if isinstance(node, ast.FunctionDef):
                    functions.append(node.name)
                elif isinstance(node, ast.ClassDef):
                    classes.append(node.name)
    return functions, classes


def test_points(nb: dict) -> dict[str, float]:
    """grade_id -> points of the notebook's test cells."""
    return {_meta(c)["grade_id"]: float(_meta(c).get("points", 0)) for c in nb["cells"]
            if c["cell_type"] == "code" and _meta(c).get("grade")}


def _code_cell(code: str, cid: str) -> dict:
    return {"cell_type": "code", "execution_count": None, "id": cid, "metadata": {},
            "outputs": [], "source": code}


def _md_cell(text: str, cid: str) -> dict:
    return {"cell_type": "markdown", "id": cid, "metadata": {}, "source": text}


def append_cell(nb: dict, code: str, cid: str = "attack") -> dict:
    nb["cells"].append(_code_cell(code, cid))
    return nb


# --------------------------------------------------------------------------------------
# The submissions
# --------------------------------------------------------------------------------------

def _replace_answers(nb: dict, function: str, klass: str,
                     overrides: dict | None = None) -> dict:
    """Every answer cell's functions and classes replaced by the given bodies
    (``overrides``: name -> a whole definition for that name)."""
    nb = copy.deepcopy(nb)
    overrides = overrides or {}
    for cell in nb["cells"]:
        if not is_answer(cell):
            continue
        fake = ["import numpy as _np"]
        for node in ast.parse(_src(cell)).body:
            if isinstance(node, ast.FunctionDef):
                fake.append(overrides.get(
                    node.name, f"def {node.name}(*args, **kwargs):\n{function}"))
            elif isinstance(node, ast.ClassDef):
                fake.append(f"class {node.name}:\n{klass}")
        cell["source"] = "\n".join(fake)
    return nb


def nothing_implemented(nb: dict, assignment: str) -> dict:
    """Every answer cell replaced: its functions return ``np.zeros(1)`` (conv_naive's
    layer as the review wrote it), its classes hold no parameters and score
    ``np.zeros(1)``."""
    return _replace_answers(
        nb, "    return _np.zeros(1)\n",
        "    def __init__(self, *args, **kwargs):\n        self.params = {}\n\n"
        "    def loss(self, X, y=None):\n        return _np.zeros(1)\n",
        NOTHING_CONV if assignment == "conv_naive" else None)


def raise_everything(nb: dict, assignment: str) -> dict:
    """Every function refuses every input with a ValueError (what the tests of bad
    input expect): checks of refusals alone would pay for it."""
    return _replace_answers(
        nb, '    raise ValueError("x, w, conv_param: invalid (expected anything)")\n',
        "    def __init__(self, *args, **kwargs):\n"
        "        raise ValueError('invalid hyperparameters')\n")


def echo_inputs(nb: dict, assignment: str) -> dict:
    """Every function hands back its first argument (or a tuple of them): right shapes
    where the output's shape is the input's, nothing computed."""
    return _replace_answers(
        nb, "    return args[0] if len(args) == 1 else tuple(args)\n",
        "    def __init__(self, *args, **kwargs):\n        self.params = {}\n\n"
        "    def loss(self, X, y=None):\n"
        "        return X if y is None else (0.0, {})\n")


def fake_backward(nb: dict, assignment: str, backward: str = "_zero_backward") -> dict:
    """Probe-aware forwards and backwards returning zeros of the right shapes: the
    visible gradient checks can pass, the hidden comparison with the reference cannot."""
    forwards, backwards = FAKED[assignment]
    lines = [FAKE_HELPERS, VISIBLE_ONLY_BACKWARD]
    lines += [f"{f} = _probe_aware({f})" for f in forwards]
    lines += [f"{b} = {backward}({b})" for b in backwards]
    if assignment == "pooling_layers":
        lines.append(FAKE_SOFTMAX)
    if assignment == "architectures":
        lines.append(FAKE_CONVNET)
    return append_cell(copy.deepcopy(nb), "\n".join(lines))


def ansi_print(nb: dict, assignment: str) -> dict:
    """Escapes printed by every answer cell, and in every ValueError they raise."""
    nb = copy.deepcopy(nb)
    functions, _ = answer_names(nb)
    wrap = "\n".join(f"{f} = _ansi_errors({f})" for f in functions)
    return append_cell(nb, ANSI_PRINT + "\n" + wrap + f"\nprint({ANSI_TEXT!r})\n")


def bool_reply(nb: dict, assignment: str) -> dict:
    """Every forward pass (conv_naive's as in the review) answers bool arrays that
    broadcast to 784 million entries, every backward pass too."""
    forwards, backwards = FAKED[assignment]
    lines = [BOOL_REPLY]
    lines += [f"{f} = _bool_reply({f})" for f in forwards]
    lines += [f"{b} = _bool_reply({b}, pair=False)" for b in backwards]
    if assignment == "architectures":
        lines.append(BOOL_CONVNET)
    return append_cell(copy.deepcopy(nb), "\n".join(lines))


def payload(nb: dict, assignment: str) -> dict:
    """A thousand small cells, each raising a 200 kB error (200 MB of output in all)."""
    nb = copy.deepcopy(nb)
    for k in range(PAYLOAD_CELLS):
        append_cell(nb, PAYLOAD_ERROR, f"payload{k:04d}")
    return nb


def javascript_links(nb: dict, assignment: str) -> dict:
    nb = copy.deepcopy(nb)
    for k, text in enumerate(JAVASCRIPT_LINKS):
        nb["cells"].append(_md_cell(text, f"jslink{k:02d}"))
    return nb


def remote_images(nb: dict, assignment: str) -> dict:
    nb = copy.deepcopy(nb)
    for k, text in enumerate(REMOTE_IMAGES):
        nb["cells"].append(_md_cell(text, f"remote{k:02d}"))
    return nb


# --------------------------------------------------------------------------------------
# The outcomes
# --------------------------------------------------------------------------------------

@dataclass
class Graded:
    """What grading left for one attacking student, and what an honest one got."""

    assignment: str
    student: str
    row: dict                  # its CSV row
    reference: dict            # the reference solution's row in a clean run
    course: Path
    solution: dict             # the instructor's notebook (test points)
    feedback: bool             # whether feedback was generated

    @property
    def score(self) -> float:
        return float(self.row["score"])

    def artefacts(self) -> dict[str, Path]:
        a, s = self.assignment, self.student
        return {"results": self.course / "results" / a / f"{s}.json",
                "autograded notebook": self.course / "autograded" / s / a / f"{a}.ipynb",
                "feedback": self.course / "feedback" / s / a / f"{a}.html"}

    def page(self) -> str | None:
        path = self.artefacts()["feedback"]
        return path.read_text(errors="replace") if self.feedback and path.is_file() else None


def _status(g: Graded, *allowed: str) -> list[str]:
    return [] if g.row["status"] in allowed else [
        f"status {g.row['status']!r} ({g.row.get('message', '')[:200]!r}), expected "
        f"{' or '.join(allowed)}"]


def _same_as_reference(g: Graded) -> list[str]:
    v = _status(g, "graded")
    if g.score != float(g.reference["score"]):
        v.append(f"score {g.score}, the reference gets {g.reference['score']}")
    return v


def _page_exists(g: Graded) -> list[str]:
    if g.feedback and g.page() is None:
        return ["no feedback page"]
    return []


def expect_zero(g: Graded) -> list[str]:
    return _status(g, "graded") + ([] if g.score == 0 else [f"score {g.score}, expected 0"])


def expect_no_backward_points(g: Graded) -> list[str]:
    points = test_points(g.solution)
    lost = sum(points[gid] for gid in BACKWARD_TESTS[g.assignment])
    want = float(g.reference["score"]) - lost
    v = _status(g, "graded")
    if g.score != want:
        v.append(f"score {g.score}, expected the reference's {g.reference['score']} minus "
                 f"the backward tests' {lost:g} = {want:g}")
    return v


def expect_ansi_harmless(g: Graded) -> list[str]:
    v = _same_as_reference(g) + _page_exists(g)
    page = g.page()
    if page is not None and re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x9b]", page):
        v.append("the feedback page holds raw control characters")
    return v


# What checking one submission may add to the grading worker's memory (the review's
# 56 kB bool reply once cost it 6 GB).
GRADER_PEAK_BYTES = 300 * 1024**2


def expect_bounded_status(g: Graded) -> list[str]:
    v = _status(g, "graded", "crashed", "timed out", "grader error")
    if g.score >= float(g.reference["score"]):
        v.append(f"score {g.score}: the bool replies lost nothing (reference "
                 f"{g.reference['score']})")
    results = g.artefacts()["results"]
    try:
        peak = json.loads(results.read_text()).get("grader_peak_bytes")
    except (OSError, ValueError, AttributeError):
        return v + [f"no readable results ({results.name})"]
    if peak is None and sys.platform == "linux":
        v.append("the results do not say what grading cost the worker (grader_peak_bytes)")
    elif peak is not None and peak > GRADER_PEAK_BYTES:
        v.append(f"checking it cost the grader {peak / 1024**2:.0f} MB (bound "
                 f"{GRADER_PEAK_BYTES / 1024**2:.0f} MB)")
    return v


def expect_bounded_artefacts(g: Graded) -> list[str]:
    v = _same_as_reference(g)
    for what, path in g.artefacts().items():
        if what == "feedback" and not g.feedback:
            continue
        if not path.is_file():
            v.append(f"no {what} ({path.name})")
        elif path.stat().st_size > ARTEFACT_BYTES:
            v.append(f"{what} is {path.stat().st_size / 1024**2:.1f} MB (bound "
                     f"{ARTEFACT_BYTES / 1024**2:.0f} MB)")
    results = g.artefacts()["results"]
    if results.is_file() and "[cut:" not in results.read_text(errors="replace"):
        v.append("the results do not say that output was cut")
    return v


_URL_ATTR = re.compile(r"""\b(href|src|srcset|action|formaction|poster|background|data)\s*=\s*
                           (?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.I | re.X)
_BAD_SCHEME = re.compile(r"^(javascript|vbscript|data):", re.I)
# What a CSP-less browser would fetch: URLs in attributes, CSS url() and @import.
_REMOTE = re.compile(r"^(https?:)?//", re.I)


_TAG = re.compile(r"""<[a-zA-Z](?:[^>"']|"[^"]*"|'[^']*')*>""")


def _urls(page: str) -> list[tuple[str, str]]:
    """(attribute, decoded value) of every URL-bearing attribute of the page's tags."""
    found = []
    for tag in _TAG.findall(page):
        for m in _URL_ATTR.finditer(tag):
            value = html.unescape(m.group(2) or m.group(3) or m.group(4) or "")
            found.append((m.group(1).lower(), re.sub(r"[\x00-\x20]", "", value)))
    return found


def _csp(page: str) -> list[str]:
    """The page forbids by default everything it does not allow (no script, no host)."""
    policy = re.search(r'http-equiv="Content-Security-Policy"\s+content="([^"]*)"', page)
    if policy and "default-src 'none'" in policy.group(1) and \
            not re.search(r"(https?:|\*|'unsafe-eval')", policy.group(1)):
        return []
    return ["the feedback page has no Content-Security-Policy that forbids by default"]


def expect_inert_links(g: Graded) -> list[str]:
    v = _same_as_reference(g) + _page_exists(g)
    page = g.page()
    if page is not None:
        v += _csp(page)
        v += [f"a {attr}= that acts: {value[:80]!r}" for attr, value in _urls(page)
              if _BAD_SCHEME.match(value) and not value.lower().startswith("data:image/")]
    return v


def expect_nothing_loads(g: Graded) -> list[str]:
    v = _same_as_reference(g) + _page_exists(g)
    page = g.page()
    if page is not None:
        v += _csp(page)
        v += [f"a {attr}= that loads {value[:80]!r}" for attr, value in _urls(page)
              if attr != "href" and _REMOTE.match(value)]
        css = re.findall(r"<style\b[^>]*>(.*?)</style>", page, re.I | re.S)
        css += [m for tag in _TAG.findall(page)
                for m in re.findall(r"\bstyle\s*=\s*\"([^\"]*)\"", tag, re.I)]
        v += [f"CSS that loads {m[:80]!r}" for block in css for m in
              re.findall(r"(?:url\(|@import\s)[\s'\"]*((?:https?:)?//[^)'\"\s]+)",
                         html.unescape(block))]
        body = page.split("</head>", 1)[-1]
        tags = re.findall(r"<(iframe|frame|link|video|audio|object|embed)\b", body, re.I)
        if tags:
            v.append(f"the student's markup became tags: {sorted(set(tags))}")
    return v


@dataclass
class Attack:
    kind: str
    what: str
    build: Callable[[dict, str], dict]      # (instructor's notebook, assignment) -> notebook
    expect: Callable[[Graded], list[str]]   # the broken expectations ([] when it held)
    outcome: str


ATTACKS = [
    Attack("attack/nothing-implemented", "every answer returns np.zeros(1)",
           nothing_implemented, expect_zero, "score 0"),
    Attack("attack/raise-everything", "every function raises ValueError",
           raise_everything, expect_zero, "score 0"),
    Attack("attack/echo-inputs", "every function returns its inputs",
           echo_inputs, expect_zero, "score 0"),
    Attack("attack/fake-backward", "probe-aware forwards, zero backwards",
           fake_backward, expect_no_backward_points, "none of the backward tests' points"),
    Attack("attack/ansi-print", "ANSI escapes printed and in expected ValueErrors",
           ansi_print, expect_ansi_harmless, "graded as the reference, feedback clean"),
    Attack("attack/bool-reply", "(28000, 1) and (1, 28000) bool replies",
           bool_reply, expect_bounded_status, "a status and a lower score, grader bounded"),
    Attack("attack/payload", f"{PAYLOAD_CELLS} cells raising 200 kB errors",
           payload, expect_bounded_artefacts, "artefacts under 8 MB, marked as cut"),
    Attack("attack/javascript-link", "javascript: links in every spelling",
           javascript_links, expect_inert_links, "no link acts, CSP present"),
    Attack("attack/remote-image", "images and styles from another server",
           remote_images, expect_nothing_loads, "nothing loads, CSP present"),
]
BY_KIND = {a.kind: a for a in ATTACKS}


def submission(kind: str, instructor_nb: dict, assignment: str) -> bytes:
    """The attacking notebook, as bytes a student would hand in."""
    return json.dumps(BY_KIND[kind].build(instructor_nb, assignment), indent=1).encode()
