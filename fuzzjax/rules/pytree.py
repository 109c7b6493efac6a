"""Typing rules of pytree functions over dict, list and tuple displays of arrays.

``jax.tree.map(lambda a0, a1: <body>, {"w": e0, "b": e1}, {"w": e2, "b": e3})["w"]``: every
leaf of one tree has one type, so the body is typed once; one leaf of the result is selected.
``jax.tree.leaves(T)[k]``, ``jax.tree.flatten(T)[0][k]`` select the k-th leaf in JAX's
flattening order (dict keys sorted), ``jax.tree.unflatten(jax.tree.structure(T), [..])[key]``
rebuilds a tree, ``jax.flatten_util.ravel_pytree(T)[0]`` concatenates the raveled leaves in
the promoted dtype, ``jax.tree.reduce`` folds the leaves with a body.

A tree is described in ``attrs["tree"]`` as nested tuples: ``("dict", ((key, sub), ...))``,
``("list", (sub, ...))``, ``("tuple", (sub, ...))`` or ``("leaf", i)``, where ``i`` indexes
the rule's leaf arguments in written order (``flat_order``: in JAX's flattening order);
``tree_text`` renders it.
"""

from __future__ import annotations

from typing import Any

from fuzzjax.choices import Chooser
from fuzzjax.dtypes import ArrayType, dtype_set
from fuzzjax.rules import promotion as dr
from fuzzjax.rules.base import Arg, Body, Name, Plan, Rule
from fuzzjax.rules.shapes import Limits, factor_shape

#: Dict keys as optimizer and model code writes them.
KEYS = ("w", "b", "kernel", "bias", "scale", "mu", "sigma", "params", "state", "count")

Tree = tuple[Any, ...]


def draw_tree(ch: Chooser, leaves: int, nested: bool) -> Tree:
    """A tree with ``leaves`` leaves, numbered in the order they are written (dict entries in
    any order; ``flat_order`` gives JAX's flattening order, dict keys sorted)."""
    kind = ch.choice(("dict", "dict", "list", "tuple"))
    sizes = [1] * leaves
    if nested and leaves >= 2 and ch.chance(40):
        groups = ch.integer(1, leaves - 1)
        sizes = [1] * (groups - 1) + [leaves - groups + 1]
    subs: list[Any] = []
    first = 0
    keys = _draw_keys(ch, len(sizes)) if kind == "dict" else []
    for index, size in enumerate(sizes):
        sub = _subtree(ch, first, size)
        subs.append((keys[index], sub) if kind == "dict" else sub)
        first += size
    return (kind, tuple(subs))


def flat_order(tree: Tree) -> list[int]:
    """Leaf numbers in JAX's flattening order: dict entries by sorted key, others in order."""
    kind, content = tree
    if kind == "leaf":
        return [content]
    if kind == "dict":
        return [i for _, sub in sorted(content) for i in flat_order(sub)]
    return [i for sub in content for i in flat_order(sub)]


def _subtree(ch: Chooser, first: int, size: int) -> Tree:
    if size == 1:
        return ("leaf", first)
    return (ch.choice(("list", "tuple")), tuple(("leaf", first + i) for i in range(size)))


def _draw_keys(ch: Chooser, n: int) -> list[str]:
    pool = list(KEYS)
    return [pool.pop(ch.integer(0, len(pool) - 1)) for _ in range(n)]


def tree_text(tree: Tree, leaves: list[str]) -> str:
    kind, content = tree
    if kind == "leaf":
        return leaves[content]
    if kind == "dict":
        return "{" + ", ".join(f'"{k}": {tree_text(s, leaves)}' for k, s in content) + "}"
    inner = ", ".join(tree_text(s, leaves) for s in content)
    if kind == "list":
        return f"[{inner}]"
    return f"({inner},)" if len(content) == 1 else f"({inner})"


def top_selector(tree: Tree, ch: Chooser) -> tuple[str, int]:
    """A top-level key or index of a flat tree and the number of the leaf it selects."""
    kind, content = tree
    index = ch.integer(0, len(content) - 1)
    if kind == "dict":
        key, sub = content[index]
        return f'"{key}"', sub[1]
    return str(index), content[index][1]


class TreeRule(Rule):
    family = "pytree"

    def __init__(self, alias: str) -> None:
        self.alias = alias

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return True


class TreeMap(TreeRule):
    """``jax.tree.map`` / ``jax.tree_util.tree_map`` of a lambda over one or two flat trees."""

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        trees, leaves = ch.integer(1, 2), ch.integer(1, 3)
        tree = draw_tree(ch, leaves, nested=False)
        selector, _ = top_selector(tree, ch)
        ins = [ArrayType(ch.choice(dtype_set(limits.x64)), out.shape) for _ in range(trees)]
        if ch.chance(50):
            ins[0] = out
        body = Body(out, tuple(("a", t, "") for t in ins))
        args: list[Arg] = [body]
        for t in ins:
            args += [t] * leaves
        return Plan(args, {"tree": tree, "trees": trees, "leaves": leaves, "select": selector})

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        names = ", ".join(attrs["lambda_params"][0])
        n = attrs["leaves"]
        trees = [
            tree_text(attrs["tree"], args[1 + i * n : 1 + (i + 1) * n])
            for i in range(attrs["trees"])
        ]
        return f"lambda {names}: {args[0]}, {', '.join(trees)}"

    def suffix(self, attrs: dict[str, Any]) -> str:
        return f"[{attrs['select']}]"


