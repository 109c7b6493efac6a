"""A NumPy reference for generated programs, independent of JAX.

The reference interprets the Lark parse tree with ``IMPL``, one NumPy implementation per
operation alias (special functions from SciPy). Dtypes follow JAX's rules as fuzzjax writes
them down (``fuzzjax.dtypes`` / ``fuzzjax.rules``), never by asking JAX: an operation casts its
operands to the JAX computation dtype (weak Python literals take the array's dtype), computes
in float64/complex128 (integers in their own width, wrapping) and rounds to the JAX result
dtype, so intermediate values are rounded where JAX rounds them.

``undefined`` masks mark elements whose value is a convention rather than arithmetic (integer
division by zero, out-of-range casts, shifts and indices, order-dependent float accumulation,
sign-ambiguous decompositions); ``fuzzjax.benign`` names every tag. ``ftz=True`` evaluates with
denormals flushed to zero at every arithmetic operation, as XLA does on CPU.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
from lark import Lark, Token, Tree
from lark.exceptions import LarkError
from scipy import special

from . import dtype_rules as dr
from . import rules
from .dtypes import DTYPE_FROM_SPELLING, KIND, promote_all
from .inputs import dtype_name, finfo, np_dtype
from .syntax import LEAF_ALIASES, ProgramSyntaxError, grammar_text, operation_aliases

#: Test-only: ``FUZZJAX_TEST_BREAK_REF=sin`` makes the reference wrong for that alias, so the
#: fuzzer's end-to-end tests have a planted discrepancy to find, bucket and shrink.
TEST_BREAK_ENV = "FUZZJAX_TEST_BREAK_REF"
WEAK = ("i*", "f*", "c*")
#: Partial sums above this may overflow (float16/bfloat16 reductions accumulate in float32).
ACC_LIMIT = float(np.finfo(np.float32).max)


class ReferenceFailure(RuntimeError):
    """The reference cannot evaluate a program (a fuzzjax bug, reported as a failure)."""


@dataclass
class Val:
    """An array in the NumPy form of ``dtype`` (or a weak literal) plus undefined masks."""

    value: np.ndarray
    dtype: str
    undefined: dict[str, np.ndarray] = field(default_factory=dict)
    items: tuple[Val, ...] | None = None  # a loop carry tuple (value, counter)

    @property
    def weak(self) -> bool:
        return self.dtype in WEAK

    def mask(self) -> np.ndarray:
        """All undefined elements, whatever the tag."""
        out = np.zeros(np.shape(self.value), dtype=bool)
        for m in self.undefined.values():
            out = out | np.broadcast_to(m, out.shape)
        return out


@dataclass
class NodeEval:
    """One evaluated operation: its tree, alias, result and expression arguments."""

    tree: Tree
    alias: str
    val: Val
    args: list[tuple[Tree, Val]]


@dataclass
class Evaluation:
    result: Val
    nodes: list[NodeEval]  # post-order


@cache
def positions_parser() -> Lark:
    """The grammar's parser with source positions on every tree."""
    return Lark(
        grammar_text(), parser="lalr", start="start", propagate_positions=True,
        maybe_placeholders=False, cache=True,
    )  # fmt: skip


def parse_with_positions(source: str) -> Tree:
    """Parse program text keeping source positions; ``ProgramSyntaxError`` if not ours."""
    try:
        return positions_parser().parse(source)
    except LarkError as exc:
        raise ProgramSyntaxError(f"not in the fuzzjax grammar: {str(exc).strip()[:200]}") from None


def evaluate(source: str, inputs: Sequence[np.ndarray], *, ftz: bool = False) -> Evaluation:
    """Evaluate program text on concrete inputs."""
    funcdef = parse_with_positions(source).children[0]
    assert isinstance(funcdef, Tree)
    params = [c for c in funcdef.children if isinstance(c, Tree) and c.data == "params"]
    names = [str(t) for t in params[0].children] if params else []
    if len(names) != len(inputs):
        raise ReferenceFailure(f"{len(names)} parameters but {len(inputs)} inputs")
    env = {
        n: Val(np.asarray(x), dtype_name(np.asarray(x).dtype))
        for n, x in zip(names, inputs, strict=True)
    }
    it = Interp(source, env, ftz)
    result: Val | None = None
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for child in funcdef.children:
            if isinstance(child, Tree) and child.data == "assign":
                env[str(child.children[0])] = it.eval(child.children[1])
            elif isinstance(child, Tree) and child.data != "params":
                result = it.eval(child)
    assert result is not None
    return Evaluation(result, it.nodes)


def is_expression(node: Tree | Token) -> bool:
    return isinstance(node, Tree) and (
        node.data in LEAF_ALIASES or node.data in operation_aliases()
    )


