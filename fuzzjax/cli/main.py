"""Command line: ``python -m fuzzjax [generate options] | <command> ...``.

Commands: (none) or ``generate`` builds a corpus; ``replay`` prints the program of a seed;
``stats`` summarises a corpus; further commands live in their own modules (``MODULE_COMMANDS``).
Bad input gives one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from fuzzjax.corpus.build import Summary
    from fuzzjax.program import GenOptions

DEFAULT_DB = "corpus/fuzzjax.sqlite"
EXIT_USAGE = 2


class UsageError(Exception):
    """Bad user input: reported as one line on stderr with exit code 2."""


class ArgParser(argparse.ArgumentParser):
    """argparse that raises ``UsageError`` (one line, exit 2) instead of printing usage."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _positive(name: str, minimum: int = 1) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name}={text!r} is not an integer") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{name}={value} must be >= {minimum}")
        return value

    return parse


def _add_gen_options(p: argparse.ArgumentParser, defaults: bool = True) -> None:
    d = (lambda v: v) if defaults else (lambda v: None)
    p.add_argument(
        "--max-depth",
        type=_positive("--max-depth"),
        default=d(5),
        help="maximum expression depth (default 5)",
    )
    p.add_argument(
        "--min-depth",
        type=_positive("--min-depth"),
        default=d(1),
        help="minimum expression depth (default 1)",
    )
    p.add_argument(
        "--max-rank",
        type=_positive("--max-rank", 0),
        default=d(8),
        help="maximum array rank (default 8)",
    )
    p.add_argument(
        "--x64",
        action="store_true",
        default=d(False),
        help="x64 mode: float64/int64/complex128 programs with JAX's x64 promotion and "
        "defaults, each lowered under jax.enable_x64(True) (default off)",
    )


def _generate_parser() -> argparse.ArgumentParser:
    p = ArgParser(
        prog="fuzzjax",
        description="Build a corpus of distinct (jax.numpy source, StableHLO) pairs. "
        "Other commands: replay, stats, coverage, export, add, fuzz, shrink, bench, merge.",
    )
    p.add_argument(
        "--count",
        type=_positive("--count"),
        default=1000,
        help="stop when the corpus holds this many distinct pairs (default 1000)",
    )
    _add_gen_options(p)
    p.add_argument(
        "--seed",
        type=_positive("--seed", 0),
        default=0,
        help="first seed; seeds seed, seed+1, ... are used (default 0)",
    )
    p.add_argument("--db", default=DEFAULT_DB, help=f"corpus file (default {DEFAULT_DB})")
    p.add_argument(
        "--workers",
        type=_positive("--workers", 0),
        default=None,
        help="worker processes (default: number of cores; 0 = in-process)",
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
        type=_positive("--shard-size"),
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
        choices=["arithmetic", "math", "array", "control_flow", "combined"],
        default=None,
        help="generate only programs of this category",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def cmd_generate(argv: Sequence[str]) -> int:
    args = _generate_parser().parse_args(argv)
    from fuzzjax.corpus.build import build_corpus
    from fuzzjax.corpus.store import CorpusError
    from fuzzjax.program import GenOptions
    from fuzzjax.workers import default_workers

    options = _options(args)
    assert isinstance(options, GenOptions)
    if args.scheduler is None and args.shard_size is not None:
        raise UsageError("--shard-size needs --scheduler")
    if args.scheduler is not None and args.workers is not None:
        raise UsageError("--workers and --scheduler exclude each other (Dask workers do the work)")
    workers = default_workers() if args.workers is None else args.workers
    platforms = _platforms(args)
    try:
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
            )
    except CorpusError as exc:
        raise UsageError(str(exc)) from None
    print(summary.line())
    if summary.failures:
        print(
            f"failures are recorded in the 'failures' table of {args.db}; "
            f"reproduce one with: python -m fuzzjax replay SEED --db {args.db} --ir"
        )
    return 0


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
    from fuzzjax.corpus.distributed import DEFAULT_SHARD_SIZE, DistributedError, run_distributed

    try:
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
        )
    except DistributedError as exc:
        raise UsageError(str(exc)) from None


