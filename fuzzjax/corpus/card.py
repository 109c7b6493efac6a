"""The dataset card: the README.md written beside an export (Hugging Face card format).

YAML front matter (license, tags, ``configs`` pointing at the shards, ``dataset_info`` with
every column's feature type and the split sizes), then Markdown: how to load it
(``datasets``, pandas, pyarrow), the files, one example row, the schema, the profile (depth,
category, dtype), the generation options, the versions and how to reproduce the corpus.

Stored strings (versions, categories, dtypes, options, the example row, a recorded command)
are untrusted. They never go into the YAML (it holds only fuzzjax's own names and numbers,
each scalar JSON-quoted). In Markdown they go into a fenced code block (``code_block``) or an
inline code span (``md_code``, on one line, ``|`` escaped), each delimited by more backticks
than any run in the text. Markdown shows code literally, so no stored value can end its
block, start a line, open an HTML tag or break a table.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fuzzjax.corpus.columns import FIELDS, export_columns, features, type_text
from fuzzjax.corpus.provenance import OptionGroup, options_text, profile_counts

SPLITS = ("train", "validation", "test")
#: Characters of one string shown in the example row.
EXAMPLE_CHARS = 600
_LINE_BREAKS = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def md_code(value: object) -> str:
    """A stored value as an inline code span on one line, safe in a GFM table cell.

    The delimiter is longer than any backtick run inside; ``|`` is escaped (GFM tables split
    cells on it even inside code spans); line breaks and control characters become spaces.
    """
    text = _LINE_BREAKS.sub(" ", str(value)).replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith(("`", " ")) or text.endswith(("`", " ")) or not text else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def code_block(text: str, language: str = "") -> str:
    """A fenced code block that ``text`` cannot close (fence longer than its backtick runs)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text.rstrip()}\n{fence}"


def _yaml(value: object) -> str:
    """A YAML scalar: JSON-quoted strings (ASCII only), plain numbers and booleans."""
    return json.dumps(value, ensure_ascii=True)


def _yaml_features(items: Any, indent: int) -> list[str]:
    """``dataset_info.features`` as YAML lines (block style, every string quoted)."""
    pad = " " * indent
    lines = []
    if isinstance(items, list):
        for entry in items:
            first, *rest = _yaml_features(entry, indent + 2)
            lines.append(f"{pad}- {first.lstrip()}")
            lines += rest
        return lines
    for key, value in items.items():
        if isinstance(value, (dict, list)):
            lines.append(f"{pad}{key}:")
            lines += _yaml_features(value, indent + 2)
        else:
            lines.append(f"{pad}{key}: {_yaml(value)}")
    return lines


@dataclass
class CardFacts:
    """Everything the card reports about one export."""

    fmt: str
    fractions: Sequence[float] | None
    rows: dict[str, int]  # per split
    shards: dict[str, int]  # per split
    with_platforms: bool
    example: dict[str, Any] | None
    depths: Counter[str] = field(default_factory=Counter)
    categories: Counter[str] = field(default_factory=Counter)
    dtypes: Counter[str] = field(default_factory=Counter)
    platforms: Counter[str] = field(default_factory=Counter)
    platform_differs: int = 0
    versions: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    groups: list[OptionGroup] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)  # rebuild commands, one per group
    user_pairs: int = 0
    recorded_command: str | None = None
    export_command: str = ""

    @property
    def total(self) -> int:
        return sum(self.rows.values())

    @property
    def columns(self) -> list[str]:
        return export_columns(self.fractions is not None, self.with_platforms)


def _front_matter(f: CardFacts) -> list[str]:
    lines = [
        "---",
        "license: apache-2.0",
        f"pretty_name: {_yaml('fuzzjax (jax.numpy source, StableHLO) pairs')}",
        "tags:",
        *(f"- {_yaml(t)}" for t in ("jax", "stablehlo", "xla", "compilers", "code")),
        "configs:",
        "- config_name: default",
        "  data_files:",
    ]
    for split in f.rows:
        lines += [f"  - split: {split}", f"    path: {_yaml(f'data/{split}-*')}"]
    lines += ["dataset_info:", "  features:"]
    lines += _yaml_features(features(f.columns, jsonl=f.fmt == "jsonl"), 2)
    lines.append("  splits:")
    for split, n in f.rows.items():
        lines += [f"  - name: {split}", f"    num_examples: {n}"]
    return [*lines, "---"]


