"""Shrinking: parameter clean-up, scalarisation, and a full shrink run in-process."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from fuzzjax.fuzzing.case import Case, Signature, Stage, Symptom
from fuzzjax.fuzzing.diagnose import Status, diagnose
from fuzzjax.fuzzing.reference import TEST_BREAK_ENV
from fuzzjax.fuzzing.shrink import HANG_CANDIDATE_SECONDS, load_target, normalize, op_count, shrink
from fuzzjax.fuzzing.task import FuzzResult
from fuzzjax.program import ArgSpec
from fuzzjax.syntax import aliases_used, parse


def _case(source: str, *arrays: np.ndarray, dtype: str, shape: tuple[int, ...]) -> Case:
    args = tuple(ArgSpec(f"x{i}", a.shape, str(a.dtype)) for i, a in enumerate(arrays))
    return Case(source, args, list(arrays), dtype, shape)


class InProcessRunner:
    """The CandidateRunner protocol without worker processes (for value failures only)."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds: float | None = None

    def limit(self, seconds: float | None) -> float:
        self.seconds = seconds
        return 30.0 if seconds is None else seconds

    def signature(self, case: Case) -> tuple[Signature | None, FuzzResult | None]:
        self.count += 1
        found = diagnose(case)
        return found.signature, FuzzResult(found.status, found.signature, index=found.index)


class FakeHangRunner(InProcessRunner):
    """Programs that call ``jnp.lcm`` "hang" (as INT_MIN inputs make them under jit)."""

    def __init__(self) -> None:
        super().__init__()
        self.limits_seen: set[float | None] = set()

    def signature(self, case: Case) -> tuple[Signature | None, FuzzResult | None]:
        self.count += 1
        self.limits_seen.add(self.seconds)
        if "jnp.lcm" not in case.source:
            return None, FuzzResult(Status.PASS)
        ops = tuple(sorted(aliases_used(parse(case.source))))
        return Signature(Stage.JIT, Symptom.HANG, ops, case.result_dtype), None


def test_normalize_drops_unused_parameters_and_renumbers() -> None:
    a, b, c = (np.full(2, v, np.float32) for v in (1, 2, 3))
    case = _case("def f(x0, x1, x2):\n    return jnp.sin(x2) + x0\n", a, b, c,
                 dtype="float32", shape=(2,))  # fmt: skip
    out = normalize(case)
    assert out.source == "def f(x0, x1):\n    return jnp.sin(x0) + x1\n"
    assert [float(x[0]) for x in out.inputs] == [3.0, 1.0]


def test_planted_bug_shrinks_to_one_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TEST_BREAK_ENV, "sin")
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal(4).astype(np.float32)
    source = "def f(x0, x1):\n    return jnp.sum(jnp.sin(x0 * x1) + x1, axis=0, keepdims=False)\n"
    case = _case(source, x, y, dtype="float32", shape=(4,))
    runner = InProcessRunner()
    found = diagnose(case)
    assert found.signature is not None and found.signature.ops == ("sin",)
    small, stats = shrink(case, found.signature, runner, seconds=30)  # type: ignore[arg-type]
    assert stats["reproduced"] and op_count(small) == 1
    assert "jnp.sin" in small.source and all(np.size(v) == 1 for v in small.inputs)
    assert found.signature.kept_by(diagnose(small).signature)


def test_program_file_with_signature_header(tmp_path: Any) -> None:
    path = tmp_path / "p.py"
    path.write_text("# signature: (x0: float32[2, 3], x1: int8[]) -> float32[2, 3]\n"
                    "def f(x0, x1):\n    return x0 * x1\n")  # fmt: skip
    case, sig, _ = load_target(path)
    assert sig is None and case.result_shape == (2, 3)
    assert [a.shape for a in case.args] == [(2, 3), ()] and case.inputs[1].dtype == np.int8


class NoChoicesForHangs:
    """A generated program whose choice sequence must not be used: new inputs lose a hang."""

    @property
    def choices(self) -> list[int]:
        raise AssertionError("choice passes ran for a hang")


def test_a_hang_shrinks_with_a_short_candidate_time_limit() -> None:
    x = np.array([-(2**31), 3, 5], np.int32)
    source = "def f(x0, x1):\n    return jnp.abs(jnp.lcm(x0 * 2, x1) - x1)\n"
    case = _case(source, x, x, dtype="int32", shape=(3,))
    ops = tuple(sorted(aliases_used(parse(source))))
    runner = FakeHangRunner()
    sig = Signature(Stage.JIT, Symptom.HANG, ops, "int32")
    small, stats = shrink(case, sig, runner, seconds=30, program=NoChoicesForHangs())  # type: ignore[arg-type]
    assert stats["reproduced"] and stats["candidate_seconds"] == HANG_CANDIDATE_SECONDS
    assert runner.limits_seen == {HANG_CANDIDATE_SECONDS}  # every candidate ran under it
    assert runner.seconds is None  # and the run's own limit is back afterwards
    assert op_count(small) == 1 and "jnp.lcm" in small.source
