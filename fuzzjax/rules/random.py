"""Typing rules of ``jax.random`` samplers over keys built from literal seeds.

A key is a trace-time value (``jax.random.split(jax.random.key(0), 3)[1]``, ``fold_in``,
``PRNGKey``): it adds no depth. Some keys are ``jax.random.key(n, impl="rbg")`` (or
``"unsafe_rbg"``), whose bits XLA's RngBitGenerator draws (``stablehlo.rng_bit_generator``).
Samplers that take only a key, a shape and a dtype are ``nullary`` (depth 1); ``bernoulli``
takes its probability and ``categorical`` its logits as expressions.

``lax.rng_uniform(a, b, shape)`` (``stablehlo.rng``) takes no key: XLA keeps the generator's
state in the executable and advances it on every run, so it is drawn only where
``Limits.stateful`` allows (not in fuzz mode, whose oracles compare runs).
"""

from __future__ import annotations

from typing import Any

from fuzzjax.choices import Chooser
from fuzzjax.dtypes import ArrayType, default_float, default_int
from fuzzjax.rules import promotion as dr
from fuzzjax.rules.base import Arg, Literal, Plan, Rule, spell_axis
from fuzzjax.rules.shapes import Limits
from fuzzjax.rules.static import dtype_arg_text, plan_dtype, plan_shape, shape_text, split_names

#: Key implementations whose bits come from XLA's RngBitGenerator, not from Threefry.
RBG_IMPLS = ("rbg", "unsafe_rbg")
#: Result dtypes of ``lax.rng_uniform`` (XLA's CPU RngExpander aborts the process on int8,
#: uint8 and int16, which JAX's own checks let through).
RNG_UNIFORM_DTYPES = ("int32", "int64", "float16", "bfloat16", "float32", "float64")
#: Integer bounds of ``randint`` per dtype (kept inside the dtype's range).
RANDINT_BOUNDS = {"int8": (-100, 100), "uint8": (0, 200), "int32": (-1000, 1000)}


def draw_key(ch: Chooser, depth: int = 0) -> str:
    """The text of a key: a new one from a seed, or split / folded from another."""
    form = ch.integer(0, 4) if depth < 2 else ch.integer(0, 1)
    if form == 0:
        seed = ch.integer(0, 42)
        if ch.chance(30):  # XLA's RngBitGenerator draws the bits (rng_bit_generator)
            return f'jax.random.key({seed}, impl="{ch.choice(RBG_IMPLS)}")'
        return f"jax.random.key({seed})"
    if form == 1:
        return f"jax.random.PRNGKey({ch.integer(0, 42)})"
    inner = draw_key(ch, depth + 1)
    if form == 2:
        return f"jax.random.split({inner})[{ch.integer(0, 1)}]"
    if form == 3:
        n = ch.integer(2, 4)
        return f"jax.random.split({inner}, {n})[{ch.integer(0, n - 1)}]"
    return f"jax.random.fold_in({inner}, {ch.integer(0, 9)})"


class Sampler(Rule):
    """``jax.random.<name>(key, shape[, dtype=D])`` and friends."""

    family = "random"
    nullary = True

    def __init__(self, alias: str) -> None:
        self.alias = alias

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        if self.alias == "random_randint":
            return out.dtype in RANDINT_BOUNDS
        return dr.float_only(out.dtype, x64=limits.x64) == out.dtype

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        shape_names, shape = plan_shape(ch, out.shape, limits)
        attrs: dict[str, Any] = {"key": draw_key(ch), "shape": shape}
        default = (
            default_int(limits.x64) if self.alias == "random_randint" else default_float(limits.x64)
        )
        dtype_names: list[Arg] = []
        if out.dtype != default or ch.chance(40):
            names, attrs["dtype"] = plan_dtype(ch, out.dtype, limits)
            dtype_names = list(names)
        if self.alias == "random_uniform" and ch.chance(50):
            lo = ch.choice(("-1.0", "0.0", "-2.5", "0.5"))
            attrs["bounds"] = (lo, ch.choice(("1.0", "2.0", "3.0")))
        if self.alias == "random_randint":
            low, high = RANDINT_BOUNDS[out.dtype]
            a = ch.integer(low, high - 1)
            attrs["bounds"] = (str(a), str(ch.integer(a + 1, min(high, a + 50))))
        return Plan([*shape_names, *dtype_names], attrs)

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        names = iter(args)
        parts = [attrs["key"], shape_text(attrs["shape"], names)]
        if self.alias == "random_randint":
            parts += list(attrs["bounds"])
        if attrs.get("dtype"):
            parts.append(f"dtype={dtype_arg_text(attrs['dtype'], names)}")
        if self.alias == "random_uniform" and "bounds" in attrs:
            lo, hi = attrs["bounds"]
            parts += [f"minval={lo}", f"maxval={hi}"]
        return ", ".join(parts)


