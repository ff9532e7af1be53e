"""Find a record's claim in a table: the row that defines its function, or a worked table's column and row.

A row is identified by the function it defines (its function cell, else the catalog's meaning of its name),
the cell by the meaning of its column's header (``Derivative``, ``Range``) or of its own text (``sums to``);
a worked table's cell by the maths its column's header states (``$L'(\\theta)=2\\theta$``) and the key in its
row's first cell (the step number). One row of ``CELL_FACTS`` per fact.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import sympy as sp

from derive.core import Locator
from derive.functions import unfold
from verify.catalog import key_of as catalog_key
from verify.catalog import lookup
from verify.matching_keys import PARSE_ERRORS, key_of, same_key, subject_key
from verify.notation import NotationError, clauses
from verify.notes import Cell, Notes, Row
from verify.tables import DERIVATIVE_HEADER, RANGE_HEADER, _row_function, body_rows

#: What a table cell states of its row's function, told by the meaning of its column's header (``Derivative``,
#: ``Slope``, ``Range``, ``Output range``) or of its own text (``sums to 1``): one row per fact.
CELL_FACTS: dict[str, tuple[re.Pattern[str] | None, re.Pattern[str] | None]] = {
    "derivative": (DERIVATIVE_HEADER, None),
    "range": (RANGE_HEADER, None),
    "sum": (None, re.compile(r"(?i)\bsums?\s+to\b")),
}
_z, _alpha, _i, _k, _n = sp.symbols("z alpha i k n")
_zv = sp.IndexedBase("z")
#: Functions a table row may name without writing them (``| Leaky ReLU | ... |``), beyond the catalog's
#: (``verify.catalog``: sigmoid, tanh, ReLU, GELU, ...): each row's spellings (catalog keys) and function.
NAMED_ROWS: tuple[tuple[tuple[str, ...], sp.Basic], ...] = (
    (("leaky relu", "lrelu"), sp.Max(_alpha * _z, _z)),
    (("softmax",), sp.exp(_zv[_i]) / sp.Sum(sp.exp(_zv[_k]), (_k, 1, _n))),
)


@dataclass(frozen=True)
class FoundCell:
    """A table cell that states a record's fact of a row's function: the row, the cell, and how many others tied."""

    row: Row
    cell: Cell
    others: int


def same_function(a: sp.Basic, b: sp.Basic) -> bool:
    """Whether two functions of one variable are the same once names and bound indices are set aside."""
    ka, kb = key_of(unfold(a)), key_of(unfold(b))
    if same_key(ka, kb):
        return True
    try:
        return bool(isinstance(ka, sp.Expr) and isinstance(kb, sp.Expr) and ka.free_symbols == kb.free_symbols
                    and sp.simplify((ka - kb).rewrite(sp.exp)) == 0)
    except PARSE_ERRORS:
        return False


def _fact_cell(row: Row, header: Row, fact: str) -> Cell | None:
    """The cell of ``row`` that states ``fact``: its column's header says so, else its own text does."""
    by_header, by_text = CELL_FACTS[fact]
    for cell, head in zip(row.cells, header.cells, strict=False):
        if by_header is not None and by_header.search(head.text):
            return cell
        if by_text is not None and by_text.search(cell.text):
            return cell
    return None


def row_defines(notes: Notes, row: Row, header: Row) -> sp.Basic | None:
    """The function a table row defines: its function cell when it has one, else the function its name names."""
    defined = _row_function(notes, row, header)
    if defined is not None:
        return defined[0]
    name = row.cells[0].text.strip() if row.cells else ""
    if "$" in name or not name:
        return None
    named = next((f for spellings, f in NAMED_ROWS if catalog_key(name) in spellings), None)
    if named is not None:
        return named
    meaning = lookup(name)
    if meaning is None or meaning.kind != "function" or meaning.build is None or meaning.arity != 1:
        return None
    return meaning.build(_z)


def find_row(notes: Notes, locator: Locator) -> FoundCell | None:
    """The table cell stating ``locator.fact`` of the row whose function is ``locator.row`` (its section first)."""
    if locator.row is None or locator.fact not in CELL_FACTS:
        return None
    hits: list[tuple[bool, Row, Cell]] = []
    for row, header in body_rows(notes):
        try:
            defined = row_defines(notes, row, header)
        except PARSE_ERRORS:
            continue
        if defined is None or not same_function(defined, locator.row):
            continue
        cell = _fact_cell(row, header, locator.fact)
        if cell is not None:
            hits.append((notes.in_section(row.line, locator.section), row, cell))
    if not hits:
        return None
    inside = [h for h in hits if h[0]] or hits
    return FoundCell(inside[0][1], inside[0][2], len(inside) - 1)


def _states(cell: Cell, want: sp.Basic) -> bool:
    """Whether a header cell's first formula is about ``want`` (``$L'(\\theta)=2\\theta$`` is about L'(theta))."""
    math = next((text for kind, text in cell.segments if kind == "math"), None)
    try:
        parts = clauses(math) if math is not None else ()
    except NotationError:
        return False
    return bool(parts) and same_key(subject_key(parts[0].members[0].text), want)


def find_column_cell(notes: Notes, locator: Locator) -> FoundCell | None:
    """The cell of a worked table: its column's header states ``locator.column``, its row starts ``row_key``."""
    want = subject_key(locator.column)
    if want is None:
        return None
    hits: list[tuple[Row, Cell]] = []
    for row, header in body_rows(notes):
        if not row.cells or row.cells[0].text.strip() != locator.row_key:
            continue
        if not notes.in_section(row.line, locator.section):
            continue
        cell = next((c for c, head in zip(row.cells[1:], header.cells[1:], strict=False) if _states(head, want)), None)
        if cell is not None:
            hits.append((row, cell))
    return FoundCell(hits[0][0], hits[0][1], len(hits) - 1) if hits else None


__all__: Iterable[str] = ("CELL_FACTS", "NAMED_ROWS", "FoundCell", "find_column_cell", "find_row", "row_defines",
                          "same_function")
