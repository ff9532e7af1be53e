"""Section 1.5: backpropagation. BP1-BP4 by the chain rule for a generic layer with symbolic widths,
a cross-check against full differentiation of concrete networks, and the 2-2-1 worked example.

Index form throughout: layer l has m_l units, z^{(l+1)}_k = sum_j W^{(l+1)}_{kj} sigma(z^{(l)}_j) + b_k,
sigma any differentiable activation applied entrywise. SymPy differentiates under the sums and the
Kronecker deltas are summed out; the slope sigma'(z_j) that SymPy produces as a Derivative is then
named as the entry j of the vector sigma'(z). The notes' matrix forms (W^T delta, outer products,
Hadamard products) are built from ``MatrixSymbol`` of symbolic shapes and read entry by entry
(1-based) by ``matrix_entry``, so the comparison checks where the transpose sits and which layer's
activation appears.

The kernels compute one dense layer for a batch: activations and errors have one example per row
(shape (..., B, width)), W is (m, n) = (m_l, m_{l-1}) and b has m entries. The backward kernels are
the derivatives of the loss linear in z, sum_{b,k} delta_bk z_bk, whose upstream gradient delta is
the layer's error; they are proven equal to both that derivative and the BP records.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from functools import cache

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from derive import gradient_descent, networks
from derive.activations import derive_sigmoid_grad, derive_softmax_jacobian
from derive.arrays import BSum, Dot, Row, RSum, Swap
from derive.core import (
    Bench,
    Definition,
    Derivation,
    Example,
    Formula,
    Kernel,
    MatrixForm,
    Quantity,
    RecordReference,
    Sample,
    Step,
    VectorForm,
    about,
    entries,
    stated_as,
    within_bounds,
    worked,
)
from derive.functions import sigmoid

SECTION = "1.5"
m_prev, m_l, m_next = sp.symbols("m_{l-1} m_l m_{l+1}", integer=True, positive=True)
m_out = sp.Symbol("m_L", integer=True, positive=True)
i, j, k, q, r, s = sp.symbols("i j k q r s", integer=True, positive=True)
sigma = sp.Function("sigma")

z_out, grad_out, slope_out = (sp.IndexedBase(x) for x in ("z^{(L)}", "\\nabla_{a^{(L)}} L", "\\sigma'(z^{(L)})"))
z_l, slope_l = sp.IndexedBase("z^{(l)}"), sp.IndexedBase("\\sigma'(z^{(l)})")
W_next, b_next, delta_next = (sp.IndexedBase(x) for x in ("W^{(l+1)}", "b^{(l+1)}", "\\delta^{(l+1)}"))
W_l, b_l, delta_l, a_prev = (sp.IndexedBase(x) for x in ("W^{(l)}", "b^{(l)}", "\\delta^{(l)}", "a^{(l-1)}"))
yhat, yv = sp.IndexedBase("\\hat{y}"), sp.IndexedBase("y")

ENTRY = (-3.0, 3.0)
WIDTHS = {"m_{l-1}": (2, 4), "m_l": (2, 4), "m_{l+1}": (1, 4), "m_L": (2, 4)}  # >= 2: indices run to 2
ENTRIES = {str(x): ENTRY for x in (z_out, grad_out, slope_out, z_l, slope_l, W_next, b_next, delta_next,
                                   W_l, b_l, delta_l, a_prev)}
# Entries of neighbouring layers' vectors that only a mistaken claim uses (see ``_layer_shapes``).
ENTRIES |= {name: ENTRY for name in ("a^{(l)}", "\\sigma'(z^{(l+1)})", "\\sigma'(z^{(l-1)})")}
DOMAIN = {**WIDTHS, **ENTRIES, **{x: (1, 2) for x in ("i", "j", "k", "q", "r", "s")},
          "\\hat{y}": (0.15, 0.95), "y": (0.0, 1.0), "n": (2, 5)}


class DerivationError(RuntimeError):
    """A derivation did not reach the form it should (a SymPy change, or a bug here)."""


def sum_out(expr: sp.Expr, bounds: Mapping[sp.Symbol, sp.Expr], rounds: int = 3) -> sp.Expr:
    """Evaluate the sums and drop the ``index <= width`` conditions of summed-out Kronecker deltas."""
    for _ in range(rounds):
        done = expr.doit()
        for index, upper in bounds.items():
            done = within_bounds(done, index, upper)
        if done == expr:
            break
        expr = done
    return expr


def name_slopes(expr: sp.Expr, z: sp.IndexedBase, slope: sp.IndexedBase) -> sp.Expr:
    """Write each Derivative(sigma(z_x), z_x) that SymPy produced as the entry slope[x] of sigma'(z)."""
    named = expr.replace(lambda e: isinstance(e, sp.Derivative) and e.expr.func == sigma,
                         lambda e: slope[e.variables[0].indices])
    if named.has(sp.Derivative) or named.has(sp.Subs):
        raise DerivationError(f"unnamed derivative left in {named}; name_slopes only knows Derivative(sigma(z_x), z_x)")
    if any(isinstance(x, sp.Indexed) and x.base == z for x in named.atoms(sp.Indexed)):
        raise DerivationError(f"{z} still appears in {named}: the slope was not the only place it entered")
    return named


def pull_out(expr: sp.Expr) -> sp.Expr:
    """Move the factors of a single Sum's summand that do not depend on its index in front of the Sum."""
    if not isinstance(expr, sp.Sum):
        return expr
    (index, lo, hi), = expr.limits
    outside, inside = expr.function.as_independent(index, as_Add=False)
    return outside * sp.Sum(inside, (index, lo, hi))


def matrix_entry(expr: sp.MatrixExpr, row: sp.Expr, col: sp.Expr, names: Mapping[sp.MatrixSymbol, sp.IndexedBase],
                 index: sp.Symbol) -> sp.Expr:
    """Entry (row, col), 1-based, of a matrix expression, as Indexed entries and 1-based sums over ``index``."""
    entry = expr[row - 1, col - 1]

    def shift(total: sp.Sum) -> sp.Sum:
        (dummy, lo, hi), = total.limits
        return sp.Sum(total.function.xreplace({dummy: index - 1}), (index, lo + 1, hi + 1))

    def indexed(e: MatrixElement) -> sp.Indexed:
        base = names[e.parent]
        return base[e.i + 1] if e.parent.shape[1] == 1 else base[e.i + 1, e.j + 1]

    entry = entry.replace(lambda e: isinstance(e, sp.Sum), shift)
    entry = entry.replace(lambda e: isinstance(e, MatrixElement), indexed)
    leftover = [e for e in sp.preorder_traversal(entry) if isinstance(e, MatrixElement)]
    if leftover:
        raise DerivationError(f"matrix entries {leftover} have no IndexedBase in `names`")
    return entry


