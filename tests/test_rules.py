"""The typing table covers the grammar exactly, and generation reaches every alternative."""

from collections import Counter

from fuzzjax.generation.generator import generate
from fuzzjax.rules.table import TABLE
from fuzzjax.syntax import alternatives, operation_aliases


def test_every_grammar_alias_has_a_rule_and_vice_versa() -> None:
    ops = operation_aliases()
    assert set(TABLE) == set(ops), (set(ops) - set(TABLE), set(TABLE) - set(ops))


def test_every_operation_alternative_has_a_callee_or_symbol() -> None:
    for alias in operation_aliases():
        syntax = alternatives()[alias]
        assert any(t is not None for t in syntax.tokens), alias


def test_a_few_thousand_programs_reach_every_alternative() -> None:
    reached: Counter[str] = Counter()
    for seed in range(4000):
        reached.update(generate(seed, max_depth=5).aliases)
    missing = sorted(set(TABLE) - set(reached))
    assert not missing, f"never generated: {missing}"
