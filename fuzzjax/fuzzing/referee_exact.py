"""The exact value of one element of a float or complex operation, with its ambiguities.

``expect(fn, args, fmt)`` returns an ``Expected``: the principal exact value (mpmath numbers,
one per real part; NaN where the mathematics gives no value) plus what else is acceptable and
why. Inputs are the operands as Python floats/complexes (exactly the dtype values, signed
zeros kept). Four regimes:

* finite arguments: mpmath at increasing precision (``referee_numbers.evaluate``); a real
  function whose value is complex there (``sqrt(-1)``) is NaN; where mpmath raises (a pole,
  a domain error), the one-sided values nearby decide: equal sides give the limit
  (``lgamma`` at a non-positive integer is +inf from both sides), different sides make the
  point undefined (rule ``pole``);
* complex arguments with a zero part, for functions with branch cuts on the axes: the sign of
  the zero picks the side of the cut (C99 Annex G); the other sides are acceptable
  alternatives (rule ``branch_cut``), so a point on a cut is never blamed on either side;
* infinite or NaN parts: the operation is evaluated on a grid that stands for them (±inf as
  large values of two different phases, NaN as values of every size) and a result part is
  determined if the grid agrees on it (``exp(-inf) = 0``, ``hypot(inf, nan) = inf``);
  otherwise there is no limit (rule ``no_limit``) and NaN, a zero or an infinity the grid
  produces, or the diagonal value (``atan2(inf, inf) = pi/4``) are acceptable. NaN is always
  acceptable for a NaN input (rule ``nan_input``: IEEE 754 propagates NaN even where the
  value is determined, C99 Annex G does not);
* IEEE 754 special cases that depend on the sign of a zero (``x / ±0``, ``pow``,
  ``atan2``) follow the standard (``_ieee``); ``0 ** 0`` and ``atan2(±0, ±0)`` are conventions
  (rules ``zero_pow_zero``, ``atan2_zero_zero``);
* arguments outside a function's documented domain (``MpFunction.domain``: ``betaln`` of a
  non-positive parameter) have no specified value: any answer is accepted (rule
  ``outside_domain``). SciPy's and JAX's formulas continue differently there.
"""

from __future__ import annotations

import contextlib
import itertools
import math
from dataclasses import dataclass, field

import mpmath

from fuzzjax.fuzzing.referee_functions import MpFunction
from fuzzjax.fuzzing.referee_numbers import (
    MPMATH_ERRORS,
    Format,
    Mp,
    Singular,
    evaluate,
    parts,
    round_to,
)

Scalar = float | complex

#: The offset that makes a zero part signed: far below any subnormal of any format.
TINY = mpmath.mpf(2) ** -1100
MAX_GRID = 400
SAMPLE_PREC = 320
NAN = mpmath.mpf("nan")


def stand_ins(fmt: Format, slow: bool) -> tuple[Mp, Mp]:
    """Two finite values that stand for +inf in ``fmt``: large enough that a function which
    grows like a root (``slow``: like a logarithm) overflows there, of two different phases
    so that an oscillating function shows no limit, and not integers (poles of lgamma), except
    for ``slow`` functions, whose stand-ins are too large to carry a fraction (2**(2**131) for
    float32) and are integers.

    The values are exact at any working precision (``mpmath.mpf`` of a (mantissa, exponent)
    pair is rounded to the current precision: built at 53 bits, 2**400 + 1/2 became the
    integer 2**400)."""
    if slow:  # log10(B) must overflow: B = 2**(2**(emax + 4))
        e = 2 ** (fmt.emax + 4)
        return mpmath.mpf((3, e - 1)), mpmath.mpf((5, e - 2))
    k = 3 * (fmt.emax + 1) + 16
    with mpmath.workprec(k + 8):
        return mpmath.mpf((2 ** (k + 1) + 1, -1)), mpmath.mpf((3 * 2 ** (k + 1) + 1, -2))


