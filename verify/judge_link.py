"""The decision for one parsed link: what kind of claim it is, and which decision it needs.

A definition (a name without a value, a recurrence, a declaration, an assumption on a new name), a
condition rather than a claim, a membership, a shape of a derivative, an entrywise comparison of written
vectors, or a relation handed to ``verify.judge_decide`` once both sides are resolved
(``verify.judge_resolve``). ``verify.judge`` runs it for every link, inside the budget.
"""

from __future__ import annotations

import re

import sympy as sp
from sympy.core.function import AppliedUndef

from verify.catalog import BigO
from verify.judge_decide import (
    ORDER,
    ConditionError,
    UndecidedError,
    _number,
    _small,
    decide_approx,
    decide_equal,
    decide_member_of,
    decide_numeral,
    decide_order,
    decide_remainder,
    fixed,
)
from verify.judge_resolve import Reading, _names, resolve, unify_entries
from verify.latex_tokens import decimal
from verify.matrices import has_matrices
from verify.notation_nodes import Partial, ProbabilityOf
from verify.reasons import Sides
from verify.scope import definable, head_name

EQUALITIES = frozenset({"=", r"\equiv", r"\doteq"})
ALWAYS_DEFINES = frozenset({":=", r"\coloneqq", r"\triangleq", r"\leftarrow", r"\mapsto", r"\sim"})
UNEQUAL = frozenset({r"\neq", r"\ne"})
INDEX_LETTERS = frozenset("ijklmnabpqrst")


