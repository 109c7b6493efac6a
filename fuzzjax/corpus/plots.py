"""PNG plots of a corpus (``python -m fuzzjax stats --plot DIR``); needs matplotlib.

Figures are drawn with matplotlib's object API on the Agg canvas, never through ``pyplot``,
so plotting neither opens windows nor changes the backend of the calling program.

* ``depth.png``: pairs per expression depth;
* ``ops.png``: the 25 most frequent StableHLO op kinds;
* ``lengths.png``: source length against StableHLO length, one point per pair (log axes).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fuzzjax.corpus.stats import corpus_stats
from fuzzjax.corpus.store import Corpus
from fuzzjax.errors import FuzzjaxError, MissingDependency

TOP_OPS = 25
#: Scatter at most this many points (an evenly spaced subset of the pairs, in id order).
MAX_POINTS = 20_000
DPI = 110


def write_plots(corpus_or_stats: Corpus | Mapping[str, Any], out_dir: str | Path) -> list[Path]:
    """Write the plots of a corpus to ``out_dir``; return their paths ([] when no pairs).

    Pass the ``Corpus``, or the dict of ``corpus_stats(corpus, top=25, lengths=True)``.
    Raises ``MissingDependency`` when matplotlib is missing or ``out_dir`` cannot be created.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingDependency("--plot needs matplotlib: pip install 'fuzzjax[dataset]'") from None
    if isinstance(corpus_or_stats, Corpus):
        stats: Mapping[str, Any] = corpus_stats(corpus_or_stats, top=TOP_OPS, lengths=True)
    else:
        stats = corpus_or_stats
        if "lengths" not in stats:
            raise ValueError("stats lack 'lengths': pass corpus_stats(corpus, lengths=True)")
    if not stats["pairs"]:
        return []
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FuzzjaxError(f"cannot create --plot directory {out}: {exc.strerror}") from None
    label = f"{stats['pairs']} pairs, {Path(str(stats.get('db', 'corpus'))).name}"
    paths = []
    for name, draw in (("depth", _depth), ("ops", _ops), ("lengths", _lengths)):
        fig = Figure(figsize=(8, 7) if name == "ops" else (7, 4.5), dpi=DPI, layout="constrained")
        draw(fig, stats, label)
        path = out / f"{name}.png"
        fig.savefig(path)
        paths.append(path)
    return paths


def _depth(fig: Any, stats: Mapping[str, Any], label: str) -> None:
    from matplotlib.ticker import MaxNLocator

    ax = fig.add_subplot()
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    by_depth = {int(d): int(n) for d, n in stats["by_depth"].items()}
    names = [str(d) for d in sorted(by_depth)]
    counts = [by_depth[d] for d in sorted(by_depth)]
    if stats.get("unmeasured_depth"):
        names.append("n/a")
        counts.append(int(stats["unmeasured_depth"]))
    bars = ax.bar(names, counts, color="#4878a8")
    ax.bar_label(bars, padding=2, fontsize=8)
    ax.set_xlabel(
        "expression depth (n/a: user functions outside the grammar)"
        if "n/a" in names
        else "expression depth"
    )
    ax.set_ylabel("pairs")
    ax.set_title(f"Depth distribution ({label})")
    ax.margins(y=0.12)


def _ops(fig: Any, stats: Mapping[str, Any], label: str) -> None:
    from matplotlib.ticker import MaxNLocator

    ax = fig.add_subplot()
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    top = list(stats["top_ops"])[:TOP_OPS][::-1]  # largest at the top
    names = [str(op).removeprefix("stablehlo.") for op, _ in top]
    counts = [int(n) for _, n in top]
    bars = ax.barh(names, counts, color="#4878a8")
    ax.bar_label(bars, padding=2, fontsize=7)
    ax.tick_params(axis="y", labelsize=8)
    ax.set_xlabel("occurrences in all pairs")
    ax.set_title(f"Top {len(top)} StableHLO op kinds ({label})")
    ax.margins(x=0.1)


def _lengths(fig: Any, stats: Mapping[str, Any], label: str) -> None:
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax = fig.add_subplot()
    points = list(stats["lengths"])
    step = max(1, -(-len(points) // MAX_POINTS))
    shown = points[::step]
    groups = [(0, "generated", "#4878a8"), (1, "user", "#d1672a")]
    for is_user, name, color in groups:
        group = [p for p in shown if int(p[2]) == is_user]
        if group:
            ax.scatter(
                [max(1, int(p[0])) for p in group],
                [max(1, int(p[1])) for p in group],
                s=6 if not is_user else 14,
                alpha=0.35 if len(group) > 500 else 0.7,
                color=color,
                linewidths=0,
                label=f"{name} ({len(group)})",
            )
    if len(ax.collections) > 1:  # both generated and user pairs
        ax.legend(loc="lower right", fontsize=8, markerscale=2)
    ax.set_xscale("log")
    ax.set_yscale("log")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        axis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("source length (characters)")
    ax.set_ylabel("StableHLO length (characters)")
    sampled = f", every {step}th shown" if step > 1 else ""
    ax.set_title(f"Source vs StableHLO length ({label}{sampled})")
    ax.grid(True, which="major", alpha=0.3)
