"""Check that reusing lowered functions across modules (``fuzzjax.lowering.funccache``)
changes no stored text: lower generated programs on the fast path and the stock way, compare.

Usage: python scripts/funccache_check.py [-n 300] [--first 800000] [--max-depth 5]
       [--profile breadth] [--x64]

Each program is exec'd twice (JAX caches traces per function object) and lowered on the fast
path (trace cache and function cache on, filled by the programs before it, as in a corpus
build) and with stock ``jax.jit(f).lower(*specs).as_text()``; the raw texts must be equal
byte for byte (so the canonical texts and hashes are too). Prints the function cache's
replays and records, and every mismatch's seed; exits 1 if there is any.
"""

from __future__ import annotations

import argparse
import sys


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-n", type=int, default=300)
    p.add_argument("--first", type=int, default=800_000)
    p.add_argument("--max-depth", type=int, default=5)
    p.add_argument("--profile", default="breadth")
    p.add_argument("--x64", action="store_true")
    args = p.parse_args()

    from fuzzjax.generation.generator import generate
    from fuzzjax.lowering import fastlower, funccache
    from fuzzjax.lowering.lower import load_function, specs_of, x64_scope
    from fuzzjax.program import GenOptions

    kwargs: dict[str, object] = {"max_depth": args.max_depth, "x64": args.x64}
    if args.profile != "breadth":
        kwargs["profile"] = args.profile
    options = GenOptions(**kwargs)  # type: ignore[arg-type]
    bad = []
    failed = 0
    for seed in range(args.first, args.first + args.n):
        program = generate(seed, options)
        with x64_scope(program.options.x64):
            specs = specs_of(program.args)
            try:
                fast = fastlower.lower_stablehlo(load_function(program.source), specs)
            except Exception:  # noqa: BLE001 - a program that does not lower: compare errors
                fast = "error"
            try:
                stock = fastlower.stock_lower_stablehlo(load_function(program.source), specs)
            except Exception:  # noqa: BLE001
                stock = "error"
        failed += stock == "error"
        if fast != stock:
            bad.append(seed)
            print(f"MISMATCH seed {seed}", flush=True)
    print(f"{args.n} programs (seeds {args.first}..), {len(bad)} differ, {failed} did not lower")
    print(f"function cache: {funccache.stats()}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
