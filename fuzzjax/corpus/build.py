"""Corpus building: seeds -> generate -> lower -> canonical hash -> SQLite, resumable.

Seeds are processed in order ``base_seed, base_seed + 1, ...`` (skipping seeds already
processed with the same options) and results are written in seed order, so a corpus depends
only on (base seed, count, options, versions), not on the number of workers or on timing.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fuzzjax.corpus.store import Corpus
from fuzzjax.lowering.platforms import parse_platforms
from fuzzjax.program import GenOptions
from fuzzjax.workers import Outcome, OutcomeKind, Pool

#: Commit after this many processed seeds or this many seconds, whichever comes first.
BATCH_SEEDS = 64
BATCH_SECONDS = 1.0


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

    def task(seed: int) -> GenerationResult:
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
        yield Outcome(seed, OutcomeKind.OK, task(seed))


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
) -> Summary:
    """Grow the corpus at ``db`` until it holds ``count`` distinct pairs (resumable).

    ``platforms`` (names from ``fuzzjax.lowering.platforms.PLATFORMS`` in any order, ValueError for
    others) also stores each new pair's ``jax.export`` StableHLO per platform in
    ``platform_ir``; ``artifacts`` adds the serialized ``Exported`` bytes (for ``cpu`` when no
    platform is named). Neither is part of the seed options: a resumed run with other
    platforms does not revisit stored pairs.
    """
    chosen = parse_platforms(",".join(platforms)) if platforms else ()
    if artifacts and not chosen:
        chosen = ("cpu",)
    corpus = Corpus(db)
    summary = Summary(total=corpus.count())
    if summary.total >= count:
        corpus.close()
        return summary
    opts = options.to_json()
    done = corpus.processed_seeds(opts, base_seed)
    seeds = (s for s in itertools.count(base_seed) if s not in done)
    config = GenerationConfig(opts, hlo, fast, chosen, artifacts)
    bar = _progress_bar(count, summary.total, progress)
    start = time.perf_counter()
    pool = Pool(make_generation_task, config, workers=workers) if workers else None
    outcomes = pool.imap(seeds) if pool else _in_process(config, seeds)
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
                _commit(corpus, batch, opts, summary, bar)
                batch, last_commit = [], time.monotonic()
                if summary.total >= count:
                    break
        if batch:
            _commit(corpus, batch, opts, summary, bar)
    finally:
        summary.seconds = time.perf_counter() - start
        if pool:
            summary.restarts = pool.restarts
            pool.close()
        if bar is not None:
            bar.close()
        corpus.close()
    return summary


def _commit(
    corpus: Corpus,
    batch: list[Outcome[GenerationResult]],
    opts: str,
    summary: Summary,
    bar: Any,
) -> None:
    with corpus.transaction():
        for outcome in batch:
            result = outcome.result
            row = result.row if result is not None else None
            if result is None or row is None:
                if result is None:  # the worker crashed or timed out on this seed
                    result = GenerationResult(failure=outcome.kind.value, error=outcome.error)
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
