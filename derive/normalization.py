"""Section 1.9: batch and layer normalisation, forward properties and backward passes, for symbolic sizes.

Everything is written with sums over a symbolic batch size B (or feature count H). SymPy's own
``Sum.doit`` cannot sum out the Kronecker deltas that differentiating under nested sums produces,
so ``expand_sums`` does the two linear rules (sum out a delta; split a sum over its terms and pull
out the factors that do not depend on its index) and renames every summation index to ``j``.
The backward passes then reach the compact form frameworks use, symbolically in B and H.

The kernels work over the last axis, read off the records by ``derive.arrays.vectorize``: layer
norm normalises the features of each row; batch norm's kernels take the batch as the last axis
(one row per feature, x of shape (..., features, B): pass the transpose of a (B, features) batch),
so both use RSum/Count. They centre with a shift, x - mu = (x - m) - mean(x - m) with m = max x,
so a near-constant row is centred without cancelling large terms. Each backward pass is the
derivative of the loss linear in the output, sum_k g_k y_k, as in the derivations above.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import sympy as sp

from derive.arrays import Count, RMax, RSum, vectorize
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
)

B = sp.Symbol("B", integer=True, positive=True)
H = sp.Symbol("H", integer=True, positive=True)
i, k, r = sp.symbols("i k r", integer=True, positive=True)
J = sp.Symbol("j", integer=True, positive=True)  # the index every sum is renamed to
xv, gv, xh = sp.IndexedBase("x"), sp.IndexedBase("g"), sp.IndexedBase("\\hat{x}")
gamma_v, beta_v = sp.IndexedBase("gamma"), sp.IndexedBase("beta")
gamma, beta = sp.Symbol("gamma", real=True), sp.Symbol("beta", real=True)
eps = sp.Symbol("epsilon", positive=True)
mu = sp.Symbol("mu", real=True)
sigma2 = sp.Symbol("\\sigma^{2}", positive=True)
STD = sp.sqrt(sigma2 + eps)

ENTRIES = {"x": (-3.0, 3.0), "g": (-3.0, 3.0), "\\hat{x}": (-2.0, 2.0), "gamma": (-3.0, 3.0), "beta": (-3.0, 3.0)}
SCALARS = {"epsilon": (0.001, 0.5), "\\sigma^{2}": (0.05, 3.0), "mu": (-3.0, 3.0), "i": (1, 2)}
BATCH = {**ENTRIES, **SCALARS, "B": (2, 5)}
LAYER = {**ENTRIES, **SCALARS, "H": (2, 5)}


def _sum_term(term: sp.Expr, idx: sp.Symbol, lo: sp.Expr, hi: sp.Expr) -> sp.Expr:
    """Sum one product over idx: sum out a Kronecker delta, else pull out the factors free of idx."""
    for delta in term.atoms(sp.KroneckerDelta):
        if idx in delta.free_symbols:
            other = delta.args[0] if delta.args[1] == idx else delta.args[1]
            return sp.sympify(term.xreplace({delta: sp.S.One})).subs(idx, other)  # assumes lo <= other <= hi
    inside, outside = [], []
    for factor in sp.Mul.make_args(term):
        (inside if idx in factor.free_symbols else outside).append(factor)
    body = sp.Mul(*inside)
    if body == 1:
        return sp.Mul(*outside) * (hi - lo + 1)
    return sp.Mul(*outside) * sp.Sum(body.xreplace({idx: J}), (J, lo, hi))


def expand_sums(expr: sp.Basic) -> sp.Basic:
    """Write every sum as a polynomial in sums of index-dependent products (indices within bounds)."""
    if isinstance(expr, sp.Sum):
        (idx, lo, hi), = expr.limits
        body = sp.expand(expand_sums(expr.function))
        return sp.Add(*[_sum_term(term, idx, lo, hi) for term in sp.Add.make_args(body)])
    if not expr.args or not expr.has(sp.Sum):
        return expr
    return expr.func(*[expand_sums(arg) for arg in expr.args])


def mean(size: sp.Symbol) -> sp.Expr:
    """mu = (1/size) sum_r x_r."""
    return sp.Sum(xv[r], (r, 1, size)) / size


def variance(size: sp.Symbol) -> sp.Expr:
    """sigma^2 = (1/size) sum_k (x_k - mu)^2, the biased variance."""
    return sp.Sum((xv[k] - mean(size)) ** 2, (k, 1, size)) / size


def normalized(size: sp.Symbol, index: sp.Expr) -> sp.Expr:
    """x_hat_index = (x_index - mu)/sqrt(sigma^2 + eps), with mu and sigma^2 as sums."""
    return (xv[index] - mean(size)) / sp.sqrt(variance(size) + eps)


@cache
def statistics_names(size: sp.Symbol) -> dict[sp.Expr, sp.Expr]:
    """Solve the definitions of mu and sigma^2 for sum_j x_j and sum_j x_j^2."""
    s1, s2 = sp.Sum(xv[J], (J, 1, size)), sp.Sum(xv[J] ** 2, (J, 1, size))
    first = sp.solve(sp.Eq(mu, expand_sums(mean(size))), s1)[0]
    second = sp.solve(sp.Eq(sigma2, expand_sums(variance(size)).subs(s1, first)), s2)[0]
    return {s2: sp.expand(second), s1: first}


def _name_statistics(expr: sp.Expr, size: sp.Symbol) -> sp.Expr:
    """Replace sum_j x_j^2 and sum_j x_j by their values in mu and sigma^2."""
    for s, value in statistics_names(size).items():
        expr = expr.subs(s, value)
    return expr.replace(lambda e: e.is_Pow and not e.exp.is_Integer, lambda e: sp.Pow(sp.expand(e.base), e.exp))


@cache
def _normalized_mean(size: sp.Symbol) -> Derivation:
    """(1/size) sum_i x_hat_i = 0 exactly, for a symbolic size."""
    definition = sp.Sum(normalized(size, i), (i, 1, size)) / size
    expanded = expand_sums(definition)
    return Derivation(expanded, (Step("definition", definition),
                                 Step("split the sums; sum_i mu = size mu cancels sum_i x_i", expanded)))


@cache
def _normalized_variance(size: sp.Symbol) -> Derivation:
    """(1/size) sum_i x_hat_i^2 = sigma^2/(sigma^2 + eps): 1 only in the limit eps -> 0."""
    definition = sp.Sum(normalized(size, i) ** 2, (i, 1, size)) / size
    expanded = expand_sums(definition)
    named = sp.factor(sp.cancel(_name_statistics(expanded, size)))
    limit = sp.limit(named, eps, 0)
    return Derivation(named, (
        Step("definition (the mean of x_hat is 0, so this is its biased variance)", definition),
        Step("split the sums", expanded),
        Step("name the statistics: sum x_j = size mu, sum x_j^2 = size (sigma^2 + mu^2)", named),
        Step("1 only in the limit eps -> 0", limit),
        Step("the variance of x_hat", named),
    ))


@cache
def derive_bn_mean() -> Derivation:
    """Batch norm: the normalised batch has mean exactly 0."""
    return _normalized_mean(B)


@cache
def derive_bn_variance() -> Derivation:
    """Batch norm: the normalised batch has biased variance sigma^2/(sigma^2 + eps)."""
    return _normalized_variance(B)


@cache
def derive_ln_mean() -> Derivation:
    """Layer norm: the normalised features of one example have mean exactly 0."""
    return _normalized_mean(H)


@cache
def derive_ln_variance() -> Derivation:
    """Layer norm: the normalised features have biased variance sigma^2/(sigma^2 + eps)."""
    return _normalized_variance(H)


@cache
def derive_bn_output_mean() -> Derivation:
    """(1/B) sum_i (gamma x_hat_i + beta) = beta: the shift sets the output mean."""
    definition = sp.Sum(gamma * normalized(B, i) + beta, (i, 1, B)) / B
    expanded = expand_sums(definition)
    return Derivation(expanded, (Step("definition", definition), Step("split the sums", expanded)))


@cache
def derive_bn_undo() -> Derivation:
    """gamma = sqrt(sigma^2 + eps), beta = mu turn y_i back into x_i (for the statistics of that batch)."""
    x = sp.Symbol("x_i", real=True)
    y = gamma * (x - mu) / STD + beta
    coefficients = sp.Poly(sp.expand(y - x), x).all_coeffs()
    solved = sp.solve(coefficients, (gamma, beta), dict=True)[0]
    undone = sp.cancel(y.subs(solved))
    return Derivation(undone.subs(x, xv[i]), (
        Step("y_i - x_i, written with mu and sigma^2", y - x),
        Step("y_i = x_i for every x_i: each coefficient in x_i vanishes", sp.Tuple(*coefficients)),
        Step("solve for gamma and beta", sp.Tuple(solved[gamma], solved[beta])),
        Step("y_i with these", undone.subs(x, xv[i])),
    ))


def _backward(size: sp.Symbol, scale: Callable[[sp.Expr], sp.Expr],
              shift: Callable[[sp.Expr], sp.Expr]) -> Derivation:
    """dL/dx_i for y_k = scale(k) x_hat_k + shift(k) and upstream gradients g_k = dL/dy_k."""
    loss = sp.Sum(gv[k] * (scale(k) * normalized(size, k) + shift(k)), (k, 1, size))
    chain = sp.diff(loss, xv[i])
    expanded = expand_sums(chain)
    named = sp.Add(*[sp.factor(term) for term in sp.Add.make_args(_name_statistics(expanded, size))])
    standard = named.replace(lambda e: isinstance(e, sp.Sum),
                             lambda s: s.xreplace({xv[J]: mu + STD * xh[J]}))
    standard = expand_sums(standard.xreplace({xv[i]: mu + STD * xh[i]}))
    compact = sp.factor(sp.cancel(standard))
    return Derivation(compact, (
        Step("dL/dx_i = sum_k g_k dy_k/dx_i, with L linear in y at the point (g_k = dL/dy_k)", loss),
        Step("chain rule through mu and sigma^2 (SymPy)", chain),
        Step("sum out the Kronecker deltas (1 <= i <= size) and split the sums", expanded),
        Step("name the statistics: sum x_j = size mu, sum x_j^2 = size (sigma^2 + mu^2)", named),
        Step("write x_j = mu + sqrt(sigma^2 + eps) x_hat_j", standard),
        Step("common denominator", compact),
    ))


@cache
def derive_bn_backward() -> Derivation:
    """Batch norm's input gradient, symbolic in B, in the compact framework form."""
    return _backward(B, lambda _: gamma, lambda _: beta)


