"""A crash-isolating process pool that returns results in task order.

Workers are started with ``spawn`` (``fork`` after XLA has started threads can deadlock). Each
worker has its own task pipe, so the supervisor always knows which seeds a worker holds: if a
worker dies (segfault, abort, out of memory) or exceeds the per-task time limit, the seed it was
running is reported as ``crash`` or ``timeout``, its other seeds are handed to a fresh worker,
and the run goes on.

Each worker also has its own result pipe, written synchronously from its main thread. A shared
``multiprocessing.Queue`` is not safe here: its writers share one lock taken by a background
feeder thread, and a worker killed while holding it stalls every other worker for good.

A worker that stops making progress (stopped with SIGSTOP, or stuck between tasks) is
replaced like a hung one once it has held work for the time limit without news; its seeds are
handed out again. With ``retries=1`` a seed whose worker died or hung is run once more in the
replacement worker before it is reported, so a worker killed from outside does not change
the results; a seed that fails every attempt is reported with the number of attempts. A task
that raises is reported as ``error`` with the exception's first line (the worker lives on).

Tasks are plain integers (seeds). The work itself is ``make_task(config)(seed) -> result``:
``make_task`` is a module-level function, ``config`` and the results are picklable records
(dataclasses). Both are unpickled inside the worker's own error handling, so a worker that
cannot start reports why (``WorkerError`` in the supervisor) instead of printing a traceback.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import pickle
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum
from multiprocessing.connection import Connection, wait
from typing import Any, Generic, TypeVar

from fuzzjax.errors import WorkerError, one_line

CHUNK = 8
#: Outstanding chunks per worker: enough to keep it busy while results travel back.
PREFETCH = 2
#: Seconds a worker may take to start (import JAX, build parsers) before it counts as hung.
START_SECONDS = 120.0
#: Consecutive workers that fail to start before the pool gives up.
MAX_FAILED_STARTS = 3


C = TypeVar("C")
R = TypeVar("R")


class OutcomeKind(str, Enum):
    """How a task ended."""

    OK = "ok"
    CRASH = "crash"  # the worker died (segfault, abort, out of memory, killed)
    TIMEOUT = "timeout"  # the task ran past the pool's time limit; its worker was killed
    ERROR = "error"  # the task raised (``error`` holds the first line); the worker lives on


@dataclass
class Outcome(Generic[R]):
    """The end of one task: the task's ``result`` when ``kind`` is OK, else what happened."""

    seed: int
    kind: OutcomeKind
    result: R | None = None
    error: str = ""
    exitcode: int | None = None
    attempts: int = 1
    #: A task that crashed or timed out: seconds it had run when its worker died or was killed.
    seconds: float = 0.0


@dataclass
class _TaskError:
    """What a worker sends for a task that raised."""

    error: str


#: Task number of the message a worker sends when it cannot start.
_START_FAILED = -2


def _worker_main(
    job: bytes,
    tasks: Connection,
    results: Connection,
    memory_mb: int | None,
    state: Any,
) -> None:
    try:
        if memory_mb:
            import resource

            limit = memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
        factory, config = pickle.loads(job)
        task = factory(config)
    except BaseException as exc:  # noqa: BLE001 - reported to the supervisor, not printed
        with contextlib.suppress(OSError):
            results.send((_START_FAILED, one_line(exc)))
        os._exit(1)
    parent = os.getppid()
    state.beat.value = time.monotonic()
    state.ready.value = 1
    while True:
        if not tasks.poll(1.0):
            if os.getppid() != parent:  # the supervisor died (e.g. kill -9): stop too
                return
            continue
        try:
            chunk = tasks.recv()
        except EOFError:  # the supervisor closed our pipe
            return
        if chunk is None:
            return
        for seed in chunk:
            # Shared memory, not the pipe: it survives a crash of this process.
            state.started.value = state.beat.value = time.monotonic()
            state.current.value = seed
            try:
                payload = task(seed)
            except Exception as exc:  # noqa: BLE001 - one failed task, not a dead worker
                payload = _TaskError(one_line(exc))
            state.current.value = -1
            state.beat.value = time.monotonic()
            try:
                results.send((seed, payload))
            except OSError:  # the supervisor is gone (BrokenPipeError): nothing to report to
                return


