"""Section 1.7: Xavier/Glorot and He initialisation from variance preservation, with sympy.stats.

The moments are computed by sympy.stats for one term of a layer's sum (and one pair of terms, for
the covariance); the sum over a symbolic fan-in then follows by linearity. The notes' own argument
for He is checked step by step: a linear layer passes on the second moment E[x^2], not Var(x),
and what ReLU halves is that second moment; its variance drops to s^2 (1/2 - 1/(2 pi)).
"""

from __future__ import annotations

from functools import cache

import sympy as sp
from sympy import stats

from derive.core import (
    Bench,
    Correction,
    Derivation,
    Formula,
    FormulaReference,
    Kernel,
    Sample,
    Step,
    about,
    stated_as,
)

n_in = sp.Symbol("n_{in}", integer=True, positive=True)
n_out = sp.Symbol("n_{out}", integer=True, positive=True)
i = sp.Symbol("i", integer=True, positive=True)
var_W = sp.Symbol("\\mathrm{Var}(W)", positive=True)
mean_x = sp.Symbol("\\mathbb{E}[x]", real=True)
var_x = sp.Symbol("\\mathrm{Var}(x)", positive=True)
var_y = sp.Symbol("\\mathrm{Var}(y)", positive=True)
second_x = sp.Symbol("\\mathbb{E}[x^{2}]", positive=True)

FANS = {"n_{in}": (1, 512), "n_{out}": (1, 512), "\\mathrm{Var}(W)": (0.001, 2.0)}
FAN_KERNEL = {"n_{in}": (1, 4096), "n_{out}": (1, 4096)}
XAVIER_STATED = 2 / (n_in + n_out)
HE_STATED = 2 / n_in
STD = "the standard deviation sqrt(Var(W)) of the derived variance"
MOMENTS = {"\\mathbb{E}[x]": (0.05, 3.0), "\\mathrm{Var}(x)": (0.05, 3.0), "\\mathrm{Var}(y)": (0.05, 3.0)}
WHY_HE = stated_as("1.7")
XAVIER_LOC = about("1.7", r"\text{Var}(W)", "inline")
HE_LOC = about("1.7", r"\text{Var}(W)", "inline")
#: What ReLU halves, read by verify.phrases.PHRASES: the variance (literally), or the effective variance.
HALVES = about("1.7", r"\text{Var}(\text{ReLU}(y))", "prose")
HALVES_EFFECTIVE = about("1.7", r"\text{EffVar}(\text{ReLU}(y))", "prose")


@cache
def _layer_variance(fan: sp.Symbol, mean: sp.Expr, variance: sp.Expr) -> Derivation:
    """Var(sum_{i=1}^{fan} W_i x_i) for iid W_i ~ N(0, Var W) independent of iid x_i with the given moments."""
    W, x = stats.Normal("W_i", 0, sp.sqrt(var_W)), stats.Normal("x_i", mean, sp.sqrt(variance))
    W2, x2 = stats.Normal("W_j", 0, sp.sqrt(var_W)), stats.Normal("x_j", mean, sp.sqrt(variance))
    term = sp.factor(stats.variance(W * x))
    cross = stats.covariance(W * x, W2 * x2)
    total = sp.factor(sp.Sum(term, (i, 1, fan)).doit() + fan * (fan - 1) * cross)
    return Derivation(total, (
        Step("definition: z = sum_{i=1}^{fan} W_i x_i", sp.Sum(sp.Symbol("W_i") * sp.Symbol("x_i"), (i, 1, fan))),
        Step("sympy.stats: Var(W_i x_i), W_i independent of x_i", term),
        Step("sympy.stats: Cov(W_i x_i, W_j x_j) for i != j (E[W] = 0)", cross),
        Step("Var(z) = sum of the term variances + the covariances", total),
    ))


