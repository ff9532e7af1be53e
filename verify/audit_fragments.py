"""A verdict for every math fragment and prose number of a file, so that coverage says how much was checked.

Numeric chains (``a = 0.5(0.5175) + ... = 0.5872``) are checked by exact arithmetic at the precision written;
every other clause is judged link by link (``verify.judge``, table cells by ``verify.tables``); a clause that
states no relation is notation or unchecked. Also the lines that hold a relation and how many are decided.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

import sympy as sp

from verify.audit_types import SEVERITY, VERDICT_ORDER, Finding, FragmentVerdict, _describe
from verify.judge import DECIDED, LinkVerdict, fixed, judge_notes
from verify.judge import rounds_to as _rounds_to
from verify.notation import Clause, Decimal, NotationError, decimal, parse_expr_latex
from verify.notes import Math, Notes
from verify.statements import Statement, statements
from verify.tables import judge_tables

RELATION = re.compile(r"=|\\approx|\\le(?:q)?(?![a-z])|\\ge(?:q)?(?![a-z])|<|>|\\in(?![a-z])|\\neq?(?![a-z])")


@dataclass(frozen=True)
class Term:
    """A member of a chain that evaluates to a number (or a matrix of numbers)."""

    text: str
    value: sp.Basic
    literal: tuple[Decimal, ...] | None  # the numerals, when the member is written as plain numbers


def _numeric(value: sp.Basic) -> bool:
    """Whether ``value`` is a number, or a matrix of numbers, with no symbols or unknown functions."""
    if isinstance(value, sp.MatrixBase):
        return all(_numeric(x) for x in value)
    return (isinstance(value, sp.Expr) and value.is_number is True and not value.atoms(sp.core.function.AppliedUndef)
            and not value.has(sp.nan, sp.zoo, sp.oo, -sp.oo))  # oo - oo is no number to compare


def _literal(text: str, value: sp.Basic) -> tuple[Decimal, ...] | None:
    """The numerals of a member written only as numbers (``0.2689``, ``[0.5175,\\, 0.5474]``, a bmatrix)."""
    single = decimal(text)
    if single is not None:
        return (single,)
    if not isinstance(value, sp.MatrixBase):
        return None
    body = text.strip()
    one_env = re.fullmatch(r"\\begin\{([a-zA-Z]*matrix)\}(?:(?!\\begin).)*\\end\{\1\}", body, re.DOTALL)
    one_row = re.fullmatch(r"(?:\\left)?\[[^\[\]]*(?:\\right)?\]", body)
    if not (one_env or one_row):
        return None
    rest = re.sub(r"\\(?:begin|end)\{[a-zA-Z]*matrix\}|\\\\|&|[\[\],]|\\[,;!]|\\(?:left|right)|\s", " ", text)
    numerals = [decimal(t) for t in rest.split()]
    if not numerals or any(d is None for d in numerals) or len(numerals) != len(value):
        return None
    return tuple(d for d in numerals if d is not None)


def _matches(literal: tuple[Decimal, ...], value: sp.Basic) -> bool:
    """Whether every written numeral is ``value`` (entry by entry) rounded at the numeral's precision."""
    entries = list(value) if isinstance(value, sp.MatrixBase) else [value]
    if len(entries) != len(literal):
        return False
    return all(_exact_equal(v, d.value) if d.places == 0 else _rounds_to(sp.N(v, 50), d)
               for v, d in zip(entries, literal, strict=True))  # a written integer is exact


def _show(value: sp.Basic, like: tuple[Decimal, ...]) -> str:
    """``value`` rounded like the numerals it is compared with."""
    entries = list(value) if isinstance(value, sp.MatrixBase) else [value]
    if len(entries) != len(like):
        return _describe(value)
    shown = [fixed(v, d.places) for v, d in zip(entries, like, strict=True)]
    return shown[0] if len(shown) == 1 else "[" + ", ".join(shown) + "]"


def numeric_terms(clause: Clause) -> list[Term]:
    """The members of a clause that parse to numbers, in order."""
    out = []
    for member in clause.members:
        try:
            value = parse_expr_latex(member.text)
        except NotationError:
            continue
        if _numeric(value):
            out.append(Term(member.text, value, _literal(member.text, value)))
    return out


