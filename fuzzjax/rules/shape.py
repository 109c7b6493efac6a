"""Typing rules of shape operations, selection and casts (result dtype = operand dtype, mostly)."""

from __future__ import annotations

from typing import Any

from fuzzjax.choices import Chooser
from fuzzjax.dtypes import KIND, ArrayType, dtype_set, is_complex
from fuzzjax.rules import promotion as dr
from fuzzjax.rules.base import (
    LITERALS,
    Arg,
    Literal,
    OneArgAxis,
    Plan,
    Rule,
    draw_signature,
    spell_axis,
    tuple_text,
)
from fuzzjax.rules.shapes import Limits, broadcast_operands, factor_shape
from fuzzjax.rules.static import dtype_arg_text, plan_dtype, split_names


class SameDtype(Rule):
    """Base for shape operations whose result dtype is the operand's."""

    family = "shape"
    min_rank = 0

    def __init__(self, alias: str) -> None:
        self.alias = alias

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return out.rank >= self.min_rank


class Reshape(SameDtype):
    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        shape = factor_shape(ch, out.size, limits)
        return Plan([ArrayType(out.dtype, shape)], {"shape": out.shape})

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        return f"{args[0]}, {tuple_text(attrs['shape'])}"


class Ravel(SameDtype):
    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return out.rank == 1

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        return Plan([ArrayType(out.dtype, factor_shape(ch, out.size, limits))])


class BroadcastTo(Reshape):
    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        (shape,) = broadcast_operands(ch, out.shape, 1)
        if shape == out.shape and out.rank and ch.chance(60):
            shape = shape[ch.integer(1, out.rank) :]
        return Plan([ArrayType(out.dtype, shape)], {"shape": out.shape})


class Transpose(SameDtype):
    min_rank = 2

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        remaining = list(range(out.rank))
        perm = [remaining.pop(ch.integer(0, len(remaining) - 1)) for _ in range(out.rank)]
        operand = [0] * out.rank
        for i, p in enumerate(perm):
            operand[p] = out.shape[i]
        return Plan([ArrayType(out.dtype, tuple(operand))], {"axes": tuple(perm)})

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        return f"{args[0]}, {tuple_text(attrs['axes'])}"


class Moveaxis(SameDtype):
    min_rank = 2

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        source, dest = ch.integer(0, out.rank - 1), ch.integer(0, out.rank - 1)
        order = [i for i in range(out.rank) if i != source]
        order.insert(dest, source)
        operand = [0] * out.rank
        for j, i in enumerate(order):
            operand[i] = out.shape[j]
        attrs = {"source": spell_axis(ch, source, out.rank), "dest": dest}
        return Plan([ArrayType(out.dtype, tuple(operand))], attrs)

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        return f"{args[0]}, {attrs['source']}, {attrs['dest']}"


class ExpandDims(OneArgAxis, SameDtype):
    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return 1 in out.shape

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        axis = ch.choice([i for i, d in enumerate(out.shape) if d == 1])
        shape = out.shape[:axis] + out.shape[axis + 1 :]
        return Plan([ArrayType(out.dtype, shape)], {"axis": spell_axis(ch, axis, out.rank)})


class Squeeze(OneArgAxis, SameDtype):
    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return out.rank < limits.max_rank

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        axis = ch.integer(0, out.rank)
        shape = out.shape[:axis] + (1,) + out.shape[axis:]
        return Plan([ArrayType(out.dtype, shape)], {"axis": spell_axis(ch, axis, out.rank + 1)})


class Swapaxes(SameDtype):
    min_rank = 2

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        a, b = ch.integer(0, out.rank - 1), ch.integer(0, out.rank - 1)
        shape = list(out.shape)
        shape[a], shape[b] = shape[b], shape[a]
        return Plan([ArrayType(out.dtype, tuple(shape))], {"axes": (a, b)})

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        a, b = attrs["axes"]
        return f"{args[0]}, {a}, {b}"


