"""Reference meaning of ``jax.random``: Threefry-2x32 keys and samplers, written in NumPy.

This follows JAX's documented default PRNG (``jax_default_prng_impl="threefry2x32"`` with
``jax_threefry_partitionable=True``, the default since JAX 0.5): a key is a pair of uint32
words; ``split`` and random bits hash the flat element index with Threefry-2x32 (Salmon et
al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011, 20 rounds, rotations
13/15/26/6 and 17/29/16/24); ``fold_in`` hashes ``(0, data)``. Samplers turn bits into floats
by filling the mantissa of a number in [1, 2) (``uniform``), then ``normal`` is
``sqrt(2) * erfinv(u)``, ``gumbel`` is ``-log(-log(u))`` and ``categorical`` the argmax of
logits plus Gumbel noise. Every float step is rounded to the sampled dtype, as JAX computes it.

A key made with ``impl="rbg"`` or ``"unsafe_rbg"`` draws its bits from XLA's RngBitGenerator,
whose algorithm the backend chooses (the StableHLO spec leaves ``DEFAULT`` implementation
defined): samples from such a key have the right type but no reference value, and are marked
undefined everywhere (``rng_bit_generator``, ``fuzzjax.fuzzing.benign``); jit, the unoptimised
executable and eager runs are still compared with each other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from lark import Token, Tree
from scipy import special

from fuzzjax.fuzzing.inputs import finfo, np_dtype
from fuzzjax.fuzzing.reference.creation import dtype_value, shape_value
from fuzzjax.fuzzing.reference.values import (
    Impl,
    Val,
    attrs,
    concrete,
    default_float,
    default_int,
    whole,
)

if TYPE_CHECKING:
    from fuzzjax.fuzzing.reference.interp import Interp

Key = tuple[np.uint32, np.uint32]
ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
PARITY = np.uint32(0x1BD11BDA)


def threefry2x32(key: Key, x0: np.ndarray, x1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Threefry-2x32 of the counter pairs ``(x0, x1)`` (uint32 arrays) under ``key``."""
    ks = (np.uint32(key[0]), np.uint32(key[1]), np.uint32(key[0]) ^ np.uint32(key[1]) ^ PARITY)
    a = np.asarray(x0, np.uint32) + ks[0]
    b = np.asarray(x1, np.uint32) + ks[1]
    for group in range(1, 6):
        for r in ROTATIONS[(group - 1) % 2]:
            a = a + b
            b = (b << np.uint32(r)) | (b >> np.uint32(32 - r))
            b = a ^ b
        a = a + ks[group % 3]
        b = b + ks[(group + 1) % 3] + np.uint32(group)
    return a, b


