"""``jax.vmap``: write a function for one example, run it on a batch.

The script checks vmapped functions against explicit Python loops, then stores the
(source, StableHLO) pairs: batching shows up as extra dimensions in the StableHLO ops.

    python examples/vmap.py [--db corpus/examples.sqlite]
    python -m fuzzjax add examples/vmap.py
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import jax
import jax.numpy as jnp

import fuzzjax
from fuzzjax.corpus.add import add_pairs


def pairwise_distances(a: jax.Array, b: jax.Array) -> jax.Array:
    """Euclidean distance between every row of a and every row of b (two nested vmaps)."""
    distance = lambda p, q: jnp.sqrt(jnp.sum((p - q) ** 2))  # noqa: E731
    return jax.vmap(lambda p: jax.vmap(lambda q: distance(p, q))(b))(a)


def per_example_grads(w: jax.Array, xs: jax.Array, ys: jax.Array) -> jax.Array:
    """Gradient of each example's squared error (x @ w - y)², one row per example."""
    grad = jax.grad(lambda w, x, y: (x @ w - y) ** 2)
    return jax.vmap(grad, in_axes=(None, 0, 0))(w, xs, ys)


FUZZJAX_EXAMPLES = {
    "pairwise_distances": (
        jax.ShapeDtypeStruct((5, 3), jnp.float32),
        jax.ShapeDtypeStruct((4, 3), jnp.float32),
    ),
    "per_example_grads": (
        jax.ShapeDtypeStruct((3,), jnp.float32),
        jax.ShapeDtypeStruct((8, 3), jnp.float32),
        jax.ShapeDtypeStruct((8,), jnp.float32),
    ),
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="corpus/examples.sqlite", help="corpus to add to")
    args = parser.parse_args(argv)

    k1, k2 = jax.random.split(jax.random.key(0))
    a, b = jax.random.normal(k1, (5, 3)), jax.random.normal(k2, (4, 3))
    loop = jnp.array([[jnp.linalg.norm(p - q) for q in b] for p in a])
    print(f"vmapped distances == loop: {bool(jnp.allclose(pairwise_distances(a, b), loop))}")

    w, ys = jnp.array([0.5, -1.0, 2.0]), jnp.arange(5.0)
    xs = jnp.ones((5, 3))
    grads = per_example_grads(w, xs, ys)
    loop = jnp.stack([2 * (x @ w - y) * x for x, y in zip(xs, ys, strict=True)])
    print(f"per-example gradients {grads.shape} == loop: {bool(jnp.allclose(grads, loop))}")

    pairs = [
        fuzzjax.extract_ir_pair(fn, *FUZZJAX_EXAMPLES[fn.__name__])
        for fn in (pairwise_distances, per_example_grads)
    ]
    with fuzzjax.Corpus(args.db) as corpus:
        print(add_pairs(corpus, pairs).line(args.db))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
