"""Section 1.4: the gradient-descent update, and the 1D example L(theta) = theta^2 with its table.

The update is derived as the minimiser of the first-order model of L plus a proximity term; for
L = theta^2 SymPy differentiates, forms the iterate map, solves the recurrence (``rsolve``) and the
convergence condition |1 - 2 eta| < 1 (``solve_univariate_inequality``). The worked table is an
``Example`` whose every entry is recomputed from theta_0 = 5 and eta = 1/10 by the derived map.
"""

from __future__ import annotations

from functools import cache

import sympy as sp
from sympy.solvers.inequalities import solve_univariate_inequality

from derive.core import (
    Bench,
    Definition,
    Derivation,
    Example,
    Formula,
    Kernel,
    Quantity,
    Sample,
    Step,
    about,
    in_column,
    stated_as,
    within_bounds,
)

n = sp.Symbol("n", integer=True, positive=True)
i, j = sp.symbols("i j", integer=True, positive=True)
t = sp.Symbol("t", integer=True, nonnegative=True)
eta = sp.Symbol("eta", positive=True)
eta_real = sp.Symbol("eta", real=True)
theta = sp.Symbol("theta", real=True)
theta0 = sp.Symbol("theta_0", real=True)
thetav, gradv, stepv = sp.IndexedBase("\\theta"), sp.IndexedBase("\\nabla_{\\theta} L"), sp.IndexedBase("d")
ETA_EXAMPLE, ETA_DIVERGENT, THETA_START = sp.Rational(1, 10), sp.Rational(11, 10), sp.Integer(5)

LOSS_1D = theta**2
g = sp.Symbol("g", real=True)  # the gradient, as a kernel argument
UPDATE_STATED = thetav[j] - eta * gradv[j]
SGD_DOMAIN = {"theta": (-5.0, 5.0), "g": (-3.0, 3.0), "eta": (0.01, 2.0)}
VECTOR_DOMAIN = {"\\theta": (-3.0, 3.0), "\\nabla_{\\theta} L": (-3.0, 3.0), "eta": (0.01, 2.0), "n": (1, 5),
                 "j": (1, 1)}
SCALAR_DOMAIN = {"theta": (-5.0, 5.0), "theta_0": (-5.0, 5.0), "eta": (0.01, 2.0), "t": (0, 12)}

SECTION = "1.4"
UPDATE_LINE = about(SECTION, r"\theta")
GRAD_LINE = about(SECTION, r"L'(\theta)", "inline")
GRAD_HEADER = about(SECTION, r"L'(\theta)", "inline")
TABLE_HEADER = about(SECTION, r"\theta - 0.1\cdot 2\theta", "inline")
# Said in words (verify.phrases): "each step multiplies theta by 0.8" states theta_t; "converging to 0"
# theta_oo; "if eta = 1.1 ... diverges" that 1.1 is in D_eta; "too large -> diverge" that C_eta is bounded above.
MULTIPLIES = about(SECTION, r"\theta_{t}")
MINIMUM = about(SECTION, r"\theta_{\infty}")
TOO_LARGE = about(SECTION, r"C_{\eta}")
MULTIPLIER_DIVERGENT = stated_as(SECTION)
DIVERGES = about(SECTION, r"D_{\eta}")


@cache
def derive_update_rule() -> Derivation:
    """theta' = argmin of  g.(theta' - theta) + |theta' - theta|^2 / (2 eta): stationary point, index form."""
    model = sp.Sum(gradv[i] * stepv[i], (i, 1, n)) + sp.Sum(stepv[i] ** 2, (i, 1, n)) / (2 * eta)
    stationary = within_bounds(sp.diff(model, stepv[j]).doit(), j, n)
    curvature = within_bounds(sp.diff(stationary, stepv[j]).doit(), j, n)
    (step,) = sp.solve(stationary, stepv[j])
    loss = sp.Function("L")
    descent = sp.diff(loss(theta - eta * sp.diff(loss(theta), theta)), eta).subs(eta, 0).doit()
    return Derivation(thetav[j] + step, (
        Step("local model of L(theta + d) - L(theta): first order plus proximity |d|^2/(2 eta)", model),
        Step("stationary point: d/d d_j, Kronecker delta summed out (1 <= j <= n)", sp.Eq(stationary, 0)),
        Step("second derivative 1/eta > 0: a minimum", curvature),
        Step("solve for d_j", sp.Eq(stepv[j], step)),
        Step("first-order change of L along the step (one coordinate): -L'(theta)^2 <= 0", descent),
        Step("update theta_j + d_j", thetav[j] + step),
    ))


