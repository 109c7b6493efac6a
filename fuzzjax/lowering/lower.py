"""exec -> jit -> lower -> canonical StableHLO: for generated programs and user functions.

Generated text is only ever exec'd after it parses under the fuzzjax grammar, in a namespace
that holds ``jax``, ``jnp`` and ``lax`` and no builtins but ``__import__``. Programs generated
with ``GenOptions.x64`` are traced and lowered inside ``jax.enable_x64(True)``, scoped to that
one program (``x64_scope``); the global JAX configuration is never changed.
"""

from __future__ import annotations

import contextlib
import inspect
import itertools
import re
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import jax
import jax.flatten_util  # noqa: F401 - programs call jax.flatten_util.ravel_pytree
import jax.numpy as jnp
import jax.scipy.special  # noqa: F401 - programs call jax.scipy.special.*
from jax import lax

from fuzzjax.errors import one_line
from fuzzjax.lowering.canonical import canonicalize, ir_hash, op_counts
from fuzzjax.lowering.fastlower import lower_stablehlo
from fuzzjax.program import ArgSpec, Program
from fuzzjax.syntax import ensure_valid, measure_depth, parse

#: MLIR element type of each dtype, to check a lowered result against the typing table.
MLIR_ELEMENT = {
    "bool": "i1",
    "int8": "i8",
    "uint8": "ui8",
    "int32": "i32",
    "int64": "i64",
    "uint32": "ui32",
    "uint64": "ui64",
    "float16": "f16",
    "bfloat16": "bf16",
    "float32": "f32",
    "float64": "f64",
    "complex64": "complex<f32>",
    "complex128": "complex<f64>",
}
_MAIN_RESULT = re.compile(r"func\.func public @main\(.*\) -> \(?(tensor<[^<>]*(?:<[^<>]*>)?>)")


class LoweringStage(str, Enum):
    """Where lowering failed."""

    EXEC = "exec"  # running the program text to define the function
    LOWER = "lower"  # jit(...).lower(...)
    TYPE = "type"  # lowered, to another result type than the typing table's
    EXPORT = "export"  # jax.export for one platform (fuzzjax.lowering.platforms)


class LoweringError(RuntimeError):
    """A program that failed to lower, or lowered to an unexpected result type."""

    def __init__(self, stage: LoweringStage, message: str) -> None:
        super().__init__(f"{self.label_of(stage)}: {message}")
        self.stage = stage
        self.message = message

    def label_of(self, stage: LoweringStage) -> str:
        return stage.value

    @property
    def label(self) -> str:
        """The stage as recorded in a corpus's ``failures`` table."""
        return self.label_of(self.stage)


#: Worker processes clear JAX's trace, lowering and compilation caches after this many
#: programs (corpus building and fuzzing alike), so their memory stays flat.
CLEAR_CACHES_EVERY = 500


def cache_clearer(every: int = CLEAR_CACHES_EVERY) -> Callable[[], None]:
    """A function to call once per program: every ``every``-th call clears JAX's caches."""
    calls = itertools.count(1)

    def tick() -> None:
        if next(calls) % every == 0:
            jax.clear_caches()

    return tick


@dataclass
class IRPair:
    """A (Python source, StableHLO) pair with its metadata."""

    function_name: str
    python_source: str
    ir_code: str
    dialect: str
    signature: str
    input_info: list[dict[str, Any]]
    op_counts: dict[str, int]
    depth: int | None
    ir_hash: str
    lower_ms: float
    jax_version: str = field(default_factory=lambda: jax.__version__)
    jaxlib_version: str = field(default_factory=lambda: _jaxlib_version())
    hlo: str | None = None


def pair_row(pair: IRPair, **fields: Any) -> dict[str, Any]:
    """The corpus row of ``pair`` (keys: ``corpus.PAIR_COLUMNS``); ``fields`` add or override
    the provenance columns (seed, options, category, operation, grammar_sha, ...)."""
    from fuzzjax import __version__

    row: dict[str, Any] = {
        "seed": None,
        "options": None,
        "category": None,
        "operation": pair.function_name,
        "depth": pair.depth,
        "source": pair.python_source,
        "stablehlo": pair.ir_code,
        "hlo": pair.hlo,
        "ir_hash": pair.ir_hash,
        "signature": pair.signature,
        "input_info": pair.input_info,
        "op_counts": pair.op_counts,
        "jax_version": pair.jax_version,
        "jaxlib_version": pair.jaxlib_version,
        "grammar_sha": None,
        "fuzzjax_version": __version__,
        "lower_ms": round(pair.lower_ms, 3),
    }
    row.update(fields)
    return row


def _jaxlib_version() -> str:
    import jaxlib

    return str(getattr(jaxlib, "__version__", "unknown"))


def tensor_type(dtype: str, shape: Sequence[int]) -> str:
    dims = "".join(f"{d}x" for d in shape)
    return f"tensor<{dims}{MLIR_ELEMENT[dtype]}>"


def load_function(source: str) -> Callable[..., Any]:
    """Parse-check program text, then exec it and return its function ``f``."""
    ensure_valid(source)  # raises ProgramSyntaxError before anything is executed
    # No builtins but __import__, which C extensions (numpy, ml_dtypes) call through the
    # calling frame's globals. The grammar admits no names besides parameters and locals.
    builtins = {"__import__": __import__}
    namespace: dict[str, Any] = {"__builtins__": builtins, "jax": jax, "jnp": jnp, "lax": lax}
    exec(compile(source, "<fuzzjax-program>", "exec"), namespace)
    fn: Callable[..., Any] = namespace["f"]
    return fn


