"""Pair steering (issue 14): ``GenOptions.pair_weights``, how the generator and the campaign
use it, and that a steered seed replays byte-identically through a failure's command."""

from __future__ import annotations

import dataclasses
import json
import shlex
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from lark import Tree

from fuzzjax.cli.fuzz import _options_json, fuzz_parser
from fuzzjax.errors import InvalidArgument
from fuzzjax.fuzzing.campaign import FuzzConfig, _Campaign, epoch_lengths
from fuzzjax.fuzzing.coverage import pair_weights
from fuzzjax.generation.generator import generate
from fuzzjax.program import DEFAULT_PAIR_WEIGHT, MAX_PAIR_WEIGHTS, GenOptions
from fuzzjax.syntax import operation_aliases, parse

#: Deep enough that most consumers have operation operands; kernels (whose scaffolding is
#: built directly, not drawn) off, so every pair below comes from a drawn rule.
DEEP = GenOptions(min_depth=3, max_depth=5, kernel_percent=0)
SEEDS = range(150)


def pairs_of(source: str) -> Counter[tuple[str, str]]:
    """(producer, consumer) pairs of a program, read off its parse tree as coverage does."""
    ops = operation_aliases()
    found: Counter[tuple[str, str]] = Counter()
    for node in parse(source).iter_subtrees():
        if node.data in ops:
            for child in node.children:
                if isinstance(child, Tree) and child.data in ops:
                    found[(str(child.data), str(node.data))] += 1
    return found


def pairs_over(options: GenOptions) -> Counter[tuple[str, str]]:
    total: Counter[tuple[str, str]] = Counter()
    for seed in SEEDS:
        total += pairs_of(generate(seed, options).source)
    return total


def test_weights_damp_the_most_tested_pairs_from_counts() -> None:
    counts = Counter(
        {
            "pair:op_add>op_mul": 15,  # (1 + 1) / (1 + 15) * 8 = 1
            "pair:sin>op_add": 3,  # 2 / 4 * 8 = 4
            "pair:cos>op_add": 2,  # 2 / 3 * 8 = 5.3 -> 5
            "pair:exp>where": 1,  # the median: not listed
            "pair:tan>where": 1,
            "pair:abs>where": 1,
            "pair:exp>op_mul": 1,
            "pair:log>op_mul": 1,
            "pairclass:op_add>op_mul:nan": 40,  # other kinds do not count
            "dtype:op_add:float32": 99,
        }
    )
    assert pair_weights(counts) == (
        ("cos", "op_add", 5),
        ("op_add", "op_mul", 1),
        ("sin", "op_add", 4),
    )
    assert pair_weights(counts, limit=1) == (("op_add", "op_mul", 1),)
    assert pair_weights(Counter({"dtype:op_add:float32": 3})) == ()


def test_weights_stay_bounded_and_valid() -> None:
    counts = Counter({f"pair:p{i:04d}>c{i % 7}": 2 + i % 50 for i in range(3 * MAX_PAIR_WEIGHTS)})
    counts.update({f"pair:q{i}>c": 1 for i in range(4 * MAX_PAIR_WEIGHTS)})  # the median is 1
    chosen = pair_weights(counts)
    assert len(chosen) == MAX_PAIR_WEIGHTS
    assert all(1 <= w < DEFAULT_PAIR_WEIGHT for *_, w in chosen)
    # the most tested were kept: every listed pair was tested at least as often as any left out
    listed = {f"pair:{p}>{c}" for p, c, _ in chosen}
    assert min(counts[k] for k in listed) >= max(
        n for k, n in counts.items() if k not in listed and k.startswith("pair:p")
    )
    assert GenOptions(pair_weights=chosen).pair_weights == chosen  # validates


def test_a_zero_pair_weight_never_emits_that_producer_under_that_consumer() -> None:
    # op_add and where weigh a lot, so op_add is common under where without the pair weight
    heavy = dataclasses.replace(DEEP, weights=(("op_add", 512), ("where", 512)))
    before = pairs_over(heavy)
    assert before[("op_add", "where")] >= 20
    after = pairs_over(dataclasses.replace(heavy, pair_weights=(("op_add", "where", 0),)))
    assert after[("op_add", "where")] == 0
    assert sum(n for (p, _), n in after.items() if p == "op_add") >= 20  # elsewhere it stays


def test_a_large_pair_weight_emits_that_producer_under_that_consumer_more() -> None:
    before = pairs_over(DEEP)
    after = pairs_over(dataclasses.replace(DEEP, pair_weights=(("op_add", "where", 65536),)))
    assert after[("op_add", "where")] >= before[("op_add", "where")] + 10


def test_empty_or_unused_pair_weights_leave_programs_unchanged() -> None:
    # a consumer no program has: no draw changes (the pinned digests cover the empty field)
    unused = dataclasses.replace(DEEP, pair_weights=(("op_add", "no_such_consumer", 0),))
    for seed in range(40):
        plain, steered = generate(seed, DEEP), generate(seed, unused)
        assert (plain.source, plain.choices) == (steered.source, steered.choices)
    assert "pair_weights" not in GenOptions().to_json()


