"""PNG charts of a corpus (``python -m fuzzjax stats --plot DIR``, ``fuzzjax report``).

Figures are drawn with matplotlib's object API on the Agg canvas, never through ``pyplot``,
so plotting neither opens windows nor changes the backend of the calling program. Every chart
is 800 pixels wide (``WIDTH_IN`` x ``DPI``), has a title, axis labels with units, and labels
its bars with their values:

* ``depth``: pairs per expression depth;
* ``category``: pairs per category;
* ``dtype``: programs with a parameter of each dtype, and parameters of each dtype;
* ``ops``: the 25 most frequent StableHLO op kinds;
* ``lengths``: source length against StableHLO length, one point per pair (log axes);
* ``duplicates``: duplicate rate per depth (seeds whose IR was already stored).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from fuzzjax.corpus.stats import corpus_stats
from fuzzjax.corpus.store import Corpus
from fuzzjax.errors import FuzzjaxError, MissingDependency

TOP_OPS = 25
#: Scatter at most this many points (an evenly spaced subset of the pairs, in id order).
MAX_POINTS = 20_000
DPI = 100
WIDTH_IN = 8.0
HEIGHT_IN = 4.5
COLOR = "#4878a8"
SECOND = "#d1672a"
INSTALL_HINT = "pip install 'fuzzjax[dataset]'"


def require_matplotlib(what: str = "--plot") -> None:
    """``MissingDependency`` naming the extra when matplotlib is missing."""
    try:
        import matplotlib.figure  # noqa: F401
    except ImportError:
        raise MissingDependency(f"{what} needs matplotlib: {INSTALL_HINT}") from None


def plot_stats(corpus: Corpus) -> dict[str, Any]:
    """The ``corpus_stats`` the charts need (top 25 ops, per-pair lengths)."""
    return corpus_stats(corpus, top=TOP_OPS, lengths=True)


def render_charts(stats: Mapping[str, Any]) -> dict[str, bytes]:
    """PNG bytes of every chart, by name (``CHARTS`` order); {} when the corpus has no pairs.

    ``stats`` is ``plot_stats(corpus)`` (``corpus_stats(..., lengths=True)``).
    """
    require_matplotlib()
    from matplotlib.figure import Figure

    if "lengths" not in stats:
        raise ValueError("stats lack 'lengths': pass corpus_stats(corpus, lengths=True)")
    if not stats["pairs"]:
        return {}
    label = f"{stats['pairs']} pairs, {Path(str(stats.get('db', 'corpus'))).name}"
    charts = {}
    for name, draw in CHARTS.items():
        height = 7.0 if name == "ops" else HEIGHT_IN
        fig = Figure(figsize=(WIDTH_IN, height), dpi=DPI, layout="constrained")
        if not draw(fig, stats, label):
            continue
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        charts[name] = buffer.getvalue()
    return charts


def write_plots(corpus_or_stats: Corpus | Mapping[str, Any], out_dir: str | Path) -> list[Path]:
    """Write the charts of a corpus to ``out_dir`` as NAME.png; return their paths.

    Pass the ``Corpus``, or the dict of ``plot_stats(corpus)``. [] when there are no pairs.
    Raises ``MissingDependency`` when matplotlib is missing, ``FuzzjaxError`` when ``out_dir``
    cannot be created.
    """
    require_matplotlib()
    if isinstance(corpus_or_stats, Corpus):
        stats: Mapping[str, Any] = plot_stats(corpus_or_stats)
    else:
        stats = corpus_or_stats
    charts = render_charts(stats)
    if not charts:
        return []
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FuzzjaxError(f"cannot create --plot directory {out}: {exc.strerror}") from None
    paths = []
    for name, png in charts.items():
        path = out / f"{name}.png"
        path.write_bytes(png)
        paths.append(path)
    return paths


def _label(ax: Any, xlabel: str, ylabel: str, title: str) -> None:
    """Every chart's axis labels (with units) and title."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)


def _integer_axis(axis: Any) -> None:
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def _depth(fig: Any, stats: Mapping[str, Any], label: str) -> bool:
    ax = fig.add_subplot()
    _integer_axis(ax.yaxis)
    by_depth = {int(d): int(n) for d, n in stats["by_depth"].items()}
    names = [str(d) for d in sorted(by_depth)]
    counts = [by_depth[d] for d in sorted(by_depth)]
    if stats.get("unmeasured_depth"):
        names.append("n/a")
        counts.append(int(stats["unmeasured_depth"]))
    bars = ax.bar(names, counts, color=COLOR)
    ax.bar_label(bars, padding=2, fontsize=9)
    _label(
        ax,
        "expression depth (levels; n/a: user functions outside the grammar)"
        if "n/a" in names
        else "expression depth (levels of operator/call nesting)",
        "pairs (count)",
        f"Pairs per expression depth ({label})",
    )
    ax.margins(y=0.12)
    return True


