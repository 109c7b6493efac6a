"""exec -> jit -> lower -> canonical StableHLO: for generated programs and user functions.

Generated text is only ever exec'd after it parses under the fuzzjax grammar, in a namespace
that holds ``jax``, ``jnp`` and ``lax`` and no builtins but ``__import__``. Programs generated
with ``GenOptions.x64`` are traced and lowered inside ``jax.enable_x64(True)``, scoped to that
one program (``x64_scope``); the global JAX configuration is never changed.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import re
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import jax
import jax.flatten_util  # noqa: F401 - programs call jax.flatten_util.ravel_pytree
import jax.numpy as jnp
import jax.scipy.special  # noqa: F401 - programs call jax.scipy.special.*
from jax import lax

from fuzzjax.errors import one_line
from fuzzjax.lowering.canonical import canonicalize, ir_hash, op_counts
from fuzzjax.lowering.fastlower import lower_stablehlo
from fuzzjax.lowering.userargs import abstract, bind_arguments
from fuzzjax.lowering.userargs import input_info as user_input_info
from fuzzjax.lowering.userargs import signature as user_signature
from fuzzjax.lowering.usersource import collect_source, real_function
from fuzzjax.program import ArgSpec, Program
from fuzzjax.syntax import Parameter, arrange, ensure_valid, measure_depth, parameters, parse

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
    ARGUMENTS = "arguments"  # a user function's example arguments do not fit it
    TRACE = "trace"  # a user function raised while being traced (its own error)


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


#: Worker processes clear JAX's trace, lowering and compilation caches when their resident
#: memory passes ``CLEAR_CACHES_RSS_MB`` (checked once per program), and in any case after
#: ``CLEAR_CACHES_EVERY`` programs. Measured (scripts/fuzz_rss.py, notes/fuzzing.md): a fuzz
#: worker grows by about 4 MB per program and clearing gives most of it back.
CLEAR_CACHES_EVERY = 500
CLEAR_CACHES_RSS_MB = 1536
#: At least this many programs between two clears (a worker whose floor is above the limit
#: must not clear for every program).
_MIN_PROGRAMS_BETWEEN_CLEARS = 25


def resident_mb() -> float:
    """This process's resident memory in MB (Linux ``/proc/self/statm``; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
    except (OSError, ValueError, IndexError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def cache_clearer(
    every: int = CLEAR_CACHES_EVERY, rss_mb: float | None = CLEAR_CACHES_RSS_MB
) -> Callable[[], None]:
    """A function to call once per program: it clears JAX's caches every ``every``-th call,
    or earlier once the process's resident memory passes ``rss_mb``."""
    since = [0]

    def tick() -> None:
        since[0] += 1
        full = rss_mb is not None and since[0] >= _MIN_PROGRAMS_BETWEEN_CLEARS
        if since[0] >= every or (full and resident_mb() > float(rss_mb or 0)):
            jax.clear_caches()
            since[0] = 0

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
    header = source.partition("\n")[0]
    if "params" not in header and "batch" not in header:  # no pytree parameter: no parse
        return fn
    return _flat_inputs(fn, parameters(parse(source)))


def _flat_inputs(fn: Callable[..., Any], declared: list[Parameter]) -> Callable[..., Any]:
    """``fn`` taking one argument per array leaf (``Program.args`` order, the order
    ``jax.jit`` flattens ``params`` dicts and ``batch`` tuples in), so lowering, fuzzing and
    the reference all pass flat inputs; the lowered IR is ``fn``'s own (tested)."""

    def f(*leaves: Any) -> Any:
        return fn(*arrange(declared, leaves))

    return f


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
    fn: Callable[..., Any],
    *args: Any,
    dialect: str = "stablehlo",
    name: str | None = None,
    kwargs: Mapping[str, Any] | None = None,
    static_argnames: str | Sequence[str] = (),
    static_argnums: int | Sequence[int] = (),
) -> IRPair:
    """Lower any Python function on example arguments, as ``jax.jit(fn).lower`` would.

    Arguments (``args`` and ``kwargs``) are pytrees (tuples, lists, dicts, NamedTuples,
    nested) of arrays or ``jax.ShapeDtypeStruct``s (only shapes, dtypes and weak types are
    used), Python scalars (weakly typed, as under ``jax.jit``) and ``None`` (passed as
    ``None``); ``static_argnames``/``static_argnums`` are passed as they are, as ``jax.jit``
    does. ``input_info`` has one entry per input of the IR, named by the real parameter name
    and pytree path (``params['w']``); ``signature`` writes the whole structure. The stored
    source is the function plus the imports, helpers and constants of its file that it uses
    (``fuzzjax.lowering.usersource``). ``dialect="hlo"`` additionally stores XLA HLO text in
    ``hlo``. ``depth`` is measured when the source parses under the grammar.

    Raises ``LoweringError`` with stage ``arguments`` (the example arguments do not fit the
    function), ``trace`` (the function raised while being traced; the message names the
    line) or ``lower`` (JAX could not lower the traced function).
    """
    if dialect not in ("stablehlo", "hlo"):
        raise ValueError(f"dialect={dialect!r} must be 'stablehlo' or 'hlo'")
    try:
        bound = bind_arguments(
            fn, args, kwargs or {}, _static_names(fn, static_argnames, static_argnums)
        )
        abstracted = {n: abstract(v) for n, v in bound.values.items() if n not in bound.static}
    except TypeError as exc:
        raise LoweringError(LoweringStage.ARGUMENTS, one_line(exc)) from exc
    call_args, call_kwargs = bound.call_args(abstract)
    start = time.perf_counter()
    try:
        traced = jax.jit(fn, static_argnames=tuple(sorted(bound.static))).trace(
            *call_args, **call_kwargs
        )
    except Exception as exc:  # noqa: BLE001 - recorded with the stage it belongs to
        entered, message = _raised_in(exc, fn)
        # The function raised (itself, or what it called) only if it was entered at all;
        # before that, jax.jit refused the arguments (e.g. an unhashable static).
        stage = LoweringStage.TRACE if entered else LoweringStage.ARGUMENTS
        raise LoweringError(stage, message) from exc
    try:
        lowered = traced.lower()
    except Exception as exc:  # noqa: BLE001
        raise LoweringError(LoweringStage.LOWER, one_line(exc)) from exc
    text = canonicalize(lowered.as_text())
    elapsed = (time.perf_counter() - start) * 1000
    collected = collect_source(fn, name)
    source = collected.stored()
    real_name = str(getattr(real_function(fn), "__name__", "fn"))
    if real_name == "<lambda>" and collected.entry:
        real_name = collected.entry
    return IRPair(
        function_name=name or real_name,
        python_source=source,
        ir_code=text,
        dialect=dialect,
        signature=user_signature(bound, abstracted, lowered.out_info),
        input_info=user_input_info(bound, abstracted),
        op_counts=op_counts(text),
        depth=_depth_if_ours(source),
        ir_hash=ir_hash(text),
        lower_ms=elapsed,
        hlo=lowered.as_text(dialect="hlo") if dialect == "hlo" else None,
    )


