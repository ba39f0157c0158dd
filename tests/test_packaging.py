"""pyproject.toml and environment.yml list the same dependencies."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[]", requirement.strip(), maxsplit=1)[0].lower()


def _pyproject_deps() -> dict[str, str]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(meta["dependencies"])
    for extra in meta.get("optional-dependencies", {}).values():
        reqs += extra
    return {_name(r): r.replace(" ", "") for r in reqs}


def _conda_deps() -> dict[str, str]:
    deps = {}
    text = (ROOT / "environment.yml").read_text()
    for line in text.split("dependencies:", 1)[1].splitlines():
        m = re.match(r"^  - ([A-Za-z0-9_.\-]+)(.*)$", line)
        if m and m.group(1) not in ("python", "pip"):
            deps[m.group(1).lower()] = (m.group(1) + m.group(2)).replace(" ", "")
    return deps


def test_environment_matches_pyproject():
    py, conda = _pyproject_deps(), _conda_deps()
    # Packages that only exist on PyPI go in environment.yml's pip section instead.
    assert set(conda) == set(py), (
        f"only in pyproject.toml: {sorted(set(py) - set(conda))}; "
        f"only in environment.yml: {sorted(set(conda) - set(py))}"
    )
    for name, spec in py.items():
        assert conda[name] == spec, (
            f"{name}: pyproject says {spec!r}, environment.yml {conda[name]!r}"
        )


def test_environment_installs_the_package_itself():
    assert "- -e ." in (ROOT / "environment.yml").read_text()


def _locked() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not an exact pin (name==version)"
            pins[re.sub(r"[-_.]+", "-", name.lower())] = version
    return pins


def test_the_lock_pins_every_dependency_within_pyproject_ranges():
    # Every install (make demo, make test, CI) uses constraints.txt; a dependency missing
    # from it would float, and a pin outside pyproject's range could not be installed.
    from packaging.requirements import Requirement

    locked = _locked()
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(meta["dependencies"])
    for extra in meta["optional-dependencies"].values():
        reqs += extra
    for text in reqs:
        req = Requirement(text)
        name = re.sub(r"[-_.]+", "-", req.name.lower())
        assert name in locked, f"constraints.txt has no pin for {req.name} (make lock)"
        assert req.specifier.contains(locked[name], prereleases=True), \
            f"constraints.txt pins {req.name}=={locked[name]}, outside pyproject's {text!r}"
    assert "convnets" not in locked, "the project itself is installed editable, not pinned"


def test_installs_use_the_lock():
    makefile = (ROOT / "Makefile").read_text()
    installs = [line for line in makefile.splitlines()
                if "pip install" in line and "$(BIN)" in line]
    assert installs and all("-c $(LOCK)" in line for line in installs), installs
    assert "LOCK := constraints.txt" in makefile
