"""Which of the grammar's JAX names the installed JAX has.

The grammar follows the current JAX API (``jax.typeof``, ``lax.optimization_barrier``,
``jax.shard_map``, ...). On an older JAX some of those names do not exist, and a program that
uses one fails when it is traced: not a JAX bug, and fuzz mode would bucket it as a JAX
deviation. The generator therefore leaves out the forms whose names do not resolve here
(``fuzzjax.generation.generator.unavailable_aliases``, and the ``jax.typeof`` spellings of
shapes and dtypes in ``fuzzjax.rules.static``). With every name present, as on the JAX the
grammar is written for, nothing is left out and no draw changes.
"""

from __future__ import annotations

import importlib
from functools import cache

#: Grammar prefixes and the modules they name (``import jax.numpy as jnp``, ``from jax import
#: lax``, as every fuzzjax program's namespace has them).
_ROOTS = {"jax": "jax", "jnp": "jax.numpy", "lax": "jax.lax"}


@cache
def resolves(path: str) -> bool:
    """Whether the dotted ``path`` (``jnp.sin``, ``jax.scipy.special.zeta``) names something
    in the installed JAX; submodules are imported as the programs' namespace would."""
    root, *rest = path.split(".")
    if root not in _ROOTS:
        raise ValueError(f"{path!r} does not start with one of {sorted(_ROOTS)}")
    module = _ROOTS[root]
    obj: object = importlib.import_module(module)
    for name in rest:
        if not hasattr(obj, name):
            try:
                obj = importlib.import_module(f"{module}.{name}")
            except ImportError:
                return False
        else:
            obj = getattr(obj, name)
        module = f"{module}.{name}"
    return True
