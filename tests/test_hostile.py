"""Hostile notes (tests/data/hostile/): without --run-listings nothing they hold runs; with it nothing escapes
bubblewrap; every audit ends with exit 0, 1 or 2 within its bound, and says nothing a listing printed."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from chainrule.cli import main
from verify import sandbox
from verify.sandbox import Limits, SandboxUnavailableError, run_isolated

HOSTILE = Path(__file__).resolve().parent / "data" / "hostile"
#: Cases whose bound lies in the judging of LaTeX (verify/audit.py fragment verdicts, the notation parser), not
#: in listings: tested below as an expected failure until that part of issue 13 lands.
LATEX_CASES = frozenset({"towers"})
CASES = sorted(p.stem for p in HOSTILE.glob("*.md") if p.stem not in LATEX_CASES)
SECRET = "CHAINRULE-SECRET-7f3a9c"
BOUND_S = 60.0  # every hostile audit ends within this (the held pipe alone would hold an unbounded run 75 s)


def _sandbox_reason() -> str | None:
    """Why the sandbox cannot run here (None when it can)."""
    try:
        sandbox.check_available()
    except SandboxUnavailableError as e:
        return str(e)
    return None


SANDBOX_MISSING = _sandbox_reason()
needs_sandbox = pytest.mark.skipif(SANDBOX_MISSING is not None, reason=f"bubblewrap cannot run: {SANDBOX_MISSING}")


class Listener:
    """A TCP listener on 127.0.0.1 that counts the connections it accepts."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self.stop = True
        self.thread.join(timeout=2)
        self.sock.close()


@dataclass
class Scene:
    """One hostile notes file written out with this test's canary folder, secret file, port and marker."""

    notes: Path
    canary: Path
    listener: Listener
    marker: str


@pytest.fixture
def scene(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Scene]:
    """The case named by the test's parameter, materialised in a temporary folder."""
    canary = tmp_path / "canary"
    canary.mkdir()  # exists, so an escaped write would succeed: it must stay empty
    secret = tmp_path / "secret.txt"
    secret.write_text(f"{SECRET}\n", encoding="utf-8")
    listener = Listener()
    marker = f"chainrule-hostile-{os.getpid()}-{request.node.name}".replace("[", "-").replace("]", "")
    text = (HOSTILE / f"{request.param}.md").read_text(encoding="utf-8")
    for key, value in {"@CANARY@": str(canary), "@SECRET@": str(secret), "@PORT@": str(listener.port),
                       "@MARKER@": marker}.items():
        text = text.replace(key, value)
    notes = tmp_path / f"{request.param}.md"
    notes.write_text(text, encoding="utf-8")
    try:
        yield Scene(notes, canary, listener, marker)
    finally:
        listener.close()


def _processes_with(marker: str) -> list[int]:
    """Processes whose command line holds ``marker``."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if marker.encode() in cmdline:
                found.append(int(entry))
    return found


def _audit(scene: Scene, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, float]:
    """Audit the scene's notes in this process; exit code, stdout + stderr, seconds."""
    start = time.monotonic()
    code = main(["audit", "--notes", str(scene.notes), "--format", "json", *extra])
    seconds = time.monotonic() - start
    out = capsys.readouterr()
    return code, out.out + out.err, seconds


