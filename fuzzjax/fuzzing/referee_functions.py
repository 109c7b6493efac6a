"""What each elementwise operation means, in mpmath: the function table of the referee.

Every grammar spelling of an operation (``op_add``, ``jnp.add``, ``lax.add``) maps to one
canonical name (``CANONICAL``). A canonical name is either

* an ``MpFunction``: the mathematical function, evaluated by mpmath at high precision on
  real or complex arguments, with its accuracy class (``fuzzjax.fuzzing.referee_bounds``);
* or an exact operation (``EXACT``): selection, sign manipulation, rounding to an integer,
  comparison, integer arithmetic. Those have one representable answer, computed exactly by
  ``fuzzjax.fuzzing.referee_exact`` without rounding.

Formulas follow JAX's documented definitions: ``jax.nn.gelu`` is the tanh approximation
(``approximate=True``), ``softplus`` is ``log(1 + exp(x))``, ``celu``/``elu`` use alpha=1,
``leaky_relu`` a slope of 0.01, ``sinc`` is the normalised ``sin(pi x)/(pi x)``. They are
written without cancellation (``0.5 * (1 + tanh(u)) == 1 / (1 + exp(-2u))``), so that the
working precision is spent on the answer and not on digits that cancel.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import mpmath

from fuzzjax.fuzzing.referee_numbers import Mp


@dataclass(frozen=True)
class MpFunction:
    """A mathematical function of the referee."""

    name: str
    arity: int
    fn: Callable[..., Mp]
    #: Accuracy class: a key of ``referee_bounds.BOUNDS`` (complex arguments use the
    #: ``_complex`` variant of the class where there is one).
    bound: str
    #: The function is only defined for real arguments here (mpmath has no complex form
    #: matching JAX's, or JAX rejects complex input).
    real_only: bool = False
    #: Discontinuous across the real or imaginary axis for complex arguments (branch
    #: cuts): a zero part of an argument is signed and picks the side (C99 Annex G).
    cut: bool = False
    #: The magnitude of the terms JAX's formula adds up (for the absolute part of the
    #: error bound of composite and special functions), as a function of the arguments.
    scale: Callable[..., Mp] | None = None
    #: Grows like a logarithm towards infinity (its stand-in for infinity is far larger).
    slow: bool = False
    #: Each argument's documented domain, for functions documented only on part of the real
    #: line (``betaln``: SciPy and JAX document positive parameters). An argument outside it
    #: (NaN aside) makes the referee rule ``outside_domain`` (undefined): no answer is wrong.
    domain: Callable[[Mp], bool] | None = None
    #: Where the domain is documented.
    domain_source: str = ""
    #: Composite and special functions: NaN is accepted at an infinite argument where the
    #: limit exists (rule ``infinity_convention``, ``referee_exact``). False where JAX's NaN
    #: there is reported upstream as a bug (``polygamma(n >= 1, inf)``: jax-ml/jax#38608).
    infinity_convention: bool = True


def _exp2(x: Mp) -> Mp:
    return mpmath.power(2, x)


def _log2(x: Mp) -> Mp:
    return mpmath.log(x) / mpmath.ln2


def _cbrt(x: Mp) -> Mp:
    return mpmath.cbrt(abs(x)) * mpmath.sign(x)


def _rsqrt(x: Mp) -> Mp:
    return 1 / mpmath.sqrt(x)


def _sigmoid(x: Mp) -> Mp:
    return 1 / (1 + mpmath.exp(-x))


def _logaddexp(x: Mp, y: Mp) -> Mp:
    big, small = (x, y) if x >= y else (y, x)
    return big + mpmath.log1p(mpmath.exp(small - big))


def _logaddexp2(x: Mp, y: Mp) -> Mp:
    big, small = (x, y) if x >= y else (y, x)
    return big + mpmath.log1p(mpmath.power(2, small - big)) / mpmath.ln2


def _gelu(x: Mp) -> Mp:  # x * 0.5 * (1 + tanh(u)) == x / (1 + exp(-2u))
    u = mpmath.sqrt(2 / mpmath.pi) * (x + mpmath.mpf("0.044715") * x**3)
    return x / (1 + mpmath.exp(-2 * u))


def _elu(x: Mp) -> Mp:
    return x if x > 0 else mpmath.expm1(x)


_SELU_SCALE = mpmath.mpf("1.0507009873554804934193349852946")
_SELU_ALPHA = mpmath.mpf("1.6732632423543772848170429916717")


def _selu(x: Mp) -> Mp:
    return _SELU_SCALE * (x if x > 0 else _SELU_ALPHA * mpmath.expm1(x))


def _lgamma(x: Mp) -> Mp:
    if x <= 0 and x == mpmath.floor(x):
        return mpmath.inf  # log|Gamma| is +inf at its poles, from both sides
    return mpmath.re(mpmath.loggamma(x))  # log|Gamma(x)|, also for negative x


def _logit(x: Mp) -> Mp:
    if not 0 <= x <= 1:
        return mpmath.nan
    return mpmath.log(x) - mpmath.log1p(-x)  # -inf at 0, +inf at 1


def _ndtri(p: Mp) -> Mp:
    if not 0 <= p <= 1:
        return mpmath.nan
    return mpmath.sqrt(2) * mpmath.erfinv(2 * p - 1)


def _xlogy(x: Mp, y: Mp) -> Mp:
    if x == 0 and not mpmath.isnan(y):
        return mpmath.mpf(0)  # JAX's definition: 0 whatever y is
    return mpmath.nan if y < 0 else x * mpmath.log(y)


def _xlog1py(x: Mp, y: Mp) -> Mp:
    if x == 0 and not mpmath.isnan(y):
        return mpmath.mpf(0)
    return mpmath.nan if y < -1 else x * mpmath.log1p(y)


def _betaln(a: Mp, b: Mp) -> Mp:
    """lgamma(a) + lgamma(b) - lgamma(a + b) for positive ``a`` and ``b`` (NaN elsewhere:
    outside the documented domain, see ``_positive``), with the bits its cancellation costs
    added: for a >> b the terms are about a log a while the result is about b log a.

    The extra precision is bounded: where one argument dwarfs the other the asymptotic form
    lgamma(small) - small log(big) is used (error below small^2/big), and where both exceed
    2**60 Stirling's form (relative error below 1/(12 min(a, b))). The referee's stand-ins
    for infinity (``referee_exact.stand_ins``) are around 2**(2**19) and beyond, where the
    plain formula would need that many bits."""
    if mpmath.isnan(a) or mpmath.isnan(b) or not (a > 0 and b > 0):
        return mpmath.nan
    if mpmath.isinf(a) or mpmath.isinf(b):
        return -mpmath.inf
    small, large = min(a, b), max(a, b)
    if large > 2**60 * max(small, 1):
        return _lgamma(small) - small * mpmath.log(large)
    if small > 2**60:
        return (
            mpmath.log(2 * mpmath.pi) / 2
            + (a - mpmath.mpf(0.5)) * mpmath.log(a)
            + (b - mpmath.mpf(0.5)) * mpmath.log(b)
            - (a + b - mpmath.mpf(0.5)) * mpmath.log(a + b)
        )
    big = max(large, mpmath.mpf(2))  # at most 2**121 here: at most about 140 extra bits
    extra = int(mpmath.log(big * mpmath.log(big), 2)) + 16
    with mpmath.workprec(mpmath.mp.prec + extra):
        return _lgamma(a) + _lgamma(b) - _lgamma(a + b)


def _positive(x: Mp) -> bool:
    return bool(x > 0)


def _sign(z: Mp) -> Mp:
    return z / abs(z) if z != 0 else z


def _abs1(x: Mp) -> Mp:
    return abs(x)


def _max_abs(x: Mp, y: Mp) -> Mp:
    return max(abs(x), abs(y))


def _lanczos_terms(x: Mp) -> Mp:
    """Magnitude of the terms of XLA's Lanczos lgamma/digamma (t = |x| + 7.5, log t)."""
    t = abs(x) + mpmath.mpf(7.5)
    return t * (1 + abs(mpmath.log(t)))


