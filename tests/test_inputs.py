"""Inputs with teeth: edge values for every float dtype, determinism from the input seed."""

from __future__ import annotations

import numpy as np
import pytest

from fuzzjax.fuzzing.inputs import describe, int_edges, make_inputs
from fuzzjax.program import ArgSpec

FLOAT_DTYPES = ["float16", "bfloat16", "float32", "complex64"]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_edge_values_appear_for_every_float_dtype(dtype: str) -> None:
    totals: dict[str, int] = {}
    for seed in range(40):
        (x,) = make_inputs([ArgSpec("x0", (64,), dtype)], seed)
        for name, count in describe(x).items():
            totals[name] = totals.get(name, 0) + count
    for edge in ("nan", "posinf", "neginf", "negzero", "subnormal", "max"):
        assert totals[edge] > 0, f"no {edge} in {dtype} inputs: {totals}"


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int32"])
def test_integer_extremes_appear(dtype: str) -> None:
    seen: set[int] = set()
    for seed in range(40):
        (x,) = make_inputs([ArgSpec("x0", (64,), dtype)], seed)
        seen |= {int(v) for v in x.ravel()}
    info = np.iinfo(dtype)
    assert int(info.min) in seen and int(info.max) in seen
    assert all(int(info.min) <= v <= int(info.max) for v in int_edges(dtype))


def test_inputs_are_determined_by_specs_and_seed() -> None:
    specs = [
        ArgSpec("x0", (3, 4), "bfloat16"),
        ArgSpec("x1", (), "bool"),
        ArgSpec("x2", (5,), "int8"),
    ]
    first, again, other = make_inputs(specs, 7), make_inputs(specs, 7), make_inputs(specs, 8)
    assert [a.tobytes() for a in first] == [b.tobytes() for b in again]
    assert [a.tobytes() for a in first] != [b.tobytes() for b in other]
    assert [str(a.dtype) for a in first] == ["bfloat16", "bool", "int8"]
    assert [a.shape for a in first] == [(3, 4), (), (5,)]


def test_some_arrays_are_edge_free() -> None:
    clean = 0
    for seed in range(60):
        (x,) = make_inputs([ArgSpec("x0", (32,), "float32")], seed)
        clean += bool(np.all(np.isfinite(x)))
    assert 0 < clean < 60
