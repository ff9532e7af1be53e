"""A reworded copy of chapter 1 keeps the verdicts of the records that locate their claim by subject.

``tests/data/01_reworded.md`` states the same mathematics, numbers and errata as the course notes in
other sentences and notation (bold symbols, ``\\exp``, ``^T``, renamed indices, reordered terms and
subsections, split and merged displays). Every record the original states must be found there (by
subject, table row, stated form or code name) and judged as on the original; no record of ``derive/``
finds its claim by a regex on prose.
"""

from __future__ import annotations

import ast
from dataclasses import fields
from pathlib import Path

import pytest

from derive.core import Locator
from verify.audit import audit_file, audit_text, claims

ROOT = Path(__file__).resolve().parents[1]
REWORDED = ROOT / "tests" / "data" / "01_reworded.md"
ORIGINAL = ROOT.parent / "shared" / "notes" / "01_foundations.md"

#: Findings that are not a record's claim (line-level checks and listings).
SKIP = ("arithmetic@", "listing@", "relation@")
#: Records whose subject the reworded copy writes in a notation the parser does not read yet (none: the last,
#: ``\frac{d\sigma}{dz}(x)`` for ``\sigma'(x)``, is read since verify/notation_parser.named_slope).
NOTATION_GAPS: frozenset[str] = frozenset()



def _verdicts(path: Path) -> dict[str, str]:
    return {f.claim: f.verdict for f in audit_file(path).findings if not f.claim.startswith(SKIP)}


@pytest.fixture(scope="module")
def reworded() -> dict[str, str]:
    return _verdicts(REWORDED)


@pytest.fixture(scope="module")
def original(real_notes_audit) -> dict[str, str]:  # the session's audit of the course notes (skips without them)
    return {f.claim: f.verdict for f in real_notes_audit.findings if not f.claim.startswith(SKIP)}


def _by_subject() -> list[str]:
    """Every record the audit can find: all but those stated only in words no phrase reads."""
    return [c.key for c in claims() if c.locator.kind != "prose" or c.locator.subject]


def test_every_record_with_a_subject_is_found_in_the_reworded_copy(reworded):
    missing = [k for k in _by_subject() if k not in reworded]
    assert missing == []


def test_every_record_with_a_subject_keeps_its_verdict_in_the_reworded_copy(reworded, original):
    changed = {k: (original.get(k), reworded.get(k)) for k in _by_subject()
               if k not in NOTATION_GAPS and original.get(k) != reworded.get(k)}
    assert changed == {}


def test_the_reworded_copy_keeps_the_originals_errata(reworded):
    for key in ("gelu_range", "backprop_221.dsigma_z2", "backprop_221.dW1_11", "init_linear_output_variance",
                "relu_variance"):
        assert reworded.get(key) == "error", key


def test_every_claim_found_in_the_original_is_found_in_the_copy_with_its_verdict(reworded, original):
    changed = {k: (v, reworded.get(k)) for k, v in original.items() if k not in NOTATION_GAPS and reworded.get(k) != v}
    assert changed == {}


#: Records whose claim both copies make only in words, each worded differently: verify.phrases reads them.
IN_WORDS = ("gd_quadratic_closed_form", "gd_quadratic_limit", "gd_convergence_set", "gd_divergent_rate",
            "adam_m_expectation", "adam_v_expectation", "l1_sparsity", "l2_shrinkage", "dropout_mean",
            "batchnorm_undo")


def test_no_record_with_a_locator_is_missing_from_either_copy(reworded, original):
    for verdicts, path in ((original, ORIGINAL), (reworded, REWORDED)):  # a claim with no finding was not found
        assert [c.key for c in claims() if c.key not in verdicts] == [], path.name


def test_claims_made_in_words_are_read_from_both_wordings(reworded, original):
    for key in IN_WORDS:
        assert (original[key], reworded[key]) == ("correct", "correct"), key


def test_halving_the_variance_is_read_as_two_relations_in_both_wordings(reworded, original):
    for verdicts in (original, reworded):
        assert (verdicts["relu_variance"], verdicts["relu_second_moment"]) == ("error", "correct")


EDITS = [  # (what, text in the copy, edited text, record flagged)
    ("a sign", r"s_i(\delta_{ij} - s_j)", r"s_i(\delta_{ij} + s_j)", "softmax_jacobian"),
    ("an index", r"\frac{\partial s_i}{\partial z_j} = s_i(\delta_{ij} - s_j)",
     r"\frac{\partial s_i}{\partial z_j} = s_j(\delta_{ij} - s_j)", "softmax_jacobian"),
    ("a transpose", r"\boldsymbol{\delta}^{(l)} \,(\boldsymbol{a}^{(l-1)})^{\intercal}",
     r"(\boldsymbol{a}^{(l-1)})^{\intercal} \,\boldsymbol{\delta}^{(l)}", "bp3_weight_grad"),
    ("a layer", r"\left( (\boldsymbol{W}^{(l+1)})^{T}\,\boldsymbol{\delta}^{(l+1)} \right)",
     r"\left( (\boldsymbol{W}^{(l)})^{T}\,\boldsymbol{\delta}^{(l+1)} \right)", "bp2_hidden_error"),
    ("a constant", r"\frac{\boldsymbol{m}_t}{1-\beta_1^t}", r"\frac{\boldsymbol{m}_t}{1-\beta_2^t}", "adam_m_hat"),
    ("a worked-example number", r"\sigma(0.5872) \approx 0.6427", r"\sigma(0.5872) \approx 0.6472",
     "backprop_221.yhat"),
    ("a table cell", r"| $(1-\sigma(z))\,\sigma(z)$ |", r"| $(1+\sigma(z))\,\sigma(z)$ |", "sigmoid_grad"),
    ("a prose formula", r"multiplied by $1/(1-p)$", r"multiplied by $1/(1+p)$", "dropout_scale"),
]
WORD_EDITS = [  # (what, text in the copy, edited text, record flagged, section audited alone)
    ("a factor in words", r"scales $\theta$ by the factor $0.8$", r"scales $\theta$ by the factor $0.9$",
     "gd_quadratic_closed_form", "1.4"),
    ("a limit in words", r"towards the minimiser $0$", r"towards the minimiser $1$", "gd_quadratic_limit", "1.4"),
    ("a divergent rate in words", r"Had we picked $\eta = 1.1$, the factor", r"Had we picked $\eta = 0.7$, the factor",
     "gd_divergent_rate", "1.4"),
    ("sparsity claimed of L2", "pulling weights towards zero", "setting some weights to exactly zero", "l2_shrinkage",
     "1.8"),
]


