"""How accurate is JAX on ordinary inputs, measured by the referee? (calibrates its bounds)

Usage: python scripts/referee_calibrate.py DTYPE [NAME ...] [--count N] [--seed S]

For every function of the referee's table (``fuzzjax.fuzzing.referee_functions.FUNCTIONS``
and ``polygamma0``..``polygamma3``, ``jax.scipy.special.polygamma`` of that order; or the
NAMEs given), draws N inputs of DTYPE (float32, float16, bfloat16 or complex64; a third
normal(0, 3), the rest log-uniform in magnitude over e^-8..e^8 with random signs; complex
parts drawn alike; each function's draws depend only on the seed and its name), runs JAX's
function compiled, and judges each element with the referee. Prints per function how many
elements are beyond the bound, the largest error accepted under ``within_bound`` (ulps against
the exact value: large when a scaled or backward criterion accepted it), and the first two
rejected elements.
"""

from __future__ import annotations

import argparse
import math
import sys
import warnings
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np


def jax_function(name: str) -> Callable[..., Any]:
    """The JAX function of a referee table name (jnp, then jax.nn, then jax.lax)."""
    import jax
    import jax.numpy as jnp
    from jax import lax

    lax_names = {"rsqrt", "erf", "erfc", "erf_inv", "lgamma", "digamma"}
    if name.startswith("polygamma"):  # polygamma0..polygamma3: the order is a literal
        order = int(name.removeprefix("polygamma"))
        return lambda x: jax.scipy.special.polygamma(order, x)
    if name in lax_names:
        return getattr(lax, name)  # type: ignore[no-any-return]
    return getattr(jnp, name, None) or getattr(jax.nn, name)  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dtype", choices=["float32", "float16", "bfloat16", "complex64"])
    parser.add_argument("names", nargs="*")
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    import jax

    from fuzzjax.fuzzing.inputs import np_dtype
    from fuzzjax.fuzzing.referee_bounds import bound_of
    from fuzzjax.fuzzing.referee_exact import expect
    from fuzzjax.fuzzing.referee_functions import FUNCTIONS
    from fuzzjax.fuzzing.referee_judge import Context, judge
    from fuzzjax.fuzzing.referee_numbers import part_format
    from fuzzjax.fuzzing.referee_polygamma import polygamma

    is_complex = args.dtype == "complex64"
    fmt = part_format(args.dtype)
    n = args.count

    def draw(rng: np.random.Generator) -> np.ndarray:
        x = np.exp(rng.uniform(-8, 8, n)) * rng.choice([-1, 1], n)
        x[: n // 3] = rng.normal(0, 3, n // 3)
        return x

    table = {**FUNCTIONS, **{f"polygamma{k}": polygamma(k) for k in range(4)}}
    for name, fn in table.items():
        if (args.names and name not in args.names) or (is_complex and fn.real_only):
            continue
        if not is_complex and name in ("abs", "sign", "angle"):
            continue  # exact operations on real inputs
        rng = np.random.default_rng([args.seed, zlib.crc32(name.encode())])  # per function
        xs = [(draw(rng) + 1j * draw(rng) if is_complex else draw(rng)) for _ in range(fn.arity)]
        xs = [x.astype(np_dtype(args.dtype)) for x in xs]
        got = np.asarray(jax.jit(jax_function(name))(*xs))
        bound = bound_of(fn.bound, is_complex)
        bad, worst, rejected = [], 0.0, []
        for i in range(n):
            point = [complex(x[i]) if is_complex else float(x[i]) for x in xs]
            ctx = Context(fn, bound, fmt, fmt, point, is_complex)
            j = judge(got[i], expect(fn, point, fmt, is_complex), ctx)
            if not j.ok:
                bad.append(f"{name}{tuple(point)} = {got[i]!r} ({j.ulp:.3g} ulp)")
                rejected.append(point[0].real)
            elif j.rule == "within_bound" and j.ulp is not None and math.isfinite(j.ulp):
                worst = max(worst, j.ulp)
        where = f" (first argument in [{min(rejected):.4g}, {max(rejected):.4g}])" if bad else ""
        print(
            f"{name:12s} {args.dtype:9s} [{bound.name}] beyond bound {len(bad):3d}/{n}{where}, "
            f"largest accepted {worst:.3g} ulp {'; '.join(bad[:2])}"
        )
    names = " ".join(args.names)
    print(
        f"reproduce: python scripts/referee_calibrate.py {args.dtype} {names} --count {n} "
        f"--seed {args.seed}".replace("  ", " ")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
