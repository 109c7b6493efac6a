"""The referee's error bounds: one table, one reason and one source per accuracy class.

A result is within the bound of its class when

* its error is at most ``ulp`` units in the last place of the correctly rounded exact value
  (for complex results: each part, or the whole value measured against ``|exact|``);
* or, for classes with a ``scale``, its absolute error is at most ``ulp * eps * scale``, where
  ``scale`` is the size of the terms the implementation adds up (``MpFunction.scale``):
  near a zero of the function the terms of the formula cancel, and an absolute error of a
  few eps times their size is all any implementation of that formula can promise;
* or, for classes with ``backward`` > 0 (unary functions), it is within ``ulp`` of the exact
  value at an input at most ``backward`` representable steps away (backward error: where
  the function is ill-conditioned, a correctly rounded argument reduction already moves
  the result by many ulps).

``tests/test_referee.py`` checks, with Hypothesis over ordinary inputs, that JAX 0.10.2 on
CPU stays within these bounds; ``notes/referee.md`` lists the functions where it does not.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bound:
    """The accepted error of one accuracy class, with its reason and source."""

    name: str
    ulp: float
    reason: str
    source: str
    backward: int = 0  # input steps for the backward-error criterion (0: none)
    scaled: bool = False  # the absolute ``ulp * eps * scale`` criterion applies


STABLEHLO_ACCURACY = "https://github.com/openxla/stablehlo/issues/1156"
FA_RESULTS = "https://github.com/pearu/functional_algorithms/blob/main/results/README.md"

BOUNDS: dict[str, Bound] = {
    b.name: b
    for b in (
        Bound(
            "exact",
            0,
            "Selection, sign changes, rounding to integers, comparisons, casts of exact "
            "values and integer arithmetic (two's complement wrap-around) have exactly one "
            "representable answer.",
            "IEEE 754-2019 sections 5.3-5.7, 5.11; https://openxla.org/xla/operation_semantics",
        ),
        Bound(
            "correctly_rounded",
            1,
            "IEEE 754 requires +, -, *, / and sqrt to be correctly rounded (0.5 ulp) and "
            "StableHLO's add/subtract/multiply/divide/sqrt are the IEEE operations; one ulp "
            "leaves room for float16/bfloat16 computed in float32 and rounded twice.",
            "IEEE 754-2019 section 5.4; https://openxla.org/stablehlo/spec#add",
        ),
        Bound(
            "correctly_rounded_complex",
            4,
            "Complex *, / and reciprocal are formulas over the parts (ac - bd, Smith's "
            "division), not single roundings: the error bound is norm-wise, sqrt(5) eps for "
            "the product and a few eps for scaled division.",
            "Brent, Percival, Zimmermann, Math. Comp. 76 (2007); Baudin & Smith, "
            "arXiv:1210.4539 (2012)",
        ),
        Bound(
            "elementary",
            4,
            "exp, log, trigonometric, hyperbolic and inverse functions, pow, cbrt, hypot, "
            "atan2, logistic, rsqrt: StableHLO leaves their accuracy implementation-defined; "
            "XLA's own float32 implementations measure at most 3 ulp against mpmath "
            "(functional_algorithms), JAX's accuracy tests ask 2 ulp of exp/log.",
            f"{STABLEHLO_ACCURACY}; {FA_RESULTS}; "
            "https://github.com/jax-ml/jax/blob/main/tests/unary_ops_accuracy_test.py",
        ),
        Bound(
            "exponential",
            4,
            "exp2, sinh and cosh: XLA evaluates them through exp of a rounded argument "
            "(x*ln2, |x| - ln2), which is backward stable but loses about |x| ulp forward "
            "(measured by scripts/referee_calibrate.py, notes/referee.md); "
            "accepted: within 4 ulp of the exact value at an input one step away.",
            f"{STABLEHLO_ACCURACY}; https://github.com/openxla/xla/blob/main/xla/service/"
            "elemental_ir_emitter.cc",
            backward=1,
        ),
        Bound(
            "elementary_complex",
            8,
            "Complex elementary functions: functional_algorithms measures XLA's complex64 "
            "asin/acos/atanh within 3 ulp and complex tan/tanh beyond 3 ulp on 60 of 1e6 "
            "samples; each part, or norm-wise against |exact|. Complex functions are "
            "formulas over the rounded parts, so where they are ill-conditioned (tanh near "
            "its poles, exp2 of a large imaginary part) the exact value at inputs two steps "
            "away bounds the error (backward stability).",
            FA_RESULTS,
            backward=2,
        ),
        Bound(
            "composite",
            8,
            "jnp/jax.nn functions that JAX evaluates as a documented formula of 2-5 rounded "
            "primitives (sinc, logaddexp, softplus, gelu, silu, elu, selu, soft_sign, "
            "deg2rad): errors add up, and where the formula cancels the error is absolute "
            "against the size of its terms; sinc near its zeros is ill-conditioned in x.",
            "https://github.com/jax-ml/jax/blob/main/jax/_src/nn/functions.py; "
            "https://github.com/jax-ml/jax/blob/main/jax/_src/numpy/ufuncs.py",
            backward=2,
            scaled=True,
        ),
        Bound(
            "special",
            16,
            "erf, erfc, erf_inv, lgamma, digamma: XLA evaluates fixed rational and Lanczos "
            "approximations, accurate to a few ulp away from the zeros of the function and "
            "to a few eps of the Lanczos terms near them; JAX's own tests compare them with "
            "SciPy at rtol=atol=1e-3.",
            "https://github.com/openxla/xla/blob/main/xla/hlo/builder/lib/math.cc; "
            "https://github.com/jax-ml/jax/blob/main/tests/lax_scipy_special_functions_test.py",
            backward=2,
            scaled=True,
        ),
        Bound(
            "accumulation",
            1,
            "Sums, means, products and contractions (sum, mean, prod, cumsum, matmul, dot, "
            "einsum, ...): one final rounding plus 2 n eps times the operation on |operands| "
            "(2 n eps |exact| for products), n the terms per element and eps that of the "
            "accumulation precision (float32 for float16/bfloat16 sum/mean/prod, which jnp "
            "upcasts; the dtype's own for cumulative ops and contractions): a bound for every "
            "summation order, which XLA does not specify.",
            "Higham, Accuracy and Stability of Numerical Algorithms (2002), sections 3.1, 4.2; "
            "https://docs.jax.dev/en/latest/faq.html",
        ),
        Bound(
            "interpolation",
            1,
            "Quantiles (linear: x_lo + t (x_hi - x_lo) between sorted neighbours): jnp "
            "computes q and the position q (n - 1) in the data's dtype (q is a weakly typed "
            "Python scalar), then two products and a sum: accepted 1 ulp, or the interpolant "
            "at a position within dP = 2 eps max(P, 1) of the exact P (dP times the steepest "
            "segment of the sorted slice there) plus 2 eps (|x_lo| + |x_hi|).",
            "https://numpy.org/doc/stable/reference/generated/numpy.quantile.html; "
            "https://github.com/jax-ml/jax/blob/main/jax/_src/numpy/reductions.py",
        ),
    )
}

#: Exact operations whose answer is a rounded exact rational, not a representable input.
ROUNDED_EXACT = frozenset({"remainder", "floor_divide"})


def bound_of(kind: str, is_complex: bool) -> Bound:
    """The bound of accuracy class ``kind`` for real or complex results."""
    if is_complex and f"{kind}_complex" in BOUNDS:
        return BOUNDS[f"{kind}_complex"]
    if is_complex and kind in ("composite", "special", "exponential"):
        return BOUNDS["elementary_complex"]
    return BOUNDS[kind]


def table_markdown() -> str:
    """The bound table as Markdown (for notes/referee.md)."""
    rows = [
        "| class | bound (ulp) | backward steps | scaled | reason | source |",
        "|---|---|---|---|---|---|",
    ]
    for b in BOUNDS.values():
        reason, source = b.reason.replace("|", "\\|"), b.source.replace("|", "\\|")
        rows.append(
            f"| {b.name} | {b.ulp:g} | {b.backward} | {'yes' if b.scaled else 'no'} | "
            f"{reason} | {source} |"
        )
    return "\n".join(rows)
