"""Hidden tests that cannot be gamed (issue 19, the test side).

Fake submissions of the five assignments are graded by the real grader
(``autograder.execute.grade_submission``: the student's cells in the sandbox, the
tests in this process through proxies) and must earn what they deserve:

- *nothing*: every function the answer cells define returns ``np.zeros(1)`` (conv_naive's
  as in the review: the forward pass returns ``np.zeros(1)`` and its inputs, the backward
  pass zeros of their shapes for the visible test's seeded upstream gradient and an
  empty tuple otherwise, which scored 7/28 before): 0 points;
- *fake backward*: the instructor's solution, except that every forward pass
  recognises numerical-gradient probes (one entry of one input moved by about 1e-5
  since the last real call) and returns its previous output, and every backward pass
  returns zeros of the right number, shapes and dtypes (its visible gradient checks
  pass: numerical and analytic gradients are both zero): every test of a forward
  pass passes, every test of a backward pass gets 0;
- *visible-only backward* (conv_naive): probe-aware forward, a backward pass that
  returns zeros for the visible tests' upstream gradients and ``()`` otherwise: the
  same.

Then the checks' own bounds: a student reply of a ``(28000, 1)`` and a ``(1, 28000)``
bool array in a numerical gradient check fails on its shape, cheaply (tracemalloc
peak, and the grading process's peak RSS through the real grader), and hidden tests
print nothing when they pass and never hand back their expected values.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import importlib.util
import json
import os
import re
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("jupytext", reason="building the sources needs the 'course' extra")

sys.path.insert(0, str(Path(__file__).parent))
import attack_corpus as ac  # noqa: E402

from autograder import course as course_mod  # noqa: E402
from autograder.execute import grade_submission, nbgrader_meta  # noqa: E402
from autograder.sandbox import Limits, SandboxConfig, default_hidden_paths  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("checks", REPO / "assignments" / "checks.py")
checks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(checks)

ASSIGNMENTS = ["conv_naive", "conv_fast", "pooling_layers", "architectures",
               "fcconv_case_studies"]
# Each assignment's maximum, and the part of it a person grades (the written answers,
# which the sandboxed grader leaves alone: its results count the test cells only).
MAX_SCORES = {"conv_naive": 36, "conv_fast": 32, "pooling_layers": 44, "architectures": 48,
              "fcconv_case_studies": 44}
WRITTEN_POINTS = {"conv_naive": 8, "conv_fast": 8, "pooling_layers": 8, "architectures": 10,
                  "fcconv_case_studies": 7}
AUTO_MAX = {name: MAX_SCORES[name] - WRITTEN_POINTS[name] for name in MAX_SCORES}
LIMITS = Limits(call_timeout=30.0, submission_timeout=400.0)

# --------------------------------------------------------------------------------------
# Building submissions
# --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """The five source notebooks (and their folders with checks.py), as the course
    build makes them."""
    root = tmp_path_factory.mktemp("gameproof")
    for name in ASSIGNMENTS:
        course_mod.build_source(root, name)
    return root


def source_nb(course: Path, name: str) -> dict:
    return json.loads(course_mod.source_notebook(course, name).read_text())


def solution_notebook(course: Path, name: str) -> dict:
    """The instructor's notebook as a student would hand it in: solutions kept, hidden
    tests removed."""
    nb = copy.deepcopy(source_nb(course, name))
    for cell in nb["cells"]:
        text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        cell["source"] = course_mod.HIDDEN.sub("", text)
        cell.pop("outputs", None)
        if cell["cell_type"] == "code":
            cell["outputs"] = []
    return nb


def nothing_submission(course: Path, name: str) -> dict:
    return ac.nothing_implemented(solution_notebook(course, name), name)


def fake_backward_submission(course: Path, name: str, backward: str = "_zero_backward") -> dict:
    return ac.fake_backward(solution_notebook(course, name), name, backward)


def grade(course: Path, name: str, nb: dict, student: str, tmp_path: Path) -> dict:
    path = tmp_path / student / name / f"{name}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb))
    source = course_mod.source_notebook(course, name)
    config = SandboxConfig(limits=LIMITS, hide=default_hidden_paths(course, tmp_path))
    return grade_submission(source, path, source.parent, student_id=student, assignment=name,
                            config=config)


def scores(result: dict) -> dict[str, float]:
    return {gid: t["score"] for gid, t in result["tests"].items()}


# --------------------------------------------------------------------------------------
# Submissions graded by the real grader
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_nothing_implemented_scores_zero(course, name, tmp_path):
    result = grade(course, name, nothing_submission(course, name), "nothing", tmp_path)
    assert result["max_score"] == AUTO_MAX[name]
    written = [nbgrader_meta(c) for c in source_nb(course, name)["cells"]
               if c["cell_type"] == "markdown" and nbgrader_meta(c).get("grade")]
    assert sum(m["points"] for m in written) == WRITTEN_POINTS[name]
    assert not set(result["tests"]) & {m["grade_id"] for m in written}
    passed = [gid for gid, t in result["tests"].items() if t["passed"]]
    assert result["score"] == 0 and not passed, (passed, result["message"])


@pytest.mark.parametrize("attack", [ac.raise_everything, ac.echo_inputs],
                         ids=["raise-everything", "echo-inputs"])
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_refusing_or_echoing_everything_scores_zero(course, name, attack, tmp_path):
    """Functions that raise the ValueError bad input gets, or hand back their inputs:
    no test pays for refusals or shapes alone (architectures' pattern-error test paid
    2 points for refusing everything before)."""
    result = grade(course, name, attack(solution_notebook(course, name), name), "fake",
                   tmp_path)
    passed = [gid for gid, t in result["tests"].items() if t["passed"]]
    assert result["score"] == 0 and not passed, (passed, result["message"])


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_fake_backward_gets_none_of_the_backward_points(course, name, tmp_path):
    """Probe-aware forwards, backwards returning zeros of the right shapes: the visible
    gradient checks can pass, the hidden comparison with the reference cannot."""
    result = grade(course, name, fake_backward_submission(course, name), "fake", tmp_path)
    got = scores(result)
    assert result["status"] == "graded", result["message"]
    backward = {gid: s for gid, s in got.items() if gid in ac.BACKWARD_TESTS[name]}
    others = {gid: s for gid, s in got.items() if gid not in ac.BACKWARD_TESTS[name]}
    assert set(backward) == ac.BACKWARD_TESTS[name]
    assert all(s == 0 for s in backward.values()), backward
    # Everything else is the instructor's code and keeps its points.
    failed = {gid: result["tests"][gid]["failure"] for gid, t in result["tests"].items()
              if gid in others and not t["passed"]}
    assert not failed, failed
    assert result["score"] == AUTO_MAX[name] - sum(
        result["tests"][gid]["points"] for gid in ac.BACKWARD_TESTS[name])
    if name == "conv_naive":
        # The visible gradient check is fooled (its messages were printed, it passed);
        # the hidden part failed on the values, not before.
        failure = result["tests"]["test_conv_backward_naive"]["failure"]
        stdout = result["tests"]["test_conv_backward_naive"]["stdout"]
        assert "ok: dx (x (2, 3, 5, 5)" in stdout and "values differ" in failure["evalue"]


def test_visible_only_backward_gets_none_of_the_backward_points(course, tmp_path):
    """The review's backward pass (right zeros for the visible upstream gradients, an
    empty tuple otherwise) with a probe-aware forward: the visible checks pass, the
    hidden ones count the gradients."""
    nb = fake_backward_submission(course, "conv_naive", backward="_visible_only_backward")
    result = grade(course, "conv_naive", nb, "empty", tmp_path)
    got = scores(result)
    assert got["test_conv_backward_naive"] == 0 and got["test_dilation"] == 0, got
    assert result["score"] == AUTO_MAX["conv_naive"] - 12
    for gid in ("test_conv_backward_naive", "test_dilation"):
        evalue = result["tests"][gid]["failure"]["evalue"]
        assert "expected 3 gradients (dx, dw, db), got 0" in evalue, (gid, evalue)
        assert "ok: dx" in result["tests"][gid]["stdout"]      # the visible part passed


def test_reference_solution_keeps_full_marks_and_hidden_tests_print_nothing(course, tmp_path):
    """The honest notebook scores full marks, and what a test printed is its visible
    part's output only: the hidden checks said nothing."""
    name = "conv_naive"
    result = grade(course, name, solution_notebook(course, name), "honest", tmp_path)
    assert result["score"] == AUTO_MAX[name], result["message"]
    for gid, test in result["tests"].items():
        # Visible lines name the visible cases; hidden cases would say "float32, x (..."
        # or "a random setting": none of those may appear.
        assert "random" not in test["stdout"] and "float32, x" not in test["stdout"], gid
    # conv_output_size's visible part prints 17 "ok" lines, its hidden part none.
    assert result["tests"]["test_conv_output_size"]["stdout"].count("ok:") == 17


