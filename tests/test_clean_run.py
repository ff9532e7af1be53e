"""`chainrule all` in a fresh copy of the repository, with no notes beside it: it audits the example
notes, writes only into the git-ignored build folder, and leaves `git status` clean."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd`` and return its stdout."""
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.org"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def fresh_clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new git repository holding this checkout's tracked files as they are now (uncommitted edits included)."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    clone = tmp_path_factory.mktemp("clone") / "chainrule"  # no ../shared beside it
    tracked = _git(REPO, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    for rel in filter(None, tracked):
        src = REPO / rel
        if src.is_file():
            (clone / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, clone / rel)
    _git(clone, "init", "-q")
    _git(clone, "add", "-A")
    _git(clone, "commit", "-q", "-m", "snapshot")
    return clone


@pytest.fixture(scope="module")
def main_run(fresh_clone: Path) -> subprocess.CompletedProcess[str]:
    """`chainrule all --no-pdf` run in the clone, importing the clone's own packages."""
    env = {**os.environ, "PYTHONPATH": str(fresh_clone), "COLUMNS": "200"}
    where = subprocess.run([sys.executable, "-c", "import chainrule, verify; print(chainrule.__file__)"],
                           cwd=fresh_clone, env=env, capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(fresh_clone)), f"the clone's packages are not the ones imported: {where}"
    return subprocess.run([sys.executable, "-m", "chainrule.cli", "all", "--no-pdf"], cwd=fresh_clone, env=env,
                          capture_output=True, text=True, timeout=600)


def test_the_main_command_leaves_the_clone_clean(fresh_clone, main_run):
    assert main_run.returncode in (0, 1), main_run.stderr
    assert _git(fresh_clone, "status", "--porcelain", "--untracked-files=all") == ""


def test_the_main_command_writes_the_report_into_the_build_folder(fresh_clone, main_run):
    assert (fresh_clone / "build" / "report" / "chainrule.tex").is_file()


def test_without_notes_the_main_command_says_it_audits_the_example_notes(main_run):
    said = [line for line in main_run.stderr.splitlines() if "example notes" in line]
    assert len(said) == 1, main_run.stderr


def test_the_example_notes_audit_finds_its_deliberate_slips(main_run):
    assert main_run.returncode == 1  # the example notes hold two deliberate errors
    assert "tanh_grad" in main_run.stdout and "mse_grad" in main_run.stdout


def test_the_reference_report_is_not_written_from_the_example_notes(monkeypatch, capsys):
    from chainrule import cli

    monkeypatch.setattr(cli, "default_notes", lambda: None)
    assert cli.main(["report", "--no-pdf", "--out", str(REPO / "reports" / "out")]) == 2
    err = capsys.readouterr().err
    assert "example notes" in err and "--notes ../shared/notes/01_foundations.md" in err


def test_the_example_notes_ship_as_package_data():
    import tomllib

    data = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["package-data"]
    from chainrule.cli import EXAMPLE_NOTES

    assert EXAMPLE_NOTES.is_file() and EXAMPLE_NOTES.match("verify/" + data["verify"][0])


def test_the_example_notes_errata_list_the_slips(fresh_clone, main_run):
    errata = (fresh_clone / "build" / "report" / "errata.tex").read_text(encoding="utf-8")
    assert "example" in errata and "tanh" in errata
