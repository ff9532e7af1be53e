"""Map the notes' names onto a record's: symbols, indexed bases, functions, Leibniz derivatives, components.

``align`` renames what the notes write so that it can be compared with what the record derived, and says
which renames it made; ``context_for`` is the parsing context of a record (its indexed and plain names, its
generic functions).
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Iterator, Mapping

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.matexpr import MatrixElement

from derive.core import Formula
from derive.functions import Defined
from verify.audit_claims import derived
from verify.notation import Context, Hadamard, Partial, Top, decimal

#: What reading the notes' names onto a record's and comparing the two may raise: caught, the verdict is "unknown".
COMPARE_ERRORS = (TypeError, ValueError, KeyError, ZeroDivisionError, NotImplementedError, AttributeError,
                  RecursionError, sp.PolynomialError, sp.ShapeError)


def record_atoms(*exprs: object) -> tuple[dict[str, sp.Basic], frozenset[str]]:
    """Names of the plain and matrix symbols and of the IndexedBase labels in a record's expressions."""
    names: dict[str, sp.Basic] = {}
    labels: set[str] = set()
    for e in exprs:
        if not isinstance(e, sp.Basic):
            continue
        for x in e.atoms(sp.Indexed):
            labels.add(str(x.base.label))
        for s in e.atoms(sp.Symbol, sp.MatrixSymbol):
            names.setdefault(str(s.name), s)
    return names, frozenset(labels)


def record_functions(*exprs: object) -> dict[str, sp.FunctionClass]:
    """The undefined functions of a record's expressions (a generic activation sigma), by canonical name."""
    return {canonical(str(app.func)): app.func for e in exprs if isinstance(e, sp.Basic)
            for app in e.atoms(AppliedUndef)}


def context_for(formula: Formula) -> Context:
    """The parsing context of a claim: which names its record indexes, which it keeps plain, its generic functions."""
    exprs = (formula.definition, formula.stated, derived(formula))
    names, labels = record_atoms(*exprs)
    functions = frozenset(str(f) for f in record_functions(*exprs).values())
    return Context(indexed=labels, symbols=frozenset(names) - labels, functions=functions)


def _free_plain(expr: sp.Basic) -> set[sp.Symbol]:
    """Free symbols that are not IndexedBase labels."""
    labels = {x.base.label for x in expr.atoms(sp.Indexed)}
    return {s for s in expr.free_symbols if isinstance(s, sp.Symbol) and s not in labels}


def canonical(name: str) -> str:
    r"""A name as compared across notes and records: no bold, ``\ell`` as ``l``, ``\hat y`` as ``\hat{y}``.

    ``\mathbf{W}^{(\ell)}`` -> ``W^{(l)}``, ``\boldsymbol{\delta}`` -> ``delta``, ``\hat{\mathbf{y}}`` -> ``\hat{y}``.
    """
    name = re.sub(r"\\(?:mathbf|boldsymbol|bm)\{(\\?[A-Za-z]+)\}", r"\1", name)
    name = re.sub(r"\\ell(?![A-Za-z])", "l", name)
    name = re.sub(r"\\(hat|bar|tilde)\s*([A-Za-z])(?![A-Za-z{])", r"\\\1{\2}", name)
    name = re.sub(r"\s+", "", name)
    return name[1:] if re.fullmatch(r"\\[A-Za-z]+", name) else name


class SpellingBlind(Mapping[str, sp.Basic]):
    r"""A claim's symbol table looked up by name, else by canonical name (``\boldsymbol{W}^{(l)}`` finds
    the entry written ``\mathbf{W}^{(\ell)}``)."""

    def __init__(self, table: Mapping[str, sp.Basic]) -> None:
        self.table = table
        self.canon: dict[str, str] | None = None

    def _key(self, name: str) -> str | None:
        if name in self.table:
            return name
        if self.canon is None:
            self.canon = {canonical(k): k for k in self.table}
        return self.canon.get(canonical(name))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._key(name) is not None

    def __getitem__(self, name: str) -> sp.Basic:
        key = self._key(name)
        if key is None:
            raise KeyError(name)
        return self.table[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.table)

    def __len__(self) -> int:
        return len(self.table)


