"""Section 1.6: momentum, RMSProp, Adam's bias correction and first step, AdamW against Adam + L2.

The notes give the updates as definitions. What is derived here: the unrolled exponential moving
average (for a symbolic number of steps t), its value for a constant or alternating gradient, the
expectation of Adam's moments under a stationary gradient and the correction that unbiases them,
Adam's first step in closed form, and how decoupled weight decay differs from an L2 term.

The kernels are the updates read off these records by substitution (one step from the state
theta, m, v, s and the gradient g); Adam's bias divisor 1 - beta^t is computed as
-expm1(t log beta), which keeps its relative accuracy in float32 when beta is close to 1.
"""

from __future__ import annotations

from functools import cache

import sympy as sp
from sympy.codegen.cfunctions import expm1

from derive.core import (
    Bench,
    Definition,
    Derivation,
    Example,
    Formula,
    Kernel,
    Quantity,
    Region,
    Sample,
    Step,
    about,
    stated_as,
)

t = sp.Symbol("t", integer=True, positive=True)
k = sp.Symbol("k", integer=True, positive=True)
beta = sp.Symbol("beta", positive=True)
beta1 = sp.Symbol("beta_1", positive=True)
beta2 = sp.Symbol("beta_2", positive=True)
eta = sp.Symbol("eta", positive=True)
eps = sp.Symbol("epsilon", positive=True)
lam = sp.Symbol("lambda", positive=True)
g = sp.Symbol("g", real=True)
theta = sp.Symbol("theta", real=True)
p, q = sp.symbols("p q", positive=True)
gv, g2v, thv = sp.IndexedBase("g"), sp.IndexedBase("g^{2}"), sp.IndexedBase("theta")
mv, vv, sv = sp.IndexedBase("\\mathbf{m}"), sp.IndexedBase("\\mathbf{v}"), sp.IndexedBase("\\mathbf{s}")
mean_g = sp.Symbol("\\mathbb{E}[g]", real=True)
mean_g2 = sp.Symbol("\\mathbb{E}[g^{2}]", positive=True)

RATE = (0.05, 0.95)
STEPS = {"t": (1, 6), "beta": RATE, "beta_1": RATE, "beta_2": RATE}
GRAD_POSITIVE = Region("g > 0", {g: p}, {"p": (0.05, 3.0)})
GRAD_NEGATIVE = Region("g < 0", {g: -p}, {"p": (0.05, 3.0)})

MOMENTUM = sp.Eq(vv[t], beta * vv[t - 1] + (1 - beta) * gv[t])
RMSPROP = sp.Eq(sv[t], beta * sv[t - 1] + (1 - beta) * g**2)
M_HAT_LOC = about("1.6", r"\hat{\mathbf{m}}_t")
V_HAT_LOC = about("1.6", r"\hat{\mathbf{v}}_t")
DIVISOR_LOC = stated_as("1.6")
# "m_0 = v_0 = 0 makes early estimates biased toward zero" (verify.phrases): |E[m_t]| below the size it settles at
BIAS_M, BIAS_V = about("1.6", r"|\bar{m}_{t}|"), about("1.6", r"|\bar{v}_{t}|")


def _not_one(expr: sp.Expr, rate: sp.Symbol) -> sp.Expr:
    """Drop the rate = 1 branch SymPy keeps when summing a geometric series (0 < rate < 1)."""
    return expr.subs({sp.Eq(1 / rate, 1): sp.false, sp.Eq(rate, 1): sp.false})


def _geometric(expr: sp.Expr, rate: sp.Symbol) -> sp.Expr:
    """Sum every geometric series in ``expr`` with SymPy, for 0 < rate < 1, and factor."""
    return sp.factor(sp.cancel(_not_one(expr.doit(), rate)))


@cache
def _unroll(rate: sp.Symbol, u: sp.IndexedBase) -> Derivation:
    """Unroll e_t = rate e_{t-1} + (1 - rate) u_t from e_0 = 0, for a symbolic number of steps t."""
    e, w = sp.IndexedBase("e"), sp.IndexedBase("w")
    rec = sp.Eq(e[t], rate * e[t - 1] + (1 - rate) * u[t])
    scaled = rec.subs({e[t]: rate**t * w[t], e[t - 1]: rate ** (t - 1) * w[t - 1]})
    increment = sp.factor(sp.solve(scaled, w[t])[0] - w[t - 1])
    telescoped = sp.Sum(increment.subs(t, k), (k, 1, t))
    body = sp.powsimp(sp.cancel(rate**t * telescoped.function / (1 - rate)))
    closed = (1 - rate) * sp.Sum(body, (k, 1, t))
    # induction check: split off the k = t term of the closed form and subtract the recurrence
    previous = (1 - rate) * sp.Sum(rate * body.subs(t, t - 1), (k, 1, t - 1))
    split = (1 - rate) * (sp.Sum(body, (k, 1, t - 1)) + body.subs(k, t))
    residual = sp.expand(split - previous - (1 - rate) * u[t])
    if residual != 0:
        raise ArithmeticError(f"unrolled moving average does not meet its recurrence: residual {residual}")
    return Derivation(closed, (
        Step("definition, e_0 = 0", rec),
        Step("write e_t = rate^t w_t; the recurrence becomes a difference", sp.Eq(w[t] - w[t - 1], increment)),
        Step("telescope from w_0 = 0", sp.Eq(w[t], telescoped)),
        Step("check: the closed form minus the recurrence, with the k = t term split off", residual),
        Step("multiply by rate^t", closed),
    ))


