"""Every declared dependency is imported somewhere, and every import is declared (or first-party, or stdlib)."""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
FIRST_PARTY = frozenset({"chainrule", "derive", "verify", "reports", "conftest"})
RUNTIME_TREES = ("chainrule", "derive", "verify", "reports")
TEST_TREES = ("tests",)
# Declared but used as a command or plugin rather than imported: name -> how it is used.
NOT_IMPORTED = {
    "pytest-xdist": "pytest plugin: `-n auto` in pyproject's addopts",
    "ruff": "the linter command (README's Development section)",
    "pre-commit": "runs `pre-commit try-repo` in tests/test_precommit.py",
}


def _project() -> dict:
    """The [project] table of pyproject.toml."""
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _names(specs: list[str]) -> set[str]:
    """Canonical distribution names of requirement strings."""
    return {canonicalize_name(Requirement(s).name) for s in specs}


def _imports(trees: tuple[str, ...]) -> Iterator[tuple[str, Path, int]]:
    """(top-level module, file, line) for every absolute import in the given folders."""
    for tree in trees:
        for path in sorted((REPO / tree).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
                if isinstance(node, ast.Import):
                    yield from ((a.name.split(".")[0], path, node.lineno) for a in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    yield node.module.split(".")[0], path, node.lineno


@functools.cache
def _providers() -> dict[str, list[str]]:
    """Top-level module -> installed distributions (slow to compute: once per session)."""
    return importlib.metadata.packages_distributions()


def _distributions(module: str) -> set[str]:
    """The installed distributions that provide a top-level module."""
    return {canonicalize_name(d) for d in _providers().get(module, [])}


def _undeclared(trees: tuple[str, ...], declared: set[str]) -> list[str]:
    """'file:line: module' for every import that no declared distribution provides."""
    bad = []
    for module, path, line in _imports(trees):
        if module in FIRST_PARTY or module in sys.stdlib_module_names or module == "__future__":
            continue
        if not _distributions(module) & declared:
            bad.append(f"{path.relative_to(REPO)}:{line}: {module} (provided by {_distributions(module) or 'nothing'})")
    return bad


def test_every_runtime_import_is_a_declared_dependency():
    bad = _undeclared(RUNTIME_TREES, _names(_project()["dependencies"]))
    assert not bad, ("imported but not in pyproject's dependencies (add it there and rerun tools/lock.py): "
                     + "; ".join(bad))


def test_every_test_import_is_declared_for_the_tests():
    project = _project()
    declared = _names(project["dependencies"]) | _names(project["optional-dependencies"]["test"])
    bad = _undeclared(TEST_TREES, declared)
    assert not bad, "imported by tests but not declared (add it to the test extra): " + "; ".join(bad)


def test_every_declared_dependency_is_imported():
    project = _project()
    declared = _names(project["dependencies"]) | _names(project["optional-dependencies"]["test"])
    used = {d for module, _, _ in _imports(RUNTIME_TREES + TEST_TREES) for d in _distributions(module)}
    unused = sorted(declared - used - {canonicalize_name(n) for n in NOT_IMPORTED})
    assert not unused, f"declared in pyproject.toml but never imported: {', '.join(unused)} (remove them)"


def test_the_not_imported_table_names_declared_dependencies():
    project = _project()
    declared = _names(project["dependencies"]) | _names(project["optional-dependencies"]["test"])
    assert {canonicalize_name(n) for n in NOT_IMPORTED} <= declared
