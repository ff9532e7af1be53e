"""Property tests of every generated kernel: backends agree, derivatives right, dtypes kept, special values finite."""

from __future__ import annotations

import functools
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

from chainrule.codegen import load_backend, signature, simplex_args
from derive.arrays import expand
from derive.core import Kernel, Quirk, registry
from verify import gradcheck
from verify.strategies import arrays_in, kernel_inputs
from verify.tolerances import DTYPES, SPECIAL_SCALARS, SPECIAL_VECTORS, Check, error_scale, tolerance

jax.config.update("jax_enable_x64", True)

KERNELS = registry().kernels()
DERIVATIVES = tuple(k for k in KERNELS if k.grad_of)
BACKENDS = ("numpy", "jax")
# A few fixed shapes, so that JAX compiles each kernel once per shape rather than once per example.
# The backends are compared on a batch of two axes (no batch axis: the special-value and quirk tests;
# one axis: the jit, vmap and batching tests), with a vector of length 1 and a longer one; a kernel
# with several named sizes (a dense layer's B, m, n) takes all of them 1, or all different.
BATCH = st.sampled_from([(), (2, 3)])
AGREE_BATCH = (2, 3)
SIZES = st.sampled_from([1, 4])


def sizes_of(kernel: Kernel) -> st.SearchStrategy[dict[str, int]] | None:
    """Joint sizes for a kernel with several named sizes (None: draw its one size from SIZES)."""
    names = signature(kernel).sizes()
    if len(names) < 2:
        return None
    return st.sampled_from([dict.fromkeys(names, 1), {name: 4 - i for i, name in enumerate(names)}])
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


