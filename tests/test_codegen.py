"""Code generation: golden printed strings, proofs of rewrites, freshness and independence of the generated modules."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from sympy.codegen.cfunctions import expm1
from sympy.codegen.numpy_nodes import logaddexp
from sympy.printing.numpy import NumPyPrinter

from chainrule import codegen
from chainrule.codegen import JaxKernelPrinter, NumPyKernelPrinter
from derive.arrays import ArrayShapeError, BSum, Col, Count, Dot, Eye, RMax, Row, RSum, Swap, expand, vectorize
from derive.core import Kernel, RecordReference, registry
from derive.proof import Proof

ROOT = Path(__file__).resolve().parents[1]
z, y = sp.symbols("z y")


def kernel(name: str) -> Kernel:
    """The registry's kernel called ``name``."""
    return next(k for k in registry().kernels() if k.name == name)


def numpy_print(expr: sp.Basic) -> str:
    """How the NumPy kernel printer writes ``expr`` (after constants become float literals)."""
    return NumPyKernelPrinter({"strict": True}).doprint(codegen.float_constants(expr))


def jax_print(expr: sp.Basic) -> str:
    """How the JAX kernel printer writes ``expr``."""
    return JaxKernelPrinter({"strict": True}).doprint(codegen.float_constants(expr))


@pytest.fixture(scope="module")
def proofs() -> dict[str, Proof]:
    """The proofs of every rewrite and derivative kernel, computed once."""
    return dict(codegen.prove_kernels())


def test_sigmoid_grad_is_generated_exactly_as_reviewed() -> None:
    # The plain expression for small or broadcast inputs; for large ones, blocks of _BLOCK entries through two
    # scratch buffers: e = exp(-|z|), then e/(e + 1)^2 written straight into the result; the blocks are
    # shared among worker threads in whole pieces (_parallel).
    assert codegen.render_kernel(kernel("sigmoid_grad"), "numpy") == (
        "def sigmoid_grad(z):\n"
        '    """sigmoid_grad: d/dz of sigmoid; sigma(1 - sigma) = e/(1 + e)^2 with e = e^{-|z|} <= 1: no overflow, '
        'accurate in both tails. Formula sigmoid_grad (Derivative of the sigmoid), section 1.2."""\n'
        "    dtype = _float_dtype(z)\n"
        "    z = numpy.asarray(z, dtype=dtype)\n"
        "    _shape = _elementwise_layout((z,), ())\n"
        "    if _shape is None:\n"
        "        _t0 = numpy.exp(-numpy.abs(z))\n"
        "        return numpy.asarray(_t0/(_t0 + 1)**2, dtype=dtype)\n"
        "    _out = numpy.empty(_shape, dtype=dtype)\n"
        "    _z, _out_flat = z.reshape(-1), _out.reshape(-1)\n"
        "    _size = _out_flat.shape[0]\n"
        "    def _part(_lo, _hi):\n"
        "        _r0 = numpy.empty((_BLOCK,), dtype=dtype)\n"
        "        _r1 = numpy.empty((_BLOCK,), dtype=dtype)\n"
        "        for _i in range(_lo, _hi, _BLOCK):\n"
        "            _j = min(_i + _BLOCK, _hi)\n"
        "            if _j - _i < _BLOCK:\n"
        "                _r0 = _r0[:_j - _i]\n"
        "                _r1 = _r1[:_j - _i]\n"
        "            z_b, _out_b = _z[_i:_j], _out_flat[_i:_j]\n"
        "            numpy.absolute(z_b, out=_r0)\n"
        "            numpy.negative(_r0, out=_r0)\n"
        "            numpy.exp(_r0, out=_r0)\n"
        "            numpy.add(_r0, 1, out=_r1)\n"
        "            numpy.square(_r1, out=_r1)\n"
        "            numpy.divide(_r0, _r1, out=_out_b)\n"
        "    _parallel(_part, _size, _BLOCK)\n"
        "    return _out\n"
    )


def test_softmax_jacobian_return_line_for_jax() -> None:
    source = codegen.render_kernel(kernel("softmax_jacobian"), "jax")
    assert source.splitlines()[-1] == (
        "    return jax.numpy.asarray((jax.numpy.eye(z.shape[-1], dtype=dtype) - _t1[..., None, :])"
        "*_t1[..., :, None], dtype=dtype)")


