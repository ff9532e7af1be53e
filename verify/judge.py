"""Judge every link of a statement: correct, error (with a counterexample), warning, definition or unknown.

A link is one relation of a chain (``a = b``, ``b \\approx 0.27``, ``0 < \\eta``). Both sides are read by
``verify.notation`` in its generic mode (the catalog of standard notation), the document's
definitions in scope are substituted (``verify.scope``), Leibniz derivatives and limits are taken,
and then:

- ``=``: correct when a normal form reaches zero (``derive.proof.symbolic_zero``) or every exact random
  witness agrees; error with the point, both sides' values, when one does not.
- a side written as a decimal numeral: judged at its written precision (``=`` and ``\\approx`` alike).
- ``<``, ``\\le``, ``>``, ``\\ge``, ``\\in`` an interval, ``\\neq``: decided exactly on numbers; with free
  symbols, correct only when every witness holds, else unknown (unstated assumptions are common).
- a link whose left side is a name not yet defined in its scope (or any link after "Let", "where",
  ``:=``) is a *definition*: recorded, not checked. An equality that mentions a name never seen before
  introduces it: also a definition.
- anything else is unknown, with a one-line reason naming what was not understood. Nothing is correct
  unless it was decided, and every computation runs inside a budget (``verify.budget``).
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable
from dataclasses import dataclass

import sympy as sp
from sympy.core.function import AppliedUndef

from derive.functions import unfold
from derive.proof import concrete_functions, symbolic_zero
from verify.budget import TooLargeError, within
from verify.catalog import GENERIC_FUNCTIONS, BigO, lookup
from verify.latex_tokens import Decimal, decimal
from verify.matrices import (
    ShapeMismatchError,
    evaluate_at_random,
    has_matrices,
    is_bold,
    matrix_witness,
    random_value,
)
from verify.notation import Context, NotationError, parse_expr_latex, parse_set
from verify.notation_nodes import DerivativeAt, Entry, Expectation, Hadamard, InverseOf, Partial, ProbabilityOf, Top
from verify.notation_table import DEFAULT_SIZE, ELIDED_SIZE
from verify.notation_values import as_entries, indexed_bases
from verify.notes import Notes
from verify.scope import Scope, definable, expand, head_name
from verify.statements import Statement, defining, statements

DECIDED = frozenset({"correct", "error", "warning", "definition"})
EQUALITIES = frozenset({"=", r"\equiv", r"\doteq"})
ALWAYS_DEFINES = frozenset({":=", r"\coloneqq", r"\triangleq", r"\leftarrow", r"\mapsto", r"\sim"})
ORDER = {"<": sp.Lt, r"\lt": sp.Lt, ">": sp.Gt, r"\gt": sp.Gt, r"\le": sp.Le, r"\leq": sp.Le, r"\leqslant": sp.Le,
         r"\ge": sp.Ge, r"\geq": sp.Ge, r"\geqslant": sp.Ge}
UNEQUAL = frozenset({r"\neq", r"\ne"})
#: Undefined single letters that a derivative treats as constants (d/dx C = 0); any other undefined name
#: differentiated is "unknown": its dependence on the variable is not written.
CONSTANT_LETTERS = frozenset({"C", "c", "K", "k", "a", "b", "n", "m", "alpha", "beta", "lambda", "eta"})
SUSPECT = re.compile(r"^Delta$|'|\\nabla|\\text|\\mathrm|\\operatorname|\\sum$|^\\?[fgh]\^\{\(")
POINTS = 4
SMALL = frozenset({"epsilon", "varepsilon", "delta", "h", "eta", "\\boldsymbol{\\epsilon}", "\\boldsymbol{\\delta}",
                   "\\mathbf{h}", "\\mathbf{v}"})
SEED = 0
BUDGET_S = 2.0
SMALL_OPS = 12
ZERO_BELOW = sp.Float(10) ** -30
TRAILING = re.compile(r"(?:\\[,;!]|\\quad|\\qquad|\s)*[.,;]\s*$")
NAME_CALL = re.compile(r"^\s*(\\?[A-Za-z]+)\s*\(")


CONDITION_AFTER = re.compile(r"(?i)^\W{0,3}(since|because|given|assuming|provided|when|if|for\s+\w+\s*[<>=])")
DECIMAL = re.compile(r"\d\.\d{2,}")
CLOSE = 1e-3


def _close(reason: str) -> bool:
    """Whether an error's two sides (``left = a, right = b`` in the reason) agree to a relative 1e-3."""
    m = re.search(r"left = (\S+), right = (\S+)$", reason)
    if m is None:
        return False
    try:
        a, b = float(m.group(1).rstrip(",")), float(m.group(2))
    except ValueError:
        return False
    return abs(a - b) <= CLOSE * max(abs(a), abs(b), 1e-12)


