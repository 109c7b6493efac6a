"""Corpus building on a Dask cluster: ``python -m fuzzjax --count N --scheduler tcp://HOST:PORT``.

The seeds not yet processed in the target corpus are cut into shards of ``shard_size``
consecutive seeds (smaller near the end, sized to the pairs still missing). Each shard is one
Dask task: a worker generates and lowers its seeds in process, writes them to a shard corpus in
a local temporary file and returns the file's bytes (workers need no shared filesystem). The
client saves each shard as ``<db dir>/shards/shard-<first>-<end>.sqlite`` and merges shards into
the target strictly in seed order, cutting the last one at the seed that stores the
``count``-th pair: the result is exactly the corpus ``build_corpus`` makes in one process (same
seeds, outcomes and pairs), whatever the number of workers. The target records every merged
seed, so a rerun resumes; shards that finished but were not merged when a run stopped are
computed again.

Dask is an optional extra: ``pip install 'fuzzjax[distributed]'``.
"""

from __future__ import annotations

import functools
import math
import os
import socket
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fuzzjax.corpus.build import (
    BATCH_SEEDS,
    GenerationConfig,
    GenerationResult,
    Summary,
    _commit,
    check_options,
    make_generation_task,
)
from fuzzjax.corpus.lock import WriterLock
from fuzzjax.corpus.merge import merge_source, open_source
from fuzzjax.corpus.store import Corpus
from fuzzjax.errors import DistributedError, one_line
from fuzzjax.program import GenOptions
from fuzzjax.workers import Outcome, OutcomeKind

DEFAULT_SHARD_SIZE = 500
INSTALL_HINT = "pip install 'fuzzjax[distributed]'"
#: Shards submitted (or finished and waiting to be merged) per worker process.
SHARDS_PER_WORKER = 2
#: Extra seeds in a tail shard, for the duplicates it will meet.
TAIL_MARGIN = 1.1
CONNECT_TIMEOUT_S = 30
#: The port ``dask scheduler`` listens on by default.
DEFAULT_SCHEDULER_PORT = 8786

#: One shard at a time per worker process: generation is GIL-bound Python (threads add no
#: speed) and the task's periodic ``jax.clear_caches()`` must not run under another lowering.
_SHARD_LOCK = threading.Lock()


@dataclass(frozen=True)
class Shard:
    """Unprocessed seeds in increasing order, usually consecutive; ``index`` is the merge order."""

    index: int
    seeds: tuple[int, ...]

    @property
    def name(self) -> str:
        return f"shard-{self.seeds[0]}-{self.seeds[-1] + 1}.sqlite"


class SeedPlan:
    """Hands out the seeds from ``base_seed`` on that are not ``done``, as consecutive shards."""

    def __init__(self, done: set[int], base_seed: int) -> None:
        self.done, self.next_seed, self.index = done, base_seed, 0

    def take(self, size: int) -> Shard:
        seeds: list[int] = []
        while len(seeds) < size:
            if self.next_seed not in self.done:
                seeds.append(self.next_seed)
            self.next_seed += 1
        self.index += 1
        return Shard(self.index - 1, tuple(seeds))


# ---- worker side ----


@functools.lru_cache(maxsize=4)
def _task(options: str, hlo: bool, fast: bool) -> Callable[[int], GenerationResult]:
    return make_generation_task(GenerationConfig(options, hlo, fast))


def _outcome(task: Callable[[int], GenerationResult], seed: int) -> Outcome[GenerationResult]:
    try:
        return Outcome(seed, OutcomeKind.OK, task(seed))
    except Exception as exc:  # noqa: BLE001 - like a crashed pool worker: one failed seed
        return Outcome(seed, OutcomeKind.CRASH, error=one_line(exc))


def run_shard(seeds: list[int], options: str, hlo: bool = False, fast: bool = True) -> bytes:
    """Generate ``seeds`` into a fresh shard corpus; return the file's bytes (runs on a worker)."""
    with _SHARD_LOCK, tempfile.TemporaryDirectory(prefix="fuzzjax-shard-") as tmp:
        path = Path(tmp) / "shard.sqlite"
        task = _task(options, hlo, fast)
        with Corpus(path) as corpus:
            for i in range(0, len(seeds), BATCH_SEEDS):
                batch = [_outcome(task, s) for s in seeds[i : i + BATCH_SEEDS]]
                _commit(corpus, batch, options, Summary(), None)
            corpus.db.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        return path.read_bytes()


# ---- client side ----


