"""A stopped worker and a hanging program during corpus building.

    python scripts/hang_check.py [--count 600] [--timeout 5]

Three runs of ``python -m fuzzjax --count N --max-depth 3 --workers 2 --timeout T``:

1. uninterrupted (the reference corpus and time);
2. one worker is sent SIGSTOP once it is working (a hang from outside): the run must finish,
   replace the worker, retry its seed and store exactly the reference corpus, no failure;
3. one seed stops its worker on every attempt (``FUZZJAX_TEST_SIGNAL_SEED=SEED:SIGSTOP``, a
   program that always hangs): the seed is recorded as a ``timeout`` failure with the command
   that reproduces it, every other pair is the reference's.

Prints wall time, exit code, pairs, failures and their error text per run.
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def workers_of(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    found = []
    for child in children.read_text().split() if children.exists() else []:
        try:
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(int(child))
        except OSError:
            continue
    return found


def run(argv: list[str], env: dict[str, str], stop_one: bool) -> tuple[float, int, str, bool]:
    start = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "fuzzjax", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )
    stopped = False
    db = Path(argv[argv.index("--db") + 1])
    while stop_one and not stopped and proc.poll() is None:
        found = workers_of(proc.pid)
        if found and db.exists() and rows(db, "SELECT COUNT(*) FROM pairs")[0][0]:
            os.kill(found[0], signal.SIGSTOP)
            stopped = True
        time.sleep(0.05)
    out, err = proc.communicate(timeout=1800)
    return time.monotonic() - start, proc.returncode, (out + err).strip(), stopped


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--count", type=int, default=600)
    p.add_argument("--timeout", type=float, default=5.0)
    args = p.parse_args()
    base = ["--count", str(args.count), "--max-depth", "3", "--workers", "2", "--quiet"]
    base += ["--timeout", str(args.timeout)]
    pairs_sql = "SELECT seed, ir_hash FROM pairs ORDER BY seed"
    with tempfile.TemporaryDirectory(prefix="fuzzjax-hang-") as tmp:
        ref = Path(tmp) / "ref.sqlite"
        took, code, text, _ = run([*base, "--db", str(ref)], {}, False)
        reference = rows(ref, pairs_sql)
        print(f"uninterrupted: {took:.1f} s, exit {code}: {text}")
        stopped_db = Path(tmp) / "stopped.sqlite"
        took, code, text, stopped = run([*base, "--db", str(stopped_db)], {}, True)
        same = rows(stopped_db, pairs_sql) == reference
        failures = rows(stopped_db, "SELECT seed, stage, error FROM failures")
        print(
            f"one worker SIGSTOPped once (stopped: {stopped}): {took:.1f} s, exit {code}, "
            f"corpus identical to uninterrupted: {same}, failures: {failures}; {text}"
        )
        victim = int(str(reference[len(reference) // 2][0]))
        hang_db = Path(tmp) / "hang.sqlite"
        env = {"FUZZJAX_TEST_SIGNAL_SEED": f"{victim}:SIGSTOP"}
        took, code, text, _ = run([*base, "--db", str(hang_db)], env, False)
        failures = rows(hang_db, "SELECT seed, stage, error FROM failures")
        others = [r for r in rows(hang_db, pairs_sql) if r[0] != victim]
        expected = [r for r in reference if r[0] != victim]
        same = others[: len(expected)] == expected[: len(others)]
        print(
            f"seed {victim} hangs on every attempt: {took:.1f} s, exit {code}, "
            f"other pairs as uninterrupted: {same}, failures: {failures}; {text}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
