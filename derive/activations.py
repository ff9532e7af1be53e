"""Section 1.2: activation functions, their derivatives and ranges, GELU, softmax and its Jacobian."""

from __future__ import annotations

import math

import sympy as sp
from sympy.calculus.util import function_range

from derive.arrays import Col, Eye, RMax, Row, RSum
from derive.core import (
    Bench,
    Definition,
    Derivation,
    Formula,
    FormulaReference,
    Kernel,
    Quirk,
    Region,
    Sample,
    Step,
    about,
    in_row,
    stated_as,
    within_bounds,
)
from derive.functions import Phi, sigmoid

z = sp.Symbol("z", real=True)
p = sp.Symbol("p", positive=True)
alpha = sp.Symbol("alpha", positive=True)
gamma = sp.Symbol("gamma", positive=True)
n = sp.Symbol("n", integer=True, positive=True)
i, j, k = sp.symbols("i j k", integer=True, positive=True)
zv = sp.IndexedBase("z")
zvec = sp.Symbol("z", real=True)  # the same z, as a whole vector in kernels
REAL = {"z": (-6.0, 6.0)}
POSITIVE = Region("z > 0", {z: p}, {"p": (0.05, 6.0)})
NEGATIVE = Region("z < 0", {z: -p}, {"p": (0.05, 6.0)})
LEAKY = {"alpha": (0.001, 0.999), "gamma": (0.001, 0.999)}

SIGMOID = 1 / (1 + sp.exp(-z))
TANH = (sp.exp(z) - sp.exp(-z)) / (sp.exp(z) + sp.exp(-z))
RELU = sp.Max(0, z)
LEAKY_RELU = sp.Max(alpha * z, z)
GELU = z * Phi(z)
GELU_TANH = sp.Rational(1, 2) * z * (1 + sp.tanh(sp.sqrt(2 / sp.pi) * (z + sp.Float("0.044715") * z**3)))

TITLE = "Activation functions"


def _derivative(definition: sp.Expr, rule: str, *rewrites: tuple[str, sp.Expr]) -> Derivation:
    """Differentiate ``definition`` in z by SymPy, then record each named rewrite of the result."""
    d = sp.diff(definition, z)
    steps = [Step("definition", definition), Step(rule, d)]
    for name, expr in rewrites:
        steps.append(Step(name, expr))
    return Derivation(steps[-1].expr, tuple(steps))


def derive_sigmoid_grad() -> Derivation:
    """sigma' from 1/(1+e^{-z}), then rewritten with e^{-z} = (1 - sigma)/sigma."""
    d = sp.diff(SIGMOID, z)
    s = sp.Symbol("sigma", positive=True)
    in_sigma = sp.factor(sp.cancel(d.subs(sp.exp(-z), (1 - s) / s)))
    return Derivation(in_sigma.subs(s, sigmoid(z)), (
        Step("definition", SIGMOID),
        Step("chain rule on (1 + e^{-z})^{-1}", d),
        Step("substitute e^{-z} = (1 - sigma)/sigma and cancel", in_sigma.subs(s, sigmoid(z))),
    ))


def derive_tanh_grad() -> Derivation:
    """tanh' by the quotient rule on (e^z - e^-z)/(e^z + e^-z), brought to 1 - tanh^2."""
    d = sp.diff(TANH, z)
    together = sp.cancel(sp.together(d))
    t = sp.Symbol("t", real=True)
    # d/dz of the quotient is 1 - (quotient)^2 exactly when their difference cancels to 0
    remainder = sp.cancel(together - (1 - TANH**2))
    in_t = (remainder + 1 - t**2).subs(t, sp.tanh(z))
    return Derivation(in_t, (
        Step("definition", TANH),
        Step("quotient rule", d),
        Step("common denominator", together),
        Step("subtract 1 - ((e^z - e^{-z})/(e^z + e^{-z}))^2: the remainder cancels to", remainder),
        Step("name the quotient tanh(z)", in_t),
    ))


def derive_relu_grad() -> Derivation:
    """ReLU' as SymPy's derivative of Max(0, z), read off on each side of the kink."""
    d = sp.diff(RELU, z)
    cases = sp.Piecewise((d.subs(z, p), z > 0), (d.subs(z, -p), z < 0))
    return Derivation(cases, (Step("definition", RELU), Step("derivative of Max", d),
                              Step("evaluate Heaviside for z > 0 and z < 0 (undefined at 0)", cases)))


