"""``fuzzjax.extract_ir_pair`` step by step: lower a function, look at the record, store it.

This is the lower-level path the other examples wrap with ``fuzzjax.corpus.add.add_pairs``: make an
``IRPair``, turn it into a corpus row with ``fuzzjax.corpus.add.user_row``, and insert the row with
``Corpus.add_pair`` inside a transaction (False means that IR is already stored).

    python examples/extract_ir.py [--db corpus/examples.sqlite]
    python -m fuzzjax add examples/extract_ir.py
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import jax
import jax.numpy as jnp

import fuzzjax
from fuzzjax.corpus.add import user_row


def gelu_tanh(x: jax.Array) -> jax.Array:
    """GELU with the tanh approximation."""
    return 0.5 * x * (1.0 + jnp.tanh(0.7978845608 * (x + 0.044715 * x**3)))


FUZZJAX_EXAMPLES = {"gelu_tanh": (jax.ShapeDtypeStruct((2, 8), jnp.bfloat16),)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="corpus/examples.sqlite", help="corpus to add to")
    args = parser.parse_args(argv)

    # Concrete arrays work as well as ShapeDtypeStructs: only shapes and dtypes are used.
    pair = fuzzjax.extract_ir_pair(gelu_tanh, jnp.ones((2, 8), jnp.bfloat16))
    print(f"function   {pair.function_name}")
    print(f"signature  {pair.signature}")
    print(f"inputs     {pair.input_info}")
    print(f"ir_hash    {pair.ir_hash[:16]}...  (sha256 of the canonical StableHLO)")
    print(f"op counts  {pair.op_counts}")
    print(pair.ir_code)

    with fuzzjax.Corpus(args.db) as corpus, corpus.transaction():
        stored = corpus.add_pair(user_row(pair))
    print(f"{'added 1 pair' if stored else 'already stored (duplicate IR)'} to {args.db}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
