"""The lock (constraints.txt) matches pyproject.toml, and this environment was installed from it."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
LOCK = REPO / "constraints.txt"
FIX = "run `python tools/lock.py` (needs uv) and commit constraints.txt"
REINSTALL = "reinstall with `.venv/bin/pip install -c constraints.txt -e '.[test]'`"


def _lock_tool() -> ModuleType:
    """tools/lock.py, loaded from its path (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location("chainrule_lock_tool", REPO / "tools" / "lock.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pins() -> dict[str, list[Requirement]]:
    """Every `name==version ; marker` line of the lock, by canonical name."""
    pins: dict[str, list[Requirement]] = {}
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            req = Requirement(line)
            pins.setdefault(canonicalize_name(req.name), []).append(req)
    return pins


def _declared() -> list[Requirement]:
    """Every dependency pyproject declares, extras included."""
    lists = _lock_tool().dependency_lists()
    extras = lists["optional-dependencies"]
    return [Requirement(s) for s in [*lists["dependencies"], *(d for ds in extras.values() for d in ds)]]


def test_the_lock_records_the_hash_of_pyprojects_dependency_lists():
    tool = _lock_tool()
    assert tool.recorded_hash() == tool.dependency_hash(), f"constraints.txt is stale against pyproject.toml: {FIX}"


def test_every_declared_dependency_is_pinned_to_one_exact_version_that_satisfies_it():
    pins = _pins()
    for req in _declared():
        found = pins.get(canonicalize_name(req.name))
        assert found, f"{req.name} is declared in pyproject.toml but not pinned in constraints.txt: {FIX}"
        for pin in found:
            (spec,) = pin.specifier
            assert spec.operator == "==", f"constraints.txt: {pin} is not an exact pin: {FIX}"
            assert req.specifier.contains(spec.version, prereleases=True), (
                f"constraints.txt pins {pin}, outside pyproject's {req}: {FIX}")


def test_every_pin_is_exact():
    for name, reqs in _pins().items():
        for req in reqs:
            assert re.fullmatch(r"==[0-9][0-9A-Za-z.+!]*", str(req.specifier)), f"{name}: {req.specifier} is not exact"


def test_this_environment_has_the_locked_versions():
    wrong = []
    for name, reqs in _pins().items():
        for req in reqs:
            if req.marker is not None and not req.marker.evaluate():
                continue
            try:
                have = importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                continue  # a tool of another extra, or one pip did not need here
            if not req.specifier.contains(have, prereleases=True):
                wrong.append(f"{name} {have} (locked {req.specifier})")
    if wrong:
        pytest.fail(f"installed versions differ from constraints.txt: {', '.join(wrong)}; {REINSTALL}")


def test_the_readme_commands_and_ci_install_from_the_lock():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"```bash\n(.*?)\n```", readme, re.S)[:2]
    assert len(commands) == 2 and all("-c constraints.txt" in c for c in commands), commands
    assert commands[1] in (REPO / ".ci" / "run").read_text(encoding="utf-8"), ".ci/run must run the README's tests"