@dataclass
class Expected:
    """What an element should be: ``principal`` exact parts and the other acceptable answers."""

    principal: tuple[Mp, ...]
    #: Whole values that are also acceptable, and the rule that makes them so.
    alternatives: list[tuple[tuple[Mp, ...], str]] = field(default_factory=list)
    #: Per part: rounded values that are also acceptable (NaN, zeros, infinities) and why.
    extras: tuple[frozenset[float], ...] = ()
    extras_rule: str = ""
    #: The operation has no defined result here at all (integer division by zero...): any
    #: answer is acceptable under this rule.
    undefined: str = ""

    def add_extras(self, extra: list[set[float]], rule: str) -> None:
        old = self.extras or tuple(frozenset() for _ in self.principal)
        self.extras = tuple(a | b for a, b in zip(old, extra, strict=True))
        self.extras_rule = self.extras_rule or rule


def expect(fn: MpFunction, args: list[Scalar], fmt: Format, complex_out: bool) -> Expected:
    """The expected value of ``fn`` at ``args`` rounded into ``fmt`` (see the module doc)."""
    special = _ieee(fn.name, args)
    if special is not None:
        return special
    comps = [c for a in args for c in _components(a)]
    inside = fn.domain
    if inside is not None and not all(inside(mpmath.mpf(c)) for c in comps if not math.isnan(c)):
        nan = tuple(NAN for _ in range(2 if complex_out else 1))
        return Expected(nan, undefined="outside_domain")
    if not all(math.isfinite(c) for c in comps):
        return _grid(fn, args, fmt, complex_out)
    if fn.cut and any(isinstance(a, complex) and 0 in (a.real, a.imag) for a in args):
        return _signed_zero(fn, args, fmt, complex_out)
    try:
        return Expected(_parts(evaluate(fn.fn, _mp_args(args), fmt), complex_out))
    except Singular:
        return _pole(fn, args, fmt, complex_out)


def value_at(fn: MpFunction, args: list[Scalar], fmt: Format, complex_out: bool) -> tuple[Mp, ...]:
    """The principal exact value only (for the backward-error criterion)."""
    return expect(fn, args, fmt, complex_out).principal


def _components(a: Scalar) -> tuple[float, ...]:
    return (a.real, a.imag) if isinstance(a, complex) else (a,)


def _mp_args(args: list[Scalar]) -> list[Mp]:
    return [mpmath.mpc(a.real, a.imag) if isinstance(a, complex) else mpmath.mpf(a) for a in args]


def _parts(value: Mp, complex_out: bool) -> tuple[Mp, ...]:
    re, im = parts(value)
    if complex_out:
        return re, im
    return (NAN,) if im != 0 else (re,)  # a real function with a complex value: no value


def _rounded(value: tuple[Mp, ...], fmt: Format) -> tuple[float, ...]:
    return tuple(round_to(p, fmt) for p in value)


