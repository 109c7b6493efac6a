"""Typing rules of special functions (``jax.scipy.special``), more elementwise spellings
(``lax.stop_gradient``, ``jnp.invert``, ``lax.select``, ``lax.clamp``, ``jnp.cross``), casts
that name a dtype (``jnp.float32(x)``, ``jnp.astype``) and the trace-time conditional
``a if jnp.issubdtype(x0.dtype, jnp.floating) else b``."""

from __future__ import annotations

from typing import Any

from fuzzjax.choices import Chooser
from fuzzjax.dtypes import (
    DTYPE_SPELLING,
    KIND,
    ArrayType,
    dtype_set,
    is_complex,
    promote_all,
    real_dtype,
    weak_default,
)
from fuzzjax.rules import promotion as dr
from fuzzjax.rules.base import LITERALS, Name, Plan, Rule, draw_signature, kind
from fuzzjax.rules.elementwise import Elementwise
from fuzzjax.rules.linalg import Matmul
from fuzzjax.rules.shape import Cast
from fuzzjax.rules.shapes import Limits, broadcast_operands
from fuzzjax.rules.static import dtype_arg_text, plan_dtype, plan_shape, shape_text, split_names


def float32_only(*ds: str, x64: bool = False) -> str | None:
    """``ndtr``, ``ndtri``, ``log_ndtr``: float32 (and float64) only; ints are refused."""
    r = promote_all(*ds, x64=x64)
    return r if r in ("float32", "float64") else None


def complex_to_real(d: str, x64: bool = False) -> str | None:
    """``lax.real`` / ``lax.imag``: complex operands only."""
    return real_dtype(d) if is_complex(d) else None


class Select(Rule):
    """``lax.select(pred, a, b)``: bool ``pred``; ``a``, ``b`` and the result share one type."""

    family = "lax"
    alias = "lax_select"

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return True

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        return Plan([ArrayType("bool", out.shape), out, out])


class Clamp(Rule):
    """``lax.clamp(lo, x, hi)``: ``lo`` and ``hi`` scalars or of x's shape, all one dtype."""

    family = "lax"
    alias = "lax_clamp"

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return KIND[out.dtype] in "iuf"

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        bound = ArrayType(out.dtype, out.shape if ch.chance(30) else ())
        return Plan([bound, out, bound])


class Cross(Rule):
    """``jnp.cross(a, b)`` of 3-vectors along the last axis (batch axes broadcast)."""

    family = "binary_math"
    alias = "cross"

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return out.rank >= 1 and out.shape[-1] == 3 and out.dtype in self.table(limits.x64)

    def table(self, x64: bool) -> dict[str, tuple[tuple[str, ...], ...]]:
        return dr.signatures(dr.non_bool, 2, x64)

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        da, db = draw_signature(ch, self.table(limits.x64)[out.dtype])
        sa, sb = broadcast_operands(ch, out.shape[:-1], 2)
        return Plan([ArrayType(da, (*sa, 3)), ArrayType(db, (*sb, 3))])


class LaxFullLike(Rule):
    """``lax.full_like(x, c)``: x's type, filled with a literal of x's kind."""

    family = "lax"
    alias = "lax_full_like"

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return KIND[out.dtype] in "iufc"

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        return Plan([out], {"fill": ch.choice(LITERALS[kind(out.dtype)])})

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        return f"{args[0]}, {attrs['fill']}"


class LaxExpandDims(Rule):
    """``lax.expand_dims(x, (i, j))``: new size-1 axes at positions i, j of the result."""

    family = "shape"
    alias = "lax_expand_dims"

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return 1 in out.shape

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        ones = [i for i, d in enumerate(out.shape) if d == 1]
        axes = sorted({ch.choice(ones) for _ in range(ch.integer(1, 2))})
        shape = tuple(d for i, d in enumerate(out.shape) if i not in axes)
        return Plan([ArrayType(out.dtype, shape)], {"axes": tuple(axes)})

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        axes = attrs["axes"]
        return f"{args[0]}, ({', '.join(map(str, axes))}{',' if len(axes) == 1 else ''})"


class Iota(Rule):
    """``lax.broadcasted_iota(D, shape, k)``: the index along axis k, broadcast."""

    family = "creation"
    alias = "lax_iota"
    nullary = True

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        top = {"int8": 128, "uint8": 256}.get(out.dtype, 1 << 20)
        return out.rank >= 1 and KIND[out.dtype] in "iuf" and max(out.shape) <= top

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        shape_names, shape = plan_shape(ch, out.shape, limits)
        dtype_names, dtype = plan_dtype(ch, out.dtype, limits)
        attrs = {"shape": shape, "dtype": dtype, "axis": ch.integer(0, out.rank - 1)}
        return Plan([*shape_names, *dtype_names], attrs)

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        names = iter(args)
        shape = shape_text(attrs["shape"], names)
        return f"{dtype_arg_text(attrs['dtype'], names)}, {shape}, {attrs['axis']}"


class PreferredMatmul(Matmul):
    """``jnp.matmul(a, b, preferred_element_type=D)``: same-kind operands no wider than D."""

    def table(self, x64: bool) -> dict[str, tuple[tuple[str, ...], ...]]:
        table: dict[str, tuple[tuple[str, ...], ...]] = {}
        for out in dtype_set(x64):
            if KIND[out] not in "iufc":
                continue
            rows = [
                (d, d)
                for d in dtype_set(x64)
                if KIND[d] == KIND[out] and promote_all(d, out, x64=x64) == out
            ]
            table[out] = tuple(rows)
        return table

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        plan = super().plan(ch, out, limits)
        names, spec = plan_dtype(ch, out.dtype, limits)
        plan.args += names
        plan.attrs.update({"dtype": spec, "exprs": 2})
        return plan

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        exprs, names = split_names(args, attrs)
        spelled = dtype_arg_text(attrs["dtype"], names)
        return f"{exprs[0]}, {exprs[1]}, preferred_element_type={spelled}"


