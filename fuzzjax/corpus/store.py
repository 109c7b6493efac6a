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

Schema 1 corpora (without ``platform_ir``) are upgraded in place when opened for writing: the
table and view are created (``CREATE ... IF NOT EXISTS``) and the version becomes 2; opened
read-only they are read as they are. The table definitions and the checks a file passes before
it is used are in ``fuzzjax.corpus.schema``; the one-writer lock in ``fuzzjax.corpus.lock``.

Writes happen in explicit transactions; a ``kill -9`` loses at most the open transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from fuzzjax.corpus.lock import WriterLock
from fuzzjax.corpus.schema import (
    _PLATFORM_SCHEMA,
    _SCHEMA,
    JSON_COLUMNS,
    PAIR_COLUMNS,
    PLATFORM_COLUMNS,
    SCHEMA_VERSION,
    check_file,
    connect_readonly,
    decode_json,
    schema_version,
    write_error,
)
from fuzzjax.errors import CorpusError


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Corpus:
    """A handle on one corpus database file.

    ``Corpus(path)`` opens it for writing (created when missing): the file is checked first,
    then this process takes the corpus's writer lock (``fuzzjax.corpus.lock``; a second writer
    fails at once, naming the first), then WAL mode is set. ``Corpus(path, create=False)``
    opens an existing corpus read-only (SQLite ``mode=ro``, no lock): reading never changes
    the file. ``readonly=False`` with ``create=False`` writes to an existing corpus only.
    A file that is not a corpus is refused with ``CorpusError`` and left byte-identical.
    """

    def __init__(
        self, path: str | Path, *, create: bool = True, readonly: bool | None = None
    ) -> None:
        self.path = Path(path)
        self.readonly = not create if readonly is None else readonly
        self._lock: WriterLock | None = None
        exists = check_file(self.path)
        if not exists and (self.readonly or not create):
            raise CorpusError(f"no corpus at {self.path}")
        version: str | None = None
        if exists:
            probe = connect_readonly(self.path)
            try:
                version = schema_version(probe, self.path)
            except BaseException:
                probe.close()
                raise
            if self.readonly:
                if version is None:
                    probe.close()
                    raise CorpusError(f"{self.path} is empty")
                self.db = probe
                self.version = version
                return
            probe.close()
        else:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise CorpusError(f"cannot create {self.path.parent}: {exc.strerror}") from None
        self._lock = WriterLock(self.path)
        try:
            self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self._create_or_upgrade(version)
        except sqlite3.Error as exc:
            self.close()
            raise write_error(self.path, exc) from None
        except BaseException:
            self.close()
            raise
        self.version = SCHEMA_VERSION

    def _create_or_upgrade(self, version: str | None) -> None:
        if version == SCHEMA_VERSION:
            return
        with self.transaction():
            if version is None:
                self._execute_script(_SCHEMA + _PLATFORM_SCHEMA)
                self.db.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,)
                )
            else:
                self._execute_script(_PLATFORM_SCHEMA)
                self.db.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (SCHEMA_VERSION,))

    def _execute_script(self, script: str) -> None:
        for statement in script.split(";"):
            if statement.strip():
                self.db.execute(statement)

    def close(self) -> None:
        db = getattr(self, "db", None)
        if db is not None:
            db.close()
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> Corpus:
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        self.close()
        if isinstance(exc, sqlite3.DatabaseError):  # a corrupt page met while reading or writing
            if isinstance(exc, sqlite3.OperationalError) and not self.readonly:
                raise write_error(self.path, exc) from None
            raise CorpusError(f"{self.path} is not a readable fuzzjax corpus ({exc})") from None

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``; a failed write (full disk, read-only file)
        is rolled back and raised as ``CorpusError``."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise write_error(self.path, exc) from None
        try:
            yield
            self.db.execute("COMMIT")
        except BaseException as exc:
            with suppress(sqlite3.Error):
                self.db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.OperationalError):
                raise write_error(self.path, exc) from None
            raise

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
        """Options under which ``seed`` was processed, oldest first."""
        rows = self.db.execute("SELECT options FROM seeds WHERE seed = ? ORDER BY rowid", (seed,))
        return [str(r[0]) for r in rows]

    def distinct_options(self) -> list[str]:
        """Every generation options string the ``seeds`` table holds, in first-use order."""
        rows = self.db.execute("SELECT options FROM seeds GROUP BY options ORDER BY MIN(rowid)")
        return [str(r[0]) for r in rows]

    def pair_for_seed(self, seed: int, options: str) -> dict[str, Any] | None:
        row = self.db.execute(
            "SELECT * FROM pairs WHERE seed = ? AND options = ?", (seed, options)
        ).fetchone()
        return self._row(row) if row else None

    def iter_pairs(self, columns: list[str] | None = None) -> Iterator[dict[str, Any]]:
        """Stream pairs in id order without loading them all.

        JSON columns among ``columns`` (``options``, ``input_info``, ``op_counts``) are checked
        as they stream: a corrupt one raises ``CorpusError`` naming the row and column.
        """
        cols = ", ".join(["id", *columns]) if columns else "*"
        cursor = self.db.execute(f"SELECT {cols} FROM pairs ORDER BY id")
        names = [d[0] for d in cursor.description]
        checked = [(i, c) for i, c in enumerate(names) if c in JSON_COLUMNS]
        keep = slice(1, None) if columns else slice(None)
        at = names.index("id")
        for row in cursor:
            for i, column in checked:
                self.decode("pairs", column, row[at], row[i])
            yield dict(zip(names[keep], row[keep], strict=True))

    def _row(self, row: tuple[Any, ...]) -> dict[str, Any]:
        names = [d[1] for d in self.db.execute("PRAGMA table_info(pairs)")]
        return dict(zip(names, row, strict=False))

    def decode(self, table: str, column: str, row_id: object, text: object) -> Any:
        """The JSON value of a stored column, checked; ``CorpusError`` naming the row if not."""
        return decode_json(self.path, table, column, row_id, text)

    def outcome_counts(self) -> dict[str, int]:
        rows = self.db.execute("SELECT outcome, COUNT(*) FROM seeds GROUP BY outcome")
        return {r[0]: int(r[1]) for r in rows}

    def platform_irs(self, ir_hash: str) -> list[dict[str, Any]]:
        """The ``platform_ir`` rows of one pair, in platform name order."""
        if self.version == "1":  # opened read-only, not upgraded: no platform rows
            return []
        cursor = self.db.execute(
            f"SELECT {', '.join(PLATFORM_COLUMNS)} FROM platform_ir WHERE ir_hash = ? "
            "ORDER BY platform",
            (ir_hash,),
        )
        return [dict(zip(PLATFORM_COLUMNS, row, strict=True)) for row in cursor]

    def platform_count(self) -> int:
        """Number of ``platform_ir`` rows (0 for a CPU-only corpus)."""
        if self.version == "1":
            return 0
        return int(self.db.execute("SELECT COUNT(*) FROM platform_ir").fetchone()[0])

    def failure_count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM failures").fetchone()[0])


def _column_value(value: Any) -> Any:
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, sort_keys=True)
    return value
