"""Reference meaning of elementwise operations (math, comparisons, bitwise, casts of kind)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from lark import Token, Tree
from scipy import special

from fuzzjax.dtypes import KIND, real_dtype
from fuzzjax.fuzzing.inputs import complex_from_parts, finfo, np_dtype
from fuzzjax.fuzzing.reference.values import (
    Impl,
    ReferenceFailure,
    Val,
    concrete,
    dtype_fn,
    mark,
    merge,
    promote_all,
    x64,
)
from fuzzjax.rules import table as rules
from fuzzjax.rules.special import polygamma_dtype

if TYPE_CHECKING:
    from fuzzjax.fuzzing.reference.interp import Interp


# ---- elementwise ------------------------------------------------------------------------


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.asarray(1 / (1 + np.exp(-x)) if np.iscomplexobj(x) else special.expit(x))


def _power(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``x ** y``; a complex infinite base with a finite real exponent as ``cexp(y clog(x))``
    (C99 7.3.8.2): ``(inf - 0j) ** -1`` is 0 and ``(inf + 0j) ** 2`` infinite, where NumPy's
    complex power gives NaN."""
    result = np.power(x, y)
    if not np.iscomplexobj(result):
        return np.asarray(result)
    x, y = (np.asarray(v).astype(np.complex128) for v in np.broadcast_arrays(x, y))
    infinite = (np.isinf(x.real) | np.isinf(x.imag)) & ~(np.isnan(x.real) | np.isnan(x.imag))
    fix = infinite & (y.imag == 0) & np.isfinite(y.real) & (y.real != 0)
    if not fix.any():
        return np.asarray(result)
    theta = y.real * np.angle(x)
    trig = (np.cos(theta), np.sin(theta))
    parts = [np.where(y.real > 0, np.where(c == 0, 0.0, np.inf * c), 0.0) for c in trig]
    return np.where(fix, complex_from_parts(parts[0], parts[1], result.dtype), result)


def _sinc(x: np.ndarray) -> np.ndarray:
    """``np.sinc``; complex: sin(pi x) / (pi x) by the Annex G division (NumPy's complex
    division overflows for subnormal complex128 values: sinc(5e-324+0j) was inf+nanj)."""
    if not np.iscomplexobj(x):
        return np.asarray(np.sinc(x))
    y = np.pi * np.where(x == 0, 1.0, x)
    return np.where(x == 0, 1.0 + 0j, _divide(np.sin(y), y))


def _rsqrt(x: np.ndarray) -> np.ndarray:
    """1/sqrt(x); for complex x the division follows C99 Annex G (1/(inf+inf j) is 0)."""
    root = np.sqrt(x)
    return _divide(np.ones((), root.dtype), root)


