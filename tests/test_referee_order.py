"""The referee on order statistics (min/max reductions, quantiles) and the reference's
quantile at infinities (issue 14's no_referee buckets)."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from fuzzjax.fuzzing.case import Case
from fuzzjax.fuzzing.inputs import np_dtype
from fuzzjax.fuzzing.referee import Verdict, referee
from fuzzjax.fuzzing.reference import evaluate
from fuzzjax.fuzzing.reference.lax_general import quantile
from fuzzjax.lowering.lower import load_function
from fuzzjax.program import ArgSpec

INF, NAN = np.inf, np.nan


def _rule(call: str, alias: str, x: np.ndarray, got: object = None, want: object = None):  # type: ignore[no-untyped-def]
    source = f"def f(x0):\n    return {call}\n"
    dtype = str(x.dtype) if x.dtype != np_dtype("bfloat16") else "bfloat16"
    evaluated = evaluate(source, [x]).result
    out = evaluated.dtype
    shape = np.shape(evaluated.value)
    case = Case(source, (ArgSpec("x0", x.shape, dtype),), [x], out, shape)
    if got is None:
        got = np.asarray(jax.jit(load_function(source))(x))
    want = np.asarray(evaluated.value) if want is None else want
    cast = np_dtype(out)
    return referee(case, alias, np.asarray(got, cast), np.asarray(want, cast))


# ---- min / max --------------------------------------------------------------------------


def test_a_nan_dropped_by_min_is_jax_wrong() -> None:
    # jax 0.10.2 on CPU: jnp.min of an (8, 8, 8, 8) array holding a NaN returns a number
    x = np.arange(16, dtype=np.float32).reshape(4, 4)
    x[1, 2] = NAN
    r = _rule("jnp.min(x0, axis=None, keepdims=False, initial=-2.5)", "min_initial", x, -2.5)
    assert (r.verdict, r.rule) == (Verdict.JAX_WRONG, "beyond_bound"), r.detail
    assert r.exact == "nan"
    # the method form too (it needs NumPy's lazy import inside the shim)
    r = _rule("x0.min(axis=1)", "m_min", x, got=[0.0, 4.0, 8.0, 12.0])
    assert r.verdict is Verdict.JAX_WRONG and r.index == [1], r.detail


def test_min_max_exact_answers_are_accepted_and_others_rejected() -> None:
    x = np.array([[3.0, -1.5, 2.0], [NAN, 1.0, -7.0]], np.float32)
    r = _rule("jnp.nanmin(x0, axis=1, keepdims=False)", "nanmin", x, got=[-1.5, -7.0], want=[0, 0])
    assert r.verdict is Verdict.REFERENCE_WRONG, r.detail  # NaN ignored: -1.5 and -7
    r = _rule("jnp.max(x0, axis=0, keepdims=False, initial=2.75)", "max_initial", x,
              got=[NAN, 2.75, 2.75], want=[3.0, 2.75, 2.75])  # fmt: skip
    assert r.verdict is Verdict.REFERENCE_WRONG, r.detail  # NaN propagates through max
    r = _rule("jnp.amax(x0, axis=1, keepdims=False)", "amax", x, got=[3.0, 1.0], want=[3.0, NAN])
    assert r.verdict is Verdict.JAX_WRONG, r.detail


def test_a_flushed_subnormal_minimum_is_ftz() -> None:
    x = np.array([1e-40, 3.0], np.float32)
    r = _rule("jnp.min(x0, axis=0, keepdims=False)", "min", x, got=0.0)
    assert (r.verdict, r.rule) == (Verdict.BOTH_ACCEPTABLE, "ftz"), r.detail


# ---- quantiles: the reference ---------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "q", "expected", "undefined"),
    [
        ([1, INF, INF], 0.5, INF, False),  # NumPy: NaN (inf - inf in its lerp)
        ([-INF, 1, INF], 0.5, 1.0, False),  # NumPy: NaN (it reads the next element at t = 0)
        ([1, 2, INF], 0.75, INF, False),  # NumPy: NaN
        ([-INF, -INF, 1], 0.25, -INF, False),
        ([-65504, 65504], 0.5, 0.0, False),  # NumPy's float16 lerp overflows: -inf
        ([-INF, INF], 0.5, NAN, True),  # no single answer
        ([1, NAN, 2], 0.5, NAN, False),
        ([1, 2, 3, 4], 0.3, 1.9, False),
    ],
)
def test_the_reference_quantile_takes_limits_at_infinities(
    values: list[float], q: float, expected: float, undefined: bool
) -> None:
    value, marked = quantile(np.array(values, np.float16), q, 0)
    np.testing.assert_array_equal(value, np.float16(expected))
    assert bool(marked) is undefined


# ---- quantiles: the referee -----------------------------------------------------------


def test_jax_nan_where_the_quantile_is_infinite_is_wrong() -> None:
    # jax 0.10.2: quantile([1, inf, inf], 0.5) is inf * 1 + inf * 0 = NaN; x[1] = inf
    x = np.array([1, INF, INF], np.float32)
    r = _rule("jnp.quantile(x0, 0.5, axis=0)", "quantile", x, got=NAN)
    assert (r.verdict, r.rule) == (Verdict.JAX_WRONG, "beyond_bound"), r.detail
    assert r.exact == "inf"


def test_opposite_infinities_are_undefined() -> None:
    x = np.array([-INF, INF], np.float32)
    r = _rule("jnp.percentile(x0, 50.0, axis=0)", "percentile", x, got=NAN, want=0.0)
    assert (r.verdict, r.rule) == (Verdict.UNDEFINED, "opposite_infinities"), r.detail


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_jax_quantiles_of_ordinary_data_are_within_the_interpolation_bound(dtype: str) -> None:
    rng = np.random.default_rng(7)
    x = (rng.normal(0, 30, (5, 21)) * rng.choice([1, 1e-3, 1e2], (5, 21))).astype(np_dtype(dtype))
    for q in (0.0, 5.0, 33.3, 50.0, 95.0, 99.9):
        call = f"jnp.percentile(x0, {q}, axis=1)"
        r = _rule(call, "percentile", x, want=np.zeros(5))  # every element examined
        assert r.verdict is Verdict.REFERENCE_WRONG or r.counts == {}, (q, r.detail)
        assert "jax_wrong" not in r.counts, (q, r.detail)
    # a value well off the interpolant is not within it
    got = np.asarray(jax.jit(lambda a: jax.numpy.quantile(a, 0.5, axis=1))(x)).astype(np.float64)
    r = _rule("jnp.quantile(x0, 0.5, axis=1)", "quantile", x, got=got * 1.25 + 1)
    assert r.verdict is Verdict.JAX_WRONG, r.detail