def _vector(base: sp.IndexedBase, rows: sp.Expr) -> sp.MatrixSymbol:
    """A column vector MatrixSymbol named like ``base``."""
    return sp.MatrixSymbol(str(base), rows, 1)


# -- BP1 ---------------------------------------------------------------------------------------------------

@cache
def derive_bp1() -> Derivation:
    """delta^L_j = sum_k dL/da_k da_k/dz_j with a_k = sigma(z_k): only k = j survives."""
    chain = sp.Sum(grad_out[k] * sp.diff(sigma(z_out[k]), z_out[j]), (k, 1, m_out))
    summed = sum_out(chain, {j: m_out})
    named = name_slopes(summed, z_out, slope_out)
    return Derivation(named, (
        Step("chain rule: a^L = sigma(z^L) entrywise, dL/dz_j = sum_k dL/da_k da_k/dz_j", chain),
        Step("sum out the Kronecker delta (1 <= j <= m_L)", summed),
        Step("name sigma'(z^L_j)", named),
    ))


def stated_bp1() -> sp.Expr:
    """Entry j of grad_a L (Hadamard) sigma'(z^L)."""
    G, S = _vector(grad_out, m_out), _vector(slope_out, m_out)
    return matrix_entry(sp.hadamard_product(G, S), j, 1, {G: grad_out, S: slope_out}, k)


@cache
def derive_bp1_softmax_ce() -> Derivation:
    """delta_j = sum_i dL/da_i da_i/dz_j with L = -sum y log a, a = softmax(z) (Jacobian from section 1.2)."""
    n = sp.Symbol("n", integer=True, positive=True)
    a = sp.IndexedBase("s")
    loss = -sp.Sum(yv[k] * sp.log(a[k]), (k, 1, n))
    dloss = sum_out(sp.diff(loss, a[i]), {i: n})
    jacobian = derive_softmax_jacobian().result
    chain = sp.Sum(sp.expand(dloss * jacobian), (i, 1, n))
    summed = sp.expand(sum_out(chain, {j: n})).replace(lambda e: isinstance(e, sp.Sum), pull_out)
    labels = summed.subs(sp.Sum(yv[i], (i, 1, n)), 1)
    named = labels.subs(a, yhat)
    return Derivation(named, (
        Step("cross-entropy of the softmax outputs s", loss),
        Step("dL/ds_i", dloss),
        Step("softmax Jacobian ds_i/dz_j (derived in section 1.2)", jacobian),
        Step("chain rule: delta_j = sum_i dL/ds_i ds_i/dz_j", chain),
        Step("sum out the Kronecker delta (1 <= j <= n), take s_j out of the sum over i", summed),
        Step("labels sum to 1", labels),
        Step("the outputs s are the prediction yhat", named),
    ))


# -- BP2 ---------------------------------------------------------------------------------------------------

def next_preactivation(row: sp.Symbol) -> sp.Expr:
    """z^{(l+1)}_row = sum_i W^{(l+1)}_{row,i} sigma(z^{(l)}_i) + b^{(l+1)}_row."""
    return sp.Sum(W_next[row, i] * sigma(z_l[i]), (i, 1, m_l)) + b_next[row]


@cache
def derive_bp2_inner() -> Derivation:
    """dz^{(l+1)}_k / dz^{(l)}_j for the layer map above."""
    d = sp.diff(next_preactivation(k), z_l[j])
    summed = sum_out(d, {j: m_l})
    named = name_slopes(summed, z_l, slope_l)
    return Derivation(named, (
        Step("z^{(l+1)}_k as a function of z^{(l)}", next_preactivation(k)),
        Step("differentiate under the sum", d),
        Step("sum out the Kronecker delta (1 <= j <= m_l)", summed),
        Step("name sigma'(z^{(l)}_j)", named),
    ))


@cache
def derive_bp2() -> Derivation:
    """delta^{(l)}_j = sum_k delta^{(l+1)}_k dz^{(l+1)}_k/dz^{(l)}_j, with the inner derivative done by SymPy."""
    chain = sp.Sum(delta_next[k] * sp.diff(next_preactivation(k), z_l[j]), (k, 1, m_next))
    summed = sum_out(chain, {j: m_l})
    named = name_slopes(summed, z_l, slope_l)
    pulled = pull_out(named)
    return Derivation(pulled, (
        Step("chain rule: L depends on z^{(l)} only through z^{(l+1)}", chain),
        Step("sum out the Kronecker delta (1 <= j <= m_l)", summed),
        Step("name sigma'(z^{(l)}_j)", named),
        Step("sigma'(z_j) does not depend on k: take it out of the sum", pulled),
    ))


def stated_bp2() -> sp.Expr:
    """Entry j of (W^{(l+1)T} delta^{(l+1)}) (Hadamard) sigma'(z^{(l)})."""
    W = sp.MatrixSymbol(str(W_next), m_next, m_l)
    D, S = _vector(delta_next, m_next), _vector(slope_l, m_l)
    return matrix_entry(sp.hadamard_product(W.T * D, S), j, 1, {W: W_next, D: delta_next, S: slope_l}, k)


#: Widths (m_{l+1}, m_l) at which SymPy differentiates L(z^{(l+1)}(z^{(l)})) for a generic L.
CHAIN_WIDTHS = ((1, 1), (2, 3), (3, 2))


