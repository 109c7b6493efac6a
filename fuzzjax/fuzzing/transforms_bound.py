"""A running rounding-error bound for the linear programs JAX differentiates with.

``jax.linearize`` turns a program into a linear jaxpr (tangent in, tangent out, the primal
values as constants) and ``jax.linear_transpose`` turns that into the cotangent program; these
are the computations ``jax.jvp`` and ``jax.vjp`` perform. ``linear_error_bound`` evaluates such
a jaxpr on pairs ``(m, e)`` instead of values (Wilkinson's running error analysis):

* ``m`` is the magnitude: the jaxpr with every constant and input replaced by its absolute
  value and every subtraction by an addition, i.e. ``|L_k| ... |L_1| |v|`` for the chain of
  linear maps ``L_1 .. L_k``;
* ``e`` bounds the rounding error: it flows through each operation like ``m`` (errors add in
  magnitude), and each operation that rounds adds ``n * eps * m`` (``n`` terms summed: 1 for an
  elementwise operation, the contracted size for ``dot_general``, the reduced size for a sum,
  the number of colliding updates for a scatter-add) plus ``n * tiny`` for results flushed to
  zero, in the dtype of its result. Moving, selecting and negating elements is exact.

So ``|computed - exact| <= e`` elementwise whatever the cancellation inside (``1 - y`` in the
derivative of a saturated softmax, ``x/x`` feeding ``arccos``). Primitives without a rule
(``triangular_solve``, ``custom_linear_solve``, ``while``, ...) raise ``Unsupported``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


class Unsupported(Exception):
    """A linear jaxpr uses a primitive this module has no magnitude rule for."""


@dataclass
class Pair:
    """A tangent-dependent value: its magnitude and its rounding-error bound."""

    mag: Any
    err: Any


Value = Any  # a Pair, or a constant (an array or tracer)
Rule = Callable[[Any, list[Value]], list[Value]]


def linear_error_bound(closed: Any, magnitudes: Sequence[Any]) -> list[Pair]:
    """Evaluate the linear ``ClosedJaxpr`` on exact inputs of these magnitudes (traceable)."""
    outs = _eval(closed.jaxpr, list(closed.consts), [Pair(m, _zeros(m)) for m in magnitudes])
    return [_pair(x) for x in outs]


def _eval(jaxpr: Any, consts: list[Any], args: list[Value]) -> list[Value]:
    from jax.extend.core import Literal

    env: dict[Any, Value] = {}
    for var, value in zip([*jaxpr.constvars, *jaxpr.invars], [*consts, *args], strict=True):
        env[var] = value
    for eqn in jaxpr.eqns:
        ins = [v.val if isinstance(v, Literal) else env[v] for v in eqn.invars]
        if any(isinstance(x, Pair) for x in ins):
            rule = RULES.get(eqn.primitive.name)
            if rule is None:
                raise Unsupported(eqn.primitive.name)
            outs = rule(eqn, ins)
        else:
            outs = _bind(eqn, ins)
        for var, value in zip(eqn.outvars, outs, strict=True):
            env[var] = value
    return [v.val if isinstance(v, Literal) else env[v] for v in jaxpr.outvars]


# ---- helpers ------------------------------------------------------------------------------


def _zeros(x: Any) -> Any:
    import jax.numpy as jnp

    return jnp.zeros_like(x)


def _inexact(x: Any) -> bool:
    import jax.numpy as jnp

    return bool(jnp.issubdtype(jnp.result_type(x), jnp.inexact))


def _abs(x: Any) -> Any:
    """``|x|`` in ``x``'s own dtype (complex: the modulus as the real part)."""
    import jax.numpy as jnp

    if not _inexact(x):
        return x
    return jnp.abs(x).astype(jnp.result_type(x))


def _pair(x: Value) -> Pair:
    return x if isinstance(x, Pair) else Pair(_abs(x), _zeros(x))


def _bind(eqn: Any, args: list[Any]) -> list[Any]:
    """Run the equation's primitive (``get_bind_params``: what a call primitive takes)."""
    out = eqn.primitive.bind(*args, **eqn.primitive.get_bind_params(eqn.params))
    return list(out) if eqn.primitive.multiple_results else [out]


def _unit(dtype: Any) -> tuple[float, float]:
    """(eps, smallest normal) of a result dtype (complex: of its parts); (0, 0) if exact."""
    import jax.numpy as jnp

    if not jnp.issubdtype(dtype, jnp.inexact):
        return 0.0, 0.0
    info = jnp.finfo(dtype)
    return float(info.eps), float(info.smallest_normal)


