"""The stored source of a user function: the function plus what it uses from its own file.

``collect_source(fn)`` reads the file that defines ``fn`` (``inspect`` + ``ast``; nothing is
executed) and keeps, in file order, every top-level statement the function needs: the
imports, helper functions, classes and module constants it names, and what those name in
turn. ``functools.partial`` objects and ``jax.jit``-wrapped functions are looked through to
the real function; a partial bound to no module name gets a ``functools.partial(...)`` line
when its bound arguments are literals. A closure's free variables become assignments when
their values are literals, helper functions of the file, or modules of the standard library,
JAX or NumPy.

What cannot be reproduced that way (a name defined nowhere in the file, an import from a
module outside the standard library, JAX, NumPy, SciPy and ml_dtypes, a closure over an
array, a lambda written inside an expression) is listed in ``UserSource.missing``, and the
stored text then starts with the line ``# fuzzjax: not self-contained: NAME, ...``
(``NOT_SELF_CONTAINED``), so a reader of the corpus can tell from the source alone.
"""

from __future__ import annotations

import ast
import builtins
import functools
import inspect
import keyword
import sys
import textwrap
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

#: First line of a stored source that does not define everything it uses.
NOT_SELF_CONTAINED = "# fuzzjax: not self-contained: "
#: Top-level packages an import may come from and still count as self-contained.
KNOWN_PACKAGES = frozenset(sys.stdlib_module_names) | {
    "jax",
    "jaxlib",
    "numpy",
    "scipy",
    "ml_dtypes",
}
_BUILTINS = frozenset(dir(builtins))
_TOP_LEVEL = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.Assign,
    ast.AnnAssign,
    ast.AugAssign,
    ast.Import,
    ast.ImportFrom,
)


@dataclass
class UserSource:
    """A function's stored source, and the names it uses but could not include."""

    text: str
    missing: list[str] = field(default_factory=list)
    entry: str | None = None  # the module-level name the function is bound to, if any

    @property
    def self_contained(self) -> bool:
        return not self.missing

    def stored(self) -> str:
        """The text to store: ``text``, after a ``NOT_SELF_CONTAINED`` line if needed."""
        if self.self_contained:
            return self.text
        return f"{NOT_SELF_CONTAINED}{_comment(', '.join(self.missing))}\n{self.text}"


