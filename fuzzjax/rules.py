"""The typing table: one rule per grammar alias, saying how it can produce a requested type.

A rule answers two questions for a requested result type ``out`` (dtype, shape):

* ``can_produce(out, limits)``: cheap, makes no choices;
* ``plan(ch, out, limits)``: draws the argument types (and attributes such as ``axis``) that
  make the operation return exactly ``out``. Arguments are ``ArrayType`` (a sub-expression to
  generate) or ``Literal`` (a weakly typed Python scalar).

``TABLE`` is keyed by the grammar's ``-> alias`` names; ``tests/test_rules.py`` asserts that
it covers every operation alias of ``grammar/jnp.lark`` and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import dtype_rules as dr
from .choices import Chooser
from .dtypes import DTYPE_SPELLING, DTYPES, KIND, ArrayType, is_complex
from .shapes import Limits, broadcast_operands, draw_dim, factor_shape


@dataclass(frozen=True)
class Literal:
    """A Python scalar literal in program text (weakly typed in JAX)."""

    text: str


Arg = ArrayType | Literal

#: Literal spellings by the kind of the operand they combine with.
LITERALS: dict[str, tuple[str, ...]] = {
    "b": ("True", "False"),
    "i": ("1", "2", "0", "3", "-1", "-2", "5", "127"),
    "u": ("1", "2", "0", "3", "5", "255"),
    "f": ("1.0", "2.0", "0.5", "0.0", "-1.0", "-0.5", "3.0", "1e-3", "1e3", "-2.5"),
    "c": ("1.0", "2.0", "0.5", "-1.0"),
}


@dataclass
class Plan:
    args: list[Arg]
    attrs: dict[str, Any] = field(default_factory=dict)


class Rule:
    """Base typing rule. ``family`` groups rules for balanced choice and for categories."""

    alias: str = ""
    family: str = ""

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        raise NotImplementedError

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        raise NotImplementedError

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        """Argument list text for call-form rules (inside the parentheses)."""
        return ", ".join(args)


def _draw_signature(ch: Chooser, rows: tuple[tuple[str, ...], ...]) -> tuple[str, ...]:
    """Mostly the same-dtype signature (rows[0] when it is one), sometimes a promoting mix."""
    if len(set(rows[0])) == 1 and (len(rows) == 1 or ch.chance(75)):
        return rows[0]
    return ch.choice(rows)


class Elementwise(Rule):
    """n-ary elementwise operation with broadcasting and dtype promotion."""

    def __init__(
        self, alias: str, family: str, arity: int, dtype_fn: dr.DtypeFn, literals: bool = False
    ) -> None:
        self.alias, self.family, self.arity = alias, family, arity
        self.dtype_fn, self.literals = dtype_fn, literals

    @property
    def table(self) -> dict[str, tuple[tuple[str, ...], ...]]:
        return dr.signatures(self.dtype_fn, self.arity)

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return out.dtype in self.table

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        rows = self.table[out.dtype]
        if self.literals and self.arity == 2 and ch.chance(20):
            same = [r for r in rows if r[0] == r[1]]
            if same:
                return self._plan_with_literal(ch, out, ch.choice(same)[0])
        dtypes = _draw_signature(ch, rows)
        shapes = broadcast_operands(ch, out.shape, self.arity)
        return Plan([ArrayType(d, s) for d, s in zip(dtypes, shapes, strict=False)])

    def _plan_with_literal(self, ch: Chooser, out: ArrayType, operand: str) -> Plan:
        options = LITERALS[KIND[operand]]
        if self.alias == "op_pow" and KIND[operand] in "iu":
            options = tuple(o for o in options if not o.startswith("-"))
        literal = Literal(ch.choice(options))
        array = ArrayType(operand, out.shape)
        args: list[Arg] = [array, literal] if ch.chance(70) else [literal, array]
        return Plan(args)


class Reduction(Rule):
    """``jnp.<op>(x, axis=k|None, keepdims=b)``."""

    family = "reduction"

    def __init__(self, alias: str, dtype_fn: dr.DtypeFn) -> None:
        self.alias, self.dtype_fn = alias, dtype_fn

    @property
    def table(self) -> dict[str, tuple[tuple[str, ...], ...]]:
        return dr.signatures(self.dtype_fn, 1)

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return out.dtype in self.table and (
            out.rank < limits.max_rank or 1 in out.shape or out.rank == 0
        )

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        (in_dtype,) = _draw_signature(ch, self.table[out.dtype])
        modes = []
        if out.rank < limits.max_rank:
            modes.append("drop")
        if 1 in out.shape:
            modes.append("keep")
        if out.rank == 0 or all(d == 1 for d in out.shape):
            modes.append("all")
        mode = ch.choice(modes)
        if mode == "all":
            keep = out.rank > 0
            shape = tuple(draw_dim(ch) for _ in range(out.rank)) if keep else _any_shape(ch, limits)
            return Plan([ArrayType(in_dtype, shape)], {"axis": None, "keepdims": keep})
        if mode == "drop":
            axis = ch.integer(0, out.rank)
            shape = out.shape[:axis] + (_bounded_dim(ch, out, limits),) + out.shape[axis:]
        else:
            axis = ch.choice([i for i, d in enumerate(out.shape) if d == 1])
            shape = out.shape[:axis] + (_bounded_dim(ch, out, limits),) + out.shape[axis + 1 :]
        spelled = axis - len(shape) if ch.chance(25) else axis
        return Plan([ArrayType(in_dtype, shape)], {"axis": spelled, "keepdims": mode == "keep"})

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        return f"{args[0]}, axis={attrs['axis']}, keepdims={attrs['keepdims']}"


def _any_shape(ch: Chooser, limits: Limits) -> tuple[int, ...]:
    rank = ch.integer(1, limits.max_rank)
    shape: list[int] = []
    for _ in range(rank):
        shape.append(_bounded_dim(ch, ArrayType("bool", tuple(shape)), limits))
    return tuple(shape)


def _bounded_dim(ch: Chooser, out: ArrayType, limits: Limits) -> int:
    dim = draw_dim(ch)
    return dim if out.size * dim <= limits.max_elements else 1


class Matmul(Rule):
    """``a @ b``, ``jnp.matmul``, ``jnp.dot`` (dot only up to rank 2, where it equals matmul)."""

    family = "linalg"

    def __init__(self, alias: str, max_out_rank: int | None = None) -> None:
        self.alias, self.max_out_rank = alias, max_out_rank

    @property
    def table(self) -> dict[str, tuple[tuple[str, ...], ...]]:
        return dr.signatures(dr.non_bool, 2)

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        rank_ok = self.max_out_rank is None or out.rank <= self.max_out_rank
        return rank_ok and out.dtype in self.table

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        da, db = _draw_signature(ch, self.table[out.dtype])
        k = _bounded_dim(ch, out, limits)
        s = out.shape
        if out.rank == 0:
            a, b = (k,), (k,)
        elif out.rank == 1:
            a, b = ((s[0], k), (k,)) if ch.chance(50) else ((k,), (k, s[0]))
        else:
            batch, m, n = s[:-2], s[-2], s[-1]
            a, b = batch + (m, k), batch + (k, n)
            if batch and ch.chance(25):
                a, b = ((m, k), b) if ch.chance(50) else (a, (k, n))
        return Plan([ArrayType(da, a), ArrayType(db, b)])


class SameDtype(Rule):
    """Base for shape operations whose result dtype is the operand's."""

    family = "shape"

    def __init__(self, alias: str) -> None:
        self.alias = alias

    def min_rank(self) -> int:
        return 0

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return out.rank >= self.min_rank()


