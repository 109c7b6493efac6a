"""``jax.grad``: derivatives of Python functions, checked against finite differences.

The script compares gradients (and a second derivative) with central differences, then
stores the (source, StableHLO) pairs of the derivative functions: the backward pass is in
the StableHLO, which makes these pairs different from forward-only programs.

    python examples/grad.py [--db corpus/examples.sqlite]
    python -m fuzzjax add examples/grad.py
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import jax
import jax.numpy as jnp

import fuzzjax
from fuzzjax.corpus.add import add_pairs


def grad_logsumexp(x: jax.Array) -> jax.Array:
    """Gradient of log(sum(exp(x))): the softmax of x."""
    return jax.grad(lambda x: jnp.log(jnp.sum(jnp.exp(x))))(x)


def grad_tanh_layer(w: jax.Array, x: jax.Array) -> jax.Array:
    """Gradient in w of the squared norm of tanh(x @ w)."""
    return jax.grad(lambda w: jnp.sum(jnp.tanh(x @ w) ** 2))(w)


def second_derivative_sin_cube(x: jax.Array) -> jax.Array:
    """d²/dx² of sin(x³) at every element of x (grad of grad, vectorised with vmap)."""
    return jax.vmap(jax.grad(jax.grad(lambda t: jnp.sin(t**3))))(x)


FUZZJAX_EXAMPLES = {
    "grad_logsumexp": (jax.ShapeDtypeStruct((10,), jnp.float32),),
    "grad_tanh_layer": (
        jax.ShapeDtypeStruct((3, 2), jnp.float32),
        jax.ShapeDtypeStruct((5, 3), jnp.float32),
    ),
    "second_derivative_sin_cube": (jax.ShapeDtypeStruct((7,), jnp.float32),),
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="corpus/examples.sqlite", help="corpus to add to")
    args = parser.parse_args(argv)

    x = jnp.linspace(-1.0, 1.0, 10)
    softmax = jnp.exp(x) / jnp.sum(jnp.exp(x))
    print(f"grad(logsumexp) == softmax: {bool(jnp.allclose(grad_logsumexp(x), softmax))}")

    t = jnp.linspace(0.1, 1.0, 7)
    h = 1e-2
    f = lambda t: jnp.sin(t**3)  # noqa: E731
    central = (f(t + h) - 2 * f(t) + f(t - h)) / h**2
    error = float(jnp.max(jnp.abs(second_derivative_sin_cube(t) - central)))
    print(f"second derivative vs central differences (h = {h}): max difference {error:.1e}")

    pairs = [
        fuzzjax.extract_ir_pair(fn, *FUZZJAX_EXAMPLES[fn.__name__])
        for fn in (grad_logsumexp, grad_tanh_layer, second_derivative_sin_cube)
    ]
    with fuzzjax.Corpus(args.db) as corpus:
        print(add_pairs(corpus, pairs).line(args.db))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