def _assert_nothing_escaped(scene: Scene, output: str) -> None:
    """No file in the canary folder, no connection, no process left, no secret and no escape in the output."""
    deadline = time.monotonic() + 2.0
    while _processes_with(scene.marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _processes_with(scene.marker), "a process of the listing outlived the audit"
    time.sleep(0.5)  # a surviving writer would have written by now
    assert sorted(p.name for p in scene.canary.iterdir()) == []
    assert scene.listener.accepted == 0
    assert SECRET not in output and "root:x:0:0" not in output
    assert "\x1b" not in output and "\x07" not in output


@pytest.mark.parametrize("scene", CASES, indirect=True)
def test_without_run_listings_nothing_in_the_notes_runs(scene, capsys):
    code, output, seconds = _audit(scene, capsys)
    assert code in (0, 1, 2) and seconds < BOUND_S
    _assert_nothing_escaped(scene, output)


@pytest.mark.parametrize("scene", sorted(LATEX_CASES), indirect=True)
def test_towers_of_powers_end_within_the_bound(scene, capsys):
    code, output, seconds = _audit(scene, capsys)
    assert code in (0, 1, 2) and seconds < BOUND_S


@pytest.mark.parametrize("scene", ["f2py"], indirect=True)
def test_without_run_listings_the_audit_starts_no_process_at_all(scene, capsys, monkeypatch):
    def refuse(*_args, **_kwargs):
        raise AssertionError("the audit started a process without --run-listings")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    monkeypatch.setattr(os, "fork", refuse)
    monkeypatch.setattr(os, "posix_spawn", refuse)
    code, output, _ = _audit(scene, capsys)
    assert code in (0, 1) and "started a process" not in output


@needs_sandbox
@pytest.mark.parametrize("scene", [c for c in CASES if c != "epochs"], indirect=True)
def test_with_run_listings_nothing_escapes_the_sandbox(scene, capsys):
    code, output, seconds = _audit(scene, capsys, "--run-listings")
    assert code in (0, 1, 2) and seconds < BOUND_S
    _assert_nothing_escaped(scene, output)


@needs_sandbox
@pytest.mark.parametrize("scene", ["epochs"], indirect=True)
def test_a_listing_that_never_ends_is_stopped_at_the_sandbox_timeout(scene, capsys, monkeypatch):
    monkeypatch.setattr(sandbox, "LIMITS", Limits(timeout_s=3.0, cpu_s=3))
    code, output, seconds = _audit(scene, capsys, "--run-listings")
    assert code == 1 and seconds < BOUND_S
    findings = json.loads(output[:output.rindex("}") + 1])["findings"]
    finding = next(f for f in findings if f["claim"].startswith("listing@"))
    assert finding["message"] == "the listing timed out in the sandbox"


@pytest.mark.parametrize("scene", ["epochs"], indirect=True)
def test_the_audit_caps_a_listings_epochs_and_says_so(scene, capsys):
    code, output, _ = _audit(scene, capsys)
    finding = next(f for f in json.loads(output)["findings"] if f["claim"].startswith("listing@"))
    assert "not run" in finding["message"] and "20000 epochs (capped: the listing says 1e+12)" in finding["message"]
    assert code in (0, 1)


@pytest.mark.parametrize("scene", ["nested_helpers"], indirect=True)
def test_a_dsigmoid_of_22_nested_helpers_is_too_large_to_decide(scene, capsys):
    code, output, seconds = _audit(scene, capsys)
    finding = next(f for f in json.loads(output)["findings"] if f["claim"] == "xor_dsigmoid")
    assert finding["verdict"] == "unknown" and finding["message"].startswith("unknown: too large to decide")
    assert code in (0, 1) and seconds < BOUND_S


@needs_sandbox
@pytest.mark.parametrize("scene", ["read_leak", "terminal_escapes"], indirect=True)
def test_a_failing_listing_is_described_in_our_own_words(scene, capsys):
    _, output, _ = _audit(scene, capsys, "--run-listings")
    finding = next(f for f in json.loads(output)["findings"] if f["claim"].startswith("listing@"))
    assert finding["verdict"] == "error"
    assert finding["message"] in {"the listing raised FileNotFoundError on line 2 in the sandbox",
                                  "the listing raised ValueError on line 2 in the sandbox"}


@needs_sandbox
@pytest.mark.parametrize("scene", ["held_pipe"], indirect=True)
def test_the_command_line_with_run_listings_does_not_wait_for_a_held_pipe(scene):
    start = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "chainrule.cli", "audit", "--notes", str(scene.notes),
                             "--run-listings", "--format", "json"], capture_output=True, text=True, timeout=BOUND_S)
    assert result.returncode in (0, 1) and time.monotonic() - start < 30
    assert not _processes_with(scene.marker)


