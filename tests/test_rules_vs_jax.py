"""Every dtype signature in the typing table agrees with what JAX computes (jax.eval_shape),
with x64 disabled (the default) and, for the x64 dtype set, under ``jax.enable_x64(True)``."""

import jax
import jax.numpy as jnp
import pytest
from jax import lax

from fuzzjax.dtypes import ArrayType
from fuzzjax.lowering.lower import x64_scope
from fuzzjax.rules.reduce import SameShapeAxis
from fuzzjax.rules.shapes import Limits
from fuzzjax.rules.table import TABLE, Elementwise, Reduction
from fuzzjax.syntax import alternatives

ELEMENTWISE = [r for r in TABLE.values() if isinstance(r, Elementwise)]
REDUCTIONS = [r for r in TABLE.values() if isinstance(r, Reduction)]
MODES = pytest.mark.parametrize("x64", [False, True], ids=["x32", "x64"])


def _function_for(rule: Elementwise):  # noqa: ANN202
    syntax = alternatives()[rule.alias]
    if rule.alias.startswith("op_"):
        symbol = syntax.callee if rule.arity == 1 else syntax.symbol
        src = f"lambda a: {symbol}a" if rule.arity == 1 else f"lambda a, b: a {symbol} b"
        return eval(src)  # noqa: S307 - fixed operator text from our own grammar
    return _resolve(syntax.callee)


def _resolve(callee: str):  # noqa: ANN202
    """The function a grammar callee such as ``jax.nn.relu`` names."""
    return eval(callee, {"jax": jax, "jnp": jnp, "lax": lax})  # noqa: S307 - grammar text


@MODES
@pytest.mark.parametrize("shape", [(2, 3), ()], ids=["matrix", "scalar"])
@pytest.mark.parametrize("rule", ELEMENTWISE, ids=lambda r: r.alias)
def test_elementwise_signatures_match_jax(
    rule: Elementwise, shape: tuple[int, ...], x64: bool
) -> None:
    fn = _function_for(rule)
    with x64_scope(x64):
        for out, rows in rule.table(x64).items():
            if not rule.can_produce(ArrayType(out, shape), Limits(x64=x64)):
                continue
            for inputs in rows:
                specs = [jax.ShapeDtypeStruct(shape, jnp.dtype(d)) for d in inputs]
                got = jax.eval_shape(fn, *specs)
                assert str(got.dtype) == out, (rule.alias, inputs, out, got.dtype)
                assert got.shape == shape


def _along_axis(alias: str, table: dict[str, list[tuple[str, ...]]], **kwargs: object) -> list:
    """``eval_shape`` of ``fn(x, axis=1, **kwargs)`` on (2, 3) arrays, dtypes checked."""
    results = []
    fn = _resolve(alternatives()[alias].callee)
    for out, rows in table.items():
        extra = {"dtype": jnp.dtype(out)} if alias.endswith("_dtype") else {}
        for (dtype,) in rows:
            spec = jax.ShapeDtypeStruct((2, 3), jnp.dtype(dtype))
            got = jax.eval_shape(lambda x, e=extra: fn(x, axis=1, **kwargs, **e), spec)
            assert str(got.dtype) == out, (alias, dtype, out, got.dtype)
            results.append(got)
    return results


@MODES
@pytest.mark.parametrize("rule", REDUCTIONS, ids=lambda r: r.alias)
def test_reduction_signatures_match_jax(rule: Reduction, x64: bool) -> None:
    with x64_scope(x64):
        for got in _along_axis(rule.alias, rule.table(x64), keepdims=False):
            assert got.shape == (2,)


AXIS_RULES = [r for r in TABLE.values() if isinstance(r, SameShapeAxis)]


@MODES
@pytest.mark.parametrize("rule", AXIS_RULES, ids=lambda r: r.alias)
def test_axis_function_signatures_match_jax(rule: SameShapeAxis, x64: bool) -> None:
    with x64_scope(x64):
        _along_axis(rule.alias, rule.table(x64))  # shapes vary (diff shortens the axis)
