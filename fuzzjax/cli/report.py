"""``fuzzjax report``: one self-contained HTML page about a corpus and/or a fuzz campaign."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from fuzzjax.cli.args import DEFAULT_DB, DEFAULT_FAILURES, ArgParser, UsageError, db_parent


def report_parser() -> ArgParser:
    p = ArgParser(
        prog="fuzzjax report",
        description="Write one self-contained HTML report (no network needed to view it) of a "
        "corpus (--db) and/or a fuzz campaign's failures folder (--failures). With neither, "
        f"reports on {DEFAULT_DB} and {DEFAULT_FAILURES}, whichever exist. Needs "
        "pip install 'fuzzjax[report]'.",
        parents=[db_parent(f"corpus to report on (default {DEFAULT_DB} if it exists)")],
    )
    p.set_defaults(db=None)
    p.add_argument(
        "--failures",
        metavar="DIR",
        default=None,
        help=f"failures folder of `fuzzjax fuzz` (default {DEFAULT_FAILURES} if it exists)",
    )
    p.add_argument("--out", required=True, metavar="FILE.html", help="the report to write")
    p.add_argument(
        "--no-charts", action="store_true", help="leave the corpus charts out (no matplotlib)"
    )
    return p


def cmd_report(argv: Sequence[str]) -> int:
    args = report_parser().parse_args(argv)
    from fuzzjax.report.render import (
        is_report,
        render_report,
        require_report_dependencies,
        write_report,
    )

    db, failures = args.db, args.failures
    if db is None and failures is None:
        db = DEFAULT_DB if Path(DEFAULT_DB).is_file() else None
        failures = DEFAULT_FAILURES if Path(DEFAULT_FAILURES).is_dir() else None
        if db is None and failures is None:
            raise UsageError(
                f"nothing to report: neither {DEFAULT_DB} nor {DEFAULT_FAILURES} exists; "
                "give --db CORPUS and/or --failures DIR"
            )
    out = Path(args.out)
    if out.is_dir():
        raise UsageError(f"--out {out} is a folder; give a file name such as report.html")
    if out.exists() and not is_report(out):
        raise UsageError(
            f"--out {out} exists and is not a fuzzjax report; remove it or choose another name"
        )
    charts = db is not None and not args.no_charts
    require_report_dependencies(charts=charts)
    corpus_part = failures_part = None
    if failures is not None:
        from fuzzjax.report.fromfailures import gather_failures

        failures_part = gather_failures(Path(failures))
    if db is not None:
        from fuzzjax.corpus.store import Corpus
        from fuzzjax.report.fromcorpus import gather_corpus

        with Corpus(db, create=False) as corpus:
            corpus_part = gather_corpus(corpus, db, charts=charts)
    page = render_report(corpus_part, failures_part)

    try:
        write_report(page, out)
    except OSError as exc:
        raise UsageError(f"cannot write --out {out}: {exc.strerror or exc}") from None
    parts = [f"corpus {db}"] * (db is not None) + [f"failures {failures}"] * (failures is not None)
    print(f"wrote {out} ({len(page) // 1024} KB: {', '.join(parts)})")
    return 0