def _rounded(out: Pair, terms: Any) -> Pair:
    """``out`` after an operation that sums ``terms`` rounded values in its result dtype."""
    import jax.numpy as jnp

    eps, tiny = _unit(jnp.result_type(out.mag))
    if not eps:
        return out
    err = out.err + terms * (eps * out.mag + tiny)
    # Keep the bound's dtype (a float32 count must not widen a bfloat16 bound): the operands of
    # a primitive must share one dtype.
    return Pair(out.mag, err.astype(jnp.result_type(out.err)))


# ---- rules --------------------------------------------------------------------------------


def _structural(keep: bool = False, terms: Callable[[Any, list[Value]], Any] | None = None) -> Rule:
    """Apply the primitive to magnitudes, then to errors. Constant operands: indices and
    predicates as they are; inexact ones as ``|c|`` for magnitudes and 0 for errors, or as
    they are when ``keep`` (sort keys, the operand a max-pool selects with)."""

    def rule(eqn: Any, ins: list[Value]) -> list[Value]:
        def side(pick: Callable[[Pair], Any], const: Callable[[Any], Any]) -> list[Any]:
            return [
                pick(x) if isinstance(x, Pair) else (x if keep or not _inexact(x) else const(x))
                for x in ins
            ]

        mags = _bind(eqn, side(lambda p: p.mag, _abs))
        errs = _bind(eqn, side(lambda p: p.err, _zeros))
        outs = [Pair(m, e) for m, e in zip(mags, errs, strict=True)]
        if terms is None:
            return outs
        n = terms(eqn, ins)
        return [_rounded(p, n) for p in outs]

    return rule


def _additive(eqn: Any, ins: list[Value]) -> list[Value]:
    """``a + b`` and ``a - b``: magnitudes add, errors add, one rounding."""
    a, b = (_pair(x) for x in ins)
    return [_rounded(Pair(a.mag + b.mag, a.err + b.err), 1)]


def _negated(eqn: Any, ins: list[Value]) -> list[Value]:
    return [_pair(ins[0])]


def _multiplicative(terms: Callable[[Any, list[Value]], Any]) -> Rule:
    """Linear in one tangent operand times constants (``mul``, ``div``, ``dot_general``,
    ``conv``): magnitudes of everything, errors of the tangent operand."""

    def rule(eqn: Any, ins: list[Value]) -> list[Value]:
        pairs = [i for i, x in enumerate(ins) if isinstance(x, Pair)]
        if len(pairs) != 1 or (eqn.primitive.name == "div" and pairs != [0]):
            raise Unsupported(f"{eqn.primitive.name} of two tangents")
        (k,) = pairs
        mags = [x.mag if isinstance(x, Pair) else _abs(x) for x in ins]
        errs = [ins[k].err if i == k else m for i, m in enumerate(mags)]
        (mag,) = _bind(eqn, mags)
        (err,) = _bind(eqn, errs)
        return [_rounded(Pair(mag, err), terms(eqn, ins))]

    return rule


def _one(eqn: Any, ins: list[Value]) -> Any:
    import jax.numpy as jnp

    return 2 if jnp.issubdtype(jnp.result_type(_pair(ins[0]).mag), jnp.complexfloating) else 1


def _contracted(eqn: Any, ins: list[Value]) -> Any:
    (lhs_contract, _), _ = eqn.params["dimension_numbers"]
    shape = np.shape(_pair(ins[0]).mag)
    return int(np.prod([shape[d] for d in lhs_contract], dtype=np.int64)) + _one(eqn, ins)


def _kernel(eqn: Any, ins: list[Value]) -> Any:
    rhs = np.shape(_pair(ins[1]).mag)
    out_features = rhs[eqn.params["dimension_numbers"].rhs_spec[0]]
    return int(np.prod(rhs, dtype=np.int64)) // max(1, out_features) + 1


def _reduced(eqn: Any, ins: list[Value]) -> Any:
    shape = np.shape(_pair(ins[0]).mag)
    return int(np.prod([shape[d] for d in eqn.params["axes"]], dtype=np.int64))


def _scanned(eqn: Any, ins: list[Value]) -> Any:
    return np.shape(_pair(ins[0]).mag)[eqn.params["axis"]]


def _window(eqn: Any, ins: list[Value]) -> Any:
    return int(np.prod(eqn.params["window_dimensions"], dtype=np.int64))


