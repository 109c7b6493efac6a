"""The fuzz-campaign part of a report, read from a failures folder (``fuzzjax fuzz --out``).

Reads each bucket folder's ``meta.json`` (``fuzzjax.fuzzing.folders``) and the run's
``summary.json`` and ``benign.json``. Everything read is untrusted: fields of the wrong type
are shown as missing, links that are not ``http(s)://`` are dropped, a folder whose
``meta.json`` is missing or broken is listed with the reason instead of raising. Optional keys
(``verdict``, ``upstream`` ``{url, title}``, ``first_seen``, ``last_seen``) are shown when
present. Nothing here runs any recorded program.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fuzzjax.errors import FuzzjaxError
from fuzzjax.report.values import InputView, describe_input, got_and_want

#: meta.json files larger than this are not read (a bucket's meta is a few kilobytes).
MAX_META_BYTES = 20_000_000
#: What the oracles compare, per stage: (actual, expected) labels of ``got``/``want``.
COMPARED = {
    "jit_vs_eager": ("jit", "eager (op by op)"),
    "vs_numpy": ("jit", "NumPy reference"),
    "determinism": ("second jit run", "first jit run"),
}


@dataclass
class Bucket:
    """One failure bucket as the report shows it (every field already checked)."""

    index: int
    folder: str
    key: str
    stage: str
    symptom: str
    ops: str
    dtype: str
    hits: int | None
    first_seen: str
    last_seen: str
    verdict: str
    upstream_url: str | None
    upstream_title: str
    seeds: list[int]
    program: str
    original_program: str
    result: str
    inputs: list[InputView]
    compared: tuple[str, str, str, str, str] | None  # index, actual label+value, expected
    detail: str
    command: str
    repro_command: str
    shrink: str
    versions: str


@dataclass
class BenignRule:
    rule: str
    count: int | None
    reason: str
    link: str | None
    example_seeds: list[int]


@dataclass
class FailuresPart:
    """The fuzz-campaign part: buckets, unreadable folders, the run summary, benign counts."""

    root: str
    buckets: list[Bucket] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    run: dict[str, str] = field(default_factory=dict)
    benign: list[BenignRule] = field(default_factory=list)

    @property
    def hits(self) -> int:
        return sum(b.hits or 0 for b in self.buckets)

    def has(self, what: str) -> bool:
        """Whether any bucket has ``what`` ("seen", "verdict", "upstream"): a column for it."""
        if what == "seen":
            return any(b.first_seen or b.last_seen for b in self.buckets)
        if what == "verdict":
            return any(b.verdict for b in self.buckets)
        return any(b.upstream_url or b.upstream_title for b in self.buckets)


def text(value: Any, limit: int = 20_000) -> str:
    """A stored value as text ("" when missing), at most ``limit`` characters."""
    if value is None:
        return ""
    if isinstance(value, str):
        out = value
    elif isinstance(value, (bool, int, float)):
        out = str(value)
    else:
        out = json.dumps(value, sort_keys=True, default=str)
    return out if len(out) <= limit else out[:limit] + f"... ({len(out)} characters)"


def integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def http_url(value: Any) -> str | None:
    """``value`` if it is an absolute http(s) URL without spaces or control characters."""
    if not isinstance(value, str) or len(value) > 2000:
        return None
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    return value if parts.scheme in ("http", "https") and parts.netloc else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _seeds(value: Any) -> list[int]:
    return [s for s in value if integer(s) is not None][:20] if isinstance(value, list) else []


def _shrink_text(shrink: dict[str, Any]) -> str:
    before, after = integer(shrink.get("ops_before")), integer(shrink.get("ops_after"))
    if before is not None and after is not None:
        extra = []
        if isinstance(shrink.get("seconds"), (int, float)):
            extra.append(f"{float(shrink['seconds']):.1f} s")
        if integer(shrink.get("candidates")) is not None:
            extra.append(f"{shrink['candidates']} candidates")
        return f"{before} -> {after} operations" + (f" ({', '.join(extra)})" if extra else "")
    status = text(shrink.get("status"), 200)
    return f"not shrunk ({status})" if status else "not shrunk"


def _inputs(case: dict[str, Any], folder: Path) -> list[InputView]:
    args, specs = _list(case.get("args")), _list(case.get("inputs"))
    views = []
    for i, spec in enumerate(specs[:64]):
        arg = _dict(args[i]) if i < len(args) else {}
        views.append(describe_input(text(arg.get("name"), 100) or f"#{i}", spec, folder))
    return views


def read_bucket(index: int, folder: Path, meta: dict[str, Any]) -> Bucket:
    """A ``Bucket`` from one folder's parsed ``meta.json``."""
    sig = _dict(meta.get("signature"))
    shrunk, original = _dict(meta.get("shrunk")), _dict(meta.get("original"))
    ops = sig.get("ops")
    stage = text(sig.get("stage", meta.get("stage")), 100)
    upstream = _dict(meta.get("upstream"))
    dtype = text(original.get("result_dtype"), 40) or None
    detail = text(meta.get("detail"), 4000)
    compared = None
    found = got_and_want(detail, dtype)
    if found is not None:
        actual, expected = COMPARED.get(stage, ("actual", "expected"))
        compared = (found[0], actual, found[1], expected, found[2])
    versions = _dict(meta.get("versions"))
    shape = shrunk.get("result_shape")
    return Bucket(
        index=index,
        folder=folder.name,
        key=text(meta.get("key"), 300) or folder.name,
        stage=stage,
        symptom=text(sig.get("symptom", meta.get("symptom")), 100),
        ops="+".join(text(o, 100) for o in ops) if isinstance(ops, list) else text(ops, 300),
        dtype=text(sig.get("dtype"), 100),
        hits=integer(meta.get("hits")),
        first_seen=text(meta.get("first_seen"), 40),
        last_seen=text(meta.get("last_seen"), 40),
        verdict=text(meta.get("verdict"), 60),
        upstream_url=http_url(upstream.get("url")),
        upstream_title=text(upstream.get("title"), 300),
        seeds=_seeds(meta.get("seeds")),
        program=text(shrunk.get("source")),
        original_program=text(original.get("source")),
        result=f"{text(shrunk.get('result_dtype'), 40)}{text(shape, 200)}",
        inputs=_inputs(shrunk, folder),
        compared=compared,
        detail=detail,
        command=text(meta.get("command"), 4000),
        repro_command=text(meta.get("repro_command"), 4000),
        shrink=_shrink_text(_dict(meta.get("shrink"))),
        versions=", ".join(f"{text(k, 40)} {text(v, 100)}" for k, v in versions.items()),
    )


