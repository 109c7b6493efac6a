"""The interpreter: evaluates a parsed program with one NumPy implementation per alias."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np
from lark import Lark, Token, Tree
from lark.exceptions import LarkError

from fuzzjax.dtypes import KIND, real_dtype
from fuzzjax.fuzzing.inputs import complex_from_parts, dtype_name, finfo, np_dtype
from fuzzjax.fuzzing.reference.arrays import IMPL as ARRAY_IMPL
from fuzzjax.fuzzing.reference.control import CONTROL
from fuzzjax.fuzzing.reference.creation import IMPL as CREATION_IMPL
from fuzzjax.fuzzing.reference.creation import const_value
from fuzzjax.fuzzing.reference.elementwise import IMPL as ELEMENTWISE_IMPL
from fuzzjax.fuzzing.reference.forms import IMPL as FORMS_IMPL
from fuzzjax.fuzzing.reference.forms import method_impls
from fuzzjax.fuzzing.reference.lax_general import IMPL as LAX_GENERAL_IMPL
from fuzzjax.fuzzing.reference.linalg import IMPL as LINALG_IMPL
from fuzzjax.fuzzing.reference.lowlevel import IMPL as LOWLEVEL_IMPL
from fuzzjax.fuzzing.reference.random import IMPL as RANDOM_IMPL
from fuzzjax.fuzzing.reference.values import (
    TEST_BREAK_ENV,
    Evaluation,
    Impl,
    NodeEval,
    ReferenceFailure,
    Val,
    flush_subnormals,
    is_expression,
    literal,
    wide,
    x64_mode,
)
from fuzzjax.syntax import (
    CONST_ALIASES,
    NAME_ALIASES,
    ProgramSyntaxError,
    grammar_text,
    input_names,
    leaf_name,
    parameters,
)


@cache
def positions_parser() -> Lark:
    """The grammar's parser with source positions on every tree."""
    return Lark(
        grammar_text(), parser="lalr", start="start", propagate_positions=True,
        maybe_placeholders=False, cache=True,
    )  # fmt: skip


def parse_with_positions(source: str) -> Tree[Token]:
    """Parse program text keeping source positions; ``ProgramSyntaxError`` if not ours."""
    try:
        return positions_parser().parse(source)
    except LarkError as exc:
        raise ProgramSyntaxError(f"not in the fuzzjax grammar: {str(exc).strip()[:200]}") from None


def evaluate(
    source: str, inputs: Sequence[np.ndarray], *, ftz: bool = False, x64: bool | None = None
) -> Evaluation:
    """Evaluate program text on concrete inputs, as an x64 program if ``x64`` (None: the
    current mode, ``values.x64_mode``)."""
    if x64 is not None:
        with x64_mode(x64):
            return evaluate(source, inputs, ftz=ftz)
    tree = parse_with_positions(source)
    funcdef = tree.children[0]
    assert isinstance(funcdef, Tree)
    names = input_names(parameters(tree))
    if len(names) != len(inputs):
        raise ReferenceFailure(f"{len(names)} parameters but {len(inputs)} inputs")
    env = {
        n: Val(np.asarray(x), dtype_name(np.asarray(x).dtype))
        for n, x in zip(names, inputs, strict=True)
    }
    it = Interp(source, env, ftz)
    result: Val | None = None
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for child in funcdef.children:
            if isinstance(child, Tree) and child.data == "assign":
                env[str(child.children[0])] = it.eval(child.children[1])
            elif isinstance(child, Tree) and child.data == "defjvps":
                continue  # a derivative rule: JAX's business; the reference differentiates
            elif isinstance(child, Tree) and child.data in ("fundef", "custom_fundef"):
                name, *arguments = [str(t) for t in child.children if isinstance(t, Token)]
                body = next(c for c in child.children if isinstance(c, Tree))
                it.functions[name] = (arguments, body)
            elif isinstance(child, Tree) and child.data != "params":
                result = it.eval(child)
    assert result is not None
    return Evaluation(result, it.nodes)


