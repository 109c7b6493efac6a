"""Known upstream bugs: bucket families already reported to JAX/XLA, so they are labelled with
their upstream issue and reported apart from new findings instead of rediscovered as new.

A family is a pattern over a bucket's ``Signature``: the stages and symptoms it shows up as,
the operations (any one of them in the signature) and a dtype pattern. Each entry names the
upstream issue and the jax versions fuzzjax confirmed it on (``notes/fuzzing.md``); a match on
another version is still labelled, with the versions, so a fixed bug is noticed.
"""

from __future__ import annotations

import re
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

    def matches(self, sig: Signature) -> bool:
        return (
            sig.stage in self.stages
            and sig.symptom in self.symptoms
            and bool(self.ops & set(sig.ops))
            and re.search(self.dtype, sig.dtype) is not None
        )

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "url": self.url,
            "title": self.title,
            "confirmed_on": list(self.confirmed_on),
            "note": self.note,
        }


_OWN_PATHS = frozenset({Stage.JIT, Stage.EAGER, Stage.O0, Stage.JIT_VS_EAGER, Stage.JIT_VS_O0})
_INTS = r"int8|uint8|int16|uint16|int32|uint32|int64|uint64"

KNOWN: tuple[KnownBug, ...] = (
    KnownBug(
        "gcd_lcm_int_min_hang",
        "https://github.com/jax-ml/jax/issues/40840",
        "jnp.gcd/jnp.lcm never return when an input is the minimum signed integer",
        _OWN_PATHS | {Stage.GENERATE},
        frozenset({Symptom.HANG}),
        frozenset({"gcd", "lcm"}),
        _INTS,
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
)


def known_bug(sig: Signature) -> KnownBug | None:
    """The known upstream bug a bucket belongs to, if any."""
    for bug in KNOWN:
        if bug.matches(sig):
            return bug
    return None
