"""Distributed runs on a Dask LocalCluster: exact, resumable, equal to an in-process run.

Tests that need a cluster are skipped when the optional ``distributed`` extra (dask) is not
installed.
"""

import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fuzzjax.corpus.build import build_corpus
from fuzzjax.corpus.distributed import run_distributed
from fuzzjax.corpus.store import Corpus
from fuzzjax.errors import DistributedError
from fuzzjax.generation.generator import generate
from fuzzjax.program import GenOptions

#: Tiny programs, so that seeds in different shards often lower to the same StableHLO.
OPTS = GenOptions(max_depth=1, max_rank=0)
SEEDS = "SELECT seed, options, outcome, ir_hash, depth FROM seeds ORDER BY seed"
PAIRS = "SELECT seed, options, source, stablehlo, ir_hash FROM pairs ORDER BY seed"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    distributed = pytest.importorskip("dask.distributed")
    # Worker processes, as on a real cluster (each imports JAX once, ~2 s).
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as local:
        yield local


def _table(db: Path, sql: str) -> list[tuple]:
    with Corpus(db, create=False) as corpus:
        return corpus.db.execute(sql).fetchall()


def test_distributed_run_resumes_and_equals_the_in_process_corpus(
    cluster: Any, tmp_path: Path
) -> None:
    db = tmp_path / "corpus" / "c.sqlite"
    first = run_distributed(cluster, db=db, count=25, options=OPTS, shard_size=10)
    assert (first.stored, first.total) == (25, 25)
    more = run_distributed(cluster, db=db, count=40, options=OPTS, shard_size=10)
    assert (more.stored, more.total) == (15, 40)
    build_corpus(tmp_path / "ref.sqlite", count=40, options=OPTS, workers=0)
    seeds = _table(db, SEEDS)
    assert seeds == _table(tmp_path / "ref.sqlite", SEEDS)
    assert any(outcome == "duplicate" for _, _, outcome, _, _ in seeds)
    pairs = _table(db, PAIRS)
    assert pairs == _table(tmp_path / "ref.sqlite", PAIRS)
    assert len({p[4] for p in pairs}) == len(pairs) == 40
    for seed, _, source, _, _ in pairs:
        assert source == generate(seed, OPTS).source
    shard_files = sorted((db.parent / "shards").glob("shard-*.sqlite"))
    assert shard_files and all(p.stat().st_size > 0 for p in shard_files)


def test_a_full_corpus_needs_no_cluster(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    build_corpus(db, count=5, options=OPTS, workers=0)
    summary = run_distributed("tcp://127.0.0.1:9", db=db, count=5, options=OPTS)
    assert (summary.stored, summary.total) == (0, 5)


def test_unreachable_scheduler_is_one_clear_error(tmp_path: Path) -> None:
    pytest.importorskip("dask.distributed")
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DistributedError, match=f"cannot reach the Dask scheduler at .*:{port}"):
        run_distributed(f"tcp://127.0.0.1:{port}", db=tmp_path / "c.sqlite", count=5, options=OPTS)


def test_without_dask_the_error_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # import fails
    with pytest.raises(DistributedError, match=r"pip install 'fuzzjax\[distributed\]'"):
        run_distributed("tcp://127.0.0.1:8786", db=tmp_path / "c.sqlite", count=5, options=OPTS)
