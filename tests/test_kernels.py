"""Property tests of every generated kernel: backends agree, derivatives right, dtypes kept, special values finite."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.codegen import load_backend, simplex_args
from derive.arrays import expand
from derive.core import Kernel, registry
from verify import gradcheck
from verify.strategies import kernel_inputs
from verify.tolerances import DTYPES, QUIRKS, SPECIAL_SCALARS, SPECIAL_VECTORS, Quirk, tolerance

jax.config.update("jax_enable_x64", True)

KERNELS = registry().kernels()
DERIVATIVES = tuple(k for k in KERNELS if k.grad_of)
BACKENDS = ("numpy", "jax")
# A few fixed shapes, so that JAX compiles each operation once per shape rather than once per example.
BATCH = st.sampled_from([(), (5,), (2, 3)])
SIZES = st.sampled_from([1, 3, 6])
KINK_MARGIN = 1e-3


def name_of(kernel: Kernel) -> str:
    """Test id: the kernel's name."""
    return kernel.name


def kernel_named(name: str) -> Kernel:
    """The registry's kernel ``name``, or skip when the registry has none."""
    found = [k for k in KERNELS if k.name == name]
    if not found:
        pytest.skip(f"no kernel {name!r} in the registry")
    return found[0]


def run(kernel: Kernel, backend: str, inputs: tuple[np.ndarray, ...]) -> np.ndarray:
    """The generated kernel of ``backend`` applied to ``inputs``, as a NumPy array."""
    return np.asarray(gradcheck.function(kernel.name, backend)(*inputs))


def assert_close(actual: np.ndarray, reference: np.ndarray, dtype: str, what: str) -> None:
    """Assert ``actual`` matches ``reference`` within the dtype's value tolerance."""
    tol = tolerance(dtype, "value")
    np.testing.assert_allclose(actual, reference, rtol=tol.rtol, atol=tol.atol, err_msg=what)


# --- both backends, dtypes, batching -----------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel", KERNELS, ids=name_of)
@given(data=st.data())
def test_numpy_and_jax_kernels_agree(kernel: Kernel, dtype: str, data: st.DataObject) -> None:
    inputs = data.draw(kernel_inputs(kernel, dtype=dtype, batch_shape=BATCH, size=SIZES))
    failures = gradcheck.check_values(kernel, inputs)
    assert failures == [], gradcheck.report(failures)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel", KERNELS, ids=name_of)
def test_kernel_returns_the_dtype_it_was_given(kernel: Kernel, dtype: str, backend: str) -> None:
    inputs = tuple(np.full((2, 3), np.mean(kernel.domain[a.name]), dtype=dtype) for a in kernel.args)
    assert run(kernel, backend, inputs).dtype == np.dtype(dtype)


def test_python_scalar_arguments_do_not_upcast_float32() -> None:
    z = np.linspace(-2, 2, 5, dtype=np.float32)
    for backend in BACKENDS:
        assert np.asarray(gradcheck.function("leaky_relu", backend)(z, 0.01)).dtype == np.float32


@pytest.mark.parametrize("kernel", KERNELS, ids=name_of)
@given(data=st.data())
def test_kernel_is_batched_over_leading_axes(kernel: Kernel, data: st.DataObject) -> None:
    inputs = data.draw(kernel_inputs(kernel, batch_shape=(2, 3)))
    whole = run(kernel, "numpy", inputs)
    for i, j in itertools.product(range(2), range(3)):
        assert_close(whole[i, j], run(kernel, "numpy", tuple(x[i, j] for x in inputs)), "float64", f"row {i, j}")


@pytest.mark.parametrize("kernel", [k for k in KERNELS if k.shape != "elementwise"], ids=name_of)
def test_vector_kernels_have_the_shape_their_kind_says(kernel: Kernel) -> None:
    inputs = tuple(np.full((4, 5), np.mean(kernel.domain[a.name])) for a in kernel.args)
    out = run(kernel, "numpy", inputs)
    allowed = {"vector": [(4, 5), (4,)], "jacobian": [(4, 5, 5)]}[kernel.shape]
    assert out.shape in allowed