def align(parsed: sp.Basic, formula: Formula, target: sp.Basic,
          explicit: Mapping[str, sp.Basic]) -> tuple[sp.Basic, dict[str, str]]:
    """Rename the notes' symbols to the record's; return the expression and the renames made.

    In order: the record's ``notation`` entries; symbols of the same name (or the
    same name without bold styling, for the record's MatrixSymbols); then, when exactly one integer
    index of the notes and one of the record are left unmatched, those two (``z_k`` vs ``z_j``).
    """
    shown: dict[str, str] = {}
    subs: dict[sp.Basic, sp.Basic] = {}
    explicit = SpellingBlind(explicit)
    parsed = _rename_functions(parsed, record_functions(formula.definition, formula.stated, target), shown)
    for x in parsed.atoms(sp.Indexed):
        name = str(x.base.label)
        if name in explicit and isinstance(explicit[name], sp.IndexedBase):
            subs[x.base] = explicit[name]
            shown[name] = str(explicit[name])
    indices = {s for x in parsed.atoms(sp.Indexed) for s in x.indices if isinstance(s, sp.Symbol)}
    for s in _free_plain(parsed) | indices:
        if s.name in explicit and not isinstance(explicit[s.name], sp.IndexedBase):
            subs[s] = explicit[s.name]
            shown[s.name] = str(explicit[s.name])
    for app in parsed.atoms(AppliedUndef):
        key = f"{app.func.__name__}({', '.join(map(str, app.args))})"
        if key in explicit:
            subs[app] = explicit[key]
            shown[key] = str(explicit[key])
    names, labels = record_atoms(formula.definition, formula.stated, target, *formula.variables)
    names = {k: v for k, v in names.items() if k not in labels}
    for app in parsed.atoms(AppliedUndef):
        spelled = _operator_name(app)
        if app not in subs and spelled in names:
            subs[app] = names[spelled]
            shown[str(app)] = spelled
    by_canon = {canonical(k): v for k, v in names.items()}
    bases = {canonical(label): sp.IndexedBase(label) for label in labels}
    for x in parsed.atoms(sp.Indexed):
        label = str(x.base.label)
        if label not in labels and x.base not in subs and canonical(label) in bases:
            subs[x.base] = bases[canonical(label)]
            shown[label] = str(bases[canonical(label)])
    components = _components(target)
    for s in (_free_plain(parsed) | _bound(parsed)) - set(subs):
        match = names.get(s.name) or by_canon.get(canonical(s.name)) or components.get(canonical(s.name))
        if match is not None and match != s:
            subs[s] = match
            if str(match) != s.name:
                shown[s.name] = str(match)
    expr = _rebuild(parsed, subs) if subs else parsed
    expr = _read_partials(expr, explicit, shown)
    expr = _name_applied_slopes(expr, labels, shown)
    if "(entry)" in explicit:
        expr = _entry_of_applied(expr, explicit["(entry)"])
    record_free = {s.name for s in _free_plain(target)}
    mine = sorted((s for s in _free_plain(expr) if s.name not in record_free and s.is_integer), key=str)
    theirs = sorted((s for s in _free_plain(target) if s.name not in {t.name for t in _free_plain(expr)}
                     and s.is_integer), key=str)
    if len(mine) == 1 and len(theirs) == 1:
        expr = expr.xreplace({mine[0]: theirs[0]})
        shown[mine[0].name] = theirs[0].name
    return expr, shown


