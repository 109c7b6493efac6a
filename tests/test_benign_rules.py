"""Every benign rule accepts what it names and rejects a clearly wrong case of the same shape.

Element rules excuse exactly the elements the reference marks (or that match the flushed
reference, or complex infinities), never a wrong value next to them; bounded rules accept
differences within their bound and not beyond; no rule accepts a NaN for a number unless it
is about exactly that.
"""

from __future__ import annotations

import numpy as np
import pytest

from fuzzjax.fuzzing import benign
from fuzzjax.fuzzing.case import Symptom
from fuzzjax.fuzzing.inputs import complex_from_parts
from fuzzjax.fuzzing.oracles import compare
from fuzzjax.fuzzing.reference import evaluate

ELEMENT_TAGS = sorted(
    rule.id for rule in benign.REGISTRY.values() if rule.matched_by is benign.MatchedBy.ELEMENT
)
#: Element rules applied by the comparison itself, not through reference masks.
NOT_MASKS = {"ftz", "complex_infinity", "rewrite_rounding"}


def test_every_rule_cites_a_source_and_gives_a_reason() -> None:
    for rule in benign.REGISTRY.values():
        assert rule.link.startswith("https://"), rule.id
        assert len(rule.reason) > 40, rule.id
        assert "23007" not in rule.link  # a bug that was fixed is no such citation


@pytest.mark.parametrize("tag", [t for t in ELEMENT_TAGS if t not in NOT_MASKS])
def test_a_mask_excuses_its_elements_only(tag: str) -> None:
    want = np.array([1.0, 2.0, 3.0, 4.0], np.float32)
    mask = np.array([False, True, False, False])
    got = want.copy()
    got[1] = 99.0  # inside the mask: excused, counted under the tag
    diff = compare(got, want, "float32", undefined={tag: mask})
    assert not diff.failed and diff.explained == {tag: 1}
    got[2] = 99.0  # the same kind of wrong value outside the mask: reported
    diff = compare(got, want, "float32", undefined={tag: mask})
    assert diff.symptom is Symptom.WRONG_VALUE and diff.index == [2]
    got[2] = np.nan  # and a NaN outside it, as a NaN
    assert compare(got, want, "float32", undefined={tag: mask}).symptom is Symptom.WRONG_NAN


@pytest.mark.parametrize(
    "source,inputs,tag",
    [
        ("x0 // x1", [np.array([7, 7], np.int32), np.array([0, 2], np.int32)], "int_div_by_zero"),
        (
            "x0 ** x1",
            [np.array([2, 3], np.int32), np.array([-1, 2], np.int32)],
            "int_pow_negative_exponent",
        ),
        ("x0 ** x1", [np.array([100, 2], np.int8), np.array([5, 2], np.int8)], "int_pow_overflow"),
        (
            "jnp.left_shift(x0, x1)",
            [np.array([1, 1], np.int32), np.array([40, 1], np.int32)],
            "shift_out_of_range",
        ),
        (
            "x0.astype(jnp.int32)",
            [np.array([np.nan, 1.5], np.float32)],
            "float_to_int_out_of_range",
        ),
        (
            "jnp.quantile(x0, 0.5, axis=1)",
            [np.array([[-np.inf, np.inf], [1.0, 3.0]], np.float32)],
            "quantile_opposite_infinities",
        ),
        (  # float16 windows: 60000 + 60000 overflows before the -inf (NaN), exact -inf
            'lax.reduce_window(x0, 0.0, lax.add, (3,), (3,), "VALID")',
            [np.array([60000, 60000, -np.inf, 1, 2, 3], np.float16)],
            "float_accumulation_order",
        ),
    ],
)
def test_the_reference_marks_only_the_undefined_elements(
    source: str, inputs: list[np.ndarray], tag: str
) -> None:
    names = ", ".join(f"x{i}" for i in range(len(inputs)))
    ev = evaluate(f"def f({names}):\n    return {source}\n", inputs)
    assert ev.result.undefined[tag].tolist() == [True, False]
    want = np.asarray(ev.result.value)
    got = want.copy()
    got[0] = got[0] + 1  # the undefined element: any value is accepted
    assert not compare(got, want, str(want.dtype), undefined=ev.result.undefined).failed
    got[1] = got[1] + 1  # the defined one: a wrong value is reported
    diff = compare(got, want, str(want.dtype), undefined=ev.result.undefined)
    assert diff.failed and diff.index == [1]


def test_ftz_excuses_only_what_the_flushed_reference_gives() -> None:
    want = np.array([1e-40, 5.0], np.float32)  # a subnormal, exact in NumPy
    flushed = np.array([0.0, 5.0], np.float32)
    ok = compare(np.array([0.0, 5.0], np.float32), want, "float32", alternative=lambda: flushed)
    assert not ok.failed and ok.explained == {"ftz": 1}
    wrong = compare(np.array([0.0, 6.0], np.float32), want, "float32", alternative=lambda: flushed)
    assert wrong.symptom is Symptom.WRONG_VALUE and wrong.index == [1]
    nan = compare(np.array([np.nan, 5.0], np.float32), want, "float32", alternative=lambda: flushed)
    assert nan.symptom is Symptom.WRONG_NAN


def test_complex_infinity_needs_an_infinity_on_both_sides() -> None:
    inf, nan = np.inf, np.nan
    want = complex_from_parts(np.array([inf, 1.0]), np.array([inf, 0.0]), np.complex64)
    got = complex_from_parts(np.array([inf, 1.0]), np.array([nan, 0.0]), np.complex64)
    ok = compare(got, want, "complex64")
    assert not ok.failed and ok.explained == {"complex_infinity": 1}
    finite = complex_from_parts(np.array([1.0, 1.0]), np.array([nan, 0.0]), np.complex64)
    assert compare(finite, want, "complex64").failed  # a finite value is no infinity


def test_accumulated_rounding_is_bounded() -> None:
    facts = {"stage": "vs_numpy", "symptom": "wrong_value", "max_error": 1e-6, "bound": 2e-6}
    rule = benign.match(benign.MatchedBy.UNLOCALIZED, facts)
    assert rule is not None and rule.id == "accumulated_rounding"
    assert benign.match(benign.MatchedBy.UNLOCALIZED, {**facts, "max_error": 1e-3}) is None
    nan = {**facts, "symptom": "wrong_nan", "max_error": float("inf")}
    assert benign.match(benign.MatchedBy.UNLOCALIZED, nan) is None
    assert benign.match(benign.MatchedBy.UNLOCALIZED, {**facts, "stage": "jit_vs_o0"}) is None


def test_zero_length_scan_rule_matches_that_message_only() -> None:
    message = "ValueError: zero-length scan is not supported in disable_jit() mode because"
    facts = {"stage": "eager", "detail": message}
    rule = benign.match(benign.MatchedBy.EXCEPTION, facts)
    assert rule is not None and rule.id == "zero_length_scan_eager"
    other = {"stage": "eager", "detail": "ValueError: operands could not be broadcast"}
    assert benign.match(benign.MatchedBy.EXCEPTION, other) is None
    assert benign.match(benign.MatchedBy.EXCEPTION, {**facts, "stage": "jit"}) is None
