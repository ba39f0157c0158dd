"""Generated classes of the five real assignments (tests/submission_fuzzer.py) graded
through the real command line, with feedback, and through ``grade_assignment``: every
invariant of ``submission_fuzzer.check_class`` holds for a seeded sample (``make fuzz``
runs a long one)."""

import json
import random
import sys
import zipfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import attack_corpus as ac  # noqa: E402
import submission_fuzzer as fz  # noqa: E402

# One class per assignment: the seeds, layouts and sizes of the sample. Every class has
# the mutations that broke whole classes before (fz.FIRST) on its first mutants, and some
# of the review's attacks (attack_corpus): each attack on at least one assignment here,
# every attack on every assignment in make fuzz.
SAMPLE = {
    "conv_naive": (11, "folders", 5, ("attack/nothing-implemented", "attack/ansi-print")),
    "conv_fast": (12, "zip", 4, ("attack/fake-backward", "attack/payload",
                                 "attack/echo-inputs")),
    "pooling_layers": (13, "folders", 4, ("attack/javascript-link", "attack/bool-reply")),
    "architectures": (14, "folders", 3, ("attack/remote-image", "attack/raise-everything")),
    "fcconv_case_studies": (15, "zip", 4, ("attack/fake-backward", "attack/ansi-print")),
}
CLEAN = ("reference", "blank")
_BASELINES: dict[str, dict] = {}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    return fz.built_course(tmp_path_factory.mktemp("fuzz-course"))


def _material(pristine, assignment):
    return fz.Material.load(pristine, assignment)


def _baseline(pristine, assignment, tmp_path_factory):
    if assignment not in _BASELINES:
        _BASELINES[assignment] = fz.clean_baseline(
            pristine, _material(pristine, assignment),
            tmp_path_factory.mktemp(f"baseline-{assignment}") / "run")
    return _BASELINES[assignment]


def _report(outcome) -> str:
    rows = "\n".join(f"    {r.get('student_id')!r}: {r.get('score')} {r.get('status')!r} "
                     f"{r.get('message', '')[:160]!r}" for r in outcome.rows)
    return (f"{len(outcome.violations)} invariants broken:\n  " +
            "\n  ".join(v[:600] for v in outcome.violations) +
            f"\n{outcome.gc.describe()[:4000]}\nrows:\n{rows}\nexit {outcome.returncode}; "
            f"stderr ends: {outcome.stderr[-1500:]}")


# ---------------------------------------------------------------------------------------
# The generator itself (no grading)
# ---------------------------------------------------------------------------------------

def test_the_generator_is_seeded(pristine, tmp_path):
    material = _material(pristine, "conv_naive")
    for seed in range(4):
        one = fz.generate_class(material, seed, 6)
        two = fz.generate_class(material, seed, 6)
        assert [(s.student_id, s.mutations, s.files) for s in one.students] == \
               [(s.student_id, s.mutations, s.files) for s in two.students]
        assert [(e.name, e.data) for e in one.entries()] == \
               [(e.name, e.data) for e in two.entries()]
    assert fz.generate_class(material, 0, 6).describe() != \
        fz.generate_class(material, 1, 6).describe()


@pytest.mark.parametrize("assignment", fz.ASSIGNMENTS)
def test_every_mutation_applies_to_every_assignment(pristine, assignment):
    """Each kind of mutation changes the real notebooks of each assignment, and the
    unmutated students are the release and solution files byte for byte."""
    material = _material(pristine, assignment)
    for mutation in fz.MUTATIONS:
        for base in fz.CLEAN_KINDS:
            described = None
            for seed in range(20):
                draft = fz.Draft(assignment, material.base(base), "marker")
                described = mutation.fn(random.Random(seed), draft)
                if described:
                    break
            assert described, (mutation.kind, base)
            files = fz._notebook_files(draft)
            clean = material.base_bytes(base)
            assert files != {f"{assignment}/{assignment}.ipynb": clean}, mutation.kind
    gc = fz.generate_class(material, 3, 4, clean=fz.CLEAN_KINDS)
    path = f"{assignment}/{assignment}.ipynb"
    assert gc.students[0].files == {path: material.solution_bytes}
    assert gc.students[1].files == {path: material.release_bytes}
    assert json.loads(gc.students[2].files[path]) == material.partial()
    assert material.hidden_lines, "the source's hidden tests were found"