class Reshape(SameDtype):
    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        shape = factor_shape(ch, out.size, limits)
        return Plan([ArrayType(out.dtype, shape)], {"shape": out.shape})

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        return f"{args[0]}, {_tuple_text(attrs['shape'])}"


class BroadcastTo(SameDtype):
    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        (shape,) = broadcast_operands(ch, out.shape, 1)
        if shape == out.shape and out.rank and ch.chance(60):
            shape = shape[ch.integer(1, out.rank) :]
        return Plan([ArrayType(out.dtype, shape)], {"shape": out.shape})

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        return f"{args[0]}, {_tuple_text(attrs['shape'])}"


class Transpose(SameDtype):
    def min_rank(self) -> int:
        return 2

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        remaining = list(range(out.rank))
        perm = [remaining.pop(ch.integer(0, len(remaining) - 1)) for _ in range(out.rank)]
        operand = [0] * out.rank
        for i, p in enumerate(perm):
            operand[p] = out.shape[i]
        return Plan([ArrayType(out.dtype, tuple(operand))], {"axes": tuple(perm)})

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        return f"{args[0]}, {_tuple_text(attrs['axes'])}"


class ExpandDims(SameDtype):
    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return 1 in out.shape

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        axis = ch.choice([i for i, d in enumerate(out.shape) if d == 1])
        shape = out.shape[:axis] + out.shape[axis + 1 :]
        return Plan([ArrayType(out.dtype, shape)], {"axis": _spell_axis(ch, axis, out.rank)})

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        return f"{args[0]}, axis={attrs['axis']}"


