"""Transformation oracles: a program transformed by JAX against the program itself.

The value oracles (``fuzzjax.fuzzing.oracles``) compare one function computed three ways. The
oracles here compare a JAX transformation of the function with what it must equal:

* ``vmap`` (``check_vmap``): ``jax.jit(jax.vmap(f))`` over a stacked batch of input sets equals
  ``jax.jit(f)`` on each input set, within the value oracles' tolerance;
* ``export_roundtrip`` (``check_export_roundtrip``): ``jax.export`` of ``jax.jit(f)``,
  serialized, deserialized and called, gives the same bits as ``jax.jit(f)``;
* ``jvp_vs_vjp`` and ``grad_vs_fd`` (``fuzzjax.fuzzing.transforms_ad``): forward against
  reverse mode, and reverse mode against central differences.

Every oracle returns ``None`` (agrees, not applicable, or inconclusive) or a
``TransformFailure``. Each has an applicability predicate (``vmap_applicable`` ...) that
decides from the program text and its inputs only, never from what the oracle computes; the
oracle checks it first. Pass ``notes=[]`` to learn why an oracle returned ``None``: it appends
one line, ``"not applicable: ..."``, ``"inconclusive: ..."`` (it ran but could not decide) or
``"agree: ..."`` (how sharp the comparison was: ``bitwise``, or the tolerance relative to the
compared size).

A failure of ``jax.jit(f)`` itself is the value oracles' finding (stages ``compile``/``jit``),
so the transformation oracles return ``None`` for it rather than report it twice.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fuzzjax.dtypes import KIND
from fuzzjax.errors import one_line
from fuzzjax.fuzzing.case import Case, Symptom
from fuzzjax.fuzzing.inputs import derive_input_seed, dtype_name, finfo, make_inputs, np_dtype
from fuzzjax.fuzzing.oracles import compare, same_bits
from fuzzjax.fuzzing.transforms_forward import forward_error_bounds, unsupported
from fuzzjax.program import ArgSpec

#: Oracle names; the lead adds them to ``fuzzjax.fuzzing.case.Stage`` with these values.
VMAP = "vmap"
JVP_VS_VJP = "jvp_vs_vjp"
GRAD_VS_FD = "grad_vs_fd"
EXPORT_ROUNDTRIP = "export_roundtrip"
ORACLES: tuple[str, ...] = (VMAP, JVP_VS_VJP, GRAD_VS_FD, EXPORT_ROUNDTRIP)


@dataclass
class TransformFailure:
    """A transformation that disagrees with the function it transforms."""

    oracle: str
    symptom: Symptom
    detail: str  # one line
    index: list[int] | None = None  # first element that differs (vmap: batch index first)


@dataclass(frozen=True)
class Applicability:
    """Whether an oracle applies to a case; falsy with a one-line ``reason`` when it does not."""

    ok: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.ok


APPLICABLE = Applicability(True)


def not_applicable(reason: str) -> Applicability:
    return Applicability(False, reason)


def skip(notes: list[str] | None, kind: str, reason: str) -> None:
    """Record why an oracle returned ``None`` (``kind``: ``not applicable``, ``inconclusive``
    or ``agree``)."""
    if notes is not None:
        notes.append(f"{kind}: {reason}")


def load(case: Case) -> Callable[..., Any]:
    """The program's function (grammar-checked before anything is executed)."""
    from fuzzjax.lowering.lower import load_function

    return load_function(case.source)


def inputs_match(args: Sequence[ArgSpec], inputs: Sequence[np.ndarray]) -> bool:
    """Whether ``inputs`` are arrays of exactly the types ``args`` declare."""
    if len(inputs) != len(args):
        return False
    return all(
        tuple(np.shape(x)) == spec.shape and np.asarray(x).dtype == np_dtype(spec.dtype)
        for spec, x in zip(args, inputs, strict=True)
    )


def batch_inputs(args: Sequence[ArgSpec], seed: int, count: int) -> list[list[np.ndarray]]:
    """``count`` further input sets for ``args`` (edge values included), reproducible from
    ``seed`` (a case's input seed): the batch ``check_vmap`` stacks after the case's own."""
    return [make_inputs(args, derive_input_seed(seed, k + 1)) for k in range(count)]


