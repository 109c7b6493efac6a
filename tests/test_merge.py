"""Merging corpora: global dedup by IR hash, seed-order exactness, read-only sources."""

import sqlite3
from pathlib import Path

import pytest

from fuzzjax.cli.main import main
from fuzzjax.corpus.build import build_corpus
from fuzzjax.corpus.distributed import run_shard
from fuzzjax.corpus.merge import merge_corpora
from fuzzjax.corpus.store import Corpus
from fuzzjax.errors import CorpusError
from fuzzjax.program import GenOptions

#: Tiny programs, so that different seeds often lower to the same StableHLO.
OPTS = GenOptions(max_depth=1, max_rank=0)


def _shard(path: Path, seeds: range) -> Path:
    path.write_bytes(run_shard(list(seeds), OPTS.to_json()))
    return path


def _table(db: Path, sql: str) -> list[tuple]:
    with Corpus(db, create=False) as corpus:
        return corpus.db.execute(sql).fetchall()


SEEDS = "SELECT seed, options, outcome, ir_hash, depth FROM seeds ORDER BY seed"
PAIRS = "SELECT seed, options, source, stablehlo, ir_hash FROM pairs ORDER BY seed"


@pytest.fixture(scope="module")
def shards(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("shards")
    return _shard(folder / "a.sqlite", range(0, 23)), _shard(folder / "b.sqlite", range(23, 60))


def test_merging_seed_ordered_shards_equals_one_in_order_run(
    shards: tuple[Path, Path], tmp_path: Path
) -> None:
    a, b = shards
    before = {p: p.read_bytes() for p in shards}
    merged = merge_corpora(tmp_path / "m.sqlite", [a, b], limit=40)
    build_corpus(tmp_path / "ref.sqlite", count=40, options=OPTS, workers=0)
    assert merged.total == 40
    assert _table(tmp_path / "m.sqlite", SEEDS) == _table(tmp_path / "ref.sqlite", SEEDS)
    assert _table(tmp_path / "m.sqlite", PAIRS) == _table(tmp_path / "ref.sqlite", PAIRS)
    assert {p: p.read_bytes() for p in shards} == before
    assert sorted(p.name for p in a.parent.iterdir()) == ["a.sqlite", "b.sqlite"]


def test_cross_shard_duplicates_are_kept_once_and_their_seeds_marked(
    shards: tuple[Path, Path], tmp_path: Path
) -> None:
    a, b = shards
    stored_in_b = {r[0]: r[3] for r in _table(b, SEEDS) if r[2] == "stored"}
    hashes_in_a = {r[4] for r in _table(a, PAIRS)}
    overlap = {seed for seed, h in stored_in_b.items() if h in hashes_in_a}
    assert overlap, "the shards share no IR: the test exercises nothing"
    summary = merge_corpora(tmp_path / "m.sqlite", [a, b])
    assert summary.duplicates == len(overlap)
    rows = _table(tmp_path / "m.sqlite", SEEDS)
    assert {r[0] for r in rows if r[2] == "duplicate" and r[0] in stored_in_b} >= overlap
    ir = [r[4] for r in _table(tmp_path / "m.sqlite", PAIRS)]
    assert len(ir) == len(set(ir)) == summary.added
    again = merge_corpora(tmp_path / "m.sqlite", [b, a])  # idempotent
    assert (again.added, sum(again.seeds.values()), again.total) == (0, 0, summary.total)


def test_failures_are_copied_once(tmp_path: Path) -> None:
    src = tmp_path / "f.sqlite"
    with Corpus(src) as corpus, corpus.transaction():
        corpus.record_failure(7, OPTS.to_json(), "lower", "boom", "def f(x): ...")
        corpus.record_seed(7, OPTS.to_json(), "failed", None)
    for _ in range(2):
        merge_corpora(tmp_path / "m.sqlite", [src])
    assert _table(tmp_path / "m.sqlite", "SELECT seed, stage, error FROM failures") == [
        (7, "lower", "boom")
    ]
    assert _table(tmp_path / "m.sqlite", SEEDS) == [(7, OPTS.to_json(), "failed", None, None)]


def test_cli_merges_and_prints_counts(shards: tuple[Path, Path], tmp_path: Path, capsys) -> None:  # noqa: ANN001
    target = tmp_path / "m.sqlite"
    assert main(["merge", "--db", str(target), *map(str, shards)]) == 0
    out = capsys.readouterr().out
    assert "merged 2 source(s)" in out and "duplicates" in out and "failures" in out


def test_bad_sources_exit_2_and_nothing_is_touched(
    shards: tuple[Path, Path],
    tmp_path: Path,
    capsys,  # noqa: ANN001
) -> None:
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"\x00garbage" * 512)
    foreign = tmp_path / "foreign.sqlite"
    with sqlite3.connect(foreign) as con:
        con.execute("CREATE TABLE people (name TEXT)")
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    bad = [junk, foreign, empty, tmp_path / "missing.sqlite"]
    before = {p: p.read_bytes() for p in bad if p.exists()}
    target = tmp_path / "m.sqlite"
    for path in bad:
        assert main(["merge", "--db", str(target), str(shards[0]), str(path)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and str(path) in err
    assert {p: p.read_bytes() for p in bad if p.exists()} == before
    assert not target.exists(), "the target was touched before all sources were checked"
    with pytest.raises(CorpusError, match="merge target itself"):
        merge_corpora(shards[0], [shards[0]])
