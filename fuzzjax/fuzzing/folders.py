"""Failure folders: one per bucket, with ``repro.py``, ``program.py``, ``original.py`` and
``meta.json``, plus the run's ``summary.json`` and ``benign.json``.

``meta.json`` records the seed, input seed, versions, platform, stage, symptom, tolerances,
original and shrunk source, the hit count, the repro's time limit and the command that
reproduces the finding. It is the record of truth: the other files are rendered from it
(``folder_texts``), and ``BucketStore`` rewrites any file that no longer matches, so a
tampered ``repro.py`` does not survive the next fuzz run over the folder. Every file is written
under a temporary name and renamed, so a full disk leaves the old file or none, never a
truncated one; a write error is a ``FailureFolderError``. Inputs larger than
``case.INLINE_BYTES`` are kept in ``inputs.npz`` (a record, named in meta.json with its sha256)
and large reference values in ``reference.npz`` (rendered, like repro.py).
"""

from __future__ import annotations

import json
import os
import platform
import sys
import threading
import zipfile
from collections.abc import Callable
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from fuzzjax.errors import FailureFolderError
from fuzzjax.fuzzing.case import (
    INPUTS_FILE,
    REFERENCE_FILE,
    Case,
    Signature,
    case_to_json,
)
from fuzzjax.fuzzing.meta import FolderMeta, load_meta
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


def folder_texts(
    sig: Signature,
    original: Case,
    shrunk: Case,
    *,
    command: str,
    timeout: float,
    referee: dict[str, Any] | None = None,
    transform: dict[str, Any] | None = None,
    side: dict[str, np.ndarray] | None = None,
) -> dict[str, str]:
    """The files of a bucket folder besides ``meta.json``, rendered from its records; with
    ``side``, large reference arrays go there (``REFERENCE_FILE``) instead of into repro.py."""
    header = [f"original program of bucket {sig.key()}"]
    repro = repro_text(
        shrunk,
        sig,
        command=command,
        timeout=timeout,
        referee=referee,
        transform=transform,
        side=side,
    )
    return {
        "repro.py": repro,
        "program.py": program_text(shrunk, [f"fuzzjax bucket {sig.key()}"]),
        "original.py": program_text(original, header),
    }


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
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FailureFolderError(f"cannot create {folder}: {exc.strerror}") from None
    inputs: dict[str, np.ndarray] = {}
    shrunk_json = case_to_json(shrunk, side=inputs)
    references: dict[str, np.ndarray] = {}
    texts = folder_texts(
        sig,
        original,
        shrunk,
        command=command,
        timeout=timeout,
        referee=meta.get("referee"),
        transform=meta.get("transform"),
        side=references,
    )
    for name, arrays in ((INPUTS_FILE, inputs), (REFERENCE_FILE, references)):
        if arrays:  # before meta.json, which names them
            write_arrays(folder / name, arrays)
    for name, text in texts.items():
        write_text(folder / name, text)
    full = {
        "signature": sig.to_json(),
        "key": sig.key(),
        "stage": sig.stage.value,
        "symptom": sig.symptom.value,
        "versions": versions(),
        **platform_info(),
        "tolerances_ulp": TOLERANCE_ULP,
        "command": command,
        "timeout": float(timeout),
        "repro_command": f"{Path(sys.executable).name} {folder / 'repro.py'}",
        "original": case_to_json(original, with_inputs=False),
        "shrunk": shrunk_json,
        **meta,
    }
    write_meta(folder, full)
    for name, arrays in ((INPUTS_FILE, inputs), (REFERENCE_FILE, references)):
        if not arrays:  # left by an earlier record of the bucket: meta.json no longer names it
            (folder / name).unlink(missing_ok=True)


