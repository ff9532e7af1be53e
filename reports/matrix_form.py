"""The matrix form of BP1-BP4, as a last line of their chains, proven equal to the index form.

A record that has a matrix form declares it (``Formula.matrix_form``: the matrix expression of its result
built from the record's own symbols, and the entry of it that the record derives). ``matrix_line`` takes
that entry with ``derive.backprop.matrix_entry`` and proves it equal to the record's result with
``derive.proof.check_equal``; the line is shown only when the proof succeeds.
"""

from __future__ import annotations

from derive.backprop import matrix_entry
from derive.core import Formula
from derive.proof import check_equal
from reports.chain import STEP, ChainLine
from reports.latex import Tex
from reports.printer import textbook


def matrix_line(formula: Formula) -> ChainLine | None:
    """The chain's matrix-form line for ``formula``, when it has one and its entry is proven equal to the result."""
    form = formula.matrix_form
    if form is None:
        return None
    row, col = form.entry
    entry = matrix_entry(form.expr, row, col, form.names, form.index)
    result = formula.derive().result
    proof = check_equal(result, entry, formula.domain)
    if proof.verdict not in {"proven", "agrees"}:
        return None
    where = f"${textbook(row)}$" if col == 1 else f"$({textbook(row)}, {textbook(col)})$"
    return ChainLine(STEP, Tex(textbook(form.expr)),
                     Tex(f"in matrix form: entry {where} is the line above ({proof.verdict})"))
