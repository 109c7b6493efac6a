"""Export a corpus as a dataset: Parquet or JSON Lines, optional split, and a dataset card.

``python -m fuzzjax export --out DIR [--format parquet|jsonl] [--split [T,V,T]] [--db PATH]``

``--out`` is always a directory (created when missing). It receives:

* ``data.parquet`` (or ``data.jsonl``) without ``--split``;
* ``train.*``, ``validation.*`` and ``test.*`` with ``--split`` (every file is written, even
  an empty one; every row also carries its ``split`` column);
* ``README.md``, the dataset card (fields, versions, counts, license).

These file names follow the Hugging Face ``datasets`` conventions (and the card lists them
per split). An existing export in ``DIR`` is only replaced with ``--force``.

Rows are streamed from ``Corpus.iter_pairs()``: JSON Lines one line at a time, Parquet in
record batches of ``batch_size`` rows (one Parquet row group per batch), so memory does not
grow with the corpus. Files are written under a temporary name and renamed when complete.

Splits are assigned by IR hash (``split_of``): the same canonical StableHLO always lands in
the same split, in this corpus and in any other, so no IR is in two splits.

A corpus with ``platform_ir`` rows (built with ``--platforms``/``--export-artifacts``) adds the
columns ``PLATFORM_FIELDS`` (``platforms``, ``platform_differs``, ``platform_ir``); a CPU-only
corpus exports exactly ``COLUMNS``. Artifacts are Arrow ``binary`` in Parquet and base64 text
in JSON Lines.
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from fuzzjax.corpus.store import Corpus
from fuzzjax.errors import MissingDependency

FORMATS = ("parquet", "jsonl")
SPLITS = ("train", "validation", "test")
DEFAULT_SPLIT = (0.9, 0.05, 0.05)
DEFAULT_BATCH_SIZE = 1024
INSTALL_HINT = "pip install 'fuzzjax[dataset]'"

#: The exported columns, in file order: name -> (type, meaning). One table for the files,
#: the Parquet schema and the dataset card; ``split`` is written only when splitting.
FIELDS = {
    "id": ("int64", "row id in the source corpus"),
    "seed": ("int64", "seed that generates the program; null for user functions"),
    "options": ("string", "generation options of the seed (JSON); null for user functions"),
    "category": ("string", "operator family; `user` for functions added with `fuzzjax add`"),
    "operation": ("string", "outermost grammar alternative (user functions: function name)"),
    "depth": ("int64", "expression depth under the fuzzjax grammar; null when unmeasured"),
    "source": ("string", "Python source of the function"),
    "stablehlo": ("string", "canonical StableHLO text (locations stripped, names normalised)"),
    "hlo": ("string", "XLA HLO text; null unless the corpus was built with --hlo"),
    "ir_hash": ("string", "sha256 of `stablehlo`; unique in the dataset"),
    "op_counts": ("string", "JSON object: number of each op kind in `stablehlo`"),
    "input_info": ("list<struct>", "the parameters: list of {name, shape (list<int64>), dtype}"),
    "signature": ("string", "input and result types"),
    "dtypes": ("list<string>", "parameter dtypes in order (from `input_info`)"),
    "jax_version": ("string", "jax version that lowered the function"),
    "jaxlib_version": ("string", "jaxlib version that lowered the function"),
    "grammar_sha": ("string", "sha256 of grammar/jnp.lark; null for user functions"),
    "fuzzjax_version": ("string", "fuzzjax version that stored the pair"),
    "platforms": ("list<string>", "platforms lowered with jax.export (`--platforms`), in order"),
    "platform_differs": (
        "bool",
        "true when the platforms' StableHLO texts are not all equal; null with < 2 platforms",
    ),
    "platform_ir": (
        "list<struct<platform_ir>>",
        "per platform: {platform, stablehlo (canonical jax.export text), platform_hash (its "
        "sha256), op_counts (JSON), custom_calls (JSON: target -> count), artifact "
        "(jax.export serialized bytes or null; base64 text in JSON Lines)}",
    ),
    "split": ("string", "train, validation or test (only with --split)"),
}
#: Columns added when the corpus has ``platform_ir`` rows.
PLATFORM_FIELDS = ("platforms", "platform_differs", "platform_ir")
COLUMNS = tuple(c for c in FIELDS if c != "split" and c not in PLATFORM_FIELDS)
_PLATFORM_KEYS = ("platform", "stablehlo", "platform_hash", "op_counts", "custom_calls", "artifact")
_FROM_CORPUS = [c for c in COLUMNS if c != "dtypes"]

_EXPORT_NAMES = {f"{stem}.{fmt}" for stem in ("data", *SPLITS) for fmt in FORMATS}
_EXPORT_NAMES.add("README.md")


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


def export_row(pair: dict[str, Any]) -> dict[str, Any]:
    """The exported form of a corpus row (``input_info`` as a list, plus ``dtypes``)."""
    info = [
        {"name": str(a["name"]), "shape": [int(d) for d in a["shape"]], "dtype": str(a["dtype"])}
        for a in json.loads(pair["input_info"])
    ]
    row = {c: pair[c] for c in _FROM_CORPUS}
    row["input_info"] = info
    row["dtypes"] = [a["dtype"] for a in info]
    return {c: row[c] for c in COLUMNS}


def platform_columns(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """``PLATFORM_FIELDS`` of one pair from its ``Corpus.platform_irs`` rows."""
    hashes = {r["platform_hash"] for r in rows}
    return {
        "platforms": [r["platform"] for r in rows],
        "platform_differs": len(hashes) > 1 if len(rows) > 1 else None,
        "platform_ir": [{k: r[k] for k in _PLATFORM_KEYS} for r in rows],
    }


def iter_export_rows(
    corpus: Corpus, fractions: Sequence[float] | None = None, *, platforms: bool | None = None
) -> Iterator[dict[str, Any]]:
    """Stream exported rows in id order, with a ``split`` column when ``fractions`` is given.

    ``platforms=True`` adds the ``PLATFORM_FIELDS`` columns from ``platform_ir``; the default
    adds them when the corpus has platform rows.
    """
    if platforms is None:
        platforms = corpus.platform_count() > 0
    for pair in corpus.iter_pairs(_FROM_CORPUS):
        row = export_row(pair)
        if platforms:
            row.update(platform_columns(corpus.platform_irs(row["ir_hash"])))
        if fractions is not None:
            row["split"] = split_of(row["ir_hash"], fractions)
        yield row


# ---- writers ----


class _Sink(Protocol):
    def write(self, row: dict[str, Any]) -> None: ...
    def close(self) -> None: ...


class _JsonlSink:
    def __init__(self, path: Path) -> None:
        self.file = path.open("w", encoding="utf-8", newline="\n")

    def write(self, row: dict[str, Any]) -> None:
        self.file.write(json.dumps(row, ensure_ascii=False, default=_base64) + "\n")

    def close(self) -> None:
        self.file.close()


def _base64(value: object) -> str:
    """JSON encoding of bytes (``platform_ir[].artifact``): base64 text."""
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class _ParquetSink:
    """Buffers at most ``batch_size`` rows, then writes them as one record batch (row group)."""

    def __init__(
        self, path: Path, with_split: bool, batch_size: int, with_platforms: bool = False
    ) -> None:
        import pyarrow.parquet as pq

        self.schema = parquet_schema(with_split, with_platforms)
        self.writer = pq.ParquetWriter(str(path), self.schema, compression="zstd")
        self.batch_size = batch_size
        self.rows: list[dict[str, Any]] = []

    def write(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        if len(self.rows) >= self.batch_size:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        if self.rows:
            self.writer.write_batch(pa.RecordBatch.from_pylist(self.rows, schema=self.schema))
            self.rows = []

    def close(self) -> None:
        self._flush()
        self.writer.close()


def export_columns(with_split: bool = False, with_platforms: bool = False) -> list[str]:
    """Exported column names in file order."""
    return [
        *COLUMNS,
        *(PLATFORM_FIELDS if with_platforms else ()),
        *(["split"] if with_split else []),
    ]


def parquet_schema(with_split: bool = False, with_platforms: bool = False) -> Any:
    """The Arrow schema of exported rows (a ``pyarrow.Schema``), from ``FIELDS``."""
    import pyarrow as pa

    arg = pa.struct(
        [("name", pa.string()), ("shape", pa.list_(pa.int64())), ("dtype", pa.string())]
    )
    platform_ir = pa.struct(
        [(k, pa.binary() if k == "artifact" else pa.string()) for k in _PLATFORM_KEYS]
    )
    types = {
        "int64": pa.int64(),
        "string": pa.string(),
        "bool": pa.bool_(),
        "list<string>": pa.list_(pa.string()),
        "list<struct>": pa.list_(arg),
        "list<struct<platform_ir>>": pa.list_(platform_ir),
    }
    names = export_columns(with_split, with_platforms)
    return pa.schema([pa.field(n, types[FIELDS[n][0]], nullable=n != "id") for n in names])


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
    files: dict[str, Path] = field(default_factory=dict)
    rows: Counter[str] = field(default_factory=Counter)
    depths: Counter[str] = field(default_factory=Counter)
    categories: Counter[str] = field(default_factory=Counter)
    #: rows per platform and rows whose platforms differ (``--platforms`` corpora only)
    platforms: Counter[str] = field(default_factory=Counter)
    platform_differs: int = 0
    versions: dict[str, Counter[str]] = field(default_factory=dict)
    generated: dict[str, list[int]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.rows.values())

    def count(self, row: dict[str, Any], file_key: str) -> None:
        self.rows[file_key] += 1
        self.depths["n/a" if row["depth"] is None else str(row["depth"])] += 1
        self.categories[str(row["category"])] += 1
        self.platforms.update(row.get("platforms") or ())
        self.platform_differs += bool(row.get("platform_differs"))
        for key in ("jax_version", "jaxlib_version", "grammar_sha", "fuzzjax_version"):
            self.versions.setdefault(key, Counter())[str(row[key])] += 1
        if row["seed"] is not None and row["options"] is not None:
            low_high_n = self.generated.setdefault(row["options"], [row["seed"], row["seed"], 0])
            low_high_n[0] = min(low_high_n[0], row["seed"])
            low_high_n[1] = max(low_high_n[1], row["seed"])
            low_high_n[2] += 1

    def line(self) -> str:
        per_file = ", ".join(f"{k} {n}" for k, n in self.rows.items())
        names = " ".join(p.name for p in self.files.values())
        return f"exported {self.total} pairs ({per_file}) to {self.out_dir}: {names} README.md"


def export_corpus(
    corpus: Corpus,
    out_dir: str | Path,
    *,
    fmt: str = "parquet",
    fractions: Sequence[float] | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    force: bool = False,
    db_label: str | None = None,
) -> ExportSummary:
    """Write ``corpus`` as a dataset directory (see the module docstring); return a summary.

    Raises ``FileExistsError`` when ``out_dir`` already holds an export and not ``force``.
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt={fmt!r} must be one of {FORMATS}")
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size} must be >= 1")
    out = Path(out_dir)
    with_platforms = corpus.platform_count() > 0
    keys = list(SPLITS) if fractions is not None else ["data"]
    targets = {k: out / f"{k}.{fmt}" for k in keys}
    stale = sorted(p.name for p in _existing_export(out))
    if stale and not force:
        raise FileExistsError(f"{out} already holds an export ({', '.join(stale)})")
    out.mkdir(parents=True, exist_ok=True)
    temps = {k: p.with_name(f".{p.name}.tmp") for k, p in targets.items()}
    summary = ExportSummary(out, files=targets, rows=Counter({k: 0 for k in keys}))
    sinks: dict[str, _Sink] = {}
    try:
        for k, tmp in temps.items():
            sinks[k] = (
                _ParquetSink(tmp, fractions is not None, batch_size, with_platforms)
                if fmt == "parquet"
                else _JsonlSink(tmp)
            )
        for row in iter_export_rows(corpus, fractions):
            key = row.get("split", "data")
            sinks[key].write(row)
            summary.count(row, key)
        for sink in sinks.values():
            sink.close()
        card = dataset_card(
            summary, fmt=fmt, fractions=fractions, db_label=db_label, command=_meta_command(corpus)
        )
        (out / ".README.md.tmp").write_text(card, encoding="utf-8")
    except BaseException:
        for sink in sinks.values():
            with contextlib.suppress(Exception):
                sink.close()
        for tmp in [*temps.values(), out / ".README.md.tmp"]:
            tmp.unlink(missing_ok=True)
        raise
    for name in set(stale) - {p.name for p in targets.values()} - {"README.md"}:
        (out / name).unlink()
    for k, tmp in temps.items():
        os.replace(tmp, targets[k])
    os.replace(out / ".README.md.tmp", out / "README.md")
    return summary


