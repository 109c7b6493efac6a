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


# ---- where the report goes ----


def test_bench_prints_and_writes_only_where_out_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import fuzzjax.corpus.bench
    from fuzzjax.cli.main import main

    calls: list[tuple[int, int, float]] = []

    def fake_run(n: int, workers: int, lark_seconds: float) -> str:
        calls.append((n, workers, lark_seconds))
        return "# report\n"

    monkeypatch.setattr(fuzzjax.corpus.bench, "run_bench", fake_run)
    monkeypatch.chdir(tmp_path)
    assert main(["bench", "--count", "5", "--workers", "1"]) == 0
    assert capsys.readouterr().out == "# report\n"
    assert list(tmp_path.iterdir()) == []  # no notes/ in the current folder
    out = tmp_path / "sub" / "b.md"
    assert main(["bench", "--count", "5", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out == "# report\n" and out.read_text() == "# report\n"
    assert main(["bench", "--out", str(tmp_path)]) == 2  # a folder: refused before measuring
    err = capsys.readouterr().err
    assert "is a folder" in err and len(err.splitlines()) == 1
    assert len(calls) == 2


def test_memory_report_goes_to_stdout_and_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from fuzzjax.cli.main import main

    monkeypatch.chdir(tmp_path)
    out = tmp_path / "mem.md"
    assert main(["bench", "--memory", "2", "--every", "1", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("# Memory over a long run") and "| 2 |" in captured.out
    assert out.read_text() == captured.out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mem.md"]
