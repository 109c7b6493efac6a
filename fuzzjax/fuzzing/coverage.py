"""What a fuzz campaign has tested, and weights that steer it toward what it has not.

A test (one program on one input set) covers cells of three kinds, read off the NumPy
reference's evaluation of every operation:

* ``pair:producer>consumer``: an operation whose operand is another operation's result;
* ``dtype:alias:dtype``: an operation producing a dtype;
* ``class:alias:class``: an operation meeting an input value class (NaN, +-inf, +-0, subnormal,
  the largest finite value, INT_MIN, INT_MAX, ordinary values, True, False);
* ``pairclass:producer>consumer:class``: a value of that class flowing from one operation into
  another (operation pair x input class).

``alias_weights`` turns cell counts into ``GenOptions.weights``: an alias that appears in few
covered cells weighs more, so the next programs lean toward the least-tested operations.
``pair_weights`` turns them into ``GenOptions.pair_weights``: the operation pairs tested most
often are damped under their consumer, so its operands lean toward pairs not tested yet
(``notes/fuzzing.md``, "Pair steering").
The denominators of ``possible_cells`` are upper bounds (every combination), not the
reachable set: coverage ratios are conservative.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

from fuzzjax.dtypes import dtype_set
from fuzzjax.fuzzing.inputs import VALUE_CLASSES, value_classes
from fuzzjax.fuzzing.reference import Evaluation
from fuzzjax.program import DEFAULT_ALIAS_WEIGHT, DEFAULT_PAIR_WEIGHT, MAX_PAIR_WEIGHTS
from fuzzjax.syntax import operation_aliases

CELL_KINDS = ("pair", "dtype", "class", "pairclass")
#: Weights stay within [1, MAX_WEIGHT] (DEFAULT_ALIAS_WEIGHT for an average alias).
MAX_WEIGHT = 64


def cells_of(evaluation: Evaluation) -> set[str]:
    """The cells one test covered."""
    ops = operation_aliases()
    found: set[str] = set()
    for node in evaluation.nodes:
        if node.alias not in ops:
            continue
        found.add(f"dtype:{node.alias}:{node.val.dtype}")
        for child, val in node.args:
            classes = set() if val.weak else value_classes(val.value)
            found |= {f"class:{node.alias}:{c}" for c in classes}
            if child.data in ops:
                edge = f"{child.data}>{node.alias}"
                found.add(f"pair:{edge}")
                found |= {f"pairclass:{edge}:{c}" for c in classes}
    return found


def possible_cells(x64: bool = False) -> dict[str, int]:
    """Upper bounds of the cells per kind: every combination of aliases, dtypes, classes."""
    n = len(operation_aliases())
    return {
        "pair": n * n,
        "dtype": n * len(dtype_set(x64)),
        "class": n * len(VALUE_CLASSES),
        "pairclass": n * n * len(VALUE_CLASSES),
    }


def reached(counts: Counter[str] | Iterable[str]) -> dict[str, int]:
    """Distinct cells reached, per kind."""
    out = dict.fromkeys(CELL_KINDS, 0)
    for cell in counts:
        out[cell.partition(":")[0]] += 1
    return out


def alias_weights(counts: Counter[str]) -> tuple[tuple[str, int], ...]:
    """``GenOptions.weights`` from cell counts: aliases in fewer covered cells weigh more.

    An alias's coverage is the number of distinct cells it appears in; its weight is
    ``DEFAULT_ALIAS_WEIGHT * sqrt((1 + median) / (1 + coverage))``, within [1, MAX_WEIGHT].
    """
    per_alias: Counter[str] = Counter()
    for cell in counts:
        kind, _, rest = cell.partition(":")
        if kind in ("pair", "pairclass"):
            producer, _, consumer = rest.partition(":")[0].partition(">")
            per_alias[producer] += 1
            per_alias[consumer] += 1
        else:
            per_alias[rest.partition(":")[0]] += 1
    aliases = sorted(operation_aliases())
    values = sorted(per_alias.get(a, 0) for a in aliases)
    median = values[len(values) // 2] if values else 0
    weights = []
    for alias in aliases:
        scale = math.sqrt((1 + median) / (1 + per_alias.get(alias, 0)))
        weights.append((alias, max(1, min(MAX_WEIGHT, round(DEFAULT_ALIAS_WEIGHT * scale)))))
    return tuple(weights)


def pair_weights(
    counts: Counter[str], limit: int = MAX_PAIR_WEIGHTS
) -> tuple[tuple[str, str, int], ...]:
    """``GenOptions.pair_weights`` from cell counts: the ``limit`` most-tested pairs, damped.

    A pair's count is the number of programs that tested it (``pair:`` cells). Pairs tested
    more often than the median pair (``m``) weigh ``DEFAULT_PAIR_WEIGHT * (1 + m) / (1 + c)``,
    at least 1 (damped, never forbidden: it may be the only operand that fits); the others are
    not listed (a factor of 1), so against the damped pairs every untested pair gains. Ties
    keep the pairs in name order, so the result is the same for the same counts.
    """
    pairs = {cell[5:]: n for cell, n in counts.items() if cell.startswith("pair:")}
    if not pairs:
        return ()
    values = sorted(pairs.values())
    median = values[len(values) // 2]
    over = sorted((p for p, n in pairs.items() if n > median), key=lambda p: (-pairs[p], p))
    chosen = []
    for edge in over[:limit]:
        producer, _, consumer = edge.partition(">")
        damped = round(DEFAULT_PAIR_WEIGHT * (1 + median) / (1 + pairs[edge]))
        chosen.append((producer, consumer, max(1, min(DEFAULT_PAIR_WEIGHT - 1, damped))))
    return tuple(sorted(chosen))