@pytest.mark.parametrize(("what", "before", "after", "key"), EDITS, ids=[e[0] for e in EDITS])
def test_an_edit_in_the_reworded_copy_is_flagged_at_its_line(reworded, what, before, after, key):
    text = REWORDED.read_text(encoding="utf-8")
    assert text.count(before) == 1, what
    line = text[:text.index(before)].count("\n") + 1
    report = audit_text(text.replace(before, after), source="edited.md")
    found = {f.claim: f for f in report.findings}
    assert found[key].verdict == "error" and found[key].line == line, what
    others = {f.claim: f.verdict for f in report.findings if not f.claim.startswith(SKIP)}
    changed = {k for k in _by_subject() if k != key and others.get(k) != reworded.get(k)}
    assert changed == set(), what


#: How the copy writes four lines of the worked example (the maths and numbers kept): \approx for =, \times for
#: \cdot, chains read from the other end.
WORKED_FORMS = (r"\sigma(0.5872) \approx 0.6427", r"-0.3573 \times 0.2297", r"= 0.5872 = z^{(2)}",
                r"= \frac{\partial L}{\partial \boldsymbol{W}^{(2)}}")


def test_worked_numbers_are_found_by_what_they_are_however_the_lines_are_written(real_notes_audit):
    text = REWORDED.read_text(encoding="utf-8")
    assert all(form in text for form in WORKED_FORMS)

    def numbers(findings: list) -> dict[str, tuple[str | None, str]]:
        return {f.claim: (f.stated, f.verdict) for f in findings if f.claim.startswith("backprop_221.")}

    kept = numbers(real_notes_audit.findings)
    assert len(kept) == 23 and numbers(audit_text(text, source="copy.md", sections=("1.5",)).findings) == kept


@pytest.mark.parametrize(("what", "before", "after", "key", "section"), WORD_EDITS, ids=[e[0] for e in WORD_EDITS])
def test_an_edit_to_a_claim_in_words_is_flagged_at_its_line(what, before, after, key, section):
    text = REWORDED.read_text(encoding="utf-8")
    assert text.count(before) == 1, what
    line = text[:text.index(before)].count("\n") + 1
    kept = {f.claim: f.verdict for f in audit_text(text, source="copy.md", sections=(section,)).findings}
    assert kept[key] == "correct", what
    edited = audit_text(text.replace(before, after), source="edited.md", sections=(section,))
    found = {f.claim: f for f in edited.findings}
    assert found[key].verdict == "error" and found[key].line == line, what
    changed = {k for k, v in kept.items() if k != key and not k.startswith(SKIP) and found[k].verdict != v}
    assert changed == set(), what


def test_a_record_not_stated_in_a_file_never_raises_the_exit_code():
    text = "# Notes\n\n## 1.1 Something else\n\nWe write $q = 3$ and $r = q + 1 = 4$.\n"
    report = audit_text(text, source="other.md")
    assert report.exit_code == 0
    assert "softmax_jacobian" in report.coverage["not_stated_in_this_file"]


def test_no_record_can_find_its_claim_by_a_regex():
    """A locator says what its claim is about; it has no regex field, and no module of derive/ imports ``re``."""
    assert not {f.name for f in fields(Locator)} & {"pattern", "regex"}
    for path in sorted((ROOT / "derive").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert not imported & {"re", "regex"}, path.name


def _listing(text: str) -> list[tuple[str, str]]:
    """(verdict, message) of each NumPy listing finding of a notes text."""
    return [(f.verdict, f.message) for f in audit_text(text).findings
            if f.claim.startswith("listing@") and "only NumPy" not in f.message]


def test_the_reworded_listing_is_found_by_its_code_and_checked_against_its_targets():
    found = _listing(REWORDED.read_text(encoding="utf-8"))
    assert len(found) == 1 and found[0][0] == "correct", found
    assert "the targets its code trains toward" in found[0][1] and "# ≈" not in REWORDED.read_text(encoding="utf-8")


def test_a_listing_whose_targets_it_cannot_learn_is_an_error():
    text = REWORDED.read_text(encoding="utf-8")
    text = text.replace("Y = np.array([[0],[1],[1],[0]]", "Y = np.array([[0],[1],[1],[7]]")
    assert [v for v, _ in _listing(text)] == ["error"]
