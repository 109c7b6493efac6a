"""Transformation oracles: agreement on known-good programs, planted inconsistencies found,
applicability predicates refusing what they must."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from fuzzjax.fuzzing import transforms, transforms_ad, transforms_smooth
from fuzzjax.fuzzing.case import Case, Symptom
from fuzzjax.fuzzing.transforms import (
    batch_inputs,
    check_export_roundtrip,
    check_vmap,
    export_applicable,
    first_bit_difference,
    vmap_applicable,
)
from fuzzjax.fuzzing.transforms_ad import (
    check_grad_vs_fd,
    check_jvp_vs_vjp,
    jvp_vs_vjp_applicable,
    probe,
)
from fuzzjax.fuzzing.transforms_smooth import grad_vs_fd_applicable
from fuzzjax.program import ArgSpec

F32 = np.float32


def jax_version() -> str:
    import jax

    return str(jax.__version__)


def case(body: str, *arrays: np.ndarray) -> Case:
    """A one-expression program over ``x0, x1, ...`` with these inputs; the result type is
    what jax.jit says it is (the oracles compare JAX with itself)."""
    import jax
    import jax.numpy as jnp

    from fuzzjax.fuzzing.inputs import dtype_name
    from fuzzjax.lowering.lower import load_function

    names = [f"x{i}" for i in range(len(arrays))]
    source = f"def f({', '.join(names)}):\n    return {body}\n"
    args = tuple(
        ArgSpec(n, a.shape, dtype_name(a.dtype)) for n, a in zip(names, arrays, strict=True)
    )
    out = jax.eval_shape(load_function(source), *[jnp.asarray(a) for a in arrays])
    return Case(source, args, list(arrays), dtype_name(np.dtype(out.dtype)), tuple(out.shape))


def planted(monkeypatch: pytest.MonkeyPatch, fn: Callable[..., Any]) -> None:
    """Make the oracles run ``fn`` instead of the case's program (a test seam)."""
    monkeypatch.setattr(transforms, "load", lambda case: fn)
    monkeypatch.setattr(transforms_ad, "load", lambda case: fn)


def agreed(notes: list[str]) -> bool:
    """The oracle compared and agreed (its one note says how sharply)."""
    return len(notes) == 1 and notes[0].startswith("agree: ")


def sharpness(notes: list[str]) -> float:
    """The relative tolerance an autodiff oracle agreed within (it must be able to fail)."""
    assert agreed(notes) and "relative tolerance" in notes[0], notes
    return float(notes[0].split("relative tolerance ")[1].split(",")[0])


RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 4)).astype(F32)
Y = RNG.standard_normal((4,)).astype(F32)
Z = (RNG.standard_normal((2, 3)) + 1j * RNG.standard_normal((2, 3))).astype(np.complex64)


# ---- vmap ---------------------------------------------------------------------------------


def test_vmap_agrees_on_a_reduction_with_edge_values_in_the_batch() -> None:
    c = case("jnp.sum(jnp.sin(x0) * x1, axis=1, keepdims=False)", X, Y)
    batch = batch_inputs(c.args, 7, 2)
    assert vmap_applicable(c, batch)
    notes: list[str] = []
    assert check_vmap(c, batch, notes=notes) is None and agreed(notes)


def test_vmap_agrees_with_inner_and_missing_batch_axes() -> None:
    c = case("jnp.cumsum(x0 * x1, axis=0) @ jnp.expand_dims(x1, axis=1)", X, Y)
    batch = batch_inputs(c.args, 3, 2)
    notes: list[str] = []
    assert check_vmap(c, batch, axes=[2, None], notes=notes) is None and agreed(notes)
    notes.clear()
    assert check_vmap(c, batch, axes=[None, 1], notes=notes) is None and agreed(notes)


def test_vmap_allows_a_flushed_subnormal_product() -> None:
    # From scripts/transform_check.py --start 529 --oracle vmap: jit keeps b*c = 1.09e-38 (an
    # FMA), the batched program flushes it; one smallest normal per operation is allowed.
    a, b = (
        np.complex64(1.0404223 - 0.92935765j),
        np.complex64(complex(-1.1754944e-38, 1.1754944e-38)),
    )
    c = case(
        "lax.mul(x0.at[-2, 6:7, 3:5, 1:3].multiply(x1), x2)",
        np.full((2, 8, 5, 3), a),
        np.ones((1, 2, 2), np.complex64),
        np.full((2, 8, 5, 3), b),
    )
    assert check_vmap(c, [c.inputs, c.inputs], axes=[None, 0, 4]) is None


