"""Reference meaning of method spellings, keyword variants and a few lax/jnp forms.

A method (``x.sum(axis=0)``) means what its function form means: it is evaluated by the
implementation of that alias (``METHOD_BASE``) on the same parse-tree children.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from lark import Token, Tree

from fuzzjax.dtypes import KIND
from fuzzjax.fuzzing.reference.arrays import _reduction_hazard
from fuzzjax.fuzzing.reference.creation import dtype_value, shape_value
from fuzzjax.fuzzing.reference.values import (
    ACC_LIMIT,
    Impl,
    Val,
    attrs,
    concrete,
    dtype_fn,
    ints,
    literal,
    mark,
    merge,
    promote_all,
    whole,
    x64,
)
from fuzzjax.rules import promotion as dr

if TYPE_CHECKING:
    from fuzzjax.fuzzing.reference.interp import Interp

#: Method or keyword spelling -> the alias whose meaning it has (same children, same order).
METHOD_BASE = {
    "m_real": "real",
    "m_imag": "imag",
    "m_conj": "conj",
    "m_ravel": "ravel",
    "m_flatten": "ravel",
    "m_squeeze": "squeeze",
    "m_swapaxes": "swapaxes",
    "m_sum": "sum",
    "m_mean": "mean",
    "m_prod": "prod",
    "m_max": "max",
    "m_min": "min",
    "m_any": "any",
    "m_all": "all",
    "m_std": "std",
    "m_var": "var",
    "m_argmax": "argmax",
    "m_argmin": "argmin",
    "m_cumsum": "cumsum",
    "m_sort": "sort",
    "m_clip": "clip",
    "m_take": "take",
    "m_repeat": "repeat",
    "m_dot": "dot",
    "m_trace": "trace",
    "m_reshape": "reshape",
    "sp_logsumexp": "logsumexp",
}


def method_impls(impl: dict[str, Impl]) -> dict[str, Impl]:
    """Implementations of the method spellings, from the implementations of their bases."""

    def spelled(base: str) -> Impl:
        def run(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
            return impl[base](it, Tree(base, tree.children, tree.meta), args)

        return run

    return {alias: spelled(base) for alias, base in METHOD_BASE.items()}


def _reshaped(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    """``x.T``, ``x.mT``, ``x.copy()``, ``x.reshape(2, -1)``, ``x.transpose(1, 0)``."""
    (x,) = args
    numbers = [int(str(t)) for t in attrs(tree)]
    fns: dict[str, Callable[[np.ndarray], Any]] = {
        "m_t": np.transpose,
        "m_mt": lambda v: np.swapaxes(v, -1, -2),
        "m_copy": lambda v: v,
        "m_reshape_ints": lambda v: np.reshape(v, numbers),
        "m_transpose": lambda v: np.transpose(v, numbers or None),
    }
    fn = fns[tree.data]
    shape = np.shape(x.value)
    masks = {t: np.array(fn(np.broadcast_to(m, shape))) for t, m in x.undefined.items()}
    return Val(np.array(fn(np.asarray(x.value))), x.dtype, masks)


def _axis_keep(tree: Tree[Token]) -> tuple[int | None, bool]:
    a = attrs(tree)
    axis = None if isinstance(a[0], Tree) and a[0].data == "axis_none" else ints(a[0])[0]
    return axis, str(a[1]) == "True"


def _where_reduction(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    """``jnp.sum`` / ``jnp.mean`` with ``where=mask``."""
    x, mask = args
    axis, keep = _axis_keep(tree)
    out = dtype_fn(tree.data)(x.dtype)
    assert out is not None
    value = it.to(x, out)
    if KIND[out] in "iu":
        value = value.astype(np.int64)
    where = np.broadcast_to(np.asarray(mask.value).astype(bool), value.shape)
    fn: Callable[..., Any] = np.sum if tree.data == "sum_where" else np.mean
    result = np.asarray(fn(value, axis=axis, keepdims=keep, where=where))
    undefined = {
        tag: np.asarray(np.any(np.broadcast_to(m, value.shape), axis=axis, keepdims=keep))
        for v in args
        for tag, m in v.undefined.items()
    }
    if KIND[out] in "fc":
        masked = np.where(where, value, 0)
        hazard = _reduction_hazard(tree.data.split("_")[0], masked, axis, keep, out)
        mark(undefined, "float_accumulation_order", hazard)
    return it.out(result, out, undefined)


def _initial_reduction(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    """``jnp.max`` / ``jnp.min`` with ``initial=c`` (defined on empty axes too)."""
    (x,) = args
    axis, keep = _axis_keep(tree)
    initial = it.to(literal(str(attrs(tree)[2])), x.dtype)
    fn: Callable[..., Any] = np.max if tree.data == "max_initial" else np.min
    value = it.to(x, x.dtype)
    result = np.asarray(fn(value, axis=axis, keepdims=keep, initial=initial))
    undefined = {
        tag: np.asarray(np.any(np.broadcast_to(m, value.shape), axis=axis, keepdims=keep))
        for tag, m in x.undefined.items()
    }
    return it.out(result, x.dtype, undefined)


def _norm_ord(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    (x,) = args
    order, axis_token = attrs(tree)
    axis = int(str(axis_token))
    out = dr.var_like(x.dtype, x64=x64()) or "float32"
    magnitude = np.abs(it.to(x, x.dtype))
    if str(order) == "1":
        result = np.sum(magnitude, axis=axis)
    elif str(order) == "2":
        result = np.sqrt(np.sum(magnitude**2, axis=axis))
    else:
        result = np.max(magnitude, axis=axis)
    undefined = {
        tag: np.asarray(np.any(np.broadcast_to(m, magnitude.shape), axis=axis))
        for tag, m in x.undefined.items()
    }
    if str(order) != "jnp.inf":
        alias = "norm" if str(order) == "2" else "sum"
        hazard = _reduction_hazard(alias, magnitude, axis, False, out)
        mark(undefined, "float_accumulation_order", hazard)
    return it.out(result, out, undefined)


def _select(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    pred, a, b = args
    value = np.where(np.asarray(pred.value).astype(bool), a.value, b.value)
    return Val(np.asarray(value), a.dtype, merge(args, np.shape(value)))


def _clamp(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    lo, x, hi = args
    value = np.minimum(np.maximum(it.to(x, x.dtype), it.to(lo, x.dtype)), it.to(hi, x.dtype))
    return it.out(value, x.dtype, merge(args, np.shape(value)))


def _cross(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    out = promote_all(*concrete(args))
    a, b = (it.to(v, out) for v in args)
    if KIND[out] in "iu":
        a, b = a.astype(np.int64), b.astype(np.int64)
    result = np.cross(a, b)
    return it.out(result, out, whole(args, np.shape(result)))


def _lax_full_like(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    (x,) = args
    fill = it.to(literal(str(attrs(tree)[0])), x.dtype)
    return it.out(np.full(np.shape(x.value), fill), x.dtype)


def _lax_expand_dims(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    (x,) = args
    axes = ints(attrs(tree)[0])
    value = np.expand_dims(np.asarray(x.value), axes)
    masks = {
        t: np.expand_dims(np.broadcast_to(m, np.shape(x.value)), axes)
        for t, m in x.undefined.items()
    }
    return Val(value, x.dtype, masks)


def _iota(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    dtype_node, shape_node, axis_token = attrs(tree)
    shape, axis = shape_value(it, shape_node), int(str(axis_token))
    index = np.arange(shape[axis]).reshape([-1 if i == axis else 1 for i in range(len(shape))])
    return it.out(np.broadcast_to(index, shape), dtype_value(it, dtype_node))


def _matmul_pet(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    out = dtype_value(it, attrs(tree)[0])
    a, b = (it.to(v, out) for v in args)
    if KIND[out] in "iu":
        a, b = a.astype(np.int64), b.astype(np.int64)
    result = np.matmul(a, b)
    undefined = whole(args, np.shape(result))
    if KIND[out] in "fc":
        finite = [np.where(np.isfinite(x), np.abs(x), 0) for x in (a, b)]
        mark(undefined, "float_accumulation_order", np.matmul(*finite) > ACC_LIMIT)
    return it.out(result, out, undefined)


#: Keyword variants and forms with their own meaning.
IMPL: dict[str, Impl] = {
    **dict.fromkeys(("m_t", "m_mt", "m_copy", "m_reshape_ints", "m_transpose"), _reshaped),
    **dict.fromkeys(("sum_where", "mean_where"), _where_reduction),
    **dict.fromkeys(("max_initial", "min_initial"), _initial_reduction),
    "norm_ord": _norm_ord,
    "lax_select": _select,
    "lax_clamp": _clamp,
    "cross": _cross,
    "lax_full_like": _lax_full_like,
    "lax_expand_dims": _lax_expand_dims,
    "lax_iota": _iota,
    "matmul_pet": _matmul_pet,
}
