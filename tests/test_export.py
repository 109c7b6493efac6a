"""fuzzjax.corpus.export: round trips (JSONL, Parquet), splits, batching, card, CLI errors."""

from __future__ import annotations

import json
import math
import sqlite3
import sys
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
from fuzzjax.corpus.export import (
    COLUMNS,
    DEFAULT_SPLIT,
    SPLITS,
    export_corpus,
    iter_export_rows,
    parse_split,
    split_of,
)
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


def expected_rows(db: Path) -> list[dict[str, Any]]:
    """The exported form of every pair, read with plain sqlite3 (independent of the exporter)."""
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    rows = []
    for r in con.execute("SELECT * FROM pairs ORDER BY id"):
        row = {c: r[c] for c in COLUMNS if c not in ("input_info", "dtypes")}
        row["input_info"] = json.loads(r["input_info"])
        row["dtypes"] = [a["dtype"] for a in row["input_info"]]
        rows.append(row)
    con.close()
    return rows


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_jsonl_round_trip(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        ["export", "--format", "jsonl", "--db", str(db), "--out", str(tmp_path / "ds")], capsys
    )
    assert code == 0, out
    rows = read_jsonl(tmp_path / "ds" / "data.jsonl")
    assert rows == expected_rows(db)
    assert [list(r) for r in rows[:1]] == [list(COLUMNS)]
    assert sorted(p.name for p in (tmp_path / "ds").iterdir()) == ["README.md", "data.jsonl"]
    user = [r for r in rows if r["category"] == "user"]
    assert len(user) == 1 and user[0]["seed"] is None and user[0]["hlo"]


def test_parquet_round_trip(db: Path, tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    with Corpus(db, create=False) as corpus:
        export_corpus(corpus, tmp_path, fmt="parquet")
    table = pq.read_table(tmp_path / "data.parquet")
    assert table.column_names == list(COLUMNS)
    assert table.to_pylist() == expected_rows(db)
    assert str(table.schema.field("seed").type) == "int64"
    assert str(table.schema.field("dtypes").type) == "list<element: string>"


def test_parquet_reads_with_pandas(db: Path, tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    pd = pytest.importorskip("pandas")
    with Corpus(db, create=False) as corpus:
        export_corpus(corpus, tmp_path, fmt="parquet")
    frame = pd.read_parquet(tmp_path / "data.parquet")
    expected = expected_rows(db)
    assert list(frame.columns) == list(COLUMNS)
    assert frame["source"].tolist() == [r["source"] for r in expected]
    assert frame["stablehlo"].tolist() == [r["stablehlo"] for r in expected]
    assert [list(d) for d in frame["dtypes"]] == [r["dtypes"] for r in expected]


@pytest.mark.parametrize("split", [None, (0.5, 0.25, 0.25)])
def test_parquet_is_written_in_record_batches(db: Path, tmp_path: Path, split: Any) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    batch = 7
    with Corpus(db, create=False) as corpus:
        total = corpus.count()
        summary = export_corpus(corpus, tmp_path, fmt="parquet", fractions=split, batch_size=batch)
    assert total > 3 * batch
    rows = 0
    for key, path in summary.files.items():
        meta = pq.ParquetFile(path).metadata
        sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
        # One row group per record batch: full batches, then the remainder.
        assert sizes == [batch] * (summary.rows[key] // batch) + (
            [summary.rows[key] % batch] if summary.rows[key] % batch else []
        )
        rows += sum(sizes)
    assert rows == total


def test_split_is_disjoint_complete_and_deterministic(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["export", "--format", "jsonl", "--db", str(db), "--split", "0.6,0.2,0.2"]
    assert run([*argv, "--out", str(tmp_path / "a")], capsys)[0] == 0
    assert run([*argv, "--out", str(tmp_path / "b")], capsys)[0] == 0
    hashes: dict[str, set[str]] = {}
    for name in SPLITS:
        rows = read_jsonl(tmp_path / "a" / f"{name}.jsonl")
        assert all(r["split"] == name for r in rows)
        hashes[name] = {r["ir_hash"] for r in rows}
        again = (tmp_path / "b" / f"{name}.jsonl").read_bytes()
        assert (tmp_path / "a" / f"{name}.jsonl").read_bytes() == again
    assert not hashes["train"] & hashes["validation"]
    assert not hashes["train"] & hashes["test"]
    assert not hashes["validation"] & hashes["test"]
    assert set().union(*hashes.values()) == {r["ir_hash"] for r in expected_rows(db)}
    card = (tmp_path / "a" / "README.md").read_bytes()
    assert card == (tmp_path / "b" / "README.md").read_bytes()


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
        for row in read_jsonl(tmp_path / "ds" / f"{name}.jsonl"):
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


def test_dataset_card(db: Path, tmp_path: Path) -> None:
    with Corpus(db, create=False) as corpus:
        summary = export_corpus(corpus, tmp_path, fmt="jsonl", fractions=(0.8, 0.1, 0.1))
    card = (tmp_path / "README.md").read_text()
    assert card.startswith("---\nlicense: apache-2.0\n")
    for column in [*COLUMNS, "split"]:
        assert f"| `{column}` |" in card
    for name in SPLITS:
        assert f"| {name}.jsonl | {name} | {summary.rows[name]} |" in card
    assert "| user | 1 |" in card
    assert f"`{jax.__version__}` ({GENERATED + 1} rows)" in card
    assert "Apache-2.0" in card


def test_existing_export_needs_force(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ds"
    base = ["export", "--format", "jsonl", "--db", str(db), "--out", str(out)]
    assert run([*base, "--split"], capsys)[0] == 0
    code, out_text, err = run(base, capsys)
    assert code == 2 and "--force" in err and len(err.splitlines()) == 1
    assert run([*base, "--force"], capsys)[0] == 0
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "data.jsonl"]


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


def test_parquet_without_pyarrow_names_the_extra(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    code, _, err = run(["export", "--db", str(db), "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "pip install 'fuzzjax[dataset]'" in err
    assert len(err.splitlines()) == 1 and not (tmp_path / "o").exists()


def test_failed_export_leaves_no_partial_files(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("pyarrow")
    import fuzzjax.corpus.export

    def failing_rows(*args: Any) -> Any:
        yield from list(iter_export_rows(*args))[:5]
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fuzzjax.corpus.export, "iter_export_rows", failing_rows)
    with Corpus(db, create=False) as corpus, pytest.raises(OSError, match="No space"):
        export_corpus(corpus, tmp_path / "ds", fmt="parquet", fractions=DEFAULT_SPLIT)
    assert list((tmp_path / "ds").iterdir()) == []
