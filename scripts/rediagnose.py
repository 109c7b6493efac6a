"""Re-run the oracles on every bucket of a fuzz run that needs no process isolation (not hangs
or crashes) with the current fuzzjax.

Usage: python scripts/rediagnose.py FAILURES_DIR [--also-32bit]
Each folder's shrunk case (meta.json) goes through ``fuzzjax.fuzzing.diagnose.diagnose``; prints how
many now fail, pass or are benign, the verdicts of those that fail (``triage.bucket_verdict``
on the new signature and ruling), the buckets that no longer fail, and the failing buckets
whose verdict changed (old -> new). Folders are not
modified. notes/fuzzing.md uses it to show what a fix changed. ``--also-32bit`` (``fuzz --x64``
folders): each x64 case without a 64-bit argument is also diagnosed as a 32-bit program, and
the buckets that fail there too are listed (not an x64 matter).
"""

import collections
import dataclasses
import pathlib
import sys
import warnings

from fuzzjax.errors import FailureFolderError
from fuzzjax.fuzzing.case import Symptom, case_from_json
from fuzzjax.fuzzing.diagnose import diagnose
from fuzzjax.fuzzing.folders import read_meta
from fuzzjax.fuzzing.triage import bucket_verdict, verdict_of

ISOLATED = {
    s.value for s in (Symptom.HANG, Symptom.CRASH, Symptom.SEGFAULT, Symptom.ABORT, Symptom.KILLED)
}


def main() -> None:
    warnings.simplefilter("ignore", RuntimeWarning)
    status: collections.Counter[str] = collections.Counter()
    verdicts: collections.Counter[str] = collections.Counter()
    cleared, also_32, changed = [], [], []
    wide = {"int64", "uint64", "float64", "complex128"}
    for folder in sorted(pathlib.Path(sys.argv[1]).iterdir()):
        if not (folder / "meta.json").exists():
            continue
        try:
            meta = read_meta(folder)
        except FailureFolderError as exc:
            print(f"skipped {folder.name}: {exc}", file=sys.stderr)
            continue
        # Hangs and crashes need a worker process to isolate them (a compile_o0 crash bucket
        # is a SIGFPE that would end this process): only value and exception buckets here.
        if meta["signature"]["symptom"] in ISOLATED:
            continue
        case = case_from_json(meta["shrunk"], folder)
        found = diagnose(case)
        status[found.status.value] += 1
        if found.signature is not None:
            ruling = (found.ruling or {}).get("verdict")
            verdict = bucket_verdict(found.signature, ruling)
            verdicts[verdict] += 1
            if verdict != verdict_of(meta):
                changed.append(f"{folder.name}: {verdict_of(meta)} -> {verdict}")
        if found.status != "fail":
            cleared.append(f"{folder.name}: {found.status} {' '.join(found.benign)}".rstrip())
        elif "--also-32bit" in sys.argv and case.x64 and not {a.dtype for a in case.args} & wide:
            as_32 = diagnose(dataclasses.replace(case, x64=False))
            also_32 += [folder.name] if as_32.status == "fail" else []
    print(", ".join(f"{n} {s}" for s, n in sorted(status.items())), f"(of {sum(status.values())})")
    print("verdicts of those failing:", ", ".join(f"{n} {v}" for v, n in verdicts.most_common()))
    for line in cleared:
        print("  " + line)
    print(f"failing with another verdict than recorded: {len(changed)}")
    for line in changed:
        print("  " + line)
    if "--also-32bit" in sys.argv:
        print(f"failing as 32-bit programs too: {len(also_32)}")
        for name in also_32:
            print("  " + name)


if __name__ == "__main__":
    main()
