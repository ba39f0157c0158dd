"""The package's rooms hold: no import circles, no private helper crossing modules, old
paths thin, every module on its room's map, and the README's layout table true.

The imports are read with ``ast`` from the files (every ``import`` statement, at the top
or inside a function), so a circle hidden in a function-level import counts too.
"""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "solutions" / "convnets"
ROOMS = ("layers", "nn", "train", "bench", "teach", "playground")
# Top-level modules with code of their own; every other one is an old path kept as a
# thin re-export (see CONTRIBUTING.md).
FOUNDATIONS = {"__init__", "checks", "shapes", "gradcheck"}


def module_name(path: Path) -> str:
    parts = ("convnets",) + path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1]) if parts[-1] == "__init__" else ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def resolve(importer: str, node: ast.ImportFrom) -> str:
    """The absolute module a ``from ... import`` statement reads from."""
    if node.level == 0:
        return node.module or ""
    base = importer.split(".")
    if not is_package(importer):
        base = base[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports(name: str):
    """``(module imported from, names imported)`` for every import statement of a module,
    restricted to convnets; ``from pkg import sub`` counts as importing the submodule."""
    tree = ast.parse(MODULES[name].read_text(), filename=str(MODULES[name]))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "convnets":
                    yield alias.name, []
        elif isinstance(node, ast.ImportFrom):
            source = resolve(name, node)
            if source.split(".")[0] != "convnets":
                continue
            plain = []
            for alias in node.names:
                if f"{source}.{alias.name}" in MODULES:
                    yield f"{source}.{alias.name}", []
                else:
                    plain.append(alias.name)
            if plain:
                yield source, plain


GRAPH = {name: sorted({target for target, _ in imports(name)} - {name}) for name in MODULES}


def test_the_walk_sees_the_package():
    assert {"convnets.checks", "convnets.layers.conv_fast", "convnets.nn.sequential",
            "convnets.train.solver", "convnets.bench.run"} <= set(MODULES)
    assert "convnets.checks" in GRAPH["convnets.layers.conv_naive"]
    assert "convnets.nn.summary" in GRAPH["convnets.nn.sequential"]
    for targets in GRAPH.values():
        assert set(targets) <= set(MODULES), targets


def find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """A circle of imports ``[a, b, ..., a]``, or None."""
    state: dict[str, int] = {}   # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node):
        state[node] = 1
        path.append(node)
        for target in graph.get(node, []):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_find_cycle_finds_a_circle_and_only_a_circle():
    assert find_cycle({"a": ["b"], "b": ["c"], "c": ["a"]}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": ["b", "c"], "b": ["c"], "c": []}) is None


def test_no_import_circles():
    cycle = find_cycle(GRAPH)
    assert cycle is None, "import circle: " + " -> ".join(cycle)


def test_no_private_name_is_imported_from_another_module():
    crossing = [f"{name} imports {source}.{imported}"
                for name in MODULES for source, names in imports(name)
                for imported in names if imported.startswith("_") and source != name]
    assert not crossing, crossing


def test_the_layers_do_not_depend_on_networks_training_or_benchmarks():
    # The rooms have a direction: checks/shapes <- layers <- nn <- train <- bench.
    allowed = {
        "layers": ("convnets.checks", "convnets.shapes", "convnets.layers"),
        "nn": ("convnets.checks", "convnets.shapes", "convnets.layers", "convnets.nn"),
        "train": ("convnets.checks", "convnets.shapes", "convnets.nn", "convnets.train"),
    }
    wrong = [f"{name} -> {target}" for name, targets in GRAPH.items()
             for room, ok in allowed.items() if name.startswith(f"convnets.{room}.")
             for target in targets if not target.startswith(ok)]
    assert not wrong, wrong


def test_old_module_paths_are_thin_re_exports():
    for path in PACKAGE.glob("*.py"):
        if path.stem in FOUNDATIONS:
            continue
        tree = ast.parse(path.read_text())
        code = [node for node in tree.body
                if not isinstance(node, ast.Import | ast.ImportFrom | ast.Expr | ast.If)
                and not (isinstance(node, ast.Assign) and node.targets[0].id == "__all__")]
        assert not code, f"{path.name} holds code; it should only re-export from a room"
        assert re.search(r"\bold path\b|python -m convnets", ast.get_docstring(tree) or ""), \
            path.name


@pytest.mark.parametrize("room", ROOMS)
def test_every_module_of_a_room_is_on_its_map(room):
    # Each room's __init__ docstring has a table of its modules: keep it true.
    docstring = ast.get_docstring(ast.parse((PACKAGE / room / "__init__.py").read_text()))
    listed = set(re.findall(r"^``(\w+)``", docstring, flags=re.M))
    files = {p.stem for p in (PACKAGE / room).glob("*.py")} - {"__init__", "__main__"}
    assert listed == files, (room, sorted(listed ^ files))


def test_the_readme_layout_table_matches_the_folders():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([^`]+)` \|", section, flags=re.M)
    assert rows, "no layout table in the README"
    for row in rows:
        assert (ROOT / row).is_dir(), f"README layout names {row}, which is not a folder"
    for room in ROOMS:
        assert f"solutions/convnets/{room}/" in rows, f"README layout misses {room}/"
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    folders = {f"{path.split('/')[0]}/" for path in tracked
               if "/" in path and not path.startswith(".")}
    covered = {f"{row.split('/')[0]}/" for row in rows}
    assert folders <= covered, f"README layout misses {sorted(folders - covered)}"


def test_contributing_says_where_things_go_and_how_to_check_them():
    text = (ROOT / "CONTRIBUTING.md").read_text()
    for heading in ("A new layer", "A new assignment", "A new lesson", "A new grading stage"):
        assert f"## {heading}" in text, heading
    for room in ROOMS:
        assert f"solutions/convnets/{room}/" in text, room
    markers = re.findall(r'^\s+"(\w+): ', (ROOT / "pyproject.toml").read_text(), flags=re.M)
    assert markers == ["conv_naive", "conv_fast", "pooling_layers", "architectures",
                       "fcconv_case_studies"]
    for marker in markers:
        assert f"-m {marker}" in text, marker
