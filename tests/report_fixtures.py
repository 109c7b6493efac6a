"""Hostile stored values for the report and dataset-card tests (not a test module).

Every string a failure folder or a corpus stores can be anything: these try to break out of
HTML text, attributes, ``<script>``, Markdown code spans and YAML.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from fuzzjax.fuzzing.case import encode_array

SCRIPT = "</script><script>window.__pwned = 1</script>"
IMG = '<img src=x onerror="window.__pwned = 2">'
QUOTES = "a\"b'c'''d\"\"\"e"
BACKTICKS = "``` `x` ```"
NEWLINES = "line one\nline two\r\n- fake list item\n---\nfake: yaml"
JS_URL = "javascript:window.__pwned = 3"
#: Every hostile string, joined: what a field may hold.
ALL = " ".join([SCRIPT, IMG, QUOTES, BACKTICKS, NEWLINES])
#: Fragments that must never appear unescaped in HTML output.
RAW_HTML = ["<script>window.__pwned", "<img src=x", "</script><script>"]

HOSTILE_KEY = "hostile-bucket"


def special_floats() -> np.ndarray:
    """float32 [nan, -0.0, smallest subnormal, inf, -inf, max, 1.5]."""
    values = [np.nan, -0.0, 1e-45, np.inf, -np.inf, np.finfo(np.float32).max, 1.5]
    return np.array(values, dtype=np.float32)


def hostile_meta() -> dict[str, Any]:
    """A meta.json whose every string field is hostile (and some fields of the wrong type)."""
    return {
        "key": f"{HOSTILE_KEY} {SCRIPT}",
        "signature": {
            "stage": f"vs_numpy{SCRIPT}",
            "symptom": f"wrong_nan{IMG}",
            "ops": ["sin", QUOTES, BACKTICKS],
            "dtype": "float32\n<b>",
            "localized": True,
        },
        "hits": 7,
        "seeds": [3, "x", 5],
        "first_seen": f"2026-01-01T00:00:00Z{IMG}",
        "last_seen": "2026-01-02T00:00:00Z",
        "verdict": f"jax_wrong{SCRIPT}",
        "upstream": {"url": JS_URL, "title": f"title {IMG}"},
        "detail": "1/7 elements differ; at [0]: got np.float32(nan), want np.float32(-0.0)",
        "command": f"python -m fuzzjax fuzz --seed 3 {NEWLINES} {BACKTICKS} {SCRIPT}",
        "repro_command": f"python repro.py {QUOTES}",
        "original": {
            "source": f'def f(x0):\n    return jnp.sin(x0)  # """ {SCRIPT}\n',
            "args": [{"name": "x0", "dtype": "float32", "shape": [7]}],
            "result_dtype": "float32",
            "result_shape": [7],
        },
        "shrunk": {
            "source": f"def f(x0):\n    return jnp.sin(x0)  # {ALL}\n",
            "args": [
                {"name": f"x0{IMG}", "dtype": "float32", "shape": [7]},
                {"name": "x1", "dtype": "int8", "shape": [2]},
                {"name": "x2", "dtype": "float32", "shape": [2]},
            ],
            "result_dtype": "float32",
            "result_shape": [7],
            "inputs": [
                encode_array(special_floats()),
                encode_array(np.array([-128, 127], dtype=np.int8)),
                ["float32", [2], "zz-not-hex"],
            ],
        },
        "shrink": {"ops_before": 3, "ops_after": 1, "seconds": 1.5, "candidates": 4},
        "versions": {"jax": SCRIPT, "numpy": "2"},
    }


def write_hostile_bucket(root: Path) -> Path:
    """A bucket folder under ``root`` with ``hostile_meta()``, plus a broken one."""
    folder = root / HOSTILE_KEY
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "meta.json").write_text(json.dumps(hostile_meta(), indent=2))
    broken = root / "broken-bucket"
    broken.mkdir(exist_ok=True)
    (broken / "meta.json").write_text('{"key": "broken", ')
    return folder