# --------------------------------------------------------------------------------------
# The checks are bounded: the (28000, 1) / (1, 28000) bool reply
# --------------------------------------------------------------------------------------

def _traced_peak(func) -> tuple[BaseException | None, int]:
    tracemalloc.start()
    try:
        func()
        error = None
    except AssertionError as err:
        error = err
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return error, peak


@pytest.mark.parametrize("dtype, words", [
    (bool, "expected numbers, got an array of bool"),
    (np.float64, r"expected shape \(3,\), got \(28000, 1\)"),
])
def test_bool_reply_in_a_gradient_check_fails_cheaply(dtype, words):
    replies = iter([np.zeros((28000, 1), dtype), np.ones((1, 28000), dtype)] * 4)
    x, df = np.zeros(3), np.ones(3)
    error, peak = _traced_peak(
        lambda: checks.eval_numerical_gradient_array(lambda v: next(replies), x, df))
    assert error is not None and re.search(words, str(error)), error
    assert peak < 300 * 1024**2, peak
    print(f"eval_numerical_gradient_array on a (28000, 1) {np.dtype(dtype)} reply: "
          f"peak {peak / 1024:.0f} kB")


@pytest.mark.parametrize("check", ["check_close", "check_gradient", "check_shape",
                                   "check_gradients", "rel_error"])
