"""``fuzzjax fuzz``: generate programs, run the differential oracles in isolated workers, bucket.

Each seed is a program (``fuzzjax.generate``) plus inputs from ``derive_input_seed(seed)``.
Workers (``fuzzjax.workers.Pool``: spawn, per-program time and memory limits) run the worker
protocol of ``fuzzjax.fuzzing.task``, so a worker that segfaults or hangs is recorded with its
stage and symptom and the run goes on. Every new bucket is shrunk (``fuzzjax.fuzzing.shrink``)
and written to its own folder under ``--out`` (``fuzzjax.fuzzing.folders``); later hits only
raise its hit count. Benign matches are counted per ``fuzzjax.fuzzing.benign`` rule and written
to ``benign.json``.
"""

from __future__ import annotations

import itertools
import json
import queue
import shlex
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fuzzjax.errors import FailureFolderError, FuzzjaxError, InvalidArgument, one_line
from fuzzjax.fuzzing.case import Case, Signature
from fuzzjax.fuzzing.diagnose import Status
from fuzzjax.fuzzing.folders import BucketStore, write_run_summary
from fuzzjax.fuzzing.inputs import derive_input_seed
from fuzzjax.fuzzing.task import (
    FuzzResult,
    FuzzTaskConfig,
    make_fuzz_task,
    outcome_signature,
    seed_case,
)
from fuzzjax.program import GenOptions, Program
from fuzzjax.workers import Outcome, Pool


@dataclass
class FuzzConfig:
    """A fuzz run: where findings go, what to generate, and its limits."""

    out: Path
    options: GenOptions = field(default_factory=GenOptions)
    seed: int = 0
    count: int | None = None
    seconds: float | None = None
    workers: int = 2
    timeout: float = 30.0
    memory_mb: int | None = 4096
    shrink: bool = True
    shrink_seconds: float = 60.0
    progress: bool = False
    seeds: list[int] | None = None  # explicit seeds instead of seed, seed+1, ... (API only)

    def __post_init__(self) -> None:
        if self.options.x64:
            raise InvalidArgument(
                "options.x64",
                True,
                "is not supported: fuzz mode runs with x64 disabled only (its inputs and NumPy "
                "reference assume JAX's 32-bit defaults)",
            )

    def task_config(self, crumbs: Path) -> FuzzTaskConfig:
        return FuzzTaskConfig(self.options.to_json(), str(crumbs))

    def command(self, seed: int | None = None, count: int | None = None) -> str:
        o = self.options
        parts = [
            "python",
            "-m",
            "fuzzjax",
            "fuzz",
            "--seed",
            str(self.seed if seed is None else seed),
        ]
        if count is None and self.count is None and self.seconds is not None:
            parts += ["--time", f"{self.seconds:g}"]
        else:
            total = count if count is not None else self.count
            parts += ["--count", str(total if total is not None else len(self.seeds or []))]
        parts += ["--max-depth", str(o.max_depth), "--min-depth", str(o.min_depth)]
        parts += ["--max-rank", str(o.max_rank), "--max-elements", str(o.max_elements)]
        parts += ["--out", str(self.out)]
        return shlex.join(parts)


@dataclass
class FuzzSummary:
    """What a run did: counts, buckets hit (and which are new), benign matches per rule."""

    programs: int = 0
    passed: int = 0
    failures: int = 0
    new_buckets: list[str] = field(default_factory=list)
    hits: dict[str, int] = field(default_factory=dict)
    benign: dict[str, int] = field(default_factory=dict)
    benign_examples: dict[str, list[int]] = field(default_factory=dict)
    seconds: float = 0.0
    restarts: int = 0

    def line(self) -> str:
        rate = self.programs / self.seconds if self.seconds else 0.0
        benign = sum(self.benign.values())
        return (
            f"{self.programs} programs, {self.failures} failures in {len(self.hits)} buckets "
            f"({len(self.new_buckets)} new), {benign} benign, {rate:.1f} programs/s"
        )


@dataclass
class ShrinkJob:
    """A new bucket waiting for the background shrinker."""

    sig: Signature
    case: Case
    program: Program | None
    seed: int
    culprit: Case | None
    meta: dict[str, Any]


class BackgroundShrinker(threading.Thread):
    """Shrinks new buckets one at a time while fuzzing goes on, then refreshes their folders.

    The fuzz loop must keep consuming its pool (a paused consumer would see stale start times
    and report false hangs), so shrinking runs here, with its own one-worker pool.
    """

    def __init__(self, config: FuzzConfig, store: BucketStore, echo: Callable[[str], None]):
        super().__init__(daemon=True, name="fuzzjax-shrink")
        self.config, self.store, self.echo = config, store, echo
        self.jobs: queue.Queue[ShrinkJob | None] = queue.Queue()
        self.stop_at: float | None = None
        self.error: FuzzjaxError | None = None  # e.g. a full disk; raised by the fuzz loop

    def run(self) -> None:
        from fuzzjax.fuzzing.shrink import CandidateRunner, shrink

        runner: CandidateRunner | None = None
        try:
            while (job := self.jobs.get()) is not None:
                if self.stop_at is not None and time.monotonic() > self.stop_at:
                    continue  # the run is over: keep the unshrunk folder
                c = self.config
                runner = runner or CandidateRunner(c.options, c.timeout, c.memory_mb)
                budget = c.shrink_seconds
                if self.stop_at is not None:
                    budget = min(budget, max(1.0, self.stop_at - time.monotonic()))
                try:
                    shrunk, stats = shrink(
                        job.case,
                        job.sig,
                        runner,
                        seconds=budget,
                        culprit=job.culprit,
                        program=job.program,
                        input_seed=derive_input_seed(job.seed),
                    )
                except Exception as exc:  # noqa: BLE001 - a shrinker bug must not stop the run
                    shrunk, stats = job.case, {"status": f"shrinker error: {one_line(exc)}"}
                try:
                    self.store.add(
                        job.sig,
                        {**job.meta, "shrink": stats},
                        original=job.case,
                        shrunk=shrunk,
                        command=c.command(job.seed, 1),
                        timeout=c.timeout,
                    )
                except FuzzjaxError as exc:
                    self.error = exc
                    return
                before, after = stats.get("ops_before", "?"), stats.get("ops_after", "?")
                self.echo(f"shrunk {job.sig.key()}: {before} -> {after} ops")
        finally:
            if runner is not None:
                runner.close()

    def finish(self, grace: float) -> None:
        self.stop_at = time.monotonic() + grace
        self.jobs.put(None)
        self.join(grace + self.config.shrink_seconds + 30)


