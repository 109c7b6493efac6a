"""Faster StableHLO lowering by reusing one MLIR context per thread.

``jax.jit(fn).lower(*specs).as_text()`` spends a large share of its time (about
half for small generated programs) building a fresh MLIR context: every call of
``ModuleContext.__init__`` in ``jax._src.interpreters.mlir`` calls the
module-level ``make_ir_context()``, which loads and registers all dialects.

The fast path installs, once, a pass-through wrapper around
``mlir.make_ir_context``.  While a thread is inside :func:`lower_stablehlo`
the wrapper returns that thread's cached context instead of building a new
one; everywhere else (other threads, stock lowering, JAX's own callers) it
calls the original function.  The lowered module is printed to text before
``lower_stablehlo`` returns, so callers never hold a module tied to the
shared context.  The context is rebuilt every ``_RECYCLE_EVERY`` uses (MLIR
uniques types/attributes per context and never frees them, so one context
would grow without bound) and after any exception raised while it was in use.

On the same path, lowering rules that trace a Python function on every call
(``mlir.lower_fun``: Threefry for each ``jax.random`` draw, cumulative reductions,
argmax, scan...) reuse the jaxpr traced for the same rule, avals, parameters and
trace context (:mod:`fuzzjax.lowering.tracecache`).

This relies on JAX internals, so it is enabled only for jax versions where
byte-identical output was verified and only when the hook point exists; set
``FUZZJAX_NO_FAST_LOWER=1`` to force stock lowering.  Run
``python -m fuzzjax.lowering.fastlower [N]`` to time stock vs fast lowering.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Sequence
from typing import Any

import jax

from fuzzjax.lowering import tracecache

__all__ = ["FAST_PATH_AVAILABLE", "lower_stablehlo", "stock_lower_stablehlo"]

# Inclusive range of jax versions on which fast == stock was verified
# (tests/test_fastlower.py).  Widen only after re-running those tests.
_VERIFIED_MIN = (0, 10, 2)
_VERIFIED_MAX = (0, 10, 2)
# Lowerings per context before it is dropped and rebuilt (bounds memory).
_RECYCLE_EVERY = 500
_ENV_DISABLE = "FUZZJAX_NO_FAST_LOWER"


def _version_tuple(version: str) -> tuple[int, ...]:
    m = re.match(r"(\d+)\.(\d+)\.(\d+)", version)
    return tuple(int(g) for g in m.groups()) if m else ()


def _probe() -> Any:
    """Return the jax ``mlir`` module if the hook point is usable, else None."""
    if not _VERIFIED_MIN <= _version_tuple(jax.__version__) <= _VERIFIED_MAX:
        return None
    try:
        from jax._src.interpreters import mlir
    except ImportError:
        return None
    make = getattr(mlir, "make_ir_context", None)
    module_ctx = getattr(mlir, "ModuleContext", None)
    init = getattr(module_ctx, "__init__", None)
    code = getattr(init, "__code__", None)
    # ModuleContext must look up make_ir_context as a module global at call
    # time, otherwise patching the module attribute would have no effect.
    if not callable(make) or code is None or "make_ir_context" not in code.co_names:
        return None
    return mlir


_mlir = _probe()
FAST_PATH_AVAILABLE: bool = _mlir is not None


class _State(threading.local):
    def __init__(self) -> None:
        self.active = 0  # nesting depth of lower_stablehlo on this thread
        self.context: Any = None
        self.uses = 0
        self.pid = 0  # process that created `context` (don't reuse across fork)
        self.handed_out = False  # cached context returned during current call


_state = _State()
_install_lock = threading.Lock()
_original_make: Callable[[], Any] | None = None


def _make_ir_context_hook() -> Any:
    assert _original_make is not None
    st = _state
    if not st.active:
        return _original_make()
    if st.context is None or st.uses >= _RECYCLE_EVERY or st.pid != os.getpid():
        st.context = _original_make()
        st.uses = 0
        st.pid = os.getpid()
    st.uses += 1
    st.handed_out = True
    return st.context


def _install_hook() -> None:
    global _original_make
    with _install_lock:
        if _original_make is None:
            _original_make = _mlir.make_ir_context
            _mlir.make_ir_context = _make_ir_context_hook
            tracecache.install(_mlir, _lowering_here)


def _lowering_here() -> bool:
    """Whether this thread is inside :func:`lower_stablehlo` on the fast path."""
    return _state.active > 0


def _fast_enabled(fast: bool) -> bool:
    return fast and FAST_PATH_AVAILABLE and os.environ.get(_ENV_DISABLE, "") in ("", "0")


def stock_lower_stablehlo(fn: Callable[..., Any], specs: Sequence[jax.ShapeDtypeStruct]) -> str:
    """Plain ``jax.jit(fn).lower(*specs).as_text()``."""
    return jax.jit(fn).lower(*specs).as_text()


def lower_stablehlo(
    fn: Callable[..., Any], specs: Sequence[jax.ShapeDtypeStruct], *, fast: bool = True
) -> str:
    """StableHLO text of ``jax.jit(fn).lower(*specs)``, identical to stock lowering.

    Uses a reused per-thread MLIR context when ``fast`` and the fast path is
    available (and not disabled via ``FUZZJAX_NO_FAST_LOWER=1``), else stock.
    """
    if not _fast_enabled(fast):
        return stock_lower_stablehlo(fn, specs)
    _install_hook()
    st = _state
    st.handed_out = False
    st.active += 1
    try:
        # Convert to text while the module is alive and we are still inside.
        return jax.jit(fn).lower(*specs).as_text()
    except BaseException:
        if st.handed_out:
            # The shared context was in use when lowering failed: don't trust
            # it for the next program.
            st.context = None
        raise
    finally:
        st.active -= 1


def _fresh_functions(
    n: int,
) -> list[tuple[Callable[..., Any], list[jax.ShapeDtypeStruct]]]:
    """``n`` distinct freshly exec'd functions (jax caches traces per function)."""
    import jax.numpy as jnp

    unary = ["jnp.sin", "jnp.exp", "jnp.tanh", "jax.nn.relu", "jnp.abs"]
    out = []
    for i in range(n):
        u1, u2 = unary[i % len(unary)], unary[(i // len(unary)) % len(unary)]
        src = (
            "def f(x, y):\n"
            f"    z = {u1}(x @ y) * {i + 1}.0\n"
            f"    return jnp.sum({u2}(z) + x, axis={i % 2}), jnp.argmax(z, axis=1)\n"
        )
        ns: dict[str, Any] = {"jax": jax, "jnp": jnp}
        exec(src, ns)  # noqa: S102 - trusted, locally generated text
        spec = jax.ShapeDtypeStruct((8, 8), jnp.float32)
        out.append((ns["f"], [spec, spec]))
    return out


def main(argv: Sequence[str] | None = None) -> None:
    """Time ``N`` fresh-function lowerings, stock vs fast, and print ms/program."""
    import sys
    import time

    args = list(sys.argv[1:] if argv is None else argv)
    n = int(args[0]) if args else 300
    print(f"jax {jax.__version__}, fast path available: {FAST_PATH_AVAILABLE}, N={n}")
    # Warm up JAX (imports, primitive caches) outside the timed region.
    for f, specs in _fresh_functions(20):
        stock_lower_stablehlo(f, specs)
        lower_stablehlo(f, specs)
    # Alternate stock/fast rounds and keep each one's best: the first rounds in a
    # process also pay for filling JAX's caches, which would bias the order.
    times: dict[str, float] = {}
    for _ in range(2):
        for label, lower in (("stock", stock_lower_stablehlo), ("fast", lower_stablehlo)):
            progs = _fresh_functions(n)
            t0 = time.perf_counter()
            for f, specs in progs:
                lower(f, specs)
            ms = (time.perf_counter() - t0) / n * 1e3
            times[label] = min(ms, times.get(label, ms))
    for label, ms in times.items():
        print(f"{label:>5}: {ms:.2f} ms/program")
    print(f"speedup: {times['stock'] / times['fast']:.2f}x")


if __name__ == "__main__":
    main()
