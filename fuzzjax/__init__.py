"""fuzzjax: grammar-based random jax.numpy programs, their StableHLO, and a differential fuzzer.

Public API (``__all__``):

* ``programs(*, max_depth=5, ...)``: a Hypothesis strategy of ``Program`` objects;
* ``generate(seed, options=None, **overrides)``: the program of an integer seed (reproducible);
* ``extract_ir_pair(fn, *args, kwargs=None, static_argnames=())``: a (source, StableHLO)
  record for any function, with pytree, static, ``None`` and Python-scalar arguments;
* ``Program``, ``ArgSpec``, ``GenOptions``: the program record and its options;
* ``Corpus``: the SQLite corpus (``Corpus.add_pair(pair)`` stores an ``IRPair``);
* ``FuzzjaxError``, ``InvalidArgument``: what bad input raises.

Names are imported on first use, so ``import fuzzjax`` does not import JAX.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.6.0"

__all__ = [
    "ArgSpec",
    "Corpus",
    "FuzzjaxError",
    "GenOptions",
    "InvalidArgument",
    "Program",
    "__version__",
    "extract_ir_pair",
    "generate",
    "programs",
]

if TYPE_CHECKING:
    from fuzzjax.corpus.store import Corpus
    from fuzzjax.errors import FuzzjaxError, InvalidArgument
    from fuzzjax.generation.generator import generate
    from fuzzjax.generation.strategies import programs
    from fuzzjax.lowering.lower import extract_ir_pair
    from fuzzjax.program import ArgSpec, GenOptions, Program

#: Public name -> the module that defines it. No public name is also the name of a submodule
#: of this package, so importing a submodule can never replace a public attribute.
_LAZY = {
    "ArgSpec": "fuzzjax.program",
    "Corpus": "fuzzjax.corpus.store",
    "FuzzjaxError": "fuzzjax.errors",
    "GenOptions": "fuzzjax.program",
    "InvalidArgument": "fuzzjax.errors",
    "Program": "fuzzjax.program",
    "extract_ir_pair": "fuzzjax.lowering.lower",
    "generate": "fuzzjax.generation.generator",
    "programs": "fuzzjax.generation.strategies",
}


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use and cache the name here."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fuzzjax' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
