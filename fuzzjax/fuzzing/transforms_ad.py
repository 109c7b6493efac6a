"""Autodiff oracles: forward against reverse mode, and reverse mode against central differences.

Both differentiate the program with respect to its float and complex arguments at the case's
inputs; integer and boolean arguments are held fixed. Every argument is passed to the jitted
function as an argument (never closed over as a constant), so the oracles compile the program
the value oracles compile, plus the derivative.

Probes (tangents ``v``, cotangents ``u``, directions ``d``) are random dyadic numbers
``+-m/8`` with ``m`` in 1..15 (real and imaginary parts alike): exact in every float dtype, so
the linear operations that only move, add or scale them by powers of two (broadcasts, sums of a
few terms, slices, transposes of all these) are exact, and ``3 * probe`` is exact too.

Pairing: for the R-linear maps JAX differentiates (complex ones included), ``jax.vjp`` is the
transpose for ``<a, b> = Re(sum(a * b))`` (no conjugation), so ``<u, jvp(v)> = <vjp(u), v>``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fuzzjax.dtypes import KIND
from fuzzjax.errors import one_line
from fuzzjax.fuzzing.case import Case, Symptom
from fuzzjax.fuzzing.inputs import np_dtype
from fuzzjax.fuzzing.transforms import (
    APPLICABLE,
    GRAD_VS_FD,
    JVP_VS_VJP,
    Applicability,
    TransformFailure,
    inputs_match,
    load,
    not_applicable,
    precision,
    skip,
)
from fuzzjax.fuzzing.transforms_bound import linear_error_bound
from fuzzjax.fuzzing.transforms_smooth import NO_REVERSE_MODE, grad_vs_fd_applicable

#: Safety factor on every error estimate below (they are order-of-magnitude estimates).
SAFETY = 4.0


def probe(dtype: str, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """A random dyadic array (``+-m/8``, ``m`` in 1..15) of ``dtype``, exact in every dtype."""

    def part() -> np.ndarray:
        magnitude = rng.integers(1, 16, size=shape) / 8
        signed: np.ndarray = rng.choice([-1.0, 1.0], size=shape) * magnitude
        return signed

    if KIND[dtype] == "c":
        out = np.empty(shape, dtype=np_dtype(dtype))
        out.real, out.imag = part(), part()
        return out
    return part().astype(np_dtype(dtype))


def differentiated(case: Case) -> list[int]:
    """Indices of the float and complex arguments (the others are held fixed)."""
    return [i for i, a in enumerate(case.args) if KIND[a.dtype] in "fc"]


def restricted(fn: Callable[..., Any], case: Case) -> Callable[..., Any]:
    """``g(fixed, xs)``: ``fn`` with the differentiated arguments taken from ``xs``."""
    index = differentiated(case)

    def g(fixed: Sequence[Any], xs: Sequence[Any]) -> Any:
        full = list(fixed)
        for i, x in zip(index, xs, strict=True):
            full[i] = x
        return fn(*full)

    return g


def _wide(x: Any) -> np.ndarray:
    wide: np.ndarray = np.asarray(x).astype(np.complex128)
    return wide


def _finite(*arrays: np.ndarray) -> bool:
    return all(bool(np.isfinite(a).all()) for a in arrays)


# ---- forward vs reverse mode --------------------------------------------------------------


def jvp_vs_vjp_applicable(case: Case) -> Applicability:
    """A float or complex result and argument, finite differentiated inputs, and no operation
    without a reverse-mode rule by design."""
    from fuzzjax.syntax import aliases_used, parse

    if KIND[case.result_dtype] not in "fc":
        return not_applicable(f"result dtype {case.result_dtype} has no derivative")
    if not inputs_match(case.args, case.inputs):
        return not_applicable("the inputs do not match the argument types")
    index = differentiated(case)
    if not any(np.size(case.inputs[i]) for i in index) or not np.prod(case.result_shape):
        return not_applicable("no float or complex input element, or an empty result")
    if not _finite(*[_wide(case.inputs[i]) for i in index]):
        return not_applicable("a differentiated input is not finite")
    blocked = sorted(aliases_used(parse(case.source)) & NO_REVERSE_MODE)
    if blocked:
        return not_applicable(f"{', '.join(blocked)} has no reverse-mode derivative")
    return APPLICABLE


def check_jvp_vs_vjp(
    case: Case, *, seed: int = 0, notes: list[str] | None = None
) -> TransformFailure | None:
    """The dot-product test ``<u, jvp(f)(v)> = <vjp(f)(u), v>`` for random dyadic ``u, v``.

    Error model: ``s1 - s2 = <u, e> - <e', v>`` for the rounding errors ``e`` of the tangent and
    ``e'`` of the cotangents. ``transforms_bound.linear_error_bound`` bounds them elementwise by
    running error analysis of the linearized program and of its transpose (so cancellation
    inside a derivative, as in a saturated softmax, is accounted for). The tolerance is
    ``SAFETY`` times ``<|u|, E> + <E', |v|>`` plus ``ops * eps * A`` (``A = sum|u * t| +
    sum|w * v|``) for the primal values, which the two modes compute separately. A program with
    a primitive the bound has no rule for is inconclusive. Non-finite tangents or cotangents are
    inconclusive too (``inf - inf`` and ``0 * inf`` appear in one mode and not the other by
    design, e.g. the ``where`` NaN-gradient trap of the JAX FAQ).
    """
    ok = jvp_vs_vjp_applicable(case)
    if not ok:
        skip(notes, "not applicable", ok.reason)
        return None
    import jax
    import jax.numpy as jnp

    g = restricted(load(case), case)
    index = differentiated(case)
    rng = np.random.default_rng(seed)
    fixed = [jnp.asarray(x) for x in case.inputs]
    xs = [fixed[i] for i in index]
    vs = [probe(case.args[i].dtype, case.args[i].shape, rng) for i in index]
    u = probe(case.result_dtype, case.result_shape, rng)

    def forward(fixed: Any, xs: Any, vs: Any) -> Any:
        return jax.jvp(lambda *d: g(fixed, d), tuple(xs), tuple(vs))[1]

    def reverse(fixed: Any, xs: Any, u: Any) -> Any:
        return jax.vjp(lambda *d: g(fixed, d), *xs)[1](u)

    try:
        t, w = jax.jit(lambda *a: (forward(*a[:3]), reverse(a[0], a[1], a[3])))(fixed, xs, vs, u)
    except Exception as exc:  # noqa: BLE001 - which mode raised decides
        return _one_mode_raises(
            case,
            notes,
            exc,
            [
                ("jvp", lambda: jax.jit(forward)(fixed, xs, vs)),
                ("vjp", lambda: jax.jit(reverse)(fixed, xs, u)),
                ("jit(f)", lambda: jax.jit(load(case))(*fixed)),
            ],
        )
    t, w = _wide(t), [_wide(x) for x in w]
    if not _finite(t, *w):
        skip(notes, "inconclusive", "a tangent or cotangent is not finite")
        return None
    try:
        rounding = _rounding_bound(g, fixed, xs, vs, u)
    except Exception as exc:  # noqa: BLE001 - Unsupported, or a rule that does not fit
        skip(notes, "inconclusive", f"no rounding bound: {one_line(exc)}")
        return None
    if not np.isfinite(rounding):
        skip(notes, "inconclusive", "the rounding bound overflows")
        return None
    uw, vw = _wide(u), [_wide(v) for v in vs]
    s1 = float(np.sum(uw * t).real)
    s2 = float(sum(np.sum(a * b).real for a, b in zip(w, vw, strict=True)))
    summed = float(
        np.abs(uw * t).sum() + sum(np.abs(a * b).sum() for a, b in zip(w, vw, strict=True))
    )
    eps, _, ops = precision(case)
    tol = SAFETY * (ops * eps * summed + rounding)
    if abs(s1 - s2) <= tol:
        relative = tol / summed if summed else 0.0
        share = abs(s1 - s2) / tol if tol else 0.0
        note = f"relative tolerance {relative:.3g}, difference {share:.3g}"
        skip(notes, "agree", note + " of the tolerance")
        return None
    detail = (
        f"<u, jvp(v)> = {s1:.9g} but <vjp(u), v> = {s2:.9g}: |difference| {abs(s1 - s2):.3g} "
        f"> tolerance {tol:.3g} (eps {eps:.3g}, {ops} ops, summed products {summed:.3g}, "
        f"rounding bound {rounding:.3g}, probe seed {seed})"
    )
    return TransformFailure(JVP_VS_VJP, Symptom.WRONG_VALUE, detail)


def _rounding_bound(
    g: Callable[..., Any], fixed: list[Any], xs: list[Any], vs: list[np.ndarray], u: np.ndarray
) -> float:
    """``<|u|, E> + sum <E', |v|>``: the bound on ``|s1 - s2|`` from rounding in the linearized
    program (``E``) and its transpose (``E'``)."""
    import jax

    def bounds(fixed: Any, xs: Any, v_abs: Any, u_abs: Any) -> Any:
        y, linear = jax.linearize(lambda *d: g(fixed, d), *xs)
        forward = jax.make_jaxpr(linear)(*xs)
        backward = jax.make_jaxpr(jax.linear_transpose(linear, *xs))(y)
        return (
            [p.err for p in linear_error_bound(forward, v_abs)],
            [p.err for p in linear_error_bound(backward, [u_abs])],
        )

    v_abs, u_abs = [np.abs(v).astype(v.dtype) for v in vs], np.abs(u).astype(u.dtype)
    e_t, e_w = jax.jit(bounds)(fixed, xs, v_abs, u_abs)
    total = sum(float(np.sum(np.abs(_wide(u)) * np.abs(_wide(e)))) for e in e_t)
    total += sum(
        float(np.sum(np.abs(_wide(v)) * np.abs(_wide(e)))) for v, e in zip(vs, e_w, strict=True)
    )
    return total


def _one_mode_raises(
    case: Case,
    notes: list[str] | None,
    error: Exception,
    modes: list[tuple[str, Callable[[], Any]]],
) -> TransformFailure | None:
    """After the combined run raised: a failure if exactly one of jvp and vjp raises."""
    raised: dict[str, str] = {}
    for name, run in modes:
        try:
            run()
        except Exception as exc:  # noqa: BLE001 - recorded by mode
            raised[name] = one_line(exc)
    if "jit(f)" in raised:
        skip(notes, "inconclusive", f"jax.jit(f) raises: {raised['jit(f)']}")
        return None
    if len(raised) == 1:
        ((name, message),) = raised.items()
        other = "vjp" if name == "jvp" else "jvp"
        detail = f"{name} raises {message} ({other} runs)"
        return TransformFailure(JVP_VS_VJP, Symptom.EXCEPTION, detail)
    skip(notes, "inconclusive", f"no derivative in either mode: {one_line(error)}")
    return None


# ---- reverse mode vs central differences --------------------------------------------------

#: Difference step for float32: ``eps ** (1/3)`` balances truncation (``h**2``) against
#: rounding (``eps / h``) for a function whose derivatives are of unit scale.
STEP = float(np.finfo(np.float32).eps) ** (1 / 3)
#: Below this accuracy (tolerance / size of the predicted change) a check cannot tell a 25%
#: error in the gradient from the error of the differences: inconclusive.
MAX_RELATIVE_TOLERANCE = 0.25


def check_grad_vs_fd(
    case: Case, *, seed: int = 0, notes: list[str] | None = None
) -> TransformFailure | None:
    """``jax.grad`` of ``phi(x) = sum(u * f(x))`` along a random dyadic direction ``d`` against
    the central difference ``phi(x + h d) - phi(x - h d)``, where ``grad_vs_fd_applicable``.

    Error model. With ``x+-`` the float32 points ``x +- h d``, ``D(h) = phi(x+) - phi(x-)``
    (float64 sums of the float32 outputs) and the prediction ``P(h) = <grad, x+ - x->``, the
    residual ``r(h) = D(h) - P(h)`` is ``c h**3`` (truncation of the central difference) plus
    rounding noise, plus ``-2h <error of grad, d>`` if the gradient is wrong. The truncation at
    ``h`` is estimated by Richardson from a second step ``2h``: ``(r(2h) - 2 r(h)) / 6``, in
    which a gradient error (linear in ``h``) cancels, so the estimate never absorbs the error it
    must detect. Rounding: ``ops * eps`` relative to ``sum|u * f|`` for each of the two
    evaluations plus ``tiny * sum|u|`` for flushed outputs, and ``ops * eps`` relative to
    ``sum|grad * (x+ - x-)|`` for the gradient. Tolerance: ``SAFETY`` times their sum. When it
    exceeds ``MAX_RELATIVE_TOLERANCE`` of the predicted change, the check is inconclusive.
    """
    ok = grad_vs_fd_applicable(case)
    if not ok:
        skip(notes, "not applicable", ok.reason)
        return None
    import jax
    import jax.numpy as jnp

    g = restricted(load(case), case)
    index = differentiated(case)
    rng = np.random.default_rng(seed)
    fixed = [jnp.asarray(x) for x in case.inputs]
    xs = [np.asarray(case.inputs[i]) for i in index]
    d = [probe("float32", case.args[i].shape, rng) for i in index]
    u = probe("float32", case.result_shape, rng)
    try:
        value = jax.jit(g)
        grad = jax.jit(jax.grad(lambda xs, fixed, u: jnp.sum(u * g(fixed, xs))))
        gradient = [np.asarray(a).astype(np.float64) for a in grad(xs, fixed, u)]
        center = np.asarray(value(fixed, xs)).astype(np.float64)
        steps = [
            _Difference.at(lambda x: value(fixed, x), xs, d, u, gradient, h)
            for h in (STEP, 2 * STEP)
        ]
    except Exception as exc:  # noqa: BLE001 - jit(f) or its gradient raising is not ours
        skip(notes, "inconclusive", f"f or its gradient raises: {one_line(exc)}")
        return None
    if not _finite(center, *gradient, *(o for s in steps for o in s.outputs)):
        skip(notes, "inconclusive", "f or its gradient is not finite near the inputs")
        return None
    eps, tiny, ops = precision(case)
    first, double = steps
    uw = np.abs(u.astype(np.float64))
    truncation = abs(double.residual - 2 * first.residual) / 6
    rounding = 2 * (ops * eps * float(np.sum(uw * np.abs(center))) + tiny * float(uw.sum()))
    rounding += ops * eps * first.size
    tol = SAFETY * (truncation + rounding)
    if tol > MAX_RELATIVE_TOLERANCE * max(first.size, abs(first.change)):
        reason = f"differences too inaccurate here (tolerance {tol:.3g}, change {first.size:.3g})"
        skip(notes, "inconclusive", reason)
        return None
    if abs(first.residual) <= tol:
        relative = tol / max(first.size, 1e-300)
        note = f"relative tolerance {relative:.3g}, truncation {SAFETY * truncation / tol:.3g}"
        skip(notes, "agree", note + " of the tolerance")
        return None
    detail = (
        f"<grad, x+ - x-> = {first.prediction:.9g} but f(x+) - f(x-) = {first.change:.9g} "
        f"(h = {STEP:.3g}): |difference| {abs(first.residual):.3g} > tolerance {tol:.3g} "
        f"(truncation {truncation:.3g}, rounding {rounding:.3g}, probe seed {seed})"
    )
    return TransformFailure(GRAD_VS_FD, Symptom.WRONG_VALUE, detail)


@dataclass
class _Difference:
    """One central difference of ``phi = sum(u * f)`` along ``d`` and its linear prediction."""

    change: float  # phi(x+) - phi(x-), x+- = float32(x +- h d)
    prediction: float  # <grad, x+ - x->
    size: float  # sum |grad * (x+ - x-)|: the scale of the prediction
    outputs: list[np.ndarray]

    @property
    def residual(self) -> float:
        return self.change - self.prediction

    @classmethod
    def at(
        cls,
        value: Callable[[list[np.ndarray]], Any],
        xs: list[np.ndarray],
        d: list[np.ndarray],
        u: np.ndarray,
        gradient: list[np.ndarray],
        h: float,
    ) -> _Difference:
        plus = [(x + h * e).astype(np.float32) for x, e in zip(xs, d, strict=True)]
        minus = [(x - h * e).astype(np.float32) for x, e in zip(xs, d, strict=True)]
        outputs = [np.asarray(value(p)).astype(np.float64) for p in (plus, minus)]
        change = float(np.sum(u * outputs[0]) - np.sum(u * outputs[1]))
        terms = [
            a * (p.astype(np.float64) - m.astype(np.float64))
            for a, p, m in zip(gradient, plus, minus, strict=True)
        ]
        prediction = float(sum(t.sum() for t in terms))
        return cls(change, prediction, float(sum(np.abs(t).sum() for t in terms)), outputs)
