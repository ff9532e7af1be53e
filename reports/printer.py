"""The report's textbook printer: SymPy's ``LatexPrinter`` with the notation a lecturer writes.

Two tables drive it, in the style of ``sympy/codegen/rewriting.py``: ``REWRITES`` are rewrites of the
expression tree applied before printing (each a named query/value pair that keeps the value of the
expression: ``-(s - 1) s`` becomes ``s (1 - s)``, a 1x1 matrix becomes its entry), and ``NAMES`` are
regular-expression spellings applied to symbol names (``(l)`` becomes ``(\\ell)``). The printer itself
only overrides what SymPy orders differently from a textbook: a sum starts with its positive terms
(``\\hat y - y``, ``1 - \\beta^t``, ``\\beta^{t - k}``), a product puts its sums last (``\\sigma (1 - \\sigma)``),
an entry of a matrix reads ``W^{(\\ell)}_{kj}``, a vector or matrix symbol is bold, and ``\\sigma(z)`` of the
plain variable reads ``\\sigma``. Every rewrite is checked to keep the value (``tests/test_report_handout.py``).

With the setting ``order="none"`` the printer keeps the order an expression was written in: a formula a
record builds unevaluated (``with sympy.evaluate(False)``, e.g. a worked example's ``w_1 x_1 + w_2 x_2 + b``)
prints its sums and products term by term and factor by factor as written, nested ones flattened.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.printing.latex import LatexPrinter


@dataclass(frozen=True)
class Rewrite:
    """A named rewrite of the expression tree: every subexpression where ``query`` holds becomes ``value``."""

    name: str
    query: Callable[[Any], bool]
    value: Callable[[Any], sp.Basic]

    def __call__(self, expr: sp.Basic) -> sp.Basic:
        """``expr`` with this rewrite applied bottom-up."""
        return expr.replace(self.query, self.value) if isinstance(expr, sp.Basic) else expr


def _negatives(add: sp.Add) -> int:
    """How many terms of ``add`` print with a minus sign."""
    return sum(1 for t in add.args if t.could_extract_minus_sign())


def _flippable(factor: sp.Basic) -> sp.Add | None:
    """The sum inside ``factor`` (a sum, or a sum to an odd power) with a negative constant term (``s - 1``)."""
    base, exp = (factor.base, factor.exp) if isinstance(factor, sp.Pow) else (factor, sp.Integer(1))
    if not isinstance(base, sp.Add) or not (exp.is_Integer and int(exp) % 2):
        return None
    constant = base.as_coeff_Add()[0]
    return base if constant.is_negative and _negatives(sp.expand(-base)) <= _negatives(base) else None


def _has_flippable(expr: sp.Basic) -> bool:
    """A product with a negative coefficient and a sum factor whose sign can absorb it."""
    if not isinstance(expr, sp.Mul):
        return False
    coeff, _ = expr.as_coeff_Mul()
    return bool(coeff.is_negative) and any(_flippable(f) is not None for f in expr.args)


def _flip(expr: sp.Mul) -> sp.Basic:
    """``-c (s - 1) t`` as ``c (1 - s) t``: the minus sign moved into one sum factor."""
    args = list(expr.args)
    k = next(i for i, f in enumerate(args) if _flippable(f) is not None)
    base = _flippable(args[k])
    assert base is not None
    negated = sp.expand(-base)
    args[k] = negated if args[k] is base else sp.Pow(negated, args[k].exp, evaluate=False)
    coeff = -args[0] if args[0].is_Number else None
    rest = args[1:] if coeff is not None else args
    factors = ([coeff] if coeff is not None and coeff != 1 else []) + rest
    if coeff is None:
        raise ValueError("a flippable product has a numeric coefficient")
    return sp.Mul(*factors, evaluate=False)


# Rewrites applied (in this order) before printing; each keeps the value of the expression.
REWRITES: tuple[Rewrite, ...] = (
    Rewrite("a minus sign moves into a sum factor", _has_flippable, _flip),
)

# Spellings of symbol names (regular expression -> replacement), applied to the printed name.
NAMES: tuple[tuple[str, str], ...] = (
    (r"\(l([+-]1)?\)", r"(\\ell\1)"),
    (r"_\{l-1\}", r"_{\\ell-1}"),
    (r"_\{l\+1\}", r"_{\\ell+1}"),
    (r"_\{?l\}?$", r"_{\\ell}"),
    (r"\{in\}", r"{\\mathrm{in}}"),
    (r"\{out\}", r"{\\mathrm{out}}"),
    (r"^epsilon$", r"\\epsilon"),
    (r"^(alpha|beta|gamma|delta|eta|theta|lambda|mu|sigma|phi)(?=[\^_]|$)", r"\\\1"),
)

# Function symbols printed without their argument when it is the plain variable (sigma(z) -> sigma).
BARE: frozenset[str] = frozenset({"sigma", "sigmoid"})
# Function names and how they print.
FUNCTION_NAMES: dict[str, str] = {"sigma": r"\sigma", "sigmoid": r"\sigma", "Phi": r"\Phi", "phi": r"\varphi",
                                  "L": "L", "softmax": r"\operatorname{softmax}", "ReLU": r"\operatorname{ReLU}"}
# Greek letters that are bold as vectors with \boldsymbol (Latin ones use \mathbf).
_GREEK_BOLD = re.compile(r"^\\?(alpha|beta|gamma|delta|epsilon|theta|lambda|mu|sigma|nabla)")


def respell(name: str) -> str:
    """A printed symbol name with the spellings of ``NAMES`` applied."""
    for pattern, repl in NAMES:
        name = re.sub(pattern, repl, name)
    return name


def bold(name: str) -> str:
    """A vector or matrix name in bold: its head letter bold, its super- and subscripts as they are."""
    gradient = re.fullmatch(r"\\nabla_\{(.*)\}(.*)", name)
    if gradient:  # the gradient with respect to a vector: the vector is bold, the operator is not
        return r"\nabla_{" + bold(gradient[1]) + "}" + gradient[2]
    applied = re.fullmatch(r"(\\[A-Za-z]+'?)\((.*)\)", name)
    if applied:  # sigma'(z^{(l)}) as a vector: the function applied to a bold vector
        return applied[1] + "(" + bold(applied[2]) + ")"
    m = re.match(r"^(\\?[A-Za-z]+|\\hat\{[a-z]\})(.*)$", name)
    if m is None:
        return name
    head, rest = m.groups()
    if _GREEK_BOLD.match(head) or head.startswith("\\"):
        return r"\boldsymbol{" + (head if head.startswith("\\") else "\\" + head) + "}" + rest
    return r"\mathbf{" + head + "}" + rest


def operands(expr: sp.Basic) -> list[sp.Basic]:
    """The terms of a sum (factors of a product) in the order written, a nested sum (product) spread in place."""
    out: list[sp.Basic] = []
    for a in expr.args:
        out.extend(operands(a) if a.func is expr.func else [a])
    return out


def negated(term: sp.Basic) -> sp.Basic:
    """``-term``, a written product keeping its order (``-1 \\cdot eta \\cdot g`` becomes ``eta \\cdot g``)."""
    if isinstance(term, sp.Mul):
        factors = operands(term)
        if factors[0].is_Number and factors[0].is_negative:
            rest = ([-factors[0]] if factors[0] != -1 else []) + factors[1:]
            return rest[0] if len(rest) == 1 else sp.Mul(*rest, evaluate=False)
    return -term


def rewrite(expr: Any) -> Any:
    """``expr`` with every rule of ``REWRITES`` applied."""
    for rule in REWRITES:
        expr = rule(expr)
    return expr


class TextbookPrinter(LatexPrinter):
    """SymPy's LaTeX printer with textbook term order, bold vectors and the names of ``NAMES``."""

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        super().__init__({"fold_short_frac": False, **(settings or {})})

    def doprint(self, expr: Any) -> str:
        """The LaTeX of ``expr`` after ``REWRITES``."""
        return super().doprint(rewrite(expr))

    @property
    def written(self) -> bool:
        """Whether sums and products print in the order they were written (the setting ``order="none"``)."""
        return self._settings.get("order") == "none"

    def _as_ordered_terms(self, expr: sp.Basic, order: str | None = None) -> list[sp.Basic]:
        if self.written and isinstance(expr, sp.Add):
            return operands(expr)
        terms = list(super()._as_ordered_terms(expr, order=order))
        if isinstance(expr, sp.Add):
            terms.sort(key=lambda t: bool(t.could_extract_minus_sign()))  # stable: positive terms first
        return terms

    def _print_Add(self, expr: sp.Add, order: str | None = None) -> str:
        if not self.written:
            return super()._print_Add(expr, order=order)
        tex = ""
        for i, term in enumerate(operands(expr)):
            if i and term.could_extract_minus_sign():
                tex, term = tex + " - ", negated(term)
            elif i:
                tex += " + "
            term_tex = self._print(term)
            tex += r"\left(" + term_tex + r"\right)" if self._needs_add_brackets(term) else term_tex
        return tex

    def _print_written_Mul(self, expr: sp.Mul) -> str | None:
        """A product as written, factor by factor (None when it divides: SymPy's fraction printing takes it)."""
        factors = operands(expr)
        if any(f.is_Rational and not f.is_Integer or isinstance(f, sp.Pow) and f.exp.is_negative for f in factors):
            return None
        lead = ""
        if factors[0] == -1 and len(factors) > 1:
            lead, factors = "- ", factors[1:]
        pieces = []
        for i, f in enumerate(factors):
            tex = self._print(f)
            if self._needs_mul_brackets(f, first=i == 0, last=i == len(factors) - 1):
                tex = r"\left(" + tex + r"\right)"
            pieces.append(tex)
        return lead + self._settings["mul_symbol_latex"].join(pieces)

    def _print_Mul(self, expr: sp.Mul) -> str:
        written = self._print_written_Mul(expr) if self.written and isinstance(expr, sp.Mul) else None
        if written is not None:
            return written
        num, den = sp.fraction(expr, exact=True)
        if den == 1 and not expr.could_extract_minus_sign() and any(isinstance(a, sp.Add) for a in expr.args):
            coeff, rest = expr.as_coeff_Mul()
            factors = sorted(sp.Mul.make_args(rest), key=lambda f: (isinstance(f, sp.Add), isinstance(f, sp.log)))
            pieces = [self._print(f) if not isinstance(f, sp.Add) else r"\left(" + self._print(f) + r"\right)"
                      for f in factors]
            lead = "" if coeff == 1 else self._print(coeff) + " "
            return lead + " ".join(pieces)
        return super()._print_Mul(expr)

    def _print(self, expr: Any, **kwargs: Any) -> str:
        if isinstance(expr, sp.Function) and type(expr).__name__ in FUNCTION_NAMES:
            return self._print_Function(expr, kwargs.get("exp"))
        return super()._print(expr, **kwargs)

    def _print_MatrixBase(self, expr: sp.MatrixBase) -> str:
        if expr.shape == (1, 1):  # a 1x1 matrix such as [b] is its entry
            return self._print(expr[0, 0])
        return super()._print_MatrixBase(expr)

    _print_ImmutableMatrix = _print_ImmutableDenseMatrix = _print_Matrix = _print_MatrixBase
    _print_MutableDenseMatrix = _print_MatrixBase

    def _print_Symbol(self, expr: sp.Symbol, style: str = "plain") -> str:
        return respell(super()._print_Symbol(expr, style=style))

    def _print_IndexedBase(self, expr: sp.IndexedBase) -> str:
        return respell(str(expr.label)) if "\\" in str(expr.label) or "^" in str(expr.label) else \
            respell(self._print(expr.label))

    def _print_Indexed(self, expr: sp.Indexed) -> str:
        base = self._print(expr.base)
        indices = [self._print(i) for i in expr.indices]
        sub = "_{" + ("" if all(len(i) == 1 for i in indices) else ", ").join(indices) + "}"
        applied = re.fullmatch(r"(\\[A-Za-z]+'?)\((.*)\)", base)
        if applied:  # an entry of sigma'(z^{(l)}) reads sigma'(z^{(l)}_j)
            return applied[1] + r"\left(" + applied[2] + sub + r"\right)"
        if "_" in base or base.endswith("}}") or " " in base:
            base = "{" + base + "}"
        return base + sub

    def _print_MatrixSymbol(self, expr: sp.MatrixSymbol) -> str:
        if expr.shape == (1, 1):  # a 1x1 matrix, such as the output layer's delta^{(2)}, is its entry: not bold
            return respell(str(expr.name))
        return bold(respell(str(expr.name)))

    def _print_Transpose(self, expr: sp.Transpose) -> str:
        inner = self._print(expr.arg)
        if not isinstance(expr.arg, sp.MatrixSymbol):
            inner = r"\left(" + inner + r"\right)"
        elif re.search(r"\^\{[^{}]*\}$", inner):  # W^{(l)} transposed reads W^{(l)\top}
            return inner[:-1] + r"\top}"
        return inner + r"^{\top}"

    def _print_HadamardProduct(self, expr: sp.HadamardProduct) -> str:
        return r" \odot ".join(r"\left(" + self._print(a) + r"\right)" if isinstance(a, sp.MatMul | sp.MatAdd)
                                else self._print(a) for a in expr.args)

    def _print_Function(self, expr: sp.Basic, exp: str | None = None) -> str:
        if isinstance(expr, AppliedUndef) or type(expr).__name__ in FUNCTION_NAMES:
            name = type(expr).__name__ if not isinstance(expr, AppliedUndef) else expr.func.__name__
            head = FUNCTION_NAMES.get(name, respell(self._print(sp.Symbol(name))))
            if name in BARE and len(expr.args) == 1 and isinstance(expr.args[0], sp.Symbol):
                tex = head
            else:
                tex = head + r"\left(" + ", ".join(self._print(a) for a in expr.args) + r"\right)"
            return tex if exp is None else "{" + tex + "}^{" + exp + "}"
        return super()._print_Function(expr, exp)

    def _print_Tuple(self, expr: sp.Tuple) -> str:
        # a list of values, not an interval: "0, \infty" rather than "(0, \infty)"
        return r",\quad ".join(self._print(a) for a in expr.args)

    def _print_BooleanTrue(self, expr: sp.Basic) -> str:
        return r"\checkmark"

    def _print_Infinity(self, expr: sp.Basic) -> str:
        return r"\infty"


def textbook(expr: Any) -> str:
    """The textbook LaTeX of ``expr`` (``TextbookPrinter``)."""
    return TextbookPrinter().doprint(expr)
