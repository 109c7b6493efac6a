"""``fuzzjax fuzz``: generate programs, run the differential oracles in isolated workers, bucket.

Each seed is a program (``fuzzjax.generate``) plus inputs from ``derive_input_seed(seed)``.
Workers (``fuzzjax.workers.Pool``: spawn, per-program time and memory limits) run
``fuzzjax.fuzzing.diagnose.diagnose`` and leave a breadcrumb file naming the stage they are in,
so a worker that segfaults or hangs is recorded with its stage and symptom and the run goes on.
Every new bucket is shrunk (``fuzzjax.fuzzing.shrink``) and written to its own folder under
``--out`` (``fuzzjax.fuzzing.repro``); later hits only raise its hit count. Benign matches are
counted per ``fuzzjax.fuzzing.benign`` rule and written to ``benign.json``.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import pickle
import queue
import shlex
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fuzzjax.fuzzing.diagnose import Case, Signature, diagnose
from fuzzjax.fuzzing.inputs import derive_input_seed, make_inputs
from fuzzjax.fuzzing.oracles import Stage, Symptom
from fuzzjax.fuzzing.repro import BucketStore, write_run_summary
from fuzzjax.program import GenOptions

DEFAULT_OUT = "corpus/failures"
#: Test-only hooks: make the worker segfault / hang on one seed (tests/test_fuzz_isolation.py).
TEST_CRASH_ENV = "FUZZJAX_TEST_CRASH_SEED"
TEST_HANG_ENV = "FUZZJAX_TEST_HANG_SEED"
CLEAR_CACHES_EVERY = 200
#: Task numbers from here on name pickled shrinking candidates, not seeds (the pool takes
#: non-negative integers only: -1 is its "idle" marker).
CANDIDATE_BASE = 1 << 60
_SIGNALS = {-11: Symptom.SEGFAULT, -6: Symptom.ABORT, -9: Symptom.KILLED}


def _test_hooks(seed: int, stage: Stage) -> None:
    """Test-only fault injection, inert unless the FUZZJAX_TEST_* variables name this seed."""
    if stage is not Stage.JIT:
        return
    if os.environ.get(TEST_CRASH_ENV) == str(seed):
        import ctypes

        ctypes.string_at(0)  # segfault
    if os.environ.get(TEST_HANG_ENV) == str(seed):
        time.sleep(3600)


def seed_case(seed: int, options: GenOptions) -> tuple[Case, Any]:
    """The program of ``seed`` with its inputs (also rebuilt by the supervisor after a crash)."""
    from fuzzjax.generation.generator import generate

    program = generate(seed, options)
    inputs = make_inputs(program.args, derive_input_seed(seed))
    case = Case(program.source, program.args, inputs, program.result_dtype, program.result_shape)
    return case, program


def make_fuzz_task(config: dict[str, Any]) -> Callable[[int], dict[str, Any]]:
    """Worker side: seed, or shrink candidate (``CANDIDATE_BASE + n``, pickled) -> payload."""
    import jax

    from fuzzjax.fuzzing.reference import positions_parser
    from fuzzjax.syntax import parser

    parser(), positions_parser()  # build both Lark parsers before the first timed task
    options = GenOptions.from_json(config["options"])
    crumbs = Path(config["crumbs"])
    candidates = Path(config.get("candidates") or crumbs)
    calls = itertools.count(1)

    def task(n: int) -> dict[str, Any]:
        if next(calls) % CLEAR_CACHES_EVERY == 0:
            jax.clear_caches()
        crumb = crumbs / str(n)
        crumb.write_text(Stage.GENERATE.value)
        try:
            if n >= CANDIDATE_BASE:
                case = pickle.loads((candidates / f"{n - CANDIDATE_BASE}.pkl").read_bytes())
            else:
                case = seed_case(n, options)[0]

            def tell(stage: Stage) -> None:
                crumb.write_text(stage.value)
                _test_hooks(n, stage)

            found = diagnose(case, on_stage=tell)
        except Exception as exc:  # noqa: BLE001 - generation failures are findings too
            return {"status": "fail", "error": f"{type(exc).__name__}: {exc}"[:300]}
        finally:
            crumb.unlink(missing_ok=True)
        return {
            "status": found.status,
            "signature": found.signature.to_json() if found.signature else None,
            "benign": found.benign,
            "detail": found.detail,
            "index": found.index,
            "culprit": found.culprit,
        }

    return task


def outcome_signature(outcome: Any, case: Case | None, crumbs: Path) -> Signature | None:
    """The signature of a pool outcome: the worker's own, or one for a crash or a hang."""
    crumb = crumbs / str(outcome.seed)
    stage_text = crumb.read_text().strip() if crumb.exists() else Stage.GENERATE.value
    crumb.unlink(missing_ok=True)
    if outcome.kind == "ok":
        sig = outcome.payload.get("signature")
        if sig is None and outcome.payload.get("error"):
            return Signature(Stage.GENERATE, Symptom.EXCEPTION, (), "")
        return Signature.from_json(sig) if sig else None
    symptom = Symptom.HANG
    if outcome.kind != "timeout":
        symptom = _SIGNALS.get(outcome.payload.get("exitcode") or 0, Symptom.CRASH)
    ops: tuple[str, ...] = ()
    dtype = ""
    if case is not None:
        from fuzzjax.syntax import aliases_used, parse

        ops, dtype = tuple(sorted(aliases_used(parse(case.source)))), case.result_dtype
    return Signature(Stage(stage_text or "generate"), symptom, ops, dtype)