@cache
def derive_ln_backward() -> Derivation:
    """Layer norm's input gradient with per-feature gamma_j, symbolic in H."""
    return _backward(H, lambda idx: gamma_v[idx], lambda idx: beta_v[idx])


@cache
def _param_grad(param: sp.Symbol) -> Derivation:
    """dL/d(param) for batch norm's output y_k = gamma x_hat_k + beta, with g_k = dL/dy_k."""
    loss = sp.Sum(gv[k] * (gamma * xh[k] + beta), (k, 1, B))
    d = expand_sums(sp.diff(loss, param))
    return Derivation(d, (Step("L linear in y at the point (g_k = dL/dy_k)", loss), Step(f"d/d{param}", d)))


S_G = sp.Sum(gv[J], (J, 1, B))
S_GX = sp.Sum(gv[J] * xh[J], (J, 1, B))
S_GG = sp.Sum(gamma_v[J] * gv[J], (J, 1, H))
S_GGX = sp.Sum(gamma_v[J] * gv[J] * xh[J], (J, 1, H))
BN_FORWARD = ("batch of B examples, symbolic", "one feature", "eps > 0", "biased batch variance")
LN_FORWARD = ("H features of one example, symbolic", "eps > 0", "biased variance over the features")
BN_DEFINITION = gamma * normalized(B, i) + beta
LN_DEFINITION = gamma_v[i] * normalized(H, i) + beta_v[i]
BN_BACKWARD_STATED = gamma / (B * STD) * (B * gv[i] - S_G - xh[i] * S_GX)
LN_BACKWARD_STATED = 1 / (H * STD) * (H * gamma_v[i] * gv[i] - S_GG - xh[i] * S_GGX)