class Interp:
    def __init__(self, source: str, env: dict[str, Val], ftz: bool, precise: bool = False) -> None:
        self.source, self.env, self.ftz, self.precise = source, env, ftz, precise
        self.nodes: list[NodeEval] = []
        self.broken = os.environ.get(TEST_BREAK_ENV, "")

    def eval(self, node: Tree | Token) -> Val:
        assert isinstance(node, Tree)
        if node.data in ("param", "local", "bound"):
            return self.env[str(node.children[0])]
        if node.data == "literal":
            return literal(str(node.children[0]))
        if node.data in CONTROL:
            val = CONTROL[node.data](self, node)
            self.nodes.append(NodeEval(node, node.data, val, []))
            return val
        args = [(c, self.eval(c)) for c in node.children if is_expression(c)]
        impl = IMPL.get(node.data)
        if impl is None:
            raise ReferenceFailure(f"no NumPy implementation for {node.data}")
        val = impl(self, node, [v for _, v in args])
        if node.data == self.broken:  # test-only planted discrepancy
            val = Val((val.value * 2 + 0.5).astype(val.value.dtype), val.dtype, val.undefined)
        self.nodes.append(NodeEval(node, node.data, val, args))
        return val

    def text(self, tree: Tree | Token) -> str:
        if isinstance(tree, Token):
            return str(tree)
        return self.source[tree.meta.start_pos : tree.meta.end_pos]

    def flush(self, x: np.ndarray, dtype: str) -> np.ndarray:
        """Flush subnormals of ``dtype`` to signed zero (ftz mode only)."""
        if not self.ftz or KIND.get(dtype, "") not in "fc":
            return x
        tiny = float(finfo("float32" if KIND[dtype] == "c" else dtype).smallest_normal)
        if KIND[dtype] == "c":
            return _flush(x.real, tiny) + 1j * _flush(x.imag, tiny)
        return _flush(x, tiny)

    def to(self, val: Val, dtype: str) -> np.ndarray:
        """``val`` cast to ``dtype`` as JAX would, widened for computation, DAZ-flushed."""
        x = np.asarray(val.value)
        if self.precise and KIND[dtype] == "f" and x.dtype.kind in "fV":
            return x.astype(np.float64)  # precise mode (numerical derivatives): no rounding
        return self.flush(wide(x.astype(np_dtype(dtype)), dtype), dtype)

    def out(self, x: Any, dtype: str, undefined: dict[str, np.ndarray] | None = None) -> Val:
        """A result rounded to ``dtype`` (FTZ-flushed in ftz mode)."""
        if self.precise and KIND[dtype] == "f":
            return Val(np.asarray(x, dtype=np.float64), dtype, undefined or {})
        value = self.flush(np.asarray(x), dtype).astype(np_dtype(dtype))
        return Val(value, dtype, undefined or {})


def _flush(x: np.ndarray, tiny: float) -> np.ndarray:
    return np.where(np.abs(x) < tiny, np.copysign(0.0, x), x)


def literal(text: str) -> Val:
    if text in ("True", "False"):
        return Val(np.array(text == "True"), "bool")
    if any(c in text for c in ".eEn"):  # includes "-jnp.inf"-style spellings
        return Val(np.array(float(text.replace("jnp.", ""))), "f*")
    return Val(np.array(int(text)), "i*")


def wide(x: np.ndarray, dtype: str) -> np.ndarray:
    kind = KIND[dtype]
    return x.astype(np.float64) if kind == "f" else x.astype(np.complex128) if kind == "c" else x


def concrete(vals: Sequence[Val]) -> list[str]:
    """Argument dtypes as JAX sees them: weak literals take the promoted dtype."""
    promoted = promote_all(*[v.dtype for v in vals])
    promoted = {"i*": "int32", "f*": "float32", "c*": "complex64"}.get(promoted, promoted)
    return [promoted if v.weak else v.dtype for v in vals]


def merge(vals: Sequence[Val], shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for v in vals:
        for tag, m in v.undefined.items():
            m = np.broadcast_to(m, shape)
            out[tag] = out[tag] | m if tag in out else m
    return out


def mark(undefined: dict[str, np.ndarray], tag: str, mask: Any) -> None:
    mask = np.asarray(mask)
    if mask.any():
        undefined[tag] = undefined[tag] | mask if tag in undefined else mask


def whole(vals: Sequence[Val], shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    """Undefined everywhere in the output when anything in an input is (coarse propagation)."""
    out: dict[str, np.ndarray] = {}
    for v in vals:
        for tag, m in v.undefined.items():
            if np.any(m):
                out[tag] = np.ones(shape, dtype=bool)
    return out


def attrs(tree: Tree) -> list[Tree | Token]:
    return [c for c in tree.children if not is_expression(c)]


def ints(node: Tree | Token) -> tuple[int, ...]:
    return (int(node),) if isinstance(node, Token) else tuple(int(str(t)) for t in node.children)


def dtype_fn(alias: str) -> dr.DtypeFn:
    return rules.TABLE[alias].dtype_fn  # type: ignore[attr-defined, no-any-return]


# ---- elementwise ------------------------------------------------------------------------


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.asarray(1 / (1 + np.exp(-x)) if np.iscomplexobj(x) else special.expit(x))


def _gelu(x: np.ndarray) -> np.ndarray:  # jax.nn.gelu(approximate=True)
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))


_SELU = (1.0507009873554804934193349852946, 1.6732632423543772848170429916717)

#: Elementwise math in computation form (float64/complex128, or the integer dtype itself).
ELEMENTWISE: dict[str, Callable[..., Any]] = {
    "add": np.add, "subtract": np.subtract, "multiply": np.multiply, "divide": np.divide,
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
    "trunc": np.trunc, "round": np.round, "reciprocal": lambda x: 1 / x, "cbrt": np.cbrt,
    "deg2rad": np.deg2rad, "rad2deg": np.rad2deg, "sinc": np.sinc, "conj": np.conj,
    "real": np.real, "imag": np.imag, "angle": np.angle,
    "zeros_like": np.zeros_like, "ones_like": np.ones_like,
    "less": np.less, "less_equal": np.less_equal, "greater": np.greater,
    "greater_equal": np.greater_equal, "equal": np.equal, "not_equal": np.not_equal,
    "isclose": lambda a, b: np.isclose(a, b, rtol=1e-5, atol=1e-8),
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "arcsin": np.arcsin, "arccos": np.arccos,
    "arctan": np.arctan, "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh,
    "arcsinh": np.arcsinh, "arccosh": np.arccosh, "arctanh": np.arctanh, "exp": np.exp,
    "exp2": np.exp2, "expm1": np.expm1, "log": np.log, "log2": np.log2, "log10": np.log10,
    "log1p": np.log1p, "sqrt": np.sqrt, "relu": lambda x: np.where(x > 0, x, 0 * x),
    "relu6": lambda x: np.minimum(np.maximum(x, 0), 6), "sigmoid": _sigmoid,
    "softplus": lambda x: np.logaddexp(x, 0), "silu": lambda x: x * _sigmoid(x), "gelu": _gelu,
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
    "leaky_relu": lambda x: np.where(x >= 0, x, 0.01 * x),
    "log_sigmoid": lambda x: -np.logaddexp(-x, 0), "hard_tanh": lambda x: np.clip(x, -1, 1),
    "soft_sign": lambda x: x / (np.abs(x) + 1),
    "selu": lambda x: _SELU[0] * np.where(x > 0, x, _SELU[1] * np.expm1(np.minimum(x, 0))),
    "celu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
    "lax_rsqrt": lambda x: 1 / np.sqrt(x), "lax_logistic": _sigmoid, "lax_erf": special.erf,
    "lax_erfc": special.erfc, "lax_erf_inv": special.erfinv, "lax_lgamma": special.gammaln,
    "lax_digamma": special.digamma, "lax_is_finite": np.isfinite, "lax_atan2": np.arctan2,
    "lax_rem": np.fmod, "lax_pow": np.power, "power": np.power,
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
}  # fmt: skip
ELEMENTWISE.update({alias: ELEMENTWISE[same] for alias, same in _SAME.items()})
#: Operations computed in their operands' dtype rather than their result dtype.
_IN_OPERANDS = {"abs", "lax_abs", "real", "imag", "angle", "isclose", "signbit"}