class _SharedState:
    """Per-worker values in shared memory: readable even after the worker crashed."""

    def __init__(self, ctx: Any) -> None:
        self.ready = ctx.Value("b", 0, lock=False)
        self.current = ctx.Value("q", -1, lock=False)
        self.started = ctx.Value("d", 0.0, lock=False)
        self.beat = ctx.Value("d", 0.0, lock=False)  # last sign of life (start, task start/end)


class _Worker:
    def __init__(self, ctx: Any, pool: Pool[Any, Any]) -> None:
        task_reader, self.tasks = ctx.Pipe(duplex=False)
        self.results, result_writer = ctx.Pipe(duplex=False)
        self.state = _SharedState(ctx)
        self.process = ctx.Process(
            target=_worker_main,
            args=(
                pool.job,
                task_reader,
                result_writer,
                pool.memory_mb,
                self.state,
            ),
            daemon=True,
        )
        self.process.start()
        # Only the child keeps these ends: a dead worker then reads as EOF, never as a hang.
        task_reader.close()
        result_writer.close()
        self.assigned: deque[int] = deque()  # seeds sent and not yet done, in order
        self.spawned = self.heard = time.monotonic()
        self.start_error = ""

    def stalled(self, now: float, timeout: float | None) -> bool:
        """Holding work but silent past the limit (e.g. SIGSTOP), or not started in time."""
        if not self.state.ready.value:
            limit = START_SECONDS if timeout is None else max(START_SECONDS, timeout)
            return now - self.spawned > limit
        return (
            timeout is not None
            and bool(self.assigned)
            and self.current is None
            and now - max(self.state.beat.value, self.heard) > timeout
        )

    @property
    def current(self) -> int | None:
        value = int(self.state.current.value)
        return None if value < 0 else value

    def send(self, message: list[int] | None) -> None:
        """Hand work to the worker; a dead worker is noticed by the health check instead."""
        with contextlib.suppress(OSError):
            self.tasks.send(message)

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
        self.tasks.close()
        self.results.close()