@cache
def derive_momentum_unrolled() -> Derivation:
    """v_t = (1 - beta) sum_k beta^{t-k} g_k from the momentum recurrence with v_0 = 0."""
    return _unroll(beta, gv)


@cache
def derive_momentum_constant() -> Derivation:
    """v_t = (1 - beta^t) g for a constant gradient: sum the geometric series, cross-check by rsolve."""
    unrolled = _unroll(beta, gv).result
    constant = unrolled.xreplace({gv[k]: g})
    summed = _geometric(constant, beta)
    v = sp.Function("v")
    solved = sp.factor(sp.rsolve(v(t) - beta * v(t - 1) - (1 - beta) * g, v(t), {v(0): 0}))
    if sp.cancel(solved - summed) != 0:
        raise ArithmeticError(f"rsolve gives {solved}, the summed series {summed}")
    return Derivation(summed, (
        Step("unrolled momentum", unrolled),
        Step("constant gradient g_k = g", constant),
        Step("cross-check: rsolve of the recurrence with v_0 = 0", solved),
        Step("sum the geometric series (0 < beta < 1)", summed),
    ))


@cache
def derive_momentum_alternating() -> Derivation:
    """v_t for a gradient that flips sign every step, g_k = (-1)^k g; its amplitude tends to g (1-beta)/(1+beta)."""
    unrolled = _unroll(beta, gv).result
    flipping = unrolled.xreplace({gv[k]: (-1) ** k * g})
    summed = sp.factor(sp.powsimp(sp.expand(flipping.doit()), force=True))
    signed = sp.expand(summed * (-1) ** t)
    amplitude = sp.factor(signed.subs(beta**t, 0))
    named = (-1) ** t * sp.factor(signed)
    return Derivation(named, (
        Step("unrolled momentum", unrolled),
        Step("alternating gradient g_k = (-1)^k g", flipping),
        Step("sum the geometric series in -beta", summed),
        Step("(-1)^t v_t as t -> oo ((-beta)^t -> 0): the steady amplitude", amplitude),
        Step("v_t = (-1)^t times the damped amplitude", named),
    ))


@cache
def derive_rmsprop_constant() -> Derivation:
    """RMSProp's step for a constant gradient: s_t by rsolve, then t -> oo and eps -> 0 give eta sign(g)."""
    s = sp.Function("s")
    s_t = sp.factor(sp.rsolve(s(t) - beta * s(t - 1) - (1 - beta) * g**2, s(t), {s(0): 0}))
    step = eta * g / (sp.sqrt(s_t) + eps)
    late = step.subs(beta**t, 0)
    limit = sp.limit(late, eps, 0).rewrite(sp.sign)
    return Derivation(limit, (
        Step("rsolve s_t = beta s_{t-1} + (1 - beta) g^2, s_0 = 0", s_t),
        Step("step eta g / (sqrt(s_t) + eps)", step),
        Step("late steps: beta^t -> 0 for 0 < beta < 1", late),
        Step("eps -> 0: g/|g| = sign(g)", limit),
    ))


def _expectation(rate: sp.Symbol, u: sp.IndexedBase, mean: sp.Symbol) -> Derivation:
    """E[e_t] for the unrolled moving average of a stationary sequence with E[u_k] = mean."""
    unrolled = _unroll(rate, u).result
    linear = unrolled.xreplace({u[k]: mean})
    summed = _geometric(linear, rate)
    return Derivation(summed, (
        Step("unrolled moving average, e_0 = 0", unrolled),
        Step("linearity of E; stationary: E[u_k] = E[u] for every k", linear),
        Step("sum the geometric series (0 < rate < 1)", summed),
    ))


@cache
def derive_adam_m_expectation() -> Derivation:
    """E[m_t] = (1 - beta_1^t) E[g]: m_0 = 0 biases the first moment toward zero."""
    return _expectation(beta1, gv, mean_g)


@cache
def derive_adam_v_expectation() -> Derivation:
    """E[v_t] = (1 - beta_2^t) E[g^2], the same for the squared gradients."""
    return _expectation(beta2, g2v, mean_g2)


@cache
def derive_bias_divisor() -> Derivation:
    """The divisor d with E[e_t / d] = E[u] for any moving average with rate beta: d = 1 - beta^t."""
    expectation = _expectation(beta, gv, mean_g)
    d = sp.Symbol("d", positive=True)
    equation = sp.Eq(expectation.result / d, mean_g)
    (solved,) = sp.solve(equation, d)
    return Derivation(solved, (*expectation.steps, Step("ask E[e_t / d] = E[g] for every E[g]", equation),
                               Step("solve for d", solved)))