def _index(shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The flat element index of ``shape`` as (high, low) uint32 words."""
    flat = np.arange(int(np.prod(shape, dtype=np.int64)), dtype=np.uint64).reshape(shape)
    return (flat >> np.uint64(32)).astype(np.uint32), (flat & np.uint64(0xFFFFFFFF)).astype(
        np.uint32
    )


def split(key: Key, n: int) -> list[Key]:
    a, b = threefry2x32(key, *_index((n,)))
    return [(a[i], b[i]) for i in range(n)]


def fold_in(key: Key, data: int) -> Key:
    a, b = threefry2x32(key, np.zeros(1, np.uint32), np.full(1, data, np.uint32))
    return a[0], b[0]


def random_bits(key: Key, width: int, shape: tuple[int, ...]) -> np.ndarray:
    """Uniform bits of ``width`` (8, 16, 32 or 64: x64 programs) per element of ``shape``."""
    a, b = threefry2x32(key, *_index(shape))
    if width == 64:  # the two words side by side, as JAX's partitionable threefry does
        return np.asarray((a.astype(np.uint64) << np.uint64(32)) | b.astype(np.uint64))
    return np.asarray((a ^ b).astype({8: np.uint8, 16: np.uint16, 32: np.uint32}[width]))


def key_value(it: Interp, node: Tree[Token] | Token) -> Key:
    assert isinstance(node, Tree)
    numbers = [int(str(t)) for t in node.children if isinstance(t, Token) and t.type == "INT"]
    if node.data in ("key_new", "key_legacy"):  # an rbg key: Threefry stands in (undefined)
        return np.uint32(0), np.uint32(numbers[0])
    inner = key_value(it, node.children[0])
    if node.data == "key_fold_in":
        return fold_in(inner, numbers[0])
    n, index = (2, numbers[0]) if node.data == "key_split" else numbers
    return split(inner, n)[index]


def is_rbg(node: Tree[Token] | Token) -> bool:
    """Whether a key is built from an ``impl="rbg"``/``"unsafe_rbg"`` key."""
    if not isinstance(node, Tree):
        return False
    if any(isinstance(t, Token) and t.type == "RBG_IMPL" for t in node.children):
        return True
    return any(is_rbg(c) for c in node.children if isinstance(c, Tree))


def unreferenced(val: Val, key_node: Tree[Token] | Token) -> Val:
    """``val``, undefined everywhere when its key's bits come from XLA's RngBitGenerator."""
    if not is_rbg(key_node):
        return val
    undefined = {**val.undefined, "rng_bit_generator": np.ones(np.shape(val.value), bool)}
    return Val(val.value, val.dtype, undefined, slack=val.slack)


def _round(x: Any, dtype: str) -> np.ndarray:
    return np.asarray(np.asarray(x).astype(np_dtype(dtype)).astype(np.float64))


def uniform(key: Key, shape: tuple[int, ...], dtype: str, lo: float, hi: float) -> np.ndarray:
    info = finfo(dtype)
    nbits, nmant = info.bits, info.nmant
    width = 8 if nmant < 8 else nbits
    uint = {16: np.uint16, 32: np.uint32, 64: np.uint64}[nbits]
    bits = random_bits(key, width, shape).astype(uint)
    one = np.array(1.0, np_dtype(dtype)).view(uint)
    floats = ((bits >> uint(width - nmant)) | one).view(np_dtype(dtype)).astype(np.float64) - 1.0
    low, high = _round(np.float64(lo), dtype), _round(np.float64(hi), dtype)
    scaled = _round(_round(floats * _round(high - low, dtype), dtype) + low, dtype)
    return np.asarray(np.maximum(low, scaled))


def _sampler(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    return unreferenced(_threefry_sampler(it, tree, args), attrs(tree)[0])


def _threefry_sampler(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    a = attrs(tree)
    key = key_value(it, a[0])
    shape = shape_value(it, a[1])
    rest = a[2:]
    if tree.data == "random_randint":
        low, high = (int(str(t)) for t in rest[:2])
        dtype = dtype_value(it, rest[2]) if len(rest) > 2 else default_int()
        return Val(_randint(key, shape, low, high, dtype), dtype)
    numbers = [float(str(t)) for t in rest if isinstance(t, Token) and t.type == "SIGNED_NUMBER"]
    dtypes = [t for t in rest if not (isinstance(t, Token) and t.type == "SIGNED_NUMBER")]
    dtype = dtype_value(it, dtypes[0]) if dtypes else default_float()
    if tree.data == "random_uniform":
        lo, hi = numbers or (0.0, 1.0)
        return it.out(uniform(key, shape, dtype, lo, hi), dtype)
    if tree.data == "random_normal":
        lo = float(np.nextafter(np.array(-1.0, np_dtype(dtype)), np.array(0.0, np_dtype(dtype))))
        u = uniform(key, shape, dtype, lo, 1.0)

        def normal(v: np.ndarray) -> np.ndarray:
            return np.asarray(_round(np.sqrt(2.0), dtype) * _round(special.erfinv(v), dtype))

        return _with_slack(it.out(normal(u), dtype), normal, u, dtype)
    u = uniform(key, shape, dtype, float(finfo(dtype).tiny), 1.0)
    return _with_slack(
        it.out(_gumbel_of(u, dtype), dtype), lambda v: _gumbel_of(v, dtype), u, dtype
    )


def _with_slack(val: Val, fn: Callable[[np.ndarray], np.ndarray], u: np.ndarray, dtype: str) -> Val:
    """``val`` with the change ``fn`` shows when the uniform ``u`` moves by 2 ulps: XLA's
    ``erf_inv`` and ``log`` approximations may err by that much where ``fn`` is steep."""
    eps = 2 * float(finfo(dtype).eps)
    with np.errstate(all="ignore"):
        moved = [np.abs(fn(u * (1 + d)) - np.asarray(val.value, np.float64)) for d in (eps, -eps)]
    slack = np.maximum(*moved)
    return Val(val.value, val.dtype, val.undefined, slack=np.where(np.isfinite(slack), slack, 0.0))


def gumbel(key: Key, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    return _gumbel_of(uniform(key, shape, dtype, float(finfo(dtype).tiny), 1.0), dtype)


def _gumbel_of(u: np.ndarray, dtype: str) -> np.ndarray:
    with np.errstate(all="ignore"):
        return -_round(np.log(-_round(np.log(u), dtype)), dtype)


def _randint(key: Key, shape: tuple[int, ...], low: int, high: int, dtype: str) -> np.ndarray:
    """Sampled in int32 whatever ``dtype`` (JAX avoids the modulo bias of narrow types), as
    ``(hi % span * (2**32 % span) + lo % span) % span`` in uint32 arithmetic, then cast;
    64-bit dtypes (x64 programs) the same way in 64 bits."""
    k1, k2 = split(key, 2)
    nbits = 64 if np_dtype(dtype).itemsize == 8 else 32
    uint, sint = (np.uint64, np.int64) if nbits == 64 else (np.uint32, np.int32)
    higher, lower = random_bits(k1, nbits, shape), random_bits(k2, nbits, shape)
    span = uint(high - low)
    with np.errstate(over="ignore"):
        multiplier = uint(2 ** (nbits // 2)) % span
        multiplier = uint(multiplier * multiplier) % span
        offset = ((higher % span) * multiplier + lower % span) % span
    return np.asarray((sint(low) + offset.astype(sint)).astype(np_dtype(dtype)))


def _bernoulli(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    (p,) = args
    key_node, shape_node = attrs(tree)
    shape = shape_value(it, shape_node)
    (dtype,) = concrete([p]) if not p.weak else (default_float(),)
    u = uniform(key_value(it, key_node), shape, dtype, 0.0, 1.0)
    value = u < np.broadcast_to(it.to(p, dtype), shape)
    return unreferenced(Val(value, "bool", whole([p], shape)), key_node)


def _categorical(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    (logits,) = args
    key_node, *rest = attrs(tree)
    axis = int(str(rest[0])) if rest else -1
    x = it.to(logits, logits.dtype)
    noisy = _round(gumbel(key_value(it, key_node), x.shape, logits.dtype) + x, logits.dtype)
    value = np.argmax(noisy, axis=axis) if x.shape[axis] else np.zeros(0)
    return unreferenced(it.out(value, default_int(), whole([logits], np.shape(value))), key_node)


def _rng_uniform(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    """``lax.rng_uniform(a, b, shape)``: XLA's stateful generator gives a new value on every
    run, so the reference gives the type (the lower bound stands in) and marks every element
    undefined (``rng_uniform_stateful``). Fuzz mode does not draw it (``GenOptions.stateful``)."""
    low, high = args
    (shape_node,) = attrs(tree)
    shape = shape_value(it, shape_node)
    (dtype,) = concrete([low])
    value = np.broadcast_to(it.to(low, dtype), shape)
    undefined = {**whole(args, shape), "rng_uniform_stateful": np.ones(shape, bool)}
    return it.out(value, dtype, undefined)


#: jax.random samplers and lax.rng_uniform.
IMPL: dict[str, Impl] = {
    **dict.fromkeys(("random_normal", "random_uniform", "random_gumbel"), _sampler),
    "random_randint": _sampler,
    "random_bernoulli": _bernoulli,
    "random_categorical": _categorical,
    "rng_uniform": _rng_uniform,
}
