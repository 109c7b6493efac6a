"""Typing rules of array methods and properties (``x.sum(axis=0)``, ``x.T``, ``x.reshape(-1)``)
and of keyword-argument variants real code uses (``where=``, ``initial=``, ``ord=``).

A method is another spelling of an operation the table already has: ``Method`` takes the
typing of that rule (``base``) and renders ``receiver.name(args)`` instead of
``jnp.name(receiver, args)``. The NumPy reference evaluates it with the base's meaning.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fuzzjax.choices import Chooser
from fuzzjax.dtypes import KIND, ArrayType
from fuzzjax.rules import promotion as dr
from fuzzjax.rules.base import LITERALS, Plan, Rule, kind, spell_axis
from fuzzjax.rules.reduce import Reduction
from fuzzjax.rules.shapes import Limits, broadcast_operands, factor_shape
from fuzzjax.rules.static import plan_shape, shape_text

Text = Callable[[list[str], dict[str, Any]], str]


class Method(Rule):
    """``receiver<suffix>``: typing from ``base``; ``text(rest, attrs)`` renders the suffix
    from the rendered non-receiver arguments."""

    def __init__(self, alias: str, base: Rule, text: Text) -> None:
        self.alias, self.base, self.text = alias, base, text
        self.family = base.family

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return self.base.can_produce(out, limits)

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        return self.base.plan(ch, out, limits)

    def method_text(self, syntax: Any, args: list[str], attrs: dict[str, Any]) -> str:
        return self.text(args[1:], attrs)


def _reduce_text(name: str) -> Text:
    def text(rest: list[str], attrs: dict[str, Any]) -> str:
        axis, keep = attrs["axis"], attrs["keepdims"]
        if keep:
            return f".{name}(axis={axis}, keepdims=True)"
        return f".{name}()" if axis is None else f".{name}(axis={axis})"

    return text


def _fixed(suffix: str) -> Text:
    return lambda rest, attrs: suffix


class Transposed(Rule):
    """``x.T`` (all axes reversed) and ``x.mT`` (the last two swapped)."""

    family = "shape"

    def __init__(self, alias: str) -> None:
        self.alias = alias

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return out.rank >= 2 if self.alias == "m_mt" else True

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        if self.alias == "m_t":
            return Plan([ArrayType(out.dtype, out.shape[::-1])])
        *batch, a, b = out.shape
        return Plan([ArrayType(out.dtype, (*batch, b, a))])

    def method_text(self, syntax: Any, args: list[str], attrs: dict[str, Any]) -> str:
        return ".T" if self.alias == "m_t" else ".mT"


class MethodReshape(Rule):
    """``x.reshape(shape)`` (a tuple, or another array's shape) or ``x.reshape(n, -1)``."""

    family = "shape"

    def __init__(self, alias: str) -> None:
        self.alias = alias

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return self.alias == "m_reshape" or out.rank >= 1

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        operand = ArrayType(out.dtype, factor_shape(ch, out.size, limits))
        if self.alias == "m_reshape":
            names, spec = plan_shape(ch, out.shape, limits, tuple_percent=60)
            return Plan([operand, *names], {"shape": spec})
        dims = [str(d) for d in out.shape]
        if out.size > 0 and ch.chance(60):
            dims[ch.integer(0, out.rank - 1)] = "-1"
        return Plan([operand], {"dims": dims})

    def method_text(self, syntax: Any, args: list[str], attrs: dict[str, Any]) -> str:
        if self.alias == "m_reshape":
            return f".reshape({shape_text(attrs['shape'], iter(args[1:]))})"
        return f".reshape({', '.join(attrs['dims'])})"


class MethodTranspose(Rule):
    """``x.transpose()`` (reversed) or ``x.transpose(2, 0, 1)``."""

    family = "shape"
    alias = "m_transpose"

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return True

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        if out.rank < 2 or ch.chance(40):
            return Plan([ArrayType(out.dtype, out.shape[::-1])], {"axes": ()})
        remaining = list(range(out.rank))
        perm = [remaining.pop(ch.integer(0, len(remaining) - 1)) for _ in range(out.rank)]
        operand = [0] * out.rank
        for i, p in enumerate(perm):
            operand[p] = out.shape[i]
        return Plan([ArrayType(out.dtype, tuple(operand))], {"axes": tuple(perm)})

    def method_text(self, syntax: Any, args: list[str], attrs: dict[str, Any]) -> str:
        return f".transpose({', '.join(map(str, attrs['axes']))})"


class ReductionWhere(Reduction):
    """``jnp.sum(x, axis=k, keepdims=b, where=mask)``: only where ``mask`` holds."""

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        plan = super().plan(ch, out, limits)
        x = plan.args[0]
        assert isinstance(x, ArrayType)
        (mask,) = broadcast_operands(ch, x.shape, 1)
        return Plan([x, ArrayType("bool", mask)], plan.attrs)

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        return f"{super().call_args(args, attrs)}, where={args[1]}"


class ReductionInitial(Reduction):
    """``jnp.max(x, axis=k, keepdims=b, initial=c)``: also defined on empty axes."""

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return KIND[out.dtype] in "iuf" and super().can_produce(out, limits)

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        plan = super().plan(ch, out, limits)
        plan.attrs["initial"] = ch.choice(LITERALS[kind(out.dtype)])
        return plan

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        return f"{super().call_args(args, attrs)}, initial={attrs['initial']}"


class NormOrd(Rule):
    """``jnp.linalg.norm(x, ord=1 | 2 | jnp.inf, axis=k)``: a vector norm along one axis."""

    family = "reduction"
    alias = "norm_ord"

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return out.rank < limits.max_rank and out.dtype in dr.signatures(dr.var_like, 1, limits.x64)

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        (dtype,) = ch.choice(dr.signatures(dr.var_like, 1, limits.x64)[out.dtype])
        axis = ch.integer(0, out.rank)
        shape = out.shape[:axis] + (ch.integer(1, 5),) + out.shape[axis:]
        attrs = {"ord": ch.choice(("1", "2", "jnp.inf")), "axis": spell_axis(ch, axis, len(shape))}
        return Plan([ArrayType(dtype, shape)], attrs)

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        return f"{args[0]}, ord={attrs['ord']}, axis={attrs['axis']}"


def method_rules(table: dict[str, Rule]) -> list[Rule]:
    """Methods, keyword variants and properties; ``table``: the rules they re-spell."""
    rules: list[Rule] = [Transposed("m_t"), Transposed("m_mt")]
    rules += [MethodReshape("m_reshape"), MethodReshape("m_reshape_ints"), MethodTranspose()]
    rules.append(Method("m_real", table["real"], _fixed(".real")))
    rules.append(Method("m_imag", table["imag"], _fixed(".imag")))
    rules.append(Method("m_conj", table["conj"], _fixed(".conj()")))
    rules.append(Method("m_copy", _Copy(), _fixed(".copy()")))
    rules.append(Method("m_ravel", table["ravel"], _fixed(".ravel()")))
    rules.append(Method("m_flatten", table["ravel"], _fixed(".flatten()")))
    rules.append(Method("m_squeeze", table["squeeze"], lambda r, a: f".squeeze({a['axis']})"))
    rules.append(
        Method("m_swapaxes", table["swapaxes"], lambda r, a: ".swapaxes({}, {})".format(*a["axes"]))
    )
    for name in ("sum", "mean", "prod", "max", "min", "any", "all", "std", "var", "argmax"):
        rules.append(Method(f"m_{name}", table[name], _reduce_text(name)))
    rules.append(Method("m_argmin", table["argmin"], _reduce_text("argmin")))
    rules.append(Method("m_cumsum", table["cumsum"], lambda r, a: f".cumsum(axis={a['axis']})"))
    rules.append(Method("m_sort", table["sort"], lambda r, a: f".sort(axis={a['axis']})"))
    rules.append(Method("m_clip", table["clip"], lambda r, a: f".clip(min={r[0]}, max={r[1]})"))
    rules.append(Method("m_take", table["take"], lambda r, a: f".take({r[0]}, axis={a['axis']})"))
    rules.append(
        Method("m_repeat", table["repeat"], lambda r, a: f".repeat({a['r']}, axis={a['axis']})")
    )
    rules.append(Method("m_dot", table["dot"], lambda r, a: f".dot({r[0]})"))
    rules.append(Method("m_trace", table["trace"], _fixed(".trace()")))
    rules += [ReductionWhere("sum_where", dr.sum_like), ReductionWhere("mean_where", dr.mean_like)]
    rules += [
        ReductionInitial("max_initial", dr.ordered),
        ReductionInitial("min_initial", dr.ordered),
    ]
    rules += [NormOrd(), Reduction("sp_logsumexp", dr.to_real_inexact)]
    return rules


class _Copy(Rule):
    """``x.copy()``: same type."""

    family = "shape"

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return True

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        return Plan([out])
