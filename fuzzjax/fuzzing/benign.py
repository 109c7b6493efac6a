"""The known-benign registry: every accepted discrepancy, with a reason and an upstream link.

A difference between JAX and the NumPy reference (or between jit and eager) is only ever
accepted through an entry here. Accepted differences are counted per entry and reported by
``fuzzjax fuzz`` separately from failures; they are never dropped silently.

Entries are matched in three ways (``Benign.matched_by``, a ``MatchedBy``):

* ``element``: elements that differ only inside a reference ``undefined`` mask with this tag
  (``fuzzjax.fuzzing.reference``), or that match the flush-to-zero variant of the reference
  (``ftz``);
* ``unlocalized``: a whole-program difference where every operation agrees with its reference
  when run on its own (``fuzzjax.fuzzing.diagnose.blame`` found no culprit), and ``applies``
  holds;
* ``exception``: an exception in one stage only (facts include its one-line ``detail``) that
  JAX documents as intended behaviour.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

#: Program-level facts a rule may look at: the stage, the aliases used, and the dtypes of all
#: intermediate values.
Facts = dict[str, object]


class MatchedBy(str, Enum):
    """How a rule is matched against a difference (see the module docstring)."""

    ELEMENT = "element"
    UNLOCALIZED = "unlocalized"
    EXCEPTION = "exception"


@dataclass(frozen=True)
class Benign:
    """One accepted discrepancy: an id, why it is accepted, where upstream says so."""

    id: str
    reason: str
    link: str
    matched_by: MatchedBy
    applies: Callable[[Facts], bool] = lambda facts: True


def _dtypes(facts: Facts) -> set[str]:
    found = facts.get("dtypes", ())
    return set(found) if isinstance(found, (list, tuple, set, frozenset)) else set()


def _bounded_rounding(facts: Facts) -> bool:
    """A vs_numpy difference of finite values within the chain's rounding bound."""
    error, bound = facts.get("max_error"), facts.get("bound")
    return (
        facts.get("stage") == "vs_numpy"
        and facts.get("symptom") == "wrong_value"
        and isinstance(error, float)
        and isinstance(bound, float)
        and error <= bound
    )


def _zero_length_scan_eager(facts: Facts) -> bool:
    detail = str(facts.get("detail", ""))
    return facts.get("stage") == "eager" and "zero-length scan is not supported" in detail


