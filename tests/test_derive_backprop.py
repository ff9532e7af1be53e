"""Sections 1.5 and 1.10: BP1-BP4, the brute-force cross-check, the 2-2-1 example and the XOR listing.

Independent references: exact full differentiation (symengine) at exact points for the recursion;
plain-float hand computation (math.exp) and central differences for the worked example; NumPy and
central differences for the listing. Wrong forms are built here and must be refuted.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from derive import backprop as bp
from derive import networks as nw
from derive import xor_listing as xor
from derive.core import registry
from derive.proof import check_equal, prove

NOTES = Path(__file__).resolve().parents[2] / "shared" / "notes" / "01_foundations.md"
FORMULAS = (*bp.FORMULAS, *xor.FORMULAS)
j, k, r, s = bp.j, bp.k, bp.r, bp.s


# -- every record ------------------------------------------------------------------------------------------

def test_the_records_are_in_the_registry():
    keys = [f.key for f in registry().formulas if f.section in {"1.5", "1.10"}]
    assert keys == [f.key for f in FORMULAS]


@pytest.mark.parametrize("formula", FORMULAS, ids=lambda f: f.key)
def test_derivation_matches_the_stated_form(formula):
    assert prove(formula).verdict in {"proven", "agrees"}


@pytest.mark.parametrize("formula", FORMULAS, ids=lambda f: f.key)
def test_derivation_ends_at_its_result(formula):
    derivation = formula.derive()
    assert len(derivation.steps) >= 2
    assert derivation.steps[-1].expr == derivation.result


# -- BP1-BP4: wrong forms are refuted ----------------------------------------------------------------------

def _refuted(key: str, wrong: sp.Expr) -> bool:
    f = registry().formula(key)
    return check_equal(f.derive().result, wrong, f.domain).verdict == "refuted"


def test_bp1_without_the_slope_is_refuted():
    assert _refuted("bp1_output_error", bp.grad_out[j])


def test_bp1_softmax_with_the_sign_flipped_is_refuted():
    assert _refuted("bp1_softmax_ce", bp.yv[j] - bp.yhat[j])


def test_bp2_with_w_instead_of_w_transpose_is_refuted():
    wrong = sp.Sum(bp.W_next[j, k] * bp.delta_next[k], (k, 1, bp.m_next)) * bp.slope_l[j]
    assert _refuted("bp2_hidden_error", wrong)


def test_bp2_without_the_slope_is_refuted():
    assert _refuted("bp2_hidden_error", sp.Sum(bp.W_next[k, j] * bp.delta_next[k], (k, 1, bp.m_next)))


def test_bp2_inner_derivative_with_swapped_indices_is_refuted():
    assert _refuted("bp2_inner_derivative", bp.W_next[j, k] * bp.slope_l[j])


def test_bp3_transposed_outer_product_is_refuted():
    assert _refuted("bp3_weight_grad", bp.a_prev[r] * bp.delta_l[s])


def test_bp3_with_this_layers_activation_is_refuted():
    a_this = sp.IndexedBase("a^{(l)}")
    wrong = bp.delta_l[r] * a_this[s]
    f = registry().formula("bp3_weight_grad")
    assert check_equal(f.derive().result, wrong, {**f.domain, "a^{(l)}": (-3.0, 3.0)}).verdict == "refuted"


def test_bp3_outer_product_has_the_shape_of_the_weights():
    shape = next(st.expr for st in bp.derive_bp3().steps if "shape" in st.rule)
    assert tuple(shape) == (bp.m_l, bp.m_prev)


def test_bp4_of_the_next_layer_is_refuted():
    delta_next_layer = sp.IndexedBase("\\delta^{(l+1)}")
    assert _refuted("bp4_bias_grad", delta_next_layer[r])


def test_full_gradient_without_the_hidden_slope_is_refuted():
    f = registry().formula("bp_full_gradient_221")
    W, b, x, y = nw.matrices(bp.NOTES_NET, sp.sympify)
    lookup = {}
    a = x
    for Wl, bl, layer in zip(W, b, nw.activation_symbols(bp.NOTES_NET), strict=True):
        z = Wl * a + bl
        lookup.update(zip(z, layer, strict=True))
        a = sp.Matrix(layer)
    out = z[0]
    wrong = nw.backprop_gradient(nw.backprop(bp.NOTES_NET, W, b, x, y, lookup.__getitem__,
                                             lambda e: lookup[e] * (1 - lookup[e]) if e == out else 1), bp.NOTES_NET)
    stated = sp.Add(*(g * sp.Symbol(f"u_{{{theta}}}", real=True) for theta, g in wrong.items()))
    assert check_equal(f.derive().result, stated, f.domain).verdict == "refuted"


# -- brute force versus BP1-BP4 ----------------------------------------------------------------------------

@st.composite
def networks(draw: st.DrawFn, max_width: int, max_layers: int) -> nw.Net:
    """A network of 1..max_layers weight layers, each 1..max_width wide, with either head."""
    depth = draw(st.integers(1, max_layers))
    widths = tuple(draw(st.integers(1, max_width)) for _ in range(depth + 1))
    return nw.Net(widths, draw(st.sampled_from(nw.HEADS)))


@pytest.mark.parametrize("widths, head", [((2, 2, 1), "sigmoid_half_sse"), ((3, 4, 2), "sigmoid_half_sse"),
                                          ((4, 5, 3), "sigmoid_half_sse"), ((4, 5, 3), "softmax_ce"),
                                          ((2, 3, 3, 2), "softmax_ce")])
def test_bp_equals_the_full_derivative_exactly(widths, head):
    result = nw.compare(nw.Net(widths, head), seed=7)
    assert result.checked == sum(a * b + a for a, b in zip(widths[1:], widths[:-1], strict=True))
    assert result.agree, result.mismatches


@given(net=networks(max_width=3, max_layers=2), seed=st.integers(0, 10**6))
def test_bp_equals_the_full_derivative_on_small_networks(net, seed):
    assert nw.compare(net, seed).agree


@pytest.mark.slow
@given(net=networks(max_width=5, max_layers=3), seed=st.integers(0, 10**6))
def test_bp_equals_the_full_derivative_up_to_4_5_3(net, seed):
    assert nw.compare(net, seed).agree


def test_exact_points_make_every_activation_rational():
    net = nw.Net((3, 4, 2))
    point = nw.exact_point(net, 3)
    W, b, x, y = nw.matrices(net, point.sympy)
    run = nw.backprop(net, W, b, x, y)
    assert all(v.is_Rational for a in run.a for v in a)


def test_softmax_bp1_fails_when_the_labels_do_not_sum_to_one():
    net = nw.Net((2, 3, 2), "softmax_ce")
    point = nw.exact_point(net, 1)
    values = {**point.values, **{s: 2 * point.values[s] for s in nw.params(net).y}}
    bad = nw.Point(net, values)
    brute = nw.brute_force_at(bad)
    W, b, x, y = nw.matrices(net, bad.sympy)
    recursion = nw.backprop_gradient(nw.backprop(net, W, b, x, y), net)
    assert any(brute[t] != recursion[t] for t in brute)


def test_a_recursion_without_the_transpose_disagrees_with_the_full_derivative():
    net = nw.Net((2, 3, 3, 1))
    point = nw.exact_point(net, 2)
    W, b, x, y = nw.matrices(net, point.sympy)
    run = nw.backprop(net, W, b, x, y)
    slope = run.z[0].applyfunc(nw.sigmoid_slope)
    delta1 = (W[1] * run.delta[1]).multiply_elementwise(slope)          # W, not W^T: square, so it type-checks
    wrong = delta1 * x.T
    brute = nw.brute_force_at(point)
    p = nw.params(net)
    assert any(brute[p.W[0][a][c]] != wrong[a, c] for a in range(3) for c in range(2))


# -- the worked 2-2-1 example ------------------------------------------------------------------------------

def _sig(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def _hand() -> dict[str, float]:
    """The example by hand in floats (no project code)."""
    x, w1, w2 = (0.5, 0.1), ((0.1, 0.2), (0.3, 0.4)), (0.5, 0.6)
    z1 = [w1[a][0] * x[0] + w1[a][1] * x[1] for a in range(2)]
    a1 = [_sig(z) for z in z1]
    z2 = w2[0] * a1[0] + w2[1] * a1[1]
    yh = _sig(z2)
    s2 = yh * (1 - yh)
    d2 = (yh - 1) * s2
    s1 = [a * (1 - a) for a in a1]
    d1 = [w2[a] * d2 * s1[a] for a in range(2)]
    out = {"z1_1": z1[0], "z1_2": z1[1], "a1_1": a1[0], "a1_2": a1[1], "z2": z2, "yhat": yh,
           "loss": (yh - 1) ** 2 / 2, "error": yh - 1, "dsigma_z2": s2, "delta2": d2,
           "dW2_1": d2 * a1[0], "dW2_2": d2 * a1[1], "one_minus_a1_1": 1 - a1[0], "one_minus_a1_2": 1 - a1[1],
           "dsigma_z1_1": s1[0], "dsigma_z1_2": s1[1], "delta1_1": d1[0], "delta1_2": d1[1],
           "W2_1_updated": 0.5 - 0.1 * d2 * a1[0]}
    out.update({f"dW1_{a + 1}{c + 1}": d1[a] * x[c] for a in range(2) for c in range(2)})
    return out


# What a person computing at the printed precision gets (the arithmetic the notes display).
HAND_ROUNDED = {"z2": 0.5 * 0.5175 + 0.6 * 0.5474, "loss": 0.5 * (0.6427 - 1) ** 2, "error": 0.6427 - 1,
                "dsigma_z2": 0.6427 * (1 - 0.6427), "delta2": -0.3573 * 0.2297, "dW2_1": -0.0821 * 0.5175,
                "dW2_2": -0.0821 * 0.5474, "dsigma_z1_1": 0.5175 * 0.4825, "dsigma_z1_2": 0.5474 * 0.4526,
                "delta1_1": 0.5 * -0.0821 * 0.2497, "delta1_2": 0.6 * -0.0821 * 0.2478, "dW1_11": -0.0103 * 0.5,
                "dW1_12": -0.0103 * 0.1, "dW1_21": -0.0122 * 0.5, "dW1_22": -0.0122 * 0.1,
                "W2_1_updated": 0.5 - 0.1 * -0.0425, "one_minus_a1_1": 1 - 0.5175, "one_minus_a1_2": 1 - 0.5474}


def _rounds_to(value: float, text: str) -> bool:
    places = len(text.split(".")[1])
    return abs(value - float(text)) <= 0.5 * 10**-places + 1e-12


EXAMPLE = bp.EXAMPLES[0]
QUANTITIES = {q.name: q for q in EXAMPLE.quantities}


def test_example_covers_every_number_of_the_notes():
    assert set(QUANTITIES) == set(_hand())


@pytest.mark.parametrize("name", list(QUANTITIES))
def test_example_exact_value_matches_the_hand_computation(name):
    assert float(sp.N(QUANTITIES[name].expr, 30)) == pytest.approx(_hand()[name], rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("name", sorted(HAND_ROUNDED))
def test_example_rounded_expr_is_the_notes_arithmetic(name):
    assert float(QUANTITIES[name].rounded_expr) == pytest.approx(HAND_ROUNDED[name], rel=1e-12)


def test_example_weight_gradients_match_central_differences_of_the_loss():
    def loss(w1: list[list[float]], w2: list[float]) -> float:
        a1 = [_sig(w1[a][0] * 0.5 + w1[a][1] * 0.1) for a in range(2)]
        return (_sig(w2[0] * a1[0] + w2[1] * a1[1]) - 1) ** 2 / 2

    w1, w2, h = [[0.1, 0.2], [0.3, 0.4]], [0.5, 0.6], 1e-6
    for a in range(2):
        for c in range(2):
            up = [row[:] for row in w1]
            down = [row[:] for row in w1]
            up[a][c] += h
            down[a][c] -= h
            fd = (loss(up, w2) - loss(down, w2)) / (2 * h)
            assert float(QUANTITIES[f"dW1_{a + 1}{c + 1}"].expr) == pytest.approx(fd, rel=1e-6)
        up2, down2 = w2[:], w2[:]
        up2[a] += h
        down2[a] -= h
        fd = (loss(w1, up2) - loss(w1, down2)) / (2 * h)
        assert float(QUANTITIES[f"dW2_{a + 1}"].expr) == pytest.approx(fd, rel=1e-6)


def test_which_numbers_of_the_example_are_wrong_or_right_only_with_rounding():
    hand = _hand()
    wrong = {n for n, q in QUANTITIES.items() if not _rounds_to(hand[n], q.stated)
             and not (n in HAND_ROUNDED and _rounds_to(HAND_ROUNDED[n], q.stated))}
    rounding_only = {n for n, q in QUANTITIES.items() if not _rounds_to(hand[n], q.stated)
                     and n in HAND_ROUNDED and _rounds_to(HAND_ROUNDED[n], q.stated)}
    assert wrong == {"dsigma_z2", "dW1_11"}
    assert rounding_only == {"delta2", "delta1_1", "dW1_12"}


# -- the XOR listing ---------------------------------------------------------------------------------------

def _xor_refuted(wrt: str, wrong: sp.MatrixBase) -> bool:
    f = registry().formula(f"xor_d{wrt}")
    return check_equal(f.derive().result, xor.along(wrong, wrt), f.domain).verdict == "refuted"


def test_xor_da2_without_the_mean_is_refuted():
    assert _xor_refuted("A2", 2 * (xor.A2 - xor.Y))


def test_xor_dz1_with_half_of_dsigmoid_is_refuted():
    lines = xor.listing_backward()
    assert _xor_refuted("Z1", lines["A1"].multiply_elementwise(xor.A1))


def test_xor_dw1_from_da1_instead_of_dz1_is_refuted():
    assert _xor_refuted("W1", xor.X.T * xor.listing_backward()["A1"])


def test_xor_dw2_with_the_product_reversed_has_the_wrong_shape():
    with pytest.raises(ValueError, match="shape"):
        xor.along(xor.listing_backward()["Z2"].T * xor.A1, "W2")


def _numpy_listing(X, Y, W1, b1, W2, b2):  # the listing's own lines, verbatim
    def sigmoid(z): return 1 / (1 + np.exp(-z))
    def dsigmoid(a): return a * (1 - a)
    Z1 = X @ W1 + b1
    A1 = sigmoid(Z1)
    Z2 = A1 @ W2 + b2
    A2 = sigmoid(Z2)
    dA2 = 2 * (A2 - Y) / len(X)
    dZ2 = dA2 * dsigmoid(A2)
    dW2 = A1.T @ dZ2
    db2 = dZ2.sum(0, keepdims=True)
    dA1 = dZ2 @ W2.T
    dZ1 = dA1 * dsigmoid(A1)
    dW1 = X.T @ dZ1
    db1 = dZ1.sum(0, keepdims=True)
    return {"A1": A1, "A2": A2, "W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def _xor_inputs(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"X": rng.normal(size=(4, 2)), "Y": rng.uniform(size=(4, 1)), "W1": rng.normal(size=(2, 2)),
            "b1": rng.normal(size=(1, 2)), "W2": rng.normal(size=(2, 1)), "b2": rng.normal(size=(1, 1))}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_xor_listing_lines_match_central_differences(seed):
    arrays = _xor_inputs(seed)
    got = _numpy_listing(**arrays)

    def loss(**kw: np.ndarray) -> float:
        a1 = 1 / (1 + np.exp(-(kw["X"] @ kw["W1"] + kw["b1"])))
        a2 = 1 / (1 + np.exp(-(a1 @ kw["W2"] + kw["b2"])))
        return float(np.mean((a2 - kw["Y"]) ** 2))

    h = 1e-6
    for name in ("W1", "b1", "W2", "b2"):
        for idx in np.ndindex(arrays[name].shape):
            up = {**arrays, name: arrays[name].copy()}
            down = {**arrays, name: arrays[name].copy()}
            up[name][idx] += h
            down[name][idx] -= h
            assert got[name][idx] == pytest.approx((loss(**up) - loss(**down)) / (2 * h), rel=1e-5, abs=1e-9)


@pytest.mark.parametrize("seed", [0, 1])
def test_xor_sympy_encoding_of_the_listing_matches_numpy(seed):
    arrays = _xor_inputs(seed)
    got = _numpy_listing(**arrays)
    values = {}
    for name in ("X", "Y", "W1", "b1", "W2", "b2"):
        values.update({sym: float(v) for sym, v in zip(getattr(xor, name), arrays[name].flat, strict=True)})
    values.update({sym: float(v) for sym, v in zip(xor.A1, got["A1"].flat, strict=True)})
    values.update({sym: float(v) for sym, v in zip(xor.A2, got["A2"].flat, strict=True)})
    lines = xor.listing_backward()
    for name in ("W1", "b1", "W2", "b2"):
        encoded = np.array(lines[name].subs(values), dtype=float)
        np.testing.assert_allclose(encoded, got[name], rtol=1e-12, atol=1e-15)


# -- locators ----------------------------------------------------------------------------------------------

def test_every_worked_number_is_read_where_the_notes_print_it(real_notes_audit):
    """Each quantity is found by what it is (a subject, a factor, an entry, a table column), and reads its number."""
    read = {f.claim: f.stated for f in real_notes_audit.findings}
    for e in bp.EXAMPLES:
        for q in e.quantities:
            assert read.get(f"{e.key}.{q.name}") == q.stated, q.name

