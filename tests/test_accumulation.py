"""diagnose's accumulation allowance covers every form of a summing operation.

A localised difference in a sum, contraction or product is judged against an error bound
that grows with the number of terms (``diagnose.accumulation_atol``); an operation missing
from its category gets no allowance and a rounding difference becomes a bucket.
"""

from __future__ import annotations

import numpy as np
import pytest

from fuzzjax.fuzzing import diagnose
from fuzzjax.fuzzing.reference import evaluate
from fuzzjax.syntax import operation_aliases

CATEGORIES = {
    "SUMMING": diagnose.SUMMING,
    "PRODUCTS": diagnose.PRODUCTS,
    "SPREAD": diagnose.SPREAD,
    "LOG_SUMS": diagnose.LOG_SUMS,
    "CONDITIONED": diagnose.CONDITIONED,
    "FOURIER": diagnose.FOURIER,
}


@pytest.mark.parametrize("name", sorted(CATEGORIES))
def test_every_categorised_name_is_a_grammar_alias(name: str) -> None:
    assert CATEGORIES[name] <= operation_aliases(), sorted(CATEGORIES[name] - operation_aliases())


@pytest.mark.parametrize("name", sorted(CATEGORIES))
def test_method_and_keyword_forms_share_their_function_forms_category(name: str) -> None:
    aliases = operation_aliases()
    members = CATEGORIES[name]
    for alias in aliases:
        for prefix, suffix in (("m_", ""), ("", "_where"), ("", "_pet"), ("sp_", "")):
            if alias.startswith(prefix) and alias.endswith(suffix) and alias != prefix + suffix:
                base = alias[len(prefix) : len(alias) - len(suffix)]
                if base in members:
                    assert alias in members, f"{alias} (a form of {base}) is not in {name}"


@pytest.mark.parametrize(
    "source",
    [
        "lax.dot_general(x0, x1, (((1,), (0,)), ((), ())))",
        "x0.dot(x1)",
        "jnp.matmul(x0, x1, preferred_element_type=jnp.float32)",
    ],
)
def test_contractions_get_a_bound_that_grows_with_the_inner_size(source: str) -> None:
    bounds = []
    for k in (4, 64):
        a = np.full((2, k), 1.5, np.float32)
        b = np.full((k, 3), 0.25, np.float32)
        text = f"def f(x0, x1):\n    return {source}\n"
        ev = evaluate(text, [a, b])
        (node,) = [n for n in ev.nodes if n.alias in operation_aliases()]
        bound = diagnose.accumulation_atol(text, node)
        assert bound is not None, node.alias
        bounds.append(float(np.max(bound)))
    assert 0 < bounds[0] < bounds[1]