@pytest.mark.parametrize("kernel", KERNELS, ids=name_of)
@settings(max_examples=3)
@given(data=st.data())
def test_jax_kernel_works_under_jit(kernel: Kernel, data: st.DataObject) -> None:
    inputs = data.draw(kernel_inputs(kernel, batch_shape=(3,), size=3))
    eager = getattr(load_backend("jax"), kernel.name)
    assert_close(np.asarray(jax.jit(eager)(*inputs)), np.asarray(eager(*inputs)), "float64", "jit")


@pytest.mark.parametrize("kernel", KERNELS, ids=name_of)
@settings(max_examples=3)
@given(data=st.data())
def test_jax_kernel_works_under_vmap(kernel: Kernel, data: st.DataObject) -> None:
    inputs = data.draw(kernel_inputs(kernel, batch_shape=(4,), size=3))
    eager = getattr(load_backend("jax"), kernel.name)
    assert_close(np.asarray(jax.vmap(eager)(*inputs)), np.asarray(eager(*inputs)), "float64", "vmap")


# --- derivatives -------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel", DERIVATIVES, ids=name_of)
@given(data=st.data())
def test_derivative_kernel_matches_jax_autodiff(kernel: Kernel, dtype: str, data: st.DataObject) -> None:
    inputs = data.draw(kernel_inputs(kernel, dtype=dtype, batch_shape=BATCH, size=SIZES, kink_margin=KINK_MARGIN))
    failures = gradcheck.check_derivative(kernel, inputs, finite_differences=False)
    assert failures == [], gradcheck.report(failures)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel", DERIVATIVES, ids=name_of)
@given(data=st.data())
def test_derivative_kernel_matches_finite_differences(kernel: Kernel, dtype: str, data: st.DataObject) -> None:
    inputs = data.draw(kernel_inputs(kernel, dtype=dtype, batch_shape=BATCH, size=SIZES, kink_margin=KINK_MARGIN))
    failures = gradcheck.check_derivative(kernel, inputs, modes=())
    assert failures == [], gradcheck.report(failures)


@pytest.mark.slow
@pytest.mark.parametrize("kernel", DERIVATIVES, ids=name_of)
@given(data=st.data())
def test_jax_forward_kernel_passes_check_grads(kernel: Kernel, data: st.DataObject) -> None:
    inputs = data.draw(kernel_inputs(kernel, batch_shape=(3,), kink_margin=KINK_MARGIN))
    failures = gradcheck.check_forward_autodiff(kernel, inputs)
    assert failures == [], gradcheck.report(failures)


def test_a_wrong_derivative_kernel_is_caught_and_labelled(monkeypatch: pytest.MonkeyPatch) -> None:
    real = gradcheck.function
    monkeypatch.setattr(gradcheck, "function",
                        lambda name, backend: real("sigmoid" if name == "sigmoid_grad" else name, backend))
    z = np.linspace(-3.0, 3.0, 7)
    failures = gradcheck.check_derivative(kernel_named("sigmoid_grad"), (z,))
    assert [(f.kernel, f.check, f.argument) for f in failures] == [("sigmoid_grad", "gradient", "z")] * 3
    assert {f.against.split(" of ")[0] for f in failures} == {"JAX autodiff", "central differences"}


def test_a_value_mismatch_between_backends_is_caught_and_labelled(monkeypatch: pytest.MonkeyPatch) -> None:
    real = gradcheck.function
    monkeypatch.setattr(gradcheck, "function",
                        lambda name, backend: real("tanh" if (name, backend) == ("sigmoid", "jax") else name, backend))
    failures = gradcheck.check_values(kernel_named("sigmoid"), (np.linspace(-3.0, 3.0, 7),))
    assert [(f.kernel, f.check) for f in failures] == [("sigmoid", "value")]


