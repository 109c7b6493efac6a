"""Reference meaning of trace-time values (shapes, dtypes, constants) and of array creation."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from lark import Token, Tree

from fuzzjax.dtypes import DTYPE_FROM_SPELLING, KIND
from fuzzjax.fuzzing.inputs import finfo, np_dtype
from fuzzjax.fuzzing.reference.values import (
    Impl,
    ReferenceFailure,
    Val,
    attrs,
    concrete,
    default_float,
    default_int,
    ints,
    mark,
    promote,
    promote_all,
    weak_default,
    whole,
)

if TYPE_CHECKING:
    from fuzzjax.fuzzing.reference.interp import Interp


def _name(it: Interp, node: Tree[Token] | Token) -> Val:
    return it.eval(node)


def shape_value(it: Interp, node: Tree[Token] | Token) -> tuple[int, ...]:
    """A shape argument: ``(2, 3)``, ``x0.shape``, ``jnp.shape(x0)``, ``lax.broadcast_shapes``."""
    if isinstance(node, Token):
        return (int(node),)
    if node.data in ("int_tuple", "index", "axis_index"):
        return ints(node)
    if node.data in ("static_shape", "static_shape_call", "static_typeof_shape"):
        return tuple(np.shape(_name(it, node.children[0]).value))
    if node.data in ("static_broadcast_shapes", "static_jnp_broadcast_shapes"):
        return tuple(np.broadcast_shapes(*(shape_value(it, c) for c in node.children)))
    raise ReferenceFailure(f"not a shape: {node.data}")


def dtype_value(it: Interp, node: Tree[Token] | Token) -> str:
    """A dtype argument: ``jnp.float32``, ``x0.dtype``, ``jnp.result_type(x0, x1)``, ..."""
    if isinstance(node, Token):
        return DTYPE_FROM_SPELLING[str(node)]
    if node.data in ("static_dtype", "static_typeof_dtype"):
        return _name(it, node.children[0]).dtype
    if node.data == "static_result_type":
        return promote_all(*(_name(it, c).dtype for c in node.children))
    if node.data == "static_promote_types":
        a, b = (dtype_value(it, c) for c in node.children)
        return promote(a, b)
    if node.data == "static_dtype_call":
        return dtype_value(it, node.children[0])
    raise ReferenceFailure(f"not a dtype: {node.data}")


def const_value(it: Interp, node: Tree[Token]) -> Val:
    """A trace-time constant: a weak Python scalar, or a NumPy scalar of finfo/iinfo."""
    alias = node.data
    if alias in ("const_pi", "const_e", "const_inf", "const_nan"):
        value = {"const_pi": math.pi, "const_e": math.e, "const_inf": math.inf}.get(alias, math.nan)
        return Val(np.array(value), "f*")
    if alias.startswith(("const_finfo", "const_iinfo")):
        dtype = dtype_value(it, node.children[0])
        field = alias.rsplit("_", 1)[1]
        info = finfo(dtype) if "finfo" in alias else np.iinfo(np_dtype(dtype))
        return Val(np.array(getattr(info, field), dtype=np_dtype(dtype)), dtype)
    shape = np.shape(_name(it, node.children[0]).value)
    if alias in ("const_ndim", "const_ndim_call"):
        return Val(np.array(len(shape)), "i*")
    if alias in ("const_size", "const_size_call"):
        return Val(np.array(math.prod(shape)), "i*")
    return Val(np.array(shape[int(str(node.children[1]))]), "i*")  # const_dim


def cast(it: Interp, val: Val, target: str) -> Val:
    """``val`` converted to ``target`` as ``astype`` does (out-of-range floats undefined)."""
    x, undefined = np.asarray(val.value), dict(val.undefined)
    source = weak_default(val.dtype)
    if KIND[source] in "fc" and KIND[target] in "iu":
        info = np.iinfo(np_dtype(target))
        real = x.real if np.iscomplexobj(x) else x
        truncated = np.trunc(it.flush(real.astype(np.float64), source))
        bad = ~np.isfinite(truncated) | (truncated < info.min) | (truncated > info.max)
        mark(undefined, "float_to_int_out_of_range", bad)
        return it.out(np.where(bad, 0, truncated), target, undefined)
    if KIND[target] == "b":
        wide = x.astype(np.complex128 if np.iscomplexobj(x) else np.float64)
        return it.out(it.flush(wide, source) != 0, target, undefined)
    if KIND[source] in "iub" and KIND[target] in "fc":
        return it.out(x.astype(np.float64), target, undefined)
    if KIND[target] != "c" and np.iscomplexobj(x):
        x = x.real
    x = it.daz(x, source, target)
    return it.out(x.astype(np_dtype(target)), target, undefined)


def _dtype_kw(it: Interp, rest: list[Tree[Token] | Token], default: str) -> str:
    return dtype_value(it, rest[0]) if rest else default


def _filled(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    shape_node, *rest = attrs(tree)
    shape, dtype = shape_value(it, shape_node), _dtype_kw(it, rest, default_float())
    if tree.data == "full":
        (fill,) = args
        dtype = dtype_value(it, rest[0]) if rest else concrete([fill])[0]
        value = cast(it, fill, dtype)  # its marks: the fill's and the cast's (inf to int)
        return Val(np.broadcast_to(value.value, shape).copy(), dtype, whole([value], shape))
    fill_value = 1 if tree.data == "ones" else 0
    return it.out(np.full(shape, fill_value), dtype)


def _full_like(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    like, fill = args
    value = cast(it, fill, like.dtype)
    shape = np.shape(like.value)
    return Val(np.broadcast_to(value.value, shape).copy(), like.dtype, whole([value], shape))


def _eye(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    a = attrs(tree)
    sizes = [int(t) for t in a if isinstance(t, Token) and t.type == "INT"]
    dtypes = [t for t in a if not (isinstance(t, Token) and t.type == "INT")]
    n, m = sizes[0], sizes[-1]
    return it.out(np.eye(n, m), _dtype_kw(it, dtypes, default_float()))


def _arange(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    a = attrs(tree)
    numbers = [int(t) for t in a if isinstance(t, Token) and t.type == "SIGNED_INT"]
    dtypes = [t for t in a if not (isinstance(t, Token) and t.type == "SIGNED_INT")]
    start, stop, step = (0, numbers[0], 1) if len(numbers) == 1 else (*numbers, 1)[:3]
    return it.out(np.arange(start, stop, step), _dtype_kw(it, dtypes, default_int()))


def _linspace(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    lo, hi, n, *rest = attrs(tree)
    values = np.linspace(float(str(lo)), float(str(hi)), int(str(n)))
    return it.out(values, _dtype_kw(it, rest, default_float()))


def _array(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    (x,) = args
    rest = attrs(tree)
    return cast(it, x, dtype_value(it, rest[0])) if rest else Val(x.value, x.dtype, x.undefined)


def _array_list(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    rest = attrs(tree)
    dtype = dtype_value(it, rest[0]) if rest else concrete(args)[0]
    if not rest and all(v.weak for v in args):
        dtype = default_float() if any(v.dtype == "f*" for v in args) else default_int()
    items = [cast(it, v, dtype) for v in args]
    value = np.stack([np.asarray(v.value) for v in items])
    undefined = {}
    for tag in {t for v in items for t in v.undefined}:
        undefined[tag] = np.stack(
            [np.broadcast_to(v.undefined.get(tag, False), np.shape(v.value)) for v in items]
        )
    return Val(value, dtype, undefined)


def _one_hot(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    (x,) = args
    n, *rest = attrs(tree)
    hot = np.asarray(x.value)[..., None] == np.arange(int(str(n)))
    return it.out(hot, _dtype_kw(it, rest, default_float()), whole([x], hot.shape))


def _cast(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    (arg,) = args
    return cast(it, arg, dtype_value(it, attrs(tree)[0]))


#: Creation and casts.
IMPL: dict[str, Impl] = {
    **dict.fromkeys(("zeros", "ones", "empty", "full"), _filled),
    **dict.fromkeys(("eye", "identity"), _eye),
    **dict.fromkeys(
        ("astype", "asarray", "convert_element_type", "jnp_astype", "dtype_call"), _cast
    ),
    "full_like": _full_like,
    "arange": _arange,
    "linspace": _linspace,
    "array": _array,
    "array_list": _array_list,
    "one_hot": _one_hot,
}