def _unbias(expectation: Derivation, moment: sp.Expr, mean: sp.Symbol) -> Derivation:
    """Solve E[c * moment] = mean for the correction c, then apply it."""
    c = sp.Symbol("c", positive=True)
    equation = sp.Eq(c * expectation.result, mean)
    (solved,) = sp.solve(equation, c)
    return Derivation(solved * moment, (
        Step("expectation of the raw moment", expectation.result),
        Step("ask for a constant factor c with E[c * moment] = E[target]", equation),
        Step("solve for c", sp.Eq(c, solved)),
        Step("corrected moment", solved * moment),
    ))


@cache
def derive_adam_m_hat() -> Derivation:
    """m_hat_t = m_t / (1 - beta_1^t) is the factor that makes E[m_hat_t] = E[g]."""
    return _unbias(derive_adam_m_expectation(), mv[t], mean_g)


@cache
def derive_adam_v_hat() -> Derivation:
    """v_hat_t = v_t / (1 - beta_2^t) is the factor that makes E[v_hat_t] = E[g^2]."""
    return _unbias(derive_adam_v_expectation(), vv[t], mean_g2)


def _adam_first_step(grad: sp.Expr) -> tuple[sp.Expr, tuple[Step, ...]]:
    """Adam's first update of theta for gradient ``grad``, from m_0 = v_0 = 0, t = 1."""
    m1 = beta1 * 0 + (1 - beta1) * grad
    v1 = beta2 * 0 + (1 - beta2) * grad**2
    m_hat, v_hat = sp.factor(m1 / (1 - beta1**1)), sp.factor(v1 / (1 - beta2**1))
    step = eta * m_hat / (sp.sqrt(v_hat) + eps)
    return step, (Step("m_1 and v_1 from m_0 = v_0 = 0", sp.Tuple(m1, v1)),
                  Step("bias-corrected, t = 1", sp.Tuple(m_hat, v_hat)),
                  Step("step eta m_hat/(sqrt(v_hat) + eps)", step))


@cache
def derive_adam_first_step() -> Derivation:
    """Adam's first step is eta g/(|g| + eps): about eta per coordinate; eps -> 0 gives eta sign(g)."""
    step, steps = _adam_first_step(g)
    limit = sp.limit(step, eps, 0).rewrite(sp.sign)
    return Derivation(limit, (*steps, Step("eps -> 0, g/|g| = sign(g)", limit)))


@cache
def derive_adamw_first_step() -> Derivation:
    """AdamW minus Adam + L2 after one step (eps -> 0): the decoupled decay -eta lambda theta survives."""
    l2_step, l2_steps = _adam_first_step(g + lam * theta)
    adam_step, _ = _adam_first_step(g)
    adamw = theta - eta * (adam_step / eta + lam * theta)
    adam_l2 = theta - l2_step
    diff = l2_step - adam_step - eta * lam * theta
    if sp.expand(diff - (adamw - adam_l2)) != 0:
        raise ArithmeticError("AdamW minus Adam + L2 was regrouped wrongly")
    point = {g: 1, theta: 1, lam: sp.Rational(1, 10), eta: sp.Rational(1, 1000), eps: sp.Rational(1, 10**8)}
    witness = diff.subs(point)
    limit = sp.Add(*[sp.limit(term, eps, 0) for term in sp.Add.make_args(diff)]).rewrite(sp.sign)
    return Derivation(limit, (
        Step("Adam + L2: the gradient is g + lambda theta", l2_steps[-1].expr),
        Step("AdamW: theta - eta (m_hat/(sqrt(v_hat) + eps) + lambda theta)", adamw),
        Step("AdamW minus Adam + L2 (theta cancels)", diff),
        Step("a witness that they differ: g = theta = 1, lambda = 1/10, eta = 1/1000, eps = 1e-8", witness),
        Step("eps -> 0, term by term; x/|x| = sign(x)", limit),
    ))


@cache
def derive_adamw_no_decay() -> Derivation:
    """With lambda = 0, AdamW and Adam + L2 are the same update at every step t."""
    m = _unroll(beta1, gv).result
    v = _unroll(beta2, g2v).result.xreplace({g2v[k]: gv[k] ** 2})
    m_l2 = m.xreplace({gv[k]: gv[k] + lam * thv[k]})
    v_l2 = v.xreplace({gv[k]: gv[k] + lam * thv[k]})

    def step(first: sp.Expr, second: sp.Expr) -> sp.Expr:
        return eta * (first / (1 - beta1**t)) / (sp.sqrt(second / (1 - beta2**t)) + eps)

    adamw = thv[t] - eta * (step(m, v) / eta + lam * thv[t])
    adam_l2 = thv[t] - step(m_l2, v_l2)
    diff = adamw - adam_l2
    at_zero = diff.subs(lam, 0)
    return Derivation(at_zero, (
        Step("Adam + L2 moments: gradients g_k + lambda theta_k", sp.Tuple(m_l2, v_l2)),
        Step("AdamW minus Adam + L2 after step t", diff),
        Step("lambda = 0", at_zero),
    ))


ADAM_M = sp.Eq(mv[t], beta1 * mv[t - 1] + (1 - beta1) * gv[t])
ADAM_V = sp.Eq(vv[t], beta2 * vv[t - 1] + (1 - beta2) * g2v[t])
FIRST_STEP = ("t = 1, m_0 = v_0 = 0", "0 < beta_1, beta_2 < 1", "eps -> 0")
ANY_GRAD = {"g": (-3.0, 3.0), "eta": (0.001, 1.0)}

