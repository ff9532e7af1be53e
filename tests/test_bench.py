"""`chainrule bench --suite kernels` on tiny sizes: one row per registry kernel, ratios or reasons.

Timing goals are never asserted here (the numbers live in docs/BENCHMARKS.md); these tests check
the structure of the output and that each reference computes what its kernel computes.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import json
from pathlib import Path

import numpy as np
import pytest

from chainrule.cli import main
from verify import benchmarks
from verify.benchmarks import (
    QUICK,
    Reference,
    accuracy,
    interleaved_times,
    kernel_rows,
    median_interval,
    memory_floor,
    references,
    registry_kernels,
)

JAX_SAMPLE = ("sigmoid_grad", "softmax_jacobian", "ce_logits_grad")   # elementwise, Jacobian, row-wise


def bench_json(*args: str) -> list[dict]:
    """The JSON rows of a quick kernel benchmark run through the command line."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["bench", "--suite", "kernels", "--quick", "--repeats", "1", "--format", "json", *args])
    assert code == 0
    return json.loads(out.getvalue())["rows"]


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    """Every kernel's NumPy row, and the JAX rows of a sample (compiling every JAX kernel takes ~20 s:
    test_every_jax_row_is_timed_against_autodiff does that, with --runslow)."""
    return bench_json("--backend", "numpy") + bench_json("--backend", "jax", "--only", *JAX_SAMPLE)


def test_every_registry_kernel_has_one_numpy_row_in_registry_order(rows):
    names = [r["name"] for r in rows if r["backend"] == "numpy"]
    assert names == [k.name for k in registry_kernels()]


def test_every_numpy_row_is_timed_against_a_hand_written_reference(rows):
    assert [(r["name"], r["note"]) for r in rows if r["backend"] == "numpy" and r["ratio"] is None] == []


def test_the_jax_rows_are_the_derivative_kernels_asked_for(rows):
    assert [r["name"] for r in rows if r["backend"] == "jax"] == list(JAX_SAMPLE)
    assert all(r["reference"].startswith("jax autodiff of ") for r in rows if r["backend"] == "jax")


@pytest.mark.slow
def test_every_jax_row_is_timed_against_autodiff():
    referenced = {r.kernel for r in references()}
    jax_rows = bench_json("--backend", "jax")
    wanted = [k.name for k in registry_kernels() if k.grad_of and k.name in referenced]
    assert [r["name"] for r in jax_rows] == wanted
    assert [(r["name"], r["note"]) for r in jax_rows if r["ratio"] is None] == []


def test_each_ratio_is_a_positive_float_or_null_with_a_reason(rows):
    for r in rows:
        assert "ratio" in r
        if r["ratio"] is None:
            assert r["note"], r
            assert r["met"] is None
        else:
            assert isinstance(r["ratio"], float) and r["ratio"] > 0, r
            assert r["interval"][0] <= r["ratio"] <= r["interval"][1], r  # the median of the per-round ratios
            assert isinstance(r["met"], bool)


def test_met_says_whether_the_ratio_is_within_the_goal(rows):
    for r in rows:
        if r["ratio"] is not None:
            goal = float(r["goal"].removeprefix("ratio <= "))
            assert r["met"] == (r["ratio"] <= goal), r


def test_every_reference_row_computes_what_its_kernel_computes(rows):
    # a row is left untimed when the kernel and its reference disagree with the float64 reference
    referenced = {r.kernel for r in references()}
    untimed = [(r["name"], r["backend"], r["note"]) for r in rows if r["name"] in referenced and r["ratio"] is None]
    assert untimed == []


def _arity(fn: object) -> int:
    """How many arguments a hand-written reference takes (a NumPy ufunc says so in ``nin``)."""
    return fn.nin if isinstance(fn, np.ufunc) else len(inspect.signature(fn).parameters)


def test_every_bench_source_takes_its_kernels_arguments():
    arity = {k.name: len(k.args) for k in registry_kernels()}
    assert [(r.kernel, _arity(r.numpy)) for r in references() if _arity(r.numpy) != arity[r.kernel]] == []


def test_a_bench_source_that_is_not_a_function_is_refused():
    with pytest.raises(benchmarks.BenchRecordError, match="bench of sigmoid"):
        benchmarks.hand_written("sigmoid", "z = 1")


def test_a_kernel_without_a_reference_is_listed_not_skipped(monkeypatch):
    rows = tuple(r for r in references() if r.kernel != "tanh")
    monkeypatch.setattr(benchmarks, "references", lambda: rows)
    (row,) = kernel_rows(1, QUICK, only=["tanh"])
    assert (row["name"], row["reference"], row["ratio"], row["met"]) == ("tanh", "no reference", None, None)
    assert "no reference" in row["note"]


def test_a_reference_that_computes_something_else_leaves_the_row_untimed(monkeypatch):
    wrong = Reference("sigmoid", (benchmarks.uniform(-6.0, 6.0),), lambda z: np.exp(-z))
    monkeypatch.setattr(benchmarks, "references", lambda: (wrong,))
    (row,) = kernel_rows(1, QUICK, only=["sigmoid"])
    assert row["ratio"] is None and "against the float64 reference" in row["note"]


