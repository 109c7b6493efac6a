"""Only text that passed the grammar is executed; stored strings written into code are escaped;
failure folders whose files were tampered with are rewritten from their meta.json; reading
commands leave a corpus byte-identical."""

from __future__ import annotations

import ast
import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from fuzzjax.cli.main import main
from fuzzjax.corpus.build import build_corpus
from fuzzjax.fuzzing.case import Case, Signature, Stage, Symptom
from fuzzjax.fuzzing.folders import BucketStore, folder_texts, write_folder
from fuzzjax.fuzzing.inputs import make_inputs
from fuzzjax.fuzzing.meta import load_meta
from fuzzjax.fuzzing.repro import program_text, repro_text
from fuzzjax.fuzzing.task import CANDIDATE_BASE, TEST_CRASH_ENV
from fuzzjax.program import ArgSpec, GenOptions
from fuzzjax.syntax import aliases_used, parse

HOSTILE = [
    'say "hi"',
    "it's",
    "'''",
    '"""',
    '"""\nimport os\nos.system("touch /tmp/pwned")\n"""',
    'x"""; import os; """',
    "line one\nline two\r\nthree",
    "`rm -rf /` and ```code```",
    "</script><script>alert(1)</script>",
    "trailing backslash \\",
    '\\"""',
    "nul \x00 and bell \x07 and \u2028 separator",
    "\\N{LATIN SMALL LETTER A}",
]


def _case() -> Case:
    """A small program that passes every oracle quickly."""
    args = (ArgSpec("x0", (3,), "float32"),)
    source = "def f(x0):\n    return jnp.sin(x0) + x0\n"
    return Case(source, args, make_inputs(args, 5), "float32", (3,))


def _sig(case: Case, stage: Stage = Stage.JIT_VS_EAGER, symptom: Symptom = Symptom.WRONG_VALUE):
    ops = tuple(sorted(aliases_used(parse(case.source))))
    return Signature(stage, symptom, ops, case.result_dtype)


def _body(text: str) -> list[str]:
    module = ast.parse(text)
    return [ast.dump(node) for node in module.body[1:]]  # everything after the docstring


@pytest.mark.parametrize("command", HOSTILE)
def test_a_hostile_command_stays_inside_the_repro_docstring(command: str) -> None:
    case = _case()
    benign = repro_text(case, _sig(case), command="python -m fuzzjax fuzz", timeout=5)
    text = repro_text(case, _sig(case), command=command, timeout=5)
    docstring = ast.get_docstring(ast.parse(text), clean=False)
    assert docstring is not None and f"The fuzz run that found it: {command}\n" in docstring
    assert _body(text) == _body(benign)  # not one statement more or different


@pytest.mark.parametrize("header", HOSTILE)
def test_a_hostile_header_stays_one_comment_line(header: str) -> None:
    case = _case()
    text = program_text(case, [header])
    assert text.endswith(case.source)
    head = text[: -len(case.source)]
    assert all(line.startswith("# ") for line in head.splitlines())
    assert len(head.splitlines()) == 2  # the header and the signature line


def test_program_text_refuses_a_source_outside_the_grammar() -> None:
    case = _case()
    bad = Case("import os\n", case.args, case.inputs, case.result_dtype, case.result_shape)
    with pytest.raises(ValueError, match="not in the fuzzjax grammar"):
        program_text(bad, [])
    with pytest.raises(ValueError, match="not in the fuzzjax grammar"):
        repro_text(bad, _sig(case), command="x", timeout=5)


def _folder(root: Path, command: str = "python -m fuzzjax fuzz --seed 5 --count 1", **kw) -> Path:
    case = _case()
    sig = kw.get("sig") or _sig(case)
    folder = root / sig.key()
    write_folder(
        folder, sig=sig, original=case, shrunk=case, meta={"hits": 1}, command=command, timeout=30
    )
    return folder


def test_folder_files_render_from_meta_and_a_hostile_command_round_trips(tmp_path: Path) -> None:
    folder = _folder(tmp_path, command=HOSTILE[4])
    meta = load_meta(folder)
    assert meta.command == HOSTILE[4]
    texts = folder_texts(meta.sig, meta.original, meta.shrunk, command=meta.command, timeout=30)
    for name, text in texts.items():
        assert (folder / name).read_text() == text
        ast.parse(text)
    store = BucketStore(tmp_path)
    assert store.repaired == [] and store.broken == [] and list(store.folders) == [folder.name]