class Squeeze(SameDtype):
    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return out.rank < limits.max_rank

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        axis = ch.integer(0, out.rank)
        shape = out.shape[:axis] + (1,) + out.shape[axis:]
        return Plan([ArrayType(out.dtype, shape)], {"axis": _spell_axis(ch, axis, out.rank + 1)})

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        return f"{args[0]}, axis={attrs['axis']}"


class Swapaxes(SameDtype):
    def min_rank(self) -> int:
        return 2

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        a = ch.integer(0, out.rank - 1)
        b = ch.integer(0, out.rank - 1)
        shape = list(out.shape)
        shape[a], shape[b] = shape[b], shape[a]
        return Plan([ArrayType(out.dtype, tuple(shape))], {"axes": (a, b)})

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        a, b = attrs["axes"]
        return f"{args[0]}, {a}, {b}"


class Flip(SameDtype):
    def min_rank(self) -> int:
        return 1

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        axis = _spell_axis(ch, ch.integer(0, out.rank - 1), out.rank)
        return Plan([out], {"axis": axis})

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        return f"{args[0]}, axis={attrs['axis']}"


class Concatenate(SameDtype):
    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return any(d >= 2 for d in out.shape)

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        axis = ch.choice([i for i, d in enumerate(out.shape) if d >= 2])
        total = out.shape[axis]
        parts = ch.integer(2, min(3, total))
        cuts = sorted(_distinct_cuts(ch, total, parts - 1))
        sizes = [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=False)]
        args: list[Arg] = [
            ArrayType(out.dtype, out.shape[:axis] + (n,) + out.shape[axis + 1 :]) for n in sizes
        ]
        return Plan(args, {"axis": _spell_axis(ch, axis, out.rank)})

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        return f"[{', '.join(args)}], axis={attrs['axis']}"


def _distinct_cuts(ch: Chooser, total: int, count: int) -> list[int]:
    available = list(range(1, total))
    return [available.pop(ch.integer(0, len(available) - 1)) for _ in range(count)]


class Where(Rule):
    family = "select"
    alias = "where"

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return True

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        dx, dy = _draw_signature(ch, dr.signatures(dr.any_promoted, 2)[out.dtype])
        sc, sx, sy = broadcast_operands(ch, out.shape, 3)
        return Plan([ArrayType("bool", sc), ArrayType(dx, sx), ArrayType(dy, sy)])


class Clip(Rule):
    family = "select"
    alias = "clip"

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return KIND[out.dtype] in "iuf"

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        options = sorted(LITERALS[KIND[out.dtype]], key=float)
        lo = ch.integer(0, len(options) - 1)
        hi = ch.integer(lo, len(options) - 1)
        return Plan([out, Literal(options[lo]), Literal(options[hi])])


class AsType(Rule):
    family = "cast"
    alias = "astype"

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return True

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        sources = [d for d in DTYPES if is_complex(out.dtype) or not is_complex(d)]
        return Plan([ArrayType(ch.choice(sources), out.shape)], {"dtype": out.dtype})

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        return DTYPE_SPELLING[attrs["dtype"]]


def _spell_axis(ch: Chooser, axis: int, rank: int) -> int:
    return axis - rank if ch.chance(25) else axis