def test_dense_weight_gradient_is_generated_exactly_as_reviewed() -> None:
    # BP3 for a batch: sum over the rows b of delta_b a_b^T, i.e. delta^T a, an (m, n) matrix like W.
    assert codegen.render_kernel(kernel("dense_grad_weights"), "numpy") == (
        "def dense_grad_weights(W, b, a, delta):\n"
        '    """dense_grad_weights: d/dW of dense_linear_loss; delta a^T summed over the batch (rows): delta^T a. '
        "Trailing shapes (m,n),(m),(B,n),(B,m)->(m,n). Formula bp3_weight_grad (BP3: gradient with respect to the "
        'weights), section 1.5."""\n'
        "    dtype = _float_dtype(W, b, a, delta)\n"
        "    W = numpy.asarray(W, dtype=dtype)\n"
        "    b = numpy.asarray(b, dtype=dtype)\n"
        "    a = numpy.asarray(a, dtype=dtype)\n"
        "    delta = numpy.asarray(delta, dtype=dtype)\n"
        "    return numpy.asarray(numpy.matmul(numpy.swapaxes(delta, -1, -2), a), dtype=dtype)\n"
    )


def test_adam_step_return_line_for_jax() -> None:
    # theta - eta m_hat/(sqrt(v_hat) + eps) with m_t = beta_1 m + (1 - beta_1) g, v_t = beta_2 v + (1 - beta_2) g^2
    # and the divisors 1 - beta^t = -expm1(t log beta): the two minus signs of -expm1 cancel the step's.
    source = codegen.render_kernel(kernel("adam_step"), "jax")
    assert source.splitlines()[-1] == (
        "    return jax.numpy.asarray(eta*(beta_1*m + g*(1 - beta_1))/((epsilon + jax.numpy.sqrt(-(beta_2*v + "
        "g**2*(1 - beta_2))/jax.numpy.expm1(t*jax.numpy.log(beta_2))))*jax.numpy.expm1(t*jax.numpy.log(beta_1))) "
        "+ theta, dtype=dtype)")


def test_layer_norm_centres_the_shifted_row_before_averaging() -> None:
    # (x - m) - mean(x - m) with m = max x, x - m computed once: not x - (m + mean(x - m)).
    lines = codegen.render_kernel(kernel("layer_norm"), "jax").splitlines()
    assert lines[-4:] == [
        "    _t0 = x.shape[-1]**(-1.0)",
        "    _t1 = x - jax.numpy.max(x, axis=-1, keepdims=True)",
        "    _t2 = -_t0*jax.numpy.sum(_t1, axis=-1, keepdims=True) + _t1",
        "    return jax.numpy.asarray(_t2*gamma/jax.numpy.sqrt(_t0*jax.numpy.sum(_t2**2, axis=-1, keepdims=True) "
        "+ epsilon) + beta, dtype=dtype)",
    ]
    # The NumPy loop keeps the order: the row maximum, x - m, its mean subtracted, then the squares.
    body = [line.strip() for line in codegen.render_kernel(kernel("layer_norm"), "numpy").splitlines()]
    start = body.index("numpy.max(x_b, axis=-1, keepdims=True, out=_r0)")
    assert body[start:start + 8] == [
        "numpy.max(x_b, axis=-1, keepdims=True, out=_r0)",
        "numpy.subtract(x_b, _r0, out=_r1)",
        "numpy.sum(_r1, axis=-1, keepdims=True, out=_r0)",
        "numpy.multiply(_r0, _s0, out=_r0)",
        "numpy.subtract(_r1, _r0, out=_r1)",
        "numpy.multiply(_r1, gamma_b, out=_r2)",
        "numpy.square(_r1, out=_r1)",
        "numpy.sum(_r1, axis=-1, keepdims=True, out=_r0)",
    ]


def test_loss_kernels_drop_the_reduced_axis() -> None:
    lines = codegen.render_kernel(kernel("mse"), "numpy").splitlines()
    assert (
        "        return numpy.asarray((numpy.sum((-y + y_hat)**2, axis=-1, keepdims=True)/y.shape[-1])[..., 0], "
        "dtype=dtype)") in lines
    assert lines[-1] == "    return _out[..., 0]"  # the loop's result kept the reduced axis too