def chain_rule_holds(outputs: int, inputs: int) -> bool:
    """SymPy's d/dz_1 of L(z^{(l+1)}(z^{(l)})), L any function, equals sum_k dL/dz^{(l+1)}_k dz^{(l+1)}_k/dz_1."""
    zs = sp.symbols(f"z1:{inputs + 1}")
    nxt = [sp.Add(*(sp.Symbol(f"W{r}{c}") * sigma(zs[c]) for c in range(inputs))) + sp.Symbol(f"b{r}")
           for r in range(outputs)]
    loss = sp.Function("L")
    direct = sp.diff(loss(*nxt), zs[0])
    named = sp.symbols(f"u1:{outputs + 1}")
    chain = sp.Add(*(sp.diff(loss(*named), named[r]).subs(dict(zip(named, nxt, strict=True))) * sp.diff(nxt[r], zs[0])
                     for r in range(outputs)))
    return sp.expand((direct - chain).doit()) == 0


@cache
def derive_bp2_chain() -> Derivation:
    """dL/dz^{(l)}_j for L any function of z^{(l+1)}: the chain rule, checked by SymPy at concrete widths."""
    checked = [chain_rule_holds(outputs, inputs) for outputs, inputs in CHAIN_WIDTHS]
    if not all(checked):
        raise DerivationError(f"SymPy's derivative of L(z^(l+1)(z^(l))) is not the chain-rule sum at {CHAIN_WIDTHS}")
    inner = derive_bp2_inner().result
    chain = sp.Sum(delta_next[k] * inner, (k, 1, m_next))
    return Derivation(chain, (
        Step(f"L any function of z^(l+1): SymPy's d/dz^(l)_1 of L(z^(l+1)(z^(l))) is sum_k dL/dz^(l+1)_k "
             f"dz^(l+1)_k/dz^(l)_1 at widths (m_(l+1), m_l) in {CHAIN_WIDTHS}", sp.Tuple(*checked)),
        Step("dL/dz^{(l+1)}_k is the error signal delta^{(l+1)}_k", delta_next[k]),
        Step("the inner derivative dz^{(l+1)}_k/dz^{(l)}_j (bp2_inner_derivative)", inner),
        Step("the chain rule for symbolic widths", chain),
    ))


@cache
def derive_weight_step() -> Derivation:
    """How far gradient descent moves a weight: the update minus the old value, -eta times its gradient."""
    update = gradient_descent.derive_update_rule()
    step = sp.expand(update.result - gradient_descent.thetav[j])
    return Derivation(step, (*update.steps, Step("the step: new value minus old", step)))


# -- BP3, BP4 ----------------------------------------------------------------------------------------------

def preactivation(row: sp.Symbol) -> sp.Expr:
    """z^{(l)}_row = sum_k W^{(l)}_{row,k} a^{(l-1)}_k + b^{(l)}_row."""
    return sp.Sum(W_l[row, k] * a_prev[k], (k, 1, m_prev)) + b_l[row]


@cache
def derive_bp3() -> Derivation:
    """dL/dW^{(l)}_{rs} = sum_q delta^{(l)}_q dz^{(l)}_q / dW^{(l)}_{rs}."""
    chain = sp.Sum(delta_l[q] * sp.diff(preactivation(q), W_l[r, s]), (q, 1, m_l))
    summed = sum_out(chain, {r: m_l, s: m_prev})
    W = sp.MatrixSymbol(str(W_l), m_l, m_prev)
    D, A = _vector(delta_l, m_l), _vector(a_prev, m_prev)
    outer = D * A.T
    if outer.shape != W.shape:
        raise DerivationError(f"delta a^T has shape {outer.shape}, W^(l) has {W.shape}")
    return Derivation(summed, (
        Step("chain rule: W^{(l)} enters L only through z^{(l)}", chain),
        Step("shape of delta^{(l)} a^{(l-1)T} = shape of W^{(l)} (m_l x m_{l-1})", sp.Tuple(*outer.shape)),
        Step("sum out both Kronecker deltas (1 <= r <= m_l, 1 <= s <= m_{l-1})", summed),
    ))


def stated_bp3() -> sp.Expr:
    """Entry (r, s) of the outer product delta^{(l)} a^{(l-1)T}."""
    D, A = _vector(delta_l, m_l), _vector(a_prev, m_prev)
    return matrix_entry(D * A.T, r, s, {D: delta_l, A: a_prev}, k)


@cache
def derive_bp4() -> Derivation:
    """dL/db^{(l)}_r = sum_q delta^{(l)}_q dz^{(l)}_q / db^{(l)}_r."""
    chain = sp.Sum(delta_l[q] * sp.diff(preactivation(q), b_l[r]), (q, 1, m_l))
    summed = sum_out(chain, {r: m_l})
    return Derivation(summed, (
        Step("chain rule: b^{(l)} enters L only through z^{(l)}", chain),
        Step("sum out the Kronecker delta (1 <= r <= m_l)", summed),
    ))


# -- cross-check on concrete networks ----------------------------------------------------------------------

NOTES_NET = networks.Net((2, 2, 1), "sigmoid_half_sse")
EXACT_CHECKS = (NOTES_NET, networks.Net((2, 3, 2), "softmax_ce"), networks.Net((3, 2, 2), "sigmoid_half_sse"))


def _direction(theta: sp.Symbol) -> sp.Symbol:
    """The component of a direction u along parameter ``theta``."""
    return sp.Symbol(f"u_{{{theta}}}", real=True)


def _sigmoid_slope(z: sp.Expr) -> sp.Expr:
    """sigma'(z) as derived in section 1.2 (sigma(z)(1 - sigma(z)))."""
    return derive_sigmoid_grad().result.subs(sp.Symbol("z", real=True), z)


def _slope_in_a(a: sp.Expr) -> sp.Expr:
    """sigma'(z) written in a = sigma(z), from section 1.2's derived form."""
    return derive_sigmoid_grad().result.subs(sigmoid(sp.Symbol("z", real=True)), a)


def _along_u(grads: Mapping[sp.Symbol, sp.Expr]) -> sp.Expr:
    """sum_theta u_theta g_theta: equal for every direction u exactly when the gradients are equal."""
    return sp.Add(*(g * _direction(theta) for theta, g in grads.items()))


def stated_recursion(net: networks.Net) -> sp.Expr:
    """BP1-BP4 on ``net`` (every parameter symbolic, forward values named), along the direction u."""
    return _along_u(networks.named_backprop(net, _slope_in_a))