def _divide(z: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Division; complex operands follow C99 Annex G (G.5.2), which recovers the infinities
    and zeros that plain formulas compute as NaN+NaNj, as XLA does and NumPy does not."""
    if not (np.iscomplexobj(z) or np.iscomplexobj(w)):
        return np.asarray(np.divide(z, w))
    z, w = np.broadcast_arrays(np.asarray(z, np.complex128), np.asarray(w, np.complex128))
    a, b, c, d = z.real, z.imag, w.real, w.imag
    largest = np.fmax(np.abs(c), np.abs(d))
    scaled = np.isfinite(largest) & (largest > 0)
    k = np.where(scaled, np.frexp(np.where(scaled, largest, 1.0))[1] - 1, 0)
    c, d = np.ldexp(c, -k), np.ldexp(d, -k)
    denom = c * c + d * d
    x, y = np.ldexp((a * c + b * d) / denom, -k), np.ldexp((b * c - a * d) / denom, -k)
    lost = np.isnan(x) & np.isnan(y)
    by_zero = lost & (denom == 0) & (~np.isnan(a) | ~np.isnan(b))
    x = np.where(by_zero, np.copysign(np.inf, c) * a, x)
    y = np.where(by_zero, np.copysign(np.inf, c) * b, y)
    infinite = lost & ~by_zero & (np.isinf(a) | np.isinf(b)) & np.isfinite(c) & np.isfinite(d)
    a1, b1 = np.copysign(np.isinf(a) * 1.0, a), np.copysign(np.isinf(b) * 1.0, b)
    x = np.where(infinite, np.inf * (a1 * c + b1 * d), x)
    y = np.where(infinite, np.inf * (b1 * c - a1 * d), y)
    tiny = lost & ~by_zero & ~infinite & np.isinf(largest) & np.isfinite(a) & np.isfinite(b)
    c1, d1 = np.copysign(np.isinf(c) * 1.0, c), np.copysign(np.isinf(d) * 1.0, d)
    x = np.where(tiny, 0.0 * (a * c1 + b * d1), x)
    y = np.where(tiny, 0.0 * (b * c1 - a * d1), y)
    return complex_from_parts(x, y, np.complex128)


def _log1p(x: np.ndarray) -> np.ndarray:
    """log(1 + z); for complex z the real part is 0.5 log1p(2 re + re^2 + im^2) (NumPy's
    complex log1p is log(1 + z), which loses a real part below eps)."""
    if not np.iscomplexobj(x):
        return np.asarray(np.log1p(x))
    z = np.asarray(x).astype(np.complex128)
    re, im = z.real, z.imag
    with np.errstate(all="ignore"):
        small = np.isfinite(z) & (np.abs(z) < 0.5)
        real = 0.5 * np.log1p(2 * re + re * re + im * im)
        careful = real + 1j * np.arctan2(im, 1 + re)
        out = np.where(small, careful, np.log1p(z))
    return np.asarray(out.astype(np.asarray(x).dtype))


def _logistic(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)); complex division as C99 Annex G (1 / (inf + inf j) is 0)."""
    if not np.iscomplexobj(x):
        return _sigmoid(x)
    with np.errstate(all="ignore"):
        denominator = 1 + np.exp(-np.asarray(x))
    return _divide(np.ones((), denominator.dtype), denominator)


def _expm1(x: np.ndarray) -> np.ndarray:
    """NumPy's complex expm1 gives inf+nanj at inf+0j; C99's cexp(z) - 1 gives inf+0j."""
    if not np.iscomplexobj(x):
        return np.asarray(np.expm1(x))
    return np.asarray(np.where(np.isfinite(x), np.expm1(x), np.exp(x) - 1))


def _lgamma(x: np.ndarray) -> np.ndarray:
    """log|Gamma(x)|; C99 (and XLA) give +inf at -inf, where SciPy's gammaln gives -inf."""
    return np.asarray(np.where(np.isneginf(x), np.inf, special.gammaln(x)))


def _digamma(x: np.ndarray) -> np.ndarray:
    """psi(x); NaN at its poles 0, -1, -2, ... (no limit from both sides), as XLA returns;
    SciPy gives -inf at 0."""
    return np.asarray(np.where((x <= 0) & (x == np.floor(x)), np.nan, special.digamma(x)))


def polygamma(n: int, x: np.ndarray) -> np.ndarray:
    """The n-th derivative of digamma. At its poles 0, -1, -2, ... the limit is +inf for odd
    n (the pole has even order) and does not exist for even n (NaN, as digamma); towards
    -inf there is no limit (NaN)."""
    if n == 0:
        return _digamma(x)
    with np.errstate(all="ignore"):
        value = special.polygamma(n, x)
    pole = (x <= 0) & (x == np.floor(x))
    value = np.where(pole, np.inf if n % 2 else np.nan, value)
    return np.asarray(np.where(np.isneginf(x), np.nan, value))


def zeta(x: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Hurwitz zeta sum (k + q) ** -x over k >= 0 where the series converges (x > 1, q > 0);
    +inf at the pole x = 1; NaN elsewhere (outside the domain SciPy documents,
    where SciPy and JAX continue differently)."""
    with np.errstate(all="ignore"):
        value = special.zeta(x, q)
        return np.asarray(
            np.where(q > 0, np.where(x > 1, value, np.where(x == 1, np.inf, np.nan)), np.nan)
        )


def _gelu(x: np.ndarray) -> np.ndarray:  # jax.nn.gelu(approximate=True)
    return np.asarray(0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3))))


_SELU = (1.0507009873554804934193349852946, 1.6732632423543772848170429916717)

#: Elementwise math in computation form (float64/complex128, or the integer dtype itself).
ELEMENTWISE: dict[str, Callable[..., Any]] = {
    "add": np.add, "subtract": np.subtract, "multiply": np.multiply, "divide": _divide,
    "floor_divide": np.floor_divide, "remainder": np.remainder, "fmod": np.fmod,
    "negative": np.negative, "positive": np.positive, "bitwise_and": np.bitwise_and,
    "bitwise_or": np.bitwise_or, "bitwise_xor": np.bitwise_xor, "bitwise_not": np.invert,
    "maximum": np.maximum, "minimum": np.minimum, "fmax": np.fmax, "fmin": np.fmin,
    "arctan2": np.arctan2, "hypot": np.hypot, "logaddexp": np.logaddexp,
    "logaddexp2": np.logaddexp2, "copysign": np.copysign, "heaviside": np.heaviside,
    "gcd": np.gcd, "lcm": np.lcm, "left_shift": np.left_shift, "right_shift": np.right_shift,
    "logical_and": np.logical_and, "logical_or": np.logical_or, "logical_xor": np.logical_xor,
    "logical_not": np.logical_not, "isnan": np.isnan, "isfinite": np.isfinite,
    "isinf": np.isinf, "signbit": np.signbit, "abs": np.abs, "fabs": np.abs,
    "square": np.square, "sign": np.sign, "floor": np.floor, "ceil": np.ceil, "rint": np.rint,
    "trunc": np.trunc, "round": np.round, "cbrt": np.cbrt,
    "reciprocal": lambda x: _divide(np.ones_like(x), x),
    "deg2rad": np.deg2rad, "rad2deg": np.rad2deg, "sinc": _sinc, "conj": np.conj,
    "real": np.real, "imag": np.imag, "angle": np.angle,
    "zeros_like": np.zeros_like, "ones_like": np.ones_like,
    "less": np.less, "less_equal": np.less_equal, "greater": np.greater,
    "greater_equal": np.greater_equal, "equal": np.equal, "not_equal": np.not_equal,
    "isclose": lambda a, b: np.isclose(a, b, rtol=1e-5, atol=1e-8),
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "arcsin": np.arcsin, "arccos": np.arccos,
    "arctan": np.arctan, "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh,
    "arcsinh": np.arcsinh, "arccosh": np.arccosh, "arctanh": np.arctanh, "exp": np.exp,
    "exp2": np.exp2, "expm1": _expm1, "log": np.log, "log2": np.log2, "log10": np.log10,
    "log1p": _log1p, "sqrt": np.sqrt, "relu": lambda x: np.maximum(x, 0),
    "relu6": lambda x: np.minimum(np.maximum(x, 0), 6), "sigmoid": _sigmoid,
    "softplus": lambda x: np.logaddexp(x, 0), "silu": lambda x: x * _sigmoid(x), "gelu": _gelu,
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
    "leaky_relu": lambda x: np.where(x >= 0, x, 0.01 * x),
    "log_sigmoid": lambda x: -np.logaddexp(-x, 0), "hard_tanh": lambda x: np.clip(x, -1, 1),
    "soft_sign": lambda x: x / (np.abs(x) + 1),
    "selu": lambda x: _SELU[0] * np.where(x > 0, x, _SELU[1] * np.expm1(np.minimum(x, 0))),
    "celu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
    "lax_rsqrt": _rsqrt, "lax_logistic": _logistic, "lax_erf": special.erf,
    "lax_erfc": special.erfc, "lax_erf_inv": special.erfinv, "lax_lgamma": _lgamma,
    "lax_digamma": _digamma, "lax_is_finite": np.isfinite, "lax_atan2": np.arctan2,
    "lax_rem": np.fmod, "lax_pow": _power, "power": _power,
}  # fmt: skip
_SAME = {
    "op_add": "add", "op_sub": "subtract", "op_mul": "multiply", "op_truediv": "divide",
    "true_divide": "divide", "op_floordiv": "floor_divide", "op_mod": "remainder",
    "mod": "remainder", "op_neg": "negative", "op_and": "bitwise_and", "op_or": "bitwise_or",
    "op_xor": "bitwise_xor", "op_invert": "bitwise_not", "op_pow": "power", "op_lt": "less",
    "op_le": "less_equal",
    "op_gt": "greater", "op_ge": "greater_equal", "op_eq": "equal", "op_ne": "not_equal",
    "lax_add": "add", "lax_sub": "subtract", "lax_mul": "multiply", "lax_max": "maximum",
    "lax_min": "minimum", "lax_neg": "negative", "lax_abs": "abs", "lax_square": "square",
    "lax_sign": "sign", "lax_floor": "floor", "lax_ceil": "ceil", "lax_exp": "exp",
    "lax_log": "log", "lax_sin": "sin", "lax_cos": "cos", "lax_tanh": "tanh",
    "lax_sqrt": "sqrt",
    "lax_eq": "equal", "lax_ne": "not_equal", "lax_lt": "less", "lax_le": "less_equal",
    "lax_gt": "greater", "lax_ge": "greater_equal",
}  # fmt: skip
ELEMENTWISE.update({alias: ELEMENTWISE[same] for alias, same in _SAME.items()})


def _xlogy(x: np.ndarray, y: np.ndarray, log: Callable[[Any], Any] = np.log) -> np.ndarray:
    """``x * log(y)``, 0 where ``x == 0`` whatever ``y`` is (JAX's definition)."""
    return np.asarray(np.where(x == 0, 0, x * log(np.where(x == 0, 1, y))))


#: jax.scipy.special and other spellings (SciPy's special functions).
ELEMENTWISE.update(
    {
        "sp_gammaln": _lgamma,
        "sp_digamma": _digamma,
        "sp_expit": _sigmoid,
        "sp_logit": special.logit,
        "sp_erf": special.erf,
        "sp_erfc": special.erfc,
        "sp_ndtr": special.ndtr,
        "sp_ndtri": special.ndtri,
        "sp_i0e": special.i0e,
        "sp_i1e": special.i1e,
        "sp_xlogy": _xlogy,
        "sp_xlog1py": lambda x, y: _xlogy(x, y, np.log1p),
        "sp_betaln": special.betaln,
        "sp_zeta": zeta,
        "stop_gradient": lambda x: x,
        "invert": np.invert,
        "absolute": np.abs,
        "isneginf": np.isneginf,
        "isposinf": np.isposinf,
        "nn_tanh": np.tanh,
        "lax_real": np.real,
        "lax_imag": np.imag,
    }
)
#: Unary functions with zeros away from the origin. Near such a zero a correctly rounded
#: input already moves the result by many ulps of the result (sinc(1 + u) ~ -u), so the
#: comparison also accepts anything f takes within 2 ulps of the input (backward error).
ROUNDED_INPUT = {
    "sinc",
    "sin",
    "cos",
    "tan",
    "lax_sin",
    "lax_cos",
    "lax_lgamma",
    "lax_digamma",
    "sp_gammaln",
    "sp_digamma",
    "sp_logit",  # log(x / (1 - x)) in the input dtype: a zero at 1/2
}
#: Operations computed in their operands' dtype rather than their result dtype.
_IN_OPERANDS = {"abs", "lax_abs", "real", "imag", "angle", "isclose", "signbit", "absolute"}
_IN_OPERANDS |= {"lax_real", "lax_imag"}


def _elementwise(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    alias, dtypes = tree.data, concrete(args)
    out = dtype_fn(alias)(*dtypes)
    if out is None:
        raise ReferenceFailure(f"{alias} does not accept {dtypes}")
    compute = promote_all(*dtypes) if out == "bool" or alias in _IN_OPERANDS else out
    xs = [it.to(v, compute) for v in args]
    shape = np.broadcast_shapes(*(np.shape(x) for x in xs))
    undefined = merge(args, shape)
    integer = KIND[compute] in "iu"
    if alias in ("op_pow", "power", "lax_pow") and integer:
        result = _int_power(xs[0], xs[1], compute)
        mark(undefined, "int_pow_negative_exponent", np.broadcast_to(xs[1] < 0, shape))
        bits = 8 * np_dtype(compute).itemsize - (KIND[compute] == "i")
        magnitude = np.log2(np.maximum(np.abs(xs[0].astype(np.float64)), 1))
        mark(undefined, "int_pow_overflow", np.broadcast_to(xs[1] * magnitude >= bits - 1, shape))
    elif alias in ("nextafter", "lax_nextafter", "nan_to_num"):
        typed = [np.asarray(x).astype(np_dtype(compute)) for x in xs]
        result = _nan_to_num(typed[0], compute) if alias == "nan_to_num" else np.nextafter(*typed)
    elif alias in ("lax_population_count", "lax_clz"):
        result = _bit_count(xs[0], compute, alias)
    elif alias == "sp_zeta":
        result = zeta(*xs)
        known = np.isnan(xs[0]) | np.isnan(xs[1]) | ((xs[0] >= 1) & (xs[1] > 0))
        mark(undefined, "special_outside_domain", np.broadcast_to(~known, shape))
    elif alias == "lax_div" and integer:
        result = np.where(xs[1] == 0, 0, np.trunc(xs[0] / np.where(xs[1] == 0, 1, xs[1])))
        mark(undefined, "int_div_by_zero", np.broadcast_to(xs[1] == 0, shape))
    else:
        result = ELEMENTWISE["divide" if alias == "lax_div" else alias](*xs)
    if integer and alias in ("op_floordiv", "floor_divide", "op_mod", "remainder", "mod", "fmod",
                             "lax_rem"):  # fmt: skip
        mark(undefined, "int_div_by_zero", np.broadcast_to(xs[1] == 0, shape))
    if alias in ("left_shift", "right_shift"):
        bits = 8 * np_dtype(compute).itemsize
        mark(undefined, "shift_out_of_range", np.broadcast_to((xs[1] < 0) | (xs[1] >= bits), shape))
    val = it.out(result, out, undefined)
    slack = (
        _input_slack(ELEMENTWISE[alias], xs, result, compute) if alias in ROUNDED_INPUT else None
    )
    return Val(np.broadcast_to(val.value, shape).copy(), out, undefined, slack=slack)


def _input_slack(
    f: Callable[[Any], Any], xs: list[np.ndarray], result: Any, compute: str
) -> np.ndarray:
    """How far ``f`` moves when its input moves by 2 ulps of ``compute`` either way."""
    (x,) = xs
    u = 2 * float(finfo(real_dtype(compute)).eps)
    with np.errstate(all="ignore"):
        moved = [np.abs(np.asarray(f(x * (1 + d))) - result) for d in (u, -u)]
        slack = np.maximum(*moved).astype(np.float64)
    return np.where(np.isfinite(slack), slack, 0.0)


def _int_power(x: np.ndarray, y: np.ndarray, dtype: str) -> np.ndarray:
    x, y = np.broadcast_arrays(x.astype(np.int64), y.astype(np.int64))
    base, exp, acc = x.astype(np.uint64), np.abs(y), np.ones(x.shape, np.uint64)
    while np.any(exp > 0):  # square-and-multiply, wrapping modulo 2**64 (low bits exact)
        acc = np.where(exp & 1, acc * base, acc)
        base, exp = base * base, exp >> 1
    odd = (y & 1) == 1
    negative = np.where(x == 1, 1, np.where(x == -1, np.where(odd, -1, 1), 0))
    return np.where(y < 0, negative, acc.astype(np.int64)).astype(np_dtype(dtype))


def _bit_count(x: np.ndarray, dtype: str, alias: str) -> np.ndarray:
    """Set bits (``population_count``) or leading zero bits (``clz``) of the two's complement
    representation of each integer of ``dtype``."""
    bits = 8 * np_dtype(dtype).itemsize
    word = np.asarray(x).astype(np_dtype(dtype)).view(f"uint{bits}").astype(np.uint64)
    ones, length = np.zeros(word.shape, np.int64), np.zeros(word.shape, np.int64)
    while np.any(word):  # bit by bit: np.bitwise_count needs NumPy 2 (we support 1.24+)
        ones += (word & np.uint64(1)).astype(np.int64)
        length += word > 0
        word = word >> np.uint64(1)
    count = ones if alias == "lax_population_count" else bits - length
    return count.astype(np_dtype(dtype))


def _nan_to_num(x: np.ndarray, dtype: str) -> np.ndarray:
    if KIND[dtype] == "c":
        real = real_dtype(dtype)
        return complex_from_parts(_nan_to_num(x.real, real), _nan_to_num(x.imag, real), x.dtype)
    fi = finfo(dtype)
    return np.where(np.isnan(x), 0, np.where(np.isinf(x), np.where(x > 0, fi.max, fi.min), x))


def _polygamma(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    """``jax.scipy.special.polygamma(n, x)`` with a literal order ``n``, with the slack of a
    2-ulp move of its input (as ``ROUNDED_INPUT`` gives digamma)."""
    (x,) = args
    (n,) = (int(str(t)) for t in tree.children if isinstance(t, Token))
    (dtype,) = concrete(args)
    out = polygamma_dtype(dtype, x64=x64())
    if out is None:
        raise ReferenceFailure(f"sp_polygamma does not accept {dtype}")
    xs = it.to(x, out)
    value = polygamma(n, xs)
    val = it.out(value, out, dict(x.undefined))
    slack = _input_slack(lambda v: polygamma(n, v), [xs], value, out)
    return Val(val.value, out, val.undefined, slack=slack)


#: Every elementwise alias of the typing table.
IMPL: dict[str, Impl] = {
    alias: _elementwise
    for alias, rule in rules.TABLE.items()
    if isinstance(rule, rules.Elementwise)
}
IMPL["sp_polygamma"] = _polygamma
