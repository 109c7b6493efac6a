"""``python -m fuzzjax coverage``: which grammar alternatives and StableHLO ops a corpus reaches,
and how much of real JAX code the grammar can produce.

Alternatives are read from the Lark parse of every stored generated source (an independent
check: not from generator bookkeeping). User-added functions that are outside the grammar are
skipped.

Real code is ``data/real_usage.json`` (``scripts/real_usage.py``: call sites of jnp/lax/jax
callables and syntactic forms in public JAX libraries, test-only, I/O, device and internal APIs
counted apart). ``call_site_coverage`` gives the share of those call sites whose callable the
grammar can spell (a callable is covered when some alternative's fixed tokens name it), and
per group of forms (keyword arguments, methods, operators, loop bodies...) what is missing.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from typing import Any

from fuzzjax.corpus.store import Corpus
from fuzzjax.generation.profiles import alias_callables, js_divergence, real_usage_table
from fuzzjax.rules.table import TABLE
from fuzzjax.syntax import (
    ProgramSyntaxError,
    aliases_used,
    alternatives,
    is_bound_read,
    operation_aliases,
    parse,
    while_carries,
)


def grammar_coverage(corpus: Corpus) -> dict[str, Any]:
    """Programs per grammar alternative, alternatives not reached, and StableHLO op kinds."""
    reached: Counter[str] = Counter()
    occurrences: Counter[str] = Counter()
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
        occurrences.update(alias_occurrences(tree))
    alternatives = sorted(operation_aliases())
    return {
        "programs_parsed": parsed,
        "programs_skipped": skipped,
        "alternatives": len(alternatives),
        "reached": {a: reached[a] for a in alternatives if reached[a]},
        "not_reached": [a for a in alternatives if not reached[a]],
        "occurrences": dict(occurrences.most_common()),
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


# ---- real call sites ------------------------------------------------------------------------


def grammar_callables(aliases: Iterable[str] | None = None) -> frozenset[str]:
    """Every callable the grammar can spell (or only those of ``aliases``)."""
    names: set[str] = set()
    for alias in alternatives() if aliases is None else aliases:
        names |= alias_callables(alias)
    return frozenset(names)


def _tokens() -> frozenset[str]:
    return frozenset(t for a in alternatives().values() for t in a.tokens if t)


def _share(covered: int, total: int) -> float:
    return round(covered / total, 4) if total else 0.0


def alias_occurrences(tree: Any) -> Counter[str]:
    """How often each operation alias occurs in a parsed program (reads of lambda parameters
    are not operations)."""
    ops, carries = operation_aliases(), while_carries(tree)
    return Counter(
        t.data for t in tree.iter_subtrees() if t.data in ops and not is_bound_read(t, carries)
    )


def callable_counts(occurrences: dict[str, int]) -> Counter[str]:
    """Call sites per callable implied by alias occurrences (shared out between the callables
    an alias may spell)."""
    counts: Counter[str] = Counter()
    for alias, n in occurrences.items():
        names = sorted(alias_callables(alias))
        for name in names:
            counts[name] += n / len(names)  # type: ignore[assignment]
    return counts


def call_site_coverage(
    table: dict[str, Any] | None = None,
    reached: Iterable[str] | None = None,
    occurrences: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Share of the table's real call sites whose callable the grammar can generate.

    ``reached``: aliases a corpus reaches; adds the share of call sites whose callable the
    corpus actually contains. ``occurrences`` (alias -> count in a corpus) adds the
    Jensen-Shannon divergence between the corpus's and real code's callable distributions.
    Also reports keyword-argument, method/attribute, operator and other syntactic forms of real
    code, and which of them the grammar cannot produce.
    """
    table = table or real_usage_table()
    calls: dict[str, int] = table["calls"]
    total = sum(calls.values())
    can = grammar_callables()
    missing = {name: n for name, n in calls.items() if name not in can}
    result: dict[str, Any] = {
        "repositories": [f"{r['repository']}@{r['commit'][:12]}" for r in table["repositories"]],
        "call_sites": total,
        "callables": len(calls),
        "excluded_call_sites": table["excluded_call_sites"],
        "excluded": sorted(table["excluded_prefixes"]),
        "grammar_share": _share(total - sum(missing.values()), total),
        "missing_callables": missing,
    }
    if reached is not None:
        got = grammar_callables(reached)
        result["corpus_share"] = _share(sum(n for c, n in calls.items() if c in got), total)
    if occurrences is not None:
        generated = callable_counts(occurrences)
        result["js_divergence"] = round(js_divergence(Counter(calls), generated), 4)
    result["forms"] = form_coverage(table)
    return result


