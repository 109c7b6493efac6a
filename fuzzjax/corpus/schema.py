"""The corpus file format: table definitions, and the checks a file passes before it is used.

``check_file`` and ``schema_version`` look at a file without changing it (a read-only SQLite
connection), so a file that is not a fuzzjax corpus, or one of another schema, is refused
byte-identical. ``decode_json`` checks a stored JSON column when it is read.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
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


SQLITE_MAGIC = b"SQLite format 3\x00"

#: Columns each table must have (more are allowed): a table of the same name with other
#: columns is some other program's database, refused before anything is read or written.
REQUIRED_COLUMNS = {
    "meta": {"key", "value"},
    "pairs": {"id", *PAIR_COLUMNS, "created_at"},
    "seeds": {"seed", "options", "outcome", "ir_hash", "depth"},
    "failures": {"id", "seed", "options", "stage", "error", "source", "jax_version", "created_at"},
}
PLATFORM_REQUIRED_COLUMNS = {"platform_ir": set(PLATFORM_COLUMNS)}


def check_file(path: Path) -> bool:
    """True when ``path`` is an SQLite file, False when it does not exist; ``CorpusError`` for
    a folder, an empty (0-byte) file, an unreadable file or a file that is not SQLite."""
    if not path.exists():
        return False
    if path.is_dir():
        raise CorpusError(f"{path} is a folder, not a corpus file")
    try:
        with path.open("rb") as f:
            magic = f.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise CorpusError(f"cannot read {path}: {exc.strerror}") from None
    if not magic:
        raise CorpusError(
            f"{path} is an empty file (0 bytes), not a corpus; "
            "remove it to start a new corpus there"
        )
    if magic != SQLITE_MAGIC:
        raise CorpusError(f"{path} is not a readable fuzzjax corpus (not an SQLite file)")
    return True


def connect_readonly(path: Path) -> sqlite3.Connection:
    """A read-only (``mode=ro``) connection: it never writes to the file, whatever it holds."""
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
        db.execute("PRAGMA query_only = 1")
    except sqlite3.Error as exc:
        raise CorpusError(f"{path} is not a readable fuzzjax corpus ({exc})") from None
    return db


def schema_version(db: sqlite3.Connection, path: Path) -> str | None:
    """The corpus schema version of an open file, None for an SQLite file without tables.

    ``CorpusError`` for a database that is not a fuzzjax corpus (other tables, or tables of the
    same names with other columns), of an unknown version, or unreadable (corrupt pages).
    """
    try:
        listing = db.execute("SELECT name, type FROM sqlite_master")
        tables = {name for name, kind in listing if kind == "table"}
        if not tables or tables == {"meta"}:
            return None
        if "pairs" not in tables:
            raise CorpusError(f"{path} is an SQLite file but not a fuzzjax corpus")
        for table, required in REQUIRED_COLUMNS.items():
            _require_columns(db, path, tables, table, required)
        row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if not row or row[0] not in READABLE_SCHEMAS:
            raise CorpusError(f"{path} has an unknown corpus schema ({row[0] if row else 'none'})")
        if row[0] == SCHEMA_VERSION:
            for table, required in PLATFORM_REQUIRED_COLUMNS.items():
                _require_columns(db, path, tables, table, required)
        return str(row[0])
    except sqlite3.DatabaseError as exc:
        raise CorpusError(f"{path} is not a readable fuzzjax corpus ({exc})") from None


def _require_columns(
    db: sqlite3.Connection, path: Path, tables: set[str], table: str, required: set[str]
) -> None:
    if table not in tables:
        raise CorpusError(f"{path} is an SQLite file but not a fuzzjax corpus (no {table} table)")
    have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
    missing = sorted(required - have)
    if missing:
        raise CorpusError(
            f"{path} is an SQLite file but not a fuzzjax corpus "
            f"(its {table} table lacks {', '.join(missing)})"
        )


def write_error(path: Path, exc: sqlite3.Error) -> CorpusError:
    """The ``CorpusError`` of a failed write: full disk, read-only file, lock, corruption."""
    text = str(exc)
    reasons = {
        "database or disk is full": "the disk is full",
        "readonly database": "the file or its folder is read-only",
        "database is locked": "another process holds a lock on it",
        "unable to open database": "it cannot be opened for writing",
    }
    reason = next((r for k, r in reasons.items() if k in text), text)
    return CorpusError(f"cannot write {path}: {reason}")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_args(value: object) -> bool:
    return isinstance(value, list) and all(
        isinstance(a, dict)
        and isinstance(a.get("name"), str)
        and isinstance(a.get("dtype"), str)
        and isinstance(a.get("shape"), list)
        and all(_is_int(d) and d >= 0 for d in a["shape"])
        for a in value
    )


def _is_counts(value: object) -> bool:
    return isinstance(value, dict) and all(_is_int(n) for n in value.values())


#: Stored JSON columns and what each must decode to (``options`` may be NULL: user pairs).
JSON_COLUMNS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "options": (lambda v: v is None or isinstance(v, dict), "a JSON object"),
    "input_info": (_is_args, "a JSON list of {name, shape, dtype}"),
    "op_counts": (_is_counts, "a JSON object of counts"),
    "custom_calls": (_is_counts, "a JSON object of counts"),
}


def decode_json(path: Path, table: str, column: str, row_id: object, text: object) -> Any:
    """The value of a stored JSON column; ``CorpusError`` naming the row when it is corrupt."""
    check, shape = JSON_COLUMNS[column]
    if text is None and column == "options":
        return None
    try:
        value = json.loads(text) if isinstance(text, (str, bytes)) else ...
    except ValueError:
        value = ...
    if value is ... or not check(value):
        shown = repr(text)[:60]
        raise CorpusError(
            f"{path} is corrupt: {table} row {row_id} has {column}={shown}, not {shape}"
        )
    return value


def check_rows(db: sqlite3.Connection, path: Path) -> None:
    """Check every stored JSON column of an open corpus (``CorpusError`` at the first bad one).

    ``merge`` runs this over each source before it touches the target, so a corrupt source
    is refused whole instead of half-merged.
    """
    queries = [
        ("pairs", ("options", "input_info", "op_counts"), "rowid"),
        ("seeds", ("options",), "seed"),
    ]
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "platform_ir" in tables:
        queries.append(("platform_ir", ("op_counts", "custom_calls"), "ir_hash"))
    try:
        for table, columns, key in queries:
            cursor = db.execute(f"SELECT {key}, {', '.join(columns)} FROM {table}")
            for row in cursor:
                for column, text in zip(columns, row[1:], strict=True):
                    if table == "seeds" and text is None:
                        text = "null-options"  # seeds always record their options
                    decode_json(path, table, column, row[0], text)
    except sqlite3.DatabaseError as exc:
        raise CorpusError(f"{path} is not a readable fuzzjax corpus ({exc})") from None