class UndecidedError(Exception):
    """The link cannot be decided; the message says which construct stopped it."""


class ConditionError(UndecidedError):
    """The link is a condition or an equation to solve, not a claim: it is recorded, like a definition."""


@dataclass(frozen=True)
class LinkVerdict:
    """The verdict on one link: what, where, and why."""

    verdict: str
    reason: str
    left: str
    relation: str
    right: str
    line: int
    expected: str | None = None

    @property
    def text(self) -> str:
        """The link as written."""
        return f"{self.left.strip()} {self.relation} {self.right.strip()}"


@dataclass
class Reading:
    """The state of the judge across a file: definitions and names seen, in scope; names the prose describes."""

    scope: Scope
    worded: frozenset[str] = frozenset()


def new_reading() -> Reading:
    """A fresh reading of a file: an empty scope."""
    return Reading(Scope())


WORDED = re.compile(r"(?i)\b(for the|is the|are the|denotes?|as the|to be the|the angle|stands? for)\s*$")


def worded_names(notes: Notes) -> frozenset[str]:
    """Names the prose defines in words: a lone ``$\\theta$`` after "used ... for the", "denotes", "is the"."""
    out = set()
    for m in notes.math:
        if m.kind != "inline":
            continue
        line = notes.lines[m.line - 1] if 0 < m.line <= len(notes.lines) else ""
        after = line[m.col + len(m.latex) + 1:][:40]
        before = line[:max(m.col - 1, 0)]
        if not (WORDED.search(before) or re.match(r"\s*(for the|is the|denotes|stands for)\b", after)):
            continue
        try:
            value = parse_expr_latex(m.latex, Context(generic=True))
        except NotationError:
            continue
        if isinstance(value, sp.Symbol):
            out.add(value.name)
    return frozenset(out)


# ----------------------------------------------------------------------------------------------
# Reading the members


def context_for(reading: Reading, extra: Iterable[str] = (), matrices: frozenset[str] = frozenset(),
                ends: set[str] | None = None) -> Context:
    """The parser context: generic notation, with the document's own functions."""
    return Context(functions=reading.scope.function_names() | frozenset(extra), generic=True, matrices=matrices,
                   ends=ends)


ENTRY_OF = re.compile(r"([a-z])_\{[a-z]{2}\}")


def matrix_letters(text: str) -> frozenset[str]:
    """Plain capitals that name a matrix in a statement that also writes its entries (A beside a_{ij})."""
    letters = {c.upper() for c in ENTRY_OF.findall(re.sub(r"\\[A-Za-z]+", " ", text))}
    letters |= set(re.findall(r"\\(?:mathbf|boldsymbol|bm)\{([A-Z])\}", text))  # A beside a bold \mathbf{A}
    return frozenset(c for c in letters if re.search(rf"(?<![\\A-Za-z{{]){c}(?![A-Za-z}}_])", text))


def parse_member(text: str, reading: Reading, first: bool, cue: bool = False,
                 matrices: frozenset[str] = frozenset(), ends: set[str] | None = None) -> sp.Basic:
    """Parse one member; ``u(x)`` at the head of a definition makes ``u`` a function (a catalog name only after
    a defining cue such as "Let": the document's definition then overrides the catalog)."""
    m = NAME_CALL.match(text) if first else None
    extra = [m.group(1).lstrip("\\")] if m and (cue or lookup(m.group(1)) is None) else []
    return parse_expr_latex(TRAILING.sub("", text), context_for(reading, extra, matrices, ends))


def _names(expr: sp.Basic) -> set[str]:
    """The names an expression mentions (symbols, indexed bases, undefined functions)."""
    out = {s.name for s in expr.free_symbols if isinstance(s, sp.Symbol)}
    out |= {str(i.base.label) for i in expr.atoms(sp.Indexed)}
    out |= {a.func.__name__ for a in expr.atoms(AppliedUndef)}
    return out


