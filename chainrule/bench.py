"""Benchmarks: cold derivation of the whole registry, and generated kernels against references.

Speed targets are measured here, never by timed unit tests. Each row reports the median of
``repeats`` runs; the derivation suite runs each repeat in a fresh interpreter (cold: imports,
derivations and proofs, nothing cached).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass

from rich.console import Console
from rich.table import Table

DERIVE_TARGET_S = 10.0
COLD_DERIVE = (
    "import time; t = time.perf_counter()\n"
    "from derive.core import registry\n"
    "from derive.proof import prove\n"
    "[prove(f) for f in registry().formulas]\n"
    "print(time.perf_counter() - t)\n"
)


@dataclass(frozen=True)
class Row:
    """One benchmark row: what was timed, the median seconds, the reference and their ratio."""

    suite: str
    name: str
    size: str
    seconds: float
    reference: str
    reference_seconds: float | None
    ratio: float | None
    goal: str


def bench_derive(repeats: int) -> list[Row]:
    """Time import + derivation + proof of every record, cold, in fresh interpreters."""
    times = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", COLD_DERIVE], capture_output=True, text=True, check=True)
        times.append(float(out.stdout.strip().splitlines()[-1]))
    from derive.core import registry

    median = statistics.median(times)
    return [Row("derive", "derive + prove all records (cold)", f"{len(registry().formulas)} formulas", median,
                f"target {DERIVE_TARGET_S:.0f} s", DERIVE_TARGET_S, median / DERIVE_TARGET_S, "ratio <= 1")]


def bench_kernels(repeats: int) -> list[Row]:
    """Time generated kernels against hand-written NumPy and JAX autodiff references."""
    from verify.benchmarks import kernel_rows

    return [Row("kernels", **r) for r in kernel_rows(repeats)]


def median_seconds(fn: object, repeats: int) -> float:
    """The median wall time of ``repeats`` calls of ``fn`` (after one warm-up call)."""
    fn()  # type: ignore[operator]
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run_bench(suite: str, fmt: str, repeats: int, console: Console) -> int:
    """Run the chosen suites and print a table (or JSON with a ``ratio`` per row)."""
    rows: list[Row] = []
    with console.status("benchmarking...") as status:
        if suite in ("derive", "all"):
            status.update(f"cold derivation x{repeats}")
            rows += bench_derive(repeats)
        if suite in ("kernels", "all"):
            status.update("generated kernels vs references")
            rows += bench_kernels(repeats)
    if fmt == "json":
        print(json.dumps({"rows": [asdict(r) for r in rows]}, indent=2))
        return 0
    table = Table(title=f"chainrule bench (median of {repeats})")
    for col in ("suite", "name", "size", "median", "reference", "ref. median", "ratio", "goal"):
        table.add_column(col)
    for r in rows:
        ref = "" if r.reference_seconds is None else f"{r.reference_seconds * 1e3:.2f} ms"
        ratio = "" if r.ratio is None else f"{r.ratio:.2f}"
        table.add_row(r.suite, r.name, r.size, f"{r.seconds * 1e3:.2f} ms", r.reference, ref, ratio, r.goal)
    console.print(table)
    return 0
