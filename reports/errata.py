"""Errata that say what to write: one entry per line of the notes, with the line as written, a corrected
line to paste in, and one sentence on why.

The entries come from the audit's findings (``verify.audit``: claim, line, severity, verdict, message,
stated, expected). Findings on the same line merge into one entry; entries sort by severity, then line.
The corrected line is the notes' line with each wrong fragment replaced: a number by the value the
audit expects, a formula by the derivation's result printed by ``reports.printer``, a set by the
derived set at the written precision, and a prose claim by its record's ``correction``.
``tests/test_report_errata.py`` audits every corrected line. Slips that are only rounding (the last
digit off by one) go to a short list of their own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import sympy as sp

from derive.core import Correction, registry
from reports.latex import Tex, escape
from reports.printer import textbook
from reports.quote import quoted, typeset_line

SEVERITY_ORDER: Mapping[str, int] = {"error": 0, "warning": 1}

# One sentence on why, by the kind of slip (formatted with the entry's fields).
WHY: Mapping[str, str] = {
    "rounding": "The exact value is {exact}, which rounds to {expected}, not {stated}.",
    "rounded chain": "Carried exactly, the computation gives {expected}; {stated} comes from rounding an "
                     "intermediate value first.",
    "arithmetic": "The exact value is {exact}, which rounds to {expected}; {stated} is an arithmetic slip.",
    "carried": "Line {source} now gives {expected} where this line used {stated}.",
    "formula": "The derivation gives {expected_tex}, which differs from what is written.",
    "set": "The derived set is {expected_tex}: the function has a minimum, so its range is not all of the reals.",
    "prose": "The derivation gives {expected_tex}; {why}",  # why: the record's Correction.why
}


@dataclass(frozen=True)
class Erratum:
    """One line of the notes to change: where, how severe, as written, what to write, and why."""

    line: int
    severity: str
    claims: tuple[str, ...]
    written: str
    corrected: str
    why: Tex
    rounding: bool = False

    @property
    def written_tex(self) -> Tex:
        """The line as written, escaped for a verbatim-like display."""
        return Tex(r"\texttt{" + escape(self.written, breakable=True) + "}")

    @property
    def written_typeset(self) -> Tex:
        """The line as written, typeset (its maths through ``reports.quote.safe_math``)."""
        return typeset_line(self.written)

    @property
    def corrected_typeset(self) -> Tex:
        """The corrected line, typeset."""
        return typeset_line(self.corrected)

    @property
    def corrected_tex(self) -> Tex:
        """The corrected line, escaped for a verbatim-like display."""
        return Tex(r"\texttt{" + escape(self.corrected, breakable=True) + "}")


def _number(text: str | None) -> Decimal | None:
    """``text`` as a decimal number, or None."""
    if text is None:
        return None
    try:
        return Decimal(text.strip().replace("\u2212", "-"))
    except InvalidOperation:
        return None


def _exact(message: str) -> str:
    """The exact value the audit quotes in ``message`` ("exact value 0.229633 ..."), or ""."""
    m = re.search(r"exact value (-?[\d.]+)", message)
    return m[1] if m else ""


def _replace_number(line: str, stated: str, expected: str) -> str:
    """``line`` with the number ``stated`` (a whole number token, the last one) replaced by ``expected``."""
    pattern = re.compile(r"(?<![\d.])" + re.escape(stated) + r"(?![\d])")
    hits = list(pattern.finditer(line))
    if not hits:
        return line
    m = hits[-1]
    return line[:m.start()] + expected + line[m.end():]


def _round_floats(expr: sp.Basic, digits: int = 4) -> sp.Basic:
    """``expr`` with every float rounded to ``digits`` decimals (how a corrected line writes it)."""
    return expr.xreplace({f: sp.Float(round(float(f), digits), 15) for f in expr.atoms(sp.Float)})


def _set_tex(expr: sp.Basic) -> str:
    """An interval as the notes write one: ``[-0.1700, \\infty)``."""
    if isinstance(expr, sp.Interval):
        def end(v: sp.Basic) -> str:
            if v in (sp.oo, -sp.oo):
                return ("-" if v == -sp.oo else "") + r"\infty"
            return f"{float(v):.4f}" if not v.is_Integer else str(v)
        return ("(" if expr.left_open else "[") + end(expr.start) + ", " + end(expr.end) + \
            (")" if expr.right_open else "]")
    return textbook(_round_floats(expr))


def _correction(claim: str) -> Correction | None:
    """The correction that record ``claim`` gives for a claim the notes make in words, if any."""
    try:
        return registry().formula(claim).correction
    except KeyError:
        return None


def _derived(claim: str) -> sp.Basic | None:
    """The derivation's result for record ``claim``, or None when it is not a formula record."""
    try:
        formula = registry().formula(claim)
    except KeyError:
        return None
    result = formula.derive().result
    return result.rhs if isinstance(result, sp.Equality) else result


