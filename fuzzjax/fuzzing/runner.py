"""Running a program under every oracle: compiled once, then tested on several input sets.

A program is lowered and compiled once with XLA's optimisations and once with its optimising
HLO passes off (``O0_OPTIONS``: the -O0 side of a C compiler fuzzer's -O0 vs -O2 oracle, aimed
at XLA's simplifier and fusion passes). Each input set then goes through both executables and
the NumPy reference. Eager op-by-op execution (``jax.disable_jit``), the costly oracle, runs on
every input set of a sampled share of programs (its per-primitive caches are reused across
them), and always as a third opinion when two others disagree. JAX's own executions may differ
by rounding within ``rewrite_tolerance``, never in NaN or infinity. ``RunResult.tests``
records which oracles ran on each input set. The first failing input set ends the run (one
finding per program).
"""

from __future__ import annotations

import contextlib
import functools
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np

from fuzzjax.dtypes import real_dtype
from fuzzjax.errors import one_line
from fuzzjax.fuzzing.budget import budget
from fuzzjax.fuzzing.case import Stage, Symptom
from fuzzjax.fuzzing.inputs import dtype_name, finfo
from fuzzjax.fuzzing.oracles import TOLERANCE_ULP, Diff, Failure, compare, flushed, same_bits
from fuzzjax.fuzzing.reference import Evaluation, evaluate
from fuzzjax.fuzzing.reference.values import x64_mode

#: XLA's optimising HLO passes on CPU (names as in ``--xla_dump_hlo_pass_re`` dumps), switched
#: off for the unoptimised executable. The passes that make a module runnable at all (layout
#: assignment, copy insertion, the expanders and decomposers) stay on: with
#: ``xla_disable_all_hlo_passes`` XLA returns wrong values for a plain transpose and hangs on
#: zero-size arrays (``scripts/o0_zero_size.py``), so that option is no oracle.
#: Fusion is switched off only for a sampled share of programs (``deep``): unfused modules
#: take about five times as long to compile (``scripts/fuzz_profile.py``).
O0_DISABLED_PASSES: tuple[str, ...] = (
    "algsimp",
    "constant_folding",
    "cse",
    "reshape-mover",
    "while-loop-invariant-code-motion",
    "while-loop-simplifier",
    "small-while-loop-hoisting",
    "tuple-simplifier",
    "batch-dot-simplification",
    "simplify-sorts",
)
#: Seconds the NumPy reference may take on a program, over all its input sets, before it gives
#: the program up (it interprets loops step by step: a ``lax.scan`` of 65,536 steps took
#: longer than fuzz's timeout on one input set, and a ``lax.map`` over 32,768 elements took
#: 2 s on each of 16, so 32 s; the worker's kill made a "reference hang" bucket). Then JAX's
#: own executions are still compared with each other, and the test records
#: ``reference_over_budget``.
REFERENCE_BUDGET = 10.0
#: Seconds the sampled eager oracle (``run_program(eager=True)``: every input set op by op)
#: may take on a program, over its input sets, before it skips the later sets (recorded as
#: ``eager_over_budget``). The 16 op-by-op runs of a small shard_map program (6-7 s at load 2)
#: outlasted fuzz's 30 s timeout at load 7-8 and became an "eager hang" bucket that its
#: repro.py (one input set, 5 s) did not reproduce. Eager as a third opinion, where two
#: other oracles disagree, always runs; a single eager run is never interrupted (a real hang
#: stays a hang).
EAGER_BUDGET = 10.0

O0_OPTIONS: dict[str, Any] = {"xla_disable_hlo_passes": ",".join(O0_DISABLED_PASSES)}
O0_DEEP_OPTIONS: dict[str, Any] = {
    "xla_disable_hlo_passes": ",".join((*O0_DISABLED_PASSES, "fusion"))
}


class Oracle(str, Enum):
    """The opinions one input set can get."""

    JIT = "jit"  # the optimised executable
    O0 = "o0"  # the same lowered module compiled with the simplifying HLO passes off
    O0_DEEP = "o0_deep"  # the same, with fusion off too
    EAGER = "eager"  # op by op under jax.disable_jit()
    REFERENCE = "reference"  # fuzzjax's NumPy interpreter
    #: the reference gave up on the program (over ``REFERENCE_BUDGET``): not compared
    REFERENCE_OVER_BUDGET = "reference_over_budget"
    #: the sampled eager runs used up ``EAGER_BUDGET``: this input set got none
    EAGER_OVER_BUDGET = "eager_over_budget"
    DETERMINISM = "determinism"  # the optimised executable run twice