def _link(a: sp.Basic, b: sp.Basic, relation: str, reading: Reading, cue: bool,
          right_text: str) -> tuple[str, str, str | None]:
    """The decision for one parsed link (may raise UndecidedError or TooLargeError)."""
    scope = reading.scope
    if relation in EQUALITIES and isinstance(a, ProbabilityOf) and definable(a.args[0]):
        scope.give_mass(head_name(a.args[0]), a.args[1], b)
        return "definition", f"gives the probability that {head_name(a.args[0])} takes a value", None
    if (relation in EQUALITIES and isinstance(a, AppliedUndef) and scope.has_value(head_name(a)) and definable(a)
            and isinstance(b, sp.Expr) and b.is_number):
        raise UndecidedError(f"a value of {head_name(a)} at a point the formula does not write")
    if (relation in EQUALITIES and isinstance(a, sp.Symbol) and isinstance(b, sp.Symbol)
            and (not cue or {a.name, b.name} <= INDEX_LETTERS)
            and a.is_commutative and b.is_commutative and not scope.has_value(b.name)):
        raise ConditionError("an equation between two names is a condition, not a claim")  # "one when i = k"
    # f(x) = <an expression without f> redefines f; x = <a number> gives x a value: both shadow what came before
    redefines = ((isinstance(a, AppliedUndef) and head_name(a) not in _names(b) and not b.has(Partial)
                  and bool(b.free_symbols))
                 or (isinstance(a, sp.Symbol) and isinstance(b, sp.Expr) and b.is_number is True))
    if relation in EQUALITIES and isinstance(a, AppliedUndef) and _recurrence(a, b):
        scope.declare(head_name(a))
        return "definition", f"a recurrence for {head_name(a)}: recorded, not substituted", None
    new_entry = isinstance(a, sp.Indexed) and scope.entry(head_name(a)) is None  # eta_i beside a plain eta
    if relation in ALWAYS_DEFINES or (relation in EQUALITIES and definable(a)
                                      and (cue or redefines or new_entry or not scope.has_value(head_name(a)))):
        if definable(a):
            scope.define(a, b)
            return "definition", f"defines {head_name(a)}", None
        if relation in ALWAYS_DEFINES:
            return "definition", "an update or a distribution", None
    if relation in {r"\in", r"\notin"}:
        return _membership(a, b, relation, reading)
    bound = next((x for x, y in ((a, b), (b, a)) if definable(x) and not scope.has_value(head_name(x))
                  and isinstance(y, sp.Expr) and y.is_number), None)
    if relation in ORDER and bound is not None:
        scope.declare(head_name(bound))
        return "definition", f"states an assumption on {head_name(bound)}", None
    if relation in ORDER and _range(a, b) and not any(scope.has_value(n) for n in _names(a) | _names(b)):
        return "definition", "states the range of a name", None
    if relation in ORDER and _new_names(a, b, reading):
        for name in _new_names(a, b, reading):
            scope.declare(name)
        return "definition", "states an assumption on a new name", None
    if relation not in EQUALITIES | set(ORDER) | UNEQUAL | {r"\approx"}:
        raise UndecidedError(f"the relation {relation} is not judged")
    applied = {f.func.__name__ for f in sp.Tuple(a, b).atoms(AppliedUndef)} if _arith(a, b) else set()
    functions = scope.function_names() | scope.applied_names() | applied | {"D", "f", "g", "F", "G"}
    if any(str(i.base.label) in functions for i in (a - b if _arith(a, b) else sp.Tuple(a, b)).atoms(sp.Indexed)):
        raise UndecidedError("a function name with a subscript (notation for a partial derivative)")
    if isinstance(a, sp.MatrixBase) and isinstance(b, sp.MatrixBase) and relation in EQUALITIES:
        return _entrywise(a, b, reading)
    if relation in EQUALITIES and _general(b, reading):
        general = _in_general_terms(a, b, reading)
        if general is not None:
            return "definition", f"defines {general} in terms of functions the notes leave general", None
    ra, rb = unify_entries(sp.Tuple(resolve(a, reading), resolve(b, reading))).args
    if isinstance(ra, sp.MatrixBase) and isinstance(rb, sp.MatrixBase) and relation in EQUALITIES:
        return _entrywise(ra, rb, reading)  # a gradient taken over written entries, against written entries
    number = decimal(right_text)
    if relation in EQUALITIES | {r"\approx"} and number is not None and number.places > 0:
        verdict, reason = decide_numeral(ra, number, relation)
        return verdict, reason, fixed(_number(ra), number.places)
    if relation in EQUALITIES and (ra.has(BigO) or rb.has(BigO)):
        verdict, reason = decide_remainder(ra, rb)
        return verdict, reason, None
    if relation == r"\approx":
        if ra.free_symbols or rb.free_symbols or ra.atoms(AppliedUndef) or rb.atoms(AppliedUndef):
            verdict, reason = decide_approx(ra, rb)
            return verdict, reason, None
        verdict, reason = decide_equal(ra, rb)
        return ("correct" if verdict == "correct" else "unknown"), reason, None
    if relation in ORDER:
        verdict, reason = decide_order(ra, rb, relation)
        return verdict, reason, None
    if relation in UNEQUAL:
        if isinstance(a, sp.Symbol) and isinstance(b, sp.Symbol):
            raise ConditionError("an inequation between two names is a condition, not a claim")
        verdict, reason = decide_equal(ra, rb)
        return ("error" if verdict == "correct" else "correct"), (
            "the two sides are equal" if verdict == "correct" else "the sides differ"), None
    verdict, reason = decide_equal(ra, rb)
    undefined = {f.func.__name__ for f in sp.Tuple(ra, rb).atoms(AppliedUndef)}
    defined = {f.func.__name__ for f in sp.Tuple(a, b).atoms(AppliedUndef)} - undefined
    if verdict == "error" and undefined and defined and not undefined <= _built_from(defined, reading):
        raise UndecidedError(f"relates {', '.join(sorted(defined))} to {', '.join(sorted(undefined))}, which the notes "
                        "do not define")
    if verdict == "error" and isinstance(a, sp.Symbol) and isinstance(b, sp.Symbol):
        raise ConditionError("an equation between two names is a condition, not a claim")
    starred = sorted(n for n in _names(sp.Tuple(ra, rb)) if n.endswith("^{*}") or re.search(r"_\{[A-Za-z]{2,}\}$", n))
    if verdict == "error" and starred:
        raise ConditionError(f"a condition on the particular point {starred[0]}")
    one_sided = _new_names(a, b, reading) & (_names(a) ^ _names(b))
    worded = sorted(one_sided & reading.worded)
    if verdict == "error" and worded:
        raise UndecidedError(f"{worded[0]} is described in words, not in a formula")
    relates_defined = any(scope.has_value(n) for n in _names(a) | _names(b))
    if verdict == "error" and one_sided and one_sided == _new_names(a, b, reading) and relates_defined:
        new = sorted(one_sided)
        for name in new:
            scope.declare(name)
        return "definition", f"introduces {', '.join(new)}", None
    return verdict, reason, (sp.sstr(rb) if verdict == "error" else None)


