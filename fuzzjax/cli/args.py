"""Argument parsing shared by the commands: one parser class, one ``--db``, one options builder.

Every value from the command line is checked here, once, and turned into the typed value the
library takes (``GenOptions``, paths, finite positive numbers). A bad value raises
``UsageError`` (a ``FuzzjaxError``), which ``fuzzjax.cli.main`` prints as one line, exit 2.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

from fuzzjax.errors import FuzzjaxError, InvalidArgument

if TYPE_CHECKING:
    from fuzzjax.program import GenOptions

DEFAULT_DB = "corpus/fuzzjax.sqlite"
DEFAULT_FAILURES = "corpus/failures"
CATEGORY_CHOICES = ("arithmetic", "math", "array", "control_flow", "combined")
#: Largest integer a flag takes unless it says otherwise: what SQLite can store.
MAX_INTEGER = (1 << 63) - 1
#: Most worker processes a command starts (more is a typo, not a machine).
MAX_WORKERS = 256
#: Longest time limit a flag takes (about three years; Python's waits refuse much more).
MAX_SECONDS = 1e8


class UsageError(FuzzjaxError):
    """Bad command-line input: reported as one line on stderr with exit code 2."""


class ArgParser(argparse.ArgumentParser):
    """argparse that raises ``UsageError`` (one line, exit 2) instead of printing usage."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def integer(name: str, minimum: int = 1, maximum: int = MAX_INTEGER) -> Callable[[str], int]:
    """An argparse type: an integer in ``minimum..maximum`` (by default < 2**63, what SQLite
    can store). Digits only: ``1e3``, ``0x10`` and ``1_000`` are refused."""

    def parse(text: str) -> int:
        digits = text.strip()
        if not re.fullmatch(r"[+-]?[0-9]{1,40}", digits):
            raise argparse.ArgumentTypeError(f"{name}={text[:60]!r} is not an integer")
        value = int(digits)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{name}={value} must be >= {minimum}")
        if value > maximum:
            bound = "< 2**63" if maximum == MAX_INTEGER else f"<= {maximum}"
            raise argparse.ArgumentTypeError(f"{name}={value} must be {bound}")
        return value

    return parse


def seconds(name: str, maximum: float = MAX_SECONDS) -> Callable[[str], float]:
    """An argparse type: a finite number of seconds in (0, ``maximum``] (``nan``, ``inf``,
    0 and negative numbers are refused)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name}={text[:60]!r} is not a number") from None
        if not math.isfinite(value) or value <= 0:
            raise argparse.ArgumentTypeError(f"{name}={text} must be a finite number > 0")
        if value > maximum:
            raise argparse.ArgumentTypeError(f"{name}={text} must be <= {maximum:g}")
        return value

    return parse


def workers_flag(minimum: int) -> Callable[[str], int]:
    """``--workers``: ``minimum``..``MAX_WORKERS`` processes."""
    return integer("--workers", minimum, MAX_WORKERS)


def db_parent(help: str = f"corpus file (default {DEFAULT_DB})") -> argparse.ArgumentParser:
    """A parent parser holding the one ``--db`` option every corpus command takes."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--db", default=DEFAULT_DB, help=help)
    return parent


def add_gen_options(
    p: argparse.ArgumentParser,
    *,
    defaults: bool = True,
    max_depth: int = 5,
    max_rank: int = 8,
    x64: bool = True,
) -> None:
    """``--max-depth``, ``--min-depth``, ``--max-rank``, ``--profile`` (and ``--x64``);
    ``defaults=False`` leaves them ``None`` when not given, so a caller can tell an explicit
    value."""

    def d(value: Any) -> Any:
        return value if defaults else None

    p.add_argument(
        "--max-depth",
        type=integer("--max-depth"),
        default=d(max_depth),
        help=f"maximum expression depth (default {max_depth})",
    )
    p.add_argument(
        "--min-depth",
        type=integer("--min-depth"),
        default=d(1),
        help="minimum expression depth (default 1)",
    )
    p.add_argument(
        "--max-rank",
        type=integer("--max-rank", 0),
        default=d(max_rank),
        help=f"maximum array rank (default {max_rank})",
    )
    if x64:
        p.add_argument(
            "--x64",
            action="store_true",
            default=d(False),
            help="x64 mode: float64/int64/complex128 programs with JAX's x64 promotion and "
            "defaults, each lowered under jax.enable_x64(True) (default off)",
        )
    p.add_argument(
        "--profile",
        choices=("breadth", "realistic"),
        default=None,
        help="how grammar alternatives are drawn: breadth (default: every alternative alike, "
        "what fuzzing wants) or realistic (with the frequencies of real JAX code, "
        "data/real_usage.json)",
    )


def depth_weights(spec: str | None, lo: int, hi: int) -> tuple[int, ...]:
    """``--depth-dist``: uniform (default), linear, geometric, or comma-separated weights."""
    if spec in (None, "uniform"):
        return ()
    depths = range(lo, hi + 1)
    if spec == "linear":
        return tuple(d for d in depths)
    if spec == "geometric":
        return tuple(2 ** (d - lo) for d in depths)
    try:
        return tuple(int(w) for w in spec.split(","))
    except ValueError:
        raise UsageError(
            f"--depth-dist={spec!r} must be uniform, linear, geometric or weights like 1,2,4"
        ) from None


def gen_options(args: argparse.Namespace, **extra: Any) -> GenOptions:
    """The ``GenOptions`` of parsed arguments, built and validated once.

    Only the options present on ``args`` (and not ``None``) are taken; ``extra`` adds fields
    that have no flag of their own. Errors name the flag, not the field.
    """
    from fuzzjax.program import GenOptions

    fields: dict[str, Any] = {}
    for name in ("max_depth", "min_depth", "max_rank", "x64", "max_elements", "profile"):
        value = getattr(args, name, None)
        if value is not None:
            fields[name] = value
    balanced, category = getattr(args, "balanced", None), getattr(args, "category", None)
    if balanced and category:
        raise UsageError("--balanced and --category exclude each other")
    if balanced:
        fields["balanced"] = True
    if category:
        fields["category"] = category
    spec = getattr(args, "depth_dist", None)
    if spec is not None:
        lo = fields.get("min_depth", GenOptions.min_depth)
        hi = fields.get("max_depth", GenOptions.max_depth)
        fields["depth_weights"] = depth_weights(spec, lo, hi)
    fields.update(extra)
    try:
        return GenOptions(**fields)
    except InvalidArgument as exc:
        if exc.argument == "depth_weights":
            raise UsageError(f"--depth-dist: {exc}") from None
        raise UsageError("--" + str(exc).replace("_", "-", 1)) from None
