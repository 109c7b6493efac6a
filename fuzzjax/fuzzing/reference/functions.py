"""Reference meaning of named local functions (loops, branches, ``jax.jit``/``vmap``/``lax.map``
of a function) and of forward/reverse derivatives (``jvp``, ``vjp``, ``jacfwd``, ``jacrev``).

``def`` statements are recorded in ``Interp.functions`` by ``evaluate``; a call binds the
function's parameters and evaluates its return (a tuple display gives a tuple ``Val``).
Derivatives are central differences in float64, like ``grad`` (``control._gradient``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
from lark import Token, Tree

from fuzzjax.fuzzing.reference.values import Val, bind, is_expression, mark, whole
from fuzzjax.fuzzing.reference.values import counter as _counter

if TYPE_CHECKING:
    from fuzzjax.fuzzing.reference.interp import Interp

#: Largest number of elements differentiated numerically (larger: marked not checkable).
MAX_DIFFERENTIATED = 64


def call(it: Interp, name: str, args: Sequence[Val]) -> Val:
    params, body = it.functions[name]
    return bind(it, dict(zip(params, args, strict=True)), body)


def _tokens(tree: Tree[Token], kind: str) -> list[str]:
    return [str(c) for c in tree.children if isinstance(c, Token) and c.type == kind]


def _values(tree: Tree[Token]) -> list[Tree[Token]]:
    """Expression and tuple-display children, in order."""
    return [
        c
        for c in tree.children
        if isinstance(c, Tree) and (is_expression(c) or c.data == "tuple_display")
    ]


def _like(new: Val, old: Val) -> Val:
    """A loop's new carry in the dtype of the old one (tuples item by item)."""
    if new.items is not None and old.items is not None:
        items = tuple(_like(n, o) for n, o in zip(new.items, old.items, strict=True))
        return Val(np.zeros(0), "tuple", items=items)
    return Val(np.asarray(new.value).astype(np.asarray(old.value).dtype), old.dtype, new.undefined)


def _item(val: Val, index: int) -> Val:
    assert val.items is not None
    return val.items[index]


def _fori(it: Interp, tree: Tree[Token]) -> Val:
    lo, hi, *which = _tokens(tree, "INT")
    (name,) = _tokens(tree, "FNAME")
    (init,) = _values(tree)
    carry = it.eval(init)
    for step in range(int(lo), int(hi)):
        carry = _like(call(it, name, [_counter(step), carry]), carry)
    return _item(carry, int(which[0])) if which else carry


def _while(it: Interp, tree: Tree[Token]) -> Val:
    _, limit, which = _tokens(tree, "INT")
    (name,) = _tokens(tree, "FNAME")
    (init,) = _values(tree)
    carry = it.eval(init)
    while int(np.asarray(_item(carry, 1).value)) < int(limit):
        carry = _like(call(it, name, [carry]), carry)
    return _item(carry, int(which))


def _scan(it: Interp, tree: Tree[Token]) -> Val:
    (name,) = _tokens(tree, "FNAME")
    numbers = [int(t) for t in _tokens(tree, "INT")]
    values = _values(tree)
    carry = it.eval(values[0])
    if tree.data == "scan_length":
        length, which = numbers
        probe_x = Val(np.zeros(0), "float32")  # the step's x is None: never read
        xs = [probe_x] * length
    else:
        seq = it.eval(values[1])
        xs = [Val(np.asarray(seq.value)[t], seq.dtype, _row(seq, t)) for t in range(len(seq.value))]
        probe_x = Val(np.zeros(np.shape(seq.value)[1:], np.asarray(seq.value).dtype), seq.dtype)
        which = numbers[-1]
    ys: list[Val] = []
    for x in xs:
        out = call(it, name, [carry, x])
        carry = _like(_item(out, 0), carry)
        ys.append(_item(out, 1))
    if tree.data == "scan_tuple":
        return _item(carry, which)
    if which == 0:
        return carry
    if not ys:  # zero-length: the shape of one output, stacked zero times
        probe = _item(call(it, name, [carry, probe_x]), 1)
        return Val(np.stack([np.asarray(probe.value)])[:0], probe.dtype)
    stacked = np.stack([np.asarray(v.value) for v in ys])
    return Val(stacked, ys[0].dtype, whole(ys, stacked.shape))


def _row(seq: Val, t: int) -> dict[str, np.ndarray]:
    shape = np.shape(seq.value)
    return {k: np.broadcast_to(m, shape)[t] for k, m in seq.undefined.items()}


def _branches(it: Interp, tree: Tree[Token]) -> Val:
    names = _tokens(tree, "FNAME")
    pred, operand = _values(tree)
    p = it.eval(pred)
    if tree.data == "cond_named":
        index = 0 if bool(np.asarray(p.value)) else 1
    else:
        index = int(np.clip(np.asarray(p.value).astype(np.int64), 0, len(names) - 1))
    val = call(it, names[index], [it.eval(operand)])
    return Val(val.value, val.dtype, {**val.undefined, **whole([p], np.shape(val.value))})


def _apply(it: Interp, tree: Tree[Token]) -> Callable[[Val], Val]:
    """The function a ``jit``/``vmap``/``lax.map`` node applies: a lambda or a named one."""
    names = _tokens(tree, "FNAME")
    if names:
        return lambda x: call(it, names[0], [x])
    (param,) = _tokens(tree, "BOUND")
    body = _values(tree)[0]
    return lambda x: bind(it, {param: x}, body)


