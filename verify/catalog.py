"""The catalog of standard notation: one table from a spelling in LaTeX to what it means in SymPy.

The audit reads any notes file through this table; a document's own definitions override it (see
``verify.scope``). Adding a function is one row. Each row names the spellings the parser meets (the
name after ``\\``, ``\\operatorname{..}``, ``\\mathrm{..}`` or ``\\text{..}``, compared without case for
multi-letter names), what the name means, and its arity. ``build`` is None for a meaning the audit
knows but cannot decide without more information (an expectation needs a distribution); such a
statement is "unknown", naming the row.

The invariant is checked at import time: no spelling belongs to two rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import sympy as sp

from derive.functions import Phi, sigmoid

Kind = Literal["function", "constant", "statistic", "operator", "generic"]


@dataclass(frozen=True)
class Meaning:
    """One row: the spellings of a notation, its kind, what it builds, and how many arguments it takes."""

    key: str
    spellings: tuple[str, ...]
    kind: Kind
    build: Callable[..., sp.Expr] | None
    arity: int = 1
    note: str = ""


class BigO(sp.Function):
    """``\\mathcal{O}(g)``: a remainder no larger than a constant times g as the small quantities go to 0."""

    nargs = 1


def _relu(x: sp.Expr) -> sp.Expr:
    """max(0, x)."""
    return sp.Max(0, x)


def _softplus(x: sp.Expr) -> sp.Expr:
    """log(1 + e^x)."""
    return sp.log(1 + sp.exp(x))


def _gelu(x: sp.Expr) -> sp.Expr:
    """x Phi(x), the exact GELU."""
    return x * Phi(x)


def _sigmoid(x: sp.Expr) -> sp.Expr:
    """The logistic sigmoid."""
    return sigmoid(x)


CATALOG: tuple[Meaning, ...] = (
    Meaning("sigmoid", ("sigma", "sigmoid", "logistic", "sigm"), "function", _sigmoid,
            note="the logistic sigmoid 1/(1+e^{-x})"),
    Meaning("tanh", ("tanh",), "function", sp.tanh),
    Meaning("relu", ("relu",), "function", _relu, note="max(0, x)"),
    Meaning("softplus", ("softplus",), "function", _softplus, note="log(1+e^x)"),
    Meaning("gelu", ("gelu",), "function", _gelu, note="x Phi(x)"),
    Meaning("Phi", ("Phi",), "function", Phi, note="the standard normal CDF"),
    Meaning("erf", ("erf",), "function", sp.erf),
    Meaning("exp", ("exp",), "function", sp.exp, note="also written e^{x}"),
    Meaning("log", ("log", "ln"), "function", sp.log, note="the natural logarithm"),
    Meaning("sin", ("sin",), "function", sp.sin),
    Meaning("cos", ("cos",), "function", sp.cos),
    Meaning("tan", ("tan",), "function", sp.tan),
    Meaning("sinh", ("sinh",), "function", sp.sinh),
    Meaning("cosh", ("cosh",), "function", sp.cosh),
    Meaning("arctan", ("arctan",), "function", sp.atan),
    Meaning("sign", ("sign", "sgn"), "function", sp.sign),
    Meaning("max", ("max",), "function", sp.Max, arity=-1),
    Meaning("min", ("min",), "function", sp.Min, arity=-1),
    Meaning("softmax", ("softmax",), "function", None, note="a vector function: judged through its entries only"),
    Meaning("logsumexp", ("logsumexp", "lse"), "function", None, note="a vector function: write log sum exp"),
    Meaning("argmin", ("argmin", "arg min"), "operator", None, note="an optimiser, not a value"),
    Meaning("argmax", ("argmax", "arg max"), "operator", None, note="an optimiser, not a value"),
    Meaning("expectation", ("E", "mathbb{E}"), "statistic", None, note="needs a distribution the notes do not give"),
    Meaning("variance", ("var", "variance"), "statistic", None, note="needs a distribution the notes do not give"),
    Meaning("covariance", ("cov",), "statistic", None, note="needs a distribution the notes do not give"),
    Meaning("trace", ("tr", "trace"), "operator", None, note="a matrix trace"),
    Meaning("det", ("det",), "operator", None, note="a determinant"),
    Meaning("bigO", ("mathcal{O}", "O"), "operator", lambda x: BigO(x), note="an order of growth: a remainder"),
    Meaning("pi", ("pi",), "constant", lambda: sp.pi, arity=0),
    Meaning("e", ("e",), "constant", lambda: sp.E, arity=0),
    Meaning("infty", ("infty",), "constant", lambda: sp.oo, arity=0),
)

#: Single letters that name a function when written before a parenthesis (``f(x)``, ``L(w, b)``), unless the
#: document defines them otherwise. Anything else before ``(`` is a product (``n(n+1)``).
GENERIC_FUNCTIONS: frozenset[str] = frozenset({"f", "g", "h", "F", "G", "H", "L", "J", "R", "p", "q", "P", "Q", "l",
                                               "ell", "phi", "varphi", "psi", "mathcal{L}"})


def key_of(spelling: str) -> str:
    """The lookup form of a spelling: the bare name, lower-cased when it has more than one letter."""
    bare = spelling.strip()
    for wrapper in ("\\operatorname{", "\\mathrm{", "\\text{", "\\textrm{", "\\mathit{"):
        if bare.startswith(wrapper) and bare.endswith("}"):
            bare = bare[len(wrapper):-1].strip()
    bare = bare.lstrip("\\")
    return bare if len(bare) == 1 or bare in {"Phi"} else bare.lower()


def _index() -> dict[str, Meaning]:
    """Every spelling's row; refuses a spelling claimed by two rows (the table's invariant)."""
    out: dict[str, Meaning] = {}
    for row in CATALOG:
        for spelling in row.spellings:
            k = key_of(spelling)
            if k in out:
                raise ValueError(f"catalog: {spelling!r} is spelled by both {out[k].key!r} and {row.key!r}")
            out[k] = row
    return out


BY_SPELLING: dict[str, Meaning] = _index()


def lookup(spelling: str) -> Meaning | None:
    """The catalog row for a spelling, or None."""
    return BY_SPELLING.get(key_of(spelling))
