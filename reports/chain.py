"""A record's derivation as one chain for ``align*``: each line an expression, its link to the line above
(``=`` when the two are equal at random rational points, ``\\longrightarrow`` when the rule turns one
into the other, e.g. by differentiating), and the rule that produced it, typeset.

Expressions wider than ``CHAIN_WIDTH`` are not cut: the line shows their structure (a sum of so many
terms, a matrix of such a shape), and its link is still checked numerically.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import sympy as sp

from derive.functions import unfold
from derive.proof import witness_zero
from reports.latex import Tex, tex_width
from reports.printer import textbook
from reports.prose import prose_tex

CHAIN_WIDTH = 90.0  # tex_width of the widest expression typeset in a chain (shrunk to the line when wider than it)
MATRIX_ENTRY_WIDTH = 24.0  # a matrix with a wider entry is shown by its structure (its entries would be unreadable)
LINK_POINTS = 2  # random rational points at which two consecutive lines must agree to be linked by "="
LINK_OPS = 400  # larger pairs are not evaluated (their link reads as a step of the rule)
EQUAL = Tex("=")
STEP = Tex(r"\longrightarrow")


@dataclass(frozen=True)
class ChainLine:
    """One line of a derivation chain: its link to the line above, the expression, the rule, and whether shown whole."""

    relation: Tex
    expr: Tex
    rule: Tex
    whole: bool = True


def structure(expr: object) -> Tex:
    """What an expression too wide to print is made of, in words."""
    if isinstance(expr, sp.MatrixBase):
        longest = max((len(sp.Add.make_args(e)) for e in expr), default=0)
        rows, cols = expr.shape
        return Tex(rf"\text{{a }}{rows}\times{cols}\text{{ matrix whose longest entry is a sum of {longest} terms}}")
    if isinstance(expr, sp.Add):
        return Tex(rf"\text{{a sum of {len(expr.args)} terms in {len(expr.free_symbols)} symbols}}")
    if isinstance(expr, sp.Basic):
        return Tex(rf"\text{{an expression of {sp.count_ops(expr)} operations}}")
    return Tex(r"\text{(not printable)}")


def typeset(expr: object, width: float = CHAIN_WIDTH) -> tuple[Tex, bool]:
    """The textbook LaTeX of ``expr``, or its ``structure`` when wider than ``width``; and whether shown whole."""
    tex = textbook(expr)
    crowded = isinstance(expr, sp.MatrixBase) and expr.shape != (1, 1) and \
        max(tex_width(textbook(e)) for e in expr) > MATRIX_ENTRY_WIDTH
    if tex_width(tex) <= width and not crowded:
        return Tex(tex), True
    return structure(expr), False


def equal(before: object, after: object, domain: Mapping[str, tuple[float, float]]) -> bool:
    """Whether two consecutive lines agree at ``LINK_POINTS`` random rational points (``derive.proof``)."""
    scalar = (sp.Expr,)
    if not (isinstance(before, scalar) and isinstance(after, scalar)) or isinstance(before, sp.Tuple | sp.Set):
        return False
    if isinstance(after, sp.Tuple | sp.Set) or sp.count_ops(before) + sp.count_ops(after) > LINK_OPS:
        return False
    try:
        diff = unfold(before) - unfold(after)
        if diff == 0:
            return True
        good, counter = witness_zero(diff, domain, LINK_POINTS, 0)
    except Exception:  # noqa: BLE001 - an expression the sampler cannot evaluate reads as a step, not as "="
        return False
    return good == LINK_POINTS and not counter


def is_check(rule: str, expr: object) -> bool:
    """Whether a step records the outcome of a check (all true, or counts of what was checked)."""
    if not isinstance(expr, sp.Tuple) or not expr.args:
        return False
    if all(a is sp.true for a in expr.args):
        return True
    return "checked" in rule and all(isinstance(a, sp.Integer) for a in expr.args)


def chain(steps: tuple[tuple[str, object], ...], domain: Mapping[str, tuple[float, float]]) -> tuple[ChainLine, ...]:
    """The lines of a derivation from its (rule, expression) steps, in order."""
    lines: list[ChainLine] = []
    previous: object = None
    for k, (rule, expr) in enumerate(steps):
        if is_check(rule, expr):  # the outcome of a check, not a line of the derivation
            lines.append(ChainLine(Tex(""), Tex(r"\checkmark"), prose_tex(rule), True))
            continue
        tex, whole = typeset(expr)
        relation = Tex("") if k == 0 else (EQUAL if equal(previous, expr, domain) else STEP)
        lines.append(ChainLine(relation, tex, prose_tex(rule), whole))
        previous = expr
    return tuple(lines)
