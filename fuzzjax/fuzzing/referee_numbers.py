"""Binary floating-point formats for the referee: correct rounding of an mpmath value to
float16, bfloat16, float32 or float64, units in the last place, and a Ziv loop that raises
the working precision until the rounded result no longer changes.

A rounded value is returned as a Python float (every value of these formats is exactly a
float64), so it can be compared with NumPy results bit for bit, signed zeros aside.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import mpmath

#: An mpmath real or complex value (mpf or mpc).
Mp = Any


@dataclass(frozen=True)
class Format:
    """An IEEE-style binary format: ``precision`` bits (implicit bit included) and the
    exponent range of its normal numbers."""

    name: str
    precision: int
    emin: int
    emax: int

    @property
    def eps(self) -> float:
        return math.ldexp(1.0, 1 - self.precision)

    @property
    def smallest_normal(self) -> float:
        return math.ldexp(1.0, self.emin)

    @property
    def max(self) -> float:
        return math.ldexp(2.0 - math.ldexp(1.0, 1 - self.precision), self.emax)


FORMATS: dict[str, Format] = {
    "float16": Format("float16", 11, -14, 15),
    "bfloat16": Format("bfloat16", 8, -126, 127),
    "float32": Format("float32", 24, -126, 127),
    "float64": Format("float64", 53, -1022, 1023),
}
#: The format of each part of a complex dtype.
PART_FORMAT = {"complex64": "float32", "complex128": "float64"}


def part_format(dtype: str) -> Format:
    """The format of ``dtype`` (of each of its parts if it is complex)."""
    return FORMATS[PART_FORMAT.get(dtype, dtype)]


def round_to(x: Mp, fmt: Format) -> float:
    """``x`` (a real mpf) rounded to nearest, ties to even, into ``fmt`` with gradual
    underflow and overflow to infinity, as a Python float."""
    if mpmath.isnan(x):
        return math.nan
    if mpmath.isinf(x):
        return math.inf if x > 0 else -math.inf
    sign, man, exp, bc = x._mpf_
    if man == 0:
        return 0.0
    top = exp + bc - 1  # |x| is in [2**top, 2**(top+1))
    if top > fmt.emax + 1:
        return -math.inf if sign else math.inf
    if top < fmt.emin - fmt.precision - 1:  # below half the smallest subnormal
        return -0.0 if sign else 0.0
    quantum = max(top, fmt.emin) - (fmt.precision - 1)
    if exp >= quantum:
        n = man << (exp - quantum)
    else:
        shift = quantum - exp
        n, rest = man >> shift, man & ((1 << shift) - 1)
        half = 1 << (shift - 1)
        if rest > half or (rest == half and n & 1):
            n += 1
    value = math.inf if n.bit_length() + quantum > fmt.emax + 1 else math.ldexp(float(n), quantum)
    return -value if sign else value


def ulp(value: float, fmt: Format) -> float:
    """The spacing of ``fmt`` at the finite ``value`` (its binade's quantum; the smallest
    subnormal at zero and below the normal range)."""
    top = math.frexp(value)[1] - 1 if value != 0 else fmt.emin
    return math.ldexp(1.0, max(top, fmt.emin) - (fmt.precision - 1))


def error_ulps(got: float, exact: Mp, fmt: Format) -> float:
    """|got - exact| in units in the last place of the correctly rounded ``exact``.

    Infinities count as the value one ulp beyond the largest finite number when the other
    side is finite, so overflowing to infinity just above the largest finite value is a
    one-ulp error, not an infinite one. NaN against a number is infinite error."""
    if math.isnan(got) or mpmath.isnan(exact):
        return 0.0 if math.isnan(got) and mpmath.isnan(exact) else math.inf
    if mpmath.isinf(exact) and math.isinf(got):
        return 0.0 if (exact > 0) == (got > 0) else math.inf
    rounded = round_to(exact, fmt)
    if math.isinf(got) and rounded == got:
        return 0.0  # the exact value overflows to this infinity: correctly rounded
    beyond = mpmath.mpf((1, fmt.emax + 1))  # 2**(emax + 1): not a float64 for float64
    if mpmath.isinf(exact):
        exact = beyond if exact > 0 else -beyond
    g = mpmath.mpf(got) if math.isfinite(got) else (beyond if got > 0 else -beyond)
    unit = ulp(rounded if math.isfinite(rounded) else fmt.max, fmt)
    return float(abs(g - exact) / unit)


def parts(x: Mp) -> tuple[Mp, Mp]:
    """(real, imaginary) parts of an mpmath value."""
    if isinstance(x, mpmath.mpc):
        return x.real, x.imag
    return mpmath.mpf(x), mpmath.mpf(0)


#: What mpmath raises at poles, outside a function's domain, or on arguments too large for it.
MPMATH_ERRORS = (ValueError, ZeroDivisionError, OverflowError)


class Singular(Exception):
    """mpmath could not evaluate the function at this point (a pole or a domain error)."""


def _rounded(value: Mp, fmt: Format) -> tuple[float, float]:
    re, im = parts(value)
    return round_to(re, fmt), round_to(im, fmt)


def _same(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return all(x == y or (math.isnan(x) and math.isnan(y)) for x, y in zip(a, b, strict=True))


#: Working precisions tried in turn (bits). Each is compared with the next one.
PRECISIONS = (128, 256, 512, 1024, 2048, 4096)


def evaluate(fn: Callable[..., Mp], args: list[Mp], fmt: Format) -> Mp:
    """``fn(*args)`` at a precision where its rounding to ``fmt`` is stable (Ziv's strategy):
    evaluated at increasing precisions until two consecutive ones round to the same value.

    The first precision is over 5x the format's; cancellation (a result much smaller than
    the terms that make it) shows as rounded values that move with the precision and
    is resolved by the later ones. Raises ``Singular`` where mpmath raises."""
    # Start above the format's precision and above the arguments' own (exact) precision.
    need = max([2 * fmt.precision + 64, *(_bits(a) + _spread(a) + 64 for a in args)])
    previous: tuple[float, float] | None = None
    value: Mp = None
    for prec in [p for p in PRECISIONS if p >= need] or [PRECISIONS[-1]]:
        try:
            with mpmath.workprec(prec):
                value = fn(*args)
                value = +value  # round mpmath's result to this precision
        except MPMATH_ERRORS as exc:
            raise Singular(str(exc) or type(exc).__name__) from None
        current = _rounded(value, fmt)
        if previous is not None and _same(previous, current):
            return value
        previous = current
    return value


def _spread(x: Mp) -> int:
    """Bits between the parts of a complex argument (and 1): mpmath's complex functions
    lose a part that many binades below the other at lower precision (``acosh(0.5 - 2**-1100
    j)`` has the sign of its imaginary part wrong below about 1100 bits, which decides the
    side of the branch cut)."""
    if not isinstance(x, mpmath.mpc) or not (mpmath.isfinite(x.real) and mpmath.isfinite(x.imag)):
        return 0
    mags = [int(mpmath.mag(p)) for p in (x.real, x.imag) if p != 0]
    return max([*mags, 1]) - min(mags) if mags else 0


def _bits(x: Mp) -> int:
    """Bits of the mantissa(s) of an mpmath number."""
    if isinstance(x, mpmath.mpc):
        return max(_bits(x.real), _bits(x.imag))
    return int(mpmath.mpf(x)._mpf_[3])
