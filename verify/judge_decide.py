"""Decide one relation between two resolved values: ``=`` by a normal form or exact random witnesses,
``\\approx`` as an expansion in the small quantities, ``a = b + O(g)``, orders, membership in a set, a value
against a written decimal, and vector or matrix equalities at random matrices.

Each ``decide_*`` returns (verdict, reason) or raises ``UndecidedError`` with the construct that stopped it;
nothing is "correct" that was not decided. ``verify.judge_link`` chooses which one a link needs.
"""

from __future__ import annotations

import random
import re

import sympy as sp
from sympy.core.function import AppliedUndef

from derive.proof import concrete_functions, symbolic_zero
from verify.catalog import BigO
from verify.latex_tokens import Decimal
from verify.matrices import (
    ShapeMismatchError,
    evaluate_at_random,
    has_matrices,
    is_bold,
    matrix_witness,
    random_value,
)
from verify.notation_nodes import Hadamard, Partial, Top
from verify.reasons import sides

ORDER = {"<": sp.Lt, r"\lt": sp.Lt, ">": sp.Gt, r"\gt": sp.Gt, r"\le": sp.Le, r"\leq": sp.Le, r"\leqslant": sp.Le,
         r"\ge": sp.Ge, r"\geq": sp.Ge, r"\geqslant": sp.Ge}
SUSPECT = re.compile(r"^Delta$|'|\\nabla|\\text|\\mathrm|\\operatorname|\\sum$|^\\?[fgh]\^\{\(")
POINTS = 4
SMALL = frozenset({"epsilon", "varepsilon", "delta", "h", "eta", "\\boldsymbol{\\epsilon}", "\\boldsymbol{\\delta}",
                   "\\mathbf{h}", "\\mathbf{v}"})
SEED = 0
SMALL_OPS = 12
ZERO_BELOW = sp.Float(10) ** -30


class UndecidedError(Exception):
    """The link cannot be decided; the message says which construct stopped it."""


class ConditionError(UndecidedError):
    """The link is a condition or an equation to solve, not a claim: it is recorded, like a definition."""


def _check_readable(*exprs: sp.Basic) -> None:
    """Refuse what the witnesses would misread: matrices, names with primes, unresolved operators."""
    for e in exprs:
        if not isinstance(e, sp.Expr):
            raise UndecidedError(f"{type(e).__name__} is not a value")
        if e.has(Partial, Top, Hadamard) or e.is_commutative is False:
            raise UndecidedError("a vector or matrix expression")
        bad = sorted(s.name for s in e.free_symbols if isinstance(s, sp.Symbol) and SUSPECT.search(s.name))
        if bad:
            raise UndecidedError(f"{bad[0]} is not defined")
        if e.has(sp.zoo, sp.nan):
            raise UndecidedError("an undefined value (such as log 0 or 0/0)")


def _sample(rng: random.Random, symbol: sp.Symbol) -> sp.Rational:
    """A witness value: a small positive integer for an index, else a positive rational in (0, 3]."""
    if symbol.is_integer:
        return sp.Integer(rng.randint(1, 4))
    q = rng.randint(7, 29)
    return sp.Rational(rng.randint(2, 3 * q), q)


def _point(exprs: list[sp.Basic], rng: random.Random) -> tuple[list[sp.Basic], dict[str, sp.Basic]]:
    """Evaluate expressions at one random point (functions as random cubics, then symbols, sums, entries)."""
    together = sp.Tuple(*exprs)
    chosen: dict[str, sp.Expr] = {}
    if together.atoms(AppliedUndef):
        together = concrete_functions(together, rng, chosen)
    labels = {x.base.label for x in together.atoms(sp.Indexed)}
    free = sorted((s for s in together.free_symbols if isinstance(s, sp.Symbol) and s not in labels),
                  key=sp.default_sort_key)
    values: dict[sp.Basic, sp.Basic] = {s: _sample(rng, s) for s in free}
    together = together.xreplace(values)
    if together.has(sp.Limit):
        together = together.replace(lambda e: isinstance(e, sp.Limit), _numeric_limit)
    together = together.doit()
    for _ in range(3):
        entries = sorted(together.atoms(sp.Indexed), key=sp.default_sort_key)
        if not entries:
            break
        more = {x: _sample(rng, sp.Symbol("v")) for x in entries}
        values.update(more)
        together = together.xreplace(more).doit()
    return list(together.args), {**chosen, **{str(k): v for k, v in values.items()}}


