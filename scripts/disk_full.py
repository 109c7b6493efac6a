"""Generate, fuzz and merge onto a really full disk (a small tmpfs in a private namespace).

    python scripts/disk_full.py

Needs ``unshare -rm`` (user and mount namespaces). For each command it prints the exit code,
the stderr lines, whether a traceback appeared, what was kept (pairs still readable, or
files written) and any 0-byte file left behind.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path.insert(0, str(TESTS))

from test_disk_full import in_small_fs  # noqa: E402


def report(name: str, done: subprocess.CompletedProcess[str], kept: str) -> None:
    code, err = done.returncode, done.stderr
    lines = err.splitlines()
    traceback = "Traceback" in err
    print(f"{name}: exit {code}, {len(lines)} stderr line(s), traceback: {traceback}; {kept}")
    for line in lines[:3]:
        print(f"    {line}")


def main() -> int:
    from fuzzjax.corpus.build import build_corpus
    from fuzzjax.corpus.store import Corpus
    from fuzzjax.program import GenOptions

    with tempfile.TemporaryDirectory(prefix="fuzzjax-diskfull-") as tmp:
        root = Path(tmp)
        mnt, saved = root / "mnt", root / "saved"
        saved.mkdir()
        db = mnt / "c.sqlite"
        argv = ["--count", "3000", "--max-depth", "3", "--workers", "1", "--quiet"]
        done = in_small_fs(mnt, "300k", [*argv, "--db", str(db)], f"cp {mnt}/c.sqlite* {saved}/")
        with Corpus(saved / "c.sqlite", create=False) as corpus:
            kept = f"{corpus.count()} pairs committed and readable (300 KB tmpfs)"
        report("generate --count 3000", done, kept)

        source = root / "s.sqlite"
        build_corpus(source, count=150, options=GenOptions(max_depth=3), workers=0)
        target = mnt / "t.sqlite"
        done = in_small_fs(mnt, "64k", ["merge", "--db", str(target), str(source)])
        report("merge of 150 pairs", done, "64 KB tmpfs")

        for size in ("4k", "16k", "40k"):
            out = root / f"fuzz-{size}"
            fuzz = ["fuzz", "--count", "3", "--workers", "1", "--no-shrink", "--quiet"]
            done = in_small_fs(
                mnt,
                size,
                [*fuzz, "--out", str(mnt / "f")],
                after=f"cp -r {mnt}/f {out}",
                env={"FUZZJAX_TEST_CRASH_SEED": "1"},
            )
            files = [p for p in out.rglob("*") if p.is_file()] if out.exists() else []
            empty = [str(p.relative_to(out)) for p in files if p.stat().st_size == 0]
            kept = f"{len(files)} files written, 0-byte files: {empty or 'none'}"
            report(f"fuzz --count 3 (seed 1 segfaults) on a {size} tmpfs", done, kept)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