def _category(fig: Any, stats: Mapping[str, Any], label: str) -> bool:
    ax = fig.add_subplot()
    _integer_axis(ax.yaxis)
    items = list(stats["by_category"].items())
    total = sum(int(n) for _, n in items) or 1
    bars = ax.bar([str(c) for c, _ in items], [int(n) for _, n in items], color=COLOR)
    ax.bar_label(
        bars, labels=[f"{int(n)} ({100 * int(n) / total:.0f}%)" for _, n in items], fontsize=9
    )
    _label(
        ax,
        "category (from the grammar families a program uses)",
        "pairs (count)",
        f"Pairs per category ({label})",
    )
    ax.margins(y=0.12)
    return True


def _dtype(fig: Any, stats: Mapping[str, Any], label: str) -> bool:
    programs = {str(k): int(v) for k, v in stats.get("dtype_programs", {}).items()}
    params = {str(k): int(v) for k, v in stats.get("dtype_params", {}).items()}
    if not programs:
        return False
    ax = fig.add_subplot()
    _integer_axis(ax.xaxis)
    names = sorted(programs, key=lambda d: programs[d])  # largest at the top
    rows = list(range(len(names)))
    height = 0.4
    a = ax.barh([r + height / 2 for r in rows], [programs[d] for d in names], height, color=COLOR)
    b = ax.barh(
        [r - height / 2 for r in rows], [params.get(d, 0) for d in names], height, color=SECOND
    )
    ax.bar_label(a, padding=2, fontsize=8)
    ax.bar_label(b, padding=2, fontsize=8)
    ax.set_yticks(rows, names)
    legend = ["programs with a parameter of this dtype", "parameters"]
    ax.legend([a, b], legend, fontsize=9, loc="lower right")
    _label(ax, "programs or parameters (count)", "parameter dtype", f"Parameter dtypes ({label})")
    ax.margins(x=0.12)
    return True


def _ops(fig: Any, stats: Mapping[str, Any], label: str) -> bool:
    ax = fig.add_subplot()
    _integer_axis(ax.xaxis)
    top = list(stats["top_ops"])[:TOP_OPS][::-1]  # largest at the top
    if not top:
        return False
    names = [str(op).removeprefix("stablehlo.") for op, _ in top]
    counts = [int(n) for _, n in top]
    bars = ax.barh(names, counts, color=COLOR)
    ax.bar_label(bars, padding=2, fontsize=8)
    ax.tick_params(axis="y", labelsize=9)
    _label(
        ax,
        "occurrences in all pairs (count)",
        "StableHLO op kind (stablehlo. prefix omitted)",
        f"Top {len(top)} StableHLO op kinds ({label})",
    )
    ax.margins(x=0.1)
    return True


def _lengths(fig: Any, stats: Mapping[str, Any], label: str) -> bool:
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax = fig.add_subplot()
    points = list(stats["lengths"])
    step = max(1, -(-len(points) // MAX_POINTS))
    shown = points[::step]
    groups = [(0, "generated", COLOR), (1, "user", SECOND)]
    for is_user, name, color in groups:
        group = [p for p in shown if int(p[2]) == is_user]
        if group:
            ax.scatter(
                [max(1, int(p[0])) for p in group],
                [max(1, int(p[1])) for p in group],
                s=8 if not is_user else 16,
                alpha=0.35 if len(group) > 500 else 0.7,
                color=color,
                linewidths=0,
                label=f"{name} ({len(group)})",
            )
    if len(ax.collections) > 1:  # both generated and user pairs
        ax.legend(loc="lower right", fontsize=9, markerscale=2)
    ax.set_xscale("log")
    ax.set_yscale("log")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0), numticks=15))
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        axis.set_minor_formatter(NullFormatter())
    sampled = f", every {step}th shown" if step > 1 else ""
    _label(
        ax,
        "source length (characters, log scale)",
        "StableHLO length (characters, log scale)",
        f"Source vs StableHLO length ({label}{sampled})",
    )
    ax.grid(True, which="major", alpha=0.3)
    return True


def _duplicates(fig: Any, stats: Mapping[str, Any], label: str) -> bool:
    counts = {
        int(d): (int(c[0]), int(c[1])) for d, c in stats.get("duplicates_by_depth", {}).items()
    }
    if not counts:
        return False
    ax = fig.add_subplot()
    depths = sorted(counts)
    rates = [100 * counts[d][0] / counts[d][1] for d in depths]
    bars = ax.bar([str(d) for d in depths], rates, color=COLOR)
    texts = [
        f"{r:.2f}%\n{counts[d][0]} of {counts[d][1]}" for d, r in zip(depths, rates, strict=True)
    ]
    ax.bar_label(bars, labels=texts, padding=2, fontsize=9)
    _label(
        ax,
        "expression depth (levels)",
        "duplicate rate (% of lowered seeds)",
        f"Seeds whose StableHLO was already stored, per depth ({label})",
    )
    ax.set_ylim(0, max(1.0, 1.25 * max(rates)))
    return True


#: Chart name -> drawing function (returns False when it has nothing to draw).
CHARTS: dict[str, Callable[[Any, Mapping[str, Any], str], bool]] = {
    "depth": _depth,
    "category": _category,
    "dtype": _dtype,
    "ops": _ops,
    "lengths": _lengths,
    "duplicates": _duplicates,
}
