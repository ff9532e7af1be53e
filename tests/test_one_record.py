"""Adding a kernel touches one record: every layer finds what it needs in the Formula and its Kernel.

The record below is declared here, not in derive/, and added to a copy of the registry. The layers
that act on records (generate, prove, tolerances, benchmark) are run on that registry unchanged, and
each must find the kernel's signature, proof reference, error scale and benchmark row in the record.
A second test fails when a table keyed by kernel names comes back beside the records.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from chainrule import codegen
from derive import core
from derive.arrays import Count, RSum
from derive.core import Bench, Derivation, Formula, FormulaReference, Kernel, Registry, Sample, registry
from verify import benchmarks, tolerances

REPO = Path(__file__).resolve().parents[1]

x, g = sp.Symbol("x", real=True), sp.Symbol("g", real=True)
xv, gv = sp.IndexedBase("x"), sp.IndexedBase("g")
i, k, n = sp.Symbol("i", integer=True), sp.Symbol("k", integer=True), sp.Symbol("n", integer=True, positive=True)
CENTRED = sp.Sum(gv[k] * (xv[k] - sp.Sum(xv[i], (i, 1, n)) / n), (k, 1, n))
DOMAIN = {"x": (-3.0, 3.0), "g": (-3.0, 3.0)}

#: The one record a new kernel needs: its formula, and in its Kernel every fact the later layers read.
NEW = Formula(
    key="centred_linear_loss", section="test", title="A linear loss of centred inputs: sum_k g_k (x_k - mean x)",
    assumptions=("n >= 1 entries, symbolic",), definition=CENTRED,
    derive=lambda: Derivation(CENTRED, ()), stated=None, locator=None, variables=(xv, gv), domain=DOMAIN,
    kernels=(Kernel("centred_linear_loss", (x, g), RSum(g * x) - RSum(g) * RSum(x) / Count(x), DOMAIN,
                    shape="vector", rewrite="sum g (x - mean x) = sum g x - (sum g)(sum x)/n",
                    signature="(n),(n)->()",
                    reference=FormulaReference("centred_linear_loss", "definition"),
                    error_scale="norm_sum",
                    bench=Bench((Sample("uniform", (-3.0, 3.0)), Sample("uniform", (-3.0, 3.0))),
                                "lambda x, g: np.sum(g * (x - x.mean(-1, keepdims=True)), axis=-1)")),),
)
KERNEL = NEW.kernels[0]


def _clear_codegen_caches() -> None:
    """Forget what codegen computed per kernel name for the registry of this process."""
    for cached in (codegen._signature, codegen._registry_source, codegen._registry_proof):
        cached.cache_clear()


@pytest.fixture
def with_new_record(monkeypatch: pytest.MonkeyPatch) -> Iterator[Registry]:
    """The registry with NEW appended, seen by every layer (codegen's and the benchmark's lookups)."""
    base = registry()
    extended = dataclasses.replace(base, formulas=(*base.formulas, NEW))
    monkeypatch.setattr(core, "registry", lambda: extended)
    monkeypatch.setattr(codegen, "registry", lambda: extended)
    _clear_codegen_caches()
    yield extended
    _clear_codegen_caches()


def test_codegen_reads_the_signature_from_the_record(with_new_record: Registry) -> None:
    assert codegen.signature(KERNEL).text() == "(n),(n)->()"


def test_the_kernel_is_proven_against_the_reference_its_record_names(with_new_record: Registry) -> None:
    proofs = dict(codegen.prove_kernels())
    assert proofs["centred_linear_loss"].verdict == "agrees"
    assert "the definition of centred_linear_loss" in proofs["centred_linear_loss"].method


def test_the_generated_kernel_computes_what_the_records_bench_reference_computes(with_new_record: Registry) -> None:
    namespace: dict[str, object] = {}
    exec(compile(codegen.render_module("numpy"), "<generated numpy>", "exec"), namespace)  # noqa: S102
    rng = np.random.default_rng(0)
    xs, gs = rng.uniform(-3.0, 3.0, (4, 7)), rng.uniform(-3.0, 3.0, (4, 7))
    row = benchmarks.reference(KERNEL)
    assert row is not None and [r.kernel for r in benchmarks.references()][-1] == "centred_linear_loss"
    np.testing.assert_allclose(namespace["centred_linear_loss"](xs, gs), row.numpy(xs, gs), rtol=1e-12, atol=1e-12)


def test_the_tolerance_is_scaled_by_the_rule_the_record_names() -> None:
    xs, gs = np.zeros((2, 4)), np.array([[1.0, 0.0, 0.0, 0.0], [100.0, 0.0, 0.0, 0.0]])
    assert np.allclose(tolerances.error_scale(KERNEL, {"x": xs, "g": gs}), [8.0, 800.0])  # n^1.5 max|g|
    assert tolerances.error_scale(dataclasses.replace(KERNEL, error_scale=""), {"x": xs, "g": gs}) == 1.0


def test_an_unknown_error_scale_rule_says_where_to_fix_it() -> None:
    with pytest.raises(KeyError, match="ERROR_SCALE_RULES"):
        tolerances.error_scale(dataclasses.replace(KERNEL, error_scale="no_such_rule"), {})


# --- no side tables -----------------------------------------------------------------------------------------

#: Module-level tables still keyed by record keys or kernel names, each acted on by its own layer. Adding a
#: kernel or a record needs none of them; a new entry here needs a reason (and a line in docs/DESIGN.md).
KNOWN_RECORD_TABLES: frozenset[str] = frozenset()

#: The record types of derive/core.py: a tuple of them (``FORMULAS``, ``DEFINITIONS``) is the registry itself.
RECORD_TYPES = frozenset({"Formula", "Definition", "Example", "Quantity", "Kernel"})


def _strings(node: ast.expr) -> list[str]:
    """The string constants of a tuple, list or set literal."""
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    return []


def _keys(value: ast.expr | None) -> list[str]:
    """The string keys of a table literal.

    A dict literal's keys; a dict comprehension's over a literal (``{key: ... for key in ("a", "b")}``); or
    the leading string arguments of a tuple of rows ``Row("name", ...)`` other than the records themselves.
    """
    if isinstance(value, ast.Dict):
        return [key.value for key in value.keys if isinstance(key, ast.Constant) and isinstance(key.value, str)]
    if isinstance(value, ast.DictComp):
        return [key for generator in value.generators for key in _strings(generator.iter)]
    if isinstance(value, ast.Tuple):
        return [row.args[0].value for row in value.elts if isinstance(row, ast.Call) and row.args
                and isinstance(row.args[0], ast.Constant) and isinstance(row.args[0].value, str)
                and not (isinstance(row.func, ast.Name) and row.func.id in RECORD_TYPES)]
    return []


def _module_tables(path: Path) -> Iterator[tuple[str, list[str]]]:
    """(name, keys) for each module-level table assigned in ``path``, its ``NAME["key"] = ...`` entries included."""
    tables: dict[str, list[str]] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, ast.AnnAssign) else []
        keys = _keys(getattr(node, "value", None))
        for target in targets:
            if isinstance(target, ast.Name) and keys:
                tables.setdefault(target.id, []).extend(keys)
            elif (isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name)
                  and isinstance(target.slice, ast.Constant) and isinstance(target.slice.value, str)):
                tables.setdefault(target.value.id, []).append(target.slice.value)
    yield from tables.items()


def _side_tables(names: set[str], root: Path = REPO) -> list[str]:
    """'path:NAME' for each module-level table in the source packages whose keys are mostly in ``names``."""
    found = []
    for package in ("derive", "chainrule", "verify", "reports"):
        for path in sorted((root / package).rglob("*.py")):
            if "kernels" in path.relative_to(root).parts:
                continue
            for name, keys in _module_tables(path):
                hits = [key for key in keys if key in names]
                if hits and 2 * len(hits) >= len(keys):
                    found.append(f"{path.relative_to(root).as_posix()}:{name}")
    return found


def _record_keys() -> set[str]:
    """Every record's key: formulas, definitions, worked examples."""
    reg = registry()
    return {f.key for f in reg.formulas} | {d.key for d in reg.definitions} | {e.key for e in reg.examples}


