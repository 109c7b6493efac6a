"""The rules of ``transforms_forward``: how one primitive moves a rounding-error bound.

``Bounded`` pairs a value with ``err``, a float32 bound on its distance to the exact value.
Each rule takes the equation and its bounded operands and returns bounded results; see
``fuzzjax.fuzzing.transforms_forward`` for the error model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Rounding of a transcendental function, in units of ``eps * |result|``.
TRANSCENDENTAL_ULPS = 4


def names(text: str) -> frozenset[str]:
    """A set of primitive names written as one space-separated string."""
    return frozenset(text.split())


ARITHMETIC = frozenset({"add", "sub", "mul", "div", "square", "integer_pow", "add_any"})
TRANSCENDENTAL = names(
    "exp exp2 log log1p expm1 tan tanh logistic sin cos asin acos atan atan2 sinh cosh "
    "asinh acosh atanh sqrt rsqrt cbrt erf erfc erf_inv lgamma digamma pow igamma igammac "
    "polygamma"
)
EXACT_ELEMENTWISE = names("neg real imag conj complex copy copy_p stop_gradient")
LIPSCHITZ = frozenset({"max", "min", "clamp"})
DISCRETE = names(
    "floor ceil round sign rem nextafter is_finite eq ne lt le gt ge and or xor not "
    "shift_left shift_right_logical shift_right_arithmetic population_count clz argmax "
    "argmin"
)
STRUCTURAL = names(
    "broadcast_in_dim reshape squeeze expand_dims transpose slice concatenate pad rev iota "
    "split tile reduce_precision"
)
INDEXED = frozenset({"gather", "dynamic_slice", "dynamic_update_slice", "scatter"})
#: Call primitives and the parameter holding their jaxpr.
CALLS = {
    "jit": "jaxpr",
    "closed_call": "call_jaxpr",
    "remat2": "jaxpr",
    "custom_jvp_call": "call_jaxpr",
    "custom_vjp_call": "call_jaxpr",
    "custom_vmap_call": "call",
}
SUMS = names(
    "reduce_sum cumsum reduce_window_sum dot_general conv_general_dilated reduce_max reduce_min "
    "cummax cummin reduce_window_max reduce_window_min"
)
ROUNDINGS = names("floor ceil round")
COMPARISONS = names("eq ne lt le gt ge")


@dataclass
class Bounded:
    """A value and the bound ``err`` (float32, same shape) on its distance to the exact one."""

    val: Any
    err: Any


def zero(x: Any) -> Any:
    import jax.numpy as jnp

    return jnp.zeros(np.shape(x), jnp.float32)


def inexact(x: Any) -> bool:
    import jax.numpy as jnp

    return bool(jnp.issubdtype(jnp.result_type(x), jnp.inexact))


def mag(x: Any) -> Any:
    import jax.numpy as jnp

    return jnp.abs(x).astype(jnp.float32)


def bind(eqn: Any, args: list[Any]) -> list[Any]:
    """Run the equation's primitive (``get_bind_params``: what a call primitive takes)."""
    out = eqn.primitive.bind(*args, **eqn.primitive.get_bind_params(eqn.params))
    return list(out) if eqn.primitive.multiple_results else [out]


def unbounded_where(mask: Any, shape: tuple[int, ...]) -> Any:
    import jax.numpy as jnp

    return jnp.where(jnp.broadcast_to(mask, shape), jnp.inf, 0.0).astype(jnp.float32)


def rounding(out: Any, ins: list[Bounded], units: Any) -> Any:
    """``units * (eps |out| + tiny)``; unbounded for an overflow of finite operands."""
    import jax.numpy as jnp

    if not inexact(out):
        return zero(out)
    info = jnp.finfo(jnp.result_type(out))
    size = mag(out)
    finite_in = jnp.ones(np.shape(out), bool)
    for b in ins:
        if inexact(b.val) and np.shape(b.val) == np.shape(out):
            finite_in &= jnp.isfinite(b.val)
    overflow = jnp.isinf(size) & finite_in
    local = units * (float(info.eps) * jnp.where(jnp.isfinite(size), size, 0.0) + float(info.tiny))
    return jnp.where(overflow, jnp.inf, local).astype(jnp.float32)


def any_err(ins: list[Bounded], shape: tuple[int, ...]) -> Any:
    import jax.numpy as jnp

    total = jnp.zeros(shape, jnp.float32)
    for b in ins:
        if np.shape(b.err) == shape or np.ndim(b.err) == 0:
            total = total + b.err
        else:
            total = total + jnp.max(b.err, initial=0.0)
    return total


# ---- rules --------------------------------------------------------------------------------


