"""Complex64 division by XLA vs NumPy vs C99 Annex G (G.5.2) on a grid of special values.

Usage: python scripts/c99_division_check.py
Prints how many of the 6,561 (z, w) pairs each of NumPy and the Annex G algorithm (what
fuzzjax's NumPy reference now uses) agrees with on jax.jit(z / w). notes/fuzzing.md quotes it.
"""

# ruff: noqa: E501, E702
import itertools

import jax
import numpy as np

from fuzzjax.fuzzing.reference.elementwise import _divide as c99_divide

vals = [0.0, -0.0, 1.0, -2.5, np.inf, -np.inf, np.nan, 3e38, 1e-30]
parts = list(itertools.product(vals, vals))
zs = np.array([complex(r, i) for r, i in parts], np.complex64)
Z, W = np.meshgrid(zs, zs, indexing="ij")
Z, W = Z.ravel(), W.ravel()
got = np.asarray(jax.jit(lambda z, w: z / w)(Z, W)).astype(np.complex128)


def same(p, q):
    q = q.astype(np.complex64).astype(np.complex128)

    def part(u, v):
        return (np.isnan(u) & np.isnan(v)) | (u == v) | (np.abs(u - v) <= 1e-6 * np.abs(v))

    return part(p.real, q.real) & part(p.imag, q.imag)


with np.errstate(all="ignore"):
    npy = Z.astype(np.complex128) / W.astype(np.complex128)
print(
    "pairs",
    Z.size,
    "| numpy agrees with jax:",
    int(same(got, npy).sum()),
    "| C99 Annex G agrees:",
    int(same(got, c99_divide(Z, W)).sum()),
)