def _elementwise(it: Interp, tree: Tree, args: list[Val]) -> Val:
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
    return Val(np.broadcast_to(val.value, shape).copy(), out, undefined)


def _int_power(x: np.ndarray, y: np.ndarray, dtype: str) -> np.ndarray:
    x, y = np.broadcast_arrays(x.astype(np.int64), y.astype(np.int64))
    base, exp, acc = x.astype(np.uint64), np.abs(y), np.ones(x.shape, np.uint64)
    while np.any(exp > 0):  # square-and-multiply, wrapping modulo 2**64 (low bits exact)
        acc = np.where(exp & 1, acc * base, acc)
        base, exp = base * base, exp >> 1
    odd = (y & 1) == 1
    negative = np.where(x == 1, 1, np.where(x == -1, np.where(odd, -1, 1), 0))
    return np.where(y < 0, negative, acc.astype(np.int64)).astype(np_dtype(dtype))


def _nan_to_num(x: np.ndarray, dtype: str) -> np.ndarray:
    if KIND[dtype] == "c":
        return _nan_to_num(x.real, "float32") + 1j * _nan_to_num(x.imag, "float32")
    fi = finfo(dtype)
    return np.where(np.isnan(x), 0, np.where(np.isinf(x), np.where(x > 0, fi.max, fi.min), x))


# ---- reductions and scans ---------------------------------------------------------------


def _reduce_attrs(it: Interp, tree: Tree) -> tuple[int | None, bool, str | None]:
    a = attrs(tree)
    if tree.data == "norm":
        return int(str(a[0])), str(a[1]) == "True", None
    axis = None if isinstance(a[0], Tree) and a[0].data == "axis_none" else ints(a[0])[0]
    dtype = DTYPE_FROM_SPELLING[str(a[2])] if len(a) > 2 else None
    return axis, str(a[1]) == "True", dtype


def _logsumexp(x: np.ndarray, axis: int | None, keepdims: bool) -> np.ndarray:
    top = np.max(x, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0)
    total = np.sum(np.exp(x - top), axis=axis, keepdims=True)
    out = np.log(total) + top
    return out if keepdims else np.squeeze(out, axis=axis)


def _nanarg(fn: Callable[..., Any]) -> Callable[..., Any]:
    def arg(x: np.ndarray, axis: int | None, keepdims: bool) -> np.ndarray:
        allnan = np.all(np.isnan(x), axis=axis, keepdims=True)
        safe = np.where(allnan, 0, x)
        out = fn(safe, axis=axis, keepdims=True)
        out = np.where(allnan, -1, out)
        return out if keepdims else np.squeeze(out, axis=axis)

    return arg


#: name -> (numpy function of (x, axis, keepdims), computed in the operand dtype?)
REDUCE: dict[str, tuple[Callable[..., Any], bool]] = {
    "sum": (np.sum, False), "prod": (np.prod, False), "mean": (np.mean, False),
    "average": (np.mean, False), "max": (np.max, True), "min": (np.min, True),
    "amax": (np.max, True), "amin": (np.min, True), "any": (np.any, True),
    "all": (np.all, True), "var": (np.var, False), "std": (np.std, False),
    "argmax": (np.argmax, True), "argmin": (np.argmin, True), "nansum": (np.nansum, False),
    "nanprod": (np.nanprod, False), "nanmean": (np.nanmean, False),
    "nanmax": (np.nanmax, True), "nanmin": (np.nanmin, True), "nanvar": (np.nanvar, False),
    "nanstd": (np.nanstd, False), "nanargmax": (_nanarg(np.argmax), True),
    "nanargmin": (_nanarg(np.argmin), True), "count_nonzero": (np.count_nonzero, True),
    "ptp": (np.ptp, True), "median": (np.median, False), "logsumexp": (_logsumexp, False),
    "norm": (lambda x, axis, keepdims: np.sqrt(np.sum(np.abs(x) ** 2, axis, keepdims=keepdims)),
             False),
    "sum_dtype": (np.sum, False), "prod_dtype": (np.prod, False), "mean_dtype": (np.mean, False),
}  # fmt: skip


