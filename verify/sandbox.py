"""Run untrusted Python (a notes listing) isolated by bubblewrap; refuse when bubblewrap cannot run.

Only ``chainrule audit --run-listings`` gets here. The listing runs in new network, PID, IPC and UTS
namespaces (no network at all, not even the host's loopback), sees a read-only view of ``/usr`` and
of this Python's installation only (no ``/etc``, ``/home``, ``/root`` or working tree), an empty,
private, read-only ``/tmp`` and working folder (a tmpfs has no size cap in bubblewrap 0.8), and runs
as ``nobody`` when chainrule runs as root. Its interpreter runs under limits of CPU time, address
space, processes, file size and open files; its output is cut past ``Limits.output_bytes``. When
it ends or times out, bubblewrap and the PID namespace go with it, so no grandchild (``setsid``,
``sleep 75 &``) outlives the run.

There is no weaker mode: without a working ``bwrap`` every run raises ``SandboxUnavailableError``.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from chainrule.errors import InputError

NOBODY = 65534
SCRIPT_DIR = "/run/chainrule-listing"  # the listing's file, read-only
WORK_DIR = "/run/work"  # the listing's empty working folder (a private tmpfs, read-only)
INSTALL = "apt-get install bubblewrap"


class SandboxUnavailableError(InputError):
    """bubblewrap is missing or cannot start here: listings are not run (exit code 2)."""


@dataclass(frozen=True)
class Limits:
    """What one isolated run may use."""

    timeout_s: float = 60.0
    cpu_s: int = 60
    memory_bytes: int = 2 * 1024**3
    processes: int = 64  # threads count too
    file_bytes: int = 16 * 1024**2
    open_files: int = 64
    output_bytes: int = 1024**2


LIMITS = Limits()


@dataclass(frozen=True)
class Isolated:
    """How an isolated run ended: its output (cut past the limit), exit status, and whether it timed out."""

    stdout: str
    stderr: str
    returncode: int | None
    timed_out: bool
    truncated: bool


# Runs inside the sandbox (our code, before the listing's): become nobody if we are real root there,
# set the limits, then replace itself by an isolated interpreter on the listing.
LAUNCHER = (
    "import os, resource, sys\n"
    "cpu, memory, nproc, fsize, nofile = map(int, sys.argv[1:6])\n"
    "if os.getuid() == 0:\n"
    f"    os.setgroups([]); os.setgid({NOBODY}); os.setuid({NOBODY})\n"
    "R = resource\n"
    "for limit, value in ((R.RLIMIT_CPU, cpu), (R.RLIMIT_AS, memory), (R.RLIMIT_NPROC, nproc),\n"
    "                     (R.RLIMIT_FSIZE, fsize), (R.RLIMIT_NOFILE, nofile), (R.RLIMIT_CORE, 0)):\n"
    "    R.setrlimit(limit, (value, value))\n"
    "os.execv(sys.executable, [sys.executable, '-I', sys.argv[6]])\n"
)


def bwrap() -> str:
    """The path of the bwrap executable; raise SandboxUnavailableError (one line) when it is not installed."""
    found = shutil.which("bwrap")
    if found is None:
        raise SandboxUnavailableError(f"--run-listings needs bubblewrap (bwrap), which is not installed; install "
                                      f"it (`{INSTALL}`) or leave out --run-listings to read listings without "
                                      "running them")
    return found


def python_roots() -> list[str]:
    """The folders this interpreter and its packages live in (shown read-only inside the sandbox)."""
    roots = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, os.path.dirname(os.path.dirname(
        os.path.realpath(sys.executable))))}
    roots.add(sys.prefix)  # the venv as named (sys.executable points into it)
    spec = importlib.util.find_spec("numpy")
    if spec is not None and spec.origin:  # numpy's site-packages, wherever it is installed (--user too)
        roots.add(os.path.dirname(os.path.dirname(os.path.realpath(spec.origin))))
    roots = {r for r in roots if r != "/usr" and not r.startswith("/usr/")}
    return sorted(r for r in roots if not any(r.startswith(other + "/") for other in roots))


def _dirs(path: str, made: set[str]) -> list[str]:
    """bwrap arguments creating each missing ancestor of ``path`` as a world-readable folder."""
    out: list[str] = []
    parts = Path(path).parts[1:-1]
    for k in range(len(parts)):
        here = "/" + "/".join(parts[: k + 1])
        if here not in made:
            made.add(here)
            out += ["--perms", "0755", "--dir", here]
    return out


def _processes_of_this_user() -> int:
    """How many processes the real user id runs now (RLIMIT_NPROC counts them all, outside root)."""
    uid, count = os.getuid(), 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                count += os.stat(f"/proc/{entry}").st_uid == uid
            except OSError:
                continue
    return count


def command(script_dir: str, limits: Limits = LIMITS) -> list[str]:
    """The bwrap command line that runs ``script_dir``/listing.py isolated, under ``limits``."""
    root = os.getuid() == 0
    # Real root starts bwrap without a user namespace and the launcher drops to nobody; anyone else
    # needs the user namespace (and their own process count raises the per-user process limit).
    namespaces = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
    if not root:
        namespaces.insert(0, "--unshare-user")
    nproc = limits.processes if root else limits.processes + _processes_of_this_user()
    made = {"/usr", "/tmp", "/proc", "/dev", "/run"}
    mounts = ["--ro-bind", "/usr", "/usr"]
    for link in ("bin", "lib", "lib64", "sbin"):
        target = os.path.realpath(f"/{link}")
        if os.path.islink(f"/{link}") and target.startswith("/usr/"):
            mounts += ["--symlink", target.lstrip("/"), f"/{link}"]
    for path in python_roots():
        mounts += [*_dirs(path + "/x", made), "--ro-bind", path, path]
    caps = [] if root else ["--cap-drop", "ALL"]  # root: the launcher needs CAP_SETUID, then has none
    return [
        bwrap(), *namespaces, "--die-with-parent", "--new-session", *caps,
        # /tmp first: an interpreter or venv that lives under /tmp is bound over it, not hidden by it
        "--perms", "01777", "--tmpfs", "/tmp", *mounts, "--proc", "/proc", "--dev", "/dev",
        "--perms", "0755", "--dir", "/run",
        "--ro-bind", script_dir, SCRIPT_DIR, "--perms", "0777", "--tmpfs", WORK_DIR, "--chdir", WORK_DIR,
        # tmpfs has no size cap in bubblewrap 0.8 and would hold what it is given in memory: read-only
        "--remount-ro", "/tmp", "--remount-ro", WORK_DIR,
        "--clearenv", "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", WORK_DIR,
        "--setenv", "OMP_NUM_THREADS", "1", "--setenv", "OPENBLAS_NUM_THREADS", "1", "--setenv", "PYTHONHASHSEED", "0",
        "--", sys.executable, "-I", "-c", LAUNCHER, str(limits.cpu_s), str(limits.memory_bytes), str(nproc),
        str(limits.file_bytes), str(limits.open_files), f"{SCRIPT_DIR}/listing.py",
    ]


def _drain(pipe: IO[bytes], limit: int, into: list[bytes], cut: list[bool]) -> None:
    """Read ``pipe`` to its end, keeping the first ``limit`` bytes and discarding the rest."""
    kept = 0
    while chunk := pipe.read(65536):
        room = limit - kept
        if room > 0:
            into.append(chunk[:room])
            kept += min(room, len(chunk))
        if len(chunk) > room:
            cut[0] = True
    pipe.close()


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """Kill bwrap's whole process group unless it has ended (its PID namespace dies with it: --die-with-parent)."""
    if proc.poll() is None:  # not reaped yet, so its process group id cannot have been reused
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()


