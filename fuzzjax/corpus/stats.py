"""Corpus statistics: sizes, depth/dtype/category mix, top ops, lengths, duplicates, failures.

With ``platform_ir`` rows (``--platforms``), ``"platforms"`` also says how many programs lower
differently across platforms and which op kinds and ``custom_call`` targets make them differ.

``corpus_stats`` reads the corpus in one streaming pass and returns a JSON-ready dict;
``format_stats`` renders it as the table ``python -m fuzzjax stats`` prints. Lengths are in
characters; percentiles are nearest-rank (the smallest value with at least p% of values <= it).
"""

from __future__ import annotations

import itertools
import math
from array import array
from collections import Counter
from typing import Any

from fuzzjax.corpus.provenance import option_groups, profile_counts
from fuzzjax.corpus.store import Corpus

PERCENTILES = (50, 90, 99)


def percentiles(values: array[int], ps: tuple[int, ...] = PERCENTILES) -> dict[str, int]:
    """Nearest-rank percentiles ``{"p50": ..., ...}`` of ``values``; {} when empty."""
    if not values:
        return {}
    ordered = sorted(values)
    return {f"p{p}": ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] for p in ps}


def corpus_stats(corpus: Corpus, top: int = 15, *, lengths: bool = False) -> dict[str, Any]:
    """Summary numbers of a corpus as a JSON-ready dict.

    ``top`` is the number of StableHLO op kinds listed. ``lengths=True`` adds
    ``"lengths": [[source_chars, ir_chars, is_user], ...]`` per pair (for plots; large).
    """
    db = corpus.db
    by_depth: Counter[int] = Counter()
    by_category: Counter[str] = Counter()
    dtype_params: Counter[str] = Counter()
    dtype_programs: Counter[str] = Counter()
    ops: Counter[str] = Counter()
    programs_with: Counter[str] = Counter()
    source_len: array[int] = array("q")
    ir_len: array[int] = array("q")
    user: array[int] = array("b")
    rows = db.execute(
        "SELECT id, depth, category, input_info, op_counts, length(source), length(stablehlo)"
        " FROM pairs ORDER BY id"
    )
    for row_id, depth, category, info, counts_text, n_source, n_ir in rows:
        if depth is not None:
            by_depth[int(depth)] += 1
        by_category[str(category)] += 1
        dtypes = [str(a["dtype"]) for a in corpus.decode("pairs", "input_info", row_id, info)]
        dtype_params.update(dtypes)
        dtype_programs.update(set(dtypes))
        counts = corpus.decode("pairs", "op_counts", row_id, counts_text)
        ops.update(counts)
        programs_with.update(counts.keys())
        source_len.append(int(n_source))
        ir_len.append(int(n_ir))
        user.append(category == "user")
    pairs = len(source_len)
    outcomes = corpus.outcome_counts()
    processed = sum(outcomes.values())
    duplicates = outcomes.get("duplicate", 0)
    stored_or_dup = processed - outcomes.get("failed", 0)
    stablehlo_ops = Counter({k: n for k, n in ops.items() if k.startswith("stablehlo.")})
    dups_by_depth = duplicates_by_depth(corpus)
    stats: dict[str, Any] = {
        "db": str(corpus.path),
        "pairs": pairs,
        "distinct_ir_hashes": int(
            db.execute("SELECT COUNT(DISTINCT ir_hash) FROM pairs").fetchone()[0]
        ),
        "profiles": profile_counts(option_groups(corpus)),
        "by_depth": dict(sorted(by_depth.items())),
        "unmeasured_depth": pairs - sum(by_depth.values()),
        "by_category": dict(by_category.most_common()),
        "dtype_params": dict(dtype_params.most_common()),
        "dtype_programs": dict(dtype_programs.most_common()),
        "seeds_processed": processed,
        "duplicates": duplicates,
        "duplicate_rate": duplicates / stored_or_dup if stored_or_dup else None,
        "duplicate_rate_by_depth": {d: dup / n for d, (dup, n) in dups_by_depth.items()},
        "duplicates_by_depth": dups_by_depth,
        "failures": corpus.failure_count(),
        "failures_by_stage": dict(
            db.execute("SELECT stage, COUNT(*) FROM failures GROUP BY stage ORDER BY 2 DESC")
        ),
        "validity_rate": (processed - outcomes.get("failed", 0)) / processed if processed else None,
        "distinct_op_kinds": len(ops),
        "top_ops": stablehlo_ops.most_common(top),
        "top_ops_by_programs": [
            (op, programs_with[op]) for op, _ in stablehlo_ops.most_common(top)
        ],
        "other_ops": dict(sorted((k, n) for k, n in ops.items() if k not in stablehlo_ops)),
        "source_chars": percentiles(source_len),
        "ir_chars": percentiles(ir_len),
        "platforms": platform_stats(corpus),
    }
    if lengths:
        stats["lengths"] = [list(t) for t in zip(source_len, ir_len, user, strict=True)]
    return stats


