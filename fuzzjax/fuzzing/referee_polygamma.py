"""``jax.scipy.special.polygamma(n, x)`` for the referee: the n-th derivative of digamma.

The order ``n`` is an integer literal of the program (the grammar draws 0..3), so each order
is its own one-argument ``MpFunction`` (``polygamma(n)``). Its definition is SciPy's, which
JAX implements: psi^(n)(x) = d^(n+1)/dx^(n+1) log Gamma(x) for real x
(https://docs.scipy.org/doc/scipy/reference/generated/scipy.special.polygamma.html), defined
on the whole real line except the poles 0, -1, -2, ...:

* x > 0: ``mpmath.psi(n, x)``;
* x < 0 (not an integer): the reflection formula, DLMF 5.15.6 differentiated n times,
  psi^(n)(x) = (-1)^n psi^(n)(1 - x) - pi d^n/dx^n cot(pi x), with cot(pi x) from
  ``mpmath.cospi``/``sinpi`` (exact argument reduction: the referee's stand-ins for -inf
  are around -2**400, where ``mpmath.psi`` itself takes minutes);
* at a pole the one-sided values decide (``referee_exact._pole``): +inf from both sides for
  odd n (a pole of even order), no limit for even n (rule ``pole``);
* at +inf the limit is 0 for n >= 1 (+inf for n = 0), and SciPy returns it; JAX's NaN there
  is not accepted as a convention (``MpFunction.infinity_convention`` off): it is reported
  upstream as a bug, https://github.com/jax-ml/jax/issues/38608 (open);
* at -inf there is no limit (a pole at every negative integer): NaN or an infinity is
  accepted (``referee_exact``, rule ``no_limit``).

JAX is known to be wrong for x < -8 or so with n >= 1 (XLA's Euler-Maclaurin zeta without
reflection): https://github.com/jax-ml/jax/issues/11481, jax-ml/jax#37635, jax-ml/jax#38199.

Accuracy class: ``special`` (XLA evaluates n = 0 as digamma, a Lanczos approximation, and
n >= 1 as (-1)^(n+1) n! zeta(n + 1, x), an Euler-Maclaurin sum with fixed terms:
``xla/hlo/builder/lib/math.cc``). The scale of n = 0 is digamma's (the Lanczos terms).
"""

from __future__ import annotations

import functools

import mpmath

from fuzzjax.fuzzing.referee_functions import MpFunction, _lanczos_terms
from fuzzjax.fuzzing.referee_numbers import Mp

#: The grammar alias whose integer literal is the order.
ALIAS = "sp_polygamma"
#: The referee's name of the function (``referee_exact`` special-cases -inf by it).
NAME = "polygamma"


def _cot_derivative(n: int, c: Mp) -> Mp:
    """d^n/dy^n cot(y) as a polynomial in c = cot(y): P_0 = c, P_(k+1) = -(1 + c^2) P_k'."""
    coefficients = [0, 1]  # P_0(c) = c, lowest power first
    for _ in range(n):
        derivative = [k * a for k, a in enumerate(coefficients)][1:]
        # multiply by -(1 + c^2)
        shifted = [0, 0, *derivative]
        padded = derivative + [0, 0]
        coefficients = [-(a + b) for a, b in zip(padded, shifted, strict=True)]
    return mpmath.polyval(coefficients[::-1], c)


def _psi(n: int, x: Mp) -> Mp:
    if mpmath.isnan(x) or x == -mpmath.inf:
        return mpmath.nan
    if x == mpmath.inf:
        return mpmath.inf if n == 0 else mpmath.mpf(0)
    if x > 0:
        return mpmath.psi(n, x)
    sin = mpmath.sinpi(x)
    if sin == 0:
        raise ZeroDivisionError("polygamma pole")  # referee_exact: the sides decide
    cot = mpmath.cospi(x) / sin
    trig = mpmath.pi ** (n + 1) * _cot_derivative(n, cot)
    return (-1) ** n * mpmath.psi(n, 1 - x) - trig


@functools.cache
def polygamma(n: int) -> MpFunction:
    """The referee's function of ``jax.scipy.special.polygamma(n, x)`` for a literal ``n``."""
    if n < 0:
        raise ValueError(f"polygamma order n={n} must be >= 0")
    return MpFunction(
        NAME,
        1,
        functools.partial(_psi, n),
        "special",
        real_only=True,
        scale=_lanczos_terms if n == 0 else None,
        slow=n == 0,
        infinity_convention=n == 0,  # JAX's NaN at +inf for n >= 1: jax-ml/jax#38608
    )
