"""Build SymPy values from what the parser read, with guards against sizes a notes file should never make
SymPy compute; and the names and entries those values are made of.

Arithmetic refuses sets, relations and tuples, and powers whose exact value would be huge; names decide
here whether they are bold (vectors and matrices, whose symbols do not commute); a list or sum written with
dots is expanded from its pattern; ``x_1`` is written as the entry ``x[1]`` where ``x`` is indexed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import sympy as sp
from sympy.core.function import AppliedUndef

from verify.latex_tokens import NotationError, Token
from verify.notation_nodes import DerivativeAt, Hadamard
from verify.notation_table import CALLABLE_NAMES

MAX_POWER_DIGITS = 10_000
MAX_EXPONENT = 1000


class Reporter(Protocol):
    """What a value builder needs of the parser: an error that names the token and its position."""

    def error(self, message: str, tok: Token | None = None) -> NotationError:
        """A NotationError naming the offending token and its position."""
        ...


@dataclass
class Name:
    """A name being built (before subscripts and superscripts decide what it is)."""

    text: str
    greek: bool = False
    plain: bool = True  # a bare letter or Greek command, no decoration


def _as_expr(value: sp.Basic) -> sp.Basic:
    """Refuse sets, relations and tuples where an arithmetic value is needed."""
    if isinstance(value, (sp.Set, sp.Tuple)) or (isinstance(value, sp.logic.boolalg.Boolean)
                                                 and not isinstance(value, sp.Expr)):
        raise NotationError(f"{type(value).__name__} used in arithmetic")
    return value


def _arith(op: Callable[[], sp.Basic], what: str) -> sp.Basic:
    """Run one arithmetic step, turning SymPy's shape and type complaints into NotationError."""
    try:
        return op()
    except (TypeError, ValueError, AttributeError, sp.ShapeError, sp.NonSquareMatrixError) as e:
        raise NotationError(f"cannot {what}: {e}") from e


def _add(a: sp.Basic, b: sp.Basic) -> sp.Basic:
    a, b = _as_expr(a), _as_expr(b)
    return _arith(lambda: a + b, "add")


def _neg(a: sp.Basic) -> sp.Basic:
    a = _as_expr(a)
    return _arith(lambda: -a, "negate")


def _mul(a: sp.Basic, b: sp.Basic) -> sp.Basic:
    a, b = _as_expr(a), _as_expr(b)
    return _arith(lambda: a * b, "multiply")


def _hadamard(a: sp.Basic, b: sp.Basic) -> sp.Basic:
    if isinstance(a, sp.MatrixBase) and isinstance(b, sp.MatrixBase):
        if a.shape != b.shape:
            raise NotationError(f"\\odot of shapes {a.shape} and {b.shape}")
        return a.multiply_elementwise(b)
    a, b = _as_expr(a), _as_expr(b)
    if not (a.is_commutative and b.is_commutative):
        return Hadamard(a, b)  # shapes come from the record's notation table; the audit resolves it
    return _mul(a, b)


def _inverse(a: sp.Basic) -> sp.Basic:
    a = _as_expr(a)
    if a == 0:
        raise NotationError("division by zero")
    if isinstance(a, sp.MatrixBase):
        raise NotationError("division by a matrix")
    return _arith(lambda: 1 / a, "divide")


def _power(base: sp.Basic, exponent: sp.Basic, parser: Reporter) -> sp.Basic:
    """``base**exponent``, refusing powers whose exact value or later evaluation would be huge."""
    base, exponent = _as_expr(base), _as_expr(exponent)
    if isinstance(exponent, sp.Number) and abs(exponent) > MAX_EXPONENT:
        raise parser.error(f"exponent {exponent} larger than {MAX_EXPONENT}")
    if isinstance(base, sp.Number) and isinstance(exponent, sp.Number) and base not in (0, 1, -1):
        digits = abs(float(exponent)) * max(abs(float(sp.log(abs(base), 10).evalf(5))), 1e-3)
        if digits > MAX_POWER_DIGITS:
            raise parser.error(f"power with about {digits:.0f} digits")
    if base == 0 and isinstance(exponent, sp.Number) and exponent.is_negative:
        raise NotationError("0 to a negative power")
    _refuse_huge(base, exponent, parser)
    value = _arith(lambda: base**exponent, "raise to a power")
    if isinstance(value, sp.Pow) and value.exp.is_Number and abs(value.exp) > MAX_EXPONENT:
        raise parser.error(f"exponent {value.exp} larger than {MAX_EXPONENT}")  # ((z^1000)^1000) collapses
    return value


def _refuse_huge(base: sp.Basic, exponent: sp.Basic, parser: Reporter) -> None:
    """Refuse a numeric power whose value would have more than MAX_POWER_DIGITS digits (a tower 2^{2^{2^pi}})."""
    if not (getattr(base, "is_number", False) and getattr(exponent, "is_number", False)):
        return
    try:
        e = abs(sp.N(exponent, 15))
        size = e * max(abs(sp.N(sp.log(abs(base), 10), 15)), sp.Float("1e-3")) if base != sp.E else e / 2.3
    except (TypeError, ValueError, OverflowError, ArithmeticError) as err:
        raise parser.error("a power too large to evaluate") from err
    if not size.is_finite or size > MAX_POWER_DIGITS:
        raise parser.error("a power with more digits than the audit evaluates (too large to decide)")