def _read_json(path: Path) -> Any:
    if path.stat().st_size > MAX_META_BYTES:
        raise ValueError(f"larger than {MAX_META_BYTES} bytes")
    return json.loads(path.read_text(encoding="utf-8"))


def _benign(data: Any) -> list[BenignRule]:
    rules = []
    for rule, entry in sorted(_dict(data).items()):
        entry = _dict(entry)
        rules.append(
            BenignRule(
                rule=text(rule, 200),
                count=integer(entry.get("count")),
                reason=text(entry.get("reason"), 2000),
                link=http_url(entry.get("link")),
                example_seeds=_seeds(entry.get("example_seeds")),
            )
        )
    return sorted(rules, key=lambda r: -(r.count or 0))


def _run(data: Any) -> dict[str, str]:
    summary = _dict(data)
    keys = ("programs", "passed", "failures", "seconds", "worker_restarts", "command")
    return {k: text(summary[k], 4000) for k in keys if k in summary}


def gather_failures(root: Path) -> FailuresPart:
    """The fuzz-campaign part of a report for the failures folder ``root``.

    Raises ``FuzzjaxError`` when ``root`` is not a folder or holds no bucket folders and no
    ``summary.json``.
    """
    if not root.is_dir():
        raise FuzzjaxError(f"--failures {root} is not a folder")
    part = FailuresPart(str(root))
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    for folder in folders:
        try:
            meta = _read_json(folder / "meta.json")
            if not isinstance(meta, dict):
                raise ValueError("meta.json is not a JSON object")
        except FileNotFoundError:
            part.unreadable.append((folder.name, "no meta.json"))
            continue
        except (OSError, ValueError) as exc:
            part.unreadable.append((folder.name, f"{type(exc).__name__}: {exc}"[:300]))
            continue
        part.buckets.append(read_bucket(len(part.buckets), folder, meta))
    part.run = _run(_optional_json(root / "summary.json", part))
    part.benign = _benign(_optional_json(root / "benign.json", part))
    if not part.buckets and not part.unreadable and not (root / "summary.json").is_file():
        raise FuzzjaxError(
            f"--failures {root} holds no failure folders and no summary.json "
            "(write one with `python -m fuzzjax fuzz --out DIR`)"
        )
    part.buckets.sort(key=lambda b: (-(b.hits or 0), b.key))
    for index, bucket in enumerate(part.buckets):
        bucket.index = index
    return part


def _optional_json(path: Path, part: FailuresPart) -> Any:
    """The parsed file, or None when it is missing or unreadable (then listed as such)."""
    if not path.is_file():
        return None
    try:
        return _read_json(path)
    except (OSError, ValueError) as exc:
        part.unreadable.append((path.name, f"{type(exc).__name__}: {exc}"[:300]))
        return None
