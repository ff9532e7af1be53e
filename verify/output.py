"""The audit's output formats: one renderer per format, all fed by the same list of findings.

Modelled on ruff's ``--output-format``: ``table`` (rich, for people), ``concise``
(``path:line:col: severity: message``, for editors and grep), ``github`` (workflow commands that
annotate a pull request), ``sarif`` (SARIF 2.1.0, for code-scanning tools), ``json`` and
``markdown`` (an errata page). The line-oriented formats list what needs attention (errors and
warnings); ``json``, ``markdown`` and ``table`` list every finding.

Findings are read through their fields (``claim``, ``line``, ``severity``, ``verdict``,
``message``, ``stated``, ``expected``, ``section``, and ``path`` where a finding names its own file),
so a report type that adds fields needs no change here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path
from typing import Any, Protocol

TOOL = "chainrule"
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
PROBLEMS = ("error", "warning")  # the severities the line-oriented formats list


@dataclass(frozen=True)
class Rule:
    """One verdict kind as a linter rule: a stable id, a name, what it means and its SARIF level."""

    id: str
    name: str
    description: str
    level: str  # SARIF: error, warning, note, none


#: One row per verdict the audit can give (verify.audit.SEVERITY); a new verdict needs one row here.
RULES: Mapping[str, Rule] = {
    "error": Rule("CR001", "refuted", "What the notes write differs from what the derivation gives.", "error"),
    "not found": Rule("CR002", "not-found", "A claim of the derivations could not be found where the notes "
                      "should state it.", "error"),
    "warning": Rule("CR003", "imprecise", "Right only approximately, or with the rounded intermediates the text "
                    "shows.", "warning"),
    "unknown": Rule("CR004", "undecided", "The comparison with the derivation could not be decided.", "warning"),
    "unparsed": Rule("CR005", "unparsed", "What the notes write could not be read as mathematics.", "warning"),
    "correct": Rule("CR006", "correct", "Proven equal to the derivation.", "none"),
    "definition": Rule("CR007", "definition", "A definition the derivations use, stated the same way.", "none"),
    "not stated": Rule("CR008", "not-stated", "The notes do not state this result; nothing to judge.", "none"),
    "not run": Rule("CR009", "not-run", "A listing that was read but not executed.", "none"),
}
FALLBACK = Rule("CR000", "other", "A verdict without a rule of its own.", "warning")
LEVEL = {"error": "error", "warning": "warning", "info": "note"}


class FindingLike(Protocol):
    """The fields of ``verify.audit.Finding`` the renderers read."""

    claim: str
    line: int | None
    severity: str
    message: str
    stated: str | None
    expected: str | None
    verdict: str


class ReportLike(Protocol):
    """The fields of ``verify.audit.AuditReport`` the renderers read."""

    source: str
    findings: list[Any]
    coverage: dict[str, Any]


def rule(verdict: str) -> Rule:
    """The rule of a verdict kind (``FALLBACK`` for one this table does not know yet)."""
    return RULES.get(verdict, FALLBACK)


def path_of(finding: Any, report: ReportLike) -> str:
    """The file a finding is in: its own ``path`` when it has one, else the report's source."""
    return str(getattr(finding, "path", None) or report.source)


def display_path(path: str) -> str:
    """A path relative to the working directory when it lies below it (as linters print them)."""
    p = Path(path)
    try:
        return p.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except (ValueError, OSError):
        return p.as_posix()


def column_of(finding: Any, report: Any) -> int:
    """The 1-based column of the math fragment that holds the finding's claim, else 1."""
    for fragment in getattr(report, "fragments", None) or ():
        same_file = getattr(fragment, "path", "") == getattr(finding, "path", "")
        if same_file and fragment.line == finding.line and finding.claim in fragment.claims:
            return int(fragment.col) + 1 if int(fragment.col) >= 0 else 1
    return 1


