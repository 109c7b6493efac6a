"""``fuzzjax bench``: corpus throughput against the lowering limit and two baselines."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from fuzzjax.cli.args import ArgParser, UsageError, integer, seconds, workers_flag


def bench_parser() -> ArgParser:
    from fuzzjax.workers import default_workers

    p = ArgParser(
        prog="fuzzjax bench",
        description="Throughput of corpus building against the lowering limit and two "
        "baselines (templates, from_lark).",
    )
    p.add_argument(
        "--count",
        type=integer("--count"),
        default=3000,
        help="programs per measurement (default 3000)",
    )
    p.add_argument("--workers", type=workers_flag(1), default=default_workers())
    p.add_argument(
        "--lark-seconds",
        type=seconds("--lark-seconds"),
        default=30.0,
        help="time budget of the from_lark baseline (default 30)",
    )
    p.add_argument(
        "--out", default="notes/benchmarks.md", help="write the report here ('-' for stdout only)"
    )
    p.add_argument(
        "--memory",
        type=integer("--memory"),
        default=None,
        metavar="N",
        help="instead: measure RSS over N programs (writes notes/memory.md)",
    )
    p.add_argument(
        "--every",
        type=integer("--every"),
        default=5000,
        help="RSS sample interval for --memory (default 5000)",
    )
    return p


def cmd_bench(argv: Sequence[str]) -> int:
    args = bench_parser().parse_args(argv)
    if args.out != "-":  # checked now, not after a run of minutes
        report = Path(args.out)
        if report.is_dir() or args.out.endswith("/"):
            raise UsageError(f"--out {args.out} must name a file, not a folder")
        if not report.parent.is_dir():
            raise UsageError(f"--out {args.out}: no folder {report.parent}")
    from fuzzjax.corpus.bench import memory_profile, run_bench

    if args.memory:
        out = None if args.out == "-" else Path(args.out).with_name("memory.md")
        memory_profile(args.memory, args.every, out)
        return 0
    out = None if args.out == "-" else Path(args.out)
    print(run_bench(args.count, args.workers, args.lark_seconds, out), end="")
    return 0
