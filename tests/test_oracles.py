"""Comparison rules and the differential oracles on small programs."""

from __future__ import annotations

import numpy as np
import pytest

from fuzzjax.fuzzing.case import Case, Stage, Symptom
from fuzzjax.fuzzing.diagnose import diagnose
from fuzzjax.fuzzing.oracles import compare
from fuzzjax.fuzzing.reference import TEST_BREAK_ENV
from fuzzjax.fuzzing.runner import check_program
from fuzzjax.program import ArgSpec

F32 = np.float32


def test_nan_positions_must_match() -> None:
    assert not compare(np.array([np.nan, 1], F32), np.array([np.nan, 1], F32), "float32").failed
    diff = compare(np.array([np.nan, 1], F32), np.array([0, 1], F32), "float32")
    assert diff.symptom is Symptom.WRONG_NAN and diff.index == [0]


def test_inf_sign_matters_but_one_ulp_past_max_does_not() -> None:
    diff = compare(np.array([np.inf], F32), np.array([-np.inf], F32), "float32")
    assert diff.symptom is Symptom.WRONG_INF
    big = np.finfo(F32).max
    assert not compare(np.array([np.inf], F32), np.array([big], F32), "float32").failed


def test_float_tolerance_is_in_ulps_and_integers_are_exact() -> None:
    one = np.array([1.0], F32)
    assert not compare(np.nextafter(one, 2, dtype=F32), one, "float32").failed
    assert compare(one * F32(1.001), one, "float32").symptom is Symptom.WRONG_VALUE
    assert compare(np.array([3], np.int8), np.array([4], np.int8), "int8").failed
    assert not compare(np.array([-0.0], F32), np.array([0.0], F32), "float32").failed


def test_complex_parts_are_judged_against_the_magnitude() -> None:
    c64 = np.complex64
    # From the 30-minute run (multiply): the real part cancels; 2e-8 off is 0.1 ulp of |z|.
    got, want = c64(0.025929913 - 1.4446565j), c64(0.025929932 - 1.4446565j)
    assert not compare(np.array([got]), np.array([want]), "complex64").failed
    # A real error stays an error, and so do NaN and inf parts.
    assert compare(np.array([c64(1.01 + 1j)]), np.array([c64(1 + 1j)]), "complex64").failed
    nan_part = compare(np.array([c64(complex(1, np.nan))]), np.array([c64(1 + 1j)]), "complex64")
    assert nan_part.symptom is Symptom.WRONG_NAN
    inf = np.array([c64(complex(np.inf, 0))])
    assert compare(np.array([c64(3e38 + 0j)]), inf, "complex64").symptom is Symptom.WRONG_INF


def test_flushing_complex_values_keeps_infinite_parts() -> None:
    from fuzzjax.fuzzing.oracles import flushed

    x = np.array([complex(1, np.inf), complex(1e-40, -np.inf)], np.complex64)
    out = flushed(x, "complex64")  # was real + 1j * imag: the real part became NaN
    assert out.real.tolist() == [1.0, 0.0] and out.imag.tolist() == [np.inf, -np.inf]


def test_near_a_zero_the_input_rounding_is_allowed_for() -> None:
    from fuzzjax.fuzzing.reference import evaluate

    # jnp.sinc(float16 1.0) is 3.1e-4 where the exact value is 0 (30-minute run): sinc moves
    # by ~2e-3 when its float16 input moves by 2 ulps, so that is not a wrong result.
    x = np.array([1.0, 2.5], np.float16)
    source = "def f(x0):\n    return jnp.sinc(x0)\n"
    assert check_program(source, [x], "float16", (2,)).failure is None
    ref = evaluate(source, [x]).result
    assert ref.slack is not None and 1e-3 < float(ref.slack[0]) < 3e-3
    wrong = np.array([0.1, ref.value[1]], np.float16)
    assert compare(wrong, ref.value, "float16", atol=ref.slack).symptom is Symptom.WRONG_VALUE


def test_two_complex_infinities_are_explained_not_failed() -> None:
    c64 = np.complex64
    got, want = np.array([c64(complex(np.inf, np.nan))]), np.array([c64(complex(np.inf, np.inf))])
    diff = compare(got, want, "complex64")
    assert not diff.failed and diff.explained == {"complex_infinity": 1}
    nan = np.array([c64(complex(np.nan, np.nan))])  # NaN+NaNj is not an infinity
    assert compare(nan, want, "complex64").symptom is Symptom.WRONG_NAN


