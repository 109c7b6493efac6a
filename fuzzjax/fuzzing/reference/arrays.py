"""Reference meaning of reductions, scans, sorting, shape ops, indexing, updates and casts."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ml_dtypes
import numpy as np
from lark import Token, Tree

from fuzzjax.dtypes import KIND, real_dtype
from fuzzjax.fuzzing.inputs import np_dtype
from fuzzjax.fuzzing.reference.creation import dtype_value, shape_value
from fuzzjax.fuzzing.reference.values import (
    ACC_LIMIT,
    Impl,
    ReferenceFailure,
    Val,
    attrs,
    concrete,
    dtype_fn,
    ints,
    literal,
    mark,
    promote_all,
    wide,
)

if TYPE_CHECKING:
    from fuzzjax.fuzzing.reference.interp import Interp


# ---- reductions and scans ---------------------------------------------------------------


def _reduce_attrs(it: Interp, tree: Tree[Token]) -> tuple[int | None, bool, str | None]:
    """axis, keepdims and dtype; method forms (``x.sum()``, ``x.sum(axis=0)``) omit some."""
    a = attrs(tree)
    if tree.data == "norm":
        return int(str(a[0])), str(a[1]) == "True", None
    if not a:
        return None, False, None
    axis = None if isinstance(a[0], Tree) and a[0].data == "axis_none" else ints(a[0])[0]
    keepdims = len(a) > 1 and str(a[1]) == "True"
    dtype = dtype_value(it, a[2]) if len(a) > 2 and tree.data.endswith("_dtype") else None
    return axis, keepdims, dtype


def _logsumexp(x: np.ndarray, axis: int | None, keepdims: bool) -> np.ndarray:
    top = np.max(x, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0)
    total = np.sum(np.exp(x - top), axis=axis, keepdims=True)
    out = np.log(total) + top
    return np.asarray(out if keepdims else np.squeeze(out, axis=axis))


def _nanarg(fn: Callable[..., Any]) -> Callable[..., Any]:
    def arg(x: np.ndarray, axis: int | None, keepdims: bool) -> np.ndarray:
        allnan = np.all(np.isnan(x), axis=axis, keepdims=True)
        safe = np.where(allnan, 0, x)
        out = fn(safe, axis=axis, keepdims=True)
        out = np.where(allnan, -1, out)
        return out if keepdims else np.squeeze(out, axis=axis)

    return arg


#: name -> (numpy function of (x, axis, keepdims), computed in the operand dtype?)
REDUCE: dict[str, tuple[Callable[..., Any], bool]] = {
    "sum": (np.sum, False), "prod": (np.prod, False), "mean": (np.mean, False),
    "average": (np.mean, False), "max": (np.max, True), "min": (np.min, True),
    "amax": (np.max, True), "amin": (np.min, True), "any": (np.any, True),
    "all": (np.all, True), "var": (np.var, False), "std": (np.std, False),
    "argmax": (np.argmax, True), "argmin": (np.argmin, True), "nansum": (np.nansum, False),
    "nanprod": (np.nanprod, False), "nanmean": (np.nanmean, False),
    "nanmax": (np.nanmax, True), "nanmin": (np.nanmin, True), "nanvar": (np.nanvar, False),
    "nanstd": (np.nanstd, False), "nanargmax": (_nanarg(np.argmax), True),
    "nanargmin": (_nanarg(np.argmin), True), "count_nonzero": (np.count_nonzero, True),
    "ptp": (np.ptp, True), "median": (np.median, False), "logsumexp": (_logsumexp, False),
    "norm": (lambda x, axis, keepdims: np.sqrt(np.sum(np.abs(x) ** 2, axis, keepdims=keepdims)),
             False),
    "sum_dtype": (np.sum, False), "prod_dtype": (np.prod, False), "mean_dtype": (np.mean, False),
}  # fmt: skip


def _reduction(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    (arg,) = args
    axis, keepdims, explicit = _reduce_attrs(it, tree)
    out = explicit or dtype_fn(tree.data)(arg.dtype)
    if out is None:
        raise ReferenceFailure(f"{tree.data} does not accept {arg.dtype}")
    fn, in_operand = REDUCE[tree.data]
    compute = arg.dtype if in_operand or (KIND[arg.dtype] == "c" and KIND[out] == "f") else out
    if tree.data == "median":
        compute = out
    x = it.to(arg, compute)
    bad_cast = _bad_cast(arg, compute)
    if KIND[compute] in "iu" and tree.data in ("sum", "prod", "nansum", "nanprod", "sum_dtype",
                                               "prod_dtype", "ptp"):  # fmt: skip
        result = np.asarray(fn(x.astype(np.int64), axis=axis, keepdims=keepdims))
    else:
        result = np.asarray(fn(x, axis=axis, keepdims=keepdims))
    undefined = {
        tag: np.asarray(np.any(np.broadcast_to(m, x.shape), axis=axis, keepdims=keepdims))
        for tag, m in arg.undefined.items()
    }
    mark(undefined, "float_to_int_out_of_range", np.any(bad_cast, axis=axis, keepdims=keepdims))
    if KIND[out] in "fc" and not in_operand:
        hazard = _reduction_hazard(tree.data, x, axis, keepdims, compute)
        mark(undefined, "float_accumulation_order", hazard)
    return it.out(result, out, undefined)


def _reduction_hazard(
    alias: str, x: np.ndarray, axis: int | None, keep: bool, compute: str = "float32"
) -> np.ndarray:
    """Where partial results may overflow/underflow in float32 although the exact one does not
    (``compute`` float64/complex128, x64 programs: in float64, where the magnitudes may)."""
    if real_dtype(compute) == "float64":
        return _hazard64(alias, x, axis, keep)
    mag = np.abs(np.where(np.isnan(x), 0, x)) if alias.startswith("nan") else np.abs(x)
    if "prod" in alias:
        big, small = _log_extent(mag, lambda v: np.sum(v, axis=axis, keepdims=keep))
        zero = np.any(mag == 0, axis=axis, keepdims=keep)
        inf = np.any(np.isinf(mag), axis=axis, keepdims=keep)
        hi, lo = np.log(ACC_LIMIT), np.log(float(np.finfo(np.float32).tiny))
        return np.asarray(((big > hi) & ((small < 0) | zero)) | ((small < lo) & ((big > 0) | inf)))
    nonfinite = np.any(~np.isfinite(mag), axis=axis, keepdims=keep)
    mag = np.where(np.isfinite(mag), mag, 0)
    total = np.sum(mag if alias != "norm" else mag**2, axis=axis, keepdims=keep)
    n = max(1, mag.size // max(1, np.size(total)))
    exact = np.abs(np.sum(np.where(np.isnan(x), 0, x), axis=axis, keepdims=keep))
    low = _low_max(compute)
    extra = np.zeros(np.shape(total), bool)
    if alias in ("var", "std", "nanvar", "nanstd"):
        centered = x - np.mean(x, axis=axis, keepdims=True)
        squares = np.sum(np.abs(centered) ** 2, axis=axis, keepdims=keep)
        total, exact = np.maximum(total, squares), squares / n
        if alias.endswith("std") and low:  # std = sqrt(the variance rounded to the dtype)
            extra = (exact > low) & (np.sqrt(exact) <= low)
    elif "mean" in alias or alias in ("average", "norm"):
        exact = exact / n if alias != "norm" else np.sqrt(total)
        if alias == "norm" and low:  # norm's sum of squares is kept in the dtype
            extra = (total > low) & (exact <= low)
    return np.asarray(((total > ACC_LIMIT) & ((exact <= ACC_LIMIT) | nonfinite)) | extra)


def _low_max(dtype: str) -> float:
    """The largest finite value of ``dtype`` if it is float16/bfloat16 (else 0): JAX, like NumPy,
    computes a float16 ``std`` as the square root of the variance rounded to float16, a
    ``norm`` and a cumulative product in float16, so those overflow where the exact result
    does not (NumPy's np.std and np.linalg.norm on float16 give the same inf)."""
    return float(ml_dtypes.finfo(np_dtype(dtype)).max) if dtype in ("float16", "bfloat16") else 0.0


def _cumprod_hazard(x: np.ndarray, axis: int, nan: bool, dtype: str) -> np.ndarray:
    """Where a cumulative product's partial products may overflow in the dtype although the
    element does not: XLA's scan multiplies in a tree order, so a large partial product can
    come before the small factors that bring it back (``float_accumulation_order``)."""
    mag = np.abs(np.where(np.isnan(x), 1, x)) if nan else np.abs(x)
    big, small = _log_extent(mag, lambda v: np.cumsum(v, axis))
    limit = np.log(_low_max(dtype) or ACC_LIMIT)
    return np.asarray((big > limit) & (big + small <= limit))


def _log_extent(
    mag: np.ndarray, reduce: Callable[[np.ndarray], np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """How far partial products of the finite nonzero magnitudes ``mag`` can climb and fall:
    ``reduce`` (a sum or cumulative sum along the axis) of their positive and of their
    negative natural logarithms."""
    finite = np.isfinite(mag) & (mag > 0)
    logs = np.log(np.where(finite, mag, 1.0).astype(np.float64))
    return reduce(np.where(logs > 0, logs, 0.0)), reduce(np.where(logs < 0, logs, 0.0))


def _hazard64(alias: str, x: np.ndarray, axis: int | None, keep: bool) -> np.ndarray:
    """float64 accumulation: where the magnitudes (products: their logarithms) leave float64's
    range, the partial results and so the result depend on the order. The float64 sums cannot
    tell whether the exact one stays in range, so every such element is marked."""
    mag = np.abs(np.where(np.isnan(x), 0, x)) if alias.startswith("nan") else np.abs(x)
    mag = np.where(np.isfinite(mag), mag, 0).astype(np.float64)
    fi = np.finfo(np.float64)
    if "prod" in alias:
        big, small = _log_extent(mag, lambda v: np.sum(v, axis=axis, keepdims=keep))
        return np.asarray((big > np.log(fi.max)) | (small < np.log(fi.tiny)))
    squared = alias in ("norm", "var", "std", "nanvar", "nanstd")
    total = np.sum(mag**2 if squared else mag, axis=axis, keepdims=keep)
    return np.asarray(~(total <= fi.max))


def _top_k(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """lax.top_k order: NaN first (negative NaN last), then descending, ties by lower index."""
    nan = np.isnan(x) if x.dtype.kind == "f" else np.zeros(x.shape, bool)
    group = np.where(nan, np.where(np.signbit(x), 2, 0), 1)  # XLA total order: -NaN sorts lowest
    key = -np.where(nan, 0, x).astype(np.float64)
    index = np.broadcast_to(np.arange(x.shape[-1]), x.shape)
    order = np.lexsort((index, key, group), axis=-1)[..., :k]
    return np.take_along_axis(x, order, -1), order


def _scan(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    (arg,) = args
    alias, a = tree.data, attrs(tree)
    axis = ints(a[0])[0]
    out = dtype_value(it, a[1]) if alias == "cumsum_dtype" else None
    if alias == "top_k":
        k, which = ints(a[0])[0], ints(a[1])[0]
        values, order = _top_k(it.to(arg, arg.dtype), k)
        mask = {t: np.broadcast_to(np.any(m, -1, keepdims=True), order.shape)
                for t, m in arg.undefined.items()}  # fmt: skip
        return it.out(order, "int32", mask) if which else it.out(values, arg.dtype, mask)
    out = out or dtype_fn(alias)(arg.dtype)
    if out is None:
        raise ReferenceFailure(f"{alias} does not accept {arg.dtype}")
    compute = arg.dtype if alias in ("sort", "argsort", "lax_cummax") else out
    x = it.to(arg, compute)
    if KIND[compute] in "iu" and alias.startswith(("cum", "nancum")):
        x = x.astype(np.int64)
    fns: dict[str, Callable[[np.ndarray], Any]] = {
        "cumsum": lambda v: np.cumsum(v, axis), "cumsum_dtype": lambda v: np.cumsum(v, axis),
        "cumprod": lambda v: np.cumprod(v, axis), "nancumsum": lambda v: np.nancumsum(v, axis),
        "nancumprod": lambda v: np.nancumprod(v, axis),
        "lax_cummax": lambda v: np.maximum.accumulate(v, axis),
        "diff": lambda v: np.diff(v, axis=axis), "sort": lambda v: np.sort(v, axis),
        "argsort": lambda v: np.argsort(v, axis, kind="stable"),
        "softmax": lambda v: _softmax(v, axis), "log_softmax": lambda v: _softmax(v, axis, True),
    }  # fmt: skip
    if alias in ("sort", "argsort") and it.ftz and KIND[compute] == "f":
        # XLA on CPU compares with denormals flushed (DAZ), so a subnormal key ties with zero;
        # a sort moves values without computing them, so the values stay unflushed.
        order = np.argsort(x, axis, kind="stable")
        if alias == "argsort":
            return it.out(order, out, _axis_undefined(arg, x.shape, order.shape, axis))
        raw = wide(np.asarray(arg.value).astype(np_dtype(compute)), compute)
        moved = np.take_along_axis(raw, order, axis).astype(np_dtype(out))
        return Val(moved, out, _axis_undefined(arg, x.shape, moved.shape, axis))
    result = np.asarray(fns[alias](x))
    undefined = _axis_undefined(arg, x.shape, result.shape, axis)
    bad = np.any(_bad_cast(arg, compute), axis, keepdims=True)
    mark(undefined, "float_to_int_out_of_range", np.broadcast_to(bad, result.shape))
    if alias in ("cumprod", "nancumprod") and KIND[compute] == "f":
        hazard = _cumprod_hazard(x, axis, alias == "nancumprod", compute)
        mark(undefined, "float_accumulation_order", hazard)
    return it.out(result, out, undefined)


def _axis_undefined(
    arg: Val, shape: tuple[int, ...], result: tuple[int, ...], axis: int
) -> dict[str, np.ndarray]:
    """Undefined elements of an along-``axis`` result: every element of a slice holding an
    undefined one."""
    return {
        t: np.broadcast_to(np.any(np.broadcast_to(m, shape), axis, keepdims=True), result)
        for t, m in arg.undefined.items()
    }


def _softmax(x: np.ndarray, axis: int, log: bool = False) -> np.ndarray:
    if x.size == 0:  # nothing to normalise (np.max has no identity for an empty axis)
        return np.asarray(x)
    shifted = x - np.max(x, axis, keepdims=True)
    total = np.sum(np.exp(shifted), axis, keepdims=True)
    return np.asarray(shifted - np.log(total) if log else np.exp(shifted) / total)


# ---- shape, index, select and cast ------------------------------------------------------


def _shape_fn(it: Interp, tree: Tree[Token]) -> Callable[[np.ndarray], np.ndarray]:
    a, alias = attrs(tree), tree.data
    skip = ("pad_width", "slice", "index_none", "index_ellipsis")
    n = [() if isinstance(t, Tree) and t.data in skip else shape_value(it, t) for t in a]
    fns: dict[str, Callable[[np.ndarray], Any]] = {
        "reshape": lambda x: np.reshape(x, n[0]),
        "broadcast_to": lambda x: np.broadcast_to(x, n[0]),
        "transpose": lambda x: np.transpose(x, n[0]),
        "moveaxis": lambda x: np.moveaxis(x, n[0][0], n[1][0]),
        "expand_dims": lambda x: np.expand_dims(x, n[0][0]),
        "squeeze": lambda x: np.squeeze(x, n[0][0]),
        "swapaxes": lambda x: np.swapaxes(x, n[0][0], n[1][0]),
        "flip": lambda x: np.flip(x, n[0][0]),
        "roll": lambda x: np.roll(x, n[0][0], n[1][0] if len(n) > 1 else None),
        "tril": np.tril, "triu": np.triu, "tile": lambda x: np.tile(x, n[0]),
        "repeat": lambda x: np.repeat(x, n[0][0], n[1][0]), "ravel": np.ravel,
        "pad": lambda x: np.pad(x, [ints(w) for w in a[0].children]),  # type: ignore[union-attr]
        "getitem": lambda x: x[_subscripts(it, a)],
    }  # fmt: skip
    return fns[alias]


def _shape_op(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    if tree.data == "getitem" and args[0].items is not None:
        item = args[0].items[_subscripts(it, attrs(tree))[0]]
        assert isinstance(item, Val)
        return item
    if tree.data in ("concatenate", "stack"):
        axis = ints(attrs(tree)[0])[0]
        join = np.concatenate if tree.data == "concatenate" else np.stack
        parts = [np.asarray(v.value) for v in args]
        undefined = {t: join([np.broadcast_to(v.undefined.get(t, False), p.shape)
                              for v, p in zip(args, parts, strict=True)], axis=axis)
                     for t in {t for v in args for t in v.undefined}}  # fmt: skip
        return Val(join(parts, axis=axis), args[0].dtype, undefined)
    fn = _shape_fn(it, tree)
    x = np.asarray(args[0].value)
    masks = {t: np.array(fn(np.broadcast_to(m, x.shape))) for t, m in args[0].undefined.items()}
    return Val(np.array(fn(x)), args[0].dtype, masks)


def _subscripts(it: Interp, subs: list[Tree[Token] | Token]) -> tuple[Any, ...]:
    out: list[Any] = []
    for s in subs:
        if isinstance(s, Tree) and s.data == "slice":
            parts = [int(p) if p.strip() else None for p in it.text(s).split(":")]
            out.append(slice(*parts))
        elif isinstance(s, Tree) and s.data in ("index_none", "index_ellipsis"):
            out.append(None if s.data == "index_none" else Ellipsis)
        else:
            out.append(ints(s.children[0] if isinstance(s, Tree) else s)[0])
    return tuple(out)


def _at_update(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    x, v = args
    index = _subscripts(it, attrs(tree))
    result = np.array(np.asarray(x.value))
    update = np.asarray(v.value).astype(result.dtype)
    ops: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "at_set": lambda old: update,
        "at_add": lambda old: old + update,
        "at_multiply": lambda old: old * update,
        "at_min": lambda old: np.minimum(old, update),
        "at_max": lambda old: np.maximum(old, update),
    }
    fresh = ops[tree.data](wide(result[index], x.dtype))
    result[index] = it.flush(np.asarray(fresh), x.dtype).astype(result.dtype)
    undefined = {}
    for tag in {t for a in args for t in a.undefined}:
        m = np.array(np.broadcast_to(x.undefined.get(tag, False), result.shape))
        m[index] = np.broadcast_to(v.undefined.get(tag, False), m[index].shape) | (
            m[index] if tree.data != "at_set" else False)  # fmt: skip
        undefined[tag] = m
    return Val(result, x.dtype, undefined)


def _take(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    x, idx = args
    axis = ints(attrs(tree)[0])[0]
    data, i = np.asarray(x.value), np.asarray(idx.value).astype(np.int64)
    n = data.shape[axis]
    bad = (i < -n) | (i >= n)
    safe = np.where(bad, 0, i)
    if tree.data == "take":
        ax = axis % data.ndim
        value = np.take(data, safe, axis=ax)
        oob = bad.reshape((1,) * ax + bad.shape + (1,) * (data.ndim - ax - 1))
        idx_masks = {t: np.broadcast_to(m, bad.shape).reshape(oob.shape)
                     for t, m in idx.undefined.items()}  # fmt: skip
        masks = {t: np.take(np.broadcast_to(m, data.shape), safe, axis=ax)
                 for t, m in x.undefined.items()}  # fmt: skip
    else:
        value = np.take_along_axis(data, safe, axis=axis)
        oob = bad
        idx_masks = dict(idx.undefined)
        masks = {t: np.take_along_axis(np.broadcast_to(m, data.shape), safe, axis=axis)
                 for t, m in x.undefined.items()}  # fmt: skip
    undefined = {**masks, **{t: np.broadcast_to(m, value.shape) for t, m in idx_masks.items()}}
    mark(undefined, "index_out_of_bounds", np.broadcast_to(oob, value.shape))
    return Val(value, x.dtype, undefined)


def _where(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    cond, x, y = args
    out = promote_all(*concrete([x, y]))
    c = np.asarray(cond.value).astype(bool)
    xv, yv = (it.daz(np.asarray(v.value), v.dtype, out).astype(np_dtype(out)) for v in (x, y))
    value = np.where(c, xv, yv)
    undefined: dict[str, np.ndarray] = {}
    for tag in {t for v in args for t in v.undefined}:
        mx, my, mc = (
            np.broadcast_to(v.undefined.get(tag, False), value.shape) for v in (x, y, cond)
        )
        mark(undefined, tag, mc | np.where(c, mx, my))
    return Val(value, out, undefined)


def _clip(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    (arg,) = args
    lo, hi = (it.to(literal(str(t)), arg.dtype) for t in attrs(tree))
    return it.out(
        np.minimum(np.maximum(it.to(arg, arg.dtype), lo), hi), arg.dtype, dict(arg.undefined)
    )


def _bad_cast(val: Val, target: str) -> np.ndarray:
    """Elements of a float value that have no defined conversion to integer ``target``."""
    x = np.asarray(val.value)
    if val.weak or KIND[val.dtype] not in "fc" or KIND[target] not in "iu":
        return np.zeros(x.shape, bool)
    info = np.iinfo(np_dtype(target))
    truncated = np.trunc(
        x.astype(np.complex128).real if KIND[val.dtype] == "c" else x.astype(np.float64)
    )
    return np.asarray(~np.isfinite(truncated) | (truncated < info.min) | (truncated > info.max))


_SHAPE_OPS = ("reshape", "broadcast_to", "transpose", "moveaxis", "expand_dims", "squeeze",
              "swapaxes", "flip", "roll", "tril", "triu", "concatenate", "stack", "tile", "repeat",
              "pad", "ravel", "getitem")  # fmt: skip
_ALONG_AXIS = ("cumsum", "cumprod", "nancumsum", "nancumprod", "cumsum_dtype", "lax_cummax",
               "diff", "sort", "argsort", "top_k", "softmax", "log_softmax")  # fmt: skip

#: Reductions, scans and sorting, shape ops, indexing, updates, selection and casts.
IMPL: dict[str, Impl] = {
    **{alias: _reduction for alias in REDUCE},
    **{alias: _shape_op for alias in _SHAPE_OPS},
    **{alias: _scan for alias in _ALONG_AXIS},
    **{alias: _at_update for alias in ("at_set", "at_add", "at_multiply", "at_min", "at_max")},
    "take": _take, "take_along_axis": _take, "where": _where, "clip": _clip,
}  # fmt: skip