def test_checks_refuse_a_broadcastable_reply_before_any_arithmetic(check):
    got, want = np.zeros((28000, 1), bool), np.ones((1, 28000))
    calls = {
        "check_close": lambda: checks.check_close(got, want, "dx"),
        "check_gradient": lambda: checks.check_gradient(want, got, "dx"),
        "check_shape": lambda: checks.check_shape(got, want.shape, "dx"),
        "check_gradients": lambda: checks.check_gradients((got,), (want,), names=("dx",)),
        "rel_error": lambda: checks.rel_error(got.astype(float), want),
    }
    if check == "rel_error":
        tracemalloc.start()
        with pytest.raises(ValueError, match=r"shapes \(28000, 1\) and \(1, 28000\) differ"):
            calls[check]()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    else:
        error, peak = _traced_peak(calls[check])
        assert error is not None, check
        assert "bool" in str(error) or "shape" in str(error), str(error)
    assert peak < 300 * 1024**2, (check, peak)


@pytest.mark.parametrize("value, words", [
    (np.array(["a", "b"]), "expected an array of numbers"),
    (np.array([object(), 1], dtype=object), "expected an array of numbers"),
    (np.ma.masked_array([1.0, 2.0]), "ndarray subclass"),
    (np.array([True, False]), "got an array of bool"),
    (np.array([1 + 2j, 0j]), "expected real numbers"),
    ([1.0, [2.0, 3.0]], "expected an array of numbers"),
    ({"a": 1}, "expected an array of numbers, got dict"),
])
def test_check_close_refuses_values_of_the_wrong_kind(value, words):
    with pytest.raises(AssertionError, match=words):
        checks.check_close(value, np.zeros(2), "out")


def test_scalar_gradient_check_refuses_an_array_for_a_number():
    replies = iter([np.zeros((28000, 1)), np.zeros((1, 28000))])
    with pytest.raises(AssertionError, match=r"expected a number, got an array of shape"):
        checks.eval_numerical_gradient(lambda v: next(replies), np.zeros(2))


