"""The typing table: one rule per grammar alias, saying how it can produce a requested type.

``TABLE`` is keyed by the grammar's ``-> alias`` names; ``tests/test_rules.py`` asserts that
it covers every operation alias of ``grammar/jnp.lark`` and nothing else. The rules themselves
live in one module per family (``rules_elementwise``, ``rules_reduce``, ``rules_shape``,
``rules_linalg``); ``rules_base`` explains the protocol.
"""

from __future__ import annotations

from fuzzjax.program import CATEGORIES
from fuzzjax.rules.base import LITERALS, Arg, Body, Literal, Plan, Rule
from fuzzjax.rules.control import control_rules
from fuzzjax.rules.creation import creation_rules
from fuzzjax.rules.elementwise import Elementwise, elementwise_rules
from fuzzjax.rules.functions import function_rules
from fuzzjax.rules.indexing import indexing_rules
from fuzzjax.rules.lax_general import lax_general_rules
from fuzzjax.rules.linalg import Matmul, linalg_rules
from fuzzjax.rules.lowlevel import lowlevel_rules
from fuzzjax.rules.methods import method_rules
from fuzzjax.rules.pytree import pytree_rules
from fuzzjax.rules.random import random_rules
from fuzzjax.rules.reduce import Reduction, reduction_rules
from fuzzjax.rules.shape import shape_rules
from fuzzjax.rules.special import special_rules

__all__ = [
    "CATEGORY_OF_FAMILY",
    "FAMILIES",
    "LITERALS",
    "TABLE",
    "Arg",
    "Body",
    "Elementwise",
    "Literal",
    "Matmul",
    "Plan",
    "Reduction",
    "Rule",
    "CATEGORIES",
    "category_of",
]

#: The typing table, keyed by grammar alias.
TABLE: dict[str, Rule] = {
    r.alias: r
    for r in elementwise_rules()
    + reduction_rules()
    + shape_rules()
    + linalg_rules()
    + control_rules()
    + creation_rules()
    + special_rules()
    + pytree_rules()
    + function_rules()
    + random_rules()
    + indexing_rules()
    + lax_general_rules()
    + lowlevel_rules()
}
TABLE.update({r.alias: r for r in method_rules(TABLE)})

#: Rules grouped by family, for family-balanced choice.
FAMILIES: dict[str, list[Rule]] = {}
for _rule in TABLE.values():
    FAMILIES.setdefault(_rule.family, []).append(_rule)

#: Dataset category of each rule family.
CATEGORY_OF_FAMILY: dict[str, str] = {
    "arith_op": "arithmetic",
    "bitwise_op": "arithmetic",
    "compare_op": "arithmetic",
    "unary_math": "math",
    "binary_math": "math",
    "logical": "math",
    "nn": "math",
    "lax": "math",
    "reduction": "array",
    "sort": "array",
    "shape": "array",
    "index": "array",
    "select": "array",
    "cast": "array",
    "linalg": "array",
    "control_flow": "control_flow",
    "creation": "array",
    "special": "math",
    "pytree": "array",
    "random": "math",
    "fft": "math",
}


#: Dataset categories, in the order ``--balanced category`` cycles through them.


def category_of(aliases: list[str] | tuple[str, ...]) -> str:
    """The dataset category of a program, derived from the grammar families it uses.

    ``control_flow`` if it uses any control-flow/transform alternative; otherwise the one
    category (``arithmetic``, ``math``, ``array``) all its operations belong to, or
    ``combined`` when they span several.
    """
    found = {CATEGORY_OF_FAMILY[TABLE[a].family] for a in aliases if a in TABLE}
    if "control_flow" in found:
        return "control_flow"
    return found.pop() if len(found) == 1 else "combined"
