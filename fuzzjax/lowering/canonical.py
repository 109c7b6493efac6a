"""Canonical StableHLO text, its hash, and StableHLO op counts.

The same program can lower to different text depending on the function's name and on what was
traced earlier in the process (private function symbols such as ``@relu`` vs ``@relu_0``,
cf. jax#40312). Canonical text fixes the module name, drops locations and renames private
function symbols in order of first appearance, so equal programs hash equal.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter

_MODULE_NAME = re.compile(r"^module @[\w.$-]+", re.MULTILINE)
_PRIVATE_DEF = re.compile(r"func\.func private @([\w.$-]+)")
_SYMBOL_REF = re.compile(r"@([\w.$-]+)")
_TRAILING_INDEX = re.compile(r"_\d+$")
_LOC_LINE = re.compile(r"^#loc.*\n?", re.MULTILINE)
_OP = re.compile(
    r"^\s*(?:%[^\s=]+(?:\s*,\s*%[^\s=]+)*\s*=\s*)?\"?"
    r"((?:[a-z_][a-z0-9_]*\.)+[a-z_][a-z0-9_]*|call|return)\b"
)
CANONICAL_MODULE = "module @jit_f"


def _strip_locations(text: str) -> str:
    text = _LOC_LINE.sub("", text)
    out: list[str] = []
    i = 0
    while True:
        j = text.find(" loc(", i)
        if j < 0:
            out.append(text[i:])
            break
        out.append(text[i:j])
        depth, k = 0, j + 4
        while k < len(text):
            if text[k] == "(":
                depth += 1
            elif text[k] == ")":
                depth -= 1
                if depth == 0:
                    break
            k += 1
        i = k + 1
    return "".join(out)


def canonicalize(text: str) -> str:
    """Canonical form of lowered StableHLO text (stable across names and trace history)."""
    text = _strip_locations(text)
    text = _MODULE_NAME.sub(CANONICAL_MODULE, text, count=1)
    private = set(_PRIVATE_DEF.findall(text))
    if private:
        renames: dict[str, str] = {}
        for match in _SYMBOL_REF.finditer(text):
            name = match.group(1)
            if name in private and name not in renames:
                base = _TRAILING_INDEX.sub("", name).lstrip("_") or "fn"
                renames[name] = f"{base}_{len(renames)}"
        text = _SYMBOL_REF.sub(lambda m: "@" + renames.get(m.group(1), m.group(1)), text)
    return text if text.endswith("\n") else text + "\n"


def ir_hash(canonical_text: str) -> str:
    """sha256 hex digest of canonical text."""
    return hashlib.sha256(canonical_text.encode()).hexdigest()


def op_counts(text: str) -> dict[str, int]:
    """Count of each operation (``stablehlo.add``, ``func.call``, ...) in StableHLO text."""
    counts: Counter[str] = Counter()
    for line in text.splitlines():
        match = _OP.match(line)
        if not match:
            continue
        op = match.group(1)
        if op in ("call", "return"):
            op = f"func.{op}"
        counts[op] += 1
    return dict(sorted(counts.items()))
