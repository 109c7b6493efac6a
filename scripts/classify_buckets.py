"""Group the failure buckets of a fuzz run by rough, automatic rules (a first pass, not triage).

Usage: python scripts/classify_buckets.py FAILURES_DIR
Families recognised by their signature are the JAX bugs confirmed by hand in notes/fuzzing.md;
"subnormal inputs" means a shrunk float input is subnormal (flush-to-zero effects are likely);
everything else needs a human. Prints counts per group and the names in the catch-all group.
"""

import collections
import json
import pathlib
import re
import sys

import ml_dtypes
import numpy as np

SMALLEST_NORMAL = {"float16": 6.1035e-05, "bfloat16": 1.1754944e-38, "float32": 1.1754944e-38,
                   "complex64": 1.1754944e-38}  # fmt: skip


def has_subnormal_input(meta: dict) -> bool:
    for dtype, _, data in meta["shrunk"].get("inputs", []):
        if dtype not in SMALLEST_NORMAL:
            continue
        np_type = ml_dtypes.bfloat16 if dtype == "bfloat16" else np.dtype(dtype)
        x = np.frombuffer(bytes.fromhex(data), dtype=np_type)
        for part in (x.real, x.imag) if dtype == "complex64" else (x,):
            values = np.abs(part.astype(np.float64))
            if np.any((values != 0) & (values < SMALLEST_NORMAL[dtype])):
                return True
    return False


def group_of(name: str, meta: dict) -> str:
    source = meta["shrunk"]["source"]
    if "hang" in name and re.search(r"gcd|lcm", source):
        return "JAX bug: gcd/lcm INT_MIN hang"
    if (
        name.startswith("jit_vs_eager")
        and "bool" in name
        and re.search(r"divide|truediv|mul", name)
    ):
        return "JAX bug: bool arithmetic rewritten under jit"
    if name.startswith("eager-exception") and "**" in source:
        return "JAX bug: integer ** negative exponent raises eagerly"
    if "atan2" in name and has_subnormal_input(meta):
        return "JAX bug: atan2 of subnormals is NaN"
    if name.startswith("reference"):
        return "fuzzjax: the NumPy reference failed"
    if has_subnormal_input(meta):
        return "subnormal inputs (flush-to-zero likely)"
    if "complex64" in name:
        return "complex values (special values or accuracy)"
    return "other (needs a human)"


def main() -> None:
    groups: dict[str, list[str]] = collections.defaultdict(list)
    for folder in sorted(pathlib.Path(sys.argv[1]).iterdir()):
        if (folder / "meta.json").exists():
            meta = json.loads((folder / "meta.json").read_text())
            groups[group_of(folder.name, meta)].append(folder.name)
    for group, names in sorted(groups.items(), key=lambda item: -len(item[1])):
        print(f"{len(names):3d}  {group}")
    for name in groups.get("other (needs a human)", []):
        print(f"       {name}")


if __name__ == "__main__":
    main()
