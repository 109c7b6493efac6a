"""Typing rules of ``lax.dot_general`` (batch and contracting dimensions, optional
``preferred_element_type``), ``lax.conv_general_dilated`` with dilations and feature groups, and
jnp/scipy array functions real code uses (``split``, ``diag``, ``diagonal``, ``hstack``,
``vstack``, ``append``, ``percentile``, ``quantile``, triangular and Cholesky solves)."""

from __future__ import annotations

from typing import Any

from fuzzjax.choices import Chooser
from fuzzjax.dtypes import KIND, ArrayType, dtype_set, is_float, promote_all
from fuzzjax.rules import promotion as dr
from fuzzjax.rules.base import Plan, Rule, spell_axis, tuple_text
from fuzzjax.rules.linalg import LAPACK_DTYPES, LAPACK_DTYPES_X64
from fuzzjax.rules.shapes import Limits
from fuzzjax.rules.static import dtype_arg_text, plan_dtype, split_names


class DotGeneral(Rule):
    """``lax.dot_general(a, b, (((ca..), (cb..)), ((ba..), (bb..))))``: result axes are the
    batch axes, then a's free axes, then b's, in operand order; one dtype (strict)."""

    family = "lax"

    def __init__(self, alias: str) -> None:
        self.alias = alias

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return out.dtype in self.table(limits.x64)

    def table(self, x64: bool) -> dict[str, tuple[str, ...]]:
        """Result dtype -> operand dtypes (equal to it, or narrower of one kind with
        ``preferred_element_type``)."""
        table: dict[str, tuple[str, ...]] = {}
        for out in dtype_set(x64):
            if KIND[out] == "b":
                continue
            if self.alias == "dot_general":
                table[out] = (out,)
            else:
                same_kind = [d for d in dtype_set(x64) if KIND[d] == KIND[out]]
                table[out] = tuple(d for d in same_kind if promote_all(d, out, x64=x64) == out)
        return table

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        dtype = ch.choice(self.table(limits.x64)[out.dtype])
        batch = ch.integer(0, min(2, out.rank))
        rest = out.rank - batch
        split = ch.integer(0, rest)
        free_a, free_b = split, rest - split
        room = limits.max_rank - batch - max(free_a, free_b)
        contract = [ch.choice((0, 1, 2, 3, 4, 2, 3)) for _ in range(ch.integer(0, min(2, room)))]
        a_kinds = self._layout(ch, batch, free_a, len(contract))
        b_kinds = self._layout(ch, batch, free_b, len(contract))
        a_free = out.shape[batch : batch + free_a]
        b_free = out.shape[batch + free_a :]
        a_shape = self._shape(a_kinds, out.shape[:batch], a_free, contract)
        b_shape = self._shape(b_kinds, out.shape[:batch], b_free, contract)
        numbers = (
            (self._where(a_kinds, "c"), self._where(b_kinds, "c")),
            (self._where(a_kinds, "b"), self._where(b_kinds, "b")),
        )
        args: list[Any] = [ArrayType(dtype, a_shape), ArrayType(dtype, b_shape)]
        attrs: dict[str, Any] = {"numbers": numbers, "exprs": 2}
        if self.alias == "dot_general_pet":
            names, attrs["dtype"] = plan_dtype(ch, out.dtype, limits)
            args += names
        return Plan(args, attrs)

    @staticmethod
    def _layout(ch: Chooser, batch: int, free: int, contract: int) -> list[str]:
        kinds = ["b"] * batch + ["f"] * free + ["c"] * contract
        for i in range(len(kinds) - 1, 0, -1):
            j = ch.integer(0, i)
            kinds[i], kinds[j] = kinds[j], kinds[i]
        return kinds

    @staticmethod
    def _shape(kinds: list[str], batch: Any, free: Any, contract: list[int]) -> tuple[int, ...]:
        sizes = {"b": iter(batch), "f": iter(free), "c": iter(contract)}
        return tuple(next(sizes[k]) for k in kinds)

    @staticmethod
    def _where(kinds: list[str], kind: str) -> tuple[int, ...]:
        return tuple(i for i, k in enumerate(kinds) if k == kind)

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        exprs, names = split_names(args, attrs)
        (ca, cb), (ba, bb) = attrs["numbers"]
        dims = f"(({tuple_text(ca)}, {tuple_text(cb)}), ({tuple_text(ba)}, {tuple_text(bb)}))"
        text = f"{exprs[0]}, {exprs[1]}, {dims}"
        if attrs.get("dtype"):
            text += f", preferred_element_type={dtype_arg_text(attrs['dtype'], names)}"
        return text


