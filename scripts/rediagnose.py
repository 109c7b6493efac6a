"""Re-run the oracles on every non-hang bucket of a fuzz run with the current fuzzjax.

Usage: python scripts/rediagnose.py FAILURES_DIR
Each folder's shrunk case (meta.json) goes through ``fuzzjax.fuzzing.diagnose.diagnose``; prints how
many now fail, pass or are benign, and the buckets that no longer fail. Folders are not
modified. notes/fuzzing.md uses it to show what a fix changed.
"""

import collections
import pathlib
import sys
import warnings

from fuzzjax.fuzzing.case import case_from_json
from fuzzjax.fuzzing.diagnose import diagnose
from fuzzjax.fuzzing.folders import read_meta


def main() -> None:
    warnings.simplefilter("ignore", RuntimeWarning)
    status: collections.Counter[str] = collections.Counter()
    cleared = []
    for folder in sorted(pathlib.Path(sys.argv[1]).iterdir()):
        if "hang" in folder.name or not (folder / "meta.json").exists():
            continue
        found = diagnose(case_from_json(read_meta(folder)["shrunk"]))
        status[found.status] += 1
        if found.status != "fail":
            cleared.append(f"{folder.name}: {found.status} {' '.join(found.benign)}".rstrip())
    print(", ".join(f"{n} {s}" for s, n in sorted(status.items())), f"(of {sum(status.values())})")
    for line in cleared:
        print("  " + line)


if __name__ == "__main__":
    main()