def connect(scheduler: Any) -> tuple[Any, bool]:
    """A Dask ``Client`` for an address, a ``Client`` or a cluster; True if we made it."""
    try:
        from dask.distributed import Client
    except ImportError:
        raise DistributedError(f"distributed runs need dask: {INSTALL_HINT}") from None
    if isinstance(scheduler, Client):
        return scheduler, False
    if isinstance(scheduler, str):
        _check_address(scheduler)
    try:
        client = Client(scheduler, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise DistributedError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    try:
        client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
    except TimeoutError:
        client.close()
        raise DistributedError(
            f"no Dask worker joined {scheduler} within {CONNECT_TIMEOUT_S} s"
        ) from None
    return client, True


def _check_address(address: str) -> None:
    """Fail fast on a bad address or closed port: a failed ``Client`` hangs on cleanup."""
    from distributed.comm.addressing import parse_address, parse_host_port
    from distributed.comm.registry import backends

    try:
        scheme, location = parse_address(address)
        if scheme not in backends:
            raise ValueError(f"unknown scheme {scheme!r} (known: {', '.join(backends)})")
        if scheme != "tcp":
            return
        host, port = parse_host_port(location, DEFAULT_SCHEDULER_PORT)
    except ValueError as exc:
        raise DistributedError(f"bad scheduler address {address!r}: {exc}") from None
    try:
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise DistributedError(
            f"cannot reach the Dask scheduler at {address}: {exc.strerror or exc}"
        ) from None


def run_distributed(
    scheduler: Any,
    *,
    db: str | Path,
    count: int,
    options: GenOptions,
    base_seed: int = 0,
    shard_size: int = DEFAULT_SHARD_SIZE,
    hlo: bool = False,
    fast: bool = True,
    progress: bool = False,
    mix_options: bool = False,
) -> Summary:
    """Grow the corpus at ``db`` to ``count`` pairs on the Dask cluster at ``scheduler``.

    ``scheduler`` is an address (``tcp://HOST:PORT``), a ``Client`` or a cluster object such
    as ``LocalCluster``. Resumable, and equal to ``build_corpus`` with the same arguments.
    The corpus's writer lock is held for the whole run.
    """
    db = Path(db)
    opts = options.to_json()
    with Corpus(db) as corpus:
        if not mix_options:
            check_options(corpus, opts)
        summary = Summary(total=corpus.count())
        if summary.total >= count:
            return summary
        done = corpus.processed_seeds(opts, base_seed)
        lock = WriterLock(db)  # re-entrant: outlives this handle, shared by the merges
    try:
        client, owned = connect(scheduler)
        try:
            run = _Run(client, db, count, opts, hlo, fast, progress, summary)
            try:
                run.drive(SeedPlan(done, base_seed), shard_size)
            finally:
                run.cancel()
                summary.seconds = time.perf_counter() - run.started
        finally:
            if owned:
                client.close()
    finally:
        lock.release()
    return summary


class _Run:
    """Keeps a window of shards in flight and merges finished ones in seed order."""

    def __init__(
        self,
        client: Any,
        db: Path,
        count: int,
        opts: str,
        hlo: bool,
        fast: bool,
        progress: bool,
        summary: Summary,
    ) -> None:
        from dask.distributed import as_completed

        self.client, self.db, self.count, self.opts = client, db, count, opts
        self.hlo, self.fast, self.progress, self.summary = hlo, fast, progress, summary
        self.shard_dir = db.parent / "shards"
        self.shard_dir.mkdir(parents=True, exist_ok=True)
        self.window = SHARDS_PER_WORKER * max(1, len(client.nthreads()))
        self.completed = as_completed(loop=client.loop)
        self.running: dict[Any, Shard] = {}  # future -> shard
        self.order: deque[Shard] = deque()  # submitted, not yet merged, in seed order
        self.ready: dict[int, Path] = {}  # shard index -> saved shard file
        self.merged_seeds = 0
        self.started = time.perf_counter()

    def drive(self, plan: SeedPlan, shard_size: int) -> None:
        while self.summary.total < self.count:
            self._fill(plan, shard_size)
            future = next(self.completed)
            shard = self.running.pop(future)
            try:
                data = future.result()
            except Exception as exc:  # noqa: BLE001 - any task error ends the run, one line
                first = (str(exc).strip().splitlines() or [""])[0]
                raise DistributedError(
                    f"{shard.name} failed on the cluster: {type(exc).__name__}: {first} "
                    "(rerun the same command to resume)"
                ) from None
            self.ready[shard.index] = self._save(shard, data)
            self._merge_ready()

    def _fill(self, plan: SeedPlan, shard_size: int) -> None:
        """Submit shards while the window has room and their seeds may still be needed.

        Near the end, a shard holds only about as many seeds as the missing pairs need, at
        the pairs-per-seed rate merged so far (plus ``TAIL_MARGIN``).
        """
        need = self.count - self.summary.total
        rate = self.summary.stored / self.merged_seeds if self.merged_seeds else 1.0
        while len(self.order) < self.window:
            expected = sum(len(s.seeds) for s in self.order) * rate
            if self.order and expected >= need:
                return
            missing = math.ceil((need - expected) / max(rate, 0.01) * TAIL_MARGIN)
            shard = plan.take(max(1, min(shard_size, missing)))
            future = self.client.submit(
                run_shard,
                list(shard.seeds),
                self.opts,
                self.hlo,
                self.fast,
                pure=False,
                priority=-shard.index,
            )
            self.completed.add(future)
            self.running[future] = shard
            self.order.append(shard)

    def _save(self, shard: Shard, data: bytes) -> Path:
        path = self.shard_dir / shard.name
        for side in ("-wal", "-shm", "-journal"):  # left by an earlier reader of this name
            Path(f"{path}{side}").unlink(missing_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        return path

    def _merge_ready(self) -> None:
        with Corpus(self.db) as corpus:
            while self.order and self.order[0].index in self.ready:
                shard = self.order.popleft()
                with closing(open_source(self.ready.pop(shard.index))) as src:
                    merged = merge_source(corpus, src, limit=self.count)
                self.summary.stored += merged.added
                self.summary.duplicates += merged.seeds["duplicate"]
                self.summary.failures += merged.seeds["failed"]
                self.summary.total = merged.total
                self.merged_seeds += sum(merged.seeds.values())
                self._report(shard, merged.added, merged.seeds)
                if self.summary.total >= self.count:
                    return

    def _report(self, shard: Shard, added: int, seeds: Counter[str]) -> None:
        if not self.progress:
            return
        elapsed = time.perf_counter() - self.started
        print(
            f"{shard.name}: +{added} pairs, {seeds['duplicate']} duplicates, "
            f"{seeds['failed']} failures; {self.summary.total}/{self.count} pairs, "
            f"{elapsed:.1f} s",
            file=sys.stderr,
            flush=True,
        )

    def cancel(self) -> None:
        """Drop shards still running (their seeds are not recorded: a rerun redoes them)."""
        if self.running:
            self.client.cancel(list(self.running))
            self.running.clear()
