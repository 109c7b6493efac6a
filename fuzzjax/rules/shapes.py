"""Shape and dtype drawing helpers shared by the typing rules and the generator."""

from __future__ import annotations

from dataclasses import dataclass

from fuzzjax.choices import Chooser

#: Dimension sizes and their weights (small sizes dominate; 1 exercises broadcasting).
DIM_SIZES: tuple[int, ...] = (1, 2, 3, 4, 5, 8, 16, 64, 256)
DIM_WEIGHTS: tuple[int, ...] = (20, 25, 20, 15, 10, 8, 3, 1, 1)


@dataclass(frozen=True)
class Limits:
    """Bounds that keep generated programs small enough to lower and run quickly."""

    max_rank: int = 8
    max_elements: int = 65536
    max_params: int = 8
    #: JAX's x64 mode: 64-bit dtypes allowed, 64-bit default int/float (``GenOptions.x64``).
    x64: bool = False
    #: Percent of drawn shapes with one large dimension (``LARGE_DIMS``, within max_elements).
    large_percent: int = 0
    #: Forms with hidden runtime state (``lax.rng_uniform``) allowed (``GenOptions.stateful``).
    stateful: bool = True


#: Sizes of the occasional large dimension (``Limits.large_percent``).
LARGE_DIMS: tuple[int, ...] = (1000, 4096, 10000, 32768, 65536)


def draw_dim(ch: Chooser) -> int:
    return DIM_SIZES[ch.weighted(DIM_WEIGHTS)]


def draw_shape(ch: Chooser, limits: Limits, rank: int) -> tuple[int, ...]:
    shape: list[int] = []
    for _ in range(rank):
        dim = draw_dim(ch)
        if _size(shape) * dim > limits.max_elements:
            dim = 1
        shape.append(dim)
    if limits.large_percent and rank and ch.chance(limits.large_percent):
        axis = ch.integer(0, rank - 1)
        rest = _size(shape) // max(shape[axis], 1)
        dim = LARGE_DIMS[ch.integer(0, len(LARGE_DIMS) - 1)]
        while dim > 1 and rest * dim > limits.max_elements:
            dim //= 2
        shape[axis] = max(dim, shape[axis])
    return tuple(shape)


def _size(shape: list[int] | tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def broadcast_operands(ch: Chooser, out: tuple[int, ...], count: int) -> list[tuple[int, ...]]:
    """Operand shapes that broadcast (NumPy rules) to exactly ``out``."""
    anchor = ch.integer(0, count - 1)
    shapes: list[list[int]] = []
    for index in range(count):
        if ch.chance(70):
            shapes.append(list(out))
            continue
        drop = 0 if index == anchor else ch.integer(0, len(out))
        shape = [1 if (d != 1 and ch.chance(40)) else d for d in out[drop:]]
        shapes.append(shape)
    # Every non-1 dimension of `out` must be provided in full by some operand; let the anchor,
    # which keeps full rank, provide whatever nobody else does.
    rank = len(out)
    for axis in range(rank):
        if out[axis] == 1:
            continue
        provided = any(
            len(s) >= rank - axis and s[len(s) - (rank - axis)] == out[axis] for s in shapes
        )
        if not provided:
            shapes[anchor][axis] = out[axis]
    return [tuple(s) for s in shapes]


def factor_shape(ch: Chooser, size: int, limits: Limits) -> tuple[int, ...]:
    """A shape of a drawn rank whose element count is ``size``."""
    factors: list[int] = []
    n, p = size, 2
    while n > 1:
        while n % p == 0:
            factors.append(p)
            n //= p
        p += 1
    rank = ch.integer(1, limits.max_rank) if factors else ch.integer(0, 2)
    dims = [1] * rank
    for f in factors:
        slot = ch.integer(0, rank - 1)
        dims[slot] *= f
    return tuple(dims)
