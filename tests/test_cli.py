"""The command line: main(argv) -> int, one-line errors with exit code 2, replay and stats."""

import re
import sqlite3
from pathlib import Path

import pytest

from fuzzjax.cli.main import main
from fuzzjax.generation.generator import generate
from fuzzjax.program import GenOptions


@pytest.mark.parametrize(
    "argv,fragment",
    [
        (["--count", "-5"], "--count=-5 must be >= 1"),
        (["--count", "ten"], "is not an integer"),
        (["--max-depth", "0"], "--max-depth=0 must be >= 1"),
        (["--max-depth", "3", "--min-depth", "4"], "--min-depth=4 must be <= 3"),
        (["--workers", "-1"], "--workers=-1 must be >= 0"),
        (["--bogus-flag"], "unrecognized arguments"),
        (["frobnicate"], "unknown command 'frobnicate'"),
        (["replay"], "required: seed"),
        (["replay", "-3"], "must be >= 0"),
    ],
)
def test_bad_input_exits_2_with_one_line(argv: list[str], fragment: str, capsys) -> None:  # noqa: ANN001
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("fuzzjax: error: ")
    assert fragment in err


def test_corrupt_db_exits_2_and_is_untouched(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"\x00garbage" * 512)
    before = junk.read_bytes()
    for argv in (
        ["--count", "3", "--db", str(junk)],
        ["stats", "--db", str(junk)],
        ["replay", "1", "--db", str(junk)],
    ):
        assert main(argv) == 2, argv
        assert "not a readable fuzzjax corpus" in capsys.readouterr().err
    assert junk.read_bytes() == before


def test_generate_replay_stats_round_trip(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    db = tmp_path / "c.sqlite"
    argv = [
        "--count",
        "25",
        "--max-depth",
        "3",
        "--seed",
        "100",
        "--db",
        str(db),
        "--workers",
        "0",
        "--quiet",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "stored 25 new pairs" in out
    con = sqlite3.connect(db)
    seed, source, stablehlo = con.execute(
        "SELECT seed, source, stablehlo FROM pairs ORDER BY id DESC LIMIT 1"
    ).fetchone()
    con.close()
    assert main(["replay", str(seed), "--db", str(db)]) == 0
    assert capsys.readouterr().out == source  # options come from the corpus record
    assert main(["replay", str(seed), "--db", str(db), "--ir"]) == 0
    replayed = capsys.readouterr()
    assert replayed.out == source + "\n" + stablehlo and replayed.err == ""
    # A flag that changes the stored options is applied, and stderr says so.
    assert main(["replay", str(seed), "--max-depth", "2", "--db", str(db)]) == 0
    replayed = capsys.readouterr()
    assert replayed.out == generate(seed, GenOptions(max_depth=2)).source
    assert replayed.err == (
        f"note: seed {seed} is stored in {db} with --max-depth 3 --min-depth 1 --max-rank 8; "
        "generated with --max-depth 2 --min-depth 1 --max-rank 8 as asked, not the stored "
        "program\n"
    )
    # A seed the corpus does not hold is generated with the options named on stderr.
    assert main(["replay", "99999", "--max-depth", "3", "--db", str(db)]) == 0
    replayed = capsys.readouterr()
    assert replayed.out == generate(99999, GenOptions(max_depth=3)).source
    assert replayed.err == (
        f"note: seed 99999 is not in {db}; generated it with --max-depth 3 --min-depth 1 "
        "--max-rank 8\n"
    )
    # An explicit --db that does not exist is an error, not a silent fallback to defaults.
    assert main(["replay", str(seed), "--db", str(tmp_path / "none")]) == 2
    assert capsys.readouterr().err.startswith("fuzzjax: error: no corpus at")
    assert main(["stats", "--db", str(db)]) == 0
    stats = capsys.readouterr().out
    assert re.search(r"^pairs\s+25$", stats, re.MULTILINE)
    assert re.search(r"^validity rate\s+100.00%$", stats, re.MULTILINE)
    assert "stablehlo." in stats


def test_stats_on_an_empty_corpus_says_so(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    from fuzzjax.corpus.store import Corpus

    Corpus(tmp_path / "e.sqlite").close()
    assert main(["stats", "--db", str(tmp_path / "e.sqlite")]) == 0
    assert "is empty" in capsys.readouterr().out


def test_coverage_and_depth_distribution(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    db = tmp_path / "c.sqlite"
    argv = [
        "--count",
        "60",
        "--max-depth",
        "3",
        "--depth-dist",
        "0,0,1",
        "--db",
        str(db),
        "--workers",
        "0",
        "--quiet",
    ]
    assert main(argv) == 0
    capsys.readouterr()
    con = sqlite3.connect(db)
    assert {d for (d,) in con.execute("SELECT DISTINCT depth FROM pairs")} == {3}
    con.close()
    assert main(["coverage", "--db", str(db), "--json"]) == 0
    import json

    cov = json.loads(capsys.readouterr().out)
    assert cov["programs_parsed"] == 60
    assert len(cov["reached"]) + len(cov["not_reached"]) == cov["alternatives"]
    assert cov["stablehlo_op_kinds"] > 10
    assert main(["--depth-dist", "1,2", "--db", str(db)]) == 2
