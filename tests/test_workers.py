"""The worker pool isolates crashes and hangs, keeps order, and carries on.

The scenario runs in a fresh supervisor process: after the fuzz tests have run pools in the
pytest process, this pool hung there (under investigation, see the session's closing note),
and a supervisor is meant to be a clean process anyway.
"""

import json
import subprocess
import sys
from pathlib import Path

SCENARIO = """
import json, sys
sys.path.insert(0, {tests!r})
from fuzzjax.workers import Pool
from worker_tasks import make_misbehaving_task
config = {{"segfault": 5, "abort": 11, "hang": 17}}
with Pool(make_misbehaving_task, config, workers=2, timeout=3) as pool:
    outcomes = list(pool.imap(iter(range(24))))
    restarts = pool.restarts
print(json.dumps({{"outcomes": [[o.seed, o.kind.value, o.result] for o in outcomes],
                  "restarts": restarts}}))
"""


def test_segfault_abort_and_hang_are_isolated_and_the_run_continues() -> None:
    code = SCENARIO.format(tests=str(Path(__file__).parent))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=180, check=True
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    outcomes = result["outcomes"]
    assert [seed for seed, _, _ in outcomes] == list(range(24))
    kinds = {seed: kind for seed, kind, _ in outcomes if kind != "ok"}
    assert kinds == {5: "crash", 11: "crash", 17: "timeout"}
    assert all(p["square"] == s**2 for s, kind, p in outcomes if kind == "ok")
    assert result["restarts"] == 3


RAISING = """
import json, sys
sys.path.insert(0, {tests!r})
from fuzzjax.errors import WorkerError
from fuzzjax.workers import Pool
from worker_tasks import make_misbehaving_task, make_unstartable_task
with Pool(make_misbehaving_task, {{"raise": 3}}, workers=1) as pool:
    outcomes = [[o.seed, o.kind.value, o.error] for o in pool.imap(iter(range(6)))]
    restarts = pool.restarts
try:
    with Pool(make_unstartable_task, {{"why": "no memory"}}, workers=1) as pool:
        list(pool.imap(iter(range(2))))
    start = "started"
except WorkerError as exc:
    start = str(exc)
print(json.dumps({{"outcomes": outcomes, "restarts": restarts, "start": start}}))
"""


def test_a_task_that_raises_is_an_error_outcome_and_a_worker_that_cannot_start_is_named() -> None:
    code = RAISING.format(tests=str(Path(__file__).parent))
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    kinds = {seed: (kind, error) for seed, kind, error in result["outcomes"]}
    assert kinds[3] == ("error", "ValueError: task 3 refuses")
    assert {s for s, (kind, _) in kinds.items() if kind == "ok"} == {0, 1, 2, 4, 5}
    assert result["restarts"] == 0  # the worker lived on
    assert result["start"] == (
        "worker processes fail to start (make_unstartable_task): RuntimeError: cannot start: "
        "no memory"
    )
    assert "Traceback" not in done.stderr  # the workers reported, they did not print