def write_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` (``encode_array``'s side entries) to ``path`` whole or not at all."""

    def save(tmp: Path) -> None:
        with tmp.open("wb") as fh:  # a file object: np.savez would add ".npz" to a name
            np.savez(fh, **arrays)  # type: ignore[arg-type]  # numpy's stub: allow_pickle

    _write_whole(path, save)


def _same_arrays(path: Path, arrays: dict[str, np.ndarray]) -> bool:
    try:
        with np.load(path, allow_pickle=False) as found:
            return sorted(found.files) == sorted(arrays) and all(
                found[k].tobytes() == v.tobytes() for k, v in arrays.items()
            )
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        return False


def write_text(path: Path, text: str) -> None:
    """Write ``path`` whole or not at all."""
    _write_whole(path, lambda tmp: tmp.write_text(text))


def _write_whole(path: Path, write: Callable[[Path], object]) -> None:
    """``write`` a temporary file beside ``path``, then rename it to ``path``."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise FailureFolderError(f"cannot write {path}: {exc.strerror or exc}") from None


def write_meta(folder: Path, meta: dict[str, Any]) -> None:
    write_text(folder / "meta.json", json.dumps(meta, indent=2, sort_keys=True) + "\n")


def utc_now() -> str:
    """The current time as ISO-8601 UTC (``first_seen``/``last_seen`` in meta.json)."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def read_meta(folder: Path) -> dict[str, Any]:
    """``meta.json`` of a failure folder, checked (``fuzzjax.fuzzing.meta.load_meta``)."""
    return load_meta(folder).raw


def repair_folder(folder: Path, meta: FolderMeta) -> bool:
    """Rewrite the files of ``folder`` that differ from what ``meta.json`` renders to.

    Returns True when a file was rewritten (it was edited, truncated or removed).
    """
    references: dict[str, np.ndarray] = {}
    texts = folder_texts(
        meta.sig,
        meta.original,
        meta.shrunk,
        command=meta.command,
        timeout=meta.timeout,
        referee=meta.raw.get("referee"),
        transform=meta.raw.get("transform"),
        side=references,
    )
    stale = []
    if references and not _same_arrays(folder / REFERENCE_FILE, references):
        stale.append(REFERENCE_FILE)
        write_arrays(folder / REFERENCE_FILE, references)
    for name, text in texts.items():
        try:
            same = (folder / name).read_text() == text
        except (OSError, ValueError):
            same = False
        if not same:
            stale.append(name)
            write_text(folder / name, text)
    return bool(stale)


class BucketStore:
    """Bucket folders under ``root``, keyed by ``Signature.key()``; persists across runs.

    Opening checks every existing folder: one whose ``meta.json`` is unreadable or not
    fuzzjax's is left out (``broken``; a new finding of its bucket rewrites it whole), and one
    whose other files differ from what its ``meta.json`` renders to is rewritten
    (``repaired``). Thread-safe: the fuzz loop counts hits while a background thread writes
    shrunk cases.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        try:
            root.mkdir(parents=True, exist_ok=True)
            candidates = sorted(p for p in root.iterdir() if (p / "meta.json").exists())
        except OSError as exc:
            raise FailureFolderError(f"cannot use {root}: {exc.strerror}") from None
        self.folders: dict[str, Path] = {}
        self.broken: list[Path] = []
        self.repaired: list[Path] = []
        for folder in candidates:
            try:
                meta = load_meta(folder)
            except FailureFolderError:
                self.broken.append(folder)
                continue
            if meta.sig.key() != folder.name:
                self.broken.append(folder)
                continue
            if repair_folder(folder, meta):
                self.repaired.append(folder)
            self.folders[folder.name] = folder
        self.lock = threading.Lock()

    def hit(self, key: str, seed: int) -> None:
        with self.lock:
            folder = self.folders[key]
            try:
                meta = dict(json.loads((folder / "meta.json").read_text()))
            except (OSError, ValueError, TypeError):  # changed under us: rewritten on next hit
                del self.folders[key]
                return
            meta["hits"] = int(meta.get("hits", 0)) + 1
            meta["seeds"] = (list(meta.get("seeds", [])) + [seed])[:20]
            meta["last_seen"] = utc_now()
            write_meta(folder, meta)

    def add(self, sig: Signature, meta: dict[str, Any], **files: Any) -> Path:
        """Create the folder of ``sig``, or rewrite it keeping its hit count, seeds and times."""
        folder = self.root / sig.key()
        with self.lock:
            now = utc_now()
            try:
                old = load_meta(folder).raw
                kept = ("hits", "seeds", "first_seen", "last_seen")
                meta = {**meta, **{k: old[k] for k in kept if k in old}}
            except FailureFolderError:  # a new folder, or a broken one: written afresh
                pass
            first = {"hits": 0, "seeds": [], "first_seen": now, "last_seen": now}
            write_folder(folder, sig=sig, meta={**first, **meta}, **files)
            self.folders[sig.key()] = folder
        return folder


def _explanation(rule: str) -> dict[str, str]:
    """The reason and link of a benign rule or of an accepting referee ruling."""
    from fuzzjax.fuzzing.benign import REGISTRY
    from fuzzjax.fuzzing.referee import tag_reason

    said = tag_reason(rule)
    if said is not None:
        return {"reason": said[0], "link": said[1]}
    return {"reason": REGISTRY[rule].reason, "link": REGISTRY[rule].link}


def write_run_summary(
    out: Path, report: dict[str, Any], benign: dict[str, int], examples: dict[str, list[int]]
) -> None:
    """``summary.json`` (the run) and ``benign.json`` (accepted differences, per rule)."""
    rules = {
        rule: {"count": n, **_explanation(rule), "example_seeds": examples.get(rule, [])}
        for rule, n in sorted(benign.items())
    }
    write_text(out / "benign.json", json.dumps(rules, indent=2) + "\n")
    write_text(out / "summary.json", json.dumps(report, indent=2) + "\n")
