"""Export a corpus as a dataset folder: typed Parquet or JSON Lines shards and a dataset card.

``python -m fuzzjax export --out DIR [--format parquet|jsonl] [--split [T,V,T]] [--db PATH]``

``DIR`` receives the Hugging Face layout:

* ``data/{split}-NNNNN-of-MMMMM.{parquet,jsonl}``: ``train`` only without ``--split``, else
  ``train``, ``validation`` and ``test`` (every split gets at least one shard, maybe empty).
  A shard is closed once it holds ``max_shard_bytes`` of (uncompressed) data; Parquet shards
  are written in row groups of ``batch_size`` rows, so memory does not grow with the corpus;
* ``README.md``, the dataset card (``fuzzjax.corpus.card``), whose ``configs`` point at the
  shards and whose ``dataset_info`` types every column.

Columns and types: ``fuzzjax.corpus.columns``. Splits are assigned by IR hash (``split_of``):
the same canonical StableHLO always lands in the same split, in any corpus, so no IR is in two
splits.

The export is atomic. It is built in a temporary sibling folder (``.DIR.export-PID-XXXX``)
and swapped in with one rename (``renameat2(RENAME_EXCHANGE)`` when ``DIR`` already holds an
export, where Linux has it; two renames elsewhere). A kill at any moment leaves either the old
export or the new one, never a mix; a killed export's temporary folder is removed by the next
export once its process is gone. ``DIR`` may be missing, empty or hold an export (replaced
only with ``force``); a folder with anything else in it is refused.
"""

from __future__ import annotations

import math
import re
import shlex
import shutil
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fuzzjax.corpus.atomic import Hold, new_build, swap_in
from fuzzjax.corpus.card import SPLITS, CardFacts, dataset_card
from fuzzjax.corpus.columns import (
    FROM_CORPUS,
    export_row,
    parquet_schema,
    platform_columns,
)
from fuzzjax.corpus.provenance import (
    build_flags,
    corpus_versions,
    option_groups,
    user_pairs,
)
from fuzzjax.corpus.shards import Limits, SplitWriter
from fuzzjax.corpus.store import Corpus
from fuzzjax.errors import FuzzjaxError, MissingDependency

FORMATS = ("parquet", "jsonl")
DEFAULT_SPLIT = (0.9, 0.05, 0.05)
DEFAULT_BATCH_SIZE = 1024
DEFAULT_SHARD_MB = 256
INSTALL_HINT = "pip install 'fuzzjax[dataset]'"
SHARD_NAME = re.compile(r"^(train|validation|test)-\d{5}-of-\d{5}\.(parquet|jsonl)$")
#: What an export folder may hold (the old flat layout included, so it can be replaced).
_EXPORT_ENTRIES = {"README.md", "data"} | {
    f"{stem}.{fmt}" for stem in ("data", *SPLITS) for fmt in FORMATS
}


def parse_split(text: str) -> tuple[float, float, float]:
    """``"0.9,0.05,0.05"`` -> fractions; ValueError unless 3 non-negative numbers summing to 1."""
    parts = text.split(",")
    if len(parts) != 3:
        raise ValueError(
            f"--split {text!r} must be three comma-separated fractions "
            "train,validation,test (e.g. 0.9,0.05,0.05)"
        )
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"--split {text!r} must be numbers, e.g. 0.9,0.05,0.05") from None
    if any(not math.isfinite(v) or v < 0 for v in values):
        raise ValueError(f"--split {text!r}: every fraction must be >= 0")
    if abs(sum(values) - 1.0) > 1e-6:
        raise ValueError(f"--split {text!r}: fractions sum to {sum(values):g}, not 1")
    return values[0], values[1], values[2]


def split_of(ir_hash: str, fractions: Sequence[float]) -> str:
    """Split of an IR: its hash's first 64 bits as a fraction of 2**64, against cumulative cuts."""
    point = int(ir_hash[:16], 16) / 2**64
    cut = 0.0
    for name, fraction in zip(SPLITS[:-1], fractions[:-1], strict=True):
        cut += fraction
        if point < cut:
            return name
    return SPLITS[-1]


def iter_export_rows(
    corpus: Corpus, fractions: Sequence[float] | None = None, *, platforms: bool | None = None
) -> Iterator[dict[str, Any]]:
    """Stream exported rows in id order, with a ``split`` column when ``fractions`` is given.

    ``platforms=True`` adds the platform columns from ``platform_ir``; the default adds them
    when the corpus has platform rows.
    """
    if platforms is None:
        platforms = corpus.platform_count() > 0
    for pair in corpus.iter_pairs(FROM_CORPUS):
        row = export_row(pair)
        if platforms:
            row.update(platform_columns(corpus.platform_irs(row["ir_hash"])))
        if fractions is not None:
            row["split"] = split_of(row["ir_hash"], fractions)
        yield row


def require_pyarrow() -> None:
    """``MissingDependency`` with the install command when pyarrow is missing."""
    try:
        import pyarrow  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise MissingDependency(f"--format parquet needs pyarrow: {INSTALL_HINT}") from None


# ---- export ----


