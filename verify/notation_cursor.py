"""The parser's cursor over the tokens of one member: look ahead, consume, expect, report an error at a
token, count nesting, and take the tokens of a script or a brace group.

``verify.notation_parser.Parser`` and the families of rules it inherits (calculus, lists, probability)
share this base; it knows tokens, not grammar.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from verify.latex_tokens import NotationError, Token
from verify.notation_table import DECORATIONS, MAX_DEPTH, Context


@dataclass
class Cursor:
    """Recursive-descent parser state over the tokens of one member: the tokens, the context, where it is."""

    tokens: list[Token]
    context: Context = field(default_factory=Context)
    pos: int = 0
    depth: int = 0

    def peek(self, ahead: int = 0) -> Token:
        """The token ``ahead`` positions on (an ``eof`` token past the end)."""
        k = self.pos + ahead
        while k < len(self.tokens) and self.tokens[k].kind == "sep":
            k += 1
        if k < len(self.tokens):
            return self.tokens[k]
        end = self.tokens[-1].end if self.tokens else 0
        return Token("eof", "", end, end)

    def next(self) -> Token:
        """Consume and return the next token."""
        while self.pos < len(self.tokens) and self.tokens[self.pos].kind == "sep":
            self.pos += 1
        tok = self.peek()
        self.pos += 1
        return tok

    def at(self, *values: str) -> bool:
        """Whether the next token has one of ``values``."""
        tok = self.peek()
        return tok.kind in {"op", "cmd", "rowsep"} and tok.value in values

    def expect(self, value: str) -> Token:
        """Consume a token with ``value`` or raise."""
        tok = self.next()
        if tok.value != value or tok.kind not in {"op", "cmd", "rowsep"}:
            raise self.error(f"expected {value!r}", tok)
        return tok

    def error(self, message: str, tok: Token | None = None) -> NotationError:
        """A NotationError naming the offending token and its position."""
        tok = tok or self.peek()
        what = "end of formula" if tok.kind == "eof" else repr(tok.value)
        return NotationError(f"{message} at {what} (character {tok.start})")

    def enter(self) -> None:
        """Count one level of nesting; refuse absurd depth."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"nesting deeper than {MAX_DEPTH}")

    def script_group(self) -> list[Token]:
        """The tokens of a sub/superscript: a brace group, or one token (one digit of a number)."""
        tok = self.next()
        if tok.kind == "op" and tok.value == "{":
            return self.group_tokens(tok)
        if tok.kind == "num" and len(tok.value) > 1:
            self.pos -= 1
            self.tokens[self.pos] = Token("num", tok.value[1:], tok.start + 1, tok.end)
            return [Token("num", tok.value[0], tok.start, tok.start + 1)]
        if tok.kind in {"eof", "op"} and tok.value not in {"*"}:
            raise self.error("missing sub/superscript", tok)
        if tok.kind == "cmd" and tok.value[1:] in DECORATIONS | {"mathbf"}:
            raise self.error("decorated script needs braces", tok)
        return [tok]

    def group_tokens(self, opener: Token) -> list[Token]:
        """Tokens up to the brace matching ``opener`` (already consumed)."""
        depth, out = 1, []
        while True:
            tok = self.next()
            if tok.kind == "eof":
                raise self.error("unclosed {", opener)
            if tok.kind == "op" and tok.value == "{":
                depth += 1
            elif tok.kind == "op" and tok.value == "}":
                depth -= 1
                if depth == 0:
                    return out
            out.append(tok)
