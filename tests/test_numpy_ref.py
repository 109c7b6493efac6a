"""The NumPy reference: covers the grammar, matches the typing table, independent of JAX."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest

from fuzzjax.fuzzing import benign
from fuzzjax.fuzzing import reference as numpy_ref
from fuzzjax.fuzzing.inputs import make_inputs
from fuzzjax.fuzzing.reference import IMPL, evaluate
from fuzzjax.generation.generator import generate
from fuzzjax.syntax import operation_aliases


def test_every_operation_alias_has_a_reference() -> None:
    assert set(IMPL) == set(operation_aliases())


def test_every_undefined_tag_is_in_the_benign_registry() -> None:
    package = Path(numpy_ref.__file__).parent
    source = "\n".join(f.read_text() for f in sorted(package.glob("*.py")))
    tags = set(re.findall(r'mark\(\s*\w+,\s*"([a-z_0-9]+)"', source))
    assert tags, "no tags found: the regex no longer matches numpy_ref"
    for tag in tags:
        assert benign.element_rule(tag).link.startswith("https://")


def test_reference_does_not_import_jax() -> None:
    code = (
        "import sys, numpy as np\n"
        "from fuzzjax.fuzzing.reference import evaluate\n"
        "evaluate('def f(x0):\\n    return jnp.sin(x0)\\n', [np.ones(3, np.float32)])\n"
        "assert not any(m == 'jax' or m.startswith('jax.') for m in sys.modules), 'jax imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.parametrize("seed", range(40))
def test_reference_types_agree_with_the_typing_table(seed: int) -> None:
    program = generate(seed, max_depth=3)
    ev = evaluate(program.source, make_inputs(program.args, seed))
    value = np.asarray(ev.result.value)
    assert ev.result.dtype == program.result_dtype, program.source
    assert value.shape == program.result_shape, program.source


def _run(source: str, *inputs: np.ndarray, ftz: bool = False) -> numpy_ref.Val:
    names = ", ".join(f"x{i}" for i in range(len(inputs)))
    return evaluate(f"def f({names}):\n    return {source}\n", list(inputs), ftz=ftz).result


def test_weak_literals_keep_the_array_dtype() -> None:
    out = _run("x0 + 1e-3", np.array([1.0], np.float16))
    assert out.dtype == "float16" and out.value.dtype == np.float16
    assert float(out.value[0]) == float(np.float16(1.0) + np.float16(1e-3))


def test_relu_at_infinities_and_nan() -> None:
    # was where(x > 0, x, 0 * x): relu(-inf) came out NaN (found by the 30-minute fuzz run)
    out = _run("jax.nn.relu(x0)", np.array([-np.inf, np.inf, np.nan, -1.0, 2.0], np.float32))
    assert out.value.tolist()[:2] == [0.0, np.inf] and np.isnan(out.value[2])
    assert out.value.tolist()[3:] == [0.0, 2.0]


def test_softmax_of_an_empty_axis_is_empty() -> None:
    # the reference raised "zero-size array to reduction operation maximum" (30-minute run)
    for source in ("jax.nn.softmax(x0, axis=0)", "jax.nn.log_softmax(x0, axis=0)"):
        out = _run(source, np.zeros((0, 5), np.float32))
        assert out.value.shape == (0, 5) and out.dtype == "float32"


def test_lgamma_of_minus_infinity_is_plus_infinity() -> None:
    # SciPy's gammaln(-inf) is -inf; C99 lgamma and XLA say +inf (30-minute run)
    out = _run("lax.lgamma(x0)", np.array([-np.inf, np.inf, 1.0], np.float32))
    assert out.value.tolist() == [np.inf, np.inf, 0.0]


def test_complex_expm1_at_infinity_follows_c99() -> None:
    out = _run("jnp.expm1(x0)", np.array([complex(np.inf, 0), 1e-3 + 0j], np.complex64))
    assert out.value[0] == complex(np.inf, 0)  # NumPy's own expm1 says inf+nanj
    assert abs(out.value[1] - np.expm1(1e-3)) < 1e-9


def test_complex_division_recovers_infinities_as_c99_annex_g() -> None:
    # NumPy gives nan+nanj for both; C99 G.5.2 (and XLA) recover the infinity.
    z = np.array([complex(np.nan, -np.inf), 1 + 0j], np.complex64)
    w = np.array([1 + 0j, 0j], np.complex64)
    out = _run("x0 / x1", z, w).value
    assert np.isnan(out[0].real) and out[0].imag == -np.inf
    assert out[1].real == np.inf and np.isnan(out[1].imag)
    plain = _run("x0 / x1", np.array([3 + 4j], np.complex64), np.array([1 - 2j], np.complex64))
    assert abs(plain.value[0] - (3 + 4j) / (1 - 2j)) < 1e-6


def test_conventions_are_marked_undefined() -> None:
    out = _run("x0 // x1", np.array([7, 7], np.int8), np.array([0, 2], np.int8))
    assert out.undefined["int_div_by_zero"].tolist() == [True, False]
    out = _run("x0 ** x1", np.array([127, 2], np.int8), np.array([-1, 3], np.int8))
    assert out.undefined["int_pow_negative_exponent"].tolist() == [True, False]
    assert int(out.value[1]) == 8
    out = _run("x0.astype(jnp.int8)", np.array([np.nan, 300.0, 5.7], np.float32))
    assert out.undefined["float_to_int_out_of_range"].tolist() == [True, True, False]
    assert int(out.value[2]) == 5


def test_ftz_variant_flushes_subnormals() -> None:
    tiny = np.array([1e-45, 1.0], np.float32)
    assert float(_run("x0 * 1.0", tiny).value[0]) != 0.0
    assert float(_run("x0 * 1.0", tiny, ftz=True).value[0]) == 0.0


@pytest.mark.parametrize(
    "source",
    [
        "def f(x0):\n    return x0.sort(axis=-2)\n",
        "def f(x0):\n    return jnp.sort(x0, axis=0)\n",
        "def f(x0):\n    return jnp.argsort(x0, axis=0)\n",
    ],
)
def test_ftz_reference_sorts_like_xla_subnormal_keys_tie_with_zero(source: str) -> None:
    """XLA on CPU compares flushed keys (a subnormal ties with 0, the sort is stable) and moves
    the unflushed values; the FTZ reference does the same (a fuzz bucket on ``.sort``)."""
    import jax

    from fuzzjax.lowering.lower import load_function

    tiny = np.float32(5.877472e-39)
    x = np.zeros((2, 3), np.float32)
    x[0, 1], x[1, 2], x[0, 0] = tiny, -tiny, np.nan
    got = np.asarray(jax.jit(load_function(source))(x))
    ref = np.asarray(evaluate(source, [x], ftz=True).result.value)
    assert got.dtype == ref.dtype and got.tobytes() == ref.tobytes()
    ieee = np.asarray(evaluate(source, [x]).result.value)
    assert ieee.tobytes() != got.tobytes()  # the IEEE reference orders the subnormal apart


@pytest.mark.parametrize(
    "source",
    [
        "def f(x0, x1):\n    return jnp.full_like(x0, x1)\n",
        "def f(x0, x1):\n    return jnp.full((2,), x1, dtype=jnp.int32)\n",
    ],
)
def test_a_fill_out_of_the_integer_range_is_undefined(source: str) -> None:
    """An inf (or too large) float fill converted to int32 has no defined value (a fuzz bucket
    on ``full_like``: the cast's mark was dropped)."""
    x0, x1 = np.zeros(2, np.int32), np.array(np.inf, np.float16)
    result = evaluate(source, [x0, x1]).result
    assert result.dtype == "int32"
    assert result.mask().all()
    assert not evaluate(source, [x0, np.array(3.0, np.float16)]).result.mask().any()


def test_a_solve_whose_partial_sums_overflow_is_undefined() -> None:
    """cho_solve of a well-conditioned factor and a right-hand side near float32's max: JAX's
    substitutions overflow (NaN) where the exact solution is finite (a fuzz bucket)."""
    source = "def f(x0, x1):\n    return jax.scipy.linalg.cho_solve((x0, False), x1)\n"
    factor = np.ones((2, 2), np.complex64)
    huge = np.zeros((2, 2), np.complex64)
    huge[0, 1] = np.complex64(3.4028235e38 - 3.4028235e38j)
    assert evaluate(source, [factor, huge]).result.mask().all()
    small = np.full((2, 2), 1 + 2j, np.complex64)
    assert not evaluate(source, [factor, small]).result.mask().any()


def test_ftz_flush_keeps_a_complex_nan_in_its_own_part() -> None:
    """Flushing a complex value's subnormal real part leaves its NaN imaginary part alone
    (``re + 1j * im`` made the real part NaN too: a fuzz bucket on ``segment_sum``)."""
    source = "def f(x0, x1):\n    return jax.ops.segment_sum(x0, x1, num_segments=2)\n"
    x0 = np.array([complex(1.1754942e-38, np.nan)], np.complex64)
    result = np.asarray(evaluate(source, [x0, np.array([0], np.int32)], ftz=True).result.value)
    assert result[0].real == 0 and np.isnan(result[0].imag)
    assert result[1] == 0


@pytest.mark.parametrize(
    "source",
    [
        "def f(x0, x1):\n    return jnp.tensordot(x0, x1, axes=1)\n",
        "def f(x0, x1):\n    return jnp.dot(x0, x1)\n",
        "def f(x0, x1):\n    return jnp.inner(x0, x1)\n",
    ],
)
def test_contractions_keep_inf_times_zero_nan(source: str) -> None:
    """NumPy's dot/tensordot/inner call BLAS matrix-vector products that skip zero entries
    (inf * 0 gave 0); JAX gives NaN, and so does the reference (a fuzz bucket on tensordot)."""
    import jax

    from fuzzjax.lowering.lower import load_function

    x0 = np.array([[np.inf], [1.0], [np.nan]], np.float16)
    x1 = np.zeros(1, np.float16)
    got = np.asarray(jax.jit(load_function(source))(x0, x1))
    want = np.asarray(evaluate(source, [x0, x1]).result.value)
    assert np.array_equal(np.isnan(got), np.isnan(want)) and np.isnan(want).sum() == 2


def test_a_zero_partial_times_an_infinite_tangent_is_not_checked() -> None:
    """``jax.jvp(lambda a: x0, ...)`` has tangent 0 whatever the tangent in (JAX never forms
    0 * inf); the reference's J @ t gave NaN (a fuzz bucket on jvp): such elements are not
    checked, while finite tangents still are."""
    source = "def f(x0, x1, x2):\n    return jax.jvp(lambda a0: x0, (x1,), (x2,))[1]\n"
    x0, x1 = np.ones(2, np.float32), np.ones(3, np.float32)
    infinite = evaluate(source, [x0, x1, np.array([1, np.inf, 2], np.float32)]).result
    assert infinite.mask().all()
    finite = evaluate(source, [x0, x1, np.array([1, 3, 2], np.float32)]).result
    assert not finite.mask().any() and not np.asarray(finite.value).any()


def test_flushing_a_real_value_cast_to_complex() -> None:
    # A 30-minute fuzz run's generator-stage bucket (7 hits): in ftz mode, a real fill value
    # cast to complex64 (jnp.full_like of a complex array) raised in the reference.
    source = "def f(x0):\n    return jnp.full_like(jnp.zeros((2,), dtype=jnp.complex64), x0)\n"
    x = np.array(1e-40, np.float32)
    flushed = evaluate(source, [x], ftz=True).result.value
    assert flushed.dtype == np.complex64 and (flushed == 0).all()
    assert (evaluate(source, [x]).result.value.real == np.float32(1e-40)).all()


def test_vjp_of_a_zero_size_argument() -> None:
    # A 30-minute fuzz run's reference-stage bucket: reshape((-1, ...)) of a size-0 Jacobian.
    source = "def f(x0, x1):\n    return jax.vjp(lambda a0: lax.imag(x0), x1)[1](x0.real)[0]\n"
    x0 = np.array(1 + 2j, np.complex64)
    x1 = np.zeros((0, 2, 2), np.float32)
    assert evaluate(source, [x0, x1]).result.value.shape == (0, 2, 2)


@pytest.mark.parametrize(
    ("source", "values", "dtype"),
    [
        # JAX (like NumPy) takes float16 std as sqrt(variance rounded to float16): inf here,
        # where the exact std is 3307.5 (the 30-minute check's std/nanstd buckets).
        ("jnp.std(x0, axis=0, keepdims=False)", [0, 0, 7016], np.float16),
        ("jnp.nanstd(x0, axis=0, keepdims=False)", [0, 0, 7016], np.float16),
        ("jnp.std(x0, axis=0, keepdims=False)", [0, 0, 4e19], ml_dtypes.bfloat16),
        # float16 norm: the sum of squares 65612 overflows float16, the norm (256.1) does not.
        ("jnp.linalg.norm(x0, axis=0, keepdims=False)", [0, 11.09, 255.9], np.float16),
        # a cumulative product whose partial products pass float16's range, then come back.
        ("jnp.cumprod(x0, axis=0)", [300, 300, 0.001, 0.001], np.float16),
    ],
)
def test_low_precision_intermediate_overflow_is_order_dependent(
    source: str, values: list[float], dtype: type
) -> None:
    x = np.asarray(values, dtype)
    result = evaluate(f"def f(x0):\n    return {source}\n", [x]).result
    marked = result.undefined.get("float_accumulation_order")
    assert marked is not None and np.any(marked), source
    # float32 keeps the same values: nothing to mark there.
    wide = evaluate(f"def f(x0):\n    return {source}\n", [x.astype(np.float32)]).result
    assert "float_accumulation_order" not in wide.undefined, source
