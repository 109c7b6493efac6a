"""Add your own functions to a corpus: ``python -m fuzzjax add FILE.py [--db PATH]``.

The command EXECUTES ``FILE.py`` (it imports it as a module, like ``python FILE.py`` would run
it but with ``__name__`` set to a module name, so an ``if __name__ == "__main__":`` block is
skipped). Only add files you trust.

Declaration convention: the file defines ::

    FUZZJAX_EXAMPLES = {
        "fn_name": (arg1, arg2, ...),  # example arguments of the function fn_name
    }

where each key names a function defined in the file and each value is a tuple of example
arguments: arrays or ``jax.ShapeDtypeStruct``s (only their shapes and dtypes are used). Every
function is lowered with ``fuzzjax.extract_ir_pair(fn, *args)`` and stored with category
``user``, operation = the function name, seed and options NULL; a function whose canonical
StableHLO is already in the corpus is counted as a duplicate and not stored again. Either all
functions of the file lower and are added in one transaction, or nothing is added.

The stored source is the function's own text (``inspect.getsource``): helpers and constants it
uses from elsewhere in the file are not stored, so self-contained functions (helpers nested
inside, constants written inline) make the most useful pairs.
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
from fuzzjax.lowering.lower import IRPair, extract_ir_pair, pair_row

EXAMPLES_NAME = "FUZZJAX_EXAMPLES"
USER_CATEGORY = "user"


@dataclass
class AddResult:
    """Names of the functions stored and of those whose IR was already in the corpus."""

    added: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)

    def line(self, db: str | Path) -> str:
        dup = f" ({', '.join(self.duplicates)})" if self.duplicates else ""
        return (
            f"added {_plural(len(self.added), 'pair')}, "
            f"{_plural(len(self.duplicates), 'duplicate')}{dup} to {db}"
        )


def user_row(pair: IRPair, *, category: str = USER_CATEGORY) -> dict[str, Any]:
    """The corpus row of a pair made by ``extract_ir_pair`` (keys: ``corpus.PAIR_COLUMNS``)."""
    return pair_row(pair, category=category)


def add_pairs(corpus: Corpus, pairs: Sequence[IRPair]) -> AddResult:
    """Store ``pairs`` in one transaction, skipping IR already in the corpus."""
    result = AddResult()
    with corpus.transaction():
        for pair in pairs:
            stored = corpus.add_pair(user_row(pair))
            (result.added if stored else result.duplicates).append(pair.function_name)
    return result


def declared_examples(namespace: Mapping[str, Any]) -> dict[str, tuple[Any, tuple[Any, ...]]]:
    """``{name: (function, args)}`` from a module namespace's ``FUZZJAX_EXAMPLES``."""
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
    declared = {}
    for name, args in examples.items():
        fn = namespace.get(name) if isinstance(name, str) else None
        if not callable(fn):
            raise DeclarationError(f"{EXAMPLES_NAME} key {name!r} is not a function in the file")
        if not isinstance(args, (tuple, list)):
            raise DeclarationError(
                f"{EXAMPLES_NAME}[{name!r}] must be a tuple of arguments, got "
                f"{type(args).__name__} (for one argument write (x,))"
            )
        declared[name] = (fn, tuple(args))
    return declared


def lower_declared(namespace: Mapping[str, Any], *, hlo: bool = False) -> list[IRPair]:
    """Lower every function ``FUZZJAX_EXAMPLES`` declares in ``namespace``."""
    pairs = []
    for name, (fn, args) in declared_examples(namespace).items():
        try:
            pairs.append(
                extract_ir_pair(fn, *args, dialect="hlo" if hlo else "stablehlo", name=name)
            )
        except Exception as exc:  # noqa: BLE001 - reported to the user as one line
            raise DeclarationError(
                f"{name}{_arg_text(args)} failed to lower: {one_line(exc)}"
            ) from exc
    return pairs


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


def _arg_text(args: Sequence[Any]) -> str:
    parts = []
    for a in args:
        shape, dtype = getattr(a, "shape", None), getattr(a, "dtype", None)
        parts.append(f"{dtype}{list(shape)}" if shape is not None else type(a).__name__)
    return f"({', '.join(parts)})"


def where(exc: BaseException, file: Path) -> str:
    """`` at line N`` of the innermost traceback frame in the user's file, if any."""
    frames = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if Path(f.filename).resolve() == file.resolve()
    ]
    return f" at line {frames[-1].lineno}" if frames else ""