def _betaln_terms(a: Mp, b: Mp) -> Mp:
    """The three Lanczos lgamma evaluations betaln adds up."""
    return _lanczos_terms(a) + _lanczos_terms(b) + _lanczos_terms(a + b)


#: scipy.special.betaln documents "a, b: Positive, real-valued parameters"; JAX's betaln
#: calls them "Parameter a (b) of the beta distribution".
BETALN_DOMAIN = "https://docs.scipy.org/doc/scipy/reference/generated/scipy.special.betaln.html"
#: scipy.special.zeta documents the Hurwitz zeta function for x > 1, q > 0.
ZETA_DOMAIN = "https://docs.scipy.org/doc/scipy/reference/generated/scipy.special.zeta.html"

_F = MpFunction
FUNCTIONS: dict[str, MpFunction] = {
    f.name: f
    for f in (
        _F("add", 2, lambda x, y: x + y, "correctly_rounded"),
        _F("subtract", 2, lambda x, y: x - y, "correctly_rounded"),
        _F("multiply", 2, lambda x, y: x * y, "correctly_rounded"),
        _F("divide", 2, lambda x, y: x / y, "correctly_rounded"),
        _F("reciprocal", 1, lambda x: 1 / x, "correctly_rounded"),
        _F("square", 1, lambda x: x * x, "correctly_rounded"),
        _F("sqrt", 1, mpmath.sqrt, "correctly_rounded", cut=True),
        _F("rsqrt", 1, _rsqrt, "elementary", cut=True),
        _F("cbrt", 1, _cbrt, "elementary", real_only=True),
        _F("exp", 1, mpmath.exp, "elementary"),
        _F("exp2", 1, _exp2, "exponential"),
        _F("expm1", 1, mpmath.expm1, "elementary"),
        _F("log", 1, mpmath.log, "elementary", cut=True, slow=True),
        _F("log2", 1, _log2, "elementary", cut=True, slow=True),
        _F("log10", 1, mpmath.log10, "elementary", cut=True, slow=True),
        _F("log1p", 1, mpmath.log1p, "elementary", cut=True, slow=True),
        _F("sin", 1, mpmath.sin, "elementary"),
        _F("cos", 1, mpmath.cos, "elementary"),
        _F("tan", 1, mpmath.tan, "elementary"),
        _F("arcsin", 1, mpmath.asin, "elementary", cut=True, slow=True),
        _F("arccos", 1, mpmath.acos, "elementary", cut=True, slow=True),
        _F("arctan", 1, mpmath.atan, "elementary", cut=True),
        _F("sinh", 1, mpmath.sinh, "exponential"),
        _F("cosh", 1, mpmath.cosh, "exponential"),
        _F("tanh", 1, mpmath.tanh, "elementary"),
        _F("arcsinh", 1, mpmath.asinh, "elementary", cut=True, slow=True),
        _F("arccosh", 1, mpmath.acosh, "elementary", cut=True, slow=True),
        _F("arctanh", 1, mpmath.atanh, "elementary", cut=True),
        _F("arctan2", 2, mpmath.atan2, "elementary", real_only=True),
        _F("hypot", 2, mpmath.hypot, "elementary", real_only=True),
        _F("power", 2, mpmath.power, "elementary", cut=True),
        _F("abs", 1, _abs1, "elementary"),  # complex only: real abs is exact
        _F("sign", 1, _sign, "composite"),  # complex only (z / |z|): real sign is exact
        _F("angle", 1, mpmath.arg, "elementary", cut=True),
        _F("sigmoid", 1, _sigmoid, "elementary"),
        _F("deg2rad", 1, lambda x: x * (mpmath.pi / 180), "composite", real_only=True),
        _F("rad2deg", 1, lambda x: x * (180 / mpmath.pi), "composite", real_only=True),
        _F("sinc", 1, mpmath.sincpi, "composite", scale=lambda x: 1),
        _F("logaddexp", 2, _logaddexp, "composite", real_only=True, scale=_max_abs),
        _F("logaddexp2", 2, _logaddexp2, "composite", real_only=True, scale=_max_abs),
        _F("softplus", 1, lambda x: mpmath.log1p(mpmath.exp(x)), "composite", real_only=True),
        _F("log_sigmoid", 1, lambda x: -mpmath.log1p(mpmath.exp(-x)), "composite", real_only=True),
        _F("silu", 1, lambda x: x * _sigmoid(x), "composite", real_only=True),
        _F("gelu", 1, _gelu, "composite", real_only=True, scale=_abs1),
        _F("elu", 1, _elu, "composite", real_only=True),
        _F("celu", 1, _elu, "composite", real_only=True),
        _F("selu", 1, _selu, "composite", real_only=True),
        _F("leaky_relu", 1, lambda x: x if x >= 0 else x / 100, "composite", real_only=True),
        _F("soft_sign", 1, lambda x: x / (abs(x) + 1), "composite", real_only=True),
        _F("erf", 1, mpmath.erf, "special", real_only=True),
        _F("erfc", 1, mpmath.erfc, "special", real_only=True),
        _F("erf_inv", 1, mpmath.erfinv, "special", real_only=True),
        _F("lgamma", 1, _lgamma, "special", real_only=True, scale=_lanczos_terms),
        _F(
            "digamma", 1, mpmath.digamma, "special", real_only=True, scale=_lanczos_terms, slow=True
        ),
        # jax.scipy.special (issue 16); not yet calibrated with scripts/referee_calibrate.py
        _F("logit", 1, _logit, "composite", real_only=True),
        _F("ndtr", 1, mpmath.ncdf, "special", real_only=True),
        _F("ndtri", 1, _ndtri, "special", real_only=True),
        _F(
            "i0e",
            1,
            lambda x: mpmath.besseli(0, x) * mpmath.exp(-abs(x)),
            "special",
            real_only=True,
        ),
        _F(
            "i1e",
            1,
            lambda x: mpmath.besseli(1, x) * mpmath.exp(-abs(x)),
            "special",
            real_only=True,
        ),
        _F("xlogy", 2, _xlogy, "composite", real_only=True),
        _F("xlog1py", 2, _xlog1py, "composite", real_only=True),
        _F(
            "betaln",
            2,
            _betaln,
            "special",
            real_only=True,
            scale=_betaln_terms,
            slow=True,
            domain=_positive,
            domain_source=BETALN_DOMAIN,
        ),
        _F(
            "zeta",
            2,
            mpmath.zeta,
            "special",
            real_only=True,
            domain=_positive,
            domain_source=ZETA_DOMAIN,
        ),
    )
}

