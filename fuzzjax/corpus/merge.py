"""Merge corpus files into one: ``python -m fuzzjax merge --db TARGET SHARD.sqlite [...]``.

Pairs are deduplicated globally by ``ir_hash`` (the first source, and within a source the
lowest seed, keeps the pair); ``seeds`` rows are copied once per (seed, options), and a seed
that a source stored but whose IR the target already holds from another seed is recorded as
``duplicate``, so the target's seed table tells the truth about the target's pairs. Failure
rows are copied unless an identical (seed, options, stage, error) row is already there.
``platform_ir`` rows (schema 2) are copied for the source's pairs whose IR the target holds,
unless the target already has that (ir_hash, platform); schema 1 sources have none.

Each source is merged in one transaction, streamed row by row (never loaded whole). Sources
are opened read-only (SQLite ``mode=ro``), so they are never modified, even when a file that
is not a corpus is named by mistake; every source is checked before the target is touched.

With ``limit``, merging stops once the target holds ``limit`` pairs, cutting a source at the
seed that stores the last pair (pairs without a seed are then skipped). Merging contiguous
seed-range shards in seed order this way gives exactly the corpus a single in-order run makes.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fuzzjax.corpus.schema import (
    PAIR_COLUMNS,
    PLATFORM_COLUMNS,
    check_file,
    check_rows,
    connect_readonly,
    schema_version,
)
from fuzzjax.corpus.store import Corpus
from fuzzjax.errors import CorpusError

_PAIR_COLUMNS = [*PAIR_COLUMNS, "created_at"]
_SEED_COLUMNS = ["seed", "options", "outcome", "ir_hash", "depth"]
_FAILURE_COLUMNS = ["seed", "options", "stage", "error", "source", "jax_version", "created_at"]


@dataclass
class MergeSummary:
    """What a merge added to the target."""

    added: int = 0  #: pairs new to the target
    duplicates: int = 0  #: source pairs whose IR the target already held
    failures: int = 0  #: failure rows copied
    platform_rows: int = 0  #: platform_ir rows copied
    seeds: Counter[str] = field(default_factory=Counter)  #: new seed rows by outcome
    sources: int = 0
    total: int = 0  #: pairs in the target afterwards

    def add(self, other: MergeSummary) -> None:
        self.added += other.added
        self.duplicates += other.duplicates
        self.failures += other.failures
        self.platform_rows += other.platform_rows
        self.seeds.update(other.seeds)
        self.sources += other.sources
        self.total = other.total

    def line(self, target: str | Path) -> str:
        platform = f", {self.platform_rows} platform rows" if self.platform_rows else ""
        return (
            f"merged {self.sources} source(s) into {target}: added {self.added} pairs, "
            f"skipped {self.duplicates} duplicates, copied {self.failures} failures{platform}, "
            f"recorded {sum(self.seeds.values())} seeds ({self.total} pairs in corpus)"
        )


def open_source(path: str | Path, *, check: bool = False) -> sqlite3.Connection:
    """A read-only connection to the corpus at ``path``; ``CorpusError`` if it is not one
    (with ``check``, also if a stored JSON column is corrupt: ``schema.check_rows``)."""
    path = Path(path)
    if not check_file(path):
        raise CorpusError(f"no corpus at {path}")
    db = connect_readonly(path)
    try:
        if schema_version(db, path) is None:
            raise CorpusError(f"{path} is an SQLite file but not a fuzzjax corpus (no tables)")
        if check:
            check_rows(db, path)
    except BaseException:
        db.close()
        raise
    return db


def merge_corpora(
    target: str | Path, sources: Sequence[str | Path], *, limit: int | None = None
) -> MergeSummary:
    """Merge ``sources`` into ``target`` (created when missing), in the order given."""
    target = Path(target)
    for source in sources:
        if target.exists() and Path(source).exists() and Path(source).samefile(target):
            raise CorpusError(f"{source} is the merge target itself")
        open_source(source, check=True).close()
    summary = MergeSummary()
    with Corpus(target) as corpus:
        summary.total = corpus.count()
        for source in sources:
            if limit is not None and summary.total >= limit:
                break
            with closing(open_source(source)) as src:
                summary.add(merge_source(corpus, src, limit=limit))
    return summary


def merge_source(corpus: Corpus, src: sqlite3.Connection, *, limit: int | None) -> MergeSummary:
    """Merge one open source into ``corpus`` in a single transaction."""
    summary = MergeSummary(sources=1, total=corpus.count())
    if limit is not None and summary.total >= limit:
        return summary
    with corpus.transaction():
        where: str = ""
        params: tuple[int, ...] = ()
        if limit is not None:
            cutoff = _cutoff_seed(corpus, src, limit - corpus.count())
            where = "WHERE seed IS NOT NULL"
            if cutoff is not None:
                where, params = "WHERE seed IS NOT NULL AND seed <= ?", (cutoff,)
        copier = _Copier(corpus, src, where, params, summary)
        copier.pairs()
        copier.seeds()
        copier.failures()
        copier.platform_irs()
        summary.total = corpus.count()
    return summary


def read(src: sqlite3.Connection, sql: str, params: tuple[Any, ...] = ()) -> Iterator[Any]:
    """Rows of a query on a source; a read error names the source file, not the target."""
    try:
        yield from src.execute(sql, params)
    except sqlite3.DatabaseError as exc:
        name = next((r[2] for r in src.execute("PRAGMA database_list") if r[1] == "main"), "")
        raise CorpusError(f"{name} is not a readable fuzzjax corpus ({exc})") from None


def _cutoff_seed(corpus: Corpus, src: sqlite3.Connection, room: int) -> int | None:
    """The seed whose pair would be the ``room``-th new one in seed order (None: all fit)."""
    new = 0
    rows = read(src, "SELECT seed, ir_hash FROM pairs WHERE seed IS NOT NULL ORDER BY seed, id")
    for seed, ir_hash in rows:
        if corpus.db.execute("SELECT 1 FROM pairs WHERE ir_hash = ?", (ir_hash,)).fetchone():
            continue
        new += 1
        if new == room:
            return int(seed)
    return None


@dataclass
class _Copier:
    """Copies the rows of one source (restricted by ``where``) into ``corpus``, counting."""

    corpus: Corpus
    src: sqlite3.Connection
    where: str
    params: tuple[int, ...]
    summary: MergeSummary

    def rows(self, table: str, columns: list[str]) -> Iterator[tuple[Any, ...]]:
        order = {"pairs": "seed, id", "seeds": "seed, options", "failures": "id"}[table]
        yield from read(
            self.src,
            f"SELECT {', '.join(columns)} FROM {table} {self.where} ORDER BY {order}",
            self.params,
        )

    def inserted(self, sql: str, row: tuple[Any, ...]) -> bool:
        return bool(self.corpus.db.execute(sql, row).rowcount == 1)

    def pairs(self) -> None:
        insert = (
            f"INSERT OR IGNORE INTO pairs ({', '.join(_PAIR_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(_PAIR_COLUMNS))})"
        )
        for row in self.rows("pairs", _PAIR_COLUMNS):
            if self.inserted(insert, row):
                self.summary.added += 1
            else:
                self.summary.duplicates += 1

    def seeds(self) -> None:
        owner = "SELECT seed, options FROM pairs WHERE ir_hash = ?"
        insert = "INSERT OR IGNORE INTO seeds VALUES (?, ?, ?, ?, ?)"
        for seed, options, outcome, ir_hash, depth in self.rows("seeds", _SEED_COLUMNS):
            if outcome == "stored":
                kept_by = self.corpus.db.execute(owner, (ir_hash,)).fetchone()
                if kept_by != (seed, options):  # another seed's pair with this IR was kept
                    outcome = "duplicate"
            if self.inserted(insert, (seed, options, outcome, ir_hash, depth)):
                self.summary.seeds[outcome] += 1

    def failures(self) -> None:
        insert = (
            f"INSERT INTO failures ({', '.join(_FAILURE_COLUMNS)}) SELECT ?, ?, ?, ?, ?, ?, ? "
            "WHERE NOT EXISTS (SELECT 1 FROM failures WHERE seed IS ? AND options IS ? "
            "AND stage = ? AND error = ?)"
        )
        for row in self.rows("failures", _FAILURE_COLUMNS):
            if self.inserted(insert, (*row, *row[:4])):
                self.summary.failures += 1

    def platform_irs(self) -> None:
        listing = read(self.src, "SELECT name FROM sqlite_master WHERE type='table'")
        tables = {row[0] for row in listing}
        if "platform_ir" not in tables:  # a schema 1 source
            return
        columns = ", ".join(f"x.{c}" for c in PLATFORM_COLUMNS)
        rows = read(
            self.src,
            f"SELECT {columns} FROM platform_ir x JOIN pairs ON pairs.ir_hash = x.ir_hash "
            f"{self.where} ORDER BY pairs.seed, pairs.id, x.platform",
            self.params,
        )
        insert = (
            f"INSERT OR IGNORE INTO platform_ir ({', '.join(PLATFORM_COLUMNS)}) "
            f"SELECT {', '.join('?' * len(PLATFORM_COLUMNS))} "
            "WHERE EXISTS (SELECT 1 FROM pairs WHERE ir_hash = ?)"
        )
        for row in rows:
            if self.inserted(insert, (*row, row[0])):
                self.summary.platform_rows += 1
