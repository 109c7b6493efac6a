"""Argument values with teeth: seeded arrays that mix ordinary numbers with edge values.

Random normal inputs almost never expose real bugs; edge values do (NaN, +-inf, +-0,
subnormals, the largest and smallest finite values, values near where ``exp`` and ``pow``
overflow, integer min/max). ``make_inputs(args, seed)`` draws, for every array, an edge density
(sometimes zero, so plain values are compared too) and fills that share of the elements from
the dtype's edge list. Everything depends only on ``seed`` and the specs, so an input seed
recorded with a failure rebuilds the exact arrays; this module imports NumPy and ml_dtypes only.

A compiled program meets several input sets (``input_set(args, seed, index)``), each with a
profile (``InputProfile``): the mixed draw above, ordinary values only, edge values only,
values near overflow, and subnormal-heavy values. Set 0 is the mixed set of ``make_inputs``,
so a seed's first input set is what it always was.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from enum import Enum
from functools import cache

import ml_dtypes
import numpy as np
from numpy.typing import DTypeLike

from fuzzjax.dtypes import real_dtype
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
    "int64": np.dtype(np.int64),
    "uint64": np.dtype(np.uint64),
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
    if name == "float64":
        values += _FLOAT64_EXTRA
    with np.errstate(over="ignore"):
        cast = np.array(values, dtype=np.float64).astype(np_dtype(name))
    return tuple(float(v) for v in cast.astype(np.float64))


_F32 = np.finfo(np.float32)
#: float64 edges beyond the shared list (x64 programs only, so 32-bit draws are unchanged):
#: the neighbourhood of 1 (1 - eps/2 and 1 + eps are adjacent to 1), the integers where
#: float64 stops being exact (2**53) and where int32/int64/uint64 casts overflow, and the
#: float32 limits (the float64 -> float32 cast rounds, overflows or underflows there).
_FLOAT64_EXTRA: list[float] = [
    1.0 + 2.0**-52,
    1.0 - 2.0**-53,
    -(1.0 + 2.0**-52),
    2.0**53,
    2.0**53 + 2.0,
    -(2.0**53),
    2.0**31,
    -(2.0**31) - 1.0,
    2.0**63,
    -(2.0**63),
    2.0**64,
    float(_F32.max),
    float(np.nextafter(_F32.max, np.inf, dtype=np.float64)),
    float(_F32.tiny),
    float(_F32.smallest_subnormal),
    float(_F32.smallest_subnormal) / 2,
    1e-300,
    1e300,
    float(np.exp(1.0)),
]


@cache
def int_edges(name: str) -> tuple[int, ...]:
    info = np.iinfo(np_dtype(name))
    lo, hi = int(info.min), int(info.max)
    values = {lo, lo + 1, hi, hi - 1, 0, 1, 2, 7, 8, 31, 32}
    if lo < 0:
        values |= {-1, -2, lo // 2, hi // 2 + 1}
    if info.bits == 64:  # 32-bit overflow edges, and where float64 stops being exact
        values |= {2**31, 2**32, 2**53 + 1, 63, 64}
        values |= {-(2**31) - 1, -(2**53) - 1} if lo < 0 else {2**63}
    return tuple(sorted(v for v in values if lo <= v <= hi))


def derive_input_seed(program_seed: int, run_seed: int = 0) -> int:
    """The input seed recorded with a program: independent of the program's own choices."""
    return zlib.crc32(f"inputs:{run_seed}:{program_seed}".encode())


def sampled(what: str, seed: int, percent: int) -> bool:
    """Whether seed ``seed`` gets the sampled check ``what``: a stable draw, ``percent`` % of
    seeds (the eager and unfused-O0 oracles, each transformation oracle)."""
    return zlib.crc32(f"{what}:{seed}".encode()) % 100 < percent