def test_sympy_prints_erf_max_and_piecewise_unusably_for_arrays() -> None:
    plain = NumPyPrinter()
    assert plain.doprint(sp.erf(z)) == "math.erf(z)"
    assert plain.doprint(sp.Max(0, z)).startswith("functools.reduce(")
    assert plain.doprint(sp.Piecewise((1, z > 0), (0, True))).startswith("numpy.select(")


def test_erf_prints_per_backend() -> None:
    assert numpy_print(sp.erf(z)) == "scipy.special.erf(z)"
    assert jax_print(sp.erf(z)) == "jax.scipy.special.erf(z)"


def test_max_prints_as_nested_maximum() -> None:
    assert numpy_print(sp.Max(0, z, y)) == "numpy.maximum(0, numpy.maximum(y, z))"


def test_piecewise_prints_as_nested_where() -> None:
    expr = sp.Piecewise((1, z > 1), (y, z > 0), (0, True))
    assert jax_print(expr) == (
        "jax.numpy.where(jax.numpy.greater(z, 1), jax.numpy.asarray(1, dtype=dtype), "
        "jax.numpy.where(jax.numpy.greater(z, 0), y, jax.numpy.asarray(0, dtype=dtype)))")


def test_piecewise_without_default_gives_nan() -> None:
    assert numpy_print(sp.Piecewise((z, z > 0))) == "numpy.where(numpy.greater(z, 0), z, numpy.nan)"


def test_array_vocabulary_prints_as_last_axis_operations() -> None:
    assert numpy_print(RSum(z)) == "numpy.sum(z, axis=-1, keepdims=True)"
    assert jax_print(RMax(z)) == "jax.numpy.max(z, axis=-1, keepdims=True)"
    assert numpy_print(Count(z)) == "z.shape[-1]"
    assert numpy_print(Col(z + y)) == "(y + z)[..., :, None]"
    assert numpy_print(Row(z)) == "z[..., None, :]"
    assert jax_print(Eye(z)) == "jax.numpy.eye(z.shape[-1], dtype=dtype)"


def test_matrix_vocabulary_prints_as_batched_matrix_operations() -> None:
    assert numpy_print(Dot(z, Swap(y))) == "numpy.matmul(z, numpy.swapaxes(y, -1, -2))"
    assert jax_print(BSum(z * y)) == "jax.numpy.sum(y*z, axis=-2)"
    assert jax_print(Dot(z, y)) == "jax.numpy.matmul(z, y)"


def test_expm1_prints_per_backend() -> None:
    assert numpy_print(expm1(z * sp.log(y))) == "numpy.expm1(z*numpy.log(y))"
    assert jax_print(expm1(z)) == "jax.numpy.expm1(z)"


def test_expand_follows_numpy_on_the_last_two_axes() -> None:
    W, b, a = sp.symbols("W b a")
    Wn, bn, an = np.arange(6).reshape(2, 3) - 2, np.array([1, -1]), np.arange(12).reshape(4, 3) % 5
    binding = {W: sp.Matrix(Wn), b: sp.Matrix([bn]), a: sp.Matrix(an)}
    for expr, want in ((Dot(a, Swap(W)) + Row(b), an @ Wn.T + bn), (BSum(a), an.sum(axis=-2)),
                       (RSum(a) / Count(a), an.sum(axis=-1, keepdims=True) / 3), (Col(b) * Row(b), np.outer(bn, bn)),
                       (RMax(W) - W, Wn.max(axis=-1, keepdims=True) - Wn)):
        got = np.array(expand(expr, binding).tolist(), dtype=float)
        np.testing.assert_array_equal(got, np.broadcast_to(want, got.shape), err_msg=str(expr))
        assert got.shape == np.atleast_2d(want).shape, expr


def test_expand_refuses_a_product_of_mismatched_shapes() -> None:
    W, a = sp.symbols("W a")
    with pytest.raises(ArrayShapeError, match="inner sizes"):
        expand(Dot(a, W), {W: sp.zeros(2, 3), a: sp.zeros(4, 3)})


def test_vectorize_reads_an_indexed_sum_as_a_reduction_over_the_last_axis() -> None:
    theta_v, i, n = sp.IndexedBase("theta"), sp.Symbol("i", integer=True), sp.Symbol("n", integer=True)
    theta, lam = sp.symbols("theta lambda")
    penalty = lam / 2 * sp.Sum(theta_v[i] ** 2, (i, 1, n)) / n
    assert vectorize(penalty, {theta_v: theta}, {n: Count(theta)}) == lam / 2 * RSum(theta**2) / Count(theta)


