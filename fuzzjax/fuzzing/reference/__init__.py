"""A NumPy reference for generated programs, independent of JAX.

The reference interprets the Lark parse tree with ``IMPL``, one NumPy implementation per
operation alias (special functions from SciPy). Dtypes follow JAX's rules as fuzzjax writes
them down (``fuzzjax.dtypes`` / ``fuzzjax.rules.table``), never by asking JAX: an operation casts
its operands to the JAX computation dtype (weak Python literals take the array's dtype), computes
in float64/complex128 (integers in their own width, wrapping) and rounds to the JAX result
dtype, so intermediate values are rounded where JAX rounds them.

``undefined`` masks mark elements whose value is a convention rather than arithmetic (integer
division by zero, out-of-range casts, shifts and indices, order-dependent float accumulation,
sign-ambiguous decompositions); ``fuzzjax.fuzzing.benign`` names every tag. ``ftz=True``
evaluates with denormals flushed to zero at every arithmetic operation, as XLA does on CPU.

Modules: ``values`` (Val and helpers), ``elementwise``, ``arrays`` (reductions, scans, shape
ops, indexing, casts), ``linalg``, ``control`` (control flow and transforms), ``interp``.
"""

from fuzzjax.fuzzing.reference.control import CONTROL
from fuzzjax.fuzzing.reference.interp import (
    IMPL,
    Interp,
    evaluate,
    parse_with_positions,
    positions_parser,
)
from fuzzjax.fuzzing.reference.values import (
    TEST_BREAK_ENV,
    Evaluation,
    NodeEval,
    ReferenceFailure,
    Val,
)

__all__ = [
    "CONTROL",
    "IMPL",
    "TEST_BREAK_ENV",
    "Evaluation",
    "Interp",
    "NodeEval",
    "ReferenceFailure",
    "Val",
    "evaluate",
    "parse_with_positions",
    "positions_parser",
]
