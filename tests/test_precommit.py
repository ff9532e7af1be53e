"""The `chainrule-audit` pre-commit hook (.pre-commit-hooks.yaml), run by `pre-commit try-repo`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "verify" / "data" / "example_notes.md"
# The example notes' two deliberate slips, and what the derivations say instead.
FIXES = {r"| Tanh | $1+\tanh^2(z)$ |": r"| Tanh | $1-\tanh^2(z)$ |",
         r"= \frac{1}{N}(\hat{y}_i - y_i)": r"= \frac{2}{N}(\hat{y}_i - y_i)"}


def _corrected() -> str:
    """The example notes with both slips fixed."""
    text = EXAMPLE.read_text(encoding="utf-8")
    for wrong, right in FIXES.items():
        assert wrong in text, f"the example notes no longer hold the slip {wrong!r}: update FIXES"
        text = text.replace(wrong, right)
    return text


def _try_hook(tmp_path: Path, notes: str) -> subprocess.CompletedProcess[str]:
    """Commit ``notes`` as notes.md in a new repository and run the hook on it with `pre-commit try-repo`."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    work = tmp_path / "notes-repo"
    work.mkdir()
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"), "GIT_AUTHOR_NAME": "t",
           "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org",
           # `language: system` runs the chainrule on PATH: this environment's
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    (work / "notes.md").write_text(notes, encoding="utf-8")
    subprocess.run(["git", "init", "-q"], cwd=work, env=env, check=True)
    subprocess.run(["git", "add", "notes.md"], cwd=work, env=env, check=True)
    return subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(REPO), "chainrule-audit",
                           "--files", "notes.md", "--verbose"], cwd=work, env=env, capture_output=True, text=True,
                          timeout=600)


def test_the_hook_fails_on_notes_with_an_error_and_names_file_and_line(tmp_path):
    result = _try_hook(tmp_path, EXAMPLE.read_text(encoding="utf-8"))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "notes.md:40:11: error: tanh_grad" in result.stdout and "notes.md:56:1: error: mse_grad" in result.stdout


def test_the_hook_passes_on_correct_notes(tmp_path):
    result = _try_hook(tmp_path, _corrected())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Passed" in result.stdout
