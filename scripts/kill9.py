"""``kill -9`` at random moments during generate, export and merge; count kills and rows lost.

    python scripts/kill9.py [--kills 20] [--seed 0] [--only generate|export|merge]

* generate: a 600-pair build (``--max-depth 3 --workers 1``) is killed ``--kills`` times, each
  time resumed, then run to the end. Rows lost: pairs an uninterrupted build stores that the
  killed-and-resumed one does not (or stores differently); every kill is followed by
  ``PRAGMA integrity_check`` and a check that no committed pair disappeared.
* export: ``export --split --format jsonl --force`` of a grown corpus over the export of the
  smaller one, killed at a random moment. After each kill the folder must hold one complete
  export, old or new (rows per file add up to one corpus's count, every row in exactly one
  file). Broken: kills after which it does not; rows lost: rows of neither export missing.
* merge: three shards merged into a target, killed at a random moment, then merged again to
  the end. After each kill every source must be merged whole or not at all; rows lost: pairs
  of the reference merge missing from the final target.

Kill moments are uniform over each command's measured uninterrupted run time. Prints one
summary line per command.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PY = [sys.executable, "-m", "fuzzjax"]


def run(argv: list[str], timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PY, *argv], capture_output=True, text=True, timeout=timeout)


def kill_after(argv: list[str], delay: float) -> bool:
    """Start ``argv``, SIGKILL it (and its workers) after ``delay`` s; False if it ended first."""
    proc = subprocess.Popen(
        [*PY, *argv], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        proc.wait(timeout=delay)
        return False
    except subprocess.TimeoutExpired:
        import os

        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        return True


def pairs(db: Path) -> list[tuple[object, ...]]:
    con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return con.execute(
            "SELECT seed, options, ir_hash, source FROM pairs ORDER BY seed"
        ).fetchall()
    finally:
        con.close()


def intact(db: Path) -> bool:
    con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return bool(con.execute("PRAGMA integrity_check").fetchone()[0] == "ok")
    finally:
        con.close()


def timed(argv: list[str]) -> float:
    start = time.monotonic()
    done = run(argv)
    assert done.returncode == 0, done.stderr
    return time.monotonic() - start


def generate(tmp: Path, kills: int, rng: random.Random) -> str:
    gen = ["--count", "600", "--max-depth", "3", "--workers", "1", "--quiet"]
    reference = tmp / "ref.sqlite"
    full = timed([*gen, "--db", str(reference)])
    db = tmp / "killed.sqlite"
    done = lost_committed = broken = 0
    while done < kills:
        before = pairs(db) if db.exists() else []
        if not kill_after([*gen, "--db", str(db)], rng.uniform(0.2, full)):
            db.unlink()  # it finished: start over so that every kill lands mid-run
            for side in ("-wal", "-shm"):
                Path(f"{db}{side}").unlink(missing_ok=True)
            continue
        done += 1
        if not intact(db):
            broken += 1
        after = set(pairs(db))
        lost_committed += len(set(before) - after)
    assert run([*gen, "--db", str(db)]).returncode == 0
    want, got = pairs(reference), pairs(db)
    lost = len(set(want) - set(got))
    return (
        f"generate: {done} kills, {broken} left a corrupt file, {lost_committed} committed pairs "
        f"lost at a kill, {lost} of {len(want)} rows lost or different after resuming "
        f"(uninterrupted run {full:.1f} s)"
    )


def _export_state(out: Path, totals: set[int]) -> tuple[bool, int]:
    """(one complete export?, rows present) of an export folder."""
    files = {n: out / f"{n}.jsonl" for n in ("train", "validation", "test")}
    if not all(p.exists() for p in files.values()) or not (out / "README.md").exists():
        return False, 0
    ids: list[int] = []
    for path in files.values():
        ids += [json.loads(line)["id"] for line in path.read_text().splitlines() if line]
    return len(ids) == len(set(ids)) and len(ids) in totals, len(ids)


def export(tmp: Path, kills: int, rng: random.Random) -> str:
    small, big = tmp / "small.sqlite", tmp / "big.sqlite"
    assert (
        run(["--count", "1500", "--max-depth", "3", "--db", str(small), "--quiet"]).returncode == 0
    )
    shutil.copyfile(small, big)
    assert run(["--count", "3000", "--max-depth", "3", "--db", str(big), "--quiet"]).returncode == 0
    totals = {len(pairs(small)), len(pairs(big))}
    base = ["export", "--split", "--format", "jsonl", "--force"]
    old = tmp / "old"
    assert run([*base, "--db", str(small), "--out", str(old)]).returncode == 0
    out = tmp / "out"
    shutil.copytree(old, out)
    full = timed([*base, "--db", str(big), "--out", str(out)])
    done = broken = lost = 0
    while done < kills:
        shutil.rmtree(out)
        shutil.copytree(old, out)
        if not kill_after([*base, "--db", str(big), "--out", str(out)], rng.uniform(0.05, full)):
            continue
        done += 1
        complete, rows = _export_state(out, totals)
        if not complete:
            broken += 1
            lost += max(0, min(totals) - rows)
    return (
        f"export: {done} kills, {broken} left an incomplete or mixed export folder, "
        f"{lost} rows missing from those (uninterrupted export {full:.1f} s)"
    )


def merge(tmp: Path, kills: int, rng: random.Random) -> str:
    shards = [tmp / f"shard{i}.sqlite" for i in range(3)]
    for i, shard in enumerate(shards):
        argv = ["--count", "700", "--seed", str(i * 650), "--max-depth", "3", "--quiet"]
        assert run([*argv, "--db", str(shard)]).returncode == 0
    sources = [str(s) for s in shards]
    reference = tmp / "merged-ref.sqlite"
    full = timed(["merge", "--db", str(reference), *sources])
    done = partial = lost = broken = 0
    per_source = [{p[2] for p in pairs(s)} for s in shards]
    while done < kills:
        target = tmp / f"target{done}.sqlite"
        if not kill_after(["merge", "--db", str(target), *sources], rng.uniform(0.05, full)):
            target.unlink()
            continue
        done += 1
        if target.exists():
            if not intact(target):
                broken += 1
            held = {p[2] for p in pairs(target)} if intact(target) else set()
            # a source is in the target whole (its own pairs all there) or not at all
            for hashes in per_source:
                own = hashes - set().union(*(h for h in per_source if h is not hashes))
                if 0 < len(own & held) < len(own):
                    partial += 1
        assert run(["merge", "--db", str(target), *sources]).returncode == 0
        lost += len({p[2] for p in pairs(reference)} - {p[2] for p in pairs(target)})
    return (
        f"merge: {done} kills, {broken} left a corrupt target, {partial} sources half-merged, "
        f"{lost} rows lost after merging again (uninterrupted merge {full:.1f} s)"
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kills", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--only", choices=["generate", "export", "merge"])
    args = p.parse_args()
    rng = random.Random(args.seed)
    for name, fn in (("generate", generate), ("export", export), ("merge", merge)):
        if args.only not in (None, name):
            continue
        with tempfile.TemporaryDirectory(prefix=f"fuzzjax-kill9-{name}-") as tmp:
            print(fn(Path(tmp), args.kills, rng), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