class InputProfile(str, Enum):
    """What an input set's values look like."""

    MIXED = "mixed"  # an edge-value share drawn per array, from none to all (make_inputs)
    RANDOM = "random"  # ordinary values only
    SPECIAL = "special"  # every element an edge value
    OVERFLOW = "overflow"  # near overflow: +-max, exp/pow thresholds, INT_MIN/INT_MAX
    SUBNORMAL = "subnormal"  # subnormals, signed zeros, the smallest normals; small integers


#: The profile of input set ``k`` is ``PROFILE_CYCLE[k % len(PROFILE_CYCLE)]``.
PROFILE_CYCLE: tuple[InputProfile, ...] = tuple(InputProfile)
#: Share of near-overflow / subnormal values in those profiles' arrays (the rest is ordinary).
FOCUS_DENSITY = 0.75


def input_profile(index: int) -> InputProfile:
    return PROFILE_CYCLE[index % len(PROFILE_CYCLE)]


def input_seed(program_seed: int, index: int, run_seed: int = 0) -> int:
    """The seed of input set ``index`` of a program (set 0: ``derive_input_seed``)."""
    if index == 0:
        return derive_input_seed(program_seed, run_seed)
    return zlib.crc32(f"inputs:{run_seed}:{program_seed}:{index}".encode())


def input_set(
    args: Sequence[ArgSpec], program_seed: int, index: int, run_seed: int = 0
) -> list[np.ndarray]:
    """Input set ``index`` of a program: its profile's values, from its own seed."""
    seed = input_seed(program_seed, index, run_seed)
    return make_inputs(args, seed, input_profile(index))


def make_inputs(
    args: Sequence[ArgSpec], seed: int, profile: InputProfile = InputProfile.MIXED
) -> list[np.ndarray]:
    """Concrete values for ``args``: the same arrays for the same (specs, seed, profile)."""
    rng = np.random.default_rng(seed)
    return [make_array(spec.dtype, spec.shape, rng, profile) for spec in args]


def make_array(
    dtype: str,
    shape: tuple[int, ...],
    rng: np.random.Generator,
    profile: InputProfile = InputProfile.MIXED,
) -> np.ndarray:
    size = int(np.prod(shape, dtype=np.int64))
    if profile is InputProfile.MIXED:
        density = float(rng.choice(EDGE_DENSITIES, p=EDGE_DENSITY_WEIGHTS))
    elif profile is InputProfile.RANDOM:
        density = 0.0
    elif profile is InputProfile.SPECIAL:
        density = 1.0
    else:
        density = FOCUS_DENSITY
    flat = _plain(dtype, size, rng)
    edge_at = rng.random(size) < density
    count = int(edge_at.sum())
    if count:
        flat[edge_at] = _edges(dtype, count, rng, profile)
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


def _edges(
    dtype: str, count: int, rng: np.random.Generator, profile: InputProfile = InputProfile.MIXED
) -> np.ndarray:
    target = np_dtype(dtype)
    if dtype == "bool":
        return rng.random(count) < 0.5
    if target.kind in "iu":
        # From an array of the target dtype: a tuple with uint64/int64 extremes would be
        # drawn through float64 and lose them (the same draws either way).
        return rng.choice(np.array(_int_values(dtype, profile), dtype=target), size=count)
    if target.kind == "c":
        edges = np.array(_float_values(real_dtype(dtype), profile))
        real = rng.choice(edges, size=count)
        imag = np.where(rng.random(count) < 0.5, rng.choice(edges, size=count), 0.0)
        return complex_from_parts(real, imag, target)
    return np.array(rng.choice(_float_values(dtype, profile), size=count)).astype(target)