@dataclass
class FuzzConfig:
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
            raise ValueError(
                "fuzz mode runs with x64 disabled only (its inputs and NumPy reference assume "
                "JAX's 32-bit defaults): use GenOptions(x64=False)"
            )

    def pool_config(self, crumbs: Path) -> dict[str, Any]:
        return {"options": self.options.to_json(), "crumbs": str(crumbs)}

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


class BackgroundShrinker(threading.Thread):
    """Shrinks new buckets one at a time while fuzzing goes on, then refreshes their folders.

    The fuzz loop must keep consuming its pool (a paused consumer would see stale start times
    and report false hangs), so shrinking runs here, with its own one-worker pool.
    """

    def __init__(self, config: FuzzConfig, store: BucketStore, echo: Callable[[str], None]):
        super().__init__(daemon=True, name="fuzzjax-shrink")
        self.config, self.store, self.echo = config, store, echo
        self.jobs: queue.Queue[tuple[Any, ...] | None] = queue.Queue()
        self.stop_at: float | None = None

    def run(self) -> None:
        from fuzzjax.fuzzing.shrink import CandidateRunner, shrink

        runner: CandidateRunner | None = None
        try:
            while (job := self.jobs.get()) is not None:
                sig, case, program, seed, culprit, extra = job
                if self.stop_at is not None and time.monotonic() > self.stop_at:
                    continue  # the run is over: keep the unshrunk folder
                c = self.config
                runner = runner or CandidateRunner(c.options, c.timeout, c.memory_mb)
                budget = c.shrink_seconds
                if self.stop_at is not None:
                    budget = min(budget, max(1.0, self.stop_at - time.monotonic()))
                seed_in = derive_input_seed(seed)
                try:
                    shrunk, stats = shrink(case, sig, runner, seconds=budget, culprit=culprit,
                                           program=program, input_seed=seed_in)  # fmt: skip
                except Exception as exc:  # noqa: BLE001 - a shrinker bug must not stop the run
                    shrunk, stats = case, {"status": f"shrinker error: {exc!r}"[:300]}
                self.store.add(sig, {**extra, "shrink": stats}, original=case, shrunk=shrunk,
                               command=c.command(seed, 1), timeout=c.timeout)  # fmt: skip
                self.echo(f"shrunk {sig.key()}: {stats['ops_before']} -> {stats['ops_after']} ops")
        finally:
            if runner is not None:
                runner.close()

    def finish(self, grace: float) -> None:
        self.stop_at = time.monotonic() + grace
        self.jobs.put(None)
        self.join(grace + self.config.shrink_seconds + 30)


def run_fuzz(config: FuzzConfig, *, echo: Callable[[str], None] = print) -> FuzzSummary:
    """Fuzz until ``count`` programs or ``seconds`` have passed; returns the summary."""
    from fuzzjax.workers import Pool

    store = BucketStore(config.out)
    crumbs = config.out / ".inflight"
    crumbs.mkdir(parents=True, exist_ok=True)
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
        "fuzzjax.fuzzing.campaign:make_fuzz_task", config.pool_config(crumbs),
        workers=config.workers, timeout=config.timeout, memory_mb=config.memory_mb,
    )  # fmt: skip
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
        summary.seconds = summary.seconds or time.monotonic() - start
        report = {
            "command": config.command(), "programs": summary.programs, "passed": summary.passed,
            "failures": summary.failures, "buckets": summary.hits,
            "new_buckets": summary.new_buckets, "benign": summary.benign,
            "seconds": round(summary.seconds, 1), "worker_restarts": summary.restarts,
        }  # fmt: skip
        write_run_summary(config.out, report, summary.benign, summary.benign_examples)
    return summary


