"""Section 1.10: the backward lines of the NumPy XOR listing are the gradients of its own loss.

The listing trains a 2-2-1 sigmoid network on a batch of N = 4 rows with ``loss = mean((A2 - Y)**2)``,
row-major: ``Z1 = X @ W1 + b1`` with W1 of shape (inputs, outputs), the transpose of the notes'
W^{(1)}. Each backward line is encoded as SymPy data (``listing_backward``) in the forward values A1,
A2 that the listing keeps, and compared with SymPy's derivative of the loss with respect to that
line's array, the loss written from that array onward (so dZ1 is dL/dZ1 with Z1 free, dW1 is dL/dW1
with X free, ...). After differentiating, each e^{-Z} is written 1/A - 1 with A = sigma(Z) named, as
the listing does (the whole atom is replaced, outer layer first, so the sigmoids fold back to A).
Matrices are compared along a symbolic direction U: sum(G * U) is the same for every U exactly when
the two gradients are equal entry by entry. X and Y are symbolic: the XOR data is one instance of
the shapes.
"""

from __future__ import annotations

from functools import cache, partial

import sympy as sp

from derive.core import CodeClaim, Derivation, Formula, Step, about
from derive.functions import sigmoid

SECTION = "1.10"
BATCH, INPUTS, HIDDEN, OUTPUTS = 4, 2, 2, 1


def _grid(name: str, rows: int, cols: int) -> sp.Matrix:
    """A rows x cols matrix of real symbols name_{rc} (1-based)."""
    return sp.Matrix(rows, cols, lambda r, c: sp.Symbol(f"{name}_{r + 1}{c + 1}", real=True))


X, Y = _grid("X", BATCH, INPUTS), _grid("Y", BATCH, OUTPUTS)
W1, b1 = _grid("W1", INPUTS, HIDDEN), _grid("b1", 1, HIDDEN)
W2, b2 = _grid("W2", HIDDEN, OUTPUTS), _grid("b2", 1, OUTPUTS)
A1, A2 = _grid("A1", BATCH, HIDDEN), _grid("A2", BATCH, OUTPUTS)
Z1, Z2 = _grid("Z1", BATCH, HIDDEN), _grid("Z2", BATCH, OUTPUTS)
ONES = sp.ones(BATCH, 1)
ARRAYS = {"X": X, "W1": W1, "b1": b1, "Z1": Z1, "A1": A1, "W2": W2, "b2": b2, "Z2": Z2, "A2": A2}

# The stage the loss is written from, for the gradient with respect to each array.
START = {"A2": "A2", "Z2": "Z2", "A1": "A1", "W2": "A1", "b2": "A1", "Z1": "Z1", "W1": "X", "b1": "X"}


def _sigmoid_entries(z: sp.Matrix) -> sp.Matrix:
    """1/(1 + e^{-z}) entrywise, from the definition."""
    return z.applyfunc(lambda e: 1 / (1 + sp.exp(-e)))


@cache
def forward_from(stage: str) -> tuple[sp.Expr, tuple[tuple[sp.Expr, sp.Symbol], ...]]:
    """The listing's loss written from ``stage`` onward, and each (pre-activation, named activation), outer first."""
    names: list[tuple[sp.Expr, sp.Symbol]] = []
    order = ("X", "Z1", "A1", "Z2", "A2")
    if stage not in order:
        raise ValueError(f"stage {stage!r}: choose one of {order}")
    a1 = a2 = z1 = z2 = None
    if stage == "X":
        z1 = X * W1 + ONES * b1                              # Z1 = X @ W1 + b1 (b1 broadcast over rows)
    elif stage == "Z1":
        z1 = Z1
    if z1 is not None:
        a1 = _sigmoid_entries(z1)
        names += list(zip(z1, A1, strict=True))
    elif stage == "A1":
        a1 = A1
    if a1 is not None:
        z2 = a1 * W2 + ONES * b2                             # Z2 = A1 @ W2 + b2
    elif stage == "Z2":
        z2 = Z2
    if z2 is not None:
        a2 = _sigmoid_entries(z2)
        names += list(zip(z2, A2, strict=True))
    else:
        a2 = A2
    loss = sum((e - t) ** 2 for e, t in zip(a2, Y, strict=True)) / (a2.rows * a2.cols)   # np.mean((A2 - Y)**2)
    return loss, tuple(reversed(names))