def plain_inputs(args: Sequence[ArgSpec], seed: int) -> list[np.ndarray]:
    """Edge-free inputs for ``args``: standard normal floats (both parts of a complex), integers
    in -8..8 (0..8 unsigned), random booleans. Fuzz inputs are mostly edge values (NaN, inf,
    the largest finite...), at which derivatives are rarely finite: the autodiff oracles check
    far more programs on these (``scripts/transform_check.py --inputs plain``)."""
    rng = np.random.default_rng(seed)
    out = []
    for spec in args:
        dtype = np_dtype(spec.dtype)
        if dtype.kind == "b":
            out.append(rng.random(spec.shape) < 0.5)
        elif dtype.kind in "iu":
            low = 0 if dtype.kind == "u" else -8
            out.append(rng.integers(low, 9, size=spec.shape).astype(dtype))
        elif dtype.kind == "c":
            parts = rng.standard_normal((2, *spec.shape))
            out.append((parts[0] + 1j * parts[1]).astype(dtype))
        else:
            out.append(rng.standard_normal(spec.shape).astype(dtype))
    return out


def precision(case: Case) -> tuple[float, float, int]:
    """(eps, smallest normal, operation count) of the program: the coarsest float dtype among
    its result, arguments and ``jnp.<dtype>`` spellings, and the number of operations in its
    parse tree plus one (each may round once on the path from input to output)."""
    from fuzzjax.syntax import operation_aliases, parse

    names = {case.result_dtype, *(a.dtype for a in case.args)}
    names |= set(re.findall(r"jnp\.(float16|bfloat16|float32|complex64)\b", case.source))
    reals = {"float32" if KIND[d] == "c" else d for d in names if KIND[d] in "fc"} or {"float32"}
    eps = max(float(finfo(d).eps) for d in reals)
    tiny = max(float(finfo(d).smallest_normal) for d in reals)
    ops = operation_aliases()
    count = sum(1 for t in parse(case.source).iter_subtrees() if t.data in ops)
    return eps, tiny, count + 1


def type_failure(oracle: str, got: np.ndarray, want: np.ndarray) -> TransformFailure | None:
    """A ``wrong_shape``/``wrong_dtype`` failure when ``got`` and ``want`` differ in type."""
    if got.shape != want.shape:
        detail = f"result shape {got.shape}, expected {want.shape}"
        return TransformFailure(oracle, Symptom.WRONG_SHAPE, detail)
    if got.dtype != want.dtype:
        detail = f"result dtype {_name(got.dtype)}, expected {_name(want.dtype)}"
        return TransformFailure(oracle, Symptom.WRONG_DTYPE, detail)
    return None


def _name(dtype: np.dtype) -> str:
    try:
        return dtype_name(dtype)
    except KeyError:
        return str(dtype)


# ---- vmap ---------------------------------------------------------------------------------


#: Where the batch axis goes in one argument: a position in 0..rank, or None (not batched:
#: every example shares the case's value, as a closed-over array would).
Axis = int | None


def vmap_axes(case: Case, seed: int) -> list[Axis]:
    """Random ``in_axes`` for ``case``: for each argument ``None`` with probability 1/4, else
    a position in ``0..rank``; at least one argument is batched. Batching rules take different
    paths for a batch axis that is not leading and for unbatched operands."""
    rng = np.random.default_rng(seed)
    axes: list[Axis] = [
        None if rng.random() < 0.25 else int(rng.integers(0, len(a.shape) + 1)) for a in case.args
    ]
    if case.args and all(a is None for a in axes):
        axes[int(rng.integers(0, len(axes)))] = 0
    return axes


def vmap_applicable(
    case: Case, batch: Sequence[Sequence[np.ndarray]] = (), axes: Sequence[Axis] | None = None
) -> Applicability:
    """``vmap`` needs an argument to map over, input sets of the program's argument types and
    valid ``axes`` (one per argument, at least one not ``None``)."""
    if not case.args:
        return not_applicable("the program has no arguments to map over")
    for inputs in [case.inputs, *batch]:
        if not inputs_match(case.args, inputs):
            return not_applicable("an input set does not match the argument types")
    if axes is not None:
        if len(axes) != len(case.args) or all(a is None for a in axes):
            return not_applicable(f"axes={list(axes)} must batch some of {len(case.args)} args")
        for a, spec in zip(axes, case.args, strict=True):
            if a is not None and not 0 <= a <= len(spec.shape):
                return not_applicable(f"axis {a} is out of range for {spec.name}{spec.shape}")
    return APPLICABLE


