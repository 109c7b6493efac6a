"""Where central differences can check a gradient: smooth operations, inputs away from their
singular points, finite and well-scaled values.

``grad_vs_fd_applicable(case)`` decides from the program text and its inputs only. It reads the
program's operations from the parse tree and the value of every operation on these inputs from
the NumPy reference (``fuzzjax.fuzzing.reference.evaluate``), never from JAX's output. A case is
checkable when:

* its result and every argument that is differentiated are real float32, and no value in the
  program has another float or complex dtype (float16/bfloat16 leave central differences no
  digits: their ``eps ** (2/3)`` is 1-3%);
* every differentiated input is finite with ``|x| <= MAX_INPUT``, and every float value the
  reference computes is finite;
* every operation with a float operand is in ``SMOOTH`` (no ``abs``, ``max``, ``min``,
  ``relu``, ``floor``, ``round``, ``sign``, ``clip``, ``sort``, ``argmax``, comparisons,
  casts from float to int or bool, float ``where`` conditions...). Integer and boolean values
  computed from integer and boolean arguments only are constants of the derivative, so any
  operation on them is allowed;
* each operation of ``DOMAIN`` (log, sqrt, division, pow, tan, arcsin...) sees operands at
  least ``MARGIN`` (relative to ``max(1, |x|)``) away from its singular points, so that the
  difference steps stay inside one smooth piece;
* a program with ``jax.grad`` inside uses ``SMOOTH_EVERYWHERE`` operations only (the reference
  does not record the values inside a ``grad`` body, so no domain can be checked there).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from fuzzjax.dtypes import KIND
from fuzzjax.fuzzing.case import Case
from fuzzjax.fuzzing.transforms import APPLICABLE, Applicability, not_applicable

#: Largest differentiated input magnitude checked (with unit-scale difference directions).
MAX_INPUT = 100.0
#: Distance from a singular point, relative to ``max(1, |x|)``: 10x the largest difference step.
MARGIN = 0.05

#: Operations without a reverse-mode rule by design (``while_loop``: the JAX docs say reverse
#: mode needs a fixed trip count) or without any derivative (``nextafter``; ``lax.composite``
#: has no JVP rule; ``lax.pmax``/``pmin`` in ``shard_reduce`` have none either).
NO_REVERSE_MODE = frozenset(
    {"while_loop", "while_named", "nextafter", "lax_nextafter", "composite", "shard_reduce"}
)

#: Operations smooth (infinitely differentiable) on all finite real float32 operands.
SMOOTH_EVERYWHERE = frozenset(
    {
        # arithmetic
        "op_add",
        "op_sub",
        "op_mul",
        "op_neg",
        "add",
        "subtract",
        "multiply",
        "negative",
        "positive",
        "square",
        "lax_add",
        "lax_sub",
        "lax_mul",
        "lax_neg",
        "lax_square",
        # elementwise functions
        "sin",
        "cos",
        "lax_sin",
        "lax_cos",
        "arctan",
        "sinh",
        "cosh",
        "tanh",
        "lax_tanh",
        "arcsinh",
        "exp",
        "lax_exp",
        "expm1",
        "exp2",
        "deg2rad",
        "rad2deg",
        "sinc",
        "sigmoid",
        "lax_logistic",
        "softplus",
        "silu",
        "gelu",
        "log_sigmoid",
        "lax_erf",
        "lax_erfc",
        "logaddexp",
        "logaddexp2",
        "nan_to_num",
        "conj",
        "real",
        # reductions and scans
        "sum",
        "mean",
        "average",
        "nansum",
        "nanmean",
        "prod",
        "nanprod",
        "var",
        "nanvar",
        "cumsum",
        "nancumsum",
        "cumprod",
        "nancumprod",
        "sum_dtype",
        "prod_dtype",
        "mean_dtype",
        "cumsum_dtype",
        "diff",
        "trace",
        "logsumexp",
        "softmax",
        "log_softmax",
        # contractions (polynomials of the entries)
        "op_matmul",
        "matmul",
        "dot",
        "outer",
        "inner",
        "vdot",
        "kron",
        "tensordot",
        "einsum",
        "conv",
        "sum_pool",
        "matrix_power",
        "det",
        # moving elements around (fixed indices)
        "reshape",
        "transpose",
        "expand_dims",
        "squeeze",
        "swapaxes",
        "flip",
        "broadcast_to",
        "concatenate",
        "stack",
        "moveaxis",
        "tile",
        "repeat",
        "roll",
        "pad",
        "ravel",
        "tril",
        "triu",
        "getitem",
        "take",
        "take_along_axis",
        "at_set",
        "at_add",
        "at_multiply",
        "where",
        "astype",
        "asarray",
        "convert_element_type",
        "zeros_like",
        "ones_like",
        # control flow with constant predicates and trip counts, and transforms
        "cond",
        "switch",
        "fori_loop",
        "scan",
        "vmap",
        "checkpoint",
        "grad",
        "value_and_grad",
    }
)


def _wide(x: np.ndarray) -> np.ndarray:
    return np.asarray(x).astype(np.float64)


def _positive(x: np.ndarray) -> np.ndarray:
    """Away from 0 on the positive side (log, sqrt, rsqrt, lgamma, digamma)."""
    x = _wide(x)
    return np.asarray(x >= MARGIN * np.maximum(1.0, np.abs(x)))


def _nonzero(x: np.ndarray) -> np.ndarray:
    """Away from 0 on either side (a divisor, cbrt, a norm)."""
    x = _wide(x)
    return np.asarray(np.abs(x) >= MARGIN * np.maximum(1.0, np.abs(x)))


def _inside_unit(x: np.ndarray) -> np.ndarray:
    """Inside (-1, 1) away from both ends (arcsin, arccos, arctanh, erf_inv)."""
    return np.asarray(np.abs(_wide(x)) <= 1.0 - MARGIN)


def _pow_ok(args: list[tuple[np.ndarray, str]], result: np.ndarray) -> np.ndarray:
    """``x ** y``: a positive base; or an integer exponent that is a constant (a literal or an
    integer array) with a non-negative value or a base away from 0."""
    (base, _), (exponent, kind) = args
    e = _wide(exponent)
    constant_integer = kind in ("f*", "i*") or KIND.get(kind, "f") in "iub"
    if constant_integer and np.all(e == np.round(e)):
        return np.asarray((e >= 0) | _nonzero(base))
    return _positive(base)


def _first(test: Callable[[np.ndarray], np.ndarray]) -> Domain:
    return lambda args, result: test(args[0][0])


def _second(test: Callable[[np.ndarray], np.ndarray]) -> Domain:
    return lambda args, result: test(args[1][0])


def _result(test: Callable[[np.ndarray], np.ndarray]) -> Domain:
    return lambda args, result: test(result)


#: Where each operation is evaluated: (operand values and dtypes, result) -> mask of the
#: elements whose difference steps stay in one smooth piece.
Domain = Callable[[list[tuple[np.ndarray, str]], np.ndarray], np.ndarray]

#: Operations smooth except near singular points, with the test that keeps away from them.
DOMAIN: dict[str, Domain] = {
    **{
        a: _first(_positive)
        for a in (
            "log",
            "lax_log",
            "log2",
            "log10",
            "sqrt",
            "lax_sqrt",
            "lax_rsqrt",
            "lax_lgamma",
            "lax_digamma",
        )
    },
    "log1p": _first(lambda x: _positive(_wide(x) + 1.0)),
    "cbrt": _first(_nonzero),
    "reciprocal": _first(_nonzero),
    **{a: _second(_nonzero) for a in ("op_truediv", "divide", "true_divide", "lax_div")},
    "tan": _first(lambda x: np.asarray(np.abs(np.cos(_wide(x))) >= MARGIN)),
    **{a: _first(_inside_unit) for a in ("arcsin", "arccos", "arctanh", "lax_erf_inv")},
    "arccosh": _first(lambda x: _positive(_wide(x) - 1.0)),
    **{a: _result(_nonzero) for a in ("hypot", "std", "nanstd", "norm")},
    **{a: _pow_ok for a in ("op_pow", "power", "lax_pow")},
}

SMOOTH = SMOOTH_EVERYWHERE | frozenset(DOMAIN)


def grad_vs_fd_applicable(case: Case) -> Applicability:
    """Whether central differences can check this case's gradient (see the module doc)."""
    from fuzzjax.fuzzing.reference import evaluate
    from fuzzjax.syntax import aliases_used, parse

    if case.result_dtype != "float32":
        return not_applicable(f"result dtype {case.result_dtype} (float32 only)")
    inexact = [i for i, a in enumerate(case.args) if KIND[a.dtype] in "fc"]
    if any(case.args[i].dtype != "float32" for i in inexact):
        return not_applicable("an inexact argument is not float32")
    if not any(np.size(case.inputs[i]) for i in inexact) or not np.prod(case.result_shape):
        return not_applicable("no float32 input or output element")
    for i in inexact:
        x = _wide(case.inputs[i])
        if not np.isfinite(x).all() or np.abs(x).max(initial=0.0) > MAX_INPUT:
            return not_applicable(f"{case.args[i].name} is not finite with |x| <= {MAX_INPUT:g}")
    aliases = aliases_used(parse(case.source))
    blocked = sorted(aliases & NO_REVERSE_MODE)
    if blocked:  # a while loop's body may be smooth, but reverse mode refuses it
        return not_applicable(f"{', '.join(blocked)} has no reverse-mode derivative")
    if {"grad", "value_and_grad"} & aliases and not aliases <= SMOOTH_EVERYWHERE:
        rest = sorted(aliases - SMOOTH_EVERYWHERE)
        return not_applicable(f"jax.grad inside with {', '.join(rest)} (unchecked domain)")
    try:
        evaluation = evaluate(case.source, case.inputs)
    except Exception as exc:  # noqa: BLE001 - no reference, no domain check
        return not_applicable(f"the NumPy reference fails: {type(exc).__name__}")
    for node in evaluation.nodes:
        reason = _node_reason(
            node.alias, [(v.value, v.dtype) for _, v in node.args], node.val.value, node.val.dtype
        )
        if reason:
            return not_applicable(reason)
    return APPLICABLE


def _node_reason(
    alias: str, args: list[tuple[np.ndarray, str]], result: np.ndarray, dtype: str
) -> str:
    """Why one evaluated operation rules central differences out ('' if it does not)."""
    for kind in [dtype, *(d for _, d in args)]:
        if KIND.get(kind) in ("f", "c") and kind != "float32":
            return f"{alias} has a {kind} value (float32 only)"
    if KIND.get(dtype, "") == "f" and not np.isfinite(_wide(result)).all():
        return f"{alias} gives a non-finite value"
    float_in = [KIND.get(d, "") == "f" for _, d in args]
    if not any(float_in):
        return ""  # constant with respect to the float inputs (or control flow, checked inside)
    if KIND.get(dtype, "") != "f":
        return f"{alias} turns a float into {dtype} (not differentiable)"
    if alias not in SMOOTH:
        return f"{alias} is not smooth"
    if alias == "where" and float_in[0]:
        return "where with a float condition"
    domain = DOMAIN.get(alias)
    if domain is not None and not np.all(domain(args, np.asarray(result))):
        return f"{alias} evaluated within {MARGIN:g} of a singular point"
    return ""
