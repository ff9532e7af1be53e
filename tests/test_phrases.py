"""Claims in words: the phrase table reads several wordings into one relation, and order relations can fail."""

from __future__ import annotations

import re

import pytest
import sympy as sp

from derive.core import Region
from derive.relations import check_order, check_set
from verify.latex_tokens import clauses
from verify.matching import relation_of
from verify.phrases import PHRASES, said

SENTENCES = [  # (a sentence, the relation it must be read as)
    (r"Each step multiplies $\theta$ by $0.8$, and so on.", r"\theta_{t} = (0.8)^{t} \theta_{0}"),
    (r"So every update scales $\theta$ by the factor $0.8$.", r"\theta_{t} = (0.8)^{t} \theta_{0}"),
    (r"Each step multiplies $\theta$ by $0.8$, converging geometrically to the minimum at $0$.",
     r"\theta_{\infty} = 0"),
    (r"the factor $0.8$ makes $w$ shrink geometrically towards the minimiser $0$", r"w_{\infty} = 0"),
    (r"(If $\eta = 1.1$, the multiplier becomes $-1.2$ → diverges.", r"1.1 \in D_{\eta}"),
    (r"Had we picked $\eta = 1.1$, the iterates would grow without bound.", r"1.1 \in D_{\eta}"),
    (r"$\eta$ = learning rate. Too large → diverge/oscillate", r"C_{\eta} < \infty"),
    (r"Here $\eta$ is the step size: set it too big and the iterates swing and grow", r"C_{\eta} < \infty"),
    (r"because $\mathbf{m}_0=\mathbf{v}_0=0$ makes early estimates biased toward zero",
     r"|\bar{m}_{t}| < |\bar{m}_{\infty}|"),
    (r"Because both begin at $\boldsymbol{m}_0=\boldsymbol{v}_0=0$, their early values underestimate the moments",
     r"|\bar{v}_{t}| < |\bar{v}_{\infty}|"),
    (r"L2: add $\frac{\lambda}{2}\|\theta\|^2$ → shrinks weights toward 0.", r"|\theta^{*}_{2}| < |\theta^{*}_{0}|"),
    (r"the term $\frac{\lambda}{2}\|\theta\|^2$ pulls weights towards zero", r"|\theta^{*}_{2}| < |\theta^{*}_{0}|"),
    (r"L1: add $\lambda\|\theta\|_1$ → drives some weights exactly to 0 (sparsity)", r"|\theta^{*}_{1}| = 0"),
    (r"the penalty $\lambda\|\theta\|_1$ pushes some weights to exactly zero", r"|\theta^{*}_{1}| = 0"),
    (r"scale survivors by $1/(1-p)$ so expectations match at test time", r"\bar{x}_{\mathrm{drop}} = x"),
    (r"which keeps their expected value unchanged", r"\bar{x}_{\mathrm{drop}} = x"),
    (r"letting the network undo normalization if needed", r"\tilde{y}_{i} = x_{i}"),
    (r"the layer can learn to reverse the normalisation", r"\tilde{y}_{i} = x_{i}"),
    # other wordings an author might use
    (r"$\theta$ is multiplied by a factor of $0.8$ at every iteration", r"\theta_{t} = (0.8)^{t} \theta_{0}"),
    (r"so $w$ decays geometrically to $0$", r"w_{\infty} = 0"),
    (r"With $\eta = 1.1$ the iteration blows up.", r"1.1 \in D_{\eta}"),
    (r"A step size $\eta$ that is too high makes the iterates explode", r"C_{\eta} < \infty"),
    (r"since $m_0 = 0$, the moving average is biased towards 0 early on", r"|\bar{m}_{t}| < |\bar{m}_{\infty}|"),
    (r"weight decay shrinks all weights toward zero", r"|\theta^{*}_{2}| < |\theta^{*}_{0}|"),
    (r"the L1 penalty sets many of the weights to zero", r"|\theta^{*}_{1}| = 0"),
    (r"ridge regression drives some weights exactly to zero", r"|\theta^{*}_{2}| = 0"),  # read, then refuted
    (r"so the expected activation stays the same at test time", r"\bar{x}_{\mathrm{drop}} = x"),
    (r"so that the layer can represent the identity", r"\tilde{y}_{i} = x_{i}"),
]