def _record(
    outcome: Any,
    config: FuzzConfig,
    store: BucketStore,
    summary: FuzzSummary,
    crumbs: Path,
    shrinker: BackgroundShrinker | None,
    echo: Callable[[str], None],
) -> None:
    payload = outcome.payload
    case = program = None
    if outcome.kind != "ok" or payload.get("status") == "fail":
        try:
            case, program = seed_case(outcome.seed, config.options)
        except Exception:  # noqa: BLE001 - a generator crash has no case to show
            case = None
    sig = outcome_signature(outcome, case, crumbs)
    if sig is None:
        summary.passed += payload.get("status") == "pass"
        for rule in payload.get("benign", []):
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
    extra = {
        "seed": outcome.seed, "input_seed": derive_input_seed(outcome.seed),
        "options": json.loads(config.options.to_json()),
        "detail": payload.get("detail") or payload.get("error", ""),
        "benign_explained": payload.get("benign", []),
    }  # fmt: skip
    pending = {"status": "queued"} if shrinker is not None else {"status": "disabled"}
    folder = store.add(sig, {**extra, "shrink": pending}, original=case, shrunk=case,
                       command=config.command(outcome.seed, 1), timeout=config.timeout)  # fmt: skip
    store.hit(key, outcome.seed)
    summary.new_buckets.append(key)
    echo(f"new bucket {key}: {folder}/repro.py (seed {outcome.seed})")
    if shrinker is not None:
        shrinker.jobs.put((sig, case, program, outcome.seed, payload.get("culprit"), extra))


def cmd_fuzz(argv: Sequence[str]) -> int:
    from fuzzjax.cli.main import ArgParser, UsageError, _options
    from fuzzjax.workers import default_workers

    p = ArgParser(prog="fuzzjax fuzz", description="Differential fuzzing: jit vs eager vs a "
                  "NumPy reference, crash isolation, failure buckets with repro.py.")  # fmt: skip
    limit = p.add_mutually_exclusive_group()
    limit.add_argument("--time", type=float, default=None, help="run for SECONDS (default 60)")
    limit.add_argument("--count", type=int, default=None, help="run N programs")
    p.add_argument("--max-depth", type=int, default=4, help="maximum expression depth (4)")
    p.add_argument("--min-depth", type=int, default=1, help="minimum expression depth (1)")
    p.add_argument("--max-rank", type=int, default=4, help="maximum array rank (4)")
    p.add_argument("--max-elements", type=int, default=4096, help="elements per array (4096)")
    p.add_argument("--seed", type=int, default=0, help="first seed (0)")
    p.add_argument("--out", default=DEFAULT_OUT, help=f"failure folders ({DEFAULT_OUT})")
    p.add_argument("--workers", type=int, default=None, help="worker processes (cores)")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds per program (30)")
    p.add_argument("--memory-mb", type=int, default=4096, help="memory per worker (4096)")
    p.add_argument("--no-shrink", action="store_true", help="do not shrink new buckets")
    p.add_argument("--shrink-time", type=float, default=60.0, help="seconds per bucket (60)")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    args = p.parse_args(argv)
    for name, value, low in [("--time", args.time, 0), ("--count", args.count, 0),
                             ("--seed", args.seed, -1), ("--workers", args.workers, 0),
                             ("--timeout", args.timeout, 0), ("--memory-mb", args.memory_mb, 255),
                             ("--shrink-time", args.shrink_time, 0)]:  # fmt: skip
        if value is not None and value <= low:
            raise UsageError(f"{name}={value} must be > {low}")
    options = _options(args)
    assert isinstance(options, GenOptions)
    if args.max_elements < 1:
        raise UsageError(f"--max-elements={args.max_elements} must be >= 1")
    options = dataclasses.replace(options, max_elements=args.max_elements)
    config = FuzzConfig(
        out=Path(args.out), options=options, seed=args.seed, count=args.count,
        seconds=args.time if args.time is not None or args.count is not None else 60.0,
        workers=args.workers or default_workers(), timeout=args.timeout,
        memory_mb=args.memory_mb, shrink=not args.no_shrink, shrink_seconds=args.shrink_time,
        progress=not args.quiet and sys.stderr.isatty(),
    )  # fmt: skip
    summary = run_fuzz(config)
    print(summary.line())
    for rule, n in sorted(summary.benign.items()):
        print(f"  benign {rule}: {n}")
    for key, n in sorted(summary.hits.items(), key=lambda kv: -kv[1]):
        print(f"  bucket {key}: {n} hits  ->  python {config.out / key / 'repro.py'}")
    print(f"reproduce this run: {config.command()}")
    return 0
