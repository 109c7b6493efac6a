"""``fuzzjax [generate]`` builds or grows a corpus; ``fuzzjax replay`` prints a seed's program."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fuzzjax.cli.args import (
    CATEGORY_CHOICES,
    DEFAULT_DB,
    ArgParser,
    UsageError,
    add_gen_options,
    db_parent,
    gen_options,
    integer,
    seconds,
    workers_flag,
)

#: Most seeds per Dask task (``--shard-size``): a shard's seed list is built in memory.
MAX_SHARD_SIZE = 1_000_000

if TYPE_CHECKING:
    from fuzzjax.corpus.build import Summary
    from fuzzjax.corpus.lock import WriterLock
    from fuzzjax.program import GenOptions


def generate_parser() -> ArgParser:
    p = ArgParser(
        prog="fuzzjax",
        description="Build a corpus of distinct (jax.numpy source, StableHLO) pairs. "
        "Other commands: replay, stats, coverage, export, add, fuzz, shrink, bench, merge.",
        parents=[db_parent()],
    )
    p.add_argument(
        "--count",
        type=integer("--count"),
        default=1000,
        help="stop when the corpus holds this many distinct pairs (default 1000)",
    )
    add_gen_options(p)
    p.add_argument(
        "--seed",
        type=integer("--seed", 0),
        default=0,
        help="first seed; seeds seed, seed+1, ... are used (default 0)",
    )
    p.add_argument(
        "--workers",
        type=workers_flag(0),
        default=None,
        help="worker processes (default: number of cores; 0 = in-process)",
    )
    p.add_argument(
        "--timeout",
        type=seconds("--timeout"),
        default=None,
        help="seconds one program may take in a worker before the worker counts as hung and "
        "is replaced (default 60); the seed is retried once, then recorded as a failure",
    )
    p.add_argument(
        "--mix-options",
        action="store_true",
        help="allow adding programs to a corpus that holds programs made with other "
        "generation options (refused by default)",
    )
    p.add_argument(
        "--hlo",
        action="store_true",
        help="also store XLA HLO text for CPU (opt-in: a second lowering, about half to all "
        "of the StableHLO lowering's cost)",
    )
    p.add_argument(
        "--platforms",
        metavar="LIST",
        default=None,
        help="also lower each new pair with jax.export for these platforms (comma-separated: "
        "cpu,cuda,rocm,tpu; no devices needed) into the platform_ir table (default: none)",
    )
    p.add_argument(
        "--export-artifacts",
        action="store_true",
        help="also store serialized jax.export artifacts per platform (cpu when --platforms "
        "is not given); needs pip install 'fuzzjax[export]'",
    )
    p.add_argument(
        "--no-fast-lower",
        action="store_true",
        help="use stock jax lowering instead of the reused-MLIR-context fast path",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="run on the Dask cluster whose scheduler is at ADDRESS (tcp://HOST:PORT) instead "
        "of local worker processes; needs pip install 'fuzzjax[distributed]'",
    )
    p.add_argument(
        "--shard-size",
        type=integer("--shard-size", 1, MAX_SHARD_SIZE),
        default=None,
        help="seeds per Dask task with --scheduler (default 500)",
    )
    p.add_argument(
        "--depth-dist",
        metavar="DIST",
        default=None,
        help="distribution of program depths: uniform (default), linear, geometric, "
        "or one weight per depth, e.g. 1,1,2,4,8",
    )
    p.add_argument(
        "--balanced",
        choices=["category"],
        default=None,
        help="fill the categories (arithmetic, math, array, control_flow, combined) evenly",
    )
    p.add_argument(
        "--category",
        choices=CATEGORY_CHOICES,
        default=None,
        help="generate only programs of this category",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def cmd_generate(argv: Sequence[str]) -> int:
    args = generate_parser().parse_args(argv)
    lock = _lock_early(Path(args.db))
    try:
        return _generate(args)
    finally:
        if lock is not None:
            lock.release()


def _generate(args: argparse.Namespace) -> int:
    from fuzzjax.corpus.build import DEFAULT_TIMEOUT, MAX_SEED, build_corpus
    from fuzzjax.workers import default_workers

    options = gen_options(args)
    if args.scheduler is None and args.shard_size is not None:
        raise UsageError("--shard-size needs --scheduler")
    if args.scheduler is not None and args.workers is not None:
        raise UsageError("--workers and --scheduler exclude each other (Dask workers do the work)")
    if args.timeout is not None and (args.workers == 0 or args.scheduler is not None):
        raise UsageError("--timeout needs worker processes (not --workers 0 or --scheduler)")
    if args.seed > MAX_SEED - args.count + 1:
        raise UsageError(
            f"--seed {args.seed} leaves fewer than --count {args.count} seeds below 2**63"
        )
    workers = default_workers() if args.workers is None else args.workers
    platforms = _platforms(args)
    if args.scheduler is not None:
        summary = _run_distributed(args, options)
    else:
        summary = build_corpus(
            args.db,
            count=args.count,
            options=options,
            base_seed=args.seed,
            workers=workers,
            hlo=args.hlo,
            fast=not args.no_fast_lower,
            progress=not args.quiet and sys.stderr.isatty(),
            platforms=platforms,
            artifacts=args.export_artifacts,
            timeout=DEFAULT_TIMEOUT if args.timeout is None else args.timeout,
            mix_options=args.mix_options,
        )
    print(summary.line())
    if summary.failures:
        print(
            f"failures are recorded in the 'failures' table of {args.db}; "
            f"reproduce one with: python -m fuzzjax replay SEED --db {args.db} --ir"
        )
    return 0


def _lock_early(db: Path) -> WriterLock | None:
    """Refuse a file that is not a corpus, then take the corpus's writer lock, before JAX is
    imported (seconds): a second writer fails at once, even one started at the same moment.
    The lock is re-entrant, so ``build_corpus`` shares it; the caller releases it."""
    from fuzzjax.corpus.lock import WriterLock
    from fuzzjax.corpus.store import Corpus

    if db.exists():
        Corpus(db, create=False).close()  # read-only: the file is not changed
    return WriterLock(db) if db.parent.is_dir() else None


def _platforms(args: argparse.Namespace) -> tuple[str, ...]:
    """Checked ``--platforms`` / ``--export-artifacts`` (UsageError on bad input)."""
    from fuzzjax.lowering.platforms import parse_platforms

    wanted = args.platforms is not None or args.export_artifacts
    if wanted and args.scheduler is not None:
        raise UsageError("--platforms/--export-artifacts do not work with --scheduler yet")
    if args.export_artifacts:
        try:
            import flatbuffers  # noqa: F401
        except ImportError:
            raise UsageError(
                "--export-artifacts needs flatbuffers: pip install 'fuzzjax[export]'"
            ) from None
    try:
        return parse_platforms(args.platforms) if args.platforms is not None else ()
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _run_distributed(args: argparse.Namespace, options: GenOptions) -> Summary:
    from fuzzjax.corpus.distributed import DEFAULT_SHARD_SIZE, run_distributed

    return run_distributed(
        args.scheduler,
        db=args.db,
        count=args.count,
        options=options,
        base_seed=args.seed,
        shard_size=args.shard_size or DEFAULT_SHARD_SIZE,
        hlo=args.hlo,
        fast=not args.no_fast_lower,
        progress=not args.quiet,
        mix_options=args.mix_options,
    )


def replay_parser() -> ArgParser:
    p = ArgParser(
        prog="fuzzjax replay",
        description="Print the program a seed generates "
        "(byte-identical to the stored one with the same versions).",
        parents=[db_parent("corpus whose recorded options for SEED are used when present")],
    )
    p.add_argument("seed", help="a seed, or a failure folder written by `fuzzjax fuzz`")
    add_gen_options(p, defaults=False)
    p.add_argument("--ir", action="store_true", help="also print its canonical StableHLO")
    return p


def cmd_replay(argv: Sequence[str]) -> int:
    args = replay_parser().parse_args(argv)
    given = {
        name: value
        for name in ("max_depth", "min_depth", "max_rank", "x64", "profile")
        if (value := getattr(args, name)) is not None
    }
    if Path(args.seed).is_dir():
        from fuzzjax.fuzzing.replay import replay_folder

        if given:
            flags = ", ".join("--" + name.replace("_", "-") for name in given)
            raise UsageError(
                f"{flags}: replay FOLDER rebuilds the program recorded in its meta.json; "
                "generation options do not apply"
            )
        return replay_folder(Path(args.seed), ir=args.ir)
    try:
        seed = integer("SEED", 0)(args.seed)
    except argparse.ArgumentTypeError as exc:
        raise UsageError(f"{exc} (nor a failure folder)") from None
    from fuzzjax.corpus.build import option_flags
    from fuzzjax.generation.generator import generate

    stored_options, stored = _stored_seed(args.db, seed, explicit_db=args.db != DEFAULT_DB)
    options = _replay_options(stored_options, given)
    used = option_flags(options.to_json())
    if stored_options is None:
        note = f"seed {seed} is not in {args.db}; generated it with {used}"
        if not Path(args.db).exists():
            note = f"no corpus at {args.db}; generated seed {seed} with {used}"
        print(f"note: {note}", file=sys.stderr)
    elif options.to_json() != stored_options:
        print(
            f"note: seed {seed} is stored in {args.db} with {option_flags(stored_options)}; "
            f"generated with {used} as asked, not the stored program",
            file=sys.stderr,
        )
        stored = None
    program = generate(seed, options)
    sys.stdout.write(program.source)
    if stored is not None and stored["source"] != program.source:
        from fuzzjax import __version__

        print(
            f"warning: seed {seed} was stored with different source (versions then: "
            f"fuzzjax {stored.get('fuzzjax_version')}, jax {stored['jax_version']}; now: "
            f"fuzzjax {__version__}); the stored source is in the corpus",
            file=sys.stderr,
        )
    if args.ir:
        from fuzzjax.lowering.lower import LoweringError, lower_program

        try:
            pair = lower_program(program)
        except LoweringError as exc:
            print(f"lowering failed: {exc}", file=sys.stderr)
            return 1
        sys.stdout.write("\n" + pair.ir_code)
        if stored is not None and stored["ir_hash"] != pair.ir_hash:
            print("warning: IR hash differs from the stored one", file=sys.stderr)
    return 0


def _replay_options(stored: str | None, given: dict[str, Any]) -> GenOptions:
    """The stored options of a seed (or the defaults) with the flags given on top."""
    import dataclasses

    from fuzzjax.errors import InvalidArgument
    from fuzzjax.program import GenOptions

    base = GenOptions()
    if stored is not None:
        base = GenOptions.from_json(stored)  # checked by _stored_seed
    try:
        return dataclasses.replace(base, **given)
    except InvalidArgument as exc:
        raise UsageError("--" + str(exc).replace("_", "-", 1)) from None


def _stored_seed(
    db: str, seed: int, *, explicit_db: bool
) -> tuple[str | None, dict[str, Any] | None]:
    """The options under which ``db`` processed ``seed`` (the latest) and its stored pair."""
    from fuzzjax.corpus.store import Corpus
    from fuzzjax.errors import CorpusError
    from fuzzjax.program import GenOptions

    if not Path(db).exists() and not explicit_db:
        return None, None
    with Corpus(db, create=False) as corpus:
        options = corpus.seed_options(seed)
        if not options:
            return None, None
        corpus.decode("seeds", "options", seed, options[-1])
        try:
            GenOptions.from_json(options[-1])
        except (ValueError, TypeError) as exc:
            raise CorpusError(
                f"{db} is corrupt: seed {seed} was stored with options it cannot use ({exc})"
            ) from None
        return options[-1], corpus.pair_for_seed(seed, options[-1])
