"""Dataset quality figures of the two generation profiles (issue 16, notes/dataset.md).

Usage::

    python scripts/dataset_figures.py --count 10000 --out /tmp/profiles [--workers 2]
        [--max-depth 5] [--rounds 4] [--json FIGURES.json] [--no-build]

Builds ``OUT/breadth.sqlite`` and ``OUT/realistic.sqlite`` (``python -m fuzzjax --profile P
--max-depth 5 --count N`` does the same, one corpus at a time) in alternating rounds (each
corpus grows to N/rounds, 2N/rounds, ... pairs in turn), so both profiles' pairs/s are
measured in the same session under the same machine load. Corpora that already exist are
resumed (the time of earlier runs is not counted); ``--no-build`` only reads existing corpora
(pairs/s is then 0), e.g. ones an older fuzzjax built. Then, per profile:

* validity (seeds whose program lowered, of seeds processed) and failures;
* duplicate rate per depth (duplicates skipped, of lowered seeds at that depth);
* op kinds: ``stablehlo.*``, ``stablehlo.*`` and ``chlo.*``, and every dialect
  (``func.*``, ``sdy.*`` too);
* real call-site coverage: the share of ``data/real_usage.json``'s call sites whose callable
  the grammar can generate, and whose callable the corpus contains;
* Jensen-Shannon divergence (base 2) of the corpus's callable distribution from the table's;
* the depth histogram of stored pairs against the requested one (uniform over 1..max-depth);
* pairs/s (stored pairs over the seconds spent building them), and realistic/breadth.

Prints a markdown table and, with ``--json``, writes every figure.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from fuzzjax.corpus.build import build_corpus
from fuzzjax.corpus.coverage import call_site_coverage, grammar_coverage
from fuzzjax.corpus.stats import corpus_stats
from fuzzjax.corpus.store import Corpus
from fuzzjax.program import PROFILES, GenOptions

#: Dialects counted as StableHLO-level ops (``chlo`` decomposes into ``stablehlo`` later).
HLO = ("stablehlo.", "chlo.")


def build(out: Path, count: int, max_depth: int, workers: int, rounds: int) -> dict[str, Any]:
    """Grow both corpora in alternating rounds; seconds and pairs stored per profile."""
    timing = {p: {"seconds": 0.0, "stored": 0} for p in PROFILES}
    for r in range(1, rounds + 1):
        target = count * r // rounds
        for profile in PROFILES:
            options = GenOptions(max_depth=max_depth, profile=profile)
            summary = build_corpus(
                out / f"{profile}.sqlite", count=target, options=options, workers=workers
            )
            timing[profile]["seconds"] += summary.seconds
            timing[profile]["stored"] += summary.stored
            print(f"round {r}/{rounds} {profile}: {summary.line()}", file=sys.stderr)
    return timing


def figures(db: Path, max_depth: int) -> dict[str, Any]:
    """The quality figures of one corpus."""
    with Corpus(db, create=False) as corpus:
        stats = corpus_stats(corpus)
        cov = grammar_coverage(corpus)
    calls = call_site_coverage(reached=cov["reached"], occurrences=cov["occurrences"])
    pairs = stats["pairs"]
    requested = 1 / max_depth
    depth_share = {d: stats["by_depth"].get(d, 0) / pairs for d in range(1, max_depth + 1)}
    return {
        "pairs": pairs,
        "seeds_processed": stats["seeds_processed"],
        "validity_rate": stats["validity_rate"],
        "failures": stats["failures"],
        "duplicate_rate_by_depth": stats["duplicate_rate_by_depth"],
        "duplicate_rate_depth_ge_3": _rate(stats["duplicates_by_depth"], 3),
        "stablehlo_op_kinds": cov["stablehlo_op_kinds"],
        "stablehlo_chlo_op_kinds": len([op for op in cov["ops"] if op.startswith(HLO)]),
        "op_kinds": cov["op_kinds"],
        "grammar_call_site_share": calls["grammar_share"],
        "corpus_call_site_share": calls["corpus_share"],
        "js_divergence": calls["js_divergence"],
        "depth_share": depth_share,
        "depth_requested_share": requested,
        "depth_worst_relative_error": max(
            abs(s - requested) / requested for s in depth_share.values()
        ),
    }


def _rate(by_depth: dict[int, list[int]], lowest: int) -> float:
    dup = sum(d for depth, (d, _) in by_depth.items() if depth >= lowest)
    n = sum(n for depth, (_, n) in by_depth.items() if depth >= lowest)
    return dup / n if n else 0.0


def table(result: dict[str, Any]) -> str:
    """The figures as a markdown table, one column per profile."""
    per = result["profiles"]
    rows = [
        ("pairs", lambda f: str(f["pairs"])),
        ("seeds processed", lambda f: str(f["seeds_processed"])),
        ("valid (lowered / processed)", lambda f: f"{100 * f['validity_rate']:.2f}%"),
        ("duplicates, depth >= 3", lambda f: f"{100 * f['duplicate_rate_depth_ge_3']:.2f}%"),
        (
            "duplicates by depth",
            lambda f: ", ".join(
                f"{d}: {100 * r:.1f}%" for d, r in sorted(f["duplicate_rate_by_depth"].items())
            ),
        ),
        ("StableHLO op kinds", lambda f: str(f["stablehlo_op_kinds"])),
        ("stablehlo + chlo op kinds", lambda f: str(f["stablehlo_chlo_op_kinds"])),
        ("op kinds, every dialect", lambda f: str(f["op_kinds"])),
        ("real call sites the grammar covers", lambda f: _pct(f["grammar_call_site_share"])),
        ("real call sites the corpus covers", lambda f: _pct(f["corpus_call_site_share"])),
        ("JS divergence from real callables", lambda f: f"{f['js_divergence']:.3f}"),
        (
            "depth shares (requested 1/max each)",
            lambda f: ", ".join(f"{d}: {100 * s:.1f}%" for d, s in f["depth_share"].items()),
        ),
        ("worst depth share vs requested", lambda f: _pct(f["depth_worst_relative_error"])),
        ("pairs/s", lambda f: f"{f['pairs_per_second']:.1f}"),
    ]
    lines = ["| figure | " + " | ".join(per) + " |", "|---|" + "---|" * len(per)]
    lines += [f"| {name} | " + " | ".join(get(per[p]) for p in per) + " |" for name, get in rows]
    lines.append(f"\nrealistic / breadth pairs/s: {result['realistic_over_breadth']:.2f}")
    return "\n".join(lines)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--count", type=int, default=10000)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--max-depth", type=int, default=5)
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--json", type=Path)
    p.add_argument("--no-build", action="store_true", help="only read existing corpora")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.no_build:
        timing = {profile: {"seconds": 0.0, "stored": 0} for profile in PROFILES}
    else:
        timing = build(args.out, args.count, args.max_depth, args.workers, args.rounds)
    per: dict[str, Any] = {}
    for profile in PROFILES:
        per[profile] = figures(args.out / f"{profile}.sqlite", args.max_depth)
        t = timing[profile]
        per[profile]["build_seconds"] = round(t["seconds"], 1)
        per[profile]["pairs_per_second"] = t["stored"] / t["seconds"] if t["seconds"] else 0.0
    breadth = per["breadth"]["pairs_per_second"]
    result = {
        "command": " ".join(["python", "scripts/dataset_figures.py", *sys.argv[1:]]),
        "profiles": per,
        "realistic_over_breadth": per["realistic"]["pairs_per_second"] / breadth
        if breadth
        else 0.0,
    }
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    print(table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
