"""Reading a failure folder's ``meta.json`` without trusting it.

A failure folder is data on disk that anyone may have edited. ``load_meta`` checks everything
fuzzjax will use before it is used: the JSON itself, the signature, and both recorded cases.
A case's source must parse under the fuzzjax grammar (``fuzzjax.syntax.parse``), its
parameters must be the declared ones, dtypes known, shapes small enough, and its input bytes
must decode to exactly those shapes and dtypes. Anything else is a ``FailureFolderError``
naming the folder and what is wrong, so ``replay`` and ``shrink`` stop with one line instead of
executing or rewriting text that did not pass the grammar.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fuzzjax.errors import FailureFolderError
from fuzzjax.fuzzing.case import Case, Signature, decode_array
from fuzzjax.fuzzing.inputs import np_dtype
from fuzzjax.program import ArgSpec

#: Largest meta.json read (a folder's inputs are hex inside it, up to ``INLINE_BYTES`` each).
MAX_META_BYTES = 64 << 20
#: Largest program file ``shrink`` reads.
MAX_PROGRAM_BYTES = 1 << 20
#: Most elements in one recorded array.
MAX_ELEMENTS = 1 << 24
#: Time limit of a folder's repro.py when its meta.json does not record one (fuzz's default).
DEFAULT_TIMEOUT = 30.0


@dataclass
class FolderMeta:
    """A checked ``meta.json``: the raw dict and the records fuzzjax rebuilds from it."""

    raw: dict[str, Any]
    sig: Signature
    shrunk: Case
    original: Case
    command: str
    timeout: float


def load_meta(folder: Path) -> FolderMeta:
    """The checked ``meta.json`` of ``folder``; ``FailureFolderError`` when anything is off."""
    if not folder.is_dir():
        raise FailureFolderError(f"{folder} is not a folder")
    path = folder / "meta.json"
    if not path.is_file():
        raise FailureFolderError(
            f"{folder} has no meta.json: not a failure folder written by fuzzjax fuzz"
        )
    try:
        if path.stat().st_size > MAX_META_BYTES:
            raise FailureFolderError(f"{path} is larger than {MAX_META_BYTES >> 20} MB")
        raw = json.loads(path.read_bytes())
    except OSError as exc:
        raise FailureFolderError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise FailureFolderError(f"{path} is not valid JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise FailureFolderError(f"{path} does not hold a JSON object")
    where = str(path)
    missing = [k for k in ("signature", "shrunk", "original", "command") if k not in raw]
    if missing:
        raise FailureFolderError(f"{where} is incomplete: no {', '.join(missing)}")
    try:
        sig = Signature.from_json(raw["signature"])
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise FailureFolderError(f"{where}: unreadable signature ({exc!r})") from None
    command = raw["command"]
    if not isinstance(command, str):
        raise FailureFolderError(f"{where}: command is not a string")
    timeout = raw.get("timeout", DEFAULT_TIMEOUT)
    if not _number(timeout) or not 0 < timeout <= 1e6:
        raise FailureFolderError(f"{where}: timeout={timeout!r} is not a number of seconds")
    for name in ("hits", "seed", "input_seed"):
        if name in raw and not (_integer(raw[name]) and raw[name] >= 0):
            raise FailureFolderError(f"{where}: {name}={raw[name]!r} is not a count")
    seeds = raw.get("seeds", [])
    if not isinstance(seeds, list) or not all(_integer(s) for s in seeds):
        raise FailureFolderError(f"{where}: seeds is not a list of integers")
    shrunk = case_of(raw["shrunk"], f"{where} (shrunk)", with_inputs=True, folder=folder)
    original = case_of(raw["original"], f"{where} (original)", with_inputs=False)
    return FolderMeta(raw, sig, shrunk, original, command, float(timeout))


def case_of(obj: object, where: str, *, with_inputs: bool, folder: Path | None = None) -> Case:
    """A ``Case`` from its JSON form (``case_to_json``), checked by ``check_case``; ``folder``
    holds the side file of its large inputs, if any."""
    if not isinstance(obj, dict):
        raise FailureFolderError(f"{where}: not a JSON object")
    try:
        source = obj["source"]
        args = tuple(ArgSpec.from_json(a) for a in obj["args"])
        result = (str(obj["result_dtype"]), tuple(int(d) for d in obj["result_shape"]))
        inputs = [decode_array(x, folder) for x in obj["inputs"]] if with_inputs else []
        x64 = obj.get("x64", False)
    except (KeyError, ValueError, TypeError, AttributeError, OverflowError) as exc:
        raise FailureFolderError(f"{where}: unreadable case ({exc!r})") from None
    if not isinstance(source, str):
        raise FailureFolderError(f"{where}: source is not a string")
    if not isinstance(x64, bool):
        raise FailureFolderError(f"{where}: x64 is not true or false")
    case = Case(source, args, inputs, result[0], result[1], x64)
    check_case(case, where, with_inputs=with_inputs)
    return case


def check_case(case: Case, where: str, *, with_inputs: bool = True) -> None:
    """``FailureFolderError`` unless ``case`` is a fuzzjax program with matching types."""
    from fuzzjax.syntax import ProgramSyntaxError, input_names, parameters, parse

    try:
        tree = parse(case.source)
    except ProgramSyntaxError as exc:
        raise FailureFolderError(f"{where}: the program is not fuzzjax's: {exc}") from None
    params = input_names(parameters(tree))  # params['w'] per dict item read
    names = [a.name for a in case.args]
    if params != names:
        raise FailureFolderError(
            f"{where}: the function takes ({', '.join(params)}), the record declares "
            f"({', '.join(names)})"
        )
    for name, dtype, shape in [
        *((a.name, a.dtype, a.shape) for a in case.args),
        ("result", case.result_dtype, case.result_shape),
    ]:
        check_type(where, name, dtype, shape)
    if not with_inputs:
        return
    if len(case.inputs) != len(case.args):
        raise FailureFolderError(
            f"{where}: {len(case.inputs)} inputs for {len(case.args)} parameters"
        )
    for arg, x in zip(case.args, case.inputs, strict=True):
        if x.dtype != np_dtype(arg.dtype) or tuple(x.shape) != arg.shape:
            raise FailureFolderError(
                f"{where}: the input of {arg.name} is {x.dtype}{list(x.shape)}, "
                f"not {arg.dtype}{list(arg.shape)}"
            )


def check_type(where: str, name: str, dtype: str, shape: tuple[int, ...]) -> None:
    """``FailureFolderError`` unless ``dtype`` is known and ``shape`` is a plausible size."""
    try:
        np_dtype(dtype)
    except KeyError:
        raise FailureFolderError(f"{where}: {name} has unknown dtype {dtype[:40]!r}") from None
    if len(shape) > 16 or any(d < 0 for d in shape) or math.prod(shape) > MAX_ELEMENTS:
        raise FailureFolderError(f"{where}: {name} has an impossible shape {list(shape)[:20]}")


def _integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: object) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )
