"""Benchmarks: cold derivation of the whole registry, and generated kernels against references.

Speed targets are measured here, never by timed unit tests. Each row reports the median of
``repeats`` runs; the derivation suite runs each repeat in a fresh interpreter (cold: imports,
derivations and proofs, nothing cached). The kernel suite's rows come from
``verify.benchmarks.kernel_rows`` (hand-written NumPy and JAX autodiff references, one process).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table

from chainrule.errors import ChainruleError

DERIVE_TARGET_S = 10.0
COLD_DERIVE = (
    "import time; t = time.perf_counter()\n"
    "from derive.core import registry\n"
    "from derive.proof import prove_all\n"
    "prove_all(registry().formulas)\n"
    "print(time.perf_counter() - t)\n"
)


AUDIT_TARGET_S = 3.0
DECIDED_TARGET = 0.85
COLD_AUDIT = (
    "import json, sys, time; t = time.perf_counter()\n"
    "from pathlib import Path\n"
    "from verify.audit import audit_file\n"
    "c = audit_file(Path(sys.argv[1])).coverage\n"
    "print(json.dumps([time.perf_counter() - t, c['relation_lines'], c['relation_lines_decided']]))\n"
)


class BenchError(ChainruleError):
    """A benchmark could not run (the code it times failed): exit code 1."""


@dataclass(frozen=True)
class Row:
    """One benchmark row: what was timed, the median seconds, the reference, their ratio and the goal.

    ``ratio`` is generated/reference (the kernel suite: the median of the per-round ratios; the derivation
    suite: seconds / reference_seconds), or None when the row was not timed; ``note`` then says why.
    ``interval`` brackets the ratio at ``confidence`` and ``verdict`` places it against the goal;
    ``floor_ratio`` is the memory floor over the reference (``verify.benchmarks.memory_floor``).
    """

    suite: str
    name: str
    size: str
    seconds: float | None
    reference: str
    reference_seconds: float | None
    ratio: float | None
    goal: str
    backend: str = ""
    met: bool | None = None
    interval: list[float] | None = None
    confidence: float | None = None
    verdict: str | None = None
    floor_seconds: float | None = None
    floor_ratio: float | None = None
    note: str = ""


def bench_derive(repeats: int) -> list[Row]:
    """Time import + derivation + proof of every record, cold, in fresh interpreters."""
    times = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", COLD_DERIVE], capture_output=True, text=True)
        if out.returncode != 0:
            last = (out.stderr.strip().splitlines() or ["no output"])[-1]
            raise BenchError(f"the cold derivation failed in a fresh interpreter ({last}); "
                             "run `chainrule derive --debug` to see where")
        times.append(float(out.stdout.strip().splitlines()[-1]))
    from derive.core import registry

    median = statistics.median(times)
    ratio = median / DERIVE_TARGET_S
    return [Row("derive", "derive all (cold)", f"{len(registry().formulas)} formulas", median,
                f"target {DERIVE_TARGET_S:.0f} s", DERIVE_TARGET_S, ratio, "ratio <= 1", "sympy", ratio <= 1,
                "import + derive + prove every record in a fresh interpreter")]


def _cold_audit(path: Path) -> tuple[float, int, int]:
    """(seconds, relation lines, decided lines) of one audit in a fresh interpreter."""
    out = subprocess.run([sys.executable, "-c", COLD_AUDIT, str(path)], capture_output=True, text=True)
    if out.returncode != 0:
        raise BenchError(f"the audit of {path} failed in a fresh interpreter; run `chainrule --debug audit {path}`")
    seconds, lines, decided = json.loads(out.stdout.strip().splitlines()[-1])
    return float(seconds), int(lines), int(decided)


def bench_audit(repeats: int, paths: list[Path]) -> list[Row]:
    """Each notes file audited cold (goal: 3 s a chapter), then the share of relation lines decided (goal 85%)."""
    rows, total, decided = [], 0, 0
    for path in paths:
        runs = [_cold_audit(path) for _ in range(repeats)]
        median = statistics.median(r[0] for r in runs)
        lines, ok = runs[0][1], runs[0][2]
        total, decided = total + lines, decided + ok
        rows.append(Row("audit", path.name, f"{lines} lines", median, f"target {AUDIT_TARGET_S:.0f} s",
                        AUDIT_TARGET_S, median / AUDIT_TARGET_S, "ratio <= 1", "audit", median <= AUDIT_TARGET_S,
                        note=f"cold: import + audit in a fresh interpreter; {ok} of {lines} relation lines decided"))
    share = decided / total if total else 0.0
    rows.append(Row("audit", "decided relation lines", f"{total} lines", None, f"goal {DECIDED_TARGET:.0%}", None,
                    share, f"share >= {DECIDED_TARGET}", "audit", share >= DECIDED_TARGET,
                    note=f"{decided} of {total} lines that hold a relation get correct, error, warning or definition"))
    return rows


def bench_kernels(repeats: int, quick: bool = False, only: tuple[str, ...] = (),
                  backends: tuple[str, ...] = ("numpy", "jax"), status: object = None) -> list[Row]:
    """Time generated kernels against hand-written NumPy and JAX autodiff references."""
    from verify.benchmarks import FULL, QUICK, kernel_rows

    def progress(msg: str) -> None:
        if status is not None:
            status.update(f"timing {msg}")  # type: ignore[attr-defined]

    sizes = QUICK if quick else FULL
    return [Row("kernels", **r) for r in kernel_rows(repeats, sizes, only, backends, progress)]


def duration(seconds: float | None) -> str:
    """Seconds in a readable unit for the table: '13.42 s', '84.62 ms', '54.1 us' ('' when untimed)."""
    if seconds is None:
        return ""
    if seconds >= 1:
        return f"{seconds:.2f} s"
    return f"{seconds * 1e3:.2f} ms" if seconds >= 1e-3 else f"{seconds * 1e6:.1f} us"


def kernel_table(rows: list[Row], title: str) -> Table:
    """The rows as a table narrow enough for 80 columns (the goals, references and notes go below it)."""
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    table.add_column("name", no_wrap=True, overflow="ellipsis", max_width=24)  # the numbers are never cut
    widths = {"backend": 5, "size": 9, "median": 9, "ref.": 9, "ratio": 5, "interval": 9, "floor": 5, "met": 3}
    for col, width in widths.items():
        table.add_column(col, justify="left" if col in ("backend", "size", "met") else "right", no_wrap=True,
                         min_width=width)
    for r in rows:
        ratio = "" if r.ratio is None else f"{r.ratio:.2f}"
        interval = "" if r.interval is None else f"{r.interval[0]:.2f}-{r.interval[1]:.2f}"
        floor = "" if r.floor_ratio is None else f"{r.floor_ratio:.2f}"
        met = {True: "[green]yes[/]", False: "[red]no[/]", None: "-"}[r.met]
        table.add_row(r.name, r.backend, r.size.removesuffix(" float32"), duration(r.seconds),
                      duration(r.reference_seconds), ratio, interval, floor, met)
    return table


def legend(rows: list[Row]) -> list[str]:
    """Lines under the table: each backend's reference and goal ("met"), then each row's note."""
    names = {"numpy": "hand-written NumPy (verify/benchmarks.py)",
             "jax": "jitted JAX autodiff of the generated forward kernel"}
    seen: dict[str, str] = {}
    for r in rows:
        seen.setdefault(r.backend, f"{r.backend}: ref. = {names.get(r.backend, r.reference)}; goal {r.goal}")
    confidence = min((r.confidence for r in rows if r.confidence is not None), default=None)
    lines = [*seen.values(), "ratio = median of generated / ref. over the rounds of calls; sizes are of float32 inputs"]
    if confidence is not None:
        lines.append(f"interval: order statistics of the per-round ratios covering their median with probability "
                     f">= {confidence:.2f}; floor: the memory floor (read the inputs, write a fresh result, "
                     "compute nothing) / ref.")
    return lines + [f"{r.name} ({r.backend}): {r.note}" for r in rows if r.note]


def run_bench(suite: str, fmt: str, repeats: int, console: Console, quick: bool = False,
              only: tuple[str, ...] = (), backends: tuple[str, ...] = ("numpy", "jax"),
              notes: tuple[Path, ...] = ()) -> int:
    """Run the chosen suites and print a table (or JSON with a ``ratio`` per row)."""
    rows: list[Row] = []
    with console.status("benchmarking...") as status:
        if suite == "audit":
            status.update(f"cold audits of {len(notes)} file(s) x{repeats}")
            rows += bench_audit(repeats, list(notes))
        if suite in ("derive", "all"):
            status.update(f"cold derivation x{repeats}")
            rows += bench_derive(repeats)
        if suite in ("kernels", "all"):
            status.update("generated kernels vs references")
            rows += bench_kernels(repeats, quick=quick, only=only, backends=backends, status=status)
    if fmt == "json":
        print(json.dumps({"repeats": repeats, "quick": quick, "rows": [asdict(r) for r in rows]}, indent=2))
        return 0
    console.print(kernel_table(rows, f"chainrule bench (median of {repeats}{', quick sizes' if quick else ''})"))
    for line in legend(rows):
        console.print(line, markup=False)
    return 0