class SameShape(OneArgAxis, SameDtype):
    """flip, roll (with a shift), tril and triu: same type in and out."""

    def __init__(self, alias: str, min_rank: int = 1, axis: bool = True) -> None:
        super().__init__(alias)
        self.min_rank, self.axis = min_rank, axis

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        if not self.axis:
            return Plan([out])
        attrs = {"axis": spell_axis(ch, ch.integer(0, out.rank - 1), out.rank)}
        if self.alias == "roll":
            attrs["shift"] = ch.integer(-3, 3)
        return Plan([out], attrs)

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        if not self.axis:
            return args[0]
        if "shift" in attrs:
            return f"{args[0]}, {attrs['shift']}, axis={attrs['axis']}"
        return super().call_args(args, attrs)


class Concatenate(SameDtype):
    """``jnp.concatenate([a, b, ...], axis=k)`` and ``jnp.stack([a, b, ...], axis=k)``."""

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return bool(self._axes(out))

    def _axes(self, out: ArrayType) -> list[int]:
        if self.alias == "stack":
            return [i for i, d in enumerate(out.shape) if 2 <= d <= 4]
        return [i for i, d in enumerate(out.shape) if d >= 2]

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        axis = ch.choice(self._axes(out))
        if self.alias == "stack":
            part = out.shape[:axis] + out.shape[axis + 1 :]
            args: list[Arg] = [ArrayType(out.dtype, part)] * out.shape[axis]
            return Plan(list(args), {"axis": spell_axis(ch, axis, out.rank)})
        total = out.shape[axis]
        available = list(range(1, total))
        cuts = sorted(
            available.pop(ch.integer(0, len(available) - 1))
            for _ in range(ch.integer(1, min(2, total - 1)))
        )
        sizes = [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=False)]
        args = [
            ArrayType(out.dtype, out.shape[:axis] + (n,) + out.shape[axis + 1 :]) for n in sizes
        ]
        return Plan(args, {"axis": spell_axis(ch, axis, out.rank)})

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        return f"[{', '.join(args)}], axis={attrs['axis']}"


