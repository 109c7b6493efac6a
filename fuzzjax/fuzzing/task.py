"""The fuzz worker protocol, shared by the campaign loop and the shrinker.

A worker runs ``make_fuzz_task(config)`` (in a ``fuzzjax.workers.Pool``) on task numbers: a seed
(its program and inputs are regenerated in the worker), or ``CANDIDATE_BASE + n`` for a
shrinking candidate the supervisor pickled to ``<candidates>/<n>.pkl``. Before each oracle
stage the worker writes the stage's name to a breadcrumb file ``<crumbs>/<task number>``, so
when the worker dies or hangs, ``outcome_signature`` still knows where it was.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fuzzjax.errors import one_line
from fuzzjax.fuzzing.case import Case, Signature, Stage, Symptom
from fuzzjax.fuzzing.diagnose import Diagnosis, Status, classify, diagnose
from fuzzjax.fuzzing.inputs import input_set, sampled
from fuzzjax.program import GenOptions, Program
from fuzzjax.syntax import aliases_used, parse
from fuzzjax.workers import Outcome, OutcomeKind

#: Test-only hooks: make the worker segfault / hang on one seed (tests/test_fuzz_isolation.py).
TEST_CRASH_ENV = "FUZZJAX_TEST_CRASH_SEED"
TEST_HANG_ENV = "FUZZJAX_TEST_HANG_SEED"
#: Task numbers from here on name pickled shrinking candidates, not seeds (the pool takes
#: non-negative integers only: -1 is its "idle" marker).
CANDIDATE_BASE = 1 << 60
#: Exit codes of a dead worker (minus the signal number) and what they mean.
_SIGNALS = {-11: Symptom.SEGFAULT, -6: Symptom.ABORT, -9: Symptom.KILLED}


@dataclass(frozen=True)
class FuzzTaskConfig:
    """A fuzz worker's settings: generation options (JSON), its breadcrumb folder, and how
    each seed is tested (shrinking candidates always get every oracle on their one input set).
    """

    options: str
    crumbs: str
    #: Where shrinking candidates are pickled ("" = the breadcrumb folder).
    candidates: str = ""
    #: Input sets per compiled program (``fuzzjax.fuzzing.inputs.input_set``).
    inputs_per_program: int = 1
    #: Percent of programs whose every input set also runs eagerly (the rest only as a
    #: third opinion when two oracles disagree).
    eager_percent: int = 100
    #: Compare with the executable compiled with XLA's HLO passes off.
    o0: bool = True
    #: Apply the benign registry (``fuzz --no-benign`` reports every difference).
    benign: bool = True
    #: Percent of programs whose unoptimised executable also has fusion off (slow to compile).
    deep_percent: int = 10
    #: Percent of programs each transformation oracle checks (``fuzzing.transform_run``).
    transforms_percent: int = 0


@dataclass
class FuzzResult:
    """What a worker found for one task (a crash or hang has no result: see ``Outcome``)."""

    status: Status
    signature: Signature | None = None
    benign: list[str] = field(default_factory=list)
    detail: str = ""
    index: list[int] | None = None
    culprit: Case | None = None
    #: The one-line exception when the task itself failed (e.g. the generator raised).
    error: str = ""
    #: The input set that failed (or the last one tested), and how many were tested.
    input_index: int = 0
    tests: int = 1
    #: How often each oracle ran, over all input sets (``fuzzjax.fuzzing.runner.Oracle``).
    oracles: dict[str, int] = field(default_factory=dict)
    #: Coverage cells the tests reached (``fuzzjax.fuzzing.coverage.cells_of``).
    cells: list[str] = field(default_factory=list)
    #: The referee's ruling on a localised vs_numpy failure (``Ruling.to_json()``).
    ruling: dict[str, Any] | None = None
    #: A transformation oracle's failure: the case it ran on and its extras
    #: (``fuzzing.transform_run.TransformFinding``).
    failing: Case | None = None
    transform: dict[str, Any] | None = None
    #: Seconds the worker spent on the task (``fuzzing.cost``).
    seconds: float = 0.0

    @classmethod
    def of(cls, found: Diagnosis, **fields: Any) -> FuzzResult:
        """The result of a classified case (``fields``: how it was tested)."""
        return cls(
            found.status,
            found.signature,
            found.benign,
            found.detail,
            found.index,
            found.culprit,
            ruling=found.ruling,
            **fields,
        )


def _test_hooks(seed: int, stage: Stage) -> None:
    """Test-only fault injection, inert unless the FUZZJAX_TEST_* variables name this seed."""
    if stage is not Stage.JIT:
        return
    if os.environ.get(TEST_CRASH_ENV) == str(seed):
        import ctypes

        ctypes.string_at(0)  # segfault
    if os.environ.get(TEST_HANG_ENV) == str(seed):
        time.sleep(3600)


def seed_case(seed: int, options: GenOptions, input_index: int = 0) -> tuple[Case, Program]:
    """The program of ``seed`` with its input set ``input_index`` (also rebuilt by the
    supervisor after a crash)."""
    from fuzzjax.generation.generator import generate

    program = generate(seed, options)
    inputs = input_set(program.args, seed, input_index)
    case = Case(
        program.source,
        program.args,
        inputs,
        program.result_dtype,
        program.result_shape,
        x64=options.x64,
    )
    return case, program


def make_fuzz_task(config: FuzzTaskConfig) -> Callable[[int], FuzzResult]:
    """Worker side: seed, or shrinking candidate (``CANDIDATE_BASE + n``) -> ``FuzzResult``."""
    from fuzzjax.fuzzing.reference import positions_parser
    from fuzzjax.fuzzing.runner import program_mode
    from fuzzjax.lowering.lower import cache_clearer
    from fuzzjax.syntax import parser

    parser(), positions_parser()  # build both Lark parsers before the first timed task
    options = GenOptions.from_json(config.options)
    crumbs = Path(config.crumbs)
    candidates = Path(config.candidates or config.crumbs)
    tick = cache_clearer()

    def task(n: int) -> FuzzResult:
        start = time.perf_counter()
        result = _task(n)
        result.seconds = time.perf_counter() - start
        return result

    def _task(n: int) -> FuzzResult:
        tick()
        crumb = crumbs / str(n)
        crumb.write_text(Stage.GENERATE.value)
        current = [0]  # the input set under test, written with each stage for a crash report

        def tell(stage: Stage) -> None:
            crumb.write_text(f"{stage.value}:{current[0]}")
            _test_hooks(n, stage)

        def on_input(index: int) -> None:
            current[0] = index

        try:
            if n >= CANDIDATE_BASE:
                case = pickle.loads((candidates / f"{n - CANDIDATE_BASE}.pkl").read_bytes())
                found = diagnose(case, on_stage=tell, benign=config.benign, o0=config.o0)
                return FuzzResult.of(found)
            with program_mode(options.x64):  # every oracle of an x64 seed in x64 mode
                return _test_seed(n, options, config, tell, on_input)
        except Exception as exc:  # noqa: BLE001 - generation failures are findings too
            return FuzzResult(Status.FAIL, error=one_line(exc))
        finally:
            crumb.unlink(missing_ok=True)

    return task


def _test_seed(
    seed: int,
    options: GenOptions,
    config: FuzzTaskConfig,
    tell: Callable[[Stage], None],
    on_input: Callable[[int], None],
) -> FuzzResult:
    """A seed's program on ``inputs_per_program`` input sets; the first failing one classified
    (the caller sets an x64 seed's mode, ``runner.program_mode``)."""
    from fuzzjax.fuzzing.coverage import cells_of
    from fuzzjax.fuzzing.runner import run_program

    case, program = seed_case(seed, options)
    sets = [case.inputs] + [
        input_set(program.args, seed, k) for k in range(1, config.inputs_per_program)
    ]
    eager = sampled("eager", seed, config.eager_percent)
    run = run_program(
        case.source,
        sets,
        case.result_dtype,
        case.result_shape,
        on_stage=tell,
        on_input=on_input,
        eager=eager,
        o0=config.o0,
        explain=config.benign,
        deep=sampled("o0deep", seed, config.deep_percent),
        x64=case.x64,
    )
    cells: set[str] = set()
    for evaluation in run.evaluations:
        cells |= cells_of(evaluation)
    index = run.failing_index if run.failing_index is not None else len(run.tests) - 1
    failing = dataclasses.replace(case, inputs=sets[max(index, 0)])
    found = classify(failing, run.failure, run.explained, benign=config.benign, on_stage=tell)
    oracles = dict(run.oracle_counts())
    if found.status is not Status.FAIL and config.transforms_percent:
        from fuzzjax.fuzzing.transform_run import run_transforms

        finding, ran = run_transforms(case, seed, config.transforms_percent, tell)
        oracles.update(ran)
        if finding is not None:
            ops = tuple(sorted(aliases_used(parse(case.source))))
            failure = finding.failure
            sig = Signature(finding.stage, failure.symptom, ops, case.result_dtype)
            return FuzzResult(
                Status.FAIL,
                sig,
                found.benign,
                failure.detail,
                failure.index,
                tests=len(run.tests),
                oracles=oracles,
                cells=sorted(cells),
                failing=finding.case,
                transform=finding.extra,
            )
    return FuzzResult.of(
        found, input_index=max(index, 0), tests=len(run.tests), oracles=oracles, cells=sorted(cells)
    )


def crash_site(seed: int, crumbs: Path) -> tuple[Stage, int]:
    """The stage and input set a worker was in when it died or hung (its breadcrumb)."""
    crumb = crumbs / str(seed)
    text = crumb.read_text().strip() if crumb.exists() else ""
    stage, _, index = text.partition(":")
    try:
        return Stage(stage or Stage.GENERATE.value), int(index or 0)
    except ValueError:  # a torn write: the worker died while writing its breadcrumb
        return Stage.GENERATE, 0


def outcome_signature(
    outcome: Outcome[FuzzResult], case: Case | None, crumbs: Path
) -> Signature | None:
    """The signature of a pool outcome: the worker's own, or one for a crash or a hang.
    (Read ``crash_site`` first when a crash's input set matters: this removes the crumb.)"""
    crumb = crumbs / str(outcome.seed)
    stage = crash_site(outcome.seed, crumbs)[0]
    crumb.unlink(missing_ok=True)
    if outcome.result is not None:
        if outcome.result.signature is None and outcome.result.error:
            return Signature(Stage.GENERATE, Symptom.EXCEPTION, (), "")
        return outcome.result.signature
    symptom = Symptom.HANG
    if outcome.kind is not OutcomeKind.TIMEOUT:
        symptom = _SIGNALS.get(outcome.exitcode or 0, Symptom.CRASH)
    ops: tuple[str, ...] = ()
    dtype = ""
    if case is not None:
        ops, dtype = tuple(sorted(aliases_used(parse(case.source)))), case.result_dtype
    return Signature(stage, symptom, ops, dtype)
