"""The plain-text summary at the top of a report, made to be pasted into an issue.

Stored strings (keys, commands, versions) are put on one line each (``clean``): a value with a
newline cannot add lines of its own to the summary. The HTML page escapes the text as a whole.
"""

from __future__ import annotations

import re

from fuzzjax.report.fromcorpus import CorpusPart
from fuzzjax.report.fromfailures import Bucket, FailuresPart

#: Buckets listed in the summary (most hits first); the page lists all of them.
MAX_BUCKETS = 15
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def clean(value: str, limit: int = 300) -> str:
    """``value`` on one line (control characters and line breaks become one space)."""
    flat = _CONTROL.sub(" ", value).strip()
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _corpus_lines(c: CorpusPart) -> list[str]:
    s = c.stats
    counts = dict(c.counts)
    depths = [int(d) for d in s["by_depth"]]
    lines = [
        f"Corpus {clean(c.db)}: {s['pairs']} pairs, {s['seeds_processed']} seeds processed, "
        f"{counts['duplicates skipped']} duplicates skipped, {counts['failures']} failures, "
        f"validity {counts['validity rate']}.",
    ]
    if depths:
        categories = ", ".join(f"{clean(k, 40)} {n}" for k, n in s["by_category"].items())
        lines.append(f"  depths {min(depths)}..{max(depths)}; categories: {categories}")
    lines.append(
        f"  grammar alternatives reached: {c.reached}/{c.alternatives}; "
        f"StableHLO op kinds: {s['distinct_op_kinds']}"
    )
    for column, values in c.versions:
        lines.append(f"  {column}: {clean(values)}")
    for row in c.options:
        lines.append(f"  rebuild ({row.pairs} pairs, seeds {row.seeds}): {clean(row.command, 600)}")
    if c.user_pairs:
        lines.append(f"  {c.user_pairs} user functions (added with `fuzzjax add`)")
    return lines


def _bucket_line(b: Bucket) -> str:
    hits = "? hits" if b.hits is None else f"{b.hits} hit{'s' if b.hits != 1 else ''}"
    what = " / ".join(clean(v, 80) for v in (b.stage, b.symptom, b.ops, b.dtype) if v)
    extra = f", verdict {clean(b.verdict, 40)}" if b.verdict else ""
    if b.upstream_url:
        extra += f", upstream {b.upstream_url}"
    repro = clean(b.repro_command, 400) or clean(b.command, 400) or "(no command recorded)"
    return f"  - {what}: {hits}{extra}; repro: {repro}"


def _failure_lines(f: FailuresPart) -> list[str]:
    run = f.run
    labels = (("programs", "programs"), ("passed", "passed"), ("failures", "failed"))
    facts = [f"{clean(run[k], 40)} {label}" for k, label in labels if k in run]
    if "seconds" in run:
        facts.append(f"{clean(run['seconds'], 40)} s")
    last = f"last run {', '.join(facts)}; " if facts else ""
    folder = f"{len(f.buckets)} buckets ({f.hits} hits, all runs into this folder)"
    lines = [f"Fuzz campaign {clean(f.root)}: {last}{folder}."]
    if run.get("command"):
        lines.append(f"  command: {clean(run['command'], 600)}")
    if f.benign:
        total = sum(r.count or 0 for r in f.benign)
        rules = ", ".join(f"{clean(r.rule, 60)} {r.count}" for r in f.benign)
        lines.append(f"  benign differences (accepted, not failures): {total}: {rules}")
    if f.unreadable:
        lines.append(f"  unreadable: {', '.join(clean(n, 80) for n, _ in f.unreadable)}")
    if f.buckets:
        lines.append("  buckets (most hits first):")
        lines += [_bucket_line(b) for b in f.buckets[:MAX_BUCKETS]]
        if len(f.buckets) > MAX_BUCKETS:
            lines.append(f"  ... and {len(f.buckets) - MAX_BUCKETS} more (see the report)")
    return lines


def plain_summary(corpus: CorpusPart | None, failures: FailuresPart | None, *, header: str) -> str:
    """The summary text: ``header``, then one paragraph per part."""
    lines = [header]
    if corpus is not None:
        lines += ["", *_corpus_lines(corpus)]
    if failures is not None:
        lines += ["", *_failure_lines(failures)]
    return "\n".join(lines) + "\n"