def derive_leaky_grad() -> Derivation:
    """Leaky ReLU' from Max(alpha z, z) for 0 < alpha < 1 (alpha = 1 - gamma, gamma in (0,1))."""
    d = sp.diff(LEAKY_RELU, z)
    pos = sp.expand(d.subs(z, p).subs(alpha, 1 - gamma)).subs(gamma, 1 - alpha)
    neg = sp.expand(d.subs(z, -p).subs(alpha, 1 - gamma)).subs(gamma, 1 - alpha)
    cases = sp.Piecewise((pos, z > 0), (neg, z < 0))
    return Derivation(cases, (Step("definition", LEAKY_RELU), Step("derivative of Max", d),
                              Step("evaluate Heaviside for z > 0, z < 0 with 0 < alpha < 1", cases)))


def derive_gelu_grad() -> Derivation:
    """GELU' = Phi(z) + z phi(z), by the product rule on z Phi(z)."""
    from derive.functions import unfold
    d = sp.diff(unfold(GELU), z)
    phi = sp.exp(-z**2 / 2) / sp.sqrt(2 * sp.pi)
    return Derivation(Phi(z) + z * phi, (
        Step("definition, Phi(z) = (1 + erf(z/sqrt 2))/2", unfold(GELU)),
        Step("product rule, d erf(x)/dx = 2 e^{-x^2}/sqrt(pi)", d),
        Step("name Phi and the normal density phi", Phi(z) + z * phi),
    ))


def derive_gelu_tanh() -> Derivation:
    """The tanh approximation matches GELU to first order at 0; its largest error on R, numerically."""
    from derive.functions import unfold
    exact = unfold(GELU)
    err = GELU_TANH - exact
    slope0 = [sp.limit(sp.diff(f, z), z, 0) for f in (exact, GELU_TANH)]
    f = sp.lambdify(z, err, "mpmath")
    import mpmath
    grid = [mpmath.mpf(x) / 100 for x in range(-800, 801)]
    worst = max(abs(f(x)) for x in grid)
    bound = sp.Float(worst, 6)
    return Derivation(sp.Le(sp.Abs(sp.Symbol("err")), bound), (
        Step("error of the approximation", err),
        Step("slopes at 0 (exact, approximation) agree", sp.Tuple(*slope0)),
        Step("largest |error| on a grid of step 0.01 over [-8, 8] (tails vanish beyond)", bound),
    ))


def _range_of(definition: sp.Expr, assume: dict | None = None) -> Derivation:
    """The image of R under ``definition`` (SymPy's function_range, or limits and monotonicity)."""
    expr = definition.subs(assume or {})
    try:
        rng = function_range(expr, z, sp.S.Reals)
        return Derivation(rng, (Step("definition", definition), Step("function_range over R", rng)))
    except (NotImplementedError, ValueError):
        pass
    lo, hi = sp.limit(expr, z, -sp.oo), sp.limit(expr, z, sp.oo)
    d = sp.diff(expr, z)
    neg, pos = sp.expand(d.subs(z, -p)), sp.expand(d.subs(z, p))
    closed_low = expr.subs(z, 0) if lo.is_finite is False or neg == 0 else None
    rng = sp.Interval(closed_low if closed_low is not None else lo, hi, left_open=closed_low is None, right_open=True)
    return Derivation(rng, (
        Step("definition", definition),
        Step("limits at -oo and +oo", sp.Tuple(lo, hi)),
        Step("derivative on z < 0 and z > 0 (monotone pieces)", sp.Tuple(neg, pos)),
        Step("image of a continuous monotone-by-pieces function", rng),
    ))


def derive_gelu_range() -> Derivation:
    """GELU's image: 0 at -oo, oo at +oo, one critical point below 0 where it attains its minimum."""
    from derive.functions import unfold
    g = unfold(GELU)
    d = sp.diff(g, z)
    zmin = sp.nsolve(d, z, -0.75, prec=30)
    lo = sp.Float(g.subs(z, zmin).evalf(30), 30)
    rng = sp.Interval(lo, sp.oo)
    return Derivation(rng, (
        Step("limits at -oo and +oo", sp.Tuple(sp.limit(g, z, -sp.oo), sp.limit(g, z, sp.oo))),
        Step("critical point: solve GELU'(z) = 0", sp.Eq(z, sp.Float(zmin, 12))),
        Step("minimum value GELU(z*)", sp.Float(lo, 12)),
        Step("image", sp.Interval(sp.Float(lo, 6), sp.oo)),
    ))


