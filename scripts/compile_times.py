"""How XLA's compile time is spread over generated programs (the optimised compile).

Usage: python scripts/compile_times.py [-n N] [--first SEED] [--min-depth D] [--max-depth D]
                                       [--top K]

Lowers and compiles each 32-bit program of seeds FIRST..FIRST+N-1 (one process, JAX's caches
cleared between programs), then prints the median compile time, the share of all compile
time the K slowest programs took, and those programs' times, StableHLO op counts and
operations. Fuzz mode spends most of a worker's time compiling (``scripts/fuzz_profile.py``).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=80)
    parser.add_argument("--first", type=int, default=7912000)
    parser.add_argument("--min-depth", type=int, default=3)
    parser.add_argument("--max-depth", type=int, default=8)
    parser.add_argument("--top", type=int, default=8)
    args = parser.parse_args(argv)

    import jax
    import jax.numpy as jnp

    from fuzzjax.fuzzing.task import seed_case
    from fuzzjax.lowering.lower import load_function
    from fuzzjax.program import GenOptions

    options = GenOptions(min_depth=args.min_depth, max_depth=args.max_depth)
    rows: list[tuple[float, int, int, tuple[str, ...]]] = []
    for seed in range(args.first, args.first + args.n):
        case, program = seed_case(seed, options)
        if case.x64:
            continue
        try:
            fn = load_function(case.source)
            lowered = jax.jit(fn).lower(*[jnp.asarray(x) for x in case.inputs])
            ops = len(re.findall(r"= (?:stablehlo|chlo)\.", lowered.as_text()))
            start = time.perf_counter()
            lowered.compile()
            took = time.perf_counter() - start
        except Exception:  # noqa: BLE001 - a program XLA rejects is not timed
            continue
        finally:
            jax.clear_caches()
        rows.append((took, ops, seed, program.aliases))
    if not rows:
        print("no program compiled")
        return 1
    rows.sort(reverse=True)
    total = sum(r[0] for r in rows)
    top = rows[: args.top]
    print(
        f"{len(rows)} programs (depth {args.min_depth}-{args.max_depth}, seeds from "
        f"{args.first}): compile {total:.1f} s in all, median "
        f"{statistics.median(r[0] for r in rows) * 1000:.0f} ms; the {len(top)} slowest took "
        f"{sum(r[0] for r in top) / total:.0%}"
    )
    for took, ops, seed, aliases in top:
        print(f"  {took * 1000:6.0f} ms  {ops:4d} ops  seed {seed}: {' '.join(aliases)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
