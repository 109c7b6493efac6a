"""Time budgets for fuzzjax's own slow paths (the referee's mpmath, the NumPy reference).

``budget(seconds)`` interrupts the block with ``OverBudget`` once the time is up: a SIGALRM
timer, so only in the main thread (where Python delivers signals; elsewhere the block runs
unbounded) and only between Python bytecodes (a NumPy call finishes first).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator

__all__ = ["OverBudget", "budget"]


class OverBudget(BaseException):
    """Raised by the budget's alarm inside the block (a BaseException, so that the
    ``except Exception`` of the code it interrupts does not swallow it)."""


@contextlib.contextmanager
def budget(seconds: float) -> Iterator[Callable[[], bool]]:
    """Interrupt the block with ``OverBudget`` after ``seconds``; an ``OverBudget`` that
    leaves the block is swallowed. Yields a function telling whether the time is up (the
    alarm may fire where nothing is interrupted, e.g. between two steps the caller checks)."""
    fired = [False]
    if threading.current_thread() is not threading.main_thread() or not hasattr(
        signal, "setitimer"
    ):
        yield lambda: False
        return

    def alarm(signum: int, frame: object) -> None:
        fired[0] = True
        # Raised inside a finaliser or weakref callback, the exception is printed and dropped
        # ("Exception ignored in ..."): fire again shortly until it reaches the block.
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        raise OverBudget

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield lambda: fired[0]
    except OverBudget:
        pass
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
