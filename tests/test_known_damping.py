"""Known bug families in a campaign (issue 14): a known hang family's operations are drawn at
the lowest weight once the campaign has hit it ``--known-hits`` times (every hit costs a worker
the whole timeout and a restart), and triage labels buckets of families known today, including
the ones fuzzjax found and has not reported yet."""

from __future__ import annotations

import json
import shlex
from collections import Counter
from pathlib import Path

import pytest

from fuzzjax.cli.args import UsageError
from fuzzjax.cli.fuzz import fuzz_parser
from fuzzjax.errors import InvalidArgument
from fuzzjax.fuzzing.campaign import FuzzConfig, _Campaign
from fuzzjax.fuzzing.case import Signature, Stage, Symptom
from fuzzjax.fuzzing.coverage import alias_weights
from fuzzjax.fuzzing.task import seed_case
from fuzzjax.fuzzing.triage import format_triage, read_entries
from fuzzjax.fuzzing.upstream import KNOWN, KNOWN_HITS, damped_aliases, known_bug
from fuzzjax.program import GenOptions
from fuzzjax.syntax import aliases_used, operation_aliases, parse
from fuzzjax.workers import Outcome, OutcomeKind

GCD = "gcd_lcm_int_min_hang"


def _gcd_seed(options: GenOptions) -> int:
    """A seed whose program uses jnp.gcd or jnp.lcm on integers (a hang there is the known
    family's)."""
    for seed in range(400):
        case, _ = seed_case(seed, options)
        if {"gcd", "lcm"} & set(aliases_used(parse(case.source))) and "int" in case.result_dtype:
            return seed
    raise AssertionError("no gcd/lcm program in 400 seeds")


def _campaign(out: Path, **kw: object) -> _Campaign:
    config = FuzzConfig(out=out, shrink=False, o0=False, timeout=30, **kw)  # type: ignore[arg-type]
    return _Campaign(config, echo=lambda line: None)


def test_damped_aliases_lists_hang_families_hit_often_enough() -> None:
    hang = next(bug for bug in KNOWN if bug.id == GCD)
    assert hang.hangs and set(hang.ops) == {"gcd", "lcm"}
    assert damped_aliases({GCD: KNOWN_HITS}, KNOWN_HITS) == {GCD: ("gcd", "lcm")}
    assert damped_aliases({GCD: KNOWN_HITS - 1}, KNOWN_HITS) == {}
    assert damped_aliases({GCD: 100}, 0) == {}  # 0: never damp
    # Families that do not hang cost no more than any finding: never damped.
    cheap = {bug.id: 100 for bug in KNOWN if not bug.hangs}
    assert cheap and damped_aliases(cheap, 1) == {}
    for bug in KNOWN:  # every damped operation is one the generator can draw
        if bug.hangs:
            assert set(bug.ops) <= set(operation_aliases())


def test_a_campaign_damps_a_known_hang_family_after_its_hits_and_remembers(
    tmp_path: Path,
) -> None:
    options = GenOptions(weights=(("gcd", 64), ("lcm", 64)), max_depth=2, stateful=False)
    seed = _gcd_seed(options)
    counts = Counter({"dtype:gcd:int32": 1, "dtype:op_add:float32": 50})
    run = _campaign(tmp_path / "out")
    try:
        run.counts = Counter(counts)
        assert dict(run.epoch_options().weights)["gcd"] == dict(alias_weights(counts))["gcd"]
        for _ in range(KNOWN_HITS):
            run.record(Outcome(seed, OutcomeKind.TIMEOUT, seconds=30.0), options)
        assert run.known_hits[GCD] == KNOWN_HITS
        assert run.summary.failures == KNOWN_HITS  # still findings, filed in their bucket
        weights = dict(run.epoch_options().weights)
        plain = dict(alias_weights(run.counts))
        assert weights["gcd"] == weights["lcm"] == 1 < plain["gcd"]
        assert all(weights[a] == plain[a] for a in plain if a not in ("gcd", "lcm"))
        assert run.summary.damped == {GCD: ("gcd", "lcm")}
    finally:
        run.ledger.close()
    # The next run into the same folder starts from the ledger's hits.
    again = _campaign(tmp_path / "out")
    try:
        assert again.known_hits[GCD] == KNOWN_HITS
        again.counts = Counter(counts)
        assert dict(again.epoch_options().weights)["gcd"] == 1
    finally:
        again.ledger.close()
    # --known-hits 0 and --no-feedback leave the weights alone.
    for kw in ({"known_hits": 0}, {"feedback": "off"}):
        other = _campaign(tmp_path / "out", **kw)
        try:
            other.counts = Counter(counts)
            weights = dict(other.epoch_options().weights)
            assert weights.get("gcd", 0) != 1 or kw.get("feedback") == "off"
            assert not other.summary.damped
        finally:
            other.ledger.close()


