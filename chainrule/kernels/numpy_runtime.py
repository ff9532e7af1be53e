"""The run-time support of the generated NumPy kernels (chainrule/kernels/numpy_kernels.py).

Hand-written and imported by the generated module, not pasted into it: the blocked loop's sizes,
dtype promotion, the layouts under which the loop runs, and the thread pool that shares its
blocks. Imports only NumPy and the standard library, like the kernels. The generated module binds
these names with a leading underscore (``BLOCK as _BLOCK``), so its kernels read as before.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import os
import threading

import numpy

__all__ = ["BLOCK", "SMALL", "THREADS", "block", "elementwise_layout", "float_dtype", "parallel", "row_layout",
           "threads"]
#: Entries per block of the blocked loop (1 MB of float32): a few block-sized scratch buffers stay in the
#: cache, and the loop's Python overhead is small (docs/BENCHMARKS.md: 2^16 to 2^20 were timed).
BLOCK = 1 << 18
#: Inputs with fewer entries run the plain expression: there the loop's overhead is not repaid.
SMALL = 1 << 14


def float_dtype(*args):
    """The floating dtype the arguments promote to (Python scalars are weak; integers become float)."""
    arrays = (a if isinstance(a, (int, float, numpy.generic, numpy.ndarray)) else numpy.asarray(a) for a in args)
    return numpy.result_type(*arrays, 1.0)


def elementwise_layout(arrays, scalars):
    """The arrays' common shape when the loop can run: one C-contiguous shape, >= SMALL entries, 0-d scalars."""
    shape = arrays[0].shape
    if any(a.shape != shape or not a.flags.c_contiguous for a in arrays) or any(s.ndim for s in scalars):
        return None
    return shape if arrays[0].size >= SMALL else None


def threads():
    """Worker threads for the blocked loop: CHAINRULE_NUMPY_THREADS, else one per core (at most 8)."""
    text = os.environ.get("CHAINRULE_NUMPY_THREADS", "")
    if not text:
        return min(os.cpu_count() or 1, 8)
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"CHAINRULE_NUMPY_THREADS={text!r}: give a whole number of threads >= 1 (1: no threads)")
    return int(text)


THREADS = threads()
_POOL = []
_POOL_LOCK = threading.Lock()


def parallel(part, total, step):
    """Run part(lo, hi) over [0, total) in up to THREADS pieces of whole blocks; ufuncs release the GIL.

    Each entry (each row) is computed by the same operations whatever the pieces, so the result does not
    depend on the number of threads. Each worker runs in a copy of the caller's context, so the caller's
    numpy.errstate applies there too.
    """
    blocks = -(-total // step)
    pieces = min(THREADS, blocks)
    if pieces <= 1:
        part(0, total)
        return
    with _POOL_LOCK:
        if not _POOL or _POOL[0]._max_workers < pieces - 1:
            for old in _POOL:
                old.shutdown(wait=False)
            _POOL[:] = [concurrent.futures.ThreadPoolExecutor(max_workers=pieces - 1, thread_name_prefix="chainrule")]
        pool = _POOL[0]
    size = -(-blocks // pieces) * step
    futures = [pool.submit(contextvars.copy_context().run, part, lo, min(lo + size, total))
               for lo in range(size, total, size)]
    part(0, min(size, total))
    for future in futures:
        future.result()


def row_layout(first, args, cores):
    """(leading shape, 2-D views, which are read by rows) when the row loop can run, else None.

    ``cores`` holds each argument's trailing length: "n" (that of ``first``), 1, or 0 for none. An argument
    is read by rows when it has the leading shape of ``first``; one with no leading axes is used whole.
    """
    if first.ndim == 0 or first.size < SMALL:
        return None
    lead, n = first.shape[:-1], first.shape[-1]
    rows = first.size // n  # n > 0: first has at least SMALL entries
    views, by_rows = [], []
    for a, core in zip(args, cores, strict=True):
        trailing = (n,) if core == "n" else (1,) if core == 1 else ()
        if a.shape == lead + trailing and a.flags.c_contiguous:
            views.append(a.reshape(rows, trailing[0] if trailing else 1))
            by_rows.append(True)
        elif a.ndim <= len(trailing) and all(d in (1, t) for d, t in zip(a.shape, trailing, strict=False)):
            views.append(a)
            by_rows.append(False)
        else:
            return None
    return lead, views, by_rows


def block(views, by_rows, i, j):
    """Each view's rows i:j, or the whole view where it is not read by rows."""
    return tuple(v[i:j] if rows else v for v, rows in zip(views, by_rows, strict=True))
