"""Gradient descent on a least-squares loss: fit w in y ≈ x @ w.

The script makes a noiseless linear problem with known weights, runs 300 steps of plain
gradient descent (learning rate 0.1) and prints the loss and the weight error; then it stores
the (source, StableHLO) pairs of the loss, its gradient and one descent step.

    python examples/gradient_descent.py [--db corpus/examples.sqlite]
    python -m fuzzjax add examples/gradient_descent.py
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import jax
import jax.numpy as jnp

import fuzzjax
from fuzzjax.corpus.add import add_pairs

SAMPLES, FEATURES = 64, 4


def least_squares(w: jax.Array, x: jax.Array, y: jax.Array) -> jax.Array:
    """Mean squared error of the linear model x @ w."""
    return jnp.mean((x @ w - y) ** 2)


def least_squares_grad(w: jax.Array, x: jax.Array, y: jax.Array) -> jax.Array:
    """Gradient of the mean squared error with respect to w."""
    return jax.grad(lambda w: jnp.mean((x @ w - y) ** 2))(w)


def gd_step(w: jax.Array, x: jax.Array, y: jax.Array) -> jax.Array:
    """One gradient-descent step with learning rate 0.1 on the mean squared error."""
    return w - 0.1 * jax.grad(lambda w: jnp.mean((x @ w - y) ** 2))(w)


_SPECS = (
    jax.ShapeDtypeStruct((FEATURES,), jnp.float32),
    jax.ShapeDtypeStruct((SAMPLES, FEATURES), jnp.float32),
    jax.ShapeDtypeStruct((SAMPLES,), jnp.float32),
)
FUZZJAX_EXAMPLES = {"least_squares": _SPECS, "least_squares_grad": _SPECS, "gd_step": _SPECS}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="corpus/examples.sqlite", help="corpus to add to")
    args = parser.parse_args(argv)

    x = jax.random.normal(jax.random.key(0), (SAMPLES, FEATURES))
    w_true = jnp.array([1.0, -2.0, 0.5, 3.0])
    y = x @ w_true
    w = jnp.zeros(FEATURES)
    step = jax.jit(gd_step)
    print(f"loss at w = 0: {float(least_squares(w, x, y)):.4f}")
    for _ in range(300):
        w = step(w, x, y)
    print(
        f"after 300 steps: loss {float(least_squares(w, x, y)):.2e}, "
        f"max |w - w_true| {float(jnp.max(jnp.abs(w - w_true))):.2e}"
    )

    pairs = [
        fuzzjax.extract_ir_pair(fn, *FUZZJAX_EXAMPLES[fn.__name__])
        for fn in (least_squares, least_squares_grad, gd_step)
    ]
    with fuzzjax.Corpus(args.db) as corpus:
        print(add_pairs(corpus, pairs).line(args.db))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
