"""Judge a statement that links a record's subject to what it says by an order or a membership, not "=".

``1.1 \\in D_{\\eta}``, ``C_{\\eta} < \\infty``, ``|\\bar{m}_{t}| < |\\bar{m}_{\\infty}|``: the subject's
value is the record's derivation (inside any ``|..|`` the subject wears), the other side is read with the
record's notation, and ``derive.relations`` decides the relation. A statement read from words
(``verify.phrases``) says so in its finding, with what the phrase means.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import sympy as sp

from derive.relations import check_order, check_set
from verify.audit_align import COMPARE_ERRORS, align, context_for
from verify.audit_claims import Claim, _rhs, derived
from verify.audit_read import Written
from verify.audit_types import Finding, _describe, _finding
from verify.matching import Found
from verify.notation import Context, NotationError, parse_expr_latex

#: What a subject may wear around the record's quantity (``|\\bar{m}_{t}|``): the wrapper is applied to the derivation.
SUBJECT_WRAPPERS: tuple[type[sp.Function], ...] = (sp.Abs,)


def is_relation(found: Found) -> bool:
    """Whether ``found`` links its subject by an order or membership, or says it of some values only."""
    return found.relation != "=" or found.statement.quantifier == "some"


def _subject_value(subject: sp.Basic, value: sp.Basic) -> sp.Basic:
    """The subject with the record's derived ``value`` in place of the quantity inside its wrappers."""
    if isinstance(subject, SUBJECT_WRAPPERS):
        return type(subject)(_subject_value(subject.args[0], value))
    return value


def _with_notation(expr: sp.Basic, notation: Mapping[str, sp.Basic], context: Context) -> sp.Basic:
    """``expr`` with every name the record's notation spells (``\\bar{m}_{\\infty}``) replaced by its meaning."""
    subs: dict[sp.Basic, sp.Basic] = {}
    for latex, meaning in notation.items():
        try:
            subs[parse_expr_latex(latex, context)] = meaning
        except (NotationError, *COMPARE_ERRORS):
            continue
    return expr.xreplace(subs)


def judge_relation(claim: Claim, found: Found, explicit: Mapping[str, sp.Basic]) -> tuple[Finding, Written]:
    """Decide the statement's relation between the record's derived subject and the member read."""
    formula = claim.formula
    assert formula is not None
    words = found.statement.words
    base = {"claim": claim.key, "section": claim.locator.section, "kind": "prose" if words else claim.locator.kind}
    written = Written(found.member.text.strip(), "expr", found.line, found.math, found.clause)
    rhs = _rhs(derived(formula))
    expected = _describe(rhs)
    shown = f"{claim.locator.subject} {found.relation} {written.text}"
    said = f" (said in words, read as {shown})" if words else ""
    stated = words or shown
    if found.relation == "?":
        return _finding(base, found.line, "unknown", "more than one order relation lies between the subject and "
                        f"the member read{said}", stated, expected), written
    context = context_for(formula)
    try:
        value = _with_notation(parse_expr_latex(written.text, context), formula.notation, context)
        if isinstance(rhs, sp.Set):
            proof = check_set(rhs, found.relation, value)
        else:
            subject = parse_expr_latex(claim.locator.subject, context)
            value, _ = align(value, formula, rhs, explicit)
            proof = check_order(_subject_value(subject, rhs), found.relation, value, formula.domain,
                                formula.regions, some=found.statement.quantifier == "some")
    except NotationError as e:
        return _finding(base, found.line, "unparsed", f"cannot read {written.text!r}: {e}{said}", stated,
                        expected), written
    except COMPARE_ERRORS as e:
        return _finding(base, found.line, "unknown", f"comparison failed ({type(e).__name__}: {e}){said}",
                        stated, expected), written
    some = " for some values" if found.statement.quantifier == "some" else ""
    if proof.verdict in ("proven", "agrees"):
        return _finding(base, found.line, "correct", f"{proof.verdict}{some} ({proof.method}){said}",
                        stated, expected), written
    if proof.verdict == "refuted":
        return _finding(base, found.line, "error", f"written {shown}{some}, derived "
                        f"{expected}: {proof.detail or proof.method}{said}", stated, expected), written
    return _finding(base, found.line, "unknown", f"undecided: {proof.detail or proof.method}{said}", stated,
                    expected), written


__all__: Iterable[str] = ("SUBJECT_WRAPPERS", "is_relation", "judge_relation")
