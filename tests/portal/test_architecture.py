"""The house shape (CONTRIBUTING.md) as tests: no import cycle among an app's modules, reads and
shapes never import writes, tasks import services only inside their bodies."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ("jinju_portal", "vouchers", "industrial", "delivery")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules():
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" not in path.parts:
                yield _module_name(path), path


MODULES = dict(_modules())


def _top_level_imports(name: str, path: Path) -> set[str]:
    """Project modules imported when `name` is imported (module level only, not inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in tree.body:
        targets = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


GRAPH = {name: _top_level_imports(name, path) for name, path in MODULES.items()}


def _cycle_from(start):
    stack, seen = [(start, [start])], set()
    while stack:
        node, trail = stack.pop()
        for nxt in GRAPH.get(node, ()):
            if nxt == start:
                return trail + [nxt]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, trail + [nxt]))
    return None


def _is_package_edge(a: str, b: str) -> bool:
    # a package's __init__ re-exporting its own submodules, and those submodules importing siblings
    # through the package, is one unit, not a cycle between concerns
    return a.startswith(b + ".") or b.startswith(a + ".")


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_import_cycle(module):
    cycle = _cycle_from(module)
    if cycle is not None and all(_is_package_edge(a, b) for a, b in zip(cycle, cycle[1:])):
        cycle = None
    assert cycle is None, " -> ".join(cycle)


@pytest.mark.parametrize("module", ["vouchers.selectors", "vouchers.rules", "vouchers.inputs", "vouchers.errors",
                                    "vouchers.api.serializers", "vouchers.locks", "vouchers.db.sql",
                                    "vouchers.db.session", "industrial.selectors"])
def test_reads_rules_and_shapes_never_import_services(module):
    def reaches(start, target):
        todo, seen = [start], set()
        while todo:
            node = todo.pop()
            if node == target or node.startswith(target + "."):
                return True
            for nxt in GRAPH.get(node, ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return False

    app = module.split(".")[0]
    assert not reaches(module, f"{app}.services")


@pytest.mark.parametrize("module", ["vouchers.tasks", "industrial.tasks"])
def test_tasks_import_services_only_inside_their_bodies(module):
    if module not in MODULES:
        pytest.skip(f"{module} does not exist")
    assert not any(name.startswith(module.split(".")[0] + ".services") for name in GRAPH[module])