def _depth_weights(spec: str | None, lo: int, hi: int) -> tuple[int, ...]:
    """``--depth-dist``: uniform (default), linear, geometric, or comma-separated weights."""
    if spec in (None, "uniform"):
        return ()
    depths = range(lo, hi + 1)
    if spec == "linear":
        return tuple(d for d in depths)
    if spec == "geometric":
        return tuple(2 ** (d - lo) for d in depths)
    try:
        return tuple(int(w) for w in spec.split(","))
    except ValueError:
        raise UsageError(
            f"--depth-dist={spec!r} must be uniform, linear, geometric or weights like 1,2,4"
        ) from None


def _options(args: argparse.Namespace) -> object:
    from fuzzjax.generation.generator import validate_options
    from fuzzjax.program import GenOptions

    fields = {"max_depth": args.max_depth, "min_depth": args.min_depth, "max_rank": args.max_rank}
    fields["x64"] = getattr(args, "x64", None)
    options = GenOptions(**{k: v for k, v in fields.items() if v is not None})
    if getattr(args, "balanced", None) and getattr(args, "category", None):
        raise UsageError("--balanced and --category exclude each other")
    if getattr(args, "balanced", None):
        options = GenOptions(**{**options.__dict__, "balanced": True})
    if getattr(args, "category", None):
        options = GenOptions(**{**options.__dict__, "category": args.category})
    spec = getattr(args, "depth_dist", None)
    if spec is not None:
        weights = _depth_weights(spec, options.min_depth, options.max_depth)
        options = GenOptions(**{**options.__dict__, "depth_weights": weights})
    try:
        validate_options(options)
    except ValueError as exc:
        message = str(exc)
        if message.startswith("depth_weights"):
            raise UsageError(f"--depth-dist: {message}") from None
        raise UsageError("--" + message.replace("_", "-", 1)) from None
    return options


