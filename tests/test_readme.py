"""The README's Python API example runs as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_python_api_example_runs() -> None:
    text = README.read_text()
    section = text[text.index("## Python API") :]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert code is not None
    result = subprocess.run(
        [sys.executable, "-c", code.group(1)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "max_depth=0 must be >= 1" in result.stdout


def test_realistic_example_is_what_the_command_prints() -> None:
    from fuzzjax.generation.generator import generate
    from fuzzjax.program import GenOptions

    text = README.read_text()
    block = re.search(
        r"```python\n# python -m fuzzjax replay (\d+) --max-depth (\d+) --profile realistic.*?\n"
        r"(.*?)```",
        text,
        re.DOTALL,
    )
    assert block is not None
    seed, depth, source = int(block.group(1)), int(block.group(2)), block.group(3)
    assert source == generate(seed, GenOptions(max_depth=depth, profile="realistic")).source