def test_logaddexp_prints_per_backend() -> None:
    assert numpy_print(logaddexp(0, z)) == "numpy.logaddexp(0, z)"
    assert jax_print(logaddexp(0, z)) == "jax.numpy.logaddexp(0, z)"


def test_constants_print_as_float_literals_and_integer_powers_stay() -> None:
    assert numpy_print(sp.sqrt(2 / sp.pi) * z**3) == "0.7978845608028654*z**3"
    assert numpy_print(sp.exp(-z**2 / 2) / sp.sqrt(2 * sp.pi)) == "0.3989422804014327*numpy.exp(-0.5*z**2)"


@pytest.mark.parametrize("path", sorted(b.path for b in codegen.BACKENDS.values()))
def test_generated_kernels_use_no_strong_constants_or_scalar_functions(path: str) -> None:
    names = {k.name for k in registry().kernels()}
    chunks = (ROOT / path).read_text(encoding="utf-8").split("\n\n\ndef ")[1:]
    bodies = [c for c in chunks if c.split("(", 1)[0] in names]
    assert len(bodies) == len(names)
    for body in bodies:
        for bad in ("numpy.pi", "numpy.e,", "math.", "functools", "select("):
            assert bad not in body, (body.split("(", 1)[0], bad)
        assert re.search(r"sqrt\((\d|numpy\.pi|jax\.numpy\.pi)", body) is None, body.split("(", 1)[0]


@pytest.mark.parametrize(("name", "expected"), [("z", "z"), ("\\hat{y}", "y_hat"), ("\\alpha", "alpha"),
                                                ("W_1", "W_1"), ("\\bar{x}", "x_bar"), ("lambda", "lambda_"),
                                                ("\\lambda", "lambda_"), ("n_{in}", "n_in"),
                                                ("\\sigma'", "sigma_prime"), ("\\nabla_{a} L", "nabla_a_L")])
def test_identifier_sanitizes_latex_names(name: str, expected: str) -> None:
    assert codegen.identifier(name) == expected


@pytest.mark.parametrize("name", ["dtype", "1x", "numpy", "jax"])
def test_identifier_rejects_unusable_names(name: str) -> None:
    with pytest.raises(codegen.CodegenError, match=repr(name).replace("\\", "\\\\")):
        codegen.identifier(name)


def test_every_rewrite_and_derivative_kernel_is_proven(proofs: dict[str, Proof]) -> None:
    expected = {k.name for k in registry().kernels()
                if k.rewrite or k.grad_of or isinstance(k.reference, RecordReference)}
    assert set(proofs) == expected
    assert {n: p.verdict for n, p in proofs.items() if p.verdict not in ("proven", "agrees")} == {}


def test_a_wrong_elementwise_derivative_is_refuted() -> None:
    good = kernel("sigmoid_grad")
    (zs,) = good.args
    wrong = dataclasses.replace(good, expr=(1 + sp.tanh(zs / 2)) / 2)
    assert codegen.prove_elementwise(wrong).verdict == "refuted"


def test_a_wrong_jacobian_is_refuted() -> None:
    good = kernel("softmax_jacobian")
    (zs,) = good.args
    s = sp.exp(zs) / RSum(sp.exp(zs))
    wrong = dataclasses.replace(good, expr=Col(s) * (Eye(zs) + Row(s)))
    assert codegen.prove_vector(wrong).verdict == "refuted"


def test_a_log_softmax_without_its_shift_is_refuted() -> None:
    good = kernel("log_softmax")
    (zs,) = good.args
    wrong = dataclasses.replace(good, expr=zs - sp.log(RSum(sp.exp(zs - RMax(zs)))))
    assert codegen.prove_vector(wrong).verdict == "refuted"


def test_the_dense_kernels_are_proven_against_the_bp_records(proofs: dict[str, Proof]) -> None:
    for name, record in (("dense_grad_weights", "bp3_weight_grad"), ("dense_grad_bias", "bp4_bias_grad"),
                         ("bp2_hidden_error", "bp2_hidden_error"), ("dense_forward", "bp3_weight_grad")):
        assert f"the record {record}" in proofs[name].method, name
    assert "the derivative of dense_linear_loss" in proofs["dense_grad_weights"].method