@cache
def derived_gradient(wrt: str) -> sp.ImmutableMatrix:
    """SymPy's dL/d(array) for the listing's loss, with every e^{-Z} written 1/A - 1, A = sigma(Z) named."""
    loss, names = forward_from(START[wrt])
    target = ARRAYS[wrt]

    named = {sp.exp(-z): 1 / a - 1 for z, a in names}       # e^{-Z} = 1/A - 1, so 1/(1 + e^{-Z}) is A again

    def entry(x: sp.Symbol) -> sp.Expr:
        d = sp.diff(loss, x).xreplace(named)
        if d.has(sp.exp):
            raise ValueError(f"dL/d{x}: an e^(-Z) was left unnamed")
        return d

    return sp.ImmutableMatrix(target.applyfunc(entry))


def dsigmoid(a: sp.Expr) -> sp.Expr:
    """The listing's ``dsigmoid(a) = a*(1-a)``."""
    return a * (1 - a)


@cache
def listing_backward() -> dict[str, sp.ImmutableMatrix]:
    """The listing's eight backward lines, as SymPy matrices in X, Y, W2 and the forward values A1, A2."""
    n = X.rows                                                   # len(X)
    out: dict[str, sp.Matrix] = {}
    out["A2"] = 2 * (A2 - Y) / n                                 # dA2 = 2*(A2 - Y)/len(X)
    out["Z2"] = out["A2"].multiply_elementwise(A2.applyfunc(dsigmoid))   # dZ2 = dA2 * dsigmoid(A2)
    out["W2"] = A1.T * out["Z2"]                                 # dW2 = A1.T @ dZ2
    out["b2"] = ONES.T * out["Z2"]                               # db2 = dZ2.sum(0, keepdims=True)
    out["A1"] = out["Z2"] * W2.T                                 # dA1 = dZ2 @ W2.T
    out["Z1"] = out["A1"].multiply_elementwise(A1.applyfunc(dsigmoid))   # dZ1 = dA1 * dsigmoid(A1)
    out["W1"] = X.T * out["Z1"]                                  # dW1 = X.T @ dZ1
    out["b1"] = ONES.T * out["Z1"]                               # db1 = dZ1.sum(0, keepdims=True)
    return {name: sp.ImmutableMatrix(m) for name, m in out.items()}


def direction(wrt: str) -> sp.Matrix:
    """Symbols U_{d<array>, rc} of the array's shape: the direction the gradients are compared along."""
    shape = ARRAYS[wrt].shape
    return _grid(f"U_d{wrt}", *shape)


def along(g: sp.Matrix, wrt: str) -> sp.Expr:
    """sum over entries of g * U."""
    u = direction(wrt)
    if g.shape != u.shape:
        raise ValueError(f"d{wrt} has shape {g.shape}, but {wrt} has shape {u.shape}")
    return sp.Add(*(gi * ui for gi, ui in zip(g, u, strict=True)))


def _derive(wrt: str) -> Derivation:
    """dL/d(wrt) by SymPy, named, then along U."""
    loss, names = forward_from(START[wrt])
    grad = derived_gradient(wrt)
    result = along(grad, wrt)
    return Derivation(result, (
        Step(f"loss np.mean((A2 - Y)**2) written from {START[wrt]} onward", loss),
        Step(f"differentiate in each entry of {wrt}; name A = sigma(Z) (outer layer first)", grad),
        Step(f"along the direction U_d{wrt}", result),
    ))


@cache
def derive_line(wrt: str) -> Derivation:
    """The cached derivation of dL/d(wrt)."""
    return _derive(wrt)


