"""``python -m fuzzjax bench``: throughput of fuzzjax against its baselines, in one run.

Measured on the same machine in the same run:

(a) fuzzjax end to end (generate, parse-check, lower, canonicalise, hash, store), unique valid
    pairs/s, with 1 and with N workers (worker scaling);
(b) the lowering limit: stock ``jax.jit(f).lower(*specs).as_text()`` of the very programs (a)
    stored, functions built beforehand, so only lowering is timed (N workers, ideal split);
(c) a seed-style template baseline: ~20 fixed one- or two-op templates filled with random shapes;
(d) ``hypothesis.extra.lark.from_lark`` on our grammar, filtered by parse/exec/lower.

It also times generation and lowering per depth (1..5) in-process. ``run_bench`` and
``memory_profile`` return the report as Markdown; ``fuzzjax bench`` prints it and writes it to
a file only where ``--out`` says.
"""

from __future__ import annotations

import contextlib
import platform
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fuzzjax.workers import Outcome, Pool, default_workers

TEMPLATES: tuple[str, ...] = (
    "x + y", "x - y", "x * y", "x / (jnp.abs(y) + 1.0)", "jnp.maximum(x, y)",
    "jnp.sin(x)", "jnp.cos(x)", "jnp.exp(x)", "jnp.tanh(x)", "jnp.sqrt(jnp.abs(x))",
    "jnp.log1p(jnp.abs(x))", "jnp.sum(x, axis=0)", "jnp.mean(x, axis=1)", "jnp.max(x)",
    "jnp.dot(x, y.T)", "x @ y.T", "jnp.transpose(x)", "jnp.reshape(x, (-1,))",
    "jnp.where(x > 0, x, y)", "jax.nn.relu(x)",
)  # fmt: skip


TEMPLATE_DIMS = (1, 2, 3, 4, 5, 8)
TEMPLATE_DTYPES = ("float32", "float16", "bfloat16")
#: The template baseline cannot produce more distinct programs than this, however long it runs.
TEMPLATE_CEILING = len(TEMPLATES) * len(TEMPLATE_DIMS) ** 2 * len(TEMPLATE_DTYPES)


# ---------------------------------------------------------------- worker-side tasks


@dataclass(frozen=True)
class BenchConfig:
    """A baseline task's settings: the corpus to re-lower, the from_lark time budget."""

    db: str = ""
    seconds: float = 0.0


@dataclass
class BenchResult:
    """One baseline task's measurement (only the fields its baseline sets)."""

    seconds: float = 0.0
    hash: str = ""
    hashes: list[str] = field(default_factory=list)
    tried: int = 0


def make_stock_lower_task(config: BenchConfig) -> Callable[[int], BenchResult]:
    """Lower stored program ``index`` with stock JAX; only the lowering is timed."""
    from fuzzjax.corpus.store import Corpus
    from fuzzjax.lowering.lower import load_function, specs_of
    from fuzzjax.program import ArgSpec

    with Corpus(config.db, create=False) as corpus:
        rows = list(corpus.iter_pairs(["source", "input_info"]))

    def task(index: int) -> BenchResult:
        import json

        import jax

        row = rows[index]
        fn = load_function(row["source"])
        specs = specs_of([ArgSpec.from_json(a) for a in json.loads(row["input_info"])])
        start = time.perf_counter()
        jax.jit(fn).lower(*specs).as_text()
        return BenchResult(seconds=time.perf_counter() - start)

    return task


def make_template_task(config: BenchConfig) -> Callable[[int], BenchResult]:
    """The origin's approach: a fixed template with random shapes, stock lowering, hash."""
    import jax
    import jax.numpy as jnp

    from fuzzjax.lowering.canonical import canonicalize, ir_hash

    def task(seed: int) -> BenchResult:
        rng = random.Random(seed)
        template = rng.choice(TEMPLATES)
        m, n = rng.choice(TEMPLATE_DIMS), rng.choice(TEMPLATE_DIMS)
        dtype = jnp.dtype(rng.choice(TEMPLATE_DTYPES))
        namespace: dict[str, Any] = {"jax": jax, "jnp": jnp}
        exec(f"def f(x, y):\n    return {template}\n", namespace)  # fixed templates only
        spec = jax.ShapeDtypeStruct((m, n), dtype)
        text = jax.jit(namespace["f"]).lower(spec, spec).as_text()
        return BenchResult(hash=ir_hash(canonicalize(text)))

    return task


