"""Every dtype signature in the typing table agrees with what JAX computes (jax.eval_shape)."""

import jax
import jax.numpy as jnp
import pytest
from jax import lax

from fuzzjax.dtypes import ArrayType
from fuzzjax.rules import TABLE, Elementwise, Reduction
from fuzzjax.rules_reduce import SameShapeAxis
from fuzzjax.shapes import Limits
from fuzzjax.syntax import alternatives

ELEMENTWISE = [r for r in TABLE.values() if isinstance(r, Elementwise)]
REDUCTIONS = [r for r in TABLE.values() if isinstance(r, Reduction)]


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


@pytest.mark.parametrize("shape", [(2, 3), ()], ids=["matrix", "scalar"])
@pytest.mark.parametrize("rule", ELEMENTWISE, ids=lambda r: r.alias)
def test_elementwise_signatures_match_jax(rule: Elementwise, shape: tuple[int, ...]) -> None:
    fn = _function_for(rule)
    for out, rows in rule.table.items():
        if not rule.can_produce(ArrayType(out, shape), Limits()):
            continue
        for inputs in rows:
            specs = [jax.ShapeDtypeStruct(shape, jnp.dtype(d)) for d in inputs]
            got = jax.eval_shape(fn, *specs)
            assert str(got.dtype) == out, (rule.alias, inputs, out, got.dtype)
            assert got.shape == shape


@pytest.mark.parametrize("rule", REDUCTIONS, ids=lambda r: r.alias)
def test_reduction_signatures_match_jax(rule: Reduction) -> None:
    fn = _resolve(alternatives()[rule.alias].callee)
    for out, rows in rule.table.items():
        extra = {"dtype": jnp.dtype(out)} if rule.alias.endswith("_dtype") else {}
        for (dtype,) in rows:
            spec = jax.ShapeDtypeStruct((2, 3), jnp.dtype(dtype))
            got = jax.eval_shape(
                lambda x, fn=fn, extra=extra: fn(x, axis=1, keepdims=False, **extra), spec
            )
            assert str(got.dtype) == out, (rule.alias, dtype, out, got.dtype)
            assert got.shape == (2,)


AXIS_RULES = [r for r in TABLE.values() if isinstance(r, SameShapeAxis)]


@pytest.mark.parametrize("rule", AXIS_RULES, ids=lambda r: r.alias)
def test_axis_function_signatures_match_jax(rule: SameShapeAxis) -> None:
    fn = _resolve(alternatives()[rule.alias].callee)
    for out, rows in rule.table.items():
        extra = {"dtype": jnp.dtype(out)} if rule.alias.endswith("_dtype") else {}
        for (dtype,) in rows:
            spec = jax.ShapeDtypeStruct((2, 3), jnp.dtype(dtype))
            got = jax.eval_shape(lambda x, fn=fn, extra=extra: fn(x, axis=1, **extra), spec)
            assert str(got.dtype) == out, (rule.alias, dtype, out, got.dtype)