# -- kernels: one step of each optimizer, read off the records' updates ---------------------------------------

m, v, s = sp.Symbol("m", real=True), sp.Symbol("v", real=True), sp.Symbol("s", real=True)
M_HAT_STATED = mv[t] / (1 - beta1**t)
V_HAT_STATED = vv[t] / (1 - beta2**t)

MOMENTUM_VELOCITY = MOMENTUM.rhs.xreplace({vv[t - 1]: v, gv[t]: g})
MOMENTUM_UPDATE = theta - eta * MOMENTUM_VELOCITY
RMSPROP_S = RMSPROP.rhs.xreplace({sv[t - 1]: s})
RMSPROP_UPDATE = theta - eta * g / (sp.sqrt(RMSPROP_S) + eps)
ADAM_M_NEW = ADAM_M.rhs.xreplace({mv[t - 1]: m, gv[t]: g})
ADAM_V_NEW = ADAM_V.rhs.xreplace({vv[t - 1]: v, g2v[t]: g**2})
ADAM_DIRECTION = (M_HAT_STATED.xreplace({mv[t]: ADAM_M_NEW})
                  / (sp.sqrt(V_HAT_STATED.xreplace({vv[t]: ADAM_V_NEW})) + eps))
ADAM_UPDATE = theta - eta * ADAM_DIRECTION
ADAMW_UPDATE = theta - eta * (ADAM_DIRECTION + lam * theta)
STABLE_DIVISORS = {1 - b**t: -expm1(t * sp.log(b)) for b in (beta1, beta2)}
STABLE = "1 - beta^t = -expm1(t log beta), accurate in float32 for beta near 1"


def stable(update: sp.Expr) -> sp.Expr:
    """``update`` with each bias divisor 1 - beta^t written -expm1(t log beta); fails if there is none."""
    out = update.xreplace(STABLE_DIVISORS)
    if out == update:
        raise ArithmeticError(f"no bias divisor 1 - beta^t found in {update}")
    return out


@cache
def derive_adam_efficient() -> Derivation:
    """Adam's step with the corrections folded into the rate and epsilon (Kingma and Ba 2015, Section 2)."""
    c1, c2 = sp.Symbol("c_1", positive=True), sp.Symbol("c_2", positive=True)
    m_t, v_t = sp.Symbol("m_t", real=True), sp.Symbol("v_t", positive=True)
    named = ADAM_UPDATE.xreplace({ADAM_M_NEW: m_t, ADAM_V_NEW: v_t, 1 - beta1**t: c1, 1 - beta2**t: c2})
    split = named.xreplace({sp.sqrt(v_t / c2): sp.sqrt(v_t) / sp.sqrt(c2)})
    step = sp.factor(sp.together(theta - split))
    folded = theta - step
    back = folded.xreplace({m_t: ADAM_M_NEW, v_t: ADAM_V_NEW, c1: 1 - beta1**t, c2: 1 - beta2**t})
    return Derivation(back, (
        Step("one step of the notes' Adam from the state (theta, m, v) and the gradient g", ADAM_UPDATE),
        Step("name m_t, v_t >= 0 and the divisors c_1 = 1 - beta_1^t, c_2 = 1 - beta_2^t (> 0)", named),
        Step("sqrt(v_t/c_2) = sqrt(v_t)/sqrt(c_2) for v_t >= 0, c_2 > 0", split),
        Step("common denominator: rate eta sqrt(c_2)/c_1, epsilon scaled by sqrt(c_2)", folded),
        Step("back-substitute m_t, v_t, c_1, c_2", back),
    ))


def _adam_efficient_stated() -> sp.Expr:
    """The paper's form: alpha_t = eta sqrt(1 - beta_2^t)/(1 - beta_1^t), eps_hat = eps sqrt(1 - beta_2^t)."""
    rate = eta * sp.sqrt(1 - beta2**t) / (1 - beta1**t)
    return theta - rate * ADAM_M_NEW / (sp.sqrt(ADAM_V_NEW) + eps * sp.sqrt(1 - beta2**t))


@cache
def derive_adamw_decay_first() -> Derivation:
    """AdamW's update theta - eta (direction + lambda theta) regrouped as a shrink of theta, then the Adam step."""
    d = sp.Symbol("d", real=True)
    grouped = ADAMW_UPDATE.xreplace({ADAM_DIRECTION: d})
    collected = sp.collect(sp.expand(grouped), theta)
    back = collected.xreplace({d: ADAM_DIRECTION})
    return Derivation(back, (
        Step("AdamW: the Adam direction plus the decoupled decay lambda theta, both scaled by eta", ADAMW_UPDATE),
        Step("name the Adam direction d = m_hat/(sqrt(v_hat) + eps)", grouped),
        Step("expand and collect theta", collected),
        Step("back-substitute d", back),
    ))


STATE = {"theta": (-3.0, 3.0), "m": (-3.0, 3.0), "v": (0.0, 3.0), "s": (0.0, 3.0), "g": (-3.0, 3.0)}
HYPER = {"eta": (1e-4, 0.5), "beta": (0.05, 0.999), "beta_1": (0.05, 0.999), "beta_2": (0.05, 0.9999),
         "epsilon": (1e-8, 0.2), "lambda": (1e-4, 0.5), "t": (1, 1000)}
