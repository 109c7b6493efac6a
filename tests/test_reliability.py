"""One writer per corpus; hung, stopped and killed workers during corpus building.

No sleeps: processes report their state on a pipe, and every wait has a deadline.
"""

from __future__ import annotations

import hashlib
import os
import select
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from fuzzjax.corpus.build import TEST_SIGNAL_ENV, build_corpus
from fuzzjax.corpus.store import Corpus
from fuzzjax.errors import CorpusError
from fuzzjax.program import GenOptions

OPTS = GenOptions(max_depth=2)

HOLDER = """
import sys
from fuzzjax.corpus.store import Corpus
with Corpus(sys.argv[1]) as corpus:
    print("holding", flush=True)
    sys.stdin.readline()  # until the test says so
"""


def _read_line(proc: subprocess.Popen[str], timeout: float) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, "the process did not report in time"
    return proc.stdout.readline()


def _fuzzjax(*argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fuzzjax", *argv], capture_output=True, text=True, timeout=timeout
    )


def test_a_second_writer_fails_at_once_naming_the_first_and_reads_go_on(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    build_corpus(db, count=5, options=OPTS, workers=0)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert _read_line(holder, 60) == "holding\n"
        for argv in (
            ["--count", "8", "--max-depth", "2", "--db", str(db), "--workers", "0"],
            ["add", str(tmp_path / "x.py"), "--db", str(db)],
            ["merge", "--db", str(db), str(db)],
        ):
            if argv[0] == "add":
                (tmp_path / "x.py").write_text("FUZZJAX_EXAMPLES = {}\n")
            if argv[0] == "merge":
                other = tmp_path / "other.sqlite"
                build_corpus(other, count=2, options=OPTS, workers=0)
                argv = ["merge", "--db", str(db), str(other)]
            done = _fuzzjax(*argv)
            assert done.returncode == 2, (argv, done.stderr)
            assert done.stderr.count("\n") == 1
            assert f"is being written by another process (pid {holder.pid} on " in done.stderr
            assert "-c" in done.stderr  # the holder's command line
        reading = _fuzzjax("stats", "--db", str(db))
        assert reading.returncode == 0 and "pairs" in reading.stdout  # reads are concurrent
    finally:
        assert holder.stdin is not None
        holder.stdin.write("done\n")
        holder.stdin.close()
        holder.wait(timeout=60)
    assert not (tmp_path / "c.sqlite.lock").exists()  # released and removed
    resumed = _fuzzjax("--count", "8", "--max-depth", "2", "--db", str(db), "--workers", "0")
    assert resumed.returncode == 0, resumed.stderr


def test_the_lock_dies_with_its_process(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert _read_line(holder, 60) == "holding\n"
    with pytest.raises(CorpusError, match="is being written by another process"):
        Corpus(db)
    holder.kill()
    holder.wait(timeout=60)
    with Corpus(db) as corpus:  # no stale lock after kill -9
        assert corpus.count() == 0


def test_writers_in_one_process_share_the_lock(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    with Corpus(db) as outer, Corpus(db) as inner:
        assert outer.count() == inner.count() == 0
        assert (tmp_path / "c.sqlite.lock").exists()
    assert not (tmp_path / "c.sqlite.lock").exists()


def test_resuming_with_other_options_is_refused_unless_asked(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    build_corpus(db, count=5, options=OPTS, workers=0)
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    done = _fuzzjax("--count", "8", "--max-depth", "3", "--db", str(db), "--workers", "0")
    assert done.returncode == 2
    assert done.stderr == (
        f"fuzzjax: error: {db} holds programs generated with other options (--max-depth 2 "
        "--min-depth 1 --max-rank 8); rerun with those options to resume it, or pass "
        "--mix-options to add programs made with --max-depth 3 --min-depth 1 --max-rank 8 "
        "as well\n"
    )
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    mixed = build_corpus(db, count=8, options=GenOptions(max_depth=3), workers=0, mix_options=True)
    assert mixed.total == 8


def _rows(db: Path) -> list[tuple[int, str]]:
    con = sqlite3.connect(db)
    rows = con.execute("SELECT seed, ir_hash FROM pairs ORDER BY seed").fetchall()
    con.close()
    return rows


def _failures(db: Path) -> list[tuple[int, str, str]]:
    con = sqlite3.connect(db)
    rows = con.execute("SELECT seed, stage, error FROM failures ORDER BY seed").fetchall()
    con.close()
    return rows


@pytest.mark.parametrize("signal_name,stage", [("SIGSTOP", "timeout"), ("SIGKILL", "crash")])
def test_a_seed_that_hangs_or_dies_twice_is_recorded_with_its_repro_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signal_name: str, stage: str
) -> None:
    reference = tmp_path / "ref.sqlite"
    build_corpus(reference, count=13, options=OPTS, workers=0)
    victim = _rows(reference)[4][0]
    monkeypatch.setenv(TEST_SIGNAL_ENV, f"{victim}:{signal_name}")
    db = tmp_path / "c.sqlite"
    summary = build_corpus(db, count=12, options=OPTS, workers=1, timeout=2)
    assert summary.total == 12 and summary.failures == 1
    assert summary.restarts == 2  # the first attempt and the retry each lost their worker
    ((seed, got_stage, error),) = _failures(db)
    assert (seed, got_stage) == (victim, stage)
    assert "on each of 2 attempts" in error
    assert error.endswith(f"reproduce: python -m fuzzjax replay {victim} --db {db} --ir")
    # Every other seed stores what an uninterrupted run stores; one more seed fills the gap.
    assert _rows(db) == [r for r in _rows(reference) if r[0] != victim][:12]


@pytest.mark.slow  # ~35 s; the self-stopping seed above covers the same path by default
def test_a_worker_stopped_from_outside_is_replaced_and_its_seed_retried(
    tmp_path: Path,
) -> None:
    """SIGSTOP the worker of a running ``python -m fuzzjax`` once: the corpus comes out as an
    uninterrupted run's, with no failure recorded."""
    db = tmp_path / "c.sqlite"
    argv = ["--count", "400", "--max-depth", "3", "--workers", "1", "--timeout", "3"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "fuzzjax", *argv, "--db", str(db), "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        worker = _stop_worker_once_working(proc.pid, db)
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert worker is not None, "the run ended before its worker could be stopped"
    reference = tmp_path / "ref.sqlite"
    build_corpus(reference, count=400, options=GenOptions(max_depth=3), workers=0)
    assert _rows(db) == _rows(reference)
    assert _failures(db) == []


def _stop_worker_once_working(parent: int, db: Path) -> int | None:
    """Poll (with a deadline) until ``parent``'s spawn worker exists and the corpus has a pair,
    then SIGSTOP the worker; its pid, or None when the run ended first."""
    import signal
    import time

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        children = Path(f"/proc/{parent}/task/{parent}/children")
        if not children.exists():
            return None
        for pid in children.read_text().split():
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"spawn_main" in cmdline and _has_pairs(db):
                os.kill(int(pid), signal.SIGSTOP)
                return int(pid)
        time.sleep(0.05)  # poll interval (the deadline above bounds the wait)
    return None


def _has_pairs(db: Path) -> bool:
    try:
        with Corpus(db, create=False) as corpus:
            return corpus.count() > 0
    except CorpusError:
        return False
