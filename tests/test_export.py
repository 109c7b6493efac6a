"""fuzzjax.corpus.export: typed columns read back by pyarrow, pandas and Hugging Face datasets,
the sharded layout, splits, and the CLI's errors.

Expected rows are read with plain sqlite3 and converted here, independently of the exporter;
the expected Arrow schema is written out here, not taken from ``fuzzjax.corpus.columns``.
The dataset card and the atomic swap are tested in tests/test_export_card.py and
tests/test_export_atomic.py.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
import sys
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzzjax import extract_ir_pair
from fuzzjax.cli.main import main
from fuzzjax.corpus.add import add_pairs
from fuzzjax.corpus.build import build_corpus
from fuzzjax.corpus.columns import COLUMNS
from fuzzjax.corpus.export import SPLITS, export_corpus, parse_split, split_of
from fuzzjax.corpus.store import PAIR_COLUMNS, Corpus
from fuzzjax.program import GenOptions

GENERATED = 40


def _user_fn(x: jax.Array, y: jax.Array) -> jax.Array:
    return jnp.tanh(x) @ y


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A corpus of generated pairs plus one user pair (seed/options/depth NULL, HLO set)."""
    path = tmp_path_factory.mktemp("export") / "corpus.sqlite"
    build_corpus(path, count=GENERATED, options=GenOptions(max_depth=3), workers=0)
    pair = extract_ir_pair(_user_fn, jnp.ones((2, 3)), jnp.ones((3,)), dialect="hlo")
    with Corpus(path) as corpus:
        add_pairs(corpus, [pair])
    return path


