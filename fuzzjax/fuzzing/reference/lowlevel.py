"""Reference meaning of the primitives of ``fuzzjax.rules.lowlevel``: precision reduction,
barriers, Fourier transforms, composites, one-device collectives and sharding annotations,
and the backward pass of max pooling."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from lark import Token, Tree

from fuzzjax.dtypes import real_dtype
from fuzzjax.fuzzing.inputs import finfo
from fuzzjax.fuzzing.reference.elementwise import IMPL as ELEMENTWISE_IMPL
from fuzzjax.fuzzing.reference.values import (
    ACC_LIMIT,
    Impl,
    Val,
    attrs,
    bind,
    ints,
    is_expression,
    mark,
    whole,
)
from fuzzjax.rules.lowlevel import FFT_WIDE

if TYPE_CHECKING:
    from fuzzjax.fuzzing.reference.interp import Interp


#: (exponent bits, mantissa bits, unsigned integer of the same width) of the source dtypes.
_FORMATS: dict[str, tuple[int, int, type[np.unsignedinteger[Any]]]] = {
    "float32": (8, 23, np.uint32),
    "float64": (11, 52, np.uint64),
}


def reduce_precision(
    x: np.ndarray, exponent_bits: int, mantissa_bits: int, dtype: str = "float32"
) -> np.ndarray:
    """XLA's ReducePrecision of a ``dtype`` array: round the stored significand bits to
    ``mantissa_bits`` (to nearest, ties to even, on the raw bits, so subnormals round at the
    same bit and a carry may reach infinity); then, only if ``exponent_bits`` is narrower than
    ``dtype``'s, overflow to +-inf above the format's largest value and flush below its
    smallest normal to signed zero (the reduced format has no subnormals)."""
    src_exponent, src_mantissa, word = _FORMATS[dtype]
    value = np.asarray(x).astype(dtype)
    bits = value.view(word)
    drop = src_mantissa - mantissa_bits
    if drop > 0:
        one, shift = np.asarray(1, word), np.asarray(drop, word)
        half = (one << (shift - one)) - one
        bias = ((bits >> shift) & one) + half
        bits = (bits + bias) & ~((one << shift) - one)
    rounded = np.where(np.isnan(value), value, bits.view(dtype)).astype(np.float64)
    if exponent_bits >= src_exponent:
        return rounded
    bias_e = 2 ** (exponent_bits - 1) - 1
    largest = (2 - 2.0**-mantissa_bits) * 2.0**bias_e
    smallest = 2.0 ** (1 - bias_e)
    with np.errstate(invalid="ignore"):
        out = np.where(np.abs(rounded) > largest, np.copysign(np.inf, rounded), rounded)
        return np.where(np.abs(out) < smallest, np.copysign(0.0, rounded), out)


def _reduce_precision(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    (x,) = args
    e, m = (int(str(t)) for t in attrs(tree))
    # No flush of subnormal inputs: XLA rounds them (1.1754942e-38 to bfloat16's 2**-126).
    result = reduce_precision(np.asarray(x.value), e, m, x.dtype)
    return it.out(result, x.dtype, dict(x.undefined))


def _identity(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    (x,) = args
    return x


def _fourier(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    """jnp.fft along the last axis, in complex128/float64; a row holding a non-finite value
    or partial sums past float32's range is undefined (XLA's butterfly order decides)."""
    (x,) = args
    alias = tree.data
    complex_out = "complex128" if x.dtype in FFT_WIDE else "complex64"
    real_out = real_dtype(complex_out)
    wide: np.ndarray
    result: np.ndarray[Any, Any]
    if alias == "rfft":
        wide, out = it.to(x, x.dtype).astype(np.float64), complex_out
        result = np.fft.rfft(wide, axis=-1)
    elif alias == "irfft":
        wide, out = _complex(it, x), real_out
        result = np.fft.irfft(wide, axis=-1)
    else:
        wide, out = _complex(it, x), complex_out
        result = (np.fft.fft if alias == "fft" else np.fft.ifft)(wide, axis=-1)
    undefined = whole([x], result.shape)
    with np.errstate(all="ignore"):
        size = np.abs(np.where(np.isfinite(wide), wide, 0)).sum(axis=-1, keepdims=True)
    # irfft's real-to-complex symmetry doubles every inner term: partial sums reach 2 * size.
    rows = ~np.all(np.isfinite(wide), axis=-1, keepdims=True) | (2 * size > ACC_LIMIT)
    mark(undefined, "float_accumulation_order", np.broadcast_to(rows, result.shape))
    return it.out(result, out, undefined)


def _complex(it: Interp, x: Val) -> np.ndarray:
    value = it.to(x, x.dtype)
    return np.asarray(value).astype(np.complex128)


def _tokens(tree: Tree[Token], kind: str) -> list[str]:
    return [str(c) for c in tree.children if isinstance(c, Token) and c.type == kind]


def _composite(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    """``lax.composite(jax.nn.silu, name=...)(x)``: the activation itself."""
    fn = next(str(c) for c in tree.children if isinstance(c, Token) and c.type == "COMPOSITE_FN")
    alias = fn.rsplit(".", 1)[-1]
    return ELEMENTWISE_IMPL[alias](it, Tree(alias, tree.children), args)


def _body_of(it: Interp, tree: Tree[Token]) -> Val:
    """The lambda body applied to the operand (shard_map forms)."""
    (name,) = _tokens(tree, "BOUND")
    body, operand = [c for c in tree.children if is_expression(c)]
    return bind(it, {name: it.eval(operand)}, body)


def _collective(it: Interp, tree: Tree[Token]) -> Val:
    """On a one-device mesh every collective is the identity (psum of one value is that value,
    pmean divides by 1, all_gather/psum_scatter of one tile is the tile, ppermute (0, 0)
    keeps it) and ``axis_index`` is 0. The summing ones go through an addition, which flushes
    subnormals in ftz mode (as XLA's reduce_scatter does on CPU)."""
    val = _body_of(it, tree)
    kinds = [str(c) for c in tree.children if isinstance(c, Token)]
    if tree.data == "shard_reduce" or "lax.psum_scatter" in kinds:
        return Val(it.flush(np.asarray(val.value), val.dtype), val.dtype, dict(val.undefined))
    return val


def max_pool_vjp(
    x: np.ndarray, g: np.ndarray, window: tuple[int, ...], strides: tuple[int, ...], padding: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """XLA's SelectAndScatter with ``ge`` as the select function (the VJP of a max
    ``reduce_window``): in each window, scanned in row-major order, the current pick is
    replaced by a candidate unless ``pick >= candidate`` (so the first maximum wins, and a NaN
    is replaced by the next element); ``g`` at the window's position is added to the pick.
    SAME padding is -inf (JAX pads the operand with the pooling's init value): it takes part
    in the scan, and what a padding element picks is dropped. Returns the sums (float64), how
    many windows picked each element, and the sum of the ``|g|`` each one received."""
    lows = []
    for d, w, s in zip(x.shape, window, strides, strict=True):
        total = max((-(-d // s) - 1) * s + w - d, 0) if padding == "SAME" else 0
        lows.append(total // 2)
    pooled = g.shape
    out = np.zeros(x.shape, np.float64)
    count = np.zeros(x.shape, np.int64)
    magnitude = np.zeros(x.shape, np.float64)
    if g.size == 0 or x.size == 0:
        return out, count, magnitude
    starts = [
        np.arange(n)[(slice(None),) + (None,) * (len(pooled) - 1 - i)] * s - lo
        for i, (n, s, lo) in enumerate(zip(pooled, strides, lows, strict=True))
    ]
    pick = np.full(pooled, -2, np.int64)  # -2: nothing yet, -1: padding
    best = np.zeros(pooled, np.float64)
    for offset in np.ndindex(*window):
        coords = [start + k for start, k in zip(starts, offset, strict=True)]
        inside = np.ones(pooled, bool)
        for c, d in zip(coords, x.shape, strict=True):
            inside = inside & (c >= 0) & (c < d)
        flat = np.ravel_multi_index(
            tuple(
                np.broadcast_to(np.clip(c, 0, d - 1), pooled)
                for c, d in zip(coords, x.shape, strict=True)
            ),
            x.shape,
        )
        candidate = np.where(inside, x.reshape(-1)[flat], -np.inf)
        with np.errstate(invalid="ignore"):
            take = (pick == -2) | ~(best >= candidate)
        pick = np.where(take, np.where(inside, flat, -1), pick)
        best = np.where(take, candidate, best)
    kept = pick.reshape(-1) >= 0
    targets, sent = pick.reshape(-1)[kept], g.reshape(-1)[kept]
    np.add.at(out.reshape(-1), targets, sent)
    np.add.at(count.reshape(-1), targets, 1)
    with np.errstate(invalid="ignore"):
        np.add.at(magnitude.reshape(-1), targets, np.abs(sent))
    return out, count, magnitude


def _max_pool_vjp(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    """Sums of three or more cotangents may round in another order (XLA scatters them one
    after another): ``slack`` allows (n - 1) eps times their magnitude; a sum whose terms
    pass the dtype's range is undefined (``float_accumulation_order``)."""
    x, g = args
    window, strides = (ints(t) for t in attrs(tree)[2:4])
    padding = str(attrs(tree)[4]).strip('"')
    xs, gs = it.to(x, x.dtype), it.to(g, x.dtype)
    out, count, magnitude = max_pool_vjp(xs, gs, window, strides, padding)
    undefined = whole(args, out.shape)
    info = finfo(x.dtype)
    mark(
        undefined,
        "float_accumulation_order",
        np.isfinite(magnitude) & (magnitude > float(info.max)),
    )
    val = it.out(out, x.dtype, undefined)
    slack = np.where(count >= 3, (count - 1) * float(info.eps) * magnitude, 0.0)
    return Val(val.value, val.dtype, val.undefined, slack=np.where(np.isfinite(slack), slack, 0.0))


IMPL: dict[str, Impl] = {
    "reduce_precision": _reduce_precision,
    "optimization_barrier": _identity,
    "sharding_constraint": _identity,
    "max_pool_vjp": _max_pool_vjp,
    "composite": _composite,
    **dict.fromkeys(("fft", "ifft", "rfft", "irfft"), _fourier),
}
CONTROL: dict[str, Callable[[Interp, Tree[Token]], Val]] = {
    **dict.fromkeys(("shard_reduce", "shard_ppermute", "shard_tiled", "shard_first"), _collective),
}
