"""Tests for ``fuzzjax add``: user functions enter the corpus, deduplicated like generated ones."""

from __future__ import annotations

import json
import sqlite3
import textwrap
from pathlib import Path
from typing import Any

import pytest

from fuzzjax.cli.dataset import add_parser
from fuzzjax.cli.main import main
from fuzzjax.corpus.build import build_corpus
from fuzzjax.program import GenOptions

USER_FILE = """
import jax
import jax.numpy as jnp


def softplus(x):
    return jnp.logaddexp(x, 0.0)


def matvec(a, v):
    return a @ v


def softplus_again(y):
    return jnp.logaddexp(y, 0.0)


FUZZJAX_EXAMPLES = {
    "softplus": (jax.ShapeDtypeStruct((8,), jnp.float32),),
    "matvec": (jnp.ones((3, 4), jnp.float16), jnp.ones((4,), jnp.float16)),
    "softplus_again": (jnp.zeros(8, jnp.float32),),
}

if __name__ == "__main__":
    raise RuntimeError("an add must not run the main block")
"""


def write(tmp_path: Path, text: str, name: str = "user_fns.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def rows(db: Path, where: str = "1") -> list[dict[str, Any]]:
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    out = [dict(r) for r in con.execute(f"SELECT * FROM pairs WHERE {where} ORDER BY id")]
    con.close()
    return out


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``main(argv)``; stderr without the one notice ``add``
    prints before it executes the file (checked here: at most once, first)."""
    code = main(argv)
    out, err = capsys.readouterr()
    lines = err.splitlines(keepends=True)
    if lines and lines[0].startswith("fuzzjax add: executing "):
        lines = lines[1:]
    assert not any(line.startswith("fuzzjax add: executing ") for line in lines)
    return code, out, "".join(lines)


def test_add_stores_user_functions_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file, db = write(tmp_path, USER_FILE), tmp_path / "c.sqlite"
    code, out, _ = run(["add", str(file), "--db", str(db)], capsys)
    assert code == 0
    assert out.strip() == f"added 2 pairs, 1 duplicate (softplus_again) to {db}"
    stored = rows(db)
    assert [r["operation"] for r in stored] == ["softplus", "matvec"]
    for r in stored:
        assert r["category"] == "user" and r["seed"] is None and r["options"] is None
        assert r["source"].startswith(f"def {r['operation']}(")
    assert [a["dtype"] for a in json.loads(stored[1]["input_info"])] == ["float16", "float16"]
    code, out, _ = run(["add", str(file), "--db", str(db)], capsys)
    assert code == 0 and out.startswith("added 0 pairs, 3 duplicates")
    assert len(rows(db)) == 2


def test_generated_program_added_by_hand_is_a_duplicate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Same canonical IR as a generated pair -> duplicate, whatever the route into the corpus."""
    db = tmp_path / "c.sqlite"
    build_corpus(db, count=3, options=GenOptions(max_depth=2), workers=0)
    generated = rows(db)
    lines = ["import jax", "import jax.numpy as jnp", "from jax import lax", ""]
    examples = []
    for i, r in enumerate(generated):
        lines.append(r["source"].replace("def f(", f"def f{i}(", 1))
        specs = ", ".join(
            f"jax.ShapeDtypeStruct({tuple(a['shape'])}, jnp.{a['dtype']})"
            for a in json.loads(r["input_info"])
        )
        examples.append(f'"f{i}": ({specs},)')
    lines.append("FUZZJAX_EXAMPLES = {" + ", ".join(examples) + "}")
    file = write(tmp_path, "\n".join(lines) + "\n")
    code, out, err = run(["add", str(file), "--db", str(db)], capsys)
    assert code == 0, err
    assert out.startswith("added 0 pairs, 3 duplicates"), out
    assert len(rows(db)) == 3


def test_all_or_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = write(
        tmp_path,
        USER_FILE.replace(
            '"softplus_again": (jnp.zeros(8, jnp.float32),),',
            '"softplus_again": (jnp.zeros(8),),\n    "bad": (jnp.ones(3), jnp.ones(4)),',
        )
        + "\ndef bad(x, y):\n    return x @ y\n",
    )
    db = tmp_path / "c.sqlite"
    code, _, err = run(["add", str(file), "--db", str(db)], capsys)
    assert code == 2
    assert "bad(float32[3], float32[4]) failed to lower" in err and len(err.splitlines()) == 1
    assert not db.exists() or rows(db) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x = 1 / 0\n", "user_fns.py failed at line 1: ZeroDivisionError: division by zero"),
        ("def f(:\n", "SyntaxError"),
        ("import sys\nsys.exit(3)\n", "SystemExit: 3"),
        ("def f(x):\n    return x\n", "defines no FUZZJAX_EXAMPLES"),
        ("FUZZJAX_EXAMPLES = [1]\n", "must be a non-empty dict"),
        (
            "import numpy as np\ndef f(x):\n    return x\nFUZZJAX_EXAMPLES = {'f': np.ones(3)}\n",
            "got ndarray (for one argument write (x,))",
        ),
        ("FUZZJAX_EXAMPLES = {'g': (1,)}\n", "key 'g' is not a function"),
    ],
)
def test_bad_files_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    file = write(tmp_path, text)
    code, out, err = run(["add", str(file), "--db", str(tmp_path / "c.sqlite")], capsys)
    assert code == 2 and out == ""
    assert err.startswith("fuzzjax: error: ") and message in err, err
    assert len(err.splitlines()) == 1


def test_missing_file_and_bad_db(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["add", str(tmp_path / "nope.py")], capsys)
    assert code == 2 and "is not a file" in err
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"garbage" * 500)
    code, _, err = run(["add", str(write(tmp_path, USER_FILE)), "--db", str(garbage)], capsys)
    assert code == 2 and "not a readable fuzzjax corpus" in err and len(err.splitlines()) == 1


def test_help_says_the_file_is_executed() -> None:
    text = " ".join(add_parser().format_help().split())
    assert "EXECUTE a Python file" in text and "only use files you trust" in text
    assert "FUZZJAX_EXAMPLES" in text
