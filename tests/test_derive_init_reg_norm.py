"""Sections 1.7-1.9: initialisation, regularisation and normalisation records are reached from their
definitions; the notes' He argument is checked step by step; wrong forms are refuted; and the
results agree with Monte Carlo, grid searches, finite differences and brute-force SymPy for
concrete sizes (independent references)."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import sympy as sp

from derive import init, normalization, regularization
from derive.core import registry
from derive.normalization import expand_sums
from derive.proof import check_equal, prove

RECORDS = (*init.FORMULAS, *regularization.FORMULAS, *normalization.FORMULAS)
MONTE_CARLO = 200_000


def value(expr: sp.Expr, **names: float) -> float:
    """``expr`` at the given values of its plain symbols, by name."""
    subs = {s: names[s.name] for s in expr.free_symbols if isinstance(s, sp.Symbol) and s.name in names}
    return float(sp.N(expr.xreplace(subs), 30))


@pytest.mark.parametrize("formula", RECORDS, ids=lambda f: f.key)
def test_each_record_proves_or_is_refuted_as_expected(formula):
    verdict = prove(formula).verdict
    assert verdict == "refuted" if formula.expect == "differ" else verdict in {"proven", "agrees"}


@pytest.mark.parametrize("formula", RECORDS, ids=lambda f: f.key)
def test_derivation_ends_at_its_result(formula):
    derivation = formula.derive()
    assert len(derivation.steps) >= 2
    assert derivation.steps[-1].expr == derivation.result


def test_records_sit_in_the_registry_in_section_order():
    sections = [f.section for f in registry().formulas if f.section in {"1.7", "1.8", "1.9"}]
    assert sections == sorted(sections)
    assert len(sections) == len(RECORDS)


# ---------------------------------------------------------------------------------------------
# 1.7 initialisation: the notes' argument, step by step


def test_the_notes_layer_variance_step_is_flagged_and_only_that_step():
    differ = {f.key for f in RECORDS if f.expect == "differ"}
    assert differ == {"init_linear_output_variance", "relu_variance"}
    for key in ("init_linear_output_second_moment", "relu_second_moment", "he_layer_gain", "he_variance"):
        assert prove(registry().formula(key)).verdict in {"proven", "agrees"}


def test_the_notes_layer_variance_holds_for_zero_mean_inputs():
    derived = registry().formula("init_linear_output_variance").derive().result
    assert sp.expand(derived.subs(init.mean_x, 0) - init.n_in * init.var_W * init.var_x) == 0


def test_layer_variance_matches_monte_carlo():
    rng = np.random.default_rng(0)
    fan, var_w, mean, sd = 32, 0.05, 1.5, 0.7
    x = rng.normal(mean, sd, size=(MONTE_CARLO // 20, fan))
    w = rng.normal(0.0, math.sqrt(var_w), size=x.shape)
    z = (w * x).sum(axis=1)
    derived = registry().formula("init_linear_output_variance").derive().result
    expected = value(derived, **{"n_{in}": fan, "\\mathrm{Var}(W)": var_w, "\\mathbb{E}[x]": mean,
                                 "\\mathrm{Var}(x)": sd**2})
    assert z.var() == pytest.approx(expected, rel=0.05)
    assert abs(z.var() - fan * var_w * sd**2) > 0.5 * expected  # the notes' Var(x) is far off here


def test_relu_second_moment_and_variance_match_monte_carlo():
    rng = np.random.default_rng(1)
    s = 1.7
    relu = np.maximum(rng.normal(0.0, s, size=MONTE_CARLO), 0.0)
    second = value(registry().formula("relu_second_moment").derive().result, **{"\\mathrm{Var}(y)": s**2})
    variance = value(registry().formula("relu_variance").derive().result, **{"\\mathrm{Var}(y)": s**2})
    se_second = (relu**2).std() / math.sqrt(MONTE_CARLO)
    assert abs((relu**2).mean() - second) < 5 * se_second
    assert abs(relu.var() - variance) < 5 * se_second
    assert abs(relu.var() - s**2 / 2) > 50 * se_second  # halving the variance is not what happens


def test_relu_second_moment_by_the_direct_integral():
    y = sp.stats.Normal("y", 0, sp.sqrt(init.var_y))
    direct = sp.stats.E(sp.Max(0, y) ** 2)
    assert sp.simplify(direct - registry().formula("relu_second_moment").derive().result) == 0


def deep_relu_second_moment(var_w_times_fan: float, depth: int = 12, width: int = 256) -> float:
    """Mean square of the last pre-activation of a ReLU net with Var(W) = var_w_times_fan / width."""
    rng = np.random.default_rng(2)
    h = rng.normal(size=(512, width))
    for _ in range(depth):
        w = rng.normal(0.0, math.sqrt(var_w_times_fan / width), size=(width, width))
        h = np.maximum(h, 0.0) @ w
    return float((h**2).mean())


def test_he_variance_keeps_the_signal_through_depth_and_half_of_it_does_not():
    he = registry().formula("he_variance").derive().result
    fan_factor = float(he * init.n_in)
    assert 0.5 < deep_relu_second_moment(fan_factor) < 2.0
    assert deep_relu_second_moment(fan_factor / 2) < 0.01  # a gain of 1/2 per layer: 2**-12


def test_wrong_initialisations_are_refuted():
    xavier, he = registry().formula("xavier_variance"), registry().formula("he_variance")
    assert check_equal(xavier.derive().result, 1 / (init.n_in + init.n_out), xavier.domain).verdict == "refuted"
    assert check_equal(he.derive().result, 1 / init.n_in, he.domain).verdict == "refuted"


# ---------------------------------------------------------------------------------------------
# 1.8 regularisation


def test_l2_and_l1_gradients_match_finite_differences():
    rng = np.random.default_rng(3)
    theta, lam, h = rng.normal(size=5), 0.3, 1e-6
    l2 = registry().formula("l2_gradient").derive().result
    l1 = registry().formula("l1_gradient").derive().result
    for j in range(5):
        bump = np.zeros(5)
        bump[j] = h
        fd2 = (lam / 2 * ((theta + bump) ** 2).sum() - lam / 2 * ((theta - bump) ** 2).sum()) / (2 * h)
        fd1 = (lam * np.abs(theta + bump).sum() - lam * np.abs(theta - bump).sum()) / (2 * h)
        at = {regularization.thv[regularization.j]: float(theta[j]), regularization.lam: lam}
        assert float(l2.xreplace(at)) == pytest.approx(fd2, rel=1e-6)
        assert float(l1.xreplace(at)) == pytest.approx(fd1, rel=1e-6)


def test_l1_one_sided_slopes_at_zero():
    lam, h = 0.4, 1e-9
    interval = registry().formula("l1_subgradient_at_zero").derive().result.subs(regularization.lam, lam)
    assert float(interval.end) == pytest.approx((lam * abs(h) - 0) / h)
    assert float(interval.start) == pytest.approx((lam * abs(-h) - 0) / -h)


def grid_minimiser(objective, lo: float = -4.0, hi: float = 4.0, points: int = 800_001) -> float:
    """The grid point minimising ``objective`` on [lo, hi]."""
    grid = np.linspace(lo, hi, points)
    return float(grid[np.argmin(objective(grid))])


@pytest.mark.parametrize("c", [-2.5, -0.4, 0.0, 0.3, 1.1, 3.0])
def test_l1_and_l2_minimisers_match_a_grid_search(c):
    a, lam, step = 1.5, 0.9, 1e-5
    l1 = registry().formula("l1_sparsity").derive().result
    l2 = registry().formula("l2_shrinkage").derive().result
    at = {"a": a, "c": c, "lambda": lam}
    assert value(l1, **at) == pytest.approx(grid_minimiser(lambda t: a / 2 * (t - c) ** 2 + lam * np.abs(t)), abs=step)
    assert value(l2, **at) == pytest.approx(grid_minimiser(lambda t: a / 2 * (t - c) ** 2 + lam / 2 * t**2), abs=step)


def test_l1_zeroes_small_weights_and_l2_does_not():
    l1 = registry().formula("l1_sparsity").derive().result
    l2 = registry().formula("l2_shrinkage").derive().result
    at = {"a": 1.0, "c": 0.5, "lambda": 0.8}
    assert value(l1, **at) == 0.0
    assert 0.0 < value(l2, **at) < 0.5


def test_dropout_moments_match_monte_carlo():
    rng = np.random.default_rng(4)
    p, x = 0.3, 1.7
    y = (rng.random(MONTE_CARLO) >= p) * x / (1 - p)
    mean = value(registry().formula("dropout_mean").derive().result, x=x, p=p)
    var = value(registry().formula("dropout_variance").derive().result, x=x, p=p)
    se = y.std() / math.sqrt(MONTE_CARLO)
    assert abs(y.mean() - mean) < 5 * se
    assert y.var() == pytest.approx(var, rel=0.02)


def test_wrong_dropout_scales_are_refuted():
    f = registry().formula("dropout_scale")
    assert check_equal(f.derive().result, 1 / regularization.p, f.domain).verdict == "refuted"
    assert check_equal(f.derive().result, 1 - regularization.p, f.domain).verdict == "refuted"


# ---------------------------------------------------------------------------------------------
# 1.9 normalisation


def test_expand_sums_agrees_with_explicit_sums_for_concrete_sizes():
    x, i, k, r = normalization.xv, normalization.i, normalization.k, normalization.r
    size = sp.Symbol("N", integer=True, positive=True)
    expr = sp.Sum(sp.KroneckerDelta(i, k) * x[k] ** 2 + (x[k] - sp.Sum(x[r], (r, 1, size)) / size) ** 2, (k, 1, size))
    expanded = expand_sums(expr)
    rng = random.Random(0)
    for n in (1, 2, 5):
        values = {x[q]: sp.Rational(rng.randint(-30, 30), 7) for q in range(1, n + 1)}
        at = {size: n, i: min(2, n)}
        explicit = expr.xreplace(at).doit().xreplace(values)
        mine = expanded.xreplace(at).doit().xreplace(values)
        assert sp.nsimplify(explicit - mine) == 0


def forward(x: np.ndarray, eps: float) -> tuple[np.ndarray, float]:
    """x_hat and the biased variance of a vector, by NumPy."""
    var = float(x.var())
    return (x - x.mean()) / math.sqrt(var + eps), var


@pytest.mark.parametrize("key", ["batchnorm_normalized_variance", "layernorm_normalized_variance"])
def test_normalised_moments_match_numpy(key):
    x, eps = np.random.default_rng(5).normal(2.0, 0.05, size=7), 1e-3  # a narrow batch: eps matters
    x_hat, var = forward(x, eps)
    derived = value(registry().formula(key).derive().result, epsilon=eps, **{"\\sigma^{2}": var})
    assert x_hat.mean() == pytest.approx(0.0, abs=1e-12)
    assert x_hat.var() == pytest.approx(derived, rel=1e-10)
    assert derived < 0.75  # far from 1 for this batch


def concrete(expr: sp.Expr, size_symbol: sp.Symbol, size: int, index: int, xs: list[sp.Rational],
             entries: dict[sp.IndexedBase, list[sp.Rational]], scalars: dict[sp.Symbol, sp.Rational],
             eps: sp.Rational) -> sp.Expr:
    """A record's expression for a concrete size, with x_hat and sigma^2 written out from the x's."""
    n = normalization
    mu = sum(xs) / size
    var = sum((v - mu) ** 2 for v in xs) / size
    subs: dict[sp.Basic, sp.Expr] = {n.sigma2: var, n.eps: eps, n.mu: mu, **scalars}
    for q in range(1, size + 1):
        subs[n.xh[q]] = (xs[q - 1] - mu) / sp.sqrt(var + eps)
        subs[n.xv[q]] = xs[q - 1]
        subs.update({base[q]: values[q - 1] for base, values in entries.items()})
    return expr.xreplace({size_symbol: size, n.i: index}).doit().xreplace(subs)


def brute_force_gradient(size: int, index: int, xs, gs, gammas, eps) -> sp.Expr:
    """d/dx_index of sum_k g_k (gamma_k x_hat_k), differentiating explicit symbols (no sums, no records)."""
    sym = sp.symbols(f"u1:{size + 1}", real=True)
    mu = sum(sym) / size
    var = sum((u - mu) ** 2 for u in sym) / size
    loss = sum(gs[k] * gammas[k] * (sym[k] - mu) / sp.sqrt(var + eps) for k in range(size))
    return sp.diff(loss, sym[index - 1]).xreplace(dict(zip(sym, xs, strict=True)))


@pytest.mark.parametrize("size", [2, 3, 4, 5])
@pytest.mark.parametrize("key", ["batchnorm_backward", "layernorm_backward"])
def test_backward_compact_form_matches_brute_force_for_concrete_sizes(key, size):
    f = registry().formula(key)
    size_symbol = normalization.B if key.startswith("batch") else normalization.H
    rng = random.Random(size)
    for index in range(1, size + 1):
        xs = [sp.Rational(rng.randint(-40, 40), 13) for _ in range(size)]
        gs = [sp.Rational(rng.randint(-40, 40), 11) for _ in range(size)]
        eps = sp.Rational(rng.randint(1, 9), 100)
        if key.startswith("batch"):
            gammas = [sp.Rational(rng.randint(1, 30), 7)] * size
            entries, scalars = {normalization.gv: gs}, {normalization.gamma: gammas[0]}
        else:
            gammas = [sp.Rational(rng.randint(1, 30), 7) for _ in range(size)]
            entries, scalars = {normalization.gv: gs, normalization.gamma_v: gammas}, {}
        truth = brute_force_gradient(size, index, xs, gs, gammas, eps)
        for form in (f.stated, f.derive().result):
            got = concrete(form, size_symbol, size, index, xs, entries, scalars, eps)
            assert abs(sp.N(got - truth, 50)) < 1e-40


def test_batchnorm_backward_matches_numpy_finite_differences():
    rng = np.random.default_rng(6)
    x, g, gamma, beta, eps, h = rng.normal(size=6), rng.normal(size=6), 1.3, 0.2, 1e-2, 1e-6

    def loss(v: np.ndarray) -> float:
        return float((g * (gamma * forward(v, eps)[0] + beta)).sum())

    derived = registry().formula("batchnorm_backward").derive().result
    x_hat, var = forward(x, eps)
    for idx in range(6):
        bump = np.zeros(6)
        bump[idx] = h
        fd = (loss(x + bump) - loss(x - bump)) / (2 * h)
        at = derived.xreplace({normalization.B: 6, normalization.i: idx + 1}).doit()
        subs = {normalization.gamma: gamma, normalization.eps: eps, normalization.sigma2: var}
        subs.update({normalization.gv[q + 1]: float(g[q]) for q in range(6)})
        subs.update({normalization.xh[q + 1]: float(x_hat[q]) for q in range(6)})
        assert float(at.xreplace(subs)) == pytest.approx(fd, rel=1e-6, abs=1e-9)


def test_backward_without_the_x_hat_term_is_refuted():
    f = registry().formula("batchnorm_backward")
    wrong = normalization.gamma / (normalization.B * normalization.STD) * (
        normalization.B * normalization.gv[normalization.i] - normalization.S_G)
    assert check_equal(f.derive().result, wrong, f.domain).verdict == "refuted"


def test_layernorm_backward_with_gamma_outside_the_sums_is_refuted():
    f = registry().formula("layernorm_backward")
    n = normalization
    wrong = n.gamma_v[n.i] / (n.H * n.STD) * (n.H * n.gv[n.i] - sp.Sum(n.gv[n.J], (n.J, 1, n.H))
                                             - n.xh[n.i] * sp.Sum(n.gv[n.J] * n.xh[n.J], (n.J, 1, n.H)))
    assert check_equal(f.derive().result, wrong, f.domain).verdict == "refuted"


def test_undo_parameters_give_back_the_input():
    x = np.random.default_rng(7).normal(size=5)
    eps = 1e-3
    x_hat, var = forward(x, eps)
    assert math.sqrt(var + eps) * x_hat + x.mean() == pytest.approx(x, rel=1e-12)
    assert registry().formula("batchnorm_undo").derive().result == normalization.xv[normalization.i]
