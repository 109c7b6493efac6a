"""Corpus building: seeds -> generate -> lower -> canonical hash -> SQLite, resumable.

Seeds are processed in order ``base_seed, base_seed + 1, ...`` (skipping seeds already
processed with the same options) and results are written in seed order, so a corpus depends
only on (base seed, count, options, versions), not on the number of workers or on timing.

A worker that dies or runs past ``timeout`` seconds on a seed is replaced, and the seed is run
once more in the fresh worker: a worker killed or stopped from outside leaves the corpus as an
uninterrupted run would. A seed that fails both times is recorded in ``failures`` (stage
``crash`` or ``timeout``) with the command that reproduces it.

A corpus holds the programs of one set of generation options unless ``mix_options`` is given:
resuming it with other options is refused, naming the options it holds.
"""

from __future__ import annotations

import multiprocessing
import os
import shlex
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fuzzjax.corpus.store import Corpus
from fuzzjax.errors import CorpusError, InvalidArgument, one_line
from fuzzjax.lowering.platforms import parse_platforms
from fuzzjax.program import GenOptions
from fuzzjax.workers import Outcome, OutcomeKind, Pool

#: Commit after this many processed seeds or this many seconds, whichever comes first.
BATCH_SEEDS = 64
BATCH_SECONDS = 1.0
#: Default seconds one seed may take in a worker before the worker counts as hung.
DEFAULT_TIMEOUT = 60.0
#: Seeds are stored as SQLite integers: at most 2**63 - 1.
MAX_SEED = (1 << 63) - 1
#: Test-only hook, inert unless set: ``SEED:SIGNAL`` (e.g. ``17:SIGKILL``, ``17:SIGSTOP``) makes
#: a worker process send itself that signal on that seed, on every attempt.
TEST_SIGNAL_ENV = "FUZZJAX_TEST_SIGNAL_SEED"


@dataclass
class Summary:
    stored: int = 0
    duplicates: int = 0
    failures: int = 0
    total: int = 0
    seconds: float = 0.0
    restarts: int = 0

    @property
    def rate(self) -> float:
        return self.stored / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        return (
            f"stored {self.stored} new pairs ({self.total} in corpus), "
            f"skipped {self.duplicates} duplicates, {self.failures} failures, "
            f"{self.seconds:.1f} s, {self.rate:.0f} pairs/s"
        )


@dataclass(frozen=True)
class GenerationConfig:
    """What a generation worker needs: the options JSON and what to lower besides StableHLO."""

    options: str
    hlo: bool = False
    fast: bool = True
    platforms: tuple[str, ...] = ()
    artifacts: bool = False


@dataclass
class GenerationResult:
    """One seed's result: a corpus ``row``, or the stage and one-line error of a failure."""

    row: dict[str, Any] | None = None
    failure: str = ""
    error: str = ""
    source: str | None = None


def make_generation_task(config: GenerationConfig) -> Callable[[int], GenerationResult]:
    """Worker-side task: seed -> ``GenerationResult``. Imports JAX once per worker."""
    from fuzzjax.generation.generator import GenerationError, generate
    from fuzzjax.lowering.lower import (
        LoweringError,
        cache_clearer,
        load_function,
        lower_program,
        pair_row,
        specs_of,
        x64_scope,
    )
    from fuzzjax.lowering.platforms import lower_for_platforms
    from fuzzjax.rules.table import category_of
    from fuzzjax.syntax import grammar_sha

    options = GenOptions.from_json(config.options)
    tick = cache_clearer()
    hook_seed, _, hook_signal = os.environ.get(TEST_SIGNAL_ENV, "").partition(":")
    if multiprocessing.parent_process() is None:  # in-process: never signal the caller
        hook_seed = ""

    def task(seed: int) -> GenerationResult:
        if hook_seed == str(seed):
            os.kill(os.getpid(), getattr(signal, hook_signal))
        tick()
        try:
            program = generate(seed, options)
        except GenerationError as exc:
            return GenerationResult(failure="generate", error=str(exc).splitlines()[0])
        try:
            pair = lower_program(program, fast=config.fast, hlo=config.hlo)
            per_platform: list[dict[str, Any]] = []
            if config.platforms:
                fn, specs = load_function(program.source), specs_of(program.args)
                with x64_scope(options.x64):
                    irs = lower_for_platforms(
                        fn, specs, config.platforms, artifacts=config.artifacts
                    )
                per_platform = [ir.to_row() for ir in irs]
        except LoweringError as exc:
            return GenerationResult(failure=exc.label, error=exc.message, source=program.source)
        row = pair_row(
            pair,
            seed=seed,
            options=config.options,
            category=category_of(program.aliases),
            operation=program.top_alias,
            grammar_sha=grammar_sha(),
            platform_ir=per_platform,
        )
        return GenerationResult(row=row)

    return task


