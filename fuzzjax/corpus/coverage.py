"""``python -m fuzzjax coverage``: which grammar alternatives and StableHLO ops a corpus reaches.

Alternatives are read from the Lark parse of every stored generated source (an independent
check: not from generator bookkeeping). User-added functions that are outside the grammar are
skipped.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from fuzzjax.corpus.store import Corpus
from fuzzjax.rules.table import TABLE
from fuzzjax.syntax import ProgramSyntaxError, aliases_used, operation_aliases, parse


def grammar_coverage(corpus: Corpus) -> dict[str, Any]:
    """Programs per grammar alternative, alternatives not reached, and StableHLO op kinds."""
    reached: Counter[str] = Counter()
    ops: Counter[str] = Counter()
    parsed = skipped = 0
    for row in corpus.iter_pairs(["source", "op_counts"]):
        ops.update(json.loads(row["op_counts"]))
        try:
            tree = parse(row["source"])
        except ProgramSyntaxError:
            skipped += 1
            continue
        parsed += 1
        reached.update(aliases_used(tree))
    alternatives = sorted(operation_aliases())
    return {
        "programs_parsed": parsed,
        "programs_skipped": skipped,
        "alternatives": len(alternatives),
        "reached": {a: reached[a] for a in alternatives if reached[a]},
        "not_reached": [a for a in alternatives if not reached[a]],
        "stablehlo_op_kinds": len([op for op in ops if op.startswith("stablehlo.")]),
        "op_kinds": len(ops),
        "ops": dict(ops.most_common()),
    }


def format_coverage(cov: dict[str, Any], top: int = 0) -> str:
    n = cov["alternatives"]
    reached = cov["reached"]
    lines = [
        f"grammar alternatives reached: {len(reached)}/{n} "
        f"({cov['programs_parsed']} programs parsed, {cov['programs_skipped']} skipped)",
    ]
    by_family: dict[str, list[str]] = {}
    for alias in sorted(reached, key=lambda a: (TABLE[a].family, a)):
        by_family.setdefault(TABLE[alias].family, []).append(f"{alias}={reached[alias]}")
    for family, entries in by_family.items():
        lines.append(f"  {family:<13} " + ", ".join(entries))
    missing = cov["not_reached"]
    lines.append(f"not reached ({len(missing)}): {', '.join(missing) if missing else '-'}")
    lines.append("")
    lines.append(
        f"StableHLO op kinds: {cov['stablehlo_op_kinds']} "
        f"({cov['op_kinds']} operation kinds incl. func/chlo)"
    )
    ops: list[tuple[str, int]] = list(cov["ops"].items())
    for op, count in ops[: top or len(ops)]:
        lines.append(f"  {op:<40} {count:>9}")
    return "\n".join(lines)
