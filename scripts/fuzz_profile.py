"""Where a fuzz worker's time goes, per stage, in one process.

Usage: python scripts/fuzz_profile.py [N] [--seed S] [--inputs K] [--eager PERCENT]
                                      [--baseline] [--max-rank R] [--max-elements E]

Runs the fuzz worker's task (``fuzzjax.fuzzing.task.make_fuzz_task``) on N seeds in this
process and charges the time between two stage announcements to the earlier stage: generate,
lower, compile, compile_o0, jit (compiled runs), o0 (unoptimised runs), eager, reference
(including comparisons; the last stage also carries classification and coverage cells).
``--baseline`` profiles fuzzjax 0.2's setting (one input set, eager on every program, no
unoptimised oracle, rank <= 4, <= 4096 elements).
Prints ms per program per stage, the share of each, and tests (program x input set) per second.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import defaultdict

from fuzzjax.fuzzing import task as fuzz_task
from fuzzjax.fuzzing.case import Stage
from fuzzjax.fuzzing.task import FuzzTaskConfig, make_fuzz_task
from fuzzjax.program import GenOptions


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("n", type=int, nargs="?", default=100)
    p.add_argument("--seed", type=int, default=1_000_000)
    p.add_argument("--inputs", type=int, default=8)
    p.add_argument("--eager", type=int, default=10)
    p.add_argument("--max-rank", type=int, default=8)
    p.add_argument("--max-elements", type=int, default=1 << 20)
    p.add_argument("--baseline", action="store_true")
    p.add_argument("--rss", type=int, default=0, help="print the RSS every N programs")
    args = p.parse_args()
    if args.baseline:
        args.inputs, args.eager, args.max_rank, args.max_elements = 1, 100, 4, 4096
    options = GenOptions(
        max_depth=4,
        max_rank=args.max_rank,
        max_elements=args.max_elements,
        swarm=not args.baseline,
        large_percent=0 if args.baseline else 2,
    )
    spent: dict[str, float] = defaultdict(float)
    state = {"stage": "generate", "since": time.perf_counter()}
    original = fuzz_task._test_hooks

    def timing_hook(seed: int, stage: Stage) -> None:
        now = time.perf_counter()
        spent[state["stage"]] += now - state["since"]  # type: ignore[operator]
        state["stage"], state["since"] = stage.value, now
        original(seed, stage)

    fuzz_task._test_hooks = timing_hook  # type: ignore[assignment]
    with tempfile.TemporaryDirectory() as crumbs:
        config = FuzzTaskConfig(
            options.to_json(),
            crumbs,
            inputs_per_program=args.inputs,
            eager_percent=args.eager,
            o0=not args.baseline,
        )
        task = make_fuzz_task(config)
        tests = 0
        start = time.perf_counter()
        for seed in range(args.seed, args.seed + args.n):
            state["stage"], state["since"] = "generate", time.perf_counter()
            result = task(seed)
            now = time.perf_counter()
            spent[str(state["stage"])] += now - float(state["since"])  # the last stage's rest
            tests += result.tests
            done = seed - args.seed + 1
            if args.rss and done % args.rss == 0:
                print(f"after {done} programs: RSS {_rss_mb():.0f} MB", flush=True)
        total = time.perf_counter() - start
    label = "baseline (fuzzjax 0.2 setting)" if args.baseline else "current"
    print(
        f"{label}: {args.n} programs, {tests} tests in {total:.1f} s: "
        f"{args.n / total:.2f} programs/s, {tests / total:.2f} tests/s (one process)"
    )
    print(f"{'stage':<12}{'ms/program':>12}{'share':>8}")
    for stage, seconds in sorted(spent.items(), key=lambda kv: -kv[1]):
        print(f"{stage:<12}{1000 * seconds / args.n:>12.1f}{seconds / total:>8.0%}")


if __name__ == "__main__":
    main()
