"""The numeric checks the report shows, run beside the symbolic work in a second process.

Two stages of ``verify/`` are numeric and need no derivation: the worked examples
(``verify.examples.check_examples``) and the checks of the generated kernels at fixed points
(``verify.gradcheck``: NumPy and JAX agree on every kernel's values; every derivative kernel agrees
with JAX autodiff of its forward kernel, reverse and forward mode, and with central differences).
``Pending`` runs them (and any other task without arguments) in worker processes while the caller
derives and proves; the results are plain data. The points are fixed (a grid over the domain, a
seeded generator), so the report reads the same on every run. A stage that is not installed gives
None; a kernel that cannot be checked gives a ``KernelCheck`` saying why, never a failed report.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from importlib import import_module
from types import ModuleType
from typing import Any, Literal

import numpy as np

from derive.core import Kernel, registry

# Values in float64 (one JAX compilation per kernel; the property tests of tests/ cover float32);
# derivatives in both (the float64 references are compiled once and reused for float32).
VALUE_DTYPES: tuple[str, ...] = ("float64",)
DERIVATIVE_DTYPES: tuple[str, ...] = ("float64", "float32")
POINTS = 64  # elementwise kernels: points of a grid over the domain
ROWS, WIDTH = 8, 4  # vector and jacobian kernels: rows of WIDTH entries
KINK_MARGIN = 1e-3  # points this close to a kink of the kernel (ReLU at 0) move away from it
SEED = 0
IDLE_CORES = 1.5  # automatic mode: start worker processes only when this many cores are idle


@dataclass(frozen=True)
class KernelCheck:
    """One check of a generated kernel at fixed points, in one dtype, and what failed (empty: passed)."""

    kernel: str
    check: Literal["values", "derivative"]
    dtype: str
    points: int
    failures: tuple[str, ...] = ()
    error: str = ""

    @property
    def passed(self) -> bool:
        """True when the check ran and nothing failed."""
        return not self.error and not self.failures


@dataclass(frozen=True)
class Numeric:
    """The numeric stages' results: worked-example checks and kernel checks (None: stage absent)."""

    examples: list[Any] | None
    kernels: list[KernelCheck] | None


def optional(module: str) -> ModuleType | None:
    """Import ``module``, or None when that module itself does not exist yet."""
    try:
        return import_module(module)
    except ModuleNotFoundError as e:
        if e.name in {module, module.rpartition(".")[0]}:
            return None
        raise


def example_checks() -> list[Any] | None:
    """``verify.examples.check_examples()``, or None while that stage is absent."""
    examples = optional("verify.examples")
    return None if examples is None else list(examples.check_examples())


def _kinks(kernel: Kernel) -> dict[str, tuple[float, ...]]:
    """Where the kernel is not smooth, by argument (``verify.strategies.kinks``; none if absent)."""
    strategies = optional("verify.strategies")
    return dict(strategies.kinks(kernel.name)) if strategies is not None and hasattr(strategies, "kinks") else {}


def _simplex(kernel: Kernel) -> tuple[str, ...]:
    """Arguments that lie on the probability simplex (``chainrule.codegen.simplex_args``)."""
    codegen = optional("chainrule.codegen")
    return tuple(codegen.simplex_args(kernel)) if codegen is not None and hasattr(codegen, "simplex_args") else ()


def arg_shapes(kernel: Kernel) -> list[tuple[int, ...]]:
    """The shape of each argument: ``(POINTS,)`` elementwise; else ``ROWS`` rows of the argument's trailing
    shape (``chainrule.codegen.signature``, every named size ``WIDTH``), or ``(ROWS, WIDTH)`` without it."""
    if kernel.shape == "elementwise":
        return [(POINTS,)] * len(kernel.args)
    codegen = optional("chainrule.codegen")
    signature = getattr(codegen, "signature", None) if codegen is not None else None
    if signature is None:
        return [(ROWS, WIDTH)] * len(kernel.args)
    sig = signature(kernel)
    sizes = dict.fromkeys(sig.sizes(), WIDTH)
    return [(ROWS, *sig.shape(core, sizes)) for core in sig.inputs]


