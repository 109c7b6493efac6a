"""Array types (dtype, shape) and JAX's dtype promotion lattice, written independently of JAX.

The lattice follows the JAX type-promotion documentation. With x64 disabled (the default) 64-bit
results are canonicalised to their 32-bit counterparts; with ``x64=True`` (programs lowered
under ``jax.enable_x64(True)``) they are kept, and JAX's default int/float/complex dtypes become
int64/float64/complex128. ``tests/test_dtypes.py`` checks ``promote`` against
``jnp.promote_types`` for every pair of supported dtypes in both modes.
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

#: Dtypes of x64 programs: ``DTYPES`` plus the 64-bit types JAX's defaults and promotion give.
DTYPES_X64: tuple[str, ...] = (
    "bool",
    "int8",
    "uint8",
    "int32",
    "int64",
    "float16",
    "bfloat16",
    "float32",
    "float64",
    "complex64",
    "complex128",
)

#: Dtype kind: b(ool), i(nt), u(nsigned), f(loat), c(omplex).
KIND: dict[str, str] = {
    "bool": "b",
    "int8": "i",
    "int16": "i",
    "int32": "i",
    "int64": "i",
    "uint8": "u",
    "uint16": "u",
    "uint32": "u",
    "uint64": "u",
    "float16": "f",
    "bfloat16": "f",
    "float32": "f",
    "float64": "f",
    "complex64": "c",
    "complex128": "c",
}

#: How a dtype is spelled in program text (the grammar's DTYPE terminal).
DTYPE_SPELLING: dict[str, str] = {d: f"jnp.{'bool_' if d == 'bool' else d}" for d in DTYPES_X64}
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
def promote(a: str, b: str, x64: bool = False) -> str:
    """The dtype JAX promotes ``a`` and ``b`` to (with x64 disabled unless ``x64``)."""
    common = _upper_set(a) & _upper_set(b)
    (least,) = [n for n in common if _upper_set(n) == common]
    return least if x64 else _CANONICAL_32.get(least, least)


def promote_all(*dtypes: str, x64: bool = False) -> str:
    result = dtypes[0]
    for d in dtypes[1:]:
        result = promote(result, d, x64)
    return result


def dtype_set(x64: bool) -> tuple[str, ...]:
    """The dtypes a program may use: ``DTYPES_X64`` in x64 mode, else ``DTYPES``."""
    return DTYPES_X64 if x64 else DTYPES


def default_int(x64: bool) -> str:
    """JAX's default integer (``jnp.int_``): argmax indices, integer sums, counts."""
    return "int64" if x64 else "int32"


def default_float(x64: bool) -> str:
    """JAX's default float (``jnp.float_``): e.g. ``jnp.angle`` of an integer array."""
    return "float64" if x64 else "float32"


def weak_default(d: str, x64: bool) -> str:
    """A weak type (``i*``, ``f*``, ``c*``) as the concrete dtype JAX gives it (int32, float32,
    complex64; the 64-bit ones under x64); other dtypes are kept."""
    complex_ = "complex128" if x64 else "complex64"
    return {"i*": default_int(x64), "f*": default_float(x64), "c*": complex_}.get(d, d)


def inexact_dtype(d: str) -> str:
    """JAX's ``dtypes.to_inexact_dtype``: bool and integers up to 32 bits go to float32
    (in both modes), 64-bit integers to float64; inexact dtypes are kept."""
    if KIND[d] in "fc":
        return d
    return "float64" if d in ("int64", "uint64") else "float32"


def real_dtype(d: str) -> str:
    """The real counterpart of a complex dtype (``jnp.real``, ``jnp.abs``); others are kept."""
    return {"complex64": "float32", "complex128": "float64"}.get(d, d)
