"""Recompute every worked example of the registry, exactly and with each generated backend.

A ``Quantity.expr`` may use the example's inputs (by symbol name: ``Symbol("b")``,
``MatrixSymbol("w", 2, 1)``), earlier quantities of the same example (``Symbol("z")``) and
kernels (``sigmoid(...)``, which must be listed in ``Example.kernels_used``). The exact value comes
from SymPy at 30 digits; each backend value from ``lambdify`` of the same expression with the
kernel names bound to that backend's generated kernels. Only registry expressions are evaluated,
never notes text. A stated value is judged at the precision it is written with ("0.2689": 4 decimals).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

import jax
import numpy as np
import sympy as sp

from chainrule.codegen import load_backend
from derive.core import Example, Quantity, registry
from derive.functions import Defined, unfold

Verdict = Literal["correct", "error"]
EXACT_DIGITS = 30
BACKENDS: tuple[str, ...] = ("numpy", "jax")
_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


class ExampleError(ValueError):
    """An example record cannot be evaluated (unknown symbol, undeclared kernel, malformed stated value)."""


@dataclass(frozen=True)
class QuantityCheck:
    """One stated number of a worked example, recomputed exactly and by each backend, and the verdict."""

    example: str
    quantity: str
    stated: str
    exact: float
    numpy: float
    jax: float
    decimals: int
    verdict: Verdict
    detail: str = ""


def stated_decimals(stated: str) -> int:
    """The number of decimals a stated value is written with: "0.2689" -> 4, "-1.0" -> 1, "3" -> 0."""
    text = stated.strip().replace("\u2212", "-")
    if not _DECIMAL.match(text):
        raise ExampleError(f"stated value {stated!r} is not a decimal number; fix the Quantity's stated string")
    exponent = Decimal(text).as_tuple().exponent
    return max(0, -int(exponent))


def agrees(value: float | sp.Expr, stated: str, decimals: int) -> bool:
    """True when ``value`` rounds to ``stated`` at ``decimals`` (within half a unit of the last place)."""
    v = Decimal(str(sp.N(value, EXACT_DIGITS))) if isinstance(value, sp.Basic) else Decimal(repr(float(value)))
    target = Decimal(stated.strip().replace("\u2212", "-"))
    return abs(v - target) <= Decimal(5) / Decimal(10) ** (decimals + 1)


def _kernel_functions(example: Example, expr: sp.Expr) -> list[str]:
    """Names of the kernels ``expr`` calls; each must be declared in ``example.kernels_used``."""
    known = {k.name for k in registry().kernels()}
    names = sorted({type(f).__name__ for f in expr.atoms(sp.Function) if type(f).__name__ in known})
    undeclared = [n for n in names if n not in example.kernels_used]
    if undeclared:
        raise ExampleError(f"example {example.key!r} uses kernels {undeclared} not in kernels_used; add them")
    others = [f for f in expr.atoms(sp.Function) if isinstance(f, sp.core.function.AppliedUndef)
              and type(f).__name__ not in known]
    if others:
        raise ExampleError(f"example {example.key!r}: {others} are neither kernels nor SymPy functions")
    return names


def _exact_bindings(example: Example, exact: Mapping[str, sp.Expr], expr: sp.Expr) -> dict[sp.Basic, sp.Basic]:
    """Each free symbol of ``expr`` bound to the example input or earlier quantity of the same name."""
    values = {**example.inputs, **exact}
    out = {}
    for s in expr.free_symbols:
        if s.name not in values:
            raise ExampleError(f"example {example.key!r}: symbol {s.name!r} is neither an input nor an earlier "
                               f"quantity; known: {sorted(values)}")
        out[s] = sp.ImmutableMatrix(values[s.name]) if isinstance(values[s.name], sp.MatrixBase) else values[s.name]
    return out


def exact_value(example: Example, quantity: Quantity, exact: Mapping[str, sp.Expr],
                expr: sp.Expr | None = None) -> sp.Expr:
    """The quantity's value from its expression (or ``expr``) with inputs and earlier quantities substituted."""
    e = quantity.expr if expr is None else expr
    value = unfold(e.xreplace(_exact_bindings(example, exact, e)).doit())
    if isinstance(value, sp.MatrixBase):
        if value.shape != (1, 1):
            raise ExampleError(f"quantity {quantity.name!r} of {example.key!r} is a {value.shape} matrix, not a number")
        value = value[0, 0]
    if value.free_symbols:
        raise ExampleError(f"quantity {quantity.name!r} of {example.key!r} keeps symbols {value.free_symbols}")
    return value


