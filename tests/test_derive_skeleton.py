"""Sections 1.1-1.3: every record is reached from its definition and matches the notes' form."""

from __future__ import annotations

import math

import pytest
import sympy as sp

from derive.core import registry
from derive.functions import sigmoid
from derive.proof import check_equal, prove

SKELETON = [f for f in registry().formulas if f.section in {"1.1", "1.2", "1.3"}]
STATED = [f for f in SKELETON if f.stated is not None and f.key != "gelu_range"]


@pytest.mark.parametrize("formula", STATED, ids=lambda f: f.key)
def test_derivation_matches_the_stated_form(formula):
    assert prove(formula).verdict in {"proven", "agrees"}


@pytest.mark.parametrize("formula", STATED, ids=lambda f: f.key)
def test_derivation_steps_start_from_a_definition_and_end_at_the_result(formula):
    derivation = formula.derive()
    assert len(derivation.steps) >= 2
    assert derivation.steps[-1].expr == derivation.result or isinstance(derivation.result, sp.Set)


def test_a_sign_flipped_sigmoid_derivative_is_refuted():
    z = sp.Symbol("z", real=True)
    derived = registry().formula("sigmoid_grad").derive().result
    wrong = sigmoid(z) * (1 + sigmoid(z))
    assert check_equal(derived, wrong, {"z": (-6.0, 6.0)}).verdict == "refuted"


def test_a_wrong_bce_logit_gradient_is_refuted():
    f = registry().formula("bce_grad_logit")
    z, y = sp.Symbol("z", real=True), sp.Symbol("y", real=True)
    assert check_equal(f.derive().result, y - sigmoid(z), f.domain).verdict == "refuted"


def test_softmax_jacobian_without_the_delta_is_refuted():
    f = registry().formula("softmax_jacobian")
    s = sp.IndexedBase("s")
    i, j = sp.symbols("i j", integer=True, positive=True)
    assert check_equal(f.derive().result, -s[i] * s[j], f.domain).verdict == "refuted"


def test_mse_gradient_without_the_factor_two_is_refuted():
    f = registry().formula("mse_grad")
    yh, y = sp.IndexedBase("\\hat{y}"), sp.IndexedBase("y")
    j, N = sp.Symbol("j", integer=True, positive=True), sp.Symbol("N", integer=True, positive=True)
    assert check_equal(f.derive().result, (yh[j] - y[j]) / N, f.domain).verdict == "refuted"


def test_gelu_range_is_bounded_below_unlike_the_notes_table():
    derived = registry().formula("gelu_range").derive().result
    grid_min = min(x / 1000 * 0.5 * (1 + math.erf(x / 1000 / math.sqrt(2))) for x in range(-3000, 1))
    assert float(derived.start) == pytest.approx(grid_min, abs=1e-6)
    assert derived.end == sp.oo
    assert prove(registry().formula("gelu_range")).verdict == "refuted"


def test_gelu_derivative_matches_a_central_difference():
    result = registry().formula("gelu_grad").derive().result
    from derive.functions import unfold

    f = sp.lambdify(sp.Symbol("z", real=True), unfold(result), "math")

    def gelu(x: float) -> float:
        return x * 0.5 * (1 + math.erf(x / math.sqrt(2)))

    for x in (-2.0, -0.3, 0.0, 0.7, 3.1):
        h = 1e-5
        assert f(x) == pytest.approx((gelu(x + h) - gelu(x - h)) / (2 * h), abs=1e-8)


def test_gelu_tanh_error_bound_is_small_and_tight():
    bound = float(registry().formula("gelu_tanh").derive().result.rhs)

    def err(x: float) -> float:
        exact = x * 0.5 * (1 + math.erf(x / math.sqrt(2)))
        approx = 0.5 * x * (1 + math.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
        return abs(exact - approx)

    worst = max(err(x / 997) for x in range(-8000, 8000))
    assert worst <= bound + 1e-9
    assert bound < 1e-3


def test_one_hot_cross_entropy_reduces_to_minus_log_of_the_correct_class():
    result = registry().formula("ce_onehot").derive().result
    assert result == -sp.log(sp.IndexedBase("\\hat{y}")[sp.Symbol("c", integer=True, positive=True)])


def test_neuron_example_exact_values():
    ex = next(e for e in registry().examples if e.key == "neuron_example")
    values = {q.name: float(sp.N(q.expr.rewrite(sp.exp), 30)) for q in ex.quantities}
    assert values["z"] == -1.0
    assert values["a"] == pytest.approx(1 / (1 + math.e), abs=1e-15)