def _comment(text: str) -> str:
    """``text`` safe inside a ``#`` comment: every character that is not printable (a line
    break above all) is written as its escape, so the comment cannot end early."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def real_function(fn: Any) -> Any:
    """``fn`` without ``functools.partial`` layers and ``__wrapped__`` wrappers (jax.jit)."""
    while True:
        if isinstance(fn, functools.partial):
            fn = fn.func
        elif hasattr(fn, "__wrapped__"):
            fn = fn.__wrapped__
        else:
            return fn


def collect_source(fn: Callable[..., Any], name: str | None = None) -> UserSource:
    """The self-contained source of ``fn`` (see the module docstring); ``name`` is the
    module-level name ``fn`` is declared under, when the caller knows it."""
    inner = real_function(fn)
    own = getattr(inner, "__fuzzjax_source__", None) or getattr(fn, "__fuzzjax_source__", None)
    if isinstance(own, str):
        return UserSource(own)  # a generated program: self-contained by the grammar
    module = inspect.getmodule(inner)
    try:
        module_text = inspect.getsource(module) if module is not None else ""
        tree = ast.parse(module_text) if module is not None else None
    except (OSError, TypeError, SyntaxError):
        tree, module_text = None, ""
    if tree is None or module is None:
        return _without_module(inner)
    file = _ModuleFile(tree, module_text, vars(module))
    bound = [
        n
        for n in ([name] if name else []) + file.names_of(fn)
        if n in file.defs and file.values.get(n) is fn
    ]
    if bound:
        result = file.render({bound[0]}, extra=[])
        result.entry = bound[0]
        return result
    inner_name = getattr(inner, "__name__", "")
    needed: set[str]
    extra: list[str] = []
    missing: list[str] = []
    if inner_name in file.defs and real_function(file.values.get(inner_name)) is inner:
        needed = {inner_name}
    else:  # a closure or a function defined elsewhere than at the top of its file
        own_text, needed, missing = _nested(inner, file)
        needed |= _code_names(inner) & set(file.defs)
        extra.append(own_text)
    if isinstance(fn, functools.partial):
        line = _partial_line(fn, name or inner_name, inner_name)
        if line is None:
            missing.append(f"{name or inner_name} (functools.partial arguments)")
        else:
            if file.values.get("functools") is functools:
                needed.add("functools")
            else:
                extra.append("import functools")
            extra.append(line)
    result = file.render(needed, extra=extra)
    explained = {m.split(" ")[0] for m in missing}
    result.missing = missing + [m for m in result.missing if m not in explained]
    return result


class _ModuleFile:
    """The top-level statements of a module's file, by the names they define."""

    def __init__(self, tree: ast.Module, text: str, values: dict[str, Any]) -> None:
        self.lines = text.splitlines()
        self.values = values
        self.statements = [s for s in tree.body if isinstance(s, _TOP_LEVEL)]
        self.defs: dict[str, list[int]] = {}
        for i, stmt in enumerate(self.statements):
            for defined in _defined_names(stmt):
                self.defs.setdefault(defined, []).append(i)

    def names_of(self, obj: Any) -> list[str]:
        return [k for k, v in self.values.items() if v is obj and not k.startswith("__")]

    def render(self, needed: set[str], *, extra: list[str]) -> UserSource:
        """The statements defining ``needed`` and what they use, in file order, then
        ``extra``; names used but defined nowhere go to ``missing``."""
        chosen: set[int] = set()
        missing: list[str] = []
        todo = sorted(needed | _free_names_of("\n".join(extra)))
        seen: set[str] = set()
        while todo:
            used = todo.pop()
            if used in seen:
                continue
            seen.add(used)
            if used not in self.defs:
                if used not in _BUILTINS:
                    missing.append(used)
                continue
            for i in self.defs[used]:
                if i not in chosen:
                    chosen.add(i)
                    stmt = self.statements[i]
                    missing += _foreign_imports(stmt, used)
                    todo += sorted(_free_names(stmt))
            todo += sorted(_code_names(self.values.get(used)) & set(self.defs))
        parts = [self._text(self.statements[i]) for i in sorted(chosen)]
        return UserSource(_join(parts + extra), sorted(set(missing)))

    def _text(self, stmt: ast.stmt) -> str:
        decorators = getattr(stmt, "decorator_list", [])
        first = min([stmt.lineno, *(d.lineno for d in decorators)])
        return "\n".join(self.lines[first - 1 : stmt.end_lineno])


def _join(parts: list[str]) -> str:
    """Statements as a file: two blank lines around functions and classes, none elsewhere."""
    text = ""
    previous_block = False
    for part in parts:
        block = part.lstrip().startswith(_BLOCK_STARTS)
        gap = "\n\n\n" if block or previous_block else "\n"
        text = f"{text}{gap}{part.strip(chr(10))}" if text else part.strip("\n")
        previous_block = block
    return text + "\n"


_BLOCK_STARTS = ("def ", "class ", "@", "async def ")


def _without_module(inner: Any) -> UserSource:
    try:
        text = textwrap.dedent(inspect.getsource(inner))
    except (OSError, TypeError):
        return UserSource("", [getattr(inner, "__name__", "fn") + " (no source)"])
    return UserSource(text, sorted(_free_names_of(text) - _BUILTINS))