# ----------------------------------------------------------------------------------------------
# Resolving: definitions, derivatives, limits


def resolve(expr: sp.Basic, reading: Reading) -> sp.Basic:
    """Substitute definitions, take Leibniz derivatives and limits, unfold named functions."""
    expr = implicit_sums(expr, reading.scope.follows("einstein"))
    if expr.has(InverseOf):
        expr = _cancel_inverses(expr)
    if expr.has(Expectation):
        expr = expr.replace(lambda e: isinstance(e, Expectation), lambda e: _expectation(e, reading))
    if expr.has(DerivativeAt):
        expr = expr.replace(lambda e: isinstance(e, DerivativeAt), lambda e: _derivative_at(e, reading))
    expr = _partials(expr, reading)
    expr = expand(expr, reading.scope)
    expr = unify_entries(expr)
    expr = unfold(expr)
    if expr.has(sp.Derivative, sp.Subs):
        expr = expr.replace(lambda e: isinstance(e, (sp.Derivative, sp.Subs)) and not e.atoms(AppliedUndef),
                            lambda e: e.doit())
    if expr.has(sp.Limit):
        expr = expr.replace(lambda e: isinstance(e, sp.Limit), _limit)
    return _at_points(expr) if expr.has(sp.Derivative) else expr


def unify_entries(expr: sp.Basic) -> sp.Basic:
    """Write ``x_1`` as the entry ``x[1]`` where ``x`` is also indexed by a letter (``\\sum_i x_i``), and make
    one symbol of a name written both as an index and as a plain letter (``x_n`` and ``\\sum^n``: n is an integer)."""
    by_name: dict[str, list[sp.Symbol]] = {}
    for s in expr.free_symbols:
        if isinstance(s, sp.Symbol):
            by_name.setdefault(s.name, []).append(s)
    twins = {}
    for variants in by_name.values():
        if len(variants) > 1:
            keep = next((v for v in variants if v.is_integer), variants[0])
            twins.update({v: keep for v in variants if v != keep})
    if twins:
        expr = expr.xreplace(twins)
    return as_entries(expr, indexed_bases(expr))


def _at_elided_size(parsed: list[sp.Basic | NotationError], ends: set[str]) -> list[sp.Basic | NotationError]:
    """A statement that writes a list with dots (``w_1, \\ldots, w_N``) is read at the size the parser expands
    the list to: its end letter N, and the size n of a sum without bounds, become ELIDED_SIZE everywhere."""
    if not ends:
        return parsed
    out: list[sp.Basic | NotationError] = []
    for v in parsed:
        if isinstance(v, NotationError):
            out.append(v)
            continue
        sizes = {s: sp.Integer(ELIDED_SIZE) for s in v.free_symbols if isinstance(s, sp.Symbol)
                 and (s.name in ends or s == DEFAULT_SIZE)}
        out.append(v.xreplace(sizes) if sizes else v)
    return out


def _bold_twins(parsed: list[sp.Basic | NotationError]) -> list[sp.Basic | NotationError]:
    """A plain ``A`` beside a bold ``\\mathbf{A}`` in one statement is that bold name (bold or plain, one letter)."""
    symbols = [s for v in parsed if not isinstance(v, NotationError) for s in v.free_symbols
               if isinstance(s, sp.Symbol)]
    bold = {re.sub(r"^\\(?:mathbf|boldsymbol)\{(.*)\}$", r"\1", s.name): s for s in symbols if not s.is_commutative}
    twins = {s: bold[s.name] for s in symbols if s.is_commutative and s.name in bold}
    return [v if isinstance(v, NotationError) or not twins else v.xreplace(twins) for v in parsed]


def _repeated(product: sp.Mul) -> list[sp.Symbol]:
    """The indices that two or more factors of a product share outside any sum (``x_i a_{ij} x_j``: i and j)."""
    seen: dict[sp.Symbol, int] = {}
    for factor in product.args:
        written = [ix.indices for ix in factor.atoms(sp.Indexed)] + [e.args[1].args for e in factor.atoms(Entry)]
        for i in {i for indices in written for i in indices if isinstance(i, sp.Symbol)}:
            bound = any(i in s.variables for s in factor.atoms(sp.Sum))
            seen[i] = seen.get(i, 0) + (not bound)
    return sorted((i for i, v in seen.items() if v > 1), key=sp.default_sort_key)


