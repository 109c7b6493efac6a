"""The real-usage table (scripts/real_usage.py) and the call-site coverage report built on it."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fuzzjax.cli.main import main
from fuzzjax.corpus.coverage import (
    alias_callables,
    call_site_coverage,
    format_call_sites,
    grammar_callables,
    real_usage_table,
)

ROOT = Path(__file__).resolve().parents[1]


def _script():  # noqa: ANN202
    spec = importlib.util.spec_from_file_location("real_usage", ROOT / "scripts/real_usage.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["real_usage"] = module
    spec.loader.exec_module(module)
    return module


LIBRARY = """
import jax
import jax.numpy as jnp
from jax import lax, random as jr
from jax.numpy import where as jwhere

def loss(params: dict[str, jax.Array], x: tuple[int, ...]) -> jax.Array:
    y = jnp.sum(x * params["w"], axis=-1, keepdims=True) + jax.numpy.zeros(3)
    y = jwhere(y > 0, y, -y).reshape(-1).T
    def body(i, carry):
        a, b = carry
        return a + i, b
    out = lax.fori_loop(0, 3, body, (y, y))
    k = jr.split(jr.key(0))
    jax.debug.print("{}", y)
    return x[None, ..., 1:] + jnp.finfo(y.dtype).eps + out[0].at[0].set(1.0)
"""
TEST_FILE = "import jax.numpy as jnp\n\ndef test_x():\n    return jnp.sin(1.0)\n"


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, timeout=60)


def test_scanner_counts_calls_forms_and_skips_tests(tmp_path: Path) -> None:
    work = tmp_path / "owner+lib"
    (work / "lib").mkdir(parents=True)
    (work / "tests").mkdir()
    (work / "lib" / "core.py").write_text(LIBRARY)
    (work / "lib" / "core_test.py").write_text(TEST_FILE)
    (work / "tests" / "test_lib.py").write_text(TEST_FILE)
    _git(work, "init", "-q")
    _git(work, "add", ".")
    _git(work, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x")
    out = tmp_path / "table.json"
    assert _script().main(["--out", str(out), str(work / ".git")]) == 0
    table = json.loads(out.read_text())
    (repo,) = table["repositories"]
    assert repo["library_files"] == 1 and repo["skipped_python_files"] == 2
    assert re.fullmatch(r"[0-9a-f]{40}", repo["commit"])
    calls = table["calls"]
    assert "jnp.sin" not in calls  # only in test files
    assert calls["jnp.sum"] == 1 and calls["jnp.zeros"] == 1 and calls["jnp.where"] == 1
    assert calls["lax.fori_loop"] == 1 and calls["jax.random.split"] == 1
    assert table["excluded_calls"] == {"jax.debug.print": 1}
    assert table["call_sites"] == sum(calls.values())
    assert table["keywords"]["jnp.sum"] == {"axis": 1, "keepdims": 1}
    assert table["methods"]["reshape"] == 1 and table["attributes"]["T"] == 1
    assert table["at_methods"] == {"set": 1}
    assert table["loop_bodies"]["lax.fori_loop"] == {"named function body": 1, "tuple carry": 1}
    forms = table["forms"]
    assert forms["subscripts with None"] == 1 and forms["subscripts with ..."] == 1
    assert forms["subscripts with a string key (dict pytree)"] == 1
    assert table["trace_constants"] == {"jnp.finfo(...).eps": 1}
    # annotations (``tuple[int, ...]``, ``dict[str, jax.Array]``) are not counted as code
    assert forms["subscripts with ..."] == 1


def test_checked_in_table_is_consistent() -> None:
    table = real_usage_table()
    assert len(table["repositories"]) >= 7
    for repo in table["repositories"]:
        assert re.fullmatch(r"[0-9a-f]{40}", repo["commit"]) and repo["library_files"] > 0
    assert table["call_sites"] == sum(table["calls"].values())
    assert table["excluded_call_sites"] == sum(table["excluded_calls"].values())
    script = _script()
    assert not [c for c in table["calls"] if script.excluded_reason(c)]
    assert all(script.excluded_reason(c) for c in table["excluded_calls"])


def test_call_site_share_is_computed_from_the_grammar() -> None:
    table = real_usage_table()
    cov = call_site_coverage(table)
    can = grammar_callables()
    covered = sum(n for c, n in table["calls"].items() if c in can)
    assert cov["grammar_share"] == round(covered / table["call_sites"], 4)
    assert set(cov["missing_callables"]) == {c for c in table["calls"] if c not in can}
    assert "jnp.sum" in alias_callables("sum") and "jnp.sin" in can
    small = dict(table, calls={"jnp.sin": 3, "jnp.not_a_function": 1}, call_sites=4)
    assert call_site_coverage(small)["grammar_share"] == 0.75
    assert call_site_coverage(small, reached=["cos"])["corpus_share"] == 0.0
    assert call_site_coverage(small, reached=["sin"])["corpus_share"] == 0.75
    assert "jnp.not_a_function=1" in format_call_sites(call_site_coverage(small))


def test_coverage_grammar_flag_needs_no_corpus(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["coverage", "--grammar", "--json", "--db", str(tmp_path / "none")]) == 0
    cov = json.loads(capsys.readouterr().out)
    assert 0 < cov["grammar_share"] <= 1 and cov["call_sites"] > 1000
    assert not (tmp_path / "none").exists()