def _existing_export(out: Path) -> Iterable[Path]:
    if not out.is_dir():
        return []
    return [p for p in out.iterdir() if p.name in _EXPORT_NAMES]


def _meta_command(corpus: Corpus) -> str | None:
    row = corpus.db.execute("SELECT value FROM meta WHERE key = 'command'").fetchone()
    return str(row[0]) if row else None


# ---- dataset card ----


def dataset_card(
    s: ExportSummary,
    *,
    fmt: str,
    fractions: Sequence[float] | None,
    db_label: str | None = None,
    command: str | None = None,
) -> str:
    """The README.md written beside the data (Hugging Face card front matter + Markdown)."""
    data_files = [
        f"  - split: {'train' if k == 'data' else k}\n    path: {p.name}"
        for k, p in s.files.items()
    ]
    columns = export_columns(fractions is not None, bool(s.platforms))
    lines = [
        "---",
        "license: apache-2.0",
        "pretty_name: fuzzjax (jax.numpy source, StableHLO) pairs",
        "tags: [jax, stablehlo, xla, compilers, code]",
        "configs:",
        "- config_name: default",
        "  data_files:",
        *data_files,
        "---",
        "",
        "# fuzzjax dataset",
        "",
        f"{s.total} distinct (jax.numpy source, canonical StableHLO) pairs"
        + (f" exported from `{db_label}`" if db_label else "")
        + " by `python -m fuzzjax export`. Programs are generated at random from the fuzzjax"
        " grammar (`grammar/jnp.lark`); rows of category `user` are functions added with"
        " `python -m fuzzjax add`.",
        "",
        "## Files",
        "",
        "| file | split | rows |",
        "|---|---|---|",
        *(
            f"| {p.name} | {'train' if k == 'data' else k} | {s.rows[k]} |"
            for k, p in s.files.items()
        ),
        "",
        f"Format: {_FORMAT_NOTE[fmt]}.",
        "",
        "## Fields",
        "",
        "| column | type (Arrow) | meaning |",
        "|---|---|---|",
        *(f"| `{c}` | {FIELDS[c][0]} | {FIELDS[c][1]} |" for c in columns),
        "",
        "## Splits",
        "",
    ]
    if fractions is None:
        lines.append("No split: all rows are in one file (loaded as `train`).")
    else:
        spec = ", ".join(f"{k} {f:g}" for k, f in zip(SPLITS, fractions, strict=True))
        lines.append(
            f"Fractions {spec}. A row's split is fixed by its IR hash: "
            "`int(ir_hash[:16], 16) / 2**64` is compared with the cumulative fractions, so the "
            "same StableHLO is always in the same split, in this and in any other fuzzjax export "
            "with the same fractions, and no IR is in two splits."
        )
    if s.platforms:
        lines += ["", *_platform_card(s)]
    lines += ["", "## Versions", ""]
    for key, counter in s.versions.items():
        values = ", ".join(f"`{v}` ({n} rows)" for v, n in counter.most_common())
        lines.append(f"- {key}: {values}")
    lines += ["", "## Generation", ""]
    if command:
        lines += [f"Recorded generation command: `{command}`", ""]
    if s.generated:
        lines += ["| options | seeds | rows |", "|---|---|---|"]
        lines += [f"| `{o}` | {lo}..{hi} | {n} |" for o, (lo, hi, n) in s.generated.items()]
        lines += [
            "",
            "Reprint the program of a row: `python -m fuzzjax replay SEED "
            "--max-depth D --min-depth d --max-rank r [--x64]` (values from `options`).",
        ]
    else:
        lines.append("No generated rows.")
    lines += ["", "## Counts", "", "| depth | rows |", "|---|---|"]
    lines += [f"| {d} | {n} |" for d, n in sorted(s.depths.items(), key=_depth_key)]
    lines += ["", "| category | rows |", "|---|---|"]
    lines += [f"| {c} | {n} |" for c, n in s.categories.most_common()]
    lines += [
        "",
        "## License",
        "",
        "Apache-2.0, like fuzzjax. The generated programs and their StableHLO are produced by"
        " fuzzjax and JAX; rows of category `user` keep the license of the file they came from.",
        "",
    ]
    return "\n".join(lines)


def _platform_card(s: ExportSummary) -> list[str]:
    per = ", ".join(f"{p} {n}" for p, n in s.platforms.items())
    return [
        "## Platforms",
        "",
        f"Rows lowered per platform with `jax.export` (no devices needed): {per}. "
        f"{s.platform_differs} rows lower to different StableHLO on different platforms "
        "(`platform_differs`): linear algebra through different `custom_call` targets "
        "(LAPACK on cpu, cuSOLVER on cuda, hipSOLVER on rocm, TPU kernels) and, on tpu, "
        "mixed-dtype `dot_general` without `convert`s. `stablehlo` stays the `jax.jit` "
        "lowering for CPU; `platform_ir[].stablehlo` is the `jax.export` text (it also carries "
        "the module attribute `jax.uses_shape_polymorphism`). Load an artifact with "
        "`jax.export.deserialize(bytearray(artifact))`.",
    ]


_FORMAT_NOTE = {
    "parquet": "Parquet (zstd compressed), one row group per record batch",
    "jsonl": "JSON Lines (UTF-8), one object per line",
}


def _depth_key(item: tuple[str, int]) -> tuple[int, str]:
    return (0, item[0].zfill(6)) if item[0].isdigit() else (1, item[0])