#: Programs ``seed`` of scripts/transform_check.py (``generate(seed, max_depth=4, max_rank=4,
#: max_elements=4096)``) as fuzzjax 0.2 generated them, before issue 16's grammar changed
#: which program a seed gives: (source, arguments, result dtype, result shape).
_PROGRAMS: dict[int, tuple[str, list[tuple[str, tuple[int, ...], str]], str, tuple[int, ...]]] = {
    965: (
        "def f(x0, x1, x2, x3):\n    v0 = jnp.where(x0, x1, x1)\n"
        "    return jnp.tensordot(v0, jnp.dot(x2, x3), axes=2)\n",
        [("x0", (1, 4, 2), "bool"), ("x1", (3, 5, 4, 2), "float32")]
        + [("x2", (4, 3), "float32"), ("x3", (3, 2), "uint8")],
        "float32",
        (3, 5),
    ),
    1057: (
        "def f(x0):\n    return jnp.clip(jnp.amax(x0, axis=-3, keepdims=False), 1e-3, 1e-3)\n",
        [("x0", (3, 256, 2), "float32")],
        "float32",
        (256, 2),
    ),
    1058: (
        "def f(x0, x1, x2):\n    return lax.reduce_window(jnp.squeeze(x0, axis=0) - "
        'jnp.tensordot(x1, x2, axes=2), -jnp.inf, lax.max, (1,), (1,), "VALID")\n',
        [("x0", (1, 1), "float32"), ("x1", (3, 4), "bfloat16"), ("x2", (3, 4, 2), "bfloat16")],
        "float32",
        (2,),
    ),
}


def _generated(seed: int) -> tuple[Case, list[list[np.ndarray]], list[Any]]:
    """Program ``seed`` of scripts/transform_check.py with its inputs, batch and axes."""
    from fuzzjax.fuzzing.inputs import derive_input_seed, make_inputs
    from fuzzjax.program import ArgSpec

    source, specs, dtype, shape = _PROGRAMS[seed]
    args = tuple(ArgSpec(*spec) for spec in specs)
    inputs = make_inputs(args, derive_input_seed(seed))
    c = Case(source, args, inputs, dtype, shape)
    batch = batch_inputs(c.args, derive_input_seed(seed), 2)
    return c, batch, transforms.vmap_axes(c, seed)


@pytest.mark.parametrize("seed", [965, 1058])
def test_vmap_allows_what_a_change_of_summation_order_or_fma_may_do(seed: int) -> None:
    # 965: a batched dot sums in another order (12 ulps after cancellation); 1058: a bfloat16
    # tensordot with an inf input and a product that overflows: NaN with separate multiplies,
    # inf where an FMA never rounds the product. Both are within the forward error bound.
    c, batch, axes = _generated(seed)
    notes: list[str] = []
    assert check_vmap(c, batch, axes=axes, notes=notes) is None
    assert "not bitwise" in notes[0] or "where the bound is infinite" in notes[0], notes


@pytest.mark.skipif(jax_version() != "0.10.2", reason="confirmed on jax 0.10.2 only")
def test_vmap_finds_the_max_reduction_that_drops_nan() -> None:
    # Seed 1057: the batched program reduces a (3, 3, 256, 2) array over axis 0 and XLA's CPU
    # reduction drops the NaN; plain repro: jnp.max(x, axis=0) of a 3x1536 float32 array
    # with one NaN returns 0.0 (notes/transforms.md).
    c, batch, axes = _generated(1057)
    found = check_vmap(c, batch, axes=axes)
    assert found is not None and found.symptom is Symptom.WRONG_NAN


def test_vmap_axes_are_in_range_and_batch_something() -> None:
    c = case("x0 + x1", X, np.float32(1.0))
    for seed in range(40):
        axes = transforms.vmap_axes(c, seed)
        assert vmap_applicable(c, axes=axes), axes
    seen = {tuple(transforms.vmap_axes(c, seed)) for seed in range(40)}
    assert (None, 0) in seen and any(a[0] == 2 for a in seen)


