"""The audit on a sheet of standard identities written for it, and on a copy with one planted error in each.

Every right identity must be judged correct, and every wrong one an error at its own line with a
counterexample (the values of the free names, or both sides' values). The sheets are in tests/data.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from verify.audit import audit_file

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="module")
def right():
    """The audit of the right sheet."""
    return audit_file(DATA / "identities.md", sections=())


@pytest.fixture(scope="module")
def wrong():
    """The audit of the sheet with one planted error per identity."""
    return audit_file(DATA / "identities_wrong.md", sections=())


def _identity_lines(path: Path) -> list[int]:
    """The lines that hold an identity."""
    return [k for k, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1) if line.startswith("Identity")]


def test_the_sheet_has_at_least_sixty_identities():
    assert len(_identity_lines(DATA / "identities.md")) >= 60
    assert _identity_lines(DATA / "identities.md") == _identity_lines(DATA / "identities_wrong.md")


def test_every_right_identity_is_correct(right):
    verdicts = {v.line: (v.verdict, v.reason) for v in right.fragments if v.kind == "inline"}
    assert {k: v for k, v in verdicts.items() if v[0] != "correct"} == {}
    assert sorted(verdicts) == _identity_lines(DATA / "identities.md")
    assert right.exit_code == 0


def test_every_wrong_identity_is_an_error_at_its_line_with_a_counterexample(wrong):
    errors = {f.line: f for f in wrong.findings if f.verdict == "error"}
    assert sorted(errors) == _identity_lines(DATA / "identities_wrong.md")
    for f in errors.values():
        words = ("left = ", "sides are equal", " gives ", "differs from", "the difference is", "the rest is larger")
        assert any(w in f.message for w in words), f.message
    assert wrong.exit_code == 1