def propagated(eqn: Any, ins: list[Bounded]) -> Any:
    """``sum_k |d out / d in_k| e_k`` for an elementwise primitive (first order)."""
    import jax
    import jax.numpy as jnp

    vals = [b.val for b in ins]
    total = None
    for k, b in enumerate(ins):
        if not inexact(b.val):
            continue
        directions = [1.0, 1j] if jnp.iscomplexobj(b.val) else [1.0]
        for d in directions:
            tangents = [
                jnp.full(np.shape(v), d, jnp.result_type(v))
                if i == k
                else (
                    jnp.zeros(np.shape(v), jnp.result_type(v))
                    if inexact(v)
                    else np.zeros(np.shape(v), jax.dtypes.float0)
                )
                for i, v in enumerate(vals)
            ]
            _, dot = jax.jvp(lambda *a: eqn.primitive.bind(*a, **eqn.params), vals, tangents)
            part = jnp.where(b.err > 0, mag(dot) * b.err, 0.0)
            part = jnp.where(jnp.isnan(part), jnp.inf, part)
            total = part if total is None else total + part
    return zero(bind(eqn, vals)[0]) if total is None else total.astype(jnp.float32)


def discrete(eqn: Any, ins: list[Bounded], vals: list[Any]) -> list[Bounded]:
    """Results that can jump: exact where no operand within its bound reaches a jump.

    ``floor``/``ceil``/``round`` jump where the rounded value changes over ``v +- e``; ``sign``
    where ``|v| <= e``; a comparison where ``|a - b| <= e_a + e_b``; anything else (integer
    arithmetic, ``rem``, ``argmax``, casts) as soon as an operand is inexact."""
    import jax.numpy as jnp

    name = eqn.primitive.name
    if name in ROUNDINGS:
        (x,) = ins
        wide = x.val.astype(jnp.float32) if jnp.issubdtype(x.val.dtype, jnp.floating) else x.val
        low, high = (eqn.primitive.bind(wide - s * x.err, **eqn.params) for s in (1, -1))
        jump = ((low != high) & ~(jnp.isnan(low) & jnp.isnan(high))) | jnp.isinf(x.err)
        return [Bounded(vals[0], unbounded_where(jump, np.shape(vals[0])))]
    if name == "sign" and inexact(ins[0].val):
        (x,) = ins
        jump = (x.err > 0) & (mag(x.val) <= x.err)
        return [Bounded(vals[0], unbounded_where(jump, np.shape(vals[0])))]
    if name in COMPARISONS and all(inexact(b.val) for b in ins):
        a, b = ins
        if a is b:  # x != x (a NaN test) compares one value with itself: exact
            return [Bounded(vals[0], zero(vals[0]))]
        gap = (
            jnp.abs(a.val.astype(jnp.float32) - b.val.astype(jnp.float32))
            if not (jnp.iscomplexobj(a.val))
            else jnp.abs(a.val - b.val)
        )
        jump = ((a.err + b.err) > 0) & (gap <= a.err + b.err)
        return [Bounded(vals[0], unbounded_where(jump, np.shape(vals[0])))]
    return [Bounded(v, unbounded_where(any_err(ins, np.shape(v)) > 0, np.shape(v))) for v in vals]


def lipschitz(eqn: Any, ins: list[Bounded], vals: list[Any]) -> list[Bounded]:
    """``max``, ``min``, ``clamp``, ``select_n`` and ``sort`` move values without scaling them:
    the error is the largest operand error (a predicate or sort key that is not exact makes the
    choice itself uncertain)."""
    import jax.numpy as jnp

    name = eqn.primitive.name
    if name == "select_n":
        pred, *cases = ins
        err = jnp.max(jnp.stack([jnp.broadcast_to(c.err, np.shape(vals[0])) for c in cases]), 0)
        return [Bounded(vals[0], jnp.where(pred.err > 0, jnp.inf, err))]
    if name == "sort":
        keys = ins[: eqn.params["num_keys"]]
        worst = jnp.max(jnp.stack([jnp.max(k.err, initial=0.0) for k in keys]))
        return [
            Bounded(
                v,
                jnp.full(
                    np.shape(v),
                    worst if i < len(keys) else jnp.where(worst > 0, jnp.inf, 0.0),
                    jnp.float32,
                ),
            )
            for i, v in enumerate(vals)
        ]
    err = jnp.max(jnp.stack([jnp.broadcast_to(b.err, np.shape(vals[0])) for b in ins]), 0)
    return [Bounded(vals[0], err)]


