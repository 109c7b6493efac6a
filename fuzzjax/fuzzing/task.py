"""The fuzz worker protocol, shared by the campaign loop and the shrinker.

A worker runs ``make_fuzz_task(config)`` (in a ``fuzzjax.workers.Pool``) on task numbers: a seed
(its program and inputs are regenerated in the worker), or ``CANDIDATE_BASE + n`` for a
shrinking candidate the supervisor pickled to ``<candidates>/<n>.pkl``. Before each oracle
stage the worker writes the stage's name to a breadcrumb file ``<crumbs>/<task number>``, so
when the worker dies or hangs, ``outcome_signature`` still knows where it was.
"""

from __future__ import annotations

import os
import pickle
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fuzzjax.errors import one_line
from fuzzjax.fuzzing.case import Case, Signature, Stage, Symptom
from fuzzjax.fuzzing.diagnose import Status, diagnose
from fuzzjax.fuzzing.inputs import derive_input_seed, make_inputs
from fuzzjax.program import GenOptions, Program
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
    """A fuzz worker's settings: generation options (JSON) and its breadcrumb folder."""

    options: str
    crumbs: str
    #: Where shrinking candidates are pickled ("" = the breadcrumb folder).
    candidates: str = ""


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


def _test_hooks(seed: int, stage: Stage) -> None:
    """Test-only fault injection, inert unless the FUZZJAX_TEST_* variables name this seed."""
    if stage is not Stage.JIT:
        return
    if os.environ.get(TEST_CRASH_ENV) == str(seed):
        import ctypes

        ctypes.string_at(0)  # segfault
    if os.environ.get(TEST_HANG_ENV) == str(seed):
        time.sleep(3600)


def seed_case(seed: int, options: GenOptions) -> tuple[Case, Program]:
    """The program of ``seed`` with its inputs (also rebuilt by the supervisor after a crash)."""
    from fuzzjax.generation.generator import generate

    program = generate(seed, options)
    inputs = make_inputs(program.args, derive_input_seed(seed))
    case = Case(program.source, program.args, inputs, program.result_dtype, program.result_shape)
    return case, program


def make_fuzz_task(config: FuzzTaskConfig) -> Callable[[int], FuzzResult]:
    """Worker side: seed, or shrinking candidate (``CANDIDATE_BASE + n``) -> ``FuzzResult``."""
    from fuzzjax.fuzzing.reference import positions_parser
    from fuzzjax.lowering.lower import cache_clearer
    from fuzzjax.syntax import parser

    parser(), positions_parser()  # build both Lark parsers before the first timed task
    options = GenOptions.from_json(config.options)
    crumbs = Path(config.crumbs)
    candidates = Path(config.candidates or config.crumbs)
    tick = cache_clearer()

    def task(n: int) -> FuzzResult:
        tick()
        crumb = crumbs / str(n)
        crumb.write_text(Stage.GENERATE.value)
        try:
            if n >= CANDIDATE_BASE:
                case = pickle.loads((candidates / f"{n - CANDIDATE_BASE}.pkl").read_bytes())
            else:
                case = seed_case(n, options)[0]

            def tell(stage: Stage) -> None:
                crumb.write_text(stage.value)
                _test_hooks(n, stage)

            found = diagnose(case, on_stage=tell)
        except Exception as exc:  # noqa: BLE001 - generation failures are findings too
            return FuzzResult(Status.FAIL, error=one_line(exc))
        finally:
            crumb.unlink(missing_ok=True)
        return FuzzResult(
            found.status, found.signature, found.benign, found.detail, found.index, found.culprit
        )

    return task


def outcome_signature(
    outcome: Outcome[FuzzResult], case: Case | None, crumbs: Path
) -> Signature | None:
    """The signature of a pool outcome: the worker's own, or one for a crash or a hang."""
    crumb = crumbs / str(outcome.seed)
    stage_text = crumb.read_text().strip() if crumb.exists() else Stage.GENERATE.value
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
        from fuzzjax.syntax import aliases_used, parse

        ops, dtype = tuple(sorted(aliases_used(parse(case.source)))), case.result_dtype
    return Signature(Stage(stage_text or "generate"), symptom, ops, dtype)
