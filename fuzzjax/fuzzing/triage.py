"""Triage of a failures folder: buckets grouped by verdict, then by stage and family.

Verdicts (``meta.json``'s ``verdict``, written by the fuzz run):

* ``known_upstream``: the bucket belongs to a known family (``fuzzjax.fuzzing.upstream``):
  reported upstream (its issue is shown) or found by fuzzjax and written up in
  ``notes/fuzzing.md``, not reported yet; folders written before their family was known are
  labelled too;
* ``jax_wrong``: the high-precision referee says JAX's value is wrong;
* ``jax_deviation``: JAX against itself (jit, unoptimised, eager, transformations),
  a crash, a hang, nondeterminism, or a wrong result type;
* ``no_referee``: JAX and the NumPy reference disagree where the referee cannot judge;
* ``reference_wrong``: the NumPy reference is wrong: a fuzzjax bug to fix;
* ``fuzzjax_bug``: the generator or the reference failed outright: a fuzzjax bug to fix.

Every line ends with the command that reproduces the bucket.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fuzzjax.fuzzing.case import Signature, Stage
from fuzzjax.fuzzing.referee import parse_tag
from fuzzjax.fuzzing.upstream import KnownBug, known_bug

#: Display order of the verdict groups; new findings first.
VERDICT_ORDER = (
    "jax_wrong",
    "jax_deviation",
    "no_referee",
    "known_upstream",
    "reference_wrong",
    "fuzzjax_bug",
)
TITLES = {
    "jax_wrong": "JAX wrong (the referee's exact value disagrees with JAX)",
    "jax_deviation": "JAX deviations (own paths differ, crash, hang, nondeterminism, type)",
    "no_referee": "JAX vs the NumPy reference, no referee for this operation",
    "known_upstream": "Known bugs (reported upstream, or written up in notes/fuzzing.md)",
    "reference_wrong": "Reference wrong (the referee says so: fuzzjax bugs to fix)",
    "fuzzjax_bug": "fuzzjax failed (generator or reference raised: fuzzjax bugs to fix)",
}
#: Verdicts that count as JAX/XLA deviations (the precision figure of notes/fuzzing.md).
JAX_VERDICTS = frozenset({"jax_wrong", "jax_deviation", "known_upstream"})


def bucket_verdict(sig: Signature, referee: str | None = None) -> str:
    """A bucket's verdict from its signature and, for vs_numpy, the referee's ruling."""
    if known_bug(sig) is not None:
        return "known_upstream"
    if sig.stage in (Stage.GENERATE, Stage.REFERENCE, Stage.REFEREE):
        return "fuzzjax_bug"
    if sig.stage is Stage.VS_NUMPY:
        return referee if referee in ("jax_wrong", "reference_wrong") else "no_referee"
    return "jax_deviation"


@dataclass
class Entry:
    """One bucket folder as triage sees it."""

    key: str
    verdict: str
    stage: str
    family: str
    hits: int
    repro: str
    upstream: str


def _known(meta: dict[str, Any]) -> KnownBug | None:
    try:
        return known_bug(Signature.from_json(meta["signature"]))
    except (KeyError, ValueError, TypeError, AttributeError):
        return None


def _link(bug: KnownBug | None, meta: dict[str, Any]) -> str:
    """The upstream issue of a known bucket, or where fuzzjax wrote up an unreported one."""
    if bug is not None:
        return bug.url or f"{bug.id}: not reported yet, see notes/fuzzing.md"
    upstream = meta.get("upstream")
    return str(upstream.get("url", "")) if isinstance(upstream, dict) else ""


def verdict_of(meta: dict[str, Any]) -> str:
    """The recorded verdict (known families as they are known today), or the one implied by
    the stage for folders written before verdicts were."""
    if _known(meta) is not None:
        return "known_upstream"
    recorded = meta.get("verdict")
    if isinstance(recorded, str) and recorded in TITLES:
        return recorded
    try:
        return bucket_verdict(Signature.from_json(meta["signature"]))
    except (KeyError, ValueError, TypeError):
        return "jax_deviation"


def read_entries(root: Path) -> list[Entry]:
    """The bucket folders under ``root`` (those with a readable meta.json)."""
    entries = []
    for folder in sorted(p for p in root.iterdir() if (p / "meta.json").is_file()):
        try:
            meta = json.loads((folder / "meta.json").read_text())
            sig = meta["signature"]
            ops = list(sig.get("ops", []))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue  # not a bucket folder
        entries.append(
            Entry(
                key=str(meta.get("key", folder.name)),
                verdict=verdict_of(meta),
                stage=str(sig.get("stage", "?")),
                family=f"{sig.get('symptom', '?')} {ops[0] if ops else '?'}",
                hits=int(meta.get("hits", 0) or 0),
                repro=f"python {folder / 'repro.py'}",
                upstream=_link(_known(meta), meta),
            )
        )
    return entries


def format_triage(entries: list[Entry]) -> str:
    """Groups by verdict, then stage and family, one bucket per line with its repro."""
    by_verdict: dict[str, list[Entry]] = defaultdict(list)
    for entry in entries:
        by_verdict[entry.verdict].append(entry)
    counts = ", ".join(f"{v} {len(by_verdict[v])}" for v in VERDICT_ORDER if by_verdict[v])
    lines = [f"{len(entries)} buckets: {counts or 'none'}"]
    for verdict in VERDICT_ORDER:
        group = by_verdict[verdict]
        if not group:
            continue
        lines += ["", f"{TITLES[verdict]}: {len(group)}"]
        for entry in sorted(group, key=lambda e: (e.stage, e.family, -e.hits, e.key)):
            link = f"  [{entry.upstream}]" if entry.upstream else ""
            lines.append(
                f"  {entry.stage} / {entry.family}: {entry.key} ({entry.hits} hits){link}"
                f"  ->  {entry.repro}"
            )
    return "\n".join(lines)


def accepted_lines(root: Path) -> list[str]:
    """Differences the referee decided were not failures (``benign.json``): "undefined"
    (no single answer) and "both acceptable", with their rules and counts."""
    try:
        rules = json.loads((root / "benign.json").read_text())
    except (OSError, ValueError):
        return []
    if not isinstance(rules, dict):
        return []
    groups: dict[str, list[str]] = defaultdict(list)
    for tag, info in sorted(rules.items()):
        parsed = parse_tag(str(tag))
        if parsed is None or not isinstance(info, dict):
            continue
        verdict, rule = parsed
        groups[verdict].append(f"{rule} {int(info.get('count', 0) or 0)}")
    titles = {"undefined": "Undefined (no single answer)", "both_acceptable": "Both acceptable"}
    return [
        f"{titles.get(v, v)}, by the referee (not failures): {', '.join(items)}"
        for v, items in sorted(groups.items())
    ]