def assert_close(actual: np.ndarray, reference: np.ndarray, dtype: str, what: str, kernel: Kernel | None = None,
                 inputs: tuple[np.ndarray, ...] = (), check: Check = "value") -> None:
    """Assert ``actual`` matches ``reference`` within the dtype's tolerance (scaled for the kernel at the inputs)."""
    tol = tolerance(dtype, check)
    scale = 1.0 if kernel is None else error_scale(kernel, {a.name: x for a, x in zip(kernel.args, inputs,
                                                                                     strict=True)},
                                                    len(signature(kernel).output))
    actual, reference = np.asarray(actual, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    assert actual.shape == reference.shape, f"{what}: shapes {actual.shape} vs {reference.shape}"
    bad = (np.abs(actual - reference) > tol.allowed(reference, scale)) | (np.isnan(actual) != np.isnan(reference))
    assert not np.any(bad), f"{what}: {actual[bad]} vs {reference[bad]}"


# --- both backends, dtypes, batching -----------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel", KERNELS, ids=name_of)
@given(data=st.data())
def test_numpy_and_jax_kernels_agree(kernel: Kernel, dtype: str, data: st.DataObject) -> None:
    inputs = data.draw(kernel_inputs(kernel, dtype=dtype, batch_shape=AGREE_BATCH, size=SIZES, sizes=sizes_of(kernel)))
    failures = gradcheck.check_values(kernel, inputs)
    assert failures == [], gradcheck.report(failures)


def filled(kernel: Kernel, batch: tuple[int, ...], sizes: dict[str, int], dtype: str = "float64",
           values: dict[str, float] | None = None) -> tuple[np.ndarray, ...]:
    """One constant array per argument, shaped ``batch`` + its trailing shape: the given value, or mid-domain."""
    sig = signature(kernel)
    return tuple(np.full(batch + sig.shape(core, sizes), (values or {}).get(a.name, np.mean(kernel.domain[a.name])),
                         dtype=dtype) for a, core in zip(kernel.args, sig.inputs, strict=True))


def distinct_sizes(kernel: Kernel) -> dict[str, int]:
    """A different length for each named size of the kernel's signature (so a swapped axis shows)."""
    return {name: 5 - i for i, name in enumerate(signature(kernel).sizes())}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel", KERNELS, ids=name_of)
def test_kernel_returns_the_dtype_it_was_given(kernel: Kernel, dtype: str, backend: str) -> None:
    inputs = filled(kernel, (2, 3) if kernel.shape == "elementwise" else (2,), distinct_sizes(kernel), dtype)
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
        row = tuple(x[i, j] for x in inputs)
        assert_close(whole[i, j], run(kernel, "numpy", row), "float64", f"row {i, j}", kernel, row)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kernel", [k for k in KERNELS if k.shape != "elementwise"], ids=name_of)
def test_kernel_result_has_the_trailing_shape_its_signature_says(kernel: Kernel, backend: str) -> None:
    sizes = distinct_sizes(kernel)
    out = run(kernel, backend, filled(kernel, (2,), sizes))
    assert out.shape == (2, *signature(kernel).shape(signature(kernel).output, sizes))


def test_jacobian_kernels_return_square_matrices() -> None:
    for kernel in (k for k in KERNELS if k.shape == "jacobian"):
        assert signature(kernel).output == ("n", "n"), kernel.name


@pytest.mark.parametrize("kernel", KERNELS, ids=name_of)
@settings(max_examples=3)
@given(data=st.data())
def test_jax_kernel_works_under_jit(kernel: Kernel, data: st.DataObject) -> None:
    inputs = data.draw(kernel_inputs(kernel, batch_shape=(3,), size=3))
    eager = getattr(load_backend("jax"), kernel.name)
    jitted = gradcheck.function(kernel.name, "jax")  # jax.jit of the same function, compiled once per shape
    assert_close(np.asarray(jitted(*inputs)), np.asarray(eager(*inputs)), "float64", "jit", kernel, inputs)


@pytest.mark.parametrize("kernel", KERNELS, ids=name_of)
@settings(max_examples=3)
@given(data=st.data())
def test_jax_kernel_works_under_vmap(kernel: Kernel, data: st.DataObject) -> None:
    inputs = data.draw(kernel_inputs(kernel, batch_shape=(4,), size=3))
    batched = gradcheck.function(kernel.name, "jax")  # the kernel's own batching over the leading axis, jitted
    assert_close(np.asarray(vmapped(kernel.name)(*inputs)), np.asarray(batched(*inputs)), "float64", "vmap", kernel,
                 inputs)


@functools.cache
def vmapped(name: str) -> Callable[..., jax.Array]:
    """jax.vmap of the generated JAX kernel over the leading axis of every argument, jitted once."""
    return jax.jit(jax.vmap(getattr(load_backend("jax"), name)))


# --- derivatives -------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel", DERIVATIVES, ids=name_of)
@given(data=st.data())
def test_derivative_kernel_matches_jax_autodiff(kernel: Kernel, dtype: str, data: st.DataObject) -> None:
    inputs = data.draw(kernel_inputs(kernel, dtype=dtype, batch_shape=AGREE_BATCH, size=SIZES, sizes=sizes_of(kernel),
                                     kink_margin=KINK_MARGIN))
    failures = gradcheck.check_derivative(kernel, inputs, finite_differences=False)
    assert failures == [], gradcheck.report(failures)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel", DERIVATIVES, ids=name_of)
@given(data=st.data())
def test_derivative_kernel_matches_finite_differences(kernel: Kernel, dtype: str, data: st.DataObject) -> None:
    inputs = data.draw(kernel_inputs(kernel, dtype=dtype, batch_shape=AGREE_BATCH, size=SIZES, sizes=sizes_of(kernel),
                                     kink_margin=KINK_MARGIN))
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


def kernels_of(backend: str) -> object:
    """The generated module of ``backend`` (its functions by name)."""
    return load_backend(backend)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("backend", BACKENDS)
@given(data=st.data())
def test_adams_first_step_moves_each_coordinate_by_about_eta(backend: str, dtype: str, data: st.DataObject) -> None:
    # From m = v = 0 at t = 1 the step is eta g/(|g| + eps) whatever beta_1, beta_2 (adam_first_step): for
    # |g| >> eps its size is eta per coordinate, so the scale of the gradient does not matter.
    k = kernels_of(backend)
    g = data.draw(arrays_in((-1e3, 1e3), dtype=dtype, shape=(6,), avoid=(0.0,), margin=1e-3))
    theta = data.draw(arrays_in((-3.0, 3.0), dtype=dtype, shape=(6,)))
    eta, beta_1, beta_2 = (data.draw(st.floats(lo, hi)) for lo, hi in ((1e-4, 0.5), (0.05, 0.999), (0.05, 0.9999)))
    zero = np.zeros_like(theta)
    step = theta - np.asarray(k.adam_step(theta, zero, zero, g, 1, eta, beta_1, beta_2, 1e-8))
    # the kernel's own rounding is a few ulp of eta; recovering the step from theta - step costs ulp(theta)
    tol = tolerance(dtype, "value")
    allowed = tol.atol * (np.abs(theta) + eta) + tol.rtol * eta
    np.testing.assert_array_less(np.abs(step - eta * g / (np.abs(g) + 1e-8)), allowed)
    np.testing.assert_array_less(np.abs(np.abs(step) - eta), allowed + eta * 1e-8 / 1e-3)  # |g| >= 1e-3


@pytest.mark.parametrize("backend", BACKENDS)
def test_adam_kernels_repeat_a_plain_adam_loop(backend: str) -> None:
    k = kernels_of(backend)
    rng = np.random.default_rng(0)
    grads = rng.normal(size=(5, 4))
    b1, b2, eta, eps = 0.9, 0.999, 1e-2, 1e-8
    theta, m, v = np.ones(4), np.zeros(4), np.zeros(4)
    ref_theta, ref_m, ref_v = theta.copy(), m.copy(), v.copy()
    for t, g in enumerate(grads, start=1):
        theta = np.asarray(k.adam_step(theta, m, v, g, t, eta, b1, b2, eps))
        m, v = np.asarray(k.adam_m(m, g, b1)), np.asarray(k.adam_v(v, g, b2))
        ref_m, ref_v = b1 * ref_m + (1 - b1) * g, b2 * ref_v + (1 - b2) * g * g
        ref_theta = ref_theta - eta * (ref_m / (1 - b1**t)) / (np.sqrt(ref_v / (1 - b2**t)) + eps)
    np.testing.assert_allclose(theta, ref_theta, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(v, ref_v, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("backend", BACKENDS)
def test_adamw_is_adam_after_shrinking_theta(backend: str) -> None:
    k = kernels_of(backend)
    theta, m, v, g = np.array([1.0, -2.0]), np.array([0.1, 0.2]), np.array([0.3, 0.01]), np.array([0.5, -1.0])
    args = (m, v, g, 3, 1e-2, 0.9, 0.999, 1e-8)
    shrunk = theta * (1 - 1e-2 * 0.1)
    adam_direction = theta - np.asarray(k.adam_step(theta, *args))
    np.testing.assert_allclose(np.asarray(k.adamw_step(theta, *args, 0.1)), shrunk - adam_direction, rtol=1e-13)


def test_adam_keeps_float32_with_python_scalar_hyperparameters() -> None:
    theta = np.linspace(-1, 1, 4, dtype=np.float32)
    for backend in BACKENDS:
        out = kernels_of(backend).adam_step(theta, theta, theta**2, theta, 7, 1e-3, 0.9, 0.999, 1e-8)
        assert np.asarray(out).dtype == np.float32


def moments(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and biased variance over the last axis, in float64."""
    y = np.asarray(y, dtype=np.float64)
    return y.mean(axis=-1), y.var(axis=-1)


@pytest.mark.parametrize("backend", BACKENDS)
@given(data=st.data())
def test_layer_norm_output_has_zero_mean_and_the_derived_variance(backend: str, data: st.DataObject) -> None:
    # Before the affine part (gamma = 1, beta = 0): mean 0 and variance var/(var + eps), so 1 as eps -> 0
    # (layernorm_normalized_mean, layernorm_normalized_variance); var and the reference are plain NumPy.
    x = data.draw(arrays_in((-3.0, 3.0), shape=data.draw(BATCH) + (data.draw(st.sampled_from([2, 5])),)))
    eps = data.draw(st.sampled_from([1e-8, 1e-5, 0.1]))
    y = np.asarray(kernels_of(backend).layer_norm(x, 1.0, 0.0, eps))
    mean, var = moments(y)
    np.testing.assert_allclose(mean, 0.0, atol=1e-12)
    np.testing.assert_allclose(var, x.var(axis=-1) / (x.var(axis=-1) + eps), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_layer_norm_of_a_spread_row_has_unit_variance(backend: str) -> None:
    x = np.array([[0.5, -1.0, 2.0, 3.5], [1e3, 1e3 + 1.0, 1e3 - 1.0, 1e3 + 0.5]], dtype=np.float32)
    mean, var = moments(kernels_of(backend).layer_norm(x, 1.0, 0.0, 1e-8))
    np.testing.assert_allclose(mean, 0.0, atol=1e-6)
    np.testing.assert_allclose(var, 1.0, rtol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
@given(data=st.data())
def test_batch_norm_normalises_each_feature_over_the_batch(backend: str, data: st.DataObject) -> None:
    # A (B, features) batch is passed transposed: one row per feature, the batch along the last axis. Each
    # feature then has mean 0 and variance var/(var + eps) over the batch, and gamma, beta act afterwards.
    batch = data.draw(arrays_in((-3.0, 3.0), shape=(data.draw(st.sampled_from([2, 6])), 3)))
    eps, gamma, beta = 1e-5, np.array([[2.0], [-0.5], [1.0]]), np.array([[0.0], [1.0], [-3.0]])
    y = np.asarray(kernels_of(backend).batch_norm_batch_last(batch.T, 1.0, 0.0, eps))
    mean, var = moments(y)
    np.testing.assert_allclose(mean, 0.0, atol=1e-12)
    np.testing.assert_allclose(var, batch.var(axis=0) / (batch.var(axis=0) + eps), rtol=1e-9, atol=1e-12)
    affine = np.asarray(kernels_of(backend).batch_norm_batch_last(batch.T, gamma, beta, eps))
    np.testing.assert_allclose(affine, gamma * y + beta, rtol=1e-12, atol=1e-12)


def _sigmoid(z: jax.Array) -> jax.Array:
    """The logistic function, written out (an independent reference for the generated kernels)."""
    return 1 / (1 + jnp.exp(-z))


def test_dense_kernels_backpropagate_a_two_layer_network_like_jax_grad() -> None:
    # BP1-BP4 for a batch, composed from the generated NumPy kernels (the JAX ones agree with them, tested
    # above), against jax.grad of the loss written out.
    k = kernels_of("numpy")
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(5, 3)), rng.uniform(size=(5, 2))
    params = [rng.normal(size=(4, 3)), rng.normal(size=4), rng.normal(size=(2, 4)), rng.normal(size=2)]

    def loss(W1: jax.Array, b1: jax.Array, W2: jax.Array, b2: jax.Array) -> jax.Array:
        a1 = _sigmoid(x @ W1.T + b1)
        return 0.5 * jnp.sum((_sigmoid(a1 @ W2.T + b2) - y) ** 2)

    W1, b1, W2, b2 = params
    z1 = np.asarray(k.dense_forward(W1, b1, x))
    a1 = np.asarray(k.sigmoid(z1))
    z2 = np.asarray(k.dense_forward(W2, b2, a1))
    delta2 = np.asarray(k.bp1_output_error(np.asarray(k.sigmoid(z2)) - y, k.sigmoid_grad(z2)))
    delta1 = np.asarray(k.bp2_hidden_error(W2, delta2, k.sigmoid_grad(z1)))
    ours = [k.dense_grad_weights(W1, b1, x, delta1), k.dense_grad_bias(W1, b1, x, delta1),
            k.dense_grad_weights(W2, b2, a1, delta2), k.dense_grad_bias(W2, b2, a1, delta2)]
    reference = jax.jit(jax.grad(loss, argnums=(0, 1, 2, 3)))(*map(jnp.asarray, params))
    for name, got, want in zip(("W1", "b1", "W2", "b2"), ours, reference, strict=True):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-10, atol=1e-12, err_msg=name)
    np.testing.assert_allclose(np.asarray(k.bp2_hidden_error(W2, delta2, k.sigmoid_grad(z1))),
                               np.asarray(k.dense_grad_input(W2, b2, a1, delta2)) * np.asarray(k.sigmoid_grad(z1)))


# --- special values ----------------------------------------------------------------------------


FULL_PRODUCT = 64  # above this many combinations, special values are varied one argument at a time


def special_values(kernel: Kernel, name: str, core: tuple[str | int, ...]) -> tuple[np.ndarray, ...]:
    """The special values of one argument, shaped by its trailing shape (vectors have length 3).

    Scalars and one-per-row arguments take ``SPECIAL_SCALARS``; vectors ``SPECIAL_VECTORS``; a matrix
    argument each special vector repeated on every row, and one matrix whose rows are all of them.
    """
    if core in ((), (1,)):
        return tuple(np.reshape(v, (1,) * len(core)) for v in SPECIAL_SCALARS[name])
    rows = tuple(np.asarray(v) for v in SPECIAL_VECTORS[name])
    if len(core) == 1:
        return rows
    mixed = np.stack([rows[i % len(rows)] for i in range(3)])
    return (*(np.tile(r, (3, 1)) for r in rows), mixed)


def special_inputs(kernel: Kernel, dtype: str) -> list[tuple[np.ndarray, ...]]:
    """Combinations of the special values of the kernel's arguments, in ``dtype``.

    Every combination when there are at most ``FULL_PRODUCT``; otherwise each argument runs through
    its special values while the others keep their first one.
    """
    choices = [special_values(kernel, a.name, core) for a, core in zip(kernel.args, signature(kernel).inputs,
                                                                        strict=True)]
    if np.prod([len(c) for c in choices]) <= FULL_PRODUCT:
        combos = list(itertools.product(*choices))
    else:
        base = [c[0] for c in choices]
        combos = [tuple(base)] + [tuple(v if i == k else b for i, b in enumerate(base))
                                  for k, c in enumerate(choices) for v in c[1:]]
    return [tuple(np.asarray(v, dtype=dtype) for v in combo) for combo in combos]


@functools.cache
def _mpmath_function(name: str) -> Callable[..., object]:
    """The elementwise kernel's expression as an mpmath function (lambdified once)."""
    kernel = kernel_named(name)
    return sp.lambdify(kernel.args, kernel.expr.rewrite(sp.log), modules="mpmath")


def _sympy_value(x: np.ndarray, core: tuple[str | int, ...]) -> sp.Basic:
    """An array as exact rationals: a scalar, or a matrix with NumPy's last two axes (a vector as one row)."""
    if core in ((), (1,)):
        return sp.Rational(float(x.reshape(())))
    rows = x.reshape(1, -1) if x.ndim == 1 else x
    return sp.Matrix([[sp.Rational(float(e)) for e in row] for row in rows])


def exact(kernel: Kernel, inputs: tuple[np.ndarray, ...]) -> np.ndarray:
    """The kernel's expression evaluated at the (exactly converted) inputs with 30-40 digit arithmetic.

    Elementwise kernels go through mpmath at a fixed working precision rather than ``evalf``: evalf
    insists on relative accuracy, and for ``1 + erf(-707)`` (GELU' at -1e3) that means raising the
    precision to hundreds of thousands of digits. An absolute error of 1e-40 is far below every tolerance.
    Other kernels are expanded to explicit entries (``derive.arrays.expand``) with exact rationals.
    """
    values = [np.asarray(x, dtype=np.float64) for x in inputs]
    if kernel.shape == "elementwise":
        with mpmath.workdps(40):
            return np.asarray(float(_mpmath_function(kernel.name)(*(mpmath.mpf(float(v)) for v in values))))
    bound = {a: _sympy_value(v, core) for a, v, core in zip(kernel.args, values, signature(kernel).inputs, strict=True)}
    scalars = {a: v for a, v in bound.items() if not isinstance(v, sp.MatrixBase)}
    value = expand(kernel.expr.xreplace(scalars), {a: v for a, v in bound.items() if a not in scalars})
    sizes = {}
    for v, core in zip(values, signature(kernel).inputs, strict=True):
        sizes.update({d: n for d, n in zip(core, v.shape[v.ndim - len(core):], strict=True) if isinstance(d, str)})
    shape = signature(kernel).shape(signature(kernel).output, sizes)
    matrix = value.evalf(30) if isinstance(value, sp.MatrixBase) else sp.Matrix([sp.N(value, 30)])
    entries = np.array(matrix.tolist(), dtype=np.float64)  # (rows, cols); fewer if the inputs cancelled terms
    return np.broadcast_to(entries, (1,) * (2 - len(shape)) + shape).reshape(shape)


@pytest.mark.parametrize("kernel", KERNELS, ids=name_of)
def test_special_value_table_covers_every_argument(kernel: Kernel) -> None:
    cores = signature(kernel).inputs
    missing = [a.name for a, core in zip(kernel.args, cores, strict=True)
               if a.name not in (SPECIAL_SCALARS if core in ((), (1,)) else SPECIAL_VECTORS)]
    assert missing == []


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel", KERNELS, ids=name_of)
def test_kernel_is_finite_and_exact_at_special_values(kernel: Kernel, dtype: str) -> None:
    for inputs in special_inputs(kernel, dtype):
        truth = exact(kernel, inputs)
        for backend in BACKENDS:
            got = run(kernel, backend, inputs)
            where = f"{kernel.name} [{backend}, {dtype}] at {[x.tolist() for x in inputs]}"
            assert np.all(np.isfinite(got) | ~np.isfinite(truth)), f"not finite: {where}: {got}"
            assert_close(got, truth, dtype, where, kernel, inputs, check="exact")


def forward_autodiff(kernel: Kernel) -> Callable[..., jax.Array]:
    """jax.grad of the sum of the generated JAX forward kernel, w.r.t. the derivative kernel's argument."""
    forward = kernel_named(kernel.grad_of)
    f = getattr(load_backend("jax"), forward.name)
    w = [a.name for a in forward.args].index(kernel.grad_wrt)
    return jax.grad(lambda *a: jnp.sum(f(*a)), argnums=w)


#: Each kernel's documented quirks, from its record.
QUIRKS = [(kernel, quirk) for kernel in KERNELS for quirk in kernel.quirks]


@pytest.mark.parametrize(("kernel", "quirk"), QUIRKS,
                         ids=[f"{k.name}-{q.dtype}-{list(q.inputs.values())}" for k, q in QUIRKS])
def test_documented_quirk_holds(kernel: Kernel, quirk: Quirk) -> None:
    inputs = filled(kernel, (), dict.fromkeys(signature(kernel).sizes(), 1), quirk.dtype, dict(quirk.inputs))
    assert run(kernel, "numpy", inputs).item() == quirk.numpy_value, quirk.note
    assert run(kernel, "jax", inputs).item() == quirk.jax_value, quirk.note
    if quirk.autodiff_value is not None:
        assert np.asarray(forward_autodiff(kernel)(*inputs)).item() == quirk.autodiff_value, quirk.note


# --- long runs ---------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("kernel", DERIVATIVES, ids=name_of)
@settings(max_examples=100)
@given(data=st.data())
def test_derivatives_on_large_batches_in_float32(kernel: Kernel, data: st.DataObject) -> None:
    inputs = data.draw(kernel_inputs(kernel, dtype="float32", batch_shape=(64,), kink_margin=KINK_MARGIN))
    failures = gradcheck.check_all(kernel, inputs)
    assert failures == [], gradcheck.report(failures)