def run_isolated(code: str, limits: Limits | None = None) -> Isolated:
    """Run ``code`` as a file in the bubblewrap sandbox (under ``LIMITS`` by default); raise
    SandboxUnavailableError if bwrap is missing."""
    limits = limits or LIMITS
    bwrap()  # one line and exit 2 when missing, before anything is written
    with tempfile.TemporaryDirectory(prefix="chainrule-listing-") as tmp:
        os.chmod(tmp, 0o755)
        script = Path(tmp) / "listing.py"
        script.write_text(code, encoding="utf-8")
        os.chmod(script, 0o644)
        proc = subprocess.Popen(command(tmp, limits), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True, env={"PATH": os.defpath})
        assert proc.stdout is not None and proc.stderr is not None
        out: list[bytes] = []
        err: list[bytes] = []
        cut_out, cut_err = [False], [False]
        readers = [threading.Thread(target=_drain, args=(proc.stdout, limits.output_bytes, out, cut_out), daemon=True),
                   threading.Thread(target=_drain, args=(proc.stderr, limits.output_bytes, err, cut_err), daemon=True)]
        for r in readers:
            r.start()
        timed_out = False
        try:
            proc.wait(timeout=limits.timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            _kill(proc)
        for r in readers:
            r.join(timeout=5)
    return Isolated(b"".join(out).decode("utf-8", "replace"), b"".join(err).decode("utf-8", "replace"),
                    None if timed_out else proc.returncode, timed_out, cut_out[0] or cut_err[0])


PROBE = "import numpy\nprint('chainrule sandbox ok')\n"


def check_available() -> None:
    """Start the sandbox once on a probe of ours; raise SandboxUnavailableError (one line) if it cannot run here."""
    result = run_isolated(PROBE, Limits(timeout_s=min(LIMITS.timeout_s, 30.0)))
    if result.timed_out or result.returncode != 0 or result.stdout.strip() != "chainrule sandbox ok":
        why = "timed out" if result.timed_out else f"exit status {result.returncode}"
        first = next((ln for ln in result.stderr.splitlines() if ln.startswith("bwrap:")), "")
        detail = f" ({_printable(first)[:160]})" if first else ""
        raise SandboxUnavailableError(f"--run-listings: bubblewrap cannot start a sandbox here ({why}){detail}; "
                                 "listings are not run in any weaker way: leave out --run-listings, or allow "
                                 "bwrap its namespaces")


def _printable(text: str) -> str:
    """``text`` with control characters dropped."""
    return "".join(ch for ch in text if ch.isprintable())