def run_fuzz(config: FuzzConfig, *, echo: Callable[[str], None] = print) -> FuzzSummary:
    """Fuzz until ``count`` programs or ``seconds`` have passed; returns the summary."""
    store = BucketStore(config.out)
    for folder in store.repaired:
        echo(f"rewrote {folder}: its files did not match its meta.json")
    for folder in store.broken:
        echo(f"ignored {folder}: its meta.json is not fuzzjax's (rewritten if its bucket recurs)")
    crumbs = config.out / ".inflight"
    try:
        crumbs.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FailureFolderError(f"cannot create {crumbs}: {exc.strerror}") from None
    summary = FuzzSummary()
    start = time.monotonic()
    deadline = start + config.seconds if config.seconds else None

    def seeds() -> Iterator[int]:
        source = iter(config.seeds) if config.seeds is not None else itertools.count(config.seed)
        for n, seed in enumerate(source):
            if (config.count is not None and n >= config.count) or (
                deadline is not None and time.monotonic() >= deadline
            ):
                return
            yield seed

    pool = Pool(
        make_fuzz_task,
        config.task_config(crumbs),
        workers=config.workers,
        timeout=config.timeout,
        memory_mb=config.memory_mb,
    )
    shrinker = BackgroundShrinker(config, store, echo) if config.shrink else None
    if shrinker is not None:
        shrinker.start()
    last_draw = 0.0
    try:
        for outcome in pool.imap(seeds()):
            summary.programs += 1
            _record(outcome, config, store, summary, crumbs, shrinker, echo)
            if config.progress and time.monotonic() - last_draw > 0.5:
                last_draw = time.monotonic()
                summary.seconds = last_draw - start
                sys.stderr.write("\r\033[K" + summary.line())
                sys.stderr.flush()
        summary.seconds = time.monotonic() - start
    finally:
        summary.restarts = pool.restarts
        pool.close()
        if config.progress:
            sys.stderr.write("\r\033[K")
        if shrinker is not None:  # shrink what is queued, within a bounded extra time
            shrinker.finish(grace=max(config.shrink_seconds, 0.25 * summary.seconds))
            if shrinker.error is not None:
                raise shrinker.error
        summary.seconds = summary.seconds or time.monotonic() - start
        report = {
            "command": config.command(),
            "programs": summary.programs,
            "passed": summary.passed,
            "failures": summary.failures,
            "buckets": summary.hits,
            "new_buckets": summary.new_buckets,
            "benign": summary.benign,
            "seconds": round(summary.seconds, 1),
            "worker_restarts": summary.restarts,
        }
        write_run_summary(config.out, report, summary.benign, summary.benign_examples)
    return summary


def _record(
    outcome: Outcome[FuzzResult],
    config: FuzzConfig,
    store: BucketStore,
    summary: FuzzSummary,
    crumbs: Path,
    shrinker: BackgroundShrinker | None,
    echo: Callable[[str], None],
) -> None:
    result = outcome.result
    case: Case | None = None
    program: Program | None = None
    if result is None or result.status is Status.FAIL:
        try:
            case, program = seed_case(outcome.seed, config.options)
        except Exception:  # noqa: BLE001 - a generator crash has no case to show
            case = None
    sig = outcome_signature(outcome, case, crumbs)
    if sig is None:
        assert result is not None  # a crash or hang always has a signature
        summary.passed += result.status is Status.PASS
        for rule in result.benign:
            summary.benign[rule] = summary.benign.get(rule, 0) + 1
            examples = summary.benign_examples.setdefault(rule, [])
            if len(examples) < 5:
                examples.append(outcome.seed)
        return
    summary.failures += 1
    key = sig.key()
    summary.hits[key] = summary.hits.get(key, 0) + 1
    if key in store.folders:
        store.hit(key, outcome.seed)
        return
    if case is None:
        return
    meta = {
        "seed": outcome.seed,
        "input_seed": derive_input_seed(outcome.seed),
        "options": json.loads(config.options.to_json()),
        "detail": (result.detail or result.error) if result else outcome.error,
        "benign_explained": result.benign if result else [],
    }
    pending = {"status": "queued"} if shrinker is not None else {"status": "disabled"}
    folder = store.add(
        sig,
        {**meta, "shrink": pending},
        original=case,
        shrunk=case,
        command=config.command(outcome.seed, 1),
        timeout=config.timeout,
    )
    store.hit(key, outcome.seed)
    summary.new_buckets.append(key)
    echo(f"new bucket {key}: {folder}/repro.py (seed {outcome.seed})")
    if shrinker is not None:
        culprit = result.culprit if result else None
        shrinker.jobs.put(ShrinkJob(sig, case, program, outcome.seed, culprit, meta))