def _in_process(
    config: GenerationConfig, seeds: Iterator[int]
) -> Iterator[Outcome[GenerationResult]]:
    task = make_generation_task(config)
    for seed in seeds:
        try:
            yield Outcome(seed, OutcomeKind.OK, task(seed))
        except Exception as exc:  # noqa: BLE001 - like a pool worker: one failed seed
            yield Outcome(seed, OutcomeKind.ERROR, error=one_line(exc))


def build_corpus(
    db: str | Path,
    *,
    count: int,
    options: GenOptions,
    base_seed: int = 0,
    workers: int = 1,
    hlo: bool = False,
    fast: bool = True,
    progress: bool = False,
    platforms: Sequence[str] = (),
    artifacts: bool = False,
    timeout: float | None = DEFAULT_TIMEOUT,
    mix_options: bool = False,
) -> Summary:
    """Grow the corpus at ``db`` until it holds ``count`` distinct pairs (resumable).

    ``platforms`` (names from ``fuzzjax.lowering.platforms.PLATFORMS`` in any order, ValueError for
    others) also stores each new pair's ``jax.export`` StableHLO per platform in
    ``platform_ir``; ``artifacts`` adds the serialized ``Exported`` bytes (for ``cpu`` when no
    platform is named). Neither is part of the seed options: a resumed run with other
    platforms does not revisit stored pairs. ``timeout`` (seconds per seed in a worker) does
    not apply in-process (``workers=0``). ``mix_options`` allows a corpus that already holds
    programs of other generation options (``CorpusError`` otherwise).
    """
    chosen = parse_platforms(",".join(platforms)) if platforms else ()
    if artifacts and not chosen:
        chosen = ("cpu",)
    if not 0 <= base_seed <= MAX_SEED:
        raise InvalidArgument("base_seed", base_seed, f"must be in 0..{MAX_SEED}")
    opts = options.to_json()
    if not mix_options and Path(db).exists():  # refused read-only, before anything is written
        with Corpus(db, create=False) as existing:
            check_options(existing, opts)
    with Corpus(db) as corpus:
        if not mix_options:
            check_options(corpus, opts)
        summary = Summary(total=corpus.count())
        if summary.total < count:
            config = GenerationConfig(opts, hlo, fast, chosen, artifacts)
            run = _Run(count, opts, base_seed, workers, progress, timeout)
            run.build(corpus, summary, config)
    if summary.total < count:
        raise InvalidArgument(
            "base_seed",
            base_seed,
            f"leaves too few seeds below 2**63 to reach {count} pairs "
            f"(stored {summary.stored}, {summary.total} in corpus)",
        )
    return summary


