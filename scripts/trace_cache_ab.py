"""What the lowering trace cache (``fuzzjax.lowering.tracecache``) saves, measured in-process.

Usage: python scripts/trace_cache_ab.py [-n 300] [--first 500000] [--max-depth 5]
       [--profile breadth]

Generates the programs of ``n`` consecutive seeds and lowers each once on the fast path
(``lower_text``, as the corpus build does), with the trace cache on for every other program
and off for the rest, charging CPU time (``time.process_time``) to each side. Programs
differ in cost, so it runs twice, in two fresh processes, with the parity swapped (the cache
on for the even programs, then for the odd ones), and reports the mean over both: every
program is timed once with the cache and once without, each time in a process whose cache
was filled only by the programs before it. A noisy machine disturbs both sides alike.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

TIMEOUT = 3600


def child(n: int, first: int, max_depth: int, profile: str, parity: int) -> dict[str, float]:
    from fuzzjax.generation.generator import generate
    from fuzzjax.lowering import tracecache
    from fuzzjax.lowering.lower import load_function, lower_text, specs_of, x64_scope
    from fuzzjax.program import GenOptions

    options = GenOptions(max_depth=max_depth, profile=profile)
    programs = [generate(seed, options) for seed in range(first, first + n)]
    for p in [generate(seed, options) for seed in range(first - 10, first)]:  # warm up
        lower_text(load_function(p.source), specs_of(p.args))
    spent = {"on": 0.0, "off": 0.0}
    for k, p in enumerate(programs):
        side = "on" if k % 2 == parity else "off"
        tracecache.ENABLED = side == "on"
        with x64_scope(p.options.x64):
            fn, specs = load_function(p.source), specs_of(p.args)
            start = time.process_time()
            lower_text(fn, specs)
            spent[side] += time.process_time() - start
    tracecache.ENABLED = True
    half = {"on": (n + 1 - parity) // 2, "off": (n + parity) // 2}
    return {side: spent[side] / half[side] * 1e3 for side in spent} | tracecache.stats()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-n", type=int, default=300)
    p.add_argument("--first", type=int, default=500_000)
    p.add_argument("--max-depth", type=int, default=5)
    p.add_argument("--profile", default="breadth")
    p.add_argument("--child", type=int, choices=(0, 1), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.n, args.first, args.max_depth, args.profile, args.child)))
        return
    rows = []
    for parity in (0, 1):
        cmd = [sys.executable, __file__, "-n", str(args.n), "--first", str(args.first)]
        cmd += ["--max-depth", str(args.max_depth), "--profile", args.profile]
        cmd += ["--child", str(parity)]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print("| cache on for | ms/program with cache | without | trace hits | misses |")
    print("|---|---|---|---|---|")
    for parity, r in enumerate(rows):
        which = "even programs" if parity == 0 else "odd programs"
        print(f"| {which} | {r['on']:.2f} | {r['off']:.2f} | {r['hits']} | {r['misses']} |")
    on = sum(r["on"] for r in rows) / 2
    off = sum(r["off"] for r in rows) / 2
    print(
        f"\nmean CPU ms to lower a program: {on:.2f} with the cache, {off:.2f} without "
        f"(ratio {on / off:.3f})"
    )


if __name__ == "__main__":
    main()
