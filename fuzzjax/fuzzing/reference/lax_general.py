"""Reference meaning of general lax operations (``dot_general``, dynamic slices, segment
reductions, ``gather`` / ``scatter_add`` in CLIP mode, dilated grouped convolution) and of
array functions (``split``, ``diag``, ``diagonal``, stacks, ``percentile``, solves)."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import numpy as np
from lark import Token, Tree

from fuzzjax.dtypes import KIND, real_dtype
from fuzzjax.fuzzing.inputs import finfo, np_dtype
from fuzzjax.fuzzing.reference.creation import dtype_value
from fuzzjax.fuzzing.reference.linalg import (
    _ill_conditioned,
    _windows,
    pivot_hazard,
    reciprocal_parts,
)
from fuzzjax.fuzzing.reference.values import (
    ACC_LIMIT,
    Impl,
    Val,
    attrs,
    ints,
    mark,
    whole,
    x64,
)
from fuzzjax.rules import promotion as dr

if TYPE_CHECKING:
    from fuzzjax.fuzzing.reference.interp import Interp

LETTERS = "abcdefghijklmnop"


def _wide(it: Interp, val: Val, dtype: str) -> np.ndarray:
    x = it.to(val, dtype)
    return x.astype(np.int64) if KIND[dtype] in "iu" else x


def _dot_general(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    numbers, *rest = attrs(tree)
    assert isinstance(numbers, Tree)
    ca, cb, ba, bb = (ints(t) for t in numbers.children)
    out = dtype_value(it, rest[0]) if rest else args[0].dtype
    a, b = (_wide(it, v, out) for v in args)
    letters = iter(LETTERS)
    sa, sb = [""] * a.ndim, [""] * b.ndim
    for i, j in zip(ba, bb, strict=True):
        sa[i] = sb[j] = next(letters)
    for i, j in zip(ca, cb, strict=True):
        sa[i] = sb[j] = next(letters)
    for spec in (sa, sb):
        for k, letter in enumerate(spec):
            spec[k] = letter or next(letters)
    batch = "".join(sa[i] for i in ba)
    free_a = "".join(letter for i, letter in enumerate(sa) if i not in ba and i not in ca)
    free_b = "".join(letter for j, letter in enumerate(sb) if j not in bb and j not in cb)
    subscripts = f"{''.join(sa)},{''.join(sb)}->{batch}{free_a}{free_b}"
    result = np.einsum(subscripts, a, b)
    undefined = whole(args, result.shape)
    if KIND[out] in "fc":
        finite = [np.where(np.isfinite(x), np.abs(x), 0) for x in (a, b)]
        magnitude = np.einsum(subscripts, *finite)
        mark(undefined, "float_accumulation_order", magnitude > ACC_LIMIT)
    return it.out(result, out, undefined)


def _clamped(start: Val, size: int, dim: int) -> int:
    """The start JAX uses: a negative index counts from the end (``i + dim`` computed in the
    index's dtype, as lax does), then it is clamped so the window fits."""
    index = np.asarray(start.value)
    if index.dtype.kind == "i" and int(index) < 0:
        with np.errstate(over="ignore"):
            index = index + np.asarray(dim).astype(index.dtype)
    return int(np.clip(int(index), 0, max(0, dim - size)))


def _dynamic(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    alias, a = tree.data, attrs(tree)
    x = np.asarray(args[0].value)
    if alias == "dynamic_slice":
        sizes = ints(a[0])
        starts = [_clamped(s, n, d) for s, n, d in zip(args[1:], sizes, x.shape, strict=True)]
        index = tuple(slice(s, s + n) for s, n in zip(starts, sizes, strict=True))
        return Val(x[index].copy(), args[0].dtype, whole(args, x[index].shape))
    if alias == "dynamic_slice_in_dim":
        size, axis = int(str(a[0])), int(str(a[1]))
        start = _clamped(args[1], size, x.shape[axis])
        part = np.take(x, range(start, start + size), axis=axis)
        return Val(part, args[0].dtype, whole(args, part.shape))
    update = it.to(args[1], args[0].dtype)
    result = it.to(args[0], args[0].dtype)
    if alias == "dynamic_update_slice_in_dim":
        axis = int(str(a[0]))
        starts = [0] * x.ndim
        starts[axis] = _clamped(args[2], update.shape[axis], x.shape[axis])
    else:
        starts = [
            _clamped(s, n, d) for s, n, d in zip(args[2:], update.shape, x.shape, strict=True)
        ]
    index = tuple(slice(s, s + n) for s, n in zip(starts, update.shape, strict=True))
    result[index] = update
    return it.out(result, args[0].dtype, whole(args, result.shape))


def _segment(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    data, ids = args
    n = int(str(attrs(tree)[0]))
    x = _wide(it, data, data.dtype)
    segment = np.asarray(ids.value).astype(np.int64)
    shape = (n, *x.shape[1:])
    if tree.data == "segment_sum":
        result = np.zeros(shape, x.dtype)
        for row, s in enumerate(segment):
            if 0 <= s < n:
                result[s] = result[s] + x[row]
    else:  # segment_max: an empty segment holds the lowest value; NaN propagates
        floating = KIND[data.dtype] == "f"
        lowest = -np.inf if floating else np.iinfo(np_dtype(data.dtype)).min
        result = np.full(shape, lowest, np.float64 if floating else np.int64)
        for row, s in enumerate(segment):
            if 0 <= s < n:
                result[s] = np.maximum(result[s], x[row])
    undefined = whole(args, shape)
    if KIND[data.dtype] in "fc" and tree.data == "segment_sum":
        magnitude = np.abs(np.where(np.isfinite(result), result, 0))
        mark(undefined, "float_accumulation_order", magnitude > ACC_LIMIT)
    return it.out(result, data.dtype, undefined)


def _gather(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    operand, indices = args
    offsets, collapsed, index_map, sizes = (ints(t) for t in attrs(tree))
    x, idx = np.asarray(operand.value), np.asarray(indices.value).astype(np.int64)
    batch_shape = idx.shape[:-1]
    kept = [d for d in range(x.ndim) if d not in collapsed]
    out_rank = len(batch_shape) + len(kept)
    out_shape = [0] * out_rank
    batch_positions = [p for p in range(out_rank) if p not in offsets]
    for p, n in zip(batch_positions, batch_shape, strict=True):
        out_shape[p] = n
    for p, d in zip(offsets, kept, strict=True):
        out_shape[p] = sizes[d]
    result = np.zeros(out_shape, x.dtype)
    for out_index in itertools.product(*(range(n) for n in out_shape)):
        batch = tuple(out_index[p] for p in batch_positions)
        start = [0] * x.ndim
        for j, d in enumerate(index_map):
            start[d] = int(np.clip(idx[batch + (j,)], 0, x.shape[d] - sizes[d]))
        position = list(start)
        for p, d in zip(offsets, kept, strict=True):
            position[d] += out_index[p]
        result[out_index] = x[tuple(position)]
    return Val(result, operand.dtype, whole(args, result.shape))


def _scatter_add(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    operand, indices, updates = args
    window_dims, inserted, index_map = (ints(t) for t in attrs(tree))
    x = _wide(it, operand, operand.dtype)
    u = _wide(it, updates, operand.dtype)
    idx = np.asarray(indices.value).astype(np.int64)
    result = np.array(x)
    window_axes = [d for d in range(x.ndim) if d not in inserted]
    full = [1] * x.ndim
    for p, d in zip(window_dims, window_axes, strict=True):
        full[d] = u.shape[p]
    batch_positions = [p for p in range(u.ndim) if p not in window_dims]
    for u_index in itertools.product(*(range(n) for n in u.shape)):
        batch = tuple(u_index[p] for p in batch_positions)
        position = [0] * x.ndim
        for j, d in enumerate(index_map):
            position[d] = int(np.clip(idx[batch + (j,)], 0, x.shape[d] - full[d]))
        for p, d in zip(window_dims, window_axes, strict=True):
            position[d] += u_index[p]
        result[tuple(position)] += u[u_index]
    undefined = whole(args, result.shape)
    if KIND[operand.dtype] in "fc":
        magnitude = np.abs(np.where(np.isfinite(result), result, 0))
        mark(undefined, "float_accumulation_order", magnitude > ACC_LIMIT)
    return it.out(result, operand.dtype, undefined)


def _conv(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    strides_t, padding_t, lhs_t, rhs_t, groups_t = attrs(tree)
    lhs, rhs = (it.to(v, args[0].dtype) for v in args)
    strides, lhs_d, rhs_d, groups = ints(strides_t), ints(lhs_t), ints(rhs_t), int(str(groups_t))
    spatial = lhs.ndim - 2
    dilated_shape = [lhs.shape[0], lhs.shape[1]] + [
        (n - 1) * d + 1 if n else 0 for n, d in zip(lhs.shape[2:], lhs_d, strict=True)
    ]
    x = np.zeros(dilated_shape, lhs.dtype)
    every: Any = (Ellipsis, *(slice(None, None, d) for d in lhs_d))
    x[every] = lhs
    reach = tuple((k - 1) * d + 1 for k, d in zip(rhs.shape[2:], rhs_d, strict=True))
    kernel = np.zeros(rhs.shape[:2] + reach, rhs.dtype)
    every = (Ellipsis, *(slice(None, None, d) for d in rhs_d))
    kernel[every] = rhs
    if isinstance(padding_t, Tree):  # explicit (lo, hi) pairs
        pads = [ints(p) for p in padding_t.children]
    elif str(padding_t).strip('"') == "SAME":
        pads = []
        for size, k, s in zip(x.shape[2:], kernel.shape[2:], strides, strict=True):
            total = max((-(-size // s) - 1) * s + k - size, 0)
            pads.append((total // 2, total - total // 2))
    else:
        pads = [(0, 0)] * spatial
    x = np.pad(x, [(0, 0), (0, 0), *[tuple(p) for p in pads]])
    win = _windows(x, tuple(kernel.shape[2:]), tuple(strides))  # n, c, *out, *kernel
    result = _grouped(win, kernel, spatial, groups)
    undefined = whole(args, result.shape)
    if real_dtype(args[0].dtype) == "float64":  # x64: products or sums beyond float64's range
        finite = [np.where(np.isfinite(v), np.abs(v), 0) for v in (win, kernel)]
        magnitude = _grouped(finite[0], finite[1], spatial, groups)
        mark(undefined, "float_accumulation_order", ~(magnitude <= np.finfo(np.float64).max))
    return it.out(result, args[0].dtype, undefined)


def _grouped(win: np.ndarray, kernel: np.ndarray, spatial: int, groups: int) -> np.ndarray:
    """The convolution of the windows ``win`` (n, c, *out, *kernel) with ``kernel``."""
    letters, ks = "xyz"[:spatial], "klm"[:spatial]
    per_group = win.shape[1] // groups
    out_group = kernel.shape[0] // groups
    parts = [
        np.einsum(
            f"nc{letters}{ks},oc{ks}->no{letters}",
            win[:, g * per_group : (g + 1) * per_group],
            kernel[g * out_group : (g + 1) * out_group],
        )
        for g in range(groups)
    ]
    return np.concatenate(parts, axis=1)


def _array_function(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    alias, a = tree.data, attrs(tree)
    xs = [np.asarray(v.value) for v in args]
    dtype = args[0].dtype
    if alias == "split":
        parts, axis, which = (int(str(t)) for t in a)
        value = np.split(xs[0], parts, axis=axis)[which]
    elif alias == "diag":
        value = np.diag(xs[0])
    elif alias == "diagonal":
        first, second = (int(str(t)) for t in a)
        value = np.diagonal(xs[0], axis1=first, axis2=second)
    elif alias == "hstack":
        value = np.hstack(xs)
    elif alias == "vstack":
        value = np.vstack(xs)
    else:  # append
        value = np.append(xs[0], xs[1], axis=int(str(a[0])))
    return Val(np.array(value), dtype, whole(args, np.shape(value)))


def _quantile(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    (arg,) = args
    q_t, axis_t = attrs(tree)
    out = dr.to_real_inexact(arg.dtype, x64=x64()) or "float32"
    x = it.to(arg, out)
    q = float(str(q_t)) / (100 if tree.data == "percentile" else 1)
    value, undefined = quantile(x, q, int(str(axis_t)))
    found = whole(args, np.shape(value))
    mark(found, "quantile_opposite_infinities", undefined)
    return it.out(value, out, found)


def quantile(x: np.ndarray, q: float, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.quantile(x, q, axis)`` (linear interpolation between the sorted neighbours at
    position q (n - 1)) with the limits where a neighbour is infinite, and where the answer
    is undefined (-inf and +inf interpolated strictly between them).

    NumPy's own lerp gives NaN there (``b - (b - a)(1 - t)`` is inf - inf, and at t = 0 it
    still reads the next element: ``quantile([-inf, 1, inf], 0.5)`` is NaN, not 1), an open
    NumPy bug (https://github.com/numpy/numpy/issues/21091, numpy/numpy#12282), not a
    convention: the interpolation is x_lo where t = 0 or x_lo = x_hi, else the infinity."""
    dtype = np.asarray(x).dtype
    wide = np.float64 if dtype.itemsize < 8 else dtype
    with np.errstate(all="ignore"):
        low = np.asarray(np.quantile(x, q, axis=axis, method="lower")).astype(wide)
        high = np.asarray(np.quantile(x, q, axis=axis, method="higher")).astype(wide)
        position = q * (np.shape(x)[axis] - 1)
        t = position - np.floor(position)
        # NumPy's lerp (monotone), in a wider type: the difference of two float16 or float32
        # values does not overflow there
        linear = low + (high - low) * t if t < 0.5 else high - (high - low) * (1 - t)
    nan = np.isnan(low) | np.isnan(high)
    same = (t == 0) | (low == high)
    finite = np.isfinite(low) & np.isfinite(high)
    opposite = np.isinf(low) & np.isinf(high) & ~same
    limit = np.where(np.isinf(low), low, high)
    value = np.where(finite, linear, np.where(opposite, np.nan, limit))
    value = np.where(nan, np.nan, np.where(same, low, value))
    return np.asarray(value.astype(dtype)), np.asarray(opposite & ~nan)


def _solve(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    dtype = args[1].dtype
    a, b = (it.to(v, dtype) for v in args)
    lower = str(attrs(tree)[0]) == "True" if attrs(tree) else True
    if tree.data == "solve_triangular":
        matrix = np.tril(a) if lower else np.triu(a)
    elif tree.data == "cho_solve":
        factor = np.tril(a) if lower else np.triu(a)
        matrix = factor @ np.conj(factor.T) if lower else np.conj(factor.T) @ factor
    else:
        matrix = a
    try:
        result = np.linalg.solve(matrix, b)
        failed = np.zeros(np.shape(result), bool)
    except np.linalg.LinAlgError:
        result, failed = np.full(np.shape(b), np.nan), np.ones(np.shape(b), bool)
    undefined = whole(args, np.shape(result))
    bad = failed | _ill_conditioned("solve", matrix, np.shape(result))
    mark(undefined, "linalg_singular_or_nonfinite", bad)
    if bad.any():
        return it.out(result, dtype, undefined)
    triangular = tree.data == "solve_triangular"
    with np.errstate(all="ignore"):
        inverse = np.abs(np.linalg.inv(matrix))
    hazard = _solve_hazard(matrix, inverse, b, result, dtype, triangular)
    if tree.data == "scipy_solve" and pivot_hazard(matrix, dtype):
        hazard = np.ones(np.shape(result), bool)
    mark(undefined, "float_accumulation_order", hazard)
    out = it.out(result, dtype, undefined)
    if triangular:
        slack = substitution_slack(matrix, inverse, result, dtype)
        return Val(out.value, out.dtype, out.undefined, slack=slack)
    return out


def substitution_slack(
    matrix: np.ndarray, inverse: np.ndarray, x: np.ndarray, dtype: str
) -> np.ndarray:
    """Forward error bound of a triangular solve in ``dtype`` (machine epsilon ``eps``):
    ``n * eps * |T^-1| |T| |x|`` (``inverse``: ``|T^-1|``), twice that for complex dtypes
    (backward stable substitution, ``(T + dT) x' = b`` with ``|dT| <= gamma_n |T|``: Higham,
    Accuracy and Stability of Numerical Algorithms, 2nd ed., Thm 8.5 and (7.9); complex
    arithmetic rounds up to about twice as much per operation, sec. 3.6). It also bounds the
    final rounding of ``x``. XLA's CPU expander solves float16/bfloat16 systems in that type
    (or with float32 intermediates), LAPACK's trsm float32/complex64 ones."""
    n = max(1, matrix.shape[0])
    eps = float(finfo(real_dtype(dtype)).eps) * (2 if KIND[dtype] == "c" else 1)
    with np.errstate(all="ignore"):
        slack = n * eps * (inverse @ (np.abs(matrix) @ np.abs(x)))
    return np.where(np.isfinite(slack), slack, 0.0)


def _solve_hazard(
    matrix: np.ndarray,
    inverse: np.ndarray,
    b: np.ndarray,
    x: np.ndarray,
    dtype: str,
    triangular: bool,
) -> np.ndarray:
    """Whole output when a solve's intermediates may overflow or underflow the working
    precision (float32, or a half type's own range) although the exact solution does not: the
    partial sums of a substitution, bounded by ``|A^-1| |b|`` and ``|A| |x|`` (float64
    magnitudes; ``inverse``: ``|A^-1|``); for a triangular ``A`` also the inverted diagonal
    (XLA's expander multiplies by the inverses of diagonal blocks, which are blocks of
    ``A^-1``, and LAPACK by reciprocals of the diagonal): an entry beyond the range, or a
    reciprocal whose part is below the smallest normal number (flushed to zero on CPU)."""
    info = finfo(real_dtype(dtype))
    limit, tiny = min(ACC_LIMIT, float(info.max)), float(info.tiny)
    with np.errstate(all="ignore"):
        size = np.maximum(inverse @ np.abs(b), np.abs(matrix) @ np.abs(x))
        hazard = np.any(~(np.abs(b) <= limit)) or np.any(~(size <= limit))
        if triangular and not hazard:
            parts = reciprocal_parts(np.diagonal(matrix))
            hazard = np.any(~(inverse <= limit)) or np.any((parts > 0) & (parts < tiny))
    return np.full(np.shape(x), bool(hazard))


#: General lax operations and array functions.
IMPL: dict[str, Impl] = {
    **dict.fromkeys(("dot_general", "dot_general_pet"), _dot_general),
    **dict.fromkeys(
        (
            "dynamic_slice",
            "dynamic_update_slice",
            "dynamic_slice_in_dim",
            "dynamic_update_slice_in_dim",
        ),
        _dynamic,
    ),
    **dict.fromkeys(("segment_sum", "segment_max"), _segment),
    "gather": _gather,
    "scatter_add": _scatter_add,
    "conv_dilated": _conv,
    **dict.fromkeys(("split", "diag", "diagonal", "hstack", "vstack", "append"), _array_function),
    **dict.fromkeys(("percentile", "quantile"), _quantile),
    **dict.fromkeys(("solve_triangular", "cho_solve", "scipy_solve"), _solve),
}