def x64_scope(enabled: bool) -> AbstractContextManager[Any]:
    """``jax.enable_x64(True)`` for an x64 program (this thread, until the block ends); a
    no-op context for every other program."""
    return jax.enable_x64(True) if enabled else contextlib.nullcontext()


def specs_of(args: Sequence[ArgSpec]) -> list[jax.ShapeDtypeStruct]:
    return [jax.ShapeDtypeStruct(a.shape, jnp.dtype(a.dtype)) for a in args]


def lower_text(fn: Callable[..., Any], specs: Sequence[Any], *, fast: bool = True) -> str:
    """Raw StableHLO text of ``jax.jit(fn).lower(*specs)`` (fast path when available)."""
    return lower_stablehlo(fn, specs, fast=fast)


def lower_program(program: Program, *, fast: bool = True, hlo: bool = False) -> IRPair:
    """Lower a generated program (in its x64 mode); check the result type against the typing
    table."""
    with x64_scope(program.options.x64):
        return _lower_program(program, fast=fast, hlo=hlo)


def _lower_program(program: Program, *, fast: bool, hlo: bool) -> IRPair:
    try:
        fn = load_function(program.source)
    except Exception as exc:  # noqa: BLE001 - any failure here is recorded, never raised raw
        raise LoweringError(LoweringStage.EXEC, one_line(exc)) from exc
    specs = specs_of(program.args)
    start = time.perf_counter()
    try:
        raw = lower_text(fn, specs, fast=fast)
    except Exception as exc:  # noqa: BLE001
        raise LoweringError(LoweringStage.LOWER, one_line(exc)) from exc
    elapsed = (time.perf_counter() - start) * 1000
    text = canonicalize(raw)
    expected = tensor_type(program.result_dtype, program.result_shape)
    match = _MAIN_RESULT.search(text)
    got = match.group(1) if match else "?"
    if got != expected:
        raise LoweringError(LoweringStage.TYPE, f"typing table says {expected}, JAX lowered {got}")
    return IRPair(
        function_name="f",
        python_source=program.source,
        ir_code=text,
        dialect="stablehlo",
        signature=_signature(program.args, program.result_dtype, program.result_shape),
        input_info=program.input_info(),
        op_counts=op_counts(text),
        depth=program.depth,
        ir_hash=ir_hash(text),
        lower_ms=elapsed,
        hlo=_hlo_text(fn, specs) if hlo else None,
    )


def extract_ir_pair(
    fn: Callable[..., Any], *args: Any, dialect: str = "stablehlo", name: str | None = None
) -> IRPair:
    """Lower any Python function on example arguments (arrays or ``ShapeDtypeStruct``s).

    ``dialect="hlo"`` additionally stores XLA HLO text in ``hlo`` (it costs about as much as
    lowering). ``depth`` is measured when the function's source parses under the grammar.
    """
    if dialect not in ("stablehlo", "hlo"):
        raise ValueError(f"dialect={dialect!r} must be 'stablehlo' or 'hlo'")
    specs = [jax.ShapeDtypeStruct(jnp.shape(a), jnp.result_type(a)) for a in args]
    start = time.perf_counter()
    lowered = jax.jit(fn).lower(*specs)
    text = canonicalize(lowered.as_text())
    elapsed = (time.perf_counter() - start) * 1000
    source = _source_of(fn)
    info = [ArgSpec(f"arg{i}", tuple(s.shape), str(s.dtype)).to_json() for i, s in enumerate(specs)]
    out = jax.tree_util.tree_leaves(lowered.out_info)
    sig_in = ", ".join(f"{a['dtype']}{list(a['shape'])}" for a in info)
    sig_out = ", ".join(f"{o.dtype}{list(o.shape)}" for o in out)
    return IRPair(
        function_name=name or str(getattr(fn, "__name__", "fn")),
        python_source=source,
        ir_code=text,
        dialect=dialect,
        signature=f"({sig_in}) -> ({sig_out})",
        input_info=info,
        op_counts=op_counts(text),
        depth=_depth_if_ours(source),
        ir_hash=ir_hash(text),
        lower_ms=elapsed,
        hlo=lowered.as_text(dialect="hlo") if dialect == "hlo" else None,
    )


def _hlo_text(fn: Callable[..., Any], specs: Sequence[Any]) -> str:
    return str(jax.jit(fn).lower(*specs).as_text(dialect="hlo"))


def _signature(args: Sequence[ArgSpec], dtype: str, shape: tuple[int, ...]) -> str:
    ins = ", ".join(f"{a.name}: {a.dtype}{list(a.shape)}" for a in args)
    return f"({ins}) -> {dtype}{list(shape)}"


def _source_of(fn: Callable[..., Any]) -> str:
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):
        return getattr(fn, "__fuzzjax_source__", "")


def _depth_if_ours(source: str) -> int | None:
    try:
        return measure_depth(parse(source))
    except Exception:  # noqa: BLE001 - user code outside the grammar has no measured depth
        return None
