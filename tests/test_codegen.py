"""Code generation: golden printed strings, proofs of rewrites, freshness and independence of the generated modules."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
import sympy as sp
from sympy.codegen.numpy_nodes import logaddexp
from sympy.printing.numpy import NumPyPrinter

from chainrule import codegen
from chainrule.codegen import JaxKernelPrinter, NumPyKernelPrinter
from derive.arrays import Col, Count, Eye, RMax, RSum, Row
from derive.core import Kernel, registry
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
    assert codegen.render_kernel(kernel("sigmoid_grad"), "numpy") == (
        "def sigmoid_grad(z):\n"
        '    """sigmoid_grad: d/dz of sigmoid. Formula sigmoid_grad (Derivative of the sigmoid), section 1.2."""\n'
        "    dtype = _float_dtype(z)\n"
        "    z = numpy.asarray(z, dtype=dtype)\n"
        "    _t0 = 0.5*numpy.tanh(0.5*z)\n"
        "    return numpy.asarray((0.5 - _t0)*(_t0 + 0.5), dtype=dtype)\n"
    )


def test_softmax_jacobian_return_line_for_jax() -> None:
    source = codegen.render_kernel(kernel("softmax_jacobian"), "jax")
    assert source.splitlines()[-1] == (
        "    return jax.numpy.asarray((jax.numpy.eye(z.shape[-1], dtype=dtype) - _t1[..., None, :])"
        "*_t1[..., :, None], dtype=dtype)")


def test_loss_kernels_drop_the_reduced_axis() -> None:
    source = codegen.render_kernel(kernel("mse"), "numpy")
    assert source.splitlines()[-1] == (
        "    return numpy.asarray((numpy.sum((-y + y_hat)**2, axis=-1, keepdims=True)/y.shape[-1])[..., 0], dtype=dtype)")


def test_sympy_prints_erf_max_and_piecewise_unusably_for_arrays() -> None:
    plain = NumPyPrinter()
    assert plain.doprint(sp.erf(z)) == "math.erf(z)"
    assert plain.doprint(sp.Max(0, z)).startswith("functools.reduce(")
    assert plain.doprint(sp.Piecewise((1, z > 0), (0, True))).startswith("numpy.select(")


def test_erf_prints_per_backend() -> None:
    assert numpy_print(sp.erf(z)) == "_erf(z)"
    assert jax_print(sp.erf(z)) == "jax.scipy.special.erf(z)"


def test_max_prints_as_nested_maximum() -> None:
    assert numpy_print(sp.Max(0, z, y)) == "numpy.maximum(0, numpy.maximum(y, z))"


def test_piecewise_prints_as_nested_where() -> None:
    expr = sp.Piecewise((1, z > 1), (y, z > 0), (0, True))
    assert jax_print(expr) == (
        "jax.numpy.where(jax.numpy.greater(z, 1), 1, jax.numpy.where(jax.numpy.greater(z, 0), y, 0))")


def test_piecewise_without_default_gives_nan() -> None:
    assert numpy_print(sp.Piecewise((z, z > 0))) == "numpy.where(numpy.greater(z, 0), z, numpy.nan)"


def test_array_vocabulary_prints_as_last_axis_operations() -> None:
    assert numpy_print(RSum(z)) == "numpy.sum(z, axis=-1, keepdims=True)"
    assert jax_print(RMax(z)) == "jax.numpy.max(z, axis=-1, keepdims=True)"
    assert numpy_print(Count(z)) == "z.shape[-1]"
    assert numpy_print(Col(z + y)) == "(y + z)[..., :, None]"
    assert numpy_print(Row(z)) == "z[..., None, :]"
    assert jax_print(Eye(z)) == "jax.numpy.eye(z.shape[-1], dtype=dtype)"


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
        for bad in ("numpy.sqrt(", "numpy.pi", "numpy.e,", "math.", "functools", "select("):
            assert bad not in body, (body.split("(", 1)[0], bad)


@pytest.mark.parametrize(("name", "expected"), [("z", "z"), ("\\hat{y}", "y_hat"), ("\\alpha", "alpha"),
                                                ("W_1", "W_1"), ("\\bar{x}", "x_bar")])
def test_identifier_sanitizes_latex_names(name: str, expected: str) -> None:
    assert codegen.identifier(name) == expected


@pytest.mark.parametrize("name", ["lambda", "dtype", "1x", "numpy"])
def test_identifier_rejects_unusable_names(name: str) -> None:
    with pytest.raises(codegen.CodegenError, match=repr(name).replace("\\", "\\\\")):
        codegen.identifier(name)


def test_every_rewrite_and_derivative_kernel_is_proven(proofs: dict[str, Proof]) -> None:
    expected = {k.name for k in registry().kernels() if k.rewrite or k.grad_of}
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


def test_the_ce_gradient_needs_labels_on_the_simplex(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codegen, "SIMPLEX_ARGS", {})
    assert codegen.prove_vector(kernel("ce_logits_grad")).verdict == "refuted"


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