def implicit_sums(expr: sp.Basic, einstein: bool) -> sp.Basic:
    """Sum each index a product repeats over 1..n where the notes declare Einstein's convention; else refuse."""
    if isinstance(expr, (sp.Sum, sp.Product)) or not isinstance(expr, sp.Basic) or not expr.args:
        return expr
    expr = expr.func(*(implicit_sums(a, einstein) for a in expr.args)) if not isinstance(expr, sp.Indexed) else expr
    if isinstance(expr, sp.Mul) and _repeated(expr):
        if not einstein:
            raise UndecidedError("an index repeated outside a sum (the summation convention)")
        for i in _repeated(expr):
            expr = sp.Sum(expr, (i, 1, DEFAULT_SIZE))
    return expr


def _limit(lim: sp.Limit) -> sp.Basic:
    """Evaluate a limit; undefined functions inside it make it undecidable."""
    if lim.atoms(AppliedUndef) or sp.count_ops(lim) > SMALL_OPS or lim.free_symbols:
        return lim  # taken at each witness point, numerically (functions become concrete random cubics)
    value = lim.doit()
    if isinstance(value, sp.Limit):
        raise UndecidedError("a limit SymPy cannot evaluate")
    return value


def _expectation(e: Expectation, reading: Reading) -> sp.Basic:
    """``E[X]`` from the point masses ``P(X = v) = p`` the notes give, when they add up to one."""
    x = e.args[0]
    masses = reading.scope.distribution(head_name(x)) if definable(x) else None
    if not masses:
        raise UndecidedError("an expectation needs a distribution the notes do not give")
    if sp.simplify(sp.Add(*masses.values()) - 1) != 0:
        raise UndecidedError(f"the probabilities given for {head_name(x)} do not add up to one")
    return sp.Add(*(v * p for v, p in masses.items()))


def _cancel_inverses(expr: sp.Basic) -> sp.Basic:
    """``f^{-1}(f(x)) = x`` and ``f(f^{-1}(y)) = y``: what an inverse means; any other inverse is not read."""
    def inner(e: sp.Basic) -> sp.Basic:
        if isinstance(e, InverseOf) and isinstance(e.args[1], AppliedUndef) and len(e.args[1].args) == 1 \
                and e.args[1].func.__name__ == e.args[0].name:
            return e.args[1].args[0]
        if isinstance(e, AppliedUndef) and len(e.args) == 1 and isinstance(e.args[0], InverseOf) \
                and e.args[0].args[0].name == e.func.__name__:
            return e.args[0].args[1]
        return e
    out = expr.replace(lambda e: isinstance(e, (InverseOf, AppliedUndef)), inner)
    if out.has(InverseOf):
        raise UndecidedError("an inverse function the audit does not evaluate")
    return out


def _derivative_at(node: DerivativeAt, reading: Reading) -> sp.Basic:
    """``\\frac{\\partial f}{\\partial u}(p, q)`` as the derivative of f's body by its argument u, at (p, q); for a
    function the notes leave general, the argument is found by its name among the point's names."""
    name, var, order, point = node.args
    defined = reading.scope.function(name.name)
    if defined is not None and len(defined.variables) == len(point):
        params = defined.variables
        body = defined.expr
    else:
        params = tuple(sp.Dummy(f"t{k}") for k in range(len(point)))
        body = sp.Function(name.name)(*params)
    if isinstance(var, sp.Tuple):  # \nabla f(0, 0), \mathbf{H} f(0, 0): by argument slots
        value = body
        for k in var.args:
            value = Partial(value, params[int(k)])
        return sp.Subs(value, params, point)
    slot = [k for k, p in enumerate(params) if getattr(p, "name", None) == var.name]
    if not slot:  # the argument written as var, or as var's own function: df/du at (u(a, b), v(a, b))
        slot = [k for k, p in enumerate(point) if p == var or isinstance(p, AppliedUndef) and head_name(p) == var.name]
    if not slot and len(point) == 1:
        slot = [0]
    if len(slot) != 1:
        raise UndecidedError(f"a derivative of {name} at a point, by an argument the notes do not name")
    value = body
    for _ in range(int(order)):
        value = Partial(value, params[slot[0]])
    return sp.Subs(value, params, point)


