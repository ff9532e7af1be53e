"""The notation table the parser reads by: which LaTeX names are Greek letters, decorations, functions,
constants and sets; the sizes lists and sums are read at; the limits on what a fragment may ask; and the
``Context`` a caller gives (what a record or a document says its names are).

Data only: ``verify.notation_parser`` looks names up here. The generic catalog of standard notation
(``\\operatorname{softmax}``, ``\\mathbb{E}``, ...) is ``verify.catalog``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import sympy as sp

from derive.functions import Phi, sigmoid

MAX_DEPTH = 60
MAX_SUM_TERMS = 1000

#: The size a list written with dots (``x_1, \\ldots, x_n``) is read at; verify.matrices uses it for its matrices.
ELIDED_SIZE = 3
ELIDED = sp.Symbol("\\ldots")  # the marker of the dots in a comma list, before they are expanded

INDEX = {"integer": True, "positive": True}
DEFAULT_SIZE = sp.Symbol("n", **INDEX)
NORM_INDEX = sp.Symbol("i", **INDEX)

GREEK = frozenset("""alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu xi
    omicron rho varrho sigma tau upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Upsilon
    Phi Psi Omega ell""".split())
DECORATIONS = frozenset({"hat", "widehat", "bar", "overline", "tilde", "widetilde", "vec", "dot", "ddot", "check"})
FRACTIONS = frozenset({"frac", "dfrac", "tfrac", "cfrac"})
FUNCTIONS: dict[str, Callable[..., sp.Expr]] = {
    "log": sp.log, "ln": sp.log, "exp": sp.exp, "sin": sp.sin, "cos": sp.cos, "tan": sp.tan,
    "tanh": sp.tanh, "sinh": sp.sinh, "cosh": sp.cosh, "arctan": sp.atan, "erf": sp.erf,
    "max": sp.Max, "min": sp.Min,
}
NAMED_CALLS: dict[str, Callable[[sp.Expr], sp.Expr]] = {"sigma": sigmoid, "Phi": Phi}
CALLABLE_NAMES = frozenset(NAMED_CALLS) | {f"{k}'" for k in NAMED_CALLS}
CONSTANTS: dict[str, sp.Expr] = {"e": sp.E, "pi": sp.pi, "infty": sp.oo}
SETS: dict[str, sp.Set] = {"R": sp.S.Reals, "N": sp.S.Naturals, "Z": sp.S.Integers, "Q": sp.S.Rationals}
MATRICES = frozenset({"matrix", "bmatrix", "pmatrix", "Bmatrix", "vmatrix", "smallmatrix", "array"})
ELLIPSES = (r"\ldots", r"\cdots", r"\dots")
#: The dots that stand for the elided items of a list: the ellipses of a sum, and a column's \vdots.
LIST_DOTS = frozenset({*ELLIPSES, r"\vdots"})


@dataclass(frozen=True)
class Context:
    """What a claim's record knows: names it uses as IndexedBase, of its plain symbols, of its undefined functions."""

    indexed: frozenset[str] = frozenset()
    symbols: frozenset[str] = frozenset()
    functions: frozenset[str] = frozenset()
    generic: bool = False  # read any notes: Leibniz d/dx, primes, \lim, \binom and the catalog's functions
    matrices: frozenset[str] = frozenset()  # plain letters that name a matrix here (A beside its entries a_{ij})
    #: receives the end letter N of each list written with dots (w_1, ..., w_N)
    ends: set[str] | None = field(default=None, compare=False, hash=False)
