"""The referee on ``jax.scipy.special.polygamma(n, x)`` (issue 14's no_referee buckets).

JAX's values are planted (what jax 0.10.2 returns), so the rulings do not depend on the jax
version; the exact values come from mpmath (``referee_polygamma``).
"""

from __future__ import annotations

import time

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzzjax.fuzzing.case import Case
from fuzzjax.fuzzing.referee import Verdict, referee
from fuzzjax.fuzzing.referee_polygamma import _psi, polygamma
from fuzzjax.fuzzing.reference import evaluate
from fuzzjax.program import ArgSpec


def _rule(n: int, x: float, got: float, dtype: str = "float32", want: float | None = None):  # type: ignore[no-untyped-def]
    source = f"def f(x0):\n    return jax.scipy.special.polygamma({n}, x0)\n"
    xs = np.array([x], dtype if dtype != "bool" else np.bool_)
    out = "float32" if dtype == "bool" else dtype
    case = Case(source, (ArgSpec("x0", (1,), dtype),), [xs], out, (1,))
    if want is None:
        want = float(np.asarray(evaluate(source, [xs]).result.value)[0])
    return referee(case, "sp_polygamma", np.array([got], np.float32), np.array([want], np.float32))


@given(
    st.integers(0, 3),
    st.floats(-40, -1e-3).filter(lambda x: x != round(x)),
)
def test_the_reflection_formula_is_mpmaths_polygamma(n: int, x: float) -> None:
    with mpmath.workprec(200):
        mine, theirs = _psi(n, mpmath.mpf(x)), mpmath.psi(n, mpmath.mpf(x))
        assert abs(mine - theirs) <= abs(theirs) * mpmath.mpf(2) ** -150


def test_jax_without_reflection_at_negative_x_is_wrong() -> None:
    # jax 0.10.2: polygamma(1, -13.5625) = -0.0711 (exact 10.189): jax-ml/jax#11481
    r = _rule(1, -13.5625, -0.0710812658071518)
    assert (r.verdict, r.rule) == (Verdict.JAX_WRONG, "beyond_bound"), r.detail
    assert r.exact.startswith("10.18902")


def test_nan_at_plus_infinity_is_wrong_for_n_at_least_1() -> None:
    # the limit is 0 and SciPy gives it; JAX's NaN is reported upstream (jax-ml/jax#38608)
    r = _rule(3, np.inf, np.nan, "float16")
    assert (r.verdict, r.rule) == (Verdict.JAX_WRONG, "beyond_bound"), r.detail
    # digamma (n = 0) goes to +inf there
    assert _rule(0, np.inf, np.inf).verdict is Verdict.BOTH_ACCEPTABLE


def test_minus_infinity_has_no_limit() -> None:
    # poles at every negative integer: JAX's inf and the reference's NaN are both accepted
    r = _rule(1, -np.inf, np.inf)
    assert (r.verdict, r.rule) == (Verdict.UNDEFINED, "no_limit"), r.detail
    assert _rule(1, -np.inf, 5.0).verdict is Verdict.JAX_WRONG  # but not any finite value


def test_poles_odd_order_is_plus_infinity_even_order_undefined() -> None:
    assert _rule(1, -3.0, np.inf, want=np.nan).verdict is Verdict.REFERENCE_WRONG
    assert _rule(1, -3.0, -np.inf, want=np.inf).verdict is Verdict.JAX_WRONG
    r = _rule(2, -3.0, np.inf, want=np.nan)
    assert (r.verdict, r.rule) == (Verdict.UNDEFINED, "pole"), r.detail


def test_ordinary_errors_within_the_special_bound_are_accepted() -> None:
    # jax 0.10.2, float32: polygamma(3, True) = 6.4939466 (exact pi^4/15 = 6.4939394, 15 ulp)
    r = _rule(3, True, 6.4939466, "bool")
    assert (r.verdict, r.rule) == (Verdict.BOTH_ACCEPTABLE, "within_bound"), r.detail
    # a value 40 ulp off is not
    assert _rule(3, 1.0, 6.4939394 * (1 + 40 * 2**-23)).verdict is Verdict.JAX_WRONG
    # polygamma(0, .) is digamma, with its Lanczos scale: jax 0.10.2 at sin(1) in float32
    r = _rule(0, 0.84147096, -0.8732822)
    assert r.verdict is Verdict.BOTH_ACCEPTABLE, r.detail


def test_a_nan_operand_is_ruled_quickly() -> None:
    # the NaN stand-ins include -2**400-ish values, where mpmath.psi itself takes minutes
    start = time.monotonic()
    r = _rule(3, np.nan, np.nan, want=0.0)  # NaN in, NaN out; 0 is no answer for any x
    assert r.verdict is Verdict.REFERENCE_WRONG, r.detail
    assert time.monotonic() - start < 8  # referee.BUDGET: a hang would be no_referee


@pytest.mark.parametrize("n", [-1])
def test_a_negative_order_is_refused(n: int) -> None:
    with pytest.raises(ValueError, match="n=-1"):
        polygamma(n)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
def test_the_infinity_stand_ins_are_not_integers(dtype: str) -> None:
    """The stand-ins for +-inf avoid the integer poles (lgamma, polygamma below 0): built at
    mpmath's default 53 bits, 2**k + 1/2 was rounded to the integer 2**k."""
    import mpmath

    from fuzzjax.fuzzing.referee_exact import stand_ins
    from fuzzjax.fuzzing.referee_numbers import part_format

    for big in stand_ins(part_format(dtype), slow=False):
        assert big != mpmath.floor(big) and big > 2.0**60
