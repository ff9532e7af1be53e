"""Split the LaTeX of a notes fragment into tokens, and a fragment into clauses and relation chains.

The lowest layer of the notation parser: tokens with their spans in the raw text (so a member of a
chain keeps its position), the table of relations a chain is split at, and exact decimal numerals.
Nothing here builds an expression; ``verify.notation_parser`` does that from these tokens.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sympy as sp

MAX_LENGTH = 4000


class NotationError(ValueError):
    """LaTeX outside the notation table; the message names the construct and its position."""


TEXT_COMMANDS = frozenset({"text", "textrm", "textit", "textbf", "mbox", "operatorname", "textnormal"})
IGNORED = frozenset({"left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr", "biggl",
                     "biggr", "Biggl", "Biggr", "middle", "displaystyle", "textstyle", "limits", "nolimits", ",",
                     ";", ":", "!", " ", "thinspace", "medspace", "thickspace", "nobreak"})
STYLES = frozenset({"mathbf", "boldsymbol", "bm", "mathcal", "mathit", "mathsf", "mathscr", "mathfrak", "mathrm"})
SEPARATORS = frozenset({"quad", "qquad"})
COMPARISONS: dict[str, Callable[[sp.Expr, sp.Expr], sp.Basic]] = {
    "=": sp.Eq, "<": sp.Lt, ">": sp.Gt, r"\lt": sp.Lt, r"\gt": sp.Gt, r"\le": sp.Le, r"\leq": sp.Le,
    r"\leqslant": sp.Le, r"\ge": sp.Ge, r"\geq": sp.Ge, r"\geqslant": sp.Ge, r"\ne": sp.Ne, r"\neq": sp.Ne,
}
CHAIN_RELATIONS = frozenset(COMPARISONS) | {r"\coloneqq", r"\triangleq", r"\doteq", r"\simeq", r"\notin",
                                            r"\approx", r"\equiv", ":=", r"\in", r"\leftarrow", r"\to",
                                            r"\rightarrow", r"\Rightarrow", r"\mapsto", r"\sim", r"\propto"}
OPENERS, CLOSERS = frozenset({"(", "[", "{", r"\{", "begin"}), frozenset({")", "]", "}", r"\}", "end"})
NUMBER = re.compile(r"(?P<sign>[-+−]?)(?P<int>\d*)(?:\.(?P<frac>\d+))?")
TOKEN = re.compile(r"""
    (?P<num>\d+(?:\.\d+)?|\.\d+)
  | (?P<cmd>\\(?:[A-Za-z]+|.))
  | (?P<letter>[A-Za-z])
  | (?P<op>[-+*/=<>()\[\]{}^_,'|&!:;.])
  | (?P<space>\s+)
""", re.VERBOSE)


@dataclass(frozen=True)
class Token:
    """One lexical unit of a LaTeX fragment, with its span in the fragment."""

    kind: str
    value: str
    start: int
    end: int


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens; a character outside the table becomes a ``bad`` token."""
    if len(text) > MAX_LENGTH:
        raise NotationError(f"fragment of {len(text)} characters is longer than {MAX_LENGTH}; split it")
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if m is None:
            tokens.append(Token("bad", text[pos], pos, pos + 1))
            pos += 1
            continue
        kind = m.lastgroup or "bad"
        value = m.group()
        end = m.end()
        if kind == "cmd" and value[1:] in TEXT_COMMANDS | {"begin", "end"} | STYLES | {"mathbb"}:
            body, end = _brace_body(text, end)
            if body is None:
                tokens.append(Token("bad", value, pos, end))
                pos = end
                continue
            kind = {"begin": "begin", "end": "end", "mathbb": "set"}.get(value[1:], "text" if value[1:] in
                                                                         TEXT_COMMANDS else "style")
            value = body if kind != "style" else f"{value}{{{body}}}"
        elif kind == "cmd" and value[1:] in IGNORED:
            if value[1:] in {"left", "right", "middle"} and text.startswith(".", end):
                end += 1
            kind = "space"
        elif kind == "cmd" and value == "\\\\":
            kind = "rowsep"
        elif kind == "cmd" and value[1:] in SEPARATORS:
            kind = "sep"
        if kind != "space":
            tokens.append(Token(kind, value, pos, end))
        pos = end
    return tokens


def _brace_body(text: str, pos: int) -> tuple[str | None, int]:
    """The content of the brace group starting at ``pos`` (after optional spaces), and the end."""
    while pos < len(text) and text[pos] == " ":
        pos += 1
    if pos < len(text) and text[pos].isalpha() and text[pos - 1] == " ":
        return text[pos], pos + 1  # \mathbf y: a style command on one letter without braces
    if pos >= len(text) or text[pos] != "{":
        return None, pos
    depth = 0
    for k in range(pos, len(text)):
        if text[k] == "{" and (k == 0 or text[k - 1] != "\\"):
            depth += 1
        elif text[k] == "}" and text[k - 1] != "\\":
            depth -= 1
            if depth == 0:
                return text[pos + 1:k], k + 1
    return None, len(text)


def _depth_change(tok: Token) -> int:
    """+1 for an opening bracket or environment, -1 for a closing one, else 0."""
    if tok.kind == "begin" or (tok.kind in {"op", "cmd"} and tok.value in {"(", "[", "{", r"\{"}):
        return 1
    if tok.kind == "end" or (tok.kind in {"op", "cmd"} and tok.value in {")", "]", "}", r"\}"}):
        return -1
    return 0


# ----------------------------------------------------------------------------------------------
# Clauses and equality chains, found on tokens so spans stay positions in the raw text


@dataclass(frozen=True)
class Member:
    """One side of a relation chain ``a = b \\approx c``: its text, span, and the relation before it."""

    text: str
    start: int
    end: int
    relation: str


@dataclass(frozen=True)
class Clause:
    """A top-level statement of a fragment (separated by ``\\qquad``, ``\\quad``, a comma or a label colon)."""

    start: int
    end: int
    members: tuple[Member, ...]

    def member_at(self, offset: int) -> int:
        """Index of the member whose span contains ``offset`` (the nearest one before it otherwise)."""
        best = 0
        for k, m in enumerate(self.members):
            if m.start <= offset:
                best = k
        return best


def _relation_at(tokens: Sequence[Token], k: int) -> tuple[str, int] | None:
    """The chain relation starting at token ``k`` and how many tokens it spans, if any."""
    tok = tokens[k]
    if tok.kind == "op" and tok.value == ":" and k + 1 < len(tokens) and tokens[k + 1].value == "=":
        return ":=", 2
    if tok.kind in {"op", "cmd"} and tok.value in CHAIN_RELATIONS:
        return tok.value, 1
    return None


def clauses(text: str) -> tuple[Clause, ...]:
    """Split a math fragment into top-level clauses, each into the members of its relation chain."""
    tokens = tokenize(text)
    out: list[Clause] = []
    groups: list[list[Token]] = [[]]
    depth = 0
    for k, tok in enumerate(tokens):
        depth += _depth_change(tok)
        label = tok.value == ":" and (k + 1 == len(tokens) or tokens[k + 1].value != "=")
        if depth == 0 and (tok.kind == "sep" or (tok.kind == "op" and (tok.value in {",", ";"} or label))):
            groups.append([])
            continue
        groups[-1].append(tok)
    for group in groups:
        group = _unbox(group)
        if not group:
            continue
        members: list[Member] = []
        start, relation, depth, k = 0, "", 0, 0
        while k < len(group):
            depth += _depth_change(group[k])
            rel = _relation_at(group, k) if depth == 0 else None
            if rel is not None:
                members.append(_member(text, group[start:k], relation))
                relation, start = rel[0], k + rel[1]
                k += rel[1]
                continue
            k += 1
        members.append(_member(text, group[start:], relation))
        out.append(Clause(group[0].start, group[-1].end, tuple(members)))
    return tuple(out)


def _unbox(group: list[Token]) -> list[Token]:
    """Drop a ``\\boxed{...}`` that wraps a whole clause, keeping the positions of what is inside."""
    if len(group) >= 3 and group[0].value == r"\boxed" and group[1].value == "{" and group[-1].value == "}":
        depth = 0
        for k, tok in enumerate(group[1:], start=1):
            depth += _depth_change(tok)
            if depth == 0:
                return group[2:-1] if k == len(group) - 1 else group
    return group


def _member(text: str, toks: Sequence[Token], relation: str) -> Member:
    """A member built from its tokens (empty members keep an empty text)."""
    if not toks:
        return Member("", 0, 0, relation)
    return Member(text[toks[0].start:toks[-1].end], toks[0].start, toks[-1].end, relation)


# ----------------------------------------------------------------------------------------------
# Numbers


@dataclass(frozen=True)
class Decimal:
    """A decimal numeral as written: its exact value and the number of digits after the point."""

    value: sp.Rational
    places: int
    text: str


def decimal(text: str) -> Decimal | None:
    """Read a plain numeral (``-0.2689``, ``5``, ``+1.0``); None if ``text`` is anything else."""
    s = text.strip().replace("\\,", "").replace("{,}", "")
    m = NUMBER.fullmatch(s)
    if m is None or not (m.group("int") or m.group("frac")):
        return None
    frac = m.group("frac") or ""
    magnitude = sp.Rational(int(m.group("int") or "0") * 10 ** len(frac) + int(frac or "0"), 10 ** len(frac))
    return Decimal(-magnitude if m.group("sign") in {"-", "−"} else magnitude, len(frac), s)


def _number(text: str) -> sp.Rational:
    """The exact value of a digit token."""
    d = decimal(text)
    if d is None:
        raise NotationError(f"not a number: {text!r}")
    return d.value


# ----------------------------------------------------------------------------------------------
# Token lists


def _top_level(tokens: Sequence[Token], value: str) -> int | None:
    """The position of the first ``value`` token outside any group, or None."""
    depth = 0
    for k, tok in enumerate(tokens):
        depth += _depth_change(tok)
        if depth == 0 and tok.value == value:
            return k
    return None


def _raw(tokens: Sequence[Token]) -> str:
    """The tokens' values joined (for names built from scripts)."""
    return "".join(t.value if t.kind != "text" else f"\\text{{{t.value}}}" for t in tokens)
