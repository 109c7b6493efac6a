"""Reuse the MLIR JAX emitted for an equation in an earlier module, on the fast lowering path.

JAX lowers each cacheable primitive equation (``add`` on ``f32[3,4]``, ``random_split`` of a
key, ``threefry2x32`` on ``u32[5]`` ...) once per module: ``mlir._cached_lowering_miss`` runs
the primitive's lowering rule into a function (inlined at each use, or a private
``func.func`` such as ``@threefry2x32``) and keeps it in the module's ``lowering_cache`` for
the module's later equations with the same key. Every new module starts empty, so the
same equation is lowered again for every program, Threefry's hash rounds included
(``notes/dataset.md``, "Where a random program's lowering time goes").

On the fast path all modules of a thread share one MLIR context
(:mod:`fuzzjax.lowering.fastlower`), so the functions lowered for one module can be copied
into the next. :func:`install` wraps ``_cached_lowering_miss``. While a thread is inside
``fastlower.lower_stablehlo``, the second time an equation's key (JAX's own
``LoweringCacheKey`` plus the module's platforms, parameters, axis context, JAX's trace
context and the trace cache's switch) misses in a module, the wrapper records what the
miss added to the module: the private functions appended to its body, the entries added to
its two per-module caches, and the trace-cache jaxprs the rules used. A later miss of the
same key in another module replays that record instead of running the rules: it clones the
functions into the module through the module's own symbol table, in the recorded order, so
a name that is taken is renamed exactly as JAX's insertion would rename it (``@foo_0``), and
calls to renamed functions are rewritten; it then adds the recorded cache entries, so the
rest of the module hits them as it would have.

A miss is recorded only when replaying it is equivalent to lowering it: it appended only
private ``func.func`` ops at the end of the module, none of them renamed; the functions it
made refer to no symbol it did not make (it hit no function lowered earlier in the module);
it used no channel, keepalive or host callback; its values are the types JAX's caches hold.
A record is replayed only if none of its cache keys is in the module yet (else JAX would have
reused those) and every trace-cache jaxpr it used is still the cached one (so the jaxprs the
rest of the module sees are the same objects). Records belong to one MLIR context and are
dropped with it (:func:`clear`). ``tests/test_funccache.py`` and
``scripts/funccache_check.py`` compare the text with stock lowering.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from fuzzjax.lowering import tracecache

__all__ = ["CACHE_SIZE", "ENABLED", "clear", "install", "stats"]

#: Records kept per thread (least recently used dropped first).
CACHE_SIZE = 4096
#: Off switch for measurement (``scripts/funccache_ab.py`` alternates it per program).
ENABLED = True
_SEEN_MAX = 65536  # keys seen once, remembered until the next record is due
#: Record a key's lowering at its RECORD_AT-th miss (1: the first; 2 skips keys seen once).
RECORD_AT = 2
_SYMBOL = re.compile(r"@([\w.$-]+)")
_UNIQUED = re.compile(r"_\d+$")


@dataclasses.dataclass
class _Frame:
    """The module's state when a recorded miss started, and the trace-cache jaxprs it used."""

    n_ops: int
    last: Any
    lowering: int
    primitive: int
    channel: str
    keepalives: int
    callbacks: int
    traces: list[tuple[Any, Any]] = dataclasses.field(default_factory=list)
    bases: dict[str, str] = dataclasses.field(default_factory=dict)  # symbol -> name asked


@dataclasses.dataclass
class _Record:
    context: Any  # the MLIR context the functions live in
    funcs: list[tuple[str, str, Any]]  # (name, name JAX asked for, detached clone), in order
    lowering: list[tuple[Any, Any, int | None]]  # (key, value, index of its func or None)
    primitive: list[tuple[Any, Any, int]]  # cached_primitive_lowerings: (key, value, index)
    inline_refs: dict[int, frozenset[str]]  # inline func (by position in lowering): refs
    pure: frozenset[int]  # inline entries that refer to no function (positions in lowering)
    result: int  # position of the missed key's own entry in ``lowering``
    traces: list[tuple[Any, Any]]


