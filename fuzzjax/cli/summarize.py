"""``fuzzjax stats`` and ``fuzzjax coverage``: read a corpus and summarise it."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from fuzzjax.cli.args import ArgParser, UsageError, db_parent, integer


def stats_parser() -> ArgParser:
    p = ArgParser(prog="fuzzjax stats", description="Summarise a corpus.", parents=[db_parent()])
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument(
        "--plot",
        metavar="DIR",
        help="also write depth, category, dtype, ops, lengths and duplicates charts (PNG, "
        "800 px wide) to DIR (needs matplotlib: pip install 'fuzzjax[dataset]')",
    )
    return p


def cmd_stats(argv: Sequence[str]) -> int:
    args = stats_parser().parse_args(argv)
    if args.plot is not None and Path(args.plot).exists() and not Path(args.plot).is_dir():
        raise UsageError(f"--plot {args.plot} is a file; give a folder")
    from fuzzjax.corpus.stats import corpus_stats, format_stats
    from fuzzjax.corpus.store import Corpus

    plots: list[Path] = []
    with Corpus(args.db, create=False) as corpus:
        stats = corpus_stats(corpus)
        if args.plot:
            from fuzzjax.corpus.plots import write_plots

            try:
                plots = write_plots(corpus, args.plot)
            except OSError as exc:
                raise UsageError(f"cannot write plots to {args.plot}: {exc.strerror}") from None
    print(json.dumps(stats, indent=2) if args.json else format_stats(stats))
    for path in plots:
        print(f"wrote {path}", file=sys.stderr)
    if args.plot and not plots:
        print("no plots written: the corpus has no pairs", file=sys.stderr)
    return 0


def coverage_parser() -> ArgParser:
    p = ArgParser(
        prog="fuzzjax coverage",
        description="Grammar alternatives a corpus reaches and does not reach, its StableHLO "
        "op kinds, and the share of real JAX call sites (data/real_usage.json) whose callable "
        "the grammar can generate and the corpus contains, with the forms missing.",
        parents=[db_parent()],
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument(
        "--top", type=integer("--top", 0), default=0, help="show only the N most frequent ops"
    )
    p.add_argument(
        "--grammar",
        action="store_true",
        help="only the real-call-site report of the grammar itself (no corpus needed)",
    )
    return p


def cmd_coverage(argv: Sequence[str]) -> int:
    args = coverage_parser().parse_args(argv)
    from fuzzjax.corpus.coverage import (
        call_site_coverage,
        format_call_sites,
        format_coverage,
        grammar_coverage,
    )
    from fuzzjax.corpus.store import Corpus

    if args.grammar:
        real = call_site_coverage()
        print(json.dumps(real, indent=2) if args.json else format_call_sites(real, args.top))
        return 0
    with Corpus(args.db, create=False) as corpus:
        cov = grammar_coverage(corpus)
    cov["real_call_sites"] = call_site_coverage(
        reached=cov["reached"], occurrences=cov["occurrences"]
    )
    if args.json:
        print(json.dumps(cov, indent=2))
    else:
        print(format_coverage(cov, args.top))
        print()
        print(format_call_sites(cov["real_call_sites"], args.top or 25))
    return 0
