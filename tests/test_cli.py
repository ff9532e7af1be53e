"""The command line: help, machine-readable output, and one-line errors with the right exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from chainrule.cli import main


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m chainrule.cli ARGS` in a subprocess, as a user would."""
    return subprocess.run([sys.executable, "-m", "chainrule.cli", *args], capture_output=True, text=True, timeout=300)


def test_help_lists_every_stage(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for command in ("derive", "generate", "verify", "report", "audit", "all", "bench"):
        assert command in out


def test_derive_json_lists_verdicts_for_the_requested_records(capsys):
    assert main(["derive", "--only", "sigmoid_grad", "softmax_jacobian", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)["formulas"]
    assert [r["key"] for r in rows] == ["sigmoid_grad", "softmax_jacobian"]
    assert {r["verdict"] for r in rows} == {"proven"}


def test_unknown_record_is_a_one_line_usage_error():
    result = run_cli("derive", "--only", "no_such_formula")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "no formula named no_such_formula" in result.stderr
    assert "Traceback" not in result.stderr


def test_audit_of_a_missing_file_exits_2_with_one_line(tmp_path):
    result = run_cli("audit", "--notes", str(tmp_path / "absent.md"), "--format", "json")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_audit_of_a_directory_exits_2(tmp_path):
    result = run_cli("audit", "--notes", str(tmp_path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_bad_option_exits_2_from_argparse():
    result = run_cli("audit", "--format", "yaml")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr
