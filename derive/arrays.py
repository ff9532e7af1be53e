"""Array vocabulary for kernels, and an interpreter that expands it to explicit components.

A vector kernel is written with ``RSum``/``RMax`` (reductions over the last axis, kept as a
broadcastable axis), ``Count`` (the length of that axis), ``Col``/``Row`` (a vector as the rows or
the columns of a square result) and ``Eye`` (the identity of that size). The code printer turns
these into NumPy/JAX calls; ``expand`` turns them into SymPy matrices for a concrete length so the
kernel can be proven equal to the indexed derivation.
"""

from __future__ import annotations

from collections.abc import Mapping

import sympy as sp


class RSum(sp.Function):
    """Sum over the last axis, keeping it (broadcastable)."""

    nargs = 1


class RMax(sp.Function):
    """Maximum over the last axis, keeping it (broadcastable)."""

    nargs = 1


class Count(sp.Function):
    """Length of the last axis of its argument, as a number."""

    nargs = 1


class Col(sp.Function):
    """A vector placed along the rows of a square (n x n) result: v[..., :, None]."""

    nargs = 1


class Row(sp.Function):
    """A vector placed along the columns of a square (n x n) result: v[..., None, :]."""

    nargs = 1


class Eye(sp.Function):
    """The identity matrix whose size is the last axis of its argument."""

    nargs = 1


Value = sp.Expr | sp.MatrixBase


def _broadcast(a: Value, b: Value) -> tuple[Value, Value]:
    """Broadcast scalars and (n x 1) / (1 x n) / (n x n) matrices to a common shape."""
    if not isinstance(a, sp.MatrixBase) and not isinstance(b, sp.MatrixBase):
        return a, b
    shape_a = a.shape if isinstance(a, sp.MatrixBase) else (1, 1)
    shape_b = b.shape if isinstance(b, sp.MatrixBase) else (1, 1)
    rows, cols = max(shape_a[0], shape_b[0]), max(shape_a[1], shape_b[1])

    def grow(v: Value, shape: tuple[int, int]) -> sp.MatrixBase:
        if not isinstance(v, sp.MatrixBase):
            return sp.Matrix(rows, cols, lambda i, j: v)
        return sp.Matrix(rows, cols, lambda i, j: v[i if shape[0] > 1 else 0, j if shape[1] > 1 else 0])

    return grow(a, shape_a), grow(b, shape_b)


def _combine(op: type, values: list[Value]) -> Value:
    """Fold an Add or Mul elementwise over broadcast values."""
    acc = values[0]
    for v in values[1:]:
        x, y = _broadcast(acc, v)
        if isinstance(x, sp.MatrixBase):
            acc = sp.Matrix(x.rows, x.cols, [op(x[i, j], y[i, j]) for i in range(x.rows) for j in range(x.cols)])
        else:
            acc = op(x, y)
    return acc


def expand(expr: sp.Expr, vectors: Mapping[sp.Symbol, sp.MatrixBase]) -> Value:
    """Evaluate ``expr`` with each vector symbol bound to an explicit (n x 1) column."""
    if expr in vectors:
        return vectors[expr]
    if not expr.args or isinstance(expr, sp.Symbol):
        return expr
    args = [expand(a, vectors) for a in expr.args]
    if isinstance(expr, RSum):
        return sum(args[0]) if isinstance(args[0], sp.MatrixBase) else args[0]
    if isinstance(expr, RMax):
        return sp.Max(*args[0]) if isinstance(args[0], sp.MatrixBase) else args[0]
    if isinstance(expr, Count):
        return sp.Integer(args[0].rows) if isinstance(args[0], sp.MatrixBase) else sp.Integer(1)
    if isinstance(expr, Col):
        return args[0]
    if isinstance(expr, Row):
        return args[0].T
    if isinstance(expr, Eye):
        return sp.eye(args[0].rows)
    if isinstance(expr, (sp.Add, sp.Mul)):
        return _combine(type(expr), args)
    if any(isinstance(a, sp.MatrixBase) for a in args):
        shaped = next(a for a in args if isinstance(a, sp.MatrixBase))
        full = [(_broadcast(a, shaped)[0]) for a in args]
        return sp.Matrix(shaped.rows, shaped.cols, lambda i, j: expr.func(*[f[i, j] for f in full]))
    return expr.func(*args)
