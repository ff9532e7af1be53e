"""Generated kernels against references, timed in one process: the table behind `chainrule bench --suite kernels`.

Each kernel's record declares its row in ``Kernel.bench``: how to draw its inputs, and the NumPy a
person would write for it by hand, in the style of the notes' 1.10 listing (``1/(1+np.exp(-z))``);
``references`` turns those into ``Reference`` rows.
Each generated NumPy kernel is timed against that hand-written version on sizes users meet (``FULL``:
1e7 float32 elements for elementwise kernels, 4096x1024 float32 rows for row-wise kernels, 4096x64
rows for a Jacobian, whose output is n times larger). Each generated JAX derivative kernel, jitted,
is timed against jitted autodiff of the generated JAX forward kernel: ``jax.grad`` of the summed
forward kernel with respect to the kernel's ``grad_wrt`` argument, or ``jax.jacrev`` mapped over the
rows for a Jacobian. The JAX reference needs no row: it comes from the registry's ``grad_of``.

Before timing, both sides are run once (the warm-up) and judged against the hand-written reference
evaluated in float64 with ``TOLERANCES["float32"]["gradient"]`` (the float32-vs-float64 derivative
budget), and their output dtype must be float32. The generated kernel must agree normwise (every entry
within the tolerance of the largest one: a float32 sum of 1024 terms that cancels is accurate only in
that sense); a reference that computes something else, or silently computes in float64, leaves the row
untimed with the reason in its note instead of a flattering ratio. Entries off componentwise are noted,
and a reference side that is itself inaccurate in float32 (JAX autodiff of ``gelu_tanh`` cancels in
``1 - tanh^2``) is still timed, with a note saying by how much it is off.

Calls come in rounds, one call of each side, in an order that rotates from round to round. Each side's
median over ``repeats`` is reported; the ratio is the median of the per-round ratios, with a
distribution-free interval for it (``median_interval``) and a verdict against the goal ("within noise"
where the interval straddles it). A NumPy round also times ``memory_floor``: reading the inputs once
and writing a fresh result, computing nothing, on the generated kernels' threads; its ratio to the
reference is the lowest any kernel that returns a new array can reach on this machine. JAX calls
end with ``block_until_ready`` and the warm-up call compiles, so compilation is never timed. Every
registry kernel gets a NumPy row: one without a reference is listed as "no reference" with a null
ratio, never skipped.
"""

from __future__ import annotations

import ast
import math
import statistics
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from verify.tolerances import TOLERANCES

if TYPE_CHECKING:  # the registry (and SymPy) is imported only when the rows are built
    from derive.core import Kernel, SampleKind

Arg = Callable[[np.random.Generator, tuple[int, ...]], Any]
Layout = Literal["elementwise", "vector", "jacobian"]
NUMPY_GOAL = 0.5
JAX_GOAL = 1.0
SEED = 0
AGREEMENT = TOLERANCES["float32"]["gradient"]


@dataclass(frozen=True)
class Sizes:
    """Input sizes per layout: elements of an elementwise kernel, (rows, columns) of row-wise and Jacobian kernels."""

    elements: int
    rows: tuple[int, int]
    jacobian_rows: tuple[int, int]

    def shape(self, layout: Layout) -> tuple[int, ...]:
        """The input shape of a kernel with this layout."""
        return {"elementwise": (self.elements,), "vector": self.rows, "jacobian": self.jacobian_rows}[layout]


FULL = Sizes(elements=10_000_000, rows=(4096, 1024), jacobian_rows=(4096, 64))
QUICK = Sizes(elements=1_000, rows=(8, 32), jacobian_rows=(4, 8))


# ---- input builders: each makes one argument at the row's shape, in float32 ----

def uniform(lo: float, hi: float) -> Arg:
    """Float32 values uniform in [lo, hi) at the input shape."""
    return lambda rng, shape: rng.uniform(lo, hi, shape).astype(np.float32)


def labels() -> Arg:
    """Float32 binary labels (0 or 1, each with probability 1/2) at the input shape."""
    return lambda rng, shape: rng.integers(0, 2, shape).astype(np.float32)


