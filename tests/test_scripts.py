"""The helper scripts under scripts/ run and say what they should."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _bucket(root: Path, name: str, source: str, inputs: list[list[object]]) -> None:
    folder = root / name
    folder.mkdir()
    shrunk = {"source": source, "inputs": inputs, "args": [], "result_dtype": "float32",
              "result_shape": []}  # fmt: skip
    (folder / "meta.json").write_text(json.dumps({"shrunk": shrunk, "hits": 1}))


def test_classify_buckets_groups_known_families(tmp_path: Path) -> None:
    _bucket(tmp_path, "jit-hang-gcd-int32", "def f(x0, x1):\n    return jnp.gcd(x0, x1)\n", [])
    subnormal = ["float32", [], "01000000"]  # 1.4e-45
    _bucket(tmp_path, "vs_numpy-wrong_value-sort-float32", "def f(x0):\n    return x0\n",
            [subnormal])  # fmt: skip
    _bucket(tmp_path, "vs_numpy-wrong_value-exp-float32", "def f(x0):\n    return x0\n",
            [["float32", [], "0000803f"]])  # fmt: skip
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "classify_buckets.py"), str(tmp_path)],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    assert "1  JAX bug: gcd/lcm INT_MIN hang" in out
    assert "1  subnormal inputs (flush-to-zero likely)" in out
    assert "vs_numpy-wrong_value-exp-float32" in out.split("needs a human)")[1]
