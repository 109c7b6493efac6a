"""``fuzzjax export``, ``fuzzjax add`` and ``fuzzjax merge``: corpora in and out."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from fuzzjax.cli.args import DEFAULT_DB, ArgParser, UsageError, db_parent, integer


def export_parser() -> ArgParser:
    from fuzzjax.corpus.export import (
        DEFAULT_BATCH_SIZE,
        DEFAULT_SHARD_MB,
        DEFAULT_SPLIT,
        FORMATS,
    )

    split = ",".join(map(str, DEFAULT_SPLIT))
    p = ArgParser(
        prog="fuzzjax export",
        description="Write a corpus as a dataset folder: data/{split}-NNNNN-of-MMMMM.FORMAT "
        "shards (train only, or train/validation/test with --split) and a README.md dataset "
        "card. Built beside DIR and swapped in with one rename: a kill never leaves a mix.",
        parents=[db_parent()],
    )
    p.add_argument(
        "--out", required=True, metavar="DIR", help="output folder (created when missing)"
    )
    p.add_argument(
        "--format",
        choices=FORMATS,
        default="parquet",
        help="parquet (needs pyarrow) or jsonl (default parquet)",
    )
    p.add_argument(
        "--split",
        nargs="?",
        const=split,
        metavar="T,V,T",
        help="write train/validation/test shards with these "
        f"fractions, assigned by IR hash (default when given alone: {split})",
    )
    p.add_argument(
        "--batch-size",
        type=integer("--batch-size"),
        default=DEFAULT_BATCH_SIZE,
        help=f"rows per Parquet row group (default {DEFAULT_BATCH_SIZE})",
    )
    p.add_argument(
        "--max-shard-mb",
        type=integer("--max-shard-mb"),
        default=DEFAULT_SHARD_MB,
        help=f"start a new shard after this many MB of data (default {DEFAULT_SHARD_MB})",
    )
    p.add_argument("--force", action="store_true", help="replace an export already in DIR")
    return p


def cmd_export(argv: Sequence[str]) -> int:
    args = export_parser().parse_args(argv)
    from fuzzjax.corpus.export import export_corpus, parse_split, require_pyarrow
    from fuzzjax.corpus.store import Corpus

    try:
        fractions = parse_split(args.split) if args.split is not None else None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.format == "parquet":
        require_pyarrow()
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; give a directory")
    try:
        with Corpus(args.db, create=False) as corpus:
            if corpus.count() == 0:
                raise UsageError(f"{args.db} holds no pairs: nothing to export")
            summary = export_corpus(
                corpus,
                out,
                fmt=args.format,
                fractions=fractions,
                batch_size=args.batch_size,
                max_shard_bytes=args.max_shard_mb << 20,
                force=args.force,
                db_label=args.db,
            )
    except FileExistsError as exc:
        raise UsageError(f"{exc}; pass --force to replace it") from None
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc.strerror or exc}") from None
    print(summary.line())
    return 0


def add_parser() -> ArgParser:
    from fuzzjax.corpus.add import EXAMPLES_NAME

    p = ArgParser(
        prog="fuzzjax add",
        description="EXECUTE a Python file (it is imported, so any code in it runs; only use "
        f"files you trust) and add each function its {EXAMPLES_NAME} dict declares "
        '({"fn_name": (example args...)}) to the corpus, with category "user", '
        "deduplicated by IR hash.",
        parents=[db_parent()],
    )
    p.add_argument("file", metavar="FILE.py", help="Python file to EXECUTE and read")
    p.add_argument("--hlo", action="store_true", help="also store XLA HLO text")
    return p


#: What ``add`` prints on stderr, once, before it executes the file.
EXECUTE_NOTICE = "fuzzjax add: executing {file} (any code in it runs; add only files you trust)"


def cmd_add(argv: Sequence[str]) -> int:
    args = add_parser().parse_args(argv)
    from fuzzjax.corpus.add import add_pairs, load_user_module, lower_declared, where
    from fuzzjax.corpus.store import Corpus
    from fuzzjax.errors import DeclarationError, one_line

    file = Path(args.file)
    if not file.is_file():
        raise UsageError(f"{file} is not a file")
    # An existing corpus is checked (and locked) before the file runs, not after.
    corpus = Corpus(args.db) if Path(args.db).exists() else None
    try:
        print(EXECUTE_NOTICE.format(file=file), file=sys.stderr, flush=True)
        try:
            module = load_user_module(file)
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - any error in the file: one line
            raise UsageError(
                f"executing {file} failed{where(exc, file)}: {one_line(exc)}"
            ) from None
        try:
            pairs = lower_declared(vars(module), hlo=args.hlo)
        except DeclarationError as exc:
            raise UsageError(f"{file}: {exc}") from None
        with corpus or Corpus(args.db) as target:
            result = add_pairs(target, pairs)
    finally:
        if corpus is not None:
            corpus.close()
    print(result.line(args.db))
    return 0


def merge_parser() -> ArgParser:
    p = ArgParser(
        prog="fuzzjax merge",
        description="Merge corpus files (e.g. the shards of a distributed run) into one corpus, "
        "deduplicated by IR hash. Sources are opened read-only and never modified.",
        parents=[db_parent(f"target corpus, created when missing (default {DEFAULT_DB})")],
    )
    p.add_argument("sources", nargs="+", metavar="SHARD.sqlite", help="corpus files to merge")
    return p


def cmd_merge(argv: Sequence[str]) -> int:
    args = merge_parser().parse_args(argv)
    from fuzzjax.corpus.merge import merge_corpora

    summary = merge_corpora(args.db, args.sources)
    print(summary.line(args.db))
    return 0
