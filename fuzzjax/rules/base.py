"""Building blocks of the typing table: ``Rule``, ``Plan``, ``Literal`` and shared helpers.

A rule answers two questions for a requested result type ``out`` (dtype, shape):

* ``can_produce(out, limits)``: cheap, makes no choices;
* ``plan(ch, out, limits)``: draws the argument types (and attributes such as ``axis``) that
  make the operation return exactly ``out``. Arguments are ``ArrayType`` (a sub-expression to
  generate) or ``Literal`` (a weakly typed Python scalar).

``call_args`` renders the text between the call's parentheses; callee names come from the
grammar, never from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fuzzjax.choices import Chooser
from fuzzjax.dtypes import DTYPE_SPELLING, KIND, ArrayType
from fuzzjax.rules.shapes import Limits, draw_dim


@dataclass(frozen=True)
class Literal:
    """A Python scalar literal in program text (weakly typed in JAX)."""

    text: str


@dataclass(frozen=True)
class Body:
    """A lambda or local-function body of type ``type`` with parameters in scope.

    ``params`` are (role, type, read) triples: role ``a``/``c``/``i`` names the parameter
    (``a0``, ``c0``, ``i0``); ``read`` is how the body reads it (``""`` or ``"[0]"`` for a
    while-loop carry; ``None``: only through ``counters``). ``counters`` are (param position,
    read) pairs of weakly typed loop counters, readable as a scalar of any dtype through
    ``jnp.asarray(<name>{read}, dtype=DTYPE)`` (``render.bound_text``). ``differentiable``
    bodies avoid operations without a JVP rule.
    """

    type: ArrayType
    params: tuple[tuple[str, ArrayType, str | None], ...] = ()
    differentiable: bool = False
    counters: tuple[tuple[int, str], ...] = ()
    #: A named local function (``def body0(i0, c0): return ...``) with this name prefix
    #: (``body``, ``step``, ``cond_fun``, ``branch``, ``fn``) instead of a lambda.
    named: str = ""
    #: More reads of tuple parameters: (param position, type, read) such as (1, T, "[0]").
    reads: tuple[tuple[int, ArrayType, str], ...] = ()
    #: The body returns a tuple: these are the types of its items (``type`` is the first);
    #: ``group``: the first ``group`` items form a nested tuple (a tuple carry and a ``y``).
    returns: tuple[ArrayType, ...] = ()
    group: int = 0
    #: A last item ``<param>{counter_item} + 1`` (a while-loop count) after ``returns``.
    counter_item: str = ""
    #: The body is at least this deep (its counter increment is an operation).
    min_depth: int = 0
    #: A fixed ``@jax.custom_jvp`` function instead of a generated body: (primal, rule)
    #: templates over ``{a}`` (the argument), ``{t}`` (its tangent) and ``{y}`` (the primal
    #: output); a named function that adds no depth to its call.
    fixed: tuple[str, str] | tuple[()] = ()


@dataclass(frozen=True)
class Name:
    """A bare name (parameter, local or lambda parameter) of ``type``, read while tracing:
    ``x0.shape``, ``x0.dtype``, ``jnp.iscomplexobj(x0)``. Always a leaf, never the spine.
    ``any_dtype`` / ``any_shape``: only the shape / only the dtype matters, so an existing name
    that differs in the other is as good (the drawn one is used for a new parameter)."""

    type: ArrayType
    any_dtype: bool = False
    any_shape: bool = False


@dataclass(frozen=True)
class Const:
    """A trace-time scalar combining with an operand of ``dtype`` without changing its dtype.

    ``kind``: ``"int"`` (a weak Python int: ``x0.ndim``, ``x0.shape[-1]``, ``x0.size``),
    ``"float"`` (a weak Python float: ``jnp.pi``, ``jnp.inf``), ``"finfo"`` / ``"iinfo"`` (a
    NumPy scalar of exactly ``dtype``: ``jnp.finfo(x0.dtype).eps``). The generator spells it
    from the names in scope (``Generator.const``).
    """

    kind: str
    dtype: str


Arg = ArrayType | Literal | Body | Name | Const

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
    #: No expression arguments (``jnp.eye(3)``): only at depth 1.
    nullary: bool = False
    #: Emits a named local function (a ``def`` statement): only outside lambda bodies.
    top_level_only: bool = False
    #: Only for nodes at least this deep.
    min_depth: int = 1

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        raise NotImplementedError

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        raise NotImplementedError

    def plan_for_depth(self, ch: Chooser, out: ArrayType, limits: Limits, depth: int) -> Plan:
        """``plan`` for a node of ``depth``: a rule may plan no expression at depth 1."""
        return self.plan(ch, out, limits)

    def prefix_callee(self, attrs: dict[str, Any]) -> str | None:
        """The callee when the grammar spells it with a terminal (``jnp.float32(x)``)."""
        return None

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        """Argument list text for call-form rules (inside the parentheses)."""
        return ", ".join(args)

    def method_text(self, syntax: Any, args: list[str], attrs: dict[str, Any]) -> str:
        """Text after the receiver for postfix forms (``.astype(..)``, ``[..]``, ``.at[..]``)."""
        raise NotImplementedError(self.alias)

    def suffix(self, attrs: dict[str, Any]) -> str:
        """Text after the closing parenthesis (e.g. ``[0]`` for tuple-valued calls)."""
        return ""


def draw_signature(ch: Chooser, rows: tuple[tuple[str, ...], ...]) -> tuple[str, ...]:
    """Mostly the same-dtype signature (rows[0] when it is one), sometimes a promoting mix."""
    if len(set(rows[0])) == 1 and (len(rows) == 1 or ch.chance(75)):
        return rows[0]
    return ch.choice(rows)


def bounded_dim(ch: Chooser, out: ArrayType, limits: Limits) -> int:
    """A drawn dimension size, 1 when it would push ``out`` past the element budget."""
    dim = draw_dim(ch)
    return dim if out.size * dim <= limits.max_elements else 1


def spell_axis(ch: Chooser, axis: int, rank: int) -> int:
    """``axis`` or its negative spelling."""
    return axis - rank if ch.chance(25) else axis


def tuple_text(values: tuple[int, ...] | list[int]) -> str:
    values = tuple(values)
    if len(values) == 1:
        return f"({values[0]},)"
    return "(" + ", ".join(map(str, values)) + ")"


def dtype_text(dtype: str) -> str:
    return DTYPE_SPELLING[dtype]


def kind(dtype: str) -> str:
    return KIND[dtype]


class OneArgAxis(Rule):
    """Mixin rendering ``x, axis=k``."""

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        return f"{args[0]}, axis={attrs['axis']}"
