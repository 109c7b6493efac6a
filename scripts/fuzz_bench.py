"""Fuzz throughput and coverage: a baseline revision against the current code, side by side.

Usage:
  python scripts/fuzz_bench.py [--baseline REV] [--seed S] [--count N | --time SECONDS]
                               [--workers W] [--current-args "..."]

Runs ``python -m fuzzjax fuzz`` of the baseline revision (checked out into a temporary git
worktree, imported through PYTHONPATH) and of the working tree, one after the other, on the
same seeds, workers and budget, with shrinking off. Reports programs/s, tests/s (programs x
input sets; the baseline tests one input set per program) and coverage cells reached, and the
ratios. Coverage of the baseline run is recomputed from its seeds (its programs and first input
set are reproducible with the current code: the pinned digests guarantee the same programs for
the same options), the current run's is read from its campaign ledger.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The fuzz options of the baseline (fuzzjax 0.2.0's fuzz defaults).
BASELINE_OPTIONS = {"max_depth": 4, "max_rank": 4, "max_elements": 4096}


def run(command: list[str], env: dict[str, str], limit: float) -> None:
    print("$", shlex.join(command), flush=True)
    subprocess.run(command, env=env, check=True, timeout=limit, stdout=subprocess.DEVNULL)


def baseline_coverage(seed: int, programs: int) -> Counter[str]:
    from fuzzjax.fuzzing.coverage import cells_of
    from fuzzjax.fuzzing.inputs import input_set
    from fuzzjax.fuzzing.reference import evaluate
    from fuzzjax.generation.generator import generate
    from fuzzjax.program import GenOptions

    options = GenOptions(**BASELINE_OPTIONS)  # type: ignore[arg-type]
    counts: Counter[str] = Counter()
    for s in range(seed, seed + programs):
        program = generate(s, options)
        try:
            counts.update(cells_of(evaluate(program.source, input_set(program.args, s, 0))))
        except Exception:  # noqa: BLE001 - a reference failure covers nothing
            continue
    return counts


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    p.add_argument("--baseline", default="e8cd5de", help="git revision of the baseline")
    p.add_argument("--seed", type=int, default=5_000_000)
    limit = p.add_mutually_exclusive_group()
    limit.add_argument("--count", type=int, default=None)
    limit.add_argument("--time", type=float, default=None)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--current-args", default="", help="extra arguments for the current fuzz")
    args = p.parse_args()
    budget = ["--count", str(args.count)] if args.count else ["--time", str(args.time or 300)]
    common = ["fuzz", "--seed", str(args.seed), *budget, "--workers", str(args.workers)]
    common += ["--no-shrink", "--quiet"]
    limit_s = 3 * (args.time or 300) + 1800
    with tempfile.TemporaryDirectory(prefix="fuzz-bench-") as tmp:
        tree = Path(tmp) / "baseline"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), args.baseline],
            check=True,
            capture_output=True,
            timeout=120,
        )
        try:
            env = {**os.environ, "PYTHONPATH": str(tree)}
            run([sys.executable, "-m", "fuzzjax", *common, "--out", f"{tmp}/old"], env, limit_s)
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            extra = shlex.split(args.current_args)
            run(
                [sys.executable, "-m", "fuzzjax", *common, *extra, "--out", f"{tmp}/new"],
                env,
                limit_s,
            )
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                check=False,
                capture_output=True,
                timeout=120,
            )
        old = json.loads(Path(tmp, "old", "summary.json").read_text())
        new = json.loads(Path(tmp, "new", "summary.json").read_text())
        old_cells = baseline_coverage(args.seed, int(old["programs"]))
        from fuzzjax.fuzzing.coverage import reached

        old_reached = reached(old_cells)
        new_reached = new["coverage"]["reached"]
    old_rate = old["programs"] / old["seconds"]
    new_rate = new["programs"] / new["seconds"]
    new_tests = new["tests"] / new["seconds"]
    print(
        f"baseline {args.baseline}: {old['programs']} programs in {old['seconds']} s: "
        f"{old_rate:.2f} programs/s = tests/s (1 input set each)"
    )
    print(
        f"current: {new['programs']} programs, {new['tests']} tests in {new['seconds']} s: "
        f"{new_rate:.2f} programs/s, {new_tests:.2f} tests/s"
    )
    print(f"tests/s ratio (current / baseline): {new_tests / old_rate:.1f}x")
    print(f"oracle runs (current): {new.get('oracles')}")
    for kind in ("pair", "dtype", "class", "pairclass"):
        o, n = old_reached[kind], new_reached[kind]
        print(f"coverage {kind}: baseline {o}, current {n} ({n / max(o, 1):.1f}x)")
    total_o, total_n = sum(old_reached.values()), sum(new_reached.values())
    print(
        f"coverage all cells: baseline {total_o}, current {total_n} "
        f"({total_n / max(total_o, 1):.1f}x)"
    )
    print(f"buckets: baseline {len(old['buckets'])}, current {len(new['buckets'])}")


if __name__ == "__main__":
    main()