class _Local(threading.local):
    def __init__(self) -> None:
        self.records: OrderedDict[Any, _Record] = OrderedDict()
        self.seen: set[Any] = set()
        self.frames: list[_Frame] = []


_local = _Local()
_counts = {"hits": 0, "records": 0, "rejected": 0, "conflicts": 0, "stale": 0}
_lock = threading.Lock()
_installed = False


def stats() -> dict[str, int]:
    """Replays, records, misses not recordable, stale records (for profiling scripts)."""
    return dict(_counts, size=len(_local.records))


def clear() -> None:
    """Drop this thread's records (its MLIR context is being replaced)."""
    _local.records.clear()
    _local.seen.clear()


def _note_trace(key: Any, jaxpr: Any) -> None:
    if _local.frames:
        _local.frames[-1].traces.append((key, jaxpr))


def _module_key(ctx: Any, cache_key: Any) -> Any:
    from jax._src import config

    if ctx.shape_poly_state.dim_vars:
        return None
    key = (
        cache_key,
        tuple(ctx.platforms),
        ctx.lowering_parameters,
        ctx.axis_context,
        ctx.all_default_mem_kind,
        id(ctx.backend),
        config.trace_context(),
        tracecache.ENABLED,
    )
    try:
        hash(key)
    except TypeError:
        return None
    return key


def _frame(ctx: Any) -> _Frame | None:
    ops = ctx.module.body.operations
    n = len(ops)
    channel = repr(ctx.channel_iterator)
    if not channel.startswith("count("):
        return None
    return _Frame(
        n_ops=n,
        last=ops[n - 1] if n else None,
        lowering=len(ctx.lowering_cache),
        primitive=len(ctx.cached_primitive_lowerings),
        channel=channel,
        keepalives=len(ctx.keepalives),
        callbacks=len(ctx.host_callbacks),
    )


def _capture(ctx: Any, frame: _Frame, cache_key: Any) -> _Record | None:
    """The record of the miss that just ran, or None if replaying it would not be exact."""
    from jax._src import pjit
    from jax._src.interpreters import mlir

    if (
        repr(ctx.channel_iterator) != frame.channel
        or len(ctx.keepalives) != frame.keepalives
        or len(ctx.host_callbacks) != frame.callbacks
    ):
        return None
    ops = ctx.module.body.operations
    n = len(ops)
    if n < frame.n_ops or (frame.n_ops and ops[frame.n_ops - 1] != frame.last):
        return None  # something was inserted before the module's last function
    new = [ops[i] for i in range(frame.n_ops, n)]
    names: dict[str, int] = {}
    bases: list[str] = []
    for i, op in enumerate(new):
        attrs = op.operation.attributes
        if op.operation.name != "func.func" or "sym_visibility" not in attrs:
            return None
        name = attrs["sym_name"].value
        base = frame.bases.get(name)
        if base is None:  # made by another route: only a name that was never renamed
            if _UNIQUED.search(name):
                return None
            base = name
        names[name] = i
        bases.append(base)
    lowering: list[tuple[Any, Any, int | None]] = []
    inline_refs: dict[int, frozenset[str]] = {}
    pure: set[int] = set()
    result = -1
    for key, value in list(ctx.lowering_cache.items())[frame.lowering :]:
        if type(value) is not mlir.LoweringCacheValue:
            return None
        if key is cache_key or key == cache_key:
            result = len(lowering)
        if value.inline:
            own = value.func.sym_name.value  # the detached function's own name
            refs = frozenset(_SYMBOL.findall(str(value.func))) - {own}
            if not refs <= names.keys():
                return None
            if refs:
                inline_refs[len(lowering)] = refs
            else:
                pure.add(len(lowering))
            lowering.append((key, value, None))
            continue
        index = names.get(value.func.sym_name.value)
        if index is None:
            return None
        # Hold no op of this module (it would keep the whole module alive).
        lowering.append((key, dataclasses.replace(value, func=None), index))
    primitive: list[tuple[Any, Any, int]] = []
    for key, value in list(ctx.cached_primitive_lowerings.items())[frame.primitive :]:
        if type(value) is pjit.PjitLoweringResult:
            index = names.get(value.func.name.value)
        elif isinstance(value, mlir.func_dialect.FuncOp):
            index = names.get(value.name.value)
            value = None
        else:
            return None
        if index is None:
            return None
        if type(value) is pjit.PjitLoweringResult:
            value = dataclasses.replace(value, func=None, symbol_ref=None)
        primitive.append((key, value, index))
    if result < 0:
        return None
    for op in new:  # every function it made calls only functions it made
        if not set(_SYMBOL.findall(str(op))) <= names.keys():
            return None
    funcs = [(name, bases[i], new[i].operation.clone(ip=False)) for name, i in names.items()]
    return _Record(
        ctx.context,
        funcs,
        lowering,
        primitive,
        inline_refs,
        frozenset(pure),
        result,
        list(frame.traces),
    )