def _hits(eqn: Any, ins: list[Value]) -> Any:
    """Per element, how many updates a scatter combines into it, plus one for the operand."""
    import jax.numpy as jnp
    from jax import lax

    operand, indices, updates = ins
    count = lax.scatter_add(
        jnp.zeros(np.shape(_pair(operand).mag), np.float32),
        indices,
        jnp.ones(np.shape(_pair(updates).mag), np.float32),
        eqn.params["dimension_numbers"],
        indices_are_sorted=eqn.params["indices_are_sorted"],
        unique_indices=eqn.params["unique_indices"],
        mode=eqn.params["mode"],
    )
    return count + 1


def _narrowing(eqn: Any, ins: list[Value]) -> Any:
    """A conversion rounds when the result dtype is coarser than the operand's."""
    import jax.numpy as jnp

    before = _unit(jnp.result_type(_pair(ins[0]).mag))[0]
    after = _unit(eqn.params["new_dtype"])[0]
    return 1 if after > before else 0


def _imag(eqn: Any, ins: list[Value]) -> list[Value]:
    import jax.numpy as jnp

    p = _pair(ins[0])
    return [Pair(jnp.real(p.mag), jnp.real(p.err))]


def _complex(eqn: Any, ins: list[Value]) -> list[Value]:
    import jax.numpy as jnp
    from jax import lax

    a, b = (_pair(x) for x in ins)
    zero = jnp.zeros_like(a.mag)
    return [Pair(lax.complex(a.mag + b.mag, zero), lax.complex(a.err + b.err, zero))]


def _inner(jaxpr_of: Callable[[Any], tuple[Any, list[Any]]]) -> Rule:
    """Calls (``jit``, ``remat``, ``closed_call``): evaluate the inner jaxpr."""

    def rule(eqn: Any, ins: list[Value]) -> list[Value]:
        jaxpr, consts = jaxpr_of(eqn.params)
        return _eval(jaxpr, consts, ins)

    return rule


def _cond(eqn: Any, ins: list[Value]) -> list[Value]:
    import jax.numpy as jnp

    index, *operands = ins
    if isinstance(index, Pair):
        raise Unsupported("cond on a tangent")
    branches = [
        [_pair(x) for x in _eval(b.jaxpr, list(b.consts), operands)] for b in eqn.params["branches"]
    ]
    out = branches[0]
    for k, branch in enumerate(branches[1:], 1):
        out = [
            Pair(jnp.where(index == k, b.mag, o.mag), jnp.where(index == k, b.err, o.err))
            for o, b in zip(out, branch, strict=True)
        ]
    return list(out)


def _depends(jaxpr: Any, flags: list[bool]) -> list[bool]:
    """Which outputs of ``jaxpr`` depend on the inputs flagged (constants do not)."""
    from jax.extend.core import Literal

    tangent = {v for v, f in zip(jaxpr.invars, flags, strict=True) if f}
    for eqn in jaxpr.eqns:
        if any(not isinstance(v, Literal) and v in tangent for v in eqn.invars):
            tangent.update(eqn.outvars)
    return [not isinstance(v, Literal) and v in tangent for v in jaxpr.outvars]


def _scan(eqn: Any, ins: list[Value]) -> list[Value]:
    from jax import lax

    body = eqn.params["jaxpr"]
    n_consts, n_carry = eqn.params["num_consts"], eqn.params["num_carry"]
    flags = [isinstance(x, Pair) for x in ins]
    while True:  # a carry is a tangent if a tangent reaches it in some iteration
        out = _depends(body.jaxpr, flags)[:n_carry]
        carry = [a or b for a, b in zip(flags[n_consts : n_consts + n_carry], out, strict=True)]
        if carry == flags[n_consts : n_consts + n_carry]:
            break
        flags[n_consts : n_consts + n_carry] = carry
    ins = [_pair(x) if f else x for x, f in zip(ins, flags, strict=True)]

    def pack(x: Value) -> Any:
        return (x.mag, x.err) if isinstance(x, Pair) else x

    def unpack(x: Any, flag: bool) -> Value:
        return Pair(*x) if flag else x

    carry_flags, x_flags = flags[n_consts : n_consts + n_carry], flags[n_consts + n_carry :]

    def step(carry: Any, x: Any) -> Any:
        args = [
            *ins[:n_consts],
            *[unpack(c, f) for c, f in zip(carry, carry_flags, strict=True)],
            *[unpack(v, f) for v, f in zip(x, x_flags, strict=True)],
        ]
        outs = _eval(body.jaxpr, list(body.consts), args)
        carried = [_pair(o) if f else o for o, f in zip(outs[:n_carry], carry_flags, strict=True)]
        return [pack(c) for c in carried], [pack(_pair(o)) for o in outs[n_carry:]]

    final, ys = lax.scan(
        step,
        [pack(x) for x in ins[n_consts : n_consts + n_carry]],
        [pack(x) for x in ins[n_consts + n_carry :]],
        length=eqn.params["length"],
        reverse=eqn.params["reverse"],
    )
    return [
        *[unpack(c, f) for c, f in zip(final, carry_flags, strict=True)],
        *[Pair(*y) for y in ys],
    ]


