"""Worked examples in the style of handcalcs: each number as its formula, the numbers put in, and its value.

A quantity's ``formula`` (``derive.core.Quantity``) names the example's input entries and earlier
quantities. ``HandPrinter`` prints the formula with the textbook printer, then the same tree with every
name replaced by its number (so both lines keep one term order), and the value beside the notes'.
``hand_lines`` checks that the formula, with the exact inputs and earlier values put in, gives the
quantity's exact value; a formula that does not is a ``HandcalcError``, never a line in the report.
The printer keeps the order a record writes its formula in (``order="none"``), so a formula built
unevaluated reads as the notes write it (``w_1 x_1 + w_2 x_2 + b``), and its numbers line in the same order.

Quantities that are the entries of one vector (``Example.vectors``) are preceded by one line with the vector's
matrix form (``reports.matrix_form``) in the example's names, shown only when it gives the entries' exact values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sympy as sp

from chainrule.errors import ChainruleError
from derive.core import Example, Quantity, VectorForm, registry
from reports.chain import structure
from reports.latex import Tex, tex_width
from reports.printer import BARE, FUNCTION_NAMES, TextbookPrinter, textbook
from verify.judge_decide import fixed

PLACES = 4  # decimals of a value the notes do not state (and of an earlier value put into a formula)
EXACT_DECIMALS = 6  # an exact value with at most this many decimals is shown exactly
LINE_WIDTH = 95.0  # tex_width of the widest formula-and-numbers line; a wider one shows the formula's structure
CHECK_DIGITS = 40  # a formula's value and the quantity's exact value must agree to this many digits


class HandcalcError(ChainruleError):
    """A worked example's formula does not give the value its record states."""


@dataclass(frozen=True)
class HandLine:
    """One quantity of a worked example: name, formula, numbers put in, value and the notes' value with its mark."""

    name: Tex
    formula: Tex
    numbers: Tex
    relation: Tex
    value: Tex
    notes: Tex
    mark: str  # "agrees", "rounded intermediates", "differs" or "" (the notes state no value)
    remark: Tex = Tex("")  # what the line is, in place of the notes' value (a vector's matrix form)

    @property
    def lead(self) -> Tex:
        """The relation after the name: ``=`` before a formula, else the value's own."""
        return Tex("=") if self.formula or self.numbers else self.relation

    @property
    def expr(self) -> Tex:
        """The right-hand side after ``lead``: formula, numbers and value, each shown part linked to the next."""
        parts = [p for p in (self.formula, self.numbers) if p]
        if not self.value:
            return Tex(" = ".join(parts))
        return Tex(" = ".join(parts) + (f" {self.relation} " if parts else "") + self.value)


class HandPrinter(TextbookPrinter):
    """The textbook printer where a named symbol prints as its LaTeX name, or as its number with ``\\cdot``."""

    def __init__(self, names: Mapping[sp.Basic, str], numbers: bool = False) -> None:
        super().__init__({"order": "none", **({"mul_symbol": "dot"} if numbers else {})})
        self._names = names

    def _named(self, expr: sp.Basic) -> str | None:
        """The name or number ``expr`` prints as, in parentheses when it has a sign or an operator inside."""
        text = self._names.get(expr)
        if text is None:
            return None
        return r"\left(" + text + r"\right)" if re.search(r"(?<!^)[-+/]|^-", text) else text

    def _print_Symbol(self, expr: sp.Symbol, style: str = "plain") -> str:
        return self._named(expr) or super()._print_Symbol(expr, style=style)

    def _print_Indexed(self, expr: sp.Indexed) -> str:
        return self._named(expr) or super()._print_Indexed(expr)

    def _print_Mul(self, expr: sp.Mul) -> str:
        tex = super()._print_Mul(expr)
        if self._settings["mul_symbol"] == "dot" and r"\cdot" not in tex and any(isinstance(a, sp.Add)
                                                                                  for a in expr.args):
            return re.sub(r"(?<=\S) (?=\\left\()", r" \\cdot ", tex)
        return tex

    def _print_Function(self, expr: sp.Basic, exp: str | None = None) -> str:
        name = type(expr).__name__
        if name in BARE and len(expr.args) == 1:  # sigma(z_1) keeps its argument here: the number goes in
            arg = self._names.get(expr.args[0]) or self._print(expr.args[0])  # no second pair of parentheses
            tex = FUNCTION_NAMES[name] + r"\left(" + arg + r"\right)"
            return tex if exp is None else "{" + tex + "}^{" + exp + "}"
        return super()._print_Function(expr, exp)