def _reduction(it: Interp, tree: Tree, args: list[Val]) -> Val:
    (arg,) = args
    axis, keepdims, explicit = _reduce_attrs(it, tree)
    out = explicit or dtype_fn(tree.data)(arg.dtype)
    if out is None:
        raise ReferenceFailure(f"{tree.data} does not accept {arg.dtype}")
    fn, in_operand = REDUCE[tree.data]
    compute = arg.dtype if in_operand or (KIND[arg.dtype] == "c" and KIND[out] == "f") else out
    if tree.data == "median":
        compute = out
    x = it.to(arg, compute)
    bad_cast = _bad_cast(arg, compute)
    if KIND[compute] in "iu" and tree.data in ("sum", "prod", "nansum", "nanprod", "sum_dtype",
                                               "prod_dtype", "ptp"):  # fmt: skip
        result = np.asarray(fn(x.astype(np.int64), axis=axis, keepdims=keepdims))
    else:
        result = np.asarray(fn(x, axis=axis, keepdims=keepdims))
    undefined = {
        tag: np.asarray(np.any(np.broadcast_to(m, x.shape), axis=axis, keepdims=keepdims))
        for tag, m in arg.undefined.items()
    }
    mark(undefined, "float_to_int_out_of_range", np.any(bad_cast, axis=axis, keepdims=keepdims))
    if KIND[out] in "fc" and not in_operand:
        mark(undefined, "float_accumulation_order", _reduction_hazard(tree.data, x, axis, keepdims))
    return it.out(result, out, undefined)