def form_coverage(table: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per group of syntactic forms: real count, share the grammar can produce, missing ones."""
    tokens = _tokens()
    names = set(alternatives())
    groups: dict[str, dict[str, tuple[int, bool]]] = {}
    keywords: dict[str, tuple[int, bool]] = {}
    for callable_name, kws in table["keywords"].items():
        if callable_name not in table["calls"]:
            continue  # an excluded API
        owners = [a for a in alternatives() if callable_name in alias_callables(a)]
        for kw, n in kws.items():
            ok = any(kw in alternatives()[a].tokens for a in owners)
            keywords[f"{callable_name}({kw}=)"] = (n, ok)
    groups["keyword arguments"] = keywords
    groups["array methods"] = {
        f".{m}()": (n, f".{m}" in tokens) for m, n in table["methods"].items()
    }
    groups["array attributes"] = {
        f".{a}": (n, f".{a}" in tokens) for a, n in table["attributes"].items()
    }
    groups[".at[] updates"] = {
        f".at[].{m}()": (n, f".{m}" in tokens) for m, n in table["at_methods"].items()
    }
    groups["operators"] = {
        op: (n, _operator_ok(op, tokens)) for op, n in table["operators"].items()
    }
    groups["subscripts, pytrees and functions"] = {
        form: (n, bool(FORM_ALIASES.get(form, frozenset()) & names))
        for form, n in table["forms"].items()
        if form in FORM_ALIASES
    }
    loops = {}
    for loop, kinds in table["loop_bodies"].items():
        for kind, n in kinds.items():
            needed = LOOP_FORM_ALIASES.get((loop, kind), frozenset())
            loops[f"{loop}: {kind}"] = (n, bool(needed & names))
    groups["loop bodies and carries"] = loops
    groups["trace-time constants"] = {
        c: (n, bool({c.rsplit(".", 1)[-1], "." + c.rsplit(".", 1)[-1]} & tokens))
        if c.split("(")[0] in tokens
        else (n, False)
        for c, n in table["trace_constants"].items()
    }
    out = {}
    for group, forms in groups.items():
        total = sum(n for n, _ in forms.values())
        covered = sum(n for n, ok in forms.values() if ok)
        out[group] = {
            "count": total,
            "share": _share(covered, total),
            "missing": {f: n for f, (n, ok) in forms.items() if not ok},
        }
    return out


def _operator_ok(op: str, tokens: frozenset[str]) -> bool:
    symbol = op.split(" (")[0].removeprefix("unary ").strip()
    if symbol in ("not", "<<", ">>"):
        return symbol in tokens
    return symbol in tokens


#: Table forms -> grammar alternatives (aliases) that produce them.
FORM_ALIASES: dict[str, frozenset[str]] = {
    "jax calls with keyword arguments": frozenset({"sum", "expand_dims", "asarray"}),
    "subscripts with slices": frozenset({"slice"}),
    "subscripts with None": frozenset({"index_none"}),
    "subscripts with ...": frozenset({"index_ellipsis"}),
    "subscripts with a string key (dict pytree)": frozenset({"tree_get"}),
    "dict displays": frozenset({"tree_dict"}),
    "lambdas": frozenset({"vmap", "cond"}),
    "custom rule via @f.defjvp": frozenset({"custom_jvp"}),
    "custom rule via f.defjvp(...)": frozenset({"custom_jvp"}),
    "custom rule via f.defvjp(...)": frozenset({"custom_vjp"}),
    "custom rule via f.defjvps(...)": frozenset({"custom_call"}),
}
#: (loop callable, body or carry kind) -> aliases that produce it.
LOOP_FORM_ALIASES: dict[tuple[str, str], frozenset[str]] = {
    ("lax.cond", "lambda body"): frozenset({"cond"}),
    ("lax.cond", "named function body"): frozenset({"cond_named"}),
    ("lax.switch", "list of branches"): frozenset({"switch"}),
    ("lax.switch", "named function body"): frozenset({"switch_named"}),
    ("lax.fori_loop", "lambda body"): frozenset({"fori_loop"}),
    ("lax.fori_loop", "named function body"): frozenset({"fori_named"}),
    ("lax.fori_loop", "carry by name or expression"): frozenset({"fori_loop"}),
    ("lax.fori_loop", "tuple carry"): frozenset({"fori_named"}),
    ("lax.while_loop", "lambda body"): frozenset({"while_loop"}),
    ("lax.while_loop", "named function body"): frozenset({"while_named"}),
    ("lax.while_loop", "tuple carry"): frozenset({"while_loop", "while_named"}),
    ("lax.while_loop", "carry by name or expression"): frozenset({"while_named"}),
    ("lax.scan", "lambda body"): frozenset({"scan"}),
    ("lax.scan", "named function body"): frozenset({"scan_named"}),
    ("lax.scan", "tuple carry"): frozenset({"scan_named"}),
    ("lax.scan", "carry by name or expression"): frozenset({"scan"}),
    ("lax.scan", "scan without xs (length=)"): frozenset({"scan_length"}),
    ("lax.map", "named function body"): frozenset({"lax_map_named"}),
    ("lax.map", "lambda body"): frozenset({"lax_map"}),
}


def format_call_sites(cov: dict[str, Any], top: int = 25) -> str:
    """The real-call-site report ``fuzzjax coverage`` prints."""
    lines = [
        f"real call sites: {cov['call_sites']} of {cov['callables']} jnp/lax/jax callables in "
        f"{len(cov['repositories'])} libraries ({', '.join(cov['repositories'])}); "
        f"{cov['excluded_call_sites']} more excluded ({'; '.join(cov['excluded'])})",
        f"  grammar can generate the callable of {100 * cov['grammar_share']:.1f}% of them",
    ]
    if "corpus_share" in cov:
        lines.append(f"  this corpus contains the callable of {100 * cov['corpus_share']:.1f}%")
    if "js_divergence" in cov:
        lines.append(
            "  Jensen-Shannon divergence of the corpus's callables from real code's: "
            f"{cov['js_divergence']:.3f} (0 = same frequencies, 1 = disjoint)"
        )
    missing = list(cov["missing_callables"].items())
    shown = ", ".join(f"{name}={n}" for name, n in missing[: top or len(missing)])
    more = f" (+{len(missing) - top} more)" if top and len(missing) > top else ""
    lines.append(f"  callables missing ({len(missing)}): {shown or '-'}{more}")
    lines.append("forms of real code (share of occurrences the grammar can produce):")
    for group, info in cov["forms"].items():
        items = list(info["missing"].items())
        gone = ", ".join(f"{f}={n}" for f, n in items[: top or len(items)])
        extra = f" (+{len(items) - top} more)" if top and len(items) > top else ""
        lines.append(
            f"  {group:<34} {100 * info['share']:5.1f}% of {info['count']}"
            + (f"; missing: {gone}{extra}" if items else "")
        )
    return "\n".join(lines)