def _read(sentence: str) -> list[str]:
    return [latex for phrase in PHRASES for hit in phrase.pattern.finditer(sentence) for latex in said(phrase, hit)]


@pytest.mark.parametrize(("sentence", "relation"), SENTENCES)
def test_each_wording_is_read_as_its_relation(sentence, relation):
    assert relation in _read(sentence)


@pytest.mark.parametrize("sentence", [
    r"Each step adds $0.8$ to $\theta$.",  # not a factor
    r"If $\eta = 0.1$, the iterates converge.",  # converging is not diverging
    r"$\eta$ = learning rate. Too small → crawl.",
    r"The weights are initialised near zero.",
    r"Dropout zeroes activations at random.",
    r"The penalty sets the weights to zero.",  # all of them: not the sparsity claim
    r"Weight decay pulls weights away from zero.",
    r"The penalty shrinks weights toward zero.",  # which penalty: none named, nothing stated
])
def test_other_sentences_state_nothing(sentence):
    assert _read(sentence) == []


def test_every_phrase_template_is_a_relation_the_reader_splits():
    for phrase in PHRASES:
        for template in phrase.says:
            filled = re.sub(r"<[A-Za-z]+>", "x", template)
            assert all(len(c.members) == 2 for c in clauses(filled)), template


def test_a_statement_read_the_other_way_round_flips_its_relation():
    (clause,) = clauses(r"1.1 \in D_{\eta}")
    assert relation_of(clause.members, 1, clause.members[0]) == r"\ni"
    (clause,) = clauses(r"C < \infty")
    assert relation_of(clause.members, 0, clause.members[1]) == "<"
    (clause,) = clauses(r"a = b \le c")
    assert relation_of(clause.members, 2, clause.members[0]) == r"\ge"


DIVERGENT = sp.Union(sp.Interval.open(-sp.oo, 0), sp.Interval.open(1, sp.oo))


def test_membership_and_bounds_of_a_set_are_decided_both_ways():
    assert check_set(DIVERGENT, r"\ni", sp.Rational(11, 10)).verdict == "proven"
    assert check_set(DIVERGENT, r"\ni", sp.Rational(7, 10)).verdict == "refuted"
    assert check_set(sp.Interval.open(0, 1), "<", sp.oo).verdict == "proven"
    assert check_set(sp.Interval.open(0, sp.oo), "<", sp.oo).verdict == "refuted"
    assert check_set(sp.Interval.open(0, 1), ">", 0).verdict == "refuted"  # the infimum 0 is not above 0


def test_an_order_holds_at_every_point_or_is_refuted_with_a_point():
    x = sp.Symbol("x", real=True)
    domain = {"x": (0.05, 3.0)}
    assert check_order(sp.Abs(x / 2), "<", sp.Abs(x), domain).verdict == "agrees"
    refuted = check_order(sp.Abs(2 * x), "<", sp.Abs(x), domain)
    assert refuted.verdict == "refuted" and "left - right" in refuted.detail


def test_a_claim_about_some_values_needs_one_region_where_it_holds():
    c, lam = sp.symbols("c lambda", real=True)
    shrunk = sp.sign(c) * sp.Max(sp.Abs(c) - lam, 0)
    r, u = sp.symbols("r u", positive=True)
    regions = (Region("c > lambda", {c: lam + u}, {"u": (0.01, 3.0)}),
               Region("0 < c < lambda", {c: r, lam: r + u}, {"r": (0.01, 3.0), "u": (0.01, 3.0)}))
    domain = {"lambda": (0.1, 2.0)}
    assert check_order(shrunk, "=", 0, domain, regions, some=True).verdict == "agrees"
    assert check_order(shrunk, "=", 0, domain, regions).verdict == "refuted"  # not everywhere
    assert check_order(shrunk, "=", 1, domain, regions[1:], some=True).verdict == "refuted"


def test_every_gap_of_a_phrase_is_bounded():
    """An unbounded gap (``[^.;]*?``) makes a search quadratic in a hostile line's length; a bounded one does not."""
    for phrase in PHRASES:
        assert re.search(r"[\])]\*", phrase.pattern.pattern) is None, phrase.note


def test_a_long_line_without_the_verb_states_nothing():
    assert _read("$\\eta$ " + "is too large, and if $a = 1$ then $x$ tends " * 5000) == []