@cache
def derive_quadratic_grad() -> Derivation:
    """L'(theta) for L = theta^2."""
    d = sp.diff(LOSS_1D, theta)
    return Derivation(d, (Step("definition", LOSS_1D), Step("power rule", d)))


@cache
def derive_iterate() -> Derivation:
    """theta_{t+1} = theta_t - eta L'(theta_t) for L = theta^2, factored."""
    grad = derive_quadratic_grad().result
    update = theta - eta * grad
    factored = sp.factor(update)
    multiplier = sp.expand(factored / theta)
    return Derivation(multiplier * theta, (
        Step("update rule with L'(theta) = 2 theta", update),
        Step("factor", factored),
        Step("multiplier of theta_t", multiplier),
    ))


def multiplier(at_eta: sp.Expr) -> sp.Expr:
    """The factor theta_{t+1}/theta_t of the derived iterate map at a given eta."""
    return sp.expand(derive_iterate().result / theta).subs(eta, at_eta)


@cache
def derive_step_example() -> Derivation:
    """The iterate map at eta = 1/10."""
    general = derive_iterate()
    at = general.result.subs(eta, ETA_EXAMPLE)
    return Derivation(at, (*general.steps, Step("theta_{t+1} = (1 - 2 eta) theta_t at eta = 1/10", at)))


@cache
def derive_closed_form() -> Derivation:
    """Solve theta_{t+1} = (1 - 2 eta) theta_t, theta(0) = theta_0 with rsolve, then set eta = 1/10."""
    seq = sp.Function("theta")
    recurrence = seq(t + 1) - derive_iterate().result.subs(theta, seq(t))
    general = sp.rsolve(recurrence, seq(t), {seq(0): theta0})
    at = general.subs(eta, ETA_EXAMPLE)
    return Derivation(at, (
        Step("recurrence from the iterate map", sp.Eq(recurrence, 0)),
        Step("rsolve with theta(0) = theta_0", sp.Eq(seq(t), general)),
        Step("eta = 1/10: theta_t, a geometric sequence of ratio 4/5", at),
    ))


@cache
def derive_limit() -> Derivation:
    """The limit of the closed form at eta = 1/10, and the minimiser of theta^2."""
    closed = derive_closed_form().result
    lim = sp.limit(closed, t, sp.oo)
    (argmin,) = sp.solve(derive_quadratic_grad().result, theta)
    return Derivation(lim, (
        Step("closed form at eta = 1/10", closed),
        Step("minimiser of theta^2: L'(theta) = 0 (L'' = 2 > 0)", sp.Eq(theta, argmin)),
        Step("limit t -> oo", lim),
    ))


@cache
def derive_convergence_set() -> Derivation:
    """{eta : |1 - 2 eta| < 1}: theta_0 (1 - 2 eta)^t -> 0 for theta_0 != 0 iff the ratio is below 1 in size."""
    ratio = multiplier(eta_real)
    condition = sp.Abs(ratio) < 1
    solved = solve_univariate_inequality(condition, eta_real, relational=False)
    return Derivation(solved, (
        Step("ratio of the geometric sequence theta_0 (1 - 2 eta)^t", ratio),
        Step("r^t theta_0 -> 0 (theta_0 != 0) iff |r| < 1", condition),
        Step("solve_univariate_inequality over the reals", solved),
    ))


@cache
def derive_divergence_set() -> Derivation:
    """{eta : |1 - 2 eta| > 1}, where |theta_t| grows without bound (the notes' 1.1 is checked to lie in it)."""
    ratio = multiplier(eta_real)
    solved = solve_univariate_inequality(sp.Abs(ratio) > 1, eta_real, relational=False)
    member = sp.Intersection(sp.FiniteSet(ETA_DIVERGENT), solved)
    outside = sp.Intersection(sp.FiniteSet(ETA_DIVERGENT), derive_convergence_set().result)
    return Derivation(solved, (
        Step("|theta_t| = |theta_0| |1 - 2 eta|^t -> oo iff |1 - 2 eta| > 1", sp.Abs(ratio) > 1),
        Step("{1.1} intersected with the divergence set: 1.1 diverges, as the notes say", member),
        Step("{1.1} intersected with the convergence set 0 < eta < 1: empty", outside),
        Step("solve_univariate_inequality over the reals", solved),
    ))


