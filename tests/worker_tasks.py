"""Task factories for tests/test_workers.py (imported by spawn workers by module name)."""

import ctypes
import os
import time
from collections.abc import Callable
from typing import Any


def make_misbehaving_task(config: dict[str, Any]) -> Callable[[int], dict[str, Any]]:
    def task(seed: int) -> dict[str, Any]:
        if seed == config.get("segfault"):
            ctypes.string_at(0)  # SIGSEGV in this worker only
        if seed == config.get("abort"):
            os.abort()
        if seed == config.get("hang"):
            time.sleep(3600)
        if seed == config.get("raise"):
            raise ValueError(f"task {seed} refuses\nsecond line")
        return {"square": seed * seed, "pid": os.getpid()}

    return task


def make_unstartable_task(config: dict[str, Any]) -> Callable[[int], dict[str, Any]]:
    raise RuntimeError(f"cannot start: {config['why']}")
