"""Add your own functions to a corpus: ``python -m fuzzjax add FILE.py [--db PATH]``.

The command EXECUTES ``FILE.py`` (it imports it as a module, like ``python FILE.py`` would run
it but with ``__name__`` set to a module name, so an ``if __name__ == "__main__":`` block is
skipped). Only add files you trust.

Declaration convention: the file defines ::

    FUZZJAX_EXAMPLES = {
        "fn_name": (arg1, arg2, ...),  # positional example arguments of fn_name
        "other": {"args": (x,), "kwargs": {"axis": 1}, "static_argnames": ("axis",)},
    }

Each key names a callable defined in the file (a function, a ``functools.partial``, a
``jax.jit``-wrapped function). Each value is a tuple of positional example arguments, or a
dict with ``args``, ``kwargs``, ``static_argnames`` and ``static_argnums`` (all optional).
Arguments are pytrees (tuples, lists, dicts, NamedTuples, nested) of arrays or
``jax.ShapeDtypeStruct``s (only their shapes and dtypes are used), Python scalars (weakly
typed, as under ``jax.jit``) and ``None``; static arguments are passed as they are, as
``jax.jit(fn, static_argnames=...)`` does. Every function is lowered with
``fuzzjax.extract_ir_pair`` and stored with category ``user``, operation = the declared name,
seed and options NULL; a function whose canonical StableHLO is already in the corpus is
counted as a duplicate and not stored again.

The command keeps going: every function that lowers is stored (one transaction), and every
one that does not is reported on one line each: its name, argument types and the reason
(``raised ...`` when the function itself raised while being traced, ``failed to lower`` when
JAX could not lower it, ``arguments do not fit`` / ``bad declaration`` for the declaration).
The command then exits with code 2, the code of every bad input.

The stored source is the function plus the imports, helper functions, classes and module
constants of the file that it uses (``fuzzjax.lowering.usersource``); when something cannot
be included, the source starts with ``# fuzzjax: not self-contained: NAME, ...``.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import re
import sys
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from fuzzjax.corpus.store import Corpus
from fuzzjax.errors import DeclarationError, one_line
from fuzzjax.lowering.lower import (
    IRPair,
    LoweringError,
    LoweringStage,
    extract_ir_pair,
    pair_row,
)
from fuzzjax.lowering.userargs import argument_text, bind_arguments

EXAMPLES_NAME = "FUZZJAX_EXAMPLES"
USER_CATEGORY = "user"


@dataclass
class AddFailure:
    """A declared function that was not stored: its name, argument types and the reason."""

    name: str
    arguments: str
    stage: str  # a LoweringStage value, or "declaration"
    reason: str

    def line(self) -> str:
        what = {
            LoweringStage.TRACE.value: "raised",
            LoweringStage.ARGUMENTS.value: "arguments do not fit:",
            "declaration": "bad declaration:",
        }.get(self.stage, "failed to lower:")
        return " ".join(f"{self.name}{self.arguments} {what} {self.reason}".split())


@dataclass
class AddResult:
    """Names of the functions stored, of those whose IR was already in the corpus, and the
    failures."""

    added: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    failures: list[AddFailure] = field(default_factory=list)

    def line(self, db: str | Path) -> str:
        dup = f" ({', '.join(self.duplicates)})" if self.duplicates else ""
        failed = f", {len(self.failures)} failed" if self.failures else ""
        return (
            f"added {_plural(len(self.added), 'pair')}, "
            f"{_plural(len(self.duplicates), 'duplicate')}{dup}{failed} to {db}"
        )


@dataclass
class Declared:
    """One ``FUZZJAX_EXAMPLES`` entry: the callable and how to call it."""

    name: str
    fn: Any
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)
    static_argnames: tuple[str, ...] = ()
    static_argnums: tuple[int, ...] = ()


def user_row(pair: IRPair, *, category: str = USER_CATEGORY) -> dict[str, Any]:
    """The corpus row of a pair made by ``extract_ir_pair`` (keys: ``corpus.PAIR_COLUMNS``)."""
    return pair_row(pair, category=category)


def add_pairs(corpus: Corpus, pairs: Sequence[IRPair]) -> AddResult:
    """Store ``pairs`` in one transaction, skipping IR already in the corpus."""
    result = AddResult()
    with corpus.transaction():
        for pair in pairs:
            stored = corpus.add_pair(pair, category=USER_CATEGORY)
            (result.added if stored else result.duplicates).append(pair.function_name)
    return result


def examples_of(namespace: Mapping[str, Any]) -> Mapping[Any, Any]:
    """The module's ``FUZZJAX_EXAMPLES`` dict; ``DeclarationError`` when it has none."""
    if EXAMPLES_NAME not in namespace:
        raise DeclarationError(
            f"defines no {EXAMPLES_NAME}; declare {EXAMPLES_NAME} = "
            '{"fn_name": (arg1, ...)} with arrays or jax.ShapeDtypeStruct arguments'
        )
    examples = namespace[EXAMPLES_NAME]
    if not isinstance(examples, Mapping) or not examples:
        raise DeclarationError(
            f"{EXAMPLES_NAME} must be a non-empty dict "
            f"{{'fn_name': (args...)}}, got {type(examples).__name__}"
        )
    return examples