def _conflicts(ctx: Any, record: _Record) -> bool:
    """Whether the module already holds one of ``record``'s entries that is not pure (JAX
    would reuse its function); pure inline entries lower the same either way."""
    lowering_cache = ctx.lowering_cache
    for position, (key, _, _) in enumerate(record.lowering):
        if position not in record.pure and key in lowering_cache:
            return True
    primitive_cache = ctx.cached_primitive_lowerings
    return any(key in primitive_cache for key, _, _ in record.primitive)


def _rename(renames: dict[str, str], op: Any) -> None:
    """Rewrite the uses of symbols in ``op``: all at once, through unused temporary names
    (a new name may be another function's old one)."""
    from jax._src.lib.mlir import ir

    temporary = {old: f"__fuzzjax_rename_{i}" for i, old in enumerate(renames)}
    for old, tmp in temporary.items():
        ir.SymbolTable.replace_all_symbol_uses(old, tmp, op)
    for old, tmp in temporary.items():
        ir.SymbolTable.replace_all_symbol_uses(tmp, renames[old], op)


def _replay(ctx: Any, record: _Record) -> Any:
    """Add ``record``'s functions and cache entries to the module and return its value."""
    from jax._src.lib.mlir import ir

    renames: dict[str, str] = {}
    made = []
    for name, base, func in record.funcs:
        op = func.clone(ip=ctx.ip)
        if base != name:
            op.attributes["sym_name"] = ir.StringAttr.get(base)
        final = ctx.symbol_table.insert(op).value
        if final != name:
            renames[name] = final
        made.append(op)
    if renames:
        for op in made:
            _rename(renames, op)
    lowering_cache = ctx.lowering_cache
    result = None
    for position, (key, value, index) in enumerate(record.lowering):
        if position in record.pure and key in lowering_cache:
            continue  # JAX would have hit the module's own copy: the same inlined body
        if index is not None:
            value = dataclasses.replace(value, func=made[index])
        elif renames and record.inline_refs.get(position, frozenset()) & renames.keys():
            func = value.func.operation.clone(ip=False)
            _rename(renames, func)
            value = dataclasses.replace(value, func=func)
        lowering_cache[key] = value
        if position == record.result:
            result = value
    primitive_cache = ctx.cached_primitive_lowerings
    for key, value, index in record.primitive:
        func = made[index]
        if value is None:
            primitive_cache[key] = func
        else:
            symbol = ir.FlatSymbolRefAttr.get(func.name.value)
            primitive_cache[key] = dataclasses.replace(value, func=func, symbol_ref=symbol)
    for key, _ in record.traces:
        tracecache.touch(key)
    if _local.frames:
        _local.frames[-1].traces.extend(record.traces)
    return result


