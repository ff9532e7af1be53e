"""The audit's output formats (verify/output.py): concise, github and SARIF 2.1.0, fed by one list of findings.

``tests/data/sarif-schema-2.1.0.json`` is the OASIS SARIF 2.1.0 schema (errata 01, the published
standard), copied unchanged from oasis-tcs/sarif-spec, ``sarif-2.1/schema/sarif-schema-2.1.0.json``,
so the test runs without network.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import jsonschema
import pytest

from verify.audit import SEVERITY
from verify.output import FORMATS, RULES, TEXT_FORMATS, default_format, to_concise, to_github, to_sarif

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "tests" / "data" / "sarif-schema-2.1.0.json"
EXAMPLE = REPO / "verify" / "data" / "example_notes.md"


@dataclass(frozen=True)
class F:
    """A finding with the fields verify.audit.Finding has."""

    claim: str
    line: int | None
    severity: str
    message: str
    verdict: str
    stated: str | None = None
    expected: str | None = None
    section: str = "1.2"


@dataclass(frozen=True)
class PathF(F):
    """A finding that names its own file (multi-file audits)."""

    path: str = ""


@dataclass(frozen=True)
class Fragment:
    """A fragment verdict with the fields verify.audit.FragmentVerdict has."""

    line: int
    col: int
    claims: tuple[str, ...] = ()


@dataclass
class Report:
    """A report with the fields verify.audit.AuditReport has."""

    source: str
    findings: list[F]
    coverage: dict[str, int] = field(default_factory=lambda: {"claims": 3})
    fragments: list[Fragment] = field(default_factory=list)


def _report() -> Report:
    """Three findings: an error in a table cell, a warning without a line, and a correct claim."""
    return Report("notes/ch1.md", [
        F("tanh_grad", 40, "error", "written 1 + tanh^2, derived 1 - tanh^2", "error", "1 + tanh^2", "1 - tanh^2"),
        F("gelu_range", None, "warning", "range differs,\nslightly: 50% off", "unknown"),
        F("sigmoid_grad", 39, "info", "proven", "correct"),
    ], fragments=[Fragment(40, 10, ("tanh_grad",))])


# --- concise ---------------------------------------------------------------------------------


def test_concise_gives_path_line_col_severity_and_message_per_problem():
    lines = to_concise(_report()).splitlines()
    assert lines[0] == ("notes/ch1.md:40:11: error: tanh_grad: written 1 + tanh^2, derived 1 - tanh^2 [error]")
    assert lines[1].startswith("notes/ch1.md:1:1: warning: gelu_range: range differs, slightly")


def test_concise_leaves_out_correct_claims_and_ends_with_a_count():
    out = to_concise(_report())
    assert "sigmoid_grad" not in out
    assert out.splitlines()[-1] == "Found 1 error and 1 warning in 3 claims."


def test_concise_lines_match_the_linter_pattern_editors_read():
    pattern = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<severity>error|warning): (?P<msg>.+)$")
    assert all(pattern.match(line) for line in to_concise(_report()).splitlines()[:-1])


def test_a_finding_with_its_own_path_is_reported_at_that_path():
    report = Report("a.md", [PathF("k", 3, "error", "m", "error", path="b.md")])
    assert to_concise(report).startswith("b.md:3:1: error:")


# --- github ----------------------------------------------------------------------------------


def test_github_writes_one_workflow_command_per_problem():
    lines = to_github(_report()).splitlines()
    assert lines[0] == ("::error file=notes/ch1.md,line=40,col=11,title=chainrule refuted%3A tanh_grad::"
                        "written 1 + tanh^2, derived 1 - tanh^2")
    assert lines[1].startswith("::warning file=notes/ch1.md,line=1,col=1,title=chainrule undecided%3A gelu_range::")
    assert len(lines) == 2


def test_github_escapes_percent_signs_and_property_separators():
    report = Report("dir,x/n:1.md", [F("k", 2, "error", "100% wrong", "error")])
    (line,) = to_github(report).splitlines()
    assert "file=dir%2Cx/n%3A1.md," in line and line.endswith("::100%25 wrong")


# --- sarif -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft4Validator:
    """A validator for the vendored SARIF 2.1.0 schema (JSON Schema draft 4)."""
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema)


def test_sarif_is_valid_against_the_2_1_0_schema(validator):
    log = json.loads(to_sarif(_report(), version="0.1.0"))
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(log)]
    assert not errors, errors


def test_sarif_of_a_clean_report_is_valid_and_has_no_results(validator):
    log = json.loads(to_sarif(Report("ok.md", [F("k", 1, "info", "proven", "correct")])))
    assert not list(validator.iter_errors(log)) and log["runs"][0]["results"] == []


def test_sarif_has_one_rule_per_verdict_kind_and_results_point_at_theirs():
    log = json.loads(to_sarif(_report()))
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert {r["name"] for r in rules} >= {r.name for r in RULES.values()}
    for result in log["runs"][0]["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    first = log["runs"][0]["results"][0]
    assert first["level"] == "error" and first["properties"]["stated"] == "1 + tanh^2"
    assert first["locations"][0]["physicalLocation"]["region"] == {"startLine": 40, "startColumn": 11}


def test_a_sarif_result_without_a_line_has_no_region(validator):
    (result,) = [r for r in json.loads(to_sarif(_report()))["runs"][0]["results"] if r["level"] == "warning"]
    assert "region" not in result["locations"][0]["physicalLocation"]


def test_every_verdict_the_audit_gives_has_a_rule_with_its_severity():
    assert set(SEVERITY) <= set(RULES), f"add a Rule to verify.output.RULES for {set(SEVERITY) - set(RULES)}"
    level = {"error": "error", "warning": "warning", "info": "none"}
    assert all(RULES[v].level == level[s] for v, s in SEVERITY.items())


def test_rule_ids_are_unique():
    assert len({r.id for r in RULES.values()}) == len(RULES)


# --- the command line ------------------------------------------------------------------------


def test_the_default_format_is_concise_unless_stdout_is_a_terminal():
    assert default_format(is_terminal=False) == "concise" and default_format(is_terminal=True) == "table"
    assert set(FORMATS) == {"table", *TEXT_FORMATS} >= {"concise", "github", "sarif", "json", "markdown"}


@pytest.fixture(scope="module")
def piped_audit() -> subprocess.CompletedProcess[str]:
    """`chainrule audit` of the example notes with stdout piped (no --format)."""
    return subprocess.run([sys.executable, "-m", "chainrule.cli", "audit", "--notes", str(EXAMPLE)],
                          cwd=REPO, capture_output=True, text=True, timeout=300)


def test_a_piped_audit_prints_concise_lines_for_the_example_notes_slips(piped_audit):
    assert piped_audit.returncode == 1, piped_audit.stderr
    lines = piped_audit.stdout.splitlines()
    assert [line.split(": ")[0] for line in lines[:-1]] == ["verify/data/example_notes.md:40:11",
                                                           "verify/data/example_notes.md:56:1"]
    assert "tanh_grad" in lines[0] and "mse_grad" in lines[1]


def test_the_sarif_of_the_example_notes_audit_is_valid(validator):
    out = subprocess.run([sys.executable, "-m", "chainrule.cli", "audit", "--notes", str(EXAMPLE),
                          "--format", "sarif"], cwd=REPO, capture_output=True, text=True, timeout=300)
    log = json.loads(out.stdout)
    assert not list(validator.iter_errors(log)) and len(log["runs"][0]["results"]) == 2
