"""The referee inside the fuzz loop: a localised vs_numpy failure is decided by the exact value.

JAX's compiled result of the isolated operation is replaced (``diagnose._run_alone``) so the
cases do not depend on the jax version: a value the exact answer rejects stays a failure with
the ruling attached; one the math leaves undefined (a pole) or the bounds accept is counted like
a benign rule, under the referee's tag; ``--no-benign`` reports everything.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest

from fuzzjax.fuzzing import diagnose as diag
from fuzzjax.fuzzing.case import Case, Signature, Stage, Symptom
from fuzzjax.fuzzing.diagnose import Status, classify
from fuzzjax.fuzzing.folders import BucketStore, write_run_summary
from fuzzjax.fuzzing.oracles import Failure
from fuzzjax.fuzzing.referee import tag_reason
from fuzzjax.fuzzing.triage import bucket_verdict
from fuzzjax.program import ArgSpec


def _case(source: str, value: float) -> Case:
    x = np.array([value], np.float32)
    return Case(source, [ArgSpec("x0", (1,), "float32")], [x], "float32", (1,))


def _classify(case: Case, jax_value: float, monkeypatch: pytest.MonkeyPatch, **kw: bool):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(
        diag, "_run_alone", lambda c, how=Stage.JIT: np.array([jax_value], np.float32)
    )
    failure = Failure(Stage.VS_NUMPY, Symptom.WRONG_VALUE, "planted", index=[0])
    return classify(case, failure, {}, **kw)


def test_a_wrong_value_stays_a_failure_with_the_exact_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    found = _classify(_case("def f(x0):\n    return jnp.exp(x0)\n", 1.0), 2.5, monkeypatch)
    assert found.status is Status.FAIL and found.signature is not None
    assert found.signature.localized and found.signature.ops == ("exp",)
    assert found.ruling is not None and found.ruling["verdict"] == "jax_wrong"
    assert found.ruling["exact"].startswith("2.71828")
    assert bucket_verdict(found.signature, found.ruling["verdict"]) == "jax_wrong"
    assert "referee: jax_wrong" in found.detail


def test_a_pole_is_undefined_not_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    # digamma(-0.0): the one-sided limits are +inf and -inf; an infinity is as good as the
    # reference's NaN.
    found = _classify(_case("def f(x0):\n    return lax.digamma(x0)\n", -0.0), np.inf, monkeypatch)
    assert found.status is Status.BENIGN, found
    assert found.benign == ["referee:undefined:pole"]
    reason = tag_reason(found.benign[0])
    assert reason is not None and "no single answer" in reason[0]


def test_no_benign_reports_what_the_referee_would_accept(monkeypatch: pytest.MonkeyPatch) -> None:
    case = _case("def f(x0):\n    return lax.digamma(x0)\n", -0.0)
    found = _classify(case, np.inf, monkeypatch, benign=False)
    assert found.status is Status.FAIL
    assert found.ruling is not None and found.ruling["verdict"] == "undefined"


def test_the_bucket_and_repro_carry_the_ruling(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    case = _case("def f(x0):\n    return jnp.exp(x0)\n", 1.0)
    found = _classify(case, 2.5, monkeypatch)
    assert found.signature is not None and found.ruling is not None
    store = BucketStore(tmp_path)
    meta = {"referee": found.ruling, "verdict": "jax_wrong"}
    command = "python -m fuzzjax fuzz --seed 1 --count 1"
    folder = store.add(
        found.signature, meta, original=case, shrunk=case, command=command, timeout=30.0
    )
    text = (folder / "repro.py").read_text()
    assert "REFEREE = {" in text and "'verdict': 'jax_wrong'" in text
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["referee"]["verdict"] == "jax_wrong"


def test_a_tampered_ruling_cannot_inject_code(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    case = _case("def f(x0):\n    return jnp.exp(x0)\n", 1.0)
    sig = Signature(Stage.VS_NUMPY, Symptom.WRONG_VALUE, ("exp",), "float32", localized=True)
    evil = {
        "exact": "1\nimport os; os.system('echo pwned')\n",
        "verdict": "'''\"\"\"",
        "alias": "exp",
    }
    store = BucketStore(tmp_path)
    folder = store.add(sig, {"referee": evil}, original=case, shrunk=case, command="c", timeout=30)
    text = (folder / "repro.py").read_text()
    tree = ast.parse(text)  # (repro.py imports os itself, to find its side files)
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr == "system"]
    assert not calls and "\nimport os;" not in text
    compile(text, "repro.py", "exec")


def test_run_summary_explains_referee_tags(tmp_path: Path) -> None:
    write_run_summary(
        tmp_path, {}, {"referee:both_acceptable:ftz": 2}, {"referee:both_acceptable:ftz": [7]}
    )
    rules = json.loads((tmp_path / "benign.json").read_text())
    assert rules["referee:both_acceptable:ftz"]["count"] == 2
    assert "accepts JAX's value" in rules["referee:both_acceptable:ftz"]["reason"]


def test_reference_rsqrt_of_a_complex_infinity_is_zero() -> None:
    # Once a reference_wrong bucket (notes/referee.md): 1 / np.sqrt(x) gave NaN+NaNj.
    from fuzzjax.fuzzing.referee import Verdict, referee
    from fuzzjax.fuzzing.reference import evaluate

    source = "def f(x0):\n    return lax.rsqrt(x0)\n"
    x = np.array([complex(1.2e-7, np.inf)], np.complex64)
    want = np.asarray(evaluate(source, [x]).result.value)
    assert want[0] == 0
    case = Case(source, [ArgSpec("x0", (1,), "complex64")], [x], "complex64", (1,))
    got = np.array([complex(np.nan, np.nan)], np.complex64)
    assert referee(case, "lax_rsqrt", got, want).verdict is Verdict.JAX_WRONG


def test_triage_lists_what_the_referee_accepted(tmp_path: Path) -> None:
    from fuzzjax.fuzzing.triage import accepted_lines

    counts = {"referee:undefined:pole": 3, "referee:both_acceptable:ftz": 2, "ftz": 9}
    write_run_summary(tmp_path, {}, counts, {})
    lines = accepted_lines(tmp_path)
    assert any(line.startswith("Undefined") and "pole 3" in line for line in lines)
    assert any(line.startswith("Both acceptable") and "ftz 2" in line for line in lines)
    assert not any("ftz 9" in line for line in lines)  # a benign rule, not a ruling
    (tmp_path / "benign.json").write_text("[not json")
    assert accepted_lines(tmp_path) == []


@pytest.mark.parametrize(
    ("source", "value", "alias"),
    [
        # 1 / (1 + exp(-x)) with exp(-x) an infinity: C99 division gives 0, NumPy NaN.
        ("def f(x0):\n    return lax.logistic(x0)\n", complex(-1.7e38, 1.8e19), "lax_logistic"),
        # log(1 + z) loses a real part below eps; log1p must not.
        ("def f(x0):\n    return jnp.log1p(x0)\n", complex(1.0842022e-19, 1.1754942e-38), "log1p"),
    ],
)
def test_reference_is_accepted_by_the_referee(source: str, value: complex, alias: str) -> None:
    # Both were reference_wrong buckets of the 30-minute run (notes/fuzzing.md).
    from fuzzjax.fuzzing.referee import Verdict, referee
    from fuzzjax.fuzzing.reference import evaluate

    x = np.array([value], np.complex64)
    want = np.asarray(evaluate(source, [x]).result.value)
    case = Case(source, (ArgSpec("x0", (1,), "complex64"),), [x], "complex64", (1,))
    wrong = np.array([complex(np.nan, np.nan)], np.complex64)
    ruling = referee(case, alias, wrong, want)
    assert ruling.verdict is Verdict.JAX_WRONG, ruling  # the planted NaN, not the reference


def test_referee_betaln_of_a_large_argument_keeps_its_digits() -> None:
    import mpmath

    from fuzzjax.fuzzing.referee_functions import FUNCTIONS

    with mpmath.workprec(128):
        got = FUNCTIONS["betaln"].fn(mpmath.mpf("1e30"), mpmath.mpf("0.5"))
        want = mpmath.loggamma(0.5) - 0.5 * mpmath.log(mpmath.mpf("1e30"))
        assert abs(got - want) < 1e-6


def test_betaln_at_infinity_diverges_like_a_logarithm() -> None:
    # The 30-minute run's last reference_wrong bucket was the referee's: its stand-ins for
    # infinity were too small to see betaln(inf, b) = -inf.
    from fuzzjax.fuzzing.referee import Verdict, referee

    source = "def f(x0, x1):\n    return jax.scipy.special.betaln(x0, x1)\n"
    a = np.array([np.inf], np.float32)
    b = np.array([0.46575961], np.float32)
    specs = (ArgSpec("x0", (1,), "float32"), ArgSpec("x1", (1,), "float32"))
    case = Case(source, specs, [a, b], "float32", (1,))
    reference = np.array([-np.inf], np.float32)
    ruling = referee(case, "sp_betaln", np.array([np.nan], np.float32), reference)
    assert ruling.verdict is not Verdict.REFERENCE_WRONG, ruling
    assert ruling.exact == "-inf"
    wrong = referee(case, "sp_betaln", np.array([5.0], np.float32), reference)
    assert wrong.verdict is Verdict.JAX_WRONG, wrong


def _betaln_case(a: float, b: float, dtype: type = np.float32) -> Case:
    source = "def f(x0, x1):\n    return jax.scipy.special.betaln(x0, x1)\n"
    name = np.dtype(dtype).name
    specs = (ArgSpec("x0", (1,), name), ArgSpec("x1", (1,), name))
    return Case(source, specs, [np.array([a], dtype), np.array([b], dtype)], name, (1,))


@pytest.mark.parametrize(
    ("a", "b", "jax", "scipy"), [(-65504.0, 1.0, np.nan, -11.09375), (0.0, 0.0, np.nan, np.inf)]
)
def test_betaln_outside_its_documented_domain_is_undefined(
    a: float, b: float, jax: float, scipy: float
) -> None:
    # An 11-minute check's reference_wrong buckets: the referee said NaN (JAX's answer) where
    # SciPy continues the formula; SciPy documents positive parameters only.
    from fuzzjax.fuzzing.referee import Verdict, referee

    case = _betaln_case(a, b, np.float16)
    got, want = np.array([jax], np.float16), np.array([scipy], np.float16)
    ruling = referee(case, "sp_betaln", got, want)
    assert (ruling.verdict, ruling.rule) == (Verdict.UNDEFINED, "outside_domain"), ruling
    inside = referee(_betaln_case(3.0, 4.0), "sp_betaln", np.array([5.0], np.float32), want)
    assert inside.verdict is Verdict.JAX_WRONG, inside  # the rule stays outside the domain


def test_betaln_of_nan_is_ruled_quickly() -> None:
    # The check's "reference hang": the referee evaluated betaln on its stand-ins for NaN
    # (2**(2**19) and its negative) at half a million bits. Judged within the budget now.
    from fuzzjax.fuzzing.referee import Verdict, referee

    case = _betaln_case(np.nan, 3.140625, np.float16)
    ruling = referee(case, "sp_betaln", np.array([np.nan], np.float16), np.array([0.5], np.float16))
    assert ruling.rule != "referee_timeout", ruling
    assert ruling.verdict is Verdict.REFERENCE_WRONG, ruling  # NaN in, a number out


def test_complex_arccosh_on_its_cut_follows_the_zeros_sign() -> None:
    # arccosh(1.18e-38 - 0j) is -pi/2 j (C99: cacosh(conj z) = conj(cacosh z)); mpmath lost the
    # tiny imaginary part of the point beside the cut below ~1100 bits and said +pi/2 j, so
    # NumPy's correct answer was called the reference's fault.
    from fuzzjax.fuzzing.referee import Verdict, referee

    x = np.array([complex(1.1754944e-38, -0.0)], np.complex64)
    source = "def f(x0):\n    return jnp.arccosh(x0)\n"
    case = Case(source, (ArgSpec("x0", (1,), "complex64"),), [x], "complex64", (1,))
    minus, plus = np.array([-1.5707964j], np.complex64), np.array([1.5707964j], np.complex64)
    ruling = referee(case, "arccosh", plus, minus)
    assert ruling.verdict is not Verdict.REFERENCE_WRONG, ruling
    assert ruling.exact.endswith("-1.5707963267948966)"), ruling.exact
    assert (ruling.verdict, ruling.rule) == (Verdict.UNDEFINED, "branch_cut"), ruling
    wrong = referee(case, "arccosh", np.array([1.0j], np.complex64), minus)
    assert wrong.verdict is Verdict.JAX_WRONG, wrong


def test_the_referee_stops_at_its_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    from fuzzjax.fuzzing import referee as ref

    calls = []

    def slow(self, index, got, want):  # type: ignore[no-untyped-def]
        calls.append(index)
        while True:  # interrupted by the budget's alarm
            pass

    monkeypatch.setattr(ref, "BUDGET", 0.2)
    monkeypatch.setattr(ref._Operation, "rule_on", slow)
    x = np.array([1.0, 2.0], np.float32)
    source = "def f(x0):\n    return jnp.exp(x0)\n"
    case = Case(source, (ArgSpec("x0", (2,), "float32"),), [x], "float32", (2,))
    ruling = ref.referee(case, "exp", np.array([9.0, 9.0], np.float32), np.exp(x))
    assert (ruling.verdict, ruling.rule) == (ref.Verdict.NO_REFEREE, "referee_timeout")
    assert len(calls) == 1 and "0.2 s" in ruling.detail


def test_a_hang_in_the_referee_is_labelled_as_the_referee(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Stage] = []
    monkeypatch.setattr(diag, "_run_alone", lambda c, how=Stage.JIT: np.array([2.5], np.float32))
    failure = Failure(Stage.VS_NUMPY, Symptom.WRONG_VALUE, "planted", index=[0])
    classify(_case("def f(x0):\n    return jnp.exp(x0)\n", 1.0), failure, {}, on_stage=seen.append)
    assert seen == [Stage.REFEREE]
    assert (
        bucket_verdict(Signature(Stage.REFEREE, Symptom.HANG, ("exp",), "float32")) == "fuzzjax_bug"
    )


def test_a_nan_part_stands_for_ordinary_numbers_too() -> None:
    # The 30-minute check's last reference_wrong bucket: NumPy's sign(NaN + inf j) is 1j,
    # which is the value for every finite real part; the referee accepted only NaN.
    from fuzzjax.fuzzing.referee import Verdict, referee

    z = np.array(complex(np.nan, np.inf), np.complex64)
    source = "def f(x0):\n    return lax.sign(x0)\n"
    case = Case(source, (ArgSpec("x0", (), "complex64"),), [z], "complex64", ())
    nan = np.array(complex(np.nan, np.nan), np.complex64)
    ruling = referee(case, "lax_sign", nan, np.array(1j, np.complex64))
    assert (ruling.verdict, ruling.rule) == (Verdict.UNDEFINED, "nan_input"), ruling
    wrong = referee(
        case, "lax_sign", np.array(0.5 + 0.5j, np.complex64), np.array(1j, np.complex64)
    )
    assert wrong.verdict is Verdict.JAX_WRONG, wrong


def test_subnormal_operands_flushed_onto_a_branch_cut_are_undefined() -> None:
    # The 30-minute check: arccosh(4.2e-45 - 4.2e-45j) read as arccosh(0 - 0j) under XLA's
    # flush to zero, a point on the cut: JAX's +pi/2 j is the other side's value.
    from fuzzjax.fuzzing.referee import Verdict, referee

    tiny = np.float32(4.203895392974451e-45)
    x = np.array(complex(tiny, -tiny), np.complex64)
    source = "def f(x0):\n    return jnp.arccosh(x0)\n"
    case = Case(source, (ArgSpec("x0", (), "complex64"),), [x], "complex64", ())
    want = np.array(complex(tiny, -1.5707964), np.complex64)
    ruling = referee(case, "arccosh", np.array(1.5707964j, np.complex64), want)
    assert ruling.verdict is Verdict.UNDEFINED, ruling
    assert ruling.rule == "singular_point", ruling  # the origin's rule (_signed_zero)
    wrong = referee(case, "arccosh", np.array(1.0j, np.complex64), want)
    assert wrong.verdict is Verdict.JAX_WRONG, wrong