class Tile(SameDtype):
    min_rank = 1

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        reps = [ch.choice([d for d in range(1, n + 1) if n % d == 0]) for n in out.shape]
        shape = tuple(n // r for n, r in zip(out.shape, reps, strict=False))
        return Plan([ArrayType(out.dtype, shape)], {"reps": tuple(reps)})

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        return f"{args[0]}, {tuple_text(attrs['reps'])}"


class Repeat(SameDtype):
    min_rank = 1

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        axis = ch.integer(0, out.rank - 1)
        n = out.shape[axis]
        r = ch.choice([d for d in range(1, n + 1) if n % d == 0])
        shape = out.shape[:axis] + (n // r,) + out.shape[axis + 1 :]
        return Plan([ArrayType(out.dtype, shape)], {"r": r, "axis": spell_axis(ch, axis, out.rank)})

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        return f"{args[0]}, {attrs['r']}, axis={attrs['axis']}"


class Pad(SameDtype):
    min_rank = 1

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        widths, shape = [], []
        for n in out.shape:
            lo = ch.integer(0, min(2, n - 1))
            hi = ch.integer(0, min(2, n - 1 - lo))
            widths.append((lo, hi))
            shape.append(n - lo - hi)
        return Plan([ArrayType(out.dtype, tuple(shape))], {"widths": widths})

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        inner = ", ".join(tuple_text(w) for w in attrs["widths"])
        return f"{args[0]}, ({inner}{',' if len(attrs['widths']) == 1 else ''})"


def _draw_subscripts(
    ch: Chooser, kept: tuple[int, ...], limits: Limits, extra_ints: int
) -> tuple[list[str], tuple[int, ...]]:
    """Subscript texts and the operand shape such that ``operand[subs].shape == kept``.

    A kept axis of size 1 may come from ``None`` (a new axis); a run of full slices may be
    written ``...`` (at most one per subscript).
    """
    slots = ["s"] * len(kept)
    for _ in range(extra_ints):
        slots.insert(ch.integer(0, len(slots)), "i")
    subs, shape, position = [], [], 0
    for slot in slots:
        if slot == "i":
            n = ch.integer(1, 5)
            subs.append(str(ch.integer(-n, n - 1)))
            shape.append(n)
            continue
        size = kept[position]
        position += 1
        if size == 1 and ch.chance(25):
            subs.append("None")
            continue
        form = ch.integer(0, 3)
        if form == 0:  # full slice
            subs.append(":")
            shape.append(size)
        elif form == 1:  # a:b
            start = ch.integer(0, 2)
            subs.append(f"{start}:{start + size}")
            shape.append(start + size + ch.integer(0, 2))
        elif form == 2:  # a:b:2
            start = ch.integer(0, 1)
            stop = start + 2 * (size - 1) + 1
            subs.append(f"{start}:{stop}:2")
            shape.append(stop + ch.integer(0, 1))
        else:  # reversed
            subs.append("::-1")
            shape.append(size)
    if ch.chance(20):  # an ellipsis for a (possibly empty) run of full slices
        start = ch.integer(0, len(subs))
        stop = start
        while stop < len(subs) and subs[stop] == ":" and ch.chance(70):
            stop += 1
        subs[start:stop] = ["..."]
    while len(subs) > 1 and subs[-1] == ":" and "..." not in subs:
        subs.pop()  # trailing full slices are implicit (not after an ellipsis)
    return subs, tuple(shape)


class GetItem(Rule):
    """Static basic indexing ``x[i, a:b, ::-1]``."""

    family = "index"
    alias = "getitem"

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return out.rank < limits.max_rank or out.rank > 0

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        room = limits.max_rank - out.rank
        low = 1 if out.rank == 0 else 0
        extra = ch.integer(low, max(low, min(2, room)))
        subs, shape = _draw_subscripts(ch, out.shape, limits, extra)
        return Plan([ArrayType(out.dtype, shape)], {"subs": subs})

    def method_text(self, syntax: Any, args: list[str], attrs: dict[str, Any]) -> str:
        return f"[{', '.join(attrs['subs'])}]"


class AtUpdate(Rule):
    """``x.at[subs].set(v)`` and friends: the result has x's type; v fits x[subs]."""

    family = "index"

    def __init__(self, alias: str, dtype_ok: Any) -> None:
        self.alias, self.dtype_ok = alias, dtype_ok

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return out.rank >= 1 and self.dtype_ok(out.dtype)

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        subs, kept = [], []
        for n in out.shape:
            if ch.chance(30):
                subs.append(str(ch.integer(-n, n - 1)))
                continue
            start = ch.integer(0, n - 1)
            stop = ch.integer(start + 1, n)
            subs.append(":" if (start, stop) == (0, n) else f"{start}:{stop}")
            kept.append(stop - start)
        (value_shape,) = broadcast_operands(ch, tuple(kept), 1)
        return Plan([out, ArrayType(out.dtype, value_shape)], {"subs": subs})

    def method_text(self, syntax: Any, args: list[str], attrs: dict[str, Any]) -> str:
        at, method = [t for t in syntax.tokens if t and t.startswith(".")]
        return f"{at}[{', '.join(attrs['subs'])}]{method}({args[1]})"


class Take(Rule):
    """``jnp.take(x, idx, axis=k)``: result shape x.shape[:k] + idx.shape + x.shape[k+1:]."""

    family = "index"
    alias = "take"

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return out.rank >= 1

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        r = ch.integer(1, min(2, out.rank))
        k = ch.integer(0, out.rank - r)
        n = ch.integer(1, 6)
        x_shape = out.shape[:k] + (n,) + out.shape[k + r :]
        idx = ArrayType("int32", out.shape[k : k + r])
        axis = spell_axis(ch, k, len(x_shape))
        return Plan([ArrayType(out.dtype, x_shape), idx], {"axis": axis})

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        return f"{args[0]}, {args[1]}, axis={attrs['axis']}"


class TakeAlongAxis(Take):
    alias = "take_along_axis"

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        k = ch.integer(0, out.rank - 1)
        x_shape = out.shape[:k] + (ch.integer(1, 6),) + out.shape[k + 1 :]
        axis = spell_axis(ch, k, out.rank)
        return Plan([ArrayType(out.dtype, x_shape), ArrayType("int32", out.shape)], {"axis": axis})


class Where(Rule):
    family = "select"
    alias = "where"

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return True

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        dx, dy = draw_signature(ch, dr.signatures(dr.any_promoted, 2, limits.x64)[out.dtype])
        sc, sx, sy = broadcast_operands(ch, out.shape, 3)
        return Plan([ArrayType("bool", sc), ArrayType(dx, sx), ArrayType(dy, sy)])


class Clip(Rule):
    family = "select"
    alias = "clip"

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return KIND[out.dtype] in "iuf"

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        options = sorted(LITERALS[KIND[out.dtype]], key=float)
        lo = ch.integer(0, len(options) - 1)
        hi = ch.integer(lo, len(options) - 1)
        return Plan([out, Literal(options[lo]), Literal(options[hi])])


class Cast(Rule):
    """``x.astype(D)``, ``jnp.asarray(x, dtype=D)``, ``lax.convert_element_type(x, D)``; D spelled
    or read while tracing (``x1.dtype``, ``jnp.result_type(x1)``: ``rules.static``)."""

    family = "cast"

    def __init__(self, alias: str) -> None:
        self.alias = alias

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return True

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        sources = [d for d in dtype_set(limits.x64) if is_complex(out.dtype) or not is_complex(d)]
        source = ArrayType(ch.choice(sources), out.shape)
        if self.alias == "dtype_call":
            return Plan([source], {"dtype": out.dtype, "exprs": 1})
        names, spec = plan_dtype(ch, out.dtype, limits)
        return Plan([source, *names], {"dtype": out.dtype, "dtype_spec": spec, "exprs": 1})

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        exprs, names = split_names(args, attrs)
        spelled = dtype_arg_text(attrs["dtype_spec"], names)
        if self.alias == "asarray":
            return f"{exprs[0]}, dtype={spelled}"
        return f"{exprs[0]}, {spelled}"

    def method_text(self, syntax: Any, args: list[str], attrs: dict[str, Any]) -> str:
        _, names = split_names(args, attrs)
        return f"{syntax.symbol}({dtype_arg_text(attrs['dtype_spec'], names)})"


def shape_rules() -> list[Rule]:
    return [
        Reshape("reshape"), BroadcastTo("broadcast_to"), Transpose("transpose"),
        Moveaxis("moveaxis"), ExpandDims("expand_dims"), Squeeze("squeeze"),
        Swapaxes("swapaxes"), SameShape("flip"), SameShape("roll"),
        SameShape("tril", min_rank=2, axis=False), SameShape("triu", min_rank=2, axis=False),
        Concatenate("concatenate"), Concatenate("stack"), Tile("tile"), Repeat("repeat"),
        Pad("pad"), Ravel("ravel"), GetItem(),
        AtUpdate("at_set", lambda d: True),
        AtUpdate("at_add", lambda d: d != "bool"),
        AtUpdate("at_multiply", lambda d: d != "bool"),
        AtUpdate("at_min", lambda d: not is_complex(d)),
        AtUpdate("at_max", lambda d: not is_complex(d)),
        Take(), TakeAlongAxis(), Where(), Clip(),
        Cast("astype"), Cast("asarray"), Cast("convert_element_type"),
    ]  # fmt: skip
