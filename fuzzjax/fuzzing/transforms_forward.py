"""How far two correct compilations of one program may differ: a forward rounding-error bound.

XLA may evaluate a program in different orders (a batched ``dot`` is another kernel, a sum is
split differently), contract ``a*b + c`` into an FMA, and flush subnormals. Two compilations of
the same program (``jit(f)`` per example and ``jit(vmap(f))``) are each within the forward
error of the exact result, so they may differ by twice that. ``forward_error_bounds(fn, sets)``
bounds the error of every output element by running error analysis of ``fn``'s jaxpr: each
value carries ``e``, a bound on its distance to the exact value (rules in
``transforms_forward_rules``), and

* an elementwise operation propagates ``sum_k |d out / d in_k| e_k`` (the partials from
  ``jax.jvp`` of the primitive) and adds its own rounding: ``eps * |out| + tiny`` for
  arithmetic, ``TRANSCENDENTAL_ULPS`` times that for the transcendental functions (their
  accuracy is implementation-defined; JAX measures f32 ``exp`` within 2 ulp);
* a sum of ``K`` terms (``reduce_sum``, ``dot_general``, ``conv``, ``cumsum``, windows) adds
  ``K * (eps * sum|terms| + tiny)`` in whatever order it is summed;
* ``max``, ``min``, ``clamp``, sorting and moving elements are 1-Lipschitz: ``max e``;
* an operation whose result can jump (comparisons, ``floor``, ``round``, ``sign``, ``rem``,
  casts to integers, integer arithmetic, a ``cond`` index) is exact on exact operands and
  unbounded (``inf``) on inexact ones; an overflow (an infinite result of finite operands) is
  unbounded too, so a NaN from ``inf - inf`` after an overflow is not held against anyone;
* a primitive without a rule (linear algebra, custom calls) gives unbounded results.

The bound is first order (products of two errors are dropped): errors are ``eps``-sized.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from fuzzjax.fuzzing.transforms_forward_rules import (
    ARITHMETIC,
    CALLS,
    DISCRETE,
    EXACT_ELEMENTWISE,
    INDEXED,
    LIPSCHITZ,
    STRUCTURAL,
    SUMS,
    TRANSCENDENTAL,
    TRANSCENDENTAL_ULPS,
    Bounded,
    bind,
    converted,
    discrete,
    inexact,
    lipschitz,
    moved,
    multiplied,
    propagated,
    rounding,
    scattered,
    summed,
    zero,
)


def forward_error_bounds(fn: Callable[..., Any], sets: Sequence[Sequence[Any]]) -> list[np.ndarray]:
    """For each input set, the elementwise bound on ``|jit(fn)(*set) - exact|`` (float32;
    ``inf`` where unbounded). One compilation serves all sets (they share their types)."""
    import jax

    closed = jax.make_jaxpr(fn)(*sets[0])

    def one(consts: list[Any], args: list[Any]) -> Any:
        start = [Bounded(a, zero(a)) for a in args]
        (out,) = _eval(closed.jaxpr, [Bounded(c, zero(c)) for c in consts], start)
        return out.err

    def run(consts: list[Any], sets: list[list[Any]]) -> Any:
        return [one(consts, args) for args in sets]

    bounds = jax.jit(run)(list(closed.consts), [list(s) for s in sets])
    return [np.asarray(b, dtype=np.float32) for b in bounds]


def _eval(jaxpr: Any, consts: list[Bounded], args: list[Bounded]) -> list[Bounded]:
    from jax.extend.core import Literal

    env: dict[Any, Bounded] = {}
    for var, value in zip([*jaxpr.constvars, *jaxpr.invars], [*consts, *args], strict=True):
        env[var] = value
    for eqn in jaxpr.eqns:
        ins = [
            Bounded(v.val, zero(v.val)) if isinstance(v, Literal) else env[v] for v in eqn.invars
        ]
        outs = _rule(eqn, ins)
        for var, value in zip(eqn.outvars, outs, strict=True):
            env[var] = value
    return [
        Bounded(v.val, zero(v.val)) if isinstance(v, Literal) else env[v] for v in jaxpr.outvars
    ]


# ---- helpers ------------------------------------------------------------------------------


def _rule(eqn: Any, ins: list[Bounded]) -> list[Bounded]:
    import jax.numpy as jnp

    name = eqn.primitive.name
    vals = bind(eqn, [b.val for b in ins])
    if name in CALLS:
        inner = eqn.params[CALLS[name]]
        jaxpr, consts = (
            (inner.jaxpr, list(inner.consts)) if hasattr(inner, "consts") else (inner, [])
        )
        return _eval(jaxpr, [Bounded(c, zero(c)) for c in consts], ins)
    if name in ("scan", "while", "cond"):
        return _control(eqn, ins, vals)
    if name in DISCRETE or (not inexact(vals[0]) and name != "convert_element_type"):
        return discrete(eqn, ins, vals)
    if name in ARITHMETIC or name in TRANSCENDENTAL or name in EXACT_ELEMENTWISE or name == "abs":
        units = 1 if name in ARITHMETIC else TRANSCENDENTAL_ULPS if name in TRANSCENDENTAL else 0
        if name == "abs" and jnp.iscomplexobj(ins[0].val):
            units = 1
        return [Bounded(vals[0], propagated(eqn, ins) + rounding(vals[0], ins, units))]
    if name in LIPSCHITZ or name == "select_n" or name == "sort":
        return lipschitz(eqn, ins, vals)
    if name == "convert_element_type":
        return [converted(ins[0], vals[0])]
    if name in STRUCTURAL or name in INDEXED:
        return moved(eqn, ins, vals)
    if name in SUMS:
        return [summed(eqn, ins, vals[0])]
    if name in ("scatter-add", "scatter-mul"):
        return [scattered(eqn, ins, vals[0])]
    if name in ("reduce_prod", "cumprod"):
        return [multiplied(eqn, ins, vals[0])]
    return [Bounded(v, jnp.full(np.shape(v), jnp.inf, jnp.float32)) for v in vals]  # no rule


def unsupported(jaxpr: Any) -> set[str]:
    """The primitives in ``jaxpr`` (and the jaxprs inside it) that have no rule."""
    from jax.extend.core import subjaxprs

    known = (
        DISCRETE
        | ARITHMETIC
        | TRANSCENDENTAL
        | EXACT_ELEMENTWISE
        | LIPSCHITZ
        | STRUCTURAL
        | INDEXED
        | SUMS
        | set(CALLS)
        | {
            "abs",
            "select_n",
            "sort",
            "convert_element_type",
            "scatter-add",
            "scatter-mul",
            "reduce_prod",
            "cumprod",
            "scan",
            "while",
            "cond",
        }
    )
    found = {e.primitive.name for e in jaxpr.eqns} - known
    for inner in subjaxprs(jaxpr):
        found |= unsupported(inner)
    return found


def _control(eqn: Any, ins: list[Bounded], vals: list[Any]) -> list[Bounded]:
    """``cond`` with an exact index: the chosen branch's bound; loops: the body's bound run
    alongside. Anything else: unbounded."""
    import jax.numpy as jnp
    from jax import lax

    name, params = eqn.primitive.name, eqn.params
    if name == "cond":
        index, *ops = ins
        branches = [
            _eval(b.jaxpr, [Bounded(c, zero(c)) for c in b.consts], ops) for b in params["branches"]
        ]
        errs = [b.err for b in branches[0]]
        for k, branch in enumerate(branches[1:], 1):
            errs = [jnp.where(index.val == k, b.err, e) for e, b in zip(errs, branch, strict=True)]
        return [
            Bounded(v, jnp.where(index.err > 0, jnp.inf, e))
            for v, e in zip(vals, errs, strict=True)
        ]
    if name == "scan":
        body = params["jaxpr"]
        n_consts, n_carry = params["num_consts"], params["num_carry"]
        consts = ins[:n_consts]

        def step(carry: Any, x: Any) -> Any:
            args = [*consts, *[Bounded(v, e) for v, e in carry], *[Bounded(v, e) for v, e in x]]
            outs = _eval(body.jaxpr, [Bounded(c, zero(c)) for c in body.consts], args)
            return [(o.val, o.err) for o in outs[:n_carry]], [
                (o.val, o.err) for o in outs[n_carry:]
            ]

        init = [(b.val, b.err) for b in ins[n_consts : n_consts + n_carry]]
        xs = [(b.val, b.err) for b in ins[n_consts + n_carry :]]
        final, ys = lax.scan(step, init, xs, length=params["length"], reverse=params["reverse"])
        return [Bounded(v, e) for v, e in [*final, *ys]]
    if name == "while":
        return _while(eqn, ins)
    return [Bounded(v, jnp.full(np.shape(v), jnp.inf, jnp.float32)) for v in vals]


def _while(eqn: Any, ins: list[Bounded]) -> list[Bounded]:
    """A while loop run on values and bounds; a predicate on inexact values makes the trip
    count (and so every result) uncertain."""
    import jax.numpy as jnp
    from jax import lax

    params = eqn.params
    cond, body = params["cond_jaxpr"], params["body_jaxpr"]
    n_cond, n_body = params["cond_nconsts"], params["body_nconsts"]
    cond_consts, body_consts, init = (
        ins[:n_cond],
        ins[n_cond : n_cond + n_body],
        ins[n_cond + n_body :],
    )

    def predicate(carry: Any) -> Any:
        args = [*cond_consts, *[Bounded(v, e) for v, e in carry[0]]]
        (out,) = _eval(cond.jaxpr, [Bounded(c, zero(c)) for c in cond.consts], args)
        return out

    def step(carry: Any) -> Any:
        args = [*body_consts, *[Bounded(v, e) for v, e in carry[0]]]
        outs = _eval(body.jaxpr, [Bounded(c, zero(c)) for c in body.consts], args)
        return [(o.val, o.err) for o in outs], carry[1] | (predicate(carry).err > 0)

    start = ([(b.val, b.err) for b in init], jnp.asarray(False))
    final, uncertain = lax.while_loop(lambda c: predicate(c).val, step, start)
    uncertain = uncertain | (predicate((final, uncertain)).err > 0)
    return [Bounded(v, jnp.where(uncertain, jnp.inf, e)) for v, e in final]