def _tuple_text(values: tuple[int, ...]) -> str:
    if len(values) == 1:
        return f"({values[0]},)"
    return "(" + ", ".join(map(str, values)) + ")"


def _elementwise() -> list[Rule]:
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
        E("add", "binary_math", 2, dr.any_promoted, literals=True),
        E("multiply", "binary_math", 2, dr.any_promoted, literals=True),
        E("maximum", "binary_math", 2, dr.ordered, literals=True),
        E("minimum", "binary_math", 2, dr.ordered, literals=True),
        E("arctan2", "binary_math", 2, dr.to_real_inexact, literals=True),
        E("hypot", "binary_math", 2, dr.to_real_inexact, literals=True),
        E("logaddexp", "binary_math", 2, dr.to_real_inexact, literals=True),
        E("logical_and", "logical", 2, dr.to_bool, literals=True),
        E("logical_or", "logical", 2, dr.to_bool, literals=True),
        E("logical_not", "logical", 1, dr.to_bool),
        E("isnan", "logical", 1, dr.to_bool),
        E("abs", "unary_math", 1, dr.absolute),
        E("negative", "unary_math", 1, dr.non_bool),
        E("square", "unary_math", 1, dr.non_bool),
        E("sign", "unary_math", 1, dr.non_bool),
        E("floor", "unary_math", 1, dr.float_only),
        E("ceil", "unary_math", 1, dr.float_only),
        E("reciprocal", "unary_math", 1, dr.inexact_only),
    ]
    for name in ("lt", "le", "gt", "ge"):
        rules.append(E(f"op_{name}", "compare_op", 2, dr.compare_ordered, literals=True))
    for name in ("eq", "ne"):
        rules.append(E(f"op_{name}", "compare_op", 2, dr.compare_any, literals=True))
    for name in [
        "sin",
        "cos",
        "tan",
        "arcsin",
        "arccos",
        "arctan",
        "sinh",
        "cosh",
        "tanh",
        "exp",
        "expm1",
        "log",
        "log1p",
        "sqrt",
    ]:
        rules.append(E(name, "unary_math", 1, dr.to_inexact))
    return rules


def _reductions() -> list[Rule]:
    fns = {
        "sum": dr.sum_like,
        "prod": dr.sum_like,
        "mean": dr.mean_like,
        "max": dr.ordered,
        "min": dr.ordered,
        "any": dr.to_bool,
        "all": dr.to_bool,
        "var": dr.var_like,
        "std": dr.var_like,
        "argmax": dr.arg_reduce,
        "argmin": dr.arg_reduce,
    }
    return [Reduction(alias, fn) for alias, fn in fns.items()]


def _others() -> list[Rule]:
    return [
        Matmul("op_matmul"),
        Matmul("matmul"),
        Matmul("dot", max_out_rank=2),
        Reshape("reshape"),
        BroadcastTo("broadcast_to"),
        Transpose("transpose"),
        ExpandDims("expand_dims"),
        Squeeze("squeeze"),
        Swapaxes("swapaxes"),
        Flip("flip"),
        Concatenate("concatenate"),
        Where(),
        Clip(),
        AsType(),
    ]


#: The typing table, keyed by grammar alias.
TABLE: dict[str, Rule] = {r.alias: r for r in _elementwise() + _reductions() + _others()}

#: Rules grouped by family, for family-balanced choice.
FAMILIES: dict[str, list[Rule]] = {}
for _rule in TABLE.values():
    FAMILIES.setdefault(_rule.family, []).append(_rule)

#: Dataset category of each rule family.
CATEGORY_OF_FAMILY: dict[str, str] = {
    "arith_op": "arithmetic",
    "bitwise_op": "arithmetic",
    "compare_op": "arithmetic",
    "unary_math": "math",
    "binary_math": "math",
    "logical": "math",
    "reduction": "array",
    "shape": "array",
    "select": "array",
    "cast": "array",
    "linalg": "array",
}


def category_of(aliases: list[str] | tuple[str, ...]) -> str:
    """``arithmetic``, ``math``, ``array`` when one category is used, else ``combined``."""
    found = {CATEGORY_OF_FAMILY[TABLE[a].family] for a in aliases if a in TABLE}
    return found.pop() if len(found) == 1 else "combined"
