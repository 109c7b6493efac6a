"""The hand-written promotion lattice agrees with JAX for every supported pair, with x64
disabled (``DTYPES``) and under ``jax.enable_x64(True)`` (``DTYPES_X64``)."""

import itertools

import jax.numpy as jnp
import pytest

from fuzzjax.dtypes import DTYPES, DTYPES_X64, promote
from fuzzjax.lowering.lower import x64_scope


@pytest.mark.parametrize("a,b", list(itertools.product(DTYPES, repeat=2)))
def test_promote_matches_jax(a: str, b: str) -> None:
    assert promote(a, b) == str(jnp.promote_types(a, b))


def test_promote_matches_result_type_on_real_arrays() -> None:
    for a, b in itertools.product(DTYPES, repeat=2):
        x, y = jnp.zeros((2,), a), jnp.ones((2,), b)
        assert promote(a, b) == str(jnp.result_type(x, y)), (a, b)


def test_x64_lattice_matches_jax() -> None:
    changed = 0
    with x64_scope(True):
        for a, b in itertools.product(DTYPES_X64, repeat=2):
            want = str(jnp.promote_types(a, b))
            assert promote(a, b, x64=True) == want, (a, b)
            x, y = jnp.zeros((2,), a), jnp.ones((2,), b)
            assert want == str(jnp.result_type(x, y)), (a, b)
            changed += promote(a, b, x64=True) != promote(a, b)
    assert changed > 0  # the x64 lattice really differs (64-bit types are kept)
