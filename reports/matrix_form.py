"""The matrix form of BP1-BP4, as a last line of their chains, proven equal to the index form.

``MATRIX_FORMS`` is a table: a record, the matrix expression of its result built from the record's own
symbols (``derive.backprop``), and the entry of it that the record derives. ``matrix_line`` takes that
entry with ``derive.backprop.matrix_entry`` and proves it equal to the record's result with
``derive.proof.check_equal``; the line is shown only when the proof succeeds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import sympy as sp

from derive import backprop as bp
from derive.core import Formula
from derive.proof import check_equal
from reports.chain import STEP, ChainLine
from reports.latex import Tex
from reports.printer import textbook


@dataclass(frozen=True)
class MatrixForm:
    """A record's result as a matrix: the expression, which entry the record derives, and its names."""

    expr: sp.MatrixExpr
    entry: tuple[sp.Expr, sp.Expr]
    names: Mapping[sp.MatrixSymbol, sp.IndexedBase]


def _vector(base: sp.IndexedBase, rows: sp.Expr) -> sp.MatrixSymbol:
    """A column vector named like ``base``."""
    return sp.MatrixSymbol(str(base), rows, 1)


def _bp1() -> MatrixForm:
    grad, slope = _vector(bp.grad_out, bp.m_out), _vector(bp.slope_out, bp.m_out)
    return MatrixForm(sp.HadamardProduct(grad, slope), (bp.j, sp.Integer(1)), {grad: bp.grad_out, slope: bp.slope_out})


def _bp2() -> MatrixForm:
    w, delta, slope = (sp.MatrixSymbol(str(bp.W_next), bp.m_next, bp.m_l), _vector(bp.delta_next, bp.m_next),
                       _vector(bp.slope_l, bp.m_l))
    return MatrixForm(sp.HadamardProduct(w.T * delta, slope), (bp.j, sp.Integer(1)),
                      {w: bp.W_next, delta: bp.delta_next, slope: bp.slope_l})


def _bp3() -> MatrixForm:
    delta, a = _vector(bp.delta_l, bp.m_l), _vector(bp.a_prev, bp.m_prev)
    return MatrixForm(delta * a.T, (bp.r, bp.s), {delta: bp.delta_l, a: bp.a_prev})


def _bp4() -> MatrixForm:
    delta = _vector(bp.delta_l, bp.m_l)
    return MatrixForm(delta, (bp.r, sp.Integer(1)), {delta: bp.delta_l})


MATRIX_FORMS: Mapping[str, Callable[[], MatrixForm]] = {
    "bp1_output_error": _bp1, "bp2_hidden_error": _bp2, "bp3_weight_grad": _bp3, "bp4_bias_grad": _bp4,
}


def matrix_line(formula: Formula) -> ChainLine | None:
    """The chain's matrix-form line for ``formula``, when it has one and its entry is proven equal to the result."""
    make = MATRIX_FORMS.get(formula.key)
    if make is None:
        return None
    form = make()
    row, col = form.entry
    entry = bp.matrix_entry(form.expr, row, col, form.names, bp.k)
    result = formula.derive().result
    proof = check_equal(result, entry, formula.domain)
    if proof.verdict not in {"proven", "agrees"}:
        return None
    where = f"${textbook(row)}$" if col == 1 else f"$({textbook(row)}, {textbook(col)})$"
    return ChainLine(STEP, Tex(textbook(form.expr)),
                     Tex(f"in matrix form: entry {where} is the line above ({proof.verdict})"))
