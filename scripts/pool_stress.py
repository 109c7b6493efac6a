"""Run the worker pool's segfault/abort/hang scenario N times in one process; report hangs.

Usage: python scripts/pool_stress.py [N]
The scenario of tests/test_workers.py (2 workers, seeds 0..23, a segfault, an abort and a
hang), repeated in one child process, as it runs inside a test session. A run that does not
finish within its time (60 s watchdog, or the child's overall limit) counts as hung.
"""

import subprocess
import sys
from pathlib import Path

SCENARIO = """
import faulthandler, sys
sys.path.insert(0, {tests!r})
from fuzzjax.workers import Pool, OutcomeKind
from worker_tasks import make_misbehaving_task

if __name__ == "__main__":
    config = {{"segfault": 5, "abort": 11, "hang": 17}}
    for run in range({runs}):
        faulthandler.dump_traceback_later(60, exit=True)  # a hung run ends the child
        with Pool(make_misbehaving_task, config, workers=2, timeout=3) as pool:
            kinds = [o.kind for o in pool.imap(iter(range(24)))]
        assert kinds.count(OutcomeKind.OK) == 21, kinds
        print("done", run + 1, flush=True)
"""


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    tests = str(Path(__file__).resolve().parents[1] / "tests")
    command = [sys.executable, "-c", SCENARIO.format(tests=tests, runs=runs)]
    try:
        child = subprocess.run(command, capture_output=True, text=True, timeout=40 + 10 * runs)
        out, hung = child.stdout, "Timeout" in child.stderr
    except subprocess.TimeoutExpired as exc:  # hung where the watchdog does not reach
        out, hung = exc.stdout.decode() if isinstance(exc.stdout, bytes) else "", True
    finished = out.count("done")
    print(f"{finished} of {runs} runs finished" + (f"; run {finished + 1} hung" if hung else ""))


if __name__ == "__main__":
    main()
