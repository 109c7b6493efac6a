"""The referee for order statistics: min/max reductions and quantiles (``percentile``).

``OrderStatistic.of(case, alias)`` runs the one-call case's own source with ``jnp`` bound to
a shim whose functions compute the exact answer on float64 copies of the operands (the
operands' values exactly, cast to the result dtype first, as jnp does):

* ``min``/``max`` (and ``amin``, ``amax``, the methods, ``initial=``): a selection, exact. A
  NaN anywhere in the reduced slice makes the result NaN: StableHLO's ``minimum`` and
  ``maximum`` are IEEE 754-2019's, which propagate NaN
  (https://openxla.org/stablehlo/spec#minimum), and jnp.min implements numpy.min ("NaN
  values are propagated"). ``nanmin``/``nanmax`` ignore NaN (NaN for an all-NaN slice).
  Zeros of either sign are the same answer (NumPy does not order them); with subnormals
  flushed (XLA on CPU, jax-ml/jax#16200) a zero or subnormal is accepted for a subnormal or
  zero answer (rule ``ftz``).
* ``quantile``/``percentile`` (linear: Hyndman and Fan's type 7, numpy.quantile's default):
  the sorted slice's neighbours x_lo, x_hi around the position P = q (n - 1), interpolated
  x_lo + t (x_hi - x_lo) with t = P - floor(P) exactly. Where a neighbour is infinite the
  limit is taken: x_lo where t = 0 or x_lo = x_hi, else the infinite neighbour; -inf and
  +inf strictly between them is undefined (rule ``opposite_infinities``). A NaN in the slice
  makes the result NaN (both numpy.quantile and jnp.quantile say so). Class
  ``interpolation`` (``referee_bounds``): jnp computes q and P in the data's dtype (q is a
  weakly typed Python scalar), so besides 1 ulp of the exact value the answer may be the
  interpolant anywhere within dP = 2 eps max(P, 1) of P (dP times the steepest segment of
  the sorted slice within P +- dP), plus 2 eps (|x_lo| + |x_hi|) for the products and the
  sum.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import mpmath
import numpy as np

from fuzzjax.dtypes import KIND
from fuzzjax.fuzzing.case import Case
from fuzzjax.fuzzing.inputs import finfo, np_dtype
from fuzzjax.fuzzing.referee_numbers import error_ulps, part_format, round_to
from fuzzjax.syntax import ensure_valid

MIN_MAX = frozenset(
    {"min", "max", "m_min", "m_max", "amin", "amax", "min_initial", "max_initial"}
    | {"nanmin", "nanmax"}
)
QUANTILES = frozenset({"quantile", "percentile"})
ORDER = MIN_MAX | QUANTILES


class _Shim:
    """The jnp functions of the one-call case, exact on float64 arrays; a quantile also
    records its accepted absolute error (``slack``) and undefined elements."""

    def __init__(self, dtype: str) -> None:
        self.dtype = np_dtype(dtype)
        self.eps = float(finfo(dtype).eps)
        self.slack: Any = 0.0
        self.undefined: Any = False

    def _initial(self, initial: Any) -> Any:
        return None if initial is None else float(np.asarray(initial).astype(self.dtype))

    def min(self, x: Any, axis: Any = None, keepdims: bool = False, initial: Any = None) -> Any:
        kw = {} if initial is None else {"initial": self._initial(initial)}
        return np.min(x, axis=axis, keepdims=keepdims, **kw)

    def max(self, x: Any, axis: Any = None, keepdims: bool = False, initial: Any = None) -> Any:
        kw = {} if initial is None else {"initial": self._initial(initial)}
        return np.max(x, axis=axis, keepdims=keepdims, **kw)

    amin, amax = min, max

    def nanmin(self, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        with warnings.catch_warnings():  # an all-NaN slice is NaN, with a warning
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmin(x, axis=axis, keepdims=keepdims)

    def nanmax(self, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmax(x, axis=axis, keepdims=keepdims)

    def percentile(self, x: Any, q: float, axis: int) -> Any:
        return self._quantile(x, Fraction(q) / 100, axis)

    def quantile(self, x: Any, q: float, axis: int) -> Any:
        return self._quantile(x, Fraction(q), axis)

    def _quantile(self, x: np.ndarray, q: Fraction, axis: int) -> Any:
        s = np.moveaxis(np.sort(x, axis=axis), axis, -1)  # NaN sorts last
        n = s.shape[-1]
        position = q * (n - 1)
        lo = math.floor(position)
        t = position - lo
        hi = min(lo + 1, n - 1)
        a, b = s[..., lo], s[..., hi]
        nan = np.isnan(s).any(axis=-1)
        same = (t == 0) | (a == b)
        with np.errstate(all="ignore"):
            linear = a + (b - a) * float(t) if t < Fraction(1, 2) else b - (b - a) * float(1 - t)
            opposite = np.isinf(a) & np.isinf(b) & ~same
            value = np.where(np.isfinite(a) & np.isfinite(b), linear, np.where(np.isinf(a), a, b))
            value = np.where(nan | opposite, np.nan, np.where(same, a, value))
            # q and P rounded in the dtype (q / 100 too): |dP| <= 2 eps P; the interpolant
            # moves by at most dP times the steepest segment within P +- dP
            moved = 2 * self.eps * max(float(position), 1.0)
            first = max(math.floor(float(position) - moved), 0)
            last = min(math.ceil(float(position) + moved), n - 1)
            gaps = np.diff(s[..., first : last + 1], axis=-1)
            steepest = gaps.max(axis=-1) if gaps.shape[-1] else np.zeros(a.shape)
            slack = moved * steepest + 2 * self.eps * (np.abs(a) + np.abs(b))
        self.slack = np.where(np.isnan(slack), 0.0, slack)
        self.undefined = opposite & ~nan
        return value


@dataclass
class OrderStatistic:
    """The exact answers of a one-call order statistic, and how to judge a value."""

    alias: str
    dtype: str
    exact: np.ndarray  # float64
    slack: np.ndarray  # accepted absolute error besides one ulp
    undefined: np.ndarray  # bool: no single answer

    @classmethod
    def of(cls, case: Case, alias: str) -> OrderStatistic:
        """Raises ``ValueError`` where there is no referee (complex or integer results)."""
        dtype = case.result_dtype
        if KIND[dtype] != "f":
            raise ValueError(f"{alias} of {dtype} results is not refereed")
        ensure_valid(case.source)
        with np.errstate(all="ignore"):
            arrays = [np.asarray(x).astype(np_dtype(dtype)).astype(np.float64) for x in case.inputs]
        shim = _Shim(dtype)
        # ndarray.min (the ``x.min(axis=...)`` forms) imports NumPy's helpers on first use
        # through the caller's builtins: the grammar-checked source itself imports nothing.
        builtins = {"__import__": __import__}
        namespace: dict[str, Any] = {
            "__builtins__": builtins,
            "jnp": shim,
            "jax": None,
            "lax": None,
        }
        exec(compile(case.source, "<fuzzjax-program>", "exec"), namespace)
        exact = np.asarray(namespace["f"](*arrays), np.float64)
        shape = exact.shape
        slack = np.broadcast_to(np.asarray(shim.slack, np.float64), shape)
        undefined = np.broadcast_to(np.asarray(shim.undefined, bool), shape)
        return cls(alias, dtype, exact, slack, undefined)

    def rounded(self, index: tuple[int, ...]) -> float:
        """The exact answer at ``index`` rounded to the result dtype."""
        return round_to(mpmath.mpf(float(self.exact[index])), part_format(self.dtype))

    def judge(self, index: tuple[int, ...], value: Any) -> tuple[bool, str, float | None]:
        """(acceptable, rule, error in ulps of the exact value) of ``value`` at ``index``."""
        v, exact = float(np.asarray(value).item()), float(self.exact[index])
        fmt = part_format(self.dtype)
        err = error_ulps(v, mpmath.mpf(exact), fmt) if not math.isnan(exact) else None
        if self.undefined[index]:
            return True, "opposite_infinities", err
        if math.isnan(exact) or math.isnan(v) or math.isinf(exact):
            same = v == exact or (math.isnan(v) and math.isnan(exact))
            return same, "within_bound" if same else "", err
        if v == exact or abs(v - exact) <= self.slack[index] or (err is not None and err <= 1):
            return True, "within_bound", err
        tiny = fmt.smallest_normal
        if abs(exact) < tiny and abs(v) < tiny:
            return True, "ftz", err
        return False, "", err