@cache
def derive_full_gradient() -> Derivation:
    """Differentiate the whole loss of the notes' 2-2-1 network in every parameter (no chain rule of ours)."""
    net = NOTES_NET
    full, grads = networks.named_full_gradient(net)
    directional = _along_u(grads)
    checks = [networks.compare(c, seed) for c in EXACT_CHECKS for seed in (0, 1)]
    steps = [Step("loss of the 2-2-1 sigmoid network, L = (a^(2) - y)^2 / 2", full),
             Step("SymPy's derivative in each parameter, e^{-z} written as (1 - a)/a, a = sigma(z) named",
                  sp.Tuple(*grads.values()))]
    steps += [Step(f"exact point {c.seed} of {c.net.name} (symengine, every entry): checked, differing from BP",
                   sp.Tuple(c.checked, len(c.mismatches))) for c in checks]
    steps.append(Step("directional derivative sum_theta u_theta dL/dtheta", directional))
    return Derivation(directional, tuple(steps))


# -- kernels: a dense layer for a batch (one example per row) ---------------------------------------------

W_k, b_k, a_k = sp.Symbol("W", real=True), sp.Symbol("b", real=True), sp.Symbol("a", real=True)
delta_k, slope_k = sp.Symbol("\\delta", real=True), sp.Symbol("\\sigma'", real=True)
grad_k = sp.Symbol("\\nabla_{a} L", real=True)
DENSE = Dot(a_k, Swap(W_k)) + Row(b_k)  # row b: z_b = W a_b + b
DENSE_ARGS = (W_k, b_k, a_k, delta_k)
DENSE_DOMAIN = {"W": (-3.0, 3.0), "b": (-3.0, 3.0), "a": (-3.0, 3.0), "\\delta": (-3.0, 3.0),
                "\\sigma'": (0.0, 1.0), "\\nabla_{a} L": (-3.0, 3.0)}
BATCH_SUM = "summed over the batch (rows)"

# In the dense layer's kernel signatures, W is (m, n), b has m entries, and activations a (B, n), errors
# delta (B, m) and slopes (B, n) have one example per row.
# The dense kernels are proven equal to the BP records of layer l read entry by entry: the kernel argument that
# holds each of their IndexedBases, and the kernel size that each of their widths takes.
DENSE_BASES = {"W^{(l)}": "W", "b^{(l)}": "b", "a^{(l-1)}": "a", "\\delta^{(l)}": "\\delta"}
DENSE_WIDTHS = {"m_l": "m", "m_{l-1}": "n"}


# -- the records -------------------------------------------------------------------------------------------

# The kernel benchmark runs BP1-BP4 for a batch of 4096 rows through a 1024 -> 1024 layer, as the notes'
# listing writes them: W (square, n x n), b, activations a, errors delta; slopes sigma' of a sigmoid.
W_BENCH, G_BENCH, SLOPE_BENCH = Sample("weights", (-0.05, 0.05)), Sample("uniform", (-3.0, 3.0)), \
    Sample("uniform", (0.0, 0.25))
DENSE_BENCH = (W_BENCH, Sample("bias", (-1.0, 1.0)), Sample("uniform", (-1.0, 1.0)), G_BENCH)
DENSE_NOTE = "W is 1024x1024 (matrix products: BLAS)"


def _layer_shapes() -> dict[str, sp.Basic]:
    """The notes' bold names of layers l-1, l, l+1 as MatrixSymbols of the record's symbolic shapes.

    Names of neighbouring layers are included on purpose: a claim that uses the wrong layer's
    activation or a transpose in the wrong place then reads as a matrix of the wrong shape or the
    wrong entries, and the audit reports an error instead of "unknown".
    """
    vectors = {"\\mathbf{a}^{(\\ell-1)}": (a_prev, m_prev), "\\mathbf{a}^{(\\ell)}": ("a^{(l)}", m_l),
               "\\boldsymbol{\\delta}^{(\\ell)}": (delta_l, m_l),
               "\\boldsymbol{\\delta}^{(\\ell+1)}": (delta_next, m_next),
               "sigma'(\\mathbf{z}^{(\\ell)})": (slope_l, m_l),
               "sigma'(\\mathbf{z}^{(\\ell+1)})": ("\\sigma'(z^{(l+1)})", m_next),
               "sigma'(\\mathbf{z}^{(\\ell-1)})": ("\\sigma'(z^{(l-1)})", m_prev)}
    table: dict[str, sp.Basic] = {name: sp.MatrixSymbol(str(base), rows, 1) for name, (base, rows) in vectors.items()}
    table["\\mathbf{W}^{(\\ell)}"] = sp.MatrixSymbol(str(W_l), m_l, m_prev)
    table["\\mathbf{W}^{(\\ell+1)}"] = sp.MatrixSymbol(str(W_next), m_next, m_l)
    return table


# The matrix forms of BP1-BP4 (the report's last line of their chains), over MatrixSymbols named like the bases.
_GRAD, _SLOPE_OUT = _vector(grad_out, m_out), _vector(slope_out, m_out)
_W_NEXT, _DELTA_NEXT, _SLOPE_L = sp.MatrixSymbol(str(W_next), m_next, m_l), _vector(delta_next, m_next), \
    _vector(slope_l, m_l)
_DELTA_L, _A_PREV = _vector(delta_l, m_l), _vector(a_prev, m_prev)


