"""``fuzzjax bench``: corpus throughput against the lowering limit and two baselines."""

from __future__ import annotations

import sys
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
        "--out",
        metavar="FILE",
        default=None,
        help="also write the report (Markdown) to FILE; by default it is only printed",
    )
    p.add_argument(
        "--memory",
        type=integer("--memory"),
        default=None,
        metavar="N",
        help="instead: measure RSS over N programs (report printed, and written to --out)",
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
    from fuzzjax.corpus.bench import memory_profile, run_bench

    out = Path(args.out) if args.out is not None else None
    if out is not None:  # refuse before minutes of measuring, not after
        if out.is_dir():
            raise UsageError(f"--out {out} is a folder; give a file name")
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot write --out {out}: {exc.strerror or exc}") from None
    if args.memory:
        report = memory_profile(args.memory, args.every)
    else:
        report = run_bench(args.count, args.workers, args.lark_seconds)
    print(report, end="")
    if out is not None:
        try:
            out.write_text(report)
        except OSError as exc:
            raise UsageError(f"cannot write --out {out}: {exc.strerror or exc}") from None
        print(f"wrote {out}", file=sys.stderr)
    return 0