def test_undefined_elements_are_explained_not_hidden() -> None:
    diff = compare(np.array([5, 1], np.int8), np.array([0, 1], np.int8), "int8",
                   undefined={"int_div_by_zero": np.array([True, False])})  # fmt: skip
    assert not diff.failed and diff.explained == {"int_div_by_zero": 1}


def _case(source: str, *arrays: np.ndarray, dtype: str, shape: tuple[int, ...]) -> Case:
    args = tuple(ArgSpec(f"x{i}", a.shape, str(a.dtype)) for i, a in enumerate(arrays))
    return Case(source, args, list(arrays), dtype, shape)


def test_a_correct_program_passes() -> None:
    x = np.array([0.5, -1.0, 3.0], F32)
    run = check_program("def f(x0):\n    return jnp.sin(x0) * 2.0\n", [x], "float32", (3,))
    assert run.failure is None and run.jit is not None and run.eager is not None


def test_planted_discrepancy_is_localised_to_sin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TEST_BREAK_ENV, "sin")
    x = np.array([0.5, -1.0, 3.0], F32)
    found = diagnose(_case("def f(x0):\n    return jnp.exp(jnp.sin(x0 + 1.0))\n", x,
                           dtype="float32", shape=(3,)))  # fmt: skip
    assert found.signature is not None
    assert found.signature.stage is Stage.VS_NUMPY
    assert found.signature.ops == ("sin",) and found.signature.localized
    assert found.culprit is not None and found.culprit.source.count("jnp.") == 1


def test_integer_division_by_zero_is_benign() -> None:
    a, b = np.array([7, -7, 3], np.int8), np.array([0, 0, 2], np.int8)
    found = diagnose(_case("def f(x0, x1):\n    return x0 // x1\n", a, b, dtype="int8", shape=(3,)))
    assert found.status == "benign" and found.benign == ["int_div_by_zero"]


def test_zero_length_scan_raising_only_eagerly_is_benign() -> None:
    init, xs = np.array([1.0, 2.0], F32), np.zeros((0, 2), F32)
    source = "def f(x0, x1):\n    return lax.scan(lambda c0, a0: (c0 + a0, c0), x0, x1)[0]\n"
    found = diagnose(_case(source, init, xs, dtype="float32", shape=(2,)))
    assert found.status == "benign" and found.benign == ["zero_length_scan_eager"]
    assert "zero-length scan" in found.detail
    # Any other exception is still a finding.
    found = diagnose(_case("def f(x0):\n    return x0 ** -1\n", np.array([2], np.int32),
                           dtype="int32", shape=(1,)))  # fmt: skip
    assert found.signature is not None and found.signature.symptom is Symptom.EXCEPTION


def test_wrong_result_type_is_reported() -> None:
    x = np.array([1, 2], np.int8)
    run = check_program("def f(x0):\n    return x0 + 1\n", [x], "int32", (2,))
    assert run.failure is not None and run.failure.symptom is Symptom.WRONG_DTYPE


def test_rewrite_rounding_is_bounded_by_the_chain() -> None:
    from fuzzjax.fuzzing.reference import evaluate
    from fuzzjax.fuzzing.runner import rewrite_tolerance

    x = np.array([2.0, 3.0], np.float32)
    ev = evaluate("def f(x0):\n    return jnp.sin(x0) * x0\n", [x])
    atol = float(rewrite_tolerance(ev, "float32"))
    eps = float(np.finfo(np.float32).eps)
    assert atol == pytest.approx(4 * 2 * eps * 3.0)  # two operations, largest value 3
    got = np.asarray(ev.result.value)
    assert not compare(got, got + atol / 2, "float32", atol=np.asarray(atol)).failed
    wrong = compare(got, got + 10 * atol, "float32", atol=np.asarray(atol))
    assert wrong.symptom is Symptom.WRONG_VALUE  # a clearly wrong value is not rounding
    nan = compare(got, np.array([np.nan, got[1]], np.float32), "float32", atol=np.asarray(1e30))
    assert nan.symptom is Symptom.WRONG_NAN  # no tolerance accepts a NaN for a number