# --- invariants --------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@given(data=st.data())
def test_softmax_sums_to_one(backend: str, data: st.DataObject) -> None:
    kernel = kernel_named("softmax")
    (z,) = data.draw(kernel_inputs(kernel, batch_shape=BATCH, size=SIZES))
    assert_close(run(kernel, backend, (z,)).sum(axis=-1), np.ones(z.shape[:-1]), "float64", "sum of softmax")


@pytest.mark.parametrize("backend", BACKENDS)
@given(data=st.data())
def test_softmax_is_unchanged_by_a_shift_of_the_logits(backend: str, data: st.DataObject) -> None:
    kernel = kernel_named("softmax")
    (z,) = data.draw(kernel_inputs(kernel, batch_shape=BATCH, size=SIZES))
    shift = data.draw(st.floats(-50.0, 50.0))
    assert_close(run(kernel, backend, (z + shift,)), run(kernel, backend, (z,)), "float64", "shifted logits")


@pytest.mark.parametrize("backend", BACKENDS)
@given(data=st.data())
def test_softmax_jacobian_rows_and_columns_sum_to_zero(backend: str, data: st.DataObject) -> None:
    kernel = kernel_named("softmax_jacobian")
    (z,) = data.draw(kernel_inputs(kernel, batch_shape=BATCH, size=SIZES))
    jac = run(kernel, backend, (z,))
    assert_close(jac.sum(axis=-1), np.zeros(z.shape), "float64", "row sums")
    assert_close(jac.sum(axis=-2), np.zeros(z.shape), "float64", "column sums")


@pytest.mark.parametrize("backend", BACKENDS)
@given(data=st.data())
def test_log_softmax_exponentiates_to_a_distribution(backend: str, data: st.DataObject) -> None:
    kernel = kernel_named("log_softmax")
    (z,) = data.draw(kernel_inputs(kernel, batch_shape=BATCH, size=SIZES))
    assert_close(np.exp(run(kernel, backend, (z,))).sum(axis=-1), np.ones(z.shape[:-1]), "float64", "sum")


@pytest.mark.parametrize("backend", BACKENDS)
@given(data=st.data())
def test_ce_gradient_sums_to_zero_for_labels_on_the_simplex(backend: str, data: st.DataObject) -> None:
    kernel = kernel_named("ce_logits_grad")
    z, y = data.draw(kernel_inputs(kernel, batch_shape=BATCH, size=SIZES))
    assert_close(run(kernel, backend, (z, y)).sum(axis=-1), np.zeros(z.shape[:-1]), "float64", "sum")


def test_simplex_arguments_are_drawn_on_the_simplex() -> None:
    kernel = kernel_named("ce_logits_grad")
    assert simplex_args(kernel) == ("y",)

    @given(kernel_inputs(kernel, dtype="float64", batch_shape=(3,)))
    def check(inputs: tuple[np.ndarray, ...]) -> None:
        y = inputs[[a.name for a in kernel.args].index("y")]
        assert np.all(y >= 0)
        np.testing.assert_allclose(y.sum(axis=-1), 1.0, rtol=0, atol=1e-15)

    check()


# --- special values ----------------------------------------------------------------------------


def special_inputs(kernel: Kernel, dtype: str) -> list[tuple[np.ndarray, ...]]:
    """Every combination of the special values of the kernel's arguments, in ``dtype``."""
    table = SPECIAL_SCALARS if kernel.shape == "elementwise" else SPECIAL_VECTORS
    choices = [table[a.name] for a in kernel.args]
    return [tuple(np.asarray(v, dtype=dtype) for v in combo) for combo in itertools.product(*choices)]