@cache
def derive_multiplier_divergent() -> Derivation:
    """The multiplier 1 - 2 eta at eta = 11/10."""
    general = multiplier(eta)
    at = multiplier(ETA_DIVERGENT)
    return Derivation(at, (*derive_iterate().steps, Step("multiplier of the derived iterate map", general),
                           Step("eta = 11/10", at)))


# The kernel benchmark's inputs: one update per parameter entry, at the usual rate.
SGD_BENCH = (Sample("uniform", (-3.0, 3.0)), Sample("uniform", (-3.0, 3.0)), Sample("scalar", (0.1,)))


FORMULAS: tuple[Formula, ...] = (
    Formula(
        key="gd_update_rule", section=SECTION, title="Gradient-descent update",
        assumptions=("n parameters, symbolic", "L differentiable, g = grad L at theta", "eta > 0"),
        definition=sp.Symbol("argmin_d g.d + |d|^2/(2 eta)"), derive=derive_update_rule,
        stated=UPDATE_STATED, locator=UPDATE_LINE, variables=(thetav, gradv, eta),
        domain=VECTOR_DOMAIN,
        notation={"theta": thetav[j], r"\nabla_{\theta} L": gradv[j]},  # the notes' vectors, entry j
        kernels=(Kernel("sgd_step", (theta, g, eta), UPDATE_STATED.xreplace({thetav[j]: theta, gradv[j]: g}),
                        SGD_DOMAIN, scalars=("eta",),
                        bench=Bench(SGD_BENCH, "lambda theta, g, eta: theta - eta * g")),),
        comment="the notes define the step; SymPy derives it as the minimiser of the linear model of L "
                "plus the proximity term |d|^2/(2 eta), and shows it decreases L to first order",
    ),
    Formula(
        key="gd_quadratic_grad", section=SECTION, title="Gradient of L(theta) = theta^2",
        assumptions=("theta real",), definition=LOSS_1D, derive=derive_quadratic_grad, stated=2 * theta,
        locator=GRAD_LINE, variables=(theta,), domain=SCALAR_DOMAIN,
    ),
    Formula(
        key="gd_quadratic_grad_header", section=SECTION, title="Gradient of L(theta) = theta^2, as the table heads it",
        assumptions=("theta real",), definition=LOSS_1D, derive=derive_quadratic_grad, stated=2 * theta,
        locator=GRAD_HEADER, variables=(theta,), domain=SCALAR_DOMAIN,
    ),
    Formula(
        key="gd_quadratic_step", section=SECTION, title="One step at eta = 0.1 multiplies theta by 0.8",
        assumptions=("theta real", "eta = 1/10"), definition=theta - ETA_EXAMPLE * sp.Derivative(LOSS_1D, theta),
        derive=derive_step_example, stated=sp.Rational(8, 10) * theta, locator=TABLE_HEADER, variables=(theta,),
        domain=SCALAR_DOMAIN,
    ),
    Formula(
        key="gd_quadratic_closed_form", section=SECTION, title="Geometric decay theta_t = 0.8^t theta_0",
        assumptions=("t = 0, 1, 2, ...", "theta_0 real", "eta = 1/10 (rsolve runs with symbolic eta)"),
        definition=sp.Eq(sp.Function("theta")(t + 1), (1 - 2 * eta) * sp.Function("theta")(t)),
        derive=derive_closed_form, stated=theta0 * sp.Rational(8, 10) ** t, locator=MULTIPLIES,
        variables=(theta0, t), domain=SCALAR_DOMAIN,
    ),
    Formula(
        key="gd_quadratic_limit", section=SECTION, title="The iterates converge to the minimiser 0",
        assumptions=("theta_0 real", "eta = 1/10"), definition=theta0 * sp.Rational(8, 10) ** t,
        derive=derive_limit, stated=sp.Integer(0), locator=MINIMUM, variables=(theta0,), domain=SCALAR_DOMAIN,
    ),
    Formula(
        key="gd_convergence_set", section=SECTION, title="Learning rates for which GD on theta^2 converges",
        assumptions=("L = theta^2", "theta_0 != 0", "eta real"), definition=sp.Abs(1 - 2 * eta_real) < 1,
        derive=derive_convergence_set, stated=sp.Interval.open(0, 1), locator=TOO_LARGE, variables=(eta_real,),
        domain={"eta": (-2.0, 3.0)},
        comment="the notes say it in words (too large diverges or oscillates); for the 1D example the exact "
                "set is 0 < eta < 1, oscillating (negative multiplier) for 1/2 < eta < 1",
    ),
    Formula(
        key="gd_multiplier_divergent", section=SECTION, title="The multiplier at eta = 1.1 is -1.2",
        assumptions=("L = theta^2", "eta = 11/10"), definition=1 - 2 * eta, derive=derive_multiplier_divergent,
        stated=sp.Rational(-12, 10), locator=MULTIPLIER_DIVERGENT, variables=(eta,), domain=SCALAR_DOMAIN,
    ),
    Formula(
        key="gd_divergent_rate", section=SECTION, title="The learning rates at which GD on theta^2 diverges",
        assumptions=("L = theta^2", "theta_0 != 0", "eta real"), definition=sp.Abs(1 - 2 * eta_real) > 1,
        derive=derive_divergence_set,
        stated=sp.Union(sp.Interval.open(-sp.oo, 0), sp.Interval.open(1, sp.oo)), locator=DIVERGES,
        variables=(eta_real,), domain={"eta": (-2.0, 3.0)},
        comment="the notes say 'if eta = 1.1 ... diverges': the audit checks that 1.1 lies in this set",
    ),
)


