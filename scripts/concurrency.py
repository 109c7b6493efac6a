"""Two writers on one corpus, and a reader beside a writer.

    python scripts/concurrency.py [--rounds 5]

Each round starts two ``python -m fuzzjax --count 300 --max-depth 3 --workers 1`` on the same
fresh ``--db`` at the same moment, then runs ``stats`` on it while the winner writes. It
reports, per round, both exit codes, how long the loser took to fail and its stderr line,
whether ``stats`` worked meanwhile, and the final corpus: pairs and seed rows (an
uninterrupted run of the same command gives 300 pairs and the same seed rows).
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GEN = ["--count", "300", "--max-depth", "3", "--workers", "1", "--quiet"]


def counts(db: Path) -> tuple[int, int, int]:
    con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        n_pairs = con.execute("SELECT COUNT(*) FROM pairs").fetchone()[0]
        n_seeds = con.execute("SELECT COUNT(*) FROM seeds").fetchone()[0]
        dup = con.execute("SELECT COUNT(*) FROM seeds WHERE outcome = 'duplicate'").fetchone()[0]
    finally:
        con.close()
    return int(n_pairs), int(n_seeds), int(dup)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args()
    py = [sys.executable, "-m", "fuzzjax"]
    with tempfile.TemporaryDirectory(prefix="fuzzjax-concurrency-") as tmp:
        reference = Path(tmp) / "ref.sqlite"
        subprocess.run([*py, *GEN, "--db", str(reference)], check=True, timeout=600)
        print(f"uninterrupted run: (pairs, seed rows, duplicates) = {counts(reference)}")
        for round_ in range(args.rounds):
            db = Path(tmp) / f"c{round_}.sqlite"
            start = time.monotonic()
            procs = [
                subprocess.Popen(
                    [*py, *GEN, "--db", str(db)],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for _ in range(2)
            ]
            ended: dict[int, float] = {}
            read: subprocess.CompletedProcess[bytes] | None = None
            while len(ended) < 2 and time.monotonic() - start < 600:
                for i, proc in enumerate(procs):
                    if i not in ended and proc.poll() is not None:
                        ended[i] = time.monotonic() - start
                if len(ended) == 1 and db.exists() and read is None:  # the other one writes
                    read = subprocess.run(
                        [*py, "stats", "--db", str(db)], capture_output=True, timeout=120
                    )
                time.sleep(0.05)
            results = [(proc.returncode, *proc.communicate(timeout=60)) for proc in procs]
            codes = [r[0] for r in results]
            loser = next((i for i, r in enumerate(results) if r[0] != 0), None)
            line = results[loser][2].strip() if loser is not None else "(none)"
            reader = "stats not run" if read is None else f"stats exit {read.returncode}"
            loser_time = f"{ended[loser]:.1f} s" if loser is not None else "-"
            print(
                f"round {round_}: exit codes {codes}, loser failed after {loser_time}: {line!r}; "
                f"{reader}; final (pairs, seed rows, duplicates) = {counts(db)}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