def platform_stats(corpus: Corpus) -> dict[str, Any] | None:
    """Cross-platform summary of ``platform_ir``; None when the corpus has no platform rows.

    ``differ`` counts programs lowered for 2+ platforms whose texts are not all equal;
    ``differing_ops`` / ``differing_custom_calls`` count, per op kind / ``custom_call`` target,
    the programs where its count is not the same on every platform; ``differing_pairs`` counts
    programs per pair of platforms whose texts differ.
    """
    if not corpus.platform_count():
        return None
    # Imported here: fuzzjax.lowering.platforms imports JAX, which a CPU-only corpus's stats
    # (and `fuzzjax report`) do not need.
    from fuzzjax.lowering.platforms import differing_keys, platforms_differ

    rows_by_platform: Counter[str] = Counter()
    artifacts = multi = differ = 0
    ops: Counter[str] = Counter()
    calls: Counter[str] = Counter()
    pairs: Counter[str] = Counter()
    by_platform: dict[str, Counter[str]] = {}
    rows = corpus.db.execute(
        "SELECT ir_hash, platform, platform_hash, op_counts, custom_calls, artifact IS NOT NULL"
        " FROM platform_ir ORDER BY ir_hash, platform"
    )
    for _, group in itertools.groupby(rows, key=lambda r: r[0]):
        program = [
            (
                p,
                h,
                corpus.decode("platform_ir", "op_counts", key, o),
                corpus.decode("platform_ir", "custom_calls", key, c),
                a,
            )
            for key, p, h, o, c, a in group
        ]
        for platform, _, _, custom, artifact in program:
            rows_by_platform[platform] += 1
            artifacts += int(artifact)
            by_platform.setdefault(platform, Counter()).update(custom.keys())
        if len(program) < 2:
            continue
        multi += 1
        if not platforms_differ(h for _, h, _, _, _ in program):
            continue
        differ += 1
        ops.update(differing_keys({p: o for p, _, o, _, _ in program}))
        calls.update(differing_keys({p: c for p, _, _, c, _ in program}))
        pairs.update(
            f"{a[0]}/{b[0]}" for a, b in itertools.combinations(program, 2) if a[1] != b[1]
        )
    return {
        "rows_by_platform": dict(rows_by_platform),
        "artifacts": artifacts,
        "programs": multi,
        "differ": differ,
        "differing_pairs": dict(pairs.most_common()),
        "differing_ops": dict(ops.most_common()),
        "differing_custom_calls": dict(calls.most_common()),
        "custom_calls_by_platform": {p: dict(c.most_common()) for p, c in by_platform.items()},
    }


def duplicates_by_depth(corpus: Corpus) -> dict[int, list[int]]:
    """Per depth, ``[duplicates, lowered seeds]`` (stored or duplicate; failures excluded)."""
    tally: dict[int, Counter[str]] = {}
    rows = corpus.db.execute(
        "SELECT depth, outcome, COUNT(*) FROM seeds WHERE outcome != 'failed'"
        " GROUP BY depth, outcome"
    )
    for depth, outcome, n in rows:
        if depth is not None:
            tally.setdefault(int(depth), Counter())[outcome] += int(n)
    return {
        depth: [counter["duplicate"], total]
        for depth, counter in sorted(tally.items())
        if (total := sum(counter.values()))
    }


