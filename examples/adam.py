"""Adam on the 2-D Rosenbrock function f(p) = (1 - a)² + 100 (b - a²)², minimum at (1, 1).

``adam_step`` is the whole optimiser update (gradient, both moment estimates, bias
correction) as one function of arrays. The script runs 2000 steps from (-1.5, 2) and prints
the loss and the distance to the minimum, then stores the (source, StableHLO) pairs.

    python examples/adam.py [--db corpus/examples.sqlite]
    python -m fuzzjax add examples/adam.py
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import jax
import jax.numpy as jnp

import fuzzjax
from fuzzjax.corpus.add import add_pairs


def rosenbrock(p: jax.Array) -> jax.Array:
    """The Rosenbrock function of p = (a, b)."""
    return (1.0 - p[0]) ** 2 + 100.0 * (p[1] - p[0] ** 2) ** 2


def adam_step(
    p: jax.Array, m: jax.Array, v: jax.Array, t: jax.Array
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Step t (1-based) of Adam (lr 0.02, betas 0.9 / 0.999) on the Rosenbrock function."""
    g = jax.grad(lambda p: (1.0 - p[0]) ** 2 + 100.0 * (p[1] - p[0] ** 2) ** 2)(p)
    m = 0.9 * m + 0.1 * g
    v = 0.999 * v + 0.001 * g**2
    m_hat = m / (1.0 - 0.9**t)
    v_hat = v / (1.0 - 0.999**t)
    return p - 0.02 * m_hat / (jnp.sqrt(v_hat) + 1e-8), m, v


_P = jax.ShapeDtypeStruct((2,), jnp.float32)
FUZZJAX_EXAMPLES = {
    "rosenbrock": (_P,),
    "adam_step": (_P, _P, _P, jax.ShapeDtypeStruct((), jnp.float32)),
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="corpus/examples.sqlite", help="corpus to add to")
    args = parser.parse_args(argv)

    p = jnp.array([-1.5, 2.0])
    m = v = jnp.zeros(2)
    print(f"loss at {p.tolist()}: {float(rosenbrock(p)):.3f}")

    State = tuple[jax.Array, jax.Array, jax.Array]

    def body(state: State, t: jax.Array) -> tuple[State, None]:
        return adam_step(*state, t), None

    (p, m, v), _ = jax.lax.scan(body, (p, m, v), jnp.arange(1.0, 2001.0))
    print(
        f"after 2000 Adam steps: loss {float(rosenbrock(p)):.2e}, "
        f"distance to (1, 1) {float(jnp.linalg.norm(p - 1.0)):.2e}"
    )

    pairs = [
        fuzzjax.extract_ir_pair(fn, *FUZZJAX_EXAMPLES[fn.__name__])
        for fn in (rosenbrock, adam_step)
    ]
    with fuzzjax.Corpus(args.db) as corpus:
        print(add_pairs(corpus, pairs).line(args.db))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