def problems(report: ReportLike) -> list[Any]:
    """The findings that need attention (errors, then warnings, each by file and line)."""
    found = [f for f in report.findings if f.severity in PROBLEMS]
    return sorted(found, key=lambda f: (PROBLEMS.index(f.severity), path_of(f, report), f.line or 0, f.claim))


def one_line(text: str | None) -> str:
    """Text on one line (newlines and runs of spaces collapsed)."""
    return re.sub(r"\s+", " ", text or "").strip()


def _message(finding: Any) -> str:
    """The finding's message with its claim and verdict, on one line."""
    return f"{finding.claim}: {one_line(finding.message)} [{finding.verdict}]"


# --- concise ---------------------------------------------------------------------------------


def to_concise(report: ReportLike) -> str:
    """``path:line:col: severity: message`` per error and warning, then a count."""
    lines = [f"{display_path(path_of(f, report))}:{f.line or 1}:{column_of(f, report)}: {f.severity}: {_message(f)}"
             for f in problems(report)]
    errors = sum(f.severity == "error" for f in report.findings)
    warnings = sum(f.severity == "warning" for f in report.findings)
    lines.append(f"Found {errors} error{'s' * (errors != 1)} and {warnings} warning{'s' * (warnings != 1)} "
                 f"in {len(report.findings)} claims.")
    return "\n".join(lines) + "\n"


# --- github ----------------------------------------------------------------------------------


