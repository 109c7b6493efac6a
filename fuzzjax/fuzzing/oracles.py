"""Differential oracles: jit vs eager vs the NumPy reference, with dtype-aware comparison.

``check_program`` runs one program (a) compiled with ``jax.jit``, twice, (b) eagerly under
``jax.disable_jit()`` and (c) with ``fuzzjax.fuzzing.reference``, and returns the first failure
it finds as a ``Failure`` (stage and symptom are Enums), or ``None``. Value comparison is
NaN-position aware, inf-sign aware, exact for integers and bools, and within ``TOLERANCE_ULP``
units in the last place for floats (complex: per component). Elements that differ only in ways
listed in ``fuzzjax.fuzzing.benign`` (undefined conventions, denormal flushing) are counted in
``Diff.explained``, so a program whose every difference is explained is reported as benign, not
as passing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from fuzzjax.dtypes import real_dtype
from fuzzjax.fuzzing.case import Stage, Symptom
from fuzzjax.fuzzing.inputs import complex_from_parts, finfo, np_dtype

#: Allowed distance in units in the last place, per result dtype (complex: per component).
#: float64/complex128 (x64 programs) get the float32/complex64 budgets in their own ulps.
TOLERANCE_ULP: dict[str, int] = {
    "float16": 2,
    "bfloat16": 2,
    "float32": 4,
    "complex64": 8,
    "float64": 4,
    "complex128": 8,
}
COMPLEX = ("complex64", "complex128")


@dataclass
class Diff:
    """Unexplained element mismatches of ``got`` against ``want`` plus explained ones by tag."""

    bad: np.ndarray
    symptom: Symptom | None
    explained: dict[str, int] = field(default_factory=dict)
    detail: str = ""
    index: list[int] | None = None
    #: Largest absolute difference over the unexplained elements (inf for NaN/inf ones).
    max_error: float = 0.0

    @property
    def failed(self) -> bool:
        return self.symptom is not None


@dataclass
class Failure:
    """The first failure of a program: stage, symptom and a one-line detail."""

    stage: Stage
    symptom: Symptom
    detail: str
    explained: dict[str, int] = field(default_factory=dict)
    index: list[int] | None = None  # first unexplained element that differs
    #: Largest absolute difference over the differing elements (``Diff.max_error``).
    max_error: float = 0.0


def _ordered(x: np.ndarray, dtype: str) -> np.ndarray:
    """Float bits mapped to integers whose difference counts representable values (ULPs)."""
    width = {"float16": np.int16, "bfloat16": np.int16, "float32": np.int32, "float64": np.int64}[
        dtype
    ]
    bits = np.asarray(x).astype(np_dtype(dtype)).view(width).astype(np.int64)
    magnitude = bits & ((1 << (8 * np.dtype(width).itemsize - 1)) - 1)
    return np.where(bits < 0, -magnitude, magnitude)


def _real_close(
    got: np.ndarray, want: np.ndarray, dtype: str, atol: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ok, nan_bad, inf_bad) for real float arrays of ``dtype``."""
    g, w = got.astype(np.float64), want.astype(np.float64)
    gnan, wnan = np.isnan(g), np.isnan(w)
    with np.errstate(all="ignore"):  # float64: +-inf apart wraps, never to within the budget
        ulp = np.abs(_ordered(got, dtype) - _ordered(want, dtype))
        ok = (gnan & wnan) | (~gnan & ~wnan & (ulp <= TOLERANCE_ULP[dtype]))
        ok |= ~gnan & ~wnan & (g == w)
        if atol is not None:
            ok |= ~gnan & ~wnan & (np.abs(g - w) <= atol)
    nan_bad = gnan != wnan
    inf_bad = ~ok & ~nan_bad & (np.isinf(g) | np.isinf(w))
    return ok, nan_bad, inf_bad


