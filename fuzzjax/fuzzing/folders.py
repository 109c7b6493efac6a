"""Failure folders: one per bucket, with ``repro.py``, ``program.py``, ``original.py`` and
``meta.json``, plus the run's ``summary.json`` and ``benign.json``.

``meta.json`` records the seed, input seed, versions, platform, stage, symptom, tolerances,
original and shrunk source, the hit count and the command that reproduces the finding.
"""

from __future__ import annotations

import json
import platform
import sys
import threading
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from fuzzjax.fuzzing.case import Case, Signature, case_from_json, case_to_json
from fuzzjax.fuzzing.oracles import TOLERANCE_ULP
from fuzzjax.fuzzing.repro import program_text, repro_text


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


def utc_now() -> str:
    """The current time as ISO-8601 UTC (``first_seen``/``last_seen`` in meta.json)."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


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
            meta["last_seen"] = utc_now()
            write_meta(folder, meta)

    def add(self, sig: Signature, meta: dict[str, Any], **files: Any) -> Path:
        """Create the folder of ``sig``, or rewrite it keeping its hit count, seeds and times."""
        folder = self.root / sig.key()
        with self.lock:
            now = utc_now()
            if (folder / "meta.json").exists():
                old = read_meta(folder)
                kept = ("hits", "seeds", "first_seen", "last_seen")
                meta = {**meta, **{k: old[k] for k in kept if k in old}}
            first = {"hits": 0, "seeds": [], "first_seen": now, "last_seen": now}
            write_folder(folder, sig=sig, meta={**first, **meta}, **files)
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
