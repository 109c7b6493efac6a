"""``jax.jit`` basics: compile once per input shape and dtype, get the same numbers as eager.

The script checks a few jitted functions against their eager results, shows that a new
input shape triggers a new trace (and a reused shape does not), then stores the
(source, StableHLO) pairs of the functions.

    python examples/jit_basics.py [--db corpus/examples.sqlite]
    python -m fuzzjax add examples/jit_basics.py
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import jax
import jax.numpy as jnp

import fuzzjax
from fuzzjax.corpus.add import add_pairs


def selu(x: jax.Array) -> jax.Array:
    """Scaled exponential linear unit."""
    return 1.0507 * jnp.where(x > 0, x, 1.67326 * jnp.expm1(x))


def softmax_rows(x: jax.Array) -> jax.Array:
    """Numerically stable softmax over the last axis."""
    z = jnp.exp(x - jnp.max(x, axis=-1, keepdims=True))
    return z / jnp.sum(z, axis=-1, keepdims=True)


def horner(x: jax.Array) -> jax.Array:
    """The polynomial 3x³ - 2x² + x - 5, by Horner's rule."""
    return ((3.0 * x - 2.0) * x + 1.0) * x - 5.0


FUZZJAX_EXAMPLES = {
    "selu": (jax.ShapeDtypeStruct((16,), jnp.float32),),
    "softmax_rows": (jax.ShapeDtypeStruct((4, 8), jnp.float32),),
    "horner": (jax.ShapeDtypeStruct((3, 5), jnp.float16),),
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="corpus/examples.sqlite", help="corpus to add to")
    args = parser.parse_args(argv)

    x = jnp.linspace(-3.0, 3.0, 16)
    for fn in (selu, softmax_rows, horner):
        same = jnp.allclose(jax.jit(fn)(x), fn(x), rtol=1e-6)
        print(f"jit({fn.__name__}) == {fn.__name__}: {bool(same)}")

    traces = []

    def traced_square(x: jax.Array) -> jax.Array:
        traces.append(x.shape)  # runs only while tracing
        return x * x

    square = jax.jit(traced_square)
    for shape in [(3,), (3,), (4,), (3,)]:
        square(jnp.ones(shape))
    print(f"4 calls, traced for shapes {traces}: one trace per distinct input shape")

    pairs = [
        fuzzjax.extract_ir_pair(fn, *FUZZJAX_EXAMPLES[fn.__name__])
        for fn in (selu, softmax_rows, horner)
    ]
    with fuzzjax.Corpus(args.db) as corpus:
        print(add_pairs(corpus, pairs).line(args.db))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