def derive_softmax_jacobian() -> Derivation:
    """d s_i / d z_j for s_i = e^{z_i}/sum_k e^{z_k}, for a symbolic number of classes n."""
    total = sp.Sum(sp.exp(zv[k]), (k, 1, n))
    s_i = sp.exp(zv[i]) / total
    d = sp.diff(s_i, zv[j])
    done = within_bounds(d.doit(), j, n)
    S = sp.Symbol("S", positive=True)
    named = done.subs(total, S)
    s = sp.IndexedBase("s")
    result = sp.expand(named).subs({sp.exp(zv[i]): s[i] * S, sp.exp(zv[j]): s[j] * S})
    return Derivation(sp.factor(result), (
        Step("definition", s_i),
        Step("quotient rule (d z_k / d z_j = delta_kj)", d),
        Step("sum out the Kronecker delta (1 <= j <= n)", done),
        Step("write e^{z_i} = s_i S, e^{z_j} = s_j S", sp.factor(result)),
    ))


SOFTMAX_TOTAL = sp.Sum(sp.exp(zv[k]), (k, 1, n))
SOFTMAX = sp.exp(zv[i]) / SOFTMAX_TOTAL  # the function the table's softmax row defines


def _quotient_rule() -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """d/dz_j of e^{z_i}/S, S = sum_k e^{z_k}: the numerator's derivative, and the term of the denominator's."""
    held = sp.Symbol("u", positive=True)  # the numerator, held fixed while the denominator varies
    numerator = sp.diff(sp.exp(zv[i]), zv[j])
    denominator = within_bounds(sp.diff(held / SOFTMAX_TOTAL, zv[j]).doit(), j, n).subs(held, sp.exp(zv[i]))
    return numerator, denominator, numerator / SOFTMAX_TOTAL + denominator


def derive_softmax_numerator_slope() -> Derivation:
    """i = j: the numerator's derivative d e^{z_i}/dz_i."""
    numerator = _quotient_rule()[0]
    diagonal = numerator.subs(j, i)
    return Derivation(diagonal, (Step("d e^{z_i}/dz_j", numerator), Step("i = j", diagonal)))


def derive_softmax_denominator_term() -> Derivation:
    """i = j: the denominator's term -e^{z_i} (dS/dz_i)/S^2 of the quotient rule."""
    denominator = _quotient_rule()[1]
    diagonal = denominator.subs(j, i)
    return Derivation(diagonal, (
        Step("quotient rule, numerator held fixed: d(u/S)/dz_j, S = sum_k e^{z_k}", denominator),
        Step("i = j", diagonal),
    ))


def derive_softmax_off_diagonal() -> Derivation:
    """i != j: only the denominator depends on z_j; then e^{z_i} = s_i S, e^{z_j} = s_j S."""
    numerator, _, total = _quotient_rule()
    off = total.subs(sp.KroneckerDelta(i, j), 0)
    s = sp.IndexedBase("s")
    named = sp.expand(off.subs(SOFTMAX_TOTAL, sp.Symbol("S", positive=True))).subs(
        {sp.exp(zv[i]): s[i] * sp.Symbol("S", positive=True), sp.exp(zv[j]): s[j] * sp.Symbol("S", positive=True)})
    return Derivation(named, (
        Step("quotient rule: d s_i/dz_j", total),
        Step("i != j: d e^{z_i}/dz_j = 0, only the denominator term is left", off),
        Step("write e^{z_i} = s_i S, e^{z_j} = s_j S", named),
    ))


def derive_softmax_off_diagonal_quotient() -> Derivation:
    """i != j, before naming the outputs: -e^{z_i} e^{z_j}/S^2."""
    steps = derive_softmax_off_diagonal().steps[:2]
    return Derivation(steps[-1].expr, steps)