def cmd_replay(argv: Sequence[str]) -> int:
    p = ArgParser(
        prog="fuzzjax replay",
        description="Print the program a seed generates "
        "(byte-identical to the stored one with the same versions).",
    )
    p.add_argument("seed", help="a seed, or a failure folder written by `fuzzjax fuzz`")
    _add_gen_options(p, defaults=False)
    p.add_argument(
        "--db",
        default=DEFAULT_DB,
        help="corpus whose recorded options for SEED are used when present",
    )
    p.add_argument("--ir", action="store_true", help="also print its canonical StableHLO")
    args = p.parse_args(argv)
    if Path(args.seed).is_dir():
        from fuzzjax.fuzzing.repro import replay_folder

        return replay_folder(Path(args.seed), ir=args.ir)
    try:
        args.seed = _positive("SEED", 0)(args.seed)
    except argparse.ArgumentTypeError as exc:
        raise UsageError(str(exc)) from None
    from fuzzjax.generation.generator import generate
    from fuzzjax.program import GenOptions

    options = _options(args)
    given = (args.max_depth, args.min_depth, args.max_rank, args.x64)
    explicit = any(v is not None for v in given)
    stored = None
    if not explicit and Path(args.db).exists():
        stored_options, stored = _stored_seed(args.db, args.seed)
        if stored_options:
            options = GenOptions.from_json(stored_options)
    assert isinstance(options, GenOptions)
    program = generate(args.seed, options)
    sys.stdout.write(program.source)
    if stored is not None and stored["source"] != program.source:
        from fuzzjax import __version__

        print(
            f"warning: seed {args.seed} was stored with different source (versions then: "
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


def _stored_seed(db: str, seed: int) -> tuple[str | None, dict[str, object] | None]:
    from fuzzjax.corpus.store import Corpus, CorpusError

    try:
        with Corpus(db, create=False) as corpus:
            options = corpus.seed_options(seed)
            if not options:
                return None, None
            return options[-1], corpus.pair_for_seed(seed, options[-1])
    except CorpusError as exc:
        raise UsageError(str(exc)) from None


def cmd_stats(argv: Sequence[str]) -> int:
    p = ArgParser(prog="fuzzjax stats", description="Summarise a corpus.")
    p.add_argument("--db", default=DEFAULT_DB, help=f"corpus file (default {DEFAULT_DB})")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument(
        "--plot",
        metavar="DIR",
        help="also write depth.png, ops.png and lengths.png to DIR "
        "(needs matplotlib: pip install 'fuzzjax[dataset]')",
    )
    args = p.parse_args(argv)
    from fuzzjax.corpus.stats import corpus_stats, format_stats
    from fuzzjax.corpus.store import Corpus, CorpusError

    plots: list[Path] = []
    try:
        with Corpus(args.db, create=False) as corpus:
            stats = corpus_stats(corpus)
            if args.plot:
                from fuzzjax.corpus.plots import write_plots

                plots = write_plots(corpus, args.plot)
    except CorpusError as exc:
        raise UsageError(str(exc)) from None
    print(json.dumps(stats, indent=2) if args.json else format_stats(stats))
    for path in plots:
        print(f"wrote {path}", file=sys.stderr)
    if args.plot and not plots:
        print("no plots written: the corpus has no pairs", file=sys.stderr)
    return 0


COMMANDS: dict[str, Callable[[Sequence[str]], int]] = {
    "generate": cmd_generate,
    "replay": cmd_replay,
    "stats": cmd_stats,
}

#: Commands implemented in their own modules as ``cmd_<name>(argv) -> int``, imported on use.
MODULE_COMMANDS: dict[str, str] = {
    "coverage": "fuzzjax.corpus.coverage",
    "export": "fuzzjax.corpus.export",
    "add": "fuzzjax.corpus.add",
    "fuzz": "fuzzjax.fuzzing.campaign",
    "shrink": "fuzzjax.fuzzing.shrink",
    "bench": "fuzzjax.corpus.bench",
    "merge": "fuzzjax.corpus.merge",
}


#: Commands that run programs with x64 disabled only (fuzz mode): ``--x64`` is refused.
X64_OFF_COMMANDS = frozenset({"fuzz", "shrink"})


def _module_command(name: str) -> Callable[[Sequence[str]], int] | None:
    """``cmd_<name>`` of a module command, importing only that module; None when absent."""
    import importlib
    import importlib.util

    module = MODULE_COMMANDS.get(name)
    if module is None or importlib.util.find_spec(module) is None:
        return None
    return getattr(importlib.import_module(module), f"cmd_{name}")  # type: ignore[no-any-return]


def _command_names() -> list[str]:
    import importlib.util

    present = [n for n, m in MODULE_COMMANDS.items() if importlib.util.find_spec(m) is not None]
    return [*COMMANDS, *present]


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    if argv is None:  # the program itself (not a call from Python): `kill` acts like Ctrl-C
        signal.signal(signal.SIGTERM, _interrupt)
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args and args[0] in X64_OFF_COMMANDS and "--x64" in args[1:]:
            raise UsageError(
                f"{args[0]} runs with x64 disabled only (its inputs and NumPy reference "
                "assume JAX's 32-bit defaults); --x64 works with generate and replay"
            )
        if args and not args[0].startswith("-"):
            command = COMMANDS.get(args[0]) or _module_command(args[0])
            if command is None:
                names = ", ".join(_command_names())
                raise UsageError(f"unknown command {args[0]!r} (commands: {names})")
            return command(args[1:])
        return cmd_generate(args)
    except UsageError as exc:
        print(f"fuzzjax: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # e.g. `fuzzjax stats | head`
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("fuzzjax: interrupted; committed pairs are kept", file=sys.stderr)
        return 130
