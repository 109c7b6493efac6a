"""Pytree parameters: some of a program's array parameters become items of a ``params`` dict
(``params["w"]``) or a ``batch`` tuple (``batch[0]``), as model and optimizer code takes them:

    def f(params, x0):
        return jnp.tanh(params["w"] @ x0 + params["b"])

Drawn after the expression tree (``draw``), from the same chooser, so a seed still replays;
``apply`` renames the parameter leaves, and ``signature`` gives the ``def`` line's parameters
and the inputs in the order ``jax.jit`` flattens them (dict keys sorted, tuple items in
order). The lowered program takes one input per leaf (``fuzzjax.syntax.arrange`` rebuilds the
dict and tuple from them), so corpus, fuzz mode and reference need no second mechanism.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fuzzjax.choices import Chooser
from fuzzjax.generation.profiles import real_usage_table
from fuzzjax.generation.render import Node
from fuzzjax.rules.pytree import KEYS

#: Percent of programs with pytree parameters under ``--profile breadth``.
BREADTH_PERCENT = 15
#: Percent of ``params`` programs that also take a ``batch`` tuple.
BATCH_PERCENT = 30


def realistic_percent() -> int:
    """Percent under ``--profile realistic``: real code's subscripts with a string key (dict
    pytree reads) per function definition (``data/real_usage.json``: 1935 / 10477 = 18%),
    a proxy for the share of functions that read a dict parameter."""
    forms = real_usage_table()["forms"]
    reads = int(forms["subscripts with a string key (dict pytree)"])
    return round(100 * reads / int(forms["function definitions"]))


@dataclass(frozen=True)
class Grouping:
    """Where each generated parameter ``x{i}`` goes: its new text, by index."""

    names: tuple[str, ...]
    dict_keys: tuple[str, ...]  # sorted: the flatten order of ``params``
    batch_size: int
    arrays: int  # parameters that stay arrays, renamed x0.. in order


def draw(ch: Chooser, count: int, profile: str) -> Grouping | None:
    """Whether and how ``count`` parameters are grouped (None: all stay arrays)."""
    percent = realistic_percent() if profile == "realistic" else BREADTH_PERCENT
    if count == 0 or not ch.chance(percent):
        return None
    in_dict = [ch.chance(60) for _ in range(count)]
    if not any(in_dict):
        in_dict[ch.integer(0, count - 1)] = True
    rest = [i for i in range(count) if not in_dict[i]]
    in_batch = set()
    if rest and ch.chance(BATCH_PERCENT):
        in_batch = {i for i in rest if ch.chance(50)} or {rest[0]}
    keys = list(KEYS)
    names: list[str] = []
    dict_keys: list[str] = []
    arrays = batch = 0
    for i in range(count):
        if in_dict[i]:
            key = keys.pop(ch.integer(0, len(keys) - 1)) if keys else f"w{len(dict_keys)}"
            dict_keys.append(key)
            names.append(f'params["{key}"]')
        elif i in in_batch:
            names.append(f"batch[{batch}]")
            batch += 1
        else:
            names.append(f"x{arrays}")
            arrays += 1
    return Grouping(tuple(names), tuple(sorted(dict_keys)), batch, arrays)


def apply(grouping: Grouping, roots: list[Node]) -> None:
    """Rewrite every read of parameter ``x{i}`` as ``grouping.names[i]``, in place: parameter
    leaves and the text of trace-time constants (``x0.shape[-1]``, ``jnp.finfo(x0.dtype)``)."""
    renames = {f"x{i}": name for i, name in enumerate(grouping.names)}

    def rename(text: str) -> str:
        return _PARAM.sub(lambda m: renames.get(m.group(0), m.group(0)), text)

    seen: set[int] = set()
    stack = list(roots)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if node.alias in ("param", "literal"):
            node.attrs = {k: rename(v) if isinstance(v, str) else v for k, v in node.attrs.items()}
        stack.extend(node.children)


#: A parameter name in text (not part of a longer name or an attribute).
_PARAM = re.compile(r"(?<![\w.])x\d+\b")


def signature(grouping: Grouping) -> tuple[list[str], list[int]]:
    """The ``def f(...)`` parameters and, per input in flatten order, the generated parameter
    index it holds."""
    index = {name: i for i, name in enumerate(grouping.names)}
    declared = ["params"]
    order = [index[f'params["{k}"]'] for k in grouping.dict_keys]
    declared += [f"x{j}" for j in range(grouping.arrays)]
    order += [index[f"x{j}"] for j in range(grouping.arrays)]
    if grouping.batch_size:
        declared.append("batch")
        order += [index[f"batch[{j}]"] for j in range(grouping.batch_size)]
    return declared, order
