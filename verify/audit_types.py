"""What the audit reports: a finding per claim, a verdict per fragment, and the report of one or more files.

Also the severity each verdict carries, the order in which verdicts are worst, how a finding is built from its
verdict, and how a derived value is shown in a finding's message. ``verify.output`` renders these.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Literal

import sympy as sp

Severity = Literal["error", "warning", "info"]
SEVERITY: dict[str, Severity] = {
    "correct": "info", "error": "error", "not found": "error", "warning": "warning", "unknown": "warning",
    "unparsed": "warning", "not stated": "info", "definition": "info", "not run": "info",
}
VERDICT_ORDER = ("error", "not found", "warning", "unknown", "unparsed", "correct", "definition", "not stated",
                 "unchecked", "notation")


@dataclass(frozen=True)
class Finding:
    """The verdict on one claim: where it is, what is written, what was derived, and why."""

    claim: str
    line: int | None
    severity: Severity
    message: str
    stated: str | None
    expected: str | None
    verdict: str
    section: str = ""
    kind: str = ""
    symbols: Mapping[str, str] = field(default_factory=dict)
    path: str = ""

    def as_dict(self) -> dict[str, object]:
        """The JSON form (required keys first; maps sorted)."""
        d = asdict(self)
        d["symbols"] = dict(sorted(self.symbols.items()))
        if not self.path:
            d.pop("path")
        return d


@dataclass(frozen=True)
class FragmentVerdict:
    """The verdict on one math fragment or prose number of the file (for coverage)."""

    line: int
    col: int
    kind: str
    text: str
    verdict: str
    claims: tuple[str, ...] = ()
    clauses: tuple[str, ...] = ()
    reason: str = ""
    path: str = ""


@dataclass
class AuditReport:
    """All findings (ordered by line) and coverage counts for one notes file."""

    source: str
    findings: list[Finding]
    coverage: dict[str, int]
    fragments: list[FragmentVerdict] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 when no finding is an error, 1 otherwise."""
        return 1 if any(f.severity == "error" for f in self.findings) else 0

    def to_json(self) -> str:
        """Findings and coverage as JSON (``verify.output.to_json``)."""
        from verify.output import to_json

        return to_json(self)

    def to_markdown(self) -> str:
        """An errata page (``verify.output.to_markdown``)."""
        from verify.output import to_markdown

        return to_markdown(self)

    def render(self, console: object) -> None:
        """Print the findings as a rich table (``verify.output.render_table``)."""
        from verify.output import render_table

        render_table(self, console)


def _describe(value: sp.Basic) -> str:
    """A short readable form of a derived value (floats to 6 digits, intervals as [a, b))."""
    if isinstance(value, sp.Interval):
        lo = "(" if value.left_open else "["
        hi = ")" if value.right_open else "]"
        return f"{lo}{_describe(value.start)}, {_describe(value.end)}{hi}"
    if value == sp.S.Reals:
        return "R"
    floats = value.atoms(sp.Float) if isinstance(value, sp.Basic) else set()
    if floats:
        value = value.xreplace({f: sp.Float(f, 6) for f in floats})
    return sp.sstr(value)


def _finding(base: Mapping[str, str], line: int | None, verdict: str, message: str, stated: str | None,
             expected: str | None, symbols: Mapping[str, str] | None = None) -> Finding:
    """Build a Finding with the severity that belongs to its verdict."""
    return Finding(base["claim"], line, SEVERITY[verdict], message, stated, expected, verdict,
                   base["section"], base["kind"], dict(symbols or {}))