FORMULAS: tuple[Formula, ...] = (
    Formula(
        key="bp1_output_error", section=SECTION, title="BP1: output-layer error",
        assumptions=("m_L outputs, symbolic", "a^L = sigma(z^L) entrywise, sigma differentiable", "1 <= j <= m_L"),
        definition=sp.Symbol("delta^L = dL/dz^L"), derive=derive_bp1, stated=stated_bp1(),
        locator=about(SECTION, r"\boldsymbol{\delta}^{(L)}"),
        variables=(grad_out, z_out), domain=DOMAIN,
        kernels=(Kernel("bp1_output_error", (grad_k, slope_k), grad_k * slope_k, DENSE_DOMAIN,
                        reference=RecordReference("bp1_output_error", {"\\nabla_{a^{(L)}} L": "\\nabla_{a} L",
                                                                       "\\sigma'(z^{(L)})": "\\sigma'"}),
                        bench=Bench((G_BENCH, SLOPE_BENCH), "lambda grad, sp: grad * sp")),),
        notation={r"\nabla_{\mathbf{a}^{(L)}} L": sp.MatrixSymbol(str(grad_out), m_out, 1),
                  r"sigma'(\mathbf{z}^{(L)})": sp.MatrixSymbol(str(slope_out), m_out, 1), "(entry)": sp.Tuple(j)},
        matrix_form=MatrixForm(sp.HadamardProduct(_GRAD, _SLOPE_OUT), (j, sp.Integer(1)),
                               {_GRAD: grad_out, _SLOPE_OUT: slope_out}, k),
    ),
    Formula(
        key="bp1_softmax_ce", section=SECTION, title="BP1 for a softmax output with cross-entropy",
        assumptions=("n classes, symbolic", "labels sum to 1", "1 <= j <= n"),
        definition=sp.Symbol("-sum_k y_k log softmax(z)_k"), derive=derive_bp1_softmax_ce, stated=yhat[j] - yv[j],
        locator=about(SECTION, r"\boldsymbol{\delta}^{(L)}", "inline"), variables=(yhat, yv), domain=DOMAIN,
        comment="softmax is not entrywise, so this is J^T grad_a L rather than the Hadamard form of BP1",
        notation={r"\hat{\mathbf{y}}": yhat[j], r"\mathbf{y}": yv[j]},
    ),
    Formula(
        key="bp2_inner_derivative", section=SECTION, title="BP2: the inner derivative dz^(l+1)_k / dz^(l)_j",
        assumptions=("m_l, m_{l+1} symbolic", "sigma differentiable, entrywise", "1 <= j <= m_l"),
        definition=next_preactivation(k), derive=derive_bp2_inner, stated=W_next[k, j] * slope_l[j],
        locator=stated_as(SECTION),
        variables=(W_next, z_l), domain=DOMAIN,
    ),
    Formula(
        key="bp2_hidden_error", section=SECTION, title="BP2: backpropagating the error",
        assumptions=("m_l, m_{l+1} symbolic", "sigma differentiable, entrywise", "1 <= j <= m_l"),
        definition=next_preactivation(k), derive=derive_bp2, stated=stated_bp2(),
        locator=about(SECTION, r"\boldsymbol{\delta}^{(\ell)}"),
        variables=(W_next, delta_next, z_l), domain=DOMAIN,
        kernels=(
            Kernel("dense_grad_input", DENSE_ARGS, Dot(delta_k, W_k), DENSE_DOMAIN, shape="vector",
                   grad_of="dense_linear_loss", grad_wrt="a", rewrite="W^T delta for each row: delta W",
                   error_scale="dense_input", bench=Bench(DENSE_BENCH, "lambda w, b, a, delta: delta @ w", DENSE_NOTE)),
            Kernel("bp2_hidden_error", (W_k, delta_k, slope_k), Dot(delta_k, W_k) * slope_k, DENSE_DOMAIN,
                   shape="vector", rewrite="(W^T delta) odot sigma' for each row: (delta W) odot sigma'",
                   signature="(m,n),(B,m),(B,n)->(B,n)",
                   reference=RecordReference("bp2_hidden_error", {"W^{(l+1)}": "W", "\\delta^{(l+1)}": "\\delta",
                                                                  "\\sigma'(z^{(l)})": "\\sigma'"},
                                             index=("j",), widths={"m_{l+1}": "m", "m_l": "n"},
                                             per_example=("\\delta", "\\sigma'"), batch="rows"),
                   error_scale="dense_input",
                   bench=Bench((W_BENCH, G_BENCH, SLOPE_BENCH), "lambda w, delta, sp: (delta @ w) * sp", DENSE_NOTE)),
        ),
        notation={**_layer_shapes(), "(entry)": sp.Tuple(j)},
        matrix_form=MatrixForm(sp.HadamardProduct(_W_NEXT.T * _DELTA_NEXT, _SLOPE_L), (j, sp.Integer(1)),
                               {_W_NEXT: W_next, _DELTA_NEXT: delta_next, _SLOPE_L: slope_l}, k),
    ),
    Formula(
        key="bp2_chain_rule", section=SECTION, title="BP2's chain rule: L depends on z^(l) only through z^(l+1)",
        assumptions=("L any differentiable function of z^{(l+1)}", "m_l, m_{l+1} symbolic", "1 <= j <= m_l"),
        definition=next_preactivation(k), derive=derive_bp2_chain,
        stated=sp.Sum(delta_next[k] * W_next[k, j] * slope_l[j], (k, 1, m_next)),
        locator=about(SECTION, r"\frac{\partial L}{\partial z_j^{(\ell)}}", "inline"),
        variables=(delta_next, W_next, z_l),
        domain=DOMAIN,
        comment="the notes' Leibniz factors are read as delta^{(l+1)}_k and the derived inner derivative",
        # dL/dz^{(l+1)}_k is the error signal (line "Define the error signal"); dz^{(l+1)}_k/dz^{(l)}_j the derived
        # inner derivative; \sum_k runs over the m_{l+1} units of layer l+1
        notation={r"\partial L/\partial z^{(l+1)}": sp.Lambda(k, delta_next[k]),
                  r"\partial z^{(l+1)}/\partial z^{(l)}": sp.Lambda((k, j), derive_bp2_inner().result),
                  "n": m_next},
    ),
    Formula(
        key="bp3_weight_grad", section=SECTION, title="BP3: gradient with respect to the weights",
        assumptions=("m_l, m_{l-1} symbolic", "1 <= r <= m_l, 1 <= s <= m_{l-1}"),
        definition=preactivation(q), derive=derive_bp3, stated=stated_bp3(),
        locator=about(SECTION, r"\frac{\partial L}{\partial \mathbf{W}^{(\ell)}}"),
        variables=(W_l, delta_l, a_prev), domain=DOMAIN,
        kernels=(
            Kernel("dense_forward", (W_k, b_k, a_k), DENSE, DENSE_DOMAIN, shape="vector",
                   rewrite="z = W a + b for each row a of the batch: a W^T + b", signature="(m,n),(m),(B,n)->(B,m)",
                   reference=RecordReference("bp3_weight_grad", DENSE_BASES, index=("q",), widths=DENSE_WIDTHS,
                                             per_example=("a",), batch="rows", use="definition"),
                   error_scale="dense_z", bench=Bench(DENSE_BENCH[:3], "lambda w, b, a: a @ w.T + b", DENSE_NOTE)),
            Kernel("dense_linear_loss", DENSE_ARGS, BSum(RSum(delta_k * DENSE)), DENSE_DOMAIN, shape="vector",
                   signature="(m,n),(m),(B,n),(B,m)->()", error_scale="dense_loss",
                   bench=Bench(DENSE_BENCH, "lambda w, b, a, delta: np.sum(delta * (a @ w.T + b))", DENSE_NOTE)),
            Kernel("dense_grad_weights", DENSE_ARGS, Dot(Swap(delta_k), a_k), DENSE_DOMAIN, shape="vector",
                   grad_of="dense_linear_loss", grad_wrt="W", rewrite=f"delta a^T {BATCH_SUM}: delta^T a",
                   reference=RecordReference("bp3_weight_grad", DENSE_BASES, index=("r", "s"), widths=DENSE_WIDTHS,
                                             per_example=("\\delta", "a"), batch="sum"), error_scale="dense_weights",
                   bench=Bench(DENSE_BENCH, "lambda w, b, a, delta: delta.T @ a", DENSE_NOTE)),
        ),
        comment="the activation is that of layer l-1 and the transpose sits on it: an m_l x m_{l-1} outer product",
        notation={**_layer_shapes(), "(entry)": sp.Tuple(r, s)},
        matrix_form=MatrixForm(_DELTA_L * _A_PREV.T, (r, s), {_DELTA_L: delta_l, _A_PREV: a_prev}, k),
    ),
    Formula(
        key="bp4_bias_grad", section=SECTION, title="BP4: gradient with respect to the biases",
        assumptions=("m_l symbolic", "1 <= r <= m_l"), definition=preactivation(q), derive=derive_bp4,
        stated=delta_l[r],
        locator=about(SECTION, r"\frac{\partial L}{\partial \mathbf{b}^{(\ell)}}"),
        variables=(b_l, delta_l), domain=DOMAIN,
        kernels=(Kernel("dense_grad_bias", DENSE_ARGS, BSum(delta_k), DENSE_DOMAIN, shape="vector",
                        grad_of="dense_linear_loss", grad_wrt="b", rewrite=f"delta {BATCH_SUM}",
                        reference=RecordReference("bp4_bias_grad", DENSE_BASES, index=("r",), widths=DENSE_WIDTHS,
                                                  per_example=("\\delta",), batch="sum"), error_scale="dense_bias",
                        bench=Bench(DENSE_BENCH, "lambda w, b, a, delta: delta.sum(0)", DENSE_NOTE)),),
        notation={r"\boldsymbol{\delta}^{(\ell)}": delta_l[r]},
        matrix_form=MatrixForm(_DELTA_L, (r, sp.Integer(1)), {_DELTA_L: delta_l}, k),
    ),
    Formula(
        key="bp_full_gradient_221", section=SECTION, title="BP1-BP4 give the full gradient of the 2-2-1 network",
        assumptions=("2-2-1 network, sigmoid everywhere, L = (yhat - y)^2/2", "every weight, bias, input and label "
                     "symbolic", "checked along a symbolic direction u: equal for all u iff the gradients are equal"),
        definition=sp.sympify(networks.loss(NOTES_NET)), derive=derive_full_gradient,
        stated=stated_recursion(NOTES_NET),
        locator=None,  # the registry's own check of BP1-BP4 together: each equation is its own record's claim
        variables=tuple(sp.sympify(t) for t in networks.params(NOTES_NET).trainable()),
        domain={str(sp.sympify(x)): (-2.0, 2.0) for x in (*networks.params(NOTES_NET).trainable(),
                                                         *networks.params(NOTES_NET).x, *networks.params(NOTES_NET).y)}
        | {f"u_{{{t}}}": (-2.0, 2.0) for t in networks.params(NOTES_NET).trainable()}
        | {str(a): (0.15, 0.95) for layer in networks.activation_symbols(NOTES_NET) for a in layer},
        comment="stated: the notes' recursion run on their own network; derived: symengine's derivative of the "
                "whole loss; further shapes (softmax + CE too) are compared exactly in the derivation steps",
    ),
)