def decimal_text(value: sp.Expr, places: int | None = None) -> tuple[str, bool]:
    """``value`` as a decimal, exact when it has at most ``EXACT_DECIMALS`` decimals, and whether it is exact."""
    value = sp.nsimplify(value) if isinstance(value, sp.Float) else value
    if isinstance(value, sp.Rational):
        for k in range(EXACT_DECIMALS + 1):
            if (value * 10**k).is_integer:
                return (str(Decimal(int(value * 10**k)).scaleb(-k)) if k else str(int(value))), True
    return fixed(value, PLACES if places is None else places), False


def stated_places(text: str | None) -> int | None:
    """How many decimals a value written in the notes has (None when there is none)."""
    if text is None:
        return None
    return len(text.split(".")[1]) if "." in text else 0


def check_formula(example: Example, q: Quantity, exact: Mapping[sp.Basic, sp.Expr]) -> None:
    """Raise ``HandcalcError`` unless ``q.formula`` with the exact inputs and earlier values put in gives ``q.expr``."""
    assert q.formula is not None
    got = q.formula.xreplace(dict(exact))
    missing = sorted(str(a) for a in got.atoms(sp.Indexed) | got.free_symbols)
    if missing:
        raise HandcalcError(f"worked example {example.key}, {q.name}: the formula names {missing}, neither an "
                            "input entry (Example.symbols) nor an earlier quantity")
    gap = sp.N(got - q.expr, CHECK_DIGITS + 10)
    if not gap.is_number or abs(gap) > sp.Float(10) ** -CHECK_DIGITS:
        raise HandcalcError(f"worked example {example.key}, {q.name}: the formula gives {sp.N(got, 12)}, the record "
                            f"states {sp.N(q.expr, 12)}")


def vector_line(example: Example, form: VectorForm, exact: Mapping[sp.Basic, sp.Expr]) -> HandLine:
    """The line of ``form``: its matrix form in the example's names, checked to give its entries' exact values."""
    declared = registry().formula(form.record).matrix_form
    if declared is None:
        raise HandcalcError(f"worked example {example.key}, {form.name}: record {form.record} declares no matrix form")
    generic = declared.expr
    names: dict[sp.Basic, sp.Basic] = {}
    values: dict[sp.Basic, sp.Basic] = {}
    for sym in sorted(generic.atoms(sp.MatrixSymbol), key=str):
        if str(sym.name) not in form.bind:
            raise HandcalcError(f"worked example {example.key}, {form.name}: the matrix form of {form.record} names "
                                f"{sym.name}, which the example's VectorForm does not bind")
        name, source = form.bind[str(sym.name)]
        value = sp.ImmutableMatrix(example.inputs[source] if isinstance(source, str)
                                   else [exact[sp.Symbol(n)] for n in source])
        names[sym], values[sym] = sp.MatrixSymbol(name, *value.shape), value
    got = sp.Matrix(generic.xreplace(values).doit())
    want = [next(q.expr for q in example.quantities if q.name == n) for n in form.entries]
    if got.shape != (len(want), 1) or any(abs(sp.N(g - w, CHECK_DIGITS + 10)) > sp.Float(10) ** -CHECK_DIGITS
                                          for g, w in zip(got, want, strict=True)):
        raise HandcalcError(f"worked example {example.key}, {form.name}: the matrix form gives {sp.N(got, 12)}, "
                            f"not the entries {form.entries}")
    return HandLine(Tex(form.name), Tex(textbook(generic.xreplace(names))), Tex(""), Tex(""), Tex(""), Tex(""), "",
                    Tex(form.remark))


def _mark(q: Quantity, shown: str, verdict: str) -> str:
    """Whether the notes' value agrees with ours, is right only from rounded intermediates, or differs."""
    if q.stated is None:
        return ""
    if Decimal(q.stated) == Decimal(shown):
        return "agrees"
    return "rounded intermediates" if verdict == "correct" else "differs"