LIMIT_STEPS = (sp.Rational(1, 10**25), sp.Rational(1, 10**50))
LIMIT_DIGITS = 100
LIMIT_AGREE = sp.Float(10) ** -15


def _numeric_limit(lim: sp.Limit) -> sp.Basic:
    """A limit at a witness point, read off two tiny steps at 100 digits (agreeing to 1e-15), each side."""
    body, var, point, direction = lim.args
    if lim.free_symbols - {var} or not point.is_finite:
        raise UndecidedError("a limit the audit cannot evaluate at a point")
    body = body.doit()
    sides = (1, -1) if str(direction) == "+-" else ((1,) if str(direction) == "+" else (-1,))
    found = []
    for sign in sides:
        near, nearer = (body.evalf(LIMIT_DIGITS, subs={var: point + sign * step}) for step in LIMIT_STEPS)
        if not (near.is_real and nearer.is_real) or abs(near - nearer) > LIMIT_AGREE * max(1, abs(nearer)):
            raise UndecidedError("a limit that does not settle at the witness point")
        found.append(nearer)
    if len(found) == 2 and abs(found[0] - found[1]) > LIMIT_AGREE * max(1, abs(found[0])):
        raise UndecidedError("a limit whose two sides differ")
    return sp.Float(found[-1], 30)


def _number(value: sp.Basic) -> sp.Basic:
    """A value as a 50-digit number, or raise UndecidedError when it is not one."""
    if value.free_symbols or value.atoms(AppliedUndef):
        raise UndecidedError("free names remain after substitution")
    if value.has(sp.zoo, sp.nan):
        raise UndecidedError("an undefined value at a witness point")
    n = sp.N(value, 50)
    if not n.is_real and n.is_infinite is not True:
        raise UndecidedError("a value that is not a real number")
    return n


def _show(values: dict[str, sp.Basic]) -> str:
    """A witness point as ``x = 3/7, n = 2``."""
    return ", ".join(f"{k} = {v}" for k, v in sorted(values.items()))


def decide_equal(a: sp.Basic, b: sp.Basic) -> tuple[str, str]:
    """correct / error / unknown for ``a = b``, with the method or the counterexample."""
    if has_matrices(a) or has_matrices(b):
        return decide_matrices(a, b)
    _check_readable(a, b)
    diff = a - b
    if sp.count_ops(diff) <= SMALL_OPS and not diff.atoms(AppliedUndef) and not diff.has(sp.Derivative, sp.Subs):
        form = symbolic_zero(diff)
        if form is not None:
            return "correct", f"proven ({form})"
    try:
        return _witnesses(a, b)
    except UndecidedError:
        form = symbolic_zero(diff) if sp.count_ops(diff) > SMALL_OPS else None
        if form is not None:
            return "correct", f"proven ({form})"
        raise


def _witnesses(a: sp.Basic, b: sp.Basic) -> tuple[str, str]:
    """``a = b`` at random exact points: error at the first that differs, else correct."""
    rng = random.Random(SEED)
    for _ in range(POINTS):
        (va, vb), at = _point([a, b], rng)
        na, nb = _number(va), _number(vb)
        if na.is_infinite or nb.is_infinite:
            if na == nb:
                continue
            raise UndecidedError("an infinite value at a witness point")
        tolerance = LIMIT_AGREE * 10 if (a.has(sp.Limit) or b.has(sp.Limit)) else ZERO_BELOW
        if abs(na - nb) > tolerance * max(1, abs(na)):
            where = f"at {_show(at)}: " if at else ""
            return "error", sides(where, na, nb)
    if a.has(sp.Limit) or b.has(sp.Limit):
        return "correct", f"agrees at {POINTS} random points, its limit read to 15 digits at two tiny steps"
    return "correct", f"agrees at {POINTS} exact random points"


