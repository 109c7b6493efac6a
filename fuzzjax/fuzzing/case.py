"""The records of fuzzing: where a failure shows (``Stage``), what it looks like (``Symptom``),
the failing program with its inputs (``Case``) and its bucket key (``Signature``), and their
JSON form (arrays as dtype, shape and hex bytes, so inputs round-trip bit for bit).

Every other fuzzing module speaks in these; they cross process boundaries (pickled) and are
written to failure folders (``to_json``/``from_json``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
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


def encode_array(x: np.ndarray) -> list[Any]:
    x = np.asarray(x)
    return [dtype_name(x.dtype), list(x.shape), x.tobytes().hex()]


def decode_array(spec: list[Any]) -> np.ndarray:
    dtype, shape, data = spec
    return np.frombuffer(bytes.fromhex(data), dtype=np_dtype(dtype)).reshape(shape).copy()


def case_to_json(case: Case, *, with_inputs: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "source": case.source,
        "args": [a.to_json() for a in case.args],
        "result_dtype": case.result_dtype,
        "result_shape": list(case.result_shape),
    }
    if case.x64:  # absent for 32-bit cases: their JSON is what it always was
        out["x64"] = True
    if with_inputs:
        out["inputs"] = [encode_array(x) for x in case.inputs]
    return out


def case_from_json(obj: dict[str, Any]) -> Case:
    return Case(
        obj["source"],
        tuple(ArgSpec.from_json(a) for a in obj["args"]),
        [decode_array(x) for x in obj["inputs"]],
        obj["result_dtype"],
        tuple(obj["result_shape"]),
        bool(obj.get("x64", False)),
    )