class TreeLeaves(TreeRule):
    """``jax.tree.leaves(T)[k]`` and ``jax.tree.flatten(T)[0][k]`` of a (nested) tree."""

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        n = ch.integer(1, 4)
        tree = draw_tree(ch, n, nested=True)
        chosen = ch.integer(0, n - 1)  # in flattening order
        args: list[Arg] = [_other_type(ch, out, limits) for _ in range(n)]
        args[flat_order(tree)[chosen]] = out
        index = chosen - n if ch.chance(25) else chosen
        return Plan(args, {"tree": tree, "index": index})

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        return tree_text(attrs["tree"], args)

    def suffix(self, attrs: dict[str, Any]) -> str:
        first = "[0]" if self.alias in ("tree_flatten", "tree_util_flatten") else ""
        return f"{first}[{attrs['index']}]"


class TreeUnflatten(TreeRule):
    """``jax.tree.unflatten(jax.tree.structure(T), [e0, ...])[key]``: T's leaves are names
    (only its structure is read), the new leaves are expressions."""

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        n = ch.integer(1, 3)
        tree = draw_tree(ch, n, nested=False)
        selector, number = top_selector(tree, ch)
        new: list[Arg] = [_other_type(ch, out, limits) for _ in range(n)]  # flattening order
        new[flat_order(tree).index(number)] = out
        names: list[Arg] = [Name(_other_type(ch, out, limits)) for _ in range(n)]
        return Plan([*new, *names], {"tree": tree, "leaves": n, "select": selector})

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        n = attrs["leaves"]
        structure = (
            "jax.tree.structure"
            if self.alias == "tree_unflatten"
            else ("jax.tree_util.tree_structure")
        )
        return f"{structure}({tree_text(attrs['tree'], args[n:])}), [{', '.join(args[:n])}]"

    def suffix(self, attrs: dict[str, Any]) -> str:
        return f"[{attrs['select']}]"


class RavelPytree(TreeRule):
    """``jax.flatten_util.ravel_pytree(T)[0]``: raveled leaves, concatenated, promoted."""

    def can_produce(self, out: ArrayType, limits: Limits) -> bool:
        return out.rank == 1

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        total = out.shape[0]
        n = ch.integer(1, min(3, max(1, total)))
        cuts = sorted(ch.integer(0, total) for _ in range(n - 1))
        sizes = [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]
        dtypes = [out.dtype] * n
        rows = dr.signatures(dr.any_promoted, 2, limits.x64)[out.dtype]
        if n >= 2 and ch.chance(30):
            dtypes[0], dtypes[1] = ch.choice(rows)
        tree = draw_tree(ch, n, nested=True)
        args: list[Arg] = [out] * n
        for number, d, size in zip(flat_order(tree), dtypes, sizes, strict=True):
            args[number] = ArrayType(d, factor_shape(ch, size, limits) if size else (0,))
        return Plan(args, {"tree": tree})

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        return tree_text(attrs["tree"], args)

    def suffix(self, attrs: dict[str, Any]) -> str:
        return "[0]"


class TreeReduce(TreeRule):
    """``jax.tree.reduce(lambda a0, a1: <body>, T)`` over two or three leaves of one type."""

    def plan(self, ch: Chooser, out: ArrayType, limits: Limits) -> Plan:
        n = ch.integer(2, 3)
        body = Body(out, (("a", out, ""), ("a", out, "")))
        return Plan([body, *[out] * n], {"tree": draw_tree(ch, n, nested=True)})

    def call_args(self, args: list[str], attrs: dict[str, Any]) -> str:
        a, b = attrs["lambda_params"][0]
        return f"lambda {a}, {b}: {args[0]}, {tree_text(attrs['tree'], args[1:])}"


def _other_type(ch: Chooser, out: ArrayType, limits: Limits) -> ArrayType:
    """A leaf type beside the selected one: often the same, else a small drawn one."""
    if ch.chance(50):
        return out
    rank = ch.integer(0, 2)
    return ArrayType(ch.choice(dtype_set(limits.x64)), tuple(ch.integer(1, 4) for _ in range(rank)))


def pytree_rules() -> list[Rule]:
    rules: list[Rule] = [TreeMap("tree_map"), TreeMap("tree_util_map")]
    rules += [TreeLeaves(a) for a in ("tree_leaves", "tree_util_leaves", "tree_flatten")]
    rules += [TreeLeaves("tree_util_flatten"), TreeUnflatten("tree_unflatten")]
    rules += [TreeUnflatten("tree_util_unflatten"), RavelPytree("ravel_pytree")]
    rules.append(TreeReduce("tree_reduce"))
    return rules
