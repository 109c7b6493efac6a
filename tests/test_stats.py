"""Tests for fuzzjax.corpus.stats (numbers checked against plain SQL) and fuzzjax.corpus.plots."""

from __future__ import annotations

import json
import re
import sqlite3
import sys
from array import array
from collections import Counter
from pathlib import Path

import jax.numpy as jnp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzzjax import extract_ir_pair
from fuzzjax.cli.main import main
from fuzzjax.corpus.add import add_pairs
from fuzzjax.corpus.build import build_corpus
from fuzzjax.corpus.stats import PERCENTILES, corpus_stats, format_stats, percentiles
from fuzzjax.corpus.store import Corpus
from fuzzjax.errors import MissingDependency
from fuzzjax.program import GenOptions


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generated pairs, one user pair, one recorded failure and one recorded duplicate."""
    path = tmp_path_factory.mktemp("stats") / "corpus.sqlite"
    build_corpus(path, count=30, options=GenOptions(max_depth=3), workers=0)
    pair = extract_ir_pair(lambda x: jnp.cumsum(x) * 2, jnp.ones((5,), jnp.int32), name="user_fn")
    with Corpus(path) as corpus:
        add_pairs(corpus, [pair])
        with corpus.transaction():
            corpus.record_failure(10_000, "{}", "lower", "TypeError: boom", "def f(x): ...")
            corpus.record_seed(10_000, "{}", "failed", None)
            corpus.record_seed(10_001, "{}", "duplicate", "0" * 64, 2)
    return path


@pytest.fixture()
def empty_db(tmp_path: Path) -> Path:
    path = tmp_path / "empty.sqlite"
    Corpus(path).close()
    return path


def nearest_rank(values: list[int], p: int) -> int:
    """Smallest value v with at least p% of the values <= v (searched, not indexed)."""
    return min(v for v in values if sum(x <= v for x in values) >= p / 100 * len(values))


@given(st.lists(st.integers(0, 10_000), min_size=1, max_size=60))
def test_percentiles_are_nearest_rank(values: list[int]) -> None:
    got = percentiles(array("q", values))
    assert got == {f"p{p}": nearest_rank(values, p) for p in PERCENTILES}


def test_stats_agree_with_plain_sql(db: Path) -> None:
    with Corpus(db, create=False) as corpus:
        s = corpus_stats(corpus, top=10)
    con = sqlite3.connect(db)
    rows = con.execute(
        "SELECT depth, category, input_info, op_counts, source, stablehlo FROM pairs"
    ).fetchall()
    con.close()
    assert s["pairs"] == len(rows) == 31
    assert s["by_depth"] == dict(sorted(Counter(r[0] for r in rows if r[0] is not None).items()))
    assert s["unmeasured_depth"] == 1
    assert s["by_category"] == dict(Counter(r[1] for r in rows))
    assert s["by_category"]["user"] == 1
    dtypes = Counter(a["dtype"] for r in rows for a in json.loads(r[2]))
    assert s["dtype_params"] == dict(dtypes)
    ops: Counter[str] = Counter()
    for r in rows:
        ops.update(json.loads(r[3]))
    top = s["top_ops"]
    assert len(top) == 10 and all(op.startswith("stablehlo.") for op, _ in top)
    assert [n for _, n in top] == sorted((n for _, n in top), reverse=True)
    assert all(ops[op] == n for op, n in top)
    assert min(n for _, n in top) >= max(
        n for op, n in ops.items() if op.startswith("stablehlo.") and op not in dict(top)
    )
    in_programs = {op: sum(op in json.loads(r[3]) for r in rows) for op, _ in top}
    assert dict(s["top_ops_by_programs"]) == in_programs
    assert s["source_chars"] == {
        f"p{p}": nearest_rank([len(r[4]) for r in rows], p) for p in PERCENTILES
    }
    assert s["ir_chars"]["p99"] == nearest_rank([len(r[5]) for r in rows], 99)
    assert s["failures"] == 1 and s["failures_by_stage"] == {"lower": 1}
    assert s["duplicates"] == 1
    assert s["duplicate_rate"] == pytest.approx(1 / 31)  # 30 stored seeds + 1 duplicate


def test_format_stats_shows_every_section(db: Path) -> None:
    with Corpus(db, create=False) as corpus:
        text = format_stats(corpus_stats(corpus))
    for needle in (
        "pairs               31",
        "failures            1  (lower 1)",
        "p50",
        "p90",
        "p99",
        "depth  pairs",
        "category",
        "user",
        "dtype",
        "top StableHLO ops",
        "duplicates skipped  1",
        "python -m fuzzjax replay",
    ):
        assert needle in text, needle


def test_empty_corpus_gives_a_clear_message(
    empty_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["stats", "--db", str(empty_db)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"corpus {empty_db} is empty")
    assert f"python -m fuzzjax --count 1000 --db {empty_db}" in out
    assert main(["stats", "--db", str(empty_db), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["pairs"] == 0


def test_missing_corpus_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stats", "--db", str(tmp_path / "nope.sqlite")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fuzzjax: error: no corpus") and len(err.splitlines()) == 1


def test_stats_json_is_json(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stats", "--db", str(db), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["pairs"] == 31 and "lengths" not in data


# ---- plots ----


CHART_NAMES = ["depth", "category", "dtype", "ops", "lengths", "duplicates"]


def test_write_plots_makes_six_readable_800px_pngs(db: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from matplotlib.image import imread

    from fuzzjax.corpus.plots import write_plots

    with Corpus(db, create=False) as corpus:
        paths = write_plots(corpus, tmp_path / "plots")
    assert [p.name for p in paths] == [f"{name}.png" for name in CHART_NAMES]
    for path in paths:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        height, width, _ = imread(path).shape
        assert width == 800 and height >= 400


def test_every_chart_has_a_title_axis_labels_and_units(db: Path) -> None:
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    from fuzzjax.corpus.plots import CHARTS, plot_stats

    with Corpus(db, create=False) as corpus:
        stats = plot_stats(corpus)
    assert list(CHARTS) == CHART_NAMES
    for name, draw in CHARTS.items():
        fig = Figure(figsize=(8, 4.5), dpi=100)
        assert draw(fig, stats, "label"), name
        (ax,) = fig.axes
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel(), name
        units = ax.get_xlabel() + ax.get_ylabel()
        assert re.search(r"\((count|characters|levels|%)", units), (name, units)
        texts = [t for t in fig.findobj(match=lambda o: hasattr(o, "get_fontsize"))]
        assert min(t.get_fontsize() for t in texts if t.get_text()) >= 7, name


def test_duplicates_chart_counts_per_depth(db: Path) -> None:
    with Corpus(db, create=False) as corpus:
        s = corpus_stats(corpus)
    con = sqlite3.connect(db)
    rows = con.execute(
        "SELECT depth, SUM(outcome = 'duplicate'), COUNT(*) FROM seeds"
        " WHERE outcome != 'failed' AND depth IS NOT NULL GROUP BY depth"
    ).fetchall()
    con.close()
    assert s["duplicates_by_depth"] == {int(d): [int(a), int(n)] for d, a, n in rows}
    assert s["duplicate_rate_by_depth"] == {int(d): a / n for d, a, n in rows}


def test_write_plots_from_stats(db: Path, empty_db: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from fuzzjax.corpus.plots import write_plots

    with Corpus(db, create=False) as corpus:
        with pytest.raises(ValueError, match="lengths"):
            write_plots(corpus_stats(corpus), tmp_path)
        stats = corpus_stats(corpus, top=25, lengths=True)
    assert len(stats["lengths"]) == 31
    assert len(write_plots(stats, tmp_path / "from_stats")) == 6
    with Corpus(empty_db, create=False) as corpus:
        assert write_plots(corpus, tmp_path / "none") == []
    assert not (tmp_path / "none").exists()


def test_write_plots_without_matplotlib_names_the_extra(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fuzzjax.corpus.plots import write_plots

    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with (
        Corpus(db, create=False) as corpus,
        pytest.raises(MissingDependency, match="fuzzjax\\[dataset"),
    ):
        write_plots(corpus, tmp_path)


def test_stats_cli_plot_flag(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``stats --plot DIR`` writes the PNGs; stdout stays the table or JSON."""
    pytest.importorskip("matplotlib")
    assert main(["stats", "--db", str(db), "--json", "--plot", str(tmp_path / "p")]) == 0
    captured = capsys.readouterr()
    json.loads(captured.out)  # the PNG paths go to stderr, stdout stays JSON
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == sorted(
        f"{name}.png" for name in CHART_NAMES
    )
    assert "depth.png" in captured.err