def _range(a: sp.Basic, b: sp.Basic) -> bool:
    """Whether an order relates two names, or a name and a number, as in ``1 \\le t \\le T`` (a range, not a claim)."""
    sides = (a, b)
    return (all(isinstance(x, (sp.Symbol, sp.Integer)) for x in sides) and any(isinstance(x, sp.Symbol) for x in sides)
            and not any(_small(x) for x in sides))


def _recurrence(a: AppliedUndef, b: sp.Basic) -> bool:
    """``s(i, t+1) = s(i, t) + ...``: the function is applied on the right at an argument an integer step away."""
    calls = [c for c in b.atoms(AppliedUndef) if c.func == a.func and len(c.args) == len(a.args)]
    return any((x - y).is_Integer and x != y for c in calls for x, y in zip(a.args, c.args, strict=True))


def _general(b: sp.Basic, reading: Reading) -> bool:
    """Whether ``b`` applies a function that the notes leave general (not defined in scope)."""
    return isinstance(b, sp.Basic) and any(f.func.__name__ not in reading.scope.function_names()
                                           for f in b.atoms(AppliedUndef))


def _built_from(functions: set[str], reading: Reading) -> set[str]:
    """The functions that the definitions of ``functions`` are written in."""
    out: set[str] = set()
    for name in functions:
        body = reading.scope.function(name)
        out |= {f.func.__name__ for f in body.atoms(AppliedUndef)} if body is not None else set()
    return out


def _in_general_terms(a: sp.Basic, b: sp.Basic, reading: Reading) -> str | None:
    """``f(x + \\epsilon) = g(x + \\epsilon) + h(x + \\epsilon)``: a new f, built from functions the notes leave
    general, shadows the old one; return its name, or None when ``a`` is not ``f`` at a shifted name."""
    if not isinstance(a, AppliedUndef) or len(a.args) != 1 or head_name(a) in _names(b):
        return None
    arg = a.args[0]
    names = [s for s in arg.free_symbols if isinstance(s, sp.Symbol) and (arg - s).free_symbols.isdisjoint({s})
             and not _small(s)]
    if len(names) != 1 or not isinstance(b, sp.Expr):
        return None
    x = names[0]
    reading.scope.define(a.func(x), b.xreplace({x: x - (arg - x)}) if arg != x else b)
    return head_name(a)


def _prefixed(prefix: str, reason: str) -> str:
    """``reason`` after ``prefix``; a reason that carries its sides' values keeps them."""
    return reason.prefixed(prefix) if isinstance(reason, Sides) else prefix + reason


def _entrywise(a: sp.MatrixBase, b: sp.MatrixBase, reading: Reading) -> tuple[str, str, str | None]:
    """Two written vectors or matrices of entries, judged entry by entry."""
    if a.shape != b.shape and not (1 in a.shape and 1 in b.shape and len(a) == len(b)):
        raise UndecidedError(f"the sides have shapes {a.shape} and {b.shape}")  # a vector is a row or a column
    verdicts = []
    if all(y.is_number for y in b) and not all(x.is_number for x in a):
        raise UndecidedError("values at a point the formula does not write")
    for k, (x, y) in enumerate(zip(a, b, strict=True)):
        rx, ry = unify_entries(sp.Tuple(resolve(x, reading), resolve(y, reading))).args
        verdict, reason = decide_equal(rx, ry)
        if verdict == "error":
            return "error", _prefixed(f"entry {k + 1}: ", reason), sp.sstr(ry)
        verdicts.append(verdict)
    return "correct", f"all {len(verdicts)} entries agree", None


