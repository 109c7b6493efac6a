"""Failure signatures: (stage, symptom, ops involved, dtype), and the localisation behind them.

``diagnose(case)`` runs the oracles on one case and turns the outcome into a ``Diagnosis``: a
``Signature`` for a real failure, or the ids of the ``fuzzjax.fuzzing.benign`` rules that explain
every difference. For value mismatches ``blame`` finds the operation at fault: it runs each
operation alone (as a one-call program whose arguments are the reference values of its
operands) in post-order, and the first that disagrees with its reference is the culprit. The
signature then names that one operation and its dtypes, so the same bug found in different
programs lands in the same bucket, and the isolated program is the first shrinking candidate.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np

from fuzzjax.dtypes import KIND, real_dtype
from fuzzjax.fuzzing import benign as registry
from fuzzjax.fuzzing.case import VALUE_SYMPTOMS, Case, Signature, Stage, Symptom
from fuzzjax.fuzzing.inputs import finfo
from fuzzjax.fuzzing.oracles import Failure, compare
from fuzzjax.fuzzing.referee import ACCEPTED, Ruling, referee, referee_tag
from fuzzjax.fuzzing.reference import Evaluation, NodeEval, Val, evaluate
from fuzzjax.fuzzing.reference.values import x64 as reference_x64
from fuzzjax.fuzzing.runner import O0_OPTIONS, check_program, program_mode, rewrite_tolerance
from fuzzjax.program import ArgSpec
from fuzzjax.syntax import aliases_used, parse

#: Localisation runs at most this many operations alone.
MAX_BLAME_NODES = 40


class Status(str, Enum):
    """The verdict on one case."""

    PASS = "pass"
    BENIGN = "benign"  # every difference is explained by a fuzzjax.fuzzing.benign rule
    FAIL = "fail"


@dataclass
class Diagnosis:
    """A case's verdict: a failure ``signature``, or the benign rules that explain it."""

    signature: Signature | None
    benign: list[str] = field(default_factory=list)
    detail: str = ""
    culprit: Case | None = None
    index: list[int] | None = None
    #: The high-precision referee's ruling on a localised ``vs_numpy`` failure (JSON form).
    ruling: dict[str, Any] | None = None

    @property
    def status(self) -> Status:
        if self.signature is not None:
            return Status.FAIL
        return Status.BENIGN if self.benign else Status.PASS


def dtype_label(node: NodeEval) -> str:
    """``out`` for same-dtype operations, else ``in1,in2->out`` (weak literals left out)."""
    ins = sorted({v.dtype for _, v in node.args if not v.weak})
    return node.val.dtype if ins == [node.val.dtype] else f"{','.join(ins)}->{node.val.dtype}"


def isolate(source: str, node: NodeEval) -> Case:
    """The one-call program of ``node``: array operands become parameters, literals stay."""
    start, end = node.tree.meta.start_pos, node.tree.meta.end_pos
    pieces: list[str] = []
    args: list[ArgSpec] = []
    inputs: list[np.ndarray] = []
    cursor = start
    for child, val in node.args:
        if child.data == "literal":
            continue
        name = f"x{len(args)}"
        pieces.append(source[cursor : child.meta.start_pos] + name)
        cursor = child.meta.end_pos
        args.append(ArgSpec(name, tuple(np.shape(val.value)), val.dtype))
        inputs.append(np.asarray(val.value))
    body = "".join(pieces) + source[cursor:end]
    body = re.sub(r"(?<![\w.\]])\((x\d+)\)", r"\1", body)
    text = f"def f({', '.join(a.name for a in args)}):\n    return {body}\n"
    shape = tuple(np.shape(node.val.value))
    return Case(text, tuple(args), inputs, node.val.dtype, shape, x64=reference_x64())


#: Operations whose rounding error grows with an inner size n: sums, products, contractions.
#: Method forms (``x.sum()``: ``m_sum``), keyword forms (``where=``: ``sum_where``) and lax
#: contractions belong with their function forms.
SUMMING = {
    "sum", "mean", "average", "nansum", "nanmean", "sum_dtype", "mean_dtype", "cumsum",
    "nancumsum", "cumsum_dtype", "op_matmul", "matmul", "dot", "outer", "inner", "vdot", "kron",
    "tensordot", "einsum", "conv", "sum_pool", "trace", "matrix_power",
    "m_sum", "m_mean", "m_dot", "m_trace", "m_cumsum", "sum_where", "mean_where", "matmul_pet",
    "dot_general", "dot_general_pet", "conv_dilated", "segment_sum", "scatter_add",
}  # fmt: skip
PRODUCTS = {"prod", "nanprod", "prod_dtype", "cumprod", "nancumprod", "m_prod"}
SPREAD = {"var", "std", "nanvar", "nanstd", "norm", "m_var", "m_std", "norm_ord"}
LOG_SUMS = {"logsumexp", "sp_logsumexp", "softmax", "log_softmax", "logaddexp", "logaddexp2"}
CONDITIONED = {"det", "inv", "solve", "cholesky", "eigh"}
CONDITIONED |= {"scipy_solve", "cho_solve", "solve_triangular"}
#: Discrete Fourier transforms along the last axis: every output sums a whole row.
FOURIER = {"fft", "ifft", "rfft", "irfft"}