def elementwise_ok(
    got: np.ndarray, want: np.ndarray, dtype: str, atol: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ok, nan_bad, inf_bad) masks comparing two arrays of the fuzzjax dtype ``dtype``."""
    got, want = np.asarray(got), np.asarray(want)
    if dtype in COMPLEX:
        # Each part may also be off by the complex budget in ulps of |want| (norm-wise): a
        # small part computed by cancellation (ac - bd) is not a wrong result.
        real = real_dtype(dtype)
        with np.errstate(all="ignore"):
            size = np.abs(want.astype(np.complex128))
        scale = np.where(np.isfinite(size), size, 0.0)
        normwise = TOLERANCE_ULP[dtype] * float(finfo(real).eps) * scale
        atol = normwise if atol is None else np.maximum(atol, normwise)
        (ok_r, nan_r, inf_r), (ok_i, nan_i, inf_i) = (
            _real_close(part(got), part(want), real, atol) for part in (np.real, np.imag)
        )
        return ok_r & ok_i, nan_r | nan_i, inf_r | inf_i
    if dtype in TOLERANCE_ULP:
        return _real_close(got, want, dtype, atol)
    ok = got == want
    none = np.zeros(ok.shape, dtype=bool)
    return ok, none, none


def compare(
    got: np.ndarray,
    want: np.ndarray,
    dtype: str,
    *,
    undefined: dict[str, np.ndarray] | None = None,
    alternative: Callable[[], np.ndarray] | None = None,
    atol: np.ndarray | None = None,
) -> Diff:
    """Compare ``got`` with ``want``; explain mismatches by undefined masks or the FTZ variant."""
    ok, nan_bad, inf_bad = elementwise_ok(got, want, dtype, atol)
    bad = ~ok
    explained: dict[str, int] = {}
    if bad.any() and undefined:
        for tag, mask in sorted(undefined.items()):
            hit = bad & np.broadcast_to(mask, bad.shape)
            if hit.any():
                explained[tag] = int(hit.sum())
                bad &= ~hit
    if bad.any() and alternative is not None:
        alt_ok = elementwise_ok(got, alternative(), dtype, atol)[0]
        hit = bad & alt_ok
        if hit.any():
            explained["ftz"] = int(hit.sum())
            bad &= ~hit
    if bad.any() and dtype in COMPLEX:
        hit = bad & _complex_infinite(got) & _complex_infinite(want)
        if hit.any():
            explained["complex_infinity"] = int(hit.sum())
            bad &= ~hit
    if not bad.any():
        return Diff(bad, None, explained)
    symptom = Symptom.WRONG_VALUE
    if (bad & nan_bad).any():
        symptom = Symptom.WRONG_NAN
    elif (bad & inf_bad).any():
        symptom = Symptom.WRONG_INF
    index = tuple(int(i) for i in np.argwhere(bad)[0]) if bad.ndim else ()
    g, w = np.asarray(got)[index], np.asarray(want)[index]
    detail = f"{int(bad.sum())}/{bad.size} elements differ; at {list(index)}: got {g!r}, want {w!r}"
    return Diff(bad, symptom, explained, detail, list(index), _max_error(got, want, bad))


def _max_error(got: np.ndarray, want: np.ndarray, bad: np.ndarray) -> float:
    wide = np.complex128 if np.iscomplexobj(got) or np.iscomplexobj(want) else np.float64
    with np.errstate(all="ignore"):
        diff = np.abs(np.asarray(got).astype(wide) - np.asarray(want).astype(wide))
    picked = np.broadcast_to(diff, bad.shape)[bad]
    if not picked.size:
        return 0.0
    return float("inf") if not np.isfinite(picked).all() else float(picked.max())


def _complex_infinite(x: np.ndarray) -> np.ndarray:
    """C99 Annex G: a complex value with an infinite part is an infinity, even with a NaN part."""
    x = np.asarray(x)
    return np.asarray(np.isinf(x.real) | np.isinf(x.imag))


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """Bitwise equality (NaN payloads included): for the determinism check."""
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def flushed(x: np.ndarray | None, dtype: str) -> np.ndarray:
    """``x`` with subnormals flushed to zero: jit and eager flush in different places."""
    assert x is not None
    kind = real_dtype(dtype)
    if kind not in TOLERANCE_ULP:
        return x
    tiny = float(finfo(kind).smallest_normal)
    wide = np.asarray(x).astype(np.complex128 if dtype in COMPLEX else np.float64)
    real = np.where(np.abs(wide.real) < tiny, 0.0, wide.real)
    if dtype not in COMPLEX:
        return real.astype(np.asarray(x).dtype)
    imag = np.where(np.abs(wide.imag) < tiny, 0.0, wide.imag)
    return complex_from_parts(real, imag, np.asarray(x).dtype)
