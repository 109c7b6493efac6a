"""Operations with one exact answer: integer and bool arithmetic, selection, rounding to
integers, comparisons, and the float remainder family. No mpmath is needed:

* integers are Python ints, wrapped to the result dtype (two's complement, as XLA defines
  add/subtract/multiply); results with no defined value (division by zero, shifts by the bit
  width or more, negative integer powers, results that overflow where JAX does not wrap
  consistently: powers, gcd/lcm, INT_MIN // -1) are undefined with a named rule;
* float selection and rounding ops run in NumPy on the operands in their computation dtype,
  where they are exact (``maximum``, ``floor``, ``copysign``, ``nextafter``...);
* float ``remainder`` and ``floor_divide`` are exact rationals (``fractions``) rounded once;
* ``isclose`` is decided exactly, and left undefined within a few ulps of its threshold.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import mpmath
import numpy as np

from fuzzjax.dtypes import KIND
from fuzzjax.fuzzing.inputs import finfo, np_dtype
from fuzzjax.fuzzing.referee_exact import Expected
from fuzzjax.fuzzing.referee_numbers import FORMATS, part_format

_NUMPY: dict[str, Any] = {
    "negative": np.negative,
    "positive": np.positive,
    "abs": np.abs,
    "sign": np.sign,
    "floor": np.floor,
    "ceil": np.ceil,
    "rint": np.rint,
    "trunc": np.trunc,
    "round": np.round,
    "conj": np.conj,
    "real": np.real,
    "imag": np.imag,
    "maximum": np.maximum,
    "minimum": np.minimum,
    "fmax": np.fmax,
    "fmin": np.fmin,
    "copysign": np.copysign,
    "nextafter": np.nextafter,
    "fmod": np.fmod,
    "less": np.less,
    "less_equal": np.less_equal,
    "greater": np.greater,
    "greater_equal": np.greater_equal,
    "equal": np.equal,
    "not_equal": np.not_equal,
    "logical_and": np.logical_and,
    "logical_or": np.logical_or,
    "logical_xor": np.logical_xor,
    "logical_not": np.logical_not,
    "isnan": np.isnan,
    "isinf": np.isinf,
    "isneginf": np.isneginf,
    "isposinf": np.isposinf,
    "isfinite": np.isfinite,
    "signbit": np.signbit,
    "bitwise_and": np.bitwise_and,
    "bitwise_or": np.bitwise_or,
    "bitwise_xor": np.bitwise_xor,
    "bitwise_not": np.invert,
    "add": np.add,
    "multiply": np.multiply,
    "relu": lambda x: np.maximum(x, 0),
    "relu6": lambda x: np.minimum(np.maximum(x, 0), 6),
    "hard_tanh": lambda x: np.where(x > 1, 1, np.where(x < -1, -1, x)),
    "heaviside": lambda x, h: np.where(x < 0, 0, np.where(x > 0, 1, np.where(x == x, h, x))),
    "zeros_like": np.zeros_like,
    "ones_like": np.ones_like,
}


def expect_discrete(name: str, args: list[np.ndarray], compute: str, out: str) -> Expected:
    """The exact result of ``name`` on 0-d ``args`` of dtype ``compute``, as dtype ``out``."""
    if KIND[compute] in "iu" and KIND[out] in "iu":
        return _integer(name, [int(a) for a in args], out)
    if name in ("remainder", "floor_divide"):
        return _remainder_family(name, float(args[0]), float(args[1]))
    if name == "isclose":
        return _isclose(args, compute)
    if name == "nan_to_num":
        return _result(_nan_to_num(args[0], compute), out)
    with np.errstate(all="ignore"):
        value = _NUMPY[name](*args)
    return _result(np.asarray(value).astype(np_dtype(out)), out)


def _result(value: np.ndarray, out: str) -> Expected:
    v = np.asarray(value).item()
    if KIND[out] == "b":
        return Expected((bool(v),))
    if KIND[out] in "iu":
        return Expected((int(v),))
    if KIND[out] == "c":
        return Expected((mpmath.mpf(v.real), mpmath.mpf(v.imag)))
    return Expected((mpmath.mpf(float(v)),))


def _nan_to_num(x: np.ndarray, dtype: str) -> np.ndarray:
    fi = finfo(part_format(dtype).name)
    parts = [np.real(x), np.imag(x)] if KIND[dtype] == "c" else [x]
    fixed = [
        np.where(np.isnan(p), 0, np.where(np.isinf(p), np.where(p > 0, fi.max, fi.min), p))
        for p in parts
    ]
    if KIND[dtype] == "c":
        return np.asarray(fixed[0] + 1j * fixed[1])
    return np.asarray(fixed[0])


# ---- integers -------------------------------------------------------------------------


def _wrap(v: int, dtype: str) -> int:
    info = np.iinfo(np_dtype(dtype))
    span = int(info.max) - int(info.min) + 1
    return (v - int(info.min)) % span + int(info.min)


def _fits(v: int, dtype: str) -> bool:
    info = np.iinfo(np_dtype(dtype))
    return int(info.min) <= v <= int(info.max)


def _undefined(rule: str) -> Expected:
    return Expected((0,), undefined=rule)


def _integer(name: str, xs: list[int], out: str) -> Expected:
    bits = 8 * np_dtype(out).itemsize
    x = xs[0]
    y = xs[1] if len(xs) > 1 else 0
    if name in ("floor_divide", "remainder", "fmod", "divide") and y == 0:
        return _undefined("int_div_by_zero")
    if name in ("floor_divide", "divide") and not _fits(_trunc_div(x, y), out):
        return _undefined("int_div_overflow")
    if name in ("left_shift", "right_shift") and not 0 <= y < bits:
        return _undefined("shift_out_of_range")
    if name == "power":
        if y < 0:
            return _undefined("int_pow_negative_exponent")
        if abs(x) >= 2 and (y >= bits or not _fits(x**y, out)):
            return _undefined("int_pow_overflow")
    simple: dict[str, Any] = {
        "add": lambda: x + y,
        "subtract": lambda: x - y,
        "multiply": lambda: x * y,
        "negative": lambda: -x,
        "positive": lambda: x,
        "square": lambda: x * x,
        "abs": lambda: abs(x),
        "sign": lambda: (x > 0) - (x < 0),
        "power": lambda: x**y,
        "floor_divide": lambda: x // y,
        "remainder": lambda: x % y,
        "divide": lambda: _trunc_div(x, y),
        "fmod": lambda: x - y * _trunc_div(x, y),
        "maximum": lambda: max(x, y),
        "minimum": lambda: min(x, y),
        "bitwise_and": lambda: x & y,
        "bitwise_or": lambda: x | y,
        "bitwise_xor": lambda: x ^ y,
        "bitwise_not": lambda: ~x,
        "left_shift": lambda: x << y,
        "right_shift": lambda: x >> y,
        "conj": lambda: x,
        "real": lambda: x,
        "imag": lambda: 0,
        "zeros_like": lambda: 0,
        "ones_like": lambda: 1,
        # the two's complement bits of x in the result's width
        "population_count": lambda: bin(x % (1 << bits)).count("1"),
        "clz": lambda: bits - (x % (1 << bits)).bit_length(),
    }
    if name in ("gcd", "lcm"):
        g = math.gcd(x, y)
        value = g if name == "gcd" else (abs(x * y) // g if g else 0)
        return Expected((value,)) if _fits(value, out) else _undefined("int_overflow")
    if name in ("maximum", "minimum", "fmax", "fmin"):
        name = "maximum" if name in ("maximum", "fmax") else "minimum"
    if name not in simple:
        raise KeyError(name)
    return Expected((_wrap(int(simple[name]()), out),))


def _trunc_div(x: int, y: int) -> int:
    q = abs(x) // abs(y)
    return q if (x < 0) == (y < 0) else -q


# ---- float remainder family and isclose ------------------------------------------------


def _remainder_family(name: str, x: float, y: float) -> Expected:
    if not (math.isfinite(x) and math.isfinite(y)):
        return Expected((mpmath.mpf("nan"),), undefined="non_finite_operand")
    if y == 0:
        if name == "remainder":
            return Expected((mpmath.mpf("nan"),))
        q = math.nan if x == 0 else math.copysign(math.inf, x) * math.copysign(1.0, y)
        return Expected((mpmath.mpf(q),))
    quotient = math.floor(Fraction(x) / Fraction(y))
    exact = Fraction(quotient) if name == "floor_divide" else Fraction(x) - Fraction(y) * quotient
    with mpmath.workprec(2200):  # binary fractions of float32 values: exact at this precision
        return Expected((mpmath.mpf(exact.numerator) / exact.denominator,))


def _isclose(args: list[np.ndarray], compute: str) -> Expected:
    a, b = (np.asarray(v).item() for v in args)
    fmt = FORMATS[part_format(compute).name] if KIND[compute] in "fc" else FORMATS["float32"]
    if a == b:
        return Expected((True,))
    if not (np.isfinite(a) and np.isfinite(b)):
        return Expected((False,))
    ftype = np_dtype(fmt.name)
    atol, rtol = float(ftype.type(1e-8)), float(ftype.type(1e-5))
    with mpmath.workprec(256):
        za, zb = mpmath.mpc(complex(a)), mpmath.mpc(complex(b))
        lhs, rhs = abs(za - zb), atol + rtol * abs(zb)
        close = bool(lhs <= rhs)
        slack = 8 * fmt.eps * (lhs + rhs)
        if abs(lhs - rhs) <= slack:
            return Expected((close,), undefined="tolerance_boundary")
    return Expected((close,))
