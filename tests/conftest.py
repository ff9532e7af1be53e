"""Shared pytest configuration: the --runslow option and the Hypothesis profiles.

``@pytest.mark.slow`` tests run only with ``--runslow``. Hypothesis runs the fast "ci" profile
unless ``CHAINRULE_HYPOTHESIS_PROFILE=long`` asks for the long one.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=10, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("long", max_examples=300, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("CHAINRULE_HYPOTHESIS_PROFILE", "ci"))


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--runslow``."""
    parser.addoption("--runslow", action="store_true", default=False, help="also run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip ``slow`` tests unless ``--runslow`` is given."""
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


NOTES = Path(__file__).resolve().parents[2] / "shared" / "notes" / "01_foundations.md"


@pytest.fixture(scope="session")
def _real_notes_audit() -> Any:
    """The audit of the real notes, computed once per session (about 15 s)."""
    if not NOTES.is_file():
        pytest.skip(f"the notes are not at {NOTES}")
    from verify.audit import audit_file

    return audit_file(NOTES)


@pytest.fixture(scope="module")
def real_notes_audit(_real_notes_audit: Any) -> Any:
    """The audit of the real notes; each test module gets its own copy, so none can change another's."""
    return copy.deepcopy(_real_notes_audit)
