"""Typing rules of array creation: ``jnp.zeros(x0.shape, dtype=jnp.float32)``, ``jnp.eye(3)``,
``jnp.arange(5)``, ``jnp.array([a, b])``, ``jax.nn.one_hot(i, 4)``, and casts that name a dtype.

Shapes and dtypes are spelled out or read from other arrays while tracing (``rules.static``).
Creation from nothing but a shape (``zeros``, ``eye``, ``arange``...) is ``nullary``: it has no
expression argument, so it only occurs at depth 1.
"""

from __future__ import annotations

from typing import Any

from fuzzjax.choices import Chooser
from fuzzjax.dtypes import KIND, ArrayType, default_float, default_int, dtype_set, is_complex
from fuzzjax.rules import promotion as dr
from fuzzjax.rules.base import LITERALS, Arg, Literal, Plan, Rule, kind
from fuzzjax.rules.shapes import Limits
from fuzzjax.rules.static import dtype_arg_text, plan_dtype, plan_shape, shape_text, split_names


class Creation(Rule):
    """Base: renders ``callee(<exprs>, <shape>, dtype=<dtype>)`` from ``attrs``."""

    family = "creation"

    def __init__(self, alias: str) -> None:
        self.alias = alias

    def dtype_kw(self, ch: Chooser, out: ArrayType, limits: Limits, default: str | None) -> Any:
        """Names and spec of ``dtype=``; ``None`` (left out) sometimes when it is the default."""
        if out.dtype == default and ch.chance(50):
            return [], None
        return plan_dtype(ch, out.dtype, limits)

    def render(self, exprs: list[str], middle: list[str], attrs: dict[str, Any], names: Any) -> str:
        parts = list(exprs)
        if "shape" in attrs:
            parts.insert(attrs.get("shape_at", 0), shape_text(attrs["shape"], names))
        parts += middle
        if attrs.get("dtype"):
            parts.append(f"dtype={dtype_arg_text(attrs['dtype'], names)}")
        return ", ".join(parts)

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        exprs, names = split_names(args, attrs)
        return self.render(exprs, [str(v) for v in attrs.get("ints", ())], attrs, names)


class Filled(Creation):
    """``jnp.zeros``, ``jnp.ones``, ``jnp.empty`` (JAX fills ``empty`` with zeros)."""

    nullary = True

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return True

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        shape_names, shape = plan_shape(ch, out.shape, limits)
        dtype_names, dtype = self.dtype_kw(ch, out, limits, default_float(limits.x64))
        return Plan([*shape_names, *dtype_names], {"shape": shape, "dtype": dtype})


class Full(Creation):
    """``jnp.full(shape, fill)`` (dtype of the fill) or ``jnp.full(shape, fill, dtype=D)``."""

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return True

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        shape_names, shape = plan_shape(ch, out.shape, limits)
        fill_shape = out.shape[ch.integer(0, out.rank) :] if out.rank and ch.chance(20) else ()
        if ch.chance(50):
            fill: Arg = ArrayType(out.dtype, fill_shape)
            dtype_names: list[Any] = []
            dtype = None
        else:
            fill = ArrayType(ch.choice(_cast_sources(out.dtype, limits)), fill_shape)
            dtype_names, dtype = plan_dtype(ch, out.dtype, limits)
        attrs = {"shape": shape, "dtype": dtype, "exprs": 1, "shape_at": 0}
        return Plan([fill, *shape_names, *dtype_names], attrs)


class FullLike(Creation):
    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return True

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        fill: Arg = ArrayType(ch.choice(_cast_sources(out.dtype, limits)), ())
        if kind(out.dtype) in LITERALS and ch.chance(40):
            fill = Literal(ch.choice(LITERALS[kind(out.dtype)]))
        return Plan([out, fill], {"exprs": 2})  # the result takes x's dtype and shape


class Eye(Creation):
    """``jnp.eye(n[, m])`` and ``jnp.identity(n)``, float by default."""

    nullary = True

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        square = out.rank == 2 and out.shape[0] == out.shape[1]
        sizes_ok = out.rank == 2 and max(out.shape) <= 64
        return sizes_ok and (self.alias == "eye" or square)

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        n, m = out.shape
        ints = [n] if n == m and (self.alias == "identity" or ch.chance(50)) else [n, m]
        dtype_names, dtype = self.dtype_kw(ch, out, limits, default_float(limits.x64))
        return Plan(list(dtype_names), {"ints": ints, "dtype": dtype})


