"""Tests for fuzzjax.lowering.fastlower: fast (reused MLIR context) lowering == stock.

Programs are built as source text and exec'd, so every lowering sees a fresh
function object (JAX caches traces and lowered modules per function/jaxpr, so
re-lowering one function object would compare a cached module with itself).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import pytest

from fuzzjax.lowering import fastlower

SHAPES = [(4,), (3, 4), (2, 3, 4), (1, 5)]
DTYPES = ["float32", "float16", "int32", "bool"]

UNARY = {
    "float": [
        "jnp.sin({})",
        "jnp.cos({})",
        "jnp.exp({})",
        "jnp.tanh({})",
        "jnp.abs({})",
        "jnp.negative({})",
        "jnp.sqrt({})",
        "jnp.log1p({})",
        "jnp.floor({})",
        "jax.nn.relu({})",
        "jax.nn.sigmoid({})",
        "jax.nn.gelu({})",
        "({} * 2.5)",
    ],
    "int": [
        "jnp.abs({})",
        "jnp.negative({})",
        "jnp.square({})",
        "jnp.sign({})",
        "jax.nn.relu({})",
        "({} * 3)",
        "({} + 1)",
    ],
    "bool": ["jnp.logical_not({})", "(~{})"],
}
BINARY = {
    "float": [
        "({} + {})",
        "({} - {})",
        "({} * {})",
        "({} / {})",
        "jnp.maximum({}, {})",
        "jnp.minimum({}, {})",
        "jnp.where({0} > {1}, {0}, {1})",
    ],
    "int": [
        "({} + {})",
        "({} - {})",
        "({} * {})",
        "jnp.maximum({}, {})",
        "({} // {})",
        "jnp.bitwise_and({}, {})",
        "jnp.where({0} > {1}, {0}, {1})",
    ],
    "bool": ["({} & {})", "({} | {})", "({} ^ {})", "jnp.logical_and({}, {})"],
}


def _kind(dtype: str) -> str:
    return "bool" if dtype == "bool" else "int" if dtype.startswith("int") else "float"


def _tail(rng: random.Random, dtype: str, rank: int) -> str:
    axis = rng.randrange(rank)
    tails = [
        "t",
        "t.reshape(-1)",
        "(t, jnp.argmax(t))",
        f"jnp.argmax(t, axis={axis})",
        f"jnp.sum(t, axis={axis})",
        f"jnp.max(t, axis={axis})",
        f"jnp.mean(t, axis={axis})",
        "jnp.sum(t)",
        "jax.nn.relu(t.astype(jnp.float32))",
    ]
    if dtype != "bool":
        tails.append("t @ t" if rank == 1 else "t @ jnp.swapaxes(t, -1, -2)")
        tails.append(f"jnp.cumsum(t, axis={axis})")
    if rank > 1:
        tails.append("t.reshape(t.shape[::-1])")
    return rng.choice(tails)


def make_program(rng: random.Random) -> tuple[str, list[jax.ShapeDtypeStruct]]:
    """Random straight-line program over x, y (same shape/dtype) as source text."""
    shape, dtype = rng.choice(SHAPES), rng.choice(DTYPES)
    lines = ["def f(x, y):", "    t = x"]
    cur = dtype
    for _ in range(rng.randint(1, 5)):
        if rng.random() < 0.15 and cur != "float32":
            cur = "float32"
            lines.append("    t = t.astype(jnp.float32)")
            continue
        k = _kind(cur)
        if rng.random() < 0.5:
            expr = rng.choice(UNARY[k]).format("t")
        else:
            other = "y" if cur == dtype else f"y.astype(jnp.{cur})"
            expr = rng.choice(BINARY[k]).format("t", other)
        lines.append(f"    t = {expr}")
    lines.append(f"    return {_tail(rng, cur, len(shape))}")
    spec = jax.ShapeDtypeStruct(shape, jnp.dtype(dtype))
    return "\n".join(lines) + "\n", [spec, spec]


def fresh(src: str) -> Callable[..., Any]:
    """A brand-new function object for ``src`` on every call."""
    ns: dict[str, Any] = {"jax": jax, "jnp": jnp}
    exec(src, ns)  # noqa: S102 - locally generated test programs
    return ns["f"]


def programs(n: int, seed: int = 0) -> list[tuple[str, list[jax.ShapeDtypeStruct]]]:
    rng = random.Random(seed)
    return [make_program(rng) for _ in range(n)]


def fast_lower(src: str, specs: list[jax.ShapeDtypeStruct]) -> str:
    """Fast lowering, checking the shared context really was used when available."""
    text = fastlower.lower_stablehlo(fresh(src), specs)
    if fastlower.FAST_PATH_AVAILABLE:
        assert fastlower._state.handed_out, "fast path did not use the shared context"
    return text


@pytest.fixture(autouse=True)
def _fast_enabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FUZZJAX_NO_FAST_LOWER", raising=False)


def test_fast_path_available_on_verified_jax() -> None:
    lo, hi = fastlower._VERIFIED_MIN, fastlower._VERIFIED_MAX
    if lo <= fastlower._version_tuple(jax.__version__) <= hi:
        assert fastlower.FAST_PATH_AVAILABLE


def test_version_parsing() -> None:
    assert fastlower._version_tuple("0.10.2") == (0, 10, 2)
    assert fastlower._version_tuple("0.10.3.dev20250101") == (0, 10, 3)
    assert fastlower._version_tuple("garbage") == ()


def test_generator_covers_interesting_ops() -> None:
    srcs = "".join(src for src, _ in programs(300))
    for needle in ["jax.nn.relu", "jnp.argmax", "@", "reshape", "axis="]:
        assert needle in srcs
    dtypes = {str(specs[0].dtype) for _, specs in programs(300)}
    assert {"int32", "bool", "float16", "float32"} <= dtypes


def test_fast_matches_stock_byte_for_byte() -> None:
    mismatches = []
    private_funcs = 0
    for i, (src, specs) in enumerate(programs(300)):
        stock = fastlower.stock_lower_stablehlo(fresh(src), specs)
        fast = fast_lower(src, specs)
        private_funcs += "func.func private" in stock
        if fast != stock:
            mismatches.append((i, src))
    assert not mismatches, mismatches[:3]
    assert private_funcs > 10  # relu/where/argmax etc. produce private functions


def test_interleaving_order_does_not_matter() -> None:
    progs = programs(60, seed=1)
    # Fast first, then stock, alternating which comes first per program.
    for i, (src, specs) in enumerate(progs):
        if i % 2:
            a = fast_lower(src, specs)
            b = fastlower.stock_lower_stablehlo(fresh(src), specs)
        else:
            b = fastlower.stock_lower_stablehlo(fresh(src), specs)
            a = fast_lower(src, specs)
        assert a == b, src
    # Runs of fast lowerings vs runs of stock lowerings give the same texts.
    fast_run = [fast_lower(src, specs) for src, specs in progs[:20]]
    stock_run = [fastlower.stock_lower_stablehlo(fresh(s), sp) for s, sp in progs[:20]]
    assert fast_run == stock_run


def test_context_is_reused_and_recycled(monkeypatch: pytest.MonkeyPatch) -> None:
    if not fastlower.FAST_PATH_AVAILABLE:
        pytest.skip("fast path not available on this jax")
    progs = programs(7, seed=2)
    fast_lower(*progs[0])  # make sure the hook is installed
    created = []
    original = fastlower._original_make
    assert original is not None

    def counting() -> Any:
        created.append(original())
        return created[-1]

    monkeypatch.setattr(fastlower, "_original_make", counting)
    monkeypatch.setattr(fastlower._state, "context", None)
    monkeypatch.setattr(fastlower, "_RECYCLE_EVERY", 3)
    for src, specs in progs:
        assert fast_lower(src, specs) == fastlower.stock_lower_stablehlo(fresh(src), specs)
    # 7 fast lowerings, recycled every 3 -> 3 contexts; plus 7 stock contexts.
    assert len(created) == 3 + 7


@pytest.mark.parametrize("how", ["env", "flag"])
def test_fallback_to_stock(monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    calls = []
    stock = fastlower.stock_lower_stablehlo

    def spy(fn: Callable[..., Any], specs: Any) -> str:
        calls.append(fn)
        return stock(fn, specs)

    monkeypatch.setattr(fastlower, "stock_lower_stablehlo", spy)
    if how == "env":
        monkeypatch.setenv("FUZZJAX_NO_FAST_LOWER", "1")
    kwargs = {"fast": False} if how == "flag" else {}
    for src, specs in programs(5, seed=3):
        text = fastlower.lower_stablehlo(fresh(src), specs, **kwargs)
        assert text == stock(fresh(src), specs)
    assert len(calls) == 5
    # Fast path used again once re-enabled (stock not called).
    monkeypatch.delenv("FUZZJAX_NO_FAST_LOWER", raising=False)
    src, specs = programs(1, seed=4)[0]
    fastlower.lower_stablehlo(fresh(src), specs)
    assert len(calls) == (5 if fastlower.FAST_PATH_AVAILABLE else 6)


def test_trace_error_does_not_poison_context() -> None:
    progs = programs(10, seed=5)
    fast_lower(*progs[0])
    ctx_before = fastlower._state.context
    spec = jax.ShapeDtypeStruct((3, 4), jnp.float32)
    bad = "def f(x, y):\n    return jax.nn.relu(x) @ jnp.ones((7, 7))\n"
    with pytest.raises(TypeError):
        fastlower.lower_stablehlo(fresh(bad), [spec, spec])
    # A trace-time error never touched the context, so it is kept.
    assert fastlower._state.context is ctx_before
    for src, specs in progs[1:]:
        assert fast_lower(src, specs) == fastlower.stock_lower_stablehlo(fresh(src), specs)


def _boom_primitive() -> Any:
    from jax.extend.core import Primitive
    from jax.interpreters import mlir

    prim = Primitive("fastlower_test_boom")
    prim.def_abstract_eval(lambda x: x)

    def lowering(ctx: Any, x: Any) -> Any:
        raise RuntimeError("boom while lowering")

    mlir.register_lowering(prim, lowering)
    return prim


def test_error_during_lowering_does_not_poison_context() -> None:
    boom = _boom_primitive()
    progs = programs(10, seed=6)
    fast_lower(*progs[0])
    spec = jax.ShapeDtypeStruct((3, 4), jnp.float32)
    for _ in range(2):
        # The error happens mid-module, inside `with context:` blocks.
        with pytest.raises(RuntimeError, match="boom while lowering"):
            fastlower.lower_stablehlo(lambda x: boom.bind(jnp.sin(x) + jax.nn.relu(x)) * 2, [spec])
        if fastlower.FAST_PATH_AVAILABLE:
            assert fastlower._state.active == 0
            # The context was in use when lowering failed: it is discarded.
            assert fastlower._state.context is None
        for src, specs in progs[1:]:
            assert fast_lower(src, specs) == fastlower.stock_lower_stablehlo(fresh(src), specs)


def test_threads_get_correct_results() -> None:
    progs = programs(40, seed=7)
    expected = [fastlower.stock_lower_stablehlo(fresh(s), sp) for s, sp in progs]
    results: dict[int, list[str]] = {}
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        try:
            results[k] = [fastlower.lower_stablehlo(fresh(s), sp) for s, sp in progs]
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    # Stock lowering on the main thread at the same time must stay stock.
    main_thread = [fastlower.stock_lower_stablehlo(fresh(s), sp) for s, sp in progs]
    for t in threads:
        t.join()
    assert not errors, errors
    assert results[0] == expected
    assert results[1] == expected
    assert main_thread == expected


# Bodies whose lowering rules trace a function (``mlir.lower_fun``): jax.random draws
# (Threefry), cumulative reductions, argmax, scan, logistic, igamma. Each is lowered twice per
# seed value so the trace cache is hit, on two shapes, with x64 off and on.
TRACING_BODIES = [
    "x + jax.random.uniform(jax.random.key({i}), x.shape)",
    "x * jax.random.normal(jax.random.fold_in(jax.random.key({i}), 3), x.shape, x.dtype)",
    "x + jax.random.bernoulli(jax.random.split(jax.random.key({i}))[1], 0.5, x.shape)",
    "jnp.cumsum(x, axis=0) + {i}",
    "jnp.cumprod(x, axis=-1) * {i}",
    "jax.lax.cummax(x, axis=0) - {i}",
    "jnp.argmax(x, axis=0) + {i}",
    "jax.nn.sigmoid(x) + {i}",
    "jax.lax.igamma(x * x + 1.0, x * x + {i}.5)",
    "jax.lax.scan(lambda c, a: (c + a, c * a), x[0] * {i}, x)[1]",
]


@pytest.mark.parametrize("x64", [False, True])
def test_trace_cache_matches_stock_and_is_used(x64: bool) -> None:
    if not fastlower.FAST_PATH_AVAILABLE:
        pytest.skip("fast path not available on this jax")
    from fuzzjax.lowering import tracecache

    before = tracecache.stats()
    mismatches = []
    with jax.enable_x64(x64):
        for shape in [(3, 4), (5, 2)]:
            spec = jax.ShapeDtypeStruct(shape, jnp.float32)
            for body in TRACING_BODIES:
                for i in (1, 2):
                    src = f"def f(x):\n    return {body.format(i=i)}\n"
                    fast = fast_lower(src, [spec])
                    if fast != fastlower.stock_lower_stablehlo(fresh(src), [spec]):
                        mismatches.append((shape, src))
    after = tracecache.stats()
    assert not mismatches, mismatches[:3]
    # The second lowering of each body (and the shared Threefry hash) came from the cache.
    assert after["hits"] - before["hits"] >= 2 * len(TRACING_BODIES)


def test_trace_cache_is_idle_outside_the_fast_path() -> None:
    if not fastlower.FAST_PATH_AVAILABLE:
        pytest.skip("fast path not available on this jax")
    from fuzzjax.lowering import tracecache

    fast_lower("def f(x):\n    return jnp.cumsum(x)\n", [jax.ShapeDtypeStruct((4,), jnp.int32)])
    before = tracecache.stats()
    for i in range(3):
        src = f"def f(x):\n    return x + jax.random.uniform(jax.random.key({i}), x.shape)\n"
        fastlower.stock_lower_stablehlo(fresh(src), [jax.ShapeDtypeStruct((6,), jnp.float32)])
    assert tracecache.stats() == before
