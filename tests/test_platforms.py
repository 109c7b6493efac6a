"""Multi-platform lowering (jax.export, no devices), artifacts, schema 2, merge, stats, export."""

from __future__ import annotations

import base64
import json
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fuzzjax import extract_ir_pair
from fuzzjax.cli.main import main
from fuzzjax.corpus.add import user_row
from fuzzjax.corpus.build import build_corpus
from fuzzjax.corpus.columns import PLATFORM_FIELDS
from fuzzjax.corpus.export import export_corpus
from fuzzjax.corpus.merge import merge_corpora
from fuzzjax.corpus.stats import corpus_stats, format_stats
from fuzzjax.corpus.store import Corpus
from fuzzjax.errors import CorpusError
from fuzzjax.lowering.lower import load_function
from fuzzjax.lowering.platforms import (
    PLATFORMS,
    custom_call_targets,
    lower_for_platforms,
    parse_platforms,
    platforms_differ,
)
from fuzzjax.program import ArgSpec, GenOptions

ROOT = Path(__file__).resolve().parents[1]
MATRIX = jax.ShapeDtypeStruct((4, 4), jnp.float32)


def sin_add(x: jax.Array) -> jax.Array:
    return jnp.sin(x) + x


def eigh(x: jax.Array) -> jax.Array:
    return jnp.linalg.eigh(x)[0]


def inv(x: jax.Array) -> jax.Array:
    return jnp.linalg.inv(x)


def sort(x: jax.Array) -> jax.Array:
    return jnp.sort(x, axis=0)


@pytest.mark.parametrize(
    ("fn", "differs"), [(sin_add, False), (sort, False), (eigh, True), (inv, True)]
)
def test_platforms_differ_only_where_lowering_rules_do(
    fn: Callable[[jax.Array], jax.Array], differs: bool
) -> None:
    irs = lower_for_platforms(fn, [MATRIX], ("cpu", "cuda"))
    assert [ir.platform for ir in irs] == ["cpu", "cuda"]
    assert platforms_differ(ir.platform_hash for ir in irs) is differs
    cpu, cuda = (ir.custom_calls for ir in irs)
    if differs:  # LAPACK on CPU, cuSOLVER on CUDA
        assert cpu and all(t.startswith("lapack_") for t in cpu)
        assert cuda and any(t.startswith("cusolver_") for t in cuda)
    else:
        assert cpu == cuda == {}


def test_custom_call_targets_reads_both_syntaxes() -> None:
    text = (
        "%0 = stablehlo.custom_call @lapack_ssyevd_ffi(%arg0) : ...\n"
        '%1 = "stablehlo.custom_call"(%0) {call_target_name = "Eigh"} : ...\n'
        "%2 = stablehlo.custom_call @lapack_ssyevd_ffi(%1) : ...\n"
    )
    assert custom_call_targets(text) == {"Eigh": 1, "lapack_ssyevd_ffi": 2}


def test_parse_platforms() -> None:
    assert parse_platforms("tpu, CPU,cuda,cpu") == ("cpu", "cuda", "tpu")
    assert parse_platforms(",".join(PLATFORMS)) == PLATFORMS
    for bad in ("", "gpu", "cpu,metal"):
        with pytest.raises(ValueError, match="--platforms"):
            parse_platforms(bad)


# ---- a corpus with one differing and one non-differing pair ----


def _store(corpus: Corpus, fn: Callable[..., Any], platforms: tuple[str, ...]) -> str:
    pair = extract_ir_pair(fn, MATRIX)
    irs = lower_for_platforms(fn, [MATRIX], platforms, artifacts=True)
    with corpus.transaction():
        assert corpus.add_pair(user_row(pair))
        corpus.add_platform_irs(pair.ir_hash, [ir.to_row() for ir in irs])
    return pair.ir_hash