def make_from_lark_task(config: BenchConfig) -> Callable[[int], BenchResult]:
    """Draw programs from ``from_lark(grammar)`` for a time budget; keep the valid ones."""
    import jax
    import jax.numpy as jnp
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis.extra.lark import from_lark
    from lark import Lark

    from fuzzjax.lowering.canonical import canonicalize, ir_hash
    from fuzzjax.lowering.lower import load_function
    from fuzzjax.syntax import grammar_text

    budget = config.seconds
    # A parser of its own: from_lark reads ``Lark.grammar``, which a cached parser lacks.
    grammar = Lark(grammar_text(), parser="lalr", start="start", maybe_placeholders=False)

    def task(seed: int) -> BenchResult:
        hashes: list[str] = []
        tried = [0]
        deadline: list[float] = []  # set at the first draw: building the strategy is not timed
        rng = random.Random(seed)

        @settings(
            max_examples=10**7,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(from_lark(grammar, start="start"))
        def draw(text: str) -> None:
            if not deadline:
                deadline.append(time.monotonic() + budget)
            elif time.monotonic() > deadline[0]:
                raise _Done
            tried[0] += 1
            try:
                fn = load_function(text)
                n_args = fn.__code__.co_argcount
                shape = (rng.choice((1, 2, 3)), rng.choice((1, 2, 3)))
                specs = [jax.ShapeDtypeStruct(shape, jnp.float32)] * n_args
                hashes.append(ir_hash(canonicalize(jax.jit(fn).lower(*specs).as_text())))
            except Exception:  # noqa: BLE001, S110 - invalid programs are the point here
                pass

        with contextlib.suppress(_Done):
            draw()
        return BenchResult(hashes=hashes, tried=tried[0])

    return task


class _Done(Exception):
    pass


def _results(outcomes: Iterator[Outcome[BenchResult]], what: str) -> list[BenchResult]:
    """Results of a measurement; a crashed or timed-out task fails the benchmark loudly."""
    results = []
    for outcome in outcomes:
        if outcome.result is None:
            kind, error = outcome.kind.value, outcome.error
            raise RuntimeError(f"bench {what}: seed {outcome.seed} {kind}: {error}")
        results.append(outcome.result)
    return results


# ---------------------------------------------------------------- supervisor side


def _end_to_end(n: int, workers: int, max_depth: int, tmp: Path) -> tuple[float, Path, float]:
    """(unique pairs/s, corpus path, share of a core the supervisor process used)."""
    from fuzzjax.corpus.build import build_corpus
    from fuzzjax.program import GenOptions

    db = tmp / f"bench-{workers}w.sqlite"
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    summary = build_corpus(db, count=n, options=GenOptions(max_depth=max_depth), workers=workers)
    supervisor = (time.process_time() - cpu_start) / (time.perf_counter() - wall_start)
    return summary.stored / summary.seconds, db, supervisor


def _lowering_limit(db: Path, n: int, workers: int) -> float:
    with Pool(make_stock_lower_task, BenchConfig(db=str(db)), workers=workers) as pool:
        total = sum(r.seconds for r in _results(pool.imap(iter(range(n))), "lowering"))
    return n * workers / total


def _templates(n: int, workers: int) -> tuple[float, int]:
    start = time.perf_counter()
    with Pool(make_template_task, BenchConfig(), workers=workers) as pool:
        hashes = {r.hash for r in _results(pool.imap(iter(range(n))), "templates")}
    return len(hashes) / (time.perf_counter() - start), len(hashes)


def _from_lark(seconds: float, workers: int) -> tuple[float, int, int]:
    start = time.perf_counter()
    config = BenchConfig(seconds=seconds)
    with Pool(make_from_lark_task, config, workers=workers) as pool:
        results = _results(pool.imap(iter(range(workers))), "from_lark")
    hashes = {h for r in results for h in r.hashes}
    valid = sum(len(r.hashes) for r in results)
    tried = sum(r.tried for r in results)
    return len(hashes) / (time.perf_counter() - start), valid, tried


def per_depth(per: int) -> list[tuple[int, float, float, float]]:
    """In-process, depths 1..5: ms/program of generation, of fuzzjax's own lowering work
    (parse check, exec, canonicalisation, hashing) and of JAX's ``jit().lower()``."""
    from fuzzjax.generation.generator import generate
    from fuzzjax.lowering.lower import lower_program

    for seed in range(20):  # warm up: grammar load, first traces
        lower_program(generate(seed, max_depth=2))
    rows = []
    for depth in range(1, 6):
        programs, gen_start = [], time.perf_counter()
        for seed in range(per):
            programs.append(generate(seed, max_depth=depth, min_depth=depth))
        gen_ms = (time.perf_counter() - gen_start) * 1000 / per
        lower_start, jax_ms = time.perf_counter(), 0.0
        for program in programs:
            jax_ms += lower_program(program).lower_ms
        total_ms = (time.perf_counter() - lower_start) * 1000
        rows.append((depth, gen_ms, (total_ms - jax_ms) / per, jax_ms / per))
    return rows


def run_bench(n: int, workers: int, lark_seconds: float) -> str:
    """The throughput report (Markdown) of one benchmark run."""
    import jax

    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        one, _, _ = _end_to_end(n // 2, 1, 5, tmp)
        many, db, supervisor = _end_to_end(n, workers, 5, tmp)
        limit = _lowering_limit(db, n, workers)
    template_rate, template_unique = _templates(n, workers)
    lark_rate, lark_valid, lark_tried = _from_lark(lark_seconds, workers)
    if lark_valid:
        lark_ratio = f"fuzzjax / from_lark = {many / lark_rate:.0f}x"
    else:  # bound it as if one valid program had been found
        lark_ratio = f"none valid: fuzzjax / from_lark > {many * lark_seconds:.0f}x"
    depths = per_depth(max(50, n // 20))
    lines = [
        "# Throughput benchmark",
        "",
        f"Command: `python -m fuzzjax bench --count {n} --workers {workers}"
        f" --lark-seconds {lark_seconds:g}`  ",
        f"Machine: {platform.machine()}, {default_workers()} cores, Python "
        f"{platform.python_version()}, jax {jax.__version__}; {time.strftime('%Y-%m-%d')}",
        "",
        "| measurement | unique valid pairs/s | ratio |",
        "|---|---|---|",
        f"| (a) fuzzjax end to end, {workers} workers, depth <= 5 (supervisor process: "
        f"{supervisor:.0%} of a core) | {many:.0f} | 1.00 |",
        f"| (a) fuzzjax end to end, 1 worker | {one:.0f} | scaling {many / one:.2f}x |",
        f"| (b) lowering limit: stock jit().lower() of the same programs, {workers} workers"
        f" | {limit:.0f} | end-to-end / limit = {many / limit:.2f} |",
        f"| (c) template baseline ({len(TEMPLATES)} templates, random shapes; "
        f"{template_unique} unique of {n}; never more than {TEMPLATE_CEILING}) | "
        f"{template_rate:.0f} | "
        f"fuzzjax / templates = {many / template_rate:.1f}x |",
        f"| (d) from_lark on our grammar + parse/exec/lower filter "
        f"({lark_valid} valid of {lark_tried} drawn in {lark_seconds:g} s) | {lark_rate:.2f} | "
        f"{lark_ratio} |",
        "",
        "Per depth, in-process (one core), ms per program: generation (including the Lark",
        "parse that measures depth), fuzzjax's own lowering work (parse check, exec,",
        "canonicalisation, hashing) and JAX's `jit().lower()` (fast path).",
        "",
        "| depth | generate ms | fuzzjax lowering work ms | JAX lower ms | programs/s | JAX % |",
        "|---|---|---|---|---|---|",
    ]
    for depth, gen_ms, own_ms, jax_ms in depths:
        total = gen_ms + own_ms + jax_ms
        lines.append(
            f"| {depth} | {gen_ms:.2f} | {own_ms:.2f} | {jax_ms:.2f} | {1000 / total:.0f} | "
            f"{jax_ms / total:.0%} |"
        )
    return "\n".join(lines) + "\n"


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def memory_profile(n: int, every: int) -> str:
    """RSS of one worker's task loop (generate + lower + periodic cache clearing) over n seeds,
    as a Markdown report; each sample is also printed to stderr as it is taken."""
    from fuzzjax.corpus.build import GenerationConfig, make_generation_task
    from fuzzjax.lowering.lower import CLEAR_CACHES_EVERY
    from fuzzjax.program import GenOptions

    task = make_generation_task(GenerationConfig(GenOptions().to_json()))
    rows = ["| programs | RSS MB | seconds |", "|---|---|---|"]
    start = time.perf_counter()
    for seed in range(n):
        task(seed)
        if (seed + 1) % every == 0 or seed == 0:
            rows.append(f"| {seed + 1} | {_rss_mb():.0f} | {time.perf_counter() - start:.0f} |")
            print(rows[-1], file=sys.stderr, flush=True)
    return (
        "\n".join(
            [
                "# Memory over a long run",
                "",
                f"Command: `python -m fuzzjax bench --memory {n} --every {every}` "
                f"({time.strftime('%Y-%m-%d')}); one process running the worker task "
                "(generate, lower, canonicalise, hash; jax.clear_caches() every "
                f"{CLEAR_CACHES_EVERY} programs; MLIR context rebuilt every 500 lowerings).",
                "",
                *rows,
            ]
        )
        + "\n"
    )