@dataclass
class TestResult:
    """One input set's outcome and the oracles that ran on it."""

    index: int
    oracles: list[Oracle] = field(default_factory=list)
    failure: Failure | None = None
    explained: dict[str, int] = field(default_factory=dict)


@dataclass
class RunResult:
    """A program's run: its tests, the first failure, and the values of the last test."""

    failure: Failure | None = None
    failing_index: int | None = None
    tests: list[TestResult] = field(default_factory=list)
    explained: dict[str, int] = field(default_factory=dict)
    #: Whether the unoptimised executable was available (it compiled).
    o0_available: bool = False
    jit: np.ndarray | None = None
    eager: np.ndarray | None = None
    reference: Evaluation | None = None
    #: Reference evaluations of every input set that got one (for coverage).
    evaluations: list[Evaluation] = field(default_factory=list)

    def oracle_counts(self) -> Counter[str]:
        return Counter(o.value for test in self.tests for o in test.oracles)


class _Stop(Exception):
    def __init__(self, failure: Failure) -> None:
        self.failure = failure


@contextlib.contextmanager
def _stage(stage: Stage) -> Iterator[None]:
    try:
        yield
    except _Stop:
        raise
    except Exception as exc:  # noqa: BLE001 - every exception is a finding
        raise _Stop(Failure(stage, Symptom.EXCEPTION, one_line(exc))) from exc


@contextlib.contextmanager
def program_mode(x64: bool) -> Iterator[None]:
    """Run an x64 program's oracles in x64 mode: JAX under ``jax.enable_x64(True)`` (this
    thread only) and the NumPy reference with JAX's x64 promotion and defaults. A 32-bit
    program (``x64=False``) leaves JAX's configuration as it is."""
    from fuzzjax.lowering.lower import x64_scope

    with x64_scope(x64), x64_mode(x64):
        yield


_O0_PROBE = (
    "import jax, jax.numpy as jnp\n"
    "from fuzzjax.fuzzing.runner import O0_OPTIONS\n"
    "jax.jit(lambda x: x + 1).lower(jnp.float32(1)).compile(compiler_options=O0_OPTIONS)\n"
)