class DtypeCast(Cast):
    """``jnp.float32(x)`` (a DTYPE called on an array) and ``jnp.astype(x, D)``."""

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        exprs, names = split_names(args, attrs)
        if self.alias == "dtype_call":
            return exprs[0]
        return f"{exprs[0]}, {dtype_arg_text(attrs['dtype_spec'], names)}"

    def prefix_callee(self, attrs: dict[str, Any]) -> str | None:
        return DTYPE_SPELLING[attrs["dtype"]] if self.alias == "dtype_call" else None


#: ``jnp.issubdtype`` classes and the dtype kinds they contain.
DTYPE_CLASSES = {
    "jnp.floating": "f",
    "jnp.integer": "iu",
    "jnp.signedinteger": "i",
    "jnp.unsignedinteger": "u",
    "jnp.inexact": "fc",
    "jnp.complexfloating": "c",
    "jnp.number": "iufc",
}


class StaticIf(Rule):
    """``a if <predicate on a dtype> else b``: Python picks a branch while tracing."""

    family = "select"
    alias = "static_if"

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return True

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        if ch.chance(20):
            name = Name(ArrayType(ch.choice(dtype_set(limits.x64)), ()), any_shape=True)
            return Plan([out, out, name], {"exprs": 2, "pred": ("iscomplexobj",)})
        names, spec = plan_dtype(ch, ch.choice(dtype_set(limits.x64)), limits, 20)
        cls = ch.choice(sorted(DTYPE_CLASSES))
        return Plan([out, out, *names], {"exprs": 2, "pred": ("issubdtype", cls, spec)})

    @staticmethod
    def predicate_text(attrs: dict[str, Any], names: Any) -> str:
        pred = attrs["pred"]
        if pred[0] == "iscomplexobj":
            return f"jnp.iscomplexobj({next(names)})"
        return f"jnp.issubdtype({dtype_arg_text(pred[2], names)}, {pred[1]})"


def polygamma_dtype(d: str, x64: bool = False) -> str | None:
    """``polygamma(n, x)``: ``x`` promoted with the weakly typed integer ``n`` (a bool ``x``
    becomes JAX's default integer first), then to an inexact dtype."""
    return dr.to_real_inexact(weak_default(promote_all("i*", d, x64=x64), x64), x64=x64)


class Polygamma(Rule):
    """``jax.scipy.special.polygamma(n, x)`` for a literal order ``n`` (0: digamma, 1:
    trigamma, ...): ``x`` of any real dtype (``polygamma_dtype``)."""

    family = "special"
    alias = "sp_polygamma"

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return out.dtype in self.table(limits.x64)

    def table(self, x64: bool) -> dict[str, tuple[tuple[str, ...], ...]]:
        return dr.signatures(polygamma_dtype, 1, x64)

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        (dtype,) = draw_signature(ch, self.table(limits.x64)[out.dtype])
        return Plan([ArrayType(dtype, out.shape)], {"order": ch.integer(0, 3)})

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        return f"{attrs['order']}, {args[0]}"


def special_rules() -> list[Rule]:
    E = Elementwise
    unary: dict[str, dr.DtypeFn] = {
        "sp_gammaln": dr.to_real_inexact,
        "sp_digamma": dr.to_real_inexact,
        "sp_expit": dr.to_real_inexact,
        "sp_logit": dr.to_real_inexact,
        "sp_erf": dr.to_real_inexact,
        "sp_erfc": dr.to_real_inexact,
        "sp_ndtr": float32_only,
        "sp_ndtri": float32_only,
        "sp_i0e": dr.to_real_inexact,
        "sp_i1e": dr.to_real_inexact,
    }
    rules: list[Rule] = [E(alias, "special", 1, fn) for alias, fn in unary.items()]
    rules.append(Polygamma())
    for alias in ("sp_xlogy", "sp_xlog1py", "sp_betaln", "sp_zeta"):
        rules.append(E(alias, "special", 2, dr.to_real_inexact, literals=True))
    for name, fn in (("eq", dr.compare_any), ("ne", dr.compare_any)):
        rules.append(E(f"lax_{name}", "lax", 2, fn, strict=True))
    for name in ("lt", "le", "gt", "ge"):
        rules.append(E(f"lax_{name}", "lax", 2, dr.compare_ordered, strict=True))
    rules += [
        E("stop_gradient", "lax", 1, dr.any_promoted),
        E("invert", "bitwise_op", 1, dr.bitwise),
        E("absolute", "unary_math", 1, dr.absolute),
        E("isneginf", "unary_math", 1, dr.real_to_bool),
        E("isposinf", "unary_math", 1, dr.real_to_bool),
        E("nn_tanh", "nn", 1, dr.to_inexact),
        E("lax_real", "lax", 1, complex_to_real),
        E("lax_imag", "lax", 1, complex_to_real),
        Select(),
        Clamp(),
        LaxFullLike(),
        LaxExpandDims(),
        Iota(),
        PreferredMatmul("matmul_pet"),
        Cross(),
        DtypeCast("dtype_call"),
        DtypeCast("jnp_astype"),
        StaticIf(),
    ]
    return rules
