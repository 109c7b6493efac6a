"""Grammar-aware shrinking of a failure to a small program with the same signature.

Passes, each kept only while the failure signature is unchanged (``Signature.kept_by``) and
the case gets smaller (fewer operations, then fewer input elements, then simpler values):

1. the isolated culprit program from localisation (one call whose operands are parameters);
2. the recorded choice sequence (Hypothesis-style: delete blocks, zero, halve choices), replayed
   through ``fuzzjax.generation.generator.replay_choices`` so every candidate is a valid program
   (not for hangs: new inputs lose the trigger, and every hanging candidate costs seconds);
3. tree edits on the parse tree: replace an operation by a same-typed operand, or by a fresh
   parameter holding the operation's reference value;
4. inputs: for elementwise programs, every argument becomes the scalar at the first differing
   element; then values move toward 0/1 and array chunks toward zero.

Candidates run in a crash-isolating worker (``CandidateRunner``), so shrinking a segfault or a
hang is safe. Parameters are renumbered and unused ones dropped after every edit.
"""

from __future__ import annotations

import dataclasses
import pickle
import re
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from lark import Token, Tree

from fuzzjax.fuzzing.case import Case, Signature, Symptom, case_from_json
from fuzzjax.fuzzing.diagnose import isolate
from fuzzjax.fuzzing.folders import read_meta, write_folder
from fuzzjax.fuzzing.inputs import InputProfile, make_inputs
from fuzzjax.fuzzing.meta import check_type
from fuzzjax.fuzzing.reference import CONTROL, evaluate, parse_with_positions
from fuzzjax.fuzzing.task import (
    CANDIDATE_BASE,
    FuzzResult,
    FuzzTaskConfig,
    make_fuzz_task,
    outcome_signature,
)
from fuzzjax.program import ArgSpec, GenOptions
from fuzzjax.rules import table as rules
from fuzzjax.syntax import leaf_name, operation_aliases
from fuzzjax.workers import Pool

_ELEMENTWISE_EXTRA = {"where", "clip", "astype"}
SIMPLE_VALUES = (0, 1, -1, 2, 0.5)
#: Per-candidate time limit while shrinking a hang: a candidate that still runs after this many
#: seconds counts as hanging. Candidates that terminate take well under a second, so this is
#: far from misjudging them, and a hang bucket tries many candidates instead of a few.
HANG_CANDIDATE_SECONDS = 5.0


class Runner(Protocol):
    """What ``shrink`` needs: each candidate's signature, under a settable time limit."""

    def signature(self, case: Case) -> tuple[Signature | None, FuzzResult | None]: ...

    def limit(self, seconds: float | None) -> float: ...


class CandidateRunner:
    """Diagnoses candidate cases in one spawn worker with the fuzz run's limits."""

    def __init__(
        self,
        options: GenOptions,
        timeout: float,
        memory_mb: int | None,
        benign: bool = True,
        o0: bool | None = None,
    ) -> None:
        from fuzzjax.fuzzing.runner import o0_available

        self.timeout = timeout
        self.dir = Path(tempfile.mkdtemp(prefix="fuzzjax-shrink-"))
        o0 = o0_available()[0] if o0 is None else o0
        config = FuzzTaskConfig(
            options.to_json(), str(self.dir), str(self.dir), benign=benign, o0=o0
        )
        self.pool = Pool(make_fuzz_task, config, timeout=timeout, memory_mb=memory_mb)
        self.count = 0

    def signature(self, case: Case) -> tuple[Signature | None, FuzzResult | None]:
        """The candidate's signature, and the worker's result (None if it crashed or hung)."""
        self.count += 1
        (self.dir / f"{self.count}.pkl").write_bytes(pickle.dumps(case))
        (outcome,) = list(self.pool.imap(iter([CANDIDATE_BASE + self.count])))
        return outcome_signature(outcome, case, self.dir), outcome.result

    def limit(self, seconds: float | None) -> float:
        """Set the per-candidate time limit (``None``: the fuzz run's own); return it."""
        self.pool.timeout = self.timeout if seconds is None else min(self.timeout, seconds)
        return self.pool.timeout

    def close(self) -> None:
        self.pool.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def op_count(case: Case) -> int:
    ops = operation_aliases()
    return sum(1 for t in parse_with_positions(case.source).iter_subtrees() if t.data in ops)


def size(case: Case) -> tuple[int, int, float, int]:
    elements = sum(int(np.size(x)) for x in case.inputs)
    return op_count(case), elements, _value_cost(case.inputs), len(case.source)


