"""lax primitives with a StableHLO op of their own (issue 16): each form lowers to its op, and
the NumPy reference computes what JAX computes."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from jax import lax

from fuzzjax.fuzzing.inputs import float_edges
from fuzzjax.fuzzing.reference import evaluate
from fuzzjax.fuzzing.reference.elementwise import polygamma, zeta
from fuzzjax.fuzzing.reference.lowlevel import max_pool_vjp, reduce_precision
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
    ('jax.vjp(lambda a0: jax.lax.reduce_window(a0, -jnp.inf, jax.lax.max, (2, 2), (1, 1), '
     '"VALID"), x0)[1](x0[:2, :3])[0]', "stablehlo.select_and_scatter"),
    ('jax.vjp(lambda a0: jax.lax.reduce_window(a0, -jnp.inf, jax.lax.max, (3, 2), (2, 1), '
     '"SAME"), x0)[1](x0[:2, :])[0]', "stablehlo.select_and_scatter"),
    (f"lax.with_sharding_constraint(x0, jax.sharding.NamedSharding({MESH[5:]}, jax.P()))",
     "sdy.sharding_constraint"),
    ("jax.scipy.special.polygamma(1, x0 * x0 + 0.5)", "chlo.polygamma"),
    ("jax.scipy.special.zeta(x0 * x0 + 1.5, x0 * x0 + 0.5)", "chlo.zeta"),
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


def _pool_vjp(window: tuple[int, ...], strides: tuple[int, ...], padding: str):  # noqa: ANN202
    def fn(x: jax.Array, g: jax.Array) -> jax.Array:
        def pool(a: jax.Array) -> jax.Array:
            return lax.reduce_window(a, -np.inf, lax.max, window, strides, padding)

        return jax.vjp(pool, x)[1](g)[0]

    return fn


@pytest.mark.parametrize("padding", ["VALID", "SAME"])
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_max_pool_vjp_reference_matches_select_and_scatter(padding: str, dtype: str) -> None:
    """Ties (the first maximum wins), NaN (replaced by the next element), -0 against +0,
    infinities and windows that overlap or hang over the edge (SAME)."""
    rng = np.random.default_rng(3)
    edges = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, 1.0, -1.0, 2.0])
    for trial in range(40):
        shape = tuple(int(d) for d in rng.integers(1, 6, rng.integers(1, 4)))
        window = tuple(int(rng.integers(1, min(3, d) + 1)) for d in shape)
        strides = tuple(int(rng.integers(1, 3)) for _ in shape)
        x = rng.choice(edges, shape) if trial % 2 else rng.integers(-2, 3, shape) * 1.0
        x = x.astype(dtype)
        fn = _pool_vjp(window, strides, padding)
        pooled = jax.eval_shape(
            lambda a, w=window, s=strides: lax.reduce_window(a, -np.inf, lax.max, w, s, padding),
            x,
        ).shape
        g = rng.integers(-4, 5, pooled).astype(dtype)  # small integers: sums are exact
        got = np.asarray(jax.jit(fn)(x, g)).astype(np.float64)
        want, _, _ = max_pool_vjp(x.astype(np.float64), g.astype(np.float64), window, strides,
                                  padding)  # fmt: skip
        np.testing.assert_array_equal(got, want, err_msg=f"{x!r} {g!r} {window} {strides}")


def test_polygamma_and_zeta_references_agree_with_jax_on_their_domain() -> None:
    rng = np.random.default_rng(4)
    x = np.concatenate([rng.uniform(0.05, 30.0, 300), [1.0, 2.0, 0.5, 7.25]]).astype(np.float32)
    for n in range(4):
        got = np.asarray(jax.jit(lambda a, n=n: jax.scipy.special.polygamma(n, a))(x))
        want = polygamma(n, x.astype(np.float64))
        np.testing.assert_allclose(got, want, rtol=2e-4, err_msg=f"polygamma n={n}")
    s = rng.uniform(1.05, 20.0, x.shape).astype(np.float32)
    got = np.asarray(jax.jit(jax.scipy.special.zeta)(s, x))
    np.testing.assert_allclose(got, zeta(s.astype(np.float64), x.astype(np.float64)), rtol=2e-4)
    # poles: polygamma of odd order goes to +inf, of even order has no limit; zeta(1, q) is +inf
    poles = np.array([0.0, -1.0, -3.0], np.float32)
    for n in range(4):
        got = np.asarray(jax.jit(lambda a, n=n: jax.scipy.special.polygamma(n, a))(poles))
        np.testing.assert_array_equal(got, polygamma(n, poles.astype(np.float64)))
    assert np.all(np.isinf(zeta(np.ones(3), np.array([0.5, 1.0, 4.0]))))


def test_rbg_samples_are_compared_between_jax_runs_only() -> None:
    """An rbg key lowers to rng_bit_generator; jit and eager agree; the reference gives the
    type and marks every element ``rng_bit_generator`` (XLA's bits are not computed)."""
    source = (
        "def f(x0):\n"
        '    return jax.random.uniform(jax.random.fold_in(jax.random.key(3, impl="rbg"), 2), '
        "(2, 3)) + x0\n"
    )
    fn = load_function(source)
    spec = jax.ShapeDtypeStruct((2, 3), "float32")
    assert "stablehlo.rng_bit_generator" in op_counts(lower_text(fn, [spec]))
    x = np.ones((2, 3), np.float32)
    got = np.asarray(jax.jit(fn)(x))
    with jax.disable_jit():
        assert np.array_equal(np.asarray(fn(x)), got)
    ref = evaluate(source, [x]).result
    assert ref.dtype == "float32" and np.shape(ref.value) == got.shape
    assert set(ref.undefined) == {"rng_bit_generator"} and ref.mask().all()
    threefry = evaluate(source.replace(', impl="rbg"', ""), [x]).result
    assert not threefry.mask().any()


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_solve_triangular_is_xlas_own_and_within_the_substitution_bound(dtype: str) -> None:
    """float16/bfloat16 ``solve_triangular`` lowers to ``stablehlo.triangular_solve`` (LAPACK
    dtypes become a custom_call on CPU); jit's result is within the reference's slack
    (``substitution_slack``) on well-conditioned systems, and the slack still rejects the
    solution of the other triangle."""
    from fuzzjax.fuzzing.inputs import np_dtype
    from fuzzjax.fuzzing.oracles import compare

    rng = np.random.default_rng(1)
    for n, k, lower in [(1, 0, True), (4, 2, False), (9, 0, True), (16, 3, False)]:
        source = (
            f"def f(x0, x1):\n    return jax.scipy.linalg.solve_triangular(x0, x1, lower={lower})\n"
        )
        t = rng.standard_normal((n, n)) + 4 * np.eye(n)
        b = rng.standard_normal((n, k) if k else (n,)) * 10
        x0, x1 = t.astype(np_dtype(dtype)), b.astype(np_dtype(dtype))
        fn = load_function(source)
        specs = [jax.ShapeDtypeStruct(x0.shape, dtype), jax.ShapeDtypeStruct(x1.shape, dtype)]
        ops = op_counts(lower_text(fn, specs))
        assert "stablehlo.triangular_solve" in ops and "stablehlo.custom_call" not in ops
        got = np.asarray(jax.jit(fn)(x0, x1))
        ref = evaluate(source, [x0, x1]).result
        assert ref.slack is not None and not ref.mask().any()
        diff = compare(got, np.asarray(ref.value), dtype, undefined=ref.undefined, atol=ref.slack)
        assert not diff.failed, (n, k, lower, diff.detail)
        if n > 1:  # the other triangle's solution is caught: the slack is no licence
            other = np.triu(t) if lower else np.tril(t)
            wrong = np.linalg.solve(other.astype(x0.dtype).astype(np.float64), x1.astype(float))
            wrong_diff = compare(
                wrong.astype(x0.dtype), np.asarray(ref.value), dtype, atol=ref.slack
            )
            assert wrong_diff.failed, (n, k, lower)


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_solve_of_an_empty_system_has_a_reference(dtype: str) -> None:
    """A 0 x 0 system: NumPy's ``cond`` refuses empty matrices, the reference does not."""
    from fuzzjax.fuzzing.inputs import np_dtype

    source = "def f(x0, x1):\n    return jax.scipy.linalg.solve_triangular(x0, x1, lower=True)\n"
    x0, x1 = np.zeros((0, 0), np_dtype(dtype)), np.zeros((0, 2), np_dtype(dtype))
    ref = evaluate(source, [x0, x1]).result
    assert np.shape(ref.value) == (0, 2) and ref.dtype == dtype
    assert np.asarray(jax.jit(load_function(source))(x0, x1)).shape == (0, 2)


def test_rng_uniform_is_stateful_so_only_generation_draws_it() -> None:
    """``lax.rng_uniform`` lowers to ``stablehlo.rng``; two runs of one executable give
    different values (XLA's rng state), so the reference marks every element
    ``rng_uniform_stateful`` and ``GenOptions(stateful=False)`` (fuzz mode) never draws it."""
    from fuzzjax.generation.generator import generate
    from fuzzjax.program import GenOptions

    source = "def f(x0, x1):\n    return lax.rng_uniform(x0, x1, (64,))\n"
    fn = load_function(source)
    specs = [jax.ShapeDtypeStruct((), "float32")] * 2
    assert "stablehlo.rng" in op_counts(lower_text(fn, specs))
    lo, hi = np.float32(-1), np.float32(2)
    compiled = jax.jit(fn).lower(lo, hi).compile()
    first, second = np.asarray(compiled(lo, hi)), np.asarray(compiled(lo, hi))
    assert not np.array_equal(first, second)
    assert np.all((lo <= first) & (first < hi))
    ref = evaluate(source, [lo, hi]).result
    assert ref.dtype == "float32" and np.shape(ref.value) == (64,)
    assert set(ref.undefined) == {"rng_uniform_stateful"} and ref.mask().all()
    weights = (("rng_uniform", 65536),)
    drawn = [generate(s, GenOptions(max_depth=2, weights=weights)).source for s in range(40)]
    assert any("lax.rng_uniform" in s for s in drawn)
    off = GenOptions(max_depth=2, weights=weights, stateful=False)
    assert not any("lax.rng_uniform" in generate(s, off).source for s in range(40))