def _loading(f: CardFacts) -> list[str]:
    ext = f.fmt
    read = "pd.read_parquet(f)" if ext == "parquet" else "pd.read_json(f, lines=True, dtype=False)"
    python = [
        "from datasets import load_dataset",
        "",
        f'ds = load_dataset("path/to/this/folder")  # splits: {", ".join(f.rows)}',
        "",
        "import glob",
        "import pandas as pd",
        "",
        f'files = sorted(glob.glob("path/to/this/folder/data/train-*.{ext}"))',
        f"train = pd.concat([{read} for f in files], ignore_index=True)",
    ]
    if ext == "parquet":
        python += [
            "",
            "import pyarrow.dataset",
            "",
            'table = pyarrow.dataset.dataset("path/to/this/folder/data", format="parquet")'
            ".to_table()",
        ]
    return ["## Load", "", code_block("\n".join(python), "python")]


def _example(row: dict[str, Any]) -> str:
    def short(value: Any) -> Any:
        if isinstance(value, str) and len(value) > EXAMPLE_CHARS:
            return value[:EXAMPLE_CHARS] + f"... ({len(value)} characters)"
        if isinstance(value, (bytes, bytearray)):
            return f"<{len(value)} bytes>"
        if isinstance(value, dict):
            return {k: short(v) for k, v in value.items()}
        if isinstance(value, list):
            return [short(v) for v in value]
        return value

    items = [
        f"  {json.dumps(k)}: {json.dumps(short(v), ensure_ascii=False, default=_iso)}"
        for k, v in row.items()
    ]
    return "{\n" + ",\n".join(items) + "\n}"


