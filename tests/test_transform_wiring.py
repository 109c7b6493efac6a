"""The transformation oracles inside the fuzz loop (``fuzzing.transform_run``).

A planted disagreement (``transform_run.check`` replaced in-process) must come back from the
worker task as a failure in the oracle's own stage, carrying the inputs and extras the oracle
ran on; the bucket's repro.py re-runs the real oracle from those extras (it agrees, so exit 0).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fuzzjax.fuzzing import transform_run
from fuzzjax.fuzzing.case import Case, Stage, Symptom
from fuzzjax.fuzzing.diagnose import Status
from fuzzjax.fuzzing.folders import BucketStore
from fuzzjax.fuzzing.task import FuzzTaskConfig, make_fuzz_task, seed_case
from fuzzjax.fuzzing.transforms import TransformFailure
from fuzzjax.program import GenOptions

OPTIONS = GenOptions(max_depth=2, max_rank=2, max_elements=64)


def _float_seed() -> int:
    """A seed whose program takes a float32 argument and returns float32."""
    for seed in range(200):
        case, _ = seed_case(seed, OPTIONS)
        if case.result_dtype == "float32" and any(a.dtype == "float32" for a in case.args):
            return seed
    raise AssertionError("no float32 program in seeds 0..199")


def test_each_oracle_is_drawn_on_its_share_of_seeds() -> None:
    assert transform_run.planned(7, 0) == []
    assert transform_run.planned(7, 100) == list(transform_run.TRANSFORM_STAGES)
    shares = [sum(s in transform_run.planned(n, 10) for n in range(2000)) for s in Stage]
    drawn = [n for n in shares if n]
    assert len(drawn) == 4 and all(120 < n < 280 for n in drawn), shares


def _plant(monkeypatch: pytest.MonkeyPatch, stage: Stage) -> list[Stage]:
    ran: list[Stage] = []

    def check(s: Stage, case: Case, extra: dict[str, Any], notes: Any = None) -> Any:
        ran.append(s)
        if s is stage:
            return TransformFailure(s.value, Symptom.WRONG_VALUE, "planted difference", [0])
        return None

    monkeypatch.setattr(transform_run, "check", check)
    return ran


def test_a_vmap_difference_is_a_vmap_bucket(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seed = _float_seed()
    ran = _plant(monkeypatch, Stage.VMAP)
    config = FuzzTaskConfig(
        OPTIONS.to_json(), str(tmp_path), inputs_per_program=2, transforms_percent=100
    )
    result = make_fuzz_task(config)(seed)
    if (
        result.status is Status.FAIL
        and result.signature
        and result.signature.stage is not Stage.VMAP
    ):
        pytest.skip(f"seed {seed} fails the value oracles first: {result.signature.key()}")
    assert Stage.VMAP in ran
    assert result.status is Status.FAIL and result.signature is not None
    assert result.signature.stage is Stage.VMAP
    assert result.transform is not None and len(result.transform["batch"]) == 2
    assert result.failing is not None and result.oracles.get("vmap") == 1


def test_autodiff_oracles_run_on_plain_inputs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seed = _float_seed()
    _plant(monkeypatch, Stage.GRAD_VS_FD)
    config = FuzzTaskConfig(
        OPTIONS.to_json(), str(tmp_path), inputs_per_program=1, transforms_percent=100
    )
    result = make_fuzz_task(config)(seed)
    if result.signature is None or result.signature.stage is not Stage.GRAD_VS_FD:
        pytest.skip("an earlier oracle decided this seed")
    case, program = seed_case(seed, OPTIONS)
    assert result.failing is not None and result.transform == {"seed": seed}
    plain = transform_run.prepare(Stage.GRAD_VS_FD, case, seed)[0]
    assert all((a == b).all() for a, b in zip(result.failing.inputs, plain.inputs, strict=True))


def test_the_repro_reruns_the_real_oracle(tmp_path: Path) -> None:
    seed = _float_seed()
    case, _ = seed_case(seed, OPTIONS)
    subject, extra = transform_run.prepare(Stage.VMAP, case, seed)
    from fuzzjax.fuzzing.case import Signature

    sig = Signature(Stage.VMAP, Symptom.WRONG_VALUE, ("planted",), case.result_dtype)
    store = BucketStore(tmp_path / "out")
    meta = {"transform": extra}
    folder = store.add(sig, meta, original=subject, shrunk=subject, command="c", timeout=60)
    command = [sys.executable, str(folder / "repro.py")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "agree" in done.stdout or "not applicable" in done.stdout


def test_a_tampered_transform_record_is_dropped() -> None:
    assert transform_run.transform_literal({"batch": [["float32", [1], "zz"]]}) is None
    assert transform_run.transform_literal("x") is None
    assert transform_run.transform_literal({"axes": [0, "__import__('os')"], "seed": 3}) == {
        "seed": 3
    }
