"""Find where a notes file states a record, by what the statement is about rather than the words around it.

A record's ``Locator.subject`` is the quantity its claim is about, written in LaTeX
(``\\frac{\\partial s_i}{\\partial z_j}``, ``\\boldsymbol{\\delta}^{(\\ell)}``, ``\\text{Var}(W)``). Every
relation chain of the file (``verify.statements``) is parsed member by member; a member *is* the subject
when both parse to the same expression once the spelling is set aside: bold or plain, ``\\ell`` or ``l``,
``\\exp`` or ``e^``, and the names of the indices (``s_a / z_b`` is ``s_i / z_j``). The claim is then
read from the other end of that chain (or the member the record names with ``Locator.member``).

When several statements have the record's subject (``\\mu`` of batch and of layer norm, ``z`` of a
neuron and of its worked example), the one whose other members use the record's own names wins; a
record's section only breaks what is still tied, and statements already taken by a record with the
same subject are passed over, so two records about ``L'(\\theta)`` take its two statements in order.
Prose is never needed. A worked number is read at the chain's far end, an entry of a printed matrix there,
or a factor of a later product of numbers (``verify.entries``); the relation between subject and member is
kept for ``verify.audit_relation``. Subjects are compared by ``verify.matching_keys``; tables are searched by
``verify.matching_rows``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

import sympy as sp

from derive.core import Locator
from verify.entries import entry, factors, number_text
from verify.matching_keys import (
    canonical_name,
    key_of,
    names_of,
    parse_member,
    record_names,
    same_key,
    subject_key,
)
from verify.matching_rows import CELL_FACTS, FoundCell, find_column_cell, find_row, same_function
from verify.notation import Clause, Member, decimal
from verify.notes import Math, Notes
from verify.phrases import PHRASES, phrase_statements
from verify.statements import Statement, statements


@dataclass(frozen=True)
class Found:
    """A statement that states a record: the chain, the member read, where, and how many others tied."""

    statement: Statement
    member: Member
    line: int
    clause: Clause
    others: int
    relation: str = "="  # how the subject relates to the member read: "=", or "<", "\\le", "\\ni", ... (subject first)

    @property
    def math(self) -> Math:
        """The fragment the statement belongs to."""
        return self.statement.math


_STATEMENTS: dict[int, tuple[Notes, tuple[Statement, ...]]] = {}


def _statements(notes: Notes) -> tuple[Statement, ...]:
    """Every statement of ``notes`` (computed once per notes object)."""
    held = _STATEMENTS.get(id(notes))
    if held is None or held[0] is not notes:
        if len(_STATEMENTS) > 8:
            _STATEMENTS.clear()
        own = tuple(statements(notes))
        held = _STATEMENTS[id(notes)] = (notes, own + labelled(own) + phrase_statements(notes))
    return held[1]


def labelled(own: Iterable[Statement]) -> tuple[Statement, ...]:
    """``W^{(2)}_1: 0.5 - 0.1(-0.0425) = 0.50425`` read as a chain that starts at its label ``W^{(2)}_1``."""
    out: list[Statement] = []
    previous: Statement | None = None
    for st in own:
        if (previous is not None and len(previous.clause.members) == 1 and len(st.clause.members) > 1
                and previous.math is st.math and previous.offset == st.offset and previous.piece_text == st.piece_text
                and st.piece_text[previous.clause.end:st.clause.start].strip() == ":"):
            members = (previous.clause.members[0], *st.clause.members)
            out.append(replace(st, clause=Clause(previous.clause.start, st.clause.end, members)))
        previous = st
    return tuple(out)


def _read_member(clause: Clause, at: int, member: int | None, numeric: bool) -> Member | None:
    """The member a claim reads: the one named, else the far end of the chain from the subject."""
    members = clause.members
    if member is not None:
        k = at + member if at == 0 else at - member
        return members[k] if 0 <= k < len(members) else None
    order = list(members[at + 1:])[::-1] if at == 0 else list(members[:at])  # the far end first
    if numeric:  # the number farthest from the subject: "z = 0.5(0.5175) + ... = 0.5872", either way round
        return next((m for m in order if decimal(m.text.strip()) is not None), None)
    plain = [m for m in order if r"\begin{cases}" not in m.text]
    return (plain or order or [None])[0]


#: Relations other than equality that a statement may link its subject and the member read by, and each one
#: read the other way round (``1.1 \\in D`` says ``D \\ni 1.1``); ``verify.audit_relation`` judges them.
ORDER_SAME: dict[str, str] = {"<": "<", ">": ">", r"\lt": "<", r"\gt": ">", r"\le": r"\le", r"\leq": r"\le",
                              r"\leqslant": r"\le", r"\ge": r"\ge", r"\geq": r"\ge", r"\geqslant": r"\ge",
                              r"\in": r"\in", r"\notin": r"\notin"}
FLIPPED: dict[str, str] = {"<": ">", ">": "<", r"\le": r"\ge", r"\ge": r"\le", r"\in": r"\ni", r"\notin": r"\not\ni"}


def _links(members: tuple[Member, ...], at: int, read: Member) -> list[str]:
    """The relations of the chain between the subject (member ``at``) and the member ``read``."""
    k = members.index(read)
    return [m.relation for m in members[min(at, k) + 1:max(at, k) + 1]]


def relation_of(members: tuple[Member, ...], at: int, read: Member) -> str:
    """How the subject (member ``at``) relates to ``read``, subject first: "=" unless one order link is between."""
    orders = [ORDER_SAME[r] for r in _links(members, at, read) if r in ORDER_SAME]
    if len(orders) != 1:
        return "=" if not orders else "?"
    return orders[0] if at < members.index(read) else FLIPPED[orders[0]]


def _approximate(members: tuple[Member, ...], at: int, read: Member) -> bool:
    """Whether the chain links the subject and the member read by ``\\approx`` somewhere between them."""
    return any("approx" in r for r in _links(members, at, read))


def _bold(text: str) -> bool:
    """Whether a subject is written bold (a vector or matrix), as opposed to a scalar of the same letter."""
    return re.search(r"\\(?:mathbf|boldsymbol|bm)\{", text) is not None


def _in_section(notes: Notes, st: Statement, section: str) -> bool:
    """Whether the statement lies in ``section`` (or one of its subsections)."""
    return notes.in_section(st.line, section)


def _number(part: Member | None) -> Member | None:
    """``part`` as the numeral it is, brackets dropped (its span kept), or None when it is no number."""
    text = None if part is None else number_text(part)
    return None if part is None or text is None else replace(part, text=text)


def _subject_at(members: tuple[Member, ...], want: sp.Basic, factor: int | None = None) -> list[int]:
    """Where a chain has the subject: at an end, or (with ``factor``) as that factor of one of its products."""
    ends = [at for at in (0, len(members) - 1) if same_key(subject_key(members[at].text), want)]
    if factor is None:
        return ends
    return ends + [k for k, m in enumerate(members) if len(parts := factors(m)) > max(factor, 1)
                   and same_key(subject_key(parts[factor].text), want)]


def _sites(members: tuple[Member, ...], want: sp.Basic, locator: Locator,
           numeric: bool) -> Iterator[tuple[int, Member, Member]]:
    """Where a chain states the locator's subject: (the subject's index, the member read, the part of it read).

    By default the subject is an end of the chain and the far end (or the member ``locator.member`` names) is
    read; ``locator.entry`` reads an entry of a printed matrix there. With ``locator.factor``, the subject may
    also be that factor of a product in the chain, and the part read is the same factor of the first later
    product whose factor there is a number (or, with ``entry``, a matrix of numbers).
    """
    if locator.factor is None:
        for at in _subject_at(members, want):
            if locator.entry:
                far = members[-1] if at == 0 else members[0]
                read = _number(entry(far, locator.entry))
                if read is not None:
                    yield at, far, read
                continue
            read = _read_member(Clause(0, 0, members), at, locator.member, numeric)
            if read is not None:
                yield at, read, read
        return
    f = locator.factor
    for at in _subject_at(members, want, f):
        later = members[at + 1:] if at < len(members) - 1 else members[:at][::-1]
        for m in later:
            parts = factors(m)
            if len(parts) <= f:
                continue
            read = _number(entry(parts[f], locator.entry) if locator.entry else parts[f])
            if read is not None:
                yield at, m, read
                break


def find(notes: Notes, locator: Locator, names: frozenset[str], taken: set[tuple[int, int, int, int]],
         numeric: bool = False, number_ok: bool = False, local: bool = False) -> Found | None:
    """The statement of ``notes`` whose subject is ``locator.subject``, read as the claim reads it.

    Outside the record's section a statement must share one of the record's names besides the subject; a
    ``local`` record (a definition, a worked number) is only looked for in its own section: another
    document may give the same letter another meaning (epsilon = 10^-7 is not Adam's epsilon)."""
    want = subject_key(locator.subject)
    if want is None:
        return None
    hits: list[tuple[tuple[float, ...], Statement, int, Member, str]] = []
    for st in _statements(notes):
        members = st.clause.members
        if len(members) < 2:
            continue
        for at, holder, read in _sites(members, want, locator, numeric):
            if not numeric and _approximate(members, at, holder) != locator.approx:
                continue  # a worked number may be written "= 0.6427" or "\\approx 0.6427"
            others = frozenset().union(*(names_of(m.text) for m in members if m is not members[at]))
            shared = len(others & names)
            inside = _in_section(notes, st, locator.section)
            if not inside and (local or not shared):
                continue  # elsewhere, a statement about the same letter that uses none of the record's names
            relation = relation_of(members, at, holder)
            plain = relation == "=" and not st.quantifier
            if not numeric and not number_ok and plain and decimal(read.text.strip()) is not None:
                continue  # a worked value of the subject, not the formula the record states
            overlap = (shared / max(len(others), 1), shared)
            where = (st.math.line, st.math.col, st.offset + st.clause.start, at)
            bold = _bold(members[at].text) == _bold(locator.subject)
            score = (float(where not in taken), float(bold), *overlap, float(inside))
            hits.append((score, st, at, read, relation))
            break
    if not hits:
        return None
    best = max(h[0] for h in hits)
    tied = [h for h in hits if h[0] == best]
    score, st, at, read, relation = tied[0]
    taken.add((st.math.line, st.math.col, st.offset + st.clause.start, at))
    clause = replace(st.clause, start=st.offset + st.clause.start, end=st.offset + st.clause.end)
    return Found(st, read, st.line_at(read.start), clause, len(tied) - 1, relation)


#: A word written straight after an inline formula that ends in an operator (``$-\\eta\\cdot$grad``): its operand.
RUN_ON_WORD = re.compile(r"[A-Za-z]+")
TRAILING_OPERATOR = re.compile(r"(?:\\cdot|\\times|[-+*/])\s*$")


def has_subject(notes: Notes, subject: str, factor: int | None = None) -> bool:
    """Whether any relation chain of the file has ``subject`` at one of its ends (cheap: no record is derived),
    or, with ``factor``, as that factor of one of its products."""
    want = subject_key(subject)
    if want is None:
        return False
    return any(len(st.clause.members) > 1 and _subject_at(st.clause.members, want, factor)
               for st in _statements(notes))


def candidates(notes: Notes, section: str) -> list[Found]:
    """Every member of every statement of ``section``, in file order: where a record with no subject may be stated.

    An inline formula that ends in an operator and runs on into a word (``$-\\eta\\cdot$grad``) is read with
    that word as its last operand (``\\text{grad}``). Relations read from words are left out: they speak in the
    phrase table's vocabulary, and only a record about the same subject reads them.
    """
    out: list[Found] = []
    for st in _statements(notes):
        if st.words or not _in_section(notes, st, section):
            continue
        clause = replace(st.clause, start=st.offset + st.clause.start, end=st.offset + st.clause.end)
        for member in st.clause.members:
            if decimal(member.text.strip()) is None and parse_member(member.text) is None and st.math.kind == "inline":
                member = _run_on(notes, st.math, member) or member
            out.append(Found(st, member, st.line_at(member.start), clause, 0))
    return out


def _run_on(notes: Notes, math: Math, member: Member) -> Member | None:
    """``member`` with the word that follows its inline formula, when the formula ends in an operator."""
    if not TRAILING_OPERATOR.search(member.text) or math.end_line != math.line:
        return None
    rest = notes.lines[math.line - 1][math.col + len(math.latex) + 1:]
    word = RUN_ON_WORD.match(rest)
    return None if word is None else replace(member, text=f"{member.text}\\text{{{word.group(0)}}}")


def defined_at(notes: Notes, section: str, name: str) -> int | None:
    """The line of the first Python listing (its section first) that defines ``name`` (a def or an assignment)."""
    hits: list[tuple[bool, int]] = []
    for code in notes.code:
        if code.info.split()[:1] != ["python"]:
            continue
        try:
            tree = ast.parse(code.text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):  # a listing too deep to read
            continue
        for node in ast.walk(tree):
            targets: list[ast.expr] = []
            if isinstance(node, ast.FunctionDef) and node.name == name:
                hits.append((not notes.in_section(code.line, section), code.line + node.lineno))
                continue
            if isinstance(node, ast.Assign):
                targets = list(node.targets)
            elif isinstance(node, ast.AugAssign | ast.AnnAssign):
                targets = [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                hits.append((not notes.in_section(code.line, section), code.line + node.lineno))
    return min(hits)[1] if hits else None


__all__: Iterable[str] = ("CELL_FACTS", "PHRASES", "Found", "FoundCell", "candidates", "canonical_name",
                          "defined_at", "find", "find_column_cell", "find_row", "key_of", "labelled", "record_names",
                          "same_function", "subject_key")