def test_a_zip_class_holds_what_it_describes(pristine, tmp_path):
    material = _material(pristine, "conv_fast")
    for seed in range(12):
        gc = fz.generate_class(material, seed, 6, layout="zip")
        path = gc.write(tmp_path / f"z{seed}")
        with zipfile.ZipFile(path) as zf:
            names = [i.filename for i in zf.infolist()]
        for student in gc.students:
            if student.files and not student.flat:
                assert any(n.split("/")[-3:-2] == [student.student_id] or
                           student.student_id in n for n in names), student.student_id
        kinds = {k for k, _ in gc.zip_kinds}
        if "zip/dotdot" in kinds:
            assert any(n.startswith("../") for n in names)
        if "zip/duplicate-name" in kinds:
            assert len(names) > len(set(names))


# ---------------------------------------------------------------------------------------
# Graded: the seeded sample
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("assignment", fz.ASSIGNMENTS)
def test_generated_class_through_the_command_line(pristine, assignment, tmp_path,
                                                  tmp_path_factory):
    """`python -m autograder grade` (what `make grade` runs), feedback on, two workers."""
    seed, layout, mutants, attacks = SAMPLE[assignment]
    baseline = _baseline(pristine, assignment, tmp_path_factory)
    gc = fz.generate_class(_material(pristine, assignment), seed, mutants, layout=layout,
                           clean=CLEAN, attacks=attacks)
    outcome = fz.run_class(gc, pristine, tmp_path / "class", baseline, route="cli")
    assert outcome.rows, _report(outcome)
    assert outcome.violations == [], _report(outcome)


def test_generated_class_through_grade_assignment(pristine, tmp_path, tmp_path_factory):
    """``pipeline.grade_assignment`` in this process, feedback on: another seed of the
    first assignment, written as folders."""
    assignment = fz.ASSIGNMENTS[0]
    baseline = _baseline(pristine, assignment, tmp_path_factory)
    gc = fz.generate_class(_material(pristine, assignment), 21, 4, layout="folders",
                           clean=CLEAN, force=("marker/markdown", "output/print-in-calls"))
    outcome = fz.run_class(gc, pristine, tmp_path / "class", baseline, route="api")
    assert outcome.rows, _report(outcome)
    assert outcome.violations == [], _report(outcome)


def test_the_sample_has_every_attack():
    assert {k for *_, attacks in SAMPLE.values() for k in attacks} == set(ac.BY_KIND)


@pytest.mark.parametrize("assignment", fz.ASSIGNMENTS)
def test_every_attack_applies_to_every_assignment(pristine, assignment):
    """Each attack of the review is a valid notebook on each assignment, keeps the
    instructor's graded cells where nbgrader looks for them, and changes what runs."""
    import nbformat

    material = _material(pristine, assignment)
    graded = [c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
              for c in material.solution["cells"]
              if c.get("metadata", {}).get("nbgrader", {}).get("grade")]
    for attack in ac.ATTACKS:
        student = fz.attack_student(material, attack.kind)
        data = student.files[f"{assignment}/{assignment}.ipynb"]
        nb = nbformat.reads(data.decode(), as_version=4)
        nbformat.validate(nb)
        assert data != material.solution_bytes, attack.kind
        ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells
               if c.metadata.get("nbgrader", {}).get("grade")]
        assert ids == graded, attack.kind
        assert student.attack == attack.kind and not student.preserving


def test_a_renamed_notebook_next_to_an_extra_one_is_not_expected_to_keep_its_row(pristine):
    """make fuzz found it: 'é名.ipynb' and 'scratch.ipynb' are two notebooks, neither
    named as the assignment; the grader rightly says 'missing notebook'."""
    material = _material(pristine, "fcconv_case_studies")
    for seed in range(60):
        student = fz.make_student(random.Random(seed), material, "s", "m", 2,
                                  ("files/renamed-notebook", "files/extra-notebook"))
        if {"files/renamed-notebook", "files/extra-notebook"} <= set(student.kinds):
            assert not student.preserving
            return
    raise AssertionError("the two mutations were never applied together")
