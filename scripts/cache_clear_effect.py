"""What ``jax.clear_caches()`` gives back: one process runs fuzz tasks, then clears.

Usage: python scripts/cache_clear_effect.py [--count N] [--seed S]

Runs N fuzz tasks in this process (the fuzz worker's task, caches never cleared by it),
prints resident memory every N/4 programs, then after ``jax.clear_caches()`` and after
``gc.collect()``: whether clearing, not only a fresh process, bounds a worker's memory.
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import warnings


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    p.add_argument("--count", type=int, default=200)
    p.add_argument("--seed", type=int, default=8_200_000)
    args = p.parse_args()
    warnings.simplefilter("ignore")
    import jax

    from fuzzjax.fuzzing.task import FuzzTaskConfig, make_fuzz_task
    from fuzzjax.lowering import lower
    from fuzzjax.program import GenOptions

    # The task's own clearer must not fire: this script clears once, at the end.
    lower.cache_clearer = lambda *a, **k: lambda: None  # type: ignore[assignment]
    options = GenOptions(max_depth=4, max_rank=8, max_elements=1 << 20, swarm=True)
    with tempfile.TemporaryDirectory() as crumbs:
        config = FuzzTaskConfig(options.to_json(), crumbs, inputs_per_program=16, eager_percent=10)
        task = make_fuzz_task(config)
        print(f"start: {lower.resident_mb():.0f} MB")
        for i in range(args.count):
            task(args.seed + i)
            if (i + 1) % max(1, args.count // 4) == 0:
                print(f"after {i + 1} programs: {lower.resident_mb():.0f} MB")
    jax.clear_caches()
    print(f"after jax.clear_caches(): {lower.resident_mb():.0f} MB")
    gc.collect()
    print(f"after gc.collect(): {lower.resident_mb():.0f} MB")


if __name__ == "__main__":
    main()