def hand_lines(example: Example, verdicts: Mapping[str, str] | None = None) -> tuple[HandLine, ...]:
    """One ``HandLine`` per quantity of ``example``, each formula checked against the quantity's exact value."""
    exact: dict[sp.Basic, sp.Expr] = dict(example.symbols)
    names: dict[sp.Basic, str] = {}
    numbers: dict[sp.Basic, str] = {k: decimal_text(v)[0] for k, v in example.symbols.items()}
    lines = []
    vectors = {form.entries[0]: form for form in example.vectors}
    for q in example.quantities:
        if q.name in vectors:
            lines.append(vector_line(example, vectors[q.name], exact))
        shown, is_exact = decimal_text(q.expr, stated_places(q.stated))
        formula = numbers_tex = Tex("")
        if q.formula is not None:
            check_formula(example, q, exact)
            formula = Tex(HandPrinter(names).doprint(q.formula))
            numbers_tex = Tex(HandPrinter(numbers, numbers=True).doprint(q.formula))
            if _same(formula, q.latex):
                formula = Tex("")
            if tex_width(formula + numbers_tex) > LINE_WIDTH:
                formula, numbers_tex = Tex(r"\text{numeric check of }" + structure(q.formula)), Tex("")
        elif tex_width(textbook(q.expr)) <= LINE_WIDTH / 2 and not is_exact:
            formula = Tex(textbook(q.expr))
        line = HandLine(Tex(q.latex), formula, numbers_tex, Tex("=" if is_exact else r"\approx"),
                              Tex(shown), Tex(q.stated or ""),
                        _mark(q, shown, (verdicts or {}).get(q.name, "")))
        if not (q.formula is None and any(_repeats(line, old) for old in lines)):
            lines.append(line)
        key = sp.Symbol(q.name)
        exact[key], names[key], numbers[key] = q.expr, q.latex, shown
    return tuple(lines)


def _repeats(line: HandLine, earlier: HandLine) -> bool:
    """Whether ``line`` says nothing ``earlier`` does not: the same name, value, notes' value and mark."""
    return (line.name, line.value, line.notes, line.mark) == (earlier.name, earlier.value, earlier.notes, earlier.mark)


def _same(tex: str, name: str) -> bool:
    """Whether two LaTeX spellings differ only in spaces and braces (a formula that repeats its name)."""
    squash = re.compile(r"[\s{}]")
    return squash.sub("", tex) == squash.sub("", name)


def verdicts_of(example: Example, checks: Sequence[Any] | None) -> dict[str, str]:
    """The worked-example checks' verdict (``verify.examples``) of each quantity of ``example``, by name."""
    return {str(getattr(c, "quantity", "")): str(getattr(c, "verdict", "")) for c in checks or ()
            if str(getattr(c, "example", "")) in {example.key, example.title}}


def given(example: Example) -> tuple[tuple[Tex, Tex], ...]:
    """The inputs as the formulas name them (``Example.symbols``), entries gathered into their vector or matrix."""
    groups: dict[sp.Basic, dict[tuple[int, ...], sp.Expr]] = {}
    for key, value in example.symbols.items():
        base, index = (key.base, tuple(int(i) for i in key.indices)) if isinstance(key, sp.Indexed) else (key, ())
        groups.setdefault(base, {})[index] = value
    out = []
    for base, cells in groups.items():
        if () in cells:
            shown: sp.Basic = _as_decimals(cells[()])
        else:
            rows = max(i[0] for i in cells)
            cols = max(i[1] if len(i) > 1 else 1 for i in cells)
            shown = sp.Matrix([[_as_decimals(cells.get((r, c), cells.get((r,), 0))) for c in range(1, cols + 1)]
                               for r in range(1, rows + 1)])
            values = [cells[i] for i in sorted(cells)]
            if cols == 1 and any(isinstance(v, sp.MatrixBase) and v.rows == 1 and list(v) == values
                                 for v in example.inputs.values()):
                shown = shown.T  # a row vector of the inputs, such as W^{(2)}
        out.append((Tex(textbook(base)), Tex(textbook(shown))))
    return tuple(out)


def _as_decimals(value: sp.Expr) -> sp.Basic:
    """A number as a symbol spelled as its decimal, so that the printer shows 0.5 instead of 1/2."""
    return sp.Symbol(decimal_text(value)[0])
