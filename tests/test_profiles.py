"""Generation profiles (``--profile breadth|realistic``): recorded in the options, replayable,
and the realistic profile's callables are closer to real code's than breadth's."""

from __future__ import annotations

from collections import Counter

import pytest

from fuzzjax.corpus.coverage import alias_occurrences, callable_counts
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