def fixed_inputs(kernel: Kernel, dtype: str) -> tuple[np.ndarray, ...]:
    """The kernel's arguments at fixed points of its domain: a grid for the first, seeded draws for the rest."""
    rng = np.random.default_rng(SEED)
    kinks, simplex = _kinks(kernel), set(_simplex(kernel))
    out = []
    for k, (arg, shape) in enumerate(zip(kernel.args, arg_shapes(kernel), strict=True)):
        if arg.name in simplex:
            x = rng.dirichlet(np.ones(shape[-1]), size=shape[:-1])
        else:
            if arg.name not in kernel.domain:
                raise KeyError(f"kernel {kernel.name!r} has no domain for {arg.name!r}; add it to the Kernel record")
            lo, hi = kernel.domain[arg.name]
            x = (np.linspace(lo, hi, POINTS + 2)[1:-1] if k == 0 and kernel.shape == "elementwise"
                 else rng.uniform(lo, hi, shape))
            for edge in kinks.get(arg.name, ()):
                near = np.abs(x - edge) < KINK_MARGIN
                x = np.where(near, edge + np.where(x >= edge, 2, -2) * KINK_MARGIN, x)
        out.append(np.asarray(x, dtype=dtype))
    return tuple(out)


def _run(kernel: Kernel, check: Literal["values", "derivative"], dtype: str,
         fn: Callable[[Kernel, Sequence[np.ndarray]], list[Any]]) -> KernelCheck:
    """One check; an exception becomes the check's ``error`` (the report says it could not run)."""
    try:
        inputs = fixed_inputs(kernel, dtype)
        failures = fn(kernel, inputs)
    except Exception as e:  # noqa: BLE001 - a kernel that cannot be checked is reported, not fatal
        return KernelCheck(kernel.name, check, dtype, 0, (), f"{type(e).__name__}: {e}")
    points = int(inputs[0].shape[0])
    return KernelCheck(kernel.name, check, dtype, points, tuple(str(f) for f in failures))


def kernel_checks(kernels: Sequence[Kernel] | None = None) -> list[KernelCheck] | None:
    """Values (NumPy vs JAX) of every kernel and the three-way check of every derivative kernel, by dtype."""
    gradcheck = optional("verify.gradcheck")
    if gradcheck is None:
        return None
    out = []
    for kernel in registry().kernels() if kernels is None else kernels:
        out += [_run(kernel, "values", dtype, gradcheck.check_values) for dtype in VALUE_DTYPES]
        if kernel.grad_of:
            out += [_run(kernel, "derivative", dtype, gradcheck.check_derivative) for dtype in DERIVATIVE_DTYPES]
    return out


def numeric_checks() -> Numeric:
    """Both numeric stages, in this process."""
    return Numeric(example_checks(), kernel_checks())


def idle_cores() -> float:
    """Cores this process may use minus the one-minute load average (how much a worker process would get)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = 0.0
    return cores - load


def use_workers(parallel: bool | None) -> bool:
    """``parallel``, or when None: whether at least ``IDLE_CORES`` cores are idle (workers cost imports and
    repeated derivations, so on a busy machine one process finishes sooner)."""
    return idle_cores() >= IDLE_CORES if parallel is None else parallel


class Pending:
    """Tasks under way in worker processes (or deferred to this one): ``result(name)`` waits for one.

    Each task is a module-level function without arguments (a worker imports it by name) that returns
    plain data. Workers are spawned, so JAX and SymPy start clean in each; where no worker can be
    started, or one dies, the task runs in this process instead.
    """

    def __init__(self, tasks: Mapping[str, Callable[[], Any]], parallel: bool = True) -> None:
        self._tasks = dict(tasks)
        self._pool: ProcessPoolExecutor | None = None
        self._futures: dict[str, Future[Any]] = {}
        if parallel and self._tasks:
            try:
                self._pool = ProcessPoolExecutor(max_workers=len(self._tasks),
                                                 mp_context=multiprocessing.get_context("spawn"))
                self._futures = {name: self._pool.submit(fn) for name, fn in self._tasks.items()}
            except (OSError, RuntimeError, ValueError):
                self.close(wait=False)  # no worker can be started here: run in this process when asked
                self._futures = {}

    def result(self, name: str) -> Any:
        """The result of task ``name``; computed here when no worker ran it or its worker died."""
        future = self._futures.pop(name, None)
        if future is None:
            return self._tasks[name]()
        try:
            return future.result()
        except BrokenProcessPool:
            return self._tasks[name]()
        finally:
            if not self._futures:
                self.close()

    def close(self, wait: bool = True) -> None:
        """Release the workers (a no-op once they have finished); ``wait=False`` does not wait for them."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=True)
