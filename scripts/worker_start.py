"""How long a fuzz worker takes to start: spawn, import JAX and fuzzjax, build the parsers.

Usage: python scripts/worker_start.py [--rounds N] [--timeout SECONDS]

A hang or a crash costs fuzz mode this much on top of the time the task ran, because the
killed worker is replaced (``fuzzjax.fuzzing.cost.RESTART_SECONDS``). Each round starts a
one-worker ``fuzzjax.workers.Pool`` running the fuzz task and times it until the worker is
ready; prints each round and the median.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time

from fuzzjax.fuzzing.task import FuzzTaskConfig, make_fuzz_task
from fuzzjax.program import GenOptions
from fuzzjax.workers import Pool


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per start")
    args = parser.parse_args(argv)
    times = []
    with tempfile.TemporaryDirectory() as crumbs:
        config = FuzzTaskConfig(GenOptions().to_json(), crumbs)
        for n in range(args.rounds):
            start = time.monotonic()
            pool = Pool(make_fuzz_task, config, workers=1)
            try:
                state = pool.workers[0].state
                while not state.ready.value:
                    if time.monotonic() - start > args.timeout:
                        print(f"round {n}: not ready after {args.timeout:g} s", file=sys.stderr)
                        return 2
                    time.sleep(0.02)
                took = time.monotonic() - start
            finally:
                pool.close()
            times.append(took)
            print(f"round {n}: {took:.2f} s")
    print(f"median worker start: {statistics.median(times):.2f} s over {len(times)} rounds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