class Bernoulli(Rule):
    """``jax.random.bernoulli(key, p, shape)``: bool; ``p`` a float literal or array."""

    family = "random"
    alias = "random_bernoulli"

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return out.dtype == "bool"

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        return self.plan_for_depth(ch, out, limits, 2)

    def plan_for_depth(self, ch: Chooser, out: ArrayType, limits: Limits, depth: int) -> Plan:
        shape_names, shape = plan_shape(ch, out.shape, limits)
        p: Arg = Literal(ch.choice(("0.5", "0.9", "0.1", "0.0", "1.0")))
        if depth > 1 or ch.chance(40):
            dtype = ch.choice(("float16", "bfloat16", "float32"))
            p = ArrayType(dtype, out.shape if ch.chance(50) else ())
        return Plan([p, *shape_names], {"key": draw_key(ch), "shape": shape, "exprs": 1})

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        exprs, names = split_names(args, attrs)
        return f"{attrs['key']}, {exprs[0]}, {shape_text(attrs['shape'], names)}"


class Categorical(Rule):
    """``jax.random.categorical(key, logits[, axis=k])``: indices, logits' shape without k."""

    family = "random"
    alias = "random_categorical"

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return out.dtype == default_int(limits.x64) and out.rank < limits.max_rank

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        axis = ch.integer(0, out.rank) if ch.chance(50) else out.rank
        shape = out.shape[:axis] + (ch.integer(1, 5),) + out.shape[axis:]
        dtype = ch.choice(("float16", "bfloat16", "float32"))
        attrs: dict[str, Any] = {"key": draw_key(ch)}
        if axis != out.rank or ch.chance(30):
            attrs["axis"] = spell_axis(ch, axis, len(shape))
        return Plan([ArrayType(dtype, shape)], attrs)

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        axis = f", axis={attrs['axis']}" if "axis" in attrs else ""
        return f"{attrs['key']}, {args[0]}{axis}"


class RngUniform(Rule):
    """``lax.rng_uniform(a, b, shape)``: ``shape`` values of the bounds' dtype in ``[a, b)``
    (undefined where ``b <= a``) from XLA's stateful generator; the bounds are scalar
    expressions of the result dtype. Only where ``Limits.stateful`` allows. In the ``lax``
    family: in ``random`` (few rules, most of them nullary) it took 11% of default programs."""

    family = "lax"
    alias = "rng_uniform"

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return limits.stateful and out.dtype in RNG_UNIFORM_DTYPES

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        shape_names, shape = plan_shape(ch, out.shape, limits)
        bound = ArrayType(out.dtype, ())
        return Plan([bound, bound, *shape_names], {"shape": shape, "exprs": 2})

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        exprs, names = split_names(args, attrs)
        return f"{exprs[0]}, {exprs[1]}, {shape_text(attrs['shape'], names)}"


def random_rules() -> list[Rule]:
    rules: list[Rule] = [Sampler(a) for a in ("random_normal", "random_uniform", "random_gumbel")]
    rules += [Sampler("random_randint"), Bernoulli(), Categorical(), RngUniform()]
    return rules