def derive_softmax_sum() -> Derivation:
    """sum_i s_i = 1 for a symbolic number of classes n."""
    total = sp.Sum(sp.exp(zv[k]), (k, 1, n))
    summed = sp.Sum(sp.exp(zv[i]) / total, (i, 1, n))
    pulled = sp.Sum(sp.exp(zv[i]), (i, 1, n)) / total
    result = sp.simplify(pulled.subs(i, k).doit() if False else pulled.change_index(i, k - i, k) if False else pulled)
    result = pulled.subs(sp.Sum(sp.exp(zv[i]), (i, 1, n)), total)
    return Derivation(result, (Step("definition", summed), Step("pull out the constant denominator", pulled),
                               Step("rename the summation index", result)))


_m, _h, _d = sp.symbols("m h d", integer=True, positive=True)
W_1, W_2, X_IN = sp.MatrixSymbol("W_1", _h, _d), sp.MatrixSymbol("W_2", _m, _h), sp.MatrixSymbol("x", _d, 1)


def derive_linear_collapse() -> Derivation:
    """W2 (W1 x) = (W2 W1) x: entry r of both sides as double sums over symbolic sizes h and d."""
    nested = sp.MatMul(W_2, sp.MatMul(W_1, X_IN), evaluate=False)
    A, B, x = sp.IndexedBase("W_2"), sp.IndexedBase("W_1"), sp.IndexedBase("x")
    r, a, c = sp.symbols("r a c", integer=True, positive=True)
    left = sp.Sum(A[r, a] * sp.Sum(B[a, c] * x[c], (c, 1, _d)), (a, 1, _h))
    swapped = sp.Sum(sp.Sum(A[r, a] * B[a, c], (a, 1, _h)) * x[c], (c, 1, _d))
    exchange = sp.Sum(sp.Sum(A[r, a] * B[a, c] * x[c], (c, 1, _d)), (a, 1, _h))
    # the exchange of two finite sums, checked as polynomial identities for sizes up to 4 x 4
    same = all(sp.expand((left - swapped).subs({_h: h, _d: d}).doit()) == 0 for h in range(1, 5) for d in range(1, 5))
    collapsed = sp.MatMul(sp.MatMul(W_2, W_1, evaluate=False), X_IN, evaluate=False)
    return Derivation(collapsed if same else nested, (
        Step("definition: entry r of W_2 (W_1 x)", left),
        Step("distribute W_2[r, a] into the inner sum", exchange),
        Step("exchange the two finite sums (linearity)", swapped),
        Step("the inner sum is entry (r, c) of W_2 W_1, so the product is (W_2 W_1) x", collapsed),
    ))


def _real_interval(a: float, b: float) -> dict:
    return {"z": (a, b)}


GELU_TANH_U = sp.sqrt(2 / sp.pi) * (z + sp.Float("0.044715") * z**3)
# One exponential, e = exp(-2|u|) <= 1, for both terms: (1 + tanh u)/2 = max(e, [u >= 0])/(1 + e) (1/(1 + e)
# for u >= 0, e/(1 + e) below: no cancellation in either tail) and 1 - tanh(u)^2 = 4e/(1 + e)^2.
_E_U = sp.exp(-2 * sp.Abs(GELU_TANH_U))
SECH2_U = 4 * _E_U / (1 + _E_U) ** 2
GELU_TANH_GRAD = (sp.Max(_E_U, sp.Piecewise((1, z >= 0), (0, True))) / (1 + _E_U)
                  + z * SECH2_U * sp.diff(GELU_TANH_U, z) / 2)
SOFTMAX_KERNEL = sp.exp(zvec - RMax(zvec)) / RSum(sp.exp(zvec - RMax(zvec)))
SIGMOID_STABLE = (1 + sp.tanh(z / 2)) / 2
SOFTMAX_DOMAIN = {"z": (-4.0, 4.0), "s": (0.01, 0.99), "n": (2, 5), "i": (1, 1), "j": (2, 2)}

# The kernel benchmark draws logits uniformly; its hand-written references follow the notes' 1.10 listing.
Z_BENCH = Sample("uniform", (-6.0, 6.0))
ALPHA_BENCH = Sample("scalar", (0.01,))
ERF_NOTE = "reference erf: scipy.special.erf"
SIGMOID_GRAD_NUMPY = """
def sigmoid_grad(z):
    s = 1 / (1 + np.exp(-z))
    return s * (1 - s)
"""
GELU_GRAD_NUMPY = """
def gelu_grad(z):
    cdf = 0.5 * (1 + erf(z / math.sqrt(2)))
    pdf = np.exp(-z**2 / 2) / math.sqrt(2 * math.pi)
    return cdf + z * pdf
"""
GELU_TANH_GRAD_NUMPY = """
def gelu_tanh_grad(z):
    c = math.sqrt(2 / math.pi)
    t = np.tanh(c * (z + 0.044715 * z**3))
    return 0.5 * (1 + t) + 0.5 * z * (1 - t**2) * c * (1 + 3 * 0.044715 * z**2)
"""
SOFTMAX_JACOBIAN_NUMPY = """
def softmax_jacobian(z):
    s = softmax(z)
    jac = -s[..., :, None] * s[..., None, :]          # diag(s) - s s^T
    i = np.arange(z.shape[-1])
    jac[..., i, i] += s
    return jac
"""


