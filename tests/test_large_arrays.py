"""Failure folders of programs with large inputs: arrays over ``INLINE_BYTES`` live in side files.

A fuzz program may take millions of elements (issue 14's large arrays); written as hex they
made a 200 MB meta.json and repro.py that fuzzjax's own readers refuse. Now meta.json and
repro.py stay small, the inputs round-trip bit for bit through ``inputs.npz`` (checked by
sha256), the repro runs from the folder with jax and numpy only, and a missing, altered or
foreign side file is a broken folder, never silently different inputs.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fuzzjax.errors import FailureFolderError
from fuzzjax.fuzzing.case import (
    INLINE_BYTES,
    INPUTS_FILE,
    REFERENCE_FILE,
    Case,
    Signature,
    Stage,
    Symptom,
    case_from_json,
    case_to_json,
)
from fuzzjax.fuzzing.folders import BucketStore, write_folder
from fuzzjax.fuzzing.meta import load_meta
from fuzzjax.program import ArgSpec

N = INLINE_BYTES // 4 + 1000  # float32 elements: just over the inline limit


def _case() -> Case:
    args = (ArgSpec("x0", (N,), "float32"), ArgSpec("x1", (3,), "int32"))
    rng = np.random.default_rng(0)
    big = rng.standard_normal(N).astype(np.float32)
    big[:4] = [np.nan, -0.0, np.inf, 1e-40]  # specials must survive bit for bit
    source = "def f(x0, x1):\n    return jnp.sin(x0) + x0\n"
    return Case(source, args, [big, np.arange(3, dtype=np.int32)], "float32", (N,))


def _folder(root: Path, stage: Stage = Stage.VS_NUMPY) -> tuple[Path, Case]:
    case = _case()
    sig = Signature(stage, Symptom.WRONG_VALUE, ("add", "sin"), "float32")
    folder = root / sig.key()
    write_folder(
        folder, sig=sig, original=case, shrunk=case, meta={"hits": 1}, command="(test)", timeout=60
    )
    return folder, case


def test_large_inputs_round_trip_through_the_side_file(tmp_path: Path) -> None:
    folder, case = _folder(tmp_path)
    assert (folder / "meta.json").stat().st_size < 100_000
    assert (folder / "repro.py").stat().st_size < 100_000
    assert (folder / INPUTS_FILE).exists() and (folder / REFERENCE_FILE).exists()
    meta = load_meta(folder)
    got = meta.shrunk.inputs
    assert [x.tobytes() for x in got] == [x.tobytes() for x in case.inputs]
    assert [x.dtype for x in got] == [x.dtype for x in case.inputs]
    # The small input stays inline; only the large one is in the side file.
    specs = meta.raw["shrunk"]["inputs"]
    assert isinstance(specs[0][2], dict) and isinstance(specs[1][2], str)
    assert case_from_json(meta.raw["shrunk"], folder).inputs[0].tobytes() == got[0].tobytes()
    with pytest.raises(ValueError, match="failure folder"):
        case_from_json(meta.raw["shrunk"])  # no folder: it says where the array is


def test_small_cases_keep_their_old_json_form() -> None:
    case = _case()
    small_args = (ArgSpec("x0", (8,), "float32"), case.args[1])
    small = Case(case.source, small_args, [case.inputs[0][:8], case.inputs[1]], "float32", (8,))
    side: dict[str, np.ndarray] = {}
    obj = case_to_json(small, side=side)
    assert side == {} and all(isinstance(spec[2], str) for spec in obj["inputs"])


@pytest.mark.parametrize("how", ["altered", "missing", "foreign"])
def test_a_bad_side_file_makes_a_broken_folder(tmp_path: Path, how: str) -> None:
    folder, _ = _folder(tmp_path, Stage.JIT_VS_EAGER)
    if how == "altered":
        with np.load(folder / INPUTS_FILE) as arrays:
            data = {k: arrays[k].copy() for k in arrays.files}
        data["input0"][100] ^= 1
        np.savez(folder / INPUTS_FILE, **data)  # type: ignore[arg-type]
    elif how == "missing":
        (folder / INPUTS_FILE).unlink()
    else:
        text = (folder / "meta.json").read_text().replace(INPUTS_FILE, "../../secret.npz")
        (folder / "meta.json").write_text(text)
    with pytest.raises(FailureFolderError):
        load_meta(folder)
    assert BucketStore(tmp_path).broken == [folder]


def test_a_removed_reference_file_is_rendered_again(tmp_path: Path) -> None:
    folder, _ = _folder(tmp_path)
    before = (folder / REFERENCE_FILE).read_bytes()
    (folder / REFERENCE_FILE).unlink()
    store = BucketStore(tmp_path)
    assert store.repaired == [folder] and (folder / REFERENCE_FILE).exists()
    assert BucketStore(tmp_path).repaired == []  # now it matches
    assert len((folder / REFERENCE_FILE).read_bytes()) == len(before)


def test_small_inputs_leave_no_side_file_behind(tmp_path: Path) -> None:
    folder, case = _folder(tmp_path)
    sig = load_meta(folder).sig
    small_args = (ArgSpec("x0", (8,), "float32"), case.args[1])
    small = Case(case.source, small_args, [case.inputs[0][:8], case.inputs[1]], "float32", (8,))
    write_folder(
        folder, sig=sig, original=small, shrunk=small, meta={"hits": 2}, command="(t)", timeout=60
    )
    assert not (folder / INPUTS_FILE).exists() and not (folder / REFERENCE_FILE).exists()
    assert load_meta(folder).shrunk.inputs[0].tobytes() == small.inputs[0].tobytes()


def test_the_repro_runs_from_its_folder_with_the_side_files(tmp_path: Path) -> None:
    folder, _ = _folder(tmp_path)
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    done = subprocess.run(
        [sys.executable, str(folder / "repro.py")],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=300,
    )
    # JAX agrees with the reference on this program: the recorded failure is gone (exit 0),
    # which needs both side files read and checked.
    assert done.returncode == 0, done.stdout + done.stderr
