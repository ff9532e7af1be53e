"""Read what the notes write for a claim in a table cell, and what any reading yields: a ``Written``.

A ``Written`` is the raw text, how to read it, and the fragment and clause it sits in (chain members are
read by ``verify.matching``); a cell that holds no fragment of the expected form raises ``UnreadableError``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from verify.audit_claims import Claim
from verify.matching import FoundCell
from verify.notation import Clause
from verify.notes import Math, Notes

SUMS_TO = re.compile(r"sums?\s+to\s+\$?(?P<value>[^$,;]+?)\$?\s*(?:[,;.]|$)", re.IGNORECASE)


@dataclass(frozen=True)
class Written:
    """What the notes write for a claim: raw text, how to read it, and where (fragment, clause)."""

    text: str
    mode: str  # "expr" | "set" | "sum" | "cell" | "number"
    line: int
    math: Math | None = None
    clause: Clause | None = None
    segments: tuple[tuple[str, str], ...] = ()
    cell: int | None = None


class UnreadableError(Exception):
    """The claim's line was found but no fragment of the expected form is there."""


#: How a table cell is read, by the fact of its row's function it states (``Locator.fact``).
CELL_MODES = {"derivative": "cell", "range": "set", "sum": "sum"}


def read_cell(notes: Notes, claim: Claim, found: FoundCell) -> Written:
    """What the table cell ``found`` states for ``claim``: a formula, a set, or what the values sum to."""
    row, cell, line = found.row, found.cell, found.row.line
    mode = CELL_MODES[claim.locator.fact]
    maths = [m for m in notes.math_on(line) if m.cell == cell.column]
    if mode == "set":
        first = next((seg for kind, seg in cell.segments if kind == "math"), None)
        if first is None:
            raise UnreadableError(f"no formula in the {cell.header!r} cell: {cell.text!r}")
        m = next((x for x in maths if x.latex == first), None)
        return Written(first, "set", line, m, cell=cell.column)
    if mode == "sum":
        hit = SUMS_TO.search(cell.text)
        if hit is None:
            raise UnreadableError(f"the {cell.header!r} cell does not say what the values sum to: {cell.text!r}")
        return Written(hit.group("value").strip(), "sum", line, maths[0] if maths else None, cell=cell.column)
    if not any(kind == "math" for kind, _ in cell.segments):
        raise UnreadableError(f"no formula in the {cell.header!r} cell: {cell.text!r}")
    texts = [seg for kind, seg in cell.segments if seg.strip()]
    shown = texts[0] if len(texts) == 1 else cell.text
    del row
    return Written(shown, "cell", line, maths[0] if maths else None, segments=cell.segments, cell=cell.column)