REGISTRY: dict[str, Benign] = {
    b.id: b
    for b in (
        Benign(
            "zero_length_scan_eager",
            "lax.scan over a zero-length axis raises under jax.disable_jit() by design "
            '("zero-length scan is not supported in disable_jit() mode because the output '
            'type is unknown"); under jit it runs.',
            "https://github.com/jax-ml/jax/blob/main/jax/_src/lax/control_flow/loops.py",
            MatchedBy.EXCEPTION,
            _zero_length_scan_eager,
        ),
        Benign(
            "ftz",
            "XLA on CPU runs with denormals flushed to zero (FTZ/DAZ); NumPy keeps IEEE "
            "subnormals. Elements that match the reference evaluated with flushing are benign.",
            "https://github.com/jax-ml/jax/issues/16200",
            MatchedBy.ELEMENT,
        ),
        Benign(
            "complex_infinity",
            "Both results are complex infinities: C99 Annex G (G.3) counts a value with an "
            "infinite part as infinite whatever its other part, and XLA and NumPy recover "
            "infinities differently (inf+nanj vs inf+infj).",
            "https://en.cppreference.com/w/c/numeric/complex",
            MatchedBy.ELEMENT,
        ),
        Benign(
            "int_div_by_zero",
            "Integer // and % by zero: NumPy returns 0 with a warning, jnp returns values from "
            "XLA's unguarded division; the array API leaves it implementation-defined.",
            "https://github.com/jax-ml/jax/pull/37926",  # "undefined, so not incorrect"
            MatchedBy.ELEMENT,
        ),
        Benign(
            "int_pow_negative_exponent",
            "Integer ** negative integer: NumPy refuses it (ValueError), jnp returns wrapped "
            "values (e.g. int8 127 ** -1 == 127); there is no common answer to compare.",
            "https://github.com/jax-ml/jax/issues/16898",  # implementation-defined value
            MatchedBy.ELEMENT,
        ),
        Benign(
            "int_pow_overflow",
            "Integer powers whose exact value overflows the dtype: jnp.power squares at most "
            "a fixed number of exponent bits, so results differ from wrapped arithmetic "
            "(integer overflow has no defined result in jnp).",
            "https://github.com/jax-ml/jax/issues/8866",  # erroneous values, no errors
            MatchedBy.ELEMENT,
        ),
        Benign(
            "shift_out_of_range",
            "Shifts by a negative amount or by >= the bit width are undefined in C/NumPy; "
            "XLA defines them (0, or the sign for arithmetic right shifts).",
            "https://github.com/openxla/stablehlo/blob/main/docs/spec.md#shift_left",
            MatchedBy.ELEMENT,
        ),
        Benign(
            "index_out_of_bounds",
            "jnp.take/take_along_axis with out-of-range indices fill (NaN, INT_MIN) by default; "
            "NumPy raises IndexError.",
            "https://docs.jax.dev/en/latest/_autosummary/jax.numpy.take.html",
            MatchedBy.ELEMENT,
        ),
        Benign(
            "linalg_sign_ambiguous",
            "Eigenvectors and QR factors are unique only up to the sign/phase of each column; "
            "LAPACK-style implementations legitimately differ.",
            "https://numpy.org/doc/stable/reference/generated/numpy.linalg.qr.html",
            MatchedBy.ELEMENT,
        ),
        Benign(
            "linalg_singular_or_nonfinite",
            "Decompositions of singular, ill-conditioned (cond > 1e3) or non-finite matrices have "
            "no stable answer to compare (NumPy raises LinAlgError, JAX returns NaN or noise).",
            "https://docs.jax.dev/en/latest/_autosummary/jax.numpy.linalg.cholesky.html",
            MatchedBy.ELEMENT,
        ),
        Benign(
            "derivative_not_checkable",
            "Gradients at kinks, non-finite points or of large arguments cannot be checked by "
            "central differences; JAX's derivative conventions at kinks are its own choice.",
            "https://docs.jax.dev/en/latest/faq.html",
            MatchedBy.ELEMENT,
        ),
        Benign(
            "float_to_int_out_of_range",
            "float -> int casts of NaN, inf or out-of-range values are undefined behaviour in C "
            "and NumPy; XLA saturates (NaN -> 0).",
            "https://github.com/openxla/stablehlo/blob/main/docs/spec.md#convert",
            MatchedBy.ELEMENT,
        ),
        Benign(
            "rng_bit_generator",
            'jax.random samples from an impl="rbg" or "unsafe_rbg" key: XLA\'s '
            "RngBitGenerator draws the bits with an algorithm the backend chooses (DEFAULT is "
            "implementation-defined), so the NumPy reference has no value to compare; jit, "
            "the unoptimised executable and eager are still compared with each other.",
            "https://github.com/openxla/stablehlo/blob/main/docs/spec.md#rng_bit_generator",
            MatchedBy.ELEMENT,
        ),
        Benign(
            "rng_uniform_stateful",
            "lax.rng_uniform draws from XLA's stateful generator: the executable's rng state "
            "advances on every run, so two runs of one program differ by design and the NumPy "
            "reference has no value to compare. fuzzjax fuzz does not draw it "
            "(GenOptions.stateful=False); generation mode stores it for its StableHLO op.",
            "https://docs.jax.dev/en/latest/_autosummary/jax.lax.rng_uniform.html",
            MatchedBy.ELEMENT,
        ),
        Benign(
            "special_outside_domain",
            "jax.scipy.special.zeta(x, q) outside x >= 1, q > 0, where the Hurwitz series "
            "diverges: SciPy documents that domain only, and SciPy and JAX continue "
            "differently outside it (NaN, inf).",
            "https://docs.scipy.org/doc/scipy/reference/generated/scipy.special.zeta.html",
            MatchedBy.ELEMENT,
        ),
        Benign(
            "quantile_opposite_infinities",
            "A linear quantile strictly between a -inf and a +inf neighbour of the sorted "
            "slice: the interpolation -inf + t (inf - (-inf)) has no value (IEEE 754: "
            "inf - inf is invalid), so any answer is as good; only those elements.",
            "https://numpy.org/doc/stable/reference/generated/numpy.quantile.html",
            MatchedBy.ELEMENT,
        ),
        Benign(
            "float_accumulation_order",
            "A float reduction/matmul whose partial sums or products overflow or underflow in "
            "the working precision although the exact result does not: the answer depends on "
            "the (unspecified) accumulation order and precision.",
            "https://jax.readthedocs.io/en/latest/faq.html#jit-changes-the-exact-numerics-of-outputs",
            MatchedBy.ELEMENT,
        ),
        Benign(
            "accumulated_rounding",
            "Every operation agrees with NumPy on its own, and the whole-program difference is "
            "finite and within the chain's rounding bound 4 * n * eps * scale (n operations, "
            "eps of the chain's lowest precision, scale its largest finite value: "
            "fuzzjax.fuzzing.runner.rewrite_tolerance). Larger differences are reported.",
            "https://jax.readthedocs.io/en/latest/faq.html#jit-changes-the-exact-numerics-of-outputs",
            MatchedBy.UNLOCALIZED,
            _bounded_rounding,
        ),
        Benign(
            "rewrite_rounding",
            "Two of JAX's own executions (optimised jit, the unoptimised executable, eager) "
            "differ by rounding alone: fusion, reassociation, FMA contraction and float32 "
            "intermediates for float16/bfloat16 (xla_allow_excess_precision) change where a "
            "chain rounds. Accepted only for finite values within 4 * n * eps * scale "
            "(n operations, eps of the chain's lowest precision, scale its largest finite "
            "value: fuzzjax.fuzzing.runner.rewrite_tolerance); never NaN or inf differences.",
            "https://docs.jax.dev/en/latest/faq.html#jit-changes-the-exact-numerics-of-outputs",
            MatchedBy.ELEMENT,
        ),
    )
}


def element_rule(tag: str) -> Benign:
    """The registry entry of an element-level explanation tag (``undefined`` tag or ``ftz``)."""
    rule = REGISTRY.get(tag)
    if rule is None or rule.matched_by is not MatchedBy.ELEMENT:
        raise KeyError(f"{tag!r} is not an element-level benign rule in fuzzjax.fuzzing.benign")
    return rule


def match(matched_by: MatchedBy, facts: Facts) -> Benign | None:
    """The first registry entry of kind ``matched_by`` whose condition holds for ``facts``."""
    for rule in REGISTRY.values():
        if rule.matched_by == matched_by and rule.applies(facts):
            return rule
    return None
