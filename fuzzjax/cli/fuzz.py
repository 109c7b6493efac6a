"""``fuzzjax fuzz`` runs the differential fuzzer; ``fuzzjax shrink`` shrinks a finding again."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

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
from fuzzjax.fuzzing.cost import FEEDBACK_MODES
from fuzzjax.fuzzing.upstream import KNOWN_HITS

if TYPE_CHECKING:
    from fuzzjax.program import GenOptions

#: fuzz defaults: the whole input space (up to rank 8, occasional dimensions in the tens of
#: thousands and totals up to a million elements), several input sets per compile.
DEFAULT_MAX_ELEMENTS = 1 << 20
DEFAULT_INPUTS = 16

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
    add_gen_options(p, max_depth=4, max_rank=8)
    p.add_argument(
        "--max-elements",
        type=integer("--max-elements"),
        default=DEFAULT_MAX_ELEMENTS,
        help=f"elements per array (default {DEFAULT_MAX_ELEMENTS})",
    )
    p.add_argument(
        "--large-percent",
        type=integer("--large-percent", 0),
        default=2,
        help="percent of shapes with one large dimension, up to 65536 (default 2)",
    )
    p.add_argument(
        "--inputs",
        type=integer("--inputs"),
        default=DEFAULT_INPUTS,
        help="input sets per compiled program: mixed, random, special, near-overflow, "
        f"subnormal-heavy, repeating (default {DEFAULT_INPUTS})",
    )
    p.add_argument(
        "--eager",
        type=integer("--eager", 0),
        default=10,
        metavar="PERCENT",
        help="percent of programs also run eagerly on every input set; eager always runs when "
        "two other oracles disagree (default 10)",
    )
    p.add_argument(
        "--transforms",
        type=integer("--transforms", 0),
        default=10,
        metavar="PERCENT",
        help="percent of programs each transformation oracle checks (vmap, jvp_vs_vjp, "
        "grad_vs_fd, export_roundtrip; 0 = none; default 10)",
    )
    p.add_argument(
        "--no-o0", action="store_true", help="no optimised vs unoptimised (HLO passes off) oracle"
    )
    p.add_argument(
        "--no-benign",
        action="store_true",
        help="apply no benign rule: every difference is a bucket (to audit the registry)",
    )
    p.add_argument(
        "--no-swarm",
        action="store_true",
        help="no swarm testing (by default each program draws a random subset of families "
        "and dtypes)",
    )
    p.add_argument(
        "--feedback",
        choices=FEEDBACK_MODES,
        default="pairs",
        help="coverage feedback, recomputed every --epoch programs: pairs (default: alias "
        "weights toward the least covered operations, and the most tested operation pairs "
        "damped under their consumer), cost (pairs, and the operations whose programs cost "
        "this run the most time, e.g. hangs, drawn less often), alias (alias weights only), "
        "off",
    )
    p.add_argument(
        "--no-feedback", action="store_true", help="no coverage feedback (--feedback off)"
    )
    p.add_argument(
        "--known-hits",
        type=integer("--known-hits", minimum=0),
        default=KNOWN_HITS,
        metavar="N",
        help=f"with feedback, once the campaign has hit a known hang family N times (default "
        f"{KNOWN_HITS}; e.g. jnp.gcd/lcm on INT_MIN), its operations are drawn at the lowest "
        "weight, so the time goes to new findings; 0: never",
    )
    p.add_argument(
        "--epoch",
        type=integer("--epoch"),
        default=500,
        help="programs per worker pool and per weight update (default 500; with feedback the "
        "first epochs are shorter: 50 programs, doubling up to EPOCH)",
    )
    p.add_argument(
        "--options-json",
        metavar="JSON",
        default=None,
        help="exact generation options (GenOptions JSON, as in a failure's meta.json); "
        "replaces the generation flags and turns coverage feedback off; fuzzing never draws "
        "stateful forms (lax.rng_uniform), so stateful is false",
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
    if args.eager > 100 or args.large_percent > 100 or args.transforms > 100:
        raise UsageError("--eager, --large-percent and --transforms are percentages (0..100)")
    if args.options_json is not None:
        options = _options_json(args.options_json)
    else:
        options = gen_options(args, swarm=not args.no_swarm, large_percent=args.large_percent)
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
        inputs_per_program=args.inputs,
        eager_percent=args.eager,
        o0=not args.no_o0,
        feedback="off" if args.no_feedback or args.options_json is not None else args.feedback,
        epoch=args.epoch,
        known_hits=args.known_hits,
        benign=not args.no_benign,
        transforms_percent=args.transforms,
    )
    summary = run_fuzz(config)
    print(summary.line())
    print(summary.coverage_line())
    print("oracle runs: " + ", ".join(f"{k} {n}" for k, n in sorted(summary.oracles.items())))
    for rule, n in sorted(summary.benign.items()):
        print(f"  benign {rule}: {n}")
    from fuzzjax.fuzzing.triage import format_triage, read_entries

    entries = [e for e in read_entries(config.out) if e.key in summary.hits]
    for entry in entries:
        entry.hits = summary.hits[entry.key]  # this run's hits
        if entry.key in summary.new_buckets:
            entry.key += " (new)"
    print(f"buckets hit by this run, by verdict (all runs: python -m fuzzjax triage {config.out}):")
    print(format_triage(entries))
    for bug_id, aliases in sorted(summary.damped.items()):
        print(f"known bug {bug_id}: {', '.join(aliases)} drawn at weight 1 (--known-hits)")
    print(f"reproduce this run: {config.command()}")
    return 0


def triage_parser() -> ArgParser:
    p = ArgParser(
        prog="fuzzjax triage",
        description="Group a failures folder's buckets by verdict (JAX wrong, JAX deviation, "
        "no referee, known upstream, reference wrong, fuzzjax bug), then by stage and family, "
        "each with its repro command.",
    )
    p.add_argument("folder", nargs="?", default=DEFAULT_FAILURES, help="failures folder")
    return p


def cmd_triage(argv: Sequence[str]) -> int:
    args = triage_parser().parse_args(argv)
    from fuzzjax.fuzzing.triage import accepted_lines, format_triage, read_entries

    folder = Path(args.folder)
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a failures folder (no such directory)")
    print(format_triage(read_entries(folder)))
    accepted = accepted_lines(folder)
    if accepted:
        print("\n" + "\n".join(accepted) + "  (last run: benign.json)")
    return 0


def _options_json(text: str) -> GenOptions:
    """``--options-json``; an explicit ``stateful`` true is refused: the values of
    ``lax.rng_uniform`` change from run to run by design, which fuzzing's oracles would report
    (``FuzzConfig`` turns an absent one off)."""
    import json

    from fuzzjax.program import GenOptions

    try:
        options = GenOptions.from_json(text)
        asked = json.loads(text).get("stateful", False)
    except (ValueError, TypeError, AttributeError) as exc:
        raise UsageError(f"--options-json is not a GenOptions JSON object: {exc}") from None
    if asked is not False:
        raise UsageError(
            f"--options-json: stateful={json.dumps(asked)} cannot be fuzzed (lax.rng_uniform "
            "gives new values on every run); leave it out or set it to false"
        )
    return options


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
