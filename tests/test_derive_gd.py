"""Section 1.4: the update rule and the theta^2 example are reached from their definitions.

Independent references: plain-float gradient descent on theta^2 (gradient by a central difference),
never the derived expressions themselves.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sympy as sp

from derive import gradient_descent as gd
from derive.core import registry
from derive.proof import check_equal, compare_sets, prove
from verify.notes import read_notes

NOTES = Path(__file__).resolve().parents[2] / "shared" / "notes" / "01_foundations.md"
FORMULAS = gd.FORMULAS
theta, theta0, t = gd.theta, gd.theta0, gd.t


def _grad(x: float, h: float = 1e-6) -> float:
    """d(theta^2)/d theta by a central difference."""
    return ((x + h) ** 2 - (x - h) ** 2) / (2 * h)


def _descend(start: float, eta: float, steps: int) -> list[float]:
    """Plain gradient descent on theta^2."""
    out = [start]
    for _ in range(steps):
        out.append(out[-1] - eta * _grad(out[-1]))
    return out


def test_the_records_are_in_the_registry_in_section_order():
    keys = [f.key for f in registry().formulas if f.section == "1.4"]
    assert keys == [f.key for f in FORMULAS]


@pytest.mark.parametrize("formula", FORMULAS, ids=lambda f: f.key)
def test_derivation_matches_the_stated_form(formula):
    assert prove(formula).verdict in {"proven", "agrees"}


@pytest.mark.parametrize("formula", FORMULAS, ids=lambda f: f.key)
def test_derivation_ends_at_its_result(formula):
    derivation = formula.derive()
    assert len(derivation.steps) >= 2
    assert derivation.steps[-1].expr == derivation.result


def test_update_rule_with_the_wrong_sign_is_refuted():
    f = registry().formula("gd_update_rule")
    wrong = gd.thetav[gd.j] + gd.eta * gd.gradv[gd.j]
    assert check_equal(f.derive().result, wrong, f.domain).verdict == "refuted"


def test_update_rule_decreases_theta_squared_for_a_small_step():
    step = sp.lambdify((gd.thetav[gd.j], gd.gradv[gd.j], gd.eta), gd.derive_update_rule().result)
    x = 1.7
    assert step(x, _grad(x), 0.01) ** 2 < x**2


def test_iterate_multiplier_matches_one_step_of_float_descent():
    for eta in (0.1, 0.3, 0.75, 1.1):
        one = _descend(2.0, eta, 1)
        assert float(gd.multiplier(sp.Rational(str(eta)))) == pytest.approx(one[1] / one[0], rel=1e-8)


def test_closed_form_matches_twenty_float_steps():
    closed = sp.lambdify((theta0, t), gd.derive_closed_form().result)
    path = _descend(5.0, 0.1, 20)
    for step, value in enumerate(path):
        assert closed(5.0, step) == pytest.approx(value, rel=1e-8)


def test_closed_form_general_eta_comes_from_rsolve():
    general = gd.derive_closed_form().steps[1].expr.rhs
    assert sp.simplify(general - theta0 * (1 - 2 * gd.eta) ** t) == 0


def test_a_wrong_ratio_is_refuted():
    f = registry().formula("gd_quadratic_closed_form")
    assert check_equal(f.derive().result, theta0 * sp.Rational(9, 10) ** t, f.domain).verdict == "refuted"


@pytest.mark.parametrize("eta, converges", [(-0.1, False), (0.05, True), (0.5, True), (0.95, True),
                                            (1.05, False), (1.5, False)])
def test_convergence_set_agrees_with_float_descent(eta, converges):
    derived = gd.derive_convergence_set().result
    final = abs(_descend(5.0, eta, 400)[-1])
    assert (final < 1e-6) == converges
    assert (sp.Rational(str(eta)) in derived) == converges


def test_a_wider_convergence_set_is_refuted():
    assert compare_sets(gd.derive_convergence_set().result, sp.Interval.open(0, 2)).verdict == "refuted"


def test_eta_one_point_one_diverges_with_multiplier_minus_one_point_two():
    path = _descend(5.0, 1.1, 60)
    assert abs(path[-1]) > 1e4
    assert path[1] / path[0] == pytest.approx(-1.2)
    assert gd.derive_multiplier_divergent().result == sp.Rational(-6, 5)
    assert gd.derive_divergence_set().steps[2].expr == sp.S.EmptySet


def test_a_wrong_divergent_multiplier_is_refuted():
    f = registry().formula("gd_multiplier_divergent")
    assert check_equal(f.derive().result, sp.Rational(-11, 10), f.domain).verdict == "refuted"


def test_table_quantities_match_float_descent():
    (example,) = gd.EXAMPLES
    path = _descend(5.0, 0.1, 4)
    values = {q.name: float(q.expr) for q in example.quantities}
    for row in range(4):
        assert values[f"theta_{row}"] == pytest.approx(path[row], rel=1e-8)
        assert values[f"grad_{row}"] == pytest.approx(_grad(path[row]), rel=1e-8)
        assert values[f"update_{row}"] == pytest.approx(path[row + 1], rel=1e-8)


def test_table_values_are_what_the_notes_print():
    (example,) = gd.EXAMPLES
    for q in example.quantities:
        places = len(q.stated.split(".")[1])
        assert f"{float(q.expr):.{places}f}" == q.stated, q.name


def _section_lines(section: str) -> list[str]:
    """The raw lines of ``section`` (the notes parser decides where sections start and end)."""
    notes = read_notes(NOTES)
    return [text for number, text in enumerate(notes.lines, start=1) if notes.in_section(number, section)]


def test_every_worked_number_is_read_where_the_notes_print_it(real_notes_audit):
    """Each quantity is found by what it is (a subject, a factor, an entry, a table column), and reads its number."""
    read = {f.claim: f.stated for f in real_notes_audit.findings}
    for e in gd.EXAMPLES:
        for q in e.quantities:
            assert read.get(f"{e.key}.{q.name}") == q.stated, q.name