def _partials(expr: sp.Basic, reading: Reading) -> sp.Basic:
    """Replace every ``Partial(N, D)`` (innermost first) by the derivative of N's definition."""
    if not isinstance(expr, sp.Basic) or not expr.has(Partial):
        return expr
    if isinstance(expr, Partial):
        num = _partials(expr.args[0], reading)
        return _derivative(num, expr.args[1], reading)
    return expr.func(*(_partials(a, reading) for a in expr.args))


def _derivative(num: sp.Basic, var: sp.Basic, reading: Reading) -> sp.Basic:
    """d num / d var, where num is expanded in terms of var (a defined var is put back by name)."""
    if not isinstance(var, (sp.Symbol, sp.Indexed)):
        raise UndecidedError("a derivative with respect to an expression")
    name = var.name if isinstance(var, sp.Symbol) else str(var.base.label)
    body = expand(num, reading.scope, frozenset({name}))
    entries = reading.scope.value(name) if is_bold(var) else None
    if isinstance(entries, sp.MatrixBase) and 1 in entries.shape and all(isinstance(e, sp.Symbol) for e in entries):
        flat = expand(body.xreplace({var: entries}), reading.scope)  # x = [x_1, x_2]^T: a gradient of entries
        if isinstance(flat, sp.Expr) and not has_matrices(flat) and not flat.atoms(AppliedUndef):
            return sp.ImmutableMatrix(entries.rows, entries.cols, [sp.diff(flat, e) for e in entries])
    if is_bold(var) or has_matrices(body):
        return Partial(body, var)  # a gradient: taken over concrete matrices by verify.matrices
    value = reading.scope.value(name) if isinstance(var, sp.Symbol) else None
    if value is not None:
        full = expand(value, reading.scope)
        if full != var and not full.is_number:
            body = body.xreplace({full: var}) if full in body.atoms(type(full)) else body.subs(full, var)
    body = unfold(body)
    if isinstance(body, sp.Symbol) and body.name in GENERIC_FUNCTIONS and isinstance(var, sp.Symbol):
        body = sp.Function(body.name)(var)  # df/dx for a function f the notes leave general
    if (isinstance(body, sp.Indexed) and isinstance(var, sp.Indexed) and body.base == var.base
            and len(body.indices) == len(var.indices)):
        return sp.Mul(*(sp.KroneckerDelta(i, k) for i, k in zip(body.indices, var.indices, strict=True)))
    if isinstance(body, sp.Indexed) and body != var and not reading.scope.has_value(str(body.base.label)):
        raise UndecidedError(f"how {body.base.label}_{body.indices[0]} depends on {name} is not written")
    if isinstance(body, sp.Symbol) and body != var and body.name not in CONSTANT_LETTERS:
        raise UndecidedError(f"how {body.name} depends on {name} is not written")
    if isinstance(var, sp.Symbol):
        twins = [s for s in body.free_symbols if isinstance(s, sp.Symbol) and s.name == var.name and s != var]
        body = body.xreplace({s: var for s in twins})
    body = unify_entries(body)
    var = as_entries(var, indexed_bases(body))
    names = _names(num)
    if not body.has(var) and names and any(reading.scope.has_value(n) for n in names):
        raise UndecidedError(f"the definitions in scope do not make {sp.sstr(num)} depend on {name}")
    return sp.diff(body, var)


def _at_points(expr: sp.Basic) -> sp.Basic:
    """Write SymPy's ``Derivative(g(h(x)), h(x))`` as g' at the point h(x), so that a witness can make h concrete."""
    def at_point(d: sp.Derivative) -> sp.Basic:
        t = sp.Dummy("t")
        (point, order), = d.variable_count
        return sp.Subs(sp.Derivative(d.expr.xreplace({point: t}), (t, order)), t, point)
    return expr.replace(lambda e: isinstance(e, sp.Derivative) and len(e.variable_count) == 1
                        and isinstance(e.variable_count[0][0], (AppliedUndef, sp.Add, sp.Mul, sp.Pow)), at_point)


# ----------------------------------------------------------------------------------------------
# Deciding


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
            return "error", f"{where}left = {sp.N(na, 8)}, right = {sp.N(nb, 8)}"
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


