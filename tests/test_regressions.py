"""Regressions pinned as Hypothesis explicit examples.

* Each false positive fuzzjax once reported, and fixed, stays fixed: the oracles do not report
  a failure for it (it passes, or a benign rule explains it).
* Each confirmed JAX bug family is still detected, on the jax versions where it was confirmed
  (``notes/fuzzing.md``); on other versions those tests skip, since upstream may fix them.

Only the explicit phase runs: the strategies here are never drawn from (Phase.explicit).
"""

from __future__ import annotations

import jax
import numpy as np
import pytest
from hypothesis import Phase, example, given, settings
from hypothesis import strategies as st

from fuzzjax.fuzzing.case import Case, Stage, Symptom
from fuzzjax.fuzzing.diagnose import Status, diagnose
from fuzzjax.fuzzing.inputs import dtype_name
from fuzzjax.program import ArgSpec, GenOptions

F32, C64 = np.float32, np.complex64
#: jax versions on which the JAX bug families below were confirmed by hand.
CONFIRMED_ON = {"0.10.2"}
pinned = settings(phases=[Phase.explicit], deadline=None, database=None)


def _case(source: str, *arrays: np.ndarray, dtype: str, shape: tuple[int, ...]) -> Case:
    values = [np.asarray(a) for a in arrays]
    args = tuple(ArgSpec(f"x{i}", a.shape, dtype_name(a.dtype)) for i, a in enumerate(values))
    return Case(
        f"def f({', '.join(a.name for a in args)}):\n    return {source}\n",
        args,
        values,
        dtype,
        shape,
    )


RELU_INF = _case(
    "jax.nn.relu(x0)", np.array([-np.inf, np.inf, np.nan, -0.0], F32), dtype="float32", shape=(4,)
)
SOFTMAX_EMPTY = _case(
    "jax.nn.softmax(x0, axis=0)", np.zeros((0, 3), F32), dtype="float32", shape=(0, 3)
)
LGAMMA_NEG_INF = _case("lax.lgamma(x0)", np.array([-np.inf, 2.0], F32), dtype="float32", shape=(2,))
EXPM1_COMPLEX_INF = _case(
    "jnp.expm1(x0)", np.array([np.inf + 0j], C64), dtype="complex64", shape=(1,)
)
ANNEX_G_DIVISION = _case(
    "x0 / x1",
    np.array([complex(np.nan, -np.inf)], C64),
    np.array([1 + 0j], C64),
    dtype="complex64",
    shape=(1,),
)
ZERO_LENGTH_SCAN = _case(
    "lax.scan(lambda c0, a0: (c0, a0), x0, x1)[1]",
    np.zeros((), F32),
    np.zeros((0,), F32),
    dtype="float32",
    shape=(0,),
)


@pinned
@example(RELU_INF)  # the reference's relu(-inf) was NaN
@example(SOFTMAX_EMPTY)  # the reference raised on an empty axis
@example(LGAMMA_NEG_INF)  # SciPy's gammaln(-inf) is -inf; C99 and XLA say +inf
@example(EXPM1_COMPLEX_INF)  # NumPy's complex expm1(inf+0j) is inf+nanj; C99 says inf+0j
@example(ANNEX_G_DIVISION)  # (nan-infj)/1 keeps its infinite part (C99 Annex G)
@example(ZERO_LENGTH_SCAN)  # raises under disable_jit() by design: benign
@given(st.sampled_from([RELU_INF]))
def test_fixed_false_positives_stay_fixed(case: Case) -> None:
    found = diagnose(case)
    assert found.status is not Status.FAIL, (found.signature, found.detail)


BOOL_DIVIDED_BY_FALSE = _case("x0 / False", np.array([False, True]), dtype="float32", shape=(2,))
INT_POW_NEGATIVE = _case(
    "x0 ** x1", np.array([2, 3], np.int32), np.array(-1, np.int32), dtype="int32", shape=(2,)
)
ATAN2_SUBNORMAL = _case("lax.atan2(x0, x0)", np.array([1e-45], F32), dtype="float32", shape=(1,))
KNOWN_BUGS = {
    id(BOOL_DIVIDED_BY_FALSE): (Stage.JIT_VS_O0, Symptom.WRONG_NAN),
    id(INT_POW_NEGATIVE): (Stage.EAGER, Symptom.EXCEPTION),
    id(ATAN2_SUBNORMAL): (Stage.VS_NUMPY, Symptom.WRONG_NAN),
}


@pytest.mark.skipif(jax.__version__ not in CONFIRMED_ON, reason="confirmed on jax 0.10.2 only")
@pinned
@example(BOOL_DIVIDED_BY_FALSE)  # algsimp rewrites convert(pred) / 0 to a select: 0/0 gives 0
@example(INT_POW_NEGATIVE)  # raises eagerly (concrete exponent), returns a value under jit
@example(ATAN2_SUBNORMAL)  # atan2(x, x) is NaN under jit for a float32 subnormal x
@given(st.sampled_from([ATAN2_SUBNORMAL]))
def test_confirmed_jax_bugs_are_still_found(case: Case) -> None:
    found = diagnose(case)
    assert found.signature is not None
    assert (found.signature.stage, found.signature.symptom) == KNOWN_BUGS[id(case)]


@pytest.mark.skipif(jax.__version__ not in CONFIRMED_ON, reason="confirmed on jax 0.10.2 only")
def test_int_min_lcm_hang_is_found_in_an_isolated_worker() -> None:
    from fuzzjax.fuzzing.shrink import CandidateRunner

    case = _case(
        "jnp.lcm(x0, x1)",
        np.array([-(2**31)], np.int32),
        np.array([3], np.int32),
        dtype="int32",
        shape=(1,),
    )
    runner = CandidateRunner(GenOptions(), timeout=8.0, memory_mb=None)
    try:
        sig, _ = runner.signature(case)
    finally:
        runner.close()
    assert sig is not None and sig.symptom is Symptom.HANG


@pytest.mark.skipif(jax.__version__ not in CONFIRMED_ON, reason="confirmed on jax 0.10.2 only")
def test_empty_contraction_dot_crashes_the_unoptimised_compile_in_a_worker() -> None:
    """XLA's CPU dot emitter dies of SIGFPE on a vector dot with a 0-long contraction once
    algsimp and constant_folding are off (the O0 oracle's compile): a crash bucket, labelled
    with its known family (found by fuzzjax, ``fuzzing.upstream``)."""
    from fuzzjax.fuzzing.shrink import CandidateRunner
    from fuzzjax.fuzzing.upstream import known_bug

    case = _case(
        "jnp.dot(x0, x1)", np.zeros((0,), F32), np.zeros((0, 3), F32), dtype="float32", shape=(3,)
    )
    runner = CandidateRunner(GenOptions(), timeout=60.0, memory_mb=None)
    try:
        sig, _ = runner.signature(case)
    finally:
        runner.close()
    assert sig is not None and (sig.stage, sig.symptom) == (Stage.COMPILE_O0, Symptom.CRASH)
    bug = known_bug(sig)
    assert bug is not None and bug.id == "cpu_dot_empty_contraction_sigfpe" and not bug.reported
