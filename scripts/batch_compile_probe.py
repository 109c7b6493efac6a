"""Would compiling several generated programs as one module cut fuzz mode's compile cost?

Usage: python scripts/batch_compile_probe.py [--batch B] [--rounds R] [--first SEED]
                                             [--min-depth D] [--max-depth D]

Fuzz mode lowers and compiles each program twice (optimised and unoptimised, ``O0_OPTIONS``);
that is most of a worker's time (``scripts/fuzz_profile.py``). Each round takes B programs
(seeds from ``--first``, 32-bit ones) and times (a) lowering and both compiles of each
program alone and (b) lowering and both compiles of one jitted function returning all B
results, then prints the total of each and their ratio: how much a batched compile would save
before any cost of attributing a failure back to its program.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--first", type=int, default=100000)
    parser.add_argument("--min-depth", type=int, default=1)
    parser.add_argument("--max-depth", type=int, default=4)
    args = parser.parse_args(argv)

    import jax
    import jax.numpy as jnp

    from fuzzjax.fuzzing.runner import O0_OPTIONS
    from fuzzjax.fuzzing.task import seed_case
    from fuzzjax.lowering.lower import load_function
    from fuzzjax.program import GenOptions

    options = GenOptions(min_depth=args.min_depth, max_depth=args.max_depth)
    seed = args.first
    alone = together = 0.0
    programs = 0
    for _ in range(args.rounds):
        batch: list[tuple[Any, list[Any]]] = []
        while len(batch) < args.batch:
            case, _program = seed_case(seed, options)
            seed += 1
            if not case.x64:
                batch.append((load_function(case.source), [jnp.asarray(x) for x in case.inputs]))
        start = time.perf_counter()
        for fn, inputs in batch:
            try:
                lowered = jax.jit(fn).lower(*inputs)
                lowered.compile()
                lowered.compile(compiler_options=O0_OPTIONS)
            except Exception:  # noqa: BLE001 - a program XLA rejects costs what it cost
                pass
        middle = time.perf_counter()

        def combined(*flat: Any, batch: list[tuple[Any, list[Any]]] = batch) -> tuple[Any, ...]:
            results, at = [], 0
            for fn, inputs in batch:
                results.append(fn(*flat[at : at + len(inputs)]))
                at += len(inputs)
            return tuple(results)

        try:
            lowered = jax.jit(combined).lower(*[x for _, inputs in batch for x in inputs])
            lowered.compile()
            lowered.compile(compiler_options=O0_OPTIONS)
        except Exception as exc:  # noqa: BLE001 - the whole batch fails with one program
            print(f"a batch failed to build ({type(exc).__name__}); counted as measured")
        end = time.perf_counter()
        alone += middle - start
        together += end - middle
        programs += len(batch)
        jax.clear_caches()
    print(
        f"{programs} programs in batches of {args.batch} (depth {args.min_depth}-"
        f"{args.max_depth}): alone {alone:.2f} s, batched {together:.2f} s, "
        f"ratio {alone / together:.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
