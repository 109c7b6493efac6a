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
    workers_flag,
)

#: Seeds from 2**60 on name shrinking candidates in the worker protocol (``task.CANDIDATE_BASE``).
MAX_FUZZ_SEED = (1 << 60) - 1
#: ``--memory-mb`` bounds: below ~1 GB a worker cannot start JAX's CPU client (its threads'
#: stacks count against the limit), so every program would "abort"; the top is 1 PB.
memory_mb = integer("--memory-mb", 1024, 1 << 30)


def writable_folder(path: Path, flag: str) -> Path:
    """``path`` as a folder this process can write in (created when missing), or UsageError."""
    import tempfile

    if path.exists() and not path.is_dir():
        raise UsageError(f"{flag} {path} is a file; give a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise UsageError(f"{flag} {path} is not a writable folder: {exc.strerror}") from None
    return path


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
    p.add_argument(
        "--seed",
        type=integer("--seed", 0, MAX_FUZZ_SEED),
        default=0,
        help="first seed (default 0)",
    )
    p.add_argument(
        "--out", default=DEFAULT_FAILURES, help=f"failure folders (default {DEFAULT_FAILURES})"
    )
    p.add_argument("--workers", type=workers_flag(1), default=None, help="worker processes (cores)")
    p.add_argument(
        "--timeout", type=seconds("--timeout"), default=30.0, help="seconds per program (30)"
    )
    p.add_argument("--memory-mb", type=memory_mb, default=4096, help="memory per worker (4096)")
    p.add_argument("--no-shrink", action="store_true", help="do not shrink new buckets")
    p.add_argument(
        "--shrink-time", type=seconds("--shrink-time"), default=60.0, help="seconds per bucket"
    )
    p.add_argument("--quiet", action="store_true", help="no progress line")
    return p


def cmd_fuzz(argv: Sequence[str]) -> int:
    args = fuzz_parser().parse_args(argv)
    if args.count is not None and args.seed + args.count > MAX_FUZZ_SEED + 1:
        raise UsageError(f"--seed {args.seed} + --count {args.count} must be <= 2**60")
    options = gen_options(args)
    out = writable_folder(Path(args.out), "--out")
    from fuzzjax.fuzzing.campaign import FuzzConfig, run_fuzz
    from fuzzjax.workers import default_workers

    config = FuzzConfig(
        out=out,
        options=options,
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
    p.add_argument("--memory-mb", type=memory_mb, default=4096, help="memory per worker (4096)")
    return p


def cmd_shrink(argv: Sequence[str]) -> int:
    args = shrink_parser().parse_args(argv)
    from fuzzjax.fuzzing.meta import MAX_PROGRAM_BYTES, check_case
    from fuzzjax.fuzzing.repro import program_text
    from fuzzjax.fuzzing.shrink import load_target, reshrink_folder, shrink_case

    path = Path(args.path)
    if not path.exists():
        raise UsageError(f"{path} does not exist")
    if not path.is_dir():
        if not path.is_file():
            raise UsageError(f"{path} is neither a failure folder nor a program file")
        if path.stat().st_size > MAX_PROGRAM_BYTES:
            raise UsageError(f"{path} is larger than {MAX_PROGRAM_BYTES >> 20} MB: not a program")
    try:
        case, sig, meta = load_target(path)
    except (ValueError, OSError) as exc:  # a folder's meta.json is checked by load_meta
        raise UsageError(f"{path}: {exc}") from None
    if not path.is_dir():
        check_case(case, str(path))
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