def test_a_reference_that_computes_in_float64_leaves_the_row_untimed(monkeypatch):
    wide = Reference("sigmoid", (benchmarks.uniform(-6.0, 6.0),), lambda z: 1 / (1 + np.exp(-z.astype(np.float64))))
    monkeypatch.setattr(benchmarks, "references", lambda: (wide,))
    (row,) = kernel_rows(1, QUICK, only=["sigmoid"])
    assert row["ratio"] is None and "returns float64" in row["note"]


def test_the_table_lists_the_requested_kernels(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["bench", "--suite", "kernels", "--quick", "--repeats", "1", "--only", "sigmoid_grad"]) == 0
    out = capsys.readouterr().out
    lines = [ln.split() for ln in out.splitlines()]
    assert [ln[:2] for ln in lines if ln and ln[0] == "sigmoid_grad"] == [["sigmoid_grad", "numpy"],
                                                                          ["sigmoid_grad", "jax"]]
    assert "hand-written NumPy" in out and "autodiff of the generated forward kernel" in out


def test_an_unknown_kernel_is_a_usage_error(capsys):
    assert main(["bench", "--suite", "kernels", "--quick", "--only", "no_such_kernel"]) == 2
    assert "no kernel named no_such_kernel" in capsys.readouterr().err


def test_accuracy_is_judged_normwise_and_componentwise_misses_are_noted():
    truth = np.array([100.0, 1e-7])
    close = np.array([100.0, 1e-5], dtype=np.float32)   # off in its own entry, tiny beside the largest one
    assert accuracy(close, truth).fatal == "" and "1 of 2 entries" in accuracy(close, truth).entries
    assert accuracy(np.array([100.0, 1.0], dtype=np.float32), truth).fatal
    assert "returns float64" in accuracy(close.astype(np.float64), truth).fatal


def test_each_timed_row_brackets_its_per_pair_ratio_and_places_it_against_the_goal(rows):
    for r in [r for r in rows if r["ratio"] is not None]:
        lo, hi = r["interval"]
        goal = float(r["goal"].removeprefix("ratio <= "))
        assert 0 < lo <= hi and 0 <= r["confidence"] < 1, r  # one pair (--repeats 1): coverage 0
        assert r["verdict"] == ("met" if hi <= goal else "not met" if lo > goal else "within noise"), r


def test_the_numpy_rows_have_a_memory_floor_and_the_jax_rows_none(rows):
    for r in [r for r in rows if r["ratio"] is not None]:
        if r["backend"] == "numpy":
            assert r["floor_seconds"] > 0 and r["floor_ratio"] > 0, r
        else:
            assert r["floor_seconds"] is None and r["floor_ratio"] is None, r


@pytest.mark.parametrize(("n", "ranks", "coverage"), [(9, (2, 8), 1 - 2 * 10 / 512), (5, (1, 5), 1 - 2 / 32),
                                                      (20, (6, 15), 1 - 2 * 21700 / 2**20), (1, (1, 1), 0.0)])
def test_the_median_interval_is_the_order_statistics_of_binomial_coverage(n, ranks, coverage):
    values = [float(v) for v in range(n, 0, -1)]  # unsorted: the ranks are of the sorted values
    assert median_interval(values) == (float(ranks[0]), float(ranks[1]), pytest.approx(coverage))


def test_the_order_of_the_sides_rotates_from_round_to_round():
    calls: list[str] = []
    times = interleaved_times([lambda: calls.append("g"), lambda: calls.append("r")], 4)
    assert calls == ["g", "r", "r", "g", "g", "r", "r", "g"] and [len(t) for t in times] == [4, 4]
    calls.clear()
    interleaved_times([lambda n=n: calls.append(n) for n in "grf"], 3)
    assert calls == [*"grf", *"rfg", *"fgr"]
    with pytest.raises(ValueError, match="at least one call"):
        interleaved_times([lambda: None], 0)


def test_the_memory_floor_writes_a_fresh_result_and_reads_every_array_argument(monkeypatch):
    read: list[int] = []
    real_copyto = np.copyto
    monkeypatch.setattr(np, "copyto", lambda dst, src, **kw: (read.append(src.size), real_copyto(dst, src, **kw)))
    x, y = np.ones(1000, np.float32), np.arange(50, dtype=np.int64)
    floor = memory_floor((x, y, 0.5), (10,), np.dtype(np.float32))
    first, second = floor(), floor()
    assert first.shape == (10,) and first.dtype == np.float32 and first is not second
    assert sum(read) == 2 * (1000 + 50)
    read.clear()
    same = memory_floor((y, x), (1000,), np.dtype(np.float32))()   # x has the result's size: copied into it
    assert sum(read) == 1000 + 50 and np.array_equal(same, x)


def test_the_audit_suite_times_each_file_and_reports_the_share_of_decided_relation_lines():
    from chainrule.bench import bench_audit

    example = Path(__file__).resolve().parents[1] / "tests" / "data" / "identities.md"
    rows = bench_audit(1, [example])
    assert [r.name for r in rows] == ["identities.md", "decided relation lines"]
    assert rows[0].seconds is not None and rows[0].seconds > 0
    assert rows[1].ratio == 1.0  # every identity of the sheet is decided
    assert rows[1].met is True
