"""The blocked, in-place loop of the generated NumPy kernels: the plain expression's values, taken when it can be."""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sympy.codegen.numpy_nodes import logaddexp

from chainrule import blocked
from chainrule.codegen import NumPyKernelPrinter, signature
from chainrule.kernels import numpy_kernels, numpy_runtime
from derive.arrays import Col, Eye, Row, RSum
from derive.core import Kernel, registry
from verify.strategies import kernel_inputs
from verify.tolerances import DTYPES, error_scale, tolerance

KERNELS = registry().kernels()
HALF = max(5, settings.default.max_examples // 2)  # examples per kernel and dtype: half the profile's (ci: 5)
LOOPED = tuple(k for k in KERNELS if "_parallel(" in inspect.getsource(getattr(numpy_kernels, k.name)))
# Kernels whose work is matrix products: BLAS does it, no loop.
PLAIN_ONLY = {"dense_grad_input", "bp2_hidden_error", "dense_forward", "dense_linear_loss",
              "dense_grad_weights", "dense_grad_bias"}


def name_of(kernel: Kernel) -> str:
    """Test id: the kernel's name."""
    return kernel.name


@contextmanager
def block_size(monkeypatch: pytest.MonkeyPatch, size: int) -> Iterator[list[Any]]:
    """Run the generated kernels with ``_BLOCK = size``; yields the layouts the kernels computed."""
    seen: list[Any] = []
    for name in ("_elementwise_layout", "_row_layout"):
        original = getattr(numpy_kernels, name)

        def spy(*args: Any, _f: Callable[..., Any] = original) -> Any:
            seen.append(_f(*args))
            return seen[-1]

        monkeypatch.setattr(numpy_kernels, name, spy)
    monkeypatch.setattr(numpy_kernels, "_BLOCK", size)
    monkeypatch.setattr(numpy_runtime, "SMALL", min(size, numpy_runtime.SMALL))
    try:
        yield seen
    finally:
        monkeypatch.undo()


def use_threads(monkeypatch: pytest.MonkeyPatch, count: int) -> None:
    """Run the kernels' blocked loops on ``count`` threads (the kernels and their runtime both read it)."""
    monkeypatch.setattr(numpy_kernels, "_THREADS", count)
    monkeypatch.setattr(numpy_runtime, "THREADS", count)


def one_value_scalars(kernel: Kernel, inputs: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    """The inputs with each declared scalar argument reduced to one 0-d value (as a caller passes a rate)."""
    return tuple(x.reshape(-1)[0].copy() if a.name in kernel.scalars else x
                 for a, x in zip(kernel.args, inputs, strict=True))


def assert_agree(got: np.ndarray, want: np.ndarray, kernel: Kernel, inputs: tuple[np.ndarray, ...]) -> None:
    """Blocked and plain results agree to the dtype's value tolerance, with the same dtype and shape."""
    assert got.dtype == want.dtype and got.shape == want.shape, (got.dtype, got.shape, want.dtype, want.shape)
    tol = tolerance(want.dtype, "value")
    scale = error_scale(kernel, {a.name: x for a, x in zip(kernel.args, inputs, strict=True)},
                        len(signature(kernel).output))
    g64, w64 = got.astype(np.float64), want.astype(np.float64)
    bad = np.abs(g64 - w64) > tol.allowed(w64, scale)
    assert not bad.any(), f"{kernel.name}: blocked {g64[bad][:4]} vs plain {w64[bad][:4]}"


def test_every_kernel_but_the_matrix_ones_has_a_blocked_loop() -> None:
    assert {k.name for k in KERNELS} - {k.name for k in LOOPED} == PLAIN_ONLY


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel", LOOPED, ids=name_of)
@settings(max_examples=HALF)
@given(data=st.data())
def test_blocked_loop_gives_the_plain_expressions_values(kernel: Kernel, dtype: str, data: st.DataObject) -> None:
    # Blocks of 4 entries (or of 4 // n rows, at least one): many blocks, and a short last one.
    inputs = one_value_scalars(kernel, data.draw(kernel_inputs(kernel, dtype=dtype, batch_shape=(3, 5),
                                                               size=st.sampled_from([1, 3, 6]))))
    function = getattr(numpy_kernels, kernel.name)
    plain = function(*inputs)
    with pytest.MonkeyPatch.context() as mp, block_size(mp, 4) as layouts:
        looped = function(*inputs)
    assert layouts and all(layout is not None for layout in layouts), "the blocked loop was not taken"
    assert_agree(looped, plain, kernel, inputs)


@pytest.mark.parametrize("kernel", [k for k in LOOPED if k.name.startswith("layer_norm")], ids=name_of)
def test_row_loop_reads_an_argument_without_batch_axes_whole(kernel: Kernel) -> None:
    rng = np.random.default_rng(0)
    cores = signature(kernel).inputs
    inputs = tuple(rng.uniform(0.5, 2.0, (7, 5) if a.name in ("x", "g") else (1,) if core == (1,) else (5,))
                   for a, core in zip(kernel.args, cores, strict=True))
    function = getattr(numpy_kernels, kernel.name)
    plain = function(*inputs)
    with pytest.MonkeyPatch.context() as mp, block_size(mp, 10) as layouts:
        looped = function(*inputs)
    assert layouts[0] is not None and layouts[0][2] == [False if x.ndim == 1 else True for x in inputs]
    assert_agree(looped, plain, kernel, inputs)


LAYOUTS_REFUSED = {
    "a transposed (not C-contiguous) input": lambda z: (z.T,),
    "two arrays of different shapes": lambda z: (z, z[:1]),
    "a rate given as an array": lambda z: (z, np.full_like(z, 0.1)),
}


@pytest.mark.parametrize("case", LAYOUTS_REFUSED, ids=str)
def test_inputs_the_loop_cannot_walk_run_the_plain_expression(case: str) -> None:
    z = np.linspace(-3.0, 3.0, 24).reshape(4, 6)
    args = LAYOUTS_REFUSED[case](z)
    name = "sigmoid" if len(args) == 1 else "bce_grad_yhat" if case.startswith("two") else "leaky_relu"
    args = tuple(np.abs(a) / 4 + 0.1 if name == "bce_grad_yhat" else a for a in args)
    function = getattr(numpy_kernels, name)
    with pytest.MonkeyPatch.context() as mp, block_size(mp, 4) as layouts:
        got = function(*args)
    assert layouts == [None]
    want = function(*(np.ascontiguousarray(a) for a in args)) if case.startswith("a transposed") else got
    np.testing.assert_array_equal(got, want)
    assert got.shape == np.broadcast_shapes(*(a.shape for a in args))


def test_small_inputs_run_the_plain_expression_and_larger_ones_the_loop() -> None:
    small = numpy_runtime.SMALL
    with pytest.MonkeyPatch.context() as mp, block_size(mp, numpy_kernels._BLOCK) as layouts:
        numpy_kernels.tanh(np.ones(small - 1))
        numpy_kernels.softmax(np.ones((3, 4)))
        numpy_kernels.tanh(np.ones(small))
        numpy_kernels.softmax(np.ones((small // 64, 64)))
    assert [layout is None for layout in layouts] == [True, True, False, False]


# --- the schedule itself ---------------------------------------------------------------------------------

x, y, a = sp.symbols("x y a")
PRINTER = NumPyKernelPrinter({"strict": True, "fully_qualified_modules": True})


def lines(expr: sp.Expr, kinds: dict[sp.Symbol, blocked.Kind] | None = None) -> blocked.Schedule:
    """The schedule of ``expr`` (one cse pass) with x, y arrays and a a scalar unless ``kinds`` says otherwise."""
    temps, (body,) = sp.cse([expr], symbols=sp.numbered_symbols("_t"), order="canonical")
    kinds = kinds or {x: "full", y: "full", a: "scalar"}
    views = {s: (f"{s}_b" if k != "scalar" else str(s)) for s, k in kinds.items()}
    return blocked.schedule(temps, body, PRINTER, kinds, views, blocked.Operand("_out_b", "full"))


def test_a_scalar_factor_is_computed_once_before_the_loop_and_applied_last() -> None:
    sched = lines(x * y / sp.exp(a))
    assert sched.hoisted == ("_s0 = numpy.exp(-a)",)
    assert sched.body == ("numpy.multiply(x_b, y_b, out=_r0)", "numpy.multiply(_r0, _s0, out=_out_b)")


def test_a_register_is_reused_once_its_value_is_read() -> None:
    sched = lines(sp.exp(sp.tanh(x)) + 1)
    assert sched.body == ("numpy.tanh(x_b, out=_r0)", "numpy.exp(_r0, out=_r0)", "numpy.add(_r0, 1, out=_out_b)")
    assert sched.registers == ("full",)


def test_a_common_subexpression_keeps_its_register_until_its_last_reader() -> None:
    # t0 = x + y and t1 = exp(t0) are read twice: tanh may overwrite t0 (its last reader), never t1.
    sched = lines(sp.exp(x + y) * sp.tanh(x + y) + sp.exp(x + y))
    assert sched.body == ("numpy.add(x_b, y_b, out=_r0)", "numpy.exp(_r0, out=_r1)", "numpy.tanh(_r0, out=_r0)",
                          "numpy.multiply(_r1, _r0, out=_r0)", "numpy.add(_r1, _r0, out=_out_b)")


def test_subtraction_and_a_constant_minus_an_array() -> None:
    assert lines(x - y).body == ("numpy.subtract(x_b, y_b, out=_out_b)",)
    assert lines(sp.Float(0.5) - x).body == ("numpy.subtract(0.5, x_b, out=_out_b)",)
    assert lines(-x - y).body == ("numpy.negative(x_b, out=_r0)", "numpy.subtract(_r0, y_b, out=_out_b)")


def test_powers_and_quotients_use_their_own_ufuncs() -> None:
    assert lines(1 / sp.sqrt(x)).body == ("numpy.sqrt(x_b, out=_r0)", "numpy.reciprocal(_r0, out=_out_b)")
    assert lines(x**2 / y).body == ("numpy.square(x_b, out=_r0)", "numpy.divide(_r0, y_b, out=_out_b)")
    assert lines(a / x).body == ("numpy.divide(a, x_b, out=_out_b)",)


def test_a_row_sum_writes_into_a_row_register() -> None:
    sched = lines(x / RSum(x), {x: "full"})
    assert sched.body == ("numpy.sum(x_b, axis=-1, keepdims=True, out=_r0)", "numpy.divide(x_b, _r0, out=_out_b)")
    assert sched.registers == ("row",)


def test_a_scalar_operand_of_maximum_is_a_block_filled_once_with_it() -> None:
    # NumPy's maximum and minimum run a slow loop for a scalar operand; an array of the scalar takes the fast one
    sched = lines(sp.Max(0, x) + sp.Min(a, y) + sp.Max(0, y))
    assert sched.constants == (("full", "0"), ("full", "a"))
    assert sum("numpy.maximum(_c0, " in line for line in sched.body) == 2
    assert any("numpy.minimum(_c1, y_b" in line for line in sched.body)


def test_logaddexp_with_a_number_is_max_plus_log1p_of_exp_and_reads_its_operand_once() -> None:
    sched = lines(logaddexp(1, sp.tanh(x)))
    assert sched.constants == (("full", "1"),)
    assert sched.body == ("numpy.tanh(x_b, out=_r0)", "numpy.subtract(_r0, _c0, out=_r1)",
                          "numpy.absolute(_r1, out=_r1)", "numpy.negative(_r1, out=_r1)", "numpy.exp(_r1, out=_r1)",
                          "numpy.log1p(_r1, out=_r1)", "numpy.maximum(_r0, _c0, out=_r0)",
                          "numpy.add(_r0, _r1, out=_out_b)")
    assert lines(logaddexp(x, y)).body == ("numpy.logaddexp(x_b, y_b, out=_out_b)",)


def test_the_looped_softplus_matches_numpys_logaddexp_at_extreme_logits() -> None:
    z = np.array([-np.inf, -1e3, -88.0, -20.0, -1e-30, 0.0, 1e-30, 20.0, 88.0, 1e3, np.inf, np.nan] * 3)
    y = np.resize([0.0, 1.0, 0.25], z.shape)
    kernel = next(k for k in KERNELS if k.name == "bce_logits")
    for dtype in (np.float64, np.float32):
        zd, yd = z.astype(dtype), y.astype(dtype)
        with np.errstate(invalid="ignore"):  # 0 * inf where y = 0 at an infinite logit: nan on both paths
            plain = numpy_kernels.bce_logits(zd, yd)
            with pytest.MonkeyPatch.context() as mp, block_size(mp, 4) as layouts:
                looped = numpy_kernels.bce_logits(zd, yd)
        assert layouts[0] is not None
        finite = np.isfinite(plain)
        np.testing.assert_array_equal(np.isnan(looped), np.isnan(plain))
        np.testing.assert_array_equal(looped[~finite & ~np.isnan(plain)], plain[~finite & ~np.isnan(plain)])
        assert_agree(looped[finite], plain[finite], kernel, (zd[finite], yd[finite]))


def test_a_node_without_an_in_place_form_is_evaluated_on_the_block() -> None:
    sched = lines(sp.Piecewise((x, x > 0), (a * x, True)))
    assert sched.body == ("_out_b[...] = numpy.where(numpy.greater(x_b, 0), x_b, a*x_b)",)


def test_a_jacobian_places_row_vectors_as_views_and_hoists_the_identity() -> None:
    temps, (body,) = sp.cse([Col(x / RSum(x)) * (Eye(x) - Row(x / RSum(x)))], symbols=sp.numbered_symbols("_t"))
    sched = blocked.schedule(temps, body, PRINTER, {x: "full"}, {x: "x_b"}, blocked.Operand("_out_b", "matrix"))
    assert sched.hoisted == ("_s0 = numpy.eye(x.shape[-1], dtype=dtype)",)
    assert sched.body == ("numpy.sum(x_b, axis=-1, keepdims=True, out=_r0)", "numpy.divide(x_b, _r0, out=_r1)",
                          "numpy.subtract(_s0, _r1[:, None, :], out=_r2)",
                          "numpy.multiply(_r2, _r1[:, :, None], out=_out_b)")
    assert sched.registers == ("row", "full", "matrix")


def test_placing_a_row_value_along_a_matrix_is_refused() -> None:
    with pytest.raises(blocked.ScheduleError, match="only a vector per row"):
        blocked.schedule([], Col(RSum(x)) * Row(x), PRINTER, {x: "full"}, {x: "x_b"},
                         blocked.Operand("_out_b", "matrix"))


def test_an_expression_of_scalars_only_is_refused() -> None:
    with pytest.raises(blocked.ScheduleError, match="does not depend on an array"):
        lines(sp.exp(a))


@pytest.mark.parametrize("kernel", [k for k in LOOPED if k.name in ("adam_step", "gelu_grad", "layer_norm_backward",
                                                                   "ce_logits", "softmax_jacobian")], ids=name_of)
def test_the_result_does_not_depend_on_the_number_of_threads(kernel: Kernel) -> None:
    rng = np.random.default_rng(3)
    sizes = {name: 7 for name in signature(kernel).sizes()}
    inputs = one_value_scalars(kernel, tuple(
        rng.uniform(*kernel.domain[a.name], (13,) + signature(kernel).shape(core, sizes))
        for a, core in zip(kernel.args, signature(kernel).inputs, strict=True)))
    function = getattr(numpy_kernels, kernel.name)
    results = []
    for threads in (1, 3):
        with pytest.MonkeyPatch.context() as mp, block_size(mp, 8) as layouts:
            use_threads(mp, threads)
            results.append(function(*inputs))
        assert layouts[0] is not None
    np.testing.assert_array_equal(results[0], results[1])


def test_the_callers_errstate_holds_in_the_worker_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    z = np.tile([1.0, np.inf, 2.0, 3.0], 8)   # y = 0 at z = inf: 0 * inf is invalid
    use_threads(monkeypatch, 4)
    with block_size(monkeypatch, 4) as layouts:
        with np.errstate(invalid="raise"), pytest.raises(FloatingPointError):
            numpy_kernels.bce_logits(z, np.zeros_like(z))
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("error")
            numpy_kernels.bce_logits(z, np.zeros_like(z))
    assert all(layout is not None for layout in layouts)


@pytest.mark.parametrize("value", ["0", "two", "-1"])
def test_a_bad_thread_count_is_refused_with_the_variable_named(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CHAINRULE_NUMPY_THREADS", value)
    with pytest.raises(ValueError, match="CHAINRULE_NUMPY_THREADS"):
        numpy_runtime.threads()


def test_the_thread_count_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAINRULE_NUMPY_THREADS", "3")
    assert numpy_runtime.threads() == 3
