"""Failure folders: a stand-alone ``repro.py``, ``meta.json`` and the program text per bucket.

``repro.py`` imports only jax and numpy. It embeds the program text, the exact input bytes and
(for NumPy mismatches) the reference result, re-runs the failing stage, prints the mismatch and
exits 1 while the failure is there, 0 once it is gone. ``meta.json`` records the seed, input
seed, versions, platform, stage, symptom, tolerances, original and shrunk source, the hit count
and the command that reproduces the finding.
"""

from __future__ import annotations

import json
import platform
import sys
import threading
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from fuzzjax.fuzzing.diagnose import Case, Signature
from fuzzjax.fuzzing.inputs import dtype_name, np_dtype
from fuzzjax.fuzzing.oracles import TOLERANCE_ULP, Stage
from fuzzjax.fuzzing.reference import evaluate
from fuzzjax.program import ArgSpec


def encode_array(x: np.ndarray) -> list[Any]:
    x = np.asarray(x)
    return [dtype_name(x.dtype), list(x.shape), x.tobytes().hex()]


def decode_array(spec: list[Any]) -> np.ndarray:
    dtype, shape, data = spec
    return np.frombuffer(bytes.fromhex(data), dtype=np_dtype(dtype)).reshape(shape).copy()


def case_to_json(case: Case, *, with_inputs: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "source": case.source,
        "args": [a.to_json() for a in case.args],
        "result_dtype": case.result_dtype,
        "result_shape": list(case.result_shape),
    }
    if with_inputs:
        out["inputs"] = [encode_array(x) for x in case.inputs]
    return out


