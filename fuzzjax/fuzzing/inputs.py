"""Argument values with teeth: seeded arrays that mix ordinary numbers with edge values.

Random normal inputs almost never expose real bugs; edge values do (NaN, +-inf, +-0,
subnormals, the largest and smallest finite values, values near where ``exp`` and ``pow``
overflow, integer min/max). ``make_inputs(args, seed)`` draws, for every array, an edge density
(sometimes zero, so plain values are compared too) and fills that share of the elements from
the dtype's edge list. Everything depends only on ``seed`` and the specs, so an input seed
recorded with a failure rebuilds the exact arrays; this module imports NumPy and ml_dtypes only.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from functools import cache

import ml_dtypes
import numpy as np
from numpy.typing import DTypeLike

from fuzzjax.program import ArgSpec

#: Share of edge values in an array, drawn per array (0.0 keeps some arrays edge-free).
EDGE_DENSITIES: tuple[float, ...] = (0.0, 0.05, 0.2, 0.5, 1.0)
EDGE_DENSITY_WEIGHTS: tuple[float, ...] = (0.2, 0.25, 0.3, 0.15, 0.1)

_NP_DTYPES: dict[str, np.dtype] = {
    "bool": np.dtype(np.bool_),
    "int8": np.dtype(np.int8),
    "uint8": np.dtype(np.uint8),
    "int16": np.dtype(np.int16),
    "uint16": np.dtype(np.uint16),
    "int32": np.dtype(np.int32),
    "uint32": np.dtype(np.uint32),
    "float16": np.dtype(np.float16),
    "bfloat16": np.dtype(ml_dtypes.bfloat16),
    "float32": np.dtype(np.float32),
    "float64": np.dtype(np.float64),
    "complex64": np.dtype(np.complex64),
    "complex128": np.dtype(np.complex128),
}


def np_dtype(name: str) -> np.dtype:
    """The NumPy dtype of a fuzzjax dtype name (bfloat16 through ml_dtypes)."""
    return _NP_DTYPES[name]


def complex_from_parts(real: np.ndarray, imag: np.ndarray, dtype: DTypeLike) -> np.ndarray:
    """A complex array of ``dtype`` with these parts (``real + 1j * imag`` would turn an
    infinite imaginary part into a NaN real part, since ``1j * inf`` is ``nan+infj``)."""
    out = np.empty(np.broadcast_shapes(np.shape(real), np.shape(imag)), dtype=dtype)
    out.real, out.imag = real, imag
    return out


def finfo(name: str) -> ml_dtypes.finfo:
    """``finfo`` that also knows bfloat16 (``ml_dtypes.finfo`` covers the NumPy floats too)."""
    return ml_dtypes.finfo(np_dtype(name))


@cache
def float_edges(name: str) -> tuple[float, ...]:
    """Edge values of a real float dtype, each exactly representable in it."""
    fi = finfo(name)
    big, tiny = float(fi.max), float(fi.smallest_normal)
    sub_min = float(fi.smallest_subnormal)
    log_max = float(np.log(big))  # exp overflows just above this
    values = [
        float("nan"),
        float("inf"),
        float("-inf"),
        0.0,
        -0.0,
        sub_min,
        -sub_min,
        tiny - sub_min,
        tiny,
        -tiny,  # subnormals and the smallest normal
        big,
        -big,
        float(fi.eps),
        1.0,
        -1.0,
        0.5,
        2.0,
        log_max,
        log_max * (1 + float(fi.eps)),
        -log_max,
        float(np.sqrt(big)),
        float(np.sqrt(tiny)),
        65504.0,
        3.4028234663852886e38,
        1e-7,
        1e7,
        np.pi / 2,
        np.pi,
    ]
    with np.errstate(over="ignore"):
        cast = np.array(values, dtype=np.float64).astype(np_dtype(name))
    return tuple(float(v) for v in cast.astype(np.float64))


@cache
def int_edges(name: str) -> tuple[int, ...]:
    info = np.iinfo(np_dtype(name))
    lo, hi = int(info.min), int(info.max)
    values = {lo, lo + 1, hi, hi - 1, 0, 1, 2, 7, 8, 31, 32}
    if lo < 0:
        values |= {-1, -2, lo // 2, hi // 2 + 1}
    return tuple(sorted(v for v in values if lo <= v <= hi))


def derive_input_seed(program_seed: int, run_seed: int = 0) -> int:
    """The input seed recorded with a program: independent of the program's own choices."""
    return zlib.crc32(f"inputs:{run_seed}:{program_seed}".encode())