@pytest.mark.parametrize("scene", ["terminal_escapes"], indirect=True)
@pytest.mark.parametrize("fmt", ["table", "markdown", "json"])
def test_terminal_escapes_of_the_notes_never_reach_the_output(scene, capsys, fmt):
    main(["audit", "--notes", str(scene.notes), "--format", fmt])
    out = capsys.readouterr()
    assert not any(ch in out.out + out.err for ch in "\x1b\x07\x9b")


# --- the sandbox itself ---------------------------------------------------------------------


@needs_sandbox
def test_the_sandbox_cuts_output_past_its_limit():
    run = run_isolated("import sys\nsys.stdout.write('9' * 3_000_000)\n")
    assert run.returncode == 0 and run.truncated and len(run.stdout) == sandbox.LIMITS.output_bytes


@needs_sandbox
def test_the_sandbox_has_no_network_no_home_and_an_empty_working_folder():
    run = run_isolated("import os, socket\n"
                       "print(sorted(os.listdir('.')), sorted(os.listdir('/tmp')), os.path.exists('/etc/passwd'),\n"
                       "      os.path.exists(os.path.expanduser('~root/.bashrc')),\n"
                       "      [n for _, n in socket.if_nameindex()])\n")
    assert run.returncode == 0, run.stderr
    # /tmp is empty but for the read-only path to an interpreter that lives under /tmp (a clone in /tmp)
    under_tmp = sorted({Path(r).relative_to("/tmp").parts[0] for r in sandbox.python_roots() if r.startswith("/tmp/")})
    assert run.stdout.split("\n")[0] == f"[] {under_tmp} False False ['lo']"


@needs_sandbox
def test_the_sandbox_limits_processes():
    run = run_isolated("import os\nfor _ in range(500):\n    os.fork()\n", Limits(timeout_s=20))
    assert run.returncode != 0 and "BlockingIOError" in run.stderr