@dataclass(frozen=True)
class _Run:
    """The settings of one ``build_corpus`` run."""

    count: int
    opts: str
    base_seed: int
    workers: int
    progress: bool
    timeout: float | None

    def build(self, corpus: Corpus, summary: Summary, config: GenerationConfig) -> None:
        """Generate seeds into ``corpus`` until it holds ``count`` pairs or seeds run out."""
        count, opts, workers = self.count, self.opts, self.workers
        done = corpus.processed_seeds(opts, self.base_seed)
        seeds = (s for s in range(self.base_seed, MAX_SEED + 1) if s not in done)
        bar = _progress_bar(count, summary.total, self.progress)
        start = time.perf_counter()
        pool = (
            Pool(make_generation_task, config, workers=workers, timeout=self.timeout, retries=1)
            if workers
            else None
        )
        outcomes = pool.imap(seeds) if pool else _in_process(config, seeds)
        repro = f"python -m fuzzjax replay {{seed}} --db {shlex.quote(str(corpus.path))} --ir"
        try:
            batch: list[Outcome[GenerationResult]] = []
            last_commit = time.monotonic()
            for outcome in outcomes:
                batch.append(outcome)
                room = count - summary.total
                if (
                    len(batch) >= min(BATCH_SEEDS, room)
                    or time.monotonic() - last_commit > BATCH_SECONDS
                ):
                    _commit(corpus, batch, opts, summary, bar, repro=repro)
                    batch, last_commit = [], time.monotonic()
                    if summary.total >= count:
                        break
            if batch:
                _commit(corpus, batch, opts, summary, bar, repro=repro)
        finally:
            summary.seconds = time.perf_counter() - start
            if pool:
                summary.restarts = pool.restarts
                pool.close()
            if bar is not None:
                bar.close()


def check_options(corpus: Corpus, opts: str) -> None:
    """``CorpusError`` when ``corpus`` holds seeds generated with options other than ``opts``."""
    others = [o for o in corpus.distinct_options() if o != opts]
    if not others:
        return
    held = "; ".join(option_flags(o) for o in others[:3]) + ("; ..." if len(others) > 3 else "")
    raise CorpusError(
        f"{corpus.path} holds programs generated with other options ({held}); rerun with "
        f"those options to resume it, or pass --mix-options to add programs made with "
        f"{option_flags(opts)} as well"
    )


def option_flags(opts: str) -> str:
    """Generation options (JSON) as the command-line flags that give them."""
    try:
        options = GenOptions.from_json(opts)
    except (ValueError, TypeError):
        return f"unreadable options {opts[:80]!r}"
    flags = [
        f"--max-depth {options.max_depth}",
        f"--min-depth {options.min_depth}",
        f"--max-rank {options.max_rank}",
    ]
    if options.x64:
        flags.append("--x64")
    if options.profile != "breadth":
        flags.append(f"--profile {options.profile}")
    if options.category:
        flags.append(f"--category {options.category}")
    if options.balanced:
        flags.append("--balanced category")
    if options.depth_weights:
        flags.append("--depth-dist " + ",".join(map(str, options.depth_weights)))
    default = GenOptions()
    for name in ("max_elements", "max_params", "let_percent", "kernel_percent"):
        if getattr(options, name) != getattr(default, name):
            flags.append(f"{name}={getattr(options, name)} (no flag: Python API only)")
    return " ".join(flags)


def _commit(
    corpus: Corpus,
    batch: list[Outcome[GenerationResult]],
    opts: str,
    summary: Summary,
    bar: Any,
    *,
    repro: str = "python -m fuzzjax replay {seed} --ir",
) -> None:
    with corpus.transaction():
        for outcome in batch:
            result = outcome.result
            row = result.row if result is not None else None
            if result is None or row is None:
                if result is None:  # the worker crashed or timed out on this seed (twice)
                    error = f"{outcome.error}; reproduce: {repro.format(seed=outcome.seed)}"
                    result = GenerationResult(failure=outcome.kind.value, error=error)
                corpus.record_failure(
                    outcome.seed, opts, result.failure, result.error, result.source
                )
                corpus.record_seed(outcome.seed, opts, "failed", None)
                summary.failures += 1
            elif corpus.add_pair(row):
                corpus.add_platform_irs(row["ir_hash"], row.get("platform_ir") or [])
                corpus.record_seed(outcome.seed, opts, "stored", row["ir_hash"], row["depth"])
                summary.stored += 1
                summary.total += 1
                if bar is not None:
                    bar.update(1)
            else:
                corpus.record_seed(outcome.seed, opts, "duplicate", row["ir_hash"], row["depth"])
                summary.duplicates += 1
    if bar is not None:
        bar.set_postfix(dup=summary.duplicates, fail=summary.failures, refresh=False)


def _progress_bar(total: int, initial: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="pair", dynamic_ncols=True, smoothing=0.1)
