"""Section 1.3: MSE, binary and categorical cross-entropy, and their gradients."""

from __future__ import annotations

from collections.abc import Mapping

import sympy as sp
from sympy.codegen.numpy_nodes import logaddexp

from derive.activations import derive_softmax_jacobian
from derive.arrays import Count, RMax, RSum
from derive.core import (
    Bench,
    Definition,
    Derivation,
    Formula,
    FormulaReference,
    Kernel,
    Sample,
    Step,
    about,
    within_bounds,
)
from derive.functions import sigmoid

N, n = sp.symbols("N n", integer=True, positive=True)
sv = sp.IndexedBase("s")
i, j, k, c = sp.symbols("i j k c", integer=True, positive=True)
yh, yv, zv = sp.IndexedBase("\\hat{y}"), sp.IndexedBase("y"), sp.IndexedBase("z")
y = sp.Symbol("y", real=True)
yhat = sp.Symbol("\\hat{y}", positive=True)
z = sp.Symbol("z", real=True)
PROB = {"\\hat{y}": (0.02, 0.98), "y": (0.0, 1.0), "z": (-6.0, 6.0)}

MSE = sp.Sum((yh[i] - yv[i]) ** 2, (i, 1, N)) / N
BCE = -(y * sp.log(yhat) + (1 - y) * sp.log(1 - yhat))

TITLE = "Loss functions"


def derive_mse_grad() -> Derivation:
    """dL/d yhat_j of the mean squared error, for a symbolic number of outputs N."""
    d = sp.diff(MSE, yh[j])
    done = within_bounds(d.doit(), j, N)
    return Derivation(sp.factor(done), (Step("definition", MSE), Step("differentiate under the sum", d),
                                        Step("sum out the Kronecker delta (1 <= j <= N)", sp.factor(done))))


def derive_bce_grad_yhat() -> Derivation:
    """dL/d yhat of binary cross-entropy, term by term."""
    d = sp.diff(BCE, yhat)
    return Derivation(d, (Step("definition", BCE), Step("d log u = du / u", d)))


def derive_yhat_slope() -> Derivation:
    """d yhat/dz for yhat = sigma(z): sigma' from its definition, then written in yhat."""
    from derive.activations import derive_sigmoid_grad

    base = derive_sigmoid_grad()
    in_yhat = base.result.subs(sigmoid(z), yhat)
    return Derivation(in_yhat, (*base.steps, Step("name yhat = sigma(z)", in_yhat)))


def derive_bce_grad_z() -> Derivation:
    """dL/dz of BCE with yhat = sigma(z): chain rule, then cancel."""
    composed = BCE.subs(yhat, sigmoid(z)).replace(sigmoid, lambda a: 1 / (1 + sp.exp(-a)))
    d = sp.diff(composed, z)
    cancelled = sp.cancel(sp.together(d))
    s = sp.Symbol("sigma", positive=True)
    in_sigma = sp.factor(sp.cancel(cancelled.subs(sp.exp(z), s / (1 - s)).subs(sp.exp(-z), (1 - s) / s)))
    return Derivation(in_sigma.subs(s, sigmoid(z)), (
        Step("definition with yhat = 1/(1 + e^{-z})", composed),
        Step("chain rule", d),
        Step("common denominator, cancel", cancelled),
        Step("write e^{z} = sigma/(1 - sigma)", in_sigma.subs(s, sigmoid(z))),
    ))


def derive_ce_onehot() -> Derivation:
    """-sum_k y_k log yhat_k with a one-hot y (y_k = delta_kc) is -log yhat_c."""
    ce = -sp.Sum(yv[k] * sp.log(yh[k]), (k, 1, n))
    onehot = ce.xreplace({yv[k]: sp.KroneckerDelta(k, c)})
    done = within_bounds(onehot.doit(), c, n)
    return Derivation(done, (Step("definition", ce), Step("one-hot label y_k = delta_kc", onehot),
                             Step("sum out the Kronecker delta (1 <= c <= n)", done)))


