"""Memory of a fuzz worker over a long run: how often must JAX's caches be cleared?

Usage: python scripts/fuzz_rss.py [--count N] [--epoch E] [--seed S]

Runs ``run_fuzz`` with one worker (shrinking off) and samples the worker's resident memory
(VmRSS of the supervisor's children) every 5 s from a background thread; prints the samples
and the peak. With ``--epoch E`` the worker pool is replaced every E programs (how fuzz runs
bound memory); ``--epoch`` larger than ``--count`` keeps one worker for the whole run, whose
caches are then cleared every ``CLEAR_CACHES_EVERY`` programs, or earlier once the worker's
resident memory passes ``CLEAR_CACHES_RSS_MB``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import threading
import time
from pathlib import Path


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--count", type=int, default=600)
    p.add_argument("--epoch", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=7_000_000)
    args = p.parse_args()
    from fuzzjax.fuzzing.campaign import FuzzConfig, run_fuzz
    from fuzzjax.lowering.lower import CLEAR_CACHES_EVERY, CLEAR_CACHES_RSS_MB
    from fuzzjax.program import GenOptions

    samples: list[tuple[float, float]] = []
    done = threading.Event()
    start = time.monotonic()

    def sample() -> None:
        while not done.wait(5.0):
            children = multiprocessing.active_children()
            samples.append((time.monotonic() - start, sum(rss_mb(c.pid or 0) for c in children)))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    with tempfile.TemporaryDirectory() as out:
        options = GenOptions(max_depth=4, max_rank=8, max_elements=1 << 20, swarm=True)
        config = FuzzConfig(
            out=Path(out),
            options=options,
            seed=args.seed,
            count=args.count,
            workers=1,
            shrink=False,
            epoch=args.epoch,
            first_epoch=args.epoch,
        )
        summary = run_fuzz(config, echo=lambda line: None)
    done.set()
    sampler.join()
    print(
        f"{summary.programs} programs in {summary.seconds:.0f} s, one worker, epoch "
        f"{args.epoch}, caches cleared every {CLEAR_CACHES_EVERY} programs or above "
        f"{CLEAR_CACHES_RSS_MB} MB resident"
    )
    for t, mb in samples[:: max(1, len(samples) // 20)]:
        print(f"  t={t:6.0f} s  worker RSS {mb:7.0f} MB")
    print(f"failures {summary.failures} (a hang or crash replaces the worker: RSS drops)")
    print(f"peak worker RSS {max((mb for _, mb in samples), default=0):.0f} MB")


if __name__ == "__main__":
    main()
