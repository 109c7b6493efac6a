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

    python scripts/triangular_solve_bound.py [--count 200] [--seed 3] [--no-slack]
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
    args = p.parse_args()
    rs = np.random.RandomState(args.seed)
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


if __name__ == "__main__":
    main()