@pytest.fixture(scope="module")
def generated_only(db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same corpus without the user pair: ``hlo`` is null in every row."""
    path = tmp_path_factory.mktemp("generated") / "corpus.sqlite"
    path.write_bytes(db.read_bytes())
    con = sqlite3.connect(path)
    con.execute("DELETE FROM pairs WHERE seed IS NULL")
    con.commit()
    con.close()
    return path


def expected_schema(with_split: bool = False) -> Any:
    pa = pytest.importorskip("pyarrow")
    entries = pa.list_(pa.struct([("key", pa.string()), ("value", pa.int64())]))
    options = pa.struct(
        [
            ("max_depth", pa.int64()),
            ("min_depth", pa.int64()),
            ("max_rank", pa.int64()),
            ("max_elements", pa.int64()),
            ("max_params", pa.int64()),
            ("let_percent", pa.int64()),
            ("kernel_percent", pa.int64()),
            ("depth_weights", pa.list_(pa.int64())),
            ("category", pa.string()),
            ("balanced", pa.bool_()),
            ("x64", pa.bool_()),
            ("swarm", pa.bool_()),
            ("weights", pa.list_(pa.struct([("alias", pa.string()), ("weight", pa.int64())]))),
            ("large_percent", pa.int64()),
            ("profile", pa.string()),
            (
                "pair_weights",
                pa.list_(
                    pa.struct(
                        [
                            ("producer", pa.string()),
                            ("consumer", pa.string()),
                            ("weight", pa.int64()),
                        ]
                    )
                ),
            ),
            ("stateful", pa.bool_()),
        ]
    )
    argument = pa.struct(
        [
            ("name", pa.string()),
            ("shape", pa.list_(pa.int64())),
            ("dtype", pa.string()),
            ("param", pa.string()),
            ("path", pa.string()),
            ("weak_type", pa.bool_()),
        ]
    )
    fields = [
        pa.field("id", pa.int64(), nullable=False),
        ("seed", pa.int64()),
        ("options", options),
        ("category", pa.string()),
        ("operation", pa.string()),
        ("depth", pa.int64()),
        ("source", pa.string()),
        ("stablehlo", pa.string()),
        ("hlo", pa.string()),
        ("ir_hash", pa.string()),
        ("op_counts", entries),
        ("input_info", pa.list_(argument)),
        ("signature", pa.string()),
        ("dtypes", pa.list_(pa.string())),
        ("jax_version", pa.string()),
        ("jaxlib_version", pa.string()),
        ("grammar_sha", pa.string()),
        ("fuzzjax_version", pa.string()),
        ("lower_ms", pa.float64()),
        ("created_at", pa.timestamp("ms", tz="UTC")),
    ]
    if with_split:
        fields.append(("split", pa.string()))
    return pa.schema(fields)


def expected_rows(db: Path, *, jsonl: bool = False) -> list[dict[str, Any]]:
    """The exported form of every pair, read with plain sqlite3."""
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    rows = []
    defaults = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(GenOptions()).items()}
    for r in con.execute("SELECT * FROM pairs ORDER BY id"):
        row = {c: r[c] for c in COLUMNS if c in r.keys()}  # noqa: SIM118 - sqlite3.Row
        row["options"] = None if r["options"] is None else {**defaults, **json.loads(r["options"])}
        counts = json.loads(r["op_counts"])
        row["op_counts"] = [{"key": k, "value": counts[k]} for k in sorted(counts)]
        keys = ("name", "shape", "dtype", "param", "path", "weak_type")
        row["input_info"] = [{k: a.get(k) for k in keys} for a in json.loads(r["input_info"])]
        row["dtypes"] = [a["dtype"] for a in row["input_info"]]
        created = datetime.fromisoformat(r["created_at"]).astimezone(timezone.utc)
        row["created_at"] = created.isoformat() if jsonl else created
        rows.append({c: row[c] for c in COLUMNS})
    con.close()
    return rows


def shards(out: Path, split: str = "train", ext: str = "parquet") -> list[Path]:
    return sorted((out / "data").glob(f"{split}-*.{ext}"))


def read_jsonl(paths: list[Path]) -> list[dict[str, Any]]:
    return [json.loads(line) for p in paths for line in p.read_text(encoding="utf-8").splitlines()]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


# ---- typed columns, three readers ----


def test_jsonl_round_trip(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "ds"
    code, text, _ = run(["export", "--format", "jsonl", "--db", str(db), "--out", str(out)], capsys)
    assert code == 0, text
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == [
        "README.md",
        "data",
        "data/train-00000-of-00001.jsonl",
    ]
    rows = read_jsonl(shards(out, ext="jsonl"))
    assert rows == expected_rows(db, jsonl=True)
    assert list(rows[0]) == list(COLUMNS)
    user = [r for r in rows if r["category"] == "user"]
    assert len(user) == 1 and user[0]["seed"] is None and user[0]["options"] is None
    assert user[0]["hlo"]


def test_parquet_has_the_exact_schema_and_rows(db: Path, tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    with Corpus(db, create=False) as corpus:
        export_corpus(corpus, tmp_path, fmt="parquet")
    (path,) = shards(tmp_path)
    assert path.name == "train-00000-of-00001.parquet"
    table = pq.read_table(path)
    assert table.schema.remove_metadata() == expected_schema()
    assert table.to_pylist() == expected_rows(db)


def test_op_counts_entries_become_an_arrow_map(db: Path, tmp_path: Path) -> None:
    """The column docstring's recipe: the entries are a map's layout, MapArray.from_arrays."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    with Corpus(db, create=False) as corpus:
        export_corpus(corpus, tmp_path, fmt="parquet")
    column = pq.read_table(shards(tmp_path)[0])["op_counts"].combine_chunks()
    as_map = pa.MapArray.from_arrays(
        column.offsets, column.values.field("key"), column.values.field("value")
    )
    assert as_map.type == pa.map_(pa.string(), pa.int64())
    first = dict(as_map[0].as_py())
    assert first == {e["key"]: e["value"] for e in expected_rows(db)[0]["op_counts"]}


def test_parquet_reads_with_pandas_typed(db: Path, tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    with Corpus(db, create=False) as corpus:
        export_corpus(corpus, tmp_path, fmt="parquet", fractions=(0.5, 0.25, 0.25))
    frame = pd.concat([pd.read_parquet(p) for p in sorted((tmp_path / "data").iterdir())])
    frame = frame.sort_values("id")
    expected = expected_rows(db)
    assert list(frame.columns) == [*COLUMNS, "split"]
    assert frame["source"].tolist() == [r["source"] for r in expected]
    assert str(frame["id"].dtype) == "int64" and str(frame["lower_ms"].dtype) == "float64"
    assert str(frame["created_at"].dtype).startswith("datetime64") and "UTC" in str(
        frame["created_at"].dtype
    )
    first = frame.iloc[0]
    assert first["options"]["max_depth"] == 3
    assert {e["key"]: e["value"] for e in first["op_counts"]} == {
        e["key"]: e["value"] for e in expected[0]["op_counts"]
    }
    assert [list(d) for d in frame["dtypes"]] == [r["dtypes"] for r in expected]


@pytest.fixture()
def datasets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Hugging Face ``datasets``, offline, with every cache under the test's folder."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf" / "datasets"))
    return pytest.importorskip("datasets", reason="CI installs datasets; pip install datasets")


def _load_dataset(datasets: Any, path: Path, cache: Path) -> Any:
    return datasets.load_dataset(str(path), cache_dir=str(cache / "cache"))


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_loads_with_huggingface_datasets(fmt: str, db: Path, tmp_path: Path, datasets: Any) -> None:
    pytest.importorskip("pyarrow")
    with Corpus(db, create=False) as corpus:
        summary = export_corpus(corpus, tmp_path / "ds", fmt=fmt, fractions=(0.6, 0.2, 0.2))
    ds = _load_dataset(datasets, tmp_path / "ds", tmp_path)
    assert set(ds) == set(SPLITS)
    assert ds["train"].features == datasets.Features.from_arrow_schema(expected_schema(True))
    assert {k: ds[k].num_rows for k in SPLITS} == dict(summary.rows)
    by_id = {r["id"]: r for split in SPLITS for r in ds[split]}
    for want in expected_rows(db):
        got = by_id[want["id"]]
        assert {k: got[k] for k in want if k != "created_at"} == {
            k: v for k, v in want.items() if k != "created_at"
        }
        assert got["created_at"] == want["created_at"]


def test_all_null_column_loads_typed_from_jsonl(
    generated_only: Path, tmp_path: Path, datasets: Any
) -> None:
    """``hlo`` is null in every row; JSON Lines alone would make it Value('null')."""
    with Corpus(generated_only, create=False) as corpus:
        export_corpus(corpus, tmp_path / "ds", fmt="jsonl")
    ds = _load_dataset(datasets, tmp_path / "ds", tmp_path)
    assert ds["train"].features["hlo"] == datasets.Value("string")
    assert ds["train"].features["options"]["depth_weights"] == datasets.List(
        datasets.Value("int64")
    )
    assert all(row["hlo"] is None for row in ds["train"])


# ---- layout ----


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_shards_are_bounded_and_numbered(fmt: str, db: Path, tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    limit, batch = 20_000, 4
    with Corpus(db, create=False) as corpus:
        total = corpus.count()
        summary = export_corpus(corpus, tmp_path, fmt=fmt, batch_size=batch, max_shard_bytes=limit)
    paths = shards(tmp_path, ext=fmt)
    assert paths == summary.files["train"] and len(paths) > 2
    names = [re.fullmatch(rf"train-(\d{{5}})-of-(\d{{5}})\.{fmt}", p.name) for p in paths]
    assert all(names) and [int(m[1]) for m in names if m] == list(range(len(paths)))
    assert {int(m[2]) for m in names if m} == {len(paths)}
    rows = 0
    for path in paths:
        if fmt == "parquet":
            meta = pq.ParquetFile(path).metadata
            sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
            assert all(size == batch for size in sizes[:-1]) and 0 < sizes[-1] <= batch
            rows += sum(sizes)
        else:
            rows += len(path.read_text(encoding="utf-8").splitlines())
    assert rows == total
    ids = [r["id"] for r in expected_rows(db)]
    if fmt == "jsonl":
        assert [r["id"] for r in read_jsonl(paths)] == ids  # shards in order, rows in order


def test_split_is_disjoint_complete_and_deterministic(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["export", "--format", "jsonl", "--db", str(db), "--split", "0.6,0.2,0.2"]
    assert run([*argv, "--out", str(tmp_path / "a")], capsys)[0] == 0
    assert run([*argv, "--out", str(tmp_path / "b")], capsys)[0] == 0
    hashes: dict[str, set[str]] = {}
    for name in SPLITS:
        (path,) = shards(tmp_path / "a", name, "jsonl")
        rows = read_jsonl([path])
        assert all(r["split"] == name for r in rows)
        hashes[name] = {r["ir_hash"] for r in rows}
        assert path.read_bytes() == (tmp_path / "b" / "data" / path.name).read_bytes()
    assert not hashes["train"] & hashes["validation"]
    assert not hashes["train"] & hashes["test"]
    assert not hashes["validation"] & hashes["test"]
    assert set().union(*hashes.values()) == {r["ir_hash"] for r in expected_rows(db)}


def test_empty_split_still_gets_a_shard(db: Path, tmp_path: Path) -> None:
    with Corpus(db, create=False) as corpus:
        summary = export_corpus(corpus, tmp_path, fmt="jsonl", fractions=(1.0, 0.0, 0.0))
    assert summary.rows["validation"] == 0
    (path,) = shards(tmp_path, "validation", "jsonl")
    assert path.name == "validation-00000-of-00001.jsonl" and path.read_text() == ""


def test_split_follows_the_ir_not_the_corpus(db: Path, tmp_path: Path) -> None:
    """A pair copied into another corpus lands in the same split there."""
    fractions = (0.5, 0.3, 0.2)
    rows = expected_rows(db)
    other = tmp_path / "other.sqlite"
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    with Corpus(other) as corpus, corpus.transaction():
        for r in con.execute("SELECT * FROM pairs ORDER BY id DESC LIMIT 10"):
            corpus.add_pair({c: r[c] for c in PAIR_COLUMNS})
    con.close()
    with Corpus(other, create=False) as corpus:
        export_corpus(corpus, tmp_path / "ds", fmt="jsonl", fractions=fractions)
    for name in SPLITS:
        for row in read_jsonl(shards(tmp_path / "ds", name, "jsonl")):
            assert split_of(row["ir_hash"], fractions) == name
    assert {split_of(r["ir_hash"], (1.0, 0.0, 0.0)) for r in rows} == {"train"}
    assert {split_of(r["ir_hash"], (0.0, 0.0, 1.0)) for r in rows} == {"test"}


@given(
    st.text("0123456789abcdef", min_size=64, max_size=64),
    st.lists(st.integers(0, 100), min_size=3, max_size=3).filter(lambda w: sum(w) > 0),
)
def test_split_of_matches_cumulative_fractions(digest: str, weights: list[int]) -> None:
    fractions = [w / sum(weights) for w in weights]
    point = int(digest[:16], 16) / 2**64
    name = split_of(digest, fractions)
    index = SPLITS.index(name)
    assert fractions[index] > 0 or index == 2
    assert point >= sum(fractions[:index]) - 1e-12
    if index < 2:
        assert point < sum(fractions[: index + 1])


@given(st.lists(st.floats(0, 1), min_size=3, max_size=3))
def test_parse_split_accepts_exactly_fractions_summing_to_one(values: list[float]) -> None:
    text = ",".join(repr(v) for v in values)
    if math.isclose(sum(values), 1.0, abs_tol=1e-6):
        assert parse_split(text) == tuple(values)
    else:
        with pytest.raises(ValueError, match="sum"):
            parse_split(text)


# ---- the CLI's errors ----


def test_existing_export_needs_force(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ds"
    base = ["export", "--format", "jsonl", "--db", str(db), "--out", str(out)]
    assert run([*base, "--split"], capsys)[0] == 0
    code, out_text, err = run(base, capsys)
    assert code == 2 and "--force" in err and len(err.splitlines()) == 1
    assert run([*base, "--force"], capsys)[0] == 0
    assert sorted(p.name for p in (out / "data").iterdir()) == ["train-00000-of-00001.jsonl"]


def test_old_flat_layout_is_replaced_with_force(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ds"
    out.mkdir()
    for name in ("README.md", "train.jsonl", "validation.jsonl", "test.jsonl"):
        (out / name).write_text("old")
    base = ["export", "--format", "jsonl", "--db", str(db), "--out", str(out)]
    assert run(base, capsys)[0] == 2
    assert run([*base, "--force"], capsys)[0] == 0
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "data"]


def test_a_folder_with_other_files_is_refused_even_with_force(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    (out / "README.md").write_text("my readme")
    code, _, err = run(["export", "--db", str(db), "--out", str(out), "--force"], capsys)
    assert code == 2 and "not a fuzzjax export (notes.txt)" in err and len(err.splitlines()) == 1
    assert (out / "notes.txt").read_text() == "keep me"
    assert (out / "README.md").read_text() == "my readme"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert (
        run(["export", "--format", "jsonl", "--db", str(db), "--out", str(empty)], capsys)[0] == 0
        and (empty / "README.md").is_file()
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--split", "0.9,0.1"], "three comma-separated"),
        (["--split", "0.9,0.2,-0.1"], ">= 0"),
        (["--split", "0.5,0.2,0.2"], "sum to 0.9"),
        (["--split", "a,b,c"], "must be numbers"),
        (["--split", "nan,0.5,0.5"], ">= 0"),
        (["--format", "csv"], "invalid choice"),
        (["--batch-size", "0"], "--batch-size=0"),
        (["--max-shard-mb", "0"], "--max-shard-mb=0"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    code, out, err = run(["export", "--db", str(db), "--out", str(tmp_path / "o"), *extra], capsys)
    assert code == 2 and out == ""
    assert err.startswith("fuzzjax: error: ") and message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_bad_databases_and_outputs_exit_2(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"not a database at all" * 100)
    empty = tmp_path / "empty.sqlite"
    Corpus(empty).close()
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    cases = [
        (["--db", str(tmp_path / "missing.sqlite")], "no corpus"),
        (["--db", str(garbage)], "not a readable fuzzjax corpus"),
        (["--db", str(empty)], "no pairs"),
        (["--db", str(db), "--out", str(a_file)], "is a file"),
    ]
    for extra, message in cases:
        argv = ["export", "--format", "jsonl", "--out", str(tmp_path / "o"), *extra]
        code, _, err = run(argv, capsys)
        assert code == 2 and message in err and len(err.splitlines()) == 1, (extra, err)
    assert a_file.read_text() == "x"


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("op_counts", "{not json", "op_counts is not valid JSON"),
        ("op_counts", '{"stablehlo.add": "many"}', "op_counts is not an object of integer"),
        ("input_info", "[1, 2]", "input_info is not a list of arguments"),
        ("options", '{"max_depth": -4}', "options are not valid generation options"),
        ("depth", "deep", "depth holds a str, not int64"),
        ("created_at", "yesterday", "created_at is not an ISO-8601 time"),
    ],
)
def test_a_malformed_stored_row_is_one_line(
    column: str,
    value: str,
    message: str,
    db: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(db.read_bytes())
    con = sqlite3.connect(bad)
    con.execute(f"UPDATE pairs SET {column} = ? WHERE id = 3", (value,))
    con.commit()
    con.close()
    out = tmp_path / "o"
    code, _, err = run(["export", "--format", "jsonl", "--db", str(bad), "--out", str(out)], capsys)
    # the export names the row and column; so does the corpus's own check, when it is first
    named = f"pair id 3: {message}" in err or f"pairs row 3 has {column}=" in err
    assert code == 2 and named and len(err.splitlines()) == 1, err
    assert not out.exists() and not list(tmp_path.glob(".o.export-*"))


def test_parquet_without_pyarrow_names_the_extra(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    code, _, err = run(["export", "--db", str(db), "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "pip install 'fuzzjax[dataset]'" in err
    assert len(err.splitlines()) == 1 and not (tmp_path / "o").exists()
