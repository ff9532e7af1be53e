"""Section 1.1: the neuron, a layer, and the tiny numeric example."""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from derive.core import Definition, Derivation, Example, Formula, Locator, Quantity, Step
from derive.functions import sigmoid

n = sp.Symbol("n", integer=True, positive=True)
i = sp.Symbol("i", integer=True, positive=True)
b = sp.Symbol("b", real=True)
wv, xv = sp.IndexedBase("w"), sp.IndexedBase("x")

TITLE = "The artificial neuron"


def derive_preactivation() -> Derivation:
    """w^T x + b for symbolic n, written entry by entry (1-based)."""
    w, x = sp.MatrixSymbol("w", n, 1), sp.MatrixSymbol("x", n, 1)
    product = (w.T * x)[0, 0]
    entries = product.replace(lambda e: isinstance(e, MatrixElement),
                              lambda e: (wv if e.parent == w else xv)[e.i + 1])
    idx = next(iter(entries.atoms(sp.Sum))).limits[0][0]
    shifted = sp.Sum(entries.function.subs(idx, i - 1), (i, 1, n)) if isinstance(entries, sp.Sum) else entries
    return Derivation(shifted + b, (Step("definition: w^T x + b", w.T * x + sp.Matrix([[b]])),
                                    Step("entry of a 1 x n by n x 1 product", product + b),
                                    Step("shift to 1-based indices", shifted + b)))


X1, W1, B1 = (1, 2), (sp.Rational(1, 2), -1), sp.Rational(1, 2)
Z1 = sum(w * x for w, x in zip(W1, X1, strict=True)) + B1

FORMULAS: tuple[Formula, ...] = (
    Formula(
        key="neuron_preactivation", section="1.1", title="Pre-activation of one neuron",
        assumptions=("n inputs, symbolic",), definition=sp.Symbol("w^T x + b"), derive=derive_preactivation,
        stated=sp.Sum(wv[i] * xv[i], (i, 1, n)) + b,
        locator=Locator("1.1", r"^z = \\mathbf\{w\}\^\\top \\mathbf\{x\} \+ b =", "display"), variables=(wv, xv, b),
        domain={"w": (-3.0, 3.0), "x": (-3.0, 3.0), "b": (-3.0, 3.0), "n": (1, 5)},
    ),
)

EXAMPLES: tuple[Example, ...] = (
    Example(
        key="neuron_example", section="1.1", title="One sigmoid neuron",
        inputs={"x": sp.Matrix(X1), "w": sp.Matrix(W1), "b": B1},
        quantities=(
            Quantity("z", "z", Z1, "-1.0", Locator("1.1", r"^z = -?[\d.]+\(", "display")),
            Quantity("a", "a", sigmoid(Z1), "0.2689", Locator("1.1", r"\\qquad a = \\frac\{1\}\{1\+e\^", "display")),
        ),
        kernels_used=("sigmoid",),
    ),
)


m = sp.Symbol("m", integer=True, positive=True)
W_LAYER, X_LAYER, B_LAYER = sp.MatrixSymbol("W", m, n), sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("b", m, 1)

DEFINITIONS: tuple[Definition, ...] = (
    Definition("layer_preactivation", "1.1", "A layer's pre-activation", W_LAYER * X_LAYER + B_LAYER,
               Locator("1.1", r"^\\mathbf\{z\} = ", "display"), {"m": (1, 4), "n": (1, 4)},
               "one neuron's w^T x + b per row of W"),
)

#: The notes' bold names of a layer, as matrices of symbolic shapes (read by verify/audit.py).
NOTATION: dict[str, dict[str, sp.Basic]] = {
    "layer_preactivation": {"\\mathbf{W}": W_LAYER, "\\mathbf{x}": X_LAYER, "\\mathbf{b}": B_LAYER},
}
