"""Section 1.8: the gradients of the L2 and L1 penalties, what each does to a minimiser, and inverted dropout.

The penalties are summed over a symbolic number of parameters n. L1 is not differentiable at 0:
its one-sided derivatives there are found by limits and give the subgradient interval, which is
why L1 (unlike L2) sets weights exactly to zero. Dropout's moments come from sympy.stats.

The penalty kernels reduce over the last axis (one parameter vector per row) and are read off the
records' sums by ``derive.arrays.vectorize``; their gradients are derivative kernels of them.
"""

from __future__ import annotations

from functools import cache

import sympy as sp
from sympy import stats

from derive.arrays import Count, vectorize
from derive.core import (
    Bench,
    Definition,
    Derivation,
    Formula,
    Kernel,
    Quirk,
    Region,
    Sample,
    Step,
    about,
    stated_as,
    within_bounds,
)

n = sp.Symbol("n", integer=True, positive=True)
i, j = sp.symbols("i j", integer=True, positive=True)
lam = sp.Symbol("lambda", positive=True)
thv = sp.IndexedBase("theta", real=True)
theta = sp.Symbol("theta", real=True)
h = sp.Symbol("h", real=True)
a = sp.Symbol("a", positive=True)
c = sp.Symbol("c", real=True)
u, r = sp.symbols("u r", positive=True)
p = sp.Symbol("p", positive=True)
x = sp.Symbol("x", real=True)
scale = sp.Symbol("s", positive=True)

L2 = lam / 2 * sp.Sum(thv[i] ** 2, (i, 1, n))
L1 = lam * sp.Sum(sp.Abs(thv[i]), (i, 1, n))
PARAMS = {"theta": (-3.0, 3.0), "lambda": (0.001, 2.0), "n": (1, 5), "j": (1, 1)}
PENALTY = {"a": (0.1, 3.0), "c": (-3.0, 3.0), "lambda": (0.001, 2.0)}
DROPOUT = {"p": (0.01, 0.95), "x": (-3.0, 3.0)}
L2_LOC = stated_as("1.8")
# Said in words (verify.phrases), of the minimiser under the penalty the sentence names (L1: p = 1, L2: p = 2):
# "drives some weights exactly to 0" states |theta*_p| = 0 for some losses, "shrinks weights toward 0"
# |theta*_p| < |theta*_0|; "so expectations match" states E[dropout(x)] = x.
L1_SPARSITY_LOC = about("1.8", r"|\theta^{*}_{1}|")
L2_SHRINK_LOC = about("1.8", r"|\theta^{*}_{2}|")
DROPOUT_MEAN_LOC = about("1.8", r"\bar{x}_{\mathrm{drop}}")
DROPOUT_LOC = stated_as("1.8")

# -- kernels: the penalties of one parameter vector per row, and dropout given its keep mask -----------------

mask = sp.Symbol("mask", real=True)
PENALTY_KERNEL = {"theta": (-3.0, 3.0), "lambda": (0.001, 2.0)}
DROPOUT_KERNEL = {"x": (-3.0, 3.0), "mask": (0.0, 1.0), "p": (0.0, 0.95)}
DROPOUT_DEFINITION = sp.Symbol("m") * x / (1 - p)


def penalty(definition: sp.Expr) -> sp.Expr:
    """A penalty (or its gradient) summed over i = 1..n, as a kernel over the last axis."""
    return vectorize(definition, {thv: theta}, {n: Count(theta)})



@cache
def derive_l2_gradient() -> Derivation:
    """d/d theta_j of (lambda/2) sum_i theta_i^2, for a symbolic number of parameters n."""
    d = sp.diff(L2, thv[j])
    done = within_bounds(d.doit(), j, n)
    return Derivation(done, (Step("definition", L2), Step("differentiate under the sum", d),
                             Step("sum out the Kronecker delta (1 <= j <= n)", done)))


@cache
def derive_l1_gradient() -> Derivation:
    """d/d theta_j of lambda sum_i |theta_i| for theta_j != 0: lambda sign(theta_j)."""
    d = sp.diff(L1, thv[j])
    done = within_bounds(d.doit(), j, n)
    return Derivation(done, (Step("definition", L1), Step("d|t|/dt = sign(t) for real t != 0", d),
                             Step("sum out the Kronecker delta (1 <= j <= n)", done)))