class Interp:
    def __init__(self, source: str, env: dict[str, Val], ftz: bool, precise: bool = False) -> None:
        self.source, self.env, self.ftz, self.precise = source, env, ftz, precise
        self.nodes: list[NodeEval] = []
        #: Named local functions (``def body0(i0, c0): ...``): parameter names and return.
        self.functions: dict[str, tuple[list[str], Tree[Token]]] = {}
        self.broken = os.environ.get(TEST_BREAK_ENV, "")

    def eval(self, node: Tree[Token] | Token) -> Val:
        assert isinstance(node, Tree)
        if node.data in NAME_ALIASES:
            return self.env[str(node.children[0])]
        if node.data == "param_item":  # params["w"], batch[0]: one input each
            return self.env[leaf_name(node)]
        if node.data == "literal":
            return literal(str(node.children[0]))
        if node.data in CONST_ALIASES:
            return const_value(self, node)
        if node.data == "tuple_display":
            return Val(np.zeros(0), "tuple", items=tuple(self.eval(c) for c in node.children))
        if node.data in CONTROL:
            val = CONTROL[node.data](self, node)
            self.nodes.append(NodeEval(node, node.data, val, []))
            return val
        args = [(c, self.eval(c)) for c in node.children if is_expression(c)]
        impl = IMPL.get(node.data)
        if impl is None:
            raise ReferenceFailure(f"no NumPy implementation for {node.data}")
        val = impl(self, node, [v for _, v in args])
        if node.data == self.broken:  # test-only planted discrepancy
            val = Val((val.value * 2 + 0.5).astype(val.value.dtype), val.dtype, val.undefined)
        self.nodes.append(NodeEval(node, node.data, val, args))
        return val

    def text(self, tree: Tree[Token] | Token) -> str:
        if isinstance(tree, Token):
            return str(tree)
        return self.source[tree.meta.start_pos : tree.meta.end_pos]

    def flush(self, x: np.ndarray, dtype: str) -> np.ndarray:
        """Flush subnormals of ``dtype`` to signed zero (ftz mode only)."""
        if not self.ftz or KIND.get(dtype, "") not in "fc":
            return x
        tiny = float(finfo(real_dtype(dtype)).smallest_normal)
        if KIND[dtype] == "c":
            parts = (flush_subnormals(x.real, tiny), flush_subnormals(x.imag, tiny))
            # Not re + 1j * im: 1j * nan is nan+nanj. A real x (cast to complex) stays real.
            kind = x.dtype if np.iscomplexobj(x) else np.result_type(x.dtype, np.complex64)
            return complex_from_parts(*parts, kind)
        return flush_subnormals(x, tiny)

    def to(self, val: Val, dtype: str) -> np.ndarray:
        """``val`` cast to ``dtype`` as JAX would, widened for computation, DAZ-flushed."""
        x = np.asarray(val.value)
        if self.precise and KIND[dtype] == "f" and x.dtype.kind in "fV":
            return x.astype(np.float64)  # precise mode (numerical derivatives): no rounding
        x = self.daz(x, val.dtype, dtype)
        return self.flush(wide(x.astype(np_dtype(dtype)), dtype), dtype)

    def daz(self, x: np.ndarray, source: str, target: str) -> np.ndarray:
        """ftz mode: XLA's CPU conversion from float32 (and bfloat16, through float32) to
        float64 (x64 programs) reads a subnormal as zero (DAZ), though it is a normal float64.
        Other widenings (float16/bfloat16 to float32) keep subnormals."""
        if self.ftz and real_dtype(target) == "float64" and source in _DAZ_SOURCES:
            return self.flush(x, "float32" if source == "bfloat16" else source)
        return x

    def out(self, x: Any, dtype: str, undefined: dict[str, np.ndarray] | None = None) -> Val:
        """A result rounded to ``dtype`` (FTZ-flushed in ftz mode)."""
        if self.precise and KIND[dtype] == "f":
            return Val(np.asarray(x, dtype=np.float64), dtype, undefined or {})
        value = self.flush(np.asarray(x), dtype).astype(np_dtype(dtype))
        return Val(value, dtype, undefined or {})


#: Dtypes whose subnormals XLA's CPU conversion to float64 reads as zero (``Interp.daz``).
_DAZ_SOURCES = ("float32", "bfloat16", "complex64")


def _control(it: Interp, tree: Tree[Token], args: list[Val]) -> Val:
    return CONTROL[tree.data](it, tree)


#: The reference implementation of every operation alias (``tests/test_numpy_ref.py``
#: asserts that it covers ``fuzzjax.syntax.operation_aliases()``).
IMPL: dict[str, Impl] = {
    **ELEMENTWISE_IMPL,
    **{alias: impl for alias, impl in ARRAY_IMPL.items() if alias not in ELEMENTWISE_IMPL},
    **LINALG_IMPL,
    **CREATION_IMPL,
    **FORMS_IMPL,
    **RANDOM_IMPL,
    **LAX_GENERAL_IMPL,
    **LOWLEVEL_IMPL,
    **{alias: _control for alias in CONTROL},
}
IMPL.update(method_impls(IMPL))