def _reduction_hazard(alias: str, x: np.ndarray, axis: int | None, keep: bool) -> np.ndarray:
    """Where partial results may overflow/underflow in float32 although the exact one does not."""
    mag = np.abs(np.where(np.isnan(x), 0, x)) if alias.startswith("nan") else np.abs(x)
    if "prod" in alias:
        finite = np.isfinite(mag) & (mag > 0)
        logs = np.log(np.where(finite, mag, 1.0))
        big = np.sum(np.where(logs > 0, logs, 0.0), axis=axis, keepdims=keep)
        small = np.sum(np.where(logs < 0, logs, 0.0), axis=axis, keepdims=keep)
        zero = np.any(mag == 0, axis=axis, keepdims=keep)
        inf = np.any(np.isinf(mag), axis=axis, keepdims=keep)
        hi, lo = np.log(ACC_LIMIT), np.log(float(np.finfo(np.float32).tiny))
        return np.asarray(((big > hi) & ((small < 0) | zero)) | ((small < lo) & ((big > 0) | inf)))
    nonfinite = np.any(~np.isfinite(mag), axis=axis, keepdims=keep)
    mag = np.where(np.isfinite(mag), mag, 0)
    total = np.sum(mag if alias != "norm" else mag**2, axis=axis, keepdims=keep)
    n = max(1, mag.size // max(1, np.size(total)))
    exact = np.abs(np.sum(np.where(np.isnan(x), 0, x), axis=axis, keepdims=keep))
    if alias in ("var", "std", "nanvar", "nanstd"):
        centered = x - np.mean(x, axis=axis, keepdims=True)
        squares = np.sum(np.abs(centered) ** 2, axis=axis, keepdims=keep)
        total, exact = np.maximum(total, squares), squares / n
    elif "mean" in alias or alias in ("average", "norm"):
        exact = exact / n if alias != "norm" else np.sqrt(total)
    return np.asarray((total > ACC_LIMIT) & ((exact <= ACC_LIMIT) | nonfinite))


def _top_k(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """lax.top_k order: NaN first (negative NaN last), then descending, ties by lower index."""
    nan = np.isnan(x) if x.dtype.kind == "f" else np.zeros(x.shape, bool)
    group = np.where(nan, np.where(np.signbit(x), 2, 0), 1)  # XLA total order: -NaN sorts lowest
    key = -np.where(nan, 0, x).astype(np.float64)
    index = np.broadcast_to(np.arange(x.shape[-1]), x.shape)
    order = np.lexsort((index, key, group), axis=-1)[..., :k]
    return np.take_along_axis(x, order, -1), order


def _scan(it: Interp, tree: Tree, args: list[Val]) -> Val:
    (arg,) = args
    alias, a = tree.data, attrs(tree)
    axis = ints(a[0])[0]
    out = DTYPE_FROM_SPELLING[str(a[1])] if alias == "cumsum_dtype" else None
    if alias == "top_k":
        k, which = ints(a[0])[0], ints(a[1])[0]
        values, order = _top_k(it.to(arg, arg.dtype), k)
        mask = {t: np.broadcast_to(np.any(m, -1, keepdims=True), order.shape)
                for t, m in arg.undefined.items()}  # fmt: skip
        return it.out(order, "int32", mask) if which else it.out(values, arg.dtype, mask)
    out = out or dtype_fn(alias)(arg.dtype)
    if out is None:
        raise ReferenceFailure(f"{alias} does not accept {arg.dtype}")
    compute = arg.dtype if alias in ("sort", "argsort", "lax_cummax") else out
    x = it.to(arg, compute)
    if KIND[compute] in "iu" and alias.startswith(("cum", "nancum")):
        x = x.astype(np.int64)
    fns: dict[str, Callable[[np.ndarray], Any]] = {
        "cumsum": lambda v: np.cumsum(v, axis), "cumsum_dtype": lambda v: np.cumsum(v, axis),
        "cumprod": lambda v: np.cumprod(v, axis), "nancumsum": lambda v: np.nancumsum(v, axis),
        "nancumprod": lambda v: np.nancumprod(v, axis),
        "lax_cummax": lambda v: np.maximum.accumulate(v, axis),
        "diff": lambda v: np.diff(v, axis=axis), "sort": lambda v: np.sort(v, axis),
        "argsort": lambda v: np.argsort(v, axis, kind="stable"),
        "softmax": lambda v: _softmax(v, axis), "log_softmax": lambda v: _softmax(v, axis, True),
    }  # fmt: skip
    result = np.asarray(fns[alias](x))
    undefined = {t: np.broadcast_to(np.any(np.broadcast_to(m, x.shape), axis, keepdims=True),
                                    result.shape) for t, m in arg.undefined.items()}  # fmt: skip
    bad = np.any(_bad_cast(arg, compute), axis, keepdims=True)
    mark(undefined, "float_to_int_out_of_range", np.broadcast_to(bad, result.shape))
    return it.out(result, out, undefined)


def _softmax(x: np.ndarray, axis: int, log: bool = False) -> np.ndarray:
    shifted = x - np.max(x, axis, keepdims=True)
    total = np.sum(np.exp(shifted), axis, keepdims=True)
    return np.asarray(shifted - np.log(total) if log else np.exp(shifted) / total)


# ---- shape, index, select and cast ------------------------------------------------------


def _shape_fn(it: Interp, tree: Tree) -> Callable[[np.ndarray], np.ndarray]:
    a, alias = attrs(tree), tree.data
    n = [() if isinstance(t, Tree) and t.data in ("pad_width", "slice") else ints(t) for t in a]
    fns: dict[str, Callable[[np.ndarray], Any]] = {
        "reshape": lambda x: np.reshape(x, n[0]),
        "broadcast_to": lambda x: np.broadcast_to(x, n[0]),
        "transpose": lambda x: np.transpose(x, n[0]),
        "moveaxis": lambda x: np.moveaxis(x, n[0][0], n[1][0]),
        "expand_dims": lambda x: np.expand_dims(x, n[0][0]),
        "squeeze": lambda x: np.squeeze(x, n[0][0]),
        "swapaxes": lambda x: np.swapaxes(x, n[0][0], n[1][0]),
        "flip": lambda x: np.flip(x, n[0][0]),
        "roll": lambda x: np.roll(x, n[0][0], n[1][0] if len(n) > 1 else None),
        "tril": np.tril, "triu": np.triu, "tile": lambda x: np.tile(x, n[0]),
        "repeat": lambda x: np.repeat(x, n[0][0], n[1][0]), "ravel": np.ravel,
        "pad": lambda x: np.pad(x, [ints(w) for w in a[0].children]),  # type: ignore[union-attr]
        "getitem": lambda x: x[_subscripts(it, a)],
    }  # fmt: skip
    return fns[alias]


def _shape_op(it: Interp, tree: Tree, args: list[Val]) -> Val:
    if tree.data == "getitem" and args[0].items is not None:
        item = args[0].items[_subscripts(it, attrs(tree))[0]]
        assert isinstance(item, Val)
        return item
    if tree.data in ("concatenate", "stack"):
        axis = ints(attrs(tree)[0])[0]
        join = np.concatenate if tree.data == "concatenate" else np.stack
        parts = [np.asarray(v.value) for v in args]
        undefined = {t: join([np.broadcast_to(v.undefined.get(t, False), p.shape)
                              for v, p in zip(args, parts, strict=True)], axis=axis)
                     for t in {t for v in args for t in v.undefined}}  # fmt: skip
        return Val(join(parts, axis=axis), args[0].dtype, undefined)
    fn = _shape_fn(it, tree)
    x = np.asarray(args[0].value)
    masks = {t: np.array(fn(np.broadcast_to(m, x.shape))) for t, m in args[0].undefined.items()}
    return Val(np.array(fn(x)), args[0].dtype, masks)


def _subscripts(it: Interp, subs: list[Tree | Token]) -> tuple[int | slice, ...]:
    out: list[int | slice] = []
    for s in subs:
        if isinstance(s, Tree) and s.data == "slice":
            parts = [int(p) if p.strip() else None for p in it.text(s).split(":")]
            out.append(slice(*parts))
        else:
            out.append(ints(s.children[0] if isinstance(s, Tree) else s)[0])
    return tuple(out)


def _at_update(it: Interp, tree: Tree, args: list[Val]) -> Val:
    x, v = args
    index = _subscripts(it, attrs(tree))
    result = np.array(np.asarray(x.value))
    update = np.asarray(v.value).astype(result.dtype)
    ops = {"at_set": lambda old: update, "at_add": lambda old: old + update,
           "at_multiply": lambda old: old * update, "at_min": lambda old: np.minimum(old, update),
           "at_max": lambda old: np.maximum(old, update)}  # fmt: skip
    fresh = ops[tree.data](wide(result[index], x.dtype))
    result[index] = it.flush(np.asarray(fresh), x.dtype).astype(result.dtype)
    undefined = {}
    for tag in {t for a in args for t in a.undefined}:
        m = np.array(np.broadcast_to(x.undefined.get(tag, False), result.shape))
        m[index] = np.broadcast_to(v.undefined.get(tag, False), m[index].shape) | (
            m[index] if tree.data != "at_set" else False)  # fmt: skip
        undefined[tag] = m
    return Val(result, x.dtype, undefined)


def _take(it: Interp, tree: Tree, args: list[Val]) -> Val:
    x, idx = args
    axis = ints(attrs(tree)[0])[0]
    data, i = np.asarray(x.value), np.asarray(idx.value).astype(np.int64)
    n = data.shape[axis]
    bad = (i < -n) | (i >= n)
    safe = np.where(bad, 0, i)
    if tree.data == "take":
        ax = axis % data.ndim
        value = np.take(data, safe, axis=ax)
        oob = bad.reshape((1,) * ax + bad.shape + (1,) * (data.ndim - ax - 1))
        idx_masks = {t: np.broadcast_to(m, bad.shape).reshape(oob.shape)
                     for t, m in idx.undefined.items()}  # fmt: skip
        masks = {t: np.take(np.broadcast_to(m, data.shape), safe, axis=ax)
                 for t, m in x.undefined.items()}  # fmt: skip
    else:
        value = np.take_along_axis(data, safe, axis=axis)
        oob = bad
        idx_masks = dict(idx.undefined)
        masks = {t: np.take_along_axis(np.broadcast_to(m, data.shape), safe, axis=axis)
                 for t, m in x.undefined.items()}  # fmt: skip
    undefined = {**masks, **{t: np.broadcast_to(m, value.shape) for t, m in idx_masks.items()}}
    mark(undefined, "index_out_of_bounds", np.broadcast_to(oob, value.shape))
    return Val(value, x.dtype, undefined)


def _where(it: Interp, tree: Tree, args: list[Val]) -> Val:
    cond, x, y = args
    out = promote_all(*concrete([x, y]))
    c = np.asarray(cond.value).astype(bool)
    value = np.where(
        c, np.asarray(x.value).astype(np_dtype(out)), np.asarray(y.value).astype(np_dtype(out))
    )
    undefined: dict[str, np.ndarray] = {}
    for tag in {t for v in args for t in v.undefined}:
        mx, my, mc = (
            np.broadcast_to(v.undefined.get(tag, False), value.shape) for v in (x, y, cond)
        )
        mark(undefined, tag, mc | np.where(c, mx, my))
    return Val(value, out, undefined)


def _clip(it: Interp, tree: Tree, args: list[Val]) -> Val:
    (arg,) = args
    lo, hi = (it.to(literal(str(t)), arg.dtype) for t in attrs(tree))
    return it.out(
        np.minimum(np.maximum(it.to(arg, arg.dtype), lo), hi), arg.dtype, dict(arg.undefined)
    )


def _bad_cast(val: Val, target: str) -> np.ndarray:
    """Elements of a float value that have no defined conversion to integer ``target``."""
    x = np.asarray(val.value)
    if val.weak or KIND[val.dtype] not in "fc" or KIND[target] not in "iu":
        return np.zeros(x.shape, bool)
    info = np.iinfo(np_dtype(target))
    truncated = np.trunc(
        x.astype(np.complex128).real if KIND[val.dtype] == "c" else x.astype(np.float64)
    )
    return np.asarray(~np.isfinite(truncated) | (truncated < info.min) | (truncated > info.max))


def _cast(it: Interp, tree: Tree, args: list[Val]) -> Val:
    (arg,) = args
    target = DTYPE_FROM_SPELLING[str(attrs(tree)[0])]
    x, undefined = np.asarray(arg.value), dict(arg.undefined)
    if KIND[arg.dtype] in "fc" and KIND[target] in "iu":
        info = np.iinfo(np_dtype(target))
        truncated = np.trunc(it.flush(x.astype(np.float64), arg.dtype))
        bad = ~np.isfinite(truncated) | (truncated < info.min) | (truncated > info.max)
        mark(undefined, "float_to_int_out_of_range", bad)
        value: Any = np.where(bad, 0, truncated)
    elif KIND[target] == "b":
        value = it.flush(wide(x, arg.dtype), arg.dtype) != 0
    elif KIND[arg.dtype] in "iub" and KIND[target] in "fc":
        value = x.astype(np.float64)
    else:
        value = x.astype(np_dtype(target))
    return it.out(value, target, undefined)


# ---- linear algebra ---------------------------------------------------------------------


def _contraction(it: Interp, tree: Tree, args: list[Val]) -> Val:
    alias, a = tree.data, attrs(tree)
    dtypes = concrete(args)
    out = promote_all(*dtypes)
    xs = [it.to(v, out) for v in args]
    if KIND[out] in "iu":
        xs = [x.astype(np.int64) for x in xs]
    fns: dict[str, Callable[..., Any]] = {
        "op_matmul": np.matmul, "matmul": np.matmul, "dot": np.dot, "outer": np.outer,
        "inner": np.inner, "vdot": np.vdot, "kron": np.kron,
        "tensordot": lambda p, q: np.tensordot(p, q, axes=ints(a[0])[0]),
        "einsum": lambda p, q: np.einsum(str(a[0]).strip('"'), p, q),
    }  # fmt: skip
    result = np.asarray(fns[alias](*xs))
    undefined = whole(args, result.shape)
    if KIND[out] in "fc":
        # Partial sums (or single products) of the finite terms that overflow in float32 can
        # turn into inf - inf = NaN in an order the reference cannot know.
        finite = [np.where(np.isfinite(x), np.abs(x), 0) for x in xs]
        magnitude = np.asarray(fns[alias](*finite))
        mark(undefined, "float_accumulation_order", magnitude > ACC_LIMIT)
    return it.out(result, out, undefined)


def _windows(x: np.ndarray, window: tuple[int, ...], strides: tuple[int, ...]) -> np.ndarray:
    """Sliding windows over the trailing ``len(window)`` axes, strided (VALID padding)."""
    view = np.lib.stride_tricks.sliding_window_view(x, window, axis=tuple(range(-len(window), 0)))
    k = len(window)
    index = (Ellipsis,) + tuple(slice(None, None, s) for s in strides) + (slice(None),) * k
    return view[index]


def _conv(it: Interp, tree: Tree, args: list[Val]) -> Val:
    lhs, rhs = (it.to(v, args[0].dtype) for v in args)
    strides, padding = ints(attrs(tree)[0]), str(attrs(tree)[1]).strip('"')
    kernel = rhs.shape[2:]
    if padding == "SAME":
        pads = []
        for size, k, s in zip(lhs.shape[2:], kernel, strides, strict=True):
            total = max((-(-size // s) - 1) * s + k - size, 0)
            pads.append((total // 2, total - total // 2))
        lhs = np.pad(lhs, [(0, 0), (0, 0)] + pads)
    win = _windows(lhs, tuple(kernel), strides)  # n, c, *out, *kernel
    spatial = "xyz"[: len(kernel)]
    ks = "klm"[: len(kernel)]
    spec = f"nc{spatial}{ks},oc{ks}->no{spatial}"
    result = np.einsum(spec, win, rhs)
    return it.out(result, args[0].dtype, whole(args, result.shape))


def _pool(it: Interp, tree: Tree, args: list[Val]) -> Val:
    a = attrs(tree)
    (arg,) = args
    x = it.to(arg, arg.dtype)
    window, strides = (ints(t) for t in a[-3:-1])
    win = _windows(x, window, strides)
    axes = tuple(range(-len(window), 0))
    if tree.data == "max_pool":
        result = np.max(win, axis=axes)
    else:
        init = it.to(literal(str(a[0])), arg.dtype)
        result = np.sum(win.astype(np.int64) if KIND[arg.dtype] in "iu" else win, axis=axes) + init
    return it.out(result, arg.dtype, whole(args, np.shape(result)))


def _linalg(it: Interp, tree: Tree, args: list[Val]) -> Val:
    alias, a = tree.data, attrs(tree)
    dtype = args[0].dtype
    xs = [it.to(v, dtype) for v in args]
    x = xs[0]
    sym = (x + np.conj(np.swapaxes(x, -1, -2))) / 2 if alias in ("eigh", "cholesky") else x
    eigh_values = alias == "eigh" and ints(a[0])[0] == 0
    out = "float32" if eigh_values else dtype
    ambiguous = alias == "qr" or (alias == "eigh" and not eigh_values)
    try:
        if alias == "det":
            result = np.linalg.det(x)
        elif alias == "inv":
            result = np.linalg.inv(x)
        elif alias == "cholesky":
            result = np.linalg.cholesky(sym)
        elif alias == "solve":
            result = np.linalg.solve(x, xs[1])
        elif alias == "matrix_power":
            result = np.linalg.matrix_power(
                x.astype(np.int64) if KIND[dtype] in "iu" else x, ints(a[0])[0]
            )
        elif alias == "trace":
            out = dtype_fn("sum")(dtype) or dtype
            result = np.trace(x.astype(np.int64) if KIND[dtype] in "iub" else x)
        elif alias == "eigh":
            result = np.linalg.eigh(sym)[ints(a[0])[0]]
        else:  # qr
            result = np.linalg.qr(x)[ints(a[0])[0]]
        failed = np.zeros(np.shape(result), bool)
    except np.linalg.LinAlgError:
        shape = np.shape(xs[1]) if alias == "solve" else _linalg_shape(alias, x, a)
        result = np.full(shape, np.nan)
        failed = np.ones(np.shape(result), bool)
    result = np.asarray(result)
    undefined = whole(args, result.shape)
    mark(undefined, "linalg_sign_ambiguous", np.full(result.shape, ambiguous))
    mark(
        undefined, "linalg_singular_or_nonfinite", failed | _ill_conditioned(alias, x, result.shape)
    )
    return it.out(result, out, undefined)


def _linalg_shape(alias: str, x: np.ndarray, a: list[Any]) -> tuple[int, ...]:
    m, n = x.shape[-2:]
    if alias == "det":
        return x.shape[:-2]
    if alias == "eigh" and ints(a[0])[0] == 0:
        return x.shape[:-1]
    if alias == "qr":
        k = min(m, n)
        return x.shape[:-2] + ((m, k) if ints(a[0])[0] == 0 else (k, n))
    return x.shape


def _ill_conditioned(alias: str, x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Whole output when an input matrix is non-finite or far from well conditioned."""
    if alias in ("trace", "matrix_power") or x.ndim < 2:
        return np.zeros(shape, bool)
    bad = ~np.all(np.isfinite(x))
    if not bad:
        with np.errstate(all="ignore"):
            cond = np.linalg.cond(x) if alias not in ("eigh", "qr") else np.array(0.0)
        bad = np.bool_(np.any(~np.isfinite(cond) | (cond > 1e3)))
    return np.full(shape, bad)


def _table() -> dict[str, Callable[[Interp, Tree, list[Val]], Val]]:
    shape = {"reshape", "broadcast_to", "transpose", "moveaxis", "expand_dims", "squeeze",
             "swapaxes", "flip", "roll", "tril", "triu", "concatenate", "stack", "tile", "repeat",
             "pad", "ravel", "getitem"}  # fmt: skip
    table: dict[str, Callable[[Interp, Tree, list[Val]], Val]] = {}
    for alias, rule in rules.TABLE.items():
        if isinstance(rule, rules.Elementwise):
            table[alias] = _elementwise
        elif alias in REDUCE:
            table[alias] = _reduction
    table.update({a: _shape_op for a in shape})
    table.update({a: _scan for a in ("cumsum", "cumprod", "nancumsum", "nancumprod", "cumsum_dtype",
                                     "lax_cummax", "diff", "sort", "argsort", "top_k", "softmax",
                                     "log_softmax")})  # fmt: skip
    table.update({a: _at_update for a in ("at_set", "at_add", "at_multiply", "at_min", "at_max")})
    table.update({a: _contraction for a in ("op_matmul", "matmul", "dot", "outer", "inner",
                                            "vdot", "kron", "tensordot", "einsum")})  # fmt: skip
    table.update({a: _linalg for a in ("det", "inv", "cholesky", "solve", "matrix_power", "eigh",
                                       "qr", "trace")})  # fmt: skip
    table.update({"take": _take, "take_along_axis": _take, "where": _where, "clip": _clip,
                  "astype": _cast, "asarray": _cast, "convert_element_type": _cast,
                  "conv": _conv, "max_pool": _pool, "sum_pool": _pool})  # fmt: skip
    return table


#: The reference implementation of every operation alias (``tests/test_numpy_ref.py``
#: asserts that it covers ``fuzzjax.syntax.operation_aliases()``).
IMPL: dict[str, Callable[[Interp, Tree, list[Val]], Val]] = _table()


# ---- control flow and transforms ---------------------------------------------------------


def _bind(it: Interp, names: dict[str, Val], body: Tree) -> Val:
    saved = {n: it.env.get(n) for n in names}
    it.env.update(names)
    try:
        return it.eval(body)
    finally:
        for n, v in saved.items():
            if v is None:
                it.env.pop(n, None)
            else:
                it.env[n] = v


def _exprs(tree: Tree) -> list[Tree]:
    return [c for c in tree.children if is_expression(c)]  # type: ignore[misc]


def _toks(tree: Tree) -> list[str]:
    return [str(c) for c in tree.children if isinstance(c, Token)]


def _cond(it: Interp, tree: Tree) -> Val:
    pred, *branches = _exprs(tree)
    p = it.eval(pred)
    index = int(np.clip(np.asarray(p.value).astype(np.int64), 0, len(branches) - 1))
    if tree.data == "cond":
        index = 0 if bool(np.asarray(p.value)) else 1
    val = it.eval(branches[index])
    return Val(val.value, val.dtype, {**val.undefined, **whole([p], np.shape(val.value))})


def _fori(it: Interp, tree: Tree) -> Val:
    lo, hi, i, c = _toks(tree)
    body, init = _exprs(tree)
    carry = it.eval(init)
    for step in range(int(lo), int(hi)):
        new = _bind(it, {i: Val(np.array(step, np.int32), "int32"), c: carry}, body)
        carry = Val(np.asarray(new.value).astype(np.asarray(carry.value).dtype), carry.dtype,
                    new.undefined)  # fmt: skip
    return carry


def _while(it: Interp, tree: Tree) -> Val:
    c, _, _, limit, _, _, _, step, start, which = _toks(tree)
    body, init = _exprs(tree)
    value, count = it.eval(init), int(start)
    while count < int(limit):
        pair = Val(np.zeros(0), "tuple", items=(value, Val(np.array(count, np.int32), "int32")))
        new = _bind(it, {c: pair}, body)
        value = Val(np.asarray(new.value).astype(np.asarray(value.value).dtype), value.dtype,
                    new.undefined)  # fmt: skip
        count += int(step)
    return value if int(which) == 0 else Val(np.array(count, np.int32), "int32")


def _scan_loop(it: Interp, tree: Tree) -> Val:
    c, a, which = _toks(tree)
    new_carry, y, init, xs = _exprs(tree)
    carry, seq = it.eval(init), it.eval(xs)
    ys: list[Val] = []
    for t in range(np.shape(seq.value)[0]):
        masks = {k: np.broadcast_to(m, np.shape(seq.value))[t] for k, m in seq.undefined.items()}
        item = Val(np.asarray(seq.value)[t], seq.dtype, masks)
        names = {c: carry, a: item}
        carry, out = _bind(it, names, new_carry), _bind(it, names, y)
        ys.append(out)
    if int(which) == 0:
        return carry
    if not ys:  # a zero-length scan: the shape of one output, stacked zero times
        zero = Val(np.zeros(np.shape(seq.value)[1:], np.asarray(seq.value).dtype), seq.dtype)
        ys, empty = [_bind(it, {c: carry, a: zero}, y)], True
    else:
        empty = False
    stacked = np.stack([np.asarray(v.value) for v in ys])[: 0 if empty else None]
    return Val(stacked, ys[0].dtype, whole(ys, stacked.shape))


def _mapped(it: Interp, tree: Tree) -> Val:
    (a,) = _toks(tree)[:1]
    body, arg = _exprs(tree)
    x = it.eval(arg)
    if tree.data == "checkpoint":
        return _bind(it, {a: x}, body)
    if tree.data == "vmap":
        data = np.asarray(x.value)
        slices = [data[i] for i in range(data.shape[0])] or [np.zeros(data.shape[1:], data.dtype)]
        outs = [_bind(it, {a: Val(s, x.dtype)}, body) for s in slices]
        stacked = np.stack([np.asarray(v.value) for v in outs])[: data.shape[0]]
        return Val(stacked, outs[0].dtype, whole([x, *outs], stacked.shape))
    which = int(_toks(tree)[-1]) if tree.data == "value_and_grad" else 1
    if which == 0:
        return _bind(it, {a: x}, body)
    return _gradient(it, a, body, x)


def _gradient(it: Interp, name: str, body: Tree, x: Val) -> Val:
    """Central differences of the body in float64; kinks and non-finite points are undefined."""
    base = np.asarray(x.value).astype(np.float64)
    grad, bad = np.zeros(base.shape), np.zeros(base.shape, bool)
    exact = Interp(it.source, dict(it.env), False, precise=True)
    f = lambda v: float(np.asarray(_bind(exact, {name: Val(v, x.dtype)}, body).value))  # noqa: E731
    with np.errstate(all="ignore"):
        f0 = f(base)
        for index in np.ndindex(*base.shape) if base.size <= 64 else ():
            h = 1e-6 * max(1.0, float(abs(base[index])))
            up, down = base.copy(), base.copy()
            up[index] += h
            down[index] -= h
            fu, fd = f(up), f(down)
            grad[index] = (fu - fd) / (2 * h)
            left, right = (f0 - fd) / h, (fu - f0) / h
            bad[index] = not (np.isfinite(fu) and np.isfinite(fd) and np.isfinite(f0)) or abs(
                left - right) > 1e-3 * (1 + abs(grad[index]))  # fmt: skip
    if base.size > 64:
        bad[...] = True
    undefined = whole([x], base.shape)
    mark(undefined, "derivative_not_checkable", bad)
    return it.out(grad, x.dtype, undefined)


CONTROL: dict[str, Callable[[Interp, Tree], Val]] = {
    "cond": _cond, "switch": _cond, "fori_loop": _fori, "while_loop": _while,
    "scan": _scan_loop, "vmap": _mapped, "grad": _mapped, "value_and_grad": _mapped,
    "checkpoint": _mapped,
}  # fmt: skip
IMPL.update({alias: (lambda it, tree, args: CONTROL[tree.data](it, tree)) for alias in CONTROL})