def test_a_weight_gradient_with_the_transpose_on_the_activations_is_refuted() -> None:
    good = kernel("dense_grad_weights")
    W, b, a, delta = good.args
    assert codegen.prove_vector(dataclasses.replace(good, expr=Dot(Swap(a), delta))).verdict == "refuted"


def test_a_dense_forward_pass_without_the_transpose_is_refuted() -> None:
    good = kernel("dense_forward")
    W, b, a = good.args
    assert codegen.prove_vector(dataclasses.replace(good, expr=Dot(a, W) + Row(b))).verdict == "refuted"


def test_a_bp2_error_with_w_instead_of_its_transpose_is_refuted() -> None:
    good = kernel("bp2_hidden_error")
    W, delta, slope = good.args
    wrong = dataclasses.replace(good, expr=Dot(delta, Swap(W)) * slope)
    assert codegen.prove_vector(wrong).verdict == "refuted"


def test_a_layer_norm_backward_without_the_x_hat_term_is_refuted() -> None:
    good = kernel("layer_norm_backward")
    x, g, gamma, beta, eps = good.args
    centred = x - RSum(x) / Count(x)
    std = sp.sqrt(RSum(centred**2) / Count(x) + eps)
    wrong = dataclasses.replace(good, expr=(Count(x) * gamma * g - RSum(gamma * g)) / (Count(x) * std))
    assert codegen.prove_vector(wrong).verdict == "refuted"


def test_an_adam_step_without_bias_correction_is_refuted() -> None:
    good = kernel("adam_step")
    theta, m, v, g, t, eta, beta_1, beta_2, eps = good.args
    m_t, v_t = beta_1 * m + (1 - beta_1) * g, beta_2 * v + (1 - beta_2) * g**2
    wrong = dataclasses.replace(good, expr=theta - eta * m_t / (sp.sqrt(v_t) + eps))
    assert codegen.prove_elementwise(wrong).verdict == "refuted"


def test_signatures_read_and_print_in_gufunc_notation() -> None:
    sig = codegen.parse_signature("(m,n), (m),(B,n)->(B,m)")
    assert sig.inputs == (("m", "n"), ("m",), ("B", "n")) and sig.output == ("B", "m")
    assert sig.text() == "(m,n),(m),(B,n)->(B,m)"
    assert sig.sizes() == ("m", "n", "B")
    assert codegen.parse_signature("(n),(1)->()").inputs == (("n",), (1,))


@pytest.mark.parametrize("text", ["(m,n)", "(m,n)->", "(m-1)->()", "m->n"])
def test_a_malformed_signature_is_refused(text: str) -> None:
    with pytest.raises(codegen.CodegenError, match="signature"):
        codegen.parse_signature(text)


def test_a_derivative_kernel_takes_its_forward_kernels_shapes() -> None:
    assert codegen.signature(kernel("dense_grad_weights")).text() == "(m,n),(m),(B,n),(B,m)->(m,n)"
    assert codegen.signature(kernel("batch_norm_batch_last_grad_gamma")).output == (1,)
    assert codegen.signature(kernel("softmax_jacobian")).output == ("n", "n")
    assert codegen.signature(kernel("mse")).output == ()


def test_the_ce_gradient_needs_labels_on_the_simplex() -> None:
    assert codegen.prove_vector(dataclasses.replace(kernel("ce_logits_grad"), simplex=())).verdict == "refuted"


def test_generation_refuses_when_a_proof_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codegen, "prove_kernels", lambda: [("sigmoid", Proof("refuted", "test", 1, "made up"))])
    with pytest.raises(codegen.KernelProofError, match="sigmoid: refuted"):
        codegen.render_all()


def test_committed_generated_modules_are_fresh() -> None:
    stale = codegen.write_all(ROOT, check=True)
    assert stale == [], f"regenerate with `chainrule generate`: {[str(p) for p in stale]}"


def test_write_all_writes_missing_modules(tmp_path: Path) -> None:
    written = codegen.write_all(tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == sorted(codegen.render_all())
    assert codegen.write_all(tmp_path, check=True) == []


@pytest.mark.parametrize("module", ["chainrule.kernels.numpy_kernels", "chainrule.kernels.jax_kernels"])
def test_generated_module_imports_without_sympy(module: str) -> None:
    code = f"import sys; sys.modules['sympy'] = None; import {module} as m; print(len(m.__all__))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) == len(registry().kernels())
