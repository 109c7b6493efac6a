"""Known bugs: bucket families already reported to JAX/XLA (or found by fuzzjax and written up
in ``notes/fuzzing.md``, not yet reported), so they are labelled with their issue and reported
apart from new findings instead of rediscovered as new.

A family is a pattern over a bucket's ``Signature``: the stages and symptoms it shows up as,
the operations (any one of them in the signature) and a dtype pattern. Each entry names the
upstream issue and the jax versions fuzzjax confirmed it on (``notes/fuzzing.md``); a match on
another version is still labelled, with the versions, so a fixed bug is noticed.

A known family that hangs costs a worker the whole ``--timeout`` and a restart at every hit (the
gcd/lcm one was hit 15 times in a 30-minute run). ``damped_aliases`` lists the operations of the
hang families a campaign has hit ``--known-hits`` times: fuzz campaigns draw them at the
lowest weight from then on (never forbidden, so a fix upstream is still noticed).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from fuzzjax.fuzzing.case import Signature, Stage, Symptom


@dataclass(frozen=True)
class KnownBug:
    """One family of buckets and the upstream issue it is."""

    id: str
    url: str
    title: str
    stages: frozenset[Stage]
    symptoms: frozenset[Symptom]
    ops: frozenset[str]
    dtype: str  # a regular expression over Signature.dtype
    confirmed_on: tuple[str, ...]
    note: str = ""
    #: False: found by fuzzjax and written up in notes/fuzzing.md, not reported upstream yet.
    reported: bool = True
    #: Only buckets localised to one of ``ops`` (the culprit operation) belong to the family.
    culprit: bool = False

    def matches(self, sig: Signature) -> bool:
        return (
            sig.stage in self.stages
            and sig.symptom in self.symptoms
            and bool(self.ops & set(sig.ops))
            and (sig.localized or not self.culprit)
            and re.search(self.dtype, sig.dtype) is not None
        )

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "url": self.url,
            "title": self.title,
            "confirmed_on": list(self.confirmed_on),
            "note": self.note,
            "reported": self.reported,
        }

    @property
    def hangs(self) -> bool:
        """Every hit costs a worker the whole timeout and a restart."""
        return Symptom.HANG in self.symptoms


_OWN_PATHS = frozenset({Stage.JIT, Stage.EAGER, Stage.O0, Stage.JIT_VS_EAGER, Stage.JIT_VS_O0})
_INTS = r"int8|uint8|int16|uint16|int32|uint32|int64|uint64"
#: Operations that lower to a stablehlo.dot_general with a contraction.
_DOTS = frozenset(
    {"dot", "dot_general", "dot_general_pet", "einsum", "inner", "m_dot", "matmul"}
    | {"matmul_pet", "op_matmul", "tensordot", "vdot"}
)
#: A campaign damps a known hang family's operations after this many hits (``--known-hits``).
KNOWN_HITS = 2

KNOWN: tuple[KnownBug, ...] = (
    KnownBug(
        "gcd_lcm_int_min_hang",
        "https://github.com/jax-ml/jax/issues/40840",
        "jnp.gcd/jnp.lcm never return when an input is the minimum signed integer",
        _OWN_PATHS | {Stage.GENERATE},
        frozenset({Symptom.HANG}),
        frozenset({"gcd", "lcm"}),
        r".",  # the result's dtype: gcd of integers may feed a float result (seed 142)
        ("0.4.26", "0.10.2"),
        "fix proposed in https://github.com/jax-ml/jax/pull/40842",
    ),
    KnownBug(
        "bool_times_nan_under_jit",
        "https://github.com/jax-ml/jax/issues/12233",
        "NaN * False (and bool / False) give 0 under jit, NaN op by op",
        frozenset({Stage.JIT_VS_EAGER, Stage.JIT_VS_O0}),
        frozenset({Symptom.WRONG_NAN}),
        frozenset({"op_mul", "multiply", "lax_mul", "op_truediv", "true_divide", "divide"}),
        r"bool",
        ("0.10.2",),
        "XLA's algebraic simplifier rewrites convert(pred) * x into a select",
    ),
    KnownBug(
        "int_pow_negative_exponent_eager",
        "https://github.com/jax-ml/jax/issues/16898",
        "integer ** negative integer raises op by op (concrete exponent), returns a value "
        "under jit",
        frozenset({Stage.EAGER, Stage.LOWER}),
        frozenset({Symptom.EXCEPTION}),
        frozenset({"op_pow", "power", "pow", "lax_pow", "integer_pow"}),
        _INTS,
        ("0.10.2",),
        "maintainers: JAX returns implementation-defined values rather than raising "
        "(also https://github.com/jax-ml/jax/pull/5419)",
    ),
    KnownBug(
        "atan2_nan_after_compilation",
        "https://github.com/jax-ml/jax/issues/38681",
        "atan2(x, x) is NaN after compilation where op by op gives the angle "
        "(https://github.com/openxla/xla/issues/44705)",
        frozenset({Stage.VS_NUMPY, Stage.JIT_VS_EAGER, Stage.JIT_VS_O0}),
        frozenset({Symptom.WRONG_NAN}),
        frozenset({"lax_atan2", "arctan2", "atan2", "angle"}),
        r"float|bool|int",
        ("0.10.2",),
        "fuzzjax sees it for float32 subnormal x, which DAZ reads as atan2(0, 0)",
    ),
    KnownBug(
        "polygamma_negative_x",
        "https://github.com/jax-ml/jax/issues/11481",
        "jax.scipy.special.polygamma(n >= 1, x) is wrong for negative x below about -8 "
        "(XLA's Euler-Maclaurin zeta without the reflection formula)",
        frozenset({Stage.VS_NUMPY}),
        frozenset({Symptom.WRONG_VALUE, Symptom.WRONG_INF}),
        frozenset({"sp_polygamma"}),
        r".",
        ("0.10.2",),
        "also jax-ml/jax#37635 (grad of digamma), fix proposed in openxla/xla#43545; the "
        "referee finds every rejection for n = 1..3 at x <= -8.28 (notes/fuzzing.md)",
        culprit=True,
    ),
    KnownBug(
        "polygamma_nan_at_inf",
        "https://github.com/jax-ml/jax/issues/38608",
        "jax.scipy.special.polygamma(n >= 1, +inf) is NaN where the limit is 0",
        frozenset({Stage.VS_NUMPY}),
        frozenset({Symptom.WRONG_NAN}),
        frozenset({"sp_polygamma"}),
        r".",
        ("0.10.2",),
        culprit=True,
    ),
    KnownBug(
        "cpu_minmax_reduction_drops_nan",
        "",
        "a large min or max reduction on CPU drops a NaN (jit and op by op alike)",
        frozenset({Stage.VS_NUMPY}),
        frozenset({Symptom.WRONG_NAN}),
        frozenset({"amax", "amin", "max", "min", "m_max", "m_min", "max_initial", "min_initial"}),
        r"float",
        ("0.10.2",),
        "notes/transforms.md finding 1 (3-8 reduced rows of 1536 or more columns); possibly "
        "openxla/xla#21461",
        reported=False,
        culprit=True,
    ),
    KnownBug(
        "complex_division_by_constant_nan",
        "",
        "XLA's algebraic simplifier rewrites a complex x / c (c a constant) as x * (1 / c); "
        "complex multiplication turns an infinite x into NaN + NaN j where the division keeps "
        "an infinity, so jnp.mean of a complex array holding an infinity is NaN under jit",
        frozenset({Stage.JIT_VS_O0, Stage.JIT_VS_EAGER}),
        frozenset({Symptom.WRONG_NAN}),
        frozenset({"divide", "true_divide", "op_truediv", "lax_div", "mean", "m_mean"})
        | frozenset({"mean_dtype", "mean_where", "nanmean", "average"}),
        r"complex",
        ("0.10.2",),
        "python scripts/complex_division_rewrite.py: (-inf - inf j) / 3.0 is nan + nan j under "
        "jit, -inf - inf j with algsimp off and op by op (notes/fuzzing.md)",
        reported=False,
    ),
    KnownBug(
        "cpu_dot_empty_contraction_sigfpe",
        "",
        "XLA's CPU dot emitter dies of SIGFPE compiling a matrix-vector or vector-vector dot "
        "whose contracting dimension is 0 when the algsimp and constant_folding passes are off",
        frozenset({Stage.COMPILE_O0}),
        frozenset({Symptom.CRASH, Symptom.ABORT}),
        _DOTS,
        r".",
        ("0.10.2",),
        "in xla::cpu::EmitNonBatchDotOperation; jax.jit(jnp.dot).lower(jnp.zeros(0), "
        "jnp.zeros(0)).compile({'xla_disable_hlo_passes': 'algsimp,constant_folding'}); "
        "with either pass on, or a matrix-matrix dot, it compiles (notes/fuzzing.md)",
        reported=False,
    ),
)


def known_bug(sig: Signature) -> KnownBug | None:
    """The known upstream bug a bucket belongs to, if any."""
    for bug in KNOWN:
        if bug.matches(sig):
            return bug
    return None


def damped_aliases(hits: Mapping[str, int], threshold: int) -> dict[str, tuple[str, ...]]:
    """Per known hang family hit at least ``threshold`` times (``hits``: id -> hits; a
    threshold of 0 damps nothing), the operations a campaign draws at the lowest weight."""
    if threshold <= 0:
        return {}
    return {
        bug.id: tuple(sorted(bug.ops))
        for bug in KNOWN
        if bug.hangs and hits.get(bug.id, 0) >= threshold
    }
