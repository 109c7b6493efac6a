"""How much pair steering can do for a campaign: repeats in its ledger, and programs it changes.

Usage: python scripts/pair_coverage.py DIR/campaign.sqlite [--seeds N] [--seed S]
       [--min-depth D] [--max-depth D]

A ledger's ``pair:`` and ``pairclass:`` counts are the programs that tested each cell, so
their sum over the distinct cells is the share of draws that repeated a cell: the most that
steering toward untested pairs could turn into new cells. The pair weights the ledger yields
(``fuzzjax.fuzzing.coverage.pair_weights``) are then applied to N seeds with the fuzz
defaults and the ledger's alias weights; the script counts the programs they change.
"""

from __future__ import annotations

import argparse
import dataclasses
import sqlite3
from collections import Counter
from contextlib import closing


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("ledger")
    p.add_argument("--seeds", type=int, default=300)
    p.add_argument("--seed", type=int, default=7400000)
    p.add_argument("--min-depth", type=int, default=1)
    p.add_argument("--max-depth", type=int, default=4)
    args = p.parse_args()

    from fuzzjax.fuzzing.coverage import alias_weights, pair_weights
    from fuzzjax.generation.generator import generate
    from fuzzjax.program import GenOptions

    with closing(sqlite3.connect(f"file:{args.ledger}?mode=ro", uri=True)) as db:
        counts = Counter(dict(db.execute("SELECT cell, count FROM coverage").fetchall()))
    for kind in ("pair", "pairclass"):
        values = [n for cell, n in counts.items() if cell.startswith(kind + ":")]
        drawn, distinct = sum(values), len(values)
        share = (drawn - distinct) / drawn if drawn else 0.0
        print(f"{kind}: {distinct} distinct cells in {drawn} program draws: {share:.1%} repeats")
    base = GenOptions(
        max_depth=args.max_depth,
        min_depth=args.min_depth,
        max_elements=1 << 20,
        large_percent=2,
        swarm=True,
        weights=alias_weights(counts),
    )
    steered = dataclasses.replace(base, pair_weights=pair_weights(counts))
    seeds = range(args.seed, args.seed + args.seeds)
    changed = sum(generate(s, base).source != generate(s, steered).source for s in seeds)
    print(
        f"{len(steered.pair_weights)} pair weights; they change {changed} of {args.seeds} "
        f"programs (depth {args.min_depth}..{args.max_depth}, seeds from {args.seed})"
    )


if __name__ == "__main__":
    main()
