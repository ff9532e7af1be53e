"""Decide relations other than equality: an order between two expressions, a set's bounds, membership.

An order ``left < right`` is decided like an equality's witnesses (``derive.proof``): the difference is
evaluated at random rational points of the record's domain, on each of its regions, to 50 digits. Every
point must satisfy it (``agrees``), or for a claim about *some* values, every point of at least one region.
A set is compared with a number by its supremum (``<``, ``\\le``) or infimum (``>``, ``\\ge``), and a
value's membership is decided by SymPy's ``Set.contains``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import sympy as sp

from derive.core import Region
from derive.functions import unfold
from derive.proof import DIGITS, ZERO_BELOW, Proof, witness

#: How the value d = left - right at one point decides each relation (subject first, as ``verify.matching`` writes it).
DIFFERENCE_TESTS: dict[str, Callable[[sp.Expr], bool]] = {
    "=": lambda d: bool(abs(d) < ZERO_BELOW),
    "<": lambda d: bool(d < 0),
    ">": lambda d: bool(d > 0),
    r"\le": lambda d: bool(d <= ZERO_BELOW),
    r"\ge": lambda d: bool(d >= -ZERO_BELOW),
}
#: The bound of a set that an order relation with a number compares (its name, and how to take it): below a
#: number means its supremum is.
SET_BOUNDS: dict[str, tuple[str, Callable[[sp.Set], sp.Expr]]] = {
    "<": ("supremum", lambda s: s.sup), r"\le": ("supremum", lambda s: s.sup),
    ">": ("infimum", lambda s: s.inf), r"\ge": ("infimum", lambda s: s.inf),
}
#: Membership of the value read in the set derived: ``S \\ni v`` holds when v is in S.
MEMBERSHIP: dict[str, bool] = {r"\ni": True, r"\not\ni": False}
ORDERS: dict[str, Callable[[sp.Expr, sp.Expr], sp.Basic]] = {"<": sp.Lt, ">": sp.Gt, r"\le": sp.Le, r"\ge": sp.Ge}


def _holds(relation: str) -> Callable[[sp.Expr], bool | None]:
    """Whether a value d = left - right satisfies ``relation`` (None: d is not a real number)."""
    def test(value: sp.Expr) -> bool | None:
        number = sp.N(value, DIGITS)
        return DIFFERENCE_TESTS[relation](number) if number.is_real else None
    return test


def check_order(left: sp.Expr, relation: str, right: sp.Expr, domain: Mapping[str, tuple[float, float]],
                regions: Iterable[Region] = (), some: bool = False, points: int = 8, seed: int = 0) -> Proof:
    """Decide ``left REL right`` at random points of every region (``some``: of at least one region)."""
    if relation not in DIFFERENCE_TESTS:
        return Proof("unknown", f"no test for the relation {relation}", 0)
    parts = list(regions) or [Region("everywhere", {}, {})]
    checked, missed = 0, []
    difference = unfold(sp.sympify(left) - sp.sympify(right))
    for region in parts:
        diff = difference.xreplace(dict(region.subs))
        good, counter = witness(diff, {**domain, **region.domain}, points, seed, _holds(relation),
                                "left - right = {} at a random point")
        if counter.startswith("could not"):
            return Proof("unknown", "no witness", good, f"{region.name}: {counter}")
        if some and not counter:
            return Proof("agrees", f"{region.name}: holds at {good} random points", good)
        if not some and counter:
            return Proof("refuted", "evaluation at random rational points", good, f"{region.name}: {counter}")
        checked += good
        missed.append(f"{region.name}: {counter}")
    if some:
        return Proof("refuted", "evaluation at random rational points", 0,
                     "holds on no region: " + "; ".join(missed))
    return Proof("agrees", f"holds at {checked} random rational points, {DIGITS} digits", checked)


def check_set(derived: sp.Set, relation: str, value: sp.Expr) -> Proof:
    """Decide ``derived REL value`` for a set: membership (``\\ni``), or its supremum or infimum against a number."""
    if relation in MEMBERSHIP:
        inside = derived.contains(value)
        if inside not in (sp.true, sp.false):
            return Proof("unknown", "membership undecided", 0, f"{value} in {derived}: {inside}")
        holds = bool(inside) == MEMBERSHIP[relation]
        detail = f"{value} {'is' if bool(inside) else 'is not'} in the derived set {derived}"
        return Proof("proven" if holds else "refuted", "set membership", 0, "" if holds else detail)
    if relation not in SET_BOUNDS:
        return Proof("unknown", f"no set test for the relation {relation}", 0)
    which, take = SET_BOUNDS[relation]
    bound = take(derived)
    truth = ORDERS[relation](bound, value)
    if truth not in (sp.true, sp.false):
        return Proof("unknown", "bound comparison undecided", 0, f"{bound} vs {value}")
    method = f"the derived set's {which} is {bound}"
    return Proof("proven" if truth else "refuted", method, 0, "" if truth else f"{method}, not {relation} {value}")


__all__: Iterable[str] = ("DIFFERENCE_TESTS", "MEMBERSHIP", "SET_BOUNDS", "check_order", "check_set")
