"""Read the members of a link and resolve them into values the judge can decide.

Reading: each member is parsed by ``verify.notation`` in generic mode with the document's own functions
(``context_for``, ``parse_member``); names the prose describes in words are noted (``worded_names``).
Resolving: the definitions in scope are substituted (``verify.scope``), Leibniz derivatives, derivatives at a
point, limits, expectations and inverses are taken, repeated indices summed where the notes declare
Einstein's convention, and ``x_1`` beside ``x_i`` made one entry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import sympy as sp
from sympy.core.function import AppliedUndef

from derive.functions import unfold
from verify.catalog import GENERIC_FUNCTIONS, lookup
from verify.judge_decide import SMALL_OPS, UndecidedError
from verify.matrices import has_matrices, is_bold
from verify.notation import Context, NotationError, parse_expr_latex
from verify.notation_nodes import DerivativeAt, Entry, Expectation, InverseOf, Partial
from verify.notation_table import DEFAULT_SIZE, ELIDED_SIZE
from verify.notation_values import as_entries, indexed_bases
from verify.notes import Notes
from verify.scope import Scope, definable, expand, head_name

#: Undefined single letters that a derivative treats as constants (d/dx C = 0); any other undefined name
#: differentiated is "unknown": its dependence on the variable is not written.
CONSTANT_LETTERS = frozenset({"C", "c", "K", "k", "a", "b", "n", "m", "alpha", "beta", "lambda", "eta"})
TRAILING = re.compile(r"(?:\\[,;!]|\\quad|\\qquad|\s)*[.,;]\s*$")
NAME_CALL = re.compile(r"^\s*(\\?[A-Za-z]+)\s*\(")


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
