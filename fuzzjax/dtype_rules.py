"""Result-dtype functions of the elementwise and reduction operations (JAX semantics, x64 off).

Each function maps input dtypes to the result dtype, or ``None`` where JAX rejects the
combination. ``signatures()`` inverts them: for an operation and a wanted result dtype, the
input-dtype tuples that produce it. ``tests/test_rules_vs_jax.py`` checks every entry against
``jax.eval_shape``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from functools import cache

from .dtypes import (
    DTYPES,
    KIND,
    is_bool,
    is_complex,
    is_float,
    is_inexact,
    is_integer,
    is_real_numeric,
    promote_all,
)

DtypeFn = Callable[..., "str | None"]


def any_promoted(*ds: str) -> str | None:
    return promote_all(*ds)


def non_bool(*ds: str) -> str | None:
    r = promote_all(*ds)
    return None if is_bool(r) else r


def subtract(*ds: str) -> str | None:
    return None if all(is_bool(d) for d in ds) else promote_all(*ds)


def real_non_bool(*ds: str) -> str | None:
    r = promote_all(*ds)
    return r if is_real_numeric(r) else None


def ordered(*ds: str) -> str | None:
    """Any non-complex dtype, bool included (max, min, maximum, minimum)."""
    r = promote_all(*ds)
    return None if is_complex(r) else r


def true_divide(*ds: str) -> str | None:
    r = promote_all(*ds)
    return r if is_inexact(r) else "float32"


def bitwise(*ds: str) -> str | None:
    r = promote_all(*ds)
    return r if is_bool(r) or is_integer(r) else None


def compare_ordered(*ds: str) -> str | None:
    return None if is_complex(promote_all(*ds)) else "bool"


def compare_any(*ds: str) -> str | None:
    return "bool"


def to_inexact(*ds: str) -> str | None:
    """Transcendental functions: inexact inputs keep their dtype; ints and bools go to float32."""
    r = promote_all(*ds)
    return r if is_inexact(r) else "float32"


def to_real_inexact(*ds: str) -> str | None:
    r = promote_all(*ds)
    if is_complex(r):
        return None
    return r if is_inexact(r) else "float32"


def float_only(*ds: str) -> str | None:
    r = promote_all(*ds)
    return r if is_inexact(r) and not is_complex(r) else None


def inexact_only(*ds: str) -> str | None:
    r = promote_all(*ds)
    return r if is_inexact(r) else None


def absolute(d: str) -> str | None:
    if is_bool(d):
        return None
    return "float32" if is_complex(d) else d


def sum_like(d: str) -> str | None:
    """sum/prod: small signed ints and bools accumulate in int32, uint8 in uint32."""
    if is_bool(d) or d in ("int8", "int32"):
        return "int32"
    if d == "uint8":
        return "uint32"
    return d


def cumulative(d: str) -> str | None:
    """cumsum/cumprod: bools accumulate in int32, other dtypes keep theirs."""
    return "int32" if is_bool(d) else d


def mean_like(d: str) -> str | None:
    return d if is_inexact(d) else "float32"


def var_like(d: str) -> str | None:
    if is_complex(d):
        return "float32"
    return d if is_inexact(d) else "float32"


def arg_reduce(d: str) -> str | None:
    return None if is_complex(d) else "int32"


def to_bool(*ds: str) -> str | None:
    return "bool"


def count(*ds: str) -> str | None:
    return "int32"


def integer_only(*ds: str) -> str | None:
    """Shifts, gcd, lcm: integer dtypes only."""
    r = promote_all(*ds)
    return r if is_integer(r) else None


def compare_numeric(*ds: str) -> str | None:
    return "bool" if not is_bool(promote_all(*ds)) else None


def real_to_bool(*ds: str) -> str | None:
    return "bool" if is_float(promote_all(*ds)) else None


def float_to_bool(*ds: str) -> str | None:
    return "bool" if is_float(promote_all(*ds)) else None


def real_part(d: str) -> str | None:
    """real/imag: complex64 gives float32; real dtypes keep theirs."""
    if is_bool(d):
        return None
    return "float32" if is_complex(d) else d


def angle(d: str) -> str | None:
    if is_complex(d):
        return "float32"
    return d if is_inexact(d) else "float32"


def lax_abs(d: str) -> str | None:
    if is_bool(d) or KIND[d] == "u":
        return None
    return "float32" if is_complex(d) else d


@cache
def same_dtypes(fn: DtypeFn) -> DtypeFn:
    """Strict (jax.lax) variant of ``fn``: all inputs must already share one dtype."""

    def strict(*ds: str) -> str | None:
        return fn(*ds) if len(set(ds)) == 1 else None

    strict.__name__ = f"strict_{getattr(fn, '__name__', 'fn')}"
    return strict


@cache
def signatures(fn: DtypeFn, arity: int) -> dict[str, tuple[tuple[str, ...], ...]]:
    """For each result dtype, the input-dtype tuples that give it (same-dtype tuple first)."""
    table: dict[str, list[tuple[str, ...]]] = {}
    for inputs in itertools.product(DTYPES, repeat=arity):
        out = fn(*inputs)
        if out in DTYPES:
            table.setdefault(out, []).append(inputs)
    for rows in table.values():
        rows.sort(key=lambda ins: (len(set(ins)) != 1, DTYPES.index(ins[0])))
    return {k: tuple(v) for k, v in table.items()}