def _mapped(it: Interp, tree: Tree[Token]) -> Val:
    fn = _apply(it, tree)
    x = it.eval(_values(tree)[-1])
    if tree.data in ("jit", "jit_named"):
        return fn(x)
    data = np.asarray(x.value)
    rows = [Val(data[i], x.dtype, _row(x, i)) for i in range(data.shape[0])]
    outs = [fn(r) for r in rows] or [fn(Val(np.zeros(data.shape[1:], data.dtype), x.dtype))]
    stacked = np.stack([np.asarray(v.value) for v in outs])[: data.shape[0]]
    return Val(stacked, outs[0].dtype, whole([x, *outs], stacked.shape))


def _custom(it: Interp, tree: Tree[Token]) -> Val:
    """``fn0(x)`` of a ``@jax.custom_jvp`` function: its primal (its rule is exact)."""
    (name,) = _tokens(tree, "FNAME")
    return call(it, name, [it.eval(_values(tree)[0])])


def jacobian(it: Interp, name: str, body: Tree[Token], x: Val) -> tuple[np.ndarray, np.ndarray]:
    """d body / d x by central differences in float64 (shape: output + input), and where it
    cannot be checked (kinks, non-finite points, too many elements, float64 arguments)."""
    base = np.asarray(x.value).astype(np.float64)
    exact = type(it)(it.source, dict(it.env), False, precise=True)
    exact.functions = it.functions

    def f(v: np.ndarray) -> np.ndarray:
        return np.asarray(bind(exact, {name: Val(v, x.dtype)}, body).value, dtype=np.float64)

    with np.errstate(all="ignore"):
        f0 = f(base)
        jac = np.zeros(f0.shape + base.shape)
        bad = np.ones(jac.shape, bool)
        if base.size <= MAX_DIFFERENTIATED and f0.size <= MAX_DIFFERENTIATED:
            for index in np.ndindex(*base.shape):
                h = 1e-6 * max(1.0, float(abs(base[index])))
                up, down = base.copy(), base.copy()
                up[index] += h
                down[index] -= h
                fu, fd = f(up), f(down)
                column = (fu - fd) / (2 * h)
                left, right = (f0 - fd) / h, (fu - f0) / h
                finite = np.isfinite(fu) & np.isfinite(fd) & np.isfinite(f0)
                where = (Ellipsis, *index)
                jac[where] = column
                bad[where] = ~finite | (np.abs(left - right) > 1e-3 * (1 + np.abs(column)))
    if x.dtype in ("float64", "complex128"):
        # x64 programs: central differences in float64 are accurate to about 1e-10 relative
        # (round-off eps/h with h = 1e-6), a million float64 ulps: they cannot check a float64
        # derivative. JAX's own paths and the transformation oracles still do.
        bad[...] = True
    return jac, bad


def _derivative(it: Interp, tree: Tree[Token]) -> Val:
    (name,) = _tokens(tree, "BOUND")
    body, x_node, *rest = _values(tree)
    x = it.eval(x_node)
    if tree.data == "jvp" and int(_tokens(tree, "INT")[0]) == 0:
        return bind(it, {name: x}, body)
    jac, bad = jacobian(it, name, body, x)
    x_axes = np.ndim(x.value)
    out_axes = jac.ndim - x_axes
    if tree.data in ("jacfwd", "jacrev"):
        result, unsure, dtype = jac, bad, x.dtype
    elif tree.data == "jvp":
        t = it.eval(rest[0])
        tangent = np.asarray(t.value).astype(np.float64)
        result = np.tensordot(jac, tangent, axes=x_axes) if x_axes else jac * tangent
        # A zero partial meeting an inf/NaN tangent: 0 if JAX's rules never form the product
        # (a body free of its argument), NaN if they do; the reference cannot tell which.
        bad = bad | ((jac == 0) & ~np.isfinite(tangent))
        inner = int(np.prod(jac.shape[out_axes:], dtype=np.int64))  # -1 fails on size 0
        unsure = np.any(bad.reshape(jac.shape[:out_axes] + (inner,)), axis=-1) if x_axes else bad
        dtype, x = x.dtype, Val(x.value, x.dtype, {**x.undefined, **t.undefined})
    else:  # vjp: the cotangent pulled back to x
        ct = it.eval(rest[0])
        cotangent = np.asarray(ct.value).astype(np.float64)
        result = np.tensordot(cotangent, jac, axes=out_axes)
        nonfinite = ~np.isfinite(cotangent).reshape(cotangent.shape + (1,) * x_axes)
        bad = bad | ((jac == 0) & nonfinite)  # as for jvp: 0 * inf is 0 or NaN
        outer = int(np.prod(jac.shape[:out_axes], dtype=np.int64))  # -1 fails on size 0
        flat = bad.reshape((outer,) + jac.shape[out_axes:])
        unsure = np.any(flat, axis=0)
        dtype, x = x.dtype, Val(x.value, x.dtype, {**x.undefined, **ct.undefined})
    undefined = whole([x], np.shape(result))
    mark(undefined, "derivative_not_checkable", unsure)
    return it.out(result, dtype, undefined)


#: Named local functions, nested jit and maps, derivatives.
FUNCTIONS: dict[str, Callable[[Interp, Tree[Token]], Val]] = {
    **dict.fromkeys(("fori_named", "fori_tuple"), _fori),
    "while_named": _while,
    **dict.fromkeys(("scan_named", "scan_tuple", "scan_length"), _scan),
    **dict.fromkeys(("cond_named", "switch_named"), _branches),
    **dict.fromkeys(("jit", "jit_named", "vmap_named", "lax_map", "lax_map_named"), _mapped),
    **dict.fromkeys(("jvp", "vjp", "jacfwd", "jacrev"), _derivative),
    "custom_call": _custom,
}
