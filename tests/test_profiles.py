"""Generation profiles (``--profile breadth|realistic``): recorded in the options, replayable,
and the realistic profile's callables are closer to real code's than breadth's."""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from fuzzjax.cli.main import main
from fuzzjax.corpus.coverage import alias_occurrences, callable_counts
from fuzzjax.corpus.export import export_corpus
from fuzzjax.corpus.store import Corpus
from fuzzjax.errors import InvalidArgument
from fuzzjax.generation.generator import generate, replay_choices
from fuzzjax.generation.profiles import alias_weights, js_divergence, real_usage_table
from fuzzjax.program import GenOptions
from fuzzjax.syntax import operation_aliases, parse


def test_profile_is_validated_and_recorded_only_when_not_breadth() -> None:
    with pytest.raises(InvalidArgument, match="profile"):
        GenOptions(profile="typical")
    assert "profile" not in GenOptions().to_json()  # old digests and seed bookkeeping stay
    realistic = GenOptions(profile="realistic")
    assert '"profile": "realistic"' in realistic.to_json()
    assert GenOptions.from_json(realistic.to_json()) == realistic


def test_realistic_programs_replay_byte_identically() -> None:
    options = GenOptions(profile="realistic")
    for seed in range(40):
        program = generate(seed, options)
        assert generate(seed, options).source == program.source
        assert replay_choices(program.choices, options).source == program.source


def test_weights_follow_the_table() -> None:
    weights, calls = alias_weights(), real_usage_table()["calls"]
    assert set(weights) == set(operation_aliases())
    assert min(weights.values()) >= 1.0
    # the commonest callables of real code weigh more than ones it rarely writes
    assert calls["jnp.sum"] > calls.get("jnp.cbrt", 0)
    assert weights["sum"] > weights["cbrt"]
    assert weights["op_add"] > weights["op_xor"]


def _callables(options: GenOptions, seeds: range) -> Counter[str]:
    occurrences: Counter[str] = Counter()
    for seed in seeds:
        occurrences.update(alias_occurrences(parse(generate(seed, options).source)))
    return callable_counts(dict(occurrences))


def test_realistic_profile_is_closer_to_real_code_than_breadth() -> None:
    table = Counter(real_usage_table()["calls"])
    seeds = range(150)
    breadth = js_divergence(table, _callables(GenOptions(), seeds))
    realistic = js_divergence(table, _callables(GenOptions(profile="realistic"), seeds))
    assert 0.0 <= realistic < breadth <= 1.0


def test_js_divergence_bounds() -> None:
    a = Counter({"x": 3, "y": 1})
    assert js_divergence(a, a) == pytest.approx(0.0)
    assert js_divergence(a, Counter({"z": 5})) == pytest.approx(1.0)
    assert 0 < js_divergence(a, Counter({"x": 1, "y": 3})) < 1


def test_cli_records_reports_and_guards_the_profile(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    db = tmp_path / "c.sqlite"
    common = ["--max-depth", "3", "--db", str(db), "--workers", "0", "--quiet"]
    assert main(["--count", "6", "--profile", "realistic", *common]) == 0
    capsys.readouterr()
    con = sqlite3.connect(db)
    seed, source, options = con.execute(
        "SELECT seed, source, options FROM pairs ORDER BY id DESC LIMIT 1"
    ).fetchone()
    con.close()
    assert GenOptions.from_json(options).profile == "realistic"
    assert source == generate(seed, GenOptions(max_depth=3, profile="realistic")).source
    assert main(["replay", str(seed), "--db", str(db)]) == 0
    assert capsys.readouterr().out == source  # the recorded profile is used
    assert main(["stats", "--db", str(db)]) == 0
    assert re.search(r"^profile\s+realistic \(6 pairs\)$", capsys.readouterr().out, re.M)
    # Resuming with the other profile is refused (and names the flag), the corpus untouched.
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    assert main(["--count", "8", *common]) == 2
    err = capsys.readouterr().err
    assert "other options (--max-depth 3 --min-depth 1 --max-rank 8 --profile realistic)" in err
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    # The dataset card names the profile, and its rebuild command passes it.
    with Corpus(db, create=False) as corpus:
        export_corpus(corpus, tmp_path / "out", fmt="jsonl")
    card = (tmp_path / "out" / "README.md").read_text("utf-8")
    assert "Generation profile: `realistic` (6 rows)" in card
    assert "--profile realistic" in card


def test_fuzz_alias_weights_multiply_the_realistic_weights() -> None:
    seeds = range(60)
    plain = GenOptions(profile="realistic")
    assert any("op_add" in generate(s, plain).aliases for s in seeds)
    no_add = GenOptions(profile="realistic", weights=(("op_add", 0),))
    assert not any("op_add" in generate(s, no_add).aliases for s in seeds)


def test_fuzz_commands_carry_the_profile(tmp_path: Path) -> None:
    from fuzzjax.fuzzing.campaign import FuzzConfig

    config = FuzzConfig(out=tmp_path, options=GenOptions(profile="realistic"), count=3)
    assert "--profile realistic" in config.command()
    assert "--profile" not in FuzzConfig(out=tmp_path, count=3).command()
