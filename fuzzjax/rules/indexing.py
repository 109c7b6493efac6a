"""Typing rules of general indexing: ``lax.dynamic_slice`` / ``dynamic_update_slice`` (and the
``_in_dim`` forms) with traced start indices, ``jax.ops.segment_sum``/``segment_max``, and
``lax.gather`` / ``lax.scatter_add`` with general dimension numbers (CLIP mode), zero-size
operands, index batches and windows included.
"""

from __future__ import annotations

from typing import Any

from fuzzjax.choices import Chooser
from fuzzjax.dtypes import KIND, ArrayType, default_int
from fuzzjax.rules.base import Arg, Literal, Plan, Rule, tuple_text
from fuzzjax.rules.shapes import Limits


def _start(ch: Chooser, limits: Limits) -> Arg:
    """A start index: a literal (possibly out of range: clamped) or a scalar of the default
    int (JAX wants all start indices of one integer type, and literals take the default)."""
    if ch.chance(50):
        return Literal(str(ch.integer(-1, 4)))
    return ArrayType(default_int(limits.x64), ())


def _sample(ch: Chooser, items: list[int], n: int) -> list[int]:
    pool = list(items)
    return sorted(pool.pop(ch.integer(0, len(pool) - 1)) for _ in range(n))


class Dynamic(Rule):
    """``lax.dynamic_slice(x, [i, j], (a, b))``, ``lax.dynamic_update_slice(x, u, [i, j])`` and
    the ``_in_dim`` forms; starts are clamped so the window fits."""

    family = "index"

    def __init__(self, alias: str) -> None:
        self.alias = alias

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return out.rank >= 1

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        if self.alias in ("dynamic_slice", "dynamic_slice_in_dim"):
            axis = ch.integer(0, out.rank - 1)
            every = "in_dim" not in self.alias
            grow = [ch.integer(0, 2) if (i == axis or every) else 0 for i in range(out.rank)]
            operand = ArrayType(
                out.dtype, tuple(d + g for d, g in zip(out.shape, grow, strict=True))
            )
            if self.alias == "dynamic_slice_in_dim":
                return Plan([operand, _start(ch, limits)], {"size": out.shape[axis], "axis": axis})
            starts = [_start(ch, limits) for _ in out.shape]
            return Plan([operand, *starts], {"sizes": out.shape})
        axis = ch.integer(0, out.rank - 1)
        update = tuple(
            ch.integer(0, d) if (i == axis or "in_dim" not in self.alias) else d
            for i, d in enumerate(out.shape)
        )
        if self.alias == "dynamic_update_slice_in_dim":
            return Plan([out, ArrayType(out.dtype, update), _start(ch, limits)], {"axis": axis})
        return Plan([out, ArrayType(out.dtype, update), *[_start(ch, limits) for _ in out.shape]])

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        if self.alias == "dynamic_slice":
            return f"{args[0]}, [{', '.join(args[1:])}], {tuple_text(attrs['sizes'])}"
        if self.alias == "dynamic_update_slice":
            return f"{args[0]}, {args[1]}, [{', '.join(args[2:])}]"
        if self.alias == "dynamic_slice_in_dim":
            return f"{args[0]}, {args[1]}, {attrs['size']}, axis={attrs['axis']}"
        return f"{args[0]}, {args[1]}, {args[2]}, axis={attrs['axis']}"


class Segment(Rule):
    """``jax.ops.segment_sum(data, ids, num_segments=n)`` (and ``segment_max``): ids outside
    ``[0, n)`` are dropped; an empty segment holds 0 (sum) or the lowest value (max)."""

    family = "reduction"

    def __init__(self, alias: str) -> None:
        self.alias = alias

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        kinds = "iuf" if self.alias == "segment_max" else "iufc"
        return out.rank >= 1 and KIND[out.dtype] in kinds

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        rows = ch.integer(0, 6)
        data = ArrayType(out.dtype, (rows, *out.shape[1:]))
        return Plan([data, ArrayType("int32", (rows,))], {"n": out.shape[0]})

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        return f"{args[0]}, {args[1]}, num_segments={attrs['n']}"


