"""The hand-written promotion lattice agrees with JAX for every supported pair."""

import itertools

import jax.numpy as jnp
import pytest

from fuzzjax.dtypes import DTYPES, promote


@pytest.mark.parametrize("a,b", list(itertools.product(DTYPES, repeat=2)))
def test_promote_matches_jax(a: str, b: str) -> None:
    assert promote(a, b) == str(jnp.promote_types(a, b))


def test_promote_matches_result_type_on_real_arrays() -> None:
    for a, b in itertools.product(DTYPES, repeat=2):
        x, y = jnp.zeros((2,), a), jnp.ones((2,), b)
        assert promote(a, b) == str(jnp.result_type(x, y)), (a, b)