@dataclass
class ExportSummary:
    """What an export wrote, and the counts its dataset card reports."""

    out_dir: Path
    files: dict[str, list[Path]] = field(default_factory=dict)  # per split, final paths
    rows: Counter[str] = field(default_factory=Counter)
    depths: Counter[str] = field(default_factory=Counter)
    categories: Counter[str] = field(default_factory=Counter)
    dtypes: Counter[str] = field(default_factory=Counter)
    platforms: Counter[str] = field(default_factory=Counter)
    platform_differs: int = 0
    example: dict[str, Any] | None = None

    @property
    def total(self) -> int:
        return sum(self.rows.values())

    def count(self, row: dict[str, Any], split: str) -> None:
        if self.example is None:
            self.example = row
        self.rows[split] += 1
        self.depths["n/a" if row["depth"] is None else str(row["depth"])] += 1
        self.categories[str(row["category"])] += 1
        self.dtypes.update(set(row["dtypes"]))
        self.platforms.update(row.get("platforms") or ())
        self.platform_differs += bool(row.get("platform_differs"))

    def line(self) -> str:
        per_split = ", ".join(
            f"{k} {n} in {len(self.files.get(k, []))} shards" for k, n in self.rows.items()
        )
        return f"exported {self.total} pairs ({per_split}) to {self.out_dir}: data/ README.md"


def export_corpus(
    corpus: Corpus,
    out_dir: str | Path,
    *,
    fmt: str = "parquet",
    fractions: Sequence[float] | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_shard_bytes: int = DEFAULT_SHARD_MB << 20,
    force: bool = False,
    db_label: str | None = None,
) -> ExportSummary:
    """Write ``corpus`` as a dataset folder (see the module docstring); return a summary.

    Raises ``FileExistsError`` when ``out_dir`` holds an export and not ``force``,
    ``FuzzjaxError`` when it holds files that are not an export's, ``CorpusError`` for a
    malformed stored row.
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt={fmt!r} must be one of {FORMATS}")
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size} must be >= 1")
    if max_shard_bytes < 1:
        raise ValueError(f"max_shard_bytes={max_shard_bytes} must be >= 1")
    out = Path(out_dir)
    existing = _check_target(out, force)
    build = new_build(out)
    hold = Hold.from_environment()
    try:
        summary = _write(corpus, build, out, fmt, fractions, batch_size, max_shard_bytes, hold)
        summary.out_dir = out
        card = _card_facts(corpus, summary, fmt, fractions, db_label or str(corpus.path), out)
        (build / "README.md").write_text(dataset_card(card), encoding="utf-8")
        hold.finished("README.md")
        hold.before_swap()
        swap_in(build, out, existing)
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    summary.files = {k: [out / "data" / p.name for p in v] for k, v in summary.files.items()}
    return summary


def _write(
    corpus: Corpus,
    build: Path,
    out: Path,
    fmt: str,
    fractions: Sequence[float] | None,
    batch_size: int,
    max_shard_bytes: int,
    hold: Hold,
) -> ExportSummary:
    data = build / "data"
    data.mkdir()
    with_platforms = corpus.platform_count() > 0
    schema = None
    if fmt == "parquet":
        schema = parquet_schema(fractions is not None, with_platforms)
    limits = Limits(batch_size, max_shard_bytes, hold.finished)
    names = list(SPLITS) if fractions is not None else ["train"]
    splits = {name: SplitWriter(data, name, fmt, schema, limits) for name in names}
    summary = ExportSummary(out, rows=Counter({name: 0 for name in names}))
    try:
        for row in iter_export_rows(corpus, fractions, platforms=with_platforms):
            split = row.get("split", "train")
            splits[split].write(row)
            summary.count(row, split)
        summary.files = {name: split.close() for name, split in splits.items()}
    except BaseException:
        for split in splits.values():
            split.abandon()
        raise
    return summary


def _card_facts(
    corpus: Corpus,
    s: ExportSummary,
    fmt: str,
    fractions: Sequence[float] | None,
    db_label: str,
    out: Path,
) -> CardFacts:
    hlo, platforms = build_flags(corpus)
    groups = option_groups(corpus)
    recorded = corpus.db.execute("SELECT value FROM meta WHERE key = 'command'").fetchone()
    export = ["python", "-m", "fuzzjax", "export", "--db", db_label, "--out", str(out)]
    export += ["--format", fmt]
    if fractions is not None:
        export += ["--split", ",".join(f"{x:g}" for x in fractions)]

    return CardFacts(
        fmt=fmt,
        fractions=fractions,
        rows=dict(s.rows),
        shards={k: len(v) for k, v in s.files.items()},
        with_platforms=corpus.platform_count() > 0,
        example=s.example,
        depths=s.depths,
        categories=s.categories,
        dtypes=s.dtypes,
        platforms=s.platforms,
        platform_differs=s.platform_differs,
        versions=corpus_versions(corpus),
        groups=groups,
        commands=[g.command(db_label, hlo=hlo, platforms=platforms) for g in groups],
        user_pairs=user_pairs(corpus),
        recorded_command=str(recorded[0]) if recorded else None,
        export_command=shlex.join(export),
    )


def _check_target(out: Path, force: bool) -> bool:
    """Whether ``out`` holds an export (to be replaced); raises when it may not be written."""
    if not out.exists():
        return False
    if not out.is_dir():
        raise FuzzjaxError(f"--out {out} is a file; give a folder")
    entries = sorted(p.name for p in out.iterdir())
    foreign = [n for n in entries if n not in _EXPORT_ENTRIES]
    data = out / "data"
    if data.is_dir():
        foreign += [f"data/{p.name}" for p in data.iterdir() if not SHARD_NAME.match(p.name)]
    elif data.exists():
        foreign.append("data")
    if foreign:
        shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        raise FuzzjaxError(
            f"--out {out} holds files that are not a fuzzjax export ({shown}); "
            "choose a new or empty folder"
        )
    if entries and not force:
        raise FileExistsError(f"{out} already holds an export ({', '.join(entries)})")
    return bool(entries)
