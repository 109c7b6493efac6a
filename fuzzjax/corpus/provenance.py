"""How a corpus was made: its generation option groups, its versions, and the commands that
regenerate it.

A program is determined by (seed, generation options, versions), and ``python -m fuzzjax``
grows a corpus from ``--seed`` until it holds ``--count`` pairs, so a corpus built by one
command per option group is rebuilt by the commands of ``OptionGroup.command``, run in order
with the same versions. The dataset card (``fuzzjax.corpus.card``) and ``fuzzjax report`` both
print them.

Stored options are untrusted text: they are parsed into ``GenOptions`` (validated) and the
command is rebuilt from the parsed values with ``shlex.join``, never pasted from the row.
"""

from __future__ import annotations

import json
import shlex
from collections import Counter
from dataclasses import dataclass, fields
from typing import Any

from fuzzjax.corpus.store import Corpus
from fuzzjax.errors import FuzzjaxError
from fuzzjax.program import GenOptions

#: Version columns of ``pairs``, in the order they are reported.
VERSION_COLUMNS = ("jax_version", "jaxlib_version", "grammar_sha", "fuzzjax_version")
#: ``GenOptions`` fields that ``python -m fuzzjax`` has no flag for.
API_ONLY = ("max_elements", "max_params", "let_percent", "kernel_percent")


@dataclass(frozen=True)
class OptionGroup:
    """Pairs generated with one options string, and the seeds processed with it."""

    options: str
    parsed: GenOptions | None  # None when the stored text is not valid options
    pairs: int
    first_seed: int
    last_seed: int
    seeds_processed: int
    #: Pairs in the corpus once this group is complete (groups in order of first pair).
    cumulative: int

    def command(self, db: str, *, hlo: bool = False, platforms: tuple[str, ...] = ()) -> str:
        """The ``python -m fuzzjax ...`` command that builds this group into ``db``.

        Options without a command-line flag (``API_ONLY``) at non-default values give the
        equivalent ``build_corpus`` call instead.
        """
        if self.parsed is None:
            return "(options not readable: no command)"
        o, default = self.parsed, GenOptions()
        if any(getattr(o, name) != getattr(default, name) for name in API_ONLY):
            call = (
                "from fuzzjax.corpus.build import build_corpus; "
                "from fuzzjax.program import GenOptions; "
                f"build_corpus({db!r}, count={self.cumulative}, base_seed={self.first_seed}, "
                f"options=GenOptions.from_json({o.to_json()!r}), hlo={hlo!r}, "
                f"platforms={platforms!r})"
            )
            return shlex.join(["python", "-c", call])
        parts = ["python", "-m", "fuzzjax", "--count", str(self.cumulative)]
        parts += ["--seed", str(self.first_seed), "--max-depth", str(o.max_depth)]
        parts += ["--min-depth", str(o.min_depth), "--max-rank", str(o.max_rank)]
        if o.x64:
            parts.append("--x64")
        if o.profile != "breadth":
            parts += ["--profile", o.profile]
        if o.depth_weights:
            parts += ["--depth-dist", ",".join(map(str, o.depth_weights))]
        if o.balanced:
            parts += ["--balanced", "category"]
        if o.category:
            parts += ["--category", o.category]
        if hlo:
            parts.append("--hlo")
        if platforms:
            parts += ["--platforms", ",".join(platforms)]
        return shlex.join([*parts, "--db", db])


def parse_options(text: str | None) -> GenOptions | None:
    """Stored options text as ``GenOptions``; None when it is missing or not valid options."""
    if text is None:
        return None
    try:
        return GenOptions.from_json(text)
    except (ValueError, TypeError, AttributeError, FuzzjaxError):
        return None


def options_dict(options: GenOptions) -> dict[str, Any]:
    """Every option field by name (``depth_weights`` as a list, ``weights`` and
    ``pair_weights`` as lists of ``{"alias", "weight"}`` and ``{"producer", "consumer",
    "weight"}`` records), for display and export."""
    out: dict[str, Any] = {}
    for f in fields(options):
        value = getattr(options, f.name)
        if f.name == "weights":
            value = [{"alias": alias, "weight": weight} for alias, weight in value]
        elif f.name == "pair_weights":
            value = [{"producer": p, "consumer": c, "weight": w} for p, c, w in value]
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def option_groups(corpus: Corpus) -> list[OptionGroup]:
    """Generated pairs grouped by their options, in order of each group's first pair."""
    rows = corpus.db.execute(
        "SELECT options, COUNT(*), MIN(seed), MAX(seed), MIN(id) FROM pairs"
        " WHERE options IS NOT NULL AND seed IS NOT NULL GROUP BY options ORDER BY MIN(id)"
    ).fetchall()
    processed = dict(
        corpus.db.execute("SELECT options, COUNT(*) FROM seeds GROUP BY options").fetchall()
    )
    first = dict(corpus.db.execute("SELECT options, MIN(seed) FROM seeds GROUP BY options"))
    groups, total = [], 0
    for options, pairs, low, high, _ in rows:
        total += int(pairs)
        start = first.get(options)
        groups.append(
            OptionGroup(
                options=str(options),
                parsed=parse_options(str(options)),
                pairs=int(pairs),
                first_seed=int(low if start is None else min(int(start), int(low))),
                last_seed=int(high),
                seeds_processed=int(processed.get(options, 0)),
                cumulative=total,
            )
        )
    return groups


def profile_counts(groups: list[OptionGroup]) -> dict[str, int]:
    """Generated pairs per generation profile (``breadth``, ``realistic``; ``unreadable
    options`` for options text that does not parse), most first."""
    found: Counter[str] = Counter()
    for g in groups:
        found[g.parsed.profile if g.parsed else "unreadable options"] += g.pairs
    return dict(found.most_common())


def corpus_versions(corpus: Corpus) -> dict[str, list[tuple[str, int]]]:
    """Per version column, each value with its number of pairs (most common first)."""
    found = {}
    for column in VERSION_COLUMNS:
        rows = corpus.db.execute(
            f"SELECT {column}, COUNT(*) FROM pairs GROUP BY {column} ORDER BY 2 DESC, 1"
        )
        found[column] = [("null" if v is None else str(v), int(n)) for v, n in rows]
    return found


def build_flags(corpus: Corpus) -> tuple[bool, tuple[str, ...]]:
    """Whether the corpus stores HLO (``--hlo``), and its ``--platforms`` in stored order."""
    hlo = corpus.db.execute("SELECT 1 FROM pairs WHERE hlo IS NOT NULL LIMIT 1").fetchone()
    platforms = corpus.db.execute("SELECT DISTINCT platform FROM platform_ir ORDER BY platform")
    return hlo is not None, tuple(str(p) for (p,) in platforms)


def user_pairs(corpus: Corpus) -> int:
    """Pairs without a seed (added with ``fuzzjax add``: not regenerated by a command)."""
    return int(corpus.db.execute("SELECT COUNT(*) FROM pairs WHERE seed IS NULL").fetchone()[0])


def options_text(options: GenOptions | None, raw: str) -> str:
    """One line naming every option (``max_depth=5, ...``), or the raw text when unreadable."""
    if options is None:
        return raw
    return ", ".join(f"{k}={json.dumps(v)}" for k, v in options_dict(options).items())