def _iso(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _profile(f: CardFacts) -> list[str]:
    lines = ["## Profile", "", "| depth | rows |", "|---|---|"]
    lines += [f"| {d} | {n} |" for d, n in sorted(f.depths.items(), key=_depth_key)]
    lines += ["", "| category | rows |", "|---|---|"]
    lines += [f"| {md_code(c)} | {n} |" for c, n in f.categories.most_common()]
    lines += ["", "| parameter dtype | rows with a parameter of this dtype |", "|---|---|"]
    lines += [f"| {md_code(d)} | {n} |" for d, n in f.dtypes.most_common()]
    return lines


def _generation(f: CardFacts) -> list[str]:
    lines = ["## Generation options", ""]
    if not f.groups:
        lines.append("No generated rows.")
    else:
        lines += ["| options | seeds | rows | seeds processed |", "|---|---|---|---|"]
        for g in f.groups:
            options = md_code(options_text(g.parsed, g.options))
            lines.append(
                f"| {options} | {g.first_seed}..{g.last_seed} | {g.pairs} | {g.seeds_processed} |"
            )
    profiles = profile_counts(f.groups)
    if profiles:
        made = ", ".join(f"{md_code(p)} ({n} rows)" for p, n in profiles.items())
        lines += [
            "",
            f"Generation profile: {made}. `breadth` draws every grammar alternative alike; "
            "`realistic` draws them with the frequencies of real JAX code "
            "(`data/real_usage.json`).",
        ]
    if f.user_pairs:
        lines += ["", f"{f.user_pairs} rows are user functions added with `fuzzjax add`."]
    lines += ["", "## Versions", ""]
    for column, values in f.versions.items():
        found = ", ".join(f"{md_code(v)} ({n} rows)" for v, n in values)
        lines.append(f"- {md_code(column)}: {found}")
    lines += [
        "",
        "## Reproduce",
        "",
        "A program is determined by its seed, its options and the fuzzjax version; its "
        "StableHLO also by the jax and jaxlib versions above. With those versions installed, "
        "these commands rebuild the corpus (in this order) and this export:",
        "",
        code_block("\n".join([*f.commands, f.export_command]), "sh"),
    ]
    if f.recorded_command:
        lines += ["", "Command recorded in the corpus:", "", code_block(f.recorded_command)]
    lines += [
        "",
        "Print the program of one row: `python -m fuzzjax replay SEED --db CORPUS` "
        "(the options recorded with the seed are used).",
    ]
    return lines


def _splits(f: CardFacts) -> list[str]:
    if f.fractions is None:
        return ["No split: every row is in `train`."]
    spec = ", ".join(f"{k} {x:g}" for k, x in zip(SPLITS, f.fractions, strict=True))
    return [
        f"Fractions {spec}. A row's split is fixed by its IR hash: "
        "`int(ir_hash[:16], 16) / 2**64` is compared with the cumulative fractions, so the "
        "same StableHLO is always in the same split, in this and in any other fuzzjax export "
        "with the same fractions, and no IR is in two splits. Each row also has a `split` column."
    ]


def _platforms(f: CardFacts) -> list[str]:
    per = ", ".join(f"{md_code(p)} {n}" for p, n in f.platforms.items())
    return [
        "## Platforms",
        "",
        f"Rows lowered per platform with `jax.export` (no devices needed): {per}. "
        f"{f.platform_differs} rows lower to different StableHLO on different platforms "
        "(`platform_differs`): linear algebra through different `custom_call` targets "
        "and, on tpu, mixed-dtype `dot_general` without `convert`s. `stablehlo` stays the "
        "`jax.jit` lowering for CPU. Load an artifact with "
        "`jax.export.deserialize(bytearray(artifact))`.",
    ]


def dataset_card(f: CardFacts) -> str:
    """The README.md of an export."""
    unit = "Parquet (zstd) shards" if f.fmt == "parquet" else "JSON Lines (UTF-8) shards"
    lines = [
        *_front_matter(f),
        "",
        "# fuzzjax dataset",
        "",
        f"{f.total} distinct (jax.numpy source, canonical StableHLO) pairs exported by "
        "`python -m fuzzjax export`. Programs are generated at random from the fuzzjax grammar "
        "(`grammar/jnp.lark`), valid by construction; rows of category `user` are functions "
        "added with `python -m fuzzjax add`.",
        "",
        *_loading(f),
        "",
        "## Files",
        "",
        f"{unit} under `data/`, named `{{split}}-NNNNN-of-MMMMM.{f.fmt}`:",
        "",
        "| split | shards | rows |",
        "|---|---|---|",
        *(f"| {s} | {f.shards[s]} | {n} |" for s, n in f.rows.items()),
        "",
        *_splits(f),
        "",
        "## Example row",
        "",
        code_block(_example(f.example), "json") if f.example else "No rows.",
        "",
        "## Schema",
        "",
        "| column | type | meaning |",
        "|---|---|---|",
        *(f"| `{c}` | `{type_text(FIELDS[c][0])}` | {FIELDS[c][1]} |" for c in f.columns),
        "",
        "`op_counts` (and `platform_ir[].op_counts`, `custom_calls`) are lists of "
        "`{key, value}` entries, the Parquet layout of a map: Hugging Face `datasets` cannot "
        "load Arrow `map` columns (huggingface/datasets#5612). "
        '`dict((e["key"], e["value"]) for e in row["op_counts"])` gives a dict.',
        "",
        *_profile(f),
        "",
        *_generation(f),
    ]
    if f.with_platforms:
        lines += ["", *_platforms(f)]
    lines += [
        "",
        "## License",
        "",
        "Apache-2.0, like fuzzjax. The generated programs and their StableHLO are produced by"
        " fuzzjax and JAX; rows of category `user` keep the license of the file they came from.",
        "",
    ]
    return "\n".join(lines)


def _depth_key(item: tuple[str, int]) -> tuple[int, str]:
    return (0, item[0].zfill(6)) if item[0].isdigit() else (1, item[0])
