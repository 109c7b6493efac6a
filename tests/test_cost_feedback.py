"""Cost-aware feedback (issue 14): per-alias program costs, the damped weights, how the
campaign measures a program's cost (a hang costs its timeout and a restart) and uses it."""

from __future__ import annotations

import shlex
from collections import Counter
from pathlib import Path

import pytest

from fuzzjax.cli.fuzz import fuzz_parser
from fuzzjax.fuzzing.campaign import FuzzConfig, _Campaign
from fuzzjax.fuzzing.cost import (
    DAMP_ABOVE,
    FEEDBACK_MODES,
    MAX_DAMPING,
    PRIOR,
    RESTART_SECONDS,
    ProgramCosts,
    damp,
    expensive,
)
from fuzzjax.fuzzing.coverage import alias_weights, pair_weights
from fuzzjax.fuzzing.diagnose import Status
from fuzzjax.fuzzing.task import FuzzResult, seed_case
from fuzzjax.program import DEFAULT_ALIAS_WEIGHT, GenOptions
from fuzzjax.syntax import aliases_used, parse
from fuzzjax.workers import Outcome, OutcomeKind


def test_ratios_compare_an_aliases_programs_with_all_programs_shrunk_toward_one() -> None:
    costs = ProgramCosts()
    for _ in range(40):
        costs.add(["sin", "op_add"], 1.0)
    for _ in range(4):
        costs.add(["gcd", "op_add"], 31.0)
    ratios = costs.ratios()
    mean = costs.seconds / costs.programs
    assert costs.programs == 44 and costs.seconds == pytest.approx(164.0)
    assert ratios["gcd"] == pytest.approx((4 * 31.0 + PRIOR * mean) / ((4 + PRIOR) * mean))
    assert ratios["gcd"] > DAMP_ABOVE > ratios["op_add"]
    assert ratios["sin"] < 1.0
    # One expensive program moves a ratio less than four do (the prior).
    once = ProgramCosts()
    for _ in range(40):
        once.add(["sin"], 1.0)
    once.add(["gcd"], 31.0)
    assert 1.0 < once.ratios()["gcd"] < ratios["gcd"]
    assert ProgramCosts().ratios() == {}


def test_an_alias_counts_once_per_program_and_costs_are_never_negative() -> None:
    costs = ProgramCosts()
    costs.add(["sin", "sin", "cos"], 2.0)
    costs.add(["sin"], -1.0)
    assert costs.per_alias == {"sin": (2, 2.0), "cos": (1, 2.0)}
    assert costs.seconds == 2.0


def test_damp_divides_expensive_weights_within_bounds() -> None:
    weights = (("cheap", 8), ("dear", 8), ("dearest", 40), ("light", 1), ("unseen", 8))
    ratios = {"cheap": 0.5, "dear": 2.0, "dearest": 100.0, "light": 9.0}
    damped = dict(damp(weights, ratios))
    assert damped["cheap"] == 8 and damped["unseen"] == 8  # cheap or unmeasured: unchanged
    assert damped["dear"] == 4
    assert damped["dearest"] == round(40 / MAX_DAMPING)  # divided by at most MAX_DAMPING
    assert damped["light"] == 1  # never below 1: damped, not forbidden
    assert [a for a, _ in damp(weights, ratios)] == [a for a, _ in weights]  # order kept
    assert expensive(ratios) == [("dearest", 100.0), ("light", 9.0), ("dear", 2.0)]


def _run(tmp_path: Path, mode: str) -> _Campaign:
    config = FuzzConfig(out=tmp_path / mode, shrink=False, o0=False, feedback=mode, timeout=30)
    return _Campaign(config, echo=lambda line: None)


def _passing(seed: int, aliases: list[str], seconds: float) -> Outcome[FuzzResult]:
    cells = [f"dtype:{alias}:float32" for alias in aliases]
    return Outcome(seed, OutcomeKind.OK, FuzzResult(Status.PASS, cells=cells, seconds=seconds))


def test_the_campaign_damps_the_aliases_of_a_hanging_program(tmp_path: Path) -> None:
    options = GenOptions()
    hung = 7
    hung_aliases = set(aliases_used(parse(seed_case(hung, options)[0].source)))
    run = _run(tmp_path, "cost")
    try:
        for seed in range(60):
            run.record(_passing(1000 + seed, ["op_add", "sin"], 1.0), options)
        for _ in range(3):  # the same program hanging three times (as a known family does)
            run.record(Outcome(hung, OutcomeKind.TIMEOUT, seconds=30.0), options)
        assert run.costs.programs == 63
        # A hang costs the time until the kill plus a restart.
        assert run.costs.seconds == pytest.approx(60 * 1.0 + 3 * (30.0 + RESTART_SECONDS))
        ratios = run.costs.ratios()
        assert all(ratios[a] > DAMP_ABOVE for a in hung_aliases)
        assert ratios["sin"] < 1.0
        run.counts = Counter({"dtype:op_add:float32": 60, "dtype:sin:float32": 60})
        weights = dict(run.epoch_options().weights)
        plain = dict(alias_weights(run.counts))
        for alias in hung_aliases:
            assert weights[alias] < plain[alias] or plain[alias] == 1
        assert weights["sin"] == plain["sin"]
        assert run.epoch_options().pair_weights == pair_weights(run.counts)
        assert run.summary.failures == 3  # the hang is still a finding, filed in its bucket
    finally:
        run.ledger.close()


def test_without_cost_feedback_the_weights_ignore_costs(tmp_path: Path) -> None:
    options = GenOptions()
    run = _run(tmp_path, "pairs")
    try:
        run.record(_passing(1, ["op_add"], 1.0), options)
        run.record(_passing(2, ["gcd"], 500.0), options)
        run.counts = Counter({"dtype:op_add:float32": 1, "dtype:gcd:int32": 1})
        assert run.epoch_options().weights == alias_weights(run.counts)
    finally:
        run.ledger.close()


def test_the_worker_measures_each_task(tmp_path: Path) -> None:
    from fuzzjax.fuzzing.task import FuzzTaskConfig, make_fuzz_task

    options = GenOptions(max_depth=2)
    task = make_fuzz_task(FuzzTaskConfig(options.to_json(), str(tmp_path), o0=False))
    result = task(3)
    assert result.seconds > 0.0


def test_the_cost_mode_flag_and_run_command() -> None:
    parser = fuzz_parser()
    assert parser.parse_args(["--feedback", "cost"]).feedback == "cost"
    assert set(FEEDBACK_MODES) == {"cost", "pairs", "alias", "off"}
    words = shlex.split(FuzzConfig(out=Path("out"), seconds=60, feedback="cost").command())
    assert words[words.index("--feedback") + 1] == "cost"
    assert DEFAULT_ALIAS_WEIGHT > 1  # damping has room below the default weight


def test_a_fuzz_config_never_draws_stateful_forms() -> None:
    config = FuzzConfig(out=Path("out"), options=GenOptions(stateful=True, max_depth=3))
    assert config.options == GenOptions(stateful=False, max_depth=3)
    assert FuzzConfig(out=Path("out")).options.stateful is False
