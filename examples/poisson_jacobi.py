"""Jacobi iterations for the 2-D Poisson problem -Δu = f on the unit square, u = 0 on the edge.

With f = 2π² sin(πx) sin(πy) the exact solution is u = sin(πx) sin(πy), so the script prints
how close 500 Jacobi sweeps on a 17 x 17 grid get, then stores the (source, StableHLO) pair.

    python examples/poisson_jacobi.py [--db corpus/examples.sqlite]
    python -m fuzzjax add examples/poisson_jacobi.py      # the same pair, via FUZZJAX_EXAMPLES
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import jax
import jax.numpy as jnp

import fuzzjax
from fuzzjax.corpus.add import add_pairs

N = 17  # grid points per side, boundary included


def poisson_jacobi(u: jax.Array, f: jax.Array) -> jax.Array:
    """500 Jacobi sweeps for -Δu = f on a square grid of spacing h = 1 / (n - 1)."""
    h2 = (1.0 / (u.shape[0] - 1)) ** 2

    def sweep(_: int, u: jax.Array) -> jax.Array:
        neighbours = u[:-2, 1:-1] + u[2:, 1:-1] + u[1:-1, :-2] + u[1:-1, 2:]
        return u.at[1:-1, 1:-1].set(0.25 * (neighbours + h2 * f[1:-1, 1:-1]))

    return jax.lax.fori_loop(0, 500, sweep, u)


FUZZJAX_EXAMPLES = {
    "poisson_jacobi": (
        jax.ShapeDtypeStruct((N, N), jnp.float32),
        jax.ShapeDtypeStruct((N, N), jnp.float32),
    ),
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="corpus/examples.sqlite", help="corpus to add to")
    args = parser.parse_args(argv)

    x = jnp.linspace(0.0, 1.0, N)
    xx, yy = jnp.meshgrid(x, x, indexing="ij")
    exact = jnp.sin(jnp.pi * xx) * jnp.sin(jnp.pi * yy)
    f = 2 * jnp.pi**2 * exact
    u = jax.jit(poisson_jacobi)(jnp.zeros_like(f), f)
    print(f"max |u - exact| after 500 Jacobi sweeps: {float(jnp.max(jnp.abs(u - exact))):.2e}")

    pairs = [fuzzjax.extract_ir_pair(poisson_jacobi, *FUZZJAX_EXAMPLES["poisson_jacobi"])]
    with fuzzjax.Corpus(args.db) as corpus:
        print(add_pairs(corpus, pairs).line(args.db))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
