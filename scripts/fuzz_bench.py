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


def run(command: list[str], env: dict[str, str], limit: float, cwd: str) -> None:
    print("$", shlex.join(command), flush=True)
    # cwd is the temporary folder: `python -m` puts the working directory first on sys.path,
    # which must not shadow the PYTHONPATH that picks the revision.
    subprocess.run(
        command,
        env=env,
        check=True,
        timeout=limit,
        stdout=subprocess.DEVNULL,
        cwd=cwd,
    )


#: Prints the baseline's programs of seeds [a, b) as JSON, run with the baseline on PYTHONPATH
#: (its generator: the current one differs from 0.3.0 on).
_DUMP = """
import json, sys
from fuzzjax.generate import generate
from fuzzjax.program import GenOptions
a, b = int(sys.argv[1]), int(sys.argv[2])
options = GenOptions(**json.loads(sys.argv[3]))
out = []
for s in range(a, b):
    p = generate(s, options)
    out.append([s, p.source, [x.to_json() for x in p.args]])
json.dump(out, sys.stdout)
"""


def baseline_coverage(seed: int, programs: int, tree: Path) -> Counter[str]:
    """Cells the baseline's programs reach on their one input set (``input_set(.., 0)`` is the
    baseline's ``make_inputs(args, derive_input_seed(seed))``), judged by the current code."""
    from fuzzjax.fuzzing.coverage import cells_of
    from fuzzjax.fuzzing.inputs import input_set
    from fuzzjax.fuzzing.reference import evaluate
    from fuzzjax.program import ArgSpec

    env = {**os.environ, "PYTHONPATH": str(tree)}
    command = [sys.executable, "-c", _DUMP, str(seed), str(seed + programs)]
    done = subprocess.run(
        [*command, json.dumps(BASELINE_OPTIONS)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=3600,
        cwd=tree,
    )
    counts: Counter[str] = Counter()
    for s, source, args in json.loads(done.stdout):
        specs = tuple(ArgSpec.from_json(a) for a in args)
        try:
            counts.update(cells_of(evaluate(source, input_set(specs, s, 0))))
        except Exception:  # noqa: BLE001 - a reference failure covers nothing
            continue
    return counts


def families(buckets: list[str] | dict[str, object]) -> set[str]:
    """Bucket families: stage, symptom and first operation of each bucket key."""
    return {"-".join(k.split("-")[:3]) for k in buckets}


def distinct_families(folder: Path, buckets: list[str] | dict[str, object]) -> set[str]:
    """``families``, with every bucket of a known bug (``fuzzing.upstream``, as known today)
    counted as that one bug: 15 gcd/lcm hang buckets are one finding, not 15."""
    from fuzzjax.fuzzing.case import Signature
    from fuzzjax.fuzzing.upstream import known_bug

    found = set()
    for key in buckets:
        try:
            meta = json.loads((folder / key / "meta.json").read_text())
            bug = known_bug(Signature.from_json(meta["signature"]))
        except (OSError, ValueError, KeyError, TypeError):
            bug = None
        found.add(f"known:{bug.id}" if bug is not None else families([key]).pop())
    return found


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    p.add_argument("--baseline", default="e8cd5de", help="git revision of the baseline")
    p.add_argument("--seed", type=int, default=5_000_000)
    limit = p.add_mutually_exclusive_group()
    limit.add_argument("--count", type=int, default=None)
    limit.add_argument("--time", type=float, default=None)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--current-args", default="", help="extra arguments for the current fuzz")
    p.add_argument(
        "--concurrent",
        action="store_true",
        help="run both at once (each with --workers), so both see the same machine load",
    )
    p.add_argument("--keep", help="copy both failure folders here (old/, new/) for triage")
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
            old_env = {**os.environ, "PYTHONPATH": str(tree)}
            new_env = {**os.environ, "PYTHONPATH": str(ROOT)}
            old_cmd = [sys.executable, "-m", "fuzzjax", *common, "--out", f"{tmp}/old"]
            extra = shlex.split(args.current_args)
            new_cmd = [sys.executable, "-m", "fuzzjax", *common, *extra, "--out", f"{tmp}/new"]
            if args.concurrent:
                both = [(old_cmd, old_env), (new_cmd, new_env)]
                for command, _ in both:
                    print("$", shlex.join(command), flush=True)
                procs = [
                    subprocess.Popen(c, env=e, stdout=subprocess.DEVNULL, cwd=tmp) for c, e in both
                ]
                for proc in procs:
                    if proc.wait(timeout=limit_s) != 0:
                        raise SystemExit(f"a fuzz run failed (exit {proc.returncode})")
            else:
                run(old_cmd, old_env, limit_s, tmp)
                run(new_cmd, new_env, limit_s, tmp)
            old = json.loads(Path(tmp, "old", "summary.json").read_text())
            new = json.loads(Path(tmp, "new", "summary.json").read_text())
            old_cells = baseline_coverage(args.seed, int(old["programs"]), tree)
            old_d = distinct_families(Path(tmp, "old"), old["buckets"])
            new_d = distinct_families(Path(tmp, "new"), new["buckets"])
            if args.keep:
                import shutil

                for side in ("old", "new"):
                    shutil.copytree(Path(tmp, side), Path(args.keep, side), dirs_exist_ok=True)
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                check=False,
                capture_output=True,
                timeout=120,
            )
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
    old_f, new_f = families(old["buckets"]), families(new["buckets"])
    print(f"bucket families: baseline {len(old_f)}, current {len(new_f)}")
    print(f"  only baseline: {sorted(old_f - new_f)}")
    print(f"  only current: {sorted(new_f - old_f)}")
    print(
        f"bucket families, each known bug counted once: baseline {len(old_d)}, current "
        f"{len(new_d)} ({len(new_d) / max(len(old_d), 1):.1f}x)"
    )


if __name__ == "__main__":
    main()