def test_the_known_hits_flag_and_run_command(tmp_path: Path) -> None:
    parser = fuzz_parser()
    assert parser.parse_args([]).known_hits == KNOWN_HITS
    assert parser.parse_args(["--known-hits", "0"]).known_hits == 0
    with pytest.raises(UsageError, match="--known-hits"):
        parser.parse_args(["--known-hits", "-1"])
    words = shlex.split(FuzzConfig(out=Path("o"), seconds=60, known_hits=5).command())
    assert words[words.index("--known-hits") + 1] == "5"
    assert "--known-hits" not in FuzzConfig(out=Path("o"), seconds=60).command()
    with pytest.raises(InvalidArgument, match="known_hits"):
        _campaign(tmp_path / "refused", known_hits=-1)
    assert not (tmp_path / "refused").exists()  # refused before anything is written


def test_triage_labels_buckets_of_families_known_today(tmp_path: Path) -> None:
    """A folder written before its family was known (verdict jax_deviation) is listed as
    known; an unreported family points at the notes instead of an issue."""
    sig = Signature(Stage.COMPILE_O0, Symptom.CRASH, ("dot_general", "lax_erf"), "float32")
    bug = known_bug(sig)
    assert bug is not None and not bug.reported and bug.url == ""
    folder = tmp_path / sig.key()
    folder.mkdir()
    meta = {"key": sig.key(), "signature": sig.to_json(), "verdict": "jax_deviation", "hits": 3}
    (folder / "meta.json").write_text(json.dumps(meta))
    other = Signature(Stage.COMPILE_O0, Symptom.CRASH, ("lax_erf",), "float32")
    (tmp_path / other.key()).mkdir()
    meta = {"key": other.key(), "signature": other.to_json(), "verdict": "jax_deviation"}
    (tmp_path / other.key() / "meta.json").write_text(json.dumps(meta))
    entries = {e.key: e for e in read_entries(tmp_path)}
    assert entries[sig.key()].verdict == "known_upstream"
    assert "not reported yet" in entries[sig.key()].upstream
    assert entries[other.key()].verdict == "jax_deviation"
    assert "not reported yet" in format_triage(list(entries.values()))


def test_culprit_families_match_only_buckets_localised_to_their_operation() -> None:
    """polygamma's upstream bugs and the CPU min/max NaN drop are known only where the
    reference localised the difference to that operation; a whole-program bucket that merely
    contains it stays a new finding."""
    pg = Signature(Stage.VS_NUMPY, Symptom.WRONG_VALUE, ("sp_polygamma",), "float32", True)
    bug = known_bug(pg)
    assert bug is not None and bug.id == "polygamma_negative_x" and bug.culprit
    nan = Signature(Stage.VS_NUMPY, Symptom.WRONG_NAN, ("sp_polygamma",), "float16", True)
    assert getattr(known_bug(nan), "id", None) == "polygamma_nan_at_inf"
    whole = Signature(Stage.VS_NUMPY, Symptom.WRONG_VALUE, ("sin", "sp_polygamma"), "float32")
    assert known_bug(whole) is None
    drop = Signature(Stage.VS_NUMPY, Symptom.WRONG_NAN, ("m_min",), "float16", True)
    found = known_bug(drop)
    assert found is not None and found.id == "cpu_minmax_reduction_drops_nan"
    assert not found.reported and not found.hangs
    ints = Signature(Stage.VS_NUMPY, Symptom.WRONG_NAN, ("m_min",), "int32", True)
    assert known_bug(ints) is None


def test_complex_division_by_a_constant_is_a_known_family() -> None:
    """The algsimp rewrite x / c -> x * (1 / c) (complex NaN where the division keeps an
    infinity): a complex jit_vs_o0 NaN in a program with a division or a mean."""
    sig = Signature(Stage.JIT_VS_O0, Symptom.WRONG_NAN, ("mean", "sin"), "complex64")
    bug = known_bug(sig)
    assert bug is not None and bug.id == "complex_division_by_constant_nan"
    assert not bug.reported and not bug.hangs
    real = Signature(Stage.JIT_VS_O0, Symptom.WRONG_NAN, ("mean",), "float32")
    assert known_bug(real) is None
    other = Signature(Stage.JIT_VS_O0, Symptom.WRONG_NAN, ("tensordot",), "complex64")
    assert known_bug(other) is None