def _ce_grad_steps(s: sp.IndexedBase) -> tuple[Step, ...]:
    """dL/dz_j of softmax + cross-entropy for symbolic n, the softmax outputs named ``s``, then labels summing to 1."""
    total = sp.Sum(sp.exp(zv[k]), (k, 1, n))
    loss = -sp.Sum(yv[i] * sp.log(sp.exp(zv[i]) / total), (i, 1, n))
    expanded = -sp.Sum(yv[i] * zv[i], (i, 1, n)) + sp.Sum(yv[i], (i, 1, n)) * sp.log(total)
    d = within_bounds(sp.diff(expanded, zv[j]).doit(), j, n)
    named = sp.expand(d).subs(sp.exp(zv[j]), s[j] * total)
    labels = named.subs(sp.Sum(yv[i], (i, 1, n)), 1)
    return (
        Step("definition: L = -sum_i y_i log softmax_i", loss),
        Step("log of a quotient", expanded),
        Step("differentiate, sum out the Kronecker deltas", d),
        Step("write e^{z_j} = s_j sum_k e^{z_k}", named),
        Step("labels sum to 1", labels),
    )


def derive_ce_grad() -> Derivation:
    """dL/dz_j of softmax + cross-entropy for symbolic n, then labels summing to 1 (outputs named yhat)."""
    steps = _ce_grad_steps(yh)
    return Derivation(steps[-1].expr, steps)


def derive_ce_grad_any_labels() -> Derivation:
    """dL/dz_j of softmax + cross-entropy in the outputs s, for labels of any sum: -y_j + s_j sum_i y_i."""
    steps = _ce_grad_steps(sv)[:-1]
    return Derivation(steps[-1].expr, steps)


def derive_ce_grad_in_s() -> Derivation:
    """dL/dz_j of softmax + cross-entropy in the outputs s, labels summing to 1: s_j - y_j."""
    steps = _ce_grad_steps(sv)
    return Derivation(steps[-1].expr, steps)


def _ce_chain(position: int, key: str, title: str, labels_sum_to_one: bool = False,
              notation: Mapping[str, sp.Basic] | None = None) -> Formula:
    """A member of the notes' chain dL/dz_k = ... = ... (``position`` 1 is the first after the left-hand side).

    Each member must equal dL/dz_k: the members before the last for labels of any sum, the last one
    (which uses sum_i y_i = 1) for labels summing to 1. The locator counts the members, never its words.
    ``notation`` is the record's (``Formula.notation``).
    """
    return Formula(
        key=key, section="1.3", title=title,
        assumptions=("n classes, symbolic", "s = softmax(z)", "labels sum to 1" if labels_sum_to_one else "any labels"),
        definition=CE_OF_SOFTMAX, derive=derive_ce_grad_in_s if labels_sum_to_one else derive_ce_grad_any_labels,
        stated=sv[j] - yv[j] if labels_sum_to_one else -yv[j] + sv[j] * sp.Sum(yv[i], (i, 1, n)),
        locator=about("1.3", r"\frac{\partial L}{\partial z_k}", "inline", member=position),
        variables=(sv, yv), domain={"s": (0.01, 0.99), "y": (0.0, 1.0), "n": (1, 5), "j": (1, 1)},
        notation=notation or {},
    )


CE_OF_SOFTMAX = -sp.Sum(yv[i] * sp.log(sp.exp(zv[i]) / sp.Sum(sp.exp(zv[k]), (k, 1, n))), (i, 1, n))
LOG_SOFTMAX = sp.Symbol("z") - RMax(sp.Symbol("z")) - sp.log(RSum(sp.exp(sp.Symbol("z") - RMax(sp.Symbol("z")))))
zs, ys, yhs = sp.Symbol("z"), sp.Symbol("y"), sp.Symbol("\\hat{y}")
SOFTMAX = sp.exp(zs - RMax(zs)) / RSum(sp.exp(zs - RMax(zs)))
VEC = {"z": (-6.0, 6.0), "y": (0.0, 1.0), "\\hat{y}": (-3.0, 3.0)}

# The kernel benchmark's inputs: predictions, logits and labels.
PRED_BENCH, TARGET_BENCH = Sample("uniform", (-3.0, 3.0)), Sample("uniform", (0.0, 1.0))
PROB_BENCH, LABELS_BENCH = Sample("uniform", (0.02, 0.98)), Sample("labels")
Z_BENCH, ONE_HOT_BENCH = Sample("uniform", (-6.0, 6.0)), Sample("one_hot")