def _triangular_solve(eqn: Any, ins: list[Value]) -> list[Value]:
    """``x = op(T)^-1 b`` (or ``b op(T)^-1``) for a constant triangle ``T``: the magnitude is
    ``|T^-1| |b|``; the solve is componentwise backward stable, ``|x^ - x| <= m eps |T^-1| |T|
    |x^|`` (Higham, Accuracy and Stability of Numerical Algorithms, thm 8.5)."""
    import jax.numpy as jnp

    a, b = ins
    if isinstance(a, Pair) or not isinstance(b, Pair):
        raise Unsupported("triangular_solve with a tangent matrix")
    params = eqn.params
    m = np.shape(a)[-1]
    eye = jnp.broadcast_to(jnp.eye(m, dtype=jnp.result_type(a)), np.shape(a))
    inverse = jnp.abs(eqn.primitive.bind(a, eye, **params))
    one = jnp.eye(m, dtype=jnp.result_type(a))
    triangle = jnp.tril(a) if params["lower"] else jnp.triu(a)
    if params["unit_diagonal"]:
        triangle = triangle * (1 - one) + one
    triangle = jnp.abs(triangle)
    if params["transpose_a"]:
        triangle = jnp.swapaxes(triangle, -1, -2)
    eps, tiny = _unit(jnp.result_type(b.mag))
    steps = m * (2 if jnp.iscomplexobj(b.mag) else 1)
    left = params["left_side"]

    def apply(x: Any) -> Any:
        return (inverse @ x if left else x @ inverse).astype(b.mag.dtype)

    mag = apply(b.mag)
    # (T + dT) x^ = b + db with |dT| <= steps eps |T| and |db| <= steps tiny (flushed
    # intermediates): x^ - x = T^-1 (db - dT x^), so both terms go through |T^-1|.
    backward = steps * (eps * (triangle @ mag if left else mag @ triangle) + tiny)
    return [Pair(mag, apply(b.err + backward))]


def _linear_solve(eqn: Any, ins: list[Value]) -> list[Value]:
    """``custom_linear_solve`` computes its ``solve`` jaxpr on the right-hand side."""
    lengths = eqn.params["const_lengths"]
    start = lengths.matvec + lengths.vecmat
    consts, rhs = ins[start : start + lengths.solve], ins[sum(lengths) :]
    if any(isinstance(x, Pair) for x in ins[: sum(lengths)]):
        raise Unsupported("custom_linear_solve with a tangent matrix")
    solve = eqn.params["jaxprs"].solve
    return _eval(solve.jaxpr, list(solve.consts), [*consts, *rhs])


def _names(text: str) -> list[str]:
    return text.split()


RULES: dict[str, Rule] = {
    **{
        name: _structural()
        for name in _names(
            "broadcast_in_dim reshape squeeze expand_dims transpose slice dynamic_slice gather "
            "concatenate pad rev select_n copy copy_p split tile real dynamic_update_slice scatter "
            "stack unstack"
        )
    },
    **{name: _structural(keep=True) for name in ("sort", "select_and_gather_add")},
    "select_and_scatter_add": _structural(keep=True, terms=_window),
    "reduce_sum": _structural(terms=_reduced),
    "cumsum": _structural(terms=_scanned),
    "reduce_window_sum": _structural(terms=_window),
    "scatter-add": _structural(terms=_hits),
    "scatter-mul": _multiplicative(_hits),
    "convert_element_type": _structural(terms=_narrowing),
    "reduce_precision": _structural(terms=lambda eqn, ins: 1),
    "add": _additive,
    "add_any": _additive,
    "sub": _additive,
    "neg": _negated,
    "conj": _negated,
    "mul": _multiplicative(_one),
    "div": _multiplicative(_one),
    "dot_general": _multiplicative(_contracted),
    "conv_general_dilated": _multiplicative(_kernel),
    "imag": _imag,
    "complex": _complex,
    "jit": _inner(lambda p: (p["jaxpr"].jaxpr, list(p["jaxpr"].consts))),
    "closed_call": _inner(lambda p: (p["call_jaxpr"].jaxpr, list(p["call_jaxpr"].consts))),
    "remat2": _inner(lambda p: (p["jaxpr"], [])),
    "cond": _cond,
    "scan": _scan,
    "triangular_solve": _triangular_solve,
    "custom_linear_solve": _linear_solve,
}
