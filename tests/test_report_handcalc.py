"""The worked examples as hand calculations, and the section titles taken from the notes' headings."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
import sympy as sp

from derive.core import Example, Quantity, entries, registry
from reports.build import SectionView, environment
from reports.handcalc import HandcalcError, decimal_text, given, hand_lines
from reports.headings import notes_headings, section_title
from reports.latex import Tex, escape, label
from verify.examples import check_example

DATA = Path(__file__).parent / "data"
HEADINGS = DATA / "headings.md"
REPORT = Path(__file__).resolve().parents[1] / "reports" / "out"


def _example(key: str) -> Example:
    """The registry's worked example called ``key``."""
    return next(e for e in registry().examples if e.key == key)


def _line(key: str, name: str):
    """The hand-calculation line of quantity ``name`` (its LaTeX) in example ``key``."""
    return next(ln for ln in hand_lines(_example(key)) if ln.name == name)


# --- worked examples ---------------------------------------------------------------------------------


def test_a_substitution_line_shows_the_given_numbers_then_the_value():
    line = _line("backprop_221", "z^{(1)}_1")
    assert line.formula == r"W^{(1)}_{11} x_{1} + W^{(1)}_{12} x_{2} + b^{(1)}_{1}"
    assert line.numbers == r"0.1 \cdot 0.5 + 0.2 \cdot 0.1 + 0"
    assert (line.relation, line.value, line.notes, line.mark) == ("=", "0.07", "0.07", "agrees")


def test_an_earlier_value_goes_into_a_later_formula_as_it_was_shown():
    line = _line("backprop_221", r"\hat y")
    assert line.numbers == r"\sigma\left(0.5872\right)" and (line.relation, line.value) == (r"\approx", "0.6427")


def test_a_notes_value_that_differs_from_the_exact_one_is_marked():
    line = _line("backprop_221", r"\sigma'(z^{(2)})")
    assert (line.value, line.notes, line.mark) == ("0.2296", "0.2297", "differs")


def test_a_notes_value_right_only_with_rounded_intermediates_says_so():
    example = _example("backprop_221")
    line = next(ln for ln in hand_lines(example, {"delta2": "correct"}) if ln.name == r"\delta^{(2)}")
    assert (line.value, line.notes, line.mark) == ("-0.0820", "-0.0821", "rounded intermediates")


def test_a_negative_number_put_into_a_product_is_in_parentheses():
    assert _line("neuron_example", "z").numbers == r"0.5 \cdot 1 + \left(-1\right) \cdot 2 + 0.5"


def test_the_neuron_sums_its_weighted_inputs_then_adds_the_bias_as_the_notes_write_it():
    line = _line("neuron_example", "z")
    assert line.formula == r"w_{1} x_{1} + w_{2} x_{2} + b"
    assert line.numbers.index("0.5 \\cdot 1") < line.numbers.index("2 + 0.5")  # numbers in the formula's order


def test_the_committed_report_prints_the_neuron_line_in_the_notes_order():
    tex = (REPORT / "section-1.1.tex").read_text(encoding="utf-8")
    assert r"z &=\;\fitexpr{w_{1} x_{1} + w_{2} x_{2} + b = 0.5 \cdot 1 + \left(-1\right) \cdot 2 + 0.5 = -1}" in tex


@pytest.mark.parametrize(("name", "formula", "numbers"), [
    (r"\delta^{(2)}", r"\left(\hat y - y\right) \sigma'(z^{(2)})", r"\left(-0.3573\right) \cdot 0.2296"),
    (r"\delta^{(1)}_1", r"W^{(2)}_{1} \delta^{(2)} \sigma'(z^{(1)}_1)", r"0.5 \cdot \left(-0.0820\right) \cdot 0.2497"),
    ("z^{(2)}", r"W^{(2)}_{1} a^{(1)}_1 + W^{(2)}_{2} a^{(1)}_2 + b^{(2)}", r"0.5 \cdot 0.5175 + 0.6 \cdot 0.5474 + 0"),
    (r"\partial L/\partial W^{(2)}_1", r"\delta^{(2)} a^{(1)}_1", r"\left(-0.0820\right) \cdot 0.5175"),
])
def test_backprop_factors_keep_the_notes_order_in_formula_and_numbers(name, formula, numbers):
    line = _line("backprop_221", name)
    assert (line.formula, line.numbers) == (formula, numbers)


def test_the_hidden_error_is_preceded_by_its_matrix_form():
    lines = hand_lines(_example("backprop_221"))
    k = next(i for i, ln in enumerate(lines) if ln.name == r"\delta^{(1)}_1")
    vector = lines[k - 1]
    assert vector.name == r"\boldsymbol{\delta}^{(1)}"
    assert vector.formula == r"\left(\mathbf{W}^{(2)\top} \delta^{(2)}\right) \odot \sigma'(\mathbf{z}^{(1)})"
    assert "matrix form" in vector.remark and "cdots" not in vector.expr and not vector.value


