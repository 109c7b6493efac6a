"""The embedded corpus: an SQLite (WAL) database of (source, StableHLO) pairs.

Tables:

* ``pairs``: one row per distinct canonical StableHLO (``ir_hash`` is UNIQUE);
* ``seeds``: every processed (seed, options) and its outcome, so a resumed run never redoes a
  seed and duplicates are counted, not lost;
* ``failures``: programs that failed to lower (should never happen), with stage and error;
* ``meta``: schema version.

Writes happen in explicit transactions; a ``kill -9`` loses at most the open transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pairs (
    id INTEGER PRIMARY KEY,
    seed INTEGER,
    options TEXT,
    category TEXT,
    operation TEXT,
    depth INTEGER,
    source TEXT NOT NULL,
    stablehlo TEXT NOT NULL,
    hlo TEXT,
    ir_hash TEXT NOT NULL UNIQUE,
    signature TEXT,
    input_info TEXT NOT NULL,
    op_counts TEXT NOT NULL,
    jax_version TEXT NOT NULL,
    jaxlib_version TEXT NOT NULL,
    grammar_sha TEXT,
    fuzzjax_version TEXT,
    lower_ms REAL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS seeds (
    seed INTEGER NOT NULL,
    options TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('stored', 'duplicate', 'failed')),
    ir_hash TEXT,
    depth INTEGER,
    PRIMARY KEY (seed, options)
);
CREATE TABLE IF NOT EXISTS failures (
    id INTEGER PRIMARY KEY,
    seed INTEGER,
    options TEXT,
    stage TEXT NOT NULL,
    error TEXT NOT NULL,
    source TEXT,
    jax_version TEXT,
    created_at TEXT NOT NULL
);
"""

PAIR_COLUMNS = [
    "seed",
    "options",
    "category",
    "operation",
    "depth",
    "source",
    "stablehlo",
    "hlo",
    "ir_hash",
    "signature",
    "input_info",
    "op_counts",
    "jax_version",
    "jaxlib_version",
    "grammar_sha",
    "fuzzjax_version",
    "lower_ms",
]


class CorpusError(RuntimeError):
    """The corpus file cannot be opened or is not a fuzzjax corpus."""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Corpus:
    """A handle on one corpus database file."""

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        self.path = Path(path)
        if not create and not self.path.exists():
            raise CorpusError(f"no corpus at {self.path}")
        if create:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise CorpusError(f"cannot create {self.path.parent}: {exc.strerror}") from None
        try:
            self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self._check_or_create_schema(create)
        except sqlite3.DatabaseError as exc:
            raise CorpusError(f"{self.path} is not a readable fuzzjax corpus ({exc})") from None

    def _check_or_create_schema(self, create: bool) -> None:
        tables = {
            r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        if "pairs" in tables:
            version = self.db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
            if not version or version[0] != SCHEMA_VERSION:
                raise CorpusError(f"{self.path} has an unknown corpus schema")
            return
        if tables and not tables <= {"meta"}:
            raise CorpusError(f"{self.path} is an SQLite file but not a fuzzjax corpus")
        if not create:
            raise CorpusError(f"{self.path} is empty")
        with self.transaction():
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self.db.execute(statement)
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Corpus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # ---- writing (call inside ``transaction()``) ----

    def add_pair(self, row: dict[str, Any]) -> bool:
        """Insert a pair; False when its ``ir_hash`` is already stored (a duplicate)."""
        values = [_column_value(row.get(c)) for c in PAIR_COLUMNS]
        cursor = self.db.execute(
            f"INSERT OR IGNORE INTO pairs ({', '.join(PAIR_COLUMNS)}, created_at) "
            f"VALUES ({', '.join('?' * len(PAIR_COLUMNS))}, ?)",
            [*values, _now()],
        )
        return cursor.rowcount == 1

    def record_seed(
        self, seed: int, options: str, outcome: str, ir_hash: str | None, depth: int | None = None
    ) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO seeds VALUES (?, ?, ?, ?, ?)",
            (seed, options, outcome, ir_hash, depth),
        )

    def record_failure(
        self,
        seed: int | None,
        options: str | None,
        stage: str,
        error: str,
        source: str | None,
        jax_version: str | None = None,
    ) -> None:
        self.db.execute(
            "INSERT INTO failures (seed, options, stage, error, source, jax_version, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (seed, options, stage, error, source, jax_version, _now()),
        )

    # ---- reading ----

    def count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM pairs").fetchone()[0])

    def processed_seeds(self, options: str, start: int) -> set[int]:
        rows = self.db.execute(
            "SELECT seed FROM seeds WHERE options = ? AND seed >= ?", (options, start)
        )
        return {r[0] for r in rows}

    def seed_options(self, seed: int) -> list[str]:
        """Options under which ``seed`` was processed (most recent schema first)."""
        rows = self.db.execute("SELECT options FROM seeds WHERE seed = ? ORDER BY rowid", (seed,))
        return [r[0] for r in rows]

    def pair_for_seed(self, seed: int, options: str) -> dict[str, Any] | None:
        row = self.db.execute(
            "SELECT * FROM pairs WHERE seed = ? AND options = ?", (seed, options)
        ).fetchone()
        return self._row(row) if row else None

    def iter_pairs(self, columns: list[str] | None = None) -> Iterator[dict[str, Any]]:
        """Stream pairs in id order without loading them all."""
        cols = ", ".join(columns) if columns else "*"
        cursor = self.db.execute(f"SELECT {cols} FROM pairs ORDER BY id")
        names = [d[0] for d in cursor.description]
        for row in cursor:
            yield dict(zip(names, row, strict=False))

    def _row(self, row: tuple[Any, ...]) -> dict[str, Any]:
        names = [d[1] for d in self.db.execute("PRAGMA table_info(pairs)")]
        return dict(zip(names, row, strict=False))

    def outcome_counts(self) -> dict[str, int]:
        rows = self.db.execute("SELECT outcome, COUNT(*) FROM seeds GROUP BY outcome")
        return {r[0]: int(r[1]) for r in rows}

    def failure_count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM failures").fetchone()[0])


def _column_value(value: Any) -> Any:
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, sort_keys=True)
    return value