def case_from_json(obj: dict[str, Any]) -> Case:
    return Case(
        obj["source"],
        tuple(ArgSpec.from_json(a) for a in obj["args"]),
        [decode_array(x) for x in obj["inputs"]],
        obj["result_dtype"],
        tuple(obj["result_shape"]),
    )


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in ("jax", "jaxlib", "numpy", "ml_dtypes", "fuzzjax"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "unknown"
    return found


def platform_info() -> dict[str, str]:
    return {"platform": platform.platform(), "machine": platform.machine()}


def program_text(case: Case, header: list[str]) -> str:
    """Program text with a ``# signature:`` line that ``fuzzjax shrink`` can read back."""
    ins = ", ".join(f"{a.name}: {a.dtype}{list(a.shape)}" for a in case.args)
    lines = [f"# {h}" for h in header]
    lines.append(f"# signature: ({ins}) -> {case.result_dtype}{list(case.result_shape)}")
    return "\n".join(lines) + "\n" + case.source


def repro_text(case: Case, sig: Signature, *, command: str, timeout: float) -> str:
    reference = ftz = undefined = None
    if sig.stage is Stage.VS_NUMPY:
        ev = evaluate(case.source, case.inputs)
        reference = encode_array(np.asarray(ev.result.value))
        alt = encode_array(np.asarray(evaluate(case.source, case.inputs, ftz=True).result.value))
        ftz = alt if alt != reference else None
        masks = list(ev.result.undefined.values())
        if masks:
            shape = np.shape(ev.result.value)
            union = np.any([np.broadcast_to(m, shape) for m in masks], axis=0)
            undefined = encode_array(np.asarray(union))
    values = {
        "KEY": sig.key(),
        "COMMAND": command,
        "SOURCE": repr(case.source),
        "STAGE": repr(sig.stage.value),
        "SYMPTOM": repr(sig.symptom.value),
        "RESULT": repr((case.result_dtype, list(case.result_shape))),
        "INPUTS": "[\n" + "".join(f"    {encode_array(x)!r},\n" for x in case.inputs) + "]",
        "REFERENCE": repr(reference),
        "REFERENCE_FTZ": repr(ftz),
        "UNDEFINED": repr(undefined),
        "ULP": repr(TOLERANCE_ULP),
        "TIMEOUT": repr(timeout),
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
import faulthandler
import sys

import numpy as np
import jax
import jax.numpy as jnp
from jax import lax

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


def array(spec):
    dtype, shape, data = spec
    return np.frombuffer(bytes.fromhex(data), dtype=jnp.dtype(dtype)).reshape(shape).copy()


def ordered(x, dtype):
    width = np.int16 if dtype in ("float16", "bfloat16") else np.int32
    bits = np.asarray(x).astype(jnp.dtype(dtype)).view(width).astype(np.int64)
    magnitude = bits & ((1 << (8 * np.dtype(width).itemsize - 1)) - 1)
    return np.where(bits < 0, -magnitude, magnitude)


def close(got, want, dtype):
    got, want = np.asarray(got), np.asarray(want)
    if dtype == "complex64":  # per part, or within the budget in ulps of |want|
        parts = close(got.real, want.real, "float32") & close(got.imag, want.imag, "float32")
        with np.errstate(all="ignore"):
            g, w = got.astype(np.complex128), want.astype(np.complex128)
            finite = np.isfinite(g) & np.isfinite(w)
            eps = float(np.finfo(np.float32).eps)
            normwise = finite & (np.abs(g - w) <= ULP["complex64"] * eps * np.abs(w))
        infinite = lambda z: np.isinf(z.real) | np.isinf(z.imag)  # noqa: E731  (C99 Annex G)
        return parts | normwise | (infinite(got) & infinite(want))
    if dtype not in ULP:
        return got == want
    g, w = got.astype(np.float64), want.astype(np.float64)
    gnan, wnan = np.isnan(g), np.isnan(w)
    ulp = np.abs(ordered(got, dtype) - ordered(want, dtype))
    return (gnan & wnan) | (~gnan & ~wnan & ((ulp <= ULP[dtype]) | (g == w)))


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


def main():
    namespace = {"jax": jax, "jnp": jnp, "lax": lax}  # what fuzzjax programs may name
    exec(SOURCE, namespace)
    f = namespace["f"]
    args = [jnp.asarray(array(spec)) for spec in INPUTS]
    print(SOURCE.strip())
    print(f"stage={STAGE} symptom={SYMPTOM} jax={jax.__version__}")
    if SYMPTOM == "hang":
        # A watchdog thread that needs no GIL: XLA holds it while a compiled program runs.
        print(f"a hang is reproduced if this is still running after {TIMEOUT} s (exit 1)")
        sys.stdout.flush()
        faulthandler.dump_traceback_later(TIMEOUT, exit=True)
    if STAGE == "reference":
        print("the NumPy reference of fuzzjax failed: a fuzzjax bug, not reproducible here")
        return 2
    try:
        if STAGE == "eager":
            with jax.disable_jit():
                out = np.asarray(f(*args))
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
    if STAGE == "vs_numpy":
        allowed = array(UNDEFINED) if UNDEFINED else None
        if REFERENCE_FTZ:
            ftz_ok = close(out, array(REFERENCE_FTZ), RESULT[0])
            allowed = ftz_ok if allowed is None else allowed | ftz_ok
        return 1 if mismatch(out, array(REFERENCE), allowed) else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''


_TEMPLATE = _template()


def write_folder(
    folder: Path,
    *,
    sig: Signature,
    original: Case,
    shrunk: Case,
    meta: dict[str, Any],
    command: str,
    timeout: float,
) -> None:
    """Create or refresh one bucket folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "repro.py").write_text(repro_text(shrunk, sig, command=command, timeout=timeout))
    (folder / "program.py").write_text(program_text(shrunk, [f"fuzzjax bucket {sig.key()}"]))
    header = [f"original program of bucket {sig.key()}"]
    (folder / "original.py").write_text(program_text(original, header))
    full = {
        "signature": sig.to_json(),
        "key": sig.key(),
        "stage": sig.stage.value,
        "symptom": sig.symptom.value,
        "versions": versions(),
        **platform_info(),
        "tolerances_ulp": TOLERANCE_ULP,
        "command": command,
        "repro_command": f"{Path(sys.executable).name} {folder / 'repro.py'}",
        "original": case_to_json(original, with_inputs=False),
        "shrunk": case_to_json(shrunk),
        **meta,
    }
    write_meta(folder, full)


def write_meta(folder: Path, meta: dict[str, Any]) -> None:
    tmp = folder / "meta.json.tmp"
    tmp.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    tmp.replace(folder / "meta.json")


def read_meta(folder: Path) -> dict[str, Any]:
    return dict(json.loads((folder / "meta.json").read_text()))


class BucketStore:
    """Bucket folders under ``root``, keyed by ``Signature.key()``; persists across runs.

    Thread-safe: the fuzz loop counts hits while a background thread writes shrunk cases.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.folders = {p.name: p for p in root.iterdir() if (p / "meta.json").exists()}
        self.lock = threading.Lock()

    def hit(self, key: str, seed: int) -> None:
        with self.lock:
            folder = self.folders[key]
            meta = read_meta(folder)
            meta["hits"] = int(meta.get("hits", 0)) + 1
            meta["seeds"] = (list(meta.get("seeds", [])) + [seed])[:20]
            write_meta(folder, meta)

    def add(self, sig: Signature, meta: dict[str, Any], **files: Any) -> Path:
        """Create the folder of ``sig``, or rewrite it keeping its hit count and seeds."""
        folder = self.root / sig.key()
        with self.lock:
            if (folder / "meta.json").exists():
                old = read_meta(folder)
                meta = {**meta, "hits": old.get("hits", 0), "seeds": old.get("seeds", [])}
            write_folder(folder, sig=sig, meta={"hits": 0, "seeds": [], **meta}, **files)
            self.folders[sig.key()] = folder
        return folder


def replay_folder(folder: Path, *, ir: bool = False) -> int:
    """``fuzzjax replay FOLDER``: print the shrunk program, then run its repro.py.

    Returns repro.py's exit code: 1 while the failure reproduces, 0 once it is gone.
    """
    import subprocess

    meta = read_meta(folder)
    sys.stdout.write(program_text(case_from_json(meta["shrunk"]), [f"bucket {meta['key']}"]))
    print(f"# found by: {meta.get('command', '?')}")
    if ir:
        from fuzzjax.lowering.lower import load_function, lower_text, specs_of

        shrunk = case_from_json(meta["shrunk"])
        print(lower_text(load_function(shrunk.source), specs_of(shrunk.args)))
    sys.stdout.flush()
    return subprocess.call([sys.executable, str(folder / "repro.py")], cwd=folder)


def write_run_summary(
    out: Path, report: dict[str, Any], benign: dict[str, int], examples: dict[str, list[int]]
) -> None:
    """``summary.json`` (the run) and ``benign.json`` (accepted differences, per rule)."""
    from fuzzjax.fuzzing.benign import REGISTRY

    rules = {
        rule: {"count": n, "reason": REGISTRY[rule].reason, "link": REGISTRY[rule].link,
               "example_seeds": examples.get(rule, [])}
        for rule, n in sorted(benign.items())
    }  # fmt: skip
    (out / "benign.json").write_text(json.dumps(rules, indent=2) + "\n")
    (out / "summary.json").write_text(json.dumps(report, indent=2) + "\n")