def check_vmap(
    case: Case,
    batch: Sequence[Sequence[np.ndarray]],
    *,
    axes: Sequence[Axis] | None = None,
    notes: list[str] | None = None,
) -> TransformFailure | None:
    """``jax.jit(jax.vmap(f, in_axes=axes))`` on the input sets ``[case.inputs, *batch]``
    stacked along a new axis (default: leading, for every argument), against ``jax.jit(f)`` on
    each set: same shape and dtype, and values within the value oracles' tolerance
    (``oracles.compare``: NaN positions, inf signs, ulps per dtype) or within twice the forward
    rounding-error bound of ``f`` at that input set (``transforms_forward``): XLA may sum in
    another order in the batched program, contract ``a*b + c`` into an FMA and flush
    subnormals (intended: jax#12833, xla#41579, jax#16200), so each result may be anywhere
    within its bound. Results the bound cannot limit (after an overflow, through an operation
    without a rule) are not compared. An argument whose axis is ``None`` is not batched: every
    example uses ``case.inputs`` for it.

    Both sides are compiled, so the two differ only by what batching changes: the batching
    rules, and how XLA compiles the batched program.
    """
    ok = vmap_applicable(case, batch, axes)
    if not ok:
        skip(notes, "not applicable", ok.reason)
        return None
    import jax
    import jax.numpy as jnp

    fn = load(case)
    where = list(axes) if axes is not None else [0] * len(case.args)
    sets = [
        [case.inputs[i] if a is None else s[i] for i, a in enumerate(where)]
        for s in [case.inputs, *batch]
    ]
    try:
        compiled = jax.jit(fn)
        singles = [np.asarray(compiled(*[jnp.asarray(x) for x in s])) for s in sets]
    except Exception as exc:  # noqa: BLE001 - the jit stage reports it
        skip(notes, "inconclusive", f"jax.jit(f) raises: {one_line(exc)}")
        return None
    stacked = [
        jnp.asarray(case.inputs[i] if a is None else np.stack([s[i] for s in sets], axis=a))
        for i, a in enumerate(where)
    ]
    try:
        batched = np.asarray(jax.jit(jax.vmap(fn, in_axes=tuple(where)))(*stacked))
    except Exception as exc:  # noqa: BLE001 - every exception is a finding
        detail = f"{one_line(exc)} (in_axes={where}; jax.jit(f) runs on all {len(sets)} sets)"
        return TransformFailure(VMAP, Symptom.EXCEPTION, detail)
    want = np.stack(singles)
    wrong = type_failure(VMAP, batched, want)
    if wrong is not None:
        return wrong
    if same_bits(batched, want):
        skip(notes, "agree", "bitwise")
        return None
    try:
        bounds = np.stack(forward_error_bounds(fn, [[jnp.asarray(x) for x in s] for s in sets]))
    except Exception as exc:  # noqa: BLE001 - a bound we cannot compute is no allowance
        skip(notes, "inconclusive", f"bits differ; no rounding bound: {one_line(exc)}")
        return None
    free = np.isinf(bounds)  # results that may differ entirely (an overflow, an unknown op)
    got, expected = np.where(free, 0, batched), np.where(free, 0, want)
    diff = compare(got, expected, case.result_dtype, atol=np.where(free, 0.0, 2.0 * bounds))
    if diff.symptom is None and not (free & ~_same_elements(batched, want)).any():
        skip(notes, "agree", f"{_bit_summary(batched, want)}; {int(free.sum())} unbounded")
        return None
    if diff.symptom is None:
        rules = sorted(unsupported(jax.make_jaxpr(fn)(*sets[0]).jaxpr))
        why = f"no rule for {', '.join(rules)}" if rules else "after an overflow or a jump"
        skip(notes, "inconclusive", f"bits differ only where the bound is infinite ({why})")
        return None
    detail = f"vmap(in_axes={where}) vs jit per example, {len(sets)} sets: {diff.detail}"
    return TransformFailure(VMAP, diff.symptom, detail, diff.index)