def test_a_matrix_form_that_does_not_give_its_entries_stops_the_report(monkeypatch):
    example = _example("backprop_221")
    form = example.vectors[0]
    wrong = replace(form, entries=tuple(reversed(form.entries)))  # entry 1 is not delta^{(1)}_2
    with pytest.raises(HandcalcError, match="matrix form gives"):
        hand_lines(replace(example, vectors=(wrong,)))


def test_the_updated_weight_has_a_name_of_its_own():
    line = next(ln for ln in hand_lines(_example("backprop_221")) if "0.50425" in ln.notes)
    assert line.name == r"W^{(2)\prime}_1" and line.formula.startswith(r"W^{(2)}_{1} - \eta")
    assert not line.formula.startswith(line.name) and line.name not in line.formula


def test_the_notes_on_the_verdicts_speak_words_not_field_names():
    detail = " ".join(c.detail for c in check_example(_example("backprop_221")))
    assert "rounded numbers they print" in detail and "rounded_expr" not in detail
    tex = (REPORT / "section-1.5.tex").read_text(encoding="utf-8")
    assert "Notes on the verdicts" in tex and "rounded\\_" not in tex and "rounded_expr" not in tex


def test_a_formula_that_does_not_give_the_records_value_stops_the_report():
    example = _example("neuron_example")
    wrong = replace(example.quantities[0], formula=example.quantities[0].formula + 1)
    with pytest.raises(HandcalcError, match="the formula gives"):
        hand_lines(replace(example, quantities=(wrong, *example.quantities[1:])))


def test_a_formula_naming_an_unknown_symbol_stops_the_report():
    q = Quantity("z", "z", sp.Integer(1), None, None, formula=sp.Symbol("nowhere"))
    with pytest.raises(HandcalcError, match="nowhere"):
        hand_lines(Example("toy", "1.1", "toy", {}, (q,)))


def test_every_registry_formula_gives_its_quantitys_exact_value():
    for example in registry().examples:
        assert len(hand_lines(example)) >= 1


def test_given_shows_the_inputs_by_the_formulas_names_as_decimals():
    shown = dict(given(_example("backprop_221")))
    assert shown["W^{(2)}"] == r"\left[\begin{matrix}0.5 & 0.6\end{matrix}\right]"
    assert shown["x"] == r"\left[\begin{matrix}0.5\\0.1\end{matrix}\right]" and shown[r"\eta"] == "0.1"


@pytest.mark.parametrize(("value", "places", "text"), [
    (sp.Rational(7, 100), None, "0.07"), (sp.Integer(-1), 1, "-1"), (sp.Rational(1, 3), 4, "0.3333"),
    (1 / (1 + sp.E), None, "0.2689"),
])
def test_decimal_text_is_exact_when_short_else_rounded(value, places, text):
    assert decimal_text(value, places)[0] == text


def test_entries_names_a_matrix_one_based():
    W = sp.IndexedBase("W")
    assert entries(W, sp.Matrix([[1, 2], [3, 4]]))[W[2, 1]] == 3 and entries(W, sp.Matrix([[5]])) == {
        sp.Symbol("W"): 5}


# --- section titles from the notes' headings ---------------------------------------------------------------


def test_section_titles_come_from_the_notes_headings():
    headings = notes_headings(HEADINGS)
    assert headings["1.1"] == "Neurons, one at a time" and headings["1.5"] == "Backprop — by hand"
    assert section_title("1.1", headings, "The artificial neuron") == "Neurons, one at a time"


def test_a_section_the_notes_do_not_head_keeps_the_records_title():
    assert section_title("1.4", notes_headings(HEADINGS), "Gradient descent") == "Gradient descent"
    assert notes_headings(None) == {} and notes_headings(DATA / "no-such-file.md") == {}


def test_a_hostile_heading_is_escaped():
    title = section_title("1.6", notes_headings(HEADINGS), "fallback")
    assert title == escape(r"\input{/etc/passwd} $x^2$ & 50% #1 ~_{}")
    inert = re.sub(r"\\[A-Za-z]+\{\}|\\[$&%#_{}]", "", title)  # \textbackslash{}, \$, \& ... typeset characters
    assert r"\input" not in title and not set(inert) & set("\\$&%#_^{}~")


def test_the_section_file_carries_the_escaped_heading_as_its_title():
    section = SectionView("1.6", section_title("1.6", notes_headings(HEADINGS), "fallback"), Tex("section-1.6.tex"),
                          label("section:1.6"), (), (), ())
    tex = environment().get_template("section.tex.j2").render(section=section)
    assert r"\notessection{1.6}{\textbackslash{}input\{/etc/passwd\} \$x" in tex and r"\input{/etc" not in tex


def test_a_formula_too_long_to_print_shows_its_structure_never_an_ellipsis():
    xs = sp.IndexedBase("x")
    data = {xs[k]: sp.Rational(k, 10) for k in range(1, 41)}
    total = sum(xs[k] for k in range(1, 41))
    q = Quantity("s", "s", total.xreplace(data), "82.0", None, formula=total)
    (line,) = hand_lines(Example("long", "1.1", "long", {}, (q,), symbols=data))
    assert line.formula.startswith(r"\text{numeric check of }") and "40 terms" in line.formula
    assert not line.numbers and "more terms" not in line.expr and line.value == "82"