def test_vmap_finds_a_wrong_batching_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    import jax
    import jax.numpy as jnp

    @jax.custom_batching.custom_vmap
    def wrong(x: Any) -> Any:
        return jnp.sin(x)

    @wrong.def_vmap
    def _rule(axis_size: int, in_batched: Any, x: Any) -> Any:
        return jnp.cos(x), True  # the batched program computes something else

    c = case("jnp.sin(x0)", X)
    planted(monkeypatch, wrong)
    found = check_vmap(c, [[X * 2]])
    assert found is not None and found.oracle == "vmap"
    assert found.symptom is Symptom.WRONG_VALUE and found.index == [0, 0, 0]


def test_vmap_reports_a_batched_program_that_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    import jax
    import jax.numpy as jnp

    @jax.custom_batching.custom_vmap
    def unbatchable(x: Any) -> Any:
        return jnp.sin(x)

    @unbatchable.def_vmap
    def _rule(axis_size: int, in_batched: Any, x: Any) -> Any:
        raise NotImplementedError("no batching rule")

    planted(monkeypatch, unbatchable)
    found = check_vmap(case("jnp.sin(x0)", X), [[X]])
    assert found is not None and found.symptom is Symptom.EXCEPTION
    assert "no batching rule" in found.detail and "jax.jit(f) runs" in found.detail


def test_vmap_refuses_programs_without_arguments_and_mismatched_batches() -> None:
    no_args = Case("def f():\n    return jnp.zeros_like(1.0)\n", (), [], "float32", ())
    assert not vmap_applicable(no_args)
    c = case("jnp.sin(x0)", X)
    refused = vmap_applicable(c, [[Y]])
    assert not refused and "argument types" in refused.reason
    notes: list[str] = []
    assert check_vmap(c, [[Y]], notes=notes) is None
    assert notes[0].startswith("not applicable: ")
    assert not vmap_applicable(c, axes=[None]) and not vmap_applicable(c, axes=[3])
    assert not vmap_applicable(c, axes=[0, 0])


# ---- forward vs reverse mode --------------------------------------------------------------


@pytest.mark.parametrize(
    "body, arrays",
    [
        ("jnp.sum(jnp.tanh(x0 @ jnp.expand_dims(x1, axis=1)), axis=None, keepdims=False)", (X, Y)),
        ("jnp.conj(x0) * x0 + jnp.real(x0) * jnp.exp(x0)", (Z,)),  # not holomorphic
        ("jnp.abs(x0) + jnp.angle(x0)", (Z,)),  # complex to real
        ("x0 + x1.astype(jnp.float32)", (X, np.arange(4, dtype=np.int32))),  # ints held fixed
        ("jnp.cumprod(x0.astype(jnp.float16), axis=0)", (X,)),  # float16 tolerance
        ("x0 - x0", (X,)),  # a zero derivative: a tolerance of 0 still agrees
    ],
)
def test_jvp_and_vjp_agree_on_known_good_programs(body: str, arrays: tuple[Any, ...]) -> None:
    notes: list[str] = []
    assert check_jvp_vs_vjp(case(body, *arrays), seed=3, notes=notes) is None
    assert sharpness(notes) < (0.05 if "float16" in body else 1e-4)


def _wrongly_transposed() -> Callable[..., Any]:
    """A linear primitive ``2x`` whose transpose rule says ``3x``."""
    import jax.numpy as jnp
    from jax.extend.core import Primitive
    from jax.interpreters import ad, mlir

    double = Primitive("fuzzjax_test_double")
    double.def_impl(lambda x: 2 * x)
    double.def_abstract_eval(lambda x: x)
    mlir.register_lowering(double, mlir.lower_fun(lambda x: 2 * x, multiple_results=False))
    ad.deflinear2(double, lambda ct, x: [3 * ct])
    return lambda x: jnp.sin(double.bind(x))


def test_jvp_vs_vjp_finds_a_wrong_transpose_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    from fuzzjax.fuzzing import transforms_bound

    planted(monkeypatch, _wrongly_transposed())
    notes: list[str] = []
    assert check_jvp_vs_vjp(case("jnp.sin(x0)", X), seed=1, notes=notes) is None
    assert notes == ["inconclusive: no rounding bound: Unsupported: fuzzjax_test_double"]
    double = transforms_bound._structural(terms=lambda eqn, ins: 1)  # 2x rounds once
    monkeypatch.setitem(transforms_bound.RULES, "fuzzjax_test_double", double)
    found = check_jvp_vs_vjp(case("jnp.sin(x0)", X), seed=1)
    assert found is not None and found.oracle == "jvp_vs_vjp"
    assert found.symptom is Symptom.WRONG_VALUE and "tolerance" in found.detail