@pytest.fixture(scope="module")
def flagged(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    path = tmp_path_factory.mktemp("platforms") / "corpus.sqlite"
    with Corpus(path) as corpus:
        hashes = {f.__name__: _store(corpus, f, ("cpu", "cuda")) for f in (eigh, sin_add)}
    return path, hashes


def test_differing_pair_is_flagged_by_the_summary_view(
    flagged: tuple[Path, dict[str, str]],
) -> None:
    path, hashes = flagged
    con = sqlite3.connect(path)
    rows = dict(con.execute("SELECT ir_hash, platform_differs FROM platform_summary"))
    con.close()
    assert rows == {hashes["eigh"]: 1, hashes["sin_add"]: 0}


def test_stats_report_differences_and_custom_call_targets(
    flagged: tuple[Path, dict[str, str]],
) -> None:
    with Corpus(flagged[0], create=False) as corpus:
        stats = corpus_stats(corpus)
    p = stats["platforms"]
    assert p["rows_by_platform"] == {"cpu": 2, "cuda": 2} and p["artifacts"] == 4
    assert (p["programs"], p["differ"]) == (2, 1)
    assert p["differing_pairs"] == {"cpu/cuda": 1}
    assert set(p["differing_custom_calls"]) == {"lapack_ssyevd_ffi", "cusolver_syevd_ffi"}
    assert p["custom_calls_by_platform"]["cuda"] == {"cusolver_syevd_ffi": 1}
    text = format_stats(stats)
    assert "platforms differ    1 of 2 programs" in text and "@cusolver_syevd_ffi 1" in text


def test_cpu_only_corpus_has_no_platform_rows_or_columns(tmp_path: Path) -> None:
    build_corpus(tmp_path / "c.sqlite", count=3, options=GenOptions(max_depth=2), workers=0)
    with Corpus(tmp_path / "c.sqlite", create=False) as corpus:
        assert corpus.platform_count() == 0
        assert corpus_stats(corpus)["platforms"] is None
        export_corpus(corpus, tmp_path / "out", fmt="jsonl")
    shard = tmp_path / "out" / "data" / "train-00000-of-00001.jsonl"
    row = json.loads(shard.read_text().splitlines()[0])
    assert not set(PLATFORM_FIELDS) & set(row)


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_export_carries_platform_columns(
    flagged: tuple[Path, dict[str, str]], tmp_path: Path, fmt: str
) -> None:
    path, hashes = flagged
    with Corpus(path, create=False) as corpus:
        export_corpus(corpus, tmp_path, fmt=fmt)
        stored = {h: corpus.platform_irs(h) for h in hashes.values()}
    if fmt == "parquet":
        pq = pytest.importorskip("pyarrow.parquet")
        rows = pq.read_table(tmp_path / "data" / "train-00000-of-00001.parquet").to_pylist()
    else:
        shard = tmp_path / "data" / "train-00000-of-00001.jsonl"
        rows = [json.loads(line) for line in shard.read_text().splitlines()]
    by_hash = {r["ir_hash"]: r for r in rows}
    assert by_hash[hashes["eigh"]]["platform_differs"] is True
    assert by_hash[hashes["sin_add"]]["platform_differs"] is False
    for ir_hash, irs in stored.items():
        row = by_hash[ir_hash]
        assert row["platforms"] == ["cpu", "cuda"]
        for got, want in zip(row["platform_ir"], irs, strict=True):
            blob = got["artifact"] if fmt == "parquet" else base64.b64decode(got["artifact"])
            assert blob == want["artifact"] and got["stablehlo"] == want["stablehlo"]
    card = (tmp_path / "README.md").read_text()
    assert "## Platforms" in card and all(f"| `{c}` |" in card for c in PLATFORM_FIELDS)


# ---- artifacts through build_corpus ----


def _inputs(args: list[ArgSpec]) -> list[np.ndarray]:
    """Deterministic concrete inputs: arange (wrapped to the dtype) / size, or parity."""
    out = []
    for a in args:
        n = int(np.prod(a.shape, dtype=np.int64))
        base = np.arange(n, dtype=np.float64).reshape(a.shape)
        if a.dtype == "bool":
            out.append((base % 2).astype(bool))
        elif a.dtype.startswith(("int", "uint")):
            out.append((base % 7).astype(a.dtype))
        else:
            out.append(np.asarray(jnp.asarray((base + 1) / max(n, 1), dtype=a.dtype)))
    return out


def _assert_same(got: Any, want: Any) -> None:
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape and got.dtype == want.dtype
    if want.dtype.kind in "biu":
        np.testing.assert_array_equal(got, want)
    else:
        kind = np.complex128 if want.dtype.kind == "c" else np.float64
        np.testing.assert_allclose(got.astype(kind), want.astype(kind), rtol=1e-6, equal_nan=True)


def test_cli_platforms_store_rows_and_cpu_artifacts_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("flatbuffers")
    db = tmp_path / "c.sqlite"
    argv = ["--count", "6", "--max-depth", "3", "--db", str(db), "--workers", "0", "--quiet"]
    code = main([*argv, "--platforms", "cuda,cpu", "--export-artifacts", "--hlo"])
    assert code == 0, capsys.readouterr().err
    with Corpus(db, create=False) as corpus:
        pairs = list(corpus.iter_pairs(["ir_hash", "source", "input_info", "hlo"]))
        assert len(pairs) == 6 and all(p["hlo"].startswith("HloModule") for p in pairs)
        for pair in pairs:
            rows = corpus.platform_irs(pair["ir_hash"])
            assert [r["platform"] for r in rows] == ["cpu", "cuda"]
            cpu, cuda = (jax.export.deserialize(bytearray(r["artifact"])) for r in rows)
            assert cpu.platforms == ("cpu",) and cuda.platforms == ("cuda",)
            args = _inputs([ArgSpec.from_json(a) for a in json.loads(pair["input_info"])])
            _assert_same(cpu.call(*args), jax.jit(load_function(pair["source"]))(*args))


def test_platform_export_failure_is_recorded_for_its_seed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fuzzjax.lowering.platforms

    real, calls = fuzzjax.lowering.platforms.export_for, []

    def export_for(fn: Any, specs: Any, platform: str) -> Any:
        calls.append(platform)
        if calls == ["cpu", "tpu"]:  # the first program's tpu export
            raise NotImplementedError("no tpu rule\nsecond line")
        return real(fn, specs, platform)

    monkeypatch.setattr(fuzzjax.lowering.platforms, "export_for", export_for)
    db = tmp_path / "c.sqlite"
    summary = build_corpus(
        db, count=2, options=GenOptions(max_depth=2), workers=0, platforms=("tpu", "cpu")
    )
    assert (summary.stored, summary.failures) == (2, 1)
    with Corpus(db, create=False) as corpus:
        stage, error = corpus.db.execute("SELECT stage, error FROM failures").fetchone()
        assert corpus.platform_count() == 4
    assert (stage, error) == ("export:tpu", "NotImplementedError: no tpu rule")


def test_bad_platform_is_one_line_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "c.sqlite"
    cases = {"cpu,gpu": "unknown platform 'gpu' (known: cpu, cuda, rocm, tpu)", ",": "one or more"}
    for value, message in cases.items():
        assert main(["--count", "1", "--db", str(db), "--platforms", value]) == 2
        err = capsys.readouterr().err
        assert err.startswith("fuzzjax: error: --platforms=") and err.count("\n") == 1
        assert message in err
    assert main(["--count", "1", "--platforms", "cpu", "--scheduler", "tcp://127.0.0.1:1"]) == 2
    assert "--scheduler" in capsys.readouterr().err
    assert not db.exists()


def test_export_artifacts_without_flatbuffers_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "flatbuffers", None)  # import flatbuffers -> ImportError
    assert main(["--count", "1", "--db", str(tmp_path / "c.sqlite"), "--export-artifacts"]) == 2
    assert "pip install 'fuzzjax[export]'" in capsys.readouterr().err


