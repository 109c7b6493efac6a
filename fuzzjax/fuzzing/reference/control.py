"""Reference meaning of control flow and transforms (cond, loops, scan, vmap, grad)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from lark import Token, Tree

from fuzzjax.fuzzing.reference.functions import FUNCTIONS, jacobian
from fuzzjax.fuzzing.reference.lowlevel import CONTROL as LOWLEVEL_CONTROL
from fuzzjax.fuzzing.reference.trees import TREES
from fuzzjax.fuzzing.reference.values import Val, is_expression, mark, whole
from fuzzjax.fuzzing.reference.values import bind as _bind
from fuzzjax.fuzzing.reference.values import counter as _counter

if TYPE_CHECKING:
    from fuzzjax.fuzzing.reference.interp import Interp


# ---- control flow and transforms ---------------------------------------------------------


def _exprs(tree: Tree[Token]) -> list[Tree[Token]]:
    return [c for c in tree.children if is_expression(c)]


def _toks(tree: Tree[Token]) -> list[str]:
    return [str(c) for c in tree.children if isinstance(c, Token)]


def _cond(it: Interp, tree: Tree[Token]) -> Val:
    pred, *branches = _exprs(tree)
    p = it.eval(pred)
    index = int(np.clip(np.asarray(p.value).astype(np.int64), 0, len(branches) - 1))
    if tree.data == "cond":
        index = 0 if bool(np.asarray(p.value)) else 1
    val = it.eval(branches[index])
    return Val(val.value, val.dtype, {**val.undefined, **whole([p], np.shape(val.value))})


def _fori(it: Interp, tree: Tree[Token]) -> Val:
    lo, hi, i, c = _toks(tree)
    body, init = _exprs(tree)
    carry = it.eval(init)
    for step in range(int(lo), int(hi)):
        new = _bind(it, {i: _counter(step), c: carry}, body)
        carry = Val(np.asarray(new.value).astype(np.asarray(carry.value).dtype), carry.dtype,
                    new.undefined)  # fmt: skip
    return carry


def _while(it: Interp, tree: Tree[Token]) -> Val:
    c, _, _, limit, _, _, _, step, start, which = _toks(tree)
    body, init = _exprs(tree)
    value, count = it.eval(init), int(start)
    while count < int(limit):
        pair = Val(np.zeros(0), "tuple", items=(value, _counter(count)))
        new = _bind(it, {c: pair}, body)
        value = Val(np.asarray(new.value).astype(np.asarray(value.value).dtype), value.dtype,
                    new.undefined)  # fmt: skip
        count += int(step)
    return value if int(which) == 0 else _counter(count)


def _scan_loop(it: Interp, tree: Tree[Token]) -> Val:
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


def _mapped(it: Interp, tree: Tree[Token]) -> Val:
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


def _gradient(it: Interp, name: str, body: Tree[Token], x: Val) -> Val:
    """Central differences of the body in float64; kinks and non-finite points are undefined."""
    grad, bad = jacobian(it, name, body, x)
    undefined = whole([x], grad.shape)
    mark(undefined, "derivative_not_checkable", bad)
    return it.out(grad, x.dtype, undefined)


CONTROL: dict[str, Callable[[Interp, Tree[Token]], Val]] = {
    "cond": _cond, "switch": _cond, "fori_loop": _fori, "while_loop": _while,
    "scan": _scan_loop, "vmap": _mapped, "grad": _mapped, "value_and_grad": _mapped,
    "checkpoint": _mapped,
}  # fmt: skip
CONTROL.update(TREES)
CONTROL.update(FUNCTIONS)
CONTROL.update(LOWLEVEL_CONTROL)
