"""Every script in examples/ runs, stores its pairs, and declares the same pairs for ``add``."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from fuzzjax.cli.main import main
from fuzzjax.corpus.add import EXAMPLES_NAME, load_user_module

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SCRIPTS = (
    "jit_basics",
    "grad",
    "vmap",
    "extract_ir",
    "poisson_jacobi",
    "heat_equation",
    "gradient_descent",
    "adam",
)


def test_every_example_is_tested() -> None:
    assert sorted(p.stem for p in EXAMPLES.glob("*.py")) == sorted(SCRIPTS)


@pytest.mark.parametrize("name", SCRIPTS)
def test_example_runs_and_stores_its_declared_pairs(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script, db = EXAMPLES / f"{name}.py", tmp_path / "examples.sqlite"
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    done = subprocess.run(
        [sys.executable, str(script), "--db", str(db)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    declared = getattr(load_user_module(script), EXAMPLES_NAME)
    con = sqlite3.connect(db)
    stored = [r[0] for r in con.execute("SELECT operation FROM pairs WHERE category = 'user'")]
    con.close()
    assert sorted(stored) == sorted(declared)
    # `fuzzjax add` on the same file finds exactly those pairs already stored.
    assert main(["add", str(script), "--db", str(db)]) == 0
    assert capsys.readouterr().out.startswith(f"added 0 pairs, {len(declared)} duplicate")
