"""The Lark grammar: loading, parsing program text, measuring depth, and alias syntax.

``grammar/jnp.lark`` is the single source of the syntax. This module reads from it, for each
alias, the tokens of its alternative (callee names such as ``jnp.sin`` and operator symbols
such as ``+``), so renderers never keep a second list of operators.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from lark import Lark, Token, Tree
from lark.exceptions import LarkError

#: Aliases of leaves and helper rules, which are not operations.
LEAF_ALIASES = frozenset({"param", "local", "literal", "bound"})
HELPER_ALIASES = frozenset(
    {"assign", "axis_index", "axis_none", "int_tuple", "pad_width", "index", "slice"}
)


class ProgramSyntaxError(ValueError):
    """Program text that is not in the fuzzjax grammar (or refers to an unknown name)."""


def grammar_text() -> str:
    """The text of ``jnp.lark``, from the installed package or the source checkout."""
    try:
        return resources.files("fuzzjax.grammar").joinpath("jnp.lark").read_text("utf-8")
    except (ModuleNotFoundError, FileNotFoundError):  # pragma: no cover - odd installs
        path = Path(__file__).resolve().parent.parent / "grammar" / "jnp.lark"
        return path.read_text("utf-8")


@cache
def grammar_sha() -> str:
    """sha256 of the grammar text: recorded with every stored pair."""
    return hashlib.sha256(grammar_text().encode()).hexdigest()


@cache
def parser() -> Lark:
    return Lark(grammar_text(), parser="lalr", start="start", maybe_placeholders=False, cache=True)


@dataclass(frozen=True)
class AltSyntax:
    """The fixed tokens of one grammar alternative; ``None`` marks a sub-rule or terminal slot."""

    alias: str
    tokens: tuple[str | None, ...]

    @property
    def callee(self) -> str:
        """The leading string token, e.g. ``jnp.sin`` (for calls) or ``-`` (for prefix ops)."""
        first = self.tokens[0]
        assert first is not None, self.alias
        return first

    @property
    def symbol(self) -> str:
        """The first string token after the first slot, e.g. ``+`` or ``.astype``."""
        for token in self.tokens[1:]:
            if token is not None:
                return token
        raise ValueError(f"{self.alias} has no infix symbol")


@cache
def alternatives() -> dict[str, AltSyntax]:
    """Every aliased alternative of the grammar, keyed by alias (first expansion wins)."""
    lark = parser()
    result: dict[str, AltSyntax] = {}
    for rule in lark.rules:
        alias = rule.alias
        if not alias or alias in result:
            continue
        tokens: list[str | None] = []
        for symbol in rule.expansion:
            if symbol.is_term:
                pattern = lark.get_terminal(symbol.name).pattern
                tokens.append(pattern.value if pattern.type == "str" else None)
            else:
                tokens.append(None)
        result[alias] = AltSyntax(alias, tuple(tokens))
    return result


def operation_aliases() -> frozenset[str]:
    """Aliases that are operations (calls and operators): the keys the typing table must cover."""
    return frozenset(alternatives()) - LEAF_ALIASES - HELPER_ALIASES


#: Recently validated sources, so a program parsed by the generator is not parsed again
#: before it is exec'd. Strings are immutable, so membership is proof of validity.
_VALIDATED: OrderedDict[str, None] = OrderedDict()
_VALIDATED_MAX = 256


def parse(source: str) -> Tree:
    """Parse program text; raise ``ProgramSyntaxError`` with a one-line reason if it is not ours."""
    try:
        tree = parser().parse(source)
    except LarkError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ProgramSyntaxError(f"not in the fuzzjax grammar: {first_line}") from None
    _check_names(tree)
    _VALIDATED[source] = None
    if len(_VALIDATED) > _VALIDATED_MAX:
        _VALIDATED.popitem(last=False)
    return tree


def ensure_valid(source: str) -> None:
    """Raise ``ProgramSyntaxError`` unless ``source`` is in the grammar (cached for recent text)."""
    if source not in _VALIDATED:
        parse(source)


def _check_names(tree: Tree) -> None:
    funcdef = tree.children[0]
    assert isinstance(funcdef, Tree)
    known: set[str] = set()
    for child in funcdef.children:
        if isinstance(child, Tree) and child.data == "params":
            for tok in child.children:
                if str(tok) in known:
                    raise ProgramSyntaxError(f"duplicate parameter {tok}")
                known.add(str(tok))
    for child in funcdef.children:
        if isinstance(child, Tree) and child.data == "assign":
            target, expr = child.children
            _check_refs(expr, known)
            known.add(str(target))
        elif isinstance(child, Tree) and child.data != "params":
            _check_refs(child, known)


def _check_refs(node: Tree | Token, known: set[str]) -> None:
    if isinstance(node, Token):
        return
    if node.data in ("param", "local", "bound"):
        name = str(node.children[0])
        if name not in known:
            raise ProgramSyntaxError(f"name {name} is used before it is defined")
        return
    # Lambda parameters (BOUND tokens directly under a call) are in scope inside that call.
    lambda_params = {str(c) for c in node.children if isinstance(c, Token) and c.type == "BOUND"}
    inner = known | lambda_params if lambda_params else known
    for child in node.children:
        _check_refs(child, inner)


def measure_depth(tree: Tree) -> int:
    """Expression depth of a parsed program: operator/call nesting on the longest path.

    Leaves (parameters, literals) have depth 0; a reference to a let-bound local has the depth
    of its definition, so binding an intermediate never changes a program's depth.
    """
    funcdef = tree.children[0]
    assert isinstance(funcdef, Tree)
    ops = operation_aliases()
    local_depths: dict[str, int] = {}

    def depth(node: Tree | Token) -> int:
        if isinstance(node, Token):
            return 0
        if node.data == "local":
            return local_depths[str(node.children[0])]
        if node.data == "getitem" and _is_bound(node.children[0]):
            return 0  # unpacking a loop carry (c0[0]) is not an operation
        if node.data in ops:
            inner = [depth(c) for c in node.children if isinstance(c, Tree)]
            return 1 + max(inner, default=0)
        return 0

    result = 0
    for child in funcdef.children:
        if not isinstance(child, Tree) or child.data == "params":
            continue
        if child.data == "assign":
            local_depths[str(child.children[0])] = depth(child.children[1])
        else:
            result = depth(child)
    return result


def _is_bound(node: Tree | Token) -> bool:
    return isinstance(node, Tree) and node.data == "bound"


def aliases_used(tree: Tree) -> set[str]:
    """Operation aliases that occur in a parsed program."""
    ops = operation_aliases()
    return {
        t.data
        for t in tree.iter_subtrees()
        if t.data in ops and not (t.data == "getitem" and _is_bound(t.children[0]))
    }
