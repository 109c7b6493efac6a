"""Judging one value against an ``Expected``: is it within the bound, and under which rule?

Rules, in the order they are tried (the first that accepts the value names it):

``within_bound``
    within ``bound.ulp`` ulps of the exact value (complex: each part, or norm-wise), or the
    absolute/backward criteria of the bound's class (``referee_bounds``);
``ftz``
    the value is right for the inputs with subnormals flushed to zero, or it is zero where the
    exact value is subnormal, or it differs from the exact value by less than the smallest
    normal number of the computation precision times the size of the formula's terms (a
    flushed intermediate): XLA on CPU flushes denormals by design (jax-ml/jax#16200);
``complex_infinity``
    both the exact value and the value have an infinite part (C99 Annex G.3: one infinity);
an alternative's or an extra's rule
    ``branch_cut``, ``pole``, ``no_limit``, ``nan_input``... (``referee_exact``);
an undefined rule
    integer division by zero and the like (``referee_discrete``): any value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import mpmath
import numpy as np

from fuzzjax.fuzzing.inputs import np_dtype
from fuzzjax.fuzzing.referee_bounds import Bound
from fuzzjax.fuzzing.referee_exact import Expected, Scalar, value_at
from fuzzjax.fuzzing.referee_functions import MpFunction
from fuzzjax.fuzzing.referee_numbers import FORMATS, Format, Mp, error_ulps, round_to, ulp


@dataclass
class Judgement:
    ok: bool
    rule: str  # the rule that accepts the value ("" when it is not accepted)
    ulp: float | None  # error against the principal exact value, in ulps (None: not a float)


@dataclass
class Context:
    """What judging a float element needs besides the value."""

    fn: MpFunction | None  # None for exact operations
    bound: Bound
    fmt: Format  # of the result (each part)
    in_fmt: Format  # of the operands
    args: list[Scalar]
    complex_out: bool
    flushed: Expected | None = None  # the expectation for the flushed inputs, if any differ


def judge(got: Any, expected: Expected, ctx: Context) -> Judgement:
    """Whether ``got`` is an acceptable answer, and why."""
    value = np.asarray(got).item()
    if expected.principal and not isinstance(expected.principal[0], mpmath.mpf):
        same = bool(value == expected.principal[0])
        if expected.undefined:
            return Judgement(True, "within_bound" if same else expected.undefined, None)
        if not same and ctx.flushed is not None and value == ctx.flushed.principal[0]:
            return Judgement(True, "ftz", None)  # a comparison of a subnormal read as zero
        return Judgement(same, "within_bound" if same else "", None)
    g = (float(value.real), float(value.imag)) if ctx.complex_out else (float(value),)
    errs = [error_ulps(gi, p, ctx.fmt) for gi, p in zip(g, expected.principal, strict=True)]
    err = max(errs)
    if expected.undefined:
        return Judgement(True, expected.undefined, err)
    if _within(g, expected.principal, ctx) or _backward(g, expected.principal, ctx):
        return Judgement(True, "within_bound", err)
    if _ftz(g, expected, ctx):
        return Judgement(True, "ftz", err)
    values = [expected.principal, *(alt for alt, _ in expected.alternatives)]
    if any(_infinite(v, ctx.fmt) for v in values) and any(math.isinf(x) for x in g):
        return Judgement(True, "complex_infinity", err)
    for alt, rule in expected.alternatives:
        if _within(g, alt, ctx):
            return Judgement(True, rule, err)
    # Subnormal operands read as zeros (ftz) can land on a branch cut or a pole: the flushed
    # point's other acceptable values count too, under their own rule.
    for alt, rule in ctx.flushed.alternatives if ctx.flushed is not None else ():
        if _within(g, alt, ctx):
            return Judgement(True, rule, err)
    if expected.extras:
        extras_ok = all(
            e <= ctx.bound.ulp or _member(gi, extra)
            for e, gi, extra in zip(errs, g, expected.extras, strict=True)
        )
        if extras_ok:
            return Judgement(True, expected.extras_rule, err)
    return Judgement(False, "", err)


def _member(x: float, values: frozenset[float]) -> bool:
    return any(x == v or (math.isnan(x) and math.isnan(v)) for v in values)


def _infinite(p: tuple[Mp, ...], fmt: Format) -> bool:
    """A complex value with a part that is (or rounds to) infinity."""
    return len(p) == 2 and any(math.isinf(round_to(x, fmt)) for x in p)


def _within(g: tuple[float, ...], exact: tuple[Mp, ...], ctx: Context) -> bool:
    bound = ctx.bound
    if all(error_ulps(gi, p, ctx.fmt) <= bound.ulp for gi, p in zip(g, exact, strict=True)):
        return True
    if not all(math.isfinite(x) for x in g) or not all(mpmath.isfinite(p) for p in exact):
        return False
    with mpmath.workprec(256):
        diff = abs(mpmath.mpc(*g) - mpmath.mpc(*exact)) if len(g) == 2 else abs(g[0] - exact[0])
        if len(g) == 2 and diff <= bound.ulp * ctx.fmt.eps * abs(mpmath.mpc(*exact)):
            return True  # norm-wise: a small part computed by cancellation
        if bound.scaled and ctx.fn is not None and ctx.fn.scale is not None:
            scale = abs(ctx.fn.scale(*[mpmath.mpmathify(a) for a in ctx.args]))
            return bool(diff <= bound.ulp * ctx.fmt.eps * scale)
    return False


def _backward(g: tuple[float, ...], exact: tuple[Mp, ...], ctx: Context) -> bool:
    """Backward error: ``g`` is no further from the exact value than the exact values at
    inputs ``bound.backward`` steps away (each part of each argument moved on its own, the
    moves' effects added: first order), plus the bound."""
    steps = ctx.bound.backward
    if steps == 0 or ctx.fn is None or not _finite(g) or not _finite(exact):
        return False
    comps = [c for a in ctx.args for c in _components(a)]
    if not all(math.isfinite(c) for c in comps):
        return False
    dtype = np_dtype(ctx.in_fmt.name)
    with mpmath.workprec(256):
        radius = mpmath.mpf(0)
        for i, c in enumerate(comps):
            reach = mpmath.mpf(0)
            for direction in (math.inf, -math.inf):
                moved = np.asarray(c, dtype=dtype)
                for _ in range(steps):
                    moved = np.nextafter(moved, np.asarray(direction, dtype=dtype))
                if not np.isfinite(moved) or c == 0 or (moved > 0) != (c > 0):
                    continue  # never across an axis: branch cuts and signed zeros live there
                shifted = [*comps[:i], float(moved), *comps[i + 1 :]]
                value = value_at(ctx.fn, _rebuild(ctx.args, shifted), ctx.fmt, ctx.complex_out)
                if not _finite(value):
                    return False
                reach = max(reach, _distance(value, exact))
            radius += reach
        unit = max(ulp(round_to(p, ctx.fmt), ctx.fmt) for p in exact)
        return bool(_distance(g, exact) <= radius + ctx.bound.ulp * unit)


def _components(a: Scalar) -> tuple[float, ...]:
    return (a.real, a.imag) if isinstance(a, complex) else (a,)


def _rebuild(args: list[Scalar], comps: list[float]) -> list[Scalar]:
    out: list[Scalar] = []
    i = 0
    for a in args:
        if isinstance(a, complex):
            out.append(complex(comps[i], comps[i + 1]))
            i += 2
        else:
            out.append(comps[i])
            i += 1
    return out


def _finite(parts: tuple[Any, ...]) -> bool:
    return all(mpmath.isfinite(p) for p in parts)


def _distance(a: tuple[Any, ...], b: tuple[Mp, ...]) -> Mp:
    if len(a) == 2:
        return abs(mpmath.mpc(*a) - mpmath.mpc(*b))
    return abs(mpmath.mpf(a[0]) - b[0])


def _ftz(g: tuple[float, ...], expected: Expected, ctx: Context) -> bool:
    tiny = ctx.fmt.smallest_normal
    flat = tuple(0.0 if abs(x) < tiny else x for x in g)  # a subnormal result reads as zero
    if ctx.flushed is not None:
        flushed = ctx.flushed.principal
        if _within(g, flushed, ctx) or _within(flat, flushed, ctx):
            return True
        if _infinite(flushed, ctx.fmt) and any(math.isinf(x) for x in g):
            return True  # a complex infinity for the flushed inputs (C99 G.3)
    compute_tiny = FORMATS["float64" if ctx.fmt.precision > 24 else "float32"].smallest_normal
    flushed_out = []
    for gi, p in zip(g, expected.principal, strict=True):
        rounded = round_to(p, ctx.fmt)
        flushed_out.append(gi == 0 and 0 < abs(rounded) < tiny)
    if any(flushed_out):
        rest = [p for p, f in zip(expected.principal, flushed_out, strict=True) if not f]
        kept = [gi for gi, f in zip(g, flushed_out, strict=True) if not f]
        if all(
            error_ulps(gi, p, ctx.fmt) <= ctx.bound.ulp for gi, p in zip(kept, rest, strict=True)
        ):
            return True
    if not all(math.isfinite(x) for x in g) or not all(
        mpmath.isfinite(p) for p in expected.principal
    ):
        return False
    # A flushed intermediate: its error is at most the smallest normal number times the
    # size of what multiplies it, which the arguments bound for JAX's formulas.
    with mpmath.workprec(256):
        scale = 1 + sum(abs(mpmath.mpmathify(a)) for a in ctx.args)
        diff = max(abs(gi - p) for gi, p in zip(g, expected.principal, strict=True))
        return bool(diff <= compute_tiny * scale)


def show_exact(parts: tuple[Any, ...]) -> str:
    """The exact value for people: 17 significant digits (complex as (re, im))."""
    if not parts or not isinstance(parts[0], mpmath.mpf):
        return str(parts[0]) if parts else ""
    # Parts below 2**-1000 come from the offsets that sign a zero (referee_exact.TINY): 0.
    text = [mpmath.nstr(p if abs(p) > mpmath.mpf(2) ** -1000 else 0 * p, 17) for p in parts]
    return text[0] if len(text) == 1 else f"({text[0]}, {text[1]})"
