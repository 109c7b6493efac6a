"""Public Hypothesis strategies over the fuzzjax grammar."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from fuzzjax.choices import HypothesisChooser
from fuzzjax.generation.generator import build, within_budget
from fuzzjax.program import GenOptions, Program


def programs(
    *,
    max_depth: int = 5,
    min_depth: int = 1,
    max_rank: int = 8,
    max_elements: int = 65536,
    max_params: int = 8,
    let_percent: int = 10,
    x64: bool = False,
) -> st.SearchStrategy[Program]:
    """A strategy for type-correct jax.numpy programs of depth ``min_depth..max_depth``.

    Every choice the generator makes is a Hypothesis draw, so failing examples shrink through
    the same typed generator and stay valid programs. ``x64=True`` gives x64-mode programs
    (``fuzzjax.lowering.lower.lower_program`` lowers them under ``jax.enable_x64(True)``).
    """
    options = GenOptions(  # raises InvalidArgument naming a bad option
        max_depth, min_depth, max_rank, max_elements, max_params, let_percent, x64=x64
    )

    @st.composite
    def _programs(draw: Any) -> Program:
        return build(HypothesisChooser(draw), options)

    # As ``generate`` does: parameters and result within max_elements (rarely filtered).
    return _programs().filter(lambda program: within_budget(program, max_elements))