# -- kernels over the last axis ---------------------------------------------------------------------------

x, g = sp.Symbol("x", real=True), sp.Symbol("g", real=True)
SHIFTED = sp.UnevaluatedExpr(x - RMax(x))  # kept as one term: computed first, exactly for a near-constant row
CENTRED = SHIFTED - RSum(SHIFTED) / Count(x)  # x - mu, as (x - m) - mean(x - m)
VAR_K = RSum(CENTRED**2) / Count(x)
XHAT_K = CENTRED / sp.sqrt(VAR_K + eps)
SHIFT = "x - mu = (x - m) - mean(x - m), m = max x: no cancellation of large terms"
NORM_KERNEL = {"x": (-3.0, 3.0), "g": (-3.0, 3.0), "gamma": (-3.0, 3.0), "beta": (-3.0, 3.0),
               "epsilon": (1e-3, 0.5)}


def over_last_axis(expr: sp.Expr, size: sp.Symbol) -> sp.Expr:
    """An indexed record expression over the features (or the batch) as a kernel over the last axis of x."""
    entries = {xv: x, gv: g, gamma_v: gamma, beta_v: beta, xh: XHAT_K}
    return vectorize(expr, entries, {size: Count(x), sigma2: VAR_K})


def stable_centring(kernel: sp.Expr) -> sp.Expr:
    """``kernel`` with every x - mu written as the shifted CENTRED."""
    plain = x - RSum(x) / Count(x)
    out = kernel.xreplace({plain: CENTRED})
    if out == kernel:
        raise ArithmeticError(f"no x - mean(x) to rewrite in {kernel}")
    return out


