"""Complex division by a constant: XLA's algebraic simplifier rewrites x / c as x * (1 / c),
and complex multiplication turns an infinite x into NaN + NaN j where complex division keeps
an infinity (C99 Annex G). jnp.mean of a complex array holding an infinity is therefore NaN
under jit and infinite op by op.

Usage: python scripts/complex_division_rewrite.py

Prints each case compiled as usual (jit), with ``algsimp`` off (as fuzz's O0 oracle does),
op by op (eager), and NumPy's value. Found by the fuzz O0 oracle (``fuzzing.upstream``:
``complex_division_by_constant_nan``); notes/fuzzing.md has the figures.
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np

X = np.array([complex(-np.inf, -np.inf), complex(np.inf, 1), 1 + 1j], np.complex64)
CASES = (
    ("x / -1.0", lambda x: x / -1.0, lambda x: x / np.complex64(-1)),
    ("x / 3.0", lambda x: x / 3.0, lambda x: x / np.complex64(3)),
    ("jnp.mean(x)", jnp.mean, np.mean),
    ("x * (1 / 3)", lambda x: x * jnp.complex64(1 / 3), lambda x: x * np.complex64(1 / 3)),
)


def main() -> None:
    warnings.simplefilter("ignore", RuntimeWarning)
    print(f"x = {X}")
    print("| expression | jit | algsimp off | eager | NumPy |")
    print("|---|---|---|---|---|")
    for name, fn, reference in CASES:
        lowered = jax.jit(fn).lower(X)
        jit = lowered.compile()(X)
        off = lowered.compile({"xla_disable_hlo_passes": "algsimp"})(X)
        with jax.disable_jit():
            eager = fn(jnp.asarray(X))
        cells = [np.array2string(np.asarray(v), separator=", ") for v in (jit, off, eager)]
        cells.append(np.array2string(np.asarray(reference(X)), separator=", "))
        print(f"| `{name}` | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
