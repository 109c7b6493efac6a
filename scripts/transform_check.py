"""Measure the transformation oracles (fuzzjax.fuzzing.transforms*) on generated programs.

Usage: python scripts/transform_check.py [--programs N] [--start SEED] [--oracle NAME ...]
                                         [--inputs fuzz|plain] [--workers W] [--timeout S]
                                         [--batch B] [--platforms P,...] [--reasons]

Program ``seed`` is ``fuzzjax.generate(seed, max_depth=4, max_rank=4, max_elements=4096)``
with the inputs fuzz mode gives it (``derive_input_seed(seed)``), or edge-free ones
(``--inputs plain``, ``transforms.plain_inputs``); ``vmap`` stacks ``B - 1`` more input sets
(``transforms.batch_inputs``, or plain ones) with random ``in_axes``
(``transforms.vmap_axes(case, seed)``); ``--platforms cpu,cuda`` exports for both platforms.
Every (program, oracle) pair runs in a crash-isolating worker (``fuzzjax.workers.Pool``), so a
crash is counted, not fatal.

Prints per oracle: programs checked, applicable share, inconclusive, agreeing and differing
programs, crashes and timeouts, and ms per program (all programs, and applicable ones), then
the shortest differing programs with their detail and the command that reruns one.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

ORACLES = ("vmap", "jvp_vs_vjp", "grad_vs_fd", "export_roundtrip")
SHOWN = 5


@dataclass(frozen=True)
class Config:
    oracles: tuple[str, ...]
    batch: int
    plain: bool
    platforms: tuple[str, ...] | None


@dataclass
class Record:
    """One (program, oracle) run."""

    seed: int
    oracle: str
    status: str  # not_applicable | inconclusive | agree | differ
    detail: str
    ms: float
    source: str


def make_task(config: Config) -> Any:
    """The worker's task: task number ``n`` runs oracle ``n % len`` on program ``n // len``."""
    warnings.simplefilter("ignore")
    import jax

    from fuzzjax.fuzzing import transforms, transforms_ad
    from fuzzjax.fuzzing.case import Case
    from fuzzjax.fuzzing.inputs import derive_input_seed
    from fuzzjax.generation.generator import generate

    done = [0]

    def run(task: int) -> Record:
        seed, oracle = divmod(task, len(config.oracles))
        name = config.oracles[oracle]
        program = generate(seed, max_depth=4, max_rank=4, max_elements=4096)
        input_seed = derive_input_seed(seed)
        if config.plain:
            inputs = transforms.plain_inputs(program.args, input_seed)
        else:
            inputs = program.inputs(input_seed)
        case = Case(
            program.source, program.args, inputs, program.result_dtype, program.result_shape
        )
        notes: list[str] = []
        start = time.perf_counter()
        if name == "vmap":
            batch = [
                transforms.plain_inputs(case.args, input_seed + k) if config.plain else inputs
                for k, inputs in enumerate(
                    transforms.batch_inputs(case.args, input_seed, config.batch - 1), 1
                )
            ]
            axes = transforms.vmap_axes(case, seed)
            failure = transforms.check_vmap(case, batch, axes=axes, notes=notes)
        elif name == "jvp_vs_vjp":
            failure = transforms_ad.check_jvp_vs_vjp(case, seed=seed, notes=notes)
        elif name == "grad_vs_fd":
            failure = transforms_ad.check_grad_vs_fd(case, seed=seed, notes=notes)
        else:
            failure = transforms.check_export_roundtrip(
                case, platforms=config.platforms, notes=notes
            )
        ms = (time.perf_counter() - start) * 1000
        done[0] += 1
        if done[0] % 50 == 0:
            jax.clear_caches()
        if failure is not None:
            text = f"{failure.symptom.value}: {failure.detail}"
            return Record(seed, name, "differ", text, ms, program.source)
        status, detail = notes[0].split(": ", 1)
        return Record(seed, name, status.replace(" ", "_"), detail, ms, program.source)

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--programs", type=int, default=300)
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--oracle", action="append", choices=ORACLES)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--batch", type=int, default=3)
    parser.add_argument(
        "--inputs",
        choices=("fuzz", "plain"),
        default="fuzz",
        help="fuzz-mode inputs (edge values) or transforms.plain_inputs",
    )
    parser.add_argument("--platforms", default="", help="export for these, e.g. cpu,cuda")
    parser.add_argument("--reasons", action="store_true", help="list not-applicable reasons")
    args = parser.parse_args(argv)
    if args.programs < 1 or args.batch < 1 or args.workers < 1:
        print("--programs, --batch and --workers must be >= 1", file=sys.stderr)
        return 2
    from fuzzjax.workers import OutcomeKind, Pool

    platforms = tuple(args.platforms.split(",")) if args.platforms else None
    config = Config(tuple(args.oracle or ORACLES), args.batch, args.inputs == "plain", platforms)
    n = len(config.oracles)
    tasks = range(args.start * n, (args.start + args.programs) * n)
    records: dict[str, list[Record]] = defaultdict(list)
    lost: dict[str, Counter[str]] = defaultdict(Counter)
    began = time.perf_counter()
    with Pool(make_task, config, workers=args.workers, timeout=args.timeout) as pool:
        for outcome in pool.imap(iter(tasks)):
            seed, oracle = divmod(outcome.seed, n)
            name = config.oracles[oracle]
            if outcome.kind is OutcomeKind.OK and outcome.result is not None:
                records[name].append(outcome.result)
            else:
                lost[name][outcome.kind.value] += 1
                print(f"seed {seed} {name}: {outcome.kind.value} {outcome.error}", flush=True)
    wall = time.perf_counter() - began
    print(
        f"# {args.programs} programs from seed {args.start}, {args.inputs} inputs, "
        f"batch {args.batch}, {args.workers} worker(s), {wall:.0f} s wall"
    )
    for name in config.oracles:
        _report(name, records[name], lost[name], args)
    return 0


