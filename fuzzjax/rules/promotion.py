"""Result-dtype functions of the elementwise and reduction operations (JAX semantics).

Each function maps input dtypes to the result dtype, or ``None`` where JAX rejects the
combination; the keyword ``x64`` selects JAX's x64 mode (64-bit results kept, default int and
float are int64 and float64). ``signatures()`` inverts them: for an operation, a mode and a
wanted result dtype, the input-dtype tuples that produce it. ``tests/test_rules_vs_jax.py``
checks every entry against ``jax.eval_shape`` in both modes.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from functools import cache

from fuzzjax.dtypes import (
    KIND,
    default_float,
    default_int,
    dtype_set,
    inexact_dtype,
    is_bool,
    is_complex,
    is_float,
    is_inexact,
    is_integer,
    is_real_numeric,
    promote_all,
    real_dtype,
)

DtypeFn = Callable[..., "str | None"]


def any_promoted(*ds: str, x64: bool = False) -> str | None:
    return promote_all(*ds, x64=x64)


def non_bool(*ds: str, x64: bool = False) -> str | None:
    r = promote_all(*ds, x64=x64)
    return None if is_bool(r) else r


def subtract(*ds: str, x64: bool = False) -> str | None:
    return None if all(is_bool(d) for d in ds) else promote_all(*ds, x64=x64)


def real_non_bool(*ds: str, x64: bool = False) -> str | None:
    r = promote_all(*ds, x64=x64)
    return r if is_real_numeric(r) else None


def ordered(*ds: str, x64: bool = False) -> str | None:
    """Any non-complex dtype, bool included (max, min, maximum, minimum)."""
    r = promote_all(*ds, x64=x64)
    return None if is_complex(r) else r


def true_divide(*ds: str, x64: bool = False) -> str | None:
    return inexact_dtype(promote_all(*ds, x64=x64))


def bitwise(*ds: str, x64: bool = False) -> str | None:
    r = promote_all(*ds, x64=x64)
    return r if is_bool(r) or is_integer(r) else None


def compare_ordered(*ds: str, x64: bool = False) -> str | None:
    return None if is_complex(promote_all(*ds, x64=x64)) else "bool"


def compare_any(*ds: str, x64: bool = False) -> str | None:
    return "bool"


def to_inexact(*ds: str, x64: bool = False) -> str | None:
    """Transcendental functions: inexact inputs keep their dtype; ints and bools go to float
    (float32, or float64 for int64)."""
    return inexact_dtype(promote_all(*ds, x64=x64))


def to_real_inexact(*ds: str, x64: bool = False) -> str | None:
    r = promote_all(*ds, x64=x64)
    return None if is_complex(r) else inexact_dtype(r)


def float_only(*ds: str, x64: bool = False) -> str | None:
    r = promote_all(*ds, x64=x64)
    return r if is_inexact(r) and not is_complex(r) else None


def inexact_only(*ds: str, x64: bool = False) -> str | None:
    r = promote_all(*ds, x64=x64)
    return r if is_inexact(r) else None


def absolute(d: str, x64: bool = False) -> str | None:
    return None if is_bool(d) else real_dtype(d)


def sum_like(d: str, x64: bool = False) -> str | None:
    """sum/prod: bools and signed ints accumulate in the default int, unsigned ints in the
    unsigned int of that width (uint32/uint64, outside the dtype set)."""
    if is_bool(d) or KIND[d] == "i":
        return default_int(x64)
    if KIND[d] == "u":
        return "uint64" if x64 else "uint32"
    return d


def cumulative(d: str, x64: bool = False) -> str | None:
    """cumsum/cumprod: bools accumulate in the default int, other dtypes keep theirs."""
    return default_int(x64) if is_bool(d) else d


def mean_like(d: str, x64: bool = False) -> str | None:
    return inexact_dtype(d)


def var_like(d: str, x64: bool = False) -> str | None:
    return real_dtype(inexact_dtype(d))


def arg_reduce(d: str, x64: bool = False) -> str | None:
    return None if is_complex(d) else default_int(x64)


def to_bool(*ds: str, x64: bool = False) -> str | None:
    return "bool"


def count(*ds: str, x64: bool = False) -> str | None:
    return default_int(x64)


def integer_only(*ds: str, x64: bool = False) -> str | None:
    """Shifts, gcd, lcm: integer dtypes only."""
    r = promote_all(*ds, x64=x64)
    return r if is_integer(r) else None


def compare_numeric(*ds: str, x64: bool = False) -> str | None:
    return "bool" if not is_bool(promote_all(*ds, x64=x64)) else None


def real_to_bool(*ds: str, x64: bool = False) -> str | None:
    return "bool" if is_float(promote_all(*ds, x64=x64)) else None


def float_to_bool(*ds: str, x64: bool = False) -> str | None:
    return "bool" if is_float(promote_all(*ds, x64=x64)) else None


def real_part(d: str, x64: bool = False) -> str | None:
    """real/imag: complex dtypes give their real counterpart; real dtypes keep theirs."""
    return None if is_bool(d) else real_dtype(d)


def angle(d: str, x64: bool = False) -> str | None:
    """Complex: the real counterpart; floats kept; ints and bools: the default float."""
    return real_dtype(d) if is_inexact(d) else default_float(x64)


def lax_abs(d: str, x64: bool = False) -> str | None:
    if is_bool(d) or KIND[d] == "u":
        return None
    return real_dtype(d)


@cache
def same_dtypes(fn: DtypeFn) -> DtypeFn:
    """Strict (jax.lax) variant of ``fn``: all inputs must already share one dtype."""

    def strict(*ds: str, x64: bool = False) -> str | None:
        return fn(*ds, x64=x64) if len(set(ds)) == 1 else None

    strict.__name__ = f"strict_{getattr(fn, '__name__', 'fn')}"
    return strict


@cache
def signatures(fn: DtypeFn, arity: int, x64: bool) -> dict[str, tuple[tuple[str, ...], ...]]:
    """For each result dtype in ``x64`` mode, the input-dtype tuples that give it (same-dtype
    tuple first)."""
    dtypes = dtype_set(x64)
    table: dict[str, list[tuple[str, ...]]] = {}
    for inputs in itertools.product(dtypes, repeat=arity):
        out = fn(*inputs, x64=x64)
        if out in dtypes:
            table.setdefault(out, []).append(inputs)
    for rows in table.values():
        rows.sort(key=lambda ins: (len(set(ins)) != 1, dtypes.index(ins[0])))
    return {k: tuple(v) for k, v in table.items()}