def format_stats(s: dict[str, Any]) -> str:
    """Human-readable table of ``corpus_stats`` output."""
    db = s.get("db", "corpus/fuzzjax.sqlite")
    if not s["pairs"] and not s["seeds_processed"] and not s["failures"]:
        return (
            f"corpus {db} is empty (no pairs, no seeds processed): build one with "
            f"`python -m fuzzjax --count 1000 --db {db}`"
        )
    pct = 100.0
    lines = [
        f"pairs               {s['pairs']}",
        f"distinct IR hashes  {s['distinct_ir_hashes']}",
        "profile             "
        + (", ".join(f"{p} ({n} pairs)" for p, n in s["profiles"].items()) or "none"),
        f"seeds processed     {s['seeds_processed']}",
        f"duplicates skipped  {s['duplicates']}"
        + (
            f"  ({pct * s['duplicate_rate']:.2f}% of lowered seeds)"
            if s.get("duplicate_rate") is not None
            else ""
        ),
        f"failures            {s['failures']}"
        + (
            "  (" + ", ".join(f"{k} {n}" for k, n in s["failures_by_stage"].items()) + ")"
            if s.get("failures_by_stage")
            else ""
        ),
    ]
    if s["validity_rate"] is not None:
        lines.append(f"validity rate       {pct * s['validity_rate']:.2f}%")
    if s["failures"]:
        lines.append(
            f"  see the failures table of {db}; reproduce one with "
            f"`python -m fuzzjax replay SEED --db {db} --ir`"
        )
    if not s["pairs"]:
        return "\n".join(lines)
    lines += ["", f"{'length (chars)':<14}" + "".join(f"{f'p{p}':>8}" for p in PERCENTILES)]
    for label, key in (("source", "source_chars"), ("StableHLO", "ir_chars")):
        values = s.get(key, {})
        lines.append(f"{label:<14}" + "".join(f"{values.get(f'p{p}', 0):>8}" for p in PERCENTILES))
    lines += ["", "depth  pairs   duplicate rate"]
    for depth, n in s["by_depth"].items():
        dup = s["duplicate_rate_by_depth"].get(depth)
        rate = f"{pct * dup:6.2f}%" if dup is not None else "     -"
        lines.append(f"{depth:>5}  {n:>6}  {rate}")
    if s.get("unmeasured_depth"):
        lines.append(f"    -  {s['unmeasured_depth']:>6}  (depth not measured: user functions)")
    lines += ["", "category      pairs"]
    lines += [f"{cat:<12}  {n:>6}" for cat, n in s["by_category"].items()]
    params = s.get("dtype_params", {})
    if params:
        total = sum(params.values())
        lines += ["", "dtype        params   share   programs"]
        for dtype, n in params.items():
            programs = s["dtype_programs"].get(dtype, 0)
            lines.append(f"{dtype:<11} {n:>7}  {pct * n / total:5.1f}%  {programs:>9}")
    lines += ["", f"{'top StableHLO ops':<34} {'count':>8}   {'programs':>8}"]
    with_programs = dict(s["top_ops_by_programs"])
    for op, n in s["top_ops"]:
        lines.append(f"  {op:<32} {n:>8}   {with_programs.get(op, 0):>8}")
    if s.get("other_ops"):
        others = ", ".join(f"{op} {n}" for op, n in s["other_ops"].items())
        lines.append(f"  other: {others}")
    lines.append(f"  ({s['distinct_op_kinds']} op kinds in all)")
    if s.get("platforms"):
        lines += ["", *_format_platforms(s["platforms"])]
    lines += ["", f"grammar coverage and all op kinds: python -m fuzzjax coverage --db {db}"]
    return "\n".join(lines)


def _format_platforms(p: dict[str, Any]) -> list[str]:
    rows = ", ".join(f"{k} {n}" for k, n in p["rows_by_platform"].items())
    lines = [
        f"platform rows       {rows} ({p['artifacts']} with artifacts)",
        f"platforms differ    {p['differ']} of {p['programs']} programs lowered for 2+ platforms",
    ]
    for label, key in (("between", "differing_pairs"), ("ops", "differing_ops")):
        if p[key]:
            lines.append(f"  {label}: " + ", ".join(f"{k} {n}" for k, n in p[key].items()))
    if p["differing_custom_calls"]:
        calls = ", ".join(f"@{k} {n}" for k, n in p["differing_custom_calls"].items())
        lines.append(f"  custom_call targets: {calls}")
    return lines
