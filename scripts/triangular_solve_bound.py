"""How the NumPy reference judges ``jax.scipy.linalg.solve_triangular`` (notes/dataset.md, "Op
kinds in 0.6.0").

For each dtype, random triangular systems (sizes 0..11, scaled entries and right-hand sides,
diagonals pushed away from zero by 0, 1 or 3): jit's result is compared with the reference
with its undefined masks and its slack (``substitution_slack``), as fuzz mode compares; and,
where the reference is defined everywhere and n > 1, the solution of the *other* triangle is
compared too and must be rejected (the slack is no licence). Prints one line per dtype:
systems, failures (should be 0), systems with an explained (undefined) element, and how many
other-triangle answers were rejected out of those tried. With ``--no-slack`` the slack is left
out, to show what it is for.

With ``--o0`` (float16 and bfloat16 only) it compares jit with the unoptimised executable
(fuzz mode's ``O0_OPTIONS``) instead: how many
differ beyond the runner's ``rewrite_tolerance`` (fuzz mode would report those as
``jit_vs_o0``; counted apart for systems the reference marks undefined, which fuzz mode still
compares between JAX's executions), and the largest error of each executable in units of the
reference's slack.

    python scripts/triangular_solve_bound.py [--count 200] [--seed 3] [--no-slack | --o0]
        [--max-n 12]
"""

from __future__ import annotations

import argparse

import jax
import numpy as np

from fuzzjax.fuzzing.inputs import np_dtype
from fuzzjax.fuzzing.oracles import compare
from fuzzjax.fuzzing.reference import evaluate

SOURCE = "def f(x0, x1):\n    return jax.scipy.linalg.solve_triangular(x0, x1, lower={})\n"
DTYPES = ("float32", "complex64", "float16", "bfloat16")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--count", type=int, default=200, help="systems per dtype")
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--no-slack", action="store_true", help="compare without the slack")
    p.add_argument("--o0", action="store_true", help="jit against the unoptimised executable")
    p.add_argument("--max-n", type=int, default=12, help="systems are 1..max-n - 1 (--o0)")
    args = p.parse_args()
    rs = np.random.RandomState(args.seed)
    if args.o0:
        for dtype in ("float16", "bfloat16"):
            o0_check(dtype, args.count, rs, args.max_n)
        return
    solve = jax.jit(jax.scipy.linalg.solve_triangular, static_argnames="lower")
    for dtype in DTYPES:
        failed = explained = caught = tried = 0
        for _ in range(args.count):
            n, k, lower = rs.randint(0, 12), rs.randint(0, 4), bool(rs.randint(2))
            t = rs.randn(n, n) * rs.choice([0.1, 1, 10])
            t[np.diag_indices(n)] += rs.choice([0, 1, 3]) * np.sign(rs.randn(n))
            if dtype == "complex64":
                t = t + 1j * rs.randn(n, n)
            b = rs.randn(n, k) * rs.choice([1, 100, 1e4]) if k else rs.randn(n)
            x0, x1 = t.astype(np_dtype(dtype)), b.astype(np_dtype(dtype))
            ref = evaluate(SOURCE.format(lower), [x0, x1]).result
            want, slack = np.asarray(ref.value), None if args.no_slack else ref.slack
            got = np.asarray(solve(x0, x1, lower=lower))
            diff = compare(got, want, dtype, undefined=ref.undefined, atol=slack)
            failed += diff.failed
            explained += bool(diff.explained)
            if n > 1 and not ref.mask().any():
                tried += 1
                other = np.asarray(solve(x0, x1, lower=not lower))
                caught += compare(other, want, dtype, atol=slack).failed
        print(
            f"{dtype}: {args.count} systems, {failed} failed, {explained} with undefined "
            f"elements, other triangle rejected {caught} of {tried}"
        )


def system(
    dtype: str, rs: np.random.RandomState, max_n: int
) -> tuple[np.ndarray, np.ndarray, bool]:
    """A random triangular system (as in the default mode) of ``dtype``."""
    n, k, lower = rs.randint(1, max_n), rs.randint(0, 4), bool(rs.randint(2))
    t = rs.randn(n, n) * rs.choice([0.1, 1, 10])
    t[np.diag_indices(n)] += rs.choice([0, 1, 3]) * np.sign(rs.randn(n))
    b = rs.randn(n, k) * rs.choice([1, 100, 1e4]) if k else rs.randn(n)
    return t.astype(np_dtype(dtype)), b.astype(np_dtype(dtype)), lower


def o0_check(dtype: str, count: int, rs: np.random.RandomState, max_n: int) -> None:
    from fuzzjax.fuzzing.runner import O0_OPTIONS, rewrite_tolerance

    beyond = {True: 0, False: 0}  # by whether the reference defines every element
    seen = {True: 0, False: 0}
    worst = {"jit": 0.0, "o0": 0.0}
    for _ in range(count):
        x0, x1, lower = system(dtype, rs, max_n)
        evaluation = evaluate(SOURCE.format(lower), [x0, x1])
        ref = evaluation.result
        want = np.asarray(ref.value).astype(np.float64)
        fn = jax.jit(lambda a, b, lower=lower: jax.scipy.linalg.solve_triangular(a, b, lower=lower))
        lowered = fn.lower(x0, x1)
        runs = {
            "jit": np.asarray(lowered.compile()(x0, x1)),
            "o0": np.asarray(lowered.compile(compiler_options=O0_OPTIONS)(x0, x1)),
        }
        defined = not ref.mask().any() and ref.slack is not None
        seen[defined] += 1
        atol = rewrite_tolerance(evaluation, dtype)
        beyond[defined] += compare(runs["jit"], runs["o0"], dtype, atol=atol).failed
        if not defined or not np.all(np.isfinite(want)):
            continue
        with np.errstate(all="ignore"):
            for name, got in runs.items():
                ratio = np.abs(got.astype(np.float64) - want) / ref.slack
                worst[name] = max(worst[name], float(np.nanmax(ratio, initial=0.0)))
    print(
        f"{dtype}: jit vs o0 beyond rewrite_tolerance: {beyond[True]} of {seen[True]} systems "
        f"the reference defines, {beyond[False]} of {seen[False]} it marks undefined "
        f"(ill-conditioned, range hazards); largest error / slack where defined: "
        f"jit {worst['jit']:.2f}, o0 {worst['o0']:.2f}"
    )


if __name__ == "__main__":
    main()
