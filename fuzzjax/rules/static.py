"""Trace-time shape and dtype arguments: ``(2, 3)`` or ``x0.shape``, ``jnp.float32`` or
``jnp.result_type(x0, x1)``.

A rule that takes a shape or a dtype plans it with ``plan_shape`` / ``plan_dtype``: they return
the ``Name`` arguments the spelling reads (the generator makes them leaves) and a spec; the
rule appends the names to its arguments and renders them back with ``shape_text`` /
``dtype_arg_text``, which consume the rendered names in order.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fuzzjax.choices import Chooser
from fuzzjax.dtypes import DTYPE_SPELLING, ArrayType, dtype_set
from fuzzjax.rules import promotion as dr
from fuzzjax.rules.available import resolves
from fuzzjax.rules.base import Name
from fuzzjax.rules.shapes import Limits, broadcast_operands

#: How a shape is written: a literal tuple, or read from arrays of that shape.
SHAPE_FORMS = ("tuple", "attr", "call", "typeof", "lax_broadcast", "jnp_broadcast")
#: How a dtype is written: the dtype itself, or read from arrays and dtypes.
DTYPE_FORMS = ("spelled", "attr", "typeof", "result_type", "promote_types", "dtype_call")


def _available(forms: tuple[str, ...]) -> tuple[str, ...]:
    """``forms`` without ``typeof`` on a JAX that has no ``jax.typeof`` (the same tuple, so
    the same draws, where it has)."""
    return forms if resolves("jax.typeof") else tuple(f for f in forms if f != "typeof")


def any_dtype_name(ch: Chooser, shape: tuple[int, ...], limits: Limits) -> Name:
    """A name of ``shape``; its dtype is drawn (the generator prefers an existing name)."""
    return Name(ArrayType(ch.choice(dtype_set(limits.x64)), shape), any_dtype=True)


def plan_shape(
    ch: Chooser, shape: tuple[int, ...], limits: Limits, tuple_percent: int = 50
) -> tuple[list[Name], tuple[str, ...]]:
    """Names to read and the spec that spells ``shape``."""
    if ch.chance(tuple_percent):
        return [], ("tuple", *map(str, shape))
    form = ch.choice(_available(SHAPE_FORMS[1:]))
    if form in ("lax_broadcast", "jnp_broadcast"):
        shapes = broadcast_operands(ch, shape, 2)
        return [any_dtype_name(ch, s, limits) for s in shapes], (form,)
    return [any_dtype_name(ch, shape, limits)], (form,)


def shape_text(spec: tuple[str, ...], names: Iterator[str]) -> str:
    form = spec[0]
    if form == "tuple":
        dims = spec[1:]
        return f"({dims[0]},)" if len(dims) == 1 else "(" + ", ".join(dims) + ")"
    if form == "attr":
        return f"{next(names)}.shape"
    if form == "call":
        return f"jnp.shape({next(names)})"
    if form == "typeof":
        return f"jax.typeof({next(names)}).shape"
    fn = "lax.broadcast_shapes" if form == "lax_broadcast" else "jnp.broadcast_shapes"
    return f"{fn}({next(names)}.shape, {next(names)}.shape)"


def plan_dtype(
    ch: Chooser, dtype: str, limits: Limits, spelled_percent: int = 60
) -> tuple[list[Name], tuple[str, ...]]:
    """Names to read and the spec that spells ``dtype``."""
    if ch.chance(spelled_percent):
        return [], ("spelled", dtype)
    form = ch.choice(_available(DTYPE_FORMS[1:]))
    if form in ("attr", "typeof"):
        return [Name(ArrayType(dtype, ()), any_shape=True)], (form,)
    rows = dr.signatures(dr.any_promoted, 2, limits.x64).get(dtype, ())
    if form == "result_type":
        if rows and ch.chance(50):
            a, b = ch.choice(rows)
            names = [Name(ArrayType(a, ()), any_shape=True), Name(ArrayType(b, ()), any_shape=True)]
            return names, (form,)
        return [Name(ArrayType(dtype, ()), any_shape=True)], (form,)
    if form == "promote_types" and rows:
        a, b = ch.choice(rows)
        return [], (form, a, b)
    return [], ("dtype_call", dtype)


def dtype_arg_text(spec: tuple[str, ...], names: Iterator[str]) -> str:
    form = spec[0]
    if form == "spelled":
        return DTYPE_SPELLING[spec[1]]
    if form == "attr":
        return f"{next(names)}.dtype"
    if form == "typeof":
        return f"jax.typeof({next(names)}).dtype"
    if form == "result_type":
        return f"jnp.result_type({', '.join(names)})"
    if form == "promote_types":
        return f"jnp.promote_types({DTYPE_SPELLING[spec[1]]}, {DTYPE_SPELLING[spec[2]]})"
    return f"jnp.dtype({DTYPE_SPELLING[spec[1]]})"


def split_names(args: list[str], attrs: dict[str, Any]) -> tuple[list[str], Iterator[str]]:
    """The rendered expression arguments and an iterator over the rendered names after them
    (``attrs["exprs"]``: how many expression arguments come first)."""
    n = attrs.get("exprs", 0)
    return args[:n], iter(args[n:])