KERNELS = {**STATE, **HYPER}
ADAM_RECORD = {**STATE, **HYPER, "t": (1, 6), "epsilon": (1e-3, 0.1)}
ADAM_ARGS = (theta, m, v, g, t, eta, beta1, beta2, eps)
#: The Adam step's arguments that take one value per call (the NumPy kernel hoists what depends only on them).
ADAM_SCALARS = ("t", "eta", "beta_1", "beta_2", "epsilon")

# The kernel benchmark: one optimiser step per parameter entry (the scalars are the usual defaults).
THETA_BENCH, G_BENCH = Sample("uniform", (-3.0, 3.0)), Sample("uniform", (-3.0, 3.0))
M_BENCH, SQ_BENCH = Sample("uniform", (-3.0, 3.0)), Sample("uniform", (0.0, 3.0))   # first moments, squares
ADAM_BENCH = (THETA_BENCH, M_BENCH, SQ_BENCH, G_BENCH, Sample("scalar", (10,)), Sample("scalar", (1e-3,)),
              Sample("scalar", (0.9,)), Sample("scalar", (0.999,)), Sample("scalar", (1e-8,)))
RMSPROP_BENCH = (THETA_BENCH, SQ_BENCH, G_BENCH, Sample("scalar", (1e-3,)), Sample("scalar", (0.9,)),
                 Sample("scalar", (1e-8,)))
RMSPROP_STEP_NUMPY = """
def rmsprop_step(theta, s, g, eta, beta, eps):
    s = beta * s + (1 - beta) * g**2
    return theta - eta * g / (np.sqrt(s) + eps)
"""
ADAM_STEP_NUMPY = """
def adam_step(theta, m, v, g, t, eta, beta_1, beta_2, eps):
    m = beta_1 * m + (1 - beta_1) * g
    v = beta_2 * v + (1 - beta_2) * g**2
    m_hat, v_hat = m / (1 - beta_1**t), v / (1 - beta_2**t)
    return theta - eta * m_hat / (np.sqrt(v_hat) + eps)
"""
ADAMW_STEP_NUMPY = """
def adamw_step(theta, m, v, g, t, eta, beta_1, beta_2, eps, lam):
    m = beta_1 * m + (1 - beta_1) * g
    v = beta_2 * v + (1 - beta_2) * g**2
    m_hat, v_hat = m / (1 - beta_1**t), v / (1 - beta_2**t)
    return theta - eta * (m_hat / (np.sqrt(v_hat) + eps) + lam * theta)
"""


