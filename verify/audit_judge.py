"""Judge one claim of the registry: find it in the notes, read what is written there, compare with the derivation.

A claim is found by its subject (a worked number: at an entry or factor there), by the table row that defines its
function, by a worked table's column and row, by its stated form, or by the name a listing defines; formulas are
compared by ``derive.proof`` (matrices also at random sizes), numbers at the
precision written, code lines by what their syntax tree computes. Undecided is "unknown", never correct.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace

import sympy as sp

from derive.core import CodeClaim, Definition, Formula
from derive.proof import Proof, check_equal, compare_sets
from verify.audit_align import COMPARE_ERRORS, SpellingBlind, _exact_floats, _free_plain, align, context_for
from verify.audit_claims import Claim, _rhs, derived
from verify.audit_read import UnreadableError, Written, read_cell
from verify.audit_relation import is_relation, judge_relation
from verify.audit_types import Finding, _describe, _finding
from verify.code_reading import CodeReadError, CodeShapeError, CodeTooLargeError, read_assignment, read_function
from verify.judge import DECIDED, fixed
from verify.judge import rounds_to as _rounds_to
from verify.matching import Found, candidates, defined_at, find, find_column_cell, find_row, has_subject, record_names
from verify.notation import Context, Decimal, NotationError, decimal, parse_expr_latex, parse_prose_cases, parse_set
from verify.notes import Notes


def _verdict(proof: Proof) -> str:
    """correct for proven/agrees, error for refuted, unknown otherwise (never correct)."""
    return {"proven": "correct", "agrees": "correct", "refuted": "error"}.get(proof.verdict, "unknown")


def expected_of(claim: Claim) -> str:
    """What the derivation (or the exact value of a quantity) says, as short text."""
    if claim.quantity is not None:
        return _describe(sp.N(claim.quantity.expr, 10))
    assert claim.formula is not None
    target = derived(claim.formula)
    return _describe(target.rhs if isinstance(target, sp.Equality) else target)


def judge_formula(claim: Claim, written: Written, explicit: Mapping[str, sp.Basic]) -> Finding:
    """Compare the formula written at the claim's place with the derivation."""
    formula = claim.formula
    assert formula is not None
    base = {"claim": claim.key, "section": claim.locator.section, "kind": claim.locator.kind}
    target = derived(formula)
    expected = expected_of(claim)
    if formula.stated is None:
        return _unstated(base, formula, written, explicit, expected)
    context = context_for(formula)
    try:
        parsed = _parse_written(written, context)
    except NotationError as e:
        return _finding(base, written.line, "unparsed", f"cannot read {written.text!r}: {e}", written.text, expected)
    rhs = target.rhs if isinstance(target, sp.Equality) else target
    if isinstance(rhs, sp.Set):
        if not isinstance(parsed, sp.Set):
            return _finding(base, written.line, "unparsed", "expected a set (an interval or \\mathbb{R})",
                            written.text, expected)
        proof = compare_sets(rhs, parsed)
        if proof.verdict == "refuted" and _interval_at_precision(rhs, parsed, written.text):
            proof = Proof("agrees", "the endpoints agree at the precision written", 0)
        symbols: dict[str, str] = {}
    else:
        try:
            parsed, symbols = align(parsed, formula, rhs, explicit)
        except sp.ShapeError as e:
            return _finding(base, written.line, "error", f"the product as written is undefined: {e}",
                            written.text, expected)
        except COMPARE_ERRORS as e:
            return _finding(base, written.line, "unknown", f"cannot map the notes' symbols ({e})",
                            written.text, expected)
        leftover = sorted(s.name for s in _free_plain(parsed) - _free_plain(rhs)
                          if s.name not in formula.domain)
        if leftover:
            return _finding(base, written.line, "unknown", f"symbols {leftover} of the notes have no counterpart in "
                            f"record {formula.key!r}; add them to the record's notation", written.text,
                            expected, symbols)
        matrices = isinstance(rhs, sp.MatrixExpr) or isinstance(parsed, sp.MatrixExpr)
        try:
            try:
                proof = check_equal(rhs, parsed, formula.domain, formula.regions)
            except COMPARE_ERRORS:
                if not matrices:
                    raise
                proof = Proof("unknown", "no symbolic comparison of matrix expressions", 0)
            if proof.verdict == "unknown" and matrices:
                proof = matrix_witness(rhs, parsed)
        except COMPARE_ERRORS as e:
            return _finding(base, written.line, "unknown", f"comparison failed ({type(e).__name__}: {e})",
                            written.text, expected, symbols)
    verdict = _verdict(proof)
    read = _describe(parsed)
    if verdict == "correct":
        message = f"{proof.verdict} ({proof.method})"
    elif verdict == "error":
        message = f"written {read}, derived {expected}: {proof.detail or proof.method}"
    else:
        message = f"undecided: {proof.detail or proof.method}"
    drift = _drift(formula, parsed, rhs, proof)
    return _finding(base, written.line, verdict, message + drift, written.text, expected, symbols)


