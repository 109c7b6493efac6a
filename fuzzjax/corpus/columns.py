"""The exported columns: names, types, meanings, and a corpus row in its exported form.

One table, ``FIELDS``, gives every column's type and meaning. Types are written in a small
algebra (``"string"``, ``"int64"``, ``"float64"``, ``"bool"``, ``"binary"``, ``TIMESTAMP``,
``List(t)``, ``Struct(fields)``) that turns into

* an Arrow type (``arrow_type``; the Parquet schema),
* a Hugging Face ``datasets`` feature (``feature``; the dataset card's ``dataset_info``, so
  ``datasets.load_dataset(DIR)`` types every column, including columns that are all null in
  JSON Lines, which it would otherwise load as ``Value('null')``),
* the text shown in the card's schema table (``type_text``),

without needing pyarrow for JSON Lines.

Key -> count objects (``op_counts``, ``custom_calls``) are lists of ``{key, value}`` structs:
the Parquet MAP layout without the MAP annotation, because ``datasets`` cannot load Arrow
``map`` columns (huggingface/datasets#5612, open). In pyarrow,
``pa.MapArray.from_arrays(c.offsets, c.values.field("key"), c.values.field("value"))`` of a
combined column ``c`` gives the map type; in Python, ``{e["key"]: e["value"] for e in ...}``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from typing import Any

from fuzzjax.corpus.provenance import options_dict, parse_options
from fuzzjax.errors import CorpusError
from fuzzjax.program import GenOptions

TIMESTAMP = "timestamp[ms, tz=UTC]"


@dataclass(frozen=True)
class List:
    item: Type


@dataclass(frozen=True)
class Struct:
    fields: tuple[tuple[str, Type], ...]


Type = str | List | Struct

_OPTION_TYPES: dict[str, Type] = {
    "int": "int64",
    "bool": "bool",
    "str": "string",
    "tuple[int, ...]": List("int64"),
    "tuple[tuple[str, int], ...]": List(Struct((("alias", "string"), ("weight", "int64")))),
    "tuple[tuple[str, str, int], ...]": List(
        Struct((("producer", "string"), ("consumer", "string"), ("weight", "int64")))
    ),
}
#: ``GenOptions`` as a struct: one field per option, typed from the dataclass.
OPTIONS: Type = Struct(tuple((f.name, _OPTION_TYPES[str(f.type)]) for f in fields(GenOptions)))
ENTRIES: Type = List(Struct((("key", "string"), ("value", "int64"))))
#: ``param``, ``path`` and ``weak_type`` are set for user functions (``fuzzjax add``), whose
#: parameters may be pytrees; null for generated programs.
ARGUMENT: Type = Struct(
    (
        ("name", "string"),
        ("shape", List("int64")),
        ("dtype", "string"),
        ("param", "string"),
        ("path", "string"),
        ("weak_type", "bool"),
    )
)
PLATFORM_KEYS = ("platform", "stablehlo", "platform_hash", "op_counts", "custom_calls", "artifact")
PLATFORM_IR: Type = Struct(
    (
        ("platform", "string"),
        ("stablehlo", "string"),
        ("platform_hash", "string"),
        ("op_counts", ENTRIES),
        ("custom_calls", ENTRIES),
        ("artifact", "binary"),
    )
)

#: The exported columns, in file order: name -> (type, meaning). ``split`` is written only
#: when splitting; ``PLATFORM_FIELDS`` only for corpora with ``platform_ir`` rows.
FIELDS: dict[str, tuple[Type, str]] = {
    "id": ("int64", "row id in the source corpus (never null)"),
    "seed": ("int64", "seed that generates the program; null for user functions"),
    "options": (OPTIONS, "generation options of the seed, every field; null for user functions"),
    "category": ("string", "operator family; `user` for functions added with `fuzzjax add`"),
    "operation": ("string", "outermost grammar alternative (user functions: function name)"),
    "depth": ("int64", "expression depth under the fuzzjax grammar; null when unmeasured"),
    "source": ("string", "Python source of the function"),
    "stablehlo": ("string", "canonical StableHLO text (locations stripped, names normalised)"),
    "hlo": ("string", "XLA HLO text; null unless the corpus was built with --hlo"),
    "ir_hash": ("string", "sha256 of `stablehlo`; unique in the dataset"),
    "op_counts": (ENTRIES, "number of each op kind in `stablehlo`, as {key, value} entries"),
    "input_info": (
        List(ARGUMENT),
        "the inputs in order: {name, shape, dtype}; user functions also give the parameter, "
        "the pytree path in it (`name` = param + path) and weak_type",
    ),
    "signature": ("string", "input and result types"),
    "dtypes": (List("string"), "parameter dtypes in order (from `input_info`)"),
    "jax_version": ("string", "jax version that lowered the function"),
    "jaxlib_version": ("string", "jaxlib version that lowered the function"),
    "grammar_sha": ("string", "sha256 of grammar/jnp.lark; null for user functions"),
    "fuzzjax_version": ("string", "fuzzjax version that stored the pair"),
    "lower_ms": ("float64", "milliseconds the lowering took on the machine that built the corpus"),
    "created_at": (TIMESTAMP, "when the pair was stored (UTC)"),
    "platforms": (List("string"), "platforms lowered with jax.export (`--platforms`), in order"),
    "platform_differs": (
        "bool",
        "true when the platforms' StableHLO texts are not all equal; null with < 2 platforms",
    ),
    "platform_ir": (
        List(PLATFORM_IR),
        "per platform: the jax.export StableHLO, its sha256, op counts, custom_call targets "
        "and the serialized artifact (null unless stored; base64 text in JSON Lines)",
    ),
    "split": ("string", "train, validation or test (only with --split)"),
}
PLATFORM_FIELDS = ("platforms", "platform_differs", "platform_ir")
COLUMNS = tuple(c for c in FIELDS if c != "split" and c not in PLATFORM_FIELDS)
#: Corpus columns an exported row is made from.
FROM_CORPUS = [c for c in COLUMNS if c != "dtypes"]


def export_columns(with_split: bool = False, with_platforms: bool = False) -> list[str]:
    """Exported column names in file order."""
    return [
        *COLUMNS,
        *(PLATFORM_FIELDS if with_platforms else ()),
        *(["split"] if with_split else []),
    ]


def type_text(t: Type) -> str:
    """``list<struct<key: string, value: int64>>``-style text of a type."""
    if isinstance(t, List):
        return f"list<{type_text(t.item)}>"
    if isinstance(t, Struct):
        return "struct<" + ", ".join(f"{n}: {type_text(v)}" for n, v in t.fields) + ">"
    return t


def arrow_type(t: Type, *, jsonl: bool = False) -> Any:
    """The pyarrow type of ``t`` (``jsonl=True``: binary as base64 ``string``)."""
    import pyarrow as pa

    if isinstance(t, List):
        return pa.list_(arrow_type(t.item, jsonl=jsonl))
    if isinstance(t, Struct):
        return pa.struct([(n, arrow_type(v, jsonl=jsonl)) for n, v in t.fields])
    if t == TIMESTAMP:
        return pa.timestamp("ms", tz="UTC")
    if t == "binary" and jsonl:
        return pa.string()
    return {
        "string": pa.string(),
        "int64": pa.int64(),
        "float64": pa.float64(),
        "bool": pa.bool_(),
        "binary": pa.binary(),
    }[t]


def parquet_schema(with_split: bool = False, with_platforms: bool = False) -> Any:
    """The Arrow schema of exported rows (a ``pyarrow.Schema``), from ``FIELDS``."""
    import pyarrow as pa

    names = export_columns(with_split, with_platforms)
    return pa.schema([pa.field(n, arrow_type(FIELDS[n][0]), nullable=n != "id") for n in names])


def feature(t: Type, *, jsonl: bool = False) -> Any:
    """The ``datasets`` feature of ``t`` in the card's YAML form (a plain dict or list)."""
    if isinstance(t, List):
        inner = feature(t.item, jsonl=jsonl)
        return {"list": inner["dtype"] if "dtype" in inner else inner.get("struct", inner)}
    if isinstance(t, Struct):
        return {"struct": [{"name": n, **feature(v, jsonl=jsonl)} for n, v in t.fields]}
    if t == "binary" and jsonl:
        return {"dtype": "string"}
    return {"dtype": t}