LN_KERNEL = stable_centring(over_last_axis(LN_DEFINITION, H))
BN_KERNEL = stable_centring(over_last_axis(BN_DEFINITION, B))

# In the kernel signatures, layer norm takes x, gamma, beta over the n features; batch norm x over the
# B examples, gamma, beta one per row.
LN_ARGS = (x, g, gamma, beta, eps)

# The kernel benchmark: batch norm with the batch on the last axis (gamma, beta one per row); layer norm
# over the features, with gamma and beta given per entry, so that autodiff's d/dgamma is per example as
# the kernel's is.
X_BENCH, G_BENCH, EPS_BENCH = Sample("uniform", (-3.0, 3.0)), Sample("uniform", (-3.0, 3.0)), Sample("scalar", (1e-5,))
BN_BENCH = (X_BENCH, Sample("per_row", (0.5, 2.0)), Sample("per_row", (-1.0, 1.0)), EPS_BENCH)
LN_BENCH = (X_BENCH, Sample("uniform", (0.5, 2.0)), Sample("uniform", (-1.0, 1.0)), EPS_BENCH)
BN_GRAD_BENCH, LN_GRAD_BENCH = (X_BENCH, G_BENCH, *BN_BENCH[1:]), (X_BENCH, G_BENCH, *LN_BENCH[1:])
LINEAR_LOSS_NUMPY = "lambda x, g, gamma, beta, eps: np.sum(g * norm(x, gamma, beta, eps), axis=-1)"