def accumulation_atol(source: str, node: NodeEval) -> np.ndarray | None:
    """Absolute error bound of operations whose error grows with size or conditioning."""
    alias, dtype = node.alias, node.val.dtype
    if KIND.get(dtype, "") not in "fc":
        return None
    eps = float(finfo(real_dtype(dtype)).eps)
    arrays = [_abs_wide(v) for _, v in node.args if not v.weak]
    result = _abs_wide(node.val)
    n = max(2, sum(a.size for a in arrays) // max(1, result.size))
    with np.errstate(all="ignore"):
        if alias in SUMMING:
            return 8 * n * eps * _magnitude(source, node)
        if alias in PRODUCTS:
            return 8 * n * eps * result
        if alias in SPREAD:
            scale = np.sqrt(np.mean(arrays[0] ** 2)) if arrays[0].size else 0.0
            return 8 * n * eps * (result + scale + scale**2)
        if alias in LOG_SUMS:
            return 8 * n * eps * (1 + result)
        if alias in FOURIER:
            row = arrays[0].sum(axis=-1, keepdims=True)
            n = max(2, arrays[0].shape[-1], result.shape[-1])
            return np.broadcast_to(8 * n * eps * row, result.shape).copy()
        if alias in CONDITIONED:
            x = np.asarray(node.args[0][1].value).astype(np.complex128)
            cond = float(np.max(np.linalg.cond(x))) if x.ndim >= 2 else 1.0
            if alias == "cho_solve":  # x is the Cholesky factor F of the system F F^H
                cond = cond**2
            scale = float(np.max(result, initial=0) + 1)
            return np.full(result.shape, 16 * n * eps * max(cond, 1.0) * scale)
    return None


def allowance(source: str, node: NodeEval) -> np.ndarray | None:
    """Absolute error accepted for ``node`` on its own: accumulation and input rounding."""
    bounds = [b for b in (accumulation_atol(source, node), node.val.slack) if b is not None]
    if not bounds:
        return None
    return np.maximum(*bounds) if len(bounds) == 2 else bounds[0]


def _magnitude(source: str, node: NodeEval) -> np.ndarray:
    """The operation applied to the magnitudes of its operands (for error bounds)."""
    from fuzzjax.fuzzing.reference import IMPL, Interp

    vals = [
        Val(_abs_wide(v).astype(np.asarray(v.value).dtype), v.dtype) if not v.weak else v
        for _, v in node.args
    ]
    with np.errstate(all="ignore"):
        out = IMPL[node.alias](Interp(source, {}, False), node.tree, vals)
    return _abs_wide(out)


def _abs_wide(val: Val) -> np.ndarray:
    x = np.asarray(val.value)
    return np.abs(x.astype(np.complex128 if KIND.get(val.dtype, "f") == "c" else np.float64))


def _run_alone(case: Case, how: Stage = Stage.JIT) -> np.ndarray:
    """The isolated case run compiled (``JIT``), unoptimised (``O0``) or eagerly (``EAGER``)."""
    import jax
    import jax.numpy as jnp

    from fuzzjax.lowering.lower import load_function

    fn = load_function(case.source)
    args = [jnp.asarray(x) for x in case.inputs]
    if how is Stage.EAGER:
        with jax.disable_jit():
            return np.asarray(fn(*args))
    if how is Stage.O0:
        lowered = jax.jit(fn).lower(*args)
        return np.asarray(lowered.compile(compiler_options=O0_OPTIONS)(*args))
    return np.asarray(jax.jit(fn)(*args))


#: The execution a jit result is compared with, per stage of JAX's own paths.
_OTHER_PATH = {Stage.JIT_VS_EAGER: Stage.EAGER, Stage.JIT_VS_O0: Stage.O0}


def blame(
    source: str, evaluation: Evaluation, stage: Stage
) -> tuple[NodeEval, Case, Symptom, np.ndarray] | None:
    """The first operation (post-order) that disagrees on its own, with its isolated case
    and its compiled result."""
    for node in [n for n in evaluation.nodes if n.args][:MAX_BLAME_NODES]:
        case = isolate(source, node)
        try:
            got = _run_alone(case)
            if stage in _OTHER_PATH:
                diff = compare(got, _run_alone(case, _OTHER_PATH[stage]), case.result_dtype)
            else:
                diff = compare(
                    got, np.asarray(node.val.value), case.result_dtype,
                    undefined=node.val.undefined, atol=allowance(source, node),
                    alternative=lambda c=case: _ftz_result(c),  # type: ignore[misc]
                )  # fmt: skip
        except Exception:  # noqa: BLE001 - an operation that fails alone is not the culprit here
            continue
        if diff.symptom is not None and got.shape == tuple(case.result_shape):
            return node, case, diff.symptom, got
    return None


def _bound(evaluation: Evaluation, dtype: str) -> float:
    """The chain's rounding bound (``rewrite_tolerance``), for bounded benign rules."""
    tolerance = rewrite_tolerance(evaluation, dtype)
    return float(tolerance) if tolerance is not None else 0.0


def _ftz_result(case: Case) -> np.ndarray:
    return np.asarray(evaluate(case.source, case.inputs, ftz=True).result.value)


def diagnose(
    case: Case,
    *,
    on_stage: Callable[[Stage], None] | None = None,
    benign: bool = True,
    o0: bool = True,
) -> Diagnosis:
    """Run the oracles on ``case`` and classify the outcome (failure signature or benign);
    ``benign=False`` applies no benign explanation or rule (``fuzz --no-benign``), ``o0=False``
    skips the unoptimised executable."""
    run = check_program(
        case.source,
        case.inputs,
        case.result_dtype,
        case.result_shape,
        on_stage=on_stage,
        o0=o0,
        explain=benign,
        x64=case.x64,
    )
    return classify(case, run.failure, run.explained, benign=benign, on_stage=on_stage)


def classify(
    case: Case,
    failure: Failure | None,
    explained_tags: dict[str, int],
    *,
    benign: bool = True,
    on_stage: Callable[[Stage], None] | None = None,
) -> Diagnosis:
    """A failure of ``case`` (its inputs are the failing input set) as a bucket signature,
    localised to one operation where possible, or the benign rules that explain it.
    ``on_stage(Stage.REFEREE)`` is called before the referee runs (a worker's breadcrumb)."""
    with program_mode(case.x64):
        return _classify(case, failure, explained_tags, benign=benign, on_stage=on_stage)


def _classify(
    case: Case,
    failure: Failure | None,
    explained_tags: dict[str, int],
    *,
    benign: bool,
    on_stage: Callable[[Stage], None] | None,
) -> Diagnosis:
    if failure is None:
        return Diagnosis(None, sorted(explained_tags))
    tree = parse(case.source)
    ops = tuple(sorted(aliases_used(tree)))
    program_sig = Signature(failure.stage, failure.symptom, ops, case.result_dtype)
    if failure.symptom is Symptom.EXCEPTION:
        said: dict[str, object] = {
            "stage": failure.stage.value,
            "aliases": ops,
            "detail": failure.detail,
        }
        rule = registry.match(registry.MatchedBy.EXCEPTION, said) if benign else None
        if rule is not None:
            return Diagnosis(None, [rule.id], failure.detail)
    if failure.symptom not in VALUE_SYMPTOMS:
        return Diagnosis(program_sig, detail=failure.detail)
    try:
        evaluation = evaluate(case.source, case.inputs)
    except Exception:  # noqa: BLE001 - no reference, no localisation
        return Diagnosis(program_sig, detail=failure.detail, index=failure.index)
    explained = sorted(failure.explained)
    facts: registry.Facts = {
        "stage": failure.stage.value,
        "aliases": ops,
        "dtypes": sorted({n.val.dtype for n in evaluation.nodes} | {a.dtype for a in case.args}),
        "symptom": failure.symptom.value,
        "max_error": failure.max_error,
        "bound": _bound(evaluation, case.result_dtype),
    }
    found = blame(case.source, evaluation, failure.stage)
    if found is None:
        rule = registry.match(registry.MatchedBy.UNLOCALIZED, facts) if benign else None
        if rule is not None:
            return Diagnosis(None, sorted({*explained, rule.id}), failure.detail)
        return Diagnosis(program_sig, explained, failure.detail, index=failure.index)
    node, culprit, symptom, got = found
    sig = Signature(failure.stage, symptom, (node.alias,), dtype_label(node), localized=True)
    if failure.stage is not Stage.VS_NUMPY:
        return Diagnosis(sig, explained, failure.detail, culprit, failure.index)
    if on_stage is not None:
        on_stage(Stage.REFEREE)
    ruling = _referee(culprit, node, got)
    if benign and ruling.verdict in ACCEPTED:
        # The exact value accepts JAX's result (or the math has no single answer): not a
        # failure. Counted like a benign rule, under the referee's verdict and rule.
        tag = referee_tag(ruling)
        return Diagnosis(None, sorted({*explained, tag}), ruling.detail, ruling=ruling.to_json())
    detail = f"{failure.detail}; referee: {ruling.verdict.value} ({ruling.rule}): {ruling.detail}"
    return Diagnosis(sig, explained, detail, culprit, failure.index, ruling.to_json())


def _referee(culprit: Case, node: NodeEval, got: np.ndarray) -> Ruling:
    """The referee's ruling on the isolated culprit; it never raises (see ``referee``).
    NumPy's warnings about the special values it probes are not the user's business."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return referee(culprit, node.alias, got, np.asarray(node.val.value))
