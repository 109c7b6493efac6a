"""Typing rules of control flow and transforms over generated lambda bodies.

Bodies are ``Body`` arguments: the generator names their parameters (``a0``, ``c0``, ``i0``),
puts them in scope as leaves, and records the names in ``attrs["lambda_params"]`` (one list per
``Body`` argument, in order) for rendering. Loops have literal trip counts, so they terminate.
"""

from __future__ import annotations

from typing import Any

from fuzzjax.choices import Chooser
from fuzzjax.dtypes import ArrayType, default_float, dtype_set
from fuzzjax.rules.base import Body, Plan, Rule
from fuzzjax.rules.shapes import Limits

GRAD_DTYPES = ("float16", "bfloat16", "float32")
GRAD_DTYPES_X64 = (*GRAD_DTYPES, "float64")

#: Operations without a (reverse-mode) derivative rule, kept out of grad bodies.
NOT_DIFFERENTIABLE = frozenset(
    {"while_loop", "while_named", "nextafter", "lax_nextafter", "jvp", "vjp", "jacfwd", "jacrev"}
    | {"composite"}  # lax.composite has no JVP rule (jax 0.10.2)
)


def small_type(ch: Chooser, limits: Limits, max_rank: int) -> ArrayType:
    """A random small array type for loop inputs and lambda arguments."""
    rank = ch.integer(0, max(0, min(2, max_rank)))
    dtype = ch.choice(dtype_set(limits.x64))
    return ArrayType(dtype, tuple(ch.integer(1, 5) for _ in range(rank)))


def grad_dtypes(limits: Limits) -> tuple[str, ...]:
    """Float dtypes that ``jax.grad`` differentiates with respect to."""
    return GRAD_DTYPES_X64 if limits.x64 else GRAD_DTYPES


class Control(Rule):
    family = "control_flow"

    def __init__(self, alias: str) -> None:
        self.alias = alias

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return True


def _names(attrs: dict[str, Any], index: int) -> list[str]:
    return list(attrs["lambda_params"][index])


class Cond(Control):
    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        if self.alias == "cond":
            return Plan([ArrayType("bool", ()), Body(out), Body(out)])
        branches = ch.integer(2, 3)
        return Plan([ArrayType("int32", ()), *[Body(out) for _ in range(branches)]])

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        branches = [f"lambda: {a}" for a in args[1:]]
        if self.alias == "cond":
            return f"{args[0]}, {', '.join(branches)}"
        return f"{args[0]}, [{', '.join(branches)}]"


class Loop(Control):
    """``lax.fori_loop`` and ``lax.while_loop`` with a literal trip count."""

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        trips = ch.integer(1, 4)
        if self.alias == "fori_loop":
            # The index is weakly typed in JAX: bodies read it through a cast (render.bound_text).
            params = (("i", ArrayType("int32", ()), None), ("c", out, ""))
            body = Body(out, params, counters=((0, ""),))
        else:
            body = Body(out, (("c", out, "[0]"),), counters=((0, "[1]"),))
        return Plan([body, out], {"trips": trips})

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        names, trips = _names(attrs, 0), attrs["trips"]
        if self.alias == "fori_loop":
            return f"0, {trips}, lambda {names[0]}, {names[1]}: {args[0]}, {args[1]}"
        c = names[0]
        return f"lambda {c}: {c}[1] < {trips}, lambda {c}: ({args[0]}, {c}[1] + 1), ({args[1]}, 0)"

    def suffix(self, attrs: dict[str, Any]) -> str:
        return "[0]" if self.alias == "while_loop" else ""


class Scan(Control):
    """``lax.scan(lambda c, a: (carry, y), init, xs)[0 | 1]``."""

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return limits.max_rank >= 1

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        x = small_type(ch, limits, limits.max_rank - 1)
        ys = out.rank >= 1 and ch.chance(50)
        length = out.shape[0] if ys else ch.integer(1, 4)
        xs = ArrayType(x.dtype, (length, *x.shape))
        if ys:
            carry = small_type(ch, limits, limits.max_rank)
            y = ArrayType(out.dtype, out.shape[1:])
            body = Body(y, (("c", carry, ""), ("a", x, "")))
            return Plan([body, carry, xs], {"which": 1})
        body = Body(out, (("c", out, ""), ("a", x, "")))
        return Plan([body, out, xs], {"which": 0})

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        c, a = _names(attrs, 0)
        pair = f"({args[0]}, {c})" if attrs["which"] == 0 else f"({c}, {args[0]})"
        return f"lambda {c}, {a}: {pair}, {args[1]}, {args[2]}"

    def suffix(self, attrs: dict[str, Any]) -> str:
        return f"[{attrs['which']}]"


class Transform(Control):
    """``jax.vmap``, ``jax.grad``, ``jax.value_and_grad``, ``jax.checkpoint`` of a lambda."""

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        if self.alias == "vmap":
            return out.rank >= 1
        if self.alias in ("grad", "value_and_grad"):
            return out.dtype in grad_dtypes(limits)
        return True

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        if self.alias == "vmap":
            x = small_type(ch, limits, limits.max_rank - 1)
            body = Body(ArrayType(out.dtype, out.shape[1:]), (("a", x, ""),))
            return Plan([body, ArrayType(x.dtype, (out.shape[0], *x.shape))])
        if self.alias == "checkpoint":
            x = small_type(ch, limits, limits.max_rank)
            return Plan([Body(out, (("a", x, ""),)), x])
        value = self.alias == "value_and_grad" and out.rank == 0 and ch.chance(50)
        if value:  # [0]: the value of a scalar loss at a random float argument
            x_dtype = ch.choice(grad_dtypes(limits))
            x = ArrayType(x_dtype, small_type(ch, limits, limits.max_rank).shape)
            return Plan([Body(out, (("a", x, ""),), differentiable=True), x], {"which": 0})
        loss = ArrayType(ch.choice((out.dtype, default_float(limits.x64))), ())
        return Plan([Body(loss, (("a", out, ""),), differentiable=True), out], {"which": 1})

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        (a,) = _names(attrs, 0)
        return f"lambda {a}: {args[0]})({args[1]}"

    def suffix(self, attrs: dict[str, Any]) -> str:
        return f"[{attrs['which']}]" if self.alias == "value_and_grad" else ""


def control_rules() -> list[Rule]:
    rules: list[Rule] = [Cond("cond"), Cond("switch"), Loop("fori_loop"), Loop("while_loop")]
    rules.append(Scan("scan"))
    rules += [Transform(a) for a in ("vmap", "grad", "value_and_grad", "checkpoint")]
    return rules
