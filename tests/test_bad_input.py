"""Every command refuses bad input the same way: exit code 2, one line on stderr, no traceback,
and every input file byte-identical afterwards (its sha256 before and after).

Each row is a command line over the fixtures of ``tests/bad_fixtures.py`` (``{fx}``) and a
scratch folder of its own (``{out}``). Rows run in-process through
``fuzzjax.cli.main.main``; a sample also runs as ``python -m fuzzjax`` subprocesses, to check
the real entry point. ``add`` rows whose file is executed show ``add``'s one notice first,
then the one error line.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest
from bad_fixtures import build

from fuzzjax.cli.main import main


class Row(NamedTuple):
    id: str
    argv: list[str]
    notice: str | None = None  # the file ``add`` says it executes, before the error line


BAD_CORPORA = [
    "empty0",
    "text",
    "dir",
    "foreign",
    "otherpairs",
    "schema9",
    "noschema",
    "nometa",
    "nopairscol",
    "truncated",
    "damaged",
]
#: What a reading command also refuses: a valid SQLite file without tables (a writer makes a
#: corpus of it).
UNREADABLE = [*BAD_CORPORA, "blank", "missing"]
CORRUPT_ROWS = ["json_ops", "json_ops_type", "json_info", "json_info_type", "json_options"]
BAD_FOLDERS = [
    "ff_empty",
    "ff_brokenjson",
    "ff_notdict",
    "ff_partial",
    "ff_nometa",
    "ff_badsource",
    "ff_oscall",
    "ff_badargs",
    "ff_badinputs",
    "ff_hugeshape",
    "ff_baddtype",
    "ff_badsig",
    "ff_badcommand",
    "ff_badtimeout",
    "ff_badhits",
    "ff_badoriginal",
]
BAD_PROGRAMS = [
    "prog_notgrammar.py",
    "prog_nosig.py",
    "prog_empty.py",
    "prog_binary.py",
    "prog_hugeshape.py",
    "prog_badnames.py",
    "prog_baddtype.py",
    "prog_badseed.py",
    "prog_badresult.py",
]
BIG = "1180591620717411303424"  # 2**70
HUGE = "1" + "0" * 30  # 10**30


def db(name: str) -> str:
    return "{fx}/" + name + ("" if name.endswith(".sqlite") else ".sqlite")


GENERATE = [
    (["--count", "0"]),
    (["--count", "-1"]),
    (["--count", "abc"]),
    (["--count", "1e3"]),
    (["--count", "0x10"]),
    (["--count", "9223372036854775808"]),
    (["--count", HUGE]),
    (["--max-depth", "0"]),
    (["--max-depth", "65"]),
    (["--max-depth", "nan"]),
    (["--min-depth", "0"]),
    (["--min-depth", "4", "--max-depth", "3"]),
    (["--max-rank", "-1"]),
    (["--max-rank", "9"]),
    (["--seed", "-1"]),
    (["--seed", BIG]),
    (["--seed", "9223372036854775807", "--count", "2"]),
    (["--workers", "-1"]),
    (["--workers", "100000"]),
    (["--timeout", "nan"]),
    (["--timeout", "inf"]),
    (["--timeout", "-5"]),
    (["--timeout", "0"]),
    (["--timeout", "1e300"]),
    (["--timeout", "5", "--workers", "0"]),
    (["--depth-dist", "bogus"]),
    (["--depth-dist", "1,2"]),
    (["--depth-dist", "-1,1,1,1,1"]),
    (["--depth-dist", "0,0,0,0,0"]),
    (["--balanced", "category", "--category", "math"]),
    (["--category", "nope"]),
    (["--category", "combined", "--max-depth", "1"]),
    (["--platforms", "bogus"]),
    (["--shard-size", "10"]),
    (["--scheduler", "tcp://127.0.0.1:1", "--workers", "2"]),
    (["--scheduler", "tcp://127.0.0.1:1", "--timeout", "5"]),
    (["--bogus-flag"]),
    (["extra-positional"]),
]
ROWS: list[Row] = [
    Row(f"generate{i}:{' '.join(a)}", ["generate", *a, "--db", "{out}/c.sqlite"])
    for i, a in enumerate(GENERATE)
]
ROWS += [Row(f"generate-db:{n}", ["--count", "3", "--db", db(n)]) for n in BAD_CORPORA]
ROWS += [
    Row("generate:other-options", ["--count", "9", "--max-depth", "4", "--db", db("good")]),
    Row(
        "generate:other-options-x64",
        ["--count", "9", "--max-depth", "2", "--x64", "--db", db("good")],
    ),
]
REPLAY = [
    [],
    ["-1"],
    [HUGE],
    [BIG],
    ["abc"],
    ["1e3"],
    ["0", "--max-depth", "0"],
    ["0", "--max-depth", "99"],
    ["0", "--min-depth", "5", "--max-depth", "2"],
    ["0", "--max-rank", "12"],
    ["0", "--db", "{fx}/missing.sqlite"],
    ["3", "--db", db("seedopts_bad")],
    ["3", "--db", db("seedopts_invalid")],
    ["{fx}/ff_good", "--max-depth", "3"],
]
ROWS += [Row(f"replay{i}:{' '.join(a)}", ["replay", *a]) for i, a in enumerate(REPLAY)]
ROWS += [Row(f"replay-db:{n}", ["replay", "3", "--db", db(n)]) for n in UNREADABLE]
ROWS += [Row(f"replay-folder:{n}", ["replay", "{fx}/" + n]) for n in BAD_FOLDERS]
ROWS += [Row(f"stats-db:{n}", ["stats", "--db", db(n)]) for n in UNREADABLE]
ROWS += [
    Row(f"stats-rows:{n}", ["stats", "--db", db(n)]) for n in [*CORRUPT_ROWS[:4], "json_platform"]
]
ROWS += [
    Row("stats:plot-file", ["stats", "--db", db("good"), "--plot", "{fx}/plain_file"]),
    Row("stats:bogus", ["stats", "--bogus"]),
]
ROWS += [Row(f"coverage-db:{n}", ["coverage", "--db", db(n)]) for n in UNREADABLE]
ROWS += [
    Row(f"coverage-rows:{n}", ["coverage", "--db", db(n)]) for n in ["json_ops", "json_ops_type"]
]
ROWS += [
    Row(f"coverage:top{v}", ["coverage", "--db", db("good"), "--top", v])
    for v in ["-3", "abc", HUGE, "1.5"]
]
EXPORT = ["export", "--out", "{out}/ds", "--format", "jsonl", "--db"]
ROWS += [Row(f"export-db:{n}", [*EXPORT, db(n)]) for n in UNREADABLE]
ROWS += [Row(f"export-rows:{n}", [*EXPORT, db(n)]) for n in CORRUPT_ROWS]
ROWS += [
    Row("export:no-out", ["export", "--db", db("good")]),
    Row("export:out-file", ["export", "--out", "{fx}/plain_file", "--db", db("good")]),
    Row("export:format", ["export", "--out", "{out}/ds", "--format", "csv", "--db", db("good")]),
    *(
        Row(f"export:split{v}", [*EXPORT, db("good"), "--split", v])
        for v in ["nan,0,1", "0.5,0.5", "1,1,-1", "a,b,c", "inf,0,0"]
    ),
    *(Row(f"export:batch{v}", [*EXPORT, db("good"), "--batch-size", v]) for v in ["0", HUGE]),
]
USER = ["add", "{fx}/user_ok.py", "--db"]
ROWS += [Row(f"add-db:{n}", [*USER, db(n)]) for n in BAD_CORPORA]
ROWS += [
    Row("add:missing", ["add", "{fx}/nope.py", "--db", "{out}/c.sqlite"]),
    Row("add:dir", ["add", "{fx}/some_dir", "--db", "{out}/c.sqlite"]),
    Row("add:no-file", ["add"]),
    *(
        Row(f"add:{n}", ["add", "{fx}/" + n, "--db", "{out}/c.sqlite"], notice="{fx}/" + n)
        for n in [
            "user_raises.py",
            "user_syntax.py",
            "user_noexamples.py",
            "user_badexamples.py",
            "user_exits.py",
            "user_notdict.py",
        ]
    ),
]
ROWS += [
    Row(f"merge-source:{n}", ["merge", "--db", "{out}/t.sqlite", db(n)])
    for n in [*BAD_CORPORA, "missing", *CORRUPT_ROWS, "seedopts_bad", "json_platform"]
]
ROWS += [
    Row(f"merge-target:{n}", ["merge", "--db", db(n), db("good")])
    for n in ["empty0", "text", "dir", "foreign", "otherpairs", "schema9", "damaged"]
]
ROWS += [
    Row("merge:self", ["merge", "--db", db("good"), db("good")]),
    Row("merge:no-sources", ["merge", "--db", "{out}/t.sqlite"]),
    Row("merge:second-source-bad", ["merge", "--db", "{out}/t.sqlite", db("good"), db("text")]),
]
FUZZ = [
    ["--time", "nan"],
    ["--time", "inf"],
    ["--time", "-1"],
    ["--time", "0"],
    ["--time", "1e300"],
    ["--count", "0"],
    ["--count", "-5"],
    ["--time", "5", "--count", "5"],
    ["--timeout", "nan"],
    ["--timeout", "-1"],
    ["--memory-mb", "-5"],
    ["--memory-mb", "256"],
    ["--memory-mb", HUGE],
    ["--workers", "0"],
    ["--workers", "100000"],
    ["--seed", "-1"],
    ["--seed", str(1 << 60)],
    ["--seed", str((1 << 60) - 1), "--count", "5"],
    ["--max-elements", "0"],
    ["--max-elements", "1000000000"],
    ["--max-depth", "0"],
    ["--max-rank", "9"],
    ["--shrink-time", "nan"],
    ["--shrink-time", "1e300"],
    ["--out", "{fx}/plain_file"],
    ["--bogus"],
    ["--count", "1", "--options-json", '{{"stateful": true}}'],
    ["--count", "1", "--options-json", '{{"stateful": 1}}'],
]
ROWS += [
    Row(
        f"fuzz{i}:{' '.join(a)}",
        ["fuzz", *a, "--out", "{out}/f"] if "--out" not in a else ["fuzz", *a],
    )
    for i, a in enumerate(FUZZ)
]
ROWS += [Row(f"shrink-folder:{n}", ["shrink", "{fx}/" + n]) for n in BAD_FOLDERS]
ROWS += [Row(f"shrink-file:{n}", ["shrink", "{fx}/" + n]) for n in BAD_PROGRAMS]
ROWS += [
    Row("shrink:missing", ["shrink", "{fx}/nope.py"]),
    Row("shrink:device", ["shrink", "/dev/null"]),
    Row("shrink:no-path", ["shrink"]),
    *(
        Row(f"shrink:{' '.join(a)}", ["shrink", "{fx}/prog_ok.py", *a])
        for a in (
            ["--time", "nan"],
            ["--time", "inf"],
            ["--timeout", "0"],
            ["--memory-mb", "-5"],
            ["--x64"],
        )
    ),
]
BENCH = [
    ["--count", "0"],
    ["--count", "-1"],
    ["--count", HUGE],
    ["--workers", "0"],
    ["--workers", "100000"],
    ["--lark-seconds", "nan"],
    ["--lark-seconds", "-1"],
    ["--memory", "0"],
    ["--every", "0"],
    ["--out", "{fx}/some_dir"],
    ["--memory", "10", "--out", "{fx}/some_dir/"],
    ["--bogus"],
]
ROWS += [Row(f"bench{i}:{' '.join(a)}", ["bench", *a]) for i, a in enumerate(BENCH)]
ROWS += [Row("unknown-command", ["frobnicate"]), Row("unknown-command-2", ["report-me"])]


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("bad") / "fx")


SIDECARS = ("-wal", "-shm")


def digests(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root``, by relative path, except SQLite's -wal and -shm:
    reading a WAL-mode corpus read-only creates them, a later writer removes them again."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.endswith(SIDECARS)
    }


def assert_untouched(before: dict[str, str], root: Path) -> None:
    after = digests(root)
    changed = sorted(name for name, digest in before.items() if after.get(name) != digest)
    assert changed == [], f"input files changed or removed: {changed}"
    new = sorted(set(after) - set(before))
    assert new == [], f"new files among the inputs: {new}"


def test_the_table_has_at_least_150_rows_over_every_command() -> None:
    assert len(ROWS) >= 150
    assert len({r.id for r in ROWS}) == len(ROWS)
    commands = {r.argv[0] if not r.argv[0].startswith("-") else "generate" for r in ROWS}
    wanted = {"generate", "replay", "stats", "coverage", "export", "add", "merge", "fuzz"}
    assert wanted | {"shrink", "bench"} <= commands


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_bad_input_is_refused_cleanly(
    row: Row, fixtures: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from fuzzjax.cli.dataset import EXECUTE_NOTICE

    argv = [a.format(fx=fixtures, out=tmp_path) for a in row.argv]
    before = digests(fixtures)
    capfd.readouterr()
    code = main(argv)
    out, err = capfd.readouterr()
    assert code == 2, (argv, out, err)
    assert "Traceback" not in err and "Traceback" not in out
    lines = err.splitlines()
    if row.notice is not None:
        assert lines[0] == EXECUTE_NOTICE.format(file=row.notice.format(fx=fixtures)), err
        lines = lines[1:]
    assert len(lines) == 1 and lines[0].startswith("fuzzjax: error: "), err
    assert_untouched(before, fixtures)


SUBPROCESS_SAMPLE = [
    "generate-db:text",
    "generate:other-options",
    "replay1:-1",
    "replay-folder:ff_oscall",
    "stats-rows:json_ops",
    "merge-target:foreign",
    "fuzz0:--time nan",
    "shrink-file:prog_notgrammar.py",
]


@pytest.mark.parametrize("row_id", SUBPROCESS_SAMPLE)
def test_the_real_entry_point_refuses_the_same_way(
    row_id: str, fixtures: Path, tmp_path: Path
) -> None:
    row = next(r for r in ROWS if r.id == row_id)
    argv = [a.format(fx=fixtures, out=tmp_path) for a in row.argv]
    before = digests(fixtures)
    done = subprocess.run(
        [sys.executable, "-m", "fuzzjax", *argv], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done
    assert "Traceback" not in done.stderr
    assert len(done.stderr.splitlines()) == 1 and done.stderr.startswith("fuzzjax: error: ")
    assert_untouched(before, fixtures)
