"""The forms real JAX code uses (issue 16): every rule types like JAX, the NumPy reference
means what JAX computes, and the generated text uses the spellings of real code."""

from __future__ import annotations

import re
from collections import Counter

import jax
import numpy as np
import pytest
from rooted import rooted

from fuzzjax.dtypes import DTYPES, ArrayType
from fuzzjax.fuzzing.inputs import np_dtype
from fuzzjax.fuzzing.reference import evaluate
from fuzzjax.generation.generator import generate
from fuzzjax.lowering.lower import load_function, specs_of
from fuzzjax.program import ArgSpec
from fuzzjax.rules.shapes import Limits
from fuzzjax.rules.table import TABLE
from fuzzjax.syntax import measure_depth, parse

SHAPES = ((), (3,), (1, 3), (2, 2), (2, 3, 3))


#: Aliases added for issue 16 (``tests/test_realistic_forms.py`` checks their reference).
NEW = sorted(
    a
    for a in TABLE
    if a.startswith(("m_", "sp_", "tree_", "lax_eq", "lax_ne", "lax_lt", "lax_le", "lax_gt"))
    or a
    in {
        "zeros",
        "ones",
        "empty",
        "full",
        "full_like",
        "eye",
        "identity",
        "arange",
        "linspace",
        "array",
        "array_list",
        "one_hot",
        "stop_gradient",
        "invert",
        "absolute",
        "isneginf",
        "isposinf",
        "nn_tanh",
        "lax_real",
        "lax_imag",
        "lax_select",
        "lax_clamp",
        "cross",
        "dtype_call",
        "jnp_astype",
        "static_if",
        "sum_where",
        "mean_where",
        "max_initial",
        "min_initial",
        "norm_ord",
        "ravel_pytree",
        "lax_ge",
        "lax_full_like",
        "lax_expand_dims",
        "lax_iota",
        "matmul_pet",
        "fori_named",
        "fori_tuple",
        "while_named",
        "scan_named",
        "scan_tuple",
        "scan_length",
        "cond_named",
        "switch_named",
        "jit",
        "jit_named",
        "vmap_named",
        "lax_map",
        "lax_map_named",
        "jvp",
        "vjp",
        "jacfwd",
        "jacrev",
        "random_normal",
        "random_uniform",
        "random_gumbel",
        "random_randint",
        "random_bernoulli",
        "random_categorical",
        "dot_general",
        "dot_general_pet",
        "dynamic_slice",
        "dynamic_update_slice",
        "dynamic_slice_in_dim",
        "dynamic_update_slice_in_dim",
        "segment_sum",
        "segment_max",
        "gather",
        "scatter_add",
        "conv_dilated",
        "split",
        "diag",
        "diagonal",
        "hstack",
        "vstack",
        "append",
        "percentile",
        "quantile",
        "solve_triangular",
        "cho_solve",
        "scipy_solve",
        "custom_call",
        "max_pool_vjp",
        "sharding_constraint",
        "rng_uniform",
    }
)


def test_every_new_rule_gives_its_result_type() -> None:
    """Each new rule as a program root, for every dtype and a few shapes it can produce:
    ``jax.eval_shape`` gives exactly the planned type (x64 off; tests/test_x64.py checks every
    rule with x64 on, tests/test_rules_vs_jax.py the older rules' dtype tables)."""
    limits, checked, wrong = Limits(), Counter(), []
    for rule in (TABLE[a] for a in NEW):
        for dtype in DTYPES:
            for shape in SHAPES:
                out = ArrayType(dtype, shape)
                if not rule.can_produce(out, limits):
                    continue
                source, args = rooted(rule, out, sum(checked.values()))
                got = jax.eval_shape(load_function(source), *specs_of(args))
                if (str(got.dtype), got.shape) != (dtype, shape):
                    wrong.append((rule.alias, str(out), f"{got.dtype}{list(got.shape)}", source))
                checked[rule.alias] += 1
    assert not wrong, wrong[:5]
    assert not set(NEW) - set(checked), f"never checked: {set(NEW) - set(checked)}"


def _plain_inputs(args: list[ArgSpec], seed: int) -> list[np.ndarray]:
    """Ordinary values (no edge values): what the reference must agree with exactly."""
    rng = np.random.default_rng(seed)
    out = []
    for a in args:
        if a.dtype == "bool":
            out.append(rng.random(a.shape) < 0.5)
        elif a.dtype in ("int8", "uint8", "int32"):
            low = 0 if a.dtype == "uint8" else -5
            out.append(rng.integers(low, 6, a.shape).astype(np_dtype(a.dtype)))
        elif a.dtype == "complex64":
            parts = rng.normal(size=(2, *a.shape))
            out.append((parts[0] + 1j * parts[1]).astype(np.complex64))
        else:
            out.append((rng.random(a.shape) * 2 + 0.25).astype(np_dtype(a.dtype)))
    return out


