"""Three-way derivative checks of the generated kernels, with labelled failures.

For a derivative kernel G (``Kernel.grad_of`` names its forward kernel F) at given inputs:
the generated G, run in the inputs' dtype, is compared with JAX autodiff of the generated JAX F
(reverse mode by ``jax.vjp``, forward mode by ``jax.jvp``) and with central finite differences of
the generated NumPy F; a kernel that is not elementwise is differentiated per batch item, with the
layout of its signature (``chainrule.codegen.signature``). Both references are computed in float64
at the same points, so a float32 check measures the float32 kernel and not the float32 rounding of
a reference. The forward values
of both backends are compared in the inputs' dtype, so a failure says whether a value or a
gradient is wrong, of which kernel, with respect to which input, and where.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
from jax.test_util import check_grads

from chainrule.codegen import load_backend, signature
from derive.core import Kernel, registry
from verify.tolerances import FD_STEP, Tolerance, error_scale, tolerance

Mode = Literal["rev", "fwd"]


@dataclass(frozen=True)
class GradFailure:
    """One failed comparison: which kernel, value or gradient, against what, for which input, and where."""

    kernel: str
    check: Literal["value", "gradient"]
    against: str
    argument: str
    dtype: str
    max_error: float
    allowed: float
    at: str

    def __str__(self) -> str:
        return (f"{self.kernel} [{self.dtype}] {self.check} w.r.t. {self.argument} vs {self.against}: "
                f"error {self.max_error:.3g} > allowed {self.allowed:.3g} at {self.at}")


def kernel_record(name: str) -> Kernel:
    """The registry's kernel called ``name``."""
    for k in registry().kernels():
        if k.name == name:
            return k
    raise KeyError(f"no kernel {name!r} in the registry")


def function(name: str, backend: str) -> Callable[..., object]:
    """The generated kernel ``name`` of ``backend`` ("numpy", or "jax": jitted, so compiled once per shape)."""
    return _jitted(name) if backend == "jax" else getattr(load_backend(backend), name)


@functools.cache
def _jitted(name: str) -> Callable[..., object]:
    """The generated JAX kernel ``name`` under ``jax.jit``."""
    return jax.jit(getattr(load_backend("jax"), name))


@contextlib.contextmanager
def precision(dtype: object) -> Iterator[None]:
    """Let JAX compute in float64 inside the block when ``dtype`` is float64."""
    if np.dtype(dtype) == np.float64:
        with jax.enable_x64(True):
            yield
    else:
        yield