@contextlib.contextmanager
def _float64(backend: str) -> Iterator[None]:
    """Evaluate JAX in float64 inside the block."""
    if backend == "jax":
        with jax.enable_x64(True):
            yield
    else:
        yield


def backend_value(example: Example, quantity: Quantity, backend: str, earlier: Mapping[str, float]) -> float:
    """The quantity evaluated by ``backend``: kernels bound to its generated functions, inputs as float64 arrays."""
    module = load_backend(backend)
    names = _kernel_functions(example, quantity.expr)
    kernels: dict[str, Callable[..., object]] = {n: getattr(module, n) for n in names}
    expr = quantity.expr.replace(lambda e: isinstance(e, Defined) and type(e).__name__ not in kernels,
                                 lambda e: type(e).definition(*e.args))
    symbols = sorted(expr.free_symbols, key=lambda s: s.name)
    values = {**example.inputs, **earlier}
    missing = [s.name for s in symbols if s.name not in values]
    if missing:
        raise ExampleError(f"example {example.key!r}: symbols {missing} are neither inputs nor earlier quantities")
    args = [np.asarray(np.array(values[s.name].tolist(), dtype=np.float64) if isinstance(values[s.name], sp.MatrixBase)
                       else float(values[s.name]), dtype=np.float64) for s in symbols]
    fn = sp.lambdify(symbols, expr, modules=[kernels, backend])
    with _float64(backend):
        result = np.asarray(fn(*args), dtype=np.float64)
    if result.size != 1:
        raise ExampleError(f"quantity {quantity.name!r} of {example.key!r} gives shape {result.shape}, not a number")
    return float(result.reshape(()))


def check_example(example: Example) -> list[QuantityCheck]:
    """Recompute the quantities of one example, in order; quantities with no stated value are skipped."""
    exact: dict[str, sp.Expr] = {}
    earlier: dict[str, dict[str, float]] = {b: {} for b in BACKENDS}
    checks = []
    for q in example.quantities:
        value = exact_value(example, q, exact)
        exact[q.name] = value
        got = {}
        for b in BACKENDS:
            got[b] = backend_value(example, q, b, earlier[b])
            earlier[b][q.name] = got[b]
        if q.stated is None:
            continue
        decimals = stated_decimals(q.stated)
        misses = [name for name, v in (("exact", value), *got.items()) if not agrees(v, q.stated, decimals)]
        verdict: Verdict = "error" if misses else "correct"
        detail = f"{', '.join(misses)} do not round to {q.stated}" if misses else ""
        if misses and q.rounded_expr is not None:
            rounded = exact_value(example, q, exact, q.rounded_expr)
            if agrees(rounded, q.stated, decimals):
                verdict, detail = "correct", (f"the exact value {sp.N(value, 8)} does not round to {q.stated}; the "
                                              f"arithmetic of the notes, with the rounded numbers they print, gives "
                                              f"{sp.N(rounded, 8)}")
        checks.append(QuantityCheck(example.key, q.name, q.stated, float(value), got["numpy"], got["jax"],
                                    decimals, verdict, detail))
    return checks


def check_examples(examples: Iterable[Example] | None = None) -> list[QuantityCheck]:
    """Recompute every example of the registry (or the given ones)."""
    return [c for e in (registry().examples if examples is None else examples) for c in check_example(e)]
