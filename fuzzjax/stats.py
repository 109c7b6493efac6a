"""Corpus statistics: counts by depth and category, validity, duplicates, top StableHLO ops."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from .corpus import Corpus


def corpus_stats(corpus: Corpus, top: int = 15) -> dict[str, Any]:
    """Summary numbers of a corpus as a JSON-ready dict."""
    db = corpus.db
    pairs = corpus.count()
    by_depth = {
        int(d): int(n)
        for d, n in db.execute("SELECT depth, COUNT(*) FROM pairs GROUP BY depth ORDER BY depth")
        if d is not None
    }
    by_category = dict(db.execute("SELECT category, COUNT(*) FROM pairs GROUP BY category"))
    distinct = int(db.execute("SELECT COUNT(DISTINCT ir_hash) FROM pairs").fetchone()[0])
    outcomes = corpus.outcome_counts()
    processed = sum(outcomes.values())
    failed = outcomes.get("failed", 0)
    ops: Counter[str] = Counter()
    programs_with: Counter[str] = Counter()
    for (text,) in db.execute("SELECT op_counts FROM pairs"):
        counts = json.loads(text)
        ops.update(counts)
        programs_with.update(counts.keys())
    dup_by_depth: dict[int, float] = {}
    rows = db.execute(
        "SELECT depth, outcome, COUNT(*) FROM seeds WHERE outcome != 'failed'"
        " GROUP BY depth, outcome"
    )
    tally: dict[int, Counter[str]] = {}
    for depth, outcome, n in rows:
        if depth is not None:
            tally.setdefault(int(depth), Counter())[outcome] += int(n)
    for depth, counter in sorted(tally.items()):
        total = sum(counter.values())
        dup_by_depth[depth] = counter["duplicate"] / total if total else 0.0
    return {
        "pairs": pairs,
        "distinct_ir_hashes": distinct,
        "by_depth": by_depth,
        "by_category": by_category,
        "seeds_processed": processed,
        "duplicates": outcomes.get("duplicate", 0),
        "failures": corpus.failure_count(),
        "validity_rate": (processed - failed) / processed if processed else None,
        "duplicate_rate_by_depth": dup_by_depth,
        "distinct_op_kinds": len(ops),
        "top_ops": ops.most_common(top),
        "top_ops_by_programs": programs_with.most_common(top),
    }


def format_stats(s: dict[str, Any]) -> str:
    """Human-readable table of ``corpus_stats`` output."""
    if not s["pairs"] and not s["seeds_processed"]:
        return "corpus is empty: build one with `python -m fuzzjax --count N`"
    lines = [
        f"pairs               {s['pairs']}",
        f"distinct IR hashes  {s['distinct_ir_hashes']}",
        f"seeds processed     {s['seeds_processed']}",
        f"duplicates skipped  {s['duplicates']}",
        f"failures            {s['failures']}",
    ]
    if s["validity_rate"] is not None:
        lines.append(f"validity rate       {100 * s['validity_rate']:.2f}%")
    lines.append("")
    lines.append("depth  pairs   duplicate rate")
    for depth, n in s["by_depth"].items():
        dup = s["duplicate_rate_by_depth"].get(depth, 0.0)
        lines.append(f"{depth:>5}  {n:>6}  {100 * dup:6.2f}%")
    if s["by_category"]:
        lines.append("")
        lines.append("category      pairs")
        for cat, n in sorted(s["by_category"].items(), key=lambda kv: -kv[1]):
            lines.append(f"{str(cat):<12}  {n:>6}")
    lines.append("")
    lines.append(f"top StableHLO ops ({s['distinct_op_kinds']} kinds)   count   programs")
    with_programs = dict(s["top_ops_by_programs"])
    for op, n in s["top_ops"]:
        lines.append(f"  {op:<32} {n:>8}   {with_programs.get(op, '')}")
    return "\n".join(lines)
