"""Input and result values written out for people: special values by name.

``spell(value, dtype)`` gives ``nan``, ``inf``, ``-inf``, ``-0.0``, ``1e-45 (subnormal)``,
``3.4028235e+38 (max)``, ``-2147483648 (INT32_MIN)``...; complex values spell each part.
``describe_input`` decodes one recorded input (``fuzzjax.fuzzing.case.decode_array``) into
an ``InputView``: the first ``MAX_SHOWN`` elements with their indices, and a count of every
special value in the whole array. Recorded inputs are untrusted: one that does not decode is
described by the reason, not raised.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ml_dtypes
import numpy as np

from fuzzjax.fuzzing.case import decode_array

#: Elements listed per input (the special-value counts cover the whole array).
MAX_SHOWN = 24
#: Elements examined for the special-value counts (recorded inputs are at most 4096 elements;
#: a tampered one may be larger).
MAX_COUNTED = 100_000
#: Positions listed per special value.
MAX_POSITIONS = 3


@dataclass
class InputView:
    """One input as the report shows it."""

    name: str
    dtype: str
    shape: str
    elements: list[str] = field(default_factory=list)  # spelled values, row-major
    more: int = 0  # elements not listed
    specials: str = ""  # "2 nan at [0, 1], [3, 0]; 1 -0.0 at [2, 2]" over the whole array
    error: str = ""  # why the recorded input could not be decoded


def _float_label(x: float, finfo: Any) -> str:
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0:
        return "-0.0" if math.copysign(1.0, x) < 0 else "0.0"
    magnitude = abs(x)
    if magnitude < float(finfo.tiny):
        return "subnormal"
    if magnitude == float(finfo.max):
        return "max" if x > 0 else "-max"
    if magnitude == float(finfo.tiny):
        return "smallest normal" if x > 0 else "-smallest normal"
    return ""


def _spell_float(value: Any, dtype: np.dtype[Any]) -> tuple[str, str]:
    """(text, label) of a real floating-point value of ``dtype``."""
    x = float(value)
    label = _float_label(x, ml_dtypes.finfo(dtype))
    if label in ("nan", "inf", "-inf", "-0.0", "0.0"):
        return label, label
    text = str(dtype.type(value))
    return (f"{text} ({label})" if label else text), label


def _spell_int(value: Any, dtype: np.dtype[Any]) -> tuple[str, str]:
    info = np.iinfo(dtype)
    x = int(value)
    prefix = "UINT" if info.min == 0 else "INT"
    if x == info.min and info.min != 0:
        label = f"{prefix}{info.bits}_MIN"
    elif x == info.max:
        label = f"{prefix}{info.bits}_MAX"
    else:
        return str(x), ""
    return f"{x} ({label})", label


def spell_with_label(value: Any, dtype: np.dtype[Any]) -> tuple[str, str]:
    """(text, special label or "") of one element of an array of ``dtype``."""
    if dtype == np.bool_:
        return str(bool(value)), ""
    if dtype.kind in "iu":
        return _spell_int(value, dtype)
    if dtype.kind == "c":
        part = np.dtype(np.float32 if dtype == np.complex64 else np.float64)
        real, real_label = _spell_float(np.real(value), part)
        imag, imag_label = _spell_float(np.imag(value), part)
        labels = [f"{p} {lab}" for p, lab in (("re", real_label), ("im", imag_label)) if lab]
        return f"re={real}, im={imag}", ", ".join(labels)
    return _spell_float(value, dtype)


def spell(value: Any, dtype: np.dtype[Any]) -> str:
    """One element of an array of ``dtype`` written out, special values named."""
    return spell_with_label(value, dtype)[0]


def describe_array(name: str, array: np.ndarray) -> InputView:
    """``InputView`` of a decoded array (at most ``MAX_SHOWN`` elements listed)."""
    dtype_name = "bfloat16" if array.dtype == ml_dtypes.bfloat16 else str(array.dtype)
    view = InputView(name, dtype_name, str(list(array.shape)))
    counts: Counter[str] = Counter()
    where: dict[str, list[str]] = {}
    flat = array.reshape(-1)
    for position, value in enumerate(flat[:MAX_COUNTED]):
        text, label = spell_with_label(value, array.dtype)
        for part in filter(None, (p.strip() for p in label.split(","))):
            counts[part] += 1
            if array.ndim and len(spots := where.setdefault(part, [])) < MAX_POSITIONS:
                spots.append(str([int(i) for i in np.unravel_index(position, array.shape)]))
        if position < MAX_SHOWN:
            view.elements.append(text)
    view.more = max(0, flat.size - MAX_SHOWN)
    view.specials = "; ".join(
        _special(label, n, where.get(label, [])) for label, n in counts.most_common()
    )
    if flat.size > MAX_COUNTED:
        view.specials += f" (in the first {MAX_COUNTED} elements)"
    return view


def _special(label: str, count: int, spots: list[str]) -> str:
    if not spots:
        return f"{count} {label}"
    more = ", ..." if count > len(spots) else ""
    return f"{count} {label} at {', '.join(spots)}{more}"


def describe_input(name: str, spec: Any, folder: Path | None = None) -> InputView:
    """``InputView`` of a recorded input ``[dtype, shape, hex]`` (or a large one kept in
    ``folder``'s side file); ``error`` set when it does not decode."""
    try:
        array = decode_array(spec, folder)
    except Exception as exc:  # noqa: BLE001 - untrusted data: any decoding error is shown
        dtype = str(spec[0]) if isinstance(spec, list) and spec else "?"
        return InputView(name, dtype, "?", error=f"{type(exc).__name__}: {exc}"[:200])
    return describe_array(name, array)


_NUMPY_SCALAR = re.compile(r"^np\.\w+\((.*)\)$")
_DETAIL = re.compile(r"at (\[[^\]]*\]): got (.+), want (.+)$")


def scalar_text(text: str, dtype: str | None = None) -> str:
    """A value as the oracles print it (``np.float32(nan)``) spelled out: ``nan``."""
    inner = _NUMPY_SCALAR.sub(r"\1", text.strip())
    if dtype is None:
        return inner
    try:
        from fuzzjax.fuzzing.inputs import np_dtype

        kind = np_dtype(dtype)
        if kind.kind == "c":
            return spell(complex(inner.replace(" ", "")), kind)
        if kind.kind in "iu":
            return spell(int(inner), kind)
        if kind == np.bool_:
            return inner
        return spell(float(inner), kind)
    except (KeyError, ValueError, OverflowError):
        return inner


def got_and_want(detail: str, dtype: str | None) -> tuple[str, str, str] | None:
    """(index, actual, expected) from an oracle detail ``... at [i]: got G, want W``."""
    match = _DETAIL.search(detail)
    if match is None:
        return None
    index, got, want = match.groups()
    return index, scalar_text(got, dtype), scalar_text(want, dtype)
