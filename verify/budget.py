"""A wall-clock budget for work whose size the notes choose (exact arithmetic, limits, expansion).

SymPy cannot be told to stop, so the budget is a real-time interval timer (``SIGALRM``) that raises
``TooLargeError`` inside the computation. It is only armed in the main thread (signals are delivered
there); elsewhere the work runs unbounded, as before, and callers keep their own size guards.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class TooLargeError(Exception):
    """The work passed its budget: the verdict is "unknown: too large to decide"."""


def _raise(signum: int, frame: object) -> None:
    """The alarm handler: abandon the computation."""
    raise TooLargeError("too large to decide within the budget")


@contextmanager
def within(seconds: float) -> Iterator[None]:
    """Run the body with a budget of ``seconds``; raise ``TooLargeError`` past it (main thread only)."""
    if threading.current_thread() is not threading.main_thread() or seconds <= 0:
        yield
        return
    previous = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
