"""Typing rules of lax primitives that lower to a StableHLO op of their own (issue 16).

Real code calls them, and each reaches an op kind nothing else in the grammar emits:

* ``lax.population_count`` / ``lax.clz`` (``popcnt``, ``count_leading_zeros``), strict
  elementwise rules in ``elementwise.py``;
* ``lax.reduce_precision`` (``reduce_precision``) of float32/float64 to the float16 or
  bfloat16 format, as mixed-precision code emulates them;
* ``lax.optimization_barrier`` (``optimization_barrier``);
* ``jnp.fft.fft``/``ifft``/``rfft``/``irfft`` along the last axis (``fft``);
* ``lax.composite`` of a named activation (``composite``);
* collectives inside ``jax.shard_map`` over a one-device mesh (``all_reduce``,
  ``collective_permute``, ``all_gather``, ``reduce_scatter``, ``partition_id``), as
  data-parallel training code averages gradients;
* the backward pass of a max-pooling layer, ``jax.vjp`` of a max ``reduce_window``
  (``select_and_scatter``);
* ``lax.with_sharding_constraint`` on the one-device mesh (``sdy.sharding_constraint``).
"""

from __future__ import annotations

from typing import Any

from fuzzjax.choices import Chooser
from fuzzjax.dtypes import ArrayType, dtype_set
from fuzzjax.rules.base import Plan, Rule, tuple_text
from fuzzjax.rules.control import Control, grad_dtypes
from fuzzjax.rules.shapes import Limits

#: (exponent_bits, mantissa_bits) of the formats ``reduce_precision`` emulates.
PRECISIONS = ((5, 10), (8, 7))


def _wide_floats(limits: Limits) -> tuple[str, ...]:
    return ("float32", "float64") if limits.x64 else ("float32",)


class ReducePrecision(Rule):
    """``lax.reduce_precision(x, exponent_bits=E, mantissa_bits=M)`` of float32/float64."""

    alias, family = "reduce_precision", "lax"

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return out.dtype in _wide_floats(limits)

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        return Plan([out], {"bits": ch.choice(PRECISIONS)})

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        e, m = attrs["bits"]
        return f"{args[0]}, exponent_bits={e}, mantissa_bits={m}"


class Barrier(Rule):
    """``lax.optimization_barrier(x)``: the identity XLA may not move work across."""

    alias, family = "optimization_barrier", "lax"

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return True

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        return Plan([out])