@cache
def _float_values(name: str, profile: InputProfile) -> tuple[float, ...]:
    """The edge values a profile draws from (all of ``float_edges`` unless focused)."""
    edges = float_edges(name)
    fi = finfo(name)
    big, tiny = float(fi.max), float(fi.smallest_normal)
    if profile is InputProfile.OVERFLOW:
        log_max = float(np.log(big))
        near = [big, -big, big / 2, -big / 2, log_max, -log_max, float(np.sqrt(big))]
        near += [float(np.sqrt(big)) * 2, float(np.log2(big)), float(np.cbrt(big))]
        with np.errstate(over="ignore"):
            cast = np.array(near, dtype=np.float64).astype(np_dtype(name)).astype(np.float64)
        return tuple(sorted({float(v) for v in cast if np.isfinite(v)} | {big, -big}))
    if profile is InputProfile.SUBNORMAL:
        small = [v for v in edges if v == 0 or (np.isfinite(v) and abs(v) <= tiny)]
        sub_min = float(fi.smallest_subnormal)
        halfway = float(np.array(tiny / 2, dtype=np.float64).astype(np_dtype(name)))
        return tuple(sorted(set(small) | {sub_min * 3, -sub_min * 3, halfway, -halfway}))
    return edges


@cache
def _int_values(name: str, profile: InputProfile) -> tuple[int, ...]:
    edges = int_edges(name)
    info = np.iinfo(np_dtype(name))
    if profile is InputProfile.OVERFLOW:
        big = {int(info.min), int(info.min) + 1, int(info.max), int(info.max) - 1}
        return tuple(sorted(big | {v for v in edges if abs(v) > 2}))
    if profile is InputProfile.SUBNORMAL:
        return tuple(v for v in edges if -2 <= v <= 2)
    return edges


#: Value classes counted per operation input by fuzz-mode coverage.
VALUE_CLASSES = (
    "nan",
    "posinf",
    "neginf",
    "zero",
    "negzero",
    "subnormal",
    "max",
    "int_min",
    "int_max",
    "normal",
    "true",
    "false",
)


def value_classes(value: np.ndarray) -> set[str]:
    """The classes (``VALUE_CLASSES``) of the elements of an array."""
    x = np.asarray(value)
    if x.size == 0:
        return set()
    if x.dtype == np.bool_:
        return {name for name, hit in (("true", x.any()), ("false", not x.all())) if hit}
    found: set[str] = set()
    if x.dtype.kind in "iu":
        info = np.iinfo(x.dtype)
        found |= {"int_min"} if (x == info.min).any() and info.min < 0 else set()
        found |= {"int_max"} if (x == info.max).any() else set()
        found |= {"zero"} if (x == 0).any() else set()
        if ((x != 0) & (x != info.max) & ((x != info.min) | (info.min == 0))).any():
            found.add("normal")
        return found
    parts = [x.real, x.imag] if x.dtype.kind == "c" else [x]
    fi = finfo(real_dtype(dtype_name(x.dtype)))
    tiny, big = float(fi.smallest_normal), float(fi.max)
    for part in parts:
        wide = np.asarray(part).astype(np.float64)
        magnitude = np.abs(wide)
        checks = {
            "nan": np.isnan(wide),
            "posinf": np.isposinf(wide),
            "neginf": np.isneginf(wide),
            "zero": (wide == 0) & ~np.signbit(wide),
            "negzero": (wide == 0) & np.signbit(wide),
            "subnormal": (wide != 0) & (magnitude < tiny),
            "max": magnitude == big,
            "normal": np.isfinite(wide) & (magnitude >= tiny) & (magnitude < big),
        }
        found |= {k for k, mask in checks.items() if mask.any()}
    return found


def describe(value: np.ndarray) -> dict[str, int]:
    """Counts of edge classes in an array (for reports and tests)."""
    if value.dtype.kind not in "fcV" and value.dtype != np_dtype("bfloat16"):
        return {}
    parts = [value.real, value.imag] if value.dtype.kind == "c" else [value]
    out = {"nan": 0, "posinf": 0, "neginf": 0, "negzero": 0, "subnormal": 0, "max": 0}
    for part in parts:
        wide = np.asarray(part).astype(np.float64)
        fi = finfo(real_dtype(dtype_name(value.dtype)))
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
