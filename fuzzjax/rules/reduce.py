"""Typing rules of reductions, cumulative scans, sorting and softmax-style axis functions."""

from __future__ import annotations

from functools import cache
from typing import Any

from fuzzjax.choices import Chooser
from fuzzjax.dtypes import ArrayType, dtype_set, is_bool, is_complex, is_inexact
from fuzzjax.rules import promotion as dr
from fuzzjax.rules.base import (
    OneArgAxis,
    Plan,
    Rule,
    bounded_dim,
    draw_signature,
    dtype_text,
    spell_axis,
)
from fuzzjax.rules.shapes import Limits

Table = dict[str, tuple[tuple[str, ...], ...]]


class Reduction(Rule):
    """``jnp.<op>(x, axis=k|None, keepdims=b)``; ``allow_all=False`` forbids ``axis=None``."""

    family = "reduction"

    def __init__(self, alias: str, dtype_fn: dr.DtypeFn, allow_all: bool = True) -> None:
        self.alias, self.dtype_fn, self.allow_all = alias, dtype_fn, allow_all

    def table(self, x64: bool) -> Table:
        return dr.signatures(self.dtype_fn, 1, x64)

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        if out.dtype not in self.table(limits.x64):
            return False
        return out.rank < limits.max_rank or 1 in out.shape or (self.allow_all and out.rank == 0)

    def in_dtype(self, ch: Chooser, out: ArrayType, x64: bool) -> str:
        return draw_signature(ch, self.table(x64)[out.dtype])[0]

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        in_dtype = self.in_dtype(ch, out, limits.x64)
        modes = []
        if out.rank < limits.max_rank:
            modes.append("drop")
        if 1 in out.shape:
            modes.append("keep")
        if self.allow_all and (out.rank == 0 or all(d == 1 for d in out.shape)):
            modes.append("all")
        mode = ch.choice(modes)
        if mode == "all":
            keep = out.rank > 0
            shape = _any_shape(ch, limits, out.rank if keep else None)
            return Plan([ArrayType(in_dtype, shape)], {"axis": None, "keepdims": keep})
        if mode == "drop":
            axis = ch.integer(0, out.rank)
            shape = out.shape[:axis] + (bounded_dim(ch, out, limits),) + out.shape[axis:]
        else:
            axis = ch.choice([i for i, d in enumerate(out.shape) if d == 1])
            shape = out.shape[:axis] + (bounded_dim(ch, out, limits),) + out.shape[axis + 1 :]
        axis_text = spell_axis(ch, axis, len(shape))
        return Plan([ArrayType(in_dtype, shape)], {"axis": axis_text, "keepdims": mode == "keep"})

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        return f"{args[0]}, axis={attrs['axis']}, keepdims={attrs['keepdims']}"


def _any_shape(ch: Chooser, limits: Limits, rank: int | None = None) -> tuple[int, ...]:
    shape: tuple[int, ...] = ()
    if rank is None:
        rank = ch.integer(1, max(1, min(4, limits.max_rank)))
    for _ in range(rank):
        shape += (bounded_dim(ch, ArrayType("bool", shape), limits),)
    return shape


def _explicit_dtype_inputs(out: str, mean: bool, x64: bool) -> tuple[str, ...]:
    if is_bool(out) or (mean and not is_inexact(out)):
        return ()
    return tuple(d for d in dtype_set(x64) if is_complex(out) or not is_complex(d))


@cache
def _explicit_dtype_table(mean: bool, x64: bool) -> Table:
    """Result dtype ``D`` of ``op(x, dtype=D)`` -> the input dtypes ``x`` may have (cached:
    every ``can_produce`` asks; callers only read it)."""
    table = {d: tuple((x,) for x in _explicit_dtype_inputs(d, mean, x64)) for d in dtype_set(x64)}
    return {d: rows for d, rows in table.items() if rows}


class ReductionWithDtype(Reduction):
    """``jnp.sum(x, axis=..., keepdims=..., dtype=D)``: the result dtype is ``D``."""

    def __init__(self, alias: str, mean: bool = False) -> None:
        super().__init__(alias, dr.any_promoted)
        self.mean = mean

    def table(self, x64: bool) -> Table:
        return _explicit_dtype_table(self.mean, x64)

    def in_dtype(self, ch: Chooser, out: ArrayType, x64: bool) -> str:
        return ch.choice(self.table(x64)[out.dtype])[0]

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        plan = super().plan(ch, out, limits)
        plan.attrs["dtype"] = out.dtype
        return plan

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        return f"{super().call_args(args, attrs)}, dtype={dtype_text(attrs['dtype'])}"