# -- the worked example ------------------------------------------------------------------------------------

def _dec(text: str) -> sp.Rational:
    """A decimal the notes print, as an exact rational (our own literal, never text read from the notes)."""
    return sp.Rational(text)


X_EX = sp.Matrix([sp.Rational(1, 2), sp.Rational(1, 10)])
W1_EX = sp.Matrix([[sp.Rational(1, 10), sp.Rational(2, 10)], [sp.Rational(3, 10), sp.Rational(4, 10)]])
W2_EX = sp.Matrix([[sp.Rational(5, 10), sp.Rational(6, 10)]])
B1_EX, B2_EX, Y_EX, ETA_EX = sp.zeros(2, 1), sp.zeros(1, 1), sp.Integer(1), sp.Rational(1, 10)


def _worked() -> networks.Backprop:
    """The notes' forward and backward pass with exact inputs (sigma kept as the named sigmoid)."""
    return networks.backprop(NOTES_NET, [W1_EX, W2_EX], [B1_EX, B2_EX], X_EX, sp.Matrix([Y_EX]), sigmoid,
                             _sigmoid_slope)


#: Where the example prints each number, by what it is (verify.matching reads it whatever the wording): the end of
#: a chain about a subject (an entry of a printed vector or matrix there), or a factor of a product of numbers.
Z1, A1, DELTA1 = (r"\mathbf{z}^{(1)}", r"\mathbf{a}^{(1)}", r"\boldsymbol{\delta}^{(1)}")
SLOPE1 = r"\sigma'(\mathbf{z}^{(1)})"  # the factor of the product that delta^{(1)}'s chain prints as numbers
DW1, DW2 = (r"\frac{\partial L}{\partial \mathbf{W}^{(1)}}", r"\frac{\partial L}{\partial \mathbf{W}^{(2)}}")