def arithmetic(clause: Clause) -> tuple[str, str] | None:
    """Check a chain like ``0.5(0.5175)+0.6(0.5474) = 0.5872`` (or written the other way); None if it is not one.

    A numeral is correct when the first computed member before it rounds to it; a warning when only
    the last computed member before it does (it was computed from rounded intermediates); else an
    error. Two computed members with no decimals in them must be exactly equal.
    """
    terms = numeric_terms(clause)
    if len(terms) < 2:
        return None
    return _chain(terms) or _chain(terms[::-1])  # "0.5872 = 0.5(0.5175) + ..." is the same chain read backwards


def _chain(terms: list[Term]) -> tuple[str, str] | None:
    """The verdict of numeric members in order: each numeral against the computed members before it."""
    verdicts: list[str] = []
    notes: list[str] = []
    for k, term in enumerate(terms):
        before = [t for t in terms[:k] if t.literal is None]
        if term.literal is None:
            if before and "." not in term.text and "." not in before[-1].text:
                same = _exact_equal(before[-1].value, term.value)
                verdicts.append("correct" if same else "error")
                if not same:
                    notes.append(f"{term.text} differs from {before[-1].text}")
            continue
        if not before:
            continue
        first, last = before[0], before[-1]
        written = ", ".join(d.text for d in term.literal)
        if _matches(term.literal, first.value):
            verdicts.append("correct")
        elif _matches(term.literal, last.value):
            verdicts.append("warning")
            notes.append(f"{written}: right only with rounded intermediates ({first.text} gives "
                         f"{_show(first.value, term.literal)}, {last.text} gives {_show(last.value, term.literal)})")
        else:
            verdicts.append("error")
            notes.append(f"written {written}, but {first.text} gives {_show(first.value, term.literal)}")
    if not verdicts:
        return None
    for v in ("error", "warning"):
        if v in verdicts:
            return v, "numeric chain: " + "; ".join(notes)
    return "correct", f"numeric chain: {len(verdicts)} value(s) consistent"


def _exact_equal(a: sp.Basic, b: sp.Basic) -> bool:
    """Exact equality of two numbers or numeric matrices (to 50 digits where irrational)."""
    if isinstance(a, sp.MatrixBase) or isinstance(b, sp.MatrixBase):
        if not (isinstance(a, sp.MatrixBase) and isinstance(b, sp.MatrixBase)) or a.shape != b.shape:
            return False
        return all(_exact_equal(x, y) for x, y in zip(a, b, strict=True))
    diff = sp.N(a - b, 50)
    return diff == 0 or abs(diff) < sp.Float(10) ** -40


def clause_verdict(clause: Clause) -> tuple[str, str]:
    """Notation or unchecked, for a clause that states no relation (a relation gets its links judged)."""
    if any(r"\dots" in m.text or r"\ldots" in m.text for m in clause.members):
        return "notation", "an index range"
    if any(re.search(r"\\arg\s*\\?(min|max)", m.text) for m in clause.members):
        return "notation", "the definition of an optimum"
    call = r"[A-Za-z]\w*(_\{[^{}]*\})?\((\\?[\w{}^ ]+,?\s*)+\)"  # L(\hat{y}, y): a name and its arguments
    if re.fullmatch(call, clause.members[0].text.strip()):
        return "notation", "a function named with its arguments"
    try:
        parse_expr_latex(clause.members[0].text)
    except NotationError as e:
        return "unchecked", f"not read: {e}"
    return "notation", "a name or expression, no statement"


