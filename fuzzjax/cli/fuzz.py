"""``fuzzjax fuzz`` runs the differential fuzzer; ``fuzzjax shrink`` shrinks a finding again."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from fuzzjax.cli.args import (
    DEFAULT_FAILURES,
    ArgParser,
    UsageError,
    add_gen_options,
    gen_options,
    integer,
    seconds,
)


def fuzz_parser() -> ArgParser:
    p = ArgParser(
        prog="fuzzjax fuzz",
        description="Differential fuzzing: jit vs eager vs a NumPy reference, crash isolation, "
        "failure buckets with repro.py.",
    )
    limit = p.add_mutually_exclusive_group()
    limit.add_argument("--time", type=seconds("--time"), help="run for SECONDS (default 60)")
    limit.add_argument("--count", type=integer("--count"), help="run N programs")
    add_gen_options(p, max_depth=4, max_rank=4, x64=False)
    p.add_argument(
        "--max-elements",
        type=integer("--max-elements"),
        default=4096,
        help="elements per array (default 4096)",
    )
    p.add_argument("--seed", type=integer("--seed", 0), default=0, help="first seed (default 0)")
    p.add_argument(
        "--out", default=DEFAULT_FAILURES, help=f"failure folders (default {DEFAULT_FAILURES})"
    )
    p.add_argument(
        "--workers", type=integer("--workers"), default=None, help="worker processes (cores)"
    )
    p.add_argument(
        "--timeout", type=seconds("--timeout"), default=30.0, help="seconds per program (30)"
    )
    p.add_argument(
        "--memory-mb", type=integer("--memory-mb", 256), default=4096, help="memory per worker"
    )
    p.add_argument("--no-shrink", action="store_true", help="do not shrink new buckets")
    p.add_argument(
        "--shrink-time", type=seconds("--shrink-time"), default=60.0, help="seconds per bucket"
    )
    p.add_argument("--quiet", action="store_true", help="no progress line")
    return p


def cmd_fuzz(argv: Sequence[str]) -> int:
    args = fuzz_parser().parse_args(argv)
    from fuzzjax.fuzzing.campaign import FuzzConfig, run_fuzz
    from fuzzjax.workers import default_workers

    config = FuzzConfig(
        out=Path(args.out),
        options=gen_options(args),
        seed=args.seed,
        count=args.count,
        seconds=args.time if args.time is not None or args.count is not None else 60.0,
        workers=args.workers or default_workers(),
        timeout=args.timeout,
        memory_mb=args.memory_mb,
        shrink=not args.no_shrink,
        shrink_seconds=args.shrink_time,
        progress=not args.quiet and sys.stderr.isatty(),
    )
    summary = run_fuzz(config)
    print(summary.line())
    for rule, n in sorted(summary.benign.items()):
        print(f"  benign {rule}: {n}")
    for key, n in sorted(summary.hits.items(), key=lambda kv: -kv[1]):
        print(f"  bucket {key}: {n} hits  ->  python {config.out / key / 'repro.py'}")
    print(f"reproduce this run: {config.command()}")
    return 0


def shrink_parser() -> ArgParser:
    p = ArgParser(
        prog="fuzzjax shrink",
        description="Shrink a failure folder or a program file to a small program with the same "
        "failure signature.",
    )
    p.add_argument("path", help="failure folder (with meta.json) or program file")
    p.add_argument(
        "--time", type=seconds("--time"), default=60.0, help="shrinking budget in seconds (60)"
    )
    p.add_argument(
        "--timeout", type=seconds("--timeout"), default=30.0, help="seconds per candidate (30)"
    )
    p.add_argument(
        "--memory-mb", type=integer("--memory-mb", 256), default=4096, help="memory per worker"
    )
    return p


def cmd_shrink(argv: Sequence[str]) -> int:
    args = shrink_parser().parse_args(argv)
    from fuzzjax.fuzzing.repro import program_text
    from fuzzjax.fuzzing.shrink import load_target, reshrink_folder, shrink_case

    path = Path(args.path)
    if not path.exists():
        raise UsageError(f"{path} does not exist")
    try:
        case, sig, meta = load_target(path)
    except (ValueError, KeyError, OSError) as exc:
        raise UsageError(str(exc)) from None
    result = shrink_case(
        case, sig, timeout=args.timeout, memory_mb=args.memory_mb, seconds=args.time
    )
    if result is None:
        print(f"{path}: the program does not fail (nothing to shrink)", file=sys.stderr)
        return 1
    sig, shrunk, stats = result
    print(
        f"# {sig.key()}: {stats['ops_before']} -> {stats['ops_after']} operations, "
        f"{stats['candidates']} candidates, {stats['seconds']} s"
    )
    print(program_text(shrunk, []), end="")
    if path.is_dir() and stats.get("reproduced"):
        reshrink_folder(path, meta, sig, shrunk, stats, timeout=args.timeout)
        print(f"updated {path}")
    return 0