class Fourier(Rule):
    """``jnp.fft.fft``/``ifft`` (complex, same shape), ``rfft`` (real in, last axis
    n // 2 + 1 out), ``irfft`` (real out of even length 2 (m - 1)) along the last axis."""

    family = "fft"

    def __init__(self, alias: str) -> None:
        self.alias = alias

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        if out.rank == 0:
            return False
        if self.alias == "irfft":
            return out.dtype in _wide_floats(limits) and out.shape[-1] % 2 == 0
        return out.dtype in (("complex64", "complex128") if limits.x64 else ("complex64",))

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        *batch, last = out.shape
        wide = out.dtype in ("complex128", "float64")
        if self.alias == "rfft":
            n = 2 * (last - 1) if last > 1 and ch.chance(50) else 2 * last - 1
            return Plan([ArrayType("float64" if wide else "float32", (*batch, n))])
        if self.alias == "irfft":
            source = ch.choice(("complex128", "float64") if wide else ("complex64", "float32"))
            return Plan([ArrayType(source, (*batch, last // 2 + 1))])
        sources = FFT_WIDE if wide else tuple(d for d in dtype_set(False) if d != "bool")
        return Plan([ArrayType(ch.choice(sources) if ch.chance(40) else out.dtype, out.shape)])


#: Dtypes jnp.fft transforms in complex128 (x64 mode); the others go to complex64.
FFT_WIDE = ("int64", "float64", "complex128")


class Composite(Rule):
    """``lax.composite(jax.nn.silu, name="fuzzjax.activation")(x)`` of a float array: a named
    activation (a decomposition may not close over traced values, so no generated lambda)."""

    alias, family = "composite", "control_flow"

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return out.dtype in ("float16", "bfloat16", "float32", "float64")

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        fn, name = ch.choice(COMPOSITES)
        return Plan([out], {"fn": fn, "name": name})

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        return f'{attrs["fn"]}, name="fuzzjax.{attrs["name"]}")({args[0]}'


#: (function, composite name) pairs; the reference computes them as the elementwise alias
#: named after the function (``fuzzjax.fuzzing.reference.lowlevel``).
COMPOSITES = (
    ("jnp.tanh", "tanh"),
    ("jnp.sin", "sin"),
    ("jax.nn.relu", "relu"),
    ("jax.nn.sigmoid", "sigmoid"),
    ("jax.nn.silu", "silu"),
)
MESH = 'jax.make_mesh((1,), ("i",), axis_types=(jax.sharding.AxisType.Auto,))'
ONE_DEVICE = f"mesh={MESH}, in_specs=jax.P(), out_specs=jax.P()"


class Sharded(Control):
    """A collective over the axis ``"i"`` of a one-device mesh, in ``jax.shard_map``:
    ``shard_reduce`` (psum/pmean/pmax/pmin), ``shard_ppermute``, ``shard_tiled``
    (all_gather/psum_scatter, tiled), ``shard_first`` (the body where ``axis_index == 0``).
    The collective reads the lambda's own parameter only: a value closed over from outside the
    shard_map is not per-device, and ``all_gather`` of one fails the StableHLO verifier. Only
    outside lambda bodies: a shard_map inside another one's body needs the inner mesh to be
    the outer (manual) one."""

    top_level_only = True

    def collectives(self, out: ArrayType) -> tuple[str, ...]:
        numeric = out.dtype != "bool"
        real = numeric and not out.dtype.startswith("complex")
        inexact = out.dtype.startswith(("float", "bfloat", "complex"))
        if self.alias == "shard_reduce":
            found: tuple[str, ...] = ("lax.psum",) if numeric else ()
            found += ("lax.pmean",) if inexact else ()
            return found + (("lax.pmax", "lax.pmin") if real else ())
        if self.alias == "shard_tiled":
            # A zero-size leading axis passes JAX's shape rules but fails the StableHLO
            # verifier when lowered (jax 0.10.2: "dimension size of operand at
            # 'all_gather_dim' cannot be zero"), so the tiled axis is never empty.
            if out.rank == 0 or out.shape[0] == 0:
                return ()
            return ("lax.all_gather", "lax.psum_scatter") if numeric else ("lax.all_gather",)
        if self.alias == "shard_first":
            return ("",) if numeric else ()
        return ("",)

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return bool(self.collectives(out))

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        return Plan([out], {"collective": ch.choice(self.collectives(out))})

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        a, body, collective = "a0", "a0", attrs["collective"]
        if self.alias == "shard_reduce":
            return f'lambda {a}: {collective}({body}, "i"), {ONE_DEVICE})({args[0]}'
        if self.alias == "shard_ppermute":
            inner = f'lax.ppermute({body}, "i", perm=[(0, 0)])'
        elif self.alias == "shard_tiled":
            inner = f'{collective}({body}, "i", tiled=True)'
        else:
            inner = f'jnp.where(lax.axis_index("i") == 0, {body}, 0)'
        return f"lambda {a}: {inner}, {ONE_DEVICE}, check_vma=False)({args[0]}"


class MaxPoolVjp(Rule):
    """``jax.vjp(lambda a0: jax.lax.reduce_window(a0, -jnp.inf, jax.lax.max, W, S, P),
    x)[1](g)[0]``: the cotangent ``g`` of the pooled array sent back to the maximum of each
    window of ``x`` (a max-pooling layer's backward pass). ``x`` has the result's type; ``g``
    the pooled shape (VALID: ``(d - w) // s + 1``, SAME: ``ceil(d / s)``) and dtype."""

    alias, family = "max_pool_vjp", "control_flow"

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return out.rank >= 1 and out.dtype in grad_dtypes(limits)

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        padding = ch.choice(("VALID", "SAME"))
        window = tuple(ch.integer(1, max(1, min(3, d))) for d in out.shape)
        strides = tuple(ch.integer(1, 2) for _ in out.shape)
        pooled = tuple(
            (d - w) // s + 1 if padding == "VALID" else -(-d // s)
            for d, w, s in zip(out.shape, window, strides, strict=True)
        )
        attrs = {"window": window, "strides": strides, "padding": padding}
        return Plan([out, ArrayType(out.dtype, pooled)], attrs)

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        pool = (
            f"jax.lax.reduce_window(a0, -jnp.inf, jax.lax.max, {tuple_text(attrs['window'])}, "
            f'{tuple_text(attrs["strides"])}, "{attrs["padding"]}")'
        )
        return f"lambda a0: {pool}, {args[0]})[1]({args[1]}"

    def suffix(self, attrs: dict[str, Any]) -> str:
        return "[0]"


class ShardingConstraint(Rule):
    """``lax.with_sharding_constraint(x, jax.sharding.NamedSharding(<one-device mesh>,
    jax.P()))``: the identity, annotated (``sdy.sharding_constraint``)."""

    alias, family = "sharding_constraint", "lax"

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return True

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        return Plan([out])

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        return f"{args[0]}, jax.sharding.NamedSharding({MESH}, jax.P())"


def lowlevel_rules() -> list[Rule]:
    rules: list[Rule] = [ReducePrecision(), Barrier(), MaxPoolVjp(), ShardingConstraint()]
    rules += [Fourier(a) for a in ("fft", "ifft", "rfft", "irfft")]
    rules.append(Composite())
    rules += [Sharded(a) for a in ("shard_reduce", "shard_ppermute", "shard_tiled", "shard_first")]
    return rules
