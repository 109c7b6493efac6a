"""Scientific-style kernels composed from grammar alternatives.

These are generator productions, not new syntax: each builds a tree of ordinary grammar
alternatives (``roll``, ``getitem``, ``pad``, ``grad``, operators, literals) in the shape of
real numerical code, with the shared field bound to a ``v`` local:

* ``heat``: one explicit heat-equation step ``u + 0.1 * (roll(u, 1) + roll(u, -1) - 2 * u)``;
* ``jacobi``: one Jacobi sweep for a 2-D Poisson problem on the interior, padded back;
* ``gd`` / ``momentum`` / ``adam``: an optimizer step on the gradient of a generated loss.

Each kernel adds a fixed number of levels (``DEPTH_COST``) above the sub-expression it wraps
(the field, or the loss body), so the generator can still hit its target depth exactly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fuzzjax.dtypes import ArrayType
from fuzzjax.generation.render import Node
from fuzzjax.rules.base import Body
from fuzzjax.syntax import NAME_ALIASES

if TYPE_CHECKING:
    from fuzzjax.generation.generator import Generator

FLOATS = ("float16", "bfloat16", "float32")
FLOATS_X64 = (*FLOATS, "float64")
DEPTH_COST = {"heat": 5, "jacobi": 6, "gd": 3, "momentum": 4, "adam": 8}


def _op(alias: str, out: ArrayType, *children: Node, **attrs: Any) -> Node:
    return Node(alias, out, list(children), dict(attrs))


def _lit(text: str) -> Node:
    return Node("literal", None, attrs={"text": text})


def applicable(out: ArrayType, depth: int, x64: bool) -> list[str]:
    """Kernels that can produce ``out`` at exactly ``depth`` (``x64``: float64 too)."""
    if out.dtype not in (FLOATS_X64 if x64 else FLOATS) or out.size == 0:
        return []
    found = []
    if out.rank >= 1 and depth >= DEPTH_COST["heat"]:
        found.append("heat")
    if out.rank == 2 and min(out.shape) >= 3 and depth >= DEPTH_COST["jacobi"]:
        found.append("jacobi")
    for name in ("gd", "momentum", "adam"):
        if depth >= DEPTH_COST[name]:
            found.append(name)
    return found


def build_kernel(gen: Generator, name: str, out: ArrayType, depth: int) -> Node:
    inner = depth - DEPTH_COST[name]
    if name == "heat":
        return _heat(gen, out, inner)
    if name == "jacobi":
        return _jacobi(gen, out, inner)
    return _optimizer(gen, name, out, inner)


def _field(gen: Generator, out: ArrayType, depth: int) -> Node:
    """A sub-expression used several times: bound to a local unless it is a leaf."""
    node = gen.expr(out, depth)
    if node.alias in NAME_ALIASES:
        return node
    return gen.bind(node, out, depth)


def _heat(gen: Generator, out: ArrayType, depth: int) -> Node:
    u = _field(gen, out, depth)
    axis = gen.ch.integer(0, out.rank - 1)
    left = _op("roll", out, u, shift=1, axis=axis)
    right = _op("roll", out, u, shift=-1, axis=axis)
    laplace = _op(
        "op_sub", out, _op("op_add", out, left, right), _op("op_mul", out, _lit("2.0"), u)
    )
    return _op("op_add", out, u, _op("op_mul", out, _lit("0.1"), laplace))


def _jacobi(gen: Generator, out: ArrayType, depth: int) -> Node:
    u = _field(gen, out, depth)
    interior = ArrayType(out.dtype, (out.shape[0] - 2, out.shape[1] - 2))

    def shifted(rows: str, cols: str) -> Node:
        return _op("getitem", interior, u, subs=[rows, cols])

    total = shifted(":-2", "1:-1")
    for rows, cols in (("2:", "1:-1"), ("1:-1", ":-2"), ("1:-1", "2:")):
        total = _op("op_add", interior, total, shifted(rows, cols))
    update = _op("op_mul", interior, _lit("0.25"), total)
    return _op("pad", out, update, widths=[(1, 1), (1, 1)])


def _optimizer(gen: Generator, name: str, out: ArrayType, depth: int) -> Node:
    w = gen.leaf(out)
    params = (("a", out, ""),)
    if depth >= 1:  # loss = jnp.sum(<expression of the weights a0>)
        names, inner = gen.body(Body(out, params, differentiable=True), depth - 1)
        loss = ArrayType(out.dtype, ())
        body = _op("sum", loss, inner, axis=None, keepdims=False)
    else:
        names, body = gen.body(Body(ArrayType(out.dtype, ()), params, differentiable=True), 0)
    grad = _op("grad", out, body, w, lambda_params=[names])
    if name == "gd":
        return _op("op_sub", out, w, _op("op_mul", out, _lit("0.1"), grad))
    if name == "momentum":
        velocity = _op("op_add", out, _op("op_mul", out, _lit("0.9"), gen.leaf(out)), grad)
        v = gen.bind(velocity, out, depth + 2)
        return _op("op_sub", out, w, _op("op_mul", out, _lit("0.1"), v))
    g = gen.bind(grad, out, depth + 1)
    m = gen.bind(
        _op("op_add", out, _op("op_mul", out, _lit("0.9"), gen.leaf(out)),
            _op("op_mul", out, _lit("0.1"), g)),
        out, depth + 3,
    )  # fmt: skip
    v = gen.bind(
        _op("op_add", out, _op("op_mul", out, _lit("0.999"), gen.leaf(out)),
            _op("op_mul", out, _lit("0.001"), _op("op_mul", out, g, g))),
        out, depth + 4,
    )  # fmt: skip
    denominator = _op("op_add", out, _op("sqrt", out, v), _lit("1e-8"))
    step = _op("op_truediv", out, _op("op_mul", out, _lit("0.001"), m), denominator)
    return _op("op_sub", out, w, step)
