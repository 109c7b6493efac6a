"""Crash isolation: a worker that segfaults and one that hangs are recorded; the run goes on."""

from __future__ import annotations

from pathlib import Path

import pytest
from polling import wait_for

from fuzzjax.fuzzing.campaign import FuzzConfig, run_fuzz
from fuzzjax.fuzzing.folders import read_meta
from fuzzjax.fuzzing.task import TEST_CRASH_ENV, TEST_HANG_ENV
from fuzzjax.program import GenOptions


def test_segfault_and_hang_are_isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seeds = [11, 12, 13, 14]
    monkeypatch.setenv(TEST_CRASH_ENV, "12")
    monkeypatch.setenv(TEST_HANG_ENV, "13")
    config = FuzzConfig(out=tmp_path, options=GenOptions(max_depth=1), seeds=seeds, workers=1,
                        timeout=8, shrink=False)  # fmt: skip
    summary = run_fuzz(config, echo=lambda line: None)
    assert summary.programs == len(seeds)  # the run went on after both
    metas = [read_meta(tmp_path / key) for key in summary.hits]
    isolated = {(m["signature"]["symptom"], m["signature"]["stage"], m["seed"]) for m in metas
                if m["signature"]["symptom"] in ("segfault", "hang")}  # fmt: skip
    assert isolated == {("segfault", "jit", 12), ("hang", "jit", 13)}
    assert summary.restarts >= 2
    for key in summary.hits:
        assert (tmp_path / key / "repro.py").exists()


def test_sigterm_stops_a_fuzz_run_cleanly_with_its_summary(tmp_path: Path) -> None:
    import json
    import signal
    import subprocess
    import sys

    out = tmp_path / "failures"
    command = [sys.executable, "-m", "fuzzjax", "fuzz", "--time", "120", "--workers", "1"]
    proc = subprocess.Popen(
        [*command, "--max-depth", "2", "--no-shrink", "--quiet", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    inflight = out / ".inflight"
    try:  # a worker is running programs once breadcrumbs appear in .inflight
        wait_for(lambda: inflight.exists() and any(inflight.iterdir()), timeout=90, what="a task")
    finally:
        proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr, stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["seconds"] < 100