def test_jvp_vs_vjp_names_the_mode_that_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    import jax
    import jax.numpy as jnp

    @jax.custom_vjp
    def reverse_only(x: Any) -> Any:
        return jnp.sin(x)

    reverse_only.defvjp(lambda x: (jnp.sin(x), x), lambda x, ct: (jnp.cos(x) * ct,))
    planted(monkeypatch, reverse_only)
    found = check_jvp_vs_vjp(case("jnp.sin(x0)", X))
    assert found is not None and found.symptom is Symptom.EXCEPTION
    assert found.detail.startswith("jvp raises") and found.detail.endswith("(vjp runs)")


def test_jvp_vs_vjp_is_inconclusive_on_non_finite_derivatives() -> None:
    notes: list[str] = []
    at_zero = np.array([0.0, 1.0], F32)  # d sqrt(x)/dx is inf at 0
    assert check_jvp_vs_vjp(case("jnp.sqrt(x0)", at_zero), notes=notes) is None
    assert notes == ["inconclusive: a tangent or cotangent is not finite"]


@pytest.mark.parametrize(
    "body, arrays, reason",
    [
        ("x0 + 1", (np.arange(3, dtype=np.int32),), "has no derivative"),
        ("jnp.sin(x0)", (np.array([1.0, np.nan], F32),), "not finite"),
        (
            "lax.while_loop(lambda c0: c0[1] < 3, lambda c0: (jnp.sin(c0[0]), c0[1] + 1), "
            "(x0, 0))[0]",
            (X,),
            "while_loop has no reverse-mode",
        ),
        ("jnp.sum(x0, axis=None, keepdims=False)", (np.zeros((0,), F32),), "no float"),
    ],
)
def test_jvp_vs_vjp_refuses(body: str, arrays: tuple[Any, ...], reason: str) -> None:
    verdict = jvp_vs_vjp_applicable(case(body, *arrays))
    assert not verdict and reason in verdict.reason


def test_the_rounding_bound_covers_a_saturated_softmax() -> None:
    # Seed 1169 of transform_check.py: y = softmax(x) = [1.4e-11, 1]; the tangent of y[1] is
    # v1 - (y0 v0 + y1 v1) = 3.1e-11 exactly but 0 in float32 (cancellation), which the summed
    # products (8.6e-11) cannot explain. The running error bound (of the linear program, given
    # the computed primal values) can.
    import jax

    from fuzzjax.fuzzing.transforms_bound import linear_error_bound

    x, v = np.array([-9.469942, 15.495048], F32), np.array([-1.75, 0.375], F32)
    y, linear = jax.linearize(lambda x: jax.nn.softmax(x, axis=0), x)
    (bound,) = linear_error_bound(jax.make_jaxpr(linear)(x), [np.abs(v)])
    y64 = np.asarray(y, np.float64)  # exact arithmetic on the computed primal values
    exact = y64 * (v - np.dot(y64, v))
    error = np.abs(np.asarray(linear(v), np.float64) - exact)
    assert np.all(error <= np.asarray(bound.err)) and error[1] > 1e-11
    assert np.all(np.asarray(bound.err) <= 1e-5)  # of the order of eps * |v|, not wild
    notes: list[str] = []
    assert check_jvp_vs_vjp(case("jax.nn.softmax(x0, axis=0)", x), seed=1169, notes=notes) is None
    assert agreed(notes)


@pytest.mark.parametrize(
    "body, arrays",
    [
        ("lax.scan(lambda c0, a0: (c0 * a0, jnp.sin(c0)), x1[0], x1)[1]", (Y, Y)),
        ("lax.cond(x1, lambda: jnp.exp(x0), lambda: x0 * x0)", (X, np.array(True))),
        ("jnp.linalg.solve(x0 @ jnp.transpose(x0, (1, 0)), x0)", (X,)),
        ("jnp.linalg.inv(x0 @ jnp.transpose(x0, (1, 0)) + 1.0)", (X.astype(np.complex64),)),
        ("jnp.cumprod(x0, axis=1) + jax.checkpoint(lambda a0: jnp.tanh(a0))(x0)", (X,)),
        ("jnp.take(x0, x1, axis=0).at[1, 2].add(1.0)", (X, np.array([2, 0, 2, 1], np.int32))),
    ],
)
def test_the_rounding_bound_follows_control_flow_and_linear_algebra(
    body: str, arrays: tuple[Any, ...]
) -> None:
    notes: list[str] = []
    assert check_jvp_vs_vjp(case(body, *arrays), seed=5, notes=notes) is None
    assert sharpness(notes) < 1e-3, notes


