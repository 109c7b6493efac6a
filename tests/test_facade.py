"""The public API: ``fuzzjax.<name>`` resolves to the documented object, twice, in any order.

Each order runs in a fresh interpreter, since what a lazy facade returns can depend on what
was imported before (``fuzzjax.generate`` was once a module that replaced the function after
its first use).
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys

import fuzzjax

#: The documented public API: name -> the module that defines it.
DOCUMENTED = {
    "ArgSpec": "fuzzjax.program",
    "Corpus": "fuzzjax.corpus.store",
    "FuzzjaxError": "fuzzjax.errors",
    "GenOptions": "fuzzjax.program",
    "InvalidArgument": "fuzzjax.errors",
    "Program": "fuzzjax.program",
    "extract_ir_pair": "fuzzjax.lowering.lower",
    "generate": "fuzzjax.generation.generator",
    "programs": "fuzzjax.generation.strategies",
}

SCRIPT = """
import importlib, json, sys
import fuzzjax
order = json.loads(sys.argv[1])
first = {name: getattr(fuzzjax, name) for name in order}
if "generate" in order:
    fuzzjax.generate(3, max_depth=2)  # using a name must not replace another
import fuzzjax.generation.generator, fuzzjax.corpus.store, fuzzjax.program  # submodules too
second = {name: getattr(fuzzjax, name) for name in reversed(order)}
from fuzzjax import generate, programs, Program
bad = [n for n in order if first[n] is not second[n]
       or first[n] is not getattr(importlib.import_module(sys.argv[2 + order.index(n)]), n)]
print(json.dumps({"bad": bad, "callable": callable(generate) and callable(programs)}))
"""


def _run(order: list[str]) -> dict[str, object]:
    modules = [DOCUMENTED[name] for name in order]
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(order), *modules],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def test_all_is_the_documented_list() -> None:
    assert set(fuzzjax.__all__) == set(DOCUMENTED) | {"__version__"}


def test_the_module_docstring_documents_every_name() -> None:
    documented = set(re.findall(r"^\* ``(\w+)", fuzzjax.__doc__ or "", re.MULTILINE))
    documented |= set(re.findall(r"``(\w+)``", fuzzjax.__doc__ or ""))
    assert set(DOCUMENTED) <= documented


def test_dir_lists_the_public_names() -> None:
    assert set(fuzzjax.__all__) <= set(dir(fuzzjax))


def test_every_name_resolves_twice_in_any_order() -> None:
    names = sorted(DOCUMENTED)
    rng = random.Random(0)
    orders = [names, names[::-1], rng.sample(names, len(names)), ["generate", "generate"]]
    for order in orders:
        result = _run(order)
        assert result == {"bad": [], "callable": True}, order


def test_generate_works_twice_in_process() -> None:
    from fuzzjax import generate

    assert fuzzjax.generate(5, max_depth=2) == generate(5, max_depth=2)
    assert fuzzjax.generate(5, max_depth=2).source == fuzzjax.generate(5, max_depth=2).source
