"""Section 1.1: the neuron, a layer, the chain of layers, and the tiny numeric example.

sigma is any activation function, as the notes say ("nonlinearity"): an undefined SymPy function, so
what is checked holds for every activation; layer l's own activation sigma^{(l)} is another one.
"""

from __future__ import annotations

from functools import cache

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.matexpr import MatrixElement

from derive.backprop import matrix_entry
from derive.core import Definition, Derivation, Example, Formula, Quantity, Step, about, entries
from derive.functions import sigmoid

n = sp.Symbol("n", integer=True, positive=True)
i = sp.Symbol("i", integer=True, positive=True)
b = sp.Symbol("b", real=True)
wv, xv = sp.IndexedBase("w"), sp.IndexedBase("x")
j, k = sp.symbols("j k", integer=True, positive=True)
z = sp.Symbol("z", real=True)
zv = sp.IndexedBase("z")
sigma = sp.Function("sigma")  # any activation function
sigma_l = sp.Function("sigma^{(l)}")  # layer l's activation
m = sp.Symbol("m", integer=True, positive=True)
W_LAYER, X_LAYER, B_LAYER = sp.MatrixSymbol("W", m, n), sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("b", m, 1)
LAYER = W_LAYER * X_LAYER + B_LAYER

# layer l of the chain: W^{(l)} is m_l x m_{l-1}, its input a^{(l-1)} has m_{l-1} entries
m_prev, m_l = sp.symbols("m_{l-1} m_l", integer=True, positive=True)
W_L, A_PREV = sp.MatrixSymbol("W^{(l)}", m_l, m_prev), sp.MatrixSymbol("a^{(l-1)}", m_prev, 1)
B_L, A_L = sp.MatrixSymbol("b^{(l)}", m_l, 1), sp.MatrixSymbol("a^{(l)}", m_l, 1)
CHAIN_NAMES = {W_L: sp.IndexedBase("W^{(l)}"), A_PREV: sp.IndexedBase("a^{(l-1)}"), B_L: sp.IndexedBase("b^{(l)}")}
ENTRY = (-3.0, 3.0)

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


@cache
def derive_network_forward() -> Derivation:
    """Layer l of the chain: the layer's W x + b with x = a^{(l-1)}, then sigma^{(l)} entrywise; entry j."""
    chained = LAYER.xreplace({W_LAYER: W_L, X_LAYER: A_PREV, B_LAYER: B_L})
    applied = ElementwiseApplyFunction(sigma_l, chained)
    entry = matrix_entry(applied, j, 1, CHAIN_NAMES, k)
    return Derivation(entry, (
        Step("a layer (layer_preactivation): z = W x + b", LAYER),
        Step("layer l takes x = a^{(l-1)}: W^{(l)} is m_l x m_{l-1}", chained),
        Step("a^{(l)} = sigma^{(l)}(z^{(l)}), entrywise", applied),
        Step("entry j (1-based)", entry),
    ))


X1, W1, B1 = (1, 2), (sp.Rational(1, 2), -1), sp.Rational(1, 2)
Z1 = sum(w * x for w, x in zip(W1, X1, strict=True)) + B1

FORMULAS: tuple[Formula, ...] = (
    Formula(
        key="neuron_preactivation", section="1.1", title="Pre-activation of one neuron",
        assumptions=("n inputs, symbolic",), definition=sp.Symbol("w^T x + b"), derive=derive_preactivation,
        stated=sp.Sum(wv[i] * xv[i], (i, 1, n)) + b,
        locator=about("1.1", "z"), variables=(wv, xv, b),
        domain={"w": (-3.0, 3.0), "x": (-3.0, 3.0), "b": (-3.0, 3.0), "n": (1, 5)},
    ),
    Formula(
        key="network_forward", section="1.1", title="The forward pass chains the layers",
        assumptions=("m_l, m_{l-1} symbolic", "sigma^{(l)} any activation, applied entrywise", "1 <= j <= m_l"),
        definition=LAYER, derive=derive_network_forward,
        stated=sigma_l(sp.Sum(CHAIN_NAMES[W_L][j, k] * CHAIN_NAMES[A_PREV][k], (k, 1, m_prev)) + CHAIN_NAMES[B_L][j]),
        locator=about("1.1", r"\mathbf{a}^{(\ell)}"), variables=tuple(CHAIN_NAMES.values()),
        domain={"m_{l-1}": (1, 4), "m_l": (1, 4), "j": (1, 1), "a^{(l)}": ENTRY,
                **{str(v): ENTRY for v in CHAIN_NAMES.values()}},
        # layer l-1's activation is included so that a^{(l)} in its place is a product of the wrong shape
        notation={r"\mathbf{W}^{(\ell)}": W_L, r"\mathbf{a}^{(\ell-1)}": A_PREV, r"\mathbf{b}^{(\ell)}": B_L,
                  r"\mathbf{a}^{(\ell)}": A_L, "(entry)": sp.Tuple(j)},
    ),
)

EXAMPLES: tuple[Example, ...] = (
    Example(
        key="neuron_example", section="1.1", title="One sigmoid neuron",
        inputs={"x": sp.Matrix(X1), "w": sp.Matrix(W1), "b": B1},
        quantities=(
            Quantity("z", "z", Z1, "-1.0", about("1.1", "z"),
                     formula=sp.Add(wv[1] * xv[1], wv[2] * xv[2], sp.Symbol("b"), evaluate=False)),
            Quantity("a", "a", sigmoid(Z1), "0.2689", about("1.1", "a"),
                     formula=sigmoid(sp.Symbol("z"))),
        ),
        kernels_used=("sigmoid",),
        symbols={**entries(wv, sp.Matrix(W1)), **entries(xv, sp.Matrix(X1)), sp.Symbol("b"): B1},
    ),
)


DEFINITIONS: tuple[Definition, ...] = (
    Definition("neuron_activation", "1.1", "A neuron's activation", sigma(z),
               about("1.1", "a"), {"z": ENTRY},
               "sigma, any activation, of the pre-activation z"),
    Definition("layer_preactivation", "1.1", "A layer's pre-activation", LAYER,
               about("1.1", r"\mathbf{z}"), {"m": (1, 4), "n": (1, 4)},
               "one neuron's w^T x + b per row of W",
               notation={r"\mathbf{W}": W_LAYER, r"\mathbf{x}": X_LAYER, r"\mathbf{b}": B_LAYER}),
    Definition("layer_activation", "1.1", "A layer's activation", sigma(zv[j]),
               about("1.1", r"\mathbf{a}"), {"z": ENTRY, "j": (1, 3)},
               "sigma applied to each entry z_j of the layer's pre-activation"),
)