def _equal(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


# ---- infinities and NaN: a grid of stand-in values -------------------------------------


def _samples(c: float, big: tuple[Mp, Mp], near_infinity: bool) -> list[Mp]:
    if math.isnan(c):  # any value: zero, ordinary ones, and infinite ones
        return [mpmath.mpf(0), mpmath.mpf(0.75), mpmath.mpf(-1.5), big[0], -big[0]]
    if math.isinf(c):
        return [b if c > 0 else -b for b in big]
    if c == 0 and near_infinity:  # 0 * inf has no limit: the zero may stand for a tiny value
        sign = -1 if math.copysign(1.0, c) < 0 else 1
        root = mpmath.mpf(2) ** -(mpmath.mag(big[0]) // 2)
        return [mpmath.mpf(0), sign * root, sign / big[0] ** 2]
    return [mpmath.mpf(c)]


def _rebuild(args: list[Scalar], comps: list[Mp]) -> list[Mp]:
    out, i = [], 0
    for a in args:
        if isinstance(a, complex):
            out.append(mpmath.mpc(comps[i], comps[i + 1]))
            i += 2
        else:
            out.append(comps[i])
            i += 1
    return out


def _sample_value(fn: MpFunction, args: list[Mp], complex_out: bool) -> tuple[Mp, ...] | None:
    try:
        with mpmath.workprec(SAMPLE_PREC):
            return _parts(+fn.fn(*args), complex_out)
    except MPMATH_ERRORS:
        return None


def _grid(fn: MpFunction, args: list[Scalar], fmt: Format, complex_out: bool) -> Expected:
    comps = [c for a in args for c in _components(a)]
    big = stand_ins(fmt, fn.slow)
    near_inf = any(math.isinf(c) for c in comps)
    axes = [_samples(c, big, near_inf) for c in comps]
    while math.prod(len(a) for a in axes) > MAX_GRID:
        longest = max(range(len(axes)), key=lambda i: len(axes[i]))
        axes[longest] = axes[longest][::2]
    # Where a stand-in is too large for mpmath, its own infinities (IEEE-style) are used.
    direct = _sample_value(fn, _rebuild(args, [mpmath.mpf(c) for c in comps]), complex_out)
    points = list(itertools.product(*axes))
    values = [_sample_value(fn, _rebuild(args, list(p)), complex_out) for p in points]
    # Values at points where every NaN stands for an ordinary number (0, 0.75, -1.5).
    nans = [i for i, c in enumerate(comps) if math.isnan(c)]
    ordinary = [
        v for v, p in zip(values, points, strict=True) if v and all(abs(p[i]) < 2 for i in nans)
    ]
    known = [v if v is not None else direct for v in values]
    found = [v for v in known if v is not None]
    width = 2 if complex_out else 1
    diagonal = _sample_value(fn, _rebuild(args, [_diagonal(c, big) for c in comps]), complex_out)
    principal: list[Mp] = []
    extras: list[set[float]] = []
    for k in range(width):
        rounded = [round_to(v[k], fmt) for v in found]
        if rounded and len(found) == len(values) and all(_equal(r, rounded[0]) for r in rounded):
            first = rounded[0]  # a limit of 0 or infinity is exactly that, not a stand-in's value
            principal.append(mpmath.mpf(first) if first == 0 or math.isinf(first) else found[0][k])
            extras.append(set())
        else:
            principal.append(NAN)
            extra = {math.nan, *(r for r in rounded if r == 0 or math.isinf(r))}
            if diagonal is not None:
                extra.add(round_to(diagonal[k], fmt))
            if nans:  # sign(NaN + inf j) is 1j for every finite real part
                extra |= {round_to(v[k], fmt) for v in ordinary}
            extras.append(extra)
    has_nan = any(math.isnan(c) for c in comps)
    if has_nan and not complex_out:  # IEEE 754: NaN in, NaN out; a determined value is allowed
        extras = [{math.nan, round_to(p, fmt)} for p in principal]
        principal = [NAN for _ in principal]
    out = Expected(tuple(principal))
    if has_nan:  # and for complex results, NaN parts where C99 Annex G determines them
        out.add_extras([{math.nan} for _ in principal], "nan_input")
    elif fn.bound in ("composite", "special") and fn.infinity_convention:
        # A formula evaluated at infinity in IEEE arithmetic (sin(pi inf)/(pi inf), -inf * 0,
        # z / |z|) gives NaN where the limit exists; neither C99 nor JAX define them there.
        out.add_extras([{math.nan} for _ in principal], "infinity_convention")
    if any(extras):
        out.add_extras(extras, "no_limit")
    return out


def _diagonal(c: float, big: tuple[Mp, Mp]) -> Mp:
    """Every infinity replaced by the same stand-in (``atan2(inf, inf)``: the diagonal)."""
    return (big[0] if c > 0 else -big[0]) if math.isinf(c) else mpmath.mpf(c)


# ---- zeros on branch cuts, and poles ---------------------------------------------------


def _signed_zero(fn: MpFunction, args: list[Scalar], fmt: Format, complex_out: bool) -> Expected:
    comps = [c for a in args for c in _components(a)]
    zeros = [i for i, c in enumerate(comps) if c == 0]
    signs = [math.copysign(1.0, comps[i]) for i in zeros]
    try:  # at a singular point (log(0), atanh(1)) mpmath's own infinities are the limit
        at = _parts(evaluate(fn.fn, _mp_args(args), fmt), complex_out)
    except Singular:
        at = None

    def side(flip: tuple[bool, ...]) -> tuple[Mp, ...]:
        moved: list[Mp] = [mpmath.mpf(c) for c in comps]
        for k, (i, s) in enumerate(zip(zeros, signs, strict=True)):
            moved[i] = (-s if flip[k] else s) * TINY ** (k + 1)  # the first zero dominates
        value = _parts(evaluate(fn.fn, _rebuild(args, moved), fmt), complex_out)
        if at is None:
            return value
        return tuple(a if mpmath.isinf(a) else v for a, v in zip(at, value, strict=True))

    try:
        principal = side((False,) * len(zeros))
    except Singular:
        return _pole(fn, args, fmt, complex_out)
    out = Expected(principal)
    seen = [_rounded(principal, fmt)]
    rule = "singular_point" if _origin(args) else "branch_cut"
    for flip in itertools.product((False, True), repeat=len(zeros)):
        if any(flip):
            try:
                other = side(flip)
            except Singular:
                continue
            if not any(all(map(_equal, _rounded(other, fmt), s)) for s in seen):
                seen.append(_rounded(other, fmt))
                out.alternatives.append((other, rule))
    return out


def _origin(args: list[Scalar]) -> bool:
    return any(isinstance(a, complex) and a == 0 for a in args)


def _pole(fn: MpFunction, args: list[Scalar], fmt: Format, complex_out: bool) -> Expected:
    """mpmath raised at ``args``: compare the values just beside the point, close enough
    that a pole like 1/x overflows there."""
    sides: list[tuple[Mp, ...]] = []
    for sign in (1, -1):
        moved = [_beside(a, sign, fmt) for a in args]
        with contextlib.suppress(Singular):
            sides.append(_parts(evaluate(fn.fn, moved, fmt), complex_out))
    nan = tuple(NAN for _ in range(2 if complex_out else 1))
    if not sides:  # undefined on both sides: a domain error
        return Expected(nan)
    first = _rounded(sides[0], fmt)
    if len(sides) == 2 and all(map(_equal, first, _rounded(sides[1], fmt))):
        return Expected(sides[0])
    out = Expected(nan, [(s, "pole") for s in sides])
    out.add_extras([{math.nan} for _ in nan], "pole")
    return out


def _beside(a: Scalar, sign: int, fmt: Format) -> Mp:
    """``a`` moved by a relative 2**-(2 emax + 64), exactly (the working precision of the
    evaluation is raised until the result is stable, see ``referee_numbers.evaluate``)."""
    k = 2 * (fmt.emax + 1) + 64
    with mpmath.workprec(k + 64):
        if isinstance(a, complex):
            z = mpmath.mpc(a.real, a.imag)
            return z * (1 + sign * mpmath.mpf(2) ** -k) if z != 0 else mpmath.mpc(sign * TINY, 0)
        x = mpmath.mpf(a)
        return x * (1 + sign * mpmath.mpf(2) ** -k) if x != 0 else sign * TINY


# ---- IEEE 754 special cases that depend on signed zeros ---------------------------------


def _ieee(name: str, args: list[Scalar]) -> Expected | None:
    xs = [a for a in args if isinstance(a, float)]
    if len(xs) != len(args):
        return None
    if name == "divide" and xs[1] == 0:
        return _const(_div_zero(xs[0], xs[1]))
    if name == "reciprocal" and xs[0] == 0:
        return _const(math.copysign(math.inf, xs[0]))
    if name == "rsqrt" and xs[0] == 0:
        return _const(math.copysign(math.inf, xs[0]))
    if name == "power":
        return _pow(xs[0], xs[1])
    if name == "arctan2":
        return _atan2(xs[0], xs[1])
    if name == "angle" and xs[0] == 0:
        return _atan2(0.0, xs[0])
    if name == "lgamma" and math.isinf(xs[0]):  # C99 F.9.5.3: lgamma(±inf) = +inf
        out = _const(math.inf)
        if xs[0] < 0:  # there is no limit at -inf (poles at every negative integer)
            out.add_extras([{math.nan}], "no_limit")
        return out
    if name == "polygamma" and xs[0] == -math.inf:  # poles at every negative integer
        out = _const(math.nan)  # no limit; SciPy gives ±inf, JAX inf or NaN
        out.add_extras([{math.nan, math.inf, -math.inf}], "no_limit")
        return out
    return None


def _const(value: float, *alternatives: tuple[float, str]) -> Expected:
    out = Expected((mpmath.mpf(value),))
    out.alternatives = [((mpmath.mpf(v),), rule) for v, rule in alternatives]
    return out


def _div_zero(x: float, y: float) -> float:
    if x == 0 or math.isnan(x):
        return math.nan
    negative = (math.copysign(1.0, x) < 0) != (math.copysign(1.0, y) < 0)
    return -math.inf if negative else math.inf


def _atan2(y: float, x: float) -> Expected | None:
    if y != 0 or math.isnan(x):
        return None
    if x == 0:  # atan2(±0, ±0): IEEE picks ±0 or ±pi from the zero signs; no limit exists
        turns = {0: mpmath.mpf(0), 1: _pi(1), -1: _pi(-1)}
        ieee = int(math.copysign(1.0, y)) if math.copysign(1.0, x) < 0 else 0
        out = Expected((turns[ieee],))
        out.alternatives = [((v,), "atan2_zero_zero") for k, v in turns.items() if k != ieee]
        return out
    if x < 0:  # atan2(±0, x < 0) = ±pi
        return Expected((_pi(int(math.copysign(1.0, y))),))
    return Expected((mpmath.mpf(y),))


def _pi(sign: int) -> Mp:
    with mpmath.workprec(SAMPLE_PREC):
        return sign * +mpmath.pi


def _is_odd_integer(y: float) -> bool:
    return math.isfinite(y) and y == math.floor(y) and abs(y) < 2**53 and int(y) % 2 == 1


def _pow(x: float, y: float) -> Expected | None:
    """IEEE 754 pow (C99 F.9.4.4) where it is a special case; None for ordinary points."""
    if y == 0:
        if x == 0:
            return _const(1.0, (math.nan, "zero_pow_zero"))
        out = _const(1.0)
        if math.isnan(x):
            out.add_extras([{math.nan}], "nan_input")
        return out
    if x == 1:
        out = _const(1.0)
        if math.isnan(y):
            out.add_extras([{math.nan}], "nan_input")
        return out
    if math.isnan(x) or math.isnan(y):
        return _const(math.nan)
    odd = _is_odd_integer(y)
    if x == 0:
        if y < 0:
            return _const(math.copysign(math.inf, x) if odd else math.inf)
        return _const(math.copysign(0.0, x) if odd else 0.0)
    if math.isinf(y):
        if x == -1:
            return _const(1.0)
        grows = (abs(x) > 1) == (y > 0)
        return _const(math.inf if grows else 0.0)
    if math.isinf(x):
        if x > 0:
            return _const(math.inf if y > 0 else 0.0)
        magnitude = math.inf if y > 0 else 0.0
        return _const(-magnitude if odd else magnitude)
    if x < 0 and y != math.floor(y):
        return _const(math.nan)
    return None
