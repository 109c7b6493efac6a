"""Reuse the jaxprs JAX traces inside lowering rules, on the fast lowering path.

Some of JAX's lowering rules are built with ``mlir.lower_fun``: each time one of them
lowers an equation it traces a Python function (Threefry's hash rounds for every
``jax.random`` draw, ``cumsum``'s associative scan, ``argmax``'s variadic reduce...) into a
fresh jaxpr, then emits that jaxpr's ops. The jaxpr depends only on the rule, the
equation's abstract inputs, its parameters and JAX's trace context, so within one process
the same (rule, avals, params, context) always traces to the same jaxpr, and re-tracing it
costs a large share of the lowering of those programs (``notes/dataset.md``: 22-40% of a
``jax.random`` draw's lowering).

:func:`install` wraps those rules (every rule ``mlir.lower_fun`` made, and the four
``jax.random`` rules that call ``lower_fun`` on a fresh closure per call). While a thread is
inside :func:`fuzzjax.lowering.fastlower.lower_stablehlo` on the fast path, a wrapped rule
names its cache key, and the first ``lower_fun`` trace it makes is answered from a bounded
per-process cache; JAX's own ``lower_fun`` code does everything else (discharge, emitting
the ops), so the emitted text is JAX's. Anywhere else the wrappers and the trace hook pass
straight through. ``tests/test_fastlower.py`` checks that stock and fast lowering give the
same text, random draws and the other cached rules included; set
``FUZZJAX_NO_FAST_LOWER=1`` to lower the stock way.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

__all__ = ["CACHE_SIZE", "ENABLED", "install", "stats"]

#: Traced jaxprs kept per process (least recently used dropped first).
CACHE_SIZE = 4096
#: Rules that call ``mlir.lower_fun`` on a new closure each time (``jax._src.random.prng``).
_RANDOM_RULES = frozenset(
    {
        "random_bits_lowering",
        "random_split_lowering",
        "random_fold_in_lowering",
        "random_seed_lowering",
    }
)


class _Local(threading.local):
    def __init__(self) -> None:
        self.key: Any = None  # the cache key of the rule being lowered, until its trace


_local = _Local()
_lock = threading.Lock()
_cache: OrderedDict[Any, Any] = OrderedDict()
_counts = {"hits": 0, "misses": 0}
_installed = False
#: Off switch for measurement (``scripts/trace_cache_ab.py`` alternates it per program).
ENABLED = True


def stats() -> dict[str, int]:
    """Hits and misses of the trace cache in this process (for profiling scripts)."""
    return dict(_counts, size=len(_cache))


def _cacheable(rule: Callable[..., Any]) -> bool:
    name = getattr(rule, "__qualname__", "")
    return name == "lower_fun.<locals>.f_lowered" or name in _RANDOM_RULES


def _wrap(rule: Callable[..., Any], active: Callable[[], bool]) -> Callable[..., Any]:
    from jax._src import config

    def cached_rule(ctx: Any, *args: Any, **params: Any) -> Any:
        if not ENABLED or not active():
            return rule(ctx, *args, **params)
        try:
            context = config.trace_context()
            key = (id(rule), tuple(ctx.avals_in), tuple(sorted(params.items())), context)
            hash(key)
        except TypeError:  # an unhashable parameter: trace as JAX does
            return rule(ctx, *args, **params)
        outer, _local.key = _local.key, key
        try:
            return rule(ctx, *args, **params)
        finally:
            _local.key = outer

    cached_rule.__wrapped__ = rule  # type: ignore[attr-defined]
    return cached_rule


def _trace_hook(original: Callable[..., Any]) -> Callable[..., Any]:
    def trace_to_jaxpr_dynamic(fun: Any, in_avals: Any, **kwargs: Any) -> Any:
        key = _local.key
        debug = getattr(fun, "debug_info", None)
        if (
            key is None
            or not kwargs.get("lower")
            or getattr(debug, "traced_for", None) != "lower_fun"
        ):
            return original(fun, in_avals, **kwargs)
        _local.key = None  # only the rule's own trace; nested traces are JAX's
        full = (key, tuple(in_avals), tuple(sorted(kwargs.items())))
        with _lock:
            hit = _cache.get(full)
            if hit is not None:
                _cache.move_to_end(full)
                _counts["hits"] += 1
                return hit
        traced = original(fun, in_avals, **kwargs)
        with _lock:
            _counts["misses"] += 1
            _cache[full] = traced
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
        return traced

    trace_to_jaxpr_dynamic.__wrapped__ = original  # type: ignore[attr-defined]
    return trace_to_jaxpr_dynamic


def install(mlir: Any, active: Callable[[], bool]) -> None:
    """Wrap JAX's tracing lowering rules once; ``active()`` says whether to cache now."""
    global _installed
    with _lock:
        if _installed:
            return
        pe = mlir.pe
        pe.trace_to_jaxpr_dynamic = _trace_hook(pe.trace_to_jaxpr_dynamic)
        tables = [mlir._lowerings, *mlir._platform_specific_lowerings.values()]
        for table in tables:
            for prim, entry in list(table.items()):
                if _cacheable(entry.rule):
                    table[prim] = type(entry)(_wrap(entry.rule, active), entry.inline)
        _installed = True
