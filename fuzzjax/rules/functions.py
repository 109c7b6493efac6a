"""Typing rules of named local functions (loop bodies, branches) with array or tuple carries,
nested ``jax.jit``, ``lax.map`` and forward/reverse derivatives (``jvp``, ``vjp``, ``jacfwd``).

A ``Body`` with ``named`` set becomes a ``def`` statement before the return (``def body0(i0,
t0): return (t0[0] + ..., t0[1])``); the call names it. Such rules are ``top_level_only``: a
``def`` cannot see the parameters of an enclosing lambda. Tuple carries are BOUND names
``t0``.. read as ``t0[k]``; ``Body.returns`` lists the item types of a tuple return.
"""

from __future__ import annotations

from typing import Any

from fuzzjax.choices import Chooser
from fuzzjax.dtypes import ArrayType
from fuzzjax.rules.base import Body, Plan, Rule
from fuzzjax.rules.control import Control, grad_dtypes, small_type
from fuzzjax.rules.shapes import Limits

INT32 = ArrayType("int32", ())
Params = tuple[tuple[str, ArrayType, str | None], ...]


def _names(attrs: dict[str, Any], index: int) -> list[str]:
    return list(attrs["lambda_params"][index])


class Named(Control):
    """Base of the rules whose bodies are named local functions."""

    top_level_only = True


class ForiNamed(Named):
    """``lax.fori_loop(0, n, body0, init)`` with an array carry, or a tuple carry
    ``lax.fori_loop(0, n, body0, (a, b))[k]``."""

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        trips = ch.integer(1, 4)
        if self.alias == "fori_named":
            params: Params = (("i", INT32, None), ("c", out, ""))
            body = Body(out, params, counters=((0, ""),), named="body")
            return Plan([body, out], {"trips": trips})
        other = small_type(ch, limits, limits.max_rank)
        which = ch.integer(0, 1)
        items = (out, other) if which == 0 else (other, out)
        reads = ((1, items[0], "[0]"), (1, items[1], "[1]"))
        params = (("i", INT32, None), ("t", items[0], None))
        body = Body(items[0], params, counters=((0, ""),), named="body", reads=reads, returns=items)
        return Plan([body, *items], {"trips": trips, "which": which})

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        init = args[1] if self.alias == "fori_named" else f"({', '.join(args[1:])})"
        return f"0, {attrs['trips']}, {args[0]}, {init}"

    def suffix(self, attrs: dict[str, Any]) -> str:
        return f"[{attrs['which']}]" if self.alias == "fori_tuple" else ""


class WhileNamed(Named):
    """``lax.while_loop(lambda t0: t0[1] < n, body0, (init, 0))[0]``: the body function
    returns ``(<value>, t0[1] + 1)``, so it is at least one level deep."""

    min_depth = 2

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        body = Body(
            out,
            (("t", out, None),),
            counters=((0, "[1]"),),
            named="body",
            reads=((0, out, "[0]"),),
            returns=(out,),
            counter_item="[1]",
            min_depth=1,
        )
        return Plan([body, out], {"trips": ch.integer(1, 4)})

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        (t,) = _names(attrs, 0)
        return f"lambda {t}: {t}[1] < {attrs['trips']}, {args[0]}, ({args[1]}, 0)"

    def suffix(self, attrs: dict[str, Any]) -> str:
        return "[0]"


class ScanNamed(Named):
    """``lax.scan(step0, init, xs)[k]`` with ``def step0(c0, a0): return (carry, y)``; a tuple
    carry (``scan_tuple``: ``[0][k]``) or no ``xs`` (``scan_length``: ``None, length=n``)."""

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return limits.max_rank >= 1

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        ys = self.alias != "scan_tuple" and out.rank >= 1 and ch.chance(50)
        length = out.shape[0] if ys else ch.integer(1, 4)
        x = small_type(ch, limits, limits.max_rank - 1)
        xs = ArrayType(x.dtype, (length, *x.shape))
        a_read = None if self.alias == "scan_length" else ""
        if self.alias == "scan_tuple":
            other = small_type(ch, limits, limits.max_rank)
            which = ch.integer(0, 1)
            items = (out, other) if which == 0 else (other, out)
            y = small_type(ch, limits, limits.max_rank)
            reads = ((0, items[0], "[0]"), (0, items[1], "[1]"))
            params: Params = (("t", items[0], None), ("a", x, a_read))
            body = Body(items[0], params, named="step", reads=reads, returns=(*items, y), group=2)
            return Plan([body, *items, xs], {"which": which})
        carry = small_type(ch, limits, limits.max_rank) if ys else out
        y = ArrayType(out.dtype, out.shape[1:]) if ys else small_type(ch, limits, limits.max_rank)
        params = (("c", carry, ""), ("a", x, a_read))
        body = Body(carry, params, named="step", returns=(carry, y))
        args: list[Any] = [body, carry] if self.alias == "scan_length" else [body, carry, xs]
        return Plan(args, {"which": 1 if ys else 0, "length": length})

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        if self.alias == "scan_tuple":
            return f"{args[0]}, ({args[1]}, {args[2]}), {args[3]}"
        if self.alias == "scan_length":
            return f"{args[0]}, {args[1]}, None, length={attrs['length']}"
        return ", ".join(args)

    def suffix(self, attrs: dict[str, Any]) -> str:
        if self.alias == "scan_tuple":
            return f"[0][{attrs['which']}]"
        return f"[{attrs['which']}]"


