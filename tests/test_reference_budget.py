"""The NumPy reference gives a program up after ``runner.REFERENCE_BUDGET`` seconds.

It interprets loops step by step: a ``lax.scan`` of 65,536 steps outlasted fuzz's timeout and
the worker's kill made a "reference hang" bucket (a fuzzjax bug) out of a program JAX runs in
milliseconds. Over budget, the reference is not run on the program's other input sets, JAX's
own executions are still compared, and the tests record ``reference_over_budget``.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from fuzzjax.fuzzing import runner
from fuzzjax.fuzzing.budget import OverBudget, budget
from fuzzjax.fuzzing.reference import evaluate
from fuzzjax.fuzzing.runner import Oracle, run_program

# A scan the reference takes well over a second for (10,000 interpreted steps).
SOURCE = "def f(x0):\n    return lax.scan(lambda c0, a0: (c0 + a0, c0 * a0), x0[0], x0)[1]\n"
N = 10_000


def _inputs(k: int, n: int = N) -> list[list[np.ndarray]]:
    rng = np.random.default_rng(k)
    return [[rng.standard_normal(n).astype(np.float32)] for _ in range(k)]


def test_the_budget_interrupts_a_python_loop_and_says_so() -> None:
    start = time.monotonic()
    with budget(0.2) as over:
        while True:
            pass
    assert over() and time.monotonic() - start < 5
    with budget(5.0) as over:
        pass
    assert not over()
    with pytest.raises(ZeroDivisionError), budget(5.0):
        raise ZeroDivisionError  # other exceptions leave the block as they are


def test_over_budget_the_reference_is_skipped_and_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    start = time.monotonic()
    evaluate(SOURCE, _inputs(1)[0])
    if time.monotonic() - start < 0.5:
        pytest.skip("this machine interprets the scan too fast for a 0.2 s budget to bite")
    monkeypatch.setattr(runner, "REFERENCE_BUDGET", 0.2)
    run = run_program(SOURCE, _inputs(3), "float32", (N,), eager=False, o0=True)
    assert run.failure is None
    oracles = [t.oracles for t in run.tests]
    assert len(oracles) == 3
    assert all(Oracle.REFERENCE_OVER_BUDGET in o and Oracle.REFERENCE not in o for o in oracles)
    assert all(Oracle.JIT in o for o in oracles)  # JAX's paths were still run
    assert run.o0_available and all(Oracle.O0 in o or Oracle.O0_DEEP in o for o in oracles)


def test_within_budget_the_reference_runs_as_before() -> None:
    # 200 steps: far within the 10 s budget on any machine.
    run = run_program(SOURCE, _inputs(2, 200), "float32", (200,), eager=False, o0=False)
    assert run.failure is None
    assert all(Oracle.REFERENCE in t.oracles for t in run.tests)
    assert not any(Oracle.REFERENCE_OVER_BUDGET in t.oracles for t in run.tests)


def test_over_budget_is_a_base_exception() -> None:
    assert not issubclass(OverBudget, Exception)  # an `except Exception` cannot swallow it


# An alarm landing in a garbage-collector callback is reported and dropped by Python; the
# budget fires again until it reaches the reference (budget.py), so that report is expected.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_the_budget_covers_all_input_sets_of_a_program(monkeypatch: pytest.MonkeyPatch) -> None:
    """A reference that takes 2 s per input set, within a per-set budget, took 32 s over 16
    sets and outlasted fuzz's 30 s timeout (a 'reference hang' bucket of a lax.map over
    32,768 elements): the budget is the program's, over all its input sets."""
    start = time.monotonic()
    evaluate(SOURCE, _inputs(1)[0])
    one = time.monotonic() - start
    if one < 0.2:
        pytest.skip("this machine interprets the scan too fast to time it reliably")
    monkeypatch.setattr(runner, "REFERENCE_BUDGET", 2.5 * one)
    run = run_program(SOURCE, _inputs(5), "float32", (N,), eager=False, o0=False)
    assert run.failure is None
    given = [Oracle.REFERENCE in t.oracles for t in run.tests]
    skipped = [Oracle.REFERENCE_OVER_BUDGET in t.oracles for t in run.tests]
    assert len(given) == 5 and skipped[-1]  # 5 sets of about `one` each: over 2.5 * one
    first_skipped = skipped.index(True)
    assert not any(given[first_skipped:])  # once spent, no later set gets a reference
    assert all(Oracle.JIT in t.oracles for t in run.tests)


def test_the_sampled_eager_runs_have_a_program_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """16 op-by-op runs of 2 s each outlasted fuzz's 30 s timeout on a loaded machine (an
    "eager hang" bucket its repro.py did not reproduce): once the sampled eager runs have
    taken ``EAGER_BUDGET``, the later input sets get none (recorded), and JAX's compiled paths
    and the reference still run on every set."""
    source = "def f(x0):\n    return jnp.sin(x0) + x0\n"
    sets = _inputs(4, 8)
    monkeypatch.setattr(runner, "EAGER_BUDGET", 1e-9)  # spent by the first eager run
    run = run_program(source, sets, "float32", (8,), eager=True, o0=False)
    assert run.failure is None
    eager = [Oracle.EAGER in t.oracles for t in run.tests]
    skipped = [Oracle.EAGER_OVER_BUDGET in t.oracles for t in run.tests]
    assert eager == [True, False, False, False] and skipped == [False, True, True, True]
    assert all(Oracle.JIT in t.oracles and Oracle.REFERENCE in t.oracles for t in run.tests)
    monkeypatch.setattr(runner, "EAGER_BUDGET", 1e9)
    run = run_program(source, sets, "float32", (8,), eager=True, o0=False)
    assert all(Oracle.EAGER in t.oracles for t in run.tests)
    assert not any(Oracle.EAGER_OVER_BUDGET in t.oracles for t in run.tests)


def test_over_the_eager_budget_a_disagreement_still_gets_eager_as_third_opinion(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The budget only skips the sampled runs: a vs_numpy difference still asks eager (here
    the reference is made to disagree on every set)."""
    import fuzzjax.fuzzing.runner as r

    source = "def f(x0):\n    return jnp.sin(x0) + x0\n"
    real = r.evaluate
    calls = []

    def wrong_after_the_first(src: str, inputs: object, **kw: object) -> object:
        found = real(src, inputs, **kw)  # type: ignore[arg-type]
        calls.append(src)
        if len(calls) > 1:
            found.result.value = np.asarray(found.result.value) + np.float32(1)
        return found

    monkeypatch.setattr(runner, "EAGER_BUDGET", 1e-9)
    monkeypatch.setattr(r, "evaluate", wrong_after_the_first)
    run = run_program(source, _inputs(3, 8), "float32", (8,), eager=True, o0=False)
    assert run.failure is not None and run.failing_index == 1
    second = run.tests[1].oracles
    # the sampled run was skipped, the third opinion ran all the same
    assert Oracle.EAGER_OVER_BUDGET in second and Oracle.EAGER in second
