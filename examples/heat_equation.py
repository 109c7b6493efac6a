"""The 2-D heat equation u_t = α Δu, explicit (forward Euler, 5-point Laplacian) time steps.

The stable explicit step needs r = α dt / h² <= 1/4; here r = 0.2, with u = 0 on the edge.
The script diffuses a hot square for 200 steps, prints how the peak and the total heat
decay, then stores the (source, StableHLO) pairs of one step and of the 200-step run.

    python examples/heat_equation.py [--db corpus/examples.sqlite]
    python -m fuzzjax add examples/heat_equation.py
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import jax
import jax.numpy as jnp

import fuzzjax
from fuzzjax.corpus.add import add_pairs

N = 32  # grid points per side


def heat_step(u: jax.Array) -> jax.Array:
    """One explicit step with r = α dt / h² = 0.2 and zero Dirichlet boundary."""
    laplacian = u[:-2, 1:-1] + u[2:, 1:-1] + u[1:-1, :-2] + u[1:-1, 2:] - 4.0 * u[1:-1, 1:-1]
    return u.at[1:-1, 1:-1].add(0.2 * laplacian)


def heat_run(u: jax.Array) -> jax.Array:
    """200 explicit steps (r = 0.2) as one loop."""

    def step(_: int, u: jax.Array) -> jax.Array:
        laplacian = u[:-2, 1:-1] + u[2:, 1:-1] + u[1:-1, :-2] + u[1:-1, 2:] - 4.0 * u[1:-1, 1:-1]
        return u.at[1:-1, 1:-1].add(0.2 * laplacian)

    return jax.lax.fori_loop(0, 200, step, u)


FUZZJAX_EXAMPLES = {
    "heat_step": (jax.ShapeDtypeStruct((N, N), jnp.float32),),
    "heat_run": (jax.ShapeDtypeStruct((N, N), jnp.float32),),
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="corpus/examples.sqlite", help="corpus to add to")
    args = parser.parse_args(argv)

    u0 = jnp.zeros((N, N), jnp.float32).at[12:20, 12:20].set(1.0)
    u = jax.jit(heat_run)(u0)
    stepped = u0
    for _ in range(200):
        stepped = jax.jit(heat_step)(stepped)
    print(
        f"peak {float(u0.max()):.3f} -> {float(u.max()):.3f}, "
        f"total heat {float(u0.sum()):.2f} -> {float(u.sum()):.2f} after 200 steps; "
        f"loop == 200 single steps: {bool(jnp.allclose(u, stepped, atol=1e-6))}"
    )

    pairs = [
        fuzzjax.extract_ir_pair(fn, *FUZZJAX_EXAMPLES[fn.__name__]) for fn in (heat_step, heat_run)
    ]
    with fuzzjax.Corpus(args.db) as corpus:
        print(add_pairs(corpus, pairs).line(args.db))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
