"""Hypothesis strategies for property-testing array kernels: a public, typed API.

Like ``hypothesis.extra.numpy``, every strategy takes keyword-only arguments and validates them
up front, raising ``hypothesis.errors.InvalidArgument`` with the bad value quoted. ``kernel_inputs``
draws the arguments of any ``derive.core.Kernel`` from its declared ``domain``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache

import hypothesis.extra.numpy as hnp
import numpy as np
import sympy as sp
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from chainrule.codegen import signature, simplex_args
from derive.core import Kernel, registry

MAX_VECTOR_SIZE = 6

Shape = tuple[int, ...]


def _dtype(dtype: object) -> np.dtype:
    """``dtype`` as a NumPy float32 or float64 dtype, or InvalidArgument."""
    try:
        d = np.dtype(dtype)
    except TypeError as e:
        raise InvalidArgument(f"dtype={dtype!r} is not a NumPy dtype") from e
    if d not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise InvalidArgument(f"dtype={dtype!r} must be float32 or float64")
    return d


def _domain(domain: object) -> tuple[float, float]:
    """``domain`` as a pair (lo, hi) of finite floats with lo < hi, or InvalidArgument."""
    try:
        lo, hi = (float(v) for v in domain)  # type: ignore[union-attr]
    except (TypeError, ValueError) as e:
        raise InvalidArgument(f"domain={domain!r} must be a pair (lo, hi) of numbers") from e
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise InvalidArgument(f"domain={domain!r} must be finite with lo < hi")
    return lo, hi


def _shape(shape: object, name: str) -> Shape:
    """``shape`` (an int or a tuple of non-negative ints) as a tuple, or InvalidArgument."""
    if isinstance(shape, int | np.integer) and not isinstance(shape, bool):
        shape = (int(shape),)
    if not isinstance(shape, tuple) or not all(isinstance(s, int | np.integer) and s >= 0 for s in shape):
        raise InvalidArgument(f"{name}={shape!r} must be an int or a tuple of non-negative ints")
    return tuple(int(s) for s in shape)


def _shape_strategy(shape: object, name: str) -> st.SearchStrategy[Shape]:
    """A fixed shape as ``st.just``, or a given strategy of shapes."""
    if isinstance(shape, st.SearchStrategy):
        return shape
    return st.just(_shape(shape, name))


def _size_strategy(size: object) -> st.SearchStrategy[int]:
    """A vector length: a fixed int >= 1, a strategy, or None for 1..MAX_VECTOR_SIZE."""
    if size is None:
        return st.integers(1, MAX_VECTOR_SIZE)
    if isinstance(size, st.SearchStrategy):
        return size
    if not isinstance(size, int | np.integer) or isinstance(size, bool) or size < 1:
        raise InvalidArgument(f"size={size!r} must be an int >= 1, a strategy, or None")
    return st.just(int(size))


def _inward(lo: float, hi: float, dtype: np.dtype) -> tuple[float, float]:
    """The bounds rounded inward to values exactly representable in ``dtype``."""
    flo, fhi = dtype.type(lo), dtype.type(hi)
    if float(flo) < lo:
        flo = np.nextafter(flo, dtype.type(np.inf))
    if float(fhi) > hi:
        fhi = np.nextafter(fhi, dtype.type(-np.inf))
    return float(flo), float(fhi)


def _away_from(x: np.ndarray, points: Sequence[float], margin: float) -> np.ndarray:
    """Move every entry closer than ``margin`` to one of ``points`` out to distance ``margin``."""
    for p in points:
        near = np.abs(x - p) < margin
        x = np.where(near, p + np.copysign(margin, np.where(x == p, 1.0, x - p)), x).astype(x.dtype)
    return x


def arrays_in(domain: tuple[float, float], *, dtype: object = "float64",
              shape: int | Shape | st.SearchStrategy[Shape] = (), avoid: Sequence[float] = (),
              margin: float = 0.0, allow_subnormal: bool = False) -> st.SearchStrategy[np.ndarray]:
    """Arrays of ``dtype`` and ``shape`` with finite entries in ``domain``, at least ``margin`` from ``avoid``.

    Subnormal numbers are left out unless ``allow_subnormal``: XLA on CPU flushes them to zero, so
    NumPy and JAX kernels legitimately differ there (see the ``quirks`` of the ReLU derivative's Kernel record).
    """
    d = _dtype(dtype)
    lo, hi = _inward(*_domain(domain), d)
    if not (isinstance(margin, int | float) and margin >= 0 and np.isfinite(margin)):
        raise InvalidArgument(f"margin={margin!r} must be a finite number >= 0")
    if not isinstance(allow_subnormal, bool):
        raise InvalidArgument(f"allow_subnormal={allow_subnormal!r} must be a bool")
    points = tuple(float(p) for p in avoid)
    elements = st.floats(lo, hi, width=d.itemsize * 8, allow_nan=False, allow_infinity=False,
                         allow_subnormal=allow_subnormal)
    drawn = hnp.arrays(d, _shape_strategy(shape, "shape"), elements=elements)
    if margin and points:
        return drawn.map(lambda x: np.clip(_away_from(x, points, margin), lo, hi).astype(d))
    return drawn


def probability_vectors(*, dtype: object = "float64", batch_shape: Shape | st.SearchStrategy[Shape] = (),
                        size: int | st.SearchStrategy[int] | None = None) -> st.SearchStrategy[np.ndarray]:
    """Arrays of shape ``batch_shape + (size,)`` with entries >= 0 summing to 1 along the last axis."""
    d = _dtype(dtype)
    shapes = _shape_strategy(batch_shape, "batch_shape")
    sizes = _size_strategy(size)

    @st.composite
    def draw(draw_: st.DrawFn) -> np.ndarray:
        full = draw_(shapes) + (draw_(sizes),)
        weights = draw_(hnp.arrays(np.float64, full, elements=st.floats(0.0, 1.0)))
        if draw_(st.booleans()):
            hot = draw_(hnp.arrays(np.int64, full[:-1], elements=st.integers(0, full[-1] - 1)))
            weights = (np.arange(full[-1]) == hot[..., None]).astype(np.float64)
        total = weights.sum(axis=-1, keepdims=True)
        uniform = np.full(full, 1.0 / full[-1])
        return np.where(total > 0, weights / np.where(total > 0, total, 1.0), uniform).astype(d)

    return draw()


@cache
def kinks(name: str) -> Mapping[str, tuple[float, ...]]:
    """For the kernel ``name`` (and its forward kernel), the argument values where it is not smooth."""
    found: dict[str, set[float]] = {}
    by_name = {k.name: k for k in registry().kernels()}
    kernel = by_name[name]
    for k in (kernel, by_name.get(kernel.grad_of)):
        if k is None:
            continue
        edges = [c.lhs - c.rhs for c in k.expr.atoms(sp.core.relational.Relational)]
        edges += [a - b for m in k.expr.atoms(sp.Max, sp.Min) for a in m.args for b in m.args if a != b]
        edges += [h.args[0] for h in k.expr.atoms(sp.Heaviside, sp.Abs, sp.sign)]
        for arg in k.args:
            for edge in edges:
                if arg in edge.free_symbols and edge.free_symbols <= {arg}:
                    roots = sp.solve(edge, arg)
                    found.setdefault(arg.name, set()).update(float(r) for r in roots if r.is_real)
    return {a: tuple(sorted(v)) for a, v in found.items()}


def _whole_numbers(x: np.ndarray) -> np.ndarray:
    """``x`` rounded to whole numbers (for integer arguments such as a step count), in its dtype."""
    return np.round(x).astype(x.dtype)


def _sizes_strategy(sizes: object, names: Sequence[str]) -> st.SearchStrategy[Mapping[str, int]] | None:
    """Joint sizes: None, a mapping from every size name to an int >= 1, or a strategy of such mappings."""
    if sizes is None or isinstance(sizes, st.SearchStrategy):
        return sizes
    if not isinstance(sizes, Mapping) or set(sizes) != set(names) or not all(
            isinstance(v, int | np.integer) and not isinstance(v, bool) and v >= 1 for v in sizes.values()):
        raise InvalidArgument(f"sizes={sizes!r} must map each of {list(names)} to an int >= 1, or be a strategy")
    return st.just(dict(sizes))


def kernel_inputs(kernel: Kernel, *, dtype: object = "float64", batch_shape: Shape | st.SearchStrategy[Shape] = (),
                  size: int | st.SearchStrategy[int] | None = None,
                  sizes: Mapping[str, int] | st.SearchStrategy[Mapping[str, int]] | None = None,
                  kink_margin: float = 0.0) -> st.SearchStrategy[tuple[np.ndarray, ...]]:
    """The arguments of ``kernel``, in its argument order, drawn from ``kernel.domain``.

    Each argument has shape ``batch_shape`` followed by its trailing shape from the kernel's
    signature (``chainrule.codegen.signature``): nothing for elementwise kernels, ``(n,)`` for a
    vector, ``(1,)`` for one number per row, ``(B, n)`` for a matrix, with one value per named size
    and draw: each drawn from ``size``, or all at once from ``sizes`` (a mapping from every size name of
    the signature to its length, or a strategy of them). Arguments that must lie on the probability simplex
    (``chainrule.codegen.simplex_args``) are drawn by ``probability_vectors``; arguments whose symbol
    is an integer (a step count, a fan-in) are whole numbers. With ``kink_margin``, values closer than
    that to a kink of the kernel (e.g. ReLU at 0) are moved away from it.
    """
    if not isinstance(kernel, Kernel):
        raise InvalidArgument(f"kernel={kernel!r} must be a derive.core.Kernel")
    d = _dtype(dtype)
    missing = [a.name for a in kernel.args if a.name not in kernel.domain]
    if missing:
        raise InvalidArgument(f"kernel {kernel.name!r} has no domain for arguments {missing}; add them to its domain")
    shapes = _shape_strategy(batch_shape, "batch_shape")
    lengths = _size_strategy(size)
    simplex = set(simplex_args(kernel))
    edges = kinks(kernel.name) if kink_margin else {}
    sig = signature(kernel)
    joint = _sizes_strategy(sizes, sig.sizes())

    @st.composite
    def draw(draw_: st.DrawFn) -> tuple[np.ndarray, ...]:
        batch = draw_(shapes)
        named = dict(draw_(joint)) if joint is not None else {name: draw_(lengths) for name in sig.sizes()}
        out = []
        for a, core in zip(kernel.args, sig.inputs, strict=True):
            full = batch + sig.shape(core, named)
            if a.name in simplex:
                out.append(draw_(probability_vectors(dtype=d, batch_shape=full[:-1], size=full[-1])))
                continue
            x = draw_(arrays_in(kernel.domain[a.name], dtype=d, shape=full, avoid=edges.get(a.name, ()),
                                margin=kink_margin))
            out.append(_whole_numbers(x) if a.is_integer else x)
        return tuple(out)

    return draw()