def make_inputs(args: Sequence[ArgSpec], seed: int) -> list[np.ndarray]:
    """Concrete values for ``args``: the same arrays for the same (specs, seed) everywhere."""
    rng = np.random.default_rng(seed)
    return [make_array(spec.dtype, spec.shape, rng) for spec in args]


def make_array(dtype: str, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    density = float(rng.choice(EDGE_DENSITIES, p=EDGE_DENSITY_WEIGHTS))
    size = int(np.prod(shape, dtype=np.int64))
    flat = _plain(dtype, size, rng)
    edge_at = rng.random(size) < density
    count = int(edge_at.sum())
    if count:
        flat[edge_at] = _edges(dtype, count, rng)
    return flat.reshape(shape)


def _plain(dtype: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """Ordinary values: small integers or floats of a drawn scale."""
    target = np_dtype(dtype)
    if dtype == "bool":
        return rng.random(size) < 0.5
    if target.kind in "iu":
        info = np.iinfo(target)
        span = int(rng.choice([4, 16, 128, 1 << 16]))
        lo, hi = max(int(info.min), -span), min(int(info.max), span)
        return rng.integers(lo, hi, size=size, endpoint=True).astype(target)
    scale = float(rng.choice([1.0, 1.0, 10.0, 1e-3, 100.0]))
    values = rng.standard_normal(size) * scale
    if target.kind == "c":
        return complex_from_parts(values, rng.standard_normal(size) * scale, target)
    return values.astype(target)


def _edges(dtype: str, count: int, rng: np.random.Generator) -> np.ndarray:
    target = np_dtype(dtype)
    if dtype == "bool":
        return rng.random(count) < 0.5
    if target.kind in "iu":
        return np.array(rng.choice(int_edges(dtype), size=count), dtype=target)
    if target.kind == "c":
        edges = np.array(float_edges("float32"))
        real = rng.choice(edges, size=count)
        imag = np.where(rng.random(count) < 0.5, rng.choice(edges, size=count), 0.0)
        return complex_from_parts(real, imag, target)
    return np.array(rng.choice(float_edges(dtype), size=count)).astype(target)


def describe(value: np.ndarray) -> dict[str, int]:
    """Counts of edge classes in an array (for reports and tests)."""
    if value.dtype.kind not in "fcV" and value.dtype != np_dtype("bfloat16"):
        return {}
    parts = [value.real, value.imag] if value.dtype.kind == "c" else [value]
    out = {"nan": 0, "posinf": 0, "neginf": 0, "negzero": 0, "subnormal": 0, "max": 0}
    for part in parts:
        wide = np.asarray(part).astype(np.float64)
        name = "float32" if value.dtype.kind == "c" else dtype_name(value.dtype)
        fi = finfo(name)
        out["nan"] += int(np.isnan(wide).sum())
        out["posinf"] += int(np.isposinf(wide).sum())
        out["neginf"] += int(np.isneginf(wide).sum())
        out["negzero"] += int(((wide == 0) & np.signbit(wide)).sum())
        tiny = float(fi.smallest_normal)
        out["subnormal"] += int(((wide != 0) & (np.abs(wide) < tiny)).sum())
        out["max"] += int((np.abs(wide) == float(fi.max)).sum())
    return out


def dtype_name(dtype: np.dtype) -> str:
    """The fuzzjax dtype name of a NumPy dtype."""
    for name, candidate in _NP_DTYPES.items():
        if candidate == dtype:
            return name
    raise KeyError(str(dtype))
