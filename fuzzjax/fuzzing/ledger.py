"""The campaign ledger: what every fuzz run into one ``--out`` folder has found and tested.

``<out>/campaign.sqlite`` keeps, across runs: each run (command, versions, counts), each bucket
(first and last seen, hits, the versions it was seen with), the coverage count of every cell
(``fuzzjax.fuzzing.coverage``) and a coverage time series per run. A second run into the same
folder continues the coverage counts (so its generation weights start where the last run
stopped) and reports its new buckets apart from the known ones.

A ledger belongs to one mode: 32-bit runs or ``fuzz --x64`` runs (meta ``mode``; ledgers from
before the key are 32-bit). Their cells and buckets are not comparable (x64 programs have other
dtypes, edge values and promotion), so a run of the other mode into the folder is refused.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from fuzzjax.errors import CorpusError
from fuzzjax.fuzzing.case import Signature, Stage, Symptom

SCHEMA_VERSION = 1
LEDGER_NAME = "campaign.sqlite"
MODES = {False: "32-bit", True: "x64"}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, started TEXT NOT NULL, ended TEXT, command TEXT NOT NULL,
    versions TEXT NOT NULL, programs INTEGER NOT NULL DEFAULT 0,
    tests INTEGER NOT NULL DEFAULT 0, seconds REAL NOT NULL DEFAULT 0,
    new_buckets INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS buckets (
    key TEXT PRIMARY KEY, stage TEXT NOT NULL, symptom TEXT NOT NULL, ops TEXT NOT NULL,
    dtype TEXT NOT NULL, first_seen TEXT NOT NULL, last_seen TEXT NOT NULL,
    first_run INTEGER NOT NULL, last_run INTEGER NOT NULL, hits INTEGER NOT NULL,
    versions TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS coverage (
    cell TEXT PRIMARY KEY, count INTEGER NOT NULL, first_run INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS series (
    run INTEGER NOT NULL, seconds REAL NOT NULL, programs INTEGER NOT NULL,
    tests INTEGER NOT NULL, pair INTEGER NOT NULL, dtype INTEGER NOT NULL,
    class INTEGER NOT NULL, pairclass INTEGER NOT NULL
);
"""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Ledger:
    """The campaign database of one failures folder."""

    def __init__(self, path: Path, x64: bool = False) -> None:
        self.path = path
        existed = path.exists()
        try:
            self.db = sqlite3.connect(path, isolation_level=None)
            version = self._check()
            if version is not None:
                self._check_mode(x64)
            self.db.executescript(_SCHEMA)
            if version is None:
                self.db.execute(
                    "INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
                )
            self.db.execute("INSERT OR IGNORE INTO meta VALUES ('mode', ?)", (MODES[x64],))
        except CorpusError:
            self.db.close()
            raise
        except sqlite3.DatabaseError as exc:
            with contextlib.suppress(AttributeError, sqlite3.Error):
                self.db.close()
            if not existed:  # leave no empty ledger behind
                path.unlink(missing_ok=True)
            if "disk is full" in str(exc):
                raise CorpusError(f"cannot write {path}: No space left on device") from None
            raise CorpusError(f"{path} is not a readable fuzzjax campaign ledger ({exc})") from None
        self.run_id = 0
        #: Bucket keys known before this run.
        self.known = {key for (key,) in self.db.execute("SELECT key FROM buckets")}

    def _check(self) -> int | None:
        tables = {n for (n,) in self.db.execute("SELECT name FROM sqlite_master")}
        if not tables:
            return None
        if "meta" not in tables or "buckets" not in tables:
            raise CorpusError(f"{self.path} is an SQLite file but not a fuzzjax campaign ledger")
        row = self.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None or int(row[0]) > SCHEMA_VERSION:
            raise CorpusError(f"{self.path}: unknown campaign ledger schema")
        return int(row[0])

    def _check_mode(self, x64: bool) -> None:
        """``CorpusError`` when the ledger holds runs of the other mode (read only)."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'mode'").fetchone()
        mode = row[0] if row is not None else MODES[False]
        if mode != MODES[x64]:
            raise CorpusError(
                f"{self.path} holds {mode} fuzz runs; a {MODES[x64]} run needs its own --out "
                "folder (coverage and buckets of the two modes are not comparable)"
            )

    def close(self) -> None:
        self.db.close()

    def start_run(self, command: str, versions: dict[str, str]) -> int:
        cur = self.db.execute(
            "INSERT INTO runs (started, command, versions) VALUES (?, ?, ?)",
            (_now(), command, json.dumps(versions, sort_keys=True)),
        )
        self.run_id = int(cur.lastrowid or 0)
        self.versions = versions
        return self.run_id

    def end_run(self, programs: int, tests: int, seconds: float, new_buckets: int) -> None:
        self.db.execute(
            "UPDATE runs SET ended = ?, programs = ?, tests = ?, seconds = ?, new_buckets = ? "
            "WHERE id = ?",
            (_now(), programs, tests, seconds, new_buckets, self.run_id),
        )

    def hit(self, sig: Signature) -> bool:
        """Count a hit of ``sig``'s bucket; True when the bucket is new to the campaign."""
        key, now = sig.key(), _now()
        row = self.db.execute("SELECT versions FROM buckets WHERE key = ?", (key,)).fetchone()
        jax_version = self.versions.get("jax", "?")
        if row is None:
            self.db.execute(
                "INSERT INTO buckets VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
                (
                    key,
                    sig.stage.value,
                    sig.symptom.value,
                    "+".join(sig.ops),
                    sig.dtype,
                    now,
                    now,
                    self.run_id,
                    self.run_id,
                    json.dumps([jax_version]),
                ),
            )
        else:
            seen = sorted(set(json.loads(row[0])) | {jax_version})
            self.db.execute(
                "UPDATE buckets SET last_seen = ?, last_run = ?, hits = hits + 1, versions = ? "
                "WHERE key = ?",
                (now, self.run_id, json.dumps(seen), key),
            )
        return key not in self.known

    def bucket(self, key: str) -> dict[str, Any] | None:
        cur = self.db.execute("SELECT * FROM buckets WHERE key = ?", (key,))
        row = cur.fetchone()
        if row is None:
            return None
        return dict(zip([c[0] for c in cur.description], row, strict=True))

    def signatures(self) -> list[tuple[Signature, int]]:
        """Every bucket's signature and hits, all runs (rows that do not parse are skipped)."""
        found = []
        for stage, symptom, ops, dtype, hits in self.db.execute(
            "SELECT stage, symptom, ops, dtype, hits FROM buckets"
        ):
            try:
                sig = Signature(Stage(stage), Symptom(symptom), tuple(ops.split("+")), dtype)
                found.append((sig, int(hits)))
            except (ValueError, TypeError, AttributeError):
                continue
        return found

    def coverage_counts(self) -> Counter[str]:
        return Counter(dict(self.db.execute("SELECT cell, count FROM coverage").fetchall()))

    def add_coverage(self, cells: Iterable[str]) -> None:
        rows = [(cell, self.run_id) for cell in cells]
        self.db.execute("BEGIN")
        self.db.executemany(
            "INSERT INTO coverage VALUES (?, 1, ?) "
            "ON CONFLICT(cell) DO UPDATE SET count = count + 1",
            rows,
        )
        self.db.execute("COMMIT")

    def add_point(self, seconds: float, programs: int, tests: int, reached: dict[str, int]) -> None:
        self.db.execute(
            "INSERT INTO series VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                self.run_id,
                seconds,
                programs,
                tests,
                reached["pair"],
                reached["dtype"],
                reached["class"],
                reached["pairclass"],
            ),
        )

    def series(self) -> list[dict[str, Any]]:
        """Every run's coverage points, with the run's start offset in campaign seconds."""
        cur = self.db.execute("SELECT * FROM series ORDER BY run, seconds")
        names = [c[0] for c in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def plot_coverage(series: list[dict[str, Any]], path: Path) -> Path | None:
    """Cells reached over campaign time, one line per kind, as a PNG (None without
    matplotlib or points). Runs follow each other on the time axis."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return None
    if not series:
        return None
    offset, last_run, last_seconds = 0.0, None, 0.0
    xs: list[float] = []
    for point in series:
        if point["run"] != last_run:
            offset += last_seconds
            last_run = point["run"]
        xs.append((offset + float(point["seconds"])) / 60)
        last_seconds = float(point["seconds"])
    fig = Figure(figsize=(8, 4.5), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    for kind, label in (
        ("pair", "operation pairs"),
        ("dtype", "(operation, dtype)"),
        ("class", "(operation, input class)"),
        ("pairclass", "(operation pair, input class)"),
    ):
        ax.plot(xs, [p[kind] for p in series], label=label)
    ax.set_title("Fuzz coverage over the campaign")
    ax.set_xlabel("campaign time (minutes, runs back to back)")
    ax.set_ylabel("cells reached")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.savefig(path)
    return path
