"""Corpus: dedup, resume after kill -9, corrupt files untouched, cross-process determinism."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from polling import wait_for

from fuzzjax.corpus.build import GenerationConfig, build_corpus, make_generation_task
from fuzzjax.corpus.store import Corpus
from fuzzjax.errors import CorpusError
from fuzzjax.program import GenOptions

OPTS = GenOptions(max_depth=3)


def _row(seed: int) -> dict:
    result = make_generation_task(GenerationConfig(OPTS.to_json()))(seed)
    assert result.row is not None
    return result.row


def test_storing_the_same_program_twice_keeps_one_row(tmp_path: Path) -> None:
    row = _row(5)
    with Corpus(tmp_path / "c.sqlite") as corpus:
        with corpus.transaction():
            assert corpus.add_pair(row) is True
            assert corpus.add_pair({**row, "seed": 999}) is False
        assert corpus.count() == 1
        stored = next(corpus.iter_pairs())
    assert stored["source"] == row["source"] and stored["seed"] == 5
    assert json.loads(stored["input_info"]) == row["input_info"]


def test_build_is_resumable_and_deterministic(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    first = build_corpus(db, count=30, options=OPTS, workers=0)
    assert (first.stored, first.total) == (30, 30)
    again = build_corpus(db, count=30, options=OPTS, workers=0)
    assert again.stored == 0  # nothing to do
    more = build_corpus(db, count=45, options=OPTS, workers=0)
    assert (more.stored, more.total) == (15, 45)
    one_go = tmp_path / "d.sqlite"
    build_corpus(one_go, count=45, options=OPTS, workers=0)
    with Corpus(db) as a, Corpus(one_go) as b:
        cols = ["seed", "source", "ir_hash"]
        assert list(a.iter_pairs(cols)) == list(b.iter_pairs(cols))
        seeds = [r["seed"] for r in a.iter_pairs(["seed"])]
    assert len(seeds) == len(set(seeds)) == 45


def test_two_workers_give_the_same_corpus_as_in_process(tmp_path: Path) -> None:
    build_corpus(tmp_path / "a.sqlite", count=40, options=OPTS, workers=0)
    build_corpus(tmp_path / "b.sqlite", count=40, options=OPTS, workers=2)
    with Corpus(tmp_path / "a.sqlite") as a, Corpus(tmp_path / "b.sqlite") as b:
        cols = ["seed", "ir_hash"]
        assert list(a.iter_pairs(cols)) == list(b.iter_pairs(cols))


def test_corrupt_or_foreign_files_are_rejected_and_left_untouched(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    before = junk.read_bytes()
    with pytest.raises(CorpusError, match="not a readable fuzzjax corpus"):
        Corpus(junk)
    assert junk.read_bytes() == before
    foreign = tmp_path / "foreign.sqlite"
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE people (name TEXT)")
    con.commit()
    con.close()
    with pytest.raises(CorpusError, match="not a fuzzjax corpus"):
        Corpus(foreign)
    with pytest.raises(CorpusError, match="no corpus"):
        Corpus(tmp_path / "missing.sqlite", create=False)


def test_kill_9_during_generation_loses_nothing_committed(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    cmd = [
        sys.executable,
        "-m",
        "fuzzjax",
        "--count",
        "400",
        "--max-depth",
        "3",
        "--db",
        str(db),
        "--workers",
        "1",
        "--quiet",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def committed_pairs() -> int:
        try:
            with Corpus(db, create=False) as c:
                return c.count() if c.count() >= 60 else 0
        except CorpusError:  # not created yet
            return 0

    try:
        committed = wait_for(committed_pairs, timeout=120, what="60 committed pairs")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    with Corpus(db, create=False) as c:
        after_kill = c.count()
        assert after_kill >= committed  # nothing committed was lost
        seeds_done = len(c.processed_seeds(GenOptions(max_depth=3, min_depth=1).to_json(), 0))
    assert seeds_done >= after_kill
    # resume: the count is reached from where it stopped, with no duplicates.
    resume = [*cmd[:3], "--count", "450", *cmd[5:]]
    result = subprocess.run(resume, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    with Corpus(db, create=False) as c:
        assert c.count() == 450
        rows = list(c.iter_pairs(["seed", "ir_hash"]))
    assert len({r["seed"] for r in rows}) == len({r["ir_hash"] for r in rows}) == 450


def test_same_seed_gives_same_source_and_hash_in_a_separate_process() -> None:
    code = (
        "from fuzzjax.generation.generator import generate\n"
        "from fuzzjax.lowering.lower import lower_program\n"
        "import sys\n"
        "for s in (0, 17, 123456789, 2**40):\n"
        "    p = generate(s, max_depth=5)\n"
        "    print(repr(p.source), lower_program(p).ir_hash)\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "123"}
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=True,
    ).stdout
    from fuzzjax.generation.generator import generate
    from fuzzjax.lowering.lower import lower_program

    # different trace history here: lower other programs first
    for s in range(20):
        lower_program(generate(s + 1000, max_depth=4))
    expected = "".join(
        f"{generate(s, max_depth=5).source!r} {lower_program(generate(s, max_depth=5)).ir_hash}\n"
        for s in (0, 17, 123456789, 2**40)
    )
    assert out == expected


def test_kill_9_of_one_worker_is_isolated_and_the_run_completes(tmp_path: Path) -> None:
    import multiprocessing
    import threading

    from fuzzjax.generation.generator import generate

    db = tmp_path / "c.sqlite"
    killed: list[int] = []

    def twenty_pairs_and_a_worker() -> list[multiprocessing.Process]:
        try:
            with Corpus(db, create=False) as c:
                if c.count() < 20:
                    return []
        except CorpusError:  # not created yet
            return []
        return multiprocessing.active_children()

    def kill_one_worker() -> None:
        children = wait_for(twenty_pairs_and_a_worker, timeout=120, what="20 pairs")
        os.kill(children[0].pid, signal.SIGKILL)
        killed.append(children[0].pid)

    killer = threading.Thread(target=kill_one_worker)
    killer.start()
    summary = build_corpus(db, count=120, options=OPTS, workers=2)
    killer.join()
    assert killed, "no worker was killed"
    assert summary.total == 120 and summary.restarts >= 1
    with Corpus(db, create=False) as c:
        rows = list(c.iter_pairs(["seed", "source", "ir_hash"]))
        failures = c.db.execute("SELECT stage FROM failures").fetchall()
    assert len(rows) == len({r["ir_hash"] for r in rows}) == 120
    assert all(r["source"] == generate(r["seed"], OPTS).source for r in rows)
    assert failures == []  # the seed the worker was running was retried in a fresh worker
    reference = tmp_path / "ref.sqlite"
    build_corpus(reference, count=120, options=OPTS, workers=0)
    with Corpus(reference, create=False) as c:
        assert [(r["seed"], r["ir_hash"]) for r in rows] == [
            (r["seed"], r["ir_hash"]) for r in c.iter_pairs(["seed", "ir_hash"])
        ]