def _check_reference(alias: str, most: int) -> None:
    """Root programs of ``alias`` for up to ``most`` (dtype, shape) pairs it can produce, one
    dtype after another: the reference equals jit's result wherever it is defined."""
    rule, limits, compared = TABLE[alias], Limits(), 0
    pairs = [(d, s) for s in SHAPES for d in DTYPES if rule.can_produce(ArrayType(d, s), limits)]
    pairs = sorted(pairs, key=lambda p: (Counter(d for d, _ in pairs[: pairs.index(p)])[p[0]],))
    for dtype, shape in pairs[:most]:
        source, args = rooted(rule, ArrayType(dtype, shape), compared + 7)
        if alias == "sp_betaln" and any(a.dtype == "bool" for a in args):
            continue  # JAX's betaln(0, 0) is NaN where SciPy's is inf: a fuzz finding
        inputs = _plain_inputs(args, compared)
        got = np.asarray(jax.jit(load_function(source))(*inputs))
        ref = evaluate(source, inputs).result
        want = np.asarray(ref.value)
        assert want.shape == got.shape and str(got.dtype) == ref.dtype, source
        defined = ~ref.mask()
        tol = 3e-2 if dtype in ("float16", "bfloat16") else 1e-4
        g, w = got.astype(np.complex128)[defined], want.astype(np.complex128)[defined]
        close = np.isclose(g, w, rtol=tol, atol=tol) | (np.isnan(g) & np.isnan(w))
        assert close.all(), (source, [a.to_json() for a in args], got, want)
        compared += 1
    assert compared, f"{alias}: no type it can produce"


@pytest.mark.parametrize("alias", NEW)
def test_reference_agrees_with_jax_on_plain_inputs(alias: str) -> None:
    _check_reference(alias, most=1)


@pytest.mark.slow
@pytest.mark.parametrize("alias", NEW)
def test_reference_agrees_with_jax_for_every_type(alias: str) -> None:
    _check_reference(alias, most=10**6)


def test_pytree_leaves_follow_jax_flattening_order() -> None:
    source = (
        "def f(x0, x1, x2):\n"
        '    return jax.tree.leaves({"w": x0, "b": (x1, [x2])})[1] + '
        'jax.tree.unflatten(jax.tree.structure({"w": x0, "b": x1}), [x1, x2])["w"]\n'
    )
    measure_depth(parse(source))
    inputs = [np.float32(1.0), np.float32(2.0), np.float32(4.0)]
    jax_value = float(jax.jit(load_function(source))(*inputs))
    assert jax_value == 4.0 + 4.0  # leaves sorted by key: b=(x1, [x2]) before w
    assert float(evaluate(source, inputs).result.value) == jax_value


def test_trace_time_forms_add_no_depth() -> None:
    source = (
        "def f(x0, x1):\n"
        "    return jnp.zeros(x0.shape, dtype=jnp.result_type(x1)) + x0[None, ..., ::-1] * "
        "jnp.finfo(x0.dtype).eps + x0.shape[-1]\n"
    )
    # +, +, zeros | *, getitem: shapes, dtypes, finfo and x0.shape[-1] add nothing
    assert measure_depth(parse(source)) == 4


def test_generated_text_uses_real_code_spellings() -> None:
    text = "\n".join(generate(seed, max_depth=3).source for seed in range(2500))
    for spelling in (
        r"jnp\.zeros\(",
        r"jnp\.ones\(",
        r"jnp\.full\(",
        r"jnp\.arange\(",
        r"jnp\.eye\(",
        r"jnp\.array\(",
        r"lax\.select\(",
        r"lax\.(eq|ne|lt|le|gt|ge)\(",
        r"lax\.full_like\(",
        r"lax\.broadcasted_iota\(",
        r"lax\.expand_dims\(",
        r"lax\.stop_gradient\(",
        r"jax\.nn\.one_hot\(",
        r"jax\.tree\.map\(",
        r"\.T\b",
        r"\.reshape\(",
        r"\.sum\(",
        r"\.clip\(",
        r"\.real\b",
        r"\.conj\(\)",
        r"where=",
        r"initial=",
        r"ord=",
        r"keepdims=",
        r"preferred_element_type=",
        r"\[None",
        r"\.\.\.",
        r"jnp\.finfo\(",
        r"\.shape\b",
        r"\.dtype\b",
        r" if jnp\.(issubdtype|iscomplexobj)\(",
        r"def body\d+\(i\d+, t\d+\):",
        r"def step\d+\(",
        r"lax\.fori_loop\(0, \d, body\d+, \(",
        r"jax\.jit\(",
        r"@jax\.custom_jvp\n    def fn\d+\(a\d+\):",
        r"jax\.random\.(normal|uniform)\(jax\.random\.(split|key|PRNGKey|fold_in)\(",
    ):
        assert re.search(spelling, text), spelling
