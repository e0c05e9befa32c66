"""The package's shape: one sub-package per pipeline step, imports pointing one way, private names kept private."""

import ast
from pathlib import Path

import pytest

from conftest import REPO

SRC = REPO / "src" / "memdev"
# a module may import from its own package and from packages of a lower rank only
RANKS = {
    "core": 0, "ingest": 1, "features": 2, "models": 3, "evaluation": 3, "training": 4,
    "tuning": 5, "submission": 5, "reporting": 6, "bench": 6, "cli": 7,
}
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package(module: str) -> str:
    """``memdev.training.finetune`` -> ``training``; core modules and ``memdev`` itself -> ``core``."""
    parts = module.split(".")
    if len(parts) > 2 or (len(parts) == 2 and (SRC / parts[1]).is_dir()):
        return parts[1]
    return "cli" if module in ("memdev.cli", "memdev.__main__") else "core"


MODULES = {module_name(path): path for path in sorted(SRC.rglob("*.py"))}


def imports(path: Path) -> list[tuple[str, list[str], int]]:
    """(module, names, line) of every ``import memdev...`` and ``from memdev... import`` in a file, lazy ones too."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("memdev") and not node.level:
            names = [alias.name for alias in node.names]
            submodules = [n for n in names if f"{node.module}.{n}" in MODULES]
            found += [(f"{node.module}.{n}", [], node.lineno) for n in submodules]
            rest = [n for n in names if n not in submodules]
            if rest:
                found.append((node.module, rest, node.lineno))
        elif isinstance(node, ast.Import):
            found += [(alias.name, [], node.lineno) for alias in node.names if alias.name.startswith("memdev")]
        elif isinstance(node, ast.ImportFrom) and node.level:
            found.append(("relative", [], node.lineno))
    return found


def test_every_import_points_down_the_pipeline():
    wrong = []
    for module, path in MODULES.items():
        for target, _, line in imports(path):
            if target == "relative":
                wrong.append(f"{path.name}:{line} uses a relative import")
            elif target in MODULES and package(target) != package(module) and RANKS[package(target)] > RANKS[package(module)]:
                wrong.append(f"{module}:{line} imports {target} ({package(module)} may not import {package(target)})")
    assert not wrong, "\n".join(wrong)


def test_no_import_cycle_inside_memdev():
    graph = {module: {t for t, _, _ in imports(path) if t in MODULES and t != module} for module, path in MODULES.items()}
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module, trail):
        state[module] = 1
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                pytest.fail("import cycle: " + " -> ".join(trail[trail.index(target):] + [target]))
            if target not in state:
                visit(target, trail + [target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


def test_no_private_name_crosses_a_module():
    files = list(MODULES.values()) + sorted((REPO / "tests").rglob("*.py"))
    wrong = []
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases = {}
        for target, names, line in imports(path):
            wrong += [f"{path.relative_to(REPO)}:{line} imports {name} from {target}"
                      for name in names if name.startswith("_") and not name.startswith("__")]
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and not getattr(node, "level", 0):
                for alias in node.names:
                    full = alias.name if isinstance(node, ast.Import) else f"{node.module}.{alias.name}"
                    if full in MODULES:
                        aliases[alias.asname or alias.name.split(".")[0]] = full
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
                    and node.attr.startswith("_") and not node.attr.startswith("__")):
                wrong.append(f"{path.relative_to(REPO)}:{node.lineno} uses {node.value.id}.{node.attr}")
    assert not wrong, "\n".join(wrong)


def test_no_module_is_over_400_lines():
    long = {module: n for module, path in MODULES.items() if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert not long, long


def test_tests_mirror_the_packages():
    """tests/<package>/test_<module>.py for every module of a pipeline step that has tests at all."""
    misplaced = []
    for path in sorted((REPO / "tests").rglob("test_*.py")):
        folder = path.parent.relative_to(REPO / "tests").parts
        if folder and folder[0] != "scenarios" and not (SRC.joinpath(*folder)).is_dir():
            misplaced.append(str(path.relative_to(REPO)))
    assert not misplaced, misplaced
