"""Section 1.6: every optimizer record is reached from its definition, wrong forms are refuted, and
the closed forms agree with plain NumPy loops of the updates (an independent reference)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

from derive import optimizers as opt
from derive.core import registry
from derive.proof import check_equal, prove

RECORDS = opt.FORMULAS
BETA, BETA1, BETA2, ETA, EPS = 0.9, 0.9, 0.999, 1e-3, 1e-8


def value(expr: sp.Expr, **names: float) -> float:
    """``expr`` at the given values of its symbols, by name (Indexed entries excluded)."""
    subs = {s: names[s.name] for s in expr.free_symbols if isinstance(s, sp.Symbol) and s.name in names}
    return float(sp.N(expr.xreplace(subs), 30))


def adam(grads: list[float], b1: float = BETA1, b2: float = BETA2) -> list[tuple[float, float, float, float]]:
    """(m_t, v_t, m_hat_t, v_hat_t) for t = 1..len(grads), by the update rules, from m_0 = v_0 = 0."""
    m = v = 0.0
    out = []
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        out.append((m, v, m / (1 - b1**t), v / (1 - b2**t)))
    return out


@pytest.mark.parametrize("formula", RECORDS, ids=lambda f: f.key)
def test_each_record_proves_or_is_refuted_as_expected(formula):
    verdict = prove(formula).verdict
    assert verdict == "refuted" if formula.expect == "differ" else verdict in {"proven", "agrees"}


@pytest.mark.parametrize("formula", RECORDS, ids=lambda f: f.key)
def test_derivation_ends_at_its_result(formula):
    derivation = formula.derive()
    assert len(derivation.steps) >= 2
    assert derivation.steps[-1].expr == derivation.result


def test_the_records_are_in_the_registry_in_section_1_6():
    keys = [f.key for f in registry().formulas if f.section == "1.6"]
    assert keys == [f.key for f in RECORDS]


def test_bias_correction_without_the_power_t_is_refuted():
    f = registry().formula("adam_m_hat")
    wrong = opt.mv[opt.t] / (1 - opt.beta1)
    assert check_equal(f.derive().result, wrong, f.domain).verdict == "refuted"


def test_momentum_for_a_constant_gradient_without_the_bias_is_refuted():
    f = registry().formula("momentum_constant_gradient")
    assert check_equal(f.derive().result, opt.g, f.domain).verdict == "refuted"


def test_an_unrolled_momentum_with_the_wrong_power_is_refuted():
    f = registry().formula("momentum_unrolled")
    wrong = (1 - opt.beta) * sp.Sum(opt.beta ** (opt.t - opt.k + 1) * opt.gv[opt.k], (opt.k, 1, opt.t))
    assert check_equal(f.derive().result, wrong, f.domain).verdict == "refuted"


def test_adam_first_step_proportional_to_the_gradient_is_refuted():
    f = registry().formula("adam_first_step")
    assert check_equal(f.derive().result, opt.eta * opt.g, f.domain, f.regions).verdict == "refuted"


def test_adamw_and_adam_l2_are_told_apart():
    f = registry().formula("adamw_first_step")
    assert check_equal(f.derive().result, sp.Integer(0), f.domain, f.regions).verdict == "refuted"


def test_momentum_loop_matches_the_constant_gradient_closed_form():
    closed = registry().formula("momentum_constant_gradient").derive().result
    v, g = 0.0, -1.7
    for t in range(1, 40):
        v = BETA * v + (1 - BETA) * g
        assert v == pytest.approx(value(closed, beta=BETA, g=g, t=t), rel=1e-12)


def test_momentum_loop_matches_the_alternating_gradient_closed_form():
    closed = registry().formula("momentum_alternating_gradient").derive().result
    v, g = 0.0, 2.3
    for t in range(1, 200):
        v = BETA * v + (1 - BETA) * (-1) ** t * g
        if t < 40:
            assert v == pytest.approx(value(closed, beta=BETA, g=g, t=t), rel=1e-12)
    assert abs(v) == pytest.approx(g * (1 - BETA) / (1 + BETA), rel=1e-3)  # the steady amplitude, g/19


def test_unrolled_momentum_matches_a_loop_over_arbitrary_gradients():
    closed = registry().formula("momentum_unrolled").derive().result
    grads = [0.3, -1.2, 2.5, 0.7, -0.4, 1.9]
    v = 0.0
    for t, gt in enumerate(grads, start=1):
        v = BETA * v + (1 - BETA) * gt
        expr = closed.xreplace({opt.t: t, opt.beta: sp.Rational(9, 10)}).doit()
        expr = expr.xreplace({opt.gv[k]: sp.Rational(str(grads[k - 1])) for k in range(1, t + 1)})
        assert v == pytest.approx(float(expr), rel=1e-12)


def test_rmsprop_late_step_is_about_eta_whatever_the_gradient_scale():
    for g in (1e-4, 0.3, 250.0, -7.0):
        s = 0.0
        for _ in range(400):
            s = BETA * s + (1 - BETA) * g * g
        step = ETA * g / (math.sqrt(s) + EPS)
        assert step == pytest.approx(ETA * math.copysign(1.0, g), rel=1e-3)
    derived = registry().formula("rmsprop_constant_gradient").derive().result
    assert value(derived, eta=ETA, g=-7.0) == -ETA


def test_adam_bias_correction_is_exact_for_a_constant_gradient():
    g = 0.37
    for m, _, m_hat, v_hat in adam([g] * 30):
        assert m_hat == pytest.approx(g, rel=1e-12)
        assert v_hat == pytest.approx(g * g, rel=1e-9)
        assert m < g  # the raw moment is biased toward zero


def test_derived_corrections_unbias_the_loop_moments():
    m_hat = registry().formula("adam_m_hat").derive().result
    v_hat = registry().formula("adam_v_hat").derive().result
    g = -1.3
    for t, (m, v, _, _) in enumerate(adam([g] * 12), start=1):
        assert float(m_hat.xreplace({opt.mv[opt.t]: m, opt.beta1: BETA1, opt.t: t})) == pytest.approx(g, rel=1e-12)
        assert float(v_hat.xreplace({opt.vv[opt.t]: v, opt.beta2: BETA2, opt.t: t})) == pytest.approx(g * g, rel=1e-9)


def test_expected_first_moment_matches_monte_carlo():
    rng = np.random.default_rng(0)
    mean, sd, t, runs = 0.8, 2.0, 5, 40_000
    grads = rng.normal(mean, sd, size=(runs, t))
    m = np.zeros(runs)
    for k in range(t):
        m = BETA1 * m + (1 - BETA1) * grads[:, k]
    derived = registry().formula("adam_m_expectation").derive().result
    expected = value(derived, beta_1=BETA1, t=t, **{"\\mathbb{E}[g]": mean})
    standard_error = m.std() / math.sqrt(runs)
    assert abs(m.mean() - expected) < 5 * standard_error
    assert abs(m.mean() - mean) > 20 * standard_error  # the bias is real, not noise


def test_adam_first_step_moves_each_coordinate_by_about_eta():
    for g in (1e-3, 0.5, -40.0):
        (_, _, m_hat, v_hat), = adam([g])
        step = ETA * m_hat / (math.sqrt(v_hat) + EPS)
        assert abs(step) == pytest.approx(ETA, rel=1e-4)


def test_adamw_and_adam_l2_differ_by_the_decoupled_decay_at_step_one():
    g, theta, lam = 0.6, 1.5, 0.01
    (_, _, m_hat, v_hat), = adam([g])
    adamw = theta - ETA * (m_hat / (math.sqrt(v_hat) + EPS) + lam * theta)
    (_, _, m_hat2, v_hat2), = adam([g + lam * theta])
    adam_l2 = theta - ETA * m_hat2 / (math.sqrt(v_hat2) + EPS)
    derived = registry().formula("adamw_first_step").derive().result
    assert adamw - adam_l2 == pytest.approx(value(derived, eta=ETA, g=g, theta=theta, **{"lambda": lam}), rel=1e-6)


def train(decoupled: bool, lam: float, grads: list[float]) -> float:
    """theta after AdamW (decoupled) or Adam with lam * theta added to each gradient, from theta = 0.9."""
    theta, m, v = 0.9, 0.0, 0.0
    for t, g0 in enumerate(grads, start=1):
        g = g0 if decoupled else g0 + lam * theta
        m = BETA1 * m + (1 - BETA1) * g
        v = BETA2 * v + (1 - BETA2) * g * g
        step = ETA * (m / (1 - BETA1**t)) / (math.sqrt(v / (1 - BETA2**t)) + EPS)
        theta = theta - step - (ETA * lam * theta if decoupled else 0.0)
    return theta


def test_adamw_and_adam_l2_coincide_without_decay_and_differ_with_it():
    grads = [float(x) for x in np.random.default_rng(1).normal(size=30)]
    assert train(True, 0.0, grads) == train(False, 0.0, grads)
    assert abs(train(True, 0.1, grads) - train(False, 0.1, grads)) > 1e-4


def test_default_rates_give_the_example_quantities():
    example = next(e for e in registry().examples if e.key == "adam_defaults")
    values = [float(q.expr) for q in example.quantities]
    assert values == pytest.approx([1 - 0.9, 1 - 0.999, 1 / (1 - 0.9), 1 / (1 - 0.999)], rel=1e-12)