def converted(b: Bounded, out: Any) -> Bounded:
    import jax.numpy as jnp

    if not inexact(out):  # a float or integer becomes an integer: it may jump
        return Bounded(out, unbounded_where(b.err > 0, np.shape(out)))
    if not inexact(b.val):  # an integer or boolean becomes a float: exact unless large
        return Bounded(out, jnp.where(b.err > 0, jnp.inf, rounding(out, [], 1)))
    return Bounded(out, b.err + rounding(out, [b], 1))


def moved(eqn: Any, ins: list[Bounded], vals: list[Any]) -> list[Bounded]:
    """Moving elements: the same primitive applied to the errors (indices must be exact)."""
    import jax.numpy as jnp

    args = [b.err if inexact(b.val) else b.val for b in ins]
    exact_parts = [jnp.max(b.err, initial=0.0) for b in ins if not inexact(b.val)]
    uncertain = jnp.max(jnp.stack(exact_parts)) > 0 if exact_parts else False
    params = dict(eqn.params)
    if eqn.primitive.name == "pad":  # the padding value is an operand: pad errors with 0
        args[1] = jnp.zeros((), jnp.float32)
    if eqn.primitive.name == "iota":
        return [Bounded(v, zero(v)) for v in vals]
    if "dtype" in params and eqn.primitive.name in ("broadcast_in_dim",):
        params["dtype"] = None
    errs = eqn.primitive.bind(*args, **params)
    errs = list(errs) if eqn.primitive.multiple_results else [errs]
    out = []
    for v, e in zip(vals, errs, strict=True):
        e = jnp.asarray(e, jnp.float32)
        if eqn.primitive.name == "reduce_precision":
            e = e + rounding(v, ins, 1)
        out.append(Bounded(v, jnp.where(uncertain, jnp.inf, e)))
    return out


def summed(eqn: Any, ins: list[Bounded], out: Any) -> Bounded:
    """Sums of ``K`` terms (in any order) and 1-Lipschitz maxima over windows or axes.

    A sum whose terms include a non-finite one is that inf or NaN in every order (bound 0 on
    exact terms); a sum whose finite terms' magnitudes overflow may be anything (NaN in one
    order, inf in another, or an FMA that never rounds the overflowing product)."""
    import jax.numpy as jnp
    from jax import lax

    name, params = eqn.primitive.name, eqn.params
    window = {
        k: params[k]
        for k in (
            "window_dimensions",
            "window_strides",
            "padding",
            "base_dilation",
            "window_dilation",
        )
        if k in params
    }
    if name in ("reduce_max", "reduce_min"):
        return Bounded(out, jnp.max(ins[0].err, axis=params["axes"]))
    if name in ("cummax", "cummin"):
        return Bounded(out, lax.cummax(ins[0].err, axis=params["axis"], reverse=params["reverse"]))
    if name in ("reduce_window_max", "reduce_window_min"):
        return Bounded(out, lax.reduce_window(ins[0].err, 0.0, lax.max, **window))
    linear: Callable[[Any], Any]
    if name == "reduce_sum":
        shape = np.shape(ins[0].val)
        terms = int(np.prod([shape[a] for a in params["axes"]], dtype=np.int64))

        def linear(x: Any) -> Any:
            return jnp.sum(x, axis=params["axes"])
    elif name == "cumsum":
        terms = np.shape(ins[0].val)[params["axis"]]

        def linear(x: Any) -> Any:
            return lax.cumsum(x, axis=params["axis"], reverse=params["reverse"])
    elif name == "reduce_window_sum":
        terms = int(np.prod(params["window_dimensions"], dtype=np.int64))

        def linear(x: Any) -> Any:
            return lax.reduce_window(x, 0.0, lax.add, **window)
    else:
        return _bilinear(eqn, ins, out)
    (x,) = ins
    finite = jnp.isfinite(x.val)
    err = linear(x.err)
    size = linear(jnp.where(finite, mag(x.val), 0.0))
    nonfinite = linear((~finite).astype(jnp.float32))
    return Bounded(out, _sum_bound(out, terms, err, size, nonfinite))