def _nested(inner: Any, file: _ModuleFile) -> tuple[str, set[str], list[str]]:
    """A non-top-level function's own text, the module names it uses, what is missing."""
    try:
        text = textwrap.dedent(inspect.getsource(inner))
        ast.parse(text)
    except (OSError, TypeError):
        return "", set(), [f"{getattr(inner, '__name__', 'fn')} (no source)"]
    except SyntaxError:  # a lambda inside an expression: getsource gives the whole line
        return text, set(), [f"{inner.__name__} (written inside an expression)"]
    lines, needed, missing = [], set(), []
    cells = inner.__closure__ or ()
    for free, cell in zip(inner.__code__.co_freevars, cells, strict=True):
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell
            missing.append(free)
            continue
        if free in file.defs and file.values.get(free) is value:
            needed.add(free)
        elif (literal := _literal(value)) is not None:
            lines.append(f"{free} = {literal}")
        elif isinstance(value, types.ModuleType) and value.__name__.split(".")[0] in (
            KNOWN_PACKAGES
        ):
            lines.append(f"import {value.__name__} as {free}")
        else:
            missing.append(f"{free} (closure over a {type(value).__name__})")
    return _join([*lines, text]) if lines else text, needed, missing


def _literal(value: Any) -> str | None:
    """``repr(value)`` when it reads back as an equal Python literal."""
    text = repr(value)
    try:
        same = ast.literal_eval(text) == value and type(ast.literal_eval(text)) is type(value)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    return text if same is True else None


def _partial_line(fn: functools.partial[Any], name: str, inner_name: str) -> str | None:
    parts = [inner_name]
    for value in fn.args:
        parts.append(_literal(value) or "")
    for key, value in fn.keywords.items():
        parts.append(f"{key}={_literal(value) or ''}")
    if any(p == "" or p.endswith("=") for p in parts) or isinstance(fn.func, functools.partial):
        return None
    if name == inner_name or not name.isidentifier() or keyword.iskeyword(name):
        name = f"{inner_name}_partial"  # a declared name is written into code only if it is one
    return f"{name} = functools.partial({', '.join(parts)})"


def _defined_names(stmt: ast.stmt) -> Iterator[str]:
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        yield stmt.name
    elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
        for alias in stmt.names:
            yield alias.asname or alias.name.split(".")[0]
    else:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]  # type: ignore[attr-defined]
        for target in targets:
            for node in ast.walk(target):
                if isinstance(node, ast.Name):
                    yield node.id


def _foreign_imports(stmt: ast.stmt, used: str) -> list[str]:
    """``used`` when ``stmt`` imports it from outside ``KNOWN_PACKAGES``."""
    if isinstance(stmt, ast.ImportFrom):
        root = (stmt.module or "").split(".")[0]
        if stmt.level > 0 or root not in KNOWN_PACKAGES:
            return [f"{used} (from {'.' * stmt.level}{stmt.module or ''})"]
    elif isinstance(stmt, ast.Import):
        for alias in stmt.names:
            if (alias.asname or alias.name.split(".")[0]) == used and alias.name.split(".")[
                0
            ] not in KNOWN_PACKAGES:
                return [f"{used} (import {alias.name})"]
    return []


def _code_names(obj: Any) -> set[str]:
    """Global and attribute names the compiled code of a function (nested code included)
    reads; empty for anything that is not a Python function."""
    code = getattr(real_function(obj), "__code__", None)
    names: set[str] = set()
    todo = [code] if isinstance(code, types.CodeType) else []
    while todo:
        c = todo.pop()
        names.update(c.co_names)
        todo += [k for k in c.co_consts if isinstance(k, types.CodeType)]
    return names


def _free_names_of(text: str) -> set[str]:
    """Names a piece of code reads and binds nowhere in it."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return set()
    return _free_names(tree)


def _free_names(stmt: ast.AST) -> set[str]:
    """Names ``stmt`` reads that it does not bind itself. Scopes are merged, so a global that
    shares its name with a local of a nested scope is missed here: for functions,
    ``_code_names`` (from the compiled code) completes it."""
    loads: set[str] = set()
    bound: set[str] = set()
    for node in ast.walk(stmt):
        if isinstance(node, ast.Name):
            (loads if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.alias) and not isinstance(stmt, (ast.Import, ast.ImportFrom)):
            bound.add(node.asname or node.name.split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return set()
    return loads - bound
