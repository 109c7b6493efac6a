"""Input files for tests/test_bad_input.py: broken corpora, failure folders, program files.

``build(root)`` writes them all under ``root`` once; every bad-input row then names some of
them, and the test checks they are byte-identical afterwards.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

from fuzzjax.corpus.build import build_corpus
from fuzzjax.fuzzing.case import Case, Signature, Stage, Symptom
from fuzzjax.fuzzing.folders import write_folder
from fuzzjax.fuzzing.inputs import make_inputs
from fuzzjax.generation.generator import generate
from fuzzjax.program import GenOptions

#: Options of the good corpus (``good.sqlite``).
GOOD_OPTIONS = GenOptions(max_depth=2)
GOOD_SEED = 3

USER_OK = """
import jax
import jax.numpy as jnp


def twice(x):
    return x * 2


FUZZJAX_EXAMPLES = {"twice": (jax.ShapeDtypeStruct((4,), jnp.float32),)}
"""

USER_FILES = {
    "user_ok.py": USER_OK,
    "user_raises.py": "raise RuntimeError('boom at import')\n",
    "user_syntax.py": "def f(:\n",
    "user_noexamples.py": "def f(x):\n    return x\n",
    "user_badexamples.py": "FUZZJAX_EXAMPLES = {'missing_fn': (1,)}\n",
    "user_exits.py": "import sys\nsys.exit(3)\n",
    "user_notdict.py": "FUZZJAX_EXAMPLES = [1, 2]\n",
}

PROGRAM_OK = "# signature: (x0: float32[3]) -> float32[3]\ndef f(x0):\n    return jnp.sin(x0)\n"
PROGRAM_FILES: dict[str, str | bytes] = {
    "prog_ok.py": PROGRAM_OK,
    "prog_notgrammar.py": "# signature: (x0: float32[3]) -> float32[3]\n"
    "import os\ndef f(x0):\n    os.system('echo pwned')\n    return x0\n",
    "prog_nosig.py": "def f(x0):\n    return jnp.sin(x0)\n",
    "prog_empty.py": "",
    "prog_binary.py": b"\xff\xfe\x00\x01garbage\x80",
    "prog_hugeshape.py": "# signature: (x0: float32[1000000, 1000000]) -> float32[3]\n"
    "def f(x0):\n    return jnp.sin(x0)\n",
    "prog_badnames.py": "# signature: (x0: float32[3]) -> float32[3]\n"
    "def f(x1):\n    return jnp.sin(x1)\n",
    "prog_baddtype.py": "# signature: (x0: float99[3]) -> float32[3]\n"
    "def f(x0):\n    return jnp.sin(x0)\n",
    "prog_badseed.py": "# signature: (x0: float32[3]) -> float32[3]\n# input-seed: minus\n"
    "def f(x0):\n    return jnp.sin(x0)\n",
    "prog_badresult.py": "# signature: (x0: float32[3]) -> what\ndef f(x0):\n    return x0\n",
}


def _sql(path: Path, *statements: str) -> None:
    con = sqlite3.connect(path)
    for statement in statements:
        con.execute(statement)
    con.commit()
    con.close()


def _variant(good: Path, root: Path, name: str, *statements: str) -> None:
    shutil.copyfile(good, root / name)
    _sql(root / name, *statements)


def _corpora(root: Path) -> None:
    good = root / "good.sqlite"
    build_corpus(good, count=6, options=GOOD_OPTIONS, workers=0)
    (root / "empty0.sqlite").write_bytes(b"")
    (root / "text.sqlite").write_text("id,source\n1,not a database\n" * 50)
    (root / "dir.sqlite").mkdir()
    _sql(
        root / "foreign.sqlite",
        "CREATE TABLE people (name TEXT)",
        "INSERT INTO people VALUES ('x')",
    )
    _sql(root / "blank.sqlite", "VACUUM")  # a valid SQLite file without tables
    _sql(
        root / "otherpairs.sqlite",
        "CREATE TABLE meta (key TEXT, value TEXT)",
        "INSERT INTO meta VALUES ('schema', '2')",
        "CREATE TABLE pairs (a TEXT, b TEXT)",
        "CREATE TABLE seeds (seed INTEGER)",
        "CREATE TABLE failures (id INTEGER)",
    )
    _variant(good, root, "schema9.sqlite", "UPDATE meta SET value = '9' WHERE key = 'schema'")
    _variant(good, root, "noschema.sqlite", "DELETE FROM meta WHERE key = 'schema'")
    _variant(good, root, "nometa.sqlite", "DROP TABLE meta")
    _variant(good, root, "nopairscol.sqlite", "ALTER TABLE pairs DROP COLUMN hlo")
    first = "(SELECT MIN(id) FROM pairs)"
    _variant(
        good, root, "json_ops.sqlite", f"UPDATE pairs SET op_counts = '{{bad' WHERE id = {first}"
    )
    _variant(good, root, "json_ops_type.sqlite", 'UPDATE pairs SET op_counts = \'{"a": "x"}\'')
    _variant(good, root, "json_info.sqlite", "UPDATE pairs SET input_info = 'not json'")
    _variant(good, root, "json_info_type.sqlite", "UPDATE pairs SET input_info = '{\"a\": 1}'")
    _variant(good, root, "json_options.sqlite", "UPDATE pairs SET options = '[1, 2'")
    _variant(good, root, "seedopts_bad.sqlite", "UPDATE seeds SET options = '{oops'")
    _variant(
        good, root, "seedopts_invalid.sqlite", "UPDATE seeds SET options = '{\"max_depth\": 999}'"
    )
    _variant(
        good,
        root,
        "json_platform.sqlite",
        "INSERT INTO platform_ir (ir_hash, platform, stablehlo, platform_hash, op_counts, "
        "custom_calls) SELECT ir_hash, 'cpu', 'x', 'h', '{}', '{bad' FROM pairs "
        f"WHERE id = {first}",
    )
    data = good.read_bytes()
    (root / "truncated.sqlite").write_bytes(data[: len(data) // 2])
    damaged = bytearray(data)
    for at in range(4096, len(damaged), 512):  # every page but the first: garbage
        damaged[at : at + 16] = b"\xde\xad\xbe\xef" * 4
    (root / "damaged.sqlite").write_bytes(bytes(damaged))


def _case(seed: int) -> Case:
    program = generate(seed, GenOptions(max_depth=2, max_rank=2))
    inputs = make_inputs(program.args, seed)
    return Case(program.source, program.args, inputs, program.result_dtype, program.result_shape)


def _folders(root: Path) -> None:
    case = _case(5)
    sig = Signature(Stage.JIT_VS_EAGER, Symptom.WRONG_VALUE, ("sin",), case.result_dtype)
    good = root / "ff_good"
    write_folder(
        good, sig=sig, original=case, shrunk=case, meta={"hits": 1}, command="fuzz", timeout=5
    )
    meta = json.loads((good / "meta.json").read_text())
    (root / "ff_empty").mkdir()

    def folder(name: str, text: str | None = None, edit: Callable[[dict], None] | None = None):
        shutil.copytree(good, root / name)
        if edit is not None:
            changed = json.loads(json.dumps(meta))
            edit(changed)
            text = json.dumps(changed)
        if text is not None:
            (root / name / "meta.json").write_text(text)

    folder("ff_brokenjson", "{not json")
    folder("ff_notdict", "[1, 2, 3]")
    folder("ff_partial", json.dumps({"key": sig.key()}))
    folder("ff_nometa")
    (root / "ff_nometa" / "meta.json").unlink()
    folder("ff_badsource", edit=lambda m: m["shrunk"].update(source="import os\nos.system('x')\n"))
    os_call = "def f(x0):\n    return __import__('os').system('x')\n"
    folder("ff_oscall", edit=lambda m: m["shrunk"].update(source=os_call))
    folder("ff_badargs", edit=lambda m: m["shrunk"].update(args=[]))
    folder("ff_badinputs", edit=lambda m: m["shrunk"].update(inputs=[["float32", [3], "00"]]))
    folder("ff_hugeshape", edit=lambda m: m["shrunk"].update(result_shape=[10**9, 10**9]))
    folder("ff_baddtype", edit=lambda m: m["shrunk"]["args"][0].update(dtype="float99"))
    folder("ff_badsig", edit=lambda m: m.update(signature={"stage": "nowhere"}))
    folder("ff_badcommand", edit=lambda m: m.update(command=["rm", "-rf"]))
    folder("ff_badtimeout", edit=lambda m: m.update(timeout=float("inf")))
    folder("ff_badhits", edit=lambda m: m.update(hits="many"))
    folder("ff_badoriginal", edit=lambda m: m["original"].update(source="exec('1')"))


def build(root: Path) -> Path:
    """Write every fixture under ``root``; return ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    _corpora(root)
    _folders(root)
    for name, text in {**USER_FILES, **PROGRAM_FILES}.items():
        if isinstance(text, bytes):
            (root / name).write_bytes(text)
        else:
            (root / name).write_text(text)
    (root / "plain_file").write_text("I am a file, not a folder\n")
    (root / "some_dir").mkdir()
    return root