def _example_quantities() -> tuple[Quantity, ...]:
    """Every number of the worked 2-2-1 example, exact and as a hand computation from the printed roundings.

    ``rounded_expr`` repeats the arithmetic the notes display, with the rounded numbers they print
    (e.g. delta2 = -0.3573 * 0.2297), so a reader can tell "right only with rounded intermediates" from "wrong".
    """
    bp = _worked()
    z1, a1, z2, a2 = bp.z[0], bp.a[0], bp.z[1][0], bp.a[1][0]
    d1, d2 = bp.delta
    dW1, dW2 = bp.dW
    slope1 = z1.applyfunc(_sigmoid_slope)
    d = _dec
    x_printed = (d("0.5"), d("0.1"))
    delta1_printed = (d("-0.0103"), d("-0.0122"))
    out = [
        *(Quantity(f"z1_{j + 1}", f"z^{{(1)}}_{j + 1}", z1[j], text, worked(SECTION, Z1, (j,)), z1[j])
          for j, text in enumerate(("0.07", "0.19"))),
        *(Quantity(f"a1_{j + 1}", f"a^{{(1)}}_{j + 1}", a1[j], text, worked(SECTION, A1, (j,)), sigmoid(d(z)))
          for j, (text, z) in enumerate((("0.5175", "0.07"), ("0.5474", "0.19")))),
        Quantity("z2", "z^{(2)}", z2, "0.5872", worked(SECTION, "z^{(2)}"),
                 d("0.5") * d("0.5175") + d("0.6") * d("0.5474")),
        Quantity("yhat", r"\hat y", a2, "0.6427", worked(SECTION, r"\hat y"), sigmoid(d("0.5872"))),
        Quantity("loss", "L", (a2 - Y_EX) ** 2 / 2, "0.0638", worked(SECTION, "L", kind="inline"),
                 (d("0.6427") - 1) ** 2 / 2),
        Quantity("error", r"\hat y - y", a2 - Y_EX, "-0.3573", worked(SECTION, r"\hat y - y", factor=0),
                 d("0.6427") - 1),
        Quantity("dsigma_z2", r"\sigma'(z^{(2)})", _sigmoid_slope(z2), "0.2297",
                 worked(SECTION, r"\sigma'(z^{(2)})", factor=1), d("0.6427") * (1 - d("0.6427"))),
        Quantity("delta2", r"\delta^{(2)}", d2[0], "-0.0821", worked(SECTION, r"\delta^{(2)}"),
                 d("-0.3573") * d("0.2297")),
        Quantity("dW2_1", r"\partial L/\partial W^{(2)}_1", dW2[0, 0], "-0.0425",
                 worked(SECTION, DW2, (0,)), d("-0.0821") * d("0.5175")),
        Quantity("dW2_2", r"\partial L/\partial W^{(2)}_2", dW2[0, 1], "-0.0449",
                 worked(SECTION, DW2, (1,)), d("-0.0821") * d("0.5474")),
        Quantity("one_minus_a1_1", r"1 - a^{(1)}_1", 1 - a1[0], "0.4825",
                 worked(SECTION, r"\sigma'(0.07)", factor=1, kind="inline"), 1 - d("0.5175")),
        Quantity("one_minus_a1_2", r"1 - a^{(1)}_2", 1 - a1[1], "0.4526",
                 worked(SECTION, r"\sigma'(0.19)", factor=1, kind="inline"), 1 - d("0.5474")),
        *(Quantity(f"dsigma_z1_{j + 1}", f"\\sigma'(z^{{(1)}}_{j + 1})", slope1[j], text,
                   worked(SECTION, SLOPE1, (j,), factor=1), d(a) * d(b))
          for j, (text, a, b) in enumerate((("0.2497", "0.5175", "0.4825"), ("0.2478", "0.5474", "0.4526")))),
        *(Quantity(f"delta1_{j + 1}", f"\\delta^{{(1)}}_{j + 1}", d1[j], text, worked(SECTION, DELTA1, (j,)),
                   w * d("-0.0821") * d(slope))
          for j, (text, w, slope) in enumerate((("-0.0103", d("0.5"), "0.2497"), ("-0.0122", d("0.6"), "0.2478")))),
        *(Quantity(f"dW1_{r + 1}{c + 1}", f"\\partial L/\\partial W^{{(1)}}_{{{r + 1}{c + 1}}}", dW1[r, c], text,
                   worked(SECTION, DW1, (r, c)), delta1_printed[r] * x_printed[c])
          for (r, c), text in zip(((0, 0), (0, 1), (1, 0), (1, 1)), ("-0.00514", "-0.00103", "-0.00610", "-0.00122"),
                                  strict=True)),
        Quantity("W2_1_updated", r"W^{(2)\prime}_1", W2_EX[0, 0] - ETA_EX * dW2[0, 0],
                 "0.50425", worked(SECTION, "W^{(2)}_1", kind="inline"), d("0.5") - d("0.1") * d("-0.0425")),
    ]
    return tuple(replace(q, formula=HAND_221[q.name]) for q in out)


W1_B, W2_B, X_B, B1_B = (sp.IndexedBase(n) for n in ("W^{(1)}", "W^{(2)}", "x", "b^{(1)}"))
B2_B, Y_B, ETA_B = sp.Symbol("b^{(2)}"), sp.Symbol("y"), sp.Symbol("eta")
_q = sp.Symbol  # an earlier quantity of the example, by its name


def _hand_221() -> dict[str, sp.Expr]:
    """How the notes compute each number of the 2-2-1 example by hand, in the inputs' entries and earlier numbers."""
    out: dict[str, sp.Expr] = {}
    for j in (1, 2):
        out[f"z1_{j}"] = W1_B[j, 1] * X_B[1] + W1_B[j, 2] * X_B[2] + B1_B[j]
        out[f"a1_{j}"] = sigmoid(_q(f"z1_{j}"))
        out[f"one_minus_a1_{j}"] = 1 - _q(f"a1_{j}")
        out[f"dsigma_z1_{j}"] = _q(f"a1_{j}") * _q(f"one_minus_a1_{j}")
        out[f"delta1_{j}"] = W2_B[j] * _q("delta2") * _q(f"dsigma_z1_{j}")  # entry j of (W^T delta) . sigma'
        out[f"dW2_{j}"] = _q("delta2") * _q(f"a1_{j}")
        for c in (1, 2):
            out[f"dW1_{j}{c}"] = _q(f"delta1_{j}") * X_B[c]
    out.update({
        "z2": W2_B[1] * _q("a1_1") + W2_B[2] * _q("a1_2") + B2_B, "yhat": sigmoid(_q("z2")),
        "loss": (_q("yhat") - Y_B) ** 2 / 2, "error": _q("yhat") - Y_B,
        "dsigma_z2": _q("yhat") * (1 - _q("yhat")), "delta2": _q("error") * _q("dsigma_z2"),
        "W2_1_updated": W2_B[1] - ETA_B * _q("dW2_1"),
    })
    return out


