"""Read what the notes write for a claim: a table cell, a named group of a locator's regex, or a chain member.

The result is a ``Written`` (the raw text, how to read it, and the fragment and clause it sits in); a claim
whose place holds no fragment of the expected form raises ``UnreadableError``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sympy as sp

from derive.core import Quantity
from verify.audit_claims import Claim, Located, _rhs, derived
from verify.matching import FoundCell
from verify.notation import Clause, NotationError, clauses
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


def _group(match: re.Match[str]) -> tuple[str, int] | None:
    """The text and start of a ``value`` or ``formula`` named group of the locator's regex, if it matched."""
    for name in ("value", "formula"):
        if name in match.re.groupindex and match.group(name) is not None:
            return match.group(name), match.start(name)
    return None


def _dollar_segments(text: str) -> tuple[tuple[str, str], ...]:
    """Split ``$a$ if $b$`` into ("math", "a"), ("text", " if "), ("math", "b") (unescaped dollars only)."""
    parts = re.split(r"(?<!\\)\$", text)
    return tuple(("math" if k % 2 else "text", part) for k, part in enumerate(parts) if part)


def read(notes: Notes, claim: Claim, located: Located) -> Written:
    """What is written for ``claim``: a named group of the regex, a table cell, or a chain member."""
    group = _group(located.match)
    if group is not None:
        text, start = group
        hit = notes.math_at(located.line, start)
        inside = hit is not None and not text.startswith("$")  # a group that starts in math: "-\\eta\\cdot$grad"
        segments = _dollar_segments(("$" if inside else "") + text.strip())
        if claim.quantity is not None:
            return Written(text.strip().strip("$").strip(), "number", located.line, hit[0] if hit else None)
        math, clause = (hit[0], _clause_at(*hit)) if hit else (None, None)
        if len(segments) == 1 and segments[0][0] == "math" or "$" not in text:
            body = segments[0][1] if segments else text
            is_set = claim.formula is not None and isinstance(_rhs(derived(claim.formula)), sp.Set)
            return Written(body.strip(), "set" if is_set else "expr", located.line, math, clause)
        return Written(text.strip(), "cell", located.line, math, clause, segments=segments)
    return read_math(notes, located, claim.quantity)


def _clause_at(math: Math, offset: int) -> Clause | None:
    """The clause of ``math`` that holds ``offset`` (what a formula group of a locator reads, for coverage)."""
    try:
        parts = clauses(math.latex)
    except NotationError:
        return None
    return next((c for c in parts if c.start <= offset <= c.end), None)


def read_math(notes: Notes, located: Located, quantity: Quantity | None) -> Written:
    """The chain member the match points into (the right-hand side if it is on the left)."""
    line, m = located.line, located.match
    hit = notes.math_at(line, m.start())
    if hit is None:
        later = [x for x in notes.math_on(line) if x.line == line and x.col >= m.start()]
        if not later:
            raise UnreadableError(f"no math at or after the match on line {line}")
        hit = (later[0], 0)
    math, offset = hit
    parts = clauses(math.latex)
    if not parts:
        raise UnreadableError(f"empty formula at line {line}")
    if quantity is not None:
        return _read_value(notes, located, math, parts, quantity)
    clause = next((c for c in parts if c.start <= offset <= c.end), None)
    if clause is None:
        clause = next((c for c in parts if c.start >= offset), parts[-1])
    index = clause.member_at(offset)
    member = clause.members[-1] if index == 0 and len(clause.members) > 1 else clause.members[index]
    return Written(member.text, "expr", math.position(member.start)[0], math, clause)


def _read_value(notes: Notes, located: Located, math: Math, parts: tuple[Clause, ...], q: Quantity) -> Written:
    """The number a quantity states: a ``value`` group of the regex, or the end of the clause ``q.latex = ...``."""
    m = located.match
    if "value" in m.re.groupindex and m.group("value") is not None:
        return Written(m.group("value"), "number", located.line, math)
    want = _squash(q.latex)
    for clause in parts:
        if len(clause.members) > 1 and _squash(clause.members[0].text) == want:
            last = clause.members[-1]
            return Written(last.text, "number", math.position(last.start)[0], math, clause)
    raise UnreadableError(f"no clause '{q.latex} = ...' in the formula at line {located.line}")


def _squash(text: str) -> str:
    """LaTeX with spacing removed, for comparing short left-hand sides."""
    return re.sub(r"\s+|\\[,;!:]|\\q?quad", "", text)
