"""Reference meaning of the primitives of ``fuzzjax.rules.lowlevel``: precision reduction,
barriers, Fourier transforms, composites and one-device collectives."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from lark import Token, Tree

from fuzzjax.dtypes import real_dtype
from fuzzjax.fuzzing.reference.elementwise import IMPL as ELEMENTWISE_IMPL
from fuzzjax.fuzzing.reference.values import (
    ACC_LIMIT,
    Impl,
    Val,
    attrs,
    bind,
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


IMPL: dict[str, Impl] = {
    "reduce_precision": _reduce_precision,
    "optimization_barrier": _identity,
    "composite": _composite,
    **dict.fromkeys(("fft", "ifft", "rfft", "irfft"), _fourier),
}
CONTROL: dict[str, Callable[[Interp, Tree[Token]], Val]] = {
    **dict.fromkeys(("shard_reduce", "shard_ppermute", "shard_tiled", "shard_first"), _collective),
}
