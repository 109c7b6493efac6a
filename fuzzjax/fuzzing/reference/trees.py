"""Reference meaning of pytree functions and of the trace-time conditional ``a if p else b``.

A tree evaluates to nested Python ``dict`` / ``list`` / ``tuple`` of ``Val``; JAX flattens
dicts in sorted key order, lists and tuples in order, and so does ``flatten`` here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from lark import Token, Tree

from fuzzjax.dtypes import KIND
from fuzzjax.fuzzing.reference.creation import cast, dtype_value
from fuzzjax.fuzzing.reference.values import Val, bind, concrete, is_expression
from fuzzjax.rules.special import DTYPE_CLASSES

if TYPE_CHECKING:
    from fuzzjax.fuzzing.reference.interp import Interp


def _is_tree(node: Tree[Token] | Token) -> bool:
    return isinstance(node, Tree) and node.data in ("tree_dict", "tree_list", "tree_tuple")


def evaluate_tree(it: Interp, node: Tree[Token]) -> Any:
    if node.data == "tree_dict":
        entries = [c for c in node.children if isinstance(c, Tree)]
        return {str(e.children[0]).strip('"'): evaluate_tree(it, e.children[1]) for e in entries}  # type: ignore[arg-type]
    if node.data == "tree_list":
        return [evaluate_tree(it, c) for c in node.children if isinstance(c, Tree)]
    if node.data == "tree_tuple":
        return tuple(evaluate_tree(it, c) for c in node.children if isinstance(c, Tree))
    return it.eval(node)


def flatten(tree: Any) -> list[Val]:
    if isinstance(tree, dict):
        return [leaf for key in sorted(tree) for leaf in flatten(tree[key])]
    if isinstance(tree, (list, tuple)):
        return [leaf for sub in tree for leaf in flatten(sub)]
    return [tree]


def _select(tree: Any, token: Token) -> Any:
    key = str(token)
    return tree[key.strip('"')] if key.startswith('"') else tree[int(key)]


def _trees(tree: Tree[Token]) -> list[Tree[Token]]:
    return [c for c in tree.children if isinstance(c, Tree) and (_is_tree(c) or is_expression(c))]


def _tokens(tree: Tree[Token], kind: str) -> list[Token]:
    return [c for c in tree.children if isinstance(c, Token) and c.type == kind]


def _map(it: Interp, tree: Tree[Token]) -> Val:
    names = [str(t) for t in _tokens(tree, "BOUND")]
    body, *trees = _trees(tree)
    selector = tree.children[-1]
    assert isinstance(selector, Token)
    values = [_select(evaluate_tree(it, t), selector) for t in trees]
    return bind(it, dict(zip(names, values, strict=True)), body)


def _leaves(it: Interp, tree: Tree[Token]) -> Val:
    (node,) = _trees(tree)
    index = int(str(tree.children[-1]))
    leaf: Val = flatten(evaluate_tree(it, node))[index]
    return leaf


def _unflatten(it: Interp, tree: Tree[Token]) -> Val:
    structure, *new = _trees(tree)
    selector = tree.children[-1]
    assert isinstance(selector, Token)
    shape = evaluate_tree(it, structure)
    leaves = iter(it.eval(n) for n in new)
    leaf: Val = _select(_rebuild(shape, leaves), selector)
    return leaf


def _rebuild(shape: Any, leaves: Any) -> Any:
    if isinstance(shape, dict):
        rebuilt = {key: _rebuild(shape[key], leaves) for key in sorted(shape)}
        return rebuilt
    if isinstance(shape, (list, tuple)):
        return type(shape)(_rebuild(s, leaves) for s in shape)
    return next(leaves)


def _ravel(it: Interp, tree: Tree[Token]) -> Val:
    (node,) = _trees(tree)
    leaves = flatten(evaluate_tree(it, node))
    dtype = concrete(leaves)[0] if len(leaves) == 1 else _promoted(leaves)
    parts = [cast(it, leaf, dtype) for leaf in leaves]
    value = np.concatenate([np.ravel(p.value) for p in parts])
    undefined = {}
    for tag in {t for p in parts for t in p.undefined}:
        undefined[tag] = np.concatenate(
            [
                np.ravel(np.broadcast_to(p.undefined.get(tag, False), np.shape(p.value)))
                for p in parts
            ]
        )
    return Val(value, dtype, undefined)


def _promoted(leaves: list[Val]) -> str:
    from fuzzjax.fuzzing.reference.values import promote_all

    return promote_all(*concrete(leaves))


def _reduce(it: Interp, tree: Tree[Token]) -> Val:
    a, b = (str(t) for t in _tokens(tree, "BOUND"))
    body, node = _trees(tree)
    leaves = flatten(evaluate_tree(it, node))
    acc = leaves[0]
    for leaf in leaves[1:]:
        acc = bind(it, {a: acc, b: leaf}, body)
    return acc


def _static_if(it: Interp, tree: Tree[Token]) -> Val:
    then, pred, other = tree.children
    assert isinstance(pred, Tree)
    if pred.data == "static_iscomplexobj":
        holds = KIND[it.eval(pred.children[0]).dtype] == "c"
    else:
        dtype = dtype_value(it, pred.children[0])
        holds = KIND[dtype] in DTYPE_CLASSES[str(pred.children[1])]
    return it.eval(then if holds else other)


#: Pytree functions and the trace-time conditional (they evaluate their own children).
TREES: dict[str, Callable[[Interp, Tree[Token]], Val]] = {
    "tree_map": _map,
    "tree_util_map": _map,
    "tree_leaves": _leaves,
    "tree_util_leaves": _leaves,
    "tree_flatten": _leaves,
    "tree_util_flatten": _leaves,
    "tree_unflatten": _unflatten,
    "tree_util_unflatten": _unflatten,
    "ravel_pytree": _ravel,
    "tree_reduce": _reduce,
    "static_if": _static_if,
}
