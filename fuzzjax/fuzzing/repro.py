"""The stand-alone ``repro.py`` of a failure, and program files ``fuzzjax shrink`` reads back.

``repro.py`` imports only jax and numpy. It embeds the program text, the exact input bytes and
(for NumPy mismatches) the reference result, re-runs the failing stage, prints the mismatch and
exits 1 while the failure is there, 0 once it is gone. Its ulp comparison is a copy of
``fuzzjax.fuzzing.oracles``'s (a repro must not need fuzzjax); a test checks they agree.

Only program text that parses under the fuzzjax grammar is written (``ProgramSyntaxError``
otherwise). Every other stored value is written as a Python literal (``repr``), and the one
free-text field, the command in ``repro.py``'s docstring, is escaped (``docstring_text``), so
no stored string can turn into code.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from fuzzjax.fuzzing.case import (
    INPUTS_FILE,
    REFERENCE_FILE,
    Case,
    Signature,
    Stage,
    encode_array,
)
from fuzzjax.fuzzing.oracles import TOLERANCE_ULP
from fuzzjax.fuzzing.reference import evaluate
from fuzzjax.fuzzing.runner import O0_DEEP_OPTIONS, O0_OPTIONS
from fuzzjax.syntax import ensure_valid


def docstring_text(text: str) -> str:
    """``text`` escaped for a (non-raw) triple-quoted string: quotes, backslashes, newlines and
    non-ASCII characters become escape sequences, so the string cannot end early and reads
    back, at run time, as ``text`` itself."""
    return json.dumps(text)[1:-1]


def comment_text(text: str) -> str:
    """``text`` on one comment line: line breaks and other control characters become spaces."""
    return "".join(c if c.isprintable() else " " for c in text)


def program_text(case: Case, header: list[str]) -> str:
    """Program text with a ``# signature:`` line that ``fuzzjax shrink`` can read back."""
    ensure_valid(case.source)
    ins = ", ".join(f"{a.name}: {a.dtype}{list(a.shape)}" for a in case.args)
    lines = [f"# {comment_text(h)}" for h in header]
    lines.append(f"# signature: ({ins}) -> {case.result_dtype}{list(case.result_shape)}")
    lines += ["# x64: true"] if case.x64 else []  # read back by fuzzjax shrink
    return "\n".join(lines) + "\n" + case.source


#: The referee fields ``repro.py`` shows (as strings: a tampered meta.json cannot inject code).
REFEREE_FIELDS = ("alias", "verdict", "rule", "index", "exact", "jax", "reference", "bound_ulp")


def referee_literal(ruling: object) -> dict[str, str] | None:
    """The fields of a stored ruling that ``repro.py`` prints, as plain strings."""
    if not isinstance(ruling, dict) or not ruling.get("exact"):
        return None
    return {k: comment_text(str(ruling.get(k, "")))[:200] for k in REFEREE_FIELDS}


