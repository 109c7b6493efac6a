"""Where a fuzz worker's time goes, per stage, and what coverage it buys.

Usage: python scripts/fuzz_profile.py [N] [--seed S] [--inputs K] [--eager PERCENT]
                                      [--transforms PERCENT] [--max-depth D] [--min-depth D]
                                      [--baseline]
                                      [--max-rank R] [--max-elements E] [--timeout SECONDS]

Runs the fuzz worker's task (``fuzzjax.fuzzing.task.make_fuzz_task``) on N seeds and charges
the time between two stage announcements to the earlier stage: generate, lower, compile,
compile_o0, jit (compiled runs), o0 (unoptimised runs), eager, reference (including
comparisons and localisation), referee, and the transformation stages. The seeds run in a
child process, one after another, each with a deadline (``--timeout``, 60 s): a seed that
hangs (the gcd/lcm INT_MIN family) kills the child, is counted as timed out, and a new child
goes on with the next seed. ``--baseline`` profiles fuzzjax 0.2's setting (one input set,
eager on every program, no unoptimised oracle, rank <= 4, <= 4096 elements).

Prints ms per program per stage and its share, tests (program x input set) per second, and
the coverage cells the seeds reached (``fuzzjax.fuzzing.coverage``) per second of work.
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from fuzzjax.fuzzing import task as fuzz_task
from fuzzjax.fuzzing.case import Stage
from fuzzjax.fuzzing.task import FuzzTaskConfig, make_fuzz_task
from fuzzjax.program import GenOptions


def _options(args: argparse.Namespace) -> GenOptions:
    return GenOptions(
        max_depth=args.max_depth,
        min_depth=args.min_depth,
        max_rank=args.max_rank,
        max_elements=args.max_elements,
        swarm=not args.baseline,
        large_percent=0 if args.baseline else 2,
    )


def child(args: argparse.Namespace, out: Path) -> None:
    """Run seeds ``args.seed ..`` and append one JSON line per finished seed to ``out``."""
    spent: dict[str, float] = defaultdict(float)
    state = {"stage": "generate", "since": time.perf_counter()}
    original = fuzz_task._test_hooks

    def timing_hook(seed: int, stage: Stage) -> None:
        now = time.perf_counter()
        spent[str(state["stage"])] += now - float(state["since"])
        state["stage"], state["since"] = stage.value, now
        original(seed, stage)

    fuzz_task._test_hooks = timing_hook  # type: ignore[assignment]
    with tempfile.TemporaryDirectory() as crumbs, out.open("a") as lines:
        config = FuzzTaskConfig(
            _options(args).to_json(),
            crumbs,
            inputs_per_program=args.inputs,
            eager_percent=args.eager,
            o0=not args.baseline,
            transforms_percent=args.transforms,
        )
        task = make_fuzz_task(config)
        for seed in range(args.seed, args.seed + args.n):
            faulthandler.dump_traceback_later(args.timeout, exit=True, file=sys.stderr)
            spent.clear()
            state["stage"], state["since"] = "generate", time.perf_counter()
            start = time.perf_counter()
            result = task(seed)
            now = time.perf_counter()
            spent[str(state["stage"])] += now - float(state["since"])  # the last stage's rest
            faulthandler.cancel_dump_traceback_later()
            record = {
                "seed": seed,
                "seconds": now - start,
                "tests": result.tests,
                "spent": dict(spent),
                "cells": result.cells,
            }
            lines.write(json.dumps(record) + "\n")
            lines.flush()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("n", type=int, nargs="?", default=100)
    p.add_argument("--seed", type=int, default=1_000_000)
    p.add_argument("--inputs", type=int, default=16)
    p.add_argument("--eager", type=int, default=10)
    p.add_argument("--transforms", type=int, default=10)
    p.add_argument("--max-depth", type=int, default=4)
    p.add_argument("--min-depth", type=int, default=1)
    p.add_argument("--max-rank", type=int, default=8)
    p.add_argument("--max-elements", type=int, default=1 << 20)
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per seed")
    p.add_argument("--baseline", action="store_true")
    p.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.baseline:
        args.inputs, args.eager, args.transforms = 1, 100, 0
        args.max_rank, args.max_elements = 4, 4096
    if args.child:
        child(args, args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "seeds.jsonl"
        timed_out: list[int] = []
        first, end = args.seed, args.seed + args.n
        while first < end:
            command = [sys.executable, __file__, str(end - first), "--seed", str(first)]
            for flag in ("inputs", "eager", "transforms", "max_depth", "min_depth", "max_rank"):
                command += [f"--{flag.replace('_', '-')}", str(getattr(args, flag))]
            command += ["--max-elements", str(args.max_elements), "--timeout", str(args.timeout)]
            command += ["--baseline"] if args.baseline else []
            done = subprocess.run(
                [*command, "--child", str(out)],
                timeout=args.timeout * (end - first) + 120,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=False,
            )
            finished = [json.loads(line)["seed"] for line in out.read_text().splitlines()]
            last = max(finished, default=first - 1)
            if done.returncode == 0:
                break
            timed_out.append(last + 1)  # the seed the child was on when it died
            first = last + 2
        records = [json.loads(line) for line in out.read_text().splitlines()]
    report(args, records, timed_out)


def report(args: argparse.Namespace, records: list[dict], timed_out: list[int]) -> None:  # type: ignore[type-arg]
    total = sum(r["seconds"] for r in records)
    tests = sum(r["tests"] for r in records)
    spent: dict[str, float] = defaultdict(float)
    cells: set[str] = set()
    for r in records:
        for stage, seconds in r["spent"].items():
            spent[stage] += seconds
        cells.update(r["cells"])
    n = len(records)
    pairclass = sum(c.startswith("pairclass:") for c in cells)
    label = "baseline (fuzzjax 0.2 setting)" if args.baseline else "current"
    print(
        f"{label}: {n} programs ({len(timed_out)} more timed out after {args.timeout:g} s: "
        f"{timed_out}), {tests} tests in {total:.1f} s of work: {n / total:.2f} programs/s, "
        f"{tests / total:.2f} tests/s (one process)"
    )
    print(
        f"coverage: {len(cells)} cells, {pairclass} operation pair x input class "
        f"({pairclass / total:.1f} per second, {pairclass / max(n, 1):.1f} per program)"
    )
    print(f"{'stage':<18}{'ms/program':>12}{'share':>8}")
    for stage, seconds in sorted(spent.items(), key=lambda kv: -kv[1]):
        print(f"{stage:<18}{1000 * seconds / max(n, 1):>12.1f}{seconds / total:>8.0%}")


if __name__ == "__main__":
    main()