def one_hot() -> Arg:
    """Float32 one-hot rows along the last axis (a random class per row)."""
    def make(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        return np.eye(shape[-1], dtype=np.float32)[rng.integers(0, shape[-1], shape[:-1])]
    return make


def counts(lo: int, hi: int) -> Arg:
    """Float32 whole numbers in [lo, hi] (layer widths) at the input shape."""
    return lambda rng, shape: rng.integers(lo, hi + 1, shape).astype(np.float32)


def keep_mask(keep: float) -> Arg:
    """A float32 dropout mask: 1 with probability ``keep``, else 0."""
    return lambda rng, shape: (rng.random(shape) < keep).astype(np.float32)


def per_row(lo: float, hi: float) -> Arg:
    """Float32 values uniform in [lo, hi), one per row: shape (..., 1), as batch norm's gamma and beta."""
    return lambda rng, shape: rng.uniform(lo, hi, (*shape[:-1], 1)).astype(np.float32)


def weights(lo: float, hi: float) -> Arg:
    """Float32 square weights (n x n, n the rows' length): a dense layer from n inputs to n outputs."""
    return lambda rng, shape: rng.uniform(lo, hi, (shape[-1], shape[-1])).astype(np.float32)


def bias(lo: float, hi: float) -> Arg:
    """A float32 bias, one entry per output of ``weights``."""
    return lambda rng, shape: rng.uniform(lo, hi, shape[-1:]).astype(np.float32)


def scalar(value: float) -> Arg:
    """A Python float (weakly typed: it keeps the arrays' float32)."""
    return lambda rng, shape: value


#: How each kind of ``derive.core.Sample`` draws an argument: the kind's builder, called with its bounds.
SAMPLERS: Mapping[SampleKind, Callable[..., Arg]] = {
    "uniform": uniform, "labels": labels, "one_hot": one_hot, "counts": counts, "keep_mask": keep_mask,
    "per_row": per_row, "weights": weights, "bias": bias, "scalar": scalar,
}


# ---- hand-written NumPy building blocks: the names a record's ``Bench.numpy`` may use besides np and math ----

def softmax(z: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, shifted by the row's maximum."""
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def log_softmax(z: np.ndarray) -> np.ndarray:
    """Log-softmax over the last axis, shifted by the row's maximum."""
    m = z.max(-1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(-1, keepdims=True))


def erf(x: np.ndarray) -> np.ndarray:
    """The error function: NumPy has none; SciPy's is what a hand-written version reaches for."""
    from scipy.special import erf as scipy_erf

    return scipy_erf(x)


def normalized(x: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """x_hat over the last axis and 1/sqrt(var + eps), as the notes' batch and layer norm define them."""
    mu = x.mean(-1, keepdims=True)
    inv_std = 1 / np.sqrt(x.var(-1, keepdims=True) + eps)
    return (x - mu) * inv_std, inv_std


def norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    """Batch or layer norm over the last axis: gamma x_hat + beta."""
    return gamma * normalized(x, eps)[0] + beta


def norm_backward(x: np.ndarray, g: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    """dL/dx of ``norm`` for the upstream gradient g, in the compact form frameworks use."""
    x_hat, inv_std = normalized(x, eps)
    d_hat = g * gamma
    n = x.shape[-1]
    return inv_std / n * (n * d_hat - d_hat.sum(-1, keepdims=True) - x_hat * (d_hat * x_hat).sum(-1, keepdims=True))


NUMPY_NAMES: Mapping[str, object] = {"np": np, "math": math, "softmax": softmax, "log_softmax": log_softmax,
                                     "erf": erf, "normalized": normalized, "norm": norm,
                                     "norm_backward": norm_backward}


@dataclass(frozen=True)
class Reference:
    """A kernel's benchmark row: how to build its inputs and the hand-written NumPy that computes the same."""

    kernel: str
    args: tuple[Arg, ...]
    numpy: Callable[..., Any]
    note: str = ""


class BenchRecordError(ValueError):
    """A kernel record's ``bench`` cannot be turned into a benchmark row."""


def hand_written(kernel: str, source: str) -> Callable[..., Any]:
    """The callable that a record's ``Bench.numpy`` source (a lambda expression or one ``def``) defines."""
    where = f"<bench of {kernel}>"
    try:
        tree = ast.parse(source.strip())
    except SyntaxError as e:
        raise BenchRecordError(f"{where}: the numpy source does not parse ({e.msg}, line {e.lineno}); fix the "
                               "Kernel's bench in derive/") from e
    namespace = dict(NUMPY_NAMES)
    if len(tree.body) == 1 and isinstance(tree.body[0], ast.Expr):
        value = eval(compile(ast.Expression(tree.body[0].value), where, "eval"), namespace)  # noqa: S307 (our source)
    elif len(tree.body) == 1 and isinstance(tree.body[0], ast.FunctionDef):
        exec(compile(tree, where, "exec"), namespace)  # noqa: S102 (a record's source, not user input)
        value = namespace[tree.body[0].name]
    else:
        raise BenchRecordError(f"{where}: the numpy source must be one expression (a lambda) or one def; fix the "
                               "Kernel's bench in derive/")
    if not callable(value):
        raise BenchRecordError(f"{where}: {source.strip()!r} is not callable; write a lambda of the kernel's arguments")
    return value


def reference(kernel: Kernel) -> Reference | None:
    """The benchmark row that ``kernel``'s record declares in its ``bench`` field (None without one)."""
    if kernel.bench is None:
        return None
    bench = kernel.bench
    if len(bench.inputs) != len(kernel.args):
        raise BenchRecordError(f"kernel {kernel.name!r}: bench draws {len(bench.inputs)} inputs for "
                               f"{len(kernel.args)} arguments; give one Sample per argument in derive/")
    return Reference(kernel.name, tuple(SAMPLERS[s.kind](*s.bounds) for s in bench.inputs),
                     hand_written(kernel.name, bench.numpy), bench.note)


def references() -> tuple[Reference, ...]:
    """One benchmark row per registry kernel that declares a ``bench``, in registry order."""
    from derive.core import registry

    return tuple(r for k in registry().kernels() if (r := reference(k)) is not None)


@dataclass(frozen=True)
class KernelInfo:
    """What the registry says about a kernel: argument names, layout, and what it differentiates."""

    name: str
    args: tuple[str, ...]
    layout: Layout
    grad_of: str
    grad_wrt: str
    #: The arguments its expression reads (``dropout_grad = mask/(1 - p)`` never reads ``x``).
    reads: tuple[str, ...] = ()


def registry_kernels() -> tuple[KernelInfo, ...]:
    """Every kernel of the formula registry, in registry order."""
    from derive.core import registry

    return tuple(KernelInfo(k.name, tuple(str(a) for a in k.args), k.shape, k.grad_of, k.grad_wrt,
                            tuple(str(a) for a in k.args if _reads(k.expr, a)))
                 for k in registry().kernels())


def _reads(expr: Any, arg: Any) -> bool:
    """Whether a free symbol of ``expr`` has the name of the argument ``arg``."""
    return any(getattr(s, "name", None) == arg.name for s in expr.free_symbols)


# ---- timing and agreement ----

def _timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def interleaved_times(sides: Sequence[Callable[[], object]], repeats: int) -> list[list[float]]:
    """Seconds of each side over ``repeats`` rounds of one call each (each warmed up by the caller); the
    order rotates from round to round, so no side gains from always following another."""
    if repeats < 1:
        raise ValueError(f"repeats={repeats}: time at least one call (pass --repeats 1 or more)")
    times: list[list[float]] = [[] for _ in sides]
    for i in range(repeats):
        for k in range(len(sides)):
            j = (i + k) % len(sides)
            times[j].append(_timed(sides[j]))
    return times


def median_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """(low, high, coverage): the narrowest pair of order statistics x_(k), x_(n+1-k) that covers the median
    of ``values``' distribution with probability >= ``level`` (distribution-free; the widest pair, with its
    smaller coverage, when there are too few values)."""
    xs = sorted(values)
    n = len(xs)
    if n == 0:
        raise ValueError("no values to take the median of")

    def coverage(k: int) -> float:  # 1 - 2 P(B <= k - 1), B ~ Binomial(n, 1/2)
        return 1.0 - 2.0 * sum(math.comb(n, i) for i in range(k)) / 2.0**n

    k = 1
    while k + 1 <= (n + 1) // 2 and coverage(k + 1) >= level:
        k += 1
    return xs[k - 1], xs[n - k], coverage(k)


def memory_floor(args: tuple[Any, ...], shape: tuple[int, ...], dtype: np.dtype) -> Callable[[], np.ndarray]:
    """The least a NumPy kernel returning a new array can do: read each array in ``args`` once and write a
    fresh array of ``shape``, in blocks, on the generated module's threads, computing nothing (the first
    array of the result's size is copied into it; the others are read into a scratch block). Its time is a
    floor for any kernel that reads those arrays and returns that result, on this machine."""
    from chainrule.kernels import numpy_kernels as nk

    arrays = [a.reshape(-1) for a in args if isinstance(a, np.ndarray) and a.size > 1]
    size = math.prod(shape)
    source = next((a for a in arrays if a.size == size), None)
    others = [a for a in arrays if a is not source]
    total = max([size, *(a.size for a in arrays)])
    step = nk._BLOCK

    def run() -> np.ndarray:
        out = np.empty(shape, dtype=dtype)
        flat = out.reshape(-1)

        def part(lo: int, hi: int) -> None:
            scratch = np.empty(min(step, total), dtype=dtype)
            for a in others:
                a_lo, a_hi = lo * a.size // total, hi * a.size // total
                for i in range(a_lo, a_hi, step):
                    j = min(i + step, a_hi)
                    np.copyto(scratch[:j - i], a[i:j], casting="unsafe")
            o_lo, o_hi = lo * size // total, hi * size // total
            for i in range(o_lo, o_hi, step):
                j = min(i + step, o_hi)
                if source is None:
                    flat[i:j] = 0
                else:
                    np.copyto(flat[i:j], source[i:j], casting="unsafe")

        nk._parallel(part, total, step)
        return out

    return run


@dataclass(frozen=True)
class Accuracy:
    """A float32 result against the float64 reference: what disqualifies it, and what is worth a note."""

    fatal: str = ""     # wrong dtype or shape, or off normwise: it stands for something else
    entries: str = ""   # off componentwise only (a long sum with cancellation, a saturating tail)


def accuracy(actual: Any, truth: np.ndarray) -> Accuracy:
    """Compare float32 ``actual`` with the float64 ``truth``: normwise (the error of every entry within
    the tolerance of the largest entry), which a float32 sum of many terms meets even where it cancels,
    and componentwise (``TOLERANCES`` as written), reported but not required."""
    a = np.asarray(actual)
    if a.dtype != np.float32:
        return Accuracy(fatal=f"returns {a.dtype} on float32 inputs")
    if a.shape != truth.shape:
        return Accuracy(fatal=f"has shape {a.shape}, the float64 reference {truth.shape}")
    err = np.abs(a.astype(np.float64) - truth)
    worst = float(err.max(initial=0.0))
    allowed = AGREEMENT.atol + AGREEMENT.rtol * float(np.abs(truth).max(initial=0.0))
    if not worst <= allowed:
        return Accuracy(fatal=f"is off by up to {worst:.2g}, over {allowed:.2g} (tolerance of the largest entry)")
    bad = ~(err <= AGREEMENT.allowed(truth))
    if bad.any():
        return Accuracy(entries=f"off componentwise at {int(bad.sum())} of {a.size} entries "
                                f"(max |error| {float(err[bad].max()):.2g})")
    return Accuracy()


def float64_truth(ref: Reference, args: tuple[Any, ...]) -> np.ndarray:
    """The hand-written reference evaluated on the same inputs in float64."""
    wide = tuple(np.asarray(a, dtype=np.float64) if isinstance(a, np.ndarray) else a for a in args)
    return np.asarray(ref.numpy(*wide), dtype=np.float64)


def judge(generated: Any, reference: Any, truth: np.ndarray, reference_name: str) -> tuple[bool, str]:
    """Whether the row may be timed, and its note. The generated kernel must stand for the float64 truth;
    a reference of the right dtype and shape that is merely inaccurate in float32 is still timed."""
    gen, ref = accuracy(generated, truth), accuracy(reference, truth)
    if gen.fatal:
        return False, f"generated kernel {gen.fatal} against the float64 reference; check the kernel or fix the row"
    if ref.fatal.startswith(("returns", "has shape")):
        return False, f"{reference_name} {ref.fatal}; fix the Kernel's bench in derive/"
    notes = [f"generated kernel {gen.entries}" if gen.entries else "",
             f"{reference_name} {ref.fatal or ref.entries} in float32" if ref.fatal or ref.entries else ""]
    return True, "; ".join(n for n in notes if n)


def _size_label(shape: tuple[int, ...]) -> str:
    """'1e7 float32' for 10_000_000 elements, '4096x1024 float32' for rows."""
    if len(shape) == 1 and shape[0] >= 10_000 and math.log10(shape[0]).is_integer():
        return f"1e{int(math.log10(shape[0]))} float32"
    return "x".join(map(str, shape)) + " float32"


@dataclass(frozen=True)
class Timing:
    """What was measured for a row: each side's seconds per call, and the floor's (NumPy rows)."""

    seconds: list[float]
    reference_seconds: list[float]
    floor_seconds: list[float] | None = None


def _row(name: str, backend: str, size: str, reference: str, goal: float, timing: Timing | None = None,
         note: str = "") -> dict[str, Any]:
    """One result row; the ratio is generated/reference, null (with the reason in ``note``) when untimed.

    ``ratio`` is the median of the per-round ratios generated/reference (robust to the machine's drift
    between rounds; ``seconds`` and ``reference_seconds`` are each side's median); ``interval`` brackets
    it at ``confidence``; ``verdict`` says whether the interval lies within the goal ("met"), beyond it
    ("not met"), or across it ("within noise"). ``floor_ratio`` is the median per-round ratio of the
    memory floor to the reference: no kernel returning a new array gets below it here.
    """
    row: dict[str, Any] = {"name": name, "backend": backend, "size": size, "seconds": None, "reference": reference,
                           "reference_seconds": None, "ratio": None, "goal": f"ratio <= {goal:g}", "met": None,
                           "interval": None, "confidence": None, "verdict": None, "floor_seconds": None,
                           "floor_ratio": None, "note": note}
    if timing is None:
        return row
    ratios = [g / r for g, r in zip(timing.seconds, timing.reference_seconds, strict=True)]
    ratio = statistics.median(ratios)
    lo, hi, confidence = median_interval(ratios)
    row |= {"seconds": statistics.median(timing.seconds),
            "reference_seconds": statistics.median(timing.reference_seconds), "ratio": ratio,
            "met": bool(ratio <= goal), "interval": [lo, hi], "confidence": confidence,
            "verdict": "met" if hi <= goal else "not met" if lo > goal else "within noise"}
    if timing.floor_seconds:
        row |= {"floor_seconds": statistics.median(timing.floor_seconds),
                "floor_ratio": statistics.median(f / r for f, r in zip(timing.floor_seconds,
                                                                       timing.reference_seconds, strict=True))}
    return row


def numpy_row(info: KernelInfo, ref: Reference, kernels: Any, sizes: Sizes, repeats: int) -> dict[str, Any]:
    """Time a generated NumPy kernel against its hand-written reference."""
    shape = sizes.shape(info.layout)
    rng = np.random.default_rng(SEED)
    args = tuple(make(rng, shape) for make in ref.args)
    kernel = getattr(kernels, info.name)
    result = kernel(*args)
    ok, note = judge(result, ref.numpy(*args), float64_truth(ref, args), "hand-written reference")
    if not ok:
        return _row(info.name, "numpy", _size_label(shape), "hand-written NumPy", NUMPY_GOAL, note=note)
    read = tuple(a for name, a in zip(info.args, args, strict=True) if name in info.reads)
    floor = memory_floor(read, result.shape, result.dtype)
    floor()
    timing = Timing(*interleaved_times((lambda: kernel(*args), lambda: ref.numpy(*args), floor), repeats))
    return _row(info.name, "numpy", _size_label(shape), "hand-written NumPy", NUMPY_GOAL, timing,
                "; ".join(n for n in (ref.note, note) if n))


def autodiff(forward: Callable[..., Any], argnum: int, layout: Layout, args: tuple[Any, ...]) -> Callable[..., Any]:
    """Jitted JAX autodiff of ``forward``: grad of its sum (elementwise / row-wise), or row-mapped jacrev."""
    import jax
    import jax.numpy as jnp

    if layout == "jacobian":
        fn = jax.jacrev(forward, argnums=argnum)
        for _ in range(np.ndim(args[argnum]) - 1):
            fn = jax.vmap(fn, in_axes=tuple(0 if np.ndim(a) else None for a in args))
        return jax.jit(fn)
    return jax.jit(jax.grad(lambda *a: jnp.sum(forward(*a)), argnums=argnum))


def jax_row(info: KernelInfo, forward: KernelInfo, ref: Reference, kernels: Any, sizes: Sizes,
            repeats: int) -> dict[str, Any]:
    """Time a jitted generated JAX derivative kernel against jitted autodiff of its generated forward kernel."""
    import jax

    shape = sizes.shape(info.layout)
    label = f"jax autodiff of {forward.name}"
    rng = np.random.default_rng(SEED)
    host = tuple(make(rng, shape) for make in ref.args)
    args = tuple(jax.device_put(a) if isinstance(a, np.ndarray) else a for a in host)
    if info.grad_wrt not in forward.args:
        return _row(info.name, "jax", _size_label(shape), label, JAX_GOAL,
                    note=f"grad_wrt {info.grad_wrt!r} is not an argument of {forward.name}")
    generated = jax.jit(getattr(kernels, info.name))
    reference = autodiff(getattr(kernels, forward.name), forward.args.index(info.grad_wrt), info.layout, args)
    # the warm-up calls compile both sides
    ok, note = judge(generated(*args), reference(*args), float64_truth(ref, host), "autodiff")
    if not ok:
        return _row(info.name, "jax", _size_label(shape), label, JAX_GOAL, note=note)
    gen, auto = interleaved_times((lambda: generated(*args).block_until_ready(),
                                   lambda: reference(*args).block_until_ready()), repeats)
    return _row(info.name, "jax", _size_label(shape), label, JAX_GOAL, Timing(gen, auto), note)


BACKENDS: tuple[str, ...] = ("numpy", "jax")


def kernel_rows(repeats: int, sizes: Sizes = FULL, only: Iterable[str] = (), backends: Iterable[str] = BACKENDS,
                progress: Callable[[str], None] = lambda msg: None) -> list[dict[str, Any]]:
    """One NumPy row per registry kernel and one JAX row per derivative kernel, in registry order; a kernel
    that is not generated or has no reference row gets one untimed row saying so."""
    from chainrule.codegen import load_backend

    chosen = tuple(b for b in BACKENDS if b in set(backends))
    if not chosen:
        raise KeyError(f"no backend among {sorted(set(backends))}; choose from {', '.join(BACKENDS)}")
    modules = {b: load_backend(b) for b in chosen}
    infos = registry_kernels()
    by_name: Mapping[str, KernelInfo] = {k.name: k for k in infos}
    refs: Mapping[str, Reference] = {r.kernel: r for r in references()}
    wanted = set(only)
    unknown = sorted(wanted - set(by_name))
    if unknown:
        raise KeyError(f"no kernel named {', '.join(unknown)} in the registry; known: {', '.join(by_name)}")
    rows = []
    for info in infos:
        if wanted and info.name not in wanted:
            continue
        forward = by_name.get(info.grad_of)
        here = [b for b in chosen if b == "numpy" or forward is not None]
        if not here:
            continue
        size, ref = _size_label(sizes.shape(info.layout)), refs.get(info.name)
        missing = [b for b in here if not hasattr(modules[b], info.name)
                   or (b == "jax" and forward is not None and not hasattr(modules[b], forward.name))]
        if missing or ref is None:
            goal = NUMPY_GOAL if here[0] == "numpy" else JAX_GOAL
            note = (f"not generated in the {', '.join(missing)} module: run `chainrule generate`" if missing
                    else "no reference: give its Kernel record in derive/ a bench=Bench(...)")
            rows.append(_row(info.name, here[0], size, "no reference" if ref is None else "", goal, note=note))
            continue
        if "numpy" in here:
            progress(f"numpy {info.name}")
            rows.append(numpy_row(info, ref, modules["numpy"], sizes, repeats))
        if "jax" in here and forward is not None:
            progress(f"jax {info.name}")
            rows.append(jax_row(info, forward, ref, modules["jax"], sizes, repeats))
    return rows
