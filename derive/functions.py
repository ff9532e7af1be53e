"""Named functions of the notes (sigma, Phi) that unfold to their definitions on demand.

They let a stated form read as the notes write it, ``sigmoid(z)*(1 - sigmoid(z))``, while every
comparison first unfolds them. None of them carries a derivative rule: derivatives are always
taken of the unfolded definition.
"""

from __future__ import annotations

import sympy as sp


class Defined(sp.Function):
    """A function with a definition in terms of elementary functions; see ``unfold``."""

    @classmethod
    def definition(cls, x: sp.Expr) -> sp.Expr:
        """The elementary expression this function stands for."""
        raise NotImplementedError

    def _eval_rewrite_as_exp(self, x: sp.Expr, **kwargs: object) -> sp.Expr:
        return self.definition(x)

    def _eval_evalf(self, prec: int) -> sp.Expr:
        return self.definition(self.args[0])._eval_evalf(prec)

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        raise TypeError(f"{type(self).__name__} has no derivative rule: unfold() it before differentiating")


class sigmoid(Defined):  # noqa: N801 - reads as the notes write it
    """The logistic sigmoid 1/(1+exp(-x))."""

    nargs = 1

    @classmethod
    def definition(cls, x: sp.Expr) -> sp.Expr:
        return 1 / (1 + sp.exp(-x))

    def _latex(self, printer: sp.printing.latex.LatexPrinter) -> str:
        return rf"\sigma\left({printer._print(self.args[0])}\right)"


class Phi(Defined):
    """The standard normal CDF (1 + erf(x/sqrt 2))/2."""

    nargs = 1

    @classmethod
    def definition(cls, x: sp.Expr) -> sp.Expr:
        return (1 + sp.erf(x / sp.sqrt(2))) / 2

    def _latex(self, printer: sp.printing.latex.LatexPrinter) -> str:
        return rf"\Phi\left({printer._print(self.args[0])}\right)"


def unfold(expr: sp.Basic) -> sp.Basic:
    """Replace every ``Defined`` function by its definition."""
    return expr.replace(lambda e: isinstance(e, Defined), lambda e: type(e).definition(*e.args))