def _value_cost(inputs: Sequence[np.ndarray]) -> float:
    cost = 0.0
    for x in inputs:
        wide = np.asarray(x).astype(np.complex128).ravel()
        cost += float(np.sum(~np.isin(wide, np.array(SIMPLE_VALUES, dtype=np.complex128))))
    return cost


def shrink(
    case: Case,
    sig: Signature,
    runner: Runner,
    *,
    seconds: float = 60.0,
    culprit: Case | None = None,
    program: Any = None,
    input_seed: int = 0,
    profile: InputProfile = InputProfile.MIXED,
) -> tuple[Case, dict[str, Any]]:
    """A smaller case with the same failure signature, within ``seconds``."""
    deadline = time.monotonic() + seconds
    start, tried, seen = time.monotonic(), 0, {_fingerprint(case)}
    best, best_index = case, None

    def attempt(candidate: Case | None) -> bool:
        nonlocal best, best_index, tried
        if candidate is None or time.monotonic() > deadline:
            return False
        candidate = normalize(candidate)
        key = _fingerprint(candidate)
        if key in seen or size(candidate) >= size(best):
            return False
        seen.add(key)
        tried += 1
        got, result = runner.signature(candidate)
        if sig.kept_by(got):
            best, best_index = candidate, result.index if result else None
            return True
        return False

    hang = sig.symptom == Symptom.HANG
    limit = runner.limit(HANG_CANDIDATE_SECONDS if hang else None)
    try:
        reproduced, first = runner.signature(case)
        stats: dict[str, Any] = {"reproduced": sig.kept_by(reproduced)}
        if hang:
            stats["candidate_seconds"] = limit
        if stats["reproduced"]:
            best_index = first.index if first else None
            # Choice edits regenerate the inputs, which loses the values a hang depends on
            # (INT_MIN into gcd), and each hanging candidate costs seconds: hangs go straight
            # to the tree passes, which keep the inputs.
            culprit_kept = culprit is not None and attempt(culprit)
            if not culprit_kept and program is not None and not hang:
                half = min(deadline, time.monotonic() + seconds / 2)  # time for tree passes
                _choice_passes(program, input_seed, profile, attempt, half)
            _tree_passes(lambda: best, attempt, deadline)
            if best_index is not None and _elementwise_only(best):
                attempt(_scalarize(best, best_index))
            _value_passes(lambda: best, attempt, deadline)
    finally:
        runner.limit(None)
    stats.update({
        "seconds": round(time.monotonic() - start, 2), "candidates": tried,
        "ops_before": op_count(case), "ops_after": op_count(best),
    })  # fmt: skip
    return best, stats


def _fingerprint(case: Case) -> tuple[str, bytes]:
    return case.source, pickle.dumps(
        [(np.asarray(x).dtype.str, np.shape(x), np.asarray(x).tobytes()) for x in case.inputs]
    )