def matrix_witness(derived_expr: sp.Basic, written: sp.Basic, trials: int = 4, seed: int = 0) -> Proof:
    """Compare matrix expressions at random sizes (1..4) and random rational entries.

    A size at which the written product is undefined, or a pair of values that differ, refutes it;
    agreement at every trial is "agrees" (evidence, not a proof).
    """
    import random

    rng = random.Random(seed)
    sizes = sorted({s for e in (derived_expr, written) for m in e.atoms(sp.MatrixSymbol)
                    for s in sp.Tuple(*m.shape).free_symbols}, key=str)
    for trial in range(trials):
        at = {s: sp.Integer(rng.randint(1, 4)) for s in sizes}
        values: dict[tuple[str, tuple[int, int]], sp.ImmutableMatrix] = {}

        def concrete(e: sp.Basic, at: dict = at, values: dict = values) -> sp.Basic:
            sized = e.xreplace(at)
            table = {}
            for m in sized.atoms(sp.MatrixSymbol):
                key = (str(m.name), (int(m.shape[0]), int(m.shape[1])))
                if key not in values:
                    values[key] = sp.ImmutableMatrix(*key[1], lambda i, j: sp.Rational(rng.randint(-9, 9), 7))
                table[m] = values[key]
            return sp.ImmutableMatrix(sized.xreplace(table).doit())

        want = concrete(derived_expr)
        try:
            have = concrete(written)
        except (sp.ShapeError, ValueError, TypeError) as e:
            return Proof("refuted", "random sizes and entries", trial,
                         f"undefined at sizes {dict(sorted((str(k), int(v)) for k, v in at.items()))}: {e}")
        if want.shape != have.shape or want != have:
            return Proof("refuted", "random sizes and entries", trial,
                         f"differs at sizes {dict(sorted((str(k), int(v)) for k, v in at.items()))}")
    return Proof("agrees", f"random sizes and entries ({trials} trials)", trials)


def _interval_at_precision(derived_set: sp.Basic, written: sp.Basic, text: str) -> bool:
    """Whether two intervals agree when each decimal endpoint written is judged at its own precision."""
    if not (isinstance(derived_set, sp.Interval) and isinstance(written, sp.Interval)):
        return False
    if (derived_set.left_open, derived_set.right_open) != (written.left_open, written.right_open):
        return False
    inner = text.strip()
    inner = re.sub(r"^\\left", "", inner)[1:]
    inner = re.sub(r"\\right\s*$", "", inner[:-1])
    ends = [e.strip() for e in inner.split(",")]
    if len(ends) != 2:
        return False
    for have, want, end_text in ((derived_set.start, written.start, ends[0]), (derived_set.end, written.end, ends[1])):
        if have == want:
            continue
        number = decimal(end_text)
        if number is None or not have.is_number or not _rounds_to(sp.N(have, 50), number):
            return False
    return True


def _parse_written(written: Written, context: Context) -> sp.Basic:
    """Parse a written fragment according to how it is to be read."""
    if written.mode == "set":
        return parse_set(written.text, context)
    if written.mode == "cell":
        return parse_prose_cases(written.segments, context)
    return parse_expr_latex(written.text, context)


