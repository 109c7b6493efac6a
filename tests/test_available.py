"""On a JAX that lacks a name the grammar uses, the generator leaves that form out.

The grammar follows the current JAX API; an older JAX (the old-JAX smoke runs 0.4.26) has no
``jax.typeof`` or ``lax.optimization_barrier``, and programs using them failed when traced,
bucketed as JAX deviations. Simulated here by removing the names from the installed JAX.
"""

from __future__ import annotations

from collections.abc import Iterator

import jax
import pytest

from fuzzjax.generation import generator
from fuzzjax.generation.generator import generate, unavailable_aliases
from fuzzjax.program import GenOptions
from fuzzjax.rules import available

SEEDS = range(3000, 3400)
OPTIONS = GenOptions(max_depth=4)


def _clear() -> None:
    available.resolves.cache_clear()
    unavailable_aliases.cache_clear()
    for name in ("_producers", "_placeable", "candidate_families"):
        clear = getattr(getattr(generator, name), "cache_clear", None)
        if clear is not None:
            clear()


@pytest.fixture
def old_jax(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delattr(jax, "typeof")
    monkeypatch.delattr(jax.lax, "optimization_barrier")
    _clear()
    yield
    monkeypatch.undo()
    _clear()


def test_resolves_names_and_submodules() -> None:
    assert available.resolves("jnp.sin") and available.resolves("lax.optimization_barrier")
    assert available.resolves("jax.scipy.special.zeta") and available.resolves("jax.random.key")
    assert not available.resolves("jax.no_such_function")
    assert not available.resolves("jnp.linalg.no_such_function")
    with pytest.raises(ValueError):
        available.resolves("numpy.sin")


def test_the_installed_jax_has_every_name_the_grammar_uses() -> None:
    assert unavailable_aliases() == frozenset()


def test_forms_the_installed_jax_lacks_are_never_drawn(old_jax: None) -> None:
    assert "optimization_barrier" in unavailable_aliases()
    sources = [generate(seed, OPTIONS).source for seed in SEEDS]
    assert not any("jax.typeof(" in s or "lax.optimization_barrier(" in s for s in sources)


def test_with_every_name_present_the_same_seeds_use_them() -> None:
    # The seeds above do draw both forms when JAX has them (so the test above can fail).
    sources = [generate(seed, OPTIONS).source for seed in SEEDS]
    assert any("jax.typeof(" in s for s in sources)
    assert any("lax.optimization_barrier(" in s for s in sources)
