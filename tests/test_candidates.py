"""``generator.candidate_families`` (cached per type, filtered per place) picks exactly the rules
the plain filter picks: every rule checked against the type and the place, family by family."""

from __future__ import annotations

from typing import Any

import pytest

from fuzzjax.dtypes import ArrayType
from fuzzjax.generation import generator
from fuzzjax.program import GenOptions
from fuzzjax.rules.control import NOT_DIFFERENTIABLE
from fuzzjax.rules.shapes import Limits
from fuzzjax.rules.table import CATEGORY_OF_FAMILY, FAMILIES


def _plain(
    out: ArrayType, limits: Limits, where: generator.Where, category: str = "", exclude: str = ""
) -> tuple[tuple[Any, ...], ...]:
    families = []
    for family, rules in FAMILIES.items():
        cat = CATEGORY_OF_FAMILY[family]
        if (
            (family == "control_flow" and where.deep)
            or (category == "control_flow" and cat != "control_flow")
            or (category in ("arithmetic", "math", "array") and cat != category)
            or (category == "combined" and cat == "control_flow")
            or (exclude and cat in (exclude, "control_flow"))
        ):
            continue
        able = tuple(
            r
            for r in rules
            if not (where.differentiable and r.alias in NOT_DIFFERENTIABLE)
            and not (r.nullary and where.depth != 1)
            and not (r.top_level_only and where.in_lambda)
            and r.min_depth <= where.depth
            and (out.size != 0 or r.family in generator.ZERO_SIZE_FAMILIES)
            and r.can_produce(out, limits)
        )
        if able:
            families.append(able)
    return tuple(families)


@pytest.mark.parametrize(
    "options",
    [
        GenOptions(max_depth=5),
        GenOptions(max_depth=4, x64=True, large_percent=5),
        GenOptions(max_depth=3, category="control_flow"),
        GenOptions(max_depth=4, balanced=True, profile="realistic"),
    ],
)
def test_candidate_families_match_the_plain_filter(
    options: GenOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    cached = generator.candidate_families

    def recording(*args: Any, **kwargs: Any) -> Any:
        seen.append((args, kwargs))
        return cached(*args, **kwargs)

    monkeypatch.setattr(generator, "candidate_families", recording)
    for seed in range(60):
        generator.generate(seed, options)
    assert len(seen) > 100
    for args, kwargs in seen:
        assert cached(*args, **kwargs) == _plain(*args, **kwargs), (args, kwargs)