def _small(symbol: sp.Basic) -> bool:
    """Whether a name is conventionally a small quantity (epsilon, delta, h, eta, with any index; epsilon_i too)."""
    if isinstance(symbol, sp.Indexed):
        return str(symbol.base.label) in SMALL
    return isinstance(symbol, sp.Symbol) and re.sub(r"_.*$", "", symbol.name) in SMALL


SMALL_T = (sp.Rational(1, 10**12), sp.Rational(1, 10**24))


def _rest_at_zero(ratio: sp.Expr, t: sp.Symbol, bounded: bool = False) -> sp.Expr:
    """The limit of ``ratio`` as t -> 0+, read off two tiny exact points (60 digits): 0, a number, or unknown.
    With ``bounded``: True when the two values stay within a factor 10 of each other and below 10^6, False when
    the ratio grows like 1/t."""
    near, nearer = (ratio.evalf(60, subs={t: x}) for x in SMALL_T)
    if not (near.is_number and nearer.is_number and near.is_real and nearer.is_real):
        raise UndecidedError("an expansion the audit cannot evaluate")
    if bounded:
        if abs(nearer) < sp.Float(10) ** 6 and abs(nearer) <= 10 * max(abs(near), sp.Float(10) ** -9):
            return sp.true
        if abs(nearer) > sp.Float(10) ** 6 * max(abs(near), 1):
            return sp.false
        raise UndecidedError("a remainder whose size the audit cannot read")
    if abs(nearer) < sp.Float(10) ** -9 and abs(near) < sp.Float(10) ** -3:
        return sp.Integer(0)
    if abs(near - nearer) <= sp.Float(10) ** -6 * max(abs(near), 1):
        return nearer
    raise UndecidedError("an expansion whose limit the audit cannot read")


def _small_names(pair: sp.Basic) -> list[sp.Basic]:
    """The small quantities an expression names (epsilon, h, eta, and their entries epsilon_i), sorted."""
    return sorted({s for s in pair.free_symbols | pair.atoms(sp.Indexed) if _small(s)}, key=sp.default_sort_key)