def features(columns: Sequence[str], *, jsonl: bool = False) -> list[dict[str, Any]]:
    """``dataset_info.features`` of the card: one entry per column."""
    return [{"name": c, **feature(FIELDS[c][0], jsonl=jsonl)} for c in columns]


# ---- rows ----


def _json(pair: dict[str, Any], column: str) -> Any:
    try:
        return json.loads(pair[column])
    except (TypeError, ValueError):
        raise CorpusError(f"pair id {pair['id']}: {column} is not valid JSON") from None


def entries(value: Any, what: str) -> list[dict[str, Any]]:
    """A stored ``{key: count}`` object as ``[{key, value}, ...]`` sorted by key."""
    if not isinstance(value, dict) or not all(
        isinstance(n, int) and not isinstance(n, bool) for n in value.values()
    ):
        raise CorpusError(f"{what} is not an object of integer counts")
    return [{"key": str(k), "value": int(n)} for k, n in sorted(value.items())]


def _arguments(pair: dict[str, Any]) -> list[dict[str, Any]]:
    info = _json(pair, "input_info")
    try:
        return [
            {
                "name": str(a["name"]),
                "shape": [int(d) for d in a["shape"]],
                "dtype": str(a["dtype"]),
                "param": _optional(a.get("param"), str),
                "path": _optional(a.get("path"), str),
                "weak_type": _optional(a.get("weak_type"), bool),
            }
            for a in info
        ]
    except (TypeError, KeyError, ValueError):
        raise CorpusError(f"pair id {pair['id']}: input_info is not a list of arguments") from None


