"""The audit of sections 1.4-1.10: the real notes' verdicts, and edits flagged at their own line.

Expected verdicts are facts of the notes file read off it by hand (e.g. line 251 prints
sigma'(z2) = 0.2297 while 0.642713 * 0.357287 = 0.229633; line 269 prints -0.00514 where both the
exact -0.0051215 and the rounded -0.0103 * 0.5 = -0.00515 disagree). Each edit is made to a copy of the
notes; it must be flagged at its own line while every claim of the edited section not touched keeps
its verdict.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from verify.audit import AuditReport, audit_file, audit_text

NOTES = Path(__file__).resolve().parents[2] / "shared" / "notes" / "01_foundations.md"
pytestmark = pytest.mark.skipif(not NOTES.is_file(), reason=f"the notes are not at {NOTES}")
SCOPE = ("1.4", "1.5", "1.6", "1.7", "1.8", "1.9", "1.10")

# (line, verdict) of the claims of 1.4-1.10 that are not simply correct, read off the file by hand.
NOT_CORRECT = {
    "backprop_221.delta2": (251, "warning"),      # -0.0821 only from the rounded -0.3573 * 0.2297
    "backprop_221.dsigma_z2": (251, "error"),     # 0.2297: sigma'(0.587161) = 0.229633
    "backprop_221.delta1_1": (263, "warning"),    # -0.0103 only from rounded intermediates
    "backprop_221.dW1_11": (269, "error"),        # -0.00514: exact -0.00512, rounded -0.00515
    "backprop_221.dW1_12": (269, "warning"),      # -0.00103 only from the rounded -0.0103
    "init_linear_output_variance": (326, "error"),  # Var(x) where E[x^2] is needed for ReLU inputs
    "relu_variance": (326, "error"),              # ReLU halves the second moment, not the variance
}


def verdicts(report: AuditReport) -> dict[str, tuple[int | None, str]]:
    """(line, verdict) of every claim finding (arithmetic fragments and listing runs left out)."""
    return {f.claim: (f.line, f.verdict) for f in report.findings
            if not f.claim.startswith(("arithmetic@", "listing@"))}


@pytest.fixture(scope="module")
def notes_text() -> str:
    return NOTES.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def real_report() -> AuditReport:
    return audit_file(NOTES)


@pytest.fixture(scope="module")
def real(real_report) -> dict[str, tuple[int | None, str]]:
    return verdicts(real_report)


def test_claims_of_1_4_to_1_10_are_correct_except_the_known_slips(real_report, real):
    sections = {f.claim: f.section for f in real_report.findings}
    wrong = {k: v for k, v in real.items()
             if v[1] not in ("correct", "not stated", "definition") and sections[k] in SCOPE}
    assert wrong == NOT_CORRECT


def test_every_claim_of_1_4_to_1_10_is_found(real):
    assert [k for k, (_, v) in real.items() if v in ("not found", "unknown", "unparsed")] == []


EDITS = [
    # (what, old text, new text, claim, line)
    ("a gradient-descent table cell", "| 2 | 3.200 | 6.4 | 2.560 |", "| 2 | 3.200 | 6.4 | 2.570 |",
     "gd_table.update_2", 171),
    ("the eta = 1.1 multiplier", "the multiplier becomes $-1.2$", "the multiplier becomes $-1.1$",
     "gd_multiplier_divergent", 174),
    ("the transpose in BP2", r"\mathbf{W}^{(\ell+1)\top}\,\boldsymbol{\delta}^{(\ell+1)} \right)",
     r"\mathbf{W}^{(\ell+1)}\,\boldsymbol{\delta}^{(\ell+1)} \right)", "bp2_hidden_error", 207),
    ("the layer of the slope in BP2", r"\right) \odot \sigma'(\mathbf{z}^{(\ell)})",
     r"\right) \odot \sigma'(\mathbf{z}^{(\ell+1)})", "bp2_hidden_error", 207),
    ("the index order of BP2's inner derivative", r"The inner derivative is $W_{kj}^{(\ell+1)}",
     r"The inner derivative is $W_{jk}^{(\ell+1)}", "bp2_inner_derivative", 210),
    ("the layer of the activation in BP3", r"\boldsymbol{\delta}^{(\ell)} \,\mathbf{a}^{(\ell-1)\top}",
     r"\boldsymbol{\delta}^{(\ell)} \,\mathbf{a}^{(\ell)\top}", "bp3_weight_grad", 215),
    ("where the transpose sits in BP3", r"\boldsymbol{\delta}^{(\ell)} \,\mathbf{a}^{(\ell-1)\top}",
     r"\mathbf{a}^{(\ell-1)} \,\boldsymbol{\delta}^{(\ell)\top}", "bp3_weight_grad", 215),
    ("a factor in BP1", r"L \;\odot\; \sigma'(\mathbf{z}^{(L)})", r"L \;\odot\; 2\sigma'(\mathbf{z}^{(L)})",
     "bp1_output_error", 199),
    ("a forward-pass number", r"\begin{bmatrix}0.07\\0.19\end{bmatrix}", r"\begin{bmatrix}0.07\\0.18\end{bmatrix}",
     "backprop_221.z1_2", 239),
    ("the worked update", "0.5 - 0.1(-0.0425)=0.50425", "0.5 - 0.1(-0.0425)=0.50525",
     "backprop_221.W2_1_updated", 272),
    ("Adam's bias correction", r"\hat{\mathbf{m}}_t = \frac{\mathbf{m}_t}{1-\beta_1^t}",
     r"\hat{\mathbf{m}}_t = \frac{\mathbf{m}_t}{1-\beta_1}", "adam_m_hat", 309),
    ("the Xavier variance", r"$\text{Var}(W) = \dfrac{2}{n_{\text{in}}+n_{\text{out}}}$",
     r"$\text{Var}(W) = \dfrac{1}{n_{\text{in}}+n_{\text{out}}}$", "xavier_variance", 322),
    ("the He variance", r"$\text{Var}(W) = \dfrac{2}{n_{\text{in}}}$", r"$\text{Var}(W) = \dfrac{1}{n_{\text{in}}}$",
     "he_variance", 323),
    ("the L2 gradient in prose", r"gradient gains $+\lambda\theta$", r"gradient gains $+2\lambda\theta$",
     "l2_gradient", 332),
    ("the dropout scale in prose", "scale survivors by $1/(1-p)$", "scale survivors by $1/p$", "dropout_scale", 334),
    # definitions: nothing to prove, but an edit makes the notes disagree with what the derivations use
    ("the BCE definition", r"+ (1-y)\log(1-\hat{y})\big]", r"+ y\log(1-\hat{y})\big]", "bce_definition", 120),
    ("the momentum velocity", r"\mathbf{v}_t = \beta \mathbf{v}_{t-1} + (1-\beta)\nabla L",
     r"\mathbf{v}_t = \beta \mathbf{v}_{t-1} + \beta\nabla L", "momentum_velocity", 283),
    ("Adam's second moment", "(1-\\beta_2)(\\nabla L)^2\n", "(1-\\beta_2)(\\nabla L)\n", "adam_second_moment", 305),
    ("Adam's default beta_2", r"\beta_2=0.999", r"\beta_2=0.99", "adam_default_beta2", 316),
    ("the batch variance", r"\sigma^2 = \frac{1}{B}\sum_i (x_i-\mu)^2", r"\sigma^2 = \frac{1}{B}\sum_i (x_i-\mu)",
     "batchnorm_variance", 347),
    ("the layer-norm output", r"y_j = \gamma_j \frac{x_j-\mu}", r"y_j = \gamma_j \frac{x_j+\mu}",
     "layernorm_output", 357),
]


def test_definitions_the_notes_write_are_the_ones_the_derivations_use(real):
    definitions = {k: v for k, v in real.items() if v[1] == "definition"}
    assert {"momentum_velocity", "adam_second_moment", "batchnorm_variance", "layernorm_output"} <= set(definitions)


@pytest.mark.parametrize(("what", "old", "new", "claim", "line"), EDITS, ids=[e[0] for e in EDITS])
def test_an_edit_is_an_error_at_its_line_and_nothing_else_changes(notes_text, real_report, real, what, old, new,
                                                                  claim, line):
    assert notes_text.count(old) == 1, f"the edit target {old!r} must occur exactly once"
    section = next(f.section for f in real_report.findings if f.claim == claim)
    after = verdicts(audit_text(notes_text.replace(old, new), source=str(NOTES), sections=(section,)))
    assert after[claim] == (line, "error"), what
    changed = {k: (real.get(k), v) for k, v in after.items() if k != claim and real.get(k) != v}
    assert changed == {}, what


def by_claim(report: AuditReport) -> dict[str, object]:
    """Findings keyed by claim."""
    return {f.claim: f for f in report.findings}


def test_the_numpy_listing_runs_and_prints_what_it_states(real_report):
    listing = [f for f in real_report.findings if f.claim.startswith("listing@") and f.verdict != "not run"]
    assert [(f.line, f.verdict) for f in listing] == [(399, "correct")]
    assert "seeds" in listing[0].message


def test_the_pytorch_listing_is_never_run(real_report):
    torch = [f for f in real_report.findings if f.claim.startswith("listing@") and f.verdict == "not run"]
    assert [f.line for f in torch] == [406]
    assert "imports torch" in torch[0].message


def test_a_stated_output_the_listing_does_not_print_is_an_error_at_the_print_line(notes_text):
    edited = notes_text.replace("# ≈ [0, 1, 1, 0]", "# ≈ [1, 0, 0, 1]")
    assert edited != notes_text
    report = audit_text(edited, source=str(NOTES), sections=("1.10",))
    found = [f for f in report.findings if f.claim.startswith("listing@") and f.verdict != "not run"]
    assert [(f.line, f.verdict) for f in found] == [(399, "error")]


def test_a_listing_that_no_longer_learns_is_an_error(notes_text):
    edited = notes_text.replace("eta = 0.5\n", "eta = 0.0\n")
    assert edited != notes_text
    report = audit_text(edited, source=str(NOTES), sections=("1.10",))
    found = [f for f in report.findings if f.claim.startswith("listing@") and f.verdict != "not run"]
    assert [(f.line, f.verdict) for f in found] == [(399, "error")]


LISTING_EDITS = [
    ("the activation of dZ1", "dZ1   = dA1 * dsigmoid(A1)", "dZ1   = dA1 * dsigmoid(A2)", "xor_dZ1", 391),
    ("the activation of dW2", "dW2   = A1.T @ dZ2", "dW2   = X.T @ dZ2", "xor_dW2", 388),
    ("the missing transpose of dA1", "dA1   = dZ2 @ W2.T", "dA1   = dZ2 @ W2", "xor_dA1", 390),
    ("the axis of db1", "db1   = dZ1.sum(0, keepdims=True)", "db1   = dZ1.sum(1, keepdims=True)", "xor_db1", 393),
    ("the factor of dA2", "dA2   = 2*(A2 - Y)/len(X)", "dA2   = (A2 - Y)/len(X)", "xor_dA2", 386),
]


@pytest.mark.parametrize(("what", "old", "new", "claim", "line"), LISTING_EDITS, ids=[e[0] for e in LISTING_EDITS])
def test_an_edited_listing_line_is_an_error_at_that_line_only(notes_text, real, what, old, new, claim, line):
    assert notes_text.count(old) == 1
    after = verdicts(audit_text(notes_text.replace(old, new), source=str(NOTES), sections=("1.10",)))
    assert after[claim] == (line, "error"), what
    assert {k: v for k, v in after.items() if k != claim and real.get(k) != v} == {}, what
