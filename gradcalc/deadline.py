"""Bounding the time SymPy may take: a deadline that interrupts it, and the words for its giving
no answer. Below check.py, limits.py and the printers, which all use it."""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

# What SymPy and mpmath raise when an expression is beyond them (e^3^(10^105) at a random
# point): the check failing, not gradcalc; it falls back or says so, as on a timeout.
SYMPY_FAILURES = (ArithmeticError, MemoryError, ValueError, TypeError, AttributeError)


def why(exc: BaseException) -> str:
    text = str(exc)
    return type(exc).__name__ + (f": {text[:80]}" if text else "")


def gave_up(exc: BaseException, timeout: float) -> str:
    """Why SymPy gave no answer (an exception of GAVE_UP), in the words the check prints."""
    if isinstance(exc, Timeout):
        return f"SymPy did not finish within {timeout:g} s"
    if isinstance(exc, RecursionError):
        return "the graph is too deep for SymPy's recursive algorithms"
    return f"SymPy failed ({why(exc)})"


class Timeout(BaseException):
    """Raised inside SymPy when the deadline passes (BaseException: SymPy must not swallow it)."""


GAVE_UP = (Timeout, RecursionError, *SYMPY_FAILURES)   # SymPy giving no answer: not our error


@contextmanager
def deadline(seconds: float):
    """Interrupt the block after ``seconds`` with Timeout. Uses SIGALRM, so only the main thread
    can set one; elsewhere the block runs unbounded. Nests: an inner deadline never extends an
    outer one, and the outer one is re-armed with what is left of it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if seconds <= 0:   # no time at all (setitimer(0) would switch off an outer deadline)
        raise Timeout

    def _fire(signum, frame):
        # NOTE: raised inside a gc callback or a __del__, Timeout is printed and swallowed
        # (hypothesis registers a gc callback): fire again soon, until the block has ended.
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        raise Timeout

    outer_left = signal.getitimer(signal.ITIMER_REAL)[0]
    started = time.monotonic()
    previous = signal.signal(signal.SIGALRM, _fire)
    try:   # armed inside: a deadline that fires at once still restores the handler
        signal.setitimer(signal.ITIMER_REAL, min(seconds, outer_left) if outer_left else seconds)
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_left:
            signal.setitimer(signal.ITIMER_REAL,
                             max(outer_left - (time.monotonic() - started), 1e-4))


# Graphs bigger than this are not given to SymPy off the main thread, where no deadline can be set.
UNBOUNDED_LIMIT = 200


def with_sympy(compute: Callable[[], Any], timeout: float, nodes: int) -> tuple[Any, str | None]:
    """(compute(), None) run within ``timeout`` seconds with SymPy imported inside the deadline
    (the import takes ~0.3 s); or (None, why SymPy gave no answer). Off the main thread no
    deadline can be set: only a graph of at most UNBOUNDED_LIMIT ``nodes`` is tried there."""
    if timeout <= 0:
        return None, "no time was allowed for SymPy"
    if threading.current_thread() is not threading.main_thread() and nodes > UNBOUNDED_LIMIT:
        return None, "SymPy's deadline needs the main thread"
    imported = "sympy" in sys.modules
    try:
        with deadline(timeout):
            import sympy  # noqa: F401

            return compute(), None
    except GAVE_UP as exc:
        if isinstance(exc, Timeout) and not imported:   # cut short mid-import: let the next
            for name in [m for m in sys.modules         # check import it afresh
                         if m == "sympy" or m.startswith("sympy.")]:
                del sys.modules[name]
        return None, gave_up(exc, timeout)