@cache
def _one_sided() -> tuple[sp.Expr, sp.Expr]:
    """The left and right derivatives of lambda |h| at h = 0, as limits of difference quotients."""
    quotient = (lam * sp.Abs(h) - lam * sp.Abs(0)) / h
    return sp.limit(quotient, h, 0, "-"), sp.limit(quotient, h, 0, "+")


@cache
def derive_l1_subgradient() -> Derivation:
    """The subdifferential of lambda |theta| at 0: the interval between its one-sided derivatives."""
    left, right = _one_sided()
    interval = sp.Interval(left, right)
    return Derivation(interval, (
        Step("difference quotient at 0", (lam * sp.Abs(h) - lam * sp.Abs(0)) / h),
        Step("one-sided limits h -> 0-, h -> 0+", sp.Tuple(left, right)),
        Step("convex function: subdifferential = [left derivative, right derivative]", interval),
    ))


@cache
def derive_l1_sparsity() -> Derivation:
    """Minimiser of (a/2)(theta - c)^2 + lambda |theta|: soft thresholding, exactly 0 for |c| <= lambda/a."""
    objective = a / 2 * (theta - c) ** 2 + lam * sp.Abs(theta)
    stationary_pos = sp.solve(sp.diff(a / 2 * (theta - c) ** 2 + lam * theta, theta), theta)[0]
    stationary_neg = sp.solve(sp.diff(a / 2 * (theta - c) ** 2 - lam * theta, theta), theta)[0]
    left, right_d = _one_sided()
    smooth_slope = sp.diff(a / 2 * (theta - c) ** 2, theta).subs(theta, 0)
    at_zero = sp.And(smooth_slope + left <= 0, smooth_slope + right_d >= 0)
    halves = [sp.solveset(cond, c, sp.S.Reals) for cond in at_zero.args]
    zero_set = sp.Interval(next(s.start for s in halves if s.start.is_finite),
                           next(s.end for s in halves if s.end.is_finite))
    minimiser = sp.Piecewise((stationary_pos, stationary_pos > 0), (stationary_neg, stationary_neg < 0), (0, True))
    return Derivation(minimiser, (
        Step("objective: a quadratic loss around c plus the L1 penalty", objective),
        Step("theta > 0: F' = a(theta - c) + lambda = 0", sp.Eq(theta, stationary_pos)),
        Step("theta < 0: F' = a(theta - c) - lambda = 0", sp.Eq(theta, stationary_neg)),
        Step("theta = 0 is optimal iff 0 lies in F'(0) + [-lambda, lambda]", at_zero),
        Step("that is, for c in", zero_set),
        Step("each piece where it is consistent; 0 otherwise", minimiser),
    ))


@cache
def derive_l2_shrinkage() -> Derivation:
    """Minimiser of (a/2)(theta - c)^2 + (lambda/2) theta^2: a c/(a + lambda), shrunk but not zero."""
    objective = a / 2 * (theta - c) ** 2 + lam / 2 * theta**2
    slope = sp.diff(objective, theta)
    (solved,) = sp.solve(slope, theta)
    curvature = sp.diff(objective, theta, 2)
    return Derivation(solved, (Step("objective: a quadratic loss around c plus the L2 penalty", objective),
                               Step("F'(theta) = 0", sp.Eq(slope, 0)),
                               Step("F'' = a + lambda > 0: the only minimiser", curvature),
                               Step("solve", solved)))


@cache
def _mask() -> stats.rv.RandomSymbol:
    """The keep mask m ~ Bernoulli(1 - p)."""
    return stats.Bernoulli("m", 1 - p)


@cache
def derive_dropout_scale() -> Derivation:
    """The survivor scale s with E[m s x] = x, m ~ Bernoulli(1 - p): s = 1/(1 - p)."""
    mean = stats.E(_mask() * scale * x)
    (solved,) = sp.solve(sp.Eq(mean, x), scale)
    return Derivation(solved, (Step("sympy.stats: E[m s x], m ~ Bernoulli(1 - p)", mean),
                               Step("ask E[m s x] = x and solve for s", solved)))


@cache
def derive_dropout_mean() -> Derivation:
    """E[m x/(1 - p)] = x: inverted dropout keeps the expectation of every activation."""
    y = _mask() * x / (1 - p)
    mean = sp.factor(stats.E(y))
    return Derivation(mean, (Step("inverted dropout y = m x/(1 - p)", y), Step("sympy.stats: E[y]", mean)))