def test_run_listings_without_bubblewrap_exits_2_in_one_line_and_runs_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sandbox.shutil, "which", lambda _name: None)
    canary = tmp_path / "ran"
    notes = tmp_path / "n.md"
    notes.write_text(f"## 1.10 XOR\n\n```python\nimport numpy as np\nnp.save({str(canary)!r}, 1)\n"
                     "print('P:', 1)  # ≈ [1]\n```\n", encoding="utf-8")
    assert main(["audit", "--notes", str(notes), "--run-listings"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bubblewrap" in err and not canary.with_suffix(".npy").exists()


def test_run_listings_where_bubblewrap_cannot_start_exits_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sandbox, "bwrap", lambda: "/bin/false")
    notes = tmp_path / "n.md"
    notes.write_text("## 1.10 XOR\n\nNo listing.\n", encoding="utf-8")
    assert main(["audit", "--notes", str(notes), "--run-listings"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot start a sandbox" in err


# --- determinism ------------------------------------------------------------------------------


def test_two_audits_of_the_same_file_give_byte_identical_json():
    notes = Path(__file__).resolve().parent / "data" / "mini_foundations.md"
    runs = [subprocess.run([sys.executable, "-m", "chainrule.cli", "audit", "--notes", str(notes), "--format", "json"],
                           capture_output=True, timeout=300, env={**os.environ, "PYTHONHASHSEED": seed})
            for seed in ("1", "2")]
    assert runs[0].returncode in (0, 1) and runs[0].stdout == runs[1].stdout
    assert b" s;" not in runs[0].stdout and b"ran in" not in runs[0].stdout


# --- report --out ------------------------------------------------------------------------------


def _fake_report(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make build_report fast: two .tex files and a figure instead of the real report."""
    import reports.build as build

    monkeypatch.setattr(build, "render_report", lambda *_a, **_k: {"chainrule.tex": "main", "section-1.1.tex": "s"})
    monkeypatch.setattr(build, "render_figures", lambda _registry: {"figures/f.pdf": b"%PDF"})


def test_report_into_a_folder_of_other_files_leaves_them_untouched(tmp_path, monkeypatch):
    import reports.build as build

    _fake_report(monkeypatch)
    theirs = {"section-9.9.tex": "mine", "figures/mine.pdf": "mine", "notes.txt": "mine", "chainrule.log": "mine"}
    for name, text in theirs.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    build.build_report(tmp_path, pdf=False, parallel=False)
    build.build_report(tmp_path, pdf=False, parallel=False)
    assert {n: (tmp_path / n).read_text() for n in theirs} == theirs
    listed = [ln for ln in (tmp_path / build.MANIFEST).read_text().splitlines() if not ln.startswith("#")]
    assert listed == ["chainrule.tex", "figures/f.pdf", "section-1.1.tex"]


def test_a_manifest_cannot_make_the_report_delete_outside_its_folder(tmp_path, monkeypatch):
    import reports.build as build

    _fake_report(monkeypatch)
    out, victim = tmp_path / "out", tmp_path / "victim.txt"
    out.mkdir()
    victim.write_text("keep", encoding="utf-8")
    (out / build.MANIFEST).write_text(f"../victim.txt\n{victim}\n", encoding="utf-8")
    build.build_report(out, pdf=False, parallel=False)
    assert victim.read_text() == "keep"


@pytest.mark.parametrize("where", ["a file", "the root folder", "a folder that cannot be written"])
def test_report_out_refuses_a_bad_place_with_exit_2_before_any_work(tmp_path, capsys, monkeypatch, where):
    import reports.build as build

    monkeypatch.setattr(build, "render_report", lambda *_a, **_k: pytest.fail("the report was rendered"))
    if where == "a file":
        out = tmp_path / "file.tex"
        out.write_text("x", encoding="utf-8")
    elif where == "the root folder":
        out = Path("/")
    else:
        out = Path("/proc/chainrule-report")  # not writable even by root
    start = time.monotonic()
    assert main(["report", "--no-pdf", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--out" in err and time.monotonic() - start < 5


def test_all_refuses_a_bad_out_before_deriving_anything(tmp_path, capsys):
    out = tmp_path / "file.tex"
    out.write_text("x", encoding="utf-8")
    start = time.monotonic()
    assert main(["all", "--no-pdf", "--out", str(out)]) == 2
    assert "is a file" in capsys.readouterr().err and time.monotonic() - start < 5


# --- a line too long for TeX -------------------------------------------------------------------


@pytest.mark.parametrize("scene", ["long_tex_line"], indirect=True)
def test_a_cell_of_7000_backslashes_is_cut_and_wrapped_for_tex(scene, tmp_path):
    import shutil as sh

    from reports.build import ERRATA, PREAMBLE, build_errata, compile_pdf, environment
    from reports.latex import escape
    from verify.audit import audit_file

    cell = "\\" * 7000
    escaped = escape(cell, breakable=True)
    assert max(len(line) for line in escaped.split("\n")) < 2000 and "characters cut" in escaped
    findings = audit_file(scene.notes).findings
    errata = environment().get_template("errata.tex.j2").render(errata=build_errata(scene.notes, findings))
    assert max(len(line) for line in errata.split("\n")) < 5000
    if not all(sh.which(t) for t in ("latexmk", "pdflatex")):
        pytest.skip("latexmk or pdflatex not installed")
    main_tex = "\\documentclass{article}\\input{preamble.tex}\\begin{document}\\input{errata.tex}\\end{document}\n"
    preamble = environment().get_template("preamble.tex.j2").render()
    # the cell itself, through the filter, as the errata table would show a stated value
    errata += "\n\\texttt{" + escaped + "}\n"
    pdf = compile_pdf(tmp_path, {"chainrule.tex": main_tex, PREAMBLE: preamble, ERRATA: errata}, lambda _m: None)
    assert pdf.is_file()


def test_a_5_mb_notes_file_is_refused_with_exit_2_at_once(tmp_path, capsys):
    notes = tmp_path / "big.md"
    notes.write_bytes(b"$a = 0.5$ and $b = 0.25$.\n" * (5 * 1024 * 1024 // 26 + 1))
    start = time.monotonic()
    assert main(["audit", "--notes", str(notes), "--format", "json"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "limit" in err and time.monotonic() - start < 5
