"""The parts of a chain member a worked number can be: a factor of a product, an entry of a printed matrix.

A worked example prints its numbers inside members: ``(-0.3573)\\cdot 0.2297`` (the second factor is
sigma'(z)), ``\\begin{bmatrix}0.07\\\\0.19\\end{bmatrix}`` (entry 2 is z_2), ``[-0.0425,\\,-0.0449]``.
These helpers cut a member into such parts on the tokens, so that each part keeps its span in the
piece's text (and so its line) and is read where it is written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from verify.latex_tokens import Member, NotationError, Token, _depth_change, decimal, tokenize

#: The products a member's factors are split at (top level only).
FACTOR_OPS = frozenset({r"\cdot", r"\odot", r"\times"})
#: The environments a printed vector or matrix is written in.
MATRICES = frozenset({"bmatrix", "pmatrix", "matrix", "vmatrix", "Bmatrix"})


def _part(member: Member, tokens: Sequence[Token]) -> Member:
    """The member's text spanned by ``tokens``, as a member with its span in the piece."""
    start, end = tokens[0].start, tokens[-1].end
    return Member(member.text[start:end], member.start + start, member.start + end, member.relation)


def _tokens(member: Member) -> list[Token]:
    """The member's tokens, or none when it is not LaTeX the tokenizer reads."""
    try:
        tokens = tokenize(member.text)
    except NotationError:
        return []
    return [] if any(t.kind == "bad" for t in tokens) else tokens


def _split(tokens: Sequence[Token], at: int, is_cut: Callable[[Token], bool]) -> list[list[Token]]:
    """``tokens`` cut wherever ``is_cut(token)`` holds at bracket depth ``at``."""
    parts: list[list[Token]] = [[]]
    depth = 0
    for tok in tokens:
        change = _depth_change(tok)
        if change < 0:
            depth += change
        if depth == at and is_cut(tok):
            parts.append([])
        else:
            parts[-1].append(tok)
        if change > 0:
            depth += change
    return parts


def factors(member: Member) -> list[Member]:
    """The member's top-level factors (split at ``\\cdot``, ``\\odot``, ``\\times``); the member itself if none."""
    tokens = _tokens(member)
    if not tokens:
        return [member]
    parts = _split(tokens, 0, lambda t: t.kind == "cmd" and t.value in FACTOR_OPS)
    return [_part(member, p) for p in parts if p]


def entry(member: Member, index: Sequence[int]) -> Member | None:
    """Entry ``index`` (0-based; one index for a vector) of a printed matrix or ``[a, b]`` list, else None."""
    tokens = _tokens(member)
    if len(tokens) < 2:
        return None
    first, last = tokens[0], tokens[-1]
    if first.kind == "begin" and first.value in MATRICES and last.kind == "end" and last.value == first.value:
        rows = [_split(r, 0, lambda t: t.kind == "op" and t.value == "&")
                for r in _split(tokens[1:-1], 0, lambda t: t.kind == "rowsep")]
    elif first.value == "[" and last.value == "]":
        rows = [_split(tokens[1:-1], 0, lambda t: t.kind == "op" and t.value == ",")]
    else:
        return None
    rows = [r for r in rows if any(r)]
    if len(index) == 1:  # a vector: a column, or a single row
        cells = [r[0] for r in rows] if all(len(r) == 1 for r in rows) else rows[0] if len(rows) == 1 else []
        picked = cells[index[0]] if index[0] < len(cells) else []
    else:
        row = rows[index[0]] if index[0] < len(rows) else []
        picked = row[index[1]] if index[1] < len(row) else []
    return _part(member, picked) if picked else None


def number_text(member: Member) -> str | None:
    """The numeral a member is (``0.2297``, ``(-0.3573)``), without its brackets, or None."""
    text = member.text.strip()
    while text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    return text if decimal(text) is not None else None


__all__: Iterable[str] = ("FACTOR_OPS", "MATRICES", "entry", "factors", "number_text")
