"""Exact evaluation of a one-call reduction's own source: a NumPy shim for ``jnp`` on object
arrays of exact numbers (``fractions.Fraction``, ``Exact`` for complex values, Python ints).

``run(case, arrays)`` executes the case's text (after the grammar check) with ``jnp`` bound to
``_Shim``, so axes, ``keepdims`` and einsum specs mean exactly what NumPy says and nothing is
rounded. On float64 arrays the same shim gives the IEEE answer (for non-finite operands).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import mpmath
import numpy as np

from fuzzjax.fuzzing.case import Case
from fuzzjax.syntax import ensure_valid


@dataclass(frozen=True)
class Exact:
    """An exact complex number with rational parts (object arrays of these add and multiply)."""

    re: Fraction
    im: Fraction

    def __add__(self, other: Any) -> Exact:
        o = _exact(other)
        return Exact(self.re + o.re, self.im + o.im)

    __radd__ = __add__

    def __sub__(self, other: Any) -> Exact:
        o = _exact(other)
        return Exact(self.re - o.re, self.im - o.im)

    def __rsub__(self, other: Any) -> Exact:
        return _exact(other) - self

    def __mul__(self, other: Any) -> Exact:
        o = _exact(other)
        return Exact(self.re * o.re - self.im * o.im, self.re * o.im + self.im * o.re)

    __rmul__ = __mul__

    def __truediv__(self, n: int) -> Exact:
        return Exact(self.re / n, self.im / n)

    def conjugate(self) -> Exact:
        return Exact(self.re, -self.im)


def _exact(x: Any) -> Exact:
    return x if isinstance(x, Exact) else Exact(Fraction(x), Fraction(0))


class _Shim:
    """The jnp functions a one-call reduction uses, on NumPy (object or float64) arrays."""

    bool_ = int8 = uint8 = int32 = int64 = float16 = bfloat16 = float32 = float64 = None
    complex64 = complex128 = None

    def __init__(self, exact: bool, count: bool = False) -> None:
        self.exact, self.count = exact, count  # count: means are sums (of ones: term counts)

    def _nan(self, name: str) -> Any:
        return getattr(np, name if self.exact else f"nan{name}")

    def sum(self, x: Any, axis: Any = None, keepdims: bool = False, dtype: Any = None) -> Any:
        return np.sum(x, axis=axis, keepdims=keepdims)

    def nansum(self, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        return self._nan("sum")(x, axis=axis, keepdims=keepdims)

    def mean(self, x: Any, axis: Any = None, keepdims: bool = False, dtype: Any = None) -> Any:
        total = np.sum(x, axis=axis, keepdims=keepdims)
        n = x.size // max(1, np.size(total)) if x.size else 0
        return total if self.count else _divide(total, n)

    def nanmean(self, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        return (
            self.mean(x, axis, keepdims) if self.exact else np.nanmean(x, axis, keepdims=keepdims)
        )

    def prod(self, x: Any, axis: Any = None, keepdims: bool = False, dtype: Any = None) -> Any:
        return np.prod(x, axis=axis, keepdims=keepdims)

    def nanprod(self, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        return self._nan("prod")(x, axis=axis, keepdims=keepdims)

    def cumsum(self, x: Any, axis: int, dtype: Any = None) -> Any:
        return np.cumsum(x, axis=axis)

    def nancumsum(self, x: Any, axis: int) -> Any:
        return self._nan("cumsum")(x, axis=axis)

    def cumprod(self, x: Any, axis: int) -> Any:
        return np.cumprod(x, axis=axis)

    def nancumprod(self, x: Any, axis: int) -> Any:
        return self._nan("cumprod")(x, axis=axis)

    def matmul(self, x: Any, y: Any) -> Any:
        return np.matmul(x, y)

    def dot(self, x: Any, y: Any) -> Any:
        return np.dot(x, y)

    def inner(self, x: Any, y: Any) -> Any:
        return np.inner(x, y)

    def outer(self, x: Any, y: Any) -> Any:
        return np.outer(x, y)

    def vdot(self, x: Any, y: Any) -> Any:
        return np.vdot(x, y)

    def kron(self, x: Any, y: Any) -> Any:
        return np.kron(x, y)

    def tensordot(self, x: Any, y: Any, axes: int) -> Any:
        return np.tensordot(x, y, axes=axes)

    def einsum(self, spec: str, x: Any, y: Any) -> Any:
        return np.einsum(spec, x, y)

    def trace(self, x: Any) -> Any:
        return np.trace(x)


def _divide(total: Any, n: int) -> Any:
    if n == 0:
        return total * np.nan if not isinstance(total, np.ndarray) else np.full(total.shape, np.nan)
    return total / n


def run(case: Case, arrays: list[np.ndarray], *, count: bool = False) -> np.ndarray:
    """The one-call ``case`` evaluated on ``arrays`` with the shim (exact if they are object
    arrays; ``count``: means are sums)."""
    ensure_valid(case.source)
    exact = any(a.dtype == object for a in arrays)
    shim = _Shim(exact, count)
    namespace: dict[str, Any] = {"__builtins__": {}, "jnp": shim, "jax": None, "lax": None}
    exec(compile(case.source, "<fuzzjax-program>", "exec"), namespace)
    return np.asarray(namespace["f"](*arrays), dtype=object if exact else None)


def as_exact(x: np.ndarray) -> np.ndarray:
    """An object array of exact numbers: ints, Fractions, or ``Exact`` for complex."""
    flat = x.reshape(-1)
    if x.dtype.kind in "biu":
        values: list[Any] = [int(v) for v in flat]
    elif x.dtype.kind == "c":
        values = [Exact(Fraction(float(v.real)), Fraction(float(v.imag))) for v in flat]
    else:
        values = [Fraction(float(v)) for v in flat]
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out.reshape(x.shape)


def magnitudes(x: np.ndarray) -> np.ndarray:
    """|x| as exact rationals (|re| + |im| for complex: an upper bound of |z|)."""
    if x.dtype.kind == "c":
        return as_exact(np.abs(x.real).astype(np.float64) + np.abs(x.imag).astype(np.float64))
    return as_exact(np.abs(x.astype(np.float64)) if x.dtype.kind != "b" else x)


def to_mp(v: Any) -> tuple[Any, ...]:
    """An exact scalar as mpmath parts (400 bits: means divide by n)."""
    with mpmath.workprec(400):
        if isinstance(v, Exact):
            return (
                mpmath.mpf(v.re.numerator) / v.re.denominator,
                mpmath.mpf(v.im.numerator) / v.im.denominator,
            )
        if isinstance(v, (complex, np.complexfloating)):
            return mpmath.mpf(float(v.real)), mpmath.mpf(float(v.imag))
        f = Fraction(v) if not isinstance(v, float) or math.isfinite(v) else None
        if f is None:
            return (mpmath.mpf(v),)
        return (mpmath.mpf(f.numerator) / f.denominator,)