def _gh_data(text: str) -> str:
    """Escape a workflow command's message (GitHub Actions' escapeData)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_property(text: str) -> str:
    """Escape a workflow command's property value (GitHub Actions' escapeProperty)."""
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


def to_github(report: ReportLike) -> str:
    """One ``::error``/``::warning`` workflow command per problem, which GitHub shows on the pull request."""
    out = []
    for f in problems(report):
        props = {"file": display_path(path_of(f, report)), "line": str(f.line or 1),
                 "col": str(column_of(f, report)), "title": f"chainrule {rule(f.verdict).name}: {f.claim}"}
        joined = ",".join(f"{k}={_gh_property(v)}" for k, v in props.items())
        out.append(f"::{f.severity} {joined}::{_gh_data(one_line(f.message))}")
    return "".join(line + "\n" for line in out)


# --- sarif -----------------------------------------------------------------------------------


def _artifact_uri(path: str) -> str:
    """A SARIF artifact URI: relative (POSIX) below the working directory, else an absolute file URI."""
    shown = display_path(path)
    return shown if not Path(shown).is_absolute() else Path(shown).resolve().as_uri()


def _sarif_rule(r: Rule) -> dict[str, Any]:
    """A SARIF reportingDescriptor for a rule."""
    return {"id": r.id, "name": r.name, "shortDescription": {"text": r.description},
            "defaultConfiguration": {"level": r.level}}


def to_sarif(report: ReportLike, version: str = "") -> str:
    """SARIF 2.1.0: one rule per verdict kind, one result per error and warning."""
    table = [*RULES.values(), FALLBACK]
    results = []
    for f in problems(report):
        r = rule(f.verdict)
        location: dict[str, Any] = {"artifactLocation": {"uri": _artifact_uri(path_of(f, report))}}
        if f.line:
            location["region"] = {"startLine": int(f.line), "startColumn": column_of(f, report)}
        results.append({
            "ruleId": r.id,
            "ruleIndex": table.index(r),
            "level": LEVEL.get(f.severity, "warning"),
            "message": {"text": _message(f)},
            "locations": [{"physicalLocation": location}],
            "properties": {"verdict": f.verdict, "stated": f.stated, "expected": f.expected},
        })
    driver: dict[str, Any] = {"name": TOOL, "rules": [_sarif_rule(r) for r in table]}
    if version:
        driver["version"] = version
    log = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [{"tool": {"driver": driver}, "results": results}]}
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


# --- json, markdown, table (the formats verify.audit.AuditReport has always had) ----------------


def _as_dict(obj: Any) -> dict[str, Any]:
    """A dataclass (or anything with ``as_dict``) as a plain dict."""
    if hasattr(obj, "as_dict"):
        return dict(obj.as_dict())
    return asdict(obj) if is_dataclass(obj) else dict(vars(obj))


def to_json(report: Any) -> str:
    """Findings and coverage as JSON (deterministic: fixed key order, findings as the report orders them)."""
    return json.dumps({
        "source": report.source,
        "findings": [_as_dict(f) for f in report.findings],
        "coverage": report.coverage,
        "fragments": [_as_dict(v) for v in getattr(report, "fragments", ())],
    }, indent=2, ensure_ascii=False)


def _md(text: str | None) -> str:
    """Text safe inside a Markdown table cell."""
    return (text or "").replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _code(text: str | None) -> str:
    """Text as a Markdown code span safe inside a table cell."""
    if not text:
        return "-"
    body = text.replace("\n", " ").replace("|", "\\|")
    fence = "`" * (max((len(m) for m in re.findall(r"`+", body)), default=0) + 1)
    return f"{fence} {body} {fence}"


def to_markdown(report: ReportLike) -> str:
    """An errata page: errors and warnings first, then every claim, then coverage."""
    name = Path(report.source).name
    c = report.coverage
    out = [f"# Errata: {_md(name)}", "",
           f"{c['claims']} claims audited: {c['correct']} correct, {c['error']} errors, "
           f"{c['warning']} warnings, {c['unknown']} undecided, {c['unparsed']} unparsed, "
           f"{c['not_found']} not found, {c['not_stated']} not stated in the notes.", ""]
    for title, keep in (("Errors", {"error"}), ("Warnings", {"warning"})):
        rows = [f for f in report.findings if f.severity in keep]
        out += [f"## {title}", ""]
        if not rows:
            out += ["None.", ""]
            continue
        out += ["| Line | Claim | Verdict | Written | Derived | Note |", "| --- | --- | --- | --- | --- | --- |"]
        out += [f"| {f.line or '-'} | {_md(f.claim)} | {f.verdict} | {_code(f.stated)} | {_code(f.expected)} | "
                f"{_md(f.message)} |" for f in rows]
        out.append("")
    out += ["## All claims", "", "| Line | Section | Claim | Verdict |", "| --- | --- | --- | --- |"]
    out += [f"| {f.line or '-'} | {getattr(f, 'section', '')} | {_md(f.claim)} | {f.verdict} |"
            for f in report.findings]
    out += ["", "## Coverage", "", "| Count | Value |", "| --- | --- |"]
    out += [f"| {k} | {v} |" for k, v in report.coverage.items() if isinstance(v, int)]
    return "\n".join(out) + "\n"


def render_table(report: ReportLike, console: Any) -> None:
    """Print the findings as a rich table, then the coverage line (notes text is never markup)."""
    from rich.table import Table
    from rich.text import Text

    styles = {"error": "bold red", "warning": "yellow", "info": "green"}
    table = Table(title=Text(f"Audit of {report.source}"), show_lines=False)
    for name in ("Line", "Section", "Claim", "Verdict", "Message"):
        table.add_column(name, overflow="fold")
    for f in report.findings:
        table.add_row(Text(str(f.line or "-")), Text(getattr(f, "section", "")), Text(f.claim),
                      Text(f.verdict, style=styles.get(f.severity, "")), Text(f.message))
    console.print(table)
    summary = ", ".join(f"{k} {v}" for k, v in report.coverage.items() if isinstance(v, int))
    console.print(Text(f"coverage: {summary}"))


#: Format name -> renderer returning text (``table`` prints to a console instead).
TEXT_FORMATS: Mapping[str, Callable[[Any], str]] = {
    "concise": to_concise,
    "github": to_github,
    "sarif": to_sarif,
    "json": lambda report: to_json(report) + "\n",
    "markdown": to_markdown,
}
FORMATS: tuple[str, ...] = ("table", *TEXT_FORMATS)


def default_format(is_terminal: bool) -> str:
    """``table`` for a person at a terminal, ``concise`` for a pipe or a file (as ruff does)."""
    return "table" if is_terminal else "concise"

