"""The parser's probability rules in generic mode: ``E[X]`` and the event ``P(X = v)``.

They are methods of ``verify.notation_parser.Parser`` and call its grammar
(``sub_parse``, ``paren_args``).
"""

from __future__ import annotations

import sympy as sp

from verify.latex_tokens import Token, _depth_change, _top_level
from verify.notation_cursor import Cursor
from verify.notation_nodes import Expectation, ProbabilityOf


class ProbabilityRules(Cursor):
    """``\\mathbb{E}[\\xi]`` and ``P(\\xi = 0)``: what a distribution the notes give evaluates."""

    def expectation(self) -> sp.Basic:
        """``E[X]``: the expectation of the one argument in brackets, kept opaque."""
        inner = self.paren_args()
        if len(inner) != 1:
            raise self.error("an expectation of several arguments")
        return Expectation(inner[0])

    def event_follows(self) -> bool:
        """Whether the parenthesised group ahead holds an ``=`` at its top level (``P(\\xi = 0)``)."""
        depth = 0
        for tok in self.tokens[self.pos:]:
            depth += _depth_change(tok)
            if depth == 0:
                return False
            if depth == 1 and tok.value == "=":
                return True
        return False

    def event(self) -> sp.Basic:
        """``P(\\xi = v)``: the probability that a name takes a value."""
        opener = self.next()
        toks: list[Token] = []
        depth = 1
        while True:
            tok = self.next()
            if tok.kind == "eof":
                raise self.error("unclosed (", opener)
            depth += _depth_change(tok)
            if depth == 0:
                break
            toks.append(tok)
        cut = _top_level(toks, "=")
        assert cut is not None
        return ProbabilityOf(self.sub_parse(toks[:cut]), self.sub_parse(toks[cut + 1:]))