def _drift(formula: Formula, parsed: sp.Basic, derived_rhs: sp.Basic, proof: Proof) -> str:
    """A note when the notes no longer say what the record's ``stated`` expects (``proof``: parsed vs derived)."""
    stated = formula.stated
    if stated is None:
        return ""
    if stated == derived_rhs and not isinstance(stated, sp.Set):  # the same comparison was just made
        return f" (the record expects the notes to say {_describe(stated)})" if proof.verdict == "refuted" else ""
    if isinstance(stated, sp.Set) or isinstance(parsed, sp.Set):
        return "" if stated == parsed else f" (the record expects the notes to say {_describe(stated)})"
    try:
        proof = check_equal(stated, parsed, formula.domain, formula.regions)
    except COMPARE_ERRORS:
        return ""
    return f" (the record expects the notes to say {_describe(stated)})" if proof.verdict == "refuted" else ""


def _unstated(base: dict[str, str], formula: Formula, written: Written, explicit: Mapping[str, sp.Basic],
              expected: str) -> Finding:
    """A record whose notes state no closed form: info, unless what is written contradicts the definition."""
    message = f"the notes state no closed form; derived: {expected}"
    definition = formula.definition
    names = {s.name for s in _free_plain(definition)} if isinstance(definition, sp.Expr) else set()
    if written.mode != "expr" or not names or not names <= set(formula.domain):
        return _finding(base, written.line, "not stated", message, written.text, expected)
    try:
        parsed = parse_expr_latex(written.text, context_for(formula))
        parsed, symbols = align(parsed, formula, definition, explicit)
        proof = check_equal(_exact_floats(definition), parsed, formula.domain, formula.regions)
    except (NotationError, *COMPARE_ERRORS):
        return _finding(base, written.line, "not stated", message, written.text, expected)
    if proof.verdict == "refuted":
        return _finding(base, written.line, "error", f"written {_describe(parsed)} is not the record's definition "
                        f"{_describe(definition)}: {proof.detail}", written.text, expected, symbols)
    verdict = "definition" if proof.verdict in ("proven", "agrees") else "not stated"  # it defines the record
    return _finding(base, written.line, verdict, f"written form matches the record's definition "
                    f"({proof.verdict}); derived: {expected}", written.text, expected, symbols)


def _short(text: str, limit: int = 200) -> str:
    """``text`` cut to ``limit`` characters (for messages; the full forms stay in stated/expected)."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def judge_quantity(claim: Claim, written: Written) -> Finding:
    """Judge the number written at the claim's place at the precision it is written with."""
    q = claim.quantity
    assert q is not None
    base = {"claim": claim.key, "section": claim.locator.section, "kind": claim.locator.kind}
    exact = sp.N(q.expr, 50)
    number = decimal(written.text)
    if number is None:
        return _finding(base, written.line, "unparsed", f"expected a number, found {written.text!r}", written.text,
                        _describe(exact))
    if q.stated is None:
        return _finding(base, written.line, "not stated", "the record expects no number here", written.text,
                        fixed(exact, number.places))
    verdict, message = judge_number(number, q.expr, q.rounded_expr)
    if number.text != q.stated:
        message += f" (the record expects {q.stated})"
    return _finding(base, written.line, verdict, message, number.text, fixed(exact, number.places))


def judge_number(number: Decimal, exact: sp.Expr, rounded: sp.Expr | None = None) -> tuple[str, str]:
    """correct if ``exact`` rounds to the written number at its precision; warning if only ``rounded`` does."""
    value = sp.N(exact, 50)
    shown = fixed(value, number.places)
    if _rounds_to(value, number):
        return "correct", f"exact value {_describe(sp.N(exact, 10))} rounds to {shown}"
    if rounded is not None and _rounds_to(sp.N(rounded, 50), number):
        return "warning", (f"right only with rounded intermediates: exact value rounds to {shown}, "
                           f"the rounded computation gives {fixed(sp.N(rounded, 50), number.places)}")
    return "error", f"written {number.text}, exact value {_describe(sp.N(exact, 10))} rounds to {shown}"