def decide_approx(a: sp.Basic, b: sp.Basic, order: int | None = None) -> tuple[str, str]:
    """``a \\approx b`` as an expansion in the small quantities: with each small name set to c t (random c),
    a - b must vanish faster than the highest power of t that b keeps (a Taylor expansion to that order)."""
    pair = sp.Tuple(a, b)
    small = _small_names(pair)
    if not small:
        shift = _around_a_point(pair)
        if shift:
            return decide_approx(a.xreplace(shift), b.xreplace(shift), order)
        raise UndecidedError("an approximation between expressions with no small quantity (epsilon, h, eta)")
    rng = random.Random(SEED)
    t = sp.Symbol("t", positive=True)
    others: dict[sp.Symbol, sp.Basic] = {}
    if has_matrices(a) or has_matrices(b):
        scale = {s: random_value(s, rng) * t if is_bold(s) else _sample(rng, sp.Symbol("c")) * t for s in small}
        try:
            pa, pb = evaluate_at_random([a, b], rng, _sample, scale)
        except ShapeMismatchError as e:
            raise UndecidedError(f"a vector or matrix expression: {e}") from e
        if isinstance(pa, sp.MatrixBase) or isinstance(pb, sp.MatrixBase):
            raise UndecidedError("an approximation between vectors")
    else:
        _check_readable(a, b)
        if pair.has(sp.Sum):  # a sum over numbers first, so that each epsilon_i is its own small quantity
            pair = pair.replace(lambda e: isinstance(e, sp.Sum) and all(x.is_number for _, *ends in e.limits
                                                                         for x in ends), lambda e: e.doit())
            small = _small_names(pair)
        if pair.atoms(AppliedUndef):
            pair = concrete_functions(pair, rng)
        scale = {s: _sample(rng, sp.Symbol("c")) * t for s in small}
        labels = {x.base.label for x in pair.atoms(sp.Indexed)}
        rest_names = (pair.free_symbols - labels) | pair.atoms(sp.Indexed)
        others = {s: _sample(rng, s if isinstance(s, sp.Symbol) else sp.Symbol("v"))
                  for s in sorted(rest_names - set(small), key=sp.default_sort_key)
                  if isinstance(s, (sp.Symbol, sp.Indexed))}
        pa, pb = (x.xreplace(scale).xreplace(others).doit() for x in pair.args)
    if order is not None:  # a = b + O(t^order): the rest over t^order stays bounded
        bounded = _rest_at_zero((pa - pb) / t**order, t, bounded=True)
        at = ", ".join(f"{k} = {v}" for k, v in sorted((str(k), v) for k, v in others.items()))
        return ("correct", f"the rest is O(t^{order}) as stated") if bounded else (
            "error", f"{'at ' + at + ': ' if at else ''}the rest is larger than the O(t^{order}) the statement allows")
    try:
        order = sp.Poly(sp.expand(pb), t).degree()
    except sp.PolynomialError:
        order = 0
    rest: sp.Basic = sp.nan
    for k in sorted({order, min(order, 1)}, reverse=True):
        try:
            rest = _rest_at_zero((pa - pb) / t**k, t)
        except UndecidedError:
            continue  # diverges at this order: try the lower one
        if rest == 0:
            return "correct", f"the difference vanishes faster than the order-{k} term"
    order = min(order, 1)
    if rest.is_number and rest.is_finite:
        at = ", ".join(f"{k} = {v}" for k, v in sorted((str(k), v) for k, v in others.items()))
        return "error", (f"at {at}: the difference is {sp.N(rest, 8)} times the order-{order} term, not smaller"
                         if at else f"the difference is {sp.N(rest, 8)} times the order-{order} term")
    raise UndecidedError("an expansion SymPy cannot take")


def _around_a_point(pair: sp.Basic) -> dict[sp.Symbol, sp.Basic]:
    """``f(x) \\approx f(x_0) + ...``: write x as x_0 + h (h small) for each x that has its x_0 beside it."""
    names = {s.name: s for s in pair.free_symbols if isinstance(s, sp.Symbol)}
    out = {}
    for name, s in names.items():
        center = names.get(f"{name}_0") or names.get(f"{name}_{{0}}")
        if center is not None and s.is_commutative:
            out[s] = center + sp.Symbol(f"h_{{{name}}}")
    return out


def decide_matrices(a: sp.Basic, b: sp.Basic) -> tuple[str, str]:
    """A vector or matrix equality, at random matrices (shapes that do not fit are unknown, never an error)."""
    bad = sorted(s.name for s in sp.Tuple(a, b).free_symbols if isinstance(s, sp.Symbol) and SUSPECT.search(s.name))
    if bad:
        raise UndecidedError(f"{bad[0]} is not defined")
    if sp.Tuple(a, b).has(sp.Product, sp.Limit):
        raise UndecidedError("a vector expression mixed with products or limits")
    try:
        same, detail = matrix_witness(a, b, POINTS, SEED, _sample)
    except ShapeMismatchError as e:
        raise UndecidedError(f"a vector or matrix expression: {e}") from e
    if same:
        return "correct", detail
    if detail.startswith("the sides have shapes"):
        raise UndecidedError(detail)
    if a == 0 or b == 0:
        raise ConditionError("a vector equation set to zero: a condition to solve, not an identity")
    return "error", detail


