"""The records of fuzzing: where a failure shows (``Stage``), what it looks like (``Symptom``),
the failing program with its inputs (``Case``) and its bucket key (``Signature``), and their
JSON form (arrays as dtype, shape and hex bytes, so inputs round-trip bit for bit; arrays over
``INLINE_BYTES`` as raw bytes in a side file of the failure folder, named with their sha256).

Every other fuzzing module speaks in these; they cross process boundaries (pickled) and are
written to failure folders (``to_json``/``from_json``).
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np

from fuzzjax.fuzzing.inputs import dtype_name, np_dtype
from fuzzjax.program import ArgSpec


class Stage(str, Enum):
    """Where a failure shows up."""

    GENERATE = "generate"
    LOWER = "lower"
    COMPILE = "compile"
    JIT = "jit"
    EAGER = "eager"
    REFERENCE = "reference"
    REFEREE = "referee"  # fuzzjax's high-precision referee (a hang there is fuzzjax's)
    DETERMINISM = "determinism"
    JIT_VS_EAGER = "jit_vs_eager"
    VS_NUMPY = "vs_numpy"
    COMPILE_O0 = "compile_o0"  # compiling with XLA's HLO passes off
    O0 = "o0"  # running that unoptimised executable
    JIT_VS_O0 = "jit_vs_o0"  # optimised vs unoptimised results
    VMAP = "vmap"  # jit(vmap(f)) vs jit(f) per example
    JVP_VS_VJP = "jvp_vs_vjp"  # forward vs reverse mode (dot-product test)
    GRAD_VS_FD = "grad_vs_fd"  # gradients vs central differences
    EXPORT_ROUNDTRIP = "export_roundtrip"  # jax.export serialize/deserialize/call


class Symptom(str, Enum):
    """What the failure looks like."""

    SEGFAULT = "segfault"
    ABORT = "abort"
    KILLED = "killed"
    CRASH = "crash"
    HANG = "hang"
    EXCEPTION = "exception"
    WRONG_DTYPE = "wrong_dtype"
    WRONG_SHAPE = "wrong_shape"
    NONDETERMINISM = "nondeterminism"
    WRONG_NAN = "wrong_nan"
    WRONG_INF = "wrong_inf"
    WRONG_VALUE = "wrong_value"


VALUE_SYMPTOMS = (Symptom.WRONG_NAN, Symptom.WRONG_INF, Symptom.WRONG_VALUE)


@dataclass(frozen=True)
class Signature:
    """The bucket key of a failure."""

    stage: Stage
    symptom: Symptom
    ops: tuple[str, ...]
    dtype: str
    localized: bool = False

    def key(self) -> str:
        ops = "+".join(self.ops) if len(self.ops) <= 4 else f"{len(self.ops)}ops"
        text = f"{self.stage.value}-{self.symptom.value}-{ops}-{self.dtype}"
        return re.sub(r"[^A-Za-z0-9_.+-]", "_", text.replace("->", "_to_").replace(",", "_"))

    def to_json(self) -> dict[str, Any]:
        return {
            "stage": self.stage.value,
            "symptom": self.symptom.value,
            "ops": list(self.ops),
            "dtype": self.dtype,
            "localized": self.localized,
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Signature:
        return cls(
            Stage(obj["stage"]),
            Symptom(obj["symptom"]),
            tuple(obj["ops"]),
            str(obj["dtype"]),
            bool(obj.get("localized", False)),
        )

    def kept_by(self, other: Signature | None) -> bool:
        """Whether a shrinking candidate with signature ``other`` still shows this failure."""
        if other is None or (other.stage, other.symptom) != (self.stage, self.symptom):
            return False
        if self.localized:
            return other.localized and (other.ops, other.dtype) == (self.ops, self.dtype)
        return set(other.ops) <= set(self.ops)


@dataclass
class Case:
    """A program with concrete inputs and the result type the typing table promises;
    ``x64``: an x64 program (run under ``jax.enable_x64(True)``, JAX's x64 promotion)."""

    source: str
    args: tuple[ArgSpec, ...]
    inputs: list[np.ndarray]
    result_dtype: str
    result_shape: tuple[int, ...]
    x64: bool = False


#: Arrays larger than this (bytes) are kept in a side file of the failure folder, not as hex
#: inside meta.json / repro.py (a program with a million-element input would otherwise write
#: hundreds of megabytes of text that fuzzjax's own readers refuse).
INLINE_BYTES = 1 << 20
#: The side files: the recorded inputs (a record, like meta.json) and the reference values
#: repro.py compares with (rendered from the record, like repro.py).
INPUTS_FILE = "inputs.npz"
REFERENCE_FILE = "reference.npz"
SIDE_FILES = (INPUTS_FILE, REFERENCE_FILE)


def encode_array(
    x: np.ndarray, side: dict[str, np.ndarray] | None = None, *, key: str = "", file: str = ""
) -> list[Any]:
    """``[dtype, shape, hex]``; with ``side``, an array over ``INLINE_BYTES`` goes into
    ``side[key]`` (raw bytes, written to ``file`` by ``folders.write_arrays``) and its spec
    names it:
    ``[dtype, shape, {"file": file, "key": key, "sha256": ...}]``."""
    x = np.asarray(x)
    head = [dtype_name(x.dtype), list(x.shape)]
    raw = x.tobytes()
    if side is None or len(raw) <= INLINE_BYTES:
        return [*head, raw.hex()]
    side[key] = np.frombuffer(raw, np.uint8)
    return [*head, {"file": file, "key": key, "sha256": hashlib.sha256(raw).hexdigest()}]


def decode_array(spec: list[Any], folder: Path | None = None) -> np.ndarray:
    """The array of ``spec``; a side-file spec is read from ``folder`` (ValueError when it is
    missing, altered, or names a file that is not one of ``SIDE_FILES``)."""
    dtype, shape, data = spec
    if not isinstance(data, dict):
        return np.frombuffer(bytes.fromhex(data), dtype=np_dtype(dtype)).reshape(shape).copy()
    name, key = data.get("file"), data.get("key")
    if folder is None:
        raise ValueError(f"the array is kept in {name}: read it from its failure folder")
    if name not in SIDE_FILES or not isinstance(key, str):
        raise ValueError(f"an array spec names {str(name)[:60]!r}, not one of {SIDE_FILES}")
    try:
        with np.load(folder / name, allow_pickle=False) as arrays:
            raw = arrays[key].tobytes()
    except (OSError, KeyError, zipfile.BadZipFile) as exc:
        raise ValueError(f"cannot read array {key!r} of {folder / name}: {exc}") from None
    if hashlib.sha256(raw).hexdigest() != data.get("sha256"):
        raise ValueError(f"array {key!r} of {folder / name} is not the one recorded (sha256)")
    return np.frombuffer(raw, dtype=np_dtype(dtype)).reshape(shape).copy()


def case_to_json(
    case: Case, *, with_inputs: bool = True, side: dict[str, np.ndarray] | None = None
) -> dict[str, Any]:
    """JSON form of ``case``; with ``side``, large inputs go there (``INPUTS_FILE``)."""
    out: dict[str, Any] = {
        "source": case.source,
        "args": [a.to_json() for a in case.args],
        "result_dtype": case.result_dtype,
        "result_shape": list(case.result_shape),
    }
    if case.x64:  # absent for 32-bit cases: their JSON is what it always was
        out["x64"] = True
    if with_inputs:
        out["inputs"] = [
            encode_array(x, side, key=f"input{i}", file=INPUTS_FILE)
            for i, x in enumerate(case.inputs)
        ]
    return out


def case_from_json(obj: dict[str, Any], folder: Path | None = None) -> Case:
    """The ``Case`` of ``case_to_json``'s form; ``folder`` holds its side files, if any."""
    return Case(
        obj["source"],
        tuple(ArgSpec.from_json(a) for a in obj["args"]),
        [decode_array(x, folder) for x in obj["inputs"]],
        obj["result_dtype"],
        tuple(obj["result_shape"]),
        bool(obj.get("x64", False)),
    )
