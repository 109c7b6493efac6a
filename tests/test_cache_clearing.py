"""Workers clear JAX's caches as memory requires (``lowering.lower.cache_clearer``)."""

from __future__ import annotations

import pytest

from fuzzjax.lowering import lower


def _count_clears(monkeypatch: pytest.MonkeyPatch, rss: float) -> list[int]:
    clears: list[int] = []
    monkeypatch.setattr(lower.jax, "clear_caches", lambda: clears.append(1))
    monkeypatch.setattr(lower, "resident_mb", lambda: rss)
    return clears


def test_below_the_memory_limit_caches_are_cleared_every_n_programs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clears = _count_clears(monkeypatch, rss=100.0)
    tick = lower.cache_clearer(every=40, rss_mb=1000)
    for _ in range(100):
        tick()
    assert len(clears) == 2


def test_above_the_memory_limit_caches_are_cleared_early_but_not_every_program(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clears = _count_clears(monkeypatch, rss=5000.0)
    tick = lower.cache_clearer(every=500, rss_mb=1000)
    for _ in range(100):
        tick()
    assert len(clears) == 100 // lower._MIN_PROGRAMS_BETWEEN_CLEARS


def test_resident_memory_is_read() -> None:
    assert lower.resident_mb() > 10