SPACE = re.compile(r"^\s*\\mathbb\{R\}\^(?:\{(?P<braced>[^{}]*)\}|(?P<one>[A-Za-z0-9]))\s*[.,;]?\s*$")


def space_shape(text: str) -> tuple[str, ...] | None:
    """The shape a space ``\\mathbb{R}^{q \\times h}`` gives (("q", "h")); None for anything else."""
    m = SPACE.match(text)
    if m is None:
        return None
    dims = (m.group("braced") or m.group("one")).split(r"\times")
    return tuple(re.sub(r"\s+", "", d) for d in dims)


def _shape_of_derivative(d: Partial, shape: tuple[str, ...], reading: Reading) -> tuple[str, str, str | None]:
    """``\\partial L / \\partial \\mathbf{W} \\in \\mathbb{R}^{q \\times h}``: the derivative of a scalar has the shape
    of the name it is taken by (the layout the notes use), so it is the shape declared for that name."""
    num, var = d.args
    if has_matrices(num) or isinstance(num, sp.MatrixBase):
        return "unknown", "the shape of a derivative of a vector or matrix", None
    declared = reading.scope.shape(head_name(var)) if definable(var) or isinstance(var, sp.Indexed) else None
    if declared is None:
        return "unknown", f"no space is declared for {head_name(var) if definable(var) else var}", None
    if declared == shape:
        return "correct", f"the derivative of a scalar by {head_name(var)} has its shape {' x '.join(shape)}", None
    return "error", (f"{head_name(var)} is declared in R^({' x '.join(declared)}), so a derivative by it has that "
                     f"shape, not {' x '.join(shape)}"), None


def _arith(a: sp.Basic, b: sp.Basic) -> bool:
    """Whether both sides are plain expressions (not sets, tuples or relations)."""
    return isinstance(a, sp.Expr) and isinstance(b, sp.Expr) and not isinstance(a, sp.MatrixBase) and not isinstance(
        b, sp.MatrixBase)


def _new_names(a: sp.Basic, b: sp.Basic, reading: Reading) -> set[str]:
    """Names neither defined, declared nor seen before this statement."""
    return {n for n in _names(a) | _names(b)
            if not reading.scope.known(n) and not reading.scope.seen(n)}


def _declares(a: sp.Basic) -> bool:
    """Whether the left side of ``\\in`` is a name or a tuple of names (a declaration)."""
    return definable(a) or (isinstance(a, sp.Tuple) and all(definable(x) for x in a.args))


def _membership(a: sp.Basic, b: sp.Basic, relation: str, reading: Reading) -> tuple[str, str, str | None]:
    """``\\sigma(x) \\in (0, 1)`` is judged; ``x \\notin S`` with a name of no value declares it.

    ``x \\in \\mathbb{R}^d`` never gets here: ``judge._one_link`` records every ``\\in`` after a name first.
    """
    if relation == r"\notin" and _declares(a):
        for x in (a.args if isinstance(a, sp.Tuple) else (a,)):
            if reading.scope.value(head_name(x)) is None:
                reading.scope.declare(head_name(x))
        if not isinstance(b, sp.Set) or reading.scope.value(head_name(a)) is None:
            return "definition", "declares where a name lives", None
    if not isinstance(b, sp.Set):
        raise UndecidedError("membership in something that is not a set the audit reads")
    verdict, reason = decide_member_of(resolve(a, reading), b)
    if relation == r"\notin":
        verdict = "error" if verdict == "correct" else "correct"
    return verdict, reason, None
