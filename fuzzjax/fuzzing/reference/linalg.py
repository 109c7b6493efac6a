"""Reference meaning of contractions, convolution, pooling and linear algebra."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from lark import Token, Tree

from fuzzjax.dtypes import KIND, real_dtype
from fuzzjax.fuzzing.inputs import finfo
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
    promote_all,
    whole,
)

if TYPE_CHECKING:
    from fuzzjax.fuzzing.reference.interp import Interp


# ---- linear algebra ---------------------------------------------------------------------


def _contraction(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    alias, a = tree.data, attrs(tree)
    dtypes = concrete(args)
    out = promote_all(*dtypes)
    xs = [it.to(v, out) for v in args]
    if KIND[out] in "iu":
        xs = [x.astype(np.int64) for x in xs]
    fns: dict[str, Callable[..., Any]] = {
        "op_matmul": np.matmul, "matmul": np.matmul, "dot": _dot, "outer": np.outer,
        "inner": _inner, "vdot": np.vdot, "kron": np.kron,
        "tensordot": lambda p, q: _tensordot(p, q, ints(a[0])[0]),
        "einsum": lambda p, q: np.einsum(str(a[0]).strip('"'), p, q),
    }  # fmt: skip
    result = np.asarray(fns[alias](*xs))
    undefined = whole(args, result.shape)
    if KIND[out] in "fc":
        # Partial sums (or single products) of the finite terms that overflow in float32 can
        # turn into inf - inf = NaN in an order the reference cannot know.
        finite = [np.where(np.isfinite(x), np.abs(x), 0) for x in xs]
        magnitude = np.asarray(fns[alias](*finite))
        mark(undefined, "float_accumulation_order", magnitude > ACC_LIMIT)
    return it.out(result, out, undefined)


def _contract(p: np.ndarray, q: np.ndarray, pa: list[int], qa: list[int]) -> np.ndarray:
    """Sum over axes ``pa`` of ``p`` paired with ``qa`` of ``q``; free axes of ``p``, then of
    ``q`` (``np.tensordot``'s order). Through ``np.einsum``'s own loops: BLAS matrix-vector
    products that NumPy's dot/tensordot/inner call skip zero entries, so inf * 0 gave 0."""
    letters = iter("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    sp = [next(letters) for _ in range(p.ndim)]
    sq = [next(letters) for _ in range(q.ndim)]
    for i, j in zip(pa, qa, strict=True):
        sq[j] = sp[i]
    summed = {sp[i] for i in pa}
    free = [c for c in sp if c not in summed] + [c for c in sq if c not in summed]
    return np.asarray(np.einsum(f"{''.join(sp)},{''.join(sq)}->{''.join(free)}", p, q))


def _tensordot(p: np.ndarray, q: np.ndarray, n: int) -> np.ndarray:
    return _contract(p, q, list(range(p.ndim - n, p.ndim)), list(range(n)))


def _dot(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    if p.ndim == 0 or q.ndim == 0:
        return np.asarray(p * q)
    return _contract(p, q, [p.ndim - 1], [max(q.ndim - 2, 0)])


def _inner(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    if p.ndim == 0 or q.ndim == 0:
        return np.asarray(p * q)
    return _contract(p, q, [p.ndim - 1], [q.ndim - 1])


def _windows(x: np.ndarray, window: tuple[int, ...], strides: tuple[int, ...]) -> np.ndarray:
    """Sliding windows over the trailing ``len(window)`` axes, strided (VALID padding)."""
    view = np.lib.stride_tricks.sliding_window_view(x, window, axis=tuple(range(-len(window), 0)))
    k = len(window)
    index = (Ellipsis,) + tuple(slice(None, None, s) for s in strides) + (slice(None),) * k
    return view[index]


def _conv(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    lhs, rhs = (it.to(v, args[0].dtype) for v in args)
    strides, padding = ints(attrs(tree)[0]), str(attrs(tree)[1]).strip('"')
    kernel = rhs.shape[2:]
    if padding == "SAME":
        pads = []
        for size, k, s in zip(lhs.shape[2:], kernel, strides, strict=True):
            total = max((-(-size // s) - 1) * s + k - size, 0)
            pads.append((total // 2, total - total // 2))
        lhs = np.pad(lhs, [(0, 0), (0, 0)] + pads)
    win = _windows(lhs, tuple(kernel), strides)  # n, c, *out, *kernel
    spatial = "xyz"[: len(kernel)]
    ks = "klm"[: len(kernel)]
    spec = f"nc{spatial}{ks},oc{ks}->no{spatial}"
    result = np.einsum(spec, win, rhs)
    return it.out(result, args[0].dtype, whole(args, result.shape))


def _pool(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    a = attrs(tree)
    (arg,) = args
    x = it.to(arg, arg.dtype)
    window, strides = (ints(t) for t in a[-3:-1])
    win = _windows(x, window, strides)
    axes = tuple(range(-len(window), 0))
    if tree.data == "max_pool":
        result = np.max(win, axis=axes)
    else:
        init = it.to(literal(str(a[0])), arg.dtype)
        result = np.sum(win.astype(np.int64) if KIND[arg.dtype] in "iu" else win, axis=axes) + init
    undefined = whole(args, np.shape(result))
    if tree.data == "sum_pool" and KIND[arg.dtype] == "f":
        # XLA adds each window in the dtype (float16 too), in its own order: where the finite
        # terms' magnitudes overflow it, a partial sum may overflow (+inf meeting a -inf term
        # is NaN) although the exact sum does not, or is another infinity
        with np.errstate(all="ignore"):
            finite = np.where(np.isfinite(win), np.abs(win.astype(np.float64)), 0.0)
            magnitude = np.sum(finite, axis=axes)
        mark(undefined, "float_accumulation_order", magnitude > float(finfo(arg.dtype).max))
    return it.out(result, arg.dtype, undefined)


def _linalg(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    alias, a = tree.data, attrs(tree)
    dtype = args[0].dtype
    xs = [it.to(v, dtype) for v in args]
    x = xs[0]
    sym = (x + np.conj(np.swapaxes(x, -1, -2))) / 2 if alias in ("eigh", "cholesky") else x
    eigh_values = alias == "eigh" and ints(a[0])[0] == 0
    out = real_dtype(dtype) if eigh_values else dtype
    ambiguous = alias == "qr" or (alias == "eigh" and not eigh_values)
    try:
        if alias == "det":
            result = np.linalg.det(x)
        elif alias == "inv":
            result = np.linalg.inv(x)
        elif alias == "cholesky":
            result = np.linalg.cholesky(sym)
        elif alias == "solve":
            result = np.linalg.solve(x, xs[1])
        elif alias == "matrix_power":
            result = np.linalg.matrix_power(
                x.astype(np.int64) if KIND[dtype] in "iu" else x, ints(a[0])[0]
            )
        elif alias == "trace":
            out = dtype_fn("sum")(dtype) or dtype
            result = np.trace(x.astype(np.int64) if KIND[dtype] in "iub" else x)
        elif alias == "eigh":
            result = np.linalg.eigh(sym)[ints(a[0])[0]]
        else:  # qr
            result = np.linalg.qr(x)[ints(a[0])[0]]
        failed = np.zeros(np.shape(result), bool)
    except np.linalg.LinAlgError:
        shape = np.shape(xs[1]) if alias == "solve" else _linalg_shape(alias, x, a)
        result = np.full(shape, np.nan)
        failed = np.ones(np.shape(result), bool)
    result = np.asarray(result)
    undefined = whole(args, result.shape)
    mark(undefined, "linalg_sign_ambiguous", np.full(result.shape, ambiguous))
    bad = failed | _ill_conditioned(alias, x, result.shape)
    mark(undefined, "linalg_singular_or_nonfinite", bad)
    if alias == "solve" and not bad.any() and pivot_hazard(x, dtype):
        mark(undefined, "float_accumulation_order", np.ones(result.shape, bool))
    return it.out(result, out, undefined)


def _linalg_shape(alias: str, x: np.ndarray, a: list[Any]) -> tuple[int, ...]:
    m, n = x.shape[-2:]
    if alias == "det":
        return x.shape[:-2]
    if alias == "eigh" and ints(a[0])[0] == 0:
        return x.shape[:-1]
    if alias == "qr":
        k = min(m, n)
        return x.shape[:-2] + ((m, k) if ints(a[0])[0] == 0 else (k, n))
    return x.shape


def pivot_hazard(matrix: np.ndarray, dtype: str) -> bool:
    """Whether an LU solve of ``matrix`` (..., n, n) in ``dtype`` meets a pivot whose value or
    reciprocal is below the smallest normal number or beyond the largest finite one: LAPACK's
    getrs/trsm and XLA scale by reciprocals of the pivots, and the CPU flushes a subnormal
    one to zero (``jnp.linalg.solve([[-1.7e38]], [[-3.4e38]])`` gives 0 in float32, exactly 2).
    The pivots are those of NumPy's float64/complex128 LU with partial pivoting (SciPy's)."""
    from scipy.linalg import lu

    info = finfo(real_dtype(dtype))
    tiny, big = float(info.tiny), float(info.max)
    x = np.asarray(matrix)
    if x.ndim < 2 or x.size == 0 or not np.all(np.isfinite(x)):
        return False
    wide = x.astype(np.complex128 if KIND[dtype] == "c" else np.float64)
    for index in np.ndindex(wide.shape[:-2]):
        parts = reciprocal_parts(np.diagonal(lu(wide[index])[2]))
        if np.any((parts > 0) & (parts < tiny)) or np.any(parts > big):
            return True
    return False


def reciprocal_parts(diagonal: np.ndarray) -> np.ndarray:
    """Magnitudes of the real and imaginary parts of ``diagonal`` and of its reciprocals (what
    a solve scales by: a part below the smallest normal number is flushed to zero on CPU)."""
    with np.errstate(all="ignore"):
        return np.abs([p for d in (diagonal, 1 / diagonal) for p in (d.real, d.imag)])


def _ill_conditioned(alias: str, x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Whole output when an input matrix is non-finite or far from well conditioned."""
    if alias in ("trace", "matrix_power") or x.ndim < 2 or x.size == 0:
        return np.zeros(shape, bool)  # NumPy's cond refuses empty matrices
    bad = ~np.all(np.isfinite(x))
    if not bad:
        with np.errstate(all="ignore"):
            cond = np.linalg.cond(x) if alias not in ("eigh", "qr") else np.array(0.0)
        bad = np.bool_(np.any(~np.isfinite(cond) | (cond > 1e3)))
    return np.full(shape, bad)


#: Contractions, convolution, pooling and decompositions.
IMPL: dict[str, Impl] = {
    **{alias: _contraction for alias in ("op_matmul", "matmul", "dot", "outer", "inner", "vdot",
                                         "kron", "tensordot", "einsum")},
    **{alias: _linalg for alias in ("det", "inv", "cholesky", "solve", "matrix_power", "eigh",
                                    "qr", "trace")},
    "conv": _conv, "max_pool": _pool, "sum_pool": _pool,
}  # fmt: skip
