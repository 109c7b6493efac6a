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
from typing import Any

from lark import Lark, Token, Tree
from lark.exceptions import LarkError

#: Aliases of leaves and helper rules, which are not operations.
#: Leaves that name a value: a parameter, a let-bound local, a lambda or loop-body parameter.
NAME_ALIASES = frozenset({"param", "local", "bound"})
#: Trace-time constants: Python or NumPy scalars known while tracing (``x0.ndim``,
#: ``x0.shape[-1]``, ``jnp.finfo(x0.dtype).eps``, ``jnp.pi``). Leaves, like literals.
CONST_ALIASES = frozenset(
    {
        "const_ndim",
        "const_ndim_call",
        "const_size",
        "const_size_call",
        "const_dim",
        "const_finfo_eps",
        "const_finfo_tiny",
        "const_finfo_max",
        "const_finfo_min",
        "const_iinfo_max",
        "const_iinfo_min",
        "const_pi",
        "const_e",
        "const_inf",
        "const_nan",
    }
)
#: Every leaf alternative: the named values, literals and trace-time constants.
LEAF_ALIASES = NAME_ALIASES | {"literal", "param_item"} | CONST_ALIASES
#: Trace-time shapes and dtypes in argument slots (``x0.shape``, ``jnp.result_type(x0)``):
#: no runtime operation, so they add no depth.
STATIC_ALIASES = frozenset(
    {
        "static_shape",
        "static_shape_call",
        "static_typeof_shape",
        "static_broadcast_shapes",
        "static_jnp_broadcast_shapes",
        "static_dtype",
        "static_typeof_dtype",
        "static_result_type",
        "static_promote_types",
        "static_dtype_call",
        "static_issubdtype",
        "static_iscomplexobj",
    }
)
#: PRNG keys built from literal seeds (``jax.random.split(jax.random.key(0))[1]``).
KEY_ALIASES = frozenset({"key_new", "key_legacy", "key_split", "key_split_n", "key_fold_in"})
#: Displays that group values (a tuple, a dict or list pytree): as deep as their deepest item.
CONTAINER_ALIASES = frozenset({"tuple_display", "tree_dict", "tree_list", "tree_tuple"})
HELPER_ALIASES = (
    frozenset(
        {
            "assign",
            "fundef",
            "custom_fundef",
            "defjvps",
            "axis_index",
            "axis_none",
            "int_tuple",
            "pad_width",
            "index",
            "slice",
            "index_none",
            "index_ellipsis",
            "key",
            "tree_entry",
        }
    )
    | STATIC_ALIASES
    | CONTAINER_ALIASES
    | KEY_ALIASES
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


@cache
def operation_aliases() -> frozenset[str]:
    """Aliases that are operations (calls and operators): the keys the typing table must cover."""
    return frozenset(alternatives()) - LEAF_ALIASES - HELPER_ALIASES


#: Recently validated sources, so a program parsed by the generator is not parsed again
#: before it is exec'd. Strings are immutable, so membership is proof of validity.
_VALIDATED: OrderedDict[str, None] = OrderedDict()
_VALIDATED_MAX = 256


def parse(source: str) -> Tree[Token]:
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


def _check_names(tree: Tree[Token]) -> None:
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
        elif isinstance(child, Tree) and child.data in ("fundef", "custom_fundef"):
            name, *rest = child.children
            params = {str(c) for c in rest if isinstance(c, Token) and c.type == "BOUND"}
            for body in rest:
                if isinstance(body, Tree):
                    _check_refs(body, known | params)
            known.add(str(name))
        elif isinstance(child, Tree) and child.data != "params":
            _check_refs(child, known)


def _check_refs(node: Tree[Token] | Token, known: set[str]) -> None:
    if isinstance(node, Token):
        if node.type == "FNAME" and str(node) not in known:
            raise ProgramSyntaxError(f"function {node} is used before it is defined")
        return
    if node.data in NAME_ALIASES or node.data == "param_item":
        name = str(node.children[0])
        if name not in known:
            raise ProgramSyntaxError(f"name {name} is used before it is defined")
        return
    # Lambda parameters (BOUND tokens directly under a call) are in scope inside that call.
    lambda_params = {str(c) for c in node.children if isinstance(c, Token) and c.type == "BOUND"}
    inner = known | lambda_params if lambda_params else known
    for child in node.children:
        _check_refs(child, inner)


def measure_depth(tree: Tree[Token]) -> int:
    """Expression depth of a parsed program: operator/call nesting on the longest path.

    Leaves (parameters, literals, trace-time constants) have depth 0; a reference to a
    let-bound local has the depth of its definition, so binding an intermediate never changes a
    program's depth; a named local function (``def body0(i0, c0): return ...``) passed to a
    loop counts as deep as its return expression, like a lambda body (a ``@jax.custom_jvp``
    function, a fixed primal with its rule, adds nothing to its call); trace-time shapes and
    dtypes add nothing; displays (tuples, pytrees) are as deep as their deepest item.
    """
    funcdef = tree.children[0]
    assert isinstance(funcdef, Tree)
    ops = operation_aliases()
    carries = while_carries(tree)
    local_depths: dict[str, int] = {}
    function_depths: dict[str, int] = {}

    def depth(node: Tree[Token] | Token) -> int:
        if isinstance(node, Token):
            return function_depths.get(str(node), 0) if node.type == "FNAME" else 0
        if node.data == "local":
            return local_depths[str(node.children[0])]
        if is_bound_read(node, carries):
            return 0  # unpacking a carry (c0[0]) or reading a loop counter is not an operation
        if node.data in CONTAINER_ALIASES or node.data == "tree_entry":
            return max((depth(c) for c in node.children), default=0)
        if node.data in ops:
            return 1 + max((depth(c) for c in node.children), default=0)
        return 0

    result = 0
    for child in funcdef.children:
        if not isinstance(child, Tree) or child.data == "params":
            continue
        if child.data == "assign":
            local_depths[str(child.children[0])] = depth(child.children[1])
        elif child.data == "fundef":
            body = [c for c in child.children if isinstance(c, Tree)]
            function_depths[str(child.children[0])] = max(map(depth, body), default=0)
        elif child.data in ("custom_fundef", "defjvps"):
            continue  # a fixed primal and its rule: the call counts as one operation
        else:
            result = depth(child)
    return result


def _is_bound(node: Tree[Token] | Token) -> bool:
    return isinstance(node, Tree) and node.data == "bound"


def while_carries(tree: Tree[Token]) -> frozenset[str]:
    """Tuple-valued lambda and function parameters, read as ``c0[k]``: the (value, counter)
    pairs of ``lax.while_loop`` lambdas and every ``t0``-style tuple carry."""
    return frozenset(
        str(token)
        for node in tree.iter_subtrees()
        for token in node.children
        if isinstance(token, Token)
        and token.type == "BOUND"
        and (node.data == "while_loop" or str(token).startswith("t"))
    )


def is_bound_read(node: Tree[Token], carries: frozenset[str]) -> bool:
    """How a lambda body reads its parameters, as opposed to operating on them.

    ``c0[k]`` unpacks a while-loop carry (``carries``: see :func:`while_carries`). A loop
    counter (a fori_loop index ``i0``, a while-loop count ``c0[1]``) is weakly typed in JAX, so
    bodies read it through a cast to a concrete dtype, ``jnp.asarray(i0, dtype=jnp.float32)`` /
    ``jnp.asarray(c0[1], dtype=jnp.int8)`` (see ``render.bound_text``); that idiom is a leaf too.
    """
    if node.data == "getitem":
        return _bound_name(node.children[0]) in carries
    if node.data != "asarray":
        return False
    operand = node.children[0]
    if _is_bound(operand):
        return _bound_name(operand).startswith("i")  # indices are only read through a cast
    return (
        isinstance(operand, Tree)
        and operand.data == "getitem"
        and _bound_name(operand.children[0]) in carries
        and _subscript_text(operand.children[1]) == "1"
    )


def _bound_name(node: Tree[Token] | Token) -> str:
    return str(node.children[0]) if _is_bound(node) else ""  # type: ignore[union-attr]


def _subscript_text(node: Tree[Token] | Token) -> str:
    if isinstance(node, Token):
        return str(node)
    return "".join(_subscript_text(c) for c in node.children) if node.data == "index" else "?"


def aliases_used(tree: Tree[Token]) -> set[str]:
    """Operation aliases that occur in a parsed program."""
    ops, carries = operation_aliases(), while_carries(tree)
    return {t.data for t in tree.iter_subtrees() if t.data in ops and not is_bound_read(t, carries)}


#: A declared parameter: its name, and for a pytree parameter the keys (dict ``params``) or
#: indices (tuple ``batch``) its body reads, in the order ``jax.jit`` flattens them.
Parameter = tuple[str, tuple[str | int, ...] | None]


def item_key(node: Tree[Token]) -> str | int:
    """The key of a ``params["w"]`` read (``"w"``) or the index of a ``batch[0]`` read (0)."""
    token = node.children[1]
    assert isinstance(token, Token)
    return str(token)[1:-1] if token.type == "KEY" else int(str(token))


def leaf_name(node: Tree[Token]) -> str:
    """The input name of a parameter read: ``x0``, ``params['w']``, ``batch[0]`` (as
    ``jax.tree_util.keystr`` writes pytree paths, and ``add`` names user-function inputs)."""
    name = str(node.children[0])
    return name if node.data == "param" else f"{name}[{item_key(node)!r}]"


def parameters(tree: Tree[Token]) -> list[Parameter]:
    """The declared parameters of a parsed program, pytree ones with the items read."""
    funcdef = tree.children[0]
    assert isinstance(funcdef, Tree)
    items: dict[str, set[str | int]] = {}
    for node in funcdef.iter_subtrees():
        if node.data == "param_item":
            items.setdefault(str(node.children[0]), set()).add(item_key(node))
    declared: list[Parameter] = []
    for child in funcdef.children:
        if isinstance(child, Tree) and child.data == "params":
            for tok in child.children:
                name = str(tok)
                keys = tuple(sorted(items.get(name, set()), key=str))
                pytree = isinstance(tok, Token) and tok.type == "TREE_PARAM"
                declared.append((name, keys if pytree else None))
    return declared


def input_names(declared: list[Parameter]) -> list[str]:
    """One name per input of the lowered program (array leaf), in order."""
    names: list[str] = []
    for name, keys in declared:
        names += [name] if keys is None else [f"{name}[{k!r}]" for k in keys]
    return names


def arrange(declared: list[Parameter], leaves: list[Any] | tuple[Any, ...]) -> list[Any]:
    """The positional arguments of a program from its flat inputs: a dict for ``params``, a
    tuple for ``batch`` (indices 0..k-1), the leaf itself for an array parameter."""
    out: list[Any] = []
    it = iter(leaves)
    for name, keys in declared:
        if keys is None:
            out.append(next(it))
        elif name == "batch":
            out.append(tuple(next(it) for _ in keys))
        else:
            out.append({k: next(it) for k in keys})
    return out