def _bilinear(eqn: Any, ins: list[Bounded], out: Any) -> Bounded:
    """``dot_general`` and ``conv_general_dilated``: ``K`` products summed."""
    import jax.numpy as jnp
    from jax import lax

    params = eqn.params
    a, b = ins
    if eqn.primitive.name == "dot_general":
        dims = params["dimension_numbers"]
        terms = int(np.prod([np.shape(a.val)[d] for d in dims[0][0]], dtype=np.int64))

        def apply(p: Any, q: Any) -> Any:
            return lax.dot_general(p, q, dims)
    else:
        rhs = np.shape(b.val)
        terms = int(np.prod(rhs, dtype=np.int64)) // max(
            1, rhs[params["dimension_numbers"].rhs_spec[0]]
        )
        conv = {
            k: params[k]
            for k in (
                "window_strides",
                "padding",
                "lhs_dilation",
                "rhs_dilation",
                "dimension_numbers",
                "feature_group_count",
                "batch_group_count",
            )
        }

        def apply(p: Any, q: Any) -> Any:
            return lax.conv_general_dilated(p, q, **conv)

    fa, fb = jnp.isfinite(a.val), jnp.isfinite(b.val)
    ma, mb = jnp.where(fa, mag(a.val), 0.0), jnp.where(fb, mag(b.val), 0.0)
    err = apply(a.err, mb) + apply(ma, b.err)
    size = apply(ma, mb)
    ones_a, ones_b = jnp.ones(np.shape(a.val), jnp.float32), jnp.ones(np.shape(b.val), jnp.float32)
    nonfinite = apply((~fa).astype(jnp.float32), ones_b) + apply(ones_a, (~fb).astype(jnp.float32))
    if jnp.iscomplexobj(out):
        terms *= 2
    return Bounded(out, _sum_bound(out, terms, err, size, nonfinite))


def _sum_bound(out: Any, terms: int, err: Any, size: Any, nonfinite: Any) -> Any:
    import jax.numpy as jnp

    if not inexact(out):
        return unbounded_where(err > 0, np.shape(out))
    info = jnp.finfo(jnp.result_type(out))
    bound = err + terms * (float(info.eps) * size + float(info.tiny))
    bound = jnp.where(nonfinite > 0, jnp.where(jnp.isfinite(err), 0.0, jnp.inf), bound)
    return jnp.where(jnp.isinf(size), jnp.inf, bound).astype(jnp.float32)


def scattered(eqn: Any, ins: list[Bounded], out: Any) -> Bounded:
    """``scatter-add`` sums each element with the updates scattered onto it; ``scatter-mul``
    multiplies them (relative errors add). Uncertain indices make everything uncertain."""
    import jax.numpy as jnp
    from jax import lax

    operand, indices, updates = ins
    options = {k: eqn.params[k] for k in ("indices_are_sorted", "unique_indices", "mode")}
    dims = eqn.params["dimension_numbers"]

    def add(x: Any, u: Any) -> Any:
        return lax.scatter_add(x, indices.val, u, dims, **options)

    hits = add(zero(operand.val), jnp.ones(np.shape(updates.val), jnp.float32)) + 1
    if eqn.primitive.name == "scatter-add":
        fo, fu = jnp.isfinite(operand.val), jnp.isfinite(updates.val)
        err = add(operand.err, updates.err)
        size = add(jnp.where(fo, mag(operand.val), 0.0), jnp.where(fu, mag(updates.val), 0.0))
        nonfinite = add((~fo).astype(jnp.float32), (~fu).astype(jnp.float32))
        bound = _sum_bound(out, hits, err, size, nonfinite)
    else:
        rel = add(_relative(operand), _relative(updates)) + hits * _unit(out)[0]
        bound = jnp.where(jnp.isfinite(mag(out)), rel * mag(out) + hits * _unit(out)[1], jnp.inf)
    uncertain = jnp.max(indices.err, initial=0.0) > 0
    return Bounded(out, jnp.where(uncertain, jnp.inf, bound).astype(jnp.float32))


def multiplied(eqn: Any, ins: list[Bounded], out: Any) -> Bounded:
    """``reduce_prod`` and ``cumprod``: relative errors add, one rounding per factor."""
    import jax.numpy as jnp
    from jax import lax

    (x,) = ins
    if eqn.primitive.name == "reduce_prod":
        axes = eqn.params["axes"]
        terms = int(np.prod([np.shape(x.val)[a] for a in axes], dtype=np.int64))
        rel = jnp.sum(_relative(x), axis=axes)
    else:
        terms = np.shape(x.val)[eqn.params["axis"]]
        rel = lax.cumsum(_relative(x), axis=eqn.params["axis"], reverse=eqn.params["reverse"])
    eps, tiny = _unit(out)
    bound = (rel + terms * eps) * mag(out) + terms * tiny
    return Bounded(out, jnp.where(jnp.isfinite(mag(out)), bound, jnp.inf).astype(jnp.float32))


def _relative(b: Bounded) -> Any:
    """``err / |val|``: 0 for an exact value, unbounded for an inexact zero."""
    import jax.numpy as jnp

    m = mag(b.val)
    safe = jnp.where(m > 0, m, 1.0)
    return jnp.where(b.err > 0, jnp.where(m > 0, b.err / safe, jnp.inf), 0.0)


def _unit(x: Any) -> tuple[float, float]:
    import jax.numpy as jnp

    info = jnp.finfo(jnp.result_type(x))
    return float(info.eps), float(info.tiny)
