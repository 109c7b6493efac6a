"""Referee the vs_numpy failures of a short fuzz run: who is right, JAX or the reference?

Usage: python scripts/referee_check.py [--seed S] [--count N] [--max-depth D] [--workers W]
                                      [--json OUT]

Runs seeds S..S+N-1 through the fuzz worker (``fuzzjax.fuzzing.task.make_fuzz_task``, the same
programs, inputs and oracles as ``python -m fuzzjax fuzz --seed S --count N --max-depth D``
(``--max-depth 1``: one-call programs, every operation refereed directly), in spawn
workers with the fuzz timeout, so hangs cannot stop it). Every failure in stage vs_numpy that
``diagnose`` localised to one operation is refereed on its isolated one-call case: JAX's
compiled result against the NumPy reference's, judged by ``fuzzjax.fuzzing.referee``. Prints
the verdict counts (per failing program and per bucket), the rules, and an example per
verdict; every reference_wrong bucket is listed with its case. No files are written unless
``--json`` names one.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np


def _isolated_results(case: Any) -> tuple[np.ndarray, np.ndarray]:
    import jax
    import jax.numpy as jnp

    from fuzzjax.fuzzing.reference import evaluate
    from fuzzjax.lowering.lower import load_function

    fn = load_function(case.source)
    got = np.asarray(jax.jit(fn)(*[jnp.asarray(x) for x in case.inputs]))
    want = np.asarray(evaluate(case.source, case.inputs).result.value)
    return got, want


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--count", type=int, default=400)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--max-depth", type=int, default=4, help="as fuzz (default 4)")
    parser.add_argument("--json", help="write every ruling to this JSON file")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")

    from fuzzjax.cli.args import gen_options
    from fuzzjax.cli.fuzz import fuzz_parser
    from fuzzjax.fuzzing.case import Stage, case_to_json
    from fuzzjax.fuzzing.referee import Ruling, Verdict, referee
    from fuzzjax.fuzzing.task import FuzzTaskConfig, make_fuzz_task
    from fuzzjax.workers import Pool

    flags = ["--count", str(args.count), "--max-depth", str(args.max_depth)]
    options = gen_options(fuzz_parser().parse_args(flags))
    start = time.monotonic()
    programs = failures = 0
    unlocalized = 0
    by_program: collections.Counter[str] = collections.Counter()
    buckets: dict[str, Ruling] = {}
    cases: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as crumbs:
        config = FuzzTaskConfig(options.to_json(), crumbs)
        seeds = iter(range(args.seed, args.seed + args.count))
        with Pool(make_fuzz_task, config, workers=args.workers, timeout=30.0) as pool:
            for outcome in pool.imap(seeds):
                programs += 1
                result, sig = outcome.result, outcome.result and outcome.result.signature
                if result is None or sig is None or sig.stage is not Stage.VS_NUMPY:
                    continue
                failures += 1
                if not sig.localized or result.culprit is None:
                    unlocalized += 1
                    continue
                try:
                    got, want = _isolated_results(result.culprit)
                    ruling = referee(result.culprit, sig.ops[0], got, want)
                except Exception as exc:  # noqa: BLE001 - a referee crash is a finding too
                    ruling = Ruling(
                        Verdict.NO_REFEREE,
                        sig.ops[0],
                        rule="referee_error",
                        detail=f"{type(exc).__name__}: {exc}",
                    )
                by_program[ruling.verdict.value] += 1
                key = sig.key()
                if key not in buckets:
                    buckets[key] = ruling
                    cases[key] = {"seed": outcome.seed, **case_to_json(result.culprit)}
    seconds = time.monotonic() - start
    per_bucket = collections.Counter(r.verdict.value for r in buckets.values())
    rules = collections.Counter(f"{r.verdict.value}:{r.rule}" for r in buckets.values())
    print(
        f"seeds {args.seed}..{args.seed + args.count - 1}: {programs} programs in "
        f"{seconds:.0f} s; {failures} vs_numpy failures, {unlocalized} not localised, "
        f"{failures - unlocalized} refereed in {len(buckets)} buckets"
    )
    print("verdicts per failing program:", dict(sorted(by_program.items())))
    print("verdicts per bucket:", dict(sorted(per_bucket.items())))
    print("rules per bucket:", dict(sorted(rules.items())))
    for verdict in Verdict:
        shown = [(k, r) for k, r in sorted(buckets.items()) if r.verdict is verdict]
        if shown:
            print(f"\n== {verdict.value} ({len(shown)} buckets)")
        for key, ruling in shown:
            print(f"  {key} [seed {cases[key]['seed']}]: {ruling.rule}: {ruling.detail}")
    if args.json:
        rows = [{"bucket": k, "ruling": r.to_json(), "case": cases[k]} for k, r in buckets.items()]
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
    print(
        f"\nreproduce: python scripts/referee_check.py --seed {args.seed} --count {args.count} "
        f"--max-depth {args.max_depth}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
