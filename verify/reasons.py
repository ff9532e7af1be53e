"""A counterexample's reason that carries its two sides' values, so no later check reads them back from text."""

from __future__ import annotations

from collections.abc import Iterable

import sympy as sp


class Sides(str):
    """The reason text ``... left = a, right = b`` of an error, with ``a`` and ``b`` as printed (8 digits)."""

    left: sp.Expr
    right: sp.Expr

    def __new__(cls, text: str, left: sp.Expr, right: sp.Expr) -> Sides:
        """The reason ``text``, remembering the two values it shows."""
        made = super().__new__(cls, text)
        made.left, made.right = left, right
        return made

    def __reduce__(self) -> tuple[type[Sides], tuple[str, sp.Expr, sp.Expr]]:
        """Copied and pickled with its values (``dataclasses.asdict`` deep-copies what it holds)."""
        return Sides, (str(self), self.left, self.right)

    def prefixed(self, prefix: str) -> Sides:
        """The same reason after ``prefix`` (``entry 2: ...``), still carrying its values."""
        return Sides(prefix + self, self.left, self.right)


def sides(where: str, left: sp.Expr, right: sp.Expr) -> Sides:
    """``{where}left = a, right = b`` with both values printed to 8 digits."""
    a, b = sp.N(left, 8), sp.N(right, 8)
    return Sides(f"{where}left = {a}, right = {b}", a, b)


__all__: Iterable[str] = ("Sides", "sides")