def _optional(value: Any, kind: type) -> Any:
    return None if value is None else kind(value)


def _options(pair: dict[str, Any]) -> dict[str, Any] | None:
    if pair["options"] is None:
        return None
    parsed: GenOptions | None = parse_options(pair["options"])
    if parsed is None:
        raise CorpusError(f"pair id {pair['id']}: options are not valid generation options")
    return options_dict(parsed)


def _timestamp(pair: dict[str, Any]) -> datetime:
    try:
        stamp = datetime.fromisoformat(str(pair["created_at"]))
    except ValueError:
        raise CorpusError(f"pair id {pair['id']}: created_at is not an ISO-8601 time") from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=timezone.utc)
    return stamp.astimezone(timezone.utc).replace(microsecond=0)


def _check_scalars(pair: dict[str, Any]) -> None:
    """SQLite keeps any value in any column: check the scalar ones have their exported type."""
    for column in FROM_CORPUS:
        kind, value = FIELDS[column][0], pair[column]
        if value is None or not isinstance(kind, str):
            continue
        ok = {
            "int64": isinstance(value, int) and not isinstance(value, bool),
            "float64": isinstance(value, (int, float)) and not isinstance(value, bool),
            "string": isinstance(value, str),
            TIMESTAMP: isinstance(value, str),
        }.get(kind, True)
        if not ok:
            raise CorpusError(
                f"pair id {pair.get('id')}: {column} holds a {type(value).__name__}, not {kind}"
            )


def export_row(pair: dict[str, Any]) -> dict[str, Any]:
    """The exported form of a corpus row (``FROM_CORPUS`` columns) as Python values.

    Raises ``CorpusError`` naming the row when a stored value has the wrong type, or a stored
    JSON column or time is malformed.
    """
    _check_scalars(pair)
    row = {c: pair[c] for c in FROM_CORPUS}
    row["options"] = _options(pair)
    row["op_counts"] = entries(_json(pair, "op_counts"), f"pair id {pair['id']}: op_counts")
    row["input_info"] = _arguments(pair)
    row["dtypes"] = [a["dtype"] for a in row["input_info"]]
    row["lower_ms"] = None if pair["lower_ms"] is None else float(pair["lower_ms"])
    row["created_at"] = _timestamp(pair)
    return {c: row[c] for c in COLUMNS}


def platform_columns(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """``PLATFORM_FIELDS`` of one pair from its ``Corpus.platform_irs`` rows."""
    hashes = {r["platform_hash"] for r in rows}
    irs = []
    for r in rows:
        ir = {k: r[k] for k in PLATFORM_KEYS}
        for key in ("op_counts", "custom_calls"):
            try:
                ir[key] = entries(json.loads(r[key]), f"platform_ir {r['platform']}: {key}")
            except (TypeError, ValueError):
                raise CorpusError(f"platform_ir {r['platform']}: {key} is not JSON") from None
        irs.append(ir)
    return {
        "platforms": [r["platform"] for r in rows],
        "platform_differs": len(hashes) > 1 if len(rows) > 1 else None,
        "platform_ir": irs,
    }
