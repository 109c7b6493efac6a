"""Values of the NumPy reference: arrays with their JAX dtype and undefined masks, helpers."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeGuard

import numpy as np
from lark import Token, Tree

from fuzzjax import dtypes
from fuzzjax.dtypes import KIND
from fuzzjax.rules import promotion as dr
from fuzzjax.rules import table as rules
from fuzzjax.syntax import LEAF_ALIASES, operation_aliases

if TYPE_CHECKING:
    from fuzzjax.fuzzing.reference.interp import Interp

#: Test-only: ``FUZZJAX_TEST_BREAK_REF=sin`` makes the reference wrong for that alias, so the
#: fuzzer's end-to-end tests have a planted discrepancy to find, bucket and shrink.
TEST_BREAK_ENV = "FUZZJAX_TEST_BREAK_REF"
WEAK = ("i*", "f*", "c*")
#: Partial sums above this may overflow (float16/bfloat16 reductions accumulate in float32).
ACC_LIMIT = float(np.finfo(np.float32).max)
#: Whether the program under evaluation is an x64 program (JAX's x64 promotion and defaults).
#: Set for one evaluation by ``x64_mode`` (``fuzzjax.fuzzing.runner.program_mode``).
_X64: ContextVar[bool] = ContextVar("fuzzjax_reference_x64", default=False)


def x64() -> bool:
    """Whether the reference models an x64 program now (see ``x64_mode``)."""
    return _X64.get()


@contextlib.contextmanager
def x64_mode(enabled: bool) -> Iterator[None]:
    """Model x64 (``enabled``) or 32-bit programs until the block ends (this context only)."""
    token = _X64.set(enabled)
    try:
        yield
    finally:
        _X64.reset(token)


def promote_all(*ds: str) -> str:
    """``fuzzjax.dtypes.promote_all`` in the current mode."""
    return dtypes.promote_all(*ds, x64=x64())


def promote(a: str, b: str) -> str:
    return dtypes.promote(a, b, x64())


def default_int() -> str:
    """JAX's default integer in the current mode (int32, or int64 under x64)."""
    return dtypes.default_int(x64())


def default_float() -> str:
    """JAX's default float in the current mode (float32, or float64 under x64)."""
    return dtypes.default_float(x64())


def weak_default(dtype: str) -> str:
    """``fuzzjax.dtypes.weak_default`` in the current mode."""
    return dtypes.weak_default(dtype, x64())


class ReferenceFailure(RuntimeError):
    """The reference cannot evaluate a program (a fuzzjax bug, reported as a failure)."""


@dataclass
class Val:
    """An array in the NumPy form of ``dtype`` (or a weak literal) plus undefined masks."""

    value: np.ndarray
    dtype: str
    undefined: dict[str, np.ndarray] = field(default_factory=dict)
    items: tuple[Val, ...] | None = None  # a loop carry tuple (value, counter)
    #: Absolute error explained by rounding of the input alone (``elementwise.ROUNDED_INPUT``).
    slack: np.ndarray | None = None

    @property
    def weak(self) -> bool:
        return self.dtype in WEAK

    def mask(self) -> np.ndarray:
        """All undefined elements, whatever the tag."""
        out = np.zeros(np.shape(self.value), dtype=bool)
        for m in self.undefined.values():
            out = out | np.broadcast_to(m, out.shape)
        return out


@dataclass
class NodeEval:
    """One evaluated operation: its tree, alias, result and expression arguments."""

    tree: Tree[Token]
    alias: str
    val: Val
    args: list[tuple[Tree[Token], Val]]


@dataclass
class Evaluation:
    result: Val
    nodes: list[NodeEval]  # post-order


def is_expression(node: Tree[Token] | Token) -> TypeGuard[Tree[Token]]:
    return isinstance(node, Tree) and (
        node.data in LEAF_ALIASES or node.data in operation_aliases()
    )


def bind(it: Interp, names: dict[str, Val], body: Tree[Token]) -> Val:
    """Evaluate a lambda or function body with ``names`` bound (restored afterwards)."""
    saved = {n: it.env.get(n) for n in names}
    it.env.update(names)
    try:
        return it.eval(body)
    finally:
        for n, v in saved.items():
            if v is None:
                it.env.pop(n, None)
            else:
                it.env[n] = v


def flush_subnormals(x: np.ndarray, tiny: float) -> np.ndarray:
    return np.where(np.abs(x) < tiny, np.copysign(0.0, x), x)


def literal(text: str) -> Val:
    if text in ("True", "False"):
        return Val(np.array(text == "True"), "bool")
    if any(c in text for c in ".eEn"):  # includes "-jnp.inf"-style spellings
        return Val(np.array(float(text.replace("jnp.", ""))), "f*")
    return Val(np.array(int(text)), "i*")


def wide(x: np.ndarray, dtype: str) -> np.ndarray:
    kind = KIND[dtype]
    return x.astype(np.float64) if kind == "f" else x.astype(np.complex128) if kind == "c" else x


def concrete(vals: Sequence[Val]) -> list[str]:
    """Argument dtypes as JAX sees them: weak literals take the promoted dtype."""
    promoted = weak_default(promote_all(*[v.dtype for v in vals]))
    return [promoted if v.weak else v.dtype for v in vals]


def merge(vals: Sequence[Val], shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for v in vals:
        for tag, m in v.undefined.items():
            m = np.broadcast_to(m, shape)
            out[tag] = out[tag] | m if tag in out else m
    return out


def mark(undefined: dict[str, np.ndarray], tag: str, mask: Any) -> None:
    mask = np.asarray(mask)
    if mask.any():
        undefined[tag] = undefined[tag] | mask if tag in undefined else mask


def whole(vals: Sequence[Val], shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    """Undefined everywhere in the output when anything in an input is (coarse propagation)."""
    out: dict[str, np.ndarray] = {}
    for v in vals:
        for tag, m in v.undefined.items():
            if np.any(m):
                out[tag] = np.ones(shape, dtype=bool)
    return out


def attrs(tree: Tree[Token]) -> list[Tree[Token] | Token]:
    return [c for c in tree.children if not is_expression(c)]


def ints(node: Tree[Token] | Token) -> tuple[int, ...]:
    return (int(node),) if isinstance(node, Token) else tuple(int(str(t)) for t in node.children)


def dtype_fn(alias: str) -> dr.DtypeFn:
    """The result-dtype function of ``alias`` in the current mode."""
    fn: dr.DtypeFn = rules.TABLE[alias].dtype_fn  # type: ignore[attr-defined]
    return functools.partial(fn, x64=x64()) if x64() else fn


#: The reference implementation of one operation: (interpreter, its tree, evaluated operands).
Impl = Callable[["Interp", Tree[Token], list[Val]], Val]


def counter(n: int) -> Val:
    """A loop index or while-loop counter: JAX's default integer (int64 under x64)."""
    dtype = default_int()
    return Val(np.array(n, dtype=np.int64 if dtype == "int64" else np.int32), dtype)