class Arange(Creation):
    """``jnp.arange(stop)``, ``(start, stop)`` or ``(start, stop, step)``; int by default."""

    nullary = True

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return out.rank == 1 and out.shape[0] <= 100 and KIND[out.dtype] in "iuf"

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        length = out.shape[0]
        form = ch.integer(0, 2)
        start = 0 if form == 0 or KIND[out.dtype] == "u" else ch.integer(-3, 3)
        step = 1 if form < 2 else ch.choice((1, 2, 3))
        if form == 2 and KIND[out.dtype] != "u" and ch.chance(30):
            step = -step
        stop = start + step * length
        if KIND[out.dtype] in "iu" and _outside(out.dtype, min(start, stop), max(start, stop)):
            start, stop, step, form = 0, length, 1, 0
        ints = [stop] if form == 0 else [start, stop] if form == 1 else [start, stop, step]
        dtype_names, dtype = self.dtype_kw(ch, out, limits, default_int(limits.x64))
        return Plan(list(dtype_names), {"ints": ints, "dtype": dtype})


class Linspace(Creation):
    nullary = True

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return out.rank == 1 and dr.float_only(out.dtype, x64=limits.x64) == out.dtype

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        lo, hi = ch.choice(LITERALS["f"]), ch.choice(LITERALS["f"])
        dtype_names, dtype = self.dtype_kw(ch, out, limits, default_float(limits.x64))
        return Plan(list(dtype_names), {"ints": [lo, hi, out.shape[0]], "dtype": dtype})


class ArrayOf(Creation):
    """``jnp.array(x)`` (a copy) or ``jnp.array(x, dtype=D)`` (a cast)."""

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return True

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        if ch.chance(50):
            return Plan([out], {"exprs": 1})
        source = ArrayType(ch.choice(_cast_sources(out.dtype, limits)), out.shape)
        names, dtype = plan_dtype(ch, out.dtype, limits)
        return Plan([source, *names], {"exprs": 1, "dtype": dtype})


class ArrayList(Creation):
    """``jnp.array([a, b, ...])``: stacks equal-shape items (promoted), literals allowed for
    scalar items; ``[1.0, 2.0]`` alone (no expression) only at depth 1."""

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return out.rank >= 1 and 1 <= out.shape[0] <= 4 and KIND[out.dtype] != "b"

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        return self.plan_for_depth(ch, out, limits, 2)

    def plan_for_depth(self, ch: Chooser, out: ArrayType, limits: Limits, depth: int) -> Plan:
        n, item = out.shape[0], ArrayType(out.dtype, out.shape[1:])
        literal_ok = item.rank == 0 and kind(out.dtype) in "iuf"
        items: list[Arg] = []
        for _ in range(n):
            if literal_ok and ch.chance(50 if depth == 1 else 30):
                items.append(Literal(ch.choice(LITERALS[kind(out.dtype)])))
            else:
                items.append(item)
        if depth > 1 and all(isinstance(a, Literal) for a in items):
            items[ch.integer(0, n - 1)] = item
        weak = all(isinstance(a, Literal) for a in items)
        default = default_float(limits.x64) if kind(out.dtype) == "f" else default_int(limits.x64)
        if weak and out.dtype != default:
            names, dtype = plan_dtype(ch, out.dtype, limits)
            return Plan([*items, *names], {"list": n, "dtype": dtype})
        return Plan(items, {"list": n})

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        n = attrs["list"]
        text = "[" + ", ".join(args[:n]) + "]"
        if attrs.get("dtype"):
            text += f", dtype={dtype_arg_text(attrs['dtype'], iter(args[n:]))}"
        return text


class OneHot(Creation):
    """``jax.nn.one_hot(x, n)``: an integer array of shape S gives shape S + (n,)."""

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return out.rank >= 1 and 1 <= out.shape[-1] <= 64 and KIND[out.dtype] != "c"

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        x = ArrayType(
            ch.choice([d for d in dtype_set(limits.x64) if KIND[d] in "iu"]), out.shape[:-1]
        )
        dtype_names, dtype = self.dtype_kw(ch, out, limits, default_float(limits.x64))
        return Plan([x, *dtype_names], {"exprs": 1, "ints": [out.shape[-1]], "dtype": dtype})


def _outside(dtype: str, lo: int, hi: int) -> bool:
    bounds = {"int8": (-128, 127), "uint8": (0, 255)}.get(dtype, (-(2**31), 2**31 - 1))
    return lo < bounds[0] or hi > bounds[1]


def _cast_sources(out: str, limits: Limits) -> list[str]:
    """Dtypes that cast to ``out`` without dropping an imaginary part."""
    return [d for d in dtype_set(limits.x64) if is_complex(out) or not is_complex(d)]


def creation_rules() -> list[Rule]:
    rules: list[Rule] = [Filled("zeros"), Filled("ones"), Filled("empty"), Full("full")]
    rules += [FullLike("full_like"), Eye("eye"), Eye("identity"), Arange("arange")]
    rules += [Linspace("linspace"), ArrayOf("array"), ArrayList("array_list"), OneHot("one_hot")]
    return rules
