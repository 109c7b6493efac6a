"""The ``Program`` record: generated source text plus everything needed to rebuild it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from fuzzjax.errors import InvalidArgument

#: The program categories, derived from the grammar families a program uses
#: (``fuzzjax.rules.table.category_of``).
CATEGORIES: tuple[str, ...] = ("arithmetic", "math", "array", "control_flow", "combined")
#: Generation profiles (``fuzzjax.generation.profiles``).
PROFILES: tuple[str, ...] = ("breadth", "realistic")


@dataclass(frozen=True)
class ArgSpec:
    """One function parameter: name, shape and dtype name."""

    name: str
    shape: tuple[int, ...]
    dtype: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "shape": list(self.shape), "dtype": self.dtype}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> ArgSpec:
        return cls(str(obj["name"]), tuple(int(d) for d in obj["shape"]), str(obj["dtype"]))


@dataclass(frozen=True)
class GenOptions:
    """Generation options; recorded with every stored pair so a seed can be replayed."""

    max_depth: int = 5
    min_depth: int = 1
    max_rank: int = 8
    max_elements: int = 65536
    max_params: int = 8
    let_percent: int = 10
    #: Percent chance that an eligible node becomes a scientific kernel
    #: (fuzzjax.generation.kernels).
    kernel_percent: int = 4
    #: Relative weights of depths min_depth..max_depth; empty means uniform.
    depth_weights: tuple[int, ...] = ()
    #: Generate only this category ("" = any); see fuzzjax.rules.table.category_of.
    category: str = ""
    #: Draw the category of each program uniformly (``--balanced category``).
    balanced: bool = False
    #: JAX's x64 mode (``--x64``): float64/int64/complex128 programs, lowered under
    #: ``jax.enable_x64(True)``.
    x64: bool = False
    #: How alternatives are drawn (``--profile``): ``breadth`` (a family, then an alternative,
    #: uniformly: every alternative is exercised) or ``realistic`` (with the frequencies of
    #: real JAX code, ``fuzzjax.generation.profiles``).
    profile: str = "breadth"

    def __post_init__(self) -> None:
        _validate(self)

    def to_json(self) -> str:
        """Sorted-key JSON; ``x64`` is left out when False and ``profile`` when ``breadth``, so
        options recorded before they existed (and their corpora's seed bookkeeping) stay
        byte-identical."""
        fields = asdict(self)
        if not self.x64:
            del fields["x64"]
        if self.profile == "breadth":
            del fields["profile"]
        return json.dumps(fields, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> GenOptions:
        known = set(cls.__dataclass_fields__)
        fields = {k: v for k, v in json.loads(text).items() if k in known}
        if "depth_weights" in fields:
            fields["depth_weights"] = tuple(fields["depth_weights"])
        return cls(**fields)


def _validate(opts: GenOptions) -> None:
    """Raise ``InvalidArgument`` naming the field and value of an out-of-range option."""
    checks = [
        ("max_depth", opts.max_depth, 1, 64),
        ("min_depth", opts.min_depth, 1, opts.max_depth),
        ("max_rank", opts.max_rank, 0, 8),
        ("max_elements", opts.max_elements, 1, 1 << 24),
        ("max_params", opts.max_params, 1, 256),
        ("let_percent", opts.let_percent, 0, 100),
        ("kernel_percent", opts.kernel_percent, 0, 100),
    ]
    if not isinstance(opts.x64, bool):
        raise InvalidArgument("x64", opts.x64, "must be True or False")
    if opts.profile not in PROFILES:
        raise InvalidArgument("profile", opts.profile, f"must be one of {', '.join(PROFILES)}")
    if opts.category and opts.category not in CATEGORIES:
        raise InvalidArgument("category", opts.category, f"must be one of {', '.join(CATEGORIES)}")
    if opts.category == "combined" and opts.max_depth < 2:
        raise InvalidArgument("category", opts.category, "needs max_depth >= 2")
    weights = opts.depth_weights
    if weights:
        span = opts.max_depth - opts.min_depth + 1
        if len(weights) != span or min(weights) < 0 or sum(weights) <= 0:
            raise InvalidArgument(
                "depth_weights",
                list(weights),
                f"must give {span} non-negative weights "
                f"(depths {opts.min_depth}..{opts.max_depth}) with a positive sum",
            )
    for name, value, lo, hi in checks:
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidArgument(name, value, "must be an integer")
        if value < lo:
            raise InvalidArgument(name, value, f"must be >= {lo}")
        if value > hi:
            raise InvalidArgument(name, value, f"must be <= {hi}")


@dataclass(frozen=True)
class Program:
    """A generated program: source text, parameter specs, measured depth and provenance."""

    source: str
    args: tuple[ArgSpec, ...]
    depth: int
    result_dtype: str
    result_shape: tuple[int, ...]
    seed: int | None = None
    options: GenOptions = field(default_factory=GenOptions)
    choices: tuple[int, ...] = ()
    aliases: tuple[str, ...] = ()
    top_alias: str = ""

    def input_info(self) -> list[dict[str, Any]]:
        return [a.to_json() for a in self.args]
