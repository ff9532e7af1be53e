"""The parser's rules for lists and environments: argument lists, lists written with dots, brackets,
finite sets, and the matrix and ``cases`` environments.

They are methods of ``verify.notation_parser.Parser`` and call its grammar
(``sub_parse``, ``piecewise``).
"""

from __future__ import annotations

import sympy as sp

from verify.latex_tokens import Token, _depth_change
from verify.notation_cursor import Cursor
from verify.notation_table import ELIDED, ELIDED_SIZE, LIST_DOTS, MATRICES
from verify.notation_values import _at_index, _written_index


class ListRules(Cursor):
    """``(a, b)``, ``[a, b]``, ``w_1, \\ldots, w_N``, ``\\{a, b\\}``, ``\\begin{bmatrix} .. \\end{bmatrix}``."""

    def paren_args(self) -> list[sp.Basic]:
        """A parenthesised, comma-separated argument list."""
        opener = self.next()
        closer = {"(": ")", "[": "]", "{": "}"}[opener.value]
        args, current, depth = [], [], 0
        while True:
            tok = self.next()
            if tok.kind == "eof":
                raise self.error(f"unclosed {opener.value}", opener)
            depth += _depth_change(tok)
            if depth < 0 and tok.value == closer:
                break
            if depth == 0 and (tok.value == "," and tok.kind == "op" or tok.value == r"\mid" and self.context.generic):
                args.extend(self.items(current))  # P(y \mid x): the condition is one more argument
                current = []
                continue
            current.append(tok)
        args.extend(self.items(current))
        return self.expand_elided(args) if any(a is ELIDED for a in args) else args

    def items(self, toks: list[Token]) -> list[sp.Basic]:
        """An item of a comma list, or the dots and the item written after them without a comma."""
        if self.context.generic and len(toks) > 1 and toks[0].value in LIST_DOTS:
            return [ELIDED, self.sub_parse(toks[1:])]
        return [self.item(toks)]

    def item(self, toks: list[Token]) -> sp.Basic:
        """One item of a comma list; a lone ``\\ldots`` (generic mode) is the ELIDED marker."""
        if self.context.generic and len(toks) == 1 and toks[0].value in LIST_DOTS:
            return ELIDED
        return self.sub_parse(toks)

    def expand_elided(self, items: list[sp.Basic]) -> list[sp.Basic]:
        """``w_1, w_2, \\ldots, w_N`` at the size lists are read at (N = ELIDED_SIZE): the item after the dots is
        the pattern, the items before them give where it resumes."""
        out: list[sp.Basic] = []
        for k, item in enumerate(items):
            if item is not ELIDED:
                out.append(item)
                continue
            if k == 0 or k + 1 >= len(items) or items[k + 1] is ELIDED:
                raise self.error("an elided sequence without a term before and after the dots")
            last = items[k + 1]
            ends = sorted({i for x in last.atoms(sp.Indexed) for i in x.indices if isinstance(i, sp.Symbol)},
                          key=sp.default_sort_key)
            if len(ends) != 1:
                raise self.error("an elided sequence whose last term has no single letter index")
            written = _written_index(out[-1])
            if written is None or written >= ELIDED_SIZE:
                raise self.error("an elided sequence whose terms before the dots have no number index")
            end = ends[0]
            if self.context.ends is not None:
                self.context.ends.add(end.name)
            out.extend(_at_index(last, end, j) for j in range(written + 1, ELIDED_SIZE))
            items[k + 1] = _at_index(last, end, ELIDED_SIZE)
        return out

    def bracket(self, opener: Token) -> sp.Basic:
        """A parenthesised expression; a comma list in ``(..)`` is a Tuple, in ``[..]`` a row vector."""
        closer = {"(": ")", "[": "]", "{": "}"}[opener.value]
        self.pos -= 1
        items = self.paren_args()
        if len(items) == 1:
            return items[0]
        if closer == "]":
            return sp.ImmutableMatrix([items])
        return sp.Tuple(*items)

    def finite_set(self, opener: Token) -> sp.Basic:
        r"""``\{a, b\}``."""
        items, current, depth = [], [], 0
        while True:
            tok = self.next()
            if tok.kind == "eof":
                raise self.error("unclosed \\{", opener)
            if tok.value == r"\}" and depth == 0:
                break
            depth += _depth_change(tok)
            if tok.value == "," and depth == 0:
                items.append(self.sub_parse(current))
                current = []
                continue
            current.append(tok)
        if current:
            items.append(self.sub_parse(current))
        return sp.FiniteSet(*items)

    def environment(self, begin: Token) -> sp.Basic:
        """``cases`` as a Piecewise, the matrix environments as a matrix."""
        env = begin.value.strip()
        if env not in MATRICES | {"cases"}:
            raise self.error(f"environment {env!r} is not in the notation table", begin)
        if env == "array" and self.at("{"):
            self.group_tokens(self.next())
        rows: list[list[list[Token]]] = [[[]]]
        depth = 0
        while True:
            tok = self.next()
            if tok.kind == "eof":
                raise self.error(f"unclosed environment {env!r}", begin)
            if tok.kind == "end" and depth == 0:
                break
            depth += _depth_change(tok)
            if depth == 0 and tok.kind == "rowsep":
                rows.append([[]])
            elif depth == 0 and tok.kind == "op" and tok.value == "&":
                rows[-1].append([])
            else:
                rows[-1][-1].append(tok)
        rows = [r for r in rows if any(cell for cell in r)]
        if env == "cases":
            return self.piecewise(rows)
        cells = [[self.item(cell) for cell in row] for row in rows]
        if any(c is ELIDED for r in cells for c in r):
            if any(len(r) != 1 for r in cells):
                raise self.error("an elided matrix that is not one column", begin)
            cells = [[c] for c in self.expand_elided([r[0] for r in cells])]
        if len({len(r) for r in cells}) != 1:
            raise self.error("matrix rows of different lengths", begin)
        return sp.ImmutableMatrix(cells)