def decide_approx(a: sp.Basic, b: sp.Basic, order: int | None = None) -> tuple[str, str]:
    """``a \\approx b`` as an expansion in the small quantities: with each small name set to c t (random c),
    a - b must vanish faster than the highest power of t that b keeps (a Taylor expansion to that order)."""
    pair = sp.Tuple(a, b)
    small = sorted({s for s in pair.free_symbols | pair.atoms(sp.Indexed) if _small(s)}, key=sp.default_sort_key)
    if not small:
        shift = _around_a_point(sp.Tuple(a, b))
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
        pair = sp.Tuple(a, b)
        if pair.has(sp.Sum):  # a sum over numbers first, so that each epsilon_i is its own small quantity
            pair = pair.replace(lambda e: isinstance(e, sp.Sum) and all(x.is_number for _, *ends in e.limits
                                                                         for x in ends), lambda e: e.doit())
            small = sorted({s for s in pair.free_symbols | pair.atoms(sp.Indexed) if _small(s)},
                           key=sp.default_sort_key)
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
            return "error", f"left = {sp.N(a, 8)}, right = {sp.N(b, 8)}"
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


# ----------------------------------------------------------------------------------------------
# A statement


def judge_statement(st: Statement, reading: Reading) -> list[LinkVerdict]:
    """Every link of one clause, in order; definitions update the reading's scope."""
    members = st.clause.members
    if len(members) < 2:
        return []
    parsed: list[sp.Basic | NotationError] = []
    ends: set[str] = set()
    matrices = matrix_letters(st.clause.text if hasattr(st.clause, "text") else " ".join(m.text for m in members))
    for k, member in enumerate(members):
        try:
            parsed.append(parse_member(member.text, reading, k == 0 and len(members) == 2, defining(st.cue),
                                       matrices, ends))
        except NotationError as e:
            parsed.append(e)
        except (RecursionError, TooLargeError, ValueError, TypeError, AttributeError) as e:
            parsed.append(NotationError(f"not read ({type(e).__name__})"))
    parsed = _at_elided_size(parsed, ends)
    parsed = _bold_twins(parsed)
    out = []
    if EINSTEIN.search(st.cue):
        reading.scope.adopt("einstein")
    condition = hypothetical(st.cue) or st.consequence
    cue = defining(st.cue)
    for k in range(len(members) - 1):
        left, right = members[k], members[k + 1]
        b = parsed[k + 1]
        if right.relation in {r"\in", r"\notin"}:
            try:
                b = parse_set(right.text, context_for(reading))
            except (NotationError, ValueError, TypeError):
                pass
        names_only = all(isinstance(parsed[j], sp.Symbol) for j in (k, k + 1)) and right.relation in EQUALITIES
        if condition and names_only:  # "one when i = k": a condition on two names never defines one of them
            verdict, reason, expected = "unknown", "", None
        else:
            verdict, reason, expected = _one_link(parsed[k], b, right.relation, reading, cue and k == 0, right.text)
        if condition and (verdict != "definition" or names_only):
            verdict, reason, expected = "definition", CONDITION, None
        if verdict == "error" and "random 3x3" in reason and STRUCTURE.search(st.cue):
            verdict, reason, expected = "unknown", "holds only for the special matrices the text describes", None
        if verdict == "error" and CONDITION_AFTER.search(st.after):
            verdict, reason, expected = "unknown", "holds only under the condition written after it", None
        if verdict == "error" and (DECIMAL.search(left.text) or DECIMAL.search(right.text)) and _close(reason):
            verdict = "warning"
            reason = f"right only with the rounded values written: {reason}"
        out.append(LinkVerdict(verdict, reason, left.text, right.relation, right.text, st.line_at(right.start),
                               expected))
    for value in parsed:
        if not isinstance(value, NotationError):
            reading.scope.mention(_names(value), {f.func.__name__ for f in value.atoms(AppliedUndef)})
    return out