class Pool(Generic[C, R]):
    """Run ``factory(config)`` over seeds in ``workers`` spawn processes."""

    def __init__(
        self,
        factory: Callable[[C], Callable[[int], R]],
        config: C,
        *,
        workers: int = 1,
        timeout: float | None = None,
        memory_mb: int | None = None,
        retries: int = 0,
    ) -> None:
        self.factory, self.config = factory, config
        self.job = pickle.dumps((factory, config))
        self.timeout, self.memory_mb, self.retries = timeout, memory_mb, retries
        self.ctx = mp.get_context("spawn")
        self.workers: list[_Worker] = [self._spawn() for _ in range(max(1, workers))]
        self.restarts = 0
        self.failed_starts = 0
        self.attempts: dict[int, int] = {}  # seeds that failed an attempt: attempts so far

    def _spawn(self) -> _Worker:
        return _Worker(self.ctx, self)

    def close(self) -> None:
        for worker in self.workers:
            if worker.process.is_alive():
                worker.send(None)
        deadline = time.monotonic() + 2
        for worker in self.workers:
            worker.process.join(timeout=max(0.0, deadline - time.monotonic()))
            worker.kill()

    def __enter__(self) -> Pool[C, R]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def imap(self, seeds: Iterator[int]) -> Iterator[Outcome[R]]:
        """Outcomes in the order of ``seeds``; ``seeds`` is consumed lazily."""
        pending: deque[int] = deque()  # seeds handed out, in order, awaiting delivery
        finished: dict[int, Outcome[R]] = {}
        retry: deque[int] = deque()
        exhausted = False

        def next_seeds(n: int) -> list[int]:
            nonlocal exhausted
            out: list[int] = []
            while retry and len(out) < n:
                out.append(retry.popleft())
            while not exhausted and len(out) < n:
                try:
                    seed = next(seeds)
                except StopIteration:
                    exhausted = True
                    break
                pending.append(seed)
                out.append(seed)
            return out

        while True:
            for worker in self.workers:
                while len(worker.assigned) < CHUNK * PREFETCH:
                    chunk = next_seeds(CHUNK)
                    if not chunk:
                        break
                    worker.assigned.extend(chunk)
                    worker.send(chunk)
            while pending and pending[0] in finished:
                yield finished.pop(pending.popleft())
            if not pending:
                return
            self._collect(finished, retry)

    def _collect(self, finished: dict[int, Outcome[R]], retry: deque[int]) -> None:
        by_pipe = {worker.results: worker for worker in self.workers}
        for pipe in wait(list(by_pipe), timeout=0.2):
            self._receive(by_pipe[pipe], finished)  # type: ignore[index,unused-ignore]
        self._check_health(finished, retry)

    def _receive(self, worker: _Worker, finished: dict[int, Outcome[R]]) -> None:
        """Take every result the worker has sent; at EOF wait briefly for it to exit."""
        try:
            while worker.results.poll():
                seed, result = worker.results.recv()
                worker.heard = time.monotonic()
                if seed == _START_FAILED:
                    worker.start_error = str(result)
                elif seed in worker.assigned:
                    worker.assigned.remove(seed)
                    attempts = self.attempts.pop(seed, 0) + 1
                    if isinstance(result, _TaskError):
                        finished[seed] = Outcome(
                            seed, OutcomeKind.ERROR, error=result.error, attempts=attempts
                        )
                    else:
                        finished[seed] = Outcome(seed, OutcomeKind.OK, result, attempts=attempts)
        except (EOFError, OSError):  # died, possibly mid-message: the health check handles it
            worker.process.join(timeout=1.0)

    def _check_health(self, finished: dict[int, Outcome[R]], retry: deque[int]) -> None:
        now = time.monotonic()
        for index, worker in enumerate(self.workers):
            if worker.state.ready.value:
                self.failed_starts = 0
            dead = not worker.process.is_alive()
            culprit = worker.current
            late = (
                self.timeout is not None
                and culprit is not None
                and now - worker.state.started.value > self.timeout
            )
            stalled = not dead and not late and worker.stalled(now, self.timeout)
            if not dead and not late and not stalled:
                continue
            self._receive(worker, finished)  # results sent before the end
            worker.kill()
            if not worker.state.ready.value:
                self._failed_start(worker)
            self.workers[index] = fresh = self._spawn()
            self.restarts += 1
            for seed in worker.assigned:
                if seed != culprit:
                    retry.append(seed)
                    continue
                attempts = self.attempts.get(seed, 0) + 1
                if attempts <= self.retries:  # once more, first thing in the fresh worker
                    self.attempts[seed] = attempts
                    fresh.assigned.append(seed)
                    fresh.send([seed])
                    continue
                self.attempts.pop(seed, None)
                kind = OutcomeKind.TIMEOUT if late else OutcomeKind.CRASH
                code = worker.process.exitcode
                detail = f"worker {'timed out' if late else 'died'} (exit code {code})"
                if attempts > 1:
                    detail += f" on each of {attempts} attempts"
                ran = max(0.0, now - worker.state.started.value)
                finished[seed] = Outcome(
                    seed, kind, error=detail, exitcode=code, attempts=attempts, seconds=ran
                )

    def _failed_start(self, worker: _Worker) -> None:
        self.failed_starts += 1
        if self.failed_starts < MAX_FAILED_STARTS:
            return
        name = getattr(self.factory, "__qualname__", repr(self.factory))
        why = worker.start_error or f"exit code {worker.process.exitcode}"
        if self.memory_mb:
            why += f"; the memory limit is {self.memory_mb} MB"
        raise WorkerError(f"worker processes fail to start ({name}): {why}")


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)