def _unreadable(base: Mapping[str, str], line: int, claim: Claim, error: UnreadableError) -> Finding:
    """A claim found but not readable: "not stated" when the record states no closed form, else "unparsed"."""
    unstated = claim.formula is not None and claim.formula.stated is None
    verdict = "not stated" if unstated else "unparsed"
    message = f"the notes state no closed form; derived: {expected_of(claim)}" if unstated else str(error)
    return _finding(base, line, verdict, message, None, expected_of(claim))


def base_of(claim: Claim) -> dict[str, str]:
    """The claim, section and kind every finding on ``claim`` carries."""
    return {"claim": claim.key, "section": claim.locator.section, "kind": claim.locator.kind}


def judge_by_subject(notes: Notes, claim: Claim, explicit: Mapping[str, sp.Basic],
                     taken: set[tuple[int, int, int, int]]) -> tuple[Finding, Written | None]:
    """Find the statement whose subject is the record's (``verify.matching``), read it, and judge it."""
    base = {"claim": claim.key, "section": claim.locator.section, "kind": claim.locator.kind}
    # before deriving the record: most files state few records
    if not has_subject(notes, claim.locator.subject, claim.locator.factor):
        return _finding(base, None, "not found", f"no statement of the file says what {claim.locator.subject} "
                        "equals", None, None), None
    if claim.formula is not None:
        names = record_names(claim.formula.definition, claim.formula.stated, derived(claim.formula))
    else:
        names = frozenset()
    number_ok = claim.formula is not None and isinstance(claim.formula.stated, sp.Number)
    local = claim.definition is not None or claim.quantity is not None or number_ok
    found = find(notes, claim.locator, names, taken, numeric=claim.quantity is not None, number_ok=number_ok,
                 local=local)
    if found is None:
        return _finding(base, None, "not found", f"no statement of the file says what {claim.locator.subject} "
                        "equals", None, None), None
    if claim.quantity is not None:
        # a worked number covers its fragment but not its clause: the clause's arithmetic is checked on its own
        written = Written(found.member.text.strip(), "number", found.line, found.math)
        finding = judge_quantity(claim, written)
    elif is_relation(found) and claim.definition is None:
        finding, written = judge_relation(claim, found, explicit)
    else:
        assert claim.formula is not None
        is_set = isinstance(_rhs(derived(claim.formula)), sp.Set)
        written = Written(found.member.text.strip(), "set" if is_set else "expr", found.line, found.math,
                          found.clause)
        finding = judge_formula(claim, written, explicit)
    if claim.definition is not None:
        finding = _as_definition(finding, claim.definition)
    if finding.verdict not in DECIDED and (claim.definition is not None
                                           or not notes.in_section(found.line, claim.locator.section)):
        return _finding(base, None, "not found", f"the statement about {claim.locator.subject} at line "
                        f"{found.line} could not be read as this record's definition or lies outside its "
                        "section", None, None), None
    if found.statement.words and not is_relation(found):
        read_as = f"{claim.locator.subject} = {written.text}"
        finding = replace(finding, kind="prose", stated=found.statement.words,
                          message=f"{finding.message} (said in words, read as {read_as})")
    if found.others:
        finding = replace(finding, message=f"{finding.message} ({found.others} other statement(s) of the file "
                                           "have this subject as closely; the first is used)")
    return finding, written


def judge_in_row(notes: Notes, claim: Claim, explicit: Mapping[str, sp.Basic]) -> tuple[Finding, Written | None]:
    """Find the table row that defines the record's function, read the cell that states its fact, and judge it."""
    base = {"claim": claim.key, "section": claim.locator.section, "kind": claim.locator.kind}
    found = find_row(notes, claim.locator)
    if found is None:
        return _finding(base, None, "not found", f"no table row of the file defines {claim.locator.row} with a "
                        f"cell for its {claim.locator.fact}", None, None), None
    try:
        written = read_cell(notes, claim, found)
    except UnreadableError as e:
        return _unreadable(base, found.row.line, claim, e), None
    finding = judge_formula(claim, written, explicit)
    if found.others:
        finding = replace(finding, message=f"{finding.message} ({found.others} other row(s) define this function; "
                                           "the first is used)")
    return finding, written