_CALL_KEYS = ("args", "kwargs", "static_argnames", "static_argnums")


def declared(namespace: Mapping[str, Any], name: Any, value: Any) -> Declared:
    """One entry of ``FUZZJAX_EXAMPLES``, checked; ``DeclarationError`` saying what is wrong."""
    fn = namespace.get(name) if isinstance(name, str) else None
    if not callable(fn):
        raise DeclarationError(f"{EXAMPLES_NAME} key {name!r} is not a function in the file")
    if isinstance(value, Mapping):
        unknown = sorted(set(map(str, value)) - set(_CALL_KEYS))
        if unknown:
            raise DeclarationError(
                f"{EXAMPLES_NAME}[{name!r}] has unknown keys {unknown}; use {list(_CALL_KEYS)}"
            )
        args, kwargs = value.get("args", ()), value.get("kwargs", {})
        names, nums = value.get("static_argnames", ()), value.get("static_argnums", ())
        if not isinstance(args, (tuple, list)) or not isinstance(kwargs, Mapping):
            raise DeclarationError(
                f"{EXAMPLES_NAME}[{name!r}]: 'args' must be a tuple and 'kwargs' a dict"
            )
        return Declared(
            name,
            fn,
            tuple(args),
            dict(kwargs),
            (names,) if isinstance(names, str) else tuple(names),
            (nums,) if isinstance(nums, int) else tuple(nums),
        )
    if not isinstance(value, (tuple, list)):
        raise DeclarationError(
            f"{EXAMPLES_NAME}[{name!r}] must be a tuple of arguments or a dict of "
            f"{list(_CALL_KEYS)}, got {type(value).__name__} (for one argument write (x,))"
        )
    return Declared(name, fn, tuple(value))


def lower_declared(
    namespace: Mapping[str, Any], *, hlo: bool = False
) -> tuple[list[IRPair], list[AddFailure]]:
    """Lower every function ``FUZZJAX_EXAMPLES`` declares in ``namespace``: the pairs of those
    that lower and a failure for each of the others (all are tried)."""
    pairs: list[IRPair] = []
    failures: list[AddFailure] = []
    for name, value in examples_of(namespace).items():
        try:
            entry = declared(namespace, name, value)
        except DeclarationError as exc:
            failures.append(AddFailure(str(name), "", "declaration", str(exc)))
            continue
        try:
            pairs.append(
                extract_ir_pair(
                    entry.fn,
                    *entry.args,
                    kwargs=entry.kwargs,
                    static_argnames=entry.static_argnames,
                    static_argnums=entry.static_argnums,
                    dialect="hlo" if hlo else "stablehlo",
                    name=entry.name,
                )
            )
        except LoweringError as exc:
            failures.append(AddFailure(entry.name, _arg_text(entry), exc.stage.value, exc.message))
        except Exception as exc:  # noqa: BLE001 - anything else (e.g. HLO text) is reported too
            failures.append(AddFailure(entry.name, _arg_text(entry), "lower", one_line(exc)))
    return pairs, failures


def load_user_module(path: str | Path) -> ModuleType:
    """Import (EXECUTE) the Python file at ``path`` as a fresh module; its folder is importable."""
    file = Path(path).resolve()
    name = "fuzzjax_user_" + re.sub(r"\W", "_", file.stem)
    loader = importlib.machinery.SourceFileLoader(name, str(file))
    spec = importlib.util.spec_from_loader(name, loader)
    assert spec is not None  # a SourceFileLoader always gives a spec
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    sys.path.insert(0, str(file.parent))
    try:
        loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    finally:
        sys.path.remove(str(file.parent))
    return module


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _arg_text(entry: Declared) -> str:
    try:
        bound = bind_arguments(entry.fn, entry.args, entry.kwargs, entry.static_argnames)
    except (TypeError, ValueError):
        bound = None
    return argument_text(bound, entry.args)


def where(exc: BaseException, file: Path) -> str:
    """`` at line N`` of the innermost traceback frame in the user's file, if any."""
    frames = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if Path(f.filename).resolve() == file.resolve()
    ]
    return f" at line {frames[-1].lineno}" if frames else ""
