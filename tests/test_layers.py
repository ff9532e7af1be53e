"""Imports only run downward: each module imports from its own layer or the layers below it."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("chainrule", "derive", "verify", "reports")
# Bottom to top (docs/DESIGN.md says the same in one line). A module belongs to the layer of its
# longest listed prefix.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("kernels", ("chainrule.errors", "chainrule.kernels")),
    ("derive", ("derive",)),
    ("generate", ("chainrule.blocked", "chainrule.codegen")),
    ("verify", ("verify",)),
    ("reports", ("reports",)),
    ("command line", ("chainrule", "chainrule.cli", "chainrule.bench")),
)
# What the bottom layer may import besides the standard library: the generated kernels run without SymPy.
KERNEL_IMPORTS = frozenset({"numpy", "scipy", "jax", "chainrule"})


def layer(module: str) -> int:
    """The index in LAYERS of a first-party module (by its longest matching prefix)."""
    best, index = -1, -1
    for i, (_name, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, index = len(prefix), i
    if index < 0:
        raise KeyError(f"{module} is in no layer: add it to tests/test_layers.py LAYERS and docs/DESIGN.md")
    return index


def is_module(dotted: str) -> bool:
    """Whether a dotted name is a first-party module or package of this repository."""
    path = REPO.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def module_name(path: Path) -> str:
    """The dotted module name of a source file under the repository."""
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(source: str, module: str) -> Iterator[tuple[str, int]]:
    """(imported module, line) for every import in ``source``, relative ones resolved against ``module``."""
    package = module.split(".")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from ((a.name, node.lineno) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1]) if node.level else ""
            target = ".".join(p for p in (base, node.module or "") if p)
            for alias in node.names:  # `from chainrule import blocked` imports the module chainrule.blocked
                yield (f"{target}.{alias.name}" if is_module(f"{target}.{alias.name}") else target), node.lineno


def upward(source: str, module: str) -> list[str]:
    """'module:line imports target (layer a above layer b)' for each import that runs upward."""
    own = layer(module)
    bad = []
    for target, line in imports(source, module):
        if target.split(".")[0] in PACKAGES and layer(target) > own:
            bad.append(f"{module}:{line} imports {target} ({LAYERS[layer(target)][0]} is above "
                       f"{LAYERS[own][0]})")
    return bad


def sources() -> Iterator[tuple[Path, str]]:
    """Every first-party source file with its module name."""
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            yield path, module_name(path)


def test_no_import_runs_upward():
    bad = [b for path, module in sources() for b in upward(path.read_text(encoding="utf-8"), module)]
    assert not bad, "imports that run upward (move the code down, or the import up): " + "; ".join(bad)


def test_an_upward_import_is_caught():
    assert upward("def f():\n    from chainrule.cli import main\n", "verify.audit") == [
        "verify.audit:2 imports chainrule.cli (command line is above verify)"]
    assert upward("from derive.core import registry\n", "chainrule.kernels.numpy_kernels")
    assert not upward("from chainrule.errors import InputError\n", "verify.notes")


def test_every_module_has_a_layer():
    for _path, module in sources():
        layer(module)


def test_the_kernels_layer_imports_only_numpy_scipy_jax_and_the_standard_library():
    import sys

    for path, module in sources():
        if layer(module) == 0:
            for target, line in imports(path.read_text(encoding="utf-8"), module):
                top = target.split(".")[0]
                assert top in sys.stdlib_module_names or top in KERNEL_IMPORTS or top == "__future__", (
                    f"{module}:{line} imports {target}; the kernels must run without it")


def test_design_md_states_the_layer_order():
    order = " < ".join(name for name, _ in LAYERS)
    assert order in (REPO / "docs" / "DESIGN.md").read_text(encoding="utf-8"), f"say `{order}` in docs/DESIGN.md"