def judge_in_column(notes: Notes, claim: Claim) -> tuple[Finding, Written | None]:
    """Find the worked table's cell by its column's header and its row's key, and judge the number there."""
    found = find_column_cell(notes, claim.locator)
    if found is None:
        return _finding(base_of(claim), None, "not found", f"no table row {claim.locator.row_key!r} has a column "
                        f"headed {claim.locator.column}", None, None), None
    written = Written(found.cell.text.strip(), "number", found.row.line, None, cell=found.cell.column)
    finding = judge_quantity(claim, written)
    if found.others:
        finding = replace(finding, message=f"{finding.message} ({found.others} other table(s) have this cell; "
                                           "the first is used)")
    return finding, written


def _closeness(claim: Claim, found: Found, explicit: Mapping[str, sp.Basic]) -> tuple[int, int, int] | None:
    """How close a candidate is to the record's stated form: (2, ...) proven equal, (1, names, -size gap) else.

    A candidate that cannot be read, or that uses a name the record does not know, is no candidate; one
    that differs from the stated form is close only when it uses exactly the stated form's names.
    """
    formula = claim.formula
    if formula is None or formula.stated is None or isinstance(formula.stated, sp.Set):
        return None
    stated = _rhs(formula.stated)
    text = found.member.text.strip()
    try:
        parsed, _ = align(parse_expr_latex(text, context_for(formula)), formula, stated, explicit)
    except (NotationError, *COMPARE_ERRORS):
        return None
    if not isinstance(parsed, sp.Expr) or isinstance(parsed, sp.MatrixExpr):
        return None
    mine, theirs = _free_plain(parsed), _free_plain(stated)
    if mine - theirs - {s for s in mine if s.name in formula.domain}:
        return None
    try:
        proof = check_equal(stated, parsed, formula.domain, formula.regions)
    except COMPARE_ERRORS:
        return None
    if proof.verdict in ("proven", "agrees"):
        return (2, 0, 0)
    if stated.is_number:  # a number written in place of the stated one: the closest lone number
        lone = len(found.clause.members) == 1 and parsed.is_number
        return (1, 0, -int(1000 * abs(sp.N(parsed - stated)))) if lone else None
    try:
        raw = parse_expr_latex(text, context_for(formula))
    except NotationError:
        return None
    spelled = SpellingBlind(explicit)
    raw = raw.xreplace({x: spelled[x.name] for x in raw.atoms(sp.Symbol) if x.name in spelled})
    (names, functions), (want, wanted) = _name_parts(raw), _name_parts(stated)
    if not names & want or _name_parts(parsed)[0] != want:  # none of the record's names, or others than its
        return None
    if wanted and functions and not functions & wanted:  # an edited e^{z_i} applies exp, not a ReLU's cases
        return None
    gap = abs(sp.count_ops(parsed) - sp.count_ops(stated))
    return (1, len(functions & wanted) - len(functions ^ wanted), -gap)


def _name_parts(expr: sp.Basic) -> tuple[frozenset[str], frozenset[str]]:
    """The canonical names an expression uses (symbols and indexed bases, indices left out), and its functions."""
    functions = frozenset(type(f).__name__ for f in expr.atoms(sp.Function))
    return record_names(expr) - functions, functions


def judge_by_form(notes: Notes, claim: Claim, explicit: Mapping[str, sp.Basic],
                  taken: set[tuple[int, int, int, int]]) -> tuple[Finding, Written | None]:
    """Find the member of the record's section that is its stated form (else the closest one), read it, judge it."""
    base = {"claim": claim.key, "section": claim.locator.section, "kind": claim.locator.kind}
    best: tuple[tuple[int, int, int], Found] | None = None
    for found in candidates(notes, claim.locator.section):
        where = (found.math.line, found.math.col, found.clause.start, found.member.start)
        if where in taken:
            continue
        score = _closeness(claim, found, explicit)
        if score is not None and (best is None or score > best[0]):
            best = (score, found)
            if score[0] == 2:
                break
    if best is None:
        return _finding(base, None, "not found", f"no statement of section {claim.locator.section} states the "
                        "record's form or an expression in its names", None, None), None
    found = best[1]
    taken.add((found.math.line, found.math.col, found.clause.start, found.member.start))
    written = Written(found.member.text.strip(), "expr", found.line, found.math, found.clause)
    finding = judge_formula(claim, written, explicit)
    if claim.definition is not None:
        finding = _as_definition(finding, claim.definition)
    return finding, written