class SameShapeAxis(OneArgAxis):
    """Same shape in and out along a drawn axis: cumsum, sort, softmax, ..."""

    def __init__(
        self,
        alias: str,
        family: str,
        dtype_fn: dr.DtypeFn,
        min_rank: int = 1,
        nonnegative_axis: bool = False,
    ) -> None:
        self.alias, self.family, self.dtype_fn = alias, family, dtype_fn
        self.min_rank, self.nonnegative_axis = min_rank, nonnegative_axis

    def table(self, x64: bool) -> Table:
        return dr.signatures(self.dtype_fn, 1, x64)

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return out.rank >= self.min_rank and out.dtype in self.table(limits.x64)

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        (dtype,) = draw_signature(ch, self.table(limits.x64)[out.dtype])
        axis = ch.integer(0, out.rank - 1)
        text = axis if self.nonnegative_axis else spell_axis(ch, axis, out.rank)
        return Plan([ArrayType(dtype, out.shape)], {"axis": text})


class CumsumWithDtype(SameShapeAxis):
    def __init__(self, alias: str) -> None:
        super().__init__(alias, "reduction", dr.any_promoted)

    def table(self, x64: bool) -> Table:
        return _explicit_dtype_table(False, x64)

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        plan = super().plan(ch, out, limits)
        plan.args = [ArrayType(ch.choice(self.table(limits.x64)[out.dtype])[0], out.shape)]
        plan.attrs["dtype"] = out.dtype
        return plan

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        return f"{args[0]}, axis={attrs['axis']}, dtype={dtype_text(attrs['dtype'])}"


class Diff(SameShapeAxis):
    """``jnp.diff(x, axis=k)``: one element shorter along ``k``."""

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        plan = super().plan(ch, out, limits)
        axis = plan.attrs["axis"] % out.rank
        shape = list(out.shape)
        shape[axis] += 1
        plan.args = [ArrayType(plan.args[0].dtype, tuple(shape))]  # type: ignore[union-attr]
        return plan


class TopK(Rule):
    """``lax.top_k(x, k)[0]`` (values) or ``[1]`` (int32 indices, in x64 mode too) along the
    last axis."""

    family = "sort"
    alias = "top_k"

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return (
            out.rank >= 1
            and out.shape[-1] >= 1
            and (out.dtype == "int32" or dr.real_non_bool(out.dtype) == out.dtype)
        )

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        which = 0 if dr.real_non_bool(out.dtype) == out.dtype else 1
        if out.dtype == "int32" and ch.chance(50):
            which = 1
        in_dtype = out.dtype
        if which == 1:
            in_dtype = ch.choice([d for d in dtype_set(limits.x64) if dr.real_non_bool(d) == d])
        n = out.shape[-1] + ch.integer(0, 3)
        shape = out.shape[:-1] + (n,)
        return Plan([ArrayType(in_dtype, shape)], {"k": out.shape[-1], "which": which})

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        return f"{args[0]}, {attrs['k']}"

    def suffix(self, attrs: dict[str, Any]) -> str:
        return f"[{attrs['which']}]"


def reduction_rules() -> list[Rule]:
    fns: dict[str, dr.DtypeFn] = {
        "sum": dr.sum_like, "prod": dr.sum_like, "mean": dr.mean_like, "max": dr.ordered,
        "min": dr.ordered, "any": dr.to_bool, "all": dr.to_bool, "var": dr.var_like,
        "std": dr.var_like, "argmax": dr.arg_reduce, "argmin": dr.arg_reduce,
        "nansum": dr.sum_like, "nanprod": dr.sum_like, "nanmean": dr.mean_like,
        "nanmax": dr.ordered, "nanmin": dr.ordered, "nanvar": dr.var_like,
        "nanstd": dr.var_like, "nanargmax": dr.arg_reduce, "nanargmin": dr.arg_reduce,
        "count_nonzero": dr.count, "ptp": dr.real_non_bool, "amax": dr.ordered,
        "amin": dr.ordered, "median": dr.to_real_inexact, "average": dr.mean_like,
        "logsumexp": dr.to_real_inexact,
    }  # fmt: skip
    rules: list[Rule] = [Reduction(alias, fn) for alias, fn in fns.items()]
    rules.append(Reduction("norm", dr.var_like, allow_all=False))
    rules += [ReductionWithDtype("sum_dtype"), ReductionWithDtype("prod_dtype")]
    rules.append(ReductionWithDtype("mean_dtype", mean=True))
    scans: dict[str, dr.DtypeFn] = {
        "cumsum": dr.cumulative,
        "cumprod": dr.cumulative,
        "nancumsum": dr.cumulative,
        "nancumprod": dr.cumulative,
    }
    rules += [SameShapeAxis(a, "reduction", fn) for a, fn in scans.items()]
    rules.append(CumsumWithDtype("cumsum_dtype"))
    rules.append(SameShapeAxis("lax_cummax", "lax", dr.real_non_bool, nonnegative_axis=True))
    rules.append(Diff("diff", "reduction", dr.any_promoted))
    rules.append(SameShapeAxis("sort", "sort", dr.ordered))
    rules.append(SameShapeAxis("argsort", "sort", dr.arg_reduce))
    rules.append(TopK())
    rules.append(SameShapeAxis("softmax", "nn", dr.float_only))
    rules.append(SameShapeAxis("log_softmax", "nn", dr.float_only))
    return rules
