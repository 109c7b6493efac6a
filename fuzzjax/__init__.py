"""fuzzjax: grammar-based random jax.numpy programs, their StableHLO, and a differential fuzzer.

Public API:

* ``programs(*, max_depth=5, ...)``: a Hypothesis strategy of ``Program`` objects;
* ``generate(seed, max_depth=...)``: the program of an integer seed (reproducible);
* ``extract_ir_pair(fn, *args)``: a (source, StableHLO) record for any function;
* ``Corpus``: the SQLite corpus.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

__all__ = [
    "ArgSpec",
    "Corpus",
    "GenOptions",
    "Program",
    "__version__",
    "extract_ir_pair",
    "generate",
    "programs",
]

if TYPE_CHECKING:
    from .corpus import Corpus
    from .generate import generate
    from .lowering import extract_ir_pair
    from .program import ArgSpec, GenOptions, Program
    from .strategies import programs

_LAZY = {
    "Corpus": "corpus",
    "generate": "generate",
    "extract_ir_pair": "lowering",
    "ArgSpec": "program",
    "GenOptions": "program",
    "Program": "program",
    "programs": "strategies",
}


def __getattr__(name: str) -> Any:
    """Import submodules on first use, so ``import fuzzjax`` does not import JAX."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'fuzzjax' has no attribute {name!r}")
