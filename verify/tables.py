"""Read a table row with its column headers: a "Derivative" cell states the derivative of the function the
row defines, a "Range" cell states that function's image.

The row's function is the cell under a header that names a function of one variable (``$\\sigma(z)$``,
``$f(x)$``) or says "formula", "definition" or "function"; its variable is the header's argument, else the
cell's only free name. A derivative is compared with SymPy's by ``verify.judge_decide.decide_equal``; a range
with ``sympy.calculus.util.function_range`` by ``derive.proof.compare_sets``. A row with a parameter
(``\\max(\\alpha z, z)``) is judged only when it holds for every value tried; otherwise it is unknown, since
the table does not say what the parameter is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import sympy as sp
from sympy.calculus.util import function_range

from derive.functions import unfold
from derive.proof import compare_sets
from verify.budget import TooLargeError, within
from verify.judge import BUDGET_S, LinkVerdict
from verify.judge_decide import UndecidedError, decide_equal
from verify.judge_resolve import context_for, new_reading, parse_member
from verify.notation import NotationError, parse_prose_cases, parse_set
from verify.notes import Cell, Math, Notes, Row

FUNCTION_HEADER = re.compile(r"(?i)formula|definition|function|^\s*\$?\\?[A-Za-z]+\s*\(\s*\\?[A-Za-z]+\s*\)\s*\$?\s*$")
HEADER_CALL = re.compile(r"\(\s*(\\?[A-Za-z]+)\s*\)")
DERIVATIVE_HEADER = re.compile(r"(?i)deriv|gradient|slope")
RANGE_HEADER = re.compile(r"(?i)range|image|output values")


def _cell_math(notes: Notes, row: Row, cell: Cell) -> Math | None:
    """The math fragment of a cell (the first one when a cell holds several)."""
    return next((m for m in notes.math if m.line == row.line and m.cell == cell.column), None)


def _row_function(notes: Notes, row: Row, header: Row) -> tuple[sp.Expr, sp.Symbol] | None:
    """The function a row defines and its variable, or None."""
    for cell, head in zip(row.cells, header.cells, strict=False):
        if not FUNCTION_HEADER.search(head.text) or DERIVATIVE_HEADER.search(head.text):
            continue
        math = _cell_math(notes, row, cell)
        if math is None:
            continue
        try:
            value = parse_member(math.latex.split("=")[-1], new_reading(), False)
        except NotationError:
            return None
        if not isinstance(value, sp.Expr):
            return None
        named = HEADER_CALL.search(head.text)
        names = {s.name: s for s in value.free_symbols if isinstance(s, sp.Symbol)}
        var = names.get(named.group(1).lstrip("\\")) if named else None
        if var is None and len(names) == 1:
            var = next(iter(names.values()))
        return (unfold(value), var) if var is not None else None
    return None


def _derivative_verdict(expr: sp.Expr, var: sp.Symbol, cell: Cell, math: Math) -> tuple[str, str]:
    """The derivative cell against d expr / d var."""
    reading = new_reading()
    try:
        if len([s for s in cell.segments if s[1].strip()]) > 1:
            stated = parse_prose_cases(cell.segments, context_for(reading))
        else:
            stated = parse_member(math.latex, reading, False)
    except NotationError as e:
        return "unknown", f"not read: {e}"
    stated = stated.xreplace({s: var for s in stated.free_symbols if isinstance(s, sp.Symbol) and s.name == var.name})
    derived = sp.diff(expr, var)
    verdict, reason = decide_equal(unfold(stated), derived)
    if verdict == "error" and len(expr.free_symbols) > 1:
        return "unknown", "depends on a parameter whose values the table does not give"
    return verdict, f"the derivative of the row's function: {reason}"


def _range_verdict(expr: sp.Expr, var: sp.Symbol, math: Math) -> tuple[str, str]:
    """The range cell against the function's image over the reals."""
    try:
        stated = parse_set(math.latex.split(",")[0] if math.latex.count(",") > 1 else math.latex)
    except NotationError as e:
        return "unknown", f"not read: {e}"
    if len(expr.free_symbols) > 1:
        return "unknown", "depends on a parameter whose values the table does not give"
    image = function_range(expr, var, sp.S.Reals)
    proof = compare_sets(image, stated)
    if proof.verdict == "proven":
        return "correct", f"the image of the row's function is {image}"
    return "error", f"the image of the row's function is {image}, not {stated}"


def body_rows(notes: Notes) -> Iterator[tuple[Row, Row]]:
    """Every body row of the file's tables, in file order, with the header row above it."""
    header: Row | None = None
    for row in sorted(notes.rows, key=lambda r: r.line):
        if row.header:
            header = row
        elif header is not None:
            yield row, header


def judge_tables(notes: Notes) -> dict[tuple[int, int], LinkVerdict]:
    """A verdict for each derivative and range cell of every table, keyed by its math fragment (line, col)."""
    out: dict[tuple[int, int], LinkVerdict] = {}
    for row, header in body_rows(notes):
        found = _row_function(notes, row, header)
        if found is None:
            continue
        expr, var = found
        for cell, head in zip(row.cells, header.cells, strict=False):
            math = _cell_math(notes, row, cell)
            judge = (_derivative_verdict if DERIVATIVE_HEADER.search(head.text) else
                     _range_verdict if RANGE_HEADER.search(head.text) else None)
            if math is None or judge is None:
                continue
            try:
                with within(BUDGET_S):
                    verdict, reason = (judge(expr, var, cell, math) if judge is _derivative_verdict
                                       else judge(expr, var, math))  # type: ignore[call-arg]
            except (UndecidedError, TooLargeError, NotImplementedError, ValueError, TypeError) as e:
                verdict, reason = "unknown", str(e) or type(e).__name__
            out[(math.line, math.col)] = LinkVerdict(verdict, str(reason), head.text.strip(), "=", math.latex, row.line)
    return out