def test_probes_are_dyadic_and_exact_in_every_dtype() -> None:
    rng = np.random.default_rng(0)
    for dtype in ("float16", "bfloat16", "float32", "complex64"):
        p = probe(dtype, (50,), rng)
        wide = np.asarray(p).astype(np.complex128)
        for part in (wide.real, wide.imag) if dtype == "complex64" else (wide.real,):
            m = np.abs(part) * 8
            assert np.all(m == np.round(m)) and m.min() >= 1 and m.max() <= 15
        assert np.all((3 * p).astype(np.complex128) == 3 * wide)


# ---- grad vs central differences ----------------------------------------------------------

SMOOTH_INPUT = np.array([[0.3, -1.2, 2.0], [0.7, 1.5, -0.4]], F32)
POSITIVE = np.array([0.5, 1.7, 3.0], F32)


@pytest.mark.parametrize(
    "body, arrays",
    [
        ("jnp.sum(jnp.sin(x0) * jnp.exp(x0), axis=0, keepdims=False)", (SMOOTH_INPUT,)),
        ("jnp.log(x0) / (x0 + 2.0)", (POSITIVE,)),
        ("jax.nn.softmax(x0, axis=1) @ jnp.transpose(x0, (1, 0))", (SMOOTH_INPUT,)),
        ("jnp.where(x1, x0 ** 2, jnp.tanh(x0))", (POSITIVE, np.array([True, False, True]))),
    ],
)
def test_grad_agrees_with_central_differences(body: str, arrays: tuple[Any, ...]) -> None:
    c = case(body, *arrays)
    assert grad_vs_fd_applicable(c)
    notes: list[str] = []
    assert check_grad_vs_fd(c, seed=2, notes=notes) is None and sharpness(notes) < 0.01


def test_grad_vs_fd_finds_a_wrong_derivative(monkeypatch: pytest.MonkeyPatch) -> None:
    import jax
    import jax.numpy as jnp

    @jax.custom_jvp
    def wrong(x: Any) -> Any:
        return jnp.sin(x)

    wrong.defjvp(lambda p, t: (jnp.sin(p[0]), 1.01 * jnp.cos(p[0]) * t[0]))  # 1% off
    c = case("jnp.sin(x0)", SMOOTH_INPUT)
    planted(monkeypatch, wrong)
    found = check_grad_vs_fd(c, seed=2)
    assert found is not None and found.oracle == "grad_vs_fd"
    assert found.symptom is Symptom.WRONG_VALUE and "truncation" in found.detail


@pytest.mark.parametrize(
    "body, arrays, reason",
    [
        ("jnp.abs(x0)", (SMOOTH_INPUT,), "abs is not smooth"),
        ("jnp.maximum(x0, 0.5)", (SMOOTH_INPUT,), "maximum is not smooth"),
        ("jnp.floor(x0)", (SMOOTH_INPUT,), "floor is not smooth"),
        ("jnp.clip(x0, 0.0, 1.0)", (SMOOTH_INPUT,), "clip is not smooth"),
        ("jnp.sort(x0, axis=0)", (SMOOTH_INPUT,), "sort is not smooth"),
        ("x0 * (x0 > 0.5)", (SMOOTH_INPUT,), "turns a float into bool"),
        ("jnp.where(x0, x0, 1.0)", (SMOOTH_INPUT,), "float condition"),
        ("jnp.log(x0)", (np.array([0.01, 1.0], F32),), "singular point"),
        ("jnp.arcsin(x0)", (np.array([0.99], F32),), "singular point"),
        ("x0 / x1", (POSITIVE, np.array([1.0, -0.001, 2.0], F32)), "singular point"),
        ("jnp.sin(x0)", (np.array([1e3], F32),), "|x| <= 100"),
        (
            "lax.while_loop(lambda c0: c0[1] < 3, lambda c0: (jnp.sin(c0[0]), c0[1] + 1), "
            "(x0, 0))[0]",
            (SMOOTH_INPUT,),
            "while_loop has no reverse-mode",
        ),
        ("jnp.sin(x0)", (X.astype(np.float16),), "float32 only"),
        ("jnp.sin(x0.astype(jnp.bfloat16)).astype(jnp.float32)", (X,), "float32 only"),
        (
            "jax.grad(lambda a0: jnp.sum(jnp.log(a0), axis=None, keepdims=False))(x0)",
            (POSITIVE,),
            "jax.grad inside",
        ),
    ],
)
def test_grad_vs_fd_refuses(body: str, arrays: tuple[Any, ...], reason: str) -> None:
    verdict = grad_vs_fd_applicable(case(body, *arrays))
    assert not verdict and reason in verdict.reason


