"""Typing rules of elementwise operations: operators, jnp/jax.nn functions, and jax.lax ones.

jnp functions broadcast and promote; jax.lax functions need equal shapes and equal dtypes.
"""

from __future__ import annotations

from fuzzjax.choices import Chooser
from fuzzjax.dtypes import ArrayType
from fuzzjax.rules import promotion as dr
from fuzzjax.rules.base import LITERALS, Arg, Const, Literal, Plan, Rule, draw_signature, kind
from fuzzjax.rules.shapes import Limits, broadcast_operands


class Elementwise(Rule):
    """n-ary elementwise operation with broadcasting and dtype promotion (unless ``strict``)."""

    def __init__(
        self,
        alias: str,
        family: str,
        arity: int,
        dtype_fn: dr.DtypeFn,
        literals: bool = False,
        strict: bool = False,
    ) -> None:
        self.alias, self.family, self.arity = alias, family, arity
        self.dtype_fn = dr.same_dtypes(dtype_fn) if strict else dtype_fn
        self.literals, self.strict = literals and not strict, strict

    def table(self, x64: bool) -> dict[str, tuple[tuple[str, ...], ...]]:
        return dr.signatures(self.dtype_fn, self.arity, x64)

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        exceptions = RANK0_EXCEPTIONS_X64 if limits.x64 else RANK0_EXCEPTIONS
        if out.rank == 0 and (self.alias, out.dtype) in exceptions:
            return False
        return out.dtype in self.table(limits.x64)

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        rows = self.table(limits.x64)[out.dtype]
        if self.literals and self.arity == 2 and ch.chance(20):
            same = [r for r in rows if r[0] == r[1]]
            if same:
                return self._plan_with_literal(ch, out, ch.choice(same)[0])
        dtypes = draw_signature(ch, rows)
        if self.strict:
            shapes = [out.shape] * self.arity
        else:
            shapes = broadcast_operands(ch, out.shape, self.arity)
        return Plan([ArrayType(d, s) for d, s in zip(dtypes, shapes, strict=False)])

    def _plan_with_literal(self, ch: Chooser, out: ArrayType, operand: str) -> Plan:
        options = LITERALS[kind(operand)]
        if self.alias in NONNEGATIVE_INT_LITERAL and kind(operand) in "iu":
            options = tuple(o for o in options if not o.startswith("-"))
        literal: Literal | Const = Literal(ch.choice(options))
        consts = _const_kinds(self.alias, kind(operand))
        if consts and ch.chance(CONST_PERCENT):
            literal = Const(ch.choice(consts), operand)
        array = ArrayType(operand, out.shape)
        args: list[Arg] = [array, literal] if ch.chance(70) else [literal, array]
        return Plan(args)


#: Percent of scalar operands written as trace-time constants (``x0.shape[-1]``, ``jnp.pi``,
#: ``jnp.finfo(x0.dtype).eps``) instead of literals.
CONST_PERCENT = 30


def _const_kinds(alias: str, operand_kind: str) -> tuple[str, ...]:
    """``Const`` kinds that combine with an operand of ``operand_kind`` in ``alias``."""
    if operand_kind in "iu":
        typed = () if alias in NONNEGATIVE_INT_LITERAL or alias in ("gcd", "lcm") else ("iinfo",)
        return ("int", *typed)
    if operand_kind == "f":
        return ("int", "float", "finfo")
    return ("int", "float") if operand_kind == "c" else ()


#: (alias, dtype) results JAX gives only for arrays of rank >= 1: jnp.angle of a rank-0
#: float16/bfloat16 array returns float32 (it keeps the dtype for rank >= 1). Found by
#: tests/test_rules_vs_jax.py; see notes/design.md.
RANK0_EXCEPTIONS = frozenset({("angle", "float16"), ("angle", "bfloat16")})
#: In x64 mode a rank-0 float16/bfloat16/float32 ``jnp.angle`` returns float64 (the default
#: float), so float32 joins the exceptions.
RANK0_EXCEPTIONS_X64 = RANK0_EXCEPTIONS | {("angle", "float32")}

#: Integer powers and shifts reject negative Python-int literals.
NONNEGATIVE_INT_LITERAL = frozenset({"op_pow", "power", "left_shift", "right_shift"})


