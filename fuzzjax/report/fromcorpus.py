"""The corpus part of a report: counts, charts, grammar coverage, versions and options.

Numbers come from ``fuzzjax.corpus.stats`` and ``fuzzjax.corpus.coverage`` (the same as
``fuzzjax stats`` and ``fuzzjax coverage`` print), charts from ``fuzzjax.corpus.plots`` (the
PNGs of ``stats --plot``, embedded as base64), versions and generation options from
``fuzzjax.corpus.provenance``.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from fuzzjax.corpus.coverage import grammar_coverage
from fuzzjax.corpus.plots import plot_stats, render_charts
from fuzzjax.corpus.provenance import (
    build_flags,
    corpus_versions,
    option_groups,
    options_text,
    user_pairs,
)
from fuzzjax.corpus.store import Corpus
from fuzzjax.rules.table import TABLE

#: Caption of each chart of ``fuzzjax.corpus.plots.CHARTS``.
CHART_TITLES = {
    "depth": "Depth distribution",
    "category": "Category distribution",
    "dtype": "Parameter dtypes",
    "ops": "StableHLO op kinds (top 25)",
    "lengths": "Source vs StableHLO length",
    "duplicates": "Duplicate rate per depth",
}


@dataclass
class Chart:
    name: str
    title: str
    png_base64: str


@dataclass
class OptionRow:
    options: str
    seeds: str
    pairs: int
    seeds_processed: int
    command: str


@dataclass
class CorpusPart:
    """What the report shows about one corpus."""

    db: str
    stats: dict[str, Any]
    counts: list[tuple[str, str]] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    alternatives: int = 0
    reached: int = 0
    reached_by_family: list[tuple[str, str]] = field(default_factory=list)
    not_reached: list[str] = field(default_factory=list)
    op_kinds: list[tuple[str, int]] = field(default_factory=list)
    versions: list[tuple[str, str]] = field(default_factory=list)
    options: list[OptionRow] = field(default_factory=list)
    user_pairs: int = 0


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}%"


def _counts(s: dict[str, Any]) -> list[tuple[str, str]]:
    lengths = [
        ("source length p50 / p90 / p99", s["source_chars"]),
        ("StableHLO length p50 / p90 / p99", s["ir_chars"]),
    ]
    failures = ", ".join(f"{k} {n}" for k, n in s["failures_by_stage"].items())
    rows = [
        ("pairs", str(s["pairs"])),
        ("distinct IR hashes", str(s["distinct_ir_hashes"])),
        ("seeds processed", str(s["seeds_processed"])),
        ("duplicates skipped", f"{s['duplicates']} ({_percent(s['duplicate_rate'])})"),
        ("failures", f"{s['failures']}" + (f" ({failures})" if failures else "")),
        ("validity rate", _percent(s["validity_rate"])),
        ("StableHLO op kinds", str(s["distinct_op_kinds"])),
    ]
    for label, values in lengths:
        if values:
            rows.append((label, " / ".join(f"{values[f'p{p}']}" for p in (50, 90, 99)) + " chars"))
    return rows


def gather_corpus(corpus: Corpus, db_label: str, *, charts: bool = True) -> CorpusPart:
    """The corpus part of a report (``charts=False`` leaves the charts out: no matplotlib)."""
    stats = plot_stats(corpus)
    part = CorpusPart(db=db_label, stats=stats, counts=_counts(stats))
    if charts:
        for name, png in render_charts(stats).items():
            encoded = base64.b64encode(png).decode("ascii")
            part.charts.append(Chart(name, CHART_TITLES.get(name, name), encoded))
    cov = grammar_coverage(corpus)
    part.alternatives = int(cov["alternatives"])
    part.reached = len(cov["reached"])
    by_family: dict[str, list[str]] = {}
    for alias in sorted(cov["reached"], key=lambda a: (TABLE[a].family, a)):
        by_family.setdefault(TABLE[alias].family, []).append(f"{alias} {cov['reached'][alias]}")
    part.reached_by_family = [(family, ", ".join(v)) for family, v in by_family.items()]
    part.not_reached = list(cov["not_reached"])
    part.op_kinds = list(cov["ops"].items())
    part.versions = [
        (column, ", ".join(f"{value} ({n} pairs)" for value, n in values))
        for column, values in corpus_versions(corpus).items()
    ]
    hlo, platforms = build_flags(corpus)
    for group in option_groups(corpus):
        part.options.append(
            OptionRow(
                options=options_text(group.parsed, group.options),
                seeds=f"{group.first_seed}..{group.last_seed}",
                pairs=group.pairs,
                seeds_processed=group.seeds_processed,
                command=group.command(db_label, hlo=hlo, platforms=platforms),
            )
        )
    part.user_pairs = user_pairs(corpus)
    return part
