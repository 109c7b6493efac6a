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
    from fuzzjax.corpus.store import Corpus
    from fuzzjax.generation.generator import generate
    from fuzzjax.generation.strategies import programs
    from fuzzjax.lowering.lower import extract_ir_pair
    from fuzzjax.program import ArgSpec, GenOptions, Program

_LAZY = {
    "Corpus": "corpus.store",
    "generate": "generation.generator",
    "extract_ir_pair": "lowering.lower",
    "ArgSpec": "program",
    "GenOptions": "program",
    "Program": "program",
    "programs": "generation.strategies",
}


def __getattr__(name: str) -> Any:
    """Import submodules on first use, so ``import fuzzjax`` does not import JAX."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'fuzzjax' has no attribute {name!r}")