def _rename_functions(expr: sp.Basic, functions: Mapping[str, sp.FunctionClass], shown: dict[str, str]) -> sp.Basic:
    """Write the notes' undefined functions as the record's of the same canonical name (``sigma^{(\\ell)}``)."""
    def renamed(app: AppliedUndef) -> sp.Basic:
        same = functions[canonical(str(app.func))]
        shown[str(app.func)] = str(same)
        return same(*app.args)

    return expr.replace(lambda e: isinstance(e, AppliedUndef) and canonical(str(e.func)) in functions
                        and functions[canonical(str(e.func))] != e.func, renamed)


def _entry_of_applied(expr: sp.Basic, at: sp.Tuple) -> sp.Basic:
    """Entry ``at`` of a matrix expression; a function applied entrywise to one, ``sigma(W a + b)``, at that entry."""
    if isinstance(expr, sp.MatrixExpr):
        return matrix_entry_of(expr, at)
    if isinstance(expr, (AppliedUndef, Defined)) and len(expr.args) == 1 and isinstance(expr.args[0], sp.MatrixExpr):
        return expr.func(matrix_entry_of(expr.args[0], at))
    return expr


def _spelled(x: sp.Basic) -> str:
    """How a derivative's numerator or denominator is named in a ``notation`` key: its canonical name or base label."""
    return canonical(str(x.base.label) if isinstance(x, sp.Indexed) else str(x))


def _read_partials(expr: sp.Basic, explicit: Mapping[str, sp.Basic], shown: dict[str, str]) -> sp.Basic:
    r"""Read each Leibniz derivative the notes write (``Partial``) through the notation key ``\partial N/\partial D``.

    Its value is a Lambda of the numerator's indices, then the denominator's: ``\partial s/\partial z`` ->
    ``Lambda((i, j), s_i (delta_ij - s_j))`` reads ``\frac{\partial s_i}{\partial z_k}`` as ``s_i (delta_ik - s_k)``.
    A derivative with no such key raises KeyError (the claim is then "unknown", never correct).
    """
    def value(p: Partial) -> sp.Basic:
        num, den = p.args
        key = f"\\partial {_spelled(num)}/\\partial {_spelled(den)}"
        rule = explicit.get(key)
        indices = [*getattr(num, "indices", ()), *getattr(den, "indices", ())]
        if not isinstance(rule, sp.Lambda) or len(rule.variables) != len(indices):
            raise KeyError(f"no reading of the derivative {key} in the record's notation")
        out = rule(*indices)
        shown[str(p)] = str(out)
        return out

    return expr.replace(lambda e: isinstance(e, Partial), value) if expr.has(Partial) else expr


def _operator_name(app: AppliedUndef) -> str:
    r"""How a record names an operator applied to a symbol: ``\text{Var}(W)`` -> ``\mathrm{Var}(W)``."""
    m = re.fullmatch(r"\\(?:text|mathrm|operatorname)\{(\w+)\}", app.func.__name__)
    head = f"\\mathrm{{{m.group(1)}}}" if m else app.func.__name__
    return f"{head}({', '.join(map(str, app.args))})"


def _plain_label(name: str) -> str:
    """A label compared without backslashes or bold: ``\\sigma'(z^{(\\ell)})`` -> ``sigma'(z^{(l)})``."""
    return canonical(name).replace("\\", "")


def _name_applied_slopes(expr: sp.Basic, labels: frozenset[str], shown: dict[str, str]) -> sp.Basic:
    """Write ``sigma'(z[j])`` as the record's entry ``sigma'(z)[j]`` when the record names that vector."""
    by_plain = {_plain_label(label): label for label in labels}

    def entry(app: AppliedUndef) -> sp.Basic:
        (arg,) = app.args
        label = by_plain.get(_plain_label(f"{app.func.__name__}({arg.base.label})"))
        if label is None:
            return app
        shown[str(app)] = f"{label}{list(arg.indices)}"
        return sp.IndexedBase(label)[arg.indices]

    return expr.replace(lambda e: isinstance(e, AppliedUndef) and len(e.args) == 1
                        and isinstance(e.args[0], sp.Indexed), entry)


