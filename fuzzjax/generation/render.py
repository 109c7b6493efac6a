"""Expression trees and their rendering to Python source text.

Callee names and operator symbols come from the grammar (``syntax.alternatives()``); operator
precedence comes from the grammar rule each operator alternative belongs to. Parentheses are
added only where Python (and the grammar) need them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from fuzzjax.dtypes import DTYPE_SPELLING, ArrayType
from fuzzjax.rules.table import TABLE
from fuzzjax.syntax import alternatives, parser

#: Precedence level of each grammar layer (higher binds tighter); calls and atoms are 9;
#: ``a if p else b`` (layer ``expr``) is 0.
_LAYER_LEVEL = {
    "expr": 0,
    "compare": 1,
    "bitor": 2,
    "bitxor": 3,
    "bitand": 4,
    "arith": 5,
    "term": 6,
    "factor": 7,
    "power": 8,
}
ATOM_LEVEL = 9


@dataclass
class Node:
    """One expression: an operation (grammar alias) applied to children, or a leaf."""

    alias: str
    type: ArrayType | None
    children: list[Node] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)


@cache
def _origins() -> dict[str, str]:
    return {r.alias: r.origin.name for r in parser().rules if r.alias}


def level_of(alias: str) -> int:
    return _LAYER_LEVEL.get(_origins().get(alias, ""), ATOM_LEVEL)


def render(node: Node) -> str:
    """Python source text of an expression tree."""
    return _render(node)[0]


def bound_text(name: str, read: str | tuple[str, str]) -> str:
    """How a lambda body reads parameter ``name``: ``c0``, ``c0[0]``, or a loop counter.

    A counter is ``(suffix, dtype)``: JAX passes it weakly typed under ``jit`` and as a Python
    int under ``disable_jit()``, so it is read through ``jnp.asarray(c0[1], dtype=D)``, which
    works for both and gives it a concrete dtype.
    """
    if isinstance(read, str):
        return name + read
    suffix, dtype = read
    return f"jnp.asarray({name}{suffix}, dtype={DTYPE_SPELLING[dtype]})"


def render_statement(name: str, node: Node) -> list[str]:
    """Source lines of one statement of ``f``: ``v0 = ...`` or a named local function."""
    if node.alias == "fundef":
        params = ", ".join(node.attrs["params"])
        return [f"    def {name}({params}):", f"        return {render(node.children[0])}"]
    if node.alias == "custom_fundef":
        (arg,) = node.attrs["params"]
        rule_params = ", ".join(node.attrs["rule_params"])
        return [
            "    @jax.custom_jvp",
            f"    def {name}({arg}):",
            f"        return {node.attrs['primal']}",
            f"    {name}.defjvps(lambda {rule_params}: {node.attrs['rule']})",
        ]
    return [f"    {name} = {render(node)}"]


def _render(node: Node) -> tuple[str, int]:
    if node.alias in ("param", "local", "fname"):
        return node.attrs["name"], ATOM_LEVEL
    if node.alias == "tuple_display":
        return "(" + ", ".join(render(c) for c in node.children) + ")", ATOM_LEVEL
    if node.alias == "bound":
        return bound_text(node.attrs["name"], node.attrs["read"]), ATOM_LEVEL
    if node.alias == "literal":
        text = node.attrs["text"]
        return text, (_LAYER_LEVEL["factor"] if text.startswith("-") else ATOM_LEVEL)
    syntax = alternatives()[node.alias]
    level = level_of(node.alias)
    if node.alias == "static_if":  # a if <predicate> else b: Python's lowest precedence
        rule = TABLE[node.alias]
        names = iter([render(c) for c in node.children[2:]])
        predicate = rule.predicate_text(node.attrs, names)  # type: ignore[attr-defined]
        then, other = _wrap(node.children[0], 1), _wrap(node.children[1], 0)
        return f"{then} if {predicate} else {other}", 0
    if level == ATOM_LEVEL:
        rule = TABLE[node.alias]
        callee = rule.prefix_callee(node.attrs)
        if callee is not None:
            args = rule.call_args([render(c) for c in node.children], node.attrs)
            return f"{callee}({args}){rule.suffix(node.attrs)}", ATOM_LEVEL
        if syntax.tokens[0] is None:  # postfix on a primary: x.astype(..), x[..], x.at[..].set(..)
            receiver = _wrap(node.children[0], ATOM_LEVEL)
            rest = [""] + [render(c) for c in node.children[1:]]
            return receiver + rule.method_text(syntax, rest, node.attrs), ATOM_LEVEL
        args = rule.call_args([render(c) for c in node.children], node.attrs)
        return f"{syntax.callee}({args}){rule.suffix(node.attrs)}", ATOM_LEVEL
    if len(node.children) == 1:  # prefix operator
        operand = _wrap(node.children[0], _LAYER_LEVEL["factor"])
        if operand[0].isdigit() or operand[0] == ".":
            operand = f"({operand})"  # "-3.0 ** x" would lex as the literal -3.0
        return f"{syntax.callee}{operand}", level
    left_need, right_need = _operand_levels(level)
    left = _wrap(node.children[0], left_need)
    right = _wrap(node.children[1], right_need)
    return f"{left} {syntax.symbol} {right}", level


def _operand_levels(level: int) -> tuple[int, int]:
    if level == _LAYER_LEVEL["power"]:  # primary ** factor, right-associative
        return ATOM_LEVEL, _LAYER_LEVEL["factor"]
    if level == _LAYER_LEVEL["compare"]:  # comparisons do not chain in the grammar
        return level + 1, level + 1
    return level, level + 1  # left-associative


def _wrap(node: Node, need: int) -> str:
    text, level = _render(node)
    return text if level >= need else f"({text})"