FORMULAS: tuple[Formula, ...] = (
    Formula(
        key="mse_grad", section="1.3", title="Gradient of mean squared error",
        assumptions=("N outputs, symbolic", "1 <= j <= N"), definition=MSE, derive=derive_mse_grad,
        stated=2 * (yh[j] - yv[j]) / N,
        locator=about("1.3", r"\frac{\partial L}{\partial \hat{y}_i}"),
        variables=(yh, yv), domain={"\\hat{y}": (-3.0, 3.0), "y": (-3.0, 3.0), "N": (1, 5), "j": (1, 1)},
        kernels=(
            Kernel("mse", (yhs, ys), RSum((yhs - ys) ** 2) / Count(ys), VEC, shape="vector",
                   bench=Bench((PRED_BENCH, TARGET_BENCH), "lambda p, y: np.mean((p - y)**2, axis=-1)")),
            Kernel("mse_grad", (yhs, ys), 2 * (yhs - ys) / Count(ys), VEC, shape="vector",
                   grad_of="mse", grad_wrt="\\hat{y}",
                   bench=Bench((PRED_BENCH, TARGET_BENCH), "lambda p, y: 2 * (p - y) / y.shape[-1]")),
        ),
    ),
    Formula(
        key="bce_grad_yhat", section="1.3", title="Gradient of BCE with respect to the prediction",
        assumptions=("0 < yhat < 1", "y in {0, 1} (any real y for the algebra)"), definition=BCE,
        derive=derive_bce_grad_yhat, stated=-y / yhat + (1 - y) / (1 - yhat),
        locator=about("1.3", r"\frac{\partial L}{\partial \hat y}", "inline"),
        variables=(yhat, y), domain=PROB,
        kernels=(
            Kernel("bce", (yhat, y), BCE, PROB,
                   bench=Bench((PROB_BENCH, LABELS_BENCH), "lambda p, y: -(y * np.log(p) + (1 - y) * np.log(1 - p))")),
            Kernel("bce_grad_yhat", (yhat, y), -y / yhat + (1 - y) / (1 - yhat), PROB,
                   grad_of="bce", grad_wrt="\\hat{y}",
                   bench=Bench((PROB_BENCH, LABELS_BENCH), "lambda p, y: (p - y) / (p * (1 - p))")),
        ),
    ),
    Formula(
        key="bce_grad_logit", section="1.3", title="Gradient of BCE with respect to the logit",
        assumptions=("yhat = sigma(z), z real", "y real"), definition=BCE.subs(yhat, sigmoid(z)),
        derive=derive_bce_grad_z, stated=sigmoid(z) - y,
        locator=about("1.3", r"\frac{\partial L_{\text{BCE}}}{\partial z}"),
        variables=(z, y), domain=PROB,
        notation={r"\hat{y}": sigmoid(z)},  # the notes set yhat = sigma(z) just above the claim
        kernels=(
            Kernel("bce_logits", (z, y), logaddexp(0, z) - y * z, PROB,
                   rewrite="-[y log s + (1-y) log(1-s)] = log(1 + e^z) - y z with s = sigma(z)",
                   bench=Bench((Z_BENCH, LABELS_BENCH), "lambda z, y: np.logaddexp(0, z) - y * z")),
            Kernel("bce_logits_grad", (z, y), (1 + sp.tanh(z / 2)) / 2 - y, PROB,
                   grad_of="bce_logits", grad_wrt="z",
                   bench=Bench((Z_BENCH, LABELS_BENCH), "lambda z, y: 1 / (1 + np.exp(-z)) - y")),
        ),
    ),
    Formula(
        key="yhat_slope", section="1.3", title="The slope of yhat = sigma(z), in terms of yhat",
        assumptions=("yhat = sigma(z), z real",), definition=sigmoid(z), derive=derive_yhat_slope,
        stated=yhat * (1 - yhat),
        locator=about("1.3", r"\frac{\partial \hat y}{\partial z}", "inline"),
        variables=(yhat,), domain=PROB,
    ),
    Formula(
        key="ce_onehot", section="1.3", title="Cross-entropy of a one-hot label",
        assumptions=("n classes, symbolic", "label c, 1 <= c <= n"),
        definition=-sp.Sum(yv[k] * sp.log(yh[k]), (k, 1, n)), derive=derive_ce_onehot,
        stated=-sp.log(yh[c]), locator=about("1.3", r"L_{\text{CE}}"),
        variables=(yh,), domain={"\\hat{y}": (0.01, 0.99), "n": (1, 5), "c": (1, 1)},
        kernels=(
            Kernel("log_softmax", (zs,), LOG_SOFTMAX, VEC, shape="vector",
                   rewrite="log softmax_i = z_i - m - log sum e^{z_k - m}, m = max z",
                   reference=FormulaReference("softmax_jacobian", "definition", sp.log),
                   bench=Bench((Z_BENCH,), "log_softmax")),
            Kernel("ce_logits", (zs, ys), -RSum(ys * LOG_SOFTMAX), VEC, shape="vector",
                   rewrite="CE(softmax z, y) = -sum y log_softmax(z)",
                   reference=FormulaReference("ce_grad_logits", "definition"),
                   bench=Bench((Z_BENCH, ONE_HOT_BENCH), "lambda z, y: -(y * log_softmax(z)).sum(-1)")),
        ),
    ),
    Formula(
        key="ce_grad_logits", section="1.3", title="Softmax + cross-entropy gradient w.r.t. the logits",
        assumptions=("n classes, symbolic", "labels sum to 1"),
        definition=CE_OF_SOFTMAX, derive=derive_ce_grad, stated=sp.IndexedBase("\\hat{y}")[j] - yv[j],
        locator=about("1.3", r"\frac{\partial L_{\text{CE}}}{\partial z_k}"),
        variables=(zv, yv),
        domain={"s": (0.01, 0.99), "\\hat{y}": (0.01, 0.99), "y": (0.0, 1.0), "n": (1, 5), "j": (1, 1)},
        kernels=(
            Kernel("ce_logits_grad", (zs, ys), SOFTMAX - ys, {"z": (-6.0, 6.0), "y": (0.0, 1.0)}, shape="vector",
                   grad_of="ce_logits", grad_wrt="z", rewrite="valid when the labels sum to 1", simplex=("y",),
                   bench=Bench((Z_BENCH, ONE_HOT_BENCH), "lambda z, y: softmax(z) - y")),
        ),
    ),
    # d s_i / d z_k is the softmax Jacobian derived in section 1.2 (softmax_jacobian), s_i (delta_ik - s_k)
    _ce_chain(1, "ce_chain_rule", "CE gradient: the chain rule through the softmax",
              notation={r"\partial s/\partial z": sp.Lambda((i, j), derive_softmax_jacobian().result)}),
    _ce_chain(2, "ce_chain_jacobian", "CE gradient: the softmax Jacobian inserted"),
    _ce_chain(3, "ce_chain_cancel", "CE gradient: 1/s_i cancels s_i"),
    _ce_chain(4, "ce_chain_sum", "CE gradient: the Kronecker delta summed out"),
    _ce_chain(5, "ce_chain_labels", "CE gradient: labels summing to 1", labels_sum_to_one=True),
)

# -- definitions the notes write (checked by the audit, not proven) ------------------------------------------

DEFINITIONS: tuple[Definition, ...] = (
    Definition("mse_definition", "1.3", "Mean squared error", MSE,
               about("1.3", r"L_{\text{MSE}}"),
               {"\\hat{y}": (-3.0, 3.0), "y": (-3.0, 3.0), "N": (1, 5)}, "MSE, differentiated by mse_grad"),
    Definition("ce_definition", "1.3", "Cross-entropy of a softmax output",
               -sp.Sum(yv[i] * sp.log(sp.IndexedBase("s")[i]), (i, 1, n)),
               about("1.3", "L", "inline"), {"y": (0.0, 1.0), "s": (0.01, 0.99), "n": (1, 5)},
               "the loss ce_grad_logits differentiates, with s = softmax(z)"),
    Definition("bce_definition", "1.3", "Binary cross-entropy", BCE,
               about("1.3", r"L_{\text{BCE}}"), PROB, "BCE, differentiated by bce_grad_*"),
)