def test_gradients_are_counted_typed_and_shaped_before_their_values():
    want = (np.ones((2, 3)), np.ones(3, np.float32))
    with pytest.raises(AssertionError, match=r"expected 2 gradients \(dx, db\), got 0"):
        checks.check_gradients((), want, "layer", names=("dx", "db"))
    with pytest.raises(AssertionError, match=r"expected 2 gradients \(dx, db\), got 1"):
        checks.check_gradients((want[0],), want, "layer", names=("dx", "db"))
    with pytest.raises(AssertionError, match="expected a tuple of 2 gradients"):
        checks.check_gradients(np.ones((2, 3)), want, "layer", names=("dx", "db"))
    with pytest.raises(AssertionError, match="db \\(layer\\): expected dtype float32, got float64"):
        checks.check_gradients((want[0], np.ones(3)), want, "layer", names=("dx", "db"))
    with pytest.raises(AssertionError, match=r"expected shape \(3,\), got \(1, 3\)"):
        checks.check_gradients((want[0], np.ones((1, 3), np.float32)), want, "layer",
                               names=("dx", "db"))
    with pytest.raises(AssertionError, match="expected the keys"):
        checks.check_gradients({"W1": want[0]}, {"W1": want[0], "b1": want[1]}, "grads")
    checks.check_gradients(list(want), want, "layer", names=("dx", "db"))


def test_hidden_checks_are_silent_and_keep_their_answers(capsys):
    with checks.hidden_checks("t") as rng:
        assert isinstance(rng, np.random.Generator)
        checks.check_close(np.ones(2), np.ones(2), "a hidden case")
        checks.check_equal(5, 5, "a hidden size")
        checks.check_raises(ValueError, int, "x", what="a hidden error")
        with pytest.raises(AssertionError) as shape:
            checks.check_shape(np.ones((2, 3)), (4, 5), "out")
        with pytest.raises(AssertionError) as value:
            checks.check_close(np.array([2.0]), np.array([1234.5]), "out")
        with pytest.raises(AssertionError) as equal:
            checks.check_equal(3.5, 7, "size")
        with pytest.raises(AssertionError) as kind:
            checks.check_equal("x", 7, "size")
        with pytest.raises(AssertionError) as match:
            checks.check_raises(ValueError, int, "x", match="4.5", what="a bad setting")
    assert capsys.readouterr().out == ""
    assert "(4, 5)" not in str(shape.value) and "(2, 3)" in str(shape.value)
    assert "1234" not in str(value.value) and "values differ" in str(value.value)
    assert "7" not in str(equal.value) and "wrong answer (got float 3.5)" in str(equal.value)
    assert "got str 'x'; expected type int" in str(kind.value)
    assert "4.5" not in str(match.value)
    # Outside the block the checks speak again, with the expected values.
    checks.check_equal(5, 5, "a visible size")
    assert capsys.readouterr().out == "ok: a visible size == 5\n"
    with pytest.raises(AssertionError, match="expected 7, got 3.5"):
        checks.check_equal(3.5, 7, "size")


def test_check_equal_never_asks_an_array_for_its_truth_value():
    with pytest.raises(AssertionError, match="expected"):
        checks.check_equal([np.ones(3)], [1], "list")
    with pytest.raises(AssertionError, match="expected"):
        checks.check_equal({"a": np.ones(3)}, {"a": 1}, "dict")
    checks.check_equal(np.array([2, 3]), (2, 3), "a shape as an array")
    checks.check_equal([np.int64(2), 3.0], [2, 3], "numbers of other types")


BOOL_REPLY_FORWARD = '''
import numpy as _np
_calls = [0]
_real_forward = conv_forward_naive


def conv_forward_naive(x, w, b, conv_param):
    """The real layer for the first call of each test, then (28000, 1) and (1, 28000)
    bool replies: 56 kB that broadcast to 28000 x 28000 in a careless check."""
    _calls[0] += 1
    if _calls[0] % 3 == 1:
        return _real_forward(x, w, b, conv_param)
    shape = (28000, 1) if _calls[0] % 3 == 2 else (1, 28000)
    return _np.zeros(shape, bool), None
'''