def judge(notes: Notes, claim: Claim, explicit: Mapping[str, sp.Basic],
          taken: set[tuple[int, int, int, int]] | None = None) -> tuple[Finding, Written | None]:
    """Find one claim in the notes by what it is about, read what is written there, and judge it."""
    reader = claim.formula.code if claim.formula is not None else None
    if claim.locator.kind == "code" and claim.locator.subject and reader is not None:
        line = defined_at(notes, claim.locator.section, claim.locator.subject)
        if line is None:
            return _finding(base_of(claim), None, "not found", f"no Python listing defines {claim.locator.subject}",
                            None, None), None
        return judge_code(notes, claim, line, reader), None
    if claim.locator.column:
        return judge_in_column(notes, claim)
    if claim.locator.subject:
        return judge_by_subject(notes, claim, explicit, set() if taken is None else taken)
    if claim.locator.row is not None:
        return judge_in_row(notes, claim, explicit)
    if claim.locator.kind != "prose":
        return judge_by_form(notes, claim, explicit, set() if taken is None else taken)
    return _finding(base_of(claim), None, "not found", "a claim in words with no subject: give the record a "
                    "subject that a row of verify.phrases.PHRASES states", None, None), None


def judge_code(notes: Notes, claim: Claim, line: int, reader: CodeClaim) -> Finding:
    """Read what a listing line computes (from its syntax tree, never running it) and compare with the derivation."""
    formula = claim.formula
    assert formula is not None
    base = {"claim": claim.key, "section": claim.locator.section, "kind": claim.locator.kind}
    written = notes.lines[line - 1].split("#")[0].strip()
    expected = expected_of(claim)
    code = notes.code_at(line)
    if code is None:
        return _finding(base, line, "unparsed", "the line is not inside a code block", written, expected)
    name = reader.name
    try:
        if reader.parameter is not None:
            stated = read_function(code.text, name, reader.parameter)
        else:
            assert reader.env is not None  # CodeClaim checks that it has one of the two
            value = read_assignment(code.text, reader.env(), name)
            if value is None:
                return _finding(base, line, "unparsed", f"the listing assigns no {name}", written, expected)
            stated = reader.project(value)
    except CodeShapeError as e:
        return _finding(base, line, "error", f"as written: {e}", written, expected)
    except CodeTooLargeError as e:
        return _finding(base, line, "unknown", f"unknown: too large to decide ({e})", written, expected)
    except (RecursionError, MemoryError) as e:
        return _finding(base, line, "unknown", f"unknown: too large to decide ({type(e).__name__} while "
                        "reading the listing)", written, expected)
    except CodeReadError as e:
        return _finding(base, line, "unparsed", f"cannot read the listing: {e}", written, expected)
    except ValueError as e:  # a shape that does not fit the array it is the gradient of
        return _finding(base, line, "error", f"as written: {e}", written, expected)
    try:
        proof = check_equal(_rhs(derived(formula)), stated, formula.domain, formula.regions)
    except COMPARE_ERRORS as e:
        return _finding(base, line, "unknown", f"comparison failed ({type(e).__name__}: {e})",
                        written, expected)
    verdict = _verdict(proof)
    message = {"correct": f"the code as written computes what SymPy derived: {proof.verdict} ({proof.method})",
               "error": f"the code as written does not compute what SymPy derived: {proof.detail or proof.method}"
               }.get(verdict, f"undecided: {proof.detail or proof.method}")
    return _finding(base, line, verdict, message, written, _short(expected))


def _as_definition(finding: Finding, d: Definition) -> Finding:
    """Reword a definition's finding: a match is the verdict "definition", a mismatch an error about the definition."""
    source = f" ({d.source})" if d.source else ""
    if finding.verdict == "correct":
        return replace(finding, verdict="definition",
                       message=f"a definition, written as the derivations use it{source}: {finding.message}")
    if finding.verdict == "error":
        return replace(finding, message=f"the notes define {d.title.lower()} differently from the derivations"
                                        f"{source}: {finding.message}")
    return finding
