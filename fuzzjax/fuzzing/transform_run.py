"""The transformation oracles in the fuzz loop: which run for a seed, on which inputs, and what a
failure records so that its ``repro.py`` can check it again.

Each oracle (``vmap``, ``jvp_vs_vjp``, ``grad_vs_fd``, ``export_roundtrip``: see
``fuzzjax.fuzzing.transforms``) runs on a stable, seed-derived share of the programs
(``fuzz --transforms PERCENT``, each oracle drawn on its own), after the value oracles passed:
a program the value oracles already reject is not checked again. ``vmap`` stacks two more
fuzz-mode input sets after the failing-or-first one; the autodiff oracles run on edge-free
inputs (``transforms.plain_inputs``), at which derivatives are finite; the export round trip
runs on the first input set. What an oracle needs beyond the case (the batch, the axes, the
probe seed) is the ``extra`` record, stored in ``meta.json`` as ``transform`` and embedded in
``repro.py``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from fuzzjax.fuzzing.case import Case, Stage, decode_array, encode_array
from fuzzjax.fuzzing.inputs import derive_input_seed, sampled
from fuzzjax.fuzzing.transforms import (
    TransformFailure,
    batch_inputs,
    check_export_roundtrip,
    check_vmap,
    plain_inputs,
    vmap_axes,
)
from fuzzjax.fuzzing.transforms_ad import check_grad_vs_fd, check_jvp_vs_vjp

#: The transformation stages, in the order they run (cheapest first).
TRANSFORM_STAGES = (Stage.EXPORT_ROUNDTRIP, Stage.VMAP, Stage.GRAD_VS_FD, Stage.JVP_VS_VJP)
#: More input sets ``vmap`` stacks after the case's own.
VMAP_EXTRA_SETS = 2


@dataclass
class TransformFinding:
    """A transformation oracle that disagrees: its failure, the case it ran on, its extras."""

    stage: Stage
    failure: TransformFailure
    case: Case
    extra: dict[str, Any]


def planned(seed: int, percent: int) -> list[Stage]:
    """The transformation oracles seed ``seed`` gets: each one on ``percent`` % of seeds."""
    return [s for s in TRANSFORM_STAGES if sampled(s.value, seed, percent)]


def prepare(stage: Stage, case: Case, seed: int) -> tuple[Case, dict[str, Any]]:
    """The case an oracle runs on, and the extras it needs (JSON-able)."""
    if stage is Stage.VMAP:
        batch = batch_inputs(case.args, derive_input_seed(seed), VMAP_EXTRA_SETS)
        axes = vmap_axes(case, seed)
        encoded = [[encode_array(x) for x in inputs] for inputs in batch]
        return case, {"batch": encoded, "axes": axes}
    if stage in (Stage.JVP_VS_VJP, Stage.GRAD_VS_FD):
        return replace(case, inputs=plain_inputs(case.args, seed)), {"seed": seed}
    return case, {}


def check(
    stage: Stage, case: Case, extra: dict[str, Any], notes: list[str] | None = None
) -> TransformFailure | None:
    """Run one transformation oracle on ``case`` with its ``extra`` record."""
    if stage is Stage.VMAP:
        batch = [[decode_array(list(x)) for x in inputs] for inputs in extra["batch"]]
        return check_vmap(case, batch, axes=extra["axes"], notes=notes)
    if stage is Stage.JVP_VS_VJP:
        return check_jvp_vs_vjp(case, seed=int(extra["seed"]), notes=notes)
    if stage is Stage.GRAD_VS_FD:
        return check_grad_vs_fd(case, seed=int(extra["seed"]), notes=notes)
    if stage is Stage.EXPORT_ROUNDTRIP:
        return check_export_roundtrip(case, notes=notes)
    raise ValueError(f"{stage.value} is not a transformation stage")


def run_transforms(
    case: Case, seed: int, percent: int, tell: Callable[[Stage], None]
) -> tuple[TransformFinding | None, Counter[str]]:
    """The planned oracles on ``case`` (the seed's first input set) until one disagrees;
    with the count of oracles that applied (ran and compared, or were inconclusive)."""
    counts: Counter[str] = Counter()
    for stage in planned(seed, percent):
        tell(stage)
        subject, extra = prepare(stage, case, seed)
        notes: list[str] = []
        failure = check(stage, subject, extra, notes)
        if failure is None and notes and notes[-1].startswith("not applicable"):
            continue
        counts[stage.value] += 1
        if failure is not None:
            return TransformFinding(stage, failure, subject, extra), counts
    return None, counts


def transform_literal(extra: object) -> dict[str, Any] | None:
    """A stored ``extra`` record rebuilt from checked types (for ``repro.py``), or None."""
    if not isinstance(extra, dict):
        return None
    out: dict[str, Any] = {}
    seed = extra.get("seed")
    if isinstance(seed, int) and not isinstance(seed, bool):
        out["seed"] = seed
    axes = extra.get("axes")
    if isinstance(axes, list) and all(a is None or type(a) is int for a in axes):
        out["axes"] = list(axes)
    batch = extra.get("batch")
    if isinstance(batch, list):
        try:
            out["batch"] = [[_spec(x) for x in inputs] for inputs in batch]
        except (TypeError, ValueError):
            return None
    return out


def _spec(x: object) -> list[Any]:
    """One encoded array ``[dtype, shape, hex]`` with checked types."""
    if not isinstance(x, list | tuple) or len(x) != 3:
        raise ValueError("not an encoded array")
    dtype, shape, data = x
    if not isinstance(dtype, str) or not isinstance(data, str) or not isinstance(shape, list):
        raise ValueError("not an encoded array")
    if not all(type(d) is int for d in shape):
        raise ValueError("not an encoded array")
    bytes.fromhex(data)
    return [dtype, list(shape), data]


def recheck(
    stage: str,
    source: str,
    args: list[tuple[str, list[int], str]],
    inputs: list[list[Any]],
    result: tuple[str, list[int]],
    extra: dict[str, Any],
    *,
    x64: bool = False,
) -> str | None:
    """``repro.py``'s check of a transformation bucket: the oracle's one-line failure, or
    ``None`` once it agrees (or no longer applies). Only grammar text is run."""
    from fuzzjax.fuzzing.runner import program_mode
    from fuzzjax.program import ArgSpec
    from fuzzjax.syntax import ensure_valid

    ensure_valid(source)
    specs = [ArgSpec(name, tuple(shape), dtype) for name, shape, dtype in args]
    arrays = [decode_array(list(x)) for x in inputs]
    case = Case(source, tuple(specs), arrays, result[0], tuple(result[1]), x64=x64)
    notes: list[str] = []
    with program_mode(x64):
        failure = check(Stage(stage), case, extra, notes)
    if failure is None:
        print(notes[-1] if notes else "agrees")
        return None
    return f"{failure.oracle} {failure.symptom.value}: {failure.detail}"