FORMULAS: tuple[Formula, ...] = (
    Formula(
        key="batchnorm_normalized_mean", section="1.9", title="Batch norm: x_hat has mean 0 (beyond the notes)",
        assumptions=BN_FORWARD, definition=normalized(B, i), derive=derive_bn_mean, stated=sp.Integer(0),
        locator=None, variables=(xv,), domain=BATCH,
    ),
    Formula(
        key="batchnorm_normalized_variance", section="1.9",
        title="Batch norm: x_hat has variance sigma^2/(sigma^2 + eps), 1 only as eps -> 0 (beyond the notes)",
        assumptions=BN_FORWARD, definition=normalized(B, i), derive=derive_bn_variance,
        stated=sigma2 / (sigma2 + eps), locator=None, variables=(xv, eps), domain=BATCH,
        comment="Unit variance only as eps -> 0; for a near-constant batch (sigma^2 << eps) it is far below 1.",
    ),
    Formula(
        key="batchnorm_output_mean", section="1.9",
        title="Batch norm: the output's batch mean is beta (beyond the notes)",
        assumptions=BN_FORWARD, definition=BN_DEFINITION, derive=derive_bn_output_mean, stated=beta,
        locator=None, variables=(xv, gamma, beta), domain=BATCH,
    ),
    Formula(
        key="batchnorm_undo", section="1.9", title="Batch norm: gamma and beta can undo the normalisation",
        assumptions=("gamma = sqrt(sigma^2 + eps), beta = mu for the batch's (or the running) statistics",),
        definition=BN_DEFINITION, derive=derive_bn_undo, stated=xv[i],
        locator=about("1.9", r"\tilde{y}_{i}"),  # "can undo the normalization" (verify.phrases)
        variables=(xv,), domain=BATCH,
        comment="Exact for one set of statistics; a learned gamma, beta can match the running statistics only.",
    ),
    Formula(
        key="batchnorm_backward", section="1.9", title="Batch norm backward: dL/dx_i (beyond the notes)",
        assumptions=(*BN_FORWARD, "g_k = dL/dy_k", "1 <= i <= B"), definition=BN_DEFINITION,
        derive=derive_bn_backward, stated=BN_BACKWARD_STATED,
        locator=None, variables=(xv, gv, gamma), domain=BATCH,
        kernels=(
            Kernel("batch_norm_batch_last", (x, gamma, beta, eps), BN_KERNEL, NORM_KERNEL, shape="vector",
                   rewrite=f"the batch is the last axis (x: features x B, one row per feature); {SHIFT}",
                   signature="(B),(1),(1),(1)->(B)", reference=FormulaReference("batchnorm_backward", "definition"),
                   error_scale="norm_output", bench=Bench(BN_BENCH, "norm")),
            Kernel("batch_norm_batch_last_linear_loss", LN_ARGS, RSum(g * BN_KERNEL), NORM_KERNEL, shape="vector",
                   signature="(B),(B),(1),(1),(1)->()", error_scale="norm_loss",
                   bench=Bench(BN_GRAD_BENCH, LINEAR_LOSS_NUMPY)),
            Kernel("batch_norm_batch_last_backward", LN_ARGS, over_last_axis(BN_BACKWARD_STATED, B), NORM_KERNEL,
                   shape="vector", grad_of="batch_norm_batch_last_linear_loss", grad_wrt="x",
                   rewrite="the batch is the last axis", error_scale="norm_backward",
                   bench=Bench(BN_GRAD_BENCH, "norm_backward")),
        ),
        comment="Beyond the notes: the compact form frameworks use, x_hat_j = (x_j - mu)/sqrt(sigma^2 + eps).",
    ),
    Formula(
        key="batchnorm_grad_gamma", section="1.9", title="Batch norm backward: dL/dgamma (beyond the notes)",
        assumptions=(*BN_FORWARD, "g_k = dL/dy_k"), definition=BN_DEFINITION, derive=lambda: _param_grad(gamma),
        stated=S_GX, locator=None, variables=(gv, xh), domain=BATCH,
        kernels=(Kernel("batch_norm_batch_last_grad_gamma", LN_ARGS, over_last_axis(S_GX, B), NORM_KERNEL,
                        shape="vector", grad_of="batch_norm_batch_last_linear_loss", grad_wrt="gamma",
                        rewrite="the batch is the last axis", error_scale="norm_sum",
                        bench=Bench(BN_GRAD_BENCH, "lambda x, g, gamma, beta, eps: "
                                                   "np.sum(g * normalized(x, eps)[0], axis=-1, keepdims=True)")),),
    ),
    Formula(
        key="batchnorm_grad_beta", section="1.9", title="Batch norm backward: dL/dbeta (beyond the notes)",
        assumptions=(*BN_FORWARD, "g_k = dL/dy_k"), definition=BN_DEFINITION, derive=lambda: _param_grad(beta),
        stated=S_G, locator=None, variables=(gv,), domain=BATCH,
        kernels=(Kernel("batch_norm_batch_last_grad_beta", LN_ARGS, over_last_axis(S_G, B), NORM_KERNEL,
                        shape="vector", grad_of="batch_norm_batch_last_linear_loss", grad_wrt="beta",
                        rewrite="the batch is the last axis", error_scale="norm_sum",
                        bench=Bench(BN_GRAD_BENCH, "lambda x, g, gamma, beta, eps: g.sum(-1, keepdims=True)")),),
    ),
    Formula(
        key="layernorm_normalized_mean", section="1.9", title="Layer norm: the normalised features have mean 0",
        assumptions=LN_FORWARD, definition=normalized(H, i), derive=derive_ln_mean, stated=sp.Integer(0),
        locator=None, variables=(xv,), domain=LAYER,
    ),
    Formula(
        key="layernorm_normalized_variance", section="1.9",
        title="Layer norm: the normalised features have variance sigma^2/(sigma^2 + eps)",
        assumptions=LN_FORWARD, definition=normalized(H, i), derive=derive_ln_variance,
        stated=sigma2 / (sigma2 + eps), locator=None, variables=(xv, eps), domain=LAYER,
    ),
    Formula(
        key="layernorm_backward", section="1.9", title="Layer norm backward: dL/dx_i (beyond the notes)",
        assumptions=(*LN_FORWARD, "per-feature gamma_j, beta_j", "g_k = dL/dy_k", "1 <= i <= H"),
        definition=LN_DEFINITION, derive=derive_ln_backward,
        stated=LN_BACKWARD_STATED,
        locator=None, variables=(xv, gv, gamma_v), domain=LAYER,
        kernels=(
            Kernel("layer_norm", (x, gamma, beta, eps), LN_KERNEL, NORM_KERNEL, shape="vector",
                   rewrite=f"mean and biased variance over the last axis (the features); {SHIFT}",
                   signature="(n),(n),(n),(1)->(n)", reference=FormulaReference("layernorm_backward", "definition"),
                   error_scale="norm_output", bench=Bench(LN_BENCH, "norm")),
            Kernel("layer_norm_linear_loss", LN_ARGS, RSum(g * LN_KERNEL), NORM_KERNEL, shape="vector",
                   signature="(n),(n),(n),(n),(1)->()", error_scale="norm_loss",
                   bench=Bench(LN_GRAD_BENCH, LINEAR_LOSS_NUMPY)),
            Kernel("layer_norm_backward", LN_ARGS, over_last_axis(LN_BACKWARD_STATED, H), NORM_KERNEL,
                   shape="vector", grad_of="layer_norm_linear_loss", grad_wrt="x", error_scale="norm_backward",
                   bench=Bench(LN_GRAD_BENCH, "norm_backward")),
            Kernel("layer_norm_grad_gamma", LN_ARGS, g * XHAT_K, NORM_KERNEL, shape="vector",
                   grad_of="layer_norm_linear_loss", grad_wrt="gamma", error_scale="norm_gamma",
                   bench=Bench(LN_GRAD_BENCH, "lambda x, g, gamma, beta, eps: g * normalized(x, eps)[0]")),
        ),
        comment="Beyond the notes: batch norm's form with g_j replaced by gamma_j g_j.",
    ),
)


