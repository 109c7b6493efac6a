"""The benchmark's baseline tasks run and measure something (no timings asserted)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fuzzjax.corpus.bench import (
    BenchConfig,
    BenchResult,
    _results,
    make_from_lark_task,
    make_stock_lower_task,
    make_template_task,
)
from fuzzjax.corpus.build import build_corpus
from fuzzjax.program import GenOptions
from fuzzjax.workers import Outcome, OutcomeKind


def test_from_lark_baseline_draws_programs() -> None:
    result = make_from_lark_task(BenchConfig(seconds=2.0))(0)
    assert result.tried > 0  # a crash here once reported "0 drawn" as a result
    assert len(result.hashes) <= result.tried


def test_template_baseline_lowers() -> None:
    task = make_template_task(BenchConfig())
    assert len({task(seed).hash for seed in range(6)}) >= 2


def test_stock_lowering_task_reads_the_corpus(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    build_corpus(db, count=3, options=GenOptions(max_depth=2), workers=0)
    task = make_stock_lower_task(BenchConfig(db=str(db)))
    assert all(task(i).seconds > 0 for i in range(3))


def test_a_failed_measurement_task_fails_the_benchmark() -> None:
    outcomes = iter(
        [
            Outcome(0, OutcomeKind.OK, BenchResult(hash="h")),
            Outcome(1, OutcomeKind.CRASH, error="died"),
        ]
    )
    with pytest.raises(RuntimeError, match="seed 1 crash: died"):
        _results(outcomes, "templates")