def elementwise_rules() -> list[Rule]:
    E = Elementwise
    rules: list[Rule] = [
        E("op_add", "arith_op", 2, dr.any_promoted, literals=True),
        E("op_sub", "arith_op", 2, dr.subtract, literals=True),
        E("op_mul", "arith_op", 2, dr.any_promoted, literals=True),
        E("op_truediv", "arith_op", 2, dr.true_divide, literals=True),
        E("op_floordiv", "arith_op", 2, dr.real_non_bool, literals=True),
        E("op_mod", "arith_op", 2, dr.real_non_bool, literals=True),
        E("op_pow", "arith_op", 2, dr.non_bool, literals=True),
        E("op_neg", "arith_op", 1, dr.non_bool),
        E("op_and", "bitwise_op", 2, dr.bitwise, literals=True),
        E("op_or", "bitwise_op", 2, dr.bitwise, literals=True),
        E("op_xor", "bitwise_op", 2, dr.bitwise, literals=True),
        E("op_invert", "bitwise_op", 1, dr.bitwise),
    ]
    for name in ("lt", "le", "gt", "ge"):
        rules.append(E(f"op_{name}", "compare_op", 2, dr.compare_ordered, literals=True))
    for name in ("eq", "ne"):
        rules.append(E(f"op_{name}", "compare_op", 2, dr.compare_any, literals=True))
    binary: dict[str, dr.DtypeFn] = {
        "add": dr.any_promoted,
        "multiply": dr.any_promoted,
        "subtract": dr.subtract,
        "divide": dr.true_divide,
        "true_divide": dr.true_divide,
        "floor_divide": dr.real_non_bool,
        "remainder": dr.real_non_bool,
        "mod": dr.real_non_bool,
        "fmod": dr.real_non_bool,
        "power": dr.non_bool,
        "maximum": dr.ordered,
        "minimum": dr.ordered,
        "fmax": dr.ordered,
        "fmin": dr.ordered,
        "arctan2": dr.to_real_inexact,
        "hypot": dr.to_real_inexact,
        "logaddexp": dr.to_real_inexact,
        "logaddexp2": dr.to_real_inexact,
        "copysign": dr.to_real_inexact,
        "nextafter": dr.float_only,
        "heaviside": dr.to_real_inexact,
    }
    for name, fn in binary.items():
        rules.append(E(name, "binary_math", 2, fn, literals=True))
    for name in ("bitwise_and", "bitwise_or", "bitwise_xor"):
        rules.append(E(name, "bitwise_op", 2, dr.bitwise, literals=True))
    for name in ("left_shift", "right_shift", "gcd", "lcm"):
        rules.append(E(name, "bitwise_op", 2, dr.integer_only, literals=True))
    for name in ("greater", "greater_equal", "less", "less_equal"):
        rules.append(E(name, "compare_op", 2, dr.compare_ordered, literals=True))
    for name in ("equal", "not_equal"):
        rules.append(E(name, "compare_op", 2, dr.compare_any, literals=True))
    rules.append(E("isclose", "compare_op", 2, dr.compare_numeric, literals=True))
    for name in ("logical_and", "logical_or", "logical_xor"):
        rules.append(E(name, "logical", 2, dr.to_bool, literals=True))
    unary: dict[str, dr.DtypeFn] = {
        "logical_not": dr.to_bool,
        "isnan": dr.to_bool,
        "isfinite": dr.to_bool,
        "isinf": dr.to_bool,
        "signbit": dr.real_to_bool,
        "abs": dr.absolute,
        "fabs": dr.float_only,
        "negative": dr.non_bool,
        "positive": dr.non_bool,
        "square": dr.non_bool,
        "sign": dr.non_bool,
        "floor": dr.float_only,
        "ceil": dr.float_only,
        "rint": dr.float_only,
        "trunc": dr.float_only,
        "round": dr.float_only,
        "reciprocal": dr.inexact_only,
        "nan_to_num": dr.inexact_only,
        "cbrt": dr.to_real_inexact,
        "deg2rad": dr.to_real_inexact,
        "rad2deg": dr.to_real_inexact,
        "sinc": dr.to_inexact,
        "conj": dr.non_bool,
        "real": dr.real_part,
        "imag": dr.real_part,
        "angle": dr.angle,
        "bitwise_not": dr.bitwise,
        "zeros_like": dr.any_promoted,
        "ones_like": dr.any_promoted,
    }
    for name, fn in unary.items():
        rules.append(E(name, "unary_math", 1, fn))
    transcendental = (
        "sin cos tan arcsin arccos arctan sinh cosh tanh arcsinh arccosh arctanh "
        "exp exp2 expm1 log log2 log10 log1p sqrt"
    )
    for name in transcendental.split():
        rules.append(E(name, "unary_math", 1, dr.to_inexact))
    activations = "relu relu6 sigmoid softplus silu gelu elu leaky_relu log_sigmoid hard_tanh"
    for name in (activations + " soft_sign selu celu").split():
        rules.append(E(name, "nn", 1, dr.float_only))
    lax_unary: dict[str, dr.DtypeFn] = {
        "exp": dr.inexact_only, "log": dr.inexact_only, "sin": dr.inexact_only,
        "cos": dr.inexact_only, "tanh": dr.inexact_only, "sqrt": dr.inexact_only,
        "rsqrt": dr.inexact_only, "logistic": dr.inexact_only, "erf": dr.float_only,
        "erfc": dr.float_only, "erf_inv": dr.float_only, "lgamma": dr.float_only,
        "digamma": dr.float_only, "neg": dr.non_bool, "abs": dr.lax_abs,
        "square": dr.non_bool, "sign": dr.non_bool, "floor": dr.float_only,
        "ceil": dr.float_only, "is_finite": dr.float_to_bool,
        "population_count": dr.integer_only, "clz": dr.integer_only,
    }  # fmt: skip
    for name, fn in lax_unary.items():
        rules.append(E(f"lax_{name}", "lax", 1, fn, strict=True))
    lax_binary: dict[str, dr.DtypeFn] = {
        "add": dr.non_bool, "sub": dr.non_bool, "mul": dr.non_bool,
        "div": dr.non_bool, "max": dr.ordered, "min": dr.ordered, "pow": dr.inexact_only,
        "atan2": dr.float_only, "rem": dr.real_non_bool, "nextafter": dr.float_only,
    }  # fmt: skip
    for name, fn in lax_binary.items():
        rules.append(E(f"lax_{name}", "lax", 2, fn, strict=True))
    return rules