class ConvDilated(Rule):
    """``lax.conv_general_dilated`` (NC(H)(W) layout) with strides, lhs and rhs dilation and
    ``feature_group_count``; padding ``"VALID"``/``"SAME"``, or explicit ``((lo, hi), ..)``
    pairs (JAX takes only those with an lhs dilation)."""

    family = "linalg"
    alias = "conv_dilated"

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        spatial_ok = out.rank in (3, 4) and min(out.shape[2:]) >= 1
        return is_float(out.dtype) and spatial_ok and out.rank <= limits.max_rank

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        groups = ch.choice([g for g in (1, 2, 3) if out.shape[1] % g == 0])
        per_group = ch.integer(1, 2)
        padding = ch.choice(("VALID", "SAME", "pairs"))
        strides, lhs_d, rhs_d, kernel, spatial, pairs = [], [], [], [], [], []
        for n in out.shape[2:]:
            s, rd, k = ch.integer(1, 2), ch.integer(1, 2), ch.integer(1, 3)
            reach = (k - 1) * rd + 1
            lo = hi = 0
            if padding == "pairs":
                lo, hi = ch.integer(0, 1), ch.integer(0, 1)
            if (n - 1) * s + reach - lo - hi < 1:
                lo = hi = 0
            low = (n - 1) * s + reach - lo - hi  # dilated input sizes giving n
            high = low + s - 1
            if padding == "SAME":
                low, high = (n - 1) * s + 1, n * s
            ld = ch.integer(1, 2) if padding == "pairs" else 1
            size = -(-(low - 1) // ld) + 1  # smallest L with (L - 1) * ld + 1 >= low
            if (size - 1) * ld + 1 > high:
                ld, size = 1, low
            strides.append(s)
            lhs_d.append(ld)
            rhs_d.append(rd)
            kernel.append(k)
            spatial.append(size)
            pairs.append((lo, hi))
        attrs: dict[str, Any] = {"groups": groups, "padding": padding, "pairs": pairs}
        attrs.update(strides=tuple(strides), lhs=tuple(lhs_d), rhs=tuple(rhs_d))
        lhs = (out.shape[0], groups * per_group, *spatial)
        rhs = (out.shape[1], per_group, *kernel)
        return Plan([ArrayType(out.dtype, lhs), ArrayType(out.dtype, rhs)], attrs)

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        if attrs["padding"] == "pairs":
            pads = ", ".join(tuple_text(p) for p in attrs["pairs"])
            padding = f"({pads}{',' if len(attrs['pairs']) == 1 else ''})"
        else:
            padding = f'"{attrs["padding"]}"'
        return (
            f"{args[0]}, {args[1]}, window_strides={tuple_text(attrs['strides'])}, "
            f"padding={padding}, lhs_dilation={tuple_text(attrs['lhs'])}, "
            f"rhs_dilation={tuple_text(attrs['rhs'])}, feature_group_count={attrs['groups']}"
        )


class ArrayFunction(Rule):
    """Shape functions: ``split``, ``diag``, ``diagonal``, ``hstack``, ``vstack``, ``append``."""

    family = "shape"

    def __init__(self, alias: str) -> None:
        self.alias = alias

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        a, r, s = self.alias, out.rank, out.shape
        if a == "split":
            return r >= 1
        if a == "diag":
            return (r == 2 and s[0] == s[1]) or r == 1
        if a == "diagonal":
            return 1 <= r < limits.max_rank
        if a == "hstack":
            return r >= 1 and s[min(1, r - 1)] >= 2
        if a == "vstack":
            return r == 2 and s[0] >= 2
        return r >= 1 and max(s) >= 2  # append

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        a, s, d = self.alias, out.shape, out.dtype
        if a == "split":
            axis, parts = ch.integer(0, out.rank - 1), ch.integer(1, 3)
            shape = s[:axis] + (s[axis] * parts,) + s[axis + 1 :]
            attrs = {"parts": parts, "axis": spell_axis(ch, axis, out.rank)}
            return Plan([ArrayType(d, shape)], {**attrs, "which": ch.integer(0, parts - 1)})
        if a == "diag":
            if out.rank == 2:
                return Plan([ArrayType(d, s[:1])])
            return Plan([ArrayType(d, (s[0] + ch.integer(0, 2), s[0]))])
        if a == "diagonal":
            rank = out.rank + 1
            first = ch.integer(0, rank - 2)
            second = ch.integer(first + 1, rank - 1)
            outer = list(s[:-1])
            outer.insert(first, s[-1])
            outer.insert(second, s[-1] + ch.integer(0, 1))
            return Plan([ArrayType(d, tuple(outer))], {"axes": (first, second)})
        if a == "vstack" and s[0] <= 4 and ch.chance(30):
            return Plan([ArrayType(d, s[1:])] * s[0])  # rows given as 1-D arrays
        if a == "append":
            axis = ch.choice([i for i, n in enumerate(s) if n >= 2])
        else:
            axis = 0 if a == "vstack" or out.rank == 1 else 1
        cut = ch.integer(1, s[axis] - 1)
        pieces = [s[:axis] + (n,) + s[axis + 1 :] for n in (cut, s[axis] - cut)]
        return Plan([ArrayType(d, p) for p in pieces], {"axis": spell_axis(ch, axis, out.rank)})

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        a = self.alias
        if a == "split":
            return f"{args[0]}, {attrs['parts']}, axis={attrs['axis']}"
        if a == "diag":
            return args[0]
        if a == "diagonal":
            first, second = attrs["axes"]
            return f"{args[0]}, axis1={first}, axis2={second}"
        if a == "append":
            return f"{args[0]}, {args[1]}, axis={attrs['axis']}"
        return f"[{', '.join(args)}]"

    def suffix(self, attrs: dict[str, Any]) -> str:
        return f"[{attrs['which']}]" if self.alias == "split" else ""


class Quantile(Rule):
    """``jnp.percentile(x, q, axis=k)`` and ``jnp.quantile(x, q, axis=k)`` (linear)."""

    family = "reduction"

    def __init__(self, alias: str) -> None:
        self.alias = alias

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return out.rank < limits.max_rank and out.dtype in dr.signatures(
            dr.to_real_inexact, 1, limits.x64
        )

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        rows = dr.signatures(dr.to_real_inexact, 1, limits.x64)[out.dtype]
        (dtype,) = ch.choice([r for r in rows if is_float(r[0])] or list(rows))
        axis = ch.integer(0, out.rank)
        shape = out.shape[:axis] + (ch.integer(1, 5),) + out.shape[axis:]
        q = ch.choice(("0.0", "0.25", "0.5", "0.9", "1.0"))
        if self.alias == "percentile":
            q = ch.choice(("0.0", "10.0", "50.0", "95.0", "100.0"))
        return Plan([ArrayType(dtype, shape)], {"q": q, "axis": spell_axis(ch, axis, len(shape))})

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        return f"{args[0]}, {attrs['q']}, axis={attrs['axis']}"


#: Dtypes ``solve_triangular`` takes beyond LAPACK's: XLA solves them itself, in the half
#: type (``stablehlo.triangular_solve``; LAPACK dtypes become a ``custom_call`` on CPU).
HALF_SOLVE_DTYPES = ("float16", "bfloat16")


class Solve(Rule):
    """``jax.scipy.linalg.solve_triangular(a, b, lower=..)``, ``cho_solve((c, lower), b)``,
    ``jax.scipy.linalg.solve(a, b)``: b (n,) or (n, k); ``solve_triangular`` also of
    ``HALF_SOLVE_DTYPES``."""

    family = "linalg"

    def __init__(self, alias: str) -> None:
        self.alias = alias

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        dtypes: tuple[str, ...] = LAPACK_DTYPES_X64 if limits.x64 else LAPACK_DTYPES
        if self.alias == "solve_triangular":
            dtypes += HALF_SOLVE_DTYPES
        return out.dtype in dtypes and out.rank in (1, 2) and limits.max_rank >= 2

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        n = out.shape[0]
        matrix = ArrayType(out.dtype, (n, n))
        return Plan([matrix, out], {"lower": ch.choice(("True", "False"))})

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        if self.alias == "solve_triangular":
            return f"{args[0]}, {args[1]}, lower={attrs['lower']}"
        if self.alias == "cho_solve":
            return f"({args[0]}, {attrs['lower']}), {args[1]}"
        return f"{args[0]}, {args[1]}"


def lax_general_rules() -> list[Rule]:
    rules: list[Rule] = [DotGeneral("dot_general"), DotGeneral("dot_general_pet"), ConvDilated()]
    rules += [ArrayFunction(a) for a in ("split", "diag", "diagonal", "hstack", "vstack")]
    rules += [ArrayFunction("append"), Quantile("percentile"), Quantile("quantile")]
    rules += [Solve(a) for a in ("solve_triangular", "cho_solve", "scipy_solve")]
    return rules