def matrix_entry_of(expr: sp.MatrixExpr, at: sp.Tuple) -> sp.Basic:
    """Entry ``at`` (1-based row, column indices) of a matrix expression, written with IndexedBase entries.

    Each MatrixSymbol ``M`` stands for the IndexedBase of the same name (``M[i]`` for a column vector,
    ``M[i, j]`` otherwise); the sums SymPy writes over 0-based dummies are shifted to 1-based.
    """
    row, col = (tuple(at) + (sp.Integer(1),))[:2]
    if expr.shape[1] == 1:
        col = sp.Integer(1)
    entry = expr[row - 1, col - 1]

    def shift(total: sp.Sum) -> sp.Sum:
        (dummy, lo, hi), = total.limits
        index = sp.Dummy("k", integer=True, positive=True)
        return sp.Sum(total.function.xreplace({dummy: index - 1}), (index, lo + 1, hi + 1))

    def indexed(e: MatrixElement) -> sp.Indexed:
        base = sp.IndexedBase(e.parent.name)
        return base[e.i + 1] if e.parent.shape[1] == 1 else base[e.i + 1, e.j + 1]

    entry = entry.replace(lambda e: isinstance(e, sp.Sum), shift)
    return entry.replace(lambda e: isinstance(e, MatrixElement), indexed)


def _components(target: sp.Basic) -> dict[str, sp.Basic]:
    """Vector names the record writes by component: canonical label -> its one indexed entry.

    The notes write ``\\hat{\\mathbf{y}} - \\mathbf{y}``; a record that works with components states
    ``\\hat{y}[j] - y[j]``. A bold name stands for the record's entry when that base appears with one
    index tuple only.
    """
    seen: dict[str, set[sp.Basic]] = {}
    for x in target.atoms(sp.Indexed):
        seen.setdefault(canonical(str(x.base.label)), set()).add(x)
    return {label: next(iter(entries)) for label, entries in seen.items() if len(entries) == 1}


def _rebuild(expr: sp.Basic, subs: Mapping[sp.Basic, sp.Basic]) -> sp.Basic:
    """``expr.xreplace(subs)``, turning products and sums of matrices into MatMul/MatAdd."""
    if expr in subs:
        return subs[expr]
    if not expr.args:
        return expr
    args = [_rebuild(a, subs) for a in expr.args]
    if any(isinstance(a, sp.MatrixExpr) for a in args):
        if isinstance(expr, sp.Mul):
            return sp.MatMul(*args)
        if isinstance(expr, sp.Add):
            return sp.MatAdd(*args)
        if isinstance(expr, sp.Pow):
            return sp.MatPow(*args)
        if isinstance(expr, Top):
            return args[0].T
        if isinstance(expr, (AppliedUndef, Defined)) and len(args) == 1:
            return ElementwiseApplyFunction(expr.func, args[0])  # activations apply entrywise
        if isinstance(expr, Hadamard):
            scalars = [a for a in args if not isinstance(a, sp.MatrixExpr)]
            return functools.reduce(operator.mul, args) if scalars else sp.hadamard_product(*args)
    if isinstance(expr, Hadamard):
        return sp.Mul(*args)
    return expr.func(*args)


def _bound(expr: sp.Basic) -> set[sp.Symbol]:
    """Summation indices of the Sums and Products in ``expr``."""
    return {lim[0] for s in expr.atoms(sp.Sum, sp.Product) for lim in s.limits}


def _exact_floats(expr: sp.Basic) -> sp.Basic:
    """Replace each Float by the decimal it prints as (0.044715 -> 8943/200000)."""
    exact = {}
    for f in expr.atoms(sp.Float):
        d = decimal(str(f))
        if d is not None:
            exact[f] = d.value
    return expr.xreplace(exact) if exact else expr