def _report(name: str, rows: list[Record], lost: Counter[str], args: argparse.Namespace) -> None:
    status = Counter(r.status for r in rows)
    checked = len(rows) + sum(lost.values())
    ran = [r for r in rows if r.status != "not_applicable"]
    applicable = len(ran) + sum(lost.values())
    ms_all = sum(r.ms for r in rows) / max(1, len(rows))
    ms_ran = sum(r.ms for r in ran) / max(1, len(ran))
    print(f"\n## {name}")
    share = 100 * applicable / max(1, checked)
    print(
        f"programs checked {checked}; applicable {applicable} ({share:.0f}%); "
        f"agree {status['agree']}; inconclusive {status['inconclusive']}; "
        f"differ {status['differ']}; crash {lost['crash']}; "
        f"timeout {lost['timeout']}"
    )
    print(f"ms per program: {ms_all:.0f} over all, {ms_ran:.0f} over applicable")
    if args.reasons:
        for title, kind in (("not applicable", "not_applicable"), ("inconclusive", "inconclusive")):
            reasons = Counter(_family(r.detail) for r in rows if r.status == kind)
            for reason, count in reasons.most_common(12):
                print(f"  {title} {count:4d}  {reason}")
    sharp = sorted(
        _number(r.detail, "relative tolerance")
        for r in rows
        if r.status == "agree" and "relative tolerance" in r.detail
    )
    if sharp:
        quantiles = [sharp[int(q * (len(sharp) - 1))] for q in (0.5, 0.9, 1.0)]
        print(
            "relative tolerance when agreeing: median {:.2g}, 90% {:.2g}, max {:.2g}".format(
                *quantiles
            )
        )
    bits = Counter(r.detail == "bitwise" for r in rows if r.status == "agree")
    if name in ("vmap", "export_roundtrip"):
        print(f"agreeing bitwise {bits[True]}, within tolerance only {bits[False]}")
        if args.reasons:
            for r in rows:
                if r.status == "agree" and r.detail != "bitwise":
                    print(f"  within tolerance: seed {r.seed}: {r.detail}")
    differ = sorted((r for r in rows if r.status == "differ"), key=lambda r: len(r.source))
    for r in differ[:SHOWN]:
        print(f"- seed {r.seed}: {r.detail}")
        print("  " + r.source.strip().replace("\n", "\n  "))
        print(
            f"  rerun: python scripts/transform_check.py --start {r.seed} --programs 1 "
            f"--oracle {name} --inputs {args.inputs}"
        )
    if len(differ) > SHOWN:
        print(f"- ... and {len(differ) - SHOWN} more: seeds {[r.seed for r in differ[SHOWN:]]}")


def _number(detail: str, label: str) -> float:
    """The number after ``label`` in a note."""
    import re

    found = re.search(re.escape(label) + r" ([-+0-9.e]+|inf|nan)", detail)
    return float(found.group(1)) if found else 0.0


def _family(detail: str) -> str:
    """A reason without its numbers and names, to count reasons of one kind together."""
    import re

    return re.sub(r"\b(x\d+|[-+]?\d[\d.e+-]*)\b", "#", detail)[:100]


if __name__ == "__main__":
    raise SystemExit(main())