def _usable(ctx: Any, record: _Record) -> bool | None:
    """True if ``record`` can be replayed in this module, False if not in this module (JAX
    would reuse a function it already made), None if never again (stale)."""
    if record.context is not ctx.context or not all(
        tracecache.holds(key, jaxpr) for key, jaxpr in record.traces
    ):
        return None
    return not _conflicts(ctx, record)


def _wrap(original: Callable[..., Any], active: Callable[[], bool]) -> Callable[..., Any]:
    def cached_lowering_miss(
        ctx: Any, eqn: Any, cache_key: Any, avals_in: Any, **params: Any
    ) -> Any:
        if not ENABLED or not active():
            return original(ctx, eqn, cache_key, avals_in, **params)
        key = _module_key(ctx, cache_key)
        if key is None:
            return original(ctx, eqn, cache_key, avals_in, **params)
        local = _local
        record = local.records.get(key)
        if record is not None:
            usable = _usable(ctx, record)
            if usable:
                local.records.move_to_end(key)
                _counts["hits"] += 1
                return _replay(ctx, record)
            if usable is None:
                _counts["stale"] += 1
                del local.records[key]
            else:  # lower as JAX does here; the record stays for other modules
                _counts["conflicts"] += 1
                return original(ctx, eqn, cache_key, avals_in, **params)
        elif RECORD_AT > 1 and key not in local.seen:
            # first sighting: lower as JAX does, remember the key
            if len(local.seen) >= _SEEN_MAX:
                local.seen.clear()
            local.seen.add(key)
            return original(ctx, eqn, cache_key, avals_in, **params)
        frame = _frame(ctx)
        if frame is None:
            return original(ctx, eqn, cache_key, avals_in, **params)
        local.frames.append(frame)
        try:
            value = original(ctx, eqn, cache_key, avals_in, **params)
        finally:
            local.frames.pop()
            if local.frames:
                local.frames[-1].traces.extend(frame.traces)
                local.frames[-1].bases.update(frame.bases)
        captured = _capture(ctx, frame, cache_key)
        if captured is None:
            _counts["rejected"] += 1
        else:
            _counts["records"] += 1
            local.records[key] = captured
            while len(local.records) > CACHE_SIZE:
                local.records.popitem(last=False)
        return value

    cached_lowering_miss.__wrapped__ = original  # type: ignore[attr-defined]
    return cached_lowering_miss


def _naming(original: Callable[..., Any], base_of: Callable[..., str | None]) -> Callable[..., Any]:
    """Wrap a JAX function that makes a named function: note the name it asked for."""

    def named(*args: Any, **kwargs: Any) -> Any:
        made = original(*args, **kwargs)
        frames = _local.frames
        if frames:
            base = base_of(*args, **kwargs)
            func = getattr(made, "func", made)
            if base is not None and func is not None and not getattr(made, "inline", False):
                frames[-1].bases[func.name.value] = base
        return made

    named.__wrapped__ = original  # type: ignore[attr-defined]
    return named


def _jaxpr_fun_base(ctx: Any, name: str, *args: Any, **kwargs: Any) -> str | None:
    return "main" if kwargs.get("main_function") else name


def _rule_fun_base(rule: Any, ctx: Any, eqn_ctx: Any, primitive: Any, *args: Any, **kw: Any) -> str:
    return str(primitive.name)


def install(mlir: Any, active: Callable[[], bool]) -> None:
    """Wrap JAX's per-module lowering-cache miss once; ``active()`` says whether to reuse."""
    global _installed
    with _lock:
        if _installed:
            return
        mlir._cached_lowering_miss = _wrap(mlir._cached_lowering_miss, active)
        mlir.lower_jaxpr_to_fun = _naming(mlir.lower_jaxpr_to_fun, _jaxpr_fun_base)
        mlir._emit_lowering_rule_as_fun = _naming(mlir._emit_lowering_rule_as_fun, _rule_fun_base)
        tracecache.listener = _note_trace
        _installed = True
