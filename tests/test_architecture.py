"""The shape of the code, checked: the import graph of `cuentas_cli` and the size of its parts.

The graph is built with `ast` from every `import` in every module, at the top or inside a
function (a lazy import is still a dependency), so an import moved into a function cannot hide
a cycle. The README's "Architecture" section describes the layers this test enforces.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "cuentas_cli"

# Each top-level part of cuentas_cli (a sub-package or a module) and its layer. A part may import
# only from parts of a lower layer, or from itself; two parts on one layer do not know each
# other. Read from the bottom: pure rules, then configuration, storage and the outside world,
# then the subjects (ledger and parties at their foot), then presentation and commands.
LAYERS: dict[str, int] = {
    "__init__": 0, "errors": 0, "textsafe": 0, "i18n": 0,
    "rules": 1,
    "config": 2,
    "db": 3, "integrations": 3,
    "admin": 4,
    "outputs": 5,
    "runtime": 6,
    "parties": 7,
    "ledger": 8,
    "bank": 9,
    "reports": 10,
    "imports": 11, "exports": 11, "reminders": 11,
    "ops": 12,
    "render": 13,
    "api": 14,
    "commands": 15,
    "app": 16,
    "__main__": 17,
}
# Only the presentation layer and above may draw on a terminal or parse a command line.
PRESENTATION = {"render", "commands", "app", "__main__"}
UI_LIBRARIES = {"typer", "rich", "click"}

MAX_MODULE_LINES = 500
MAX_CLASS_LINES = 300
# Longer on purpose; each with its reason. Migrations are history and are not counted.
ALLOWED_LONG: dict[str, str] = {}


@dataclass(frozen=True)
class Import:
    source: str  # module that imports
    target: str  # module imported (cuentas_cli.*) or a top-level third-party name
    line: int


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if path.name != "__init__.py":
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _known(name: str) -> str | None:
    """The cuentas_cli module a dotted name refers to (a module, or a name inside one)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports() -> list[Import]:
    out = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(module, path, node)
                names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
            else:
                continue
            for name in names:
                if name.startswith("cuentas_cli"):
                    target = _known(name)
                    assert target, f"{module}:{node.lineno} imports {name}, which is not a module of cuentas_cli"
                    if target != module:
                        out.append(Import(module, target, node.lineno))
                else:
                    out.append(Import(module, name.split(".")[0], node.lineno))
    return out


IMPORTS = _imports()


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                members = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    members.append(member)
                    if member == node:
                        break
                if len(members) > 1:
                    found.append(sorted(members))
    return found


def test_every_part_has_a_layer():
    parts = {_part(module) for module in MODULES}
    assert parts - set(LAYERS) == set(), "add the new part to LAYERS (and to the README's Architecture section)"


def test_no_cycle_between_modules():
    edges: dict[str, set[str]] = defaultdict(set)
    for imp in IMPORTS:
        if imp.target in MODULES:
            edges[imp.source].add(imp.target)
    cycles = _cycles(edges)
    assert not cycles, "modules that import each other, in a circle:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_no_cycle_between_packages():
    edges: dict[str, set[str]] = defaultdict(set)
    for imp in IMPORTS:
        if imp.target in MODULES and _part(imp.source) != _part(imp.target):
            edges[_part(imp.source)].add(_part(imp.target))
    cycles = _cycles(edges)
    assert not cycles, "packages that import each other, in a circle:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_dependencies_flow_down_the_layers():
    wrong = sorted(
        f"{imp.source}:{imp.line} imports {imp.target} ({_part(imp.source)} is layer {LAYERS[_part(imp.source)]}, "
        f"{_part(imp.target)} is layer {LAYERS[_part(imp.target)]})"
        for imp in IMPORTS
        if imp.target in MODULES
        and _part(imp.source) != _part(imp.target)
        and LAYERS[_part(imp.target)] >= LAYERS[_part(imp.source)]
    )
    assert not wrong, "\n".join(wrong)


def test_nothing_below_the_commands_imports_them():
    wrong = sorted(
        f"{imp.source}:{imp.line} imports {imp.target}"
        for imp in IMPORTS
        if _part(imp.target if imp.target in MODULES else "x") == "commands" and _part(imp.source) not in {"commands", "app"}
    )
    assert not wrong, "\n".join(wrong)


def test_terminal_and_command_line_libraries_stay_in_the_presentation_layer():
    wrong = sorted(
        f"{imp.source}:{imp.line} imports {imp.target}"
        for imp in IMPORTS
        if imp.target in UI_LIBRARIES and _part(imp.source) not in PRESENTATION
    )
    assert not wrong, "\n".join(wrong)


def _long_parts() -> list[str]:
    found = []
    for module, path in MODULES.items():
        if ".migrations." in f".{module}.":
            continue
        text = path.read_text(encoding="utf-8")
        lines = text.count("\n") + (not text.endswith("\n"))
        if lines > MAX_MODULE_LINES and module not in ALLOWED_LONG:
            found.append(f"{module}: {lines} lines (at most {MAX_MODULE_LINES})")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef):
                name = f"{module}.{node.name}"
                length = node.end_lineno - node.lineno + 1
                if length > MAX_CLASS_LINES and name not in ALLOWED_LONG:
                    found.append(f"{name}: a class of {length} lines (at most {MAX_CLASS_LINES})")
    return sorted(found)


def test_no_module_or_class_is_too_long():
    long = _long_parts()
    assert not long, "\n".join(long)


def test_the_allow_list_only_names_what_exists_and_says_why():
    for name, reason in ALLOWED_LONG.items():
        module = _known(name)
        assert module, f"{name} is allowed to be long but does not exist"
        assert len(reason.split()) >= 4, f"{name}: say why it is allowed to be long"


@pytest.mark.parametrize("cycle", [{"a": {"b"}, "b": {"c"}, "c": {"a"}}, {"a": {"a", "b"}, "b": {"a"}}])
def test_the_cycle_finder_finds_cycles(cycle):
    assert _cycles(cycle) != []


def test_the_cycle_finder_accepts_a_tree():
    assert _cycles({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []


def test_the_graph_sees_imports_inside_functions():
    # runtime imports the database engine only inside a function (start-up speed); it is an edge.
    assert any(imp.source == "cuentas_cli.runtime" and imp.target == "cuentas_cli.db.engine" for imp in IMPORTS)


def test_the_readme_map_names_every_package():
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Architecture", 1)[1].split("\n## ", 1)[0]
    packages = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists() and p.name != "data")
    assert [p for p in packages if f"{p}/" not in section] == []