def repro_text(
    case: Case,
    sig: Signature,
    *,
    command: str,
    timeout: float,
    referee: dict[str, Any] | None = None,
    transform: dict[str, Any] | None = None,
    side: dict[str, np.ndarray] | None = None,
) -> str:
    """``repro.py`` for ``case``; ``referee`` is the high-precision referee's ruling on the
    culprit operation (``Ruling.to_json()``), printed next to JAX's and NumPy's values;
    ``transform`` the extras of a transformation oracle (``fuzzing.transform_run``).

    With ``side`` (a failure folder's repro), arrays over ``INLINE_BYTES`` are not written
    into the text: inputs name the folder's ``INPUTS_FILE`` (``case_to_json`` keeps them
    there, same keys), reference values go into ``side`` for ``REFERENCE_FILE``."""
    from fuzzjax.fuzzing.transform_run import TRANSFORM_STAGES, transform_literal

    ensure_valid(case.source)
    inputs_side: dict[str, np.ndarray] | None = None if side is None else {}

    def ref(x: np.ndarray, key: str) -> list[Any]:
        return encode_array(np.asarray(x), side, key=key, file=REFERENCE_FILE)

    reference = ftz = undefined = None
    if sig.stage is Stage.VS_NUMPY:
        ev = evaluate(case.source, case.inputs, x64=case.x64)
        reference = ref(ev.result.value, "reference")
        alt_eval = evaluate(case.source, case.inputs, ftz=True, x64=case.x64)
        flushed = np.asarray(alt_eval.result.value)
        if flushed.tobytes() != np.asarray(ev.result.value).tobytes():
            ftz = ref(flushed, "reference_ftz")
        masks = list(ev.result.undefined.values())
        if masks:
            shape = np.shape(ev.result.value)
            union = np.any([np.broadcast_to(m, shape) for m in masks], axis=0)
            undefined = ref(np.asarray(union), "undefined")
    values = {
        "KEY": sig.key(),
        "COMMAND": docstring_text(command),
        "SOURCE": repr(case.source),
        "STAGE": repr(sig.stage.value),
        "SYMPTOM": repr(sig.symptom.value),
        "RESULT": repr((case.result_dtype, list(case.result_shape))),
        "INPUTS": "[\n"
        + "".join(
            f"    {encode_array(x, inputs_side, key=f'input{i}', file=INPUTS_FILE)!r},\n"
            for i, x in enumerate(case.inputs)
        )
        + "]",
        "REFERENCE": repr(reference),
        "REFERENCE_FTZ": repr(ftz),
        "UNDEFINED": repr(undefined),
        "ULP": repr(TOLERANCE_ULP),
        "TIMEOUT": repr(float(timeout)),
        "O0": repr([O0_OPTIONS, O0_DEEP_OPTIONS]),
        "REFEREE": repr(referee_literal(referee) if sig.stage is Stage.VS_NUMPY else None),
        "TRANSFORMS": repr(tuple(s.value for s in TRANSFORM_STAGES)),
        "TRANSFORM": repr(transform_literal(transform) if sig.stage in TRANSFORM_STAGES else None),
        "ARGS": repr([(a.name, list(a.shape), a.dtype) for a in case.args]),
        "X64": repr(case.x64),
    }
    text = _TEMPLATE
    for name, value in values.items():
        text = text.replace(f"@{name}@", value)
    return text