@functools.cache
def o0_available(timeout: float = 180.0) -> tuple[bool, str]:
    """Whether this jaxlib compiles with ``O0_OPTIONS`` (probed once, in a subprocess: older
    jaxlibs, e.g. 0.4.26, abort the whole process on a repeated debug option passed as a
    compile option). Returns (available, why not)."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", _O0_PROBE], capture_output=True, text=True, timeout=timeout
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"the probe did not finish: {one_line(exc)}"
    if done.returncode == 0:
        return True, ""
    tail = (done.stderr.strip().splitlines() or [""])[-1]
    return False, f"compiling with {sorted(O0_OPTIONS)} fails here (exit {done.returncode}): {tail}"


def check_program(
    source: str,
    inputs: Sequence[np.ndarray],
    result_dtype: str,
    result_shape: tuple[int, ...],
    *,
    on_stage: Callable[[Stage], None] | None = None,
    want_eager: bool = True,
    o0: bool = True,
    explain: bool = True,
    x64: bool = False,
) -> RunResult:
    """Every oracle on one input set (eager included unless ``want_eager=False``)."""
    return run_program(
        source,
        [inputs],
        result_dtype,
        result_shape,
        on_stage=on_stage,
        eager=want_eager,
        o0=o0,
        explain=explain,
        x64=x64,
    )


def run_program(
    source: str,
    input_sets: Sequence[Sequence[np.ndarray]],
    result_dtype: str,
    result_shape: tuple[int, ...],
    *,
    on_stage: Callable[[Stage], None] | None = None,
    on_input: Callable[[int], None] | None = None,
    eager: bool = True,
    o0: bool = True,
    explain: bool = True,
    deep: bool = False,
    x64: bool = False,
) -> RunResult:
    """Compile ``source`` once and test it on each input set until one fails.

    ``eager`` runs the eager oracle on every input set (else only as a third opinion);
    ``o0=False`` skips the unoptimised executable. ``on_stage`` is told each stage before it
    starts and ``on_input`` each input set's index (the fuzz worker's breadcrumbs).
    ``deep`` also switches fusion off in the unoptimised executable (``O0_DEEP_OPTIONS``).
    ``explain=False`` (``fuzz --no-benign``) accepts no difference at all: no undefined
    masks, no flushing, no rounding tolerance, so the benign registry can be audited.
    ``x64``: an x64 program (``program_mode``).
    """
    with program_mode(x64):
        run = RunResult()
        tell = on_stage or (lambda stage: None)
        try:
            program = _Program.build(source, input_sets[0], tell, o0, deep)
        except _Stop as stop:
            run.failure, run.failing_index = stop.failure, 0
            return run
        run.o0_available = program.unoptimized is not None
        program.explain = explain
        for index, inputs in enumerate(input_sets):
            if on_input is not None:
                on_input(index)
            test = TestResult(index)
            run.tests.append(test)
            try:
                program.test(run, test, inputs, result_dtype, result_shape, eager, tell)
            except _Stop as stop:
                run.failure, run.failing_index = stop.failure, index
                test.failure = stop.failure
                return run
            finally:
                run.explained.update(test.explained)
        return run


@dataclass
class _Program:
    """The function and its two executables."""

    source: str
    fn: Callable[..., Any]
    compiled: Any
    unoptimized: Any | None
    #: The NumPy reference has used up ``REFERENCE_BUDGET`` (seconds over the input sets so
    #: far): it is not run on the program's later input sets.
    reference_over_budget: bool = field(default=False, init=False)
    reference_seconds: float = field(default=0.0, init=False)
    #: Seconds of the sampled eager runs so far (``EAGER_BUDGET``).
    eager_seconds: float = field(default=0.0, init=False)
    #: The current input set's ``rewrite_tolerance`` (None: compare JAX's paths strictly).
    atol: np.ndarray | None = None
    #: Whether benign explanations apply (``run_program(explain=...)``).
    explain: bool = True
    #: Whether the unoptimised executable has fusion off too.
    deep: bool = False

    @classmethod
    def build(
        cls,
        source: str,
        inputs: Sequence[np.ndarray],
        tell: Callable[[Stage], None],
        o0: bool,
        deep: bool = False,
    ) -> _Program:
        import jax
        import jax.numpy as jnp

        from fuzzjax.lowering.lower import load_function

        tell(Stage.LOWER)
        with _stage(Stage.LOWER):
            fn = load_function(source)
            lowered = jax.jit(fn).lower(*[jnp.asarray(x) for x in inputs])
        tell(Stage.COMPILE)
        with _stage(Stage.COMPILE):
            compiled = lowered.compile()
        unoptimized = None
        if o0:
            tell(Stage.COMPILE_O0)
            # An unoptimised executable XLA cannot build is no finding: some lowerings
            # need passes to run at all. The oracle is then reported as unavailable.
            with contextlib.suppress(Exception):
                options = O0_DEEP_OPTIONS if deep else O0_OPTIONS
                unoptimized = lowered.compile(compiler_options=options)
        return cls(source, fn, compiled, unoptimized, deep=deep and unoptimized is not None)

    def test(
        self,
        run: RunResult,
        test: TestResult,
        inputs: Sequence[np.ndarray],
        dtype: str,
        shape: tuple[int, ...],
        eager: bool,
        tell: Callable[[Stage], None],
    ) -> None:
        import jax.numpy as jnp

        args = [jnp.asarray(x) for x in inputs]
        first = not run.tests[:-1]
        tell(Stage.JIT)
        test.oracles.append(Oracle.JIT)
        jit_error: Failure | None = None
        again = None
        try:
            with _stage(Stage.JIT):
                run.jit = np.asarray(self.compiled(*args))
                if first:
                    test.oracles.append(Oracle.DETERMINISM)
                    again = np.asarray(self.compiled(*args))
        except _Stop as stop:
            jit_error = stop.failure
        unopt: np.ndarray | None = None
        o0_error: Failure | None = None
        if self.unoptimized is not None and jit_error is None:
            tell(Stage.O0)
            test.oracles.append(Oracle.O0_DEEP if self.deep else Oracle.O0)
            try:
                with _stage(Stage.O0):
                    unopt = np.asarray(self.unoptimized(*args))
            except _Stop as stop:
                o0_error = stop.failure
        run.eager = None
        sampled = eager and not (jit_error or o0_error)
        if sampled and self.eager_seconds >= EAGER_BUDGET:
            test.oracles.append(Oracle.EAGER_OVER_BUDGET)
        elif eager or jit_error or o0_error:
            start = time.perf_counter()
            eager_error = self._eager(run, test, args, tell)
            if sampled:
                self.eager_seconds += time.perf_counter() - start
            if jit_error:
                suffix = " (eager raises too)" if eager_error else " (eager runs)"
                raise _Stop(Failure(jit_error.stage, jit_error.symptom, jit_error.detail + suffix))
            if o0_error:
                suffix = " (eager raises too)" if eager_error else " (eager runs)"
                raise _Stop(Failure(o0_error.stage, o0_error.symptom, o0_error.detail + suffix))
            if eager_error:
                raise _Stop(eager_error)
        assert run.jit is not None
        _check_type(Stage.JIT, run.jit, dtype, shape)
        if again is not None and not same_bits(run.jit, again):
            detail = compare(again, run.jit, dtype).detail or "bits differ"
            raise _Stop(Failure(Stage.DETERMINISM, Symptom.NONDETERMINISM, detail))
        tell(Stage.REFERENCE)
        reference_error: _Stop | None = None
        run.reference = None
        if not self.reference_over_budget:
            start = time.perf_counter()
            try:
                left = REFERENCE_BUDGET - self.reference_seconds
                with _stage(Stage.REFERENCE), budget(left) as over:
                    run.reference = evaluate(self.source, inputs)
                # Interrupted (no result), or the alarm came just after, or the budget is
                # spent: either way the program's later input sets get no reference.
                self.reference_over_budget = over()
            except _Stop as stop:  # a fuzzjax bug: JAX's own paths are still compared first
                reference_error = stop
            self.reference_seconds += time.perf_counter() - start
            if self.reference_seconds >= REFERENCE_BUDGET:
                self.reference_over_budget = True
        if run.reference is not None:
            run.evaluations.append(run.reference)
            test.oracles.append(Oracle.REFERENCE)
        elif reference_error is None:
            # Over budget (here or on an earlier input set): no NumPy opinion, JAX's own
            # paths are still compared with each other below.
            test.oracles.append(Oracle.REFERENCE_OVER_BUDGET)
        else:
            test.oracles.append(Oracle.REFERENCE)
        explain = self.explain and run.reference is not None
        self.atol = rewrite_tolerance(run.reference, dtype) if explain and run.reference else None
        if unopt is not None:
            _check_type(Stage.O0, unopt, dtype, shape)
            diff = self._execution_diff(test, run.jit, unopt, dtype)
            if diff.symptom is not None:
                if run.eager is None:
                    self._eager(run, test, args, tell)  # a third opinion
                opinion = _third_opinion(run.eager, run.jit, unopt, dtype, self.atol)
                detail = f"{diff.detail}; {opinion}"
                raise _Stop(Failure(Stage.JIT_VS_O0, diff.symptom, detail, index=diff.index))
        if run.eager is not None:
            self._check_eager(test, run, dtype, shape)
        if reference_error is not None:
            raise reference_error
        ref = run.reference
        if ref is None:  # over budget
            return
        _check_type(Stage.REFERENCE, np.asarray(ref.result.value), dtype, shape)
        if self.explain:
            diff = compare(
                run.jit,
                np.asarray(ref.result.value),
                dtype,
                undefined=ref.result.undefined,
                alternative=lambda: np.asarray(
                    evaluate(self.source, inputs, ftz=True).result.value
                ),
                atol=ref.result.slack,
            )
        else:
            diff = compare(run.jit, np.asarray(ref.result.value), dtype)
        test.explained.update(diff.explained)
        if diff.symptom is None:
            return
        if run.eager is None:  # a third opinion: is it jit against both, or the reference?
            eager_error = self._eager(run, test, args, tell)
            if eager_error:
                raise _Stop(eager_error)
            self._check_eager(test, run, dtype, shape)
        raise _Stop(
            Failure(
                Stage.VS_NUMPY,
                diff.symptom,
                diff.detail,
                diff.explained,
                diff.index,
                diff.max_error,
            )
        )

    def _eager(
        self, run: RunResult, test: TestResult, args: list[Any], tell: Callable[[Stage], None]
    ) -> Failure | None:
        """Run eagerly into ``run.eager``; the failure if it raises."""
        import jax

        tell(Stage.EAGER)
        test.oracles.append(Oracle.EAGER)
        try:
            with _stage(Stage.EAGER), jax.disable_jit():
                run.eager = np.asarray(self.fn(*args))
        except _Stop as stop:
            return stop.failure
        return None

    def _check_eager(
        self, test: TestResult, run: RunResult, dtype: str, shape: tuple[int, ...]
    ) -> None:
        assert run.jit is not None and run.eager is not None
        _check_type(Stage.EAGER, run.eager, dtype, shape)
        diff = self._execution_diff(test, run.jit, run.eager, dtype)
        if diff.symptom is not None:
            raise _Stop(Failure(Stage.JIT_VS_EAGER, diff.symptom, diff.detail, index=diff.index))

    def _execution_diff(
        self, test: TestResult, got: np.ndarray, other: np.ndarray, dtype: str
    ) -> Diff:
        """Compare two of JAX's own executions. Differences that vanish once subnormals are
        flushed in both count as ``ftz`` (they flush in different places); finite differences
        within ``rewrite_tolerance`` count as ``rewrite_rounding``."""
        diff = compare(got, other, dtype)
        test.explained.update(diff.explained)
        if not diff.failed or not self.explain:
            return diff
        if not compare(flushed(got, dtype), flushed(other, dtype), dtype).failed:
            test.explained["ftz"] = test.explained.get("ftz", 0) + int(diff.bad.sum())
            return Diff(diff.bad, None)
        if self.atol is None:
            return diff
        within = compare(got, other, dtype, atol=self.atol)
        accepted = int(diff.bad.sum() - within.bad.sum())
        if accepted:
            test.explained["rewrite_rounding"] = test.explained.get("rewrite_rounding", 0)
            test.explained["rewrite_rounding"] += accepted
        return within


#: ``rewrite_tolerance``'s factor: ulps of rounding per operation of the chain.
REWRITE_ULPS_PER_OP = 4


def rewrite_tolerance(evaluation: Evaluation, dtype: str) -> np.ndarray | None:
    """How far two of JAX's executions of one program may differ by rounding alone.

    Rewrites (fusion, reassociation, FMA contraction, excess precision) change how often and
    where a chain of operations rounds. Each operation rounds by at most an ulp of its working
    precision, so with ``n`` operations, the lowest-precision dtype of the chain (its ``eps``)
    and ``scale`` the largest finite magnitude of any value in it, the results may differ by
    ``REWRITE_ULPS_PER_OP * n * eps * scale``. NaN and infinity differences are never covered
    (``compare`` reports them whatever ``atol`` says). None for integer and bool results.
    """
    real = real_dtype(dtype)
    if real not in TOLERANCE_ULP:
        return None
    nodes = [node for node in evaluation.nodes if node.args]
    values = [node.val for node in nodes] + [v for node in nodes for _, v in node.args]
    eps = float(finfo(real).eps)
    scale = 0.0
    for val in values:
        if val.dtype in TOLERANCE_ULP:  # the chain's lowest float precision
            eps = max(eps, float(finfo(real_dtype(val.dtype)).eps))
        x = np.abs(np.asarray(val.value).astype(np.complex128))
        finite = x[np.isfinite(x)]
        if finite.size:
            scale = max(scale, float(finite.max()))
    return np.asarray(REWRITE_ULPS_PER_OP * max(1, len(nodes)) * eps * scale)


def _third_opinion(
    eager: np.ndarray | None,
    jit: np.ndarray,
    unopt: np.ndarray,
    dtype: str,
    atol: np.ndarray | None,
) -> str:
    if eager is None:
        return "eager raised"
    with_jit = not compare(jit, eager, dtype, atol=atol).failed
    with_o0 = not compare(unopt, eager, dtype, atol=atol).failed
    if with_jit and with_o0:
        return "eager agrees with both"
    if with_o0:
        return "eager agrees with o0"
    return "eager agrees with jit" if with_jit else "eager agrees with neither"


def _check_type(stage: Stage, value: np.ndarray, dtype: str, shape: tuple[int, ...]) -> None:
    try:
        got = dtype_name(value.dtype)
    except KeyError:
        got = str(value.dtype)
    if got != dtype:
        raise _Stop(Failure(stage, Symptom.WRONG_DTYPE, f"result dtype {got}, expected {dtype}"))
    if tuple(value.shape) != tuple(shape):
        detail = f"result shape {tuple(value.shape)}, expected {tuple(shape)}"
        raise _Stop(Failure(stage, Symptom.WRONG_SHAPE, detail))