# -- definitions the notes write (checked by the audit, not proven) ------------------------------------------

NORM = {**ENTRIES, **SCALARS, "B": (2, 5), "H": (2, 5), "j": (1, 2)}
_SIGMA = {"sigma": sp.sqrt(sigma2)}  # the notes write sigma^2; the records name the variance sigma^2

DEFINITIONS: tuple[Definition, ...] = (
    Definition("batchnorm_mean", "1.9", "The batch mean", mean(B),
               about("1.9", r"\mu"), NORM, "mean(B), used by every 1.9 record",
               notation={"n": B}),
    Definition("batchnorm_variance", "1.9", "The batch variance", variance(B).subs(mean(B), mu),
               about("1.9", r"\sigma^2"), NORM,
               "variance(B), the biased variance", notation={"n": B, **_SIGMA}),
    Definition("batchnorm_normalized", "1.9", "The batch-normalised input", (xv[i] - mu) / STD,
               about("1.9", r"\hat x_i"), NORM,
               "normalized(B, i)", notation=_SIGMA),
    Definition("batchnorm_output", "1.9", "The batch-norm output", gamma * xh[i] + beta,
               about("1.9", "y_i"), NORM, "BN_DEFINITION"),
    Definition("layernorm_mean", "1.9", "The layer mean", mean(H),
               about("1.9", r"\mu"), NORM, "mean(H)"),
    Definition("layernorm_variance", "1.9", "The layer variance", variance(H).subs(mean(H), mu),
               about("1.9", r"\sigma^2"), NORM,
               "variance(H)", notation={"n": H, **_SIGMA}),
    Definition("layernorm_output", "1.9", "The layer-norm output", gamma_v[i] * (xv[i] - mu) / STD + beta_v[i],
               about("1.9", "y_j"), NORM, "LN_DEFINITION",
               notation=_SIGMA),
)
