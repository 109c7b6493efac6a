"""Run the bad-input table of tests/test_bad_input.py as real ``python -m fuzzjax`` processes.

    python scripts/bad_input_table.py [--timeout 60] [--skip TEXT ...]

Each row must exit with code 2, print exactly one line on stderr and no traceback, and leave
every input file byte-identical. A row that runs past ``--timeout`` seconds is killed (with its
worker processes) and counted as broken. Prints one line per broken row and a total.

To measure an older commit, check it out in a worktree and put it first on the path, e.g.
``git worktree add /tmp/base d96a361 && PYTHONPATH=/tmp/base python scripts/bad_input_table.py
--skip "workers 100000"`` (which leaves out the rows that ask for 100000 workers: an old version
would start them).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path.insert(0, str(TESTS))

from bad_fixtures import build  # noqa: E402
from test_bad_input import ROWS, digests  # noqa: E402


def run_row(argv: list[str], cwd: Path, timeout: float) -> tuple[int | None, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "fuzzjax", *argv],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        _, err = proc.communicate(timeout=timeout)
        return proc.returncode, err
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        _, err = proc.communicate(timeout=30)
        return None, err


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--timeout", type=float, default=60.0)
    p.add_argument("--skip", nargs="*", default=[], help="leave out rows whose id has TEXT")
    p.add_argument("--only", nargs="*", default=[], help="only rows whose id has TEXT")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="fuzzjax-bad-") as tmp:
        fixtures = build(Path(tmp) / "fx")
        pristine = Path(tmp) / "pristine"
        shutil.copytree(fixtures, pristine)
        rows = [
            r
            for r in ROWS
            if not any(s in r.id for s in args.skip)
            and (not args.only or any(s in r.id for s in args.only))
        ]
        broken = 0
        start = time.monotonic()
        for n, row in enumerate(rows):
            out = Path(tmp) / f"out{n}"
            out.mkdir()
            argv = [a.format(fx=fixtures, out=out) for a in row.argv]
            before = digests(fixtures)
            code, err = run_row(argv, out, args.timeout)
            after = digests(fixtures)
            lines = err.splitlines()
            if row.notice is not None and lines[:1] and lines[0].startswith("fuzzjax add: "):
                lines = lines[1:]
            problems = []
            if code != 2:
                problems.append("timed out" if code is None else f"exit {code}")
            if "Traceback" in err:
                problems.append("traceback")
            if len(lines) != 1:
                problems.append(f"{len(lines)} stderr lines")
            changed = sorted(k for k, v in before.items() if after.get(k) != v)
            if changed:
                problems.append(f"changed {', '.join(changed)}")
            added = sorted(set(after) - set(before))
            if added:
                problems.append(f"new files {', '.join(added)}")
            if changed or added:  # later rows get the fixtures as they were
                shutil.rmtree(fixtures)
                shutil.copytree(pristine, fixtures)
            if problems:
                broken += 1
                print(f"BROKEN {row.id}: {'; '.join(problems)}", flush=True)
        took = time.monotonic() - start
        print(f"{broken} of {len(rows)} rows broke a rule ({took:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
