"""Generation profiles: how the generator weighs the grammar alternatives it can use.

* ``breadth`` (the default): a family uniformly, then an alternative in it uniformly, among
  those that can produce the requested type: every alternative is exercised, which is what
  fuzzing wants.
* ``realistic``: an alternative with the frequency real JAX code gives its callable or form
  (``data/real_usage.json``, made by ``scripts/real_usage.py`` from public JAX libraries), so a
  corpus reads like the code people write. Alternatives real code never uses keep weight 1.

``alias_weight`` maps an alias to real call sites: its callables (``jnp.sum``; split evenly
between the alternatives that spell the same callable), operators (``+``), methods and
properties (``.sum()``, ``.T``), ``.at[]`` updates, subscripts, and for loops the share of
real call sites with a lambda or a named body and a tuple carry.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from fuzzjax.dtypes import DTYPE_SPELLING
from fuzzjax.program import PROFILES
from fuzzjax.syntax import parser

__all__ = ["PROFILES", "alias_callables", "alias_weights", "js_divergence", "real_usage_table"]


#: A token that names a callable: ``jnp.sum``, ``lax.scan``, ``jax.nn.relu``, ``jax.random.key``.
_CALLABLE = re.compile(r"^-?((?:jnp|lax|jax)\.[A-Za-z_][\w.]*)$")
#: Callables spelled through a terminal rather than a fixed token (the DTYPE terminal).
_EXTRA_CALLABLES: dict[str, tuple[str, ...]] = {"dtype_call": tuple(DTYPE_SPELLING.values())}

#: Operator aliases and the operator the table counts for them.
OPERATORS = {
    "op_add": "+",
    "op_sub": "-",
    "op_mul": "*",
    "op_truediv": "/",
    "op_floordiv": "//",
    "op_mod": "%",
    "op_pow": "**",
    "op_matmul": "@",
    "op_and": "&",
    "op_or": "|",
    "op_xor": "^",
    "op_neg": "unary -",
    "op_invert": "~",
    "op_lt": "<",
    "op_le": "<=",
    "op_gt": ">",
    "op_ge": ">=",
    "op_eq": "==",
    "op_ne": "!=",
}
#: Method, property and update aliases and the method/attribute the table counts.
METHODS = {
    "astype": ("methods", "astype"),
    "m_t": ("attributes", "T"),
    "m_mt": ("attributes", "mT"),
    "m_real": ("attributes", "real"),
    "m_imag": ("attributes", "imag"),
    "at_set": ("at_methods", "set"),
    "at_add": ("at_methods", "add"),
    "at_multiply": ("at_methods", "multiply"),
    "at_min": ("at_methods", "min"),
    "at_max": ("at_methods", "max"),
}
#: Loop alternatives and the (callable, body or carry form) of the table they stand for.
LOOP_FORMS = {
    "fori_loop": ("lax.fori_loop", "lambda body"),
    "fori_named": ("lax.fori_loop", "named function body"),
    "fori_tuple": ("lax.fori_loop", "tuple carry"),
    "while_loop": ("lax.while_loop", "lambda body"),
    "while_named": ("lax.while_loop", "named function body"),
    "scan": ("lax.scan", "lambda body"),
    "scan_named": ("lax.scan", "named function body"),
    "scan_tuple": ("lax.scan", "tuple carry"),
    "scan_length": ("lax.scan", "scan without xs (length=)"),
    "cond": ("lax.cond", "lambda body"),
    "cond_named": ("lax.cond", "named function body"),
    "switch": ("lax.switch", "list of branches"),
    "switch_named": ("lax.switch", "named function body"),
    "lax_map": ("lax.map", "lambda body"),
    "lax_map_named": ("lax.map", "named function body"),
}


def real_usage_table() -> dict[str, Any]:
    """The table of real JAX usage (``data/real_usage.json``, made by
    ``scripts/real_usage.py`` from public JAX libraries; see its ``repositories``)."""
    try:
        text = resources.files("fuzzjax.data").joinpath("real_usage.json").read_text("utf-8")
    except (ModuleNotFoundError, FileNotFoundError):  # editable installs, source checkouts
        path = Path(__file__).resolve().parents[2] / "data" / "real_usage.json"
        text = path.read_text("utf-8")
    table: dict[str, Any] = json.loads(text)
    return table


@cache
def _all_callables() -> dict[str, frozenset[str]]:
    lark = parser()
    found: dict[str, set[str]] = {}
    for rule in lark.rules:
        if not rule.alias:
            continue
        names = found.setdefault(rule.alias, set(_EXTRA_CALLABLES.get(rule.alias, ())))
        for symbol in rule.expansion:
            if symbol.is_term:
                pattern = lark.get_terminal(symbol.name).pattern
                match = _CALLABLE.match(pattern.value) if pattern.type == "str" else None
                if match:
                    names.add(match.group(1))
    return {alias: frozenset(names) for alias, names in found.items()}


def alias_callables(alias: str) -> frozenset[str]:
    """The callables the alternatives of ``alias`` spell (``jnp.sum``; ``jnp.float32`` for a
    DTYPE call); an alias may name several expansions (``jnp.issubdtype``, ``jax.dtypes...``)."""
    return _all_callables().get(alias, frozenset())


def _owners(aliases: list[str]) -> Counter[str]:
    """How many of ``aliases`` spell each callable (their call sites are shared out)."""
    owners: Counter[str] = Counter()
    for alias in aliases:
        if alias not in LOOP_FORMS:
            owners.update(alias_callables(alias))
    return owners


@cache
def alias_weights() -> dict[str, float]:
    """Real call sites per operation alias (``realistic`` draws in proportion, floor 1)."""
    from fuzzjax.syntax import operation_aliases

    table = real_usage_table()
    aliases = sorted(operation_aliases())
    owners = _owners(aliases)
    loop_owners = Counter(LOOP_FORMS[a] for a in aliases if a in LOOP_FORMS)
    weights: dict[str, float] = {}
    for alias in aliases:
        if alias in LOOP_FORMS:
            callable_name, form = LOOP_FORMS[alias]
            kinds = table["loop_bodies"].get(callable_name, {})
            share = kinds.get(form, 0) / max(1, sum(kinds.values()))
            count = table["calls"].get(callable_name, 0) * share / loop_owners[LOOP_FORMS[alias]]
        elif alias in OPERATORS:
            count = table["operators"].get(OPERATORS[alias], 0)
        elif alias in METHODS:
            group, name = METHODS[alias]
            count = table[group].get(name, 0)
        elif alias.startswith("m_"):
            count = table["methods"].get(alias[2:].replace("reshape_ints", "reshape"), 0)
        elif alias == "getitem":
            forms = table["forms"]
            count = sum(forms.get(f"subscripts with {k}", 0) for k in ("slices", "None", "..."))
        else:
            names = alias_callables(alias)
            count = sum(table["calls"].get(n, 0) / owners[n] for n in names)
        weights[alias] = max(1.0, count)
    return weights


def js_divergence(p: Counter[str], q: Counter[str]) -> float:
    """Jensen-Shannon divergence (base 2, in [0, 1]) of two count distributions."""
    import math

    keys = set(p) | set(q)
    tp, tq = sum(p.values()) or 1, sum(q.values()) or 1
    total = 0.0
    for k in keys:
        a, b = p.get(k, 0) / tp, q.get(k, 0) / tq
        m = (a + b) / 2
        if a:
            total += a * math.log2(a / m) / 2
        if b:
            total += b * math.log2(b / m) / 2
    return total