#: Operations with one exactly representable answer (``referee_exact`` computes them).
EXACT = frozenset(
    [
        "negative",
        "positive",
        "abs",
        "sign",
        "floor",
        "ceil",
        "rint",
        "trunc",
        "round",
        "conj",
        "real",
        "imag",
        "maximum",
        "minimum",
        "fmax",
        "fmin",
        "copysign",
        "heaviside",
        "nextafter",
        "relu",
        "relu6",
        "hard_tanh",
        "nan_to_num",
        "zeros_like",
        "ones_like",
        "fmod",
        "remainder",
        "floor_divide",
        "less",
        "less_equal",
        "greater",
        "greater_equal",
        "equal",
        "not_equal",
        "logical_and",
        "logical_or",
        "logical_xor",
        "logical_not",
        "isnan",
        "isinf",
        "isneginf",
        "isposinf",
        "isfinite",
        "signbit",
        "bitwise_and",
        "bitwise_or",
        "bitwise_xor",
        "bitwise_not",
        "left_shift",
        "right_shift",
        "gcd",
        "lcm",
        "isclose",
        "population_count",
        "clz",
    ]
)

#: Grammar aliases that spell another operation.
CANONICAL: dict[str, str] = {
    "op_add": "add",
    "op_sub": "subtract",
    "op_mul": "multiply",
    "op_truediv": "divide",
    "true_divide": "divide",
    "op_floordiv": "floor_divide",
    "op_mod": "remainder",
    "mod": "remainder",
    "op_neg": "negative",
    "op_and": "bitwise_and",
    "op_or": "bitwise_or",
    "op_xor": "bitwise_xor",
    "op_invert": "bitwise_not",
    "op_pow": "power",
    "op_lt": "less",
    "op_le": "less_equal",
    "op_gt": "greater",
    "op_ge": "greater_equal",
    "op_eq": "equal",
    "op_ne": "not_equal",
    "fabs": "abs",
    "lax_add": "add",
    "lax_sub": "subtract",
    "lax_mul": "multiply",
    "lax_div": "divide",
    "lax_max": "maximum",
    "lax_min": "minimum",
    "lax_neg": "negative",
    "lax_abs": "abs",
    "lax_square": "square",
    "lax_sign": "sign",
    "lax_floor": "floor",
    "lax_ceil": "ceil",
    "lax_exp": "exp",
    "lax_log": "log",
    "lax_sin": "sin",
    "lax_cos": "cos",
    "lax_tanh": "tanh",
    "lax_sqrt": "sqrt",
    "lax_rsqrt": "rsqrt",
    "lax_logistic": "sigmoid",
    "lax_erf": "erf",
    "lax_erfc": "erfc",
    "lax_erf_inv": "erf_inv",
    "lax_lgamma": "lgamma",
    "lax_digamma": "digamma",
    "lax_is_finite": "isfinite",
    "lax_atan2": "arctan2",
    "lax_rem": "fmod",
    "lax_pow": "power",
    "lax_nextafter": "nextafter",
    # issue 16's spellings of the same operations
    "sp_gammaln": "lgamma",
    "sp_digamma": "digamma",
    "sp_expit": "sigmoid",
    "sp_logit": "logit",
    "sp_erf": "erf",
    "sp_erfc": "erfc",
    "sp_ndtr": "ndtr",
    "sp_ndtri": "ndtri",
    "sp_i0e": "i0e",
    "sp_i1e": "i1e",
    "sp_xlogy": "xlogy",
    "sp_xlog1py": "xlog1py",
    "sp_betaln": "betaln",
    "sp_zeta": "zeta",
    "lax_eq": "equal",
    "lax_ne": "not_equal",
    "lax_lt": "less",
    "lax_le": "less_equal",
    "lax_gt": "greater",
    "lax_ge": "greater_equal",
    "stop_gradient": "positive",
    "invert": "bitwise_not",
    "absolute": "abs",
    "nn_tanh": "tanh",
    "lax_real": "real",
    "lax_imag": "imag",
    "lax_population_count": "population_count",
    "lax_clz": "clz",
}


def canonical(alias: str) -> str:
    """The canonical operation name of a grammar alias."""
    return CANONICAL.get(alias, alias)


def covered(alias: str) -> bool:
    """Whether the referee knows what ``alias`` means."""
    name = canonical(alias)
    return name in FUNCTIONS or name in EXACT
