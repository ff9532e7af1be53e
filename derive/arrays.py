"""Array vocabulary for kernels, and an interpreter that expands it to explicit components.

A kernel that is not elementwise is written with ``RSum``/``RMax`` (reductions over the last axis,
kept as a broadcastable axis), ``Count`` (the length of that axis), ``Col``/``Row`` (a vector as the
rows or the columns of a square result), ``Eye`` (the identity of that size), and for matrices
``BSum`` (sum over axis -2, the batch axis of a layer, dropping it), ``Dot`` (matrix product) and
``Swap`` (exchange the last two axes). The code printer turns these into NumPy/JAX calls.

``expand`` turns them into SymPy matrices for concrete sizes, with NumPy's meaning of the last two
axes: a value is a scalar or a (rows x cols) matrix standing for axes (-2, -1), so a vector of
length n is a (1 x n) row and broadcasting works as in NumPy. ``vectorize`` turns an indexed
definition (sums over one index) into this vocabulary, so a kernel can be read off its record.
A kernel may wrap a term in ``sympy.UnevaluatedExpr`` to keep it computed as one (e.g. x - max x
before it is centred); ``expand`` reads through the wrapper.
"""

from __future__ import annotations

from collections.abc import Mapping

import sympy as sp


class ArrayShapeError(ValueError):
    """An array expression was expanded with operands whose shapes do not fit (e.g. a transposed product)."""


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
    """A vector placed along the columns of a result: v[..., None, :] (also: a bias added to every row)."""

    nargs = 1


class Eye(sp.Function):
    """The identity matrix whose size is the last axis of its argument."""

    nargs = 1


class BSum(sp.Function):
    """Sum over axis -2 (the batch axis of a layer's activations), dropping it: (..., B, m) -> (..., m)."""

    nargs = 1


class Dot(sp.Function):
    """Matrix product over the last axis of the first and axis -2 of the second, batched: a @ b."""

    nargs = 2


class Swap(sp.Function):
    """Exchange the last two axes (the transpose of each matrix of a batch)."""

    nargs = 1


Value = sp.Expr | sp.MatrixBase


def _shape(v: Value) -> tuple[int, int]:
    """The (rows, cols) of a matrix value; a scalar broadcasts like a (1 x 1)."""
    return v.shape if isinstance(v, sp.MatrixBase) else (1, 1)


def _broadcast(a: Value, b: Value) -> tuple[Value, Value]:
    """Broadcast scalars and matrices to a common shape, by NumPy's rule on the last two axes."""
    if not isinstance(a, sp.MatrixBase) and not isinstance(b, sp.MatrixBase):
        return a, b
    shape_a, shape_b = _shape(a), _shape(b)
    for x, y in zip(shape_a, shape_b, strict=True):
        if x != y and 1 not in (x, y):
            raise ArrayShapeError(f"cannot broadcast shapes {shape_a} and {shape_b}")
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


def _matrix(v: Value, node: str) -> sp.MatrixBase:
    """``v`` as a matrix, or ArrayShapeError naming the node that needs one."""
    if not isinstance(v, sp.MatrixBase):
        raise ArrayShapeError(f"{node} needs an array argument, got the scalar {v}")
    return v


def _vector(v: Value, node: str) -> sp.MatrixBase:
    """``v`` as a (1 x n) vector, or ArrayShapeError (a matrix here would need a third axis)."""
    m = _matrix(v, node)
    if m.rows != 1:
        raise ArrayShapeError(f"{node} needs a vector, got a {m.shape} matrix")
    return m


def _reduce(v: Value, fold: type) -> Value:
    """Reduce each row of ``v`` over its columns, keeping a (rows x 1) result."""
    if not isinstance(v, sp.MatrixBase):
        return v
    return sp.Matrix(v.rows, 1, lambda i, _: fold(*v.row(i)))


def _sum(*terms: sp.Expr) -> sp.Expr:
    """The sum of ``terms`` (a callable like ``sp.Max`` for ``_reduce``)."""
    return sp.Add(*terms)


def _apply(expr: sp.Basic, args: list[Value]) -> Value:
    """One array node applied to its expanded arguments."""
    if isinstance(expr, RSum):
        return _reduce(args[0], _sum)
    if isinstance(expr, RMax):
        return _reduce(args[0], sp.Max)
    if isinstance(expr, Count):
        return sp.Integer(_shape(args[0])[1])
    if isinstance(expr, Col):
        return _vector(args[0], "Col").T
    if isinstance(expr, Row):
        return _vector(args[0], "Row")
    if isinstance(expr, Eye):
        return sp.eye(_shape(args[0])[1])
    if isinstance(expr, BSum):
        m = _matrix(args[0], "BSum")
        return sp.Matrix(1, m.cols, lambda _, j: sp.Add(*m.col(j)))
    if isinstance(expr, Swap):
        return _matrix(args[0], "Swap").T
    if isinstance(expr, Dot):
        a, b = _matrix(args[0], "Dot"), _matrix(args[1], "Dot")
        if a.cols != b.rows:
            raise ArrayShapeError(f"Dot of shapes {a.shape} and {b.shape}: inner sizes differ")
        return a * b
    raise TypeError(f"not an array node: {type(expr).__name__}")


ARRAY_NODES = (RSum, RMax, Count, Col, Row, Eye, BSum, Swap, Dot)


def expand(expr: sp.Expr, arrays: Mapping[sp.Symbol, sp.MatrixBase]) -> Value:
    """Evaluate ``expr`` with each array symbol bound to an explicit matrix (a vector as a (1 x n) row)."""
    if expr in arrays:
        return arrays[expr]
    if isinstance(expr, sp.UnevaluatedExpr):  # a grouping kept for the order of evaluation only
        return expand(expr.args[0], arrays)
    if not expr.args or isinstance(expr, sp.Symbol):
        return expr
    args = [expand(a, arrays) for a in expr.args]
    if isinstance(expr, ARRAY_NODES):
        return _apply(expr, args)
    if isinstance(expr, (sp.Add, sp.Mul)):
        return _combine(type(expr), args)
    if any(isinstance(a, sp.MatrixBase) for a in args):
        shaped = next(a for a in args if isinstance(a, sp.MatrixBase))
        full = [(_broadcast(a, shaped)[0]) for a in args]
        return sp.Matrix(shaped.rows, shaped.cols, lambda i, j: expr.func(*[f[i, j] for f in full]))
    return expr.func(*args)


def vectorize(expr: sp.Basic, entries: Mapping[sp.IndexedBase, sp.Expr],
              names: Mapping[sp.Symbol, sp.Expr] | None = None) -> sp.Expr:
    """An indexed expression (sums over one index at a time) in the array vocabulary of the last axis.

    Every ``Sum`` over an index becomes ``RSum`` of its summand, every entry ``base[index]`` the
    array ``entries[base]``, and each symbol in ``names`` (e.g. the size H -> ``Count(x)``) its value.
    """
    names = dict(names or {})
    if isinstance(expr, sp.Indexed):
        if expr.base not in entries:
            raise KeyError(f"no array for the entries of {expr.base}; add it to `entries`")
        return entries[expr.base]
    if isinstance(expr, sp.Sum):
        if len(expr.limits) != 1:
            raise ValueError(f"vectorize takes sums over one index at a time, got {expr.limits}")
        return RSum(vectorize(expr.function, entries, names))
    if isinstance(expr, sp.Symbol):
        return names.get(expr, expr)
    if not expr.args:
        return expr
    return expr.func(*[vectorize(a, entries, names) for a in expr.args])
