"""The claims the audit looks for: the registry's located formulas, example quantities and definitions.

Also each record's derivation, computed once per process (a record whose derivation raises is reported, not
fatal).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import sympy as sp

from derive.core import Definition, Derivation, Example, Formula, Locator, Quantity, Step, registry


@dataclass(frozen=True)
class Claim:
    """A registry record with a locator: a formula, or one quantity of a worked example."""

    key: str
    locator: Locator
    formula: Formula | None = None
    quantity: Quantity | None = None
    example: Example | None = None
    definition: Definition | None = None


def claims() -> list[Claim]:
    """Every formula and example quantity of the registry that says where the notes state it."""
    reg = registry()
    out = [Claim(f.key, f.locator, formula=f) for f in reg.formulas if f.locator is not None]
    out += [Claim(f"{e.key}.{q.name}", q.locator, quantity=q, example=e)
            for e in reg.examples for q in e.quantities if q.locator is not None]
    out += [Claim(d.key, d.locator, formula=as_formula(d), definition=d) for d in reg.definitions]
    return out


def as_formula(d: Definition) -> Formula:
    """A definition as a formula record whose "derivation" is the definition itself (for reading and comparing)."""
    step = Step(f"definition ({d.source})" if d.source else "definition", d.expr)
    return Formula(key=d.key, section=d.section, title=d.title, assumptions=(), definition=d.expr,
                   derive=lambda: Derivation(d.expr, (step,)), stated=d.expr, locator=d.locator,
                   variables=tuple(sorted(d.expr.free_symbols, key=str)), domain=d.domain,
                   notation=d.notation)


def unlocated() -> int:
    """How many records carry no locator (they cannot be audited)."""
    reg = registry()
    return (sum(f.locator is None for f in reg.formulas)
            + sum(q.locator is None for e in reg.examples for q in e.quantities))


def notation_of(claim: Claim) -> Mapping[str, sp.Basic]:
    """The notes' names for the claim's symbols: its formula's or definition's ``notation`` (none for a quantity)."""
    return claim.formula.notation if claim.formula is not None else {}


_DERIVED: dict[str, sp.Basic] = {}


class DerivationError(Exception):
    """A record's derivation raised; the audit reports it for that claim instead of stopping."""


def derived(formula: Formula) -> sp.Basic:
    """The formula's derivation result, computed once per process."""
    if formula.key not in _DERIVED:
        try:
            _DERIVED[formula.key] = formula.derive().result
        except Exception as e:  # a bug in one record must not hide the verdicts on all the others
            raise DerivationError(f"derivation of {formula.key!r} failed: {type(e).__name__}: {e}") from e
    return _DERIVED[formula.key]


def _rhs(value: sp.Basic) -> sp.Basic:
    """The right-hand side of an equation, or the value itself."""
    return value.rhs if isinstance(value, sp.Equality) else value