def test_a_steered_seed_replays_byte_identically_from_its_failure_command(
    tmp_path: Path,
) -> None:
    steering = (("op_add", "op_add", 3), ("op_add", "where", 0), ("where", "op_add", 65536))
    options = dataclasses.replace(  # fuzz mode's options: stateful forms off
        DEEP, weights=(("op_add", 512), ("where", 512)), pair_weights=steering, stateful=False
    )
    config = FuzzConfig(out=tmp_path, options=GenOptions(max_depth=4), seed=11)
    unsteered = dataclasses.replace(options, pair_weights=())
    steered = 0
    for seed in range(11, 21):
        original = generate(seed, options)
        steered += original.source != generate(seed, unsteered).source
        # what a failure folder records: the command and meta.json's options
        argv = shlex.split(config.command(seed, 1, options))[4:]
        args = fuzz_parser().parse_args(argv)
        assert args.seed == seed and args.options_json is not None  # feedback off with it
        replayed = generate(seed, _options_json(args.options_json))
        meta = json.loads(json.dumps({"options": json.loads(options.to_json())}))
        from_meta = generate(seed, GenOptions.from_json(json.dumps(meta["options"])))
        for again in (replayed, from_meta):
            assert again.options == options
            assert (again.source, again.choices) == (original.source, original.choices)
    assert steered >= 3  # the pair weights changed these programs: replay follows them


@pytest.mark.parametrize(
    "bad",
    [
        (("b", "a", 1), ("a", "b", 1)),  # not sorted
        (("a", "b", 1), ("a", "b", 2)),  # a pair twice
        (("a", "b", -1),),
        (("a", "b", 65537),),
        (("a", "b", True),),
        (("a", "b", 1.5),),
        (("a", "b"),),
        (("", "b", 1),),
        (("a", 3, 1),),
        tuple((f"p{i:04d}", "c", 1) for i in range(MAX_PAIR_WEIGHTS + 1)),  # too many
    ],
)
def test_malformed_pair_weights_are_rejected(bad: tuple[object, ...]) -> None:
    with pytest.raises(InvalidArgument, match="pair_weights"):
        GenOptions(pair_weights=bad)  # type: ignore[arg-type]


def test_pair_weights_round_trip_through_json() -> None:
    options = GenOptions(pair_weights=(("op_add", "where", 0), ("sin", "op_mul", 7)))
    text = options.to_json()
    assert json.loads(text)["pair_weights"] == [["op_add", "where", 0], ["sin", "op_mul", 7]]
    assert GenOptions.from_json(text) == options


def test_campaign_feedback_modes(tmp_path: Path) -> None:
    counts = Counter({"pair:op_add>op_mul": 9, "pair:sin>op_add": 1, "pair:cos>op_add": 1})
    counts.update({"dtype:op_add:float32": 4})
    for mode, expect_pairs in (("pairs", True), ("alias", False), ("off", False)):
        config = FuzzConfig(out=tmp_path / mode, shrink=False, o0=False, feedback=mode)
        run = _Campaign(config, echo=lambda line: None)
        try:
            run.counts = counts
            options = run.epoch_options()
        finally:
            run.ledger.close()
        assert bool(options.weights) == (mode != "off")
        assert options.pair_weights == (pair_weights(counts) if expect_pairs else ())
        assert options.pair_weights != () or not expect_pairs
    with pytest.raises(InvalidArgument, match="feedback"):
        _Campaign(FuzzConfig(out=tmp_path / "bad", shrink=False, feedback="on"), print)
    with pytest.raises(InvalidArgument, match="first_epoch"):
        _Campaign(FuzzConfig(out=tmp_path / "bad", shrink=False, first_epoch=0), print)


def test_feedback_flag_and_the_run_command() -> None:
    parser = fuzz_parser()
    assert parser.parse_args([]).feedback == "pairs"
    assert parser.parse_args(["--feedback", "alias"]).feedback == "alias"
    for mode, flags in (
        ("pairs", []),
        ("alias", ["--feedback", "alias"]),
        ("off", ["--no-feedback"]),
    ):
        command = FuzzConfig(out=Path("out"), seconds=60, feedback=mode).command()
        words = shlex.split(command)
        assert all(f in words for f in flags)
        assert ("--feedback" in words) == (mode == "alias")


def test_a_bad_feedback_mode_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    from fuzzjax.cli.main import main

    assert main(["fuzz", "--feedback", "on"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--feedback" in err


def test_the_pair_coverage_script_reports_repeats_and_changed_programs(tmp_path: Path) -> None:
    from fuzzjax.fuzzing.ledger import Ledger

    ledger = Ledger(tmp_path / "campaign.sqlite")
    ledger.start_run("test", {"jax": "0"})
    for cells in (["pair:op_add>where", "pair:sin>op_mul", "pair:cos>abs"], ["pair:op_add>where"]):
        ledger.add_coverage(cells)
    ledger.close()
    script = Path(__file__).resolve().parents[1] / "scripts" / "pair_coverage.py"
    out = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "campaign.sqlite"), "--seeds", "5"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    assert "pair: 3 distinct cells in 4 program draws: 25.0% repeats" in out
    assert "1 pair weights; they change " in out and " of 5 programs" in out


def test_with_feedback_the_first_epochs_are_short() -> None:
    def first(n: int, **kwargs: object) -> list[int]:
        lengths = epoch_lengths(FuzzConfig(out=Path("out"), **kwargs))  # type: ignore[arg-type]
        return [next(lengths) for _ in range(n)]

    assert first(7) == [50, 100, 200, 400, 500, 500, 500]
    assert first(3, feedback="alias", epoch=120) == [50, 100, 120]
    assert first(3, feedback="off") == [500, 500, 500]
    assert first(2, epoch=20) == [20, 20]
