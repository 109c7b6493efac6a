"""StableHLO for other platforms without their hardware: ``jax.export`` per platform.

``jax.export.export(jax.jit(f), platforms=(p,))(*specs)`` lowers for ``cpu``, ``cuda``,
``rocm`` and ``tpu`` on a CPU-only machine. Each platform is exported on its own: a
multi-platform export is one module that dispatches on a platform-index argument
(``stablehlo.case`` wherever the lowerings differ), so it gives no per-platform text.

For each platform we keep the canonical text (``fuzzjax.lowering.canonical.canonicalize``), its
hash, its op counts and its ``custom_call`` targets (the LAPACK / cuSOLVER / hipSOLVER / TPU kernels
that make platforms differ), and with ``artifact=True`` the serialized ``Exported``
(``exported.serialize()``, needs ``flatbuffers``: ``pip install 'fuzzjax[export]'``).

A program's platforms *differ* when their canonical hashes are not all equal
(``platforms_differ``). All platform texts come from ``jax.export``, so they compare with each
other; the pair's own ``stablehlo`` stays the ``jax.jit`` lowering (the export text adds the
module attribute ``jax.uses_shape_polymorphism``).

``python -m fuzzjax.lowering.platforms --bench N`` times the extra cost per platform.
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fuzzjax.errors import one_line
from fuzzjax.lowering.canonical import canonicalize, ir_hash, op_counts
from fuzzjax.lowering.lower import LoweringError, LoweringStage

#: Platforms ``jax.export`` lowers for, in the order rows are stored.
PLATFORMS = ("cpu", "cuda", "rocm", "tpu")
#: ``stablehlo.custom_call @target(...)`` (pretty form) or ``call_target_name = "target"``.
_CUSTOM_CALL = re.compile(r'stablehlo\.custom_call @([\w.$-]+)|call_target_name = "([^"]+)"')


class PlatformLoweringError(LoweringError):
    """``jax.export`` failed for one platform (stage ``export:<platform>``)."""

    def __init__(self, platform: str, message: str) -> None:
        self.platform = platform
        super().__init__(LoweringStage.EXPORT, message)

    def label_of(self, stage: LoweringStage) -> str:
        return f"{stage.value}:{self.platform}"


def parse_platforms(text: str) -> tuple[str, ...]:
    """``"cuda,cpu"`` -> ``("cpu", "cuda")`` (``PLATFORMS`` order, no repeats); ValueError."""
    names = [p.strip().lower() for p in text.split(",") if p.strip()]
    if not names:
        raise ValueError(f"--platforms={text!r} must name one or more of {', '.join(PLATFORMS)}")
    unknown = [p for p in names if p not in PLATFORMS]
    if unknown:
        raise ValueError(
            f"--platforms={text!r}: unknown platform {unknown[0]!r} (known: {', '.join(PLATFORMS)})"
        )
    return tuple(p for p in PLATFORMS if p in names)


def custom_call_targets(text: str) -> dict[str, int]:
    """Number of ``custom_call`` ops per target name in StableHLO text."""
    counts: dict[str, int] = {}
    for match in _CUSTOM_CALL.finditer(text):
        name = match.group(1) or match.group(2)
        counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items()))


@dataclass
class PlatformIR:
    """The ``jax.export`` lowering of one program for one platform."""

    platform: str
    stablehlo: str
    platform_hash: str
    op_counts: dict[str, int]
    custom_calls: dict[str, int]
    lower_ms: float
    artifact: bytes | None = None

    def to_row(self) -> dict[str, Any]:
        """The ``platform_ir`` row (without the pair's ``ir_hash``)."""
        return {
            "platform": self.platform,
            "stablehlo": self.stablehlo,
            "platform_hash": self.platform_hash,
            "op_counts": self.op_counts,
            "custom_calls": self.custom_calls,
            "artifact": self.artifact,
            "lower_ms": round(self.lower_ms, 3),
        }


def export_for(fn: Callable[..., Any], specs: Sequence[Any], platform: str) -> Any:
    """``jax.export.Exported`` of ``jax.jit(fn)`` on ``specs`` for one platform."""
    import jax
    from jax import export

    return export.export(jax.jit(fn), platforms=(platform,))(*specs)


def lower_for_platform(
    fn: Callable[..., Any], specs: Sequence[Any], platform: str, *, artifact: bool = False
) -> PlatformIR:
    """Export ``fn`` for ``platform``; ``PlatformLoweringError`` when JAX cannot."""
    start = time.perf_counter()
    try:
        exported = export_for(fn, specs, platform)
        text = canonicalize(exported.mlir_module())
        elapsed = (time.perf_counter() - start) * 1000
        blob = bytes(exported.serialize()) if artifact else None
    except Exception as exc:  # noqa: BLE001 - recorded per platform, never raised raw
        raise PlatformLoweringError(platform, one_line(exc)) from exc
    return PlatformIR(
        platform=platform,
        stablehlo=text,
        platform_hash=ir_hash(text),
        op_counts=op_counts(text),
        custom_calls=custom_call_targets(text),
        lower_ms=elapsed,
        artifact=blob,
    )


def lower_for_platforms(
    fn: Callable[..., Any],
    specs: Sequence[Any],
    platforms: Iterable[str],
    *,
    artifacts: bool = False,
) -> list[PlatformIR]:
    """``lower_for_platform`` for each platform, in order; stops at the first failure."""
    return [lower_for_platform(fn, specs, p, artifact=artifacts) for p in platforms]


def platforms_differ(hashes: Iterable[str]) -> bool:
    """True when the platform texts of one program are not all the same."""
    return len(set(hashes)) > 1


def differing_keys(counts_by_platform: Mapping[str, Mapping[str, int]]) -> list[str]:
    """Keys (op kinds or custom-call targets) whose count is not equal on every platform."""
    keys = sorted({k for counts in counts_by_platform.values() for k in counts})
    return [
        k for k in keys if len({counts.get(k, 0) for counts in counts_by_platform.values()}) > 1
    ]


# ---- benchmark: python -m fuzzjax.lowering.platforms --bench N ----


def bench(n: int, *, seed: int = 0, max_depth: int = 5) -> dict[str, dict[str, float]]:
    """Milliseconds per program of each pipeline stage, ``mean`` and ``median``.

    Keys: ``jit`` (the default lowering: fast path, raw text), ``hlo`` (what ``--hlo`` adds),
    ``<platform>`` (what ``--platforms`` adds per platform: ``lower_for_platform`` on a freshly
    exec'd function, as the pipeline does), ``serialize`` (what ``--export-artifacts`` adds per
    platform, timed on the cpu export). The first ``min(5, n)`` programs are warm-up.
    """
    from fuzzjax.generation.generator import generate
    from fuzzjax.lowering.lower import _hlo_text, load_function, lower_text, specs_of
    from fuzzjax.program import GenOptions

    options = GenOptions(max_depth=max_depth)
    warm = min(5, n)
    times: dict[str, list[float]] = {k: [] for k in ("jit", "hlo", *PLATFORMS, "serialize")}
    for i in range(n + warm):
        program = generate(seed + i, options)
        fn, specs = load_function(program.source), specs_of(program.args)
        sample = {"jit": _timed(lower_text, fn, specs)[1], "hlo": _timed(_hlo_text, fn, specs)[1]}
        fresh = load_function(program.source)
        for platform in PLATFORMS:
            sample[platform] = _timed(lower_for_platform, fresh, specs, platform)[1]
        sample["serialize"] = _timed(export_for(fresh, specs, "cpu").serialize)[1]
        if i >= warm:
            for key, ms in sample.items():
                times[key].append(ms)
    return {
        k: {"mean": statistics.fmean(v), "median": statistics.median(v)}
        for k, v in times.items()
        if v
    }


def _timed(call: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    """``call(*args)`` and its wall time in milliseconds."""
    start = time.perf_counter()
    result = call(*args)
    return result, (time.perf_counter() - start) * 1000


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m fuzzjax.lowering.platforms",
        description="Time jax.export per platform (ms/program) on generated programs.",
    )
    p.add_argument("--bench", type=int, default=50, metavar="N", help="programs (default 50)")
    p.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    p.add_argument("--max-depth", type=int, default=5, help="maximum depth (default 5)")
    args = p.parse_args(argv)
    if args.bench < 1:
        p.error(f"--bench={args.bench} must be >= 1")
    result = bench(args.bench, seed=args.seed, max_depth=args.max_depth)
    print(f"{args.bench} programs, seeds {args.seed}.., max depth {args.max_depth}")
    print(f"{'stage':<10} {'mean ms':>9} {'median ms':>10}")
    for key, t in result.items():
        print(f"{key:<10} {t['mean']:>9.2f} {t['median']:>10.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
