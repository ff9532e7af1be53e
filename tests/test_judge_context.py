"""The judge reads a relation from the document around it: declared spaces, distributions, conventions.

Each case is a few lines of notes written for the test; the verdict of one link is asserted, and a
wrong variant of the same lines must turn it into an error (or keep it from being called correct).
"""

from __future__ import annotations

import pytest

from verify.audit import audit_notes, statement_lines
from verify.judge import judge_notes
from verify.notes import parse_notes


def verdicts(text: str) -> dict[str, str]:
    """The verdict of every link of a notes text, keyed by the link as written."""
    return {link.text: link.verdict for _, links in judge_notes(parse_notes(text)) for link in links}


SHAPES = """# A
The weights are $\\mathbf{W}_\\textrm{qh} \\in \\mathbb{R}^{q \\times h}$ and $L$ is the loss.
So $\\partial L/\\partial \\mathbf{W}_\\textrm{qh} \\in \\mathbb{R}^{%s}$.
"""


@pytest.mark.parametrize(("space", "verdict"), [("q \\times h", "correct"), ("h \\times q", "error")])
def test_a_derivative_by_a_declared_matrix_lives_in_its_space(space, verdict):
    found = verdicts(SHAPES % space)
    assert found[f"\\partial L/\\partial \\mathbf{{W}}_\\textrm{{qh}} \\in \\mathbb{{R}}^{{{space}}}"] == verdict


DISTRIBUTION = """# A
Let $P(\\xi = 0) = 1-\\pi$ and $P(\\xi = \\pi^{-1}) = \\pi$, thus $E[\\xi] = %s$.
"""


@pytest.mark.parametrize(("value", "verdict"), [("1", "correct"), ("2", "error")])
def test_an_expectation_is_taken_from_the_point_masses_the_notes_give(value, verdict):
    assert verdicts(DISTRIBUTION % value)[f"E[\\xi] = {value}"] == verdict


def test_an_expectation_without_a_distribution_is_unknown():
    assert verdicts("# A\nThen $E[\\xi] = 1$.\n")["E[\\xi] = 1"] == "unknown"


EINSTEIN = """# A
%s
$$
\\frac{d}{dx_k}x_ia_{ij}x_j = a_{kj}x_j + x_ia_{%s}.
$$
"""


def test_repeated_indices_are_summed_only_where_the_notes_declare_the_convention():
    declared = "We use Einstein notation from here on, so we can write"
    assert verdicts(EINSTEIN % (declared, "ik"))["\\frac{d}{dx_k}x_ia_{ij}x_j = a_{kj}x_j + x_ia_{ik}."] == "correct"
    assert verdicts(EINSTEIN % (declared, "ki"))["\\frac{d}{dx_k}x_ia_{ij}x_j = a_{kj}x_j + x_ia_{ki}."] == "error"
    assert verdicts(EINSTEIN % ("We can write", "ik"))[
        "\\frac{d}{dx_k}x_ia_{ij}x_j = a_{kj}x_j + x_ia_{ik}."] == "unknown"


GENERAL = """# A
Find the derivative of $f(x) = \\log(1+x^2)$.

$$
f(x+\\epsilon) = g(x+\\epsilon) + h(x+\\epsilon)
$$

so that $\\frac{df}{dx}(x) = \\frac{dg}{dx}(x) %s \\frac{dh}{dx}(x)$.
"""


@pytest.mark.parametrize(("sign", "verdict"), [("+", "correct"), ("-", "error")])
def test_a_display_in_general_functions_defines_a_new_f(sign, verdict):
    found = verdicts(GENERAL % sign)
    assert found["f(x+\\epsilon) = g(x+\\epsilon) + h(x+\\epsilon)"] == "definition"
    assert found[f"\\frac{{df}}{{dx}}(x) = \\frac{{dg}}{{dx}}(x) {sign} \\frac{{dh}}{{dx}}(x)"] == verdict


def test_a_recurrence_is_recorded_and_a_taylor_claim_is_still_judged():
    found = verdicts("# A\n$s(i, t+1) = s(i, t) + x_i^2$ and $f(x + h) = f(x) + h f'(x) + \\mathcal{O}(h^2)$\n")
    assert found["s(i, t+1) = s(i, t) + x_i^2"] == "definition"
    assert found["f(x + h) = f(x) + h f'(x) + \\mathcal{O}(h^2)"] == "correct"


def test_two_index_names_equal_under_when_are_a_condition_not_a_definition():
    found = verdicts("# A\nThis is one when $i=k$ and zero otherwise, so $x_i = x_k + 1$ is not used.\n")
    assert found["i = k"] == "definition"
    assert "condition" in next(link.reason for _, links in judge_notes(parse_notes(
        "# A\nThis is one when $i=k$ and zero otherwise.\n")) for link in links)


def test_if_then_is_a_claim_and_a_value_of_another_magnitude_is_an_error():
    found = verdicts("# A\nIf $\\epsilon = 0.0000001$, then $\\epsilon^{2}= 0.0000000000001$.\n")
    assert found["\\epsilon^{2} = 0.0000000000001"] == "error"


def test_relation_lines_are_the_statements_top_level_relations():
    notes = parse_notes("# A\nSum $\\sum_{i=1}^n x_i$ here.\n\nThe symbol $\\approx$ alone.\n\nA claim $a = b$.\n")
    assert statement_lines(notes) == {6}
    assert audit_notes(notes).coverage["relation_lines"] == 1


def test_constructs_that_grow_with_their_size_are_refused_or_budgeted():
    hessian = "\\mathbf{H} f(" + ", ".join(["0"] * 200) + ") = 0"
    sums = "\\sum_{a, b, c, d, e, f, g, h, i, j, k, l} x_a x_b x_c x_d x_e x_f x_g x_h x_i x_j x_k x_l = 1"
    text = f"# A\nHere $\\mathbf{{x}} = \\mathbf{{x}}$ and ${hessian}$ and ${sums}$.\n"
    found = verdicts(text)
    reasons = {link.text: link.reason for _, links in judge_notes(parse_notes(text)) for link in links}
    assert found[hessian] == "unknown" and "more than 8 arguments" in reasons[hessian]
    assert found[sums] in {"unknown", "error"}  # false at a small size, or past the budget: never a hang


ROUNDED = """# A
Here $2 \\pi = %s \\cdot 1$.
"""


@pytest.mark.parametrize(("value", "verdict"), [("6.2832", "warning"), ("6.5", "error")])
def test_a_rounded_value_within_a_thousandth_is_a_warning_and_a_wrong_one_an_error(value, verdict):
    assert verdicts(ROUNDED % value)[f"2 \\pi = {value} \\cdot 1"] == verdict
