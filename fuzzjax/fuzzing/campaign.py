"""``fuzzjax fuzz``: generate programs, run the differential oracles in isolated workers, bucket.

Each seed is a program (``fuzzjax.generate``) tested on several input sets
(``fuzzjax.fuzzing.inputs.input_set``) by ``fuzzjax.fuzzing.runner``.
Workers (``fuzzjax.workers.Pool``: spawn, per-program time and memory limits) run the worker
protocol of ``fuzzjax.fuzzing.task``, so a worker that segfaults or hangs is recorded with its
stage and symptom and the run goes on. Every new bucket is shrunk (``fuzzjax.fuzzing.shrink``)
and written to its own folder under ``--out`` (``fuzzjax.fuzzing.folders``); later hits only
raise its hit count. Benign matches are counted per ``fuzzjax.fuzzing.benign`` rule and written
to ``benign.json``.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import queue
import shlex
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from fuzzjax.errors import FailureFolderError, FuzzjaxError, InvalidArgument, one_line
from fuzzjax.fuzzing.case import Case, Signature
from fuzzjax.fuzzing.cost import FEEDBACK_MODES, RESTART_SECONDS, ProgramCosts, damp, expensive
from fuzzjax.fuzzing.coverage import alias_weights, pair_weights, possible_cells, reached
from fuzzjax.fuzzing.diagnose import Status
from fuzzjax.fuzzing.folders import BucketStore, versions, write_run_summary
from fuzzjax.fuzzing.inputs import input_profile, input_seed
from fuzzjax.fuzzing.ledger import LEDGER_NAME, MODES, Ledger, plot_coverage
from fuzzjax.fuzzing.task import (
    FuzzResult,
    FuzzTaskConfig,
    crash_site,
    make_fuzz_task,
    outcome_signature,
    seed_case,
)
from fuzzjax.fuzzing.triage import bucket_verdict
from fuzzjax.fuzzing.upstream import KNOWN_HITS, damped_aliases, known_bug
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
    #: Input sets per compiled program (``fuzzjax.fuzzing.inputs.input_set``).
    inputs_per_program: int = 16
    #: Percent of programs that also run eagerly on every input set.
    eager_percent: int = 10
    #: The optimised vs unoptimised (XLA HLO passes off) executable oracle.
    o0: bool = True
    #: Coverage feedback (``fuzzing.cost.FEEDBACK_MODES``): every ``epoch`` programs,
    #: ``GenOptions.weights`` (and with "pairs" and "cost" ``GenOptions.pair_weights``) are
    #: recomputed from the campaign's coverage counts (with "cost" the expensive aliases'
    #: weights damped by this run's program costs) and recorded in each seed's options.
    feedback: str = "pairs"
    epoch: int = 500
    #: With feedback, the first epoch is this long and each next one twice as long, up to
    #: ``epoch``: feedback first applies after 50 programs, not 500 (a new pool costs about
    #: 3 s; ``notes/fuzzing.md``, "Pair steering").
    first_epoch: int = 50
    #: With feedback, the operations of a known hang family (``fuzzing.upstream``) are drawn
    #: at weight 1 once the campaign (all runs in ``out``) has hit it this often (0: never).
    known_hits: int = KNOWN_HITS
    #: Apply the benign registry (False: report every difference, to audit the registry).
    benign: bool = True
    #: Percent of programs each transformation oracle (vmap, jvp_vs_vjp, grad_vs_fd,
    #: export_roundtrip) checks, after the value oracles passed.
    transforms_percent: int = 10

    def __post_init__(self) -> None:
        # Fuzz mode never draws stateful forms (``GenOptions.stateful``: ``lax.rng_uniform``
        # gives new values on every run, which its oracles would report), from the CLI or not.
        if self.options.stateful:
            self.options = replace(self.options, stateful=False)

    def task_config(self, crumbs: Path, options: GenOptions) -> FuzzTaskConfig:
        return FuzzTaskConfig(
            options.to_json(),
            str(crumbs),
            inputs_per_program=self.inputs_per_program,
            eager_percent=self.eager_percent,
            o0=self.o0,
            benign=self.benign,
            transforms_percent=self.transforms_percent,
        )

    def command(
        self, seed: int | None = None, count: int | None = None, options: GenOptions | None = None
    ) -> str:
        """The command of this run, or (``seed``, ``count=1``, the seed's ``options``) the one
        that tests exactly that seed again."""
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
        o = options or self.options
        if options is not None and (options.weights or options != self.options):
            parts += ["--options-json", options.to_json()]  # exactly the seed's options
        else:
            parts += ["--max-depth", str(o.max_depth), "--min-depth", str(o.min_depth)]
            parts += ["--max-rank", str(o.max_rank), "--max-elements", str(o.max_elements)]
            parts += ["--large-percent", str(o.large_percent)]
            parts += [] if o.swarm else ["--no-swarm"]
            parts += ["--profile", o.profile] if o.profile != "breadth" else []
            parts += ["--x64"] if o.x64 else []
            if seed is not None or self.feedback == "off":
                parts += ["--no-feedback"]
            elif self.feedback != "pairs":
                parts += ["--feedback", self.feedback]
            if seed is None and self.feedback != "off" and self.known_hits != KNOWN_HITS:
                parts += ["--known-hits", str(self.known_hits)]
        parts += ["--inputs", str(self.inputs_per_program), "--eager", str(self.eager_percent)]
        parts += ["--transforms", str(self.transforms_percent)]
        parts += [] if self.o0 else ["--no-o0"]
        parts += [] if self.benign else ["--no-benign"]
        parts += ["--epoch", str(self.epoch)] if seed is None else []
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
    #: Tests (program x input set) and how often each oracle ran.
    tests: int = 0
    oracles: Counter[str] = field(default_factory=Counter)
    #: Coverage cells reached (the campaign's, this run included) and possible, per kind.
    coverage: dict[str, int] = field(default_factory=dict)
    possible: dict[str, int] = field(default_factory=dict)
    #: Known hang families whose operations were damped (``FuzzConfig.known_hits``).
    damped: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def line(self) -> str:
        rate = self.programs / self.seconds if self.seconds else 0.0
        test_rate = self.tests / self.seconds if self.seconds else 0.0
        benign = sum(self.benign.values())
        return (
            f"{self.programs} programs, {self.tests} tests, {self.failures} failures in "
            f"{len(self.hits)} buckets ({len(self.new_buckets)} new), {benign} benign, "
            f"{rate:.1f} programs/s, {test_rate:.1f} tests/s"
        )

    def coverage_line(self) -> str:
        parts = [f"{k} {self.coverage.get(k, 0)}/{n}" for k, n in self.possible.items()]
        return "coverage (cells reached/possible, campaign): " + ", ".join(parts)


@dataclass
class ShrinkJob:
    """A new bucket waiting for the background shrinker."""

    sig: Signature
    case: Case
    program: Program | None
    seed: int
    culprit: Case | None
    meta: dict[str, Any]
    options: GenOptions


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
                runner = runner or CandidateRunner(
                    c.options, c.timeout, c.memory_mb, c.benign, o0=c.o0
                )
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
                        input_seed=int(job.meta["input_seed"]),
                        profile=input_profile(int(job.meta["input_index"])),
                    )
                except Exception as exc:  # noqa: BLE001 - a shrinker bug must not stop the run
                    shrunk, stats = job.case, {"status": f"shrinker error: {one_line(exc)}"}
                try:
                    self.store.add(
                        job.sig,
                        {**job.meta, "shrink": stats},
                        original=job.case,
                        shrunk=shrunk,
                        command=c.command(job.seed, 1, job.options),
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


def epoch_lengths(config: FuzzConfig) -> Iterator[int]:
    """Programs per epoch: ``epoch`` each, or with feedback ``first_epoch`` doubling up to it."""
    length = config.epoch if config.feedback == "off" else min(config.epoch, config.first_epoch)
    while True:
        yield length
        length = min(config.epoch, 2 * length)


def run_fuzz(config: FuzzConfig, *, echo: Callable[[str], None] = print) -> FuzzSummary:
    """Fuzz until ``count`` programs or ``seconds`` have passed; returns the summary.

    Programs run in epochs of ``config.epoch`` seeds, each with a fresh worker pool (which
    also bounds the workers' memory); with ``feedback`` the generation weights are recomputed
    from the campaign's coverage before each epoch, and the first epochs are shorter
    (``first_epoch``, doubling up to ``epoch``).
    """
    run = _Campaign(config, echo)
    try:
        run.loop()
    finally:
        run.finish()
    return run.summary


class _Campaign:
    """The state of one fuzz run."""

    def __init__(self, config: FuzzConfig, echo: Callable[[str], None]) -> None:
        if config.feedback not in FEEDBACK_MODES:
            raise InvalidArgument("feedback", config.feedback, f"must be one of {FEEDBACK_MODES}")
        if config.first_epoch < 1:
            raise InvalidArgument("first_epoch", config.first_epoch, "must be >= 1")
        if config.known_hits < 0:
            raise InvalidArgument("known_hits", config.known_hits, "must be >= 0")
        if config.o0:
            from fuzzjax.fuzzing.runner import o0_available

            available, why = o0_available()
            if not available:
                echo(f"the unoptimised (O0) oracle is off: {why}")
                config = replace(config, o0=False)
        self.config, self.echo = config, echo
        # First: a folder of the other mode (32-bit / x64) is refused before anything changes.
        try:
            config.out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FailureFolderError(f"cannot create {config.out}: {exc.strerror}") from None
        self.ledger = Ledger(config.out / LEDGER_NAME, config.options.x64)
        self.store = BucketStore(config.out)
        for folder in self.store.repaired:
            echo(f"rewrote {folder}: its files did not match its meta.json")
        for folder in self.store.broken:
            echo(
                f"ignored {folder}: its meta.json is not fuzzjax's (rewritten if its bucket recurs)"
            )
        self.crumbs = config.out / ".inflight"
        try:
            self.crumbs.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FailureFolderError(f"cannot create {self.crumbs}: {exc.strerror}") from None
        self.ledger.start_run(config.command(), versions())
        self.counts = self.ledger.coverage_counts()
        #: Hits per known bug id, all runs of the campaign.
        self.known_hits: Counter[str] = Counter()
        for sig, hits in self.ledger.signatures():
            bug = known_bug(sig)
            if bug is not None:
                self.known_hits[bug.id] += hits
        self.costs = ProgramCosts()
        self.summary = FuzzSummary()
        self.start = time.monotonic()
        self.deadline = self.start + config.seconds if config.seconds else None
        self.shrinker = BackgroundShrinker(config, self.store, echo) if config.shrink else None
        if self.shrinker is not None:
            self.shrinker.start()
        self.last_draw = self.last_point = 0.0

    def seeds(self) -> Iterator[int]:
        c = self.config
        source = iter(c.seeds) if c.seeds is not None else itertools.count(c.seed)
        for n, seed in enumerate(source):
            if (c.count is not None and n >= c.count) or (
                self.deadline is not None and time.monotonic() >= self.deadline
            ):
                return
            yield seed

    def epoch_options(self) -> GenOptions:
        mode = self.config.feedback
        if mode == "off" or not self.counts:
            return self.config.options
        weights = alias_weights(self.counts)
        if mode == "cost":
            weights = damp(weights, self.costs.ratios())
        damped = damped_aliases(self.known_hits, self.config.known_hits)
        for bug_id in sorted(set(damped) - set(self.summary.damped)):
            hits = self.known_hits[bug_id]
            self.echo(
                f"known bug {bug_id} hit {hits} times: drawing {', '.join(damped[bug_id])} "
                "at weight 1 from now on (--known-hits 0 keeps their weights)"
            )
        self.summary.damped = damped
        low = {alias for aliases in damped.values() for alias in aliases}
        weights = tuple((alias, 1 if alias in low else w) for alias, w in weights)
        return dataclasses.replace(
            self.config.options,
            weights=weights,
            pair_weights=pair_weights(self.counts) if mode in ("pairs", "cost") else (),
        )

    def loop(self) -> None:
        c = self.config
        seeds = self.seeds()
        lengths = epoch_lengths(c)
        while True:
            first = next(seeds, None)
            if first is None:
                return
            # Lazily: the pool draws seeds as workers free up, so --time ends within an epoch.
            epoch = itertools.chain([first], itertools.islice(seeds, next(lengths) - 1))
            options = self.epoch_options()
            pool = Pool(
                make_fuzz_task,
                c.task_config(self.crumbs, options),
                workers=c.workers,
                timeout=c.timeout,
                memory_mb=c.memory_mb,
            )
            try:
                for outcome in pool.imap(epoch):
                    self.record(outcome, options)
                    if self.deadline is not None and time.monotonic() >= self.deadline:
                        # Seeds handed to the workers but not finished are dropped (closing
                        # the pool kills them): --time ends on time, not after the prefetch.
                        return
            finally:
                self.summary.restarts += pool.restarts
                pool.close()

    def record(self, outcome: Outcome[FuzzResult], options: GenOptions) -> None:
        s = self.summary
        s.programs += 1
        if outcome.result is not None:
            s.tests += outcome.result.tests
            s.oracles.update(outcome.result.oracles)
            self.counts.update(outcome.result.cells)
            self.ledger.add_coverage(outcome.result.cells)
        sig = _record(outcome, self, options)
        bug = known_bug(sig) if sig is not None else None
        if bug is not None:
            self.known_hits[bug.id] += 1
        self.costs.add(*_cost(outcome, sig))
        now = time.monotonic()
        if now - self.last_point > 10.0:
            self.last_point = now
            self.ledger.add_point(now - self.start, s.programs, s.tests, reached(self.counts))
        if self.config.progress and now - self.last_draw > 0.5:
            self.last_draw = now
            s.seconds = now - self.start
            sys.stderr.write("\r\033[K" + s.line())
            sys.stderr.flush()

    def finish(self) -> None:
        s, c = self.summary, self.config
        s.seconds = time.monotonic() - self.start
        if c.progress:
            sys.stderr.write("\r\033[K")
        if self.shrinker is not None:  # shrink what is queued, within a bounded extra time
            self.shrinker.finish(grace=max(c.shrink_seconds, 0.25 * s.seconds))
            if self.shrinker.error is not None:
                self.ledger.close()
                raise self.shrinker.error
        s.coverage = reached(self.counts)
        s.possible = possible_cells(c.options.x64)
        self.ledger.add_point(s.seconds, s.programs, s.tests, s.coverage)
        self.ledger.end_run(s.programs, s.tests, s.seconds, len(s.new_buckets))
        plot_coverage(self.ledger.series(), c.out / "coverage.png")
        self.ledger.close()
        report = {
            "command": c.command(),
            "mode": MODES[c.options.x64],
            "programs": s.programs,
            "tests": s.tests,
            "oracles": dict(s.oracles),
            "passed": s.passed,
            "failures": s.failures,
            "buckets": s.hits,
            "new_buckets": s.new_buckets,
            "known_buckets": sorted(set(s.hits) - set(s.new_buckets)),
            "benign": s.benign,
            "coverage": {"reached": s.coverage, "possible": s.possible},
            "seconds": round(s.seconds, 1),
            "worker_restarts": s.restarts,
            "damped_known_bugs": {k: list(v) for k, v in s.damped.items()},
            "expensive_aliases": [
                [alias, round(ratio, 2)] for alias, ratio in expensive(self.costs.ratios())
            ],
        }
        write_run_summary(c.out, report, s.benign, s.benign_examples)


def _cost(outcome: Outcome[FuzzResult], sig: Signature | None) -> tuple[list[str], float]:
    """The aliases a tested program used and the seconds it cost (``fuzzing.cost``): a hang or
    a crash costs the time until its worker was killed and a restart."""
    result = outcome.result
    if sig is not None and sig.ops:
        aliases = list(sig.ops)
    else:  # a passing program: the operations its reference evaluation met
        cells = result.cells if result is not None else []
        aliases = [c.split(":")[1] for c in cells if c.startswith("dtype:")]
    if result is not None:
        return aliases, result.seconds
    return aliases, outcome.seconds + RESTART_SECONDS


def _record(outcome: Outcome[FuzzResult], run: _Campaign, options: GenOptions) -> Signature | None:
    """Count the outcome and file a failure in its bucket; the failure's signature."""
    config, summary, store = run.config, run.summary, run.store
    result = outcome.result
    case: Case | None = None
    program: Program | None = None
    input_index = (
        result.input_index if result is not None else crash_site(outcome.seed, run.crumbs)[1]
    )
    if result is None or result.status is Status.FAIL:
        try:
            case, program = seed_case(outcome.seed, options, input_index)
        except Exception:  # noqa: BLE001 - a generator crash has no case to show
            case = None
    sig = outcome_signature(outcome, case, run.crumbs)
    if sig is None:
        assert result is not None  # a crash or hang always has a signature
        summary.passed += result.status is Status.PASS
        for rule in result.benign:
            summary.benign[rule] = summary.benign.get(rule, 0) + 1
            examples = summary.benign_examples.setdefault(rule, [])
            if len(examples) < 5:
                examples.append(outcome.seed)
        return None
    summary.failures += 1
    key = sig.key()
    summary.hits[key] = summary.hits.get(key, 0) + 1
    if run.ledger.hit(sig) and key not in summary.new_buckets:
        summary.new_buckets.append(key)
    if key in store.folders:
        store.hit(key, outcome.seed)
        return sig
    if case is None:
        return sig
    transform = result.transform if result else None
    if result is not None and result.failing is not None:
        case = result.failing  # a transformation oracle's own inputs (plain inputs for AD)
    bug = known_bug(sig)
    ruling = result.ruling if result else None
    meta = {
        "verdict": bucket_verdict(sig, ruling["verdict"] if ruling else None),
        "referee": ruling,
        "upstream": bug.to_json() if bug is not None else None,
        "seed": outcome.seed,
        "input_index": input_index,
        "input_profile": input_profile(input_index).value,
        "input_seed": input_seed(outcome.seed, input_index),
        "options": json.loads(options.to_json()),
        "detail": (result.detail or result.error) if result else outcome.error,
        "benign_explained": result.benign if result else [],
        "oracles": result.oracles if result else {},
        "transform": transform,
    }
    shrinkable = run.shrinker is not None and transform is None
    pending = {"status": "queued"} if shrinkable else {"status": "disabled"}
    if transform is not None:
        pending["reason"] = "transformation buckets are not shrunk (their extras fix the shapes)"
    folder = store.add(
        sig,
        {**meta, "shrink": pending},
        original=case,
        shrunk=case,
        command=config.command(outcome.seed, 1, options),
        timeout=config.timeout,
    )
    store.hit(key, outcome.seed)
    run.echo(f"new bucket {key}: {folder}/repro.py (seed {outcome.seed})")
    if run.shrinker is not None and shrinkable:
        culprit = result.culprit if result else None
        job = ShrinkJob(sig, case, program, outcome.seed, culprit, meta, options)
        run.shrinker.jobs.put(job)
    return sig