def _choice_passes(
    program: Any, input_seed: int, profile: InputProfile, attempt: Any, deadline: float
) -> None:
    from fuzzjax.generation.generator import replay_choices

    choices = list(program.choices)

    def build(edited: list[int]) -> Case | None:
        try:
            p = replay_choices(edited, program.options)
        except Exception:  # noqa: BLE001 - an edited sequence may not build; skip it
            return None
        inputs = make_inputs(p.args, input_seed, profile)
        return Case(p.source, p.args, inputs, p.result_dtype, p.result_shape, p.options.x64)

    improved = True
    while improved and time.monotonic() < deadline:
        improved = False
        for block in (8, 4, 2, 1):
            i = 0
            while i + block <= len(choices) and time.monotonic() < deadline:
                edited = choices[:i] + choices[i + block :]
                if attempt(build(edited)):
                    choices, improved = edited, True
                else:
                    i += 1
        for i in range(len(choices)):
            for value in {0, choices[i] // 2, choices[i] - 1}:
                if 0 <= value < choices[i]:
                    edited = choices[:i] + [value] + choices[i + 1 :]
                    if attempt(build(edited)):
                        choices, improved = edited, True
                        break


def _tree_passes(current: Any, attempt: Any, deadline: float) -> None:
    improved = True
    while improved and time.monotonic() < deadline:
        improved = False
        case: Case = current()
        try:
            evaluation = evaluate(case.source, case.inputs)
        except Exception:  # noqa: BLE001 - no reference values: tree edits need them
            return
        for node in evaluation.nodes:  # a subtree alone, leaves first: a new root
            if node.args and node.alias not in CONTROL and attempt(isolate(case.source, node)):
                improved = True
                break
        if improved:
            continue
        for node in reversed(evaluation.nodes):  # root first
            node_type = (node.val.dtype, np.shape(node.val.value))
            for child, val in node.args:
                same = child.data != "literal" and (val.dtype, np.shape(val.value)) == node_type
                if same and attempt(_replace(case, node.tree, _text(case.source, child), [])):
                    improved = True
                    break
            if improved:
                break
            if node is not evaluation.nodes[-1]:
                name = f"x{len(case.args)}"
                spec = ArgSpec(name, tuple(np.shape(node.val.value)), node.val.dtype)
                param = [(spec, np.asarray(node.val.value))]
                if attempt(_replace(case, node.tree, name, param)):
                    improved = True
                    break


def _text(source: str, tree: Tree[Token]) -> str:
    text = source[tree.meta.start_pos : tree.meta.end_pos]
    return text if tree.data in ("param", "local") or _atomic(tree) else f"({text})"


def _atomic(tree: Tree[Token]) -> bool:
    from fuzzjax.generation.render import ATOM_LEVEL, level_of

    return tree.data in operation_aliases() and level_of(tree.data) == ATOM_LEVEL


def _replace(
    case: Case, tree: Tree[Token], text: str, extra: list[tuple[ArgSpec, np.ndarray]]
) -> Case:
    source = case.source[: tree.meta.start_pos] + text + case.source[tree.meta.end_pos :]
    args = list(case.args) + [spec for spec, _ in extra]
    inputs = list(case.inputs) + [value for _, value in extra]
    head, _, body = source.partition("):")  # keeps params/batch parameters as declared
    names = [n for n in head.removeprefix("def f(").split(", ") if n]
    names += [spec.name for spec, _ in extra]
    source = f"def f({', '.join(names)}):{body}"
    return Case(source, tuple(args), inputs, case.result_dtype, case.result_shape)


def normalize(case: Case) -> Case:
    """Keep used parameters only, renamed x0, x1, ... in order of first use."""
    tree = parse_with_positions(case.source)
    funcdef = tree.children[0]
    assert isinstance(funcdef, Tree)
    body = [c for c in funcdef.children if isinstance(c, Tree) and c.data != "params"]
    # params["w"] and batch[0] reads become array parameters too (one input each).
    reads = ("param", "param_item")
    uses = [t for b in body for t in b.iter_subtrees_topdown() if t.data in reads]
    if len(body) != 1:
        return case
    order: list[str] = []
    for t in uses:
        if leaf_name(t) not in order:
            order.append(leaf_name(t))
    by_name = {a.name: (a, x) for a, x in zip(case.args, case.inputs, strict=True)}
    rename = {old: f"x{i}" for i, old in enumerate(order)}
    text, cursor = "", body[0].meta.start_pos
    for t in sorted(uses, key=lambda t: t.meta.start_pos):
        text += case.source[cursor : t.meta.start_pos] + rename[leaf_name(t)]
        cursor = t.meta.end_pos
    text += case.source[cursor : body[0].meta.end_pos]
    args = tuple(ArgSpec(rename[n], by_name[n][0].shape, by_name[n][0].dtype) for n in order)
    source = f"def f({', '.join(a.name for a in args)}):\n    return {text}\n"
    inputs = [by_name[n][1] for n in order]
    return Case(source, args, inputs, case.result_dtype, case.result_shape, case.x64)


def _elementwise_only(case: Case) -> bool:
    ops = operation_aliases()
    found = {t.data for t in parse_with_positions(case.source).iter_subtrees() if t.data in ops}
    return all(
        a in _ELEMENTWISE_EXTRA or isinstance(rules.TABLE[a], rules.Elementwise) for a in found
    )


def _scalarize(case: Case, index: Sequence[int]) -> Case:
    """Every argument becomes the 0-d value feeding output element ``index`` (elementwise)."""
    inputs, args = [], []
    for spec, x in zip(case.args, case.inputs, strict=True):
        full = np.broadcast_to(x, case.result_shape)
        inputs.append(np.array(full[tuple(index)]))
        args.append(ArgSpec(spec.name, (), spec.dtype))
    return Case(case.source, tuple(args), inputs, case.result_dtype, (), case.x64)


def _value_passes(current: Any, attempt: Any, deadline: float) -> None:
    case: Case = current()
    for position in range(len(case.inputs)):
        x = np.asarray(current().inputs[position])
        if x.dtype.kind == "b":
            continue
        for value in SIMPLE_VALUES:  # the whole argument at one simple value
            try:
                filled = np.full_like(x, value)
            except (OverflowError, ValueError):  # e.g. -1 for uint8
                continue
            if attempt(_with_input(current(), position, filled)):
                break
        size_now = np.size(current().inputs[position])
        chunk = max(1, size_now // 2)
        while chunk >= 1 and time.monotonic() < deadline:
            x = np.asarray(current().inputs[position])
            for start in range(0, size_now, chunk):
                flat = x.ravel().copy()
                flat[start : start + chunk] = 0
                attempt(_with_input(current(), position, flat.reshape(x.shape)))
            chunk //= 2
            if size_now > 64 and chunk < size_now // 16:
                break


def _with_input(case: Case, position: int, value: np.ndarray) -> Case:
    inputs = list(case.inputs)
    inputs[position] = value.astype(np.asarray(case.inputs[position]).dtype)
    return dataclasses.replace(case, inputs=inputs)


_ARG = re.compile(r"(x\d+): (\w+)\[([\d, ]*)\]")


def load_target(path: Path) -> tuple[Case, Signature | None, dict[str, Any]]:
    """A failure folder (``meta.json``) or a program file with a ``# signature:`` line."""
    if path.is_dir():
        meta = read_meta(path)
        return case_from_json(meta["shrunk"], path), Signature.from_json(meta["signature"]), meta
    lines = path.read_text().splitlines(keepends=True)
    header = [ln for ln in lines if ln.startswith("#")]
    source = "".join(ln for ln in lines if not ln.startswith("#"))
    sig_line = next((ln for ln in header if ln.startswith("# signature:")), None)
    seed_line = next((ln for ln in header if ln.startswith("# input-seed:")), "# input-seed: 0")
    x64 = any(ln.strip() == "# x64: true" for ln in header)
    if sig_line is None:
        raise ValueError(f"{path} has no '# signature: (x0: float32[3]) -> float32[3]' line")
    ins, _, out = sig_line.partition("->")
    args = tuple(ArgSpec(n, _dims(d), t) for n, t, d in _ARG.findall(ins))
    match = re.search(r"(\w+)\[([\d, ]*)\]", out)
    if match is None:
        raise ValueError(f"{path}: cannot read the result type in {sig_line.strip()!r}")
    for a in args:  # before make_inputs allocates them
        check_type(str(path), a.name, a.dtype, a.shape)
    inputs = make_inputs(args, int(seed_line.split(":")[1]))
    return Case(source, args, inputs, match.group(1), _dims(match.group(2)), x64), None, {}


def _dims(text: str) -> tuple[int, ...]:
    return tuple(int(d) for d in text.replace(" ", "").split(",") if d)


def shrink_case(
    case: Case,
    sig: Signature | None,
    *,
    timeout: float,
    memory_mb: int | None,
    seconds: float,
) -> tuple[Signature, Case, dict[str, Any]] | None:
    """Shrink ``case`` in its own worker; ``sig=None`` first finds its signature.

    Returns ``(signature, shrunk case, stats)``, or ``None`` when the case does not fail.
    """
    runner = CandidateRunner(GenOptions(x64=case.x64), timeout, memory_mb)
    try:
        if sig is None:
            sig = runner.signature(case)[0]
            if sig is None:
                return None
        shrunk, stats = shrink(case, sig, runner, seconds=seconds)
    finally:
        runner.close()
    return sig, shrunk, stats


def reshrink_folder(
    path: Path,
    meta: dict[str, Any],
    sig: Signature,
    shrunk: Case,
    stats: dict[str, Any],
    *,
    timeout: float,
) -> None:
    """Rewrite the failure folder ``path`` with a new shrunk case, keeping its history."""
    first = meta["original"]
    first_args = tuple(ArgSpec.from_json(a) for a in first["args"])
    profile = InputProfile(meta.get("input_profile", InputProfile.MIXED.value))
    inputs = make_inputs(first_args, int(meta.get("input_seed", 0)), profile)
    shape = tuple(first["result_shape"])
    x64 = bool(first.get("x64", False))
    original = Case(first["source"], first_args, inputs, first["result_dtype"], shape, x64)
    kept = ("hits", "seeds", "seed", "input_seed", "options", "detail", "first_seen", "last_seen")
    keep = {k: v for k, v in meta.items() if k in kept}
    write_folder(
        path,
        sig=sig,
        original=original,
        shrunk=shrunk,
        meta={**keep, "shrink": stats},
        command=meta.get("command", ""),
        timeout=timeout,
    )