def _static_names(
    fn: Callable[..., Any], names: str | Sequence[str], nums: int | Sequence[int]
) -> list[str]:
    """``static_argnames`` plus the names of the ``static_argnums`` positions."""
    out = [names] if isinstance(names, str) else list(names)
    positions = [nums] if isinstance(nums, int) else list(nums)
    if positions:
        try:
            params = list(inspect.signature(fn).parameters)
        except (TypeError, ValueError):
            raise LoweringError(
                LoweringStage.ARGUMENTS, "static_argnums needs a function with a signature"
            ) from None
        for i in positions:
            if not -len(params) <= i < len(params):
                raise LoweringError(
                    LoweringStage.ARGUMENTS, f"static_argnums={i} is not a parameter position"
                )
            out.append(params[i])
    return out


def _raised_in(exc: BaseException, fn: Callable[..., Any]) -> tuple[bool, str]:
    """Whether the traceback passes through the user's function, and
    ``ValueError at file.py:12: message`` with the innermost line of the user's file in it
    (where the function raised, or called what raised)."""
    code = getattr(real_function(fn), "__code__", None)
    file = code.co_filename if code is not None else None
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == file]
    entered = code is not None and any(f.name == code.co_name for f in frames)
    at = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    text = one_line(exc).removeprefix(type(exc).__name__ + ": ")
    return entered, f"{type(exc).__name__}{at}: {text}"


def _hlo_text(fn: Callable[..., Any], specs: Sequence[Any]) -> str:
    return str(jax.jit(fn).lower(*specs).as_text(dialect="hlo"))


def _signature(args: Sequence[ArgSpec], dtype: str, shape: tuple[int, ...]) -> str:
    ins = ", ".join(f"{a.name}: {a.dtype}{list(a.shape)}" for a in args)
    return f"({ins}) -> {dtype}{list(shape)}"


def _depth_if_ours(source: str) -> int | None:
    try:
        return measure_depth(parse(source))
    except Exception:  # noqa: BLE001 - user code outside the grammar has no measured depth
        return None
