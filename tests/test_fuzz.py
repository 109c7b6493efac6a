"""End to end: a planted discrepancy is found, bucketed once, shrunk and reproduced stand-alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fuzzjax.cli.main import main
from fuzzjax.fuzzing.campaign import FuzzConfig, run_fuzz
from fuzzjax.fuzzing.case import case_from_json
from fuzzjax.fuzzing.diagnose import diagnose, dtype_label
from fuzzjax.fuzzing.folders import read_meta
from fuzzjax.fuzzing.reference import TEST_BREAK_ENV, evaluate
from fuzzjax.fuzzing.shrink import op_count
from fuzzjax.fuzzing.task import seed_case
from fuzzjax.program import GenOptions

OPTIONS = GenOptions(max_depth=2, category="math")
#: The planted discrepancy: a frequent jax.nn function, so few seeds are needed.
PLANTED = "softplus"


def clean_seeds(alias: str, label: str, count: int) -> list[int]:
    """Seeds using ``alias`` on ``label`` dtypes whose program passes every oracle as it is."""
    found = []
    for seed in range(5000):
        case, program = seed_case(seed, OPTIONS)
        if alias not in program.aliases or len(program.aliases) > 3:
            continue
        nodes = evaluate(case.source, case.inputs).nodes
        if any(n.alias == alias and dtype_label(n) != label for n in nodes):
            continue
        if diagnose(case).signature is None:
            found.append(seed)
            if len(found) == count:
                return found
    raise AssertionError(f"no {count} clean seeds with {alias}")


def run_repro_without_fuzzjax(path: Path) -> subprocess.CompletedProcess[str]:
    """Run repro.py in a fresh interpreter where importing fuzzjax fails."""
    code = (
        "import runpy, sys\n"
        "sys.modules['fuzzjax'] = None  # any 'import fuzzjax' now raises ImportError\n"
        f"runpy.run_path({str(path)!r}, run_name='__main__')\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("FUZZJAX_")}
    return subprocess.run([sys.executable, "-c", code], cwd=path.parent, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def test_planted_discrepancy_is_found_bucketed_once_and_shrunk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeds = clean_seeds(PLANTED, "float32", 2)
    monkeypatch.setenv(TEST_BREAK_ENV, PLANTED)  # inherited by the spawn workers
    config = FuzzConfig(out=tmp_path, options=OPTIONS, seeds=seeds, workers=1, timeout=60,
                        shrink_seconds=30)  # fmt: skip
    summary = run_fuzz(config, echo=lambda line: None)
    assert summary.programs == 2
    keys = [k for k in summary.hits if read_meta(tmp_path / k)["signature"]["ops"] == [PLANTED]]
    assert len(keys) == 1, summary.hits
    folder = tmp_path / keys[0]
    meta = read_meta(folder)
    assert meta["hits"] == summary.hits[keys[0]] >= 1
    assert meta["signature"]["stage"] == "vs_numpy" and meta["seed"] in seeds
    assert {"jax", "jaxlib", "numpy"} <= set(meta["versions"]) and meta["command"]
    shrunk = case_from_json(meta["shrunk"])
    assert op_count(shrunk) == 1 and f"jax.nn.{PLANTED}(" in shrunk.source
    result = run_repro_without_fuzzjax(folder / "repro.py")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "elements differ" in result.stdout


def test_cli_rejects_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fuzz", "--count", "0"]) == 2
    assert main(["fuzz", "--count", "3", "--time", "5"]) == 2
    assert main(["shrink", "/nonexistent/bucket"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("fuzzjax: error:") for line in lines)


def _write_repro(tmp_path: Path, source: str, x: object, sig: object) -> Path:
    import numpy as np

    from fuzzjax.fuzzing.case import Case
    from fuzzjax.fuzzing.repro import repro_text
    from fuzzjax.program import ArgSpec

    x = np.asarray(x)
    case = Case(source, (ArgSpec("x0", x.shape, str(x.dtype)),), [x], str(x.dtype), x.shape)
    path = tmp_path / "repro.py"
    path.write_text(repro_text(case, sig, command="(test)", timeout=30))  # type: ignore[arg-type]
    return path


def test_repro_of_a_lax_program_reproduces_the_recorded_value_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import numpy as np

    from fuzzjax.fuzzing.case import Signature, Stage, Symptom

    monkeypatch.setenv(TEST_BREAK_ENV, "lax_sin")  # the stored reference is wrong for lax.sin
    sig = Signature(Stage.VS_NUMPY, Symptom.WRONG_VALUE, ("lax_sin",), "float32", localized=True)
    x = np.array([0.5, 1.0], np.float32)
    result = run_repro_without_fuzzjax(
        _write_repro(tmp_path, "def f(x0):\n    return lax.sin(x0)\n", x, sig)
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "elements differ" in result.stdout  # was: NameError 'lax', counted as reproduced


def test_repro_that_fails_differently_exits_2(tmp_path: Path) -> None:
    import numpy as np

    from fuzzjax.fuzzing.case import Signature, Stage, Symptom

    sig = Signature(Stage.JIT_VS_EAGER, Symptom.WRONG_VALUE, ("reshape",), "float32")
    source = "def f(x0):\n    return jnp.reshape(x0, (3,))\n"  # raises: 2 elements into 3
    result = run_repro_without_fuzzjax(_write_repro(tmp_path, source, np.ones(2, np.float32), sig))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "fails differently" in result.stdout


def test_time_limit_drops_the_prefetched_seeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once --time has passed, the run ends with the outcome in hand: the seeds already
    handed to the workers (up to 16 each) are not drained (a 30-minute run of deep programs
    overran by 6 minutes that way). The deadline is moved, not waited for."""
    import time

    from fuzzjax.fuzzing import campaign

    original = campaign._Campaign.record

    def record_then_expire(self, outcome, options):  # type: ignore[no-untyped-def]
        original(self, outcome, options)
        self.deadline = time.monotonic() - 1.0

    monkeypatch.setattr(campaign._Campaign, "record", record_then_expire)
    config = FuzzConfig(out=tmp_path, options=GenOptions(max_depth=1), seed=100, seconds=3600,
                        workers=1, timeout=60, shrink=False)  # fmt: skip
    summary = run_fuzz(config, echo=lambda line: None)
    assert summary.programs == 1, summary