def test_integer_arithmetic_is_a_constant_of_the_derivative() -> None:
    ints = np.array([3, -2, 5], np.int32)
    c = case("x0 * jnp.abs(x1 // 2).astype(jnp.float32)", POSITIVE, ints)
    assert grad_vs_fd_applicable(c)
    assert check_grad_vs_fd(c) is None


def test_the_domain_table_names_only_smooth_operations() -> None:
    from fuzzjax.syntax import operation_aliases

    assert operation_aliases() >= transforms_smooth.SMOOTH
    assert not transforms_smooth.SMOOTH_EVERYWHERE & set(transforms_smooth.DOMAIN)


# ---- forward rounding-error bound ----------------------------------------------------------


@pytest.mark.parametrize(
    "fn",
    [
        lambda x, y: jnp.sum(jnp.sin(x) * y, axis=1) - jnp.cumsum(jnp.exp(x / 4), axis=1)[:, -1],
        lambda x, y: jnp.tanh(x @ jnp.expand_dims(y, 1)) / (1.5 + jnp.cos(x)),
        lambda x, y: jnp.prod(1 + x * x, axis=0) + jax.nn.logsumexp(x, axis=0),
        lambda x, y: lax.fori_loop(0, 3, lambda i, c: c * 0.9 + jnp.sin(c), x).at[1:3, 0].add(y[0]),
        lambda x, y: jnp.sort(x, axis=0) + jnp.where(x > 0.1, x, 0.0) + jnp.maximum(x, y[0]),
        lambda x, y: jax.nn.softplus(x) + jnp.sinc(x) + jax.nn.gelu(y)[0],  # custom_jvp calls
    ],
)
def test_the_forward_bound_holds_against_float64(fn: Callable[..., Any]) -> None:
    from fuzzjax.fuzzing.transforms_forward import forward_error_bounds

    x, y = X.astype(F32), Y.astype(F32)
    (bound,) = forward_error_bounds(fn, [[x, y]])
    got = np.asarray(jax.jit(fn)(x, y), np.float64)
    with jax.enable_x64(True):
        exact = np.asarray(jax.jit(fn)(x.astype(np.float64), y.astype(np.float64)))
    scale = np.abs(exact).max() + 1
    assert np.all(np.abs(got - exact) <= bound + 1e-12 * scale)
    assert np.all(bound <= 1e-4 * scale)  # eps-sized, not a blanket allowance


def test_the_forward_bound_is_unbounded_only_where_it_must_be() -> None:
    from fuzzjax.fuzzing.transforms_forward import forward_error_bounds

    x = np.array([1.0, 3e38, np.nan, 10 / 3], F32)
    (bound,) = forward_error_bounds(lambda x: x * 4.0 + jnp.floor(x * 0.3), [[x]])
    # 3e38 * 4 overflows; floor(10/3 * 0.3) is within rounding of the jump at 1; a NaN is exact
    assert np.isinf(bound[1]) and np.isinf(bound[3]) and bound[0] < 1e-6 and bound[2] < 1e-30
    (compared,) = forward_error_bounds(lambda x: jnp.where(x > 1.5, x, 0.0), [[x * 0.5]])
    assert np.isfinite(compared).all()  # 0.5, 1.5e38, NaN and 1.67 are far from 1.5
    (exact_max,) = forward_error_bounds(lambda x: jnp.max(x) + 0 * x, [[x]])
    assert np.isfinite(exact_max).all()


# ---- export round trip --------------------------------------------------------------------