def _one_link(a: sp.Basic | NotationError, b: sp.Basic | NotationError, relation: str, reading: Reading,
              cue: bool, right_text: str) -> tuple[str, str, str | None]:
    """(verdict, reason, expected) for one link; never raises."""
    shape = space_shape(right_text) if relation == r"\in" else None
    if relation in {r"\in", r"\to", r"\rightarrow"} and not isinstance(a, NotationError) and _declares(a):
        for x in (a.args if isinstance(a, sp.Tuple) else (a,)):
            if reading.scope.value(head_name(x)) is None:
                reading.scope.declare(head_name(x))
            if shape is not None:
                reading.scope.give_shape(head_name(x), shape)
        return "definition", "declares where a name lives", None
    if shape is not None and isinstance(a, Partial):
        return _shape_of_derivative(a, shape, reading)
    if relation in {r"\to", r"\rightarrow"} and isinstance(a, sp.Set):
        return "definition", "declares a function's domain and codomain", None
    if (isinstance(b, NotationError) and not isinstance(a, NotationError) and definable(a)
            and (relation in ALWAYS_DEFINES or relation in EQUALITIES and (cue or not reading.scope.has_value(
                head_name(a))))):
        reading.scope.declare(head_name(a))  # introduced, with a value the audit cannot read
        return "definition", f"defines {head_name(a)} (its value is not read: {b})", None
    if right_text.strip().rstrip(".").endswith("?") or right_text.strip() in {r"\;?", "?"}:
        return "definition", "a question the text goes on to answer: recorded, not checked", None
    for side in (a, b):
        if isinstance(side, NotationError):
            return "unknown", f"not read: {side}", None
    assert not isinstance(a, NotationError) and not isinstance(b, NotationError)
    try:
        with within(BUDGET_S):
            return _link(a, b, relation, reading, cue, right_text)
    except ConditionError as e:
        return "definition", f"{e}: recorded, not checked", None
    except UndecidedError as e:
        return "unknown", str(e), None
    except TooLargeError:
        return "unknown", "too large to decide within the budget", None
    except RecursionError:
        return "unknown", "too deeply nested to decide", None
    except Exception as e:  # noqa: BLE001 - one fragment's failure must not stop the audit
        return "unknown", f"could not decide ({type(e).__name__})", None


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
            return "error", f"entry {k + 1}: {reason}", sp.sstr(ry)
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
    """``x \\in \\mathbb{R}^d`` declares x; ``\\sigma(x) \\in (0, 1)`` is judged."""
    if definable(a) or isinstance(a, sp.Tuple) and all(definable(x) for x in a.args):
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


INDEX_LETTERS = frozenset("ijklmnabpqrst")
CONDITION = "a condition or a question, not a claim: recorded, not checked"
EINSTEIN = re.compile(r"(?i)\b(einstein|summation convention)\b")
HYPOTHETICAL = re.compile(r"(?i)\b(if|when|whenever|unless|whether|mean that|such that|for some|requirement that|"
                          r"condition that|what|how|make|want|wish|need|solve|require|choose|until|"
                          r"minimi[sz]\w*|maximi[sz]\w*|minimum|maximum|optimum|optimal|attain\w*|prove)\b[^.;:$]*$")
#: Words that give a matrix a special structure; a matrix claim refuted at random matrices is then unknown.
STRUCTURE = re.compile(r"(?i)\b(orthogonal|orthonormal|symmetric|diagonal|definite|invertible|unitary|rotation|"
                       r"idempotent|projection|eigen\w*)\b")


#: "If we expand this, we get": a result follows the condition, so the statement after it is a claim.
RESULT = re.compile(r"(?i)(,|\bwe)\s+(get|obtain|have|find|arrive at|see that|see|can write)\s*:?\s*$|"
                    r"\b\w+\s+we\s+(may|can|could|will)\s+(examine|write|compute|look at|consider)\b[^.;:$]*$|"
                    r"\b(gives|yields|becomes|then|(this|that|it) is)\s*:?\s*$")


def hypothetical(cue: str) -> bool:
    """Whether the prose before a statement makes it a condition or a question rather than a claim."""
    return HYPOTHETICAL.search(cue) is not None and RESULT.search(cue) is None


def judge_notes(notes: Notes) -> list[tuple[Statement, list[LinkVerdict]]]:
    """Judge every statement of a file in order, opening a scope at each heading."""
    reading = Reading(Scope(), worded_names(notes))
    headings = sorted(notes.headings, key=lambda h: h.line)
    paragraphs, count = [], 0
    for raw in notes.lines:
        count += not raw.strip()
        paragraphs.append(count)
    out = []
    k = 0
    for st in statements(notes):
        while k < len(headings) and headings[k].line <= st.math.line:
            reading.scope.enter(headings[k].level)
            k += 1
        reading.scope.paragraph = paragraphs[st.math.line - 1] if st.math.line <= len(paragraphs) else 0
        out.append((st, judge_statement(st, reading)))
    return out