def test_flatbuffers_is_declared_in_the_extras() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    for extra in ("export", "test"):
        assert any(req.startswith("flatbuffers") for req in extras[extra]), extra


# ---- schema 1 corpora and merging ----


def _downgrade_to_schema_1(path: Path) -> None:
    con = sqlite3.connect(path)
    con.executescript(
        "DROP VIEW platform_summary; DROP TABLE platform_ir;"
        "UPDATE meta SET value = '1' WHERE key = 'schema';"
    )
    con.close()


def test_schema_1_corpus_opens_merges_and_is_upgraded(
    flagged: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    old = tmp_path / "old.sqlite"
    old.write_bytes(flagged[0].read_bytes())
    _downgrade_to_schema_1(old)
    target = tmp_path / "merged.sqlite"
    summary = merge_corpora(target, [old, flagged[0]])  # a v1 source, then a v2 one
    assert (summary.added, summary.duplicates, summary.platform_rows) == (2, 2, 4)
    assert "4 platform rows" in summary.line(target)
    with Corpus(target, create=False) as corpus, Corpus(flagged[0], create=False) as source:
        for ir_hash in flagged[1].values():
            assert corpus.platform_irs(ir_hash) == source.platform_irs(ir_hash)
    assert merge_corpora(target, [flagged[0]]).platform_rows == 0  # nothing copied twice
    with Corpus(old) as corpus:  # opening upgrades in place
        assert corpus.count() == 2 and corpus.platform_count() == 0
        assert corpus.db.execute("SELECT value FROM meta WHERE key='schema'").fetchone() == ("2",)


def test_unknown_schema_is_still_rejected(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    Corpus(path).close()
    con = sqlite3.connect(path)
    con.execute("UPDATE meta SET value = '99' WHERE key = 'schema'")
    con.commit()
    con.close()
    with pytest.raises(CorpusError, match="unknown corpus schema"):
        Corpus(path)
