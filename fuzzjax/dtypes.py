"""Array types (dtype, shape) and JAX's dtype promotion lattice, written independently of JAX.

The lattice follows the JAX type-promotion documentation (x64 disabled, so 64-bit results are
canonicalised to their 32-bit counterparts). ``tests/test_dtypes.py`` checks it against
``jnp.promote_types`` for every pair of supported dtypes.
"""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

#: Dtypes a generated program may use, in the order used for choices.
DTYPES: tuple[str, ...] = (
    "bool",
    "int8",
    "uint8",
    "int32",
    "float16",
    "bfloat16",
    "float32",
    "complex64",
)

#: Dtype kind: b(ool), i(nt), u(nsigned), f(loat), c(omplex).
KIND: dict[str, str] = {
    "bool": "b",
    "int8": "i",
    "int16": "i",
    "int32": "i",
    "uint8": "u",
    "uint16": "u",
    "uint32": "u",
    "float16": "f",
    "bfloat16": "f",
    "float32": "f",
    "complex64": "c",
}

#: How a dtype is spelled in program text (the grammar's DTYPE terminal).
DTYPE_SPELLING: dict[str, str] = {d: f"jnp.{'bool_' if d == 'bool' else d}" for d in DTYPES}
DTYPE_FROM_SPELLING: dict[str, str] = {v: k for k, v in DTYPE_SPELLING.items()}


class ArrayType(NamedTuple):
    """The static type of an array expression: dtype name and shape."""

    dtype: str
    shape: tuple[int, ...]

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    def __str__(self) -> str:
        return f"{self.dtype}[{','.join(map(str, self.shape))}]"


def is_bool(d: str) -> bool:
    return KIND[d] == "b"


def is_integer(d: str) -> bool:
    return KIND[d] in "iu"


def is_float(d: str) -> bool:
    return KIND[d] == "f"


def is_complex(d: str) -> bool:
    return KIND[d] == "c"


def is_inexact(d: str) -> bool:
    return KIND[d] in "fc"


def is_real_numeric(d: str) -> bool:
    """Integers and floats: ordered, non-bool."""
    return KIND[d] in "iuf"


# Edges of JAX's promotion lattice (a -> the types directly above it). "i*", "f*" and "c*" are
# the weak types of Python scalars.
_LATTICE: dict[str, tuple[str, ...]] = {
    "bool": ("i*",),
    "i*": ("uint8", "int8"),
    "uint8": ("int16", "uint16"),
    "uint16": ("int32", "uint32"),
    "uint32": ("int64", "uint64"),
    "uint64": ("f*",),
    "int8": ("int16",),
    "int16": ("int32",),
    "int32": ("int64",),
    "int64": ("f*",),
    "f*": ("c*", "float16", "bfloat16"),
    "float16": ("float32",),
    "bfloat16": ("float32",),
    "float32": ("float64", "complex64"),
    "float64": ("complex128",),
    "c*": ("complex64",),
    "complex64": ("complex128",),
    "complex128": (),
}

# With x64 disabled JAX canonicalises 64-bit types to 32-bit ones.
_CANONICAL_32 = {
    "int64": "int32",
    "uint64": "uint32",
    "float64": "float32",
    "complex128": "complex64",
}


@cache
def _upper_set(node: str) -> frozenset[str]:
    above = {node}
    for parent in _LATTICE[node]:
        above |= _upper_set(parent)
    return frozenset(above)


@cache
def promote(a: str, b: str) -> str:
    """The dtype JAX promotes ``a`` and ``b`` to (x64 disabled)."""
    common = _upper_set(a) & _upper_set(b)
    (least,) = [n for n in common if _upper_set(n) == common]
    return _CANONICAL_32.get(least, least)


def promote_all(*dtypes: str) -> str:
    result = dtypes[0]
    for d in dtypes[1:]:
        result = promote(result, d)
    return result