@cache
def derive_dropout_variance() -> Derivation:
    """Var[m x/(1 - p)] = x^2 p/(1 - p): the noise dropout adds."""
    y = _mask() * x / (1 - p)
    raw = stats.variance(y)
    var = sp.factor(raw)
    return Derivation(var, (Step("inverted dropout y = m x/(1 - p)", y), Step("sympy.stats: Var[y]", raw),
                            Step("factor", var)))


# The kernel benchmark: penalties over the last axis, dropout elementwise.
PENALTY_BENCH = (Sample("uniform", (-3.0, 3.0)), Sample("scalar", (0.01,)))
DROPOUT_BENCH = (Sample("uniform", (-3.0, 3.0)), Sample("keep_mask", (0.9,)), Sample("scalar", (0.1,)))


FORMULAS: tuple[Formula, ...] = (
    Formula(
        key="l2_gradient", section="1.8", title="Gradient of the L2 penalty",
        assumptions=("n parameters, symbolic", "1 <= j <= n", "lambda > 0"), definition=L2,
        derive=derive_l2_gradient, stated=lam * thv[j], locator=L2_LOC, variables=(thv, lam), domain=PARAMS,
        kernels=(
            Kernel("l2_penalty", (theta, lam), penalty(L2), PENALTY_KERNEL, shape="vector", signature="(n),(1)->()",
                   bench=Bench(PENALTY_BENCH, "lambda theta, lam: 0.5 * lam * np.sum(theta**2, axis=-1)")),
            Kernel("l2_penalty_grad", (theta, lam), penalty(lam * thv[j]), PENALTY_KERNEL, shape="vector",
                   grad_of="l2_penalty", grad_wrt="theta",
                   bench=Bench(PENALTY_BENCH, "lambda theta, lam: lam * theta")),
        ),
        notation={"theta": thv[j]},  # the notes write the vector theta; the record takes its j-th entry
    ),
    Formula(
        key="l1_gradient", section="1.8", title="Gradient of the L1 penalty away from 0 (beyond the notes)",
        assumptions=("n parameters, symbolic", "1 <= j <= n", "theta_j != 0"), definition=L1,
        derive=derive_l1_gradient, stated=lam * sp.sign(thv[j]), locator=None, variables=(thv, lam),
        domain={**PARAMS, "q": (0.05, 3.0)},
        kernels=(
            Kernel("l1_penalty", (theta, lam), penalty(L1), PENALTY_KERNEL, shape="vector", signature="(n),(1)->()",
                   bench=Bench(PENALTY_BENCH, "lambda theta, lam: lam * np.abs(theta).sum(-1)")),
            Kernel("l1_penalty_grad", (theta, lam), penalty(lam * sp.sign(thv[j])), PENALTY_KERNEL,
                   shape="vector", grad_of="l1_penalty", grad_wrt="theta",
                   rewrite="the subgradient 0 is chosen at theta_j = 0 (sign(0) = 0)",
                   bench=Bench(PENALTY_BENCH, "lambda theta, lam: lam * np.sign(theta)"),
                   quirks=(Quirk({"theta": 0.0, "lambda": 0.5}, numpy_value=0.0, jax_value=0.0, autodiff_value=0.5,
                                 note="kink: the subdifferential of lambda |theta| at 0 is [-lambda, lambda]; the "
                                      "generated gradient lambda sign(theta) chooses 0 (the minimum-norm subgradient, "
                                      "which keeps a zero weight at zero), while jax.grad of lambda sum |theta| takes "
                                      "d|x|/dx = 1 at 0 and returns lambda."),)),
        ),
        regions=(Region("theta_j > 0", {thv[j]: sp.Symbol("q", positive=True)}, {}),
                 Region("theta_j < 0", {thv[j]: -sp.Symbol("q", positive=True)}, {})),
    ),
    Formula(
        key="l1_subgradient_at_zero", section="1.8", title="Subgradients of the L1 penalty at 0 (beyond the notes)",
        assumptions=("lambda > 0", "one coordinate; the penalty is separable"), definition=lam * sp.Abs(theta),
        derive=derive_l1_subgradient, stated=sp.Interval(-lam, lam), locator=None, variables=(lam,),
        domain={"lambda": (0.001, 2.0)},
    ),
    Formula(
        key="l1_sparsity", section="1.8", title="L1 sets a weight exactly to 0 when |c| <= lambda/a",
        assumptions=("loss quadratic near its minimiser c with curvature a > 0", "lambda > 0", "one coordinate"),
        definition=a / 2 * (theta - c) ** 2 + lam * sp.Abs(theta), derive=derive_l1_sparsity,
        stated=sp.sign(c) * sp.Max(sp.Abs(c) - lam / a, 0), locator=L1_SPARSITY_LOC, variables=(c, a, lam),
        notation={r"\theta^{*}_{0}": c},
        domain=PENALTY,
        regions=(Region("c > lambda/a", {c: lam / a + u}, {"u": (0.01, 3.0)}),
                 Region("0 < c < lambda/a", {c: r, lam: a * (r + u)}, {"r": (0.01, 3.0), "u": (0.01, 3.0)}),
                 Region("-lambda/a < c < 0", {c: -r, lam: a * (r + u)}, {"r": (0.01, 3.0), "u": (0.01, 3.0)}),
                 Region("c < -lambda/a", {c: -lam / a - u}, {"u": (0.01, 3.0)})),
        comment="The notes' 'drives some weights exactly to 0' made precise: soft thresholding.",
    ),
    Formula(
        key="l2_shrinkage", section="1.8", title="L2 shrinks a weight toward 0 but not to 0",
        assumptions=("loss quadratic near its minimiser c with curvature a > 0", "lambda > 0"),
        definition=a / 2 * (theta - c) ** 2 + lam / 2 * theta**2, derive=derive_l2_shrinkage,
        stated=a * c / (a + lam), locator=L2_SHRINK_LOC, notation={r"\theta^{*}_{0}": c},
        regions=(Region("c > 0", {}, {"c": (0.05, 3.0)}), Region("c < 0", {}, {"c": (-3.0, -0.05)})),
        variables=(c, a, lam), domain=PENALTY,
        comment="The notes' 'shrinks weights toward 0' made precise: c scaled by a/(a + lambda), zero only if c is.",
    ),
    Formula(
        key="dropout_scale", section="1.8", title="Inverted dropout's survivor scale",
        assumptions=("m ~ Bernoulli(1 - p), 0 < p < 1", "x fixed (the activation)"),
        definition=sp.Eq(sp.Symbol("E[m s x]"), x), derive=derive_dropout_scale, stated=1 / (1 - p),
        locator=DROPOUT_LOC, variables=(p,), domain=DROPOUT,
        comment="The scale making E[y] = x is exactly 1/(1 - p), as the notes say.",
    ),
    Formula(
        key="dropout_mean", section="1.8", title="Inverted dropout keeps the expectation",
        assumptions=("m ~ Bernoulli(1 - p), 0 < p < 1", "x fixed"), definition=DROPOUT_DEFINITION,
        derive=derive_dropout_mean, stated=x,
        locator=DROPOUT_MEAN_LOC, variables=(x, p), domain=DROPOUT,
        kernels=(
            Kernel("dropout", (x, mask, p), DROPOUT_DEFINITION.xreplace({sp.Symbol("m"): mask}), DROPOUT_KERNEL,
                   scalars=("p",), bench=Bench(DROPOUT_BENCH, "lambda x, mask, p: x * mask / (1 - p)")),
            Kernel("dropout_grad", (x, mask, p), mask / (1 - p), DROPOUT_KERNEL, grad_of="dropout", grad_wrt="x",
                   scalars=("p",), bench=Bench(DROPOUT_BENCH, "lambda x, mask, p: mask / (1 - p)")),
        ),
    ),
    Formula(
        key="dropout_variance", section="1.8", title="The variance inverted dropout adds (beyond the notes)",
        assumptions=("m ~ Bernoulli(1 - p), 0 < p < 1", "x fixed"), definition=sp.Symbol("m") * x / (1 - p),
        derive=derive_dropout_variance, stated=x**2 * p / (1 - p), locator=None, variables=(x, p),
        domain=DROPOUT,
    ),
)

# -- definitions the notes write (checked by the audit, not proven) ------------------------------------------

NORMS = {"theta": (-3.0, 3.0), "lambda": (0.001, 2.0), "n": (2, 5)}  # n >= 2: |theta|_1 and |theta|_2 then differ
DEFINITIONS: tuple[Definition, ...] = (
    Definition("l2_penalty_definition", "1.8", "The L2 penalty", L2,
               stated_as("1.8"), NORMS,
               "(lambda/2) |theta|^2, differentiated by l2_gradient",
               notation={"theta": thv}),  # the norms of the notes' vector theta are sums over its entries
    Definition("l1_penalty_definition", "1.8", "The L1 penalty", L1, stated_as("1.8"),
               NORMS, "lambda |theta|_1, differentiated by l1_gradient", notation={"theta": thv}),
)