def _fix(line: str, finding: Any) -> tuple[str, str, dict[str, str]]:
    """The line with one finding's fragment corrected, the kind of slip, and the fields of its sentence."""
    stated, expected = getattr(finding, "stated", None), getattr(finding, "expected", None)
    message = str(getattr(finding, "message", ""))
    fields = {"stated": str(stated), "expected": str(expected), "exact": _exact(message), "expected_tex": "",
              "source": message.rsplit(" ", 1)[-1]}
    a, b = _number(stated), _number(expected)
    if isinstance(finding, _Carried):
        return _replace_number(line, str(stated), str(expected)), "carried", fields
    if a is not None and b is not None:
        ulp = Decimal(1).scaleb(a.as_tuple().exponent)
        kind = "rounded chain" if "rounded" in message else ("rounding" if abs(a - b) <= ulp else "arithmetic")
        return _replace_number(line, str(stated), str(expected)), kind, fields
    claim = str(getattr(finding, "claim", ""))
    correction = _correction(claim)
    if correction is not None:
        result = _derived(claim)
        fields["expected_tex"] = "$" + textbook(result) + "$" if result is not None else ""
        fields["why"] = correction.why
        return line.replace(correction.written, correction.corrected), "prose", fields
    result = _derived(claim)
    if result is None or stated is None or str(stated) not in line:
        return line, "", fields
    if isinstance(result, sp.Set):
        new = _set_tex(result)
        fields["expected_tex"] = "$" + new + "$"
        return line.replace(str(stated), new), "set", fields
    new = textbook(result)
    fields["expected_tex"] = "$" + new + "$"
    return line.replace(str(stated), new), "formula", fields


def _why(kind: str, fields: Mapping[str, str]) -> Tex:
    """The sentence for a kind of slip, its numbers escaped and its formulas typeset."""
    template = WHY.get(kind, "")
    if not template:
        return Tex("")
    plain = {k: (v if k == "expected_tex" else escape(v)) for k, v in fields.items()}
    return Tex(template.format(**plain))


CARRY_LINES = 30  # how far below a corrected number its old value is replaced where a later line uses it


@dataclass(frozen=True)
class _Carried:
    """A corrected number that a later line of the same worked example uses as an input."""

    line: int
    severity: str
    claim: str
    stated: str
    expected: str
    message: str


def _carried(lines: Sequence[str], corrections: Sequence[tuple[int, str, str]],
             fixed: Mapping[int, str]) -> list[_Carried]:
    """A pseudo-finding for each later erratum line that still uses, as an input, a number corrected above it."""
    out = []
    for source, old, new in corrections:
        for line in sorted(fixed):
            if source < line <= source + CARRY_LINES and _replace_number(fixed[line], old, new) != fixed[line]:
                out.append(_Carried(line, "warning", f"carried@{source}", old, new, f"carried from line {source}"))
    return out


def _quantity(claim: str) -> Decimal | None:
    """The exact value (30 digits) of the worked-example quantity ``example.quantity``, or None."""
    key, _, name = claim.partition(".")
    for example in registry().examples:
        if example.key == key:
            for q in example.quantities:
                if q.name == name:
                    return Decimal(str(sp.N(q.expr, 30)))
    return None


def _precise(finding: Any) -> tuple[int, str, str] | None:
    """(line, the number written, the exact value with one digit more than the corrected one) for a number slip."""
    stated, expected = _number(getattr(finding, "stated", None)), _number(getattr(finding, "expected", None))
    exact = _quantity(str(getattr(finding, "claim", "")))
    if stated is None or expected is None or exact is None or stated == expected:
        return None
    line = getattr(finding, "line", None)
    if str(getattr(finding, "severity", "")) not in SEVERITY_ORDER or not isinstance(line, int):
        return None
    places = -expected.as_tuple().exponent + 1
    return line, str(finding.stated), f"{exact:.{places}f}"


def build_errata(lines: Sequence[str], findings: Iterable[Any]) -> tuple[Erratum, ...]:
    """Errata entries from the audit's findings on the notes ``lines`` (1-based line numbers).

    Where a later erratum line uses a corrected number as an input, it gets the exact value with one
    digit more, so that its own arithmetic carries the correction at the precision it writes.
    """
    every = list(findings)
    first = _entries(lines, every)
    corrections = [c for c in map(_precise, every) if c is not None]
    extra = _carried(lines, corrections, {e.line: e.written for e in first})
    return _entries(lines, [*every, *extra]) if extra else first


def _entries(lines: Sequence[str], findings: Iterable[Any]) -> tuple[Erratum, ...]:
    """Errata entries from findings (and carried corrections), merged by line, sorted by severity then line."""
    by_line: dict[int, list[Any]] = {}
    for f in findings:
        severity = str(getattr(f, "severity", ""))
        line = getattr(f, "line", None)
        if severity in SEVERITY_ORDER and isinstance(line, int) and 1 <= line <= len(lines):
            by_line.setdefault(line, []).append(f)
    entries = []
    for line, group in by_line.items():
        text = lines[line - 1]
        corrected, whys, kinds = text, [], []
        for f in sorted(group, key=lambda f: SEVERITY_ORDER[str(f.severity)]):
            corrected, kind, fields = _fix(corrected, f)
            if kind:
                kinds.append(kind)
                whys.append(_why(kind, fields))
        if corrected == text:
            continue
        severity = min((str(f.severity) for f in group), key=lambda s: SEVERITY_ORDER[s])
        claims = tuple(dict.fromkeys(str(f.claim) for f in group))
        why = Tex(" ".join(dict.fromkeys(w for w in whys if w)))
        entries.append(Erratum(line, severity, claims, text, corrected, why,
                               rounding=bool(kinds) and all(k in {"rounding", "rounded chain", "carried"}
                                                            for k in kinds)))
    return tuple(sorted(entries, key=lambda e: (SEVERITY_ORDER[e.severity], e.line)))


def quote_written(erratum: Erratum) -> Tex:
    """The notes' line as written: typeset when it is safe maths, else escaped."""
    return quoted(erratum.written)
