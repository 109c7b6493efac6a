"""lax primitives with a StableHLO op of their own (issue 16): each form lowers to its op, and
the NumPy reference computes what JAX computes."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from jax import lax

from fuzzjax.fuzzing.inputs import float_edges
from fuzzjax.fuzzing.reference import evaluate
from fuzzjax.fuzzing.reference.lowlevel import reduce_precision
from fuzzjax.lowering.canonical import op_counts
from fuzzjax.lowering.lower import load_function, lower_text

MESH = 'mesh=jax.make_mesh((1,), ("i",), axis_types=(jax.sharding.AxisType.Auto,))'
SPECS = "in_specs=jax.P(), out_specs=jax.P()"

#: (program body over x0 (float32[3, 4]) or n0 (int32[3, 4]), the op it must lower to).
FORMS = [
    ("lax.population_count(x1)", "stablehlo.popcnt"),
    ("lax.clz(x1)", "stablehlo.count_leading_zeros"),
    ("lax.reduce_precision(x0, exponent_bits=5, mantissa_bits=10)", "stablehlo.reduce_precision"),
    ("lax.optimization_barrier(x0)", "stablehlo.optimization_barrier"),
    ("jnp.fft.fft(x0)", "stablehlo.fft"),
    ("jnp.fft.ifft(x0)", "stablehlo.fft"),
    ("jnp.fft.rfft(x0)", "stablehlo.fft"),
    ("jnp.fft.irfft(x0)", "stablehlo.fft"),
    ('lax.composite(jax.nn.silu, name="fuzzjax.silu")(x0)', "stablehlo.composite"),
    (f'jax.shard_map(lambda a0: lax.psum(a0 * 2.0, "i"), {MESH}, {SPECS})(x0)',
     "stablehlo.all_reduce"),
    (f'jax.shard_map(lambda a0: lax.pmean(a0, "i"), {MESH}, {SPECS})(x0)',
     "stablehlo.all_reduce"),
    (f'jax.shard_map(lambda a0: lax.ppermute(a0, "i", perm=[(0, 0)]), {MESH}, {SPECS}, '
     "check_vma=False)(x0)", "stablehlo.collective_permute"),
    (f'jax.shard_map(lambda a0: lax.all_gather(a0, "i", tiled=True), {MESH}, {SPECS}, '
     "check_vma=False)(x0)", "stablehlo.all_gather"),
    (f'jax.shard_map(lambda a0: lax.psum_scatter(a0, "i", tiled=True), {MESH}, {SPECS}, '
     "check_vma=False)(x0)", "stablehlo.reduce_scatter"),
    (f'jax.shard_map(lambda a0: jnp.where(lax.axis_index("i") == 0, a0, 0), {MESH}, {SPECS}, '
     "check_vma=False)(x0)", "stablehlo.partition_id"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "op"), FORMS)
def test_form_lowers_to_its_op_and_the_reference_agrees(body: str, op: str) -> None:
    source = f"def f(x0, x1):\n    return {body}\n"
    fn = load_function(source)  # parses under the grammar first
    specs = [jax.ShapeDtypeStruct((3, 4), "float32"), jax.ShapeDtypeStruct((3, 4), "int32")]
    assert op in op_counts(lower_text(fn, specs))
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal((3, 4)).astype(np.float32)
    x1 = rng.integers(-(2**31), 2**31 - 1, (3, 4), dtype=np.int64).astype(np.int32)
    got = np.asarray(jax.jit(fn)(x0, x1))
    want = np.asarray(evaluate(source, [x0, x1]).result.value)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize("bits", [(5, 10), (8, 7), (4, 3)])
def test_reduce_precision_reference_is_bit_exact(bits: tuple[int, int]) -> None:
    rng = np.random.default_rng(1)
    spread = rng.standard_normal(4000) * 10.0 ** rng.integers(-45, 39, 4000)
    x = np.concatenate([float_edges("float32"), spread, [6.1e-5, 6.09e-5, 65519.0, 65520.0]])
    x = x.astype(np.float32)
    e, m = bits
    got = np.asarray(jax.jit(lambda a: lax.reduce_precision(a, e, m))(x))
    want = reduce_precision(x, e, m, "float32").astype(np.float32)
    same = (got == want) & (np.signbit(got) == np.signbit(want))
    assert np.all(same | (np.isnan(got) & np.isnan(want))), x[~same][:5]


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int32"])
def test_bit_counts_match_jax(dtype: str) -> None:
    info = np.iinfo(dtype)
    values = np.arange(info.min, info.max + 1) if info.bits == 8 else None
    if values is None:
        values = np.array([0, 1, -1, 2, 255, 256, 1 << 30, info.min, info.max, -12345])
    x = values.astype(dtype)
    for name, fn in (("lax_population_count", lax.population_count), ("lax_clz", lax.clz)):
        source = f"def f(x0):\n    return lax.{name.removeprefix('lax_')}(x0)\n"
        want = np.asarray(evaluate(source, [x]).result.value)
        np.testing.assert_array_equal(np.asarray(jax.jit(fn)(x)), want)