def test_a_tampered_repro_is_rewritten_when_the_store_opens(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    original = {n: (folder / n).read_text() for n in ("repro.py", "program.py", "original.py")}
    (folder / "repro.py").write_text("import os\nos.system('touch pwned')\n")
    (folder / "program.py").unlink()
    (folder / "original.py").write_text("")
    store = BucketStore(tmp_path)
    assert store.repaired == [folder]
    assert {n: (folder / n).read_text() for n in original} == original


def test_fuzz_over_a_tampered_folder_rewrites_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _folder(tmp_path)
    good = (folder / "repro.py").read_text()
    (folder / "repro.py").write_text("print('tampered')\n")
    broken = tmp_path / "not-a-bucket"
    broken.mkdir()
    (broken / "meta.json").write_text("{broken")
    argv = ["fuzz", "--count", "1", "--seed", "1", "--out", str(tmp_path), "--workers", "1"]
    assert main([*argv, "--no-shrink", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert f"rewrote {folder}: its files did not match its meta.json" in out
    assert f"ignored {broken}: its meta.json is not fuzzjax's" in out
    assert (folder / "repro.py").read_text() == good
    assert (broken / "meta.json").read_text() == "{broken"  # not ours: left alone


def test_replay_folder_never_runs_the_folders_repro(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _folder(tmp_path)
    marker = tmp_path / "repro-was-run"
    (folder / "repro.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    assert main(["replay", str(folder)]) == 0  # the recorded difference is not real: it passes
    out = capsys.readouterr().out
    assert "not reproduced: the program passes now" in out
    assert f"stand-alone repro (not run by replay): python {folder / 'repro.py'}" in out
    assert not marker.exists()


def test_replay_folder_reproduces_a_crash_in_its_own_worker(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    case = _case()
    folder = _folder(tmp_path, sig=_sig(case, Stage.JIT, Symptom.SEGFAULT))
    monkeypatch.setenv(TEST_CRASH_ENV, str(CANDIDATE_BASE + 1))  # the replay's one candidate
    assert main(["replay", str(folder)]) == 1
    assert f"reproduced: {_sig(case, Stage.JIT, Symptom.SEGFAULT).key()}" in capsys.readouterr().out


def test_shrink_refuses_a_folder_whose_source_was_replaced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _folder(tmp_path)
    meta = json.loads((folder / "meta.json").read_text())
    meta["shrunk"]["source"] = "def f(x0):\n    return __import__('os').getcwd()\n"
    (folder / "meta.json").write_text(json.dumps(meta))
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert main(["shrink", str(folder), "--time", "5"]) == 2
    err = capsys.readouterr().err
    assert "the program is not fuzzjax's" in err and err.count("\n") == 1
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_add_says_once_that_it_executes_the_file_before_it_does(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    user = tmp_path / "mine.py"
    user.write_text(
        "import sys\nimport jax\nprint('the file runs now', file=sys.stderr)\n"
        "def twice(x):\n    return x * 2\n"
        "FUZZJAX_EXAMPLES = {'twice': (jax.ShapeDtypeStruct((4,), 'float32'),)}\n"
    )
    assert main(["add", str(user), "--db", str(tmp_path / "c.sqlite")]) == 0
    err = capfd.readouterr().err.splitlines()
    notice = f"fuzzjax add: executing {user} (any code in it runs; add only files you trust)"
    assert err == [notice, "the file runs now"]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("journal", ["wal", "delete"])
def test_reading_commands_leave_a_corpus_byte_identical(
    tmp_path: Path, journal: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "c.sqlite"
    build_corpus(db, count=6, options=GenOptions(max_depth=2), workers=0)
    if journal == "delete":  # a rollback-journal corpus (e.g. a distributed shard)
        con = sqlite3.connect(db)
        con.execute("PRAGMA journal_mode=DELETE")
        con.close()
    header = db.read_bytes()[18:20]
    assert header == (b"\x02\x02" if journal == "wal" else b"\x01\x01")
    before = _digest(db)
    seed = str(sqlite3.connect(db).execute("SELECT MIN(seed) FROM pairs").fetchone()[0])
    for argv in (
        ["stats", "--db", str(db)],
        ["coverage", "--db", str(db)],
        ["replay", seed, "--db", str(db), "--ir"],
        ["export", "--db", str(db), "--out", str(tmp_path / "ds"), "--format", "jsonl"],
    ):
        assert main(argv) == 0, argv
        assert _digest(db) == before, argv
    capsys.readouterr()
    if journal == "delete":
        assert sorted(p.name for p in tmp_path.iterdir()) == ["c.sqlite", "ds"]


def test_a_copy_of_the_fixture_folder_is_what_replay_reads(tmp_path: Path) -> None:
    """``load_meta`` gives back exactly what ``write_folder`` recorded."""
    folder = _folder(tmp_path)
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    meta = load_meta(copy)
    case = _case()
    assert meta.shrunk.source == case.source and meta.shrunk.args == case.args
    assert [x.tobytes() for x in meta.shrunk.inputs] == [x.tobytes() for x in case.inputs]
