"""Where a generated program's lowering time goes, by lowering phase, per rule family.

Usage: python scripts/lowering_breakdown.py [-n 300] [--first 530000] [--max-depth 5]
       [--family random] [--warmup 10]

Generates the breadth programs of ``n`` consecutive seeds, lowers each once on the fast
path (``lower_text``, as the corpus build does) and canonicalises it, and charges each
phase its exclusive CPU time (``time.process_time``) by wrapping JAX's own functions:

- trace: ``jax.jit(f).trace`` (tracing the program into a jaxpr, its nested ``jax.jit``
  functions included; ``pjit.jit_trace``);
- re-trace in rules: the jaxprs lowering rules trace while lowering (``mlir.lower_fun``:
  Threefry for each ``jax.random`` draw, argmax, cumulative reductions...;
  ``pe.trace_to_jaxpr_dynamic(..., lower=True)``), trace-cache hits included;
- emit: ``mlir.lower_jaxpr_to_module`` minus those re-traces (JAX's lowering rules building
  MLIR ops through the Python bindings, plus one ``verify`` of the module);
  ``of which nested functions`` is the inclusive time of ``_pjit_lower_jaxpr_to_fun`` (the
  bodies of nested jitted functions such as ``_uniform``, ``threefry2x32``, outermost only);
- lower (rest): the rest of ``Traced.lower`` (shardings, module set-up);
- print: ``mlir.module_to_string`` (``as_text``);
- canonicalise: ``canonical.canonicalize``, ``op_counts`` and ``ir_hash``.

Programs are split into those using rule family ``--family`` and the rest. The module
``verify`` inside ``emit`` is also timed separately by verifying each module once more
(``verify`` column, not subtracted).
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from typing import Any

from throughput_profile import _Clock  # this directory is on sys.path when run as a script

PHASES = ("trace", "re-trace in rules", "emit", "lower (rest)", "print", "canonicalise")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-n", type=int, default=300)
    p.add_argument("--first", type=int, default=530_000)
    p.add_argument("--max-depth", type=int, default=5)
    p.add_argument("--family", default="random")
    p.add_argument("--warmup", type=int, default=10)
    args = p.parse_args()

    from jax._src import pjit, stages
    from jax._src.interpreters import mlir
    from jax._src.interpreters import partial_eval as pe

    from fuzzjax.generation.generator import generate
    from fuzzjax.lowering import canonical, fastlower, lower
    from fuzzjax.program import GenOptions
    from fuzzjax.rules.table import TABLE

    options = GenOptions(max_depth=args.max_depth)
    warm = [generate(s, options) for s in range(args.first - args.warmup, args.first)]
    for program in warm:  # imports, first lowerings, installs the fast path's hooks
        lower.lower_program(program)
    clock = _Clock()
    nested = [0.0, 0]  # inclusive seconds in outermost nested-function lowerings, depth
    real_nested = pjit._pjit_lower_jaxpr_to_fun

    def nested_timed(*a: Any, **kw: Any) -> Any:
        nested[1] += 1
        start = time.process_time()
        try:
            return real_nested(*a, **kw)
        finally:
            nested[1] -= 1
            if nested[1] == 0:
                nested[0] += time.process_time() - start

    pjit._pjit_lower_jaxpr_to_fun = nested_timed
    pjit.jit_trace = clock.wrap("trace", pjit.jit_trace)
    stages.Traced.lower = clock.wrap("lower (rest)", stages.Traced.lower)  # type: ignore[method-assign]
    mlir.lower_jaxpr_to_module = clock.wrap("emit", mlir.lower_jaxpr_to_module)
    real_trace = pe.trace_to_jaxpr_dynamic
    timed_trace = clock.wrap("re-trace in rules", real_trace)

    def retrace(*a: Any, **kw: Any) -> Any:  # only the traces lowering rules make
        return timed_trace(*a, **kw) if kw.get("lower") else real_trace(*a, **kw)

    mlir.pe.trace_to_jaxpr_dynamic = retrace
    mlir.module_to_string = clock.wrap("print", mlir.module_to_string)
    for name in ("canonicalize", "op_counts", "ir_hash"):
        setattr(lower, name, clock.wrap("canonicalise", getattr(canonical, name)))
    verify = [0.0]
    real_module_to_string = mlir.module_to_string

    def printing(module: Any, *a: Any, **kw: Any) -> Any:
        start = time.process_time()
        module.operation.verify()
        verify[0] += time.process_time() - start
        return real_module_to_string(module, *a, **kw)

    mlir.module_to_string = printing

    rows: dict[str, dict[str, float]] = {}
    counts: dict[str, int] = defaultdict(int)
    for seed in range(args.first, args.first + args.n):
        program = generate(seed, options)
        families = {TABLE[a].family for a in program.aliases if a in TABLE}
        group = args.family if args.family in families else "other"
        before = dict(clock.spent)
        before_nested, before_verify = nested[0], verify[0]
        start = time.process_time()
        lower.lower_program(program)
        total = time.process_time() - start
        row = rows.setdefault(group, defaultdict(float))
        for phase in PHASES:
            row[phase] += clock.spent.get(phase, 0.0) - before.get(phase, 0.0)
        row["verify"] += verify[0] - before_verify
        row["nested"] += nested[0] - before_nested
        row["total"] += total - (verify[0] - before_verify)
        counts[group] += 1
    print(f"fast path: {fastlower.FAST_PATH_AVAILABLE}, seeds {args.first}..+{args.n}")
    groups = [g for g in (args.family, "other") if g in rows]
    print(
        "| phase (CPU ms per program) | "
        + " | ".join(f"{g} ({counts[g]})" for g in groups)
        + " | "
        + " | ".join(f"share, {g}" for g in groups)
        + " |"
    )
    print("|---|" + "---|" * (2 * len(groups)))
    names = [*PHASES, "other"]
    for phase in names:
        cells, shares = [], []
        for g in groups:
            r, n = rows[g], counts[g]
            value = r["total"] - sum(r[x] for x in PHASES) if phase == "other" else r[phase]
            cells.append(f"{value / n * 1e3:.2f}")
            shares.append(f"{value / r['total']:.0%}")
        print(f"| {phase} | " + " | ".join(cells) + " | " + " | ".join(shares) + " |")
    for label, key in (
        ("of which nested functions (inclusive)", "nested"),
        ("module verify (timed again, not in total)", "verify"),
    ):
        cells = [f"{rows[g][key] / counts[g] * 1e3:.2f}" for g in groups]
        shares = [f"{rows[g][key] / rows[g]['total']:.0%}" for g in groups]
        print(f"| {label} | " + " | ".join(cells) + " | " + " | ".join(shares) + " |")
    cells = [f"{rows[g]['total'] / counts[g] * 1e3:.2f}" for g in groups]
    print("| **total** | " + " | ".join(cells) + " |" + " |" * len(groups))


if __name__ == "__main__":
    main()