def test_no_module_level_table_is_keyed_by_kernel_names() -> None:
    kernels = {kernel.name for kernel in registry().kernels()}
    found = [t for t in _side_tables(kernels) if t not in KNOWN_RECORD_TABLES]
    assert found == [], (f"tables keyed by kernel names: {found}; declare the fact as a field of the Kernel "
                         "record in derive/ (see docs/DESIGN.md, 'One record per formula')")


def test_no_module_level_table_is_keyed_by_record_keys() -> None:
    found = [t for t in _side_tables(_record_keys()) if t not in KNOWN_RECORD_TABLES]
    assert found == [], (f"tables keyed by record keys: {found}; declare the fact as a field of the Formula, "
                         "Definition or Example record in derive/, or key a layer's own rule by what it does "
                         "(see docs/DESIGN.md, 'One record per formula')")


def test_the_side_table_scan_finds_a_table_keyed_by_kernel_names(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text('SCALES: dict[str, float] = {"sigmoid": 1.0, "tanh": 2.0}\nOTHER = {"a": 1}\n'
                    'ROWS = (Row("relu", 1), Row("gelu", 2))\n', encoding="utf-8")
    assert list(_module_tables(path)) == [("SCALES", ["sigmoid", "tanh"]), ("OTHER", ["a"]), ("ROWS", ["relu", "gelu"])]


def test_the_side_table_scan_finds_comprehensions_and_entries_set_one_by_one(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text('NOTES = {key: 1 for key in ("gd_table", "l2_gradient")}\nNOTES["relu_variance"] = 2\n'
                    'EXTRA: dict[str, int] = {}\nEXTRA["backprop_221"] = 3\n', encoding="utf-8")
    assert list(_module_tables(path)) == [("NOTES", ["gd_table", "l2_gradient", "relu_variance"]),
                                          ("EXTRA", ["backprop_221"])]


def test_the_side_table_scan_passes_the_records_themselves_and_finds_a_table_beside_them(tmp_path: Path) -> None:
    (tmp_path / "derive").mkdir()
    (tmp_path / "derive" / "m.py").write_text(
        'DEFINITIONS = (Definition("softmax_definition", "1.2"), Definition("ce_definition", "1.3"))\n'
        'FIXES = {"relu_variance": ("halves the variance", "halves the second moment")}\n', encoding="utf-8")
    assert _side_tables(_record_keys(), tmp_path) == ["derive/m.py:FIXES"]