@cache
def _layer_second_moment() -> Derivation:
    """The layer variance for inputs of any mean, with E[x]^2 + Var(x) named E[x^2] (by sympy.stats)."""
    layer = _layer_variance(n_in, mean_x, var_x)
    second = sp.expand(stats.E(stats.Normal("x", mean_x, sp.sqrt(var_x)) ** 2))
    named = layer.result.subs(second, second_x)
    return Derivation(named, (*layer.steps, Step("sympy.stats: E[x^2] = E[x]^2 + Var(x)", sp.Eq(second_x, second)),
                              Step("name the second moment", named)))


@cache
def _relu_moments() -> tuple[Derivation, Derivation]:
    """E[ReLU(y)] and E[ReLU(y)^2] for y ~ N(0, Var y): ReLU(y)^n is y^n on y > 0 and 0 elsewhere."""
    y = stats.Normal("y", 0, sp.sqrt(var_y))
    positive = stats.P(y > 0)
    moments = []
    for power in (1, 2):
        conditional = stats.E(y**power, y > 0)
        moment = sp.factor(positive * conditional)
        moments.append(Derivation(moment, (
            Step("definition, y ~ N(0, Var y)", sp.Max(0, sp.Symbol("y")) ** power),
            Step("sympy.stats: P(y > 0)", positive),
            Step(f"sympy.stats: E[y^{power} | y > 0], the integral over y > 0", conditional),
            Step("total expectation: ReLU(y) = 0 on y <= 0", moment),
        )))
    return moments[0], moments[1]


@cache
def derive_linear_output() -> Derivation:
    """Var of a pre-activation for inputs of any mean: n_in Var(W) (E[x]^2 + Var(x))."""
    return _layer_variance(n_in, mean_x, var_x)


@cache
def derive_linear_second_moment() -> Derivation:
    """The same, written n_in Var(W) E[x^2]."""
    return _layer_second_moment()


@cache
def derive_relu_second_moment() -> Derivation:
    """E[ReLU(y)^2] = Var(y)/2 for y ~ N(0, Var y): half the mass, the same integrand."""
    return _relu_moments()[1]


@cache
def derive_relu_variance() -> Derivation:
    """Var(ReLU(y)) = E[ReLU^2] - E[ReLU]^2 = Var(y) (1/2 - 1/(2 pi)): ReLU outputs have a nonzero mean."""
    first, second = (d.result for d in _relu_moments())
    var = sp.factor(sp.expand(second - first**2))
    return Derivation(var, (Step("E[ReLU(y)] (sympy.stats, as for the second moment)", first),
                            Step("E[ReLU(y)^2] (relu_second_moment)", second),
                            Step("Var = E[ReLU^2] - E[ReLU]^2", var)))


def _preserve(variance: sp.Expr, target: sp.Expr) -> sp.Expr:
    """Solve variance = target for Var(W)."""
    (solved,) = sp.solve(sp.Eq(variance, target), var_W)
    return solved


@cache
def derive_xavier() -> Derivation:
    """Glorot: forward asks n_in Var(W) = 1, backward n_out Var(W) = 1; the compromise averages the fans."""
    var_d = sp.Symbol("\\mathrm{Var}(\\delta)", positive=True)
    general = _layer_variance(n_in, mean_x, var_x).result
    forward = general.subs(mean_x, 0)
    backward = forward.subs({n_in: n_out, var_x: var_d})
    w_fwd, w_bwd = _preserve(forward, var_x), _preserve(backward, var_d)
    average = sp.Eq((n_in + n_out) / 2 * var_W, 1)
    (compromise,) = sp.solve(average, var_W)
    harmonic = sp.factor(2 / (1 / w_fwd + 1 / w_bwd))
    if sp.cancel(harmonic - compromise) != 0:
        raise ArithmeticError(f"the averaged condition gives {compromise}, the harmonic mean {harmonic}")
    return Derivation(compromise, (
        Step("layer variance (init_linear_output_variance)", general),
        Step("forward, zero-mean inputs (tanh): E[x] = 0", forward),
        Step("preserve Var(z) = Var(x)", sp.Eq(var_W, w_fwd)),
        Step("backward: delta_x = W^T delta_z sums n_out zero-mean terms (the same law)", backward),
        Step("preserve Var(delta_x) = Var(delta_z)", sp.Eq(var_W, w_bwd)),
        Step("compromise: the average of the two conditions", average),
        Step("solve; it is the harmonic mean of 1/n_in and 1/n_out", compromise),
    ))


