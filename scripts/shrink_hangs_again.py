"""Shrink every hang bucket of a fuzz run again from its original program, within a budget.

Usage: python scripts/shrink_hangs_again.py FAILURES_DIR [SECONDS]
Prints, per hang bucket, what the run's own shrinking reached and what shrinking from the
original program reaches now (notes/fuzzing.md compares the two). Folders are not modified.
"""

import json
import pathlib
import sys

from fuzzjax.fuzzing.case import Signature
from fuzzjax.fuzzing.inputs import derive_input_seed
from fuzzjax.fuzzing.shrink import CandidateRunner, shrink
from fuzzjax.fuzzing.task import seed_case
from fuzzjax.program import GenOptions


def main() -> None:
    root = pathlib.Path(sys.argv[1])
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 30.0
    for folder in sorted(root.iterdir()):
        if "hang" not in folder.name or not (folder / "meta.json").exists():
            continue
        meta = json.loads((folder / "meta.json").read_text())
        options = GenOptions.from_json(json.dumps(meta["options"]))
        case, program = seed_case(meta["seed"], options)
        runner = CandidateRunner(options, 30.0, 4096)
        try:
            _, stats = shrink(
                case, Signature.from_json(meta["signature"]), runner, seconds=seconds,
                program=program, input_seed=derive_input_seed(meta["seed"]),
            )  # fmt: skip
        finally:
            runner.close()
        run = meta["shrink"]
        print(
            f"{folder.name}: in the run {run['ops_before']}->{run['ops_after']} ops "
            f"({run['candidates']} candidates) | now {stats['ops_before']}->{stats['ops_after']} "
            f"ops ({stats['candidates']} candidates, {stats['seconds']} s)",
            flush=True,
        )


if __name__ == "__main__":
    main()
