"""Where generation mode's time goes, per stage and per grammar form, checkouts side by side.

Usage:
    python scripts/throughput_profile.py --probe 30
    python scripts/throughput_profile.py BASELINE [OTHER ...] BRANCH [-n 300] [--rounds 3]
        [--first S] [--warmup 20] [--max-depth 5] [--profile breadth] [--e2e 0]
        [--per-form 25] [--drop-family FAMILY ...] [--json FILE]

BASELINE, BRANCH and any checkouts between them are fuzzjax checkouts (e.g. ``git worktree
add --detach /tmp/wt610 610bef3`` and ``.``), one column each. Each round runs one fresh
process per column (``PYTHONPATH`` set to its checkout), rotating which goes first, on the
same N seeds (a new range per round), so a noisy machine affects all alike. A process runs
the generation worker's own task (``fuzzjax.corpus.build.make_generation_task``) and commits
with the build loop's own ``_commit`` into a temporary corpus, and charges each stage its
exclusive time by wrapping the module functions the task calls. Stage times are CPU time of
the process (``time.process_time``), which a loaded machine disturbs far less than wall-clock
time; the per-round pairs/s are wall-clock:

- generate: ``generate`` minus the Lark parse inside it;
- parse: the Lark parse (``syntax.parser().parse``);
- exec: ``load_function`` (compile and exec of the checked text);
- lower: ``lower_text`` (``jax.jit(f).lower(...).as_text()``, fast path);
- canonicalise: ``canonicalize``, ``op_counts``, ``ir_hash``;
- store: ``_commit`` (SQLite, 64 seeds a batch), spread evenly over the seeds;
- other: the rest of the task (row building, cache clearing, type check).

It also counts MLIR contexts built inside the fast path (``contexts_fast``: one per process
and per ``_RECYCLE_EVERY`` lowerings when nothing falls back) and outside it
(``contexts_stock``: stock lowerings), jaxpr traces, jaxpr -> MLIR lowerings and XLA compiles
(``jax.monitoring`` events), JAX cache clears and the end RSS; and, for BRANCH, the lowering
time per grammar alias (``Program.aliases``) and per rule family: programs using it, their
mean lower ms, and their excess over the mean program, per seed.

``--drop-family F`` adds a what-if column: BRANCH with rule family ``F`` removed from the
typing table in the profiling process (what the other families cost; fuzzjax never runs so).
``--probe N`` only times the lowering of N fresh one-op programs per form (``PROBES``) and
the share of it JAX spends re-tracing inside lowering rules. ``--e2e N`` also times the real
command ``python -m fuzzjax --count N --max-depth D
--workers 2`` in each checkout, once per round.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

STAGES = ("generate", "parse", "exec", "lower", "canonicalise", "store", "other")
WARMUP = 20  # seeds run before the timed ones (``--warmup``)
TIMEOUT = 3600


# ---------------------------------------------------------------- worker (one checkout)


class _Clock:
    """Exclusive time per stage: a wrapped call's time is taken off its caller's stage."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)
        self.stack: list[list[float]] = []  # per open call: [time of children]

    def wrap(self, stage: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            self.stack.append([0.0])
            start = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                elapsed = time.process_time() - start
                children = self.stack.pop()[0]
                self.spent[stage] += elapsed - children
                if self.stack:
                    self.stack[-1][0] += elapsed

        return timed


def _worker(first: int, n: int, max_depth: int, profile: str, warmup: int, drop: str) -> None:
    import jax
    import jax.monitoring

    from fuzzjax.corpus import build
    from fuzzjax.corpus.store import Corpus
    from fuzzjax.generation import generator
    from fuzzjax.lowering import canonical, fastlower, lower
    from fuzzjax.program import GenOptions
    from fuzzjax.syntax import parser
    from fuzzjax.workers import Outcome, OutcomeKind

    if drop:  # what-if: the grammar without one rule family (never how fuzzjax runs)
        from fuzzjax.rules.table import FAMILIES

        del FAMILIES[drop]
    kwargs: dict[str, Any] = {"max_depth": max_depth}
    if profile != "breadth":
        kwargs["profile"] = profile
    options = GenOptions(**kwargs)
    clock = _Clock()
    events: dict[str, int] = defaultdict(int)

    def on_event(name: str, _secs: float, **_kw: Any) -> None:
        for key, pattern in (
            ("traces", "jaxpr_trace_duration"),
            ("mlir", "jaxpr_to_mlir_module_duration"),
            ("compiles", "backend_compile_duration"),
        ):
            if pattern in name:
                events[key] += 1

    jax.monitoring.register_event_duration_secs_listener(on_event)
    clears = [0]
    real_clear = jax.clear_caches

    def counting_clear() -> None:
        clears[0] += 1
        real_clear()

    jax.clear_caches = counting_clear  # what lower.cache_clearer calls
    # Contexts: count the builds of the real make_ir_context, inside the fast path or not.
    fastlower._install_hook()
    original = fastlower._original_make
    assert original is not None

    def counting_make() -> Any:
        events["contexts_fast" if fastlower._state.active else "contexts_stock"] += 1
        return original()

    fastlower._original_make = counting_make
    lark = parser()
    lark.parse = clock.wrap("parse", lark.parse)  # type: ignore[method-assign]
    generator.generate = clock.wrap("generate", generator.generate)
    lower.load_function = clock.wrap("exec", lower.load_function)
    lower.lower_text = clock.wrap("lower", lower.lower_text)
    for name in ("canonicalize", "op_counts", "ir_hash"):
        setattr(lower, name, clock.wrap("canonicalise", getattr(canonical, name)))
    aliases: list[tuple[str, ...]] = []
    real_generate = generator.generate

    def generate_recording(*args: Any, **kw: Any) -> Any:
        program = real_generate(*args, **kw)
        aliases.append(tuple(program.aliases))
        return program

    generator.generate = generate_recording
    commit = clock.wrap("store", build._commit)
    config = build.GenerationConfig(options.to_json())
    task = clock.wrap("other", build.make_generation_task(config))
    per_seed: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp, Corpus(Path(tmp) / "c.sqlite") as corpus:
        from fuzzjax.corpus.build import Summary

        summary = Summary()
        for seed in range(first - warmup, first):  # imports, primitive caches: not counted
            task(seed)
        clock.spent.clear()
        batch: list[Any] = []
        start = time.perf_counter()
        for seed in range(first, first + n):
            before = dict(clock.spent)
            counts = dict(events)
            aliases.clear()
            result = task(seed)
            row = result.row
            after = clock.spent
            per_seed.append(
                {
                    "seed": seed,
                    "ok": row is not None,
                    "failure": result.failure,
                    "aliases": list(aliases[0]) if aliases else [],
                    "ms": {s: (after.get(s, 0) - before.get(s, 0)) * 1e3 for s in STAGES},
                    "events": {k: v - counts.get(k, 0) for k, v in events.items()},
                    "ir_hash": row["ir_hash"] if row else None,
                    "ops": sum(row["op_counts"].values()) if row else 0,
                    "chars": len(row["source"]) if row else 0,
                }
            )
            batch.append(Outcome(seed, OutcomeKind.OK, result))
            if len(batch) >= build.BATCH_SEEDS:
                commit(corpus, batch, config.options, summary, None)
                batch = []
        if batch:
            commit(corpus, batch, config.options, summary, None)
        wall = time.perf_counter() - start
    store_ms = clock.spent["store"] * 1e3 / n  # commits are per batch: spread over the seeds
    for entry in per_seed:
        entry["ms"]["store"] = store_ms
    from fuzzjax.rules.table import TABLE
    from fuzzjax.syntax import alternatives

    out = {
        "wall": wall,
        "stored": summary.stored,
        "seeds": per_seed,
        "grammar": sorted(alternatives()),
        "family": {alias: rule.family for alias, rule in TABLE.items()},
        "rss_mb": lower.resident_mb(),
        "clears": clears[0],
    }
    print(json.dumps(out))


# ---------------------------------------------------------------- one-op lowering probe

PROBES = {
    "jnp.sin": "def f(x0):\n    return jnp.sin(x0) + {i}.0\n",
    "jnp.sort": "def f(x0):\n    return jnp.sort(x0, axis=0) + {i}.0\n",
    "random.uniform": (
        "def f(x0):\n    return x0 + jax.random.uniform(jax.random.key({i}), (3, 4))\n"
    ),
    "random.uniform, new shape": (
        "def f(x0):\n    return x0 + jnp.sum(jax.random.uniform(jax.random.key(1), ({i}, 4)))\n"
    ),
    "random.split": (
        "def f(x0):\n    return x0 + jax.random.key_data(jax.random.split(jax.random.key({i}))[0])"
        ".sum()\n"
    ),
}


def _probe(count: int) -> None:
    """CPU ms to lower fresh one-op programs (fast path), and the share of it JAX spends
    re-tracing functions inside lowering rules (``mlir.lower_fun``, e.g. Threefry)."""
    import jax
    import jax.numpy as jnp
    from jax import lax
    from jax._src.interpreters import partial_eval as pe

    from fuzzjax.lowering.lower import lower_text

    spent = [0.0]
    real_trace = pe.trace_to_jaxpr_dynamic

    def timed_trace(*args: Any, **kwargs: Any) -> Any:
        if not kwargs.get("lower"):  # only the traces lower_fun makes while lowering
            return real_trace(*args, **kwargs)
        start = time.process_time()
        try:
            return real_trace(*args, **kwargs)
        finally:
            spent[0] += time.process_time() - start

    pe.trace_to_jaxpr_dynamic = timed_trace
    spec = [jax.ShapeDtypeStruct((3, 4), jnp.float32)]
    print("| program | CPU ms to lower | of which lower_fun traces |\n|---|---|---|")
    for name, template in PROBES.items():
        fns = []
        for i in range(1, count + 4):
            namespace: dict[str, Any] = {"jax": jax, "jnp": jnp, "lax": lax}
            exec(template.format(i=i), namespace)  # noqa: S102 - the fixed texts above
            fns.append(namespace["f"])
        for fn in fns[:3]:  # first lowerings of each primitive: not counted
            lower_text(fn, spec)
        spent[0] = 0.0
        start = time.process_time()
        for fn in fns[3:]:
            lower_text(fn, spec)
        total = time.process_time() - start
        print(f"| {name} | {total / count * 1e3:.1f} | {spent[0] / total:.0%} |")


# ---------------------------------------------------------------- driver


def _run_worker(
    checkout: Path, first: int, args: argparse.Namespace, drop: str = ""
) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=str(checkout), FUZZJAX_NO_FAST_LOWER="")
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        "--first",
        str(first),
        "-n",
        str(args.n),
        "--max-depth",
        str(args.max_depth),
        "--profile",
        args.profile,
        "--warmup",
        str(args.warmup),
        "--drop-family",
        drop,
    ]
    out = subprocess.run(
        cmd, cwd=checkout, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"worker failed in {checkout}: {out.stderr[-2000:]}\ncommand: {cmd}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _run_e2e(checkout: Path, count: int, args: argparse.Namespace) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "fuzzjax", "--count", str(count), "--max-depth"]
        cmd += [str(args.max_depth), "--workers", "2", "--quiet", "--db", f"{tmp}/c.sqlite"]
        if args.profile != "breadth":
            cmd += ["--profile", args.profile]
        env = dict(os.environ, PYTHONPATH=str(checkout))
        out = subprocess.run(
            cmd, cwd=checkout, env=env, capture_output=True, text=True, timeout=TIMEOUT
        )
        match = re.search(r"([\d.]+) pairs/s", out.stdout + out.stderr)
        if out.returncode != 0 or not match:
            raise SystemExit(f"{cmd} in {checkout} failed: {out.stderr[-2000:]}")
        return float(match.group(1))


def _stage_table(results: dict[str, list[dict[str, Any]]]) -> None:
    labels = list(results)
    print("\nCPU ms per seed, by stage (all rounds; exclusive time; one process):\n")
    head = " | ".join(labels + [f"ratio {i + 1}:1" for i in range(1, len(labels))])
    print(f"| stage | {head} |")
    print("|---|" + "---|" * (2 * len(labels) - 1))
    for stage in (*STAGES, "total"):
        means = []
        for label in labels:
            seeds = [s for r in results[label] for s in r["seeds"]]
            if stage == "total":
                vals = [sum(s["ms"].values()) for s in seeds]
            else:
                vals = [s["ms"][stage] for s in seeds]
            means.append(sum(vals) / len(vals))
        ratios = [m / means[0] if means[0] else float("nan") for m in means[1:]]
        cells = " | ".join([f"{m:.2f}" for m in means] + [f"{r:.2f}" for r in ratios])
        print(f"| {stage} | {cells} |")
    print("\nper round: stored pairs/s in one process (wall clock, store included)\n")
    print(f"| round | {head} |")
    print("|---|" + "---|" * (2 * len(labels) - 1))
    for i in range(len(results[labels[0]])):
        rates = [results[lab][i]["stored"] / results[lab][i]["wall"] for lab in labels]
        cells = [f"{r:.1f}" for r in rates] + [f"{r / rates[0]:.2f}" for r in rates[1:]]
        print(f"| {i + 1} | {' | '.join(cells)} |")
    for label in labels:
        seeds = [s for r in results[label] for s in r["seeds"]]
        ev: dict[str, int] = defaultdict(int)
        for s in seeds:
            for k, v in s["events"].items():
                ev[k] += v
        ok = [s for s in seeds if s["ok"]]
        print(
            f"\n{label}: {len(seeds)} seeds, {len(ok)} lowered; in all: "
            + ", ".join(f"{k} {v}" for k, v in sorted(ev.items()))
            + f"; mean source {sum(s['chars'] for s in ok) / max(len(ok), 1):.0f} chars, "
            f"{sum(s['ops'] for s in ok) / max(len(ok), 1):.1f} IR ops"
        )


def _form_table(seeds: list[dict[str, Any]], baseline_aliases: set[str], top: int) -> None:
    ok = [s for s in seeds if s["ok"]]
    mean_lower = sum(s["ms"]["lower"] for s in ok) / len(ok)
    by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for s in ok:
        for a in s["aliases"]:
            by[a].append(s)
    rows = []
    for alias, group in by.items():
        lower_ms = sum(s["ms"]["lower"] for s in group) / len(group)
        gen_ms = sum(s["ms"]["generate"] + s["ms"]["parse"] for s in group) / len(group)
        traces = sum(s["events"].get("traces", 0) for s in group) / len(group)
        mlir = sum(s["events"].get("mlir", 0) for s in group) / len(group)
        fallbacks = sum(s["events"].get("contexts_stock", 0) for s in group)
        # Time these programs spend lowering beyond the average program.
        excess = sum(s["ms"]["lower"] - mean_lower for s in group) / len(ok)
        rows.append((excess, alias, len(group), lower_ms, gen_ms, traces, mlir, fallbacks))
    rows.sort(reverse=True)
    new = [r for r in rows if r[1] not in baseline_aliases]
    share_new = sum(1 for s in ok if any(a not in baseline_aliases for a in s["aliases"]))
    lower_new = [
        s["ms"]["lower"] for s in ok if any(a not in baseline_aliases for a in s["aliases"])
    ]
    lower_old = [
        s["ms"]["lower"] for s in ok if not any(a not in baseline_aliases for a in s["aliases"])
    ]
    print(
        f"\nbranch: {share_new}/{len(ok)} lowered programs use an alias the baseline lacks; "
        f"mean lower ms {sum(lower_new) / max(len(lower_new), 1):.2f} with one, "
        f"{sum(lower_old) / max(len(lower_old), 1):.2f} without (mean {mean_lower:.2f})"
    )
    print(
        f"\nbranch, aliases by excess lowering time per seed (top {top}; new = not in baseline):\n"
    )
    print("| alias | new | programs | lower ms | gen+parse ms | traces | mlir | stock ctx "
          "| excess ms/seed |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for excess, alias, n, lo, gen, tr, ml, fb in rows[:top]:
        flag = "new" if alias not in baseline_aliases else ""
        print(
            f"| {alias} | {flag} | {n} | {lo:.1f} | {gen:.1f} | {tr:.1f} | {ml:.1f} | {fb} "
            f"| {excess:.2f} |"
        )
    print(f"\n{len(new)} new aliases drawn; sum of their excess: {sum(r[0] for r in new):.2f}")


def _family_table(seeds: list[dict[str, Any]], family: dict[str, str]) -> None:
    ok = [s for s in seeds if s["ok"]]
    mean_lower = sum(s["ms"]["lower"] for s in ok) / len(ok)
    by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for s in ok:
        for fam in {family[a] for a in s["aliases"] if a in family}:
            by[fam].append(s)
    print("\nbranch, by rule family (programs that use one, and the others):\n")
    print("| family | programs | lower ms | others' lower ms | IR ops | others' IR ops "
          "| excess ms/seed |\n|---|---|---|---|---|---|---|")  # fmt: skip

    def mean(ss: list[dict[str, Any]], key: str) -> float:
        return sum(s["ms"]["lower"] if key == "lower" else s[key] for s in ss) / len(ss)

    rows = []
    for fam, group in by.items():
        ids = {id(s) for s in group}
        others = [s for s in ok if id(s) not in ids] or ok
        excess = sum(s["ms"]["lower"] - mean_lower for s in group) / len(ok)
        cells = (mean(group, "lower"), mean(others, "lower"), mean(group, "ops"))
        rows.append((excess, fam, len(group), *cells, mean(others, "ops")))
    for excess, fam, n, lower_with, lower_others, ops_with, ops_others in sorted(rows)[::-1]:
        print(f"| {fam} | {n} | {lower_with:.1f} | {lower_others:.1f} | {ops_with:.0f} "
              f"| {ops_others:.0f} | {excess:.2f} |")  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("checkouts", nargs="*", type=Path)
    p.add_argument("-n", type=int, default=300)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--first", type=int, default=1_000_000)
    p.add_argument("--max-depth", type=int, default=5)
    p.add_argument("--profile", default="breadth")
    p.add_argument("--e2e", type=int, default=0, help="also time the CLI on this many pairs")
    p.add_argument("--per-form", type=int, default=25, help="rows of the per-alias table")
    p.add_argument("--warmup", type=int, default=WARMUP, help="untimed seeds before the timed")
    p.add_argument("--json", help="also write every seed's figures to this file")
    p.add_argument(
        "--drop-family",
        action="append",
        default=[],
        help="what-if column: the branch without this rule family (repeatable)",
    )
    p.add_argument("--probe", type=int, default=0, help="only lower N fresh one-op programs")
    p.add_argument("--worker", action="store_true")
    args = p.parse_args()
    if args.probe:
        _probe(args.probe)
        return
    if args.worker:
        drop = args.drop_family[0] if args.drop_family else ""
        _worker(args.first, args.n, args.max_depth, args.profile, args.warmup, drop)
        return
    if len(args.checkouts) < 2:
        p.error("give two or more checkouts: BASELINE ... BRANCH")
    checkouts = [c.resolve() for c in args.checkouts]
    runs = [(f"{'baseline' if i == 0 else 'checkout'} ({c.name})", c, "") for i, c in
            enumerate(checkouts)]  # fmt: skip
    runs[-1] = (f"branch ({checkouts[-1].name})", checkouts[-1], "")
    runs += [(f"branch without {f}", checkouts[-1], f) for f in args.drop_family]
    results: dict[str, list[dict[str, Any]]] = {label: [] for label, _, _ in runs}
    e2e: dict[str, list[float]] = {label: [] for label, _, drop in runs if not drop}
    for r in range(args.rounds):
        first = args.first + r * (args.n + args.warmup) + args.warmup
        for label, checkout, drop in runs[r % len(runs) :] + runs[: r % len(runs)]:
            results[label].append(_run_worker(checkout, first, args, drop))
            if args.e2e and not drop:
                e2e[label].append(_run_e2e(checkout, args.e2e, args))
        print(f"round {r + 1} done", file=sys.stderr)
    _stage_table(results)
    if args.e2e:
        print(f"\nend to end, python -m fuzzjax --count {args.e2e} --workers 2 (pairs/s)\n")
        named = list(e2e.items())
        for i in range(args.rounds):
            rates = [(label, rates[i]) for label, rates in named]
            cells = ", ".join(f"{label} {rate:.0f}" for label, rate in rates)
            ratios = ", ".join(f"{rate / rates[0][1]:.2f}" for _, rate in rates[1:])
            print(f"round {i + 1}: {cells}; ratios to the baseline {ratios}")
    base_runs, branch_runs = results[runs[0][0]], results[runs[len(checkouts) - 1][0]]
    branch_seeds = [s for r in branch_runs for s in r["seeds"]]
    _form_table(branch_seeds, set(base_runs[0]["grammar"]), args.per_form)
    _family_table(branch_seeds, branch_runs[0]["family"])
    for label, done in results.items():
        print(f"{label}: end RSS MB {[round(r['rss_mb']) for r in done]}, "
              f"cache clears {[r['clears'] for r in done]}")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(results))


if __name__ == "__main__":
    main()