@cache
def derive_dsigmoid() -> Derivation:
    """sigma'(z) from the definition, written in a = sigma(z) by e^{-z} = (1 - a)/a."""
    z, a = sp.Symbol("z", real=True), sp.Symbol("a", real=True)
    d = sp.diff(1 / (1 + sp.exp(-z)), z)
    named = sp.factor(sp.cancel(d.subs(sp.exp(-z), (1 - a) / a)))
    return Derivation(named, (Step("definition", 1 / (1 + sp.exp(-z))), Step("differentiate", d),
                              Step("e^{-z} = (1 - a)/a with a = sigma(z)", named)))


# Each backward line of the listing, found by the name it assigns (the audit reads what it computes).
LINES = (
    ("A2", "dL/dA2 (output of the mean squared error)"),
    ("Z2", "delta2 = dL/dZ2 (BP1)"),
    ("W2", "dL/dW2 (BP3, row-major)"),
    ("b2", "dL/db2 (BP4 summed over the batch)"),
    ("A1", "dL/dA1 (the W^T delta of BP2)"),
    ("Z1", "delta1 = dL/dZ1 (BP2)"),
    ("W1", "dL/dW1 (BP3, row-major)"),
    ("b1", "dL/db1 (BP4 summed over the batch)"),
)


def _domain(wrt: str) -> dict[str, tuple[float, float]]:
    """Sampling ranges: activations in (0, 1), everything else in [-2, 2]."""
    dom = {str(s): (-2.0, 2.0) for m in (X, Y, W1, b1, W2, b2, Z1, Z2, direction(wrt)) for s in m}
    dom.update({str(s): (0.15, 0.95) for m in (A1, A2) for s in m})
    return dom


@cache
def code_env() -> dict[str, sp.Matrix]:
    """The arrays a backward line may use: the forward values, and every other gradient as SymPy derived it."""
    return {**ARRAYS, "Y": Y, **{f"d{wrt}": derived_gradient(wrt) for wrt in START}}


def _record(wrt: str, title: str) -> Formula:
    """The record for the listing line that computes d<wrt> (found by the name it assigns)."""
    stated = listing_backward()[wrt]
    return Formula(
        key=f"xor_d{wrt}", section=SECTION, title=f"XOR listing: d{wrt} is {title}",
        assumptions=(f"batch N = {BATCH}, 2-2-1, sigmoid, L = mean over the {BATCH} outputs of (A2 - Y)^2",
                     "X, Y, W1, b1, W2, b2 symbolic; row-major, W1 is (inputs x outputs)",
                     "compared along a symbolic direction U of the array's shape"),
        definition=forward_from(START[wrt])[0], derive=lambda: derive_line(wrt), stated=along(stated, wrt),
        locator=about(SECTION, f"d{wrt}", "code"), variables=tuple(ARRAYS[wrt]), domain=_domain(wrt),
        comment="len(X) is the number of entries of A2 only because the output width is 1" if wrt == "A2" else "",
        # the audit evaluates the line's syntax tree over code_env() and compares d<wrt> along the direction U
        code=CodeClaim(f"d{wrt}", env=code_env, project=partial(along, wrt=wrt)),
    )


FORMULAS: tuple[Formula, ...] = (
    Formula(
        key="xor_dsigmoid", section=SECTION, title="XOR listing: dsigmoid(a) = a(1 - a) is sigma' in terms of a",
        assumptions=("z real", "a = sigma(z)"), definition=sigmoid(sp.Symbol("z", real=True)), derive=derive_dsigmoid,
        stated=dsigmoid(sp.Symbol("a", real=True)),
        locator=about(SECTION, "dsigmoid", "code"),
        variables=(sp.Symbol("a", real=True),), domain={"a": (0.15, 0.95)},
        code=CodeClaim("dsigmoid", parameter=sp.Symbol("a", real=True)),  # a one-line function of a
    ),
    *(_record(wrt, title) for wrt, title in LINES),
)