FORMULAS: tuple[Formula, ...] = (
    Formula(
        key="momentum_unrolled", section="1.6",
        title="Momentum unrolled: an average of past gradients (beyond the notes)",
        assumptions=("v_0 = 0", "0 < beta < 1", "t >= 1 steps, symbolic", "g_k: the gradient at step k"),
        definition=MOMENTUM, derive=derive_momentum_unrolled,
        stated=(1 - beta) * sp.Sum(beta ** (t - k) * gv[k], (k, 1, t)), locator=None,
        variables=(gv, beta, t), domain={**STEPS, "g": (-3.0, 3.0)},
        kernels=(
            Kernel("momentum_velocity", (v, g, beta), MOMENTUM_VELOCITY, {**KERNELS, "v": (-3.0, 3.0)},
                   scalars=("beta",),
                   bench=Bench((M_BENCH, G_BENCH, Sample("scalar", (0.9,))),
                               "lambda v, g, beta: beta * v + (1 - beta) * g")),
            Kernel("momentum_step", (theta, v, g, eta, beta), MOMENTUM_UPDATE, {**KERNELS, "v": (-3.0, 3.0)},
                   scalars=("eta", "beta"),
                   bench=Bench((THETA_BENCH, M_BENCH, G_BENCH, Sample("scalar", (0.1,)), Sample("scalar", (0.9,))),
                               "lambda theta, v, g, eta, beta: theta - eta * (beta * v + (1 - beta) * g)")),
        ),
        comment="Beyond the notes: the textbook unrolled moving average of the notes' momentum recurrence.",
    ),
    Formula(
        key="momentum_constant_gradient", section="1.6", title="Momentum for a constant gradient (beyond the notes)",
        assumptions=("v_0 = 0", "0 < beta < 1", "t >= 1, symbolic", "g_k = g for every k"),
        definition=MOMENTUM.subs(gv[t], g), derive=derive_momentum_constant, stated=(1 - beta**t) * g,
        locator=None, variables=(g, beta, t), domain={**STEPS, "g": (-3.0, 3.0)},
        comment=("v_t -> g: with the notes' (1 - beta) factor the steady step along a consistent direction is "
                 "eta g, the plain SGD step, reached from below; momentum 'accelerates consistent directions' only "
                 "relative to oscillating ones (momentum_alternating_gradient), or in the heavy-ball form "
                 "v = beta v + g, whose steady state is g/(1 - beta)."),
    ),
    Formula(
        key="momentum_alternating_gradient", section="1.6",
        title="Momentum damps a gradient that flips sign every step (beyond the notes)",
        assumptions=("v_0 = 0", "0 < beta < 1", "t >= 1, symbolic", "g_k = (-1)^k g"),
        definition=MOMENTUM.subs(gv[t], (-1) ** t * g), derive=derive_momentum_alternating,
        stated=(-1) ** t * (1 - beta) * (1 - (-beta) ** t) * g / (1 + beta), locator=None,
        variables=(g, beta, t), domain={**STEPS, "g": (-3.0, 3.0)},
        comment=("Makes the notes' 'dampens oscillation' precise: the steady amplitude is g (1 - beta)/(1 + beta), "
                 "g/19 at beta = 0.9, against g for a constant gradient."),
    ),
    Formula(
        key="rmsprop_constant_gradient", section="1.6",
        title="RMSProp's late step for a constant gradient is eta sign(g) (beyond the notes)",
        assumptions=("s_0 = 0", "0 < beta < 1", "constant gradient g != 0", "t -> oo, then eps -> 0"),
        definition=RMSPROP,
        derive=derive_rmsprop_constant, stated=eta * sp.sign(g), locator=None, variables=(g, eta),
        domain=ANY_GRAD, regions=(GRAD_POSITIVE, GRAD_NEGATIVE),
        kernels=(
            Kernel("rmsprop_accumulator", (s, g, beta), RMSPROP_S, KERNELS, scalars=("beta",),
                   bench=Bench((SQ_BENCH, G_BENCH, Sample("scalar", (0.9,))),
                               "lambda s, g, beta: beta * s + (1 - beta) * g**2")),
            Kernel("rmsprop_step", (theta, s, g, eta, beta, eps), RMSPROP_UPDATE, KERNELS,
                   scalars=("eta", "beta", "epsilon"),
                   bench=Bench(RMSPROP_BENCH, RMSPROP_STEP_NUMPY)),
        ),
        comment="The step no longer depends on the gradient's scale: the 'adaptive per-parameter learning rate'.",
    ),
    Formula(
        key="adam_m_expectation", section="1.6", title="Adam's first moment is biased toward zero",
        assumptions=("m_0 = 0", "0 < beta_1 < 1", "t >= 1, symbolic", "stationary gradient: E[g_k] = E[g]",
                     "E[g] != 0 for the bias toward zero"),
        definition=ADAM_M, derive=derive_adam_m_expectation, stated=(1 - beta1**t) * mean_g, locator=BIAS_M,
        notation={r"\bar{m}_{\infty}": mean_g},
        regions=(Region("E[g] > 0", {}, {"\\mathbb{E}[g]": (0.05, 3.0)}),
                 Region("E[g] < 0", {}, {"\\mathbb{E}[g]": (-3.0, -0.05)})),
        variables=(beta1, t, mean_g), domain={**STEPS, "\\mathbb{E}[g]": (-3.0, 3.0)},
        kernels=(Kernel("adam_m", (m, g, beta1), ADAM_M_NEW, KERNELS, scalars=("beta_1",),
                        bench=Bench((M_BENCH, G_BENCH, Sample("scalar", (0.9,))),
                                    "lambda m, g, b1: b1 * m + (1 - b1) * g")),),
        comment="The notes' 'biased toward zero' made precise: the factor (1 - beta_1^t) < 1.",
    ),
    Formula(
        key="adam_v_expectation", section="1.6", title="Adam's second moment is biased toward zero",
        assumptions=("v_0 = 0", "0 < beta_2 < 1", "t >= 1, symbolic", "stationary: E[g_k^2] = E[g^2]"),
        definition=ADAM_V, derive=derive_adam_v_expectation, stated=(1 - beta2**t) * mean_g2, locator=BIAS_V,
        notation={r"\bar{v}_{\infty}": mean_g2},
        regions=(Region("E[g^2] > 0", {}, {"\\mathbb{E}[g^{2}]": (0.05, 3.0)}),),
        variables=(beta2, t, mean_g2), domain={**STEPS, "\\mathbb{E}[g^{2}]": (0.0, 3.0)},
        kernels=(Kernel("adam_v", (v, g, beta2), ADAM_V_NEW, KERNELS, scalars=("beta_2",),
                        bench=Bench((SQ_BENCH, G_BENCH, Sample("scalar", (0.999,))),
                                    "lambda v, g, b2: b2 * v + (1 - b2) * g**2")),),
    ),
    Formula(
        key="adam_bias_divisor", section="1.6", title="Dividing by 1 - beta^t removes the bias",
        assumptions=("e_0 = 0", "0 < beta < 1", "t >= 1, symbolic", "stationary gradient, E[g] != 0"),
        definition=sp.Eq(sp.Symbol("E[e_t / d]"), mean_g), derive=derive_bias_divisor, stated=1 - beta**t,
        locator=DIVISOR_LOC, variables=(beta, t), domain=STEPS,
    ),
    Formula(
        key="adam_m_hat", section="1.6", title="Adam's bias-corrected first moment",
        assumptions=("as adam_m_expectation", "E[g] != 0"), definition=ADAM_M, derive=derive_adam_m_hat,
        stated=mv[t] / (1 - beta1**t), locator=M_HAT_LOC, variables=(mv, beta1, t),
        domain={**STEPS, "\\mathbf{m}": (-3.0, 3.0)},
        comment="Derived as the only constant factor that makes E[m_hat_t] = E[g].",
    ),
    Formula(
        key="adam_v_hat", section="1.6", title="Adam's bias-corrected second moment",
        assumptions=("as adam_v_expectation", "E[g^2] > 0"), definition=ADAM_V, derive=derive_adam_v_hat,
        stated=vv[t] / (1 - beta2**t), locator=V_HAT_LOC, variables=(vv, beta2, t),
        domain={**STEPS, "\\mathbf{v}": (0.0, 3.0)},
        comment="Derived as the only constant factor that makes E[v_hat_t] = E[g^2].",
    ),
    Formula(
        key="adam_efficient_form", section="1.6",
        title="Adam's step with the bias corrections folded into the rate and epsilon (beyond the notes)",
        assumptions=("one step from the state theta, m = m_{t-1}, v = v_{t-1} >= 0 and the gradient g",
                     "0 < beta_1, beta_2 < 1", "t >= 1"),
        definition=ADAM_UPDATE, derive=derive_adam_efficient, stated=_adam_efficient_stated(), locator=None,
        variables=ADAM_ARGS, domain=ADAM_RECORD,
        kernels=(Kernel("adam_step", ADAM_ARGS, stable(ADAM_UPDATE), KERNELS, rewrite=STABLE,
                          scalars=ADAM_SCALARS, bench=Bench(ADAM_BENCH, ADAM_STEP_NUMPY)),),
        comment=("Kingma and Ba (2015), Section 2: alpha_t = eta sqrt(1 - beta_2^t)/(1 - beta_1^t) and "
                 "eps_hat = eps sqrt(1 - beta_2^t) give the same step as the notes' m_hat/(sqrt(v_hat) + eps); "
                 "the definition composes the notes' four displays into one step."),
    ),
    Formula(
        key="adam_first_step", section="1.6",
        title="Adam's first step moves each coordinate by about eta (beyond the notes)",
        assumptions=(*FIRST_STEP, "g real, g != 0"),
        definition=theta - eta * mv[1] / (1 - beta1) / (sp.sqrt(vv[1] / (1 - beta2)) + eps),
        derive=derive_adam_first_step, stated=eta * sp.sign(g), locator=None, variables=(g, eta),
        domain={**ANY_GRAD, "beta_1": RATE, "beta_2": RATE}, regions=(GRAD_POSITIVE, GRAD_NEGATIVE),
        comment="Before the limit the step is eta g/(|g| + eps), whatever beta_1 and beta_2.",
    ),
    Formula(
        key="adamw_first_step", section="1.6", title="AdamW against Adam + L2 after one step (beyond the notes)",
        assumptions=(*FIRST_STEP, "lambda > 0", "g and theta of the same sign (the decay does not flip the gradient)"),
        definition=sp.Symbol("AdamW(theta) - Adam(theta; g + lambda theta)"), derive=derive_adamw_first_step,
        stated=-eta * lam * theta, locator=None, variables=(g, theta, lam, eta),
        domain={**ANY_GRAD, "theta": (-3.0, 3.0), "lambda": (0.001, 0.5)},
        regions=(Region("g > 0, theta > 0", {g: p, theta: q}, {"p": (0.05, 3.0), "q": (0.05, 3.0)}),
                 Region("g < 0, theta < 0", {g: -p, theta: -q}, {"p": (0.05, 3.0), "q": (0.05, 3.0)})),
        comment=("The notes' 'AdamW decouples weight decay' made concrete: Adam + L2 feeds lambda theta through the "
                 "normalisation, which cancels it at step 1 (the step is eta sign(g + lambda theta)); AdamW applies "
                 "the decay eta lambda theta in full."),
    ),
    Formula(
        key="adamw_no_decay", section="1.6", title="AdamW and Adam + L2 coincide when lambda = 0 (beyond the notes)",
        assumptions=("any step t >= 1, symbolic", "m_0 = v_0 = 0", "g_k, theta_k: gradient and parameter at step k"),
        definition=sp.Symbol("AdamW(theta) - Adam(theta; g + lambda theta)"), derive=derive_adamw_no_decay,
        stated=sp.Integer(0), locator=None, variables=(gv, thv),
        domain={**STEPS, "g": (-3.0, 3.0), "theta": (-3.0, 3.0), "eta": (0.001, 1.0), "epsilon": (1e-3, 0.1)},
    ),
    Formula(
        key="adamw_decay_first", section="1.6",
        title="AdamW's update is a shrink of theta by 1 - eta lambda followed by the Adam step (beyond the notes)",
        assumptions=("one step from the state theta, m, v >= 0 and the gradient g", "decay scaled by eta, as in "
                     "adamw_first_step and PyTorch's AdamW"),
        definition=ADAMW_UPDATE, derive=derive_adamw_decay_first,
        stated=(1 - eta * lam) * theta - eta * ADAM_DIRECTION, locator=None, variables=(*ADAM_ARGS, lam),
        domain=ADAM_RECORD,
        kernels=(Kernel("adamw_step", (*ADAM_ARGS, lam), stable(ADAMW_UPDATE), KERNELS,
                        rewrite=f"decoupled decay eta lambda theta; {STABLE}",
                        scalars=(*ADAM_SCALARS, "lambda"),
                        bench=Bench((*ADAM_BENCH, Sample("scalar", (0.01,))), ADAMW_STEP_NUMPY)),),
        comment="The order frameworks implement: decay the weights first, then apply the unchanged Adam step.",
    ),
)