with sp.evaluate(False):  # each formula keeps the order the notes write it in: W x + b, (yhat - y) sigma'
    HAND_221 = _hand_221()
HAND_221_SYMBOLS = {**entries(W1_B, W1_EX), **entries(W2_B, W2_EX), **entries(X_B, X_EX), **entries(B1_B, B1_EX),
                    B2_B: B2_EX[0, 0], Y_B: Y_EX, ETA_B: ETA_EX}


FORMULAS += (
    Formula(
        key="weight_step", section=SECTION, title="One step moves each weight by -eta times its gradient",
        assumptions=("gradient descent with step size eta > 0", "one coordinate j of the parameters"),
        definition=gradient_descent.UPDATE_STATED, derive=derive_weight_step,
        stated=-gradient_descent.eta * gradient_descent.gradv[j],
        locator=stated_as(SECTION),
        variables=(gradient_descent.gradv,), domain=gradient_descent.VECTOR_DOMAIN,
        notation={r"\text{grad}": gradient_descent.gradv[j]},  # "-eta . grad": grad is the weight's gradient
    ),
)


EXAMPLES: tuple[Example, ...] = (
    Example(
        key="backprop_221", section=SECTION, title="One backprop step on the 2-2-1 network by hand",
        inputs={"x": X_EX, "W1": W1_EX, "b1": B1_EX, "W2": W2_EX, "b2": B2_EX, "y": Y_EX, "eta": ETA_EX},
        quantities=_example_quantities(), kernels_used=("sigmoid",), symbols=HAND_221_SYMBOLS,
        pipeline="sigmoid_2_2_1_step",  # verify/worked.py runs it through the layer, backprop and SGD kernels
        vectors=(VectorForm(
            r"\boldsymbol{\delta}^{(1)}", "bp2_hidden_error", ("delta1_1", "delta1_2"),
            {"W^{(l+1)}": ("W^{(2)}", "W2"), r"\delta^{(l+1)}": (r"\delta^{(2)}", ("delta2",)),
             r"\sigma'(z^{(l)})": (r"\sigma'(z^{(1)})", ("dsigma_z1_1", "dsigma_z1_2"))},
            "matrix form (BP2); entry by entry below"),),
    ),
)


_YHAT_EX, _Y_EX = sp.Symbol("\\hat{y}"), sp.Symbol("y")
#: Layers l-1, l+1 next to layer l: a definition written with the wrong layer's vector reads as those names.
z_prev_entry, z_next_entry = sp.IndexedBase("z^{(l-1)}")[j], sp.IndexedBase("z^{(l+1)}")[j]
z1_ex, z2_ex = sp.IndexedBase("z^{(1)}"), sp.IndexedBase("z^{(2)}")
_NEXT_LAYER = {**_layer_shapes(), "\\mathbf{b}^{(\\ell+1)}": sp.MatrixSymbol(str(b_next), m_next, 1),
               "\\mathbf{b}^{(\\ell)}": sp.MatrixSymbol(str(b_l), m_l, 1),
               **{f"\\mathbf{{z}}^{{(\\ell{d})}}": sp.MatrixSymbol(f"z^{{(l{d})}}", rows, 1)
                  for d, rows in (("-1", m_prev), ("", m_l), ("+1", m_next))}}
_LAYER = {**_layer_shapes(), "\\mathbf{b}^{(\\ell)}": sp.MatrixSymbol(str(b_l), m_l, 1)}
DEFINITIONS: tuple[Definition, ...] = (
    Definition("layer_forward", SECTION, "Layer l's pre-activation",
               _LAYER["\\mathbf{W}^{(\\ell)}"] * _LAYER["\\mathbf{a}^{(\\ell-1)}"] + _LAYER["\\mathbf{b}^{(\\ell)}"],
               about(SECTION, r"\mathbf{z}^{(\ell)}"),
               {"m_{l-1}": (1, 4), "m_l": (1, 4)}, "preactivation(q), which BP3 and BP4 differentiate",
               notation=_LAYER),  # the bold names of layer l, as matrices
    Definition("layer_forward_activation", SECTION, "Layer l's activation", sigma(z_l[j]),
               about(SECTION, r"\mathbf{a}^{(\ell)}"),
               {**DOMAIN, "z^{(l-1)}": ENTRY, "z^{(l+1)}": ENTRY}, "sigma(z^{(l)}_i), which next_preactivation sums",
               notation={r"\mathbf{z}^{(\ell-1)}": z_prev_entry, r"\mathbf{z}^{(\ell+1)}": z_next_entry}),
    Definition("bp2_next_layer", SECTION, "Layer l+1's pre-activation as a function of z^(l)", next_preactivation(k),
               about(SECTION, r"\mathbf{z}^{(\ell+1)}", "inline"), {**DOMAIN, "z^{(l-1)}": ENTRY, "z^{(l+1)}": ENTRY},
               "next_preactivation(k), which BP2 differentiates", notation={**_NEXT_LAYER, "(entry)": sp.Tuple(k)}),
    Definition("backprop_221_activation", SECTION, "The worked example's hidden activation", sigmoid(z1_ex[j]),
               about(SECTION, r"\mathbf{a}^{(1)}", member=1),
               {"z^{(1)}": ENTRY, "z^{(2)}": ENTRY, "j": (1, 2)}, "sigmoid everywhere, as the example says",
               notation={r"\mathbf{z}^{(2)}": z2_ex[j]}),
    Definition("backprop_221_loss", SECTION, "The worked example's loss", (_YHAT_EX - _Y_EX) ** 2 / 2,
               about(SECTION, "L", "inline"), {"\\hat{y}": (0.05, 0.95), "y": (0.0, 1.0)},
               "the loss of networks.loss(NOTES_NET), the quantity 'loss' of the example"),
)
