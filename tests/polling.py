"""Waiting in tests: poll a condition with a deadline, never sleep for a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

#: Seconds between two looks at the condition.
INTERVAL = 0.05


def wait_for(condition: Callable[[], T], *, timeout: float, what: str) -> T:
    """The first truthy value of ``condition()``; ``TimeoutError`` naming ``what`` after
    ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout} s for {what}")
        time.sleep(INTERVAL)