def fragment_verdicts(notes: Notes, findings: Iterable[Finding],
                      covered: Mapping[tuple[int, int], list[tuple[str, str, str]]]
                      ) -> tuple[list[FragmentVerdict], list[Finding], dict[int, list[str]]]:
    """A verdict for every math fragment and prose number; errors and warnings of its links become findings.

    ``covered`` maps a fragment (line, col) to (claim, clause span or "", verdict) of the claims read there.
    Every other clause is judged link by link (``verify.judge``): numeric chains by exact arithmetic at
    the precision written, everything else against the document's definitions and the catalog.
    """
    out: list[FragmentVerdict] = []
    extra: list[Finding] = []
    by_number = {(f.line, f.stated): f for f in findings if f.stated is not None}
    judged: dict[tuple[int, int], list[tuple[Statement, list[LinkVerdict]]]] = {}
    by_line: dict[int, list[str]] = {}
    tables = judge_tables(notes)
    for st, links in judge_notes(notes):
        key = (st.math.line, st.math.col)
        if not links and key in tables and len(st.clause.members) == 1:
            links = [tables.pop(key)]  # a derivative or range cell, judged against its row's function
        judged.setdefault(key, []).append((st, links))
    for m in notes.math:
        mine = covered.get((m.line, m.col), [])
        verdicts = [v for _, _, v in mine]
        reasons: list[str] = []
        spans = {span for _, span, _ in mine if span}
        whole = any(not span for _, span, _ in mine)
        for line in relation_lines(m) if mine else ():
            by_line.setdefault(line, []).extend(v for _, _, v in mine)
        for st, links in judged.get((m.line, m.col), []):
            start, end = st.offset + st.clause.start, st.offset + st.clause.end
            if f"{start}:{end}" in spans or (whole and m.kind == "inline" and m.cell is not None):
                continue
            for link in links:
                by_line.setdefault(link.line, []).append(link.verdict)
            verdict, message, found = clause_judgement(st, links)
            verdicts.append(verdict)
            reasons.append(message)
            extra.extend(replace(f, section=m.section, kind=m.kind) for f in found)
        if not verdicts:
            verdicts = ["unchecked"]
        names = tuple(dict.fromkeys(c for c, _, _ in mine))
        worst = _worst(verdicts)
        reason = next((r for v, r in zip(verdicts[len(mine):], reasons, strict=False) if v == worst), "")
        out.append(FragmentVerdict(m.line, m.col, m.kind, m.latex, worst, names, tuple(verdicts), reason))
    for n in notes.numbers:
        claim = by_number.get((n.line, n.text))
        out.append(FragmentVerdict(n.line, n.col, "number", n.text, claim.verdict if claim else "unchecked",
                                   (claim.claim,) if claim else ()))
    out.sort(key=lambda v: (v.line, v.col))
    return out, extra, by_line


def relation_lines(m: Math) -> set[int]:
    """The lines of a fragment that hold a relation (=, \\approx, \\le, \\ge, <, >, \\in, \\neq)."""
    return {m.position(x.start())[0] for x in RELATION.finditer(m.latex)}


def statement_lines(notes: Notes) -> set[int]:
    """The lines where a statement of the file writes a relation at its top level: ``a = b``, ``x \\le 1``, not
    the ``=`` of ``\\sum_{i=1}`` or of ``P(X = x)``."""
    return {st.line_at(member.start) for st in statements(notes) for member in st.clause.members[1:]}


def line_coverage(notes: Notes, by_line: Mapping[int, list[str]]) -> tuple[int, int]:
    """(lines holding a relation, those whose every verdict is decided: correct, error, warning, definition)."""
    lines = statement_lines(notes)
    decided = {line for line in lines if by_line.get(line) and all(v in DECIDED for v in by_line[line])}
    return len(lines), len(decided)


def clause_judgement(st: Statement, links: list[LinkVerdict]) -> tuple[str, str, list[Finding]]:
    """(verdict, reason, findings) of one clause: a numeric chain by arithmetic, else its links' worst."""
    if not links:
        verdict, message = clause_verdict(st.clause)
        return verdict, message, []
    equalities = all(m.relation in {"=", r"\approx"} for m in st.clause.members[1:])
    checked = arithmetic(st.clause) if equalities else None
    if checked is not None:
        verdict, message = checked
        found = [] if verdict not in {"error", "warning"} else [
            Finding(f"arithmetic@{st.line}", st.line, SEVERITY[verdict], message, st.text, None, verdict)]
        return verdict, message, found
    verdict = _worst([link.verdict for link in links])
    first = next(link for link in links if link.verdict == verdict)
    found = [Finding(f"relation@{link.line}", link.line, SEVERITY[link.verdict], f"{link.text}: {link.reason}",
                     link.text, link.expected, link.verdict) for link in links if link.verdict in {"error", "warning"}]
    return verdict, first.reason, found


def _worst(verdicts: list[str]) -> str:
    """The most serious verdict of a fragment's clauses; a checked clause beats unchecked and notation."""
    for v in VERDICT_ORDER:
        if v in verdicts:
            return v
    return verdicts[0]
