"""diagnose's accumulation allowance covers every form of a summing operation.

A localised difference in a sum, contraction or product is judged against an error bound
that grows with the number of terms (``diagnose.accumulation_atol``); an operation missing
from its category gets no allowance and a rounding difference becomes a bucket.
"""

from __future__ import annotations

import numpy as np
import pytest

from fuzzjax.fuzzing import diagnose
from fuzzjax.fuzzing.reference import evaluate
from fuzzjax.syntax import operation_aliases

CATEGORIES = {
    "SUMMING": diagnose.SUMMING,
    "PRODUCTS": diagnose.PRODUCTS,
    "SPREAD": diagnose.SPREAD,
    "LOG_SUMS": diagnose.LOG_SUMS,
    "CONDITIONED": diagnose.CONDITIONED,
    "FOURIER": diagnose.FOURIER,
}


@pytest.mark.parametrize("name", sorted(CATEGORIES))
def test_every_categorised_name_is_a_grammar_alias(name: str) -> None:
    assert CATEGORIES[name] <= operation_aliases(), sorted(CATEGORIES[name] - operation_aliases())


@pytest.mark.parametrize("name", sorted(CATEGORIES))
def test_method_and_keyword_forms_share_their_function_forms_category(name: str) -> None:
    aliases = operation_aliases()
    members = CATEGORIES[name]
    for alias in aliases:
        for prefix, suffix in (("m_", ""), ("", "_where"), ("", "_pet"), ("sp_", "")):
            if alias.startswith(prefix) and alias.endswith(suffix) and alias != prefix + suffix:
                base = alias[len(prefix) : len(alias) - len(suffix)]
                if base in members:
                    assert alias in members, f"{alias} (a form of {base}) is not in {name}"


@pytest.mark.parametrize(
    "source",
    [
        "lax.dot_general(x0, x1, (((1,), (0,)), ((), ())))",
        "x0.dot(x1)",
        "jnp.matmul(x0, x1, preferred_element_type=jnp.float32)",
    ],
)
def test_contractions_get_a_bound_that_grows_with_the_inner_size(source: str) -> None:
    bounds = []
    for k in (4, 64):
        a = np.full((2, k), 1.5, np.float32)
        b = np.full((k, 3), 0.25, np.float32)
        text = f"def f(x0, x1):\n    return {source}\n"
        ev = evaluate(text, [a, b])
        (node,) = [n for n in ev.nodes if n.alias in operation_aliases()]
        bound = diagnose.accumulation_atol(text, node)
        assert bound is not None, node.alias
        bounds.append(float(np.max(bound)))
    assert 0 < bounds[0] < bounds[1]


SOLVES = [
    "jnp.linalg.solve(x0, x1)",
    "jax.scipy.linalg.solve(x0, x1)",
    "jax.scipy.linalg.cho_solve((x0, True), x1)",
    "jax.scipy.linalg.solve_triangular(x0, x1, lower=True)",
]


@pytest.mark.parametrize("form", SOLVES)
def test_float32_solves_of_moderately_conditioned_systems_are_within_the_allowance(
    form: str,
) -> None:
    """Forward error grows with the condition number (up to the reference's 1e3 limit): a
    float32 solve 17 ulps off on a system of condition 151 was a bucket before scipy_solve,
    cho_solve and solve_triangular got the conditioned allowance."""
    import jax
    import jax.numpy as jnp
    from jax import lax  # noqa: F401 - the program text may name it

    rng = np.random.default_rng(7)
    text = f"def f(x0, x1):\n    return {form}\n"
    fn_globals = {"jnp": jnp, "jax": jax}
    exec(compile(text, "<solve>", "exec"), fn_globals)
    checked = 0
    for _ in range(40):
        a = rng.standard_normal((6, 6)) * 10
        if "cho_solve" in form or "triangular" in form:  # cho_solve: F F^T, cond(F) squared
            a = np.tril(a, -1) * 0.3 + np.diag(np.abs(np.diag(a)) + 5)
        a = a.astype(np.float32)
        b = rng.standard_normal((6, 2)).astype(np.float32) * 10
        ev = evaluate(text, [a, b])
        (node,) = [n for n in ev.nodes if n.alias in operation_aliases()]
        if node.val.undefined:  # ill-conditioned (beyond 1e3): not compared at all
            continue
        got = np.asarray(jax.jit(fn_globals["f"])(a, b), np.float64)
        bound = diagnose.allowance(text, node)
        assert bound is not None
        assert np.all(np.abs(got - np.asarray(node.val.value, np.float64)) <= bound)
        checked += 1
    assert checked >= 10


def test_a_pivot_whose_reciprocal_flushes_makes_a_solve_undefined() -> None:
    """XLA's CPU solve scales by the pivots' reciprocals; 1 / -1.7e38 is subnormal in float32
    and flushed, so JAX gives 0 where the exact solution is 2 (not a rounding difference)."""
    from fuzzjax.fuzzing.reference.linalg import pivot_hazard

    a = np.array([[-1.7014117e38]], np.float32)
    b = np.array([[-3.4028235e38, 6.9814636e12]], np.float32)
    for form in ("jnp.linalg.solve(x0, x1)", "jax.scipy.linalg.solve(x0, x1)"):
        ev = evaluate(f"def f(x0, x1):\n    return {form}\n", [a, b])
        assert ev.result.undefined, form
        assert "float_accumulation_order" in ev.result.undefined
    assert pivot_hazard(a, "float32")
    assert not pivot_hazard(a.astype(np.float64), "float64")  # 5.9e-39 is normal in float64
    assert not pivot_hazard(np.eye(3, dtype=np.float32) * 3, "float32")
    assert not pivot_hazard(np.zeros((0, 0), np.float32), "float32")