class BranchesNamed(Named):
    """``lax.cond(p, branch0, branch1, x)`` and ``lax.switch(i, [branch0, ...], x)``."""

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        x = small_type(ch, limits, limits.max_rank)
        count = 2 if self.alias == "cond_named" else ch.integer(2, 3)
        branches = [Body(out, (("a", x, ""),), named="branch") for _ in range(count)]
        index = ArrayType("bool" if self.alias == "cond_named" else "int32", ())
        return Plan([index, *branches, x])

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        if self.alias == "cond_named":
            return ", ".join(args)
        return f"{args[0]}, [{', '.join(args[1:-1])}], {args[-1]}"


class Mapped(Control):
    """``jax.jit`` of a lambda or a named function, ``jax.vmap``/``lax.map`` of a named
    function or a lambda (the body maps slices of the leading axis)."""

    def __init__(self, alias: str) -> None:
        super().__init__(alias)
        self.top_level_only = alias.endswith("_named")

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return self.alias in ("jit", "jit_named") or out.rank >= 1

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        named = "fn" if self.alias.endswith("_named") else ""
        if self.alias in ("jit", "jit_named"):
            x = small_type(ch, limits, limits.max_rank)
            return Plan([Body(out, (("a", x, ""),), named=named), x])
        x = small_type(ch, limits, limits.max_rank - 1)
        body = Body(ArrayType(out.dtype, out.shape[1:]), (("a", x, ""),), named=named)
        return Plan([body, ArrayType(x.dtype, (out.shape[0], *x.shape))])

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        if self.alias.endswith("_named"):
            if self.alias == "lax_map_named":
                return f"{args[0]}, {args[1]}"
            return f"{args[0]})({args[1]}"
        (a,) = _names(attrs, 0)
        if self.alias == "lax_map":
            return f"lambda {a}: {args[0]}, {args[1]}"
        return f"lambda {a}: {args[0]})({args[1]}"


class Derivative(Control):
    """``jax.jvp(f, (x,), (t,))[0 | 1]``, ``jax.vjp(f, x)[1](ct)[0]``, ``jax.jacfwd(f)(x)``,
    ``jax.jacrev(f)(x)`` of a differentiable lambda over floats."""

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        if out.dtype not in grad_dtypes(limits):
            return False
        return out.rank <= 3 if self.alias in ("jacfwd", "jacrev") else True

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        if self.alias == "jvp":
            x = ArrayType(out.dtype, small_type(ch, limits, limits.max_rank).shape)
            body = Body(out, (("a", x, ""),), differentiable=True)
            return Plan([body, x, x], {"which": ch.integer(0, 1)})
        if self.alias == "vjp":
            y = ArrayType(out.dtype, small_type(ch, limits, limits.max_rank).shape)
            body = Body(y, (("a", out, ""),), differentiable=True)
            return Plan([body, out, y])
        split = ch.integer(max(0, out.rank - 1), out.rank)  # x has rank 0 or 1
        y, x = ArrayType(out.dtype, out.shape[:split]), ArrayType(out.dtype, out.shape[split:])
        return Plan([Body(y, (("a", x, ""),), differentiable=True), x])

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        (a,) = _names(attrs, 0)
        if self.alias == "jvp":
            return f"lambda {a}: {args[0]}, ({args[1]},), ({args[2]},)"
        if self.alias == "vjp":
            return f"lambda {a}: {args[0]}, {args[1]}"
        return f"lambda {a}: {args[0]})({args[1]}"

    def suffix(self, attrs: dict[str, Any]) -> str:
        if self.alias == "jvp":
            return f"[{attrs['which']}]"
        return ""


class Vjp(Derivative):
    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        (a,) = _names(attrs, 0)
        return f"lambda {a}: {args[0]}, {args[1]})[1]({args[2]}"

    def suffix(self, attrs: dict[str, Any]) -> str:
        return "[0]"


#: ``@jax.custom_jvp`` functions real code writes (numerically careful primals) with their
#: exact derivative rules, so a gradient through them means what the primal means.
CUSTOM_JVP: tuple[tuple[str, str], ...] = (
    ("jnp.log1p(jnp.exp({a}))", "{t} * jax.nn.sigmoid({a})"),
    ("jnp.sin({a})", "{t} * jnp.cos({a})"),
    ("{a} * {a}", "{t} * 2.0 * {a}"),
    ("jnp.exp({a})", "{t} * {y}"),
    ("jnp.tanh({a})", "{t} * (1.0 - {y} * {y})"),
    ("jnp.sqrt({a} * {a} + 1.0)", "{t} * {a} / {y}"),
)


class CustomJvp(Named):
    """``fn0(x)`` of ``@jax.custom_jvp def fn0(a0): ...`` with ``fn0.defjvps(...)``."""

    alias = "custom_call"

    def __init__(self) -> None:
        pass

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return out.dtype in grad_dtypes(limits)

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        fixed = ch.choice(CUSTOM_JVP)
        return Plan([Body(out, (("a", out, ""),), named="fn", fixed=fixed), out])

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        return args[1]

    def prefix_callee(self, attrs: dict[str, Any]) -> str | None:
        return str(attrs["function"])


def function_rules() -> list[Rule]:
    rules: list[Rule] = [
        ForiNamed("fori_named"),
        ForiNamed("fori_tuple"),
        WhileNamed("while_named"),
    ]
    rules += [ScanNamed(a) for a in ("scan_named", "scan_tuple", "scan_length")]
    rules += [BranchesNamed("cond_named"), BranchesNamed("switch_named")]
    rules += [Mapped(a) for a in ("jit", "jit_named", "vmap_named", "lax_map", "lax_map_named")]
    rules += [Derivative("jvp"), Vjp("vjp"), Derivative("jacfwd"), Derivative("jacrev")]
    rules.append(CustomJvp())
    return rules