# ---- export round trip --------------------------------------------------------------------


def export_applicable(case: Case) -> Applicability:
    """Serialization needs the optional ``flatbuffers`` package (``pip install
    'fuzzjax[export]'``)."""
    if importlib.util.find_spec("flatbuffers") is None:
        return not_applicable("flatbuffers is not installed: pip install 'fuzzjax[export]'")
    if not inputs_match(case.args, case.inputs):
        return not_applicable("the inputs do not match the argument types")
    return APPLICABLE


def check_export_roundtrip(
    case: Case, *, platforms: Sequence[str] | None = None, notes: list[str] | None = None
) -> TransformFailure | None:
    """``jax.export.export(jax.jit(f), platforms=platforms)(*specs)``, ``.serialize()``,
    ``jax.export.deserialize`` and ``.call(*args)`` against ``jax.jit(f)(*args)``: the same
    bits (NaN payloads included). ``platforms`` defaults to this machine's; more than one (say
    ``("cpu", "cuda")``) exports one module that dispatches on the platform, and the call must
    pick this machine's branch.

    Both sides compile the same StableHLO for the same platform, so any difference, even
    within rounding, means the round trip changed the program. The detail says whether the
    difference is also beyond the value oracles' tolerance.
    """
    ok = export_applicable(case)
    if not ok:
        skip(notes, "not applicable", ok.reason)
        return None
    import jax
    import jax.numpy as jnp
    from jax import export

    fn = load(case)
    args = [jnp.asarray(x) for x in case.inputs]
    try:
        want = np.asarray(jax.jit(fn)(*args))
    except Exception as exc:  # noqa: BLE001 - the jit stage reports it
        skip(notes, "inconclusive", f"jax.jit(f) raises: {one_line(exc)}")
        return None
    specs = [jax.ShapeDtypeStruct(a.shape, jnp.dtype(a.dtype)) for a in case.args]
    step = "export"
    try:
        exported = export.export(jax.jit(fn), platforms=platforms)(*specs)
        step = "serialize"
        blob = exported.serialize()
        step = "deserialize"
        restored = export.deserialize(blob)
        step = "call"
        got = np.asarray(restored.call(*args))
    except Exception as exc:  # noqa: BLE001 - every exception is a finding
        detail = f"{step} raises {one_line(exc)} (jax.jit(f) runs)"
        return TransformFailure(EXPORT_ROUNDTRIP, Symptom.EXCEPTION, detail)
    wrong = type_failure(EXPORT_ROUNDTRIP, got, want)
    if wrong is None and same_bits(got, want):
        skip(notes, "agree", "bitwise")
    if wrong is not None or same_bits(got, want):
        return wrong
    diff = compare(got, want, case.result_dtype)
    if diff.symptom is not None:
        detail = f"deserialized export vs jax.jit: {diff.detail}"
        return TransformFailure(EXPORT_ROUNDTRIP, diff.symptom, detail, diff.index)
    index = first_bit_difference(got, want)
    detail = (
        f"deserialized export vs jax.jit: bits differ (within tolerance) at {index}: "
        f"got {got[tuple(index)]!r}, want {want[tuple(index)]!r}"
    )
    return TransformFailure(EXPORT_ROUNDTRIP, Symptom.WRONG_VALUE, detail, index)


def _same_elements(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    """Elementwise: the same bits."""
    width = got.dtype.itemsize
    a = np.array(got).reshape(-1).view(np.uint8).reshape(-1, width)
    b = np.array(want).reshape(-1).view(np.uint8).reshape(-1, width)
    same: np.ndarray = (a == b).all(axis=1).reshape(got.shape)
    return same


def _bit_summary(got: np.ndarray, want: np.ndarray) -> str:
    """``bitwise``, or how many elements agree only within tolerance."""
    differ = int((~_same_elements(got, want)).sum())
    return (
        "bitwise" if not differ else f"{differ}/{got.size} elements within tolerance, not bitwise"
    )


def first_bit_difference(got: np.ndarray, want: np.ndarray) -> list[int]:
    """The index of the first element whose bytes differ (arrays of one shape and dtype)."""
    first = int(np.argmax(~_same_elements(got, want).reshape(-1)))
    return [int(i) for i in np.unravel_index(first, got.shape)]