def _table_rows(steps: int = 4) -> tuple[tuple[sp.Expr, sp.Expr, sp.Expr], ...]:
    """(theta_t, L'(theta_t), theta_{t+1}) for t < steps, from theta_0 = 5 by the derived map at eta = 1/10."""
    grad, step = derive_quadratic_grad().result, derive_step_example().result
    rows, value = [], THETA_START
    for _ in range(steps):
        nxt = step.subs(theta, value)
        rows.append((value, grad.subs(theta, value), nxt))
        value = nxt
    return tuple(rows)


TABLE_STATED = (("5.000", "10.0", "4.000"), ("4.000", "8.0", "3.200"), ("3.200", "6.4", "2.560"),
                ("2.560", "5.12", "2.048"))


ETA_HAND = sp.Symbol("eta")  # the step size as the worked table's formulas name it
#: What each column of the worked table holds, as its header states it: theta_k, L'(theta_k), theta_{k+1}.
TABLE_COLUMNS = (r"\theta", r"L'(\theta)", r"\theta - 0.1\cdot 2\theta")


def _table_quantities() -> tuple[Quantity, ...]:
    """Every cell of the worked table, with a locator to its row."""
    out = []
    for row, ((th, g, nxt), stated) in enumerate(zip(_table_rows(), TABLE_STATED, strict=True)):
        # the row by its step number, the column by the maths its header states; the number read is the cell's
        where = [in_column(SECTION, column, str(row)) for column in TABLE_COLUMNS]
        here, grad = sp.Symbol(f"theta_{row}"), sp.Symbol(f"grad_{row}")  # earlier quantities, by name
        out += [Quantity(f"theta_{row}", rf"\theta_{row}", th, stated[0], where[0]),
                Quantity(f"grad_{row}", rf"L'(\theta_{row})", g, stated[1], where[1],
                         formula=derive_quadratic_grad().result.subs(theta, here)),
                Quantity(f"update_{row}", rf"\theta_{row + 1}", nxt, stated[2], where[2],
                         formula=UPDATE_STATED.subs({thetav[j]: here, gradv[j]: grad, eta: ETA_HAND}))]
    return tuple(out)


EXAMPLES: tuple[Example, ...] = (
    Example(
        key="gd_table", section=SECTION, title="Gradient descent on theta^2 from theta_0 = 5, eta = 0.1",
        inputs={"theta_0": THETA_START, "eta": ETA_EXAMPLE}, quantities=_table_quantities(),
        symbols={ETA_HAND: ETA_EXAMPLE},
        pipeline="gd_steps_on_square",  # verify/worked.py runs it through the sgd_step kernel
    ),
)

DEFINITIONS: tuple[Definition, ...] = (
    Definition("gd_quadratic_loss", SECTION, "The 1D example's loss", LOSS_1D,
               about(SECTION, r"L(\theta)", "inline"), {"theta": (-3.0, 3.0)},
               "LOSS_1D, the loss every 1.4 record uses"),
)