def decide_remainder(a: sp.Basic, b: sp.Basic) -> tuple[str, str]:
    """``a = b + O(g)``: with each small name set to c t, (a - b) / t^k must stay bounded, k the order of g."""
    remainders = [o for side in (a, b) for o in side.atoms(BigO)]
    small = sorted({s for o in remainders for s in o.free_symbols if _small(s)}, key=sp.default_sort_key)
    if len(remainders) != 1 or not small:
        raise UndecidedError("a remainder O(.) without one small quantity")
    t = sp.Symbol("t", positive=True)
    scaled = remainders[0].args[0].xreplace({s: t for s in small})
    try:
        order = sp.Poly(sp.expand(scaled), t).monoms()[-1][0]  # the lowest power of the small quantity in g
    except (sp.PolynomialError, IndexError) as e:
        raise UndecidedError("a remainder O(.) whose order the audit cannot read") from e
    a0, b0 = (side.xreplace({remainders[0]: sp.Integer(0)}) for side in (a, b))
    return decide_approx(a0, b0, order=order)


def decide_order(a: sp.Basic, b: sp.Basic, relation: str) -> tuple[str, str]:
    """An inequality: decided on numbers; with free names, correct only if every witness holds."""
    _check_readable(a, b)
    rel = ORDER[relation]
    if not (a.free_symbols or b.free_symbols or a.atoms(AppliedUndef) or b.atoms(AppliedUndef)):
        holds = rel(_number(a), _number(b))
        if holds is sp.true:
            return "correct", "decided on the exact values"
        if holds is sp.false:
            return "error", sides("", a, b)
        raise UndecidedError("an order between values SymPy cannot compare")
    rng = random.Random(SEED)
    for _ in range(POINTS * 2):
        (va, vb), _at = _point([a, b], rng)
        if rel(_number(va), _number(vb)) is not sp.true:
            raise UndecidedError("holds only under conditions the statement does not write")
    return "correct", f"holds at {POINTS * 2} exact random points"


def decide_numeral(value: sp.Basic, number: Decimal, relation: str) -> tuple[str, str]:
    """A value against a written decimal, at the decimal's precision (``\\approx`` allows one more unit)."""
    _check_readable(value)
    if value.free_symbols or value.atoms(AppliedUndef):
        raise UndecidedError("the other side is not a number")
    n = _number(value)
    shown = fixed(n, number.places)
    if rounds_to(n, number):
        return "correct", f"exact value {sp.N(n, 10)} rounds to {shown}"
    unit = sp.Rational(1, 10**number.places)
    slip = abs(n - number.value) <= unit * (2 if relation == r"\approx" else 1) and number.places >= 2
    if slip and abs(number.value) > 2 * unit:  # one digit off, not a value of another magnitude (1e-13 for 1e-14)
        return "warning", f"written {number.text}, the exact value rounds to {shown} (a rounding slip)"
    return "error", f"written {number.text}, the exact value {sp.N(n, 10)} rounds to {shown}"


def rounds_to(value: sp.Expr, number: Decimal) -> bool:
    """Whether ``value`` lies within half a unit of the written number's last place."""
    half = sp.Rational(1, 2 * 10**number.places)
    return bool(abs(value - number.value) <= half + sp.Float(10) ** -45)


def fixed(value: sp.Expr, places: int) -> str:
    """``value`` rounded half away from zero to ``places`` decimals, as text."""
    v = sp.N(value, 50)
    if not v.is_real:
        return sp.sstr(v)
    scaled = abs(v) * 10**places
    units = int(sp.floor(scaled + sp.Rational(1, 2)))
    sign = "-" if v < 0 and units else ""
    digits = str(units).rjust(places + 1, "0")
    return f"{sign}{digits[:-places]}.{digits[-places:]}" if places else f"{sign}{digits}"


def decide_member_of(a: sp.Basic, s: sp.Set) -> tuple[str, str]:
    """``a \\in S`` for a number, or for an expression at random witnesses."""
    _check_readable(a)
    rng = random.Random(SEED)
    for _ in range(POINTS * 2):
        (va,), _at = _point([a], rng)
        inside = s.contains(_number(va))
        if inside is sp.false and not (a.free_symbols or a.atoms(AppliedUndef)):
            return "error", f"{sp.N(va, 8)} is not in {s}"
        if inside is not sp.true:
            raise UndecidedError("membership holds only under conditions the statement does not write")
    return "correct", "every witness lies in the set"
