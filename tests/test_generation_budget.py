"""Programs stay within ``max_elements``: ``generate`` draws again from the seed's next stream
while a parameter or the result is over (a square matrix made from a large vector's length was
a 32768 x 32768 parameter, a gigabyte of input the fuzz supervisor ran out of memory on)."""

from __future__ import annotations

import math

import pytest

from fuzzjax.generation import generator
from fuzzjax.generation.generator import (
    GenerationError,
    generate,
    replay_choices,
    within_budget,
)
from fuzzjax.program import GenOptions

#: Seeds whose first draw was over the budget at the defaults (4,194,304 and 170,100 elements
#: against 65,536 at fuzzjax 0.5.0).
OVER_AT_DEFAULTS = (873, 881)
#: Large dimensions often: about 1 program in 80 was over before (seeds 56, 67, 90, 92, ...).
LARGE = GenOptions(max_depth=4, large_percent=50, max_elements=1 << 20)


def test_every_program_is_within_max_elements() -> None:
    for seed in range(100):
        program = generate(seed, LARGE)
        assert within_budget(program, LARGE.max_elements), (seed, program.args)
    for seed in OVER_AT_DEFAULTS:
        assert within_budget(generate(seed), GenOptions().max_elements)


def test_a_redrawn_program_replays_from_its_choices_and_is_deterministic() -> None:
    for seed in OVER_AT_DEFAULTS:
        program = generate(seed)
        assert generate(seed) == program
        assert replay_choices(program.choices, GenOptions()).source == program.source


def test_a_seed_with_no_program_within_budget_is_a_generation_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(generator, "SIZE_ATTEMPTS", 1)
    with pytest.raises(GenerationError, match="873: no program .* 65536 elements in 1 attempt"):
        generate(873)


def test_within_budget_counts_parameters_and_the_result() -> None:
    program = generate(3)
    biggest = max([math.prod(a.shape) for a in program.args] + [math.prod(program.result_shape)])
    assert within_budget(program, biggest)
    assert not within_budget(program, biggest - 1) or biggest == 0
