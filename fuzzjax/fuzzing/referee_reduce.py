"""The referee for reductions and contractions: sums, means, products, cumulative sums and
products, matmul/dot/inner/outer/vdot/tensordot/einsum/trace/kron.

The exact result is computed in rational arithmetic by running the one-call case's own source
on exact numbers (``referee_shim``), so no rounding happens before the final one.
Operands are first cast to the result dtype, as jnp does (integer means become float first).
Where an operand is infinite or NaN, the same text runs on float64/complex128 arrays instead:
IEEE 754 decides the non-finite results, and finite results are accurate far beyond the bound.

The bound (class ``accumulation``): within ``ulp`` of the correctly rounded exact value, plus
``2 n eps |terms|``, with ``n`` the number of terms accumulated into the element, ``eps`` that of
the accumulation precision (float32 for float16/bfloat16 sums/means/products without a dtype:
jnp upcasts them) and ``|terms|`` the
same operation on the absolute values: Higham's bound for any summation order (gamma_n sum|x|,
Accuracy and Stability of Numerical Algorithms, 2nd ed., sections 3.1 and 4.2). Products use
``2 n eps |exact|``. Where the sum of magnitudes (for products: of the nonzero factors)
overflows the accumulation precision, an infinite or NaN result depends on the order (rule
``accumulation_overflow``). Flushed subnormal operands, terms and results are ``ftz``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import mpmath
import numpy as np

from fuzzjax.dtypes import KIND
from fuzzjax.fuzzing.case import Case
from fuzzjax.fuzzing.inputs import dtype_name, np_dtype
from fuzzjax.fuzzing.referee_numbers import FORMATS, Format, error_ulps, part_format, round_to
from fuzzjax.fuzzing.referee_shim import as_exact, magnitudes, run, to_mp

SUMS = frozenset(
    {
        "sum",
        "nansum",
        "mean",
        "nanmean",
        "sum_dtype",
        "mean_dtype",
        "cumsum",
        "nancumsum",
        "cumsum_dtype",
        "op_matmul",
        "matmul",
        "dot",
        "inner",
        "vdot",
        "tensordot",
        "einsum",
        "trace",
        # method forms: x.sum(...) is jnp.sum(x, ...), run by the shim as NumPy's methods on
        # exact object arrays (not x.mean() and x.prod(): NumPy imports a helper for them,
        # which the shim's namespace refuses)
        "m_sum",
        "m_cumsum",
        "m_dot",
        "m_trace",
    }
)
PRODUCTS = frozenset({"prod", "nanprod", "prod_dtype", "cumprod", "nancumprod", "outer", "kron"})
REDUCTIONS = SUMS | PRODUCTS
#: Above this many terms in all (a second or so in rational arithmetic) there is no referee.
MAX_TERMS = 1_000_000


def operands(case: Case) -> list[np.ndarray]:
    """The inputs cast to the result dtype (as jnp does before reducing)."""
    out = np_dtype(case.result_dtype)
    with np.errstate(all="ignore"):
        return [np.asarray(x).astype(out) for x in case.inputs]


#: jnp upcasts float16/bfloat16 to float32 for these (``upcast_f16_for_computation`` without
#: an explicit dtype); cumulative ops, explicit dtypes and contractions accumulate in the dtype.
UPCAST = frozenset({"sum", "nansum", "mean", "nanmean", "prod", "nanprod", "m_sum"})


def accumulation_format(dtype: str, alias: str) -> Format:
    """The precision ``alias`` accumulates in for results of ``dtype``."""
    fmt = part_format(dtype)
    return FORMATS["float32"] if fmt.precision < 24 and alias in UPCAST else fmt


def wrap(v: int, dtype: str) -> int | bool:
    if KIND[dtype] == "b":
        return bool(v)
    info = np.iinfo(np_dtype(dtype))
    span = int(info.max) - int(info.min) + 1
    return (int(v) - int(info.min)) % span + int(info.min)


def terms(case: Case, alias: str) -> np.ndarray:
    """Terms accumulated into each result element (at least 1): for sums, the operation run on
    ones; for products, the input size over the result size (the axis length for cumprod)."""
    shape = tuple(case.result_shape)
    if alias in SUMS:
        ones = [np.ones(np.shape(x), dtype=np.float64) for x in case.inputs]
        counts = np.asarray(run(case, ones, count=True)).astype(np.int64)
        return np.maximum(np.broadcast_to(counts, shape), 1)
    size = math.prod(shape) or 1
    n = max([1, *(np.asarray(x).size // size for x in case.inputs)])
    if alias in ("cumprod", "nancumprod"):
        n = max([1, *(max(np.shape(x), default=1) for x in case.inputs)])
    return np.full(shape, n, dtype=np.int64)


def distance(got: tuple[float, ...], exact: tuple[Any, ...]) -> Any:
    with mpmath.workprec(256):
        if len(got) == 2:
            return abs(mpmath.mpc(*got) - mpmath.mpc(*exact))
        return abs(mpmath.mpf(got[0]) - exact[0])


def ulps(got: tuple[float, ...], exact: tuple[Any, ...], fmt: Format) -> float:
    return max(error_ulps(g, e, fmt) for g, e in zip(got, exact, strict=True))


@dataclass
class Reduction:
    """A one-call reduction with its exact result and the magnitude of its terms."""

    alias: str
    dtype: str
    exact: np.ndarray  # object array: exact results (or float64 IEEE results, ``finite`` False)
    magnitude: np.ndarray  # the operation on |operands|
    n: np.ndarray  # terms per result element
    finite: bool
    largest: float  # the largest finite operand magnitude (for flushed terms)
    flushed: np.ndarray | None = None  # exact results for operands with subnormals flushed

    @classmethod
    def of(cls, case: Case, alias: str) -> Reduction:
        n = terms(case, alias)
        if int(n.sum()) > MAX_TERMS:
            raise ValueError(f"{int(n.sum())} terms: exact evaluation too slow")
        xs = operands(case)
        finite = all(np.all(np.isfinite(x)) for x in xs if x.dtype.kind in "fc")
        if finite:
            exact = run(case, [as_exact(x) for x in xs])
        else:
            exact = run(
                case,
                [
                    x.astype(np.complex128 if x.dtype.kind == "c" else np.float64)
                    if x.dtype.kind in "fc"
                    else x
                    for x in xs
                ],
            )
        # Sums: the operation on |operands|. Products: on the nonzero |operands| (a zero does
        # not stop an overflowing partial product that comes before it).
        zero = 1 if alias in PRODUCTS else 0
        magnitude = run(
            case,
            [magnitudes(np.where(_finite(x) != 0, _finite(x), zero)) for x in xs],
        )
        sizes = [float(np.max(np.abs(_finite(x).astype(np.complex128)), initial=0)) for x in xs]
        flushed = None
        if finite and any(_has_subnormal(x) for x in xs):
            flushed = run(case, [as_exact(_flush(x)) for x in xs])
        return cls(
            alias, case.result_dtype, exact, magnitude, n, finite, max(sizes, default=0.0), flushed
        )

    def expected(self, index: tuple[int, ...]) -> tuple[Any, ...]:
        value = self.exact[index]
        if KIND[self.dtype] in "biu":
            return (wrap(int(value), self.dtype),)
        return (
            to_mp(value)
            if self.finite
            else to_mp(complex(value) if KIND[self.dtype] == "c" else float(value))
        )

    def judge(
        self, index: tuple[int, ...], value: Any, bound_ulp: float
    ) -> tuple[bool, str, float | None]:
        """(acceptable, rule, error in ulps) of ``value`` at ``index``."""
        exact = self.expected(index)
        v = np.asarray(value).item()
        if KIND[self.dtype] in "biu":
            return bool(v == exact[0]), "within_bound" if v == exact[0] else "", None
        fmt, acc = part_format(self.dtype), accumulation_format(self.dtype, self.alias)
        got = (float(v.real), float(v.imag)) if KIND[self.dtype] == "c" else (float(v),)
        err = ulps(got, exact, fmt)
        if err <= bound_ulp:
            return True, "within_bound", err
        finite = all(math.isfinite(g) for g in got) and all(mpmath.isfinite(e) for e in exact)
        with mpmath.workprec(256):
            size = terms_size = to_mp(self.magnitude[index])[0]
            if self.alias in PRODUCTS:
                size = abs(mpmath.mpc(*exact)) if len(exact) == 2 else abs(exact[0])
            unit = max(ulp_of(e, fmt) for e in exact) if finite else 0
            n = int(self.n[index])
            allow = bound_ulp * unit + 2 * n * acc.eps * size
            if finite and distance(got, exact) <= allow:
                return True, "within_bound", err
            if not finite and terms_size >= acc.max:
                return True, "accumulation_overflow", err
            if finite and self._ftz(index, got, exact, allow, n, acc):
                return True, "ftz", err
        complex_inf = len(got) == 2 and any(math.isinf(g) for g in got)
        if complex_inf and any(math.isinf(round_to(e, fmt)) for e in exact):
            return True, "complex_infinity", err
        if len(got) == 2 and not self.finite and not all(mpmath.isfinite(e) for e in exact):
            # Complex products of infinite operands: which parts come out NaN depends on the
            # formula (no C99 Annex G recovery in XLA's or NumPy's contractions).
            return True, "non_finite_operand", err
        return False, "", err

    def _ftz(
        self,
        index: tuple[int, ...],
        got: tuple[float, ...],
        exact: tuple[Any, ...],
        allow: Any,
        n: int,
        acc: Format,
    ) -> bool:
        """XLA on CPU flushes subnormal operands, intermediates and results to zero."""
        tiny = acc.smallest_normal
        flat = tuple(0.0 if abs(g) < tiny else g for g in got)  # a subnormal result reads as 0
        targets = [exact] + ([to_mp(self.flushed[index])] if self.flushed is not None else [])
        if self.alias in PRODUCTS:  # a flushed partial product, times the factors after it
            slack = n * tiny * max(1, self.largest) ** max(0, n - 1)
        else:  # a flushed term of a sum or a flushed operand of a product in it
            slack = n * tiny * (1 + self.largest)
        return any(distance(g, t) <= allow + slack for g in (got, flat) for t in targets)


def _finite(x: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(x), x, 0) if x.dtype.kind in "fc" else x


def _has_subnormal(x: np.ndarray) -> bool:
    if x.dtype.kind not in "fc":
        return False
    tiny = float(_format_of(x).smallest_normal)
    parts = [x.real, x.imag] if x.dtype.kind == "c" else [x]
    return any(bool(np.any((p != 0) & (np.abs(p.astype(np.float64)) < tiny))) for p in parts)


def _flush(x: np.ndarray) -> np.ndarray:
    if x.dtype.kind not in "fc":
        return x
    tiny = float(_format_of(x).smallest_normal)

    def f(p: np.ndarray) -> np.ndarray:
        return np.where(np.abs(p.astype(np.float64)) < tiny, 0, p).astype(p.dtype)

    if x.dtype.kind == "c":
        out = np.empty_like(x)
        out.real, out.imag = f(x.real), f(x.imag)
        return out
    return f(x)


def _format_of(x: np.ndarray) -> Format:
    return part_format(dtype_name(x.dtype))


def ulp_of(exact: Any, fmt: Format) -> float:
    from fuzzjax.fuzzing.referee_numbers import ulp

    r = round_to(exact, fmt)
    return ulp(r if math.isfinite(r) else fmt.max, fmt)
