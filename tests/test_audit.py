"""The audit reads what a notes file actually writes and judges it against the derivations.

Expected lines and verdicts for the real notes are facts of that file, read off it by hand: e.g.
the GELU row (line 88) writes its range as R while GELU is bounded below, and every other 1.1-1.3
claim is right. Edits are made to copies in tmp_path; each must be flagged at its own line while
every claim not touched keeps its verdict.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import sympy as sp
from rich.console import Console

from derive.core import registry
from derive.functions import sigmoid
from derive.proof import check_equal
from verify.audit import AuditReport, Finding, NotesError, audit_file, audit_text, judge_number
from verify.audit_fragments import arithmetic
from verify.notation import (
    Context,
    NotationError,
    Partial,
    clauses,
    decimal,
    parse_expr_latex,
    parse_prose_cases,
    parse_set,
)
from verify.notes import parse_notes

NOTES = Path(__file__).resolve().parents[2] / "shared" / "notes" / "01_foundations.md"
DATA = Path(__file__).resolve().parent / "data"
SCOPE = ("1.1", "1.2", "1.3")
needs_notes = pytest.mark.skipif(not NOTES.is_file(), reason=f"the notes are not at {NOTES}")

# (line, verdict) of every 1.1-1.3 claim in the real notes, read off the file.
REAL = {
    "neuron_preactivation": (49, "correct"),
    "neuron_example.z": (75, "correct"),
    "neuron_example.a": (75, "correct"),
    "network_forward": (65, "correct"),
    "linear_collapse": (80, "correct"),
    "sigmoid_grad": (84, "correct"),
    "sigmoid_range": (84, "correct"),
    "tanh_grad": (85, "correct"),
    "tanh_range": (85, "correct"),
    "relu_grad": (86, "correct"),
    "relu_range": (86, "correct"),
    "leaky_relu_grad": (87, "correct"),
    "leaky_relu_range": (87, "correct"),
    "gelu_grad": (88, "not stated"),
    "gelu_range": (88, "error"),
    "softmax_sum": (89, "correct"),
    "gelu_tanh": (94, "definition"),
    "softmax_jacobian": (100, "correct"),
    "softmax_numerator_slope": (103, "correct"),
    "softmax_denominator_term": (103, "correct"),
    "softmax_off_diagonal_quotient": (103, "correct"),
    "softmax_off_diagonal": (103, "correct"),
    "mse_grad": (112, "correct"),
    "bce_grad_logit": (126, "correct"),
    "bce_grad_yhat": (129, "correct"),
    "yhat_slope": (129, "correct"),
    "ce_onehot": (136, "correct"),
    "ce_grad_logits": (142, "correct"),
    **{key: (145, "correct") for key in ("ce_chain_rule", "ce_chain_jacobian", "ce_chain_cancel", "ce_chain_sum",
                                         "ce_chain_labels")},
}
# the same claims in tests/data/mini_foundations.md (written for these tests)
MINI = {
    "neuron_preactivation": 10, "neuron_example.z": 16, "neuron_example.a": 16, "network_forward": 22,
    "linear_collapse": 27, "sigmoid_grad": 31, "sigmoid_range": 31, "tanh_grad": 32, "tanh_range": 32,
    "relu_grad": 33, "relu_range": 33, "leaky_relu_grad": 34, "leaky_relu_range": 34, "gelu_grad": 35,
    "gelu_range": 35, "softmax_sum": 36, "gelu_tanh": 39, "softmax_jacobian": 43,
    "softmax_numerator_slope": 46, "softmax_denominator_term": 46, "softmax_off_diagonal_quotient": 46,
    "softmax_off_diagonal": 46, "mse_grad": 51, "bce_grad_yhat": 54, "yhat_slope": 54, "bce_grad_logit": 57,
    "ce_onehot": 61, "ce_grad_logits": 65, "ce_chain_rule": 68, "ce_chain_jacobian": 68, "ce_chain_cancel": 68,
    "ce_chain_sum": 68, "ce_chain_labels": 68,
}


def by_claim(report: AuditReport) -> dict[str, Finding]:
    """Findings keyed by claim."""
    return {f.claim: f for f in report.findings}


DEFINITIONS = frozenset(d.key for d in registry().definitions)


def verdicts(report: AuditReport) -> dict[str, tuple[int | None, str]]:
    """(line, verdict) of every claim of sections 1.1-1.3 (definitions are tested in test_audit_sections.py)."""
    return {f.claim: (f.line, f.verdict) for f in report.findings if f.section in SCOPE and f.claim not in DEFINITIONS}


def edited_copy(tmp_path: Path, source: Path, old: str, new: str) -> Path:
    """A copy of ``source`` with the one occurrence of ``old`` replaced by ``new``."""
    text = source.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"the edit target {old!r} must occur exactly once"
    path = tmp_path / source.name
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def real_report(real_notes_audit: AuditReport) -> AuditReport:
    return real_notes_audit


@pytest.fixture(scope="module")
def real_scoped(real_notes_audit: AuditReport) -> dict[str, tuple[int | None, str]]:
    # The whole file's audit, read for 1.1-1.3 (the mini notes test the ``sections=`` limit itself).
    return verdicts(real_notes_audit)


@pytest.fixture(scope="module")
def mini_report() -> AuditReport:
    return audit_file(DATA / "mini_foundations.md", sections=SCOPE)


# ---------------------------------------------------------------------------------------------
# The real notes


@needs_notes
def test_real_notes_claims_of_1_1_to_1_3_have_the_expected_lines_and_verdicts(real_report):
    assert verdicts(real_report) == REAL


@needs_notes
def test_gelu_range_written_as_r_is_an_error_at_its_line(real_report):
    f = by_claim(real_report)["gelu_range"]
    assert (f.line, f.severity, f.stated) == (88, "error", r"\mathbb{R}")
    assert f.expected is not None and f.expected.startswith("[-0.16997")


@needs_notes
def test_sigmoid_derivative_is_correct_as_written_in_the_table(real_report):
    f = by_claim(real_report)["sigmoid_grad"]
    assert (f.line, f.verdict, f.severity) == (84, "correct", "info")
    assert f.stated == r"\sigma(z)\,(1-\sigma(z))"


@needs_notes
def test_gelu_derivative_left_out_by_the_notes_is_an_info_finding(real_report):
    f = by_claim(real_report)["gelu_grad"]
    assert (f.line, f.severity, f.verdict) == (88, "info", "not stated")


@needs_notes
def test_notes_index_names_are_mapped_onto_the_records(real_report):
    found = by_claim(real_report)
    assert found["ce_grad_logits"].symbols == {"k": "j"}
    assert found["mse_grad"].symbols == {"i": "j"}
    assert found["bce_grad_logit"].symbols == {"\\hat{y}": "sigmoid(z)"}


@needs_notes
def test_the_real_notes_audit_exits_1_because_of_the_gelu_range(real_report):
    assert real_report.exit_code == 1


@needs_notes
def test_every_display_and_inline_formula_of_the_notes_gets_a_verdict(real_report):
    notes = parse_notes(NOTES.read_text(encoding="utf-8"))
    judged = {(v.line, v.col) for v in real_report.fragments if v.kind != "number"}
    assert judged == {(m.line, m.col) for m in notes.math}
    c = real_report.coverage
    assert c["fragments"] == len(real_report.fragments)
    assert c["unchecked"] == sum(v.verdict == "unchecked" for v in real_report.fragments)


# ---------------------------------------------------------------------------------------------
# Edits to a copy of the real notes: flagged at the right line, the rest unchanged


def assert_only_changed(before: dict, after: dict, claim: str, expected: tuple[int | None, str],
                        shift_after: int | None = None) -> None:
    """``claim`` now has ``expected``; every other claim keeps its verdict (lines shifted past a deletion)."""
    assert after[claim] == expected
    for key, (line, verdict) in before.items():
        if key == claim:
            continue
        moved = line - 1 if shift_after is not None and line is not None and line > shift_after else line
        assert after[key] == (moved, verdict), key


@needs_notes
def test_flipping_the_sign_of_the_bce_logit_gradient_is_an_error_at_line_126(tmp_path, real_scoped):
    copy = edited_copy(tmp_path, NOTES, r"\partial z} = \hat{y} - y", r"\partial z} = y - \hat{y}")
    report = audit_file(copy, sections=SCOPE)
    assert_only_changed(real_scoped, verdicts(report), "bce_grad_logit", (126, "error"))
    assert by_claim(report)["bce_grad_logit"].stated == r"y - \hat{y}"


@needs_notes
def test_changing_0_2689_to_0_2699_is_an_error_at_line_75(tmp_path, real_scoped):
    copy = edited_copy(tmp_path, NOTES, "= 0.2689", "= 0.2699")
    report = audit_file(copy, sections=SCOPE)
    assert_only_changed(real_scoped, verdicts(report), "neuron_example.a", (75, "error"))
    f = by_claim(report)["neuron_example.a"]
    assert (f.stated, f.expected) == ("0.2699", "0.2689")


@needs_notes
def test_changing_a_table_cell_derivative_is_an_error_in_that_row(tmp_path, real_scoped):
    copy = edited_copy(tmp_path, NOTES, r"| $1-\tanh^2(z)$ |", r"| $1+\tanh^2(z)$ |")
    report = audit_file(copy, sections=SCOPE)
    assert_only_changed(real_scoped, verdicts(report), "tanh_grad", (85, "error"))


@needs_notes
def test_deleting_the_softmax_jacobian_line_lists_it_as_not_stated_never_an_error(tmp_path, real_scoped):
    lines = NOTES.read_text(encoding="utf-8").split("\n")
    assert lines[99].startswith(r"\frac{\partial s_i}{\partial z_j}")
    copy = tmp_path / NOTES.name
    copy.write_text("\n".join(lines[:99] + lines[100:]), encoding="utf-8")
    report = audit_file(copy, sections=SCOPE)
    assert "softmax_jacobian" not in by_claim(report)
    assert "softmax_jacobian" in report.coverage["not_stated_in_this_file"]
    assert not any(f.severity == "error" and f.claim == "softmax_jacobian" for f in report.findings)


# ---------------------------------------------------------------------------------------------
# Synthetic notes (always run)


def test_synthetic_notes_claims_are_found_at_their_lines(mini_report):
    assert {k: line for k, (line, _) in verdicts(mini_report).items()} == MINI


def test_synthetic_notes_claims_are_correct_or_not_stated(mini_report):
    # GELU' has no closed form in the notes; the tanh approximation is a definition, written as the record's.
    found = verdicts(mini_report)
    assert {k for k, (_, v) in found.items() if v != "correct"} == {"gelu_grad", "gelu_tanh"}
    assert (found["gelu_grad"][1], found["gelu_tanh"][1]) == ("not stated", "definition")


def test_a_rounded_interval_end_is_judged_at_the_precision_written(tmp_path):
    copy = edited_copy(tmp_path, DATA / "mini_foundations.md", r"$[-0.17,\infty)$", r"$[-0.18,\infty)$")
    assert by_claim(audit_file(copy, sections=SCOPE))["gelu_range"].verdict == "error"


def test_the_written_tanh_approximation_is_checked_against_the_record(tmp_path):
    copy = edited_copy(tmp_path, DATA / "mini_foundations.md", "0.044715 z^3", "0.04715 z^3")
    f = by_claim(audit_file(copy, sections=SCOPE))["gelu_tanh"]
    assert (f.verdict, f.line) == ("error", 39)


def test_a_product_in_the_wrong_order_is_never_correct(tmp_path):
    copy = edited_copy(tmp_path, DATA / "mini_foundations.md", r"= (\mathbf{W}_2\mathbf{W}_1)\mathbf{x}",
                       r"= (\mathbf{W}_1\mathbf{W}_2)\mathbf{x}")
    assert by_claim(audit_file(copy, sections=SCOPE))["linear_collapse"].verdict == "error"


def test_a_symbol_the_record_does_not_know_is_unknown_never_correct(tmp_path):
    copy = edited_copy(tmp_path, DATA / "mini_foundations.md", r"| $\sigma(z)(1-\sigma(z))$ |",
                       r"| $\sigma(z)(1-\sigma(z)) + q$ |")
    f = by_claim(audit_file(copy, sections=SCOPE))["sigmoid_grad"]
    assert (f.verdict, f.severity) == ("unknown", "warning")


def test_a_leaky_relu_cell_with_the_wrong_slope_is_an_error(tmp_path):
    copy = edited_copy(tmp_path, DATA / "mini_foundations.md", r"else $\alpha$", r"else $0$")
    assert by_claim(audit_file(copy, sections=SCOPE))["leaky_relu_grad"].verdict == "error"


def test_a_wrong_index_in_the_softmax_jacobian_is_an_error(tmp_path):
    copy = edited_copy(tmp_path, DATA / "mini_foundations.md", r"s_i(\delta_{ij} - s_j)", r"s_j(\delta_{ij} - s_j)")
    assert by_claim(audit_file(copy, sections=SCOPE))["softmax_jacobian"].verdict == "error"


def test_a_claim_in_a_missing_section_is_not_stated_and_raises_no_error(tmp_path):
    text = (DATA / "mini_foundations.md").read_text(encoding="utf-8")
    copy = tmp_path / "cut.md"
    copy.write_text(text.split("## 1.3")[0], encoding="utf-8")
    report = audit_file(copy, sections=SCOPE)
    assert "mse_grad" not in by_claim(report)
    assert "mse_grad" in report.coverage["not_stated_in_this_file"]
    assert report.exit_code == 0


# ---------------------------------------------------------------------------------------------
# Numbers


def test_a_number_is_correct_when_the_exact_value_rounds_to_it():
    assert judge_number(decimal("0.333"), sp.Rational(1, 3))[0] == "correct"


def test_a_number_off_in_its_last_place_is_an_error():
    assert judge_number(decimal("0.334"), sp.Rational(1, 3))[0] == "error"


def test_a_number_right_only_from_rounded_intermediates_is_a_warning():
    assert judge_number(decimal("0.334"), sp.Rational(1, 3), sp.Rational(334, 1000))[0] == "warning"


def test_a_number_is_judged_at_the_precision_it_is_written_with():
    assert judge_number(decimal("0.3"), sp.Rational(1, 3))[0] == "correct"
    assert judge_number(decimal("0.3334"), sp.Rational(1, 3))[0] == "error"


def test_numeric_chains_without_records_get_arithmetic_verdicts():
    report = audit_file(DATA / "arithmetic.md", sections=())
    frag = {v.line: v.verdict for v in report.fragments if v.kind == "display"}
    assert frag == {6: "correct", 10: "error", 14: "warning", 18: "correct"}
    extra = {f.line: (f.claim, f.severity) for f in report.findings}
    assert extra == {10: ("arithmetic@10", "error"), 14: ("arithmetic@14", "warning")}


@pytest.mark.parametrize(("chain", "verdict"), [
    (r"0.5872 = 0.5(0.5175)+0.6(0.5474)", "correct"),
    (r"0.5827 = 0.5(0.5175)+0.6(0.5474)", "error"),
    (r"[-0.0425,\,-0.0449] = -0.0821\,[0.5175,\,0.5474]", "correct"),
])
def test_a_numeric_chain_written_value_first_is_checked_at_its_precision(chain, verdict):
    (clause,) = clauses(chain)
    assert arithmetic(clause)[0] == verdict


def test_values_given_to_names_are_definitions_and_prose_numbers_are_unchecked():
    report = audit_file(DATA / "arithmetic.md", sections=())
    inline = [(v.kind, v.verdict, v.reason) for v in report.fragments if v.line >= 21]
    assert inline == [("inline", "definition", r"defines eta"), ("inline", "definition", "defines beta_1"),
                      ("inline", "definition", r"defines \mathbf{x}"), ("number", "unchecked", "")]
    assert report.coverage["code_blocks_skipped"] == 1


# ---------------------------------------------------------------------------------------------
# Hostile input: read as data, never executed


def test_hostile_formulas_are_unparsed_and_nothing_runs(tmp_path, monkeypatch):
    import sympy.parsing.sympy_parser as sympy_parser

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"parse_expr called with {args!r}")

    monkeypatch.setattr(sympy_parser, "parse_expr", refuse)
    monkeypatch.chdir(tmp_path)
    report = audit_file(DATA / "hostile.md", sections=("1.2",))
    found = by_claim(report)
    assert {found[k].verdict for k in ("sigmoid_grad", "sigmoid_range", "tanh_grad", "softmax_jacobian")} == {
        "unparsed"}
    assert found["tanh_range"].verdict == "correct"
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("text", [
    "__import__('os').system('x')", r"\input{/etc/passwd}", r"\write18{ls}", r"\immediate\write18{ls}",
    r"\def\x{1}", 'eval("1")', "2^{99999999}", "x^{10^{9}}", "(" * 200 + "x" + ")" * 200, "a" * 5000,
    r"\sum_{i=1}^{10^{12}} i", r"\begin{verbatim}x\end{verbatim}", "$x$", "x \\\\ y",
])
def test_unsafe_or_unreadable_latex_raises_notation_error(text):
    with pytest.raises(NotationError):
        parse_expr_latex(text)


def test_letters_that_spell_a_call_are_only_a_product_of_symbols():
    value = parse_expr_latex("eval(1)")
    assert isinstance(value, sp.Expr) and {str(s) for s in value.free_symbols} == {"v", "a", "l"}


# ---------------------------------------------------------------------------------------------
# The notation table


@pytest.mark.parametrize(("latex", "expected"), [
    (r"\sigma(z)\,(1-\sigma(z))", "(1 - sigmoid(z))*sigmoid(z)"),
    (r"1-\tanh^2(z)", "1 - tanh(z)**2"),
    (r"\dfrac{1}{1+e^{-z}}", "1/(1 + exp(-z))"),
    (r"\frac{2}{N}(\hat{y}_i - y_i)", "2*(\\hat{y}[i] - y[i])/N"),
    (r"s_i(\delta_{ij} - s_j)", "(KroneckerDelta(i, j) - s[j])*s[i]"),
    (r"\sum_{i=1}^{n} w_i x_i + b", "b + Sum(w[i]*x[i], (i, 1, n))"),
    (r"\tfrac12(0.6427-1)^2", "12766329/200000000"),
    (r"\boxed{\hat y - y}", "\\hat{y} - y"),
    (r"\max(\alpha z, z)", "Max(z, alpha*z)"),
    (r"z\,\Phi(z)", "z*Phi(z)"),
    (r"\left(1 + \tanh\!\left[z\right]\right)", "tanh(z) + 1"),
])
def test_latex_is_read_through_the_notation_table(latex, expected):
    assert str(parse_expr_latex(latex)) == expected


@pytest.mark.parametrize(("latex", "expected"), [
    (r"\frac{\lambda}{2}\|\theta\|^2", "lambda*Sum(theta[i]**2, (i, 1, n))/2"),
    (r"\lambda\|\theta\|_1", "lambda*Sum(Abs(theta[i]), (i, 1, n))"),
    (r"\|\mathbf{w}\|_2", "sqrt(Sum(\\mathbf{w}[i]**2, (i, 1, n)))"),
])
def test_norms_of_a_vector_name_are_sums_over_its_entries(latex, expected):
    assert str(parse_expr_latex(latex)) == expected


@pytest.mark.parametrize("latex", [r"\|\theta\|_3", r"\|\theta\|_\infty", r"\|x - y\|", r"\|\theta"])
def test_a_norm_the_table_does_not_know_is_refused(latex):
    with pytest.raises(NotationError):
        parse_expr_latex(latex)


def test_a_bare_sum_is_a_name_for_the_record_to_map():
    value = parse_expr_latex(r"-e^{z_i}e^{z_j}/(\sum)^2")
    assert sp.Symbol(r"\sum") in value.free_symbols
    with pytest.raises(NotationError):
        parse_expr_latex(r"\sum x_i")


def test_sigma_is_the_records_generic_activation_when_the_context_says_so():
    z = sp.Symbol("z")
    assert parse_expr_latex(r"\sigma(z)") == sigmoid(z)
    assert parse_expr_latex(r"\sigma(z)", Context(functions=frozenset({"sigma"}))) == sp.Function("sigma")(z)
    assert parse_expr_latex(r"\sigma^{(\ell)}(z)") == sp.Function("sigma^{(\\ell)}")(z)


def test_a_product_finished_in_a_word_reads_the_word_as_a_name():
    value = parse_prose_cases([("math", r"-\eta\cdot"), ("text", "grad")])
    assert value == -sp.Symbol("eta") * sp.Symbol(r"\text{grad}")


def test_leibniz_derivatives_are_kept_opaque_by_the_parser():
    value = parse_expr_latex(r"\frac{\partial L}{\partial z_k}")
    assert isinstance(value, Partial) and value.args[0] == sp.Symbol("L")


def test_an_identity_for_every_activation_is_refuted_by_a_concrete_one():
    sigma, z = sp.Function("sigma"), sp.Symbol("z")
    wrong = check_equal(sp.diff(sigma(2 * z), z), 2 * sp.Derivative(sigma(z), z), {"z": (-1.0, 1.0)})
    assert wrong.verdict == "refuted"
    assert check_equal(sp.diff(sigma(z) ** 2, z), 2 * sigma(z) * sp.Derivative(sigma(z), z),
                       {"z": (-1.0, 1.0)}).verdict == "proven"


def test_sums_that_differ_only_in_their_index_name_cancel():
    n, k, q = sp.symbols("n k q", integer=True, positive=True)
    x = sp.IndexedBase("x")
    proof = check_equal(sp.Sum(x[k] ** 2, (k, 1, n)), sp.Sum(x[q] ** 2, (q, 1, n)), {"x": (-1.0, 1.0), "n": (1, 3)})
    assert (proof.verdict, proof.method) == ("proven", "everywhere: identical")


def test_cases_become_a_piecewise():
    value = parse_expr_latex(r"\begin{cases}1 & z>0\\0 & z<0\end{cases}")
    z = sp.Symbol("z")
    assert value == sp.Piecewise((1, z > 0), (0, z < 0))


def test_a_bmatrix_becomes_a_matrix_with_exact_entries():
    assert parse_expr_latex(r"\begin{bmatrix}0.1 & 0.2\\0.3 & 0.4\end{bmatrix}") == sp.ImmutableMatrix(
        [[sp.Rational(1, 10), sp.Rational(1, 5)], [sp.Rational(3, 10), sp.Rational(2, 5)]])


def test_bold_names_do_not_commute():
    assert parse_expr_latex(r"\mathbf{W}\mathbf{x}") != parse_expr_latex(r"\mathbf{x}\mathbf{W}")


def test_a_text_subscript_indexes_a_name_the_record_indexes():
    ctx = Context(indexed=frozenset({"\\hat{y}"}))
    value = parse_expr_latex(r"-\log \hat{y}_{\text{correct}}", ctx)
    assert value == -sp.log(sp.IndexedBase("\\hat{y}")[sp.Symbol("correct", integer=True, positive=True)])
    assert parse_expr_latex(r"L_{\text{MSE}}") == sp.Symbol("L_{MSE}")


@pytest.mark.parametrize(("latex", "expected"), [
    ("(0,1)", sp.Interval.open(0, 1)), (r"[0,\infty)", sp.Interval(0, sp.oo)), (r"\mathbb{R}", sp.S.Reals),
    (r"\left(-1, 1\right)", sp.Interval.open(-1, 1)), (r"\{0,1\}", sp.FiniteSet(0, 1)),
    (r"(-\infty,0) \cup (0,\infty)", sp.Union(sp.Interval.open(-sp.oo, 0), sp.Interval.open(0, sp.oo))),
])
def test_ranges_are_read_as_sets(latex, expected):
    assert parse_set(latex) == expected


def test_a_cell_in_words_becomes_a_piecewise():
    value = parse_prose_cases([("math", "1"), ("text", " if "), ("math", "z>0"), ("text", " else "),
                               ("math", r"\alpha")])
    z, alpha = sp.Symbol("z"), sp.Symbol("alpha")
    assert value == sp.Piecewise((1, z > 0), (alpha, True))


def test_clauses_split_at_quad_and_relations_keep_their_spans():
    text = r"z = a + b = c, \qquad y \approx 0.5"
    parts = clauses(text)
    assert [[(m.relation, m.text) for m in c.members] for c in parts] == [
        [("", "z"), ("=", "a + b"), ("=", "c")], [("", "y"), (r"\approx", "0.5")]]
    assert all(text[m.start:m.end] == m.text for c in parts for m in c.members)


def test_decimals_keep_their_written_precision():
    d = decimal("-0.2690")
    assert d is not None and (d.value, d.places) == (sp.Rational(-269, 1000), 4)
    assert decimal("1e-3") is None


# ---------------------------------------------------------------------------------------------
# Reading the Markdown


def test_fragments_carry_their_line_section_and_table_column():
    notes = parse_notes((DATA / "mini_foundations.md").read_text(encoding="utf-8"))
    first = notes.math[0]
    assert (first.kind, first.line, first.section) == ("display", 10, "1.1")
    assert notes.lines[first.line - 1][first.col:].startswith(r"z = \mathbf{w}")
    tanh = notes.row_at(32)
    assert tanh is not None and tanh.cell("deriv").text == r"$1-\tanh^2(z)$"
    cell_math = [m for m in notes.math_on(32) if m.cell == 1]
    assert [m.latex for m in cell_math] == [r"1-\tanh^2(z)"]


def test_code_fences_front_matter_and_headings_are_not_math():
    text = "---\nx: 1.5\n---\n\n## 2.1 Title 2.5\n\n```python\ny = 0.25  # $a$\n```\n\nSay 0.75 and $b = 2$.\n"
    notes = parse_notes(text)
    assert [m.latex for m in notes.math] == ["b = 2"]
    assert [(n.line, n.text) for n in notes.numbers] == [(11, "0.75")]
    assert [c.line for c in notes.code] == [7]
    assert notes.section_of(11) == "2.1"


# ---------------------------------------------------------------------------------------------
# Bad input


def test_a_missing_file_is_a_notes_error(tmp_path):
    with pytest.raises(NotesError, match="not found"):
        audit_file(tmp_path / "absent.md")


def test_a_directory_is_a_notes_error(tmp_path):
    with pytest.raises(NotesError, match="directory"):
        audit_file(tmp_path)


def test_non_utf8_bytes_are_a_notes_error_naming_the_line(tmp_path):
    path = tmp_path / "latin1.md"
    path.write_bytes("## 1.1 ok\n\ncaf\xe9\n".encode("latin-1"))
    with pytest.raises(NotesError, match="line 3"):
        audit_file(path)


def test_an_empty_file_is_a_notes_error(tmp_path):
    path = tmp_path / "empty.md"
    path.write_text("  \n\n", encoding="utf-8")
    with pytest.raises(NotesError, match="empty"):
        audit_file(path)


def test_a_file_over_the_size_limit_is_a_notes_error(tmp_path):
    path = tmp_path / "big.md"
    path.write_bytes(b"x" * (5 * 1024 * 1024 + 1))  # 5 MB: refused, since it cannot be audited within a minute
    with pytest.raises(NotesError, match="limit"):
        audit_file(path)


def test_notes_error_messages_are_one_line(tmp_path):
    with pytest.raises(NotesError) as info:
        audit_file(tmp_path / "absent.md")
    assert "\n" not in str(info.value)


# ---------------------------------------------------------------------------------------------
# Output


def test_json_has_findings_and_coverage_in_the_agreed_shape(mini_report):
    data = json.loads(mini_report.to_json())
    assert {"findings", "coverage"} <= set(data)
    for f in data["findings"]:
        assert {"claim", "line", "severity", "message", "stated", "expected"} <= set(f)
        assert f["severity"] in {"error", "warning", "info"}
    for key in ("claims", "found", "correct", "error", "warning", "unknown", "not_found", "unchecked"):
        assert isinstance(data["coverage"][key], int)
    scoped_definitions = [d for d in registry().definitions if d.section in SCOPE]
    assert data["coverage"]["claims"] + data["coverage"]["not_found"] == len(MINI) + len(scoped_definitions)
    for v in data["fragments"]:
        assert {"line", "kind", "text", "verdict", "reason"} <= set(v)


def test_output_is_deterministic_and_ordered_by_line():
    first = audit_file(DATA / "mini_foundations.md", sections=SCOPE)
    second = audit_file(DATA / "mini_foundations.md", sections=SCOPE)
    assert first.to_json() == second.to_json()
    assert first.to_markdown() == second.to_markdown()
    lines = [f.line for f in first.findings]
    assert lines == sorted(lines)


def test_the_errata_page_lists_errors_first(tmp_path):
    copy = edited_copy(tmp_path, DATA / "mini_foundations.md", "= 0.2689", "= 0.2699")
    page = audit_file(copy, sections=SCOPE).to_markdown()
    errors = page.split("## Errors")[1].split("## Warnings")[0]
    assert re.search(r"\| 16 \| neuron_example\.a \| error \|", errors)


def test_render_prints_notes_text_literally(mini_report):
    console = Console(record=True, width=240)
    mini_report.render(console)
    out = console.export_text()
    assert "relu_range" in out and "coverage:" in out
    assert "[bold]" not in out


def test_exit_code_is_1_only_with_an_error_finding():
    ok = Finding("a", 1, "info", "", None, None, "correct")
    bad = Finding("b", 2, "error", "", None, None, "error")
    warn = Finding("c", 3, "warning", "", None, None, "warning")
    assert AuditReport("x", [ok, warn], {}).exit_code == 0
    assert AuditReport("x", [ok, bad], {}).exit_code == 1


def test_audit_text_reads_a_string_like_a_file():
    text = (DATA / "mini_foundations.md").read_text(encoding="utf-8")
    assert verdicts(audit_text(text, sections=SCOPE)) == verdicts(audit_file(DATA / "mini_foundations.md",
                                                                               sections=SCOPE))
    with pytest.raises(NotesError):
        audit_text("   ")