def _template() -> str:
    return '''#!/usr/bin/env python3
"""fuzzjax repro for bucket @KEY@

Needs only jax and numpy. Exits 1 while the failure reproduces, 0 once it is gone, and 2
when the program fails in some other way (e.g. raises where a wrong value was recorded).
The fuzz run that found it: @COMMAND@
"""
import ast
import faulthandler
import hashlib
import os
import sys

import numpy as np
import jax
import jax.numpy as jnp
from jax import lax

X64 = @X64@  # an x64 program: JAX's 64-bit types, promotion and defaults
if X64:
    jax.config.update("jax_enable_x64", True)

SOURCE = @SOURCE@
STAGE = @STAGE@
SYMPTOM = @SYMPTOM@
RESULT = @RESULT@  # dtype and shape the typing rules promise
INPUTS = @INPUTS@
REFERENCE = @REFERENCE@  # NumPy reference result (vs_numpy only)
REFERENCE_FTZ = @REFERENCE_FTZ@  # reference with denormals flushed, where it differs
UNDEFINED = @UNDEFINED@  # elements whose value is a convention (not compared)
ULP = @ULP@
TIMEOUT = @TIMEOUT@
O0 = @O0@  # compiler options of the unoptimised executables (HLO passes off by name)
REFEREE = @REFEREE@  # fuzzjax's high-precision (mpmath) ruling on the culprit operation
TRANSFORMS = @TRANSFORMS@  # stages whose oracle (error bounds, probes) is fuzzjax's own
TRANSFORM = @TRANSFORM@  # that oracle's extras: vmap batch and axes, probe seed
ARGS = @ARGS@  # parameter names, shapes and dtypes


def array(spec):
    dtype, shape, data = spec
    if isinstance(data, dict):  # a large array, kept in a file beside this one
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), data["file"])
        try:
            with np.load(path, allow_pickle=False) as arrays:
                raw = arrays[data["key"]].tobytes()
        except (OSError, KeyError, ValueError) as exc:
            print(f"cannot read {data['key']} from {path}: {exc}")
            sys.exit(2)
        if hashlib.sha256(raw).hexdigest() != data["sha256"]:
            print(f"{path} does not hold the recorded {data['key']}")
            sys.exit(2)
    else:
        raw = bytes.fromhex(data)
    return np.frombuffer(raw, dtype=jnp.dtype(dtype)).reshape(shape).copy()


def ordered(x, dtype):
    width = {2: np.int16, 4: np.int32, 8: np.int64}[jnp.dtype(dtype).itemsize]
    bits = np.asarray(x).astype(jnp.dtype(dtype)).view(width).astype(np.int64)
    magnitude = bits & ((1 << (8 * np.dtype(width).itemsize - 1)) - 1)
    return np.where(bits < 0, -magnitude, magnitude)


def close(got, want, dtype, atol=None):
    got, want = np.asarray(got), np.asarray(want)
    if dtype in ("complex64", "complex128"):  # each part within ULP, or within the budget
        real = "float32" if dtype == "complex64" else "float64"  # in ulps of |want|
        with np.errstate(all="ignore"):
            size = np.abs(want.astype(np.complex128))
        scale = np.where(np.isfinite(size), size, 0.0)
        atol = ULP[dtype] * float(np.finfo(real).eps) * scale
        parts = close(got.real, want.real, real, atol)
        parts &= close(got.imag, want.imag, real, atol)
        infinite = lambda z: np.isinf(z.real) | np.isinf(z.imag)  # noqa: E731  (C99 Annex G)
        return parts | (infinite(got) & infinite(want))
    if dtype not in ULP:
        return got == want
    g, w = got.astype(np.float64), want.astype(np.float64)
    gnan, wnan = np.isnan(g), np.isnan(w)
    with np.errstate(all="ignore"):
        ulp = np.abs(ordered(got, dtype) - ordered(want, dtype))
    ok = (gnan & wnan) | (~gnan & ~wnan & ((ulp <= ULP[dtype]) | (g == w)))
    if atol is not None:
        with np.errstate(all="ignore"):
            ok |= ~gnan & ~wnan & (np.abs(g - w) <= atol)
    return ok


def mismatch(got, want, allowed=None):
    dtype = RESULT[0]
    ok = close(got, want, dtype)
    if allowed is not None:
        ok = ok | allowed
    if ok.all():
        return False
    index = tuple(np.argwhere(~ok)[0]) if ok.ndim else ()
    allowed_ulp = ULP.get(dtype, 0)
    print(f"{int((~ok).sum())}/{ok.size} elements differ ({dtype}, {allowed_ulp} ulp allowed)")
    g, w = np.asarray(got)[index], np.asarray(want)[index]
    print(f"  at {list(map(int, index))}: got {g!r}, want {w!r}")
    return True


def flat_inputs(f):
    """``f`` taking one input per ARGS entry: inputs named params['w'] / batch[0] are passed
    as the dict ``params`` / the tuple ``batch`` (in the order of the ``def`` line)."""
    header = SOURCE.partition("):")[0].removeprefix("def f(")
    declared = [n for n in header.split(", ") if n]
    if declared == [name for name, _, _ in ARGS]:
        return f

    def flat(*leaves):
        groups = {n: {} for n in declared}
        for (name, _, _), leaf in zip(ARGS, leaves):
            base, _, key = name.partition("[")
            if key:
                groups[base][ast.literal_eval(key[:-1])] = leaf
            else:
                groups[base] = leaf
        parts = [groups[n] for n in declared]
        return f(*[tuple(p.values()) if n == "batch" else p for n, p in zip(declared, parts)])

    return flat


def main():
    namespace = {"jax": jax, "jnp": jnp, "lax": lax}  # what fuzzjax programs may name
    exec(SOURCE, namespace)
    f = namespace["f"]
    args = [jnp.asarray(array(spec)) for spec in INPUTS]
    f = flat_inputs(f)
    print(SOURCE.strip())
    print(f"stage={STAGE} symptom={SYMPTOM} jax={jax.__version__}")
    if SYMPTOM == "hang":
        # A watchdog thread that needs no GIL: XLA holds it while a compiled program runs.
        print(f"a hang is reproduced if this is still running after {TIMEOUT} s (exit 1)")
        sys.stdout.flush()
        faulthandler.dump_traceback_later(TIMEOUT, exit=True)
    if STAGE in ("reference", "referee"):
        print(f"fuzzjax's own {STAGE} failed: a fuzzjax bug, not reproducible here")
        return 2
    if STAGE in TRANSFORMS:
        # The transformation oracles' tolerances come from fuzzjax's rounding-error bounds.
        try:
            from fuzzjax.fuzzing.transform_run import recheck
        except ImportError:
            print(f"stage {STAGE} needs fuzzjax installed (its oracle's error bounds)")
            return 2
        said = recheck(STAGE, SOURCE, ARGS, INPUTS, RESULT, TRANSFORM or {}, x64=X64)
        print(said or "the transformation agrees")
        return 1 if said else 0
    try:
        if STAGE == "eager":
            with jax.disable_jit():
                out = np.asarray(f(*args))
        elif STAGE in ("o0", "compile_o0"):
            lowered = jax.jit(f).lower(*args)
            outs = [np.asarray(lowered.compile(compiler_options=o)(*args)) for o in O0]
            out = outs[0]
        else:
            lowered = jax.jit(f).lower(*args)
            compiled = lowered.compile()
            out = np.asarray(compiled(*args))
    except Exception as exc:
        print(f"raised {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
        if SYMPTOM == "exception":
            return 1
        print(f"not the recorded failure ({SYMPTOM}): it fails differently")
        return 2
    if SYMPTOM in ("segfault", "abort", "killed", "crash", "hang"):
        print("ran to completion: no crash or hang")
        return 0
    if SYMPTOM == "exception":
        print("no exception")
        return 0
    name = str(out.dtype)
    if (name, list(out.shape)) != (RESULT[0], RESULT[1]):
        print(f"result {name}{list(out.shape)}, expected {RESULT[0]}{RESULT[1]}")
        return 1
    if STAGE == "determinism":
        for _ in range(50):
            again = np.asarray(compiled(*args))
            if again.tobytes() != out.tobytes():
                mismatch(again, out)
                return 1
        return 0
    if STAGE == "jit_vs_eager":
        with jax.disable_jit():
            eager = np.asarray(f(*args))
        return 1 if mismatch(out, eager) else 0
    if STAGE == "jit_vs_o0":  # against either unoptimised executable (fusion on, then off)
        unopt = [np.asarray(lowered.compile(compiler_options=o)(*args)) for o in O0]
        return 1 if any(mismatch(out, u) for u in unopt) else 0
    if STAGE == "vs_numpy":
        allowed = array(UNDEFINED) if UNDEFINED else None
        if REFERENCE_FTZ:
            ftz_ok = close(out, array(REFERENCE_FTZ), RESULT[0])
            allowed = ftz_ok if allowed is None else allowed | ftz_ok
        if REFEREE:
            r = REFEREE
            print(f"referee (mpmath) on {r['alias']} at {r['index']}: exact {r['exact']}, "
                  f"JAX {r['jax']}, NumPy {r['reference']}: {r['verdict']} ({r['rule']}, "
                  f"bound {r['bound_ulp']} ulp)")
        return 1 if mismatch(out, array(REFERENCE), allowed) else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''


_TEMPLATE = _template()