#: A quirk of every kernel that branches on z > 0 at a subnormal z.
FLUSH_TO_ZERO = ("XLA on CPU flushes subnormal numbers to zero, so the JAX kernel sees z = 0 and takes the z <= 0 "
                 "branch, while NumPy sees z > 0; property tests therefore draw no subnormals "
                 "(arrays_in(allow_subnormal=False)).")


FORMULAS: tuple[Formula, ...] = (
    Formula(
        key="sigmoid_grad", section="1.2", title="Derivative of the sigmoid",
        assumptions=("z real",), definition=SIGMOID, derive=derive_sigmoid_grad,
        stated=sigmoid(z) * (1 - sigmoid(z)),
        locator=in_row("1.2", SIGMOID, "derivative"), variables=(z,), domain=REAL,
        kernels=(
            Kernel("sigmoid", (z,), SIGMOID_STABLE, REAL, rewrite="1/(1+e^{-z}) = (1 + tanh(z/2))/2: no overflow",
                   bench=Bench((Z_BENCH,), "lambda z: 1 / (1 + np.exp(-z))"),
                   quirks=(Quirk({"z": -40.0}, numpy_value=0.0, jax_value=0.0, autodiff_value=None,
                                 note="the overflow-free form (1 + tanh(z/2))/2 has absolute, not relative, accuracy "
                                      "in the left tail: tanh(-20) rounds to -1 in float64, so the kernel returns 0 "
                                      "where sigma(-40) = 4.25e-18."),)),
            Kernel("sigmoid_grad", (z,), sp.exp(-sp.Abs(z)) / (1 + sp.exp(-sp.Abs(z))) ** 2, REAL,
                   grad_of="sigmoid", grad_wrt="z",
                   rewrite="sigma(1 - sigma) = e/(1 + e)^2 with e = e^{-|z|} <= 1: no overflow, "
                           "accurate in both tails", bench=Bench((Z_BENCH,), SIGMOID_GRAD_NUMPY),
                   quirks=(Quirk({"z": -40.0}, numpy_value=math.exp(-40.0), jax_value=math.exp(-40.0),
                                 autodiff_value=0.0,
                                 note="the left-tail limit of sigmoid, seen through autodiff: the derived kernel "
                                      "e/(1 + e)^2 with e = exp(-|z|) returns sigma'(-40) = e^-40 (1 + e^-40 rounds "
                                      "to 1), while jax.grad of the generated sigmoid (1 + tanh(z/2))/2 returns 0."),)),
        ),
    ),
    Formula(
        key="sigmoid_range", section="1.2", title="Range of the sigmoid", assumptions=("z real",),
        definition=SIGMOID, derive=lambda: _range_of(SIGMOID), stated=sp.Interval.open(0, 1),
        locator=in_row("1.2", SIGMOID, "range"), variables=(z,), domain=REAL,
    ),
    Formula(
        key="tanh_grad", section="1.2", title="Derivative of tanh", assumptions=("z real",),
        definition=TANH, derive=derive_tanh_grad, stated=1 - sp.tanh(z) ** 2,
        locator=in_row("1.2", TANH, "derivative"), variables=(z,), domain=REAL,
        kernels=(
            Kernel("tanh", (z,), sp.tanh(z), REAL, rewrite="(e^z - e^{-z})/(e^z + e^{-z}) = tanh z",
                   bench=Bench((Z_BENCH,), "np.tanh", "the reference is the same np.tanh call")),
            Kernel("tanh_grad", (z,), 4 * sp.exp(-2 * sp.Abs(z)) / (1 + sp.exp(-2 * sp.Abs(z))) ** 2, REAL,
                   grad_of="tanh", grad_wrt="z",
                   rewrite="1 - tanh(z)^2 = 4e/(1 + e)^2 with e = e^{-2|z|}: no cancellation where tanh saturates",
                   bench=Bench((Z_BENCH,), "lambda z: 1 - np.tanh(z)**2")),
        ),
    ),
    Formula(
        key="tanh_range", section="1.2", title="Range of tanh", assumptions=("z real",),
        definition=TANH, derive=lambda: _range_of(TANH), stated=sp.Interval.open(-1, 1),
        locator=in_row("1.2", TANH, "range"), variables=(z,), domain=REAL,
    ),
    Formula(
        key="relu_grad", section="1.2", title="Derivative of ReLU", assumptions=("z real, z != 0",),
        definition=RELU, derive=derive_relu_grad, stated=sp.Piecewise((1, z > 0), (0, z < 0)),
        locator=in_row("1.2", RELU, "derivative"), variables=(z,), domain=REAL,
        regions=(POSITIVE, NEGATIVE),
        kernels=(
            Kernel("relu", (z,), RELU, REAL, bench=Bench((Z_BENCH,), "lambda z: np.maximum(0, z)")),
            Kernel("relu_grad", (z,), sp.Piecewise((1, z > 0), (0, True)), REAL, grad_of="relu", grad_wrt="z",
                   rewrite="the value 0 is chosen at the kink z = 0",
                   bench=Bench((Z_BENCH,), "lambda z: (z > 0).astype(z.dtype)"),
                   quirks=(Quirk({"z": 0.0}, numpy_value=0.0, jax_value=0.0, autodiff_value=0.5,
                                 note="kink: the subdifferential is [0, 1]; the generated derivative chooses 0, while "
                                      "jax.grad of maximum(0, z) splits the tie and returns 0.5. Both are valid "
                                      "subgradients."),
                           Quirk({"z": 1e-40}, numpy_value=1.0, jax_value=0.0, autodiff_value=0.5, dtype="float32",
                                 note=FLUSH_TO_ZERO),
                           Quirk({"z": 5e-324}, numpy_value=1.0, jax_value=0.0, autodiff_value=0.5,
                                 note=FLUSH_TO_ZERO))),
        ),
    ),
    Formula(
        key="relu_range", section="1.2", title="Range of ReLU", assumptions=("z real",),
        definition=RELU, derive=lambda: _range_of(RELU), stated=sp.Interval(0, sp.oo),
        locator=in_row("1.2", RELU, "range"), variables=(z,), domain=REAL,
    ),
    Formula(
        key="leaky_relu_grad", section="1.2", title="Derivative of leaky ReLU",
        assumptions=("z real, z != 0", "0 < alpha < 1"), definition=LEAKY_RELU, derive=derive_leaky_grad,
        stated=sp.Piecewise((1, z > 0), (alpha, True)),
        locator=in_row("1.2", LEAKY_RELU, "derivative"), variables=(z, alpha), domain={**REAL, **LEAKY},
        regions=(POSITIVE, NEGATIVE),
        kernels=(
            Kernel("leaky_relu", (z, alpha), LEAKY_RELU, {**REAL, **LEAKY}, scalars=("alpha",),
                   bench=Bench((Z_BENCH, ALPHA_BENCH), "lambda z, a: np.maximum(a * z, z)")),
            Kernel("leaky_relu_grad", (z, alpha), sp.Max(alpha, sp.Piecewise((1, z > 0), (0, True))),
                   {**REAL, **LEAKY}, grad_of="leaky_relu", grad_wrt="z", scalars=("alpha",),
                   rewrite="1 if z > 0 else alpha = max(alpha, [z > 0]) for 0 < alpha < 1: no branch",
                   bench=Bench((Z_BENCH, ALPHA_BENCH),
                               "lambda z, a: np.where(z > 0, z.dtype.type(1), z.dtype.type(a))"),
                   quirks=(Quirk({"z": 0.0, "alpha": 0.01}, numpy_value=0.01, jax_value=0.01, autodiff_value=0.505,
                                 note="kink: the subdifferential is [alpha, 1]; the generated derivative "
                                      "max(alpha, [z > 0]) takes the left derivative alpha, while jax.grad of the "
                                      "generated maximum(z, alpha z) splits the tie and returns (1 + alpha)/2. Both "
                                      "are valid subgradients."),)),
        ),
    ),
    Formula(
        key="leaky_relu_range", section="1.2", title="Range of leaky ReLU", assumptions=("z real", "0 < alpha < 1"),
        definition=LEAKY_RELU, derive=lambda: _range_of(LEAKY_RELU, {alpha: sp.Rational(1, 100)}),
        stated=sp.S.Reals, locator=in_row("1.2", LEAKY_RELU, "range"), variables=(z,), domain=REAL,
    ),
    Formula(
        key="gelu_grad", section="1.2", title="Derivative of GELU (the notes leave it out)",
        assumptions=("z real",), definition=GELU, derive=derive_gelu_grad, stated=None,
        locator=in_row("1.2", GELU, "derivative"), variables=(z,), domain=REAL,
        kernels=(
            Kernel("gelu", (z,), z * (1 + sp.erf(z / sp.sqrt(2))) / 2, REAL, rewrite="Phi(z) = (1 + erf(z/sqrt 2))/2",
                   bench=Bench((Z_BENCH,), "lambda z: 0.5 * z * (1 + erf(z / math.sqrt(2)))", ERF_NOTE)),
            Kernel("gelu_grad", (z,), (1 + sp.erf(z / sp.sqrt(2))) / 2 + z * sp.exp(-z**2 / 2) / sp.sqrt(2 * sp.pi),
                   REAL, grad_of="gelu", grad_wrt="z", bench=Bench((Z_BENCH,), GELU_GRAD_NUMPY, ERF_NOTE)),
        ),
    ),
    Formula(
        key="gelu_range", section="1.2", title="Range of GELU", assumptions=("z real",),
        definition=GELU, derive=derive_gelu_range, stated=sp.S.Reals,
        locator=in_row("1.2", GELU, "range"), variables=(z,), domain=REAL,
    ),
    Formula(
        key="gelu_tanh", section="1.2", title="The tanh approximation of GELU", assumptions=("z real",),
        definition=GELU_TANH, derive=derive_gelu_tanh, stated=None,
        locator=about("1.2", r"\text{GELU}(z)", approx=True), variables=(z,), domain=REAL,
        kernels=(
            Kernel("gelu_tanh", (z,), GELU_TANH, REAL,
                   bench=Bench((Z_BENCH,),
                               "lambda z: 0.5 * z * (1 + np.tanh(math.sqrt(2 / math.pi) * (z + 0.044715 * z**3)))")),
            Kernel("gelu_tanh_grad", (z,), GELU_TANH_GRAD, REAL, grad_of="gelu_tanh", grad_wrt="z",
                   rewrite="with e = e^{-2|u|}: (1 + tanh u)/2 = max(e, [z >= 0])/(1 + e) and 1 - tanh(u)^2 = "
                           "4e/(1 + e)^2: one exponential, no cancellation where tanh saturates",
                   bench=Bench((Z_BENCH,), GELU_TANH_GRAD_NUMPY)),
        ),
    ),
    Formula(
        key="softmax_jacobian", section="1.2", title="Jacobian of softmax, n classes",
        assumptions=("n >= 1 classes, symbolic", "1 <= i, j <= n"),
        definition=sp.exp(zv[i]) / sp.Sum(sp.exp(zv[k]), (k, 1, n)), derive=derive_softmax_jacobian,
        stated=sp.IndexedBase("s")[i] * (sp.KroneckerDelta(i, j) - sp.IndexedBase("s")[j]),
        locator=about("1.2", r"\frac{\partial s_i}{\partial z_j}"), variables=(zv,),
        domain={"z": (-4.0, 4.0), "s": (0.01, 0.99), "n": (2, 5), "i": (1, 2), "j": (1, 2)},
        kernels=(
            Kernel("softmax", (zvec,), SOFTMAX_KERNEL, {"z": (-6.0, 6.0)}, shape="vector",
                   rewrite="e^{z_i}/sum e^{z_k} = e^{z_i - m}/sum e^{z_k - m} for any m; m = max z",
                   reference=FormulaReference("softmax_jacobian", "definition"), bench=Bench((Z_BENCH,), "softmax")),
            Kernel("softmax_jacobian", (zvec,), Col(SOFTMAX_KERNEL) * (Eye(zvec) - Row(SOFTMAX_KERNEL)),
                   {"z": (-6.0, 6.0)}, shape="jacobian", grad_of="softmax", grad_wrt="z",
                   bench=Bench((Z_BENCH,), SOFTMAX_JACOBIAN_NUMPY)),
        ),
    ),
    Formula(
        key="softmax_sum", section="1.2", title="Softmax outputs sum to 1", assumptions=("n >= 1 classes, symbolic",),
        definition=sp.Sum(sp.exp(zv[i]) / sp.Sum(sp.exp(zv[k]), (k, 1, n)), (i, 1, n)), derive=derive_softmax_sum,
        stated=sp.Integer(1), locator=in_row("1.2", SOFTMAX, "sum"), variables=(zv,),
        domain={"z": (-4.0, 4.0), "n": (1, 5)},
    ),
    Formula(
        key="linear_collapse", section="1.2", title="Stacked linear layers collapse to one",
        assumptions=("W_2: m x h, W_1: h x d, x: d x 1, symbolic sizes",),
        definition=sp.MatMul(W_2, sp.MatMul(W_1, X_IN), evaluate=False), derive=derive_linear_collapse,
        stated=sp.MatMul(sp.MatMul(W_2, W_1, evaluate=False), X_IN, evaluate=False),
        locator=about("1.2", r"\mathbf{W}_2(\mathbf{W}_1\mathbf{x})", "inline"), variables=(), domain={},
    ),
    # the prose derivation of the Jacobian, term by term
    Formula(
        key="softmax_numerator_slope", section="1.2", title="Softmax Jacobian, i = j: the numerator's derivative",
        assumptions=("n classes, symbolic",), definition=sp.exp(zv[i]), derive=derive_softmax_numerator_slope,
        stated=sp.exp(zv[i]), locator=stated_as("1.2"), variables=(zv,),
        domain=SOFTMAX_DOMAIN,
    ),
    Formula(
        key="softmax_denominator_term", section="1.2", title="Softmax Jacobian, i = j: the denominator's term",
        assumptions=("n classes, symbolic",), definition=sp.exp(zv[i]) / SOFTMAX_TOTAL,
        derive=derive_softmax_denominator_term, stated=-sp.exp(zv[i]) ** 2 / SOFTMAX_TOTAL**2,
        locator=stated_as("1.2"), variables=(zv,),
        domain=SOFTMAX_DOMAIN,
        notation={r"\sum": SOFTMAX_TOTAL},  # the prose writes (\sum)^2 for the square of the denominator
    ),
    Formula(
        key="softmax_off_diagonal_quotient", section="1.2", title="Softmax Jacobian, i != j, as a quotient",
        assumptions=("n classes, symbolic", "i != j"), definition=sp.exp(zv[i]) / SOFTMAX_TOTAL,
        derive=derive_softmax_off_diagonal_quotient, stated=-sp.exp(zv[i]) * sp.exp(zv[j]) / SOFTMAX_TOTAL**2,
        locator=about("1.2", "-s_i s_j", "inline"), variables=(zv,),
        domain=SOFTMAX_DOMAIN,
        notation={r"\sum": SOFTMAX_TOTAL},  # the prose writes (\sum)^2 for the square of the denominator
    ),
    Formula(
        key="softmax_off_diagonal", section="1.2", title="Softmax Jacobian, i != j, in the outputs",
        assumptions=("n classes, symbolic", "i != j"), definition=sp.exp(zv[i]) / SOFTMAX_TOTAL,
        derive=derive_softmax_off_diagonal, stated=-sp.IndexedBase("s")[i] * sp.IndexedBase("s")[j],
        locator=about("1.2", r"-e^{z_i}e^{z_j}/(\sum)^2", "inline"), variables=(zv,),
        domain=SOFTMAX_DOMAIN,
    ),
)

# -- definitions the notes write (checked by the audit, not proven) ------------------------------------------

DEFINITIONS: tuple[Definition, ...] = (
    Definition("gelu_definition", "1.2", "GELU", GELU,
               about("1.2", r"\text{GELU}(z)", "inline"), REAL, "GELU, differentiated by gelu_grad"),
    Definition("softmax_definition", "1.2", "Softmax", sp.exp(zv[i]) / sp.Sum(sp.exp(zv[k]), (k, 1, n)),
               about("1.2", "s_i", "inline"), {"z": (-3.0, 3.0), "n": (1, 5), "i": (1, 1)},
               "the softmax the Jacobian is derived from"),
)