DEFAULT_B1, DEFAULT_B2 = sp.Rational(9, 10), sp.Rational(999, 1000)
B1_HAND, B2_HAND = sp.Symbol("beta_1"), sp.Symbol("beta_2")  # the decay rates as the example's formulas name them

EXAMPLES: tuple[Example, ...] = (
    Example(
        key="adam_defaults", section="1.6", title="What Adam's default decay rates imply early on (beyond the notes)",
        inputs={"beta_1": DEFAULT_B1, "beta_2": DEFAULT_B2, "epsilon": sp.Rational(1, 10**8)},
        quantities=(
            Quantity("bias divisor of m at t = 1", "1-\\beta_1", 1 - DEFAULT_B1, None, None, formula=1 - B1_HAND),
            Quantity("bias divisor of v at t = 1", "1-\\beta_2", 1 - DEFAULT_B2, None, None, formula=1 - B2_HAND),
            Quantity("averaging horizon of m (steps)", "\\frac{1}{1-\\beta_1}", 1 / (1 - DEFAULT_B1), None, None,
                     formula=1 / (1 - B1_HAND)),
            Quantity("averaging horizon of v (steps)", "\\frac{1}{1-\\beta_2}", 1 / (1 - DEFAULT_B2), None, None,
                     formula=1 / (1 - B2_HAND)),
        ),
        symbols={B1_HAND: DEFAULT_B1, B2_HAND: DEFAULT_B2},
    ),
)