def _callable(name: str) -> bool:
    """Whether a name before ``(`` is applied: ``\\sigma``, ``\\sigma'``, ``\\Phi``, labelled ``\\sigma^{(\\ell)}``."""
    return name in CALLABLE_NAMES or name.split("^{(", 1)[0] in CALLABLE_NAMES and name.endswith(")}")


def _bold_atom(atom: object) -> bool:
    """Whether a name, or every name of a parenthesised expression, is bold: then ``X^T`` transposes it."""
    if isinstance(atom, Name):
        return is_bold(atom.text)
    names = [getattr(s, "name", str(s)) for s in getattr(atom, "free_symbols", ())]
    return bool(names) and all(is_bold(n) for n in names)


def is_bold(name: str) -> bool:
    """Whether a name is written bold (a vector or matrix in the notes' convention)."""
    return bool(re.search(r"\\(mathbf|boldsymbol)\{", name))


def _symbol(name: str) -> sp.Symbol:
    """A plain symbol; bold names do not commute (``W x`` is not ``x W``)."""
    return sp.Symbol(name, commutative=False) if is_bold(name) else sp.Symbol(name)


def _canonical_style(value: str) -> str:
    """``\\bm{x}`` and ``\\boldsymbol{x}`` are written ``\\mathbf{x}`` for Latin letters; keep others."""
    m = re.fullmatch(r"\\(mathbf|boldsymbol|bm)\{\s*(\\?[A-Za-z]+)\s*\}", value)
    if m:
        inner = m.group(2)
        return f"\\mathbf{{{inner}}}" if not inner.startswith("\\") else f"\\boldsymbol{{{inner}}}"
    return re.sub(r"\s+", "", value)


def elided_sum(before: list[sp.Basic], last: sp.Basic, parser: Reporter) -> sp.Basic:
    """``t_1 + t_2 + \\ldots + t_n`` as the sum of t_k for k from the first term's index to n, when every term
    written before the dots is the last one at its own index; anything else is refused."""
    bounds = {i for x in last.atoms(sp.Indexed) for i in x.indices if isinstance(i, sp.Symbol)}
    if len(bounds) != 1 or not before:
        raise parser.error("an elided sum whose last term has no single index")
    upper = bounds.pop()
    bases = indexed_bases(last)
    k = sp.Symbol(f"{upper.name}_{{elided}}", integer=True)
    body = last.xreplace({upper: k})
    written = [as_entries(t, bases) for t in before]
    for start in (1, 0):
        if all(sp.simplify(body.xreplace({k: start + j}) - t) == 0 for j, t in enumerate(written)):
            return sp.Sum(body, (k, start, upper))
    raise parser.error("an elided sum whose terms do not follow one pattern")


ENTRY_NAME = re.compile(r"^(?P<base>.+?)_\{?(?P<k>\d+)\}?$")


def _at_slots(call: AppliedUndef, slots: tuple[int, ...]) -> sp.Basic:
    """The derivative of a function by its argument slots (0-based), at the point its call writes."""
    return DerivativeAt(sp.Symbol(call.func.__name__), sp.Tuple(*map(sp.Integer, slots)), sp.Integer(1),
                        sp.Tuple(*call.args))


def _at_index(item: sp.Basic, end: sp.Symbol, j: int) -> sp.Basic:
    """The pattern of an elided list at index j; a bare entry x_N becomes the name x_j, as x_1 is written."""
    if isinstance(item, sp.Indexed) and item.indices == (end,):
        return _symbol(f"{item.base.label}_{j}")
    return item.xreplace({end: sp.Integer(j)})


def _written_index(item: sp.Basic) -> int | None:
    """The largest number index an item writes (``w_2 + \\epsilon_2`` -> 2, ``\\partial_{x_2} f`` -> 2)."""
    found = [int(i) for x in item.atoms(sp.Indexed) for i in x.indices if i.is_Integer]
    found += [int(m.group("k")) for s in item.free_symbols if isinstance(s, sp.Symbol)
              and (m := ENTRY_NAME.match(s.name))]
    return max(found) if found else None


def as_entries(expr: sp.Basic, bases: dict[str, sp.IndexedBase]) -> sp.Basic:
    """Each name ``x_1`` as the entry ``x[1]`` where ``x`` is one of ``bases`` (a base indexed by a letter)."""
    subs = {}
    plain = {re.sub(r"^\\(?:mathbf|boldsymbol|bm)\{(.*)\}$", r"\1", k): v for k, v in bases.items()}
    for s in expr.free_symbols:
        m = ENTRY_NAME.match(s.name) if isinstance(s, sp.Symbol) else None
        base = m and (bases.get(m.group("base")) or plain.get(m.group("base")))
        if base is not None and m:
            subs[s] = base[int(m.group("k"))]
    return expr.xreplace(subs) if subs else expr


def indexed_bases(expr: sp.Basic) -> dict[str, sp.IndexedBase]:
    """The indexed names of an expression, by name."""
    return {str(x.base.label): x.base for x in expr.atoms(sp.Indexed)}


def _unlabelled(name: str) -> str:
    """A name without its label (``l^{(i)}`` -> ``l``); ``f^{(n)}`` stays whole: it is f's n-th derivative."""
    base = name.lstrip("\\").split("^{(", 1)[0]
    return name.lstrip("\\") if base in DERIVATIVE_LABELS else base


DERIVATIVE_LABELS = frozenset({"f", "g", "h", "y", "u", "v"})