def exact(kernel: Kernel, inputs: tuple[np.ndarray, ...]) -> np.ndarray:
    """The kernel's expression evaluated at the (exactly converted) inputs with 40-digit mpmath arithmetic.

    Elementwise kernels go through mpmath at a fixed working precision rather than ``evalf``: evalf
    insists on relative accuracy, and for ``1 + erf(-707)`` (GELU' at -1e3) that means raising the
    precision to hundreds of thousands of digits. An absolute error of 1e-40 is far below every tolerance.
    """
    values = [np.asarray(x, dtype=np.float64) for x in inputs]
    if kernel.shape == "elementwise":
        f = sp.lambdify(kernel.args, kernel.expr.rewrite(sp.log), modules="mpmath")
        with mpmath.workdps(40):
            return np.asarray(float(f(*(mpmath.mpf(float(v)) for v in values))))
    cols = {a: sp.Matrix([sp.Rational(float(e)) for e in v]) for a, v in zip(kernel.args, values, strict=True)}
    value = expand(kernel.expr, cols)
    if not isinstance(value, sp.MatrixBase):
        return np.asarray(float(sp.N(value, 30)))
    out = np.array(value.evalf(30).tolist(), dtype=np.float64)
    return out[:, 0] if kernel.shape == "vector" else out


@pytest.mark.parametrize("kernel", KERNELS, ids=name_of)
def test_special_value_table_covers_every_argument(kernel: Kernel) -> None:
    table = SPECIAL_SCALARS if kernel.shape == "elementwise" else SPECIAL_VECTORS
    assert [a.name for a in kernel.args if a.name not in table] == []


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel", KERNELS, ids=name_of)
def test_kernel_is_finite_and_exact_at_special_values(kernel: Kernel, dtype: str) -> None:
    tol = tolerance(dtype, "exact")
    for inputs in special_inputs(kernel, dtype):
        truth = exact(kernel, inputs)
        for backend in BACKENDS:
            got = run(kernel, backend, inputs)
            where = f"{kernel.name} [{backend}, {dtype}] at {[x.tolist() for x in inputs]}"
            assert np.all(np.isfinite(got) | ~np.isfinite(truth)), f"not finite: {where}: {got}"
            np.testing.assert_allclose(got, truth, rtol=tol.rtol, atol=tol.atol, err_msg=where)


def forward_autodiff(quirk: Quirk) -> Callable[..., jax.Array]:
    """jax.grad of the sum of the generated JAX forward kernel, w.r.t. the derivative kernel's argument."""
    kernel = kernel_named(quirk.kernel)
    forward = kernel_named(kernel.grad_of)
    f = getattr(load_backend("jax"), forward.name)
    w = [a.name for a in forward.args].index(kernel.grad_wrt)
    return jax.grad(lambda *a: jnp.sum(f(*a)), argnums=w)


@pytest.mark.parametrize("quirk", QUIRKS, ids=lambda q: f"{q.kernel}-{q.dtype}-{list(q.inputs.values())}")
def test_documented_quirk_holds(quirk: Quirk) -> None:
    kernel = kernel_named(quirk.kernel)
    inputs = tuple(np.asarray(quirk.inputs[a.name], dtype=quirk.dtype) for a in kernel.args)
    assert float(run(kernel, "numpy", inputs)) == quirk.numpy_value, quirk.note
    assert float(run(kernel, "jax", inputs)) == quirk.jax_value, quirk.note
    if quirk.autodiff_value is not None:
        assert float(forward_autodiff(quirk)(*inputs)) == quirk.autodiff_value, quirk.note


# --- long runs ---------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("kernel", DERIVATIVES, ids=name_of)
@settings(max_examples=100)
@given(data=st.data())
def test_derivatives_on_large_batches_in_float32(kernel: Kernel, data: st.DataObject) -> None:
    inputs = data.draw(kernel_inputs(kernel, dtype="float32", batch_shape=(64,), kink_margin=KINK_MARGIN))
    failures = gradcheck.check_all(kernel, inputs)
    assert failures == [], gradcheck.report(failures)
