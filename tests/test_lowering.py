"""Lowering: every generated program lowers, canonical text is stable, extract_ir_pair works."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fuzzjax.generation.generator import generate
from fuzzjax.lowering.canonical import canonicalize, ir_hash, op_counts
from fuzzjax.lowering.lower import extract_ir_pair, load_function, lower_program
from fuzzjax.syntax import ProgramSyntaxError


def test_500_seeds_over_depths_1_to_5_all_lower_with_the_planned_result_type() -> None:
    depths = set()
    for seed in range(500):
        program = generate(seed, max_depth=5)
        pair = lower_program(program)  # raises LoweringError on any failure or type mismatch
        assert pair.ir_code.startswith("module @jit_f")
        depths.add(program.depth)
    assert depths == {1, 2, 3, 4, 5}


def test_text_outside_the_grammar_is_never_executed(tmp_path) -> None:  # noqa: ANN001
    marker = tmp_path / "executed"
    evil = f"def f(x0):\n    open({str(marker)!r}, 'w')\n    return x0\n"
    with pytest.raises(ProgramSyntaxError):
        load_function(evil)
    with pytest.raises(ProgramSyntaxError):
        load_function("import os\ndef f(x0):\n    return x0\n")
    assert not marker.exists()


def test_canonical_text_renames_private_functions_by_first_appearance() -> None:
    a = (
        "module @jit_foo attributes {} {\n"
        "  func.func public @main(%arg0: tensor<f32>) -> tensor<f32> {\n"
        "    %0 = call @relu_3(%arg0) : (tensor<f32>) -> tensor<f32>\n"
        "    %1 = call @_where(%0) : (tensor<f32>) -> tensor<f32>\n"
        "    return %1 : tensor<f32> loc(#loc3)\n  }\n"
        "  func.func private @relu_3(%arg0: tensor<f32>) -> tensor<f32> {\n  }\n"
        "  func.func private @_where(%arg0: tensor<f32>) -> tensor<f32> {\n  }\n}\n"
        '#loc3 = loc("x.py":1:2)\n'
    )
    b = a.replace("relu_3", "relu").replace("@jit_foo", "@jit_bar").replace(" loc(#loc3)", "")
    b = b.replace('#loc3 = loc("x.py":1:2)\n', "")
    assert canonicalize(a) == canonicalize(b)
    assert "@relu_0" in canonicalize(a) and "@where_1" in canonicalize(a)
    assert "loc(" not in canonicalize(a)
    assert op_counts(canonicalize(a))["func.call"] == 2


def test_hash_is_independent_of_trace_history() -> None:
    """The same program hashes equal whether lowered first or after other traces."""

    def program(x):  # noqa: ANN001, ANN202
        return jnp.argmax(jax.nn.relu(x), axis=0) + jnp.argmin(x, axis=0)

    spec = jax.ShapeDtypeStruct((3, 4), jnp.float32)
    first = extract_ir_pair(program, spec).ir_hash
    for k in range(3):  # trace other functions that create the same private symbols

        def other(x, k=k):  # noqa: ANN001, ANN202
            return jax.nn.relu(x) * k + jnp.argmax(x, axis=1)[0]

        jax.jit(other).lower(spec)

    def program_again(x):  # noqa: ANN001, ANN202
        return jnp.argmax(jax.nn.relu(x), axis=0) + jnp.argmin(x, axis=0)

    assert extract_ir_pair(program_again, spec).ir_hash == first


def test_extract_ir_pair_on_a_user_function() -> None:
    def saxpy(a, x, y):  # noqa: ANN001, ANN202
        return a * x + y

    pair = extract_ir_pair(saxpy, np.float32(2.0), np.ones(4, np.float32), jnp.zeros(4))
    assert pair.function_name == "saxpy"
    assert "def saxpy" in pair.python_source
    assert pair.dialect == "stablehlo" and pair.hlo is None
    assert pair.op_counts["stablehlo.multiply"] == 1
    assert pair.input_info[1] == {
        "name": "x",
        "shape": [4],
        "dtype": "float32",
        "param": "x",
        "path": "",
        "weak_type": False,
    }
    assert pair.signature == "(a: float32[], x: float32[4], y: float32[4]) -> float32[4]"
    assert pair.ir_hash == ir_hash(pair.ir_code)
    assert pair.jax_version == jax.__version__
    with_hlo = extract_ir_pair(
        saxpy, np.float32(2.0), np.ones(4, np.float32), jnp.zeros(4), dialect="hlo"
    )
    assert with_hlo.hlo and "HloModule" in with_hlo.hlo


def test_extract_ir_pair_measures_depth_of_grammar_programs() -> None:
    program = generate(7, max_depth=3)
    fn = load_function(program.source)
    fn.__fuzzjax_source__ = program.source  # exec'd text has no file for inspect
    specs = [jax.ShapeDtypeStruct(a.shape, a.dtype) for a in program.args]
    pair = extract_ir_pair(fn, *specs)
    assert pair.depth == program.depth
    assert pair.ir_hash == lower_program(program).ir_hash