def compare(actual: object, reference: object, tol: Tolerance, *, kernel: Kernel, check: Literal["value", "gradient"],
            against: str, argument: str, inputs: Sequence[np.ndarray]) -> list[GradFailure]:
    """A one-item list naming the worst entry where ``actual`` and ``reference`` differ beyond ``tol``, or []."""
    dtype = np.dtype(np.asarray(inputs[0]).dtype).name
    if np.shape(actual) != np.shape(reference):
        return [GradFailure(kernel.name, check, against, argument, dtype, np.inf, 0.0,
                            f"shapes {np.shape(actual)} vs {np.shape(reference)}")]
    a, r = np.asarray(actual, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    err = np.where(np.isnan(a) & np.isnan(r), 0.0, np.abs(a - r))
    err = np.where(np.isnan(err), np.inf, err)
    scale = error_scale(kernel, {x.name: v for x, v in zip(kernel.args, inputs, strict=True)},
                        len(signature(kernel).output))
    allowed = np.broadcast_to(tol.allowed(r, scale), err.shape)
    excess = err - allowed
    if not np.any(excess > 0):
        return []
    idx = np.unravel_index(int(np.argmax(excess)), excess.shape)
    return [GradFailure(kernel.name, check, against, argument, dtype, float(err[idx]), float(allowed[idx]),
                        f"output index {tuple(map(int, idx))}, inputs {_inputs_at(kernel, inputs, idx)}")]


def _inputs_at(kernel: Kernel, inputs: Sequence[np.ndarray], idx: tuple[int, ...]) -> str:
    """The input values behind output entry ``idx``: the entries (elementwise) or the batch item (otherwise)."""
    parts = []
    cores = signature(kernel).inputs
    for x, core in zip(map(np.asarray, inputs), cores, strict=True):
        if kernel.shape == "elementwise":
            picked = x[tuple(i if s > 1 else 0 for i, s in zip(idx[len(idx) - x.ndim:], x.shape, strict=True))]
        else:
            picked = x[idx[: x.ndim - len(core)]]
        parts.append(np.array2string(np.asarray(picked), precision=17, separator=", "))
    return "(" + ", ".join(parts) + ")"


@functools.cache
def _autodiff(forward_name: str, w: int, mode: Mode, elementwise: bool) -> Callable[..., jax.Array]:
    """A jitted function of the forward kernel's arguments giving its derivative w.r.t. argument ``w``.

    Elementwise: the derivative entry by entry (a vjp with ones, or a jvp along ones). Otherwise: for
    each batch item (the leading axes, flattened), the gradient (scalar output) or the Jacobian
    (vector output), by jacrev or jacfwd, laid out as output axes then the argument's axes.
    """
    f = getattr(load_backend("jax"), forward_name)
    if elementwise:
        def entrywise(*args: jax.Array) -> jax.Array:
            if mode == "rev":
                out, pullback = jax.vjp(f, *args)
                return pullback(jnp.ones_like(out))[w]
            tangents = [jnp.ones_like(a) if i == w else jnp.zeros_like(a) for i, a in enumerate(args)]
            return jax.jvp(f, args, tuple(tangents))[1]
        return jax.jit(entrywise)
    per_item = (jax.jacrev if mode == "rev" else jax.jacfwd)(f, argnums=w)
    ranks = [len(core) for core in signature(kernel_record(forward_name)).inputs]

    def items(*args: jax.Array) -> jax.Array:
        cores = [a.shape[a.ndim - r:] for a, r in zip(args, ranks, strict=True)]
        batch = jnp.broadcast_shapes(*[a.shape[: a.ndim - r] for a, r in zip(args, ranks, strict=True)])
        flat = [jnp.broadcast_to(a, batch + c).reshape((-1, *c)) for a, c in zip(args, cores, strict=True)]
        out = jax.vmap(per_item)(*flat)
        return out.reshape(batch + out.shape[1:])
    return jax.jit(items)


def autodiff_derivative(kernel: Kernel, inputs: Sequence[np.ndarray], mode: Mode = "rev") -> np.ndarray:
    """What JAX autodiff of the generated JAX forward kernel gives for the derivative kernel's output."""
    forward = kernel_record(kernel.grad_of)
    w = [a.name for a in forward.args].index(kernel.grad_wrt)
    fn = _autodiff(forward.name, w, mode, forward.shape == "elementwise")
    return np.asarray(fn(*[jnp.asarray(x) for x in inputs]))


def finite_difference_derivative(kernel: Kernel, inputs: Sequence[np.ndarray], step: float = FD_STEP) -> np.ndarray:
    """Central differences of the generated NumPy forward kernel, in float64, laid out like the derivative kernel."""
    forward = kernel_record(kernel.grad_of)
    f = function(forward.name, "numpy")
    w = [a.name for a in forward.args].index(kernel.grad_wrt)
    args = [np.asarray(x, dtype=np.float64) for x in inputs]
    x = args[w]

    def quotient(delta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        plus, minus = list(args), list(args)
        plus[w], minus[w] = x + delta, x - delta
        dx = (x + delta) - (x - delta)
        return np.asarray(f(*plus)) - np.asarray(f(*minus)), dx

    h = step * (1 + np.abs(x))
    if forward.shape == "elementwise":
        df, dx = quotient(h)
        return df / dx
    sig = signature(forward)
    core = x.shape[x.ndim - len(sig.inputs[w]):]
    out_rank = len(sig.output)
    columns = []
    for idx in np.ndindex(*core):
        at = (..., *idx)
        delta = np.zeros_like(x)
        delta[at] = h[at]
        df, dx = quotient(delta)
        columns.append(df / dx[at].reshape(dx[at].shape + (1,) * out_rank))
    stacked = np.stack(columns, axis=-1)
    return stacked.reshape(stacked.shape[:-1] + core)


def check_values(kernel: Kernel, inputs: Sequence[np.ndarray]) -> list[GradFailure]:
    """The NumPy and JAX kernels agree on ``inputs`` and keep their dtype."""
    dtype = np.dtype(inputs[0].dtype)
    with precision(dtype):
        got_np = function(kernel.name, "numpy")(*inputs)
        got_jax = np.asarray(function(kernel.name, "jax")(*[jnp.asarray(x) for x in inputs]))
    failures = compare(got_np, got_jax, tolerance(dtype, "value"), kernel=kernel, check="value",
                       against="the JAX kernel", argument="all inputs", inputs=inputs)
    for backend, got in (("numpy", got_np), ("jax", got_jax)):
        if np.asarray(got).dtype != dtype:
            failures.append(GradFailure(kernel.name, "value", f"dtype of the {backend} kernel", "all inputs",
                                        dtype.name, np.inf, 0.0, f"returned {np.asarray(got).dtype}"))
    return failures


def check_derivative(kernel: Kernel, inputs: Sequence[np.ndarray], *, modes: Sequence[Mode] = ("rev", "fwd"),
                     finite_differences: bool = True) -> list[GradFailure]:
    """Compare the derivative kernel (in the inputs' dtype) with float64 JAX autodiff and central differences."""
    if not kernel.grad_of:
        raise ValueError(f"kernel {kernel.name!r} is not a derivative kernel (grad_of is empty)")
    dtype = np.dtype(inputs[0].dtype)
    label = dict(kernel=kernel, argument=kernel.grad_wrt, inputs=inputs)
    symbolic = np.asarray(function(kernel.name, "numpy")(*inputs))
    exact_inputs = [np.asarray(x, dtype=np.float64) for x in inputs]
    failures = []
    with precision(np.float64):
        for mode in modes:
            ad = autodiff_derivative(kernel, exact_inputs, mode)
            failures += compare(symbolic, ad, tolerance(dtype, "gradient"), check="gradient",
                                against=f"JAX autodiff of {kernel.grad_of} ({mode}, float64)", **label)
    if finite_differences:
        fd = finite_difference_derivative(kernel, exact_inputs)
        failures += compare(symbolic, fd, tolerance(dtype, "finite_difference"), check="gradient",
                            against=f"central differences of {kernel.grad_of} (float64)", **label)
    return failures


def check_forward_autodiff(kernel: Kernel, inputs: Sequence[np.ndarray]) -> list[GradFailure]:
    """``jax.test_util.check_grads`` on the generated JAX forward kernel (both modes, float64)."""
    forward = kernel_record(kernel.grad_of)
    f = function(forward.name, "jax")
    w = [a.name for a in forward.args].index(kernel.grad_wrt)
    tol = tolerance(np.float64, "finite_difference")
    with precision(np.float64):
        args = [jnp.asarray(x, dtype=jnp.float64) for x in inputs]

        def partial(x: jax.Array) -> jax.Array:
            return f(*args[:w], x, *args[w + 1:])

        try:
            check_grads(partial, (args[w],), order=1, modes=("fwd", "rev"), atol=tol.atol, rtol=tol.rtol,
                        eps=FD_STEP)
        except AssertionError as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else "assertion failed"
            return [GradFailure(forward.name, "gradient", "jax.test_util.check_grads", kernel.grad_wrt, "float64",
                                np.inf, tol.atol, first)]
    return []


def check_all(kernel: Kernel, inputs: Sequence[np.ndarray]) -> list[GradFailure]:
    """Values of both backends, then (for a derivative kernel) the three-way derivative check."""
    failures = check_values(kernel, inputs)
    if kernel.grad_of:
        failures += check_values(kernel_record(kernel.grad_of), inputs)
        failures += check_derivative(kernel, inputs)
    return failures


def report(failures: Sequence[GradFailure]) -> str:
    """One line per failure, for an assertion message."""
    return "\n".join(map(str, failures))


__all__ = ["GradFailure", "autodiff_derivative", "check_all", "check_derivative", "check_forward_autodiff",
           "check_values", "compare", "finite_difference_derivative", "function", "kernel_record", "precision",
           "report"]