needs_flatbuffers = pytest.mark.skipif(
    importlib.util.find_spec("flatbuffers") is None, reason="needs fuzzjax[export]"
)


@needs_flatbuffers
@pytest.mark.parametrize(
    "body, arrays",
    [
        ("jnp.sum(jnp.sin(x0) * x1, axis=1, keepdims=False)", (X, Y)),
        ("jnp.linalg.det(x0 @ jnp.transpose(x0, (1, 0)))", (X,)),  # a LAPACK custom call
        ("x0 // x1", (np.array([7, -8, 0], np.int8), np.array([0, 3, -1], np.int8))),
    ],
)
def test_export_round_trip_keeps_the_bits(body: str, arrays: tuple[Any, ...]) -> None:
    notes: list[str] = []
    assert check_export_roundtrip(case(body, *arrays), notes=notes) is None and agreed(notes)


@needs_flatbuffers
def test_a_multi_platform_export_runs_this_platforms_branch() -> None:
    c = case("jnp.linalg.det(x0 @ jnp.transpose(x0, (1, 0)))", X)
    notes: list[str] = []
    assert check_export_roundtrip(c, platforms=("cpu", "cuda"), notes=notes) is None
    assert agreed(notes)


@needs_flatbuffers
@pytest.mark.parametrize("ulps, within", [(1, True), (1000, False)])
def test_export_round_trip_reports_any_changed_bit(
    monkeypatch: pytest.MonkeyPatch, ulps: int, within: bool
) -> None:
    import jax

    real = jax.export.deserialize

    class Shifted:
        def __init__(self, exported: Any) -> None:
            self.exported = exported

        def call(self, *args: Any) -> Any:
            out = np.asarray(self.exported.call(*args))
            return (out.view(np.int32) + ulps).view(F32)

    monkeypatch.setattr(jax.export, "deserialize", lambda blob: Shifted(real(blob)))
    found = check_export_roundtrip(case("jnp.sin(x0)", X))
    assert found is not None and found.oracle == "export_roundtrip"
    assert found.symptom is Symptom.WRONG_VALUE and found.index == [0, 0]
    assert ("within tolerance" in found.detail) is within


def test_export_needs_flatbuffers(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "flatbuffers" else real(name)
    )
    verdict = export_applicable(case("jnp.sin(x0)", X))
    assert not verdict and "pip install 'fuzzjax[export]'" in verdict.reason


def test_first_bit_difference_sees_nan_payloads_and_rank_zero() -> None:
    a = np.array([1.0, np.nan, 2.0], F32)
    b = a.copy()
    b.view(np.int32)[1] ^= 1  # another NaN
    assert first_bit_difference(a, b) == [1]
    assert first_bit_difference(np.array(1.0, F32), np.array(-1.0, F32)) == []


# ---- the measurement script ---------------------------------------------------------------


def test_transform_check_script_reports_each_oracle() -> None:
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "scripts" / "transform_check.py"
    run = subprocess.run(
        [
            sys.executable,
            str(script),
            "--programs",
            "2",
            "--start",
            "3",
            "--oracle",
            "vmap",
            "--oracle",
            "grad_vs_fd",
            "--inputs",
            "plain",
            "--reasons",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    out = run.stdout
    assert "# 2 programs from seed 3, plain inputs" in out
    for name in ("vmap", "grad_vs_fd"):
        assert f"## {name}\nprograms checked 2; applicable " in out
    bad = subprocess.run(
        [sys.executable, str(script), "--programs", "0"], capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1


def test_a_named_while_body_has_no_reverse_mode_either() -> None:
    # A 5-minute check's jvp_vs_vjp "exception" bucket: vjp of lax.while_loop with a named
    # body (issue 16's form) raises by design, as the lambda form does.
    from fuzzjax.lowering.lower import load_function

    source = (
        "def f(x0):\n"
        "    def body0(t0):\n"
        "        return (x0 + jnp.asarray(t0[1], dtype=jnp.float32), t0[1] + 1)\n"
        "    return lax.while_loop(lambda t0: t0[1] < 2, body0, (lax.exp(x0), 0))[0]\n"
    )
    load_function(source)  # valid under the grammar
    named = Case(source, (ArgSpec("x0", X.shape, "float32"),), [X], "float32", X.shape)
    verdict = jvp_vs_vjp_applicable(named)
    assert not verdict and "while_named has no reverse-mode" in verdict.reason