# -- definitions the notes write (checked by the audit, not proven) ------------------------------------------

OPT = {"t": (2, 6), "beta": RATE, "beta_1": RATE, "beta_2": RATE, "eta": (0.01, 0.5), "epsilon": (1e-3, 0.1),
       "theta": (-2.0, 2.0), "\\mathbf{v}": (0.05, 2.0), "\\mathbf{s}": (0.05, 2.0), "\\mathbf{m}": (-2.0, 2.0),
       "g": (-2.0, 2.0), "\\hat{\\mathbf{m}}": (-2.0, 2.0), "\\hat{\\mathbf{v}}": (0.05, 2.0)}
m_hat, v_hat = sp.IndexedBase("\\hat{\\mathbf{m}}"), sp.IndexedBase("\\hat{\\mathbf{v}}")
ADAM_THETA = theta - eta * m_hat[t] / (sp.sqrt(v_hat[t]) + eps)
GRADIENT = {"\\nabla L": gv[t]}  # how the notes write the gradient g_t (the records' ``notation``)

DEFINITIONS: tuple[Definition, ...] = (
    Definition("momentum_velocity", "1.6", "The momentum velocity", MOMENTUM.rhs,
               about("1.6", r"\mathbf{v}_t"), OPT,
               "the recursion the momentum derivations unroll", notation=GRADIENT),
    Definition("momentum_step", "1.6", "The momentum step", theta - eta * vv[t],
               about("1.6", r"\theta"), OPT),
    Definition("rmsprop_average", "1.6", "The RMSProp running average", beta * sv[t - 1] + (1 - beta) * gv[t] ** 2,
               about("1.6", r"\mathbf{s}_t"), OPT,
               "the recursion rmsprop_constant_gradient solves", notation=GRADIENT),
    Definition("rmsprop_step", "1.6", "The RMSProp step", theta - eta / (sp.sqrt(sv[t]) + eps) * gv[t],
               about("1.6", r"\theta"), OPT,
               notation=GRADIENT),
    Definition("adam_first_moment", "1.6", "Adam's first moment", ADAM_M.rhs,
               about("1.6", r"\mathbf{m}_t"), OPT, "the recursion adam_m_expectation unrolls",
               notation=GRADIENT),
    Definition("adam_second_moment", "1.6", "Adam's second moment", ADAM_V.rhs.subs(g2v[t], gv[t] ** 2),
               about("1.6", r"\mathbf{v}_t"), OPT,
               "the recursion adam_v_expectation unrolls, with g^2 the squared gradient", notation=GRADIENT),
    Definition("adam_step", "1.6", "The Adam step", ADAM_THETA,
               about("1.6", r"\theta"), OPT),
    Definition("adam_default_beta1", "1.6", "Adam's default beta_1", sp.Rational(9, 10),
               about("1.6", r"\beta_1", "inline"), {},
               "Kingma and Ba (2015), Algorithm 1"),
    Definition("adam_default_beta2", "1.6", "Adam's default beta_2", sp.Rational(999, 1000),
               about("1.6", r"\beta_2", "inline"), {},
               "Kingma and Ba (2015), Algorithm 1"),
    Definition("adam_default_epsilon", "1.6", "Adam's default epsilon", sp.Rational(1, 10**8),
               about("1.6", r"\epsilon", "inline"), {},
               "Kingma and Ba (2015), Algorithm 1"),
)
