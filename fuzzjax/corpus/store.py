"""The embedded corpus: an SQLite (WAL) database of (source, StableHLO) pairs.

Tables:

* ``pairs``: one row per distinct canonical StableHLO (``ir_hash`` is UNIQUE);
* ``seeds``: every processed (seed, options) and its outcome, so a resumed run never redoes a
  seed and duplicates are counted, not lost;
* ``failures``: programs that failed to lower (should never happen), with stage and error;
* ``platform_ir`` (schema 2): per (``ir_hash``, platform) the ``jax.export`` StableHLO of a pair
  for that platform, only when built with ``--platforms``/``--export-artifacts``
  (``fuzzjax.lowering.platforms``); the view ``platform_summary`` derives ``platform_differs``
  per pair;
* ``meta``: schema version.

Schema 1 corpora (without ``platform_ir``) are upgraded in place when opened: the table and
view are created (``CREATE ... IF NOT EXISTS``) and the version becomes 2.

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

from fuzzjax.errors import CorpusError

SCHEMA_VERSION = "2"
#: Versions this code opens; older ones are upgraded to ``SCHEMA_VERSION`` (additive only).
READABLE_SCHEMAS = ("1", "2")

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

#: Schema 2: one row per (pair, platform), keyed by the pair's ``ir_hash`` (stable across
#: merges, unlike ``pairs.id``). ``stablehlo`` is the canonical ``jax.export`` text for
#: ``platform``, ``platform_hash`` its sha256; ``artifact`` is ``Exported.serialize()``
#: (only with ``--export-artifacts``). A pair's platforms differ when their hashes do.
_PLATFORM_SCHEMA = """
CREATE TABLE IF NOT EXISTS platform_ir (
    ir_hash TEXT NOT NULL,
    platform TEXT NOT NULL,
    stablehlo TEXT NOT NULL,
    platform_hash TEXT NOT NULL,
    op_counts TEXT NOT NULL,
    custom_calls TEXT NOT NULL,
    artifact BLOB,
    lower_ms REAL,
    PRIMARY KEY (ir_hash, platform)
);
CREATE VIEW IF NOT EXISTS platform_summary AS
    SELECT ir_hash,
           COUNT(*) AS platforms,
           COUNT(DISTINCT platform_hash) > 1 AS platform_differs
    FROM platform_ir GROUP BY ir_hash;
"""

PLATFORM_COLUMNS = [
    "ir_hash",
    "platform",
    "stablehlo",
    "platform_hash",
    "op_counts",
    "custom_calls",
    "artifact",
    "lower_ms",
]

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
            if not version or version[0] not in READABLE_SCHEMAS:
                raise CorpusError(f"{self.path} has an unknown corpus schema")
            if version[0] != SCHEMA_VERSION:
                with self.transaction():
                    self._execute_script(_PLATFORM_SCHEMA)
                    self.db.execute(
                        "UPDATE meta SET value = ? WHERE key = 'schema'", (SCHEMA_VERSION,)
                    )
            return
        if tables and not tables <= {"meta"}:
            raise CorpusError(f"{self.path} is an SQLite file but not a fuzzjax corpus")
        if not create:
            raise CorpusError(f"{self.path} is empty")
        with self.transaction():
            self._execute_script(_SCHEMA + _PLATFORM_SCHEMA)
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))

    def _execute_script(self, script: str) -> None:
        for statement in script.split(";"):
            if statement.strip():
                self.db.execute(statement)

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

    def add_platform_irs(self, ir_hash: str, rows: list[dict[str, Any]]) -> None:
        """Store a pair's per-platform rows (``PlatformIR.to_row()``); replaces older ones."""
        for row in rows:
            values = [_column_value(row.get(c)) for c in PLATFORM_COLUMNS[1:]]
            self.db.execute(
                f"INSERT OR REPLACE INTO platform_ir ({', '.join(PLATFORM_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(PLATFORM_COLUMNS))})",
                [ir_hash, *values],
            )

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

    def platform_irs(self, ir_hash: str) -> list[dict[str, Any]]:
        """The ``platform_ir`` rows of one pair, in platform name order."""
        cursor = self.db.execute(
            f"SELECT {', '.join(PLATFORM_COLUMNS)} FROM platform_ir WHERE ir_hash = ? "
            "ORDER BY platform",
            (ir_hash,),
        )
        return [dict(zip(PLATFORM_COLUMNS, row, strict=True)) for row in cursor]

    def platform_count(self) -> int:
        """Number of ``platform_ir`` rows (0 for a CPU-only corpus)."""
        return int(self.db.execute("SELECT COUNT(*) FROM platform_ir").fetchone()[0])

    def failure_count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM failures").fetchone()[0])


def _column_value(value: Any) -> Any:
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, sort_keys=True)
    return value
