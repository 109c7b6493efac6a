"""Generated programs: grammar-valid, depth-exact, reproducible; a proper Hypothesis strategy."""

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lark import Tree

import fuzzjax
from fuzzjax.generation.generator import generate, replay_choices
from fuzzjax.generation.render import Node
from fuzzjax.program import GenOptions, Program
from fuzzjax.rules.table import TABLE
from fuzzjax.syntax import (
    input_names,
    is_bound_read,
    measure_depth,
    operation_aliases,
    parameters,
    parse,
    while_carries,
)


def _preorder_ops(tree: Tree) -> list[str]:
    ops, carries = operation_aliases(), while_carries(tree)
    return [
        t.data
        for t in tree.iter_subtrees_topdown()
        if t.data in ops and not is_bound_read(t, carries)
    ]


@given(fuzzjax.programs(max_depth=4))
def test_strategy_programs_reparse_with_bounded_depth(program: Program) -> None:
    tree = parse(program.source)
    assert 1 <= measure_depth(tree) == program.depth <= 4
    # x0, x1, ... and, in programs with pytree parameters, params['w'] / batch[0] leaves
    assert [a.name for a in program.args] == input_names(parameters(tree))
    arrays = [a.name for a in program.args if "[" not in a.name]
    assert arrays == [f"x{i}" for i in range(len(arrays))]


@given(st.integers(0, 2**32), st.integers(1, 6))
def test_seeded_programs_measure_their_target_depth(seed: int, max_depth: int) -> None:
    program = generate(seed, max_depth=max_depth)
    assert measure_depth(parse(program.source)) == program.depth <= max_depth


def test_every_depth_occurs_evenly() -> None:
    depths = Counter(generate(seed, max_depth=5).depth for seed in range(1000))
    assert set(depths) == {1, 2, 3, 4, 5}
    assert min(depths.values()) > 150  # uniform target: ~200 each


def test_same_seed_same_program_and_choices() -> None:
    a, b = generate(1234), generate(1234)
    assert a == b
    assert generate(1235).source != a.source


def test_replaying_recorded_choices_rebuilds_the_program() -> None:
    for seed in range(50):
        program = generate(seed, max_depth=4)
        assert replay_choices(program.choices, program.options).source == program.source


def test_edited_choice_sequences_still_give_valid_programs() -> None:
    options = GenOptions(max_depth=4)
    for seed in range(50):
        choices = list(generate(seed, options).choices)
        for edit in (choices[: len(choices) // 2], [0] * len(choices), [c // 2 for c in choices]):
            program = replay_choices(edit, options)
            assert measure_depth(parse(program.source)) == program.depth


def test_rendered_text_parses_to_the_generated_tree_structure() -> None:
    """Precedence-aware rendering: the parse has the same operations in the same order."""
    from fuzzjax.choices import SeededChooser
    from fuzzjax.generation.generator import Generator
    from fuzzjax.generation.render import render, render_statement

    def preorder(node: Node) -> list[str]:
        own = [node.alias] if node.alias in TABLE else []
        return own + [a for c in node.children for a in preorder(c)]

    for seed in range(300):
        gen = Generator(
            SeededChooser(seed), GenOptions(max_depth=5, let_percent=0, kernel_percent=0)
        )
        tree, _ = gen.program_tree()
        names = ", ".join(f"x{i}" for i in range(len(gen.params)))
        lines = [line for name, node in gen.statements for line in render_statement(name, node)]
        source = "\n".join([f"def f({names}):", *lines, f"    return {render(tree)}\n"])
        if not gen.statements:
            assert _preorder_ops(parse(source)) == preorder(tree), source
        else:  # named local functions: their bodies come first in the text
            parsed = parse(source)
            # a @jax.custom_jvp function is fixed text (primal and rule), not generated nodes
            fixed = Counter(
                op
                for t in parsed.iter_subtrees()
                if t.data in ("custom_fundef", "defjvps")
                for op in _preorder_ops(t)
            )
            assert Counter(_preorder_ops(parsed)) - fixed == Counter(preorder(tree)), source


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"max_depth": -1}, "max_depth=-1 must be >= 1"),
        ({"max_depth": 0}, "max_depth=0 must be >= 1"),
        ({"max_depth": 3, "min_depth": 4}, "min_depth=4 must be <= 3"),
        ({"max_rank": 9}, "max_rank=9 must be <= 8"),
    ],
)
def test_options_are_validated_with_a_message_naming_argument_and_value(
    kwargs: dict[str, int], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        fuzzjax.programs(**kwargs)
    with pytest.raises(ValueError, match=message):
        generate(0, **kwargs)


def test_strategy_options_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        fuzzjax.programs(3)  # type: ignore[misc]


def test_shrinking_keeps_programs_valid() -> None:
    """Hypothesis shrinks through the typed generator: the minimal failing program is valid."""
    from hypothesis import find, settings

    found = find(
        fuzzjax.programs(max_depth=5),
        lambda p: "sum" in p.aliases,
        settings=settings(max_examples=500, database=None, derandomize=True),
    )
    # Shrunk to a small program. Not necessarily a shallow one: with 390 alternatives the
    # shrinker can stop at a short chain such as x0 + abs(abs(sum(x1)) + x2) (depth 5).
    assert len(found.source) < 150 and found.source.count("(") <= 8
    assert measure_depth(parse(found.source)) == found.depth
    from fuzzjax.lowering.lower import lower_program

    assert lower_program(found).ir_hash