def test_bool_reply_through_the_grader_costs_little(course, tmp_path):
    """The review's attack, graded by the real grader in a fresh process: the submission
    is graded, the gradient tests fail on the reply's shape, and the grading process's
    peak RSS stays under 300 MB."""
    nb = ac.append_cell(solution_notebook(course, "conv_naive"), BOOL_REPLY_FORWARD)
    path = tmp_path / "bool" / "conv_naive" / "conv_naive.ipynb"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(nb))
    source = course_mod.source_notebook(course, "conv_naive")
    script = textwrap.dedent(f"""
        import json
        from autograder.execute import grade_submission
        from autograder.sandbox import Limits, SandboxConfig, default_hidden_paths
        config = SandboxConfig(limits=Limits(call_timeout=30.0, submission_timeout=300.0),
                               hide=default_hidden_paths({str(course)!r}, {str(tmp_path)!r}))
        result = grade_submission({str(source)!r}, {str(path)!r}, {str(source.parent)!r},
                                  student_id="bool", assignment="conv_naive", config=config)
        # VmHWM: this process's own peak (ru_maxrss keeps the forking parent's across
        # exec, which in a long pytest run is the test process's size).
        with open("/proc/self/status") as f:
            peak = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))
        print(json.dumps({{"peak": peak, "result": result}}))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=REPO, timeout=600, env={**os.environ, "PYTHONPATH": str(REPO)
                                                      + os.pathsep
                                                      + os.environ.get("PYTHONPATH", "")})
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    result, peak = report["result"], report["peak"]
    assert result["status"] == "graded", result["message"]
    backward = result["tests"]["test_conv_backward_naive"]
    assert not backward["passed"]
    assert "got an array of bool" in backward["failure"]["evalue"], backward["failure"]
    assert peak < 300 * 1024**2, f"the grading process peaked at {peak / 1024**2:.0f} MB"
    print(f"grading the bool-reply submission: peak RSS {peak / 1024**2:.0f} MB, "
          f"score {result['score']}/{result['max_score']}")


# --------------------------------------------------------------------------------------
# Every hidden backward test, alone, against malformed gradients
# --------------------------------------------------------------------------------------

# The hidden blocks that judge a backward pass, and the names they call it by.
HIDDEN_BACKWARD = {
    "conv_naive": (["test_conv_backward_naive", "test_dilation"], ["conv_backward_naive"]),
    "conv_fast": (["test_conv_backward_fast"], ["conv_backward_fast"]),
    "pooling_layers": (["test_max_pool_backward", "test_avg_pool", "test_l2_pool", "test_relu",
                        "test_affine", "test_softmax_loss", "test_spatial_batchnorm_backward"],
                       ["max_pool_backward_naive", "avg_pool_backward", "l2_pool_backward",
                        "relu_backward", "affine_backward", "spatial_batchnorm_backward",
                        "softmax_loss"]),
    "architectures": (["test_three_layer_convnet_gradients"], ["ThreeLayerConvNet"]),
    "fcconv_case_studies": (["test_spatial_batchnorm_backward", "test_residual_block_backward"],
                            ["spatial_batchnorm_backward", "residual_block_backward"]),
}


def _map_arrays(value, func):
    if isinstance(value, tuple):
        return tuple(_map_arrays(v, func) for v in value)
    if isinstance(value, list):
        return [_map_arrays(v, func) for v in value]
    if isinstance(value, dict):
        return {k: _map_arrays(v, func) for k, v in value.items()}
    return func(value)


def _shorter(value):
    if isinstance(value, (tuple, list)):
        return value[:-1]
    if isinstance(value, dict):
        return dict(list(value.items())[:-1])
    return (value,)


MALFORMED = {
    "empty tuple": lambda g: (),
    "one gradient short": _shorter,
    "zeros": lambda g: _map_arrays(g, np.zeros_like),
    "float32": lambda g: _map_arrays(g, lambda a: a.astype(np.float32)),
    "a broadcastable shape": lambda g: _map_arrays(g, lambda a: a[None]),
    "lists": lambda g: _map_arrays(g, lambda a: a.tolist()),
}


def _malformed(func, name, kind):
    """``func`` (a reference answer) with its gradients made ``kind``."""
    bad = MALFORMED[kind]
    if name == "softmax_loss":
        return lambda x, y: (func(x, y)[0], bad(func(x, y)[1]))
    if name == "ThreeLayerConvNet":
        class Malformed(func):
            def loss(self, X, y=None):
                result = super().loss(X, y)
                return result if y is None else (result[0], bad(result[1]))
        return Malformed
    return lambda *args, **kwargs: bad(func(*args, **kwargs))


@pytest.fixture(scope="module")
def answered(monkeypatch_module, tmp_path_factory):
    """For each assignment: the namespace of its setup, given and answer cells (the
    instructor's solutions), and its hidden blocks by grade_id. The cells run next to
    the files the build ships with the notebook (conv_fast's setup loads its expected
    arrays)."""
    import assignment_helpers as ah

    monkeypatch_module.setitem(sys.modules, "checks", checks)
    found = {}
    for name in ASSIGNMENTS:
        nb = ah.read_source(name)
        namespace = {"__name__": f"answered_{name}"}
        folder = ah.copy_assignment_folder(name, tmp_path_factory.mktemp(f"answered_{name}"))
        with contextlib.chdir(folder):
            for cell in nb.cells:
                if ah.cell_kind(cell) in ("setup", "answer"):
                    ah.run_quietly(cell.source, namespace)
        blocks = {}
        for cell in ah.cells_by_kind(nb, "test"):
            match = course_mod.HIDDEN.search(cell.source)
            blocks[ah.grade_id(cell)] = match.group(0)
        found[name] = (namespace, blocks)
    return found


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def _cases():
    for name, (tests, _) in HIDDEN_BACKWARD.items():
        for gid in tests:
            yield name, gid


@pytest.mark.parametrize("name, gid", list(_cases()))
def test_hidden_backward_block_passes_quietly_on_the_solution(answered, name, gid, capsys):
    namespace, blocks = answered[name]
    exec(compile(blocks[gid], f"<hidden {gid}>", "exec"), dict(namespace))
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("kind", sorted(MALFORMED))
@pytest.mark.parametrize("name, gid", list(_cases()))
def test_hidden_backward_block_fails_malformed_gradients(answered, name, gid, kind, capsys):
    """Every hidden test of a backward pass refuses gradients that are missing, short,
    zero, of another dtype, of a broadcastable shape or not arrays, with an
    AssertionError whose message does not show the expected values."""
    namespace, blocks = answered[name]
    namespace = dict(namespace)
    for func in HIDDEN_BACKWARD[name][1]:
        namespace[func] = _malformed(namespace[func], func, kind)
    with pytest.raises(AssertionError) as failure:
        exec(compile(blocks[gid], f"<hidden {gid}>", "exec"), namespace)
    message = str(failure.value)
    assert "expected" not in message or "expected dtype" in message or "gradients" in message \
        or "keys" in message or "a tuple" in message or "a NumPy array" in message, message
    assert capsys.readouterr().out == ""


# --------------------------------------------------------------------------------------
# The conventions every hidden block follows
# --------------------------------------------------------------------------------------

def _hidden_blocks():
    import assignment_helpers as ah

    for name in ASSIGNMENTS:
        for cell in ah.cells_by_kind(ah.read_source(name), "test"):
            yield name, ah.grade_id(cell), course_mod.HIDDEN.search(cell.source).group(0)


@pytest.mark.parametrize("name, gid, block", list(_hidden_blocks()),
                         ids=[f"{n}-{g}" for n, g, _ in _hidden_blocks()])
def test_hidden_block_conventions(name, gid, block):
    """A hidden block is imports and one ``with hidden_checks("<its grade_id>")``
    (silent on pass, no expected values in failures); it prints nothing and every
    ``zip`` in it is strict (a short reply can never be passed by truncation)."""
    tree = ast.parse(block)
    body = [node for node in tree.body if not isinstance(node, (ast.Import, ast.ImportFrom))]
    assert len(body) == 1 and isinstance(body[0], ast.With), gid
    context = body[0].items[0].context_expr
    assert isinstance(context, ast.Call) and getattr(context.func, "id", "") == "hidden_checks"
    assert ast.literal_eval(context.args[0]) == gid
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id != "print", f"{gid} prints"
            if node.func.id == "zip":
                strict = [k for k in node.keywords if k.arg == "strict"]
                assert strict and ast.literal_eval(strict[0].value) is True, \
                    f"{gid}: zip without strict=True at line {node.lineno}"