class Gather(Rule):
    """``lax.gather`` with ``GatherDimensionNumbers(offset_dims, collapsed_slice_dims,
    start_index_map)`` and ``slice_sizes``, the index vector on the last axis of the indices.

    The output has the index batch axes and the non-collapsed slice axes (at ``offset_dims``);
    starts are clamped so each slice fits (``mode=lax.GatherScatterMode.CLIP``).
    """

    family = "index"
    alias = "gather"

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return limits.max_rank >= 2

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        least = max(0, out.rank + 1 - limits.max_rank)  # the indices need a rank to spare
        rank = ch.integer(max(1, least), min(3, limits.max_rank))
        kept = ch.integer(least, min(rank, out.rank))  # operand axes kept in the output
        collapsed = _sample(ch, list(range(rank)), rank - kept)
        offsets = _sample(ch, list(range(out.rank)), kept)
        batch = [d for i, d in enumerate(out.shape) if i not in offsets]
        sizes, taken = [], iter(out.shape[i] for i in offsets)
        for axis in range(rank):
            sizes.append(1 if axis in collapsed else next(taken))
        operand = tuple(s + ch.integer(0, 2) for s in sizes)
        index_map = _sample(ch, list(range(rank)), ch.integer(1, rank))
        if ch.chance(50):
            index_map = index_map[::-1]
        indices = ArrayType("int32", (*batch, len(index_map)))
        attrs = {
            "offset_dims": tuple(offsets),
            "collapsed": tuple(collapsed),
            "index_map": tuple(index_map),
            "sizes": tuple(sizes),
        }
        return Plan([ArrayType(out.dtype, operand), indices], attrs)

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        numbers = (
            f"lax.GatherDimensionNumbers(offset_dims={tuple_text(attrs['offset_dims'])}, "
            f"collapsed_slice_dims={tuple_text(attrs['collapsed'])}, "
            f"start_index_map={tuple_text(attrs['index_map'])})"
        )
        return (
            f"{args[0]}, {args[1]}, {numbers}, slice_sizes={tuple_text(attrs['sizes'])}, "
            "mode=lax.GatherScatterMode.CLIP"
        )


class ScatterAdd(Rule):
    """``lax.scatter_add`` with ``ScatterDimensionNumbers(update_window_dims,
    inserted_window_dims, scatter_dims_to_operand_dims)``: each window of the updates is added
    at a clamped start (``CLIP``); windows and update batches may be empty."""

    family = "index"
    alias = "scatter_add"

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return out.rank >= 1 and KIND[out.dtype] in "iufc"

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        rank = out.rank
        inserted = _sample(ch, [a for a in range(rank) if out.shape[a] >= 1], ch.integer(0, 1))
        windows = [ch.integer(0, out.shape[a]) for a in range(rank) if a not in inserted]
        batch_rank = ch.integer(0, max(0, min(2, limits.max_rank - 1 - len(windows))))
        batch = [ch.integer(0, 3) for _ in range(batch_rank)]
        update_rank = batch_rank + len(windows)
        window_dims = _sample(ch, list(range(update_rank)), len(windows))
        shape, sizes, rest = [], iter(windows), iter(batch)
        for position in range(update_rank):
            shape.append(next(sizes) if position in window_dims else next(rest))
        index_map = _sample(ch, list(range(rank)), ch.integer(1, rank))
        indices = ArrayType("int32", (*batch, len(index_map)))
        attrs = {
            "window_dims": tuple(window_dims),
            "inserted": tuple(inserted),
            "index_map": tuple(index_map),
        }
        return Plan([out, indices, ArrayType(out.dtype, tuple(shape))], attrs)

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        numbers = (
            f"lax.ScatterDimensionNumbers(update_window_dims={tuple_text(attrs['window_dims'])}, "
            f"inserted_window_dims={tuple_text(attrs['inserted'])}, "
            f"scatter_dims_to_operand_dims={tuple_text(attrs['index_map'])})"
        )
        return f"{args[0]}, {args[1]}, {args[2]}, {numbers}, mode=lax.GatherScatterMode.CLIP"


def indexing_rules() -> list[Rule]:
    rules: list[Rule] = [Dynamic(a) for a in ("dynamic_slice", "dynamic_update_slice")]
    rules += [Dynamic("dynamic_slice_in_dim"), Dynamic("dynamic_update_slice_in_dim")]
    rules += [Segment("segment_sum"), Segment("segment_max"), Gather(), ScatterAdd()]
    return rules
