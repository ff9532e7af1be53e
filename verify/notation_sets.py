"""Sets, conditions and prose cases, read with the parser: ``(0, 1)``, ``[0, \\infty)``, ``\\mathbb{R}``,
``\\{0, 1\\}`` and unions; a condition written on its own (``z > 0``); a table cell such as
``$1$ if $z>0$ else $\\alpha$``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sympy as sp

from verify.latex_tokens import NotationError, Token, _depth_change, tokenize
from verify.notation_parser import Parser, _empty, condition, parse_expr_latex
from verify.notation_table import SETS, Context


def parse_condition(text: str, context: Context | None = None) -> sp.Basic:
    """Parse a condition written on its own (``z>0``)."""
    return condition(tokenize(text), context)


def parse_set(text: str, context: Context | None = None) -> sp.Set:
    """An interval ``(a,b)``, ``[0,\\infty)``, a named set ``\\mathbb{R}``, ``\\{0,1\\}``, or a union."""
    tokens = tokenize(text)
    pieces: list[list[Token]] = [[]]
    depth = 0
    for tok in tokens:
        depth += _depth_change(tok)
        if depth == 0 and tok.value == r"\cup":
            pieces.append([])
        else:
            pieces[-1].append(tok)
    sets = [_one_set(p, context or Context()) for p in pieces]
    return sp.Union(*sets) if len(sets) > 1 else sets[0]


def _one_set(tokens: list[Token], context: Context) -> sp.Set:
    """One interval or named set."""
    if not tokens:
        raise NotationError("empty set expression")
    first, last = tokens[0], tokens[-1]
    if len(tokens) == 1 and first.kind == "set":
        if first.value.strip() in SETS:
            return SETS[first.value.strip()]
        raise NotationError(f"unknown set \\mathbb{{{first.value}}}")
    if first.value in {"(", "["} and last.value in {")", "]"} and first.kind == last.kind == "op":
        inner, depth, comma = tokens[1:-1], 0, None
        for k, tok in enumerate(inner):
            depth += _depth_change(tok)
            if depth == 0 and tok.value == ",":
                if comma is not None:
                    raise NotationError("an interval has two ends")
                comma = k
        if comma is None:
            raise NotationError("an interval needs 'a, b'")
        lo = Parser(inner[:comma], context).parse() if inner[:comma] else _empty()
        hi = Parser(inner[comma + 1:], context).parse() if inner[comma + 1:] else _empty()
        try:
            return sp.Interval(lo, hi, left_open=first.value == "(", right_open=last.value == ")")
        except (TypeError, ValueError) as e:
            raise NotationError(f"not an interval: {e}") from e
    value = Parser(tokens, context).parse()
    if isinstance(value, sp.Set):
        return value
    raise NotationError("not a set")


def parse_prose_cases(segments: Sequence[tuple[str, str]], context: Context | None = None) -> sp.Basic:
    """``$1$ if $z>0$ else $\\alpha$`` as a Piecewise; ``$-\\eta\\cdot$grad`` as a product with ``\\text{grad}``."""
    parts = [(kind, text.strip()) for kind, text in segments if text.strip()]
    words = [t.lower().strip(" ,;") for k, t in parts if k == "text"]
    math = [t for k, t in parts if k == "math"]
    kinds = [k for k, _ in parts]
    ctx = context or Context()
    if kinds == ["math", "text", "math", "text", "math"] and words[0] == "if" and words[1] in {"else", "otherwise"}:
        return sp.Piecewise((parse_expr_latex(math[0], ctx), parse_condition(math[1], ctx)),
                            (parse_expr_latex(math[2], ctx), sp.true))
    if kinds == ["math", "text", "math", "text", "math", "text"] and words[0] == "if" and words[2] == "otherwise":
        return sp.Piecewise((parse_expr_latex(math[0], ctx), parse_condition(math[1], ctx)),
                            (parse_expr_latex(math[2], ctx), sp.true))
    if kinds == ["math"]:
        return parse_expr_latex(math[0], ctx)
    word = re.match(r"[A-Za-z]+", parts[-1][1]) if kinds == ["math", "text"] else None
    if word is not None and re.search(r"\\(?:cdot|times)\s*$", math[0]):
        return parse_expr_latex(f"{math[0]} \\text{{{word.group()}}}", ctx)  # a product ending in a word
    raise NotationError("prose in the cell is not of the form '$a$ if $c$ else $b$'")