@cache
def derive_he_gain() -> Derivation:
    """Var(z_l)/Var(z_{l-1}) through ReLU then a linear layer: n_in Var(W)/2."""
    layer = _layer_second_moment().result
    second = _relu_moments()[1].result
    through = layer.subs(second_x, second)
    gain = sp.cancel(through / var_y)
    return Derivation(gain, (
        Step("a linear layer passes on the second moment: Var(z_l) = n_in Var(W) E[x^2]", layer),
        Step("x = ReLU(y), y = z_{l-1} ~ N(0, Var y) (zero-mean W and bias): E[x^2] = Var(y)/2", through),
        Step("gain per layer Var(z_l)/Var(y)", gain),
    ))


@cache
def derive_he() -> Derivation:
    """He: a gain of 1 per layer, n_in Var(W)/2 = 1, gives Var(W) = 2/n_in."""
    gain = derive_he_gain()
    solved = _preserve(gain.result, 1)
    return Derivation(solved, (*gain.steps, Step("ask for gain 1 and solve for Var(W)", solved)))


# The kernel benchmark: initialisation scales, elementwise over layer widths.
FAN_BENCH = Sample("counts", (1, 4096))


FORMULAS: tuple[Formula, ...] = (
    Formula(
        key="init_linear_output_variance", section="1.7",
        title="A linear layer's output variance, as the notes state it (n_in Var(W) Var(x))",
        assumptions=("W_i iid, E[W] = 0, independent of the x_i", "x_i iid with mean E[x] > 0 (ReLU outputs)",
                     "n_in symbolic", "Normal laws for the computation; only the first two moments enter"),
        definition=sp.Sum(sp.Symbol("W_i") * sp.Symbol("x_i"), (i, 1, n_in)), derive=derive_linear_output,
        stated=n_in * var_W * var_x, locator=WHY_HE, variables=(n_in, var_W, mean_x, var_x),
        domain={**FANS, **MOMENTS}, expect="differ",
        comment=("The output variance is n_in Var(W) E[x^2] = n_in Var(W) (Var(x) + E[x]^2). The notes' Var(x) "
                 "is right only for zero-mean inputs (Xavier's tanh setting), not for the ReLU outputs the "
                 "sentence is about; He et al. (2015) write E[x^2] here."),
    ),
    Formula(
        key="init_linear_output_second_moment", section="1.7",
        title="A linear layer's output variance is n_in Var(W) E[x^2] (the corrected step)",
        assumptions=("W_i iid, E[W] = 0, independent of the x_i", "x_i iid with any mean", "n_in symbolic"),
        definition=sp.Sum(sp.Symbol("W_i") * sp.Symbol("x_i"), (i, 1, n_in)), derive=derive_linear_second_moment,
        stated=n_in * var_W * second_x, locator=None, variables=(n_in, var_W, second_x),
        domain={**FANS, **MOMENTS, "\\mathbb{E}[x^{2}]": (0.05, 3.0)},
        comment="Beyond the notes: the form He et al. (2015) use; E[x^2] = Var(x) when E[x] = 0.",
    ),
    Formula(
        key="relu_second_moment", section="1.7", title="ReLU halves the second moment of a symmetric input",
        assumptions=("y ~ N(0, Var y) (any zero-mean symmetric law halves it)",),
        definition=sp.Max(0, sp.Symbol("y")) ** 2,
        derive=derive_relu_second_moment, stated=var_y / 2, locator=HALVES_EFFECTIVE, variables=(var_y,),
        domain=MOMENTS,
        comment="The 'effective variance' that ReLU halves is the second moment E[x^2]: proven.",
    ),
    Formula(
        key="relu_variance", section="1.7", title="ReLU does not halve the variance (the literal reading)",
        assumptions=("y ~ N(0, Var y)",), definition=sp.Max(0, sp.Symbol("y")), derive=derive_relu_variance,
        stated=var_y / 2, locator=HALVES, variables=(var_y,), domain=MOMENTS, expect="differ",
        comment=("Var(ReLU(y)) = Var(y) (1/2 - 1/(2 pi)) ~ 0.341 Var(y), not Var(y)/2: ReLU outputs have mean "
                 "sqrt(Var y / (2 pi)). Read as 'second moment', the sentence is right (relu_second_moment)."),
        correction=Correction("ReLU halves the effective variance",
                              r"ReLU halves the second moment, $\mathbb{E}[x^2] = \text{Var}(y)/2$",
                              "what ReLU halves is the second moment, not the variance."),
    ),
    Formula(
        key="xavier_variance", section="1.7", title="Xavier/Glorot initialisation variance",
        assumptions=("zero-mean inputs and back-propagated gradients (tanh near 0)", "W iid, E[W] = 0",
                     "n_in, n_out symbolic"),
        definition=sp.Eq(sp.Symbol("Var(z)"), sp.Symbol("Var(x)")), derive=derive_xavier,
        stated=XAVIER_STATED, locator=XAVIER_LOC,
        variables=(n_in, n_out), domain=FANS,
        kernels=(Kernel("xavier_std", (n_in, n_out), sp.sqrt(XAVIER_STATED), FAN_KERNEL, rewrite=STD,
                        reference=FormulaReference("xavier_variance", "result", sp.sqrt),
                        bench=Bench((FAN_BENCH, FAN_BENCH), "lambda n_in, n_out: np.sqrt(2 / (n_in + n_out))")),),
    ),
    Formula(
        key="he_layer_gain", section="1.7", title="He's condition: the gain per ReLU layer is n_in Var(W)/2",
        assumptions=("y = z_{l-1} ~ N(0, Var y): zero-mean symmetric W, zero bias", "W iid, independent of x",
                     "n_in symbolic"),
        definition=sp.Symbol("Var(z_l)/Var(z_{l-1})"), derive=derive_he_gain, stated=n_in * var_W / 2,
        locator=stated_as("1.7"), variables=(n_in, var_W),
        domain={**FANS, **MOMENTS},
        comment=("The notes' condition n_in Var(W)/2 = 1 is right although their intermediate step says Var(x) "
                 "where E[x^2] enters. The audit reads the left-hand side of 'n_in Var(W)/2 = 1 => ...'."),
    ),
    Formula(
        key="he_variance", section="1.7", title="He/Kaiming initialisation variance",
        assumptions=("as he_layer_gain", "gain 1 per layer"), definition=sp.Eq(sp.Symbol("Var(z_l)/Var(z_{l-1})"), 1),
        derive=derive_he, stated=HE_STATED, locator=HE_LOC,
        variables=(n_in,), domain=FANS,
        kernels=(Kernel("he_std", (n_in,), sp.sqrt(HE_STATED), FAN_KERNEL, rewrite=STD,
                        reference=FormulaReference("he_variance", "result", sp.sqrt),
                        bench=Bench((FAN_BENCH,), "lambda n_in: np.sqrt(2 / n_in)")),),
    ),
    Formula(
        key="he_variance_solved", section="1.7", title="He's condition n_in Var(W)/2 = 1 solved for Var(W)",
        assumptions=("as he_layer_gain", "gain 1 per layer"), definition=sp.Eq(sp.Symbol("Var(z_l)/Var(z_{l-1})"), 1),
        derive=derive_he, stated=HE_STATED, locator=about("1.7", r"\text{Var}(W)", "inline"),
        variables=(n_in,), domain=FANS,
        comment="The right-hand side of 'n_in Var(W)/2 = 1 => Var(W) = 2/n_in' in the notes' argument for He.",
    ),
)
