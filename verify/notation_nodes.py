"""The opaque SymPy nodes the parser builds where a formula names something it does not compute yet.

A transpose or an entrywise product of operands whose shapes are unknown, a norm, a Leibniz derivative,
an expectation, a probability, an inverse function, an entry of a matrix expression and a derivative at
a point: each is kept as written, and the judge (``verify.judge_resolve``) or the matrix witnesses
(``verify.matrices``) give it a value once the notes say what its parts are.
"""

from __future__ import annotations

import sympy as sp


class Top(sp.Function):
    """The transpose of something whose shape is unknown (``x^\\top`` for a symbol ``x``)."""

    nargs = 1


class Hadamard(sp.Function):
    """An entrywise product ``a \\odot b`` of operands whose shapes are not known yet (bold names)."""

    nargs = 2


class Norm(sp.Function):
    """``\\|a\\|_p`` of a vector or matrix expression (p = 1, or 2 for Euclidean and Frobenius); generic mode."""

    nargs = 2


class Partial(sp.Function):
    """A Leibniz derivative ``d num / d den`` as written; kept opaque (it names, it does not compute)."""

    nargs = 2


class Expectation(sp.Function):
    """``E[X]``: the expectation of X, kept opaque until a distribution the notes give evaluates it."""

    nargs = 1


class ProbabilityOf(sp.Function):
    """``P(X = v)``: the probability that X takes the value v; args (X, v)."""

    nargs = 2


class InverseOf(sp.Function):
    """``f^{-1}(y)``: the inverse of the function named f at y; args (Symbol f, y), kept opaque."""

    nargs = 2


class Entry(sp.Function):
    """``[M]_{ij}``: the entry (i, j) of a vector or matrix expression, 1-based; args (M, Tuple(i, j))."""

    nargs = 2


class DerivativeAt(sp.Function):
    """``\\frac{\\partial f}{\\partial u}(p, q)``: the derivative of the function named f with respect to its argument
    named u, taken ``order`` times, at the point (p, q); args (Symbol f, u, order, Tuple(p, q)), kept opaque."""

    nargs = 4
